/*
 * test_lastid.c - LAST_INSERT_ID() and ROW_COUNT() kept by the session
 * (session/lastid.c): what each statement needs, which SELECTs the proxy
 * answers, ROW_COUNT() made a literal, the probe's answer read in its
 * shapes, and the values a statement's end leaves, by MariaDB's rules
 * (checked against a real server by itest_lastid).
 */
#include "session/lastid.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "proto/packet.h"
#include "session/session_types.h"
#include "sql/classify.h"

static struct stmt_info st; /* large: not on the stack */

static const struct stmt_info *
classify(const char *sql)
{
    ck_assert_msg(sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st),
                  "classify %s", sql);
    return &st;
}

START_TEST(need_by_statement)
{
    static const struct {
        const char *sql;
        enum lastid_need need;
    } cases[] = {
        {"SELECT * FROM t WHERE id = 1", LID_NONE},
        {"UPDATE t SET v = 1", LID_NONE},
        {"INSERT INTO t (v) VALUES (1)", LID_IF_ID},
        {"REPLACE INTO t VALUES (1, 2)", LID_IF_ID},
        {"INSERT INTO t2 (p) VALUES (LAST_INSERT_ID())", LID_ALWAYS},
        {"UPDATE seq SET id = LAST_INSERT_ID(id + 1)", LID_ALWAYS},
        {"SELECT @@identity + 1", LID_ALWAYS},
        {"SELECT @@session.last_insert_id, 1", LID_ALWAYS},
        {"SELECT @@version", LID_NONE},
        {"CALL p()", LID_ALWAYS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(lastid_need_of(classify(cases[i].sql)) == cases[i].need,
                      "%s", cases[i].sql);
}
END_TEST

START_TEST(answered_selects)
{
    static const char *yes[] = {
        "SELECT LAST_INSERT_ID()", "select last_insert_id() as x",
        "SELECT ROW_COUNT()",      "SELECT LAST_INSERT_ID(), ROW_COUNT()",
        "SELECT @@identity",       "SELECT @@session.last_insert_id AS id",
        "SELECT @@last_insert_id",
    };
    static const char *no[] = {
        "SELECT LAST_INSERT_ID(5)",
        "SELECT LAST_INSERT_ID() + 1",
        "SELECT LAST_INSERT_ID() FROM t",
        "SELECT LAST_INSERT_ID(), 1",
        "SELECT ROW_COUNT() UNION SELECT 1",
        "SELECT @@version",
        "SELECT FOUND_ROWS()",
        "SELECT LAST_INSERT_ID() INTO @x",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(lastid_is_answered(classify(yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!lastid_is_answered(classify(no[i])), "%s", no[i]);
}
END_TEST

static char *
rewrite(int64_t rc, const char *sql)
{
    static struct session s;
    size_t n = 0;
    char *out;

    s.row_count = rc;
    out = lastid_rewrite_row_count(&s, classify(sql), sql, strlen(sql), &n);
    if (out != NULL)
        out[n] = '\0'; /* room: the copy is never shorter than needed */
    return out;
}

START_TEST(row_count_literal)
{
    char *out = rewrite(2, "INSERT INTO log VALUES (ROW_COUNT(), 'x')");
    ck_assert_str_eq(out, "INSERT INTO log VALUES (2, 'x')");
    free(out);
    out = rewrite(-1, "SELECT row_count ( ) + ROW_COUNT()");
    ck_assert_str_eq(out, "SELECT -1 + -1");
    free(out);
    /* names and strings are left alone */
    ck_assert_ptr_null(rewrite(3, "SELECT 'ROW_COUNT()' FROM t"));
    ck_assert_ptr_null(rewrite(3, "SELECT row_count FROM t"));
    ck_assert_ptr_null(rewrite(3, "SELECT 1"));
}
END_TEST

/* Appends a packet with payload p. */
static void
pkt(struct evbuffer *b, uint8_t *seq, const void *p, size_t n)
{
    packet_write(b, seq, p, n);
}

/* The probe's answer: 2 columns, [EOF], one row (value, 0), EOF. */
static struct evbuffer *
probe_answer(const char *value, bool eof_after_defs)
{
    struct evbuffer *b = evbuffer_new();
    uint8_t seq = 1, cnt = 2;
    uint8_t def[] = {3, 'd', 'e', 'f', 0, 0, 0,    1, 'x', 0, 0x0c, 63,
                     0, 21,  0,   0,   0, 8, 0x81, 0, 0,   0, 0};
    uint8_t eof[] = {0xfe, 0, 0, 2, 0};
    uint8_t row[32];
    size_t vl = strlen(value);

    pkt(b, &seq, &cnt, 1);
    pkt(b, &seq, def, sizeof(def));
    pkt(b, &seq, def, sizeof(def));
    if (eof_after_defs)
        pkt(b, &seq, eof, sizeof(eof));
    row[0] = (uint8_t)vl;
    memcpy(row + 1, value, vl);
    row[1 + vl] = 1;
    row[2 + vl] = '0';
    pkt(b, &seq, row, vl + 3);
    pkt(b, &seq, eof, sizeof(eof));
    return b;
}

START_TEST(probe_shapes)
{
    uint64_t v = 0;
    struct evbuffer *b = probe_answer("12345", true);
    size_t total = evbuffer_get_length(b);
    struct evbuffer *part = evbuffer_new();

    /* byte by byte: incomplete until the last one */
    for (size_t i = 0; i + 1 < total; i++) {
        evbuffer_remove_buffer(b, part, 1);
        ck_assert_int_eq(lastid_read_probe(part, &v), 0);
    }
    evbuffer_remove_buffer(b, part, 1);
    ck_assert_int_eq(lastid_read_probe(part, &v), 1);
    ck_assert_uint_eq(v, 12345);
    ck_assert_uint_eq(evbuffer_get_length(part), 0);
    evbuffer_free(b);

    b = probe_answer("0", false); /* no EOF after the definitions */
    ck_assert_int_eq(lastid_read_probe(b, &v), 1);
    ck_assert_uint_eq(v, 0);
    evbuffer_free(b);

    b = evbuffer_new(); /* an error */
    {
        uint8_t seq = 1;
        uint8_t err[] = {0xff, 0x10, 0x04, '#', 'H', 'Y', '0', '0', '0', 'x'};
        pkt(b, &seq, err, sizeof(err));
    }
    ck_assert_int_eq(lastid_read_probe(b, &v), 2);
    ck_assert_uint_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);

    b = probe_answer("12a", true); /* not a number */
    ck_assert_int_eq(lastid_read_probe(b, &v), -1);
    evbuffer_free(b);
    evbuffer_free(part);
}
END_TEST

START_TEST(statement_end_rules)
{
    static struct session s;
    struct lastid_fact f[2];

    s.last_insert_id = 7;
    /* an INSERT that generated 10: OK and probe agree */
    s.lid_need = LID_IF_ID;
    f[0] = (struct lastid_fact){
        .ok = true, .probed = true, .okid = 10, .value = 10};
    lastid_statement_end(&s, false, false, 1, f, 1);
    ck_assert_uint_eq(s.last_insert_id, 10);
    ck_assert_int_eq(s.row_count, 1);
    ck_assert_int_eq(s.lid_need, LID_NONE);
    /* explicit id 500: the OK says 500, the connection still 0 */
    s.lid_need = LID_IF_ID;
    f[0] = (struct lastid_fact){.ok = true, .probed = true, .okid = 500};
    lastid_statement_end(&s, false, false, 1, f, 1);
    ck_assert_uint_eq(s.last_insert_id, 10);
    /* no id in the OK (no AUTO_INCREMENT): unchanged, no probe */
    s.lid_need = LID_IF_ID;
    f[0] = (struct lastid_fact){.ok = true};
    lastid_statement_end(&s, false, false, 1, f, 1);
    ck_assert_uint_eq(s.last_insert_id, 10);
    /* UPDATE ... LAST_INSERT_ID(expr): its OK's id */
    s.lid_need = LID_NONE;
    f[0] = (struct lastid_fact){.ok = true, .okid = 42};
    lastid_statement_end(&s, false, false, 0, f, 1);
    ck_assert_uint_eq(s.last_insert_id, 42);
    /* a failed statement: unchanged, ROW_COUNT() -1 */
    f[0] = (struct lastid_fact){.okid = 99};
    lastid_statement_end(&s, true, false, 0, f, 1);
    ck_assert_uint_eq(s.last_insert_id, 42);
    ck_assert_int_eq(s.row_count, -1);
    /* rows: ROW_COUNT() -1; ALWAYS: the probe's value when it changed */
    s.lid_need = LID_ALWAYS;
    f[0] = (struct lastid_fact){.ok = true, .probed = true, .value = 77};
    lastid_statement_end(&s, false, true, 0, f, 1);
    ck_assert_uint_eq(s.last_insert_id, 77);
    ck_assert_int_eq(s.row_count, -1);
    /* two shards: the first (in target order) that generated one */
    s.lid_need = LID_IF_ID;
    f[0] =
        (struct lastid_fact){.ok = true, .probed = true, .okid = 3, .value = 0};
    f[1] = (struct lastid_fact){
        .ok = true, .probed = true, .okid = 1000, .value = 1000};
    lastid_statement_end(&s, false, false, 2, f, 2);
    ck_assert_uint_eq(s.last_insert_id, 1000);
}
END_TEST

int
main(void)
{
    Suite *su = suite_create("lastid");
    TCase *tc = tcase_create("lastid");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, need_by_statement);
    tcase_add_test(tc, answered_selects);
    tcase_add_test(tc, row_count_literal);
    tcase_add_test(tc, probe_shapes);
    tcase_add_test(tc, statement_end_rules);
    suite_add_tcase(su, tc);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
