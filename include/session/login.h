/*
 * login.h - verifying a client's password, at the handshake and for
 * COM_CHANGE_USER: mysql_native_password, and caching_sha2_password with
 * fast authentication and full authentication (cleartext over TLS, or the
 * RSA key exchange without TLS).
 */
#ifndef MYSHARD_SESSION_LOGIN_H
#define MYSHARD_SESSION_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/session_types.h"

/* The plugin the greeting offers: what MySQL 8/9 servers offer, so
 * mysql2, PyMySQL and MySQL's own libraries answer with it at once;
 * clients that prefer mysql_native_password are switched to it. */
#define LOGIN_GREETING_PLUGIN "caching_sha2_password"

/* What the client sent first (the handshake response or COM_CHANGE_USER);
 * the strings point into its packet and are copied as needed. */
struct login_start {
    const char *user; /* not NUL-terminated; user_len < 128 */
    size_t user_len;
    const char *db;     /* NULL: none */
    size_t db_len;      /* < 128 */
    const char *plugin; /* the client's plugin; NULL when it named none */
    size_t plugin_len;
    const uint8_t *auth; /* its auth data for that plugin */
    size_t auth_len;
    bool change_user; /* COM_CHANGE_USER rather than the handshake */
    uint16_t charset; /* COM_CHANGE_USER's collation, 0 = keep */
};

/*
 * Verifies ls against the user's configured password over s->scramble.
 * Ends in exactly one of: session_login_ok (handshake) or
 * command_change_user_ok (COM_CHANGE_USER) on success;
 * session_login_refused on failure; or, when the plugin needs another
 * packet from the client, state SESS_AUTH_SWITCH with s->login holding
 * the exchange until login_continue. For COM_CHANGE_USER, s->cmd is
 * consumed before waiting.
 */
void login_begin(struct session *s, const struct login_start *ls);
/* The client's next packet of the exchange (state SESS_AUTH_SWITCH). */
void login_continue(struct session *s, const uint8_t *p, size_t len);
/* Frees s->login (session teardown); NULL is fine. */
void login_free(struct session *s);

#endif
