/*
 * test_resultset.c - text result sets read back packet by packet: column
 * count, ColumnDefinition41 field by field, the EOF after the definitions
 * (absent under CLIENT_DEPRECATE_EOF), text rows with NULL and long values,
 * and the terminator (EOF, or OK with the 0xFE header). Then the readers:
 * definitions written by rs_columns read back with rs_parse_coldef and
 * retyped in place with rs_patch_coldef, a table of malformed definitions,
 * and a table of text rows for rs_parse_text_row.
 */
#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/resultset.h"
#include "proto/wire.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pkt {
    uint8_t seq;
    size_t len;
    uint8_t *p; /* heap, exact size */
};

/* Takes the next packet off in; its seq must be want_seq. */
static struct pkt
next_packet(struct evbuffer *in, uint8_t want_seq)
{
    struct pkt k;
    uint8_t h[4];

    ck_assert_int_eq(evbuffer_remove(in, h, 4), 4);
    k.seq = h[3];
    k.len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    ck_assert_uint_eq(k.seq, want_seq);
    k.p = xmalloc(k.len);
    ck_assert_int_eq(evbuffer_remove(in, k.p, k.len), (int)k.len);
    return k;
}

static void
expect_lenenc_str(struct wire *w, const char *want)
{
    const uint8_t *s;
    size_t n;

    ck_assert(wire_lenenc_str(w, &s, &n));
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(memcmp(s, want, n) == 0);
}

static void
expect_coldef(struct evbuffer *in, uint8_t seq, const struct coldef *c)
{
    struct pkt k = next_packet(in, seq);
    struct wire w;
    uint64_t fixed;
    uint16_t charset, flags, filler;
    uint32_t length;
    uint8_t type, decimals;

    wire_init(&w, k.p, k.len);
    expect_lenenc_str(&w, "def");
    expect_lenenc_str(&w, c->schema ? c->schema : "");
    expect_lenenc_str(&w, c->table ? c->table : "");
    expect_lenenc_str(&w, c->org_table ? c->org_table : "");
    expect_lenenc_str(&w, c->name);
    expect_lenenc_str(&w, c->org_name ? c->org_name : "");
    ck_assert(wire_lenenc(&w, &fixed, NULL));
    ck_assert_uint_eq(fixed, 0x0c);
    ck_assert_uint_eq(wire_left(&w), 0x0c);
    ck_assert(wire_u16(&w, &charset) && wire_u32(&w, &length) &&
              wire_u8(&w, &type) && wire_u16(&w, &flags) &&
              wire_u8(&w, &decimals) && wire_u16(&w, &filler));
    ck_assert_uint_eq(charset, c->charset);
    ck_assert_uint_eq(length, c->length);
    ck_assert_uint_eq(type, c->type);
    ck_assert_uint_eq(flags, c->flags);
    ck_assert_uint_eq(decimals, c->decimals);
    ck_assert_uint_eq(filler, 0);
    free(k.p);
}

static void
expect_eof(struct evbuffer *in, uint8_t seq, uint16_t status)
{
    struct pkt k = next_packet(in, seq);

    ck_assert_uint_eq(k.len, 5);
    ck_assert_uint_eq(k.p[0], 0xfe);
    ck_assert_uint_eq(k.p[1] | k.p[2] << 8, 0);
    ck_assert_uint_eq(k.p[3] | k.p[4] << 8, status);
    free(k.p);
}

static void
expect_ok_fe(struct evbuffer *in, uint8_t seq, uint16_t status)
{
    struct pkt k = next_packet(in, seq);
    static const uint8_t want_head[] = {0xfe, 0x00, 0x00};

    ck_assert_uint_eq(k.len, 7);
    ck_assert(memcmp(k.p, want_head, 3) == 0);
    ck_assert_uint_eq(k.p[3] | k.p[4] << 8, status);
    ck_assert_uint_eq(k.p[5] | k.p[6] << 8, 0);
    free(k.p);
}

static void
expect_count(struct evbuffer *in, uint8_t seq, uint64_t n)
{
    struct pkt k = next_packet(in, seq);
    struct wire w;
    uint64_t v;

    wire_init(&w, k.p, k.len);
    ck_assert(wire_lenenc(&w, &v, NULL));
    ck_assert_uint_eq(v, n);
    ck_assert_uint_eq(wire_left(&w), 0);
    free(k.p);
}

static const struct coldef cols[] = {
    {.schema = "shop",
     .table = "o",
     .org_table = "orders",
     .name = "id",
     .org_name = "order_id",
     .charset = CHARSET_BINARY,
     .length = 20,
     .type = MYSQL_TYPE_LONGLONG,
     .flags = NOT_NULL_FLAG | PRI_KEY_FLAG | UNSIGNED_FLAG,
     .decimals = 0},
    {.name = "note",
     .charset = CHARSET_UTF8MB4_GENERAL_CI,
     .length = 1020,
     .type = MYSQL_TYPE_VAR_STRING,
     .decimals = 0x1f},
};

START_TEST(test_eof_terminators)
{
    struct evbuffer *out = evbuffer_new();
    struct rs_writer w;
    const char *row1[] = {"42", "hello"};
    const char *row2[] = {"7", NULL};
    struct pkt k;

    rs_begin(&w, out, 1, false, SERVER_STATUS_AUTOCOMMIT);
    rs_columns(&w, cols, 2);
    rs_row(&w, row1, NULL);
    rs_row(&w, row2, NULL);
    rs_end(&w);
    ck_assert(!w.failed);
    ck_assert_uint_eq(w.seq, 8);

    expect_count(out, 1, 2);
    expect_coldef(out, 2, &cols[0]);
    expect_coldef(out, 3, &cols[1]);
    expect_eof(out, 4, SERVER_STATUS_AUTOCOMMIT);
    k = next_packet(out, 5);
    ck_assert_uint_eq(k.len, 9);
    ck_assert(memcmp(k.p,
                     "\x02"
                     "42\x05hello",
                     9) == 0);
    free(k.p);
    k = next_packet(out, 6);
    ck_assert_uint_eq(k.len, 3);
    ck_assert(memcmp(k.p,
                     "\x01"
                     "7\xfb",
                     3) == 0);
    free(k.p);
    expect_eof(out, 7, SERVER_STATUS_AUTOCOMMIT);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_deprecate_eof)
{
    struct evbuffer *out = evbuffer_new();
    struct rs_writer w;
    const char *row[] = {"1", ""};
    uint16_t status = SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_IN_TRANS;
    struct pkt k;

    rs_begin(&w, out, 1, true, status);
    rs_columns(&w, cols, 2);
    rs_row(&w, row, NULL);
    rs_end(&w);
    ck_assert(!w.failed);

    expect_count(out, 1, 2);
    expect_coldef(out, 2, &cols[0]);
    expect_coldef(out, 3, &cols[1]);
    k = next_packet(out, 4); /* the row follows the definitions directly */
    ck_assert_uint_eq(k.len, 3);
    ck_assert(memcmp(k.p,
                     "\x01"
                     "1\x00",
                     3) == 0);
    free(k.p);
    expect_ok_fe(out, 5, status);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_columns_text_and_lens)
{
    struct evbuffer *out = evbuffer_new();
    struct rs_writer w;
    const char *names[20];
    char namebuf[20][8];
    const char *vals[20];
    size_t lens[20];
    char big[300];
    struct coldef want = {.charset = CHARSET_UTF8MB4_GENERAL_CI,
                          .type = MYSQL_TYPE_VAR_STRING};
    struct pkt k;
    struct wire wc;
    const uint8_t *s;
    size_t n;
    bool is_null;
    uint64_t v;

    /* more columns than rs_columns_text keeps on its stack */
    for (size_t i = 0; i < 20; i++) {
        snprintf(namebuf[i], sizeof(namebuf[i]), "c%zu", i);
        names[i] = namebuf[i];
        vals[i] = "a\0b"; /* embedded NUL: lens given */
        lens[i] = 3;
    }
    memset(big, 'x', sizeof(big));
    vals[3] = big;
    lens[3] = sizeof(big);
    vals[5] = NULL;

    rs_begin(&w, out, 0, false, 0);
    rs_columns_text(&w, names, 20);
    rs_row(&w, vals, lens);
    rs_end(&w);
    ck_assert(!w.failed);

    expect_count(out, 0, 20);
    for (size_t i = 0; i < 20; i++) {
        struct pkt c = next_packet(out, (uint8_t)(1 + i));
        wire_init(&wc, c.p, c.len);
        expect_lenenc_str(&wc, "def");
        expect_lenenc_str(&wc, "");
        expect_lenenc_str(&wc, "");
        expect_lenenc_str(&wc, "");
        expect_lenenc_str(&wc, names[i]);
        expect_lenenc_str(&wc, names[i]);
        ck_assert(wire_skip(&wc, 1));
        ck_assert_uint_eq(wc.p[0] | wc.p[1] << 8, want.charset);
        ck_assert_uint_eq(wc.p[6], want.type);
        free(c.p);
    }
    expect_eof(out, 21, 0);
    k = next_packet(out, 22);
    wire_init(&wc, k.p, k.len);
    for (size_t i = 0; i < 20; i++) {
        if (i == 5) {
            ck_assert(wire_lenenc(&wc, &v, &is_null));
            ck_assert(is_null);
            continue;
        }
        ck_assert(wire_lenenc_str(&wc, &s, &n));
        ck_assert_uint_eq(n, lens[i]);
        ck_assert(memcmp(s, vals[i], n) == 0);
    }
    ck_assert_uint_eq(wire_left(&wc), 0);
    ck_assert_uint_eq(k.p[3 * 4], 0xfc); /* 300 needs a 2-byte length */
    free(k.p);
    expect_eof(out, 23, 0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_empty_result)
{
    struct evbuffer *out = evbuffer_new();
    struct rs_writer w;

    rs_begin(&w, out, 1, false, 0);
    rs_columns(&w, cols, 1);
    rs_end(&w);
    expect_count(out, 1, 1);
    expect_coldef(out, 2, &cols[0]);
    expect_eof(out, 3, 0);
    expect_eof(out, 4, 0);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    evbuffer_free(out);
}
END_TEST

/* Equal to the NUL-terminated s? */
static bool
str_is(struct rs_str v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

START_TEST(test_coldef_read_and_patch)
{
    struct evbuffer *b = evbuffer_new();
    struct rs_writer w;
    struct coldef defs[2] = {
        {.schema = "db",
         .table = "t",
         .org_table = "tt",
         .name = "price",
         .org_name = "p",
         .charset = 63,
         .length = 12,
         .type = MYSQL_TYPE_NEWDECIMAL,
         .flags = UNSIGNED_FLAG | 0x0100,
         .decimals = 2},
        {.name = "n",
         .charset = 45,
         .length = 0x01020304,
         .type = MYSQL_TYPE_VAR_STRING},
    };
    struct rs_coldef c;
    struct pkt k;

    rs_begin(&w, b, 1, false, 2);
    rs_columns(&w, defs, 2);
    ck_assert(!w.failed);
    k = next_packet(b, 1);
    free(k.p);
    k = next_packet(b, 2);
    ck_assert(rs_parse_coldef(k.p, k.len, &c));
    ck_assert(str_is(c.catalog, "def"));
    ck_assert(str_is(c.schema, "db"));
    ck_assert(str_is(c.table, "t"));
    ck_assert(str_is(c.org_table, "tt"));
    ck_assert(str_is(c.name, "price"));
    ck_assert(str_is(c.org_name, "p"));
    ck_assert_uint_eq(c.charset, 63);
    ck_assert_uint_eq(c.length, 12);
    ck_assert_uint_eq(c.type, MYSQL_TYPE_NEWDECIMAL);
    ck_assert_uint_eq(c.flags, UNSIGNED_FLAG | 0x0100);
    ck_assert_uint_eq(c.decimals, 2);
    ck_assert_uint_eq(c.fixed_off, k.len - 12);

    /* Retyped in place: the names stay, the fixed fields change. */
    c.length = 0x00abcdef;
    c.type = MYSQL_TYPE_DOUBLE;
    c.flags = 0x0100;
    c.decimals = 31;
    c.charset = 8;
    rs_patch_coldef(k.p, k.len, &c);
    memset(&c, 0, sizeof(c));
    ck_assert(rs_parse_coldef(k.p, k.len, &c));
    ck_assert(str_is(c.name, "price"));
    ck_assert_uint_eq(c.length, 0x00abcdef);
    ck_assert_uint_eq(c.type, MYSQL_TYPE_DOUBLE);
    ck_assert_uint_eq(c.flags, 0x0100);
    ck_assert_uint_eq(c.decimals, 31);
    ck_assert_uint_eq(c.charset, 8);
    free(k.p);

    k = next_packet(b, 3);
    ck_assert(rs_parse_coldef(k.p, k.len, &c));
    ck_assert(str_is(c.schema, ""));
    ck_assert(str_is(c.name, "n"));
    ck_assert_uint_eq(c.length, 0x01020304);
    free(k.p);
    evbuffer_free(b);
}
END_TEST

#define B(...) ((const uint8_t[]){__VA_ARGS__})

static const struct {
    const char *name;
    const uint8_t *p;
    size_t len;
} bad_coldefs[] = {
    {"empty", B(0), 0},
    {"catalog runs past the end", B(0x05, 'd', 'e'), 3},
    {"five names only", B(0, 0, 0, 0, 0), 5},
    {"fixed part shorter than 12",
     B(0, 0, 0, 0, 0, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 18},
    {"fixed part cut", B(0, 0, 0, 0, 0, 0, 0x0c, 0x3f, 0, 1, 0, 0), 12},
    {"NULL name",
     B(0, 0, 0, 0, 0xfb, 0, 0x0c, 0x3f, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0), 19},
};

START_TEST(test_coldef_malformed)
{
    struct rs_coldef c;

    ck_assert_msg(!rs_parse_coldef(bad_coldefs[_i].p, bad_coldefs[_i].len, &c),
                  "%s", bad_coldefs[_i].name);
}
END_TEST

static const struct {
    const char *name;
    const uint8_t *p;
    size_t len;
    size_t n, prefix;
    bool ok;
    const char *vals[3]; /* NULL: SQL NULL */
    size_t prefix_len;
} text_rows[] = {
    {"two values", B(1, 'a', 2, 'b', 'c'), 5, 2, 2, true, {"a", "bc"}, 5},
    {"NULL first", B(0xfb, 1, 'x'), 3, 2, 2, true, {NULL, "x"}, 3},
    {"empty string", B(0, 0xfb), 2, 2, 2, true, {"", NULL}, 2},
    {"visible prefix",
     B(1, 'a', 1, 'b', 1, 'c'),
     6,
     3,
     1,
     true,
     {"a", "b", "c"},
     2},
    {"no hidden", B(1, 'a'), 2, 1, 5, true, {"a"}, 2},
    {"value cut", B(3, 'a', 'b'), 3, 1, 1, false, {NULL}, 0},
    {"too few values", B(1, 'a'), 2, 2, 2, false, {NULL}, 0},
    {"bytes left over", B(1, 'a', 1, 'b'), 4, 1, 1, false, {NULL}, 0},
    {"empty row", B(0), 0, 1, 1, false, {NULL}, 0},
};

START_TEST(test_text_row_table)
{
    struct binproto_value v[3];
    size_t prefix_len = 0;
    bool ok =
        rs_parse_text_row(text_rows[_i].p, text_rows[_i].len, text_rows[_i].n,
                          v, text_rows[_i].prefix, &prefix_len);

    ck_assert_msg(ok == text_rows[_i].ok, "%s", text_rows[_i].name);
    if (!ok)
        return;
    ck_assert_uint_eq(prefix_len, text_rows[_i].prefix_len);
    for (size_t c = 0; c < text_rows[_i].n; c++) {
        const char *want = text_rows[_i].vals[c];
        ck_assert(v[c].is_null == (want == NULL));
        if (want != NULL) {
            ck_assert_uint_eq(v[c].len, strlen(want));
            ck_assert(memcmp(v[c].str, want, v[c].len) == 0);
        }
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("resultset");
    TCase *tc = tcase_create("text");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_eof_terminators);
    tcase_add_test(tc, test_deprecate_eof);
    tcase_add_test(tc, test_columns_text_and_lens);
    tcase_add_test(tc, test_empty_result);
    tcase_add_test(tc, test_coldef_read_and_patch);
    tcase_add_loop_test(tc, test_coldef_malformed, 0,
                        (int)(sizeof(bad_coldefs) / sizeof(bad_coldefs[0])));
    tcase_add_loop_test(tc, test_text_row_table, 0,
                        (int)(sizeof(text_rows) / sizeof(text_rows[0])));
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
