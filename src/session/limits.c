/*
 * limits.c - see limits.h. User names live in a fixed open-addressing
 * table whose slots are claimed with a compare-and-swap on the name's
 * hash and never freed, so lookups need no lock.
 */
#include "session/limits.h"

#include <stdatomic.h>
#include <string.h>

#include "sql/digest.h"

#define USER_SLOTS 4096
#define NAME_MAX_  64

struct user_slot {
    _Atomic uint64_t hash; /* 0 free; 1 being claimed; else the name's */
    char name[NAME_MAX_];
    atomic_llong conns;
};

static struct user_slot users[USER_SLOTS];
static atomic_llong clients;

static bool
enter(atomic_llong *n, int64_t max)
{
    long long cur = atomic_load(n);

    do {
        if (max > 0 && cur >= max)
            return false;
    } while (!atomic_compare_exchange_weak(n, &cur, cur + 1));
    return true;
}

bool
limits_client_enter(int64_t max)
{
    return enter(&clients, max);
}

void
limits_client_leave(void)
{
    atomic_fetch_sub(&clients, 1);
}

long long
limits_clients(void)
{
    return atomic_load(&clients);
}

static uint64_t
name_hash(const char *name)
{
    uint64_t h = digest_hash(name, strlen(name));
    return h < 2 ? h + 2 : h;
}

static int
find(const char *name, bool create)
{
    uint64_t h = name_hash(name);

    if (strlen(name) >= NAME_MAX_)
        return -1;
    for (int i = 0; i < USER_SLOTS; i++) {
        struct user_slot *u = &users[(h + (uint64_t)i) % USER_SLOTS];
        uint64_t cur = atomic_load(&u->hash);
        if (cur == 0) {
            uint64_t zero = 0;
            if (!create)
                return -1;
            if (atomic_compare_exchange_strong(&u->hash, &zero, 1)) {
                strcpy(u->name, name);
                atomic_store(&u->hash, h);
                return (int)((h + (uint64_t)i) % USER_SLOTS);
            }
            cur = atomic_load(&u->hash);
        }
        while (cur == 1) /* another thread is writing the name */
            cur = atomic_load(&u->hash);
        if (cur == h && strcmp(u->name, name) == 0)
            return (int)((h + (uint64_t)i) % USER_SLOTS);
    }
    return -1;
}

int
limits_user_slot(const char *name)
{
    return find(name, true);
}

bool
limits_user_enter(int slot, int64_t max)
{
    if (slot < 0)
        return true;
    return enter(&users[slot].conns, max);
}

void
limits_user_leave(int slot)
{
    if (slot >= 0)
        atomic_fetch_sub(&users[slot].conns, 1);
}

long long
limits_user_count(const char *name)
{
    int slot = find(name, false);
    return slot < 0 ? 0 : atomic_load(&users[slot].conns);
}
