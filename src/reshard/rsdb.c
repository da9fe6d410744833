/*
 * rsdb.c - the reshard thread's blocking SQL on libmariadb: connecting to
 * a shard's primary as the backend account, running statements with
 * errors that name the server, and writing rows back as SQL literals.
 */
#include "rs_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

MYSQL *
rsdb_connect(const struct reshard *r, const struct rs_server *s, char *err,
             size_t errlen)
{
    MYSQL *m = mysql_init(NULL);
    unsigned int timeout = r->connect_s > 0 ? (unsigned)r->connect_s : 10;

    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    timeout = 600; /* a batch or a checksum may take long on a big table */
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_OPT_RECONNECT, &(my_bool){0});
    mysqltls_apply(m, &r->tls);
    if (mysql_real_connect(m, s->host, r->user, r->password, NULL,
                           (unsigned)s->port, NULL, 0) == NULL) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", s->host, s->port,
                 mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    /* the copy and checks compare exact values: no silent truncation;
     * TIMESTAMP literals (the binlog's too) in UTC */
    if (mysql_query(m, "SET SESSION sql_mode = CONCAT(@@sql_mode, "
                       "',STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO'), "
                       "SESSION group_concat_max_len = 1048576, "
                       "SESSION time_zone = '+00:00'") != 0) {
        snprintf(err, errlen, "%s:%d: %s", s->host, s->port, mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static void
server_err(MYSQL *m, const char *q, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s:%u: %s (in: %.120s)",
             m->host != NULL ? m->host : "?", m->port, mysql_error(m), q);
}

bool
rsdb_exec(MYSQL *m, const char *q, char *err, size_t errlen)
{
    MYSQL_RES *res;

    if (mysql_query(m, q) != 0) {
        server_err(m, q, err, errlen);
        return false;
    }
    res = mysql_store_result(m);
    if (res != NULL)
        mysql_free_result(res);
    return true;
}

MYSQL_RES *
rsdb_query(MYSQL *m, const char *q, char *err, size_t errlen)
{
    MYSQL_RES *res;

    if (mysql_query(m, q) != 0 || (res = mysql_store_result(m)) == NULL) {
        server_err(m, q, err, errlen);
        return NULL;
    }
    return res;
}

bool
rsdb_value(MYSQL *m, const char *q, char *buf, size_t len, char *err,
           size_t errlen)
{
    MYSQL_RES *res = rsdb_query(m, q, err, errlen);
    MYSQL_ROW row;

    if (res == NULL)
        return false;
    row = mysql_fetch_row(res);
    snprintf(buf, len, "%s", row != NULL && row[0] != NULL ? row[0] : "");
    mysql_free_result(res);
    return true;
}

void
rsbuf_add(struct rsbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = MAX(b->cap * 2, b->len + n + 1024);
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
rsbuf_str(struct rsbuf *b, const char *s)
{
    rsbuf_add(b, s, strlen(s));
}

void
rsbuf_fmt(struct rsbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = MAX(b->cap * 2, b->len + (size_t)n + 1024);
        b->p = xrealloc(b->p, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
rsbuf_free(struct rsbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* A value as its literal: numbers as the server wrote them, bytes of a
 * binary string in hex, other strings quoted in the connection's
 * utf8mb4. */
static void
literal(MYSQL *m, struct rsbuf *b, const char *v, unsigned long n,
        const MYSQL_FIELD *f)
{
    static const char hex[] = "0123456789ABCDEF";
    char *tmp;

    if (v == NULL) {
        rsbuf_str(b, "NULL");
        return;
    }
    if (IS_NUM(f->type) && f->type != MYSQL_TYPE_TIMESTAMP &&
        f->type != MYSQL_TYPE_YEAR) {
        rsbuf_add(b, v, n);
        return;
    }
    if (f->charsetnr == 63 &&
        (f->type == MYSQL_TYPE_STRING || f->type == MYSQL_TYPE_VAR_STRING ||
         f->type == MYSQL_TYPE_VARCHAR || f->type == MYSQL_TYPE_BLOB ||
         f->type == MYSQL_TYPE_TINY_BLOB || f->type == MYSQL_TYPE_MEDIUM_BLOB ||
         f->type == MYSQL_TYPE_LONG_BLOB || f->type == MYSQL_TYPE_BIT ||
         f->type == MYSQL_TYPE_GEOMETRY)) {
        if (n == 0) {
            rsbuf_str(b, "''");
            return;
        }
        rsbuf_str(b, "X'");
        for (unsigned long i = 0; i < n; i++) {
            char h[2] = {hex[(unsigned char)v[i] >> 4],
                         hex[(unsigned char)v[i] & 15]};
            rsbuf_add(b, h, 2);
        }
        rsbuf_str(b, "'");
        return;
    }
    tmp = xmalloc(n * 2 + 3);
    tmp[0] = '\'';
    n = mysql_real_escape_string(m, tmp + 1, v, n);
    tmp[n + 1] = '\'';
    rsbuf_add(b, tmp, n + 2);
    free(tmp);
}

void
rsdb_tuple(MYSQL *m, struct rsbuf *b, MYSQL_ROW row, const unsigned long *len,
           const MYSQL_FIELD *f, const int *cols, int ncols)
{
    rsbuf_str(b, "(");
    for (int i = 0; i < ncols; i++) {
        int c = cols != NULL ? cols[i] : i;
        if (i > 0)
            rsbuf_str(b, ",");
        literal(m, b, row[c], len[c], &f[c]);
    }
    rsbuf_str(b, ")");
}
