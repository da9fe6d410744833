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

struct route_ctx {
    int schema;          /* index into cfg->schemas; -1: none selected */
    bool in_txn;         /* inside an explicit transaction */
    uint64_t txn_shards; /* shards the transaction has touched */
    const struct route_param *params; /* EXECUTE: values, else NULL */
    uint32_t nparams;
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

#endif
