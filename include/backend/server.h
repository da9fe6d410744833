/*
 * server.h - one MySQL/MariaDB server of the topology (a shard's primary or
 * one of its replicas), shared by every worker. Workers read it without
 * locks; the connection count that enforces pool.max_connections across
 * workers is an atomic.
 *
 * The set only grows: a reload that appends shards adds their servers at
 * the end (server_set_grow). Its arrays are allocated for that up front, so
 * an entry never moves; a new entry is complete before the count that
 * covers it is published (release), and readers load the counts (acquire,
 * implied by the _Atomic loads) before they index.
 */
#ifndef MYSHARD_BACKEND_SERVER_H
#define MYSHARD_BACKEND_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

#include "backend/gtidpos.h"
#include "cfg/cfg_types.h"

struct server {
    int index;  /* position in the proxy's server array */
    char *addr; /* "host:port" as configured, owned */
    char *host; /* owned */
    uint16_t port;
    int shard; /* index into cfg.shards */
    bool primary;
    int weight;
    struct sockaddr_storage sa; /* resolved once at start */
    int salen;
    atomic_int conns;     /* open connections, all workers (the cap's count) */
    atomic_llong queries; /* statements sent, for the console */
    atomic_llong errors;  /* connect/query failures */
    char *zone;           /* replica's zone, owned; NULL when none */
    /* Health, published without locks (see backend/health.h for who writes
     * what): */
    atomic_int state;              /* enum server_state: monitor's verdict */
    atomic_int admin;              /* enum server_state: operator's override */
    atomic_llong lag_ms;           /* replica lag; -1 unknown */
    atomic_bool read_only;         /* @@read_only at the last check */
    atomic_int sql_mode;           /* SRV_SQLMODE_* of @@global.sql_mode at
                                      the last check; 0 before the first */
    atomic_bool repl_running;      /* replica: IO and SQL threads run */
    atomic_int failures;           /* consecutive connect/query failures */
    atomic_llong circuit_until_ms; /* 0 closed; else open until (monotonic) */
    atomic_llong circuit_open_for; /* ms the circuit last opened for */
    atomic_bool probing;           /* the half-open probe is out */
    atomic_llong checked_ms;       /* last monitor check (monotonic); 0 none */
    atomic_llong check_avg_us;     /* moving average of check latency */
    atomic_llong checks;           /* monitor checks done */
    atomic_llong check_failures;   /* of which could not connect or ping */
    atomic_llong circuit_opens;    /* times the circuit opened */
    /* Replication position (backend/gtidpos.h): seqno per slot of the
     * shard's domains, and the server id of the GTID it came from. */
    _Atomic uint64_t gtid_seq[GTID_SLOTS];
    atomic_uint gtid_srv[GTID_SLOTS];
    atomic_bool gtid_known;     /* the monitor read a position */
    atomic_bool gtid_tracks;    /* its pooled connections report last_gtid */
    atomic_llong gtid_waits;    /* MASTER_GTID_WAITs that returned in time */
    atomic_llong gtid_timeouts; /* ... that timed out (read: primary) */
    atomic_llong gtid_nowait_until_ms; /* no waits on it before (monotonic) */
    /* Lending between workers (backend/pool.c): each worker's pool for this
     * server, and how many connections pools at the cap still want. */
    struct pool **pools; /* (ref) indexed by worker id; owned array */
    int npools;
    atomic_int lend_want;    /* sum of the pools' wants: lock-free check */
    atomic_int noncore_used; /* noncore places taken (pool.h) */
    pthread_mutex_t lend_mu; /* guards the pools' want fields */
};

/* server.sql_mode: the parts of the server's global sql_mode that change
 * how statements lex; sessions that keep the default mode are lexed by
 * them (session/lexstate.c). */
#define SRV_SQLMODE_NO_BACKSLASH_ESCAPES 0x01
#define SRV_SQLMODE_ANSI_QUOTES          0x02
#define SRV_SQLMODE_PIPES_AS_CONCAT      0x04
#define SRV_SQLMODE_UNLEXABLE            0x08 /* ORACLE or MSSQL */
#define SRV_SQLMODE_KNOWN                0x80

struct cfg;

struct gtid_shard;

/* Every server of the running shards, and where each shard's primary is. */
struct server_set {
    struct server *v; /* owned array of cap entries, the first n in use */
    _Atomic int n;
    int cap;
    int shard_primary[CFG_MAX_SHARDS]; /* server index of each shard's
                                          primary */
    _Atomic int nshards;
    struct gtid_shard *gtid; /* owned; CFG_MAX_SHARDS (backend/gtidpos.h) */
    _Atomic uint64_t *gtid_tables[CFG_MAX_SHARDS]; /* owned; per shard
                                                      GTID_TABLES x slots */
};

/* Room a set keeps for servers that reloads add: per shard the config may
 * still append, a primary and this many replicas on average. */
#define SERVER_SET_SPARE_PER_SHARD 8

/* Builds the set and resolves every address. Returns NULL and writes a
 * message to err when an address does not resolve. */
struct server_set *server_set_build(const struct cfg *cfg, char *err,
                                    size_t errlen);
/*
 * Adds the servers of cfg's shards after the set's (a reload appended
 * them; the set's shards are cfg's first ones, unchanged). Each new server
 * gets a pools array for nworkers workers, to be filled by pool_new on
 * each worker. Called by the one reloading thread; readers on other
 * threads see either the old counts or the new servers complete. Returns
 * false with a message in err, the set unchanged, when an address does not
 * resolve or the new servers do not fit in the room kept at start.
 */
bool server_set_grow(struct server_set *set, const struct cfg *cfg,
                     int nworkers, char *err, size_t errlen);
void server_set_free(struct server_set *set);

#endif
