/*
 * test_qcache.c - the hot-key cache (session/qcache.c): an answer kept and
 * served byte for byte, keys kept apart, the TTL, entries dropped when a
 * write moves one of their tables' versions (named as the classifier names
 * them: case and backquotes do not matter, unqualified names take the
 * session's schema) or the epoch, an answer refused when a write landed
 * while its read ran, the memory cap evicting the least recently used, and
 * the hit, miss and eviction counters.
 */
#include "session/qcache.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/stats.h"
#include "sql/classify.h"

/* For answers of no table (qcache_put copies n of them). */
static const uint32_t no_slots[1];
static const uint64_t no_vers[1];

/* The version slots of sql's tables, the session in schema. */
static int
slots_of(const char *sql, const char *schema, uint32_t *slots)
{
    static struct stmt_info st; /* large: not on the stack */

    ck_assert_msg(sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st),
                  "classify %s", sql);
    return qcache_table_slots(&st, schema, slots, QCACHE_MAX_TABLES);
}

/* Keeps answer under key as a read of sql's tables, sent at now with the
 * versions of that moment. */
static void
put_read(struct qcache *c, const char *key, const char *answer, int64_t now,
         int64_t ttl, const char *sql, const char *schema)
{
    uint32_t slots[QCACHE_MAX_TABLES];
    uint64_t vers[QCACHE_MAX_TABLES];
    int n = slots_of(sql, schema, slots);
    uint64_t epoch = qcache_epoch();
    struct evbuffer *b = evbuffer_new();

    ck_assert_int_ge(n, 0);
    qcache_versions(slots, n, vers);
    evbuffer_add(b, answer, strlen(answer));
    qcache_put(c, key, strlen(key), b, now, ttl, slots, vers, n, epoch, 7);
    evbuffer_free(b);
}

/* The answer cached under key at now, or NULL. */
static const char *
get(struct qcache *c, const char *key, int64_t now)
{
    static char out[4096];
    const uint8_t *a;
    size_t len;
    int aux = -1;

    if (!qcache_get(c, key, strlen(key), now, &a, &len, &aux, true))
        return NULL;
    ck_assert_int_eq(aux, 7); /* what put_read kept with it */
    ck_assert_uint_lt(len, sizeof(out));
    memcpy(out, a, len);
    out[len] = '\0';
    return out;
}

/* A write of sql's tables finished. */
static void
write_done(const char *sql, const char *schema)
{
    uint32_t slots[QCACHE_MAX_TABLES];
    int n = slots_of(sql, schema, slots);

    ck_assert_int_gt(n, 0);
    qcache_bump(slots, n);
}

START_TEST(test_fill_and_hit)
{
    struct stats st = {0};
    struct qcache *c = qcache_new(1 << 20, &st);

    ck_assert_ptr_null(get(c, "app\1shop\1SELECT 1", 1000));
    put_read(c, "app\1shop\1SELECT * FROM t WHERE id=1", "answer-1", 1000, 5000,
             "SELECT * FROM t WHERE id=1", "shop");
    put_read(c, "app\1shop\1SELECT * FROM t WHERE id=2", "answer-2", 1000, 5000,
             "SELECT * FROM t WHERE id=2", "shop");
    ck_assert_str_eq(get(c, "app\1shop\1SELECT * FROM t WHERE id=1", 1001),
                     "answer-1");
    ck_assert_str_eq(get(c, "app\1shop\1SELECT * FROM t WHERE id=2", 1002),
                     "answer-2");
    /* another user's key with the same text is another entry */
    ck_assert_ptr_null(get(c, "bob\1shop\1SELECT * FROM t WHERE id=1", 1003));
    /* the same key again: the newer answer replaces the older */
    put_read(c, "app\1shop\1SELECT * FROM t WHERE id=1", "answer-1b", 1004,
             5000, "SELECT * FROM t WHERE id=1", "shop");
    ck_assert_str_eq(get(c, "app\1shop\1SELECT * FROM t WHERE id=1", 1005),
                     "answer-1b");
    ck_assert_int_eq(STATS_GET(&st, cache_hits_total), 3);
    ck_assert_int_eq(STATS_GET(&st, cache_misses_total), 2);
    ck_assert_int_eq(STATS_GET(&st, cache_evictions_total), 0);
    /* a look that does not count its miss (the fast path before parsing:
     * the full path counts it) */
    ck_assert(!qcache_get(c, "app\1shop\1SELECT 2", 11, 1006,
                          &(const uint8_t *){NULL}, &(size_t){0}, &(int){0},
                          false));
    ck_assert_int_eq(STATS_GET(&st, cache_misses_total), 2);
    /* a new config generation: every entry goes */
    qcache_clear(c);
    ck_assert_ptr_null(get(c, "app\1shop\1SELECT * FROM t WHERE id=1", 1007));
    ck_assert_ptr_null(get(c, "app\1shop\1SELECT * FROM t WHERE id=2", 1008));
    qcache_free(c);
}
END_TEST

/* Binary answers (packets with NUL bytes) come back whole. */
START_TEST(test_binary_answer)
{
    struct stats st = {0};
    struct qcache *c = qcache_new(1 << 20, &st);
    uint8_t pkt[300];
    struct evbuffer *b = evbuffer_new();
    const uint8_t *a;
    size_t len;

    for (size_t i = 0; i < sizeof(pkt); i++)
        pkt[i] = (uint8_t)(i * 7);
    evbuffer_add(b, pkt, sizeof(pkt));
    qcache_put(c, "k", 1, b, 0, 100, no_slots, no_vers, 0, qcache_epoch(), 0);
    evbuffer_free(b);
    ck_assert(qcache_get(c, "k", 1, 50, &a, &len, &(int){0}, true));
    ck_assert_uint_eq(len, sizeof(pkt));
    ck_assert_mem_eq(a, pkt, sizeof(pkt));
    qcache_free(c);
}
END_TEST

START_TEST(test_ttl)
{
    struct stats st = {0};
    struct qcache *c = qcache_new(1 << 20, &st);

    put_read(c, "k", "v", 10000, 2000, "SELECT a FROM t", "shop");
    ck_assert_str_eq(get(c, "k", 10000), "v");
    ck_assert_str_eq(get(c, "k", 11999), "v");
    /* at the TTL it is gone, and stays gone */
    ck_assert_ptr_null(get(c, "k", 12000));
    ck_assert_int_eq(STATS_GET(&st, cache_evictions_total), 1);
    ck_assert_ptr_null(get(c, "k", 11000));
    ck_assert_int_eq(STATS_GET(&st, cache_evictions_total), 1);
    ck_assert_int_eq(STATS_GET(&st, cache_misses_total), 2);
    qcache_free(c);
}
END_TEST

/* A write on a table drops the reads of it, whatever the spelling. */
START_TEST(test_write_invalidates_its_table)
{
    struct stats st = {0};
    struct qcache *c = qcache_new(1 << 20, &st);
    uint32_t a[QCACHE_MAX_TABLES], b[QCACHE_MAX_TABLES];

    /* the two tables must not share a version slot for this test */
    ck_assert_int_eq(slots_of("SELECT * FROM orders", "shop", a), 1);
    ck_assert_int_eq(slots_of("SELECT * FROM customers", "shop", b), 1);
    ck_assert_uint_ne(a[0], b[0]);

    put_read(c, "orders", "o", 0, 60000, "SELECT * FROM orders WHERE id = 1",
             "shop");
    put_read(c, "customers", "c", 0, 60000,
             "SELECT * FROM shop.customers WHERE id = 1", "appdb");
    put_read(c, "join", "j", 0, 60000,
             "SELECT * FROM orders o JOIN customers c ON c.id = o.cid", "shop");
    write_done("UPDATE `Shop`.`ORDERS` SET x = 1 WHERE id = 1", "appdb");
    ck_assert_ptr_null(get(c, "orders", 1));
    ck_assert_ptr_null(get(c, "join", 1));
    ck_assert_str_eq(get(c, "customers", 1), "c");

    /* the unqualified name takes the session's schema: appdb.customers is
     * another table than shop.customers */
    write_done("DELETE FROM customers WHERE id = 1", "appdb");
    ck_assert_str_eq(get(c, "customers", 2), "c");
    write_done("INSERT INTO customers (id) VALUES (2)", "shop");
    ck_assert_ptr_null(get(c, "customers", 3));

    /* reads cached after the write are served again */
    put_read(c, "orders", "o2", 10, 60000, "SELECT * FROM orders WHERE id = 1",
             "shop");
    ck_assert_str_eq(get(c, "orders", 11), "o2");
    ck_assert_int_eq(STATS_GET(&st, cache_evictions_total), 3);
    qcache_free(c);
}
END_TEST

/* A write that landed while the read ran: its answer is not kept. */
START_TEST(test_write_during_read)
{
    struct stats st = {0};
    struct qcache *c = qcache_new(1 << 20, &st);
    uint32_t slots[QCACHE_MAX_TABLES];
    uint64_t vers[QCACHE_MAX_TABLES];
    int n = slots_of("SELECT * FROM visits", "shop", slots);
    uint64_t epoch = qcache_epoch();
    struct evbuffer *b = evbuffer_new();

    qcache_versions(slots, n, vers); /* the read is sent */
    write_done("UPDATE visits SET n = n + 1", "shop");
    evbuffer_add(b, "old", 3); /* its answer arrives */
    qcache_put(c, "k", 1, b, 0, 60000, slots, vers, n, epoch, 0);
    ck_assert_ptr_null(get(c, "k", 1));

    /* the same with a write of unknown tables */
    qcache_versions(slots, n, vers);
    epoch = qcache_epoch();
    qcache_bump_all();
    qcache_put(c, "k", 1, b, 0, 60000, slots, vers, n, epoch, 0);
    ck_assert_ptr_null(get(c, "k", 1));
    evbuffer_free(b);
    qcache_free(c);
}
END_TEST

/* A write whose tables are unknown drops every entry. */
START_TEST(test_bump_all)
{
    struct stats st = {0};
    struct qcache *c = qcache_new(1 << 20, &st);

    put_read(c, "a", "1", 0, 60000, "SELECT * FROM a", "shop");
    put_read(c, "b", "2", 0, 60000, "SELECT * FROM b", "shop");
    put_read(c, "none", "3", 0, 60000, "SELECT 1", "shop");
    ck_assert_str_eq(get(c, "none", 1), "3");
    qcache_bump_all();
    ck_assert_ptr_null(get(c, "a", 2));
    ck_assert_ptr_null(get(c, "b", 2));
    ck_assert_ptr_null(get(c, "none", 2));
    qcache_free(c);
}
END_TEST

/* Entries and answers stay under max_bytes: the least recently used go
 * first; an answer larger than the cap is never kept. */
START_TEST(test_memory_cap)
{
    struct stats st = {0};
    char key[32], big[1000];
    /* room for about four entries of 1000-byte answers */
    struct qcache *c = qcache_new(4 * 1000 + 4 * 200 + 800, &st);
    int kept = 0;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        big[0] = (char)('0' + i);
        put_read(c, key, big, 0, 60000, "SELECT * FROM t", "shop");
    }
    /* k0 used last: k1 is the least recently used */
    ck_assert_ptr_nonnull(get(c, "k0", 1));
    for (int i = 4; i < 8; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        put_read(c, key, big, 0, 60000, "SELECT * FROM t", "shop");
        ck_assert_ptr_nonnull(get(c, key, 2)); /* the newest is kept */
    }
    ck_assert_ptr_null(get(c, "k1", 3));
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (get(c, key, 4) != NULL)
            kept++;
    }
    ck_assert_int_ge(kept, 2);
    ck_assert_int_le(kept, 4);
    ck_assert_int_ge(STATS_GET(&st, cache_evictions_total), 4);
    qcache_free(c);

    /* larger than the whole cache: not kept, nothing evicted for it */
    memset(&st, 0, sizeof(st));
    c = qcache_new(500, &st);
    put_read(c, "small", "s", 0, 60000, "SELECT * FROM t", "shop");
    put_read(c, "big", big, 0, 60000, "SELECT * FROM t", "shop");
    ck_assert_ptr_null(get(c, "big", 1));
    ck_assert_str_eq(get(c, "small", 1), "s");
    ck_assert_int_eq(STATS_GET(&st, cache_evictions_total), 0);
    qcache_free(c);
}
END_TEST

/* Answers over QCACHE_MAX_ENTRY are not kept, whatever the cap. */
START_TEST(test_entry_limit)
{
    struct stats st = {0};
    struct qcache *c = qcache_new((size_t)64 << 20, &st);
    size_t n = QCACHE_MAX_ENTRY + 1;
    char *huge = malloc(n);
    struct evbuffer *b = evbuffer_new();

    memset(huge, 'y', n);
    evbuffer_add(b, huge, n);
    qcache_put(c, "huge", 4, b, 0, 60000, no_slots, no_vers, 0, qcache_epoch(),
               0);
    ck_assert_ptr_null(get(c, "huge", 1));
    evbuffer_drain(b, 1);
    qcache_put(c, "huge", 4, b, 0, 60000, no_slots, no_vers, 0, qcache_epoch(),
               0);
    ck_assert(qcache_get(c, "huge", 4, 1, &(const uint8_t *){NULL},
                         &(size_t){0}, &(int){0}, true));
    evbuffer_free(b);
    free(huge);
    qcache_free(c);
}
END_TEST

/* The tables a statement names: derived tables are skipped (their own
 * tables are listed), too many tables is -1 (not cacheable). */
START_TEST(test_table_slots)
{
    uint32_t s[QCACHE_MAX_TABLES], t[QCACHE_MAX_TABLES];
    struct stmt_info *st = calloc(1, sizeof(*st));
    const char *many = "SELECT * FROM t1, t2, t3, t4, t5, t6, t7, t8, t9";

    ck_assert_int_eq(slots_of("SELECT 1", "shop", s), 0);
    ck_assert_int_eq(
        slots_of("SELECT * FROM (SELECT id FROM orders) d", "shop", s), 1);
    ck_assert_int_eq(slots_of("SELECT * FROM shop.orders", "x", t), 1);
    ck_assert_uint_eq(s[0], t[0]);
    ck_assert_int_eq(slots_of("SELECT * FROM `SHOP`.`Orders`", NULL, t), 1);
    ck_assert_uint_eq(s[0], t[0]);
    ck_assert(sql_classify(many, strlen(many), LEX_MODE_DEFAULT, st));
    ck_assert_int_eq(st->ntables, 9);
    ck_assert_int_eq(qcache_table_slots(st, "shop", s, QCACHE_MAX_TABLES), -1);
    free(st);
}
END_TEST

static Suite *
qcache_suite(void)
{
    Suite *s = suite_create("qcache");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_fill_and_hit);
    tcase_add_test(tc, test_binary_answer);
    tcase_add_test(tc, test_ttl);
    tcase_add_test(tc, test_write_invalidates_its_table);
    tcase_add_test(tc, test_write_during_read);
    tcase_add_test(tc, test_bump_all);
    tcase_add_test(tc, test_memory_cap);
    tcase_add_test(tc, test_entry_limit);
    tcase_add_test(tc, test_table_slots);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(qcache_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
