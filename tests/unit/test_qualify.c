/*
 * test_qualify.c - sql_qualifiers(): which names a text uses as
 * qualifiers, and whether each must be a schema (a.b.c, a.b()) or may be a
 * table or alias (a.b), and the token before it, whatever the parser would
 * make of the statement. Printed as name[!^]<prev (! a.b.c or a.b(),
 * ^ a table position).
 */
#include "sql/qualify.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    char s[512];
    size_t n;
    int stop_after; /* stop the scan after this many (0: never) */
    int count;
};

static bool
collect(void *arg, const struct sql_qual *q)
{
    struct seen *w = arg;
    int r = snprintf(w->s + w->n, sizeof(w->s) - w->n, "%s%.*s%s<%.*s",
                     w->n ? " " : "", (int)q->name.len, q->name.p,
                     q->kind == QUAL_SCHEMA  ? "!"
                     : q->kind == QUAL_TABLE ? "^"
                                             : "",
                     (int)q->prev.len, q->prev.p ? q->prev.p : "");
    if (r > 0)
        w->n += (size_t)r;
    w->count++;
    return w->stop_after == 0 || w->count < w->stop_after;
}

static const struct {
    const char *sql;
    const char *want; /* name[!^]<prev, space separated */
} cases[] = {
    {"SELECT 1", ""},
    {"SELECT user FROM mysql.user", "mysql^<FROM"},
    {"SELECT user FROM `mysql` . `user`", "`mysql`^<FROM"},
    {"SELECT user FROM mysql/* x */.user", "mysql^<FROM"},
    {"SELECT user FROM /*!mysql.user*/", "mysql^<FROM"},
    {"SELECT t.a, u.* FROM t JOIN u", "t<SELECT u<,"},
    {"SELECT db.t.c FROM db.t", "db!<SELECT db^<FROM"},
    {"SELECT secret.f(1)", "secret!<SELECT"},
    {"CALL secret.p()", "secret!<CALL"},
    {"CALL secret.p", "secret^<CALL"},
    {"SELECT 1.5, 'a.b', \"x.y\", @a, @@global.max_connections", ""},
    {"SELECT 1; DELETE FROM other.t", "other^<FROM"},
    {"SELECT a.b.c.d", "a!<SELECT"},
    {"CREATE TABLE t (id INT REFERENCES o.p(id))", "o!<REFERENCES"},
    {"SELECT * FROM a, b.c WHERE x.y IN (d.e, f.g)", "b^<, x<WHERE d<( f<,"},
    {"SELECT * FROM (a, b.c) JOIN d.e ON d.e = f.g", "b^<, d^<JOIN d<ON f<="},
    {"UPDATE t, o.u SET t.a = 1, u.b = 2", "o^<, t<SET u<,"},
    {"DELETE FROM t USING t, o.u", "o^<,"},
    {"INSERT o.t VALUES (1)", "o^<INSERT"},
    {"SELECT a, b.c FROM t ORDER BY x DESC, t.y", "b<, t<,"},
    {"SELECT (SELECT x.a FROM o.t x), y.b FROM y", "x<SELECT o^<FROM y<,"},
    {"SELECT x FROM t WHERE y = '", NULL}, /* does not lex */
};

START_TEST(test_cases)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct seen w = {0};
        bool ok = sql_qualifiers(cases[i].sql, strlen(cases[i].sql),
                                 LEX_MODE_DEFAULT, collect, &w);
        if (cases[i].want == NULL) {
            ck_assert_msg(!ok, "%s: should not lex", cases[i].sql);
            continue;
        }
        ck_assert_msg(ok, "%s: scan failed", cases[i].sql);
        ck_assert_msg(strcmp(w.s, cases[i].want) == 0, "%s: got [%s] want [%s]",
                      cases[i].sql, w.s, cases[i].want);
    }
}
END_TEST

START_TEST(test_stop)
{
    struct seen w = {0};
    const char *sql = "SELECT a.x, b.y, c.z";

    w.stop_after = 2;
    ck_assert(!sql_qualifiers(sql, strlen(sql), LEX_MODE_DEFAULT, collect, &w));
    ck_assert_str_eq(w.s, "a<SELECT b<,");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("qualify");
    TCase *tc = tcase_create("qualifiers");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_cases);
    tcase_add_test(tc, test_stop);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
