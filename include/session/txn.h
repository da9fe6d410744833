/*
 * txn.h - transactions that span shards, in schemas with `transactions:
 * best_effort` or `xa`.
 *
 * BEGIN opens s->txn and touches no shard. Every statement then runs
 * through scatter, which takes the transaction's connection to each shard
 * it needs (a "branch"), starting the branch the first time (BEGIN, or XA
 * START gtrid,shard) and keeping it between statements. COMMIT/ROLLBACK
 * run on every branch at once:
 *
 *   best_effort   COMMIT on each                   (a failure may leave
 *                                                   others committed)
 *   xa, 1 branch  XA END, XA COMMIT ONE PHASE
 *   xa, several   XA END, XA PREPARE on all ─► decision logged (synced)
 *                 ─► XA COMMIT on all ─► done logged
 *                 any PREPARE failing ─► XA ROLLBACK on all (1402)
 *   ROLLBACK      ROLLBACK / XA END, XA ROLLBACK on each
 *
 * A client that goes away leaves the transaction to roll back on its own,
 * detached from the session; a commit already under way completes.
 */
#ifndef MYSHARD_SESSION_TXN_H
#define MYSHARD_SESSION_TXN_H

#include <stdbool.h>
#include <stddef.h>

struct session;
struct serverconn;
struct relay;
struct stmt_info;

/* True when the session's schema lets one transaction span shards. */
bool txn_spans_shards(const struct session *s);
/* BEGIN / START TRANSACTION in such a schema: opens s->txn and answers. */
void txn_begin(struct session *s, const char *sql, size_t len);
/* START TRANSACTION WITH CONSISTENT SNAPSHOT where transactions may not
 * span shards (transactions: deny): a read-only transaction on every
 * shard of the schema, each branch started at once with the client's
 * text, so the shards' snapshots are taken together; a write in it is
 * refused (txn_refuses_write). Answers with the branches' combined OK. */
void txn_begin_snapshot(struct session *s, const char *sql, size_t len);
/* True (and the client answered) when the statement writes inside such a
 * read-only snapshot transaction. */
bool txn_refuses_write(struct session *s, const struct stmt_info *st);
/* The first statement after SET autocommit = 0 (or after the end of the
 * transaction it opened), in such a schema: opens s->txn like a BEGIN,
 * without an answer; the statement then runs in it. */
void txn_begin_implicit(struct session *s);
/* A statement that commits an open transaction first (DDL, LOCK TABLES,
 * SET autocommit = 1): commits s->txn like COMMIT, then runs the client's
 * statement (s->cmd) again from the start; if the commit fails, the client
 * gets its error and the statement does not run. */
void txn_commit_then_run(struct session *s);
/* The transaction's connection to shard, or NULL when it has none. */
struct serverconn *txn_branch(struct session *s, int shard);
/* The connection of the first shard the transaction touched, or NULL. */
struct serverconn *txn_first_branch(struct session *s);
/* True when sc is one of the transaction's connections. */
bool txn_owns(const struct session *s, const struct serverconn *sc);
/* Starts a branch on sc, a fresh connection to a shard the transaction
 * has not touched: sends BEGIN or XA START, whose answer rl swallows, and
 * makes sc the shard's branch. */
void txn_start_branch(struct session *s, struct serverconn *sc,
                      struct relay *rl);
/* A statement on a branch ended cleanly: the branch keeps sc. */
void txn_keep(struct session *s, struct serverconn *sc);
/* A branch's connection broke or its state is unknown: it is dropped and
 * the transaction can only roll back now. */
void txn_lose(struct session *s, struct serverconn *sc, const char *why);
/* The reason the transaction can only roll back, or NULL. */
const char *txn_broken(const struct session *s);
/* COMMIT (commit) or ROLLBACK; answers the client when every branch has
 * answered. chain: open a new transaction after (AND CHAIN, or a BEGIN
 * inside the transaction); release: close the client after. */
void txn_end(struct session *s, bool commit, bool chain, bool release);
/* The client is gone or reset: roll back (detached from the session).
 * now: drop the connections instead (shutdown); the servers roll back. */
void txn_abandon(struct session *s, bool now);

#endif
