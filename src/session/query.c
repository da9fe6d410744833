/*
 * query.c - a client's COM_QUERY, from its text to a plan: what the
 * statement is and does to the session (analyze()), whether it may run
 * (protect_admit(), the gate, the transaction policy), the statements the
 * proxy answers itself (session/answer.c, schema.c), the hot-key cache
 * (session/cachefill.c), then the router's plan, carried out by the engine
 * (session/engine.c, whose header draws the whole path).
 */
#include "session/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "backend/serverconn.h"
#include "backend/sessvars.h"
#include "base/clock.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "route/router.h"
#include "session/answer.h"
#include "session/cachefill.h"
#include "session/diagnostics.h"
#include "session/engine.h"
#include "session/gate.h"
#include "session/lastid.h"
#include "session/lexstate.h"
#include "session/protect.h"
#include "session/schema.h"
#include "session/movehold.h"
#include "session/tablecols.h"
#include "session/session.h"
#include "session/txn.h"
#include "session/uservars.h"
#include "sql/classify.h"
#include "sql/lexer.h"

/* ---- what the proxy needs to know about a statement ------------------- */

enum stmt_action {
    ACT_FORWARD = 0,
    ACT_USE,              /* answered: switch schema */
    ACT_PROXY_READ,       /* answered: SHOW DATABASES, SELECT DATABASE() */
    ACT_REFUSE,           /* answered with an error */
    ACT_REFUSE_LEX,       /* refused: the proxy could not lex the session's
                             later text as the server will (why) */
    ACT_BEGIN,            /* remembered; starts on the first shard used */
    ACT_END_EMPTY,        /* COMMIT/ROLLBACK of a transaction that touched
                             no shard: answered */
    ACT_TXN_BEGIN,        /* BEGIN where transactions may span shards */
    ACT_TXN_SNAPSHOT,     /* START TRANSACTION WITH CONSISTENT SNAPSHOT
                             where they may not: read-only on every shard */
    ACT_TXN_END,          /* COMMIT/ROLLBACK (or BEGIN) ending one */
    ACT_LASTID,           /* SELECT LAST_INSERT_ID(), ROW_COUNT(): answered
                             from the session (session/lastid.h) */
    ACT_TXN_COMMIT_FIRST, /* DDL, LOCK TABLES, SET autocommit = 1 in one:
                             committed, then the statement runs */
};

struct stmt_facts {
    enum stmt_action action;
    char name[192]; /* USE target */
    size_t name_len;
    unsigned pins; /* enum pin_reason bits the statement sets */
    uint8_t lid;   /* enum lastid_need */
    bool multi;
    bool tracks_vars; /* a SET whose assignments s->pending holds */
    bool writes;      /* some statement writes (or might: DDL, CALL...) */
    bool commit;      /* ACT_TXN_END: COMMIT (else ROLLBACK) */
    bool chain;       /* ... AND CHAIN, or BEGIN: a new one follows */
    bool release;     /* ... AND RELEASE */
    bool implicit;    /* autocommit = 0: the statement opens a transaction
                         that may span shards, as BEGIN would */
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

/* SET SESSION TRANSACTION ISOLATION LEVEL x / READ ONLY / READ WRITE (as
 * mariadb-dump --single-transaction sends it) as the variables it sets,
 * recorded in s->pending; false for any other form. */
static bool
session_txn_vars(struct session *s, const struct sql_setvar *v,
                 struct lex_mode mode)
{
    static const struct {
        const char *words, *name, *value;
    } forms[] = {
        {"ISOLATION LEVEL READ UNCOMMITTED", "tx_isolation",
         "'READ-UNCOMMITTED'"},
        {"ISOLATION LEVEL READ COMMITTED", "tx_isolation", "'READ-COMMITTED'"},
        {"ISOLATION LEVEL REPEATABLE READ", "tx_isolation",
         "'REPEATABLE-READ'"},
        {"ISOLATION LEVEL SERIALIZABLE", "tx_isolation", "'SERIALIZABLE'"},
        {"READ ONLY", "tx_read_only", "1"},
        {"READ WRITE", "tx_read_only", "0"},
    };
    struct lexer lx;
    struct token t;
    char words[80];
    size_t n = 0;
    bool more = true;

    if (v->scope != SCOPE_SESSION)
        return false; /* SET TRANSACTION: the next transaction only */
    lexer_init(&lx, v->value.p, v->value.len, mode);
    while (more) {
        bool found = false;
        n = 0;
        while ((more = lexer_next(&lx, &t)) && t.type != TOK_COMMA) {
            if (t.type != TOK_IDENT || n + t.len + 2 > sizeof(words))
                return false;
            if (n > 0)
                words[n++] = ' ';
            for (size_t i = 0; i < t.len; i++)
                words[n++] = (char)(t.p[i] >= 'a' && t.p[i] <= 'z' ? t.p[i] - 32
                                                                   : t.p[i]);
        }
        words[n] = '\0';
        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]) && !found;
             i++) {
            if (strcmp(words, forms[i].words) != 0)
                continue;
            sessvars_set(&s->pending, forms[i].name, strlen(forms[i].name),
                         forms[i].value, strlen(forms[i].value));
            found = true;
        }
        if (!found)
            return false;
    }
    return true;
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
    if (st->flags & SQLF_SUBQUERY) {
        if (st->flags & (SQLF_USERVAR_READ | SQLF_USERVAR_WRITE))
            f->pins |= PIN_USER_VARS;
        else
            f->pins |= PIN_SESSION_VARS;
        return;
    }
    /* A value reading @@x or @y is not plain (below); a user variable
     * assigned pins (query_statement_pins()) and its value is followed by
     * session/uservars.c; the session variables beside it are recorded. */
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        bool session = v->scope == SCOPE_DEFAULT || v->scope == SCOPE_SESSION;
        if (v->kind == SETK_USERVAR) {
            continue;
        } else if (v->kind == SETK_TRANSACTION &&
                   session_txn_vars(s, v, st->mode)) {
            continue;
        } else if (v->kind == SETK_SYSVAR && session &&
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

/* SET autocommit = 1 (ON, true, DEFAULT): it commits an open
 * transaction. */
static bool
sets_autocommit_on(const struct stmt_info *st)
{
    for (int i = 0; st->kind == STMT_SET && i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        const char *p = v->value.p;
        size_t n = v->value.len;
        if (v->kind != SETK_SYSVAR ||
            !lexer_ident_eq(v->name.p, v->name.len, "autocommit", 10))
            continue;
        if (n >= 2 && (p[0] == '\'' || p[0] == '"')) {
            p++;
            n -= 2;
        }
        return (n == 1 && p[0] == '1') || lexer_ident_eq(p, n, "ON", 2) ||
               lexer_ident_eq(p, n, "true", 4) ||
               lexer_ident_eq(p, n, "DEFAULT", 7);
    }
    return false;
}

/* With autocommit = 0 in a schema whose transactions may span shards,
 * the statements that open a transaction open one as BEGIN does: every
 * one the proxy sends on, except those that end or commit one and SETs
 * (which follow the session). */
static bool
opens_implicit_txn(const struct session *s, const struct stmt_info *st)
{
    if (s->txn != NULL || s->sc != NULL || s->txn_begin != NULL || st->multi ||
        s->vars.n == 0 || !sessvars_autocommit_off(&s->vars) ||
        !txn_spans_shards(s))
        return false;
    switch (st->kind) {
    case STMT_SET:
    case STMT_USE:
    case STMT_BEGIN:
    case STMT_COMMIT:
    case STMT_ROLLBACK:
    case STMT_SAVEPOINT:
    case STMT_RELEASE_SAVEPOINT:
    case STMT_XA:
        return false;
    default:
        return !(st->txn & TXN_IMPLICIT_COMMIT);
    }
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
    s->digest_slot = digests_slot(&s->wc->digests, sql, len, s->lex, st->shape);
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
            /* the batch's last OK need not be its INSERT's: the
             * connection's value is read after it */
            if (lastid_need_of(st) != LID_NONE)
                f->lid = LID_ALWAYS;
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
    f->lid = (uint8_t)lastid_need_of(st);
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
        /* as MySQL does: DDL, LOCK TABLES, SET autocommit = 1... commit
         * the transaction first */
        if (((st->txn & TXN_IMPLICIT_COMMIT) &&
             st->kind != STMT_UNLOCK_TABLES) ||
            sets_autocommit_on(st)) {
            f->action = ACT_TXN_COMMIT_FIRST;
            return;
        }
    } else if (st->kind == STMT_BEGIN && s->sc == NULL &&
               s->txn_begin == NULL) {
        f->action = txn_spans_shards(s) ? ACT_TXN_BEGIN
                    : (st->txn & TXN_SNAPSHOT) && !(st->txn & TXN_READ_WRITE) &&
                            s->schema >= 0
                        ? ACT_TXN_SNAPSHOT
                        : ACT_BEGIN;
        return;
    }
    f->implicit = opens_implicit_txn(s, st);
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
        f->action = ACT_PROXY_READ;
        return;
    case STMT_SELECT:
        if (answer_is_select_database(st)) {
            f->action = ACT_PROXY_READ;
            return;
        }
        if (lastid_is_answered(st)) {
            f->action = ACT_LASTID;
            return;
        }
        break;
    case STMT_SET:
        analyze_set(s, st, f);
        f->pins |= query_statement_pins(st) & ~PIN_SESSION_VARS;
        return;
    default:
        break;
    }
    f->pins |= query_statement_pins(st);
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
    if (movehold_check(s, plan))
        return false; /* held while its keys move, or answered */
    if (s->txn != NULL) {
        /* The transaction may span shards; unless it can only roll back. */
        if (txn_broken(s) == NULL)
            return true;
        session_send_error(s, ER_XA_RBROLLBACK, "XA100",
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

/* Routes the statement and has the engine carry the plan out: one target
 * (outside a transaction that spans shards, on the held connection's shard
 * or with none held) is sent as the client's own packet, rewritten in place
 * when the router changed its text (engine_forward); anything else runs the
 * plan's texts (engine_run). */
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
    ctx.lock_shards = s->lock_shards;
    tablecols_ctx(s, &ctx);
    router_route(wc->cfg, wc->stmt, &ctx, plan);
    if (s->txn != NULL) {
        /* Every statement of a transaction that may span shards runs on
         * its branches; one with no table on the first branch. */
        struct serverconn *first = s->txn ? txn_first_branch(s) : NULL;
        if (first != NULL && wc->stmt->ntables == 0 &&
            plan->action == ROUTE_FORWARD && plan->ntargets == 1)
            plan->targets[0].shard = first->srv->shard;
        if (!query_plan_allowed(s, plan) || txn_refuses_write(s, wc->stmt))
            return;
        engine_run(s, plan, NULL, NULL, 0, NULL);
        return;
    }
    if (s->sc != NULL && wc->stmt->ntables == 0 &&
        plan->action == ROUTE_FORWARD && plan->ntargets == 1 &&
        !(wc->stmt->kind == STMT_UNLOCK_TABLES && s->lock_shards != 0)) {
        /* No table (SELECT 1, COMMIT, SAVEPOINT...): the connection the
         * session holds answers, whatever shard it is on. */
        plan->targets[0].shard = held_shard(s);
    }
    if (!query_plan_allowed(s, plan))
        return;
    if (wc->stmt->kind == STMT_LOCK_TABLES ||
        wc->stmt->kind == STMT_UNLOCK_TABLES)
        s->lock_shards = plan->lock_mask; /* where the connections keep
                                             them (session/tablelocks.h) */
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
        schema_rewrite_command(s);
        engine_forward(s, t->shard, RELAY_RESULT, plan->role == ROLE_READ);
        return;
    }
    engine_run(s, plan, NULL, NULL, 0, NULL);
}

/* On a server BEGIN ends the connection's table locks; the locks of a
 * LOCK TABLES that spans shards live on several connections, which one
 * BEGIN cannot reach: refused. */
static bool
locks_block_begin(struct session *s)
{
    if (__builtin_popcountll(s->lock_shards) < 2)
        return false;
    session_send_error(s, ER_NOT_SUPPORTED_YET, "HY000",
                       "myshard: the session holds table locks on several "
                       "shards (LOCK TABLES); send UNLOCK TABLES before "
                       "starting a transaction");
    session_command_done(s);
    return true;
}

void
query_start(struct session *s, const char *sql, size_t len)
{
    struct stmt_facts f;
    bool filtered = false;

    /* A cacheable read that failed before its answer (no server, a
     * routing error) left its fill: it must not keep this answer. */
    cachefill_drop(s);
    /* A hot key: the answer kept for this very text, user, schema and
     * mode, before any parsing (session/cachefill.h). */
    if (cachefill_fast(s, sql, len))
        return;
    analyze(s, sql, len, &f);
    if (s->wc->stmt->kind == STMT_SET && !f.multi) {
        /* SET x = @saved: the value written in (session/uservars.h) */
        size_t n;
        char *text = uservars_rewrite(s, s->wc->stmt, sql, len, &n);
        if (text != NULL) {
            uint8_t *cmd = xmalloc(n + 1);
            cmd[0] = COM_QUERY;
            memcpy(cmd + 1, text, n);
            free(text);
            packet_consume(s->conn->in, &s->cmd);
            s->cmd.data = cmd;
            s->cmd.len = n + 1;
            s->cmd.heap = true;
            sql = (const char *)cmd + 1;
            len = n;
            analyze(s, sql, len, &f);
        }
    }
    diag_statement_start(s, f.multi ? NULL : s->wc->stmt);
    if (!s->admitted && protect_admit(s, sql, len, s->wc->stmt->shape,
                                      s->wc->stmt->lex_error) != ADMIT_GO)
        return; /* refused, or delayed: dispatched again at its turn */
    s->admitted = false;
    if (f.multi && !s->multi_stmts) {
        /* What the server says when multi-statements are off. */
        session_send_error(s, ER_PARSE_ERROR, "42000",
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
    if (f.action == ACT_FORWARD && !f.multi) {
        /* ROW_COUNT() inside a statement: the session's value, as a
         * literal (alone it is answered; in a batch the server has it) */
        size_t n;
        char *text = lastid_rewrite_row_count(s, s->wc->stmt, sql, len, &n);
        if (text != NULL) {
            uint8_t *cmd = xmalloc(n + 1);
            int slot = s->digest_slot;
            cmd[0] = COM_QUERY;
            memcpy(cmd + 1, text, n);
            free(text);
            packet_consume(s->conn->in, &s->cmd);
            s->cmd.data = cmd;
            s->cmd.len = n + 1;
            s->cmd.heap = true;
            sql = (const char *)cmd + 1;
            len = n;
            analyze(s, sql, len, &f);
            s->digest_slot = slot;
        }
    }
    if (s->wc->stmt->kind == STMT_BEGIN && locks_block_begin(s))
        return;
    switch (f.action) {
    case ACT_USE:
        schema_use(s, f.name, f.name_len);
        session_command_done(s);
        return;
    case ACT_PROXY_READ:
        answer_write_proxy_read(s, s->wc->stmt, false, s->conn->out);
        session_command_done(s);
        return;
    case ACT_LASTID:
        lastid_answer(s, s->wc->stmt, false);
        return;
    case ACT_REFUSE:
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000",
                           "myshard: SHOW DATABASES supports LIKE, not "
                           "WHERE; the list comes from the proxy's config");
        session_command_done(s);
        return;
    case ACT_BEGIN:
        answer_begin_later(s, sql, len);
        return;
    case ACT_TXN_BEGIN:
        txn_begin(s, sql, len);
        return;
    case ACT_TXN_SNAPSHOT:
        txn_begin_snapshot(s, sql, len);
        return;
    case ACT_TXN_END:
        txn_end(s, f.commit, f.chain, f.release);
        return;
    case ACT_TXN_COMMIT_FIRST:
        txn_commit_then_run(s);
        return;
    case ACT_END_EMPTY:
        answer_end_empty(s);
        return;
    case ACT_REFUSE_LEX: /* answered before the gate */
    case ACT_FORWARD:
        break;
    }
    if (!f.multi && diag_answer(s, s->wc->stmt))
        return; /* SHOW WARNINGS with no connection kept */
    if (schema_refuse_unqualified(s, s->wc->stmt))
        return;
    /* A positional INSERT waits for its table's columns to be read again
     * (session/tablecols.h); a DDL statement notes what it changes. */
    if (!f.multi && tablecols_wait(s, s->wc->stmt))
        return;
    if (!f.multi)
        tablecols_note_ddl(s, s->wc->stmt);
    s->tracks_vars = f.tracks_vars;
    uservars_note(s, s->wc->stmt);
    s->pins |= f.pins;
    s->lid_need = f.lid;
    if (f.implicit)
        txn_begin_implicit(s);
    if (f.writes)
        cachefill_note_write(s, s->wc->stmt, f.multi);
    else if (s->cache_ttl_ms > 0 && cachefill_try(s, sql, len))
        return;
    route_and_run(s, sql, len, f.multi);
}
