/*
 * test_health.c - picking a server for a plan target (states, zones,
 * weights, lag, retries' exclusion), the circuit breaker (opening, failing
 * fast, one probe among concurrent callers, closing) and the names the
 * console shows. No network: the server set is built by hand and the
 * monitor's verdicts are stored directly.
 */
#include "backend/health.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg_types.h"
#include "proto/mysql_defs.h"

#define NOW 100000

/* Shard 0: primary 0, replicas 1 (dc1, w1), 2 (dc2, w2), 3 (dc1, w3),
 * 4 (dc1, w0). Shard 1: primary 5, replica 6 (dc2, w1). */
static struct server srv[7];
static struct server_set set = {
    .v = srv, .n = 7, .cap = 7, .shard_primary = {0, 5}, .nshards = 2};
static struct cfg cfg;

static void
setup(void)
{
    static const struct {
        int shard, weight;
        bool primary;
        const char *zone;
    } t[] = {{0, 1, true, NULL},   {0, 1, false, "dc1"}, {0, 2, false, "dc2"},
             {0, 3, false, "dc1"}, {0, 0, false, "dc1"}, {1, 1, true, NULL},
             {1, 1, false, "dc2"}};
    static char addrs[7][16];

    memset(srv, 0, sizeof(srv));
    memset(&cfg, 0, sizeof(cfg));
    cfg.backend.health.interval_ms = 1000;
    cfg.backend.health.max_replica_lag_ms = 5000;
    cfg.backend.health.circuit_failures = 3;
    cfg.backend.health.circuit_open_for_ms = 1000;
    for (int i = 0; i < 7; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "10.0.0.%d:3306", i);
        srv[i].index = i;
        srv[i].addr = addrs[i];
        srv[i].shard = t[i].shard;
        srv[i].primary = t[i].primary;
        srv[i].weight = t[i].weight;
        srv[i].zone = (char *)t[i].zone;
        atomic_store(&srv[i].lag_ms, t[i].primary ? -1 : 0);
    }
}

static int
pick(int shard, bool read, const char *zone, uint32_t seed, int exclude)
{
    return health_pick(&set, &cfg, shard, read, zone, seed, exclude, NOW);
}

/* How often each server is picked over 10,000 seeds. */
static void
count(int shard, const char *zone, int exclude, int out[7])
{
    memset(out, 0, 7 * sizeof(int));
    for (uint32_t seed = 0; seed < 10000; seed++) {
        int i = pick(shard, true, zone, seed, exclude);
        ck_assert_int_ge(i, 0);
        out[i]++;
    }
}

static void
assert_near(int got, int want)
{
    ck_assert_msg(abs(got - want) <= 300, "got %d, want about %d", got, want);
}

START_TEST(test_names)
{
    ck_assert_str_eq(health_state_name(SRV_ONLINE), "online");
    ck_assert_str_eq(health_state_name(SRV_LAGGING), "lagging");
    ck_assert_str_eq(health_state_name(SRV_DOWN), "down");
    ck_assert_str_eq(health_state_name(SRV_CIRCUIT_OPEN), "circuit_open");
    ck_assert_str_eq(health_state_name(SRV_OFFLINE), "offline");
    ck_assert_str_eq(health_state_name(SRV_DRAINING), "draining");
    ck_assert_str_eq(health_state_name((enum server_state)42), "unknown");
}
END_TEST

START_TEST(test_pick_write)
{
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), 0);
    ck_assert_int_eq(pick(1, false, "dc2", 1, -1), 5);
    ck_assert_int_eq(pick(2, false, NULL, 1, -1), -1);
    ck_assert_int_eq(pick(-1, true, NULL, 1, -1), -1);
    ck_assert_int_eq(pick(0, false, NULL, 1, 0), -1); /* excluded */
    /* A lagging or read_only verdict does not stop writes; down does. */
    atomic_store(&srv[0].state, SRV_LAGGING);
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), 0);
    atomic_store(&srv[0].state, SRV_DOWN);
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), -1);
    ck_assert_int_eq(health_error_for(&srv[0]), ER_MYSHARD_NO_BACKEND);
    atomic_store(&srv[0].state, SRV_ONLINE);
    ck_assert(health_set_admin(&srv[0], SRV_OFFLINE));
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), -1);
    ck_assert(health_set_admin(&srv[0], SRV_DRAINING));
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), -1);
    ck_assert(health_set_admin(&srv[0], SRV_ONLINE));
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), 0);
    /* Circuit open: no primary, 9003; half-open: the primary again. */
    atomic_store(&srv[0].circuit_until_ms, NOW + 1);
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), -1);
    ck_assert_int_eq(health_error_for(&srv[0]), ER_MYSHARD_CIRCUIT_OPEN);
    atomic_store(&srv[0].circuit_until_ms, NOW);
    ck_assert_int_eq(pick(0, false, NULL, 1, -1), 0);
    /* Shard 1 is unaffected throughout. */
    ck_assert_int_eq(pick(1, false, NULL, 1, -1), 5);
}
END_TEST

START_TEST(test_pick_weights)
{
    int n[7];

    count(0, NULL, -1, n);
    ck_assert_int_eq(n[0] + n[4] + n[5] + n[6], 0); /* weight 0 never */
    assert_near(n[1], 10000 / 6);
    assert_near(n[2], 20000 / 6);
    assert_near(n[3], 30000 / 6);
    /* Same seed, same state, same answer. */
    ck_assert_int_eq(pick(0, true, NULL, 77, -1), pick(0, true, NULL, 77, -1));
    /* Only the shard's own replicas. */
    count(1, NULL, -1, n);
    ck_assert_int_eq(n[6], 10000);
}
END_TEST

START_TEST(test_pick_zone)
{
    int n[7];

    count(0, "dc1", -1, n); /* 1 (w1) and 3 (w3) */
    ck_assert_int_eq(n[2], 0);
    assert_near(n[1], 2500);
    assert_near(n[3], 7500);
    count(0, "dc2", -1, n);
    ck_assert_int_eq(n[2], 10000);
    count(0, "dc9", -1, n); /* nobody there: every zone */
    assert_near(n[2], 20000 / 6);
    /* The zone's replicas unusable: the other zone, not the primary. */
    atomic_store(&srv[2].state, SRV_DOWN);
    count(0, "dc2", -1, n);
    ck_assert_int_eq(n[2], 0);
    assert_near(n[1], 2500);
    assert_near(n[3], 7500);
    /* Shard 1's only replica is in dc2; a dc1 proxy still reads it. */
    ck_assert_int_eq(pick(1, true, "dc1", 3, -1), 6);
}
END_TEST

START_TEST(test_pick_states)
{
    int n[7];

    /* Lag: unknown and over the limit are out; at the limit is in. */
    atomic_store(&srv[1].lag_ms, -1);
    atomic_store(&srv[2].lag_ms, 5001);
    atomic_store(&srv[3].lag_ms, 5000);
    count(0, NULL, -1, n);
    ck_assert_int_eq(n[3], 10000);
    setup();
    atomic_store(&srv[1].state, SRV_LAGGING);
    atomic_store(&srv[2].circuit_until_ms, NOW + 500);
    health_set_admin(&srv[3], SRV_DRAINING);
    ck_assert_int_eq(pick(0, true, NULL, 5, -1), 0); /* fallback: primary */
    /* A half-open replica gets no reads either. */
    setup();
    atomic_store(&srv[1].circuit_until_ms, NOW - 1);
    health_set_admin(&srv[2], SRV_OFFLINE);
    count(0, NULL, -1, n);
    ck_assert_int_eq(n[3], 10000);
    /* Retry: the failed replica is excluded; then the primary. */
    ck_assert_int_eq(pick(0, true, NULL, 5, 3), 0);
    setup();
    count(0, NULL, 2, n);
    ck_assert_int_eq(n[2], 0);
    assert_near(n[1], 2500);
    assert_near(n[3], 7500);
    /* No usable replica and no primary: nothing. */
    atomic_store(&srv[6].state, SRV_DOWN);
    ck_assert_int_eq(pick(1, true, NULL, 5, -1), 5);
    ck_assert_int_eq(pick(1, true, NULL, 5, 5), -1);
    atomic_store(&srv[5].state, SRV_DOWN);
    ck_assert_int_eq(pick(1, true, NULL, 5, -1), -1);
}
END_TEST

START_TEST(test_circuit)
{
    struct server *s = &srv[0];
    const struct cfg_health *h = &cfg.backend.health;

    health_report(s, false, h, NOW);
    health_report(s, false, h, NOW);
    ck_assert_int_eq(health_admit(s, NOW), GATE_OPEN);
    health_report(s, true, h, NOW); /* resets the run */
    health_report(s, false, h, NOW);
    health_report(s, false, h, NOW);
    ck_assert_int_eq(health_admit(s, NOW), GATE_OPEN);
    health_report(s, false, h, NOW); /* third in a row: open */
    ck_assert_int_eq(health_state(s, NOW), SRV_CIRCUIT_OPEN);
    ck_assert_int_eq(health_error_for(s), ER_MYSHARD_CIRCUIT_OPEN);
    ck_assert_int_eq(atomic_load(&s->circuit_opens), 1);
    ck_assert_int_eq(health_admit(s, NOW), GATE_CLOSED);
    ck_assert_int_eq(health_admit(s, NOW + 999), GATE_CLOSED);
    /* A late success inside the open window does not close it. */
    health_report(s, true, h, NOW + 500);
    ck_assert_int_eq(health_admit(s, NOW + 999), GATE_CLOSED);
    /* open_for elapsed: one probe, the rest fail fast. */
    ck_assert_int_eq(health_admit(s, NOW + 1000), GATE_PROBE);
    ck_assert_int_eq(health_admit(s, NOW + 1000), GATE_CLOSED);
    ck_assert_int_eq(health_admit(s, NOW + 1500), GATE_CLOSED);
    /* The probe fails: open for another open_for. */
    health_report(s, false, h, NOW + 1500);
    ck_assert_int_eq(atomic_load(&s->circuit_opens), 2);
    ck_assert_int_eq(health_admit(s, NOW + 2499), GATE_CLOSED);
    ck_assert_int_eq(health_admit(s, NOW + 2500), GATE_PROBE);
    /* The probe never reports: after open_for the next caller probes. */
    ck_assert_int_eq(health_admit(s, NOW + 3499), GATE_CLOSED);
    ck_assert_int_eq(health_admit(s, NOW + 3500), GATE_PROBE);
    /* The probe succeeds: closed. */
    health_report(s, true, h, NOW + 3600);
    ck_assert_int_eq(health_admit(s, NOW + 3600), GATE_OPEN);
    ck_assert_int_eq(health_state(s, NOW + 3600), SRV_ONLINE);
    ck_assert_int_eq(health_error_for(s), ER_MYSHARD_NO_BACKEND);
    ck_assert_int_eq(atomic_load(&s->failures), 0);
    /* It takes a full run of failures to open it again. */
    health_report(s, false, h, NOW + 3700);
    health_report(s, false, h, NOW + 3700);
    ck_assert_int_eq(health_admit(s, NOW + 3700), GATE_OPEN);
}
END_TEST

#define NTHREADS 8

static pthread_barrier_t barrier;
static atomic_int probes, closed;

static void *
admitter(void *arg)
{
    struct server *s = arg;

    pthread_barrier_wait(&barrier);
    switch (health_admit(s, NOW)) {
    case GATE_PROBE:
        atomic_fetch_add(&probes, 1);
        break;
    case GATE_CLOSED:
        atomic_fetch_add(&closed, 1);
        break;
    case GATE_OPEN:
        break;
    }
    return NULL;
}

START_TEST(test_one_probe)
{
    struct server *s = &srv[0];
    pthread_t t[NTHREADS];

    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (int round = 0; round < 200; round++) {
        atomic_store(&s->circuit_open_for, 1000);
        atomic_store(&s->circuit_until_ms, NOW - 1); /* half-open */
        atomic_store(&s->probing, false);
        atomic_store(&probes, 0);
        atomic_store(&closed, 0);
        for (int i = 0; i < NTHREADS; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, admitter, s), 0);
        for (int i = 0; i < NTHREADS; i++)
            pthread_join(t[i], NULL);
        ck_assert_int_eq(atomic_load(&probes), 1);
        ck_assert_int_eq(atomic_load(&closed), NTHREADS - 1);
    }
    pthread_barrier_destroy(&barrier);
}
END_TEST

START_TEST(test_admin_and_snapshot)
{
    struct health_row rows[8];

    ck_assert(!health_set_admin(&srv[1], SRV_CIRCUIT_OPEN));
    ck_assert(!health_set_admin(&srv[1], SRV_DOWN));
    ck_assert(health_set_admin(&srv[1], SRV_OFFLINE));
    atomic_store(&srv[2].circuit_until_ms, NOW + 5);
    health_set_admin(&srv[2], SRV_DRAINING); /* operator wins */
    atomic_store(&srv[3].state, SRV_LAGGING);
    atomic_store(&srv[3].lag_ms, 7000);
    atomic_store(&srv[6].circuit_until_ms, NOW + 5);
    atomic_store(&srv[0].conns, 4);
    atomic_store(&srv[0].queries, 40);
    atomic_store(&srv[0].errors, 2);
    atomic_store(&srv[0].check_avg_us, 350);
    memset(rows, 0, sizeof(rows));
    health_snapshot(&set, rows, 8);
    ck_assert_str_eq(rows[0].addr, "10.0.0.0:3306");
    ck_assert_str_eq(rows[0].role, "primary");
    ck_assert_str_eq(rows[0].state, "online");
    ck_assert_str_eq(rows[0].zone, "");
    ck_assert_int_eq(rows[0].conns, 4);
    ck_assert_int_eq(rows[0].queries, 40);
    ck_assert_int_eq(rows[0].errors, 2);
    ck_assert_int_eq(rows[0].avg_latency_us, 350);
    ck_assert_int_eq(rows[0].lag_ms, -1);
    ck_assert_int_eq(rows[0].checked_ago_ms, -1);
    ck_assert_str_eq(rows[1].state, "offline");
    ck_assert_str_eq(rows[1].role, "replica");
    ck_assert_str_eq(rows[1].zone, "dc1");
    ck_assert_str_eq(rows[2].state, "draining");
    ck_assert_str_eq(rows[3].state, "lagging");
    ck_assert_int_eq(rows[3].lag_ms, 7000);
    ck_assert_int_eq(rows[3].weight, 3);
    ck_assert_str_eq(rows[6].state, "circuit_open");
    ck_assert_int_eq(rows[6].shard, 1);
    ck_assert_ptr_null(rows[7].addr); /* only set->n rows */
    /* A short array gets the first rows only. */
    memset(rows, 0, sizeof(rows));
    health_snapshot(&set, rows, 2);
    ck_assert_ptr_null(rows[2].addr);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("health");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_pick_write);
    tcase_add_test(tc, test_pick_weights);
    tcase_add_test(tc, test_pick_zone);
    tcase_add_test(tc, test_pick_states);
    tcase_add_test(tc, test_circuit);
    tcase_add_test(tc, test_one_probe);
    tcase_add_test(tc, test_admin_and_snapshot);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
