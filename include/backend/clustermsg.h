/*
 * clustermsg.h - the messages instances exchange through Redis, encoded
 * and decoded without I/O (backend/cluster.c sends them):
 *
 *   invalidation  "v1 <origin> <seq> <slots>" on channel myshard:invalidate,
 *                 slots "3,17,4095" (table version slots of the hot-key
 *                 cache, session/qcache.h) or "*" for every table;
 *   ack           "<seq>" on channel myshard:ack:<origin>, sent by each
 *                 instance once it has dropped the entries;
 *   heartbeat     the value of key myshard:instance:<id> (with a TTL; the
 *                 set myshard:instances lists the ids), tab-separated
 *                 "v1 id name address version generation cfghash ts_ms".
 *
 * A message of another version decodes as false: the receiver then treats
 * it as "every table" (safe whatever it said).
 */
#ifndef MYSHARD_BACKEND_CLUSTERMSG_H
#define MYSHARD_BACKEND_CLUSTERMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_MAX_SLOTS  16   /* tables per write; more: every table */
#define CLUSTER_SLOT_SPACE 4096 /* qcache's version slots */
#define CLUSTER_ID_LEN     32   /* instance ids: hex, NUL-terminated */
#define CLUSTER_MSG_MAX    512

struct cluster_inval {
    char origin[CLUSTER_ID_LEN + 1]; /* the writing instance's id */
    uint64_t seq;                    /* its counter, for the acks */
    bool all;                        /* every table */
    int n;
    uint32_t slots[CLUSTER_MAX_SLOTS];
};

struct cluster_beat {
    char id[CLUSTER_ID_LEN + 1];
    char name[72];
    char addr[72];
    char version[48];
    unsigned generation; /* config generation, 1 at start */
    uint32_t cfg_hash;   /* CRC-32 of the config file's text */
    int64_t ts_ms;       /* wall clock of the heartbeat */
};

/* Writes m into buf (NUL-terminated); returns its length, 0 when it does
 * not fit or m is malformed (origin not [0-9a-zA-Z-], slot out of range). */
size_t clustermsg_inval_encode(const struct cluster_inval *m, char *buf,
                               size_t len);
/* Reads s[0..len); false when it is not a v1 invalidation. */
bool clustermsg_inval_decode(const char *s, size_t len,
                             struct cluster_inval *m);
/* Heartbeats: the same contract; fields must hold no tab or line break. */
size_t clustermsg_beat_encode(const struct cluster_beat *b, char *buf,
                              size_t len);
bool clustermsg_beat_decode(const char *s, size_t len, struct cluster_beat *b);

#endif
