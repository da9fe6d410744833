/*
 * protect.c - see protect.h. The limiters are shared by every worker and
 * lock-free (base/ratelimit.h); a delayed statement waits on its own
 * timer, so nothing else on the worker waits with it.
 */
#include "session/protect.h"

#include <event2/event.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/ratelimit.h"
#include "base/util.h"
#include "cfg/cfg.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "session/command.h"
#include "session/session.h"
#include "session/session_types.h"
#include "sql/digest.h"

static bool
policy_for_user(const struct cfg *c, const struct cfg_policy *p, int user)
{
    return p->user == NULL ||
           (user >= 0 && strcmp(p->user, c->users[user].name) == 0);
}

const struct cfg_policy *
protect_match(const struct cfg *c, int user, const char *digest)
{
    for (int i = 0; i < c->npolicies; i++) {
        const struct cfg_policy *p = &c->policies[i];
        if (!policy_for_user(c, p, user))
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

static bool
ident_byte(unsigned char ch)
{
    return ch == '_' || ch == '$' || ch >= 0x80 || (ch >= '0' && ch <= '9') ||
           ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

/* d without the qualifiers that name a configured schema, by its name or
 * its backend_schema: `shop.audit_log` -> `audit_log`, as the statement
 * means in schema shop. In place. */
static void
strip_schemas(const struct cfg *c, char *d)
{
    char *o = d;
    const char *i = d;

    while (*i) {
        bool start = i == d || (!ident_byte((unsigned char)i[-1]) &&
                                i[-1] != '.' && i[-1] != '@');
        if (start && ident_byte((unsigned char)*i)) {
            size_t n = 0;
            while (ident_byte((unsigned char)i[n]))
                n++;
            if (i[n] == '.' && ident_byte((unsigned char)i[n + 1])) {
                bool schema = false;
                for (int k = 0; k < c->nschemas && !schema; k++)
                    schema =
                        (strlen(c->schemas[k].name) == n &&
                         strncasecmp(c->schemas[k].name, i, n) == 0) ||
                        (strlen(c->schemas[k].backend_schema) == n &&
                         strncasecmp(c->schemas[k].backend_schema, i, n) == 0);
                if (schema) {
                    i += n + 1;
                    continue;
                }
            }
            memmove(o, i, n);
            o += n;
            i += n;
            continue;
        }
        *o++ = *i++;
    }
    *o = '\0';
}

/* Of two matches, a deny wins; then the first policy. */
static const struct cfg_policy *
pick(const struct cfg_policy *a, const struct cfg_policy *b)
{
    if (a == NULL || b == NULL)
        return a ? a : b;
    if ((a->deny != NULL) != (b->deny != NULL))
        return a->deny ? a : b;
    return a < b ? a : b;
}

const struct cfg_policy *
protect_match_sql(const struct cfg *c, int user, const char *sql, size_t len,
                  struct lex_mode mode, bool incomplete)
{
    char buf[1024], *d = buf;
    const struct cfg_policy *p, *q;
    size_t n;

    if (c->npolicies == 0)
        return NULL;
    if (incomplete) {
        /* The digest stops early: any deny policy might have matched. */
        for (int i = 0; i < c->npolicies; i++)
            if (c->policies[i].deny != NULL &&
                policy_for_user(c, &c->policies[i], user))
                return &c->policies[i];
    }
    n = digest_make(sql, len, mode, buf, sizeof(buf));
    if (n >= sizeof(buf)) { /* never cut: the whole digest is matched */
        d = xmalloc(n + 1);
        digest_make(sql, len, mode, d, n + 1);
    }
    p = protect_match(c, user, d);
    strip_schemas(c, d);
    q = protect_match(c, user, d);
    if (d != buf)
        free(d);
    return pick(p, q);
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
    session_dispatch(s);
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

const struct cfg_policy *
protect_match_shape(struct protect_memo *m, const struct cfg *c, int user,
                    const char *sql, size_t len, struct lex_mode mode,
                    bool incomplete, uint64_t shape)
{
    struct protect_shape *e;

    if (c->npolicies == 0)
        return NULL;
    if (shape == 0 || incomplete)
        return protect_match_sql(c, user, sql, len, mode, incomplete);
    if (m->cfg != c) { /* a new generation: its policies differ */
        if (m->v == NULL)
            m->v = xcalloc(PROTECT_SHAPES, sizeof(*m->v));
        else
            memset(m->v, 0, PROTECT_SHAPES * sizeof(*m->v));
        m->cfg = c;
    }
    e = &m->v[(shape ^ (uint64_t)(unsigned)user * 0x9e3779b97f4a7c15ULL) %
              PROTECT_SHAPES];
    if (e->shape != shape || e->user != user) {
        e->p = protect_match_sql(c, user, sql, len, mode, false);
        e->shape = shape;
        e->user = user;
    }
    return e->p;
}

void
protect_memo_free(struct protect_memo *m)
{
    free(m->v);
    m->v = NULL;
    m->cfg = NULL;
}

enum admit
protect_admit(struct session *s, const char *sql, size_t len, uint64_t shape,
              bool lex_error)
{
    const struct cfg *c = s->wc->cfg;
    const char *digest = digests_text(&s->wc->digests, s->digest_slot);
    /* The statement's own digest, not its slot in the digest table: a full
     * table files new statements under "(other statements)". */
    const struct cfg_policy *p = protect_match_shape(
        &s->wc->policy_memo, c, s->user, sql, len, s->lex, lex_error, shape);
    int64_t now = 0, delay = 0, d;
    char whose[200];

    s->route_pref = p ? (uint8_t)p->route : ROUTE_DEFAULT;
    s->stmt_limited = p != NULL && p->rate_limit.rl != NULL;
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
    protect_retry_in(s, delay);
    return ADMIT_WAIT;
}

void
protect_retry_in(struct session *s, int64_t delay_us)
{
    struct timeval tv = {(time_t)(delay_us / 1000000),
                         (suseconds_t)(delay_us % 1000000)};

    if (s->delay_ev == NULL)
        s->delay_ev = evtimer_new(s->wc->w->base, delay_cb, s);
    evtimer_add(s->delay_ev, &tv);
    session_set_state(s, SESS_WAIT_BACKEND);
}
