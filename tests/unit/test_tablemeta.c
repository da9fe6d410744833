/*
 * test_tablemeta.c - the table metadata thread's bookkeeping without a
 * server: shards on loopback ports nobody listens on, so every read fails
 * at once (connection refused) and the tables end unreadable, saying why.
 * Checked: every configured table is listed (sharded with its key, global
 * without), the shard it is read from, invalidation makes an entry stale
 * until the thread reads it again, a held snapshot stays valid after newer
 * ones are published (ASan watches), and a reload's new table appears.
 * The reads themselves, against MariaDB, are itest_meta's.
 */
#include "backend/tablemeta.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/server.h"
#include "base/clock.h"
#include "base/diag.h"
#include "cfg/cfg.h"

/* A loopback port nothing listens on (bound, then closed). */
static unsigned
dead_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static struct cfg *
load(unsigned p0, unsigned p1, const char *extra)
{
    char text[2048];
    struct diag d;
    struct cfg *c;

    snprintf(text, sizeof(text),
             "users: [{ name: app, password: app, schemas: [shop] }]\n"
             "backend: { user: myshard, password: x, connect_timeout: 1s }\n"
             "shards:\n"
             "  - { name: s0, primary: 127.0.0.1:%u }\n"
             "  - { name: s1, primary: 127.0.0.1:%u }\n"
             "sharding_rules:\n"
             "  m: { type: mod, shards: [s1, s0] }\n"
             "schemas:\n"
             "  - name: shop\n"
             "    backend_schema: shop_prod\n"
             "    default_shard: s0\n"
             "    tables:\n"
             "      - { name: orders, key: cust, rule: m }\n"
             "      - { name: countries, global: true }\n"
             "%s",
             p0, p1, extra);
    diag_init(&d);
    c = cfg_load_string("tablemeta.yaml", text, &d);
    if (c == NULL)
        diag_print(&d, stderr);
    diag_free(&d);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Waits (up to 10 s) until every table of the current snapshot was read. */
static struct tm_snap *
settled(struct tablemeta *m, int ntables)
{
    int64_t until = clock_ms() + 10000;

    for (;;) {
        struct tm_snap *s = tablemeta_get(m);
        bool done = s->ntables == ntables;
        for (int i = 0; done && i < s->ntables; i++)
            done =
                s->tables[i]->read_ms != 0 && !tablemeta_stale(m, s->tables[i]);
        if (done || clock_ms() > until)
            return s;
        tablemeta_put(s);
        usleep(10000);
    }
}

START_TEST(test_lifecycle)
{
    unsigned p0 = dead_port(), p1 = dead_port();
    struct cfg *c = load(p0, p1, ""), *next;
    char err[256], want[64];
    struct server_set *set = server_set_build(c, err, sizeof(err));
    struct tablemeta *m;
    struct tm_snap *s, *old;
    const struct tm_table *o, *g;
    uint64_t gen;

    ck_assert_ptr_nonnull(set);
    m = tablemeta_start(set, c);
    ck_assert_ptr_nonnull(m);

    s = settled(m, 2);
    o = tm_snap_find(s, "shop", "orders");
    g = tm_snap_find(s, "shop", "countries");
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_null(tm_snap_find(s, "shop", "Orders"));
    ck_assert_ptr_null(tm_snap_find(s, "crm", "orders"));
    ck_assert_str_eq(o->key, "cust");
    ck_assert_ptr_null(g->key);
    ck_assert_int_eq(o->shard, 1); /* the rule's first shard: s1 */
    ck_assert_int_eq(g->shard, 0); /* the schema's default shard */
    ck_assert_int_eq(o->state, TM_ERROR);
    snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%u", p1);
    ck_assert_msg(strstr(o->why, want) != NULL, "why: %s", o->why);
    ck_assert_int_eq(o->nrow, 0);
    ck_assert_int_eq(o->key_pos, -1);
    ck_assert(!tablemeta_stale(m, o));

    /* invalidated: stale until read again, in a newer snapshot */
    gen = tablemeta_gen(m);
    old = s;
    tablemeta_invalidate(m, "shop", "orders");
    ck_assert(tablemeta_stale(m, o));
    s = settled(m, 2);
    ck_assert_uint_gt(tablemeta_gen(m), gen);
    ck_assert_ptr_ne(tm_snap_find(s, "shop", "orders"), o);
    ck_assert(!tablemeta_stale(m, tm_snap_find(s, "shop", "orders")));
    /* the old snapshot still holds its tables */
    ck_assert_str_eq(o->name, "orders");
    ck_assert(tablemeta_stale(m, o));
    tablemeta_put(old);
    tablemeta_put(s);

    /* a reload's new table is listed and read */
    next = load(p0, p1, "      - { name: items, key: cust, rule: m }\n");
    tablemeta_set_cfg(m, next);
    cfg_put(next); /* copied */
    s = settled(m, 3);
    ck_assert_int_eq(s->ntables, 3);
    ck_assert_ptr_nonnull(tm_snap_find(s, "shop", "items"));
    ck_assert_int_eq(tm_snap_find(s, "shop", "items")->state, TM_ERROR);
    tablemeta_put(s);

    tablemeta_stop(m);
    server_set_free(set);
    cfg_put(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tablemeta");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lifecycle);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
