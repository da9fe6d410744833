/*
 * cfg.c - owns the configuration schema and the generation's life: the key
 * tables below are the single declaration of every YAML key (type, bounds,
 * default, help), from which cfg_bind.c binds and cfg_check.c validates.
 * A loaded generation is immutable and shared by reference count; the last
 * cfg_put frees it. Also the lookups and the --check summary.
 *
 * Table order is binding order: shards before the rules that name them,
 * rules before the schemas whose tables use them, schemas before the users
 * that list them, users before the policies that name them.
 */
#include "cfg/cfg.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "base/log.h"
#include "base/ratelimit.h"
#include "base/units.h"
#include "cfg/cfg_bind.h"
#include "cfg/cfg_check.h"
#include "cfg/cfg_place.h"
#include "cfg/yamldoc.h"

#define OFF(type, field) offsetof(struct type, field)
#define KEYS(t)          .sub = (t), .nsub = ARRAY_SIZE(t)
#define MS_HOUR          (60.0 * 60 * 1000)

/* --- enums ------------------------------------------------------------- */

static const struct cfg_enum rl_algos[] = {
    {"token_bucket", RL_TOKEN_BUCKET},
    {"leaky_bucket", RL_LEAKY_BUCKET},
    {"sliding_window", RL_SLIDING_WINDOW},
    {"fixed_window", RL_FIXED_WINDOW},
    {NULL, 0},
};

static const struct cfg_enum user_classes[] = {
    {"core", CLASS_CORE},
    {"noncore", CLASS_NONCORE},
    {NULL, 0},
};

static const struct cfg_enum pool_modes[] = {
    {"transaction", POOL_MODE_TRANSACTION},
    {"session", POOL_MODE_SESSION},
    {NULL, 0},
};

static const struct cfg_enum rule_types[] = {
    {"hash", RULE_HASH},
    {"mod", RULE_MOD},
    {"range", RULE_RANGE},
    {NULL, 0},
};

static const struct cfg_enum txn_modes[] = {
    {"deny", TXN_DENY},
    {"best_effort", TXN_BEST_EFFORT},
    {"xa", TXN_XA},
    {NULL, 0},
};

static const struct cfg_enum consistencies[] = {
    {"session", CONSIST_SESSION},
    {"causal", CONSIST_CAUSAL},
    {NULL, 0},
};

static const struct cfg_enum log_formats[] = {
    {"text", LOG_FORMAT_TEXT},
    {"json", LOG_FORMAT_JSON},
    {NULL, 0},
};

static const struct cfg_enum route_prefs[] = {
    {"primary", ROUTE_PRIMARY},
    {"replica", ROUTE_REPLICA},
    {NULL, 0},
};

/* --- comparing what custom binders and hooks filled --------------------- */

static bool
eq_workers(const struct cfg_key *k, const void *a, const void *b)
{
    return *(const int *)((const char *)a + k->offset) ==
           *(const int *)((const char *)b + k->offset);
}

static bool
eq_password_hash(const struct cfg_key *k, const void *a, const void *b)
{
    const struct cfg_user *x = a, *y = b;

    (void)k;
    return x->has_hash == y->has_hash &&
           (!x->has_hash || memcmp(x->hash, y->hash, sizeof(x->hash)) == 0);
}

static bool
eq_admin_password_hash(const struct cfg_key *k, const void *a, const void *b)
{
    const struct cfg_admin *x = a, *y = b;

    (void)k;
    return x->has_hash == y->has_hash &&
           (!x->has_hash || memcmp(x->hash, y->hash, sizeof(x->hash)) == 0);
}

/* slot_map fills the slot owners (explicit or the even split). */
static bool
eq_slot_owners(const struct cfg_key *k, const void *a, const void *b)
{
    const struct cfg_rule *x = a, *y = b;

    (void)k;
    if (x->has_slot_map != y->has_slot_map || x->slots != y->slots)
        return false;
    if (x->slot_owner == NULL || y->slot_owner == NULL)
        return x->slot_owner == y->slot_owner;
    return memcmp(x->slot_owner, y->slot_owner,
                  (size_t)x->slots * sizeof(int)) == 0;
}

/* --- key tables -------------------------------------------------------- */

static const struct cfg_key rate_limit_keys[] = {
    {"algorithm", KT_ENUM, OFF(cfg_rate_limit, algo), .enums = rl_algos,
     .help = "token_bucket (default), leaky_bucket, sliding_window or "
             "fixed_window"},
    {"rate", KT_NUMBER, OFF(cfg_rate_limit, rate), 0, 1e9,
     .flags = KEY_REQUIRED | KEY_MIN_EXCL,
     .help = "statements per second (buckets) or per window (windows)"},
    {"burst", KT_I64, OFF(cfg_rate_limit, burst), 1, 1e9,
     .help = "token_bucket: bucket size; default = rate"},
    {"window", KT_DURATION, OFF(cfg_rate_limit, window_ms), 1, 24 * MS_HOUR,
     "1s", .help = "sliding_window/fixed_window: counting window"},
    {"max_wait", KT_DURATION, OFF(cfg_rate_limit, max_wait_ms), 0, MS_HOUR,
     "1s", .help = "leaky_bucket: longest a statement may queue"},
};

#define RATE_LIMIT_KEY(type)                                                   \
    {                                                                          \
        "rate_limit", KT_SECTION, OFF(type, rate_limit),                       \
            KEYS(rate_limit_keys),                                             \
            .flags = KEY_MARK, .mark_off = OFF(cfg_rate_limit, mark),          \
            .post = cfg_check_rate_limit, .help = "statement rate limit"       \
    }

static const struct cfg_key admin_keys[] = {
    {"listen", KT_ADDR, OFF(cfg_admin, listen), .def = "127.0.0.1:6032",
     .flags = KEY_RESTART, .help = "MySQL-protocol admin console"},
    {"http", KT_ADDR, OFF(cfg_admin, http), .def = "127.0.0.1:6080",
     .flags = KEY_RESTART, .help = "HTTP /metrics, /status, /healthz"},
    {"http_hosts", KT_STRLIST, OFF(cfg_admin, http_hosts),
     .count_off = OFF(cfg_admin, nhttp_hosts), .flags = KEY_RESTART,
     .help = "Host names the HTTP port answers to, besides IP addresses and "
             "localhost"},
    {"user", KT_STRING, OFF(cfg_admin, user), .def = "admin",
     .help = "admin console user"},
    {"password", KT_STRING, OFF(cfg_admin, password), .flags = KEY_SECRET,
     .help = "admin console password (not 'admin'); none = no logins"},
    {"password_hash", KT_CUSTOM, 0, .fn = cfg_check_admin_password_hash,
     .eq = eq_admin_password_hash, .flags = KEY_SECRET,
     .help = "mysql_native_password hash, \"*\" + 40 hex"},
};

static const struct cfg_key cluster_keys[] = {
    {"redis", KT_ADDR, OFF(cfg_cluster, redis), .flags = KEY_RESTART,
     .help = "Redis host:port shared by the instances (Redis 6+)"},
    {"name", KT_STRING, OFF(cfg_cluster, name), .flags = KEY_RESTART,
     .help = "this instance in SHOW CLUSTER; default host:port of listen"},
};

/* Bound into struct cfg_login itself: throttle: { ... } */
static const struct cfg_key throttle_keys[] = {
    {"failures", KT_I64, OFF(cfg_login, throttle_failures), 0, 1000000, "5",
     .help = "failed logins per address answered at once within window"},
    {"window", KT_DURATION, OFF(cfg_login, throttle_window_ms), 1, 24 * MS_HOUR,
     "60s", .help = "how long a failure counts"},
    {"max_delay", KT_DURATION, OFF(cfg_login, throttle_max_delay_ms), 0,
     60 * 1000, "5s",
     .help = "longest a failure's answer is held back; 0 = off"},
};

static const struct cfg_key login_keys[] = {
    {"rsa_key", KT_STRING, OFF(cfg_login, rsa_key), .flags = KEY_RESTART,
     .help = "PEM RSA private key for caching_sha2_password without TLS; "
             "default generated at start"},
    {"throttle", KT_SECTION, 0, KEYS(throttle_keys),
     .help = "slow down addresses that keep failing to log in"},
};

static const struct cfg_key reshard_keys[] = {
    {"max_pause", KT_DURATION, OFF(cfg_reshard, max_pause_ms), 1, MS_HOUR, "2s",
     .help = "longest hold of writes to moving keys at cutover"},
    {"copy_rate", KT_I64, OFF(cfg_reshard, copy_rate), 1, 1e9, "20000",
     .help = "rows per second copied and cleaned up, at most"},
    {"state", KT_STRING, OFF(cfg_reshard, state),
     .def = "myshard-placement.yaml",
     .help = "live placement file, written by RESHARD, read at load"},
    {"control", KT_STRING, OFF(cfg_reshard, control), .def = "myshard_control",
     .flags = KEY_RESTART,
     .help = "schema on the first shard's primary where instances agree"},
};

static const struct cfg_enum tls_versions[] = {
    {"TLSv1.2", TLS_V12},
    {"TLSv1.3", TLS_V13},
    {NULL, 0},
};

static const struct cfg_key tls_keys[] = {
    {"cert", KT_STRING, OFF(cfg_tls, cert), .flags = KEY_REQUIRED,
     .help = "PEM certificate chain"},
    {"key", KT_STRING, OFF(cfg_tls, key), .flags = KEY_REQUIRED,
     .help = "PEM private key"},
    {"ca", KT_STRING, OFF(cfg_tls, ca),
     .help = "PEM CA: TLS clients must show a certificate signed by it"},
    {"min_version", KT_ENUM, OFF(cfg_tls, min_version), .def = "TLSv1.2",
     .enums = tls_versions, .help = "TLSv1.2 (default) or TLSv1.3"},
    {"require", KT_BOOL, OFF(cfg_tls, require), .def = "false",
     .help = "refuse clients that do not switch to TLS"},
};

static const struct cfg_key backend_tls_keys[] = {
    {"enabled", KT_BOOL, OFF(cfg_backend_tls, enabled), .def = "false",
     .help = "connect to the servers over TLS"},
    {"ca", KT_STRING, OFF(cfg_backend_tls, ca),
     .help = "PEM CA of the servers' certificates; default the system's"},
    {"verify", KT_BOOL, OFF(cfg_backend_tls, verify), .def = "true",
     .help = "check the server's certificate and name"},
};

static const struct cfg_key user_keys[] = {
    {"name", KT_STRING, OFF(cfg_user, name), .flags = KEY_REQUIRED | KEY_NAME,
     .help = "login name"},
    {"password", KT_STRING, OFF(cfg_user, password), .flags = KEY_SECRET,
     .help = "plain password"},
    {"password_hash", KT_CUSTOM, 0, .fn = cfg_check_password_hash,
     .eq = eq_password_hash, .flags = KEY_SECRET,
     .help = "mysql_native_password hash, \"*\" + 40 hex"},
    {"schemas", KT_STRLIST, OFF(cfg_user, schemas),
     .count_off = OFF(cfg_user, nschemas),
     .help = "schemas it may use, the first is its default; default all"},
    {"max_connections", KT_I64, OFF(cfg_user, max_connections), 0, 10000000,
     "0", .help = "client connections of this user; 0 = unlimited"},
    {"class", KT_ENUM, OFF(cfg_user, cls), .def = "core", .enums = user_classes,
     .help = "core or noncore (limited to backend.pool.noncore_share)"},
    {"read_only", KT_BOOL, OFF(cfg_user, read_only), .def = "false",
     .help = "refuse writes"},
    {"require_tls", KT_BOOL, OFF(cfg_user, require_tls), .def = "false",
     .help = "refuse this user on a connection without TLS"},
    {"pool_mode", KT_ENUM, OFF(cfg_user, pool_mode), .def = "transaction",
     .enums = pool_modes,
     .help = "transaction (share connections) or session (keep one)"},
    RATE_LIMIT_KEY(cfg_user),
};

static const struct cfg_key pool_keys[] = {
    {"max_connections", KT_I64, OFF(cfg_pool, max_connections), 1, 100000,
     "200", .help = "connections per backend server, all workers together"},
    {"noncore_share", KT_NUMBER, OFF(cfg_pool, noncore_share), 0, 1, "0.5",
     .help = "share of max_connections noncore users may hold"},
    {"min_idle", KT_I64, OFF(cfg_pool, min_idle), 0, 100000, "4",
     .help = "idle connections kept open per backend"},
    {"idle_timeout", KT_DURATION, OFF(cfg_pool, idle_timeout_ms), 0,
     24 * MS_HOUR, "60s", .help = "close idle connections above min_idle"},
    {"wait_timeout", KT_DURATION, OFF(cfg_pool, wait_timeout_ms), 0,
     10 * 60 * 1000, "2s", .help = "longest queue wait for a connection"},
};

/* Bound into struct cfg_health itself (offset 0): the YAML nests it. */
static const struct cfg_key circuit_keys[] = {
    {"failures", KT_I64, OFF(cfg_health, circuit_failures), 1, 1000000, "5",
     .help = "consecutive failures that open the circuit"},
    {"open_for", KT_DURATION, OFF(cfg_health, circuit_open_for_ms), 1, MS_HOUR,
     "10s", .help = "how long it stays open before one probe"},
};

static const struct cfg_key health_keys[] = {
    {"interval", KT_DURATION, OFF(cfg_health, interval_ms), 10, MS_HOUR, "1s",
     .help = "health check period"},
    {"max_replica_lag", KT_DURATION, OFF(cfg_health, max_replica_lag_ms), 0,
     24 * MS_HOUR, "5s", .help = "replicas further behind get no reads"},
    {"circuit", KT_SECTION, 0, KEYS(circuit_keys),
     .help = "circuit breaker per backend"},
};

static const struct cfg_key backend_keys[] = {
    {"user", KT_STRING, OFF(cfg_backend, user), .flags = KEY_REQUIRED,
     .help = "user the proxy logs in to MySQL with"},
    {"password", KT_STRING, OFF(cfg_backend, password), .def = "",
     .flags = KEY_SECRET, .help = "its password"},
    {"tls", KT_SECTION, OFF(cfg_backend, tls), KEYS(backend_tls_keys),
     .post = cfg_check_backend_tls, .help = "TLS to the servers"},
    {"connect_timeout", KT_DURATION, OFF(cfg_backend, connect_timeout_ms), 1,
     10 * 60 * 1000, "1s", .help = "connect + handshake limit"},
    {"query_timeout", KT_DURATION, OFF(cfg_backend, query_timeout_ms), 0,
     24 * MS_HOUR, "30s", .help = "statement runtime limit; 0 = none"},
    {"pool", KT_SECTION, OFF(cfg_backend, pool), KEYS(pool_keys),
     .post = cfg_check_pool, .help = "connection pools"},
    {"health", KT_SECTION, OFF(cfg_backend, health), KEYS(health_keys),
     .help = "health monitor"},
    {"consistency", KT_ENUM, OFF(cfg_backend, consistency), .def = "session",
     .enums = consistencies,
     .help = "session: a session reads its own writes; causal: every read "
             "sees every write acknowledged before it"},
};

static const struct cfg_key replica_keys[] = {
    {"addr", KT_ADDR, OFF(cfg_replica, addr), .flags = KEY_REQUIRED,
     .help = "host:port"},
    {"weight", KT_I32, OFF(cfg_replica, weight), 0, 1000000, "1",
     .help = "share of reads; 0 = only when forced"},
    {"zone", KT_STRING, OFF(cfg_replica, zone), .help = "its zone"},
};

static const struct cfg_key shard_keys[] = {
    {"name", KT_STRING, OFF(cfg_shard, name), .flags = KEY_REQUIRED | KEY_NAME,
     .help = "shard name"},
    {"primary", KT_ADDR, OFF(cfg_shard, primary), .flags = KEY_REQUIRED,
     .help = "host:port of the primary"},
    {"replicas", KT_LIST, OFF(cfg_shard, replicas), KEYS(replica_keys),
     .count_off = OFF(cfg_shard, nreplicas),
     .elem_size = sizeof(struct cfg_replica),
     .mark_off = OFF(cfg_replica, mark), .what = "replica",
     .help = "read replicas"},
};

static const struct cfg_key range_keys[] = {
    {"shard", KT_SHARD_REF, OFF(cfg_range, shard), .flags = KEY_REQUIRED,
     .help = "shard holding the range"},
    {"from", KT_BOUND, OFF(cfg_range, from),
     .help = "inclusive lower bound; omitted on the first = unbounded"},
    {"to", KT_BOUND, OFF(cfg_range, to),
     .help = "exclusive upper bound; omitted on the last = unbounded"},
};

static const struct cfg_key rule_keys[] = {
    {"type", KT_ENUM, OFF(cfg_rule, type), .enums = rule_types,
     .flags = KEY_REQUIRED, .help = "hash, mod or range"},
    {"shards", KT_SHARD_REFS, OFF(cfg_rule, shards),
     .count_off = OFF(cfg_rule, nshards), .help = "hash/mod: shards in order"},
    {"slots", KT_U32, OFF(cfg_rule, slots), 1, 65536, "1024",
     .help = "hash: number of CRC32 slots"},
    {"slot_map", KT_NODE, 0, .eq = eq_slot_owners,
     .help = "hash: shard -> \"0-255,768-1023\""},
    {"ranges", KT_LIST, OFF(cfg_rule, ranges), KEYS(range_keys),
     .count_off = OFF(cfg_rule, nranges), .elem_size = sizeof(struct cfg_range),
     .mark_off = OFF(cfg_range, mark), .what = "range",
     .help = "range: {shard, from, to} list"},
};

const struct cfg_key *
cfg_rule_key(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(rule_keys); i++)
        if (strcmp(rule_keys[i].name, name) == 0)
            return &rule_keys[i];
    return NULL;
}

static const struct cfg_key table_keys[] = {
    {"name", KT_STRING, OFF(cfg_table, name), .flags = KEY_REQUIRED | KEY_NAME,
     .help = "table name"},
    {"key", KT_STRING, OFF(cfg_table, key), .help = "shard key column"},
    {"rule", KT_RULE_REF, OFF(cfg_table, rule), .help = "sharding rule"},
    {"global", KT_BOOL, OFF(cfg_table, global), .def = "false",
     .help = "a full copy on every shard"},
};

static const struct cfg_key schema_keys[] = {
    {"name", KT_STRING, OFF(cfg_schema, name), .flags = KEY_REQUIRED | KEY_NAME,
     .help = "database name clients see"},
    {"backend_schema", KT_STRING, OFF(cfg_schema, backend_schema),
     .help = "its name on every shard; default the same"},
    {"default_shard", KT_SHARD_REF, OFF(cfg_schema, default_shard),
     .help = "home of unlisted tables; default the first shard"},
    {"transactions", KT_ENUM, OFF(cfg_schema, transactions), .def = "deny",
     .enums = txn_modes, .help = "cross-shard: deny, best_effort or xa"},
    {"tables", KT_LIST, OFF(cfg_schema, tables), KEYS(table_keys),
     .count_off = OFF(cfg_schema, ntables),
     .elem_size = sizeof(struct cfg_table), .mark_off = OFF(cfg_table, mark),
     .what = "table", .post = cfg_check_table,
     .help = "sharded and global tables"},
};

/* Bound into struct cfg_policy itself: cache: { ttl } */
static const struct cfg_key cache_keys[] = {
    {"ttl", KT_DURATION, OFF(cfg_policy, cache_ttl_ms), 1, 24 * MS_HOUR,
     .flags = KEY_REQUIRED, .help = "how long a result is served"},
};

static const struct cfg_key policy_keys[] = {
    {"match", KT_STRING, OFF(cfg_policy, match),
     .help = "case-insensitive prefix of the digest"},
    {"match_regex", KT_STRING, OFF(cfg_policy, match_regex),
     .help = "POSIX extended regex on the digest, case-insensitive"},
    {"user", KT_STRING, OFF(cfg_policy, user), .help = "only this user"},
    {"cache", KT_SECTION, 0, KEYS(cache_keys), .help = "serve from memory"},
    {"deny", KT_STRING, OFF(cfg_policy, deny),
     .help = "refuse, with this text"},
    {"route", KT_ENUM, OFF(cfg_policy, route), .enums = route_prefs,
     .help = "primary or replica"},
    RATE_LIMIT_KEY(cfg_policy),
};

static const struct cfg_key top_keys[] = {
    {"listen", KT_ADDR, OFF(cfg, listen), .def = "0.0.0.0:6033",
     .flags = KEY_RESTART, .help = "where applications connect"},
    {"workers", KT_CUSTOM, OFF(cfg, workers), .def = "auto",
     .fn = cfg_check_workers, .eq = eq_workers, .flags = KEY_RESTART,
     .help = "event-loop threads; auto = one per CPU"},
    {"zone", KT_STRING, OFF(cfg, zone), .help = "this proxy's zone"},
    {"shutdown_timeout", KT_DURATION, OFF(cfg, shutdown_timeout_ms), 0, MS_HOUR,
     "10s", .help = "grace period for open transactions"},
    {"max_client_connections", KT_I64, OFF(cfg, max_client_connections), 1,
     10000000, "20000", .help = "client connections, all users"},
    {"max_allowed_packet", KT_SIZE, OFF(cfg, max_allowed_packet), 1024,
     1024.0 * 1024 * 1024, "64MB", .help = "largest client statement"},
    {"max_prepared_statements", KT_I64, OFF(cfg, max_prepared_statements), 1,
     1048576, "1024", .help = "prepared statements per client"},
    {"handshake_timeout", KT_DURATION, OFF(cfg, handshake_timeout_ms), 1,
     MS_HOUR, "10s", .help = "a client must log in within this"},
    {"client_idle_timeout", KT_DURATION, OFF(cfg, client_idle_timeout_ms), 0,
     30 * 24 * MS_HOUR, "8h", .help = "close idle clients; 0 = never"},
    {"slow_query_time", KT_DURATION, OFF(cfg, slow_query_ms), 0, 24 * MS_HOUR,
     "1s", .help = "log statements slower than this; 0 = off"},
    {"log_format", KT_ENUM, OFF(cfg, log_format), .def = "text",
     .enums = log_formats, .help = "log lines: text or json (one object each)"},
    {"xa_log", KT_STRING, OFF(cfg, xa_log), .def = "myshard-xa.log",
     .flags = KEY_RESTART, .help = "decision log of transactions: xa"},
    {"cache_memory", KT_SIZE, OFF(cfg, cache_memory), 0,
     64.0 * 1024 * 1024 * 1024, "64MB", .flags = KEY_RESTART,
     .help = "memory for the hot-key cache, all workers"},
    {"xa_commit_delay", KT_DURATION, OFF(cfg, xa_commit_delay_ms), 0, MS_HOUR,
     "0", .help = "fault injection for recovery tests; keep 0"},
    {"admin", KT_SECTION, OFF(cfg, admin), KEYS(admin_keys),
     .post = cfg_check_admin, .help = "admin console and HTTP"},
    {"cluster", KT_SECTION, OFF(cfg, cluster), KEYS(cluster_keys),
     .post = cfg_check_cluster,
     .help = "several instances: shared cache invalidations via Redis"},
    {"login", KT_SECTION, OFF(cfg, login), KEYS(login_keys),
     .post = cfg_check_login, .help = "client logins"},
    {"reshard", KT_SECTION, OFF(cfg, reshard), KEYS(reshard_keys),
     .post = cfg_check_reshard, .help = "online resharding"},
    {"tls", KT_SECTION, OFF(cfg, tls), KEYS(tls_keys), .post = cfg_check_tls,
     .help = "TLS for clients (certificates re-read on reload)"},
    {"backend", KT_SECTION, OFF(cfg, backend), KEYS(backend_keys),
     .flags = KEY_REQUIRED, .help = "how the proxy reaches MySQL"},
    {"shards", KT_LIST, OFF(cfg, shards), KEYS(shard_keys),
     .count_off = OFF(cfg, nshards), .elem_size = sizeof(struct cfg_shard),
     .mark_off = OFF(cfg_shard, mark), .what = "shard",
     .flags = KEY_REQUIRED | KEY_RESTART | KEY_APPEND,
     .help = "shards: a primary and replicas each (appending is live)"},
    {"sharding_rules", KT_NAMED_MAP, OFF(cfg, rules), KEYS(rule_keys),
     .count_off = OFF(cfg, nrules), .elem_size = sizeof(struct cfg_rule),
     .name_off = OFF(cfg_rule, name), .mark_off = OFF(cfg_rule, mark),
     .what = "rule", .post = cfg_check_rule, .help = "name -> rule"},
    {"schemas", KT_LIST, OFF(cfg, schemas), KEYS(schema_keys),
     .count_off = OFF(cfg, nschemas), .elem_size = sizeof(struct cfg_schema),
     .mark_off = OFF(cfg_schema, mark), .what = "schema",
     .post = cfg_check_schema, .flags = KEY_REQUIRED,
     .help = "databases clients see"},
    {"users", KT_LIST, OFF(cfg, users), KEYS(user_keys),
     .count_off = OFF(cfg, nusers), .elem_size = sizeof(struct cfg_user),
     .mark_off = OFF(cfg_user, mark), .what = "user", .post = cfg_check_user,
     .flags = KEY_REQUIRED, .help = "accounts applications log in with"},
    {"policies", KT_LIST, OFF(cfg, policies), KEYS(policy_keys),
     .count_off = OFF(cfg, npolicies), .elem_size = sizeof(struct cfg_policy),
     .mark_off = OFF(cfg_policy, mark), .what = "policy",
     .post = cfg_check_policy, .help = "per-statement rules, first match"},
};

/* --- life -------------------------------------------------------------- */

static void
cfg_free(struct cfg *c)
{
    /* derived fields first: the arrays holding them go with bind_free */
    for (int i = 0; i < c->nrules; i++) {
        free(c->rules[i].slot_owner);
        cfg_place_free_rule(&c->rules[i]);
    }
    for (int i = 0; i < c->npolicies; i++) {
        if (c->policies[i].re_ok)
            regfree(&c->policies[i].re);
        ratelimit_free(c->policies[i].rate_limit.rl);
    }
    for (int i = 0; i < c->nusers; i++)
        ratelimit_free(c->users[i].rate_limit.rl);
    SSL_CTX_free(c->tls.ctx); /* sessions' SSL objects hold their own refs */
    SSL_CTX_free(c->backend.tls.ctx);
    cfg_bind_free(top_keys, ARRAY_SIZE(top_keys), c);
    free(c->path);
    free(c->text);
    free(c);
}

struct cfg *
cfg_get(struct cfg *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

void
cfg_put(struct cfg *c)
{
    if (c == NULL)
        return;
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
        cfg_free(c);
}

struct diag_order {
    struct diag_item item;
    size_t seq;
};

static int
diag_order_cmp(const void *pa, const void *pb)
{
    const struct diag_order *a = pa, *b = pb;

    if (a->item.line != b->item.line)
        return a->item.line < b->item.line ? -1 : 1;
    if (a->item.col != b->item.col)
        return a->item.col < b->item.col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Binding follows the tables, not the file; users read top to bottom. */
static void
sort_diags(struct diag *d, size_t from)
{
    size_t n = d->n - from;
    struct diag_order *tmp;

    if (n < 2)
        return;
    tmp = xcalloc(n, sizeof(*tmp));
    for (size_t i = 0; i < n; i++) {
        tmp[i].item = d->items[from + i];
        tmp[i].seq = i;
    }
    qsort(tmp, n, sizeof(*tmp), diag_order_cmp);
    for (size_t i = 0; i < n; i++)
        d->items[from + i] = tmp[i].item;
    free(tmp);
}

/* The limiter a rate_limit describes, shared by every worker using this
 * config generation (a reload starts them afresh). With cluster.redis it
 * is named for sharing: whose limit it is and its parameters, so only
 * instances with the same limit count together (and a reload that changes
 * it starts a fresh shared count). */
static void
make_limiter(const struct cfg *c, struct cfg_rate_limit *r, const char *whose)
{
    char key[192];

    if (r->algo == RL_NONE)
        return;
    /* enum cfg_rl_algo and enum rl_algo share their values */
    r->rl = ratelimit_new((enum rl_algo)r->algo, r->rate, r->burst,
                          r->window_ms, r->max_wait_ms);
    if (r->rl == NULL || c->cluster.redis.text == NULL)
        return;
    snprintf(key, sizeof(key), "%.120s:%s:%g:%lld:%lld", whose,
             ratelimit_algo_name((enum rl_algo)r->algo), r->rate,
             (long long)r->burst, (long long)r->window_ms);
    ratelimit_set_key(r->rl, key);
}

/* over: the live placement to apply; NULL reads reshard.state. */
static struct cfg *
load(const char *name, const char *text, size_t len,
     const struct cfg_placement *over, struct diag *d)
{
    struct yamldoc_node empty = {.kind = YAMLDOC_MAP, .line = 1, .col = 1};
    const struct yamldoc_node *root;
    size_t first = d->n, errors = d->errors;
    struct cfg_bind b = {.file = name, .d = d};
    struct yamldoc *doc;
    struct cfg *c;

    doc = yamldoc_parse(name, text, len, d);
    if (doc == NULL)
        return NULL;
    c = xcalloc(1, sizeof(*c));
    c->refs = 1;
    c->path = xstrdup(name);
    c->text = xstrndup(text, len);
    b.cfg = c;

    root =
        doc->root != NULL && !yamldoc_is_null(doc->root) ? doc->root : &empty;
    if (root->kind != YAMLDOC_MAP) {
        /* nothing else can be read from it: stop at one clear message */
        cfg_bind_error(&b, root, NULL,
                       "the config must be a mapping of keys, not %s",
                       yamldoc_kind_name(root));
    } else {
        cfg_bind_map(&b, top_keys, ARRAY_SIZE(top_keys), root, c);
        cfg_check_config(&b, root);
    }
    yamldoc_free(doc);

    sort_diags(d, first);
    if (d->errors > errors || !cfg_place_apply(c, over, d)) {
        cfg_put(c);
        return NULL;
    }
    for (int i = 0; i < c->nusers; i++) {
        char whose[100];
        snprintf(whose, sizeof(whose), "user:%.80s", c->users[i].name);
        make_limiter(c, &c->users[i].rate_limit, whose);
    }
    for (int i = 0; i < c->npolicies; i++) {
        const struct cfg_policy *p = &c->policies[i];
        const char *m = p->match ? p->match : p->match_regex;
        char whose[100];
        /* a policy by its place and its match, hashed (any text) */
        snprintf(whose, sizeof(whose), "policy:%d:%08x", i + 1,
                 m ? crc32_ieee(m, strlen(m)) : 0u);
        make_limiter(c, &c->policies[i].rate_limit, whose);
    }
    return c;
}

struct cfg *
cfg_load_string(const char *name, const char *text, struct diag *d)
{
    return load(name, text, strlen(text), NULL, d);
}

struct cfg *
cfg_with_placement(const struct cfg *running, const struct cfg_placement *p,
                   struct diag *d)
{
    const char *text = running->text != NULL ? running->text : "";

    return load(running->path, text, strlen(text), p, d);
}

struct cfg *
cfg_load(const char *path, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    struct cfg *c;

    if (f == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, 0, NULL, "cannot open config: %s",
                 strerror(errno));
        return NULL;
    }
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            text = xrealloc(text, cap);
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        diag_add(d, DIAG_ERROR, path, 0, 0, NULL, "cannot read config: %s",
                 strerror(errno));
        fclose(f);
        free(text);
        return NULL;
    }
    fclose(f);
    c = load(path, text, len, NULL, d);
    free(text);
    return c;
}

/* --- reload: what changed -------------------------------------------- */

/* Appends name to the comma-separated list in buf (len > 4); a name that
 * does not fit ends the list with "...". */
static void
list_add(char *buf, size_t len, const char *name)
{
    size_t used = strlen(buf), need = strlen(name) + (used ? 2 : 0);

    if (used >= 3 && strcmp(buf + used - 3, "...") == 0)
        return;
    if (used + need + 5 < len) {
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
        return;
    }
    snprintf(buf + used, len - used, "%s...", used ? ", " : "");
}

static int
list_count(const struct cfg_key *k, const void *obj)
{
    return *(const int *)((const char *)obj + k->count_off);
}

static const char *
list_entry(const struct cfg_key *k, const void *obj, int j)
{
    return *(char *const *)((const char *)obj + k->offset) +
           (size_t)j * k->elem_size;
}

/* The name of entry j of a KT_LIST (its KEY_NAME string key), or "?". */
static const char *
entry_name(const struct cfg_key *k, const void *obj, int j)
{
    for (size_t i = 0; i < k->nsub; i++)
        if ((k->sub[i].flags & KEY_NAME) && k->sub[i].type == KT_STRING) {
            const char *s =
                *(char *const *)(list_entry(k, obj, j) + k->sub[i].offset);
            return s != NULL ? s : "?";
        }
    return "?";
}

/* A KEY_APPEND list: entries appended at the end are live ("shards (s2
 * added)"); a changed or removed entry needs a restart. */
static void
diff_append(const struct cfg_key *k, const void *a, const void *b,
            const char *name, struct cfg_diff *out)
{
    int na = list_count(k, a), nb = list_count(k, b);
    bool same = nb >= na;
    char added[200] = "";

    for (int j = 0; same && j < na; j++)
        for (size_t i = 0; same && i < k->nsub; i++)
            same = cfg_bind_equal(&k->sub[i], list_entry(k, a, j),
                                  list_entry(k, b, j));
    if (!same) {
        list_add(out->restart, sizeof(out->restart), name);
        out->nrestart++;
    }
    if (nb <= na)
        return;
    for (int j = na; j < nb; j++) {
        size_t used = strlen(added);
        snprintf(added + used, sizeof(added) - used, "%s%s", used ? " " : "",
                 entry_name(k, b, j));
    }
    {
        char live[300];
        snprintf(live, sizeof(live), "%s (%s added)", name, added);
        list_add(out->live, sizeof(out->live), live);
        out->nlive++;
    }
}

static void
diff_keys(const struct cfg_key *keys, size_t nkeys, const void *a,
          const void *b, const char *prefix, struct cfg_diff *out)
{
    for (size_t i = 0; i < nkeys; i++) {
        const struct cfg_key *k = &keys[i];
        char name[128];

        if (cfg_bind_equal(k, a, b))
            continue;
        snprintf(name, sizeof(name), "%s%s", prefix, k->name);
        if (k->flags & KEY_APPEND) {
            diff_append(k, a, b, name, out);
            continue;
        }
        if (k->type == KT_SECTION && !(k->flags & KEY_RESTART)) {
            char sub[130];
            snprintf(sub, sizeof(sub), "%s.", name);
            diff_keys(k->sub, k->nsub, (const char *)a + k->offset,
                      (const char *)b + k->offset, sub, out);
            continue;
        }
        if (k->flags & KEY_RESTART) {
            list_add(out->restart, sizeof(out->restart), name);
            out->nrestart++;
        } else {
            list_add(out->live, sizeof(out->live), name);
            out->nlive++;
        }
    }
}

void
cfg_diff(const struct cfg *old, const struct cfg *next, struct cfg_diff *out)
{
    memset(out, 0, sizeof(*out));
    diff_keys(top_keys, ARRAY_SIZE(top_keys), old, next, "", out);
    out->shard_list = next->nshards < old->nshards;
    for (int i = 0; !out->shard_list && i < old->nshards; i++)
        out->shard_list =
            strcmp(old->shards[i].name, next->shards[i].name) != 0;
    if (!out->shard_list)
        out->shards_added = next->nshards - old->nshards;
}

int
cfg_restart_needed(const struct cfg *old, const struct cfg *next, char *buf,
                   size_t len)
{
    struct cfg_diff d;

    cfg_diff(old, next, &d);
    snprintf(buf, len, "%s", d.restart);
    return d.nrestart;
}

static void
keep_keys(const struct cfg_key *keys, size_t nkeys, void *dst, const void *src)
{
    for (size_t i = 0; i < nkeys; i++) {
        const struct cfg_key *k = &keys[i];

        if ((k->flags & KEY_RESTART) && (k->flags & KEY_APPEND)) {
            /* the running entries; the appended ones stay */
            cfg_bind_copy_entries(k, dst, src,
                                  MIN(list_count(k, dst), list_count(k, src)));
        } else if (k->flags & KEY_RESTART) {
            if (k->type == KT_CUSTOM) /* workers: an int */
                memcpy((char *)dst + k->offset, (const char *)src + k->offset,
                       sizeof(int));
            else
                cfg_bind_copy(k, dst, src);
        } else if (k->type == KT_SECTION) {
            keep_keys(k->sub, k->nsub, (char *)dst + k->offset,
                      (const char *)src + k->offset);
        }
    }
}

void
cfg_keep_restart_keys(struct cfg *next, const struct cfg *running)
{
    keep_keys(top_keys, ARRAY_SIZE(top_keys), next, running);
}

char *
cfg_read_file(const char *path, size_t max, size_t *len, char *err,
              size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    buf = xmalloc(max + 1);
    n = fread(buf, 1, max + 1, f);
    if (ferror(f) || n > max) {
        snprintf(err, errlen, "%s",
                 ferror(f) ? "cannot read it" : "the file is too large");
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* --- lookups ----------------------------------------------------------- */

int
cfg_find_user(const struct cfg *c, const char *name)
{
    for (int i = 0; i < c->nusers; i++)
        if (strcmp(c->users[i].name, name) == 0)
            return i;
    return -1;
}

int
cfg_find_schema(const struct cfg *c, const char *name, size_t len)
{
    for (int i = 0; i < c->nschemas; i++)
        if (strlen(c->schemas[i].name) == len &&
            memcmp(c->schemas[i].name, name, len) == 0)
            return i;
    return -1;
}

int
cfg_find_shard(const struct cfg *c, const char *name)
{
    for (int i = 0; i < c->nshards; i++)
        if (strcmp(c->shards[i].name, name) == 0)
            return i;
    return -1;
}

const struct cfg_table *
cfg_find_table(const struct cfg_schema *s, const char *name, size_t len)
{
    for (int i = 0; i < s->ntables; i++)
        if (strlen(s->tables[i].name) == len &&
            memcmp(s->tables[i].name, name, len) == 0)
            return &s->tables[i];
    return NULL;
}

/* --- summary ----------------------------------------------------------- */

static const char *
enum_name(const struct cfg_enum *e, int v)
{
    for (; e->name != NULL; e++)
        if (e->value == v)
            return e->name;
    return "?";
}

static const char *
dur(int64_t ms, char *buf, size_t len)
{
    units_format_duration(ms, buf, len);
    return buf;
}

static void
print_rate_limit(const struct cfg_rate_limit *rl, FILE *out)
{
    char d[32];

    switch (rl->algo) {
    case RL_TOKEN_BUCKET:
        fprintf(out, ", rate limit token_bucket %g/s burst %lld", rl->rate,
                (long long)rl->burst);
        break;
    case RL_LEAKY_BUCKET:
        fprintf(out, ", rate limit leaky_bucket %g/s max_wait %s", rl->rate,
                dur(rl->max_wait_ms, d, sizeof(d)));
        break;
    case RL_SLIDING_WINDOW:
    case RL_FIXED_WINDOW:
        fprintf(out, ", rate limit %s %g per %s", enum_name(rl_algos, rl->algo),
                rl->rate, dur(rl->window_ms, d, sizeof(d)));
        break;
    case RL_NONE:
    default:
        break;
    }
}

static void
print_bound(const struct cfg_bound *b, bool from, FILE *out)
{
    if (!b->set)
        fputs(from ? "-inf" : "+inf", out);
    else if (b->is_string)
        fprintf(out, "'%s'", b->s);
    else
        fprintf(out, "%lld", (long long)b->i);
}

/* A rule's moving or cleanup set, as SHOW CONFIG and --check print it. */
static void
print_set(const struct cfg *c, const struct cfg_rule *r, const char *what,
          const struct cfg_moving *m, FILE *out)
{
    if (!m->active)
        return;
    fprintf(out, "      %s: ", what);
    if (r->type == RULE_HASH) {
        fprintf(out, "slots %u-%u", m->slot_lo, m->slot_hi);
    } else {
        fputc('[', out);
        print_bound(&m->from, true, out);
        fputs(", ", out);
        print_bound(&m->to, false, out);
        fputc(')', out);
    }
    if (m == &r->cleanup)
        fprintf(out,
                " moved to %s, stale rows on %s until the cleanup of "
                "reshard %lld deletes them\n",
                c->shards[m->target].name, c->shards[m->source].name,
                (long long)m->id);
    else
        fprintf(out, " from %s to %s (reshard %lld)\n",
                c->shards[m->source].name, c->shards[m->target].name,
                (long long)m->id);
}

static void
print_rule(const struct cfg *c, const struct cfg_rule *r, FILE *out)
{
    fprintf(out, "  %s: %s", r->name, enum_name(rule_types, (int)r->type));
    if (r->type != RULE_RANGE) {
        fputs(" over ", out);
        for (int i = 0; i < r->nshards; i++)
            fprintf(out, "%s%s", i ? ", " : "", c->shards[r->shards[i]].name);
    }
    if (r->type == RULE_HASH)
        fprintf(out, ", %u slots%s", r->slots,
                r->has_slot_map ? " (slot_map)" : "");
    fputc('\n', out);

    if (r->type == RULE_HASH && r->slot_owner != NULL) {
        for (int i = 0; i < r->nshards; i++) {
            int sh = r->shards[i];
            bool any = false;
            fprintf(out, "      %s: ", c->shards[sh].name);
            for (uint32_t s = 0; s < r->slots; s++) {
                uint32_t t = s;
                if (r->slot_owner[s] != sh)
                    continue;
                while (t + 1 < r->slots && r->slot_owner[t + 1] == sh)
                    t++;
                fprintf(out, "%s%u", any ? "," : "", s);
                if (t > s)
                    fprintf(out, "-%u", t);
                any = true;
                s = t;
            }
            fprintf(out, "%s\n", any ? "" : "(no slots)");
        }
    }
    for (int i = 0; i < r->nranges; i++) {
        const struct cfg_range *x = &r->ranges[i];
        fprintf(out, "      %s: [", c->shards[x->shard].name);
        print_bound(&x->from, true, out);
        fputs(", ", out);
        print_bound(&x->to, false, out);
        fputs(")\n", out);
    }
    if (r->live && r->live_line > 0)
        fprintf(out,
                "      (live placement from %s:%d, written by RESHARD; "
                "it overrides the YAML's)\n",
                c->reshard.state, r->live_line);
    else if (r->live)
        fprintf(out, "      (live placement, made by RESHARD; it overrides "
                     "the YAML's)\n");
    print_set(c, r, "moving", &r->moving, out);
    print_set(c, r, "cleanup", &r->cleanup, out);
}

void
cfg_print_summary(const struct cfg *c, FILE *out)
{
    char d1[32], d2[32], d3[32], d4[32];
    const struct cfg_backend *be = &c->backend;

    fprintf(out, "config %s\n", c->path);
    fprintf(out, "listen %s, workers %d, zone %s\n", c->listen.text, c->workers,
            c->zone ? c->zone : "(none)");
    units_format_size(c->max_allowed_packet, d1, sizeof(d1));
    fprintf(out,
            "clients: max %lld, max_allowed_packet %s, handshake_timeout %s, "
            "idle_timeout %s\n",
            (long long)c->max_client_connections, d1,
            dur(c->handshake_timeout_ms, d2, sizeof(d2)),
            dur(c->client_idle_timeout_ms, d3, sizeof(d3)));
    fprintf(out, "shutdown_timeout %s, slow_query_time %s, log_format %s\n",
            dur(c->shutdown_timeout_ms, d1, sizeof(d1)),
            dur(c->slow_query_ms, d2, sizeof(d2)),
            c->log_format == LOG_FORMAT_JSON ? "json" : "text");
    fprintf(out, "admin: console %s, http %s, user %s\n", c->admin.listen.text,
            c->admin.http.text, c->admin.user);
    if (c->tls.enabled)
        fprintf(out,
                "tls: cert %s, key %s, ca %s, min_version %s, require %s\n",
                c->tls.cert, c->tls.key, c->tls.ca ? c->tls.ca : "(none)",
                enum_name(tls_versions, (int)c->tls.min_version),
                c->tls.require ? "yes" : "no");
    else
        fprintf(out, "tls: off\n");
    fprintf(out,
            "backend: user %s, tls %s%s%s, connect_timeout %s, "
            "query_timeout %s\n",
            be->user, be->tls.enabled ? "on" : "off",
            be->tls.enabled ? (be->tls.verify ? " (verify" : " (no verify")
                            : "",
            be->tls.enabled ? (be->tls.ca ? ", own ca)" : ", system ca)") : "",
            dur(be->connect_timeout_ms, d1, sizeof(d1)),
            dur(be->query_timeout_ms, d2, sizeof(d2)));
    fprintf(out,
            "  pool: max_connections %lld, noncore_share %g, min_idle %lld, "
            "idle_timeout %s, wait_timeout %s\n",
            (long long)be->pool.max_connections, be->pool.noncore_share,
            (long long)be->pool.min_idle,
            dur(be->pool.idle_timeout_ms, d1, sizeof(d1)),
            dur(be->pool.wait_timeout_ms, d2, sizeof(d2)));
    fprintf(out,
            "  health: interval %s, max_replica_lag %s, circuit %lld "
            "failures / open %s; consistency %s\n",
            dur(be->health.interval_ms, d3, sizeof(d3)),
            dur(be->health.max_replica_lag_ms, d4, sizeof(d4)),
            (long long)be->health.circuit_failures,
            dur(be->health.circuit_open_for_ms, d1, sizeof(d1)),
            enum_name(consistencies, (int)be->consistency));

    fprintf(out,
            "reshard: max_pause %s, copy_rate %lld rows/s, state %s, control "
            "%s\n",
            dur(c->reshard.max_pause_ms, d1, sizeof(d1)),
            (long long)c->reshard.copy_rate, c->reshard.state,
            c->reshard.control);
    fprintf(out, "shards (%d):\n", c->nshards);
    for (int i = 0; i < c->nshards; i++) {
        const struct cfg_shard *s = &c->shards[i];
        fprintf(out, "  %s: primary %s\n", s->name, s->primary.text);
        for (int j = 0; j < s->nreplicas; j++)
            fprintf(out, "      replica %s weight %d zone %s\n",
                    s->replicas[j].addr.text, s->replicas[j].weight,
                    s->replicas[j].zone ? s->replicas[j].zone : "(none)");
    }

    fprintf(out, "rules (%d):\n", c->nrules);
    for (int i = 0; i < c->nrules; i++)
        print_rule(c, &c->rules[i], out);

    fprintf(out, "schemas (%d):\n", c->nschemas);
    for (int i = 0; i < c->nschemas; i++) {
        const struct cfg_schema *s = &c->schemas[i];
        fprintf(out,
                "  %s: backend schema %s, default shard %s, "
                "transactions %s\n",
                s->name, s->backend_schema, c->shards[s->default_shard].name,
                enum_name(txn_modes, (int)s->transactions));
        for (int j = 0; j < s->ntables; j++) {
            const struct cfg_table *t = &s->tables[j];
            if (t->global)
                fprintf(out, "      %s: global\n", t->name);
            else
                fprintf(out, "      %s: key %s, rule %s\n", t->name, t->key,
                        c->rules[t->rule].name);
        }
    }

    fprintf(out, "users (%d):\n", c->nusers);
    for (int i = 0; i < c->nusers; i++) {
        const struct cfg_user *u = &c->users[i];
        fprintf(out, "  %s: schemas ", u->name);
        for (int j = 0; j < u->nschemas; j++)
            fprintf(out, "%s%s", j ? "," : "", u->schemas[j]);
        fprintf(out, ", class %s", enum_name(user_classes, (int)u->cls));
        if (u->read_only)
            fputs(", read-only", out);
        if (u->require_tls)
            fputs(", require_tls", out);
        if (u->max_connections > 0)
            fprintf(out, ", max_connections %lld",
                    (long long)u->max_connections);
        print_rate_limit(&u->rate_limit, out);
        fputc('\n', out);
    }

    fprintf(out, "policies (%d):\n", c->npolicies);
    for (int i = 0; i < c->npolicies; i++) {
        const struct cfg_policy *p = &c->policies[i];
        fprintf(out, "  %d:", i + 1);
        if (p->match)
            fprintf(out, " match \"%s\"", p->match);
        if (p->match_regex)
            fprintf(out, " match_regex \"%s\"", p->match_regex);
        if (p->user)
            fprintf(out, " user %s", p->user);
        fputs(" ->", out);
        if (p->deny)
            fprintf(out, " deny \"%s\"", p->deny);
        if (p->cache_ttl_ms > 0)
            fprintf(out, " cache %s", dur(p->cache_ttl_ms, d1, sizeof(d1)));
        if (p->route != ROUTE_DEFAULT)
            fprintf(out, " route %s", enum_name(route_prefs, (int)p->route));
        print_rate_limit(&p->rate_limit, out);
        fputc('\n', out);
    }
}
