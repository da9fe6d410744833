/*
 * test_placement.c - placement_locate() and placement_between() against
 * tests/data/route.yaml. The CRC32 slots below are MariaDB's own
 * `SELECT CRC32(key) % 1024` (zlib's crc32 gives the same numbers); the
 * user_hash shard is floor(slot * 3 / 1024), token_map's its slot_map.
 */
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"
#include "route/placement.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct cfg *cfg;

static void
setup(void)
{
    struct diag d;

    diag_init(&d);
    cfg = cfg_load("tests/data/route.yaml", &d);
    if (cfg == NULL)
        diag_print(&d, stderr);
    diag_free(&d);
    ck_assert_ptr_nonnull(cfg);
}

static void
teardown(void)
{
    cfg_put(cfg);
    cfg = NULL;
}

static const struct cfg_rule *
rule(const char *name)
{
    for (int i = 0; i < cfg->nrules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return &cfg->rules[i];
    ck_abort_msg("no rule %s", name);
    return NULL;
}

enum kt { K_INT, K_STR, K_NULL };

struct vec {
    const char *rule;
    enum kt type;
    int64_t i;
    const char *s; /* K_STR: bytes (slen when they hold NUL) */
    size_t slen;
    enum placement_status want;
    const char *shard; /* NULL unless PLACE_OK */
    int slot;          /* -1 for mod/range */
};

#define I(r, v, sh, sl)                                                        \
    {                                                                          \
        r, K_INT, v, NULL, 0, PLACE_OK, sh, sl                                 \
    }
#define S(r, v, sh, sl)                                                        \
    {                                                                          \
        r, K_STR, 0, v, 0, PLACE_OK, sh, sl                                    \
    }
#define IERR(r, v, st)                                                         \
    {                                                                          \
        r, K_INT, v, NULL, 0, st, NULL, 0                                      \
    }
#define SERR(r, v, st)                                                         \
    {                                                                          \
        r, K_STR, 0, v, 0, st, NULL, 0                                         \
    }

static const struct vec vectors[] = {
    /* hash, 1024 slots over s0, s1, s2 */
    I("user_hash", 0, "s2", 801),
    I("user_hash", 1, "s2", 951),
    I("user_hash", 42, "s0", 136),
    I("user_hash", -1, "s0", 42),
    I("user_hash", -7, "s0", 287),
    I("user_hash", INT64_MAX, "s2", 734),
    I("user_hash", INT64_MIN, "s2", 779),
    I("user_hash", 1000000, "s1", 477),
    I("user_hash", 123456789, "s0", 294),
    S("user_hash", "123456789", "s0", 294), /* digits as a string */
    S("user_hash", "42", "s0", 136),
    S("user_hash", "18446744073709551615", "s0", 282),
    S("user_hash", "", "s0", 0),
    S("user_hash", "abc", "s1", 450),
    S("user_hash", "user@example.com", "s1", 417),
    S("user_hash", "007", "s2", 894), /* raw bytes, not 7 */
    S("user_hash",
      "\xc3\xbcn\xc3\xaf"
      "c\xc3\xb6"
      "d\xc3\xa9",
      "s2", 971), /* 'ünïcödé' in UTF-8 */
    S("user_hash", "\xe6\x97\xa5\xe6\x9c\xac", "s1", 460), /* '日本' */
    S("user_hash", "a b", "s0", 211),
    {"user_hash", K_STR, 0, "\x00\xff", 2, PLACE_OK, "s1", 370},
    {"user_hash", K_NULL, 0, NULL, 0, PLACE_NULL_KEY, NULL, 0},
    /* hash with slot_map s1: 0-255,768-1023; s2: 256-767 */
    S("token_map", "tok-1", "s1", 83),
    S("token_map", "tok-2", "s2", 489),
    S("token_map", "Hello, World", "s2", 710),
    S("token_map", "abc", "s2", 450),
    I("token_map", 42, "s1", 136),
    I("token_map", 0, "s1", 801),
    /* mod over s0, s1 */
    I("user_mod", 0, "s0", -1),
    I("user_mod", 1, "s1", -1),
    I("user_mod", -1, "s1", -1),
    I("user_mod", -2, "s0", -1),
    I("user_mod", -7, "s1", -1),
    I("user_mod", INT64_MIN, "s0", -1),
    I("user_mod", INT64_MAX, "s1", -1),
    S("user_mod", "42", "s0", -1),
    S("user_mod", "007", "s1", -1),
    S("user_mod", "-3", "s1", -1),
    S("user_mod", "+4", "s0", -1),
    SERR("user_mod", "abc", PLACE_NOT_INTEGER),
    SERR("user_mod", "", PLACE_NOT_INTEGER),
    SERR("user_mod", "4.5", PLACE_NOT_INTEGER),
    SERR("user_mod", "99999999999999999999", PLACE_NOT_INTEGER),
    {"user_mod", K_NULL, 0, NULL, 0, PLACE_NULL_KEY, NULL, 0},
    /* integer range: s0 < 1000 <= s1 < 1000000 <= s2 */
    I("id_range", -5, "s0", -1),
    I("id_range", INT64_MIN, "s0", -1),
    I("id_range", 999, "s0", -1),
    I("id_range", 1000, "s1", -1), /* from is inclusive */
    I("id_range", 999999, "s1", -1),
    I("id_range", 1000000, "s2", -1), /* to is exclusive */
    I("id_range", INT64_MAX, "s2", -1),
    S("id_range", "1000", "s1", -1),
    SERR("id_range", "x", PLACE_NOT_INTEGER),
    /* string range: bytewise */
    S("day_range", "2024-12-31", "s0", -1),
    S("day_range", "2025-01-01", "s1", -1),
    S("day_range", "2025-01-01 00:00:00", "s1", -1),
    S("day_range", "2025-12-31 23:59:59", "s1", -1),
    S("day_range", "2026-01-01", "s2", -1),
    S("day_range", "2025", "s0", -1), /* a prefix sorts first */
    S("day_range", "", "s0", -1),
    S("day_range", "a", "s2", -1),
    I("day_range", 2025, "s0", -1), /* as its text "2025" */
    I("day_range", 3000, "s2", -1),
    /* a range with both ends bounded */
    IERR("bounded_range", -1, PLACE_OUT_OF_RANGE),
    I("bounded_range", 0, "s0", -1),
    I("bounded_range", 99, "s0", -1),
    I("bounded_range", 100, "s1", -1),
    I("bounded_range", 299, "s1", -1),
    IERR("bounded_range", 300, PLACE_OUT_OF_RANGE),
};

static void
make_key(const struct vec *v, struct route_key *k)
{
    memset(k, 0, sizeof(*k));
    if (v->type == K_NULL) {
        k->is_null = true;
    } else if (v->type == K_INT) {
        k->is_int = true;
        k->i = v->i;
    } else {
        k->s = v->s;
        k->len = v->slen ? v->slen : strlen(v->s);
    }
}

START_TEST(test_vectors)
{
    ck_assert_uint_ge(sizeof(vectors) / sizeof(vectors[0]), 30);
    for (size_t n = 0; n < sizeof(vectors) / sizeof(vectors[0]); n++) {
        const struct vec *v = &vectors[n];
        struct route_key k;
        int shard = -9, slot = -9;
        enum placement_status st;

        make_key(v, &k);
        st = placement_locate(rule(v->rule), &k, &shard, &slot);
        ck_assert_msg(st == v->want, "vector %zu (%s): status %s, want %s", n,
                      v->rule, placement_status_text(st),
                      placement_status_text(v->want));
        if (st != PLACE_OK) {
            ck_assert_int_eq(shard, -9);
            continue;
        }
        ck_assert_msg(strcmp(cfg->shards[shard].name, v->shard) == 0,
                      "vector %zu (%s): shard %s, want %s", n, v->rule,
                      cfg->shards[shard].name, v->shard);
        ck_assert_msg(slot == v->slot, "vector %zu (%s): slot %d, want %d", n,
                      v->rule, slot, v->slot);
    }
}
END_TEST

static uint64_t
bits(const char *names)
{
    uint64_t m = 0;
    for (const char *p = names; *p; p++)
        if (p[0] == 's' && p[1] >= '0' && p[1] <= '9')
            m |= 1ull << (p[1] - '0');
    return m;
}

static uint64_t
between_int(const char *r, int64_t a, int64_t b)
{
    struct route_key lo = {.is_int = true, .i = a};
    struct route_key hi = {.is_int = true, .i = b};
    return placement_between(rule(r), &lo, &hi);
}

static uint64_t
between_str(const char *r, const char *a, const char *b)
{
    struct route_key lo = {.s = a, .len = strlen(a)};
    struct route_key hi = {.s = b, .len = strlen(b)};
    return placement_between(rule(r), &lo, &hi);
}

START_TEST(test_between)
{
    struct route_key null = {.is_null = true}, one = {.is_int = true, .i = 1};

    ck_assert_uint_eq(between_int("id_range", 500, 1500), bits("s0 s1"));
    ck_assert_uint_eq(between_int("id_range", 1000, 1000), bits("s1"));
    ck_assert_uint_eq(between_int("id_range", 999, 999), bits("s0"));
    ck_assert_uint_eq(between_int("id_range", 999999, 1000000), bits("s1 s2"));
    ck_assert_uint_eq(between_int("id_range", INT64_MIN, INT64_MAX),
                      bits("s0 s1 s2"));
    ck_assert_uint_eq(between_int("id_range", 5, 1), 0);
    ck_assert_uint_eq(between_str("id_range", "1000", "2000"), bits("s1"));
    ck_assert_uint_eq(between_str("id_range", "a", "b"), bits("s0 s1 s2"));
    ck_assert_uint_eq(between_str("day_range", "2024-06-01", "2025-06-01"),
                      bits("s0 s1"));
    ck_assert_uint_eq(between_str("day_range", "2026-02-01", "2026-03-01"),
                      bits("s2"));
    ck_assert_uint_eq(between_str("day_range", "2025-01-01", "2024-01-01"), 0);
    ck_assert_uint_eq(between_int("bounded_range", 250, 400), bits("s1"));
    ck_assert_uint_eq(between_int("bounded_range", 400, 500), 0);
    ck_assert_uint_eq(between_int("user_mod", 1, 1), bits("s1"));
    ck_assert_uint_eq(between_int("user_mod", 2, 2), bits("s0"));
    ck_assert_uint_eq(between_int("user_mod", 4, 6), bits("s0 s1"));
    ck_assert_uint_eq(between_str("user_mod", "3", "3"), bits("s1"));
    ck_assert_uint_eq(between_int("user_hash", 42, 42), bits("s0"));
    {
        uint64_t want = 0;
        for (int64_t i = -7; i <= -1; i++) {
            struct route_key k = {.is_int = true, .i = i};
            int sh;
            ck_assert_int_eq(placement_locate(rule("user_hash"), &k, &sh, NULL),
                             PLACE_OK);
            want |= 1ull << sh;
        }
        ck_assert_uint_eq(between_int("user_hash", -7, -1), want);
    }
    ck_assert_uint_eq(between_int("user_hash", 0, 1000000), bits("s0 s1 s2"));
    ck_assert_uint_eq(between_str("user_hash", "1", "1"), bits("s0 s1 s2"));
    /* CRC32('9223372036854775806') % 1024 = 584 -> s1; INT64_MAX -> s2 */
    ck_assert_uint_eq(between_int("user_hash", INT64_MAX - 1, INT64_MAX),
                      bits("s1 s2"));
    ck_assert_uint_eq(placement_between(rule("id_range"), &null, &one),
                      bits("s0 s1 s2"));
}
END_TEST

START_TEST(test_helpers)
{
    char buf[24];
    struct route_key k = {.s = "-0042", .len = 5};
    int64_t v;

    ck_assert_uint_eq(placement_int_text(0, buf), 1);
    ck_assert_str_eq(buf, "0");
    placement_int_text(-7, buf);
    ck_assert_str_eq(buf, "-7");
    placement_int_text(INT64_MIN, buf);
    ck_assert_str_eq(buf, "-9223372036854775808");
    placement_int_text(INT64_MAX, buf);
    ck_assert_str_eq(buf, "9223372036854775807");
    ck_assert(placement_key_int(&k, &v));
    ck_assert_int_eq(v, -42);
    k.s = "4x";
    k.len = 2;
    ck_assert(!placement_key_int(&k, &v));
    ck_assert_uint_eq(placement_rule_mask(rule("user_hash")), bits("s0 s1 s2"));
    ck_assert_uint_eq(placement_rule_mask(rule("user_mod")), bits("s0 s1"));
    ck_assert_uint_eq(placement_rule_mask(rule("token_map")), bits("s1 s2"));
    ck_assert_str_eq(placement_status_text(PLACE_OUT_OF_RANGE),
                     "outside every range");
}
END_TEST

/* The hash slot of an integer is the slot of its canonical text. */
START_TEST(test_int_is_text)
{
    for (int64_t i = -2000; i <= 2000; i += 7) {
        char buf[24];
        struct route_key ik = {.is_int = true, .i = i}, sk;
        int s1, s2, l1, l2;

        sk.is_null = sk.is_int = false;
        sk.s = buf;
        sk.len = placement_int_text(i, buf);
        ck_assert_int_eq(placement_locate(rule("user_hash"), &ik, &s1, &l1),
                         PLACE_OK);
        ck_assert_int_eq(placement_locate(rule("user_hash"), &sk, &s2, &l2),
                         PLACE_OK);
        ck_assert_int_eq(s1, s2);
        ck_assert_int_eq(l1, l2);
    }
}
END_TEST

/* A moving set: user_hash slots 900-1023 (s2's) and day_range's keys
 * from '2026-06-01' (s2's) move to s0; the keys stay where they are. */
START_TEST(test_moving)
{
    struct cfg_placement *p = cfg_placement_of(cfg);
    struct cfg_bound at = {.set = true, .is_string = true, .s = "2026-06-01"};
    struct cfg_bound at5000 = {.set = true, .i = 5000};
    struct cfg *running = cfg, *next;
    struct diag d;
    char err[256];
    struct route_key k1 = {.is_int = true, .i = 1}; /* slot 951 */
    struct route_key k4 = {.is_int = true, .i = 4}; /* slot 824 */
    struct route_key s1 = {.s = "1", .len = 1};     /* the same as 1 */
    struct route_key null = {.is_null = true};
    struct route_key d1 = {.s = "2026-07-01", .len = 10};
    struct route_key d2 = {.s = "2026-05-31", .len = 10};
    struct route_key lo = {.is_int = true, .i = 2},
                     hi = {.is_int = true, .i = 4};
    struct route_key wide = {.is_int = true, .i = 1000};
    char sql[128];
    int shard;

    ck_assert(!placement_in_marked(rule("user_hash"), &k1));
    ck_assert(cfg_placement_set_moving_slots(p, "user_hash", 900, 1023, "s0", 1,
                                             err, sizeof(err)));
    ck_assert(cfg_placement_set_moving_split(p, "day_range", &at, "s0", 2, err,
                                             sizeof(err)));
    ck_assert(cfg_placement_set_moving_split(p, "id_range", &at5000, "s2", 3,
                                             err, sizeof(err)));
    diag_init(&d);
    next = cfg_with_placement(running, p, &d);
    ck_assert_ptr_nonnull(next);
    diag_free(&d);
    cfg_placement_free(p);
    cfg = next;

    ck_assert(placement_in_marked(rule("user_hash"), &k1));
    ck_assert(placement_in_marked(rule("user_hash"), &s1));
    ck_assert(!placement_in_marked(rule("user_hash"), &k4));
    ck_assert(!placement_in_marked(rule("user_hash"), &null));
    ck_assert(!placement_in_marked(rule("user_mod"), &k1));
    /* still placed on the source */
    ck_assert_int_eq(placement_locate(rule("user_hash"), &k1, &shard, NULL),
                     PLACE_OK);
    ck_assert_str_eq(cfg->shards[shard].name, "s2");
    ck_assert(placement_in_marked(rule("day_range"), &d1));
    ck_assert(!placement_in_marked(rule("day_range"), &d2));
    ck_assert_int_eq(placement_locate(rule("day_range"), &d1, &shard, NULL),
                     PLACE_OK);
    ck_assert_str_eq(cfg->shards[shard].name, "s2");

    /* intervals: 2..4 holds no moving slot, 1..4 does, a wide one may */
    ck_assert(!placement_between_marked(rule("user_hash"), &lo, &hi));
    ck_assert(placement_between_marked(rule("user_hash"), &k1, &hi));
    ck_assert(placement_between_marked(rule("user_hash"), &k1, &wide));
    ck_assert(placement_between_marked(rule("day_range"), &d2, &d1));
    ck_assert(!placement_between_marked(rule("day_range"), &d2, &d2));

    /* the same sets in SQL, for the copy and the cleanup */
    ck_assert_uint_eq(
        placement_moving_sql(rule("user_hash"), "user_id", sql, sizeof(sql)),
        strlen(sql));
    ck_assert_str_eq(sql, "CRC32(`user_id`) % 1024 BETWEEN 900 AND 1023");
    placement_moving_sql(rule("day_range"), "d`ay", sql, sizeof(sql));
    ck_assert_str_eq(sql, "CAST(`d``ay` AS BINARY) >= X'323032362D30362D3031'");
    ck_assert_uint_eq(
        placement_moving_sql(rule("user_mod"), "id", sql, sizeof(sql)), 0);
    ck_assert_str_eq(sql, "");
    cfg = running;
    cfg_put(next);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("placement");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_between);
    tcase_add_test(tc, test_helpers);
    tcase_add_test(tc, test_int_is_text);
    tcase_add_test(tc, test_moving);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
