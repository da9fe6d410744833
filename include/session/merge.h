/*
 * merge.h - turns the responses of several shards to one statement into
 * the one response the client expects, streaming: each source is read at
 * most one row ahead (one logical packet copied out of its input buffer),
 * and output stops above the client's high-water mark.
 *
 *   shard 0 in ──► [row 0] ─┐
 *   shard 1 in ──► [row 1] ─┼─► pick (k-way by sort/group keys, or any)
 *   shard 2 in ──► [row 2] ─┘        │
 *                                    v
 *          group + aggregate ─► HAVING ─► distinct ─► [post-sort] ─►
 *          OFFSET/LIMIT cut ─► strip hidden ─► client out (own seq ids)
 *
 * What the shards answer decides the outcome:
 *  - every shard a result set: one result set (visible column count, the
 *    first shard's visible column definitions, EOF, merged rows, EOF);
 *  - every shard an OK: one OK with the summed affected rows;
 *  - any shard an ERR: that ERR (the first seen), in place of whatever was
 *    not yet sent; the other shards are still read to their end;
 *  - OK from some and rows from others, or different column counts:
 *    ERR 1105; several results (SERVER_MORE_RESULTS_EXISTS), a cursor, or
 *    an in-memory sort over max_rows: ERR 1235.
 * The client negotiated no CLIENT_DEPRECATE_EOF (nor CLIENT_SESSION_TRACK):
 * result sets end with EOF packets and OK info is string<EOF>.
 *
 * Comparisons (ORDER BY, GROUP BY equality, MIN/MAX, DISTINCT) go by the
 * type in the first shard's column definition; see result/value.h for the
 * rules and what the proxy cannot know about collations, and
 * result/aggregate.h for how partial aggregates combine.
 */
#ifndef MYSHARD_SESSION_MERGE_H
#define MYSHARD_SESSION_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "route/route_types.h"

struct evbuffer;
struct merge;

/* Rows an in-memory sort (post_sort, or DISTINCT over grouped rows) may hold
 * before the statement fails with ERR 1235. */
#define MERGE_DEFAULT_MAX_ROWS 1000000

enum merge_status {
    MERGE_MORE = 0, /* waiting for more bytes from some source */
    MERGE_PAUSED,   /* out holds more than high bytes: call again when it
                       drains (new input may be fed meanwhile) */
    MERGE_DONE,     /* the whole response is written and every source's
                       response was read to its end */
    MERGE_BROKEN,   /* a source sent a malformed response: see
                       merge_broken_source() and merge_client_intact() */
};

/*
 * A merge of the responses of nsources (1..ROUTE_MAX_SHARDS) shards to one
 * statement, following *ms (copied; see route_types.h for its meaning).
 * binary_rows: the statement is a COM_STMT_EXECUTE, rows are in the binary
 * protocol. The client's packets get sequence ids from first_seq on.
 * Returns NULL when nsources is out of range. Free with merge_free().
 */
struct merge *merge_new(const struct merge_spec *ms, int nsources,
                        bool binary_rows, uint8_t first_seq);

/* Changes the in-memory sort bound (default MERGE_DEFAULT_MAX_ROWS); call
 * before the first merge_pump. */
void merge_set_max_rows(struct merge *m, size_t max_rows);

/*
 * Consumes what is buffered of the sources' responses and writes merged
 * output to out (always the client's output buffer) as it becomes possible.
 *  - i >= 0: in is source i's input buffer. The merge remembers it and also
 *    reads the buffers earlier calls named for other sources, so every such
 *    buffer must stay valid until merge_source_done() says that source has
 *    ended (after which the merge never touches it again) or merge_free().
 *  - i == -1 (in NULL): just continue, e.g. after out drained.
 * Bytes of a source that is one row ahead stay in its buffer: bound them
 * with a read high-water mark on that backend connection; the merge drains
 * them on a later call (for any source, or -1).
 * Stops writing once out holds more than high bytes (MERGE_PAUSED).
 * Returns the status described at enum merge_status; after MERGE_DONE or
 * MERGE_BROKEN further calls return the same and do nothing.
 */
enum merge_status merge_pump(struct merge *m, int i, struct evbuffer *in,
                             struct evbuffer *out, size_t high);

/*
 * Source i's connection was lost before its response ended: the statement
 * fails with (code, msg) unless it already failed, and the others are still
 * drained. Source i's buffer is forgotten (never read again). Returns as
 * merge_pump() does; MERGE_BROKEN when a row of source i was being passed
 * to the client and is now cut (merge_client_intact() is then false).
 */
enum merge_status merge_fail_source(struct merge *m, int i,
                                    struct evbuffer *out, size_t high,
                                    uint16_t code, const char *msg);

/* Source i's response was read to its end and nothing of it is left to
 * consume: its backend connection can go back to the pool. False for a
 * source given to merge_fail_source(). */
bool merge_source_done(const struct merge *m, int i);

/*
 * After MERGE_BROKEN: the source whose response was malformed (-1 when the
 * break came from merge_fail_source). Its connection and every source's not
 * merge_source_done() must be closed.
 */
int merge_broken_source(const struct merge *m);

/* False when a packet to the client was cut in the middle (only after
 * MERGE_BROKEN): the client connection must be closed. When true after
 * MERGE_BROKEN, an ERR 1105 already ended the client's response. */
bool merge_client_intact(const struct merge *m);

/* Server status flags of the final packet written (EOF or OK), without
 * SERVER_MORE_RESULTS_EXISTS; when the statement failed, those of the last
 * OK/EOF any source sent (0 if none). */
uint16_t merge_status_flags(const struct merge *m);

/* The error the statement failed with (code in *code), or NULL. */
const char *merge_error(const struct merge *m, uint16_t *code);

/* Rows sent to the client so far. */
uint64_t merge_rows(const struct merge *m);

/* The sequence id the next client packet would carry. */
uint8_t merge_next_seq(const struct merge *m);

void merge_free(struct merge *m);

#endif
