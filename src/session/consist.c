/*
 * consist.c - see consist.h. Called by the engine (session/engine.c) when
 * a target's answer ends and when it picks a server for a read; the
 * positions themselves live in backend/gtidpos.c.
 */
#include "session/consist.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pick.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/clock.h"
#include "cfg/cfg.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "session/cachefill.h"
#include "session/engine_types.h"
#include "session/relay.h"
#include "session/session.h"

/* The session's seqnos on shard, allocated at its first write (and grown
 * at its first write to a shard a reload appended since). */
static uint64_t *
wrote(struct session *s, int shard, bool make)
{
    int n = s->wc->servers->nshards;

    if (shard < 0 || shard >= n)
        return NULL;
    if (shard >= s->gtid_nshards) {
        if (!make)
            return NULL;
        s->gtid_wrote =
            xrealloc(s->gtid_wrote, (size_t)n * GTID_SLOTS * sizeof(uint64_t));
        memset(s->gtid_wrote + (size_t)s->gtid_nshards * GTID_SLOTS, 0,
               (size_t)(n - s->gtid_nshards) * GTID_SLOTS * sizeof(uint64_t));
        s->gtid_nshards = n;
    }
    return s->gtid_wrote + (size_t)shard * GTID_SLOTS;
}

void
consist_note(struct session *s, struct serverconn *sc, const struct relay *rl,
             bool read)
{
    struct server_set *set = s->wc->servers;
    int shard = sc->srv->shard;

    if (rl->got_gtid) {
        /* It committed, even if a later statement of a batch failed. */
        const uint32_t *tables = NULL;
        int nt = cachefill_written(s, &tables);
        int slot = gtidpos_note_write(set, shard, &rl->gtid, tables, nt);
        uint64_t *w;
        if (slot >= 0 && (w = wrote(s, shard, true)) != NULL) {
            if (w[slot] < rl->gtid.seqno)
                w[slot] = rl->gtid.seqno;
            return;
        }
        /* More domains than tracked: known by time only. */
    } else if (read || rl->got_err || !rl->got_ok || !sc->srv->primary ||
               sc->gtid_track) {
        /* Nothing committed, or a server that reports its GTIDs reported
         * none (nothing changed, or the transaction is still open: its
         * COMMIT will). */
        return;
    }
    s->last_write_ms = clock_ms();
    gtidpos_note_untracked(set, shard, s->last_write_ms);
}

int64_t
consist_need(struct session *s, int shard, uint64_t need[GTID_SLOTS])
{
    struct server_set *set = s->wc->servers;
    const uint64_t *w = wrote(s, shard, false);
    const uint32_t *tables;
    int nt;
    int64_t untracked = s->last_write_ms;

    memset(need, 0, GTID_SLOTS * sizeof(*need));
    if (w != NULL)
        memcpy(need, w, GTID_SLOTS * sizeof(*need));
    if (s->wc->cfg->backend.consistency == CONSIST_CAUSAL) {
        int64_t t = gtidpos_untracked_ms(set, shard);
        gtidpos_need_acked(set, shard, need);
        untracked = MAX(untracked, t);
    }
    nt = cachefill_filling(s, &tables);
    if (nt != 0) {
        int64_t t = gtidpos_untracked_ms(set, shard);
        gtidpos_need_tables(set, shard, tables, nt, need);
        untracked = MAX(untracked, t);
    }
    return untracked;
}

/* ---- the wait on a replica --------------------------------------------- */

bool
consist_wait_send(struct eng_target *t)
{
    struct session *s = t->run->s;
    char pos[GTID_SLOTS * 48], sql[GTID_SLOTS * 48 + 96];
    uint8_t seq = 0;
    int n;

    if (gtidpos_format_need(s->wc->servers, t->shard, t->need, pos,
                            sizeof(pos)) == 0)
        return false;
    n = snprintf(sql, sizeof(sql),
                 "%cSELECT 1 FROM DUAL WHERE MASTER_GTID_WAIT('%s', %d.%03d) "
                 "= 0",
                 COM_QUERY, pos, PICK_WAIT_MS / 1000, PICK_WAIT_MS % 1000);
    packet_write(serverconn_output(t->sc), &seq, sql, (size_t)n);
    relay_start(&t->rl, RELAY_RESULT);
    t->waiting = true;
    return true;
}

bool
consist_wait_done(struct eng_target *t, enum relay_status rs)
{
    struct server *srv = t->sc->srv;

    t->waiting = false;
    if (rs == RELAY_DONE && !t->rl.got_err && t->rl.rows == 1) {
        gtidpos_raise(srv, t->need);
        atomic_fetch_add(&srv->gtid_waits, 1);
        return true;
    }
    atomic_fetch_add(&srv->gtid_timeouts, 1);
    atomic_store(&srv->gtid_nowait_until_ms, clock_ms() + PICK_NOWAIT_MS);
    return false;
}
