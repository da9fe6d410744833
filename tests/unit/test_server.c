/*
 * test_server.c - the server set (backend/server.h): built from a config,
 * grown by one that appends shards (the new servers at the end, each
 * shard's primary found, pools arrays for every worker, the old entries
 * where they were), and a grow that cannot apply leaving it unchanged.
 */
#include "backend/server.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/gtidpos.h"
#include "cfg/cfg.h"

/* A config of nshards shards, shard i on port 20000 + 1000 i with replicas
 * replicas on the next ports; bad_host names shard last's primary by an
 * address that does not resolve. */
static struct cfg *
load(int nshards, int replicas, bool bad_host)
{
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    struct diag d;
    struct cfg *c;

    fputs("backend: { user: u, password: p }\nshards:\n", o);
    for (int i = 0; i < nshards; i++) {
        fprintf(o, "  - name: s%d\n    primary: %s:%d\n", i,
                bad_host && i == nshards - 1 ? "no-such-host.invalid"
                                             : "127.0.0.1",
                20000 + 1000 * i);
        if (replicas > 0)
            fputs("    replicas:\n", o);
        for (int r = 0; r < replicas; r++)
            fprintf(o, "      - { addr: 127.0.0.1:%d, zone: z%d }\n",
                    20000 + 1000 * i + 1 + r, r);
    }
    fputs("schemas: [{ name: shop }]\n"
          "users: [{ name: app, password: app, schemas: [shop] }]\n",
          o);
    fclose(o);
    diag_init(&d);
    c = cfg_load_string("t.yaml", text, &d);
    ck_assert_msg(c != NULL, "the config did not load:\n%s", text);
    diag_free(&d);
    free(text);
    return c;
}

START_TEST(test_build_and_grow)
{
    struct cfg *two = load(2, 1, false), *four = load(4, 2, false);
    char err[256];
    struct server_set *set = server_set_build(two, err, sizeof(err));
    struct server *first;

    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(set->n, 4);
    ck_assert_int_eq(set->nshards, 2);
    ck_assert_int_eq(set->shard_primary[1], 2);
    ck_assert_int_ge(set->cap, 4 + 62);
    first = &set->v[0];

    ck_assert(server_set_grow(set, four, 3, err, sizeof(err)));
    ck_assert_int_eq(set->nshards, 4);
    ck_assert_int_eq(set->n, 4 + 2 * 3);
    ck_assert_ptr_eq(&set->v[0], first); /* nothing moved */
    ck_assert_str_eq(set->v[1].addr, "127.0.0.1:20001");
    ck_assert_int_eq(set->shard_primary[2], 4);
    ck_assert_int_eq(set->shard_primary[3], 7);
    for (int k = 4; k < set->n; k++) {
        const struct server *s = &set->v[k];
        ck_assert_int_eq(s->index, k);
        ck_assert_int_eq(s->shard, k < 7 ? 2 : 3);
        ck_assert(s->primary == (k == 4 || k == 7));
        ck_assert_int_eq(s->npools, 3); /* one place per worker */
        ck_assert_ptr_nonnull(s->pools);
        ck_assert_ptr_null(s->pools[2]);
    }
    ck_assert_str_eq(set->v[8].addr, "127.0.0.1:23001");
    ck_assert_str_eq(set->v[8].zone, "z0");
    ck_assert_str_eq(set->v[9].zone, "z1");
    /* the new shards' replication positions work like the old ones' */
    ck_assert_int_eq(gtidpos_slot(set, 3, 0), 0);
    ck_assert_int_eq(gtidpos_slot(set, 4, 0), -1);
    /* the same config again: nothing to add */
    ck_assert(server_set_grow(set, four, 3, err, sizeof(err)));
    ck_assert_int_eq(set->n, 10);
    server_set_free(set);
    cfg_put(two);
    cfg_put(four);
}
END_TEST

START_TEST(test_grow_refused)
{
    struct cfg *two = load(2, 0, false), *bad = load(3, 1, true);
    struct cfg *wide = load(3, 600, false);
    char err[256] = "";
    struct server_set *set = server_set_build(two, err, sizeof(err));

    ck_assert_ptr_nonnull(set);
    /* an address that does not resolve: the set stays as it was */
    ck_assert(!server_set_grow(set, bad, 2, err, sizeof(err)));
    ck_assert_msg(strstr(err, "no-such-host.invalid") != NULL, "%s", err);
    ck_assert_int_eq(set->n, 2);
    ck_assert_int_eq(set->nshards, 2);
    /* more servers than the room kept at start */
    ck_assert(!server_set_grow(set, wide, 2, err, sizeof(err)));
    ck_assert_msg(strstr(err, "has room for") != NULL &&
                      strstr(err, "restart") != NULL,
                  "%s", err);
    ck_assert_int_eq(set->n, 2);
    ck_assert_int_eq(set->nshards, 2);
    server_set_free(set);
    cfg_put(two);
    cfg_put(bad);
    cfg_put(wide);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("set");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_build_and_grow);
    tcase_add_test(tc, test_grow_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
