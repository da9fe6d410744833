/*
 * digests.h - one worker's table of normalized statements (sql/digest.h):
 * how often each ran, how long it took, how often it failed. Only the
 * worker touches its table; SHOW DIGESTS copies it on the worker's thread.
 * Bounded: past DIGESTS_MAX distinct statements, the rest are counted
 * under one "(other statements)" entry.
 */
#ifndef MYSHARD_SESSION_DIGESTS_H
#define MYSHARD_SESSION_DIGESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/lexer.h"

#define DIGESTS_MAX     1024
#define DIGEST_TEXT_MAX 256
/* Slots of the table: twice the cap (short probes) + the overflow one. */
#define DIGESTS_SLOTS (2 * DIGESTS_MAX + 1)

struct digest_entry {
    uint64_t hash; /* 0 = free slot */
    long long count;
    long long total_us;
    long long max_us;
    long long errors;
    char text[DIGEST_TEXT_MAX];
};

/* Statement shapes remembered with their slot: a direct-mapped cache. */
#define DIGESTS_SHAPES 4096

struct digest_shape {
    uint64_t shape; /* stmt_info.shape; 0 = empty */
    int slot;
};

struct digest_table {
    struct digest_entry *v; /* owned; DIGESTS_SLOTS, allocated on first
                               use; the last is "(other statements)" */
    int n;                  /* distinct statements held */
    /* owned; DIGESTS_SHAPES, allocated with v: a statement whose shape
     * was seen finds its slot here without being digested again */
    struct digest_shape *shapes;
};

/* The slot of sql's digest (lexed under mode), added when new. shape is
 * the statement's stmt_info.shape (0: unknown): a shape seen before gives
 * its slot at once, since statements of one shape share their digest. */
int digests_slot(struct digest_table *t, const char *sql, size_t len,
                 struct lex_mode mode, uint64_t shape);
/* Counts one run of the statement in slot. */
void digests_note(struct digest_table *t, int slot, int64_t us, bool failed);
/* The digest text of slot ("" when slot < 0). */
const char *digests_text(const struct digest_table *t, int slot);
void digests_free(struct digest_table *t);

#endif
