/*
 * scatter.h - carrying out a plan on its targets: a connection per shard,
 * in parallel, the session's schema and variables applied to each; one
 * target's answer relayed as it is, several targets' rows merged, several
 * targets' OK packets combined. Text statements and prepared-statement
 * executions alike.
 */
#ifndef MYSHARD_SESSION_SCATTER_H
#define MYSHARD_SESSION_SCATTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "route/route_types.h"
#include "session/session_types.h"

struct pstmt;

/*
 * Runs plan for s's current command. For COM_QUERY (ps == NULL) each target
 * gets the text the plan gives it. For COM_STMT_EXECUTE, ps is the
 * statement and exec/exec_len the execute payload to send (its statement id
 * is replaced per connection; the statement is prepared on a connection
 * that lacks it first). The plan and payload are copied.
 */
void scatter_start(struct session *s, const struct route_plan *plan,
                   struct pstmt *ps, const uint8_t *exec, size_t exec_len);
/* The client's output drained: rows may flow again. */
void scatter_client_drained(struct session *s);
/* The client is gone: drop every connection the statement holds. */
void scatter_abort(struct session *s);
/* Past query_timeout: KILL QUERY on every target still running; one
 * target's answer not yet begun is replaced by 1969 at once. */
void scatter_timeout(struct session *s);

#endif
