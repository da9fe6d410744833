/*
 * itest_lexmode - the proxy lexes a session's text as the server does, or
 * refuses it: sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) and client
 * character sets whose trail byte can be `\` (gbk, big5, sjis, cp932).
 *
 * A private myshard (primaries s0 and s1, health interval 100ms) with
 *   app  read-write; policy "DELETE FROM itest_lexmode_audit" is denied
 *   ro   read_only
 * Each trick below once hid a DELETE from the proxy inside what it took
 * for a string; every check ends by reading the row on the s0 primary
 * directly:
 *   a. ro: SET sql_mode = 'NO_BACKSLASH_ESCAPES' (also spelled SET
 *      @@session.`sql_mode`), then the batch
 *      SELECT 'a\'; DELETE ... WHERE id = 7; -- '   is refused (1290)
 *   b. ro: the same with ANSI_QUOTES (and DB2, set with another
 *      variable) and "a\"
 *   c. ro: SET NAMES gbk / big5 / sjis / cp932, then SELECT '<lead>\';
 *      DELETE ...; -- '  (the server reads <lead>\ as one character)
 *   d. ro: the same with the character set from the handshake (gbk)
 *   e. app: under ANSI_QUOTES, DELETE FROM "itest_lexmode_audit" meets the
 *      deny policy (1227)
 *   f. refused with a myshard: error, the mode unchanged after: sql_mode
 *      from an expression, ORACLE, MSSQL, SET NAMES swe7, a mode change
 *      inside a batch (and the DELETE behind it did not run), a mode SET
 *      prepared with a parameter; prepared with literal values, it runs
 *      as the text statement (the batch of a. is refused under it)
 *   g. what the modes are for still works: NO_BACKSLASH_ESCAPES keeps
 *      'a\' as two bytes, ANSI_QUOTES names a column, gbk strings come
 *      back as sent, SET sql_mode = DEFAULT and COM_RESET_CONNECTION bring
 *      backslash escapes back
 *   h. a statement prepared under NO_BACKSLASH_ESCAPES is refused once the
 *      session's mode changed
 *   i. the servers' global sql_mode (read by the health monitor): with
 *      NO_BACKSLASH_ESCAPES set globally on both primaries, a new session
 *      is lexed with it (the batch of a. is refused, the row stays)
 * Proxy-only.
 */
#include "itest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB         "itest_lexmode"
#define SCHEMA     "lx"
#define T_AUDIT    "itest_lexmode_audit"
#define DENY_TEXT  "audit rows are never deleted"
#define WATCHDOG_S 120

#define ER_SPECIFIC_ACCESS_DENIED 1227
#define ER_OPTION_PREVENTS        1290

static struct it_proxy px;
static MYSQL *d0, *d1;

static bool
write_conf(void)
{
    FILE *o = fopen(px.cfg, "w");
    if (o == NULL)
        return false;
    fprintf(
        o,
        "listen: 127.0.0.1:%u\n"
        "workers: 2\n"
        "shutdown_timeout: 3s\n"
        "admin:\n"
        "  listen: 127.0.0.1:%u\n"
        "  http: 127.0.0.1:%u\n"
        "  user: lxadmin\n"
        "  password: lxadmin-pw\n"
        "backend:\n"
        "  user: %s\n"
        "  password: %s\n"
        "  connect_timeout: 1s\n"
        "  health: { interval: 100ms }\n"
        "shards:\n"
        "  - name: s0\n"
        "    primary: 127.0.0.1:%u\n"
        "  - name: s1\n"
        "    primary: 127.0.0.1:%u\n"
        "schemas:\n"
        "  - name: " SCHEMA "\n"
        "    backend_schema: " DB "\n"
        "    default_shard: s0\n"
        "users:\n"
        "  - { name: app, password: app-pw, schemas: [" SCHEMA "] }\n"
        "  - { name: ro, password: ro-pw, schemas: [" SCHEMA "], "
        "read_only: true }\n"
        "policies:\n"
        "  - match: \"DELETE FROM " T_AUDIT "\"\n"
        "    deny: \"" DENY_TEXT "\"\n",
        px.port, px.admin_port, px.http_port, it_env("BACKEND_USER", "myshard"),
        it_env("BACKEND_PASSWORD", "secret"),
        it_backend_port("S0_PRIMARY_PORT"), it_backend_port("S1_PRIMARY_PORT"));
    return fclose(o) == 0;
}

/* A client of this program's myshard with multi-statements on; charset
 * (NULL: the library's default) is the handshake's character set. */
static MYSQL *
client_cs(const char *user, const char *pass, const char *charset)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5, rt = 20;

    if (m == NULL)
        return NULL;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    if (charset != NULL)
        mysql_options(m, MYSQL_SET_CHARSET_NAME, charset);
    if (mysql_real_connect(m, "127.0.0.1", user, pass, SCHEMA, px.port, NULL,
                           CLIENT_MULTI_STATEMENTS) == NULL) {
        it_diag("connect %s: %u %s", user, mysql_errno(m), mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static MYSQL *
client(const char *user, const char *pass)
{
    return client_cs(user, pass, NULL);
}

struct answer {
    unsigned err; /* the first error of the batch; 0 none */
    char msg[256];
    char value[128]; /* first column of the first row, hex when binary */
    bool has_value;
};

/* Runs len bytes of sql (a batch, binary) and drains every result. */
static unsigned
run_bin(MYSQL *m, const char *sql, size_t len, struct answer *a)
{
    int st;

    memset(a, 0, sizeof(*a));
    if (m == NULL) {
        a->err = 2006;
        snprintf(a->msg, sizeof(a->msg), "no connection");
        return a->err;
    }
    st = mysql_real_query(m, sql, (unsigned long)len);
    for (;;) {
        if (st != 0) {
            if (a->err == 0) {
                a->err = mysql_errno(m) ? mysql_errno(m) : 1;
                snprintf(a->msg, sizeof(a->msg), "%s", mysql_error(m));
            }
            break;
        }
        MYSQL_RES *r = mysql_store_result(m);
        if (r != NULL) {
            MYSQL_ROW row = mysql_fetch_row(r);
            unsigned long *lens = mysql_fetch_lengths(r);
            if (!a->has_value && row != NULL && row[0] != NULL) {
                size_t n = lens[0] < sizeof(a->value) - 1
                               ? lens[0]
                               : sizeof(a->value) - 1;
                memcpy(a->value, row[0], n);
                a->value[n] = '\0';
                a->has_value = true;
            }
            mysql_free_result(r);
        } else if (mysql_field_count(m) != 0) {
            st = 1;
            continue;
        }
        st = mysql_next_result(m);
        if (st == -1)
            break;
        if (st > 0)
            st = 1;
    }
    return a->err;
}

static unsigned
run(MYSQL *m, const char *sql, struct answer *a)
{
    return run_bin(m, sql, strlen(sql), a);
}

static bool
starts_myshard(const char *msg)
{
    return strncmp(msg, "myshard:", 8) == 0;
}

/* Rows with id on the s0 primary itself. */
static long long
audit_rows(int id)
{
    return it_int(d0, -1,
                  "SELECT COUNT(*) FROM " DB "." T_AUDIT " WHERE id = %d", id);
}

/* Puts row id back on s0 (a check that failed may have deleted it). */
static void
audit_restore(int id)
{
    it_exec(d0, "INSERT IGNORE INTO " DB "." T_AUDIT " VALUES (%d, 'kept')",
            id);
}

static bool
setup_backend(void)
{
    bool ok = it_exec(d0, "DROP DATABASE IF EXISTS " DB) &&
              it_exec(d1, "DROP DATABASE IF EXISTS " DB) &&
              it_exec(d0, "CREATE DATABASE " DB) &&
              it_exec(d1, "CREATE DATABASE " DB) &&
              it_exec(d0, "CREATE TABLE " DB "." T_AUDIT
                          " (id INT PRIMARY KEY, note VARCHAR(64) NOT NULL)");
    for (int i = 1; ok && i <= 12; i++)
        ok =
            it_exec(d0, "INSERT INTO " DB "." T_AUDIT " VALUES (%d, 'row')", i);
    return ok;
}

/* The batch SELECT '<lead>\'; DELETE ... WHERE id = <id>; -- ' */
static size_t
exploit(char *out, size_t cap, const char *open, const char *lead,
        const char *close, int id)
{
    int n = snprintf(out, cap,
                     "SELECT %sa%s\\%s; DELETE FROM " T_AUDIT
                     " WHERE id = %d; -- %s",
                     open, lead, close, id, close);
    return n > 0 ? (size_t)n : 0;
}

/* ----------------------------------------------------------- a. b. */

static void
test_sql_mode(const char *set_fmt, const char *mode, const char *quote, int id,
              const char *tag)
{
    MYSQL *m = client("ro", "ro-pw");
    struct answer a;
    char sql[256], set[128];
    size_t n;

    if (!check(m != NULL, "%s: ro connects", tag))
        return;
    {
        /* set_fmt holds one %s: the mode */
        const char *at = strstr(set_fmt, "%s");
        snprintf(set, sizeof(set), "%.*s%s%s", (int)(at - set_fmt), set_fmt,
                 mode, at + 2);
    }
    check(run(m, set, &a) == 0, "%s: %s (%u %s)", tag, set, a.err, a.msg);
    n = exploit(sql, sizeof(sql), quote, "", quote, id);
    run_bin(m, sql, n, &a);
    check(a.err == ER_OPTION_PREVENTS && starts_myshard(a.msg),
          "%s: under %s, %s is refused with 1290 (%u %s)", tag, mode, sql,
          a.err, a.msg);
    check_int(audit_rows(id), 1, "%s: row %d is still on the s0 primary", tag,
              id);
    audit_restore(id);
    mysql_close(m);
}

/* ---------------------------------------------------------------- c. d. */

static void
test_charset(const char *cs, const char *lead, bool handshake, int id,
             const char *tag)
{
    MYSQL *m = handshake ? client_cs("ro", "ro-pw", cs) : client("ro", "ro-pw");
    struct answer a;
    char sql[256], set[64];
    size_t n;

    if (!check(m != NULL, "%s: ro connects%s%s", tag,
               handshake ? " with character set " : "", handshake ? cs : ""))
        return;
    if (!handshake) {
        snprintf(set, sizeof(set), "SET NAMES %s", cs);
        check(run(m, set, &a) == 0, "%s: %s (%u %s)", tag, set, a.err, a.msg);
    }
    n = exploit(sql, sizeof(sql), "'", lead, "'", id);
    run_bin(m, sql, n, &a);
    check(a.err == ER_OPTION_PREVENTS && starts_myshard(a.msg),
          "%s: in %s, SELECT '<0x%02x>\\'; DELETE ...; -- ' is refused with "
          "1290 (%u %s)",
          tag, cs, (unsigned char)lead[0], a.err, a.msg);
    check_int(audit_rows(id), 1, "%s: row %d is still on the s0 primary", tag,
              id);
    audit_restore(id);
    /* the same bytes as a plain read: the server's answer is the pair */
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT HEX('%s\\')", lead);
    run_bin(m, sql, n, &a);
    char want[16];
    snprintf(want, sizeof(want), "%02X5C", (unsigned char)lead[0]);
    check(a.err == 0 && strcmp(a.value, want) == 0,
          "%s: SELECT HEX('<0x%02x>\\') answers %s (%u %s %s)", tag,
          (unsigned char)lead[0], want, a.err, a.msg, a.value);
    mysql_close(m);
}

/* -------------------------------------------------------------- e. deny */

static void
test_deny_ansi(void)
{
    MYSQL *m = client("app", "app-pw");
    struct answer a;

    if (!check(m != NULL, "e: app connects"))
        return;
    check(run(m, "SET sql_mode = 'ANSI_QUOTES'", &a) == 0,
          "e: SET sql_mode = 'ANSI_QUOTES' (%u %s)", a.err, a.msg);
    run(m, "DELETE FROM \"" T_AUDIT "\" WHERE id = 5", &a);
    check(a.err == ER_SPECIFIC_ACCESS_DENIED && strstr(a.msg, DENY_TEXT),
          "e: DELETE FROM \"" T_AUDIT "\" meets the deny policy (%u %s)", a.err,
          a.msg);
    check_int(audit_rows(5), 1, "e: row 5 is still on the s0 primary");
    audit_restore(5);
    mysql_close(m);
}

/* ----------------------------------------------------------- f. refused */

static void
refused(MYSQL *m, const char *sql, const char *why)
{
    struct answer a;

    run(m, sql, &a);
    check(a.err != 0 && starts_myshard(a.msg),
          "f: %s is refused with a myshard: error (%s) (%u %s)", sql, why,
          a.err, a.msg);
}

static void
test_refused(void)
{
    MYSQL *m = client("ro", "ro-pw");
    struct answer a;
    char sql[256];
    size_t n;

    if (!check(m != NULL, "f: ro connects"))
        return;
    refused(m, "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
            "the proxy cannot know the value");
    refused(m, "SET sql_mode = REPLACE(@@sql_mode, 'ANSI_QUOTES', '')",
            "a REPLACE of a lexing mode");
    refused(m,
            "SET NAMES gbk, sql_mode = CONCAT(@@sql_mode, "
            "',STRICT_ALL_TABLES')",
            "a charset next to an expression");
    refused(m, "SET sql_mode = CONCAT(@@global.sql_mode, ',STRICT_ALL_TABLES')",
            "the global value");
    refused(m, "SET @@session.sql_mode = @m", "a variable");
    refused(m, "SET sql_mode = 'ORACLE'", "a grammar the proxy cannot lex");
    refused(m, "SET sql_mode = 'MSSQL'", "[names]");
    refused(m, "SET NAMES swe7", "ASCII bytes that are letters in it");
    refused(m, "SET character_set_client = DEFAULT", "unknown to the proxy");
    run(m, "SELECT @@sql_mode LIKE '%NO_BACKSLASH%'", &a);
    check(a.err == 0 && strcmp(a.value, "0") == 0,
          "f: ... and the session's sql_mode did not change (%u %s %s)", a.err,
          a.msg, a.value);
    n = (size_t)snprintf(sql, sizeof(sql),
                         "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT "
                         "'a\\'; DELETE FROM " T_AUDIT " WHERE id = 9; -- '");
    run_bin(m, sql, n, &a);
    check(a.err != 0 && starts_myshard(a.msg),
          "f: a batch that sets sql_mode and goes on is refused (%u %s)", a.err,
          a.msg);
    check_int(audit_rows(9), 1, "f: row 9 is still on the s0 primary");
    audit_restore(9);
    {
        MYSQL_STMT *ps = mysql_stmt_init(m);
        const char *q = "SET sql_mode = ?";
        bool prepared = ps != NULL && mysql_stmt_prepare(ps, q, strlen(q)) == 0;
        check(!prepared && ps != NULL && starts_myshard(mysql_stmt_error(ps)),
              "f: preparing SET sql_mode = ? is refused (%s)",
              ps ? mysql_stmt_error(ps) : "no statement");
        if (ps != NULL)
            mysql_stmt_close(ps);
    }
    mysql_close(m);
}

/* A mode SET with literal values, prepared and executed (mysqltest's
 * --ps-protocol prepares every SET) counts like the text statement: the
 * batch of a. is refused under it, and the server has the mode. */
static void
test_prepared_set(const char *q, const char *quote, const char *lead,
                  const char *want, const char *tag)
{
    MYSQL *m = client("ro", "ro-pw");
    MYSQL_STMT *ps = m ? mysql_stmt_init(m) : NULL;
    struct answer a;
    char sql[256];
    size_t n;

    if (!check(ps != NULL, "%s: ro connects", tag))
        goto out;
    check(mysql_stmt_prepare(ps, q, strlen(q)) == 0 &&
              mysql_stmt_execute(ps) == 0,
          "%s: %s prepared and executed (%s)", tag, q, mysql_stmt_error(ps));
    mysql_stmt_close(ps);
    n = exploit(sql, sizeof(sql), quote, lead, quote, 8);
    run_bin(m, sql, n, &a);
    check(a.err == ER_OPTION_PREVENTS && starts_myshard(a.msg),
          "%s: after the prepared %s, the batch with a %s string is refused "
          "with 1290 (%u %s)",
          tag, q, quote, a.err, a.msg);
    check_int(audit_rows(8), 1, "%s: row 8 is still on the s0 primary", tag);
    audit_restore(8);
    run(m, "SELECT CONCAT(@@sql_mode, ' ', @@character_set_client)", &a);
    check(a.err == 0 && strstr(a.value, want) != NULL,
          "%s: the server has it too: %s holds %s (%u %s)", tag, a.value, want,
          a.err, a.msg);
out:
    if (m != NULL)
        mysql_close(m);
}

/* ------------------------------------------------------------- g. works */

static void
test_works(void)
{
    MYSQL *m = client("app", "app-pw");
    struct answer a;
    char sql[256];
    size_t n;

    if (!check(m != NULL, "g: app connects"))
        return;
    run(m, "SET sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'", &a);
    check(a.err == 0, "g: SET sql_mode with NO_BACKSLASH_ESCAPES (%u %s)",
          a.err, a.msg);
    run(m, "SELECT HEX('a\\')", &a);
    check(a.err == 0 && strcmp(a.value, "615C") == 0,
          "g: 'a\\' is two bytes under NO_BACKSLASH_ESCAPES (%u %s %s)", a.err,
          a.msg, a.value);
    run(m, "INSERT INTO " T_AUDIT " VALUES (100, 'c:\\dir\\')", &a);
    check(a.err == 0, "g: an INSERT of 'c:\\dir\\' runs (%u %s)", a.err, a.msg);
    char *v = it_value(d0, NULL,
                       "SELECT note FROM " DB "." T_AUDIT " WHERE id = 100");
    check(v != NULL && strcmp(v, "c:\\dir\\") == 0,
          "g: ... and the s0 primary holds c:\\dir\\ (%s)", v ? v : "NULL");
    free(v);
    run(m, "SET sql_mode = DEFAULT", &a);
    check(a.err == 0, "g: SET sql_mode = DEFAULT (%u %s)", a.err, a.msg);
    run(m, "SELECT HEX('a\\'b')", &a);
    check(a.err == 0 && strcmp(a.value, "612762") == 0,
          "g: backslash escapes are back after DEFAULT (%u %s %s)", a.err,
          a.msg, a.value);
    run(m, "SET sql_mode = 'ANSI'", &a);
    run(m, "SELECT \"id\" FROM " T_AUDIT " WHERE id = 3", &a);
    check(a.err == 0 && strcmp(a.value, "3") == 0,
          "g: under ANSI, \"id\" names the column (%u %s %s)", a.err, a.msg,
          a.value);
    run(m, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'", &a);
    check(mysql_reset_connection(m) == 0, "g: COM_RESET_CONNECTION (%s)",
          mysql_error(m));
    run(m, "SELECT HEX('a\\'b')", &a);
    check(a.err == 0 && strcmp(a.value, "612762") == 0,
          "g: backslash escapes are back after COM_RESET_CONNECTION "
          "(%u %s %s)",
          a.err, a.msg, a.value);
    run(m, "SET NAMES gbk", &a);
    run(m, "SELECT HEX('\xd5\x5c\xc4\xe3')", &a);
    check(a.err == 0 && strcmp(a.value, "D55CC4E3") == 0,
          "g: a gbk string whose trail byte is 0x5C comes back as sent "
          "(%u %s %s)",
          a.err, a.msg, a.value);
    it_exec(d0, "DELETE FROM " DB "." T_AUDIT " WHERE id = 100");
    mysql_close(m);

    /* What drivers send at connect: MariaDB Connector/J, then Rails. */
    static const char *const driver_sets[] = {
        "set autocommit=1, session_track_system_variables="
        "'auto_increment_increment' , sql_mode = "
        "concat(@@sql_mode,',STRICT_TRANS_TABLES')",
        "SET @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, "
        "',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'), "
        "@@SESSION.sql_auto_is_null = 0",
        "SET sql_mode = REPLACE(@@sql_mode, 'STRICT_TRANS_TABLES', '')",
    };
    for (size_t i = 0; i < sizeof(driver_sets) / sizeof(driver_sets[0]); i++) {
        m = client("ro", "ro-pw");
        if (!check(m != NULL, "g: ro connects for driver SET %zu", i))
            continue;
        run(m, driver_sets[i], &a);
        check(a.err == 0, "g: a driver's SET over @@sql_mode runs: %s (%u %s)",
              driver_sets[i], a.err, a.msg);
        run(m, "SELECT HEX('a\\'b')", &a);
        check(a.err == 0 && strcmp(a.value, "612762") == 0,
              "g: ... and the session still lexes backslash escapes (%u %s "
              "%s)",
              a.err, a.msg, a.value);
        n = (size_t)snprintf(sql, sizeof(sql),
                             "SELECT 'a\\'; DELETE FROM " T_AUDIT
                             " WHERE id = 9; -- '");
        run_bin(m, sql, n, &a);
        check(a.err == 0,
              "g: ... and 'a\\'; DELETE ...' is one string to "
              "the proxy as to the server (%u %s)",
              a.err, a.msg);
        check_int(audit_rows(9), 1, "g: row 9 is still on the s0 primary");
        audit_restore(9);
        mysql_close(m);
    }
}

/* ---------------------------------------------------------- h. prepared */

static void
test_prepared(void)
{
    MYSQL *m = client("app", "app-pw");
    struct answer a;
    MYSQL_STMT *ps;
    const char *q = "SELECT COUNT(*) FROM " T_AUDIT " WHERE note <> 'x\\'";

    if (!check(m != NULL, "h: app connects"))
        return;
    run(m, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'", &a);
    ps = mysql_stmt_init(m);
    check(ps != NULL && mysql_stmt_prepare(ps, q, strlen(q)) == 0,
          "h: prepare under NO_BACKSLASH_ESCAPES (%s)",
          ps ? mysql_stmt_error(ps) : "");
    check(ps != NULL && mysql_stmt_execute(ps) == 0,
          "h: it executes under the same mode (%s)",
          ps ? mysql_stmt_error(ps) : "");
    if (ps != NULL)
        mysql_stmt_free_result(ps);
    run(m, "SET sql_mode = DEFAULT", &a);
    check(ps != NULL && mysql_stmt_execute(ps) != 0 &&
              starts_myshard(mysql_stmt_error(ps)),
          "h: after SET sql_mode = DEFAULT executing it is refused (%s)",
          ps ? mysql_stmt_error(ps) : "");
    if (ps != NULL)
        mysql_stmt_close(ps);
    mysql_close(m);
}

/* ------------------------------------------------------------ i. global */

static void
test_global(void)
{
    char *old0 = it_value(d0, NULL, "SELECT @@global.sql_mode");
    char *old1 = it_value(d1, NULL, "SELECT @@global.sql_mode");
    struct answer a;
    char sql[256];
    size_t n;

    if (!check(old0 != NULL && old1 != NULL,
               "i: read the primaries' global sql_mode"))
        goto out;
    check(it_exec(d0, "SET GLOBAL sql_mode = CONCAT(@@global.sql_mode, "
                      "',NO_BACKSLASH_ESCAPES')") &&
              it_exec(d1, "SET GLOBAL sql_mode = CONCAT(@@global.sql_mode, "
                          "',NO_BACKSLASH_ESCAPES')"),
          "i: NO_BACKSLASH_ESCAPES added to both primaries' global sql_mode");
    it_sleep_ms(800); /* several health checks (interval 100ms) */
    MYSQL *m = client("ro", "ro-pw");
    if (check(m != NULL, "i: ro connects")) {
        run(m, "SELECT @@sql_mode LIKE '%NO_BACKSLASH_ESCAPES%'", &a);
        check(a.err == 0 && strcmp(a.value, "1") == 0,
              "i: the new session runs with it (%u %s %s)", a.err, a.msg,
              a.value);
        n = exploit(sql, sizeof(sql), "'", "", "'", 11);
        run_bin(m, sql, n, &a);
        check(a.err == ER_OPTION_PREVENTS && starts_myshard(a.msg),
              "i: the batch of a. is refused without any SET (%u %s)", a.err,
              a.msg);
        check_int(audit_rows(11), 1, "i: row 11 is still on the s0 primary");
        audit_restore(11);
        mysql_close(m);
    }
out:
    if (old0 != NULL)
        it_exec(d0, "SET GLOBAL sql_mode = '%s'", old0);
    if (old1 != NULL)
        it_exec(d1, "SET GLOBAL sql_mode = '%s'", old1);
    free(old0);
    free(old1);
}

int
main(void)
{
    it_init("itest_lexmode");
    it_proxy_init(&px);
    px.user = "app";
    px.password = "app-pw";
    it_proxy_watchdog(&px, WATCHDOG_S);

    bool have_bin = it_proxy_have_bin(&px);
    check(have_bin, "MYSHARD_BIN is an executable myshard");
    bool have_ports = it_backend_port("S0_PRIMARY_PORT") != 0 &&
                      it_backend_port("S1_PRIMARY_PORT") != 0;
    check(have_ports, "S0_PRIMARY_PORT and S1_PRIMARY_PORT are set");
    if (!have_bin || !have_ports)
        return it_done();
    if (!it_proxy_dir(&px, "itest_lexmode")) {
        printf("Bail out! mkdtemp %s: %s\n", px.dir, strerror(errno));
        return 1;
    }
    d0 = it_connect_backend("S0_PRIMARY_PORT", NULL);
    d1 = it_connect_backend("S1_PRIMARY_PORT", NULL);
    if (!check(d0 != NULL && d1 != NULL,
               "direct connections to the s0 and s1 primaries"))
        return it_done();
    check(setup_backend(), "create %s." T_AUDIT " on s0", DB);
    check(write_conf(), "write %s", px.cfg);
    bool up = it_proxy_start(&px, NULL);
    check(up, "myshard starts");
    if (up) {
        test_sql_mode("SET sql_mode = '%s'", "NO_BACKSLASH_ESCAPES", "'", 7,
                      "a");
        test_sql_mode("SET @@session.`sql_mode` = '%s'",
                      "STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES", "'", 7, "a");
        test_sql_mode("SET SESSION sql_mode = '%s', @@autocommit = 1", "DB2",
                      "\"", 7, "b");
        test_sql_mode("SET sql_mode = '%s'", "ANSI_QUOTES", "\"", 7, "b");
        test_charset("gbk", "\x81", false, 7, "c");
        test_charset("big5", "\xa1", false, 7, "c");
        test_charset("sjis", "\x81", false, 7, "c");
        test_charset("cp932", "\xe0", false, 7, "c");
        test_charset("gbk", "\xbf", true, 7, "d");
        test_deny_ansi();
        test_refused();
        test_prepared_set("SET sql_mode = 'NO_BACKSLASH_ESCAPES'", "'", "",
                          "NO_BACKSLASH_ESCAPES", "f");
        test_prepared_set("SET NAMES gbk", "'", "\x81", " gbk", "f");
        test_works();
        test_prepared();
        test_global();
    }
    int st = 0;
    if (it_proxy_running(&px)) {
        bool gone = it_proxy_stop(&px, SIGTERM, 8, &st);
        check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "myshard exits 0 on SIGTERM");
    }
    check(it_proxy_log_clean(&px), "myshard's log has no sanitizer report");
    it_exec(d0, "DROP DATABASE IF EXISTS " DB);
    it_exec(d1, "DROP DATABASE IF EXISTS " DB);
    mysql_close(d0);
    mysql_close(d1);
    return it_done();
}
