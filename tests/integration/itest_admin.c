/*
 * The admin console: the MySQL protocol on admin.listen, checked from a
 * client's side. Against the shared myshard (MYSHARD_ADMIN_PORT, the
 * config of tools/test.sh):
 *   - login: the admin user gets in, a wrong password and the application
 *     users get 1045; `select @@version_comment limit 1` (the mysql CLI's
 *     first statement) answers one row;
 *   - every command answers a result set with its columns, in order:
 *     SHOW HELP (each command listed), VERSION, SHARDS (primaries,
 *     replicas, rules, default schemas of the test config), BACKENDS (the
 *     four servers, roles, states), POOLS, CLIENTS (a client found by the
 *     address its own socket has, its pins: user_vars after SET @v,
 *     transaction inside BEGIN; a running SELECT SLEEP shown), USERS,
 *     STATS (queries_total grows), DIGESTS (two literals, one digest),
 *     CONFIG (the file's lines, passwords masked);
 *   - commands are case-insensitive and may end in ';';
 *   - USE selects the schema of EXPLAIN ROUTE (1049 for an unknown one);
 *     EXPLAIN ROUTE names the one shard where a row written through the
 *     proxy really is (read directly on the shard primaries), and an
 *     unlisted table's default shard, which USE appdb changes;
 *   - unknown commands get 1064 with a "myshard:" message and the session
 *     goes on; two admin sessions work at once;
 *   - KILL CLIENT closes one client (its next statement gets 2013/2006)
 *     and no other; an unknown id gets 1094.
 * Against a myshard this program starts (MYSHARD_BIN) whose replicas take
 * reads (weight 1):
 *   - SET BACKEND '<s0 replica>' OFFLINE sends the reads of shard s0 to its
 *     primary within about a second (@@server_id, read directly, is the
 *     witness), SHOW BACKENDS says offline; ONLINE brings them back; DRAIN
 *     answers draining; an unknown address gets a "myshard:" error;
 *   - RELOAD CONFIG applies a new user; a broken file gets an error naming
 *     file:line and the previous config keeps serving.
 * Every connection has connect and read timeouts and the whole program a
 * watchdog, so a console that does not answer fails the checks, never
 * hangs them. Proxy-only.
 */
#include "itest.h"

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

#define TA         "itest_admin_t" /* in shop, unlisted: default shard s0 */
#define TO         "orders"        /* in shop, user_hash on user_id */
#define NEW_USER   "itest_admin_u" /* added by RELOAD CONFIG */
#define NEW_PASS   "itest_admin_pw"
#define BAD_RULE   "itest_admin_no_such_rule"
#define IO_S       15  /* read/write timeout of every connection */
#define SWITCH_S   1.5 /* reads leave an OFFLINE replica within this */
#define BACK_S     5.0 /* and come back after ONLINE within this */
#define WATCHDOG_S 240

static const char *const backend_states[] = {
    "online", "lagging", "down", "circuit_open", "offline", "draining",
};

/* ------------------------------------------------------------ helpers */

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static char *
xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static char *xprintf(const char *fmt, ...) IT_PRINTF(1, 2);

static char *
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
static bool
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

static bool
is_nonneg_int(const char *s)
{
    return is_int(s) && s[0] != '-';
}

/* A decimal number (integer or not), nothing else. */
static bool
is_number(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end = NULL;
    strtod(s, &end);
    return end != s && *end == '\0';
}

static bool
is_true_word(const char *s)
{
    return s != NULL &&
           (strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0 ||
            strcasecmp(s, "true") == 0 || strcasecmp(s, "on") == 0);
}

static bool
is_false_word(const char *s)
{
    return s == NULL || strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0 ||
           strcasecmp(s, "false") == 0 || strcasecmp(s, "off") == 0 ||
           s[0] == '\0';
}

/* Whether the comma-separated list (spaces around items allowed) holds
 * item exactly. */
static bool
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
static int
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
static char *
compact(const char *s)
{
    char *out = xcalloc(strlen(s) + 1, 1), *o = out;
    for (; *s != '\0'; s++)
        if (!isspace((unsigned char)*s))
            *o++ = (char)tolower((unsigned char)*s);
    *o = '\0';
    return out;
}

static bool
contains_nocase(const char *hay, const char *needle)
{
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

static bool
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* The whole file (malloc'd), NULL when unreadable. */
static char *
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
static MYSQL *
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

static const char *admin_user, *admin_password;
static unsigned admin_port; /* the shared myshard's console */

/* An admin session on port; a diagnostic when it fails. */
static MYSQL *
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
static MYSQL *
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
static bool
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

/* One statement's answer, kept whole. */
struct rs {
    bool ok;  /* the statement succeeded */
    bool set; /* ... with a result set */
    unsigned err;
    char msg[512];
    unsigned ncols;
    char **cols;
    size_t nrows;
    char **cells; /* nrows x ncols; NULL for SQL NULL */
};

static void
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

static void
drain(MYSQL *m)
{
    while (mysql_more_results(m) && mysql_next_result(m) == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res != NULL)
            mysql_free_result(res);
    }
}

/* Runs sql on m and keeps its answer; never NULL. */
static struct rs *rs_run(MYSQL *m, const char *fmt, ...) IT_PRINTF(2, 3);

static struct rs *
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

static int
rs_col(const struct rs *r, const char *name)
{
    for (unsigned i = 0; r != NULL && i < r->ncols; i++)
        if (strcmp(r->cols[i], name) == 0)
            return (int)i;
    return -1;
}

/* The value of column name in row i; NULL when absent or SQL NULL. */
static const char *
rs_get(const struct rs *r, size_t i, const char *name)
{
    int c = rs_col(r, name);
    if (c < 0 || i >= r->nrows)
        return NULL;
    return r->cells[i * r->ncols + (unsigned)c];
}

/* The first row whose column name equals value; -1 when none. */
static long
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
static char *
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

static void
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
static bool
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
static bool
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
static bool
need(MYSQL *a, const char *what)
{
    if (a != NULL)
        return true;
    check(false, "%s: no admin session (see the login failure above)", what);
    return false;
}

/* ------------------------------------------------- the shared myshard */

static unsigned s0p, s0r, s1p, s1r; /* backend ports */
static char a_s0p[32], a_s0r[32], a_s1p[32], a_s1r[32];

static void
test_login(MYSQL *a)
{
    unsigned err;
    char msg[256];
    MYSQL *m = connect_port(it_host(), admin_port, admin_user, "not-the-pw",
                            NULL, &err, msg, sizeof(msg));
    check(m == NULL && err == 1045,
          "login: a wrong admin password is refused with 1045");
    if (m != NULL)
        mysql_close(m);
    else if (err != 1045)
        it_diag("%u %s", err, msg);

    m = connect_port(it_host(), admin_port, it_user(), it_password(), NULL,
                     &err, msg, sizeof(msg));
    check(m == NULL && err == 1045,
          "login: the application user %s is refused on the admin port "
          "with 1045",
          it_user());
    if (m != NULL)
        mysql_close(m);
    else if (err != 1045)
        it_diag("%u %s", err, msg);

    if (!need(a, "select @@version_comment limit 1"))
        return;
    struct rs *r = rs_run(a, "select @@version_comment limit 1");
    bool ok = check(r->set && r->nrows == 1 && r->ncols >= 1,
                    "the mysql CLI's select @@version_comment limit 1 "
                    "answers one row");
    if (!ok)
        rs_diag(r, 3);
    rs_free(r);
}

static void
test_help(MYSQL *a)
{
    static const char *const cmds[] = {
        "SHOW HELP",     "SHOW VERSION", "SHOW SHARDS",   "SHOW BACKENDS",
        "SHOW POOLS",    "SHOW CLIENTS", "SHOW USERS",    "SHOW STATS",
        "SHOW DIGESTS",  "SHOW CONFIG",  "EXPLAIN ROUTE", "SET BACKEND",
        "RELOAD CONFIG", "KILL CLIENT",
    };
    const size_t ncmds = sizeof(cmds) / sizeof(cmds[0]);
    if (!need(a, "SHOW HELP"))
        return;
    struct rs *r = rs_run(a, "SHOW HELP");
    if (check_cols(r, "SHOW HELP", "command,description")) {
        check(r->nrows >= ncmds, "SHOW HELP: at least %zu rows (%zu)", ncmds,
              r->nrows);
        size_t missing = 0, undescribed = 0;
        for (size_t c = 0; c < ncmds; c++) {
            bool found = false;
            for (size_t i = 0; i < r->nrows && !found; i++) {
                const char *v = rs_get(r, i, "command");
                found =
                    v != NULL && strncasecmp(v, cmds[c], strlen(cmds[c])) == 0;
            }
            if (!found) {
                it_diag("no row for %s", cmds[c]);
                missing++;
            }
        }
        for (size_t i = 0; i < r->nrows; i++) {
            const char *d = rs_get(r, i, "description");
            undescribed += d == NULL || d[0] == '\0';
        }
        if (!check(missing == 0,
                   "SHOW HELP: a row for each of the %zu "
                   "commands, SHOW HELP itself included",
                   ncmds))
            rs_diag(r, 30);
        check(undescribed == 0, "SHOW HELP: every command has a description");
    }

    struct rs *lower = rs_run(a, "show help");
    struct rs *mixed = rs_run(a, "Show Help;");
    bool ok = check(r->set && lower->set && mixed->set &&
                        lower->nrows == r->nrows && mixed->nrows == r->nrows,
                    "commands are case-insensitive and may end in ';' "
                    "(show help, Show Help;)");
    if (!ok) {
        rs_diag(lower, 2);
        rs_diag(mixed, 2);
    }
    rs_free(lower);
    rs_free(mixed);
    rs_free(r);
}

/* The version `$MYSHARD_BIN --version` prints ("myshard X.Y.Z" -> X.Y.Z). */
static bool
binary_version(char *out, size_t size)
{
    const char *bin = it_env("MYSHARD_BIN", NULL);
    out[0] = '\0';
    if (bin == NULL || access(bin, X_OK) != 0)
        return false;
    char *cmd = xprintf("'%s' --version 2>/dev/null", bin);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return false;
    char line[256] = "";
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    pclose(p);
    line[strcspn(line, "\r\n")] = '\0';
    const char *v = strrchr(line, ' ');
    v = v != NULL ? v + 1 : line;
    snprintf(out, size, "%s", v);
    return out[0] != '\0';
}

static void
test_version(MYSQL *a)
{
    if (!need(a, "SHOW VERSION"))
        return;
    struct rs *r = rs_run(a, "SHOW VERSION");
    if (check_cols(r, "SHOW VERSION",
                   "version,build,started_at,uptime_seconds") &&
        check(r->nrows == 1, "SHOW VERSION: one row (%zu)", r->nrows)) {
        char want[64];
        const char *v = rs_get(r, 0, "version");
        if (binary_version(want, sizeof(want))) {
            if (!check(v != NULL && strstr(v, want) != NULL,
                       "SHOW VERSION: version names %s, as myshard "
                       "--version does",
                       want))
                it_diag("version: %s", v ? v : "NULL");
        } else {
            it_skip("MYSHARD_BIN --version gave nothing",
                    "SHOW VERSION: version as myshard --version");
        }
        const char *st = rs_get(r, 0, "started_at");
        check(st != NULL && st[0] != '\0', "SHOW VERSION: started_at set");
        const char *up = rs_get(r, 0, "uptime_seconds");
        if (!check(is_nonneg_int(up),
                   "SHOW VERSION: uptime_seconds a whole number"))
            it_diag("uptime_seconds: %s", up ? up : "NULL");
    }
    rs_free(r);

    r = rs_run(a, "show version;");
    check(r->set && r->nrows == 1, "show version; (lower case, ';') works");
    rs_free(r);
}

static void
test_shards(MYSQL *a)
{
    static const char *const rules[] = {"user_hash", "id_mod", "id_range",
                                        "email_hash", "day_range"};
    if (!need(a, "SHOW SHARDS"))
        return;
    struct rs *r = rs_run(a, "SHOW SHARDS");
    if (!check_cols(r, "SHOW SHARDS",
                    "shard,primary,replicas,rules,default_for")) {
        rs_free(r);
        return;
    }
    if (!check(r->nrows == 2, "SHOW SHARDS: one row per shard (2: %zu)",
               r->nrows))
        rs_diag(r, 5);
    struct {
        const char *name, *primary, *replica, *schema;
    } want[] = {{"s0", a_s0p, a_s0r, "shop"}, {"s1", a_s1p, a_s1r, "appdb"}};
    for (int s = 0; s < 2; s++) {
        long i = rs_find(r, "shard", want[s].name);
        if (!check(i >= 0, "SHOW SHARDS: a row for %s", want[s].name))
            continue;
        check_str(rs_get(r, (size_t)i, "primary"), want[s].primary,
                  "SHOW SHARDS: %s's primary", want[s].name);
        const char *reps = rs_get(r, (size_t)i, "replicas");
        if (!check(list_has(reps, want[s].replica) && list_count(reps) == 1,
                   "SHOW SHARDS: %s's replicas: %s", want[s].name,
                   want[s].replica))
            it_diag("replicas: %s", reps ? reps : "NULL");
        const char *rl = rs_get(r, (size_t)i, "rules");
        bool all = list_count(rl) == 5;
        for (int k = 0; k < 5; k++)
            all = all && list_has(rl, rules[k]);
        if (!check(all,
                   "SHOW SHARDS: %s's rules: user_hash, id_mod, id_range, "
                   "email_hash, day_range (every rule uses both shards)",
                   want[s].name))
            it_diag("rules: %s", rl ? rl : "NULL");
        const char *df = rs_get(r, (size_t)i, "default_for");
        if (!check(list_has(df, want[s].schema) && list_count(df) == 1,
                   "SHOW SHARDS: %s is the default shard of %s", want[s].name,
                   want[s].schema))
            it_diag("default_for: %s", df ? df : "NULL");
    }
    rs_free(r);
}

/* The four servers of the test cluster: address, shard, role. */
struct server {
    const char *addr, *shard, *role;
};

static void
servers(struct server out[4])
{
    out[0] = (struct server){a_s0p, "s0", "primary"};
    out[1] = (struct server){a_s0r, "s0", "replica"};
    out[2] = (struct server){a_s1p, "s1", "primary"};
    out[3] = (struct server){a_s1r, "s1", "replica"};
}

static bool
known_state(const char *s)
{
    for (size_t i = 0;
         s != NULL && i < sizeof(backend_states) / sizeof(backend_states[0]);
         i++)
        if (strcmp(s, backend_states[i]) == 0)
            return true;
    return false;
}

#define BACKEND_COLS                                                           \
    "backend,shard,role,state,zone,weight,lag_ms,conns_used,conns_idle,"       \
    "queries,errors,avg_latency_ms"

static void
test_backends(MYSQL *a)
{
    struct server sv[4];
    servers(sv);
    if (!need(a, "SHOW BACKENDS"))
        return;
    struct rs *r = rs_run(a, "SHOW BACKENDS");
    if (!check_cols(r, "SHOW BACKENDS", BACKEND_COLS)) {
        rs_free(r);
        return;
    }
    if (!check(r->nrows == 4, "SHOW BACKENDS: one row per server (4: %zu)",
               r->nrows))
        rs_diag(r, 8);
    for (int k = 0; k < 4; k++) {
        long i = rs_find(r, "backend", sv[k].addr);
        if (!check(i >= 0, "SHOW BACKENDS: a row for %s (%s %s)", sv[k].addr,
                   sv[k].shard, sv[k].role))
            continue;
        const char *shard = rs_get(r, (size_t)i, "shard");
        const char *role = rs_get(r, (size_t)i, "role");
        bool ok = shard != NULL && role != NULL &&
                  strcmp(shard, sv[k].shard) == 0 &&
                  strcmp(role, sv[k].role) == 0;
        if (!check(ok, "SHOW BACKENDS: %s is shard %s, role %s", sv[k].addr,
                   sv[k].shard, sv[k].role))
            it_diag("shard %s, role %s", shard ? shard : "NULL",
                    role ? role : "NULL");
    }
    bool states = r->nrows > 0, counts = r->nrows > 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *st = rs_get(r, i, "state");
        if (!known_state(st)) {
            states = false;
            it_diag("row %zu: state %s", i, st ? st : "NULL");
        }
        static const char *const ints[] = {"conns_used", "conns_idle",
                                           "queries", "errors"};
        for (int c = 0; c < 4; c++) {
            const char *v = rs_get(r, i, ints[c]);
            if (!is_nonneg_int(v)) {
                counts = false;
                it_diag("row %zu: %s %s", i, ints[c], v ? v : "NULL");
            }
        }
        const char *avg = rs_get(r, i, "avg_latency_ms");
        if (!is_number(avg)) {
            counts = false;
            it_diag("row %zu: avg_latency_ms %s", i, avg ? avg : "NULL");
        }
    }
    check(states, "SHOW BACKENDS: every state is one of online, lagging, "
                  "down, circuit_open, offline, draining");
    check(counts, "SHOW BACKENDS: conns_used, conns_idle, queries, errors "
                  "are counts, avg_latency_ms a number");
    bool w0 = true;
    for (int k = 1; k < 4; k += 2) {
        long i = rs_find(r, "backend", sv[k].addr);
        const char *w = i >= 0 ? rs_get(r, (size_t)i, "weight") : NULL;
        if (!is_number(w) || strtod(w, NULL) != 0.0) {
            w0 = false;
            it_diag("%s: weight %s", sv[k].addr, w ? w : "NULL");
        }
    }
    check(w0, "SHOW BACKENDS: the replicas' weight is 0, as configured");
    rs_free(r);

    /* both primaries are up: online, given a few health intervals */
    double end = it_now() + 5;
    bool online = false;
    do {
        r = rs_run(a, "SHOW BACKENDS");
        long i0 = rs_find(r, "backend", a_s0p),
             i1 = rs_find(r, "backend", a_s1p);
        const char *st0 = i0 >= 0 ? rs_get(r, (size_t)i0, "state") : NULL;
        const char *st1 = i1 >= 0 ? rs_get(r, (size_t)i1, "state") : NULL;
        online = st0 != NULL && st1 != NULL && strcmp(st0, "online") == 0 &&
                 strcmp(st1, "online") == 0;
        if (!online && it_now() + 0.2 >= end)
            rs_diag(r, 8);
        rs_free(r);
        if (!online)
            it_sleep_ms(200);
    } while (!online && it_now() < end);
    check(online, "SHOW BACKENDS: both primaries online");
}

static void
test_pools(MYSQL *a)
{
    struct server sv[4];
    servers(sv);
    if (!need(a, "SHOW POOLS"))
        return;
    struct rs *r = rs_run(a, "SHOW POOLS");
    if (!check_cols(r, "SHOW POOLS",
                    "backend,max,open,in_use,idle,waiting,longest_wait_ms")) {
        rs_free(r);
        return;
    }
    int found = 0, capped = 0;
    for (int k = 0; k < 4; k++) {
        long i = rs_find(r, "backend", sv[k].addr);
        if (i < 0) {
            it_diag("no row for %s", sv[k].addr);
            continue;
        }
        found++;
        const char *max = rs_get(r, (size_t)i, "max");
        if (max != NULL && strcmp(max, "50") == 0)
            capped++;
        else
            it_diag("%s: max %s", sv[k].addr, max ? max : "NULL");
    }
    check(found == 4, "SHOW POOLS: a row for each of the 4 servers");
    check(capped == 4, "SHOW POOLS: max is backend.pool.max_connections (50) "
                       "for each");
    static const char *const ints[] = {"open", "in_use", "idle", "waiting",
                                       "longest_wait_ms"};
    bool counts = r->nrows > 0;
    for (size_t i = 0; i < r->nrows; i++)
        for (int c = 0; c < 5; c++) {
            const char *v = rs_get(r, i, ints[c]);
            if (!is_nonneg_int(v)) {
                counts = false;
                it_diag("row %zu: %s %s", i, ints[c], v ? v : "NULL");
            }
        }
    check(counts, "SHOW POOLS: open, in_use, idle, waiting, longest_wait_ms "
                  "are whole numbers");
    rs_free(r);
}

/* SHOW CLIENTS, and the row of the client whose socket is c (-1). */
static long
client_row(MYSQL *a, MYSQL *c, struct rs **out)
{
    char addr[80];
    *out = rs_run(a, "SHOW CLIENTS");
    if (!local_addr(c, addr, sizeof(addr)))
        return -1;
    return rs_find(*out, "addr", addr);
}

/* The pinned column of client c contains reason (want) or not; polled up
 * to 2 s, since the console may see a statement's effect a moment late. */
static bool
pins_become(MYSQL *a, MYSQL *c, const char *reason, bool want)
{
    double end = it_now() + 2;
    const char *last = NULL;
    char buf[256] = "(no row)";
    for (;;) {
        struct rs *r;
        long i = client_row(a, c, &r);
        last = i >= 0 ? rs_get(r, (size_t)i, "pinned") : NULL;
        if (i >= 0)
            snprintf(buf, sizeof(buf), "%s", last ? last : "NULL");
        bool has = i >= 0 && list_has(last, reason);
        rs_free(r);
        if (i >= 0 && has == want)
            return true;
        if (it_now() >= end) {
            it_diag("pinned: %s", buf);
            return false;
        }
        it_sleep_ms(100);
    }
}

static void
clients_checks(MYSQL *a, MYSQL *c1, MYSQL *c2, MYSQL *c3)
{
    it_exec(c1, "SELECT 1");

    char addr[80];
    check(local_addr(c1, addr, sizeof(addr)),
          "SHOW CLIENTS: the client socket's own address (getsockname): %s",
          addr);
    struct rs *r;
    long i = client_row(a, c1, &r);
    if (check_cols(r, "SHOW CLIENTS",
                   "id,user,addr,schema,state,pinned,statement,"
                   "age_seconds")) {
        if (!check(i >= 0, "SHOW CLIENTS: a row whose addr is %s", addr))
            rs_diag(r, 20);
        if (i >= 0) {
            size_t k = (size_t)i;
            check_str(rs_get(r, k, "user"), it_user(), "SHOW CLIENTS: user");
            check_str(rs_get(r, k, "schema"), it_db(), "SHOW CLIENTS: schema");
            const char *id = rs_get(r, k, "id");
            if (!check(is_nonneg_int(id), "SHOW CLIENTS: id a number"))
                it_diag("id: %s", id ? id : "NULL");
            const char *st = rs_get(r, k, "state");
            check(st != NULL && st[0] != '\0', "SHOW CLIENTS: state set (%s)",
                  st ? st : "NULL");
            const char *age = rs_get(r, k, "age_seconds");
            if (!check(is_nonneg_int(age),
                       "SHOW CLIENTS: age_seconds a whole number"))
                it_diag("age_seconds: %s", age ? age : "NULL");
            const char *pin = rs_get(r, k, "pinned");
            if (!check(!list_has(pin, "user_vars"),
                       "SHOW CLIENTS: pinned has no user_vars before SET @v"))
                it_diag("pinned: %s", pin);
        }
    }
    rs_free(r);

    /* pins: user variables, a transaction */
    check(it_exec(c1, "SET @v = 1") && pins_become(a, c1, "user_vars", true),
          "SHOW CLIENTS: after SET @v = 1 pinned lists user_vars");
    check(it_exec(c2, "BEGIN") && pins_become(a, c2, "transaction", true),
          "SHOW CLIENTS: inside BEGIN pinned lists transaction");
    check(it_exec(c2, "ROLLBACK") && pins_become(a, c2, "transaction", false),
          "SHOW CLIENTS: after ROLLBACK transaction is gone from pinned");

    /* the statement a client runs */
    const char *sleep_sql = "SELECT SLEEP(2)";
    bool sent = mysql_send_query(c3, sleep_sql, strlen(sleep_sql)) == 0;
    check(sent, "SHOW CLIENTS: %s sent on a third session", sleep_sql);
    if (sent) {
        double end = it_now() + 1.5;
        bool shown = false;
        char seen[256] = "(no row)";
        do {
            long j = client_row(a, c3, &r);
            const char *st = j >= 0 ? rs_get(r, (size_t)j, "statement") : NULL;
            if (j >= 0)
                snprintf(seen, sizeof(seen), "%s", st ? st : "NULL");
            shown = contains_nocase(st, "SLEEP(");
            rs_free(r);
            if (!shown)
                it_sleep_ms(100);
        } while (!shown && it_now() < end);
        if (!check(shown, "SHOW CLIENTS: the running %s shows in statement",
                   sleep_sql))
            it_diag("statement: %s", seen);
        bool done = mysql_read_query_result(c3) == 0;
        MYSQL_RES *res = done ? mysql_store_result(c3) : NULL;
        if (res != NULL)
            mysql_free_result(res);
        check(done, "SHOW CLIENTS: %s then completes", sleep_sql);
    }
}

static void
test_clients(MYSQL *a)
{
    if (!need(a, "SHOW CLIENTS"))
        return;
    MYSQL *c1 = app_connect(it_db());
    MYSQL *c2 = app_connect(it_db());
    MYSQL *c3 = app_connect(it_db());
    if (check(c1 != NULL && c2 != NULL && c3 != NULL,
              "SHOW CLIENTS: three application sessions"))
        clients_checks(a, c1, c2, c3);
    if (c1 != NULL)
        mysql_close(c1);
    if (c2 != NULL)
        mysql_close(c2);
    if (c3 != NULL)
        mysql_close(c3);
}

static void
test_users(MYSQL *a)
{
    if (!need(a, "SHOW USERS"))
        return;
    MYSQL *c = app_connect(it_db());
    it_exec(c, "SELECT 1");
    struct rs *r = rs_run(a, "SHOW USERS");
    if (check_cols(r, "SHOW USERS",
                   "user,class,read_only,connections,max_connections,"
                   "queries,errors,rate_limited,rate_limit")) {
        long ia = rs_find(r, "user", it_user());
        long i2 = rs_find(r, "user", it_env("MYSHARD_USER2", "app2"));
        long ir = rs_find(r, "user", "reader");
        if (!check(ia >= 0 && i2 >= 0 && ir >= 0,
                   "SHOW USERS: rows for %s, %s and reader", it_user(),
                   it_env("MYSHARD_USER2", "app2")))
            rs_diag(r, 10);
        if (ia >= 0 && ir >= 0) {
            const char *ro_r = rs_get(r, (size_t)ir, "read_only");
            const char *ro_a = rs_get(r, (size_t)ia, "read_only");
            if (!check(is_true_word(ro_r) && is_false_word(ro_a),
                       "SHOW USERS: reader is read_only, %s is not", it_user()))
                it_diag("read_only: reader %s, %s %s", ro_r ? ro_r : "NULL",
                        it_user(), ro_a ? ro_a : "NULL");
        }
        if (ia >= 0) {
            const char *n = rs_get(r, (size_t)ia, "connections");
            if (!check(is_nonneg_int(n) && atoll(n) >= 1,
                       "SHOW USERS: %s has at least the one connection this "
                       "program holds",
                       it_user()))
                it_diag("connections: %s", n ? n : "NULL");
        }
        static const char *const ints[] = {"connections", "queries", "errors",
                                           "rate_limited"};
        bool counts = r->nrows > 0;
        for (size_t i = 0; i < r->nrows; i++)
            for (int k = 0; k < 4; k++) {
                const char *v = rs_get(r, i, ints[k]);
                if (!is_nonneg_int(v)) {
                    counts = false;
                    it_diag("row %zu: %s %s", i, ints[k], v ? v : "NULL");
                }
            }
        check(counts, "SHOW USERS: connections, queries, errors, "
                      "rate_limited are counts");
    }
    rs_free(r);
    if (c != NULL)
        mysql_close(c);
}

/* The value of SHOW STATS row stat as an integer; -1 when absent. */
static long long
stat_value(MYSQL *a, const char *stat)
{
    struct rs *r = rs_run(a, "SHOW STATS");
    long i = rs_find(r, "stat", stat);
    const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
    long long n = is_int(v) ? atoll(v) : -1;
    rs_free(r);
    return n;
}

static void
test_stats(MYSQL *a)
{
    static const char *const names[] = {"queries_total", "connections_total",
                                        "errors_total", "client_connections",
                                        "uptime_seconds"};
    if (!need(a, "SHOW STATS"))
        return;
    MYSQL *c = app_connect(it_db());
    it_exec(c, "SELECT 1");
    struct rs *r = rs_run(a, "SHOW STATS");
    if (check_cols(r, "SHOW STATS", "stat,value")) {
        for (int k = 0; k < 5; k++) {
            long i = rs_find(r, "stat", names[k]);
            const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
            if (!check(i >= 0 && is_nonneg_int(v),
                       "SHOW STATS: %s, a whole number", names[k]))
                it_diag("%s: %s", names[k],
                        i < 0 ? "(no row)"
                        : v   ? v
                              : "NULL");
        }
        long i = rs_find(r, "stat", "client_connections");
        const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
        check(is_int(v) && atoll(v) >= 1,
              "SHOW STATS: client_connections counts the session this "
              "program holds (%s)",
              v ? v : "NULL");
    }
    rs_free(r);

    long long before = stat_value(a, "queries_total"), after = -1;
    bool ran = c != NULL;
    for (int k = 0; k < 5 && ran; k++)
        ran = it_exec(c, "SELECT %d", k);
    double end = it_now() + 2;
    do {
        after = stat_value(a, "queries_total");
        if (before >= 0 && after >= before + 5)
            break;
        it_sleep_ms(100);
    } while (it_now() < end);
    check(ran && before >= 0 && after >= before + 5,
          "SHOW STATS: queries_total grows by at least 5 after 5 statements "
          "(%lld -> %lld)",
          before, after);
    if (c != NULL)
        mysql_close(c);
}

static void
test_digests(MYSQL *a)
{
    if (!need(a, "SHOW DIGESTS"))
        return;
    MYSQL *c = app_connect(it_db());
    bool ran = c != NULL && it_exec(c, "SELECT * FROM " TA " WHERE id = 1") &&
               it_exec(c, "SELECT * FROM " TA " WHERE id = 2");
    check(ran, "SHOW DIGESTS: SELECT * FROM " TA " WHERE id = 1, then = 2 "
               "through myshard");
    if (c != NULL)
        mysql_close(c);
    struct rs *r = rs_run(a, "SHOW DIGESTS");
    if (check_cols(r, "SHOW DIGESTS",
                   "digest,count,total_ms,avg_ms,max_ms,errors")) {
        const char *want = "select*from" TA "whereid=?";
        long found = -1;
        int matches = 0, literal = 0;
        for (size_t i = 0; i < r->nrows; i++) {
            const char *d = rs_get(r, i, "digest");
            if (d == NULL)
                continue;
            char *cd = compact(d);
            if (strcmp(cd, want) == 0) {
                matches++;
                found = (long)i;
            } else if (strstr(cd, TA "whereid=1") != NULL ||
                       strstr(cd, TA "whereid=2") != NULL) {
                literal++;
            }
            free(cd);
        }
        if (!check(matches == 1,
                   "SHOW DIGESTS: one row SELECT * FROM " TA
                   " WHERE id = ? for both statements (%d)",
                   matches))
            rs_diag(r, 30);
        check(literal == 0, "SHOW DIGESTS: no row keeps the literals 1 or 2");
        if (found >= 0) {
            const char *n = rs_get(r, (size_t)found, "count");
            if (!check(is_nonneg_int(n) && atoll(n) >= 2,
                       "SHOW DIGESTS: its count is at least 2"))
                it_diag("count: %s", n ? n : "NULL");
            bool nums = true;
            static const char *const cols[] = {"total_ms", "avg_ms", "max_ms"};
            for (int k = 0; k < 3; k++) {
                const char *v = rs_get(r, (size_t)found, cols[k]);
                if (!is_number(v)) {
                    nums = false;
                    it_diag("%s: %s", cols[k], v ? v : "NULL");
                }
            }
            const char *e = rs_get(r, (size_t)found, "errors");
            check(nums && is_nonneg_int(e),
                  "SHOW DIGESTS: total_ms, avg_ms, max_ms numbers, errors a "
                  "count (%s)",
                  e ? e : "NULL");
        }
    }
    rs_free(r);
}

/* The key of a block-style YAML line ("  - password: x" -> "password"),
 * into key; false when the line has none. *value_at gets the offset just
 * past the colon. */
static bool
yaml_key(const char *line, char *key, size_t size, size_t *value_at)
{
    const char *p = line + strspn(line, " ");
    if (p[0] == '-' && p[1] == ' ')
        p += 2 + strspn(p + 2, " ");
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= size || p[n] != ':')
        return false;
    memcpy(key, p, n);
    key[n] = '\0';
    *value_at = (size_t)(p + n + 1 - line);
    return true;
}

static char *
trimmed(const char *s)
{
    s += strspn(s, " ");
    char *t = xstrdup(s);
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\r'))
        t[--n] = '\0';
    /* quotes around a scalar */
    if (n >= 2 && (t[0] == '"' || t[0] == '\'') && t[n - 1] == t[0]) {
        memmove(t, t + 1, n - 2);
        t[n - 2] = '\0';
    }
    return t;
}

static void
test_config(MYSQL *a)
{
    const char *path = it_env("MYSHARD_CONFIG", NULL);
    if (!need(a, "SHOW CONFIG"))
        return;
    char *text = path != NULL ? read_file(path) : NULL;
    if (!check(text != NULL, "SHOW CONFIG: the config file %s is readable",
               path ? path : "(MYSHARD_CONFIG unset)"))
        return;
    /* the file's lines */
    size_t nlines = 0;
    for (const char *p = text; *p != '\0'; p++)
        nlines += *p == '\n';
    if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
        nlines++;
    char **lines = xcalloc(nlines, sizeof(char *));
    char *dup = xstrdup(text);
    size_t n = 0;
    for (char *p = dup; n < nlines; n++) {
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        lines[n] = p;
        p = nl != NULL ? nl + 1 : p + strlen(p);
    }

    struct rs *r = rs_run(a, "SHOW CONFIG");
    if (check_cols(r, "SHOW CONFIG", "line,text")) {
        if (!check(r->nrows == nlines,
                   "SHOW CONFIG: one row per line of %s (%zu: %zu)", path,
                   nlines, r->nrows))
            rs_diag(r, 5);
        size_t numbered = 0, same = 0, masked = 0, passwords = 0, leaks = 0;
        for (size_t i = 0; i < r->nrows; i++) {
            const char *ln = rs_get(r, i, "line");
            const char *t = rs_get(r, i, "text");
            if (ln != NULL && is_nonneg_int(ln) && (size_t)atoll(ln) == i + 1)
                numbered++;
            char key[64];
            size_t at = 0;
            /* a password shown in plain: "password: <anything but stars>" */
            if (t != NULL && yaml_key(t, key, sizeof(key), &at) &&
                strcmp(key, "password") == 0) {
                char *v = trimmed(t + at);
                if (strcmp(v, "********") != 0) {
                    leaks++;
                    it_diag("row %zu shows a password: %s", i + 1, t);
                }
                free(v);
            }
            if (i >= nlines || t == NULL)
                continue;
            const char *f = lines[i];
            if (yaml_key(f, key, sizeof(key), &at) &&
                strcmp(key, "password") == 0) {
                passwords++;
                char *v = trimmed(t + (strlen(t) >= at ? at : strlen(t)));
                if (strncmp(t, f, at) == 0 && strcmp(v, "********") == 0)
                    masked++;
                else
                    it_diag("line %zu: '%s' shown as '%s'", i + 1, f, t);
                free(v);
            } else if (yaml_key(f, key, sizeof(key), &at) &&
                       strcmp(key, "password_hash") == 0) {
                /* the hash itself, or masked too */
                char *v = trimmed(t + (strlen(t) >= at ? at : strlen(t)));
                if (strcmp(t, f) == 0 ||
                    (strncmp(t, f, at) == 0 && strcmp(v, "********") == 0))
                    same++;
                else
                    it_diag("line %zu: '%s' shown as '%s'", i + 1, f, t);
                free(v);
            } else if (strcmp(t, f) == 0) {
                same++;
            } else {
                it_diag("line %zu: '%s' shown as '%s'", i + 1, f, t);
            }
        }
        check(numbered == r->nrows && r->nrows > 0,
              "SHOW CONFIG: line numbers 1..%zu in order", r->nrows);
        check(passwords >= 4 && masked == passwords,
              "SHOW CONFIG: each of the %zu password lines shows ********",
              passwords);
        check(leaks == 0, "SHOW CONFIG: no row shows a plain password (app, "
                          "reader, secret, admin)");
        check(same + passwords == nlines && r->nrows == nlines,
              "SHOW CONFIG: every other line as in the file");
    }
    rs_free(r);
    free(lines);
    free(dup);
    free(text);
}

/* The shard names (s0, s1) the "target..." rows of an EXPLAIN ROUTE
 * answer mention, as a bit set (1: s0, 2: s1); -1 without such rows. */
static int
explain_targets(const struct rs *r)
{
    int set = 0, rows = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *item = rs_get(r, i, "item");
        const char *v = rs_get(r, i, "value");
        if (item == NULL || strncasecmp(item, "target", 6) != 0)
            continue;
        rows++;
        for (const char *p = v; p != NULL && *p != '\0';) {
            size_t skip = strcspn(p, "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            p += skip;
            size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            if (len == 2 && strncmp(p, "s0", 2) == 0)
                set |= 1;
            if (len == 2 && strncmp(p, "s1", 2) == 0)
                set |= 2;
            p += len;
        }
    }
    return rows > 0 ? set : -1;
}

static const char *
shard_set_name(int set)
{
    switch (set) {
    case -1:
        return "(no target row)";
    case 0:
        return "no shard";
    case 1:
        return "s0";
    case 2:
        return "s1";
    default:
        return "s0 and s1";
    }
}

static void
test_explain(MYSQL *a, MYSQL *d0, MYSQL *d1)
{
    if (!need(a, "USE / EXPLAIN ROUTE"))
        return;
    struct rs *r = rs_run(a, "USE itest_admin_no_such_db");
    check(!r->ok && r->err == 1049, "USE of an unknown schema: 1049");
    if (r->ok || r->err != 1049)
        rs_diag(r, 2);
    rs_free(r);
    r = rs_run(a, "USE %s", it_db());
    if (!check(r->ok && !r->set, "USE %s: ok, no result set", it_db()))
        rs_diag(r, 2);
    rs_free(r);

    r = rs_run(a, "EXPLAIN ROUTE SELECT * FROM " TO " WHERE user_id = 1");
    check_cols(r, "EXPLAIN ROUTE", "item,value");
    rs_free(r);

    /* rows written through myshard, found on their primary directly */
    MYSQL *c = app_connect(it_db());
    int seen = 0, agree = 0, total = 8;
    for (int k = 1; k <= total; k++) {
        int uid = 1000 + 37 * k;
        if (!it_exec(c, "INSERT INTO " TO " (id, user_id) VALUES (%d, %d)", k,
                     uid)) {
            it_diag("INSERT of user_id %d through myshard failed", uid);
            continue;
        }
        long long n0 =
            it_int(d0, -1, "SELECT COUNT(*) FROM " TO " WHERE id = %d", k);
        long long n1 =
            it_int(d1, -1, "SELECT COUNT(*) FROM " TO " WHERE id = %d", k);
        if (n0 + n1 != 1 || n0 < 0 || n1 < 0) {
            it_diag("user_id %d: %lld row(s) on s0, %lld on s1 (direct)", uid,
                    n0, n1);
            continue;
        }
        int where = n0 == 1 ? 1 : 2;
        seen |= where;
        r = rs_run(a, "EXPLAIN ROUTE SELECT * FROM " TO " WHERE user_id = %d",
                   uid);
        int got = r->set ? explain_targets(r) : -1;
        if (got == where) {
            agree++;
        } else {
            it_diag("user_id %d: the row is on %s, EXPLAIN ROUTE names %s", uid,
                    shard_set_name(where), shard_set_name(got));
            rs_diag(r, 20);
        }
        rs_free(r);
    }
    if (c != NULL)
        mysql_close(c);
    it_diag("the %d rows are on %s", total, shard_set_name(seen));
    check(agree == total,
          "EXPLAIN ROUTE SELECT * FROM " TO " WHERE user_id = <v> names "
          "exactly the shard where the row is (read on the primaries "
          "directly), for %d of %d keys",
          agree, total);

    r = rs_run(a, "explain route SELECT * FROM " TA " WHERE id = 1");
    int got = r->set ? explain_targets(r) : -1;
    if (!check(got == 1, "explain route of an unlisted table names the "
                         "default shard s0 only"))
        rs_diag(r, 20);
    rs_free(r);

    /* the same statement in appdb, whose default shard is s1 */
    r = rs_run(a, "USE appdb");
    bool used = r->ok;
    rs_free(r);
    r = rs_run(a, "EXPLAIN ROUTE SELECT * FROM " TA " WHERE id = 1");
    got = r->set ? explain_targets(r) : -1;
    if (!check(used && got == 2, "after USE appdb the same EXPLAIN ROUTE "
                                 "names appdb's default shard s1 only"))
        rs_diag(r, 20);
    rs_free(r);
}

static void
test_errors(MYSQL *a)
{
    if (!need(a, "unknown commands"))
        return;
    struct rs *r = rs_run(a, "SHOW NONSENSE");
    check_myshard_error(r, 1064, "SHOW NONSENSE");
    rs_free(r);
    r = rs_run(a, "FROBNICATE THE CONSOLE");
    check_myshard_error(r, 1064, "FROBNICATE THE CONSOLE");
    rs_free(r);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1, "the session answers SHOW VERSION after "
                                   "the errors");
    rs_free(r);

    /* two sessions at once: both send, then both read */
    MYSQL *b = admin_connect(admin_port);
    if (!check(b != NULL, "a second admin session"))
        return;
    const char *q1 = "SHOW BACKENDS", *q2 = "SHOW CLIENTS";
    bool sent1 = mysql_send_query(a, q1, strlen(q1)) == 0;
    bool sent2 = mysql_send_query(b, q2, strlen(q2)) == 0;
    /* each answer read whatever the other did, so that neither session
     * is left out of step */
    bool got2 = sent2 && mysql_read_query_result(b) == 0;
    MYSQL_RES *r2 = got2 ? mysql_store_result(b) : NULL;
    bool got1 = sent1 && mysql_read_query_result(a) == 0;
    MYSQL_RES *r1 = got1 ? mysql_store_result(a) : NULL;
    bool got = r1 != NULL && r2 != NULL;
    check(got, "two admin sessions answer statements sent at the same time");
    if (!got)
        it_diag("%u %s / %u %s", mysql_errno(a), mysql_error(a), mysql_errno(b),
                mysql_error(b));
    if (r1 != NULL)
        mysql_free_result(r1);
    if (r2 != NULL)
        mysql_free_result(r2);
    mysql_close(b);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1,
          "the first session goes on after the second closed");
    rs_free(r);
}

static void
test_kill(MYSQL *a)
{
    if (!need(a, "KILL CLIENT"))
        return;
    MYSQL *victim = app_connect(it_db());
    MYSQL *other = app_connect(it_db());
    if (!check(victim != NULL && other != NULL && it_exec(victim, "SELECT 1") &&
                   it_exec(other, "SELECT 1"),
               "KILL CLIENT: two application sessions")) {
        if (victim != NULL)
            mysql_close(victim);
        if (other != NULL)
            mysql_close(other);
        return;
    }
    struct rs *r;
    long i = client_row(a, victim, &r);
    char id[32] = "";
    if (i >= 0 && rs_get(r, (size_t)i, "id") != NULL)
        snprintf(id, sizeof(id), "%s", rs_get(r, (size_t)i, "id"));
    if (!check(is_nonneg_int(id),
               "KILL CLIENT: the victim's id from SHOW CLIENTS (%s)", id))
        rs_diag(r, 10);
    /* an id nobody has */
    unsigned long unknown = 2000000000UL;
    for (;;) {
        char s[32];
        snprintf(s, sizeof(s), "%lu", unknown);
        if (rs_find(r, "id", s) < 0)
            break;
        unknown++;
    }
    rs_free(r);

    if (is_nonneg_int(id)) {
        r = rs_run(a, "KILL CLIENT %s", id);
        if (check_cols(r, "KILL CLIENT", "id,closed")) {
            check(r->nrows == 1, "KILL CLIENT: one row (%zu)", r->nrows);
            check_str(rs_get(r, 0, "id"), id, "KILL CLIENT: the row's id");
        }
        rs_free(r);
        unsigned e = 0;
        if (mysql_query(victim, "SELECT 1") == 0) {
            MYSQL_RES *res = mysql_store_result(victim);
            if (res != NULL)
                mysql_free_result(res);
        } else {
            e = mysql_errno(victim);
        }
        if (!check(e == 2013 || e == 2006,
                   "KILL CLIENT: the killed client's next statement fails "
                   "with a lost connection (2013/2006)"))
            it_diag("errno %u %s", e, e ? mysql_error(victim) : "");
        check(it_exec(other, "SELECT 1"),
              "KILL CLIENT: the other client still works");
        double end = it_now() + 2;
        bool gone = false;
        do {
            r = rs_run(a, "SHOW CLIENTS");
            gone = r->set && rs_find(r, "id", id) < 0;
            rs_free(r);
            if (!gone)
                it_sleep_ms(100);
        } while (!gone && it_now() < end);
        check(gone, "KILL CLIENT: the killed client leaves SHOW CLIENTS");
    }
    r = rs_run(a, "KILL CLIENT %lu", unknown);
    if (!check(!r->ok && r->err == 1094, "KILL CLIENT of an unknown id: 1094"))
        rs_diag(r, 2);
    rs_free(r);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1, "the console goes on after KILL CLIENT");
    rs_free(r);
    mysql_close(victim);
    mysql_close(other);
}

/* ---------------------------------------------- this program's myshard */

static struct it_proxy px; /* this program's myshard */
static long long id_s0p = -1, id_s0r = -1;

/* The config of this program's myshard: the test cluster, replicas
 * reading (weight 1). extra_user adds NEW_USER; rule names the rule of
 * orders (BAD_RULE breaks the file). The line of that rule goes to
 * *rule_line. */
static char *
own_config(bool extra_user, const char *rule, int *rule_line)
{
    char *users = xprintf("users:\n"
                          "  - name: %s\n"
                          "    password: %s\n"
                          "    schemas: [shop]\n"
                          "%s",
                          it_user(), it_password(),
                          extra_user ? "  - name: " NEW_USER "\n"
                                       "    password: " NEW_PASS "\n"
                                       "    schemas: [shop]\n"
                                     : "");
    char *text = xprintf(
        "# written by itest_admin\n"
        "listen: 127.0.0.1:%u\n"
        "workers: 2\n"
        "shutdown_timeout: 3s\n"
        "handshake_timeout: 2s\n"
        "admin:\n"
        "  listen: 127.0.0.1:%u\n"
        "  http: 127.0.0.1:%u\n"
        "  user: %s\n"
        "  password: %s\n"
        "%s"
        "backend:\n"
        "  user: %s\n"
        "  password: %s\n"
        "  connect_timeout: 1s\n"
        "  pool:\n"
        "    max_connections: 20\n"
        "  health: { interval: 500ms, max_replica_lag: 2s, "
        "circuit: { failures: 3, open_for: 2s } }\n"
        "shards:\n"
        "  - name: s0\n"
        "    primary: %s\n"
        "    replicas:\n"
        "      - { addr: %s, weight: 1 }\n"
        "  - name: s1\n"
        "    primary: %s\n"
        "    replicas:\n"
        "      - { addr: %s, weight: 1 }\n"
        "sharding_rules:\n"
        "  user_hash: { type: hash, shards: [s0, s1], slots: 1024 }\n"
        "schemas:\n"
        "  - name: shop\n"
        "    default_shard: s0\n"
        "    tables:\n"
        "      - { name: " TO ", key: user_id, rule: %s }\n",
        px.port, px.admin_port, px.http_port, admin_user, admin_password, users,
        it_env("BACKEND_USER", "myshard"), it_env("BACKEND_PASSWORD", "secret"),
        a_s0p, a_s0r, a_s1p, a_s1r, rule);
    free(users);
    if (rule_line != NULL) {
        const char *at = strstr(text, "key: user_id, rule: ");
        int line = 1;
        for (const char *p = text; at != NULL && p < at; p++)
            line += *p == '\n';
        *rule_line = line;
    }
    return text;
}

/* @@server_id answering a read of TA on a new session of this program's
 * myshard; -1 on error. */
static long long
read_server_id(void)
{
    MYSQL *m = connect_port("127.0.0.1", px.port, it_user(), it_password(),
                            it_db(), NULL, NULL, 0);
    if (m == NULL)
        return -1;
    long long v = it_int(m, -1, "SELECT @@server_id FROM " TA " WHERE id = 1");
    mysql_close(m);
    return v;
}

static const char *
who(long long id)
{
    if (id < 0)
        return "error";
    if (id == id_s0p)
        return "s0 primary";
    if (id == id_s0r)
        return "s0 replica";
    return "another server";
}

/* Polls reads until the server want answers; seconds taken or -1. */
static double
reads_reach(long long want, double timeout, long long *last)
{
    double t0 = it_now();
    do {
        *last = read_server_id();
        if (*last == want)
            return it_now() - t0;
        it_sleep_ms(100);
    } while (it_now() - t0 < timeout);
    return -1;
}

/* n reads in a row, all answered by want. */
static bool
reads_stay(long long want, int n)
{
    for (int i = 0; i < n; i++) {
        long long id = read_server_id();
        if (id != want) {
            it_diag("read %d: @@server_id %lld (%s)", i, id, who(id));
            return false;
        }
    }
    return true;
}

/* The state column of addr in SHOW BACKENDS on a ("" when absent). */
static void
backend_state(MYSQL *a, const char *addr, char *out, size_t size)
{
    struct rs *r = rs_run(a, "SHOW BACKENDS");
    long i = rs_find(r, "backend", addr);
    const char *st = i >= 0 ? rs_get(r, (size_t)i, "state") : NULL;
    snprintf(out, size, "%s", st != NULL ? st : "");
    rs_free(r);
}

/* <cmd> '<s0 replica>' <verb> on a (cmd: SET BACKEND in any case); checks the
 * answer row names addr and the state want. */
static bool
set_backend(MYSQL *a, const char *cmd, const char *verb, const char *want)
{
    struct rs *r = rs_run(a, "%s '%s' %s", cmd, a_s0r, verb);
    bool ok = false;
    char what[128];
    snprintf(what, sizeof(what), "%s '<s0 replica>' %s", cmd, verb);
    if (check_cols(r, what, "backend,state")) {
        ok = r->nrows == 1 && rs_get(r, 0, "backend") != NULL &&
             strcmp(rs_get(r, 0, "backend"), a_s0r) == 0 &&
             rs_get(r, 0, "state") != NULL &&
             strcmp(rs_get(r, 0, "state"), want) == 0;
        if (!check(ok, "%s: one row, %s %s", what, a_s0r, want))
            rs_diag(r, 3);
    }
    rs_free(r);
    return ok;
}

static void
test_set_backend(MYSQL *a)
{
    long long last = -1;
    /* the replica must have TA's row first */
    MYSQL *rep = it_connect_backend("S0_REPLICA_PORT", it_db());
    double end = it_now() + 15;
    long long n = -1;
    while (rep != NULL && it_now() < end) {
        if (mysql_query(rep, "SELECT COUNT(*) FROM " TA) == 0) {
            MYSQL_RES *res = mysql_store_result(rep);
            MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
            n = row != NULL && row[0] != NULL ? atoll(row[0]) : -1;
            if (res != NULL)
                mysql_free_result(res);
        }
        if (n == 2)
            break;
        it_sleep_ms(200);
    }
    if (rep != NULL)
        mysql_close(rep);
    check(n == 2, "the s0 replica has " TA " (direct)");

    double t = reads_reach(id_s0r, 10, &last);
    if (!check(t >= 0, "reads of " TA " (default shard s0) through this "
                       "myshard go to the s0 replica (@@server_id)"))
        it_diag("last @@server_id %lld (%s)", last, who(last));
    if (!need(a, "SET BACKEND"))
        return;

    set_backend(a, "SET BACKEND", "OFFLINE", "offline");
    t = reads_reach(id_s0p, SWITCH_S, &last);
    if (!check(t >= 0,
               "after SET BACKEND OFFLINE the reads go to the s0 primary "
               "within %.1f s",
               SWITCH_S))
        it_diag("last @@server_id %lld (%s)", last, who(last));
    else
        it_diag("after %.2f s", t);
    check(t >= 0 && reads_stay(id_s0p, 10),
          "and stay there: 10 more reads by the s0 primary");
    char st[32];
    backend_state(a, a_s0r, st, sizeof(st));
    check_str(st, "offline", "SHOW BACKENDS: the s0 replica is offline");
    backend_state(a, a_s0p, st, sizeof(st));
    check_str(st, "online", "SHOW BACKENDS: the s0 primary stays online");

    set_backend(a, "set backend", "online;", "online");
    t = reads_reach(id_s0r, BACK_S, &last);
    if (!check(t >= 0,
               "after ONLINE the reads go back to the s0 replica "
               "within %.0f s",
               BACK_S))
        it_diag("last @@server_id %lld (%s)", last, who(last));
    backend_state(a, a_s0r, st, sizeof(st));
    check_str(st, "online", "SHOW BACKENDS: the s0 replica is online again");

    set_backend(a, "SET BACKEND", "DRAIN", "draining");
    set_backend(a, "SET BACKEND", "ONLINE", "online");

    struct rs *r = rs_run(a, "SET BACKEND '127.0.0.1:1' OFFLINE");
    check_myshard_error(r, 0, "SET BACKEND of an unknown address");
    rs_free(r);
    r = rs_run(a, "SHOW BACKENDS");
    check(r->set && r->nrows == 4, "the console goes on after that error");
    rs_free(r);
}

static void
reload_checks(MYSQL *a)
{
    unsigned err;
    char msg[256];
    MYSQL *m;
    struct rs *r = rs_run(a, "RELOAD CONFIG");
    if (check_cols(r, "RELOAD CONFIG", "status,detail")) {
        if (!check(r->nrows == 1, "RELOAD CONFIG: one row (%zu)", r->nrows))
            rs_diag(r, 3);
        else
            it_diag("status '%s', detail '%s'",
                    rs_get(r, 0, "status") ? rs_get(r, 0, "status") : "NULL",
                    rs_get(r, 0, "detail") ? rs_get(r, 0, "detail") : "NULL");
    }
    rs_free(r);
    double end = it_now() + 3;
    do {
        m = connect_port("127.0.0.1", px.port, NEW_USER, NEW_PASS, it_db(),
                         &err, msg, sizeof(msg));
        if (m == NULL)
            it_sleep_ms(100);
    } while (m == NULL && it_now() < end);
    if (!check(m != NULL && it_exec(m, "SELECT * FROM " TA " WHERE id = 1"),
               "RELOAD CONFIG: " NEW_USER " logs in and reads"))
        it_diag("%u %s", err, msg);
    if (m != NULL)
        mysql_close(m);

    /* a broken file: the error names it and its line, the old config
     * serves on */
    int line = 0;
    char *bad = own_config(true, BAD_RULE, &line);
    check(write_file(px.cfg, bad),
          "RELOAD CONFIG: %s broken on line %d (rule " BAD_RULE ")", px.cfg,
          line);
    free(bad);
    r = rs_run(a, "RELOAD CONFIG");
    check_myshard_error(r, 0, "RELOAD CONFIG of a broken file");
    const char *base = strrchr(px.cfg, '/');
    base = base != NULL ? base + 1 : px.cfg;
    char *where = xprintf("%s:%d", base, line);
    const char *at = strstr(r->msg, where);
    bool named =
        !r->ok && at != NULL && !isdigit((unsigned char)at[strlen(where)]);
    if (!check(named, "RELOAD CONFIG: the error names %s", where))
        it_diag("error %u: %s", r->err, r->msg);
    free(where);
    rs_free(r);
    m = connect_port("127.0.0.1", px.port, NEW_USER, NEW_PASS, it_db(), &err,
                     msg, sizeof(msg));
    if (!check(m != NULL && it_exec(m, "SELECT * FROM " TA " WHERE id = 1"),
               "RELOAD CONFIG: after the failed reload " NEW_USER
               " still logs in and reads (the old config serves)"))
        it_diag("%u %s", err, msg);
    if (m != NULL)
        mysql_close(m);
    m = connect_port("127.0.0.1", px.port, it_user(), it_password(), it_db(),
                     &err, msg, sizeof(msg));
    if (!check(m != NULL && it_exec(m, "INSERT INTO " TO
                                       " (id, user_id) VALUES (100, 100)"),
               "RELOAD CONFIG: and %s writes to the sharded " TO, it_user()))
        it_diag("%u %s", err, msg);
    if (m != NULL)
        mysql_close(m);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1, "the console goes on after that error");
    rs_free(r);
}

static void
test_reload(MYSQL *a)
{
    unsigned err;
    char msg[256];
    MYSQL *m = connect_port("127.0.0.1", px.port, NEW_USER, NEW_PASS, it_db(),
                            &err, msg, sizeof(msg));
    check(m == NULL && err == 1045,
          "RELOAD CONFIG: " NEW_USER " is refused (1045) before the reload");
    if (m != NULL)
        mysql_close(m);
    else if (err != 1045)
        it_diag("%u %s", err, msg);

    char *good = own_config(true, "user_hash", NULL);
    check(write_file(px.cfg, good), "RELOAD CONFIG: %s gets user " NEW_USER,
          px.cfg);
    if (need(a, "RELOAD CONFIG"))
        reload_checks(a);
    /* the valid file again, for whatever reads it next */
    write_file(px.cfg, good);
    free(good);
}

static void
test_own_proxy(void)
{
    bool have_bin = it_proxy_have_bin(&px);
    if (!check(have_bin && s0r != 0 && s1r != 0,
               "MYSHARD_BIN and the replicas' ports for a myshard of this "
               "program")) {
        it_diag("MYSHARD_BIN=%s", px.bin ? px.bin : "(unset)");
        return;
    }
    if (!it_proxy_dir(&px, "itest_admin")) {
        check(false, "mkdtemp %s: %s", px.dir, strerror(errno));
        return;
    }
    it_diag("this program's myshard: 127.0.0.1:%u, console 127.0.0.1:%u, "
            "files in %s",
            px.port, px.admin_port, px.dir);

    MYSQL *d = it_connect_backend("S0_PRIMARY_PORT", NULL);
    id_s0p = it_int(d, -1, "SELECT @@server_id");
    if (d != NULL)
        mysql_close(d);
    d = it_connect_backend("S0_REPLICA_PORT", NULL);
    id_s0r = it_int(d, -1, "SELECT @@server_id");
    if (d != NULL)
        mysql_close(d);
    if (!check(id_s0p > 0 && id_s0r > 0 && id_s0p != id_s0r,
               "the s0 primary and replica have distinct @@server_id "
               "(direct: %lld, %lld)",
               id_s0p, id_s0r))
        return;

    char *text = own_config(false, "user_hash", NULL);
    bool written = write_file(px.cfg, text);
    free(text);
    if (!check(written, "write %s (replicas with weight 1)", px.cfg))
        return;
    if (!check(it_proxy_start(&px, NULL), "this program's myshard starts"))
        return;
    MYSQL *a = admin_connect(px.admin_port);
    check(a != NULL, "admin login on this program's myshard");

    test_set_backend(a);
    test_reload(a);

    if (a != NULL)
        mysql_close(a);
    int st = 0;
    double t0 = it_now();
    bool gone = it_proxy_stop(&px, SIGTERM, 8, &st);
    check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "this program's myshard exits 0 on SIGTERM (%.2f s)", it_now() - t0);
    bool clean = it_proxy_log_clean(&px);
    check(clean, "its log has no sanitizer report");
}

/* ------------------------------------------------------------- setup */

static bool
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

static void
teardown(MYSQL *d0, MYSQL *d1)
{
    if (d0 != NULL) {
        it_exec(d0, "DROP TABLE IF EXISTS " TA);
        it_exec(d0, "DROP TABLE IF EXISTS " TO);
    }
    if (d1 != NULL)
        it_exec(d1, "DROP TABLE IF EXISTS " TO);
}

int
main(void)
{
    /* nothing here may wait long: a console that does not answer fails */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "15", 0);
    it_init("itest_admin");
    if (!it_expect_proxy()) {
        it_skip("needs myshard (MYSHARD_EXPECT_PROXY=1)", "admin console");
        return it_done();
    }
    it_proxy_init(&px);
    px.io_s = IO_S;
    px.exit_detail = true;
    it_proxy_watchdog(&px, WATCHDOG_S);
    double t_start = it_now();

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
        return it_done();

    MYSQL *d0 = it_connect_backend("S0_PRIMARY_PORT", it_db());
    MYSQL *d1 = it_connect_backend("S1_PRIMARY_PORT", it_db());
    if (!check(setup(d0, d1), "tables " TA " (s0) and " TO
                              " (s0 and s1) created on the primaries")) {
        teardown(d0, d1);
        if (d0 != NULL)
            mysql_close(d0);
        if (d1 != NULL)
            mysql_close(d1);
        return it_done();
    }

    MYSQL *a = admin_connect(admin_port);
    check(a != NULL, "login as %s on the admin port %u", admin_user,
          admin_port);
    test_login(a);
    test_help(a);
    test_version(a);
    test_shards(a);
    test_backends(a);
    test_pools(a);
    test_clients(a);
    test_users(a);
    test_stats(a);
    test_digests(a);
    test_config(a);
    test_explain(a, d0, d1);
    test_errors(a);
    test_kill(a);
    if (a != NULL)
        mysql_close(a);

    test_own_proxy();

    teardown(d0, d1);
    if (d0 != NULL)
        mysql_close(d0);
    if (d1 != NULL)
        mysql_close(d1);
    it_diag("itest_admin ran %.1f s", it_now() - t_start);
    int rc = it_done();
    if (px.dir[0] != '\0')
        it_proxy_cleanup(&px, rc);
    return rc;
}
