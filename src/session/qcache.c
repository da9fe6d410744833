/*
 * qcache.c - see qcache.h. A per-worker hash table (chained) with an LRU
 * list; memory counted as key + answer + entry.
 */
#include "session/qcache.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cluster.h"
#include "backend/clustermsg.h"
#include "base/util.h"
#include "sql/classify_types.h"
#include "session/stats.h"
#include "sql/digest.h"

#define VERSION_SLOTS 4096
_Static_assert(VERSION_SLOTS == CLUSTER_SLOT_SPACE,
               "invalidations name these slots (backend/clustermsg.h)");
#define BUCKETS 4096

static _Atomic uint64_t versions[VERSION_SLOTS];
static _Atomic uint64_t epoch; /* moves on writes whose tables are unknown */

static uint32_t
slot_of(const char *schema, size_t slen, const char *name, size_t nlen)
{
    char buf[256];
    size_t n = 0;

    /* case-insensitive, unquoted: `Shop`.`T` and shop.t are one table */
    for (size_t i = 0; i < slen && n < sizeof(buf) - 1; i++)
        if (schema[i] != '`')
            buf[n++] = (char)tolower((unsigned char)schema[i]);
    if (n < sizeof(buf) - 1)
        buf[n++] = '.';
    for (size_t i = 0; i < nlen && n < sizeof(buf) - 1; i++)
        if (name[i] != '`')
            buf[n++] = (char)tolower((unsigned char)name[i]);
    return (uint32_t)(digest_hash(buf, n) % VERSION_SLOTS);
}

/* An entry's key hash, a word at a time: every hit hashes its whole key,
 * so byte-wise FNV (digest_hash) cost a tenth of a hit. Private to this
 * process; table slots keep digest_hash, which other instances share. */
static uint64_t
key_hash(const char *s, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len, w;

    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33; /* the bucket is taken from the low bits: mix them */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int
qcache_table_slots(const struct stmt_info *st, const char *schema,
                   uint32_t *slots, int max)
{
    int n = 0;
    size_t dlen = schema ? strlen(schema) : 0;

    for (int i = 0; i < st->ntables; i++) {
        const struct sql_table *t = &st->tables[i];
        if (t->name.len == 0)
            continue; /* a derived table: its own tables are listed too */
        if (n == max)
            return -1;
        if (t->schema.len > 0)
            slots[n++] =
                slot_of(t->schema.p, t->schema.len, t->name.p, t->name.len);
        else
            slots[n++] =
                slot_of(schema ? schema : "", dlen, t->name.p, t->name.len);
    }
    return n;
}

void
qcache_versions(const uint32_t *slots, int n, uint64_t *out)
{
    for (int i = 0; i < n; i++)
        out[i] = atomic_load(&versions[slots[i]]);
}

void
qcache_bump(const uint32_t *slots, int n)
{
    for (int i = 0; i < n; i++)
        atomic_fetch_add(&versions[slots[i]], 1);
}

void
qcache_bump_all(void)
{
    atomic_fetch_add(&epoch, 1);
}

uint64_t
qcache_epoch(void)
{
    return atomic_load(&epoch);
}

struct entry {
    struct entry *hnext;         /* hash chain */
    struct entry *lprev, *lnext; /* LRU, most recent first */
    uint64_t hash;
    char *key;
    size_t klen;
    uint8_t *answer; /* owned; the packets as the server sent them */
    size_t alen;
    size_t bytes;
    int64_t expires_ms;
    int aux;
    int ntables;
    uint64_t epoch;
    uint32_t slots[QCACHE_MAX_TABLES];
    uint64_t vers[QCACHE_MAX_TABLES];
};

struct qcache {
    struct entry *buckets[BUCKETS];
    struct entry *lru_head, *lru_tail;
    size_t bytes, max_bytes;
    struct stats *st; /* (ref) the worker's counters */
};

struct qcache *
qcache_new(size_t max_bytes, struct stats *st)
{
    struct qcache *c = xcalloc(1, sizeof(*c));
    c->max_bytes = max_bytes;
    c->st = st;
    return c;
}

bool
qcache_empty(const struct qcache *c)
{
    return c->lru_head == NULL;
}

static void
lru_unlink(struct qcache *c, struct entry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        c->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        c->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void
lru_push(struct qcache *c, struct entry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = e;
    c->lru_head = e;
    if (c->lru_tail == NULL)
        c->lru_tail = e;
}

static void
drop(struct qcache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[e->hash % BUCKETS];

    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->bytes;
    free(e->answer);
    free(e->key);
    free(e);
}

void
qcache_free(struct qcache *c)
{
    if (c == NULL)
        return;
    while (c->lru_head)
        drop(c, c->lru_head);
    free(c);
}

void
qcache_note_hit(struct qcache *c)
{
    STATS_ADD(c->st, cache_hits_total, 1);
}

void
qcache_clear(struct qcache *c)
{
    if (c == NULL)
        return;
    while (c->lru_head)
        drop(c, c->lru_head);
}

static bool
fresh(const struct entry *e, int64_t now_ms)
{
    if (now_ms >= e->expires_ms || atomic_load(&epoch) != e->epoch)
        return false;
    for (int i = 0; i < e->ntables; i++)
        if (atomic_load(&versions[e->slots[i]]) != e->vers[i])
            return false;
    return true;
}

bool
qcache_get(struct qcache *c, const char *key, size_t klen, int64_t now_ms,
           const uint8_t **answer, size_t *len, int *aux, bool count)
{
    uint64_t h;
    struct entry *e;

    /* Several instances: only while no invalidation can be missed. */
    if (!cluster_cache_ok(now_ms)) {
        STATS_ADD(c->st, cache_misses_total, count);
        return false;
    }
    h = key_hash(key, klen);
    e = c->buckets[h % BUCKETS];
    for (; e; e = e->hnext)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
    if (e == NULL) {
        STATS_ADD(c->st, cache_misses_total, count);
        return false;
    }
    if (!fresh(e, now_ms)) {
        drop(c, e);
        STATS_ADD(c->st, cache_evictions_total, 1);
        STATS_ADD(c->st, cache_misses_total, count);
        return false;
    }
    lru_unlink(c, e);
    lru_push(c, e);
    STATS_ADD(c->st, cache_hits_total, count);
    *answer = e->answer;
    *len = e->alen;
    *aux = e->aux;
    return true;
}

void
qcache_put(struct qcache *c, const char *key, size_t klen,
           struct evbuffer *answer, int64_t now_ms, int64_t ttl_ms,
           const uint32_t *slots, const uint64_t *vers, int n,
           uint64_t at_epoch, int aux)
{
    uint64_t h = key_hash(key, klen);
    size_t len = evbuffer_get_length(answer);
    struct entry *e;

    if (len > QCACHE_MAX_ENTRY || n > QCACHE_MAX_TABLES ||
        len + klen + sizeof(*e) > c->max_bytes || !cluster_cache_ok(now_ms))
        return;
    /* A write may have landed while the read ran: then it is stale. */
    if (atomic_load(&epoch) != at_epoch)
        return;
    for (int i = 0; i < n; i++)
        if (atomic_load(&versions[slots[i]]) != vers[i])
            return;
    for (e = c->buckets[h % BUCKETS]; e; e = e->hnext)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) {
            drop(c, e);
            break;
        }
    e = xcalloc(1, sizeof(*e));
    e->hash = h;
    e->key = xmalloc(klen);
    memcpy(e->key, key, klen);
    e->klen = klen;
    e->answer = xmalloc(len ? len : 1);
    evbuffer_copyout(answer, e->answer, len);
    e->alen = len;
    e->bytes = len + klen + sizeof(*e);
    e->expires_ms = now_ms + ttl_ms;
    e->aux = aux;
    e->ntables = n;
    e->epoch = at_epoch;
    memcpy(e->slots, slots, (size_t)n * sizeof(*slots));
    memcpy(e->vers, vers, (size_t)n * sizeof(*vers));
    e->hnext = c->buckets[h % BUCKETS];
    c->buckets[h % BUCKETS] = e;
    lru_push(c, e);
    c->bytes += e->bytes;
    while (c->bytes > c->max_bytes && c->lru_tail && c->lru_tail != e) {
        drop(c, c->lru_tail);
        STATS_ADD(c->st, cache_evictions_total, 1);
    }
}
