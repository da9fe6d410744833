/*
 * test_aggregate.c - result/aggregate.c: groups of partial rows (as shards
 * send them) combined into one row: COUNT and exact SUM, SUM of doubles,
 * MIN/MAX by the column's collation, AVG from a SUM and a COUNT column with
 * the server's scale and its retyped definition, NULL partials, and the
 * failures (a partial that is not a number, a sum that overflows).
 */
#include "result/aggregate.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/resultset.h"
#include "result/row.h"

#include "coldef_helper.h"

#define NC 7

/* cnt BIGINT, s DECIMAL(,2), mn INT, mx VARCHAR ci, av INT (AVG's sum),
 * av_n BIGINT (its count), d DOUBLE */
static struct column cols[NC];
static struct row_shape rs = {.cols = cols, .ncols = NC, .visible = NC};
static uint16_t otypes[NC];
static struct aggs a;

static void
setup(void)
{
    cols[0] = make_column(MYSQL_TYPE_LONGLONG, 63, 0, 0);
    cols[1] = make_column(MYSQL_TYPE_NEWDECIMAL, 63, 0, 2);
    cols[2] = make_column(MYSQL_TYPE_LONG, 63, 0, 0);
    cols[3] = make_column(MYSQL_TYPE_VAR_STRING, 45, 0, 0);
    cols[4] = make_column(MYSQL_TYPE_LONG, 63, UNSIGNED_FLAG, 0);
    cols[5] = make_column(MYSQL_TYPE_LONGLONG, 63, 0, 0);
    cols[6] = make_column(MYSQL_TYPE_DOUBLE, 63, 0, 31);
    for (int c = 0; c < NC; c++)
        otypes[c] = cols[c].tw;
    aggs_init(&a, &rs, otypes);
    ck_assert(aggs_set(&a, 0, AGG_COUNT, 0));
    ck_assert(aggs_set(&a, 1, AGG_SUM, 0));
    ck_assert(aggs_set(&a, 2, AGG_MIN, 0));
    ck_assert(aggs_set(&a, 3, AGG_MAX, 0));
    ck_assert(aggs_set(&a, 4, AGG_AVG, 5));
    ck_assert(aggs_set(&a, 6, AGG_SUM, 0));
}

static void
teardown(void)
{
    aggs_free(&a);
}

/* A row from "v|v|\N" (text values, \N is NULL) into v, strings in buf. */
static void
row(const char *csv, struct binproto_value *v, char *buf)
{
    strcpy(buf, csv);
    for (int c = 0; c < NC; c++) {
        char *e = strchr(buf, '|');
        if (e != NULL)
            *e = '\0';
        memset(&v[c], 0, sizeof(v[c]));
        v[c].type = cols[c].type;
        if (strcmp(buf, "\\N") == 0) {
            v[c].is_null = true;
        } else {
            v[c].str = (const uint8_t *)buf;
            v[c].len = strlen(buf);
        }
        buf = e != NULL ? e + 1 : buf + strlen(buf);
    }
}

/* Runs a group of rows (NULL-terminated) and renders the result. */
static void
group(const char *const *rows, char *out, enum agg_status want)
{
    struct binproto_value v[NC], first[NC];
    char bufs[8][128];
    enum agg_status st = AGG_OK;
    uint32_t col = 99;

    uint8_t junk[NC][1] = {{0}}, *defs[NC];
    uint32_t lens[NC];

    for (int c = 0; c < NC; c++) { /* not definitions: left alone */
        defs[c] = junk[c];
        lens[c] = 1;
    }
    aggs_prepare(&a, defs, lens);
    for (int i = 0; rows[i] != NULL && st == AGG_OK; i++) {
        row(rows[i], v, bufs[i]);
        if (i == 0) {
            memcpy(first, v, sizeof(v));
            st = aggs_start(&a, v, &col);
        } else {
            st = aggs_add(&a, v, &col);
        }
    }
    if (st == AGG_OK)
        st = aggs_result(&a, first, &col);
    ck_assert_int_eq(st, want);
    out[0] = '\0';
    if (st != AGG_OK)
        return;
    for (int c = 0; c < NC; c++) {
        if (first[c].is_null)
            strcat(out, "NULL");
        else
            strncat(out, (const char *)first[c].str, first[c].len);
        strcat(out, c + 1 < NC ? "|" : "");
    }
}

START_TEST(test_group_of_partials)
{
    const char *rows[] = {"3|1.50|7|abc|10|4|0.1", "2|2.25|-3|ABD|5|2|0.2",
                          "0|\\N|\\N|\\N|\\N|0|\\N", NULL};
    char out[512];

    group(rows, out, AGG_OK);
    /* AVG: 15 / 6 with the column's 0 decimals + 4 */
    ck_assert_str_eq(out, "5|3.75|-3|ABD|2.5000|6|0.30000000000000004");
    ck_assert_uint_eq(otypes[4], MYSQL_TYPE_NEWDECIMAL);
}
END_TEST

START_TEST(test_all_null)
{
    const char *rows[] = {"0|\\N|\\N|\\N|\\N|0|\\N", NULL};
    char out[512];

    group(rows, out, AGG_OK);
    ck_assert_str_eq(out, "0|NULL|NULL|NULL|NULL|0|NULL");
}
END_TEST

START_TEST(test_not_a_number)
{
    const char *rows[] = {"1|1.0|1|a|1|1|1", "1|x|1|a|1|1|1", NULL};
    char out[512], msg[128];

    group(rows, out, AGG_NOT_NUMBER);
    aggs_error(AGG_NOT_NUMBER, 1, msg, sizeof(msg));
    ck_assert_str_eq(msg, "myshard: column 2 of a shard's result is not a "
                          "number the merge can add");
}
END_TEST

START_TEST(test_sum_overflows)
{
    char r0[256], r1[256], big[130], out[512];
    const char *rows[] = {r0, r1, NULL};

    memset(big, '9', DEC_MAX_DIGITS);
    big[DEC_MAX_DIGITS] = '\0';
    snprintf(r0, sizeof(r0), "1|%s|1|a|1|1|1", big);
    snprintf(r1, sizeof(r1), "1|1|1|a|1|1|1");
    group(rows, out, AGG_SUM_OVERFLOW);
}
END_TEST

START_TEST(test_bad_settings)
{
    ck_assert(!aggs_set(&a, NC, AGG_SUM, 0));
    ck_assert(!aggs_set(&a, 1, AGG_NONE, 0));
    ck_assert(!aggs_set(&a, 1, AGG_AVG_DISTINCT + 1, 0));
    ck_assert(!aggs_set(&a, 4, AGG_AVG, 4));  /* its own count */
    ck_assert(!aggs_set(&a, 4, AGG_AVG, NC)); /* no such column */
}
END_TEST

/* AVG of an exact column retypes its definition packet in place. */
START_TEST(test_avg_retypes_definition)
{
    struct evbuffer *b = evbuffer_new();
    struct coldef d = {.name = "av",
                       .charset = 63,
                       .length = 11,
                       .type = MYSQL_TYPE_LONG,
                       .flags = UNSIGNED_FLAG | NOT_NULL_FLAG};
    struct rs_writer w;
    struct rs_coldef back;
    uint8_t h[4], p[128], *defs[NC] = {0};
    uint32_t lens[NC] = {0};

    rs_begin(&w, b, 0, true, 0);
    rs_columns(&w, &d, 1);
    evbuffer_drain(b, 5);
    ck_assert_int_eq(evbuffer_remove(b, h, 4), 4);
    ck_assert_int_eq(evbuffer_remove(b, p, h[0]), h[0]);
    defs[4] = p;
    lens[4] = h[0];
    cols[4] =
        make_column(MYSQL_TYPE_LONG, 63, UNSIGNED_FLAG | NOT_NULL_FLAG, 0);
    cols[4].length = 11;
    aggs_prepare(&a, defs, lens);
    ck_assert(rs_parse_coldef(p, lens[4], &back));
    ck_assert_uint_eq(back.type, MYSQL_TYPE_NEWDECIMAL);
    ck_assert_uint_eq(back.length, 15);
    ck_assert_uint_eq(back.decimals, 4);
    ck_assert_uint_eq(back.flags, NOT_NULL_FLAG); /* UNSIGNED dropped */
    ck_assert(back.name.len == 2 && memcmp(back.name.p, "av", 2) == 0);
    evbuffer_free(b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("aggregate");
    TCase *tc = tcase_create("aggregate");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_group_of_partials);
    tcase_add_test(tc, test_all_null);
    tcase_add_test(tc, test_not_a_number);
    tcase_add_test(tc, test_sum_overflows);
    tcase_add_test(tc, test_bad_settings);
    tcase_add_test(tc, test_avg_retypes_definition);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
