/*
 * pick.h - the server a statement on a shard runs on: a healthy replica
 * for a read when the session may read from one, else the primary, each
 * admitted by its circuit breaker (backend/health.h). Pure apart from the
 * health state it reads; the session fills in the facts it knows.
 */
#ifndef MYSHARD_BACKEND_PICK_H
#define MYSHARD_BACKEND_PICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg_types.h"

struct server_set;
struct cfg;

/* What the session knows about the statement and itself. */
struct pick_req {
    int shard;
    bool read;     /* the statement only reads */
    bool stateful; /* the session holds state a replica would not see
                      (pins, a pending BEGIN, autocommit=0): primary */
    enum cfg_route_pref route; /* its policy's route (cfg/cfg_types.h) */
    int64_t last_write_ms;     /* the last write known by time only (no
                                  GTID), 0 never: replicas serve no read
                                  for max_replica_lag after it */
    const uint64_t *need;      /* GTID_SLOTS seqnos a replica must have
                                  applied (backend/gtidpos.h), NULL none */
    bool wait;                 /* out: the replica picked is not known to
                                  cover need but likely soon will: run a
                                  bounded MASTER_GTID_WAIT on it first */
    uint32_t seed;             /* spreads reads over weighted replicas */
    int exclude;               /* a server index not to pick, -1 none */
};

/* The server index for req, or -1 with *err (9001, 9003) and a message
 * naming the shard when none can serve. A read goes to a replica that is
 * known to have applied req->need; else to one that is fully caught up by
 * the monitor's last look, with req->wait set (unless that replica's last
 * wait timed out within PICK_NOWAIT_MS); else to the primary. A policy's
 * route: replica takes a replica whatever it holds. */
#define PICK_WAIT_MS   50   /* bound of the MASTER_GTID_WAIT before a read */
#define PICK_NOWAIT_MS 1000 /* after one timed out, no wait on that replica */

int pick_server(const struct server_set *set, const struct cfg *c,
                struct pick_req *req, int64_t now_ms, int *err, char *msg,
                size_t msglen);

#endif
