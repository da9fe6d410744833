/*
 * sort.h - ordering rows of a result: comparison by a list of keys (the
 * k-way merge, group equality and DISTINCT all use it), and an in-memory
 * sort for what the shards cannot order for the proxy (ORDER BY over
 * merged groups, DISTINCT over grouped rows).
 *
 * The in-memory sort keeps whole row payloads and, beside each, only the
 * values its keys look at. It holds at most max_rows rows; with a LIMIT
 * only `keep` (offset + limit) of them can ever be sent, so it sorts and
 * cuts to keep now and then instead of growing.
 */
#ifndef MYSHARD_RESULT_SORT_H
#define MYSHARD_RESULT_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "proto/binproto.h"

struct row_shape;

#define SORT_PRUNE_MIN 4096 /* rows held before a LIMIT prunes */

/* A comparison key: col names the column (its comparison rules), pos the
 * value's index in the value arrays compared. */
struct sort_key {
    uint16_t col;
    uint16_t pos;
    bool desc;
};

/* Compares rows a and b (value arrays) by keys k[0..nk): -1, 0 or 1, NULL
 * least, DESC keys reversed. */
int sort_keys_cmp(const struct row_shape *rs, const struct sort_key *k, int nk,
                  const struct binproto_value *a,
                  const struct binproto_value *b);

/* Is column col among keys k[0..n)? */
bool sort_keys_has(const struct sort_key *k, int n, uint16_t col);

/* Appends to k[0..*n) the columns 0..visible-1 not yet keys, ascending
 * (for DISTINCT: rows equal in every key are equal rows). k has room. */
void sort_keys_add_visible(struct sort_key *k, int *n, uint32_t visible);

/* A row held by the in-memory sort. */
struct sort_row {
    uint8_t *p;                /* the payload (stored after v) */
    size_t len;                /* payload bytes */
    size_t vis_len;            /* text rows: bytes of the visible columns */
    struct binproto_value v[]; /* the kept columns' values */
};

enum sort_status {
    SORT_OK = 0,
    SORT_FULL,    /* max_rows rows are held */
    SORT_BAD_ROW, /* the row did not decode */
};

struct sort_buf {
    const struct row_shape *rs;
    struct sort_key *keys; /* positions into sort_row.v */
    int nkeys;
    bool distinct;  /* drop rows equal in every visible column */
    int32_t *idx;   /* ncols: position in sort_row.v, -1 */
    uint16_t *cols; /* the kept columns */
    int nkept;
    uint64_t keep;   /* rows that can ever be sent (UINT64_MAX: all) */
    size_t max_rows; /* the bound */
    struct sort_row **rows;
    size_t n, cap, next; /* held, allocated, next to hand out */
    bool sorted;
};

/*
 * Sets up a sort of rs's rows by keys[0..nkeys) (their col fields; every
 * visible column must be among them when distinct). keep: UINT64_MAX, or
 * offset + limit.
 */
void sort_init(struct sort_buf *sb, const struct row_shape *rs,
               const struct sort_key *keys, int nkeys, bool distinct,
               uint64_t keep, size_t max_rows);

/* Is there room for one more row? (Sorts and cuts to keep first when that
 * makes room.) */
bool sort_room(struct sort_buf *sb);

/* Copies row payload p (len bytes) in, decoded with type words types
 * (binary rows) through scratch (ncols values). */
enum sort_status sort_add(struct sort_buf *sb, const uint8_t *p, size_t len,
                          const uint16_t *types,
                          struct binproto_value *scratch);

/* Every row is in: sort, drop duplicates under distinct, cut to keep.
 * Once only; later calls do nothing. */
void sort_finish(struct sort_buf *sb);

/* The next row in order (NULL when none is left); sort_pop frees it. */
const struct sort_row *sort_peek(const struct sort_buf *sb);
void sort_pop(struct sort_buf *sb);

/* Drops every row not yet handed out (the statement failed). */
void sort_clear(struct sort_buf *sb);

void sort_free(struct sort_buf *sb);

#endif
