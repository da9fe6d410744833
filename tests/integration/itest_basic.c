/*
 * Basic client behaviour through the C API: text queries, unicode and
 * binary values, NULLs, DML with affected rows and insert ids, errors,
 * multi-statements, session commands (ping, init_db, change_user,
 * reset_connection, field_list, statistics, set_option) and the proxy's
 * own answers (schemas, authentication).
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T1   "itest_basic_t1"
#define TBIN "itest_basic_bin"
#define TREN "itest_basic_renamed"

static void
test_select_one(MYSQL *m)
{
    char *v = it_value(m, NULL, "SELECT 1");
    check_str(v, "1", "SELECT 1 returns 1");
    free(v);
    v = it_value(m, NULL, "SELECT 6 * 7 AS answer");
    check_str(v, "42", "SELECT 6 * 7 returns 42");
    free(v);
    check(mysql_get_server_info(m) != NULL &&
              mysql_get_server_info(m)[0] != '\0',
          "server version string is not empty");
}

static void
test_unicode(MYSQL *m)
{
    /* emoji (4-byte UTF-8), CJK, Latin accents, Cyrillic */
    static const char text[] = "\xF0\x9F\x98\x80 \xE6\xBC\xA2\xE5\xAD\x97 "
                               "h\xC3\xA9llo \xD0\x9F\xD1\x80\xD0\xB8";
    char *v = it_value(m, NULL, "SELECT '%s'", text);
    check(v != NULL && strcmp(v, text) == 0,
          "unicode literal (emoji, CJK) round-trips byte for byte");
    if (v != NULL && strcmp(v, text) != 0)
        it_diag("expected '%s', got '%s'", text, v);
    free(v);
    v = it_value(m, NULL, "SELECT CHAR_LENGTH('%s')", text);
    check_str(v, "14", "server counts the unicode literal as 14 characters");
    free(v);
    v = it_value(m, NULL, "SELECT HEX('\xF0\x9F\x98\x80')");
    check_str(v, "F09F9880", "emoji reaches the server as 4 UTF-8 bytes");
    free(v);
}

static void
test_binary(MYSQL *m)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char *hex = it_hex(all, sizeof(all));

    /* text protocol: UNHEX of all 256 byte values */
    bool ok = false;
    unsigned long len = 0;
    char *sql = NULL;
    if (asprintf(&sql, "SELECT UNHEX('%s')", hex) < 0)
        exit(1);
    if (mysql_query(m, sql) == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row != NULL && row[0] != NULL) {
            len = mysql_fetch_lengths(r)[0];
            ok = len == 256 && memcmp(row[0], all, 256) == 0;
        }
        if (r != NULL)
            mysql_free_result(r);
    } else {
        it_diag("UNHEX query failed: %s", mysql_error(m));
    }
    free(sql);
    if (!check(ok, "all 256 byte values round-trip through a text query"))
        it_diag("got %lu bytes", len);

    /* prepared statement parameter into a BLOB column, read back as text */
    ok = it_exec(m, "DROP TABLE IF EXISTS " TBIN) &&
         it_exec(m, "CREATE TABLE " TBIN " (id INT PRIMARY KEY, b BLOB)");
    MYSQL_STMT *st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO " TBIN " VALUES (1, ?)";
    MYSQL_BIND bind;
    memset(&bind, 0, sizeof(bind));
    unsigned long blen = sizeof(all);
    bind.buffer_type = MYSQL_TYPE_BLOB;
    bind.buffer = all;
    bind.buffer_length = sizeof(all);
    bind.length = &blen;
    if (ok && (mysql_stmt_prepare(st, ins, strlen(ins)) != 0 ||
               mysql_stmt_bind_param(st, &bind) != 0 ||
               mysql_stmt_execute(st) != 0)) {
        it_diag("prepared insert failed: %s", mysql_stmt_error(st));
        ok = false;
    }
    mysql_stmt_close(st);
    char *v = it_value(m, NULL, "SELECT HEX(b) FROM " TBIN " WHERE id = 1");
    char *upper = strdup(hex);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    check(ok && v != NULL && strcmp(v, upper) == 0,
          "all 256 byte values stored by a prepared blob parameter");
    free(v);
    free(upper);
    ok = false;
    if (mysql_query(m, "SELECT b FROM " TBIN " WHERE id = 1") == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        ok = row != NULL && row[0] != NULL &&
             mysql_fetch_lengths(r)[0] == 256 && memcmp(row[0], all, 256) == 0;
        if (r != NULL)
            mysql_free_result(r);
    }
    check(ok, "blob with all 256 byte values reads back byte-identical");
    it_exec(m, "DROP TABLE IF EXISTS " TBIN);
    free(hex);
}

static void
test_nulls(MYSQL *m)
{
    bool ok = false;
    if (mysql_query(m, "SELECT NULL, 1, NULL, '' AS empty") == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row != NULL && mysql_num_fields(r) == 4) {
            unsigned long *len = mysql_fetch_lengths(r);
            ok = row[0] == NULL && row[1] != NULL && strcmp(row[1], "1") == 0 &&
                 row[2] == NULL && row[3] != NULL && len[3] == 0;
        }
        if (r != NULL)
            mysql_free_result(r);
    }
    check(ok, "NULL columns come back as NULL, empty string as empty");
    bool is_null = false;
    char *v = it_value(m, &is_null, "SELECT NULL");
    check(v == NULL && is_null, "SELECT NULL is SQL NULL");
    free(v);
}

static void
test_dml(MYSQL *m)
{
    bool ok = it_exec(m, "DROP TABLE IF EXISTS " T1) &&
              it_exec(m, "CREATE TABLE " T1 " (id INT AUTO_INCREMENT "
                         "PRIMARY KEY, name VARCHAR(50), val INT)");
    check(ok, "CREATE TABLE " T1);

    ok =
        mysql_query(m, "INSERT INTO " T1
                       " (name, val) VALUES ('a', 1), ('b', 2), ('c', 3)") == 0;
    check(ok, "multi-row INSERT succeeds");
    check_int((long long)mysql_affected_rows(m), 3,
              "multi-row INSERT reports 3 affected rows");
    check_int((long long)mysql_insert_id(m), 1,
              "multi-row INSERT reports the first insert id");
    const char *info = mysql_info(m);
    check_str(info, "Records: 3  Duplicates: 0  Warnings: 0",
              "multi-row INSERT info string");

    ok = mysql_query(m, "INSERT INTO " T1 " (name, val) VALUES ('d', 4)") == 0;
    check(ok && mysql_affected_rows(m) == 1 && mysql_insert_id(m) == 4,
          "single INSERT: 1 affected row, insert id 4");
    if (!ok || mysql_insert_id(m) != 4)
        it_diag("error '%s', affected %lld, insert id %llu", mysql_error(m),
                (long long)mysql_affected_rows(m),
                (unsigned long long)mysql_insert_id(m));
    char *v = it_value(m, NULL, "SELECT LAST_INSERT_ID()");
    check_str(v, "4", "LAST_INSERT_ID() right after the insert");
    free(v);

    v = it_value(m, NULL,
                 "SELECT CONCAT(COUNT(*), ',', SUM(val), ',', "
                 "GROUP_CONCAT(name ORDER BY id SEPARATOR '')) FROM " T1);
    check_str(v, "4,10,abcd", "SELECT sees the inserted rows");
    free(v);

    ok = mysql_query(m, "UPDATE " T1 " SET val = val * 10 WHERE val >= 3") == 0;
    check(ok, "UPDATE succeeds");
    check_int((long long)mysql_affected_rows(m), 2,
              "UPDATE reports 2 changed rows");
    check_str(mysql_info(m), "Rows matched: 2  Changed: 2  Warnings: 0",
              "UPDATE info string");
    ok = mysql_query(m, "UPDATE " T1 " SET val = 1 WHERE id = 1") == 0;
    check(ok && mysql_affected_rows(m) == 0,
          "UPDATE that changes nothing reports 0 affected rows");

    ok = mysql_query(m, "DELETE FROM " T1 " WHERE id IN (2, 3)") == 0;
    check(ok, "DELETE succeeds");
    check_int((long long)mysql_affected_rows(m), 2,
              "DELETE reports 2 affected rows");
    v = it_value(m, NULL,
                 "SELECT GROUP_CONCAT(CONCAT(name, '=', val) ORDER BY id) "
                 "FROM " T1);
    check_str(v, "a=1,d=40", "table holds the expected rows after DML");
    free(v);

    /* result metadata */
    ok = false;
    if (mysql_query(m, "SELECT id, name AS label, val FROM " T1
                       " ORDER BY id") == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        if (r != NULL && mysql_num_fields(r) == 3) {
            MYSQL_FIELD *f = mysql_fetch_fields(r);
            ok = strcmp(f[0].name, "id") == 0 && f[0].type == MYSQL_TYPE_LONG &&
                 strcmp(f[1].name, "label") == 0 &&
                 strcmp(f[1].org_name, "name") == 0 &&
                 f[1].type == MYSQL_TYPE_VAR_STRING &&
                 strcmp(f[2].table, T1) == 0 && mysql_num_rows(r) == 2;
            if (!ok)
                it_diag("fields: %s/%d %s(%s)/%d table %s rows %llu", f[0].name,
                        f[0].type, f[1].name, f[1].org_name, f[1].type,
                        f[2].table, (unsigned long long)mysql_num_rows(r));
        }
        if (r != NULL)
            mysql_free_result(r);
    }
    check(ok, "column metadata: names, aliases, types, table");

    /* warnings */
    ok = mysql_query(m, "SELECT 1 / 0") == 0;
    MYSQL_RES *r = ok ? mysql_store_result(m) : NULL;
    if (r != NULL)
        mysql_free_result(r);
    check_int(mysql_warning_count(m), 1, "SELECT 1 / 0 reports one warning");
    v = it_value(m, NULL, "SHOW WARNINGS");
    check_str(v, "Warning", "SHOW WARNINGS right after it shows the warning");
    free(v);
}

static void
test_errors(MYSQL *m)
{
    int rc = mysql_query(m, "SELEC 1");
    check(rc != 0, "a syntax error fails");
    check_errno(m, 1064, "syntax error is errno 1064");
    check_str(mysql_sqlstate(m), "42000", "syntax error SQLSTATE is 42000");
    char *v = it_value(m, NULL, "SELECT 2");
    check_str(v, "2", "the same connection works after the error");
    free(v);

    rc = mysql_query(m, "SELECT * FROM itest_basic_no_such_table");
    check(rc != 0 && mysql_errno(m) == 1146 &&
              strcmp(mysql_sqlstate(m), "42S02") == 0,
          "unknown table gives 1146 / 42S02");
    if (mysql_errno(m) != 1146)
        it_diag("got %u %s", mysql_errno(m), mysql_error(m));
    v = it_value(m, NULL, "SELECT 3");
    check_str(v, "3", "connection still works after 1146");
    free(v);
}

/* Reads the single value of the current result; false if none. */
static bool
result_value(MYSQL *m, char *out, size_t outlen)
{
    MYSQL_RES *r = mysql_store_result(m);
    if (r == NULL)
        return false;
    MYSQL_ROW row = mysql_fetch_row(r);
    bool ok = row != NULL && row[0] != NULL;
    if (ok)
        snprintf(out, outlen, "%s", row[0]);
    mysql_free_result(r);
    return ok;
}

static void
test_multi_statements(MYSQL *m)
{
    const char *sql = "SELECT 1; SELECT 'two'; INSERT INTO " T1
                      " (name, val) VALUES ('m1', 5), ('m2', 6); "
                      "SELECT COUNT(*) FROM " T1;
    char got[4][64];
    long long affected = -1;
    int results = 0;
    bool ok = mysql_query(m, sql) == 0;
    if (!ok)
        it_diag("multi-statement failed: %s", mysql_error(m));
    memset(got, 0, sizeof(got));
    int status = ok ? 0 : 1;
    while (status == 0) {
        if (results < 4) {
            if (mysql_field_count(m) > 0) {
                if (!result_value(m, got[results], sizeof(got[0])))
                    snprintf(got[results], sizeof(got[0]), "(no row)");
            } else {
                snprintf(got[results], sizeof(got[0]), "OK");
                affected = (long long)mysql_affected_rows(m);
            }
        } else {
            MYSQL_RES *r = mysql_store_result(m);
            if (r)
                mysql_free_result(r);
        }
        results++;
        status = mysql_next_result(m);
    }
    check(status == -1, "multi-statement results end cleanly");
    if (status > 0)
        it_diag("next_result failed: %s", mysql_error(m));
    check_int(results, 4, "multi-statement returns 4 results");
    check(strcmp(got[0], "1") == 0 && strcmp(got[1], "two") == 0,
          "multi-statement: first two SELECTs");
    if (strcmp(got[0], "1") != 0 || strcmp(got[1], "two") != 0)
        it_diag("got '%s', '%s'", got[0], got[1]);
    check(strcmp(got[2], "OK") == 0 && affected == 2,
          "multi-statement: INSERT reports 2 affected rows");
    check_str(got[3], "4", "multi-statement: last SELECT sees the insert");

    /* an error in the middle stops the batch, the connection survives */
    ok = mysql_query(m, "SELECT 10; SELEC 11; SELECT 12") == 0;
    char first[64] = "";
    if (ok)
        result_value(m, first, sizeof(first));
    status = ok ? mysql_next_result(m) : 1;
    check(ok && strcmp(first, "10") == 0 && status > 0 &&
              mysql_errno(m) == 1064,
          "multi-statement with an error: first result, then 1064");
    if (!(status > 0 && mysql_errno(m) == 1064))
        it_diag("first '%s' status %d errno %u", first, status, mysql_errno(m));
    char *v = it_value(m, NULL, "SELECT 13");
    check_str(v, "13", "connection works after the failed batch");
    free(v);
}

static void
test_ping_and_db(MYSQL *m)
{
    check_int(mysql_ping(m), 0, "mysql_ping succeeds");
    const char *other = it_expect_proxy() ? "appdb" : "app_real";
    check_int(mysql_select_db(m, other), 0, "mysql_select_db(%s)", other);
    if (mysql_errno(m))
        it_diag("%s", mysql_error(m));
    char *v = it_value(m, NULL, "SELECT 1 FROM DUAL");
    check_str(v, "1", "queries work in %s", other);
    free(v);
    check_int(mysql_select_db(m, it_db()), 0, "mysql_select_db back to %s",
              it_db());
    v = it_value(m, NULL, "SELECT DATABASE()");
    check_str(v, it_db(), "SELECT DATABASE() after mysql_select_db");
    free(v);
    v = it_value(m, NULL, "SELECT COUNT(*) FROM " T1);
    check_str(v, "4", "tables of %s visible again", it_db());
    free(v);

    check(it_exec(m, "USE %s", other), "USE %s", other);
    check(it_exec(m, "USE %s", it_db()), "USE %s", it_db());
    v = it_value(m, NULL, "SELECT DATABASE()");
    check_str(v, it_db(), "SELECT DATABASE() after USE");
    free(v);

    int rc = mysql_select_db(m, "nope");
    check(rc != 0, "mysql_select_db(nope) fails");
    check_errno(m, 1049, "mysql_select_db(nope) gives 1049");
    v = it_value(m, NULL, "SELECT DATABASE()");
    check_str(v, it_db(), "failed mysql_select_db keeps the current database");
    free(v);
    rc = mysql_query(m, "USE nope");
    check(rc != 0 && mysql_errno(m) == 1049, "USE nope gives 1049");
}

static void
test_schema_renaming(MYSQL *m)
{
    if (!it_expect_proxy()) {
        it_skip("direct server", "appdb is app_real on shard s1");
        it_skip("direct server", "appdb table visible through the proxy");
        return;
    }
    bool ok = mysql_select_db(m, "appdb") == 0 &&
              it_exec(m, "DROP TABLE IF EXISTS " TREN) &&
              it_exec(m, "CREATE TABLE " TREN " (x INT)") &&
              it_exec(m, "INSERT INTO " TREN " VALUES (7)");
    MYSQL *s1 = it_connect_backend("S1_PRIMARY_PORT", "app_real");
    char *v = ok && s1 ? it_value(s1, NULL, "SELECT x FROM " TREN) : NULL;
    check_str(v, "7", "appdb is app_real on shard s1 (read directly)");
    free(v);
    v = it_value(m, NULL, "SELECT x FROM appdb." TREN);
    check_str(v, "7", "appdb table visible through the proxy");
    free(v);
    it_exec(m, "DROP TABLE IF EXISTS " TREN);
    if (s1 != NULL)
        mysql_close(s1);
    mysql_select_db(m, it_db());
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_show_databases(MYSQL *m)
{
    if (!it_expect_proxy()) {
        it_skip("direct server", "SHOW DATABASES lists exactly appdb, shop");
        return;
    }
    char list[512] = "";
    if (mysql_query(m, "SHOW DATABASES") == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        char *names[64];
        int n = 0;
        MYSQL_ROW row;
        while (r && (row = mysql_fetch_row(r)) != NULL && n < 64)
            names[n++] = strdup(row[0] ? row[0] : "(NULL)");
        qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
        for (int i = 0; i < n; i++) {
            if (i > 0)
                strncat(list, ",", sizeof(list) - strlen(list) - 1);
            strncat(list, names[i], sizeof(list) - strlen(list) - 1);
            free(names[i]);
        }
        if (r)
            mysql_free_result(r);
    } else {
        it_diag("SHOW DATABASES failed: %s", mysql_error(m));
    }
    check_str(list, "appdb,shop", "SHOW DATABASES lists exactly appdb, shop");
}

static void
test_auth(void)
{
    unsigned err = 0;
    MYSQL *c = it_connect_as(it_user(), "wrong-password", it_db(), 0, &err);
    check(c == NULL && err == 1045, "wrong password gives 1045");
    if (c != NULL || err != 1045)
        it_diag("got %s, errno %u", c ? "a connection" : "failure", err);
    if (c)
        mysql_close(c);

    c = it_connect_as("itest_no_such_user", "x", it_db(), 0, &err);
    check(c == NULL && err == 1045, "unknown user gives 1045");
    if (c != NULL || err != 1045)
        it_diag("got %s, errno %u", c ? "a connection" : "failure", err);
    if (c)
        mysql_close(c);

    c = it_connect_as(it_user(), it_password(), "nope", 0, &err);
    check(c == NULL && err == 1049, "connecting with database nope gives 1049");
    if (c != NULL || err != 1049)
        it_diag("got %s, errno %u", c ? "a connection" : "failure", err);
    if (c)
        mysql_close(c);

    c = it_connect_as(it_user(), it_password(), NULL, 0, &err);
    char *v = c ? it_value(c, NULL, "SELECT 5") : NULL;
    check_str(v, "5", "connecting without a database works");
    free(v);
    if (c)
        mysql_close(c);

    if (!it_expect_proxy()) {
        it_skip("direct server", "app2 logs in with its hashed password");
        return;
    }
    c = it_connect_as("app2", "secret2", NULL, 0, &err);
    v = c ? it_value(c, NULL, "SELECT 'app2'") : NULL;
    check_str(v, "app2", "app2 logs in with its hashed password");
    if (c == NULL)
        it_diag("errno %u", err);
    free(v);
    if (c)
        mysql_close(c);
}

static void
test_change_user(MYSQL *m)
{
    /* Through the proxy change to app2; against a plain server the same
     * account exercises the same command. */
    const char *user = it_expect_proxy() ? "app2" : it_user();
    const char *pass = it_expect_proxy() ? "secret2" : it_password();
    it_exec(m, "SET @itest_var = 42");
    bool ok = mysql_change_user(m, user, pass, it_db()) == 0;
    check(ok, "mysql_change_user to %s", user);
    if (!ok)
        it_diag("%u %s", mysql_errno(m), mysql_error(m));
    bool is_null = false;
    char *v = it_value(m, &is_null, "SELECT @itest_var");
    check(v == NULL && is_null, "change_user resets user variables");
    free(v);
    v = it_value(m, NULL, "SELECT DATABASE()");
    check_str(v, it_db(), "database after change_user");
    free(v);
    ok = mysql_change_user(m, it_user(), it_password(), it_db()) == 0;
    check(ok, "mysql_change_user back to %s", it_user());
    v = it_value(m, NULL, "SELECT COUNT(*) FROM " T1);
    check_str(v, "4", "queries work after changing back");
    free(v);
}

static void
test_reset_connection(MYSQL *m)
{
    it_exec(m, "SET @itest_reset = 7");
    it_exec(m, "CREATE TEMPORARY TABLE itest_basic_tmp (x INT)");
    it_exec(m, "INSERT INTO itest_basic_tmp VALUES (1)");
    char *v = it_value(m, NULL, "SELECT @itest_reset");
    check_str(v, "7", "user variable set before reset");
    free(v);
    v = it_value(m, NULL, "SELECT COUNT(*) FROM itest_basic_tmp");
    check_str(v, "1", "temporary table readable before reset");
    free(v);
    check_int(mysql_reset_connection(m), 0, "mysql_reset_connection");
    bool is_null = false;
    v = it_value(m, &is_null, "SELECT @itest_reset");
    check(v == NULL && is_null, "reset clears user variables");
    free(v);
    int rc = mysql_query(m, "SELECT COUNT(*) FROM itest_basic_tmp");
    check(rc != 0 && mysql_errno(m) == 1146, "reset drops temporary tables");
    v = it_value(m, NULL, "SELECT DATABASE()");
    check_str(v, it_db(), "reset keeps the current database");
    free(v);
}

static void
test_session_state(MYSQL *m)
{
    check(it_exec(m, "SET time_zone = '+05:30'"), "SET time_zone");
    char *v = it_value(m, NULL, "SELECT @@time_zone");
    check_str(v, "+05:30", "session time_zone sticks");
    free(v);
    v = it_value(m, NULL, "SELECT @@session.time_zone");
    check_str(v, "+05:30", "session time_zone still set a statement later");
    free(v);
    it_exec(m, "SET @itest_u = 'hello'");
    v = it_value(m, NULL, "SELECT @itest_u");
    check_str(v, "hello", "user variable reads back");
    free(v);
    it_exec(m, "SET time_zone = DEFAULT");
}

static void
test_field_list(MYSQL *m)
{
    MYSQL_RES *r = mysql_list_fields(m, T1, NULL);
    bool ok = false;
    if (r != NULL) {
        MYSQL_FIELD *f = mysql_fetch_fields(r);
        ok = mysql_num_fields(r) == 3 && strcmp(f[0].name, "id") == 0 &&
             strcmp(f[1].name, "name") == 0 && strcmp(f[2].name, "val") == 0;
        if (!ok)
            it_diag("got %u fields", mysql_num_fields(r));
        mysql_free_result(r);
    } else {
        it_diag("mysql_list_fields failed: %s", mysql_error(m));
    }
    check(ok, "mysql_list_fields lists id, name, val");
    r = mysql_list_fields(m, T1, "na%");
    ok = r != NULL && mysql_num_fields(r) == 1 &&
         strcmp(mysql_fetch_fields(r)[0].name, "name") == 0;
    if (r)
        mysql_free_result(r);
    check(ok, "mysql_list_fields with a wildcard lists name only");
    char *v = it_value(m, NULL, "SELECT 14");
    check_str(v, "14", "connection works after COM_FIELD_LIST");
    free(v);
}

static void
test_stat_and_options(MYSQL *m)
{
    const char *s = mysql_stat(m);
    check(s != NULL && s[0] != '\0', "mysql_stat returns text");
    if (s != NULL)
        it_diag("stat: %s", s);
    char *v = it_value(m, NULL, "SELECT 15");
    check_str(v, "15", "connection works after COM_STATISTICS");
    free(v);

    check_int(mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF), 0,
              "set_server_option MULTI_STATEMENTS_OFF");
    int rc = mysql_query(m, "SELECT 1; SELECT 2");
    check(rc != 0 && mysql_errno(m) == 1064,
          "multi-statements refused with 1064 when off");
    if (rc == 0) {
        MYSQL_RES *r;
        do {
            r = mysql_store_result(m);
            if (r)
                mysql_free_result(r);
        } while (mysql_next_result(m) == 0);
    }
    check_int(mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON), 0,
              "set_server_option MULTI_STATEMENTS_ON");
    rc = mysql_query(m, "SELECT 21; SELECT 22");
    char a[16] = "", b[16] = "";
    if (rc == 0) {
        result_value(m, a, sizeof(a));
        if (mysql_next_result(m) == 0)
            result_value(m, b, sizeof(b));
        while (mysql_next_result(m) == 0) {
            MYSQL_RES *r = mysql_store_result(m);
            if (r)
                mysql_free_result(r);
        }
    }
    check(rc == 0 && strcmp(a, "21") == 0 && strcmp(b, "22") == 0,
          "multi-statements work again when on");
}

int
main(void)
{
    it_init("itest_basic");
    MYSQL *m = it_connect();
    if (!check(m != NULL, "connect as %s to %s", it_user(), it_db()))
        return it_done();

    test_select_one(m);
    test_unicode(m);
    test_binary(m);
    test_nulls(m);
    test_dml(m);
    test_errors(m);
    test_multi_statements(m);
    test_ping_and_db(m);
    test_schema_renaming(m);
    test_show_databases(m);
    test_auth();
    test_session_state(m);
    test_field_list(m);
    test_change_user(m);
    test_reset_connection(m);
    test_stat_and_options(m);

    it_exec(m, "DROP TABLE IF EXISTS " T1);
    mysql_close(m);
    return it_done();
}
