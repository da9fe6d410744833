/*
 * query.h - sending a client's command to a backend and relaying the answer.
 */
#ifndef MYSHARD_SESSION_QUERY_H
#define MYSHARD_SESSION_QUERY_H

#include <stdbool.h>
#include "route/route_types.h"
#include "session/relay.h"
#include "backend/pool.h"
#include "session/session_types.h"

struct stmt_info;

/* COM_QUERY: answers locally what the proxy owns (USE, SHOW DATABASES, ...)
 * and forwards the rest. */
void query_start(struct session *s, const char *sql, size_t len);
/* Forwards s->cmd as-is to the shard's primary, relaying a response of the
 * given kind (or none when expect_response is false). */
void query_forward(struct session *s, int shard, enum relay_kind kind,
                   bool expect_response, bool read);
/* The server (index into the server set) for a statement on shard: a
 * healthy replica for reads when allowed, else the primary when admitted.
 * -1 with *err (9001, 9003) and a message when none can serve. */
int query_pick_server(struct session *s, int shard, bool read, int exclude,
                      int *err, char *msg, size_t msglen);
/* A statement on an unqualified table while the session has no schema (a
 * reload removed it): refused with 1046 (answered, command done) -> true. */
bool query_refuse_no_schema(struct session *s, const struct stmt_info *st);
/* A read_only user's write: refused (answered, command done) -> true. */
bool query_refuse_read_only(struct session *s);
/* A write was routed: the session reads from primaries for a while. */
void query_note_write(struct session *s, const struct route_plan *plan,
                      const struct stmt_info *st);
/* The statement text rewritten for backend_schema renames: true with a
 * malloc'd copy, false when the text needs no change. */
bool query_rewrite_text(struct session *s, const char *sql, size_t len,
                        char **out, size_t *out_len);
struct stmt_info;
/* The pins (enum pin_reason) a statement's effects on its connection
 * need. */
unsigned query_statement_pins(const struct stmt_info *st);
/* The current schema's default shard (the first schema's without one). */
int query_default_shard(const struct session *s);
/* The statement id a COM_STMT_* command names (0 when too short). */
uint32_t query_stmt_id(const struct session *s);
/* Refusals and the transaction policy: false (after answering the client
 * and ending the command) when the plan must not run. */
bool query_plan_allowed(struct session *s, const struct route_plan *plan);
/* A statement ended (s->status holds its final status): updates the pins,
 * gives the connection back when nothing holds it, next command. */
void query_statement_done(struct session *s);
/* Makes sc the session's held connection between statements. */
void query_hold_backend(struct session *s, struct serverconn *sc);
/* Rewrites s->cmd (COM_QUERY or COM_STMT_PREPARE) for backend_schema
 * renames; a no-op when no schema is renamed. */
void query_rewrite_for_backend(struct session *s);
/* Queues on sc the one statement that gives it the session's schema, then
 * its character set and variables; its answer is to be swallowed through
 * rl. Returns false when the connection already matches. */
bool query_send_prelude(struct session *s, struct serverconn *sc,
                        struct relay *rl);
/* Gives the session's backend connection back (or drops it when dirty). */
void query_release_backend(struct session *s, bool dirty);
/* Gives back the held connection, between statements, after resetting the
 * session state the client left on it (COM_RESET_CONNECTION). */
void query_release_backend_reset(struct session *s);
/* Client output drained below the low-water mark: resume relaying. */
void query_client_drained(struct session *s);
/* The tables the session wrote: their cached reads go stale now (and,
 * with txn_open, again when the transaction ends). */
void query_cache_writes_done(struct session *s, bool txn_open);
/* The statement st writes: remember its tables for the cache (multi: a
 * batch, tables unknown). */
void query_cache_note_write(struct session *s, const struct stmt_info *st,
                            bool multi);
/* Drops the session's cache state (close, reset). */
void query_cache_forget(struct session *s);
/* pool_acquire, or pool_acquire_noncore for a noncore user. */
struct serverconn *query_pool_acquire(struct session *s, struct pool *p,
                                      struct pool_waiter *w, pool_acquire_fn cb,
                                      void *arg);
/* The statement ran past backend.query_timeout: KILL QUERY on its
 * backend(s); the client gets 1969 now when nothing of the answer reached
 * it yet (the rest of the answer is then dropped). */
void query_timeout_fired(struct session *s);
/* Validates and switches the current schema; sends OK or 1049/1044. */
void query_use_schema(struct session *s, const char *name, size_t len);
/* Index of a schema the user may use, or -1 with *code set (1049/1044). */
int query_find_schema(const struct session *s, int user, const char *name,
                      size_t len, int *code);

#endif
