/*
 * itest_admin_util.c - see itest_admin_util.h.
 */
#include "itest_admin_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

char *
xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

char *
xprintf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return s;
}

/* An optional '-' and one or more digits, nothing else. */
bool
is_int(const char *s)
{
    if (s == NULL)
        return false;
    if (*s == '-')
        s++;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

bool
is_nonneg_int(const char *s)
{
    return is_int(s) && s[0] != '-';
}

/* A decimal number (integer or not), nothing else. */
bool
is_number(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end = NULL;
    strtod(s, &end);
    return end != s && *end == '\0';
}

bool
is_true_word(const char *s)
{
    return s != NULL &&
           (strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0 ||
            strcasecmp(s, "true") == 0 || strcasecmp(s, "on") == 0);
}

bool
is_false_word(const char *s)
{
    return s == NULL || strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0 ||
           strcasecmp(s, "false") == 0 || strcasecmp(s, "off") == 0 ||
           s[0] == '\0';
}

/* Whether the comma-separated list (spaces around items allowed) holds
 * item exactly. */
bool
list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;
    if (p == NULL)
        return false;
    while (*p != '\0') {
        p += strspn(p, " ");
        size_t len = strcspn(p, ",");
        size_t t = len;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if (t == n && strncmp(p, item, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

/* Number of non-empty items of a comma-separated list. */
int
list_count(const char *list)
{
    int c = 0;
    const char *p = list;
    if (p == NULL)
        return 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (strspn(p, " ") < len)
            c++;
        p += len;
        if (*p == ',')
            p++;
    }
    return c;
}

/* s lower-cased without whitespace (malloc'd). */
char *
compact(const char *s)
{
    char *out = xcalloc(strlen(s) + 1, 1), *o = out;
    for (; *s != '\0'; s++)
        if (!isspace((unsigned char)*s))
            *o++ = (char)tolower((unsigned char)*s);
    *o = '\0';
    return out;
}

bool
contains_nocase(const char *hay, const char *needle)
{
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

bool
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* The whole file (malloc'd), NULL when unreadable. */
char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = xcalloc(cap, 1);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            buf = nb;
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* ---------------------------------------------------------- connections */

/* A session on 127.0.0.1:port (host for the shared endpoints), with
 * bounded connect, read and write. NULL on failure with errno and message
 * in *err and msg. */
MYSQL *
connect_port(const char *host, unsigned port, const char *user,
             const char *password, const char *db, unsigned *err, char *msg,
             size_t msg_size)
{
    MYSQL *m = mysql_init(NULL);
    unsigned ct = 5, rw = IO_S;
    if (err != NULL)
        *err = 0;
    if (msg != NULL && msg_size > 0)
        msg[0] = '\0';
    if (m == NULL)
        return NULL;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    if (mysql_real_connect(m, host, user, password, db, port, NULL, 0) ==
        NULL) {
        if (err != NULL)
            *err = mysql_errno(m);
        if (msg != NULL && msg_size > 0)
            snprintf(msg, msg_size, "%s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

const char *admin_user, *admin_password;
unsigned admin_port; /* the shared myshard's console */

/* An admin session on port; a diagnostic when it fails. */
MYSQL *
admin_connect(unsigned port)
{
    unsigned err;
    char msg[256];
    MYSQL *m = connect_port(it_host(), port, admin_user, admin_password, NULL,
                            &err, msg, sizeof(msg));
    if (m == NULL)
        it_diag("admin login as %s on %s:%u failed: %u %s", admin_user,
                it_host(), port, err, msg);
    return m;
}

/* An application session on the shared myshard into db. */
MYSQL *
app_connect(const char *db)
{
    unsigned err;
    char msg[256];
    MYSQL *m = connect_port(it_host(), it_port(), it_user(), it_password(), db,
                            &err, msg, sizeof(msg));
    if (m == NULL)
        it_diag("connect %s to %s:%u failed: %u %s", it_user(), it_host(),
                it_port(), err, msg);
    return m;
}

/* The client socket's local address, "ip:port", as the server sees it. */
bool
local_addr(MYSQL *m, char *out, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];
    out[0] = '\0';
    if (m == NULL)
        return false;
    int fd = (int)mysql_get_socket(m);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
        if (inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip)) == NULL)
            return false;
        snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
        return true;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
        if (inet_ntop(AF_INET6, &sa->sin6_addr, ip, sizeof(ip)) == NULL)
            return false;
        snprintf(out, size, "[%s]:%u", ip, (unsigned)ntohs(sa->sin6_port));
        return true;
    }
    return false;
}

/* ---------------------------------------------------------- result sets */

void
rs_free(struct rs *r)
{
    if (r == NULL)
        return;
    for (unsigned i = 0; i < r->ncols; i++)
        free(r->cols[i]);
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i]);
    free(r->cols);
    free(r->cells);
    free(r);
}

void
drain(MYSQL *m)
{
    while (mysql_more_results(m) && mysql_next_result(m) == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res != NULL)
            mysql_free_result(res);
    }
}

/* Runs sql on m and keeps its answer; never NULL. */

struct rs *
rs_run(MYSQL *m, const char *fmt, ...)
{
    struct rs *r = xcalloc(1, sizeof(*r));
    char *sql = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&sql, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    if (m == NULL) {
        snprintf(r->msg, sizeof(r->msg), "no session");
        free(sql);
        return r;
    }
    if (mysql_query(m, sql) != 0) {
        r->err = mysql_errno(m);
        snprintf(r->msg, sizeof(r->msg), "%s", mysql_error(m));
        free(sql);
        return r;
    }
    free(sql);
    MYSQL_RES *res = mysql_store_result(m);
    if (res == NULL) {
        if (mysql_field_count(m) != 0) {
            r->err = mysql_errno(m);
            snprintf(r->msg, sizeof(r->msg), "%s", mysql_error(m));
        } else {
            r->ok = true;
        }
        drain(m);
        return r;
    }
    r->ok = r->set = true;
    r->ncols = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    r->cols = xcalloc(r->ncols, sizeof(char *));
    for (unsigned i = 0; i < r->ncols; i++)
        r->cols[i] = xstrdup(f[i].name);
    r->nrows = (size_t)mysql_num_rows(res);
    r->cells = xcalloc(r->nrows * r->ncols, sizeof(char *));
    MYSQL_ROW row;
    size_t ri = 0;
    while ((row = mysql_fetch_row(res)) != NULL && ri < r->nrows) {
        unsigned long *len = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < r->ncols; i++) {
            if (row[i] == NULL)
                continue;
            char *v = xcalloc(len[i] + 1, 1);
            memcpy(v, row[i], len[i]);
            r->cells[ri * r->ncols + i] = v;
        }
        ri++;
    }
    r->nrows = ri;
    mysql_free_result(res);
    drain(m);
    return r;
}

int
rs_col(const struct rs *r, const char *name)
{
    for (unsigned i = 0; r != NULL && i < r->ncols; i++)
        if (strcmp(r->cols[i], name) == 0)
            return (int)i;
    return -1;
}

/* The value of column name in row i; NULL when absent or SQL NULL. */
const char *
rs_get(const struct rs *r, size_t i, const char *name)
{
    int c = rs_col(r, name);
    if (c < 0 || i >= r->nrows)
        return NULL;
    return r->cells[i * r->ncols + (unsigned)c];
}

/* The first row whose column name equals value; -1 when none. */
long
rs_find(const struct rs *r, const char *name, const char *value)
{
    for (size_t i = 0; r != NULL && i < r->nrows; i++) {
        const char *v = rs_get(r, i, name);
        if (v != NULL && strcmp(v, value) == 0)
            return (long)i;
    }
    return -1;
}

/* "a,b,c" of the result's column names (malloc'd). */
char *
rs_colnames(const struct rs *r)
{
    size_t len = 1;
    for (unsigned i = 0; i < r->ncols; i++)
        len += strlen(r->cols[i]) + 1;
    char *s = xcalloc(len, 1);
    for (unsigned i = 0; i < r->ncols; i++) {
        if (i > 0)
            strcat(s, ",");
        strcat(s, r->cols[i]);
    }
    return s;
}

void
rs_diag(const struct rs *r, size_t max_rows)
{
    if (!r->ok) {
        it_diag("error %u: %s", r->err, r->msg);
        return;
    }
    if (!r->set) {
        it_diag("no result set");
        return;
    }
    char *cols = rs_colnames(r);
    it_diag("columns: %s; %zu row(s)", cols, r->nrows);
    free(cols);
    for (size_t i = 0; i < r->nrows && i < max_rows; i++) {
        char line[1024] = "";
        size_t at = 0;
        for (unsigned c = 0; c < r->ncols && at < sizeof(line); c++) {
            const char *v = r->cells[i * r->ncols + c];
            int w = snprintf(line + at, sizeof(line) - at, "%s%s",
                             c > 0 ? " | " : "", v != NULL ? v : "NULL");
            if (w < 0)
                break;
            at += (size_t)w;
        }
        it_diag("  %s", line);
    }
}

/* Checks that cmd answered a result set with exactly the columns cols
 * ("a,b,c"), in that order. */
bool
check_cols(const struct rs *r, const char *cmd, const char *cols)
{
    char *got = r->set ? rs_colnames(r) : NULL;
    bool ok = check(r->set && strcmp(got, cols) == 0,
                    "%s: a result set with the columns %s", cmd, cols);
    if (!ok)
        rs_diag(r, 5);
    free(got);
    return ok;
}

/* Checks that the statement failed with a message starting "myshard:". */
bool
check_myshard_error(const struct rs *r, unsigned want_err, const char *what)
{
    char code[16] = "";
    if (want_err != 0)
        snprintf(code, sizeof(code), " %u", want_err);
    bool ok =
        check(!r->ok && (want_err == 0 || r->err == want_err) &&
                  strncmp(r->msg, "myshard:", 8) == 0,
              "%s: error%s with a message starting \"myshard:\"", what, code);
    if (!ok)
        rs_diag(r, 3);
    return ok;
}

/* The shared myshard's console, or a failed check naming what could not
 * be tested. */
bool
need(MYSQL *a, const char *what)
{
    if (a != NULL)
        return true;
    check(false, "%s: no admin session (see the login failure above)", what);
    return false;
}

/* ------------------------------------------------- the shared myshard */

unsigned s0p, s0r, s1p, s1r; /* backend ports */
char a_s0p[32], a_s0r[32], a_s1p[32], a_s1r[32];

/* ------------------------------------------------------------- setup */

bool
setup(MYSQL *d0, MYSQL *d1)
{
    static const char *const defs =
        " (id INT NOT NULL PRIMARY KEY, user_id INT NOT NULL) ENGINE=InnoDB";
    return d0 != NULL && d1 != NULL &&
           it_exec(d0, "DROP TABLE IF EXISTS " TA) &&
           it_exec(d0, "CREATE TABLE " TA " (id INT PRIMARY KEY, "
                       "v VARCHAR(32)) ENGINE=InnoDB") &&
           it_exec(d0, "INSERT INTO " TA " VALUES (1, 'one'), (2, 'two')") &&
           it_exec(d0, "DROP TABLE IF EXISTS " TO) &&
           it_exec(d0, "CREATE TABLE " TO "%s", defs) &&
           it_exec(d1, "DROP TABLE IF EXISTS " TO) &&
           it_exec(d1, "CREATE TABLE " TO "%s", defs);
}

void
teardown(MYSQL *d0, MYSQL *d1)
{
    if (d0 != NULL) {
        it_exec(d0, "DROP TABLE IF EXISTS " TA);
        it_exec(d0, "DROP TABLE IF EXISTS " TO);
    }
    if (d1 != NULL)
        it_exec(d1, "DROP TABLE IF EXISTS " TO);
}

bool
admin_env(void)
{
    admin_port = (unsigned)atoi(it_env("MYSHARD_ADMIN_PORT", "6032"));
    admin_user = it_env("MYSHARD_ADMIN_USER", "admin");
    admin_password = it_env("MYSHARD_ADMIN_PASSWORD", "admin");
    s0p = it_backend_port("S0_PRIMARY_PORT");
    s0r = it_backend_port("S0_REPLICA_PORT");
    s1p = it_backend_port("S1_PRIMARY_PORT");
    s1r = it_backend_port("S1_REPLICA_PORT");
    snprintf(a_s0p, sizeof(a_s0p), "127.0.0.1:%u", s0p);
    snprintf(a_s0r, sizeof(a_s0r), "127.0.0.1:%u", s0r);
    snprintf(a_s1p, sizeof(a_s1p), "127.0.0.1:%u", s1p);
    snprintf(a_s1r, sizeof(a_s1r), "127.0.0.1:%u", s1r);
    if (!check(s0p && s0r && s1p && s1r,
               "the four servers' ports are in the environment"))
        return false;
    return true;
}
