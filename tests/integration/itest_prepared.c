/*
 * Prepared statements through the mysql_stmt_* API (the binary protocol
 * JDBC and Go drivers also use): typed parameters and results, NULLs in
 * both directions, re-execution, long data in chunks, reset, close, errors,
 * and many prepare/close cycles without leaking statements on the server.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TP "itest_prepared_t"

#define LONG_LEN     (2UL * 1024 * 1024 + 77)
#define CHUNK        (64 * 1024)
#define CYCLES       200
#define OPEN_AT_ONCE 50

/* One row of TP as bound parameters or results. */
struct row {
    long long i;
    double d;
    char s[128];
    unsigned long s_len;
    MYSQL_TIME dt;
    MYSQL_TIME ts;
    my_bool null[5];
    my_bool err[5];
};

static void
set_date(MYSQL_TIME *t, unsigned y, unsigned mo, unsigned d)
{
    memset(t, 0, sizeof(*t));
    t->year = y;
    t->month = mo;
    t->day = d;
    t->time_type = MYSQL_TIMESTAMP_DATE;
}

static void
set_datetime(MYSQL_TIME *t, unsigned y, unsigned mo, unsigned d, unsigned h,
             unsigned mi, unsigned s)
{
    set_date(t, y, mo, d);
    t->hour = h;
    t->minute = mi;
    t->second = s;
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

/* Binds the five value columns of r (i, d, s, dt, ts). */
static void
bind_row(MYSQL_BIND b[5], struct row *r)
{
    memset(b, 0, 5 * sizeof(*b));
    b[0].buffer_type = MYSQL_TYPE_LONGLONG;
    b[0].buffer = &r->i;
    b[1].buffer_type = MYSQL_TYPE_DOUBLE;
    b[1].buffer = &r->d;
    b[2].buffer_type = MYSQL_TYPE_STRING;
    b[2].buffer = r->s;
    b[2].buffer_length = sizeof(r->s);
    b[2].length = &r->s_len;
    b[3].buffer_type = MYSQL_TYPE_DATE;
    b[3].buffer = &r->dt;
    b[4].buffer_type = MYSQL_TYPE_DATETIME;
    b[4].buffer = &r->ts;
    for (int k = 0; k < 5; k++) {
        b[k].is_null = &r->null[k];
        b[k].error = &r->err[k];
    }
}

static bool
same_time(const MYSQL_TIME *a, const MYSQL_TIME *b, bool with_time)
{
    return a->year == b->year && a->month == b->month && a->day == b->day &&
           (!with_time || (a->hour == b->hour && a->minute == b->minute &&
                           a->second == b->second));
}

static void
diag_stmt(MYSQL_STMT *st, const char *what)
{
    it_diag("%s: %u %s", what, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static struct row rows[3];

static void
make_rows(void)
{
    static const char s0[] = "plain text";
    static const char s1[] = "\xF0\x9F\x8D\xA3 \xE5\xAF\xBF\xE5\x8F\xB8 "
                             "caf\xC3\xA9";
    memset(rows, 0, sizeof(rows));
    rows[0].i = 42;
    rows[0].d = 3.141592653589793;
    memcpy(rows[0].s, s0, sizeof(s0));
    rows[0].s_len = sizeof(s0) - 1;
    set_date(&rows[0].dt, 2024, 2, 29);
    set_datetime(&rows[0].ts, 2024, 2, 29, 23, 59, 58);
    rows[1].i = -9223372036854775807LL - 1;
    rows[1].d = -1.5e300;
    memcpy(rows[1].s, s1, sizeof(s1));
    rows[1].s_len = sizeof(s1) - 1;
    set_date(&rows[1].dt, 1999, 12, 31);
    set_datetime(&rows[1].ts, 2000, 1, 1, 0, 0, 1);
    for (int k = 0; k < 5; k++)
        rows[2].null[k] = 1; /* all NULL */
}

static void
test_insert(MYSQL *m)
{
    const char *sql = "INSERT INTO " TP " (i, d, s, dt, ts) VALUES "
                      "(?, ?, ?, ?, ?)";
    MYSQL_STMT *st = mysql_stmt_init(m);
    bool ok = mysql_stmt_prepare(st, sql, strlen(sql)) == 0;
    if (!check(ok, "prepare INSERT with 5 parameters"))
        diag_stmt(st, "prepare");
    check_int(mysql_stmt_param_count(st), 5, "INSERT has 5 parameters");
    for (int n = 0; n < 3; n++) {
        MYSQL_BIND b[5];
        bind_row(b, &rows[n]);
        ok = mysql_stmt_bind_param(st, b) == 0 && mysql_stmt_execute(st) == 0;
        if (!ok)
            diag_stmt(st, "execute");
        check(ok && mysql_stmt_affected_rows(st) == 1 &&
                  mysql_stmt_insert_id(st) == (unsigned long long)n + 1,
              "execute INSERT #%d (%s): 1 row, insert id %d", n + 1,
              n == 2   ? "all NULL"
              : n == 1 ? "re-executed, new values"
                       : "ints, double, string, dates",
              n + 1);
        if (ok && mysql_stmt_insert_id(st) != (unsigned long long)n + 1)
            it_diag("insert id %llu",
                    (unsigned long long)mysql_stmt_insert_id(st));
    }
    /* an execute error leaves the statement usable */
    it_exec(m, "CREATE UNIQUE INDEX itest_prepared_ui ON " TP " (i)");
    MYSQL_BIND b[5];
    bind_row(b, &rows[0]);
    ok = mysql_stmt_bind_param(st, b) == 0 && mysql_stmt_execute(st) == 0;
    check(!ok && mysql_stmt_errno(st) == 1062,
          "duplicate key on execute gives 1062");
    if (ok || mysql_stmt_errno(st) != 1062)
        diag_stmt(st, "duplicate execute");
    it_exec(m, "DROP INDEX itest_prepared_ui ON " TP);
    mysql_stmt_close(st);

    char *v = it_value(m, NULL,
                       "SELECT CONCAT_WS('|', i, d, s, dt, ts) FROM " TP
                       " WHERE id = 1");
    check_str(v,
              "42|3.141592653589793|plain text|2024-02-29|2024-02-29 "
              "23:59:58",
              "text protocol sees the prepared INSERT's values");
    free(v);
    v = it_value(m, NULL,
                 "SELECT CONCAT(ISNULL(i), ISNULL(d), ISNULL(s), ISNULL(dt), "
                 "ISNULL(ts)) FROM " TP " WHERE id = 3");
    check_str(v, "11111", "NULL parameters stored as NULL");
    free(v);
}

static void
test_select(MYSQL *m)
{
    const char *sql = "SELECT i, d, s, dt, ts FROM " TP " WHERE id = ?";
    MYSQL_STMT *st = mysql_stmt_init(m);
    bool ok = mysql_stmt_prepare(st, sql, strlen(sql)) == 0;
    if (!check(ok, "prepare SELECT"))
        diag_stmt(st, "prepare");
    check_int(mysql_stmt_field_count(st), 5, "SELECT has 5 result columns");
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    check(meta != NULL && mysql_num_fields(meta) == 5 &&
              strcmp(mysql_fetch_fields(meta)[2].name, "s") == 0,
          "result metadata names the columns");
    if (meta)
        mysql_free_result(meta);

    int id = 0;
    MYSQL_BIND pb;
    memset(&pb, 0, sizeof(pb));
    pb.buffer_type = MYSQL_TYPE_LONG;
    pb.buffer = &id;
    mysql_stmt_bind_param(st, &pb);
    for (int n = 0; n < 3; n++) {
        struct row got;
        MYSQL_BIND rb[5];
        memset(&got, 0, sizeof(got));
        bind_row(rb, &got);
        id = n + 1;
        int frc = -1;
        ok = mysql_stmt_execute(st) == 0 && mysql_stmt_bind_result(st, rb) == 0;
        if (ok)
            frc = mysql_stmt_fetch(st);
        if (!ok || frc != 0)
            diag_stmt(st, "execute/fetch");
        int after = ok ? mysql_stmt_fetch(st) : -1;
        const struct row *w = &rows[n];
        if (n < 2) {
            bool same = frc == 0 && !got.null[0] && got.i == w->i &&
                        !got.null[1] && got.d == w->d && !got.null[2] &&
                        got.s_len == w->s_len &&
                        memcmp(got.s, w->s, w->s_len) == 0 && !got.null[3] &&
                        same_time(&got.dt, &w->dt, false) && !got.null[4] &&
                        same_time(&got.ts, &w->ts, true);
            check(same, "prepared SELECT id=%d returns the exact values", id);
            if (!same)
                it_diag("got i=%lld d=%.17g s='%.*s' dt=%u-%u-%u "
                        "ts=%u-%u-%u %u:%u:%u",
                        got.i, got.d, (int)got.s_len, got.s, got.dt.year,
                        got.dt.month, got.dt.day, got.ts.year, got.ts.month,
                        got.ts.day, got.ts.hour, got.ts.minute, got.ts.second);
        } else {
            bool all_null = frc == 0 && got.null[0] && got.null[1] &&
                            got.null[2] && got.null[3] && got.null[4];
            check(all_null, "prepared SELECT id=3 returns five NULLs");
        }
        check(after == MYSQL_NO_DATA, "id=%d: one row, then no data", id);
        mysql_stmt_free_result(st);
    }
    id = 99;
    ok = mysql_stmt_execute(st) == 0 && mysql_stmt_store_result(st) == 0;
    check(ok && mysql_stmt_num_rows(st) == 0,
          "prepared SELECT with no matching row returns an empty result");
    mysql_stmt_close(st);

    /* NULL parameter into an expression */
    st = mysql_stmt_init(m);
    const char *q2 = "SELECT ? IS NULL, COALESCE(?, 'fallback')";
    my_bool yes = 1;
    MYSQL_BIND p2[2];
    memset(p2, 0, sizeof(p2));
    p2[0].buffer_type = MYSQL_TYPE_NULL;
    p2[1].buffer_type = MYSQL_TYPE_STRING;
    p2[1].is_null = &yes;
    long long isnull = -1;
    char fb[32] = "";
    unsigned long fb_len = 0;
    MYSQL_BIND r2[2];
    memset(r2, 0, sizeof(r2));
    r2[0].buffer_type = MYSQL_TYPE_LONGLONG;
    r2[0].buffer = &isnull;
    r2[1].buffer_type = MYSQL_TYPE_STRING;
    r2[1].buffer = fb;
    r2[1].buffer_length = sizeof(fb) - 1;
    r2[1].length = &fb_len;
    ok = mysql_stmt_prepare(st, q2, strlen(q2)) == 0 &&
         mysql_stmt_bind_param(st, p2) == 0 && mysql_stmt_execute(st) == 0 &&
         mysql_stmt_bind_result(st, r2) == 0 && mysql_stmt_fetch(st) == 0;
    if (!ok)
        diag_stmt(st, "NULL parameter");
    fb[fb_len < sizeof(fb) ? fb_len : sizeof(fb) - 1] = '\0';
    check(ok && isnull == 1 && strcmp(fb, "fallback") == 0,
          "NULL parameters are NULL in expressions");
    mysql_stmt_close(st);
}

static void
test_long_data(MYSQL *m)
{
    unsigned char *blob = malloc(LONG_LEN);
    if (blob == NULL)
        exit(1);
    it_fill_random(blob, LONG_LEN, 2);
    const char *sql = "INSERT INTO " TP " (id, b, s) VALUES (100, ?, ?)";
    MYSQL_STMT *st = mysql_stmt_init(m);
    MYSQL_BIND b[2];
    char label[] = "long";
    unsigned long label_len = 4;
    memset(b, 0, sizeof(b));
    b[0].buffer_type = MYSQL_TYPE_LONG_BLOB;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = label;
    b[1].length = &label_len;
    bool ok = mysql_stmt_prepare(st, sql, strlen(sql)) == 0 &&
              mysql_stmt_bind_param(st, b) == 0;
    int chunks = 0;
    for (size_t off = 0; ok && off < LONG_LEN; off += CHUNK) {
        size_t n = LONG_LEN - off < CHUNK ? LONG_LEN - off : CHUNK;
        ok = mysql_stmt_send_long_data(st, 0, (const char *)blob + off, n) == 0;
        chunks++;
    }
    check(ok, "send_long_data: 2 MB in %d chunks", chunks);
    ok = ok && mysql_stmt_execute(st) == 0;
    if (!check(ok && mysql_stmt_affected_rows(st) == 1,
               "execute INSERT with long data"))
        diag_stmt(st, "long data execute");
    mysql_stmt_close(st);

    char md5[33], want[64];
    it_md5_hex(blob, LONG_LEN, md5);
    snprintf(want, sizeof(want), "%lu %s", LONG_LEN, md5);
    char *v = it_value(m, NULL,
                       "SELECT CONCAT(LENGTH(b), ' ', MD5(b)) FROM " TP
                       " WHERE id = 100");
    check_str(v, want, "long data stored intact (LENGTH and MD5)");
    free(v);

    /* read it back through the binary protocol */
    st = mysql_stmt_init(m);
    const char *sel = "SELECT b FROM " TP " WHERE id = 100";
    unsigned char *buf = malloc(LONG_LEN);
    unsigned long got_len = 0;
    MYSQL_BIND rb;
    memset(&rb, 0, sizeof(rb));
    rb.buffer_type = MYSQL_TYPE_LONG_BLOB;
    rb.buffer = buf;
    rb.buffer_length = LONG_LEN;
    rb.length = &got_len;
    ok = buf != NULL && mysql_stmt_prepare(st, sel, strlen(sel)) == 0 &&
         mysql_stmt_execute(st) == 0 && mysql_stmt_bind_result(st, &rb) == 0 &&
         mysql_stmt_fetch(st) == 0;
    check(ok && got_len == LONG_LEN && memcmp(buf, blob, LONG_LEN) == 0,
          "long data reads back byte-identical through a prepared SELECT");
    mysql_stmt_close(st);
    free(buf);
    free(blob);
}

static void
test_reset(MYSQL *m)
{
    /* long data sent, then reset: the next execute uses the bound value */
    const char *sql = "INSERT INTO " TP " (id, s) VALUES (?, ?)";
    MYSQL_STMT *st = mysql_stmt_init(m);
    int id = 200;
    char s[] = "bound";
    unsigned long s_len = 5;
    MYSQL_BIND b[2];
    memset(b, 0, sizeof(b));
    b[0].buffer_type = MYSQL_TYPE_LONG;
    b[0].buffer = &id;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = s;
    b[1].length = &s_len;
    bool ok = mysql_stmt_prepare(st, sql, strlen(sql)) == 0 &&
              mysql_stmt_bind_param(st, b) == 0 &&
              mysql_stmt_send_long_data(st, 1, "DISCARDED", 9) == 0;
    check(ok && mysql_stmt_reset(st) == 0, "mysql_stmt_reset after long data");
    ok = mysql_stmt_bind_param(st, b) == 0 && mysql_stmt_execute(st) == 0;
    if (!ok)
        diag_stmt(st, "execute after reset");
    mysql_stmt_close(st);
    char *v = it_value(m, NULL, "SELECT s FROM " TP " WHERE id = 200");
    check_str(v, "bound", "reset discarded the long data");
    free(v);

    /* reset with rows still unread, then execute again */
    st = mysql_stmt_init(m);
    const char *sel = "SELECT id FROM " TP " ORDER BY id";
    long long got = 0;
    MYSQL_BIND rb;
    memset(&rb, 0, sizeof(rb));
    rb.buffer_type = MYSQL_TYPE_LONGLONG;
    rb.buffer = &got;
    ok = mysql_stmt_prepare(st, sel, strlen(sel)) == 0 &&
         mysql_stmt_execute(st) == 0 && mysql_stmt_bind_result(st, &rb) == 0 &&
         mysql_stmt_fetch(st) == 0;
    check(ok && got == 1, "first row of an unfinished result");
    ok = mysql_stmt_reset(st) == 0;
    if (!check(ok, "mysql_stmt_reset with rows pending"))
        diag_stmt(st, "reset");
    int n = 0;
    ok = mysql_stmt_execute(st) == 0 && mysql_stmt_bind_result(st, &rb) == 0;
    while (ok && mysql_stmt_fetch(st) == 0)
        n++;
    check(ok && n == 5, "re-execute after reset returns all 5 rows");
    if (!ok || n != 5)
        it_diag("rows %d: %s", n, mysql_stmt_error(st));
    mysql_stmt_close(st);
}

static long long
exec_add(MYSQL_STMT *st, long long x)
{
    long long out = -1;
    MYSQL_BIND p, r;
    memset(&p, 0, sizeof(p));
    memset(&r, 0, sizeof(r));
    p.buffer_type = MYSQL_TYPE_LONGLONG;
    p.buffer = &x;
    r.buffer_type = MYSQL_TYPE_LONGLONG;
    r.buffer = &out;
    if (mysql_stmt_bind_param(st, &p) != 0 || mysql_stmt_execute(st) != 0 ||
        mysql_stmt_bind_result(st, &r) != 0 || mysql_stmt_fetch(st) != 0)
        return -1;
    mysql_stmt_free_result(st);
    return out;
}

static long long
prepared_count(MYSQL *direct)
{
    char *v =
        it_value(direct, NULL,
                 "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                 "WHERE VARIABLE_NAME = 'PREPARED_STMT_COUNT'");
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

static void
test_close_and_cycles(MYSQL *m)
{
    MYSQL_STMT *a = mysql_stmt_init(m);
    MYSQL_STMT *b = mysql_stmt_init(m);
    const char *qa = "SELECT ? + 1";
    const char *qb = "SELECT ? * 2";
    bool ok = mysql_stmt_prepare(a, qa, strlen(qa)) == 0 &&
              mysql_stmt_prepare(b, qb, strlen(qb)) == 0;
    check(ok && exec_add(a, 1) == 2 && exec_add(b, 21) == 42,
          "two prepared statements side by side");
    mysql_stmt_close(a);
    check_int(exec_add(b, 50), 100, "the other statement works after a close");
    it_exec(m, "SELECT 1");
    check_int(exec_add(b, 4), 8,
              "a prepared statement works after text queries in between");
    mysql_stmt_close(b);

    /* syntax error and unknown table at prepare time */
    MYSQL_STMT *e = mysql_stmt_init(m);
    const char *bad = "SELEC ? FROM";
    int rc = mysql_stmt_prepare(e, bad, strlen(bad));
    check(rc != 0 && mysql_stmt_errno(e) == 1064,
          "prepare with a syntax error gives 1064");
    if (rc == 0 || mysql_stmt_errno(e) != 1064)
        diag_stmt(e, "bad prepare");
    mysql_stmt_close(e);
    e = mysql_stmt_init(m);
    const char *nt = "SELECT * FROM itest_prepared_no_such WHERE x = ?";
    rc = mysql_stmt_prepare(e, nt, strlen(nt));
    check(rc != 0 && mysql_stmt_errno(e) == 1146,
          "prepare on an unknown table gives 1146");
    mysql_stmt_close(e);
    char *v = it_value(m, NULL, "SELECT 'usable'");
    check_str(v, "usable", "connection usable after failed prepares");
    free(v);

    /* many prepare/execute/close cycles */
    MYSQL *direct = it_connect_backend("S0_PRIMARY_PORT", NULL);
    long long before = direct ? prepared_count(direct) : -1;
    int good = 0;
    for (int n = 0; n < CYCLES; n++) {
        char q[64];
        snprintf(q, sizeof(q), "SELECT ? + %d", n);
        MYSQL_STMT *st = mysql_stmt_init(m);
        if (st != NULL && mysql_stmt_prepare(st, q, strlen(q)) == 0 &&
            exec_add(st, 1000) == 1000 + n)
            good++;
        mysql_stmt_close(st);
    }
    check_int(good, CYCLES, "%d prepare/execute/close cycles", CYCLES);

    MYSQL_STMT *open[OPEN_AT_ONCE];
    good = 0;
    for (int n = 0; n < OPEN_AT_ONCE; n++) {
        char q[64];
        snprintf(q, sizeof(q), "SELECT ? - %d", n);
        open[n] = mysql_stmt_init(m);
        if (mysql_stmt_prepare(open[n], q, strlen(q)) != 0)
            diag_stmt(open[n], "prepare");
    }
    for (int n = OPEN_AT_ONCE - 1; n >= 0; n--)
        if (exec_add(open[n], 500) == 500 - n)
            good++;
    for (int n = 0; n < OPEN_AT_ONCE; n++)
        mysql_stmt_close(open[n]);
    check_int(good, OPEN_AT_ONCE,
              "%d statements open at once, executed in "
              "reverse order",
              OPEN_AT_ONCE);

    long long after = direct ? prepared_count(direct) : -1;
    check(before >= 0 && after >= 0 && after - before < 100,
          "closed statements are closed on the server (no leak)");
    it_diag("server Prepared_stmt_count before %lld, after %lld", before,
            after);
    if (direct)
        mysql_close(direct);
}

int
main(void)
{
    it_init("itest_prepared");
    MYSQL *m = it_connect();
    if (!check(m != NULL, "connect"))
        return it_done();
    bool ok = it_exec(m, "DROP TABLE IF EXISTS " TP) &&
              it_exec(m, "CREATE TABLE " TP " (id INT AUTO_INCREMENT PRIMARY "
                         "KEY, i BIGINT, d DOUBLE, s VARCHAR(100), dt DATE, "
                         "ts DATETIME, b LONGBLOB) DEFAULT CHARSET=utf8mb4");
    check(ok, "create " TP);
    make_rows();
    test_insert(m);
    test_select(m);
    test_long_data(m);
    test_reset(m);
    test_close_and_cycles(m);
    it_exec(m, "DROP TABLE IF EXISTS " TP);
    mysql_close(m);
    return it_done();
}
