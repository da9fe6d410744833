/*
 * handshake.h - the connection phase packets, both directions, as plain
 * encode/decode functions (no sockets, no policy):
 *  - server side (myshard facing clients): HandshakeV10 out, SSLRequest and
 *    HandshakeResponse41 in, AuthSwitchRequest out;
 *  - client side (myshard facing backends): HandshakeV10 in,
 *    HandshakeResponse41 out.
 * Parsed strings point into the packet they came from.
 */
#ifndef MYSHARD_PROTO_HANDSHAKE_H
#define MYSHARD_PROTO_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

struct evbuffer;

#define SCRAMBLE_LEN 20

struct handshake_response {
    bool ssl_request; /* the packet was a 32-byte SSLRequest: only caps,
                         max_packet and charset are set */
    uint32_t caps;
    uint32_t max_packet;
    uint8_t charset;
    const char *user; /* not NUL-terminated */
    size_t user_len;
    const uint8_t *auth;
    size_t auth_len;
    const char *db; /* NULL when CLIENT_CONNECT_WITH_DB is absent */
    size_t db_len;
    const char *plugin; /* NULL when CLIENT_PLUGIN_AUTH is absent */
    size_t plugin_len;
};

/* Server greeting sent to a client. server_version e.g. "10.11.99-myshard".
 * The 20-byte scramble must contain no NUL bytes. */
bool handshake_write_greeting(struct evbuffer *out, uint8_t seq,
                              const char *server_version, uint32_t conn_id,
                              const uint8_t scramble[SCRAMBLE_LEN],
                              uint32_t caps, uint8_t charset, uint16_t status,
                              const char *plugin);

/* Parses a client's HandshakeResponse41 or SSLRequest. Returns false when the
 * packet is malformed (truncated, missing CLIENT_PROTOCOL_41, ...). */
MUST_CHECK bool handshake_parse_response(const uint8_t *p, size_t len,
                                         struct handshake_response *r);

/* AuthSwitchRequest: 0xFE, plugin name NUL, plugin data (scramble + NUL). */
bool handshake_write_auth_switch(struct evbuffer *out, uint8_t seq,
                                 const char *plugin,
                                 const uint8_t scramble[SCRAMBLE_LEN]);

/* AuthMoreData: 0x01 then data, e.g. caching_sha2_password's 0x03 (fast
 * auth succeeded), 0x04 (perform full authentication) or the PEM public
 * key. */
bool handshake_write_auth_more(struct evbuffer *out, uint8_t seq,
                               const void *data, size_t len);

struct server_greeting {
    uint8_t protocol; /* 10 */
    char version[64]; /* NUL-terminated, truncated if longer */
    uint32_t conn_id; /* server thread id, for KILL QUERY */
    uint8_t scramble[SCRAMBLE_LEN];
    uint32_t caps; /* full 32-bit capability set */
    uint8_t charset;
    uint16_t status;
    char plugin[64]; /* "mysql_native_password" etc., may be empty */
};

/* Parses a backend's HandshakeV10. False on malformed input, or an ERR packet
 * (the caller checks p[0] == 0xFF first to report the server's message). */
MUST_CHECK bool handshake_parse_greeting(const uint8_t *p, size_t len,
                                         struct server_greeting *g);

/* HandshakeResponse41 sent to a backend. db and plugin may be NULL. */
bool handshake_write_response(struct evbuffer *out, uint8_t seq, uint32_t caps,
                              uint32_t max_packet, uint8_t charset,
                              const char *user, const uint8_t *auth,
                              size_t auth_len, const char *db,
                              const char *plugin);

/* SSLRequest sent to a backend (caps gets CLIENT_SSL). */
bool handshake_write_ssl_request(struct evbuffer *out, uint8_t seq,
                                 uint32_t caps, uint32_t max_packet,
                                 uint8_t charset);

#endif
