/*
 * prepare.c - prepared statements with myshard's own ids.
 *
 *   PREPARE  ─► one shard prepares it (engine_forward); the answer reaches
 *              the client with the server's id replaced by ours; the text,
 *              parameter and column counts are kept in the session
 *              (session/pstmt.h)
 *   EXECUTE  ─► parameters decoded ─► routed by their values like a text
 *              statement ─► engine_run: on each connection, the statement
 *              is prepared first if that connection lacks it (its cache),
 *              then executed under that connection's id
 *   SEND_LONG_DATA / RESET / CLOSE ─► kept and answered here; long data is
 *              replayed to each connection before its EXECUTE
 * No client is pinned to a connection because it prepared something.
 */
#include "session/prepare.h"
#include "session/pstmt.h"
#include "session/gate.h"
#include "session/protect.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "route/router.h"
#include "session/lastid.h"
#include "session/lexstate.h"
#include "session/query.h"
#include "session/engine.h"
#include "session/schema.h"
#include "session/tablecols.h"
#include "session/cachefill.h"
#include "session/answer.h"
#include "session/cursor.h"
#include "session/session.h"
#include "session/txn.h"
#include "session/uservars.h"
#include "sql/classify.h"

bool
prepare_refuse_over_cap(struct session *s)
{
    int64_t cap = s->wc->cfg->max_prepared_statements;
    int64_t n = 0;

    for (const struct pstmt *ps = s->pstmts; ps && n < cap; ps = ps->next)
        n++;
    for (const struct local_stmt *l = s->local_stmts; l && n < cap; l = l->next)
        n++;
    if (n < cap)
        return false;
    session_send_error(s, ER_MAX_PREPARED_STMT_COUNT, "42000",
                       "myshard: can't create more than "
                       "max_prepared_statements statements for one client "
                       "(current value: %lld); close the statements you no "
                       "longer use, or raise max_prepared_statements",
                       (long long)cap);
    session_command_done(s);
    return true;
}

void
prepare_cmd_prepare(struct session *s)
{
    struct wctx *wc = s->wc;
    struct route_ctx ctx = {0};
    int shard = schema_default_shard(s);
    enum gate_verdict v;

    /* The text is checked as a statement sent alone (session/gate.h). */
    sql_classify((const char *)s->cmd.data + 1, s->cmd.len - 1, s->lex,
                 wc->stmt);
    v = gate_check(s, (const char *)s->cmd.data + 1, s->cmd.len - 1, wc->stmt,
                   true, false);
    if (v == GATE_DONE)
        return;
    schema_rewrite_command(s);
    s->prep_backend_id = 0;
    free(s->prep_sql);
    s->prep_len = s->cmd.len - 1;
    s->prep_sql = xstrndup((const char *)s->cmd.data + 1, s->prep_len);
    /* Prepare where the statement's tables live (any shard of them). */
    if (sql_classify(s->prep_sql, s->prep_len, s->lex, wc->stmt)) {
        if (schema_refuse_unqualified(s, wc->stmt))
            return;
        if (lexstate_sets_mode(wc->stmt) && wc->stmt->nparams > 0) {
            /* its value would be known only at EXECUTE, on a server */
            session_send_error(s, ER_NOT_SUPPORTED_YET, "42000",
                               "myshard: SET sql_mode or SET NAMES cannot be "
                               "prepared with parameters; give literal "
                               "values, or send it as a plain statement");
            session_command_done(s);
            return;
        }
        ctx.schema = s->schema;
        tablecols_ctx(s, &ctx);
        router_route(wc->cfg, wc->stmt, &ctx, wc->plan);
        if (wc->plan->action == ROUTE_FORWARD && wc->plan->ntargets > 0)
            shard = wc->plan->targets[0].shard;
    }
    if (s->sc != NULL)
        shard = s->sc->srv->shard;
    engine_forward(s, shard, RELAY_PREPARE, false);
}

static void
unknown_statement(struct session *s, uint32_t id, const char *cmd)
{
    session_send_error(s, ER_UNKNOWN_STMT_HANDLER, "HY000",
                       "myshard: unknown prepared statement handler (%u) "
                       "given to %s",
                       id, cmd);
}

/* A bound parameter as the router sees a key: integers exactly, everything
 * else as its text (dates in their SQL text form). */
static void
to_route_key(const struct binproto_value *v, struct route_key *k, char *tmp,
             size_t cap)
{
    memset(k, 0, sizeof(*k));
    if (v->is_null) {
        k->is_null = true;
        return;
    }
    switch (v->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        if (v->is_unsigned && v->u64 > (uint64_t)INT64_MAX) {
            int n = snprintf(tmp, cap, "%llu", (unsigned long long)v->u64);
            k->s = tmp;
            k->len = (size_t)n;
            return;
        }
        k->is_int = true;
        k->i = v->is_unsigned ? (int64_t)v->u64 : v->i64;
        return;
    case MYSQL_TYPE_DATE:
        k->len = (size_t)snprintf(tmp, cap, "%04u-%02u-%02u", v->tm.year,
                                  v->tm.month, v->tm.day);
        k->s = tmp;
        return;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        k->len = (size_t)snprintf(tmp, cap, "%04u-%02u-%02u %02u:%02u:%02u",
                                  v->tm.year, v->tm.month, v->tm.day,
                                  v->tm.hour, v->tm.minute, v->tm.second);
        k->s = tmp;
        return;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        k->len = (size_t)snprintf(tmp, cap, "%.17g", v->f64);
        k->s = tmp;
        return;
    default:
        k->s = (const char *)v->str;
        k->len = v->len;
        return;
    }
}

/* An EXECUTE of SET sql_mode / SET NAMES (no parameters: PREPARE refuses
 * them) runs as the text statement, so the session records the mode the
 * server will lex later statements under; the OK it gets is the same
 * under both protocols. True when it was started that way. */
static bool
execute_as_text(struct session *s, struct pstmt *ps)
{
    uint8_t *cmd;

    if (ps->as_text < 0) /* the text decides: learnt once */
        ps->as_text = ps->nparams == 0 && pstmt_classify(ps, s->wc->stmt) &&
                      lexstate_sets_mode(s->wc->stmt);
    if (!ps->as_text)
        return false;
    cmd = xmalloc(ps->len + 1);
    cmd[0] = COM_QUERY;
    memcpy(cmd + 1, ps->sql, ps->len);
    packet_consume(s->conn->in, &s->cmd);
    s->cmd.data = cmd;
    s->cmd.len = ps->len + 1;
    s->cmd.heap = true;
    query_start(s, (const char *)cmd + 1, ps->len);
    return true;
}

/* A split INSERT: each target's execute payload binds its own rows'
 * parameters (route_plan.pmap), one after the other in pb; ends[i] is
 * where target i's ends. False after answering (long data, which the
 * targets cannot share out). */
static bool
split_payloads(struct session *s, const struct pstmt *ps,
               const struct route_plan *plan, const struct binproto_value *vals,
               struct pktbuf *pb, size_t *ends)
{
    struct binproto_value *sub;

    for (uint16_t i = 0; ps->ld && i < ps->nparams; i++)
        if (ps->ld[i] != NULL) {
            session_send_error(s, ER_NOT_SUPPORTED_YET, "HY000",
                               "myshard: a prepared INSERT whose rows go to "
                               "different shards cannot take long data "
                               "(mysql_stmt_send_long_data); bind the values "
                               "directly, or insert each shard's rows with "
                               "their own statement");
            session_command_done(s);
            return false;
        }
    sub = xcalloc(MAX(ps->nparams, 1), sizeof(*sub));
    for (int k = 0; k < plan->ntargets; k++) {
        uint32_t n = plan->pmap_n[k];
        for (uint32_t j = 0; j < n; j++)
            sub[j] = vals[plan->pmap[plan->pmap_off[k] + j]];
        binproto_write_execute(pb, 0, CURSOR_TYPE_NO_CURSOR, sub, (uint16_t)n,
                               true);
        ends[k] = pb->len;
    }
    free(sub);
    return true;
}

#define EXEC_INLINE_PARAMS 8

void
prepare_cmd_execute(struct session *s)
{
    struct wctx *wc = s->wc;
    uint32_t id = query_stmt_id(s);
    struct pstmt *ps = pstmt_find(s, id);
    struct binproto_value *vals = NULL;
    struct route_param *params = NULL;
    struct binproto_execute ex;
    struct route_ctx ctx = {0};
    struct pktbuf pb;
    char(*tmp)[64] = NULL;
    bool *ld = NULL;
    size_t ends[ROUTE_MAX_SHARDS];
    /* A few parameters (most statements) need no allocation. */
    struct binproto_value vals_in[EXEC_INLINE_PARAMS];
    struct route_param params_in[EXEC_INLINE_PARAMS];
    char tmp_in[EXEC_INLINE_PARAMS][64];
    bool ld_in[EXEC_INLINE_PARAMS];
    bool heap;

    if (ps == NULL) {
        unknown_statement(s, id, "mysqld_stmt_execute");
        session_command_done(s);
        return;
    }
    if (execute_as_text(s, ps))
        return;
    if (!lexstate_refresh(s, NULL, 0) || s->lex.flags != ps->mode.flags ||
        s->lex.charset != ps->mode.charset) {
        /* a connection that prepares it again would lex it otherwise */
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000",
                           "myshard: the statement was prepared under "
                           "another sql_mode or character set; prepare it "
                           "again");
        session_command_done(s);
        return;
    }
    if (ps->ld_over) { /* the server's answer, MariaDB's words */
        ps->ld_over = false;
        pstmt_clear_long_data(ps);
        session_send_error(s, ER_UNKNOWN_ERROR, "HY000",
                           "myshard: parameter of prepared statement which "
                           "is set through mysql_send_long_data() is longer "
                           "than 'max_allowed_packet' bytes (%lld, for the "
                           "long data of all the client's statements "
                           "together); send less or raise "
                           "max_allowed_packet",
                           (long long)wc->cfg->max_allowed_packet);
        session_command_done(s);
        return;
    }
    heap = ps->nparams > EXEC_INLINE_PARAMS;
    if (heap) {
        vals = xcalloc(ps->nparams, sizeof(*vals));
        params = xcalloc(ps->nparams, sizeof(*params));
        tmp = xcalloc(ps->nparams, sizeof(*tmp));
        ld = xcalloc(ps->nparams, sizeof(*ld));
    } else if (ps->nparams > 0) {
        vals = memset(vals_in, 0, ps->nparams * sizeof(*vals));
        params = memset(params_in, 0, ps->nparams * sizeof(*params));
        tmp = tmp_in;
        ld = ld_in;
    }
    if (ps->nparams > 0) {
        for (uint16_t i = 0; i < ps->nparams; i++)
            ld[i] = ps->ld[i] != NULL;
    }
    if (!binproto_parse_execute(s->cmd.data, s->cmd.len, ps->nparams, ps->types,
                                &ps->types_bound, ld, &ex, vals)) {
        session_send_error(s, ER_UNKNOWN_ERROR, "HY000",
                           "myshard: malformed COM_STMT_EXECUTE (parameters "
                           "do not match the statement's %u)",
                           ps->nparams);
        session_command_done(s);
        goto out;
    }
    for (uint16_t i = 0; i < ps->nparams; i++)
        to_route_key(&vals[i], &params[i].key, tmp[i], sizeof(tmp[i]));
    /* The text and its mode never change: its digest is made once. */
    if (ps->digest_slot < 0)
        ps->digest_slot =
            digests_slot(&wc->digests, ps->sql, ps->len, ps->mode, 0);
    s->digest_slot = ps->digest_slot;
    if (!s->admitted &&
        protect_admit(s, ps->sql, ps->len, 0, false) != ADMIT_GO)
        goto out; /* refused, or delayed: dispatched again at its turn */
    s->admitted = false;
    if (!pstmt_classify(ps, wc->stmt)) {
        session_send_error(s, ER_UNKNOWN_ERROR, "HY000",
                           "myshard: cannot read the prepared statement");
        session_command_done(s);
        goto out;
    }
    /* Again when anything it reads changed: a reload may have changed the
     * user's schemas, read_only or the policies since the statement was
     * prepared, and a USE the schema. Its text is the one
     * prepare_cmd_prepare() let through (filtered). */
    if (!pstmt_gate_passed(s, ps)) {
        bool one = !wc->stmt->multi; /* checked whole, as one statement */
        ps->gate_ok = false;         /* only the latest verdict counts */
        if (gate_check(s, ps->sql, ps->len, wc->stmt, true, true) != GATE_PASS)
            goto out;
        if (one && wc->stmt->sql == ps->sql)
            pstmt_gate_note(s, ps);
    }
    /* the gate leaves a text of several statements (a compound FOR ... END
     * FOR, BEGIN NOT ATOMIC) at its last one: the router needs all of it */
    if (wc->stmt->sql != ps->sql)
        (void)!pstmt_classify(ps, wc->stmt);
    s->stmt_kind = (uint8_t)stats_kind_of(wc->stmt->kind);
    if (wc->stmt->is_write && query_refuse_read_only(s))
        goto out;
    if (wc->stmt->is_write)
        cachefill_note_write(s, wc->stmt, false);
    if (schema_refuse_unqualified(s, wc->stmt))
        goto out;
    /* State an executed statement leaves on its connection (SET, user
     * variables, ...) keeps the session on that connection. */
    s->pins |= query_statement_pins(wc->stmt);
    uservars_note(s, wc->stmt); /* the user variables it may assign */
    /* LAST_INSERT_ID() and ROW_COUNT() are the session's */
    if (lastid_is_answered(wc->stmt)) {
        cursor_close(s, ps->id);
        if (ex.flags & CURSOR_TYPE_READ_ONLY) {
            struct evbuffer *b = evbuffer_new();
            uint8_t seq = s->seq;
            lastid_write_answer(s, wc->stmt, true, b);
            s->seq = seq; /* the cursor numbers what it sends */
            cursor_adopt(s, ps, b);
            session_command_done(s);
        } else {
            lastid_answer(s, wc->stmt, true);
        }
        goto out;
    }
    /* SHOW DATABASES and SELECT DATABASE() answer from the config, as in
     * text: the servers would name other tenants' databases */
    if (answer_is_proxy_read(wc->stmt)) {
        cursor_close(s, ps->id);
        if (ex.flags & CURSOR_TYPE_READ_ONLY) {
            struct evbuffer *b = evbuffer_new();
            uint8_t seq = s->seq;
            if (answer_write_proxy_read(s, wc->stmt, true, b)) {
                s->seq = seq; /* the cursor numbers what it sends */
                cursor_adopt(s, ps, b);
                session_command_done(s);
                goto out;
            }
            evbuffer_free(b);
        } else if (answer_write_proxy_read(s, wc->stmt, true, s->conn->out)) {
            session_command_done(s);
            goto out;
        }
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000",
                           "myshard: SHOW DATABASES supports LIKE, not "
                           "WHERE; the list comes from the proxy's config");
        session_command_done(s);
        goto out;
    }
    s->lid_need = (uint8_t)lastid_need_of(wc->stmt);
    ctx.schema = s->schema;
    ctx.in_txn = (s->pins & PIN_TRANSACTION) != 0;
    ctx.txn_shards = s->sc ? 1ull << s->sc->srv->shard : 0;
    ctx.params = params;
    ctx.nparams = ps->nparams;
    if (tablecols_wait(s, wc->stmt))
        goto out; /* dispatched again once the table's columns are read */
    tablecols_note_ddl(s, wc->stmt); /* a prepared CREATE/ALTER TABLE */
    tablecols_ctx(s, &ctx);
    ctx.lock_shards = s->lock_shards;
    router_route(wc->cfg, wc->stmt, &ctx, wc->plan);
    if (!query_plan_allowed(s, wc->plan) || txn_refuses_write(s, wc->stmt))
        goto out;
    /* The execute each connection gets: no cursor (a cursor is the
     * proxy's, session/cursor.h), parameter types always included (a
     * connection may see the statement for the first time). The statement
     * id is set per connection. */
    pktbuf_init(&pb);
    if (wc->plan->renumbered) {
        if (!split_payloads(s, ps, wc->plan, vals, &pb, ends)) {
            pktbuf_free(&pb);
            goto out;
        }
    } else {
        binproto_write_execute(&pb, 0, CURSOR_TYPE_NO_CURSOR, vals, ps->nparams,
                               true);
    }
    if (pb.failed) {
        pktbuf_free(&pb);
        session_send_error(s, ER_UNKNOWN_ERROR, "HY000",
                           "myshard: cannot encode the parameters");
        session_command_done(s);
        goto out;
    }
    s->exec_ps = ps;
    /* A new EXECUTE closes the statement's cursor, as on a server. */
    cursor_close(s, ps->id);
    if (ex.flags & CURSOR_TYPE_READ_ONLY)
        cursor_execute(s, ps, wc->plan, pb.buf, pb.len,
                       wc->plan->renumbered ? ends : NULL);
    else
        engine_run(s, wc->plan, ps, pb.buf, pb.len,
                   wc->plan->renumbered ? ends : NULL);
    pktbuf_free(&pb);
out:
    if (heap) { /* ps itself may be gone: the next command ran */
        free(vals);
        free(params);
        free(tmp);
        free(ld);
    }
}

/* Long data all of the client's statements hold, for the cap. */
static size_t
long_data_held(const struct session *s)
{
    size_t n = 0;

    for (const struct pstmt *ps = s->pstmts; ps; ps = ps->next)
        n += ps->ld_total;
    return n;
}

/* Long data waits here until EXECUTE, so it is capped like a server caps
 * it (max_allowed_packet), but per client: over the cap, the statement's
 * data is dropped and its next EXECUTE fails with the server's error. */
void
prepare_cmd_long_data(struct session *s)
{
    struct pstmt *ps = pstmt_find(s, query_stmt_id(s));
    size_t cap = (size_t)s->wc->cfg->max_allowed_packet;
    uint16_t param;

    /* No answer either way, as on a server; errors surface at EXECUTE. */
    if (ps != NULL && s->cmd.len >= 7 && !ps->ld_over) {
        param = (uint16_t)(s->cmd.data[5] | s->cmd.data[6] << 8);
        if (param < ps->nparams) {
            size_t add = s->cmd.len - 7;
            if (add > cap || long_data_held(s) > cap - add) {
                log_info("long data over max_allowed_packet client=%u "
                         "stmt=%u",
                         s->id, ps->id);
                pstmt_clear_long_data(ps);
                ps->ld_over = true;
            } else {
                ps->ld[param] =
                    xrealloc(ps->ld[param], ps->ld_len[param] + add + 1);
                memcpy(ps->ld[param] + ps->ld_len[param], s->cmd.data + 7, add);
                ps->ld_len[param] += add;
                ps->ld_total += add;
            }
        }
    }
    session_command_done(s);
}

void
prepare_cmd_reset(struct session *s)
{
    uint32_t id = query_stmt_id(s);
    struct pstmt *ps = pstmt_find(s, id);

    if (ps == NULL) {
        unknown_statement(s, id, "mysqld_stmt_reset");
    } else {
        cursor_close(s, ps->id);
        pstmt_clear_long_data(ps);
        ps->ld_over = false;
        session_send_ok(s, 0, NULL);
    }
    session_command_done(s);
}

void
prepare_cmd_close(struct session *s)
{
    uint32_t id = query_stmt_id(s);
    struct pstmt **pp = &s->pstmts;

    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    if (*pp) {
        struct pstmt *ps = *pp;
        cursor_close(s, ps->id);
        *pp = ps->next;
        pstmt_unindex(s, ps);
        pstmt_free(ps);
    }
    session_command_done(s);
}
