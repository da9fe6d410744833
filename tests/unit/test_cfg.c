/*
 * test_cfg.c - the config loader. Every .yaml file in tests/data/cfg/good
 * must load without errors; every one in tests/data/cfg/bad must fail with
 * exactly the diagnostics in its .expected sibling, one per line as diag_format
 * prints them. Then parsed values, defaults, derived fields (slot owners,
 * sorted ranges), the YAML corner cases and the generation's reference count.
 * Runs with the project root as working directory.
 */
#include "base/log.h"
#include "cfg/cfg.h"

#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOOD_DIR "tests/data/cfg/good"
#define BAD_DIR  "tests/data/cfg/bad"

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .yaml files of dir, sorted; NULL-terminated, caller frees. */
static char **
list_yaml(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;

    ck_assert_msg(d != NULL, "cannot open %s (run from the project root)", dir);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        names = realloc(names, (n + 2) * sizeof(*names));
        ck_assert_ptr_nonnull(names);
        ck_assert(asprintf(&names[n++], "%s/%s", dir, e->d_name) > 0);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    names[n] = NULL;
    *count = n;
    return names;
}

static void
free_list(char **names)
{
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    int c;

    if (f == NULL)
        return NULL;
    out = open_memstream(&text, &len);
    while ((c = fgetc(f)) != EOF)
        fputc(c, out);
    fclose(out);
    fclose(f);
    return text;
}

static char *
format_all(const struct diag *d)
{
    char *text = NULL, line[2048];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    for (size_t i = 0; i < d->n; i++) {
        diag_format(d, i, line, sizeof(line));
        fprintf(out, "%s\n", line);
    }
    fclose(out);
    return text;
}

static struct cfg *
load_ok(const char *path)
{
    struct diag d;
    struct cfg *c;

    diag_init(&d);
    c = cfg_load(path, &d);
    if (c == NULL || diag_has_errors(&d)) {
        char *text = format_all(&d);
        ck_abort_msg("%s did not load:\n%s", path, text);
    }
    diag_free(&d);
    return c;
}

static struct cfg *
load_str(const char *text, struct diag *d)
{
    diag_init(d);
    return cfg_load_string("t.yaml", text, d);
}

/* --- the data files ---------------------------------------------------- */

START_TEST(test_good_files)
{
    size_t n;
    char **files = list_yaml(GOOD_DIR, &n);

    ck_assert_uint_ge(n, 5);
    for (char **p = files; *p != NULL; p++) {
        struct diag d;
        struct cfg *c;
        char *text;

        diag_init(&d);
        c = cfg_load(*p, &d);
        text = format_all(&d);
        ck_assert_msg(c != NULL && d.n == 0, "%s:\n%s", *p, text);
        free(text);
        ck_assert_str_eq(c->path, *p);
        cfg_put(c);
        diag_free(&d);
    }
    free_list(files);
}
END_TEST

START_TEST(test_bad_files)
{
    size_t n;
    char **files = list_yaml(BAD_DIR, &n);
    int failures = 0;

    ck_assert_uint_ge(n, 15);
    for (char **p = files; *p != NULL; p++) {
        char expected_path[512];
        struct diag d;
        struct cfg *c;
        char *got, *want;

        snprintf(expected_path, sizeof(expected_path), "%.*s.expected",
                 (int)(strlen(*p) - 5), *p);
        want = read_text(expected_path);
        diag_init(&d);
        c = cfg_load(*p, &d);
        got = format_all(&d);
        if (c != NULL || !diag_has_errors(&d)) {
            fprintf(stderr, "%s: loaded, but must fail\n", *p);
            failures++;
        } else if (want == NULL) {
            fprintf(stderr, "%s: missing; the diagnostics were:\n%s",
                    expected_path, got);
            failures++;
        } else if (strcmp(got, want) != 0) {
            fprintf(stderr,
                    "%s: diagnostics differ\n--- expected\n%s"
                    "--- got\n%s",
                    *p, want, got);
            failures++;
        }
        cfg_put(c);
        free(got);
        free(want);
        diag_free(&d);
    }
    free_list(files);
    ck_assert_int_eq(failures, 0);
}
END_TEST

START_TEST(test_shipped_example)
{
    struct cfg *c = load_ok("conf/myshard.yaml");

    ck_assert_int_ge(c->nshards, 2);
    ck_assert_int_ge(c->npolicies, 1);
    /* runs as shipped: no certificate files to find */
    ck_assert(!c->tls.enabled && !c->backend.tls.enabled);
    cfg_put(c);
}
END_TEST

/* --- values ------------------------------------------------------------ */

START_TEST(test_product_example)
{
    struct cfg *c = load_ok(GOOD_DIR "/product_example.yaml");
    const struct cfg_rule *r;
    const struct cfg_schema *s;
    const struct cfg_table *t;
    const struct cfg_user *u;
    int i;

    ck_assert_str_eq(c->listen.host, "0.0.0.0");
    ck_assert_uint_eq(c->listen.port, 6033);
    ck_assert_int_eq(c->workers, (int)sysconf(_SC_NPROCESSORS_ONLN));
    ck_assert_str_eq(c->zone, "dc1");
    ck_assert_int_eq(c->shutdown_timeout_ms, 10000);
    ck_assert_int_eq(c->max_client_connections, 20000);
    ck_assert_uint_eq(c->admin.http.port, 6080);
    ck_assert_str_eq(c->admin.password, "not-the-example");
    ck_assert(c->tls.enabled && !c->tls.require);
    ck_assert_str_eq(c->tls.key, "conf/server.key");

    ck_assert_str_eq(c->backend.user, "myshard");
    ck_assert_int_eq(c->backend.query_timeout_ms, 30000);
    ck_assert_int_eq(c->backend.pool.wait_timeout_ms, 2000);
    ck_assert(c->backend.pool.noncore_share == 0.5);
    ck_assert_int_eq(c->backend.health.circuit_failures, 5);
    ck_assert_int_eq(c->backend.health.circuit_open_for_ms, 10000);

    ck_assert_int_eq(c->nshards, 2);
    ck_assert_str_eq(c->shards[1].name, "s1");
    ck_assert_int_eq(c->shards[1].nreplicas, 1);
    ck_assert_uint_eq(c->shards[1].replicas[0].addr.port, 3317);
    ck_assert_str_eq(c->shards[1].replicas[0].zone, "dc2");
    ck_assert_int_eq(c->shards[0].mark.line, 51);

    /* 1024 slots over 2 shards: 0-511 -> s0, 512-1023 -> s1 */
    ck_assert_int_eq(c->nrules, 3);
    r = &c->rules[0];
    ck_assert_str_eq(r->name, "user_hash");
    ck_assert_int_eq(r->type, RULE_HASH);
    ck_assert_uint_eq(r->slots, 1024);
    ck_assert(!r->has_slot_map);
    ck_assert_int_eq(r->slot_owner[0], 0);
    ck_assert_int_eq(r->slot_owner[511], 0);
    ck_assert_int_eq(r->slot_owner[512], 1);
    ck_assert_int_eq(r->slot_owner[1023], 1);
    ck_assert_int_eq(c->rules[1].type, RULE_MOD);
    ck_assert_int_eq(c->rules[1].nshards, 2);
    ck_assert_ptr_null(c->rules[1].slot_owner);
    r = &c->rules[2];
    ck_assert_int_eq(r->type, RULE_RANGE);
    ck_assert_int_eq(r->nranges, 2);
    ck_assert(!r->ranges[0].from.set && r->ranges[0].to.set);
    ck_assert(!r->ranges[0].to.is_string);
    ck_assert_int_eq(r->ranges[0].to.i, 1000000);
    ck_assert_int_eq(r->ranges[1].from.i, 1000000);
    ck_assert(!r->ranges[1].to.set);
    ck_assert_int_eq(r->nshards, 2); /* derived from the ranges */

    s = &c->schemas[0];
    ck_assert_str_eq(s->backend_schema, "shop");
    ck_assert_int_eq(s->default_shard, 0);
    ck_assert_int_eq(s->transactions, TXN_DENY);
    t = cfg_find_table(s, "audit_log", 9);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->key, "id");
    ck_assert_int_eq(t->rule, 2);
    t = cfg_find_table(s, "countries_x", 9); /* length-bounded name */
    ck_assert(t != NULL && t->global && t->rule == -1 && t->key == NULL);
    ck_assert_ptr_null(cfg_find_table(s, "nope", 4));

    i = cfg_find_user(c, "report");
    ck_assert_int_eq(i, 1);
    u = &c->users[i];
    ck_assert_int_eq(u->cls, CLASS_NONCORE);
    ck_assert(u->read_only && !u->has_hash);
    ck_assert_int_eq(u->rate_limit.algo, RL_SLIDING_WINDOW);
    ck_assert(u->rate_limit.rate == 200);
    ck_assert_int_eq(u->rate_limit.window_ms, 1000);
    u = &c->users[0];
    ck_assert_int_eq(u->rate_limit.algo, RL_TOKEN_BUCKET);
    ck_assert_int_eq(u->rate_limit.burst, 2000);
    ck_assert_int_eq(u->max_connections, 10000);
    ck_assert_int_eq(u->nschemas, 1);

    ck_assert_int_eq(c->npolicies, 3);
    ck_assert_int_eq(c->policies[0].cache_ttl_ms, 2000);
    ck_assert_str_eq(c->policies[1].deny, "audit rows are never deleted");
    ck_assert_int_eq(c->policies[2].route, ROUTE_REPLICA);
    ck_assert_str_eq(c->policies[2].user, "report");
    ck_assert_ptr_null(c->policies[2].match);

    ck_assert_int_eq(cfg_find_schema(c, "shopping", 4), 0);
    ck_assert_int_eq(cfg_find_schema(c, "SHOP", 4), -1);
    ck_assert_int_eq(cfg_find_shard(c, "s1"), 1);
    ck_assert_int_eq(cfg_find_shard(c, "s2"), -1);
    ck_assert_int_eq(cfg_find_user(c, "nobody"), -1);
    cfg_put(c);
}
END_TEST

START_TEST(test_defaults)
{
    struct cfg *c = load_ok(GOOD_DIR "/minimal.yaml");
    const struct cfg_user *u = &c->users[0];

    ck_assert_str_eq(c->listen.text, "0.0.0.0:6033");
    ck_assert_int_ge(c->workers, 1);
    ck_assert_ptr_null(c->zone);
    ck_assert_int_eq(c->shutdown_timeout_ms, 10000);
    ck_assert_int_eq(c->max_client_connections, 20000);
    ck_assert_int_eq(c->max_allowed_packet, 64 << 20);
    ck_assert_int_eq(c->handshake_timeout_ms, 10000);
    ck_assert_int_eq(c->client_idle_timeout_ms, 8 * 3600 * 1000);
    ck_assert_int_eq(c->slow_query_ms, 1000);
    ck_assert_int_eq(c->log_format, LOG_FORMAT_TEXT);
    ck_assert_str_eq(c->admin.listen.text, "127.0.0.1:6032");
    ck_assert_str_eq(c->admin.http.host, "127.0.0.1");
    ck_assert_str_eq(c->admin.user, "admin");
    ck_assert(!c->tls.enabled);
    ck_assert_ptr_null(c->tls.cert);
    ck_assert_str_eq(c->backend.password, "");
    ck_assert(!c->backend.tls.enabled && c->backend.tls.verify);
    ck_assert_ptr_null(c->backend.tls.ca);
    ck_assert_int_eq(c->backend.connect_timeout_ms, 1000);
    ck_assert_int_eq(c->backend.query_timeout_ms, 30000);
    ck_assert_int_eq(c->backend.pool.max_connections, 200);
    ck_assert(c->backend.pool.noncore_share == 0.5);
    ck_assert_int_eq(c->backend.pool.min_idle, 4);
    ck_assert_int_eq(c->backend.pool.idle_timeout_ms, 60000);
    ck_assert_int_eq(c->backend.pool.wait_timeout_ms, 2000);
    ck_assert_int_eq(c->backend.health.interval_ms, 1000);
    ck_assert_int_eq(c->backend.health.max_replica_lag_ms, 5000);
    ck_assert_int_eq(c->backend.health.circuit_failures, 5);
    ck_assert_int_eq(c->backend.health.circuit_open_for_ms, 10000);
    ck_assert_int_eq(c->reshard.max_pause_ms, 2000);
    ck_assert_int_eq(c->reshard.copy_rate, 20000);
    ck_assert_str_eq(c->reshard.state, "myshard-placement.yaml");
    ck_assert_int_eq(c->shards[0].nreplicas, 0);
    ck_assert_int_eq(c->nrules, 0);
    ck_assert_int_eq(c->npolicies, 0);
    ck_assert_str_eq(c->schemas[0].backend_schema, "app");
    ck_assert_int_eq(c->schemas[0].default_shard, 0);
    ck_assert_int_eq(c->schemas[0].ntables, 0);

    ck_assert_str_eq(u->password, "app");
    ck_assert_int_eq(u->max_connections, 0);
    ck_assert_int_eq(u->cls, CLASS_CORE);
    ck_assert(!u->read_only);
    ck_assert_int_eq(u->rate_limit.algo, RL_NONE);
    /* no schemas listed: every schema, the first is the default */
    ck_assert_int_eq(u->nschemas, 1);
    ck_assert_str_eq(u->schemas[0], "app");
    cfg_put(c);
}
END_TEST

START_TEST(test_all_keys)
{
    struct cfg *c = load_ok(GOOD_DIR "/all_keys.yaml");
    const struct cfg_user *u;
    static const uint8_t hash[20] = {
        0x6b, 0xb4, 0x83, 0x7e, 0xb7, 0x43, 0x29, 0x10, 0x5e, 0xe4,
        0x56, 0x8d, 0xda, 0x7d, 0xc6, 0x7e, 0xd2, 0xca, 0x2a, 0xd9,
    };

    ck_assert_str_eq(c->listen.host, "::1");
    ck_assert_uint_eq(c->listen.port, 7033);
    ck_assert_int_eq(c->workers, 3);
    ck_assert_int_eq(c->max_allowed_packet, 16 << 20);
    ck_assert_int_eq(c->handshake_timeout_ms, 500);
    ck_assert_int_eq(c->client_idle_timeout_ms, 2 * 3600 * 1000);
    ck_assert_int_eq(c->slow_query_ms, 250);
    ck_assert_int_eq(c->log_format, LOG_FORMAT_JSON);
    ck_assert_str_eq(c->admin.user, "root");
    ck_assert_str_eq(c->cluster.redis.host, "::1");
    ck_assert_uint_eq(c->cluster.redis.port, 6380);
    ck_assert_str_eq(c->cluster.name, "proxy-b");
    ck_assert_int_eq(c->reshard.max_pause_ms, 500);
    ck_assert_int_eq(c->reshard.copy_rate, 5000);
    ck_assert_str_eq(c->reshard.state, "/nonexistent/myshard/placement.yaml");
    ck_assert(c->tls.enabled && c->tls.require);
    ck_assert_str_eq(c->backend.password, "p@ss: word");
    ck_assert(c->backend.tls.enabled && !c->backend.tls.verify);
    ck_assert_str_eq(c->backend.tls.ca, "/etc/myshard/db-ca.pem");
    ck_assert_int_eq(c->tls.min_version, TLS_V13);
    ck_assert_str_eq(c->tls.ca, "/etc/myshard/clients-ca.pem");
    ck_assert_int_eq(c->backend.query_timeout_ms, 0);
    ck_assert(c->backend.pool.noncore_share == 0.25);
    ck_assert_int_eq(c->backend.pool.idle_timeout_ms, 300000);
    ck_assert_int_eq(c->backend.health.max_replica_lag_ms, 10000);
    ck_assert_int_eq(c->backend.health.circuit_open_for_ms, 60000);
    ck_assert_int_eq(c->shards[0].replicas[0].weight, 3);
    ck_assert_int_eq(c->shards[0].replicas[1].weight, 0);
    ck_assert_ptr_null(c->shards[0].replicas[1].zone);
    ck_assert_int_eq(c->shards[1].nreplicas, 0);
    ck_assert_str_eq(c->schemas[0].backend_schema, "crm_prod");
    ck_assert_int_eq(c->schemas[0].default_shard, 1);
    ck_assert_int_eq(c->schemas[0].transactions, TXN_BEST_EFFORT);
    ck_assert_int_eq(c->schemas[1].default_shard, 0);

    /* hash over [west, east]: shard numbers follow the rule's list */
    ck_assert_int_eq(c->rules[1].slot_owner[0], 1);
    ck_assert_int_eq(c->rules[1].slot_owner[7], 0);

    u = &c->users[0];
    ck_assert_int_eq(u->rate_limit.algo, RL_LEAKY_BUCKET);
    ck_assert_int_eq(u->rate_limit.max_wait_ms, 250);
    ck_assert_int_eq(u->nschemas, 2);
    ck_assert(u->require_tls);
    u = &c->users[1];
    ck_assert(u->has_hash);
    ck_assert_ptr_null(u->password);
    ck_assert_mem_eq(u->hash, hash, 20);
    ck_assert_int_eq(u->rate_limit.algo, RL_FIXED_WINDOW);
    ck_assert_int_eq(u->rate_limit.window_ms, 60000);
    u = &c->users[2];
    ck_assert_str_eq(u->password, "");
    ck_assert_int_eq(u->rate_limit.algo, RL_TOKEN_BUCKET);
    ck_assert(u->rate_limit.rate == 2.5);
    ck_assert_int_eq(u->rate_limit.burst, 3); /* default = rate, rounded up */

    ck_assert(c->policies[0].re_ok);
    ck_assert_int_eq(
        regexec(&c->policies[0].re, "select a from plans", 0, NULL, 0), 0);
    ck_assert_int_eq(c->policies[0].cache_ttl_ms, 500);
    ck_assert_int_eq(c->policies[1].route, ROUTE_PRIMARY);
    ck_assert_int_eq(c->policies[1].rate_limit.burst, 20);
    cfg_put(c);
}
END_TEST

START_TEST(test_ranges_sorted)
{
    struct cfg *c = load_ok(GOOD_DIR "/range_strings.yaml");
    const struct cfg_rule *r = &c->rules[0];

    /* listed new, old, mid: sorted by 'from', unbounded first */
    ck_assert_int_eq(r->nranges, 3);
    ck_assert_str_eq(c->shards[r->ranges[0].shard].name, "old");
    ck_assert(!r->ranges[0].from.set);
    ck_assert(r->ranges[0].to.is_string); /* plain 2025-01-01 */
    ck_assert_str_eq(r->ranges[0].to.s, "2025-01-01");
    ck_assert_str_eq(c->shards[r->ranges[1].shard].name, "mid");
    ck_assert_str_eq(r->ranges[1].to.s, "2026-01-01");
    ck_assert_str_eq(c->shards[r->ranges[2].shard].name, "new");
    ck_assert_int_eq(r->nshards, 3);
    ck_assert_int_eq(r->shards[0], 0);

    r = &c->rules[1]; /* quoted digits are strings */
    ck_assert(r->ranges[0].from.is_string);
    ck_assert_str_eq(r->ranges[0].from.s, "0000");
    r = &c->rules[2];
    ck_assert(!r->ranges[0].from.is_string);
    ck_assert_int_eq(r->ranges[0].from.i, -100);
    ck_assert_int_eq(c->schemas[0].transactions, TXN_XA);
    ck_assert_int_eq(c->schemas[0].default_shard, 1);
    cfg_put(c);
}
END_TEST

START_TEST(test_slot_map)
{
    struct cfg *c = load_ok(GOOD_DIR "/slot_map.yaml");
    const struct cfg_rule *r = &c->rules[0];

    ck_assert(r->has_slot_map);
    ck_assert_int_eq(r->slot_owner[0], 0);
    ck_assert_int_eq(r->slot_owner[255], 0);
    ck_assert_int_eq(r->slot_owner[256], 1);
    ck_assert_int_eq(r->slot_owner[767], 1);
    ck_assert_int_eq(r->slot_owner[768], 0);
    ck_assert_int_eq(r->slot_owner[1023], 0);

    /* 10 slots over 3 shards: floor(s * 3 / 10) */
    r = &c->rules[1];
    ck_assert_int_eq(r->slot_owner[3], 0);
    ck_assert_int_eq(r->slot_owner[4], 1);
    ck_assert_int_eq(r->slot_owner[6], 1);
    ck_assert_int_eq(r->slot_owner[7], 2);
    ck_assert_int_eq(r->slot_owner[9], 2);

    r = &c->rules[2];
    ck_assert_int_eq(r->slot_owner[0], 2);
    ck_assert_int_eq(r->slot_owner[3], 0);
    ck_assert_int_eq(r->slot_owner[5], 1);
    cfg_put(c);
}
END_TEST

START_TEST(test_summary)
{
    struct cfg *c = load_ok(GOOD_DIR "/product_example.yaml");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cfg_print_summary(c, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "listen 0.0.0.0:6033"));
    ck_assert_ptr_nonnull(strstr(text, "  s0: primary 127.0.0.1:3306\n"));
    ck_assert_ptr_nonnull(strstr(text, "replica 127.0.0.1:3316 weight 1"));
    ck_assert_ptr_nonnull(strstr(text, "user_hash: hash over s0, s1, 1024"));
    ck_assert_ptr_nonnull(strstr(text, "      s0: 0-511\n"));
    ck_assert_ptr_nonnull(strstr(text, "      s1: 512-1023\n"));
    ck_assert_ptr_nonnull(strstr(text, "      s0: [-inf, 1000000)\n"));
    ck_assert_ptr_nonnull(strstr(text, "orders: key user_id, rule user_hash"));
    ck_assert_ptr_nonnull(strstr(text, "countries: global"));
    ck_assert_ptr_nonnull(strstr(text, "report: schemas shop, class noncore"));
    ck_assert_ptr_nonnull(strstr(text, "sliding_window 200 per 1s"));
    ck_assert_ptr_nonnull(strstr(text, "user report -> route replica"));
    ck_assert_ptr_null(strstr(text, "secret")); /* no passwords */
    free(text);
    cfg_put(c);
}
END_TEST

/* --- YAML corner cases ------------------------------------------------- */

static const char base_yaml[] =
    "backend: { user: u }\n"
    "shards: [{ name: s0, primary: 127.0.0.1:3306 }]\n"
    "schemas: [{ name: db }]\n"
    "users: [{ name: u }]\n";

START_TEST(test_load_string)
{
    struct diag d;
    struct cfg *c = load_str(base_yaml, &d);

    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->path, "t.yaml");
    ck_assert_uint_eq(d.n, 0);
    cfg_put(c);
    diag_free(&d);
}
END_TEST

START_TEST(test_aliases)
{
    struct diag d;
    struct cfg *c =
        load_str("backend: { user: u }\n"
                 "shards:\n"
                 "  - { name: s0, primary: 127.0.0.1:3306, replicas: &r [] }\n"
                 "  - { name: s1, primary: 127.0.0.1:3307, replicas: *r }\n"
                 "schemas: [{ name: db }]\n"
                 "users:\n"
                 "  - &u { name: a, rate_limit: &rl { rate: 5 } }\n"
                 "  - { name: b, rate_limit: *rl }\n",
                 &d);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->users[1].rate_limit.rate, 5);
    cfg_put(c);
    diag_free(&d);
}
END_TEST

START_TEST(test_alias_bomb)
{
    struct diag d;
    char line[2048];
    struct cfg *c = load_str("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                             "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                             "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                             "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                             "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                             &d);

    ck_assert_ptr_null(c);
    ck_assert_uint_eq(d.n, 1);
    diag_format(&d, 0, line, sizeof(line));
    ck_assert_msg(strstr(line, "YAML document is too large") != NULL, "%s",
                  line);
    diag_free(&d);
}
END_TEST

START_TEST(test_two_documents)
{
    struct diag d;
    char line[2048];
    struct cfg *c = load_str("listen: 0.0.0.0:1\n---\nlisten: 0.0.0.0:2\n", &d);

    ck_assert_ptr_null(c);
    diag_format(&d, 0, line, sizeof(line));
    ck_assert_str_eq(line, "t.yaml:2:1: error: only one YAML document is "
                           "allowed in a config file");
    diag_free(&d);
}
END_TEST

START_TEST(test_missing_file)
{
    struct diag d;
    char line[2048];
    struct cfg *c;

    diag_init(&d);
    c = cfg_load("tests/data/cfg/no-such-file.yaml", &d);
    ck_assert_ptr_null(c);
    diag_format(&d, 0, line, sizeof(line));
    ck_assert_str_eq(line, "tests/data/cfg/no-such-file.yaml: error: cannot "
                           "open config: No such file or directory");
    diag_free(&d);
}
END_TEST

/* Errors already in the list belong to the caller: a clean load still
 * succeeds, and new items are appended after the old ones. */
START_TEST(test_shared_diag)
{
    struct diag d;
    struct cfg *c;

    diag_init(&d);
    diag_add(&d, DIAG_ERROR, "earlier", 1, 1, NULL, "earlier problem");
    c = cfg_load_string("t.yaml", base_yaml, &d);
    ck_assert_ptr_nonnull(c);
    cfg_put(c);
    c = cfg_load_string("t.yaml", "listn: x\n", &d);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(d.items[0].file, "earlier");
    ck_assert_str_eq(d.items[1].message, "unknown key 'listn'");
    ck_assert_str_eq(d.items[1].hint, "did you mean 'listen'?");
    diag_free(&d);
}
END_TEST

START_TEST(test_refcount)
{
    struct diag d;
    struct cfg *c = load_str(base_yaml, &d);

    ck_assert_int_eq(c->refs, 1);
    ck_assert_ptr_eq(cfg_get(c), c);
    ck_assert_int_eq(c->refs, 2);
    cfg_put(c);
    ck_assert_int_eq(c->refs, 1);
    cfg_put(c); /* frees; ASan reports any leak or double free */
    cfg_put(NULL);
    diag_free(&d);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("cfg");
    TCase *files = tcase_create("files");
    TCase *values = tcase_create("values");
    TCase *yaml = tcase_create("yaml");
    SRunner *sr;
    int failed;

    tcase_add_test(files, test_good_files);
    tcase_add_test(files, test_bad_files);
    tcase_add_test(files, test_shipped_example);
    tcase_add_test(values, test_product_example);
    tcase_add_test(values, test_defaults);
    tcase_add_test(values, test_all_keys);
    tcase_add_test(values, test_ranges_sorted);
    tcase_add_test(values, test_slot_map);
    tcase_add_test(values, test_summary);
    tcase_add_test(yaml, test_load_string);
    tcase_add_test(yaml, test_aliases);
    tcase_add_test(yaml, test_alias_bomb);
    tcase_add_test(yaml, test_two_documents);
    tcase_add_test(yaml, test_missing_file);
    tcase_add_test(yaml, test_shared_diag);
    tcase_add_test(yaml, test_refcount);
    suite_add_tcase(s, files);
    suite_add_tcase(s, values);
    suite_add_tcase(s, yaml);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
