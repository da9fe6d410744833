/*
 * engine_types.h - the statement in flight as the engine carries it out
 * (session/engine.h): a run of one or more targets, each one shard's
 * connection going through acquire, prelude, send, consume and release.
 * Embedded in the session: a one-target run allocates nothing.
 */
#ifndef MYSHARD_SESSION_ENGINE_TYPES_H
#define MYSHARD_SESSION_ENGINE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/gtidpos.h"
#include "backend/pool.h"
#include "session/relay.h"

struct session;
struct serverconn;
struct merge;
struct pstmt;
struct eng_run;
struct evbuffer;

/* Where a target is on its way. */
enum eng_step {
    ES_ACQUIRE = 0, /* waiting for a pool connection */
    ES_PRELUDE,     /* schema / variables / BEGIN or XA START applied */
    ES_PREPARE,     /* the executed statement being prepared on it */
    ES_RUN,         /* the statement runs; its answer is consumed */
    ES_PROBE,       /* answered; the connection's LAST_INSERT_ID() read
                       (session/lastid.h) */
    ES_DONE,        /* released */
};

/* How the answers of the run's targets reach the client. */
enum eng_consume {
    EC_RELAY = 0, /* one target: its answer as it is (zero-copy) */
    EC_MERGE,     /* rows of several targets merged (session/merge.h) */
    EC_COMBINE,   /* OKs of several targets combined into one */
    EC_STEPS,     /* a transaction's steps: each target's answer to the
                     caller (engine_steps()) */
};

/* How a cursor's run ended, as its sink's end hook (session/cursor.c)
 * tells the engine. */
enum eng_sink_end {
    SINK_ENGINE = 0, /* the engine answers the client (an error, a combined
                        OK) */
    SINK_ANSWERED,   /* the cursor answered it; s->status is set */
    SINK_GONE,       /* a detached run: freed, the session is elsewhere */
};

typedef void (*eng_turn_fn)(struct eng_run *r);
typedef enum eng_sink_end (*eng_end_fn)(struct eng_run *r);

/* Where a cursor's run puts its answer instead of the client's output. */
struct eng_sink {
    struct evbuffer *buf; /* (ref) the answer's bytes, for the fetches */
    size_t high;          /* reading pauses while buf holds more bytes */
    eng_turn_fn turn;     /* after a target's answer moved */
    eng_end_fn end;       /* every target ended (run_finish) */
    void *arg;            /* (ref) the cursor */
};

/* What became of one target of a run of steps. */
enum eng_outcome {
    EO_ANSWERED = 0, /* OK or ERR: the target's relay says which */
    EO_BROKEN,       /* a malformed answer */
    EO_LOST,         /* the connection failed */
};

/* One target of a run of steps ended; the caller has sc back. */
typedef void (*eng_answer_fn)(void *arg, int idx, struct serverconn *sc,
                              enum eng_outcome o, const struct relay *rl,
                              const char *why);
/* Every target of a run of steps ended; the run is free again. */
typedef void (*eng_done_fn)(void *arg);

struct eng_target {
    struct eng_run *run; /* (ref) */
    int idx;
    int shard;
    int srv;               /* server index serving it, -1 none yet */
    struct serverconn *sc; /* lent, held or the transaction's branch */
    bool held;             /* sc is s->sc: it stays with the session */
    bool new_branch;       /* sc starts the transaction's branch on this
                              shard (session/txn.h) */
    bool retried;          /* a read already sent again elsewhere */
    bool lid_done;         /* the LAST_INSERT_ID prelude step was weighed */
    bool probed;           /* lid holds what the probe read */
    uint64_t lid;          /* the connection's LAST_INSERT_ID() after the
                              statement (session/lastid.h) */
    bool gtid_wait;        /* a MASTER_GTID_WAIT for need goes first */
    bool waiting;          /* ... and its answer is being read */
    bool to_primary;       /* the replica did not catch up in time */
    enum eng_step step;
    struct pool_waiter waiter;
    size_t exec_off;    /* its own execute payload in run->exec (a split */
    size_t exec_len;    /* prepared INSERT); 0: the whole payload */
    const uint8_t *pkt; /* command payload; NULL: the client's own */
    size_t pkt_len;
    uint8_t *own;    /* owned; this target's renamed text, or (prepared
                        statements) the plan's rewrite of it, pkt_len
                        bytes without a command byte */
    struct relay rl; /* prelude answers, then the statement's answer */
    uint64_t need[GTID_SLOTS]; /* a read's replication need (pick.h) */
};

struct eng_run {
    struct session *s; /* (ref) */
    uint32_t gen;      /* counts runs: a loop over targets stops when the
                          run it started in has ended */
    bool active;       /* a statement is in flight */
    enum eng_consume mode;
    enum relay_kind kind; /* of the answer (EC_RELAY) */
    int n, ndone;
    bool read;          /* replicas may serve it */
    bool branches;      /* runs on the transaction's branches */
    bool ok_first_only; /* global table writes: one shard's count */
    bool rows_info;     /* an INSERT/REPLACE split by rows: a shard's OK
                           for one row (no info text) counts as
                           "Records: 1 ..." in the summed info */
    bool relayed;       /* EC_RELAY: bytes reached the client */
    bool answered;      /* the client has its answer (1969 at a timeout):
                           the rest is dropped */
    bool failed;
    uint16_t err_code;
    char *err_msg; /* owned; its message (failures only: kept out of the
                      session's size) */
    uint64_t affected, insert_id;
    uint16_t status;
    struct eng_sink *sink; /* (ref) a cursor's (session/cursor.h): the
                              answer goes there; NULL: to the client */
    bool detached;         /* the client has the cursor's header: the
                              session went on, the run reads on */
    struct merge *m;       /* owned; EC_MERGE */
    struct pstmt *ps;      /* (ref) executing a prepared statement */
    uint8_t *exec;         /* execute payload, id patched per target: owned,
                              or exec_inline */
    size_t exec_len;
    uint8_t exec_inline[96]; /* a small payload: no allocation */
    uint8_t *buf;            /* owned; the targets' COM_QUERY payloads */
    eng_answer_fn answer;    /* EC_STEPS: each target's end ... */
    eng_done_fn done;        /* ... then the run's */
    void *arg;               /* (ref) theirs */
    struct eng_target *t;    /* &one, or owned for several */
    struct eng_target one;   /* the target of a one-target run */
};

#endif
