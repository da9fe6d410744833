/*
 * rewrite.h - the statement texts a plan needs that differ from what the
 * client sent. So far: schema renaming, for schemas whose name on the
 * servers (backend_schema) differs from the name clients use.
 */
#ifndef MYSHARD_SQL_REWRITE_H
#define MYSHARD_SQL_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "sql/lexer.h"

struct rewrite_rename {
    const char *from; /* the client-side schema name */
    const char *to;   /* its name on the servers */
};

/*
 * Replaces every schema qualifier `from.` (bare or backtick-quoted,
 * case-insensitive) by `to` in sql[0..len), lexed under mode. Strings, comments
 * and unrelated identifiers are left alone. Returns true and a malloc'd copy in
 * *out (length *out_len) when something was renamed; false, with *out
 * untouched, when the statement needs no change.
 */
bool rewrite_schema_names(const char *sql, size_t len, struct lex_mode mode,
                          const struct rewrite_rename *map, int nmap,
                          char **out, size_t *out_len);

/*
 * Replaces DATABASE() and SCHEMA() calls by the string literal of name (the
 * schema as clients know it), so a renamed schema never shows its server
 * name. A call that is a whole select item keeps its column name through an
 * alias; sql is lexed under mode. Returns true with a malloc'd copy in *out,
 * false when there is no such call.
 */
bool rewrite_current_schema(const char *sql, size_t len, struct lex_mode mode,
                            const char *name, char **out, size_t *out_len);

#endif
