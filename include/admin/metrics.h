/*
 * metrics.h - the admin port's HTTP pages, rendered from a snapshot
 * (admin/snapshot.h): GET /metrics in the Prometheus text format 0.0.4,
 * GET /status as JSON, GET /healthz. Pure functions: no locks, no I/O; the
 * caller takes the snapshot and frees it.
 */
#ifndef MYSHARD_ADMIN_METRICS_H
#define MYSHARD_ADMIN_METRICS_H

struct evbuffer;
struct http_reply;
struct snapshot;

#define METRICS_PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_JSON_TYPE       "application/json"

/*
 * Appends the Prometheus exposition (text format 0.0.4) of snap to out.
 * Every family has one # HELP and one # TYPE line, names start with
 * myshard_:
 *   myshard_<counter>             each counter of STATS_COUNTERS, except
 *                                 queries_total, which is
 *   myshard_queries_total{user,shard,role,kind}
 *                                 the non-zero cells of snap->queries
 *                                 (shard "" = several shards or none); a
 *                                 snapshot without that table gives one
 *                                 unlabeled sample, the plain counter
 *   myshard_query_duration_seconds  histogram (buckets STATS_BUCKETS)
 *   myshard_client_connections, myshard_uptime_seconds,
 *   myshard_xa_in_doubt (snap->xa_in_doubt)
 *   myshard_backend_info{backend,shard,role,zone} (always 1),
 *   myshard_backend_up{backend} (0 when down or circuit_open),
 *   myshard_circuit_open{backend}, myshard_replica_lag_seconds{backend}
 *   (replicas whose lag is known), myshard_replica_max_lag_seconds (the
 *   configured limit), myshard_backend_queries_total{backend},
 *   myshard_backend_errors_total{backend}
 *   myshard_backend_connections{backend,state} (state in_use or idle) and
 *   myshard_pool_waiting{backend}, when snap->pools is set
 *   myshard_pins_total{reason}
 *   myshard_user_queries_total{user}, myshard_user_errors_total{user},
 *   myshard_user_connections{user}, myshard_rate_limited_total{user}
 * Labels are escaped per the format (\\, \", \n); bytes that are not UTF-8
 * become U+FFFD.
 */
void metrics_render_prometheus(const struct snapshot *snap,
                               struct evbuffer *out);

/* Digests GET /status lists (the slowest in total). */
#define METRICS_STATUS_DIGESTS 20

/*
 * Appends GET /status: one JSON object
 *   {"version", "uptime_seconds", "workers", "client_connections",
 *    "xa_in_doubt", "serving",
 *    "shards": [{"name", "primary", "replicas": ["addr", ...]}],
 *    "backends": [{"addr", "shard", "role", "state", "zone", "weight",
 *                  "lag_ms" (null when unknown), "conns", "queries",
 *                  "errors", "avg_latency_us"}],
 *    "pools": [{"backend", "max", "open", "in_use", "idle", "connecting",
 *               "waiting", "longest_wait_ms"}],
 *    "users": [{"name", "connections", "queries", "errors",
 *               "rate_limited"}],
 *    "counters": {each counter of STATS_COUNTERS: value},
 *    "digests": [{"digest", "count", "total_us", "max_us", "errors"}]}
 * pools is [] when snap->pools is NULL; digests is the first
 * METRICS_STATUS_DIGESTS of snap->digests ([] when not gathered). Strings are
 * escaped per RFC 8259; bytes that are not UTF-8 become U+FFFD.
 */
void metrics_render_status_json(const struct snapshot *snap,
                                struct evbuffer *out);

/*
 * Answers an admin HTTP request for path from snap (non-NULL): /metrics,
 * /status, /healthz (200 "ok" while snap->serving, else 503), 404 for
 * anything else (admin/dashboard.h answers / and /status/history first). Sets
 * r's status, content type and body.
 */
void metrics_http_reply(const struct snapshot *snap, const char *path,
                        struct http_reply *r);

#endif
