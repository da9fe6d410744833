/*
 * aggregate.h - the aggregates of a grouped result, combined across the
 * shards' partial rows: one accumulator per aggregate column, fed every
 * row of a group, read once when the group ends.
 *
 *  - COUNT sums exactly;
 *  - SUM sums DECIMAL and integer partials exactly (result/decimal.h) and
 *    FLOAT/DOUBLE partials as doubles; NULL when every partial is NULL;
 *  - MIN/MAX keep the least/greatest by the column's comparison rules
 *    (result/value.h);
 *  - AVG: the shards return SUM in the column and COUNT in another; the
 *    result divides, for exact numbers with the server's scale (the
 *    column's decimals + 4, rounded half away from zero; aggs_prepare
 *    retypes the column's definition to match), for doubles as a double
 *    printed in the shortest form that reads back the same.
 *  - COUNT/SUM/AVG(DISTINCT x): the shards return x itself, grouped by
 *    it, and the rows of a group arrive ordered by x (the merge keys end
 *    with it), so a value counts when it differs from the one before;
 *    NULLs never count. The column is retyped to what the server sends
 *    (BIGINT, DECIMAL or DOUBLE). Text in a case-insensitive collation
 *    compares exactly only in the ASCII-folding collations (latin1_swedish,
 *    ascii/utf8/utf8mb4_general) and only for printable ASCII: other
 *    collations are refused before any row (aggs_check), other bytes
 *    fail the statement (AGG_UNCERTAIN).
 * Non-aggregate columns are the caller's (a group's first row).
 */
#ifndef MYSHARD_RESULT_AGGREGATE_H
#define MYSHARD_RESULT_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/binproto.h"
#include "result/decimal.h"

struct column;
struct row_shape;

/* The same values as route's enum merge_agg, which plans them. */
enum agg_kind {
    AGG_NONE = 0,
    AGG_COUNT,
    AGG_SUM,
    AGG_MIN,
    AGG_MAX,
    AGG_AVG,
    AGG_COUNT_DISTINCT,
    AGG_SUM_DISTINCT,
    AGG_AVG_DISTINCT,
};

enum agg_status {
    AGG_OK = 0,
    AGG_NOT_NUMBER,   /* a SUM/COUNT/AVG partial is not a number */
    AGG_SUM_OVERFLOW, /* the exact sum needs more digits than a dec */
    AGG_AVG_OVERFLOW, /* the exact average does not fit */
    AGG_UNCERTAIN,    /* DISTINCT over text the proxy cannot compare */
};

/* One column's running aggregate within the current group. */
struct agg_acc {
    bool any;                   /* a non-NULL partial was seen */
    bool dbl;                   /* summed as double */
    double d;                   /* the double sum */
    struct dec x;               /* the exact sum */
    struct binproto_value best; /* MIN/MAX so far; DISTINCT: the last */
    uint64_t cnt;               /* DISTINCT: values counted */
    uint8_t *bbuf;              /* owns best's string bytes */
    size_t bcap;
    char txt[DEC_TEXT_MAX + 32]; /* the final value as text */
};

struct aggs {
    const struct row_shape *rs; /* the result's columns */
    uint16_t *otypes;           /* ncols output type words (the caller's;
                                   aggs_prepare retypes AVG columns) */
    uint8_t *kind;              /* ncols, enum agg_kind */
    int32_t *avg_cnt;           /* AGG_AVG: its COUNT column */
    struct agg_acc *acc;        /* ncols */
};

/* Sets up for rs's columns (rs->cols may be filled later, before
 * aggs_prepare); every column starts as AGG_NONE. */
void aggs_init(struct aggs *a, const struct row_shape *rs, uint16_t *otypes);

/* Column col aggregates by kind; col2 is AVG's COUNT column. False when
 * kind is not an aggregate or col2 is not another column. */
MUST_CHECK bool aggs_set(struct aggs *a, uint32_t col, uint8_t kind,
                         uint32_t col2);

/* After every aggs_set: AVG's COUNT columns are summed, sums of FLOAT and
 * DOUBLE go as doubles, and AVG of exact numbers becomes a NEWDECIMAL with
 * 4 more digits: defs[c] (column c's definition packet, def_len[c] bytes)
 * and otypes[c] are rewritten. */
void aggs_prepare(struct aggs *a, uint8_t *const *defs,
                  const uint32_t *def_len);

/* The output columns' facts after aggs_prepare: cols[c] is copied to
 * out[c], retyped where the merged value has another type (DISTINCT
 * aggregates), so later comparisons (HAVING, ORDER BY) read the value as
 * what it now is. */
void aggs_out_columns(const struct aggs *a, struct column *out);

/* NULL when every DISTINCT aggregate's column compares exactly, else why
 * not (a myshard: message in out). */
const char *aggs_check(const struct aggs *a, char *out, size_t cap);

/* A group starts with row v (ncols values). On failure *col is the
 * column. */
enum agg_status aggs_start(struct aggs *a, const struct binproto_value *v,
                           uint32_t *col);

/* Row v belongs to the current group. */
enum agg_status aggs_add(struct aggs *a, const struct binproto_value *v,
                         uint32_t *col);

/* Writes each aggregate column's value for the group into v (which holds
 * the group's first row); values may point into the accumulators, valid
 * until the next aggs_start. */
enum agg_status aggs_result(struct aggs *a, struct binproto_value *v,
                            uint32_t *col);

/* The myshard: message for a failed status of column col (0-based). */
void aggs_error(enum agg_status st, uint32_t col, char *out, size_t cap);

void aggs_free(struct aggs *a);

#endif
