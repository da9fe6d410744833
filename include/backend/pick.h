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
    int64_t last_write_ms;     /* when the session last wrote, 0 never */
    uint32_t seed;             /* spreads reads over weighted replicas */
    int exclude;               /* a server index not to pick, -1 none */
};

/* The server index for req, or -1 with *err (9001, 9003) and a message
 * naming the shard when none can serve. */
int pick_server(const struct server_set *set, const struct cfg *c,
                const struct pick_req *req, int64_t now_ms, int *err, char *msg,
                size_t msglen);

#endif
