/*
 * qualify.h - sql_qualifiers(): every name a statement's text uses as a
 * qualifier (the `a` of `a.b`), found from the tokens alone, whatever the
 * parser understood. The gate (session/gate.h) checks them against the
 * user's schemas, so a schema reached from a place the classifier does not
 * parse (a routine body, an expression it skips) is still seen.
 */
#ifndef MYSHARD_SQL_QUALIFY_H
#define MYSHARD_SQL_QUALIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "sql/classify_types.h"

enum qual_kind {
    QUAL_TWO = 0, /* a.b: a schema, or a table or alias (a.col) */
    QUAL_SCHEMA,  /* a.b.c or a.b(...): a is a schema */
};

/* Calls fn for each qualifier of sql[0..len) (all its statements), in text
 * order, with the qualifier's raw token (bare or backticked) and its kind;
 * stops when fn returns false. Returns false when fn stopped the scan or
 * the text does not lex to its end (an unterminated string or comment). */
bool sql_qualifiers(const char *sql, size_t len,
                    bool (*fn)(void *arg, struct sql_span name,
                               enum qual_kind kind),
                    void *arg);

#endif
