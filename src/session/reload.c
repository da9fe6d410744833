/*
 * reload.c - a worker's switch to another config generation. It runs on the
 * worker's thread from its inbox, so between events: no statement is
 * halfway through classification or routing, and the worker's scratch
 * (wctx->stmt, wctx->plan) holds nothing that outlives an event.
 *
 * What refers to the generation, and what the switch does with it:
 *
 *   wctx->cfg               the reference moves to the new generation
 *   wctx->renames           point at its strings: rebuilt
 *   pools                   credentials, limits, timeouts: pool_set_cfg;
 *                           the servers of appended shards get theirs
 *                           here, before the first plan that names them
 *   session user, schema    indexes into its arrays: remapped by name
 *   prepared USE            schema indexes (local_stmt): remapped by name
 *
 * Nothing else in flight points into a generation: a route plan has become
 * shard indexes (the same in both: a reload may only append shards, one
 * that removes, renames or reorders them is refused before it gets here)
 * and text copied into the command or the
 * scatter targets; prepared statements keep the text they were prepared
 * with; a transaction keeps its mode and its branches (txn.c copies them);
 * merges copied their spec. A statement in flight finishes against the
 * backend schema it started with (s->stmt_schema, dropped when it ends),
 * whatever the new generation calls it.
 *
 * A session whose user is gone (its credentials are) finishes the statement
 * in flight and is closed (session_command_done); an idle one is closed at
 * once, rolling back a transaction it held open. A session whose schema is
 * gone, or whose user may no longer use it, has none (-1): a statement on
 * an unqualified table gets 1046 until the client USEs another.
 */
#include "session/reload.h"

#include <stdlib.h>
#include <string.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/worker.h"
#include "session/qcache.h"
#include "session/session.h"
#include "sql/rewrite.h"

static void
rebuild_renames(struct wctx *wc)
{
    const struct cfg *c = wc->cfg;

    free(wc->renames);
    wc->renames = NULL;
    wc->nrenames = 0;
    for (int k = 0; k < c->nschemas; k++) {
        const struct cfg_schema *sc = &c->schemas[k];
        if (strcmp(sc->name, sc->backend_schema) == 0)
            continue;
        wc->renames = xrealloc(wc->renames, (size_t)(wc->nrenames + 1) *
                                                sizeof(*wc->renames));
        wc->renames[wc->nrenames].from = sc->name;
        wc->renames[wc->nrenames++].to = sc->backend_schema;
    }
}

/* The index in next of old's schema si, when next's user (-1: gone) may
 * use it; else -1. */
static int
remap_schema(const struct cfg *old, const struct cfg *next, int user, int si)
{
    const struct cfg_user *u;
    const char *name;
    int ns;

    if (si < 0 || si >= old->nschemas || user < 0)
        return -1;
    name = old->schemas[si].name;
    ns = cfg_find_schema(next, name, strlen(name));
    if (ns < 0)
        return -1;
    u = &next->users[user];
    for (int i = 0; i < u->nschemas; i++)
        if (strcmp(u->schemas[i], name) == 0)
            return ns;
    return -1;
}

static bool
busy(const struct session *s)
{
    return s->state == SESS_WAIT_BACKEND || s->state == SESS_PRELUDE ||
           s->state == SESS_RELAY;
}

static void
remap_session(struct session *s, const struct cfg *old, const struct cfg *next)
{
    const char *uname;
    int user, schema;

    if (s->user < 0 || s->state == SESS_CLOSING)
        return; /* not logged in yet: its login reads the new generation */
    uname = old->users[s->user].name;
    user = cfg_find_user(next, uname);
    if (busy(s) && s->stmt_schema == NULL && s->schema >= 0)
        s->stmt_schema = xstrdup(old->schemas[s->schema].backend_schema);
    schema = remap_schema(old, next, user, s->schema);
    if (user >= 0 && s->schema >= 0 && schema < 0)
        log_info("client has no database now: a reload removed it or the "
                 "user's access to it client=%u user=%s schema=%s",
                 s->id, uname, old->schemas[s->schema].name);
    s->schema = schema;
    for (struct local_stmt *l = s->local_stmts; l != NULL; l = l->next)
        l->schema = remap_schema(old, next, user, l->schema);
    s->user = user;
    if (user < 0) {
        s->user_removed = true;
        log_info("a reload removed the user of a client: closing it %s "
                 "client=%u user=%s addr=%s",
                 busy(s) ? "when its statement ends" : "now", s->id, uname,
                 s->addr);
    }
}

/* The per-user counters follow the users by name into tables sized for
 * the new config; the shards keep their positions (a reload only appends),
 * so the running shards' cells are copied and the appended ones start at
 * zero. Only this worker writes them, and snapshots read them on this
 * thread. */
static void
remap_counters(struct wctx *wc, const struct cfg *old, const struct cfg *cfg)
{
    size_t cell = (size_t)SR_COUNT * SK_COUNT;
    size_t per_user = (size_t)(cfg->nshards + 1) * cell;
    size_t old_per_user = (size_t)(wc->q_shards + 1) * cell;
    size_t keep = MIN(per_user, old_per_user);
    struct stats_user *us;
    _Atomic long long *qm;

    if (wc->qmatrix == NULL || wc->ustats == NULL)
        return;
    us = xcalloc((size_t)MAX(cfg->nusers, 1), sizeof(*us));
    qm = xcalloc((size_t)MAX(cfg->nusers, 1) * per_user, sizeof(*qm));
    for (int u = 0; u < cfg->nusers; u++) {
        int o = cfg_find_user(old, cfg->users[u].name);
        if (o < 0 || o >= wc->nustats || o >= wc->q_users)
            continue;
        STATS_ADD(&us[u], queries, STATS_GET(&wc->ustats[o], queries));
        STATS_ADD(&us[u], errors, STATS_GET(&wc->ustats[o], errors));
        STATS_ADD(&us[u], rate_limited,
                  STATS_GET(&wc->ustats[o], rate_limited));
        for (size_t i = 0; i < keep; i++)
            atomic_store_explicit(
                &qm[(size_t)u * per_user + i],
                atomic_load_explicit(&wc->qmatrix[(size_t)o * old_per_user + i],
                                     memory_order_relaxed),
                memory_order_relaxed);
    }
    free(wc->ustats);
    free((void *)wc->qmatrix);
    wc->ustats = us;
    wc->nustats = cfg->nusers;
    wc->qmatrix = qm;
    wc->q_users = cfg->nusers;
    wc->q_shards = cfg->nshards;
}

/* Pools for the servers a reload added to the set (server_set_grow ran
 * before the reload handed the generation to the workers). */
static void
add_pools(struct wctx *wc, const struct cfg *cfg)
{
    int n = wc->servers->n;

    if (wc->pools == NULL || n <= wc->npools)
        return;
    wc->pools = xrealloc(wc->pools, (size_t)n * sizeof(*wc->pools));
    for (int k = wc->npools; k < n; k++)
        wc->pools[k] = pool_new(wc->w, &wc->servers->v[k], cfg);
    log_debug("pools added for the servers of appended shards worker=%d "
              "servers=%d",
              wc->w->id, n - wc->npools);
    wc->npools = n;
}

void
reload_use_cfg(struct wctx *wc, struct cfg *cfg)
{
    struct cfg *old = wc->cfg;
    struct session *s;

    wc->cfg = cfg_get(cfg);
    rebuild_renames(wc);
    for (int k = 0; wc->pools != NULL && k < wc->npools; k++)
        pool_set_cfg(wc->pools[k], cfg);
    add_pools(wc, cfg);
    if (old == NULL)
        return;
    /* What the old generation let through may be denied now. */
    qcache_clear(wc->qcache);
    remap_counters(wc, old, cfg);
    for (s = wc->sessions; s != NULL; s = s->next)
        remap_session(s, old, cfg);
    /* Closing may run other sessions' callbacks (a released connection
     * goes to a waiter), so look again from the head after each. */
    for (s = wc->sessions; s != NULL;) {
        if (s->user_removed && !busy(s)) {
            session_close(s, "user removed from the config");
            s = wc->sessions;
            continue;
        }
        s = s->next;
    }
    cfg_put(old);
}
