/*
 * value.h - one value of a result row (a binproto_value: text rows give
 * str/len, binary rows typed members) read as the merge needs it: compared
 * by its column's class, summed as an exact decimal or a double, and a
 * double printed back the way the server prints it.
 *
 * Comparison rules, by the column (see column.h for the classes): integers
 * and decimals exactly (text: sign, integer digits without leading zeros,
 * fraction digits; binary integers by value, signed against unsigned
 * right); doubles as doubles; dates by text or binary fields; TIME as a
 * signed interval, so negative times sort first; strings by the column's
 * case folding and padding. Accents, non-ASCII case and UCA weights are
 * not known to the proxy. ENUM and SET compare as their strings. NULL is
 * less than every value.
 */
#ifndef MYSHARD_RESULT_VALUE_H
#define MYSHARD_RESULT_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

struct binproto_value;
struct column;
struct dec;

/* Compares two values of column c (binary: from binary-protocol rows).
 * Returns -1, 0 or 1. */
int value_cmp(const struct column *c, bool binary,
              const struct binproto_value *a, const struct binproto_value *b);

/* The value as a double (SUM/AVG of FLOAT/DOUBLE, FLOAT comparisons). */
double value_double(bool binary, const struct binproto_value *v);

/* The value as an exact decimal; false when it is not a number (or has
 * more digits than a dec holds). */
MUST_CHECK bool value_dec(bool binary, const struct binproto_value *v,
                          struct dec *x);

/* Prints d in the shortest %g form that reads back as d, with MySQL's
 * exponent spelling (1e20, 1e-7). */
void value_fmt_double(double d, char *out, size_t cap);

#endif
