/*
 * test_diag.c - the diagnostic list: counting, the compiler-style format
 * with and without line, column, file and hint, and printing.
 */
#include "base/diag.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_format)
{
    struct diag d;
    char buf[256], file[16] = "x.yaml";

    diag_init(&d);
    ck_assert(!diag_has_errors(&d));
    diag_add(&d, DIAG_ERROR, file, 42, 7, "did you mean 'user_hash'?",
             "table '%s': rule '%s' is not defined", "orders", "user_hsh");
    strcpy(file, "changed"); /* the list keeps its own copy */
    diag_add(&d, DIAG_WARNING, "x.yaml", 3, 0, NULL, "no column");
    diag_add(&d, DIAG_ERROR, "x.yaml", 0, 0, NULL, "cannot open: %s", "gone");
    diag_add(&d, DIAG_ERROR, NULL, 1, 1, "hint", "no file");
    ck_assert_uint_eq(d.n, 4);
    ck_assert_uint_eq(d.errors, 3);
    ck_assert(diag_has_errors(&d));

    diag_format(&d, 0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "x.yaml:42:7: error: table 'orders': rule "
                          "'user_hsh' is not defined (did you mean "
                          "'user_hash'?)");
    diag_format(&d, 1, buf, sizeof(buf));
    ck_assert_str_eq(buf, "x.yaml:3: warning: no column");
    diag_format(&d, 2, buf, sizeof(buf));
    ck_assert_str_eq(buf, "x.yaml: error: cannot open: gone");
    ck_assert_uint_eq(diag_format(&d, 3, buf, sizeof(buf)),
                      strlen("error: no file (hint)"));
    ck_assert_str_eq(buf, "error: no file (hint)");
    ck_assert_uint_eq(diag_format(&d, 9, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");

    /* truncation keeps the buffer terminated */
    ck_assert_uint_eq(diag_format(&d, 0, buf, 10), 9);
    ck_assert_str_eq(buf, "x.yaml:42");
    diag_free(&d);
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(test_join)
{
    struct diag d;
    char buf[256];

    diag_init(&d);
    ck_assert_uint_eq(diag_join(&d, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
    diag_add(&d, DIAG_ERROR, "f.yaml", 1, 2, NULL, "first");
    diag_add(&d, DIAG_ERROR, "f.yaml", 3, 4, "hint", "second");
    diag_add(&d, DIAG_WARNING, "f.yaml", 5, 0, NULL, "third");
    ck_assert_uint_eq(diag_join(&d, buf, sizeof(buf)), 3);
    ck_assert_str_eq(buf, "f.yaml:1:2: error: first; f.yaml:3:4: error: "
                          "second (hint); f.yaml:5: warning: third");
    /* exactly the length fits; one byte less drops the last */
    ck_assert_uint_eq(diag_join(&d, buf, strlen(buf) + 1), 3);
    ck_assert_uint_eq(diag_join(&d, buf, 80), 2);
    ck_assert_str_eq(buf, "f.yaml:1:2: error: first; f.yaml:3:4: error: "
                          "second (hint); (and 1 more)");
    ck_assert_uint_eq(diag_join(&d, buf, 50), 1);
    ck_assert_str_eq(buf, "f.yaml:1:2: error: first; (and 2 more)");
    /* the first does not fit: cut */
    ck_assert_uint_eq(diag_join(&d, buf, 30), 1);
    ck_assert_str_eq(buf, "f.yaml:1:2: ...; (and 2 more)");
    ck_assert_uint_eq(strlen(buf), 29);
    /* no room even for that: the count alone, or nothing */
    ck_assert_uint_eq(diag_join(&d, buf, 20), 0);
    ck_assert_str_eq(buf, "(and 3 more)");
    ck_assert_uint_eq(diag_join(&d, buf, 1), 0);
    ck_assert_str_eq(buf, "");
    diag_free(&d);
}
END_TEST

START_TEST(test_print_many)
{
    struct diag d;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    int lines = 0;

    diag_init(&d);
    for (int i = 1; i <= 100; i++)
        diag_add(&d, i % 2 ? DIAG_ERROR : DIAG_WARNING, "f", i, 1, NULL,
                 "item %d", i);
    ck_assert_uint_eq(d.errors, 50);
    f = open_memstream(&text, &len);
    diag_print(&d, f);
    fclose(f);
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 100);
    ck_assert(strncmp(text, "f:1:1: error: item 1\nf:2:1: warning: item 2\n",
                      42) == 0);
    free(text);
    diag_free(&d);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("diag");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_join);
    tcase_add_test(tc, test_print_many);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
