/*
 * stats.h - what every worker counts. Only the worker writes its own
 * struct stats (relaxed atomic adds, no locks); the admin thread reads with
 * relaxed loads and sums the workers (admin/snapshot.h). Counters are
 * declared once, here, and rendered by SHOW STATS and GET /metrics alike.
 */
#ifndef MYSHARD_SESSION_STATS_H
#define MYSHARD_SESSION_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* X(name, help): plain counters, myshard_<name> in /metrics. */
#define STATS_COUNTERS(X)                                                      \
    X(connections_total, "client connections accepted")                        \
    X(connections_refused_total,                                               \
      "client connections refused (limits, bad login)")                        \
    X(queries_total, "statements received from clients")                       \
    X(errors_total, "statements answered with an error")                       \
    X(pool_timeouts_total, "statements that waited wait_timeout (9002)")       \
    X(no_backend_total, "statements that found no backend (9001)")             \
    X(circuit_refused_total, "statements refused by an open circuit (9003)")   \
    X(read_retries_total, "reads retried on another server")                   \
    X(query_timeouts_total, "statements killed past query_timeout (1969)")     \
    X(limit_refused_total, "statements refused by a rate limit (1226)")        \
    X(limit_delayed_total, "statements a leaky bucket made wait their turn")   \
    X(denied_total, "statements refused by a deny policy")                     \
    X(cache_hits_total, "reads answered from the hot-key cache")               \
    X(cache_misses_total, "cacheable reads the cache could not answer")        \
    X(cache_evictions_total, "cache entries dropped: stale, expired or LRU")   \
    X(slow_queries_total, "statements slower than slow_query_time")            \
    X(xa_commits_total, "two-phase commits decided")                           \
    X(xa_rollbacks_total, "cross-shard transactions rolled back")              \
    X(client_bytes_in_total, "bytes received from clients")                    \
    X(client_bytes_out_total, "bytes sent to clients")                         \
    X(login_failures_total, "client logins refused for a wrong password")      \
    X(logins_throttled_total,                                                  \
      "refused logins whose answer was held back (login.throttle)")            \
    X(logins_sha2_fast_total,                                                  \
      "caching_sha2_password logins by fast authentication")                   \
    X(logins_sha2_full_total,                                                  \
      "caching_sha2_password logins by full authentication (TLS or RSA)")

/* Statement kinds, label kind="...". */
#define STATS_KINDS(X)                                                         \
    X(select)                                                                  \
    X(insert)                                                                  \
    X(update) X(delete) X(replace) X(ddl) X(set) X(transaction) X(show) X(other)

/* Where a statement went, label role="...". */
#define STATS_ROUTES(X) X(primary) X(replica) X(scatter) X(proxy)

#define STATS_ENUM_KIND(n)  SK_##n,
#define STATS_ENUM_ROUTE(n) SR_##n,
enum stats_kind { STATS_KINDS(STATS_ENUM_KIND) SK_COUNT };
enum stats_route { STATS_ROUTES(STATS_ENUM_ROUTE) SR_COUNT };

/* Upper bounds (seconds) of myshard_query_duration_seconds' buckets; +Inf
 * is the count. */
#define STATS_BUCKETS                                                          \
    {                                                                          \
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,  \
            2.5, 5.0, 10.0                                                     \
    }
#define STATS_NBUCKETS 14

/* Bit positions of session pin reasons (session_types.h). */
#define STATS_PIN_REASONS 10

struct stats {
#define STATS_FIELD(name, help) _Atomic long long name;
    STATS_COUNTERS(STATS_FIELD)
#undef STATS_FIELD
    _Atomic long long by_kind[SK_COUNT];
    _Atomic long long by_route[SR_COUNT];
    _Atomic long long pins_taken[STATS_PIN_REASONS];
    /* per bucket: statements above the previous bound up to this one
     * (one add per statement; readers sum them into `le` counts) */
    _Atomic long long duration_in[STATS_NBUCKETS];
    _Atomic long long duration_count;
    _Atomic long long duration_sum_us;
};

/* Per-user counts of one worker: indexed by the config's user index. The
 * table belongs to one config generation (see stats_users_for). */
struct stats_user {
    _Atomic long long queries;
    _Atomic long long errors;
    _Atomic long long rate_limited;
};

#define STATS_ADD(st, field, n)                                                \
    atomic_fetch_add_explicit(&(st)->field, (n), memory_order_relaxed)
#define STATS_GET(st, field)                                                   \
    atomic_load_explicit(&(st)->field, memory_order_relaxed)

/* The kind label of a classified statement (enum stmt_kind). */
enum stats_kind stats_kind_of(int stmt_kind);
const char *stats_kind_name(enum stats_kind k);
const char *stats_route_name(enum stats_route r);
/* Counts one finished statement's duration. */
void stats_observe_us(struct stats *st, int64_t us);
/* dst += src, field by field (the admin thread's sum). */
void stats_sum(struct stats *dst, const struct stats *src);

#endif
