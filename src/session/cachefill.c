/*
 * cachefill.c - see cachefill.h. The key of an entry is the user, the
 * schema, the lexing mode and the text: the same text means another
 * statement for another user, schema or mode.
 */
#include "session/cachefill.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cluster.h"
#include "backend/sessvars.h"
#include "base/clock.h"
#include "base/util.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "session/lexstate.h"
#include "session/qcache.h"
#include "session/session.h"
#include "session/stats.h"
#include "sql/classify.h"

struct cache_fill {
    char *key; /* owned: user, schema and text */
    size_t klen;
    struct evbuffer *answer; /* owned; what went to the client */
    int ntables;
    uint32_t slots[QCACHE_MAX_TABLES];
    uint64_t vers[QCACHE_MAX_TABLES];
    uint64_t epoch;
    int64_t ttl_ms;
    int aux; /* kept with the entry for cachefill_fast (AUX_LIMITED) */
};

#define WMARKS_MAX 16
struct write_marks {
    int n;
    bool all; /* tables unknown: every entry */
    uint32_t slots[WMARKS_MAX];
};

void
cachefill_drop(struct session *s)
{
    if (s->fill == NULL)
        return;
    free(s->fill->key);
    evbuffer_free(s->fill->answer);
    free(s->fill);
    s->fill = NULL;
}

/* A session whose reads the cache may answer: outside transactions, with
 * nothing that depends on the connection. */
static bool
session_may_cache(const struct session *s)
{
    return s->txn == NULL && s->txn_begin == NULL && s->sc == NULL &&
           (s->pins & ~PIN_POOL_SESSION) == 0 &&
           !sessvars_autocommit_off(&s->vars);
}

/* A read the cache may answer: one plain SELECT, in such a session. */
static bool
cacheable(const struct session *s, const struct stmt_info *st)
{
    return st->kind == STMT_SELECT && !st->multi &&
           !(st->flags &
             (SQLF_FOR_UPDATE | SQLF_SHARE_LOCK | SQLF_CALC_FOUND_ROWS |
              SQLF_FOUND_ROWS | SQLF_LAST_INSERT_ID | SQLF_LOCK_FUNC |
              SQLF_USERVAR_READ | SQLF_USERVAR_WRITE | SQLF_INTO)) &&
           session_may_cache(s);
}

/* The entry's key: user, schema, the lexing mode (the same text means
 * another statement under another one) and the text, into buf when it
 * fits (cap), else into the heap (*heap: free it). Its length. */
static size_t
make_key(const struct session *s, const char *sql, size_t len, char *buf,
         size_t cap, char **key)
{
    const struct cfg *c = s->wc->cfg;
    const char *user = c->users[s->user].name;
    const char *schema = s->schema >= 0 ? c->schemas[s->schema].name : "";
    size_t ul = strlen(user), sl = strlen(schema);
    size_t klen = ul + 1 + sl + 1 + 2 + len;
    char *k = klen <= cap ? buf : xmalloc(klen);

    memcpy(k, user, ul + 1);
    memcpy(k + ul + 1, schema, sl + 1);
    k[ul + 1 + sl + 1] = (char)s->lex.flags;
    k[ul + 1 + sl + 2] = (char)s->lex.charset;
    memcpy(k + ul + 1 + sl + 1 + 2, sql, len);
    *key = k;
    return klen;
}

/* qcache's aux: the digest slot, and whether a policy with a rate limit
 * matched the statement (it must then be admitted every time). */
#define AUX_LIMITED (1 << 30)

bool
cachefill_fast(struct session *s, const char *sql, size_t len)
{
    char buf[512], *key, why[64];
    const uint8_t *hit;
    size_t hlen, klen;
    int aux;

    /* An empty cache (no policy keeps answers) costs no key. */
    if (s->wc->qcache == NULL || qcache_empty(s->wc->qcache) || s->user < 0 ||
        s->admitted || !session_may_cache(s) ||
        s->wc->cfg->users[s->user].rate_limit.rl != NULL)
        return false;
    /* The key's mode must be the one this statement is lexed under: a SET
     * since the last statement may have changed it. */
    if (!lexstate_refresh(s, why, sizeof(why)))
        return false;
    klen = make_key(s, sql, len, buf, sizeof(buf), &key);
    if (key != buf) {
        free(key);
        return false;
    }
    if (!qcache_get(s->wc->qcache, key, klen, clock_ms(), &hit, &hlen, &aux,
                    false) ||
        (aux & AUX_LIMITED))
        return false; /* the full path looks again, and counts */
    qcache_note_hit(s->wc->qcache);
    evbuffer_add(s->conn->out, hit, hlen);
    s->digest_slot = aux;
    s->stmt_kind = (uint8_t)stats_kind_of(STMT_SELECT);
    s->stmt_route = SR_proxy;
    session_command_done(s);
    return true;
}

bool
cachefill_try(struct session *s, const char *sql, size_t len)
{
    char *key;
    size_t klen;
    const uint8_t *hit;
    size_t hlen;
    uint32_t slots[QCACHE_MAX_TABLES];
    int n, slot;

    if (s->wc->qcache == NULL || !cacheable(s, s->wc->stmt))
        return false;
    n = qcache_table_slots(s->wc->stmt,
                           s->schema >= 0 ? s->wc->cfg->schemas[s->schema].name
                                          : NULL,
                           slots, QCACHE_MAX_TABLES);
    if (n < 0)
        return false;
    klen = make_key(s, sql, len, NULL, 0, &key);
    if (qcache_get(s->wc->qcache, key, klen, clock_ms(), &hit, &hlen, &slot,
                   true)) {
        /* The answer as the server gave it (sequence ids from 1). */
        evbuffer_add(s->conn->out, hit, hlen);
        free(key);
        s->stmt_route = SR_proxy;
        session_command_done(s);
        return true;
    }
    s->fill = xcalloc(1, sizeof(*s->fill));
    s->fill->key = key;
    s->fill->klen = klen;
    s->fill->answer = evbuffer_new();
    s->fill->ntables = n;
    memcpy(s->fill->slots, slots, (size_t)n * sizeof(*slots));
    qcache_versions(slots, n, s->fill->vers);
    s->fill->epoch = qcache_epoch();
    s->fill->ttl_ms = s->cache_ttl_ms;
    s->fill->aux = s->digest_slot | (s->stmt_limited ? AUX_LIMITED : 0);
    return false;
}

void
cachefill_copy(struct session *s, size_t from)
{
    struct evbuffer *out = s->conn->out;
    size_t len = evbuffer_get_length(out);
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[8];
    int n;

    if (s->fill == NULL || len <= from)
        return;
    if (evbuffer_get_length(s->fill->answer) + (len - from) >
        QCACHE_MAX_ENTRY) {
        cachefill_drop(s); /* too big to keep */
        return;
    }
    evbuffer_ptr_set(out, &pos, from, EVBUFFER_PTR_SET);
    while (from < len) {
        n = evbuffer_peek(out, (ev_ssize_t)(len - from), &pos, v, 8);
        for (int i = 0; i < n && i < 8 && from < len; i++) {
            size_t take = MIN(v[i].iov_len, len - from);
            evbuffer_add(s->fill->answer, v[i].iov_base, take);
            from += take;
        }
        if (n <= 0 || evbuffer_ptr_set(out, &pos, from, EVBUFFER_PTR_SET) < 0)
            break;
    }
}

void
cachefill_store(struct session *s, bool ok)
{
    struct cache_fill *f = s->fill;

    if (f == NULL)
        return;
    if (ok)
        qcache_put(s->wc->qcache, f->key, f->klen, f->answer, clock_ms(),
                   f->ttl_ms, f->slots, f->vers, f->ntables, f->epoch, f->aux);
    cachefill_drop(s);
}

void
cachefill_note_write(struct session *s, const struct stmt_info *st, bool multi)
{
    const struct cfg *c = s->wc->cfg;
    uint32_t slots[WMARKS_MAX];
    int n = -1;

    if (s->wc->qcache == NULL)
        return;
    if (!multi)
        n = qcache_table_slots(
            st, s->schema >= 0 ? c->schemas[s->schema].name : NULL, slots,
            WMARKS_MAX);
    if (s->wmarks == NULL)
        s->wmarks = xcalloc(1, sizeof(*s->wmarks));
    if (n < 0 || s->wmarks->n + n > WMARKS_MAX) {
        s->wmarks->all = true;
        return;
    }
    memcpy(s->wmarks->slots + s->wmarks->n, slots, (size_t)n * sizeof(*slots));
    s->wmarks->n += n;
}

/* The other instances dropped the entries (or the wait ended): the OK
 * goes out. */
static void
release_ok(void *arg)
{
    struct session *s = arg;

    s->held_ok = NULL;
    if (s->conn)
        conn_hold(s->conn, false);
}

void
cachefill_writes_done(struct session *s, bool txn_open)
{
    struct write_marks *w = s->wmarks;

    if (w == NULL)
        return;
    if (w->all)
        qcache_bump_all();
    else
        qcache_bump(w->slots, w->n);
    if (txn_open)
        return; /* bumped again when the transaction ends */
    /* Visible to other clients now: the other instances drop their entries
     * before this client sees the OK (what is in its output so far). A
     * ticket still held from an earlier write is superseded: this one
     * covers it, since messages are handled in order. */
    if (cluster_enabled() && s->conn != NULL) {
        cluster_cancel(s->held_ok);
        conn_hold(s->conn, true);
        s->held_ok = cluster_publish(s->conn->w, w->slots, w->all ? -1 : w->n,
                                     w->all, release_ok, s);
        if (s->held_ok == NULL)
            conn_hold(s->conn, false);
    }
    free(w);
    s->wmarks = NULL;
}

int
cachefill_written(const struct session *s, const uint32_t **tables)
{
    const struct write_marks *w = s->wmarks;

    *tables = NULL;
    if (w == NULL)
        return 0;
    if (w->all)
        return -1;
    *tables = w->slots;
    return w->n;
}

int
cachefill_filling(const struct session *s, const uint32_t **tables)
{
    *tables = NULL;
    if (s->fill == NULL)
        return 0;
    *tables = s->fill->slots;
    return s->fill->ntables;
}

void
cachefill_forget(struct session *s)
{
    cluster_cancel(s->held_ok);
    s->held_ok = NULL;
    cachefill_drop(s);
    free(s->wmarks);
    s->wmarks = NULL;
}
