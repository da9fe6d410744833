/*
 * reshard.c - the reshards: the commands that start and abort them, the
 * registry SHOW RESHARD reads, the journal, and each reshard's thread
 * walking its phases (reshard.h has the picture).
 */
#include "reshard/reshard.h"
#include "rs_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg.h"
#include "session/movehold.h"

/* Finished reshards kept for SHOW RESHARD and their ids. */
#define KEEP_FINISHED 10
/* Source transactions behind at most, for a cutover to be tried. */
#define CUTOVER_BEHIND 20

pthread_mutex_t rs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct reshard **all;
static int nall;
static struct reshard_env env;
static char journal_path[4096];
static uint64_t last_id;

static const char *const phase_names[] = {
    "copy", "catchup", "cutover", "cleanup", "done", "aborted", "failed",
};

const char *
rs_phase_name(enum rs_phase p)
{
    return phase_names[p];
}

static bool
finished(const struct reshard *r)
{
    return r->phase >= RS_DONE;
}

/* The hold's counters outlive its slot: kept in the record. */
static void
release_slot(struct reshard *r)
{
    long now;
    unsigned long long total;
    int64_t longest;

    movehold_counts(r->id, &now, &total, &longest);
    pthread_mutex_lock(&rs_mu);
    if (total > r->held_total)
        r->held_total = total;
    if (longest > r->longest_hold_ms)
        r->longest_hold_ms = longest;
    pthread_mutex_unlock(&rs_mu);
    movehold_unregister(r->id);
}

void
rs_journal_save(void)
{
    char err[512];
    bool ok;

    pthread_mutex_lock(&rs_mu);
    ok = journal_write(journal_path, all, nall, err, sizeof(err));
    pthread_mutex_unlock(&rs_mu);
    if (!ok)
        log_error("reshard journal not written: %s", err);
}

void
rs_journal_progress(struct reshard *r)
{
    int64_t now = clock_ms();

    if (now - r->journal_ms < JOURNAL_EVERY_MS)
        return;
    r->journal_ms = now;
    rs_journal_save();
}

void
rs_set_phase(struct reshard *r, enum rs_phase p)
{
    int64_t now = clock_ms();

    log_info("reshard phase id=%" PRIu64 " rule=%s from=%s to=%s "
             "phase=%s previous=%s previous_ms=%" PRId64,
             r->id, r->rule, r->from, r->to, rs_phase_name(p),
             rs_phase_name(r->phase), now - r->phase_ms);
    pthread_mutex_lock(&rs_mu);
    r->phase = p;
    r->phase_ms = now;
    pthread_mutex_unlock(&rs_mu);
    rs_journal_save();
}

void
rs_refresh(struct reshard *r)
{
    struct cfg *c = env.cfg_get(env.arg);

    r->max_pause_ms = c->reshard.max_pause_ms;
    r->copy_rate = (long)c->reshard.copy_rate;
    r->pool_wait_ms = c->backend.pool.wait_timeout_ms;
    cfg_put(c);
}

bool
rs_nap(struct reshard *r, int64_t ms)
{
    int64_t until = clock_ms() + ms;

    while (!atomic_load(&r->stop) && !atomic_load(&r->abort_req)) {
        int64_t left = until - clock_ms();
        struct timespec ts;
        if (left <= 0)
            return true;
        if (left > 50)
            left = 50;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
    return false;
}

/* ---- the thread ---------------------------------------------------------- */

static void
fail(struct reshard *r, const char *why)
{
    log_error("reshard failed id=%" PRIu64 " rule=%s phase=%s error=\"%s\"",
              r->id, r->rule, rs_phase_name(r->phase), why);
    pthread_mutex_lock(&rs_mu);
    snprintf(r->error, sizeof(r->error), "%.290s", why);
    pthread_mutex_unlock(&rs_mu);
    movehold_set(r->id, false, 0);
    rs_set_phase(r, RS_FAILED);
}

struct gen_job {
    struct reshard *r;
    enum rsgen what;
    int64_t gen;
};

static struct cfg *
build(const struct cfg *running, void *ctx, char *err, size_t errlen)
{
    struct gen_job *j = ctx;

    return rsgen_next(running, j->r, j->what, &j->gen, err, errlen);
}

/* Builds and runs the generation what; false with err. Its control
 * generation in *gen (may be NULL). */
static bool
switch_to(struct reshard *r, enum rsgen what, int64_t *gen, char *err,
          size_t errlen)
{
    struct gen_job j = {r, what, 0};
    bool ok = env.apply(env.arg, build, &j, err, errlen);

    if (ok && gen != NULL)
        *gen = j.gen;
    return ok;
}

/* Waits until every other live instance runs gen and (seq > 0) holds
 * the reshard's writes, or until deadline; false with their names. */
static bool
others_ready(struct reshard *r, int64_t seq, int64_t gen, int64_t deadline,
             char *err, size_t errlen)
{
    char who[256];

    for (;;) {
        int n = control_waiting(r->id, seq, gen, who, sizeof(who), err, errlen);
        if (n == 0)
            return true;
        if (clock_ms() >= deadline || !rs_nap(r, 10)) {
            if (n > 0)
                snprintf(err, errlen, "instance(s) %s did not confirm %s", who,
                         seq > 0 ? "the hold" : "the switch");
            return false;
        }
    }
}

/* Undoes a reshard before its cutover: writes go on unmarked, and the
 * copied rows leave the target. */
static void
do_abort(struct reshard *r, MYSQL *dst)
{
    char err[512];
    long long gone = 0;

    movehold_set(r->id, false, 0);
    if (!switch_to(r, RSGEN_PLAIN, NULL, err, sizeof(err))) {
        fail(r, err);
        return;
    }
    atomic_store(&r->abort_req, false); /* the deletes may run now */
    if (dst != NULL && !copy_delete(r, dst, &gone, err, sizeof(err))) {
        fail(r, err);
        return;
    }
    log_info("reshard aborted id=%" PRIu64 " rule=%s target_rows_deleted=%lld",
             r->id, r->rule, gone);
    rs_set_phase(r, RS_ABORTED);
}

/* Sets what SHOW RESHARD says the reshard waits for ("" nothing). */
static void
set_waiting(struct reshard *r, const char *what)
{
    pthread_mutex_lock(&rs_mu);
    snprintf(r->waiting, sizeof(r->waiting), "%.290s", what);
    pthread_mutex_unlock(&rs_mu);
}

/* How long after the moving set was published every write to a moving
 * key is counted: each instance has read it (control.c), and a statement
 * planned before that has left the pool's queue. */
static int64_t
counted_after_ms(const struct reshard *r)
{
    int64_t ms = r->pool_wait_ms + 500;

    return ms > CONTROL_DISCOVER_MS ? ms : CONTROL_DISCOVER_MS;
}

/* Whether the source still runs a transaction that took locks before
 * old_mark: it may have written moving keys before they were counted,
 * and a commit after the switch would reach only the source. True when
 * none is left; false with what it waits for in the waiting note (or the
 * error reading it: the check needs PROCESS). */
static bool
old_writers_gone(struct reshard *r, MYSQL *src)
{
    char q[512], err[512], note[300];
    MYSQL_RES *res;
    MYSQL_ROW row;

    if (r->old_mark[0] == '\0' &&
        !rsdb_value(src, "SELECT NOW()", r->old_mark, sizeof(r->old_mark), err,
                    sizeof(err))) {
        r->old_mark[0] = '\0';
        goto error;
    }
    /* locks, not rows modified: an UPDATE still waiting for its row has
     * modified none yet; a consistent read takes none */
    snprintf(q, sizeof(q),
             "SELECT COUNT(*) OVER (), trx_mysql_thread_id, trx_started "
             "FROM information_schema.INNODB_TRX WHERE trx_lock_structs > 0 "
             "AND trx_started <= '%s' AND trx_mysql_thread_id <> "
             "CONNECTION_ID() ORDER BY trx_started LIMIT 1",
             r->old_mark);
    res = rsdb_query(src, q, err, sizeof(err));
    if (res == NULL)
        goto error;
    row = mysql_fetch_row(res);
    if (row == NULL) {
        mysql_free_result(res);
        set_waiting(r, "");
        return true;
    }
    snprintf(note, sizeof(note),
             "%s transaction(s) on %s that took locks before the moving "
             "keys were counted (oldest: connection %s, since %s): the "
             "cutover starts when they end",
             row[0] ? row[0] : "?", r->from, row[1] ? row[1] : "?",
             row[2] ? row[2] : "?");
    mysql_free_result(res);
    set_waiting(r, note);
    return false;
error:
    snprintf(note, sizeof(note),
             "cannot list the transactions open on %s (the backend account "
             "needs PROCESS): %.150s",
             r->from, err);
    set_waiting(r, note);
    return false;
}

/* One try at the cutover. True when it switched; false with *back_off
 * when it gave up in time (the writes went on to the source), or with err
 * on an error. */
static bool
cutover(struct reshard *r, struct rs_catchup *c, MYSQL *src, MYSQL *dst,
        bool *back_off, char *err, size_t errlen)
{
    int64_t t0, deadline, held, gen = 0, step[4] = {0};
    char want[512];
    bool late = false;

    *back_off = false;
    pthread_mutex_lock(&rs_mu);
    r->tries++;
    pthread_mutex_unlock(&rs_mu);
    rs_set_phase(r, RS_CUTOVER);
    t0 = clock_ms();
    deadline = t0 + r->max_pause_ms;
    movehold_set(r->id, true, r->max_pause_ms + 2000);
    /* every instance holds too, past our deadline by a margin */
    if (!control_hold(r->id, r->tries, r->max_pause_ms + 1000, err, errlen))
        goto back;
    while (movehold_inflight(r->id) > 0 && clock_ms() < deadline)
        rs_nap(r, 1);
    if (movehold_inflight(r->id) > 0) {
        snprintf(err, errlen, "%ld writes to moving keys still running",
                 movehold_inflight(r->id));
        goto back;
    }
    step[0] = clock_ms();
    if (!others_ready(r, r->tries, r->moving_gen, deadline, err, errlen))
        goto back;
    step[1] = clock_ms();
    if (!rsdb_value(src, "SELECT @@gtid_binlog_pos", want, sizeof(want), err,
                    errlen))
        goto back;
    if (!catchup_step(c, src, dst, want, deadline, &late, err, errlen))
        goto back;
    step[2] = clock_ms();
    /* the rows changed since the full comparison (verify.c) */
    if (!verify_changed(r, c, src, dst, err, errlen)) {
        r->verified = false;
        goto back;
    }
    step[3] = clock_ms();
    if (step[3] >= deadline) {
        snprintf(err, errlen, "the checks took longer than max_pause");
        goto back;
    }
    /* The commit point: the control server's placement names the
     * target; then this instance's file and workers. */
    if (!switch_to(r, RSGEN_SWITCHED, &gen, err, errlen)) {
        movehold_set(r->id, false, 0);
        control_release(r->id);
        return false;
    }
    /* This instance's workers route to the target now, but its writes to
     * the moved keys stay held (the switched generation marks them) until
     * every live instance runs the switch too: while one of them still
     * reads the source, a write acknowledged through another would make
     * it answer an old row. The others hold until they run it (or until
     * their hold expires after they read it: control.c); the held
     * statements wait at most max_pause + 2 s. */
    if (!others_ready(r, 0, gen, t0 + r->max_pause_ms + 1500, err, errlen))
        log_warn("reshard switch not confirmed by every instance id=%" PRIu64
                 " why=\"%s\" (they switch when they next read the "
                 "control server)",
                 r->id, err);
    movehold_set(r->id, false, 0);
    control_release(r->id);
    held = clock_ms() - t0;
    set_waiting(r, "");
    pthread_mutex_lock(&rs_mu);
    r->switched = true;
    r->behind = 0;
    r->lag_s = 0;
    if (held > r->longest_hold_ms)
        r->longest_hold_ms = held;
    pthread_mutex_unlock(&rs_mu);
    log_info(
        "reshard switched id=%" PRIu64 " rule=%s to=%s hold_ms=%" PRId64
        " inflight_ms=%" PRId64 " instances_ms=%" PRId64 " binlog_ms=%" PRId64
        " verify_ms=%" PRId64 " switch_ms=%" PRId64 " tries=%d",
        r->id, r->rule, r->to, held, step[0] - t0, step[1] - step[0],
        step[2] - step[1], step[3] - step[2], t0 + held - step[3], r->tries);
    return true;
back:
    movehold_set(r->id, false, 0);
    control_release(r->id);
    held = clock_ms() - t0;
    pthread_mutex_lock(&rs_mu);
    if (held > r->longest_hold_ms)
        r->longest_hold_ms = held;
    pthread_mutex_unlock(&rs_mu);
    log_warn("reshard cutover backed off id=%" PRIu64 " rule=%s try=%d "
             "hold_ms=%" PRId64 " why=\"%s\"",
             r->id, r->rule, r->tries, held, err);
    {
        char note[300];
        snprintf(note, sizeof(note), "cutover try %d backed off: %.240s",
                 r->tries, err);
        set_waiting(r, note);
    }
    *back_off = true;
    return false;
}

static void *
run(void *arg)
{
    struct reshard *r = arg;
    struct rs_catchup *c = NULL;
    MYSQL *src = NULL, *dst = NULL;
    char err[1024];
    struct cfg *running;

    log_set_thread_name("reshard");
    src = rsdb_connect(r, &r->src, err, sizeof(err));
    if (src != NULL)
        dst = rsdb_connect(r, &r->dst, err, sizeof(err));
    if (src == NULL || dst == NULL)
        goto failed;
    if (!copy_tables(r, src, err, sizeof(err)))
        goto failed;
    if (atomic_load(&r->abort_req) && !r->switched) {
        do_abort(r, dst);
        goto out;
    }
    running = env.cfg_get(env.arg);
    if (!r->switched && rsgen_switched(running, r)) {
        /* the placement was written, the journal not yet */
        r->switched = true;
        rs_set_phase(r, RS_CLEANUP);
    }
    cfg_put(running);
    if (!r->switched &&
        !switch_to(r, RSGEN_MOVING, &r->moving_gen, err, sizeof(err)))
        goto failed;
    r->moving_ms = clock_ms();
    if (r->phase == RS_CUTOVER)
        rs_set_phase(r, r->switched ? RS_CLEANUP : RS_CATCHUP);
    if (r->phase == RS_COPY) {
        if (!copy_run(r, src, dst, err, sizeof(err)))
            goto stopped;
        rs_set_phase(r, RS_CATCHUP);
    }
    if (r->phase == RS_CATCHUP) {
        c = catchup_open(r, err, sizeof(err));
        if (c == NULL)
            goto failed;
        for (;;) {
            bool late, back_off;
            long long n;
            rs_refresh(r);
            if (!catchup_step(c, src, dst, NULL, 0, &late, err, sizeof(err)))
                goto stopped;
            rs_journal_progress(r);
            n = catchup_behind(c, src);
            if (n < 0 || n > CUTOVER_BEHIND)
                continue;
            /* every instance reads the control server at least once
             * after the moving set was published (a heartbeat makes it
             * one the cutover waits for) */
            if (clock_ms() - r->moving_ms < counted_after_ms(r))
                continue;
            if (!r->old_clear) {
                if (!old_writers_gone(r, src)) {
                    if (!rs_nap(r, 200))
                        goto stopped;
                    continue;
                }
                r->old_clear = true;
                log_info("reshard counts every write to its keys id=%" PRIu64
                         " rule=%s (no transaction older than %s left)",
                         r->id, r->rule, r->old_mark);
            }
            /* the full comparison, again when too many rows changed since
             * for the hold to check them one by one */
            if (catchup_ntracked(c) > VERIFY_TRACK_MAX)
                r->verified = false;
            if (!r->verified) {
                if (!verify_snapshot(r, c, src, dst, err, sizeof(err)))
                    goto failed;
                r->verified = true;
                continue;
            }
            if (cutover(r, c, src, dst, &back_off, err, sizeof(err)))
                break;
            if (!back_off)
                goto failed;
            rs_set_phase(r, RS_CATCHUP);
            /* later, and later again: what held it may be a burst */
            if (!rs_nap(r, 500 * (r->tries < 10 ? r->tries : 10)))
                goto stopped;
        }
        catchup_close(c);
        c = NULL;
        rs_set_phase(r, RS_CLEANUP);
    }
    if (r->phase == RS_CLEANUP) {
        /* reads that started on the old generation finish first */
        if (!rs_nap(r, 1000) && atomic_load(&r->stop))
            goto out;
        atomic_store(&r->abort_req, false); /* too late to undo */
        if (!copy_delete(r, src, &r->cleaned, err, sizeof(err)))
            goto stopped;
        /* the stale rows are gone: the source's answers need no filter */
        if (!switch_to(r, RSGEN_CLEANED, NULL, err, sizeof(err)))
            goto failed;
        release_slot(r);
        rs_set_phase(r, RS_DONE);
    }
    goto out;
stopped:
    if (atomic_load(&r->abort_req) && !r->switched) {
        catchup_close(c);
        c = NULL;
        do_abort(r, dst);
        goto out;
    }
    if (atomic_load(&r->stop))
        goto out; /* shutting down: the journal keeps its place */
failed:
    fail(r, err);
out:
    catchup_close(c);
    if (src != NULL)
        mysql_close(src);
    if (dst != NULL)
        mysql_close(dst);
    if (finished(r))
        release_slot(r);
    mysql_thread_end();
    pthread_mutex_lock(&rs_mu);
    r->running = false;
    pthread_mutex_unlock(&rs_mu);
    return NULL;
}

bool
reshard_is_local(uint64_t id)
{
    bool local = false;

    pthread_mutex_lock(&rs_mu);
    for (int i = 0; i < nall; i++)
        if (all[i]->id == id && (all[i]->running || !finished(all[i])))
            local = true;
    pthread_mutex_unlock(&rs_mu);
    return local;
}

/* ---- starting ------------------------------------------------------------ */

/* Fills the thread's settings and tables from the running generation;
 * false with err when the rule or shards are gone. */
static bool
bind_cfg(struct reshard *r, const struct cfg *c, char *err, size_t errlen)
{
    int ri = -1, from, to;

    for (int i = 0; i < c->nrules; i++)
        if (strcmp(c->rules[i].name, r->rule) == 0)
            ri = i;
    from = cfg_find_shard(c, r->from);
    to = cfg_find_shard(c, r->to);
    if (ri < 0 || from < 0 || to < 0) {
        snprintf(err, errlen,
                 "rule '%s' or shard '%s'/'%s' is not in the running config",
                 r->rule, r->from, r->to);
        return false;
    }
    snprintf(r->src.host, sizeof(r->src.host), "%s",
             c->shards[from].primary.host);
    r->src.port = c->shards[from].primary.port;
    snprintf(r->dst.host, sizeof(r->dst.host), "%s",
             c->shards[to].primary.host);
    r->dst.port = c->shards[to].primary.port;
    snprintf(r->user, sizeof(r->user), "%s", c->backend.user);
    snprintf(r->password, sizeof(r->password), "%s",
             c->backend.password ? c->backend.password : "");
    mysqltls_from(&r->tls, &c->backend.tls);
    r->max_pause_ms = c->reshard.max_pause_ms;
    r->copy_rate = (long)c->reshard.copy_rate;
    free(r->tables);
    r->tables = NULL;
    r->ntables = 0;
    for (int s = 0; s < c->nschemas; s++)
        for (int t = 0; t < c->schemas[s].ntables; t++) {
            const struct cfg_table *tb = &c->schemas[s].tables[t];
            struct rs_table *rt;
            if (tb->rule != ri)
                continue;
            r->tables = xrealloc(r->tables,
                                 (size_t)(r->ntables + 1) * sizeof(*r->tables));
            rt = &r->tables[r->ntables++];
            memset(rt, 0, sizeof(*rt));
            snprintf(rt->schema, sizeof(rt->schema), "%s",
                     c->schemas[s].backend_schema);
            snprintf(rt->name, sizeof(rt->name), "%s", tb->name);
            snprintf(rt->key, sizeof(rt->key), "%s", tb->key);
        }
    if (r->ntables == 0) {
        snprintf(err, errlen,
                 "no table of any schema uses rule '%s': there "
                 "is nothing to move",
                 r->rule);
        return false;
    }
    return true;
}

static bool
launch(struct reshard *r, char *err, size_t errlen)
{
    struct cfg *c = env.cfg_get(env.arg);
    bool ok = bind_cfg(r, c, err, errlen);

    cfg_put(c);
    if (!ok)
        return false;
    if (!movehold_register(r->id)) {
        snprintf(err, errlen, "%d reshards run already; wait for one to end",
                 MOVEHOLD_MAX);
        return false;
    }
    r->phase_ms = clock_ms();
    r->running = true;
    if (pthread_create(&r->tid, NULL, run, r) != 0) {
        r->running = false;
        movehold_unregister(r->id);
        snprintf(err, errlen, "cannot start the reshard's thread");
        return false;
    }
    pthread_detach(r->tid);
    return true;
}

/* Adds r (validated) to the registry, journals and starts it. */
static bool
start(struct reshard *r, uint64_t *id, char *err, size_t errlen)
{
    pthread_mutex_lock(&rs_mu);
    for (int i = 0; i < nall; i++)
        if (!finished(all[i]) && strcmp(all[i]->rule, r->rule) == 0) {
            snprintf(err, errlen,
                     "reshard %" PRIu64 " of rule '%s' is still running "
                     "(%s); one reshard per rule at a time: wait for it or "
                     "RESHARD ABORT it",
                     all[i]->id, r->rule, rs_phase_name(all[i]->phase));
            pthread_mutex_unlock(&rs_mu);
            free(r);
            return false;
        }
    r->id = ++last_id;
    r->started = (int64_t)time(NULL);
    all = xrealloc(all, (size_t)(nall + 1) * sizeof(*all));
    all[nall++] = r;
    pthread_mutex_unlock(&rs_mu);
    if (!launch(r, err, errlen)) {
        pthread_mutex_lock(&rs_mu);
        nall--;
        pthread_mutex_unlock(&rs_mu);
        free(r->tables);
        free(r);
        return false;
    }
    rs_journal_save();
    log_info("reshard started id=%" PRIu64 " rule=%s from=%s to=%s "
             "tables=%d",
             r->id, r->rule, r->from, r->to, r->ntables);
    *id = r->id;
    return true;
}

static const struct cfg_rule *
find_rule(const struct cfg *c, const char *name)
{
    for (int i = 0; i < c->nrules; i++)
        if (strcmp(c->rules[i].name, name) == 0)
            return &c->rules[i];
    return NULL;
}

/* A rule whose last reshard has not deleted its stale rows yet takes no
 * new one: its source still holds them (cfg_rule.cleanup). */
static bool
cleanup_pending(const struct cfg *c, const struct cfg_rule *ru, char *err,
                size_t errlen)
{
    if (!ru->cleanup.active)
        return false;
    snprintf(err, errlen,
             "rule '%s' still has moved rows to delete from shard '%s' (the "
             "cleanup of reshard %lld); one reshard per rule at a time: wait "
             "until that cleanup is done (SHOW RESHARD)",
             ru->name, c->shards[ru->cleanup.source].name,
             (long long)ru->cleanup.id);
    return true;
}

bool
reshard_move_slots(const char *rule, uint32_t lo, uint32_t hi,
                   const char *shard, uint64_t *id, char *err, size_t errlen)
{
    struct cfg *c = env.cfg_get(env.arg);
    const struct cfg_rule *ru = find_rule(c, rule);
    int to = cfg_find_shard(c, shard), from;
    struct reshard *r;

    if (ru == NULL || ru->type != RULE_HASH) {
        snprintf(err, errlen,
                 ru == NULL ? "no rule '%s' in the running config"
                            : "rule '%s' is not a hash rule: MOVE SLOTS "
                              "moves slots of hash rules; use SPLIT AT for "
                              "range rules",
                 rule);
        goto refuse;
    }
    if (cleanup_pending(c, ru, err, errlen))
        goto refuse;
    if (to < 0) {
        snprintf(err, errlen,
                 "no shard '%s': add it to shards: and RELOAD CONFIG first",
                 shard);
        goto refuse;
    }
    if (lo > hi || hi >= ru->slots) {
        snprintf(err, errlen, "slots %u-%u: rule '%s' has slots 0-%u", lo, hi,
                 rule, ru->slots - 1);
        goto refuse;
    }
    from = ru->slot_owner[lo];
    for (uint32_t s = lo; s <= hi; s++)
        if (ru->slot_owner[s] != from) {
            snprintf(err, errlen,
                     "slots %u-%u belong to more than one shard ('%s' has "
                     "%u, '%s' has %u): move them in one reshard per source "
                     "shard",
                     lo, hi, c->shards[from].name, lo,
                     c->shards[ru->slot_owner[s]].name, s);
            goto refuse;
        }
    if (from == to) {
        snprintf(err, errlen, "slots %u-%u are on shard '%s' already", lo, hi,
                 shard);
        goto refuse;
    }
    r = xcalloc(1, sizeof(*r));
    snprintf(r->rule, sizeof(r->rule), "%s", rule);
    r->hash = true;
    r->lo = lo;
    r->hi = hi;
    r->slots = ru->slots;
    snprintf(r->from, sizeof(r->from), "%s", c->shards[from].name);
    snprintf(r->to, sizeof(r->to), "%s", shard);
    cfg_put(c);
    return start(r, id, err, errlen);
refuse:
    cfg_put(c);
    return false;
}

/* A bound as an SQL literal. */
static void
bound_sql(const struct cfg_bound *b, char *buf, size_t len)
{
    if (!b->set) {
        buf[0] = '\0';
        return;
    }
    if (!b->is_string) {
        snprintf(buf, len, "%" PRId64, b->i);
        return;
    }
    {
        size_t o = 0;
        buf[o++] = '\'';
        for (const char *s = b->s; *s && o + 3 < len; s++) {
            if (*s == '\'' || *s == '\\')
                buf[o++] = '\\';
            buf[o++] = *s;
        }
        buf[o++] = '\'';
        buf[o] = '\0';
    }
}

bool
reshard_split_at(const char *rule, const char *value, bool quoted,
                 const char *shard, uint64_t *id, char *err, size_t errlen)
{
    struct cfg *c = env.cfg_get(env.arg);
    const struct cfg_rule *ru = find_rule(c, rule);
    int to = cfg_find_shard(c, shard);
    const struct cfg_range *in = NULL;
    struct cfg_bound at = {0};
    struct reshard *r;
    char *end;

    if (ru == NULL || ru->type != RULE_RANGE) {
        snprintf(err, errlen,
                 ru == NULL ? "no rule '%s' in the running config"
                            : "rule '%s' is not a range rule: SPLIT AT "
                              "splits ranges; use MOVE SLOTS for hash rules",
                 rule);
        goto refuse;
    }
    if (cleanup_pending(c, ru, err, errlen))
        goto refuse;
    if (to < 0) {
        snprintf(err, errlen,
                 "no shard '%s': add it to shards: and RELOAD CONFIG first",
                 shard);
        goto refuse;
    }
    at.set = true;
    at.is_string = ru->nranges > 0 &&
                   (ru->ranges[0].from.set ? ru->ranges[0].from.is_string
                                           : ru->ranges[0].to.is_string);
    if (at.is_string != quoted) {
        snprintf(err, errlen, "rule '%s' has %s bounds: write the value %s",
                 rule, at.is_string ? "string" : "integer",
                 at.is_string ? "quoted" : "as a number");
        goto refuse;
    }
    if (at.is_string) {
        at.s = (char *)value;
    } else {
        at.i = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0') {
            snprintf(err, errlen, "'%s' is not an integer", value);
            goto refuse;
        }
    }
    for (int i = 0; i < ru->nranges; i++) {
        const struct cfg_range *g = &ru->ranges[i];
        bool after_from, before_to;
        if (at.is_string) {
            after_from = !g->from.set || strcmp(value, g->from.s) >= 0;
            before_to = !g->to.set || strcmp(value, g->to.s) < 0;
        } else {
            after_from = !g->from.set || at.i >= g->from.i;
            before_to = !g->to.set || at.i < g->to.i;
        }
        if (after_from && before_to)
            in = g;
    }
    if (in == NULL) {
        snprintf(err, errlen, "no range of rule '%s' holds %s", rule, value);
        goto refuse;
    }
    if (in->shard == to) {
        snprintf(err, errlen, "%s is on shard '%s' already", value, shard);
        goto refuse;
    }
    r = xcalloc(1, sizeof(*r));
    snprintf(r->rule, sizeof(r->rule), "%s", rule);
    r->hash = false;
    bound_sql(&at, r->at, sizeof(r->at));
    bound_sql(&in->to, r->until, sizeof(r->until));
    snprintf(r->from, sizeof(r->from), "%s", c->shards[in->shard].name);
    snprintf(r->to, sizeof(r->to), "%s", shard);
    cfg_put(c);
    return start(r, id, err, errlen);
refuse:
    cfg_put(c);
    return false;
}

bool
reshard_abort(uint64_t id, char *err, size_t errlen)
{
    struct reshard *r = NULL;
    bool ok = true;

    pthread_mutex_lock(&rs_mu);
    for (int i = 0; i < nall; i++)
        if (all[i]->id == id)
            r = all[i];
    if (r == NULL) {
        snprintf(err, errlen, "no reshard %" PRIu64 "; SHOW RESHARD lists them",
                 id);
        ok = false;
    } else if (r->switched || r->phase == RS_DONE || r->phase == RS_CLEANUP) {
        snprintf(err, errlen,
                 "reshard %" PRIu64 " has switched the placement already: it "
                 "cannot be undone (to move the keys back, start another "
                 "reshard)",
                 id);
        ok = false;
    } else if (r->phase == RS_ABORTED) {
        snprintf(err, errlen, "reshard %" PRIu64 " is aborted already", id);
        ok = false;
    } else {
        atomic_store(&r->abort_req, true);
    }
    pthread_mutex_unlock(&rs_mu);
    if (ok && !r->running) {
        /* failed: its thread ended; one runs the undo */
        r->phase = RS_COPY;
        ok = launch(r, err, errlen);
    }
    return ok;
}

int
reshard_list(struct reshard_info *out, int max)
{
    int n = 0;
    int64_t now = clock_ms();

    pthread_mutex_lock(&rs_mu);
    for (int pass = 0; pass < 2; pass++)
        for (int i = nall - 1; i >= 0 && n < max; i--) {
            const struct reshard *r = all[i];
            struct reshard_info *o = &out[n];
            if (finished(r) != (pass == 1))
                continue;
            memset(o, 0, sizeof(*o));
            o->id = r->id;
            snprintf(o->rule, sizeof(o->rule), "%s", r->rule);
            if (r->hash)
                snprintf(o->keys, sizeof(o->keys), "slots %u-%u", r->lo, r->hi);
            else if (r->until[0])
                snprintf(o->keys, sizeof(o->keys), "from %.140s to %.140s",
                         r->at, r->until);
            else
                snprintf(o->keys, sizeof(o->keys), "from %s", r->at);
            snprintf(o->from, sizeof(o->from), "%s", r->from);
            snprintf(o->to, sizeof(o->to), "%s", r->to);
            o->phase = rs_phase_name(r->phase);
            o->rows_copied = r->copied;
            o->rows_total = r->total;
            o->rows_cleaned = r->cleaned;
            o->binlog_lag_s = r->lag_s;
            o->binlog_behind = r->behind;
            movehold_counts(r->id, &o->held_now, &o->held_total,
                            &o->longest_hold_ms);
            if (r->held_total > o->held_total)
                o->held_total = r->held_total;
            if (r->longest_hold_ms > o->longest_hold_ms)
                o->longest_hold_ms = r->longest_hold_ms;
            o->cutover_tries = r->tries;
            o->started = r->started;
            o->phase_ms = finished(r) ? 0 : now - r->phase_ms;
            snprintf(o->error, sizeof(o->error), "%s", r->error);
            snprintf(o->waiting, sizeof(o->waiting), "%s",
                     finished(r) ? "" : r->waiting);
            n++;
        }
    pthread_mutex_unlock(&rs_mu);
    return n;
}

/* ---- start and stop ------------------------------------------------------ */

bool
reshard_init(const struct reshard_env *e, char *err, size_t errlen)
{
    struct cfg *c = e->cfg_get(e->arg);
    struct reshard **got;
    int n;

    env = *e;
    snprintf(journal_path, sizeof(journal_path), "%s.journal",
             c->reshard.state);
    cfg_put(c);
    if (!journal_read(journal_path, &got, &n, err, errlen))
        return false;
    /* keep the running ones and the last finished ones */
    for (int i = 0; i < n; i++) {
        struct reshard *r = got[i];
        int later = 0;
        if (r->id > last_id)
            last_id = r->id;
        for (int j = i + 1; j < n; j++)
            later += finished(got[j]);
        if (finished(r) && later >= KEEP_FINISHED) {
            free(r);
            continue;
        }
        all = xrealloc(all, (size_t)(nall + 1) * sizeof(*all));
        all[nall++] = r;
    }
    free(got);
    if (!control_start(&env, err, errlen))
        return false;
    for (int i = 0; i < nall; i++) {
        struct reshard *r = all[i];
        char why[512];
        if (finished(r))
            continue;
        log_info("reshard resumed id=%" PRIu64 " rule=%s phase=%s", r->id,
                 r->rule, rs_phase_name(r->phase));
        if (!launch(r, why, sizeof(why))) {
            snprintf(r->error, sizeof(r->error), "%.290s", why);
            r->phase = RS_FAILED;
            log_error("reshard cannot resume id=%" PRIu64 " error=\"%s\"",
                      r->id, why);
        }
    }
    return true;
}

void
reshard_shutdown(void)
{
    bool busy = true;
    int64_t until = clock_ms() + 5000;

    pthread_mutex_lock(&rs_mu);
    for (int i = 0; i < nall; i++)
        atomic_store(&all[i]->stop, true);
    pthread_mutex_unlock(&rs_mu);
    control_stop();
    while (busy && clock_ms() < until) {
        struct timespec ts = {0, 10000000L};
        busy = false;
        pthread_mutex_lock(&rs_mu);
        for (int i = 0; i < nall; i++)
            busy |= all[i]->running;
        pthread_mutex_unlock(&rs_mu);
        if (busy)
            nanosleep(&ts, NULL);
    }
}

void
reshard_fence_start(const struct cfg *c)
{
    control_fence_start(c);
}

bool
reshard_sync_placement(const struct cfg *c, bool *changed, char *err,
                       size_t errlen)
{
    return control_sync(c, changed, err, errlen);
}
