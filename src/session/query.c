/*
 * query.c - the data path of one statement.
 *
 *  client socket
 *    | client_read_cb()                 session/session.c
 *    v
 *  session_process_input(s)             session/session.c
 *    | packet_read(in, &pkt)            proto/packet.c    AGAIN -> wait, bad ->
 * close
 *    v
 *  command_dispatch(s)                  session/command.c table by first byte
 *    | COM_QUERY
 *    v
 *  query_start(s, sql)                  session/query.c
 *    | scan_statement()                 what the proxy answers itself, pins
 *    v
 *  query_forward(s, shard, kind)        session/query.c
 *    | pool_acquire(pool, ...)          backend/pool.c    (the pinned one if
 * held) | send_prelude()                   schema / charset differences, one
 * round trip each | packet_move(client in -> backend out)   the command,
 * unchanged (zero copy)
 *    v
 *  on_backend_read()                    session/query.c
 *    | relay_pump(in, client out)       session/relay.c   chain moves; pauses
 * above |                                                    the client
 * high-water mark
 *    v
 *  finish()                             keep (transaction, pins) or
 * pool_release() | session_command_done(s)          session/session.c next
 * command
 */
#include "session/query.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/clock.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "session/session.h"
#include "sql/rewrite.h"

#define CLIENT_HIGH_WATER (1024 * 1024)

static void on_backend_read(struct serverconn *sc, void *arg);
static void on_backend_error(struct serverconn *sc, void *arg, const char *why);
static void send_command(struct session *s);

/* ---- what the proxy needs to know about a statement ------------------- */

enum stmt_kind {
    STMT_OTHER = 0,
    STMT_USE,
    STMT_SHOW_DATABASES,
    STMT_SELECT_DATABASE,
    STMT_INSERT,
};

struct stmt_scan {
    enum stmt_kind kind;
    const char *arg; /* USE target / SHOW DATABASES LIKE pattern */
    size_t arg_len;
    unsigned pins; /* enum pin_reason bits the statement sets */
    bool multi;    /* more than one statement */
};

static bool
is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '$' ||
           (unsigned char)c >= 0x80;
}

/* Skips blanks and comments, but not executable comments (slash-star-bang),
 * whose text the server runs. */
static const char *
skip_space(const char *p, const char *end)
{
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
                           *p == '\r' || *p == '\f'))
            p++;
        if (end - p >= 2 && p[0] == '/' && p[1] == '*' &&
            !(end - p >= 3 && p[2] == '!')) {
            const char *q = p + 2;
            while (end - q >= 2 && !(q[0] == '*' && q[1] == '/'))
                q++;
            p = end - q >= 2 ? q + 2 : end;
            continue;
        }
        if ((p < end && *p == '#') ||
            (end - p >= 3 && p[0] == '-' && p[1] == '-' &&
             (p[2] == ' ' || p[2] == '\t' || p[2] == '\n'))) {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        return p;
    }
}

static bool
word_is(const char *p, const char *end, const char *kw, const char **after)
{
    size_t n = strlen(kw);

    if ((size_t)(end - p) < n || strncasecmp(p, kw, n) != 0)
        return false;
    if (p + n < end && is_ident_char(p[n]))
        return false;
    if (after)
        *after = p + n;
    return true;
}

/* Case-insensitive search for a word outside quotes and comments. */
static void
scan_body(const char *p, const char *end, struct stmt_scan *st)
{
    while (p < end) {
        char c = *p;
        if (c == '\'' || c == '"' || c == '`') {
            p++;
            while (p < end && *p != c) {
                if (*p == '\\' && c != '`')
                    p++;
                p++;
            }
            p++;
            continue;
        }
        if (c == '@') {
            if (p + 1 < end && p[1] != '@')
                st->pins |= PIN_USER_VARS;
            else
                p++;
            p++;
            continue;
        }
        if (c == ';') {
            const char *q = skip_space(p + 1, end);
            if (q < end)
                st->multi = true;
            p = q;
            if (q < end) {
                /* A later statement may set state too. */
                if (word_is(q, end, "SET", NULL))
                    st->pins |= PIN_SESSION_VARS;
                else if (word_is(q, end, "PREPARE", NULL))
                    st->pins |= PIN_SQL_PREPARE;
                else if (word_is(q, end, "LOCK", NULL))
                    st->pins |= PIN_LOCKS;
                else if (word_is(q, end, "USE", NULL))
                    st->pins |= PIN_SESSION_VARS;
            }
            continue;
        }
        if ((c == '/' || c == '#' || c == '-') && skip_space(p, end) != p) {
            p = skip_space(p, end);
            continue;
        }
        if (is_ident_char(c)) {
            const char *s = p;
            while (p < end && is_ident_char(*p))
                p++;
            switch (p - s) {
            case 8:
                if (strncasecmp(s, "GET_LOCK", 8) == 0)
                    st->pins |= PIN_LOCKS;
                break;
            case 9:
                if (strncasecmp(s, "TEMPORARY", 9) == 0)
                    st->pins |= PIN_TEMP_TABLE;
                else if (strncasecmp(s, "FOUND_ROWS", 9) == 0)
                    st->pins |= PIN_FOUND_ROWS;
                break;
            case 10:
                if (strncasecmp(s, "FOUND_ROWS", 10) == 0)
                    st->pins |= PIN_FOUND_ROWS;
                break;
            case 14:
                if (strncasecmp(s, "LAST_INSERT_ID", 14) == 0)
                    st->pins |= PIN_LAST_INSERT;
                break;
            case 19:
                if (strncasecmp(s, "SQL_CALC_FOUND_ROWS", 19) == 0)
                    st->pins |= PIN_FOUND_ROWS;
                break;
            default:
                break;
            }
            continue;
        }
        p++;
    }
}

static void
scan_statement(const char *sql, size_t len, struct stmt_scan *st)
{
    const char *end = sql + len, *p = skip_space(sql, end), *q;

    memset(st, 0, sizeof(*st));
    if (word_is(p, end, "USE", &q)) {
        const char *e;
        q = skip_space(q, end);
        e = end;
        while (e > q && (e[-1] == ';' || e[-1] == ' ' || e[-1] == '\n' ||
                         e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (e - q >= 2 && *q == '`' && e[-1] == '`') {
            q++;
            e--;
        }
        st->kind = STMT_USE;
        st->arg = q;
        st->arg_len = (size_t)(e - q);
        return;
    }
    if (word_is(p, end, "SHOW", &q)) {
        q = skip_space(q, end);
        if (word_is(q, end, "DATABASES", &q) ||
            word_is(q, end, "SCHEMAS", &q)) {
            q = skip_space(q, end);
            if (word_is(q, end, "LIKE", &q)) {
                const char *e;
                q = skip_space(q, end);
                if (q < end && (*q == '\'' || *q == '"')) {
                    e = memchr(q + 1, *q, (size_t)(end - q - 1));
                    if (e) {
                        st->arg = q + 1;
                        st->arg_len = (size_t)(e - q - 1);
                        q = e + 1;
                    }
                }
            }
            q = skip_space(q, end);
            while (q < end && *q == ';')
                q = skip_space(q + 1, end);
            if (q == end) {
                st->kind = STMT_SHOW_DATABASES;
                return;
            }
        }
    }
    if (word_is(p, end, "SELECT", &q)) {
        q = skip_space(q, end);
        if (word_is(q, end, "DATABASE", &q) || word_is(q, end, "SCHEMA", &q)) {
            q = skip_space(q, end);
            if (end - q >= 2 && q[0] == '(' && q[1] == ')') {
                q = skip_space(q + 2, end);
                while (q < end && *q == ';')
                    q = skip_space(q + 1, end);
                if (q == end) {
                    st->kind = STMT_SELECT_DATABASE;
                    return;
                }
            }
        }
    }
    if (word_is(p, end, "SET", NULL))
        st->pins |= PIN_SESSION_VARS;
    else if (word_is(p, end, "PREPARE", NULL))
        st->pins |= PIN_SQL_PREPARE;
    else if (word_is(p, end, "LOCK", NULL))
        st->pins |= PIN_LOCKS;
    else if (word_is(p, end, "INSERT", NULL) ||
             word_is(p, end, "REPLACE", NULL))
        st->kind = STMT_INSERT;
    else if (word_is(p, end, "HANDLER", NULL))
        st->pins |= PIN_SESSION_VARS;
    scan_body(p, end, st);
}

/* ---- schemas -------------------------------------------------------- */

int
query_find_schema(const struct session *s, int user, const char *name,
                  size_t len, int *code)
{
    const struct cfg *c = s->wc->cfg;
    const struct cfg_user *u = &c->users[user];
    int si = cfg_find_schema(c, name, len);

    if (si < 0) {
        *code = ER_BAD_DB_ERROR;
        return -1;
    }
    for (int i = 0; i < u->nschemas; i++)
        if (strcmp(u->schemas[i], c->schemas[si].name) == 0)
            return si;
    *code = 1044;
    return -1;
}

void
query_use_schema(struct session *s, const char *name, size_t len)
{
    int code = 0;
    int si = query_find_schema(s, s->user, name, len, &code);

    if (si < 0) {
        if (code == ER_BAD_DB_ERROR)
            session_send_error(s, ER_BAD_DB_ERROR, "42000",
                               "myshard: unknown database '%.*s'; the proxy "
                               "serves the schemas in its config",
                               (int)MIN(len, 64), name);
        else
            session_send_error(s, 1044, "42000",
                               "myshard: access denied for user '%s' to "
                               "database '%.*s'",
                               s->wc->cfg->users[s->user].name,
                               (int)MIN(len, 64), name);
        return;
    }
    s->schema = si;
    session_send_ok(s, 0, NULL);
}

/* SQL LIKE with % and _, case-insensitive as for database names. */
static bool
like_match(const char *pat, size_t plen, const char *str)
{
    if (plen == 0)
        return *str == '\0';
    if (*pat == '%') {
        for (const char *t = str;; t++) {
            if (like_match(pat + 1, plen - 1, t))
                return true;
            if (*t == '\0')
                return false;
        }
    }
    if (*pat == '\\' && plen > 1) {
        pat++;
        plen--;
    } else if (*pat == '_') {
        return *str != '\0' && like_match(pat + 1, plen - 1, str + 1);
    }
    if (*str == '\0' || (*pat | 0x20) != (*str | 0x20))
        return false;
    return like_match(pat + 1, plen - 1, str + 1);
}

static void
answer_show_databases(struct session *s, const struct stmt_scan *st)
{
    const struct cfg *c = s->wc->cfg;
    const struct cfg_user *u = &c->users[s->user];
    struct rs_writer w;
    char colname[80] = "Database";
    const char *names[1] = {colname};

    if (st->arg)
        snprintf(colname, sizeof(colname), "Database (%.*s)",
                 (int)MIN(st->arg_len, 64), st->arg);
    rs_begin(&w, s->conn->out, s->seq, false, s->status);
    rs_columns_text(&w, names, 1);
    for (int i = 0; i < u->nschemas; i++) {
        const char *v[1] = {u->schemas[i]};
        if (st->arg && !like_match(st->arg, st->arg_len, u->schemas[i]))
            continue;
        rs_row(&w, v, NULL);
    }
    rs_end(&w);
    s->seq = w.seq;
}

static void
answer_select_database(struct session *s)
{
    struct rs_writer w;
    const char *names[1] = {"DATABASE()"};
    const char *v[1] = {s->schema >= 0 ? s->wc->cfg->schemas[s->schema].name
                                       : NULL};

    rs_begin(&w, s->conn->out, s->seq, false, s->status);
    rs_columns_text(&w, names, 1);
    rs_row(&w, v, NULL);
    rs_end(&w);
    s->seq = w.seq;
}

/* ---- forwarding ----------------------------------------------------- */

/* Clients name schemas as the config does; servers may call them otherwise
 * (backend_schema): qualified names are rewritten into a new command. */
static void
rename_schemas(struct session *s, const char *sql, size_t len)
{
    char *out;
    size_t n;
    uint8_t *cmd;

    if (!rewrite_schema_names(sql, len, s->wc->renames, s->wc->nrenames, &out,
                              &n))
        return;
    cmd = xmalloc(n + 1);
    cmd[0] = COM_QUERY;
    memcpy(cmd + 1, out, n);
    free(out);
    packet_consume(s->conn->in, &s->cmd);
    s->cmd.data = cmd;
    s->cmd.len = n + 1;
    s->cmd.heap = true;
}

void
query_start(struct session *s, const char *sql, size_t len)
{
    struct stmt_scan st;
    int shard;

    scan_statement(sql, len, &st);
    if (st.multi && !s->multi_stmts) {
        /* What the server says when multi-statements are off. */
        session_send_error(s, 1064, "42000",
                           "myshard: multi-statements are disabled on this "
                           "connection; enable CLIENT_MULTI_STATEMENTS or "
                           "send one statement at a time");
        session_command_done(s);
        return;
    }
    switch (st.kind) {
    case STMT_USE:
        query_use_schema(s, st.arg, st.arg_len);
        session_command_done(s);
        return;
    case STMT_SHOW_DATABASES:
        answer_show_databases(s, &st);
        session_command_done(s);
        return;
    case STMT_SELECT_DATABASE:
        answer_select_database(s);
        session_command_done(s);
        return;
    default:
        break;
    }
    if (s->wc->nrenames > 0)
        rename_schemas(s, sql, len);
    s->pins |= st.pins & ~PIN_LAST_INSERT;
    if (st.kind == STMT_INSERT)
        s->pins |= PIN_LAST_INSERT; /* until the next statement ends */
    else if (!(st.pins & PIN_LAST_INSERT))
        s->pins &= ~PIN_LAST_INSERT;
    shard = s->schema >= 0 ? s->wc->cfg->schemas[s->schema].default_shard
            : s->wc->cfg->nschemas > 0 ? s->wc->cfg->schemas[0].default_shard
                                       : 0;
    query_forward(s, shard, RELAY_RESULT, true);
}

void
query_release_backend(struct session *s, bool dirty)
{
    struct serverconn *sc = s->sc;

    if (sc == NULL)
        return;
    s->sc = NULL;
    if (dirty)
        pool_discard(sc);
    else
        pool_release(sc);
}

static void
fail_command(struct session *s, int code, const char *msg)
{
    session_send_error(s, (uint16_t)code,
                       code == ER_MYSHARD_POOL_TIMEOUT ? "HY000" : "08S01",
                       "%s", msg);
    session_command_done(s);
}

/* The SET NAMES that gives a connection the client's collation id. */
static const char *
collation_name(uint8_t id)
{
    switch (id) {
    case 8:
        return "latin1 COLLATE latin1_swedish_ci";
    case 33:
        return "utf8mb3 COLLATE utf8mb3_general_ci";
    case 45:
        return "utf8mb4 COLLATE utf8mb4_general_ci";
    case 46:
        return "utf8mb4 COLLATE utf8mb4_bin";
    case 47:
        return "latin1 COLLATE latin1_bin";
    case 48:
        return "latin1 COLLATE latin1_general_ci";
    case 63:
        return "binary";
    case 83:
        return "utf8mb3 COLLATE utf8mb3_bin";
    case 192:
        return "utf8mb3 COLLATE utf8mb3_unicode_ci";
    case 224:
        return "utf8mb4 COLLATE utf8mb4_unicode_ci";
    case 255:
        return "utf8mb4 COLLATE utf8mb4_general_ci";
    default:
        return NULL;
    }
}

/* Sends one statement whose answer the client never sees; true when one
 * was needed. */
static bool
send_prelude(struct session *s)
{
    struct serverconn *sc = s->sc;
    const char *schema = session_backend_schema(s);
    struct evbuffer *out = serverconn_output(sc);
    uint8_t seq = 0;

    if (schema && strcmp(sc->schema, schema) != 0) {
        size_t n = strlen(schema);
        uint8_t buf[80];
        buf[0] = COM_INIT_DB;
        memcpy(buf + 1, schema, n);
        packet_write(out, &seq, buf, n + 1);
        snprintf(sc->schema, sizeof(sc->schema), "%s", schema);
        relay_start(&s->rl, RELAY_SIMPLE);
        return true;
    }
    if (sc->charset != s->charset) {
        const char *name = collation_name(s->charset);
        char buf[96];
        int n;
        sc->charset = s->charset;
        if (name == NULL)
            return false; /* unknown id: keep the connection's utf8mb4 */
        n = snprintf(buf, sizeof(buf), "%cSET NAMES %s", COM_QUERY, name);
        packet_write(out, &seq, buf, (size_t)n);
        relay_start(&s->rl, RELAY_SIMPLE);
        return true;
    }
    return false;
}

static void
got_backend(struct session *s, struct serverconn *sc)
{
    s->sc = sc;
    serverconn_lend(sc, on_backend_read, on_backend_error, s);
    atomic_fetch_add(&sc->srv->queries, 1);
    if (send_prelude(s)) {
        session_set_state(s, SESS_PRELUDE);
        return;
    }
    send_command(s);
}

static void
on_acquired(void *arg, struct serverconn *sc, int err, const char *msg)
{
    struct session *s = arg;

    if (sc == NULL) {
        fail_command(s, err, msg);
        return;
    }
    got_backend(s, sc);
}

static void
send_command(struct session *s)
{
    struct evbuffer *out = serverconn_output(s->sc);

    if (s->cmd.heap) {
        uint8_t seq = 0;
        packet_write(out, &seq, s->cmd.data, s->cmd.len);
        packet_consume(NULL, &s->cmd);
    } else {
        packet_move(s->conn->in, out, &s->cmd);
    }
    if (!s->expect_response) {
        /* The server will not answer (SEND_LONG_DATA, STMT_CLOSE). */
        session_command_done(s);
        return;
    }
    relay_start(&s->rl, s->kind);
    session_set_state(s, SESS_RELAY);
}

void
query_forward(struct session *s, int shard, enum relay_kind kind,
              bool expect_response)
{
    struct wctx *wc = s->wc;
    struct serverconn *sc;
    struct pool *p;

    s->kind = kind;
    s->expect_response = expect_response;
    s->target_shard = shard;
    s->started_us = clock_us();
    if (s->sc != NULL) {
        got_backend(s, s->sc);
        return;
    }
    p = wc->pools[wc->servers->shard_primary[shard]];
    session_set_state(s, SESS_WAIT_BACKEND);
    sc = pool_acquire(p, &s->waiter, on_acquired, s);
    if (sc != NULL)
        got_backend(s, sc);
}

/* The statement is over: keep the connection or give it back. */
static void
finish(struct session *s)
{
    s->status = s->rl.status & ~SERVER_MORE_RESULTS_EXISTS;
    if (s->kind == RELAY_PREPARE && !s->rl.got_err)
        s->nprepared++;
    if (s->status & SERVER_STATUS_IN_TRANS)
        s->pins |= PIN_TRANSACTION;
    else
        s->pins &= ~PIN_TRANSACTION;
    if (s->nprepared > 0)
        s->pins |= PIN_PREPARED;
    else
        s->pins &= ~PIN_PREPARED;
    if (s->status & SERVER_STATUS_CURSOR_EXISTS)
        s->pins |= PIN_CURSOR;
    else if (s->kind != RELAY_ROWS)
        s->pins &= ~PIN_CURSOR;
    if (s->pins == 0)
        query_release_backend(s, false);
    session_command_done(s);
}

static void
pump(struct session *s)
{
    struct evbuffer *in = serverconn_input(s->sc);
    enum relay_status st;

    if (s->state == SESS_PRELUDE) {
        st = relay_pump(&s->rl, in, NULL, 0);
        if (st == RELAY_MORE)
            return;
        if (st == RELAY_BROKEN || s->rl.got_err) {
            /* The connection cannot take the client's state (schema
             * missing on the server, ...): report and drop it. */
            log_warn("backend refused session state client=%u backend=%s "
                     "error=%u",
                     s->id, s->sc->srv->addr, s->rl.err_code);
            s->sc->schema[0] = '\0';
            query_release_backend(s, true);
            s->pins &= ~PIN_LAST_INSERT;
            fail_command(s, ER_BAD_DB_ERROR,
                         "myshard: the backend rejected the session's schema "
                         "or character set; check backend_schema exists on "
                         "every shard");
            return;
        }
        if (send_prelude(s))
            return;
        send_command(s);
        return;
    }
    if (s->state != SESS_RELAY)
        return;
    st = relay_pump(&s->rl, in, s->conn->out, CLIENT_HIGH_WATER);
    switch (st) {
    case RELAY_MORE:
    case RELAY_PAUSED: /* client_write_cb resumes us */
        return;
    case RELAY_DONE:
        finish(s);
        return;
    case RELAY_BROKEN:
        log_warn("protocol error from backend client=%u backend=%s", s->id,
                 s->sc->srv->addr);
        query_release_backend(s, true);
        session_close(s, "backend protocol error");
        return;
    }
}

static void
on_backend_read(struct serverconn *sc, void *arg)
{
    (void)sc;
    pump(arg);
}

void
query_client_drained(struct session *s)
{
    if (s->sc)
        pump(s);
}

static void
on_backend_error(struct serverconn *sc, void *arg, const char *why)
{
    struct session *s = arg;
    bool started = s->state == SESS_RELAY && s->rl.started;

    log_warn("backend connection lost client=%u backend=%s reason=\"%s\"",
             s->id, sc->srv->addr, why);
    atomic_fetch_add(&sc->srv->errors, 1);
    query_release_backend(s, true);
    if (s->state != SESS_RELAY && s->state != SESS_PRELUDE) {
        /* Lost while held between statements: the transaction or the
         * session state it carried is gone. */
        s->pins = 0;
        s->nprepared = 0;
        return;
    }
    s->pins = 0;
    s->nprepared = 0;
    if (started) {
        /* Part of a result already reached the client: the only honest
         * signal left is closing the connection. */
        session_close(s, "backend lost mid-result");
        return;
    }
    fail_command(s, ER_MYSHARD_NO_BACKEND,
                 "myshard: lost the connection to the backend while running "
                 "the statement; it may or may not have run");
}
