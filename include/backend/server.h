/*
 * server.h - one MySQL/MariaDB server of the topology (a shard's primary or
 * one of its replicas), shared by every worker. Workers read it without
 * locks; the connection count that enforces pool.max_connections across
 * workers is an atomic.
 */
#ifndef MYSHARD_BACKEND_SERVER_H
#define MYSHARD_BACKEND_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

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
};

#endif

struct cfg;

/* Every server of a config generation, and where each shard's live. */
struct server_set {
    struct server *v; /* owned array */
    int n;
    int *shard_primary; /* server index of each shard's primary */
    int nshards;
};

/* Builds the set and resolves every address. Returns NULL and writes a
 * message to err when an address does not resolve. */
struct server_set *server_set_build(const struct cfg *cfg, char *err,
                                    size_t errlen);
void server_set_free(struct server_set *set);
