/*
 * lastid.h - LAST_INSERT_ID() and ROW_COUNT() without a pinned connection.
 *
 * The session keeps both values itself (s->last_insert_id, s->row_count),
 * from the answers its statements get, so a client holds no backend
 * connection between autocommit statements:
 *
 *   SELECT LAST_INSERT_ID(), ROW_COUNT(), @@identity ...  answered here
 *   a statement that reads or sets the value elsewhere    the engine's
 *     (LAST_INSERT_ID() inside an INSERT, @@identity in    prelude gives
 *     an expression, CALL, a multi-statement batch)        its connection
 *                                                          the session's
 *                                                          value first
 *                                                          (DO
 * LAST_INSERT_ID(n)) ROW_COUNT() inside a text statement rewritten into the
 * literal after the answer, when the OK cannot tell              a probe on the
 *                                                          same connection
 *
 * Why a probe: an INSERT's OK reports the first generated id, but also,
 * when the statement generated none, the explicit value of its last row,
 * which LAST_INSERT_ID() does not take. The probe, SELECT LAST_INSERT_ID(),
 * LAST_INSERT_ID(0), reads the connection's value and sets it back to 0,
 * so every pooled connection carries 0 between statements: a value the
 * probe reads was set by the statement just run. It runs only when the OK
 * reported an id from an INSERT, or the statement could set the value
 * (LAST_INSERT_ID(expr), CALL, a batch): an INSERT into a table without
 * AUTO_INCREMENT costs nothing.
 */
#ifndef MYSHARD_SESSION_LASTID_H
#define MYSHARD_SESSION_LASTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct relay;
struct serverconn;
struct session;
struct stmt_info;

/* What a statement needs (s->lid_need). */
enum lastid_need {
    LID_NONE = 0, /* the OK's id, if any, is the value (UPDATE ...) */
    LID_IF_ID,    /* an INSERT: probe when its OK reports an id */
    LID_ALWAYS,   /* reads or may set it: the session's value first on the
                     connection, probed after */
};

/* What statement st (one of a batch: called for each) needs; insert: it
 * is an INSERT or REPLACE. The caller ORs the batch's together. */
enum lastid_need lastid_need_of(const struct stmt_info *st);

/* True when st is a SELECT of nothing but LAST_INSERT_ID(), ROW_COUNT(),
 * @@last_insert_id and @@identity (any scope prefix, aliases allowed): the
 * session answers it (lastid_answer). */
bool lastid_is_answered(const struct stmt_info *st);
/* Answers such a SELECT from the session's values and ends the command;
 * binary: as the answer to COM_STMT_EXECUTE (binary rows). */
void lastid_answer(struct session *s, const struct stmt_info *st, bool binary);
/* The same answer written to out (the session's sequence ids), the
 * command left open: a cursor keeps its rows (session/cursor.h). */
void lastid_write_answer(struct session *s, const struct stmt_info *st,
                         bool binary, struct evbuffer *out);

/* When sql (one statement, lexed as st was) calls ROW_COUNT(), a copy
 * with each call replaced by the session's value (malloc'd, length in
 * *out_len); NULL when it calls none. */
char *lastid_rewrite_row_count(const struct session *s,
                               const struct stmt_info *st, const char *sql,
                               size_t len, size_t *out_len);

/* The engine's prelude: for a LID_ALWAYS statement, sends DO
 * LAST_INSERT_ID(n) with the session's value n when it is not 0 (a pooled
 * connection holds 0), its answer swallowed through rl. True when sent. */
bool lastid_prelude(struct session *s, struct serverconn *sc, struct relay *rl);

/* Whether a target whose answer ended this way needs the probe. */
bool lastid_wants_probe(const struct session *s, const struct relay *rl);
/* Sends the probe on sc. */
void lastid_send_probe(struct serverconn *sc);
/* Reads the probe's answer from in. 0: incomplete; 1: *v read (answer
 * consumed); 2: answered with an error (consumed); -1 malformed. */
int lastid_read_probe(struct evbuffer *in, uint64_t *v);

/* One target's facts about the statement's end (engine.c fills these in
 * target order). */
struct lastid_fact {
    bool ok;       /* its answer ended without an error */
    bool probed;   /* the probe read *value* */
    uint64_t okid; /* the OK's insert id */
    uint64_t value;
};
/* The statement ended: failed (an error reached the client), rows (its
 * last result had rows: ROW_COUNT() is -1), affected (what the client's
 * OK said), and the targets' facts in target order. */
void lastid_statement_end(struct session *s, bool failed, bool rows,
                          uint64_t affected, const struct lastid_fact *f,
                          int n);

struct eng_run;
/* lastid_statement_end() for a run whose targets all finished, from
 * their answers (the engine's step 5). */
void lastid_note_run(const struct eng_run *r);

#endif
