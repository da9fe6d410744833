/*
 * query.h - a client's COM_QUERY from its text to a plan the engine runs
 * (session/engine.h), and the checks COM_STMT_EXECUTE shares with it.
 */
#ifndef MYSHARD_SESSION_QUERY_H
#define MYSHARD_SESSION_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "route/route_types.h"
#include "session/session_types.h"

struct stmt_info;

/* COM_QUERY: answers locally what the proxy owns (USE, SHOW DATABASES, ...)
 * and runs the rest. */
void query_start(struct session *s, const char *sql, size_t len);
/* A read_only user's write: refused (answered, command done) -> true. */
bool query_refuse_read_only(struct session *s);
/* The pins (enum pin_reason) a statement's effects on its connection
 * need. */
unsigned query_statement_pins(const struct stmt_info *st);
/* The statement id a COM_STMT_* command names (0 when too short). */
uint32_t query_stmt_id(const struct session *s);
/* Refusals and the transaction policy: false (after answering the client
 * and ending the command) when the plan must not run. */
bool query_plan_allowed(struct session *s, const struct route_plan *plan);

#endif
