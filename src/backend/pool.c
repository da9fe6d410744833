/*
 * pool.c - one worker's connections to one server: an MRU idle list, a FIFO
 * of waiters, and the shared cap. A connection leaves the pool only lent to
 * exactly one borrower or closed; closed connections are freed from the
 * event loop, never inside the callback that noticed the failure.
 */
#include "backend/pool.h"

#include <event2/buffer.h>
#include <event2/event.h>
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

static void
free_later_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    serverconn_free(arg);
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

static void pool_grow(struct pool *p);

/* Hands sc to the first waiter; false when nobody waits. */
static bool
give_to_waiter(struct pool *p, struct serverconn *sc)
{
    struct pool_waiter *w = p->wait_head;

    if (w == NULL)
        return false;
    waiter_remove(p, w);
    p->nlent++;
    sc->state = SC_LENT;
    w->cb(w->arg, sc, 0, NULL);
    return true;
}

static void
fail_waiter(struct pool *p, int err, const char *msg)
{
    struct pool_waiter *w = p->wait_head;

    if (w == NULL)
        return;
    waiter_remove(p, w);
    w->cb(w->arg, NULL, err, msg);
}

static void
on_connected(struct serverconn *sc, int err, const char *msg)
{
    struct pool *p = sc->pool;

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
        return;
    }
    sc->idle_since_ms = clock_ms();
    if (!give_to_waiter(p, sc))
        idle_push(p, sc);
}

/* Opens connections for waiters while under the cap. */
static void
pool_grow(struct pool *p)
{
    while (p->nwaiting > p->nconnecting) {
        int total = atomic_fetch_add(&p->srv->conns, 0);
        if (total >= p->max_connections)
            return;
        if (serverconn_connect(p, on_connected) == NULL)
            return;
        p->nconnecting++;
    }
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pool *p = arg;
    int64_t now = clock_ms();
    struct serverconn *sc, *next;
    int keep = (int)p->min_idle;

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
    p->connect_timeout_ms = cfg->backend.connect_timeout_ms;
    p->wait_timeout_ms = cfg->backend.pool.wait_timeout_ms;
    p->idle_timeout_ms = cfg->backend.pool.idle_timeout_ms;
    p->max_connections = cfg->backend.pool.max_connections;
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
    return NULL;
}

void
pool_cancel(struct pool_waiter *w)
{
    if (w->pool)
        waiter_remove(w->pool, w);
}

void
pool_release(struct serverconn *sc)
{
    struct pool *p = sc->pool;

    serverconn_unlend(sc);
    p->nlent--;
    sc->idle_since_ms = clock_ms();
    if (evbuffer_get_length(sc->conn->in) > 0) {
        /* Bytes nobody asked for: the connection's state is unknown. */
        free_later(p, sc);
        pool_grow(p);
        return;
    }
    if (!give_to_waiter(p, sc))
        idle_push(p, sc);
}

void
pool_discard(struct serverconn *sc)
{
    struct pool *p = sc->pool;

    if (sc->state == SC_IDLE)
        idle_remove(p, sc);
    else if (sc->state == SC_LENT)
        p->nlent--;
    free_later(p, sc);
    pool_grow(p);
}

void
pool_free(struct pool *p)
{
    while (p->wait_head)
        fail_waiter(p, ER_MYSHARD_NO_BACKEND, "myshard: shutting down");
    while (p->idle_head) {
        struct serverconn *sc = p->idle_head;
        idle_remove(p, sc);
        serverconn_free(sc);
    }
    event_free(p->tick);
    free(p);
}
