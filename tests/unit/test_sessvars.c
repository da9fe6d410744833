/*
 * test_sessvars.c - the SET a borrowed connection needs: values the client
 * set, DEFAULT for what an earlier borrower left, nothing when equal, and
 * character sets left to the caller.
 */
#include "backend/sessvars.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void
set(struct sessvars *s, const char *n, const char *v)
{
    sessvars_set(s, n, strlen(n), v, strlen(v));
}

static const char *
diff(struct sessvars *want, struct sessvars *have, bool *stale)
{
    static char buf[512];
    size_t n = 4;

    memcpy(buf, "SET ", 4);
    ck_assert(sessvars_diff(want, have, buf, sizeof(buf), &n, stale));
    buf[n] = '\0';
    return buf;
}

START_TEST(test_diff)
{
    struct sessvars want = {0}, have = {0};
    bool stale;

    ck_assert_str_eq(diff(&want, &have, &stale), "SET ");
    set(&want, "AutoCommit", "0");
    set(&want, "time_zone", "'+03:00'");
    ck_assert_str_eq(diff(&want, &have, &stale),
                     "SET autocommit = 0, time_zone = '+03:00'");
    sessvars_copy(&have, &want);
    ck_assert(sessvars_equal(&want, &have));
    ck_assert_str_eq(diff(&want, &have, &stale), "SET ");
    set(&want, "time_zone", "'UTC'"); /* replaced, not added */
    ck_assert_int_eq(want.n, 2);
    ck_assert_str_eq(diff(&want, &have, &stale), "SET time_zone = 'UTC'");
    sessvars_clear(&want);
    set(&have, "names", "latin1");
    ck_assert_str_eq(diff(&want, &have, &stale),
                     "SET autocommit = DEFAULT, time_zone = DEFAULT");
    ck_assert(stale);
    set(&want, "names", "utf8mb4 COLLATE utf8mb4_bin");
    ck_assert(sessvars_has_charset(&want));
    ck_assert_str_eq(diff(&want, &have, &stale),
                     "SET names utf8mb4 COLLATE utf8mb4_bin, autocommit = "
                     "DEFAULT, time_zone = DEFAULT");
    ck_assert(!stale);
    sessvars_clear(&want);
    sessvars_clear(&have);
}
END_TEST

/* A SET of one character set variable after NAMES: the NAMES becomes its
 * parts, so the set never holds two answers for character_set_client. */
START_TEST(test_apply_charsets)
{
    struct sessvars s = {0};

    sessvars_apply(&s, "names", 5, "utf8mb4", 7);
    sessvars_apply(&s, "character_set_client", 20, "latin1", 6);
    ck_assert_ptr_null(sessvars_get(&s, "names"));
    ck_assert_str_eq(sessvars_get(&s, "character_set_client"), "latin1");
    ck_assert_str_eq(sessvars_get(&s, "character_set_results"), "utf8mb4");
    ck_assert_str_eq(sessvars_get(&s, "character_set_connection"), "utf8mb4");
    sessvars_apply(&s, "collation_connection", 20, "latin1_swedish_ci", 17);
    ck_assert_ptr_null(sessvars_get(&s, "character_set_connection"));
    ck_assert_int_eq(s.n, 3);
    /* NAMES replaces all of them */
    sessvars_apply(&s, "NAMES", 5, "'gbk' COLLATE 'gbk_bin'", 23);
    ck_assert_int_eq(s.n, 1);
    sessvars_apply(&s, "character_set_results", 21, "binary", 6);
    ck_assert_str_eq(sessvars_get(&s, "character_set_client"), "gbk");
    ck_assert_str_eq(sessvars_get(&s, "collation_connection"), "gbk_bin");
    ck_assert_str_eq(sessvars_get(&s, "character_set_results"), "binary");
    ck_assert_ptr_null(sessvars_get(&s, "character_set_connection"));
    sessvars_apply(&s, "time_zone", 9, "'+00:00'", 8);
    ck_assert_str_eq(sessvars_get(&s, "time_zone"), "'+00:00'");
    sessvars_clear(&s);
}
END_TEST

START_TEST(test_too_small)
{
    struct sessvars want = {0}, have = {0};
    char buf[16] = "SET ";
    size_t n = 4;
    bool stale;

    set(&want, "sql_mode", "'STRICT_TRANS_TABLES,NO_ZERO_DATE'");
    ck_assert(!sessvars_diff(&want, &have, buf, sizeof(buf), &n, &stale));
    sessvars_clear(&want);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sessvars");
    TCase *tc = tcase_create("diff");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_diff);
    tcase_add_test(tc, test_too_small);
    tcase_add_test(tc, test_apply_charsets);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
