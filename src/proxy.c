/*
 * proxy.c - start, run and stop: builds the server set from the config,
 * starts one worker per configured thread (each with its own listener and
 * pools), and turns signals into actions on the main thread's loop.
 * SIGTERM/SIGINT: stop accepting, let running statements and open
 * transactions finish for up to shutdown_timeout, then close everything.
 */
#include "proxy.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/health.h"
#include "backend/killer.h"
#include "backend/pool.h"
#include "backend/server.h"
#include "admin/console.h"
#include "backend/xalog.h"
#include "base/clock.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "net/worker.h"
#include "session/session.h"
#include "route/router.h"
#include "sql/classify.h"
#include "sql/rewrite.h"

struct proxy {
    struct cfg *cfg;
    char *cfg_path;
    struct server_set *servers;
    struct health *health; /* the monitor thread */
    int nworkers;
    struct worker *workers;
    struct wctx *wctx;
    struct event_base *base;
    struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
    int64_t drain_deadline_ms;
    atomic_bool stopping;
    pthread_mutex_t cfg_lock; /* px->cfg may be swapped by a reload */
    struct admin_view view;   /* what the admin thread reads */
    struct admin_ops ops;
    struct console *console;
};

static struct cfg *
view_cfg(void *arg)
{
    struct proxy *px = arg;
    struct cfg *c;

    pthread_mutex_lock(&px->cfg_lock);
    c = cfg_get(px->cfg);
    pthread_mutex_unlock(&px->cfg_lock);
    return c;
}

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

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    struct timeval tv = {0, 50 * 1000};

    (void)what;
    if (px->stopping) {
        log_warn("second signal: stopping now");
        event_base_loopbreak(px->base);
        return;
    }
    px->stopping = true;
    log_info("shutting down signal=%d clients=%d timeout_ms=%lld", (int)sig,
             live_sessions(px), (long long)px->cfg->shutdown_timeout_ms);
    for (int i = 0; i < px->nworkers; i++)
        worker_call(&px->workers[i], drain_worker, NULL);
    px->drain_deadline_ms = clock_ms() + px->cfg->shutdown_timeout_ms;
    px->ev_drain = event_new(px->base, -1, EV_PERSIST, drain_tick, px);
    event_add(px->ev_drain, &tv);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    struct diag d;
    struct cfg *c;

    (void)sig;
    (void)what;
    diag_init(&d);
    c = cfg_load(px->cfg_path, &d);
    if (c == NULL) {
        log_error("reload refused: the config has errors; keeping the "
                  "running one file=%s",
                  px->cfg_path);
        diag_print(&d, stderr);
    } else {
        /* Applying a new generation live is the reload work of the admin
         * console; until then the file is validated and reported. */
        log_warn("reload: config is valid; restart to apply it file=%s",
                 px->cfg_path);
        cfg_put(c);
    }
    diag_free(&d);
}

static bool
uses_xa(const struct cfg *c)
{
    for (int i = 0; i < c->nschemas; i++)
        if (c->schemas[i].transactions == TXN_XA)
            return true;
    return false;
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
        wc->cfg = cfg_get(px->cfg);
        wc->servers = px->servers;
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
        wc->pools = xcalloc((size_t)px->servers->n, sizeof(*wc->pools));
        for (int k = 0; k < px->servers->n; k++)
            wc->pools[k] = pool_new(w, &px->servers->v[k], c);
        for (int k = 0; k < c->nschemas; k++) {
            const struct cfg_schema *sc = &c->schemas[k];
            if (strcmp(sc->name, sc->backend_schema) == 0)
                continue;
            wc->renames = xrealloc(wc->renames, (size_t)(wc->nrenames + 1) *
                                                    sizeof(*wc->renames));
            wc->renames[wc->nrenames].from = sc->name;
            wc->renames[wc->nrenames++].to = sc->backend_schema;
        }
        w->ctx = wc;
        if (!worker_listen(w, c->listen.host, c->listen.port, session_accept)) {
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
            for (int k = 0; k < px->servers->n; k++)
                if (wc->pools[k])
                    pool_free(wc->pools[k]);
            event_base_loop(px->workers[i].base, EVLOOP_NONBLOCK);
            free(wc->pools);
        }
        free(wc->renames);
        free(wc->ustats);
        free((void *)wc->qmatrix);
        digests_free(&wc->digests);
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

int
proxy_run(struct cfg *cfg, const char *cfg_path)
{
    struct proxy px = {0};
    char err[256];
    int rc = 1;

    px.cfg = cfg;
    px.cfg_path = xstrdup(cfg_path);
    pthread_mutex_init(&px.cfg_lock, NULL);
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
    px.health = health_start(px.servers, cfg);
    killer_start();
    if (!start_workers(&px))
        goto out;
    px.view = (struct admin_view){
        .workers = px.workers,
        .wctx = px.wctx,
        .nworkers = px.nworkers,
        .servers = px.servers,
        .started_ms = clock_ms(),
        .started_wall = (int64_t)time(NULL),
        .cfg_path = px.cfg_path,
        .cfg_get = view_cfg,
        .cfg_arg = &px,
        .serving = view_serving,
    };
    px.console = console_start(&px.view, &px.ops, cfg, err, sizeof(err));
    if (px.console == NULL) {
        log_error("%s", err);
        goto out;
    }
    log_info("myshard %s ready listen=%s workers=%d shards=%d servers=%d",
             MYSHARD_VERSION, cfg->listen.text, px.nworkers, cfg->nshards,
             px.servers->n);
    event_base_dispatch(px.base);
    rc = 0;
    log_info("stopped");
out:
    /* The admin thread reads the workers: it goes first. */
    console_stop(px.console);
    if (px.workers)
        free_workers(&px);
    if (px.health)
        health_stop(px.health);
    killer_stop();
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
    pthread_mutex_destroy(&px.cfg_lock);
    cfg_put(px.cfg);
    return rc;
}
