/*
 * serverconn.c - the connection phase of a backend connection, and the
 * plumbing that hands its events to whoever borrowed it.
 *
 *   connect ─► greeting (HandshakeV10) ─► HandshakeResponse41
 *     ─► OK ─► SET session tracking ─► OK/ERR ready
 *     ─► AuthSwitchRequest ─► new token ─►   (loop)
 *     ─► 0x01 0x03 (sha2 fast auth ok) ─► OK
 *     ─► 0x01 0x04 (sha2 full auth) ─► password over TLS ─► OK
 *     ─► ERR / timeout / EOF                  failed (9001 to the waiter)
 *
 * With backend.tls the greeting is answered with an SSLRequest, the TLS
 * handshake runs (the server's certificate and name checked when verify
 * is on), and the HandshakeResponse41 follows over TLS. A server that does
 * not offer TLS then is an error, never a fall back to plaintext.
 *
 * caching_sha2_password full authentication sends the password itself:
 * only over TLS. Without TLS the server's RSA key would have to come over
 * the same unauthenticated plaintext connection, and whoever can replace
 * it learns the password; myshard refuses instead, with an error naming
 * the server.
 */
#include "backend/serverconn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/tls.h"
#include "net/worker.h"
#include "proto/auth.h"
#include "proto/handshake.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"

/* What every pooled connection is opened with; the client side advertises
 * nothing beyond what these allow (see session/handshake). */
#define BACKEND_CAPS                                                           \
    (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 |            \
     CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |                          \
     CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |                          \
     CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |                            \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SESSION_TRACK)

#define BACKEND_MAX_PACKET (1u << 30)

static void sc_read_cb(struct conn *c, void *arg);
static void sc_event_cb(struct conn *c, void *arg, enum conn_event ev);

static void
sc_fail(struct serverconn *sc, const char *why)
{
    sc_ready_fn cb = sc->on_ready;

    atomic_fetch_add(&sc->srv->errors, 1);
    sc->state = SC_CLOSED;
    sc->on_ready = NULL;
    if (cb)
        cb(sc, ER_MYSHARD_NO_BACKEND, why);
}

static void
sc_ready(struct serverconn *sc)
{
    sc_ready_fn cb = sc->on_ready;

    /* The timer belongs to this worker's loop; a ready connection may move
     * to another worker's pool, and needs no timer any more. */
    event_free(sc->timer);
    sc->timer = NULL;
    sc->state = SC_IDLE;
    sc->on_ready = NULL;
    sc->sql_mode_seen = atomic_load(&sc->srv->sql_mode);
    log_debug("backend connected backend=%s thread_id=%u", sc->srv->addr,
              sc->thread_id);
    if (cb)
        cb(sc, 0, NULL);
}

const char serverconn_setup_sql[] =
    "SET session_track_system_variables='last_gtid', session_track_schema=0";

/* Logged in. With CLIENT_SESSION_TRACK the server reports each write's
 * GTID in its OK (session_track_system_variables=last_gtid, nothing else:
 * no other change should flag an OK); one round trip per connection. A
 * server that refuses (no such variable) serves on without it. */
static void
sc_logged_in(struct serverconn *sc)
{
    uint8_t seq = 0;
    size_t n = sizeof(serverconn_setup_sql) - 1;
    uint8_t pkt[sizeof(serverconn_setup_sql)];

    if (!(sc->server_caps & CLIENT_SESSION_TRACK)) {
        sc_ready(sc);
        return;
    }
    pkt[0] = COM_QUERY;
    memcpy(pkt + 1, serverconn_setup_sql, n);
    packet_write(sc->conn->out, &seq, pkt, n + 1);
    sc->state = SC_SETUP;
}

static void
on_setup_answer(struct serverconn *sc, const uint8_t *p, size_t len)
{
    sc->gtid_track = len > 0 && p[0] == PKT_HDR_OK;
    if (!sc->gtid_track)
        log_warn("backend does not report write GTIDs backend=%s (session "
                 "tracking of last_gtid refused: consistency falls back to "
                 "max_replica_lag after writes)",
                 sc->srv->addr);
    atomic_store(&sc->srv->gtid_tracks, sc->gtid_track);
    sc_ready(sc);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct serverconn *sc = arg;

    (void)fd;
    (void)what;
    if (sc->state == SC_CONNECTING || sc->state == SC_AUTH ||
        sc->state == SC_SETUP)
        sc_fail(sc, "connect timeout");
}

/* Computes the auth token for plugin over the scramble. */
static bool
auth_token(struct serverconn *sc, const char *plugin, uint8_t *out, size_t *len)
{
    const char *pw =
        sc->pool->backend_password ? sc->pool->backend_password : "";

    if (strcmp(plugin, "mysql_native_password") == 0 || plugin[0] == '\0') {
        auth_native_token(pw, sc->scramble, out, len);
        return true;
    }
    if (strcmp(plugin, "caching_sha2_password") == 0) {
        auth_sha2_token(pw, sc->scramble, out, len);
        return true;
    }
    return false;
}

/* The capabilities our HandshakeResponse41 (and SSLRequest) carry. */
static uint32_t
response_caps(const struct serverconn *sc)
{
    uint32_t caps = BACKEND_CAPS &
                    (sc->server_caps | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);

    if (!(sc->server_caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA))
        caps &= ~CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    if (sc->tls)
        caps |= CLIENT_SSL;
    return caps;
}

static void
send_response(struct serverconn *sc)
{
    uint8_t token[64];
    size_t tlen = 0;

    if (!auth_token(sc, sc->plugin, token, &tlen)) {
        /* Unknown default plugin: answer as native and let the server
         * switch us to one we know. */
        snprintf(sc->plugin, sizeof(sc->plugin), "mysql_native_password");
        auth_token(sc, sc->plugin, token, &tlen);
    }
    handshake_write_response(
        sc->conn->out, sc->auth_seq++, response_caps(sc), BACKEND_MAX_PACKET,
        sc->charset, sc->pool->backend_user, token, tlen, NULL, sc->plugin);
}

static void
sc_tls_done(struct conn *c, void *arg)
{
    struct serverconn *sc = arg;

    (void)c;
    sc->tls = true;
    send_response(sc);
}

static void
on_greeting(struct serverconn *sc, const uint8_t *p, size_t len)
{
    struct server_greeting g;

    if (len > 0 && p[0] == PKT_HDR_ERR) {
        char msg[256];
        int n = len > 9 ? (int)MIN(len - 9, 200) : 0;
        snprintf(msg, sizeof(msg), "server refused: %.*s", n,
                 (const char *)p + 9);
        sc_fail(sc, msg);
        return;
    }
    if (!handshake_parse_greeting(p, len, &g)) {
        sc_fail(sc, "malformed server greeting");
        return;
    }
    sc->thread_id = g.conn_id;
    sc->server_caps = g.caps;
    memcpy(sc->scramble, g.scramble, sizeof(sc->scramble));
    snprintf(sc->plugin, sizeof(sc->plugin), "%s",
             g.plugin[0] ? g.plugin : "mysql_native_password");
    sc->charset = CHARSET_UTF8MB4_GENERAL_CI;
    sc->auth_seq = 1;
    sc->state = SC_AUTH;
    if (sc->pool->tls_ctx != NULL) {
        if (!(g.caps & CLIENT_SSL)) {
            sc_fail(sc, "the server does not offer TLS (backend.tls.enabled "
                        "is on); give it ssl_cert and ssl_key, or turn "
                        "backend.tls off");
            return;
        }
        handshake_write_ssl_request(sc->conn->out, sc->auth_seq++,
                                    response_caps(sc), BACKEND_MAX_PACKET,
                                    sc->charset);
        if (!conn_tls_start(sc->conn, sc->pool->tls_ctx, false, sc->srv->host,
                            sc_tls_done))
            sc_fail(sc, "cannot start TLS");
        return;
    }
    send_response(sc);
}

static void
auth_send(struct serverconn *sc, const void *data, size_t len)
{
    packet_write(sc->conn->out, &sc->auth_seq, data, len);
}

static void
on_auth_packet(struct serverconn *sc, const uint8_t *p, size_t len)
{
    if (len == 0) {
        sc_fail(sc, "empty packet during authentication");
        return;
    }
    switch (p[0]) {
    case PKT_HDR_OK:
        sc_logged_in(sc);
        return;
    case PKT_HDR_ERR: {
        char msg[300];
        int n = len > 9 ? (int)MIN(len - 9, 250) : 0;
        snprintf(msg, sizeof(msg), "backend login failed: %.*s", n,
                 (const char *)p + 9);
        sc_fail(sc, msg);
        return;
    }
    case PKT_HDR_EOF: { /* AuthSwitchRequest: plugin NUL, data */
        const uint8_t *nul = memchr(p + 1, 0, len - 1);
        uint8_t token[64];
        size_t tlen = 0, dlen;
        if (nul == NULL) {
            sc_fail(sc, "malformed auth switch request");
            return;
        }
        snprintf(sc->plugin, sizeof(sc->plugin), "%.*s",
                 (int)MIN((size_t)(nul - p - 1), sizeof(sc->plugin) - 1),
                 (const char *)p + 1);
        dlen = len - (size_t)(nul + 1 - p);
        if (dlen > 0 && nul[dlen] == 0)
            dlen--; /* trailing NUL of the scramble */
        if (dlen >= 20)
            memcpy(sc->scramble, nul + 1, 20);
        if (!auth_token(sc, sc->plugin, token, &tlen)) {
            char msg[96];
            snprintf(msg, sizeof(msg), "unsupported auth plugin '%s'",
                     sc->plugin);
            sc_fail(sc, msg);
            return;
        }
        auth_send(sc, token, tlen);
        return;
    }
    case 0x01: /* AuthMoreData */
        if (strcmp(sc->plugin, "caching_sha2_password") != 0) {
            sc_fail(sc, "unexpected auth data");
            return;
        }
        if (!sc->sha2_full && len == 2 && p[1] == 0x03)
            return; /* fast auth succeeded: OK follows */
        if (!sc->sha2_full && len == 2 && p[1] == 0x04) {
            const char *pw =
                sc->pool->backend_password ? sc->pool->backend_password : "";
            if (!sc->tls) {
                sc_fail(sc, "caching_sha2_password full authentication "
                            "needs TLS to the server: set backend.tls "
                            "(myshard never sends the password under an RSA "
                            "key fetched in plaintext), or log in once with "
                            "TLS so the server caches the account");
                return;
            }
            /* Over TLS the password goes as is, NUL-terminated, like
             * every MySQL client does. */
            sc->sha2_full = true;
            auth_send(sc, pw, strlen(pw) + 1);
            return;
        }
        sc_fail(sc, "unexpected auth data");
        return;
    default:
        sc_fail(sc, "unexpected packet during authentication");
    }
}

static void
sc_read_cb(struct conn *c, void *arg)
{
    struct serverconn *sc = arg;
    struct evbuffer *in = c->in;

    if (sc->state == SC_LENT) {
        sc->on_read(sc, sc->arg);
        return;
    }
    while (sc->state == SC_CONNECTING || sc->state == SC_AUTH ||
           sc->state == SC_SETUP) {
        /* Connection-phase packets are small; copy one out and consume it
         * before acting, since acting may hand the connection on. */
        uint8_t buf[4096];
        struct packet pkt;
        size_t len;
        enum packet_status st = packet_read(in, sizeof(buf), -1, &pkt);
        if (st == PKT_AGAIN)
            return;
        if (st != PKT_OK) {
            sc_fail(sc, "malformed packet from server");
            return;
        }
        len = pkt.len;
        memcpy(buf, pkt.data, len);
        sc->auth_seq = (uint8_t)(pkt.seq + 1);
        packet_consume(in, &pkt);
        if (sc->state == SC_CONNECTING)
            on_greeting(sc, buf, len);
        else if (sc->state == SC_AUTH)
            on_auth_packet(sc, buf, len);
        else
            on_setup_answer(sc, buf, len);
    }
    if (sc->state == SC_IDLE && evbuffer_get_length(in) > 0) {
        /* Unsolicited bytes on an idle connection: the server is telling
         * us it is going away (e.g. wait_timeout). */
        pool_discard(sc);
    }
}

static void
sc_event_cb(struct conn *c, void *arg, enum conn_event ev)
{
    struct serverconn *sc = arg;

    if (ev == CONN_CONNECTED)
        return; /* the server speaks first: wait for the greeting */
    if (sc->state == SC_CONNECTING || sc->state == SC_AUTH ||
        sc->state == SC_SETUP) {
        char msg[300];
        if (conn_tls_error(c)[0] != '\0')
            snprintf(msg, sizeof(msg), "TLS to the server failed (%s)",
                     conn_tls_error(c));
        else
            snprintf(msg, sizeof(msg), "cannot connect: %s",
                     ev == CONN_EOF ? "connection closed by server"
                                    : strerror(c->error));
        sc_fail(sc, msg);
        return;
    }
    if (sc->state == SC_LENT) {
        sc->on_error(sc, sc->arg,
                     ev == CONN_EOF ? "server closed the connection"
                                    : "network error");
        return;
    }
    if (sc->state == SC_IDLE)
        pool_discard(sc);
}

struct serverconn *
serverconn_connect(struct pool *pool, sc_ready_fn on_ready)
{
    struct serverconn *sc = xcalloc(1, sizeof(*sc));
    struct timeval tv;

    sc->srv = pool->srv;
    sc->pool = pool;
    sc->on_ready = on_ready;
    sc->state = SC_CONNECTING;
    sc->conn = conn_new(pool->w, -1);
    sc->timer = evtimer_new(pool->w->base, timeout_cb, sc);
    if (sc->timer == NULL)
        goto err;
    conn_set_cbs(sc->conn, sc_read_cb, NULL, sc_event_cb, sc);
    /* Bound what one connection buffers when its client is slow. */
    sc->conn->rd_high = 256 * 1024;
    if (!conn_connect(sc->conn, (struct sockaddr *)&sc->srv->sa,
                      sc->srv->salen))
        goto err;
    conn_read_enable(sc->conn, true);
    tv.tv_sec = pool->connect_timeout_ms / 1000;
    tv.tv_usec = (pool->connect_timeout_ms % 1000) * 1000;
    evtimer_add(sc->timer, &tv);
    return sc;
err:
    conn_free(sc->conn);
    if (sc->timer)
        event_free(sc->timer);
    free(sc);
    return NULL;
}

void
serverconn_lend(struct serverconn *sc, sc_read_fn on_read, sc_error_fn on_error,
                void *arg)
{
    sc->state = SC_LENT;
    sc->on_read = on_read;
    sc->on_error = on_error;
    sc->arg = arg;
}

void
serverconn_unlend(struct serverconn *sc)
{
    sc->state = SC_IDLE;
    sc->on_read = NULL;
    sc->on_error = NULL;
    sc->arg = NULL;
    conn_read_enable(sc->conn, true);
}

struct evbuffer *
serverconn_input(struct serverconn *sc)
{
    return sc->conn->in;
}

struct evbuffer *
serverconn_output(struct serverconn *sc)
{
    return sc->conn->out;
}

void
serverconn_forget_state(struct serverconn *sc)
{
    sessvars_clear(&sc->vars);
    sc->charset = 0;
    sc->sql_mode_seen = atomic_load(&sc->srv->sql_mode);
    for (int i = 0; i < sc->nstmts; i++)
        free(sc->stmts[i].sql);
    sc->nstmts = 0;
}

void
serverconn_free(struct serverconn *sc)
{
    if (sc == NULL)
        return;
    atomic_fetch_sub(&sc->srv->conns, 1);
    sessvars_clear(&sc->vars);
    for (int i = 0; i < sc->nstmts; i++)
        free(sc->stmts[i].sql);
    free(sc->stmts);
    if (sc->conn)
        conn_free(sc->conn);
    if (sc->timer)
        event_free(sc->timer);
    free(sc);
}

uint64_t
serverconn_stmt_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint32_t
serverconn_stmt_find(struct serverconn *sc, const char *sql, size_t len)
{
    return serverconn_stmt_find_hashed(sc, serverconn_stmt_hash(sql, len), sql,
                                       len);
}

uint32_t
serverconn_stmt_find_hashed(struct serverconn *sc, uint64_t h, const char *sql,
                            size_t len)
{
    for (int i = 0; i < sc->nstmts; i++) {
        struct sc_stmt *e = &sc->stmts[i];
        if (e->hash == h && e->len == len && memcmp(e->sql, sql, len) == 0 &&
            strcmp(e->schema, sc->schema) == 0) {
            e->used = ++sc->stmt_clock;
            return e->id;
        }
    }
    return 0;
}

void
serverconn_stmt_add(struct serverconn *sc, const char *sql, size_t len,
                    uint32_t id)
{
    struct sc_stmt *e;

    if (sc->stmts == NULL)
        sc->stmts = xcalloc(SC_MAX_STMTS, sizeof(*sc->stmts));
    if (sc->nstmts < SC_MAX_STMTS) {
        e = &sc->stmts[sc->nstmts++];
    } else {
        uint8_t close[5] = {COM_STMT_CLOSE};
        uint8_t seq = 0;
        e = &sc->stmts[0];
        for (int i = 1; i < sc->nstmts; i++)
            if (sc->stmts[i].used < e->used)
                e = &sc->stmts[i];
        close[1] = (uint8_t)e->id;
        close[2] = (uint8_t)(e->id >> 8);
        close[3] = (uint8_t)(e->id >> 16);
        close[4] = (uint8_t)(e->id >> 24);
        packet_write(sc->conn->out, &seq, close, sizeof(close));
        free(e->sql);
    }
    e->hash = serverconn_stmt_hash(sql, len);
    e->sql = xstrndup(sql, len);
    e->len = len;
    e->id = id;
    e->used = ++sc->stmt_clock;
    memcpy(e->schema, sc->schema, sizeof(e->schema));
}
