/*
 * protect.c - see protect.h. The limiters are shared by every worker and
 * lock-free (base/ratelimit.h); a delayed statement waits on its own
 * timer, so nothing else on the worker waits with it.
 */
#include "session/protect.h"

#include <event2/event.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/ratelimit.h"
#include "cfg/cfg.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "session/command.h"
#include "session/session.h"
#include "session/session_types.h"

const struct cfg_policy *
protect_match(const struct cfg *c, int user, const char *digest)
{
    for (int i = 0; i < c->npolicies; i++) {
        const struct cfg_policy *p = &c->policies[i];
        if (p->user != NULL &&
            (user < 0 || strcmp(p->user, c->users[user].name) != 0))
            continue;
        if (p->match != NULL &&
            strncasecmp(digest, p->match, strlen(p->match)) != 0)
            continue;
        if (p->re_ok && regexec(&p->re, digest, 0, NULL, 0) != 0)
            continue;
        return p;
    }
    return NULL;
}

void
protect_describe_limit(const struct cfg_rate_limit *r, char *buf, size_t len)
{
    switch (r->algo) {
    case RL_TOKEN_BUCKET:
        snprintf(buf, len, "token_bucket %g/s burst %lld", r->rate,
                 (long long)r->burst);
        break;
    case RL_LEAKY_BUCKET:
        snprintf(buf, len, "leaky_bucket %g/s max_wait %lldms", r->rate,
                 (long long)r->max_wait_ms);
        break;
    case RL_SLIDING_WINDOW:
    case RL_FIXED_WINDOW:
        snprintf(buf, len, "%s %g per %lldms",
                 r->algo == RL_SLIDING_WINDOW ? "sliding_window"
                                              : "fixed_window",
                 r->rate, (long long)r->window_ms);
        break;
    default:
        snprintf(buf, len, "%s", "");
        break;
    }
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;

    (void)fd;
    (void)what;
    /* The statement's turn: run the same command again, admitted. */
    s->admitted = true;
    command_dispatch(s);
}

static enum admit
refuse(struct session *s, const char *whose, const struct cfg_rate_limit *r)
{
    char what[96];

    protect_describe_limit(r, what, sizeof(what));
    STATS_ADD(&s->wc->stats, limit_refused_total, 1);
    if (s->user >= 0 && s->user < s->wc->nustats)
        STATS_ADD(&s->wc->ustats[s->user], rate_limited, 1);
    session_send_error(s, ER_USER_LIMIT_REACHED, "42000",
                       "myshard: rate limit exceeded: %s (%s); retry later",
                       whose, what);
    session_command_done(s);
    return ADMIT_DONE;
}

enum admit
protect_admit(struct session *s)
{
    const struct cfg *c = s->wc->cfg;
    const char *digest = digests_text(&s->wc->digests, s->digest_slot);
    const struct cfg_policy *p = protect_match(c, s->user, digest);
    int64_t now = 0, delay = 0, d;
    char whose[200];

    s->route_pref = p ? (uint8_t)p->route : ROUTE_DEFAULT;
    s->cache_ttl_ms = p ? p->cache_ttl_ms : 0;
    if (p != NULL && p->deny != NULL) {
        char esc[1024];
        STATS_ADD(&s->wc->stats, denied_total, 1);
        log_info("statement denied by policy client=%u user=%s policy=%d "
                 "digest=\"%s\"",
                 s->id, s->user >= 0 ? c->users[s->user].name : "-",
                 (int)(p - c->policies) + 1,
                 escape_log_str(digest, esc, sizeof(esc)));
        session_send_error(s, ER_SPECIFIC_ACCESS_DENIED, "42000",
                           "myshard: denied by policy: %s", p->deny);
        session_command_done(s);
        return ADMIT_DONE;
    }
    if ((s->user >= 0 && c->users[s->user].rate_limit.rl != NULL) ||
        (p != NULL && p->rate_limit.rl != NULL))
        now = clock_us(); /* only limited statements read the clock */
    if (s->user >= 0 && c->users[s->user].rate_limit.rl != NULL) {
        d = ratelimit_take(c->users[s->user].rate_limit.rl, now);
        if (d < 0) {
            snprintf(whose, sizeof(whose), "user '%s'", c->users[s->user].name);
            return refuse(s, whose, &c->users[s->user].rate_limit);
        }
        delay = d;
    }
    if (p != NULL && p->rate_limit.rl != NULL) {
        d = ratelimit_take(p->rate_limit.rl, now);
        if (d < 0) {
            snprintf(whose, sizeof(whose), "policy %d (%.120s)",
                     (int)(p - c->policies) + 1,
                     p->match         ? p->match
                     : p->match_regex ? p->match_regex
                                      : "any");
            return refuse(s, whose, &p->rate_limit);
        }
        if (d > delay)
            delay = d;
    }
    if (delay <= 0)
        return ADMIT_GO;
    /* Leaky bucket: leave at the statement's turn. */
    STATS_ADD(&s->wc->stats, limit_delayed_total, 1);
    if (s->delay_ev == NULL)
        s->delay_ev = evtimer_new(s->wc->w->base, delay_cb, s);
    {
        struct timeval tv = {(time_t)(delay / 1000000),
                             (suseconds_t)(delay % 1000000)};
        evtimer_add(s->delay_ev, &tv);
    }
    session_set_state(s, SESS_WAIT_BACKEND);
    return ADMIT_WAIT;
}
