/*
 * ratelimit.h - statement rate limiters shared by all worker threads.
 *
 * One limiter holds the state of one limit (a user's or a policy's) for the
 * whole proxy instance. Its state is one 64-bit atomic changed by a
 * compare-and-swap loop: ratelimit_take() takes no lock, never blocks and
 * never sleeps; a refused statement changes no state. Time is passed in by
 * the caller (monotonic microseconds, clock_us()), so the algorithms are
 * pure and tested with simulated clocks. Parameters are plain numbers: the
 * config layer maps its rate_limit section onto ratelimit_new().
 *
 * The four algorithms and their exact rules (R = rate, B = burst,
 * W = window, D = max_wait, now = the caller's time):
 *
 * RLA_TOKEN_BUCKET (R statements per second, bucket of B): GCRA. With the
 *   emission interval T = 1/R (in nanoseconds, rounded up, 1 ns to about
 *   1.1 years: the effective rate is 1e9/T, never above R and within 0.1%
 *   of it up to 1,000,000/s) and the stored theoretical arrival time TAT:
 *       new = max(TAT, now) + T;   admit iff new - now <= B * T,
 *   and an admission stores TAT = new. Equivalent to a bucket of B tokens
 *   refilled at R per second, starting full: over t seconds of demand,
 *   B + R*t statements are admitted (to within one), and an idle limiter
 *   never holds more than B. Never delays: returns 0 or -1.
 *
 * RLA_LEAKY_BUCKET (R statements per second, wait at most D): statements
 *   leave the bucket one per T = 1/R (as above); the stored value is the
 *   next free departure time NEXT:
 *       start = max(NEXT, now);   wait = start - now;
 *       admit iff wait <= D, storing NEXT = start + T.
 *   The n-th statement of a spike (n = 0, 1, ...) on an idle limiter waits
 *   n * T: at 20/s a spike of 30 waits 0, 50 ms, ... 1450 ms, about 1.5 s of
 *   steady flow. A statement that would wait longer than D is refused and
 *   takes no departure slot. D = 0 refuses whatever cannot leave at once.
 *
 * RLA_FIXED_WINDOW (L statements per window W): windows are aligned on the
 *   clock, window k being [k*W, (k+1)*W); a window admits its first L
 *   statements and refuses the rest. Any span of length W therefore admits
 *   at most 2L (L at the end of one window, L at the start of the next),
 *   and under continuous demand above the limit at least L.
 *
 * RLA_SLIDING_WINDOW (L statements per window W): the two-window estimate.
 *   With the window k = floor(now / W), e = now - k*W the time elapsed in
 *   it, cur the statements admitted in window k and prev those admitted in
 *   window k-1, a statement is admitted iff the estimated count of the last
 *   W before it stays below the limit:
 *       cur + prev * (W - e) / W < L
 *   (computed exactly in integers: cur*W + prev*(W - e) < L*W), and then
 *   counts in cur. The previous window's count is taken as spread evenly
 *   over that window. Steady demand above the limit gets L per window; a
 *   window never admits more than L, so any span of length W at most 2L.
 *
 * Window limits count whole statements: L = floor(R), at least 1. L is
 * clamped to 2^32 - 1 (fixed) and 2^24 - 1 (sliding), so that the window
 * number keeps at least 32 (fixed) or 16 (sliding) bits in the packed state:
 * for the fixed window the state is (window number mod 2^(64-c), count) and
 * for the sliding window (window number mod 2^(64-2c), cur, prev), where
 * c = the bit width of L. The window number is kept modulo that power of
 * two; a limiter left idle for (within a second of) an exact multiple of
 * 2^(64-c) or 2^(64-2c) windows may count against stale counts for up to
 * about a second - fewer admissions, never more.
 *
 * Threads: callers read their clock and then call ratelimit_take(), so calls
 * may reach the limiter slightly out of time order. A caller whose time is
 * behind the stored state is counted as if it arrived at the stored time:
 * the token and leaky bucket need nothing for that (TAT or NEXT is already
 * later), and a window caller at most max(2 windows, 1 s) behind counts in
 * the stored window, as at its start. Such calls can only lower admissions.
 * A window caller further behind (a thread stalled for over a second between
 * reading its clock and calling) is taken as a wrap of the window number
 * and starts its window afresh, which may admit up to L more once.
 */
#ifndef MYSHARD_BASE_RATELIMIT_H
#define MYSHARD_BASE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* The values match enum cfg_rl_algo (RL_TOKEN_BUCKET..RL_FIXED_WINDOW). */
enum rl_algo {
    RLA_TOKEN_BUCKET = 1,
    RLA_LEAKY_BUCKET,
    RLA_SLIDING_WINDOW,
    RLA_FIXED_WINDOW,
};

struct ratelimit; /* shared by all threads; state in atomics */

/*
 * Creates a limiter, idle (a full bucket, empty windows). rate: statements
 * per second (token and leaky bucket) or per window (windows), finite and
 * > 0. burst: token bucket only, >= 1. window_ms: windows only, 1 to 72 h
 * (259200000). max_wait_ms: leaky bucket only, >= 0. Parameters of other
 * algorithms are ignored. Returns NULL on a bad parameter or out of memory.
 * The caller frees it with ratelimit_free() once no thread uses it.
 */
struct ratelimit *ratelimit_new(enum rl_algo algo, double rate, int64_t burst,
                                int64_t window_ms, int64_t max_wait_ms);
/* Frees rl; NULL is a no-op. */
void ratelimit_free(struct ratelimit *rl);

/*
 * One statement arriving at now_us (monotonic microseconds, >= 0; a
 * negative time is taken as 0). Returns 0 when it is admitted now, a
 * positive delay in microseconds when it is admitted but must wait that
 * long first (leaky bucket only; rounded up to whole microseconds), or -1
 * when it is refused. Thread-safe and lock-free; never blocks.
 */
int64_t ratelimit_take(struct ratelimit *rl, int64_t now_us);

/*
 * Reads the counters: statements admitted at once, admitted after a delay
 * (leaky bucket), and refused. Each ratelimit_take() adds one to exactly
 * one of them. Any pointer may be NULL. Each counter is read atomically;
 * the three together are a snapshot only when no take runs concurrently.
 */
void ratelimit_counts(const struct ratelimit *rl, long long *admitted,
                      long long *delayed, long long *refused);

/* The algorithm name as written in the config ("token_bucket", ...). */
const char *ratelimit_algo_name(enum rl_algo algo);

/* --- several instances (cluster.redis) ---------------------------------
 *
 * With cluster.redis set, the cluster thread names each user's and
 * policy's limiter (ratelimit_set_key) and sets the mode of all of them:
 *
 * - shared (Redis up): token bucket and windows spend leases, batches of
 *   the budget shared by every instance (base/ratelease.h), granted by the
 *   cluster thread; a statement that finds the lease empty is refused. One
 *   that finds no lease at all (at start, after an idle second) is decided
 *   on the instance's share, below, and owed to the shared budget;
 * - local (Redis down, or never reached): each limiter admits its share:
 *   the rate (token and leaky bucket; the burst too) or the window's
 *   limit divided by the instances last seen alive, at least 1.
 *
 * The leaky bucket always waits locally, on its share of the rate. Without
 * cluster.redis nothing changes: the share is the whole limit. */

/* The mode of every limiter: shared counting or the local share of
 * 1/instances (>= 1). A change of `shared` drops every lease. */
void ratelimit_cluster_set(bool shared, int instances);
bool ratelimit_cluster_shared(void);
int ratelimit_cluster_instances(void);

/* Makes rl one of the shared limiters under key (its Redis key's suffix).
 * Call before any thread uses it. */
void ratelimit_set_key(struct ratelimit *rl, const char *key);
/* Called (on a worker) when a lease ran out or is missing, at most once
 * until the cluster thread next asks ratelimit_wants(). */
void ratelimit_set_wake(void (*wake)(void));

/* One lease to ask Redis for: everything the script needs. */
struct ratelimit_want {
    struct ratelimit *rl; /* give back to ratelimit_lease_grant() */
    char key[192];
    enum rl_algo algo;
    int64_t n;    /* statements asked for */
    int64_t debt; /* admitted without a lease, to pay first */
    int64_t a;    /* token: interval (us); windows: window (us) */
    int64_t b;    /* token: depth (us); windows: limit */
};
/* The limiters that need a lease at now_us (clock_us): used in the last
 * second, and their lease lapsed, nearly spent or asked for by a worker.
 * Fills at most max; each returned limiter must be given back with
 * ratelimit_lease_grant() (it is not freed before). Returns the count. */
int ratelimit_wants(struct ratelimit_want *out, int max, int64_t now_us);
/* Redis's answer: granted statements, the window they belong to (0 for
 * the token bucket) and how long they stay valid. ok = false: no answer
 * (the debt is kept for the next try). */
void ratelimit_lease_grant(const struct ratelimit_want *w, bool ok,
                           int64_t granted, int64_t window, int64_t valid_us,
                           int64_t now_us);
/* How many limiters are shared (the cluster thread polls faster then). */
int ratelimit_shared_count(void);

#endif
