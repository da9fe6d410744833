/*
 * command.h - the COM_* command table and its dispatch.
 */
#ifndef MYSHARD_SESSION_COMMAND_H
#define MYSHARD_SESSION_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "session/session_types.h"

/* Dispatches s->cmd (a whole packet, seq 0). The handler either answers at
 * once (and the command is done) or starts backend work. */
void command_dispatch(struct session *s);

/* A COM_CHANGE_USER's password was right (session/login.c): switch the
 * session to user ui and database db (NULL: the user's first), reset its
 * state, answer OK and end the command. charset 0 keeps the current. */
void command_change_user_ok(struct session *s, int ui, const char *db,
                            size_t dblen, uint16_t charset);

/* Frees the prepared statements the proxy answered itself. */
void command_free_local_stmts(struct session *s);

#endif
