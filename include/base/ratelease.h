/*
 * ratelease.h - the arithmetic of rate limits shared by several instances
 * (cluster.redis). Each instance takes a lease: a batch of the shared
 * budget, granted by one atomic Redis script, which its workers then spend
 * locally without a round trip per statement. The script
 * (backend/clusterlimit.c) computes exactly what these functions compute;
 * they are here, pure and in C, so the rules are tested with simulated
 * clocks.
 *
 * Sizes: a lease is about 1/20 of the limit's rate per second, split
 * between the instances, so what one instance may hold unused (and lose
 * when the lease lapses) stays within 5% of the limit in total.
 *
 * "Debt": statements an instance admitted on its local share while it held
 * no lease (at start, after an idle spell). The next lease request pays
 * them into the shared budget first, so over any span longer than a lease
 * the instances together stay within the limit.
 */
#ifndef MYSHARD_BASE_RATELEASE_H
#define MYSHARD_BASE_RATELEASE_H

#include <stdint.h>

#include "base/ratelimit.h"

#define RATELEASE_FRACTION 20      /* a lease: 1/20 of the rate, shared */
#define RATELEASE_VALID_US 1000000 /* token bucket leases lapse after 1 s */
#define RATELEASE_RETRY_US 5000    /* after a short grant, ask again then */

/* Statements one lease asks for: token bucket: rate/20 per instance (at
 * least 1, at most the instance's share of the burst); windows (rate =
 * the window's limit L): L/20 per instance, at least 1. Leaky bucket: 0
 * (never leased: it waits locally on its share of the rate). */
int64_t ratelease_size(enum rl_algo algo, double rate, int64_t burst,
                       int instances);

/* Emission interval of the token bucket in Redis, in microseconds:
 * ceil(1e6 / rate), at least 1. */
int64_t ratelease_interval_us(double rate);

/*
 * Token bucket (GCRA) lease at now (us): the stored theoretical arrival
 * time *tat first takes the debt (tat = max(tat, now) + debt * T), then
 * grants the largest k <= n with tat + k*T - now <= depth (depth =
 * burst * T), storing tat + k*T. Returns k (0 when the bucket is empty).
 */
int64_t ratelease_gcra(int64_t *tat, int64_t now, int64_t interval,
                       int64_t depth, int64_t debt, int64_t n);

/* Fixed window: *count (this window's, all instances) takes the debt,
 * then grants min(n, limit - count), at least 0, counted in *count. */
int64_t ratelease_fixed(int64_t *count, int64_t limit, int64_t debt, int64_t n);

/*
 * Sliding window (the two-window estimate of ratelimit.h): *cur takes the
 * debt, then grants the largest k <= n such that each of the k statements
 * would be admitted: (cur + j) * W + prev * (W - e) < L * W for j < k,
 * i.e. k = ceil((L*W - prev*(W - e)) / W) - cur, at least 0.
 */
int64_t ratelease_sliding(int64_t *cur, int64_t prev, int64_t elapsed,
                          int64_t window, int64_t limit, int64_t debt,
                          int64_t n);

#endif
