/*
 * metrics.c - see metrics.h. The counters come from the X-macro tables of
 * session/stats.h, so a counter added there shows up here by itself.
 */
#include "admin/metrics.h"

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/snapshot.h"
#include "backend/cluster.h"
#include "build_config.h"
#include "reshard/reshard.h"
#include "cfg/cfg_types.h"
#include "net/http.h"
#include "session/session.h"
#include "session/stats.h"

/* --- escaping ------------------------------------------------------------- */

enum esc { ESC_LABEL, ESC_HELP, ESC_JSON };

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void
put_escaped(struct evbuffer *out, const char *s, enum esc how)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);

    while (n > 0) {
        size_t run = 0, k;

        /* copy the longest stretch that needs no escaping at once */
        while (run < n && (k = utf8_seq(p + run, n - run)) != 0) {
            unsigned char c = p[run];

            if (c == '\\' || c == '\n' || (c == '"' && how != ESC_HELP) ||
                (c < 0x20 && how == ESC_JSON))
                break;
            run += k;
        }
        if (run > 0) {
            evbuffer_add(out, p, run);
            p += run;
            n -= run;
            continue;
        }
        if (utf8_seq(p, n) == 0) {
            evbuffer_add(out, how == ESC_JSON ? "\\ufffd" : "\xef\xbf\xbd",
                         how == ESC_JSON ? 6 : 3);
        } else if (*p == '\\') {
            evbuffer_add(out, "\\\\", 2);
        } else if (*p == '"') {
            evbuffer_add(out, "\\\"", 2);
        } else if (*p == '\n') {
            evbuffer_add(out, "\\n", 2);
        } else if (*p == '\r') {
            evbuffer_add(out, "\\r", 2);
        } else if (*p == '\t') {
            evbuffer_add(out, "\\t", 2);
        } else {
            evbuffer_add_printf(out, "\\u%04x", *p);
        }
        p++;
        n--;
    }
}

/* --- Prometheus ----------------------------------------------------------- */

static void
family(struct evbuffer *out, const char *name, const char *type,
       const char *help)
{
    evbuffer_add_printf(out, "# HELP myshard_%s ", name);
    put_escaped(out, help, ESC_HELP);
    evbuffer_add_printf(out, "\n# TYPE myshard_%s %s\n", name, type);
}

/* Starts a sample: myshard_<name>{k1="v1",...} with n label pairs (NULL
 * names end the list early); the caller appends " value\n". */
static void
sample_start(struct evbuffer *out, const char *name, const char *const *kv,
             int n)
{
    evbuffer_add_printf(out, "myshard_%s", name);
    for (int i = 0; i < n && kv[2 * i] != NULL; i++) {
        evbuffer_add_printf(out, "%s%s=\"", i == 0 ? "{" : ",", kv[2 * i]);
        put_escaped(out, kv[2 * i + 1], ESC_LABEL);
        evbuffer_add(out, "\"", 1);
    }
    if (n > 0 && kv[0] != NULL)
        evbuffer_add(out, "}", 1);
}

static void
sample_ll(struct evbuffer *out, const char *name, const char *const *kv, int n,
          long long v)
{
    sample_start(out, name, kv, n);
    evbuffer_add_printf(out, " %lld\n", v);
}

static void
sample_d(struct evbuffer *out, const char *name, const char *const *kv, int n,
         double v)
{
    sample_start(out, name, kv, n);
    evbuffer_add_printf(out, " %.6f\n", v);
}

static const char *
user_name(const struct snapshot *snap, int u)
{
    const struct cfg *c = snap->cfg;

    return c != NULL && u >= 0 && u < c->nusers ? c->users[u].name : NULL;
}

static const char *
shard_name(const struct snapshot *snap, int s)
{
    const struct cfg *c = snap->cfg;

    return c != NULL && s >= 0 && s < c->nshards ? c->shards[s].name : NULL;
}

static void
render_queries(const struct snapshot *snap, struct evbuffer *out)
{
    family(out, "queries_total", "counter",
           "statements received from clients, by user, shard (\"\" = "
           "several shards or none), role and kind");
    if (snap->queries == NULL) {
        sample_ll(out, "queries_total", NULL, 0,
                  STATS_GET(&snap->totals, queries_total));
        return;
    }
    for (int u = 0; u < snap->q_users; u++) {
        const char *user = user_name(snap, u);

        if (user == NULL)
            continue;
        for (int sh = 0; sh <= snap->q_shards; sh++) {
            const char *shard = sh == 0 ? "" : shard_name(snap, sh - 1);

            if (shard == NULL)
                continue;
            for (int r = 0; r < SR_COUNT; r++)
                for (int k = 0; k < SK_COUNT; k++) {
                    long long v = SNAP_Q(snap, u, sh, r, k);
                    const char *kv[] = {
                        "user",  user,
                        "shard", shard,
                        "role",  stats_route_name((enum stats_route)r),
                        "kind",  stats_kind_name((enum stats_kind)k)};

                    if (v != 0)
                        sample_ll(out, "queries_total", kv, 4, v);
                }
        }
    }
}

static void
render_histogram(const struct snapshot *snap, struct evbuffer *out)
{
    static const double bounds[STATS_NBUCKETS] = STATS_BUCKETS;
    const struct stats *st = &snap->totals;
    long long cum = 0, sum = 0, count;

    family(out, "query_duration_seconds", "histogram",
           "time from a statement's arrival to the end of its answer");
    /* The workers count while the sums are read, bucket by bucket, so a
     * later bucket can come out a little behind an earlier one: keep the
     * exposition cumulative anyway. */
    for (int i = 0; i < STATS_NBUCKETS; i++) {
        long long v = sum += STATS_GET(st, duration_in[i]);
        char le[32];
        const char *kv[] = {"le", le};

        if (v > cum)
            cum = v;
        snprintf(le, sizeof(le), "%g", bounds[i]);
        sample_ll(out, "query_duration_seconds_bucket", kv, 1, cum);
    }
    count = STATS_GET(st, duration_count);
    if (count < cum)
        count = cum;
    {
        const char *kv[] = {"le", "+Inf"};

        sample_ll(out, "query_duration_seconds_bucket", kv, 1, count);
    }
    sample_d(out, "query_duration_seconds_sum", NULL, 0,
             (double)STATS_GET(st, duration_sum_us) / 1e6);
    sample_ll(out, "query_duration_seconds_count", NULL, 0, count);
}

static bool
backend_up(const struct health_row *b)
{
    return b->state == NULL || (strcmp(b->state, "down") != 0 &&
                                strcmp(b->state, "circuit_open") != 0);
}

static void
render_backends(const struct snapshot *snap, struct evbuffer *out)
{
    int i;

    family(out, "backend_info", "gauge",
           "1 for each backend server, with its shard, role and zone");
    for (i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];
        const char *shard = shard_name(snap, b->shard);
        const char *kv[] = {"backend", b->addr,
                            "shard",   shard ? shard : "",
                            "role",    b->role ? b->role : "",
                            "zone",    b->zone ? b->zone : ""};

        sample_ll(out, "backend_info", kv, 4, 1);
    }

    family(out, "backend_up", "gauge",
           "1 while the server takes statements, 0 when down or its circuit "
           "is open");
    for (i = 0; i < snap->nbackends; i++) {
        const char *kv[] = {"backend", snap->backends[i].addr};

        sample_ll(out, "backend_up", kv, 1, backend_up(&snap->backends[i]));
    }

    family(out, "circuit_open", "gauge",
           "1 while the server's circuit breaker is open");
    for (i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];
        const char *kv[] = {"backend", b->addr};

        sample_ll(out, "circuit_open", kv, 1,
                  b->state != NULL && strcmp(b->state, "circuit_open") == 0);
    }

    family(out, "replica_lag_seconds", "gauge",
           "replication lag of each replica, as its last check saw it");
    for (i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];
        const char *kv[] = {"backend", b->addr};

        if (b->role != NULL && strcmp(b->role, "replica") == 0 &&
            b->lag_ms >= 0)
            sample_d(out, "replica_lag_seconds", kv, 1,
                     (double)b->lag_ms / 1000.0);
    }

    family(out, "gtid_position", "gauge",
           "replication position of each server, per GTID domain: the "
           "seqno a replica applied (gtid_slave_pos), a primary wrote "
           "(gtid_binlog_pos)");
    for (i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];
        for (int k = 0; k < b->ngpos; k++) {
            char dom[16];
            const char *kv[] = {"backend", b->addr, "domain", dom};
            snprintf(dom, sizeof(dom), "%u", b->gpos[k].domain);
            sample_ll(out, "gtid_position", kv, 2, (long long)b->gpos[k].seqno);
        }
    }

    family(out, "gtid_acknowledged", "gauge",
           "seqno of the latest write myshard acknowledged on each shard, "
           "per GTID domain");
    for (i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];
        const char *shard = shard_name(snap, b->shard);
        for (int k = 0; k < b->ngacked && shard != NULL; k++) {
            char dom[16];
            const char *kv[] = {"shard", shard, "domain", dom};
            snprintf(dom, sizeof(dom), "%u", b->gacked[k].domain);
            sample_ll(out, "gtid_acknowledged", kv, 2,
                      (long long)b->gacked[k].seqno);
        }
    }

    family(out, "gtid_waits_total", "counter",
           "MASTER_GTID_WAITs run on a replica before a read, by result "
           "(caught_up: the replica served the read; timeout: the primary "
           "did)");
    for (i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];
        const char *ok[] = {"backend", b->addr, "result", "caught_up"};
        const char *to[] = {"backend", b->addr, "result", "timeout"};
        if (strcmp(b->role, "replica") != 0)
            continue;
        sample_ll(out, "gtid_waits_total", ok, 2, b->gtid_waits);
        sample_ll(out, "gtid_waits_total", to, 2, b->gtid_timeouts);
    }

    family(out, "replica_max_lag_seconds", "gauge",
           "backend.health.max_replica_lag: a replica further behind is "
           "lagging and gets no reads");
    if (snap->cfg != NULL)
        sample_d(out, "replica_max_lag_seconds", NULL, 0,
                 (double)snap->cfg->backend.health.max_replica_lag_ms / 1000.0);

    family(out, "backend_queries_total", "counter",
           "statements sent to each server");
    for (i = 0; i < snap->nbackends; i++) {
        const char *kv[] = {"backend", snap->backends[i].addr};

        sample_ll(out, "backend_queries_total", kv, 1,
                  snap->backends[i].queries);
    }

    family(out, "backend_errors_total", "counter",
           "failed connects and statements on each server");
    for (i = 0; i < snap->nbackends; i++) {
        const char *kv[] = {"backend", snap->backends[i].addr};

        sample_ll(out, "backend_errors_total", kv, 1, snap->backends[i].errors);
    }

    family(out, "backend_connections", "gauge",
           "pooled connections to each server, lent to clients (in_use) or "
           "idle");
    for (i = 0; snap->pools != NULL && i < snap->nbackends; i++) {
        const char *use[] = {"backend", snap->backends[i].addr, "state",
                             "in_use"};
        const char *idle[] = {"backend", snap->backends[i].addr, "state",
                              "idle"};

        sample_ll(out, "backend_connections", use, 2, snap->pools[i].in_use);
        sample_ll(out, "backend_connections", idle, 2, snap->pools[i].idle);
    }

    family(out, "pool_waiting", "gauge",
           "statements queued for a connection to each server");
    for (i = 0; snap->pools != NULL && i < snap->nbackends; i++) {
        const char *kv[] = {"backend", snap->backends[i].addr};

        sample_ll(out, "pool_waiting", kv, 1, snap->pools[i].waiting);
    }

    family(out, "pool_wait_seconds", "histogram",
           "how long statements queued for a connection to each server "
           "waited before they got one");
    for (i = 0; snap->pools != NULL && i < snap->nbackends; i++) {
        static const int64_t le_ms[POOL_WAIT_BUCKETS - 1] = POOL_WAIT_LE_MS;
        const struct snap_pool *pl = &snap->pools[i];
        unsigned long long cum = 0;
        char le[32];
        const char *kv[] = {"backend", snap->backends[i].addr, "le", le};

        for (int b = 0; b < POOL_WAIT_BUCKETS; b++) {
            cum += pl->wait_hist[b];
            if (b < POOL_WAIT_BUCKETS - 1)
                snprintf(le, sizeof(le), "%g", (double)le_ms[b] / 1000);
            else
                snprintf(le, sizeof(le), "+Inf");
            sample_ll(out, "pool_wait_seconds_bucket", kv, 2, (long long)cum);
        }
        sample_d(out, "pool_wait_seconds_sum", kv, 1,
                 (double)pl->wait_sum_ms / 1000);
        sample_ll(out, "pool_wait_seconds_count", kv, 1, (long long)cum);
    }
}

/* cluster.redis: shown only when it is set. */
static void
render_cluster(struct evbuffer *out)
{
    struct cluster_row *rows;
    struct cluster_state st;
    int n = cluster_show(&rows, &st);
    static const struct {
        const char *name, *help;
    } counters[] = {
        {"cluster_reconnects_total",
         "subscriptions to cluster.redis made again after a loss"},
        {"cluster_invalidations_published_total",
         "writes announced to the other instances"},
        {"cluster_invalidations_received_total",
         "other instances' writes whose cached reads were dropped here"},
        {"cluster_ack_timeouts_total",
         "writes whose OK waited the whole ack wait for an instance"},
        {"cluster_publish_failures_total",
         "writes not announced: Redis was down (cache off meanwhile)"},
    };
    unsigned long long vals[] = {st.reconnects, st.published, st.received,
                                 st.ack_timeouts, st.write_failures};

    free(rows);
    if (!st.enabled)
        return;
    family(out, "cluster_redis_up", "gauge",
           "1 while subscribed to cluster.redis (the cache serves), else 0");
    sample_ll(out, "cluster_redis_up", NULL, 0, st.redis_up ? 1 : 0);
    family(out, "cluster_instances", "gauge",
           "instances with a live heartbeat in cluster.redis");
    sample_ll(out, "cluster_instances", NULL, 0, n);
    family(out, "cluster_limits_shared", "gauge",
           "1 while rate limits count across the instances through Redis; "
           "0 while each instance enforces its share");
    sample_ll(out, "cluster_limits_shared", NULL, 0, st.limits_shared ? 1 : 0);
    family(out, "cluster_limit_share_divisor", "gauge",
           "the instances each limit is divided by when not shared (and "
           "for the leaky bucket's waits)");
    sample_ll(out, "cluster_limit_share_divisor", NULL, 0, st.limit_instances);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        family(out, counters[i].name, "counter", counters[i].help);
        sample_ll(out, counters[i].name, NULL, 0, (long long)vals[i]);
    }
    family(out, "cluster_ok_wait_seconds_total", "counter",
           "time writes' OKs were held until the other instances dropped "
           "their entries");
    sample_d(out, "cluster_ok_wait_seconds_total", NULL, 0, st.wait_seconds);
}

static void
render_users(const struct snapshot *snap, struct evbuffer *out)
{
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"user_queries_total", "counter", "statements received, per user"},
        {"user_errors_total", "counter",
         "statements answered with an error, per user"},
        {"user_connections", "gauge", "client connections open, per user"},
        {"rate_limited_total", "counter",
         "statements refused or delayed by the user's rate limit"},
    };

    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
        family(out, fams[f].name, fams[f].type, fams[f].help);
        for (int u = 0; snap->users != NULL && u < snap->nusers; u++) {
            const struct stats_user *su = &snap->users[u];
            const char *name = user_name(snap, u);
            const char *kv[] = {"user", name};
            long long v;

            if (name == NULL)
                continue;
            switch (f) {
            case 0:
                v = STATS_GET(su, queries);
                break;
            case 1:
                v = STATS_GET(su, errors);
                break;
            case 2:
                v = snap->user_conns ? snap->user_conns[u] : 0;
                break;
            default:
                v = STATS_GET(su, rate_limited);
                break;
            }
            sample_ll(out, fams[f].name, kv, 1, v);
        }
    }
}

/* Each reshard still listed by SHOW RESHARD, labelled by id and rule. */
static void
render_reshard(struct evbuffer *out)
{
    struct reshard_info *info = xcalloc(64, sizeof(*info));
    int n = reshard_list(info, 64);
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"reshard_phase", "gauge",
         "1 for the reshard's current phase (copy, catchup, cutover, "
         "cleanup, done, aborted, failed)"},
        {"reshard_rows_copied", "gauge", "rows copied to the target"},
        {"reshard_rows_total", "gauge",
         "rows to copy, counted in the source's snapshot"},
        {"reshard_rows_cleaned", "gauge",
         "moved rows deleted from the source after the cutover"},
        {"reshard_binlog_behind", "gauge",
         "source transactions the target has not applied yet"},
        {"reshard_binlog_lag_seconds", "gauge",
         "seconds since the target was last caught up with the source"},
        {"reshard_held_writes", "gauge",
         "writes to moving keys held now by the cutover"},
        {"reshard_held_writes_total", "counter",
         "writes to moving keys held by cutovers"},
        {"reshard_longest_hold_seconds", "gauge",
         "the longest cutover hold of writes"},
        {"reshard_cutover_tries", "gauge", "cutovers tried by the reshard"},
    };

    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        family(out, fam[f].name, fam[f].type, fam[f].help);
        for (int i = 0; i < n; i++) {
            const struct reshard_info *r = &info[i];
            char id[24];
            const char *kv[] = {"id",    id,   "rule", r->rule, "from",
                                r->from, "to", r->to,  "phase", r->phase};
            snprintf(id, sizeof(id), "%llu", (unsigned long long)r->id);
            switch (f) {
            case 0:
                sample_ll(out, fam[f].name, kv, 5, 1);
                break;
            case 1:
                sample_ll(out, fam[f].name, kv, 4, r->rows_copied);
                break;
            case 2:
                sample_ll(out, fam[f].name, kv, 4, r->rows_total);
                break;
            case 3:
                sample_ll(out, fam[f].name, kv, 4, r->rows_cleaned);
                break;
            case 4:
                sample_ll(out, fam[f].name, kv, 4, r->binlog_behind);
                break;
            case 5:
                sample_d(out, fam[f].name, kv, 4, r->binlog_lag_s);
                break;
            case 6:
                sample_ll(out, fam[f].name, kv, 4, r->held_now);
                break;
            case 7:
                sample_ll(out, fam[f].name, kv, 4, (long long)r->held_total);
                break;
            case 8:
                sample_d(out, fam[f].name, kv, 4,
                         (double)r->longest_hold_ms / 1000.0);
                break;
            default:
                sample_ll(out, fam[f].name, kv, 4, r->cutover_tries);
                break;
            }
        }
    }
    free(info);
}

void
metrics_render_prometheus(const struct snapshot *snap, struct evbuffer *out)
{
#define COUNTER(name, help)                                                    \
    if (strcmp(#name, "queries_total") == 0) {                                 \
        render_queries(snap, out);                                             \
    } else {                                                                   \
        family(out, #name, "counter", help);                                   \
        sample_ll(out, #name, NULL, 0, STATS_GET(&snap->totals, name));        \
    }
    STATS_COUNTERS(COUNTER)
#undef COUNTER

    render_histogram(snap, out);

    family(out, "client_connections", "gauge", "client connections open");
    sample_ll(out, "client_connections", NULL, 0, snap->client_connections);

    family(out, "xa_in_doubt", "gauge",
           "two-phase commits decided whose branches are not all committed "
           "yet (the resolver retries every 2 s)");
    sample_ll(out, "xa_in_doubt", NULL, 0, snap->xa_in_doubt);

    render_backends(snap, out);

    family(out, "pins_total", "counter",
           "times a client was pinned to its backend connection, by reason");
    for (int i = 0; i < STATS_PIN_REASONS; i++) {
        const char *reason = session_pin_name(i);
        const char *kv[] = {"reason", reason};

        if (reason != NULL)
            sample_ll(out, "pins_total", kv, 1,
                      STATS_GET(&snap->totals, pins_taken[i]));
    }

    render_users(snap, out);
    render_cluster(out);
    render_reshard(out);

    family(out, "uptime_seconds", "gauge", "seconds since myshard started");
    sample_d(out, "uptime_seconds", NULL, 0, (double)snap->uptime_ms / 1000.0);
}

/* --- JSON ----------------------------------------------------------------- */

static void
json_str(struct evbuffer *out, const char *s)
{
    if (s == NULL) {
        evbuffer_add(out, "null", 4);
        return;
    }
    evbuffer_add(out, "\"", 1);
    put_escaped(out, s, ESC_JSON);
    evbuffer_add(out, "\"", 1);
}

/* ,"key": (the comma unless first) */
static void
json_key(struct evbuffer *out, const char *key, bool first)
{
    evbuffer_add_printf(out, "%s\"%s\":", first ? "" : ",", key);
}

static void
json_ll(struct evbuffer *out, const char *key, long long v)
{
    json_key(out, key, false);
    evbuffer_add_printf(out, "%lld", v);
}

static void
render_shards_json(const struct snapshot *snap, struct evbuffer *out)
{
    const struct cfg *c = snap->cfg;

    evbuffer_add(out, "[", 1);
    for (int s = 0; c != NULL && s < c->nshards; s++) {
        const struct cfg_shard *sh = &c->shards[s];

        evbuffer_add(out, s ? ",{" : "{", s ? 2 : 1);
        json_key(out, "name", true);
        json_str(out, sh->name);
        json_key(out, "primary", false);
        json_str(out, sh->primary.text);
        json_key(out, "replicas", false);
        evbuffer_add(out, "[", 1);
        for (int r = 0; r < sh->nreplicas; r++) {
            if (r)
                evbuffer_add(out, ",", 1);
            json_str(out, sh->replicas[r].addr.text);
        }
        evbuffer_add(out, "]}", 2);
    }
    evbuffer_add(out, "]", 1);
}

static void
render_backends_json(const struct snapshot *snap, struct evbuffer *out)
{
    evbuffer_add(out, "[", 1);
    for (int i = 0; i < snap->nbackends; i++) {
        const struct health_row *b = &snap->backends[i];

        evbuffer_add(out, i ? ",{" : "{", i ? 2 : 1);
        json_key(out, "addr", true);
        json_str(out, b->addr);
        json_key(out, "shard", false);
        json_str(out, shard_name(snap, b->shard));
        json_key(out, "role", false);
        json_str(out, b->role);
        json_key(out, "state", false);
        json_str(out, b->state);
        json_key(out, "zone", false);
        json_str(out, b->zone);
        json_ll(out, "weight", b->weight);
        json_key(out, "lag_ms", false);
        if (b->lag_ms < 0)
            evbuffer_add(out, "null", 4);
        else
            evbuffer_add_printf(out, "%lld", (long long)b->lag_ms);
        json_ll(out, "conns", b->conns);
        json_ll(out, "queries", b->queries);
        json_ll(out, "errors", b->errors);
        json_ll(out, "avg_latency_us", (long long)b->avg_latency_us);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "]", 1);
}

static void
render_pools_json(const struct snapshot *snap, struct evbuffer *out)
{
    evbuffer_add(out, "[", 1);
    for (int i = 0; snap->pools != NULL && i < snap->nbackends; i++) {
        const struct snap_pool *p = &snap->pools[i];

        evbuffer_add(out, i ? ",{" : "{", i ? 2 : 1);
        json_key(out, "backend", true);
        json_str(out, snap->backends[i].addr);
        json_ll(out, "max", p->max);
        json_ll(out, "open", p->open);
        json_ll(out, "in_use", p->in_use);
        json_ll(out, "idle", p->idle);
        json_ll(out, "connecting", p->connecting);
        json_ll(out, "waiting", p->waiting);
        json_ll(out, "longest_wait_ms", (long long)p->longest_wait_ms);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "]", 1);
}

/* "counters": every counter of STATS_COUNTERS, summed */
static void
render_counters_json(const struct snapshot *snap, struct evbuffer *out)
{
    bool first = true;

    evbuffer_add(out, "{", 1);
#define COUNTER(name, help)                                                    \
    json_key(out, #name, first);                                               \
    evbuffer_add_printf(out, "%lld", STATS_GET(&snap->totals, name));          \
    first = false;
    STATS_COUNTERS(COUNTER)
#undef COUNTER
    evbuffer_add(out, "}", 1);
}

static void
render_users_json(const struct snapshot *snap, struct evbuffer *out)
{
    int n = 0;

    evbuffer_add(out, "[", 1);
    for (int u = 0; snap->users != NULL && u < snap->nusers; u++) {
        const struct stats_user *su = &snap->users[u];
        const char *name = user_name(snap, u);

        if (name == NULL)
            continue;
        evbuffer_add(out, n ? ",{" : "{", n ? 2 : 1);
        n++;
        json_key(out, "name", true);
        json_str(out, name);
        json_ll(out, "connections", snap->user_conns ? snap->user_conns[u] : 0);
        json_ll(out, "queries", STATS_GET(su, queries));
        json_ll(out, "errors", STATS_GET(su, errors));
        json_ll(out, "rate_limited", STATS_GET(su, rate_limited));
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "]", 1);
}

/* the first METRICS_STATUS_DIGESTS digests (already by total time) */
static void
render_digests_json(const struct snapshot *snap, struct evbuffer *out)
{
    evbuffer_add(out, "[", 1);
    for (int i = 0; snap->digests != NULL && i < snap->ndigests &&
                    i < METRICS_STATUS_DIGESTS;
         i++) {
        const struct snap_digest *d = &snap->digests[i];

        evbuffer_add(out, i ? ",{" : "{", i ? 2 : 1);
        json_key(out, "digest", true);
        json_str(out, d->text);
        json_ll(out, "count", d->count);
        json_ll(out, "total_us", d->total_us);
        json_ll(out, "max_us", d->max_us);
        json_ll(out, "errors", d->errors);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "]", 1);
}

void
metrics_render_status_json(const struct snapshot *snap, struct evbuffer *out)
{
    evbuffer_add(out, "{", 1);
    json_key(out, "version", true);
    json_str(out, MYSHARD_VERSION);
    json_key(out, "uptime_seconds", false);
    evbuffer_add_printf(out, "%.3f", (double)snap->uptime_ms / 1000.0);
    json_ll(out, "workers", snap->nworkers);
    json_ll(out, "client_connections", snap->client_connections);
    json_ll(out, "xa_in_doubt", snap->xa_in_doubt);
    json_key(out, "serving", false);
    evbuffer_add_printf(out, "%s", snap->serving ? "true" : "false");
    json_key(out, "shards", false);
    render_shards_json(snap, out);
    json_key(out, "backends", false);
    render_backends_json(snap, out);
    json_key(out, "pools", false);
    render_pools_json(snap, out);
    json_key(out, "users", false);
    render_users_json(snap, out);
    json_key(out, "counters", false);
    render_counters_json(snap, out);
    json_key(out, "digests", false);
    render_digests_json(snap, out);
    evbuffer_add(out, "}\n", 2);
}

/* --- routing -------------------------------------------------------------- */

void
metrics_http_reply(const struct snapshot *snap, const char *path,
                   struct http_reply *r)
{
    if (strcmp(path, "/metrics") == 0) {
        r->status = 200;
        r->content_type = METRICS_PROMETHEUS_TYPE;
        metrics_render_prometheus(snap, r->body);
    } else if (strcmp(path, "/status") == 0) {
        r->status = 200;
        r->content_type = METRICS_JSON_TYPE;
        metrics_render_status_json(snap, r->body);
    } else if (strcmp(path, "/healthz") == 0) {
        r->status = snap->serving ? 200 : 503;
        r->content_type = "text/plain; charset=utf-8";
        evbuffer_add_printf(r->body, "%s\n",
                            snap->serving ? "ok" : "not serving");
    } else {
        r->status = 404;
        r->content_type = "text/plain; charset=utf-8";
        evbuffer_add_printf(r->body, "not found\n");
    }
}
