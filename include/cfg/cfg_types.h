/*
 * cfg_types.h - the parsed, validated configuration: one immutable,
 * refcounted generation. Everything the YAML of PRODUCT.md can say lives
 * here, including sections that later work acts on. Every node keeps the
 * line:col where it was written so later checks can point at it.
 *
 * Indices (shard, rule, user) refer to positions in the arrays of the same
 * struct cfg. Durations are milliseconds, sizes bytes. All strings are owned
 * by the generation and freed with it.
 */
#ifndef MYSHARD_CFG_CFG_TYPES_H
#define MYSHARD_CFG_CFG_TYPES_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

struct cfg_mark {
    int line; /* 1-based */
    int col;  /* 1-based */
};

struct cfg_addr {
    char *text; /* as written, "127.0.0.1:3306" */
    char *host; /* "127.0.0.1" (brackets stripped for IPv6) */
    uint16_t port;
    struct cfg_mark mark;
};

enum cfg_rl_algo {
    RL_NONE = 0,
    RL_TOKEN_BUCKET,
    RL_LEAKY_BUCKET,
    RL_SLIDING_WINDOW,
    RL_FIXED_WINDOW,
};

struct ratelimit;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

struct cfg_rate_limit {
    enum cfg_rl_algo algo; /* RL_NONE when absent */
    double rate;         /* statements per second (token/leaky) or per window */
    int64_t burst;       /* token_bucket; default = rate */
    int64_t window_ms;   /* sliding/fixed window; default 1000 */
    int64_t max_wait_ms; /* leaky_bucket; default 1000 */
    struct cfg_mark mark;
    struct ratelimit *rl; /* owned; the shared limiter (base/ratelimit.h),
                             made at load; NULL when absent */
};

enum cfg_user_class { CLASS_CORE = 0, CLASS_NONCORE };
/* transaction: a connection is lent per statement or transaction;
 * session: a client keeps its connection until it leaves. */
enum cfg_pool_mode { POOL_MODE_TRANSACTION = 0, POOL_MODE_SESSION };

struct cfg_user {
    char *name;
    char *password;   /* plain text, or NULL when password_hash given */
    bool has_hash;    /* password_hash given: hash holds its 20 bytes */
    uint8_t hash[20]; /* SHA1(SHA1(password)) decoded from "*HEX" */
    char **schemas;   /* names; the first is the default */
    int nschemas;
    int64_t max_connections; /* 0 = unlimited */
    enum cfg_user_class cls;
    bool read_only;
    bool require_tls; /* refused unless its connection runs TLS */
    enum cfg_pool_mode pool_mode;
    struct cfg_rate_limit rate_limit;
    struct cfg_mark mark;
};

struct cfg_replica {
    struct cfg_addr addr;
    int weight; /* default 1; 0 = never chosen unless forced */
    char *zone; /* may be NULL */
    struct cfg_mark mark;
};

/* The most shards a config may list: the router's shard sets are 64-bit
 * masks (route_types.h ROUTE_MAX_SHARDS), and the server set keeps room for
 * shards a reload appends up to this. */
#define CFG_MAX_SHARDS 64

struct cfg_shard {
    char *name;
    struct cfg_addr primary;
    struct cfg_replica *replicas;
    int nreplicas;
    struct cfg_mark mark;
};

enum cfg_rule_type { RULE_MOD, RULE_HASH, RULE_RANGE };

struct cfg_bound {
    bool set;       /* false: unbounded on that side */
    bool is_string; /* else integer */
    int64_t i;
    char *s;
};

struct cfg_range {
    int shard;             /* index into cfg.shards */
    struct cfg_bound from; /* inclusive */
    struct cfg_bound to;   /* exclusive */
    struct cfg_mark mark;
};

/*
 * A reshard's moving set (cfg_place.h): keys that still live on source
 * while they are copied to target. The router keeps routing them to
 * source and marks the plans that write them (route_plan.touches_moving).
 */
struct cfg_moving {
    bool active;
    int64_t id;       /* the reshard's id (>= 1) */
    int source;       /* index into cfg.shards: their owner today */
    int target;       /* index into cfg.shards: their owner after cutover */
    uint32_t slot_lo; /* hash: slots slot_lo..slot_hi */
    uint32_t slot_hi;
    struct cfg_bound from; /* range: keys in [from, to); to unset = no end */
    struct cfg_bound to;
};

struct cfg_rule {
    char *name;
    enum cfg_rule_type type;
    int *shards; /* indices into cfg.shards; for range rules the distinct
                    shards of its ranges, in range order */
    int nshards;
    uint32_t slots;    /* hash; default 1024 */
    int *slot_owner;   /* hash: slots entries, cfg.shards index per slot */
    bool has_slot_map; /* hash: slot_owner came from an explicit slot_map */
    struct cfg_range *ranges; /* range, sorted by from */
    int nranges;
    struct cfg_mark mark;
    /* ---- the live placement (cfg_place.c) ---- */
    bool live;       /* slot_owner/ranges come from reshard.state, not the YAML;
                        shards then also lists the shards only it names */
    int *yaml_owner; /* hash, live: the YAML's slot owners */
    struct cfg_range *yaml_ranges; /* range, live: the YAML's ranges */
    int nyaml_ranges;
    int live_line;            /* live: the rule's line in reshard.state */
    struct cfg_moving moving; /* a reshard in progress, or !active */
    /* Keys a reshard moved away from cleanup.source (their owner is
     * cleanup.target now) whose stale rows its cleanup has not deleted
     * yet: statements that reach the source without a key filter them out
     * (route_stale.c). !active when none. */
    struct cfg_moving cleanup;
};

struct cfg_table {
    char *name;
    char *key; /* NULL for global */
    int rule;  /* index into cfg.rules; -1 for global */
    bool global;
    struct cfg_mark mark;
};

enum cfg_txn_mode { TXN_DENY = 0, TXN_BEST_EFFORT, TXN_XA };

struct cfg_schema {
    char *name;           /* what clients see */
    char *backend_schema; /* name on every shard; defaults to name */
    int default_shard;    /* index into cfg.shards */
    enum cfg_txn_mode transactions;
    struct cfg_table *tables;
    int ntables;
    struct cfg_mark mark;
};

enum cfg_route_pref { ROUTE_DEFAULT = 0, ROUTE_PRIMARY, ROUTE_REPLICA };

struct cfg_policy {
    char *match;          /* case-insensitive digest prefix, or NULL */
    char *match_regex;    /* POSIX ERE source, or NULL */
    regex_t re;           /* compiled when re_ok */
    bool re_ok;           /* re holds a compiled match_regex (regfree it) */
    char *user;           /* NULL = every user */
    int64_t cache_ttl_ms; /* 0 = no cache */
    char *deny;           /* refusal text, or NULL */
    enum cfg_route_pref route;
    struct cfg_rate_limit rate_limit;
    struct cfg_mark mark;
};

struct cfg_pool {
    int64_t max_connections; /* per backend, all workers; default 200 */
    double noncore_share;    /* 0..1; default 0.5 */
    int64_t min_idle;        /* default 4 */
    int64_t idle_timeout_ms; /* default 60s */
    int64_t wait_timeout_ms; /* default 2s */
};

/* TLS towards the servers (backend.tls). */
struct cfg_backend_tls {
    bool enabled; /* pooled and monitor connections use TLS */
    char *ca;     /* PEM CA bundle the servers' certificates chain
                     to; NULL = the system's default store */
    bool verify;  /* check the certificate and the server's name */
    struct cfg_mark ca_mark;
    struct ssl_ctx_st *ctx; /* owned; client context built from these by
                               net/tls.c (tls_cfg_build), NULL until then
                               or when disabled */
};

struct cfg_health {
    int64_t interval_ms;         /* default 1s */
    int64_t max_replica_lag_ms;  /* default 5s */
    int64_t circuit_failures;    /* default 5 */
    int64_t circuit_open_for_ms; /* default 10s */
};

/* backend.consistency: what a read on a replica must have seen. */
enum cfg_consistency {
    CONSIST_SESSION = 0, /* the session's own writes */
    CONSIST_CAUSAL,      /* every write the proxy acknowledged before */
};

struct cfg_backend {
    char *user;
    char *password;
    struct cfg_backend_tls tls;
    int64_t connect_timeout_ms; /* default 1s */
    int64_t query_timeout_ms;   /* default 30s; 0 = none */
    struct cfg_pool pool;
    struct cfg_health health;
    enum cfg_consistency consistency; /* default session */
};

struct cfg_admin {
    struct cfg_addr listen; /* default 127.0.0.1:6032 */
    struct cfg_addr http;   /* default 127.0.0.1:6080 */
    char **http_hosts;      /* Host names the HTTP port serves, besides
                               address literals and localhost */
    int nhttp_hosts;
    char *user;       /* default "admin" */
    char *password;   /* plain; NULL when password_hash is given or neither
                         is (then the console refuses every login) */
    bool has_hash;    /* password_hash given: hash holds its 20 bytes */
    uint8_t hash[20]; /* SHA1(SHA1(password)) decoded from "*HEX" */
};

/* cluster: several instances sharing invalidations through Redis
 * (backend/cluster.h). Absent: redis.text == NULL. */
struct cfg_cluster {
    struct cfg_addr redis; /* host:port of the Redis server */
    char *name;            /* this instance; default: host:port of listen */
};

/* reshard: online resharding (cfg_place.h, src/reshard). */
struct cfg_reshard {
    int64_t max_pause_ms; /* longest hold of moving writes at cutover */
    int64_t copy_rate;    /* rows per second copied and cleaned up */
    char *state;          /* the live placement file, myshard-placement.yaml */
    char *control; /* schema on shards[0]'s primary where instances agree */
};

/* Client logins: caching_sha2_password's RSA key and failed-login
 * throttling (session/login.c, session/throttle.c). */
struct cfg_login {
    char *rsa_key;              /* PEM private key file; NULL: a 2048-bit key is
                                   generated at start */
    int64_t throttle_failures;  /* failures per address answered at once
                                   within the window */
    int64_t throttle_window_ms; /* failures older than this are forgotten */
    int64_t throttle_max_delay_ms; /* cap of the delay; 0 = no throttling */
};

enum cfg_tls_version { TLS_V12 = 0, TLS_V13 };

/* TLS towards clients (tls:). Re-read on every reload: each generation
 * holds its own server context. */
struct cfg_tls {
    bool enabled; /* section present */
    char *cert;   /* PEM certificate chain */
    char *key;    /* PEM private key */
    char *ca;     /* PEM CA: client certificates must chain to it; or NULL */
    enum cfg_tls_version min_version;
    bool require; /* refuse clients that stay in plaintext */
    struct cfg_mark cert_mark, key_mark, ca_mark; /* where each was written */
    struct ssl_ctx_st *ctx; /* owned; server context built by net/tls.c
                               (tls_cfg_build), NULL until then */
};

struct cfg {
    int refs; /* atomic; see cfg_get/cfg_put */
    char *path;
    char *text; /* the file as loaded (SHOW CONFIG masks its passwords) */

    struct cfg_addr listen;         /* default 0.0.0.0:6033 */
    int workers;                    /* resolved: "auto" = number of cores */
    char *zone;                     /* may be NULL */
    int64_t shutdown_timeout_ms;    /* default 10s */
    int64_t max_client_connections; /* default 20000 */
    /* Keys beyond PRODUCT.md's example, documented in conf/myshard.yaml: */
    int64_t max_allowed_packet;     /* bytes; default 64MB */
    int64_t handshake_timeout_ms;   /* default 10s */
    int64_t client_idle_timeout_ms; /* default 8h; 0 = none */
    int64_t slow_query_ms;          /* default 1s; 0 = off */
    int log_format;                 /* enum log_format; default text */
    char *xa_log;                   /* decision log; "myshard-xa.log" */
    int64_t cache_memory;           /* hot-key cache bytes; default 64MB */
    int64_t xa_commit_delay_ms;     /* fault injection; default 0 */

    int64_t max_prepared_statements; /* per client; default 1024 */

    struct cfg_admin admin;
    struct cfg_cluster cluster;
    struct cfg_tls tls;
    struct cfg_login login;
    struct cfg_reshard reshard;
    struct cfg_user *users;
    int nusers;
    struct cfg_backend backend;
    struct cfg_shard *shards;
    int nshards;
    struct cfg_rule *rules;
    int nrules;
    struct cfg_schema *schemas;
    int nschemas;
    struct cfg_policy *policies;
    int npolicies;
};

#endif
