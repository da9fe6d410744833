/*
 * throttle.c - owns the table of client addresses that failed to log in.
 * A set-associative table of fixed size bounds its memory whatever the
 * number of addresses; one mutex guards it, taken only on a failed login.
 * The caller holds the failure's answer back (a timer, never a sleep):
 * this file only says for how long.
 */
#include "session/throttle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "base/util.h"

#define ADDR_MAX 46 /* INET6_ADDRSTRLEN */

struct throttle_slot {
    char addr[ADDR_MAX]; /* "" when free */
    int64_t last_ms;     /* the latest failure */
    int64_t failures;    /* in a row, each within the window of the last */
};

struct throttle {
    pthread_mutex_t mu;
    struct throttle_slot slots[THROTTLE_SETS][THROTTLE_WAYS];
};

struct throttle *
throttle_new(void)
{
    struct throttle *t = xcalloc(1, sizeof(*t));

    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void
throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* The slot of addr, or NULL when absent and !make. A made slot may evict
 * the least recent address of its set. */
static struct throttle_slot *
find_slot(struct throttle *t, const char *addr, bool make)
{
    char key[ADDR_MAX];
    size_t len = strlen(addr);
    struct throttle_slot *set, *victim;

    len = MIN(len, ADDR_MAX - 1);
    memcpy(key, addr, len);
    key[len] = '\0';
    set = t->slots[crc32_ieee(key, len) % THROTTLE_SETS];
    victim = &set[0];
    for (int i = 0; i < THROTTLE_WAYS; i++) {
        if (strcmp(set[i].addr, key) == 0)
            return &set[i];
        if (set[i].last_ms < victim->last_ms || set[i].addr[0] == '\0')
            victim = &set[i];
    }
    if (!make)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->addr, key, len + 1);
    return victim;
}

static int64_t
delay_for(int64_t failures, const struct throttle_rule *r)
{
    int64_t over = failures - r->free_failures, d = THROTTLE_BASE_MS;

    if (over <= 0 || r->max_delay_ms <= 0)
        return 0;
    for (int64_t i = 1; i < over && d < r->max_delay_ms; i++)
        d *= 2;
    return MIN(d, r->max_delay_ms);
}

int64_t
throttle_fail(struct throttle *t, const char *addr, int64_t now_ms,
              const struct throttle_rule *r)
{
    struct throttle_slot *s;
    int64_t delay;

    pthread_mutex_lock(&t->mu);
    s = find_slot(t, addr, true);
    if (s->failures > 0 && now_ms - s->last_ms > r->window_ms)
        s->failures = 0;
    s->failures++;
    s->last_ms = now_ms;
    delay = delay_for(s->failures, r);
    pthread_mutex_unlock(&t->mu);
    return delay;
}

int64_t
throttle_failures(struct throttle *t, const char *addr, int64_t now_ms,
                  const struct throttle_rule *r)
{
    struct throttle_slot *s;
    int64_t f = 0;

    pthread_mutex_lock(&t->mu);
    s = find_slot(t, addr, false);
    if (s != NULL && now_ms - s->last_ms <= r->window_ms)
        f = s->failures;
    pthread_mutex_unlock(&t->mu);
    return f;
}

static struct throttle *global;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
make_global(void)
{
    global = throttle_new();
}

struct throttle *
throttle_global(void)
{
    pthread_once(&global_once, make_global);
    return global;
}
