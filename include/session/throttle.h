/*
 * throttle.h - failed logins per client address, and how long the answer
 * to the next failure is held back.
 */
#ifndef MYSHARD_SESSION_THROTTLE_H
#define MYSHARD_SESSION_THROTTLE_H

#include <stdint.h>

/* Addresses remembered at most (THROTTLE_SETS sets of THROTTLE_WAYS); a
 * full set forgets its least recently failing address. */
#define THROTTLE_SETS 1024
#define THROTTLE_WAYS 4

/* The first delay past the free failures; each further failure doubles
 * it, up to the configured cap. */
#define THROTTLE_BASE_MS 250

struct throttle;

struct throttle_rule {
    int64_t free_failures; /* answered at once within the window */
    int64_t window_ms;     /* a failure older than this is forgotten */
    int64_t max_delay_ms;  /* cap; 0 turns throttling off */
};

/* A table of THROTTLE_SETS * THROTTLE_WAYS addresses (~256 KB, fixed). */
struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);
/*
 * Counts one failed login from addr (an IP address without port, at most
 * 45 characters; longer is cut) at now_ms and returns how many ms its
 * answer should be held back: 0 for the first free_failures failures
 * within window_ms of each other, then THROTTLE_BASE_MS doubling per
 * failure up to max_delay_ms. Correct logins are never counted, so they
 * are never slowed. Thread safe.
 */
int64_t throttle_fail(struct throttle *t, const char *addr, int64_t now_ms,
                      const struct throttle_rule *r);
/* Failures counted for addr within the window at now_ms (tests). */
int64_t throttle_failures(struct throttle *t, const char *addr, int64_t now_ms,
                          const struct throttle_rule *r);

/* The process-wide table every worker's logins share (made on first use). */
struct throttle *throttle_global(void);

#endif
