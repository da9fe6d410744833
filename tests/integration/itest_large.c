/*
 * Large values and large results: a 17 MB value written as a prepared
 * parameter and as a hex literal and read back byte-identical; packets of
 * exactly 16 MB - 1 both ways; a 20,000-row result streamed with
 * mysql_use_result and buffered with mysql_store_result; results made of
 * rows larger than 16 MB.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TBIG  "itest_large_big"
#define TROWS "itest_large_rows"

#define BIG_LEN  (17UL * 1024 * 1024 + 123)
#define NROWS    20000
#define MAX_PKT  0xFFFFFFUL
#define PAD_TEXT "abcdefghijklmnopqrstuvwxyz0123456789"

static unsigned char *
xmalloc(size_t n)
{
    unsigned char *p = malloc(n);
    if (p == NULL) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    return p;
}

/* Reads column 0 of row id of TBIG with the text protocol and compares. */
static void
check_text_readback(MYSQL *m, int id, const unsigned char *want, size_t len,
                    const char *how)
{
    bool ok = false;
    unsigned long got_len = 0;
    char sql[64];
    snprintf(sql, sizeof(sql), "SELECT b FROM " TBIG " WHERE id = %d", id);
    if (mysql_query(m, sql) == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row != NULL && row[0] != NULL) {
            got_len = mysql_fetch_lengths(r)[0];
            ok = got_len == len && memcmp(row[0], want, len) == 0;
        }
        if (r != NULL)
            mysql_free_result(r);
        else
            it_diag("store_result: %s", mysql_error(m));
    } else {
        it_diag("select: %s", mysql_error(m));
    }
    if (!check(ok, "17 MB value written %s reads back byte-identical", how))
        it_diag("expected %zu bytes, got %lu", len, got_len);

    char md5[33];
    char want_s[80];
    it_md5_hex(want, len, md5);
    snprintf(want_s, sizeof(want_s), "%zu %s", len, md5);
    char *v = it_value(m, NULL,
                       "SELECT CONCAT(LENGTH(b), ' ', MD5(b)) FROM " TBIG
                       " WHERE id = %d",
                       id);
    check_str(v, want_s, "server-side LENGTH and MD5 of the value written %s",
              how);
    free(v);
}

static void
test_big_values(MYSQL *m, unsigned char *big)
{
    long long maxp = it_int(m, 0, "SELECT @@max_allowed_packet");
    if (maxp < 40LL * 1024 * 1024)
        it_diag("server max_allowed_packet is %lld; these checks need 40 MB+",
                maxp);
    bool ok =
        it_exec(m, "DROP TABLE IF EXISTS " TBIG) &&
        it_exec(m, "CREATE TABLE " TBIG " (id INT PRIMARY KEY, b LONGBLOB)");
    check(ok, "create " TBIG);

    /* as a prepared parameter (COM_STMT_EXECUTE spans two packets) */
    MYSQL_STMT *st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO " TBIG " (id, b) VALUES (1, ?)";
    MYSQL_BIND bind;
    unsigned long len = BIG_LEN;
    memset(&bind, 0, sizeof(bind));
    bind.buffer_type = MYSQL_TYPE_LONG_BLOB;
    bind.buffer = big;
    bind.buffer_length = BIG_LEN;
    bind.length = &len;
    ok = mysql_stmt_prepare(st, ins, strlen(ins)) == 0 &&
         mysql_stmt_bind_param(st, &bind) == 0 && mysql_stmt_execute(st) == 0;
    if (!check(ok && mysql_stmt_affected_rows(st) == 1,
               "INSERT of a 17 MB prepared parameter"))
        it_diag("%u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    mysql_stmt_close(st);
    check_text_readback(m, 1, big, BIG_LEN, "as a prepared parameter");

    /* as a hex literal in a 34 MB text query */
    char *hex = it_hex(big, BIG_LEN);
    size_t qlen = 2 * BIG_LEN + 64;
    char *q = (char *)xmalloc(qlen);
    int n = snprintf(q, qlen, "INSERT INTO " TBIG " (id, b) VALUES (2, X'%s')",
                     hex);
    free(hex);
    ok = mysql_real_query(m, q, (unsigned long)n) == 0;
    if (!check(ok && mysql_affected_rows(m) == 1,
               "INSERT of a 17 MB hex literal (34 MB query)"))
        it_diag("%u %s", mysql_errno(m), mysql_error(m));
    free(q);
    check_text_readback(m, 2, big, BIG_LEN, "as a hex literal");

    /* read back through the binary protocol */
    st = mysql_stmt_init(m);
    const char *sel = "SELECT b FROM " TBIG " WHERE id = 1";
    unsigned char *buf = xmalloc(BIG_LEN);
    unsigned long got_len = 0;
    MYSQL_BIND res;
    memset(&res, 0, sizeof(res));
    res.buffer_type = MYSQL_TYPE_LONG_BLOB;
    res.buffer = buf;
    res.buffer_length = BIG_LEN;
    res.length = &got_len;
    ok = mysql_stmt_prepare(st, sel, strlen(sel)) == 0 &&
         mysql_stmt_execute(st) == 0 && mysql_stmt_bind_result(st, &res) == 0 &&
         mysql_stmt_fetch(st) == 0;
    if (!ok)
        it_diag("%u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    check(ok && got_len == BIG_LEN && memcmp(buf, big, BIG_LEN) == 0,
          "17 MB value reads back byte-identical through a prepared SELECT");
    mysql_stmt_close(st);
    free(buf);
}

/* Both rows of TBIG in one result, each over 16 MB. */
static void
test_big_rows(MYSQL *m, const unsigned char *big, bool streamed)
{
    const char *how = streamed ? "mysql_use_result" : "mysql_store_result";
    int rows = 0, good = 0;
    if (mysql_query(m, "SELECT id, b FROM " TBIG " ORDER BY id") == 0) {
        MYSQL_RES *r = streamed ? mysql_use_result(m) : mysql_store_result(m);
        MYSQL_ROW row;
        while (r != NULL && (row = mysql_fetch_row(r)) != NULL) {
            unsigned long *l = mysql_fetch_lengths(r);
            rows++;
            if (row[1] != NULL && l[1] == BIG_LEN &&
                memcmp(row[1], big, BIG_LEN) == 0)
                good++;
        }
        if (r == NULL || mysql_errno(m) != 0)
            it_diag("%s: %u %s", how, mysql_errno(m), mysql_error(m));
        if (r != NULL)
            mysql_free_result(r);
    } else {
        it_diag("%u %s", mysql_errno(m), mysql_error(m));
    }
    check(rows == 2 && good == 2,
          "result of two 17 MB rows with %s: both byte-identical", how);
    if (rows != 2 || good != 2)
        it_diag("rows %d, identical %d", rows, good);
}

static void
test_packet_boundaries(MYSQL *m)
{
    /* row payload = 4-byte length prefix + value + 6 bytes of 'after' =
     * exactly 0xFFFFFF, so the server follows it with an empty packet */
    unsigned long vlen = MAX_PKT - 4 - 6;
    bool ok = false;
    unsigned long got = 0;
    char sql[64];
    snprintf(sql, sizeof(sql), "SELECT REPEAT('z', %lu), 'after'", vlen);
    if (mysql_query(m, sql) == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row != NULL && row[0] != NULL && row[1] != NULL) {
            got = mysql_fetch_lengths(r)[0];
            ok = got == vlen && row[0][0] == 'z' && row[0][vlen - 1] == 'z' &&
                 strcmp(row[1], "after") == 0;
        }
        if (r)
            mysql_free_result(r);
    }
    if (!check(ok, "row of 16 MB - 1 byte payload (empty trailing packet)"))
        it_diag("expected %lu bytes, got %lu: %s", vlen, got, mysql_error(m));

    /* COM_QUERY payload of exactly 0xFFFFFF bytes: 1 command byte + text */
    size_t text_len = MAX_PKT - 1;
    const char *head = "SELECT LENGTH('";
    const char *tail = "')";
    size_t filler = text_len - strlen(head) - strlen(tail);
    char *q = (char *)xmalloc(text_len + 1);
    memcpy(q, head, strlen(head));
    memset(q + strlen(head), 'q', filler);
    memcpy(q + strlen(head) + filler, tail, strlen(tail));
    q[text_len] = '\0';
    char want[32];
    snprintf(want, sizeof(want), "%zu", filler);
    char *v = NULL;
    if (mysql_real_query(m, q, (unsigned long)text_len) == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row != NULL && row[0] != NULL)
            v = strdup(row[0]);
        if (r)
            mysql_free_result(r);
    } else {
        it_diag("%u %s", mysql_errno(m), mysql_error(m));
    }
    check_str(v, want, "query of exactly 16 MB - 1 byte payload");
    free(v);
    free(q);
    v = it_value(m, NULL, "SELECT 'still here'");
    check_str(v, "still here", "connection works after the boundary packets");
    free(v);
}

static bool
load_rows(MYSQL *m)
{
    if (!it_exec(m, "DROP TABLE IF EXISTS " TROWS) ||
        !it_exec(m, "CREATE TABLE " TROWS " (id INT PRIMARY KEY, v INT, "
                    "pad VARCHAR(100))"))
        return false;
    size_t cap = 1000 * 80 + 64;
    char *q = (char *)xmalloc(cap);
    for (int base = 0; base < NROWS; base += 1000) {
        size_t n = (size_t)snprintf(q, cap, "INSERT INTO " TROWS " VALUES ");
        for (int i = base + 1; i <= base + 1000; i++)
            n +=
                (size_t)snprintf(q + n, cap - n, "%s(%d,%d,'%s')",
                                 i == base + 1 ? "" : ",", i, i % 97, PAD_TEXT);
        if (mysql_real_query(m, q, (unsigned long)n) != 0 ||
            mysql_affected_rows(m) != 1000) {
            it_diag("load failed: %s", mysql_error(m));
            free(q);
            return false;
        }
    }
    free(q);
    return true;
}

static void
test_many_rows(MYSQL *m, bool streamed)
{
    const char *how = streamed ? "mysql_use_result" : "mysql_store_result";
    long long want_sum = 0;
    for (int i = 1; i <= NROWS; i++)
        want_sum += i % 97;
    long long rows = 0, sum = 0, in_order = 0, pad_ok = 0;
    unsigned long long num_rows = 0;
    bool ok =
        mysql_query(m, "SELECT id, v, pad FROM " TROWS " ORDER BY id") == 0;
    MYSQL_RES *r = NULL;
    if (ok)
        r = streamed ? mysql_use_result(m) : mysql_store_result(m);
    if (r != NULL) {
        if (!streamed)
            num_rows = mysql_num_rows(r);
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(r)) != NULL) {
            rows++;
            if (row[0] != NULL && atoll(row[0]) == rows)
                in_order++;
            if (row[1] != NULL)
                sum += atoll(row[1]);
            if (row[2] != NULL && strcmp(row[2], PAD_TEXT) == 0)
                pad_ok++;
        }
        if (mysql_errno(m) != 0)
            it_diag("fetch: %s", mysql_error(m));
        mysql_free_result(r);
    } else {
        it_diag("%s: %s", how, mysql_error(m));
    }
    check_int(rows, NROWS, "20,000-row result with %s: row count", how);
    check(sum == want_sum && in_order == NROWS && pad_ok == NROWS,
          "20,000-row result with %s: ids in order, sum of v, padding", how);
    if (sum != want_sum || in_order != NROWS || pad_ok != NROWS)
        it_diag("sum %lld (want %lld), in order %lld, pad ok %lld", sum,
                want_sum, in_order, pad_ok);
    if (!streamed)
        check_int((long long)num_rows, NROWS, "mysql_num_rows is 20,000");
}

int
main(void)
{
    it_init("itest_large");
    MYSQL *m = it_connect();
    if (!check(m != NULL, "connect"))
        return it_done();

    unsigned char *big = xmalloc(BIG_LEN);
    it_fill_random(big, BIG_LEN, 17);

    test_big_values(m, big);
    test_big_rows(m, big, true);
    test_big_rows(m, big, false);
    test_packet_boundaries(m);

    check(load_rows(m), "load 20,000 rows into " TROWS);
    char *v = it_value(m, NULL, "SELECT COUNT(*) FROM " TROWS);
    check_str(v, "20000", "table holds 20,000 rows");
    free(v);
    test_many_rows(m, true);
    test_many_rows(m, false);
    v = it_value(m, NULL, "SELECT 'done'");
    check_str(v, "done", "connection works after the large results");
    free(v);

    it_exec(m, "DROP TABLE IF EXISTS " TBIG);
    it_exec(m, "DROP TABLE IF EXISTS " TROWS);
    free(big);
    mysql_close(m);
    return it_done();
}
