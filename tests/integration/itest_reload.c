/*
 * Live config reload (SIGHUP) through a myshard instance this program
 * starts ($MYSHARD_BIN) with its own config in a temporary directory: two
 * schemas over the s0 and s1 primaries, rl (items(id, v) sharded by id with
 * a mod rule: even ids on s0, odd on s1) and rl2 (one table on s0), and the
 * users app, old and pw. Every reload is followed in the proxy's log; rows
 * are witnessed on the primaries themselves.
 *
 *   a. a client with an open transaction (a write on s1) stays while a user
 *      is appended to the file and SIGHUP reloads it: the new user logs in,
 *      the transaction goes on and commits, its rows are on s1, the client
 *      keeps working
 *   b. a file with a syntax error, then one with an undefined rule (each
 *      with another new user) is refused: the log names file:line:col, the
 *      new user cannot log in, the proxy serves with the old config
 *   c. a removed user cannot log in; its idle client is closed; its client
 *      in the middle of a statement gets the answer, then is closed
 *   d. a changed listen address is reported as needing a restart; the old
 *      port keeps serving, the new one is not opened
 *   e. a changed password: the new one works, the old one gets 1045
 *   f. a removed schema: its client has no database (1046 on a table, NULL
 *      for DATABASE()) until it USEs another; logging in to it gets 1049
 *   g. ten reloads while 8 threads run statements (point reads and writes,
 *      transactions, scatter counts, schema-qualified names the proxy
 *      renames, a prepared statement from before the reloads) without a
 *      pause: zero errors
 */
#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DB1        "itest_reload"  /* backend schema of rl, both primaries */
#define DB2        "itest_reload2" /* backend schema of rl2, s0 */
#define START_S    20.0
#define RELOAD_S   10.0 /* a reload shows in the log within this */
#define WATCHDOG_S 170
#define THREADS    8
#define LOAD_S     6.0 /* the threads of g run this long */
#define RELOADS    10

static char tmpdir[256];
static char cfg_path[300];
static char log_path[300];
static unsigned listen_port, admin_port, http_port;
static const char *bin;
static volatile pid_t proxy_pid = -1;
static MYSQL *d0, *d1;     /* direct: s0 and s1 primaries */
static int generation = 1; /* the proxy's, as its log says */

/* What the generated config says. */
struct conf {
    unsigned listen;      /* port */
    const char *pw_pass;  /* user pw's password */
    bool old_user;        /* user old (password old) exists */
    bool schema2;         /* schema rl2 exists */
    bool newbie;          /* user newbie (password newpw) exists */
    int pool_max;         /* backend.pool.max_connections */
    const char *slow;     /* slow_query_time */
    const char *bad_rule; /* a table of rl names this rule (undefined) */
};

static struct conf
conf_base(void)
{
    struct conf c = {.listen = listen_port,
                     .pw_pass = "first",
                     .old_user = true,
                     .schema2 = true,
                     .pool_max = 50,
                     .slow = "1s"};
    return c;
}

/* ------------------------------------------------------------ helpers */

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void
watchdog(int sig)
{
    static const char msg[] = "Bail out! watchdog timeout (myshard killed)\n";
    (void)sig;
    if (proxy_pid > 0)
        kill(proxy_pid, SIGKILL);
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

static long
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Whether the file holds needle past offset from. */
static bool
file_has(const char *path, long from, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    if (from > 0)
        fseek(f, from, SEEK_SET);
    char buf[2048];
    bool found = false;
    while (!found && fgets(buf, sizeof(buf), f) != NULL)
        found = strstr(buf, needle) != NULL;
    fclose(f);
    return found;
}

/* Polls the log past from for needle, up to timeout s. */
static bool
log_wait(long from, const char *needle, double timeout)
{
    double deadline = it_now() + timeout;
    for (;;) {
        if (file_has(log_path, from, needle))
            return true;
        if (it_now() >= deadline)
            return false;
        sleep_ms(20);
    }
}

static void
diag_log_tail(long from, int lines)
{
    FILE *f = fopen(log_path, "r");
    if (f == NULL)
        return;
    if (from > 0)
        fseek(f, from, SEEK_SET);
    char *ring[64] = {0};
    int n = 0;
    char buf[1024];
    if (lines > 64)
        lines = 64;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        free(ring[n % lines]);
        ring[n % lines] = strdup(buf);
        n++;
    }
    fclose(f);
    for (int i = n > lines ? n - lines : 0; i < n; i++)
        it_diag("log: %s", ring[i % lines] ? ring[i % lines] : "");
    for (int i = 0; i < lines; i++)
        free(ring[i]);
}

static bool
write_file(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* The config text of c (malloc'd). Users come last, so that appending a
 * list entry to the file adds a user. */
static char *
conf_text(const struct conf *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);

    fprintf(o,
            "# generated by itest_reload\n"
            "listen: 127.0.0.1:%u\n"
            "workers: 2\n"
            "shutdown_timeout: 3s\n"
            "handshake_timeout: 2s\n"
            "slow_query_time: %s\n"
            "admin:\n"
            "  listen: 127.0.0.1:%u\n"
            "  http: 127.0.0.1:%u\n"
            "backend:\n"
            "  user: %s\n"
            "  password: %s\n"
            "  connect_timeout: 1s\n"
            "  pool:\n"
            "    max_connections: %d\n"
            "# primaries only: every read must see the latest commit\n"
            "shards:\n"
            "  - name: s0\n"
            "    primary: 127.0.0.1:%u\n"
            "  - name: s1\n"
            "    primary: 127.0.0.1:%u\n"
            "sharding_rules:\n"
            "  id_mod: { type: mod, shards: [s0, s1] }\n"
            "schemas:\n"
            "  - name: rl\n"
            "    backend_schema: " DB1 "\n"
            "    default_shard: s0\n"
            "    tables:\n"
            "      - { name: items, key: id, rule: %s }\n",
            c->listen, c->slow, admin_port, http_port,
            it_env("BACKEND_USER", "myshard"),
            it_env("BACKEND_PASSWORD", "secret"), c->pool_max,
            it_backend_port("S0_PRIMARY_PORT"),
            it_backend_port("S1_PRIMARY_PORT"),
            c->bad_rule ? c->bad_rule : "id_mod");
    if (c->schema2)
        fprintf(o, "  - name: rl2\n"
                   "    backend_schema: " DB2 "\n"
                   "    default_shard: s0\n");
    fprintf(o,
            "users:\n"
            "  - name: %s\n"
            "    password: %s\n"
            "    schemas: [rl%s]\n"
            "  - name: pw\n"
            "    password: %s\n"
            "    schemas: [rl]\n",
            it_user(), it_password(), c->schema2 ? ", rl2" : "", c->pw_pass);
    if (c->old_user)
        fprintf(o, "  - name: old\n"
                   "    password: old\n"
                   "    schemas: [rl]\n");
    if (c->newbie)
        fprintf(o, "  - name: newbie\n"
                   "    password: newpw\n"
                   "    schemas: [rl]\n");
    fclose(o);
    return text;
}

static bool
write_conf(const struct conf *c)
{
    char *text = conf_text(c);
    bool ok = write_file(cfg_path, text, "w");
    free(text);
    return ok;
}

/* Line (1-based) and column of needle's first occurrence in c's text. */
static bool
conf_find(const struct conf *c, const char *needle, int *line, int *col)
{
    char *text = conf_text(c);
    const char *at = strstr(text, needle);
    bool found = at != NULL;
    if (found) {
        const char *bol = text;
        *line = 1;
        for (const char *p = text; p < at; p++)
            if (*p == '\n') {
                (*line)++;
                bol = p + 1;
            }
        *col = (int)(at - bol) + 1;
    }
    free(text);
    return found;
}

/* A client of this program's myshard; NULL (errno in *err) on failure. */
static MYSQL *
connect_to(unsigned port, const char *user, const char *pass, const char *db,
           unsigned *err)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5, rt = 20;
    if (m == NULL) {
        if (err)
            *err = 0;
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    if (mysql_real_connect(m, "127.0.0.1", user, pass, db, port, NULL, 0) ==
        NULL) {
        if (err)
            *err = mysql_errno(m);
        mysql_close(m);
        return NULL;
    }
    if (err)
        *err = 0;
    return m;
}

static MYSQL *
connect_as(const char *user, const char *pass, const char *db, unsigned *err)
{
    return connect_to(listen_port, user, pass, db, err);
}

/* Whether user/pass logs in (into db rl); else *err is the errno. */
static bool
can_login(const char *user, const char *pass, unsigned *err)
{
    if (err)
        *err = 0;
    MYSQL *m = connect_as(user, pass, "rl", err);
    bool ok = m != NULL && mysql_query(m, "SELECT 1") == 0;
    if (ok) {
        MYSQL_RES *r = mysql_store_result(m);
        if (r)
            mysql_free_result(r);
    } else if (m != NULL && err) {
        *err = mysql_errno(m);
    }
    if (m)
        mysql_close(m);
    return ok;
}

/* mysql_query; on success discards any result. errno, 0 on success. */
static unsigned
run(MYSQL *m, const char *sql)
{
    if (m == NULL)
        return 2006;
    if (mysql_query(m, sql) != 0)
        return mysql_errno(m) ? mysql_errno(m) : 1;
    MYSQL_RES *r = mysql_store_result(m);
    if (r)
        mysql_free_result(r);
    return 0;
}

static bool
wait_for(pid_t pid, double timeout, int *status)
{
    double deadline = it_now() + timeout;
    do {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
        sleep_ms(20);
    } while (it_now() < deadline);
    return false;
}

static bool
start_proxy(void)
{
    long from = file_size(log_path);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(bin, bin, "-c", cfg_path, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        it_diag("fork: %s", strerror(errno));
        return false;
    }
    proxy_pid = pid;
    double t0 = it_now(), deadline = t0 + START_S;
    unsigned err = 0;
    int status = 0;
    while (it_now() < deadline) {
        MYSQL *m = connect_as(it_user(), it_password(), NULL, &err);
        if (m != NULL) {
            mysql_close(m);
            it_diag("myshard (pid %d) accepts clients after %.2f s", (int)pid,
                    it_now() - t0);
            return true;
        }
        if (wait_for(pid, 0.1, &status)) {
            it_diag("myshard exited at start-up");
            proxy_pid = -1;
            diag_log_tail(from, 15);
            return false;
        }
    }
    it_diag("myshard did not accept clients within %.0f s (last errno %u)",
            START_S, err);
    diag_log_tail(from, 15);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    proxy_pid = -1;
    return false;
}

static bool
stop_proxy(double timeout, int *status)
{
    int st = 0;
    bool gone = true;
    if (proxy_pid <= 0)
        return false;
    kill(proxy_pid, SIGTERM);
    if (!wait_for(proxy_pid, timeout, &st)) {
        gone = false;
        kill(proxy_pid, SIGKILL);
        waitpid(proxy_pid, &st, 0);
    }
    proxy_pid = -1;
    if (status)
        *status = st;
    return gone;
}

/* SIGHUP, then waits for the log line that says how it ended: "applied"
 * (the next generation), "refused" or "restart" (nothing applied). */
static bool
reload(const char *expect, long *log_from)
{
    char needle[400];
    long from = file_size(log_path);
    if (log_from)
        *log_from = from;
    if (proxy_pid <= 0)
        return false;
    if (strcmp(expect, "applied") == 0)
        snprintf(needle, sizeof(needle),
                 "config reloaded file=%s generation=%d", cfg_path,
                 generation + 1);
    else if (strcmp(expect, "refused") == 0)
        snprintf(needle, sizeof(needle), "config reload refused");
    else
        snprintf(needle, sizeof(needle), "nothing applied; needs a restart");
    kill(proxy_pid, SIGHUP);
    bool ok = log_wait(from, needle, RELOAD_S);
    if (!ok) {
        it_diag("no '%s' in the log within %.0f s", needle, RELOAD_S);
        diag_log_tail(from, 10);
    } else if (strcmp(expect, "applied") == 0) {
        generation++;
    }
    return ok;
}

/* Row count of id in DB1.items on the primary holding it (mod rule). */
static long long
witness(int id)
{
    return it_int(id % 2 == 0 ? d0 : d1, -1,
                  "SELECT COUNT(*) FROM " DB1 ".items WHERE id = %d", id);
}

static bool
setup_backend(void)
{
    bool ok = true;
    MYSQL *ms[2] = {d0, d1};
    for (int i = 0; i < 2 && ok; i++)
        ok = it_exec(ms[i], "DROP DATABASE IF EXISTS " DB1) &&
             it_exec(ms[i], "DROP DATABASE IF EXISTS " DB2) &&
             it_exec(ms[i], "CREATE DATABASE " DB1) &&
             it_exec(ms[i], "CREATE TABLE " DB1 ".items (id INT PRIMARY KEY, "
                            "v INT NOT NULL) ENGINE=InnoDB");
    return ok && it_exec(d0, "CREATE DATABASE " DB2) &&
           it_exec(d0, "CREATE TABLE " DB2 ".t2 (id INT PRIMARY KEY)") &&
           it_exec(d0, "INSERT INTO " DB2 ".t2 VALUES (1)");
}

/* ------------------------------------- a. transaction across a reload */

static void
test_transaction_across_reload(void)
{
    unsigned err = 0;
    MYSQL *a = connect_as(it_user(), it_password(), "rl", &err);
    check(a != NULL, "a: a client connects (errno %u)", err);
    unsigned e = run(a, "BEGIN");
    if (e == 0)
        e = run(a, "INSERT INTO items (id, v) VALUES (1001, 1)");
    check(e == 0, "a: BEGIN and an INSERT on s1 (errno %u)", e);
    check(!can_login("newbie", "newpw", &err) && err == 1045,
          "a: newbie cannot log in before the reload (errno %u)", err);

    bool appended = write_file(cfg_path,
                               "  - name: newbie\n"
                               "    password: newpw\n"
                               "    schemas: [rl]\n",
                               "a");
    check(appended, "a: newbie appended to %s", cfg_path);
    check(reload("applied", NULL), "a: SIGHUP reloads the config");
    check(can_login("newbie", "newpw", &err),
          "a: newbie logs in after the reload (errno %u)", err);

    e = run(a, "INSERT INTO items (id, v) VALUES (1003, 3)");
    check(e == 0, "a: the open transaction takes another INSERT (errno %u)", e);
    check_int(witness(1001), 0, "a: before COMMIT, s1 does not show the row");
    e = run(a, "COMMIT");
    check(e == 0, "a: the transaction commits (errno %u %s)", e,
          a ? mysql_error(a) : "");
    check(witness(1001) == 1 && witness(1003) == 1,
          "a: both rows are on the s1 primary");
    long long n =
        a ? it_int(a, -1, "SELECT COUNT(*) FROM items WHERE id IN (1001, 1003)")
          : -1;
    check_int(n, 2, "a: the old client keeps working and sees both rows");
    e = run(a, "INSERT INTO items (id, v) VALUES (1004, 4)");
    check(e == 0 && witness(1004) == 1,
          "a: the old client writes on s0 after the reload (errno %u)", e);
    if (a)
        mysql_close(a);
}

/* --------------------------------------------------- b. broken files */

static void
broken_case(const char *what, const char *tail, const struct conf *c, int line,
            int col)
{
    unsigned err = 0;
    char where[400];
    MYSQL *keep = connect_as(it_user(), it_password(), "rl", &err);
    bool ok = c ? write_conf(c) : true;
    if (tail)
        ok = ok && write_file(cfg_path, tail, "a");
    check(ok, "b %s: the file written", what);
    long from = 0;
    check(reload("refused", &from), "b %s: the reload is refused", what);
    snprintf(where, sizeof(where), "%s:%d:%d: error:", cfg_path, line, col);
    bool named = file_has(log_path, from, where);
    check(named, "b %s: the log names %s", what, where);
    if (!named)
        diag_log_tail(from, 8);
    check(!can_login("newbie2", "pw2", &err) && err == 1045,
          "b %s: the file's new user cannot log in (errno %u)", what, err);
    check(can_login("newbie", "newpw", &err),
          "b %s: the running config's users still log in (errno %u)", what,
          err);
    long long n = keep ? it_int(keep, -1, "SELECT COUNT(*) FROM items") : -1;
    check(n >= 3, "b %s: a client connected before keeps working", what);
    if (keep)
        mysql_close(keep);
}

static void
test_broken_files(void)
{
    /* the running config: base + newbie (appended in a) */
    struct conf c = conf_base();
    c.newbie = true;
    char *text = conf_text(&c);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    free(text);
    /* a flow sequence never closed: the parser stops at the end */
    broken_case("syntax",
                "  - name: newbie2\n"
                "    password: pw2\n"
                "    schemas: [rl\n",
                &c, lines + 4, 1);

    struct conf bad = c;
    bad.bad_rule = "nope";
    int line = 0, col = 0;
    conf_find(&bad, "nope", &line, &col);
    broken_case("unknown rule",
                "  - name: newbie2\n"
                "    password: pw2\n"
                "    schemas: [rl]\n",
                &bad, line, col);
    write_conf(&c); /* what runs */
}

/* ---------------------------------------------------- c. removed user */

struct sleeper {
    MYSQL *m;
    unsigned err;
    long long got;
};

static void *
sleeper_main(void *arg)
{
    struct sleeper *sl = arg;
    mysql_thread_init();
    sl->got = -1;
    if (mysql_query(sl->m, "SELECT SLEEP(2)") != 0) {
        sl->err = mysql_errno(sl->m);
    } else {
        MYSQL_RES *r = mysql_store_result(sl->m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row && row[0])
            sl->got = atoll(row[0]);
        if (r)
            mysql_free_result(r);
    }
    mysql_thread_end();
    return NULL;
}

static void
test_removed_user(void)
{
    unsigned err = 0;
    struct conf c = conf_base();
    c.newbie = true;
    check(can_login("old", "old", &err), "c: old logs in (errno %u)", err);
    MYSQL *idle = connect_as("old", "old", "rl", &err);
    struct sleeper sl = {.m = connect_as("old", "old", "rl", &err)};
    check(idle != NULL && sl.m != NULL, "c: two clients of old connect");
    pthread_t th;
    bool started =
        sl.m != NULL && pthread_create(&th, NULL, sleeper_main, &sl) == 0;
    sleep_ms(500); /* SELECT SLEEP(2) is running */

    c.old_user = false;
    long from = 0;
    check(write_conf(&c) && reload("applied", &from),
          "c: the config without old reloads");
    check(!can_login("old", "old", &err) && err == 1045,
          "c: old cannot log in after the reload (errno %u)", err);
    unsigned e = run(idle, "SELECT 1");
    check(e == 2013 || e == 2006, "c: old's idle client was closed (errno %u)",
          e);
    if (started)
        pthread_join(th, NULL);
    check(sl.err == 0 && sl.got == 0,
          "c: old's statement in flight got its answer (errno %u, got %lld)",
          sl.err, sl.got);
    e = run(sl.m, "SELECT 1");
    check(e == 2013 || e == 2006,
          "c: ... and then its client was closed (errno %u)", e);
    check(file_has(log_path, from, "a reload removed the user of a client"),
          "c: the log says why the clients were closed");
    if (idle)
        mysql_close(idle);
    if (sl.m)
        mysql_close(sl.m);
}

/* ---------------------------------------------------- d. listen moves */

static void
test_listen_change(void)
{
    unsigned err = 0;
    struct conf c = conf_base();
    c.newbie = true;
    c.old_user = false;
    unsigned other = it_free_port();
    c.listen = other;
    MYSQL *before = connect_as(it_user(), it_password(), "rl", &err);
    long from = 0;
    check(write_conf(&c) && reload("restart", &from),
          "d: a changed listen reloads with nothing applied");
    check(file_has(log_path, from, "needs a restart: listen"),
          "d: the log says listen needs a restart");
    check(run(before, "SELECT COUNT(*) FROM items") == 0,
          "d: a client of the old port keeps working");
    check(can_login(it_user(), it_password(), &err),
          "d: the old port accepts new clients (errno %u)", err);
    MYSQL *m = connect_to(other, it_user(), it_password(), "rl", &err);
    check(m == NULL, "d: the new port %u is not opened (errno %u)", other, err);
    if (m)
        mysql_close(m);
    if (before)
        mysql_close(before);
    c.listen = listen_port;
    write_conf(&c);
}

/* ------------------------------------------------- e. password change */

static void
test_password_change(void)
{
    unsigned err = 0;
    struct conf c = conf_base();
    c.newbie = true;
    c.old_user = false;
    check(can_login("pw", "first", &err), "e: pw logs in with its password");
    c.pw_pass = "second";
    check(write_conf(&c) && reload("applied", NULL),
          "e: the config with pw's new password reloads");
    check(can_login("pw", "second", &err),
          "e: the new password works (errno %u)", err);
    check(!can_login("pw", "first", &err) && err == 1045,
          "e: the old password gets 1045 (errno %u)", err);
}

/* --------------------------------------------------- f. removed schema */

static void
test_removed_schema(void)
{
    unsigned err = 0;
    struct conf c = conf_base();
    c.newbie = true;
    c.old_user = false;
    c.pw_pass = "second";
    MYSQL *s = connect_as(it_user(), it_password(), "rl2", &err);
    long long n = s ? it_int(s, -1, "SELECT COUNT(*) FROM t2") : -1;
    check_int(n, 1, "f: a client of rl2 reads its table");
    c.schema2 = false;
    check(write_conf(&c) && reload("applied", NULL),
          "f: the config without rl2 reloads");
    bool is_null = false;
    char *db = s ? it_value(s, &is_null, "SELECT DATABASE()") : NULL;
    check(s != NULL && db == NULL && is_null,
          "f: the client's DATABASE() is NULL now");
    free(db);
    unsigned e = run(s, "SELECT COUNT(*) FROM t2");
    check(e == 1046, "f: a table without a database gets 1046 (errno %u)", e);
    e = run(s, "USE rl");
    check(e == 0, "f: USE rl works (errno %u)", e);
    n = s ? it_int(s, -1, "SELECT COUNT(*) FROM items WHERE id = 1004") : -1;
    check_int(n, 1, "f: ... and the client reads rl's items");
    MYSQL *m = connect_as(it_user(), it_password(), "rl2", &err);
    check(m == NULL && err == 1049, "f: logging in to rl2 gets 1049 (errno %u)",
          err);
    if (m)
        mysql_close(m);
    if (s)
        mysql_close(s);
}

/* ------------------------------------------------ g. reloads under load */

struct loader {
    int idx;
    atomic_bool *stop;
    long long statements;
    long long errors;
    unsigned first_err;
    char first_msg[200];
    char first_sql[120];
};

static void
loader_fail(struct loader *l, MYSQL *m, const char *sql, unsigned e)
{
    l->errors++;
    if (l->first_err == 0) {
        l->first_err = e;
        snprintf(l->first_msg, sizeof(l->first_msg), "%s",
                 m ? mysql_error(m) : "no connection");
        snprintf(l->first_sql, sizeof(l->first_sql), "%.*s",
                 (int)sizeof(l->first_sql) - 1, sql);
    }
}

static void *
loader_main(void *arg)
{
    struct loader *l = arg;
    char sql[160];
    unsigned err = 0;
    mysql_thread_init();
    MYSQL *m = connect_as(it_user(), it_password(), "rl", &err);
    if (m == NULL) {
        l->errors++;
        l->first_err = err;
        snprintf(l->first_msg, sizeof(l->first_msg), "connect failed");
        mysql_thread_end();
        return NULL;
    }
    MYSQL_STMT *ps = mysql_stmt_init(m);
    const char *ps_sql = "SELECT v FROM items WHERE id = ?";
    if (ps != NULL && mysql_stmt_prepare(ps, ps_sql, strlen(ps_sql)) != 0) {
        loader_fail(l, m, ps_sql, mysql_stmt_errno(ps));
        mysql_stmt_close(ps);
        ps = NULL;
    }
    for (int i = 0; !atomic_load(l->stop); i++) {
        int id = 100000 + l->idx * 100000 + i;
        const char *steps[5];
        char s0[128], s1[128], s2[128];
        int ns = 0;
        switch (i % 4) {
        case 0: /* a write and a point read */
            snprintf(s0, sizeof(s0),
                     "INSERT INTO items (id, v) VALUES (%d, %d)", id, i);
            snprintf(s1, sizeof(s1), "SELECT v FROM items WHERE id = %d", id);
            steps[ns++] = s0;
            steps[ns++] = s1;
            break;
        case 1: /* a transaction on one shard */
            snprintf(s0, sizeof(s0),
                     "INSERT INTO items (id, v) VALUES (%d, %d)", id, i);
            snprintf(s1, sizeof(s1), "UPDATE items SET v = v + 1 WHERE id = %d",
                     id);
            steps[ns++] = "BEGIN";
            steps[ns++] = s0;
            steps[ns++] = s1;
            steps[ns++] = "COMMIT";
            break;
        case 2: /* every shard */
            steps[ns++] = "SELECT COUNT(*) FROM items";
            break;
        default: /* no table; by key list; schema-qualified (renamed) */
            snprintf(s1, sizeof(s1),
                     "SELECT id FROM items WHERE id IN (%d, %d)", id - 1,
                     id - 3);
            snprintf(s2, sizeof(s2),
                     "SELECT COUNT(*) FROM rl.items WHERE id = %d", id - 2);
            steps[ns++] = "SELECT SLEEP(0.005)";
            steps[ns++] = s1;
            steps[ns++] = s2;
            break;
        }
        if (i % 4 == 2 && ps != NULL) {
            /* a statement prepared before the reloads */
            int key = id - 2;
            MYSQL_BIND b;
            memset(&b, 0, sizeof(b));
            b.buffer_type = MYSQL_TYPE_LONG;
            b.buffer = &key;
            unsigned e = 0;
            if (mysql_stmt_bind_param(ps, &b) != 0 ||
                mysql_stmt_execute(ps) != 0 || mysql_stmt_store_result(ps) != 0)
                e = mysql_stmt_errno(ps) ? mysql_stmt_errno(ps) : 1;
            mysql_stmt_free_result(ps);
            l->statements++;
            if (e != 0) {
                loader_fail(l, m, "EXECUTE SELECT v FROM items WHERE id = ?",
                            e);
                snprintf(l->first_msg, sizeof(l->first_msg), "%s",
                         mysql_stmt_error(ps));
            }
        }
        for (int k = 0; k < ns; k++) {
            snprintf(sql, sizeof(sql), "%s", steps[k]);
            unsigned e = run(m, sql);
            l->statements++;
            if (e != 0) {
                loader_fail(l, m, sql, e);
                if (e == 2013 || e == 2006) {
                    if (ps != NULL)
                        mysql_stmt_close(ps);
                    ps = NULL;
                    mysql_close(m);
                    m = connect_as(it_user(), it_password(), "rl", &err);
                    if (m == NULL) {
                        mysql_thread_end();
                        return NULL;
                    }
                }
                run(m, "ROLLBACK");
                break;
            }
        }
    }
    if (ps != NULL)
        mysql_stmt_close(ps);
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static void
test_reloads_under_load(void)
{
    atomic_bool stop;
    atomic_init(&stop, false);
    struct loader ls[THREADS];
    pthread_t th[THREADS];
    int started = 0;
    memset(ls, 0, sizeof(ls));
    for (int i = 0; i < THREADS; i++) {
        ls[i].idx = i;
        ls[i].stop = &stop;
        if (pthread_create(&th[i], NULL, loader_main, &ls[i]) != 0)
            break;
        started++;
    }
    check(started == THREADS, "g: %d threads run statements", THREADS);
    sleep_ms(500);
    int applied = 0;
    double t0 = it_now();
    struct conf c = conf_base();
    c.old_user = false;
    c.pw_pass = "second";
    c.schema2 = false;
    for (int r = 0; r < RELOADS; r++) {
        /* each one changes something live */
        c.newbie = r % 2 == 0;
        c.pool_max = 40 + r;
        c.slow = r % 3 == 0 ? "2s" : "1s";
        if (write_conf(&c) && reload("applied", NULL))
            applied++;
        sleep_ms(150);
    }
    double took = it_now() - t0;
    if (took < LOAD_S)
        sleep_ms((long)((LOAD_S - took) * 1000));
    atomic_store(&stop, true);
    long long stmts = 0, errors = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        stmts += ls[i].statements;
        errors += ls[i].errors;
        if (ls[i].errors > 0)
            it_diag("thread %d: %lld error(s), first %u \"%s\" on '%s'", i,
                    ls[i].errors, ls[i].first_err, ls[i].first_msg,
                    ls[i].first_sql);
    }
    it_diag("%lld statements in %.1f s over %d reloads", stmts,
            it_now() - t0 + 0.5, applied);
    check_int(applied, RELOADS, "g: every reload applied");
    check(stmts > 1000, "g: the threads ran statements throughout (%lld)",
          stmts);
    check_int(errors, 0, "g: zero errors across %d reloads", RELOADS);
}

/* ------------------------------------------------------------- main */

int
main(void)
{
    it_init("itest_reload");
    int limit = atoi(it_env("MYSHARD_TEST_TIMEOUT_S", "600"));
    signal(SIGALRM, watchdog);
    alarm(limit > 0 && limit < WATCHDOG_S ? (unsigned)limit : WATCHDOG_S);
    double t_start = it_now();

    bin = it_env("MYSHARD_BIN", NULL);
    bool have_bin = bin != NULL && access(bin, X_OK) == 0;
    check(have_bin, "MYSHARD_BIN is an executable myshard");
    bool have_ports = it_backend_port("S0_PRIMARY_PORT") != 0 &&
                      it_backend_port("S1_PRIMARY_PORT") != 0;
    check(have_ports, "S0_PRIMARY_PORT and S1_PRIMARY_PORT are set");
    if (!have_bin || !have_ports) {
        it_diag("MYSHARD_BIN=%s", bin ? bin : "(unset)");
        return it_done();
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/itest_reload.XXXXXX",
             it_env("MYSHARD_TEST_DIR", "/tmp"));
    if (mkdtemp(tmpdir) == NULL) {
        printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    snprintf(cfg_path, sizeof(cfg_path), "%s/myshard.yaml", tmpdir);
    snprintf(log_path, sizeof(log_path), "%s/myshard.log", tmpdir);
    listen_port = it_free_port();
    admin_port = it_free_port();
    http_port = it_free_port();
    it_diag("this program's myshard: 127.0.0.1:%u, files in %s", listen_port,
            tmpdir);

    d0 = it_connect_backend("S0_PRIMARY_PORT", NULL);
    d1 = it_connect_backend("S1_PRIMARY_PORT", NULL);
    if (!check(d0 != NULL && d1 != NULL,
               "direct connections to the s0 and s1 primaries"))
        return it_done();
    check(setup_backend(), "create %s on both primaries and %s on s0", DB1,
          DB2);
    struct conf c = conf_base();
    check(write_conf(&c), "write %s", cfg_path);
    bool up = start_proxy();
    check(up, "myshard starts");
    if (up) {
        test_transaction_across_reload();
        test_broken_files();
        test_removed_user();
        test_listen_change();
        test_password_change();
        test_removed_schema();
        test_reloads_under_load();
    }

    int st = 0;
    if (proxy_pid > 0) {
        bool gone = stop_proxy(8, &st);
        check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "myshard exits 0 on SIGTERM");
    } else {
        check(false, "myshard is running at the end");
    }
    bool clean = !file_has(log_path, 0, "AddressSanitizer") &&
                 !file_has(log_path, 0, "LeakSanitizer") &&
                 !file_has(log_path, 0, "UndefinedBehaviorSanitizer") &&
                 !file_has(log_path, 0, "runtime error");
    check(clean, "myshard's log has no sanitizer report");
    if (!clean)
        diag_log_tail(0, 40);

    bool dropped = it_exec(d0, "DROP DATABASE IF EXISTS " DB1) &&
                   it_exec(d1, "DROP DATABASE IF EXISTS " DB1) &&
                   it_exec(d0, "DROP DATABASE IF EXISTS " DB2);
    check(dropped, "drop the test schemas");
    mysql_close(d0);
    mysql_close(d1);
    it_diag("itest_reload ran %.1f s", it_now() - t_start);

    int rc = it_done();
    if (rc == 0) {
        unlink(cfg_path);
        unlink(log_path);
        rmdir(tmpdir);
    } else {
        printf("# files kept in %s\n", tmpdir);
    }
    return rc;
}
