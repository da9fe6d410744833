/*
 * movehold.c - counting and holding writes to moving keys (movehold.h).
 */
#include "session/movehold.h"

#include <stdatomic.h>

#include "base/clock.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "proto/mysql_defs.h"
#include "route/route_types.h"
#include "session/protect.h"
#include "session/session.h"

/* How often a held command looks again. */
#define RETRY_US 1000

struct slot {
    _Atomic uint64_t id; /* 0: free */
    atomic_bool hold;
    _Atomic int64_t max_wait_ms;
    atomic_long inflight;
    atomic_long held_now;
    _Atomic unsigned long long held_total;
    _Atomic int64_t longest_ms;
};

static struct slot slots[MOVEHOLD_MAX];

static struct slot *
find(uint64_t id)
{
    if (id == 0)
        return NULL;
    for (int i = 0; i < MOVEHOLD_MAX; i++)
        if (atomic_load(&slots[i].id) == id)
            return &slots[i];
    return NULL;
}

bool
movehold_register(uint64_t id)
{
    if (find(id) != NULL)
        return true;
    for (int i = 0; i < MOVEHOLD_MAX; i++) {
        uint64_t free_id = 0;
        struct slot *sl = &slots[i];
        atomic_store(&sl->hold, false);
        if (atomic_compare_exchange_strong(&sl->id, &free_id, id)) {
            atomic_store(&sl->inflight, 0);
            atomic_store(&sl->held_now, 0);
            atomic_store(&sl->held_total, 0);
            atomic_store(&sl->longest_ms, 0);
            return true;
        }
    }
    return false;
}

void
movehold_unregister(uint64_t id)
{
    struct slot *sl = find(id);

    if (sl != NULL) {
        atomic_store(&sl->hold, false);
        atomic_store(&sl->id, 0);
    }
}

void
movehold_set(uint64_t id, bool hold, int64_t max_wait_ms)
{
    struct slot *sl = find(id);

    if (sl == NULL)
        return;
    atomic_store(&sl->max_wait_ms, max_wait_ms);
    atomic_store(&sl->hold, hold);
}

long
movehold_inflight(uint64_t id)
{
    struct slot *sl = find(id);

    return sl != NULL ? atomic_load(&sl->inflight) : 0;
}

void
movehold_counts(uint64_t id, long *held_now, unsigned long long *held_total,
                int64_t *longest_ms)
{
    struct slot *sl = find(id);

    *held_now = sl != NULL ? atomic_load(&sl->held_now) : 0;
    *held_total = sl != NULL ? atomic_load(&sl->held_total) : 0;
    *longest_ms = sl != NULL ? atomic_load(&sl->longest_ms) : 0;
}

/* The reshard whose moving keys the plan writes, 0 none. */
static uint64_t
plan_reshard(const struct session *s, const struct route_plan *plan)
{
    (void)s;
    return plan->touches_moving && plan->moving_id > 0
               ? (uint64_t)plan->moving_id
               : 0;
}

/* The held command leaves the hold (to run, or answered). */
static void
unhold(struct session *s, struct slot *sl)
{
    int64_t waited = clock_ms() - s->mv_held_ms;
    int64_t longest = atomic_load(&sl->longest_ms);

    while (waited > longest &&
           !atomic_compare_exchange_weak(&sl->longest_ms, &longest, waited))
        ;
    atomic_fetch_sub(&sl->held_now, 1);
    s->mv_held_ms = 0;
    s->mv_held_id = 0;
}

bool
movehold_check(struct session *s, const struct route_plan *plan)
{
    uint64_t id = plan_reshard(s, plan);
    struct slot *sl, *was;

    was = s->mv_held_id != 0 ? find(s->mv_held_id) : NULL;
    if (was != NULL && s->mv_held_id != id)
        unhold(s, was); /* its keys moved: it routes elsewhere now */
    else if (was == NULL)
        s->mv_held_ms = 0, s->mv_held_id = 0;
    if (id == 0 || s->mv_id == id)
        return false; /* not moving, or already counted: it goes on */
    sl = find(id);
    if (sl == NULL)
        return false; /* a reshard no longer running here */
    if (s->mv_id != 0) {
        /* counted for another reshard: one count per session (it ends
         * with the transaction either way) */
        return false;
    }
    atomic_fetch_add(&sl->inflight, 1);
    if (!atomic_load(&sl->hold)) {
        s->mv_id = id;
        if (s->mv_held_id != 0)
            unhold(s, sl);
        return false;
    }
    atomic_fetch_sub(&sl->inflight, 1);
    if (s->mv_held_id == 0) {
        s->mv_held_id = id;
        s->mv_held_ms = clock_ms();
        atomic_fetch_add(&sl->held_now, 1);
        atomic_fetch_add(&sl->held_total, 1);
    } else if (clock_ms() - s->mv_held_ms > atomic_load(&sl->max_wait_ms)) {
        unhold(s, sl);
        log_warn("write to moving keys held too long client=%u reshard=%llu",
                 s->id, (unsigned long long)id);
        session_send_error(s, ER_LOCK_WAIT_TIMEOUT, "HY000",
                           "myshard: the keys this statement writes are "
                           "being moved to another shard (reshard %llu) "
                           "and the switch took too long; retry the "
                           "statement",
                           (unsigned long long)id);
        session_command_done(s);
        return true;
    }
    protect_retry_in(s, RETRY_US);
    return true;
}

/* Whether the session is inside a transaction a later statement ends. */
static bool
in_transaction(const struct session *s)
{
    return (s->pins & PIN_TRANSACTION) || s->txn != NULL ||
           s->txn_begin != NULL;
}

static void
uncount(struct session *s)
{
    struct slot *sl = find(s->mv_id);

    if (sl != NULL)
        atomic_fetch_sub(&sl->inflight, 1);
    s->mv_id = 0;
}

void
movehold_statement_end(struct session *s)
{
    if (s->mv_id != 0 && !in_transaction(s))
        uncount(s);
}

void
movehold_session_close(struct session *s)
{
    struct slot *sl;

    if (s->mv_id != 0)
        uncount(s);
    if (s->mv_held_id != 0 && (sl = find(s->mv_held_id)) != NULL)
        unhold(s, sl);
    s->mv_held_id = 0;
}
