/*
 * server.c - the server set of a config generation: one struct server per
 * primary and replica address, resolved once at start.
 */
#include "backend/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/gtidpos.h"
#include "cfg/cfg_types.h"
#include "net/worker.h"

static bool
server_init(struct server *s, int index, const struct cfg_addr *a, int shard,
            bool primary, int weight, char *err, size_t errlen)
{
    pthread_mutex_init(&s->lend_mu, NULL);
    s->index = index;
    s->addr = xstrdup(a->text);
    s->host = xstrdup(a->host);
    s->port = a->port;
    s->shard = shard;
    s->primary = primary;
    s->weight = weight;
    atomic_init(&s->lag_ms, -1);
    if (!net_resolve(a->host, a->port, &s->sa, &s->salen)) {
        snprintf(err, errlen, "cannot resolve backend address '%s'", a->text);
        return false;
    }
    return true;
}

struct server_set *
server_set_build(const struct cfg *cfg, char *err, size_t errlen)
{
    struct server_set *set = xcalloc(1, sizeof(*set));
    int n = 0;

    for (int i = 0; i < cfg->nshards; i++)
        n += 1 + cfg->shards[i].nreplicas;
    set->v = xcalloc((size_t)n, sizeof(*set->v));
    set->nshards = cfg->nshards;
    set->shard_primary = xcalloc((size_t)cfg->nshards, sizeof(int));
    for (int i = 0; i < cfg->nshards; i++) {
        const struct cfg_shard *sh = &cfg->shards[i];
        set->shard_primary[i] = set->n;
        if (!server_init(&set->v[set->n], set->n, &sh->primary, i, true, 1, err,
                         errlen))
            goto fail;
        set->n++;
        for (int r = 0; r < sh->nreplicas; r++) {
            if (!server_init(&set->v[set->n], set->n, &sh->replicas[r].addr, i,
                             false, sh->replicas[r].weight, err, errlen))
                goto fail;
            if (sh->replicas[r].zone != NULL)
                set->v[set->n].zone = xstrdup(sh->replicas[r].zone);
            set->n++;
        }
    }
    gtidpos_init(set);
    return set;
fail:
    set->n++;
    server_set_free(set);
    return NULL;
}

void
server_set_free(struct server_set *set)
{
    if (set == NULL)
        return;
    for (int i = 0; i < set->n; i++) {
        free(set->v[i].addr);
        free(set->v[i].host);
        free(set->v[i].zone);
        free(set->v[i].pools);
        pthread_mutex_destroy(&set->v[i].lend_mu);
    }
    gtidpos_free(set);
    free(set->v);
    free(set->shard_primary);
    free(set);
}
