/*
 * test_cfg_diff.c - what a reload would change (cfg_diff,
 * cfg_restart_needed) and how the new generation keeps the running values
 * of the keys that need a restart (cfg_keep_restart_keys). Each case loads
 * a base config and a variant of it with one edit, and compares them.
 */
#include "cfg/cfg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char base_yaml[] =
    "listen: 127.0.0.1:6033\n"
    "workers: 2\n"
    "slow_query_time: 1s\n"
    "admin:\n"
    "  listen: 127.0.0.1:6032\n"
    "  http: 127.0.0.1:6080\n"
    "  password: console-pw\n"
    "backend:\n"
    "  user: myshard\n"
    "  password: secret\n"
    "  pool: { max_connections: 200 }\n"
    "  health:\n"
    "    circuit: { failures: 5 }\n"
    "shards:\n"
    "  - name: s0\n"
    "    primary: 127.0.0.1:3306\n"
    "    replicas:\n"
    "      - { addr: 127.0.0.1:3316, weight: 1, zone: dc1 }\n"
    "  - name: s1\n"
    "    primary: 127.0.0.1:3307\n"
    "sharding_rules:\n"
    "  user_hash: { type: hash, shards: [s0, s1], slots: 16 }\n"
    "schemas:\n"
    "  - name: shop\n"
    "    tables:\n"
    "      - { name: orders, key: user_id, rule: user_hash }\n"
    "users:\n"
    "  - name: app\n"
    "    password: app\n"
    "    schemas: [shop]\n"
    "  - name: report\n"
    "    password_hash: \"*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9\"\n";

static struct cfg *
load(const char *text)
{
    struct diag d;
    struct cfg *c;

    diag_init(&d);
    c = cfg_load_string("t.yaml", text, &d);
    if (c == NULL) {
        char line[512];
        diag_format(&d, 0, line, sizeof(line));
        ck_abort_msg("the config did not load: %s\n%s", line, text);
    }
    diag_free(&d);
    return c;
}

/* base_yaml with every `from` replaced by `to`. */
static struct cfg *
load_edit(const char *from, const char *to)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    const char *p = base_yaml, *at;
    struct cfg *c;

    ck_assert_msg(strstr(base_yaml, from) != NULL,
                  "'%s' is not in the base config", from);
    while ((at = strstr(p, from)) != NULL) {
        fprintf(out, "%.*s%s", (int)(at - p), p, to);
        p = at + strlen(from);
    }
    fputs(p, out);
    fclose(out);
    c = load(text);
    free(text);
    return c;
}

static int
items(const char *list)
{
    int n = list[0] != '\0';

    for (; *list; list++)
        n += *list == ',';
    return n;
}

/* Diffs base against the edit and checks both lists. */
static void
expect(const char *from, const char *to, const char *live, const char *restart,
       bool shard_list)
{
    struct cfg *a = load(base_yaml), *b = load_edit(from, to);
    struct cfg_diff d;

    cfg_diff(a, b, &d);
    ck_assert_msg(strcmp(d.live, live) == 0 && strcmp(d.restart, restart) == 0,
                  "edit '%s' -> '%s': live '%s' restart '%s', expected '%s' "
                  "and '%s'",
                  from, to, d.live, d.restart, live, restart);
    ck_assert_int_eq(d.nlive, items(live));
    ck_assert_int_eq(d.nrestart, items(restart));
    ck_assert_int_eq(d.shard_list, shard_list);
    cfg_put(a);
    cfg_put(b);
}

START_TEST(test_same)
{
    struct cfg *a = load(base_yaml), *b = load(base_yaml);
    struct cfg_diff d;
    char buf[64] = "x";

    cfg_diff(a, b, &d);
    ck_assert_str_eq(d.live, "");
    ck_assert_str_eq(d.restart, "");
    ck_assert_int_eq(d.nlive, 0);
    ck_assert_int_eq(d.nrestart, 0);
    ck_assert(!d.shard_list);
    ck_assert_int_eq(cfg_restart_needed(a, b, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
    cfg_put(a);
    cfg_put(b);
}
END_TEST

START_TEST(test_live_keys)
{
    /* a user appended, a password changed, a hash changed */
    expect("  - name: report\n",
           "  - name: newbie\n    password: n\n  - name: report\n", "users", "",
           false);
    expect("    password: app\n", "    password: app2\n", "users", "", false);
    expect("*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
           "*81F5E21E35407D884A6CD4A731AEBFB6AF209E1B", "users", "", false);
    /* sections name the key inside them */
    expect("max_connections: 200", "max_connections: 50",
           "backend.pool.max_connections", "", false);
    expect("failures: 5", "failures: 7", "backend.health.circuit.failures", "",
           false);
    expect("  password: console-pw\n", "  password: other\n", "admin.password",
           "", false);
    expect("slow_query_time: 1s\n", "slow_query_time: 1s\nlog_format: json\n",
           "log_format", "", false);
    /* two at once, in the tables' order */
    expect("slow_query_time: 1s\n", "slow_query_time: 2s\nzone: dc2\n",
           "zone, slow_query_time", "", false);
    /* rules, tables */
    expect("slots: 16", "slots: 32", "sharding_rules", "", false);
    expect("shards: [s0, s1], slots: 16",
           "shards: [s0, s1], slots: 16, slot_map: { s0: \"0-3\", s1: "
           "\"4-15\" }",
           "sharding_rules", "", false);
    expect("{ name: orders, key: user_id", "{ name: orders, key: id", "schemas",
           "", false);
}
END_TEST

START_TEST(test_restart_keys)
{
    char buf[64];

    expect("listen: 127.0.0.1:6033", "listen: 127.0.0.1:7033", "", "listen",
           false);
    expect("workers: 2", "workers: 3", "", "workers", false);
    expect("  listen: 127.0.0.1:6032", "  listen: 127.0.0.1:7032", "",
           "admin.listen", false);
    expect("  http: 127.0.0.1:6080", "  http: 127.0.0.1:7080", "", "admin.http",
           false);
    expect("workers: 2\n", "workers: 2\nxa_log: /tmp/x.log\n", "", "xa_log",
           false);
    /* tls: live (each generation reads its certificates) */
    expect("workers: 2\n", "workers: 2\ntls: { cert: c.pem, key: k.pem }\n",
           "tls.cert, tls.key", "", false);
    /* the server set: an address, a weight, a replica less */
    expect("primary: 127.0.0.1:3307", "primary: 127.0.0.1:3308", "", "shards",
           false);
    expect("weight: 1, zone: dc1", "weight: 2, zone: dc1", "", "shards", false);
    expect("    replicas:\n      - { addr: 127.0.0.1:3316, weight: 1, zone: "
           "dc1 }\n",
           "", "", "shards", false);
    /* restart and live together */
    {
        struct cfg *a = load(base_yaml);
        struct cfg *b = load_edit("listen: 127.0.0.1:6033\nworkers: 2\n",
                                  "listen: 127.0.0.1:7033\nworkers: 4\n"
                                  "max_client_connections: 10\n");
        struct cfg_diff d;

        cfg_diff(a, b, &d);
        ck_assert_str_eq(d.restart, "listen, workers");
        ck_assert_int_eq(d.nrestart, 2);
        ck_assert_str_eq(d.live, "max_client_connections");
        ck_assert_int_eq(cfg_restart_needed(a, b, buf, sizeof(buf)), 2);
        ck_assert_str_eq(buf, "listen, workers");
        cfg_put(a);
        cfg_put(b);
    }
}
END_TEST

START_TEST(test_shard_list)
{
    /* renamed, removed, reordered: rules name shards by position, nothing
     * can apply */
    expect("s1", "s9", "", "shards", true);
    {
        /* s2 removed: the running config has it, the file not */
        struct cfg *a = load_edit("sharding_rules:\n",
                                  "  - name: s2\n    primary: 127.0.0.1:3309\n"
                                  "sharding_rules:\n");
        struct cfg *b = load(base_yaml);
        struct cfg_diff d;

        cfg_diff(a, b, &d);
        ck_assert(d.shard_list);
        ck_assert_str_eq(d.restart, "shards");
        ck_assert_int_eq(d.shards_added, 0);
        cfg_put(a);
        cfg_put(b);
    }
    {
        struct cfg *a = load(base_yaml);
        struct cfg *b = load_edit(
            "  - name: s0\n    primary: 127.0.0.1:3306\n    replicas:\n"
            "      - { addr: 127.0.0.1:3316, weight: 1, zone: dc1 }\n"
            "  - name: s1\n    primary: 127.0.0.1:3307\n",
            "  - name: s1\n    primary: 127.0.0.1:3307\n"
            "  - name: s0\n    primary: 127.0.0.1:3306\n    replicas:\n"
            "      - { addr: 127.0.0.1:3316, weight: 1, zone: dc1 }\n");
        struct cfg_diff d;

        cfg_diff(a, b, &d);
        ck_assert(d.shard_list);
        ck_assert_int_eq(d.shards_added, 0);
        cfg_put(a);
        cfg_put(b);
    }
}
END_TEST

/* Appending shards at the end is live; with an existing shard's servers
 * changed too, that part needs a restart. */
START_TEST(test_shards_appended)
{
    struct cfg *a = load(base_yaml), *b;
    struct cfg_diff d;

    expect("sharding_rules:\n",
           "  - name: s2\n    primary: 127.0.0.1:3309\nsharding_rules:\n",
           "shards (s2 added)", "", false);
    b = load_edit("sharding_rules:\n",
                  "  - name: s2\n    primary: 127.0.0.1:3309\n"
                  "  - name: s3\n    primary: 127.0.0.1:3310\n"
                  "sharding_rules:\n");
    cfg_diff(a, b, &d);
    ck_assert_str_eq(d.live, "shards (s2 s3 added)");
    ck_assert_int_eq(d.shards_added, 2);
    ck_assert(!d.shard_list);
    cfg_put(b);
    expect("    primary: 127.0.0.1:3307\nsharding_rules:\n",
           "    primary: 127.0.0.1:3308\n  - name: s2\n"
           "    primary: 127.0.0.1:3309\nsharding_rules:\n",
           "shards (s2 added)", "shards", false);
    /* the running s1 is kept, the appended s2 stays */
    b = load_edit("    primary: 127.0.0.1:3307\nsharding_rules:\n",
                  "    primary: 127.0.0.1:3308\n  - name: s2\n"
                  "    primary: 127.0.0.1:3309\nsharding_rules:\n");
    cfg_keep_restart_keys(b, a);
    ck_assert_int_eq(b->nshards, 3);
    ck_assert_int_eq(b->shards[1].primary.port, 3307);
    ck_assert_str_eq(b->shards[1].primary.text, "127.0.0.1:3307");
    ck_assert_str_eq(b->shards[2].name, "s2");
    ck_assert_int_eq(b->shards[2].primary.port, 3309);
    ck_assert_str_eq(b->shards[0].replicas[0].zone, "dc1");
    ck_assert_ptr_ne(b->shards[0].replicas, a->shards[0].replicas);
    cfg_diff(a, b, &d);
    ck_assert_str_eq(d.restart, "");
    ck_assert_str_eq(d.live, "shards (s2 added)");
    cfg_put(a);
    cfg_put(b);
}
END_TEST

/* More shards than a plan can name are refused at load. */
START_TEST(test_too_many_shards)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct diag d;
    struct cfg *c;
    char line[512];

    fputs("backend: { user: u, password: p }\nshards:\n", out);
    for (int i = 0; i < CFG_MAX_SHARDS + 1; i++)
        fprintf(out, "  - { name: s%d, primary: 127.0.0.1:%d }\n", i,
                10000 + i);
    fputs("schemas: [{ name: shop }]\n"
          "users: [{ name: app, password: app, schemas: [shop] }]\n",
          out);
    fclose(out);
    diag_init(&d);
    c = cfg_load_string("t.yaml", text, &d);
    ck_assert_ptr_null(c);
    diag_format(&d, 0, line, sizeof(line));
    ck_assert_msg(strstr(line, "too many shards: 65, at most 64") != NULL, "%s",
                  line);
    diag_free(&d);
    free(text);
}
END_TEST

/* The new generation takes the running values of the restart keys and
 * keeps its own for the rest: afterwards only the live keys differ. */
START_TEST(test_keep_restart_keys)
{
    struct cfg *run = load(base_yaml);
    struct cfg *next =
        load_edit("listen: 127.0.0.1:6033\nworkers: 2\n",
                  "listen: 127.0.0.1:7033\nworkers: 5\nxa_log: /tmp/x.log\n"
                  "max_client_connections: 10\n");
    struct cfg *next2 =
        load_edit("      - { addr: 127.0.0.1:3316, weight: 1, zone: dc1 }\n",
                  "      - { addr: 127.0.0.1:3318, weight: 3, zone: dc9 }\n"
                  "      - { addr: 127.0.0.1:3319 }\n");
    struct cfg_diff d;

    cfg_keep_restart_keys(next, run);
    cfg_diff(run, next, &d);
    ck_assert_str_eq(d.restart, "");
    ck_assert_str_eq(d.live, "max_client_connections");
    ck_assert_str_eq(next->listen.text, "127.0.0.1:6033");
    ck_assert_str_eq(next->listen.host, "127.0.0.1");
    ck_assert_int_eq(next->listen.port, 6033);
    ck_assert_int_eq(next->workers, 2);
    ck_assert_str_eq(next->xa_log, run->xa_log);
    ck_assert_ptr_ne(next->xa_log, run->xa_log);
    ck_assert_int_eq(next->max_client_connections, 10);

    cfg_keep_restart_keys(next2, run);
    cfg_diff(run, next2, &d);
    ck_assert_str_eq(d.restart, "");
    ck_assert_str_eq(d.live, "");
    ck_assert_int_eq(next2->shards[0].nreplicas, 1);
    ck_assert_str_eq(next2->shards[0].replicas[0].addr.text, "127.0.0.1:3316");
    ck_assert_ptr_ne(next2->shards[0].replicas, run->shards[0].replicas);
    ck_assert_str_eq(next2->shards[0].replicas[0].zone, "dc1");
    ck_assert_int_eq(next2->shards[0].replicas[0].weight, 1);
    ck_assert_str_eq(next2->shards[1].name, "s1");
    ck_assert_int_eq(next2->rules[0].shards[1], 1);

    /* each frees its own copies: ASan reports a double free or a leak */
    cfg_put(run);
    cfg_put(next);
    cfg_put(next2);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("cfg_diff");
    TCase *tc = tcase_create("diff");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_same);
    tcase_add_test(tc, test_live_keys);
    tcase_add_test(tc, test_restart_keys);
    tcase_add_test(tc, test_shard_list);
    tcase_add_test(tc, test_shards_appended);
    tcase_add_test(tc, test_too_many_shards);
    tcase_add_test(tc, test_keep_restart_keys);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
