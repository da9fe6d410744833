/*
 * test_classify.c - sql_classify(, LEX_MODE_DEFAULT) against
 * tests/data/classify.tsv, plus targeted cases (hints, SET, INSERT rows, OR
 * groups, overflow, huge and hostile input, timing).
 *
 * classify.tsv: SQL <TAB> kind <TAB> tables <TAB> facts. Blank lines and
 * lines starting with '#' are skipped. The columns are what describe()
 * below prints:
 *   kind    KIND[:sub...]        DDL:CREATE:TABLE, SHOW:TABLES, EXPLAIN:SELECT
 *   tables  t[,t...] or -        [schema.]name[=alias][!][~][^][@block]
 *                                ! written, ~ temporary, ^ CTE, (derived)
 *   facts   space-separated, in a fixed order: statement flags, then
 *           EQ(col,v) IN(col,v,...) BT(col,a,b) JEQ(col,col) predicates
 *           (g<group>.<branch>: prefix for OR groups, @block, /on, /outer),
 *           or<g>=<branches>[*incomplete], items=[...], group=[...],
 *           order=[...], limit=, offset=, cols=[...], rows=[...],
 *           assign=[...], set=[...], txn=..., hint=..., schema=, obj= ...
 *           Values print as written; ?N is parameter N, -N a negative.
 * Set CLASSIFY_PRINT=1 to print the actual lines instead of checking.
 */
#include "sql/classify.h"
#include "sql/predicates.h"

#include <check.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
    char s[16384];
    size_t n;
};

static void bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (b->n >= sizeof(b->s))
        return;
    va_start(ap, fmt);
    r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
    va_end(ap);
    if (r > 0)
        b->n += (size_t)r;
    if (b->n >= sizeof(b->s))
        b->n = sizeof(b->s) - 1;
}

static void
bspan(struct buf *b, struct sql_span s)
{
    bprintf(b, "%.*s", (int)s.len, s.p ? s.p : "");
}

/* a span with blanks squeezed, so that spans print on one line */
static void
bspan_flat(struct buf *b, struct sql_span s)
{
    int space = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = 1;
            continue;
        }
        if (space)
            bprintf(b, " ");
        space = 0;
        bprintf(b, "%c", c);
    }
}

static void
sep(struct buf *b)
{
    if (b->n > 0)
        bprintf(b, " ");
}

static void
bcol(struct buf *b, const struct sql_colref *c)
{
    if (c->schema.len) {
        bspan(b, c->schema);
        bprintf(b, ".");
    }
    if (c->table.len) {
        bspan(b, c->table);
        bprintf(b, ".");
    }
    bspan(b, c->column);
}

static void
bvalue(struct buf *b, const struct sql_value *v)
{
    if (v->negative)
        bprintf(b, "-");
    if (v->type == VAL_PARAM)
        bprintf(b, "?%u", v->param);
    else
        bspan(b, v->text);
}

static const char *const flag_names[] = {
    "for_update",    "share_lock",     "calc_found_rows",
    "found_rows",    "last_insert_id", "lock_func",
    "uv_read",       "uv_write",       "sysvar",
    "info_schema",   "distinct",       "agg",
    "group",         "having",         "order",
    "limit",         "union",          "subquery",
    "odku",          "temporary",      "if_exists",
    "if_not_exists", "into",           "window",
    "rollup",        "ignore",         "returning",
    "set_statement", "local",          "to_savepoint",
    "describe",      "analyze",        "one_phase",
    "kill_query",    "global_lock",    "compound",
    "cte",           "join",           "outer_join",
    "agg_distinct",  "into_file",
};

static const char *const txn_names[] = {
    "begin",    "read_only", "read_write", "snapshot",        "commit",
    "rollback", "chain",     "release",    "implicit_commit",
};

static const char *const set_kinds[] = {"sys",     "user", "names",
                                        "charset", "txn",  "other"};
static const char *const scopes[] = {
    "", "session:", "global:", "persist:", "persist_only:"};
static const char *const xa_names[] = {
    "", "start", "end", "prepare", "commit", "rollback", "recover"};

static void
describe_kind(struct buf *b, const struct stmt_info *st)
{
    bprintf(b, "%s", stmt_kind_name(st->kind));
    if (st->kind == STMT_DDL)
        bprintf(b, ":%s:%s", ddl_verb_name(st->ddl_verb),
                ddl_object_name(st->ddl_object));
    else if (st->kind == STMT_SHOW)
        bprintf(b, ":%s", show_obj_name(st->show.obj));
    else if (st->kind == STMT_EXPLAIN)
        bprintf(b, ":%s", stmt_kind_name(st->inner_kind));
    else if (st->kind == STMT_XA)
        bprintf(b, ":%s", xa_names[st->xa]);
}

static void
describe_tables(struct buf *b, const struct stmt_info *st)
{
    if (st->ntables == 0) {
        bprintf(b, "-");
        return;
    }
    for (unsigned i = 0; i < st->ntables; i++) {
        const struct sql_table *t = &st->tables[i];
        if (i)
            bprintf(b, ",");
        if (t->flags & TBLF_DERIVED) {
            bprintf(b, "(derived)");
        } else {
            if (t->schema.len) {
                bspan(b, t->schema);
                bprintf(b, ".");
            }
            bspan(b, t->name);
        }
        if (t->alias.len) {
            bprintf(b, "=");
            bspan(b, t->alias);
        }
        if (t->flags & TBLF_WRITE)
            bprintf(b, "!");
        if (t->flags & TBLF_TEMP)
            bprintf(b, "~");
        if (t->flags & TBLF_CTE)
            bprintf(b, "^");
        if (t->block)
            bprintf(b, "@%u", t->block);
    }
}

static void
describe_orders(struct buf *b, const char *name, const struct sql_order *o,
                unsigned n)
{
    if (n == 0)
        return;
    sep(b);
    bprintf(b, "%s=[", name);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            bprintf(b, ",");
        bspan_flat(b, o[i].expr);
        if (o[i].position)
            bprintf(b, "#%u", o[i].position);
        if (o[i].desc)
            bprintf(b, " DESC");
    }
    bprintf(b, "]");
}

static void
describe_limit(struct buf *b, const char *name, const struct sql_limitval *v)
{
    if (!v->present)
        return;
    sep(b);
    if (v->is_param)
        bprintf(b, "%s=?%u", name, v->param);
    else if (v->text.len && (v->text.p[0] < '0' || v->text.p[0] > '9'))
        bprintf(b, "%s=%.*s", name, (int)v->text.len, v->text.p);
    else
        bprintf(b, "%s=%llu", name, (unsigned long long)v->value);
}

static void
describe_facts(struct buf *b, const struct stmt_info *st)
{
    if (st->multi) {
        sep(b);
        bprintf(b, "multi");
    }
    if (st->lex_error) {
        sep(b);
        bprintf(b, "lexerr");
    }
    if (st->overflow) {
        sep(b);
        bprintf(b, "overflow");
    }
    if (st->is_write) {
        sep(b);
        bprintf(b, "write");
    }
    for (unsigned i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (st->flags & (1ull << i)) {
            sep(b);
            bprintf(b, "%s", flag_names[i]);
        }
    if (st->txn) {
        int first = 1;
        sep(b);
        bprintf(b, "txn=");
        for (unsigned i = 0; i < sizeof(txn_names) / sizeof(txn_names[0]); i++)
            if (st->txn & (1u << i)) {
                bprintf(b, "%s%s", first ? "" : "+", txn_names[i]);
                first = 0;
            }
    }
    if (st->hint.present) {
        sep(b);
        bprintf(b, "hint=");
        if (st->hint.shard.len) {
            bprintf(b, "shard:");
            bspan(b, st->hint.shard);
        }
        if (st->hint.role)
            bprintf(b, "%s%s", st->hint.shard.len ? "," : "",
                    st->hint.role == HINT_PRIMARY ? "primary" : "replica");
        if (st->hint.bad)
            bprintf(b, ",bad");
    }
    if (st->schema.len) {
        sep(b);
        bprintf(b, "schema=");
        bspan(b, st->schema);
    }
    if (st->object.len) {
        sep(b);
        bprintf(b, "obj=");
        bspan_flat(b, st->object);
    }
    if (st->text.len) {
        sep(b);
        bprintf(b, "text=");
        bspan(b, st->text);
    }
    if (st->inner.len) {
        sep(b);
        bprintf(b, "inner=[");
        bspan_flat(b, st->inner);
        bprintf(b, "]");
    }
    if (st->kind == STMT_SHOW) {
        if (st->show.full) {
            sep(b);
            bprintf(b, "full");
        }
        if (st->show.scope) {
            sep(b);
            bprintf(b, "scope=%s",
                    st->show.scope == SCOPE_GLOBAL ? "global" : "session");
        }
        if (st->show.obj == SHOW_OTHER) {
            sep(b);
            bprintf(b, "word=");
            bspan(b, st->show.word);
        }
        if (st->show.like.len) {
            sep(b);
            bprintf(b, "like=");
            bspan(b, st->show.like);
        }
        if (st->show.where.len) {
            sep(b);
            bprintf(b, "where=[");
            bspan_flat(b, st->show.where);
            bprintf(b, "]");
        }
    }
    for (unsigned i = 0; i < st->npreds; i++) {
        const struct sql_pred *p = &st->preds[i];
        static const char *const ops[] = {"EQ", "IN", "BT", "JEQ"};
        sep(b);
        if (p->group)
            bprintf(b, "g%u.%u:", p->group, p->branch);
        bprintf(b, "%s(", ops[p->op]);
        bcol(b, &p->col);
        if (p->op == PRED_COLEQ) {
            bprintf(b, ",");
            bcol(b, &p->col2);
        }
        for (unsigned v = 0; v < p->nvalues; v++) {
            bprintf(b, ",");
            bvalue(b, &st->values[p->vfirst + v]);
        }
        if (p->flags & PREDF_TRUNCATED)
            bprintf(b, ",...");
        bprintf(b, ")");
        if (p->block)
            bprintf(b, "@%u", p->block);
        if (p->flags & PREDF_OUTER)
            bprintf(b, "/outer");
        else if (p->flags & PREDF_ON)
            bprintf(b, "/on");
    }
    for (unsigned g = 1; g <= st->ngroups; g++) {
        sep(b);
        bprintf(b, "or%u=%u%s", g, st->groups[g].nbranches,
                st->groups[g].incomplete ? "*" : "");
    }
    if (st->nitems && (st->flags & (SQLF_AGGREGATE | SQLF_WINDOW))) {
        sep(b);
        bprintf(b, "items=[");
        for (unsigned i = 0; i < st->nitems; i++) {
            const struct sql_item *it = &st->items[i];
            if (i)
                bprintf(b, ",");
            bspan_flat(b, it->expr);
            if (it->alias.len) {
                bprintf(b, "=");
                bspan(b, it->alias);
            }
            if (it->agg) {
                bprintf(b, ":%s(", agg_kind_name(it->agg));
                bspan_flat(b, it->arg);
                bprintf(b, ")");
            }
            if (it->flags & ITEMF_DISTINCT)
                bprintf(b, "+distinct");
            if (it->flags & ITEMF_NESTED)
                bprintf(b, "+nested");
            if (it->flags & ITEMF_WINDOW)
                bprintf(b, "+window");
            if (it->flags & ITEMF_STAR)
                bprintf(b, "+star");
        }
        bprintf(b, "]");
    }
    describe_orders(b, "group", st->group_items, st->ngroup_items);
    describe_orders(b, "order", st->order, st->norder);
    describe_limit(b, "limit", &st->limit_count);
    describe_limit(b, "offset", &st->limit_offset);
    if (st->insert.form) {
        static const char *const forms[] = {"", "values", "set", "select"};
        sep(b);
        bprintf(b, "form=%s", forms[st->insert.form]);
    }
    if (st->ncols) {
        sep(b);
        bprintf(b, "cols=[");
        for (unsigned i = 0; i < st->ncols; i++) {
            if (i)
                bprintf(b, ",");
            bcol(b, &st->cols[i]);
        }
        bprintf(b, "]");
    }
    if (st->insert.form == INSERT_VALUES || st->insert.form == INSERT_SET) {
        struct sql_rows_iter it;
        struct sql_row row;
        unsigned n = 0;

        sep(b);
        bprintf(b, "rows=[");
        sql_rows_begin(&it, st);
        while (sql_rows_next(&it, &row)) {
            if (n++)
                bprintf(b, ",");
            bprintf(b, "(");
            for (unsigned i = 0; i < row.nvalues; i++) {
                static const char *const vt[] = {
                    "", "", "", "", "", "NULL", "DEFAULT", "expr:"};
                if (i)
                    bprintf(b, ",");
                if (row.values[i].type >= VAL_NULL) {
                    bprintf(b, "%s", vt[row.values[i].type]);
                    if (row.values[i].type == VAL_EXPR)
                        bspan_flat(b, row.values[i].text);
                } else {
                    bvalue(b, &row.values[i]);
                }
            }
            bprintf(b, ")");
        }
        bprintf(b, "]");
        if (n != st->insert.nrows)
            bprintf(b, "!nrows=%u", st->insert.nrows);
    }
    if (st->nassigns) {
        sep(b);
        bprintf(b, "assign=[");
        for (unsigned i = 0; i < st->nassigns; i++) {
            if (i)
                bprintf(b, ",");
            if (st->assigns[i].odku)
                bprintf(b, "odku:");
            bcol(b, &st->assigns[i].col);
            bprintf(b, "=");
            bspan_flat(b, st->assigns[i].value);
        }
        bprintf(b, "]");
    }
    if (st->nsets) {
        sep(b);
        bprintf(b, "set=[");
        for (unsigned i = 0; i < st->nsets; i++) {
            const struct sql_setvar *s = &st->sets[i];
            if (i)
                bprintf(b, ",");
            bprintf(b, "%s%s:", scopes[s->scope], set_kinds[s->kind]);
            bspan_flat(b, s->name);
            bprintf(b, "=");
            bspan_flat(b, s->value);
        }
        bprintf(b, "]");
    }
    if (st->nctes) {
        sep(b);
        bprintf(b, "ctes=[");
        for (unsigned i = 0; i < st->nctes; i++) {
            if (i)
                bprintf(b, ",");
            bspan(b, st->ctes[i]);
        }
        bprintf(b, "]");
    }
    if (st->opt_hint.len) {
        sep(b);
        bprintf(b, "opt_hint");
    }
    if (b->n == 0)
        bprintf(b, "-");
}

static void
describe(const char *sql, size_t len, char *kind, char *tables, char *facts,
         size_t cap)
{
    static struct stmt_info st;
    static struct buf b;

    sql_classify(sql, len, LEX_MODE_DEFAULT, &st);
    b.n = 0;
    describe_kind(&b, &st);
    snprintf(kind, cap, "%.*s", (int)b.n, b.s);
    b.n = 0;
    describe_tables(&b, &st);
    snprintf(tables, cap, "%.*s", (int)b.n, b.s);
    b.n = 0;
    describe_facts(&b, &st);
    snprintf(facts, cap, "%.*s", (int)b.n, b.s);
}

START_TEST(test_table)
{
    FILE *f = fopen("tests/data/classify.tsv", "r");
    char line[8192];
    static char kind[16384], tables[16384], facts[16384];
    int lineno = 0, cases = 0, failures = 0;
    int print = getenv("CLASSIFY_PRINT") != NULL;

    ck_assert_msg(f != NULL, "tests/data/classify.tsv: cannot open");
    while (fgets(line, sizeof(line), f)) {
        char *cols[4] = {0};
        char *s = line;
        int n = 0;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        while (n < 4) {
            cols[n++] = s;
            s = strchr(s, '\t');
            if (s == NULL)
                break;
            *s++ = '\0';
        }
        if (print) {
            describe(cols[0], strlen(cols[0]), kind, tables, facts,
                     sizeof(kind));
            printf("%s\t%s\t%s\t%s\n", cols[0], kind, tables, facts);
            continue;
        }
        ck_assert_msg(n == 4, "classify.tsv:%d: want 4 columns, got %d", lineno,
                      n);
        describe(cols[0], strlen(cols[0]), kind, tables, facts, sizeof(kind));
        cases++;
        if (strcmp(kind, cols[1]) || strcmp(tables, cols[2]) ||
            strcmp(facts, cols[3])) {
            failures++;
            fprintf(stderr,
                    "classify.tsv:%d: %s\n  want: %s | %s | %s\n"
                    "  got:  %s | %s | %s\n",
                    lineno, cols[0], cols[1], cols[2], cols[3], kind, tables,
                    facts);
        }
    }
    fclose(f);
    if (!print) {
        ck_assert_msg(cases >= 80, "classify.tsv: only %d cases", cases);
        ck_assert_msg(failures == 0, "classify.tsv: %d of %d cases differ",
                      failures, cases);
    }
}
END_TEST

/* What describe() prints of st, all three columns in one string. */
static void
describe_all(const struct stmt_info *st, struct buf *b)
{
    b->n = 0;
    describe_kind(b, st);
    bprintf(b, " | ");
    describe_tables(b, st);
    bprintf(b, " | ");
    describe_facts(b, st);
}

/* A restored copy equals the classification it was saved from in every
 * defined field, whatever the struct held before. */
static void
check_saved_copy(const char *sql, size_t len, const char *where)
{
    static struct stmt_info a, b;
    static unsigned char copy[65536], small[64];
    static struct buf da, db;
    size_t need;

    sql_classify(sql, len, LEX_MODE_DEFAULT, &a);
    need = sql_info_save(&a, copy, sizeof(copy));
    ck_assert_msg(need <= sizeof(copy), "%s: copy of %zu bytes", where, need);
    ck_assert_msg(need < sizeof(a), "%s: copy of %zu bytes", where, need);
    memset(&b, 0x5a, sizeof(b)); /* whatever was classified before */
    sql_info_restore(copy, &b);
    describe_all(&a, &da);
    describe_all(&b, &db);
    ck_assert_msg(da.n == db.n && memcmp(da.s, db.s, da.n) == 0,
                  "%s: restored differs:\n  %.*s\n  %.*s", where, (int)da.n,
                  da.s, (int)db.n, db.s);
    ck_assert_msg(memcmp(&a, &b, offsetof(struct stmt_info, tables)) == 0,
                  "%s: scalars differ", where);
#define SAME(arr, count)                                                       \
    ck_assert_msg(memcmp(a.arr, b.arr, (size_t)(count) * sizeof(a.arr[0])) ==  \
                      0,                                                       \
                  "%s: " #arr " differ", where)
    SAME(tables, a.ntables);
    SAME(preds, a.npreds);
    SAME(values, a.nvalues);
    SAME(groups, a.ngroups + 1u);
    SAME(blocks, a.nblocks);
    SAME(sets, a.nsets);
    SAME(assigns, a.nassigns);
    SAME(items, a.nitems);
    SAME(group_items, a.ngroup_items);
    SAME(order, a.norder);
    SAME(cols, a.ncols);
    SAME(ctes, a.nctes);
#undef SAME
    /* too small a buffer: the size, and nothing written */
    memset(small, 0x77, sizeof(small));
    ck_assert_uint_eq(sql_info_save(&a, small, sizeof(small)), need);
    for (size_t i = 0; i < sizeof(small); i++)
        ck_assert_uint_eq(small[i], 0x77);
}

START_TEST(test_saved_copy)
{
    FILE *f = fopen("tests/data/classify.tsv", "r");
    static char line[8192], sql[65536], where[64];
    static struct stmt_info st;
    static unsigned char copy[65536];
    const char *point = "SELECT c FROM sbtest1 WHERE id=?";
    int lineno = 0, cases = 0;
    size_t n;

    ck_assert_msg(f != NULL, "tests/data/classify.tsv: cannot open");
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        line[strcspn(line, "\t")] = '\0';
        snprintf(where, sizeof(where), "classify.tsv:%d", lineno);
        check_saved_copy(line, strlen(line), where);
        cases++;
    }
    fclose(f);
    ck_assert_int_ge(cases, 80);
    /* full arrays: the overflow cases keep what they kept */
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM t0");
    for (int i = 1; i < 20; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", t%d", i);
    check_saved_copy(sql, n, "20 tables");
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE id IN (");
    for (int i = 0; i < 1000; i++)
        n +=
            (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%d", i ? "," : "", i);
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") AND k = ?");
    check_saved_copy(sql, n, "long IN list");
    /* what a prepared point select keeps is small */
    sql_classify(point, strlen(point), LEX_MODE_DEFAULT, &st);
    ck_assert_uint_lt(sql_info_save(&st, copy, sizeof(copy)), 1024);
}
END_TEST

/* facts of one statement */
static const char *
facts_of(const char *sql)
{
    static char kind[16384], tables[16384], facts[16384];
    describe(sql, strlen(sql), kind, tables, facts, sizeof(kind));
    return facts;
}

START_TEST(test_spans_and_positions)
{
    static struct stmt_info st;
    const char *sql = "SELECT a, COUNT(*) AS n FROM t WHERE x = ? AND y IN "
                      "(?, 3) GROUP BY a ORDER BY n DESC LIMIT ?, 10";

    ck_assert(sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st));
    ck_assert_uint_eq(st.nparams, 3);
    ck_assert_int_eq(st.where.len, strlen("WHERE x = ? AND y IN (?, 3)"));
    ck_assert(memcmp(st.group_by.p, "GROUP BY a", st.group_by.len) == 0);
    ck_assert(memcmp(st.order_by.p, "ORDER BY n DESC", st.order_by.len) == 0);
    ck_assert(memcmp(st.limit.p, "LIMIT ?, 10", st.limit.len) == 0);
    ck_assert(st.limit_offset.is_param && st.limit_offset.param == 2);
    ck_assert_uint_eq(st.limit_count.value, 10);
    ck_assert_uint_eq(st.preds[1].list_param, 1);
    ck_assert_int_eq(st.select_list.len, strlen("a, COUNT(*) AS n"));
    ck_assert_int_eq(st.items[1].agg, AGG_COUNT);
    ck_assert(memcmp(st.items[1].alias.p, "n", 1) == 0);
}
END_TEST

START_TEST(test_multi_and_stmt_len)
{
    static struct stmt_info st;
    const char *a = "SELECT 1; SELECT 2";
    const char *b = "SELECT 1 ; /* trailing */ ;; -- done\n";
    const char *c = "SELECT ';' FROM t";

    sql_classify(a, strlen(a), LEX_MODE_DEFAULT, &st);
    ck_assert(st.multi);
    ck_assert_uint_eq(st.stmt_len, 8);
    sql_classify(b, strlen(b), LEX_MODE_DEFAULT, &st);
    ck_assert(!st.multi);
    ck_assert_uint_eq(st.stmt_len, 9);
    sql_classify(c, strlen(c), LEX_MODE_DEFAULT, &st);
    ck_assert(!st.multi);
    ck_assert_uint_eq(st.stmt_len, strlen(c));
}
END_TEST

/* Words flagged wherever they stand: when the parser read every token
 * (all_read), a statement naming LOAD_FILE or ROW_COUNT as a bare word has
 * its flag, whatever the statement; a quoted name or a string is no word.
 * The gate refuses LOAD_FILE and the session rewrites ROW_COUNT() on
 * these flags alone. */
START_TEST(test_words_anywhere)
{
    static struct stmt_info st;
    static const char *const named[] = {
        "SELECT LOAD_FILE('/etc/passwd')",
        "select load_file ('/etc/passwd') AS x",
        "SELECT a FROM t WHERE b = LOAD_FILE('/x') ORDER BY a",
        "INSERT INTO t (a) VALUES (LOAD_FILE('/x'))",
        "INSERT INTO t SELECT LOAD_FILE('/x') FROM DUAL",
        "UPDATE t SET a = LOAD_FILE('/x') WHERE id = 1",
        "DELETE FROM t WHERE a = LOAD_FILE('/x')",
        "SELECT * FROM t WHERE id IN (SELECT LOAD_FILE('/x'))",
        "SELECT 1 UNION SELECT LOAD_FILE('/x')",
        "SET @a = LOAD_FILE('/x')",
        "DO LOAD_FILE('/x')",
        "CALL p(LOAD_FILE('/x'))",
        "SELECT /*! LOAD_FILE('/x') */",
        "WITH c AS (SELECT LOAD_FILE('/x')) SELECT * FROM c",
        "SELECT CASE WHEN 1 THEN LOAD_FILE('/x') END",
        "SELECT LOAD_FILE('/x'); ",
    };
    static const char *const plain[] = {
        "SELECT 'LOAD_FILE(1)'",
        "SELECT `LOAD_FILE` FROM t",
        "SELECT load_filex('/x')",
        "SELECT a FROM t -- LOAD_FILE('/x')\n",
    };

    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        sql_classify(named[i], strlen(named[i]), LEX_MODE_DEFAULT, &st);
        ck_assert_msg(!st.all_read || (st.flags & SQLF_LOAD_FILE),
                      "LOAD_FILE not flagged: %s", named[i]);
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        sql_classify(plain[i], strlen(plain[i]), LEX_MODE_DEFAULT, &st);
        ck_assert_msg(st.all_read && !(st.flags & SQLF_LOAD_FILE),
                      "flagged or not all read: %s", plain[i]);
    }
    sql_classify("SELECT LOAD_FILE('/x')", 22, LEX_MODE_DEFAULT, &st);
    ck_assert(st.all_read);
    sql_classify("INSERT INTO t VALUES (ROW_COUNT())", 34, LEX_MODE_DEFAULT,
                 &st);
    ck_assert(st.all_read && (st.flags & SQLF_ROW_COUNT));
    sql_classify("SELECT row_count FROM t", 23, LEX_MODE_DEFAULT, &st);
    ck_assert(st.flags & SQLF_ROW_COUNT);
    sql_classify("SELECT 1 FROM t", 15, LEX_MODE_DEFAULT, &st);
    ck_assert(st.all_read && !(st.flags & SQLF_ROW_COUNT));
    /* a lexing error: not all read, so the text is searched instead */
    sql_classify("SELECT 'x", 9, LEX_MODE_DEFAULT, &st);
    ck_assert(!st.all_read);
}
END_TEST

START_TEST(test_nul_bytes)
{
    static struct stmt_info st;
    const char sql[] = "SELECT * FROM t WHERE id = 1\0; DROP TABLE t";

    sql_classify(sql, sizeof(sql) - 1, LEX_MODE_DEFAULT, &st);
    ck_assert_int_eq(st.kind, STMT_SELECT);
    ck_assert(st.multi); /* the NUL does not hide the second statement */
    ck_assert_uint_eq(st.npreds, 0); /* "1 <NUL>" is not a plain literal */
}
END_TEST

START_TEST(test_empty)
{
    static struct stmt_info st;
    struct sql_rows_iter it;
    struct sql_row row;

    /* found by fuzz_sql: empty input, NULL spans in the iterators */
    ck_assert(sql_classify(NULL, 0, LEX_MODE_DEFAULT, &st));
    ck_assert_int_eq(st.kind, STMT_EMPTY);
    ck_assert(sql_classify("", 0, LEX_MODE_DEFAULT, &st));
    sql_rows_begin(&it, &st);
    ck_assert(!sql_rows_next(&it, &row));
    ck_assert(sql_classify(" -- x\n/* y */ ", 14, LEX_MODE_DEFAULT, &st));
    ck_assert_int_eq(st.kind, STMT_EMPTY);
    ck_assert(!st.multi);
}
END_TEST

START_TEST(test_lex_error)
{
    static struct stmt_info st;
    const char *sql = "SELECT * FROM t WHERE name = 'abc";

    ck_assert(!sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st));
    ck_assert(st.lex_error);
    ck_assert_int_eq(st.kind, STMT_SELECT);
    ck_assert_uint_eq(st.ntables, 1);
}
END_TEST

START_TEST(test_overflow)
{
    static struct stmt_info st;
    static char sql[65536];
    size_t n = 0;

    /* 20 tables: the first 16 kept, overflow flagged */
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "SELECT * FROM t0");
    for (int i = 1; i < 20; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", t%d", i);
    sql_classify(sql, n, LEX_MODE_DEFAULT, &st);
    ck_assert(st.overflow);
    ck_assert_uint_eq(st.ntables, SQL_MAX_TABLES);

    /* an IN list longer than the value array: truncated, still iterable */
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE id IN (");
    for (int i = 0; i < 1000; i++)
        n +=
            (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%d", i ? "," : "", i);
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") AND k = ?");
    sql_classify(sql, n, LEX_MODE_DEFAULT, &st);
    ck_assert_uint_eq(st.npreds, 1);
    ck_assert(st.preds[0].flags & PREDF_TRUNCATED);
    ck_assert_uint_eq(st.preds[0].nvalues, SQL_MAX_VALUES);
    {
        struct sql_values_iter it;
        struct sql_value v;
        int count = 0;
        int64_t last = -1;
        sql_values_begin(&it, st.preds[0].list, st.preds[0].list_param,
                         LEX_MODE_DEFAULT);
        while (sql_values_next(&it, &v)) {
            ck_assert(sql_value_int(&v, &last));
            count++;
        }
        ck_assert_int_eq(count, 1000);
        ck_assert_int_eq(last, 999);
    }
    /* the second predicate did not fit in the values: dropped */
    ck_assert(st.overflow);
}
END_TEST

START_TEST(test_insert_rows)
{
    static struct stmt_info st;
    const char *sql = "INSERT INTO orders (id, user_id, note, amount) VALUES "
                      "(1, 42, 'a''b', -5.5), (?, ?, _utf8mb4'x', DEFAULT),"
                      "(3, -7, NULL, NOW()) ON DUPLICATE KEY UPDATE amount = "
                      "VALUES(amount) + 1";
    struct sql_rows_iter it;
    struct sql_row row;
    int64_t v;
    char b[64];

    sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st);
    ck_assert_int_eq(st.insert.form, INSERT_VALUES);
    ck_assert_uint_eq(st.insert.nrows, 3);
    ck_assert_uint_eq(st.insert.ncols, 4);
    sql_rows_begin(&it, &st);
    ck_assert(sql_rows_next(&it, &row));
    ck_assert_uint_eq(row.nvalues, 4);
    ck_assert(sql_value_int(&row.values[1], &v) && v == 42);
    ck_assert_uint_eq(sql_value_bytes(&row.values[2], b, sizeof(b)), 3);
    ck_assert_str_eq(b, "a'b");
    ck_assert(row.values[3].negative && row.values[3].type == VAL_NUMBER);
    ck_assert(!sql_value_int(&row.values[3], &v)); /* 5.5 */
    ck_assert(sql_rows_next(&it, &row));
    ck_assert_int_eq(row.values[0].type, VAL_PARAM);
    ck_assert_uint_eq(row.values[1].param, 1);
    ck_assert_uint_eq(sql_value_bytes(&row.values[2], b, sizeof(b)), 1);
    ck_assert_int_eq(row.values[3].type, VAL_DEFAULT);
    ck_assert(sql_rows_next(&it, &row));
    ck_assert(sql_value_int(&row.values[1], &v) && v == -7);
    ck_assert_int_eq(row.values[2].type, VAL_NULL);
    ck_assert_int_eq(row.values[3].type, VAL_EXPR);
    ck_assert(memcmp(row.text.p, "(3, -7, NULL, NOW())", row.text.len) == 0);
    ck_assert(!sql_rows_next(&it, &row));
    ck_assert(st.flags & SQLF_ODKU);
    ck_assert_uint_eq(st.nassigns, 1);
}
END_TEST

START_TEST(test_value_decoding)
{
    struct sql_value v;
    int64_t i;
    char b[16];

    memset(&v, 0, sizeof(v));
    v.type = VAL_NUMBER;
    v.text.p = "9223372036854775807";
    v.text.len = 19;
    ck_assert(sql_value_int(&v, &i) && i == INT64_MAX);
    v.negative = true;
    v.text.p = "9223372036854775808";
    ck_assert(sql_value_int(&v, &i) && i == INT64_MIN);
    v.negative = false;
    ck_assert(!sql_value_int(&v, &i)); /* out of range */
    v.text.p = "007";
    v.text.len = 3;
    ck_assert(sql_value_int(&v, &i) && i == 7);
    v.type = VAL_HEX;
    v.text.p = "X'4142'";
    v.text.len = 7;
    ck_assert_uint_eq(sql_value_bytes(&v, b, sizeof(b)), 2);
    ck_assert_str_eq(b, "AB");
    v.text.p = "0x414";
    v.text.len = 5;
    ck_assert_uint_eq(sql_value_bytes(&v, b, sizeof(b)), 2);
    ck_assert_int_eq(b[0], 0x04);
    ck_assert_int_eq(b[1], 0x14);
    v.type = VAL_BIT;
    v.text.p = "b'1000001'";
    v.text.len = 10;
    ck_assert_uint_eq(sql_value_bytes(&v, b, sizeof(b)), 1);
    ck_assert_str_eq(b, "A");
    v.type = VAL_STRING;
    v.text.p = "'-12'";
    v.text.len = 5;
    ck_assert(sql_value_int(&v, &i) && i == -12);
    v.text.p = "_utf8mb4 'x\\ny'";
    v.text.len = 15;
    ck_assert_uint_eq(sql_value_bytes(&v, b, sizeof(b)), 3);
    ck_assert_str_eq(b, "x\ny");
}
END_TEST

START_TEST(test_or_groups)
{
    /* nested OR inside a branch is dropped from that branch only */
    ck_assert_str_eq(
        facts_of("SELECT * FROM t WHERE (a = 1 AND (b = 2 OR b = 3)) OR a = 4"),
        "g1.0:EQ(a,1) g1.1:EQ(a,4) or1=2*");
    /* XOR makes nothing certain */
    ck_assert_str_eq(facts_of("SELECT * FROM t WHERE a = 1 XOR a = 2"), "-");
    /* NOT and comparisons other than = are not key predicates */
    ck_assert_str_eq(
        facts_of("SELECT * FROM t WHERE NOT a = 1 AND b <> 2 AND c >= 3"), "-");
    /* a parenthesised expression that is not a condition */
    ck_assert_str_eq(facts_of("SELECT * FROM t WHERE (a) + 1 = 2 AND b = 1"),
                     "EQ(b,1)");
    /* BETWEEN's AND is not a conjunction */
    ck_assert_str_eq(
        facts_of("SELECT * FROM t WHERE a + 0 BETWEEN 1 AND 5 AND b = 2"),
        "EQ(b,2)");
    /* CASE ... AND ... END inside a term */
    ck_assert_str_eq(facts_of("SELECT * FROM t WHERE CASE WHEN x = 1 AND y = "
                              "2 THEN 1 END = 1 AND b = 2"),
                     "EQ(b,2)");
}
END_TEST

START_TEST(test_deep_nesting)
{
    /* deep parentheses and subqueries: bounded stack, flagged overflow */
    static char sql[400000];
    static struct stmt_info st;
    size_t n = 0;
    int depth = 100000;

    n += (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE ");
    memset(sql + n, '(', (size_t)depth);
    n += (size_t)depth;
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "a = 1");
    memset(sql + n, ')', (size_t)depth);
    n += (size_t)depth;
    sql_classify(sql, n, LEX_MODE_DEFAULT, &st);
    ck_assert_int_eq(st.kind, STMT_SELECT);
    ck_assert(st.overflow);

    n = (size_t)snprintf(sql, sizeof(sql), "SELECT * FROM t WHERE a IN ");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              "(SELECT b FROM u%d "
                              "WHERE b IN ",
                              i);
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "(1)");
    for (int i = 0; i < 5000; i++)
        sql[n++] = ')';
    sql_classify(sql, n, LEX_MODE_DEFAULT, &st);
    ck_assert(st.overflow);
    ck_assert_uint_le(st.nblocks, SQL_MAX_BLOCKS);

    /* nested statements: SET STATEMENT ... FOR SET STATEMENT ... */
    n = 0;
    for (int i = 0; i < 10000; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              "SET STATEMENT a=1 FOR ");
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "SELECT 1");
    sql_classify(sql, n, LEX_MODE_DEFAULT, &st);
    ck_assert(st.overflow);
}
END_TEST

START_TEST(test_huge_statement)
{
    /* 1 MB: a bulk INSERT, linear time */
    size_t cap = 1u << 20, n = 0;
    char *sql = malloc(cap + 64);
    static struct stmt_info st;
    struct sql_rows_iter it;
    struct sql_row row;
    unsigned rows = 0;
    clock_t t0;
    double secs;

    ck_assert_ptr_nonnull(sql);
    n += (size_t)snprintf(sql, cap, "INSERT INTO t (id, v) VALUES ");
    while (n + 40 < cap)
        n += (size_t)snprintf(sql + n, cap - n, "%s(%u, 'value %u')",
                              rows ? "," : "", rows, rows),
            rows++;
    t0 = clock();
    ck_assert(sql_classify(sql, n, LEX_MODE_DEFAULT, &st));
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_uint_eq(st.insert.nrows, rows);
    sql_rows_begin(&it, &st);
    unsigned seen = 0;
    while (sql_rows_next(&it, &row))
        seen++;
    ck_assert_uint_eq(seen, rows);
    ck_assert_msg(secs < 2.0, "1 MB classify took %.3f s", secs);
    free(sql);
}
END_TEST

START_TEST(test_timing)
{
    /* a typical point select: the best of many batches, reported; checked
     * loosely (the sanitizer build is several times slower than release,
     * and the machine may be shared) */
    const char *sql = "SELECT c, pad FROM sbtest1 WHERE id = 4242 AND k IN "
                      "(1, 2, 3) /* myshard: replica */ ORDER BY id LIMIT 10";
    static struct stmt_info st;
    double best = 1e18;

    for (int r = 0; r < 50; r++) {
        struct timespec a, b;
        double ns;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < 1000; i++)
            sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
              (double)(b.tv_nsec - a.tv_nsec)) /
             1000;
        if (ns < best)
            best = ns;
    }
    fprintf(stderr, "classify: %zu-byte SELECT: %.0f ns (best batch)\n",
            strlen(sql), best);
    ck_assert_uint_eq(st.npreds, 2);
    ck_assert_msg(best < 50000, "classify took %.0f ns", best);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("classify");
    TCase *tc = tcase_create("classify");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_spans_and_positions);
    tcase_add_test(tc, test_multi_and_stmt_len);
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_lex_error);
    tcase_add_test(tc, test_overflow);
    tcase_add_test(tc, test_insert_rows);
    tcase_add_test(tc, test_value_decoding);
    tcase_add_test(tc, test_or_groups);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_huge_statement);
    tcase_add_test(tc, test_timing);
    tcase_add_test(tc, test_words_anywhere);
    tcase_add_test(tc, test_saved_copy);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
