/*
 * sha2cache.h - caching_sha2_password digests learned from full
 * authentications, shared by every worker.
 */
#ifndef MYSHARD_SESSION_SHA2CACHE_H
#define MYSHARD_SESSION_SHA2CACHE_H

#include <stdbool.h>
#include <stdint.h>

/* Entries kept at most; a full cache replaces its oldest entry. */
#define SHA2CACHE_MAX 4096

/*
 * The SHA256(SHA256(password)) of user, learned while the config's
 * password_hash for it was stage2 (SHA1(SHA1(password))). False when none
 * is known for that pair: a changed password_hash (a reload) misses, so the
 * next login proves the new password with a full authentication. Thread
 * safe.
 */
bool sha2cache_lookup(const char *user, const uint8_t stage2[20],
                      uint8_t digest[32]);
/* Remembers digest for (user, stage2), replacing what user had. Thread
 * safe. */
void sha2cache_store(const char *user, const uint8_t stage2[20],
                     const uint8_t digest[32]);
/* Entries held now (tests, SHOW STATS). */
int sha2cache_count(void);
/* Forgets everything (tests, shutdown). */
void sha2cache_clear(void);

#endif
