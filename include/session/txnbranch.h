/*
 * txnbranch.h - a transaction spanning shards as its two halves share it:
 * the branches (session/txnbranch.c: each shard's connection, its start,
 * kept between statements, lost) that the engine uses while statements
 * run, and the end (session/txn.c: the protocol of COMMIT / ROLLBACK,
 * whose steps the engine runs). Internal to those files and the engine.
 */
#ifndef MYSHARD_SESSION_TXNBRANCH_H
#define MYSHARD_SESSION_TXNBRANCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg.h"
#include "session/engine_types.h"

struct event;
struct session;
struct serverconn;
struct wctx;

#define MAX_STEPS 2

enum step_op {
    OP_BEGIN = 0,
    OP_XA_START,
    OP_XA_END,
    OP_XA_PREPARE,
    OP_XA_COMMIT,
    OP_XA_COMMIT_ONE_PHASE,
    OP_XA_ROLLBACK,
    OP_COMMIT,
    OP_ROLLBACK,
};

enum txn_phase {
    PH_OPEN = 0, /* statements run; no steps */
    PH_PREPARE,  /* xa: XA END + XA PREPARE on every branch */
    PH_DELAY,    /* xa: decision logged; xa_commit_delay */
    PH_COMMIT,   /* XA COMMIT (two-phase) / one-phase / COMMIT */
    PH_ROLLBACK, /* ROLLBACK on every branch still there */
};

struct branch {
    struct txn *tx; /* (ref) */
    int shard;
    char name[65];         /* the shard's name: the branch qualifier */
    struct serverconn *sc; /* lent to the transaction; NULL when lost */
    enum step_op steps[MAX_STEPS];
    int nsteps;
    bool failed;   /* a step failed in this phase */
    bool active;   /* XA START (or BEGIN) answered OK */
    bool ended;    /* XA END answered OK */
    bool prepared; /* XA PREPARE answered OK */
};

struct txn {
    struct session *s; /* (ref) NULL once the client is gone */
    struct wctx *wc;   /* (ref) its worker's */
    enum cfg_txn_mode mode;
    char gtrid[64];
    char *begin_sql; /* owned; best_effort: the client's BEGIN */
    struct branch *b;
    int nb, cap;
    char broken[200]; /* why it can only roll back; "" if it can commit */
    enum txn_phase phase;
    int round;          /* the step of the phase the engine runs */
    int *who;           /* owned; the round's target i is branch who[i] */
    struct eng_run run; /* the round's steps */
    bool commit;        /* the client asked to commit */
    bool two_phase;     /* the decision was logged */
    bool chain;         /* AND CHAIN / BEGIN inside the transaction */
    bool release;       /* AND RELEASE */
    bool then_run;      /* an implicit commit: the client's statement runs
                           after it instead of an OK */
    bool failed;        /* the end failed: answer with err */
    bool read_only;     /* txn_begin_snapshot() under transactions: deny */
    uint16_t err_code;  /* ... */
    char err[400];
    struct event *delay; /* owned; PH_DELAY */
};

/* The text of a step: xids in hex, so shard names need no quoting. */
size_t txnbranch_sql(const struct txn *tx, const struct branch *br,
                     enum step_op op, char *out, size_t len);
/* Drops a branch's connection: its state is unknown. */
void txnbranch_drop(struct branch *br, const char *why);
/* The end failed on br (the first failure is the one reported). */
void txnbranch_note_failure(struct txn *tx, const struct branch *br,
                            const char *what);
/* sc stays with br, idle: anything that comes means it was dropped. */
void txnbranch_idle(struct branch *br, struct serverconn *sc);

#endif
