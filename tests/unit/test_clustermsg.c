/*
 * test_clustermsg.c - the messages instances exchange through Redis
 * (backend/clustermsg.c): invalidations and heartbeats encoded and read
 * back field for field, "every table", and everything an encoder would not
 * write refused by the decoder (wrong version, bad ids, slots out of range
 * or too many, junk, cut messages), and encoders refusing what would not
 * read back (a tab in a field, a buffer too small).
 */
#include "backend/clustermsg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_inval_round_trip)
{
    struct cluster_inval m = {.origin = "0a1b2c3d",
                              .seq = 42,
                              .n = 3,
                              .slots = {0, 17, CLUSTER_SLOT_SPACE - 1}};
    struct cluster_inval r;
    char buf[CLUSTER_MSG_MAX];
    size_t len = clustermsg_inval_encode(&m, buf, sizeof(buf));

    ck_assert_str_eq(buf, "v1 0a1b2c3d 42 0,17,4095");
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert(clustermsg_inval_decode(buf, len, &r));
    ck_assert_str_eq(r.origin, "0a1b2c3d");
    ck_assert_uint_eq(r.seq, 42);
    ck_assert(!r.all);
    ck_assert_int_eq(r.n, 3);
    ck_assert_uint_eq(r.slots[0], 0);
    ck_assert_uint_eq(r.slots[1], 17);
    ck_assert_uint_eq(r.slots[2], 4095);

    /* every table */
    m.all = true;
    m.seq = UINT64_MAX;
    len = clustermsg_inval_encode(&m, buf, sizeof(buf));
    ck_assert_str_eq(buf, "v1 0a1b2c3d 18446744073709551615 *");
    ck_assert(clustermsg_inval_decode(buf, len, &r));
    ck_assert(r.all);
    ck_assert_uint_eq(r.seq, UINT64_MAX);

    /* the most slots a message carries */
    m.all = false;
    m.n = CLUSTER_MAX_SLOTS;
    for (int i = 0; i < m.n; i++)
        m.slots[i] = (uint32_t)(i * 100);
    len = clustermsg_inval_encode(&m, buf, sizeof(buf));
    ck_assert_uint_gt(len, 0);
    ck_assert(clustermsg_inval_decode(buf, len, &r));
    ck_assert_int_eq(r.n, CLUSTER_MAX_SLOTS);
    ck_assert_uint_eq(r.slots[15], 1500);
}
END_TEST

START_TEST(test_inval_encode_refuses)
{
    struct cluster_inval m = {.origin = "abc", .seq = 1, .n = 1};
    char buf[CLUSTER_MSG_MAX];

    m.slots[0] = CLUSTER_SLOT_SPACE; /* out of range */
    ck_assert_uint_eq(clustermsg_inval_encode(&m, buf, sizeof(buf)), 0);
    m.slots[0] = 1;
    m.n = 0; /* no table and not "every table" */
    ck_assert_uint_eq(clustermsg_inval_encode(&m, buf, sizeof(buf)), 0);
    m.n = CLUSTER_MAX_SLOTS + 1;
    ck_assert_uint_eq(clustermsg_inval_encode(&m, buf, sizeof(buf)), 0);
    m.n = 1;
    strcpy(m.origin, "a b"); /* ids are [0-9a-zA-Z-] */
    ck_assert_uint_eq(clustermsg_inval_encode(&m, buf, sizeof(buf)), 0);
    m.origin[0] = '\0';
    ck_assert_uint_eq(clustermsg_inval_encode(&m, buf, sizeof(buf)), 0);
    strcpy(m.origin, "abc");
    ck_assert_uint_eq(clustermsg_inval_encode(&m, buf, 8), 0); /* no room */
    ck_assert_uint_gt(clustermsg_inval_encode(&m, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_inval_decode_refuses)
{
    static const char *const bad[] = {
        "",
        "v1",
        "v2 abc 1 3",                    /* another version */
        "v1 abc 1",                      /* no slots */
        "v1 abc 1 ",                     /* empty slots */
        "v1 abc x 3",                    /* seq not a number */
        "v1 abc -1 3",                   /* signed */
        "v1 abc 18446744073709551616 3", /* seq overflows */
        "v1 a/c 1 3",                    /* bad id */
        "v1  1 3",                       /* empty id */
        "v1 abc 1 4096",                 /* slot out of range */
        "v1 abc 1 3,",                   /* trailing comma */
        "v1 abc 1 3,,4",                 /* empty slot */
        "v1 abc 1 3 4",                  /* junk after the slots */
        "v1 abc 1 **",                   /* not exactly "*" */
        "v1 abc 1 *,3",
        "v1 abc 1 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", /* 17 slots */
        "v1 0123456789abcdef0123456789abcdef0 1 3",          /* id too long */
    };
    struct cluster_inval r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!clustermsg_inval_decode(bad[i], strlen(bad[i]), &r),
                      "accepted '%s'", bad[i]);
    /* a length that cuts the message is honoured */
    ck_assert(!clustermsg_inval_decode("v1 abc 1 3", 8, &r));
    ck_assert(clustermsg_inval_decode("v1 abc 1 3,4", 10, &r));
    ck_assert_int_eq(r.n, 1);
}
END_TEST

START_TEST(test_beat_round_trip)
{
    struct cluster_beat b = {.id = "ffee0011",
                             .name = "proxy-a",
                             .addr = "0.0.0.0:6033",
                             .version = "0.9.1",
                             .generation = 7,
                             .cfg_hash = 0x0badf00d,
                             .ts_ms = 1765000000123};
    struct cluster_beat r;
    char buf[CLUSTER_MSG_MAX];
    size_t len = clustermsg_beat_encode(&b, buf, sizeof(buf));

    ck_assert_str_eq(buf, "v1\tffee0011\tproxy-a\t0.0.0.0:6033\t0.9.1\t7\t"
                          "0badf00d\t1765000000123");
    ck_assert(clustermsg_beat_decode(buf, len, &r));
    ck_assert_str_eq(r.id, "ffee0011");
    ck_assert_str_eq(r.name, "proxy-a");
    ck_assert_str_eq(r.addr, "0.0.0.0:6033");
    ck_assert_str_eq(r.version, "0.9.1");
    ck_assert_uint_eq(r.generation, 7);
    ck_assert_uint_eq(r.cfg_hash, 0x0badf00d);
    ck_assert_int_eq(r.ts_ms, 1765000000123);
}
END_TEST

START_TEST(test_beat_refuses)
{
    struct cluster_beat b = {.id = "ab",
                             .name = "a\tb",
                             .addr = "x:1",
                             .version = "1",
                             .generation = 1};
    struct cluster_beat r;
    char buf[CLUSTER_MSG_MAX];
    static const char *const bad[] = {
        "v1\tab\tn\tx:1\t1\t1\t0000000a",           /* no timestamp */
        "v1\tab\tn\tx:1\t1\t1\t0000000a\t12x",      /* junk timestamp */
        "v1\tab\tn\tx:1\t1\tx\t0000000a\t12",       /* generation */
        "v1\tab\tn\tx:1\t1\t1\t0000000A\t12",       /* hash not lower hex */
        "v1\tab\tn\tx:1\t1\t1\t000a\t12",           /* hash too short */
        "v1\ta/b\tn\tx:1\t1\t1\t0000000a\t12",      /* id */
        "v1\tab\t\tx:1\t1\t1\t0000000a\t12",        /* empty name */
        "v2\tab\tn\tx:1\t1\t1\t0000000a\t12",       /* version */
        "v1\tab\tn\tx:1\t1\t1\t0000000a\t12\tmore", /* extra field */
    };

    ck_assert_uint_eq(clustermsg_beat_encode(&b, buf, sizeof(buf)), 0);
    strcpy(b.name, "n");
    strcpy(b.addr, "x\n:1");
    ck_assert_uint_eq(clustermsg_beat_encode(&b, buf, sizeof(buf)), 0);
    strcpy(b.addr, "x:1");
    ck_assert_uint_eq(clustermsg_beat_encode(&b, buf, 10), 0);
    ck_assert_uint_gt(clustermsg_beat_encode(&b, buf, sizeof(buf)), 0);
    ck_assert(clustermsg_beat_decode(buf, strlen(buf), &r));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!clustermsg_beat_decode(bad[i], strlen(bad[i]), &r),
                      "accepted '%s'", bad[i]);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("clustermsg");
    TCase *tc = tcase_create("clustermsg");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_inval_round_trip);
    tcase_add_test(tc, test_inval_encode_refuses);
    tcase_add_test(tc, test_inval_decode_refuses);
    tcase_add_test(tc, test_beat_round_trip);
    tcase_add_test(tc, test_beat_refuses);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
