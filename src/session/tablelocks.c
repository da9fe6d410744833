/*
 * tablelocks.c - see tablelocks.h. The set is an array indexed by shard,
 * made at the first LOCK TABLES that spans shards; s->lock_shards (set
 * when a LOCK or UNLOCK TABLES is routed) says where the session holds
 * locks, the held connection's shard included.
 */
#include "session/tablelocks.h"

#include <stdlib.h>
#include <string.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "session/engine.h"
#include "session/session.h"

struct serverconn *
tablelocks_conn(const struct session *s, int shard)
{
    if (s->locks == NULL || shard < 0 || shard >= s->nlocks)
        return NULL;
    return s->locks[shard];
}

bool
tablelocks_owns(const struct session *s, const struct serverconn *sc)
{
    int shard = sc->srv->shard;

    return s->locks != NULL && shard >= 0 && shard < s->nlocks &&
           s->locks[shard] == sc;
}

static void
forget(struct session *s, struct serverconn *sc)
{
    int shard = sc->srv->shard;

    if (tablelocks_owns(s, sc))
        s->locks[shard] = NULL;
}

/* Nothing was asked between statements: what comes is the server closing
 * the connection, and its locks with it. */
static void
idle_read(struct serverconn *sc, void *arg)
{
    (void)sc;
    (void)arg;
}

static void
idle_error(struct serverconn *sc, void *arg, const char *why)
{
    struct session *s = arg;

    log_warn("table locks lost client=%u backend=%s reason=\"%s\"", s->id,
             sc->srv->addr, why);
    forget(s, sc);
    s->lock_shards &= ~(1ull << sc->srv->shard);
    pool_discard(sc);
}

void
tablelocks_keep(struct session *s, struct serverconn *sc)
{
    int shard = sc->srv->shard;

    if (shard >= s->nlocks && shard < s->wc->cfg->nshards) {
        /* first lock, or a shard a reload appended since */
        int n = s->wc->cfg->nshards;
        s->locks = xrealloc(s->locks, (size_t)n * sizeof(*s->locks));
        memset(s->locks + s->nlocks, 0,
               (size_t)(n - s->nlocks) * sizeof(*s->locks));
        s->nlocks = n;
    }
    if (shard < 0 || shard >= s->nlocks) {
        pool_discard(sc);
        return;
    }
    if (s->locks[shard] != NULL && s->locks[shard] != sc)
        pool_discard(s->locks[shard]); /* never: one per shard */
    s->locks[shard] = sc;
    serverconn_lend(sc, idle_read, idle_error, s);
}

void
tablelocks_release(struct session *s, struct serverconn *sc, bool dirty)
{
    forget(s, sc);
    if (dirty || s->timed_out)
        pool_discard(sc);
    else
        pool_release_reset(sc);
}

bool
tablelocks_settle(struct session *s, struct serverconn *sc, bool held,
                  bool dirty)
{
    uint64_t bit = 1ull << sc->srv->shard;

    if (tablelocks_owns(s, sc)) {
        if (dirty)
            s->lock_shards &= ~bit;
        if (dirty || !(s->lock_shards & bit))
            tablelocks_release(s, sc, dirty);
        else
            tablelocks_keep(s, sc);
        return true;
    }
    if (!(s->lock_shards & bit))
        return false;
    if (dirty) {
        s->lock_shards &= ~bit; /* closed: its locks are gone */
        return false;
    }
    if (held)
        return false;
    /* it just took locks: the session keeps it */
    if (s->sc == NULL)
        engine_hold(s, sc);
    else
        tablelocks_keep(s, sc);
    return true;
}

void
tablelocks_drop_all(struct session *s)
{
    for (int i = 0; s->locks != NULL && i < s->nlocks; i++) {
        if (s->locks[i] != NULL) {
            struct serverconn *sc = s->locks[i];
            s->locks[i] = NULL;
            pool_discard(sc);
        }
    }
    free(s->locks);
    s->locks = NULL;
    s->nlocks = 0;
    s->lock_shards = 0;
}
