/*
 * history.c - see history.h. A fixed ring of samples plus the counters of
 * the previous tick; the tick itself is a persistent libevent timer on the
 * admin thread.
 */
#include "admin/history.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/snapshot.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/util.h"
#include "session/session_types.h"

#define TICK_MS 1000

struct history {
    struct hist_sample ring[HISTORY_LEN];
    int head; /* next slot written */
    int n;
    /* the previous tick's counters (plain copies of the atomics) */
    bool have_last;
    int64_t last_ms;
    long long last_queries, last_errors, last_refused, last_delayed;
    long long last_timeouts, last_conns, last_count;
    long long last_le[STATS_NBUCKETS];
    /* the timer (history_start) */
    struct event *timer;
    const struct admin_view *v;
};

struct history *
history_new(void)
{
    return xcalloc(1, sizeof(struct history));
}

void
history_free(struct history *h)
{
    if (h == NULL)
        return;
    if (h->timer != NULL)
        event_free(h->timer);
    free(h);
}

double
history_quantile(const long long le[STATS_NBUCKETS], long long count, double q)
{
    static const double bounds[STATS_NBUCKETS] = STATS_BUCKETS;
    double rank = q * (double)count, lo = 0, below = 0;

    if (count <= 0)
        return -1;
    for (int i = 0; i < STATS_NBUCKETS; i++) {
        double in = (double)le[i];

        if (in >= rank && in > below)
            return 1000.0 *
                   (lo + (bounds[i] - lo) * (rank - below) / (in - below));
        lo = bounds[i];
        if (in > below)
            below = in;
    }
    /* slower than the last bound: that bound is all the histogram knows */
    return 1000.0 * bounds[STATS_NBUCKETS - 1];
}

/* b - a, never negative (the sums are read counter by counter while the
 * workers count, so a later read may run a little ahead of an earlier). */
static long long
delta(long long b, long long a)
{
    return b > a ? b - a : 0;
}

void
history_record(struct history *h, const struct stats *st, int64_t mono_ms,
               int64_t wall_ms)
{
    long long le[STATS_NBUCKETS], d_le[STATS_NBUCKETS], count;
    long long q = STATS_GET(st, queries_total), e = STATS_GET(st, errors_total);
    long long rf = STATS_GET(st, limit_refused_total);
    long long dl = STATS_GET(st, limit_delayed_total);
    long long to = STATS_GET(st, pool_timeouts_total);
    long long cn = STATS_GET(st, connections_total);

    count = STATS_GET(st, duration_count);
    for (int i = 0; i < STATS_NBUCKETS; i++)
        le[i] = STATS_GET(st, duration_in[i]) + (i > 0 ? le[i - 1] : 0);
    if (h->have_last && mono_ms > h->last_ms) {
        struct hist_sample *s = &h->ring[h->head];
        double secs = (double)(mono_ms - h->last_ms) / 1000.0;
        long long d_count = delta(count, h->last_count), top = 0;

        for (int i = 0; i < STATS_NBUCKETS; i++) {
            d_le[i] = delta(le[i], h->last_le[i]);
            /* keep the buckets cumulative (see delta) */
            if (d_le[i] < top)
                d_le[i] = top;
            top = d_le[i];
        }
        if (d_count < top)
            d_count = top;
        s->t_ms = wall_ms;
        s->qps = (double)delta(q, h->last_queries) / secs;
        s->p99_ms = history_quantile(d_le, d_count, 0.99);
        s->errors = (double)delta(e, h->last_errors) / secs;
        s->limit_refused = (double)delta(rf, h->last_refused) / secs;
        s->limit_delayed = (double)delta(dl, h->last_delayed) / secs;
        s->pool_timeouts = (double)delta(to, h->last_timeouts) / secs;
        s->connections = (double)delta(cn, h->last_conns) / secs;
        h->head = (h->head + 1) % HISTORY_LEN;
        if (h->n < HISTORY_LEN)
            h->n++;
    } else if (h->have_last) {
        return; /* the clock did not move: keep the older base */
    }
    h->have_last = true;
    h->last_ms = mono_ms;
    h->last_queries = q;
    h->last_errors = e;
    h->last_refused = rf;
    h->last_delayed = dl;
    h->last_timeouts = to;
    h->last_conns = cn;
    h->last_count = count;
    memcpy(h->last_le, le, sizeof(le));
}

int
history_count(const struct history *h)
{
    return h->n;
}

const struct hist_sample *
history_at(const struct history *h, int i)
{
    if (i < 0 || i >= h->n)
        return NULL;
    return &h->ring[(h->head - h->n + i + HISTORY_LEN) % HISTORY_LEN];
}

/* "name":[v,...] for one column; p99 < 0 is null. */
static void
column(const struct history *h, struct evbuffer *out, const char *name,
       size_t off)
{
    evbuffer_add_printf(out, ",\"%s\":[", name);
    for (int i = 0; i < h->n; i++) {
        const struct hist_sample *s = history_at(h, i);
        double v;

        memcpy(&v, (const char *)s + off, sizeof(v));
        if (i)
            evbuffer_add(out, ",", 1);
        if (v < 0)
            evbuffer_add(out, "null", 4);
        else
            evbuffer_add_printf(out, "%.3f", v);
    }
    evbuffer_add(out, "]", 1);
}

void
history_render_json(const struct history *h, struct evbuffer *out)
{
    evbuffer_add_printf(out, "{\"interval_s\":%d,\"len\":%d,\"t\":[",
                        TICK_MS / 1000, h->n);
    for (int i = 0; i < h->n; i++)
        evbuffer_add_printf(out, "%s%.3f", i ? "," : "",
                            (double)history_at(h, i)->t_ms / 1000.0);
    evbuffer_add(out, "]", 1);
    column(h, out, "qps", offsetof(struct hist_sample, qps));
    column(h, out, "p99_ms", offsetof(struct hist_sample, p99_ms));
    column(h, out, "errors", offsetof(struct hist_sample, errors));
    column(h, out, "limit_refused",
           offsetof(struct hist_sample, limit_refused));
    column(h, out, "limit_delayed",
           offsetof(struct hist_sample, limit_delayed));
    column(h, out, "pool_timeouts",
           offsetof(struct hist_sample, pool_timeouts));
    column(h, out, "connections", offsetof(struct hist_sample, connections));
    evbuffer_add(out, "}\n", 2);
}

static int64_t
wall_ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The tick: the same relaxed sums a scrape makes, nothing more. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct history *h = arg;
    struct stats tot;

    (void)fd;
    (void)what;
    memset(&tot, 0, sizeof(tot));
    for (int i = 0; i < h->v->nworkers; i++)
        stats_sum(&tot, &h->v->wctx[i].stats);
    history_record(h, &tot, clock_ms(), wall_ms_now());
}

bool
history_start(struct history *h, struct event_base *base,
              const struct admin_view *v)
{
    struct timeval tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};

    h->v = v;
    h->timer = event_new(base, -1, EV_PERSIST, on_tick, h);
    if (h->timer == NULL || event_add(h->timer, &tv) != 0) {
        log_warn("admin: cannot start the once-a-second history timer");
        return false;
    }
    on_tick(-1, 0, h); /* the base the first second is measured from */
    return true;
}
