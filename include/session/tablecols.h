/*
 * tablecols.h - the session's side of the tables' columns
 * (backend/tablemeta.h): the lookup the router uses for positional
 * INSERTs, the wait for a table whose columns are being read again, and
 * the refresh after a DDL statement the session relayed.
 *
 * Refresh rules:
 *   - after CREATE/ALTER/DROP/RENAME TABLE relayed by this session, its
 *     tables are read again before the session's next statement is
 *     routed by them (the next positional INSERT waits for the read);
 *   - a positional INSERT whose first row has another number of values
 *     than the table has columns, or into a table not found on the shards
 *     at its last read, has it read again once and waits for that;
 *   - an INSERT naming a column the table does not have (as last read)
 *     has it read again, without waiting.
 * A wait lasts TABLECOLS_WAIT_MS at most; then the statement gets an error
 * saying to retry.
 */
#ifndef MYSHARD_SESSION_TABLECOLS_H
#define MYSHARD_SESSION_TABLECOLS_H

#include <stdbool.h>

#include "session/session_types.h"

#define TABLECOLS_WAIT_MS 5000

struct route_ctx;
struct stmt_info;

/* Sets ctx's column lookup to the worker's current snapshot. */
void tablecols_ctx(struct session *s, struct route_ctx *ctx);
/* ... to snap's (a reference the caller holds while ctx is used). */
void tablecols_ctx_snap(struct tm_snap *snap, struct route_ctx *ctx);
/* Before st (classified, the command in flight) is routed. True when the
 * command waits (it is dispatched again later) or was answered (an error
 * after waiting too long): the caller returns. False: route it. */
bool tablecols_wait(struct session *s, const struct stmt_info *st);
/* Before st runs: a DDL statement notes the tables it changes. */
void tablecols_note_ddl(struct session *s, const struct stmt_info *st);
/* The command ended: a noted DDL's tables are read again. */
void tablecols_command_end(struct session *s);
/* Releases the worker's snapshot (teardown). */
void tablecols_worker_free(struct wctx *wc);

#endif
