/*
 * test_throttle.c - the failed-login table (session/throttle.c) and the
 * caching_sha2_password digest cache (session/sha2cache.c): the free
 * failures, the doubling delay and its cap, the window, addresses kept
 * apart, a table that stays bounded under many addresses; digests keyed by
 * user and password hash, replaced and forgotten.
 */
#include "session/sha2cache.h"
#include "session/throttle.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct throttle_rule rule = {
    .free_failures = 3, .window_ms = 60000, .max_delay_ms = 2000};

START_TEST(test_delays_grow_to_the_cap)
{
    struct throttle *t = throttle_new();
    static const int64_t want[] = {0, 0, 0, 250, 500, 1000, 2000, 2000, 2000};

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_int_eq(throttle_fail(t, "10.0.0.1", 1000 + (int64_t)i, &rule),
                         want[i]);
    ck_assert_int_eq(throttle_failures(t, "10.0.0.1", 2000, &rule), 9);
    /* another address starts afresh */
    ck_assert_int_eq(throttle_fail(t, "10.0.0.2", 2000, &rule), 0);
    ck_assert_int_eq(throttle_failures(t, "10.0.0.9", 2000, &rule), 0);
    throttle_free(t);
}
END_TEST

START_TEST(test_window_forgets)
{
    struct throttle *t = throttle_new();
    int64_t now = 5000;

    for (int i = 0; i < 5; i++)
        throttle_fail(t, "::1", now, &rule);
    ck_assert_int_eq(throttle_fail(t, "::1", now + 60000, &rule), 1000);
    /* past the window after the last failure: free again */
    ck_assert_int_eq(throttle_fail(t, "::1", now + 120001, &rule), 0);
    ck_assert_int_eq(throttle_failures(t, "::1", now + 120001, &rule), 1);
    ck_assert_int_eq(throttle_failures(t, "::1", now + 200000, &rule), 0);
    throttle_free(t);
}
END_TEST

START_TEST(test_off_and_zero_free)
{
    struct throttle *t = throttle_new();
    struct throttle_rule off = rule, strict = rule;

    off.max_delay_ms = 0;
    strict.free_failures = 0;
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(throttle_fail(t, "a", 1, &off), 0);
    ck_assert_int_eq(throttle_fail(t, "b", 1, &strict), 250);
    throttle_free(t);
}
END_TEST

/* Far more addresses than slots: memory stays fixed, the newest address
 * is still counted, and most of the old ones were forgotten. */
START_TEST(test_bounded)
{
    struct throttle *t = throttle_new();
    char addr[64];
    int kept = 0, n = THROTTLE_SETS * THROTTLE_WAYS * 4;

    for (int i = 0; i < n; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        throttle_fail(t, addr, 1000 + i, &rule);
    }
    ck_assert_int_eq(throttle_failures(t, addr, 1000 + n, &rule), 1);
    for (int i = 0; i < n; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        kept += throttle_failures(t, addr, 1000 + n, &rule) > 0;
    }
    ck_assert_int_le(kept, THROTTLE_SETS * THROTTLE_WAYS);
    ck_assert_int_gt(kept, THROTTLE_SETS * THROTTLE_WAYS / 2);
    /* an address longer than any IP is cut, not overflowed */
    memset(addr, 'x', sizeof(addr) - 1);
    addr[sizeof(addr) - 1] = '\0';
    ck_assert_int_eq(throttle_fail(t, addr, 1, &rule), 0);
    throttle_free(t);
}
END_TEST

START_TEST(test_sha2cache)
{
    uint8_t h1[20], h2[20], d1[32], d2[32], got[32];

    memset(h1, 1, sizeof(h1));
    memset(h2, 2, sizeof(h2));
    memset(d1, 0xd1, sizeof(d1));
    memset(d2, 0xd2, sizeof(d2));
    sha2cache_clear();
    ck_assert(!sha2cache_lookup("app2", h1, got));
    sha2cache_store("app2", h1, d1);
    ck_assert(sha2cache_lookup("app2", h1, got));
    ck_assert(memcmp(got, d1, 32) == 0);
    /* another password hash (a reload changed it) misses */
    ck_assert(!sha2cache_lookup("app2", h2, got));
    ck_assert(!sha2cache_lookup("app3", h1, got));
    /* the new password's digest replaces the old one */
    sha2cache_store("app2", h2, d2);
    ck_assert_int_eq(sha2cache_count(), 1);
    ck_assert(!sha2cache_lookup("app2", h1, got));
    ck_assert(sha2cache_lookup("app2", h2, got));
    ck_assert(memcmp(got, d2, 32) == 0);
    /* bounded: the oldest user goes */
    for (int i = 0; i < SHA2CACHE_MAX + 10; i++) {
        char name[32];
        snprintf(name, sizeof(name), "u%d", i);
        sha2cache_store(name, h1, d1);
    }
    ck_assert_int_eq(sha2cache_count(), SHA2CACHE_MAX);
    ck_assert(!sha2cache_lookup("app2", h2, got));
    ck_assert(sha2cache_lookup("u4100", h1, got));
    sha2cache_clear();
    ck_assert_int_eq(sha2cache_count(), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("throttle");
    TCase *tc = tcase_create("throttle");
    TCase *tcache = tcase_create("sha2cache");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_delays_grow_to_the_cap);
    tcase_add_test(tc, test_window_forgets);
    tcase_add_test(tc, test_off_and_zero_free);
    tcase_add_test(tc, test_bounded);
    suite_add_tcase(s, tc);
    tcase_add_test(tcache, test_sha2cache);
    suite_add_tcase(s, tcache);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
