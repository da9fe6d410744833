/*
 * clusterlimit.h - the Redis side of rate limits shared by several
 * instances: on the cluster thread, one atomic Lua script per lease
 * (base/ratelease.h has the arithmetic it mirrors, base/ratelimit.h the
 * leases the workers spend). All leases due are pipelined in one round
 * trip.
 */
#ifndef MYSHARD_BACKEND_CLUSTERLIMIT_H
#define MYSHARD_BACKEND_CLUSTERLIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define CLUSTERLIMIT_PREFIX "myshard:rl:"

struct redisContext;

/* Asks for the leases due now. false (why set) when Redis did not answer:
 * the connection is then unusable. */
bool clusterlimit_refresh(struct redisContext *cmd, char *why, size_t len);

#endif
