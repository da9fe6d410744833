/*
 * test_ratelimit.c - the four rate limiters against simulated clocks (the
 * figures of issue 7's "Done when": token bucket 50/s burst 10, fixed window
 * 30/s, sliding window 5/s, leaky bucket 20/s with a spike of 30), and four
 * threads hammering one limiter: never more admitted than the algorithm
 * allows, and the counters add up to the calls made.
 */
#include "base/clock.h"
#include "base/ratelimit.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define MS 1000LL    /* microseconds */
#define S  1000000LL /* microseconds */

static struct ratelimit *
must_new(enum rl_algo algo, double rate, int64_t burst, int64_t window_ms,
         int64_t max_wait_ms)
{
    struct ratelimit *rl =
        ratelimit_new(algo, rate, burst, window_ms, max_wait_ms);

    ck_assert_ptr_nonnull(rl);
    return rl;
}

/* n statements at one instant; returns how many were admitted (at once or
 * after a delay). */
static int
spike(struct ratelimit *rl, int64_t now, int n)
{
    int ok = 0;

    for (int i = 0; i < n; i++)
        ok += ratelimit_take(rl, now) >= 0;
    return ok;
}

/* One statement every step from 'from' (inclusive) to 'to' (exclusive);
 * returns how many were admitted. */
static int
demand(struct ratelimit *rl, int64_t from, int64_t to, int64_t step)
{
    int ok = 0;

    for (int64_t t = from; t < to; t += step)
        ok += ratelimit_take(rl, t) >= 0;
    return ok;
}

static void
check_counts(struct ratelimit *rl, long long admitted, long long delayed,
             long long refused)
{
    long long a, d, r;

    ratelimit_counts(rl, &a, &d, &r);
    ck_assert_int_eq(a, admitted);
    ck_assert_int_eq(d, delayed);
    ck_assert_int_eq(r, refused);
}

/* --- parameters ---------------------------------------------------------- */

START_TEST(test_bad_parameters)
{
    ck_assert_ptr_null(ratelimit_new(0, 10, 10, 1000, 1000));
    ck_assert_ptr_null(ratelimit_new(5, 10, 10, 1000, 1000));
    for (int a = RLA_TOKEN_BUCKET; a <= RLA_FIXED_WINDOW; a++) {
        ck_assert_ptr_null(ratelimit_new(a, 0, 10, 1000, 1000));
        ck_assert_ptr_null(ratelimit_new(a, -1, 10, 1000, 1000));
        ck_assert_ptr_null(ratelimit_new(a, NAN, 10, 1000, 1000));
        ck_assert_ptr_null(ratelimit_new(a, INFINITY, 10, 1000, 1000));
    }
    ck_assert_ptr_null(ratelimit_new(RLA_TOKEN_BUCKET, 10, 0, 1000, 1000));
    ck_assert_ptr_null(ratelimit_new(RLA_LEAKY_BUCKET, 10, 10, 1000, -1));
    ck_assert_ptr_null(ratelimit_new(RLA_FIXED_WINDOW, 10, 10, 0, 1000));
    ck_assert_ptr_null(ratelimit_new(RLA_SLIDING_WINDOW, 10, 10, 0, 1000));
    ck_assert_ptr_null(ratelimit_new(RLA_SLIDING_WINDOW, 10, 10,
                                     72LL * 3600 * 1000 + 1, 1000));
    /* a parameter of another algorithm is ignored */
    ratelimit_free(must_new(RLA_TOKEN_BUCKET, 10, 10, 0, -1));
    ratelimit_free(must_new(RLA_LEAKY_BUCKET, 10, 0, 0, 0));
    ratelimit_free(must_new(RLA_FIXED_WINDOW, 10, 0, 1, -1));
    ratelimit_free(
        must_new(RLA_SLIDING_WINDOW, 1e9, 0, 72LL * 3600 * 1000, -1));
    ratelimit_free(NULL);
    ck_assert_str_eq(ratelimit_algo_name(RLA_LEAKY_BUCKET), "leaky_bucket");
    ck_assert_str_eq(ratelimit_algo_name(RLA_SLIDING_WINDOW), "sliding_window");
}
END_TEST

/* --- token bucket -------------------------------------------------------- */

START_TEST(test_token_burst)
{
    struct ratelimit *rl = must_new(RLA_TOKEN_BUCKET, 50, 10, 0, 0);

    /* full bucket: 10 of a spike of 15 pass */
    for (int i = 0; i < 15; i++)
        ck_assert_int_eq(ratelimit_take(rl, 0), i < 10 ? 0 : -1);
    /* one token every 20 ms, not a microsecond earlier */
    ck_assert_int_eq(ratelimit_take(rl, 20 * MS - 1), -1);
    ck_assert_int_eq(ratelimit_take(rl, 20 * MS), 0);
    ck_assert_int_eq(ratelimit_take(rl, 20 * MS), -1);
    ck_assert_int_eq(ratelimit_take(rl, 40 * MS), 0);
    check_counts(rl, 12, 0, 7);
    /* idle for 10 s: the bucket holds 10 again, not 500 */
    ck_assert_int_eq(spike(rl, 10 * S, 100), 10);
    ratelimit_free(rl);
}
END_TEST

/* 50/s, burst 10, a statement every millisecond for t seconds: about
 * 10 + 50 t admitted. */
START_TEST(test_token_over_time)
{
    static const int secs[] = {1, 2, 5, 10};

    for (size_t k = 0; k < sizeof(secs) / sizeof(secs[0]); k++) {
        struct ratelimit *rl = must_new(RLA_TOKEN_BUCKET, 50, 10, 0, 0);
        int want = 10 + 50 * secs[k];
        int got = demand(rl, 0, secs[k] * S, MS);

        ck_assert_msg(abs(got - want) <= 1, "%d s: %d admitted, want %d",
                      secs[k], got, want);
        check_counts(rl, got, 0, secs[k] * 1000 - got);
        ratelimit_free(rl);
    }
}
END_TEST

START_TEST(test_token_rates)
{
    struct ratelimit *rl;
    int got;

    /* 0.5/s, burst 1: one every 2 s */
    rl = must_new(RLA_TOKEN_BUCKET, 0.5, 1, 0, 0);
    ck_assert_int_eq(demand(rl, 0, 10 * S, 100 * MS), 5);
    ratelimit_free(rl);

    /* the sample config's 20000/s burst 2000, a call every 10 us for 1 s */
    rl = must_new(RLA_TOKEN_BUCKET, 20000, 2000, 0, 0);
    got = demand(rl, 0, S, 10);
    ck_assert_msg(abs(got - 22000) <= 1, "%d admitted", got);
    ratelimit_free(rl);

    /* 3/s: 1/3 s rounds up to 333333334 ns, never faster than asked */
    rl = must_new(RLA_TOKEN_BUCKET, 3, 1, 0, 0);
    ck_assert_int_eq(ratelimit_take(rl, 0), 0);
    ck_assert_int_eq(ratelimit_take(rl, 333333), -1);
    ck_assert_int_eq(ratelimit_take(rl, 333334), 0);
    ratelimit_free(rl);
}
END_TEST

/* --- leaky bucket -------------------------------------------------------- */

/* 20/s, a spike of 30 at once with max_wait 2 s: they leave 50 ms apart,
 * the last after 1450 ms - 1.5 s of steady flow, nothing refused. */
START_TEST(test_leaky_spike_queues)
{
    struct ratelimit *rl = must_new(RLA_LEAKY_BUCKET, 20, 0, 0, 2000);

    for (int n = 0; n < 30; n++)
        ck_assert_int_eq(ratelimit_take(rl, 5 * S), n * 50 * MS);
    check_counts(rl, 1, 29, 0);
    /* the queue drains at 20/s: at 5.5 s the next one waits 1000 ms */
    ck_assert_int_eq(ratelimit_take(rl, 5 * S + 500 * MS), 1000 * MS);
    ratelimit_free(rl);
}
END_TEST

/* Same spike with max_wait 1 s: waits of 0..1000 ms pass (21), the 9 that
 * would wait longer are refused and take no slot. */
START_TEST(test_leaky_spike_refuses)
{
    struct ratelimit *rl = must_new(RLA_LEAKY_BUCKET, 20, 0, 0, 1000);

    for (int n = 0; n < 30; n++)
        ck_assert_int_eq(ratelimit_take(rl, 0), n <= 20 ? n * 50 * MS : -1);
    check_counts(rl, 1, 20, 9);
    /* the refusals left the queue as it was: 50 ms later one more fits,
     * departing at 1050 ms, right after the 21st */
    ck_assert_int_eq(ratelimit_take(rl, 49 * MS), -1);
    ck_assert_int_eq(ratelimit_take(rl, 50 * MS), 1000 * MS);
    ck_assert_int_eq(ratelimit_take(rl, 50 * MS), -1);
    /* once the queue has drained, the next one leaves at once */
    ck_assert_int_eq(ratelimit_take(rl, 1100 * MS), 0);
    ratelimit_free(rl);
}
END_TEST

START_TEST(test_leaky_steady)
{
    struct ratelimit *rl = must_new(RLA_LEAKY_BUCKET, 20, 0, 0, 1000);
    long long a, d, r;

    /* arrivals at the rate are never delayed */
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(ratelimit_take(rl, i * 50 * MS), 0);
    ratelimit_free(rl);

    /* 40/s offered for 10 s: n is admitted while it would leave within
     * 1 s, n * 50 ms <= t + 1000 ms; the last arrival, at 9975 ms, is the
     * 220th (n = 219) */
    rl = must_new(RLA_LEAKY_BUCKET, 20, 0, 0, 1000);
    ck_assert_int_eq(demand(rl, 0, 10 * S, 25 * MS), 220);
    ratelimit_counts(rl, &a, &d, &r);
    ck_assert_int_eq(a + d + r, 400);
    ck_assert_int_eq(r, 400 - 220);
    ratelimit_free(rl);

    /* max_wait 0: a meter, whatever cannot leave at once is refused */
    rl = must_new(RLA_LEAKY_BUCKET, 20, 0, 0, 0);
    ck_assert_int_eq(spike(rl, 0, 5), 1);
    ck_assert_int_eq(ratelimit_take(rl, 50 * MS), 0);
    check_counts(rl, 2, 0, 4);
    ratelimit_free(rl);

    /* a sub-microsecond wait still reports as a delay: 3/s leaves every
     * 333333334 ns */
    rl = must_new(RLA_LEAKY_BUCKET, 3, 0, 0, 1000);
    ck_assert_int_eq(ratelimit_take(rl, 0), 0);
    ck_assert_int_eq(ratelimit_take(rl, 333333), 1);
    ratelimit_free(rl);
}
END_TEST

/* --- fixed window -------------------------------------------------------- */

START_TEST(test_fixed_boundary)
{
    struct ratelimit *rl = must_new(RLA_FIXED_WINDOW, 30, 0, 1000, 0);

    /* 30 per aligned window; the rest of a spike is refused */
    ck_assert_int_eq(spike(rl, 900 * MS, 100), 30);
    ck_assert_int_eq(spike(rl, 999 * MS, 10), 0);
    /* the next window starts afresh at 1 s: 60 within 100 ms, so one
     * second straddling the boundary admits 60 */
    ck_assert_int_eq(spike(rl, 1000 * MS, 100), 30);
    check_counts(rl, 60, 0, 150);
    /* idle windows in between: 30 again */
    ck_assert_int_eq(spike(rl, 7 * S + 500 * MS, 100), 30);
    /* a caller whose clock is a window behind counts in the stored one */
    ck_assert_int_eq(spike(rl, 6 * S + 900 * MS, 10), 0);
    ck_assert_int_eq(spike(rl, 8 * S, 10), 10);
    ratelimit_free(rl);

    /* whole statements: 2.5 per window admits 2, 0.5 admits 1 */
    rl = must_new(RLA_FIXED_WINDOW, 2.5, 0, 1000, 0);
    ck_assert_int_eq(spike(rl, 0, 10), 2);
    ratelimit_free(rl);
    rl = must_new(RLA_FIXED_WINDOW, 0.5, 0, 1000, 0);
    ck_assert_int_eq(spike(rl, 0, 10), 1);
    ratelimit_free(rl);
}
END_TEST

/* 30/s under a statement every millisecond for 10 s: every aligned window
 * admits exactly 30 and every one-second span between 30 and 60. */
START_TEST(test_fixed_spans)
{
    struct ratelimit *rl = must_new(RLA_FIXED_WINDOW, 30, 0, 1000, 0);
    static char ok[10000]; /* admitted at ms */
    int min = 1 << 30, max = 0;

    for (int t = 0; t < 10000; t++)
        ok[t] = ratelimit_take(rl, t * MS) == 0;
    for (int w = 0; w < 10; w++) {
        int n = 0;

        for (int t = w * 1000; t < (w + 1) * 1000; t++)
            n += ok[t];
        ck_assert_int_eq(n, 30);
    }
    for (int s = 0; s + 1000 <= 10000; s++) {
        int n = 0;

        for (int t = s; t < s + 1000; t++)
            n += ok[t];
        if (n < min)
            min = n;
        if (n > max)
            max = n;
    }
    ck_assert_int_ge(min, 30);
    ck_assert_int_le(max, 60);
    ratelimit_free(rl);

    /* demand arriving late in each window: 60 in one second */
    rl = must_new(RLA_FIXED_WINDOW, 30, 0, 1000, 0);
    ck_assert_int_eq(demand(rl, 970 * MS, 1030 * MS, MS), 60);
    ratelimit_free(rl);
}
END_TEST

/* --- sliding window ------------------------------------------------------ */

/* 5/s: admit iff cur + prev * (1 - elapsed/W) < 5 */
START_TEST(test_sliding_figures)
{
    struct ratelimit *rl = must_new(RLA_SLIDING_WINDOW, 5, 0, 1000, 0);

    ck_assert_int_eq(spike(rl, 0, 10), 5);
    /* window 1 starts with prev = 5 at full weight: nothing */
    ck_assert_int_eq(spike(rl, 1000 * MS, 10), 0);
    /* half way: 5 * 0.5 = 2.5 of the previous window; cur 0, 1, 2 pass */
    ck_assert_int_eq(spike(rl, 1500 * MS, 10), 3);
    /* at 80%: 5 * 0.2 = 1; cur 3 passes, cur 4 does not */
    ck_assert_int_eq(spike(rl, 1800 * MS, 10), 1);
    /* window 2: prev = 4 at full weight, one more */
    ck_assert_int_eq(spike(rl, 2000 * MS, 10), 1);
    /* window 3 at 50%: prev = 1 weighs 0.5; cur 0..4 pass */
    ck_assert_int_eq(spike(rl, 3500 * MS, 10), 5);
    /* at the end of window 5, two windows after the last count: 5 again */
    ck_assert_int_eq(spike(rl, 5 * S + 999 * MS, 10), 5);
    check_counts(rl, 20, 0, 50);
    ratelimit_free(rl);
}
END_TEST

/* 5/s under a statement every 10 ms for 20 s: about 5 per second overall,
 * at most 5 per aligned window, at most 10 in any one-second span. */
START_TEST(test_sliding_steady)
{
    struct ratelimit *rl = must_new(RLA_SLIDING_WINDOW, 5, 0, 1000, 0);
    static char ok[2000]; /* admitted at 10 ms steps */
    int total = 0, max = 0;

    for (int t = 0; t < 2000; t++) {
        ok[t] = ratelimit_take(rl, t * 10 * MS) == 0;
        total += ok[t];
    }
    ck_assert_msg(total >= 95 && total <= 105, "%d admitted", total);
    for (int w = 0; w < 20; w++) {
        int n = 0;

        for (int t = w * 100; t < (w + 1) * 100; t++)
            n += ok[t];
        ck_assert_int_le(n, 5);
    }
    for (int s = 0; s + 100 <= 2000; s++) {
        int n = 0;

        for (int t = s; t < s + 100; t++)
            n += ok[t];
        if (n > max)
            max = n;
    }
    ck_assert_int_le(max, 10);
    ratelimit_free(rl);
}
END_TEST

/* A large limit with a 1 ms window, three days into the clock: counts stay
 * exact (18 bits each, the window number keeps 28). */
START_TEST(test_sliding_large)
{
    struct ratelimit *rl = must_new(RLA_SLIDING_WINDOW, 200000, 0, 1, 0);
    int64_t day = 86400 * S;

    ck_assert_int_eq(spike(rl, 3 * day, 200001), 200000);
    ck_assert_int_eq(spike(rl, 3 * day + 1 * MS, 10), 0);
    ck_assert_int_eq(spike(rl, 3 * day + 1 * MS + 500, 200001), 100000);
    ck_assert_int_eq(spike(rl, 3 * day + 3 * MS, 200001), 200000);
    ratelimit_free(rl);

    /* above 2^24 - 1 per window the limit is clamped */
    rl = must_new(RLA_SLIDING_WINDOW, 1e9, 0, 1000, 0);
    ck_assert_int_eq(spike(rl, 0, 0xFFFFFF + 5), 0xFFFFFF);
    ratelimit_free(rl);
}
END_TEST

/* --- threads ------------------------------------------------------------- */

#define THREADS 4
#define CALLS   200000

/* A simulated clock all threads share: each call takes the next
 * microsecond (0, 1, 2, ...) and reaches the limiter with it, so calls may
 * arrive out of order. The rates are high enough that many calls race for
 * each admission: a lost update shows up as over-admission. */
struct hammer {
    struct ratelimit *rl;
    _Atomic int64_t clock; /* us */
    bool real_time;        /* use clock_us() instead, for a duration */
    int64_t until_us;
};

struct tally {
    struct hammer *h;
    long long admitted, delayed, refused;
};

static void *
hammer_run(void *arg)
{
    struct tally *t = arg;
    struct hammer *h = t->h;

    for (long i = 0;; i++) {
        int64_t now, r;

        if (h->real_time) {
            now = clock_us();
            if (now >= h->until_us)
                break;
        } else {
            if (i == CALLS)
                break;
            now = atomic_fetch_add(&h->clock, 1);
        }
        r = ratelimit_take(h->rl, now);
        if (r == 0)
            t->admitted++;
        else if (r > 0)
            t->delayed++;
        else
            t->refused++;
    }
    return NULL;
}

/* Runs THREADS threads on rl; returns the summed tallies after checking
 * that they equal the limiter's counters. */
static struct tally
hammer(struct hammer *h)
{
    pthread_t th[THREADS];
    struct tally t[THREADS] = {0}, sum = {0};
    long long a, d, r;

    for (int i = 0; i < THREADS; i++) {
        t[i].h = h;
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_run, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        sum.admitted += t[i].admitted;
        sum.delayed += t[i].delayed;
        sum.refused += t[i].refused;
    }
    ratelimit_counts(h->rl, &a, &d, &r);
    ck_assert_int_eq(a, sum.admitted);
    ck_assert_int_eq(d, sum.delayed);
    ck_assert_int_eq(r, sum.refused);
    if (!h->real_time)
        ck_assert_int_eq(a + d + r, (long long)THREADS * CALLS);
    return sum;
}

/* 250000/s burst 50, calls at 0 .. t = 0.8 s - 1 us: at most
 * 50 + 250000 t + 1 */
START_TEST(test_threads_token)
{
    struct hammer h = {.rl = must_new(RLA_TOKEN_BUCKET, 250000, 50, 0, 0)};
    struct tally s = hammer(&h);
    double secs = (double)(atomic_load(&h.clock) - 1) / S;
    double bound = 50 + 250000 * secs + 1;

    ck_assert_int_eq(s.delayed, 0);
    ck_assert_msg(s.admitted <= bound, "%lld admitted > %.0f", s.admitted,
                  bound);
    ck_assert_msg(s.admitted >= bound / 2, "%lld admitted", s.admitted);
    ratelimit_free(h.rl);
}
END_TEST

/* 250000/s, max_wait 1 ms: at most (t + 1 ms) * 250000 + 1 leave */
START_TEST(test_threads_leaky)
{
    struct hammer h = {.rl = must_new(RLA_LEAKY_BUCKET, 250000, 0, 0, 1)};
    struct tally s = hammer(&h);
    double secs = (double)(atomic_load(&h.clock) - 1) / S;
    double bound = (secs + 0.001) * 250000 + 1;

    ck_assert_msg(s.admitted + s.delayed <= bound, "%lld left > %.0f",
                  s.admitted + s.delayed, bound);
    ck_assert_msg(s.admitted + s.delayed >= bound / 2, "%lld left",
                  s.admitted + s.delayed);
    ck_assert_int_gt(s.delayed, 0);
    ratelimit_free(h.rl);
}
END_TEST

/* 2500 per 10 ms window, calls over exactly 80 windows: at most 2500
 * in each */
START_TEST(test_threads_windows)
{
    for (int a = RLA_SLIDING_WINDOW; a <= RLA_FIXED_WINDOW; a++) {
        struct hammer h = {.rl = must_new(a, 2500, 0, 10, 0)};
        struct tally s = hammer(&h);
        long long windows = atomic_load(&h.clock) / (10 * MS);

        ck_assert_int_eq(windows * 10 * MS, atomic_load(&h.clock));
        ck_assert_int_eq(s.delayed, 0);
        ck_assert_msg(s.admitted <= 2500 * windows, "%s: %lld > 2500 * %lld",
                      ratelimit_algo_name(a), s.admitted, windows);
        ck_assert_msg(s.admitted >= 2500 * windows / 2, "%s: %lld admitted",
                      ratelimit_algo_name(a), s.admitted);
        ratelimit_free(h.rl);
    }
}
END_TEST

/* The real clock for 300 ms: 2000/s burst 100 admits at most
 * 100 + 2000 t + 1 over the measured t. */
START_TEST(test_threads_real_clock)
{
    struct hammer h = {.rl = must_new(RLA_TOKEN_BUCKET, 2000, 100, 0, 0),
                       .real_time = true};
    int64_t start = clock_us();
    struct tally s;
    double bound;

    h.until_us = start + 300 * MS;
    s = hammer(&h);
    bound = 100 + 2000 * (double)(clock_us() - start) / S + 1;
    ck_assert_msg(s.admitted <= bound, "%lld admitted > %.0f", s.admitted,
                  bound);
    ck_assert_int_ge(s.admitted, 100);
    ck_assert_int_gt(s.refused, 0);
    ratelimit_free(h.rl);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc;
    SRunner *sr;
    int failed;

    tc = tcase_create("parameters");
    tcase_add_test(tc, test_bad_parameters);
    suite_add_tcase(s, tc);

    tc = tcase_create("token_bucket");
    tcase_add_test(tc, test_token_burst);
    tcase_add_test(tc, test_token_over_time);
    tcase_add_test(tc, test_token_rates);
    suite_add_tcase(s, tc);

    tc = tcase_create("leaky_bucket");
    tcase_add_test(tc, test_leaky_spike_queues);
    tcase_add_test(tc, test_leaky_spike_refuses);
    tcase_add_test(tc, test_leaky_steady);
    suite_add_tcase(s, tc);

    tc = tcase_create("fixed_window");
    tcase_add_test(tc, test_fixed_boundary);
    tcase_add_test(tc, test_fixed_spans);
    suite_add_tcase(s, tc);

    tc = tcase_create("sliding_window");
    tcase_add_test(tc, test_sliding_figures);
    tcase_add_test(tc, test_sliding_steady);
    tcase_add_test(tc, test_sliding_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_test(tc, test_threads_token);
    tcase_add_test(tc, test_threads_leaky);
    tcase_add_test(tc, test_threads_windows);
    tcase_add_test(tc, test_threads_real_clock);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
