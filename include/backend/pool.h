/*
 * pool.h - the connections of one worker to one server. The cap
 * (pool.max_connections) counts every worker's connections to the server
 * through the server's atomic, reserved before each connect so it is never
 * exceeded. A statement that finds no idle connection and no room to open
 * one waits, first come first served, up to wait_timeout; meanwhile the
 * server's pools on other workers lend it their spare connections (moved to
 * this worker's loop), so the whole cap serves whoever needs it.
 */
#ifndef MYSHARD_BACKEND_POOL_H
#define MYSHARD_BACKEND_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include "base/util.h"
#include "cfg/cfg_types.h"

struct event;
struct worker;
struct server;
struct serverconn;
struct pool_waiter;

/* Acquire result: sc on success, else err (9001, 9002) and msg. */
typedef void (*pool_acquire_fn)(void *arg, struct serverconn *sc, int err,
                                const char *msg);

struct pool_waiter {
    pool_acquire_fn cb;
    void *arg;
    bool noncore;     /* for a noncore user (backend.pool.noncore_share) */
    bool reserved;    /* holds one of the noncore places */
    bool in_nc;       /* queued for a noncore place (pool.nc_head) */
    int64_t since_ms; /* when it started waiting */
    struct pool_waiter *next; /* FIFO */
    struct pool_waiter *prev;
    struct pool *pool; /* non-NULL while queued */
};

/* How long statements queued for a connection waited: buckets of at most
 * POOL_WAIT_LE_MS milliseconds each, the last one unbounded. */
#define POOL_WAIT_BUCKETS 8
#define POOL_WAIT_LE_MS                                                        \
    {                                                                          \
        1, 5, 10, 50, 100, 500, 1000                                           \
    }

struct pool {
    struct server *srv;       /* (ref) */
    struct worker *w;         /* (ref) the worker it lives on */
    const char *backend_user; /* (ref) config generation, see pool_set_cfg */
    const char *backend_password; /* (ref) */
    struct ssl_ctx_st *tls_ctx;   /* (ref) backend.tls's context of the
                                     generation; NULL = plaintext */
    int64_t connect_timeout_ms;
    int64_t wait_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t max_connections;
    int64_t noncore_max; /* places for noncore users, all workers */
    int64_t min_idle;
    struct serverconn *idle_head;       /* MRU first */
    struct serverconn *connecting_head; /* connects in flight */
    int nidle;
    int nconnecting;
    int nlent;
    struct pool_waiter *wait_head, *wait_tail;
    int nwaiting;
    /* noncore statements waiting for a noncore place (not yet for a
     * connection): FIFO, failed with 9002 at wait_timeout */
    struct pool_waiter *nc_head, *nc_tail;
    int nc_waiting;
    int64_t longest_wait_ms; /* of the current waiters, updated on tick */
    /* the waits of those served a connection (POOL_WAIT_LE_MS), and their
     * sum */
    unsigned long long wait_hist[POOL_WAIT_BUCKETS];
    long long wait_sum_ms;
    struct event *tick; /* owned; timeouts and idle trimming */
    int asked; /* connections asked of other workers, not yet arrived */
    /* Guarded by srv->lend_mu: */
    int want;              /* asked and not yet sent by anyone */
    int64_t want_since_ms; /* its oldest waiter: the longest wait is served
                              first */
};

struct pool *pool_new(struct worker *w, struct server *srv,
                      const struct cfg *cfg);
/* Points the pool at a new config generation (limits, credentials). */
void pool_set_cfg(struct pool *p, const struct cfg *cfg);
/*
 * Lends a connection: returns one at once when idle (w untouched), else
 * queues w and returns NULL; w->cb then runs later, exactly once, with a
 * connection or an error. The waiter must stay valid until then or until
 * pool_cancel.
 */
struct serverconn *pool_acquire(struct pool *p, struct pool_waiter *w,
                                pool_acquire_fn cb, void *arg);
/* The same for a noncore user's statement: it first needs one of the
 * noncore places (noncore_share of max_connections, all workers), so
 * reporting traffic never holds more than its share. */
struct serverconn *pool_acquire_noncore(struct pool *p, struct pool_waiter *w,
                                        pool_acquire_fn cb, void *arg);
void pool_cancel(struct pool_waiter *w);
/* Returns a clean connection: to the first waiter, else to the idle list. */
void pool_release(struct serverconn *sc);
/* Returns a connection whose session state (user variables, temporary
 * tables, locks, a transaction) must not reach the next borrower: it is
 * reset with COM_RESET_CONNECTION first, or closed if that fails. Only
 * between statements. */
void pool_release_reset(struct serverconn *sc);
/* Drops a connection whose state is unknown (broken mid-statement). */
void pool_discard(struct serverconn *sc);
/* Closes idle connections and fails waiters; for shutdown. */
void pool_free(struct pool *p);

#endif
