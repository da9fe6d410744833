/*
 * classify.h - sql_classify(): one pass over a statement's text that fills
 * a struct stmt_info (see sql/classify_types.h) for the router, the session
 * and the admin console. Pure: no config, no I/O, no allocation; the
 * statement text must outlive the stmt_info, whose spans point into it.
 */
#ifndef MYSHARD_SQL_CLASSIFY_H
#define MYSHARD_SQL_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "sql/classify_types.h"

/* Classifies the first statement of sql[0..len) into *out (whose previous
 * contents are discarded; arrays are not cleared, only their counts),
 * lexed under mode (the session's sql_mode and character set).
 * Later statements after a ';' are not classified; out->multi tells that
 * they exist. Returns false when the text does not lex (an unterminated
 * string, quoted name or comment): out->lex_error is then set and the
 * fields hold what was learnt before the error. Runs in time linear in len
 * with bounded stack, whatever the input. */
bool sql_classify(const char *sql, size_t len, struct lex_mode mode,
                  struct stmt_info *out);

/* Upper-case name of a statement kind ("SELECT", "DDL", ...). */
const char *stmt_kind_name(unsigned kind);
/* Names of a DDL verb and object ("CREATE", "TABLE"), a SHOW object
 * ("TABLES", "CREATE_TABLE") and an aggregate ("COUNT"); "?" when out of
 * range. */
const char *ddl_verb_name(unsigned verb);
const char *ddl_object_name(unsigned obj);
const char *show_obj_name(unsigned obj);
const char *agg_kind_name(unsigned agg);

#endif
