/*
 * cachefill.h - the session's side of the hot-key cache (session/qcache.h):
 * a cacheable read answered from the cache, or its answer kept while the
 * engine relays it; the tables a session writes, made stale when the write
 * (and its transaction) ends.
 */
#ifndef MYSHARD_SESSION_CACHEFILL_H
#define MYSHARD_SESSION_CACHEFILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct stmt_info;

/* Before any parsing: the statement text sql answered from the cache when
 * this very text was kept for the session's user, schema and lexing mode
 * under the config generation in use (a reload empties the cache), and
 * nothing of the session's keeps it from the cache (a transaction, pins)
 * and no rate limit needs to count it (the user's, or a policy's that
 * matched the text when it was kept). True: answered, command done; the
 * statement is counted under the digest slot kept with the entry. Such
 * a text passed the gate and the policies when its answer was kept, and
 * would again: they decide on the same text, user, schema and mode. */
bool cachefill_fast(struct session *s, const char *sql, size_t len);
/* The read in wc->stmt (text sql): answered from the cache (true, command
 * done), or false with s->fill ready to keep its answer when it may be
 * cached. */
bool cachefill_try(struct session *s, const char *sql, size_t len);
/* What the relay appended to the client's output from offset `from` on is
 * kept too (dropped when it grows past QCACHE_MAX_ENTRY). */
void cachefill_copy(struct session *s, size_t from);
/* The relayed answer ended; ok: a whole result, worth keeping. */
void cachefill_store(struct session *s, bool ok);
/* Drops a fill in progress (the read failed or never ran). */
void cachefill_drop(struct session *s);
/* The statement st writes: remember its tables (multi: a batch, tables
 * unknown: every entry). */
void cachefill_note_write(struct session *s, const struct stmt_info *st,
                          bool multi);
/* The tables the session wrote: their cached reads go stale now (and,
 * with txn_open, again when the transaction ends). */
void cachefill_writes_done(struct session *s, bool txn_open);
/* The tables the session's statement (or open transaction) writes, as
 * table keys (*tables): how many, -1 when unknown (every table), 0 none. */
int cachefill_written(const struct session *s, const uint32_t **tables);
/* The tables of the cache fill under way, as table keys: how many, 0
 * when no fill is under way (or it names none). */
int cachefill_filling(const struct session *s, const uint32_t **tables);
/* Drops the session's cache state (close, reset). */
void cachefill_forget(struct session *s);

#endif
