/*
 * The binary log stream of the reshard catch-up (backend/binlog.h) against
 * the s0 primary itself (S0_PRIMARY_PORT, BACKEND_USER), schema
 * itest_binlog:
 *   1. from a recorded @@gtid_binlog_pos: DROP/CREATE come as DDL; an
 *      INSERT of every column type, a multi-row INSERT (with a row of
 *      NULLs), an UPDATE, a DELETE and a transaction of three changes come
 *      as rows of the right kind, table and literal values, in order, each
 *      statement or transaction followed by one COMMIT; rows of a table
 *      the caller does not watch do not come at all
 *   2. binlog_pos covers the server's @@gtid_binlog_pos at the end
 *   3. each literal pasted into SELECT ... WHERE id = <lit> AND col <=>
 *      <lit> finds its row, and INSERTing the literals into a copy of the
 *      table gives the same rows
 *      a 17 MB value comes whole; the stream follows FLUSH BINARY LOGS
 *   4. nothing new: BINLOG_IDLE within about idle_ms, position unchanged
 *   5. XA: a prepared transaction's rows come at its XA COMMIT (and the
 *      position stays before its prepare until then), a rolled back one's
 *      never; an XA COMMIT of a transaction prepared before the start
 *      position stops the stream
 *   6. a statement-logged INSERT stops the stream, naming binlog_format
 *   7. TLS (the rig's servers run it): verified against the rig's CA the
 *      stream starts; against another CA it is refused
 *   8. refusals with a clear message: malformed and unknown positions, a
 *      wrong password, an account without REPLICATION SLAVE, one without
 *      SELECT on a watched table (at its rows), a server with
 *      binlog_row_image=MINIMAL
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/binlog.h"
#include "backend/mysqltls.h"
#include "base/gtid.h"

#define DB    "itest_binlog"
#define NCOLS 30
#define IDLE  400

static const char *const cols[NCOLS] = {
    "id",  "ti",   "tu", "si", "su", "mi", "mu", "bi", "bu", "d",
    "dn",  "f",    "db", "c",  "vc", "tx", "bl", "vb", "bn", "dt",
    "dtm", "dtm6", "ts", "tm", "yr", "e",  "st", "j",  "lt", "bt"};

static const char *create_t =
    "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, ti TINYINT, tu TINYINT "
    "UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT "
    "UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, d DECIMAL(12,4), dn "
    "DECIMAL(30,10), f FLOAT, db DOUBLE, c CHAR(10), vc VARCHAR(300), tx "
    "TEXT, bl BLOB, vb VARBINARY(20), bn BINARY(4), dt DATE, dtm DATETIME, "
    "dtm6 DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), yr YEAR, e "
    "ENUM('red','green','blue'), st SET('a','b','c'), j JSON, lt VARCHAR(20) "
    "CHARACTER SET latin1, bt BIT(10)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/* Row 1 as inserted, row 3 as inserted (the literals expected). */
static const char *const lit1[NCOLS] = {"1",
                                        "-128",
                                        "255",
                                        "-32768",
                                        "65535",
                                        "-8388608",
                                        "16777215",
                                        "-9223372036854775808",
                                        "18446744073709551615",
                                        "-1.5000",
                                        "12345678901234567890.0123456789",
                                        "1.5",
                                        "-2.25",
                                        "'it''s'",
                                        "'h\xc3\xa9llo \"w\"'",
                                        "_utf8mb4 X'615c62'",
                                        "X'00ff10'",
                                        "X''",
                                        "X'61620000'",
                                        "'2026-01-02'",
                                        "'2026-01-02 03:04:05'",
                                        "'2026-01-02 03:04:05.123456'",
                                        "'2026-01-02 03:04:05.120'",
                                        "'-12:34:56.50'",
                                        "2026",
                                        "3",
                                        "5",
                                        "'{\"k\": [1, 2]}'",
                                        "_latin1 X'636166e9'",
                                        "682"};
static const char *const lit3[NCOLS] = {"3",
                                        "0",
                                        "0",
                                        "1",
                                        "1",
                                        "-1",
                                        "0",
                                        "1",
                                        "0",
                                        "-0.0001",
                                        "-5.0000000000",
                                        "-0.5",
                                        "0.10000000000000001",
                                        "''",
                                        "' sp '",
                                        "'line\nbreak'",
                                        "X''",
                                        "X'00'",
                                        "X'ff000000'",
                                        "'1000-01-01'",
                                        "'9999-12-31 23:59:59'",
                                        "'2000-02-29 00:00:00.000001'",
                                        "'2038-01-19 03:14:07.999'",
                                        "'838:59:59.99'",
                                        "2155",
                                        "1",
                                        "0",
                                        "'[]'",
                                        "_latin1 X''",
                                        "0"};

struct rec {
    enum binlog_event ev;
    enum binlog_kind kind;
    char table[64];
    char *before[NCOLS], *after[NCOLS];
    bool bnull[NCOLS], anull[NCOLS];
    char *stmt;
};

static struct rec recs[200];
static int nrecs;

static bool
watch(void *arg, const char *schema, const char *table)
{
    (void)arg;
    return strcmp(schema, DB) == 0 &&
           (strcmp(table, "t") == 0 || strcmp(table, "tbig") == 0);
}

static struct binlog_opts
opts(const char *user, const char *password, const char *start)
{
    struct binlog_opts o = {
        .host = "127.0.0.1",
        .port = (int)it_backend_port("S0_PRIMARY_PORT"),
        .user = user,
        .password = password,
        .server_id = 4000u + (uint32_t)(getpid() % 1000),
        .gtid_start = start,
        .idle_ms = IDLE,
        .watch = watch,
    };
    return o;
}

static const char *
buser(void)
{
    return it_env("BACKEND_USER", "myshard");
}

static const char *
bpass(void)
{
    return it_env("BACKEND_PASSWORD", "secret");
}

static void
keep(struct rec *r, const struct binlog_value *v, int n, char **out,
     bool *nulls)
{
    for (int i = 0; i < n && i < NCOLS; i++) {
        out[i] = strdup(v[i].sql);
        nulls[i] = v[i].null;
        if (strlen(v[i].sql) != v[i].len)
            it_diag("value %d of %s: len %zu but strlen %zu", i, r->table,
                    v[i].len, strlen(v[i].sql));
    }
}

/* Reads the stream until its position covers want (or a deadline). */
static bool
drain(struct binlog *b, const char *want, char *err, size_t errlen)
{
    double until = it_now() + 30;

    while (!gtid_pos_covers(binlog_pos(b), want) && it_now() < until) {
        struct binlog_row row;
        enum binlog_event e = binlog_next(b, &row, err, errlen);
        if (e == BINLOG_ERROR)
            return false;
        if (e == BINLOG_IDLE || nrecs == (int)(sizeof(recs) / sizeof(*recs)))
            continue;
        struct rec *r = &recs[nrecs++];
        r->ev = e;
        if (e == BINLOG_DDL)
            r->stmt = strdup(row.statement);
        if (e != BINLOG_ROW)
            continue;
        r->kind = row.kind;
        snprintf(r->table, sizeof(r->table), "%s.%s", row.schema, row.table);
        if (row.ncols != NCOLS && strcmp(row.table, "t") == 0)
            it_diag("%s: %d columns", r->table, row.ncols);
        if (row.before)
            keep(r, row.before, row.ncols, r->before, r->bnull);
        if (row.after)
            keep(r, row.after, row.ncols, r->after, r->anull);
    }
    return gtid_pos_covers(binlog_pos(b), want);
}

static bool
same_values(char *const *got, const char *const *want, const char *what)
{
    for (int i = 0; i < NCOLS; i++)
        if (got[i] == NULL || strcmp(got[i], want[i]) != 0) {
            it_diag("%s column %s: got [%s], expected [%s]", what, cols[i],
                    got[i] ? got[i] : "(none)", want[i]);
            return false;
        }
    return true;
}

/* Reads until the server has nothing more (a heartbeat); returns how
 * many rows came. */
static int
until_idle(struct binlog *b)
{
    char err[512];
    int rows = 0;

    for (int i = 0; i < 1000; i++) {
        struct binlog_row row;
        enum binlog_event e = binlog_next(b, &row, err, sizeof(err));
        if (e == BINLOG_IDLE)
            return rows;
        if (e == BINLOG_ERROR) {
            it_diag("%s", err);
            return -1;
        }
        rows += e == BINLOG_ROW;
    }
    return -1;
}

static void
check_xa(MYSQL *m, struct binlog *b)
{
    MYSQL *x = it_connect_backend("S0_PRIMARY_PORT", DB);
    char err[512] = "";

    if (!check(x != NULL, "XA: a second connection") ||
        !check(until_idle(b) >= 0, "XA: the stream is idle before"))
        return;
    char *held = strdup(binlog_pos(b));
    it_exec(x, "XA START 'bx1'");
    it_exec(x, "INSERT INTO t (id, ti) VALUES (20, 20)");
    it_exec(x, "UPDATE t SET ti = 33 WHERE id = 3");
    it_exec(x, "XA END 'bx1'");
    it_exec(x, "XA PREPARE 'bx1'");
    char *prepared = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    check_int(until_idle(b), 0, "XA: no row before the XA COMMIT");
    check(strcmp(binlog_pos(b), held) == 0 &&
              !gtid_pos_covers(binlog_pos(b), prepared ? prepared : ""),
          "XA: the position stays before the prepare (%s, server %s)",
          binlog_pos(b), prepared ? prepared : "");
    it_exec(x, "XA COMMIT 'bx1'");
    char *committed = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    int from = nrecs;
    bool ok = drain(b, committed ? committed : "-", err, sizeof(err));
    check(ok, "XA: the stream passes the XA COMMIT (%s) %s", binlog_pos(b),
          err);
    check(nrecs - from == 3 && recs[from].ev == BINLOG_ROW &&
              recs[from].kind == BINLOG_INSERT &&
              strcmp(recs[from].after[0], "20") == 0 &&
              recs[from + 1].kind == BINLOG_UPDATE &&
              strcmp(recs[from + 1].after[1], "33") == 0 &&
              recs[from + 2].ev == BINLOG_COMMIT,
          "XA: its INSERT and UPDATE come at the XA COMMIT, then COMMIT");

    it_exec(x, "XA START 'bx2'");
    it_exec(x, "INSERT INTO t (id, ti) VALUES (21, 21)");
    it_exec(x, "XA END 'bx2'");
    it_exec(x, "XA PREPARE 'bx2'");
    it_exec(x, "XA ROLLBACK 'bx2'");
    char *rolled = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    from = nrecs;
    ok = drain(b, rolled ? rolled : "-", err, sizeof(err));
    bool rows = false;
    for (int i = from; i < nrecs; i++)
        rows = rows || recs[i].ev == BINLOG_ROW;
    check(ok && !rows, "XA: a rolled back transaction's rows never come");

    it_exec(x, "XA START 'bx3'");
    it_exec(x, "INSERT INTO t (id, ti) VALUES (22, 22)");
    it_exec(x, "XA END 'bx3'");
    it_exec(x, "XA PREPARE 'bx3'");
    char *after = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    it_exec(x, "XA COMMIT 'bx3'");
    struct binlog_opts o = opts(buser(), bpass(), after ? after : "");
    o.server_id++; /* b streams on: a second replica id */
    struct binlog *b2 = binlog_open(&o, err, sizeof(err));
    enum binlog_event e = BINLOG_IDLE;
    struct binlog_row row;
    for (int i = 0; b2 != NULL && i < 20 && e != BINLOG_ERROR; i++)
        e = binlog_next(b2, &row, err, sizeof(err));
    check(e == BINLOG_ERROR && strstr(err, "prepared before") != NULL,
          "XA: a commit of a transaction prepared before the start stops "
          "the stream: %s",
          err);
    binlog_close(b2);
    mysql_close(x);
    free(held);
    free(prepared);
    free(committed);
    free(rolled);
    free(after);
}

/* The rows of table t (kinds in order) and the COMMIT after each group. */
static void
check_sequence(void)
{
    /* I1 | I2 I3 I4 | U1 | D4 | I10 U2 D10 : "|" is a COMMIT */
    static const char expect[] = "R I C R I R I R I C R U C R D C "
                                 "R I R U R D C";
    char got[256] = "";
    size_t at = 0;
    int ddl_create = 0;

    for (int i = 0; i < nrecs && at + 4 < sizeof(got); i++) {
        const struct rec *r = &recs[i];
        if (r->ev == BINLOG_DDL) {
            ddl_create += r->stmt && strstr(r->stmt, "CREATE TABLE t ") != NULL;
            continue;
        }
        if (r->ev == BINLOG_COMMIT) {
            /* COMMITs of other transactions (t_other) are not ours */
            if (at > 0 && got[at - 2] != 'C')
                at += (size_t)snprintf(got + at, sizeof(got) - at, "C ");
            continue;
        }
        if (strcmp(r->table, DB ".t") != 0) {
            it_diag("a row of %s, which is not watched", r->table);
            at += (size_t)snprintf(got + at, sizeof(got) - at, "X ");
            continue;
        }
        at += (size_t)snprintf(got + at, sizeof(got) - at, "R %c ",
                               "IUD"[r->kind]);
    }
    if (at > 0)
        got[at - 1] = '\0';
    check_str(got, expect,
              "rows of t in order: kinds and a COMMIT after "
              "each statement and transaction");
    check(ddl_create == 1, "CREATE TABLE t came as one BINLOG_DDL (%d)",
          ddl_create);
}

static struct rec *
nth_row(int n)
{
    for (int i = 0; i < nrecs; i++)
        if (recs[i].ev == BINLOG_ROW && n-- == 0)
            return &recs[i];
    return NULL;
}

/* Each literal finds its row; inserted into t_copy they give the row. */
static void
check_paste(MYSQL *m, char *const *lits, const char *what)
{
    int found = 0;
    char *values = NULL, *on = NULL;
    size_t vlen = 0, olen = 0;
    FILE *fv = open_memstream(&values, &vlen);
    FILE *fo = open_memstream(&on, &olen);

    for (int i = 0; i < NCOLS; i++) {
        found +=
            it_int(m, -1, "SELECT COUNT(*) FROM t WHERE id = %s AND %s <=> %s",
                   lits[0], cols[i], lits[i]) == 1;
        fprintf(fv, "%s%s", i ? ", " : "", lits[i]);
        fprintf(fo, " AND a.%s <=> b.%s", cols[i], cols[i]);
    }
    fclose(fv);
    fclose(fo);
    check_int(found, NCOLS,
              "%s: each literal in WHERE id = .. AND col <=> .. "
              "finds the row",
              what);
    check(it_exec(m, "INSERT INTO t_copy VALUES (%s)", values) &&
              it_int(m, -1,
                     "SELECT COUNT(*) FROM t a JOIN t_copy b ON a.id = b.id "
                     "%s WHERE a.id = %s",
                     on, lits[0]) == 1,
          "%s: the literals INSERTed into a copy give the same row", what);
    free(values);
    free(on);
}

static void
check_refusals(MYSQL *m, const char *start)
{
    char err[512] = "";
    struct binlog_opts o = opts(buser(), bpass(), "0-1-x");
    struct binlog *b = binlog_open(&o, err, sizeof(err));

    check(b == NULL && strstr(err, "not a GTID position") != NULL,
          "a malformed start position is refused: %s", err);
    binlog_close(b);

    /* a position the server's binary log never reached */
    o = opts(buser(), bpass(), "0-1-999999999");
    err[0] = '\0';
    b = binlog_open(&o, err, sizeof(err));
    if (b != NULL) {
        struct binlog_row row;
        enum binlog_event e = BINLOG_IDLE;
        for (int i = 0; i < 5 && e == BINLOG_IDLE; i++)
            e = binlog_next(b, &row, err, sizeof(err));
        check(e == BINLOG_ERROR && err[0] != '\0',
              "a position beyond the server's fails: %s", err);
    } else {
        check(err[0] != '\0', "a position beyond the server's fails: %s", err);
    }
    binlog_close(b);

    o = opts(buser(), "wrong-password", start);
    err[0] = '\0';
    b = binlog_open(&o, err, sizeof(err));
    check(b == NULL && strstr(err, "cannot connect") != NULL &&
              strstr(err, "Access denied") != NULL,
          "a wrong password is refused: %s", err);
    binlog_close(b);

    it_exec(m, "DROP USER IF EXISTS 'binlog_norepl'@'%%'");
    it_exec(m, "CREATE USER 'binlog_norepl'@'%%' IDENTIFIED BY 'nr'");
    it_exec(m, "GRANT SELECT ON " DB ".* TO 'binlog_norepl'@'%%'");
    o = opts("binlog_norepl", "nr", start);
    err[0] = '\0';
    b = binlog_open(&o, err, sizeof(err));
    check(b == NULL && strstr(err, "REPLICATION SLAVE") != NULL,
          "an account without REPLICATION SLAVE is refused: %s", err);
    binlog_close(b);
    it_exec(m, "DROP USER 'binlog_norepl'@'%%'");

    /* the rig's replication account may stream but not read the columns */
    o = opts(it_env("REPL_USER", "repl"), it_env("REPL_PASSWORD", "repl"),
             start);
    err[0] = '\0';
    b = binlog_open(&o, err, sizeof(err));
    enum binlog_event e = b ? BINLOG_IDLE : BINLOG_ERROR;
    struct binlog_row row;
    for (int i = 0; b != NULL && i < 50 && e != BINLOG_ERROR; i++)
        e = binlog_next(b, &row, err, sizeof(err));
    check(e == BINLOG_ERROR && strstr(err, "lacks SELECT") != NULL,
          "an account without SELECT on a watched table stops at its rows: "
          "%s",
          err);
    binlog_close(b);

    if (it_exec(m, "SET GLOBAL binlog_row_image=MINIMAL")) {
        o = opts(buser(), bpass(), start);
        err[0] = '\0';
        b = binlog_open(&o, err, sizeof(err));
        it_exec(m, "SET GLOBAL binlog_row_image=FULL");
        check(b == NULL && strstr(err, "binlog_row_image=MINIMAL") != NULL &&
                  strstr(err, "binlog_row_image=FULL") != NULL,
              "a server with binlog_row_image=MINIMAL is refused: %s", err);
        binlog_close(b);
    }
}

static void
check_tls(const char *start)
{
    const char *ca = getenv("MARIADB_TLS_CA");
    const char *other = getenv("MARIADB_TLS_OTHER_CA");
    struct mysqltls tls = {.enabled = true, .verify = true};
    char err[512] = "";

    if (!check(ca != NULL && other != NULL, "MARIADB_TLS_CA and _OTHER_CA"))
        return;
    snprintf(tls.ca, sizeof(tls.ca), "%s", ca);
    struct binlog_opts o = opts(buser(), bpass(), start);
    o.tls = &tls;
    struct binlog *b = binlog_open(&o, err, sizeof(err));
    check(b != NULL, "TLS verified by the rig's CA: the stream starts %s", err);
    binlog_close(b);
    snprintf(tls.ca, sizeof(tls.ca), "%s", other);
    err[0] = '\0';
    b = binlog_open(&o, err, sizeof(err));
    check(b == NULL && strstr(err, "cannot connect") != NULL,
          "TLS against another CA is refused: %s", err);
    binlog_close(b);
}

/* A 17 MB value (an event above the protocol's 16 MB packet) comes
 * whole: X'' and 34 MB of hex. */
static void
check_large(MYSQL *m, struct binlog *b)
{
    char err[512] = "";
    size_t n = 17u << 20;

    it_exec(m, "CREATE TABLE tbig (id INT PRIMARY KEY, v LONGBLOB)");
    it_exec(m, "INSERT INTO tbig VALUES (1, REPEAT('ab', %zu))", n / 2);
    char *want = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    int from = nrecs;
    bool ok = drain(b, want ? want : "-", err, sizeof(err));
    struct rec *r = NULL;
    for (int i = from; i < nrecs && r == NULL; i++)
        if (recs[i].ev == BINLOG_ROW && strcmp(recs[i].table, DB ".tbig") == 0)
            r = &recs[i];
    const char *v = r && r->after[1] ? r->after[1] : "";
    bool body = strlen(v) == 2 * n + 3 && strncmp(v, "X'6162", 6) == 0 &&
                v[2 * n + 2] == '\'' && strspn(v + 2, "6162") == 2 * n;
    check(ok && body, "a 17 MB value comes whole as X'..' (%zu bytes) %s",
          strlen(v), err);
    free(want);

    /* a new binary log file: the stream follows the rotation */
    it_exec(m, "FLUSH BINARY LOGS");
    it_exec(m, "INSERT INTO t (id) VALUES (30)");
    want = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    from = nrecs;
    ok = drain(b, want ? want : "-", err, sizeof(err));
    check(ok && nrecs - from >= 1 && recs[from].ev == BINLOG_ROW &&
              strcmp(recs[from].after[0], "30") == 0,
          "after FLUSH BINARY LOGS the next row comes %s", err);
    free(want);
}

/* A statement-logged INSERT stops the stream with what to set. */
static void
check_statement_dml(MYSQL *m)
{
    char err[512] = "", *start = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    struct binlog_opts o = opts(buser(), bpass(), start ? start : "");
    struct binlog *b;
    enum binlog_event e = BINLOG_IDLE;
    struct binlog_row row;

    it_exec(m, "SET SESSION binlog_format=STATEMENT");
    it_exec(m, "INSERT INTO t_other VALUES (100)");
    it_exec(m, "SET SESSION binlog_format=ROW");
    b = binlog_open(&o, err, sizeof(err));
    for (int i = 0; b != NULL && i < 20 && e != BINLOG_ERROR; i++)
        e = binlog_next(b, &row, err, sizeof(err));
    check(e == BINLOG_ERROR && strstr(err, "binlog_format=ROW") != NULL,
          "a statement-logged INSERT stops the stream: %s", err);
    binlog_close(b);
    free(start);
}

int
main(void)
{
    it_init("itest_binlog");
    MYSQL *m = it_connect_backend("S0_PRIMARY_PORT", NULL);
    char err[512] = "";

    if (!check(m != NULL, "connect to the s0 primary"))
        return it_done();
    it_exec(m, "SET time_zone='+00:00'");
    it_exec(m, "CREATE DATABASE IF NOT EXISTS " DB);
    it_exec(m, "USE " DB);
    char *start = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    check(start != NULL, "read @@gtid_binlog_pos: %s", start ? start : "");

    struct binlog_opts o = opts(buser(), bpass(), start ? start : "");
    struct binlog *b = binlog_open(&o, err, sizeof(err));
    if (!check(b != NULL, "binlog_open from %s", start ? start : "") ||
        !check_str(binlog_pos(b), start, "binlog_pos starts as gtid_start")) {
        it_diag("%s", err);
        return it_done();
    }

    it_exec(m, "DROP TABLE IF EXISTS t, t_copy, t_other");
    it_exec(m, "%s", create_t);
    it_exec(m, "CREATE TABLE t_copy LIKE t");
    it_exec(m, "CREATE TABLE t_other (id INT PRIMARY KEY)");
    /* 1: every type */
    it_exec(m, "INSERT INTO t VALUES (1, -128, 255, -32768, 65535, -8388608, "
               "16777215, -9223372036854775808, 18446744073709551615, -1.5, "
               "12345678901234567890.0123456789, 1.5, -2.25, 'it''s', "
               "'h\xc3\xa9llo \"w\"', 'a\\\\b', X'00ff10', '', 'ab', "
               "'2026-01-02', '2026-01-02 03:04:05', "
               "'2026-01-02 03:04:05.123456', '2026-01-02 03:04:05.12', "
               "'-12:34:56.5', 2026, 'blue', 'a,c', '{\"k\": [1, 2]}', "
               "'caf\xc3\xa9', b'1010101010')");
    it_exec(m, "INSERT INTO t_other VALUES (1)"); /* not watched */
    /* 2, 3, 4 in one statement: NULLs, edge values */
    it_exec(m, "INSERT INTO t VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, "
               "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
               "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
               "NULL, NULL, NULL), (3, 0, 0, 1, 1, -1, 0, 1, 0, -0.0001, -5, "
               "-0.5, 0.1, '', ' sp ', 'line\\nbreak', '', X'00', X'ff', "
               "'1000-01-01', '9999-12-31 23:59:59', "
               "'2000-02-29 00:00:00.000001', '2038-01-19 03:14:07.999', "
               "'838:59:59.99', 2155, 'red', '', '[]', '', 0), (4, 4, 4, 4, "
               "4, 4, 4, 4, 4, 4, 4, 4, 4, 'x', 'x', 'x', 'x', 'x', 'x', "
               "'2001-01-01', '2001-01-01 00:00:00', '2001-01-01 00:00:00', "
               "'2001-01-01 00:00:00', '00:00:04', 2001, 'green', 'b', '4', "
               "'x', 4)");
    it_exec(m, "UPDATE t SET vc = 'updated', d = 0.5 WHERE id = 1");
    it_exec(m, "DELETE FROM t WHERE id = 4");
    it_exec(m, "BEGIN");
    it_exec(m, "INSERT INTO t (id, ti) VALUES (10, 10)");
    it_exec(m, "UPDATE t SET ti = 7 WHERE id = 2");
    it_exec(m, "DELETE FROM t WHERE id = 10");
    it_exec(m, "COMMIT");
    char *end = it_value(m, NULL, "SELECT @@gtid_binlog_pos");

    bool ok = drain(b, end ? end : "", err, sizeof(err));
    if (!check(ok, "the stream reaches the server's position %s (at %s)",
               end ? end : "", binlog_pos(b)))
        it_diag("%s", err);
    check(gtid_pos_covers(binlog_pos(b), end ? end : "-"),
          "binlog_pos %s covers @@gtid_binlog_pos %s", binlog_pos(b),
          end ? end : "");
    check_sequence();

    struct rec *r1 = nth_row(0), *r3 = nth_row(2), *r2 = nth_row(1);
    struct rec *u1 = nth_row(4), *d4 = nth_row(5), *u2 = nth_row(7);
    if (check(r1 && r2 && r3 && u1 && d4 && u2, "the rows arrived")) {
        check(r1->kind == BINLOG_INSERT &&
                  same_values(r1->after, lit1, "row 1"),
              "row 1: every type's literal");
        check(same_values(r3->after, lit3, "row 3"),
              "row 3: edge values' literals");
        bool nulls = strcmp(r2->after[0], "2") == 0 && !r2->anull[0];
        for (int i = 1; i < NCOLS; i++)
            nulls = nulls && r2->anull[i] && strcmp(r2->after[i], "NULL") == 0;
        check(nulls, "row 2: NULLs are null and NULL");
        check(u1->kind == BINLOG_UPDATE &&
                  same_values(u1->before, lit1, "u1") &&
                  strcmp(u1->after[14], "'updated'") == 0 &&
                  strcmp(u1->after[9], "0.5000") == 0 &&
                  strcmp(u1->after[1], "-128") == 0,
              "the UPDATE: the whole before image, the changed after image");
        check(d4->kind == BINLOG_DELETE && strcmp(d4->before[0], "4") == 0 &&
                  strcmp(d4->before[13], "'x'") == 0,
              "the DELETE: its before image");
        check(u2->kind == BINLOG_UPDATE && strcmp(u2->before[1], "NULL") == 0 &&
                  strcmp(u2->after[1], "7") == 0,
              "the UPDATE in the transaction: NULL to 7");
        check_paste(m, u1->after, "row 1");
        check_paste(m, u2->after, "row 2");
        check_paste(m, r3->after, "row 3");
    }

    check_xa(m, b);
    check_large(m, b);

    /* 4: idle, once the stream has read the copies' INSERTs */
    char *now = it_value(m, NULL, "SELECT @@gtid_binlog_pos");
    check(now != NULL && drain(b, now, err, sizeof(err)),
          "the stream reaches %s", now ? now : "");
    free(now);
    char before[512];
    snprintf(before, sizeof(before), "%s", binlog_pos(b));
    struct binlog_row row;
    double t0 = it_now();
    enum binlog_event e = binlog_next(b, &row, err, sizeof(err));
    double waited = (it_now() - t0) * 1000;
    if (!check(e == BINLOG_IDLE && waited < IDLE * 2 + 300,
               "nothing new: BINLOG_IDLE after %.0f ms (idle_ms %d)", waited,
               IDLE))
        it_diag("event %d, %s", (int)e, e == BINLOG_ERROR ? err : "");
    t0 = it_now();
    e = binlog_next(b, &row, err, sizeof(err));
    waited = (it_now() - t0) * 1000;
    check(e == BINLOG_IDLE && waited > IDLE / 2 && waited < IDLE * 2 + 300,
          "and again after %.0f ms", waited);
    check_str(binlog_pos(b), before, "idle leaves the position");
    binlog_close(b);

    check_statement_dml(m);
    check_tls(start ? start : "");
    check_refusals(m, start ? start : "");

    it_exec(m, "DROP DATABASE " DB);
    mysql_close(m);
    free(start);
    free(end);
    return it_done();
}
