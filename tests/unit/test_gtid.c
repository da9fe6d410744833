/*
 * test_gtid.c - MariaDB GTIDs and positions as text (base/gtid.h): what
 * servers write (last_gtid, gtid_slave_pos with one or several domains,
 * the empty position) and what must not parse; whether one position
 * covers another.
 */
#include "base/gtid.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_one)
{
    struct gtid g;
    char buf[64];

    ck_assert(gtid_parse("0-1-10", 6, &g));
    ck_assert_uint_eq(g.domain, 0);
    ck_assert_uint_eq(g.server, 1);
    ck_assert_uint_eq(g.seqno, 10);
    ck_assert(gtid_parse("4294967295-7-18446744073709551615", 33, &g));
    ck_assert_uint_eq(g.domain, 4294967295u);
    ck_assert_uint_eq(g.seqno, 18446744073709551615ull);
    gtid_format(&g, buf, sizeof(buf));
    ck_assert_str_eq(buf, "4294967295-7-18446744073709551615");
    ck_assert(!gtid_parse("4294967296-1-1", 14, &g)); /* domain overflows */
    ck_assert(!gtid_parse("0-1-18446744073709551616", 24, &g));
    ck_assert(!gtid_parse("0-1", 3, &g));
    ck_assert(!gtid_parse("0-1-", 4, &g));
    ck_assert(!gtid_parse("0-1-2-3", 7, &g));
    ck_assert(!gtid_parse("a-1-2", 5, &g));
    ck_assert(!gtid_parse("", 0, &g));
    ck_assert(!gtid_parse("0-1-10", 5, &g) || g.seqno == 1); /* a prefix */
}
END_TEST

START_TEST(test_list)
{
    struct gtid l[4];
    const char *two = "0-1-100,\n1-3-7";

    ck_assert_int_eq(gtid_parse_list("", 0, l, 4), 0);
    ck_assert_int_eq(gtid_parse_list("  ", 2, l, 4), 0);
    ck_assert_int_eq(gtid_parse_list("0-1-9", 5, l, 4), 1);
    ck_assert_uint_eq(l[0].seqno, 9);
    ck_assert_int_eq(gtid_parse_list(two, strlen(two), l, 4), 2);
    ck_assert_uint_eq(l[1].domain, 1);
    ck_assert_uint_eq(l[1].server, 3);
    ck_assert_uint_eq(l[1].seqno, 7);
    ck_assert_int_eq(gtid_parse_list(two, strlen(two), l, 1), -1); /* room */
    ck_assert_int_eq(gtid_parse_list("0-1-9,", 6, l, 4), -1);
    ck_assert_int_eq(gtid_parse_list(",0-1-9", 6, l, 4), -1);
    ck_assert_int_eq(gtid_parse_list("0-1-9 1-1-1", 11, l, 4), -1);
}
END_TEST

START_TEST(test_covers)
{
    /* the same domain: seqno decides, the server id does not */
    ck_assert(gtid_pos_covers("0-1-100", "0-1-100"));
    ck_assert(gtid_pos_covers("0-1-101", "0-1-100"));
    ck_assert(gtid_pos_covers("0-2-101", "0-1-100"));
    ck_assert(!gtid_pos_covers("0-1-99", "0-1-100"));
    ck_assert(!gtid_pos_covers("0-9-99", "0-1-100"));
    /* every domain of want, in any order; extra domains of have are fine */
    ck_assert(gtid_pos_covers("1-3-7,0-1-100", "0-1-100,1-3-7"));
    ck_assert(gtid_pos_covers("0-1-100,1-3-8,2-1-1", "1-3-7"));
    ck_assert(!gtid_pos_covers("0-1-100,1-3-6", "0-1-100,1-3-7"));
    ck_assert(!gtid_pos_covers("0-1-100", "0-1-100,1-3-7")); /* missing */
    /* the empty position */
    ck_assert(gtid_pos_covers("", ""));
    ck_assert(gtid_pos_covers("0-1-5", ""));
    ck_assert(!gtid_pos_covers("", "0-1-5"));
    /* servers print positions with spaces and newlines */
    ck_assert(gtid_pos_covers("0-1-100,\n1-3-7", "1-3-7 , 0-1-50"));
    /* malformed texts cover nothing and are covered by nothing */
    ck_assert(!gtid_pos_covers("0-1-x", ""));
    ck_assert(!gtid_pos_covers("0-1-100", "0-1"));
    ck_assert(!gtid_pos_covers("0-1-100,", "0-1-1"));
    ck_assert(gtid_pos_covers("0-1-18446744073709551615",
                              "0-1-18446744073709551614"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("gtid");
    TCase *tc = tcase_create("gtid");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_one);
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_covers);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
