/*
 * test_ratelease.c - rate limits shared by several instances: the lease
 * arithmetic (base/ratelease.h, which the Redis script mirrors) and two
 * instances' limiters spending leases from one simulated Redis under a
 * simulated clock, for the token bucket and both windows: together they
 * admit the limit, within 10%, whatever the demand. Redis down: each
 * limiter holds its share (1/instances).
 */
#include "base/ratelease.h"
#include "base/ratelimit.h"

#include <check.h>
#include <stdlib.h>

#define MS 1000LL
#define S  1000000LL

START_TEST(test_sizes)
{
    /* 1/20 of the rate per second, split between the instances */
    ck_assert_int_eq(ratelease_size(RLA_TOKEN_BUCKET, 200, 200, 1), 10);
    ck_assert_int_eq(ratelease_size(RLA_TOKEN_BUCKET, 200, 200, 2), 5);
    /* never more than the instance's share of the burst, never below 1 */
    ck_assert_int_eq(ratelease_size(RLA_TOKEN_BUCKET, 1000, 10, 2), 5);
    ck_assert_int_eq(ratelease_size(RLA_TOKEN_BUCKET, 3, 1, 4), 1);
    ck_assert_int_eq(ratelease_size(RLA_FIXED_WINDOW, 200, 0, 2), 5);
    ck_assert_int_eq(ratelease_size(RLA_SLIDING_WINDOW, 10, 0, 3), 1);
    ck_assert_int_eq(ratelease_size(RLA_LEAKY_BUCKET, 200, 0, 2), 0);
    ck_assert_int_eq(ratelease_interval_us(200), 5000);
    ck_assert_int_eq(ratelease_interval_us(3), 333334);
    ck_assert_int_eq(ratelease_interval_us(5e6), 1);
}
END_TEST

START_TEST(test_gcra)
{
    int64_t tat = 0;

    /* 200/s (T = 5 ms), burst 10: a full bucket grants what is asked */
    ck_assert_int_eq(ratelease_gcra(&tat, 1 * S, 5000, 50000, 0, 4), 4);
    ck_assert_int_eq(tat, 1 * S + 20000);
    /* then the 6 left, not more */
    ck_assert_int_eq(ratelease_gcra(&tat, 1 * S, 5000, 50000, 0, 8), 6);
    ck_assert_int_eq(ratelease_gcra(&tat, 1 * S, 5000, 50000, 0, 8), 0);
    ck_assert_int_eq(tat, 1 * S + 50000);
    /* 12 ms later two more have dripped in */
    ck_assert_int_eq(ratelease_gcra(&tat, 1 * S + 12000, 5000, 50000, 0, 8), 2);
    /* a debt of 3 is paid first: the bucket is then empty for 15 ms */
    tat = 0;
    ck_assert_int_eq(ratelease_gcra(&tat, 2 * S, 5000, 10000, 3, 8), 0);
    ck_assert_int_eq(tat, 2 * S + 15000);
    ck_assert_int_eq(ratelease_gcra(&tat, 2 * S + 10000, 5000, 10000, 0, 8), 1);
}
END_TEST

START_TEST(test_fixed)
{
    int64_t count = 0;

    ck_assert_int_eq(ratelease_fixed(&count, 10, 0, 4), 4);
    ck_assert_int_eq(ratelease_fixed(&count, 10, 2, 4), 4);
    ck_assert_int_eq(count, 10);
    ck_assert_int_eq(ratelease_fixed(&count, 10, 0, 4), 0);
    /* a debt beyond the limit grants nothing, and is still counted */
    ck_assert_int_eq(ratelease_fixed(&count, 10, 5, 4), 0);
    ck_assert_int_eq(count, 15);
}
END_TEST

/* The sliding grant is exactly the statements the two-window rule admits
 * one by one. */
START_TEST(test_sliding_matches_rule)
{
    srand(7);
    for (int i = 0; i < 20000; i++) {
        int64_t w = 1000 + rand() % 100000, l = 1 + rand() % 300;
        int64_t e = rand() % w, prev = rand() % (l + 1);
        int64_t cur0 = rand() % (l + 1), n = 1 + rand() % 50;
        int64_t cur = cur0, k, want = 0;

        k = ratelease_sliding(&cur, prev, e, w, l, 0, n);
        while (want < n && (cur0 + want) * w + prev * (w - e) < l * w)
            want++;
        ck_assert_int_eq(k, want);
        ck_assert_int_eq(cur, cur0 + k);
    }
}
END_TEST

/* --- two instances, one simulated Redis ---------------------------------- */

struct redis_sim {
    int64_t tat;      /* token bucket */
    int64_t cnt[256]; /* windows, by window number mod 256 */
    int64_t win[256];
};

static int64_t *
win_count(struct redis_sim *r, int64_t w)
{
    int i = (int)(w % 256);
    if (r->win[i] != w) {
        r->win[i] = w;
        r->cnt[i] = 0;
    }
    return &r->cnt[i];
}

/* What the cluster thread does, with the C mirror of the script. */
static void
lease_round(struct redis_sim *r, int64_t now)
{
    struct ratelimit_want w[8];
    int n = ratelimit_wants(w, 8, now);

    for (int i = 0; i < n; i++) {
        int64_t k, win = 0, valid = RATELEASE_VALID_US;
        if (w[i].algo == RLA_TOKEN_BUCKET) {
            k = ratelease_gcra(&r->tat, now, w[i].a, w[i].b, w[i].debt, w[i].n);
        } else {
            win = now / w[i].a;
            valid = (win + 1) * w[i].a - now;
            if (w[i].algo == RLA_FIXED_WINDOW)
                k = ratelease_fixed(win_count(r, win), w[i].b, w[i].debt,
                                    w[i].n);
            else
                k = ratelease_sliding(win_count(r, win), *win_count(r, win - 1),
                                      now - win * w[i].a, w[i].a, w[i].b,
                                      w[i].debt, w[i].n);
        }
        ratelimit_lease_grant(&w[i], true, k, win, valid, now);
    }
}

/* Two instances each offered `demand` statements/s for `secs` seconds
 * (after a first second not counted); the cluster thread of each renews
 * leases every 5 ms. Returns the statements admitted per second. */
static double
two_instances(enum rl_algo algo, double rate, int64_t burst, int demand,
              int secs)
{
    struct ratelimit *a = ratelimit_new(algo, rate, burst, 1000, 0);
    struct ratelimit *b = ratelimit_new(algo, rate, burst, 1000, 0);
    struct redis_sim *r = calloc(1, sizeof(*r));
    int64_t step = S / demand, admitted = 0;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ratelimit_set_key(a, "user:app");
    ratelimit_set_key(b, "user:app");
    ratelimit_cluster_set(true, 2);
    for (int64_t now = 10 * S; now < (11 + secs) * S; now += step) {
        bool counted = now >= 11 * S;
        if (now % (5 * MS) < step)
            lease_round(r, now);
        admitted += (ratelimit_take(a, now) == 0) && counted;
        admitted += (ratelimit_take(b, now + step / 2) == 0) && counted;
    }
    ratelimit_cluster_set(false, 1);
    ratelimit_free(a);
    ratelimit_free(b);
    free(r);
    return (double)admitted / secs;
}

START_TEST(test_two_instances_token)
{
    double got = two_instances(RLA_TOKEN_BUCKET, 200, 20, 2000, 5);
    ck_assert_msg(got >= 180 && got <= 220, "%.1f/s", got);
    got = two_instances(RLA_TOKEN_BUCKET, 1000, 1000, 5000, 5);
    ck_assert_msg(got >= 900 && got <= 1100, "%.1f/s", got);
}
END_TEST

START_TEST(test_two_instances_windows)
{
    double got = two_instances(RLA_FIXED_WINDOW, 200, 0, 2000, 5);
    ck_assert_msg(got >= 180 && got <= 220, "fixed %.1f/s", got);
    got = two_instances(RLA_SLIDING_WINDOW, 200, 0, 2000, 5);
    ck_assert_msg(got >= 180 && got <= 220, "sliding %.1f/s", got);
}
END_TEST

/* Demand below the limit: every statement is admitted. */
START_TEST(test_two_instances_under_limit)
{
    double got = two_instances(RLA_TOKEN_BUCKET, 200, 200, 80, 5);
    ck_assert_msg(got >= 159 && got <= 161, "%.1f/s", got);
    got = two_instances(RLA_FIXED_WINDOW, 200, 0, 80, 5);
    ck_assert_msg(got >= 159 && got <= 161, "fixed %.1f/s", got);
}
END_TEST

/* Redis down: one instance's limiter admits its share, 1/2. */
START_TEST(test_local_share)
{
    enum rl_algo algos[] = {RLA_TOKEN_BUCKET, RLA_FIXED_WINDOW,
                            RLA_SLIDING_WINDOW};

    for (size_t i = 0; i < 3; i++) {
        struct ratelimit *rl = ratelimit_new(algos[i], 200, 20, 1000, 0);
        int admitted = 0;

        ratelimit_set_key(rl, "user:app");
        ratelimit_cluster_set(false, 2);
        for (int64_t now = 0; now < 5 * S; now += 500)
            admitted += ratelimit_take(rl, now) == 0;
        ck_assert_msg(admitted >= 450 && admitted <= 520, "%s: %d",
                      ratelimit_algo_name(algos[i]), admitted);
        ratelimit_cluster_set(false, 1);
        ratelimit_free(rl);
    }
}
END_TEST

/* The leaky bucket always waits on its share: at 200/s over 2 instances a
 * spike leaves one per 10 ms, shared or not. */
START_TEST(test_leaky_share)
{
    struct ratelimit *rl = ratelimit_new(RLA_LEAKY_BUCKET, 200, 0, 0, 1000);

    ratelimit_set_key(rl, "user:app");
    ratelimit_cluster_set(true, 2);
    ck_assert_int_eq(ratelimit_take(rl, S), 0);
    ck_assert_int_eq(ratelimit_take(rl, S), 10000);
    ck_assert_int_eq(ratelimit_take(rl, S), 20000);
    ratelimit_cluster_set(false, 1);
    ratelimit_free(rl);
}
END_TEST

/* A limiter freed while the cluster thread asks Redis for it is freed by
 * the grant (no use after free: the sanitizers watch). */
START_TEST(test_free_while_asking)
{
    struct ratelimit *rl = ratelimit_new(RLA_TOKEN_BUCKET, 200, 20, 0, 0);
    struct ratelimit_want w[2];

    ratelimit_set_key(rl, "user:app");
    ratelimit_cluster_set(true, 1);
    ck_assert_int_eq(ratelimit_take(rl, S), 0); /* no lease: local */
    ck_assert_int_eq(ratelimit_wants(w, 2, S), 1);
    ck_assert_int_eq(w[0].debt, 1);
    ck_assert_int_eq(ratelimit_shared_count(), 1);
    ratelimit_free(rl);
    ck_assert_int_eq(ratelimit_shared_count(), 0);
    ratelimit_lease_grant(&w[0], true, 5, 0, S, S);
    ratelimit_cluster_set(false, 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ratelease");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_gcra);
    tcase_add_test(tc, test_fixed);
    tcase_add_test(tc, test_sliding_matches_rule);
    tcase_add_test(tc, test_two_instances_token);
    tcase_add_test(tc, test_two_instances_windows);
    tcase_add_test(tc, test_two_instances_under_limit);
    tcase_add_test(tc, test_local_share);
    tcase_add_test(tc, test_leaky_share);
    tcase_add_test(tc, test_free_while_asking);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
