/*
 * connstate.h - giving a backend connection the session's state (schema,
 * variables, sql_mode, character set, a pending BEGIN) before a statement
 * runs on it.
 */
#ifndef MYSHARD_SESSION_CONNSTATE_H
#define MYSHARD_SESSION_CONNSTATE_H

#include <stdbool.h>

struct session;
struct serverconn;
struct relay;

/* Queues the one statement that gives sc the session's schema, else its
 * variables, sql_mode and character set, else a pending BEGIN; its answer
 * is swallowed through rl. False when the connection already matches. */
bool connstate_apply(struct session *s, struct serverconn *sc,
                     struct relay *rl);
/* The statement in flight ended on sc (NULL: it got no answer). A SET
 * that succeeded (ok) leaves its values on the session and on sc, and the
 * user variables it assigned known (session/uservars.h); otherwise
 * neither keeps them. */
void connstate_set_done(struct session *s, struct serverconn *sc, bool ok);

#endif
