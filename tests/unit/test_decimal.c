/*
 * test_decimal.c - result/decimal.c from tables: parsing (what is a number
 * and what is not), exact addition with carries, borrows and sign changes,
 * division with rounding half away from zero, the digit limits, and the
 * comparison of DECIMAL text.
 */
#include "result/decimal.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define S(x) (const uint8_t *)(x), strlen(x)

static const struct {
    const char *in;
    const char *out; /* NULL: rejected */
} parse_cases[] = {
    {"0", "0"},
    {"-0", "0"},
    {"-0.00", "0.00"},
    {"007", "7"},
    {"+12.50", "12.50"},
    {"  -3.25 ", "-3.25"},
    {".5", "0.5"},
    {"5.", "5"},
    {"", NULL},
    {"-", NULL},
    {".", NULL},
    {"1e5", NULL},
    {"1,5", NULL},
    {"1 2", NULL},
    {"0.000000000000000000000000000000000000001", NULL}, /* 39 decimals */
};

START_TEST(test_parse_table)
{
    struct dec x;
    char out[DEC_TEXT_MAX];
    bool ok = dec_parse(S(parse_cases[_i].in), &x);

    ck_assert_msg(ok == (parse_cases[_i].out != NULL), "'%s'",
                  parse_cases[_i].in);
    if (!ok)
        return;
    dec_format(&x, out);
    ck_assert_str_eq(out, parse_cases[_i].out);
}
END_TEST

static const struct {
    const char *a, *b, *sum;
} add_cases[] = {
    {"1", "2", "3"},
    {"999", "1", "1000"},
    {"1.5", "2.25", "3.75"},
    {"-1.5", "2.25", "0.75"},
    {"1.5", "-2.25", "-0.75"},
    {"-1", "-2", "-3"},
    {"5", "-5", "0"},
    {"0.10", "0.2", "0.30"},
    {"18446744073709551615", "1", "18446744073709551616"},
};

START_TEST(test_add_table)
{
    struct dec a, b;
    char out[DEC_TEXT_MAX];

    ck_assert(dec_parse(S(add_cases[_i].a), &a));
    ck_assert(dec_parse(S(add_cases[_i].b), &b));
    ck_assert(dec_add(&a, &b));
    dec_format(&a, out);
    ck_assert_str_eq(out, add_cases[_i].sum);
}
END_TEST

START_TEST(test_add_overflow)
{
    char big[DEC_MAX_DIGITS + 2];
    struct dec a, b, keep;

    memset(big, '9', DEC_MAX_DIGITS + 1);
    big[DEC_MAX_DIGITS + 1] = '\0';
    ck_assert(!dec_parse(S(big), &a)); /* a digit more than a dec holds */
    big[DEC_MAX_DIGITS] = '\0';
    ck_assert(dec_parse(S(big), &a));
    ck_assert(dec_parse(S("1"), &b));
    keep = a;
    ck_assert(!dec_add(&a, &b));
    ck_assert(memcmp(&a, &keep, sizeof(a)) == 0); /* unchanged */
}
END_TEST

static const struct {
    const char *x;
    uint64_t cnt;
    unsigned scale;
    const char *q; /* NULL: fails */
} div_cases[] = {
    {"10", 4, 4, "2.5000"},
    {"2", 3, 4, "0.6667"},
    {"1", 3, 4, "0.3333"},
    {"-2", 3, 4, "-0.6667"},
    {"5", 2, 0, "3"},       /* half away from zero */
    {"-5", 2, 0, "-3"},     /* also for negatives */
    {"1.25", 1, 0, "1.25"}, /* never fewer digits than x has */
    {"7", 0, 4, NULL},
    {"18446744073709551615", 18446744073709551615u, 2, "1.00"},
};

START_TEST(test_div_table)
{
    struct dec x, q;
    char out[DEC_TEXT_MAX];
    bool ok;

    ck_assert(dec_parse(S(div_cases[_i].x), &x));
    ok = dec_div(&x, div_cases[_i].cnt, div_cases[_i].scale, &q);
    ck_assert(ok == (div_cases[_i].q != NULL));
    if (!ok)
        return;
    dec_format(&q, out);
    ck_assert_str_eq(out, div_cases[_i].q);
}
END_TEST

static const struct {
    const char *a, *b;
    int cmp;
} cmp_cases[] = {
    {"1", "2", -1},       {"10", "9", 1},       {"-1", "1", -1},
    {"-10", "-9", -1},    {"1.50", "1.5", 0},   {"01.5", "1.5", 0},
    {"-0.00", "0", 0},    {"0.1", "0.09", 1},   {"2", "1.999", 1},
    {"-2", "-1.999", -1}, {"123abc", "123", 0}, /* text after is ignored */
};

START_TEST(test_cmp_text_table)
{
    int c = dec_cmp_text(S(cmp_cases[_i].a), S(cmp_cases[_i].b));
    int r = dec_cmp_text(S(cmp_cases[_i].b), S(cmp_cases[_i].a));

    ck_assert_msg(c == cmp_cases[_i].cmp, "%s vs %s: %d", cmp_cases[_i].a,
                  cmp_cases[_i].b, c);
    ck_assert_int_eq(r, -c);
}
END_TEST

START_TEST(test_rescale)
{
    struct dec x;
    char out[DEC_TEXT_MAX];

    ck_assert(dec_parse(S("-1.5"), &x));
    ck_assert(dec_rescale(&x, 4));
    dec_format(&x, out);
    ck_assert_str_eq(out, "-1.5000");
    ck_assert(dec_rescale(&x, 2)); /* never fewer: nothing to do */
    dec_format(&x, out);
    ck_assert_str_eq(out, "-1.5000");
}
END_TEST

/* The server's arithmetic, as MariaDB 10.11 answers it: `/` truncated
 * to 9-digit words then rounded to the dividend's scale + 4; AVG the
 * same; exact products; rounding half away from zero. */
static const struct {
    const char *op, *a, *b, *out;
} arith_cases[] = {
    {"/", "1", "3", "0.3333"},
    {"/", "2", "3", "0.6667"},
    {"/", "2.00000", "3", "0.666666666"}, /* scale 9 = the word: truncated */
    {"/", "2.0000", "3.0", "0.66666667"},
    {"/", "2.00000", "3.0", "0.666666667"},
    {"/", "-7", "2", "-3.5000"},
    {"/", "7", "-0.5", "-14.0000"},
    {"/", "10.10", "4", "2.525000"},
    {"avg", "4", "3", "1.3333"},
    {"avg", "2.00000", "3", "0.666666666"},
    {"avg", "5", "2", "2.5000"},
    {"*", "10.10", "3", "30.30"},
    {"*", "-1.5", "-1.5", "2.25"},
    {"*", "0.00", "7", "0.00"},
    {"*", "99999999999", "99999999999", "9999999999800000000001"},
    {"round2", "1.005", "", "1.01"},
    {"round2", "-1.005", "", "-1.01"},
    {"round2", "1.004", "", "1.00"},
    {"round2", "9.999", "", "10.00"},
};

START_TEST(test_arith_table)
{
    struct dec a, b, r;
    char out[DEC_TEXT_MAX];
    const char *op = arith_cases[_i].op;

    ck_assert(dec_parse(S(arith_cases[_i].a), &a));
    if (strcmp(op, "/") == 0) {
        ck_assert(dec_parse(S(arith_cases[_i].b), &b));
        ck_assert(dec_quot(&a, &b, &r));
    } else if (strcmp(op, "avg") == 0) {
        ck_assert(dec_avg(&a, strtoull(arith_cases[_i].b, NULL, 10),
                          a.scale + 4u, &r));
    } else if (strcmp(op, "*") == 0) {
        ck_assert(dec_parse(S(arith_cases[_i].b), &b));
        ck_assert(dec_mul(&a, &b, &r));
    } else {
        r = a;
        ck_assert(dec_round(&r, 2) && dec_rescale(&r, 2));
    }
    dec_format(&r, out);
    ck_assert_msg(strcmp(out, arith_cases[_i].out) == 0, "%s %s %s: %s",
                  arith_cases[_i].a, op, arith_cases[_i].b, out);
}
END_TEST

START_TEST(test_cmp)
{
    struct dec a, b, z;

    ck_assert(dec_parse(S("1.50"), &a) && dec_parse(S("1.5"), &b));
    ck_assert_int_eq(dec_cmp(&a, &b), 0);
    ck_assert(dec_parse(S("-2"), &b));
    ck_assert_int_eq(dec_cmp(&a, &b), 1);
    ck_assert_int_eq(dec_cmp(&b, &a), -1);
    ck_assert(dec_parse(S("-0.00"), &z) && dec_parse(S("0"), &b));
    ck_assert_int_eq(dec_cmp(&z, &b), 0);
    dec_neg(&z);
    ck_assert_int_eq(dec_cmp(&z, &b), 0); /* -0 stays 0 */
    ck_assert(!dec_quot(&a, &b, &z));     /* division by zero */
}
END_TEST

#define LOOP(tc, fn, arr)                                                      \
    tcase_add_loop_test(tc, fn, 0, (int)(sizeof(arr) / sizeof(arr[0])))

int
main(void)
{
    Suite *s = suite_create("decimal");
    TCase *tc = tcase_create("decimal");
    SRunner *sr;
    int failed;

    LOOP(tc, test_parse_table, parse_cases);
    LOOP(tc, test_add_table, add_cases);
    tcase_add_test(tc, test_add_overflow);
    LOOP(tc, test_div_table, div_cases);
    LOOP(tc, test_cmp_text_table, cmp_cases);
    tcase_add_test(tc, test_rescale);
    LOOP(tc, test_arith_table, arith_cases);
    tcase_add_test(tc, test_cmp);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
