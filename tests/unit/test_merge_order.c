/*
 * test_merge_order.c - how the merge orders rows, end to end through
 * session/merge.c: ORDER BY over integers with NULLs, strings by
 * collation, negative decimals and times (result/value.c), DISTINCT
 * (result/sort.c's key comparison), and binary-protocol rows. See
 * merge_harness.h for how responses are built, fed and decoded.
 */
#include "merge_harness.h"

#include <stdlib.h>

/* ---- ORDER BY ----------------------------------------------------------- */

static void
build_ints_asc(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"\\N", "1", "5", "10", NULL};
    const char *r1[] = {"\\N", "-3", "2", "7", NULL};
    const char *r2[] = {"-10", "3", "100", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
    text_shard(src[2], c, 1, r2);
}

static void
build_ints_desc(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"10", "5", "1", "\\N", NULL};
    const char *r1[] = {"7", "2", "-3", "\\N", NULL};
    const char *r2[] = {"100", "3", "-10", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
    text_shard(src[2], c, 1, r2);
}

START_TEST(test_order_ints_nulls)
{
    struct merge_spec asc = spec_sort(0, false), desc = spec_sort(0, true);

    check(&asc, false, 3, build_ints_asc,
          "v [NULL] [NULL] [-10] [-3] [1] [2] [3] [5] [7] [10] [100] EOF "
          "st=2 w=0",
          false);
    check(&desc, false, 3, build_ints_desc,
          "v [100] [10] [7] [5] [3] [2] [1] [-3] [-10] [NULL] [NULL] EOF "
          "st=2 w=0",
          false);
}
END_TEST

static void
build_strings_ci(struct evbuffer **src)
{
    struct coldef c[1] = {C_STR("s")};
    const char *r0[] = {"a", "C", "e", NULL};
    const char *r1[] = {"B", "d", "F", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

static void
build_strings_bin(struct evbuffer **src)
{
    struct coldef c[1] = {C_BIN("s")};
    const char *r0[] = {"C", "a", "e", NULL};
    const char *r1[] = {"B", "F", "d", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

START_TEST(test_order_strings)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 2, build_strings_ci,
          "s [a] [B] [C] [d] [e] [F] EOF st=2 w=0", false);
    check(&ms, false, 2, build_strings_bin,
          "s [B] [C] [F] [a] [d] [e] EOF st=2 w=0", false);
}
END_TEST

static void
build_decimals(struct evbuffer **src)
{
    struct coldef c[1] = {C_DEC("d", 2)};
    const char *r0[] = {"-10.50", "-2.00", "3.10", NULL};
    const char *r1[] = {"-100.00", "-2.50", "0.00", "25.00", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

START_TEST(test_order_decimal_negative)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 2, build_decimals,
          "d [-100.00] [-10.50] [-2.50] [-2.00] [0.00] [3.10] [25.00] EOF "
          "st=2 w=0",
          false);
}
END_TEST

static void
build_times(struct evbuffer **src)
{
    struct coldef c[1] = {C_TIME("t")};
    const char *r0[] = {"-10:00:00", "-01:30:00", "05:00:00", NULL};
    const char *r1[] = {"-02:00:00", "00:00:00.5", "100:00:00", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

START_TEST(test_order_negative_time)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 2, build_times,
          "t [-10:00:00] [-02:00:00] [-01:30:00] [00:00:00.5] [05:00:00] "
          "[100:00:00] EOF st=2 w=0",
          false);
}
END_TEST

/* ---- DISTINCT ----------------------------------------------------------- */

static void
build_distinct(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("a"), C_STR("b")};
    const char *r0[] = {"1|x", "1|y", "2|x", NULL};
    const char *r1[] = {"1|X", "2|x", "3|z", NULL};
    const char *r2[] = {"1|y", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
    text_shard(src[2], c, 2, r2);
}

static void
build_distinct_lower(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("a"), C_STR("b")};
    const char *r0[] = {"1|x", "1|y", "2|x", NULL};
    const char *r1[] = {"1|x", "2|x", "3|z", NULL};
    const char *r2[] = {"1|y", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
    text_shard(src[2], c, 2, r2);
}

START_TEST(test_distinct)
{
    struct merge_spec ms = spec();

    ms.distinct = true;
    check(&ms, false, 3, build_distinct,
          "a,b [1,x] [1,y] [2,x] [3,z] EOF st=2 w=0", false);
    ms.npost_sort = 1;
    ms.post_sort[0].col = 0;
    ms.post_sort[0].desc = true;
    check(&ms, false, 3, build_distinct_lower,
          "a,b [3,z] [2,x] [1,x] [1,y] EOF st=2 w=0", false);
}
END_TEST

/* ---- binary protocol ---------------------------------------------------- */

static void
build_binary_by_d(struct evbuffer **src)
{
    struct coldef c[3] = {C_UBIGINT("id"), C_STR("name"), C_DBL("d")};
    struct shard s;

    sh_begin(&s, src[0], c, 3);
    sh_brow(&s, "1|\\N|\\N");
    sh_brow(&s, "7|seven|-1");
    sh_brow(&s, "18446744073709551615|big|2.5");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 3);
    sh_brow(&s, "9223372036854775808|mid|0.5");
    sh_brow(&s, "3|three|4");
    sh_end(&s, ST_AUTO);
}

START_TEST(test_binary_order_by)
{
    struct merge_spec ms = spec_sort(0, true);

    check(&ms, true, 2, build_binary_order,
          "id,name,d [18446744073709551615,big,2.5] "
          "[9223372036854775808,mid,0.5] [7,seven,-1] [3,three,4] "
          "[1,NULL,NULL] EOF st=2 w=0",
          false);
    /* Concatenation: binary rows pass through with new sequence ids. */
    ms = spec();
    check(&ms, true, 2, build_binary_order,
          "id,name,d [1,NULL,NULL] [18446744073709551615,big,2.5] "
          "[3,three,4] [7,seven,-1] [9223372036854775808,mid,0.5] EOF st=2 "
          "w=0",
          true);
    /* By the double column, hiding it. */
    ms = spec_sort(-1, false);
    ms.nhidden = 1;
    check(&ms, true, 2, build_binary_by_d,
          "id,name [1,NULL] [7,seven] [9223372036854775808,mid] "
          "[18446744073709551615,big] [3,three] EOF st=2 w=0",
          false);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("merge_order");
    TCase *tc = tcase_create("merge_order");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_order_ints_nulls);
    tcase_add_test(tc, test_order_strings);
    tcase_add_test(tc, test_order_decimal_negative);
    tcase_add_test(tc, test_order_negative_time);
    tcase_add_test(tc, test_distinct);
    tcase_add_test(tc, test_binary_order_by);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
