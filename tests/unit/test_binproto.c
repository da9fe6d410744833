/*
 * test_binproto.c - binary protocol codecs against packets captured
 * between libmariadb 3.3 and MariaDB 10.11: COM_STMT_PREPARE_OK, a
 * COM_STMT_EXECUTE binding twelve typed parameters (one NULL), the next
 * execute reusing the bound types, and the binary row SELECT * returned for
 * the table they filled. Each capture is decoded field by field and
 * re-encoded byte for byte; every truncation and a set of malformed values
 * are rejected; NULL bitmaps are checked across byte boundaries.
 *
 * The table: a TINYINT, b SMALLINT UNSIGNED, c INT, d BIGINT UNSIGNED,
 * e FLOAT, f DOUBLE, g VARCHAR(20), h DATE, i DATETIME(6), j TIME, k INT,
 * l DECIMAL(10,2); bound values -5, 65535, -123456, 2^64-1, 1.5, -2.25,
 * "h\xc3\xa9llo", 2024-02-29, 2024-02-29 13:45:56.123456, -838:59:59 (which
 * libmariadb sends as hour 838 mod 256 = 70), NULL, "1234.56".
 */
#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t prepare_ok_insert[] = {
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t execute_first[] = {
    0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04,
    0x01, 0x01, 0x00, 0x02, 0x80, 0x03, 0x00, 0x08, 0x80, 0x04, 0x00, 0x05,
    0x00, 0xfe, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0b, 0x00, 0x03, 0x00, 0xf6,
    0x00, 0xfb, 0xff, 0xff, 0xc0, 0x1d, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x02, 0xc0, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x04,
    0xe8, 0x07, 0x02, 0x1d, 0x0b, 0xe8, 0x07, 0x02, 0x1d, 0x0d, 0x2d, 0x38,
    0x40, 0xe2, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x46, 0x3b,
    0x3b, 0x07, 0x31, 0x32, 0x33, 0x34, 0x2e, 0x35, 0x36,
};

static const uint8_t execute_again[] = {
    0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04,
    0x00, 0x07, 0xff, 0xff, 0x2a, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x02, 0xc0, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x04,
    0xe8, 0x07, 0x02, 0x1d, 0x0b, 0xe8, 0x07, 0x02, 0x1d, 0x0d, 0x2d, 0x38,
    0x40, 0xe2, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x46, 0x3b,
    0x3b, 0x07, 0x31, 0x32, 0x33, 0x34, 0x2e, 0x35, 0x36,
};

static const uint8_t prepare_ok_select[] = {
    0x00, 0x02, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t execute_select[] = {
    0x17, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x03, 0x00, 0xc0, 0x1d, 0xfe, 0xff,
};

static const uint8_t binary_row[] = {
    0x00, 0x00, 0x10, 0xfb, 0xff, 0xff, 0xc0, 0x1d, 0xfe, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0xc0, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c,
    0x6f, 0x04, 0xe8, 0x07, 0x02, 0x1d, 0x0b, 0xe8, 0x07, 0x02, 0x1d, 0x0d,
    0x2d, 0x38, 0x40, 0xe2, 0x01, 0x00, 0x08, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x16, 0x3b, 0x3b, 0x07, 0x31, 0x32, 0x33, 0x34, 0x2e, 0x35, 0x36,
};

/* The parameter types execute_first binds, and the row's column types
 * (from the column definitions MariaDB sent for SELECT * FROM t). */
static const uint16_t table_types[12] = {
    MYSQL_TYPE_TINY,     MYSQL_TYPE_SHORT | BINPROTO_UNSIGNED,
    MYSQL_TYPE_LONG,     MYSQL_TYPE_LONGLONG | BINPROTO_UNSIGNED,
    MYSQL_TYPE_FLOAT,    MYSQL_TYPE_DOUBLE,
    MYSQL_TYPE_STRING,   MYSQL_TYPE_DATE,
    MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIME,
    MYSQL_TYPE_LONG,     MYSQL_TYPE_NEWDECIMAL,
};

static void
assert_str(const struct binproto_value *v, const char *want)
{
    ck_assert(!v->is_null);
    ck_assert_uint_eq(v->len, strlen(want));
    ck_assert(memcmp(v->str, want, v->len) == 0);
}

/* Checks the values common to execute_first and binary_row; time_days and
 * time_hour differ (the server normalised 70 hours into 2 days 22 hours). */
static void
assert_table_values(const struct binproto_value *v, uint32_t time_days,
                    uint8_t time_hour)
{
    ck_assert_uint_eq(v[0].type, MYSQL_TYPE_TINY);
    ck_assert(!v[0].is_unsigned);
    ck_assert_int_eq(v[0].i64, -5);
    ck_assert(v[1].is_unsigned);
    ck_assert_uint_eq(v[1].u64, 65535);
    ck_assert_int_eq(v[2].i64, -123456);
    ck_assert(v[3].is_unsigned);
    ck_assert_uint_eq(v[3].u64, UINT64_MAX);
    ck_assert(v[4].f64 == 1.5);
    ck_assert(v[5].f64 == -2.25);
    assert_str(&v[6], "h\xc3\xa9llo");
    ck_assert_uint_eq(v[7].tm.year, 2024);
    ck_assert_uint_eq(v[7].tm.month, 2);
    ck_assert_uint_eq(v[7].tm.day, 29);
    ck_assert_uint_eq(v[8].tm.year, 2024);
    ck_assert_uint_eq(v[8].tm.hour, 13);
    ck_assert_uint_eq(v[8].tm.minute, 45);
    ck_assert_uint_eq(v[8].tm.second, 56);
    ck_assert_uint_eq(v[8].tm.microsecond, 123456);
    ck_assert(v[9].tm.negative);
    ck_assert_uint_eq(v[9].tm.days, time_days);
    ck_assert_uint_eq(v[9].tm.hour, time_hour);
    ck_assert_uint_eq(v[9].tm.minute, 59);
    ck_assert_uint_eq(v[9].tm.second, 59);
    ck_assert_uint_eq(v[9].tm.microsecond, 0);
    ck_assert(v[10].is_null);
    ck_assert_uint_eq(v[10].type, MYSQL_TYPE_LONG);
    assert_str(&v[11], "1234.56");
}

START_TEST(test_prepare_ok)
{
    struct binproto_prepare_ok ok;
    struct pktbuf pb;
    uint8_t buf[12];

    ck_assert(binproto_parse_prepare_ok(prepare_ok_insert,
                                        sizeof(prepare_ok_insert), &ok));
    ck_assert_uint_eq(ok.stmt_id, 1);
    ck_assert_uint_eq(ok.num_columns, 0);
    ck_assert_uint_eq(ok.num_params, 12);
    ck_assert_uint_eq(ok.warnings, 0);
    ck_assert(binproto_parse_prepare_ok(prepare_ok_select,
                                        sizeof(prepare_ok_select), &ok));
    ck_assert_uint_eq(ok.stmt_id, 2);
    ck_assert_uint_eq(ok.num_columns, 12);
    ck_assert_uint_eq(ok.num_params, 1);

    pktbuf_init(&pb);
    binproto_write_prepare_ok(&pb, &ok);
    ck_assert_uint_eq(pb.len, sizeof(prepare_ok_select));
    ck_assert(memcmp(pb.buf, prepare_ok_select, pb.len) == 0);
    pktbuf_free(&pb);

    /* warnings optional; shorter is malformed; ERR is not a PREPARE_OK */
    memcpy(buf, prepare_ok_select, sizeof(buf));
    buf[10] = 3;
    ck_assert(binproto_parse_prepare_ok(buf, 12, &ok));
    ck_assert_uint_eq(ok.warnings, 3);
    ck_assert(binproto_parse_prepare_ok(buf, 10, &ok));
    ck_assert_uint_eq(ok.warnings, 0);
    for (size_t n = 0; n < 10; n++)
        ck_assert(!binproto_parse_prepare_ok(buf, n, &ok));
    buf[0] = 0xff;
    ck_assert(!binproto_parse_prepare_ok(buf, 12, &ok));
}
END_TEST

START_TEST(test_execute_stmt_id)
{
    uint32_t id = 0;

    ck_assert(
        binproto_execute_stmt_id(execute_select, sizeof(execute_select), &id));
    ck_assert_uint_eq(id, 2);
    ck_assert(!binproto_execute_stmt_id(execute_select, 4, &id));
    ck_assert(!binproto_execute_stmt_id(prepare_ok_select,
                                        sizeof(prepare_ok_select), &id));
}
END_TEST

START_TEST(test_execute_first)
{
    struct binproto_execute ex;
    struct binproto_value v[12];
    uint16_t types[12] = {0};
    bool bound = false;

    ck_assert(binproto_parse_execute(execute_first, sizeof(execute_first), 12,
                                     types, &bound, NULL, &ex, v));
    ck_assert_uint_eq(ex.stmt_id, 1);
    ck_assert_uint_eq(ex.flags, CURSOR_TYPE_NO_CURSOR);
    ck_assert_uint_eq(ex.iterations, 1);
    ck_assert(ex.new_params_bound);
    ck_assert(bound);
    ck_assert(memcmp(types, table_types, sizeof(types)) == 0);
    /* libmariadb sends hour 838 in one byte: 838 mod 256 */
    assert_table_values(v, 0, 70);
    /* values point into the packet */
    ck_assert(v[6].str > execute_first &&
              v[6].str < execute_first + sizeof(execute_first));
}
END_TEST

START_TEST(test_execute_again)
{
    struct binproto_execute ex;
    struct binproto_value v[12];
    uint16_t types[12];
    bool bound = true;

    memcpy(types, table_types, sizeof(types));
    ck_assert(binproto_parse_execute(execute_again, sizeof(execute_again), 12,
                                     types, &bound, NULL, &ex, v));
    ck_assert(!ex.new_params_bound);
    ck_assert(memcmp(types, table_types, sizeof(types)) == 0);
    ck_assert_int_eq(v[0].i64, 7);
    ck_assert_uint_eq(v[1].u64, 65535);
    ck_assert_int_eq(v[2].i64, 42);
    ck_assert(v[10].is_null);
    assert_str(&v[11], "1234.56");

    /* without types bound before, non-NULL values cannot be read */
    bound = false;
    ck_assert(!binproto_parse_execute(execute_again, sizeof(execute_again), 12,
                                      types, &bound, NULL, &ex, v));
    ck_assert(!bound);
}
END_TEST

START_TEST(test_execute_select)
{
    struct binproto_execute ex;
    struct binproto_value v[1];
    uint16_t types[1];
    bool bound = false;

    ck_assert(binproto_parse_execute(execute_select, sizeof(execute_select), 1,
                                     types, &bound, NULL, &ex, v));
    ck_assert_uint_eq(ex.stmt_id, 2);
    ck_assert_uint_eq(types[0], MYSQL_TYPE_LONG);
    ck_assert_int_eq(v[0].i64, -123456);
}
END_TEST

START_TEST(test_execute_truncated)
{
    struct binproto_execute ex;
    struct binproto_value v[12];
    uint16_t types[12];
    bool bound;
    uint8_t more[sizeof(execute_first) + 1];

    for (size_t n = 0; n < sizeof(execute_first); n++) {
        uint8_t *copy = xmalloc(n);

        memcpy(copy, execute_first, n);
        memset(types, 0xee, sizeof(types));
        bound = false;
        ck_assert_msg(
            !binproto_parse_execute(copy, n, 12, types, &bound, NULL, &ex, v),
            "prefix %zu accepted", n);
        /* a failed parse binds nothing */
        ck_assert(!bound);
        ck_assert_uint_eq(types[0], 0xeeee);
        free(copy);
    }
    memcpy(more, execute_first, sizeof(execute_first));
    more[sizeof(execute_first)] = 0;
    bound = false;
    ck_assert(!binproto_parse_execute(more, sizeof(more), 12, types, &bound,
                                      NULL, &ex, v));
    /* the wrong parameter count misreads the packet */
    ck_assert(!binproto_parse_execute(execute_first, sizeof(execute_first), 11,
                                      types, &bound, NULL, &ex, v));
}
END_TEST

START_TEST(test_execute_malformed)
{
    struct binproto_execute ex;
    struct binproto_value v[12];
    uint16_t types[12];
    bool bound;
    uint8_t buf[sizeof(execute_first)];
    /* offsets in execute_first */
    const size_t bound_flag = 12, type0 = 13, time_len = 88;

    ck_assert_uint_eq(execute_first[time_len], 8);

    memcpy(buf, execute_first, sizeof(buf));
    buf[0] = COM_STMT_PREPARE;
    bound = false;
    ck_assert(!binproto_parse_execute(buf, sizeof(buf), 12, types, &bound, NULL,
                                      &ex, v));

    memcpy(buf, execute_first, sizeof(buf));
    buf[bound_flag] = 2;
    ck_assert(!binproto_parse_execute(buf, sizeof(buf), 12, types, &bound, NULL,
                                      &ex, v));

    memcpy(buf, execute_first, sizeof(buf));
    buf[type0] = 0x20; /* no such type */
    ck_assert(!binproto_parse_execute(buf, sizeof(buf), 12, types, &bound, NULL,
                                      &ex, v));
    buf[type0] = MYSQL_TYPE_NEWDATE; /* server-internal, never on the wire */
    ck_assert(!binproto_parse_execute(buf, sizeof(buf), 12, types, &bound, NULL,
                                      &ex, v));

    memcpy(buf, execute_first, sizeof(buf));
    buf[time_len] = 9; /* TIME is 0, 8 or 12 bytes */
    ck_assert(!binproto_parse_execute(buf, sizeof(buf), 12, types, &bound, NULL,
                                      &ex, v));
    memcpy(buf, execute_first, sizeof(buf));
    buf[time_len + 1] = 2; /* the sign is 0 or 1 */
    ck_assert(!binproto_parse_execute(buf, sizeof(buf), 12, types, &bound, NULL,
                                      &ex, v));
    ck_assert(!bound);
}
END_TEST

START_TEST(test_execute_reencode)
{
    struct binproto_execute ex;
    struct binproto_value v[12];
    uint16_t types[12];
    bool bound = false;
    struct pktbuf pb;

    pktbuf_init(&pb);
    ck_assert(binproto_parse_execute(execute_first, sizeof(execute_first), 12,
                                     types, &bound, NULL, &ex, v));
    binproto_write_execute(&pb, ex.stmt_id, ex.flags, v, 12, true);
    ck_assert(!pb.failed);
    ck_assert_uint_eq(pb.len, sizeof(execute_first));
    ck_assert(memcmp(pb.buf, execute_first, pb.len) == 0);

    ck_assert(binproto_parse_execute(execute_again, sizeof(execute_again), 12,
                                     types, &bound, NULL, &ex, v));
    pktbuf_reset(&pb);
    binproto_write_execute(&pb, ex.stmt_id, ex.flags, v, 12, false);
    ck_assert_uint_eq(pb.len, sizeof(execute_again));
    ck_assert(memcmp(pb.buf, execute_again, pb.len) == 0);

    /* re-targeted to another backend statement id, types resent */
    pktbuf_reset(&pb);
    binproto_write_execute(&pb, 77, 0, v, 12, true);
    bound = false;
    ck_assert(binproto_parse_execute(pb.buf, pb.len, 12, types, &bound, NULL,
                                     &ex, v));
    ck_assert_uint_eq(ex.stmt_id, 77);
    ck_assert_int_eq(v[2].i64, 42);

    /* no parameters: just the fixed part */
    pktbuf_reset(&pb);
    binproto_write_execute(&pb, 5, CURSOR_TYPE_READ_ONLY, NULL, 0, true);
    ck_assert_uint_eq(pb.len, 10);
    ck_assert(
        binproto_parse_execute(pb.buf, pb.len, 0, NULL, &bound, NULL, &ex, v));
    ck_assert_uint_eq(ex.flags, CURSOR_TYPE_READ_ONLY);
    pktbuf_put_u8(&pb, 0);
    ck_assert(
        !binproto_parse_execute(pb.buf, pb.len, 0, NULL, &bound, NULL, &ex, v));

    /* a type without binary encoding fails the builder */
    pktbuf_reset(&pb);
    v[0].type = 0x20;
    binproto_write_execute(&pb, 1, 0, v, 12, true);
    ck_assert(pb.failed);
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_execute_long_data)
{
    struct binproto_value in[3], out[3];
    struct binproto_execute ex;
    uint16_t types[3];
    bool bound = false;
    bool long_data[3] = {false, true, false};
    struct pktbuf pb;

    memset(in, 0, sizeof(in));
    in[0].type = MYSQL_TYPE_LONGLONG;
    in[0].i64 = -1;
    in[1].type = MYSQL_TYPE_BLOB;
    in[1].long_data = true;
    in[2].type = MYSQL_TYPE_VAR_STRING;
    in[2].str = (const uint8_t *)"xyz";
    in[2].len = 3;

    pktbuf_init(&pb);
    binproto_write_execute(&pb, 9, 0, in, 3, true);
    /* 10 fixed + 1 bitmap + 1 flag + 6 types + 8 + 4 */
    ck_assert_uint_eq(pb.len, 30);
    ck_assert_uint_eq(pb.buf[10], 0); /* long data is not NULL */
    ck_assert(binproto_parse_execute(pb.buf, pb.len, 3, types, &bound,
                                     long_data, &ex, out));
    ck_assert_int_eq(out[0].i64, -1);
    ck_assert(out[1].long_data);
    ck_assert(!out[1].is_null);
    ck_assert_uint_eq(out[1].type, MYSQL_TYPE_BLOB);
    assert_str(&out[2], "xyz");
    /* read without the long-data marks, the blob would eat "xyz" */
    bound = false;
    ck_assert(!binproto_parse_execute(pb.buf, pb.len, 3, types, &bound, NULL,
                                      &ex, out));
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_row_capture)
{
    struct binproto_value v[12];
    struct pktbuf pb;

    ck_assert(
        binproto_parse_row(binary_row, sizeof(binary_row), table_types, 12, v));
    assert_table_values(v, 2, 22);

    pktbuf_init(&pb);
    ck_assert(binproto_write_row(&pb, v, 12));
    ck_assert_uint_eq(pb.len, sizeof(binary_row));
    ck_assert(memcmp(pb.buf, binary_row, pb.len) == 0);
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_row_malformed)
{
    struct binproto_value v[12];
    uint8_t buf[sizeof(binary_row) + 1];
    uint16_t types[12];

    for (size_t n = 0; n < sizeof(binary_row); n++) {
        uint8_t *copy = xmalloc(n);

        memcpy(copy, binary_row, n);
        ck_assert_msg(!binproto_parse_row(copy, n, table_types, 12, v),
                      "prefix %zu accepted", n);
        free(copy);
    }
    memcpy(buf, binary_row, sizeof(binary_row));
    buf[sizeof(binary_row)] = 0;
    ck_assert(!binproto_parse_row(buf, sizeof(buf), table_types, 12, v));
    buf[0] = 0xfe;
    ck_assert(!binproto_parse_row(buf, sizeof(binary_row), table_types, 12, v));

    /* the wrong column types misread the row */
    memcpy(types, table_types, sizeof(types));
    types[0] = MYSQL_TYPE_SHORT;
    ck_assert(
        !binproto_parse_row(binary_row, sizeof(binary_row), types, 12, v));
    types[0] = 0x20;
    ck_assert(
        !binproto_parse_row(binary_row, sizeof(binary_row), types, 12, v));
}
END_TEST

/* Rows of 0..20 columns with every third (shifted) column NULL: the bitmap
 * is (n + 9) / 8 bytes, column i at bit i + 2. */
START_TEST(test_row_bitmap)
{
    struct binproto_value in[20], out[20];
    uint16_t types[20];
    struct pktbuf pb;

    pktbuf_init(&pb);
    for (size_t n = 0; n <= 20; n++) {
        for (size_t shift = 0; shift < 3; shift++) {
            size_t nulls = 0;

            memset(in, 0, sizeof(in));
            for (size_t i = 0; i < n; i++) {
                types[i] = MYSQL_TYPE_LONG | BINPROTO_UNSIGNED;
                in[i].type = MYSQL_TYPE_LONG;
                in[i].is_unsigned = true;
                in[i].u64 = 1000 + i;
                in[i].is_null = (i + shift) % 3 == 0;
                nulls += in[i].is_null;
            }
            pktbuf_reset(&pb);
            ck_assert(binproto_write_row(&pb, in, n));
            ck_assert_uint_eq(pb.len, 1 + (n + 9) / 8 + 4 * (n - nulls));
            for (size_t i = 0; i < n; i++)
                ck_assert_uint_eq((pb.buf[1 + (i + 2) / 8] >> ((i + 2) % 8)) &
                                      1,
                                  in[i].is_null);
            ck_assert_uint_eq(pb.buf[1] & 3, 0);
            ck_assert(binproto_parse_row(pb.buf, pb.len, types, n, out));
            for (size_t i = 0; i < n; i++) {
                ck_assert(out[i].is_null == in[i].is_null);
                if (!in[i].is_null)
                    ck_assert_uint_eq(out[i].u64, 1000 + i);
            }
        }
    }
    pktbuf_free(&pb);
}
END_TEST

/* Each type: encoded bytes after a one-column row's header and bitmap. */
START_TEST(test_value_encodings)
{
    static const struct {
        struct binproto_value v;
        const char *bytes;
        size_t len;
    } cases[] = {
        {{.type = MYSQL_TYPE_TINY, .i64 = -1}, "\xff", 1},
        {{.type = MYSQL_TYPE_TINY, .is_unsigned = true, .u64 = 200}, "\xc8", 1},
        {{.type = MYSQL_TYPE_SHORT, .i64 = -2}, "\xfe\xff", 2},
        {{.type = MYSQL_TYPE_YEAR, .i64 = 2024}, "\xe8\x07", 2},
        {{.type = MYSQL_TYPE_INT24, .i64 = -3}, "\xfd\xff\xff\xff", 4},
        {{.type = MYSQL_TYPE_LONGLONG, .i64 = INT64_MIN},
         "\x00\x00\x00\x00\x00\x00\x00\x80",
         8},
        {{.type = MYSQL_TYPE_FLOAT, .f64 = -0.5}, "\x00\x00\x00\xbf", 4},
        {{.type = MYSQL_TYPE_DOUBLE, .f64 = 1.0},
         "\x00\x00\x00\x00\x00\x00\xf0\x3f",
         8},
        {{.type = MYSQL_TYPE_DATE}, "\x00", 1},
        {{.type = MYSQL_TYPE_DATE,
          .tm = {.year = 1999, .month = 12, .day = 31, .hour = 5}},
         "\x04\xcf\x07\x0c\x1f",
         5},
        {{.type = MYSQL_TYPE_DATETIME,
          .tm = {.year = 1999, .month = 12, .day = 31}},
         "\x04\xcf\x07\x0c\x1f",
         5},
        {{.type = MYSQL_TYPE_TIMESTAMP,
          .tm = {.year = 2000, .month = 1, .day = 2, .second = 3}},
         "\x07\xd0\x07\x01\x02\x00\x00\x03",
         8},
        {{.type = MYSQL_TYPE_TIME}, "\x00", 1},
        {{.type = MYSQL_TYPE_TIME, .tm = {.negative = true}},
         "\x08\x01\x00\x00\x00\x00\x00\x00\x00",
         9},
        {{.type = MYSQL_TYPE_TIME, .tm = {.days = 1, .microsecond = 5}},
         "\x0c\x00\x01\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00",
         13},
        {{.type = MYSQL_TYPE_BLOB, .str = (const uint8_t *)"", .len = 0},
         "\x00",
         1},
        {{.type = MYSQL_TYPE_JSON, .str = (const uint8_t *)"{}", .len = 2},
         "\x02{}",
         3},
    };
    struct pktbuf pb;
    struct binproto_value out;

    pktbuf_init(&pb);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct binproto_value *v = &cases[i].v;
        uint16_t tw = v->type | (v->is_unsigned ? BINPROTO_UNSIGNED : 0);

        pktbuf_reset(&pb);
        ck_assert(binproto_write_row(&pb, v, 1));
        ck_assert_msg(pb.len == 2 + cases[i].len &&
                          memcmp(pb.buf + 2, cases[i].bytes, cases[i].len) == 0,
                      "case %zu encodes wrongly", i);
        ck_assert(binproto_parse_row(pb.buf, pb.len, &tw, 1, &out));
        ck_assert_uint_eq(out.type, v->type);
        ck_assert_uint_eq(out.u64, v->is_unsigned ? v->u64 : (uint64_t)v->i64);
        ck_assert(out.f64 == v->f64);
        ck_assert_uint_eq(out.len, v->len);
        if (v->type != MYSQL_TYPE_DATE)
            ck_assert(memcmp(&out.tm, &v->tm, sizeof(out.tm)) == 0);
    }

    /* MYSQL_TYPE_NULL takes no bytes; an unknown type has no encoding */
    {
        struct binproto_value n = {.type = MYSQL_TYPE_NULL};
        struct binproto_value bad = {.type = 0x20};

        pktbuf_reset(&pb);
        ck_assert(binproto_put_value(&pb, &n));
        ck_assert_uint_eq(pb.len, 0);
        ck_assert(!binproto_put_value(&pb, &bad));
        ck_assert_uint_eq(pb.len, 0);
        ck_assert(!binproto_write_row(&pb, &bad, 1));
    }
    pktbuf_free(&pb);
}
END_TEST

START_TEST(test_date_lengths)
{
    /* DATE/DATETIME lengths other than 0, 4, 7, 11 are malformed */
    uint16_t tw = MYSQL_TYPE_DATETIME;
    struct binproto_value v;
    uint8_t row[16] = {0x00, 0x00};

    for (uint8_t n = 0; n <= 13; n++) {
        bool valid = n == 0 || n == 4 || n == 7 || n == 11;
        row[2] = n;
        memset(row + 3, 1, sizeof(row) - 3);
        ck_assert_msg(binproto_parse_row(row, 3 + (size_t)n, &tw, 1, &v) ==
                          valid,
                      "length %u", n);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("binproto");
    TCase *tp = tcase_create("prepare");
    TCase *te = tcase_create("execute");
    TCase *tr = tcase_create("rows");
    SRunner *sr;
    int failed;

    tcase_add_test(tp, test_prepare_ok);
    tcase_add_test(tp, test_execute_stmt_id);
    suite_add_tcase(s, tp);
    tcase_add_test(te, test_execute_first);
    tcase_add_test(te, test_execute_again);
    tcase_add_test(te, test_execute_select);
    tcase_add_test(te, test_execute_truncated);
    tcase_add_test(te, test_execute_malformed);
    tcase_add_test(te, test_execute_reencode);
    tcase_add_test(te, test_execute_long_data);
    suite_add_tcase(s, te);
    tcase_add_test(tr, test_row_capture);
    tcase_add_test(tr, test_row_malformed);
    tcase_add_test(tr, test_row_bitmap);
    tcase_add_test(tr, test_value_encodings);
    tcase_add_test(tr, test_date_lengths);
    suite_add_tcase(s, tr);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
