/*
 * router.h - the router: a pure function from (config, classified
 * statement, session facts) to a plan. It never touches a socket, a clock
 * or the session; the session carries the plan out, and EXPLAIN ROUTE
 * prints it.
 */
#ifndef MYSHARD_ROUTE_ROUTER_H
#define MYSHARD_ROUTE_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg/cfg_types.h"
#include "route/placement.h"
#include "route/route_types.h"
#include "sql/classify_types.h"

/* Bound parameter values of a COM_STMT_EXECUTE, by `?` index. */
struct route_param {
    struct route_key key;
};

/* A table's columns in order, as the shards have them (backend/
 * tablemeta.h): what a positional INSERT's values line up with. */
struct route_tcols {
    int ncols;                /* 0: unknown */
    const char *const *names; /* ncols names (visible columns) */
    const char *why;          /* unknown: why, for the message */
};

struct route_ctx {
    int schema;           /* index into cfg->schemas; -1: none selected */
    bool in_txn;          /* inside an explicit transaction */
    uint64_t txn_shards;  /* shards the transaction has touched */
    uint64_t lock_shards; /* shards where the session holds LOCK TABLES
                             locks (session/tablelocks.h) */
    const struct route_param *params; /* EXECUTE: values, else NULL */
    uint32_t nparams;
    /* The columns of a configured table (schema: cfg schema name), filled
     * into *out; false when unknown (out->why says why). NULL: none are
     * known. The answer must not change during one router_route(). */
    bool (*columns)(const void *arg, const char *schema, const char *table,
                    struct route_tcols *out);
    const void *columns_arg;
};

/*
 * Routes st (classified from the statement's text) and fills plan. Every
 * statement gets a plan: a refusal is a plan too (ROUTE_REFUSE with a code
 * and a message saying what to do). Text for rewritten statements is kept
 * in plan->buf; targets point into it or into st->sql.
 * Call route_plan_init once and route_plan_free when done (or reuse:
 * router_route resets the plan).
 */
void router_route(const struct cfg *cfg, const struct stmt_info *st,
                  const struct route_ctx *ctx, struct route_plan *plan);
void route_plan_init(struct route_plan *plan);
void route_plan_free(struct route_plan *plan);

/* ---- appended ---- */

/*
 * A multi-line human description of plan, as EXPLAIN ROUTE shows it:
 *   kind: select
 *   tables: orders o
 *   keys: user_id=42,43
 *   route: read, scatter, merge     (or "refuse: 1235 myshard: ...")
 *   moving: reshard 3 of rule user_hash (writes held at cutover)
 *   target s0: SELECT ...
 *   merge: sort=[0 desc] limit=10 offset=20 hidden=1
 * Writes at most cap bytes including the NUL (cap > 0); returns the
 * length the whole text needs, like snprintf.
 */
size_t route_plan_format(const struct cfg *cfg, const struct route_plan *plan,
                         char *buf, size_t cap);

/* The merge spec alone on one line ("sort=[0 desc,-1] hidden=1"; "concat"
 * when it only concatenates), for EXPLAIN ROUTE and tests. Same return
 * convention as route_plan_format. */
size_t route_merge_format(const struct merge_spec *ms, char *buf, size_t cap);

#endif
