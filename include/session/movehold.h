/*
 * movehold.h - the workers' side of a reshard's cutover (reshard/): writes
 * to keys that are moving are counted while they run and held while the
 * coordinator switches their placement.
 *
 * A plan that writes a moving key (route_plan.touches_moving) belongs to
 * the reshard that moves it. Before it is sent the session counts itself
 * in that reshard's in-flight writes, and stays counted until its
 * statement ends outside a transaction (a transaction that wrote a moving
 * key counts until it ends). While the coordinator holds the reshard, a
 * session that is not counted yet does not start: its command is run again
 * every millisecond (the same command, already admitted), so once the
 * workers switch to the generation where the keys belong to the target,
 * it routes there. A counted session (its transaction wrote moving keys
 * before the hold) goes on: the coordinator waits for it to end.
 *
 * The count and the hold are seq_cst atomics written in opposite order by
 * the two sides (a worker counts, then reads the hold; the coordinator
 * holds, then reads the count), so a write either is seen by the
 * coordinator's wait or sees the hold.
 */
#ifndef MYSHARD_SESSION_MOVEHOLD_H
#define MYSHARD_SESSION_MOVEHOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "session/session_types.h"

struct route_plan;

/* Reshards that can run at once (one per rule). */
#define MOVEHOLD_MAX 8

/* ---- the coordinator's side (any thread) ---- */

/* Makes a slot for reshard id (>0); false when all are taken. */
bool movehold_register(uint64_t id);
/* Frees it (after the hold is off and nothing is counted or held). */
void movehold_unregister(uint64_t id);
/* Holds or releases the reshard's moving writes. Holding also sets the
 * longest time a held statement may wait before it is answered with an
 * error (a safety net; the coordinator releases well before). */
void movehold_set(uint64_t id, bool hold, int64_t max_wait_ms);
/* Sessions counted in the reshard's in-flight moving writes. */
long movehold_inflight(uint64_t id);
/* Statements held now, held since the slot was made, and the longest hold
 * of one statement in milliseconds. */
void movehold_counts(uint64_t id, long *held_now,
                     unsigned long long *held_total, int64_t *longest_ms);

/* ---- the workers' side ---- */

/*
 * After routing: true when the command is taken care of (held, to be run
 * again, or answered with an error after waiting too long); false when it
 * may go on (counted if it writes moving keys).
 */
bool movehold_check(struct session *s, const struct route_plan *plan);
/* The statement ended (answered): a session outside any transaction stops
 * counting. */
void movehold_statement_end(struct session *s);
/* The session closes: it stops counting, and a held command is dropped. */
void movehold_session_close(struct session *s);

#endif
