/*
 * test_binlog_value.c - row image bytes to SQL literals (backend/
 * binlog_value.h), from bytes laid out as MariaDB's encoders write them:
 * the DECIMAL examples of the binary log documentation, negative TIME
 * fractions, CHAR columns longer than 255 bytes (their length's high bits
 * in the real type byte), strings that must not be pasted as they are,
 * BINARY padding, and what is refused.
 */
#include "backend/binlog_value.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

/* The literal of bytes p[0..n) in column c; "ERR" (err set) on refusal.
 * *took gets the bytes consumed. */
static const char *
lit(const struct binlog_col *c, const void *p, size_t n, long *took)
{
    static struct binlog_text t;
    long k;

    t.len = 0;
    k = binlog_value_render(c, p, n, &t, err, sizeof(err));
    if (took != NULL)
        *took = k;
    return k < 0 ? "ERR" : t.p;
}

static struct binlog_col
col(uint8_t type, uint16_t meta, bool uns, enum binlog_cs cs)
{
    struct binlog_col c = {
        .type = type, .meta = meta, .is_unsigned = uns, .cs = cs};
    if (cs == BINLOG_CS_OTHER)
        strcpy(c.csname, "latin1");
    return c;
}

START_TEST(test_decimal)
{
    struct binlog_col c = col(BLT_NEWDECIMAL, 14 << 8 | 4, false, 0);
    const uint8_t pos[] = {0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2};
    const uint8_t neg[] = {0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d};
    long took;

    ck_assert_str_eq(lit(&c, pos, sizeof(pos), &took), "1234567890.1234");
    ck_assert_int_eq(took, 7);
    ck_assert_str_eq(lit(&c, neg, sizeof(neg), NULL), "-1234567890.1234");
    ck_assert_str_eq(lit(&c, pos, 6, NULL), "ERR"); /* truncated */
    /* DECIMAL(4,2) 0.00 and -0.05: no sign on zero, a leading 0 */
    c = col(BLT_NEWDECIMAL, 4 << 8 | 2, false, 0);
    const uint8_t zero[] = {0x80, 0x00};
    const uint8_t m005[] = {0x7f, 0xfa};
    ck_assert_str_eq(lit(&c, zero, 2, NULL), "0.00");
    ck_assert_str_eq(lit(&c, m005, 2, NULL), "-0.05");
    /* DECIMAL(2,2): no integer digits */
    c = col(BLT_NEWDECIMAL, 2 << 8 | 2, false, 0);
    const uint8_t p99[] = {0x80 | 99};
    ck_assert_str_eq(lit(&c, p99, 1, NULL), "0.99");
    /* a group above its digits is malformed, not rendered */
    c = col(BLT_NEWDECIMAL, 2 << 8 | 0, false, 0);
    const uint8_t bad[] = {0x80 | 100};
    ck_assert_str_eq(lit(&c, bad, 1, NULL), "ERR");
}
END_TEST

START_TEST(test_integers)
{
    const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    struct binlog_col c = col(BLT_INT24, 0, false, 0);

    ck_assert_str_eq(lit(&c, ff, 3, NULL), "-1");
    c.is_unsigned = true;
    ck_assert_str_eq(lit(&c, ff, 3, NULL), "16777215");
    c = col(BLT_LONGLONG, 0, true, 0);
    ck_assert_str_eq(lit(&c, ff, 8, NULL), "18446744073709551615");
    ck_assert_str_eq(lit(&c, ff, 7, NULL), "ERR");
    /* BIT(10): 2 bytes, big-endian */
    c = col(BLT_BIT, 1 << 8 | 2, false, 0);
    const uint8_t bits[] = {0x02, 0xaa};
    ck_assert_str_eq(lit(&c, bits, 2, NULL), "682");
}
END_TEST

START_TEST(test_time)
{
    /* TIME(1) '-00:00:00.5': int part -1, fraction byte -50 */
    struct binlog_col c = col(BLT_TIME2, 1, false, 0);
    const uint8_t t1[] = {0x7f, 0xff, 0xff, 0xce};
    ck_assert_str_eq(lit(&c, t1, 4, NULL), "'-00:00:00.5'");
    /* TIME(4) '-01:00:00.0001': hms 1 << 12, fraction -1 (two bytes) */
    c = col(BLT_TIME2, 4, false, 0);
    int32_t ip = -(1 << 12) - 1; /* the borrow of the negative fraction */
    uint32_t u = (uint32_t)(0x800000 + ip);
    const uint8_t t4[] = {(uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u,
                          0xff, 0xff};
    ck_assert_str_eq(lit(&c, t4, 5, NULL), "'-01:00:00.0001'");
    /* TIME(6) '838:59:59.999999': 6 bytes of packed value + offset */
    c = col(BLT_TIME2, 6, false, 0);
    uint64_t v = ((uint64_t)(838 << 12 | 59 << 6 | 59) << 24) + 999999 +
                 0x800000000000ULL;
    uint8_t t6[6];
    for (int i = 0; i < 6; i++)
        t6[i] = (uint8_t)(v >> (8 * (5 - i)));
    ck_assert_str_eq(lit(&c, t6, 6, NULL), "'838:59:59.999999'");
    /* DATETIME(3) 2026-01-02 03:04:05.678 */
    c = col(BLT_DATETIME2, 3, false, 0);
    uint64_t ym = 2026 * 13 + 1;
    uint64_t dt =
        ((ym << 5 | 2) << 17 | 3 << 12 | 4 << 6 | 5) + 0x8000000000ULL;
    uint8_t d3[7];
    for (int i = 0; i < 5; i++)
        d3[i] = (uint8_t)(dt >> (8 * (4 - i)));
    d3[5] = 6780 >> 8;
    d3[6] = 6780 & 0xff;
    ck_assert_str_eq(lit(&c, d3, 7, NULL), "'2026-01-02 03:04:05.678'");
    /* TIMESTAMP(0) 1 second past the epoch, in UTC */
    c = col(BLT_TIMESTAMP2, 0, false, 0);
    const uint8_t ts[] = {0, 0, 0, 1};
    ck_assert_str_eq(lit(&c, ts, 4, NULL), "'1970-01-01 00:00:01'");
}
END_TEST

START_TEST(test_strings)
{
    struct binlog_col c = col(BLT_VARCHAR, 40, false, BINLOG_CS_UTF8);
    const uint8_t q[] = {4, 'i', 't', '\'', 's'};
    const uint8_t bs[] = {3, 'a', '\\', 'b'};
    const uint8_t bad[] = {2, 0xc3, 0x28};  /* not UTF-8 */
    const uint8_t over[] = {2, 0xc0, 0x80}; /* an overlong NUL */
    long took;

    ck_assert_str_eq(lit(&c, q, sizeof(q), &took), "'it''s'");
    ck_assert_int_eq(took, 5);
    ck_assert_str_eq(lit(&c, bs, sizeof(bs), NULL), "_utf8mb4 X'615c62'");
    ck_assert_str_eq(lit(&c, bad, sizeof(bad), NULL), "_utf8mb4 X'c328'");
    ck_assert_str_eq(lit(&c, over, sizeof(over), NULL), "_utf8mb4 X'c080'");
    ck_assert_str_eq(lit(&c, q, 3, NULL), "ERR"); /* past the row */
    c = col(BLT_VARCHAR, 40, false, BINLOG_CS_OTHER);
    ck_assert_str_eq(lit(&c, q, sizeof(q), NULL), "_latin1 X'69742773'");
    c = col(BLT_BLOB, 2, false, BINLOG_CS_BINARY);
    const uint8_t blob[] = {2, 0, 0x00, 0xff};
    ck_assert_str_eq(lit(&c, blob, sizeof(blob), &took), "X'00ff'");
    ck_assert_int_eq(took, 4);
    /* BINARY(4) 'ab': the image drops the zero padding, the literal not */
    c = col(BLT_STRING, 4, false, BINLOG_CS_BINARY);
    const uint8_t bin[] = {2, 'a', 'b'};
    ck_assert_str_eq(lit(&c, bin, sizeof(bin), NULL), "X'61620000'");
}
END_TEST

START_TEST(test_meta)
{
    /* CHAR(100) utf8mb4 (400 bytes): the real type byte keeps the length's
     * two high bits inverted; ENUM and SET; a VARCHAR(300); a DECIMAL */
    const uint8_t types[] = {BLT_STRING,     BLT_STRING, BLT_VARCHAR,
                             BLT_NEWDECIMAL, BLT_LONG,   BLT_BLOB};
    const uint8_t meta[] = {0xfe ^ 0x10, 0x90, BLT_ENUM, 1, 0x2c,
                            0x01,        10,   2,        4};
    struct binlog_col cols[6];
    char nb[16];

    ck_assert(binlog_value_meta(types, 6, meta, sizeof(meta), cols, err,
                                sizeof(err)));
    ck_assert_int_eq(cols[0].type, BLT_STRING);
    ck_assert_int_eq(cols[0].meta, 400);
    ck_assert_int_eq(cols[1].type, BLT_ENUM);
    ck_assert_int_eq(cols[1].meta, 1);
    ck_assert_int_eq(cols[2].meta, 300);
    ck_assert_int_eq(cols[3].meta, 10 << 8 | 2);
    ck_assert_int_eq(cols[5].meta, 4);
    ck_assert(!binlog_value_meta(types, 6, meta, sizeof(meta) - 1, cols, err,
                                 sizeof(err)));
    /* a CHAR longer than 255 bytes has a 2-byte length */
    cols[0].cs = BINLOG_CS_UTF8;
    const uint8_t s[] = {3, 0, 'a', 'b', 'c'};
    ck_assert_str_eq(lit(&cols[0], s, sizeof(s), NULL), "'abc'");
    /* a compressed column's type is not decoded */
    const uint8_t comp[] = {140};
    ck_assert(!binlog_value_meta(comp, 1, meta, sizeof(meta), cols, err,
                                 sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "type 140"));
    /* GEOMETRY values are refused, naming the type */
    struct binlog_col g = col(BLT_GEOMETRY, 4, false, BINLOG_CS_BINARY);
    const uint8_t gv[] = {1, 0, 0, 0, 0};
    ck_assert_str_eq(lit(&g, gv, sizeof(gv), NULL), "ERR");
    ck_assert_ptr_nonnull(strstr(err, "GEOMETRY"));
    struct binlog_col u = col(BLT_STRING, 16, false, BINLOG_CS_BINARY);
    u.refuse = true;
    strcpy(u.dtype, "uuid");
    ck_assert_str_eq(lit(&u, gv, sizeof(gv), NULL), "ERR");
    ck_assert_ptr_nonnull(strstr(err, "uuid"));
    ck_assert_str_eq(binlog_type_name(140, nb, sizeof(nb)), "type 140");
    ck_assert_int_eq(binlog_value_expect("json"), BLT_BLOB);
    ck_assert_int_eq(binlog_value_expect("inet6"), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("binlog_value");
    TCase *tc = tcase_create("binlog_value");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_decimal);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_time);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_meta);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
