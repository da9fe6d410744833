/*
 * engine.h - carrying out every statement that reaches a backend: one run
 * of one or more targets, each through acquire, prelude, send, consume
 * (relay for one target, merge or combine for several) and release. The
 * path, with the function and file of every step, is drawn at the top of
 * engine.c.
 */
#ifndef MYSHARD_SESSION_ENGINE_H
#define MYSHARD_SESSION_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "route/route_types.h"
#include "session/relay.h"
#include "session/session_types.h"

struct pstmt;
struct serverconn;

/* Sends the client's command (s->cmd) as it is to shard (the held
 * connection's shard when one is held), relaying an answer of kind; read:
 * a replica may serve it. */
void engine_forward(struct session *s, int shard, enum relay_kind kind,
                    bool read);
/*
 * Runs plan for s's current command. For COM_QUERY (ps == NULL) each target
 * gets the text the plan gives it. For COM_STMT_EXECUTE, ps is the
 * statement and exec/exec_len the execute payload to send (its statement id
 * is replaced per connection; the statement is prepared on a connection
 * that lacks it first). exec_ends (NULL: every target sends the whole
 * payload): a split INSERT's targets each send their own payload, target
 * i exec[exec_ends[i - 1] .. exec_ends[i]) (from 0 for the first). The
 * plan and payloads are copied. In a transaction
 * that spans shards (s->txn), targets run on its branches.
 */
void engine_run(struct session *s, const struct route_plan *plan,
                struct pstmt *ps, const uint8_t *exec, size_t exec_len,
                const size_t *exec_ends);
/*
 * Runs sql[i] on sc[i], connections the caller holds (the steps that end a
 * transaction spanning shards, session/txn.c), in r, the caller's run (not
 * the session's: the steps outlive a client that goes away). Each target's
 * OK/ERR, malformed answer or lost connection goes to answer, which takes
 * its connection back; done follows the last, with r free again.
 */
void engine_steps(struct eng_run *r, int n, struct serverconn *const *sc,
                  char *const *sql, eng_answer_fn answer, eng_done_fn done,
                  void *arg);
/* Frees a run of steps whose connections the caller has dropped. */
void engine_steps_cancel(struct eng_run *r);
/* The client's output drained: answers may flow again. */
void engine_client_drained(struct session *s);
/* Past backend.query_timeout: KILL QUERY on every target still running;
 * an answer not yet begun is replaced by 1969 at once. */
void engine_timeout(struct session *s);
/* The client is gone: drop every connection the statement holds. */
void engine_abort(struct session *s);
/* Makes sc the session's held connection between statements. */
void engine_hold(struct session *s, struct serverconn *sc);
/* Gives the held connection back (or drops it when dirty). */
void engine_release(struct session *s, bool dirty);
/* Gives back the held connection, between statements, after resetting the
 * session state the client left on it (COM_RESET_CONNECTION). */
void engine_release_reset(struct session *s);

/* ---- a cursor's run (session/cursor.c) ---- */
/* As engine_run(), in r (the caller's, not running), with the answer going
 * to sink->buf instead of the client; sink's hooks decide when the client
 * has its part and what it gets. */
void engine_run_into(struct eng_run *r, struct session *s,
                     const struct route_plan *plan, struct pstmt *ps,
                     const uint8_t *exec, size_t exec_len,
                     const size_t *exec_ends, struct eng_sink *sink);
/* The sink has room again: r reads on (nothing when r ended). */
void engine_pump(struct eng_run *r);
/* Ends r at once: connections still busy are dropped, r is free again.
 * Nothing when r is not running. */
void engine_drop(struct eng_run *r);
/* The statement in flight ended (s->status holds its final status): pins,
 * the held connection, then the next command. */
void engine_statement_done(struct session *s);

#endif
