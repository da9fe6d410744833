/*
 * Transactions: rollback and commit verified on the default shard's primary
 * directly (the proxy is not its own witness), autocommit=0, a
 * transaction's own rows, isolation between clients, SELECT ... FOR UPDATE
 * holding its lock, errors inside a transaction, and a client that
 * disconnects mid-transaction.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TT "itest_txn_t"

static MYSQL *direct; /* s0 primary, as the backend user, in the schema */

/* Rows with this id as seen by m (proxy or direct); -1 on error. */
static long long
count_id(MYSQL *m, int id)
{
    return it_int(m, -1, "SELECT COUNT(*) FROM " TT " WHERE id = %d", id);
}

static bool
in_trans(MYSQL *m)
{
    unsigned status = 0;
    mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_STATUS, &status);
    return (status & SERVER_STATUS_IN_TRANS) != 0;
}

static void
test_rollback_commit(MYSQL *m, MYSQL *other)
{
    check(it_exec(m, "BEGIN"), "BEGIN");
    check(mysql_query(m, "INSERT INTO " TT " VALUES (1, 'rolled back')") == 0 &&
              mysql_affected_rows(m) == 1,
          "INSERT inside the transaction");
    check(in_trans(m), "server status says in transaction");
    check_int(count_id(m, 1), 1, "the transaction sees its own row");
    check_int(count_id(other, 1), 0,
              "another client does not see the uncommitted row");
    check_int(count_id(direct, 1), 0,
              "the shard primary does not show the uncommitted row");
    check(it_exec(m, "ROLLBACK"), "ROLLBACK");
    check(!in_trans(m), "server status: no transaction after ROLLBACK");
    check_int(count_id(m, 1), 0, "rolled-back row is gone");
    check_int(count_id(direct, 1), 0,
              "rolled-back row is not on the shard primary");

    check(it_exec(m, "START TRANSACTION"), "START TRANSACTION");
    it_exec(m, "INSERT INTO " TT " VALUES (2, 'committed')");
    check_int(count_id(direct, 2), 0, "before COMMIT the primary has no row");
    check(it_exec(m, "COMMIT"), "COMMIT");
    check_int(count_id(direct, 2), 1, "committed row is on the shard primary");
    check_int(count_id(other, 2), 1, "another client sees the committed row");
}

static void
test_autocommit(MYSQL *m)
{
    check_int(mysql_autocommit(m, 0), 0, "mysql_autocommit(0)");
    char *v = it_value(m, NULL, "SELECT @@autocommit");
    check_str(v, "0", "@@autocommit is 0");
    free(v);
    it_exec(m, "INSERT INTO " TT " VALUES (3, 'ac0 commit')");
    check_int(count_id(m, 3), 1, "autocommit=0: own row visible");
    check_int(count_id(direct, 3), 0, "autocommit=0: not yet on the primary");
    check_int(mysql_commit(m), 0, "mysql_commit");
    check_int(count_id(direct, 3), 1, "after mysql_commit the row is stored");
    it_exec(m, "INSERT INTO " TT " VALUES (4, 'ac0 rollback')");
    check_int(mysql_rollback(m), 0, "mysql_rollback");
    check_int(count_id(m, 4), 0, "mysql_rollback discards the row");
    check_int(count_id(direct, 4), 0, "rolled-back row is not on the primary");
    /* an implicit transaction left open spans statements */
    it_exec(m, "INSERT INTO " TT " VALUES (5, 'ac0 later')");
    it_exec(m, "SELECT 1");
    it_exec(m, "UPDATE " TT " SET v = 'ac0 updated' WHERE id = 5");
    check_int(count_id(direct, 5), 0,
              "autocommit=0: work spans statements uncommitted");
    check_int(mysql_autocommit(m, 1), 0, "mysql_autocommit(1) commits");
    v = it_value(direct, NULL, "SELECT v FROM " TT " WHERE id = 5");
    check_str(v, "ac0 updated", "switching autocommit on committed the work");
    free(v);
    v = it_value(m, NULL, "SELECT @@autocommit");
    check_str(v, "1", "@@autocommit is 1 again");
    free(v);
    it_exec(m, "INSERT INTO " TT " VALUES (6, 'ac1')");
    check_int(count_id(direct, 6), 1,
              "autocommit=1: an INSERT is stored at once");

    it_exec(m, "SET autocommit = 0");
    it_exec(m, "DELETE FROM " TT " WHERE id = 6");
    check_int(count_id(direct, 6), 1, "SET autocommit = 0: DELETE pending");
    it_exec(m, "ROLLBACK");
    it_exec(m, "SET autocommit = 1");
    check_int(count_id(m, 6), 1, "SET autocommit = 0 then ROLLBACK keeps row");
}

static void
test_isolation(MYSQL *m, MYSQL *other)
{
    /* other takes a snapshot; m commits a row; the snapshot does not move */
    check(it_exec(other, "START TRANSACTION WITH CONSISTENT SNAPSHOT"),
          "second client starts a snapshot");
    long long before = count_id(other, 7);
    it_exec(m, "INSERT INTO " TT " VALUES (7, 'after snapshot')");
    check_int(count_id(direct, 7), 1, "row 7 committed on the primary");
    long long during = count_id(other, 7);
    check(before == 0 && during == 0,
          "repeatable read: snapshot does not see a later commit");
    if (before != 0 || during != 0)
        it_diag("before %lld, during %lld", before, during);
    it_exec(other, "COMMIT");
    check_int(count_id(other, 7), 1, "after its COMMIT the client sees it");
}

static void
test_for_update(MYSQL *m, MYSQL *other)
{
    it_exec(other, "SET SESSION innodb_lock_wait_timeout = 1");
    check(it_exec(m, "BEGIN"), "BEGIN for SELECT ... FOR UPDATE");
    char *v = it_value(m, NULL, "SELECT v FROM " TT " WHERE id = 2 FOR UPDATE");
    check_str(v, "committed", "SELECT ... FOR UPDATE returns the row");
    free(v);
    double t0 = it_now();
    int rc = mysql_query(other, "UPDATE " TT " SET v = 'blocked' WHERE id = 2");
    double waited = it_now() - t0;
    check(rc != 0 && mysql_errno(other) == 1205,
          "another client's UPDATE waits for the lock and times out (1205)");
    if (rc == 0 || mysql_errno(other) != 1205)
        it_diag("rc %d errno %u %s after %.2fs", rc, mysql_errno(other),
                mysql_error(other), waited);
    it_exec(m, "UPDATE " TT " SET v = 'locked update' WHERE id = 2");
    check(it_exec(m, "COMMIT"), "COMMIT releases the lock");
    rc = mysql_query(other, "UPDATE " TT " SET v = 'after lock' WHERE id = 2");
    check(rc == 0 && mysql_affected_rows(other) == 1,
          "the other client's UPDATE succeeds after COMMIT");
    v = it_value(direct, NULL, "SELECT v FROM " TT " WHERE id = 2");
    check_str(v, "after lock", "primary holds the last update");
    free(v);
}

static void
test_error_inside(MYSQL *m)
{
    it_exec(m, "BEGIN");
    it_exec(m, "INSERT INTO " TT " VALUES (8, 'first')");
    int rc = mysql_query(m, "INSERT INTO " TT " VALUES (8, 'duplicate')");
    check(rc != 0 && mysql_errno(m) == 1062,
          "duplicate key inside a transaction gives 1062");
    rc = mysql_query(m, "SELEC 1");
    check(rc != 0 && mysql_errno(m) == 1064,
          "syntax error inside a transaction gives 1064");
    check(in_trans(m), "the transaction is still open after the errors");
    it_exec(m, "INSERT INTO " TT " VALUES (9, 'second')");
    check(it_exec(m, "COMMIT"), "COMMIT after errors");
    check_int(
        it_int(direct, -1, "SELECT COUNT(*) FROM " TT " WHERE id IN (8, 9)"), 2,
        "both good rows of that transaction are on the primary");
}

static void
test_disconnect_in_txn(void)
{
    MYSQL *c = it_connect();
    bool ok = c != NULL && it_exec(c, "BEGIN") &&
              it_exec(c, "INSERT INTO " TT " VALUES (10, 'abandoned')");
    check(ok, "client inserts row 10 in a transaction");
    if (c != NULL)
        mysql_close(c);
    /* The row lock must go with the transaction: a new client can take the
     * key at once, and the abandoned row never appears. */
    MYSQL *n = it_connect();
    ok = n != NULL && it_exec(n, "SET SESSION innodb_lock_wait_timeout = 3");
    int rc =
        n ? mysql_query(n, "INSERT INTO " TT " VALUES (10, 'new owner')") : -1;
    check(ok && rc == 0,
          "after the client left, its transaction no longer holds row 10");
    if (rc != 0 && n != NULL)
        it_diag("%u %s", mysql_errno(n), mysql_error(n));
    char *v = it_value(direct, NULL, "SELECT v FROM " TT " WHERE id = 10");
    check_str(v, "new owner", "the abandoned transaction was rolled back");
    free(v);
    if (n)
        mysql_close(n);
}

int
main(void)
{
    it_init("itest_txn");
    MYSQL *m = it_connect();
    MYSQL *other = it_connect();
    direct = it_connect_backend("S0_PRIMARY_PORT", it_db());
    if (!check(m != NULL && other != NULL, "two client connections") ||
        !check(direct != NULL, "direct connection to the s0 primary"))
        return it_done();
    if (it_backend_port("S0_PRIMARY_PORT") == 0)
        it_diag("S0_PRIMARY_PORT unset: the tested server is its own witness");
    bool ok = it_exec(m, "DROP TABLE IF EXISTS " TT) &&
              it_exec(m, "CREATE TABLE " TT " (id INT PRIMARY KEY, "
                         "v VARCHAR(40)) ENGINE=InnoDB");
    check(ok, "create " TT);
    check_int(count_id(direct, 1), 0,
              "the table exists on the s0 primary (schema %s)", it_db());

    test_rollback_commit(m, other);
    test_autocommit(m);
    test_isolation(m, other);
    test_for_update(m, other);
    test_error_inside(m);
    test_disconnect_in_txn();

    it_exec(m, "DROP TABLE IF EXISTS " TT);
    mysql_close(m);
    mysql_close(other);
    mysql_close(direct);
    return it_done();
}
