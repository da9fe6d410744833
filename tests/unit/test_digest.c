/*
 * test_digest.c - digest_make(, LEX_MODE_DEFAULT) against tests/data/digest.tsv
 * (SQL <TAB> digest; '#' lines and blank lines skipped), plus truncation, NUL
 * bytes, stability across case, blanks and comments, 1 MB inputs, and the
 * FNV-1a helper, and the classifier's statement shape (stmt_info.shape),
 * which stands for the digest: one shape, one digest. Set DIGEST_PRINT=1 to
 * print actual digests instead of checking.
 */
#include "sql/digest.h"

#include <check.h>
#include "sql/classify.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *
dg(const char *sql)
{
    static char out[4096];
    size_t n =
        digest_make(sql, strlen(sql), LEX_MODE_DEFAULT, out, sizeof(out));

    ck_assert_uint_lt(n, sizeof(out));
    ck_assert_uint_eq(strlen(out), n);
    return out;
}

static uint64_t
shape(const char *sql)
{
    static struct stmt_info *st;

    if (st == NULL)
        st = calloc(1, sizeof(*st));
    sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, st);
    return st->shape;
}

/* Statements of one shape have one digest: every pair of digest.tsv's
 * statements and their variants with other digits (other literal values,
 * and other names where a name holds a digit) that share a shape shares
 * a digest; and literal values alone never change a shape. */
START_TEST(test_shape_stands_for_digest)
{
    FILE *f = fopen("tests/data/digest.tsv", "r");
    static char sql[400][512], dig[400][512];
    static uint64_t sh[400];
    char line[4096];
    int n = 0, shaped = 0;

    ck_assert_msg(f != NULL, "tests/data/digest.tsv: cannot open");
    while (fgets(line, sizeof(line), f) != NULL && n + 3 <= 400) {
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || tab == NULL || tab - line >= 500)
            continue;
        *tab = 0;
        for (int v = 0; v < 3; v++, n++) {
            memcpy(sql[n], line, (size_t)(tab - line) + 1);
            for (char *c = sql[n]; *c; c++)
                if (*c >= '0' && *c <= '9')
                    *c = (char)('0' + (*c - '0' + 3 * v) % 10);
            snprintf(dig[n], sizeof(dig[n]), "%.511s", dg(sql[n]));
            sh[n] = shape(sql[n]);
            shaped += sh[n] != 0;
        }
    }
    fclose(f);
    ck_assert_int_ge(shaped, 100);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (sh[i] != 0 && sh[i] == sh[j])
                ck_assert_msg(strcmp(dig[i], dig[j]) == 0,
                              "one shape, two digests:\n  %s\n  %s", sql[i],
                              sql[j]);

    ck_assert_uint_ne(shape("SELECT c FROM sbtest1 WHERE id=42"), 0);
    ck_assert_uint_eq(shape("SELECT c FROM sbtest1 WHERE id=42"),
                      shape("SELECT c FROM sbtest1 WHERE id=7"));
    ck_assert_uint_eq(shape("SELECT c FROM t WHERE id IN (1, 2) AND s='a'"),
                      shape("SELECT c FROM t WHERE id IN (9, 8) AND s='bb'"));
    ck_assert_uint_ne(shape("SELECT c FROM t WHERE id = 1"),
                      shape("SELECT c FROM t WHERE id = '1'"));
    ck_assert_uint_ne(shape("SELECT c FROM t WHERE id = 1"),
                      shape("SELECT c FROM u WHERE id = 1"));
    ck_assert_uint_ne(shape("SELECT c FROM t WHERE id = 1"),
                      shape("SELECT c FROM t WHERE id = -1"));
    /* not every token read: no shape */
    ck_assert_uint_eq(shape("SELECT 1; SELECT 2"), 0);
    ck_assert_uint_eq(shape("SELECT 1;"), 0);
    ck_assert_uint_eq(shape("SELECT 'open"), 0);
}
END_TEST

START_TEST(test_table)
{
    FILE *f = fopen("tests/data/digest.tsv", "r");
    char line[8192];
    int lineno = 0, cases = 0, failures = 0;
    int print = getenv("DIGEST_PRINT") != NULL;

    ck_assert_msg(f != NULL, "tests/data/digest.tsv: cannot open");
    while (fgets(line, sizeof(line), f)) {
        char *tab;
        const char *got;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        tab = strchr(line, '\t');
        if (tab)
            *tab++ = '\0';
        got = dg(line);
        if (print) {
            printf("%s\t%s\n", line, got);
            continue;
        }
        ck_assert_msg(tab != NULL, "digest.tsv:%d: no TAB", lineno);
        cases++;
        if (strcmp(got, tab) != 0) {
            failures++;
            fprintf(stderr, "digest.tsv:%d: %s\n  want: %s\n  got:  %s\n",
                    lineno, line, tab, got);
        }
    }
    fclose(f);
    if (!print) {
        ck_assert_msg(cases >= 40, "digest.tsv: only %d cases", cases);
        ck_assert_msg(failures == 0, "digest.tsv: %d of %d differ", failures,
                      cases);
    }
}
END_TEST

START_TEST(test_product_example)
{
    ck_assert_str_eq(dg("select *  from products where id=42 /* x */"),
                     "SELECT * FROM products WHERE id = ?");
}
END_TEST

START_TEST(test_same_digest)
{
    /* statements that differ in literals, case, blanks and comments */
    static const char *const same[] = {
        "SELECT * FROM orders WHERE user_id = 1",
        "select * from orders where user_id=2",
        "SELECT\n\t*\nFROM orders -- c\nWHERE user_id = 'x' /* c */",
        "/* myshard: primary */ SELECT * FROM orders WHERE user_id = ?",
        "SELECT /*+ hint */ * FROM orders WHERE user_id = -3;",
        "SELECT * FROM `orders` WHERE `user_id` = 0x01",
    };
    char first[256];

    snprintf(first, sizeof(first), "%s", dg(same[0]));
    ck_assert_str_eq(first, "SELECT * FROM orders WHERE user_id = ?");
    for (size_t i = 1; i < sizeof(same) / sizeof(same[0]); i++)
        ck_assert_msg(strcmp(dg(same[i]), first) == 0, "%s -> %s", same[i],
                      dg(same[i]));
    /* IN lists of any length share one digest */
    ck_assert_str_eq(dg("SELECT a FROM t WHERE b IN (1)"),
                     dg("SELECT a FROM t WHERE b IN (1, 2, 3, 'x', ?, -4)"));
}
END_TEST

START_TEST(test_truncation)
{
    const char *sql = "SELECT abc FROM t WHERE x = 1";
    char out[8];
    size_t full = strlen("SELECT abc FROM t WHERE x = ?");

    ck_assert_uint_eq(
        digest_make(sql, strlen(sql), LEX_MODE_DEFAULT, out, sizeof(out)),
        full);
    ck_assert_str_eq(out, "SELECT ");
    ck_assert_uint_eq(digest_make(sql, strlen(sql), LEX_MODE_DEFAULT, NULL, 0),
                      full);
    ck_assert_uint_eq(digest_make(sql, strlen(sql), LEX_MODE_DEFAULT, out, 1),
                      full);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(digest_make("", 0, LEX_MODE_DEFAULT, out, sizeof(out)),
                      0);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(
        digest_make("-- only\n/* c */", 15, LEX_MODE_DEFAULT, out, sizeof(out)),
        0);
    /* the digest stops at a lexical error */
    ck_assert_str_eq(dg("SELECT a FROM t WHERE b = 'open"),
                     "SELECT a FROM t WHERE b =");
}
END_TEST

START_TEST(test_nul_bytes)
{
    const char sql[] = "SELECT 'a\0b' FROM t\0WHERE x = 1";
    const char want[] = "SELECT ? FROM t \0 WHERE x = ?";
    char out[128];
    size_t n =
        digest_make(sql, sizeof(sql) - 1, LEX_MODE_DEFAULT, out, sizeof(out));

    /* a NUL byte is an operator-like token: kept, never an end */
    ck_assert_uint_eq(n, sizeof(want) - 1);
    ck_assert(memcmp(out, want, n) == 0);
}
END_TEST

START_TEST(test_one_megabyte)
{
    size_t len = 1u << 20, n = 0;
    char *sql = malloc(len + 64);
    static char out[4096];
    clock_t t0;
    double s;
    size_t d;

    ck_assert_ptr_nonnull(sql);
    n += (size_t)snprintf(sql, len, "SELECT * FROM t WHERE id IN (");
    while (n + 16 < len)
        n += (size_t)snprintf(sql + n, len - n, "%zu, ", n);
    n += (size_t)snprintf(sql + n, len + 64 - n, "1)");
    t0 = clock();
    d = digest_make(sql, n, LEX_MODE_DEFAULT, out, sizeof(out));
    s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_str_eq(out, "SELECT * FROM t WHERE id IN (?)");
    ck_assert_uint_eq(d, strlen(out));
    ck_assert_msg(s < 2.0, "1 MB IN list: %.3f s", s);

    /* 1 MB of unary minus signs before a number */
    memset(sql, '-', len);
    memcpy(sql, "SELECT ", 7);
    for (size_t i = 7; i + 1 < len; i += 2)
        sql[i] = ' ';
    sql[len - 1] = '1';
    t0 = clock();
    digest_make(sql, len, LEX_MODE_DEFAULT, out, sizeof(out));
    s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_str_eq(out, "SELECT ?");
    ck_assert_msg(s < 2.0, "1 MB of signs: %.3f s", s);
    free(sql);
}
END_TEST

START_TEST(test_hash)
{
    /* FNV-1a 64 reference values */
    ck_assert_uint_eq(digest_hash("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(digest_hash("a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(digest_hash("foobar", 6), 0x85944171f73967e8ull);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("digest");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_product_example);
    tcase_add_test(tc, test_same_digest);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_one_megabyte);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_shape_stands_for_digest);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
