/*
 * test_rewrite.c - schema renaming touches qualifiers only: never strings,
 * comments, columns of a table that happens to share the schema's name, or
 * statements that do not mention the schema.
 */
#include "sql/rewrite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct rewrite_rename map[] = {
    {"appdb", "app_real"},
    {"shop", "shop_prod"},
};

static const struct {
    const char *in;
    const char *out; /* NULL: unchanged */
} cases[] = {
    {"SELECT x FROM appdb.t", "SELECT x FROM `app_real`.t"},
    {"select * from `appdb`.`t` join shop.u on 1",
     "select * from `app_real`.`t` join `shop_prod`.u on 1"},
    {"SELECT appdb.t.x FROM appdb.t",
     "SELECT `app_real`.t.x FROM `app_real`.t"},
    {"SELECT 'appdb.t' FROM t", NULL},
    {"SELECT x FROM t /* appdb.t */", NULL},
    {"SELECT t.appdb FROM t", NULL},
    {"SELECT x FROM APPDB . t", "SELECT x FROM `app_real` . t"},
    {"SELECT x FROM other.t", NULL},
    {"INSERT INTO appdb.t VALUES ('shop.x')",
     "INSERT INTO `app_real`.t VALUES ('shop.x')"},
};

START_TEST(test_cases)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        size_t n = 0;
        bool changed = rewrite_schema_names(cases[i].in, strlen(cases[i].in),
                                            LEX_MODE_DEFAULT, map, 2, &out, &n);
        if (cases[i].out == NULL) {
            ck_assert_msg(!changed, "case %zu changed: %.*s", i, (int)n, out);
        } else {
            ck_assert_msg(changed, "case %zu unchanged", i);
            ck_assert_uint_eq(n, strlen(cases[i].out));
            ck_assert_msg(memcmp(out, cases[i].out, n) == 0,
                          "case %zu: got %.*s", i, (int)n, out);
        }
        free(out);
    }
}
END_TEST

static const struct {
    const char *in;
    const char *out; /* NULL: unchanged */
} db_cases[] = {
    {"SELECT DATABASE()", "SELECT 'appdb' AS `DATABASE()`"},
    {"select database(), 1", "select 'appdb' AS `database()`, 1"},
    {"SELECT x FROM t WHERE s = SCHEMA()", "SELECT x FROM t WHERE s = 'appdb'"},
    {"SELECT DATABASE() AS d", "SELECT 'appdb' AS d"},
    {"SELECT CONCAT(DATABASE(), '.t')", "SELECT CONCAT('appdb', '.t')"},
    {"SELECT 'DATABASE()'", NULL},
    {"SELECT t.database FROM t", NULL},
    {"SELECT 1", NULL},
};

START_TEST(test_current_schema)
{
    for (size_t i = 0; i < sizeof(db_cases) / sizeof(db_cases[0]); i++) {
        char *out = NULL;
        size_t n = 0;
        bool changed =
            rewrite_current_schema(db_cases[i].in, strlen(db_cases[i].in),
                                   LEX_MODE_DEFAULT, "appdb", &out, &n);
        if (db_cases[i].out == NULL) {
            ck_assert_msg(!changed, "case %zu changed: %.*s", i, (int)n, out);
        } else {
            ck_assert_msg(changed, "case %zu unchanged", i);
            ck_assert_msg(n == strlen(db_cases[i].out) &&
                              memcmp(out, db_cases[i].out, n) == 0,
                          "case %zu: got %.*s", i, (int)n, out);
        }
        free(out);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rewrite");
    TCase *tc = tcase_create("schema_names");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_cases);
    tcase_add_test(tc, test_current_schema);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
