/*
 * test_pktbuf.c - the payload builder (every integer width, length-encoded
 * integers at each boundary, growth past the inline storage) and the framing
 * of pktbuf_send: 16 MiB continuation packets with increasing sequence ids,
 * the empty trailer after an exact 0xFFFFFF payload, and the OK, ERR and EOF
 * writers byte for byte.
 */
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#define MIB16 (16u * 1024 * 1024)

static void
assert_bytes(const struct pktbuf *pb, const uint8_t *want, size_t len)
{
    ck_assert_uint_eq(pb->len, len);
    ck_assert(memcmp(pb->buf, want, len) == 0);
}

START_TEST(test_integers)
{
    struct pktbuf pb;
    static const uint8_t want[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                   0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
                                   0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, 0x01);
    pktbuf_put_u16(&pb, 0x0302);
    pktbuf_put_u24(&pb, 0x060504);
    pktbuf_put_u32(&pb, 0x0a090807);
    pktbuf_put_u64(&pb, 0x1211100f0e0d0c0bull);
    assert_bytes(&pb, want, sizeof(want));
    ck_assert(!pb.failed);
    ck_assert(!pb.heap);
    pktbuf_free(&pb);
}
END_TEST

static const struct {
    uint64_t v;
    uint8_t bytes[9];
    size_t len;
} lenenc_vectors[] = {
    {0, {0x00}, 1},
    {250, {0xfa}, 1},
    {251, {0xfc, 0xfb, 0x00}, 3},
    {0xffff, {0xfc, 0xff, 0xff}, 3},
    {0x10000, {0xfd, 0x00, 0x00, 0x01}, 4},
    {0xffffff, {0xfd, 0xff, 0xff, 0xff}, 4},
    {0x1000000, {0xfe, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0}, 9},
    {UINT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
};

START_TEST(test_lenenc)
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    for (size_t i = 0; i < sizeof(lenenc_vectors) / sizeof(lenenc_vectors[0]);
         i++) {
        pktbuf_reset(&pb);
        pktbuf_put_lenenc(&pb, lenenc_vectors[i].v);
        assert_bytes(&pb, lenenc_vectors[i].bytes, lenenc_vectors[i].len);
    }
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_strings)
{
    struct pktbuf pb;
    static const uint8_t want[] = {3, 'a', 'b', 'c', 'x', 'y', 0,
                                   0, 0,   0,   'r', 0,   0,   0};

    pktbuf_init(&pb);
    pktbuf_put_lenenc_str(&pb, "abc", 3);
    pktbuf_put_nul_str(&pb, "xy");
    pktbuf_put_nul_str(&pb, "");
    pktbuf_put_zero(&pb, 2);
    pktbuf_put_bytes(&pb, "r", 1);
    pktbuf_put_bytes(&pb, NULL, 0);
    pktbuf_put_zero(&pb, 0);
    pktbuf_put_lenenc_str(&pb, "", 0);
    pktbuf_put_zero(&pb, 2);
    assert_bytes(&pb, want, sizeof(want));
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_growth)
{
    struct pktbuf pb;
    uint8_t chunk[100];

    pktbuf_init(&pb);
    for (size_t i = 0; i < 50; i++) {
        memset(chunk, (int)i, sizeof(chunk));
        pktbuf_put_bytes(&pb, chunk, sizeof(chunk));
    }
    ck_assert(pb.heap);
    ck_assert_uint_eq(pb.len, 5000);
    ck_assert_uint_ge(pb.cap, 5000);
    for (size_t i = 0; i < 50; i++)
        ck_assert_uint_eq(pb.buf[i * 100 + 99], i);
    pktbuf_reset(&pb);
    ck_assert_uint_eq(pb.len, 0);
    pktbuf_put_u8(&pb, 9);
    ck_assert_uint_eq(pb.buf[0], 9);
    pktbuf_free(&pb);
    ck_assert(!pb.heap);
    ck_assert_uint_eq(pb.len, 0);
}
END_TEST

/* Reads one framed packet header from in: returns payload length and seq. */
static size_t
take_header(struct evbuffer *in, uint8_t *seq)
{
    uint8_t h[4];

    ck_assert_int_eq(evbuffer_remove(in, h, 4), 4);
    *seq = h[3];
    return (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
}

START_TEST(test_send_small)
{
    struct pktbuf pb;
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 3, got_seq;
    uint8_t body[3];

    pktbuf_init(&pb);
    pktbuf_put_bytes(&pb, "abc", 3);
    ck_assert(pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(seq, 4);
    ck_assert_uint_eq(evbuffer_get_length(out), 7);
    ck_assert_uint_eq(take_header(out, &got_seq), 3);
    ck_assert_uint_eq(got_seq, 3);
    ck_assert_int_eq(evbuffer_remove(out, body, 3), 3);
    ck_assert(memcmp(body, "abc", 3) == 0);

    /* empty payload: one empty packet */
    pktbuf_reset(&pb);
    ck_assert(pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(seq, 5);
    ck_assert_uint_eq(take_header(out, &got_seq), 0);
    ck_assert_uint_eq(got_seq, 4);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);

    /* sequence ids wrap at 256 */
    seq = 255;
    ck_assert(pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(seq, 0);

    pb.failed = true;
    evbuffer_drain(out, evbuffer_get_length(out));
    ck_assert(!pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    pktbuf_free(&pb);
    evbuffer_free(out);
}
END_TEST

/* Fills pb with len bytes of a position-dependent pattern. */
static void
fill_pattern(struct pktbuf *pb, size_t len)
{
    uint8_t block[4096];

    while (pb->len < len) {
        size_t n = MIN(sizeof(block), len - pb->len);
        for (size_t i = 0; i < n; i++)
            block[i] = (uint8_t)((pb->len + i) * 131u >> 3);
        pktbuf_put_bytes(pb, block, n);
    }
}

/* Checks that body holds the pattern bytes [off, off + n). */
static void
check_pattern(const uint8_t *body, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (body[i] != (uint8_t)((off + i) * 131u >> 3))
            ck_abort_msg("payload byte %zu differs", off + i);
    }
}

START_TEST(test_send_16mib_plus_10)
{
    struct pktbuf pb;
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 1, got_seq;
    size_t total = MIB16 + 10, n;
    uint8_t *body;

    pktbuf_init(&pb);
    fill_pattern(&pb, total);
    ck_assert(pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(seq, 3);
    ck_assert_uint_eq(evbuffer_get_length(out), total + 8);

    n = take_header(out, &got_seq);
    ck_assert_uint_eq(n, 0xffffff);
    ck_assert_uint_eq(got_seq, 1);
    body = evbuffer_pullup(out, (ev_ssize_t)n);
    check_pattern(body, 0, n);
    evbuffer_drain(out, n);

    n = take_header(out, &got_seq);
    ck_assert_uint_eq(n, total - 0xffffff); /* 11 bytes */
    ck_assert_uint_eq(n, 11);
    ck_assert_uint_eq(got_seq, 2);
    body = evbuffer_pullup(out, (ev_ssize_t)n);
    check_pattern(body, 0xffffff, n);
    evbuffer_drain(out, n);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    pktbuf_free(&pb);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_send_exact_max)
{
    struct pktbuf pb;
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 0, got_seq;
    uint8_t *body;

    pktbuf_init(&pb);
    fill_pattern(&pb, PACKET_MAX_PAYLOAD);
    ck_assert(pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(seq, 2);
    ck_assert_uint_eq(evbuffer_get_length(out), PACKET_MAX_PAYLOAD + 8);
    ck_assert_uint_eq(take_header(out, &got_seq), 0xffffff);
    ck_assert_uint_eq(got_seq, 0);
    body = evbuffer_pullup(out, PACKET_MAX_PAYLOAD);
    check_pattern(body, 0, PACKET_MAX_PAYLOAD);
    evbuffer_drain(out, PACKET_MAX_PAYLOAD);
    ck_assert_uint_eq(take_header(out, &got_seq), 0);
    ck_assert_uint_eq(got_seq, 1);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);

    /* two full packets and the trailer */
    pktbuf_reset(&pb);
    fill_pattern(&pb, 2 * (size_t)PACKET_MAX_PAYLOAD);
    seq = 7;
    ck_assert(pktbuf_send(&pb, out, &seq));
    ck_assert_uint_eq(seq, 10);
    ck_assert_uint_eq(evbuffer_get_length(out),
                      2 * (size_t)PACKET_MAX_PAYLOAD + 12);
    pktbuf_free(&pb);
    evbuffer_free(out);
}
END_TEST

/* Removes one whole packet from out; checks seq, returns its payload. */
static size_t
take_packet(struct evbuffer *out, uint8_t want_seq, uint8_t *buf, size_t cap)
{
    uint8_t seq;
    size_t n = take_header(out, &seq);

    ck_assert_uint_eq(seq, want_seq);
    ck_assert_uint_le(n, cap);
    ck_assert_int_eq(evbuffer_remove(out, buf, n), (int)n);
    return n;
}

START_TEST(test_ok)
{
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 2, buf[64];
    size_t n;
    static const uint8_t want1[] = {0x00, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00};
    /* the info length-encoded, as servers write it */
    static const uint8_t want2[] = {0x00, 0xfc, 0x2c, 0x01, 0xfd,
                                    0x00, 0x00, 0x01, 0x03, 0x40,
                                    0x01, 0x00, 0x02, 'h',  'i'};

    ck_assert(
        proto_write_ok(out, &seq, 5, 0, SERVER_STATUS_AUTOCOMMIT, 0, NULL));
    ck_assert_uint_eq(seq, 3);
    n = take_packet(out, 2, buf, sizeof(buf));
    ck_assert_uint_eq(n, sizeof(want1));
    ck_assert(memcmp(buf, want1, n) == 0);

    ck_assert(proto_write_ok(out, &seq, 300, 0x10000, 0x4003, 1, "hi"));
    n = take_packet(out, 3, buf, sizeof(buf));
    ck_assert_uint_eq(n, sizeof(want2));
    ck_assert(memcmp(buf, want2, n) == 0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_err)
{
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 1, buf[128];
    size_t n;
    static const char msg[] = "myshard: no backend for shard 3";

    ck_assert(proto_write_err(out, &seq, ER_MYSHARD_NO_BACKEND, "08S01",
                              "myshard: no backend for shard %d", 3));
    ck_assert_uint_eq(seq, 2);
    n = take_packet(out, 1, buf, sizeof(buf));
    ck_assert_uint_eq(n, 9 + strlen(msg));
    ck_assert_uint_eq(buf[0], 0xff);
    ck_assert_uint_eq(buf[1] | buf[2] << 8, ER_MYSHARD_NO_BACKEND);
    ck_assert_uint_eq(buf[3], '#');
    ck_assert(memcmp(buf + 4, "08S01", 5) == 0);
    ck_assert(memcmp(buf + 9, msg, strlen(msg)) == 0);

    /* default and short SQLSTATEs; empty message */
    ck_assert(proto_write_err(out, &seq, 1105, NULL, "%s", ""));
    n = take_packet(out, 2, buf, sizeof(buf));
    ck_assert_uint_eq(n, 9);
    ck_assert(memcmp(buf + 3, "#HY000", 6) == 0);
    ck_assert(proto_write_err(out, &seq, 1105, "42", "x"));
    n = take_packet(out, 3, buf, sizeof(buf));
    ck_assert_uint_eq(n, 10);
    ck_assert(memcmp(buf + 3, "#42000x", 7) == 0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_err_long_message)
{
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 0, got_seq;
    char *big = xmalloc(1000);
    uint8_t *body;

    memset(big, 'z', 999);
    big[999] = '\0';
    ck_assert(proto_write_err(out, &seq, 1064, "42000", "near '%s'", big));
    ck_assert_uint_eq(take_header(out, &got_seq), 9 + 999 + 7);
    body = evbuffer_pullup(out, -1);
    ck_assert(memcmp(body + 9, "near 'zzz", 9) == 0);
    ck_assert_uint_eq(body[9 + 999 + 6], '\'');
    free(big);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_eof)
{
    struct evbuffer *out = evbuffer_new();
    uint8_t seq = 9, buf[16];
    static const uint8_t want[] = {0xfe, 0x02, 0x00, 0x22, 0x00};

    ck_assert(proto_write_eof(out, &seq, 2, 0x0022));
    ck_assert_uint_eq(seq, 10);
    ck_assert_uint_eq(take_packet(out, 9, buf, sizeof(buf)), sizeof(want));
    ck_assert(memcmp(buf, want, sizeof(want)) == 0);
    evbuffer_free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("pktbuf");
    TCase *tc = tcase_create("builder");
    TCase *tf = tcase_create("framing");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_lenenc);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_growth);
    suite_add_tcase(s, tc);
    tcase_add_test(tf, test_send_small);
    tcase_add_test(tf, test_send_16mib_plus_10);
    tcase_add_test(tf, test_send_exact_max);
    tcase_add_test(tf, test_ok);
    tcase_add_test(tf, test_err);
    tcase_add_test(tf, test_err_long_message);
    tcase_add_test(tf, test_eof);
    suite_add_tcase(s, tf);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
