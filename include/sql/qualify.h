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
    QUAL_TWO = 0, /* a.b in an expression: a is a table or alias (a.col) */
    QUAL_TABLE,   /* a.b where a table stands (FROM a.b, x JOIN a.b, INTO
                     a.b, FROM x, a.b): a is a schema */
    QUAL_SCHEMA,  /* a.b.c or a.b(...): a is a schema */
};

/* One qualifier: its raw token (bare or backticked), its kind, and the
 * token before it (empty at the start), which tells a table position
 * (FROM a.b: a is a schema) from an expression (a.b: a is a table). */
struct sql_qual {
    struct sql_span name;
    enum qual_kind kind;
    struct sql_span prev;
};

/* Calls fn for each qualifier of sql[0..len) (all its statements, lexed
 * under mode), in text order; stops when fn returns false. Returns false when
 * fn stopped the scan or the text does not lex to its end (an unterminated
 * string or comment). */
bool sql_qualifiers(const char *sql, size_t len, struct lex_mode mode,
                    bool (*fn)(void *arg, const struct sql_qual *q), void *arg);

#endif
