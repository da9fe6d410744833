/*
 * test_gtidpos.c - the shared replication positions (backend/gtidpos.h)
 * over a hand-built server set of one shard (a primary and a replica):
 * domain slots, acknowledged writes per shard and per table, what a
 * replica's known position covers, and how positions read back.
 */
#include "backend/gtidpos.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"

static struct server srv[2];
static struct server_set set = {.v = srv, .n = 2, .cap = 2, .nshards = 1};

static void
setup(void)
{
    memset(srv, 0, sizeof(srv));
    srv[0].primary = true;
    srv[1].index = 1;
    gtidpos_init(&set);
    gtidpos_add_shard(&set, 0);
}

static void
teardown(void)
{
    gtidpos_free(&set);
}

START_TEST(test_slots)
{
    ck_assert_int_eq(gtidpos_slot(&set, 0, 0), 0);
    ck_assert_int_eq(gtidpos_slot(&set, 0, 7), 1);
    ck_assert_int_eq(gtidpos_slot(&set, 0, 0), 0);
    ck_assert_int_eq(gtidpos_slot(&set, 0, 8), 2);
    ck_assert_int_eq(gtidpos_slot(&set, 0, 9), 3);
    ck_assert_int_eq(gtidpos_slot(&set, 0, 10), -1); /* full */
    ck_assert_int_eq(gtidpos_slot(&set, 1, 0), -1);  /* no such shard */
}
END_TEST

START_TEST(test_need_and_cover)
{
    struct gtid w = {0, 1, 10}, pos[2] = {{0, 1, 9}, {5, 2, 3}};
    uint32_t t1 = 17, t2 = 99;
    uint64_t need[GTID_SLOTS] = {0};
    char buf[128];

    ck_assert_int_eq(gtidpos_note_write(&set, 0, &w, &t1, 1), 0);
    gtidpos_need_acked(&set, 0, need);
    ck_assert_uint_eq(need[0], 10);
    ck_assert(gtidpos_covers(&srv[0], need)); /* the primary always */
    ck_assert(!gtidpos_covers(&srv[1], need));
    gtidpos_store(&set, &srv[1], pos, 2);
    ck_assert(!gtidpos_covers(&srv[1], need)); /* 9 < 10 */
    gtidpos_raise(&srv[1], need);
    ck_assert(gtidpos_covers(&srv[1], need));
    gtidpos_format(&set, &srv[1], false, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0-1-10,5-2-3");
    gtidpos_format(&set, &srv[0], true, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0-1-10");
    ck_assert_uint_eq(gtidpos_format_need(&set, 0, need, buf, sizeof(buf)), 6);
    ck_assert_str_eq(buf, "0-1-10");

    /* per table: only the written table needs the write */
    memset(need, 0, sizeof(need));
    gtidpos_need_tables(&set, 0, &t2, 1, need);
    ck_assert(!gtidpos_need_any(need));
    gtidpos_need_tables(&set, 0, &t1, 1, need);
    ck_assert_uint_eq(need[0], 10);
    /* a write whose tables are unknown counts for every table */
    w.seqno = 11;
    gtidpos_note_write(&set, 0, &w, NULL, -1);
    memset(need, 0, sizeof(need));
    gtidpos_need_tables(&set, 0, &t2, 1, need);
    ck_assert_uint_eq(need[0], 11);
    /* positions only grow by writes; a reading replaces the replica's */
    w.seqno = 5;
    gtidpos_note_write(&set, 0, &w, &t1, 1);
    memset(need, 0, sizeof(need));
    gtidpos_need_acked(&set, 0, need);
    ck_assert_uint_eq(need[0], 11);
    gtidpos_store(&set, &srv[1], pos, 1);
    ck_assert(!gtidpos_covers(&srv[1], need));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("gtidpos");
    TCase *tc = tcase_create("gtidpos");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_slots);
    tcase_add_test(tc, test_need_and_cover);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
