/*
 * query.h - sending a client's command to a backend and relaying the answer.
 */
#ifndef MYSHARD_SESSION_QUERY_H
#define MYSHARD_SESSION_QUERY_H

#include <stdbool.h>
#include "session/session_types.h"

/* COM_QUERY: answers locally what the proxy owns (USE, SHOW DATABASES, ...)
 * and forwards the rest. */
void query_start(struct session *s, const char *sql, size_t len);
/* Forwards s->cmd as-is to the shard's primary, relaying a response of the
 * given kind (or none when expect_response is false). */
void query_forward(struct session *s, int shard, enum relay_kind kind,
                   bool expect_response);
/* Rewrites s->cmd (COM_QUERY or COM_STMT_PREPARE) for backend_schema
 * renames; a no-op when no schema is renamed. */
void query_rewrite_for_backend(struct session *s);
/* Gives the session's backend connection back (or drops it when dirty). */
void query_release_backend(struct session *s, bool dirty);
/* Client output drained below the low-water mark: resume relaying. */
void query_client_drained(struct session *s);
/* Validates and switches the current schema; sends OK or 1049/1044. */
void query_use_schema(struct session *s, const char *name, size_t len);
/* Index of a schema the user may use, or -1 with *code set (1049/1044). */
int query_find_schema(const struct session *s, int user, const char *name,
                      size_t len, int *code);

#endif
