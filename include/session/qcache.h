/*
 * qcache.h - the hot-key cache: answers of reads whose policy says
 * `cache: { ttl }`, kept by each worker in memory (LRU, bounded) and
 * served for the TTL to the same user asking the same text in the same
 * schema. Writes through myshard drop a table's entries at once
 * (cache-aside: the write runs, then the table's version moves on): every
 * entry remembers the versions of its tables when its read was sent, and an
 * entry whose table moved since is never served. The versions are shared
 * by every worker (atomics), so a write on one worker is seen by the next
 * read on any.
 */
#ifndef MYSHARD_SESSION_QCACHE_H
#define MYSHARD_SESSION_QCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct stats;
struct stmt_info;

#define QCACHE_MAX_TABLES 8
#define QCACHE_MAX_ENTRY  (1024 * 1024) /* larger answers are not kept */

/* The version slots of a statement's tables (schema: the session's
 * database, for unqualified names). Returns how many (<= max); -1 when a
 * table cannot be named (derived tables only is fine: 0). */
int qcache_table_slots(const struct stmt_info *st, const char *schema,
                       uint32_t *slots, int max);
/* Current versions of slots. */
void qcache_versions(const uint32_t *slots, int n, uint64_t *out);
/* A write finished on these tables: their cached reads are stale. */
void qcache_bump(const uint32_t *slots, int n);
/* A write whose tables are unknown (several statements, too many
 * tables): every cached read is stale. */
void qcache_bump_all(void);
uint64_t qcache_epoch(void);

struct qcache; /* one per worker */

/* max_bytes: entries + answers held; hits, misses and evictions are
 * counted in st. */
struct qcache *qcache_new(size_t max_bytes, struct stats *st);
void qcache_free(struct qcache *c);
/* The cached answer for key, fresh and of unchanged tables: true with
 * answer/len pointing into the cache (valid until its next call) and aux
 * as given to qcache_put. The hit or miss is counted only when count (see
 * qcache_note_hit). */
bool qcache_get(struct qcache *c, const char *key, size_t klen, int64_t now_ms,
                const uint8_t **answer, size_t *len, int *aux, bool count);
/* Counts a hit that qcache_get did not count. */
void qcache_note_hit(struct qcache *c);
/* True when no answer is kept: a lookup cannot hit. */
bool qcache_empty(const struct qcache *c);
/* Keeps an answer (copied) for ttl_ms; its tables and their versions as
 * they were when the read was sent; aux is the caller's. */
void qcache_put(struct qcache *c, const char *key, size_t klen,
                struct evbuffer *answer, int64_t now_ms, int64_t ttl_ms,
                const uint32_t *slots, const uint64_t *versions, int n,
                uint64_t at_epoch, int aux);
/* Drops every entry (a new config generation: what was allowed before
 * may not be now). */
void qcache_clear(struct qcache *c);
#endif
