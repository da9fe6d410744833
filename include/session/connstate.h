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
/* The session's SET in flight (s->pending) ran on sc: when ok, the session
 * and sc both hold its values; either way it is no longer pending. */
void connstate_note_set(struct session *s, struct serverconn *sc, bool ok);

#endif
