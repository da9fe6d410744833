/*
 * consist.h - reads by replication position (backend.consistency). What
 * each answer from a backend tells about later reads, and what a read on
 * a shard must wait for before a replica may serve it:
 *   - every acknowledged write's GTID (its OK's last_gtid) is recorded for
 *     the session, the shard and the written tables (backend/gtidpos.h);
 *     a failed or unsent write records nothing;
 *   - session: a read needs the session's own writes on the shard;
 *     causal: every write the proxy acknowledged on the shard;
 *     a read that fills the hot-key cache: also its tables' last writes.
 * A write through a connection that reports no GTID (a server without
 * session tracking of last_gtid) falls back to the time window: reads go
 * to the primary for max_replica_lag after it.
 */
#ifndef MYSHARD_SESSION_CONSIST_H
#define MYSHARD_SESSION_CONSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/gtidpos.h"
#include "session/relay.h"

struct session;
struct serverconn;
struct relay;

/* A target's answer on sc ended (cleanly: rl holds its last OK or ERR);
 * read: the statement was routed as a read. */
void consist_note(struct session *s, struct serverconn *sc,
                  const struct relay *rl, bool read);

/* What a read by s on shard needs a replica to have applied, into need
 * (zeroed first). Returns the time of the last write that is known by
 * time only (0: none): reads within max_replica_lag of it go to the
 * primary. */
int64_t consist_need(struct session *s, int shard, uint64_t need[GTID_SLOTS]);

struct eng_target;
/* A read on a replica not yet known to hold what it needs (t->need): the
 * replica waits for it, bounded (PICK_WAIT_MS), in the engine's prelude.
 * True when the wait was sent; its answer arrives in t->rl. */
bool consist_wait_send(struct eng_target *t);

/* The wait's answer (rs: how t->rl ended): true when the replica has what
 * the read needs. A replica that did not catch up gets no waits for
 * PICK_NOWAIT_MS. */
bool consist_wait_done(struct eng_target *t, enum relay_status rs);

#endif
