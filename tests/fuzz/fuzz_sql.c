/*
 * fuzz_sql.c - libFuzzer target for the sql layer: lexes, classifies and
 * digests arbitrary bytes and checks the invariants the rest of the proxy
 * relies on (tokens inside the input and in order, every span of a
 * stmt_info inside the statement, counts within capacity, row and value
 * iterators terminating, digests the same whatever the output buffer),
 * under every sql_mode flag and client charset the lexer models.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       src/sql/{keyword,lexer,classify*,predicates,digest}.c \
 *       tests/fuzz/fuzz_sql.c -o fuzz_sql
 *   ./fuzz_sql -dict=tests/fuzz/sql.dict -max_total_time=60 CORPUS_DIR
 */
#include "sql/classify.h"
#include "sql/digest.h"
#include "sql/lexer.h"
#include "sql/predicates.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

static const char *base;
static size_t base_len;
static struct lex_mode fmode; /* the mode this input is lexed under */

static void
check_span(struct sql_span s)
{
    if (s.len == 0)
        return;
    CHECK(s.p >= base && s.p + s.len <= base + base_len);
}

static void
check_col(const struct sql_colref *c)
{
    check_span(c->schema);
    check_span(c->table);
    check_span(c->column);
}

static void
check_value(const struct sql_value *v)
{
    char buf[32];
    int64_t i;

    check_span(v->text);
    (void)sql_value_int(v, &i);
    (void)sql_value_bytes(v, buf, sizeof(buf));
}

static void
fuzz_lexer(const char *sql, size_t len)
{
    struct lexer lx;
    struct token t;
    const char *prev_end = sql;
    bool error = false;
    char buf[16];

    lexer_init(&lx, sql, len, fmode);
    while (lexer_next(&lx, &t)) {
        CHECK(!error); /* nothing after an error */
        CHECK(t.p >= prev_end && t.p + t.len <= sql + len);
        CHECK(t.len > 0 || t.type == TOK_ERROR);
        CHECK(t.intro_len <= t.len);
        prev_end = t.p + t.len;
        if (t.type == TOK_ERROR)
            error = true;
        if (t.type == TOK_QIDENT || t.type == TOK_STRING ||
            t.type == TOK_USERVAR)
            CHECK(lexer_unquote(t.p, t.len, fmode, buf, sizeof(buf)) <= t.len);
        (void)tok_is(&t, "select");
    }
}

static void
fuzz_classify(const char *sql, size_t len)
{
    static struct stmt_info st;
    struct sql_rows_iter rows;
    struct sql_row row;
    unsigned n = 0;

    base = sql;
    base_len = len;
    (void)sql_classify(sql, len, fmode, &st);
    CHECK(st.kind < STMT__COUNT);
    CHECK(st.stmt_len <= len);
    CHECK(st.ntables <= SQL_MAX_TABLES && st.npreds <= SQL_MAX_PREDS &&
          st.nvalues <= SQL_MAX_VALUES && st.ngroups <= SQL_MAX_GROUPS &&
          st.nblocks <= SQL_MAX_BLOCKS && st.nsets <= SQL_MAX_SETS &&
          st.nassigns <= SQL_MAX_ASSIGN && st.nitems <= SQL_MAX_ITEMS &&
          st.ngroup_items <= SQL_MAX_ORDER && st.norder <= SQL_MAX_ORDER &&
          st.ncols <= SQL_MAX_COLS && st.nctes <= SQL_MAX_CTES);
    CHECK(st.nblocks >= 1);
    for (unsigned i = 0; i < st.ntables; i++) {
        check_span(st.tables[i].schema);
        check_span(st.tables[i].name);
        check_span(st.tables[i].alias);
        CHECK(st.tables[i].block < st.nblocks);
    }
    for (unsigned i = 0; i < st.npreds; i++) {
        const struct sql_pred *p = &st.preds[i];
        struct sql_values_iter it;
        struct sql_value v;

        check_col(&p->col);
        check_col(&p->col2);
        check_span(p->list);
        CHECK(p->block < st.nblocks);
        CHECK(p->group <= st.ngroups);
        CHECK(p->group == 0 || p->branch < st.groups[p->group].nbranches);
        CHECK((unsigned)p->vfirst + p->nvalues <= st.nvalues);
        for (unsigned v2 = 0; v2 < p->nvalues; v2++)
            check_value(&st.values[p->vfirst + v2]);
        if (p->op == PRED_IN) {
            unsigned count = 0;
            sql_values_begin(&it, p->list, p->list_param, fmode);
            while (sql_values_next(&it, &v)) {
                check_value(&v);
                CHECK(++count <= len);
            }
            CHECK(count >= p->nvalues);
        }
    }
    for (unsigned g = 1; g <= st.ngroups; g++)
        CHECK(st.groups[g].block < st.nblocks);
    for (unsigned i = 1; i < st.nblocks; i++)
        CHECK(st.blocks[i].parent < i);
    for (unsigned i = 0; i < st.nsets; i++) {
        check_span(st.sets[i].name);
        check_span(st.sets[i].value);
    }
    for (unsigned i = 0; i < st.nassigns; i++) {
        check_col(&st.assigns[i].col);
        check_span(st.assigns[i].value);
    }
    for (unsigned i = 0; i < st.nitems; i++) {
        check_span(st.items[i].expr);
        check_span(st.items[i].alias);
        check_span(st.items[i].arg);
    }
    for (unsigned i = 0; i < st.norder; i++)
        check_span(st.order[i].expr);
    for (unsigned i = 0; i < st.ngroup_items; i++)
        check_span(st.group_items[i].expr);
    for (unsigned i = 0; i < st.ncols; i++)
        check_col(&st.cols[i]);
    for (unsigned i = 0; i < st.nctes; i++)
        check_span(st.ctes[i]);
    check_span(st.schema);
    check_span(st.object);
    check_span(st.text);
    check_span(st.hint.shard);
    check_span(st.hint.text);
    check_span(st.opt_hint);
    check_span(st.show.word);
    check_span(st.show.like);
    check_span(st.show.where);
    check_span(st.select_list);
    check_span(st.from);
    check_span(st.where);
    check_span(st.group_by);
    check_span(st.having);
    check_span(st.order_by);
    check_span(st.limit);
    check_span(st.locking);
    check_span(st.insert.values);
    check_span(st.insert.odku);
    sql_rows_begin(&rows, &st);
    while (sql_rows_next(&rows, &row)) {
        check_span(row.text);
        CHECK(row.nvalues <= SQL_MAX_COLS);
        for (unsigned i = 0; i < row.nvalues; i++)
            check_value(&row.values[i]);
        CHECK(++n <= len);
    }
}

static void
fuzz_digest(const char *sql, size_t len)
{
    static char big[1 << 16];
    char small[24];
    size_t a = digest_make(sql, len, fmode, big, sizeof(big));
    size_t b = digest_make(sql, len, fmode, small, sizeof(small));

    CHECK(a == b);
    CHECK(a <= 2 * len + 8); /* ' ?' per byte at most */
    if (a < sizeof(big)) {
        size_t keep = a < sizeof(small) - 1 ? a : sizeof(small) - 1;
        CHECK(memcmp(big, small, keep) == 0);
        CHECK(small[keep] == '\0');
        (void)digest_hash(big, a);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so that any read past the end is caught */
    char *sql = malloc(size ? size : 1);

    if (sql == NULL)
        return 0;
    if (size)
        memcpy(sql, data, size);
    /* every sql_mode flag and charset: the mode is a hash of the input,
     * so each input keeps its meaning and seeds stay valid SQL */
    {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < size; i++)
            h = (h ^ (uint8_t)data[i]) * 16777619u;
        fmode.flags = (uint8_t)(h & 7u);
        fmode.charset = (uint8_t)((h >> 3) % (LEXCS_SJIS + 1));
    }
    fuzz_lexer(sql, size);
    fuzz_classify(sql, size);
    fuzz_digest(sql, size);
    free(sql);
    return 0;
}
