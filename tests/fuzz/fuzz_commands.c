/*
 * fuzz_commands.c - sequences of client packets through the real session
 * code, without sockets and without a live backend.
 *
 * Once per process: a config (two shards, a user, a cache policy), its
 * server set with every server taken OFFLINE by the operator override (so
 * a statement that needs a server fails at once with 9001, the answer a
 * client gets when every backend is out of service), and one worker whose
 * event loop is run by hand. Per input: a session is accepted on a
 * connection with no socket (conn fd -1: nothing is read or written, the
 * harness puts bytes into its input buffer and empties its output), then
 * the input is fed to session_process_input() piece by piece.
 *
 * First byte of the input, the mode:
 *  - bit 0 clear: the harness logs in first (a valid HandshakeResponse41
 *    with the right token for the session's scramble), then the rest is
 *    a list of records [u16 little-endian length][payload], each framed as
 *    a command packet (sequence id 0);
 *  - bit 0 set: the rest goes in raw from the first byte the client sends:
 *    login packets, framing, sequence ids, continuations all fuzzed.
 *  - bit 1 set: before the records, three statements are registered as
 *    if a server had answered their PREPARE (what the relay does on a
 *    PREPARE_OK: pstmt_register), with 1, 2 and 3 parameters, so that
 *    COM_STMT_EXECUTE, SEND_LONG_DATA, RESET and CLOSE reach their parsers
 *    and the long-data cap.
 *  - bit 2 set: the output is not emptied between records, so the output
 *    high-water mark holds commands back (the flow a client that never
 *    reads gets).
 *
 * Reached: packet framing and the login-size cap, the login state machine
 * (handshake response, auth switch), the command table, every command the
 * proxy answers itself (PING, INIT_DB, SET_OPTION, STATISTICS, RESET
 * CONNECTION, CHANGE_USER, FIELD_LIST's refusal, STMT_FETCH, unknown
 * commands), COM_QUERY's lexing, classification, policies, routing, the
 * cache lookup and the statements answered locally (SHOW DATABASES, USE,
 * SET, EXPLAIN ROUTE...), prepared statements (the max_prepared_statements
 * cap, prepared USE, EXECUTE's parameter decoding and routing by
 * parameter, long data and its cap), and the error path of every statement
 * that would go to a server. Not reached: anything after a server answers
 * (relay, merge, transactions across shards), which needs a live backend
 * (tests/integration).
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/health.h"
#include "backend/pool.h"
#include "backend/server.h"
#include "base/clock.h"
#include "base/diag.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "net/worker.h"
#include "proto/auth.h"
#include "proto/mysql_defs.h"
#include "route/router.h"
#include "session/prepare.h"
#include "session/qcache.h"
#include "session/reload.h"
#include "session/session.h"
#include "session/session_types.h"
#include "sql/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config[] =
    "listen: 127.0.0.1:1\n"
    "workers: 1\n"
    "max_allowed_packet: 64KB\n"
    "max_prepared_statements: 4\n"
    "admin: { listen: 127.0.0.1:2, http: 127.0.0.1:3, user: admin, "
    "password: fuzz-admin }\n"
    "backend: { user: u, password: p }\n"
    "shards:\n"
    "  - { name: s0, primary: 127.0.0.1:4 }\n"
    "  - { name: s1, primary: 127.0.0.1:5 }\n"
    "sharding_rules:\n"
    "  by_id: { type: hash, shards: [s0, s1], slots: 64 }\n"
    "schemas:\n"
    "  - name: shop\n"
    "    default_shard: s0\n"
    "    tables:\n"
    "      - { name: orders, key: user_id, rule: by_id }\n"
    "  - name: other\n"
    "    default_shard: s1\n"
    "users:\n"
    "  - { name: app, password: pw, schemas: [shop, other] }\n"
    "  - { name: ro, password: ro, schemas: [shop], read_only: true }\n"
    "policies:\n"
    "  - { match: \"SELECT v FROM hot\", cache: { ttl: 1s } }\n"
    "  - { match: \"DELETE FROM audit\", deny: \"no\" }\n";

static struct worker w;
static struct wctx wc;
static struct cfg *cfg;
static struct server_set *servers;

static void
setup(void)
{
    struct diag d;
    char err[256];

    log_current_level = LOG_ERROR;
    diag_init(&d);
    cfg = cfg_load_string("fuzz.yaml", config, &d);
    if (cfg == NULL) {
        diag_print(&d, stderr);
        abort();
    }
    diag_free(&d);
    servers = server_set_build(cfg, err, sizeof(err));
    if (servers == NULL || !worker_init(&w, 0))
        abort();
    for (int k = 0; k < servers->n; k++)
        (void)health_set_admin(&servers->v[k], SRV_OFFLINE);
    wc.w = &w;
    wc.servers = servers;
    wc.started_ms = clock_ms();
    wc.stmt = xmalloc(sizeof(*wc.stmt));
    wc.plan = xmalloc(sizeof(*wc.plan));
    route_plan_init(wc.plan);
    wc.nustats = cfg->nusers;
    wc.ustats = xcalloc((size_t)cfg->nusers, sizeof(*wc.ustats));
    wc.q_users = cfg->nusers;
    wc.q_shards = cfg->nshards;
    wc.qmatrix = xcalloc((size_t)cfg->nusers * (size_t)(cfg->nshards + 1) *
                             SR_COUNT * SK_COUNT,
                         sizeof(*wc.qmatrix));
    wc.qcache = qcache_new(1 << 20, &wc.stats);
    wc.pools = xcalloc((size_t)servers->n, sizeof(*wc.pools));
    for (int k = 0; k < servers->n; k++)
        wc.pools[k] = pool_new(&w, &servers->v[k], cfg);
    reload_use_cfg(&wc, cfg);
    w.ctx = &wc;
}

/* Runs what the session scheduled (deferred frees, delayed statements).
 * False when the session is gone from the worker's list (closed). */
static bool
turn(const struct session *s)
{
    event_base_loop(w.base, EVLOOP_NONBLOCK);
    conn_flush_all(&w);
    return wc.sessions == s && s->state != SESS_CLOSING;
}

enum fed {
    FED_ALIVE,   /* ready for more */
    FED_CLOSING, /* closed by what it was fed, not freed yet */
    FED_GONE,    /* closed during a loop turn: may be freed, hands off */
};

/* Feeds what is buffered, then runs a loop turn. */
static enum fed
feed(struct session *s, bool keep_output)
{
    session_process_input(s);
    if (s->state == SESS_CLOSING)
        return FED_CLOSING;
    if (!keep_output)
        evbuffer_drain(s->conn->out, evbuffer_get_length(s->conn->out));
    return turn(s) ? FED_ALIVE : FED_GONE;
}

static void
put_packet(struct evbuffer *in, uint8_t seq, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};

    evbuffer_add(in, h, 4);
    evbuffer_add(in, p, n);
}

/* A HandshakeResponse41 for app/pw into schema shop. */
static void
login(struct session *s)
{
    uint8_t b[256], tok[20];
    size_t n = 0, tlen = 0;
    uint32_t caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |
                    CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_WITH_DB |
                    CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS;

    auth_native_token("pw", s->scramble, tok, &tlen);
    memcpy(b, &caps, 4); /* little-endian hosts only, like the fuzzers */
    n = 4;
    memset(b + n, 0, 4 + 1 + 23);
    b[n + 2] = 0x01; /* max packet 64 KB */
    b[n + 4] = 45;   /* utf8mb4 */
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

/* What the relay does when a server answers a PREPARE with PREPARE_OK. */
static void
register_statement(struct session *s, const char *sql, uint16_t nparams)
{
    s->prep_len = strlen(sql);
    s->prep_sql = xstrndup(sql, s->prep_len);
    s->prep_backend_id = 1000 + s->pstmt_seq;
    ++s->pstmt_seq;
    pstmt_register(s, NULL, nparams, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct session *s;
    uint8_t mode;
    enum fed st = FED_ALIVE;

    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    session_accept(&w, -1, (struct sockaddr *)&sa, sizeof(sa));
    s = wc.sessions;
    if (s == NULL)
        return 0;
    evbuffer_drain(s->conn->out, evbuffer_get_length(s->conn->out));

    if (mode & 1) {
        /* Raw bytes, in pieces as reads would hand them over. */
        for (size_t off = 0; off < size;) {
            size_t n = MIN(size - off, (size_t)(data[off] % 64) + 1);
            evbuffer_add(s->conn->in, data + off, n);
            off += n;
            if ((st = feed(s, false)) != FED_ALIVE)
                break;
        }
    } else {
        login(s);
        if (s->state == SESS_IDLE && (mode & 2)) {
            register_statement(s, "SELECT id FROM orders WHERE user_id = ?", 1);
            register_statement(s, "SELECT ?, ?", 2);
            register_statement(s,
                               "INSERT INTO orders (user_id, a, b) VALUES "
                               "(?, ?, ?)",
                               3);
        }
        for (size_t off = 0; off + 2 <= size && s->state == SESS_IDLE;) {
            size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
            off += 2;
            n = MIN(n, size - off);
            put_packet(s->conn->in, 0, data + off, n);
            off += n;
            if ((st = feed(s, (mode & 4) != 0)) != FED_ALIVE)
                break;
        }
    }
    if (st == FED_ALIVE && s->state != SESS_CLOSING) {
        evbuffer_drain(s->conn->out, evbuffer_get_length(s->conn->out));
        session_close(s, "fuzz input ended");
    } else if (st != FED_GONE && s->state == SESS_CLOSING && s->conn &&
               evbuffer_get_length(s->conn->out) > 0) {
        /* Closing with a last packet queued: as if the client read it. */
        evbuffer_drain(s->conn->out, evbuffer_get_length(s->conn->out));
        s->conn->on_drain(s->conn, s->conn->arg);
    }
    event_base_loop(w.base, EVLOOP_NONBLOCK);
    event_base_loop(w.base, EVLOOP_NONBLOCK);
    return 0;
}
