/*
 * test_value.c - result/column.c and result/value.c from tables: which
 * comparison class, folding and padding a column definition gives; how two
 * values of a column compare (text and binary rows, NULL least, signed
 * against unsigned, negative TIME, collations); values read as decimals
 * and doubles; doubles printed back the way the server prints them.
 */
#include "result/value.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/resultset.h"
#include "result/column.h"
#include "result/decimal.h"

#include "coldef_helper.h"

static const struct {
    const char *name;
    uint8_t type;
    uint16_t charset, flags;
    uint8_t cls;
    bool ci, pad;
    uint16_t tw;
} class_cases[] = {
    {"INT", MYSQL_TYPE_LONG, 63, BINARY_FLAG, COL_INT, false, false,
     MYSQL_TYPE_LONG},
    {"BIGINT UNSIGNED", MYSQL_TYPE_LONGLONG, 63, UNSIGNED_FLAG, COL_INT, false,
     false, MYSQL_TYPE_LONGLONG | BINPROTO_UNSIGNED},
    {"YEAR", MYSQL_TYPE_YEAR, 63, UNSIGNED_FLAG, COL_INT, false, false,
     MYSQL_TYPE_YEAR | BINPROTO_UNSIGNED},
    {"DECIMAL UNSIGNED", MYSQL_TYPE_NEWDECIMAL, 63, UNSIGNED_FLAG, COL_DEC,
     false, false, MYSQL_TYPE_NEWDECIMAL},
    {"DOUBLE", MYSQL_TYPE_DOUBLE, 63, 0, COL_FLOAT, false, false,
     MYSQL_TYPE_DOUBLE},
    {"DATETIME", MYSQL_TYPE_DATETIME, 63, 0, COL_DATE, false, false,
     MYSQL_TYPE_DATETIME},
    {"TIME", MYSQL_TYPE_TIME, 63, 0, COL_TIME, false, false, MYSQL_TYPE_TIME},
    {"VARCHAR general_ci", MYSQL_TYPE_VAR_STRING, 45, 0, COL_STR, true, true,
     MYSQL_TYPE_VAR_STRING},
    {"VARCHAR _bin", MYSQL_TYPE_VAR_STRING, 46, BINARY_FLAG, COL_STR, false,
     true, MYSQL_TYPE_VAR_STRING},
    {"VARBINARY", MYSQL_TYPE_VAR_STRING, 63, BINARY_FLAG, COL_STR, false, false,
     MYSQL_TYPE_VAR_STRING},
    {"MySQL 8 NO PAD", MYSQL_TYPE_VAR_STRING, 255, 0, COL_STR, true, false,
     MYSQL_TYPE_VAR_STRING},
    {"MariaDB NO PAD", MYSQL_TYPE_VAR_STRING, 1100, 0, COL_STR, true, false,
     MYSQL_TYPE_VAR_STRING},
    {"JSON", MYSQL_TYPE_JSON, 45, 0, COL_STR, false, false, MYSQL_TYPE_JSON},
};

START_TEST(test_class_table)
{
    struct column c = make_column(class_cases[_i].type, class_cases[_i].charset,
                                  class_cases[_i].flags, 0);

    ck_assert_msg(c.cls == class_cases[_i].cls, "%s", class_cases[_i].name);
    ck_assert_msg(c.ci == class_cases[_i].ci, "%s", class_cases[_i].name);
    ck_assert_msg(c.pad == class_cases[_i].pad, "%s", class_cases[_i].name);
    ck_assert_uint_eq(c.tw, class_cases[_i].tw);
    ck_assert_uint_eq(c.charset, class_cases[_i].charset);
    ck_assert_uint_eq(c.length, 20);
}
END_TEST

static struct binproto_value
txt(const char *s)
{
    struct binproto_value v = {0};

    if (s == NULL)
        v.is_null = true;
    else {
        v.str = (const uint8_t *)s;
        v.len = strlen(s);
    }
    return v;
}

static const struct {
    uint8_t type;
    uint16_t charset, flags;
    const char *a, *b; /* NULL: SQL NULL */
    int cmp;
} text_cases[] = {
    {MYSQL_TYPE_LONG, 63, 0, "9", "10", -1},
    {MYSQL_TYPE_LONG, 63, 0, "-10", "-9", -1},
    {MYSQL_TYPE_LONG, 63, 0, NULL, "-9", -1},
    {MYSQL_TYPE_LONG, 63, 0, NULL, NULL, 0},
    {MYSQL_TYPE_NEWDECIMAL, 63, 0, "-0.50", "-0.5", 0},
    {MYSQL_TYPE_NEWDECIMAL, 63, 0, "2.10", "10.01", -1},
    {MYSQL_TYPE_DOUBLE, 63, 0, "1e3", "999.5", 1},
    {MYSQL_TYPE_DATE, 63, 0, "2024-02-29", "2024-03-01", -1},
    {MYSQL_TYPE_TIME, 63, 0, "-01:00:00", "00:00:01", -1},
    {MYSQL_TYPE_TIME, 63, 0, "100:00:00", "99:59:59.999999", 1},
    /* hours past 64-bit microseconds: still ordered, no overflow */
    {MYSQL_TYPE_TIME, 63, 0, "999999999999:00:00", "999999999998:59:59", 1},
    {MYSQL_TYPE_VAR_STRING, 45, 0, "abc", "ABC", 0},
    {MYSQL_TYPE_VAR_STRING, 45, 0, "abc ", "ABC", 0},
    {MYSQL_TYPE_VAR_STRING, 45, 0, "ab", "abc", -1},
    {MYSQL_TYPE_VAR_STRING, 46, BINARY_FLAG, "a", "B", 1},
    {MYSQL_TYPE_VAR_STRING, 46, BINARY_FLAG, "a ", "a", 0},
    {MYSQL_TYPE_VAR_STRING, 63, BINARY_FLAG, "a ", "a", 1},
    {MYSQL_TYPE_VAR_STRING, 255, 0, "a ", "A", 1},
    {MYSQL_TYPE_VAR_STRING, 45, 0, "a\t", "a", -1}, /* tab sorts below pad */
};

START_TEST(test_text_cmp_table)
{
    struct column c = make_column(text_cases[_i].type, text_cases[_i].charset,
                                  text_cases[_i].flags, 0);
    struct binproto_value a = txt(text_cases[_i].a), b = txt(text_cases[_i].b);

    ck_assert_msg(value_cmp(&c, false, &a, &b) == text_cases[_i].cmp, "case %d",
                  _i);
    ck_assert_int_eq(value_cmp(&c, false, &b, &a), -text_cases[_i].cmp);
}
END_TEST

START_TEST(test_binary_cmp)
{
    struct column ll = make_column(MYSQL_TYPE_LONGLONG, 63, 0, 0);
    struct column tm = make_column(MYSQL_TYPE_TIME, 63, 0, 0);
    struct column dt = make_column(MYSQL_TYPE_DATETIME, 63, 0, 0);
    struct column dbl = make_column(MYSQL_TYPE_DOUBLE, 63, 0, 0);
    struct binproto_value a = {
        .type = MYSQL_TYPE_LONGLONG, .i64 = -1, .u64 = (uint64_t)-1};
    struct binproto_value b = {
        .type = MYSQL_TYPE_LONGLONG, .is_unsigned = true, .u64 = 5, .i64 = 5};
    struct binproto_value big = {.type = MYSQL_TYPE_LONGLONG,
                                 .is_unsigned = true,
                                 .u64 = UINT64_MAX,
                                 .i64 = -1};

    ck_assert_int_eq(value_cmp(&ll, true, &a, &b), -1); /* -1 < 5 */
    ck_assert_int_eq(value_cmp(&ll, true, &big, &b), 1);
    ck_assert_int_eq(value_cmp(&ll, true, &a, &big), -1);

    a = (struct binproto_value){.type = MYSQL_TYPE_TIME,
                                .tm = {.hour = 1, .negative = true}};
    b = (struct binproto_value){.type = MYSQL_TYPE_TIME, .tm = {.second = 1}};
    ck_assert_int_eq(value_cmp(&tm, true, &a, &b), -1);
    b = (struct binproto_value){.type = MYSQL_TYPE_TIME,
                                .tm = {.days = 1, .negative = true}};
    ck_assert_int_eq(value_cmp(&tm, true, &a, &b), 1);
    a = (struct binproto_value){.type = MYSQL_TYPE_TIME,
                                .tm = {.days = UINT32_MAX, .hour = 1}};
    b = (struct binproto_value){.type = MYSQL_TYPE_TIME,
                                .tm = {.days = UINT32_MAX}};
    ck_assert_int_eq(value_cmp(&tm, true, &a, &b), 1);

    a = (struct binproto_value){
        .type = MYSQL_TYPE_DATETIME,
        .tm = {.year = 2024, .month = 2, .day = 29, .microsecond = 1}};
    b = (struct binproto_value){.type = MYSQL_TYPE_DATETIME,
                                .tm = {.year = 2024, .month = 2, .day = 29}};
    ck_assert_int_eq(value_cmp(&dt, true, &a, &b), 1);

    a = (struct binproto_value){.type = MYSQL_TYPE_DOUBLE, .f64 = -0.5};
    b = (struct binproto_value){.type = MYSQL_TYPE_DOUBLE, .f64 = 0.25};
    ck_assert_int_eq(value_cmp(&dbl, true, &a, &b), -1);
    b.is_null = true;
    ck_assert_int_eq(value_cmp(&dbl, true, &a, &b), 1);
}
END_TEST

START_TEST(test_as_numbers)
{
    struct binproto_value v = txt("12.75");
    struct binproto_value i = {
        .type = MYSQL_TYPE_LONGLONG, .is_unsigned = true, .u64 = UINT64_MAX};
    struct binproto_value f = {.type = MYSQL_TYPE_DOUBLE, .f64 = 2.5};
    struct dec x;
    char out[DEC_TEXT_MAX];

    ck_assert(value_dec(false, &v, &x));
    dec_format(&x, out);
    ck_assert_str_eq(out, "12.75");
    ck_assert(value_double(false, &v) == 12.75);
    ck_assert(value_dec(true, &i, &x));
    dec_format(&x, out);
    ck_assert_str_eq(out, "18446744073709551615");
    ck_assert(value_dec(true, &f, &x));
    dec_format(&x, out);
    ck_assert_str_eq(out, "2.500000");
    ck_assert(value_double(true, &f) == 2.5);
    v = txt("abc");
    ck_assert(!value_dec(false, &v, &x));
}
END_TEST

static const struct {
    double d;
    const char *out;
} fmt_cases[] = {
    {0.1, "0.1"},   {1.0 / 3, "0.3333333333333333"},
    {1e20, "1e20"}, {1e-7, "1e-7"},
    {-2.5, "-2.5"}, {123456789012345678.0, "1.2345678901234568e17"},
    {100, "100"},
};

START_TEST(test_fmt_double_table)
{
    char out[64];

    value_fmt_double(fmt_cases[_i].d, out, sizeof(out));
    ck_assert_str_eq(out, fmt_cases[_i].out);
}
END_TEST

#define LOOP(tc, fn, arr)                                                      \
    tcase_add_loop_test(tc, fn, 0, (int)(sizeof(arr) / sizeof(arr[0])))

int
main(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("value");
    SRunner *sr;
    int failed;

    LOOP(tc, test_class_table, class_cases);
    LOOP(tc, test_text_cmp_table, text_cases);
    tcase_add_test(tc, test_binary_cmp);
    tcase_add_test(tc, test_as_numbers);
    LOOP(tc, test_fmt_double_table, fmt_cases);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
