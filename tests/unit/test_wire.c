/*
 * test_wire.c - the read cursor: little-endian integers, every
 * length-encoded integer width, strings, and that every read past the end
 * fails, leaves the cursor in place and sets the sticky error.
 */
#include "proto/wire.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_integers)
{
    static const uint8_t p[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
                                0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};
    struct wire w;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    wire_init(&w, p, sizeof(p));
    ck_assert(wire_u8(&w, &u8));
    ck_assert_uint_eq(u8, 0x01);
    ck_assert(wire_u16(&w, &u16));
    ck_assert_uint_eq(u16, 0x0302);
    ck_assert(wire_u24(&w, &u32));
    ck_assert_uint_eq(u32, 0x060504);
    ck_assert(wire_u32(&w, &u32));
    ck_assert_uint_eq(u32, 0x0a090807);
    ck_assert(wire_u64(&w, &u64));
    ck_assert_uint_eq(u64, 0x1211100f0e0d0c0bull);
    ck_assert_uint_eq(wire_left(&w), 0);
    ck_assert(!w.err);
    ck_assert(!wire_u8(&w, &u8));
    ck_assert(w.err);
}
END_TEST

START_TEST(test_short_reads)
{
    static const uint8_t p[] = {1, 2, 3};
    struct wire w;
    uint32_t u32;
    uint64_t u64;
    uint16_t u16;

    wire_init(&w, p, sizeof(p));
    ck_assert(!wire_u32(&w, &u32));
    ck_assert(w.err);
    ck_assert_uint_eq(wire_left(&w), 3);
    /* sticky: even a read that would fit fails now */
    ck_assert(!wire_u16(&w, &u16));

    wire_init(&w, p, sizeof(p));
    ck_assert(!wire_u64(&w, &u64));
    wire_init(&w, p, 2);
    ck_assert(!wire_u24(&w, &u32));
    wire_init(&w, NULL, 0);
    ck_assert(!wire_u8(&w, (uint8_t *)&u16));
    ck_assert(!wire_skip(&w, 1));
}
END_TEST

static const struct {
    uint8_t bytes[9];
    size_t len;
    uint64_t value;
} lenenc_vectors[] = {
    {{0x00}, 1, 0},
    {{0xfa}, 1, 250},
    {{0xfc, 0xfb, 0x00}, 3, 251},
    {{0xfc, 0xff, 0xff}, 3, 0xffff},
    {{0xfd, 0x00, 0x00, 0x01}, 4, 0x10000},
    {{0xfd, 0xff, 0xff, 0xff}, 4, 0xffffff},
    {{0xfe, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0}, 9, 0x1000000},
    {{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, UINT64_MAX},
};

START_TEST(test_lenenc)
{
    for (size_t i = 0; i < sizeof(lenenc_vectors) / sizeof(lenenc_vectors[0]);
         i++) {
        struct wire w;
        uint64_t v;
        bool is_null = true;

        wire_init(&w, lenenc_vectors[i].bytes, lenenc_vectors[i].len);
        ck_assert(wire_lenenc(&w, &v, &is_null));
        ck_assert_uint_eq(v, lenenc_vectors[i].value);
        ck_assert(!is_null);
        ck_assert_uint_eq(wire_left(&w), 0);

        /* one byte short: fails, cursor back at the prefix */
        wire_init(&w, lenenc_vectors[i].bytes, lenenc_vectors[i].len - 1);
        ck_assert(!wire_lenenc(&w, &v, NULL));
        ck_assert(w.err);
        ck_assert_uint_eq(wire_left(&w), lenenc_vectors[i].len - 1);
    }
}
END_TEST

START_TEST(test_lenenc_null_and_err)
{
    static const uint8_t null_byte[] = {0xfb};
    static const uint8_t err_byte[] = {0xff, 0, 0};
    struct wire w;
    uint64_t v = 7;
    bool is_null = false;

    wire_init(&w, null_byte, 1);
    ck_assert(wire_lenenc(&w, &v, &is_null));
    ck_assert(is_null);
    ck_assert_uint_eq(v, 0);

    wire_init(&w, null_byte, 1);
    ck_assert(!wire_lenenc(&w, &v, NULL));
    ck_assert(w.err);

    wire_init(&w, err_byte, sizeof(err_byte));
    ck_assert(!wire_lenenc(&w, &v, &is_null));
}
END_TEST

START_TEST(test_strings)
{
    static const uint8_t p[] = {3, 'a', 'b', 'c', 'x', 'y',
                                0, 0,   'r', 'e', 's', 't'};
    struct wire w;
    const uint8_t *s;
    size_t n;

    wire_init(&w, p, sizeof(p));
    ck_assert(wire_lenenc_str(&w, &s, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(s, "abc", 3) == 0);
    ck_assert(wire_nul_str(&w, &s, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(s, "xy", 2) == 0);
    ck_assert(wire_nul_str(&w, &s, &n)); /* empty string */
    ck_assert_uint_eq(n, 0);
    ck_assert(wire_bytes(&w, 2, &s));
    ck_assert(memcmp(s, "re", 2) == 0);
    wire_rest(&w, &s, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(s, "st", 2) == 0);
    ck_assert_uint_eq(wire_left(&w), 0);
    wire_rest(&w, &s, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert(!w.err);
}
END_TEST

START_TEST(test_string_bounds)
{
    static const uint8_t long_len[] = {5, 'a', 'b'};
    static const uint8_t no_nul[] = {'a', 'b', 'c'};
    static const uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 'a'};
    struct wire w;
    const uint8_t *s = NULL;
    size_t n = 99;

    wire_init(&w, long_len, sizeof(long_len));
    ck_assert(!wire_lenenc_str(&w, &s, &n));
    ck_assert(w.err);
    ck_assert_uint_eq(wire_left(&w), sizeof(long_len));

    wire_init(&w, huge, sizeof(huge));
    ck_assert(!wire_lenenc_str(&w, &s, &n));

    wire_init(&w, no_nul, sizeof(no_nul));
    ck_assert(!wire_nul_str(&w, &s, &n));
    ck_assert_uint_eq(wire_left(&w), sizeof(no_nul));

    wire_init(&w, no_nul, sizeof(no_nul));
    ck_assert(!wire_bytes(&w, 4, &s));
    ck_assert(!wire_skip(&w, 1));
    wire_init(&w, no_nul, sizeof(no_nul));
    ck_assert(wire_skip(&w, 3));
    ck_assert(!wire_skip(&w, 1));
    ck_assert(!wire_nul_str(&w, &s, &n));
    ck_assert(s == NULL && n == 99);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("cursor");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_short_reads);
    tcase_add_test(tc, test_lenenc);
    tcase_add_test(tc, test_lenenc_null_and_err);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_string_bounds);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
