/*
 * protect.h - what is decided about a statement before it runs: the first
 * matching policy (PRODUCT.md "policies": a case-insensitive prefix of the
 * digest and/or a regular expression over it, and/or a user) may deny it,
 * route its reads, or cache it; the user's and the policy's rate limits
 * admit it, delay it (leaky bucket) or refuse it (1226).
 */
#ifndef MYSHARD_SESSION_PROTECT_H
#define MYSHARD_SESSION_PROTECT_H

#include <stddef.h>

struct session;
struct cfg;
struct cfg_policy;
struct cfg_rate_limit;

enum admit {
    ADMIT_GO = 0, /* run it now */
    ADMIT_WAIT,   /* delayed: the command is dispatched again by itself */
    ADMIT_DONE,   /* refused: the error is sent and the command is done */
};

/* For the statement in flight (its digest is s->digest_slot). Sets the
 * statement's route preference and cache TTL. */
enum admit protect_admit(struct session *s);
/* A limit in words ("token_bucket 50/s burst 10"), for errors and the
 * console; "" when there is none. */
void protect_describe_limit(const struct cfg_rate_limit *r, char *buf,
                            size_t len);
/* The first policy for user (index, -1 none) and digest, or NULL. */
const struct cfg_policy *protect_match(const struct cfg *c, int user,
                                       const char *digest);

#endif
