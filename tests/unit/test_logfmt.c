/*
 * test_logfmt.c - base/logfmt.c and log.c's two formats: JSON lines are one
 * valid object each whatever the strings hold (quotes, backslashes, line
 * breaks, control bytes, bytes that are not UTF-8, attempts to fake a
 * member), stay valid when cut, and carry numbers as numbers; text fields
 * are quoted when needed and parse back to the same values; log_write and
 * log_event write the format set last.
 */
#include "base/log.h"
#include "base/logfmt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A small checker of what a shipper needs: one line, '{' ... "}\n", every
 * string closed, no raw control byte, valid UTF-8. */
static bool
one_json_line(const char *s, size_t n)
{
    bool in_str = false;

    if (n < 3 || s[0] != '{' || s[n - 1] != '\n' || s[n - 2] != '}')
        return false;
    for (size_t i = 0; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            return false;
        if (c >= 0x80) { /* a whole, valid UTF-8 sequence */
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (c < 0xc2 || c > 0xf4 || i + len > n - 1)
                return false;
            for (size_t k = 1; k < len; k++)
                if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                    return false;
            i += len - 1;
            continue;
        }
        if (in_str && c == '\\') {
            i++;
            if (strchr("\"\\/bfnrtu", s[i]) == NULL)
                return false;
            continue;
        }
        if (c == '"')
            in_str = !in_str;
    }
    return !in_str;
}

static size_t
render(char *buf, size_t cap, const char *msg, const struct log_field *f,
       size_t n)
{
    return logfmt_json(buf, cap, "2026-12-07T12:00:00.000Z", "warn", "w0", msg,
                       f, n);
}

START_TEST(test_json_shape)
{
    char buf[512];
    struct log_field f[] = {
        LOG_NUM("client", 7),
        LOG_STR("user", "app"),
        LOG_STR("schema", NULL),
        LOG_NUM("duration_ms", 1234),
        LOG_STR("digest", "SELECT * FROM t WHERE id = ?"),
    };
    size_t n = render(buf, sizeof(buf), "slow statement", f, ARRAY_SIZE(f));

    buf[n] = '\0';
    ck_assert_str_eq(buf,
                     "{\"ts\":\"2026-12-07T12:00:00.000Z\",\"level\":\"warn\","
                     "\"thread\":\"w0\",\"msg\":\"slow statement\","
                     "\"client\":7,\"user\":\"app\",\"schema\":null,"
                     "\"duration_ms\":1234,"
                     "\"digest\":\"SELECT * FROM t WHERE id = ?\"}\n");
    ck_assert(one_json_line(buf, n));
}
END_TEST

START_TEST(test_json_hostile)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"say \"hi\"", "say \\\"hi\\\""},
        {"back\\slash", "back\\\\slash"},
        {"a\nWARN fake", "a\\nWARN fake"},
        {"\r\t", "\\r\\t"},
        {"\x01\x1b[31m\x7f", "\\u0001\\u001b[31m\\u007f"},
        {"\",\"level\":\"error", "\\\",\\\"level\\\":\\\"error"},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80"},
        {"bad \xff end", "bad \\ufffd end"},
        {"cut \xc3", "cut \\ufffd"},
        {"overlong \xc0\xaf", "overlong \\ufffd\\ufffd"},
        {"surrogate \xed\xa0\x80", "surrogate \\ufffd\\ufffd\\ufffd"},
        {"past \xf4\x90\x80\x80", "past \\ufffd\\ufffd\\ufffd\\ufffd"},
        {"</script>", "</script>"},
    };
    char buf[512], want[512];

    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        struct log_field f[] = {LOG_STR("digest", v[i].in)};
        size_t n = render(buf, sizeof(buf), v[i].in, f, 1);

        buf[n] = '\0';
        ck_assert_msg(one_json_line(buf, n), "not one JSON line: %s", buf);
        snprintf(want, sizeof(want), "\"msg\":\"%s\",\"digest\":\"%s\"}\n",
                 v[i].out, v[i].out);
        ck_assert_msg(strstr(buf, want) != NULL, "%zu: %s lacks %s", i, buf,
                      want);
    }
}
END_TEST

START_TEST(test_json_cut)
{
    static const char *const fill[] = {"a", "\"", "\xc3\xa9", "\x01", "\xff"};
    char big[9000], buf[300];

    for (size_t k = 0; k < ARRAY_SIZE(fill); k++) {
        size_t fl = strlen(fill[k]), n = 0;
        while (n + fl < sizeof(big)) {
            memcpy(big + n, fill[k], fl);
            n += fl;
        }
        big[n] = '\0';
        for (size_t cap = 128; cap <= sizeof(buf); cap += 7) {
            struct log_field f[] = {LOG_NUM("client", 1),
                                    LOG_STR("digest", big),
                                    LOG_NUM("duration_ms", 5)};
            size_t len = render(buf, cap, "slow statement", f, 3);

            ck_assert_uint_le(len, cap);
            ck_assert_msg(one_json_line(buf, len), "fill %zu cap %zu: %.*s", k,
                          cap, (int)len, buf);
            ck_assert(len > 20 && memcmp(buf + len - 19,
                                         ",\"truncated\":true}\n", 19) == 0);
            /* the field after the cut one is dropped, not half written */
            ck_assert(memmem(buf, len, "duration_ms", 11) == NULL);
        }
    }
}
END_TEST

START_TEST(test_text_fields)
{
    char buf[512] = "slow statement";
    struct log_field f[] = {
        LOG_NUM("client", 7),
        LOG_STR("user", "app"),
        LOG_STR("schema", NULL),
        LOG_STR("digest", "SELECT * FROM t WHERE s = ?"),
        LOG_STR("reason", "x\ny=1 \"q\""),
        LOG_STR("empty", ""),
    };
    size_t n = logfmt_text_fields(buf, sizeof(buf), strlen(buf), f, 6);

    buf[n] = '\0';
    ck_assert_str_eq(buf, "slow statement client=7 user=app schema=- "
                          "digest=\"SELECT * FROM t WHERE s = ?\" "
                          "reason=\"x\\ny=1 \\\"q\\\"\" empty=\"\"");
    /* and the cap holds */
    n = logfmt_text_fields(buf, 20, 14, f, 6);
    ck_assert_uint_le(n, 19);
}
END_TEST

START_TEST(test_parse_text)
{
    const char *text =
        "backend connection lost client=12 backend=127.0.0.1:3306 "
        "reason=\"read: \\\"reset\\\" \\xc3\\xa9\\n\" "
        "timeout_ms=-5 user=007";
    char scratch[512];
    struct log_field f[LOGFMT_MAX_FIELDS];
    const char *msg;
    size_t n = logfmt_parse_text(text, scratch, &msg, f, ARRAY_SIZE(f));

    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(msg, "backend connection lost");
    ck_assert(f[0].is_num && f[0].num == 12);
    ck_assert_str_eq(f[0].key, "client");
    ck_assert(!f[1].is_num);
    ck_assert_str_eq(f[1].str, "127.0.0.1:3306");
    ck_assert_str_eq(f[2].str, "read: \"reset\" \xc3\xa9\n");
    ck_assert(f[3].is_num && f[3].num == -5);
    /* a user named 007 stays a string: only known keys are numbers */
    ck_assert(!f[4].is_num);
    ck_assert_str_eq(f[4].str, "007");

    /* not well-formed fields: the whole text is the message */
    static const char *const whole[] = {
        "xa commit incomplete gtrid=g1 error=\"x\"; finish it by hand",
        "reason=\"unterminated",
        "listening on 0.0.0.0:6033",
        "bad=\"\\x4\"",
    };
    for (size_t i = 0; i < ARRAY_SIZE(whole); i++) {
        n = logfmt_parse_text(whole[i], scratch, &msg, f, ARRAY_SIZE(f));
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(msg, whole[i]);
    }
    /* counts are numbers, names strings */
    n = logfmt_parse_text("config reloaded generation=3 file=7", scratch, &msg,
                          f, ARRAY_SIZE(f));
    ck_assert_uint_eq(n, 2);
    ck_assert(f[0].is_num && f[0].num == 3);
    ck_assert(!f[1].is_num);
    /* fields only */
    n = logfmt_parse_text("a=1", scratch, &msg, f, ARRAY_SIZE(f));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(msg, "");
}
END_TEST

/* What a text line writes, parsed back, is what was logged. */
START_TEST(test_text_round_trip)
{
    static const char *const v[] = {
        "plain",    "two words",   "q\"uo'te", "back\\",        "nl\nx=1",
        "\x01\xff", "caf\xc3\xa9", "",         "k=v k2=\"v2\"",
    };

    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        char line[600] = "event", scratch[602];
        struct log_field in[] = {LOG_STR("value", v[i]), LOG_NUM("n_ms", 3)};
        struct log_field out[LOGFMT_MAX_FIELDS];
        const char *msg;
        size_t n = logfmt_text_fields(line, sizeof(line), 5, in, 2);

        line[n] = '\0';
        n = logfmt_parse_text(line, scratch, &msg, out, ARRAY_SIZE(out));
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(msg, "event");
        ck_assert_str_eq(out[0].str, v[i]);
        ck_assert(out[1].is_num && out[1].num == 3);
    }
}
END_TEST

/* log_write and log_event on stderr, in the format set last. */
START_TEST(test_log_lines)
{
    char path[] = "/tmp/test_logfmt.XXXXXX", buf[4096];
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    ssize_t got;
    struct log_field f[] = {LOG_NUM("client", 3),
                            LOG_STR("digest", "SELECT \"a\"\n")};

    ck_assert_int_ge(fd, 0);
    unlink(path);
    dup2(fd, STDERR_FILENO);
    log_set_format(LOG_FORMAT_JSON);
    log_warn("query timeout client=%u user=%s digest=\"%s\"", 4u, "app",
             "SELECT \\\"b\\\"");
    log_event(LOG_ERROR, "slow statement", f, 2);
    log_set_format(LOG_FORMAT_TEXT);
    log_event(LOG_WARN, "slow statement", f, 2);
    dup2(saved, STDERR_FILENO);
    close(saved);
    got = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    ck_assert_int_gt(got, 0);
    buf[got] = '\0';

    char *l1 = buf, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    ck_assert(one_json_line(l1, (size_t)(l2 - l1)));
    ck_assert(one_json_line(l2, (size_t)(l3 - l2)));
    ck_assert_ptr_nonnull(strstr(l1, "\"level\":\"warn\",\"thread\":\"main\","
                                     "\"msg\":\"query timeout\",\"client\":4,"
                                     "\"user\":\"app\","
                                     "\"digest\":\"SELECT \\\"b\\\"\"}\n"));
    ck_assert_ptr_nonnull(strstr(l2, "\"level\":\"error\""));
    ck_assert_ptr_nonnull(
        strstr(l2, "\"client\":3,\"digest\":\"SELECT \\\"a\\\"\\n\"}\n"));
    ck_assert_ptr_nonnull(strstr(l3, "Z WARN  main slow statement client=3 "
                                     "digest=\"SELECT \\\"a\\\"\\n\"\n"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("logfmt");
    TCase *tc = tcase_create("logfmt");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_json_shape);
    tcase_add_test(tc, test_json_hostile);
    tcase_add_test(tc, test_json_cut);
    tcase_add_test(tc, test_text_fields);
    tcase_add_test(tc, test_parse_text);
    tcase_add_test(tc, test_text_round_trip);
    tcase_add_test(tc, test_log_lines);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
