/*
 * decimal.h - exact decimal numbers for merging shards' partial results:
 * SUM of DECIMAL and integer columns, AVG with the server's scale, and the
 * comparison of DECIMAL text without converting it. A value is at most
 * DEC_MAX_DIGITS digits, DEC_MAX_SCALE of them after the point (MariaDB's
 * own limits are 65 and 38); an operation that would need more fails
 * instead of rounding.
 */
#ifndef MYSHARD_RESULT_DECIMAL_H
#define MYSHARD_RESULT_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define DEC_MAX_DIGITS 120
#define DEC_MAX_SCALE  38
#define DEC_TEXT_MAX   (DEC_MAX_DIGITS + 4) /* sign, point, 0, NUL */

/* An exact decimal: value = digits / 10^scale. Zero is never negative. */
struct dec {
    bool neg;
    uint8_t scale;             /* digits after the point */
    uint8_t n;                 /* significant digits in d */
    uint8_t d[DEC_MAX_DIGITS]; /* least significant first */
};

/* Parses [spaces][+-]digits[.digits][spaces]. False for anything else,
 * or for more digits than a dec holds. */
MUST_CHECK bool dec_parse(const uint8_t *s, size_t len, struct dec *x);

/* Keeps the value with `scale` fraction digits (only ever more). False
 * when the digits would not fit. */
bool dec_rescale(struct dec *x, unsigned scale);

/* acc += x, exactly. False on overflow (acc unchanged then). */
MUST_CHECK bool dec_add(struct dec *acc, const struct dec *x);

/* q = x / cnt with at least `scale` fraction digits (x's own scale when
 * larger), rounded half away from zero. False when cnt is 0 or the
 * quotient does not fit. */
MUST_CHECK bool dec_div(const struct dec *x, uint64_t cnt, unsigned scale,
                        struct dec *q);

/* The server's AVG: sum / cnt computed to whole 9-digit words of
 * fraction (truncated), then rounded half away from zero to `scale`
 * (the sum's scale + 4). False when cnt is 0 or it does not fit. */
MUST_CHECK bool dec_avg(const struct dec *sum, uint64_t cnt, unsigned scale,
                        struct dec *q);

/* The server's `a / b` on exact numbers: truncated to whole 9-digit words
 * of fraction, then rounded to a's scale + 4, as it is shown and
 * compared. False when b is 0, b has more than 19 digits, or the result
 * does not fit. */
MUST_CHECK bool dec_quot(const struct dec *a, const struct dec *b,
                         struct dec *q);

/* -1, 0 or 1. */
int dec_cmp(const struct dec *a, const struct dec *b);

/* x = -x. */
void dec_neg(struct dec *x);

/* r = a * b exactly (scale: the sum of theirs). False when it does not
 * fit. */
MUST_CHECK bool dec_mul(const struct dec *a, const struct dec *b,
                        struct dec *r);

/* Rounds x half away from zero to `scale` fraction digits (only ever
 * fewer). False on overflow. */
MUST_CHECK bool dec_round(struct dec *x, unsigned scale);

/* Writes x with exactly its scale's fraction digits into out (at least
 * DEC_TEXT_MAX bytes). */
void dec_format(const struct dec *x, char *out);

/* Compares two decimal numbers given as text (sign, digits, point),
 * ignoring leading and trailing zeros; -0 equals 0. Text after the number
 * is ignored. Returns -1, 0 or 1. */
int dec_cmp_text(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

#endif
