/*
 * itest_sessvars.c - session variables follow each client across pooled
 * backend connections: a client reads back what it SET, a client that set
 * nothing sees the server defaults (never a neighbour's leftovers), and
 * clients that only SET something hold no backend connection while idle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static bool
value_is(MYSQL *m, const char *expected, const char *what, const char *sql)
{
    bool is_null = false;
    char *v = it_value(m, &is_null, "%s", sql);
    bool ok = check_str(v, expected, "%s", what);
    free(v);
    return ok;
}

int
main(void)
{
    MYSQL *a, *b, *direct, *idle[30];
    char *tz_default, *mode_default;
    long long before, after;
    bool is_null;
    int n;

    it_init("itest_sessvars");
    a = it_connect();
    b = it_connect();
    direct = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (a == NULL || b == NULL || direct == NULL) {
        check(false, "connect");
        return it_done();
    }
    tz_default = it_value(direct, &is_null, "SELECT @@GLOBAL.time_zone");
    mode_default = it_value(direct, &is_null, "SELECT @@GLOBAL.sql_mode");

    check(it_exec(a, "SET time_zone = '+03:00', sql_mode = 'ANSI'"),
          "SET time_zone and sql_mode");
    value_is(a, "+03:00", "the setter reads its time_zone back",
             "SELECT @@time_zone");
    for (int i = 0; i < 10; i++) {
        value_is(b, tz_default, "a client that set nothing sees the default",
                 "SELECT @@time_zone");
        value_is(b, mode_default, "... and the default sql_mode",
                 "SELECT @@sql_mode");
        value_is(a, "+03:00", "the setter still sees its time_zone",
                 "SELECT @@time_zone");
    }
    value_is(a, "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI",
             "the setter's sql_mode", "SELECT @@sql_mode");

    /* SET NAMES follows too, and does not leak. */
    check(it_exec(a, "SET NAMES latin1"), "SET NAMES latin1");
    value_is(a, "latin1", "the setter's character_set_client",
             "SELECT @@character_set_client");
    {
        char *bcs = it_value(b, &is_null, "SELECT @@character_set_client");
        check(bcs != NULL && strcmp(bcs, "latin1") != 0,
              "another client keeps its own character set (%s)",
              bcs ? bcs : "NULL");
        free(bcs);
    }

    /* autocommit=0 follows, and makes a transaction of the next write. */
    it_exec(a, "DROP TABLE IF EXISTS itest_sv_t");
    it_exec(a, "CREATE TABLE itest_sv_t (id INT PRIMARY KEY)");
    check(it_exec(a, "SET autocommit = 0"), "SET autocommit = 0");
    value_is(a, "0", "autocommit reads back 0", "SELECT @@autocommit");
    value_is(b, "1", "another client still autocommits", "SELECT @@autocommit");
    it_exec(a, "INSERT INTO itest_sv_t VALUES (1)");
    check_int(it_int(direct, -1, "SELECT COUNT(*) FROM shop.itest_sv_t"), 0,
              "the uncommitted row is not on the shard yet");
    check(it_exec(a, "COMMIT"), "COMMIT");
    check_int(it_int(direct, -1, "SELECT COUNT(*) FROM shop.itest_sv_t"), 1,
              "after COMMIT the row is on the shard");
    it_exec(a, "SET autocommit = 1");
    it_exec(a, "DROP TABLE itest_sv_t");

    /* A bad value is the server's error, and changes nothing. */
    check(!it_exec(a, "SET time_zone = 'Not/AZone'"),
          "an invalid time_zone is refused");
    value_is(a, "+03:00", "the earlier time_zone stays", "SELECT @@time_zone");

    /* Clients that only SET something hold no backend connection. */
    before = it_int(direct, -1,
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                    "WHERE USER = 'myshard'");
    for (n = 0; n < 30; n++) {
        idle[n] = it_connect();
        if (idle[n] == NULL || !it_exec(idle[n], "SET autocommit = 0"))
            break;
    }
    check_int(n, 30, "30 clients SET autocommit = 0");
    after = it_int(direct, -1,
                   "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                   "WHERE USER = 'myshard'");
    if (it_expect_proxy())
        check(after - before < 10,
              "idle clients with session variables hold no backend "
              "connection (%lld before, %lld after)",
              before, after);
    else
        it_skip("direct server", "idle clients hold no backend connection");
    for (int i = 0; i < n; i++)
        mysql_close(idle[i]);

    /* A read_only user reads, and its writes never reach a server. */
    if (it_expect_proxy()) {
        unsigned err = 0;
        MYSQL *r = it_connect_as("reader", "reader", "shop",
                                 CLIENT_MULTI_STATEMENTS, &err);
        check(r != NULL, "read_only user logs in (errno %u)", err);
        if (r != NULL) {
            check_int(it_int(r, -1, "SELECT 41 + 1"), 42,
                      "read_only user reads");
            check(mysql_query(r, "CREATE TABLE itest_sv_ro (id INT)") != 0 &&
                      mysql_errno(r) == 1290 &&
                      strncmp(mysql_error(r), "myshard:", 8) == 0,
                  "read_only user: CREATE TABLE refused with 1290 (%u %s)",
                  mysql_errno(r), mysql_error(r));
            check_int(it_int(direct, -1,
                             "SELECT COUNT(*) FROM information_schema.TABLES "
                             "WHERE TABLE_NAME = 'itest_sv_ro'"),
                      0, "... and nothing reached the shard");
            check(mysql_query(r, "SELECT 1; DELETE FROM nothing_here") != 0 &&
                      mysql_errno(r) == 1290,
                  "read_only user: a write inside a batch is refused");
            mysql_close(r);
        }
    } else {
        it_skip("direct server", "read_only user");
    }

    free(tz_default);
    free(mode_default);
    mysql_close(a);
    mysql_close(b);
    mysql_close(direct);
    return it_done();
}
