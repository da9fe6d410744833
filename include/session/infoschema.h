/*
 * infoschema.h - information_schema as a user of the proxy sees it
 * (README "The gate"): which of its tables are readable, and how the ones
 * that describe schemas are narrowed to the user's own.
 */
#ifndef MYSHARD_SESSION_INFOSCHEMA_H
#define MYSHARD_SESSION_INFOSCHEMA_H

#include <stddef.h>

#include "sql/classify_types.h"

struct cfg;
struct cfg_user;

enum infoschema_access {
    INFOSCHEMA_REFUSED = 0, /* describes the whole server: PROCESSLIST,
                               USER_PRIVILEGES, INNODB_*, GLOBAL_STATUS ... */
    INFOSCHEMA_GLOBAL,      /* about no schema: CHARACTER_SETS, ENGINES ... */
    INFOSCHEMA_FILTERED,    /* rows name a schema: TABLES, COLUMNS ... */
};

/* What a user may do with information_schema.<table> (raw name token). */
enum infoschema_access infoschema_access(struct sql_span table);

/* sql[0..len) with each of tables[0..n) (references to
 * INFOSCHEMA_FILTERED tables found in that text; reordered here) replaced
 * (lexed under mode) by (SELECT * FROM information_schema.T WHERE <schema
 * column> IN (<u's backend schemas>)) [AS T]: whatever the statement does with
 * the table, it sees only the rows about u's schemas. The derived table
 * names its columns as information_schema does (upper case), so each of
 * items[0..nitems) (the top-level select list, spans in sql; 0 when not
 * known) that is a bare column without alias gets `AS <name as written>`:
 * the client sees the header it would see without the filter. malloc'd;
 * *out_len its length. */
char *infoschema_filter(const char *sql, size_t len, struct lex_mode mode,
                        struct sql_table *tables, int n,
                        const struct sql_item *items, int nitems,
                        const struct cfg *c, const struct cfg_user *u,
                        size_t *out_len);

#endif
