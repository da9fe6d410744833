/*
 * server.c - the server set: one struct server per primary and replica
 * address of the running shards, each resolved once, when it is added (at
 * start, or by the reload that appends its shard).
 */
#include "backend/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/gtidpos.h"
#include "cfg/cfg_types.h"
#include "net/worker.h"

static void
server_clear(struct server *s)
{
    free(s->addr);
    free(s->host);
    free(s->zone);
    free(s->pools);
    pthread_mutex_destroy(&s->lend_mu);
    memset(s, 0, sizeof(*s));
}

static bool
server_init(struct server *s, int index, const struct cfg_addr *a, int shard,
            bool primary, const struct cfg_replica *r, char *err, size_t errlen)
{
    pthread_mutex_init(&s->lend_mu, NULL);
    s->index = index;
    s->addr = xstrdup(a->text);
    s->host = xstrdup(a->host);
    s->port = a->port;
    s->shard = shard;
    s->primary = primary;
    s->weight = r != NULL ? r->weight : 1;
    if (r != NULL && r->zone != NULL)
        s->zone = xstrdup(r->zone);
    atomic_init(&s->lag_ms, -1);
    if (!net_resolve(a->host, a->port, &s->sa, &s->salen)) {
        snprintf(err, errlen, "cannot resolve backend address '%s'", a->text);
        return false;
    }
    return true;
}

/* Fills the entries from the set's n on with cfg's shards from the set's
 * nshards on; returns how many it filled, or -1 (entries cleared) when an
 * address does not resolve. Publishes nothing. */
static int
fill(struct server_set *set, const struct cfg *cfg, char *err, size_t errlen)
{
    int at = set->n, first = at;

    for (int i = set->nshards; i < cfg->nshards; i++) {
        const struct cfg_shard *sh = &cfg->shards[i];
        bool ok;

        set->shard_primary[i] = at;
        ok = server_init(&set->v[at], at, &sh->primary, i, true, NULL, err,
                         errlen);
        at++; /* a failed entry is cleared too */
        for (int r = 0; ok && r < sh->nreplicas; r++, at++)
            ok = server_init(&set->v[at], at, &sh->replicas[r].addr, i, false,
                             &sh->replicas[r], err, errlen);
        if (!ok)
            goto fail;
    }
    return at - first;
fail:
    while (at > first)
        server_clear(&set->v[--at]);
    return -1;
}

static int
count_servers(const struct cfg *cfg, int from)
{
    int n = 0;

    for (int i = from; i < cfg->nshards; i++)
        n += 1 + cfg->shards[i].nreplicas;
    return n;
}

struct server_set *
server_set_build(const struct cfg *cfg, char *err, size_t errlen)
{
    struct server_set *set = xcalloc(1, sizeof(*set));
    int n = count_servers(cfg, 0), added;

    if (cfg->nshards > CFG_MAX_SHARDS) {
        snprintf(err, errlen, "too many shards: %d, at most %d", cfg->nshards,
                 CFG_MAX_SHARDS);
        free(set);
        return NULL;
    }
    set->cap =
        n + (CFG_MAX_SHARDS - cfg->nshards) * (1 + SERVER_SET_SPARE_PER_SHARD);
    set->v = xcalloc((size_t)set->cap, sizeof(*set->v));
    gtidpos_init(set);
    added = fill(set, cfg, err, errlen);
    if (added < 0) {
        server_set_free(set);
        return NULL;
    }
    for (int i = 0; i < cfg->nshards; i++)
        gtidpos_add_shard(set, i);
    atomic_store(&set->n, added);
    atomic_store(&set->nshards, cfg->nshards);
    return set;
}

bool
server_set_grow(struct server_set *set, const struct cfg *cfg, int nworkers,
                char *err, size_t errlen)
{
    int from = set->nshards, n = set->n, need, added;

    if (cfg->nshards <= from)
        return true;
    if (cfg->nshards > CFG_MAX_SHARDS) {
        snprintf(err, errlen, "too many shards: %d, at most %d", cfg->nshards,
                 CFG_MAX_SHARDS);
        return false;
    }
    need = count_servers(cfg, from);
    if (n + need > set->cap) {
        snprintf(err, errlen,
                 "the added shards have %d servers, and this myshard has room "
                 "for %d more (a restart makes room for any number)",
                 need, set->cap - n);
        return false;
    }
    added = fill(set, cfg, err, errlen);
    if (added < 0)
        return false;
    for (int k = n; k < n + added; k++) {
        struct server *s = &set->v[k];
        s->pools = xcalloc((size_t)MAX(nworkers, 1), sizeof(*s->pools));
        s->npools = nworkers;
    }
    for (int i = from; i < cfg->nshards; i++)
        gtidpos_add_shard(set, i);
    /* servers first: a reader that sees a shard finds its servers */
    atomic_store(&set->n, n + added);
    atomic_store(&set->nshards, cfg->nshards);
    return true;
}

void
server_set_free(struct server_set *set)
{
    if (set == NULL)
        return;
    for (int i = 0; i < set->n; i++)
        server_clear(&set->v[i]);
    gtidpos_free(set);
    free(set->v);
    free(set);
}
