/*
 * predicates.h - reading values back out of a classified statement: the
 * literal lists behind key predicates (IN lists too long for
 * stmt_info.values), the rows of INSERT ... VALUES, and the decoding of one
 * literal into an integer or bytes, as the placement rules need them.
 *
 * The predicates themselves (struct sql_pred) are collected by
 * sql_classify(); see sql/classify_types.h for their meaning.
 */
#ifndef MYSHARD_SQL_PREDICATES_H
#define MYSHARD_SQL_PREDICATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/classify_types.h"
#include "sql/lexer.h"

/* Iterator over a comma-separated value list such as an IN list's text. */
struct sql_values_iter {
    struct lexer lx;
    struct token t; /* current token */
    bool done;
};

/* Starts iterating the values in list (text between the parentheses);
 * param_base is the number of `?` before it in the statement (the
 * predicate's list_param); mode is the statement's (stmt_info.mode). */
void sql_values_begin(struct sql_values_iter *it, struct sql_span list,
                      uint32_t param_base, struct lex_mode mode);
/* Stores the next value and returns true; false at the end. A value that
 * is not a literal, `?`, NULL or DEFAULT comes back as VAL_EXPR spanning
 * its text. */
bool sql_values_next(struct sql_values_iter *it, struct sql_value *v);

/* One row of INSERT ... VALUES (or the SET form's single row). */
struct sql_row {
    struct sql_span text; /* "(...)" as written */
    uint16_t nvalues;
    bool truncated; /* more than SQL_MAX_COLS values: the rest dropped */
    struct sql_value values[SQL_MAX_COLS];
};

struct sql_rows_iter {
    struct lexer lx;
    struct token t;
    uint8_t form; /* enum insert_form */
    bool done;
};

/* Starts iterating the rows of an INSERT/REPLACE classified into st
 * (form INSERT_VALUES or INSERT_SET; other forms yield no rows). Cheap:
 * rows are lexed on demand from st->insert.values. */
void sql_rows_begin(struct sql_rows_iter *it, const struct stmt_info *st);
/* Stores the next row and returns true; false after the last one. */
bool sql_rows_next(struct sql_rows_iter *it, struct sql_row *row);

/* The integer value of a VAL_NUMBER literal without fraction or exponent
 * (leading zeros allowed), or of a VAL_STRING holding such digits;
 * false when it is not an integer or does not fit in int64_t. */
bool sql_value_int(const struct sql_value *v, int64_t *out);

/* The bytes a VAL_STRING, VAL_HEX or VAL_BIT literal stands for (strings
 * unescaped, X'4142' -> "AB", b'1000001' -> "A"), into out[0..cap).
 * Returns the byte count (>= cap means cut; see lexer_unquote()), or
 * (size_t)-1 for other value types. */
size_t sql_value_bytes(const struct sql_value *v, char *out, size_t cap);

#endif
