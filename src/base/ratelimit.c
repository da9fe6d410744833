/*
 * ratelimit.c - the four statement rate limiters of ratelimit.h, each on one
 * 64-bit atomic changed by a compare-and-swap loop. The bucket algorithms
 * keep a time in nanoseconds (TAT for the token bucket, the next departure
 * for the leaky bucket); the window algorithms pack the window number and
 * their counts into one word. A refusal writes nothing, so a limiter under
 * a flood of refused statements only reads its cache line and bumps a
 * counter.
 *
 * Every value stays far from int64 overflow: times are clamped below 2^62
 * ns (146 years of uptime), intervals below 2^55 ns and bucket depths below
 * 2^60 ns, so TAT + T and NEXT + T cannot wrap.
 */
#include "base/ratelimit.h"

#include <math.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ratelease.h"

#define NS_PER_US         1000
#define NS_PER_S          1000000000.0
#define US_PER_MS         1000
#define NOW_MAX_US        (((int64_t)1 << 62) / NS_PER_US)
#define INTERVAL_MAX_NS   ((int64_t)1 << 55) /* about 1.1 years */
#define DEPTH_MAX_NS      ((int64_t)1 << 60) /* about 36 years */
#define WINDOW_MAX_MS     (72LL * 3600 * 1000)
#define FIXED_LIMIT_MAX   0xFFFFFFFFull /* window number keeps >= 32 bits */
#define SLIDING_LIMIT_MAX 0xFFFFFFull   /* window number keeps >= 16 bits */

struct ratelimit {
    /* The shared state, alone on its cache line. Token bucket: TAT, ns.
     * Leaky bucket: next departure, ns. Windows: packed, see below. */
    alignas(64) _Atomic uint64_t state;

    alignas(64) enum rl_algo algo;
    int64_t interval_ns; /* buckets: 1/rate, rounded up, >= 1 */
    int64_t depth_ns;    /* token: burst * interval; leaky: max_wait */
    int64_t window_us;   /* windows: W */
    uint64_t limit;      /* windows: L, statements per window */
    int cbits;           /* windows: bits of one count (bit width of L) */
    uint64_t cmask;      /* windows: (1 << cbits) - 1 */
    uint64_t imask;      /* windows: mask of the stored window number */
    uint64_t lag;        /* windows: how far behind a caller may be */

    alignas(64) _Atomic long long admitted; /* at once */
    _Atomic long long delayed;              /* after a wait (leaky) */
    _Atomic long long refused;

    /* Shared limiters (a key): the lease, spent by the workers. */
    alignas(64) _Atomic int64_t lease_tokens;
    _Atomic int64_t lease_until_us; /* clock_us; the lease lapses then */
    _Atomic int64_t demand_us;      /* last statement, to the ms */
    _Atomic int64_t debt;           /* admitted without a lease */
    atomic_bool wanted;             /* a worker asked for a lease */

    /* The registry's, under reg.lock. */
    char *key;
    double rate;
    int64_t burst;
    struct ratelimit *prev, *next;
    bool busy;           /* the cluster thread is asking Redis */
    bool dead;           /* freed meanwhile: the grant frees it */
    int64_t next_ask_us; /* not before (after a short grant) */
    int64_t lease_window;
};

/* Every limiter's mode (see ratelimit.h): read on each statement. */
static _Atomic int cl_shared;        /* leases are spent */
static _Atomic int cl_instances = 1; /* the local share's divisor */

static struct {
    pthread_mutex_t lock;
    struct ratelimit *head;
    int n;
    void (*wake)(void);
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

const char *
ratelimit_algo_name(enum rl_algo algo)
{
    switch (algo) {
    case RLA_TOKEN_BUCKET:
        return "token_bucket";
    case RLA_LEAKY_BUCKET:
        return "leaky_bucket";
    case RLA_SLIDING_WINDOW:
        return "sliding_window";
    case RLA_FIXED_WINDOW:
        return "fixed_window";
    }
    return "?";
}

/* 1/rate in nanoseconds, rounded up (never a faster rate than asked) but
 * forgiving the last bits of floating-point noise: 50/s is 20 ms exactly. */
static int64_t
interval_ns(double rate)
{
    double t = NS_PER_S / rate;

    t = ceil(t - t * 1e-12);
    if (t < 1)
        return 1;
    if (t > (double)INTERVAL_MAX_NS)
        return INTERVAL_MAX_NS;
    return (int64_t)t;
}

static int
bit_width(uint64_t v)
{
    int n = 0;

    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

/* Window limits: L = floor(rate), at least 1, at most max; the packing
 * leaves 64 - ncounts * bit_width(L) bits for the window number. */
static void
window_setup(struct ratelimit *rl, double rate, int64_t window_ms, uint64_t max,
             int ncounts)
{
    double l = floor(rate);
    rl->limit = l < 1 ? 1 : l > (double)max ? max : (uint64_t)l;
    rl->window_us = window_ms * US_PER_MS;
    rl->cbits = bit_width(rl->limit);
    rl->cmask = ((uint64_t)1 << rl->cbits) - 1;
    rl->imask = UINT64_MAX >> (ncounts * rl->cbits);
    /* a racing thread is at most a second late; far less than a wrap */
    rl->lag = (uint64_t)((1000000 + rl->window_us - 1) / rl->window_us);
    if (rl->lag < 2)
        rl->lag = 2;
    if (rl->lag > rl->imask >> 2)
        rl->lag = rl->imask >> 2;
}

struct ratelimit *
ratelimit_new(enum rl_algo algo, double rate, int64_t burst, int64_t window_ms,
              int64_t max_wait_ms)
{
    struct ratelimit *rl;

    if (!isfinite(rate) || rate <= 0)
        return NULL;
    switch (algo) {
    case RLA_TOKEN_BUCKET:
        if (burst < 1)
            return NULL;
        break;
    case RLA_LEAKY_BUCKET:
        if (max_wait_ms < 0)
            return NULL;
        break;
    case RLA_SLIDING_WINDOW:
    case RLA_FIXED_WINDOW:
        if (window_ms < 1 || window_ms > WINDOW_MAX_MS)
            return NULL;
        break;
    default:
        return NULL;
    }
    rl = aligned_alloc(alignof(struct ratelimit), sizeof(*rl));
    if (rl == NULL)
        return NULL;
    *rl = (struct ratelimit){.algo = algo, .rate = rate, .burst = burst};
    atomic_init(&rl->state, 0);
    atomic_init(&rl->admitted, 0);
    atomic_init(&rl->delayed, 0);
    atomic_init(&rl->refused, 0);

    switch (algo) {
    case RLA_TOKEN_BUCKET:
        rl->interval_ns = interval_ns(rate);
        rl->depth_ns = burst > DEPTH_MAX_NS / rl->interval_ns
                           ? DEPTH_MAX_NS
                           : burst * rl->interval_ns;
        break;
    case RLA_LEAKY_BUCKET:
        rl->interval_ns = interval_ns(rate);
        rl->depth_ns = max_wait_ms > DEPTH_MAX_NS / 1000000
                           ? DEPTH_MAX_NS
                           : max_wait_ms * 1000000;
        break;
    case RLA_SLIDING_WINDOW:
        window_setup(rl, rate, window_ms, SLIDING_LIMIT_MAX, 2);
        break;
    case RLA_FIXED_WINDOW:
        window_setup(rl, rate, window_ms, FIXED_LIMIT_MAX, 1);
        break;
    }
    return rl;
}

static void
unlink_locked(struct ratelimit *rl)
{
    if (rl->prev)
        rl->prev->next = rl->next;
    else
        reg.head = rl->next;
    if (rl->next)
        rl->next->prev = rl->prev;
    reg.n--;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    if (rl->key != NULL) {
        pthread_mutex_lock(&reg.lock);
        unlink_locked(rl);
        if (rl->busy) { /* the cluster thread holds it: it frees it */
            rl->dead = true;
            pthread_mutex_unlock(&reg.lock);
            return;
        }
        pthread_mutex_unlock(&reg.lock);
        free(rl->key);
    }
    free(rl);
}

/* GCRA: admit iff max(TAT, now) + T - now <= B*T; store the new TAT. */
static int64_t
token_take(struct ratelimit *rl, int64_t now_ns, int64_t interval,
           int64_t depth)
{
    uint64_t old = atomic_load_explicit(&rl->state, memory_order_relaxed);
    int64_t tat, next;

    do {
        tat = (int64_t)old > now_ns ? (int64_t)old : now_ns;
        next = tat + interval;
        if (next - now_ns > depth)
            return -1;
    } while (!atomic_compare_exchange_weak_explicit(
        &rl->state, &old, (uint64_t)next, memory_order_relaxed,
        memory_order_relaxed));
    return 0;
}

/* Leave at max(NEXT, now) unless that is more than max_wait away. */
static int64_t
leaky_take(struct ratelimit *rl, int64_t now_ns, int64_t interval)
{
    uint64_t old = atomic_load_explicit(&rl->state, memory_order_relaxed);
    int64_t start, wait;

    do {
        start = (int64_t)old > now_ns ? (int64_t)old : now_ns;
        wait = start - now_ns;
        if (wait > rl->depth_ns)
            return -1;
    } while (!atomic_compare_exchange_weak_explicit(
        &rl->state, &old, (uint64_t)(start + interval), memory_order_relaxed,
        memory_order_relaxed));
    return (wait + NS_PER_US - 1) / NS_PER_US;
}

/*
 * How many windows the stored window i must move forward for a caller in
 * window w (both modulo imask + 1); 0 with *behind set when the caller is
 * a little behind i and counts in i.
 */
static uint64_t
window_advance(const struct ratelimit *rl, uint64_t i, uint64_t w, bool *behind)
{
    uint64_t back = (i - w) & rl->imask;

    *behind = back != 0 && back <= rl->lag;
    if (*behind)
        return 0;
    return (w - i) & rl->imask;
}

/* Fixed window: the state is (window number << cbits) | count. */
static int64_t
fixed_take(struct ratelimit *rl, int64_t now_us, uint64_t limit)
{
    uint64_t w = (uint64_t)(now_us / rl->window_us) & rl->imask;
    uint64_t old = atomic_load_explicit(&rl->state, memory_order_relaxed);
    uint64_t i, count, next;
    bool behind;

    do {
        i = old >> rl->cbits;
        count = old & rl->cmask;
        if (window_advance(rl, i, w, &behind) != 0) {
            i = w;
            count = 0;
        }
        if (count >= limit)
            return -1;
        next = i << rl->cbits | (count + 1);
    } while (!atomic_compare_exchange_weak_explicit(
        &rl->state, &old, next, memory_order_relaxed, memory_order_relaxed));
    return 0;
}

/*
 * Sliding window: the state is (window number << 2*cbits) | (cur << cbits)
 * | prev. Admit iff cur*W + prev*(W - e) < L*W; every term is below
 * 2^24 * 2^38, so the sum fits.
 */
static int64_t
sliding_take(struct ratelimit *rl, int64_t now_us, uint64_t limit)
{
    int64_t win = now_us / rl->window_us;
    uint64_t w = (uint64_t)win & rl->imask;
    uint64_t width = (uint64_t)rl->window_us;
    uint64_t elapsed = (uint64_t)(now_us - win * rl->window_us);
    uint64_t old = atomic_load_explicit(&rl->state, memory_order_relaxed);
    uint64_t i, cur, prev, adv, e, next;
    bool behind;

    do {
        i = old >> (2 * rl->cbits);
        cur = old >> rl->cbits & rl->cmask;
        prev = old & rl->cmask;
        e = elapsed;
        adv = window_advance(rl, i, w, &behind);
        if (behind) {
            e = 0; /* as at the start of the stored window */
        } else if (adv == 1) {
            prev = cur;
            cur = 0;
            i = w;
        } else if (adv > 1) {
            prev = 0;
            cur = 0;
            i = w;
        }
        if (cur * width + prev * (width - e) >= limit * width)
            return -1;
        next = i << (2 * rl->cbits) | (cur + 1) << rl->cbits | prev;
    } while (!atomic_compare_exchange_weak_explicit(
        &rl->state, &old, next, memory_order_relaxed, memory_order_relaxed));
    return 0;
}

/* The instance's own decision, on its share (1/k) of the limit. */
static int64_t
local_take(struct ratelimit *rl, int64_t now_us, int k)
{
    int64_t interval = rl->interval_ns, depth = rl->depth_ns;
    uint64_t limit = rl->limit;

    if (k > 1) {
        interval =
            interval > INTERVAL_MAX_NS / k ? INTERVAL_MAX_NS : interval * k;
        /* the burst shrinks with the rate (depth/interval statements),
         * but never below one */
        if (depth < interval && rl->algo == RLA_TOKEN_BUCKET)
            depth = interval;
        limit = limit / (uint64_t)k ? limit / (uint64_t)k : 1;
    }
    switch (rl->algo) {
    case RLA_TOKEN_BUCKET:
        return token_take(rl, now_us * NS_PER_US, interval, depth);
    case RLA_LEAKY_BUCKET:
        return leaky_take(rl, now_us * NS_PER_US, interval);
    case RLA_FIXED_WINDOW:
        return fixed_take(rl, now_us, limit);
    case RLA_SLIDING_WINDOW:
        return sliding_take(rl, now_us, limit);
    }
    return -1;
}

static void
want_lease(struct ratelimit *rl)
{
    void (*wake)(void) = reg.wake;

    if (!atomic_load_explicit(&rl->wanted, memory_order_relaxed) &&
        !atomic_exchange(&rl->wanted, true) && wake != NULL)
        wake();
}

/* Spends the lease: 0 admitted, -1 refused (the lease is spent), 1 when
 * there is no lease to spend. */
static int64_t
lease_take(struct ratelimit *rl, int64_t now_us)
{
    int64_t t;

    if (now_us - atomic_load_explicit(&rl->demand_us, memory_order_relaxed) >=
        1000)
        atomic_store_explicit(&rl->demand_us, now_us, memory_order_relaxed);
    if (now_us >=
        atomic_load_explicit(&rl->lease_until_us, memory_order_acquire)) {
        want_lease(rl);
        return 1;
    }
    t = atomic_load_explicit(&rl->lease_tokens, memory_order_relaxed);
    do {
        if (t <= 0) {
            want_lease(rl);
            return -1;
        }
    } while (!atomic_compare_exchange_weak_explicit(&rl->lease_tokens, &t,
                                                    t - 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    if (t == 1)
        want_lease(rl); /* the last one: ask for the next lease now */
    return 0;
}

int64_t
ratelimit_take(struct ratelimit *rl, int64_t now_us)
{
    int k = atomic_load_explicit(&cl_instances, memory_order_relaxed);
    int64_t r = 1;

    if (now_us < 0)
        now_us = 0;
    if (now_us > NOW_MAX_US)
        now_us = NOW_MAX_US;
    if (rl->key != NULL && rl->algo != RLA_LEAKY_BUCKET &&
        atomic_load_explicit(&cl_shared, memory_order_relaxed))
        r = lease_take(rl, now_us);
    if (r == 1) {
        r = local_take(rl, now_us, k);
        if (r == 0 && rl->key != NULL && rl->algo != RLA_LEAKY_BUCKET &&
            atomic_load_explicit(&cl_shared, memory_order_relaxed))
            atomic_fetch_add_explicit(&rl->debt, 1, memory_order_relaxed);
    }
    if (r == 0)
        atomic_fetch_add_explicit(&rl->admitted, 1, memory_order_relaxed);
    else if (r > 0)
        atomic_fetch_add_explicit(&rl->delayed, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&rl->refused, 1, memory_order_relaxed);
    return r;
}

void
ratelimit_counts(const struct ratelimit *rl, long long *admitted,
                 long long *delayed, long long *refused)
{
    if (admitted)
        *admitted = atomic_load_explicit(&rl->admitted, memory_order_relaxed);
    if (delayed)
        *delayed = atomic_load_explicit(&rl->delayed, memory_order_relaxed);
    if (refused)
        *refused = atomic_load_explicit(&rl->refused, memory_order_relaxed);
}

/* --- several instances ---------------------------------------------------- */

void
ratelimit_cluster_set(bool shared, int instances)
{
    if (instances < 1)
        instances = 1;
    atomic_store(&cl_instances, instances);
    if ((atomic_load(&cl_shared) != 0) == shared)
        return;
    /* Leases from before belong to another mode (or another Redis): drop
     * them, and the debt with them. */
    pthread_mutex_lock(&reg.lock);
    for (struct ratelimit *rl = reg.head; rl; rl = rl->next) {
        atomic_store(&rl->lease_until_us, 0);
        atomic_store(&rl->lease_tokens, 0);
        atomic_store(&rl->debt, 0);
        rl->next_ask_us = 0;
    }
    atomic_store(&cl_shared, shared);
    pthread_mutex_unlock(&reg.lock);
}

bool
ratelimit_cluster_shared(void)
{
    return atomic_load(&cl_shared) != 0;
}

int
ratelimit_cluster_instances(void)
{
    return atomic_load(&cl_instances);
}

void
ratelimit_set_wake(void (*wake)(void))
{
    reg.wake = wake;
}

void
ratelimit_set_key(struct ratelimit *rl, const char *key)
{
    size_t n = strlen(key);
    char *k = malloc(n + 1);

    if (k == NULL || rl->key != NULL) {
        free(k);
        return; /* not shared: it keeps counting on this instance */
    }
    memcpy(k, key, n + 1);
    pthread_mutex_lock(&reg.lock);
    rl->key = k;
    rl->next = reg.head;
    rl->prev = NULL;
    if (reg.head)
        reg.head->prev = rl;
    reg.head = rl;
    reg.n++;
    pthread_mutex_unlock(&reg.lock);
}

int
ratelimit_shared_count(void)
{
    int n;

    pthread_mutex_lock(&reg.lock);
    n = reg.n;
    pthread_mutex_unlock(&reg.lock);
    return n;
}

static bool
needs_lease(struct ratelimit *rl, int64_t n, int64_t now_us)
{
    int64_t until = atomic_load(&rl->lease_until_us);

    if (atomic_load(&rl->wanted) || now_us >= until)
        return true;
    if (rl->algo == RLA_TOKEN_BUCKET && until - now_us < 100000)
        return true; /* renew before it lapses */
    return atomic_load(&rl->lease_tokens) * 2 <= n;
}

int
ratelimit_wants(struct ratelimit_want *out, int max, int64_t now_us)
{
    int k = atomic_load(&cl_instances), got = 0;

    if (!atomic_load(&cl_shared))
        return 0;
    pthread_mutex_lock(&reg.lock);
    for (struct ratelimit *rl = reg.head; rl && got < max; rl = rl->next) {
        struct ratelimit_want *w = &out[got];
        int64_t n;

        if (rl->busy || rl->algo == RLA_LEAKY_BUCKET ||
            now_us - atomic_load(&rl->demand_us) > 1000000 ||
            now_us < rl->next_ask_us)
            continue;
        n = ratelease_size(rl->algo, rl->rate, rl->burst, k);
        if (!needs_lease(rl, n, now_us))
            continue;
        rl->busy = true;
        atomic_store(&rl->wanted, false);
        *w = (struct ratelimit_want){.rl = rl, .algo = rl->algo, .n = n};
        snprintf(w->key, sizeof(w->key), "%s", rl->key);
        w->debt = atomic_exchange(&rl->debt, 0);
        if (rl->algo == RLA_TOKEN_BUCKET) {
            w->a = ratelease_interval_us(rl->rate);
            w->b = w->a * (rl->burst < 1 ? 1 : rl->burst);
        } else {
            w->a = rl->window_us;
            w->b = (int64_t)rl->limit;
        }
        got++;
    }
    pthread_mutex_unlock(&reg.lock);
    return got;
}

void
ratelimit_lease_grant(const struct ratelimit_want *w, bool ok, int64_t granted,
                      int64_t window, int64_t valid_us, int64_t now_us)
{
    struct ratelimit *rl = w->rl;

    pthread_mutex_lock(&reg.lock);
    rl->busy = false;
    if (rl->dead) {
        pthread_mutex_unlock(&reg.lock);
        free(rl->key);
        free(rl);
        return;
    }
    if (!ok || !atomic_load(&cl_shared)) {
        if (ok == false)
            atomic_fetch_add(&rl->debt, w->debt);
        pthread_mutex_unlock(&reg.lock);
        return;
    }
    if (window != rl->lease_window ||
        now_us >= atomic_load(&rl->lease_until_us))
        atomic_store(&rl->lease_tokens, granted); /* a new window or lease */
    else
        atomic_fetch_add(&rl->lease_tokens, granted);
    rl->lease_window = window;
    atomic_store_explicit(&rl->lease_until_us, now_us + valid_us,
                          memory_order_release);
    rl->next_ask_us = granted < w->n ? now_us + RATELEASE_RETRY_US : 0;
    pthread_mutex_unlock(&reg.lock);
}
