/*
 * rs_internal.h - what the reshard modules share: one reshard's record
 * (journaled fields, then the thread's own), the tables it moves, and the
 * blocking libmariadb helpers they use.
 */
#ifndef MYSHARD_RESHARD_RS_INTERNAL_H
#define MYSHARD_RESHARD_RS_INTERNAL_H

#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/mysqltls.h"
#include "reshard/reshard.h"

enum rs_phase {
    RS_COPY = 0,
    RS_CATCHUP,
    RS_CUTOVER,
    RS_CLEANUP,
    RS_DONE,
    RS_ABORTED,
    RS_FAILED,
};

/* A table of the rule: where it lives and how its rows are named. */
struct rs_table {
    char schema[65]; /* the backend schema */
    char name[65];
    char key[65]; /* the shard key column */
    int keycol;   /* its ordinal (0-based) */
    int ncols;
    int npk;
    int pk[16];       /* primary key columns, by ordinal (0-based) */
    char cols[1024];  /* "`a`,`b`,..." in ordinal order */
    char pkcols[256]; /* "`id`" or "`a`,`b`" */
};

/* A server the thread connects to. */
struct rs_server {
    char host[256];
    int port;
};

struct reshard {
    /* ---- journaled ---- */
    uint64_t id;
    char rule[64];
    bool hash;       /* else range */
    uint32_t lo, hi; /* hash: the slots */
    uint32_t slots;
    char at[256];    /* range: the split value as an SQL literal */
    char until[256]; /* range: end of the moving range (exclusive), "" none */
    char from[64], to[64];
    enum rs_phase phase;
    char snap_gtid[512];    /* source position before the snapshot */
    char applied_gtid[512]; /* source position applied to the target */
    long long copied, total, cleaned;
    int copy_table;       /* the table being copied */
    char copy_last[1024]; /* its last primary key copied, "" none */
    bool switched;        /* the placement moved (cutover committed) */
    int64_t started;      /* unix seconds */
    char error[300];
    /* ---- the thread's ---- */
    pthread_t tid;
    bool running;
    atomic_bool stop, abort_req;
    int64_t phase_ms; /* when the phase began (monotonic) */
    struct rs_server src, dst;
    char user[128], password[256];
    struct mysqltls tls;
    int64_t max_pause_ms;
    long copy_rate;
    struct rs_table *tables;
    int ntables;
    /* shown by SHOW RESHARD */
    double lag_s;
    long long behind;
    int tries;
    int64_t longest_hold_ms;
    int64_t moving_gen; /* control generation that marks the moving set */
    int connect_s;      /* connect timeout; 0: 10 s */
    int64_t moving_ms;  /* when the moving set was published (monotonic) */
    bool verified;      /* compared in full; changed keys tracked since */
    int64_t journal_ms; /* last progress write of the journal */
    unsigned long long held_total; /* kept when the hold's slot goes */
    int64_t pool_wait_ms;          /* pool.wait_timeout */
    /* Transactions that took locks on the source before old_mark (its
     * clock) may have written moving keys uncounted: the first cutover
     * waits until none is left (old_clear). */
    char old_mark[32];
    bool old_clear;
    char waiting[300]; /* what the reshard waits for now, "" nothing */
};

/* ---- registry (reshard.c) ---- */
/* Guards every record's shown fields and the journal. */
extern pthread_mutex_t rs_mu;
const char *rs_phase_name(enum rs_phase p);
/* Moves r to phase p (logged with the time spent in the last one) and
 * writes the journal. */
void rs_set_phase(struct reshard *r, enum rs_phase p);
/* Writes the journal (callers hold no lock). */
void rs_journal_save(void);
/* Writes it for progress within a phase: at most every JOURNAL_EVERY_MS
 * (each write syncs the file and its directory; a crash replays at most
 * that much, which copy and catch-up do harmlessly). */
#define JOURNAL_EVERY_MS 1000
void rs_journal_progress(struct reshard *r);
/* Takes max_pause and copy_rate from the running generation (a reload
 * may have changed them). */
void rs_refresh(struct reshard *r);
/* Sleeps ms unless the reshard is asked to stop or abort; false then. */
bool rs_nap(struct reshard *r, int64_t ms);

/* ---- journal.c ---- */
/* Writes every record to path atomically; false with err. */
bool journal_write(const char *path, struct reshard *const *rs, int n,
                   char *err, size_t errlen);
/* Reads path into new records (*out, malloc'd); a missing file is none.
 * False with err on a malformed file. */
bool journal_read(const char *path, struct reshard ***out, int *n, char *err,
                  size_t errlen);

/* ---- rsdb.c: blocking SQL ---- */
MYSQL *rsdb_connect(const struct reshard *r, const struct rs_server *s,
                    char *err, size_t errlen);
/* Runs q; false with "host:port: error" in err. */
bool rsdb_exec(MYSQL *m, const char *q, char *err, size_t errlen);
/* Runs q and returns its result (NULL with err). */
MYSQL_RES *rsdb_query(MYSQL *m, const char *q, char *err, size_t errlen);
/* One value of a one-row query into buf ("" for NULL). */
bool rsdb_value(MYSQL *m, const char *q, char *buf, size_t len, char *err,
                size_t errlen);
/* Appends the row's values (fields f, lengths len) as an SQL tuple
 * "(1,'a',X'00',NULL)" to a growing buffer. */
struct rsbuf {
    char *p;
    size_t len, cap;
};
void rsbuf_add(struct rsbuf *b, const char *s, size_t n);
void rsbuf_str(struct rsbuf *b, const char *s);
void rsbuf_free(struct rsbuf *b);
/* Appends printf-style text. */
void rsbuf_fmt(struct rsbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rsdb_tuple(MYSQL *m, struct rsbuf *b, MYSQL_ROW row,
                const unsigned long *len, const MYSQL_FIELD *f, const int *cols,
                int ncols);

/* ---- copy.c ---- */
/* The WHERE condition that picks the moving rows of t. */
void rs_pred(const struct reshard *r, const struct rs_table *t, char *buf,
             size_t len);
/* Reads the rule's tables (columns, primary keys) from the source. */
bool copy_tables(struct reshard *r, MYSQL *src, char *err, size_t errlen);
bool copy_run(struct reshard *r, MYSQL *src, MYSQL *dst, char *err,
              size_t errlen);
/* Deletes the moving rows from m (the target on abort, the source at
 * cleanup), throttled; counts into *done. */
bool copy_delete(struct reshard *r, MYSQL *m, long long *done, char *err,
                 size_t errlen);
/* ---- catchup.c ---- */
struct rs_catchup;
struct rs_catchup *catchup_open(struct reshard *r, char *err, size_t errlen);
/* Applies the binlog until idle (want == NULL) or until the applied
 * position covers want, or until deadline_ms (monotonic, 0 none); false
 * with err on an error or when the deadline passed (*late set). */
bool catchup_step(struct rs_catchup *c, MYSQL *src, MYSQL *dst,
                  const char *want, int64_t deadline_ms, bool *late, char *err,
                  size_t errlen);
/* From now on, note the primary keys of the rows applied (verify.c);
 * forgets those noted before. */
void catchup_track(struct rs_catchup *c);
/* The keys noted for table ti since catchup_track, as SQL tuples "(1),(2)",
 * or NULL when none. */
const char *catchup_tracked(struct rs_catchup *c, int ti);
/* How many keys are noted. */
long catchup_ntracked(const struct rs_catchup *c);

/* ---- verify.c ---- */
/* Changed keys the hold compares one by one at most; past it the full
 * comparison runs again first. */
#define VERIFY_TRACK_MAX 20000
/* Compares every moving row's count and checksum, per slot, at a
 * consistent point (a source snapshot and the target caught up to it);
 * then tracks the keys applied after it. False with err on a
 * difference. */
bool verify_snapshot(struct reshard *r, struct rs_catchup *c, MYSQL *src,
                     MYSQL *dst, char *err, size_t errlen);
/* Compares the rows the catch-up applied since verify_snapshot. */
bool verify_changed(struct reshard *r, struct rs_catchup *c, MYSQL *src,
                    MYSQL *dst, char *err, size_t errlen);

/* Source transactions not applied yet (reads the source's position);
 * -1 when it cannot be read. */
long long catchup_behind(struct rs_catchup *c, MYSQL *src);
void catchup_close(struct rs_catchup *c);

/* ---- rsgen.c: the generations a reshard makes ---- */
enum rsgen {
    RSGEN_MOVING,   /* the source owns the keys; writes to them are marked */
    RSGEN_SWITCHED, /* the target owns them; the source's stale copies are
                       the cleanup set (filtered out of its answers) */
    RSGEN_CLEANED,  /* the same without the cleanup set (they are deleted) */
    RSGEN_PLAIN,    /* the source owns them; nothing marked (abort) */
};
/* Builds the generation for what from running, publishes its placement
 * on the control server (its generation number in *gen_out, may be NULL)
 * and writes the live placement file; NULL with err. */
struct cfg *rsgen_next(const struct cfg *running, const struct reshard *r,
                       enum rsgen what, int64_t *gen_out, char *err,
                       size_t errlen);
/* Whether running already gives the moving keys to the target (a crash
 * after the placement was written, before the journal said so). */
bool rsgen_switched(const struct cfg *running, const struct reshard *r);

/* ---- control.c: instances agree through the control server ---- */
/* An instance that could not reach the control server for this long
 * holds moving writes itself; the instance running a cutover counts one
 * whose heartbeat is older than CONTROL_DEAD_MS as gone. */
#define CONTROL_LEASE_MS 1000
#define CONTROL_DEAD_MS  3000
/* The first cutover waits this long after the moving set was published:
 * an instance polls at least every 500 ms. */
#define CONTROL_DISCOVER_MS 1500
/* At start, before the workers: the control server's placement replaces
 * the local file when they differ (*changed). False only when the file
 * cannot be written; an unreachable server leaves the local file. */
bool control_sync(const struct cfg *c, bool *changed, char *err, size_t errlen);
bool control_start(const struct reshard_env *env, char *err, size_t errlen);
/* reshard_fence_start (reshard.h). */
void control_fence_start(const struct cfg *c);
void control_stop(void);
/* Publishes the placement file's text as the next generation (*gen). */
bool control_publish(const char *text, int64_t *gen, char *err, size_t errlen);
/* The generation the workers run (published or applied). */
int64_t control_gen(void);
/* Asks every instance to hold reshard id's moving writes (sequence seq,
 * for at most expires_in_ms); released by control_release. */
bool control_hold(uint64_t id, int64_t seq, int64_t expires_in_ms, char *err,
                  size_t errlen);
void control_release(uint64_t id);
/* How many live instances other than this one do not run generation gen
 * yet or (seq > 0) have not acknowledged hold id/seq; their names in who.
 * -1 with err when the control server does not answer. */
int control_waiting(uint64_t id, int64_t seq, int64_t gen, char *who,
                    size_t wholen, char *err, size_t errlen);
/* Whether reshard id runs on this instance (reshard.c). */
bool reshard_is_local(uint64_t id);

#endif
