/*
 * txn.c - see txn.h: opening a transaction that spans shards and ending
 * it (its branches while statements run: txnbranch.c). At the end every
 * branch has a short list of steps for
 * the phase; the engine runs them (session/engine.h, engine_steps()), one
 * round at a time, each round the next step of every branch still going.
 * When a round has nothing left to run, the phase decides what comes next:
 * the xa log's decision, the error the client gets, the resolver's hand-off.
 */
#include "session/txn.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "backend/xalog.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "session/cachefill.h"
#include "session/consist.h"
#include "session/engine.h"
#include "session/relay.h"
#include "session/session.h"
#include "session/txnbranch.h"
#include "route/placement.h"
#include "route/router.h"
#include "sql/classify.h"

static void phase_done(struct txn *tx);

bool
txn_spans_shards(const struct session *s)
{
    const struct cfg *c = s->wc->cfg;

    return s->schema >= 0 && c->schemas[s->schema].transactions != TXN_DENY &&
           (c->schemas[s->schema].transactions != TXN_XA || xalog_enabled());
}

static struct txn *
txn_new(struct session *s, const char *sql, size_t len)
{
    const struct cfg *c = s->wc->cfg;
    struct txn *tx = xcalloc(1, sizeof(*tx));

    tx->s = s;
    tx->wc = s->wc;
    tx->mode = c->schemas[s->schema].transactions;
    tx->cap = c->nshards;
    tx->b = xcalloc((size_t)tx->cap, sizeof(*tx->b));
    if (tx->mode == TXN_XA)
        xalog_next_gtrid(tx->gtrid, sizeof(tx->gtrid));
    else
        tx->begin_sql = sql ? xstrndup(sql, len) : xstrdup("BEGIN");
    return tx;
}

static void
txn_free(struct txn *tx)
{
    if (tx->delay)
        event_free(tx->delay);
    engine_steps_cancel(&tx->run);
    free(tx->who);
    free(tx->begin_sql);
    free(tx->b);
    free(tx);
}

/* The session is in a transaction as far as routing and pins go. */
static void
session_enter(struct session *s, struct txn *tx)
{
    s->txn = tx;
    s->status |= SERVER_STATUS_IN_TRANS;
    s->pins |= PIN_TRANSACTION;
}

void
txn_begin(struct session *s, const char *sql, size_t len)
{
    session_enter(s, txn_new(s, sql, len));
    session_send_ok(s, 0, NULL);
    session_command_done(s);
}

void
txn_begin_snapshot(struct session *s, const char *sql, size_t len)
{
    const struct cfg *c = s->wc->cfg;
    const struct cfg_schema *sc = &c->schemas[s->schema];
    struct route_plan *plan = s->wc->plan;
    struct txn *tx = txn_new(s, sql, len);
    uint64_t m = 1ull << sc->default_shard;

    tx->mode = TXN_BEST_EFFORT; /* BEGIN (the client's text) per shard */
    tx->read_only = true;
    session_enter(s, tx);
    for (int i = 0; i < sc->ntables; i++)
        if (!sc->tables[i].global && sc->tables[i].rule >= 0)
            m |= placement_rule_mask(&c->rules[sc->tables[i].rule]);
    /* every branch now: the prelude starts it, DO 0 answers OK */
    plan->action = ROUTE_FORWARD;
    plan->role = ROLE_PRIMARY;
    plan->kind = "begin";
    plan->ntargets = 0;
    plan->merge = plan->sum_affected = plan->scatter = false;
    plan->needs_params = plan->renumbered = false;
    plan->lock_mask = 0;
    plan->table_rule = -1;
    plan->replicated = true; /* one OK for all */
    for (; m != 0 && plan->ntargets < ROUTE_MAX_SHARDS; m &= m - 1) {
        plan->targets[plan->ntargets].shard = __builtin_ctzll(m);
        plan->targets[plan->ntargets].sql = "DO 0";
        plan->targets[plan->ntargets].len = 4;
        plan->ntargets++;
    }
    engine_run(s, plan, NULL, NULL, 0, NULL);
}

bool
txn_refuses_write(struct session *s, const struct stmt_info *st)
{
    if (s->txn == NULL || !s->txn->read_only ||
        (!st->is_write && st->kind != STMT_DDL && st->kind != STMT_CALL))
        return false;
    session_send_error(s, ER_NOT_SUPPORTED_YET, "HY000",
                       "myshard: this transaction was started WITH CONSISTENT "
                       "SNAPSHOT and reads every shard, and cross-shard "
                       "transactions are denied for this schema "
                       "(transactions: deny): it cannot write; COMMIT it and "
                       "write in a transaction of its own");
    session_command_done(s);
    return true;
}

void
txn_begin_implicit(struct session *s)
{
    session_enter(s, txn_new(s, NULL, 0));
}

/* ---- ending: steps on every branch, run by the engine ----------------- */

static void
step_answered(void *arg, int idx, struct serverconn *sc, enum eng_outcome o,
              const struct relay *rl, const char *why)
{
    struct txn *tx = arg;
    struct branch *br = &tx->b[tx->who[idx]];
    char what[300];

    if (o != EO_ANSWERED) {
        txnbranch_note_failure(tx, br,
                               o == EO_LOST ? "lost its connection"
                                            : "sent a malformed answer");
        br->failed = true;
        txnbranch_drop(br, why);
        return;
    }
    txnbranch_idle(br, sc);
    if (tx->s != NULL) /* a COMMIT's GTID: what later reads need */
        consist_note(tx->s, sc, rl, false);
    if (rl->got_err) {
        snprintf(what, sizeof(what), "answered %u: %s", rl->err_code,
                 rl->err_msg);
        txnbranch_note_failure(tx, br, what);
        br->failed = true;
        return;
    }
    switch (br->steps[tx->round]) {
    case OP_XA_END:
        br->ended = true;
        break;
    case OP_XA_PREPARE:
        br->prepared = true;
        break;
    case OP_XA_COMMIT:
    case OP_XA_COMMIT_ONE_PHASE:
    case OP_XA_ROLLBACK:
    case OP_COMMIT:
    case OP_ROLLBACK:
        br->active = br->ended = br->prepared = false;
        break;
    default:
        break;
    }
}

static void run_round(struct txn *tx);

static void
round_done(void *arg)
{
    struct txn *tx = arg;

    tx->round++;
    run_round(tx);
}

/* The engine runs the next step of every branch still going; when none
 * is left, the phase is over. */
static void
run_round(struct txn *tx)
{
    struct serverconn **sc = xcalloc((size_t)tx->nb + 1, sizeof(*sc));
    char **sql = xcalloc((size_t)tx->nb + 1, sizeof(*sql));
    int n = 0;

    free(tx->who);
    tx->who = xcalloc((size_t)tx->nb + 1, sizeof(*tx->who));
    for (int i = 0; i < tx->nb; i++) {
        struct branch *br = &tx->b[i];
        if (br->sc == NULL || br->failed || tx->round >= br->nsteps)
            continue;
        sql[n] = xmalloc(512);
        txnbranch_sql(tx, br, br->steps[tx->round], sql[n], 512);
        sc[n] = br->sc;
        tx->who[n++] = i;
    }
    if (n > 0)
        engine_steps(&tx->run, n, sc, sql, step_answered, round_done, tx);
    for (int i = 0; i < n; i++)
        free(sql[i]);
    free(sql);
    free(sc);
    if (n == 0)
        phase_done(tx);
}

/* Every live branch runs the steps its state calls for in this phase. */
static void
start_phase(struct txn *tx, enum txn_phase ph)
{
    tx->phase = ph;
    for (int i = 0; i < tx->nb; i++) {
        struct branch *br = &tx->b[i];
        int n = 0;

        br->failed = false;
        if (br->sc == NULL)
            continue;
        switch (ph) {
        case PH_PREPARE:
            br->steps[n++] = OP_XA_END;
            br->steps[n++] = OP_XA_PREPARE;
            break;
        case PH_COMMIT:
            if (tx->mode != TXN_XA) {
                br->steps[n++] = OP_COMMIT;
            } else if (tx->two_phase) {
                br->steps[n++] = OP_XA_COMMIT;
            } else {
                br->steps[n++] = OP_XA_END;
                br->steps[n++] = OP_XA_COMMIT_ONE_PHASE;
            }
            break;
        case PH_ROLLBACK:
            if (tx->mode != TXN_XA) {
                br->steps[n++] = OP_ROLLBACK;
                break;
            }
            if (!br->active && !br->ended && !br->prepared)
                break;
            if (!br->ended && !br->prepared)
                br->steps[n++] = OP_XA_END;
            br->steps[n++] = OP_XA_ROLLBACK;
            break;
        default:
            break;
        }
        br->nsteps = n;
    }
    tx->round = 0;
    run_round(tx);
}

static void finish(struct txn *tx);

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_phase(arg, PH_COMMIT);
}

static void
phase_done(struct txn *tx)
{
    switch (tx->phase) {
    case PH_PREPARE:
        if (tx->failed) {
            tx->err_code = ER_XA_RBROLLBACK;
            start_phase(tx, PH_ROLLBACK);
            return;
        }
        if (!xalog_commit(tx->gtrid)) {
            tx->failed = true;
            tx->err_code = ER_XA_RBROLLBACK;
            snprintf(tx->err, sizeof(tx->err),
                     "the commit decision could not be written to the xa "
                     "log");
            start_phase(tx, PH_ROLLBACK);
            return;
        }
        tx->two_phase = true;
        STATS_ADD(&tx->wc->stats, xa_commits_total, 1);
        if (tx->s && tx->s->wc->cfg->xa_commit_delay_ms > 0) {
            int64_t ms = tx->s->wc->cfg->xa_commit_delay_ms;
            struct timeval tv = {(time_t)(ms / 1000),
                                 (suseconds_t)(ms % 1000) * 1000};
            tx->phase = PH_DELAY;
            tx->delay = evtimer_new(tx->s->wc->w->base, delay_cb, tx);
            evtimer_add(tx->delay, &tv);
            return;
        }
        start_phase(tx, PH_COMMIT);
        return;
    case PH_COMMIT:
        if (tx->two_phase) {
            if (tx->failed) {
                /* The decision stands: the branch stays prepared until
                 * the resolver (or a restart's recovery) commits it. */
                log_error("xa commit incomplete gtrid=%s error=\"%s\"; "
                          "committing the rest in the background",
                          tx->gtrid, tx->err);
                xalog_commit_incomplete(tx->gtrid);
                tx->failed = false;
            } else {
                xalog_done(tx->gtrid);
            }
        } else if (tx->failed) {
            tx->err_code = ER_ERROR_DURING_COMMIT;
        }
        finish(tx);
        return;
    case PH_ROLLBACK:
        STATS_ADD(&tx->wc->stats, xa_rollbacks_total, 1);
        if (!tx->commit)
            tx->failed = false; /* what a ROLLBACK leaves, disconnects undo */
        if (!tx->failed && tx->commit && tx->broken[0]) {
            tx->failed = true;
            tx->err_code = ER_XA_RBROLLBACK;
            snprintf(tx->err, sizeof(tx->err), "%s", tx->broken);
        }
        finish(tx);
        return;
    default:
        return;
    }
}

/* Every branch has answered: connections back, then the client's answer. */
static void
finish(struct txn *tx)
{
    struct session *s = tx->s;

    for (int i = 0; i < tx->nb; i++) {
        struct branch *br = &tx->b[i];
        struct serverconn *sc = br->sc;
        if (sc == NULL)
            continue;
        br->sc = NULL;
        /* A branch left mid-transaction (a step failed) is not clean. */
        if (br->active || br->ended || br->prepared || br->failed)
            pool_discard(sc);
        else
            pool_release(sc);
    }
    if (s == NULL) {
        txn_free(tx);
        return;
    }
    s->txn = NULL;
    s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    s->pins &= ~PIN_TRANSACTION;
    cachefill_writes_done(s, false); /* committed (or not): visible now */
    if (tx->failed) {
        const char *what =
            tx->err_code == ER_XA_RBROLLBACK
                ? "the transaction was rolled back on every shard"
            : tx->mode == TXN_XA ? "the transaction failed to commit"
                                 : "the commit failed on a shard; the "
                                   "other shards may have committed "
                                   "(transactions: best_effort)";
        session_send_error(s, tx->err_code ? tx->err_code : ER_UNKNOWN_ERROR,
                           tx->err_code == ER_XA_RBROLLBACK ? "XA100" : "HY000",
                           "myshard: %s: %s", what, tx->err);
    } else if (tx->then_run) {
        /* committed: the statement that committed it runs now, admitted
         * already */
        txn_free(tx);
        s->admitted = true;
        session_dispatch(s);
        return;
    } else {
        if (tx->chain) {
            struct txn *next = txn_new(
                s, tx->begin_sql, tx->begin_sql ? strlen(tx->begin_sql) : 0);
            if (tx->read_only) { /* still one that reads and never writes */
                next->mode = TXN_BEST_EFFORT;
                next->read_only = true;
            }
            session_enter(s, next);
        }
        session_send_ok(s, 0, NULL);
    }
    if (tx->release) {
        txn_free(tx);
        session_close(s, "COMMIT/ROLLBACK RELEASE");
        return;
    }
    txn_free(tx);
    session_command_done(s);
}

void
txn_end(struct session *s, bool commit, bool chain, bool release)
{
    struct txn *tx = s->txn;
    int live = 0;

    tx->commit = commit;
    tx->chain = chain;
    tx->release = release;
    session_set_state(s, SESS_RELAY); /* answered when the branches are */
    for (int i = 0; i < tx->nb; i++)
        live += tx->b[i].sc != NULL;
    if (!commit || tx->broken[0]) {
        start_phase(tx, PH_ROLLBACK);
        return;
    }
    if (tx->mode == TXN_XA && live > 1) {
        start_phase(tx, PH_PREPARE);
        return;
    }
    start_phase(tx, PH_COMMIT);
}

void
txn_commit_then_run(struct session *s)
{
    s->txn->then_run = true;
    txn_end(s, true, false, false);
}

void
txn_abandon(struct session *s, bool now)
{
    struct txn *tx = s->txn;

    if (tx == NULL)
        return;
    s->txn = NULL;
    tx->s = NULL;
    tx->chain = tx->release = false;
    if (now) {
        /* Shutdown: the servers roll back what the closed connections
         * leave; prepared branches wait for the next start's recovery. */
        if (tx->delay)
            evtimer_del(tx->delay);
        for (int i = 0; i < tx->nb; i++)
            if (tx->b[i].sc != NULL) {
                struct serverconn *sc = tx->b[i].sc;
                tx->b[i].sc = NULL;
                pool_discard(sc);
            }
        txn_free(tx);
        return;
    }
    if (tx->phase == PH_OPEN)
        start_phase(tx, PH_ROLLBACK);
    /* else: the end under way completes on its own */
}
