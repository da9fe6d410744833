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

/* The list of a LOCK TABLES statement (st classified as one), item by
 * item: the text of each (from after TABLES or the comma before it to the
 * comma after it or the statement's end) into items[0..cap), however many
 * tables it names (st->tables keeps SQL_MAX_TABLES). Returns the number of
 * items, 0 when the text is not a LOCK TABLES list or has more than cap;
 * *splittable is false when a boundary lies inside an executable comment
 * (an item's text alone would not lex as it does in the statement). */
size_t sql_lock_items(const struct stmt_info *st, struct sql_span *items,
                      size_t cap, bool *splittable);

/* A classification kept beside its text (a prepared statement's): the
 * scalars and the defined entries of each array, nothing else, so a copy
 * is small (a point select's under 1 KB, against sizeof(struct stmt_info)
 * of about 27 KB). sql_info_save() writes the copy of st to buf[0..cap)
 * when it fits and returns its size either way (over cap: nothing was
 * written). sql_info_restore() makes *out equal to the saved st in every
 * defined field; its spans point into the text st was classified from,
 * which must still be there. */
size_t sql_info_save(const struct stmt_info *st, void *buf, size_t cap);
void sql_info_restore(const void *buf, struct stmt_info *out);

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
