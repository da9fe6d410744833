/*
 * scatter.c - one statement on its shards at once.
 *
 *   scatter_start ─┬─ target 0: pool_acquire ─► prelude ─► [prepare] ─► run ─┐
 *                  ├─ target 1: pool_acquire ─► prelude ─► [prepare] ─► run ─┤
 *                  └─ ...                                                    │
 *   one target:   relay_pump(input ─► client output)          ◄──────────────┤
 *   rows of many: merge_pump(target i's input ─► client output) ◄────────────┤
 *   OKs of many:  swallow each OK/ERR ─► one OK or the first ERR ◄───────────┘
 *   every target done ─► connections back to the pool ─► command done
 *
 * A target that fails (no connection, lost connection, broken protocol)
 * fails the statement: the others' connections are dropped, since their
 * answers are cut short, and the client gets one error (or, if rows already
 * reached it, loses the connection: the only honest signal left).
 */
#include "session/scatter.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/health.h"
#include "backend/killer.h"
#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/clock.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "session/merge.h"
#include "session/prepare.h"
#include "session/query.h"
#include "session/relay.h"
#include "session/session.h"
#include "session/txn.h"

enum target_state {
    TG_WAITING = 0, /* for a pool connection */
    TG_PRELUDE,     /* schema / variables / pending BEGIN being applied */
    TG_PREPARING,   /* the prepared statement being prepared on it */
    TG_RUNNING,     /* the statement runs; its answer flows */
    TG_DONE,
};

enum scatter_mode {
    SX_RELAY = 0, /* one target: its answer goes to the client as it is */
    SX_MERGE,     /* rows of several targets merged */
    SX_COMBINE,   /* OKs of several targets combined into one */
};

struct target {
    struct scatter *sx; /* (ref) */
    int idx;
    int shard;
    int srv;               /* server index serving it, -1 none yet */
    struct serverconn *sc; /* lent, or the session's held one */
    bool held;             /* sc is s->sc: it stays with the session */
    bool new_branch;       /* sc starts the transaction's branch on this
                              shard (session/txn.h) */
    struct pool_waiter waiter;
    const uint8_t *pkt; /* COM_QUERY payload (in sx->buf or own) */
    size_t pkt_len;
    uint8_t *own; /* owned; this target's renamed text */
    enum target_state state;
    struct relay rl; /* prelude answers; the relayed or swallowed
                        answer of the statement */
};

struct scatter {
    struct session *s; /* (ref) */
    enum scatter_mode mode;
    int n; /* targets */
    int ndone;
    bool binary;        /* prepared-statement rows */
    bool read;          /* replicas may serve it */
    bool ok_first_only; /* global table writes: every shard did the
                           same; report one shard's count */
    struct merge *m;    /* owned; SX_MERGE */
    struct pstmt *ps;   /* (ref) executing a prepared statement */
    uint8_t *exec;      /* owned; execute payload, id patched per
                           target */
    size_t exec_len;
    bool failed;
    uint16_t err_code;
    char err_msg[300];
    uint64_t affected;
    uint64_t insert_id;
    uint16_t status;
    bool relayed; /* SX_RELAY sent bytes to the client */
    uint8_t *buf; /* owned; the targets' COM_QUERY payloads */
    struct target t[];
};

static void target_read(struct serverconn *sc, void *arg);
static void target_error(struct serverconn *sc, void *arg, const char *why);
static void pump_target(struct target *t);

static void
scatter_free(struct scatter *sx)
{
    if (sx->m)
        merge_free(sx->m);
    for (int i = 0; i < sx->n; i++)
        free(sx->t[i].own);
    free(sx->exec);
    free(sx->buf);
    free(sx);
}

/* Gives a target's connection back. The session keeps it (as its held
 * connection) when it was already held, or when this statement left a
 * transaction open on it. */
static void
target_release(struct target *t, bool dirty)
{
    struct session *s = t->sx->s;
    struct serverconn *sc = t->sc;

    if (sc == NULL)
        return;
    t->sc = NULL;
    if (txn_owns(s, sc)) {
        /* A transaction's branch stays with it between statements. */
        if (dirty) {
            txn_lose(s, sc, "a statement on it failed mid-way");
            return;
        }
        health_report(sc->srv, true, &s->wc->cfg->backend.health, clock_ms());
        txn_keep(s, sc);
        return;
    }
    /* A KILL QUERY may still be on its way to it: never lend it again. */
    if (s->timed_out && !t->held)
        dirty = true;
    if (dirty) {
        if (t->held)
            s->sc = NULL;
        pool_discard(sc);
        return;
    }
    health_report(sc->srv, true, &s->wc->cfg->backend.health, clock_ms());
    if (t->held || (s->sc == NULL && t->sx->n == 1 &&
                    ((t->rl.status & SERVER_STATUS_IN_TRANS) ||
                     (s->pins & ~PIN_TRANSACTION) != 0))) {
        /* held before, or it now holds the session's transaction or
         * state that cannot move */
        query_hold_backend(s, sc);
        return;
    }
    pool_release(sc);
}

/* Every target has finished: answer the client and end the command. */
static void
finish(struct scatter *sx)
{
    struct session *s = sx->s;

    s->sx = NULL;
    if (sx->mode == SX_MERGE) {
        /* The merge wrote the whole answer, an error included, unless a
         * packet to the client was cut. */
        if (!merge_client_intact(sx->m)) {
            scatter_free(sx);
            session_close(s, "shard failed mid-result");
            return;
        }
        s->status = merge_status_flags(sx->m);
        s->seq = merge_next_seq(sx->m);
    } else if (s->timed_out && sx->mode != SX_MERGE) {
        /* 1969 went out when the timeout fired; the answer was dropped */
    } else if (sx->failed) {
        if (sx->relayed) {
            scatter_free(sx);
            session_close(s, "shard failed mid-result");
            return;
        }
        session_send_error(s, sx->err_code, "HY000", "%s", sx->err_msg);
    } else if (sx->mode == SX_COMBINE) {
        proto_write_ok(s->conn->out, &s->seq, sx->affected, sx->insert_id,
                       sx->status, 0, NULL);
        s->status = sx->status;
    } else {
        s->status = sx->t[0].rl.status;
        s->cmd_err |= sx->t[0].rl.got_err;
    }
    s->status &= (uint16_t)~SERVER_MORE_RESULTS_EXISTS;
    scatter_free(sx);
    query_statement_done(s);
}

/* Marks a target finished and gives its connection back; true when it was
 * the last one. */
static bool
target_settle(struct target *t, bool dirty)
{
    struct scatter *sx = t->sx;

    if (t->state == TG_DONE)
        return false;
    pool_cancel(&t->waiter);
    target_release(t, dirty);
    t->state = TG_DONE;
    return ++sx->ndone == sx->n;
}

static void
target_done(struct target *t, bool dirty)
{
    if (target_settle(t, dirty))
        finish(t->sx);
}

static void
set_error(struct scatter *sx, uint16_t code, const char *msg)
{
    if (!sx->failed) {
        sx->failed = true;
        sx->err_code = code;
        snprintf(sx->err_msg, sizeof(sx->err_msg), "%s", msg);
    }
}

static void merge_progress(struct scatter *sx, enum merge_status ms);
static void fail(struct scatter *sx, uint16_t code, const char *msg);

/* Fails the statement: targets still working lose their connections. In a
 * merge, only target i fails (the merge answers the client and drains the
 * others); i < 0 fails them all. */
static void
fail_target(struct scatter *sx, int i, uint16_t code, const char *msg)
{
    struct session *s = sx->s;

    if (sx->mode == SX_MERGE && i >= 0) {
        struct target *t = &sx->t[i];
        enum merge_status ms = merge_fail_source(
            sx->m, i, s->conn->out, RELAY_CLIENT_HIGH_WATER, code, msg);
        if (target_settle(t, t->state != TG_WAITING)) {
            finish(sx);
            return;
        }
        merge_progress(sx, ms);
        return;
    }
    fail(sx, code, msg);
}

/* Fails the statement: targets still working lose their connections. */
static void
fail(struct scatter *sx, uint16_t code, const char *msg)
{
    bool last = false;

    set_error(sx, code, msg);
    for (int i = 0; i < sx->n; i++) {
        struct target *t = &sx->t[i];
        if (t->state != TG_DONE)
            last |= target_settle(t, t->state != TG_WAITING);
    }
    if (last)
        finish(sx);
}

/* Sends the execute payload under this connection's statement id, after
 * any long data the client sent for it. */
static void
send_execute(struct target *t, uint32_t id)
{
    struct scatter *sx = t->sx;
    struct evbuffer *out = serverconn_output(t->sc);
    struct pstmt *ps = sx->ps;
    uint8_t seq;

    for (uint16_t i = 0; ps->ld && i < ps->nparams; i++) {
        uint8_t hdr[7] = {COM_STMT_SEND_LONG_DATA, (uint8_t)id,
                          (uint8_t)(id >> 8),      (uint8_t)(id >> 16),
                          (uint8_t)(id >> 24),     (uint8_t)i,
                          (uint8_t)(i >> 8)};
        uint8_t *p;
        if (ps->ld[i] == NULL)
            continue;
        p = xmalloc(7 + ps->ld_len[i]);
        memcpy(p, hdr, 7);
        memcpy(p + 7, ps->ld[i], ps->ld_len[i]);
        seq = 0;
        packet_write(out, &seq, p, 7 + ps->ld_len[i]);
        free(p);
    }
    sx->exec[1] = (uint8_t)id;
    sx->exec[2] = (uint8_t)(id >> 8);
    sx->exec[3] = (uint8_t)(id >> 16);
    sx->exec[4] = (uint8_t)(id >> 24);
    seq = 0;
    packet_write(out, &seq, sx->exec, sx->exec_len);
}

static void
send_statement(struct target *t)
{
    struct scatter *sx = t->sx;
    uint8_t seq = 0;

    if (sx->ps != NULL) {
        uint32_t id = serverconn_stmt_find(t->sc, sx->ps->sql, sx->ps->len);
        if (id == 0) {
            uint8_t *p = xmalloc(sx->ps->len + 1);
            p[0] = COM_STMT_PREPARE;
            memcpy(p + 1, sx->ps->sql, sx->ps->len);
            packet_write(serverconn_output(t->sc), &seq, p, sx->ps->len + 1);
            free(p);
            relay_start(&t->rl, RELAY_PREPARE);
            t->state = TG_PREPARING;
            return;
        }
        send_execute(t, id);
    } else {
        packet_write(serverconn_output(t->sc), &seq, t->pkt, t->pkt_len);
    }
    relay_start(&t->rl, RELAY_RESULT);
    t->state = TG_RUNNING;
    atomic_fetch_add(&t->sc->srv->queries, 1);
}

/* Sends what the connection needs before the statement: the session's
 * schema and variables, then, on a shard the transaction has not touched,
 * the start of its branch. True when something was sent. */
static bool
target_prelude(struct target *t)
{
    struct session *s = t->sx->s;

    if (query_send_prelude(s, t->sc, &t->rl))
        return true;
    if (!t->new_branch)
        return false;
    t->new_branch = false;
    txn_start_branch(s, t->sc, &t->rl);
    return true;
}

static void
got_conn(struct target *t, struct serverconn *sc)
{
    struct session *s = t->sx->s;

    if (t->sx->n == 1) {
        s->stmt_route = sc->srv->primary ? SR_primary : SR_replica;
        s->stmt_shard = (uint16_t)(sc->srv->shard + 1);
    } else {
        s->stmt_route = SR_scatter;
        s->stmt_shard = 0;
    }
    t->sc = sc;
    serverconn_lend(sc, target_read, target_error, t);
    if (target_prelude(t)) {
        t->state = TG_PRELUDE;
        return;
    }
    send_statement(t);
}

static void
on_acquired(void *arg, struct serverconn *sc, int err, const char *msg)
{
    struct target *t = arg;

    if (sc == NULL) {
        if (t->srv >= 0 && err == ER_MYSHARD_NO_BACKEND)
            health_report(&t->sx->s->wc->servers->v[t->srv], false,
                          &t->sx->s->wc->cfg->backend.health, clock_ms());
        fail_target(t->sx, t->idx, (uint16_t)err, msg);
        return;
    }
    got_conn(t, sc);
}

/* A swallowed step (prelude, prepare) ended: go on or fail. */
static void
step_done(struct target *t, enum relay_status rs)
{
    struct scatter *sx = t->sx;
    struct session *s = sx->s;
    char msg[300];

    if (rs == RELAY_BROKEN || t->rl.got_err) {
        if (t->state == TG_PREPARING)
            snprintf(msg, sizeof(msg), "%s", t->rl.err_msg);
        else
            snprintf(msg, sizeof(msg),
                     "myshard: shard '%s' refused the session's schema, "
                     "variables or transaction: %s",
                     s->wc->cfg->shards[t->shard].name, t->rl.err_msg);
        t->sc->schema[0] = '\0';
        fail_target(sx, t->idx,
                    t->rl.err_code ? t->rl.err_code : ER_UNKNOWN_ERROR, msg);
        return;
    }
    if (t->state == TG_PREPARING) {
        serverconn_stmt_add(t->sc, sx->ps->sql, sx->ps->len,
                            t->rl.prep_stmt_id);
        send_execute(t, t->rl.prep_stmt_id);
        relay_start(&t->rl, RELAY_RESULT);
        t->state = TG_RUNNING;
        atomic_fetch_add(&t->sc->srv->queries, 1);
        return;
    }
    if (target_prelude(t))
        return;
    send_statement(t);
}

/* After the merge moved: sources that ended give their connections back;
 * a broken source closes what is still open. */
static void
merge_progress(struct scatter *sx, enum merge_status ms)
{
    bool last = false;

    if (ms == MERGE_BROKEN) {
        log_warn("malformed shard result client=%u source=%d", sx->s->id,
                 merge_broken_source(sx->m));
        for (int i = 0; i < sx->n; i++)
            if (sx->t[i].state != TG_DONE)
                last |= target_settle(&sx->t[i], sx->t[i].state != TG_WAITING);
        if (last)
            finish(sx);
        return;
    }
    for (int i = 0; i < sx->n; i++) {
        struct target *t = &sx->t[i];
        if (t->state == TG_RUNNING && merge_source_done(sx->m, i))
            last |= target_settle(t, false);
    }
    if (last)
        finish(sx);
}

static void
pump_target(struct target *t)
{
    struct scatter *sx = t->sx;
    struct session *s = sx->s;
    struct evbuffer *in = serverconn_input(t->sc);
    enum relay_status rs;

    if (t->state == TG_PRELUDE || t->state == TG_PREPARING) {
        rs = relay_pump(&t->rl, in, NULL, 0);
        if (rs != RELAY_MORE)
            step_done(t, rs);
        return;
    }
    if (t->state != TG_RUNNING)
        return;
    switch (sx->mode) {
    case SX_RELAY:
        rs = relay_pump(&t->rl, in, s->timed_out ? NULL : s->conn->out,
                        RELAY_CLIENT_HIGH_WATER);
        sx->relayed |= t->rl.started;
        if (rs == RELAY_BROKEN)
            fail(sx, ER_UNKNOWN_ERROR,
                 "myshard: a shard sent a malformed answer");
        else if (rs == RELAY_DONE)
            target_done(t, false);
        return;
    case SX_MERGE:
        merge_progress(sx, merge_pump(sx->m, t->idx, in, s->conn->out,
                                      RELAY_CLIENT_HIGH_WATER));
        return;
    case SX_COMBINE:
        break;
    }
    rs = relay_pump(&t->rl, in, NULL, 0);
    if (rs == RELAY_MORE)
        return;
    if (rs == RELAY_BROKEN) {
        fail(sx, ER_UNKNOWN_ERROR, "myshard: a shard sent a malformed answer");
        return;
    }
    if (t->rl.got_err) {
        set_error(sx, t->rl.err_code, t->rl.err_msg);
    } else if (t->rl.got_ok) {
        if (!sx->ok_first_only || t->idx == 0)
            sx->affected += t->rl.affected;
        if (sx->insert_id == 0)
            sx->insert_id = t->rl.insert_id;
        sx->status = t->rl.status;
    } else {
        set_error(sx, ER_NOT_SUPPORTED_YET,
                  "myshard: a statement returning rows from several shards "
                  "cannot be combined; narrow it to one shard");
    }
    target_done(t, false);
}

static void
target_read(struct serverconn *sc, void *arg)
{
    (void)sc;
    pump_target(arg);
}

static void
target_error(struct serverconn *sc, void *arg, const char *why)
{
    struct target *t = arg;
    char msg[300];

    log_warn("shard connection lost client=%u backend=%s reason=\"%s\"",
             t->sx->s->id, sc->srv->addr, why);
    atomic_fetch_add(&sc->srv->errors, 1);
    health_report(sc->srv, false, &t->sx->s->wc->cfg->backend.health,
                  clock_ms());
    snprintf(msg, sizeof(msg),
             "myshard: lost the connection to shard '%s' (%s) while running "
             "the statement; it may or may not have run there",
             t->sx->s->wc->cfg->shards[t->shard].name, sc->srv->addr);
    fail_target(t->sx, t->idx, ER_MYSHARD_NO_BACKEND, msg);
}

void
scatter_start(struct session *s, const struct route_plan *plan,
              struct pstmt *ps, const uint8_t *exec, size_t exec_len)
{
    struct wctx *wc = s->wc;
    struct scatter *sx;
    size_t total = 0, off = 0;

    sx = xcalloc(1, sizeof(*sx) + (size_t)plan->ntargets * sizeof(sx->t[0]));
    sx->s = s;
    sx->n = plan->ntargets;
    sx->mode = sx->n == 1 ? SX_RELAY : plan->merge ? SX_MERGE : SX_COMBINE;
    sx->binary = ps != NULL;
    sx->read = plan->role == ROLE_READ;
    sx->ok_first_only = !plan->sum_affected;
    sx->ps = ps;
    if (ps != NULL) {
        sx->exec = xmalloc(exec_len);
        memcpy(sx->exec, exec, exec_len);
        sx->exec_len = exec_len;
    } else {
        for (int i = 0; i < plan->ntargets; i++)
            total += plan->targets[i].len + 1;
        sx->buf = xmalloc(total ? total : 1);
    }
    if (sx->mode == SX_MERGE)
        sx->m = merge_new(&plan->ms, plan->ntargets, sx->binary, s->seq);
    s->sx = sx;
    session_set_state(s, SESS_RELAY);

    for (int i = 0; i < plan->ntargets; i++) {
        struct target *t = &sx->t[i];
        char *renamed = NULL;
        size_t rlen = 0;

        t->sx = sx;
        t->idx = i;
        t->shard = plan->targets[i].shard;
        t->srv = -1;
        if (ps != NULL)
            continue;
        t->own = NULL;
        if (query_rewrite_text(s, plan->targets[i].sql, plan->targets[i].len,
                               &renamed, &rlen)) {
            /* Renamed schemas: this target's text gets its own copy. */
            t->own = xmalloc(rlen + 1);
            t->own[0] = COM_QUERY;
            memcpy(t->own + 1, renamed, rlen);
            free(renamed);
            t->pkt = t->own;
            t->pkt_len = rlen + 1;
            continue;
        }
        sx->buf[off] = COM_QUERY;
        memcpy(sx->buf + off + 1, plan->targets[i].sql, plan->targets[i].len);
        t->pkt = sx->buf + off;
        t->pkt_len = plan->targets[i].len + 1;
        off += t->pkt_len;
    }
    /* Acquire once every target is set up: a connection that is ready at
     * once starts its target immediately. */
    for (int i = 0; s->sx == sx && i < sx->n; i++) {
        struct target *t = &sx->t[i];
        struct serverconn *sc;
        if (t->state != TG_WAITING)
            continue;
        if (s->txn != NULL) {
            struct serverconn *branch = txn_branch(s, t->shard);
            if (branch != NULL) {
                got_conn(t, branch);
                continue;
            }
            t->new_branch = true;
        }
        if (s->sc != NULL && s->sc->srv->shard == t->shard) {
            t->held = true;
            got_conn(t, s->sc);
            continue;
        }
        {
            char msg[256];
            int err = 0;
            t->srv = query_pick_server(s, t->shard, sx->read, -1, &err, msg,
                                       sizeof(msg));
            if (t->srv < 0) {
                fail_target(sx, t->idx, (uint16_t)err, msg);
                continue;
            }
        }
        sc = query_pool_acquire(s, wc->pools[t->srv], &t->waiter, on_acquired,
                                t);
        if (sc != NULL)
            got_conn(t, sc);
    }
}

void
scatter_client_drained(struct session *s)
{
    struct scatter *sx = s->sx;

    if (sx != NULL && sx->mode == SX_MERGE) {
        merge_progress(sx, merge_pump(sx->m, -1, NULL, s->conn->out,
                                      RELAY_CLIENT_HIGH_WATER));
        return;
    }
    for (int i = 0; sx != NULL && s->sx == sx && i < sx->n; i++)
        if (sx->t[i].state == TG_RUNNING)
            pump_target(&sx->t[i]);
}

void
scatter_timeout(struct session *s)
{
    struct scatter *sx = s->sx;
    const struct cfg *c = s->wc->cfg;

    if (sx == NULL || s->timed_out)
        return;
    for (int i = 0; i < sx->n; i++) {
        struct target *t = &sx->t[i];
        if (t->state == TG_RUNNING && t->sc != NULL)
            killer_kill(t->sc->srv, t->sc->thread_id, &c->backend);
    }
    STATS_ADD(&s->wc->stats, query_timeouts_total, 1);
    log_warn("query timeout client=%u targets=%d timeout_ms=%lld", s->id, sx->n,
             (long long)c->backend.query_timeout_ms);
    if (sx->mode == SX_MERGE) {
        /* The merge answers 1969 for one source (rows already sent end
         * with it) and drains the others, whose kills it then ignores. */
        char msg[300];
        snprintf(msg, sizeof(msg),
                 "myshard: the statement ran longer than "
                 "backend.query_timeout (%lld ms) and was killed on its "
                 "shards; make it faster or raise the timeout",
                 (long long)c->backend.query_timeout_ms);
        for (int i = 0; i < sx->n; i++)
            if (sx->t[i].state == TG_RUNNING && sx->t[i].sc != NULL) {
                fail_target(sx, i, ER_STATEMENT_TIMEOUT, msg);
                return; /* sx may be gone */
            }
        return;
    }
    if (sx->relayed)
        return; /* the shard's own error ends the answer */
    s->timed_out = true;
    session_send_error(s, ER_STATEMENT_TIMEOUT, "70100",
                       "myshard: the statement ran longer than "
                       "backend.query_timeout (%lld ms) and was killed on "
                       "its shards; make it faster or raise the timeout",
                       (long long)c->backend.query_timeout_ms);
}

void
scatter_abort(struct session *s)
{
    struct scatter *sx = s->sx;

    if (sx == NULL)
        return;
    s->sx = NULL; /* nothing may answer a client that is gone */
    for (int i = 0; i < sx->n; i++) {
        struct target *t = &sx->t[i];
        if (t->state == TG_DONE)
            continue;
        pool_cancel(&t->waiter);
        if (t->held)
            s->sc = NULL;
        if (t->sc && txn_owns(s, t->sc))
            txn_lose(s, t->sc, "the client went away mid-statement");
        else if (t->sc)
            pool_discard(t->sc);
        t->sc = NULL;
        t->state = TG_DONE;
    }
    scatter_free(sx);
}
