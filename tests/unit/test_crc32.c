/*
 * test_crc32.c - CRC-32 must equal MariaDB's CRC32(); the vectors below were
 * are MariaDB's `SELECT CRC32('...')` results.
 */
#include "base/crc32.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in;
    uint32_t out;
} vectors[] = {
    {"", 0u},
    {"MySQL", 3259397556u},
    {"1", 2212294583u},
    {"42", 841265288u},
    {"-7", 3645828383u},
    {"user@example.com", 1634596257u},
};

START_TEST(test_vectors)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        ck_assert_uint_eq(crc32_ieee(vectors[i].in, strlen(vectors[i].in)),
                          vectors[i].out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("crc32");
    TCase *tc = tcase_create("vectors");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_vectors);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
