/*
 * test_history.c - admin/history.h: the p99 from a histogram's bucket
 * deltas, rates from counter deltas over the time between ticks, the ring
 * keeping the last HISTORY_LEN samples in order, and its JSON.
 */
#include <check.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/history.h"

static struct stats st;

static void
setup(void)
{
    memset(&st, 0, sizeof(st));
}

static void
teardown(void)
{
}

/* n statements of us microseconds each, through the worker's own path */
static void
observe(int n, long long us)
{
    for (int i = 0; i < n; i++) {
        stats_observe_us(&st, us);
        STATS_ADD(&st, queries_total, 1);
    }
}

START_TEST(test_quantile)
{
    long long le[STATS_NBUCKETS] = {0};

    /* nothing finished: no value */
    ck_assert(history_quantile(le, 0, 0.99) < 0);
    /* 100 statements, all in (1 ms, 2.5 ms]: rank 99 of 100 inside it */
    for (int i = 2; i < STATS_NBUCKETS; i++)
        le[i] = 100;
    ck_assert_double_eq_tol(history_quantile(le, 100, 0.99), 2.485, 1e-9);
    ck_assert_double_eq_tol(history_quantile(le, 100, 0.5), 1.75, 1e-9);
    /* 90 fast (<= 0.5 ms), 10 in (50, 100] ms: the p99 is in the slow ones */
    for (int i = 0; i < STATS_NBUCKETS; i++)
        le[i] = i < 7 ? 90 : 100;
    ck_assert_double_eq_tol(history_quantile(le, 100, 0.99), 95.0, 1e-9);
    ck_assert_double_eq_tol(history_quantile(le, 100, 0.5), 0.5 * 50 / 90,
                            1e-9);
    /* all slower than the last bound: the last bound */
    memset(le, 0, sizeof(le));
    ck_assert_double_eq_tol(history_quantile(le, 7, 0.99), 10000.0, 1e-9);
}
END_TEST

START_TEST(test_rates)
{
    struct history *h = history_new();
    const struct hist_sample *s;

    observe(3, 100);
    history_record(h, &st, 1000, 1700000000000);
    ck_assert_int_eq(history_count(h), 0); /* the first tick only remembers */

    observe(200, 2000); /* 2 ms each */
    STATS_ADD(&st, errors_total, 4);
    STATS_ADD(&st, limit_refused_total, 10);
    STATS_ADD(&st, limit_delayed_total, 2);
    STATS_ADD(&st, pool_timeouts_total, 6);
    STATS_ADD(&st, connections_total, 8);
    history_record(h, &st, 3000, 1700000002000); /* 2 s later */
    ck_assert_int_eq(history_count(h), 1);
    s = history_at(h, 0);
    ck_assert_int_eq(s->t_ms, 1700000002000);
    ck_assert_double_eq_tol(s->qps, 100.0, 1e-9);
    ck_assert_double_eq_tol(s->errors, 2.0, 1e-9);
    ck_assert_double_eq_tol(s->limit_refused, 5.0, 1e-9);
    ck_assert_double_eq_tol(s->limit_delayed, 1.0, 1e-9);
    ck_assert_double_eq_tol(s->pool_timeouts, 3.0, 1e-9);
    ck_assert_double_eq_tol(s->connections, 4.0, 1e-9);
    /* only this interval's statements: all 2 ms, in (1, 2.5] ms */
    ck_assert(s->p99_ms > 1.0 && s->p99_ms <= 2.5);

    /* a quiet second: rates 0, no p99 */
    history_record(h, &st, 4000, 1700000003000);
    s = history_at(h, 1);
    ck_assert_double_eq(s->qps, 0);
    ck_assert(s->p99_ms < 0);

    /* the clock did not move: no sample, no division by zero */
    observe(5, 100);
    history_record(h, &st, 4000, 1700000003000);
    ck_assert_int_eq(history_count(h), 2);
    history_record(h, &st, 5000, 1700000004000);
    ck_assert_double_eq_tol(history_at(h, 2)->qps, 5.0, 1e-9);

    /* counters read behind the previous read count 0, never negative */
    STATS_ADD(&st, queries_total, -3);
    history_record(h, &st, 6000, 1700000005000);
    ck_assert_double_eq(history_at(h, 3)->qps, 0);
    ck_assert_ptr_null(history_at(h, 4));
    ck_assert_ptr_null(history_at(h, -1));
    history_free(h);
}
END_TEST

START_TEST(test_ring)
{
    struct history *h = history_new();

    for (int i = 0; i <= HISTORY_LEN + 25; i++) {
        STATS_ADD(&st, queries_total, i);
        history_record(h, &st, 1000LL * i, 1000LL * i);
    }
    ck_assert_int_eq(history_count(h), HISTORY_LEN);
    /* the oldest kept is tick 26 (ticks 1..25 fell out), the newest the
     * last, in order */
    ck_assert_int_eq(history_at(h, 0)->t_ms, 26000);
    ck_assert_double_eq_tol(history_at(h, 0)->qps, 26.0, 1e-9);
    ck_assert_int_eq(history_at(h, HISTORY_LEN - 1)->t_ms,
                     1000LL * (HISTORY_LEN + 25));
    for (int i = 1; i < HISTORY_LEN; i++)
        ck_assert_int_eq(history_at(h, i)->t_ms - history_at(h, i - 1)->t_ms,
                         1000);
    history_free(h);
}
END_TEST

static char *
render(const struct history *h)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *s;

    history_render_json(h, b);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

START_TEST(test_json)
{
    struct history *h = history_new();
    char *j = render(h);

    ck_assert_str_eq(j, "{\"interval_s\":1,\"len\":0,\"t\":[],\"qps\":[],"
                        "\"p99_ms\":[],\"errors\":[],\"limit_refused\":[],"
                        "\"limit_delayed\":[],\"pool_timeouts\":[],"
                        "\"connections\":[]}\n");
    free(j);
    history_record(h, &st, 0, 1700000000000);
    observe(10, 400);
    history_record(h, &st, 1000, 1700000001000);
    history_record(h, &st, 2000, 1700000002500);
    j = render(h);
    ck_assert_ptr_nonnull(strstr(j, "\"len\":2,\"t\":[1700000001.000,"
                                    "1700000002.500],\"qps\":[10.000,0.000],"
                                    "\"p99_ms\":["));
    ck_assert_ptr_nonnull(strstr(j, ",null],\"errors\":[0.000,0.000]"));
    /* python's parser agrees, where there is one */
    if (system("python3 -c '' >/dev/null 2>&1") == 0) {
        FILE *py = popen("python3 -c 'import json,sys; "
                         "d = json.load(sys.stdin); "
                         "assert d[\"len\"] == 2 and len(d[\"p99_ms\"]) == 2; "
                         "assert d[\"p99_ms\"][1] is None'",
                         "w");

        ck_assert_ptr_nonnull(py);
        fputs(j, py);
        ck_assert_int_eq(pclose(py), 0);
    }
    free(j);
    history_free(h);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("history");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_quantile);
    tcase_add_test(tc, test_rates);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_json);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
