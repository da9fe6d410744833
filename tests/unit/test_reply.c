/*
 * test_reply.c - proto's readers of OK, ERR, EOF and column-count packets,
 * from tables of payloads as servers send them (and as they must not):
 * every field read, what is optional, and what is malformed. Round trips
 * through the writers (proto_write_ok/err/eof) check that reader and
 * writer agree.
 */
#include "proto/reply.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__})

struct ok_case {
    const char *name;
    const uint8_t *p;
    size_t len;
    bool ok;
    uint64_t affected, insert_id;
    uint16_t status, warnings;
    const char *info;
};

static const struct ok_case ok_cases[] = {
    {"minimal", B(0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00), 7, true, 0, 0, 2,
     0, ""},
    {"counts", B(0x00, 0x05, 0x07, 0x03, 0x00, 0x01, 0x00), 7, true, 5, 7, 3, 1,
     ""},
    {"lenenc 2-byte affected", B(0x00, 0xfc, 0x10, 0x27, 0x00, 0x02, 0x00), 7,
     true, 10000, 0, 2, 0, ""},
    {"info text", B(0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 'R', 'o', 'w'),
     10, true, 1, 0, 2, 0, "Row"},
    /* under CLIENT_SESSION_TRACK (myshard's backend connections) the info
     * is length-encoded, and the session state follows it */
    {"length-encoded info",
     B(0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 'R', 'o', 'w'), 11, true,
     1, 0, 2, 0, "Row"},
    {"info and session state",
     B(0x00, 0x01, 0x00, 0x02, 0x40, 0x01, 0x00, 0x03, 'R', 'o', 'w', 0x05,
       0x00, 0x03, 0x01, 'a', 0x00),
     17, true, 1, 0, 0x4002, 1, "Row"},
    {"no info, session state",
     B(0x00, 0x01, 0x00, 0x02, 0x40, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 'a'),
     12, true, 1, 0, 0x4002, 0, ""},
    {"0xFE header (DEPRECATE_EOF)", B(0xfe, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00),
     7, true, 0, 0, 0x22, 0, ""},
    {"no warnings (pre-4.1 shape)", B(0x00, 0x01, 0x02, 0x02, 0x00), 5, true, 1,
     2, 2, 0, ""},
    {"status cut", B(0x00, 0x01, 0x02, 0x02), 4, false, 0, 0, 0, 0, NULL},
    {"affected cut", B(0x00, 0xfc, 0x10), 3, false, 0, 0, 0, 0, NULL},
    {"NULL lenenc", B(0x00, 0xfb, 0x00, 0x02, 0x00), 5, false, 0, 0, 0, 0,
     NULL},
    {"ERR header", B(0xff, 0x00, 0x00, 0x02, 0x00), 5, false, 0, 0, 0, 0, NULL},
    {"empty", B(0x00), 0, false, 0, 0, 0, 0, NULL},
};

START_TEST(test_ok_table)
{
    const struct ok_case *c = &ok_cases[_i];
    struct reply_ok ok;
    bool got = reply_parse_ok(c->p, c->len, &ok);

    ck_assert_msg(got == c->ok, "%s", c->name);
    if (!c->ok)
        return;
    ck_assert_uint_eq(ok.affected, c->affected);
    ck_assert_uint_eq(ok.insert_id, c->insert_id);
    ck_assert_uint_eq(ok.status, c->status);
    ck_assert_uint_eq(ok.warnings, c->warnings);
    ck_assert_uint_eq(ok.info_len, strlen(c->info));
    ck_assert(memcmp(ok.info, c->info, ok.info_len) == 0);
}
END_TEST

struct err_case {
    const char *name;
    const uint8_t *p;
    size_t len;
    bool ok;
    uint16_t code;
    const char *state, *msg;
};

static const struct err_case err_cases[] = {
    {"with SQLSTATE",
     B(0xff, 0x7a, 0x04, '#', '4', '2', 'S', '0', '2', 'n', 'o'), 11, true,
     1146, "42S02", "no"},
    {"SQLSTATE, empty message",
     B(0xff, 0x7a, 0x04, '#', '4', '2', 'S', '0', '2'), 9, true, 1146, "42S02",
     ""},
    {"no SQLSTATE", B(0xff, 0x51, 0x04, 'b', 'a', 'd'), 6, true, 1105, "HY000",
     "bad"},
    {"code only", B(0xff, 0x51, 0x04), 3, true, 1105, "HY000", ""},
    {"code cut", B(0xff, 0x51), 2, true, 0, "HY000", ""},
    {"not an ERR", B(0x00, 0x51, 0x04), 3, false, 0, "HY000", ""},
    {"empty", B(0xff), 0, false, 0, "HY000", ""},
};

START_TEST(test_err_table)
{
    const struct err_case *c = &err_cases[_i];
    struct reply_err e;
    bool got = reply_parse_err(c->p, c->len, &e);

    ck_assert_msg(got == c->ok, "%s", c->name);
    ck_assert_str_eq(e.state, c->state);
    if (!c->ok)
        return;
    ck_assert_uint_eq(e.code, c->code);
    ck_assert_uint_eq(e.msg_len, strlen(c->msg));
    ck_assert(memcmp(e.msg, c->msg, e.msg_len) == 0);
}
END_TEST

struct eof_case {
    const char *name;
    const uint8_t *p;
    size_t len;
    bool ok;
    uint16_t warnings, status;
};

static const struct eof_case eof_cases[] = {
    {"4.1 EOF", B(0xfe, 0x01, 0x00, 0x0a, 0x00), 5, true, 1, 0x0a},
    {"more results", B(0xfe, 0x00, 0x00, 0x0a, 0x00), 5, true, 0, 0x0a},
    {"old EOF", B(0xfe), 1, true, 0, 0},
    {"warnings only", B(0xfe, 0x02, 0x00), 3, true, 2, 0},
    {"8 bytes: still EOF", B(0xfe, 0, 0, 2, 0, 0, 0, 0), 8, true, 0, 2},
    {"9 bytes: a row", B(0xfe, 0, 0, 2, 0, 0, 0, 0, 0), 9, false, 0, 0},
    {"OK header", B(0x00, 0, 0, 2, 0), 5, false, 0, 0},
    {"empty", B(0xfe), 0, false, 0, 0},
};

START_TEST(test_eof_table)
{
    const struct eof_case *c = &eof_cases[_i];
    struct reply_eof e;
    bool got = reply_parse_eof(c->p, c->len, &e);

    ck_assert_msg(got == c->ok, "%s", c->name);
    ck_assert(reply_is_eof(c->len ? c->p[0] : 0, c->len) == c->ok);
    if (!c->ok)
        return;
    ck_assert_uint_eq(e.warnings, c->warnings);
    ck_assert_uint_eq(e.status, c->status);
}
END_TEST

struct count_case {
    const char *name;
    const uint8_t *p;
    size_t len;
    bool ok;
    uint64_t n;
    size_t rest;
};

static const struct count_case count_cases[] = {
    {"one", B(0x01), 1, true, 1, 0},
    {"250", B(0xfa), 1, true, 250, 0},
    {"2-byte", B(0xfc, 0x00, 0x10), 3, true, 4096, 0},
    {"metadata-follows byte", B(0x03, 0x01), 2, true, 3, 1},
    {"zero", B(0x00), 1, false, 0, 0},
    {"NULL", B(0xfb), 1, false, 0, 0},
    {"cut", B(0xfc, 0x01), 2, false, 0, 0},
    {"empty", B(0x01), 0, false, 0, 0},
};

START_TEST(test_column_count_table)
{
    const struct count_case *c = &count_cases[_i];
    uint64_t n = 0;
    size_t rest = 99;
    bool got = reply_parse_column_count(c->p, c->len, &n, &rest);

    ck_assert_msg(got == c->ok, "%s", c->name);
    if (!c->ok)
        return;
    ck_assert_uint_eq(n, c->n);
    ck_assert_uint_eq(rest, c->rest);
}
END_TEST

/* Takes one packet's payload off b into p (cap bytes); returns its length. */
static size_t
take(struct evbuffer *b, uint8_t *p, size_t cap)
{
    uint8_t h[4];
    size_t len;

    ck_assert_int_eq(evbuffer_remove(b, h, 4), 4);
    len = (size_t)(h[0] | h[1] << 8 | h[2] << 16);
    ck_assert_uint_le(len, cap);
    ck_assert_int_eq(evbuffer_remove(b, p, len), (int)len);
    return len;
}

START_TEST(test_writers_round_trip)
{
    struct evbuffer *b = evbuffer_new();
    uint8_t seq = 0, p[256];
    struct reply_ok ok;
    struct reply_err e;
    struct reply_eof eof;
    size_t len;

    ck_assert(proto_write_ok(b, &seq, 300, 70000, 0x0022, 3, "Records: 2"));
    ck_assert(proto_write_err(b, &seq, 1062, "23000", "myshard: dup %d", 7));
    ck_assert(proto_write_eof(b, &seq, 4, 0x0022));

    len = take(b, p, sizeof(p));
    ck_assert(reply_parse_ok(p, len, &ok));
    ck_assert_uint_eq(ok.affected, 300);
    ck_assert_uint_eq(ok.insert_id, 70000);
    ck_assert_uint_eq(ok.status, 0x0022);
    ck_assert_uint_eq(ok.warnings, 3);
    ck_assert_uint_eq(ok.info_len, 10);
    ck_assert(memcmp(ok.info, "Records: 2", 10) == 0);

    len = take(b, p, sizeof(p));
    ck_assert(reply_parse_err(p, len, &e));
    ck_assert_uint_eq(e.code, 1062);
    ck_assert_str_eq(e.state, "23000");
    ck_assert_uint_eq(e.msg_len, strlen("myshard: dup 7"));
    ck_assert(memcmp(e.msg, "myshard: dup 7", e.msg_len) == 0);

    len = take(b, p, sizeof(p));
    ck_assert(reply_parse_eof(p, len, &eof));
    ck_assert_uint_eq(eof.warnings, 4);
    ck_assert_uint_eq(eof.status, 0x0022);
    ck_assert_uint_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);
}
END_TEST

/* An OK as MariaDB sends it under CLIENT_SESSION_TRACK after a write with
 * session_track_system_variables=last_gtid: one row inserted, autocommit,
 * state changed; info (when given) then last_gtid = 0-1-10. */
static size_t
tracked_ok(uint8_t *p, const char *info)
{
    size_t n = 0, il = strlen(info);
    static const uint8_t entry[] = {0x00, 0x11, 0x09, 'l', 'a', 's',  't',
                                    '_',  'g',  't',  'i', 'd', 0x06, '0',
                                    '-',  '1',  '-',  '1', '0'};
    p[n++] = 0x00;
    p[n++] = 0x01; /* affected */
    p[n++] = 0x00; /* insert id */
    p[n++] = 0x02;
    p[n++] = 0x40; /* AUTOCOMMIT | SESSION_STATE_CHANGED */
    p[n++] = 0x01;
    p[n++] = 0x00; /* one warning */
    p[n++] = (uint8_t)il;
    memcpy(p + n, info, il);
    n += il;
    p[n++] = (uint8_t)sizeof(entry);
    memcpy(p + n, entry, sizeof(entry));
    return n + sizeof(entry);
}

START_TEST(test_session_state)
{
    uint8_t p[128], out[128];
    size_t len = tracked_ok(p, "");
    struct reply_ok ok;
    const uint8_t *st, *v;
    size_t slen, vlen, n;

    ck_assert(reply_parse_ok_state(p, len, &ok, &st, &slen));
    ck_assert_uint_eq(ok.affected, 1);
    ck_assert_uint_eq(ok.status, 0x4002);
    ck_assert_uint_eq(ok.warnings, 1);
    ck_assert_uint_eq(ok.info_len, 0);
    ck_assert_uint_eq(slen, 19);
    ck_assert(reply_state_sysvar(st, slen, "last_gtid", &v, &vlen));
    ck_assert_uint_eq(vlen, 6);
    ck_assert(memcmp(v, "0-1-10", 6) == 0);
    ck_assert(!reply_state_sysvar(st, slen, "autocommit", &v, &vlen));
    /* a truncated block is malformed, not read past */
    ck_assert(!reply_state_sysvar(st, slen - 1, "last_gtid", &v, &vlen));
    ck_assert(!reply_parse_ok_state(p, len - 1, &ok, &st, &slen));

    /* for a client without session tracking: no flag, no state */
    n = reply_ok_untrack(p, len, out);
    ck_assert_uint_eq(n, 7);
    ck_assert(memcmp(out, B(0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00), 7) == 0);
    /* with an info: it stays, length-encoded as the server writes it */
    len = tracked_ok(p, "Rows matched: 1");
    n = reply_ok_untrack(p, len, out);
    ck_assert_uint_eq(n, 7 + 1 + 15);
    ck_assert_uint_eq(out[7], 15);
    ck_assert(memcmp(out + 8, "Rows matched: 1", 15) == 0);
    ck_assert(reply_parse_ok(out, n, &ok));
    ck_assert_uint_eq(ok.status, 0x0002);
    /* an OK without the flag is not one */
    ck_assert_uint_eq(
        reply_ok_untrack(B(0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00), 7, out),
        0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("reply");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, test_ok_table, 0,
                        (int)(sizeof(ok_cases) / sizeof(ok_cases[0])));
    tcase_add_loop_test(tc, test_err_table, 0,
                        (int)(sizeof(err_cases) / sizeof(err_cases[0])));
    tcase_add_loop_test(tc, test_eof_table, 0,
                        (int)(sizeof(eof_cases) / sizeof(eof_cases[0])));
    tcase_add_loop_test(tc, test_column_count_table, 0,
                        (int)(sizeof(count_cases) / sizeof(count_cases[0])));
    tcase_add_test(tc, test_writers_round_trip);
    tcase_add_test(tc, test_session_state);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
