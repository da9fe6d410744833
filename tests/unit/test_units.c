/*
 * test_units.c - duration and size literals: the forms the config file
 * documents, the ones it refuses, and printing back to the shortest unit.
 */
#include "base/units.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in;
    int64_t ms;
} durations[] = {
    {"500ms", 500},    {"10s", 10000},
    {"2m", 120000},    {"1h", 3600000},
    {"10", 10000},     {"0", 0},
    {"0ms", 0},        {"10S", 10000},
    {" 10 s ", 10000}, {"1MS", 1},
    {"8h", 28800000},  {"720h", 2592000000},
    {"007s", 7000},    {"1000000h", 3600000000000},
};

static const char *const bad_durations[] = {
    "",
    "s",
    "ms",
    "10x",
    "-1s",
    "1.5s",
    "10 ms x",
    "+5s",
    "1d",
    "10sec",
    "9223372036854775807h",
    "99999999999999999999",
    "1 0s",
    "0x10",
};

static const struct {
    const char *in;
    int64_t bytes;
} sizes[] = {
    {"64MB", 64LL << 20},
    {"1GB", 1LL << 30},
    {"512KB", 512 << 10},
    {"1000", 1000},
    {"0", 0},
    {"1k", 1024},
    {"2M", 2 << 20},
    {"3g", 3LL << 30},
    {"16 MB", 16 << 20},
    {"7B", 7},
    {"1kb", 1024},
};

static const char *const bad_sizes[] = {
    "", "MB", "1TB", "-1", "1.5MB", "64 M B", "9999999999999GB", "1KiB",
};

START_TEST(test_parse_duration)
{
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        int64_t ms = -1;
        ck_assert_msg(units_parse_duration_ms(durations[i].in, &ms),
                      "'%s' refused", durations[i].in);
        ck_assert_msg(ms == durations[i].ms, "'%s' -> %lld", durations[i].in,
                      (long long)ms);
    }
}
END_TEST

START_TEST(test_bad_duration)
{
    for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]);
         i++) {
        int64_t ms = 42;
        ck_assert_msg(!units_parse_duration_ms(bad_durations[i], &ms),
                      "'%s' accepted", bad_durations[i]);
        ck_assert_int_eq(ms, 42); /* untouched on failure */
    }
    ck_assert(!units_parse_duration_ms(NULL, NULL));
}
END_TEST

START_TEST(test_parse_size)
{
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int64_t b = -1;
        ck_assert_msg(units_parse_size(sizes[i].in, &b), "'%s' refused",
                      sizes[i].in);
        ck_assert_msg(b == sizes[i].bytes, "'%s' -> %lld", sizes[i].in,
                      (long long)b);
    }
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        int64_t b = 42;
        ck_assert_msg(!units_parse_size(bad_sizes[i], &b), "'%s' accepted",
                      bad_sizes[i]);
    }
}
END_TEST

START_TEST(test_format)
{
    static const struct {
        int64_t ms;
        const char *out;
    } d[] = {
        {0, "0s"},      {1, "1ms"},       {1500, "1500ms"},
        {2000, "2s"},   {300000, "5m"},   {7200000, "2h"},
        {90000, "90s"}, {5400000, "90m"}, {61001, "61001ms"},
    };
    static const struct {
        int64_t b;
        const char *out;
    } s[] = {
        {0, "0"},
        {1000, "1000"},
        {1024, "1KB"},
        {1536, "1536"},
        {64 << 20, "64MB"},
        {1LL << 30, "1GB"},
        {3LL << 29, "1536MB"},
    };
    char buf[32];

    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        units_format_duration(d[i].ms, buf, sizeof(buf));
        ck_assert_str_eq(buf, d[i].out);
    }
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        units_format_size(s[i].b, buf, sizeof(buf));
        ck_assert_str_eq(buf, s[i].out);
    }
    units_format_duration(1500, buf, 3); /* truncated, still terminated */
    ck_assert_str_eq(buf, "15");
}
END_TEST

/* What is printed parses back to the same value. */
START_TEST(test_round_trip)
{
    static const int64_t ms[] = {0,     1,       999,     1000,    59000,
                                 60000, 3599999, 3600000, 86400000};
    static const int64_t b[] = {0,    1,       1023,      1024,
                                4096, 1 << 20, 1LL << 30, (1LL << 30) + 1};
    char buf[32];
    int64_t v;

    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        units_format_duration(ms[i], buf, sizeof(buf));
        ck_assert(units_parse_duration_ms(buf, &v));
        ck_assert_int_eq(v, ms[i]);
    }
    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
        units_format_size(b[i], buf, sizeof(buf));
        ck_assert(units_parse_size(buf, &v));
        ck_assert_int_eq(v, b[i]);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("units");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_parse_duration);
    tcase_add_test(tc, test_bad_duration);
    tcase_add_test(tc, test_parse_size);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_round_trip);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
