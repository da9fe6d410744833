/*
 * gtidpos.h - what the proxy knows about replication positions, shared by
 * every worker and the monitor through atomics (no locks):
 *   - per shard, the replication domains seen on it, each given a slot
 *     (at most GTID_SLOTS per shard), and per slot the highest write GTID
 *     the proxy acknowledged there (consistency: causal);
 *   - per shard and table, the highest write GTID acknowledged on that
 *     table (the hot-key cache fills only from answers that include it);
 *   - per server, its known position per slot: what the monitor last read
 *     (gtid_slave_pos on replicas, gtid_binlog_pos on primaries), raised
 *     when a MASTER_GTID_WAIT on it returned.
 * A "need" is a seqno per slot of one shard (0: nothing needed); a server
 * covers it when its known seqno is at least that in every slot. Seqnos
 * only grow within a domain, so the highest write is all a reader needs.
 */
#ifndef MYSHARD_BACKEND_GTIDPOS_H
#define MYSHARD_BACKEND_GTIDPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/gtid.h"

#define GTID_SLOTS  4    /* replication domains tracked per shard */
#define GTID_TABLES 4096 /* table keys callers pass are below this */

struct server;
struct server_set;

/* The slot of domain on shard, assigned the first time the domain is
 * seen; -1 when the shard already has GTID_SLOTS other domains. */
int gtidpos_slot(struct server_set *set, int shard, uint32_t domain);

/* The write g on shard was acknowledged (its OK carried it): the shard's
 * acknowledged position and those of the written tables (keys below
 * GTID_TABLES; ntables -1: tables unknown, so every table's) move up to
 * it. Returns g's slot, -1 when untracked. */
int gtidpos_note_write(struct server_set *set, int shard, const struct gtid *g,
                       const uint32_t *tables, int ntables);

/* A write on shard was acknowledged at now_ms whose GTID is unknown (the
 * server does not report it): reads that need it go by time. */
void gtidpos_note_untracked(struct server_set *set, int shard, int64_t now_ms);
/* The last such write on shard, 0 none. */
int64_t gtidpos_untracked_ms(const struct server_set *set, int shard);

/* need[] becomes at least the shard's acknowledged position. */
void gtidpos_need_acked(const struct server_set *set, int shard,
                        uint64_t need[GTID_SLOTS]);
/* need[] becomes at least the acknowledged positions of those tables. */
void gtidpos_need_tables(const struct server_set *set, int shard,
                         const uint32_t *tables, int ntables,
                         uint64_t need[GTID_SLOTS]);
/* Is there anything in need? */
bool gtidpos_need_any(const uint64_t need[GTID_SLOTS]);

/* Does srv's known position cover need? Primaries always do. */
bool gtidpos_covers(const struct server *srv, const uint64_t need[GTID_SLOTS]);
/* srv has reached need (a MASTER_GTID_WAIT for it returned 0). */
void gtidpos_raise(struct server *srv, const uint64_t need[GTID_SLOTS]);
/* The monitor read srv's position pos[0..n): it becomes srv's known one.
 * Domains of the position not tracked yet get slots. */
void gtidpos_store(struct server_set *set, struct server *srv,
                   const struct gtid *pos, int n);

/* need on shard as a GTID list for MASTER_GTID_WAIT ("d-s-n,..."), into
 * buf (NUL-terminated). Returns its length, 0 when need is empty. */
size_t gtidpos_format_need(const struct server_set *set, int shard,
                           const uint64_t need[GTID_SLOTS], char *buf,
                           size_t size);
/* srv's known position, or the shard's acknowledged one (acked true), as
 * a GTID list; "" when nothing is known. */
void gtidpos_format(const struct server_set *set, const struct server *srv,
                    bool acked, char *buf, size_t size);

/* srv's known position, or the shard's acknowledged one (acked true),
 * into out: how many GTIDs (one per domain with a seqno). */
int gtidpos_read(const struct server_set *set, const struct server *srv,
                 bool acked, struct gtid out[GTID_SLOTS]);

/* Sets up and frees the shared state of a server set (server.c); each
 * shard's table positions are added before the set publishes the shard. */
void gtidpos_init(struct server_set *set);
void gtidpos_add_shard(struct server_set *set, int shard);
void gtidpos_free(struct server_set *set);

#endif
