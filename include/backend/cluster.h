/*
 * cluster.h - several instances in front of the same shards, sharing
 * through Redis (cluster.redis) what must be shared: invalidations of the
 * hot-key cache and a registry of live instances (SHOW CLUSTER). All Redis
 * I/O runs on one thread of its own (hiredis); workers never wait on it.
 *
 * The guarantee: once a client has the OK of a write through instance A,
 * no instance serves a cached entry of the written tables from before the
 * write. A holds the OK (the client's output, conn_hold) until every other
 * subscribed instance has acknowledged dropping the entries, or until
 * CLUSTER_ACK_WAIT_MS after Redis accepted the PUBLISH. An instance serves
 * its cache only within CLUSTER_LEASE_MS of a PING it sent on its
 * subscription and whose PONG came back: every message published before
 * Redis answered that PING had arrived first. So an instance that missed
 * the message (slow, cut off from Redis) has stopped serving by the time
 * A gives up waiting. Redis down (or the subscription lost): the cache is
 * flushed and off until the subscription is back.
 *
 * Without cluster.redis everything here is a no-op: the cache serves as
 * before and nothing is held.
 */
#ifndef MYSHARD_BACKEND_CLUSTER_H
#define MYSHARD_BACKEND_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct worker;

#define CLUSTER_PING_MS     200  /* PING on the subscription */
#define CLUSTER_LEASE_MS    1000 /* serving allowed after a PING's PONG */
#define CLUSTER_ACK_WAIT_MS 1500 /* longest hold of a write's OK */
#define CLUSTER_BEAT_MS     1000 /* heartbeat period */
#define CLUSTER_BEAT_TTL_MS 3000 /* a heartbeat key lives this long */

/* What the cluster thread does to the local cache (set by the top layer:
 * the cache lives above this layer). Called on the cluster thread. */
struct cluster_hooks {
    void (*invalidate)(const uint32_t *slots, int n); /* tables written */
    void (*flush)(void); /* every entry (a message may be missed) */
};

/* Starts the cluster thread when c names cluster.redis (else nothing).
 * generation/cfg_hash: the running config's. false with err on failure to
 * start the thread; Redis being down is not a failure (it retries). */
bool cluster_start(const struct cfg *c, unsigned generation, uint32_t cfg_hash,
                   const struct cluster_hooks *hooks, char *err, size_t len);
/* The config's fingerprint other instances compare with theirs: CRC-32
 * of the file's text without the lines that name this instance (those
 * holding listen, admin.listen, admin.http or cluster.name's values), so
 * instances started from one file with their own ports agree. */
uint32_t cluster_config_hash(const struct cfg *c);
/* Stops the thread; every held write is released. */
void cluster_stop(void);
/* A reload applied generation (its text's CRC-32 cfg_hash). */
void cluster_set_config(unsigned generation, uint32_t cfg_hash);
bool cluster_enabled(void);
/* The local cache may serve and keep entries now: always without
 * cluster.redis; with it, only within the subscription's lease. Cheap
 * (one atomic load), called on every cache lookup. */
bool cluster_cache_ok(int64_t now_ms);

/* A write finished on these tables (all: every table). Returns NULL when
 * there is nothing to wait for (no cluster.redis); else a ticket: done(arg)
 * runs on worker w once the other instances acknowledged (or the wait
 * ended), unless cluster_cancel(ticket) ran first (on w's thread). */
typedef void (*cluster_done_fn)(void *arg);
struct cluster_ticket;
struct cluster_ticket *cluster_publish(struct worker *w, const uint32_t *slots,
                                       int n, bool all, cluster_done_fn done,
                                       void *arg);
void cluster_cancel(struct cluster_ticket *t);

/* SHOW CLUSTER and /metrics. */
struct cluster_row {
    char name[72];
    char addr[72];
    char version[48];
    unsigned generation;
    uint32_t cfg_hash;
    int64_t age_ms; /* since its last heartbeat */
    bool self;
    bool differs; /* its config hash is not this instance's */
};
struct cluster_state {
    bool enabled;
    bool redis_up;   /* subscribed, heartbeats going */
    char redis[80];  /* host:port */
    char error[128]; /* why it is down, "" when up */
    uint32_t cfg_hash;
    unsigned generation;
    unsigned long long reconnects, published, received, ack_timeouts,
        write_failures;
    double wait_seconds; /* writes' OKs held, in total */
    bool limits_shared;  /* rate limits count through Redis */
    int limit_instances; /* else each limit's share is 1/this */
    int shared_limits;   /* limiters named for sharing */
};
/* The live instances (caller frees *rows) and the state; returns nrows. */
int cluster_show(struct cluster_row **rows, struct cluster_state *st);

#endif
