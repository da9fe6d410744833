/*
 * sha2cache.c - owns what caching_sha2_password fast authentication needs
 * for users whose config gives only a password_hash: that hash is
 * mysql_native_password's SHA1(SHA1(pw)), from which SHA256(SHA256(pw))
 * cannot be derived, so the digest is learned when a full authentication
 * shows the password. Entries are keyed by user name and the stage2 they
 * were learned under, so they survive reloads that keep the password and
 * stop matching when it changes. One mutex: logins are rare next to
 * statements, and a lookup is a short scan.
 */
#include "session/sha2cache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct sha2_entry {
    char *user; /* owned */
    uint8_t stage2[20];
    uint8_t digest[32];
    uint64_t stamp; /* insertion order, for replacing the oldest */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct sha2_entry *entries; /* owned; n of cap used */
static int n, cap;
static uint64_t clock_stamp;

static int
find_user(const char *user)
{
    for (int i = 0; i < n; i++)
        if (strcmp(entries[i].user, user) == 0)
            return i;
    return -1;
}

bool
sha2cache_lookup(const char *user, const uint8_t stage2[20], uint8_t digest[32])
{
    bool hit = false;
    int i;

    pthread_mutex_lock(&mu);
    i = find_user(user);
    if (i >= 0 && CRYPTO_memcmp(entries[i].stage2, stage2, 20) == 0) {
        memcpy(digest, entries[i].digest, 32);
        hit = true;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void
sha2cache_store(const char *user, const uint8_t stage2[20],
                const uint8_t digest[32])
{
    int i;

    pthread_mutex_lock(&mu);
    i = find_user(user);
    if (i < 0 && n < SHA2CACHE_MAX) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            entries = xrealloc(entries, (size_t)cap * sizeof(*entries));
        }
        i = n++;
        entries[i].user = xstrdup(user);
    } else if (i < 0) {
        i = 0; /* full: the oldest goes */
        for (int j = 1; j < n; j++)
            if (entries[j].stamp < entries[i].stamp)
                i = j;
        free(entries[i].user);
        entries[i].user = xstrdup(user);
    }
    memcpy(entries[i].stage2, stage2, 20);
    memcpy(entries[i].digest, digest, 32);
    entries[i].stamp = ++clock_stamp;
    pthread_mutex_unlock(&mu);
}

int
sha2cache_count(void)
{
    int c;

    pthread_mutex_lock(&mu);
    c = n;
    pthread_mutex_unlock(&mu);
    return c;
}

void
sha2cache_clear(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n; i++) {
        free(entries[i].user);
        OPENSSL_cleanse(entries[i].digest, sizeof(entries[i].digest));
    }
    free(entries);
    entries = NULL;
    n = cap = 0;
    pthread_mutex_unlock(&mu);
}
