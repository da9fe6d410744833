/*
 * route_having.h - the HAVING compiler route_select.c calls (see
 * route_having.c for what it accepts).
 */
#ifndef MYSHARD_ROUTE_ROUTE_HAVING_H
#define MYSHARD_ROUTE_ROUTE_HAVING_H

#include <stdbool.h>

#include "route_internal.h"
#include "sql/exprprog.h"

/* Turns operand span s (a name, a qualified name or a call) into a column
 * of the shards' result in *col, and says in *inexact whether its value
 * is an average. False after refusing (rt_refuse). */
typedef bool (*rt_having_operand_fn)(void *ctx, struct sql_span s, int *col,
                                     bool *inexact);

/* Compiles the HAVING clause `having` (from the HAVING keyword) into out.
 * False after refusing the statement. */
bool rt_having_compile(struct rt *r, struct lex_mode m, struct sql_span having,
                       const char *table, struct expr_prog *out,
                       rt_having_operand_fn operand, void *ctx);

#endif
