/* clang-format off */
/*
 * engine.c - every statement that reaches a backend. The statement becomes
 * a run of one or more targets (session/engine_types.h), one per shard, and
 * every target takes the same five steps, whether it is an autocommit read,
 * a write, a statement of a transaction, one shard of a scatter or a branch
 * of a transaction that spans shards:
 *
 *  client socket
 *    | client_read_cb() -> session_process_input()  session/session.c
 *    | command_dispatch(s)                          session/command.c
 *    | query_start(s, sql)                          session/query.c
 *    |   analyze() -> sql_classify()                sql/classify.c
 *    |   protect_admit(), gate_check()              session/protect.c, gate.c
 *    |   schema_use(), answer_*()  (USE, SHOW       session/schema.c,
 *    |     DATABASES...: answered, done)            session/answer.c
 *    |   cachefill_try()                            session/cachefill.c
 *    |   router_route()                             route/router.c
 *    | (prepare_cmd_execute(s): the same for an     session/prepare.c
 *    |  EXECUTE, routed by its parameters)
 *    v
 *  engine_forward(s, shard, kind, read)  the client's packet as it is
 *  engine_run(s, plan, ps, exec)         the plan's text, or an EXECUTE
 *    | run_begin()                       one target: inside the session
 *    v   start(): for each target t
 *  1 acquire(t)                          the transaction's branch
 *    |   txn_branch()                    session/txnbranch.c
 *    |                                   or the session's held connection
 *    |   tablelocks_conn()               session/tablelocks.c  or the one
 *    |                                   LOCK TABLES keeps on the shard
 *    |   consist_need()                  session/consist.c  what a read
 *    |                                   must see (GTIDs)
 *    |   pick_server()                   backend/pick.c  replica or primary
 *    |   pool_acquire() -> on_acquired() backend/pool.c
 *    | got_conn(t, sc)                   lent: its events -> target_read()
 *  2 prelude(t)                          one round trip each, only if needed
 *    |   consist_wait_send()             session/consist.c: MASTER_GTID_WAIT
 *    |                                   on a replica not yet known to hold
 *    |                                   the read's need
 *    |                                   (consist_wait_done(): else the
 *    |                                   primary)
 *    |   connstate_apply()               session/connstate.c: schema
 *    |                                   (COM_INIT_DB), SET of the
 *    |                                   variables / sql_mode / NAMES, a
 *    |                                   pending BEGIN
 *    |   txn_start_branch()              session/txnbranch.c: BEGIN or
 *    |                                   XA START
 *    |   lastid_prelude()                session/lastid.c: the session's
 *    |                                   LAST_INSERT_ID() for a statement
 *    |                                   that reads it
 *    | step_done()                       each swallowed answer checked
 *  3 send_statement(t)                   the client's packet, the plan's
 *    |                                   text, or [PREPARE] + EXECUTE
 *  4 target_read() -> pump(t)            consume:
 *    |   consume_relay() -> relay_pump() session/relay.c  one target: chain
 *    |                                   moves, paused above the client's
 *    |                                   high-water mark
 *    |   merge_pump() -> merge_progress() session/merge.c  several: rows
 *    |   consume_combine()               several: OKs summed into one
 *    |   probe() -> probe_read()         the connection's LAST_INSERT_ID()
 *    |                                   when the OK cannot tell it
 *  5 target_done() -> settle() ->        the transaction keeps its branch,
 *    |   release(t)                      the session holds a pinned one,
 *    |   tablelocks_settle()             LOCK TABLES keeps one per shard,
 *    |                                   else pool_release()/pool_discard()
 *    v
 *  run_finish(r)                         the answer's end (error, combined
 *    |                                   OK), LAST_INSERT_ID() and
 *    |                                   ROW_COUNT() kept (lastid_note_run()),
 *    |                                   cache store, run freed
 *    | engine_statement_done(s)          pins, the held connection
 *    | session_command_done(s)           session/client.c -> command_done()
 *    v                                   in session/session.c: next command
 *
 * COMMIT and ROLLBACK of a transaction that spans shards take the same
 * path with the steps 1, 2 and 5 in the caller's hands: txn_end()
 * (session/txn.c) decides the protocol and hands each round of steps (XA
 * END, PREPARE, COMMIT, ROLLBACK on every branch at once) to
 *
 *  engine_steps(r, n, sc[], sql[])       r: the transaction's own run (it
 *    |                                   outlives a client that goes away)
 *  3 send_statement(t)                   on the branch's connection
 *  4 target_read() -> consume_step()     OK / ERR, a malformed answer or a
 *    |   (target_error(): lost)          lost connection, per target
 *  5 step_end() -> answer(), done()      txn.c keeps, closes or drops the
 *                                        branch; the next round or the
 *                                        phase's end (xa log, 1402 / 1180)
 *
 * Hooks, each in one place for every kind of statement: retry of a read
 * whose server failed before any byte reached the client (retry()), the
 * query timeout (engine_timeout(): KILL QUERY, 1969), the hot-key cache
 * (cachefill_copy()/cachefill_store() in consume and finish), statistics
 * (stmt_route/stmt_shard in got_conn(), srv->queries in running()), prepared
 * statements (pstmt_patch_ok()/pstmt_register() in consume), reads by
 * replication position (consist_need() in acquire, consist_wait_send() in the
 * prelude, consist_note() of each write's GTID in consume), cursors (a
 * run_out() sink instead of the client: turn() after each target's read,
 * end() in run_finish(); session/cursor.c).
 *
 * A target that fails (no connection, lost connection, broken protocol)
 * fails the statement: the other targets' connections are dropped, since
 * their answers are cut short, and the client gets one error (or, if rows
 * already reached it, loses the connection: the only honest signal left).
 * In a merge only that source fails; the merge answers and drains the rest.
 */
/* clang-format on */
#include "session/engine.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/health.h"
#include "backend/killer.h"
#include "backend/pick.h"
#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "backend/sessvars.h"
#include "base/clock.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "session/cachefill.h"
#include "session/combine.h"
#include "session/connstate.h"
#include "session/lastid.h"
#include "session/consist.h"
#include "session/merge.h"
#include "session/pstmt.h"
#include "session/relay.h"
#include "session/schema.h"
#include "session/stmtsend.h"
#include "session/session.h"
#include "session/stmtlog.h"
#include "session/tablelocks.h"
#include "session/txn.h"
#include "session/uservars.h"

static void target_read(struct serverconn *sc, void *arg);
static void target_error(struct serverconn *sc, void *arg, const char *why);
static void acquire(struct eng_target *t, int exclude);
static void fail(struct eng_run *r, uint16_t code, const char *msg);
static void fail_target(struct eng_run *r, int i, uint16_t code,
                        const char *msg);
static void merge_progress(struct eng_run *r, enum merge_status ms);

/* ---- a run: begin, free ----------------------------------------------- */

static struct eng_run *
run_begin(struct eng_run *r, struct session *s, int n, enum eng_consume mode,
          enum relay_kind kind, bool read)
{
    uint32_t gen = r->gen + 1;

    /* One target lives in the run itself: nothing to allocate. */
    memset(r, 0, sizeof(*r));
    r->gen = gen;
    r->s = s;
    r->active = true;
    r->n = n;
    r->mode = mode;
    r->kind = kind;
    r->read = read;
    r->t = n == 1 ? &r->one : xcalloc((size_t)n, sizeof(*r->t));
    for (int i = 0; i < n; i++) {
        r->t[i].run = r;
        r->t[i].idx = i;
        r->t[i].srv = -1;
    }
    return r;
}

static void
run_free(struct eng_run *r)
{
    if (r->m)
        merge_free(r->m);
    for (int i = 0; i < r->n; i++)
        free(r->t[i].own);
    if (r->t != &r->one)
        free(r->t);
    if (r->exec != r->exec_inline)
        free(r->exec);
    free(r->buf);
    free(r->err_msg);
    r->err_msg = NULL;
    r->m = NULL;
    r->exec = r->buf = NULL;
    r->t = NULL;
    r->sink = NULL; /* a cursor's hooks are not called again */
    r->n = 0;
    r->active = false;
}

/* Where the answer goes: the client, or a cursor's sink. */
static struct evbuffer *
run_out(const struct eng_run *r)
{
    return r->sink ? r->sink->buf : r->s->conn->out;
}

static size_t
run_high(const struct eng_run *r)
{
    return r->sink ? r->sink->high : RELAY_CLIENT_HIGH_WATER;
}

/* ---- 2. prelude: the session's state on the connection ---------------- */

/* What the connection needs before the statement: the session's state,
 * then, on a shard the transaction has not touched, its branch's start.
 * True when something was sent. */
static bool
prelude(struct eng_target *t)
{
    struct session *s = t->run->s;

    if (t->gtid_wait) {
        t->gtid_wait = false;
        if (consist_wait_send(t))
            return true;
    }
    if (connstate_apply(s, t->sc, &t->rl))
        return true;
    if (t->new_branch) {
        t->new_branch = false;
        txn_start_branch(s, t->sc, &t->rl);
        return true;
    }
    if (t->lid_done)
        return false;
    t->lid_done = true;
    return lastid_prelude(s, t->sc, &t->rl);
}

/* ---- 3. send ---------------------------------------------------------- */

static void
running(struct eng_target *t)
{
    relay_start(&t->rl, t->run->kind);
    t->step = ES_RUN;
    if (t->run->mode == EC_STEPS)
        return;
    atomic_fetch_add(&t->sc->srv->queries, 1);
    if (t->run->n == 1)
        session_set_state(t->run->s, SESS_RELAY);
}

static void
send_statement(struct eng_target *t)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;
    struct evbuffer *out = serverconn_output(t->sc);
    uint8_t seq = 0;

    if (r->ps != NULL) {
        size_t len;
        const char *sql = stmtsend_text(t, &len);
        uint32_t id = serverconn_stmt_find_hashed(
            t->sc, t->own ? serverconn_stmt_hash(sql, len) : r->ps->hash, sql,
            len);
        if (id == 0) {
            uint8_t *p = xmalloc(len + 1);
            p[0] = COM_STMT_PREPARE;
            memcpy(p + 1, sql, len);
            packet_write(out, &seq, p, len + 1);
            free(p);
            relay_start(&t->rl, RELAY_PREPARE);
            t->step = ES_PREPARE;
            if (r->n == 1)
                session_set_state(s, SESS_RELAY);
            return;
        }
        stmtsend_execute(t, id);
    } else if (t->pkt == NULL) {
        /* The client's packet, copied: the command stays until the
         * statement ends, so a read whose server dies before answering
         * can be sent again. */
        if (s->cmd.heap)
            packet_write(out, &seq, s->cmd.data, s->cmd.len);
        else
            evbuffer_add(out,
                         evbuffer_pullup(s->conn->in, (ssize_t)s->cmd.wire_len),
                         s->cmd.wire_len);
    } else {
        packet_write(out, &seq, t->pkt, t->pkt_len);
    }
    running(t);
}

/* ---- 1. acquire ------------------------------------------------------- */

static void
got_conn(struct eng_target *t, struct serverconn *sc)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;

    if (r->n == 1) {
        s->stmt_route = sc->srv->primary ? SR_primary : SR_replica;
        s->stmt_shard = (uint16_t)(sc->srv->shard + 1);
    } else {
        s->stmt_route = SR_scatter;
        s->stmt_shard = 0;
    }
    t->sc = sc;
    t->srv = sc->srv->index;
    serverconn_lend(sc, target_read, target_error, t);
    if (prelude(t)) {
        t->step = ES_PRELUDE;
        if (r->n == 1)
            session_set_state(s, SESS_PRELUDE);
        return;
    }
    send_statement(t);
}

/* A read whose server failed before any byte of its answer reached the
 * client goes once to another server of the shard. True when it did. */
static bool
retry(struct eng_target *t)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;
    int failed = t->srv;

    if (!r->read || r->n != 1 || r->branches || t->retried || r->relayed ||
        r->answered || (s->pins & PIN_TRANSACTION) || failed < 0)
        return false;
    t->retried = true;
    STATS_ADD(&s->wc->stats, read_retries_total, 1);
    log_info("retrying read client=%u failed_backend=%s", s->id,
             s->wc->servers->v[failed].addr);
    t->step = ES_ACQUIRE;
    t->held = false;
    t->lid_done = false; /* the new connection needs its prelude too */
    acquire(t, failed);
    return true;
}

static void
on_acquired(void *arg, struct serverconn *sc, int err, const char *msg)
{
    struct eng_target *t = arg;
    struct session *s = t->run->s;

    if (sc == NULL) {
        if (t->srv >= 0 && err == ER_MYSHARD_NO_BACKEND)
            health_report(&s->wc->servers->v[t->srv], false,
                          &s->wc->cfg->backend.health, clock_ms());
        if (err == ER_MYSHARD_NO_BACKEND && retry(t))
            return;
        fail_target(t->run, t->idx, (uint16_t)err, msg);
        return;
    }
    got_conn(t, sc);
}

static void
acquire(struct eng_target *t, int exclude)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;
    struct wctx *wc = s->wc;
    const struct cfg *c = wc->cfg;
    struct pick_req req;
    struct serverconn *sc;
    char msg[256];
    int err = 0;

    if (r->branches) {
        struct serverconn *branch = txn_branch(s, t->shard);
        if (branch != NULL) {
            got_conn(t, branch);
            return;
        }
        t->new_branch = true;
    }
    if (s->sc != NULL && s->sc->srv->shard == t->shard) {
        t->held = true;
        got_conn(t, s->sc);
        return;
    }
    if ((sc = tablelocks_conn(s, t->shard)) != NULL) {
        got_conn(t, sc); /* LOCK TABLES keeps one on this shard */
        return;
    }
    req.shard = t->shard;
    req.read = r->read;
    /* A session that pins (or whose statement will pin) keeps the
     * connection it gets: the primary's, since its later statements may
     * write; autocommit=0 makes every statement part of a transaction. */
    req.stateful = s->pins != 0 || s->txn_begin != NULL ||
                   (s->vars.n > 0 && sessvars_autocommit_off(&s->vars));
    req.route =
        t->to_primary ? ROUTE_PRIMARY : (enum cfg_route_pref)s->route_pref;
    req.need = NULL;
    req.wait = false;
    req.last_write_ms = 0;
    if (r->read && !req.stateful) {
        req.last_write_ms = consist_need(s, t->shard, t->need);
        if (gtidpos_need_any(t->need))
            req.need = t->need;
    }
    s->pick_seed = s->pick_seed * 1103515245u + 12345u;
    req.seed = s->pick_seed ^ s->id;
    req.exclude = exclude;
    t->srv =
        pick_server(wc->servers, c, &req, clock_ms(), &err, msg, sizeof(msg));
    if (t->srv < 0) {
        fail_target(r, t->idx, (uint16_t)err, msg);
        return;
    }
    t->gtid_wait = req.wait;
    /* Noncore users (reports, batch) hold at most their share. */
    if (s->user >= 0 && c->users[s->user].cls == CLASS_NONCORE) {
        sc =
            pool_acquire_noncore(wc->pools[t->srv], &t->waiter, on_acquired, t);
    } else {
        t->waiter.noncore = t->waiter.reserved = t->waiter.in_nc = false;
        sc = pool_acquire(wc->pools[t->srv], &t->waiter, on_acquired, t);
    }
    if (sc != NULL)
        got_conn(t, sc);
}

/* ---- 5. release ------------------------------------------------------- */

/* Gives a target's connection back. The session keeps it (as its held
 * connection) when it was already held, or when this statement left a
 * transaction or state that cannot move on it. */
static void
release(struct eng_target *t, bool dirty)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;
    struct serverconn *sc = t->sc;

    if (sc == NULL)
        return;
    t->sc = NULL;
    if (r->detached) { /* a cursor's: the session is elsewhere */
        if (dirty)
            pool_discard(sc);
        else
            pool_release(sc);
        return;
    }
    if (txn_owns(s, sc)) {
        /* A transaction's branch stays with it between statements. */
        if (dirty) {
            txn_lose(s, sc, "a statement on it failed mid-way");
            return;
        }
        health_report_ok(sc->srv);
        txn_keep(s, sc);
        return;
    }
    /* A KILL QUERY may still be on its way to it: never lend it again. */
    if (s->timed_out && !t->held)
        dirty = true;
    if (tablelocks_settle(s, sc, t->held, dirty))
        return;
    if (dirty) {
        if (t->held)
            s->sc = NULL;
        pool_discard(sc);
        return;
    }
    health_report_ok(sc->srv);
    if (r->n == 1 && r->kind == RELAY_RESULT &&
        (t->rl.warnings > 0 || t->rl.got_err)) /* session/diagnostics.h */
        s->pins |= PIN_WARNINGS;
    if (t->held || (s->sc == NULL && r->n == 1 &&
                    ((t->rl.status & SERVER_STATUS_IN_TRANS) ||
                     (s->pins & ~PIN_TRANSACTION) != 0))) {
        engine_hold(s, sc);
        return;
    }
    pool_release(sc);
}

/* A statement ended (s->status holds its final status): updates the pins,
 * gives the held connection back when nothing holds it, next command. */
void
engine_statement_done(struct session *s)
{
    /* The KILL QUERY may still be on its way: a connection it could hit
     * is never lent to anyone else. */
    if (s->timed_out && s->sc != NULL && s->pins == 0)
        engine_release(s, true);
    if (s->txn != NULL)
        s->status |= SERVER_STATUS_IN_TRANS;
    if (s->status & SERVER_STATUS_IN_TRANS)
        s->pins |= PIN_TRANSACTION;
    else
        s->pins &= ~PIN_TRANSACTION;
    cachefill_drop(s); /* kept by run_finish() if it could be */
    cachefill_writes_done(s, (s->pins & PIN_TRANSACTION) != 0);
    if (s->exec_ps != NULL) {
        pstmt_clear_long_data(s->exec_ps);
        s->exec_ps = NULL;
    }
    session_count_pins(s);
    /* A transaction spanning shards keeps its branches, not s->sc. */
    if (s->pins == 0 || (s->txn != NULL && s->pins == PIN_TRANSACTION))
        engine_release(s, false);
    session_command_done(s);
}

/* Every target has finished: the end of the answer, then the command. */
static void
run_finish(struct eng_run *r)
{
    struct session *s = r->s;
    enum eng_sink_end se = r->sink ? r->sink->end(r) : SINK_ENGINE;
    bool cut = false;

    if (se == SINK_GONE)
        return;
    if (se == SINK_ANSWERED) {
        /* the cursor answered from its sink (session/cursor.c) */
    } else if (r->mode == EC_MERGE) {
        /* The merge wrote the whole answer, an error included, unless a
         * packet to the client was cut. */
        uint16_t code;
        cut = !merge_client_intact(r->m);
        s->status = merge_status_flags(r->m);
        s->seq = merge_next_seq(r->m);
        s->cmd_err |= merge_error(r->m, &code) != NULL;
    } else if (r->answered) {
        /* 1969 went out when the timeout fired; the answer was dropped */
    } else if (r->failed) {
        if (r->relayed)
            cut = true;
        else
            session_send_error(s, r->err_code,
                               r->err_code == ER_MYSHARD_NO_BACKEND ||
                                       r->err_code == ER_MYSHARD_CIRCUIT_OPEN
                                   ? "08S01"
                                   : "HY000",
                               "%s", r->err_msg);
    } else if (r->mode == EC_COMBINE) {
        combine_write_ok(r); /* session/combine.h */
        s->status = r->status;
    } else {
        s->status = r->t[0].rl.status;
        s->cmd_err |= r->t[0].rl.got_err;
    }
    s->status &= (uint16_t)~SERVER_MORE_RESULTS_EXISTS;
    lastid_note_run(r);
    if (s->fill != NULL)
        cachefill_store(s, r->mode == EC_RELAY && !r->failed && !r->answered &&
                               !s->timed_out && r->kind == RELAY_RESULT &&
                               !r->t[0].rl.got_err);
    uservars_done(s, false);            /* a SET that got no answer */
    connstate_note_set(s, NULL, false); /* keeps nothing */
    run_free(r);
    if (cut) {
        session_close(s, "backend failed mid-result");
        return;
    }
    engine_statement_done(s);
}

/* Marks a target finished and gives its connection back; true when it was
 * the last one. */
static bool
settle(struct eng_target *t, bool dirty)
{
    if (t->step == ES_DONE)
        return false;
    pool_cancel(&t->waiter);
    release(t, dirty);
    t->step = ES_DONE;
    return ++t->run->ndone == t->run->n;
}

static void
target_done(struct eng_target *t, bool dirty)
{
    if (settle(t, dirty))
        run_finish(t->run);
}

static void
set_error(struct eng_run *r, uint16_t code, const char *msg)
{
    if (!r->failed) {
        r->failed = true;
        r->err_code = code;
        r->err_msg = xstrdup(msg);
    }
}

/* Fails the statement: targets still working lose their connections. */
static void
fail(struct eng_run *r, uint16_t code, const char *msg)
{
    bool last = false;

    set_error(r, code, msg);
    for (int i = 0; i < r->n; i++) {
        struct eng_target *t = &r->t[i];
        if (t->step != ES_DONE)
            last |= settle(t, t->step != ES_ACQUIRE);
    }
    if (last)
        run_finish(r);
}

/* Fails target i: in a merge only that source (the merge answers the
 * client and drains the others), else the statement. */
static void
fail_target(struct eng_run *r, int i, uint16_t code, const char *msg)
{
    if (r->mode == EC_MERGE && i >= 0) {
        struct eng_target *t = &r->t[i];
        enum merge_status ms =
            merge_fail_source(r->m, i, run_out(r), run_high(r), code, msg);
        if (settle(t, t->step != ES_ACQUIRE)) {
            run_finish(r);
            return;
        }
        merge_progress(r, ms);
        return;
    }
    fail(r, code, msg);
}

/* ---- 4. consume ------------------------------------------------------- */

/* A swallowed step (prelude, prepare) ended: go on or fail. */
static void
step_done(struct eng_target *t, enum relay_status rs)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;
    char msg[300];

    if (t->waiting && !consist_wait_done(t, rs)) {
        /* The replica is behind: the primary answers instead. The
         * replica's connection goes back as it is (nothing of the
         * session's is on it yet). */
        struct serverconn *sc = t->sc;
        t->sc = NULL;
        if (rs == RELAY_DONE)
            pool_release(sc);
        else
            pool_discard(sc);
        t->step = ES_ACQUIRE;
        t->held = false;
        t->to_primary = true;
        acquire(t, -1);
        return;
    }
    if (rs == RELAY_BROKEN || t->rl.got_err) {
        if (t->step == ES_PREPARE) {
            snprintf(msg, sizeof(msg), "%s", t->rl.err_msg);
        } else {
            /* The connection cannot take the client's state (schema
             * missing on the server, ...): report and drop it. */
            log_warn("backend refused session state client=%u backend=%s "
                     "error=%u message=\"%s\"",
                     s->id, t->sc->srv->addr, t->rl.err_code, t->rl.err_msg);
            snprintf(msg, sizeof(msg),
                     "myshard: shard '%s' refused the session's schema, "
                     "variables or transaction: %s",
                     s->wc->cfg->shards[t->shard].name, t->rl.err_msg);
        }
        t->sc->schema[0] = '\0';
        fail_target(r, t->idx,
                    t->rl.err_code ? t->rl.err_code : ER_UNKNOWN_ERROR, msg);
        return;
    }
    if (t->step == ES_PREPARE) {
        size_t len;
        const char *sql = stmtsend_text(t, &len);
        serverconn_stmt_add(t->sc, sql, len, t->rl.prep_stmt_id);
        stmtsend_execute(t, t->rl.prep_stmt_id);
        running(t);
        return;
    }
    if (prelude(t))
        return;
    send_statement(t);
}

/* One target's answer ended cleanly, its connection still at hand: what
 * the statement left on it is recorded. */
static void
relay_done(struct eng_target *t)
{
    struct session *s = t->run->s;

    if (t->run->kind == RELAY_PREPARE && !t->rl.got_err)
        pstmt_register(s, t->sc, t->rl.prep_params, t->rl.prep_cols);
    consist_note(s, t->sc, &t->rl, t->run->read);
    if (!t->run->detached) /* not a cursor's */
        uservars_done(s, !t->rl.got_err);
    if (s->tracks_vars && !t->run->detached) /* not a cursor's */
        connstate_note_set(s, t->sc, !t->rl.got_err);
}

/* After a target's answer: its connection's LAST_INSERT_ID(), when the
 * answer cannot tell it (session/lastid.h). True when the probe went out:
 * the target ends when its answer is read (probe_read). */
static bool
probe(struct eng_target *t)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;

    if (s->lid_need == LID_NONE || r->kind != RELAY_RESULT || r->answered ||
        r->detached || s->timed_out || !lastid_wants_probe(s, &t->rl))
        return false;
    lastid_send_probe(t->sc);
    t->step = ES_PROBE;
    return true;
}

static void
probe_read(struct eng_target *t, struct evbuffer *in)
{
    int rc = lastid_read_probe(in, &t->lid);

    if (rc == 0)
        return;
    if (rc < 0)
        log_warn("malformed LAST_INSERT_ID() answer client=%u backend=%s",
                 t->run->s->id, t->sc->srv->addr);
    t->probed = rc == 1;
    target_done(t, rc < 0);
}

/* One target: its answer moves to the client as it is. */
static void
consume_relay(struct eng_target *t, struct evbuffer *in)
{
    struct eng_run *r = t->run;
    struct session *s = r->s;
    struct evbuffer *out = run_out(r);
    enum relay_status rs;
    size_t before = 0;

    if (r->kind == RELAY_PREPARE && !t->rl.started && !pstmt_patch_ok(s, in))
        return; /* the PREPARE_OK is not complete yet */
    if (s->fill != NULL)
        before = evbuffer_get_length(out);
    /* After a timeout answered the client, the rest is dropped. */
    rs = relay_pump(&t->rl, in, r->answered ? NULL : out, run_high(r));
    if (s->fill != NULL)
        cachefill_copy(s, before);
    r->relayed |= t->rl.started;
    switch (rs) {
    case RELAY_MORE:
    case RELAY_PAUSED: /* engine_client_drained() resumes it */
        return;
    case RELAY_DONE:
        relay_done(t);
        if (probe(t))
            return;
        target_done(t, false);
        return;
    case RELAY_BROKEN:
        log_warn("protocol error from backend client=%u backend=%s", s->id,
                 t->sc->srv->addr);
        fail(r, ER_UNKNOWN_ERROR, "myshard: a shard sent a malformed answer");
        return;
    }
}

/* Several targets' OKs: summed into one; rows cannot be combined. */
static void
consume_combine(struct eng_target *t, struct evbuffer *in)
{
    struct eng_run *r = t->run;
    enum relay_status rs = relay_pump(&t->rl, in, NULL, 0);

    if (rs == RELAY_MORE)
        return;
    if (rs == RELAY_BROKEN) {
        fail(r, ER_UNKNOWN_ERROR, "myshard: a shard sent a malformed answer");
        return;
    }
    consist_note(r->s, t->sc, &t->rl, r->read);
    if (t->rl.got_err) {
        set_error(r, t->rl.err_code, t->rl.err_msg);
    } else if (t->rl.got_ok) {
        if (!r->ok_first_only || t->idx == 0)
            r->affected += t->rl.affected;
        r->status = t->rl.status;
    } else {
        set_error(r, ER_NOT_SUPPORTED_YET,
                  "myshard: a statement returning rows from several shards "
                  "cannot be combined; narrow it to one shard");
    }
    if (probe(t))
        return;
    target_done(t, false);
}

/* A transaction's step: its OK or ERR, or the failure, to the caller. */
static void
step_end(struct eng_target *t, enum eng_outcome o, const char *why)
{
    struct eng_run *r = t->run;
    struct serverconn *sc = t->sc;
    eng_done_fn done = r->done;
    void *arg = r->arg;

    t->sc = NULL;
    t->step = ES_DONE;
    r->answer(arg, t->idx, sc, o, &t->rl, why);
    if (++r->ndone < r->n)
        return;
    run_free(r);
    done(arg); /* may start the next run in r */
}

static void
consume_step(struct eng_target *t, struct evbuffer *in)
{
    enum relay_status rs = relay_pump(&t->rl, in, NULL, 0);

    if (rs != RELAY_MORE)
        step_end(t, rs == RELAY_BROKEN ? EO_BROKEN : EO_ANSWERED,
                 "malformed answer");
}

/* After the merge moved: sources that ended give their connections back;
 * a broken source closes what is still open. */
static void
merge_progress(struct eng_run *r, enum merge_status ms)
{
    bool last = false;

    if (ms == MERGE_BROKEN) {
        log_warn("malformed shard result client=%u source=%d", r->s->id,
                 merge_broken_source(r->m));
        for (int i = 0; i < r->n; i++)
            if (r->t[i].step != ES_DONE)
                last |= settle(&r->t[i], r->t[i].step != ES_ACQUIRE);
        if (last)
            run_finish(r);
        return;
    }
    for (int i = 0; i < r->n; i++) {
        struct eng_target *t = &r->t[i];
        if (t->step == ES_RUN && merge_source_done(r->m, i))
            last |= settle(t, false);
    }
    if (last)
        run_finish(r);
}

static void
pump(struct eng_target *t)
{
    struct eng_run *r = t->run;
    struct evbuffer *in = serverconn_input(t->sc);
    enum relay_status rs;

    if (t->step == ES_PRELUDE || t->step == ES_PREPARE) {
        rs = relay_pump(&t->rl, in, NULL, 0);
        if (rs != RELAY_MORE)
            step_done(t, rs);
        return;
    }
    if (t->step == ES_PROBE) {
        probe_read(t, in);
        return;
    }
    if (t->step != ES_RUN)
        return;
    switch (r->mode) {
    case EC_RELAY:
        consume_relay(t, in);
        return;
    case EC_MERGE:
        merge_progress(r,
                       merge_pump(r->m, t->idx, in, run_out(r), run_high(r)));
        return;
    case EC_COMBINE:
        consume_combine(t, in);
        return;
    case EC_STEPS:
        consume_step(t, in);
        return;
    }
}

static void
target_read(struct serverconn *sc, void *arg)
{
    struct eng_run *r = ((struct eng_target *)arg)->run;
    bool cursor = r->sink != NULL; /* then r outlives the pump */

    (void)sc;
    pump(arg);
    if (cursor && r->sink != NULL) /* not run_free()d */
        r->sink->turn(r);
}

static void
target_error(struct serverconn *sc, void *arg, const char *why)
{
    struct eng_target *t = arg;
    struct eng_run *r = t->run;
    struct session *s = r->s;
    char msg[300];

    if (r->mode == EC_STEPS) { /* the caller reports it */
        step_end(t, EO_LOST, why);
        return;
    }
    stmtlog_event(s, LOG_WARN, "backend connection lost",
                  (struct log_field[]){LOG_STR("backend", sc->srv->addr),
                                       LOG_STR("reason", why)},
                  2);
    atomic_fetch_add(&sc->srv->errors, 1);
    if (!r->detached) /* else an idle cursor's (net_write_timeout) */
        health_report(sc->srv, false, &s->wc->cfg->backend.health, clock_ms());
    if (t->step == ES_PROBE) {
        /* The statement's answer is whole: only the probe is lost. */
        target_done(t, true);
        return;
    }
    if (r->n == 1 && !r->branches && !r->detached) {
        /* The transaction or the session state it carried is gone. */
        s->pins &= PIN_POOL_SESSION;
        if (t->step == ES_RUN) {
            release(t, true);
            if (retry(t))
                return;
        }
    }
    snprintf(msg, sizeof(msg),
             "myshard: lost the connection to shard '%s' (%s) while running "
             "the statement; it may or may not have run there",
             s->wc->cfg->shards[t->shard].name, sc->srv->addr);
    fail_target(r, t->idx, ER_MYSHARD_NO_BACKEND, msg);
}

/* ---- starting a run --------------------------------------------------- */

/* Acquires for every target once all are set up: a connection that is
 * ready at once starts its target immediately, and may end the run (and
 * start the next command) before the loop is over. */
static void
start(struct eng_run *r)
{
    uint32_t gen = r->gen;

    /* Never IDLE while the statement is in flight: the session reads no
     * further command until it ends. One target's state follows its steps
     * (WAIT_BACKEND, PRELUDE, RELAY); several targets' is RELAY. */
    session_set_state(r->s, r->n > 1 ? SESS_RELAY : SESS_WAIT_BACKEND);
    for (int i = 0; r->active && r->gen == gen && i < r->n; i++)
        if (r->t[i].step == ES_ACQUIRE)
            acquire(&r->t[i], -1);
}

void
engine_forward(struct session *s, int shard, enum relay_kind kind, bool read)
{
    struct eng_run *r = run_begin(&s->run, s, 1, EC_RELAY, kind, read);

    /* A held connection answers whatever shard it is on. */
    r->one.shard = s->sc != NULL ? s->sc->srv->shard : shard;
    start(r);
}

void
engine_run(struct session *s, const struct route_plan *plan, struct pstmt *ps,
           const uint8_t *exec, size_t exec_len, const size_t *exec_ends)
{
    engine_run_into(&s->run, s, plan, ps, exec, exec_len, exec_ends, NULL);
}

void
engine_run_into(struct eng_run *r, struct session *s,
                const struct route_plan *plan, struct pstmt *ps,
                const uint8_t *exec, size_t exec_len, const size_t *exec_ends,
                struct eng_sink *sink)
{
    int n = plan->ntargets;
    size_t total = 0, off = 0;

    run_begin(r, s, n,
              n == 1        ? EC_RELAY
              : plan->merge ? EC_MERGE
                            : EC_COMBINE,
              RELAY_RESULT, plan->role == ROLE_READ);
    r->sink = sink;
    r->branches = s->txn != NULL;
    r->ok_first_only = !plan->sum_affected;
    r->rows_info = plan->sum_affected && n > 1 && plan->kind != NULL &&
                   (strcmp(plan->kind, "insert") == 0 ||
                    strcmp(plan->kind, "replace") == 0);
    r->ps = ps;
    if (ps != NULL) {
        r->exec = exec_len <= sizeof(r->exec_inline) ? r->exec_inline
                                                     : xmalloc(exec_len);
        memcpy(r->exec, exec, exec_len);
        r->exec_len = exec_len;
    } else {
        for (int i = 0; i < n; i++)
            total += plan->targets[i].len + 1;
        r->buf = xmalloc(total ? total : 1);
    }
    if (r->mode == EC_MERGE)
        r->m = merge_new(&plan->ms, n, ps != NULL, s->seq);
    for (int i = 0; i < n; i++) {
        struct eng_target *t = &r->t[i];
        const struct route_target *pt = &plan->targets[i];
        char *renamed = NULL;
        size_t rlen = 0;

        t->shard = pt->shard;
        if (ps != NULL && exec_ends != NULL) { /* its own parameters */
            t->exec_off = i ? exec_ends[i - 1] : 0;
            t->exec_len = exec_ends[i] - t->exec_off;
        }
        if (ps != NULL) {
            /* a merge's rewrite of the statement: prepared as rewritten
             * (the plan's buffer is the worker's, so copied) */
            if (pt->sql != ps->sql || pt->len != ps->len) {
                t->own = xmalloc(pt->len ? pt->len : 1);
                memcpy(t->own, pt->sql, pt->len);
                t->pkt_len = pt->len;
            }
            continue;
        }
        if (schema_rewrite_text(s, pt->sql, pt->len, &renamed, &rlen)) {
            /* Renamed schemas: this target's text gets its own copy. */
            t->own = xmalloc(rlen + 1);
            t->own[0] = COM_QUERY;
            memcpy(t->own + 1, renamed, rlen);
            free(renamed);
            t->pkt = t->own;
            t->pkt_len = rlen + 1;
            continue;
        }
        r->buf[off] = COM_QUERY;
        memcpy(r->buf + off + 1, pt->sql, pt->len);
        t->pkt = r->buf + off;
        t->pkt_len = pt->len + 1;
        off += t->pkt_len;
    }
    start(r);
}

void
engine_steps(struct eng_run *r, int n, struct serverconn *const *sc,
             char *const *sql, eng_answer_fn answer, eng_done_fn done,
             void *arg)
{
    run_begin(r, NULL, n, EC_STEPS, RELAY_SIMPLE, false);
    r->answer = answer;
    r->done = done;
    r->arg = arg;
    for (int i = 0; i < n; i++) {
        struct eng_target *t = &r->t[i];
        size_t len = strlen(sql[i]);
        t->own = xmalloc(len + 1);
        t->own[0] = COM_QUERY;
        memcpy(t->own + 1, sql[i], len);
        t->pkt = t->own;
        t->pkt_len = len + 1;
        t->sc = sc[i];
        t->shard = sc[i]->srv->shard;
        t->srv = sc[i]->srv->index;
    }
    /* Answers come from the event loop: none can end the run here. */
    for (int i = 0; i < n; i++) {
        serverconn_lend(r->t[i].sc, target_read, target_error, &r->t[i]);
        send_statement(&r->t[i]);
    }
}

void
engine_steps_cancel(struct eng_run *r)
{
    if (r->active && r->mode == EC_STEPS)
        run_free(r);
}

/* ---- events from the client's side ------------------------------------ */

void
engine_client_drained(struct session *s)
{
    engine_pump(&s->run);
}

void
engine_pump(struct eng_run *r)
{
    uint32_t gen = r->gen;

    if (!r->active)
        return;
    if (r->mode == EC_MERGE) {
        merge_progress(r, merge_pump(r->m, -1, NULL, run_out(r), run_high(r)));
        return;
    }
    for (int i = 0; r->active && r->gen == gen && i < r->n; i++)
        if (r->t[i].step == ES_RUN)
            pump(&r->t[i]);
}

void
engine_timeout(struct session *s)
{
    struct eng_run *r = s->crun != NULL ? s->crun : &s->run;
    const struct cfg *c = s->wc->cfg;

    if (!r->active || s->timed_out)
        return;
    for (int i = 0; i < r->n; i++) {
        struct eng_target *t = &r->t[i];
        if (t->step != ES_ACQUIRE && t->step != ES_DONE && t->sc != NULL)
            killer_kill(t->sc->srv, t->sc->thread_id, &c->backend);
    }
    STATS_ADD(&s->wc->stats, query_timeouts_total, 1);
    stmtlog_event(
        s, LOG_WARN, "query timeout",
        (struct log_field[]){
            LOG_NUM("targets", r->n),
            LOG_STR("backend", r->t[0].sc ? r->t[0].sc->srv->addr : NULL),
            LOG_NUM("thread_id", r->t[0].sc ? r->t[0].sc->thread_id : 0),
            LOG_NUM("timeout_ms", c->backend.query_timeout_ms)},
        4);
    if (r->mode == EC_MERGE) {
        /* The merge answers 1969 for one source (rows already sent end
         * with it) and drains the others, whose kills it then ignores. */
        char msg[300];
        snprintf(msg, sizeof(msg),
                 "myshard: the statement ran longer than "
                 "backend.query_timeout (%lld ms) and was killed on its "
                 "shards; make it faster or raise the timeout",
                 (long long)c->backend.query_timeout_ms);
        for (int i = 0; i < r->n; i++)
            if (r->t[i].step == ES_RUN && r->t[i].sc != NULL) {
                fail_target(r, i, ER_STATEMENT_TIMEOUT, msg);
                return; /* the run may be over */
            }
        return;
    }
    s->timed_out = true;
    if (r->relayed)
        return; /* rows reached the client: the server's error ends them */
    r->answered = true;
    session_send_error(s, ER_STATEMENT_TIMEOUT, "70100",
                       "myshard: the statement ran longer than "
                       "backend.query_timeout (%lld ms) and was killed on "
                       "%s; make it faster or raise the timeout",
                       (long long)c->backend.query_timeout_ms,
                       r->n == 1 && r->t[0].sc ? r->t[0].sc->srv->addr
                                               : "its shards");
}

void
engine_abort(struct session *s)
{
    engine_drop(&s->run);
}

void
engine_drop(struct eng_run *r)
{
    struct session *s = r->s;

    if (!r->active)
        return;
    for (int i = 0; i < r->n; i++) {
        struct eng_target *t = &r->t[i];
        if (t->step == ES_DONE)
            continue;
        pool_cancel(&t->waiter);
        if (t->held)
            s->sc = NULL;
        if (t->sc && txn_owns(s, t->sc))
            txn_lose(s, t->sc, "the client went away mid-statement");
        else if (t->sc)
            pool_discard(t->sc);
        t->sc = NULL;
        t->step = ES_DONE;
    }
    r->gen++; /* nothing may answer a client that is gone */
    run_free(r);
}
