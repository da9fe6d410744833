/*
 * session.c - one client from accept to close.
 *
 *   accept ─► HandshakeV10 ─► HandshakeResponse41 ─► login_begin
 *        ─► (AUTH_SWITCH: login_continue per packet) ─┬─► OK ─► IDLE
 *                                                     └─► refused ─► ERR
 *                          (held back in AUTH_DELAY for an address that
 *                           keeps failing: login.throttle)
 *   IDLE ─► packet_read ─► command_dispatch ─► (answered | backend work)
 *        ◄─ session_command_done ◄──────────────────────┘
 *
 * TLS: the greeting offers CLIENT_SSL when the generation has a tls:
 * context; an SSLRequest in place of the HandshakeResponse41 starts the
 * TLS handshake, and the response then comes over TLS. Nothing a client
 * sent after its SSLRequest is ever read as a MySQL packet
 * (conn_tls_start: a ClientHello goes to OpenSSL, anything else is
 * dropped), so bytes injected in plaintext before the handshake cannot
 * pass for the encrypted session (PgBouncer's CVE-2021-3935). tls.require
 * and users[].require_tls are checked once the user is known.
 *
 * A malformed packet or a protocol violation closes this client only. A
 * session is never freed inside one of its own callbacks: close_session()
 * marks it and the event loop frees it on its next turn.
 */
#include "session/session.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pool.h"
#include "backend/serverconn.h"
#include "base/clock.h"
#include "base/escape.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "net/tls.h"
#include "net/worker.h"
#include "proto/auth.h"
#include "proto/handshake.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "session/command.h"
#include "session/login.h"
#include "session/cursor.h"
#include "session/prepare.h"
#include "session/query.h"
#include "session/limits.h"
#include "session/cachefill.h"
#include "session/engine.h"
#include "session/schema.h"
#include "session/stmtlog.h"
#include "session/movehold.h"
#include "session/tablecols.h"
#include "session/tablelocks.h"
#include "session/throttle.h"
#include "session/txn.h"
#include "session/uservars.h"

/* Capabilities offered to clients: only what every pooled backend
 * connection honours (see serverconn.c). Notably absent: CLIENT_FOUND_ROWS,
 * CLIENT_IGNORE_SPACE (they change a server connection's behaviour),
 * CLIENT_COMPRESS, CLIENT_LOCAL_FILES, CLIENT_DEPRECATE_EOF,
 * CLIENT_SESSION_TRACK. */
#define PROXY_CAPS                                                             \
    (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |        \
     CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |     \
     CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |                          \
     CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |                            \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_CONNECT_ATTRS |            \
     CLIENT_IGNORE_SIGPIPE)

/* client_write_cb fires when output drains to this: relaying resumes. */
#define CLIENT_LOW_WATER (256 * 1024)

/* Bounded memory per client (README, "Bounded memory per client"):
 * - before login a packet holds at most LOGIN_MAX_PACKET bytes (a
 *   HandshakeResponse41 with connect attributes takes well under 1 KB),
 *   and no more than one such packet is buffered;
 * - after login the input holds the packet being read or served (up to
 *   max_allowed_packet) and at most CLIENT_INPUT_CAP bytes pipelined
 *   behind it; beyond that the socket is not read (TCP pushes back);
 * - no next command is taken while the client's output holds more than
 *   CLIENT_OUT_HIGH bytes (answers myshard writes itself: OK/ERR, cached
 *   and computed results); client_drain_cb resumes at CLIENT_LOW_WATER. */
#define LOGIN_MAX_PACKET (16 * 1024)
#define CLIENT_INPUT_CAP (64 * 1024)
#define CLIENT_OUT_HIGH  RELAY_CLIENT_HIGH_WATER

static void client_read_cb(struct conn *c, void *arg);
static void client_drain_cb(struct conn *c, void *arg);
static void client_event_cb(struct conn *c, void *arg, enum conn_event ev);
static void close_session(struct session *s, const char *reason);
static void command_done(struct session *s);

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;

    (void)fd;
    (void)what;
    if (s->state == SESS_AUTH_DELAY) {
        /* the held-back answer to a failed login (login.throttle) */
        session_send_error(s, ER_ACCESS_DENIED_ERROR, "28000", "%s",
                           s->login_err ? s->login_err
                                        : "myshard: access denied");
        close_session(s, "access denied");
    } else if (s->state == SESS_HANDSHAKE || s->state == SESS_AUTH_SWITCH) {
        log_info("handshake timeout client=%u addr=%s", s->id, s->addr);
        close_session(s, "handshake timeout");
    } else if (s->state == SESS_IDLE) {
        log_info("idle timeout client=%u addr=%s", s->id, s->addr);
        close_session(s, "client idle timeout");
    } else if (s->state == SESS_RELAY || s->state == SESS_PRELUDE) {
        engine_timeout(s);
    }
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;

    (void)fd;
    (void)what;
    event_free(s->timer);
    if (s->delay_ev)
        event_free(s->delay_ev);
    cachefill_forget(s);
    free(s->tc_ddl);
    free(s->gtid_wrote);
    sessvars_clear(&s->vars);
    uservars_clear(s);
    sessvars_clear(&s->pending);
    command_free_local_stmts(s);
    pstmt_free_all(s);
    login_free(s);
    free(s->login_err);
    free(s->txn_begin);
    free(s->stmt_schema);
    free(s);
}

/* Closes the socket now and frees the session after this loop turn. */
static void
session_free_later(struct session *s)
{
    session_timer_stop(s);
    if (s->conn) {
        /* Live sessions' bytes are summed by the snapshot; these are
         * gone from the list now. */
        STATS_ADD(&s->wc->stats, client_bytes_in_total,
                  (long long)s->conn->bytes_in);
        STATS_ADD(&s->wc->stats, client_bytes_out_total,
                  (long long)s->conn->bytes_out);
        conn_free(s->conn);
        s->conn = NULL;
    }
    event_base_once(s->wc->w->base, -1, EV_TIMEOUT, free_cb, s, NULL);
}

static void
unlink_session(struct session *s)
{
    struct wctx *wc = s->wc;

    if (s->prev)
        s->prev->next = s->next;
    else
        wc->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    wc->nsessions--;
    limits_client_leave();
    limits_user_leave(s->user_slot);
    s->user_slot = -1;
}

static void
close_session(struct session *s, const char *reason)
{
    if (s->state == SESS_CLOSING)
        return;
    log_debug("client closed client=%u addr=%s reason=\"%s\"", s->id, s->addr,
              reason);
    if (s->delay_ev)
        evtimer_del(s->delay_ev);
    engine_abort(s);
    movehold_session_close(s);
    cursor_close_all(s);    /* their connections are dropped */
    txn_abandon(s, false);  /* rolled back without the client */
    tablelocks_drop_all(s); /* closed: the servers drop the locks */
    if (s->sc) {
        /* Mid-statement its state is unknown, and an open transaction is
         * best ended by closing: dropped. Between statements, session
         * state the client left (user variables, temporary tables, locks)
         * is reset before anyone else gets it. */
        if (s->state == SESS_RELAY || s->state == SESS_PRELUDE ||
            s->state == SESS_WAIT_BACKEND || (s->pins & PIN_TRANSACTION))
            engine_release(s, true); /* closing ends a transaction
                                               at once, on every server */
        else if (s->pins != 0 && !s->wc->draining)
            engine_release_reset(s);
        else if (s->pins != 0)
            engine_release(s, true); /* shutting down: no reset */
        else
            engine_release(s, false);
    }
    if (s->cmd.heap)
        packet_consume(NULL, &s->cmd);
    memset(&s->cmd, 0, sizeof(s->cmd));
    session_set_state(s, SESS_CLOSING);
    session_timer_stop(s);
    unlink_session(s);
    conn_read_enable(s->conn, false);
    if (evbuffer_get_length(s->conn->out) > 0 && !s->conn->dead) {
        /* Let a last error packet reach the client, then free. */
        s->conn->wr_low = 0;
        s->conn->above_low = true;
        session_timer_arm(s, 2000);
        return;
    }
    session_free_later(s);
}

void
session_close_all(struct wctx *wc)
{
    wc->draining = true; /* nothing is reset or lent from now on */
    while (wc->sessions) {
        txn_abandon(wc->sessions, true);
        close_session(wc->sessions, "shutdown");
    }
}

/* "ip:port" -> "ip" (IPv6 addresses keep their colons). */
static void
addr_ip(const char *addr, char *ip, size_t cap)
{
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

    n = MIN(n, cap - 1);
    memcpy(ip, addr, n);
    ip[n] = '\0';
}

/*
 * A refused login. An address that keeps failing gets its answer held back
 * (login.throttle): the session waits in AUTH_DELAY on its timer, reading
 * nothing, and the worker goes on serving everyone else.
 */
static void
auth_fail(struct session *s, const char *user, size_t ulen, bool had_pw)
{
    const struct cfg_login *lc = &s->wc->cfg->login;
    struct throttle_rule rule = {.free_failures = lc->throttle_failures,
                                 .window_ms = lc->throttle_window_ms,
                                 .max_delay_ms = lc->throttle_max_delay_ms};
    char msg[400], ip[64], esc[ESCAPE_BUF];
    int64_t delay;

    addr_ip(s->addr, ip, sizeof(ip));
    delay = throttle_fail(throttle_global(), ip, clock_ms(), &rule);
    log_info("access denied client=%u addr=%s user=\"%s\" delay_ms=%lld", s->id,
             s->addr, escape_log(user, MIN(ulen, 64), esc, sizeof(esc)),
             (long long)delay);
    STATS_ADD(&s->wc->stats, connections_refused_total, 1);
    STATS_ADD(&s->wc->stats, login_failures_total, 1);
    snprintf(msg, sizeof(msg),
             "myshard: access denied for user '%.*s' (using password: %s); "
             "check the user and password in the proxy's users list",
             (int)MIN(ulen, 64), user, had_pw ? "YES" : "NO");
    if (delay > 0) {
        STATS_ADD(&s->wc->stats, logins_throttled_total, 1);
        free(s->login_err);
        s->login_err = xstrdup(msg);
        conn_read_enable(s->conn, false);
        session_set_state(s, SESS_AUTH_DELAY);
        session_timer_arm(s, delay);
        return;
    }
    session_send_error(s, ER_ACCESS_DENIED_ERROR, "28000", "%s", msg);
    close_session(s, "access denied");
}

static void
login_refused(struct session *s, const char *user, size_t ulen,
              bool had_password)
{
    auth_fail(s, user, ulen, had_password);
}

/* The user passed: pick the schema and say OK. */
static void
auth_succeed(struct session *s, int ui, const char *db, size_t dblen)
{
    const struct cfg *c = s->wc->cfg;
    int code = 0;

    if (!session_enter_user(s, ui)) {
        close_session(s, "user connection limit");
        return;
    }
    s->user = ui;
    if (c->users[ui].pool_mode == POOL_MODE_SESSION)
        s->pins |= PIN_POOL_SESSION;
    if (db != NULL && dblen > 0) {
        int si = schema_find(s, ui, db, dblen, &code);
        if (si < 0) {
            schema_send_refusal(s, ui, db, dblen, code);
            close_session(s, "bad database");
            return;
        }
        s->schema = si;
    } else if (c->users[ui].nschemas > 0) {
        s->schema = cfg_find_schema(c, c->users[ui].schemas[0],
                                    strlen(c->users[ui].schemas[0]));
    }
    session_send_ok(s, 0, NULL);
    session_set_state(s, SESS_IDLE);
    session_timer_arm(s, c->client_idle_timeout_ms);
    log_debug("client authenticated client=%u addr=%s user=%s", s->id, s->addr,
              c->users[ui].name);
}

/* tls.require and users[].require_tls: true when s may go on. */
static bool
tls_admits(struct session *s, const struct cfg_user *u, const char *user,
           size_t ulen)
{
    const struct cfg *c = s->wc->cfg;

    if (s->tls)
        return true;
    if (c->tls.require) {
        STATS_ADD(&s->wc->stats, connections_refused_total, 1);
        log_info("refused without TLS (tls.require) client=%u addr=%s", s->id,
                 s->addr);
        session_send_error(s, ER_SECURE_TRANSPORT_REQUIRED, "HY000",
                           "myshard: connections without TLS are refused "
                           "(tls.require); connect with SSL/TLS enabled");
        close_session(s, "TLS required");
        return false;
    }
    if (u != NULL && u->require_tls) {
        STATS_ADD(&s->wc->stats, connections_refused_total, 1);
        log_info("refused without TLS (require_tls) client=%u addr=%s "
                 "user=%.*s",
                 s->id, s->addr, (int)MIN(ulen, 64), user);
        session_send_error(s, ER_ACCESS_DENIED_ERROR, "28000",
                           "myshard: access denied for user '%.*s': it must "
                           "connect with TLS (users[].require_tls); enable "
                           "SSL/TLS in the client",
                           (int)MIN(ulen, 64), user);
        close_session(s, "TLS required for the user");
        return false;
    }
    return true;
}

static void
login_ok(struct session *s, int ui, const char *db, size_t dblen)
{
    const struct cfg_user *u = &s->wc->cfg->users[ui];

    if (tls_admits(s, u, u->name, strlen(u->name)))
        auth_succeed(s, ui, db, dblen);
}

static void
client_tls_done(struct conn *c, void *arg)
{
    struct session *s = arg;
    char desc[96];

    s->tls = true;
    if (c->tls_discarded > 0)
        log_warn("plaintext after the SSLRequest discarded client=%u addr=%s "
                 "bytes=%zu",
                 s->id, s->addr, c->tls_discarded);
    conn_tls_describe(c, desc, sizeof(desc));
    log_debug("client TLS up client=%u addr=%s tls=\"%s\"", s->id, s->addr,
              desc);
    /* The HandshakeResponse41 now comes over TLS. */
    session_process_input(s);
}

/* An SSLRequest: true when TLS may start (once the request is consumed). */
static bool
ssl_request_ok(struct session *s)
{
    if (s->wc->cfg->tls.ctx == NULL || s->tls || s->conn->ssl != NULL) {
        session_send_error(s, ER_HANDSHAKE_ERROR, "08S01", "myshard: %s",
                           s->wc->cfg->tls.ctx == NULL
                               ? "TLS is not configured on this proxy "
                                 "(tls:); connect without SSL"
                               : "a second SSLRequest");
        close_session(s, "bad SSLRequest");
        return false;
    }
    return true;
}

/* Switches the connection to TLS; the SSLRequest is consumed, so what is
 * left in the input came after it. */
static void
start_tls(struct session *s)
{
    struct ssl_ctx_st *ctx = s->wc->cfg->tls.ctx;

    if (!conn_tls_start(s->conn, ctx, true, NULL, client_tls_done)) {
        log_warn("cannot start TLS client=%u addr=%s", s->id, s->addr);
        close_session(s, "cannot start TLS");
        return;
    }
}

/* Returns true for an accepted SSLRequest: the caller starts TLS. */
static bool
on_handshake_response(struct session *s, const uint8_t *p, size_t len)
{
    struct handshake_response r;
    struct login_start ls;

    if (!handshake_parse_response(p, len, &r) ||
        !(r.caps & CLIENT_PROTOCOL_41) || r.user_len >= 128 ||
        (r.db && r.db_len >= 128)) {
        session_send_error(s, ER_HANDSHAKE_ERROR, "08S01",
                           "myshard: bad handshake; the client must speak "
                           "protocol 4.1");
        close_session(s, "bad handshake");
        return false;
    }
    if (r.ssl_request)
        return ssl_request_ok(s);
    if (!tls_admits(s, NULL, r.user, r.user_len))
        return false;
    s->caps = r.caps & PROXY_CAPS;
    s->charset = r.charset ? r.charset : CHARSET_UTF8MB4_GENERAL_CI;
    s->multi_stmts = (s->caps & CLIENT_MULTI_STATEMENTS) != 0;
    ls = (struct login_start){
        .user = r.user,
        .user_len = r.user_len,
        .db = r.db,
        .db_len = r.db ? r.db_len : 0,
        .plugin = r.plugin,
        .plugin_len = r.plugin_len,
        .auth = r.auth,
        .auth_len = r.auth_len,
    };
    login_begin(s, &ls);
    return false;
}

static void process_input(struct session *s);

/* How many bytes of client input may be buffered in the current state
 * (see LOGIN_MAX_PACKET above). Always room for the whole packet at the
 * front, or the session would wait for it forever. */
static size_t
input_limit(struct session *s)
{
    struct packet_hdr h;
    size_t max;

    if (s->state == SESS_HANDSHAKE || s->state == SESS_AUTH_SWITCH)
        return 4 + LOGIN_MAX_PACKET;
    if (s->state != SESS_IDLE) /* the command's packet is at the front */
        return s->cmd.wire_len + CLIENT_INPUT_CAP;
    if (packet_peek(s->conn->in, &h) != PKT_OK || h.len + 4 <= CLIENT_INPUT_CAP)
        return CLIENT_INPUT_CAP;
    if (h.len < PACKET_MAX_PAYLOAD)
        return 4 + (size_t)h.len;
    max = (size_t)s->wc->cfg->max_allowed_packet; /* continuations */
    return max + 4 * (max / PACKET_MAX_PAYLOAD + 2);
}

void
session_process_input(struct session *s)
{
    if (s->in_input)
        return; /* the outer call's loop picks up the next packet */
    s->in_input = true;
    process_input(s);
    s->in_input = false;
    if (s->state != SESS_CLOSING)
        conn_set_read_limit(s->conn, input_limit(s));
}

static void
process_input(struct session *s)
{
    struct evbuffer *in = s->conn->in;

    while (s->state == SESS_HANDSHAKE || s->state == SESS_AUTH_SWITCH ||
           s->state == SESS_IDLE) {
        struct packet pkt;
        bool login = s->state != SESS_IDLE;
        size_t max =
            login ? LOGIN_MAX_PACKET : (size_t)s->wc->cfg->max_allowed_packet;
        int want_seq = login ? s->seq : 0;
        enum packet_status st;

        if (!login && evbuffer_get_length(s->conn->out) > CLIENT_OUT_HIGH)
            return; /* the client is not reading: client_drain_cb resumes */
        st = packet_read(in, max, want_seq, &pkt);
        if (st == PKT_AGAIN)
            return;
        if (st == PKT_TOO_LARGE && login) {
            s->seq++;
            session_send_error(s, ER_NET_PACKET_TOO_LARGE, "08S01",
                               "myshard: login packet bigger than %d bytes; "
                               "the client must log in first",
                               LOGIN_MAX_PACKET);
            close_session(s, "login packet too large");
            return;
        }
        if (st == PKT_TOO_LARGE) {
            s->seq = 1;
            session_send_error(s, ER_NET_PACKET_TOO_LARGE, "08S01",
                               "myshard: packet bigger than "
                               "max_allowed_packet (%lld bytes)",
                               (long long)max);
            close_session(s, "packet too large");
            return;
        }
        if (st == PKT_BAD_SEQ || (pkt.len == 0 && s->state == SESS_IDLE)) {
            log_info("protocol violation client=%u addr=%s", s->id, s->addr);
            packet_consume(in, &pkt);
            close_session(s, "protocol violation");
            return;
        }
        s->seq = (uint8_t)(pkt.seq + 1);
        if (s->state == SESS_HANDSHAKE) {
            bool tls = on_handshake_response(s, pkt.data, pkt.len);
            packet_consume(in, &pkt);
            if (tls) {
                start_tls(s); /* the response follows over TLS */
                return;
            }
            continue;
        }
        if (s->state == SESS_AUTH_SWITCH) {
            login_continue(s, pkt.data, pkt.len);
            packet_consume(in, &pkt);
            continue;
        }
        s->deadline = 0; /* no idle timeout while it runs */
        s->cmd = pkt;
        s->cmd_byte = pkt.data[0];
        atomic_fetch_add(&s->wc->questions, 1);
        s->counted =
            s->cmd_byte == COM_QUERY || s->cmd_byte == COM_STMT_EXECUTE;
        s->cmd_err = false;
        s->stmt_kind = SK_other;
        s->stmt_route = SR_proxy;
        s->stmt_shard = 0;
        s->digest_slot = -1;
        s->timed_out = false;
        s->cmd_started_us = clock_us();
        if (s->counted) /* the funnel: see backend.query_timeout */
            session_timer_set(s, s->cmd_started_us / 1000,
                              s->wc->cfg->backend.query_timeout_ms);
        command_dispatch(s);
    }
}

/* A statement ended: count it where SHOW STATS, SHOW DIGESTS and
 * /metrics look, and log it when slow. */
static void
count_statement(struct session *s, int64_t now_us)
{
    struct wctx *wc = s->wc;
    struct stats *st = &wc->stats;
    int64_t us = now_us - s->cmd_started_us;

    s->counted = false;
    STATS_ADD(st, queries_total, 1);
    STATS_ADD(st, by_kind[s->stmt_kind], 1);
    STATS_ADD(st, by_route[s->stmt_route], 1);
    stats_observe_us(st, us);
    if (s->cmd_err)
        STATS_ADD(st, errors_total, 1);
    if (s->user >= 0 && s->user < wc->nustats) {
        STATS_ADD(&wc->ustats[s->user], queries, 1);
        if (s->cmd_err)
            STATS_ADD(&wc->ustats[s->user], errors, 1);
    }
    if (wc->qmatrix != NULL && s->user >= 0 && s->user < wc->q_users &&
        s->stmt_shard <= wc->q_shards)
        STATS_ADD(wc,
                  qmatrix[(((size_t)s->user * (size_t)(wc->q_shards + 1) +
                            s->stmt_shard) *
                               SR_COUNT +
                           s->stmt_route) *
                              SK_COUNT +
                          s->stmt_kind],
                  1);
    digests_note(&wc->digests, s->digest_slot, us, s->cmd_err);
    if (wc->cfg->slow_query_ms > 0 && us >= wc->cfg->slow_query_ms * 1000) {
        const struct log_field route[] = {
            LOG_STR("route", stats_route_name(s->stmt_route)),
        };
        STATS_ADD(st, slow_queries_total, 1);
        stmtlog_event(s, LOG_WARN, "slow statement", route, 1);
    }
}

static void
command_done(struct session *s)
{
    int64_t now_us;

    if (s->state == SESS_CLOSING)
        return;
    now_us = clock_us(); /* one clock read for the count and the timer */
    if (s->counted)
        count_statement(s, now_us);
    tablecols_command_end(s);
    movehold_statement_end(s);
    packet_consume(s->conn->in, &s->cmd);
    free(s->stmt_schema);
    s->stmt_schema = NULL;
    session_set_state(s, SESS_IDLE);
    if (s->user_removed) {
        log_info("closing client: a reload removed its user client=%u "
                 "addr=%s",
                 s->id, s->addr);
        close_session(s, "user removed from the config");
        return;
    }
    if (s->wc->draining && s->sc == NULL) {
        close_session(s, "shutdown");
        return;
    }
    session_timer_set(s, now_us / 1000, s->wc->cfg->client_idle_timeout_ms);
    session_process_input(s);
}

static void
client_read_cb(struct conn *c, void *arg)
{
    (void)c;
    session_process_input(arg);
}

static void
client_drain_cb(struct conn *c, void *arg)
{
    struct session *s = arg;

    (void)c;
    if (s->state == SESS_CLOSING) {
        if (evbuffer_get_length(s->conn->out) == 0)
            session_free_later(s);
        return;
    }
    if (s->state == SESS_RELAY && s->fetch != NULL)
        cursor_client_drained(s);
    else if (s->state == SESS_RELAY)
        engine_client_drained(s);
    else if (s->state == SESS_IDLE)
        session_process_input(s); /* commands held for CLIENT_OUT_HIGH */
}

static void
client_event_cb(struct conn *c, void *arg, enum conn_event ev)
{
    struct session *s = arg;

    if (s->state == SESS_CLOSING) {
        session_free_later(s);
        return;
    }
    if (conn_tls_error(c)[0] != '\0') {
        log_info("client TLS failed client=%u addr=%s error=\"%s\" "
                 "discarded=%zu",
                 s->id, s->addr, conn_tls_error(c), c->tls_discarded);
        close_session(s, "TLS failed");
        return;
    }
    close_session(s, ev == CONN_EOF ? "client closed" : "network error");
}

static void
close_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;

    if (!session_timer_due(s))
        return;
    if (s->state == SESS_CLOSING) {
        /* The client never read its last packet: give up on it. */
        session_free_later(s);
        return;
    }
    timer_cb(fd, what, arg);
}

/* What client.c calls up into (session.h). */
static const struct session_hooks hooks = {
    .command_done = command_done,
    .close = close_session,
    .dispatch = command_dispatch,
    .login_ok = login_ok,
    .login_refused = login_refused,
    .change_user_ok = command_change_user_ok,
};

/* Says why in the greeting's place (the socket is closed after). */
static void
refuse(struct wctx *wc, int fd, const char *msg)
{
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 0;

    STATS_ADD(&wc->stats, connections_refused_total, 1);
    proto_write_err(out, &seq, ER_CON_COUNT_ERROR, "08004", "%s", msg);
    evbuffer_write(out, fd);
    evbuffer_free(out);
}

void
session_refuse(struct worker *w, int fd, const char *why)
{
    char msg[256];

    snprintf(msg, sizeof(msg),
             "myshard: too many connections: out of file descriptors (%s); "
             "try again later",
             why);
    refuse(w->ctx, fd, msg);
}

void
session_accept(struct worker *w, int fd, const struct sockaddr *addr,
               int addrlen)
{
    struct wctx *wc = w->ctx;
    struct session *s;
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;

    wc->hooks = &hooks; /* client.c calls up through these */

    (void)addrlen;
    if (wc->draining || !limits_client_enter(wc->cfg->max_client_connections)) {
        /* Too many: say so in the greeting's place and close. */
        refuse(wc, fd,
               "myshard: too many connections "
               "(max_client_connections)");
        evutil_closesocket(fd);
        return;
    }
    s = xcalloc(1, sizeof(*s));
    STATS_ADD(&wc->stats, connections_total, 1);
    s->wc = wc;
    s->id = wc->id_base + ++wc->next_id;
    s->user = -1;
    s->user_slot = -1;
    s->schema = -1;
    s->status = SERVER_STATUS_AUTOCOMMIT;
    s->row_count = -1;
    s->connected_ms = clock_ms();
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(s->addr, sizeof(s->addr), "%s:%u", host, port);
    s->conn = conn_new(w, fd);
    s->timer = evtimer_new(w->base, close_timer_cb, s);
    conn_set_cbs(s->conn, client_read_cb, client_drain_cb, client_event_cb, s);
    s->conn->wr_low = CLIENT_LOW_WATER;
    conn_read_enable(s->conn, true);
    s->next = wc->sessions;
    if (wc->sessions)
        wc->sessions->prev = s;
    wc->sessions = s;
    wc->nsessions++;

    auth_scramble_generate(s->scramble);
    handshake_write_greeting(
        s->conn->out, s->seq++, MYSHARD_SERVER_VERSION, s->id, s->scramble,
        PROXY_CAPS | (wc->cfg->tls.ctx != NULL ? CLIENT_SSL : 0),
        CHARSET_UTF8MB4_GENERAL_CI, SERVER_STATUS_AUTOCOMMIT,
        LOGIN_GREETING_PLUGIN);
    session_set_state(s, SESS_HANDSHAKE);
    session_timer_arm(s, wc->cfg->handshake_timeout_ms);
}
