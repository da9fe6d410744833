/*
 * Sharding, checked from outside the proxy.
 *
 * Placement: rows written through myshard (single- and multi-row INSERT,
 * REPLACE, INSERT ... ON DUPLICATE KEY UPDATE, prepared INSERT) sit on
 * exactly the shard their rule names. The witness is a direct connection to
 * each shard primary; the expected shard is computed here from PRODUCT.md's
 * formulas (hash slots from MariaDB's own CRC32(), cross-checked against an
 * IEEE CRC-32 computed in this program; mod; integer and string ranges).
 *
 * Answers: the same statements also run directly against one plain MariaDB
 * schema (ref_sharding on the s0 primary); every query through myshard must
 * return what that schema returns, column names included: point reads, IN,
 * BETWEEN, OR, scatter reads, aggregates, ORDER BY with LIMIT/OFFSET,
 * GROUP BY, DISTINCT, co-located and global joins, and the affected-row
 * counts of scatter UPDATE and DELETE.
 *
 * Refusals (1105, 1235) start with "myshard:" and write nothing; global
 * tables and DDL reach every shard; prepared statements route by their
 * bound values.
 *
 * A failed DDL fan-out or placement is repaired directly on the shards
 * afterwards, so each later check tests its own feature. Pointed at a
 * plain server (MYSHARD_EXPECT_PROXY unset, MYSHARD_PORT a shard primary)
 * nothing is repaired: the fan-out, placement and refusal checks fail by
 * design and the answer comparisons check the reference side.
 */
#include "itest.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_DB  "ref_sharding"
#define NROWS   200
#define NSHARDS 2
#define VLEN    96
#define MAXCOLS 8

enum rule_kind { HASH_EVEN, HASH_MAP, MOD, RANGE_INT, RANGE_STR, GLOBAL };

struct table {
    const char *name;
    const char *key; /* shard key column; NULL for the global table */
    enum rule_kind rule;
    const char *cols; /* INSERT column list, ", " separated */
    const char *odku; /* ON DUPLICATE KEY UPDATE assignments */
    const char *defs; /* column definitions */
};

enum {
    T_ORDERS,
    T_ITEMS,
    T_ACCOUNTS,
    T_EVENTS,
    T_CUSTOMERS,
    T_VISITS,
    T_COUNTRIES,
    NTABLES
};

/* user_id has a default so that MariaDB itself would accept an INSERT
 * without it: only the proxy's refusal keeps such a row out. */
static const struct table tables[NTABLES] = {
    {"orders", "user_id", HASH_EVEN,
     "id, user_id, amount, status, note, created",
     "amount = VALUES(amount), status = VALUES(status)",
     "id INT NOT NULL PRIMARY KEY, user_id INT NOT NULL DEFAULT 0, "
     "amount DECIMAL(10,2) NOT NULL, status VARCHAR(16) NOT NULL, "
     "note VARCHAR(64) NULL, created DATE NOT NULL"},
    {"order_items", "user_id", HASH_EVEN,
     "id, user_id, order_id, sku, qty, price",
     "qty = VALUES(qty), price = VALUES(price)",
     "id INT NOT NULL PRIMARY KEY, user_id INT NOT NULL DEFAULT 0, "
     "order_id INT NOT NULL, sku VARCHAR(32) NOT NULL, qty INT NOT NULL, "
     "price DECIMAL(8,2) NOT NULL"},
    {"accounts", "id", MOD, "id, name, balance, country",
     "name = VALUES(name), balance = VALUES(balance)",
     "id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, "
     "balance DECIMAL(12,2) NOT NULL, country CHAR(2) NULL"},
    {"events", "id", RANGE_INT, "id, kind, score",
     "kind = VALUES(kind), score = VALUES(score)",
     "id INT NOT NULL PRIMARY KEY, kind VARCHAR(16) NOT NULL, "
     "score INT NOT NULL"},
    {"customers", "email", HASH_MAP, "email, name, country, points",
     "name = VALUES(name), points = VALUES(points)",
     "email VARCHAR(191) NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, "
     "country CHAR(2) NOT NULL, points INT NOT NULL"},
    {"visits", "day", RANGE_STR, "id, day, page, ms",
     "page = VALUES(page), ms = VALUES(ms)",
     "id INT NOT NULL PRIMARY KEY, day DATE NOT NULL, "
     "page VARCHAR(32) NOT NULL, ms INT NOT NULL"},
    {"countries", NULL, GLOBAL, "code, name", NULL,
     "code CHAR(2) NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL"},
};

static const char *const shard_name[NSHARDS] = {"s0", "s1"};
static const char *const shard_port_env[NSHARDS] = {"S0_PRIMARY_PORT",
                                                    "S1_PRIMARY_PORT"};
static const char *const replica_port_env[NSHARDS] = {"S0_REPLICA_PORT",
                                                      "S1_REPLICA_PORT"};

#define NCOUNTRIES 10
static const char *const country_code[NCOUNTRIES] = {
    "DE", "FR", "US", "CN", "PT", "BR", "JP", "IN", "GB", "ES"};
static const char *const country_name[NCOUNTRIES] = {
    "Germany", "France", "United States", "China",          "Portugal",
    "Brazil",  "Japan",  "India",         "United Kingdom", "Spain"};

static MYSQL *px;               /* through myshard, schema shop */
static MYSQL *ref;              /* s0 primary directly, schema ref_sharding */
static MYSQL *direct[NSHARDS];  /* each shard primary directly, schema shop */
static MYSQL *replica[NSHARDS]; /* each shard replica directly (or NULL) */

/* ------------------------------------------------------------ utilities */

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static char *
xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

static char *xprintf(const char *fmt, ...) IT_PRINTF(1, 2);

static char *
xprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return s;
}

/* A growing string. */
struct buf {
    char *p;
    size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_fmt(struct buf *b, const char *fmt, ...) IT_PRINTF(2, 3);

static void
buf_fmt(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    buf_add(b, s, (size_t)n);
    free(s);
}

/* Standard IEEE CRC-32 (zlib's, MySQL's CRC32()). */
static uint32_t
crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* ------------------------------------------------------------ result sets */

/* One statement's outcome: an error, an OK (affected rows) or rows. */
struct rs {
    bool ok;
    unsigned err;
    char msg[512];
    unsigned long long affected;
    int ncols; /* 0: no result set */
    char *names;
    int nrows;
    char ***cell; /* [row][col], NULL for SQL NULL */
    char **text;  /* printable row: ('a', NULL, '1.50') */
};

static void
rs_free(struct rs *r)
{
    for (int i = 0; i < r->nrows; i++) {
        for (int c = 0; c < r->ncols; c++)
            free(r->cell[i][c]);
        free(r->cell[i]);
        free(r->text[i]);
    }
    free(r->cell);
    free(r->text);
    free(r->names);
    memset(r, 0, sizeof(*r));
}

/* Printable form of n values: each quoted (' and \ escaped) or NULL. */
static char *
row_text(char *const *cells, int n)
{
    struct buf b = {0};
    buf_str(&b, "(");
    for (int c = 0; c < n; c++) {
        if (c > 0)
            buf_str(&b, ", ");
        if (cells[c] == NULL) {
            buf_str(&b, "NULL");
            continue;
        }
        buf_str(&b, "'");
        for (const char *s = cells[c]; *s; s++) {
            if (*s == '\'' || *s == '\\')
                buf_add(&b, "\\", 1);
            buf_add(&b, s, 1);
        }
        buf_str(&b, "'");
    }
    buf_str(&b, ")");
    return b.p;
}

static bool
lost_connection(unsigned err)
{
    return err == 2006 || err == 2013 || err == 2055;
}

/* Runs sql on m and stores its first result; drains any further ones. */
static bool
rs_run(MYSQL *m, const char *sql, struct rs *r)
{
    memset(r, 0, sizeof(*r));
    if (m == NULL) {
        r->err = 2006;
        snprintf(r->msg, sizeof(r->msg), "no connection");
        return false;
    }
    if (mysql_query(m, sql) != 0) {
        r->err = mysql_errno(m);
        snprintf(r->msg, sizeof(r->msg), "%s", mysql_error(m));
        return false;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (res == NULL) {
        if (mysql_field_count(m) != 0) {
            r->err = mysql_errno(m);
            snprintf(r->msg, sizeof(r->msg), "%s", mysql_error(m));
            return false;
        }
        r->affected = mysql_affected_rows(m);
    } else {
        r->ncols = (int)mysql_num_fields(res);
        MYSQL_FIELD *f = mysql_fetch_fields(res);
        struct buf names = {0};
        for (int c = 0; c < r->ncols; c++) {
            if (c > 0)
                buf_str(&names, ", ");
            buf_str(&names, f[c].name);
        }
        r->names = names.p ? names.p : xstrdup("");
        r->nrows = (int)mysql_num_rows(res);
        r->cell = xmalloc(sizeof(*r->cell) * (size_t)r->nrows);
        r->text = xmalloc(sizeof(*r->text) * (size_t)r->nrows);
        for (int i = 0; i < r->nrows; i++) {
            MYSQL_ROW row = mysql_fetch_row(res);
            unsigned long *len = mysql_fetch_lengths(res);
            r->cell[i] = xmalloc(sizeof(char *) * (size_t)r->ncols);
            for (int c = 0; c < r->ncols; c++) {
                if (row == NULL || row[c] == NULL) {
                    r->cell[i][c] = NULL;
                } else {
                    r->cell[i][c] = xmalloc(len[c] + 1);
                    memcpy(r->cell[i][c], row[c], len[c]);
                    r->cell[i][c][len[c]] = '\0';
                }
            }
            r->text[i] = row_text(r->cell[i], r->ncols);
        }
        mysql_free_result(res);
    }
    while (mysql_more_results(m)) {
        if (mysql_next_result(m) != 0)
            break;
        MYSQL_RES *x = mysql_store_result(m);
        if (x != NULL)
            mysql_free_result(x);
    }
    r->ok = true;
    return true;
}

/* The proxy connection, reconnected after it was lost. */
static int proxy_lost; /* connections lost in a row */

static MYSQL *
proxy(void)
{
    /* a proxy that keeps dropping or stalling connections fails the
     * remaining checks at once instead of one timeout each */
    if (px == NULL && proxy_lost < 3) {
        px = it_connect();
        if (px == NULL)
            proxy_lost++;
    }
    return px;
}

static bool
px_run(const char *sql, struct rs *r)
{
    bool ok = rs_run(proxy(), sql, r);
    if (ok) {
        proxy_lost = 0;
    } else if (lost_connection(r->err) && px != NULL) {
        it_diag("lost the proxy connection (%u %s); reconnecting", r->err,
                r->msg);
        mysql_close(px);
        px = NULL;
        if (++proxy_lost == 3)
            it_diag("giving up on the proxy after 3 lost connections");
    }
    return ok;
}

static void
diag_text(const char *label, const char *s)
{
    size_t n = strlen(s);
    it_diag("  %s%.*s%s", label, n > 300 ? 300 : (int)n, s,
            n > 300 ? "..." : "");
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares rows (ordered or as multisets) and column names; explain:
 * print the differences. */
static bool
same_rows(const char *sql, const struct rs *exp, const struct rs *got,
          bool ordered, bool explain)
{
    bool names_ok =
        exp->ncols == got->ncols &&
        strcmp(exp->names ? exp->names : "", got->names ? got->names : "") == 0;
    char **e = xmalloc(sizeof(char *) * (size_t)exp->nrows);
    char **g = xmalloc(sizeof(char *) * (size_t)got->nrows);
    if (exp->nrows > 0)
        memcpy(e, exp->text, sizeof(char *) * (size_t)exp->nrows);
    if (got->nrows > 0)
        memcpy(g, got->text, sizeof(char *) * (size_t)got->nrows);
    if (!ordered && exp->nrows > 1)
        qsort(e, (size_t)exp->nrows, sizeof(char *), cmp_str);
    if (!ordered && got->nrows > 1)
        qsort(g, (size_t)got->nrows, sizeof(char *), cmp_str);
    int first = -1;
    for (int i = 0; i < exp->nrows || i < got->nrows; i++) {
        if (i >= exp->nrows || i >= got->nrows || strcmp(e[i], g[i]) != 0) {
            first = i;
            break;
        }
    }
    bool ok = names_ok && first < 0;
    if (!ok && explain) {
        diag_text("query: ", sql);
        if (!names_ok) {
            diag_text("expected columns: ", exp->names ? exp->names : "");
            diag_text("got columns:      ", got->names ? got->names : "");
        }
        it_diag("  expected %d rows, got %d (compared %s)", exp->nrows,
                got->nrows, ordered ? "in order" : "as multisets");
        if (first >= 0) {
            it_diag("  first difference at %s row %d:", ordered ? "" : "sorted",
                    first + 1);
            diag_text("expected: ",
                      first < exp->nrows ? e[first] : "(no more rows)");
            diag_text("got:      ",
                      first < got->nrows ? g[first] : "(no more rows)");
        }
        if (!ordered) {
            /* walk the sorted lists: a few missing and unexpected rows */
            int i = 0, j = 0, miss = 0, extra = 0;
            while (i < exp->nrows || j < got->nrows) {
                int c = i >= exp->nrows   ? 1
                        : j >= got->nrows ? -1
                                          : strcmp(e[i], g[j]);
                if (c == 0) {
                    i++;
                    j++;
                } else if (c < 0) {
                    if (miss++ < 3)
                        diag_text("missing:    ", e[i]);
                    i++;
                } else {
                    if (extra++ < 3)
                        diag_text("unexpected: ", g[j]);
                    j++;
                }
            }
            if (miss + extra > 0)
                it_diag("  %d rows missing, %d unexpected", miss, extra);
        }
    }
    free(e);
    free(g);
    return ok;
}

/* The query through the proxy and against the reference schema: same
 * columns and rows (in order when it has ORDER BY). */
static bool
cmp_query(const char *sql)
{
    struct rs e, g;
    bool ordered = strstr(sql, "ORDER BY") != NULL;
    bool eok = rs_run(ref, sql, &e);
    bool gok = px_run(sql, &g);
    bool ok = false;
    if (!eok) {
        check(false, "same answer as MariaDB: %s", sql);
        it_diag("  the reference failed: %u %s (a test bug)", e.err, e.msg);
    } else if (!gok) {
        check(false, "same answer as MariaDB: %s", sql);
        it_diag("  through myshard: error %u %s", g.err, g.msg);
    } else if (e.ncols == 0 || g.ncols == 0) {
        check(false, "same answer as MariaDB: %s", sql);
        it_diag("  a result set expected; reference has %d columns, myshard "
                "%d",
                e.ncols, g.ncols);
    } else {
        ok = check(same_rows(sql, &e, &g, ordered, false),
                   "same answer as MariaDB (%d rows): %s", e.nrows, sql);
        if (!ok)
            same_rows(sql, &e, &g, ordered, true);
    }
    rs_free(&e);
    rs_free(&g);
    return ok;
}

/* A write through the proxy and against the reference: both succeed with
 * the same affected rows. quiet: no TAP line, only the result. */
static bool
cmp_write_quiet(const char *sql, bool quiet)
{
    struct rs e, g;
    bool eok = rs_run(ref, sql, &e);
    bool gok = px_run(sql, &g);
    bool ok =
        eok && gok && e.ncols == 0 && g.ncols == 0 && e.affected == g.affected;
    if (!quiet)
        check(ok, "affected rows as MariaDB reports (%llu): %s", e.affected,
              sql);
    if (!ok) {
        if (quiet)
            diag_text("statement: ", sql);
        if (!eok)
            it_diag("  the reference failed: %u %s (a test bug)", e.err, e.msg);
        if (!gok)
            it_diag("  through myshard: error %u %s", g.err, g.msg);
        if (eok && gok)
            it_diag("  affected rows: expected %llu, got %llu", e.affected,
                    g.affected);
    }
    rs_free(&e);
    rs_free(&g);
    return ok;
}

static bool
cmp_write(const char *sql)
{
    return cmp_write_quiet(sql, false);
}

/* Executes on a direct connection; diagnostic on failure. */
static bool
dexec(MYSQL *m, const char *sql)
{
    struct rs r;
    bool ok = rs_run(m, sql, &r);
    if (!ok)
        it_diag("direct statement failed: %u %s; %s", r.err, r.msg, sql);
    rs_free(&r);
    return ok;
}

/* Waits until each replica has applied what its primary has logged, so a
 * read through the proxy sees every write whichever server serves it. */
static void
sync_replicas(void)
{
    for (int s = 0; s < NSHARDS; s++) {
        if (replica[s] == NULL)
            continue;
        char *pos = it_value(direct[s], NULL, "SELECT @@gtid_binlog_pos");
        if (pos == NULL)
            continue;
        long long w =
            it_int(replica[s], -2, "SELECT MASTER_GTID_WAIT('%s', 10)", pos);
        if (w != 0)
            it_diag("%s replica did not reach %s (%lld)", shard_name[s], pos,
                    w);
        free(pos);
    }
}

/* ------------------------------------------------------------ test data */

static void
money(char *out, long cents)
{
    long a = cents < 0 ? -cents : cents;
    snprintf(out, VLEN, "%s%ld.%02ld", cents < 0 ? "-" : "", a / 100, a % 100);
}

/* 'YYYY-MM-DD' of 2026-05-01 plus off days (off < 150). */
static void
day_literal(char *out, int off)
{
    static const int mdays[] = {31, 30, 31, 31, 30};
    int m = 0;
    while (off >= mdays[m]) {
        off -= mdays[m];
        m++;
    }
    snprintf(out, VLEN, "'2026-%02d-%02d'", 5 + m, off + 1);
}

static int
order_user(int i)
{
    if (i % 17 == 0)
        return 100000 + i;
    if (i % 23 == 0)
        return -(i + 1);
    return 1 + (i * 7) % 61;
}

static const char *const variant_word[] = {"", "replaced", "upserted"};

/* Values (SQL literals) of row i of table t in column-list order;
 * variant 1 and 2 change the non-key columns (REPLACE, upsert). */
static int
row_values(int t, int i, int variant, char v[][VLEN])
{
    static const char *const status[] = {"new", "paid", "shipped", "done",
                                         "cancelled"};
    static const char *const kinds[] = {"click", "view", "buy", "share"};
    static const char *const mail_pre[] = {"user", "zoë.müller", "李雷",
                                           "joão.", "😀"};
    static const char *const mail_post[] = {"@example.com", "@exämple.de",
                                            "@例子.中国", "@exemplo.pt",
                                            "@emoji.io"};
    static const char *const big_ids[] = {
        "9007199254740993", "-9007199254740993", "2147483648", "-2147483649"};
    const char *suffix = variant == 1 ? "-r" : variant == 2 ? "-u" : "";
    switch (t) {
    case T_ORDERS:
        snprintf(v[0], VLEN, "%d", i + 1);
        snprintf(v[1], VLEN, "%d", order_user(i));
        money(v[2], (i * 7919L) % 25000 + variant * 100000L);
        snprintf(v[3], VLEN, "'%s'",
                 variant ? variant_word[variant] : status[(i * 3) % 5]);
        if (i % 4 == 0)
            snprintf(v[4], VLEN, "NULL");
        else
            snprintf(v[4], VLEN, "'note-%03d'", (i * 11) % 200);
        snprintf(v[5], VLEN, "'2026-%02d-%02d'", 1 + i % 12, 1 + i % 28);
        return 6;
    case T_ITEMS: {
        int j = (i * 3) % NROWS;
        snprintf(v[0], VLEN, "%d", i + 1);
        snprintf(v[1], VLEN, "%d", order_user(j));
        snprintf(v[2], VLEN, "%d", j + 1);
        snprintf(v[3], VLEN, "'sku-%02d'", (i * 7) % 40);
        snprintf(v[4], VLEN, "%d", 1 + (i * 5) % 9 + variant * 10);
        money(v[5], (i * 313L) % 5000 + 50 + variant * 1000L);
        return 6;
    }
    case T_ACCOUNTS:
        if (i < NROWS - 4)
            snprintf(v[0], VLEN, "%d", i - 98);
        else
            snprintf(v[0], VLEN, "%s", big_ids[i - (NROWS - 4)]);
        snprintf(v[1], VLEN, "'acct-%03d%s'", (i * 29) % 200, suffix);
        money(v[2], (i * 4567L) % 200000 - 100000 + variant * 5000L);
        if (i % 9 == 0)
            snprintf(v[3], VLEN, "NULL");
        else
            snprintf(v[3], VLEN, "'%s'", country_code[i % 10]);
        return 4;
    case T_EVENTS:
        if (i < NROWS - 2)
            snprintf(v[0], VLEN, "%d", 900 + i);
        else
            snprintf(v[0], VLEN, "%d", i == NROWS - 2 ? -1 : 5000);
        snprintf(v[1], VLEN, "'%s'",
                 variant ? variant_word[variant] : kinds[(i * 3) % 4]);
        snprintf(v[2], VLEN, "%d", (i * 37) % 101 + variant * 200);
        return 3;
    case T_CUSTOMERS:
        snprintf(v[0], VLEN, "'%s%03d%s'", mail_pre[i % 5], i,
                 mail_post[i % 5]);
        snprintf(v[1], VLEN, "'cust-%03d%s'", (i * 13) % 200, suffix);
        snprintf(v[2], VLEN, "'%s'", country_code[i % 7]);
        snprintf(v[3], VLEN, "%d", (i * 37) % 1000 + variant * 1000);
        return 4;
    case T_VISITS:
        snprintf(v[0], VLEN, "%d", i + 1);
        day_literal(v[1], (i * 7) % 120);
        if (variant)
            snprintf(v[2], VLEN, "'/%s'", variant_word[variant]);
        else
            snprintf(v[2], VLEN, "'/p/%d'", i % 13);
        snprintf(v[3], VLEN, "%d", (i * 97) % 3000 + variant * 5000);
        return 4;
    default:
        snprintf(v[0], VLEN, "'%s'", country_code[i]);
        snprintf(v[1], VLEN, "'%s'", country_name[i]);
        return 2;
    }
}

/* "(v1, v2, ...)" of row i; reversed: last column first. */
static void
add_row(struct buf *b, int t, int i, int variant, bool reversed)
{
    char v[MAXCOLS][VLEN];
    int n = row_values(t, i, variant, v);
    buf_str(b, "(");
    for (int c = 0; c < n; c++) {
        if (c > 0)
            buf_str(b, ", ");
        buf_str(b, v[reversed ? n - 1 - c : c]);
    }
    buf_str(b, ")");
}

static void
add_cols(struct buf *b, const char *cols, bool reversed)
{
    if (!reversed) {
        buf_str(b, cols);
        return;
    }
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", cols);
    char *names[MAXCOLS];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(tmp, ", ", &save);
         tok != NULL && n < MAXCOLS; tok = strtok_r(NULL, ", ", &save))
        names[n++] = tok;
    for (int c = n - 1; c >= 0; c--)
        buf_fmt(b, "%s%s", c < n - 1 ? ", " : "", names[c]);
}

/* "VERB INTO t (cols) VALUES rows [from, to) of variant". */
static char *
insert_sql(const char *verb, int t, int from, int to, int variant,
           bool reversed)
{
    struct buf b = {0};
    buf_fmt(&b, "%s INTO %s (", verb, tables[t].name);
    add_cols(&b, tables[t].cols, reversed);
    buf_str(&b, ") VALUES ");
    for (int i = from; i < to; i++) {
        if (i > from)
            buf_str(&b, ", ");
        add_row(&b, t, i, variant, reversed);
    }
    return b.p;
}

/* ------------------------------------------------------------ placement */

/* SQL the shard computation starts from: the hash slot or the key. */
static char *
placement_expr(const struct table *t)
{
    if (t->rule == HASH_EVEN || t->rule == HASH_MAP)
        return xprintf("CRC32(%s) %% 1024", t->key);
    return xprintf("%s", t->key);
}

/* The shard (0 or 1) PRODUCT.md's formula gives for the placement value. */
static int
expected_shard(const struct table *t, const char *p)
{
    if (p == NULL)
        return -1;
    long long k = strtoll(p, NULL, 10);
    switch (t->rule) {
    case HASH_EVEN: /* 1024 slots over 2 shards: floor(slot * 2 / 1024) */
        return (int)(k * NSHARDS / 1024);
    case HASH_MAP: /* s0: "0-255,768-1023", s1: "256-767" */
        return (k >= 256 && k <= 767) ? 1 : 0;
    case MOD:
        return (int)(((k % NSHARDS) + NSHARDS) % NSHARDS);
    case RANGE_INT: /* s0 to 1000 (exclusive), s1 from 1000 */
        return k < 1000 ? 0 : 1;
    case RANGE_STR: /* bytewise: s0 below '2026-07-01', s1 from it */
        return strcmp(p, "2026-07-01") < 0 ? 0 : 1;
    default:
        return -1;
    }
}

/* Whether the table exists in schema shop on shard s (-1: cannot tell). */
static int
table_exists(int s, const char *name)
{
    return (int)it_int(direct[s], -1,
                       "SELECT COUNT(*) FROM information_schema.TABLES "
                       "WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = '%s'",
                       name);
}

/* Puts the reference's rows of table ti (e, its first ncols columns) on
 * the shards directly: each row on the shard its rule names, or every row
 * on every shard for the global table. After a failed placement check this
 * lets the later checks test their own feature (routed reads, merges) on
 * correctly placed rows. */
static void
place_directly(int ti, const struct rs *e, int ncols)
{
    const struct table *t = &tables[ti];
    if (!it_expect_proxy()) {
        it_diag("  a plain server under test: rows stay where it put them");
        return;
    }
    it_diag("  placing the reference's rows of %s on the shards directly, "
            "for the later checks",
            t->name);
    for (int s = 0; s < NSHARDS; s++) {
        struct buf b = {0};
        int n = 0;
        char **rows = xmalloc(sizeof(char *) * (size_t)e->nrows);
        buf_fmt(&b, "INSERT INTO %s VALUES ", t->name);
        for (int i = 0; i < e->nrows; i++) {
            if (t->rule != GLOBAL &&
                expected_shard(t, e->cell[i][e->ncols - 1]) != s)
                continue;
            rows[n] = row_text(e->cell[i], ncols);
            buf_fmt(&b, "%s%s", n > 0 ? ", " : "", rows[n]);
            n++;
        }
        char *del = xprintf("DELETE FROM %s", t->name);
        dexec(direct[s], del);
        if (n > 0)
            dexec(direct[s], b.p);
        /* the shard now holds exactly those rows */
        char *q = xprintf("SELECT * FROM %s", t->name);
        struct rs got;
        if (rs_run(direct[s], q, &got)) {
            struct rs want = {0};
            want.ncols = got.ncols;
            want.names = got.names;
            want.nrows = n;
            want.text = rows;
            if (!same_rows(q, &want, &got, false, true))
                it_diag("  placing the rows on %s failed (a test bug)",
                        shard_name[s]);
        }
        rs_free(&got);
        for (int i = 0; i < n; i++)
            free(rows[i]);
        free(rows);
        free(q);
        free(del);
        free(b.p);
    }
}

/* Every row of table t on each shard primary is on the shard its rule
 * names; the shards together hold exactly the reference's rows. On a
 * failure the rows are then placed directly (see place_directly). */
static void
check_placement(int ti, const char *when, bool first)
{
    const struct table *t = &tables[ti];
    char *pexpr = placement_expr(t);
    char *sql = xprintf("SELECT *, %s FROM %s", pexpr, t->name);
    struct rs sh[NSHARDS], e;
    bool ok = rs_run(ref, sql, &e);
    if (!ok)
        it_diag("reference: %u %s; %s", e.err, e.msg, sql);
    for (int s = 0; s < NSHARDS; s++) {
        if (!rs_run(direct[s], sql, &sh[s])) {
            it_diag("%s primary: %u %s; %s", shard_name[s], sh[s].err,
                    sh[s].msg, sql);
            ok = false;
        }
    }
    if (!ok) {
        check(false, "%s %s: placement on s0 and s1 (direct)", t->name, when);
        check(false, "%s %s: rows per shard as the rule says", t->name, when);
        check(false, "%s %s: no row missing, duplicated or altered", t->name,
              when);
        if (e.ok)
            place_directly(ti, &e, e.ncols - 1);
        goto out;
    }
    int pcol = e.ncols - 1;
    int want[NSHARDS] = {0, 0};
    for (int i = 0; i < e.nrows; i++) {
        int s = expected_shard(t, e.cell[i][pcol]);
        if (s >= 0)
            want[s]++;
    }
    if (first)
        check(want[0] >= 10 && want[1] >= 10,
              "test data: the rule of %s puts rows on both shards (s0 %d, "
              "s1 %d of %d)",
              t->name, want[0], want[1], e.nrows);
    int misplaced = 0;
    for (int s = 0; s < NSHARDS; s++)
        for (int i = 0; i < sh[s].nrows; i++)
            misplaced += expected_shard(t, sh[s].cell[i][pcol]) != s;
    bool all_ok = check(misplaced == 0,
                        "%s %s: every row sits on the shard its rule names "
                        "(%d misplaced of %d)",
                        t->name, when, misplaced, sh[0].nrows + sh[1].nrows);
    int shown = 0;
    for (int s = 0; s < NSHARDS && misplaced > 0; s++) {
        for (int i = 0; i < sh[s].nrows && shown < 3; i++) {
            const char *pv = sh[s].cell[i][pcol];
            int x = expected_shard(t, pv);
            if (x == s)
                continue;
            shown++;
            it_diag("  on %s, but %s = %s names %s: %s", shard_name[s], pexpr,
                    pv ? pv : "NULL", x >= 0 ? shard_name[x] : "no shard",
                    sh[s].text[i]);
        }
    }
    if (!check(sh[0].nrows == want[0] && sh[1].nrows == want[1],
               "%s %s: rows per shard as the rule says (s0 %d, s1 %d)", t->name,
               when, want[0], want[1])) {
        it_diag("  s0 holds %d rows, s1 %d", sh[0].nrows, sh[1].nrows);
        all_ok = false;
    }

    /* the union of both shards against the reference, as multisets */
    struct rs u = {0};
    u.ncols = e.ncols;
    u.names = xstrdup(e.names);
    u.nrows = sh[0].nrows + sh[1].nrows;
    u.text = xmalloc(sizeof(char *) * (size_t)u.nrows);
    for (int i = 0; i < sh[0].nrows; i++)
        u.text[i] = sh[0].text[i];
    for (int i = 0; i < sh[1].nrows; i++)
        u.text[sh[0].nrows + i] = sh[1].text[i];
    if (!check(same_rows(sql, &e, &u, false, false),
               "%s %s: s0 and s1 together hold exactly the reference's %d "
               "rows (none missing, duplicated or altered)",
               t->name, when, e.nrows)) {
        same_rows(sql, &e, &u, false, true);
        all_ok = false;
    }
    free(u.text);
    free(u.names);
    if (!all_ok)
        place_directly(ti, &e, e.ncols - 1);
out:
    rs_free(&e);
    for (int s = 0; s < NSHARDS; s++)
        rs_free(&sh[s]);
    free(sql);
    free(pexpr);
}

/* The global table holds the reference's rows on every shard (placed
 * directly when not, for the later checks). */
static void
check_global(const char *when)
{
    const char *sql = "SELECT * FROM countries";
    struct rs e, g;
    bool eok = rs_run(ref, sql, &e), all_ok = true;
    for (int s = 0; s < NSHARDS; s++) {
        bool gok = rs_run(direct[s], sql, &g);
        if (!eok || !gok) {
            all_ok = false;
            check(false, "countries %s: %s holds every row (direct)", when,
                  shard_name[s]);
            if (!eok)
                it_diag("  reference: %u %s", e.err, e.msg);
            if (!gok)
                it_diag("  %s: %u %s", shard_name[s], g.err, g.msg);
        } else if (!check(same_rows(sql, &e, &g, false, false),
                          "countries %s: %s holds every row (%d, direct)", when,
                          shard_name[s], e.nrows)) {
            same_rows(sql, &e, &g, false, true);
            all_ok = false;
        }
        rs_free(&g);
    }
    if (!all_ok && eok)
        place_directly(T_COUNTRIES, &e, e.ncols);
    rs_free(&e);
}

/* MariaDB's CRC32() is the IEEE CRC-32 of the key text this program
 * assumes: the expected placement does not rest on one implementation. */
static void
check_crc(int ti)
{
    const struct table *t = &tables[ti];
    struct rs r;
    char *sql =
        xprintf("SELECT %s, CRC32(%s) FROM %s", t->key, t->key, t->name);
    int bad = 0;
    if (!rs_run(ref, sql, &r)) {
        it_diag("reference: %u %s", r.err, r.msg);
        bad = -1;
    }
    for (int i = 0; bad >= 0 && i < r.nrows; i++) {
        const char *k = r.cell[i][0];
        uint32_t c = crc32_ieee((const unsigned char *)k, strlen(k));
        if (strtoul(r.cell[i][1], NULL, 10) != c && bad++ < 3)
            it_diag("  CRC32('%s'): MariaDB %s, IEEE %u", k, r.cell[i][1],
                    (unsigned)c);
    }
    check(bad == 0 && r.nrows == NROWS,
          "test data: MariaDB's CRC32(%s) is the IEEE CRC-32 of the key text "
          "for all %d keys of %s",
          t->key, r.nrows, t->name);
    rs_free(&r);
    free(sql);
}

/* Row count and CHECKSUM TABLE of every test table on both shards. */
static char *
fingerprint(void)
{
    struct buf b = {0};
    for (int s = 0; s < NSHARDS; s++) {
        for (int ti = 0; ti < NTABLES; ti++) {
            struct rs c, k;
            char *q1 = xprintf("SELECT COUNT(*) FROM %s", tables[ti].name);
            char *q2 = xprintf("CHECKSUM TABLE %s", tables[ti].name);
            bool ok1 = rs_run(direct[s], q1, &c);
            bool ok2 = rs_run(direct[s], q2, &k);
            buf_fmt(&b, "%s.%s: %s rows, checksum %s; ", shard_name[s],
                    tables[ti].name,
                    ok1 && c.nrows > 0 && c.cell[0][0] ? c.cell[0][0] : "?",
                    ok2 && k.nrows > 0 && k.ncols > 1 && k.cell[0][1]
                        ? k.cell[0][1]
                        : "?");
            rs_free(&c);
            rs_free(&k);
            free(q1);
            free(q2);
        }
    }
    return b.p;
}

/* ------------------------------------------------------------ sections */

static void
drop_everything(bool via_proxy)
{
    for (int ti = NTABLES - 1; ti >= 0; ti--) {
        char *sql = xprintf("DROP TABLE IF EXISTS %s", tables[ti].name);
        struct rs r;
        if (via_proxy) {
            px_run(sql, &r);
            rs_free(&r);
        }
        for (int s = 0; s < NSHARDS; s++) {
            if (table_exists(s, tables[ti].name) > 0) {
                it_diag("dropping leftover shop.%s on %s directly",
                        tables[ti].name, shard_name[s]);
                dexec(direct[s], sql);
            }
        }
        free(sql);
    }
}

/* Creates table ti directly on each shard that lacks it, so that the
 * checks after a failed DDL fan-out still test their own feature. */
static void
ensure_table(int ti, const char *why)
{
    const struct table *t = &tables[ti];
    for (int s = 0; s < NSHARDS; s++) {
        if (table_exists(s, t->name) != 0)
            continue;
        it_diag("  creating shop.%s on %s directly for %s", t->name,
                shard_name[s], why);
        char *sql = xprintf("CREATE TABLE %s (%s) ENGINE=InnoDB DEFAULT "
                            "CHARSET=utf8mb4",
                            t->name, t->defs);
        dexec(direct[s], sql);
        free(sql);
    }
}

static void
setup_tables(void)
{
    int left = 0;
    for (int ti = 0; ti < NTABLES; ti++)
        for (int s = 0; s < NSHARDS; s++)
            left += table_exists(s, tables[ti].name) != 0;
    check_int(left, 0,
              "before CREATE: no test table exists on s0 or s1 (direct)");
    for (int ti = 0; ti < NTABLES; ti++) {
        const struct table *t = &tables[ti];
        char *sql = xprintf("CREATE TABLE %s (%s) ENGINE=InnoDB DEFAULT "
                            "CHARSET=utf8mb4",
                            t->name, t->defs);
        struct rs r;
        bool ok = px_run(sql, &r);
        if (!ok)
            it_diag("  myshard: %u %s", r.err, r.msg);
        rs_free(&r);
        int on[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            on[s] = table_exists(s, t->name);
        if (!check(ok && on[0] == 1 && on[1] == 1,
                   "CREATE TABLE %s through myshard reaches s0 and s1 "
                   "(direct)",
                   t->name))
            it_diag("  exists on s0: %d, on s1: %d", on[0], on[1]);
        ensure_table(ti, "the later checks");
        if (!dexec(ref, sql))
            check(false, "reference table %s created", t->name);
        free(sql);
    }
}

/* Writes every row of table t through the proxy and into the reference
 * with a mix of statement shapes; affected rows must agree. */
static void
write_rows(int t)
{
    const char *name = tables[t].name;
    struct {
        const char *what;
        int n;
        char *sql[16];
    } groups[6];
    memset(groups, 0, sizeof(groups));
    groups[0].what = "single-row INSERTs";
    for (int i = 0; i < 10; i++)
        groups[0].sql[groups[0].n++] =
            insert_sql("INSERT", t, i, i + 1, 0, false);
    groups[1].what = "multi-row INSERT, column list in reverse order";
    groups[1].sql[groups[1].n++] = insert_sql("INSERT", t, 10, 26, 0, true);
    groups[2].what = "multi-row INSERTs of 16 rows mixing shards";
    for (int i = 26; i < 170; i += 16)
        groups[2].sql[groups[2].n++] =
            insert_sql("INSERT", t, i, i + 16 < 170 ? i + 16 : 170, 0, false);
    groups[3].what = "multi-row REPLACE of new rows";
    groups[3].sql[groups[3].n++] = insert_sql("REPLACE", t, 170, 180, 0, false);
    groups[4].what = "multi-row REPLACE of existing rows";
    groups[4].sql[groups[4].n++] = insert_sql("REPLACE", t, 0, 5, 1, false);
    groups[5].what = "multi-row INSERT ... ON DUPLICATE KEY UPDATE (new and "
                     "existing rows)";
    {
        struct buf b = {0};
        char *head = insert_sql("INSERT", t, 180, NROWS, 0, false);
        buf_str(&b, head);
        free(head);
        for (int i = 5; i < 10; i++) {
            buf_str(&b, ", ");
            add_row(&b, t, i, 2, false);
        }
        buf_fmt(&b, " ON DUPLICATE KEY UPDATE %s", tables[t].odku);
        groups[5].sql[groups[5].n++] = b.p;
    }
    for (int g = 0; g < 6; g++) {
        int bad = 0;
        for (int k = 0; k < groups[g].n; k++) {
            if (!cmp_write_quiet(groups[g].sql[k], true))
                bad++;
            free(groups[g].sql[k]);
        }
        check(bad == 0,
              "%s: %d %s through myshard, affected rows as MariaDB reports",
              name, groups[g].n, groups[g].what);
    }
}

static void
write_countries(void)
{
    char *sql = insert_sql("INSERT", T_COUNTRIES, 0, NCOUNTRIES, 0, false);
    struct rs e, g;
    bool eok = rs_run(ref, sql, &e);
    bool gok = px_run(sql, &g);
    if (!eok)
        it_diag("reference: %u %s", e.err, e.msg);
    if (!check(gok, "multi-row INSERT into the global table countries "
                    "through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&e);
    rs_free(&g);
    free(sql);
}

/* First key of the table (from the reference) whose rule names shard s;
 * with_filter narrows the candidates. Malloc'd text of the key. */
static char *
pick_key(int ti, int s, const char *filter)
{
    const struct table *t = &tables[ti];
    char *pexpr = placement_expr(t);
    char *sql = xprintf("SELECT %s, %s FROM %s %s ORDER BY 1", t->key, pexpr,
                        t->name, filter ? filter : "");
    struct rs r;
    char *key = NULL;
    if (rs_run(ref, sql, &r)) {
        for (int i = 0; i < r.nrows && key == NULL; i++)
            if (expected_shard(t, r.cell[i][1]) == s)
                key = xstrdup(r.cell[i][0]);
    } else {
        it_diag("reference: %u %s; %s", r.err, r.msg, sql);
    }
    if (key == NULL) {
        it_diag("no %s key on %s: %s", t->name, shard_name[s], sql);
        key = xstrdup("0");
    }
    rs_free(&r);
    free(sql);
    free(pexpr);
    return key;
}

struct keys {
    char *u[4]; /* orders users with >= 2 orders: s0, s1, s0, s1 */
    char *e[3]; /* non-ASCII emails: s0, s1, s1 */
};

static void
pick_keys(struct keys *k)
{
    const char *many = "WHERE user_id IN (SELECT user_id FROM orders "
                       "GROUP BY user_id HAVING COUNT(*) >= 2)";
    k->u[0] = pick_key(T_ORDERS, 0, many);
    k->u[1] = pick_key(T_ORDERS, 1, many);
    char *f0 = xprintf("%s AND user_id > %s", many, k->u[0]);
    char *f1 = xprintf("%s AND user_id > %s", many, k->u[1]);
    k->u[2] = pick_key(T_ORDERS, 0, f0);
    k->u[3] = pick_key(T_ORDERS, 1, f1);
    free(f0);
    free(f1);
    /* non-ASCII keys that survive the scatter DELETE (points < 50) */
    k->e[0] =
        pick_key(T_CUSTOMERS, 0, "WHERE email LIKE '李雷%' AND points >= 50");
    k->e[1] =
        pick_key(T_CUSTOMERS, 1, "WHERE email LIKE '😀%' AND points >= 50");
    k->e[2] =
        pick_key(T_CUSTOMERS, 1, "WHERE email LIKE 'zoë%' AND points >= 50");
    it_diag("keys: users %s, %s (s0) and %s, %s (s1); emails '%s' (s0), "
            "'%s', '%s' (s1)",
            k->u[0], k->u[2], k->u[1], k->u[3], k->e[0], k->e[1], k->e[2]);
}

static void
free_keys(struct keys *k)
{
    for (int i = 0; i < 4; i++)
        free(k->u[i]);
    for (int i = 0; i < 3; i++)
        free(k->e[i]);
}

static void cmp_queryf(const char *fmt, ...) IT_PRINTF(1, 2);

static void
cmp_queryf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        exit(1);
    cmp_query(s);
    free(s);
}

static void cmp_writef(const char *fmt, ...) IT_PRINTF(1, 2);

static void
cmp_writef(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        exit(1);
    cmp_write(s);
    free(s);
}

static void
test_reads(const struct keys *k)
{
    it_diag("point reads by key");
    cmp_queryf("SELECT * FROM orders WHERE user_id = %s", k->u[0]);
    cmp_queryf("SELECT * FROM orders WHERE user_id = %s", k->u[1]);
    cmp_query("SELECT * FROM orders WHERE user_id = -24");
    cmp_query("SELECT * FROM orders WHERE user_id = 999999");
    cmp_queryf("SELECT id, sku, qty, price FROM order_items WHERE user_id = "
               "%s",
               k->u[1]);
    cmp_query("SELECT id, name, balance FROM accounts WHERE id = -3");
    cmp_query("SELECT id, name, balance FROM accounts WHERE id = 8");
    cmp_query("SELECT * FROM accounts WHERE id = 9007199254740993");
    cmp_query("SELECT * FROM accounts WHERE id = -2147483649");
    cmp_query("SELECT * FROM events WHERE id = 999");
    cmp_query("SELECT * FROM events WHERE id = 1000");
    cmp_query("SELECT * FROM events WHERE id = -1");
    cmp_queryf("SELECT * FROM customers WHERE email = '%s'", k->e[0]);
    cmp_queryf("SELECT * FROM customers WHERE email = '%s'", k->e[1]);
    cmp_query("SELECT * FROM visits WHERE day = '2026-06-30'");
    cmp_query("SELECT * FROM visits WHERE day = '2026-07-01'");

    it_diag("IN lists, BETWEEN, OR, AND");
    cmp_queryf("SELECT id, user_id, amount FROM orders WHERE user_id IN "
               "(%s, %s, %s, %s, -47, 999999)",
               k->u[0], k->u[1], k->u[2], k->u[3]);
    cmp_queryf("SELECT * FROM customers WHERE email IN ('%s', '%s', '%s', "
               "'user005@example.com', 'nobody@example.com')",
               k->e[0], k->e[1], k->e[2]);
    cmp_query("SELECT * FROM accounts WHERE id IN (-3, -2, 5, 8, 2147483648)");
    cmp_query("SELECT * FROM events WHERE id IN (998, 999, 1000, 1001)");
    cmp_query("SELECT * FROM events WHERE id BETWEEN 990 AND 1010 ORDER BY "
              "id");
    cmp_query("SELECT id, score FROM events WHERE id BETWEEN 995 AND 999");
    cmp_query("SELECT id, score FROM events WHERE id BETWEEN 1000 AND 1004");
    cmp_query("SELECT * FROM visits WHERE day BETWEEN '2026-06-28' AND "
              "'2026-07-03' ORDER BY day, id");
    cmp_queryf("SELECT id, user_id FROM orders WHERE user_id = %s OR "
               "user_id = %s",
               k->u[0], k->u[1]);
    cmp_query("SELECT * FROM accounts WHERE id = 3 OR id = -4");
    cmp_queryf("SELECT id, amount FROM orders WHERE user_id = %s AND "
               "amount > 50",
               k->u[1]);
    cmp_query("SELECT * FROM events WHERE id >= 995 AND id < 1005 AND "
              "score > 10");

    it_diag("scatter reads");
    cmp_query("SELECT * FROM orders");
    cmp_query("SELECT * FROM order_items");
    cmp_query("SELECT * FROM accounts");
    cmp_query("SELECT * FROM events");
    cmp_query("SELECT * FROM customers");
    cmp_query("SELECT * FROM visits");
    cmp_query("SELECT id, status FROM orders WHERE status = 'paid'");
    cmp_query("SELECT email, points FROM customers WHERE points > 500");

    it_diag("aggregates");
    cmp_query("SELECT COUNT(*) FROM orders");
    cmp_query("SELECT COUNT(*), COUNT(note), SUM(amount), MIN(amount), "
              "MAX(amount), AVG(amount) FROM orders");
    cmp_query("SELECT SUM(qty), AVG(qty), MIN(price), MAX(price), "
              "AVG(price) FROM order_items");
    cmp_query("SELECT COUNT(*), COUNT(country), SUM(balance), AVG(balance), "
              "MIN(id), MAX(id) FROM accounts");
    cmp_query("SELECT AVG(score), SUM(score), COUNT(score), MIN(score), "
              "MAX(score) FROM events");
    cmp_query("SELECT MIN(day), MAX(day), COUNT(*) FROM visits");
    cmp_query("SELECT MIN(name), MAX(name), SUM(points) FROM customers");
    cmp_query("SELECT COUNT(*) AS n, SUM(amount) AS total FROM orders WHERE "
              "status = 'paid'");
    cmp_query("SELECT COUNT(*), COUNT(note), SUM(amount), MIN(amount), "
              "MAX(amount), AVG(amount) FROM orders WHERE amount < 0");
    cmp_query("SELECT COUNT(*), SUM(balance) FROM accounts WHERE id = "
              "123456789");

    it_diag("ORDER BY, LIMIT, OFFSET");
    cmp_query("SELECT id, user_id, amount FROM orders ORDER BY amount DESC, "
              "id LIMIT 10");
    cmp_query("SELECT id, amount FROM orders ORDER BY amount, id LIMIT 10 "
              "OFFSET 20");
    cmp_query("SELECT id, name AS n FROM accounts ORDER BY n DESC LIMIT 7");
    cmp_query("SELECT name, id FROM accounts ORDER BY 2 LIMIT 5 OFFSET 3");
    cmp_query("SELECT id, note FROM orders ORDER BY note, id LIMIT 15");
    cmp_query("SELECT id, note FROM orders ORDER BY note DESC, id DESC LIMIT "
              "15 OFFSET 140");
    cmp_query("SELECT id, balance FROM accounts ORDER BY balance, id");
    cmp_query("SELECT id, balance FROM accounts ORDER BY balance DESC, id "
              "LIMIT 12");
    cmp_query("SELECT * FROM events ORDER BY id DESC LIMIT 5");
    cmp_query("SELECT id FROM events ORDER BY id LIMIT 1000");
    cmp_query("SELECT day, id, page FROM visits ORDER BY day DESC, id LIMIT "
              "12");
    cmp_query("SELECT email, points FROM customers ORDER BY points DESC "
              "LIMIT 10");
    cmp_query("SELECT name, country FROM customers ORDER BY name LIMIT 10 "
              "OFFSET 5");
    cmp_query("SELECT id, price, qty FROM order_items ORDER BY price DESC, "
              "id LIMIT 20");

    it_diag("GROUP BY, DISTINCT");
    cmp_query("SELECT status, COUNT(*), SUM(amount), MIN(amount), "
              "MAX(amount), AVG(amount) FROM orders GROUP BY status");
    cmp_query("SELECT status, SUM(amount) AS total FROM orders GROUP BY "
              "status ORDER BY total DESC, status LIMIT 3");
    cmp_query("SELECT user_id, COUNT(*) AS n FROM orders GROUP BY user_id "
              "ORDER BY n DESC, user_id LIMIT 5");
    cmp_query("SELECT country, COUNT(*), AVG(balance) FROM accounts GROUP BY "
              "country ORDER BY country");
    cmp_query("SELECT kind, MAX(score), MIN(score) FROM events GROUP BY kind "
              "ORDER BY 2 DESC, 1");
    cmp_query("SELECT sku, SUM(qty), AVG(price) FROM order_items GROUP BY "
              "sku");
    cmp_query("SELECT DISTINCT status FROM orders");
    cmp_query("SELECT DISTINCT country FROM customers ORDER BY country");
    cmp_query("SELECT DISTINCT created FROM orders ORDER BY created DESC");
    cmp_query("SELECT DISTINCT user_id FROM orders WHERE amount > 150");
    cmp_query("SELECT DISTINCT user_id FROM order_items ORDER BY user_id "
              "LIMIT 10");

    it_diag("joins: co-located on the key, and with the global table");
    cmp_queryf("SELECT o.id, o.amount, i.sku, i.qty FROM orders o JOIN "
               "order_items i ON i.user_id = o.user_id AND i.order_id = o.id "
               "WHERE o.user_id = %s ORDER BY o.id, i.id",
               k->u[0]);
    cmp_queryf("SELECT o.id, o.amount, i.sku, i.qty FROM orders o JOIN "
               "order_items i ON i.user_id = o.user_id AND i.order_id = o.id "
               "WHERE o.user_id = %s ORDER BY o.id, i.id",
               k->u[1]);
    cmp_query("SELECT a.id, a.name, c.name AS country FROM accounts a JOIN "
              "countries c ON c.code = a.country WHERE a.id = 7");
    cmp_query("SELECT a.id, a.name, c.name AS country FROM accounts a JOIN "
              "countries c ON c.code = a.country WHERE a.id = 8");
    cmp_queryf("SELECT cu.email, co.name FROM customers cu JOIN countries co "
               "ON co.code = cu.country WHERE cu.email = '%s'",
               k->e[1]);
    cmp_query("SELECT * FROM countries ORDER BY code");
}

static void
test_scatter_writes(const struct keys *k)
{
    it_diag("scatter and keyed UPDATE / DELETE");
    cmp_write("UPDATE orders SET status = 'archived' WHERE amount < 30");
    cmp_write("UPDATE orders SET status = 'none' WHERE amount < 0");
    cmp_write("DELETE FROM events WHERE score > 90");
    cmp_write("UPDATE accounts SET balance = balance * 2 WHERE country IN "
              "('DE', 'FR')");
    cmp_write("DELETE FROM customers WHERE points < 50");
    cmp_write("UPDATE order_items SET qty = qty + 1");
    cmp_writef("UPDATE orders SET note = 'by key' WHERE user_id = %s", k->u[1]);
    cmp_write("UPDATE accounts SET balance = balance + 1.50 WHERE id = 7");
    cmp_write("DELETE FROM visits WHERE day = '2026-07-01'");
    cmp_write("DELETE FROM events WHERE id BETWEEN 995 AND 1004");
    sync_replicas();
    for (int ti = 0; ti < T_COUNTRIES; ti++) {
        check_placement(ti, "after UPDATE/DELETE", false);
        cmp_queryf("SELECT * FROM %s", tables[ti].name);
    }
    cmp_query("SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY "
              "status");
}

/* A statement myshard must refuse with code, a "myshard:" message (that
 * names each of the words given), and nothing written on either shard.
 * also_ok: a result equal to the reference's is accepted too. */
/* Prints the entries of two fingerprints that differ. */
static void
diag_changes(const char *before, const char *after)
{
    char *b = xstrdup(before), *a = xstrdup(after);
    char *sb = NULL, *sa = NULL;
    char *x = strtok_r(b, ";", &sb), *y = strtok_r(a, ";", &sa);
    while (x != NULL && y != NULL) {
        if (strcmp(x, y) != 0)
            it_diag("  before:%s\n#   after: %s", x, y + (*y == ' '));
        x = strtok_r(NULL, ";", &sb);
        y = strtok_r(NULL, ";", &sa);
    }
    free(b);
    free(a);
}

static void
check_refusal(const char *what, const char *sql, unsigned code, bool also_ok,
              const char *word1, const char *word2)
{
    char *before = fingerprint();
    struct rs g;
    px_run(sql, &g);
    bool refused = !g.ok && g.err == code &&
                   strncmp(g.msg, "myshard:", 8) == 0 &&
                   (word1 == NULL || strstr(g.msg, word1) != NULL) &&
                   (word2 == NULL || strstr(g.msg, word2) != NULL);
    bool answered = false;
    struct rs e = {0};
    if (also_ok && g.ok && g.ncols > 0 && rs_run(ref, sql, &e))
        answered = same_rows(sql, &e, &g, false, false);
    if (!check(refused || answered,
               "%s: refused with %u, message starts with 'myshard:'%s%s%s%s%s",
               what, code, word1 ? " naming " : "", word1 ? word1 : "",
               word2 ? " and " : "", word2 ? word2 : "",
               also_ok ? " (or answered exactly)" : "")) {
        diag_text("statement: ", sql);
        if (g.ok && g.ncols > 0) {
            it_diag("  got a result set of %d rows", g.nrows);
            if (e.ok)
                same_rows(sql, &e, &g, false, true);
        } else if (g.ok)
            it_diag("  got success, %llu affected rows", g.affected);
        else
            it_diag("  got error %u: %s", g.err, g.msg);
    } else if (refused)
        it_diag("  %u %s", g.err, g.msg);
    rs_free(&g);
    rs_free(&e);
    char *after = fingerprint();
    if (!check(strcmp(before, after) == 0,
               "%s: nothing written on s0 or s1 (counts and checksums, "
               "direct)",
               what))
        diag_changes(before, after);
    free(before);
    free(after);
}

static void
test_refusals(const struct keys *k)
{
    it_diag("refused shapes write nothing");
    /* each date is on both shards: neither one shard's count nor the sum
     * of the shards' counts is the answer */
    check_refusal("COUNT(DISTINCT) across shards",
                  "SELECT COUNT(DISTINCT created) FROM orders", 1235, true,
                  NULL, NULL);
    check_refusal("join of orders and accounts (different rules)",
                  "SELECT o.id, a.name FROM orders o JOIN accounts a ON a.id "
                  "= o.user_id",
                  1235, false, "orders", "accounts");
    check_refusal("INSERT without the key column",
                  "INSERT INTO orders (id, amount, status, created) VALUES "
                  "(5001, 1.00, 'x', '2026-01-01')",
                  1105, false, NULL, NULL);
    check_refusal("INSERT with key expression 1+1",
                  "INSERT INTO orders (id, user_id, amount, status, created) "
                  "VALUES (5002, 1+1, 1.00, 'x', '2026-01-01')",
                  1105, false, NULL, NULL);
    check_refusal("INSERT with a function as key",
                  "INSERT INTO accounts (id, name, balance) VALUES "
                  "(FLOOR(RAND() * 1000) + 5000, 'f', 0)",
                  1105, false, NULL, NULL);
    char *sql = xprintf("INSERT INTO orders (id, user_id, amount, status, "
                        "created) VALUES (5003, %s, 1.00, 'x', '2026-01-01'), "
                        "(5004, %s, 1.00, 'x', '2026-01-01'), (5005, "
                        "ABS(-%s), 1.00, 'x', '2026-01-01')",
                        k->u[0], k->u[1], k->u[1]);
    check_refusal("multi-row INSERT with one unevaluable key", sql, 1105, false,
                  NULL, NULL);
    free(sql);
    check_refusal("INSERT into customers without the key column",
                  "INSERT INTO customers (name, country, points) VALUES "
                  "('nokey', 'DE', 1)",
                  1105, false, NULL, NULL);
    check_refusal("UPDATE that changes the key (hash)",
                  "UPDATE orders SET user_id = 77 WHERE id = 3", 1105, false,
                  NULL, NULL);
    sql = xprintf("UPDATE customers SET email = 'moved@example.com' WHERE "
                  "email = '%s'",
                  k->e[0]);
    check_refusal("UPDATE that changes the key (string hash)", sql, 1105, false,
                  NULL, NULL);
    free(sql);
    check_refusal("UPDATE that changes the key (range)",
                  "UPDATE events SET id = 1500 WHERE id = -1", 1105, false,
                  NULL, NULL);
}

static void
test_global(void)
{
    it_diag("global table");
    struct rs g;
    const char *ins = "INSERT INTO countries (code, name) VALUES ('ZZ', "
                      "'Zedland')";
    bool ok = px_run(ins, &g);
    if (!check(ok, "INSERT into the global table through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&g);
    dexec(ref, ins);
    for (int s = 0; s < NSHARDS; s++) {
        char *v = it_value(direct[s], NULL,
                           "SELECT name FROM countries WHERE code = 'ZZ'");
        check_str(v, "Zedland", "the global INSERT reached %s (direct)",
                  shard_name[s]);
        free(v);
    }
    const char *upd = "UPDATE countries SET name = 'Zedland II' WHERE code = "
                      "'ZZ'";
    ok = px_run(upd, &g);
    if (!check(ok, "UPDATE of the global table through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&g);
    dexec(ref, upd);
    for (int s = 0; s < NSHARDS; s++) {
        char *v = it_value(direct[s], NULL,
                           "SELECT name FROM countries WHERE code = 'ZZ'");
        check_str(v, "Zedland II", "the global UPDATE reached %s (direct)",
                  shard_name[s]);
        free(v);
    }
    sync_replicas();
    cmp_query("SELECT code, name FROM countries WHERE code = 'ZZ'");
    check_global("after INSERT/UPDATE");
}

static void
test_ddl(void)
{
    it_diag("DDL");
    const char *alter = "ALTER TABLE accounts ADD COLUMN extra INT NULL "
                        "DEFAULT 7";
    struct rs g;
    bool ok = px_run(alter, &g);
    if (!check(ok, "ALTER TABLE accounts through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&g);
    dexec(ref, alter);
    for (int s = 0; s < NSHARDS; s++)
        check_int(it_int(direct[s], -1,
                         "SELECT COUNT(*) FROM information_schema.COLUMNS "
                         "WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = "
                         "'accounts' AND COLUMN_NAME = 'extra'"),
                  1, "ALTER TABLE reached %s: column extra exists (direct)",
                  shard_name[s]);
    sync_replicas();
    cmp_query("SELECT id, extra FROM accounts WHERE id IN (7, 8)");
}

/* Executes a prepared statement with the bound parameters (or none) and
 * returns its rows as text (all columns fetched as strings). */
static bool
stmt_rows(MYSQL_STMT *st, MYSQL_BIND *params, struct rs *out)
{
    memset(out, 0, sizeof(*out));
    if (params != NULL && mysql_stmt_bind_param(st, params) != 0)
        goto fail;
    if (mysql_stmt_execute(st) != 0)
        goto fail;
    unsigned n = mysql_stmt_field_count(st);
    if (n == 0 || n > MAXCOLS) {
        snprintf(out->msg, sizeof(out->msg), "%u result columns", n);
        return false;
    }
    char vals[MAXCOLS][128];
    unsigned long lens[MAXCOLS];
    my_bool nulls[MAXCOLS], errs[MAXCOLS];
    MYSQL_BIND rb[MAXCOLS];
    memset(rb, 0, sizeof(rb));
    for (unsigned c = 0; c < n; c++) {
        rb[c].buffer_type = MYSQL_TYPE_STRING;
        rb[c].buffer = vals[c];
        rb[c].buffer_length = sizeof(vals[c]);
        rb[c].length = &lens[c];
        rb[c].is_null = &nulls[c];
        rb[c].error = &errs[c];
    }
    if (mysql_stmt_bind_result(st, rb) != 0 || mysql_stmt_store_result(st))
        goto fail;
    out->ncols = (int)n;
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (meta != NULL) {
        MYSQL_FIELD *f = mysql_fetch_fields(meta);
        struct buf names = {0};
        for (unsigned c = 0; c < n; c++)
            buf_fmt(&names, "%s%s", c > 0 ? ", " : "", f[c].name);
        out->names = names.p;
        mysql_free_result(meta);
    }
    int cap = 16;
    out->text = xmalloc(sizeof(char *) * (size_t)cap);
    int rc;
    while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
        char *cells[MAXCOLS];
        for (unsigned c = 0; c < n; c++) {
            if (nulls[c]) {
                cells[c] = NULL;
            } else {
                unsigned long l = lens[c] < sizeof(vals[c]) - 1
                                      ? lens[c]
                                      : sizeof(vals[c]) - 1;
                vals[c][l] = '\0';
                cells[c] = vals[c];
            }
        }
        if (out->nrows == cap) {
            cap *= 2;
            char **p = realloc(out->text, sizeof(char *) * (size_t)cap);
            if (p == NULL)
                exit(1);
            out->text = p;
        }
        out->text[out->nrows++] = row_text(cells, (int)n);
    }
    mysql_stmt_free_result(st);
    out->ok = rc == MYSQL_NO_DATA;
    if (!out->ok)
        snprintf(out->msg, sizeof(out->msg), "fetch: %d %s", rc,
                 mysql_stmt_error(st));
    return out->ok;
fail:
    out->err = mysql_stmt_errno(st);
    snprintf(out->msg, sizeof(out->msg), "%s", mysql_stmt_error(st));
    return false;
}

static void
free_text_rows(struct rs *r)
{
    for (int i = 0; i < r->nrows; i++)
        free(r->text[i]);
    free(r->text);
    free(r->names);
    memset(r, 0, sizeof(*r));
}

static void
test_prepared(const struct keys *k)
{
    it_diag("prepared statements");
    MYSQL *m = proxy();
    if (m == NULL) {
        check(false, "prepared statements: a proxy connection");
        return;
    }
    MYSQL_STMT *st = mysql_stmt_init(m);
    const char *sel = "SELECT id, amount, status FROM orders WHERE user_id = "
                      "? ORDER BY id";
    bool prepared = st != NULL && mysql_stmt_prepare(st, sel, strlen(sel)) == 0;
    if (!check(prepared, "prepare %s", sel) && st != NULL)
        it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    for (int i = 0; i < 2; i++) {
        long long uid = strtoll(k->u[i], NULL, 10);
        struct rs g = {0}, e;
        char *q = xprintf("SELECT id, amount, status FROM orders WHERE "
                          "user_id = %lld ORDER BY id",
                          uid);
        MYSQL_BIND pb;
        memset(&pb, 0, sizeof(pb));
        pb.buffer_type = MYSQL_TYPE_LONGLONG;
        pb.buffer = &uid;
        bool gok = prepared && stmt_rows(st, &pb, &g);
        bool eok = rs_run(ref, q, &e);
        if (!eok)
            it_diag("reference: %u %s", e.err, e.msg);
        bool ok =
            gok && eok && e.nrows > 0 && same_rows(q, &e, &g, true, false);
        if (!check(ok,
                   "prepared SELECT ... WHERE user_id = ? with %lld (rule: "
                   "%s) returns MariaDB's %d rows",
                   uid, shard_name[i], eok ? e.nrows : -1)) {
            if (!gok)
                it_diag("  myshard: %u %s", g.err, g.msg);
            else if (eok)
                same_rows(q, &e, &g, true, true);
        }
        free_text_rows(&g);
        rs_free(&e);
        free(q);
    }
    if (st != NULL)
        mysql_stmt_close(st);

    st = mysql_stmt_init(m);
    const char *sel2 = "SELECT email, name, points FROM customers WHERE "
                       "email = ?";
    prepared = st != NULL && mysql_stmt_prepare(st, sel2, strlen(sel2)) == 0;
    if (!check(prepared, "prepare %s", sel2) && st != NULL)
        it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    for (int i = 0; i < 2; i++) {
        char email[VLEN];
        snprintf(email, sizeof(email), "%s", k->e[i]);
        unsigned long elen = strlen(email);
        MYSQL_BIND pb;
        memset(&pb, 0, sizeof(pb));
        pb.buffer_type = MYSQL_TYPE_STRING;
        pb.buffer = email;
        pb.buffer_length = sizeof(email);
        pb.length = &elen;
        struct rs g = {0}, e;
        char *q = xprintf("SELECT email, name, points FROM customers WHERE "
                          "email = '%s'",
                          email);
        bool gok = prepared && stmt_rows(st, &pb, &g);
        bool eok = rs_run(ref, q, &e);
        if (!eok)
            it_diag("reference: %u %s", e.err, e.msg);
        bool ok =
            gok && eok && e.nrows == 1 && same_rows(q, &e, &g, true, false);
        if (!check(ok,
                   "prepared SELECT ... WHERE email = ? with '%s' (rule: %s) "
                   "returns its row",
                   email, shard_name[i])) {
            if (!gok)
                it_diag("  myshard: %u %s", g.err, g.msg);
            else if (eok)
                same_rows(q, &e, &g, true, true);
        }
        free_text_rows(&g);
        rs_free(&e);
        free(q);
    }
    if (st != NULL)
        mysql_stmt_close(st);

    st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO orders (id, user_id, amount, status, "
                      "created) VALUES (?, ?, ?, 'prepared', '2026-03-03')";
    prepared = st != NULL && mysql_stmt_prepare(st, ins, strlen(ins)) == 0;
    if (!check(prepared, "prepare %s", ins) && st != NULL)
        it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    for (int i = 0; i < 2; i++) {
        long long id = 1001 + i, uid = strtoll(k->u[i], NULL, 10);
        char amount[16] = "12.34";
        unsigned long alen = strlen(amount);
        MYSQL_BIND b[3];
        memset(b, 0, sizeof(b));
        b[0].buffer_type = MYSQL_TYPE_LONGLONG;
        b[0].buffer = &id;
        b[1].buffer_type = MYSQL_TYPE_LONGLONG;
        b[1].buffer = &uid;
        b[2].buffer_type = MYSQL_TYPE_STRING;
        b[2].buffer = amount;
        b[2].buffer_length = sizeof(amount);
        b[2].length = &alen;
        bool ok = prepared && mysql_stmt_bind_param(st, b) == 0 &&
                  mysql_stmt_execute(st) == 0 &&
                  mysql_stmt_affected_rows(st) == 1;
        if (!check(ok, "prepared INSERT with user_id = %lld executes", uid) &&
            st != NULL)
            it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
        char *r = xprintf("INSERT INTO orders (id, user_id, amount, status, "
                          "created) VALUES (%lld, %lld, 12.34, 'prepared', "
                          "'2026-03-03')",
                          id, uid);
        dexec(ref, r);
        free(r);
        long long on[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            on[s] = it_int(direct[s], -1,
                           "SELECT COUNT(*) FROM orders WHERE id = %lld", id);
        if (!check(on[i] == 1 && on[1 - i] == 0,
                   "prepared INSERT with user_id = %lld landed on %s only "
                   "(direct)",
                   uid, shard_name[i]))
            it_diag("  rows with id %lld: s0 %lld, s1 %lld", id, on[0], on[1]);
    }
    if (st != NULL)
        mysql_stmt_close(st);
    sync_replicas();

    /* the witness is what the shards hold (direct), whatever came before */
    const char *cnt[] = {"SELECT COUNT(*) FROM orders",
                         "SELECT COUNT(*) FROM orders WHERE amount >= 100"};
    for (int i = 0; i < 2; i++) {
        long long total = 0;
        for (int s = 0; s < NSHARDS; s++) {
            long long n = it_int(direct[s], -1, "%s", cnt[i]);
            total = n < 0 || total < 0 ? -1 : total + n;
        }
        st = mysql_stmt_init(m);
        struct rs g = {0};
        bool gok = st != NULL &&
                   mysql_stmt_prepare(st, cnt[i], strlen(cnt[i])) == 0 &&
                   stmt_rows(st, NULL, &g);
        if (!gok && st != NULL && g.msg[0] == '\0')
            snprintf(g.msg, sizeof(g.msg), "%u %s", mysql_stmt_errno(st),
                     mysql_stmt_error(st));
        char want[64];
        snprintf(want, sizeof(want), "('%lld')", total);
        bool ok =
            gok && total >= 0 && g.nrows == 1 && strcmp(g.text[0], want) == 0;
        if (!check(ok,
                   "prepared scatter %s returns the total on s0 + s1 (%lld)",
                   cnt[i], total)) {
            if (!gok)
                it_diag("  myshard: %s", g.msg);
            else
                it_diag("  got %d rows: %s", g.nrows,
                        g.nrows > 0 ? g.text[0] : "");
        }
        free_text_rows(&g);
        if (st != NULL)
            mysql_stmt_close(st);
    }
}

static void
test_drop(void)
{
    it_diag("DROP");
    for (int ti = NTABLES - 1; ti >= 0; ti--) {
        ensure_table(ti, "the DROP check");
        char *sql = xprintf("DROP TABLE %s", tables[ti].name);
        struct rs g;
        bool ok = px_run(sql, &g);
        if (!ok)
            it_diag("  myshard: %u %s", g.err, g.msg);
        rs_free(&g);
        int on[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            on[s] = table_exists(s, tables[ti].name);
        if (!check(ok && on[0] == 0 && on[1] == 0,
                   "DROP TABLE %s through myshard removes it from s0 and s1 "
                   "(direct)",
                   tables[ti].name))
            it_diag("  still on s0: %d, on s1: %d", on[0], on[1]);
        free(sql);
    }
}

int
main(void)
{
    /* a hung statement fails its check instead of stalling the program */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "10", 0);
    it_init("itest_sharding");
    if (it_backend_port("S0_PRIMARY_PORT") == 0 ||
        it_backend_port("S1_PRIMARY_PORT") == 0) {
        printf("Bail out! S0_PRIMARY_PORT and S1_PRIMARY_PORT are needed: "
               "the shards are the witnesses\n");
        return 1;
    }
    double t0 = it_now();
    px = it_connect();
    for (int s = 0; s < NSHARDS; s++) {
        direct[s] = it_connect_backend(shard_port_env[s], "shop");
        replica[s] = it_backend_port(replica_port_env[s])
                         ? it_connect_backend(replica_port_env[s], NULL)
                         : NULL;
    }
    MYSQL *r0 = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (!check(px != NULL, "connect to myshard") ||
        !check(direct[0] != NULL && direct[1] != NULL && r0 != NULL,
               "direct connections to the s0 and s1 primaries"))
        return it_done();
    ref = r0;
    if (!check(dexec(ref, "DROP DATABASE IF EXISTS " REF_DB) &&
                   dexec(ref, "CREATE DATABASE " REF_DB
                              " DEFAULT CHARACTER SET utf8mb4") &&
                   mysql_select_db(ref, REF_DB) == 0,
               "reference schema " REF_DB " on the s0 primary"))
        return it_done();

    drop_everything(true);
    setup_tables();
    for (int ti = 0; ti < T_COUNTRIES; ti++)
        write_rows(ti);
    write_countries();
    check_crc(T_ORDERS);
    check_crc(T_CUSTOMERS);
    for (int ti = 0; ti < T_COUNTRIES; ti++)
        check_placement(ti, "after INSERT/REPLACE/upsert", true);
    check_global("after INSERT");
    sync_replicas();

    struct keys k;
    pick_keys(&k);
    test_reads(&k);
    test_scatter_writes(&k);
    test_prepared(&k);
    test_global();
    test_ddl();
    test_refusals(&k);
    test_drop();
    free_keys(&k);

    drop_everything(false);
    dexec(ref, "DROP DATABASE IF EXISTS " REF_DB);
    it_diag("ran in %.1f s", it_now() - t0);
    if (px != NULL)
        mysql_close(px);
    mysql_close(ref);
    for (int s = 0; s < NSHARDS; s++) {
        mysql_close(direct[s]);
        if (replica[s] != NULL)
            mysql_close(replica[s]);
    }
    return it_done();
}
