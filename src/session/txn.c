/*
 * txn.c - see txn.h. Between statements a branch's connection stays lent
 * to the transaction (its events come here: anything unasked for means the
 * server dropped it). At the end every branch runs a short list of steps
 * at once; when all have answered, the phase decides what comes next.
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
#include "session/relay.h"
#include "session/session.h"

#define MAX_STEPS 2

enum step_op {
    OP_BEGIN = 0,
    OP_XA_START,
    OP_XA_END,
    OP_XA_PREPARE,
    OP_XA_COMMIT,
    OP_XA_COMMIT_ONE_PHASE,
    OP_XA_ROLLBACK,
    OP_COMMIT,
    OP_ROLLBACK,
};

enum txn_phase {
    PH_OPEN = 0, /* statements run; no steps */
    PH_PREPARE,  /* xa: XA END + XA PREPARE on every branch */
    PH_DELAY,    /* xa: decision logged; xa_commit_delay */
    PH_COMMIT,   /* XA COMMIT (two-phase) / one-phase / COMMIT */
    PH_ROLLBACK, /* ROLLBACK on every branch still there */
};

struct branch {
    struct txn *tx; /* (ref) */
    int shard;
    char name[65];         /* the shard's name: the branch qualifier */
    struct serverconn *sc; /* lent to the transaction; NULL when lost */
    struct relay rl;
    enum step_op steps[MAX_STEPS];
    int nsteps, step;
    bool busy;     /* running steps */
    bool failed;   /* a step failed in this phase */
    bool active;   /* XA START (or BEGIN) answered OK */
    bool ended;    /* XA END answered OK */
    bool prepared; /* XA PREPARE answered OK */
};

struct txn {
    struct session *s; /* (ref) NULL once the client is gone */
    struct wctx *wc;   /* (ref) its worker's */
    enum cfg_txn_mode mode;
    char gtrid[64];
    char *begin_sql; /* owned; best_effort: the client's BEGIN */
    struct branch *b;
    int nb, cap;
    char broken[200]; /* why it can only roll back; "" if it can commit */
    enum txn_phase phase;
    int busy;          /* branches running steps */
    bool commit;       /* the client asked to commit */
    bool two_phase;    /* the decision was logged */
    bool chain;        /* AND CHAIN / BEGIN inside the transaction */
    bool release;      /* AND RELEASE */
    bool failed;       /* the end failed: answer with err */
    uint16_t err_code; /* ... */
    char err[400];
    struct event *delay; /* owned; PH_DELAY */
};

static void branch_read(struct serverconn *sc, void *arg);
static void note_failure(struct txn *tx, const struct branch *br,
                         const char *what);
static void branch_error(struct serverconn *sc, void *arg, const char *why);
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

static struct branch *
find(const struct txn *tx, const struct serverconn *sc)
{
    for (int i = 0; tx && sc && i < tx->nb; i++)
        if (tx->b[i].sc == sc)
            return &tx->b[i];
    return NULL;
}

struct serverconn *
txn_branch(struct session *s, int shard)
{
    for (int i = 0; s->txn && i < s->txn->nb; i++)
        if (s->txn->b[i].shard == shard)
            return s->txn->b[i].sc;
    return NULL;
}

struct serverconn *
txn_first_branch(struct session *s)
{
    for (int i = 0; s->txn && i < s->txn->nb; i++)
        if (s->txn->b[i].sc != NULL)
            return s->txn->b[i].sc;
    return NULL;
}

bool
txn_owns(const struct session *s, const struct serverconn *sc)
{
    return find(s->txn, sc) != NULL;
}

const char *
txn_broken(const struct session *s)
{
    return s->txn && s->txn->broken[0] ? s->txn->broken : NULL;
}

/* The text of a step: xids in hex, so shard names need no quoting. */
static size_t
step_sql(const struct txn *tx, const struct branch *br, enum step_op op,
         char *out, size_t len)
{
    const char *name = br->name;
    char bq[2 * 64 + 1];
    const char *verb = NULL, *tail = "";
    int n;

    if (op == OP_BEGIN)
        return (size_t)snprintf(out, len, "%s", tx->begin_sql);
    if (op == OP_COMMIT || op == OP_ROLLBACK)
        return (size_t)snprintf(out, len, "%s",
                                op == OP_COMMIT ? "COMMIT" : "ROLLBACK");
    for (n = 0; name[n] && n < 64; n++)
        snprintf(bq + 2 * n, 3, "%02x", (unsigned char)name[n]);
    bq[2 * n] = '\0';
    switch (op) {
    case OP_XA_START:
        verb = "START";
        break;
    case OP_XA_END:
        verb = "END";
        break;
    case OP_XA_PREPARE:
        verb = "PREPARE";
        break;
    case OP_XA_COMMIT:
        verb = "COMMIT";
        break;
    case OP_XA_COMMIT_ONE_PHASE:
        verb = "COMMIT";
        tail = " ONE PHASE";
        break;
    default:
        verb = "ROLLBACK";
        break;
    }
    return (size_t)snprintf(out, len, "XA %s '%s',X'%s'%s", verb, tx->gtrid,
                            n ? bq : "00", tail);
}

/* Queues one step's statement on the branch's connection. */
static void
send_step(struct branch *br, struct relay *rl)
{
    char buf[512];
    size_t n;
    uint8_t seq = 0;

    buf[0] = COM_QUERY;
    n = step_sql(br->tx, br, br->steps[br->step], buf + 1, sizeof(buf) - 1);
    if (n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    packet_write(serverconn_output(br->sc), &seq, buf, n + 1);
    relay_start(rl, RELAY_SIMPLE);
}

void
txn_start_branch(struct session *s, struct serverconn *sc, struct relay *rl)
{
    struct txn *tx = s->txn;
    struct branch *br;

    if (tx->nb == tx->cap) { /* a shard met twice: never, but be safe */
        tx->cap *= 2;
        tx->b = xrealloc(tx->b, (size_t)tx->cap * sizeof(*tx->b));
    }
    br = &tx->b[tx->nb++];
    memset(br, 0, sizeof(*br));
    br->tx = tx;
    br->shard = sc->srv->shard;
    snprintf(br->name, sizeof(br->name), "%s",
             s->wc->cfg->shards[br->shard].name);
    br->sc = sc;
    br->active = true; /* its statement fails if the start does */
    br->steps[0] = tx->mode == TXN_XA ? OP_XA_START : OP_BEGIN;
    br->nsteps = 1;
    send_step(br, rl);
    br->nsteps = 0;
}

void
txn_keep(struct session *s, struct serverconn *sc)
{
    struct branch *br = find(s->txn, sc);

    if (br != NULL)
        serverconn_lend(sc, branch_read, branch_error, br);
}

/* Drops a branch's connection: its state is unknown. */
static void
drop(struct branch *br, const char *why)
{
    struct txn *tx = br->tx;
    struct serverconn *sc = br->sc;

    if (sc == NULL)
        return;
    br->sc = NULL;
    if (tx->broken[0] == '\0' && tx->phase == PH_OPEN)
        snprintf(tx->broken, sizeof(tx->broken),
                 "the connection to shard '%s' was lost (%s)", br->name, why);
    else if (tx->phase != PH_OPEN && !br->failed) {
        /* Lost between the steps of the end (while the commit waits, say):
         * the branch did not do what this phase needs. A prepared one is
         * still on its server: after a logged decision the resolver
         * commits it. */
        br->failed = true;
        note_failure(tx, br, "lost its connection");
    }
    log_warn("transaction branch lost gtrid=%s backend=%s reason=\"%s\"",
             tx->gtrid[0] ? tx->gtrid : "-", sc->srv->addr, why);
    pool_discard(sc);
}

void
txn_lose(struct session *s, struct serverconn *sc, const char *why)
{
    struct branch *br = find(s->txn, sc);

    if (br != NULL)
        drop(br, why);
    else
        pool_discard(sc);
}

/* ---- ending: steps on every branch at once ----------------------------- */

static void
run_steps(struct branch *br)
{
    struct txn *tx = br->tx;

    br->step = 0;
    br->failed = false;
    if (br->sc == NULL || br->nsteps == 0)
        return;
    br->busy = true;
    tx->busy++;
    serverconn_lend(br->sc, branch_read, branch_error, br);
    send_step(br, &br->rl);
}

static void
branch_finished(struct branch *br)
{
    struct txn *tx = br->tx;

    br->busy = false;
    if (--tx->busy == 0)
        phase_done(tx);
}

static void
note_failure(struct txn *tx, const struct branch *br, const char *what)
{
    if (tx->failed)
        return;
    tx->failed = true;
    snprintf(tx->err, sizeof(tx->err), "shard '%s' %s", br->name, what);
}

static void
branch_read(struct serverconn *sc, void *arg)
{
    struct branch *br = arg;
    enum relay_status st;

    if (!br->busy) {
        /* Nothing was asked: the server is dropping the connection. */
        drop(br, "the server closed it");
        return;
    }
    st = relay_pump(&br->rl, serverconn_input(sc), NULL, 0);
    if (st == RELAY_MORE)
        return;
    if (st == RELAY_BROKEN) {
        note_failure(br->tx, br, "sent a malformed answer");
        br->failed = true;
        drop(br, "malformed answer");
        branch_finished(br);
        return;
    }
    if (br->rl.got_err) {
        char what[300];
        snprintf(what, sizeof(what), "answered %u: %s", br->rl.err_code,
                 br->rl.err_msg);
        note_failure(br->tx, br, what);
        br->failed = true;
        branch_finished(br);
        return;
    }
    switch (br->steps[br->step]) {
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
    if (++br->step < br->nsteps) {
        send_step(br, &br->rl);
        return;
    }
    branch_finished(br);
}

static void
branch_error(struct serverconn *sc, void *arg, const char *why)
{
    struct branch *br = arg;

    (void)sc;
    if (br->busy) {
        note_failure(br->tx, br, "lost its connection");
        br->failed = true;
        drop(br, why);
        branch_finished(br);
        return;
    }
    drop(br, why);
}

/* Every live branch runs the steps its state calls for in this phase. */
static void
start_phase(struct txn *tx, enum txn_phase ph)
{
    tx->phase = ph;
    for (int i = 0; i < tx->nb; i++) {
        struct branch *br = &tx->b[i];
        int n = 0;

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
    /* Counted before any runs: an answer cannot end the phase early. */
    tx->busy = 1;
    for (int i = 0; i < tx->nb; i++)
        run_steps(&tx->b[i]);
    if (--tx->busy == 0)
        phase_done(tx);
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
    } else {
        if (tx->chain)
            session_enter(s,
                          txn_new(s, tx->begin_sql,
                                  tx->begin_sql ? strlen(tx->begin_sql) : 0));
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
