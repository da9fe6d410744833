/*
 * console_login.c - owns an admin console connection's life: accept, the
 * greeting, TLS, the admin's login, throttled refusals, the read loop and
 * close. Logged in, its packets go to console.c (console_command).
 *
 *   accept ─► greeting (caching_sha2_password; CLIENT_SSL with tls:)
 *   ─► SSLRequest? ─► TLS (conn_tls_start: plaintext sent after the
 *      request is dropped) ─► the response comes over TLS
 *   ─► HandshakeResponse41 ─► tls.require ─► the admin's password, the
 *      client port's way (session/passcheck.h): a mysql_native_password
 *      token, caching_sha2_password fast authentication, or full
 *      authentication (cleartext over TLS, the RSA exchange without)
 *   ─► OK ─► commands
 *   refused ─► login.throttle on the client port's table (throttle_global):
 *   the ERR at once, or held back on the connection's timer
 *
 * The current config generation is read at each step (admin_view's
 * cfg_get), so a reload's password, throttling settings and certificates
 * apply to the next login.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/escape.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "console_internal.h"
#include "net/conn.h"
#include "proto/auth.h"
#include "proto/handshake.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "session/login.h"
#include "session/passcheck.h"
#include "session/throttle.h"

#define ADMIN_CAPS                                                             \
    (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |        \
     CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |     \
     CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |              \
     CLIENT_CONNECT_ATTRS | CLIENT_MULTI_RESULTS)
#define ADMIN_MAX_PACKET (1u << 20)
/* Bounded memory, as for clients (session.c): a small packet until login,
 * one packet plus a little pipelined input buffered, and no next command
 * while the output holds more than ADMIN_OUT_HIGH unread bytes. */
#define ADMIN_LOGIN_MAX_PACKET (16u * 1024)
#define ADMIN_INPUT_MAX        (ADMIN_MAX_PACKET + 4 + 64 * 1024)
#define ADMIN_OUT_HIGH         (1024u * 1024)
#define ADMIN_OUT_LOW          (256u * 1024)
#define ADMIN_LOGIN_MS         10000

#define NATIVE "mysql_native_password"
#define SHA2   "caching_sha2_password"

#define SHA2_FAST_OK   0x03 /* AuthMoreData: fast authentication passed */
#define SHA2_FULL_AUTH 0x04 /* AuthMoreData: perform full authentication */

/* The sha2 cache's key for the admin's digest, apart from the users'
 * names (a leading control character), so that a user named like the
 * admin does not evict it. Sharing one would still be safe: an entry only
 * answers for the password_hash it was learned with. */
#define ADMIN_CACHE_KEY                                                        \
    "\x01"                                                                     \
    "admin"

enum login_step {
    STEP_NATIVE_TOKEN, /* switched to mysql_native_password: its token */
    STEP_SHA2_TOKEN,   /* switched to caching_sha2_password: its token */
    STEP_SHA2_FULL,    /* 0x04 sent: cleartext (TLS), 0x02 or ciphertext */
    STEP_SHA2_RSA,     /* public key sent: the ciphertext */
};

struct admin_login {
    char user[128]; /* NUL-terminated */
    size_t user_len;
    enum login_step step;
    char refusal[400]; /* the held-back ERR's message (AC_DELAY) */
};

static void ac_read(struct conn *c, void *arg);

static struct cfg *
cfg_now(struct admin_conn *ac)
{
    return ac->con->v->cfg_get(ac->con->v->cfg_arg);
}

static void send_err(struct admin_conn *ac, uint16_t code, const char *state,
                     const char *fmt, ...) PRINTF_FMT(4, 5);

static void
send_err(struct admin_conn *ac, uint16_t code, const char *state,
         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    uint8_t seq = ac->seq;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    proto_write_err(ac->conn->out, &seq, code, state, "%s", msg);
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
    struct admin_conn *ac = arg;

    (void)fd;
    (void)what;
    free(ac);
}

void
console_conn_close(struct admin_conn *ac)
{
    struct console *con = ac->con;

    if (ac->state == AC_CLOSING)
        return;
    ac->state = AC_CLOSING;
    conn_flush(ac->conn);
    conn_free(ac->conn);
    event_free(ac->timer);
    free(ac->login);
    ac->login = NULL;
    if (ac->prev)
        ac->prev->next = ac->next;
    else
        con->conns = ac->next;
    if (ac->next)
        ac->next->prev = ac->prev;
    event_base_once(con->w.base, -1, EV_TIMEOUT, free_cb, ac, NULL);
}

/* ---- outcomes ----------------------------------------------------------- */

static void
login_ok(struct admin_conn *ac, const char *how)
{
    struct admin_login *l = ac->login;
    char esc[ESCAPE_BUF];
    uint8_t seq = ac->seq;

    log_info("admin login addr=%s user=\"%s\" auth=%s tls=%s", ac->ip,
             escape_log(l->user, MIN(l->user_len, 64), esc, sizeof(esc)), how,
             ac->tls ? "yes" : "no");
    free(ac->login);
    ac->login = NULL;
    evtimer_del(ac->timer);
    proto_write_ok(ac->conn->out, &seq, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0,
                   NULL);
    ac->state = AC_READY;
}

/*
 * A refused login. An address that keeps failing (on this port or the
 * client port: one table) gets its answer held back on the connection's
 * timer, reading nothing meanwhile; the console thread goes on serving
 * everyone else. Correct logins never pass here, so they are never slowed.
 */
static void
login_refused(struct admin_conn *ac, bool had_pw)
{
    struct admin_login *l = ac->login;
    struct cfg *c = cfg_now(ac);
    struct throttle_rule rule = {.free_failures = c->login.throttle_failures,
                                 .window_ms = c->login.throttle_window_ms,
                                 .max_delay_ms =
                                     c->login.throttle_max_delay_ms};
    char esc[ESCAPE_BUF];
    int64_t delay;

    cfg_put(c);
    delay = throttle_fail(throttle_global(), ac->ip, clock_ms(), &rule);
    log_info("admin access denied addr=%s user=\"%s\" delay_ms=%lld", ac->ip,
             escape_log(l->user, MIN(l->user_len, 64), esc, sizeof(esc)),
             (long long)delay);
    snprintf(l->refusal, sizeof(l->refusal),
             "myshard: access denied for user '%.*s' on the admin console "
             "(using password: %s); use admin.user and admin.password (or "
             "admin.password_hash)",
             (int)MIN(l->user_len, 64), l->user, had_pw ? "YES" : "NO");
    if (delay > 0) {
        struct timeval tv = {(time_t)(delay / 1000),
                             (suseconds_t)(delay % 1000) * 1000};
        ac->state = AC_DELAY;
        conn_read_enable(ac->conn, false);
        evtimer_del(ac->timer);
        evtimer_add(ac->timer, &tv);
        return;
    }
    send_err(ac, ER_ACCESS_DENIED_ERROR, "28000", "%s", l->refusal);
    console_conn_close(ac);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct admin_conn *ac = arg;

    (void)fd;
    (void)what;
    if (ac->state == AC_DELAY)
        send_err(ac, ER_ACCESS_DENIED_ERROR, "28000", "%s", ac->login->refusal);
    console_conn_close(ac); /* or the login took too long */
}

/* ---- the password exchange ---------------------------------------------- */

/* The admin account's secret when user names it and a password is
 * configured; NULL otherwise (the console is closed without one). */
static const struct pass_secret *
admin_secret(const struct cfg *c, const struct admin_login *l,
             struct pass_secret *sec)
{
    if (c->admin.password == NULL && !c->admin.has_hash)
        return NULL;
    if (l->user_len != strlen(c->admin.user) ||
        memcmp(l->user, c->admin.user, l->user_len) != 0)
        return NULL;
    *sec =
        (struct pass_secret){.name = ADMIN_CACHE_KEY,
                             .password = c->admin.password,
                             .hash = c->admin.has_hash ? c->admin.hash : NULL};
    return sec;
}

static void
wait_for(struct admin_conn *ac, enum login_step step)
{
    ac->login->step = step;
    ac->state = AC_AUTH;
}

static void
switch_to(struct admin_conn *ac, const char *plugin, enum login_step step)
{
    (void)handshake_write_auth_switch(ac->conn->out, ac->seq++, plugin,
                                      ac->scramble);
    wait_for(ac, step);
}

static void
send_more(struct admin_conn *ac, uint8_t what)
{
    (void)handshake_write_auth_more(ac->conn->out, ac->seq++, &what, 1);
}

static void
native_token(struct admin_conn *ac, const uint8_t *token, size_t len)
{
    struct cfg *c = cfg_now(ac);
    struct pass_secret sec;
    bool ok = passcheck_native(admin_secret(c, ac->login, &sec), token, len,
                               ac->scramble);

    cfg_put(c);
    if (ok)
        login_ok(ac, NATIVE);
    else
        login_refused(ac, len > 0);
}

static void
sha2_token(struct admin_conn *ac, const uint8_t *token, size_t len)
{
    struct cfg *c = cfg_now(ac);
    struct pass_secret sec;
    enum pass_verdict v = passcheck_sha2_fast(admin_secret(c, ac->login, &sec),
                                              token, len, ac->scramble);

    cfg_put(c);
    switch (v) {
    case PASS_OK:
        if (len > 0)
            send_more(ac, SHA2_FAST_OK);
        login_ok(ac, SHA2 ":fast");
        return;
    case PASS_FAIL:
        login_refused(ac, len > 0);
        return;
    case PASS_FULL:
        send_more(ac, SHA2_FULL_AUTH);
        wait_for(ac, STEP_SHA2_FULL);
        return;
    }
}

/* Full authentication: the password in clear over TLS, or through the RSA
 * exchange; the admin's digest is learned here with only a password_hash. */
static void
sha2_full(struct admin_conn *ac, const uint8_t *p, size_t len)
{
    char pw[512];
    size_t pwlen = 0;
    struct cfg *c;
    struct pass_secret sec;
    bool ok;

    switch (passcheck_sha2_full_packet(p, len, ac->tls,
                                       ac->login->step == STEP_SHA2_FULL,
                                       ac->scramble, pw, sizeof(pw), &pwlen)) {
    case PASS_FULL_KEY_REQ: {
        size_t plen;
        const char *pem = passcheck_public_pem(&plen);
        (void)handshake_write_auth_more(ac->conn->out, ac->seq++, pem, plen);
        wait_for(ac, STEP_SHA2_RSA);
        return;
    }
    case PASS_FULL_BAD:
        login_refused(ac, len > 0);
        return;
    case PASS_FULL_PASSWORD:
        break;
    }
    c = cfg_now(ac);
    ok = passcheck_sha2_password(admin_secret(c, ac->login, &sec), pw, pwlen);
    cfg_put(c);
    OPENSSL_cleanse(pw, sizeof(pw));
    if (ok)
        login_ok(ac, ac->tls ? SHA2 ":full-tls" : SHA2 ":full-rsa");
    else
        login_refused(ac, len > 0);
}

static bool
plugin_is(const struct handshake_response *r, const char *name)
{
    return r->plugin != NULL && r->plugin_len == strlen(name) &&
           memcmp(r->plugin, name, r->plugin_len) == 0;
}

/* The first answer, as the client port's login_begin reads it. */
static void
exchange_begin(struct admin_conn *ac, const struct handshake_response *r)
{
    if (r->plugin == NULL) {
        /* no plugin named: a 32-byte token answers the greeting's plugin */
        if (r->auth_len == AUTH_SHA2_LEN)
            sha2_token(ac, r->auth, r->auth_len);
        else
            native_token(ac, r->auth, r->auth_len);
    } else if (plugin_is(r, SHA2)) {
        sha2_token(ac, r->auth, r->auth_len);
    } else if (plugin_is(r, NATIVE)) {
        /* a native client sending nothing did not compute over our
         * scramble: switch it to its plugin so it does */
        if (r->auth_len == 0)
            switch_to(ac, NATIVE, STEP_NATIVE_TOKEN);
        else
            native_token(ac, r->auth, r->auth_len);
    } else {
        switch_to(ac, SHA2, STEP_SHA2_TOKEN);
    }
}

/* ---- TLS ---------------------------------------------------------------- */

static void
tls_done(struct conn *c, void *arg)
{
    struct admin_conn *ac = arg;
    char desc[96];

    ac->tls = true;
    ac->state = AC_HANDSHAKE;
    if (c->tls_discarded > 0)
        log_warn("admin console: plaintext after the SSLRequest discarded "
                 "addr=%s bytes=%zu",
                 ac->ip, c->tls_discarded);
    conn_tls_describe(c, desc, sizeof(desc));
    log_debug("admin console TLS up addr=%s tls=\"%s\"", ac->ip, desc);
    ac_read(c, ac); /* the HandshakeResponse41 now comes over TLS */
}

/* An SSLRequest (already consumed): TLS with the current generation's
 * certificates, the client port's way (session.c). */
static void
tls_begin(struct admin_conn *ac)
{
    struct cfg *c = cfg_now(ac);
    bool started = false;

    if (c->tls.ctx == NULL || ac->tls || ac->conn->ssl != NULL) {
        send_err(ac, ER_HANDSHAKE_ERROR, "08S01", "myshard: %s",
                 c->tls.ctx == NULL ? "TLS is not configured on this proxy "
                                      "(tls:); connect without SSL"
                                    : "a second SSLRequest");
    } else {
        ac->state = AC_TLS;
        /* the SSL object holds its own reference to the context */
        started = conn_tls_start(ac->conn, c->tls.ctx, true, NULL, tls_done);
        if (!started)
            log_warn("admin console: cannot start TLS addr=%s", ac->ip);
    }
    cfg_put(c);
    if (!started)
        console_conn_close(ac);
}

/* ---- packets ------------------------------------------------------------ */

static void
on_response(struct admin_conn *ac, const uint8_t *p, size_t len)
{
    struct handshake_response r;
    struct cfg *c;
    bool require;

    if (!handshake_parse_response(p, len, &r) ||
        !(r.caps & CLIENT_PROTOCOL_41) || r.user_len >= 128) {
        send_err(ac, ER_HANDSHAKE_ERROR, "08S01", "myshard: bad handshake");
        console_conn_close(ac);
        return;
    }
    if (r.ssl_request) {
        tls_begin(ac);
        return;
    }
    c = cfg_now(ac);
    require = c->tls.require;
    cfg_put(c);
    if (require && !ac->tls) {
        log_info("admin console: refused without TLS (tls.require) addr=%s",
                 ac->ip);
        send_err(ac, ER_SECURE_TRANSPORT_REQUIRED, "HY000",
                 "myshard: connections without TLS are refused "
                 "(tls.require), the admin console's too; connect with "
                 "SSL/TLS enabled");
        console_conn_close(ac);
        return;
    }
    if (r.db != NULL && r.db_len > 0 && r.db_len < sizeof(ac->schema)) {
        memcpy(ac->schema, r.db, r.db_len);
        ac->schema[r.db_len] = '\0';
    }
    ac->login = xcalloc(1, sizeof(*ac->login));
    memcpy(ac->login->user, r.user, r.user_len);
    ac->login->user_len = r.user_len;
    exchange_begin(ac, &r);
}

static void
on_packet(struct admin_conn *ac, const uint8_t *p, size_t len)
{
    if (ac->state == AC_HANDSHAKE) {
        on_response(ac, p, len);
        return;
    }
    if (ac->state == AC_AUTH) {
        switch (ac->login->step) {
        case STEP_NATIVE_TOKEN:
            native_token(ac, p, len);
            break;
        case STEP_SHA2_TOKEN:
            sha2_token(ac, p, len);
            break;
        case STEP_SHA2_FULL:
        case STEP_SHA2_RSA:
            sha2_full(ac, p, len);
            break;
        }
        return;
    }
    console_command(ac, p, len);
}

static bool
reading(const struct admin_conn *ac)
{
    return ac->state == AC_HANDSHAKE || ac->state == AC_AUTH ||
           ac->state == AC_READY;
}

static void
ac_read(struct conn *c, void *arg)
{
    struct admin_conn *ac = arg;

    while (reading(ac)) {
        struct packet pkt;
        bool ready = ac->state == AC_READY;
        int want = ready ? 0 : ac->seq;
        enum packet_status st;
        if (ready && evbuffer_get_length(c->out) > ADMIN_OUT_HIGH)
            return; /* not reading its answers: resumed on drain */
        st = packet_read(c->in,
                         ready ? ADMIN_MAX_PACKET : ADMIN_LOGIN_MAX_PACKET,
                         want, &pkt);
        if (st == PKT_AGAIN)
            return;
        if (st != PKT_OK || (pkt.len == 0 && ac->state == AC_READY)) {
            console_conn_close(ac);
            return;
        }
        ac->seq = (uint8_t)(pkt.seq + 1);
        {
            uint8_t *copy = xmalloc(pkt.len + 1);
            size_t len = pkt.len;
            memcpy(copy, pkt.data, len);
            copy[len] = 0;
            packet_consume(c->in, &pkt);
            on_packet(ac, copy, len);
            free(copy);
        }
    }
}

static void
ac_event(struct conn *c, void *arg, enum conn_event ev)
{
    struct admin_conn *ac = arg;

    (void)ev;
    if (conn_tls_error(c)[0] != '\0')
        log_info("admin console TLS failed addr=%s error=\"%s\" "
                 "discarded=%zu",
                 ac->ip, conn_tls_error(c), c->tls_discarded);
    console_conn_close(ac);
}

void
console_conn_accept(struct worker *w, int fd, const struct sockaddr *addr,
                    int addrlen)
{
    struct console *con = w->ctx;
    struct admin_conn *ac = xcalloc(1, sizeof(*ac));
    struct timeval tv = {ADMIN_LOGIN_MS / 1000, 0};
    struct cfg *c;
    bool tls;

    (void)addrlen;
    snprintf(ac->ip, sizeof(ac->ip), "?");
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr,
                  ac->ip, sizeof(ac->ip));
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr,
                  ac->ip, sizeof(ac->ip));
    ac->con = con;
    ac->id = ++con->next_id;
    ac->conn = conn_new(w, fd);
    ac->timer = evtimer_new(w->base, timer_cb, ac);
    evtimer_add(ac->timer, &tv);
    conn_set_cbs(ac->conn, ac_read, ac_read, ac_event, ac);
    ac->conn->wr_low = ADMIN_OUT_LOW;
    conn_set_read_limit(ac->conn, ADMIN_INPUT_MAX);
    conn_read_enable(ac->conn, true);
    ac->next = con->conns;
    if (con->conns)
        con->conns->prev = ac;
    con->conns = ac;
    c = cfg_now(ac);
    tls = c->tls.ctx != NULL;
    cfg_put(c);
    auth_scramble_generate(ac->scramble);
    handshake_write_greeting(
        ac->conn->out, ac->seq++, MYSHARD_SERVER_VERSION, ac->id, ac->scramble,
        ADMIN_CAPS | (tls ? CLIENT_SSL : 0), CHARSET_UTF8MB4_GENERAL_CI,
        SERVER_STATUS_AUTOCOMMIT, LOGIN_GREETING_PLUGIN);
}
