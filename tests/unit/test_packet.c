/*
 * test_packet.c - reading framed packets from an evbuffer: partial input,
 * sequence ids, the 16 MB continuation join, the size limit.
 */
#include "proto/packet.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

static void
put_packet(struct evbuffer *b, uint8_t seq, const void *p, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
    evbuffer_add(b, h, 4);
    evbuffer_add(b, p, n);
}

START_TEST(test_partial_then_whole)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;
    const char q[] = "\x03SELECT 1";

    evbuffer_add(b, "\x09\x00", 2);
    ck_assert_int_eq(packet_read(b, 1024, 0, &pkt), PKT_AGAIN);
    evbuffer_add(b, "\x00\x00", 2);
    evbuffer_add(b, q, 4);
    ck_assert_int_eq(packet_read(b, 1024, 0, &pkt), PKT_AGAIN);
    evbuffer_add(b, q + 4, 5);
    ck_assert_int_eq(packet_read(b, 1024, 0, &pkt), PKT_OK);
    ck_assert_uint_eq(pkt.len, 9);
    ck_assert(memcmp(pkt.data, q, 9) == 0);
    ck_assert(!pkt.heap);
    packet_consume(b, &pkt);
    ck_assert_uint_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_bad_sequence)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;

    put_packet(b, 3, "\x0e", 1);
    ck_assert_int_eq(packet_read(b, 1024, 0, &pkt), PKT_BAD_SEQ);
    ck_assert_int_eq(packet_read(b, 1024, -1, &pkt), PKT_OK);
    ck_assert_uint_eq(pkt.seq, 3);
    packet_consume(b, &pkt);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_continuation_join)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;
    size_t total = 0xFFFFFF + 10;
    uint8_t *p = malloc(total);

    for (size_t i = 0; i < total; i++)
        p[i] = (uint8_t)(i * 7);
    put_packet(b, 0, p, 0xFFFFFF);
    ck_assert_int_eq(packet_read(b, 64u << 20, 0, &pkt), PKT_AGAIN);
    put_packet(b, 1, p + 0xFFFFFF, 10);
    ck_assert_int_eq(packet_read(b, 64u << 20, 0, &pkt), PKT_OK);
    ck_assert(pkt.heap);
    ck_assert_uint_eq(pkt.len, total);
    ck_assert_uint_eq(pkt.seq, 1);
    ck_assert(memcmp(pkt.data, p, total) == 0);
    ck_assert_uint_eq(evbuffer_get_length(b), 0);
    packet_consume(b, &pkt);
    free(p);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_exact_multiple_needs_trailer)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;
    uint8_t *p = calloc(1, 0xFFFFFF);

    put_packet(b, 0, p, 0xFFFFFF);
    ck_assert_int_eq(packet_read(b, 64u << 20, 0, &pkt), PKT_AGAIN);
    put_packet(b, 1, "", 0);
    ck_assert_int_eq(packet_read(b, 64u << 20, 0, &pkt), PKT_OK);
    ck_assert_uint_eq(pkt.len, 0xFFFFFF);
    packet_consume(b, &pkt);
    free(p);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_continuation_bad_sequence)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;
    uint8_t *p = calloc(1, 0xFFFFFF);

    put_packet(b, 0, p, 0xFFFFFF);
    put_packet(b, 7, "abc", 3);
    ck_assert_int_eq(packet_read(b, 64u << 20, 0, &pkt), PKT_BAD_SEQ);
    free(p);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_too_large)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;
    uint8_t big[100] = {0};

    put_packet(b, 0, big, sizeof(big));
    ck_assert_int_eq(packet_read(b, 99, 0, &pkt), PKT_TOO_LARGE);
    ck_assert_int_eq(packet_read(b, 100, 0, &pkt), PKT_OK);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_write_roundtrip)
{
    struct evbuffer *b = evbuffer_new();
    struct packet pkt;
    size_t total = 2 * 0xFFFFFF;
    uint8_t *p = malloc(total);
    uint8_t seq = 0;

    for (size_t i = 0; i < total; i++)
        p[i] = (uint8_t)(i >> 3);
    packet_write(b, &seq, p, total);
    ck_assert_uint_eq(seq, 3); /* two full packets and the empty trailer */
    ck_assert_uint_eq(evbuffer_get_length(b), total + 12);
    ck_assert_int_eq(packet_read(b, 64u << 20, 0, &pkt), PKT_OK);
    ck_assert_uint_eq(pkt.len, total);
    ck_assert(memcmp(pkt.data, p, total) == 0);
    packet_consume(b, &pkt);
    free(p);
    evbuffer_free(b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("packet");
    TCase *tc = tcase_create("framing");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_partial_then_whole);
    tcase_add_test(tc, test_bad_sequence);
    tcase_add_test(tc, test_continuation_join);
    tcase_add_test(tc, test_exact_multiple_needs_trailer);
    tcase_add_test(tc, test_continuation_bad_sequence);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_write_roundtrip);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
