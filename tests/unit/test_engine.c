/*
 * test_engine.c - the engine's state machine (session/engine.c) against
 * scripted fake backends: each shard's "server" is a TCP listener on
 * 127.0.0.1 that this test drives by hand, speaking enough of the MySQL
 * protocol (greeting, login OK, OK, ERR, a small text result set with EOF
 * terminators). Everything on the proxy's side is real: a session accepted
 * on a worker (its client connection has no socket: the test puts the
 * client's packets into its input and reads its output), the command
 * dispatch, classification, routing, the pools connecting and lending, the
 * engine's acquire, prelude, send, consume and release, relay and merge.
 * The test and the worker's event loop share one thread: every wait turns
 * the loop while it polls the fake server's socket.
 */
#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "base/clock.h"
#include "base/diag.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "net/worker.h"
#include "proto/auth.h"
#include "proto/handshake.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "route/router.h"
#include "session/qcache.h"
#include "session/reload.h"
#include "session/session.h"

/* ---- the world: a worker, a config naming the fake servers ------------ */

struct fake {
    int lfd; /* listener */
    int port;
    int fd; /* the accepted connection, -1 none */
};

static struct worker w;
static struct wctx wc;
static struct cfg *cfg;
static struct server_set *servers;
static struct fake fk[2];
static struct session *s;

static void
listen_fake(struct fake *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f->lfd, 0);
    ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(f->lfd, 8), 0);
    ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    f->fd = -1;
}

/* One turn of the worker's loop, then its clients' output flushed. */
static void
turn(void)
{
    event_base_loop(w.base, EVLOOP_NONBLOCK);
    conn_flush_all(&w);
}

/* Turns the loop until fd is readable (5 s on a busy machine). */
static bool
wait_readable(int fd)
{
    int64_t until = clock_ms() + 5000;

    while (clock_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        turn();
        if (poll(&p, 1, 2) == 1)
            return true;
    }
    return false;
}

static void
read_exact(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r;
        ck_assert_msg(wait_readable(fd), "the proxy sent nothing");
        r = read(fd, p, n);
        ck_assert_msg(r > 0, "the proxy closed the connection");
        p += r;
        n -= (size_t)r;
    }
}

/* The next packet the proxy sent to fake server k: its payload length. */
static size_t
fk_read(int k, uint8_t *buf, size_t cap, uint8_t *seq)
{
    uint8_t h[4];
    size_t n;

    read_exact(fk[k].fd, h, 4);
    n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    ck_assert_uint_lt(n, cap);
    read_exact(fk[k].fd, buf, n);
    buf[n] = '\0';
    if (seq)
        *seq = h[3];
    return n;
}

static void
fk_write(int k, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);

    ck_assert_int_eq(write(fk[k].fd, evbuffer_pullup(b, -1), n), (ssize_t)n);
    evbuffer_drain(b, n);
}

/* The proxy's pool connects: greeting, its login, OK. */
static void
fk_accept(int k)
{
    struct evbuffer *b = evbuffer_new();
    uint8_t scramble[SCRAMBLE_LEN], buf[512];

    ck_assert_msg(wait_readable(fk[k].lfd), "the pool did not connect to %d",
                  k);
    fk[k].fd = accept(fk[k].lfd, NULL, NULL);
    ck_assert_int_ge(fk[k].fd, 0);
    memset(scramble, 'a', sizeof(scramble));
    handshake_write_greeting(
        b, 0, "10.11.99-fake", 100 + (uint32_t)k, scramble,
        CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 |
            CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |
            CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |
            CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH,
        CHARSET_UTF8MB4_GENERAL_CI, SERVER_STATUS_AUTOCOMMIT,
        "mysql_native_password");
    fk_write(k, b);
    fk_read(k, buf, sizeof(buf), NULL); /* HandshakeResponse41 */
    {
        uint8_t seq = 2;
        proto_write_ok(b, &seq, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0, NULL);
    }
    fk_write(k, b);
    evbuffer_free(b);
}

/* Expects a command of type cmd (its text containing part, when given). */
static void
fk_expect(int k, uint8_t cmd, const char *part)
{
    uint8_t buf[4096], seq;
    size_t n = fk_read(k, buf, sizeof(buf), &seq);

    ck_assert_uint_ge(n, 1);
    ck_assert_msg(buf[0] == cmd, "server %d got command %u (%s), not %u", k,
                  buf[0], (const char *)buf + 1, cmd);
    ck_assert_uint_eq(seq, 0);
    if (part)
        ck_assert_msg(strstr((const char *)buf + 1, part) != NULL,
                      "server %d got \"%s\", not \"...%s...\"", k,
                      (const char *)buf + 1, part);
}

static void
fk_ok(int k, uint64_t affected, uint16_t status)
{
    struct evbuffer *b = evbuffer_new();
    uint8_t seq = 1;

    proto_write_ok(b, &seq, affected, 0, status, 0, NULL);
    fk_write(k, b);
    evbuffer_free(b);
}

static void
fk_err(int k, uint16_t code, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    uint8_t seq = 1;

    proto_write_err(b, &seq, code, "42S02", "%s", msg);
    fk_write(k, b);
    evbuffer_free(b);
}

/* A one-column text result set with the given rows. */
static void
fk_rows(int k, const char *col, const char *const *rows, int n, uint16_t status)
{
    struct evbuffer *b = evbuffer_new();
    struct rs_writer rw;
    const char *names[1] = {col};

    rs_begin(&rw, b, 1, false, status);
    rs_columns_text(&rw, names, 1);
    for (int i = 0; i < n; i++)
        rs_row(&rw, &rows[i], NULL);
    rs_end(&rw);
    fk_write(k, b);
    evbuffer_free(b);
}

/* The fake server the pool connects to first (either shard). */
static int
fk_accept_any(void)
{
    struct pollfd p[2] = {{.fd = fk[0].lfd, .events = POLLIN},
                          {.fd = fk[1].lfd, .events = POLLIN}};
    int64_t until = clock_ms() + 5000;
    int k;

    while (poll(p, 2, 2) == 0 && clock_ms() < until)
        turn();
    k = (p[0].revents & POLLIN) ? 0 : 1;
    fk_accept(k);
    return k;
}

/* PREPARE_OK for id with one parameter and no columns. */
static void
fk_prepare_ok(int k, uint32_t id)
{
    struct evbuffer *b = evbuffer_new();
    struct coldef param = {
        .name = "?", .type = MYSQL_TYPE_LONGLONG, .charset = 63};
    struct rs_writer rw;
    uint8_t ok[12] = {0x00,
                      (uint8_t)id,
                      (uint8_t)(id >> 8),
                      (uint8_t)(id >> 16),
                      (uint8_t)(id >> 24),
                      0,
                      0,
                      1,
                      0,
                      0,
                      0,
                      0};
    uint8_t seq = 1;

    packet_write(b, &seq, ok, sizeof(ok));
    /* the parameter's definition and its EOF, as rs_columns writes them
     * after a column count (which is skipped) */
    {
        struct evbuffer *t = evbuffer_new();
        uint8_t h[4];
        rs_begin(&rw, t, seq - 1, false, SERVER_STATUS_AUTOCOMMIT);
        rs_columns(&rw, &param, 1);
        evbuffer_remove(t, h, 4);
        evbuffer_drain(t, (size_t)h[0]);
        evbuffer_add_buffer(b, t);
        evbuffer_free(t);
    }
    fk_write(k, b);
    evbuffer_free(b);
}

/* ---- the client's side ------------------------------------------------ */

static void
put_packet(struct evbuffer *in, uint8_t seq, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};

    evbuffer_add(in, h, 4);
    evbuffer_add(in, p, n);
}

/* A HandshakeResponse41 for app/pw into schema shop. */
static void
login(void)
{
    uint8_t b[256], tok[20];
    size_t n = 0, tlen = 0;
    uint32_t caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |
                    CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_WITH_DB |
                    CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS;

    auth_native_token("pw", s->scramble, tok, &tlen);
    memcpy(b, &caps, 4);
    n = 4;
    memset(b + n, 0, 4 + 1 + 23);
    b[n + 2] = 0x01;
    b[n + 4] = CHARSET_UTF8MB4_GENERAL_CI;
    n += 4 + 1 + 23;
    memcpy(b + n, "app", 4);
    n += 4;
    b[n++] = (uint8_t)tlen;
    memcpy(b + n, tok, tlen);
    n += tlen;
    memcpy(b + n, "shop", 5);
    n += 5;
    memcpy(b + n, "mysql_native_password", 22);
    n += 22;
    put_packet(s->conn->in, 1, b, n);
    session_process_input(s);
}

static void
client_query(const char *sql)
{
    uint8_t p[1024];
    size_t n = strlen(sql);

    p[0] = COM_QUERY;
    memcpy(p + 1, sql, n);
    put_packet(s->conn->in, 0, p, n + 1);
    session_process_input(s);
}

static void
client_command(const uint8_t *p, size_t n)
{
    put_packet(s->conn->in, 0, p, n);
    session_process_input(s);
}

/* Turns the loop until the statement has ended (the session is IDLE). */
static void
wait_idle(void)
{
    int64_t until = clock_ms() + 5000;

    turn();
    while (s->state != SESS_IDLE && clock_ms() < until) {
        poll(NULL, 0, 1);
        turn();
    }
    ck_assert_msg(s->state == SESS_IDLE, "the statement did not end (%d)",
                  s->state);
}

/* What the client got for one statement, read off its output. */
struct answer {
    int kind; /* PKT_HDR_OK, PKT_HDR_ERR, or 1: a result set */
    uint64_t affected;
    uint16_t code;
    char msg[256];
    char rows[256]; /* first column of each row, comma-separated */
};

static uint64_t
lenenc(const uint8_t **p)
{
    const uint8_t *q = *p;
    uint64_t v;

    if (q[0] < 0xfb) {
        *p = q + 1;
        return q[0];
    }
    ck_assert_uint_eq(q[0], 0xfc); /* enough for these tests */
    v = (uint64_t)q[1] | (uint64_t)q[2] << 8;
    *p = q + 3;
    return v;
}

/* The payload of the client's next packet; its length in *n. */
static uint8_t *
client_packet(size_t *n)
{
    struct evbuffer *out = s->conn->out;
    uint8_t h[4], *p;

    ck_assert_uint_ge(evbuffer_get_length(out), 4);
    evbuffer_remove(out, h, 4);
    *n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    p = malloc(*n + 1);
    ck_assert_int_eq(evbuffer_remove(out, p, *n), (int)*n);
    p[*n] = 0;
    return p;
}

static void
client_answer(struct answer *a)
{
    size_t n;
    uint8_t *p = client_packet(&n);
    const uint8_t *q;
    uint64_t ncols;

    memset(a, 0, sizeof(*a));
    if (p[0] == PKT_HDR_OK) {
        a->kind = PKT_HDR_OK;
        q = p + 1;
        a->affected = lenenc(&q);
        free(p);
        return;
    }
    if (p[0] == PKT_HDR_ERR) {
        a->kind = PKT_HDR_ERR;
        a->code = (uint16_t)(p[1] | p[2] << 8);
        snprintf(a->msg, sizeof(a->msg), "%s", (const char *)p + 9);
        free(p);
        return;
    }
    a->kind = 1;
    q = p;
    ncols = lenenc(&q);
    free(p);
    for (uint64_t i = 0; i < ncols; i++)
        free(client_packet(&n));
    p = client_packet(&n);
    ck_assert_uint_eq(p[0], PKT_HDR_EOF);
    free(p);
    for (;;) {
        uint64_t len;
        p = client_packet(&n);
        if (p[0] == PKT_HDR_EOF && n < 9) {
            free(p);
            break;
        }
        q = p;
        len = lenenc(&q);
        snprintf(a->rows + strlen(a->rows), sizeof(a->rows) - strlen(a->rows),
                 "%s%.*s", a->rows[0] ? "," : "", (int)len, (const char *)q);
        free(p);
    }
}

/* ---- fixture -------------------------------------------------------- */

/* A client logged in as app into shop: the session s. */
static void
new_session(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};

    session_accept(&w, -1, (struct sockaddr *)&sa, sizeof(sa));
    s = wc.sessions; /* the newest first */
    ck_assert_ptr_nonnull(s);
    evbuffer_drain(s->conn->out, evbuffer_get_length(s->conn->out));
    login();
    ck_assert_int_eq(s->state, SESS_IDLE);
    evbuffer_drain(s->conn->out, evbuffer_get_length(s->conn->out));
}

static void
setup(void)
{
    char conf[2048], err[256];
    struct diag d;

    log_current_level = LOG_ERROR;
    listen_fake(&fk[0]);
    listen_fake(&fk[1]);
    snprintf(conf, sizeof(conf),
             "listen: 127.0.0.1:1\n"
             "workers: 1\n"
             "admin: { listen: 127.0.0.1:2, http: 127.0.0.1:3, user: admin, "
             "password: unit-admin }\n"
             "backend: { user: u, password: p }\n"
             "shards:\n"
             "  - { name: s0, primary: 127.0.0.1:%d }\n"
             "  - { name: s1, primary: 127.0.0.1:%d }\n"
             "sharding_rules:\n"
             "  by_id: { type: hash, shards: [s0, s1], slots: 64 }\n"
             "schemas:\n"
             "  - name: shop\n"
             "    default_shard: s0\n"
             "    tables:\n"
             "      - { name: orders, key: user_id, rule: by_id }\n"
             "users:\n"
             "  - { name: app, password: pw, schemas: [shop] }\n",
             fk[0].port, fk[1].port);
    diag_init(&d);
    cfg = cfg_load_string("unit.yaml", conf, &d);
    if (cfg == NULL)
        diag_print(&d, stderr);
    diag_free(&d);
    ck_assert_ptr_nonnull(cfg);
    servers = server_set_build(cfg, err, sizeof(err));
    ck_assert_ptr_nonnull(servers);
    ck_assert(worker_init(&w, 0));
    memset(&wc, 0, sizeof(wc));
    wc.w = &w;
    wc.servers = servers;
    wc.started_ms = clock_ms();
    wc.stmt = xmalloc(sizeof(*wc.stmt));
    wc.plan = xmalloc(sizeof(*wc.plan));
    route_plan_init(wc.plan);
    wc.nustats = cfg->nusers;
    wc.ustats = xcalloc((size_t)cfg->nusers, sizeof(*wc.ustats));
    wc.pools = xcalloc((size_t)servers->n, sizeof(*wc.pools));
    for (int k = 0; k < servers->n; k++)
        wc.pools[k] = pool_new(&w, &servers->v[k], cfg);
    wc.npools = servers->n;
    reload_use_cfg(&wc, cfg);
    w.ctx = &wc;
    new_session();
}

static void
teardown(void)
{
    /* Each test runs in its own process (Check's fork mode): the sockets
     * and the worker go with it. */
}

/* ---- one target: the relay ------------------------------------------ */

START_TEST(test_relay_read)
{
    const char *rows[] = {"1"};
    struct answer a;

    client_query("SELECT 1");
    fk_accept(0);
    /* prelude: the pooled connection takes the session's schema */
    fk_expect(0, COM_INIT_DB, "shop");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_QUERY, "SELECT 1");
    fk_rows(0, "1", rows, 1, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, 1);
    ck_assert_str_eq(a.rows, "1");
    /* release: back to the pool, nothing held */
    ck_assert_ptr_null(s->sc);
    ck_assert_int_eq(wc.pools[0]->nidle, 1);
    ck_assert_int_eq(s->stmt_route, SR_primary); /* as counted */
    ck_assert_int_eq(atomic_load(&servers->v[0].queries), 1);

    /* the next statement takes the same connection: no connect, no
     * prelude; the server's error is relayed as it is */
    client_query("SELECT * FROM missing");
    fk_expect(0, COM_QUERY, "missing");
    fk_err(0, 1146, "Table 'shop.missing' doesn't exist");
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_ERR);
    ck_assert_int_eq(a.code, 1146);
    ck_assert_str_eq(a.msg, "Table 'shop.missing' doesn't exist");
    /* the error stays on its connection for SHOW WARNINGS/ERRORS: kept
     * until a statement naming a table (session/diagnostics.h) */
    ck_assert_ptr_nonnull(s->sc);
    ck_assert_uint_eq(s->pins, PIN_WARNINGS);
    ck_assert_int_eq(wc.pools[0]->nidle, 0);
    ck_assert_int_eq(atomic_load(&servers->v[0].conns), 1);
}
END_TEST

START_TEST(test_prelude_refused)
{
    struct answer a;

    client_query("SELECT 1");
    fk_accept(0);
    fk_expect(0, COM_INIT_DB, "shop");
    fk_err(0, ER_BAD_DB_ERROR, "Unknown database 'shop'");
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_ERR);
    ck_assert_int_eq(a.code, ER_BAD_DB_ERROR);
    ck_assert_msg(strstr(a.msg, "refused the session's schema") != NULL, "%s",
                  a.msg);
    /* the connection's state is unknown: dropped, not pooled */
    for (int i = 0; i < 50 && atomic_load(&servers->v[0].conns) != 0; i++)
        turn();
    ck_assert_int_eq(atomic_load(&servers->v[0].conns), 0);
    ck_assert_int_eq(wc.pools[0]->nidle, 0);
}
END_TEST

START_TEST(test_lost_before_answer)
{
    struct answer a;

    client_query("SELECT 1");
    fk_accept(0);
    fk_expect(0, COM_INIT_DB, "shop");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_QUERY, "SELECT 1");
    close(fk[0].fd); /* the server dies before answering */
    wait_idle();
    /* the read is retried once on another server of the shard: there is
     * none, so the client gets 9001 and its session lives on */
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_ERR);
    ck_assert_int_eq(a.code, ER_MYSHARD_NO_BACKEND);
    ck_assert_int_eq(atomic_load(&s->wc->stats.read_retries_total), 1);
    ck_assert_int_eq(atomic_load(&servers->v[0].conns), 0);
    ck_assert_int_eq(s->state, SESS_IDLE);
}
END_TEST

/* ---- held connections ------------------------------------------------ */

START_TEST(test_pin_holds_connection)
{
    const char *rows[] = {"7"};
    struct answer a;

    client_query("SET @v = 7");
    fk_accept(0);
    fk_expect(0, COM_INIT_DB, "shop");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_QUERY, "SET @v = 7");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_OK);
    /* a user variable lives on that connection: the session keeps it */
    ck_assert_ptr_nonnull(s->sc);
    ck_assert(s->pins & PIN_USER_VARS);
    ck_assert_int_eq(wc.pools[0]->nidle, 0);

    client_query("SELECT @v");
    fk_expect(0, COM_QUERY, "SELECT @v");
    fk_rows(0, "@v", rows, 1, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_str_eq(a.rows, "7");
    ck_assert_ptr_nonnull(s->sc);
}
END_TEST

START_TEST(test_transaction_holds_then_releases)
{
    struct answer a;

    /* BEGIN touches no shard: answered here, sent before the first
     * statement that needs one (prelude) */
    client_query("BEGIN");
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_OK);
    client_query("UPDATE orders SET note = 'x' WHERE user_id = 1");
    {
        int k;
        struct pollfd p[2] = {{.fd = fk[0].lfd, .events = POLLIN},
                              {.fd = fk[1].lfd, .events = POLLIN}};
        int64_t until = clock_ms() + 5000;
        while (poll(p, 2, 2) == 0 && clock_ms() < until)
            turn();
        k = (p[0].revents & POLLIN) ? 0 : 1;
        fk_accept(k);
        fk_expect(k, COM_INIT_DB, "shop");
        fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
        fk_expect(k, COM_QUERY, "BEGIN");
        fk_ok(k, 0, SERVER_STATUS_IN_TRANS);
        fk_expect(k, COM_QUERY, "UPDATE orders");
        fk_ok(k, 1, SERVER_STATUS_IN_TRANS);
        wait_idle();
        client_answer(&a);
        ck_assert_int_eq(a.kind, PKT_HDR_OK);
        ck_assert_uint_eq(a.affected, 1);
        ck_assert(s->pins & PIN_TRANSACTION);
        ck_assert_ptr_nonnull(s->sc);

        /* COMMIT has no table: the held connection answers it */
        client_query("COMMIT");
        fk_expect(k, COM_QUERY, "COMMIT");
        fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
        wait_idle();
        client_answer(&a);
        ck_assert_int_eq(a.kind, PKT_HDR_OK);
        ck_assert(!(s->pins & PIN_TRANSACTION));
        ck_assert_ptr_null(s->sc);
        ck_assert_int_eq(wc.pools[k]->nidle, 1);
    }
}
END_TEST

/* ---- several targets: merge and combine ----------------------------- */

START_TEST(test_scatter_merge)
{
    const char *r0[] = {"1", "4"};
    const char *r1[] = {"2", "3"};
    struct answer a;

    client_query("SELECT user_id FROM orders ORDER BY user_id");
    for (int k = 0; k < 2; k++)
        fk_accept(k);
    for (int k = 0; k < 2; k++) {
        fk_expect(k, COM_INIT_DB, "shop");
        fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
    }
    for (int k = 0; k < 2; k++)
        fk_expect(k, COM_QUERY, "FROM orders");
    fk_rows(1, "user_id", r1, 2, SERVER_STATUS_AUTOCOMMIT);
    fk_rows(0, "user_id", r0, 2, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, 1);
    ck_assert_str_eq(a.rows, "1,2,3,4");
    ck_assert_int_eq(wc.pools[0]->nidle, 1);
    ck_assert_int_eq(wc.pools[1]->nidle, 1);
    ck_assert_uint_eq(evbuffer_get_length(s->conn->out), 0);
}
END_TEST

START_TEST(test_scatter_combine)
{
    struct answer a;

    client_query("UPDATE orders SET note = 'x'");
    for (int k = 0; k < 2; k++)
        fk_accept(k);
    for (int k = 0; k < 2; k++) {
        fk_expect(k, COM_INIT_DB, "shop");
        fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
    }
    for (int k = 0; k < 2; k++)
        fk_expect(k, COM_QUERY, "UPDATE orders");
    fk_ok(0, 2, SERVER_STATUS_AUTOCOMMIT);
    fk_ok(1, 3, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_OK);
    ck_assert_uint_eq(a.affected, 5);
}
END_TEST

START_TEST(test_scatter_one_fails)
{
    struct answer a;

    client_query("UPDATE orders SET note = 'x'");
    for (int k = 0; k < 2; k++)
        fk_accept(k);
    for (int k = 0; k < 2; k++) {
        fk_expect(k, COM_INIT_DB, "shop");
        fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
    }
    for (int k = 0; k < 2; k++)
        fk_expect(k, COM_QUERY, "UPDATE orders");
    fk_ok(0, 2, SERVER_STATUS_AUTOCOMMIT);
    fk_err(1, 1146, "Table 'shop.orders' doesn't exist");
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_ERR);
    ck_assert_int_eq(a.code, 1146);
    /* both answered whole: both connections are clean */
    ck_assert_int_eq(wc.pools[0]->nidle, 1);
    ck_assert_int_eq(wc.pools[1]->nidle, 1);
}
END_TEST

/* ---- prepared statements: ES_PREPARE on a connection that lacks it --- */

START_TEST(test_prepared_execute)
{
    const char *sql = "DELETE FROM orders WHERE user_id = ?";
    uint8_t p[256], buf[512];
    size_t n = strlen(sql), len;
    uint32_t id;
    struct answer a;
    int k;

    p[0] = COM_STMT_PREPARE;
    memcpy(p + 1, sql, n);
    client_command(p, n + 1);
    k = fk_accept_any();
    fk_expect(k, COM_INIT_DB, "shop");
    fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(k, COM_STMT_PREPARE, "DELETE FROM orders");
    fk_prepare_ok(k, 77);
    wait_idle();
    {
        uint8_t *q = client_packet(&len);
        ck_assert_uint_eq(q[0], 0x00);
        id = (uint32_t)q[1] | (uint32_t)q[2] << 8 | (uint32_t)q[3] << 16 |
             (uint32_t)q[4] << 24;
        ck_assert_uint_ne(id, 77); /* the client sees myshard's own id */
        free(q);
        free(client_packet(&len)); /* the parameter */
        free(client_packet(&len)); /* EOF */
    }
    ck_assert_int_eq(wc.pools[k]->nidle, 1);

    /* EXECUTE with user_id 5, 6, ...: whichever shard the value routes
     * to; a connection that lacks the statement prepares it first */
    for (int v = 5; v < 9; v++) {
        uint8_t e[] = {COM_STMT_EXECUTE,
                       (uint8_t)id,
                       (uint8_t)(id >> 8),
                       (uint8_t)(id >> 16),
                       (uint8_t)(id >> 24),
                       0,
                       1,
                       0,
                       0,
                       0, /* flags, iter */
                       0x00,
                       1,
                       MYSQL_TYPE_LONGLONG,
                       0, /* bitmap, types */
                       (uint8_t)v,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0};
        uint8_t seq;
        int j;
        client_command(e, sizeof(e));
        turn();
        /* a new connection to the other shard, or the pooled one */
        j = wc.pools[k]->nidle == 0 ? k : -1;
        if (j < 0) {
            j = 1 - k;
            if (fk[j].fd < 0) {
                fk_accept(j);
                fk_expect(j, COM_INIT_DB, "shop");
                fk_ok(j, 0, SERVER_STATUS_AUTOCOMMIT);
            }
        }
        len = fk_read(j, buf, sizeof(buf), &seq);
        if (buf[0] == COM_STMT_PREPARE) {
            ck_assert_uint_ne(j, k);
            fk_prepare_ok(j, 88);
            len = fk_read(j, buf, sizeof(buf), &seq);
        }
        ck_assert_uint_eq(buf[0], COM_STMT_EXECUTE);
        id = (uint32_t)buf[1] | (uint32_t)buf[2] << 8;
        ck_assert_uint_eq(id, j == k ? 77 : 88); /* the server's own id */
        fk_ok(j, 1, SERVER_STATUS_AUTOCOMMIT);
        wait_idle();
        client_answer(&a);
        ck_assert_int_eq(a.kind, PKT_HDR_OK);
        ck_assert_uint_eq(a.affected, 1);
        id = (uint32_t)e[1] | (uint32_t)e[2] << 8 | (uint32_t)e[3] << 16 |
             (uint32_t)e[4] << 24;
        (void)len;
    }
}
END_TEST

/* The session's held connection lacks the statement: it is prepared
 * there first, and the session reads no further command meanwhile. */
START_TEST(test_prepared_on_held_connection)
{
    const char *rows[] = {"2"};
    uint8_t p[64], buf[512], seq;
    struct session *s1, *s2;
    struct answer a;
    size_t len;
    uint32_t id;
    int c0a;

    /* s1 prepares SELECT ? on connection a of shard s0 */
    p[0] = COM_STMT_PREPARE;
    memcpy(p + 1, "SELECT ?", 8);
    client_command(p, 9);
    fk_accept(0);
    c0a = fk[0].fd;
    fk_expect(0, COM_INIT_DB, "shop");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_STMT_PREPARE, "SELECT ?");
    fk_prepare_ok(0, 77);
    wait_idle();
    {
        uint8_t *q = client_packet(&len);
        id = (uint32_t)q[1] | (uint32_t)q[2] << 8 | (uint32_t)q[3] << 16 |
             (uint32_t)q[4] << 24;
        free(q);
        free(client_packet(&len));
        free(client_packet(&len));
    }
    s1 = s;
    /* s2 pins connection a (a user variable) */
    new_session();
    s2 = s;
    client_query("SET @w = 1");
    fk_expect(0, COM_QUERY, "SET @w = 1");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_ptr_nonnull(s2->sc); /* connection a, pinned */
    /* s1 pins a new connection b of s0, which never saw the statement */
    s = s1;
    client_query("SET @v = 1");
    fk_accept(0);
    fk_expect(0, COM_INIT_DB, "shop");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_QUERY, "SET @v = 1");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_ptr_nonnull(s1->sc);
    /* EXECUTE, and a query pipelined behind it */
    {
        uint8_t e[] = {COM_STMT_EXECUTE,
                       (uint8_t)id,
                       (uint8_t)(id >> 8),
                       (uint8_t)(id >> 16),
                       (uint8_t)(id >> 24),
                       0,
                       1,
                       0,
                       0,
                       0,
                       0x00,
                       1,
                       MYSQL_TYPE_LONGLONG,
                       0,
                       1,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0};
        uint8_t q[9] = {COM_QUERY, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '2'};
        put_packet(s->conn->in, 0, e, sizeof(e));
        put_packet(s->conn->in, 0, q, sizeof(q));
        session_process_input(s);
    }
    fk_read(0, buf, sizeof(buf), &seq);
    ck_assert_uint_eq(buf[0], COM_STMT_PREPARE);
    ck_assert_int_ne(s->state, SESS_IDLE); /* SELECT 2 waits its turn */
    fk_prepare_ok(0, 88);
    len = fk_read(0, buf, sizeof(buf), &seq);
    ck_assert_uint_eq(buf[0], COM_STMT_EXECUTE);
    ck_assert_uint_eq(buf[1], 88);
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_QUERY, "SELECT 2");
    fk_rows(0, "2", rows, 1, SERVER_STATUS_AUTOCOMMIT);
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_OK);
    client_answer(&a);
    ck_assert_int_eq(a.kind, 1);
    ck_assert_str_eq(a.rows, "2");
    (void)c0a;
}
END_TEST

/* ---- the client goes away mid-statement ----------------------------- */

/* A cursor over one shard: the backend runs the statement without a
 * cursor; the client gets the header with CURSOR_EXISTS and no rows, and
 * the session goes on while the shard's rows wait; each FETCH takes rows
 * as they come; the end comes with LAST_ROW_SENT and the connection goes
 * back to the pool; a further FETCH gets 1421. */
/* The first byte of a text row's one value (after its length). */
static uint8_t
row_first(const uint8_t *q)
{
    return q[0] == 0xfc ? q[3] : q[1];
}

START_TEST(test_cursor_fetch)
{
    const char *sql = "SELECT name FROM orders WHERE user_id = ?";
    /* rows of 30,000 bytes: past the 64 KiB under which a cursor reads a
     * result whole before it answers, so the session goes on without
     * the end */
    static char big[3][30001];
    const char *rows[] = {big[0], big[1], big[2], "d"};
    const char *names[1] = {"name"};
    uint8_t p[256], buf[512], *q;
    size_t n = strlen(sql), len;
    uint32_t id;
    struct evbuffer *b = evbuffer_new();
    struct rs_writer rw;
    struct answer a;
    int k, j;

    for (int i = 0; i < 3; i++) {
        memset(big[i], 'a' + i, sizeof(big[i]) - 1);
        big[i][sizeof(big[i]) - 1] = '\0';
    }
    p[0] = COM_STMT_PREPARE;
    memcpy(p + 1, sql, n);
    client_command(p, n + 1);
    k = fk_accept_any();
    fk_expect(k, COM_INIT_DB, "shop");
    fk_ok(k, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(k, COM_STMT_PREPARE, "SELECT name");
    fk_prepare_ok(k, 77);
    wait_idle();
    q = client_packet(&len);
    id = (uint32_t)q[1] | (uint32_t)q[2] << 8;
    free(q);
    free(client_packet(&len)); /* the parameter */
    free(client_packet(&len)); /* EOF */

    /* EXECUTE with CURSOR_TYPE_READ_ONLY, user_id 5 */
    {
        uint8_t e[] = {COM_STMT_EXECUTE,
                       (uint8_t)id,
                       (uint8_t)(id >> 8),
                       0,
                       0,
                       0x01, /* CURSOR_TYPE_READ_ONLY */
                       1,
                       0,
                       0,
                       0,
                       0x00,
                       1,
                       MYSQL_TYPE_LONGLONG,
                       0,
                       5,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0};
        client_command(e, sizeof(e));
    }
    turn();
    j = wc.pools[k]->nidle == 0 ? k : 1 - k;
    if (j != k) {
        fk_accept(j);
        fk_expect(j, COM_INIT_DB, "shop");
        fk_ok(j, 0, SERVER_STATUS_AUTOCOMMIT);
    }
    fk_read(j, buf, sizeof(buf), NULL);
    if (buf[0] == COM_STMT_PREPARE) {
        fk_prepare_ok(j, 88);
        fk_read(j, buf, sizeof(buf), NULL);
    }
    ck_assert_uint_eq(buf[0], COM_STMT_EXECUTE);
    ck_assert_uint_eq(buf[5], 0x00); /* the server opens no cursor */
    /* the header and three rows; the end comes later */
    rs_begin(&rw, b, 1, false, SERVER_STATUS_AUTOCOMMIT);
    rs_columns_text(&rw, names, 1);
    for (int i = 0; i < 3; i++)
        rs_row(&rw, &rows[i], NULL);
    fk_write(j, b);
    wait_idle(); /* the session went on: the rows wait */
    q = client_packet(&len);
    ck_assert_uint_eq(q[0], 1); /* one column */
    free(q);
    free(client_packet(&len)); /* its definition */
    q = client_packet(&len);
    ck_assert_uint_eq(q[0], PKT_HDR_EOF);
    ck_assert_uint_ne(q[3] & SERVER_STATUS_CURSOR_EXISTS, 0);
    free(q);
    ck_assert_uint_eq(evbuffer_get_length(s->conn->out), 0); /* no rows */
    ck_assert_int_eq(wc.pools[j]->nidle, 0); /* the cursor's connection */

    /* FETCH 2: two rows, CURSOR_EXISTS */
    p[0] = COM_STMT_FETCH;
    memcpy(p + 1, &id, 4);
    p[5] = 2, p[6] = p[7] = p[8] = 0;
    client_command(p, 9);
    wait_idle();
    for (int i = 0; i < 2; i++) {
        q = client_packet(&len);
        ck_assert_uint_eq(row_first(q), (uint8_t)rows[i][0]);
        free(q);
    }
    q = client_packet(&len);
    ck_assert_uint_eq(q[0], PKT_HDR_EOF);
    ck_assert_uint_eq(
        q[3] & (SERVER_STATUS_CURSOR_EXISTS | SERVER_STATUS_LAST_ROW_SENT),
        SERVER_STATUS_CURSOR_EXISTS);
    free(q);

    /* FETCH 10 while the shard has sent nothing more: it waits for the
     * rest, then gets rows c and d and LAST_ROW_SENT */
    p[5] = 10;
    client_command(p, 9);
    turn();
    ck_assert_int_ne(s->state, SESS_IDLE);
    rs_row(&rw, &rows[3], NULL);
    rs_end(&rw);
    fk_write(j, b);
    wait_idle();
    for (int i = 2; i < 4; i++) {
        q = client_packet(&len);
        ck_assert_uint_eq(row_first(q), (uint8_t)rows[i][0]);
        free(q);
    }
    q = client_packet(&len);
    ck_assert_uint_eq(q[0], PKT_HDR_EOF);
    ck_assert_uint_ne(q[3] & SERVER_STATUS_LAST_ROW_SENT, 0);
    free(q);
    ck_assert_int_eq(wc.pools[j]->nidle, 1); /* back in the pool */

    /* the cursor closed with its last row */
    client_command(p, 9);
    wait_idle();
    client_answer(&a);
    ck_assert_int_eq(a.kind, PKT_HDR_ERR);
    ck_assert_uint_eq(a.code, ER_STMT_HAS_NO_OPEN_CURSOR);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_client_gone)
{
    client_query("SELECT 1");
    fk_accept(0);
    fk_expect(0, COM_INIT_DB, "shop");
    fk_ok(0, 0, SERVER_STATUS_AUTOCOMMIT);
    fk_expect(0, COM_QUERY, "SELECT 1");
    session_close(s, "test: client gone");
    /* its answer will never be read: the connection is dropped */
    for (int i = 0; i < 50 && atomic_load(&servers->v[0].conns) != 0; i++)
        turn();
    ck_assert_int_eq(atomic_load(&servers->v[0].conns), 0);
    ck_assert_int_eq(wc.pools[0]->nidle, 0);
}
END_TEST

static Suite *
engine_suite(void)
{
    Suite *su = suite_create("engine");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_relay_read);
    tcase_add_test(tc, test_prelude_refused);
    tcase_add_test(tc, test_lost_before_answer);
    tcase_add_test(tc, test_pin_holds_connection);
    tcase_add_test(tc, test_transaction_holds_then_releases);
    tcase_add_test(tc, test_scatter_merge);
    tcase_add_test(tc, test_scatter_combine);
    tcase_add_test(tc, test_scatter_one_fails);
    tcase_add_test(tc, test_prepared_execute);
    tcase_add_test(tc, test_prepared_on_held_connection);
    tcase_add_test(tc, test_cursor_fetch);
    tcase_add_test(tc, test_client_gone);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
