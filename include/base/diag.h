/*
 * diag.h - a list of diagnostics {file, line, col, level, message, hint},
 * collected and printed together, compiler style:
 *   myshard.yaml:42:7: error: table 'orders': rule 'user_hash' is not defined
 * Used by the config loader (--check, RELOAD CONFIG) and EXPLAIN ROUTE.
 */
#ifndef MYSHARD_BASE_DIAG_H
#define MYSHARD_BASE_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "base/util.h"

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag_item {
    enum diag_level level;
    char *file;    /* owned */
    int line;      /* 1-based; 0 when unknown */
    int col;       /* 1-based; 0 when unknown */
    char *message; /* owned */
    char *hint;    /* owned, may be NULL */
};

struct diag {
    struct diag_item *items; /* owned array */
    size_t n, cap;
    size_t errors; /* count of DIAG_ERROR items */
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
/* Adds one item; hint may be NULL. The message is printf-formatted. */
void diag_add(struct diag *d, enum diag_level lvl, const char *file, int line,
              int col, const char *hint, const char *fmt, ...) PRINTF_FMT(7, 8);
/* Formats item i as "file:line:col: level: message (hint)" into buf. */
size_t diag_format(const struct diag *d, size_t i, char *buf, size_t len);
/* Every item formatted as diag_format does, joined by "; ", into buf
 * (len > 0; always NUL-terminated): items that do not fit are left out and
 * counted at the end, "; (and 3 more)"; a first item that does not fit is
 * cut, ending in "...". Returns how many items were written (whole or
 * cut). */
size_t diag_join(const struct diag *d, char *buf, size_t len);
/* Prints every item, one per line. */
void diag_print(const struct diag *d, FILE *out);
static inline bool
diag_has_errors(const struct diag *d)
{
    return d->errors > 0;
}

#endif
