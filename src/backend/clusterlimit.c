/*
 * clusterlimit.c - see clusterlimit.h. The script reads Redis's own clock
 * (TIME), so instances whose clocks differ still agree on the windows.
 * Token bucket state: KEYS[1] holds the theoretical arrival time in
 * microseconds. Windows: KEYS[1]:<window number> holds the window's count
 * (all instances), kept for three windows.
 */
#include "backend/clusterlimit.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/ratelimit.h"

#define WANTS_MAX 64

/* ARGV: algo, n, debt, a, b (see struct ratelimit_want). Returns
 * {granted, window, valid_us}. Mirrors ratelease_gcra, ratelease_fixed
 * and ratelease_sliding. */
static const char LEASE_LUA[] =
    "local algo = tonumber(ARGV[1])\n"
    "local n = tonumber(ARGV[2])\n"
    "local debt = tonumber(ARGV[3])\n"
    "local a = tonumber(ARGV[4])\n"
    "local b = tonumber(ARGV[5])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local k\n"
    "if algo == 1 then\n"
    "  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "  if tat < now then tat = now end\n"
    "  tat = tat + debt * a\n"
    "  k = math.floor((now + b - tat) / a)\n"
    "  if k > n then k = n end\n"
    "  if k < 0 then k = 0 end\n"
    "  tat = tat + k * a\n"
    "  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX',\n"
    "             math.floor((tat - now) / 1000) + 1000)\n"
    "  return {k, 0, 1000000}\n"
    "end\n"
    "local w = math.floor(now / a)\n"
    "local ck = KEYS[1] .. ':' .. string.format('%d', w)\n"
    "local cur = tonumber(redis.call('GET', ck) or '0') + debt\n"
    "if algo == 4 then\n"
    "  k = b - cur\n"
    "else\n"
    "  local pk = KEYS[1] .. ':' .. string.format('%d', w - 1)\n"
    "  local prev = tonumber(redis.call('GET', pk) or '0')\n"
    "  local x = b * a - prev * (a - (now - w * a))\n"
    "  k = math.ceil(x / a) - cur\n"
    "end\n"
    "if k > n then k = n end\n"
    "if k < 0 then k = 0 end\n"
    "cur = cur + k\n"
    "redis.call('SET', ck, string.format('%d', cur), 'PX',\n"
    "           math.floor(3 * a / 1000) + 1000)\n"
    "return {k, w, (w + 1) * a - now}\n";

static long long
elem(const redisReply *r, size_t i)
{
    return r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer
                                                      : 0;
}

bool
clusterlimit_refresh(struct redisContext *cmd, char *why, size_t len)
{
    struct ratelimit_want w[WANTS_MAX];
    int n = ratelimit_wants(w, WANTS_MAX, clock_us()), i;
    bool ok = true;
    static bool warned;

    for (i = 0; i < n; i++)
        if (redisAppendCommand(cmd,
                               "EVAL %s 1 " CLUSTERLIMIT_PREFIX "%s %d "
                               "%lld %lld %lld %lld",
                               LEASE_LUA, w[i].key, (int)w[i].algo,
                               (long long)w[i].n, (long long)w[i].debt,
                               (long long)w[i].a,
                               (long long)w[i].b) != REDIS_OK)
            break;
    for (int j = 0; j < n; j++) {
        redisReply *r = NULL;

        if (ok && (j >= i || redisGetReply(cmd, (void **)&r) != REDIS_OK)) {
            snprintf(why, len, "rate limit lease: %s",
                     cmd->errstr[0] ? cmd->errstr : "no answer");
            ok = false;
            r = NULL;
        }
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
            ratelimit_lease_grant(&w[j], true, elem(r, 0), elem(r, 1),
                                  elem(r, 2), clock_us());
        } else {
            /* A refused script is a bug, not an outage: say it once and
             * keep deciding on the local share meanwhile. */
            if (r != NULL && !warned) {
                log_warn("cluster: rate limit lease refused by redis: %.200s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
                warned = true;
            }
            ratelimit_lease_grant(&w[j], false, 0, 0, 0, clock_us());
        }
        if (r)
            freeReplyObject(r);
    }
    return ok;
}
