/*
 * pool.c - one worker's connections to one server: an MRU idle list, a FIFO
 * of waiters, and the shared cap. A connection leaves the pool only lent to
 * exactly one borrower, lent to another worker's pool, or closed; closed
 * connections are freed from the event loop, never inside the callback that
 * noticed the failure.
 *
 * Lending between workers: a pool at the cap whose waiters outnumber its
 * connects in flight posts a "want" on the server's board (lend_sync), and
 * kicks the other workers when it starts wanting. A pool with a connection
 * to spare - one coming back with no local waiter, or idle when kicked or
 * on its tick - sends it to the pool that has wanted longest (lend_out):
 * detached from this loop, attached to that one through its inbox
 * (lend_arrive). `asked` counts wants posted and not yet arrived, so a pool
 * never asks twice for one waiter. A connection closed anywhere makes room:
 * wanting pools are kicked to open one themselves.
 */
#include "backend/pool.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"

static void
idle_push(struct pool *p, struct serverconn *sc)
{
    sc->prev = NULL;
    sc->next = p->idle_head;
    if (p->idle_head)
        p->idle_head->prev = sc;
    p->idle_head = sc;
    p->nidle++;
}

static void
idle_remove(struct pool *p, struct serverconn *sc)
{
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        p->idle_head = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    sc->next = sc->prev = NULL;
    p->nidle--;
}

static void
waiter_remove(struct pool *p, struct pool_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        p->wait_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->wait_tail = w->prev;
    w->next = w->prev = NULL;
    w->pool = NULL;
    p->nwaiting--;
}

static void lend_kick_others(struct server *srv, const struct pool *self,
                             bool wanting_only);
static void pool_grow(struct pool *p);
static void lend_sync(struct pool *p);

/* ---- noncore places ----------------------------------------------------- */

static bool
nc_reserve(struct pool *p)
{
    int cur = atomic_load(&p->srv->noncore_used);

    do {
        if (cur >= p->noncore_max)
            return false;
    } while (
        !atomic_compare_exchange_weak(&p->srv->noncore_used, &cur, cur + 1));
    return true;
}

static void nc_admit(struct pool *p);

static void
nc_unreserve(struct pool *p)
{
    atomic_fetch_sub(&p->srv->noncore_used, 1);
    nc_admit(p);
}

static void
nc_remove(struct pool *p, struct pool_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        p->nc_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->nc_tail = w->prev;
    w->next = w->prev = NULL;
    w->pool = NULL;
    w->in_nc = false;
    p->nc_waiting--;
}

/* A connection goes to a waiter: a noncore one hands its place to it. */
static void
deliver(struct pool_waiter *w, struct serverconn *sc)
{
    if (w->reserved) {
        sc->noncore = true;
        w->reserved = false;
    }
    w->cb(w->arg, sc, 0, NULL);
}

/* Noncore statements whose place came free go on to wait for (or get) a
 * connection like any other. */
static void
nc_admit(struct pool *p)
{
    while (p->nc_head != NULL && nc_reserve(p)) {
        struct pool_waiter *w = p->nc_head;
        struct serverconn *sc;
        int64_t since = w->since_ms;
        nc_remove(p, w);
        w->reserved = true;
        sc = pool_acquire(p, w, w->cb, w->arg);
        if (sc != NULL)
            deliver(w, sc);
        else
            w->since_ms = since; /* wait_timeout counts from the start */
    }
}

static void
free_later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct serverconn *sc = arg;
    struct server *srv = sc->srv;
    struct worker *w = sc->conn ? sc->conn->w : NULL;
    struct pool *p;

    (void)fd;
    (void)what;
    serverconn_free(sc);
    /* Room under the cap: this worker's waiters, then other workers' pools
     * waiting at it, may open a connection. (The pool is looked up again:
     * at shutdown it may be gone.) */
    p = w != NULL && w->id < srv->npools ? srv->pools[w->id] : NULL;
    if (p != NULL) {
        pool_grow(p);
        lend_sync(p);
    }
    if (atomic_load_explicit(&srv->lend_want, memory_order_relaxed) > 0)
        lend_kick_others(srv, p, true);
}

static void
free_later(struct pool *p, struct serverconn *sc)
{
    sc->state = SC_CLOSED;
    conn_read_enable(sc->conn, false);
    if (event_base_once(p->w->base, -1, EV_TIMEOUT, free_later_cb, sc, NULL) <
        0)
        serverconn_free(sc);
}

static bool lend_out(struct pool *p, struct serverconn *sc, int64_t before);
static void dispatch(struct pool *p, struct serverconn *sc);

/* Counts how long a waiter served now waited. */
static void
note_wait(struct pool *p, int64_t waited_ms)
{
    static const int64_t le[POOL_WAIT_BUCKETS - 1] = POOL_WAIT_LE_MS;
    int b = 0;

    while (b < POOL_WAIT_BUCKETS - 1 && waited_ms > le[b])
        b++;
    p->wait_hist[b]++;
    p->wait_sum_ms += waited_ms;
}

/* Hands sc to the first waiter; false when nobody waits. */
static bool
give_to_waiter(struct pool *p, struct serverconn *sc)
{
    struct pool_waiter *w = p->wait_head;

    if (w == NULL)
        return false;
    note_wait(p, clock_ms() - w->since_ms);
    waiter_remove(p, w);
    p->nlent++;
    sc->state = SC_LENT;
    deliver(w, sc);
    return true;
}

static void
fail_waiter(struct pool *p, int err, const char *msg)
{
    struct pool_waiter *w = p->wait_head;

    if (w == NULL)
        return;
    waiter_remove(p, w);
    if (w->reserved) {
        w->reserved = false;
        nc_unreserve(p);
    }
    w->cb(w->arg, NULL, err, msg);
}

static void
on_connected(struct serverconn *sc, int err, const char *msg)
{
    struct pool *p = sc->pool;

    if (sc->prev)
        sc->prev->next = sc->next;
    else
        p->connecting_head = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    sc->next = sc->prev = NULL;
    p->nconnecting--;
    if (err) {
        char buf[256];
        int n = p->nwaiting - p->nconnecting;
        log_warn("backend connect failed backend=%s reason=\"%s\"",
                 p->srv->addr, msg);
        snprintf(buf, sizeof(buf),
                 "myshard: no backend available: %s %s; check that the "
                 "server is up and reachable",
                 p->srv->addr, msg);
        free_later(p, sc);
        /* The waiters this attempt would have served share its fate. */
        while (n-- > 0 && p->wait_head)
            fail_waiter(p, err, buf);
        lend_sync(p);
        return;
    }
    sc->idle_since_ms = clock_ms();
    dispatch(p, sc);
    lend_sync(p);
}

/* Takes one place under the cap for a new connection; false at the cap. */
static bool
reserve(struct pool *p)
{
    int cur = atomic_load(&p->srv->conns);

    do {
        if (cur >= p->max_connections)
            return false;
    } while (!atomic_compare_exchange_weak(&p->srv->conns, &cur, cur + 1));
    return true;
}

static bool
open_one(struct pool *p)
{
    struct serverconn *sc;

    if (!reserve(p))
        return false;
    sc = serverconn_connect(p, on_connected);
    if (sc == NULL) {
        atomic_fetch_sub(&p->srv->conns, 1);
        return false;
    }
    /* Listed until it is ready or failed, so shutdown can free it. */
    sc->prev = NULL;
    sc->next = p->connecting_head;
    if (p->connecting_head)
        p->connecting_head->prev = sc;
    p->connecting_head = sc;
    p->nconnecting++;
    return true;
}

/* Opens connections for waiters while under the cap. */
static void
pool_grow(struct pool *p)
{
    while (p->nwaiting > p->nconnecting)
        if (!open_one(p))
            return;
}

/* ---- lending between workers ------------------------------------------ */

/* Brings this pool's want on the board in line with its uncovered waiters. */
static void
lend_sync(struct pool *p)
{
    struct server *srv = p->srv;
    int need = MAX(p->nwaiting - p->nconnecting, 0);
    bool kick = false;

    if (need == p->asked) {
        /* Still wanting: keep the board's view of our oldest wait fresh,
         * so the longest wait across workers is served first. */
        if (need > 0) {
            int64_t since = p->wait_head ? p->wait_head->since_ms : 0;
            if (since != p->want_since_ms) {
                pthread_mutex_lock(&srv->lend_mu);
                p->want_since_ms = since;
                pthread_mutex_unlock(&srv->lend_mu);
            }
        }
        return;
    }
    pthread_mutex_lock(&srv->lend_mu);
    if (need > p->asked) {
        int add = need - p->asked;
        kick = p->want == 0;
        p->want += add;
        p->asked = need;
        atomic_fetch_add(&srv->lend_want, add);
    } else {
        int drop = MIN(p->asked - need, p->want);
        p->want -= drop;
        p->asked -= drop;
        atomic_fetch_sub(&srv->lend_want, drop);
    }
    p->want_since_ms = p->wait_head ? p->wait_head->since_ms : 0;
    pthread_mutex_unlock(&srv->lend_mu);
    if (kick)
        lend_kick_others(srv, p, false);
}

static void lend_arrive(struct worker *w, void *arg);

/* Sends an idle connection to the pool that has wanted longest, if that
 * wait began before `before`; false when no other pool qualifies. sc must
 * be in no list. */
static bool
lend_out(struct pool *p, struct serverconn *sc, int64_t before)
{
    struct server *srv = p->srv;
    struct pool *best = NULL;

    if (atomic_load_explicit(&srv->lend_want, memory_order_relaxed) <= 0)
        return false;
    pthread_mutex_lock(&srv->lend_mu);
    for (int i = 0; i < srv->npools; i++) {
        struct pool *q = srv->pools[i];
        if (q != NULL && q != p && q->want > 0 && q->want_since_ms < before &&
            (best == NULL || q->want_since_ms < best->want_since_ms))
            best = q;
    }
    if (best != NULL) {
        best->want--;
        atomic_fetch_sub(&srv->lend_want, 1);
    }
    pthread_mutex_unlock(&srv->lend_mu);
    if (best == NULL)
        return false;
    conn_detach(sc->conn);
    sc->pool = best;
    sc->state = SC_IDLE;
    worker_call(best->w, lend_arrive, sc);
    return true;
}

/* Lends idle connections while other pools want them. */
static void
lend_idle(struct pool *p)
{
    while (p->idle_head != NULL && p->wait_head == NULL) {
        struct serverconn *sc = p->idle_head;
        idle_remove(p, sc);
        if (!lend_out(p, sc, INT64_MAX)) {
            idle_push(p, sc);
            return;
        }
    }
}

/* A connection lent by another worker reaches this pool's loop. */
static void
lend_arrive(struct worker *w, void *arg)
{
    struct serverconn *sc = arg;
    struct pool *p = sc->pool;

    conn_attach(sc->conn, w);
    p->asked--;
    sc->idle_since_ms = clock_ms();
    /* It came for this pool's waiters; only with none left does it move
     * on. */
    if (!give_to_waiter(p, sc) && !lend_out(p, sc, INT64_MAX))
        idle_push(p, sc);
    lend_sync(p);
}

/* A free connection goes to whoever has waited longest across the
 * workers: another pool's waiter that began waiting before this pool's
 * first, else this pool's first waiter, else the idle list. */
static void
dispatch(struct pool *p, struct serverconn *sc)
{
    int64_t mine = p->wait_head ? p->wait_head->since_ms : INT64_MAX;

    if (lend_out(p, sc, mine))
        return;
    if (!give_to_waiter(p, sc))
        idle_push(p, sc);
}

static void
kick_cb(struct worker *w, void *arg)
{
    struct pool *p = arg;

    (void)w;
    pool_grow(p);
    lend_idle(p);
    lend_sync(p);
}

/* Wakes the server's other pools: those that want (room may have opened
 * under the cap), or all (one started wanting: spare idle ones). */
static void
lend_kick_others(struct server *srv, const struct pool *self, bool wanting_only)
{
    struct pool *kick[64];
    int n = 0;

    pthread_mutex_lock(&srv->lend_mu);
    for (int i = 0; i < srv->npools && n < 64; i++) {
        struct pool *q = srv->pools[i];
        if (q != NULL && q != self && (!wanting_only || q->want > 0))
            kick[n++] = q;
    }
    pthread_mutex_unlock(&srv->lend_mu);
    for (int i = 0; i < n; i++)
        worker_call(kick[i]->w, kick_cb, kick[i]);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pool *p = arg;
    int64_t now = clock_ms();
    struct serverconn *sc, *next;
    int keep = p->srv->npools > 0
                   ? (int)((p->min_idle + p->srv->npools - 1) / p->srv->npools)
                   : (int)p->min_idle;

    (void)fd;
    (void)what;
    p->longest_wait_ms = 0;
    while (p->wait_head && now - p->wait_head->since_ms >= p->wait_timeout_ms) {
        char buf[200];
        snprintf(buf, sizeof(buf),
                 "myshard: waited %lldms for a connection to %s "
                 "(pool.max_connections=%lld in use); retry later or raise "
                 "the pool size",
                 (long long)(now - p->wait_head->since_ms), p->srv->addr,
                 (long long)p->max_connections);
        fail_waiter(p, ER_MYSHARD_POOL_TIMEOUT, buf);
    }
    if (p->wait_head)
        p->longest_wait_ms = now - p->wait_head->since_ms;
    while (p->nc_head && now - p->nc_head->since_ms >= p->wait_timeout_ms) {
        struct pool_waiter *w = p->nc_head;
        char buf[240];
        snprintf(buf, sizeof(buf),
                 "myshard: waited %lldms for a connection to %s: noncore "
                 "users hold their share (%lld of pool.max_connections=%lld, "
                 "backend.pool.noncore_share); retry later",
                 (long long)(now - w->since_ms), p->srv->addr,
                 (long long)p->noncore_max, (long long)p->max_connections);
        nc_remove(p, w);
        w->cb(w->arg, NULL, ER_MYSHARD_POOL_TIMEOUT, buf);
    }
    if (p->nc_head && now - p->nc_head->since_ms > p->longest_wait_ms)
        p->longest_wait_ms = now - p->nc_head->since_ms;
    nc_admit(p); /* places freed on other workers */
    /* Missed kicks are harmless: room and spare connections are looked
     * for here too. */
    pool_grow(p);
    if (atomic_load_explicit(&p->srv->lend_want, memory_order_relaxed) > 0)
        lend_idle(p);
    lend_sync(p);
    /* min_idle: keep this worker's share of it open while the server is
     * healthy, so a burst finds connections ready. */
    if (p->nidle + p->nconnecting < keep && p->wait_head == NULL &&
        atomic_load(&p->srv->state) == 0 && atomic_load(&p->srv->admin) == 0)
        open_one(p);
    /* Trim idle connections past idle_timeout, oldest last in the list. */
    for (sc = p->idle_head; sc; sc = next) {
        next = sc->next;
        if (keep > 0) {
            keep--;
            continue;
        }
        if (now - sc->idle_since_ms >= p->idle_timeout_ms) {
            idle_remove(p, sc);
            free_later(p, sc);
        }
    }
}

void
pool_set_cfg(struct pool *p, const struct cfg *cfg)
{
    p->backend_user = cfg->backend.user;
    p->backend_password = cfg->backend.password;
    p->tls_ctx = cfg->backend.tls.enabled ? cfg->backend.tls.ctx : NULL;
    p->connect_timeout_ms = cfg->backend.connect_timeout_ms;
    p->wait_timeout_ms = cfg->backend.pool.wait_timeout_ms;
    p->idle_timeout_ms = cfg->backend.pool.idle_timeout_ms;
    p->max_connections = cfg->backend.pool.max_connections;
    p->noncore_max = cfg->backend.pool.noncore_share > 0
                         ? MAX((int64_t)(cfg->backend.pool.noncore_share *
                                         (double)p->max_connections),
                               1)
                         : 0;
    p->min_idle = cfg->backend.pool.min_idle;
}

struct pool *
pool_new(struct worker *w, struct server *srv, const struct cfg *cfg)
{
    struct pool *p = xcalloc(1, sizeof(*p));
    struct timeval tv = {0, 100 * 1000};

    p->srv = srv;
    p->w = w;
    pool_set_cfg(p, cfg);
    p->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, p);
    event_add(p->tick, &tv);
    if (w->id < srv->npools) {
        /* A server a reload added: its array was sized for every worker
         * (server_set_grow), and other workers' pools may be lending. */
        pthread_mutex_lock(&srv->lend_mu);
        srv->pools[w->id] = p;
        pthread_mutex_unlock(&srv->lend_mu);
        return p;
    }
    /* Pools are made before the workers start: no lock needed yet. */
    srv->pools = xrealloc(srv->pools, (size_t)(w->id + 1) * sizeof(p));
    for (int i = srv->npools; i <= w->id; i++)
        srv->pools[i] = NULL;
    srv->npools = w->id + 1;
    srv->pools[w->id] = p;
    return p;
}

struct serverconn *
pool_acquire(struct pool *p, struct pool_waiter *w, pool_acquire_fn cb,
             void *arg)
{
    struct serverconn *sc = p->idle_head;

    if (sc != NULL && p->wait_head == NULL) {
        idle_remove(p, sc);
        p->nlent++;
        sc->state = SC_LENT;
        return sc;
    }
    w->cb = cb;
    w->arg = arg;
    w->since_ms = clock_ms();
    w->pool = p;
    w->next = NULL;
    w->prev = p->wait_tail;
    if (p->wait_tail)
        p->wait_tail->next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
    p->nwaiting++;
    pool_grow(p);
    lend_sync(p);
    return NULL;
}

struct serverconn *
pool_acquire_noncore(struct pool *p, struct pool_waiter *w, pool_acquire_fn cb,
                     void *arg)
{
    struct serverconn *sc;

    w->noncore = true;
    w->reserved = false;
    w->in_nc = false;
    if (p->nc_head == NULL && nc_reserve(p)) {
        w->reserved = true;
        sc = pool_acquire(p, w, cb, arg);
        if (sc != NULL) {
            sc->noncore = true;
            w->reserved = false;
        }
        return sc;
    }
    w->cb = cb;
    w->arg = arg;
    w->since_ms = clock_ms();
    w->pool = p;
    w->in_nc = true;
    w->next = NULL;
    w->prev = p->nc_tail;
    if (p->nc_tail)
        p->nc_tail->next = w;
    else
        p->nc_head = w;
    p->nc_tail = w;
    p->nc_waiting++;
    return NULL;
}

void
pool_cancel(struct pool_waiter *w)
{
    struct pool *p = w->pool;

    if (p == NULL)
        return;
    if (w->in_nc) {
        nc_remove(p, w);
        return;
    }
    waiter_remove(p, w);
    if (w->reserved) {
        w->reserved = false;
        nc_unreserve(p);
    }
    lend_sync(p);
}

void
pool_release(struct serverconn *sc)
{
    struct pool *p = sc->pool;

    serverconn_unlend(sc);
    p->nlent--;
    if (sc->noncore) {
        sc->noncore = false;
        nc_unreserve(p);
    }
    sc->idle_since_ms = clock_ms();
    if (evbuffer_get_length(sc->conn->in) > 0) {
        /* Bytes nobody asked for: the connection's state is unknown. */
        free_later(p, sc);
        return;
    }
    dispatch(p, sc);
    lend_sync(p);
}

/* ---- reset before reuse ------------------------------------------------ */

/* Answers still due on a connection being reset: sc->arg counts them
 * (the reset's OK, then the session tracking's OK). */
static void
reset_read(struct serverconn *sc, void *arg)
{
    uintptr_t due = (uintptr_t)arg;

    while (due > 0) {
        struct packet pkt;
        enum packet_status st =
            packet_read(serverconn_input(sc), 1u << 20, -1, &pkt);
        bool ok;

        if (st == PKT_AGAIN) {
            sc->arg = (void *)due;
            return;
        }
        ok = st == PKT_OK && pkt.len > 0 && pkt.data[0] == 0x00;
        if (st == PKT_OK)
            packet_consume(serverconn_input(sc), &pkt);
        if (!ok) {
            pool_discard(sc);
            return;
        }
        due--;
    }
    /* The server dropped the session's state: so does our record of it
     * (the current database stays). */
    serverconn_forget_state(sc);
    pool_release(sc);
}

static void
reset_error(struct serverconn *sc, void *arg, const char *why)
{
    (void)arg;
    (void)why;
    pool_discard(sc);
}

void
pool_release_reset(struct serverconn *sc)
{
    uint8_t seq = 0, cmd = COM_RESET_CONNECTION;
    uintptr_t due = 1;

    if (evbuffer_get_length(serverconn_input(sc)) > 0) {
        pool_discard(sc); /* an answer still coming: state unknown */
        return;
    }
    packet_write(serverconn_output(sc), &seq, &cmd, 1);
    if (sc->gtid_track) {
        /* The reset forgot the session tracking: ask again, pipelined. */
        size_t n = strlen(serverconn_setup_sql);
        uint8_t *pkt = xmalloc(n + 1);
        pkt[0] = COM_QUERY;
        memcpy(pkt + 1, serverconn_setup_sql, n);
        seq = 0;
        packet_write(serverconn_output(sc), &seq, pkt, n + 1);
        free(pkt);
        due = 2;
    }
    serverconn_lend(sc, reset_read, reset_error, (void *)due);
}

void
pool_discard(struct serverconn *sc)
{
    struct pool *p = sc->pool;

    if (sc->state == SC_IDLE)
        idle_remove(p, sc);
    else if (sc->state == SC_LENT)
        p->nlent--;
    if (sc->noncore) {
        sc->noncore = false;
        nc_unreserve(p);
    }
    free_later(p, sc); /* makes room once freed, see free_later_cb */
}

void
pool_free(struct pool *p)
{
    struct server *srv = p->srv;

    pthread_mutex_lock(&srv->lend_mu);
    atomic_fetch_sub(&srv->lend_want, p->want);
    p->want = 0;
    if (p->w->id < srv->npools)
        srv->pools[p->w->id] = NULL;
    pthread_mutex_unlock(&srv->lend_mu);
    while (p->wait_head)
        fail_waiter(p, ER_MYSHARD_NO_BACKEND, "myshard: shutting down");
    while (p->nc_head) {
        struct pool_waiter *w = p->nc_head;
        nc_remove(p, w);
        w->cb(w->arg, NULL, ER_MYSHARD_NO_BACKEND, "myshard: shutting down");
    }
    while (p->idle_head) {
        struct serverconn *sc = p->idle_head;
        idle_remove(p, sc);
        serverconn_free(sc);
    }
    while (p->connecting_head) {
        struct serverconn *sc = p->connecting_head;
        p->connecting_head = sc->next;
        serverconn_free(sc);
    }
    event_free(p->tick);
    free(p);
}
