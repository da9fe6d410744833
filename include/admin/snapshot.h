/*
 * snapshot.h - one picture of the running proxy, taken on request by the
 * admin thread: the backends' health (backend/health.h), each backend's
 * pools summed over the workers, the clients, and the counters every worker
 * keeps without locks (session/stats.h), summed. The SHOW commands, GET
 * /status and GET /metrics all render a snapshot, so they always agree.
 *
 * Per-worker parts (pools, clients, digests) are gathered on each worker's
 * own thread through its inbox; snapshot_take waits for them (bounded).
 */
#ifndef MYSHARD_ADMIN_SNAPSHOT_H
#define MYSHARD_ADMIN_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/health.h"
#include "backend/pool.h"
#include "session/stats.h"

struct cfg;
struct server_set;
struct tablemeta;
struct worker;
struct wctx;

/* What the admin side sees of the proxy (owned by the top level). */
struct admin_view {
    struct worker *workers; /* (ref) array */
    struct wctx *wctx;      /* (ref) array, one per worker */
    int nworkers;
    struct server_set *servers; /* (ref) */
    struct tablemeta *tmeta;    /* (ref) the tables' columns; may be NULL */
    int64_t started_ms;         /* monotonic */
    int64_t started_wall;       /* unix seconds */
    const char *cfg_path;
    /* The running config: the admin thread takes a reference under the
     * lock (reload swaps it). */
    struct cfg *(*cfg_get)(void *arg);
    void *cfg_arg;
    /* true while the proxy accepts and can serve clients (GET /healthz) */
    bool (*serving)(void *arg);
    /* RELOAD CONFIG: re-reads cfg_path and applies it (proxy_reload, with
     * cfg_arg); false when nothing changed. msg gets the outcome, or the
     * file's problems; blocks until the workers switched (bounded). */
    bool (*reload)(void *arg, char *msg, size_t msglen);
};

/* One backend server's pools, summed over the workers. */
struct snap_pool {
    int max;        /* pool.max_connections */
    int open;       /* connections open (the cap's count) */
    int in_use;     /* lent to clients (transactions' branches included) */
    int idle;       /* in the idle lists */
    int connecting; /* connects in flight */
    int waiting;    /* statements queued for a connection */
    int64_t longest_wait_ms; /* of those, the longest so far */
    /* waits of the statements served after queueing (pool.h) */
    unsigned long long wait_hist[POOL_WAIT_BUCKETS];
    long long wait_sum_ms;
};

/* One client connection. */
struct snap_client {
    uint32_t id;
    char user[64];     /* "" before login */
    char addr[64];     /* ip:port */
    char schema[65];   /* "" none */
    const char *state; /* "handshake", "idle", "waiting", "running", ... */
    char pins[160];    /* pin reasons, comma-separated; "" when not pinned */
    char stmt[200];    /* the statement running, cut; "" when idle */
    int64_t age_ms;    /* since connect */
    int worker;
};

/* One normalized statement (sql/digest.h), summed over the workers. */
struct snap_digest {
    char text[256]; /* the digest, cut */
    long long count;
    long long total_us;
    long long max_us;
    long long errors;
};

struct snapshot {
    struct cfg *cfg; /* (ref held) the generation labels are named from */
    int64_t uptime_ms;
    int64_t started_wall;
    int nworkers;
    struct health_row *backends; /* owned; one per server, set order */
    struct snap_pool *pools;     /* owned; parallel to backends */
    int nbackends;
    struct snap_client *clients; /* owned; by id */
    int nclients;
    struct snap_digest *digests; /* owned; by total time, descending */
    int ndigests;
    struct stats totals;      /* every worker's counters, summed */
    struct stats_user *users; /* owned; per cfg user, summed */
    long long *user_conns;    /* owned; per cfg user: open connections */
    /* owned; statements by [user][shard + 1][route][kind] summed (shard
     * slot 0: several shards or none), see SNAP_Q */
    long long *queries;
    int q_users, q_shards;
    long long client_connections; /* open now */
    long long xa_in_doubt;        /* backend/xalog.h: xalog_in_doubt() */
    bool serving;
    int nusers; /* entries of users and user_conns (cfg->nusers) */
};

#define SNAP_Q(s, u, sh, r, k)                                                 \
    (s)->queries[(((size_t)(u) * (size_t)((s)->q_shards + 1) + (size_t)(sh)) * \
                      SR_COUNT +                                               \
                  (size_t)(r)) *                                               \
                     SK_COUNT +                                                \
                 (size_t)(k)]

/* What to gather (the health rows and counters always come). */
enum {
    SNAP_POOLS = 1 << 0,
    SNAP_CLIENTS = 1 << 1,
    SNAP_DIGESTS = 1 << 2,
};

/* Takes a snapshot; call from any thread but a worker's (it waits for the
 * workers). Never NULL. */
struct snapshot *snapshot_take(const struct admin_view *v, unsigned what);
void snapshot_free(struct snapshot *s);

#endif
