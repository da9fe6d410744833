/*
 * proxy.c - start, run, reload and stop: builds the server set from the
 * config, starts one worker per configured thread (each with its own
 * listener and pools), and turns signals into actions on the main thread's
 * loop. SIGTERM/SIGINT: stop accepting, let running statements and open
 * transactions finish for up to shutdown_timeout, then close everything.
 * SIGHUP (and the admin console's RELOAD CONFIG): proxy_reload.
 *
 * TLS contexts belong to a generation: every load (start, --check, reload)
 * reads the certificate files again, and a reload with tls: configured
 * always applies, so replaced certificate files take effect for new
 * connections even when the config text did not change.
 *
 * Reload: the file is loaded and validated into a new generation; a bad
 * file changes nothing. The keys bound at start (cfg_diff: listen, workers,
 * admin.listen, admin.http, xa_log, the servers of the running shards)
 * keep their running values and are reported as needing a restart; a
 * shard removed, renamed or moved refuses the whole reload, since rules and
 * schemas name shards by position. Shards appended at the end are added:
 * their servers join the shared server set first (server_set_grow; the
 * health monitor's next round checks them), and each worker makes their
 * pools when it switches, before it routes a statement by the generation
 * that names them. The new generation then replaces px->cfg, goes to the
 * health monitor, and to every worker through its inbox
 * (session/reload.h: between events, so no statement is halfway through
 * its classification). Each worker drops its reference to the old
 * generation as it switches; the last one frees it.
 */
#include "proxy.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/health.h"
#include "backend/tablemeta.h"
#include "base/diag.h"
#include "backend/killer.h"
#include "backend/pool.h"
#include "backend/server.h"
#include "admin/console.h"
#include "backend/cluster.h"
#include "backend/xalog.h"
#include "reshard/reshard.h"
#include "base/clock.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "net/tls.h"
#include "net/worker.h"
#include "session/passcheck.h"
#include "session/qcache.h"
#include "session/reload.h"
#include "session/tablecols.h"
#include "session/session.h"
#include "route/router.h"
#include "sql/classify.h"
#include "sql/rewrite.h"

/* How long a reload waits for the workers to switch before it reports. */
#define RELOAD_WAIT_MS 5000

struct proxy {
    struct cfg *cfg; /* (ref held) the running generation; the pointer is
                        guarded by cfg_mu (other threads read it) */
    pthread_mutex_t cfg_mu;
    pthread_mutex_t reload_mu; /* one reload at a time; guards stopping */
    unsigned generation;       /* 1 at start, +1 per reload applied */
    char *cfg_path;
    struct server_set *servers;
    struct health *health;   /* the monitor thread */
    struct tablemeta *tmeta; /* the tables' columns (backend/tablemeta.h) */
    int nworkers;
    struct worker *workers;
    struct wctx *wctx;
    struct event_base *base;
    struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
    int64_t drain_deadline_ms;
    atomic_bool stopping;
    struct admin_view view; /* what the admin thread reads */
    struct admin_ops ops;
    struct console *console;
};

static bool
view_serving(void *arg)
{
    struct proxy *px = arg;

    return px->workers != NULL && !atomic_load(&px->stopping);
}

static void
drain_worker(struct worker *w, void *arg)
{
    struct wctx *wc = w->ctx;
    struct session *s, *next;

    (void)arg;
    worker_unlisten(w);
    wc->draining = true;
    for (s = wc->sessions; s; s = next) {
        next = s->next;
        if (s->state != SESS_WAIT_BACKEND && s->state != SESS_PRELUDE &&
            s->state != SESS_RELAY && s->sc == NULL)
            session_close(s, "shutdown");
    }
}

static void
teardown_worker(struct worker *w, void *arg)
{
    struct wctx *wc = w->ctx;

    (void)arg;
    session_close_all(wc);
}

static int
live_sessions(struct proxy *px)
{
    int n = 0;

    for (int i = 0; i < px->nworkers; i++)
        n += __atomic_load_n(&px->wctx[i].nsessions, __ATOMIC_RELAXED);
    return n;
}

static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    int n = live_sessions(px);

    (void)fd;
    (void)what;
    if (n == 0 || clock_ms() >= px->drain_deadline_ms) {
        if (n > 0)
            log_warn("shutdown timeout: closing clients=%d", n);
        event_base_loopbreak(px->base);
    }
}

struct cfg *
proxy_cfg_get(void *arg)
{
    struct proxy *px = arg;
    struct cfg *c;

    pthread_mutex_lock(&px->cfg_mu);
    c = cfg_get(px->cfg);
    pthread_mutex_unlock(&px->cfg_mu);
    return c;
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    struct timeval tv = {0, 50 * 1000};
    struct cfg *c;

    (void)what;
    if (px->stopping) {
        log_warn("second signal: stopping now");
        event_base_loopbreak(px->base);
        return;
    }
    pthread_mutex_lock(&px->reload_mu); /* waits for a reload under way */
    px->stopping = true;
    pthread_mutex_unlock(&px->reload_mu);
    c = proxy_cfg_get(px);
    log_info("shutting down signal=%d clients=%d timeout_ms=%lld", (int)sig,
             live_sessions(px), (long long)c->shutdown_timeout_ms);
    for (int i = 0; i < px->nworkers; i++)
        worker_call(&px->workers[i], drain_worker, NULL);
    px->drain_deadline_ms = clock_ms() + c->shutdown_timeout_ms;
    px->ev_drain = event_new(px->base, -1, EV_PERSIST, drain_tick, px);
    event_add(px->ev_drain, &tv);
    cfg_put(c);
}

static bool
uses_xa(const struct cfg *c)
{
    for (int i = 0; i < c->nschemas; i++)
        if (c->schemas[i].transactions == TXN_XA)
            return true;
    return false;
}

/* ---- reload ------------------------------------------------------------ */

/* The workers' switch, waited for by the reload (bounded): shared by the
 * reload and every worker's job, freed by the last one. */
struct reload_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int pending;       /* workers that have not switched yet */
    int refs;
};

struct reload_job {
    struct cfg *cfg; /* (ref held) */
    struct reload_sync *sync;
};

static void
sync_put(struct reload_sync *rs)
{
    bool last;

    pthread_mutex_lock(&rs->mu);
    last = --rs->refs == 0;
    pthread_mutex_unlock(&rs->mu);
    if (!last)
        return;
    pthread_cond_destroy(&rs->cv);
    pthread_mutex_destroy(&rs->mu);
    free(rs);
}

/* On the worker's thread, from its inbox: between events. */
static void
reload_worker(struct worker *w, void *arg)
{
    struct reload_job *job = arg;

    reload_use_cfg(w->ctx, job->cfg);
    cfg_put(job->cfg);
    pthread_mutex_lock(&job->sync->mu);
    job->sync->pending--;
    pthread_cond_broadcast(&job->sync->cv);
    pthread_mutex_unlock(&job->sync->mu);
    sync_put(job->sync);
    free(job);
}

/* Hands next to every worker and waits up to RELOAD_WAIT_MS for them to
 * switch; returns how many have not yet (they still will). */
static int
switch_workers(struct proxy *px, struct cfg *next)
{
    struct reload_sync *rs = xcalloc(1, sizeof(*rs));
    pthread_condattr_t ca;
    struct timespec ts;
    int64_t deadline = clock_ms() + RELOAD_WAIT_MS;
    int left;

    pthread_mutex_init(&rs->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->cv, &ca);
    pthread_condattr_destroy(&ca);
    rs->pending = px->nworkers;
    rs->refs = px->nworkers + 1;
    for (int i = 0; i < px->nworkers; i++) {
        struct reload_job *job = xcalloc(1, sizeof(*job));
        job->cfg = cfg_get(next);
        job->sync = rs;
        worker_call(&px->workers[i], reload_worker, job);
    }
    ts.tv_sec = (time_t)(deadline / 1000);
    ts.tv_nsec = (long)(deadline % 1000) * 1000000;
    pthread_mutex_lock(&rs->mu);
    while (rs->pending > 0 && clock_ms() < deadline)
        pthread_cond_timedwait(&rs->cv, &rs->mu, &ts);
    left = rs->pending;
    pthread_mutex_unlock(&rs->mu);
    sync_put(rs);
    return left;
}

static void
log_diags(const struct diag *d)
{
    char line[1024];

    for (size_t i = 0; i < d->n; i++) {
        diag_format(d, i, line, sizeof(line));
        if (d->items[i].level == DIAG_ERROR)
            log_error("config: %s", line);
        else
            log_warn("config: %s", line);
    }
}

bool
proxy_reload(struct proxy *px, char *msg, size_t msglen)
{
    char scratch[1024], restart[320], why[256];
    struct cfg *next, *running;
    struct cfg_diff df;
    struct diag d;
    bool ok = false;
    int left;

    if (msg == NULL || msglen == 0) {
        msg = scratch;
        msglen = sizeof(scratch);
    }
    msg[0] = '\0';
    pthread_mutex_lock(&px->reload_mu);
    if (px->stopping) {
        snprintf(msg, msglen, "myshard is shutting down; nothing reloaded");
        log_warn("config reload refused: shutting down file=%s", px->cfg_path);
        goto out;
    }
    log_info("reloading the config file=%s", px->cfg_path);
    diag_init(&d);
    next = cfg_load(px->cfg_path, &d);
    if (next != NULL && !proxy_tls_build(next, &d)) {
        cfg_put(next);
        next = NULL;
    }
    log_diags(&d);
    if (next == NULL) {
        int n = snprintf(msg, msglen,
                         "reload refused, the running config is unchanged: ");
        size_t off = n > 0 ? MIN((size_t)n, msglen - 1) : 0;
        (void)diag_join(&d, msg + off, msglen - off);
        log_error("config reload refused: %zu error(s) in %s; the running "
                  "config is unchanged",
                  d.errors, px->cfg_path);
        diag_free(&d);
        goto out;
    }
    diag_free(&d);

    running = proxy_cfg_get(px);
    cfg_diff(running, next, &df);
    snprintf(restart, sizeof(restart), "%s", df.restart);
    if (uses_xa(next) && !xalog_enabled())
        /* the decision log and its recovery run at start only */
        snprintf(restart + strlen(restart), sizeof(restart) - strlen(restart),
                 "%stransactions: xa", restart[0] ? ", " : "");
    if (df.shard_list) {
        snprintf(msg, msglen,
                 "reload refused, the running config is unchanged: the "
                 "shard list of %s changed (needs a restart: shards); rules "
                 "and schemas name shards by position, so nothing else can "
                 "apply either. Only shards appended at the end of shards: "
                 "are added live",
                 px->cfg_path);
        log_error("config reload refused: a shard was removed, renamed or "
                  "moved, which needs a restart; nothing applied file=%s",
                  px->cfg_path);
        cfg_put(next);
        cfg_put(running);
        goto out;
    }
    cfg_keep_restart_keys(next, running);
    if (df.shards_added > 0 &&
        !server_set_grow(px->servers, next, px->nworkers, why, sizeof(why))) {
        snprintf(msg, msglen,
                 "reload refused, the running config is unchanged: cannot add "
                 "the shards appended to %s: %s",
                 px->cfg_path, why);
        log_error("config reload refused: cannot add the appended shards: %s "
                  "file=%s",
                  why, px->cfg_path);
        cfg_put(next);
        cfg_put(running);
        goto out;
    }
    if (df.shards_added > 0)
        log_info("shards added shards=%d servers=%d file=%s", next->nshards,
                 px->servers->n, px->cfg_path);
    if (next->tls.enabled || next->backend.tls.enabled) {
        /* the certificate files were read again: always a change */
        if (df.nlive == 0)
            snprintf(df.live, sizeof(df.live), "tls (certificates re-read)");
        df.nlive++;
    }
    if (df.nlive == 0) {
        /* nothing to apply, but the tables' columns are read again */
        tablemeta_set_cfg(px->tmeta, running);
        cfg_put(next);
        cfg_put(running);
        if (restart[0] != '\0') {
            snprintf(msg, msglen,
                     "reloaded %s: nothing applied; needs a restart: %s",
                     px->cfg_path, restart);
            log_warn("config reload: nothing applied; needs a restart: %s "
                     "file=%s",
                     restart, px->cfg_path);
        } else {
            snprintf(msg, msglen, "reloaded %s: no changes", px->cfg_path);
            log_info("config reload: no changes file=%s", px->cfg_path);
        }
        ok = true;
        goto out;
    }

    pthread_mutex_lock(&px->cfg_mu);
    px->cfg = next; /* the reference cfg_load returned */
    pthread_mutex_unlock(&px->cfg_mu);
    px->generation++;
    cluster_set_config(px->generation, cluster_config_hash(next));
    /* from the next line on, whichever thread writes it */
    log_set_format((enum log_format)next->log_format);
    health_set_cfg(px->health, next);
    tablemeta_set_cfg(px->tmeta, next);
    left = switch_workers(px, next);
    cfg_put(running); /* px's */
    cfg_put(running); /* proxy_cfg_get's; the workers hold the rest */
    if (left > 0)
        log_warn("config reload: %d worker(s) have not switched yet; they "
                 "will between two events",
                 left);
    log_info("config reloaded file=%s generation=%u applied=\"%s\"",
             px->cfg_path, px->generation, df.live);
    if (restart[0] != '\0') {
        log_warn("config reload: needs a restart: %s; the running values "
                 "stay file=%s",
                 restart, px->cfg_path);
        snprintf(msg, msglen, "reloaded %s: applied %s; needs a restart: %s",
                 px->cfg_path, df.live, restart);
    } else {
        snprintf(msg, msglen, "reloaded %s: applied %s", px->cfg_path, df.live);
    }
    ok = true;
out:
    pthread_mutex_unlock(&px->reload_mu);
    return ok;
}

/* A generation a reshard built from the running one (reshard.h's
 * apply): the same steps as a reload's switch, under the reload lock. */
static bool
proxy_apply(void *arg,
            struct cfg *(*build)(const struct cfg *running, void *ctx,
                                 char *msg, size_t msglen),
            void *ctx, char *msg, size_t msglen)
{
    struct proxy *px = arg;
    struct cfg *running, *next;
    struct diag d;
    bool ok = false;
    int left;

    pthread_mutex_lock(&px->reload_mu);
    if (px->stopping) {
        snprintf(msg, msglen, "myshard is shutting down");
        goto out;
    }
    running = proxy_cfg_get(px);
    next = build(running, ctx, msg, msglen);
    diag_init(&d);
    if (next != NULL && !proxy_tls_build(next, &d)) {
        (void)diag_join(&d, msg, msglen);
        cfg_put(next);
        next = NULL;
    }
    diag_free(&d);
    if (next == NULL) {
        cfg_put(running);
        goto out;
    }
    cfg_keep_restart_keys(next, running);
    pthread_mutex_lock(&px->cfg_mu);
    px->cfg = next;
    pthread_mutex_unlock(&px->cfg_mu);
    px->generation++;
    cluster_set_config(px->generation, cluster_config_hash(next));
    health_set_cfg(px->health, next);
    tablemeta_set_cfg(px->tmeta, next);
    left = switch_workers(px, next);
    cfg_put(running);
    cfg_put(running);
    if (left > 0)
        log_warn("placement switch: %d worker(s) have not switched yet; they "
                 "will between two events",
                 left);
    log_info("placement switched generation=%u", px->generation);
    ok = true;
out:
    pthread_mutex_unlock(&px->reload_mu);
    return ok;
}

bool
proxy_reload_cb(void *arg, char *msg, size_t msglen)
{
    return proxy_reload(arg, msg, msglen);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
    char msg[1024];

    (void)sig;
    (void)what;
    (void)proxy_reload(arg, msg, sizeof(msg)); /* it logs what it did */
}

static bool
start_workers(struct proxy *px)
{
    const struct cfg *c = px->cfg;

    /* SO_REUSEPORT would let a second proxy share the port silently. */
    if (!net_port_free(c->listen.host, c->listen.port)) {
        log_error("cannot listen addr=%s error=\"%s\" (is another myshard "
                  "or server using the port?)",
                  c->listen.text, strerror(errno));
        return false;
    }
    px->nworkers = c->workers > 0 ? c->workers : 1;
    px->workers = xcalloc((size_t)px->nworkers, sizeof(*px->workers));
    px->wctx = xcalloc((size_t)px->nworkers, sizeof(*px->wctx));
    for (int i = 0; i < px->nworkers; i++) {
        struct worker *w = &px->workers[i];
        struct wctx *wc = &px->wctx[i];
        if (!worker_init(w, i)) {
            log_error("cannot create event loop worker=%d", i);
            return false;
        }
        wc->w = w;
        wc->servers = px->servers;
        wc->tmeta = px->tmeta;
        wc->id_base = (uint32_t)i << 24;
        wc->started_ms = clock_ms();
        wc->stmt = xmalloc(sizeof(*wc->stmt));
        wc->plan = xmalloc(sizeof(*wc->plan));
        route_plan_init(wc->plan);
        wc->nustats = c->nusers;
        wc->ustats = xcalloc((size_t)MAX(c->nusers, 1), sizeof(*wc->ustats));
        wc->q_users = c->nusers;
        wc->q_shards = c->nshards;
        wc->qmatrix =
            xcalloc((size_t)MAX(c->nusers, 1) * (size_t)(c->nshards + 1) *
                        SR_COUNT * SK_COUNT,
                    sizeof(*wc->qmatrix));
        wc->qcache = qcache_new((size_t)c->cache_memory / (size_t)px->nworkers,
                                &wc->stats);
        wc->pools = xcalloc((size_t)px->servers->n, sizeof(*wc->pools));
        for (int k = 0; k < px->servers->n; k++)
            wc->pools[k] = pool_new(w, &px->servers->v[k], c);
        wc->npools = px->servers->n;
        reload_use_cfg(wc, px->cfg);
        w->ctx = wc;
        if (!worker_listen(w, c->listen.host, c->listen.port, session_accept,
                           session_refuse)) {
            log_error("cannot listen addr=%s error=\"%s\"", c->listen.text,
                      strerror(errno));
            return false;
        }
    }
    for (int i = 0; i < px->nworkers; i++) {
        if (!worker_start(&px->workers[i])) {
            log_error("cannot start worker thread worker=%d", i);
            return false;
        }
    }
    return true;
}

static void
free_workers(struct proxy *px)
{
    for (int i = 0; i < px->nworkers; i++)
        if (px->workers[i].running)
            worker_call(&px->workers[i], teardown_worker, NULL);
    for (int i = 0; i < px->nworkers; i++)
        worker_stop(&px->workers[i]);
    for (int i = 0; i < px->nworkers; i++) {
        struct wctx *wc = &px->wctx[i];
        if (px->workers[i].base == NULL)
            continue;
        /* Run the deferred frees the teardown scheduled. */
        event_base_loop(px->workers[i].base, EVLOOP_NONBLOCK);
        if (wc->pools) {
            for (int k = 0; k < wc->npools; k++)
                if (wc->pools[k])
                    pool_free(wc->pools[k]);
            event_base_loop(px->workers[i].base, EVLOOP_NONBLOCK);
            free(wc->pools);
        }
        free(wc->renames);
        free(wc->ustats);
        free((void *)wc->qmatrix);
        digests_free(&wc->digests);
        protect_memo_free(&wc->policy_memo);
        qcache_free(wc->qcache);
        tablecols_worker_free(wc);
        free(wc->stmt);
        if (wc->plan) {
            route_plan_free(wc->plan);
            free(wc->plan);
        }
        cfg_put(wc->cfg);
        worker_free(&px->workers[i]);
    }
    free(px->workers);
    free(px->wctx);
}

static void
tls_diag(struct diag *d, const struct cfg *c, const struct cfg_mark *m,
         const char *section, const char *err)
{
    diag_add(d, DIAG_ERROR, c->path, m->line, m->col, NULL, "%s: %s", section,
             err);
}

bool
proxy_tls_build(struct cfg *c, struct diag *d)
{
    char err[512];
    enum tls_file bad;
    bool ok = true;

    if (c->tls.enabled && c->tls.ctx == NULL) {
        c->tls.ctx = tls_server_ctx_new(c->tls.cert, c->tls.key, c->tls.ca,
                                        c->tls.min_version == TLS_V13, &bad,
                                        err, sizeof(err));
        if (c->tls.ctx == NULL) {
            tls_diag(d, c,
                     bad == TLS_FILE_KEY  ? &c->tls.key_mark
                     : bad == TLS_FILE_CA ? &c->tls.ca_mark
                                          : &c->tls.cert_mark,
                     "tls", err);
            ok = false;
        }
    }
    if (c->backend.tls.enabled && c->backend.tls.ctx == NULL) {
        c->backend.tls.ctx = tls_client_ctx_new(
            c->backend.tls.ca, c->backend.tls.verify, &bad, err, sizeof(err));
        if (c->backend.tls.ctx == NULL) {
            tls_diag(d, c, &c->backend.tls.ca_mark, "backend.tls", err);
            ok = false;
        }
    }
    return ok;
}

/* The cluster thread's hands on the hot-key cache. */
static const struct cluster_hooks cluster_hooks = {
    .invalidate = qcache_bump,
    .flush = qcache_bump_all,
};

int
proxy_run(struct cfg *cfg, const char *cfg_path)
{
    struct proxy px = {0};
    char err[256];
    int rc = 1;

    px.cfg = cfg;
    px.generation = 1;
    pthread_mutex_init(&px.cfg_mu, NULL);
    pthread_mutex_init(&px.reload_mu, NULL);
    px.cfg_path = xstrdup(cfg_path);
    {
        /* Another instance may have moved keys while this one was down:
         * the shared placement first (reshard/reshard.h). */
        bool changed = false;
        if (!reshard_sync_placement(cfg, &changed, err, sizeof(err))) {
            log_error("%s", err);
            goto out;
        }
        if (changed) {
            struct diag d;
            struct cfg *again;
            diag_init(&d);
            again = cfg_load(cfg_path, &d);
            if (again != NULL && !proxy_tls_build(again, &d)) {
                cfg_put(again);
                again = NULL;
            }
            log_diags(&d);
            diag_free(&d);
            if (again == NULL)
                goto out;
            cfg_put(px.cfg);
            px.cfg = cfg = again;
        }
    }
    px.servers = server_set_build(cfg, err, sizeof(err));
    if (px.servers == NULL) {
        log_error("%s", err);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (uses_xa(cfg)) {
        /* Before any client: branches a crash left prepared hold locks. */
        struct xa_recovery rec;
        if (!xalog_open(cfg, px.servers, &rec, err, sizeof(err))) {
            log_error("cannot open the xa decision log: %s", err);
            goto out;
        }
    }
    px.base = event_base_new();
    if (px.base == NULL)
        goto out;
    px.ev_term = evsignal_new(px.base, SIGTERM, on_stop_signal, &px);
    px.ev_int = evsignal_new(px.base, SIGINT, on_stop_signal, &px);
    px.ev_hup = evsignal_new(px.base, SIGHUP, on_hup, &px);
    event_add(px.ev_term, NULL);
    event_add(px.ev_int, NULL);
    event_add(px.ev_hup, NULL);
    if (!passcheck_keys_init(cfg, err, sizeof(err))) {
        log_error("%s", err);
        goto out;
    }
    px.health = health_start(px.servers, cfg);
    px.tmeta = tablemeta_start(px.servers, cfg);
    killer_start();
    /* Before the workers: no entry may be cached outside the protocol. */
    if (!cluster_start(cfg, px.generation, cluster_config_hash(cfg),
                       &cluster_hooks, err, sizeof(err))) {
        log_error("%s", err);
        goto out;
    }
    reshard_fence_start(cfg);
    if (!start_workers(&px))
        goto out;
    px.view = (struct admin_view){
        .workers = px.workers,
        .wctx = px.wctx,
        .nworkers = px.nworkers,
        .servers = px.servers,
        .tmeta = px.tmeta,
        .started_ms = clock_ms(),
        .started_wall = (int64_t)time(NULL),
        .cfg_path = px.cfg_path,
        .cfg_get = proxy_cfg_get,
        .cfg_arg = &px,
        .serving = view_serving,
        .reload = proxy_reload_cb,
    };
    px.ops = (struct admin_ops){.reload = proxy_reload_cb, .arg = &px};
    px.console = console_start(&px.view, &px.ops, cfg, err, sizeof(err));
    if (px.console == NULL) {
        log_error("%s", err);
        goto out;
    }
    {
        const struct reshard_env renv = {
            .cfg_get = proxy_cfg_get, .apply = proxy_apply, .arg = &px};
        if (!reshard_init(&renv, err, sizeof(err))) {
            log_error("%s", err);
            goto out;
        }
    }
    log_info("myshard %s ready listen=%s workers=%d shards=%d servers=%d",
             MYSHARD_VERSION, cfg->listen.text, px.nworkers, cfg->nshards,
             px.servers->n);
    event_base_dispatch(px.base);
    rc = 0;
    log_info("stopped");
out:
    pthread_mutex_lock(&px.reload_mu); /* no reload from now on */
    px.stopping = true;
    pthread_mutex_unlock(&px.reload_mu);
    /* The admin thread reads the workers: it goes first. */
    console_stop(px.console);
    reshard_shutdown(); /* they may be switching the workers */
    cluster_stop();     /* releases the OKs it holds, while workers run */
    if (px.workers)
        free_workers(&px);
    if (px.health)
        health_stop(px.health);
    tablemeta_stop(px.tmeta);
    killer_stop();
    passcheck_keys_free();
    if (px.ev_drain)
        event_free(px.ev_drain);
    if (px.ev_term) {
        event_free(px.ev_term);
        event_free(px.ev_int);
        event_free(px.ev_hup);
    }
    if (px.base)
        event_base_free(px.base);
    server_set_free(px.servers);
    xalog_close();
    free(px.cfg_path);
    cfg_put(px.cfg);
    pthread_mutex_destroy(&px.cfg_mu);
    pthread_mutex_destroy(&px.reload_mu);
    return rc;
}
