/*
 * handshake.c - encoders and decoders for the connection phase packets
 * declared in handshake.h: HandshakeV10, HandshakeResponse41 / SSLRequest,
 * AuthSwitchRequest and AuthMoreData. Decoders read through the bounds-checked
 * wire cursor and point into the caller's packet; encoders build with pktbuf
 * and frame onto the caller's evbuffer. Which capabilities to offer or accept
 * is the caller's policy, not this file's.
 */
#include "proto/handshake.h"

#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/wire.h"

/* HandshakeV10 splits the 20-byte scramble into 8 + 12 bytes. */
#define SCRAMBLE_PART1 8
#define SCRAMBLE_PART2 (SCRAMBLE_LEN - SCRAMBLE_PART1)

/* Fixed head of HandshakeResponse41: caps, max packet, charset, filler. */
#define RESPONSE_HEAD_LEN 32
#define RESPONSE_FILLER   23

#define DEFAULT_PLUGIN "mysql_native_password"

static bool
send_and_free(struct pktbuf *pb, struct evbuffer *out, uint8_t seq)
{
    bool ok = pktbuf_send(pb, out, &seq);

    pktbuf_free(pb);
    return ok;
}

/*
 * Writes HandshakeV10. The plugin name is written when caps carries
 * CLIENT_PLUGIN_AUTH (plugin NULL means mysql_native_password).
 */
bool
handshake_write_greeting(struct evbuffer *out, uint8_t seq,
                         const char *server_version, uint32_t conn_id,
                         const uint8_t scramble[SCRAMBLE_LEN], uint32_t caps,
                         uint8_t charset, uint16_t status, const char *plugin)
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, 10);
    pktbuf_put_nul_str(&pb, server_version);
    pktbuf_put_u32(&pb, conn_id);
    pktbuf_put_bytes(&pb, scramble, SCRAMBLE_PART1);
    pktbuf_put_u8(&pb, 0);
    pktbuf_put_u16(&pb, (uint16_t)(caps & 0xffff));
    pktbuf_put_u8(&pb, charset);
    pktbuf_put_u16(&pb, status);
    pktbuf_put_u16(&pb, (uint16_t)(caps >> 16));
    pktbuf_put_u8(&pb, SCRAMBLE_LEN + 1);
    pktbuf_put_zero(&pb, 10);
    pktbuf_put_bytes(&pb, scramble + SCRAMBLE_PART1, SCRAMBLE_PART2);
    pktbuf_put_u8(&pb, 0);
    if (caps & CLIENT_PLUGIN_AUTH)
        pktbuf_put_nul_str(&pb, plugin != NULL ? plugin : DEFAULT_PLUGIN);
    return send_and_free(&pb, out, seq);
}

/*
 * Checks the connection attributes block: a length-encoded total, then
 * key/value pairs of length-encoded strings that must fill it exactly.
 */
static bool
skip_connect_attrs(struct wire *w)
{
    uint64_t total;
    const uint8_t *block, *s;
    size_t n;
    struct wire a;

    if (!wire_lenenc(w, &total, NULL) || total > wire_left(w))
        return false;
    if (!wire_bytes(w, (size_t)total, &block))
        return false;
    wire_init(&a, block, (size_t)total);
    while (wire_left(&a) > 0) {
        if (!wire_lenenc_str(&a, &s, &n) || !wire_lenenc_str(&a, &s, &n))
            return false;
    }
    return true;
}

bool
handshake_parse_response(const uint8_t *p, size_t len,
                         struct handshake_response *r)
{
    struct wire w;
    const uint8_t *s;
    size_t n;
    uint64_t alen;
    uint8_t alen8;

    memset(r, 0, sizeof(*r));
    wire_init(&w, p, len);
    if (!wire_u32(&w, &r->caps) || !wire_u32(&w, &r->max_packet) ||
        !wire_u8(&w, &r->charset) || !wire_skip(&w, RESPONSE_FILLER))
        return false;
    if (!(r->caps & CLIENT_PROTOCOL_41))
        return false;
    if (len == RESPONSE_HEAD_LEN) {
        /* A response always carries at least the user's NUL, so exactly
         * the fixed head is an SSLRequest. */
        r->ssl_request = true;
        return (r->caps & CLIENT_SSL) != 0;
    }

    if (!wire_nul_str(&w, &s, &n))
        return false;
    r->user = (const char *)s;
    r->user_len = n;

    if (r->caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        if (!wire_lenenc(&w, &alen, NULL) || alen > wire_left(&w) ||
            !wire_bytes(&w, (size_t)alen, &r->auth))
            return false;
        r->auth_len = (size_t)alen;
    } else if (r->caps & CLIENT_SECURE_CONNECTION) {
        if (!wire_u8(&w, &alen8) || !wire_bytes(&w, alen8, &r->auth))
            return false;
        r->auth_len = alen8;
    } else {
        if (!wire_nul_str(&w, &r->auth, &r->auth_len))
            return false;
    }

    if (r->caps & CLIENT_CONNECT_WITH_DB) {
        if (!wire_nul_str(&w, &s, &n))
            return false;
        r->db = (const char *)s;
        r->db_len = n;
    }

    /* Some clients set CLIENT_PLUGIN_AUTH and end the packet before the
     * name; the server then assumes the plugin it offered. */
    if ((r->caps & CLIENT_PLUGIN_AUTH) && wire_left(&w) > 0) {
        if (!wire_nul_str(&w, &s, &n))
            return false;
        r->plugin = (const char *)s;
        r->plugin_len = n;
    }

    if ((r->caps & CLIENT_CONNECT_ATTRS) && wire_left(&w) > 0) {
        if (!skip_connect_attrs(&w))
            return false;
    }
    /* Anything after (e.g. a zstd level) is not ours to interpret. */
    return true;
}

bool
handshake_write_auth_switch(struct evbuffer *out, uint8_t seq,
                            const char *plugin,
                            const uint8_t scramble[SCRAMBLE_LEN])
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, PKT_HDR_EOF);
    pktbuf_put_nul_str(&pb, plugin);
    pktbuf_put_bytes(&pb, scramble, SCRAMBLE_LEN);
    pktbuf_put_u8(&pb, 0);
    return send_and_free(&pb, out, seq);
}

bool
handshake_write_auth_more(struct evbuffer *out, uint8_t seq, const void *data,
                          size_t len)
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, 0x01);
    pktbuf_put_bytes(&pb, data, len);
    return send_and_free(&pb, out, seq);
}

/* Copies a NUL-free slice into a fixed C string, truncating. */
static void
copy_cstr(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    n = MIN(n, cap - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/*
 * HandshakeV10 as MySQL and MariaDB send it. The 10 reserved bytes after the
 * auth data length are skipped whole: MariaDB keeps its extended
 * capabilities in the last four, which myshard does not use. The servers
 * myshard talks to are 4.1+ with CLIENT_SECURE_CONNECTION, so a greeting
 * without it (no 20-byte scramble) is rejected.
 */
bool
handshake_parse_greeting(const uint8_t *p, size_t len,
                         struct server_greeting *g)
{
    struct wire w;
    const uint8_t *s;
    size_t n;
    uint16_t caps_lo, caps_hi;
    uint8_t auth_len;
    size_t part2;

    memset(g, 0, sizeof(*g));
    wire_init(&w, p, len);
    if (!wire_u8(&w, &g->protocol) || g->protocol != 10)
        return false;
    if (!wire_nul_str(&w, &s, &n))
        return false;
    copy_cstr(g->version, sizeof(g->version), s, n);
    if (!wire_u32(&w, &g->conn_id) || !wire_bytes(&w, SCRAMBLE_PART1, &s))
        return false;
    memcpy(g->scramble, s, SCRAMBLE_PART1);
    if (!wire_skip(&w, 1) || !wire_u16(&w, &caps_lo) ||
        !wire_u8(&w, &g->charset) || !wire_u16(&w, &g->status) ||
        !wire_u16(&w, &caps_hi) || !wire_u8(&w, &auth_len) ||
        !wire_skip(&w, 10))
        return false;
    g->caps = (uint32_t)caps_lo | (uint32_t)caps_hi << 16;
    if (!(g->caps & CLIENT_PROTOCOL_41) ||
        !(g->caps & CLIENT_SECURE_CONNECTION))
        return false;

    /* Part 2 is max(13, auth_len - 8) bytes: 12 of scramble and a NUL. */
    part2 = auth_len > SCRAMBLE_PART1 + 13 ? auth_len - SCRAMBLE_PART1 : 13;
    if (!wire_bytes(&w, part2, &s))
        return false;
    memcpy(g->scramble + SCRAMBLE_PART1, s, SCRAMBLE_PART2);

    if (g->caps & CLIENT_PLUGIN_AUTH) {
        /* Some 5.5 servers omit the final NUL: take the rest then. */
        if (!wire_nul_str(&w, &s, &n)) {
            w.err = false;
            wire_rest(&w, &s, &n);
        }
        copy_cstr(g->plugin, sizeof(g->plugin), s, n);
    }
    return true;
}

/*
 * HandshakeResponse41 towards a backend. CLIENT_CONNECT_WITH_DB is set in
 * the written caps exactly when db != NULL. With CLIENT_PLUGIN_AUTH the
 * plugin name follows (NULL writes mysql_native_password); with
 * CLIENT_CONNECT_ATTRS an empty attribute block follows. Fails when
 * auth_len does not fit the auth data encoding caps select.
 */
bool
handshake_write_response(struct evbuffer *out, uint8_t seq, uint32_t caps,
                         uint32_t max_packet, uint8_t charset, const char *user,
                         const uint8_t *auth, size_t auth_len, const char *db,
                         const char *plugin)
{
    struct pktbuf pb;

    if (db != NULL)
        caps |= CLIENT_CONNECT_WITH_DB;
    else
        caps &= ~CLIENT_CONNECT_WITH_DB;
    if (!(caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) &&
        (caps & CLIENT_SECURE_CONNECTION) && auth_len > 0xff)
        return false;
    if (!(caps &
          (CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SECURE_CONNECTION)) &&
        auth_len > 0 && memchr(auth, 0, auth_len) != NULL)
        return false;

    pktbuf_init(&pb);
    pktbuf_put_u32(&pb, caps);
    pktbuf_put_u32(&pb, max_packet);
    pktbuf_put_u8(&pb, charset);
    pktbuf_put_zero(&pb, RESPONSE_FILLER);
    pktbuf_put_nul_str(&pb, user);
    if (caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        pktbuf_put_lenenc_str(&pb, auth, auth_len);
    } else if (caps & CLIENT_SECURE_CONNECTION) {
        pktbuf_put_u8(&pb, (uint8_t)auth_len);
        pktbuf_put_bytes(&pb, auth, auth_len);
    } else {
        pktbuf_put_bytes(&pb, auth, auth_len);
        pktbuf_put_u8(&pb, 0);
    }
    if (db != NULL)
        pktbuf_put_nul_str(&pb, db);
    if (caps & CLIENT_PLUGIN_AUTH)
        pktbuf_put_nul_str(&pb, plugin != NULL ? plugin : DEFAULT_PLUGIN);
    if (caps & CLIENT_CONNECT_ATTRS)
        pktbuf_put_lenenc(&pb, 0);
    return send_and_free(&pb, out, seq);
}

/*
 * SSLRequest towards a server: the fixed head of HandshakeResponse41 alone,
 * with CLIENT_SSL; the TLS handshake follows it directly.
 */
bool
handshake_write_ssl_request(struct evbuffer *out, uint8_t seq, uint32_t caps,
                            uint32_t max_packet, uint8_t charset)
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    pktbuf_put_u32(&pb, caps | CLIENT_SSL);
    pktbuf_put_u32(&pb, max_packet);
    pktbuf_put_u8(&pb, charset);
    pktbuf_put_zero(&pb, RESPONSE_FILLER);
    return send_and_free(&pb, out, seq);
}
