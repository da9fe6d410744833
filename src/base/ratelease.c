/*
 * ratelease.c - see ratelease.h. Integer arithmetic only; the Redis script
 * in backend/clusterlimit.c mirrors it line for line.
 */
#include "base/ratelease.h"

#include <math.h>

static int64_t
clamp(int64_t k, int64_t n)
{
    if (k > n)
        k = n;
    return k < 0 ? 0 : k;
}

int64_t
ratelease_size(enum rl_algo algo, double rate, int64_t burst, int instances)
{
    double n;

    if (instances < 1)
        instances = 1;
    switch (algo) {
    case RLA_TOKEN_BUCKET: {
        int64_t cap = burst / instances;
        n = ceil(rate / (RATELEASE_FRACTION * instances));
        if (cap < 1)
            cap = 1;
        if (n > (double)cap)
            n = (double)cap;
        break;
    }
    case RLA_SLIDING_WINDOW:
    case RLA_FIXED_WINDOW:
        n = floor(floor(rate) / (RATELEASE_FRACTION * instances));
        break;
    default:
        return 0;
    }
    return n < 1 ? 1 : n > 1e9 ? 1000000000 : (int64_t)n;
}

int64_t
ratelease_interval_us(double rate)
{
    double t = ceil(1e6 / rate - 1e-9);
    return t < 1 ? 1 : t > 1e15 ? (int64_t)1e15 : (int64_t)t;
}

int64_t
ratelease_gcra(int64_t *tat, int64_t now, int64_t interval, int64_t depth,
               int64_t debt, int64_t n)
{
    int64_t t = *tat > now ? *tat : now;
    int64_t k;

    t += debt * interval;
    k = clamp((now + depth - t) / interval, n);
    if (now + depth - t < 0)
        k = 0; /* C division truncates towards zero */
    *tat = t + k * interval;
    return k;
}

int64_t
ratelease_fixed(int64_t *count, int64_t limit, int64_t debt, int64_t n)
{
    int64_t k;

    *count += debt;
    k = clamp(limit - *count, n);
    *count += k;
    return k;
}

int64_t
ratelease_sliding(int64_t *cur, int64_t prev, int64_t elapsed, int64_t window,
                  int64_t limit, int64_t debt, int64_t n)
{
    int64_t x, k;

    *cur += debt;
    x = limit * window - prev * (window - elapsed);
    /* ceil(x / W) for any sign of x */
    k = x > 0 ? (x + window - 1) / window : -((-x) / window);
    k = clamp(k - *cur, n);
    *cur += k;
    return k;
}
