/*
 * infoschema.c - see infoschema.h. The filter is a derived table in place
 * of each reference, so it is exact in joins, subqueries and unions alike
 * and needs no knowledge of the statement's WHERE.
 */
#include "session/infoschema.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cfg/cfg.h"
#include "sql/lexer.h"

/* The readable tables and the column that names each row's schema (NULL:
 * rows about no schema). */
static const struct {
    const char *name;
    const char *col;
} tables_ok[] = {
    {"TABLES", "TABLE_SCHEMA"},
    {"COLUMNS", "TABLE_SCHEMA"},
    {"STATISTICS", "TABLE_SCHEMA"},
    {"KEY_COLUMN_USAGE", "TABLE_SCHEMA"},
    {"TABLE_CONSTRAINTS", "TABLE_SCHEMA"},
    {"REFERENTIAL_CONSTRAINTS", "CONSTRAINT_SCHEMA"},
    {"CHECK_CONSTRAINTS", "CONSTRAINT_SCHEMA"},
    {"VIEWS", "TABLE_SCHEMA"},
    {"ROUTINES", "ROUTINE_SCHEMA"},
    {"PARAMETERS", "SPECIFIC_SCHEMA"},
    {"TRIGGERS", "TRIGGER_SCHEMA"},
    {"EVENTS", "EVENT_SCHEMA"},
    {"PARTITIONS", "TABLE_SCHEMA"},
    /* tablespace files (mariadb-dump asks): only rows naming one of the
     * user's schemas, which no InnoDB file row does */
    {"FILES", "TABLE_SCHEMA"},
    {"SCHEMATA", "SCHEMA_NAME"},
    {"CHARACTER_SETS", NULL},
    {"COLLATIONS", NULL},
    {"COLLATION_CHARACTER_SET_APPLICABILITY", NULL},
    {"ENGINES", NULL},
    {"KEYWORDS", NULL},
    {"SQL_FUNCTIONS", NULL},
};

static int
lookup(struct sql_span name)
{
    for (size_t i = 0; i < sizeof(tables_ok) / sizeof(tables_ok[0]); i++)
        if (lexer_ident_eq(name.p, name.len, tables_ok[i].name,
                           strlen(tables_ok[i].name)))
            return (int)i;
    return -1;
}

enum infoschema_access
infoschema_access(struct sql_span table)
{
    int i = lookup(table);

    if (i < 0)
        return INFOSCHEMA_REFUSED;
    return tables_ok[i].col ? INFOSCHEMA_FILTERED : INFOSCHEMA_GLOBAL;
}

struct strbuf {
    char *p;
    size_t n, cap;
};

static void
sb_put(struct strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void
sb_str(struct strbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* u's backend schema names as an SQL list: 'a', 'b' (NULL when none). */
static void
sb_backend_list(struct strbuf *b, const struct cfg *c, const struct cfg_user *u)
{
    bool first = true;

    for (int i = 0; i < u->nschemas; i++) {
        int si = cfg_find_schema(c, u->schemas[i], strlen(u->schemas[i]));
        if (si < 0)
            continue;
        sb_str(b, first ? "'" : ", '");
        for (const char *q = c->schemas[si].backend_schema; *q; q++) {
            if (*q == '\'' || *q == '\\')
                sb_put(b, q, 1); /* doubled */
            sb_put(b, q, 1);
        }
        sb_str(b, "'");
        first = false;
    }
    if (first)
        sb_str(b, "NULL"); /* no schema: no row */
}

static int
by_position(const void *a, const void *b)
{
    const struct sql_table *x = a, *y = b;
    return x->schema.p < y->schema.p ? -1 : x->schema.p > y->schema.p;
}

/* The name a bare column item (`col`, t.col, `t`.`col`: identifiers and
 * dots only) shows as its header: its last part; NULL for anything else
 * (expressions, *, numbers). */
static const char *
bare_column(const struct sql_item *it, size_t *nlen)
{
    const char *p = it->expr.p, *end = p + it->expr.len, *part = p;
    bool quoted = false;

    if (it->alias.len > 0 || it->expr.len == 0)
        return NULL;
    for (const char *q = p; q < end; q++) {
        char ch = *q;
        if (ch == '`') {
            quoted = !quoted;
        } else if (quoted) {
            continue;
        } else if (ch == '.') {
            part = q + 1;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     ch == '_' || ch == '$' ||
                     (ch >= '0' && ch <= '9' && q > part))) {
            return NULL; /* a space, a parenthesis, *, a leading digit */
        }
    }
    if (quoted || part >= end)
        return NULL;
    *nlen = (size_t)(end - part);
    return part;
}

char *
infoschema_filter(const char *sql, size_t len, struct lex_mode mode,
                  struct sql_table *tables, int n, const struct sql_item *items,
                  int nitems, const struct cfg *c, const struct cfg_user *u,
                  size_t *out_len)
{
    struct strbuf b = {0};
    const char *from = sql;
    int next_item = 0;

    qsort(tables, (size_t)n, sizeof(tables[0]), by_position);
    for (int i = 0; i <= n; i++) {
        const struct sql_table *t = i < n ? &tables[i] : NULL;
        int k;
        /* the select list's bare columns before this table */
        for (; next_item < nitems; next_item++) {
            const struct sql_item *it = &items[next_item];
            const char *at = it->expr.p + it->expr.len, *name;
            size_t nlen;
            char as[80];
            if (t != NULL && at > t->schema.p)
                break;
            if (at < from || at > sql + len ||
                (name = bare_column(it, &nlen)) == NULL)
                continue;
            nlen = lexer_unquote(name, nlen, mode, as, sizeof(as));
            if (nlen == 0 || nlen >= sizeof(as) || memchr(as, '`', nlen))
                continue;
            sb_put(&b, from, (size_t)(at - from));
            sb_str(&b, " AS `");
            sb_put(&b, as, nlen);
            sb_str(&b, "`");
            from = at;
        }
        if (t == NULL)
            break;
        k = lookup(t->name);
        if (k < 0 || tables_ok[k].col == NULL)
            continue;
        sb_put(&b, from, (size_t)(t->schema.p - from));
        sb_str(&b, "(SELECT * FROM information_schema.");
        sb_str(&b, tables_ok[k].name);
        sb_str(&b, " WHERE ");
        sb_str(&b, tables_ok[k].col);
        sb_str(&b, " IN (");
        sb_backend_list(&b, c, u);
        sb_str(&b, "))");
        if (t->alias.len == 0) {
            /* a derived table needs a name: the one the statement uses */
            char as[80];
            size_t an =
                lexer_unquote(t->name.p, t->name.len, mode, as, sizeof(as));
            sb_str(&b, " AS `");
            sb_put(&b, as, MIN(an, sizeof(as) - 1));
            sb_str(&b, "`");
        }
        from = t->name.p + t->name.len;
    }
    sb_put(&b, from, (size_t)(sql + len - from));
    *out_len = b.n;
    return b.p;
}
