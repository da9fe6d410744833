/*
 * pick.c - see pick.h. Replicas serve reads outside transactions and
 * session state, and only once they are known to hold what the read needs
 * (backend.consistency, by GTID: session/consist.h); a policy's route
 * overrides that either way.
 */
#include "backend/pick.h"

#include <stdatomic.h>
#include <stdio.h>

#include "backend/gtidpos.h"
#include "backend/health.h"
#include "backend/server.h"
#include "cfg/cfg.h"
#include "proto/mysql_defs.h"

/* Has the replica applied everything written before write_ms? Known when
 * a check after the write saw it so little behind that the data it held
 * then was newer than the write (lag is whole seconds: one more second of
 * margin). */
static bool
replica_has_write(struct server *srv, int64_t write_ms)
{
    int64_t checked = atomic_load(&srv->checked_ms);
    int64_t lag = atomic_load(&srv->lag_ms);

    if (srv->primary)
        return true;
    return lag >= 0 && checked - lag - 1000 > write_ms;
}

int
pick_server(const struct server_set *set, const struct cfg *c,
            struct pick_req *req, int64_t now, int *err, char *msg,
            size_t msglen)
{
    bool read = req->read && !req->stateful;
    int srv;

    /* Right after the session wrote, replicas may not hold the write yet
     * (max_replica_lag); a policy's route: replica keeps reads on
     * replicas, primary sends them to the primary. */
    if (req->route == ROUTE_PRIMARY)
        read = false;
    else if (req->route != ROUTE_REPLICA && req->last_write_ms != 0 &&
             now < req->last_write_ms + c->backend.health.max_replica_lag_ms)
        read = false;
    srv = health_pick(set, c, req->shard, read, c->zone, req->seed,
                      req->exclude, now);
    if (srv >= 0 && read && req->last_write_ms != 0 &&
        !replica_has_write(&set->v[srv], req->last_write_ms))
        srv = health_pick(set, c, req->shard, false, c->zone, 0, req->exclude,
                          now);
    if (srv >= 0 && read && req->need != NULL && req->route != ROUTE_REPLICA &&
        !gtidpos_covers(&set->v[srv], req->need)) {
        struct server *r = &set->v[srv];
        /* Caught up at the monitor's last look (under a second behind):
         * it most likely holds the write within a few ms. */
        if (atomic_load(&r->gtid_known) && atomic_load(&r->lag_ms) == 0 &&
            now >= atomic_load(&r->gtid_nowait_until_ms))
            req->wait = true;
        else
            srv = health_pick(set, c, req->shard, false, c->zone, 0,
                              req->exclude, now);
    }
    if (srv >= 0 && health_admit(&set->v[srv], now) != GATE_CLOSED)
        return srv;
    {
        struct server *primary = &set->v[set->shard_primary[req->shard]];
        *err = health_error_for(primary);
        snprintf(msg, msglen,
                 *err == ER_MYSHARD_CIRCUIT_OPEN
                     ? "myshard: shard '%s' is failing (circuit open for %s "
                       "after repeated errors); retry in a moment"
                     : "myshard: no backend available for shard '%s' (%s "
                       "is down or unreachable); retry when it is back",
                 c->shards[req->shard].name, primary->addr);
    }
    return -1;
}
