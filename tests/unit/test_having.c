/*
 * test_having.c - result/having.c: HAVING programs run on one merged row,
 * with MariaDB's answers (checked against a server by hand and by
 * itest_merge2): three-valued logic, exact decimals and the server's
 * division, BIGINT range errors, collation-aware string comparison,
 * BETWEEN and IN with NULLs, and the refusals (non-ASCII text in a
 * case-insensitive collation, dates, strings that are not numbers).
 *
 * Programs are written in postfix here: c<N> a column, numbers, 'text',
 * NULL, and the operators = <> < <= > >= <=> AND OR XOR NOT + - * / NEG
 * ISNULL ISNOTNULL BETWEEN IN<n>.
 */
#include "result/having.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"

#include "coldef_helper.h"

#define NC 7

/* c0 BIGINT, c1 DECIMAL(,2), c2 DOUBLE, c3 VARCHAR utf8mb4_general_ci,
 * c4 VARBINARY, c5 INT UNSIGNED, c6 DATE */
static struct column cols[NC];
static struct binproto_value vals[NC];
static char vbuf[NC][64];

static void
setup(void)
{
    cols[0] = make_column(MYSQL_TYPE_LONGLONG, 63, 0, 0);
    cols[1] = make_column(MYSQL_TYPE_NEWDECIMAL, 63, 0, 2);
    cols[2] = make_column(MYSQL_TYPE_DOUBLE, 63, 0, 31);
    cols[3] = make_column(MYSQL_TYPE_VAR_STRING, 45, 0, 0);
    cols[4] = make_column(MYSQL_TYPE_VAR_STRING, 63, BINARY_FLAG, 0);
    cols[5] = make_column(MYSQL_TYPE_LONG, 63, UNSIGNED_FLAG, 0);
    cols[6] = make_column(MYSQL_TYPE_DATE, 63, 0, 0);
}

/* Text row "v|v|\N|..." into vals. */
static void
row(const char *csv)
{
    const char *p = csv;

    for (int c = 0; c < NC; c++) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        memset(&vals[c], 0, sizeof(vals[c]));
        vals[c].type = cols[c].type;
        memcpy(vbuf[c], p, n);
        vbuf[c][n] = '\0';
        if (strcmp(vbuf[c], "\\N") == 0) {
            vals[c].is_null = true;
        } else {
            vals[c].str = (const uint8_t *)vbuf[c];
            vals[c].len = n;
        }
        p = e ? e + 1 : p + n;
    }
}

static void
lit(struct expr_prog *p, uint8_t op, const char *s, size_t n)
{
    struct expr_node *nd = &p->nodes[p->n++];

    nd->op = op;
    nd->off = p->text_len;
    nd->len = (uint16_t)n;
    memcpy(p->text + p->text_len, s, n);
    p->text_len = (uint16_t)(p->text_len + n);
}

static void
compile(const char *src, struct expr_prog *p)
{
    static const struct {
        const char *w;
        uint8_t op;
    } ops[] = {{"=", EXPR_EQ},           {"<>", EXPR_NE},
               {"<", EXPR_LT},           {"<=", EXPR_LE},
               {">", EXPR_GT},           {">=", EXPR_GE},
               {"<=>", EXPR_NSEQ},       {"AND", EXPR_AND},
               {"OR", EXPR_OR},          {"XOR", EXPR_XOR},
               {"NOT", EXPR_NOT},        {"+", EXPR_ADD},
               {"-", EXPR_SUB},          {"*", EXPR_MUL},
               {"/", EXPR_DIV},          {"NEG", EXPR_NEG},
               {"ISNULL", EXPR_ISNULL},  {"ISNOTNULL", EXPR_ISNOTNULL},
               {"BETWEEN", EXPR_BETWEEN}};
    char buf[512], *save = NULL;

    memset(p, 0, sizeof(*p));
    snprintf(buf, sizeof(buf), "%s", src);
    for (char *w = strtok_r(buf, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
        bool done = false;
        for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            if (strcmp(w, ops[i].w) == 0) {
                p->nodes[p->n].op = ops[i].op;
                p->nodes[p->n++].n = ops[i].op == EXPR_BETWEEN ? 3 : 0;
                done = true;
            }
        }
        if (done)
            continue;
        if (strncmp(w, "IN", 2) == 0) {
            p->nodes[p->n].op = EXPR_IN;
            p->nodes[p->n++].n = (uint8_t)atoi(w + 2);
        } else if (w[0] == 'c') {
            p->nodes[p->n].op = EXPR_COL;
            p->nodes[p->n++].col = (int16_t)atoi(w + 1);
        } else if (strcmp(w, "NULL") == 0) {
            p->nodes[p->n++].op = EXPR_NULL;
        } else if (w[0] == '\'') {
            /* '_' stands for a space inside a quoted word */
            size_t n = strlen(w) - 2;
            for (size_t k = 1; k <= n; k++)
                if (w[k] == '_')
                    w[k] = ' ';
            lit(p, EXPR_STR, w + 1, n);
        } else if (strchr(w, 'e')) {
            lit(p, EXPR_DBL, w, strlen(w));
        } else if (strchr(w, '.')) {
            lit(p, EXPR_DEC, w, strlen(w));
        } else {
            lit(p, EXPR_INT, w, strlen(w));
        }
    }
}

static enum having_result
run(const char *src, char *err)
{
    struct expr_prog p;

    compile(src, &p);
    return having_eval(&p, cols, NC, false, vals, err, 256);
}

static void
expect(const char *src, enum having_result want)
{
    char err[256] = "";
    enum having_result got = run(src, err);

    ck_assert_msg(got == want, "%s: got %d want %d (%s)", src, (int)got,
                  (int)want, err);
}

START_TEST(test_compare_null)
{
    row("6|10.10|0.5|a|a|3|2024-01-01");
    expect("c0 5 >", HAVING_TRUE);
    expect("c0 6 >", HAVING_FALSE);
    expect("c0 NULL =", HAVING_FALSE);
    expect("c0 NULL = NOT", HAVING_FALSE);
    expect("NULL NULL <=>", HAVING_TRUE);
    expect("c1 NULL <=>", HAVING_FALSE);
    expect("c0 NULL = 1 1 = OR", HAVING_TRUE);
    expect("NULL 1 = 0 1 = AND NOT", HAVING_TRUE);
    expect("NULL 1 = 1 1 = AND", HAVING_FALSE);
    expect("1 0 XOR", HAVING_TRUE);
    expect("1 NULL XOR ISNULL", HAVING_TRUE);
    expect("c0 ISNOTNULL", HAVING_TRUE);
    expect("c6 ISNULL", HAVING_FALSE);
    row("\\N|\\N|\\N|\\N|\\N|\\N|\\N");
    expect("c0 5 >", HAVING_FALSE);
    expect("c0 5 > NOT", HAVING_FALSE);
    expect("c1 ISNULL c6 ISNULL AND", HAVING_TRUE);
    expect("c0 1 + ISNULL", HAVING_TRUE);
}
END_TEST

START_TEST(test_numbers)
{
    row("6|10.10|0.5|a|a|3|2024-01-01");
    expect("c1 10.1 =", HAVING_TRUE);
    expect("c1 10.100 =", HAVING_TRUE);
    expect("c1 10.11 <", HAVING_TRUE);
    expect("c1 3 * 30.30 =", HAVING_TRUE);
    expect("c1 c0 - 4.1 =", HAVING_TRUE);
    expect("c0 NEG -6 =", HAVING_TRUE);
    expect("c2 0.5 =", HAVING_TRUE);
    expect("c2 5e-1 =", HAVING_TRUE);
    expect("c2 c0 * 3 =", HAVING_TRUE);
    /* the server's division: scale + 4, 9-digit words truncated */
    expect("1 3 / 0.3333 =", HAVING_TRUE);
    expect("2 3 / 0.6667 =", HAVING_TRUE);
    expect("2.00000 3 / 0.666666666 =", HAVING_TRUE);
    expect("2.0000 3.0 / 0.66666667 =", HAVING_TRUE);
    expect("2.00000 3.0 / 0.666666667 =", HAVING_TRUE);
    expect("c1 4 / 2.525000 =", HAVING_TRUE);
    expect("-7 2 / -3.5 =", HAVING_TRUE);
    expect("c0 0 / ISNULL", HAVING_TRUE);
    expect("c2 0 / ISNULL", HAVING_TRUE);
    /* strings against numbers: as doubles, when the string is a number */
    expect("c0 '5' >", HAVING_TRUE);
    expect("c0 '6.0' =", HAVING_TRUE);
    expect("c0 'x' =", HAVING_ERROR);
}
END_TEST

START_TEST(test_ranges)
{
    char err[256];

    row("9223372036854775807|1|1|a|a|3|2024-01-01");
    expect("c0 0 + c0 =", HAVING_TRUE);
    ck_assert_int_eq(run("c0 1 + 0 >", err), HAVING_ERROR);
    ck_assert_msg(strstr(err, "BIGINT value is out of range") != NULL, "%s",
                  err);
    expect("c0 2 * 0 >", HAVING_ERROR);
    expect("c1 c0 + 0 >", HAVING_TRUE); /* DECIMAL: no BIGINT limit */
    ck_assert_int_eq(run("c5 10 - 0 <", err), HAVING_ERROR);
    ck_assert_msg(strstr(err, "UNSIGNED") != NULL, "%s", err);
    expect("c5 2 * 6 =", HAVING_TRUE);
}
END_TEST

START_TEST(test_strings)
{
    row("6|10.10|0.5|a|a|3|2024-01-01");
    expect("c3 'A' =", HAVING_TRUE);
    expect("c3 'a__' =", HAVING_TRUE); /* PAD SPACE */
    expect("c3 'B' <", HAVING_TRUE);
    expect("c3 '[' <", HAVING_TRUE);  /* folded: 'A' (0x41) < '[' (0x5B) */
    expect("c4 'A' =", HAVING_FALSE); /* bytes */
    expect("c4 'a' =", HAVING_TRUE);
    expect("'a' 'A' =", HAVING_ERROR); /* no collation known */
    expect("c3 c4 =", HAVING_ERROR);   /* two collations */
    expect("c3 1 +", HAVING_ERROR);
    expect("c6 '2024-01-01' =", HAVING_ERROR);
    row("6|10.10|0.5|\xc3\xa9|a|3|2024-01-01");
    expect("c3 'e' =", HAVING_ERROR); /* accents: not the proxy's to know */
    expect("c3 ISNOTNULL", HAVING_TRUE);
}
END_TEST

START_TEST(test_between_in)
{
    row("6|10.10|0.5|a|a|3|2024-01-01");
    expect("c0 1 10 BETWEEN", HAVING_TRUE);
    expect("c0 7 10 BETWEEN", HAVING_FALSE);
    expect("c0 7 10 BETWEEN NOT", HAVING_TRUE);
    expect("c0 NULL 10 BETWEEN", HAVING_FALSE);
    expect("c0 NULL 10 BETWEEN ISNULL", HAVING_TRUE);
    expect("c0 NULL 5 BETWEEN NOT", HAVING_TRUE); /* NULL AND 0 is 0 */
    expect("c0 1 6 IN3", HAVING_TRUE);
    expect("c0 1 NULL IN3", HAVING_FALSE);
    expect("c0 1 NULL IN3 ISNULL", HAVING_TRUE);
    expect("c0 1 NULL 6 IN4", HAVING_TRUE);
    expect("c0 1 2 IN3 NOT", HAVING_TRUE);
    expect("NULL 1 2 IN3 ISNULL", HAVING_TRUE);
    expect("c3 'x' 'A__' IN3", HAVING_TRUE);
    expect("c1 10.1 IN2", HAVING_TRUE);
}
END_TEST

START_TEST(test_malformed)
{
    struct expr_prog p;
    char err[256];

    row("6|10.10|0.5|a|a|3|2024-01-01");
    expect("c0 5", HAVING_ERROR);
    expect(">", HAVING_ERROR);
    compile("c9 1 =", &p);
    ck_assert_int_eq(having_eval(&p, cols, NC, false, vals, err, sizeof(err)),
                     HAVING_ERROR);
}
END_TEST

/* Binary-protocol values: integers and doubles typed, decimals as text. */
START_TEST(test_binary)
{
    struct expr_prog p;
    char err[256];

    memset(vals, 0, sizeof(vals));
    vals[0].type = MYSQL_TYPE_LONGLONG;
    vals[0].i64 = 6;
    vals[1].type = MYSQL_TYPE_NEWDECIMAL;
    vals[1].str = (const uint8_t *)"10.10";
    vals[1].len = 5;
    vals[2].type = MYSQL_TYPE_DOUBLE;
    vals[2].f64 = 0.5;
    for (int c = 3; c < NC; c++)
        vals[c].is_null = true;
    compile("c0 6 = c1 10.1 = AND c2 0.5 = AND", &p);
    ck_assert_int_eq(having_eval(&p, cols, NC, true, vals, err, sizeof(err)),
                     HAVING_TRUE);
}
END_TEST

static Suite *
having_suite(void)
{
    Suite *s = suite_create("having");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_compare_null);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_between_in);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_binary);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(having_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
