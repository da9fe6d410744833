/*
 * test_relay.c - the relay must find exactly where a response ends, pass
 * every byte through unchanged, feed byte by byte or in bulk, and stop
 * above the client's high-water mark.
 */
#include "session/relay.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"

static uint8_t seq;

static void
put(struct evbuffer *b, const void *p, size_t n)
{
    packet_write(b, &seq, p, n);
}

static void
put_eof(struct evbuffer *b, uint16_t status)
{
    uint8_t e[5] = {0xfe, 0, 0, (uint8_t)status, (uint8_t)(status >> 8)};
    put(b, e, 5);
}

static void
put_ok(struct evbuffer *b, uint8_t affected, uint16_t status)
{
    uint8_t ok[7] = {0, affected, 0, (uint8_t)status, (uint8_t)(status >> 8),
                     0, 0};
    put(b, ok, 7);
}

/* A result set with ncols columns and nrows rows of one short value. */
static void
put_resultset(struct evbuffer *b, int ncols, int nrows, uint16_t status)
{
    uint8_t n = (uint8_t)ncols;
    put(b, &n, 1);
    for (int i = 0; i < ncols; i++)
        put(b,
            "\x03"
            "def\x00\x00\x00\x01"
            "a\x00\x0c\x21\x00\x0b\x00\x00"
            "\x00\xfd\x00\x00\x00\x00\x00",
            24);
    put_eof(b, SERVER_STATUS_AUTOCOMMIT);
    for (int i = 0; i < nrows; i++)
        put(b, "\x01x", 2);
    put_eof(b, status);
}

/* Feeds src to the relay in chunks of step bytes; returns the final status
 * and leaves what was passed in out. */
static enum relay_status
feed(struct relay *r, struct evbuffer *src, struct evbuffer *out, size_t step)
{
    struct evbuffer *in = evbuffer_new();
    enum relay_status st = RELAY_MORE;

    while (evbuffer_get_length(src) > 0) {
        evbuffer_remove_buffer(src, in, step);
        st = relay_pump(r, in, out, (size_t)1 << 40);
        if (st == RELAY_DONE || st == RELAY_BROKEN)
            break;
    }
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    evbuffer_free(in);
    return st;
}

START_TEST(test_multi_result_byte_by_byte)
{
    struct evbuffer *src = evbuffer_new(), *out = evbuffer_new();
    struct relay r;
    size_t total;

    seq = 1;
    put_resultset(src, 2, 3,
                  SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS);
    seq = 1;
    put_ok(src, 5, SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS);
    seq = 1;
    put_resultset(src, 1, 0, SERVER_STATUS_IN_TRANS);
    total = evbuffer_get_length(src);
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(feed(&r, src, out, 1), RELAY_DONE);
    ck_assert_uint_eq(evbuffer_get_length(out), total);
    ck_assert_uint_eq(r.rows, 3);
    ck_assert_uint_eq(r.status, SERVER_STATUS_IN_TRANS);
    evbuffer_free(src);
    evbuffer_free(out);
}
END_TEST

/* A write's OK with its GTID in the session state: the relay records
 * the GTID and passes the OK on without the state the client never asked
 * for. Fed byte by byte. */
START_TEST(test_tracked_ok)
{
    struct evbuffer *src = evbuffer_new(), *out = evbuffer_new();
    struct relay r;
    static const uint8_t ok[] = {0x00, 0x01, 0x00, 0x02, 0x40, 0x00, 0x00,
                                 0x00, 0x13, 0x00, 0x11, 0x09, 'l',  'a',
                                 's',  't',  '_',  'g',  't',  'i',  'd',
                                 0x06, '0',  '-',  '1',  '-',  '4',  '2'};
    uint8_t got[16];

    seq = 1;
    put(src, ok, sizeof(ok));
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(feed(&r, src, out, 1), RELAY_DONE);
    ck_assert(r.got_ok);
    ck_assert(r.got_gtid);
    ck_assert_uint_eq(r.gtid.domain, 0);
    ck_assert_uint_eq(r.gtid.server, 1);
    ck_assert_uint_eq(r.gtid.seqno, 42);
    ck_assert_uint_eq(r.status, SERVER_STATUS_AUTOCOMMIT);
    ck_assert_uint_eq(evbuffer_get_length(out), 4 + 7);
    evbuffer_remove(out, got, sizeof(got));
    ck_assert(memcmp(got,
                     (const uint8_t[]){7, 0, 0, 1, 0x00, 0x01, 0x00, 0x02, 0x00,
                                       0x00, 0x00},
                     11) == 0);
    /* a plain OK passes as it is and names no GTID */
    seq = 1;
    put_ok(src, 1, SERVER_STATUS_AUTOCOMMIT);
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(feed(&r, src, out, 2), RELAY_DONE);
    ck_assert(!r.got_gtid);
    ck_assert_uint_eq(evbuffer_get_length(out), 11);
    evbuffer_free(src);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_error_ends)
{
    struct evbuffer *src = evbuffer_new(), *out = evbuffer_new();
    struct relay r;

    seq = 1;
    put(src, "\xff\x28\x04#42000oops", 14);
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(feed(&r, src, out, 3), RELAY_DONE);
    ck_assert(r.got_err);
    ck_assert_uint_eq(r.err_code, 1064);
    evbuffer_free(src);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_prepare)
{
    struct evbuffer *src = evbuffer_new(), *out = evbuffer_new();
    struct relay r;
    /* stmt 7, 1 column, 2 params */
    const uint8_t ok[12] = {0, 7, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0};

    seq = 1;
    put(src, ok, 12);
    put(src, "param1", 6);
    put(src, "param2", 6);
    put_eof(src, 2);
    put(src, "col1", 4);
    put_eof(src, 2);
    relay_start(&r, RELAY_PREPARE);
    ck_assert_int_eq(feed(&r, src, out, 5), RELAY_DONE);
    ck_assert_uint_eq(r.prep_stmt_id, 7);
    ck_assert_uint_eq(r.prep_params, 2);
    ck_assert_uint_eq(r.prep_cols, 1);
    evbuffer_free(src);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_huge_row_streams)
{
    struct evbuffer *src = evbuffer_new(), *out = evbuffer_new();
    struct relay r;
    size_t big = 0xFFFFFF + 100, total;
    uint8_t *row = malloc(big);

    /* A text row holding one 16 MB+ value: its first byte is 0xfd, the
     * 3-byte length prefix, not an EOF. */
    memset(row, 'z', big);
    row[0] = 0xfd;
    row[1] = (uint8_t)(big - 4);
    row[2] = (uint8_t)((big - 4) >> 8);
    row[3] = (uint8_t)((big - 4) >> 16);
    seq = 1;
    put(src, "\x01", 1);
    put(src, "coldef-bytes", 12);
    put_eof(src, 2);
    put(src, row, big);
    put_eof(src, 2);
    total = evbuffer_get_length(src);
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(feed(&r, src, out, 65536), RELAY_DONE);
    ck_assert_uint_eq(evbuffer_get_length(out), total);
    ck_assert_uint_eq(r.rows, 1);
    free(row);
    evbuffer_free(src);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_pauses_above_high_water)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    struct relay r;

    seq = 1;
    put_resultset(in, 1, 1000, 2);
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(relay_pump(&r, in, out, 100), RELAY_PAUSED);
    ck_assert_uint_lt(evbuffer_get_length(out), 200);
    evbuffer_drain(out, evbuffer_get_length(out));
    while (relay_pump(&r, in, out, 100) == RELAY_PAUSED)
        evbuffer_drain(out, evbuffer_get_length(out));
    ck_assert_int_eq(r.phase, RL_DONE);
    ck_assert_uint_eq(r.rows, 1000);
    evbuffer_free(in);
    evbuffer_free(out);
}
END_TEST

/* Rows of many sizes in a buffer of many small chains, so that headers
 * straddle chains and runs of rows span more chains than one peek holds:
 * every byte comes out unchanged and in order, every row counted. */
START_TEST(test_rows_across_chains)
{
    struct evbuffer *src = evbuffer_new(), *in = evbuffer_new();
    struct evbuffer *out = evbuffer_new();
    uint8_t row[300], *all, *got;
    size_t total, off = 0;
    struct relay r;

    seq = 1;
    put(src, "\x01", 1);
    put(src,
        "\x03"
        "def\x00\x00\x00\x01"
        "a\x00\x0c\x21\x00\x0b\x00\x00"
        "\x00\xfd\x00\x00\x00\x00\x00",
        24);
    put_eof(src, SERVER_STATUS_AUTOCOMMIT);
    for (int i = 0; i < 500; i++) {
        size_t n = 1 + (size_t)(i * 37) % 299;
        row[0] = (uint8_t)(n - 1 < 251 ? n - 1 : 250);
        memset(row + 1, 'a' + i % 26, n - 1);
        put(src, row, row[0] + 1);
    }
    put_eof(src, SERVER_STATUS_AUTOCOMMIT);
    total = evbuffer_get_length(src);
    all = malloc(total);
    evbuffer_copyout(src, all, total);
    for (int k = 0; off < total; k++) {
        size_t n = MIN((size_t)(1 + k % 13), total - off);
        evbuffer_add_reference(in, all + off, n, NULL, NULL);
        off += n;
    }
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(relay_pump(&r, in, out, (size_t)1 << 40), RELAY_DONE);
    ck_assert_uint_eq(r.rows, 500);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    ck_assert_uint_eq(evbuffer_get_length(out), total);
    got = evbuffer_pullup(out, -1);
    ck_assert(memcmp(got, all, total) == 0);
    evbuffer_free(in);
    evbuffer_free(out);
    evbuffer_free(src);
    free(all);
}
END_TEST

/* Rows of many lengths, fed in chunks of every size from 2 to 64 bytes, so
 * that a chunk ends inside a header, a row, the final EOF or an ERR: the
 * relay moves rows cut at the end with the rest following, and the EOF or
 * ERR with the rows before it, and every byte comes out once, in order. */
START_TEST(test_rows_cut_anywhere)
{
    for (int end_err = 0; end_err < 2; end_err++) {
        for (size_t step = 2; step <= 64; step++) {
            struct evbuffer *src = evbuffer_new(), *out = evbuffer_new();
            uint8_t row[80], *all;
            size_t total;
            struct relay r;

            seq = 1;
            put(src, "\x01", 1);
            put(src,
                "\x03"
                "def\x00\x00\x00\x01"
                "a\x00\x0c\x21\x00\x0b\x00\x00"
                "\x00\xfd\x00\x00\x00\x00\x00",
                24);
            put_eof(src, SERVER_STATUS_AUTOCOMMIT);
            for (int i = 0; i < 40; i++) {
                size_t n = 1 + (size_t)(i * 17) % 70;
                row[0] = (uint8_t)(n - 1);
                memset(row + 1, 'a' + i % 26, n - 1);
                put(src, row, n);
            }
            if (end_err)
                put(src, "\xff\x19\x04#HY000boom", 13);
            else
                put_eof(src, SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS);
            total = evbuffer_get_length(src);
            all = malloc(total);
            evbuffer_copyout(src, all, total);
            relay_start(&r, RELAY_RESULT);
            ck_assert_int_eq(feed(&r, src, out, step), RELAY_DONE);
            ck_assert_uint_eq(r.rows, 40);
            ck_assert_uint_eq(evbuffer_get_length(out), total);
            ck_assert(memcmp(evbuffer_pullup(out, -1), all, total) == 0);
            if (end_err) {
                ck_assert(r.got_err);
                ck_assert_uint_eq(r.err_code, 1049);
            } else {
                ck_assert(!r.got_err);
                ck_assert_uint_eq(r.status, SERVER_STATUS_AUTOCOMMIT |
                                                SERVER_STATUS_IN_TRANS);
            }
            free(all);
            evbuffer_free(src);
            evbuffer_free(out);
        }
    }
}
END_TEST

START_TEST(test_swallow_prelude)
{
    struct evbuffer *in = evbuffer_new();
    struct relay r;

    seq = 1;
    put_ok(in, 0, 2);
    relay_start(&r, RELAY_SIMPLE);
    ck_assert_int_eq(relay_pump(&r, in, NULL, 0), RELAY_DONE);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    ck_assert(!r.got_err);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_garbage_column_count)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    struct relay r;

    seq = 1;
    put(in, "\xfb", 1); /* LOCAL INFILE request: never negotiated */
    relay_start(&r, RELAY_RESULT);
    ck_assert_int_eq(relay_pump(&r, in, out, 1 << 20), RELAY_BROKEN);
    evbuffer_free(in);
    evbuffer_free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("relay");
    TCase *tc = tcase_create("framing");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_multi_result_byte_by_byte);
    tcase_add_test(tc, test_error_ends);
    tcase_add_test(tc, test_tracked_ok);
    tcase_add_test(tc, test_prepare);
    tcase_add_test(tc, test_huge_row_streams);
    tcase_add_test(tc, test_pauses_above_high_water);
    tcase_add_test(tc, test_rows_across_chains);
    tcase_add_test(tc, test_rows_cut_anywhere);
    tcase_add_test(tc, test_swallow_prelude);
    tcase_add_test(tc, test_garbage_column_count);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
