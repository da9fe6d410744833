/*
 * test_row.c - result/row.c: text and binary rows read by a result's
 * shape (types from the columns, the visible prefix of a text row), rows
 * written back in either protocol and read again, and a row copied with
 * its values re-pointed into the copy. Also result/column.c's column_set,
 * which collects a result's definitions as they arrive.
 */
#include "result/row.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "result/column.h"

#include "coldef_helper.h"

START_TEST(test_text_row_shape)
{
    struct column cols[3];
    struct row_shape rs = {.cols = cols, .ncols = 3, .visible = 2};
    const uint8_t row[] = {2, '4', '2', 0xfb, 3, 'a', 'b', 'c'};
    struct binproto_value v[3];
    size_t vis = 0;

    cols[0] = make_column(MYSQL_TYPE_LONG, 63, 0, 0);
    cols[1] = make_column(MYSQL_TYPE_VAR_STRING, 45, 0, 0);
    cols[2] = make_column(MYSQL_TYPE_BLOB, 63, 0, 0);
    ck_assert(row_parse(&rs, NULL, row, sizeof(row), v, &vis));
    ck_assert_uint_eq(vis, 4);
    ck_assert_uint_eq(v[0].type, MYSQL_TYPE_LONG);
    ck_assert_uint_eq(v[0].len, 2);
    ck_assert(v[1].is_null);
    ck_assert_uint_eq(v[1].type, MYSQL_TYPE_VAR_STRING);
    ck_assert_uint_eq(v[2].type, MYSQL_TYPE_BLOB);
    ck_assert(memcmp(v[2].str, "abc", 3) == 0);
    ck_assert(!row_parse(&rs, NULL, row, sizeof(row) - 1, v, &vis));
}
END_TEST

START_TEST(test_binary_round_trip)
{
    struct column cols[3];
    struct row_shape rs = {
        .cols = cols, .ncols = 3, .visible = 3, .binary = true};
    uint16_t types[3];
    struct binproto_value in[3] = {
        {.type = MYSQL_TYPE_LONGLONG, .is_unsigned = true, .u64 = 7, .i64 = 7},
        {.type = MYSQL_TYPE_VAR_STRING, .is_null = true},
        {.type = MYSQL_TYPE_VAR_STRING, .str = (const uint8_t *)"hi", .len = 2},
    };
    struct binproto_value out[3];
    struct pktbuf pb;
    size_t vis = 99;

    cols[0] = make_column(MYSQL_TYPE_LONGLONG, 63, UNSIGNED_FLAG, 0);
    cols[1] = make_column(MYSQL_TYPE_VAR_STRING, 45, 0, 0);
    cols[2] = make_column(MYSQL_TYPE_VAR_STRING, 45, 0, 0);
    for (int i = 0; i < 3; i++)
        types[i] = cols[i].tw;
    pktbuf_init(&pb);
    ck_assert(row_encode(&rs, &pb, in, 3));
    ck_assert(row_parse(&rs, types, pb.buf, pb.len, out, &vis));
    ck_assert_uint_eq(vis, 0);
    ck_assert(out[0].is_unsigned);
    ck_assert_uint_eq(out[0].u64, 7);
    ck_assert(out[1].is_null);
    ck_assert_uint_eq(out[2].len, 2);
    ck_assert(memcmp(out[2].str, "hi", 2) == 0);

    /* The same values as a text row of the first two columns. */
    rs.binary = false;
    in[0] = (struct binproto_value){.str = (const uint8_t *)"7", .len = 1};
    ck_assert(row_encode(&rs, &pb, in, 2));
    ck_assert_uint_eq(pb.len, 3);
    ck_assert(memcmp(pb.buf,
                     "\x01"
                     "7\xfb",
                     3) == 0);
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_copy_repoints)
{
    uint8_t pkt[] = {3, 'a', 'b', 'c'};
    struct binproto_value v[2] = {
        {.str = pkt + 1, .len = 3},
        {.str = (const uint8_t *)"computed", .len = 8},
    };
    struct row_copy rc = {0};

    row_copy_set(&rc, 2, pkt, sizeof(pkt), v);
    memset(pkt, 'x', sizeof(pkt)); /* the packet is gone */
    ck_assert_uint_eq(rc.len, 4);
    ck_assert(rc.v[0].str == rc.p + 1);
    ck_assert(memcmp(rc.v[0].str, "abc", 3) == 0);
    ck_assert(rc.v[1].str == v[1].str); /* not in the packet: kept */
    row_copy_set(&rc, 2, pkt, 2, v);    /* reused */
    ck_assert_uint_eq(rc.len, 2);
    row_copy_free(&rc);
    ck_assert_ptr_null(rc.p);
}
END_TEST

/* A definition payload rs_columns writes for a column named name. */
static size_t
def_payload(const char *name, uint8_t type, uint8_t *p, size_t cap)
{
    struct evbuffer *b = evbuffer_new();
    struct coldef d = {.name = name, .charset = 63, .type = type};
    struct rs_writer w;
    uint8_t h[4];
    size_t len;

    rs_begin(&w, b, 0, true, 0);
    rs_columns(&w, &d, 1);
    evbuffer_drain(b, 5);
    ck_assert_int_eq(evbuffer_remove(b, h, 4), 4);
    len = h[0];
    ck_assert_uint_le(len, cap);
    ck_assert_int_eq(evbuffer_remove(b, p, len), (int)len);
    evbuffer_free(b);
    return len;
}

START_TEST(test_column_set)
{
    struct column_set cs, nodefs;
    uint8_t p[128];
    size_t len;

    column_set_init(&cs, 2, true);
    column_set_init(&nodefs, 1, false);
    len = def_payload("a", MYSQL_TYPE_TINY, p, sizeof(p));
    ck_assert(column_set_add(&cs, p, len));
    ck_assert(column_set_add(&nodefs, p, len));
    ck_assert(!column_set_add(&nodefs, p, len)); /* all read */
    ck_assert_ptr_null(nodefs.defs);
    ck_assert(!column_set_add(&cs, p, 3)); /* malformed */
    len = def_payload("b", MYSQL_TYPE_DOUBLE, p, sizeof(p));
    ck_assert(column_set_add(&cs, p, len));
    ck_assert_uint_eq(cs.got, 2);
    ck_assert_uint_eq(cs.types[0], MYSQL_TYPE_TINY);
    ck_assert_uint_eq(cs.cols[1].cls, COL_FLOAT);
    ck_assert_uint_eq(cs.def_len[1], len);
    ck_assert(memcmp(cs.defs[1], p, len) == 0);
    column_set_free(&cs);
    column_set_free(&nodefs);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("row");
    TCase *tc = tcase_create("row");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_text_row_shape);
    tcase_add_test(tc, test_binary_round_trip);
    tcase_add_test(tc, test_copy_repoints);
    tcase_add_test(tc, test_column_set);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
