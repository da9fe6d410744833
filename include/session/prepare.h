/*
 * prepare.h - prepared statements whose ids are myshard's own. The client
 * prepares once; each backend connection that serves an EXECUTE gets the
 * statement prepared on it when it first needs it (cached per connection),
 * so EXECUTEs route by their parameters to any shard and connections stay
 * in the pool between statements.
 */
#ifndef MYSHARD_SESSION_PREPARE_H
#define MYSHARD_SESSION_PREPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "session/pstmt.h"
#include "session/session_types.h"

/* A new prepared statement would exceed max_prepared_statements for this
 * client (its statements and the prepared USEs myshard answers): sends
 * 1461, ends the command and returns true. */
bool prepare_refuse_over_cap(struct session *s);
void prepare_cmd_prepare(struct session *s);
void prepare_cmd_execute(struct session *s);
void prepare_cmd_long_data(struct session *s);
void prepare_cmd_reset(struct session *s);
void prepare_cmd_close(struct session *s);
#endif
