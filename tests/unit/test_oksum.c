/*
 * test_oksum.c - result/oksum.c: OK packets of several shards summed into
 * one, from tables of what shards answer: affected rows and warnings
 * summed, the largest insert id, the last status, and info texts summed
 * when their words agree and dropped when they do not.
 */
#include "result/oksum.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/reply.h"

struct part {
    uint64_t affected, id;
    uint16_t status, warnings;
    const char *info;
};

static const struct {
    const char *name;
    struct part parts[3];
    int n;
    uint64_t affected, id;
    uint32_t warnings;
    uint16_t status;
    const char *info;
} cases[] = {
    {"UPDATE",
     {{3, 0, 2, 0, "Rows matched: 3  Changed: 3  Warnings: 0"},
      {2, 0, 2, 1, "Rows matched: 4  Changed: 2  Warnings: 1"}},
     2,
     5,
     0,
     1,
     2,
     "Rows matched: 7  Changed: 5  Warnings: 1"},
    {"INSERT ids",
     {{2, 10, 2, 0, NULL}, {1, 7, 3, 0, NULL}},
     2,
     3,
     10,
     0,
     3,
     ""},
    {"infos differ",
     {{1, 0, 2, 0, "Records: 1"}, {1, 0, 2, 0, "Rows matched: 1"}},
     2,
     2,
     0,
     0,
     2,
     ""},
    {"more results flag dropped",
     {{1, 0, 2 | SERVER_MORE_RESULTS_EXISTS, 0, NULL}},
     1,
     1,
     0,
     0,
     2,
     ""},
    {"number count differs",
     {{0, 0, 2, 0, "a 1"}, {0, 0, 2, 0, "a 1 2"}, {0, 0, 2, 0, "a 1"}},
     3,
     0,
     0,
     0,
     2,
     ""},
};

START_TEST(test_table)
{
    struct oksum os;
    char info[OKSUM_INFO_MAX + 64];

    memset(&os, 0, sizeof(os));
    for (int i = 0; i < cases[_i].n; i++) {
        const struct part *p = &cases[_i].parts[i];
        struct reply_ok ok = {.affected = p->affected,
                              .insert_id = p->id,
                              .status = p->status,
                              .warnings = p->warnings,
                              .info = (const uint8_t *)p->info,
                              .info_len = p->info ? strlen(p->info) : 0};
        oksum_add(&os, &ok);
    }
    oksum_info(&os, info, sizeof(info));
    ck_assert_msg(os.affected == cases[_i].affected, "%s", cases[_i].name);
    ck_assert_uint_eq(os.insert_id, cases[_i].id);
    ck_assert_uint_eq(os.warnings, cases[_i].warnings);
    ck_assert_uint_eq(os.status, cases[_i].status);
    ck_assert_str_eq(info, cases[_i].info);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("oksum");
    TCase *tc = tcase_create("oksum");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, test_table, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
