/*
 * command.h - the COM_* command table and its dispatch.
 */
#ifndef MYSHARD_SESSION_COMMAND_H
#define MYSHARD_SESSION_COMMAND_H

#include "session/session_types.h"

/* Dispatches s->cmd (a whole packet, seq 0). The handler either answers at
 * once (and the command is done) or starts backend work. */
void command_dispatch(struct session *s);

/* Frees the prepared statements the proxy answered itself. */
void command_free_local_stmts(struct session *s);

#endif
