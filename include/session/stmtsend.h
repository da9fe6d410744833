/*
 * stmtsend.h - a prepared statement as one target of a run sends it
 * (session/engine.c): its text, and its EXECUTE under a connection's id.
 */
#ifndef MYSHARD_SESSION_STMTSEND_H
#define MYSHARD_SESSION_STMTSEND_H

#include <stddef.h>
#include <stdint.h>

#include "session/engine_types.h"

/* The text t's statement is prepared from: the client's, or the plan's
 * rewrite of it for a merge (t->own, pkt_len bytes). */
const char *stmtsend_text(const struct eng_target *t, size_t *len);
/* Writes to t's connection the long data the client sent for the
 * statement, then the execute payload with id as the statement id. */
void stmtsend_execute(struct eng_target *t, uint32_t id);

#endif
