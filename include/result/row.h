/*
 * row.h - rows of a result read into values and written back: the text or
 * binary protocol by the result's shape, a row cut to its visible columns,
 * and a row copied with its values (a group's first row, the last row
 * DISTINCT kept).
 */
#ifndef MYSHARD_RESULT_ROW_H
#define MYSHARD_RESULT_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct binproto_value;
struct column;
struct pktbuf;

/* Output row builders above this capacity are freed after use. */
#define ROW_SHRINK_AT ((size_t)1 << 20)

/* What every row of one result looks like. */
struct row_shape {
    const struct column *cols; /* ncols definitions (one shard's) */
    uint32_t ncols;
    uint32_t visible; /* leading columns the client sees */
    bool binary;      /* binary-protocol rows (COM_STMT_EXECUTE) */
};

/*
 * Reads a row payload into v[0..ncols), values pointing into p. Binary rows
 * decode with the type words types[0..ncols); text rows take each value's
 * type from the column. For text rows *vis_len gets the bytes of the
 * visible columns (the row cut without re-encoding); 0 for binary rows.
 * False when malformed.
 */
MUST_CHECK bool row_parse(const struct row_shape *rs, const uint16_t *types,
                          const uint8_t *p, size_t len,
                          struct binproto_value *v, size_t *vis_len);

/* Resets pb (freeing it first when it grew past ROW_SHRINK_AT) and writes
 * a row of v[0..n) in the shape's protocol. False when a value has no
 * encoding or the builder failed. */
MUST_CHECK bool row_encode(const struct row_shape *rs, struct pktbuf *pb,
                           const struct binproto_value *v, size_t n);

/* A row copied out of its packet, values pointing into the copy. */
struct row_copy {
    uint8_t *p;
    size_t len, cap;
    struct binproto_value *v; /* ncols */
};

/* Copies payload p (len bytes) and its ncols values into rc; values that
 * pointed into p point into the copy, others (computed text) are kept. */
void row_copy_set(struct row_copy *rc, uint32_t ncols, const uint8_t *p,
                  size_t len, const struct binproto_value *v);
void row_copy_free(struct row_copy *rc);

#endif
