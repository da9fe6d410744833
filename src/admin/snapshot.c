/*
 * snapshot.c - see snapshot.h. Each worker copies its part (pools,
 * clients, digests, per-user and per-route counts) on its own thread, into
 * a slot of a shared gather context; the admin thread waits for them (2 s
 * at most), then sums. The context is reference-counted, so a worker that
 * answers late writes into memory that still exists.
 */
#include "admin/snapshot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "backend/xalog.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/conn.h"
#include "cfg/cfg.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "session/session.h"
#include "session/session_types.h"
#include "session/prepare.h"

#define GATHER_WAIT_MS 2000

struct part {
    bool done;
    struct cfg *cfg; /* (ref held) the worker's generation */
    struct snap_pool *pools;
    int npools;
    struct snap_client *clients;
    int nclients;
    struct snap_digest *digests;
    int ndigests;
    long long *qmatrix; /* copy, q_users x (q_shards+1) x SR x SK */
    int q_users, q_shards;
    long long *uqueries, *uerrors, *ulimited; /* per q_users */
    long long *uconns;
    long long sessions;
    long long bytes_in, bytes_out;
};

struct gather {
    atomic_int refs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
    unsigned what;
    int nparts;
    struct part parts[];
};

static void
part_free(struct part *p)
{
    cfg_put(p->cfg);
    free(p->pools);
    free(p->clients);
    free(p->digests);
    free(p->qmatrix);
    free(p->uqueries);
    free(p->uerrors);
    free(p->ulimited);
    free(p->uconns);
}

static void
gather_put(struct gather *g)
{
    if (atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    for (int i = 0; i < g->nparts; i++)
        part_free(&g->parts[i]);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

static const char *
state_name(enum sess_state st)
{
    switch (st) {
    case SESS_HANDSHAKE:
    case SESS_AUTH_SWITCH:
    case SESS_AUTH_DELAY:
        return "login";
    case SESS_IDLE:
        return "idle";
    case SESS_WAIT_BACKEND:
        return "waiting";
    case SESS_PRELUDE:
    case SESS_RELAY:
        return "running";
    default:
        return "closing";
    }
}

static void
client_row(const struct session *s, const struct cfg *c, int64_t now,
           struct snap_client *r)
{
    size_t n = 0;
    unsigned pins;

    r->id = s->id;
    snprintf(r->user, sizeof(r->user), "%s",
             s->user >= 0 && s->user < c->nusers ? c->users[s->user].name : "");
    snprintf(r->addr, sizeof(r->addr), "%s", s->addr);
    snprintf(r->schema, sizeof(r->schema), "%s",
             s->schema >= 0 && s->schema < c->nschemas
                 ? c->schemas[s->schema].name
                 : "");
    r->state = state_name(s->state);
    r->pins[0] = '\0';
    /* A BEGIN not yet sent to a shard holds nothing, but it is open. */
    pins = s->pins |
           (s->txn_begin != NULL || s->txn != NULL ? PIN_TRANSACTION : 0u);
    for (int b = 0; b < PIN_REASONS; b++) {
        const char *name = session_pin_name(b);
        int k;
        if (!(pins & (1u << b)) || name == NULL)
            continue;
        k = snprintf(r->pins + n, sizeof(r->pins) - n, "%s%s", n ? "," : "",
                     name);
        if (k < 0 || (size_t)k >= sizeof(r->pins) - n)
            break;
        n += (size_t)k;
    }
    r->stmt[0] = '\0';
    if (s->state != SESS_IDLE && s->cmd.data != NULL && s->cmd.len > 1) {
        const char *sql = NULL;
        size_t len = 0;
        if (s->cmd_byte == COM_QUERY) {
            sql = (const char *)s->cmd.data + 1;
            len = s->cmd.len - 1;
        } else if (s->cmd_byte == COM_STMT_EXECUTE && s->exec_ps != NULL) {
            sql = s->exec_ps->sql;
            len = s->exec_ps->len;
        }
        if (sql != NULL) {
            len = MIN(len, sizeof(r->stmt) - 1);
            memcpy(r->stmt, sql, len);
            r->stmt[len] = '\0';
            for (size_t i = 0; i < len; i++)
                if (r->stmt[i] == '\n' || r->stmt[i] == '\r' ||
                    r->stmt[i] == '\t')
                    r->stmt[i] = ' ';
        }
    }
    r->age_ms = now - s->connected_ms;
}

/* Runs on the worker's thread: copies its part. */
static void
gather_cb(struct worker *w, void *arg)
{
    struct gather *g = arg;
    struct wctx *wc = w->ctx;
    struct part *p = &g->parts[w->id];
    const struct cfg *c = wc->cfg;
    int64_t now = clock_ms();
    size_t cells;

    p->cfg = cfg_get(wc->cfg);
    for (struct session *s = wc->sessions; s; s = s->next) {
        p->sessions++;
        if (s->conn) {
            p->bytes_in += (long long)s->conn->bytes_in;
            p->bytes_out += (long long)s->conn->bytes_out;
        }
    }
    if (g->what & SNAP_POOLS) {
        p->npools = wc->npools; /* the set may have grown past them */
        p->pools = xcalloc((size_t)MAX(p->npools, 1), sizeof(*p->pools));
        for (int k = 0; k < p->npools; k++) {
            const struct pool *pl = wc->pools[k];
            struct snap_pool *r = &p->pools[k];
            r->max = (int)pl->max_connections;
            r->in_use = pl->nlent;
            r->idle = pl->nidle;
            r->connecting = pl->nconnecting;
            r->waiting = pl->nwaiting;
            r->longest_wait_ms =
                pl->wait_head ? now - pl->wait_head->since_ms : 0;
            memcpy(r->wait_hist, pl->wait_hist, sizeof(r->wait_hist));
            r->wait_sum_ms = pl->wait_sum_ms;
        }
    }
    if (g->what & SNAP_CLIENTS) {
        int i = 0;
        p->clients = xcalloc((size_t)MAX(p->sessions, 1), sizeof(*p->clients));
        for (struct session *s = wc->sessions; s; s = s->next) {
            client_row(s, c, now, &p->clients[i]);
            p->clients[i++].worker = w->id;
        }
        p->nclients = i;
    }
    if ((g->what & SNAP_DIGESTS) && wc->digests.v != NULL) {
        p->digests = xcalloc(DIGESTS_SLOTS, sizeof(*p->digests));
        for (int k = 0; k < DIGESTS_SLOTS; k++) {
            const struct digest_entry *e = &wc->digests.v[k];
            struct snap_digest *d;
            if (e->count == 0)
                continue;
            d = &p->digests[p->ndigests++];
            snprintf(d->text, sizeof(d->text), "%s", e->text);
            d->count = e->count;
            d->total_us = e->total_us;
            d->max_us = e->max_us;
            d->errors = e->errors;
        }
    }
    p->q_users = wc->q_users;
    p->q_shards = wc->q_shards;
    cells = (size_t)MAX(p->q_users, 1) * (size_t)(p->q_shards + 1) * SR_COUNT *
            SK_COUNT;
    p->qmatrix = xcalloc(cells, sizeof(*p->qmatrix));
    for (size_t i = 0; wc->qmatrix && i < cells; i++)
        p->qmatrix[i] =
            atomic_load_explicit(&wc->qmatrix[i], memory_order_relaxed);
    p->uqueries = xcalloc((size_t)MAX(wc->nustats, 1), sizeof(long long));
    p->uerrors = xcalloc((size_t)MAX(wc->nustats, 1), sizeof(long long));
    p->ulimited = xcalloc((size_t)MAX(wc->nustats, 1), sizeof(long long));
    p->uconns = xcalloc((size_t)MAX(c->nusers, 1), sizeof(long long));
    for (int u = 0; u < wc->nustats && u < p->q_users; u++) {
        p->uqueries[u] = STATS_GET(&wc->ustats[u], queries);
        p->uerrors[u] = STATS_GET(&wc->ustats[u], errors);
        p->ulimited[u] = STATS_GET(&wc->ustats[u], rate_limited);
    }
    for (struct session *s = wc->sessions; s; s = s->next)
        if (s->user >= 0 && s->user < c->nusers)
            p->uconns[s->user]++;
    pthread_mutex_lock(&g->mu);
    p->done = true;
    g->pending--;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    gather_put(g);
}

static int
cmp_client(const void *a, const void *b)
{
    const struct snap_client *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
cmp_digest_text(const void *a, const void *b)
{
    return strcmp(((const struct snap_digest *)a)->text,
                  ((const struct snap_digest *)b)->text);
}

static int
cmp_digest_time(const void *a, const void *b)
{
    const struct snap_digest *x = a, *y = b;
    return x->total_us > y->total_us ? -1 : x->total_us < y->total_us;
}

/* Index of the user named like user u of config c in the snapshot's. */
static int
user_in(const struct cfg *snapcfg, const struct cfg *c, int u)
{
    if (c == snapcfg)
        return u;
    if (u >= c->nusers)
        return -1;
    for (int i = 0; i < snapcfg->nusers; i++)
        if (strcmp(snapcfg->users[i].name, c->users[u].name) == 0)
            return i;
    return -1;
}

static void
merge_part(struct snapshot *s, const struct part *p)
{
    const struct cfg *c = p->cfg;

    s->client_connections += p->sessions;
    STATS_ADD(&s->totals, client_bytes_in_total, p->bytes_in);
    STATS_ADD(&s->totals, client_bytes_out_total, p->bytes_out);
    for (int k = 0; k < p->npools && k < s->nbackends; k++) {
        struct snap_pool *d = &s->pools[k];
        const struct snap_pool *r = &p->pools[k];
        d->max = r->max;
        d->in_use += r->in_use;
        d->idle += r->idle;
        d->connecting += r->connecting;
        d->waiting += r->waiting;
        d->longest_wait_ms = MAX(d->longest_wait_ms, r->longest_wait_ms);
        for (int b = 0; b < POOL_WAIT_BUCKETS; b++)
            d->wait_hist[b] += r->wait_hist[b];
        d->wait_sum_ms += r->wait_sum_ms;
    }
    for (int u = 0; u < p->q_users; u++) {
        int su = user_in(s->cfg, c, u);
        if (su < 0)
            continue;
        STATS_ADD(&s->users[su], queries, p->uqueries[u]);
        STATS_ADD(&s->users[su], errors, p->uerrors[u]);
        STATS_ADD(&s->users[su], rate_limited, p->ulimited[u]);
        if (u < c->nusers)
            s->user_conns[su] += p->uconns[u];
        /* a worker that has not switched to the generation that appended
         * shards yet: the shards both know (positions never change) */
        for (int sh = 0; sh <= MIN(p->q_shards, s->q_shards); sh++)
            for (int r = 0; r < SR_COUNT; r++)
                for (int k = 0; k < SK_COUNT; k++)
                    SNAP_Q(s, su, sh, r, k) +=
                        p->qmatrix[(((size_t)u * (size_t)(p->q_shards + 1) +
                                     (size_t)sh) *
                                        SR_COUNT +
                                    (size_t)r) *
                                       SK_COUNT +
                                   (size_t)k];
    }
}

struct snapshot *
snapshot_take(const struct admin_view *v, unsigned what)
{
    struct snapshot *s = xcalloc(1, sizeof(*s));
    struct gather *g;
    struct timespec until;
    int64_t now = clock_ms();
    size_t cells;
    int nclients = 0, ndig = 0;

    s->cfg = v->cfg_get(v->cfg_arg);
    s->uptime_ms = now - v->started_ms;
    s->started_wall = v->started_wall;
    s->nworkers = v->nworkers;
    s->serving = v->serving ? v->serving(v->cfg_arg) : true;
    s->xa_in_doubt = xalog_in_doubt();
    s->nbackends = v->servers->n;
    s->backends = xcalloc((size_t)MAX(s->nbackends, 1), sizeof(*s->backends));
    health_snapshot(v->servers, s->backends, s->nbackends);
    s->pools = xcalloc((size_t)MAX(s->nbackends, 1), sizeof(*s->pools));
    for (int k = 0; k < s->nbackends; k++)
        s->pools[k].open = atomic_load(&v->servers->v[k].conns);
    s->nusers = s->cfg->nusers;
    s->users = xcalloc((size_t)MAX(s->cfg->nusers, 1), sizeof(*s->users));
    s->user_conns =
        xcalloc((size_t)MAX(s->cfg->nusers, 1), sizeof(*s->user_conns));
    s->q_users = s->cfg->nusers;
    s->q_shards = s->cfg->nshards;
    cells = (size_t)MAX(s->q_users, 1) * (size_t)(s->q_shards + 1) * SR_COUNT *
            SK_COUNT;
    s->queries = xcalloc(cells, sizeof(*s->queries));
    for (int i = 0; i < v->nworkers; i++)
        stats_sum(&s->totals, &v->wctx[i].stats);

    g = xcalloc(1, sizeof(*g) + (size_t)v->nworkers * sizeof(g->parts[0]));
    atomic_init(&g->refs, v->nworkers + 1);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->pending = v->nworkers;
    g->what = what | SNAP_POOLS;
    g->nparts = v->nworkers;
    for (int i = 0; i < v->nworkers; i++)
        worker_call(&v->workers[i], gather_cb, g);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += GATHER_WAIT_MS / 1000;
    pthread_mutex_lock(&g->mu);
    while (g->pending > 0)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) != 0)
            break;
    if (g->pending > 0)
        log_warn("admin snapshot: %d worker(s) did not answer in %d ms",
                 g->pending, GATHER_WAIT_MS);
    for (int i = 0; i < g->nparts; i++)
        if (g->parts[i].done) {
            nclients += g->parts[i].nclients;
            ndig += g->parts[i].ndigests;
        }
    s->clients = xcalloc((size_t)MAX(nclients, 1), sizeof(*s->clients));
    s->digests = xcalloc((size_t)MAX(ndig, 1), sizeof(*s->digests));
    for (int i = 0; i < g->nparts; i++) {
        const struct part *p = &g->parts[i];
        if (!p->done)
            continue;
        merge_part(s, p);
        if (p->nclients > 0)
            memcpy(s->clients + s->nclients, p->clients,
                   (size_t)p->nclients * sizeof(*s->clients));
        s->nclients += p->nclients;
        if (p->ndigests > 0)
            memcpy(s->digests + s->ndigests, p->digests,
                   (size_t)p->ndigests * sizeof(*s->digests));
        s->ndigests += p->ndigests;
    }
    pthread_mutex_unlock(&g->mu);
    gather_put(g);

    qsort(s->clients, (size_t)s->nclients, sizeof(*s->clients), cmp_client);
    /* The same statement seen by several workers: one row. */
    qsort(s->digests, (size_t)s->ndigests, sizeof(*s->digests),
          cmp_digest_text);
    {
        int out = 0;
        for (int i = 0; i < s->ndigests; i++) {
            if (out > 0 &&
                strcmp(s->digests[out - 1].text, s->digests[i].text) == 0) {
                struct snap_digest *d = &s->digests[out - 1];
                d->count += s->digests[i].count;
                d->total_us += s->digests[i].total_us;
                d->max_us = MAX(d->max_us, s->digests[i].max_us);
                d->errors += s->digests[i].errors;
                continue;
            }
            s->digests[out++] = s->digests[i];
        }
        s->ndigests = out;
    }
    qsort(s->digests, (size_t)s->ndigests, sizeof(*s->digests),
          cmp_digest_time);
    return s;
}

void
snapshot_free(struct snapshot *s)
{
    if (s == NULL)
        return;
    cfg_put(s->cfg);
    free(s->backends);
    free(s->pools);
    free(s->clients);
    free(s->digests);
    free(s->users);
    free(s->user_conns);
    free(s->queries);
    free(s);
}
