/*
 * gtidpos.c - see gtidpos.h. Every value is an atomic that only grows
 * (acknowledged positions, a server's position raised by a wait) or is
 * replaced whole by its one writer (the monitor's reading of a server), so
 * readers need no lock and a torn view is never less than what was true
 * before the reader began.
 *
 * Slots: a shard's domain table is append-only. A slot holds domain + 1
 * (0: free) and is claimed by compare-and-swap, so two workers seeing a
 * new domain at once agree on its slot. Per-table positions live in one
 * array per shard indexed by the caller's table key (the hot-key cache's
 * version slots): tables sharing a key share a position, which can only
 * ask for more than a table needs, never less.
 */
#include "backend/gtidpos.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "base/util.h"

struct gtid_shard {
    atomic_uint domain[GTID_SLOTS];      /* domain + 1; 0 free */
    _Atomic uint64_t acked[GTID_SLOTS];  /* highest acknowledged seqno */
    atomic_uint acked_srv[GTID_SLOTS];   /* server id of that GTID */
    _Atomic uint64_t alltab[GTID_SLOTS]; /* writes whose tables were not
                                            known: every table's */
    atomic_llong untracked_ms;           /* last write known by time only */
};

void
gtidpos_init(struct server_set *set)
{
    /* every shard the set may grow to: small, and it never moves */
    set->gtid = xcalloc(CFG_MAX_SHARDS, sizeof(*set->gtid));
}

void
gtidpos_add_shard(struct server_set *set, int shard)
{
    if (shard >= 0 && shard < CFG_MAX_SHARDS && set->gtid_tables[shard] == NULL)
        set->gtid_tables[shard] = xcalloc((size_t)GTID_TABLES * GTID_SLOTS,
                                          sizeof(*set->gtid_tables[shard]));
}

void
gtidpos_free(struct server_set *set)
{
    free(set->gtid);
    set->gtid = NULL;
    for (int i = 0; i < CFG_MAX_SHARDS; i++) {
        free(set->gtid_tables[i]);
        set->gtid_tables[i] = NULL;
    }
}

int
gtidpos_slot(struct server_set *set, int shard, uint32_t domain)
{
    struct gtid_shard *g;

    if (set->gtid == NULL || shard < 0 || shard >= set->nshards ||
        domain == UINT32_MAX)
        return -1;
    g = &set->gtid[shard];
    for (int i = 0; i < GTID_SLOTS; i++) {
        unsigned d = atomic_load(&g->domain[i]);
        if (d == 0) {
            unsigned want = 0;
            if (atomic_compare_exchange_strong(&g->domain[i], &want,
                                               domain + 1) ||
                want == domain + 1)
                return i;
            continue; /* another domain took it first */
        }
        if (d == domain + 1)
            return i;
    }
    return -1;
}

static void
raise_to(_Atomic uint64_t *v, uint64_t to)
{
    uint64_t cur = atomic_load(v);

    while (cur < to && !atomic_compare_exchange_weak(v, &cur, to))
        ;
}

static _Atomic uint64_t *
table_pos(const struct server_set *set, int shard, uint32_t table)
{
    return &set->gtid_tables[shard][(size_t)(table % GTID_TABLES) * GTID_SLOTS];
}

int
gtidpos_note_write(struct server_set *set, int shard, const struct gtid *g,
                   const uint32_t *tables, int ntables)
{
    int slot = gtidpos_slot(set, shard, g->domain);

    if (slot < 0)
        return -1;
    /* Tables first: a reader that sees the shard's new position may take
     * it for the tables' too. */
    if (ntables < 0)
        raise_to(&set->gtid[shard].alltab[slot], g->seqno);
    for (int i = 0; i < ntables; i++)
        raise_to(&table_pos(set, shard, tables[i])[slot], g->seqno);
    atomic_store(&set->gtid[shard].acked_srv[slot], g->server);
    raise_to(&set->gtid[shard].acked[slot], g->seqno);
    return slot;
}

void
gtidpos_need_acked(const struct server_set *set, int shard,
                   uint64_t need[GTID_SLOTS])
{
    if (set->gtid == NULL || shard < 0 || shard >= set->nshards)
        return;
    for (int i = 0; i < GTID_SLOTS; i++)
        need[i] = MAX(need[i], atomic_load(&set->gtid[shard].acked[i]));
}

void
gtidpos_need_tables(const struct server_set *set, int shard,
                    const uint32_t *tables, int ntables,
                    uint64_t need[GTID_SLOTS])
{
    if (set->gtid == NULL || shard < 0 || shard >= set->nshards)
        return;
    for (int i = 0; i < GTID_SLOTS; i++)
        need[i] = MAX(need[i], atomic_load(&set->gtid[shard].alltab[i]));
    for (int t = 0; t < ntables; t++) {
        _Atomic uint64_t *p = table_pos(set, shard, tables[t]);
        for (int i = 0; i < GTID_SLOTS; i++)
            need[i] = MAX(need[i], atomic_load(&p[i]));
    }
}

void
gtidpos_note_untracked(struct server_set *set, int shard, int64_t now_ms)
{
    if (set->gtid != NULL && shard >= 0 && shard < set->nshards)
        atomic_store(&set->gtid[shard].untracked_ms, (long long)now_ms);
}

int64_t
gtidpos_untracked_ms(const struct server_set *set, int shard)
{
    if (set->gtid == NULL || shard < 0 || shard >= set->nshards)
        return 0;
    return atomic_load(&set->gtid[shard].untracked_ms);
}

bool
gtidpos_need_any(const uint64_t need[GTID_SLOTS])
{
    for (int i = 0; i < GTID_SLOTS; i++)
        if (need[i] != 0)
            return true;
    return false;
}

bool
gtidpos_covers(const struct server *srv, const uint64_t need[GTID_SLOTS])
{
    if (srv->primary)
        return true;
    for (int i = 0; i < GTID_SLOTS; i++)
        if (need[i] > atomic_load(&srv->gtid_seq[i]))
            return false;
    return true;
}

void
gtidpos_raise(struct server *srv, const uint64_t need[GTID_SLOTS])
{
    for (int i = 0; i < GTID_SLOTS; i++)
        raise_to(&srv->gtid_seq[i], need[i]);
}

void
gtidpos_store(struct server_set *set, struct server *srv,
              const struct gtid *pos, int n)
{
    uint64_t seq[GTID_SLOTS] = {0};
    unsigned sid[GTID_SLOTS] = {0};

    for (int k = 0; k < n; k++) {
        int slot = gtidpos_slot(set, srv->shard, pos[k].domain);
        if (slot < 0)
            continue;
        seq[slot] = pos[k].seqno;
        sid[slot] = pos[k].server;
    }
    /* The reading is the truth: it may also go down (replication reset). */
    for (int i = 0; i < GTID_SLOTS; i++) {
        atomic_store(&srv->gtid_srv[i], sid[i]);
        atomic_store(&srv->gtid_seq[i], seq[i]);
    }
    atomic_store(&srv->gtid_known, true);
}

/* Appends "d-s-n" for each slot with a seqno to buf. */
static size_t
format_slots(const struct gtid_shard *g, const uint64_t *seq,
             const unsigned *sid, char *buf, size_t size)
{
    size_t len = 0;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    for (int i = 0; i < GTID_SLOTS; i++) {
        unsigned d = atomic_load(&g->domain[i]);
        char one[64];
        struct gtid x;
        size_t n;
        if (d == 0 || seq[i] == 0)
            continue;
        x.domain = d - 1;
        x.server = sid[i];
        x.seqno = seq[i];
        gtid_format(&x, one, sizeof(one));
        n = strlen(one);
        if (len + n + 2 > size)
            break;
        if (len > 0)
            buf[len++] = ',';
        memcpy(buf + len, one, n + 1);
        len += n;
    }
    return len;
}

size_t
gtidpos_format_need(const struct server_set *set, int shard,
                    const uint64_t need[GTID_SLOTS], char *buf, size_t size)
{
    unsigned sid[GTID_SLOTS];

    if (set->gtid == NULL || shard < 0 || shard >= set->nshards) {
        if (size > 0)
            buf[0] = '\0';
        return 0;
    }
    /* MASTER_GTID_WAIT compares domain and seqno; the server id is the
     * one of the shard's latest write, for the reader of logs. */
    for (int i = 0; i < GTID_SLOTS; i++)
        sid[i] = atomic_load(&set->gtid[shard].acked_srv[i]);
    return format_slots(&set->gtid[shard], need, sid, buf, size);
}

int
gtidpos_read(const struct server_set *set, const struct server *srv, bool acked,
             struct gtid out[GTID_SLOTS])
{
    const struct gtid_shard *g;
    int n = 0;

    if (set->gtid == NULL || srv->shard < 0 || srv->shard >= set->nshards)
        return 0; /* a set built by hand, without gtidpos_init() */
    g = &set->gtid[srv->shard];
    for (int i = 0; i < GTID_SLOTS; i++) {
        unsigned d = atomic_load(&g->domain[i]);
        uint64_t seq =
            acked ? atomic_load(&g->acked[i]) : atomic_load(&srv->gtid_seq[i]);
        if (d == 0 || seq == 0)
            continue;
        out[n].domain = d - 1;
        out[n].server = acked ? atomic_load(&g->acked_srv[i])
                              : atomic_load(&srv->gtid_srv[i]);
        out[n].seqno = seq;
        n++;
    }
    return n;
}

void
gtidpos_format(const struct server_set *set, const struct server *srv,
               bool acked, char *buf, size_t size)
{
    const struct gtid_shard *g;
    uint64_t seq[GTID_SLOTS];
    unsigned sid[GTID_SLOTS];

    if (size > 0)
        buf[0] = '\0';
    if (set->gtid == NULL || srv->shard < 0 || srv->shard >= set->nshards)
        return;
    g = &set->gtid[srv->shard];
    for (int i = 0; i < GTID_SLOTS; i++) {
        seq[i] =
            acked ? atomic_load(&g->acked[i]) : atomic_load(&srv->gtid_seq[i]);
        sid[i] = acked ? atomic_load(&g->acked_srv[i])
                       : atomic_load(&srv->gtid_srv[i]);
    }
    (void)format_slots(g, seq, sid, buf, size);
}
