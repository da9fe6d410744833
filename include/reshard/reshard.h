/*
 * reshard.h - online resharding (PRODUCT.md "Online resharding"): moving
 * part of one rule's key space from one source shard to a target shard
 * while the application reads and writes.
 *
 * Each reshard runs on a thread of its own with libmariadb connections to
 * the source and target primaries, never on the workers:
 *
 *   copy     create the rule's tables on the target; copy the moving rows
 *            from a consistent snapshot of the source, in primary key
 *            order, in batches, at most reshard.copy_rate rows/s
 *   catchup  follow the source's row-based binlog from the snapshot's
 *            GTID; apply each changed row's image to the target in order
 *            (REPLACE by primary key, DELETE by primary key: replaying a
 *            stretch again ends in the same rows)
 *   cutover  hold new writes to moving keys (session/movehold.h), wait for
 *            the running ones, apply the binlog up to the source's GTID,
 *            compare per-slot counts and checksums, write the live
 *            placement (the commit point), switch every worker, release;
 *            past reshard.max_pause: release to the source, try again
 *   cleanup  delete the moved rows from the source, throttled
 *
 * The journal (reshard.state + ".journal") keeps each reshard's phase,
 * GTIDs and progress; reshard_init resumes what a crash interrupted: copy
 * and catchup resume, a cutover that had not written the placement goes
 * back to catchup, one that had goes on to cleanup.
 */
#ifndef MYSHARD_RESHARD_RESHARD_H
#define MYSHARD_RESHARD_RESHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;

/* What a reshard needs from the proxy. */
struct reshard_env {
    /* the running generation, with a reference the caller drops */
    struct cfg *(*cfg_get)(void *arg);
    /* Under the reload lock (no reload reads the placement file between
     * the two steps): build(running, ctx) makes the next generation (NULL
     * with msg: nothing changes), which then runs in every worker as a
     * reload's does; returns once each worker switched (bounded). */
    bool (*apply)(void *arg,
                  struct cfg *(*build)(const struct cfg *running, void *ctx,
                                       char *msg, size_t msglen),
                  void *ctx, char *msg, size_t msglen);
    void *arg;
};

/* Before the workers start, after the placement is final: writes to the
 * keys of a reshard in progress (moving, or moved and not yet cleaned)
 * wait until the control thread has read the holds once (another
 * instance may be switching them). */
void reshard_fence_start(const struct cfg *c);

/* Before the workers start: when the control server (the schema
 * myshard_control on the first shard's primary, shared by every instance)
 * holds a placement other than the local reshard.state file, the file
 * takes it (*changed: load the config again). An unreachable control
 * server leaves the file as it is. False when the file cannot be
 * written. */
bool reshard_sync_placement(const struct cfg *c, bool *changed, char *err,
                            size_t errlen);

/* Reads the journal and resumes the reshards it holds. False with err
 * when the journal cannot be read (myshard then refuses to start: the
 * placement it describes must not be guessed). */
bool reshard_init(const struct reshard_env *env, char *err, size_t errlen);
/* Stops the threads at their next step (the journal keeps their place). */
void reshard_shutdown(void);

/* RESHARD 'rule' MOVE SLOTS lo-hi TO 'shard'. */
bool reshard_move_slots(const char *rule, uint32_t lo, uint32_t hi,
                        const char *shard, uint64_t *id, char *err,
                        size_t errlen);
/* RESHARD 'rule' SPLIT AT value TO 'shard'; value is the key's text, a
 * string when quoted. */
bool reshard_split_at(const char *rule, const char *value, bool quoted,
                      const char *shard, uint64_t *id, char *err,
                      size_t errlen);
/* RESHARD ABORT id: before cutover only. */
bool reshard_abort(uint64_t id, char *err, size_t errlen);

/* One line of SHOW RESHARD. */
struct reshard_info {
    uint64_t id;
    char rule[64];
    char keys[300]; /* "slots 768-1023", "from 5000 to 9000" */
    char from[64], to[64];
    const char *phase; /* copy, catchup, cutover, cleanup, done, aborted,
                          failed */
    long long rows_copied, rows_total, rows_cleaned;
    double binlog_lag_s;     /* age of the last source event applied */
    long long binlog_behind; /* source transactions not applied yet */
    long held_now;           /* writes held now */
    unsigned long long held_total;
    int64_t longest_hold_ms; /* of one cutover hold */
    int cutover_tries;
    int64_t started;  /* unix seconds */
    int64_t phase_ms; /* in the current phase */
    char error[300];
    char waiting[300]; /* what it waits for now: old transactions, an
                          instance that did not confirm the hold */
};

/* Fills out[0..max) with the reshards (running first, then the last
 * finished ones); returns how many. */
int reshard_list(struct reshard_info *out, int max);

#endif
