/*
 * test_merge.c - the merge pipeline (session/merge.c): concatenation and
 * sequence ids, hidden columns, OFFSET/LIMIT and the pass-through fast
 * path, OK summing, errors before and after rows, shards that disagree,
 * back-pressure, rows over 16 MB, malformed and lost sources, plans that do
 * not fit, and corrupted input. Every case runs through merge_harness.h's
 * feeder in every way of feeding. Ordering by value types is in
 * test_merge_order.c, aggregates and groups in test_merge_aggregate.c.
 */
#include "merge_harness.h"

#include <stdlib.h>

/* ---- concatenation ------------------------------------------------------ */

static void
build_concat(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("id"), C_STR("name")};
    const char *r0[] = {"1|one", "2|\\N", NULL};
    const char *r1[] = {"3|three", NULL};
    const char *r2[] = {NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
    text_shard(src[2], c, 2, r2);
}

START_TEST(test_concat)
{
    struct merge_spec ms = spec();

    check(&ms, false, 3, build_concat,
          "id,name [1,one] [2,NULL] [3,three] EOF st=2 w=0", true);
}
END_TEST

START_TEST(test_concat_seq_wraps)
{
    struct merge_spec ms = spec();

    first_seq = 254;
    check(&ms, false, 3, build_concat,
          "id,name [1,one] [2,NULL] [3,three] EOF st=2 w=0", true);
    first_seq = 1;
}
END_TEST

/* ---- hidden columns ----------------------------------------------------- */

static void
build_hidden(struct evbuffer **src)
{
    struct coldef c[2] = {C_STR("name"), C_INT("k")};
    const char *r0[] = {"x|1", "y|4", NULL};
    const char *r1[] = {"z|2", "w|3", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
}

START_TEST(test_hidden_sort_column)
{
    struct merge_spec ms = spec_sort(-1, false);

    ms.nhidden = 1;
    check(&ms, false, 2, build_hidden, "name [x] [z] [w] [y] EOF st=2 w=0",
          false);
    /* Concatenation with a hidden column: not the pass-through path. */
    ms.nsort = 0;
    check(&ms, false, 2, build_hidden, "name [w] [x] [y] [z] EOF st=2 w=0",
          true);
}
END_TEST

/* ---- LIMIT / OFFSET ------------------------------------------------------ */

static void
build_nine(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"1", "4", "7", NULL};
    const char *r1[] = {"2", "5", "8", NULL};
    const char *r2[] = {"3", "6", "9", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
    text_shard(src[2], c, 1, r2);
}

START_TEST(test_limit_offset)
{
    struct merge_spec ms = spec_sort(0, false);

    ms.has_limit = true;
    ms.offset = 2;
    ms.limit = 4;
    check(&ms, false, 3, build_nine, "v [3] [4] [5] [6] EOF st=2 w=0", false);
    ms.offset = 0;
    ms.limit = 0;
    check(&ms, false, 3, build_nine, "v EOF st=2 w=0", false);
    ms.offset = 8;
    ms.limit = 10;
    check(&ms, false, 3, build_nine, "v [9] EOF st=2 w=0", false);
}
END_TEST

START_TEST(test_limit_concat_fast_path)
{
    struct merge_spec ms = spec();

    ms.has_limit = true;
    ms.offset = 2;
    ms.limit = 3;
    for (int mode = 0; mode < NMODES; mode++) {
        struct outcome o = run(&ms, false, 3, build_nine, mode);
        int rows = 0;
        for (const char *p = o.text; (p = strchr(p, '[')) != NULL; p++)
            rows++;
        ck_assert_int_eq(rows, 3);
        ck_assert_uint_eq(o.rows, 3);
        ck_assert_int_eq(o.st, MERGE_DONE);
        ck_assert_ptr_nonnull(strstr(o.text, " EOF st=2 w=0"));
        free(o.text);
    }
}
END_TEST

/* ---- OK, ERR and mismatches --------------------------------------------- */

static void
build_oks(struct evbuffer **src)
{
    put_ok(src[0], 1, 3, 0, ST_AUTO, 0,
           "Rows matched: 3  Changed: 3  Warnings: 0");
    put_ok(src[1], 1, 2, 0, ST_AUTO, 1,
           "Rows matched: 4  Changed: 2  Warnings: 1");
    put_ok(src[2], 1, 0, 0, ST_AUTO, 0,
           "Rows matched: 0  Changed: 0  Warnings: 0");
}

static void
build_inserts(struct evbuffer **src)
{
    put_ok(src[0], 1, 2, 10, ST_AUTO, 0,
           "Records: 2  Duplicates: 0  "
           "Warnings: 0");
    put_ok(src[1], 1, 1, 7, ST_AUTO, 0, NULL);
}

START_TEST(test_ok_summing)
{
    struct merge_spec ms = spec();

    check(&ms, false, 3, build_oks,
          "OK a=5 id=0 st=2 w=1 info=Rows matched: 7  Changed: 5  Warnings: 1",
          false);
    /* Infos of different shapes are dropped; the largest id is kept. */
    check(&ms, false, 2, build_inserts, "OK a=3 id=10 st=2 w=0 info=", false);
}
END_TEST

static void
build_err_first(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"1", "2", NULL};

    text_shard(src[0], c, 1, r0);
    put_err(src[1], 1, 1146, "Table 'db.t' doesn't exist");
    text_shard(src[2], c, 1, r0);
}

START_TEST(test_error_before_rows)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 3, build_err_first, "ERR 1146 Table 'db.t' doesn't exist",
          false);
    ms = spec();
    check(&ms, false, 3, build_err_first, "ERR 1146 Table 'db.t' doesn't exist",
          false);
}
END_TEST

/* Rows go out, then a shard fails mid-result: the ERR replaces the rest
 * and the other shard is still drained. */
START_TEST(test_error_after_rows)
{
    struct merge_spec ms = spec_sort(0, false);
    struct evbuffer *in0 = evbuffer_new(), *in1 = evbuffer_new();
    struct evbuffer *out = evbuffer_new();
    struct coldef c[1] = {C_INT("v")};
    struct merge *m = merge_new(&ms, 2, false, 1);
    struct shard s0, s1;
    char *text;

    sh_begin(&s0, in0, c, 1);
    sh_begin(&s1, in1, c, 1);
    sh_row(&s0, "1");
    sh_row(&s0, "3");
    sh_row(&s1, "2");
    sh_row(&s1, "4");
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_MORE);
    ck_assert_int_eq(merge_pump(m, 1, in1, out, BIG), MERGE_MORE);
    ck_assert_uint_eq(merge_rows(m), 3); /* 1, 2, 3: 4 waits for shard 0 */
    put_err(in1, s1.w.seq, 1317, "Query execution was interrupted");
    /* Row 4 is held ahead; the ERR waits behind it. */
    ck_assert_int_eq(merge_pump(m, 1, in1, out, BIG), MERGE_MORE);
    ck_assert(!merge_source_done(m, 1));
    ck_assert_ptr_null(merge_error(m, NULL));
    sh_row(&s0, "5");
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_MORE);
    ck_assert(merge_source_done(m, 1));
    ck_assert_ptr_nonnull(merge_error(m, NULL));
    ck_assert(!merge_source_done(m, 0));
    sh_end(&s0, ST_AUTO);
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_DONE);
    ck_assert(merge_source_done(m, 0));
    ck_assert_uint_eq(evbuffer_get_length(in0), 0);
    text = decode(out, 1, false);
    ck_assert_str_eq(
        text, "v [1] [2] [3] [4] ERR 1317 Query execution was interrupted");
    free(text);
    merge_free(m);
    evbuffer_free(in0);
    evbuffer_free(in1);
    evbuffer_free(out);
}
END_TEST

static void
build_count_mismatch(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("a"), C_INT("b")};
    const char *r[] = {"1|2", NULL};
    const char *r1[] = {"1", NULL};

    text_shard(src[0], c, 2, r);
    text_shard(src[1], c, 1, r1);
}

static void
build_mixed(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("a")};
    const char *r[] = {"1", NULL};

    text_shard(src[0], c, 1, r);
    put_ok(src[1], 1, 1, 0, ST_AUTO, 0, NULL);
}

static void
build_multi_result(struct evbuffer **src)
{
    put_ok(src[0], 1, 1, 0, ST_AUTO | SERVER_MORE_RESULTS_EXISTS, 0, NULL);
    put_ok(src[0], 2, 1, 0, ST_AUTO, 0, NULL);
    put_ok(src[1], 1, 1, 0, ST_AUTO, 0, NULL);
}

START_TEST(test_shards_disagree)
{
    struct merge_spec ms = spec();

    check_prefix(&ms, false, 2, build_count_mismatch,
                 "ERR 1105 myshard: shards returned different column counts");
    check_prefix(&ms, false, 2, build_mixed,
                 "ERR 1105 myshard: shards answered differently");
    check_prefix(&ms, false, 2, build_multi_result,
                 "ERR 1235 myshard: statements returning several results");
}
END_TEST

/* ---- flow control and large rows ---------------------------------------- */

START_TEST(test_backpressure_pauses)
{
    struct merge_spec ms = spec_sort(0, false);
    struct outcome o = run(&ms, false, 3, build_nine, 3);

    ck_assert_int_eq(o.st, MERGE_DONE);
    ck_assert_int_gt(o.paused, 5);
    ck_assert_str_eq(o.text,
                     "v [1] [2] [3] [4] [5] [6] [7] [8] [9] EOF st=2 w=0");
    free(o.text);
    ms = spec();
    o = run(&ms, false, 3, build_nine, 3);
    ck_assert_int_eq(o.st, MERGE_DONE);
    ck_assert_int_gt(o.paused, 5);
    free(o.text);
}
END_TEST

#define HUGE_LEN ((size_t)PACKET_MAX_PAYLOAD + 1000)

static void
build_huge(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("k"), C_BIN("blob")};
    char *big = malloc(HUGE_LEN);
    const char *vals[2] = {"2", big};
    size_t lens[2] = {1, HUGE_LEN};
    struct shard s;

    memset(big, 'x', HUGE_LEN);
    sh_begin(&s, src[0], c, 2);
    sh_row(&s, "1|small");
    rs_row(&s.w, vals, lens);
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 2);
    sh_row(&s, "3|tail");
    sh_end(&s, ST_AUTO);
    free(big);
}

START_TEST(test_huge_row)
{
    struct merge_spec ms = spec();
    const char *want =
        "k,blob [1,small] [2,<len:16778215>] [3,tail] EOF st=2 w=0";

    rand_chunk = 1 << 16;
    for (int mode = 0; mode < NMODES; mode += mode ? 1 : 2) {
        struct outcome o = run(&ms, false, 2, build_huge, mode);
        sort_rows(o.text);
        ck_assert_str_eq(o.text, want);
        free(o.text);
    }
    /* The decoding path (a k-way merge) joins and re-splits it too. */
    ms = spec_sort(0, false);
    {
        struct outcome o = run(&ms, false, 2, build_huge, 2);
        ck_assert_str_eq(o.text, want);
        free(o.text);
    }
    rand_chunk = 300;
}
END_TEST

/* ---- broken input, lost sources ----------------------------------------- */

static void
build_malformed(struct evbuffer **src)
{
    uint8_t seq = 1;
    struct coldef c[1] = {C_INT("v")};
    const char *r[] = {"1", NULL};

    packet_write(src[0], &seq, "\x01", 1);
    packet_write(src[0], &seq,
                 "\x03"
                 "de",
                 3); /* a truncated column definition */
    text_shard(src[1], c, 1, r);
}

START_TEST(test_malformed_is_broken)
{
    struct merge_spec ms = spec();

    for (int mode = 0; mode < NMODES; mode++) {
        struct outcome o = run(&ms, false, 2, build_malformed, mode);
        ck_assert_int_eq(o.st, MERGE_BROKEN);
        ck_assert_int_eq(o.broken_src, 0);
        ck_assert_str_eq(o.text,
                         "ERR 1105 myshard: shard 0 sent a malformed response");
        free(o.text);
    }
}
END_TEST

START_TEST(test_lost_source)
{
    struct merge_spec ms = spec_sort(0, false);
    struct evbuffer *in0 = evbuffer_new(), *out = evbuffer_new();
    struct coldef c[1] = {C_INT("v")};
    struct merge *m = merge_new(&ms, 2, false, 1);
    struct shard s0;
    uint16_t code = 0;
    char *text;

    sh_begin(&s0, in0, c, 1);
    sh_row(&s0, "1");
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_MORE);
    ck_assert_int_eq(merge_fail_source(m, 1, out, BIG, 2013,
                                       "myshard: lost connection to shard 1"),
                     MERGE_MORE);
    ck_assert_str_eq(merge_error(m, &code),
                     "myshard: lost connection to shard 1");
    ck_assert_uint_eq(code, 2013);
    ck_assert(!merge_source_done(m, 1));
    sh_row(&s0, "2");
    sh_end(&s0, ST_AUTO);
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_DONE);
    ck_assert(merge_source_done(m, 0));
    ck_assert(merge_client_intact(m));
    text = decode(out, 1, false);
    ck_assert_str_eq(text, "ERR 2013 myshard: lost connection to shard 1");
    free(text);
    merge_free(m);
    evbuffer_free(in0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_bad_plan)
{
    struct merge_spec ms = spec_sort(5, false); /* no such column */

    check_prefix(&ms, false, 3, build_nine,
                 "ERR 1105 myshard: the merge plan does not fit");
    ck_assert_ptr_null(merge_new(&ms, 0, false, 1));
}
END_TEST

/* Corrupted responses: any outcome but a crash (the sanitizers watch) or
 * a merge that claims more than it read. */
START_TEST(test_corrupt_input)
{
    struct merge_spec specs[4];
    struct evbuffer *pend[MAXSRC], *in[MAXSRC], *out = evbuffer_new();

    specs[0] = spec();
    specs[1] = spec_sort(0, true);
    specs[2] = spec_group();
    specs[3] = spec_group();
    specs[3].npost_sort = 1;
    specs[3].post_sort[0].col = 2;
    specs[3].distinct = true;
    rnd_state = 99;
    for (int iter = 0; iter < 400; iter++) {
        const struct merge_spec *ms = &specs[iter % 4];
        bool binary = iter % 8 >= 4;
        int n = binary ? 2 : 3;
        struct merge *m = merge_new(ms, n, binary, 1);
        enum merge_status st = MERGE_MORE;

        for (int i = 0; i < 3; i++) {
            pend[i] = evbuffer_new();
            in[i] = evbuffer_new();
        }
        if (binary)
            build_binary_order(pend);
        else
            build_groups(pend);
        for (int flips = 1 + (int)(rnd() % 3); flips > 0; flips--) {
            int i = (int)(rnd() % (uint32_t)n);
            size_t len = evbuffer_get_length(pend[i]);
            uint8_t *p = evbuffer_pullup(pend[i], -1);
            p[rnd() % len] = (uint8_t)rnd();
        }
        while (st == MERGE_MORE || st == MERGE_PAUSED) {
            int i = (int)(rnd() % (uint32_t)n);
            if (evbuffer_get_length(pend[0]) + evbuffer_get_length(pend[1]) +
                    evbuffer_get_length(pend[2]) ==
                0)
                break;
            evbuffer_remove_buffer(pend[i], in[i], 1 + rnd() % 40);
            st = merge_pump(m, i, in[i], out, iter % 2 ? 1 : BIG);
            evbuffer_drain(out, evbuffer_get_length(out));
        }
        for (int k = 0; st == MERGE_PAUSED && k < 100000; k++) {
            st = merge_pump(m, -1, NULL, out, iter % 2 ? 1 : BIG);
            evbuffer_drain(out, evbuffer_get_length(out));
        }
        ck_assert_int_ne(st, MERGE_PAUSED);
        merge_free(m);
        for (int i = 0; i < 3; i++) {
            evbuffer_free(pend[i]);
            evbuffer_free(in[i]);
        }
    }
    evbuffer_free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("merge");
    TCase *tc = tcase_create("merge");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_concat_seq_wraps);
    tcase_add_test(tc, test_hidden_sort_column);
    tcase_add_test(tc, test_limit_offset);
    tcase_add_test(tc, test_limit_concat_fast_path);
    tcase_add_test(tc, test_ok_summing);
    tcase_add_test(tc, test_error_before_rows);
    tcase_add_test(tc, test_error_after_rows);
    tcase_add_test(tc, test_shards_disagree);
    tcase_add_test(tc, test_backpressure_pauses);
    tcase_add_test(tc, test_huge_row);
    tcase_add_test(tc, test_malformed_is_broken);
    tcase_add_test(tc, test_lost_source);
    tcase_add_test(tc, test_bad_plan);
    tcase_add_test(tc, test_corrupt_input);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
