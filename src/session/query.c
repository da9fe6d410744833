/* clang-format off */
/*
 * query.c - the data path of one statement.
 *
 *  client socket
 *    | client_read_cb()                  session/session.c
 *    v
 *  session_process_input(s)              session/session.c
 *    | packet_read(in, &pkt)             proto/packet.c    AGAIN: wait; bad: close
 *    v
 *  command_dispatch(s)                   session/command.c by first byte
 *    | COM_QUERY
 *    v
 *  query_start(s, sql)                   session/query.c
 *    | analyze() -> sql_classify()       sql/classify.c    answered here? pins,
 *    |                                                     SET tracking
 *    | router_route()                    route/router.c    targets, role, merge
 *    v
 *  query_forward(s, shard, kind, read)   session/query.c   one target
 *  (or scatter_start())                  session/scatter.c several targets
 *    | query_pick_server()               backend/health.c  replica or primary
 *    | pool_acquire(pool, ...)           backend/pool.c    (or the held one)
 *    | query_send_prelude()              schema, variables, pending BEGIN:
 *    |                                   one round trip each, only if needed
 *    | send_command()                    the client's packet, as it is
 *    v
 *  on_backend_read()                     session/query.c
 *    | relay_pump(in, client out)        session/relay.c   chain moves; pauses
 *    |                                                     above the client's
 *    |                                                     high-water mark
 *    v
 *  finish()                              keep the connection (transaction,
 *    | query_statement_done()            pins) or pool_release()
 *    | session_command_done(s)           session/session.c next command
 */
/* clang-format on */
#include "session/query.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/health.h"
#include "backend/killer.h"
#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "backend/sessvars.h"
#include "base/clock.h"
#include "base/escape.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "route/router.h"
#include "session/gate.h"
#include "session/prepare.h"
#include "session/lexstate.h"
#include "session/protect.h"
#include "session/qcache.h"
#include "session/scatter.h"
#include "session/session.h"
#include "session/txn.h"
#include "sql/classify.h"
#include "sql/lexer.h"
#include "sql/lexmode.h"
#include "sql/rewrite.h"

static void on_backend_read(struct serverconn *sc, void *arg);
static bool autocommit_off(const struct session *s);
static void on_backend_error(struct serverconn *sc, void *arg, const char *why);
static void send_command(struct session *s);
static bool retry_read(struct session *s);

/* ---- what the proxy needs to know about a statement ------------------- */

enum stmt_action {
    ACT_FORWARD = 0,
    ACT_USE,             /* answered: switch schema */
    ACT_SHOW_DATABASES,  /* answered from the config */
    ACT_SELECT_DATABASE, /* answered: the client-side schema name */
    ACT_REFUSE,          /* answered with an error */
    ACT_REFUSE_LEX,      /* refused: the proxy could not lex the session's
                            later text as the server will (why) */
    ACT_BEGIN,           /* remembered; starts on the first shard used */
    ACT_END_EMPTY,       /* COMMIT/ROLLBACK of a transaction that touched
                            no shard: answered */
    ACT_TXN_BEGIN,       /* BEGIN where transactions may span shards */
    ACT_TXN_END,         /* COMMIT/ROLLBACK (or BEGIN) ending one */
};

struct stmt_facts {
    enum stmt_action action;
    char name[192]; /* USE target or SHOW DATABASES LIKE pattern */
    size_t name_len;
    bool has_like;
    unsigned pins; /* enum pin_reason bits the statement sets */
    bool insert;   /* LAST_INSERT_ID() may be read next */
    bool multi;
    bool tracks_vars; /* a SET whose assignments s->pending holds */
    bool writes;      /* some statement writes (or might: DDL, CALL...) */
    bool commit;      /* ACT_TXN_END: COMMIT (else ROLLBACK) */
    bool chain;       /* ... AND CHAIN, or BEGIN: a new one follows */
    bool release;     /* ... AND RELEASE */
    char why[320];    /* ACT_REFUSE_LEX: the message */
};

/* A value that means the same on any connection: literals, bare words
 * (ON, OFF, DEFAULT, a charset name) and NAMES' `x COLLATE y`, but no
 * variables, placeholders or function calls. */
static bool
value_is_plain(struct sql_span v, struct lex_mode mode)
{
    struct lexer lx;
    struct token t;
    int n = 0;

    lexer_init(&lx, v.p, v.len, mode);
    while (lexer_next(&lx, &t)) {
        if (++n > 3)
            return false;
        switch (t.type) {
        case TOK_IDENT:
        case TOK_QIDENT:
        case TOK_STRING:
        case TOK_NUMBER:
        case TOK_HEX:
        case TOK_BIT:
            break;
        case TOK_OP:
            if (!(t.len == 1 && (t.p[0] == '-' || t.p[0] == '+')))
                return false;
            break;
        default:
            return false;
        }
    }
    return n > 0;
}

/* SET statements whose every assignment is a session variable with a plain
 * value are recorded in s->pending and follow the client; others pin. */
static void
analyze_set(struct session *s, const struct stmt_info *st, struct stmt_facts *f)
{
    bool lexing = lexstate_sets_mode(st);

    sessvars_clear(&s->pending);
    if (lexing && !lexstate_check_set(s, st, NULL, f->why, sizeof(f->why))) {
        f->action = ACT_REFUSE_LEX;
        return;
    }
    /* SQLF_SYSVAR alone is the @@x being set: a value that reads one is
     * not plain (below) */
    if (st->flags & (SQLF_SUBQUERY | SQLF_USERVAR_READ | SQLF_USERVAR_WRITE |
                     (lexing ? 0 : SQLF_SYSVAR))) {
        if (st->flags & (SQLF_USERVAR_READ | SQLF_USERVAR_WRITE))
            f->pins |= PIN_USER_VARS;
        else
            f->pins |= PIN_SESSION_VARS;
        return;
    }
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        bool session = v->scope == SCOPE_DEFAULT || v->scope == SCOPE_SESSION;
        if (v->kind == SETK_SYSVAR && session &&
            value_is_plain(v->value, st->mode)) {
            sessvars_set(&s->pending, v->name.p, v->name.len, v->value.p,
                         v->value.len);
        } else if (v->kind == SETK_NAMES &&
                   value_is_plain(v->value, st->mode)) {
            sessvars_set(&s->pending, "names", 5, v->value.p, v->value.len);
        } else if (v->kind == SETK_CHARSET &&
                   value_is_plain(v->value, st->mode)) {
            sessvars_set(&s->pending, "character set", 13, v->value.p,
                         v->value.len);
        } else if (v->kind == SETK_SYSVAR && v->scope == SCOPE_GLOBAL) {
            continue; /* server-wide: nothing of the session's */
        } else {
            sessvars_clear(&s->pending);
            f->pins |= PIN_SESSION_VARS;
            if (lexing && !lexstate_pinned_set_ok(st)) {
                snprintf(f->why, sizeof(f->why),
                         "myshard: set sql_mode and the character set with "
                         "literal values, for the session");
                f->action = ACT_REFUSE_LEX;
            }
            return;
        }
    }
    /* the mode it leads to, now that the assignments are known */
    if (lexing &&
        !lexstate_check_set(s, st, &s->pending, f->why, sizeof(f->why))) {
        sessvars_clear(&s->pending);
        f->action = ACT_REFUSE_LEX;
        return;
    }
    f->tracks_vars = s->pending.n > 0;
}

/* What one statement does to the session: pins it may need. */
unsigned
query_statement_pins(const struct stmt_info *st)
{
    unsigned pins = 0;

    if (st->flags & (SQLF_USERVAR_READ | SQLF_USERVAR_WRITE))
        pins |= PIN_USER_VARS;
    if (st->flags & SQLF_TEMPORARY)
        pins |= PIN_TEMP_TABLE;
    if ((st->flags & SQLF_LOCK_FUNC) || st->kind == STMT_LOCK_TABLES ||
        (st->flags & SQLF_GLOBAL_LOCK))
        pins |= PIN_LOCKS;
    if (st->flags & (SQLF_CALC_FOUND_ROWS | SQLF_FOUND_ROWS))
        pins |= PIN_FOUND_ROWS;
    if (st->kind == STMT_PREPARE || st->kind == STMT_HANDLER)
        pins |= PIN_SQL_PREPARE;
    if (st->kind == STMT_SET || st->kind == STMT_USE)
        pins |= PIN_SESSION_VARS;
    return pins;
}

static bool
is_select_database(const struct stmt_info *st)
{
    struct lexer lx;
    struct token t[4];
    int n = 0;

    if (st->kind != STMT_SELECT || st->from.len != 0 || st->nitems != 1 ||
        st->items[0].alias.len != 0)
        return false;
    lexer_init(&lx, st->items[0].expr.p, st->items[0].expr.len, st->mode);
    while (n < 4 && lexer_next(&lx, &t[n]))
        n++;
    return n == 3 && (tok_is(&t[0], "DATABASE") || tok_is(&t[0], "SCHEMA")) &&
           t[1].type == TOK_LPAREN && t[2].type == TOK_RPAREN;
}

static void
analyze(struct session *s, const char *sql, size_t len, struct stmt_facts *f)
{
    struct stmt_info *st = s->wc->stmt;

    bool known;

    memset(f, 0, sizeof(*f));
    /* Lexed as the server will lex it: the session's sql_mode and
     * character set (session/lexstate.h). */
    known = lexstate_refresh(s, f->why, sizeof(f->why));
    sql_classify(sql, len, s->lex, st);
    f->multi = st->multi;
    s->stmt_kind = (uint8_t)stats_kind_of(st->kind);
    s->digest_slot = digests_slot(&s->wc->digests, sql, len, s->lex);
    if (!known && (st->multi || !lexstate_sets_mode(st) ||
                   !lexstate_text_neutral(sql, len))) {
        /* only a plain SET that repairs the mode may pass */
        f->action = ACT_REFUSE_LEX;
        return;
    }
    if (st->multi) {
        /* Pins of every statement; state-changing ones cannot be tracked
         * inside a batch, so they pin as they are. */
        size_t off = 0;
        while (off < len) {
            sql_classify(sql + off, len - off, s->lex, st);
            if (lexstate_sets_mode(st)) {
                /* the server lexes the rest of the batch under the new
                 * mode: the proxy could not check it */
                snprintf(f->why, sizeof(f->why),
                         "myshard: SET sql_mode or SET NAMES must be sent "
                         "alone, not inside a multi-statement batch");
                f->action = ACT_REFUSE_LEX;
                return;
            }
            f->pins |= query_statement_pins(st);
            f->writes |= st->is_write;
            if (st->kind == STMT_INSERT || st->kind == STMT_REPLACE)
                f->insert = true;
            if (!st->multi)
                break;
            off += st->stmt_len; /* stmt_len stops before the ';' */
            while (off < len &&
                   (sql[off] == ';' || sql[off] == ' ' || sql[off] == '\n' ||
                    sql[off] == '\t' || sql[off] == '\r'))
                off++;
        }
        return;
    }
    f->writes = st->is_write;
    if (s->txn != NULL) {
        /* BEGIN inside a transaction commits it first, as MySQL does. */
        if (st->kind == STMT_BEGIN ||
            ((st->kind == STMT_COMMIT || st->kind == STMT_ROLLBACK) &&
             !(st->flags & SQLF_TO_SAVEPOINT))) {
            f->action = ACT_TXN_END;
            f->commit = st->kind != STMT_ROLLBACK;
            f->chain = st->kind == STMT_BEGIN || (st->txn & TXN_CHAIN);
            f->release = (st->txn & TXN_RELEASE) != 0;
            return;
        }
    } else if (st->kind == STMT_BEGIN && s->sc == NULL &&
               s->txn_begin == NULL) {
        f->action = txn_spans_shards(s) ? ACT_TXN_BEGIN : ACT_BEGIN;
        return;
    }
    if ((st->kind == STMT_COMMIT || st->kind == STMT_ROLLBACK) &&
        !(st->flags & SQLF_TO_SAVEPOINT) && s->sc == NULL &&
        !(st->txn & (TXN_CHAIN | TXN_RELEASE))) {
        f->action = ACT_END_EMPTY;
        return;
    }
    switch (st->kind) {
    case STMT_USE:
        f->action = ACT_USE;
        f->name_len = MIN(lexer_unquote(st->schema.p, st->schema.len, st->mode,
                                        f->name, sizeof(f->name)),
                          sizeof(f->name) - 1);
        return;
    case STMT_SHOW:
        if (st->show.obj != SHOW_DATABASES)
            break;
        if (st->show.where.len > 0) {
            f->action = ACT_REFUSE;
            return;
        }
        f->action = ACT_SHOW_DATABASES;
        if (st->show.like.len > 0) {
            f->has_like = true;
            f->name_len = MIN(lexer_unquote(st->show.like.p, st->show.like.len,
                                            st->mode, f->name, sizeof(f->name)),
                              sizeof(f->name) - 1);
        }
        return;
    case STMT_SELECT:
        if (is_select_database(st)) {
            f->action = ACT_SELECT_DATABASE;
            return;
        }
        break;
    case STMT_SET:
        analyze_set(s, st, f);
        f->pins |= query_statement_pins(st) & ~PIN_SESSION_VARS;
        return;
    case STMT_INSERT:
    case STMT_REPLACE:
        f->insert = true;
        break;
    default:
        break;
    }
    f->pins |= query_statement_pins(st);
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
answer_show_databases(struct session *s, const struct stmt_facts *f)
{
    const struct cfg *c = s->wc->cfg;
    const struct cfg_user *u = &c->users[s->user];
    struct rs_writer w;
    char colname[80] = "Database";
    const char *names[1] = {colname};

    if (f->has_like)
        snprintf(colname, sizeof(colname), "Database (%.*s)",
                 (int)MIN(f->name_len, 64), f->name);
    rs_begin(&w, s->conn->out, s->seq, false, s->status);
    rs_columns_text(&w, names, 1);
    for (int i = 0; i < u->nschemas; i++) {
        const char *v[1] = {u->schemas[i]};
        if (f->has_like && !like_match(f->name, f->name_len, u->schemas[i]))
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
 * (backend_schema). Qualified names, and DATABASE() while the current schema
 * is renamed, are rewritten into a new command with the same first byte
 * (COM_QUERY or COM_STMT_PREPARE). */
bool
query_rewrite_text(struct session *s, const char *sql, size_t len, char **out,
                   size_t *out_len)
{
    const struct cfg *c = s->wc->cfg;
    char *o = NULL, *o2;
    size_t n = 0;

    if (s->wc->nrenames == 0)
        return false;
    if (rewrite_schema_names(sql, len, s->lex, s->wc->renames, s->wc->nrenames,
                             &o, &n)) {
        sql = o;
        len = n;
    }
    if (s->schema >= 0 &&
        strcmp(c->schemas[s->schema].name,
               c->schemas[s->schema].backend_schema) != 0 &&
        rewrite_current_schema(sql, len, s->lex, c->schemas[s->schema].name,
                               &o2, &n)) {
        free(o);
        o = o2;
    }
    if (o == NULL)
        return false;
    *out = o;
    *out_len = n;
    return true;
}

void
query_rewrite_for_backend(struct session *s)
{
    char *out;
    size_t n;
    uint8_t *cmd;

    if (!query_rewrite_text(s, (const char *)s->cmd.data + 1, s->cmd.len - 1,
                            &out, &n))
        return;
    cmd = xmalloc(n + 1);
    cmd[0] = s->cmd_byte;
    memcpy(cmd + 1, out, n);
    free(out);
    packet_consume(s->conn->in, &s->cmd);
    s->cmd.data = cmd;
    s->cmd.len = n + 1;
    s->cmd.heap = true;
}

int
query_default_shard(const struct session *s)
{
    const struct cfg *c = s->wc->cfg;

    if (s->schema >= 0)
        return c->schemas[s->schema].default_shard;
    return c->nschemas > 0 ? c->schemas[0].default_shard : 0;
}

uint32_t
query_stmt_id(const struct session *s)
{
    const uint8_t *p = s->cmd.data;

    if (s->cmd.len < 5)
        return 0;
    return (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
           (uint32_t)p[4] << 24;
}

/* The shard of the session's held connection, or -1. */
static int
held_shard(const struct session *s)
{
    return s->sc ? s->sc->srv->shard : -1;
}

bool
query_refuse_no_schema(struct session *s, const struct stmt_info *st)
{
    if (s->schema >= 0)
        return false;
    for (int i = 0; i < st->ntables; i++) {
        const struct sql_table *t = &st->tables[i];
        if (t->schema.len > 0 || (t->flags & (TBLF_DERIVED | TBLF_CTE)))
            continue;
        s->tracks_vars = false;
        sessvars_clear(&s->pending);
        session_send_error(s, ER_NO_DB_ERROR, "3D000",
                           "myshard: no database selected (a reload of the "
                           "config removed this session's database or the "
                           "user's access to it); USE one that SHOW "
                           "DATABASES lists, or qualify the table");
        session_command_done(s);
        return true;
    }
    return false;
}

bool
query_refuse_read_only(struct session *s)
{
    const struct cfg_user *u = &s->wc->cfg->users[s->user];

    if (!u->read_only)
        return false;
    s->tracks_vars = false;
    sessvars_clear(&s->pending);
    session_send_error(s, ER_OPTION_PREVENTS_STATEMENT, "HY000",
                       "myshard: user '%s' is read_only: writes, DDL and "
                       "procedure calls are refused; use another user to "
                       "change data",
                       u->name);
    session_command_done(s);
    return true;
}

void
query_note_write(struct session *s, const struct route_plan *plan,
                 const struct stmt_info *st)
{
    /* Read your writes: replicas may lag up to max_replica_lag behind. */
    if (plan->role == ROLE_PRIMARY && st->is_write)
        s->last_write_ms = clock_ms();
}

bool
query_plan_allowed(struct session *s, const struct route_plan *plan)
{
    const struct cfg *c = s->wc->cfg;

    if (plan->action == ROUTE_REFUSE) {
        s->tracks_vars = false;
        sessvars_clear(&s->pending);
        session_send_error(s, plan->err_code, "42000", "%s", plan->err_msg);
        session_command_done(s);
        return false;
    }
    if (s->txn != NULL) {
        /* The transaction may span shards; unless it can only roll back. */
        if (txn_broken(s) == NULL)
            return true;
        session_send_error(s, 1402, "XA100",
                           "myshard: %s; the transaction can only be rolled "
                           "back: send ROLLBACK",
                           txn_broken(s));
        session_command_done(s);
        return false;
    }
    if ((s->pins & PIN_TRANSACTION) && s->sc != NULL &&
        (plan->ntargets > 1 || plan->targets[0].shard != held_shard(s))) {
        /* transactions: deny (the default) keeps a transaction on the
         * shard it started on; the transaction stays usable. */
        int other = plan->targets[0].shard != held_shard(s)
                        ? plan->targets[0].shard
                        : plan->targets[plan->ntargets > 1].shard;
        session_send_error(
            s, ER_NOT_SUPPORTED_YET, "HY000",
            "myshard: this transaction runs on shard '%s' and the statement "
            "needs shard '%s'; cross-shard transactions are denied for "
            "schema '%s' (transactions: deny): commit first, or keep each "
            "transaction on one shard",
            c->shards[held_shard(s)].name, c->shards[other].name,
            s->schema >= 0 ? c->schemas[s->schema].name : "");
        session_command_done(s);
        return false;
    }
    if (s->txn_begin != NULL && plan->ntargets > 1) {
        session_send_error(
            s, ER_NOT_SUPPORTED_YET, "HY000",
            "myshard: the statement needs %d shards and a transaction is "
            "open; cross-shard transactions are denied (transactions: "
            "deny): run it outside the transaction or narrow it to one "
            "shard",
            plan->ntargets);
        session_command_done(s);
        return false;
    }
    return true;
}

/* Routes the statement and carries the plan out: one target that is the
 * held connection's shard (or no connection is held) takes the relay path
 * with the client's own packet when the text is unchanged; anything else
 * goes through scatter. */
static void
route_and_run(struct session *s, const char *sql, size_t len, bool multi)
{
    struct wctx *wc = s->wc;
    struct route_plan *plan = wc->plan;
    struct route_ctx ctx = {0};
    const struct route_target *t;

    if (multi) /* analyze() classified the batch statement by statement */
        sql_classify(sql, len, s->lex, wc->stmt);
    ctx.schema = s->schema;
    ctx.in_txn = (s->pins & PIN_TRANSACTION) != 0;
    ctx.txn_shards = held_shard(s) >= 0 ? 1ull << held_shard(s) : 0;
    router_route(wc->cfg, wc->stmt, &ctx, plan);
    if (s->txn != NULL) {
        /* Every statement of a transaction that may span shards runs on
         * its branches; one with no table on the first branch. */
        struct serverconn *first = s->txn ? txn_first_branch(s) : NULL;
        if (first != NULL && wc->stmt->ntables == 0 &&
            plan->action == ROUTE_FORWARD && plan->ntargets == 1)
            plan->targets[0].shard = first->srv->shard;
        if (!query_plan_allowed(s, plan))
            return;
        query_note_write(s, plan, wc->stmt);
        scatter_start(s, plan, NULL, NULL, 0);
        return;
    }
    if (s->sc != NULL && wc->stmt->ntables == 0 &&
        plan->action == ROUTE_FORWARD && plan->ntargets == 1) {
        /* No table (SELECT 1, COMMIT, SAVEPOINT...): the connection the
         * session holds answers, whatever shard it is on. */
        plan->targets[0].shard = held_shard(s);
    }
    if (!query_plan_allowed(s, plan))
        return;
    query_note_write(s, plan, wc->stmt);
    t = &plan->targets[0];
    if (plan->ntargets == 1 && !plan->merge &&
        (s->sc == NULL || held_shard(s) == t->shard)) {
        if (t->sql != sql || t->len != len) {
            uint8_t *cmd = xmalloc(t->len + 1);
            cmd[0] = COM_QUERY;
            memcpy(cmd + 1, t->sql, t->len);
            packet_consume(s->conn->in, &s->cmd);
            s->cmd.data = cmd;
            s->cmd.len = t->len + 1;
            s->cmd.heap = true;
        }
        query_rewrite_for_backend(s);
        query_forward(s, t->shard, RELAY_RESULT, true, plan->role == ROLE_READ);
        return;
    }
    scatter_start(s, plan, NULL, NULL, 0);
}

/* ---- the hot-key cache ---------------------------------------------- */

struct cache_fill {
    char *key; /* owned: user, schema and text */
    size_t klen;
    struct evbuffer *answer; /* owned; what went to the client */
    int ntables;
    uint32_t slots[QCACHE_MAX_TABLES];
    uint64_t vers[QCACHE_MAX_TABLES];
    uint64_t epoch;
    int64_t ttl_ms;
};

#define WMARKS_MAX 16
struct write_marks {
    int n;
    bool all; /* tables unknown: every entry */
    uint32_t slots[WMARKS_MAX];
};

static void
fill_free(struct session *s)
{
    if (s->fill == NULL)
        return;
    free(s->fill->key);
    evbuffer_free(s->fill->answer);
    free(s->fill);
    s->fill = NULL;
}

/* A read the cache may answer: one plain SELECT outside transactions,
 * with nothing that depends on the connection. */
static bool
cacheable(const struct session *s, const struct stmt_info *st)
{
    return st->kind == STMT_SELECT && !st->multi &&
           !(st->flags &
             (SQLF_FOR_UPDATE | SQLF_SHARE_LOCK | SQLF_CALC_FOUND_ROWS |
              SQLF_FOUND_ROWS | SQLF_LAST_INSERT_ID | SQLF_LOCK_FUNC |
              SQLF_USERVAR_READ | SQLF_USERVAR_WRITE | SQLF_INTO)) &&
           s->txn == NULL && s->txn_begin == NULL && s->sc == NULL &&
           (s->pins & ~PIN_POOL_SESSION) == 0 && !autocommit_off(s);
}

/* Answers from the cache (true), or gets ready to keep the answer. */
static bool
cache_try(struct session *s, const char *sql, size_t len)
{
    const struct cfg *c = s->wc->cfg;
    const char *user = c->users[s->user].name;
    const char *schema = s->schema >= 0 ? c->schemas[s->schema].name : "";
    size_t ul = strlen(user), sl = strlen(schema);
    char *key;
    /* the mode too: the same text means another statement under it */
    size_t klen = ul + 1 + sl + 1 + 2 + len;
    const uint8_t *hit;
    size_t hlen;
    uint32_t slots[QCACHE_MAX_TABLES];
    int n;

    if (s->wc->qcache == NULL || !cacheable(s, s->wc->stmt))
        return false;
    n = qcache_table_slots(s->wc->stmt, s->schema >= 0 ? schema : NULL, slots,
                           QCACHE_MAX_TABLES);
    if (n < 0)
        return false;
    key = xmalloc(klen);
    memcpy(key, user, ul + 1);
    memcpy(key + ul + 1, schema, sl + 1);
    key[ul + 1 + sl + 1] = (char)s->lex.flags;
    key[ul + 1 + sl + 2] = (char)s->lex.charset;
    memcpy(key + ul + 1 + sl + 1 + 2, sql, len);
    if (qcache_get(s->wc->qcache, key, klen, clock_ms(), &hit, &hlen)) {
        /* The answer as the server gave it (sequence ids from 1). */
        evbuffer_add(s->conn->out, hit, hlen);
        free(key);
        s->stmt_route = SR_proxy;
        session_command_done(s);
        return true;
    }
    s->fill = xcalloc(1, sizeof(*s->fill));
    s->fill->key = key;
    s->fill->klen = klen;
    s->fill->answer = evbuffer_new();
    s->fill->ntables = n;
    memcpy(s->fill->slots, slots, (size_t)n * sizeof(*slots));
    qcache_versions(slots, n, s->fill->vers);
    s->fill->epoch = qcache_epoch();
    s->fill->ttl_ms = s->cache_ttl_ms;
    return false;
}

/* What the relay just appended to the client's output, kept too. */
static void
cache_copy(struct session *s, size_t from)
{
    struct evbuffer *out = s->conn->out;
    size_t len = evbuffer_get_length(out);
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[8];
    int n;

    if (len <= from)
        return;
    if (evbuffer_get_length(s->fill->answer) + (len - from) >
        QCACHE_MAX_ENTRY) {
        fill_free(s); /* too big to keep */
        return;
    }
    evbuffer_ptr_set(out, &pos, from, EVBUFFER_PTR_SET);
    while (from < len) {
        n = evbuffer_peek(out, (ev_ssize_t)(len - from), &pos, v, 8);
        for (int i = 0; i < n && i < 8 && from < len; i++) {
            size_t take = MIN(v[i].iov_len, len - from);
            evbuffer_add(s->fill->answer, v[i].iov_base, take);
            from += take;
        }
        if (n <= 0 || evbuffer_ptr_set(out, &pos, from, EVBUFFER_PTR_SET) < 0)
            break;
    }
}

static void
cache_store(struct session *s)
{
    struct cache_fill *f = s->fill;

    if (f == NULL)
        return;
    if (!s->rl.got_err && !s->timed_out && s->kind == RELAY_RESULT)
        qcache_put(s->wc->qcache, f->key, f->klen, f->answer, clock_ms(),
                   f->ttl_ms, f->slots, f->vers, f->ntables, f->epoch);
    fill_free(s);
}

/* A statement that writes: its tables' cached reads go stale when it
 * ends, and again when its transaction ends. */
void
query_cache_note_write(struct session *s, const struct stmt_info *st,
                       bool multi)
{
    const struct cfg *c = s->wc->cfg;
    uint32_t slots[WMARKS_MAX];
    int n = -1;

    if (s->wc->qcache == NULL)
        return;
    if (!multi)
        n = qcache_table_slots(
            st, s->schema >= 0 ? c->schemas[s->schema].name : NULL, slots,
            WMARKS_MAX);
    if (s->wmarks == NULL)
        s->wmarks = xcalloc(1, sizeof(*s->wmarks));
    if (n < 0 || s->wmarks->n + n > WMARKS_MAX) {
        s->wmarks->all = true;
        return;
    }
    memcpy(s->wmarks->slots + s->wmarks->n, slots, (size_t)n * sizeof(*slots));
    s->wmarks->n += n;
}

void
query_cache_writes_done(struct session *s, bool txn_open)
{
    struct write_marks *w = s->wmarks;

    if (w == NULL)
        return;
    if (w->all)
        qcache_bump_all();
    else
        qcache_bump(w->slots, w->n);
    if (txn_open)
        return; /* bumped again when the transaction ends */
    free(w);
    s->wmarks = NULL;
}

void
query_cache_forget(struct session *s)
{
    fill_free(s);
    free(s->wmarks);
    s->wmarks = NULL;
}

void
query_start(struct session *s, const char *sql, size_t len)
{
    struct stmt_facts f;
    bool filtered = false;

    /* A cacheable read that failed before its answer (no server, a
     * routing error) left its fill: it must not keep this answer. */
    fill_free(s);
    analyze(s, sql, len, &f);
    if (!s->admitted &&
        protect_admit(s, sql, len, s->wc->stmt->lex_error) != ADMIT_GO)
        return; /* refused, or delayed: dispatched again at its turn */
    s->admitted = false;
    if (f.multi && !s->multi_stmts) {
        /* What the server says when multi-statements are off. */
        session_send_error(s, 1064, "42000",
                           "myshard: multi-statements are disabled on this "
                           "connection; enable CLIENT_MULTI_STATEMENTS or "
                           "send one statement at a time");
        session_command_done(s);
        return;
    }
    if (f.action == ACT_REFUSE_LEX) { /* before the gate reads it */
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000", "%s", f.why);
        session_command_done(s);
        return;
    }
    /* Schemas, read_only, shared-identity statements and deny policies,
     * for every statement of the batch (session/gate.h). */
    for (;;) {
        enum gate_verdict v =
            gate_check(s, sql, len, s->wc->stmt, false, filtered);
        int slot = s->digest_slot;
        if (v == GATE_DONE)
            return;
        if (v == GATE_PASS)
            break;
        /* information_schema filtered: the new text is the statement */
        sql = (const char *)s->cmd.data + 1;
        len = s->cmd.len - 1;
        analyze(s, sql, len, &f);
        s->digest_slot = slot; /* counted under what the client sent */
        filtered = true;
    }
    switch (f.action) {
    case ACT_USE:
        query_use_schema(s, f.name, f.name_len);
        session_command_done(s);
        return;
    case ACT_SHOW_DATABASES:
        answer_show_databases(s, &f);
        session_command_done(s);
        return;
    case ACT_SELECT_DATABASE:
        answer_select_database(s);
        session_command_done(s);
        return;
    case ACT_REFUSE:
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000",
                           "myshard: SHOW DATABASES supports LIKE, not "
                           "WHERE; the list comes from the proxy's config");
        session_command_done(s);
        return;
    case ACT_BEGIN:
        free(s->txn_begin);
        s->txn_begin = xstrndup(sql, len);
        s->status |= SERVER_STATUS_IN_TRANS;
        session_send_ok(s, 0, NULL);
        session_command_done(s);
        return;
    case ACT_TXN_BEGIN:
        txn_begin(s, sql, len);
        return;
    case ACT_TXN_END:
        txn_end(s, f.commit, f.chain, f.release);
        return;
    case ACT_END_EMPTY:
        free(s->txn_begin);
        s->txn_begin = NULL;
        s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
        session_send_ok(s, 0, NULL);
        session_command_done(s);
        return;
    case ACT_REFUSE_LEX: /* answered before the gate */
    case ACT_FORWARD:
        break;
    }
    if (query_refuse_no_schema(s, s->wc->stmt))
        return;
    s->tracks_vars = f.tracks_vars;
    s->pins |= f.pins;
    /* LAST_INSERT_ID() reads the connection of the last INSERT: keep it
     * until the statement after the insert has run. */
    if (f.insert)
        s->pins |= PIN_LAST_INSERT;
    else
        s->pins &= ~PIN_LAST_INSERT;
    if (f.writes)
        query_cache_note_write(s, s->wc->stmt, f.multi);
    else if (s->cache_ttl_ms > 0 && cache_try(s, sql, len))
        return;
    route_and_run(s, sql, len, f.multi);
}

void
query_release_backend_reset(struct session *s)
{
    struct serverconn *sc = s->sc;

    if (sc == NULL)
        return;
    s->sc = NULL;
    if (s->timed_out) /* a KILL QUERY may still be on its way */
        pool_discard(sc);
    else
        pool_release_reset(sc);
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
    const char *names = NULL;
    uint8_t cs;

    return lexmode_collation(id, &cs, &names) ? names : NULL;
}

/* Sends one statement whose answer the client never sees, to give the
 * connection the session's schema, then its character set and variables;
 * true when one was needed. */
/* A BEGIN the client sent before touching any shard starts on the first
 * connection a statement needs (transactions touch shards lazily). */
static bool
send_pending_begin(struct session *s, struct serverconn *sc, struct relay *rl)
{
    uint8_t seq = 0;
    size_t n;
    uint8_t *p;

    if (s->txn_begin == NULL)
        return false;
    n = strlen(s->txn_begin);
    p = xmalloc(n + 1);
    p[0] = COM_QUERY;
    memcpy(p + 1, s->txn_begin, n);
    packet_write(serverconn_output(sc), &seq, p, n + 1);
    free(p);
    free(s->txn_begin);
    s->txn_begin = NULL;
    relay_start(rl, RELAY_SIMPLE);
    return true;
}

/* Whether vars hold a sql_mode (however the client spelled its name). */
static bool
vars_have_sql_mode(const struct sessvars *vars)
{
    for (int i = 0; i < vars->n; i++) {
        const char *nm = vars->v[i].name;
        if (strcmp(nm, "sql_mode") == 0 || strcmp(nm, "`sql_mode`") == 0 ||
            strcmp(nm, "\"sql_mode\"") == 0)
            return true;
    }
    return false;
}

bool
query_send_prelude(struct session *s, struct serverconn *sc, struct relay *rl)
{
    const char *schema = session_backend_schema(s);
    struct evbuffer *out = serverconn_output(sc);
    uint8_t seq = 0;
    char buf[4096];
    size_t n;
    bool stale = false, own_charset;

    if (schema && strcmp(sc->schema, schema) != 0) {
        size_t len = strlen(schema);
        uint8_t cmd[80];
        cmd[0] = COM_INIT_DB;
        memcpy(cmd + 1, schema, len);
        packet_write(out, &seq, cmd, len + 1);
        snprintf(sc->schema, sizeof(sc->schema), "%s", schema);
        relay_start(rl, RELAY_SIMPLE);
        return true;
    }
    if (s->vars.n == 0 && sc->vars.n == 0 && sc->charset == s->charset &&
        sc->sql_mode_seen == atomic_load(&sc->srv->sql_mode))
        return send_pending_begin(s, sc, rl); /* the common case */
    buf[0] = COM_QUERY;
    memcpy(buf + 1, "SET ", 4);
    n = 5;
    if (!sessvars_diff(&s->vars, &sc->vars, buf, sizeof(buf), &n, &stale)) {
        sc->schema[0] = '\0'; /* give up on this connection's state */
        return false;
    }
    if (!vars_have_sql_mode(&s->vars)) {
        /* the session is lexed by the servers' global sql_mode as the
         * monitor last read it: a connection opened before it changed
         * takes the new one (session/lexstate.h) */
        int gm = atomic_load(&sc->srv->sql_mode);
        if (gm != sc->sql_mode_seen && !vars_have_sql_mode(&sc->vars)) {
            int r = snprintf(buf + n, sizeof(buf) - n, "%ssql_mode = DEFAULT",
                             n > 5 ? ", " : "");
            if (r < 0 || (size_t)r >= sizeof(buf) - n) {
                sc->schema[0] = '\0';
                return false;
            }
            n += (size_t)r;
        }
        sc->sql_mode_seen = gm;
    }
    own_charset = !sessvars_has_charset(&s->vars);
    if (own_charset && (stale || sc->charset != s->charset)) {
        const char *name = collation_name(s->charset);
        int r = name ? snprintf(buf + n, sizeof(buf) - n, "%sNAMES %s",
                                n > 5 ? ", " : "", name)
                     : 0;
        if (r > 0 && (size_t)r < sizeof(buf) - n)
            n += (size_t)r;
    }
    sessvars_copy(&sc->vars, &s->vars);
    sc->charset = own_charset ? s->charset : 0;
    if (n == 5)
        return send_pending_begin(s, sc, rl);
    packet_write(out, &seq, buf, n);
    relay_start(rl, RELAY_SIMPLE);
    return true;
}

void
query_hold_backend(struct session *s, struct serverconn *sc)
{
    s->sc = sc;
    serverconn_lend(sc, on_backend_read, on_backend_error, s);
}

static void
got_backend(struct session *s, struct serverconn *sc)
{
    s->stmt_route = sc->srv->primary ? SR_primary : SR_replica;
    s->stmt_shard = (uint16_t)(sc->srv->shard + 1);
    s->sc = sc;
    serverconn_lend(sc, on_backend_read, on_backend_error, s);
    atomic_fetch_add(&sc->srv->queries, 1);
    if (query_send_prelude(s, s->sc, &s->rl)) {
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
        if (s->srv >= 0 && err == ER_MYSHARD_NO_BACKEND)
            health_report(&s->wc->servers->v[s->srv], false,
                          &s->wc->cfg->backend.health, clock_ms());
        if (err == ER_MYSHARD_NO_BACKEND && retry_read(s))
            return;
        fail_command(s, err, msg);
        return;
    }
    got_backend(s, sc);
}

static void
send_command(struct session *s)
{
    struct evbuffer *out = serverconn_output(s->sc);

    /* A copy, not a move: the command stays until the statement ends, so a
     * read whose server dies before answering can be sent again. */
    if (s->cmd.heap) {
        uint8_t seq = 0;
        packet_write(out, &seq, s->cmd.data, s->cmd.len);
    } else {
        evbuffer_add(out,
                     evbuffer_pullup(s->conn->in, (ssize_t)s->cmd.wire_len),
                     s->cmd.wire_len);
    }
    if (!s->expect_response) {
        /* The server will not answer (SEND_LONG_DATA, STMT_CLOSE). */
        session_command_done(s);
        return;
    }
    relay_start(&s->rl, s->kind);
    session_set_state(s, SESS_RELAY);
}

/* SET autocommit = 0 (tracked): every statement is in a transaction. */
static bool
autocommit_off(const struct session *s)
{
    for (int i = 0; i < s->vars.n; i++) {
        const char *v = s->vars.v[i].value;
        if (strcmp(s->vars.v[i].name, "autocommit") == 0)
            return strcmp(v, "0") == 0 || strcasecmp(v, "OFF") == 0 ||
                   strcasecmp(v, "false") == 0 || strcmp(v, "'0'") == 0;
    }
    return false;
}

/* Has the replica applied everything written before write_ms? Known when
 * a check after the write saw it so little behind that the data it held
 * then was newer than the write (lag is whole seconds: one more second of
 * margin). */
static bool
replica_has_write(struct server *srv, int64_t write_ms)
{
    int64_t checked = atomic_load(&srv->checked_ms);
    int64_t lag = atomic_load(&srv->lag_ms);

    if (srv->primary)
        return true;
    return lag >= 0 && checked - lag - 1000 > write_ms;
}

int
query_pick_server(struct session *s, int shard, bool read, int exclude,
                  int *err, char *msg, size_t msglen)
{
    bool orig_read = read;
    struct wctx *wc = s->wc;
    const struct cfg *c = wc->cfg;
    int64_t now = clock_ms();
    int srv;

    /* Replicas serve reads outside transactions (autocommit=0 makes every
     * statement part of one), and only once they are known to hold the
     * session's own last write. A session that pins (or whose statement
     * will pin) keeps the connection it gets: the primary's, since its
     * later statements may write. */
    read = read && (s->pins & ~PIN_LAST_INSERT) == 0 && s->txn_begin == NULL &&
           !autocommit_off(s) &&
           (s->last_write_ms == 0 ||
            now >= s->last_write_ms + c->backend.health.max_replica_lag_ms);
    /* A policy's route: replica keeps reads on replicas even right after
     * the session's writes; primary sends them to the primary. */
    if (s->route_pref == ROUTE_PRIMARY)
        read = false;
    else if (s->route_pref == ROUTE_REPLICA && orig_read &&
             (s->pins & ~PIN_LAST_INSERT) == 0 && s->txn_begin == NULL &&
             !autocommit_off(s))
        read = true;
    s->pick_seed = s->pick_seed * 1103515245u + 12345u;
    srv = health_pick(wc->servers, c, shard, read, c->zone,
                      s->pick_seed ^ s->id, exclude, now);
    if (srv >= 0 && read && s->last_write_ms != 0 &&
        !replica_has_write(&wc->servers->v[srv], s->last_write_ms))
        srv =
            health_pick(wc->servers, c, shard, false, c->zone, 0, exclude, now);
    if (srv >= 0 && health_admit(&wc->servers->v[srv], now) != GATE_CLOSED)
        return srv;
    {
        struct server *primary =
            &wc->servers->v[wc->servers->shard_primary[shard]];
        *err = health_error_for(primary);
        snprintf(msg, msglen,
                 *err == ER_MYSHARD_CIRCUIT_OPEN
                     ? "myshard: shard '%s' is failing (circuit open for %s "
                       "after repeated errors); retry in a moment"
                     : "myshard: no backend available for shard '%s' (%s "
                       "is down or unreachable); retry when it is back",
                 c->shards[shard].name, primary->addr);
    }
    return -1;
}

struct serverconn *
query_pool_acquire(struct session *s, struct pool *p, struct pool_waiter *w,
                   pool_acquire_fn cb, void *arg)
{
    /* Noncore users (reports, batch) hold at most their share. */
    if (s->user >= 0 && s->wc->cfg->users[s->user].cls == CLASS_NONCORE)
        return pool_acquire_noncore(p, w, cb, arg);
    w->noncore = w->reserved = w->in_nc = false;
    return pool_acquire(p, w, cb, arg);
}

/* Acquires a connection to a server of the shard, or fails the command. */
static void
acquire(struct session *s, int shard, int exclude)
{
    struct wctx *wc = s->wc;
    struct serverconn *sc;
    char msg[256];
    int err = 0;

    s->srv =
        query_pick_server(s, shard, s->read, exclude, &err, msg, sizeof(msg));
    if (s->srv < 0) {
        fail_command(s, err, msg);
        return;
    }
    session_set_state(s, SESS_WAIT_BACKEND);
    sc = query_pool_acquire(s, wc->pools[s->srv], &s->waiter, on_acquired, s);
    if (sc != NULL)
        got_backend(s, sc);
}

/* A read that failed before any byte reached the client goes once to
 * another server of the shard. True when it did. */
static bool
retry_read(struct session *s)
{
    int failed = s->srv;

    if (!s->read || s->retried || s->rl.started || s->sc != NULL ||
        (s->pins & PIN_TRANSACTION) || failed < 0)
        return false;
    s->retried = true;
    STATS_ADD(&s->wc->stats, read_retries_total, 1);
    log_info("retrying read client=%u failed_backend=%s", s->id,
             s->wc->servers->v[failed].addr);
    acquire(s, s->target_shard, failed);
    return true;
}

void
query_forward(struct session *s, int shard, enum relay_kind kind,
              bool expect_response, bool read)
{
    s->kind = kind;
    s->expect_response = expect_response;
    s->target_shard = shard;
    s->started_us = clock_us();
    s->read = read;
    s->retried = false;
    s->srv = -1;
    s->rl.started = false; /* nothing of this statement reached the client */
    if (s->sc != NULL) {
        s->srv = s->sc->srv->index;
        got_backend(s, s->sc);
        return;
    }
    acquire(s, shard, -1);
}

/* The statement is over: keep the connection or give it back. */
static void
finish(struct session *s)
{
    cache_store(s);
    s->status = s->rl.status & ~SERVER_MORE_RESULTS_EXISTS;
    s->cmd_err |= s->rl.got_err;
    if (s->sc != NULL)
        health_report(s->sc->srv, true, &s->wc->cfg->backend.health,
                      clock_ms());
    if (s->kind == RELAY_PREPARE && !s->rl.got_err)
        prepare_register(s, s->rl.prep_params, s->rl.prep_cols);
    if (s->tracks_vars) {
        /* The SET ran on this connection: both now hold the values. */
        if (!s->rl.got_err) {
            for (int i = 0; i < s->pending.n; i++) {
                const struct sessvar *v = &s->pending.v[i];
                sessvars_set(&s->vars, v->name, strlen(v->name), v->value,
                             strlen(v->value));
            }
            sessvars_copy(&s->sc->vars, &s->vars);
            if (sessvars_has_charset(&s->vars))
                s->sc->charset = 0;
        }
        sessvars_clear(&s->pending);
        s->tracks_vars = false;
    }
    query_statement_done(s);
}

void
query_statement_done(struct session *s)
{
    /* The KILL QUERY may still be on its way: a connection it could hit
     * is never lent to anyone else. */
    if (s->timed_out && s->sc != NULL && s->pins == 0)
        query_release_backend(s, true);
    if (s->txn != NULL)
        s->status |= SERVER_STATUS_IN_TRANS;
    if (s->status & SERVER_STATUS_IN_TRANS)
        s->pins |= PIN_TRANSACTION;
    else
        s->pins &= ~PIN_TRANSACTION;
    fill_free(s); /* kept by finish() if it could be */
    query_cache_writes_done(s, (s->pins & PIN_TRANSACTION) != 0);
    if (s->exec_ps != NULL) {
        prepare_clear_long_data(s->exec_ps);
        s->exec_ps = NULL;
    }
    session_count_pins(s);
    /* A transaction spanning shards keeps its branches, not s->sc. */
    if (s->pins == 0 || (s->txn != NULL && s->pins == PIN_TRANSACTION))
        query_release_backend(s, false);
    session_command_done(s);
}

static void
pump(struct session *s)
{
    struct evbuffer *in = serverconn_input(s->sc);
    enum relay_status st;
    size_t before;

    if (s->state == SESS_PRELUDE) {
        st = relay_pump(&s->rl, in, NULL, 0);
        if (st == RELAY_MORE)
            return;
        if (st == RELAY_BROKEN || s->rl.got_err) {
            /* The connection cannot take the client's state (schema
             * missing on the server, ...): report and drop it. */
            char msg[300];
            log_warn("backend refused session state client=%u backend=%s "
                     "error=%u message=\"%s\"",
                     s->id, s->sc->srv->addr, s->rl.err_code, s->rl.err_msg);
            snprintf(msg, sizeof(msg),
                     "myshard: the backend refused the session's schema or "
                     "variables: %s",
                     s->rl.err_msg);
            s->sc->schema[0] = '\0';
            query_release_backend(s, true);
            s->pins &= ~PIN_LAST_INSERT;
            fail_command(s, s->rl.err_code ? s->rl.err_code : ER_BAD_DB_ERROR,
                         msg);
            return;
        }
        if (query_send_prelude(s, s->sc, &s->rl))
            return;
        send_command(s);
        return;
    }
    if (s->state != SESS_RELAY)
        return;
    if (s->kind == RELAY_PREPARE && !s->rl.started && !prepare_patch_ok(s, in))
        return; /* the PREPARE_OK is not complete yet */
    /* After a timeout answered the client, the rest is dropped. */
    before = evbuffer_get_length(s->conn->out);
    st = relay_pump(&s->rl, in, s->timed_out ? NULL : s->conn->out,
                    RELAY_CLIENT_HIGH_WATER);
    if (s->fill != NULL)
        cache_copy(s, before);
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
query_timeout_fired(struct session *s)
{
    const struct cfg *c = s->wc->cfg;
    struct serverconn *sc = s->sc;
    char esc[1024];

    if (s->timed_out)
        return;
    if (s->sx != NULL) {
        scatter_timeout(s);
        return;
    }
    if (sc == NULL)
        return;
    s->timed_out = true;
    STATS_ADD(&s->wc->stats, query_timeouts_total, 1);
    log_warn("query timeout client=%u user=%s backend=%s thread_id=%u "
             "timeout_ms=%lld digest=\"%s\"",
             s->id, s->user >= 0 ? c->users[s->user].name : "-", sc->srv->addr,
             sc->thread_id, (long long)c->backend.query_timeout_ms,
             escape_log_str(digests_text(&s->wc->digests, s->digest_slot), esc,
                            sizeof(esc)));
    killer_kill(sc->srv, sc->thread_id, &c->backend);
    if (s->state == SESS_RELAY && !s->rl.started) {
        session_send_error(s, ER_STATEMENT_TIMEOUT, "70100",
                           "myshard: the statement ran longer than "
                           "backend.query_timeout (%lld ms) and was killed on "
                           "%s; make it faster or raise the timeout",
                           (long long)c->backend.query_timeout_ms,
                           sc->srv->addr);
        return;
    }
    /* Rows already reached the client: it sees the server's own error. */
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
        s->pins &= PIN_POOL_SESSION;
        return;
    }
    s->pins &= PIN_POOL_SESSION;
    health_report(sc->srv, false, &s->wc->cfg->backend.health, clock_ms());
    if (started) {
        /* Part of a result already reached the client: the only honest
         * signal left is closing the connection. */
        session_close(s, "backend lost mid-result");
        return;
    }
    if (s->state == SESS_RELAY && retry_read(s))
        return;
    fail_command(s, ER_MYSHARD_NO_BACKEND,
                 "myshard: lost the connection to the backend while running "
                 "the statement; it may or may not have run");
}
