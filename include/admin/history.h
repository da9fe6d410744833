/*
 * history.h - the last HISTORY_LEN seconds of the proxy's counters, one
 * sample a second, for the dashboard's charts (GET /status/history). A
 * timer on the admin thread sums the workers' counters once a second with
 * relaxed loads, as a scrape does: a statement pays nothing for it, and
 * nothing is kept per statement.
 *
 * Thread: everything runs on the admin thread (the timer and the HTTP
 * handler share its event loop), so the ring needs no lock.
 */
#ifndef MYSHARD_ADMIN_HISTORY_H
#define MYSHARD_ADMIN_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "session/stats.h"

struct admin_view;
struct event_base;
struct evbuffer;
struct history;

#define HISTORY_LEN 300 /* samples (seconds) kept */

/* One second (or the time since the previous sample), as rates. */
struct hist_sample {
    int64_t t_ms;         /* wall clock, unix milliseconds */
    double qps;           /* statements received per second */
    double p99_ms;        /* of the statements finished; < 0 when none */
    double errors;        /* per second: statements answered with an error */
    double limit_refused; /* per second: refused by a rate limit (1226) */
    double limit_delayed; /* per second: held back by a leaky bucket */
    double pool_timeouts; /* per second: waited wait_timeout (9002) */
    double connections;   /* per second: client connections accepted */
};

struct history *history_new(void);
void history_free(struct history *h);

/*
 * Records the counters seen at monotonic time mono_ms and wall time
 * wall_ms: a sample of the differences from the previous call, divided by
 * the time between them. The first call only remembers; so does a call
 * whose time did not move forward. Counters that went backwards count 0.
 */
void history_record(struct history *h, const struct stats *totals,
                    int64_t mono_ms, int64_t wall_ms);

/* Samples kept (at most HISTORY_LEN), and the i-th, oldest first. */
int history_count(const struct history *h);
const struct hist_sample *history_at(const struct history *h, int i);

/*
 * The q-quantile (0 < q < 1), in milliseconds, of the statements counted
 * in one interval: le[i] statements at most STATS_BUCKETS[i] seconds
 * (cumulative), count in all. Interpolated linearly inside the bucket, as
 * Prometheus' histogram_quantile does; past the last bucket it is the last
 * bound. < 0 when count is 0.
 */
double history_quantile(const long long le[STATS_NBUCKETS], long long count,
                        double q);

/*
 * Appends GET /status/history: one JSON object of columns, oldest first:
 *   {"interval_s": 1, "len": N, "t": [unix seconds], "qps": [...],
 *    "p99_ms": [... null when none finished], "errors": [...],
 *    "limit_refused": [...], "limit_delayed": [...],
 *    "pool_timeouts": [...], "connections": [...]}
 */
void history_render_json(const struct history *h, struct evbuffer *out);

/* Samples v's workers once a second on base (the admin thread's loop);
 * false when the timer cannot be made. history_free stops it. */
bool history_start(struct history *h, struct event_base *base,
                   const struct admin_view *v);

#endif
