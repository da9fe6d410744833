/*
 * test_merge_aggregate.c - aggregates and groups merged end to end through
 * session/merge.c: COUNT/SUM/MIN/MAX/AVG without GROUP BY, AVG's scale and
 * rounding and the retyped column definition, exact and double sums
 * (result/aggregate.c, result/decimal.c), GROUP BY spread over shards, in
 * memory post-sorts and their bound (result/sort.c), and binary-protocol
 * aggregates. See merge_harness.h for the harness.
 */
#include "merge_harness.h"

#include <stdlib.h>

/* ---- COUNT(DISTINCT) and HAVING ------------------------------------------ */

/* SELECT g, COUNT(DISTINCT x), COUNT(*) ... GROUP BY g: the shards send
 * (g, x, count) grouped by g, x and ordered by them. */
static struct merge_spec
spec_distinct(void)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.ngroup = 1;
    ms.group[0] = (struct merge_key){.col = 0};
    ms.nsort = 2;
    ms.sort[0] = (struct merge_key){.col = 0};
    ms.sort[1] = (struct merge_key){.col = 1};
    ms.naggs = 2;
    ms.aggs[0] = (struct merge_aggcol){.col = 1, .agg = MAGG_COUNT_DISTINCT};
    ms.aggs[1] = (struct merge_aggcol){.col = 2, .agg = MAGG_COUNT};
    return ms;
}

static const struct coldef *
distinct_cols(void)
{
    static struct coldef c[3];

    c[0] = C_INT("g");
    c[1] = C_STR("x");
    c[2] = C_BIGINT("c");
    return c;
}

static void
build_distinct(struct evbuffer **src)
{
    const char *r0[] = {"1|a|2", "1|b|1", "2|a|1", NULL};
    const char *r1[] = {"1|A|1", "1|c|3", "2|\\N|2", NULL};
    const char *r2[] = {"1|b  |1", "3|z|1", NULL};

    text_shard(src[0], distinct_cols(), 3, r0);
    text_shard(src[1], distinct_cols(), 3, r1);
    text_shard(src[2], distinct_cols(), 3, r2);
}

static void
build_distinct_empty(struct evbuffer **src)
{
    const char *none[] = {NULL};

    text_shard(src[0], distinct_cols(), 3, none);
    text_shard(src[1], distinct_cols(), 3, none);
}

static void
build_distinct_accent(struct evbuffer **src)
{
    const char *r0[] = {"1|\xc3\xa9|1", NULL};
    const char *r1[] = {"1|e|1", NULL};

    text_shard(src[0], distinct_cols(), 3, r0);
    text_shard(src[1], distinct_cols(), 3, r1);
}

START_TEST(test_count_distinct)
{
    struct merge_spec ms = spec_distinct();

    /* 'a' = 'A' and 'b' = 'b  ' in a _general_ci collation; NULL is not
     * counted; the other aggregates still add up over the finer groups */
    check(&ms, false, 3, build_distinct,
          "g,x,c [1,3,8] [2,1,3] [3,1,1] EOF st=2 w=0", false);
    ck_assert_uint_eq(dec_types[1], MYSQL_TYPE_LONGLONG);
    /* HAVING COUNT(DISTINCT x) > 1 */
    ms.having.n = 3;
    ms.having.nodes[0] = (struct expr_node){.op = EXPR_COL, .col = 1};
    ms.having.nodes[1] = (struct expr_node){.op = EXPR_INT, .off = 0, .len = 1};
    ms.having.nodes[2] = (struct expr_node){.op = EXPR_GT};
    ms.having.text[0] = '1';
    ms.having.text_len = 1;
    check(&ms, false, 3, build_distinct, "g,x,c [1,3,8] EOF st=2 w=0", false);
    /* no GROUP BY: one row even over no rows */
    ms = spec_distinct();
    ms.ngroup = 0;
    ms.nsort = 1;
    ms.sort[0] = (struct merge_key){.col = 1};
    check(&ms, false, 2, build_distinct_empty, "g,x,c [NULL,0,0] EOF st=2 w=0",
          false);
    /* text the proxy cannot compare in the collation: an error, not a
     * guess */
    check_prefix(&ms, false, 2, build_distinct_accent, "g,x,c ERR 1235");
}
END_TEST

/* ---- aggregates --------------------------------------------------------- */

static struct merge_spec
spec_aggs(void)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.nhidden = 1;
    ms.naggs = 5;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_COUNT};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_SUM};
    ms.aggs[2] = (struct merge_aggcol){.col = 2, .agg = MAGG_MIN};
    ms.aggs[3] = (struct merge_aggcol){.col = 3, .agg = MAGG_MAX};
    ms.aggs[4] = (struct merge_aggcol){.col = 4, .agg = MAGG_AVG, .col2 = -1};
    return ms;
}

static const struct coldef *
agg_cols(void)
{
    static struct coldef c[6];

    c[0] = C_BIGINT("cnt");
    c[1] = C_DEC("s", 2);
    c[2] = C_INT("mn");
    c[3] = C_INT("mx");
    c[4] = C_DEC("av", 0);
    c[5] = C_BIGINT("av_n");
    return c;
}

static void
build_aggs(struct evbuffer **src)
{
    const char *r0[] = {"3|10.50|1|9|6|3", NULL};
    const char *r1[] = {"0|\\N|\\N|\\N|\\N|0", NULL};
    const char *r2[] = {"2|0.25|-4|5|3|2", NULL};

    text_shard(src[0], agg_cols(), 6, r0);
    text_shard(src[1], agg_cols(), 6, r1);
    text_shard(src[2], agg_cols(), 6, r2);
}

static void
build_aggs_empty(struct evbuffer **src)
{
    const char *r[] = {"0|\\N|\\N|\\N|\\N|0", NULL};

    text_shard(src[0], agg_cols(), 6, r);
    text_shard(src[1], agg_cols(), 6, r);
}

START_TEST(test_aggregates_no_group)
{
    struct merge_spec ms = spec_aggs();

    check(&ms, false, 3, build_aggs,
          "cnt,s,mn,mx,av [5,10.75,-4,9,1.8000] EOF st=2 w=0", false);
    /* AVG's definition: a DECIMAL with 4 more digits. */
    ck_assert_uint_eq(dec_types[4], MYSQL_TYPE_NEWDECIMAL);
    ck_assert_uint_eq(dec_decimals[4], 4);
    check(&ms, false, 2, build_aggs_empty,
          "cnt,s,mn,mx,av [0,NULL,NULL,NULL,NULL] EOF st=2 w=0", false);
}
END_TEST

static void
build_avg_round(struct evbuffer **src)
{
    struct coldef c[4] = {C_DEC("a", 0), C_DEC("b", 2), C_BIGINT("an"),
                          C_BIGINT("bn")};
    const char *r0[] = {"2|1.00|1|1", NULL};
    const char *r1[] = {"-4|-3.00|2|2", NULL};

    text_shard(src[0], c, 4, r0);
    text_shard(src[1], c, 4, r1);
}

START_TEST(test_avg_scale_and_rounding)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.nhidden = 2;
    ms.naggs = 2;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_AVG, .col2 = -2};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_AVG, .col2 = -1};
    /* -2 / 3 and -2.00 / 3, rounded half away from zero */
    check(&ms, false, 2, build_avg_round,
          "a,b [-0.6667,-0.666667] EOF st=2 w=0", false);
    ck_assert_uint_eq(dec_decimals[0], 4);
    ck_assert_uint_eq(dec_decimals[1], 6);
}
END_TEST

static void
build_big_sums(struct evbuffer **src)
{
    struct coldef c[2] = {C_DEC("s", 2), C_DBL("d")};
    const char *r0[] = {"99999999999999999999999999999.99|0.1", NULL};
    const char *r1[] = {"0.01|0.2", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
}

START_TEST(test_sum_exact_and_double)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.naggs = 2;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_SUM};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_SUM};
    check(&ms, false, 2, build_big_sums,
          "s,d [100000000000000000000000000000.00,0.30000000000000004] EOF "
          "st=2 w=0",
          false);
}
END_TEST

/* ---- GROUP BY ----------------------------------------------------------- */

START_TEST(test_group_by_spread)
{
    struct merge_spec ms = spec_group();

    /* "A" joins "a" and "d " joins "d" (case-insensitive, PAD SPACE); the
     * group shows its first row's value. */
    check(&ms, false, 3, build_groups,
          "g,c,s [a,2,11] [b,6,0] [c,7,7] [d,4,4] [e,9,0] EOF st=2 w=0", false);
}
END_TEST

static void
build_groups_desc(struct evbuffer **src)
{
    struct coldef c[3] = {C_STR("g"), C_BIGINT("c"), C_INT("mx")};
    const char *r0[] = {"d|1|4", "b|5|-1", NULL};
    const char *r1[] = {"e|2|0", "B|1|7", "a|1|1", NULL};

    text_shard(src[0], c, 3, r0);
    text_shard(src[1], c, 3, r1);
}

START_TEST(test_group_by_desc_order)
{
    struct merge_spec ms = spec_group();

    ms.aggs[1] = (struct merge_aggcol){.col = 2, .agg = MAGG_MAX};
    ms.nsort = 1;
    ms.sort[0].col = 0;
    ms.sort[0].desc = true;
    check(&ms, false, 2, build_groups_desc,
          "g,c,mx [e,2,0] [d,1,4] [b,6,7] [a,1,1] EOF st=2 w=0", false);
    /* Sort keys that do not include the group keys cannot group. */
    ms.sort[0].col = 1;
    check_prefix(&ms, false, 2, build_groups_desc,
                 "ERR 1105 myshard: the merge plan does not fit the shards' "
                 "result (sort keys not covering the group keys");
}
END_TEST

START_TEST(test_post_sort_aggregate_desc_limit)
{
    struct merge_spec ms = spec_group();

    ms.npost_sort = 1;
    ms.post_sort[0].col = 1;
    ms.post_sort[0].desc = true;
    ms.has_limit = true;
    ms.offset = 1;
    ms.limit = 3;
    check(&ms, false, 3, build_groups,
          "g,c,s [c,7,7] [b,6,0] [d,4,4] EOF st=2 w=0", false);
}
END_TEST

START_TEST(test_post_sort_too_large)
{
    struct merge_spec ms = spec_group();

    ms.npost_sort = 1;
    ms.post_sort[0].col = 1;
    max_rows = 3;
    check(&ms, false, 3, build_groups,
          "g,c,s ERR 1235 myshard: result too large to sort in the proxy "
          "(more than 3 rows); add a LIMIT or narrow the query",
          false);
    /* With a LIMIT the proxy keeps only what it may send. */
    ms.has_limit = true;
    ms.limit = 2;
    check(&ms, false, 3, build_groups, "g,c,s [a,2,11] [d,4,4] EOF st=2 w=0",
          false);
    max_rows = 0;
}
END_TEST

static void
build_binary_aggs(struct evbuffer **src)
{
    struct coldef c[4] = {C_BIGINT("cnt"), C_DEC("s", 2), C_DBL("av"),
                          C_BIGINT("n")};
    struct shard s;

    sh_begin(&s, src[0], c, 4);
    sh_brow(&s, "2|1.50|3|2");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 4);
    sh_brow(&s, "3|2.25|4.5|3");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[2], c, 4);
    sh_brow(&s, "0|\\N|\\N|0");
    sh_end(&s, ST_AUTO);
}

START_TEST(test_binary_count_sum_avg)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.nhidden = 1;
    ms.naggs = 3;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_COUNT};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_SUM};
    ms.aggs[2] = (struct merge_aggcol){.col = 2, .agg = MAGG_AVG, .col2 = 3};
    check(&ms, true, 3, build_binary_aggs, "cnt,s,av [5,3.75,1.5] EOF st=2 w=0",
          false);
    ck_assert_uint_eq(dec_types[0], MYSQL_TYPE_LONGLONG);
    ck_assert_uint_eq(dec_types[2], MYSQL_TYPE_DOUBLE);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("merge_aggregate");
    TCase *tc = tcase_create("merge_aggregate");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_aggregates_no_group);
    tcase_add_test(tc, test_avg_scale_and_rounding);
    tcase_add_test(tc, test_sum_exact_and_double);
    tcase_add_test(tc, test_group_by_spread);
    tcase_add_test(tc, test_group_by_desc_order);
    tcase_add_test(tc, test_post_sort_aggregate_desc_limit);
    tcase_add_test(tc, test_post_sort_too_large);
    tcase_add_test(tc, test_binary_count_sum_avg);
    tcase_add_test(tc, test_count_distinct);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
