/*
 * itest_sharding_util.c - see itest_sharding_util.h.
 */
#include "itest_sharding_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* user_id has a default so that MariaDB itself would accept an INSERT
 * without it: only the proxy's refusal keeps such a row out. */
const struct table tables[NTABLES] = {
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

const char *const shard_name[NSHARDS] = {"s0", "s1"};
const char *const shard_port_env[NSHARDS] = {"S0_PRIMARY_PORT",
                                             "S1_PRIMARY_PORT"};
const char *const replica_port_env[NSHARDS] = {"S0_REPLICA_PORT",
                                               "S1_REPLICA_PORT"};

const char *const country_code[NCOUNTRIES] = {"DE", "FR", "US", "CN", "PT",
                                              "BR", "JP", "IN", "GB", "ES"};
const char *const country_name[NCOUNTRIES] = {
    "Germany", "France", "United States", "China",          "Portugal",
    "Brazil",  "Japan",  "India",         "United Kingdom", "Spain"};

MYSQL *px;               /* through myshard, schema shop */
MYSQL *ref;              /* s0 primary directly, schema ref_sharding */
MYSQL *direct[NSHARDS];  /* each shard primary directly, schema shop */
MYSQL *replica[NSHARDS]; /* each shard replica directly (or NULL) */

/* ------------------------------------------------------------ utilities */

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

char *
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

void
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

void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void
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
uint32_t
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

void
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
char *
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

bool
lost_connection(unsigned err)
{
    return err == 2006 || err == 2013 || err == 2055;
}

/* Runs sql on m and stores its first result; drains any further ones. */
bool
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
int proxy_lost; /* connections lost in a row */

MYSQL *
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

bool
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

void
diag_text(const char *label, const char *s)
{
    size_t n = strlen(s);
    it_diag("  %s%.*s%s", label, n > 300 ? 300 : (int)n, s,
            n > 300 ? "..." : "");
}

int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares rows (ordered or as multisets) and column names; explain:
 * print the differences. */
bool
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
bool
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
bool
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

bool
cmp_write(const char *sql)
{
    return cmp_write_quiet(sql, false);
}

/* Executes on a direct connection; diagnostic on failure. */
bool
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
void
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

void
money(char *out, long cents)
{
    long a = cents < 0 ? -cents : cents;
    snprintf(out, VLEN, "%s%ld.%02ld", cents < 0 ? "-" : "", a / 100, a % 100);
}

/* 'YYYY-MM-DD' of 2026-05-01 plus off days (off < 150). */
void
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

int
order_user(int i)
{
    if (i % 17 == 0)
        return 100000 + i;
    if (i % 23 == 0)
        return -(i + 1);
    return 1 + (i * 7) % 61;
}

const char *const variant_word[] = {"", "replaced", "upserted"};

/* Values (SQL literals) of row i of table t in column-list order;
 * variant 1 and 2 change the non-key columns (REPLACE, upsert). */
int
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
void
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

void
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
char *
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
char *
placement_expr(const struct table *t)
{
    if (t->rule == HASH_EVEN || t->rule == HASH_MAP)
        return xprintf("CRC32(%s) %% 1024", t->key);
    return xprintf("%s", t->key);
}

/* The shard (0 or 1) PRODUCT.md's formula gives for the placement value. */
int
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
int
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
void
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
void
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
void
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
void
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
char *
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
