/*
 * test_escape.c - base/escape.c: what a client-supplied value looks like
 * in a log line. Printable text passes, quotes and backslashes are escaped,
 * control and high bytes become \xHH, and a long value is cut at a whole
 * escape with "..." inside the buffer.
 */
#include "base/escape.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_table)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } v[] = {
        {"app", 3, "app"},
        {"", 0, ""},
        {"a b=c", 5, "a b=c"},
        {"it's", 4, "it\\'s"},
        {"say \"x\"", 7, "say \\\"x\\\""},
        {"back\\slash", 10, "back\\\\slash"},
        {"line\nINFO fake=1", 16, "line\\nINFO fake=1"},
        {"\r\t", 2, "\\r\\t"},
        {"nul\0byte", 8, "nul\\x00byte"},
        {"\x1b[31mred", 8, "\\x1b[31mred"},
        {"\x7f", 1, "\\x7f"},
        {"caf\xc3\xa9", 5, "caf\\xc3\\xa9"},
    };
    char buf[ESCAPE_BUF];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        ck_assert_str_eq(escape_log(v[i].in, v[i].len, buf, sizeof(buf)),
                         v[i].out);
    ck_assert_str_eq(escape_log_str(NULL, buf, sizeof(buf)), "-");
    ck_assert_str_eq(escape_log_str("db\n", buf, sizeof(buf)), "db\\n");
}
END_TEST

START_TEST(test_truncation)
{
    char in[400], buf[16];

    /* exactly fits: 15 characters and the NUL */
    ck_assert_str_eq(escape_log("abcdefghijklmno", 15, buf, sizeof(buf)),
                     "abcdefghijklmno");
    /* one more: cut with room for "..." */
    ck_assert_str_eq(escape_log("abcdefghijklmnop", 16, buf, sizeof(buf)),
                     "abcdefghijkl...");
    /* never half an escape */
    ck_assert_str_eq(escape_log("abcdefghij\n\n\n\n\n", 15, buf, sizeof(buf)),
                     "abcdefghij\\n...");
    ck_assert_str_eq(escape_log("\x01\x02\x03\x04", 4, buf, sizeof(buf)),
                     "\\x01\\x02\\x03...");
    /* ESCAPE_BUF holds 64 bytes of the worst kind */
    memset(in, 0xff, sizeof(in));
    {
        char big[ESCAPE_BUF];
        escape_log(in, 64, big, sizeof(big));
        ck_assert_uint_eq(strlen(big), 64 * 4);
        escape_log(in, sizeof(in), big, sizeof(big));
        ck_assert_uint_lt(strlen(big), sizeof(big));
        ck_assert(strcmp(big + strlen(big) - 3, "...") == 0);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("escape");
    TCase *tc = tcase_create("escape");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_truncation);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
