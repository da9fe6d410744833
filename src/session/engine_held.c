/*
 * engine_held.c - the backend connection a session holds between
 * statements (s->sc): a pinned session's, or a transaction's on one shard.
 * While held it is lent to the session, whose only event can be the server
 * closing it.
 */
#include <stdatomic.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/log.h"
#include "session/engine.h"
#include "session/session.h"

static void
held_read(struct serverconn *sc, void *arg)
{
    /* Nothing was asked between statements: what comes is the server
     * closing the connection, and the error event follows. */
    (void)sc;
    (void)arg;
}

static void
held_error(struct serverconn *sc, void *arg, const char *why)
{
    struct session *s = arg;

    log_warn("backend connection lost client=%u backend=%s reason=\"%s\"",
             s->id, sc->srv->addr, why);
    atomic_fetch_add(&sc->srv->errors, 1);
    s->lock_shards &= ~(1ull << sc->srv->shard); /* its table locks too */
    engine_release(s, true);
    /* The transaction or the session state it carried is gone. */
    s->pins &= PIN_POOL_SESSION;
}

void
engine_hold(struct session *s, struct serverconn *sc)
{
    s->sc = sc;
    serverconn_lend(sc, held_read, held_error, s);
}

void
engine_release(struct session *s, bool dirty)
{
    struct serverconn *sc = s->sc;

    if (sc == NULL)
        return;
    s->sc = NULL;
    if (dirty)
        pool_discard(sc);
    else
        pool_release(sc);
}

void
engine_release_reset(struct session *s)
{
    struct serverconn *sc = s->sc;

    if (sc == NULL)
        return;
    s->sc = NULL;
    if (s->timed_out) /* a KILL QUERY may still be on its way */
        pool_discard(sc);
    else
        pool_release_reset(sc);
}
