/*
 * Shared helpers for the integration programs: environment, TAP output,
 * connections, single-value queries. See itest.h for the contract.
 */
#include "itest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *program_name = "itest";
static int tests_run;
static int tests_failed;

const char *
it_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

bool
it_expect_proxy(void)
{
    return strcmp(it_env("MYSHARD_EXPECT_PROXY", "0"), "1") == 0;
}

const char *
it_host(void)
{
    return it_env("MYSHARD_HOST", "127.0.0.1");
}

unsigned
it_port(void)
{
    return (unsigned)atoi(it_env("MYSHARD_PORT", "6033"));
}

const char *
it_user(void)
{
    return it_env("MYSHARD_USER", "app");
}

const char *
it_password(void)
{
    return it_env("MYSHARD_PASSWORD", "app");
}

const char *
it_db(void)
{
    return it_env("MYSHARD_DB", "shop");
}

static void
watchdog(int sig)
{
    static const char msg[] = "Bail out! watchdog timeout\n";
    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

void
it_init(const char *program)
{
    program_name = program;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, watchdog);
    alarm((unsigned)atoi(it_env("MYSHARD_TEST_TIMEOUT_S", "600")));
    if (mysql_library_init(0, NULL, NULL) != 0) {
        printf("Bail out! mysql_library_init failed\n");
        exit(1);
    }
    printf("# %s against %s:%u user=%s db=%s%s\n", program, it_host(),
           it_port(), it_user(), it_db(),
           it_expect_proxy() ? " (proxy)" : " (direct server)");
}

int
it_done(void)
{
    printf("1..%d\n", tests_run);
    if (tests_failed > 0)
        printf("# %s: %d of %d failed\n", program_name, tests_failed,
               tests_run);
    mysql_library_end();
    return tests_failed > 0 ? 1 : 0;
}

static bool vcheck(bool cond, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static bool
vcheck(bool cond, const char *fmt, va_list ap)
{
    tests_run++;
    if (!cond)
        tests_failed++;
    printf("%s %d - ", cond ? "ok" : "not ok", tests_run);
    vprintf(fmt, ap);
    printf("\n");
    return cond;
}

bool
check(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vcheck(cond, fmt, ap);
    va_end(ap);
    return cond;
}

void
it_skip(const char *why, const char *fmt, ...)
{
    va_list ap;
    tests_run++;
    printf("ok %d - ", tests_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" # SKIP %s\n", why);
}

void
it_diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

bool
check_str(const char *got, const char *expected, const char *fmt, ...)
{
    bool ok = got != NULL && expected != NULL && strcmp(got, expected) == 0;
    va_list ap;
    va_start(ap, fmt);
    vcheck(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        it_diag("expected '%s', got %s%s%s", expected ? expected : "(NULL)",
                got ? "'" : "", got ? got : "(NULL)", got ? "'" : "");
    return ok;
}

bool
check_int(long long got, long long expected, const char *fmt, ...)
{
    bool ok = got == expected;
    va_list ap;
    va_start(ap, fmt);
    vcheck(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        it_diag("expected %lld, got %lld", expected, got);
    return ok;
}

bool
check_errno(MYSQL *m, unsigned expected, const char *fmt, ...)
{
    unsigned got = mysql_errno(m);
    bool ok = got == expected;
    va_list ap;
    va_start(ap, fmt);
    vcheck(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        it_diag("expected errno %u, got %u (%s)", expected, got,
                mysql_error(m));
    return ok;
}

static void
set_options(MYSQL *m)
{
    unsigned connect_timeout = 10;
    unsigned rw_timeout =
        (unsigned)atoi(it_env("MYSHARD_TEST_IO_TIMEOUT_S", "120"));
    unsigned long max_packet = 1024UL * 1024 * 1024;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_options(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
}

static MYSQL *
connect_to(const char *host, unsigned port, const char *user,
           const char *password, const char *db, unsigned long flags,
           unsigned *err, bool quiet)
{
    MYSQL *m = mysql_init(NULL);
    if (m == NULL) {
        it_diag("mysql_init failed");
        if (err != NULL)
            *err = 0;
        return NULL;
    }
    set_options(m);
    if (mysql_real_connect(m, host, user, password, db, port, NULL, flags) ==
        NULL) {
        if (err != NULL)
            *err = mysql_errno(m);
        if (!quiet)
            it_diag("connect %s@%s:%u db=%s failed: %u %s", user, host, port,
                    db ? db : "(none)", mysql_errno(m), mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    if (err != NULL)
        *err = 0;
    return m;
}

MYSQL *
it_connect(void)
{
    return connect_to(it_host(), it_port(), it_user(), it_password(), it_db(),
                      CLIENT_MULTI_STATEMENTS, NULL, false);
}

MYSQL *
it_connect_as(const char *user, const char *password, const char *db,
              unsigned long flags, unsigned *err)
{
    return connect_to(it_host(), it_port(), user, password, db, flags, err,
                      err != NULL);
}

unsigned
it_backend_port(const char *port_env)
{
    return (unsigned)atoi(it_env(port_env, "0"));
}

MYSQL *
it_connect_backend(const char *port_env, const char *db)
{
    unsigned port = it_backend_port(port_env);
    const char *host = "127.0.0.1";
    if (port == 0) {
        host = it_host();
        port = it_port();
    }
    return connect_to(host, port, it_env("BACKEND_USER", "myshard"),
                      it_env("BACKEND_PASSWORD", "secret"), db,
                      CLIENT_MULTI_STATEMENTS, NULL, false);
}

static char *vformat(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static char *
vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return s;
}

static void
diag_sql(const char *what, MYSQL *m, const char *sql)
{
    size_t n = strlen(sql);
    it_diag("%s failed: %u %s; statement: %.*s%s", what, mysql_errno(m),
            mysql_error(m), n > 200 ? 200 : (int)n, sql, n > 200 ? "..." : "");
}

/* Discards every result of the statement just sent; false on error. */
static bool
drain_results(MYSQL *m)
{
    int status;
    do {
        MYSQL_RES *r = mysql_store_result(m);
        if (r != NULL)
            mysql_free_result(r);
        else if (mysql_field_count(m) != 0)
            return false;
        status = mysql_next_result(m);
        if (status > 0)
            return false;
    } while (status == 0);
    return true;
}

bool
it_exec(MYSQL *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = vformat(fmt, ap);
    va_end(ap);
    bool ok = m != NULL && mysql_query(m, sql) == 0 && drain_results(m);
    if (!ok && m != NULL)
        diag_sql("statement", m, sql);
    free(sql);
    return ok;
}

static char *vvalue(MYSQL *m, bool *is_null, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static char *
vvalue(MYSQL *m, bool *is_null, const char *fmt, va_list ap)
{
    char *sql = vformat(fmt, ap);
    char *out = NULL;
    if (is_null != NULL)
        *is_null = false;
    if (m == NULL) {
        free(sql);
        return NULL;
    }
    if (mysql_query(m, sql) != 0) {
        diag_sql("query", m, sql);
        free(sql);
        return NULL;
    }
    MYSQL_RES *r = mysql_store_result(m);
    if (r == NULL) {
        if (mysql_field_count(m) != 0)
            diag_sql("store result", m, sql);
        else
            it_diag("statement returned no result set: %s", sql);
        free(sql);
        drain_results(m);
        return NULL;
    }
    MYSQL_ROW row = mysql_fetch_row(r);
    if (row == NULL) {
        it_diag("query returned no rows: %s", sql);
    } else if (row[0] == NULL) {
        if (is_null != NULL)
            *is_null = true;
    } else {
        unsigned long *lengths = mysql_fetch_lengths(r);
        out = malloc(lengths[0] + 1);
        if (out == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        memcpy(out, row[0], lengths[0]);
        out[lengths[0]] = '\0';
    }
    mysql_free_result(r);
    if (mysql_more_results(m))
        drain_results(m);
    free(sql);
    return out;
}

char *
it_value(MYSQL *m, bool *is_null, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = vvalue(m, is_null, fmt, ap);
    va_end(ap);
    return v;
}

long long
it_int(MYSQL *m, long long dflt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = vvalue(m, NULL, fmt, ap);
    va_end(ap);
    if (v == NULL)
        return dflt;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0') {
        it_diag("not an integer: '%s'", v);
        n = dflt;
    }
    free(v);
    return n;
}

double
it_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
it_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const char digits[] = "0123456789abcdef";
    if (EVP_Digest(data, len, md, &md_len, EVP_md5(), NULL) != 1 ||
        md_len != 16) {
        strcpy(out, "md5-failed");
        return;
    }
    for (unsigned i = 0; i < 16; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[32] = '\0';
}

void
it_fill_random(unsigned char *buf, size_t len, unsigned seed)
{
    unsigned long long x = 0x9E3779B97F4A7C15ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)(x >> 24);
    }
}

char *
it_hex(const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * len + 1);
    if (out == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

unsigned
it_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;
    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

void
it_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

long
it_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

MYSQL *
it_proxy_connect(const struct it_proxy *p, const char *user,
                 const char *password, const char *db, unsigned read_s)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5;

    if (m == NULL)
        return NULL;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &read_s);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &read_s);
    if (mysql_real_connect(m, "127.0.0.1", user, password, db, p->port, NULL,
                           0) == NULL) {
        it_diag("connect: %u %s", mysql_errno(m), mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

long
it_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

bool
it_file_has(const char *path, long from, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    if (from > 0)
        fseek(f, from, SEEK_SET);
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    bool found = false;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[len] = '\0';
        found = strstr(buf, needle) != NULL;
        free(buf);
    }
    return found;
}

/* ------------------------------------------------- a private myshard */

static struct it_proxy *watched; /* the process the watchdog kills */

static void
proxy_watchdog(int sig)
{
    static const char msg[] = "Bail out! watchdog timeout (myshard killed)\n";
    (void)sig;
    if (watched != NULL && watched->pid > 0)
        kill(watched->pid, SIGKILL);
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

void
it_proxy_init(struct it_proxy *p)
{
    memset(p, 0, sizeof(*p));
    p->pid = -1;
    p->bin = it_env("MYSHARD_BIN", NULL);
    p->user = it_user();
    p->password = it_password();
    p->io_s = 20;
}

bool
it_proxy_have_bin(const struct it_proxy *p)
{
    return p->bin != NULL && access(p->bin, X_OK) == 0;
}

void
it_proxy_watchdog(struct it_proxy *p, unsigned limit_s)
{
    int limit = atoi(it_env("MYSHARD_TEST_TIMEOUT_S", "600"));
    watched = p;
    signal(SIGALRM, proxy_watchdog);
    alarm(limit > 0 && (unsigned)limit < limit_s ? (unsigned)limit : limit_s);
}

bool
it_proxy_dir(struct it_proxy *p, const char *program)
{
    snprintf(p->dir, sizeof(p->dir), "%s/%s.XXXXXX",
             it_env("MYSHARD_TEST_DIR", "/tmp"), program);
    if (mkdtemp(p->dir) == NULL)
        return false;
    snprintf(p->cfg, sizeof(p->cfg), "%s/myshard.yaml", p->dir);
    snprintf(p->log, sizeof(p->log), "%s/myshard.log", p->dir);
    p->port = it_free_port();
    p->admin_port = it_free_port();
    p->http_port = it_free_port();
    while (p->admin_port == p->port)
        p->admin_port = it_free_port();
    while (p->http_port == p->port || p->http_port == p->admin_port)
        p->http_port = it_free_port();
    return true;
}

/* Waits up to timeout seconds for pid. True if it exited (*status). */
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
        it_sleep_ms(20);
    } while (it_now() < deadline);
    return false;
}

/* Whether p's listen port lets p->user in; else the errno in *err. */
static bool
proxy_accepts(const struct it_proxy *p, unsigned *err)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5, rw = p->io_s;
    if (m == NULL) {
        *err = 0;
        return false;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    bool ok = mysql_real_connect(m, "127.0.0.1", p->user, p->password, NULL,
                                 p->port, NULL, 0) != NULL;
    *err = ok ? 0 : mysql_errno(m);
    mysql_close(m);
    return ok;
}

bool
it_proxy_start(struct it_proxy *p, long *log_from)
{
    long from = it_file_size(p->log);
    if (log_from)
        *log_from = from;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(p->bin, p->bin, "-c", p->cfg, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        it_diag("fork: %s", strerror(errno));
        return false;
    }
    p->pid = pid;
    double t0 = it_now(), deadline = t0 + IT_PROXY_START_S;
    unsigned err = 0;
    int status = 0;
    while (it_now() < deadline) {
        if (proxy_accepts(p, &err)) {
            it_diag("myshard (pid %d) accepts clients after %.2f s", (int)pid,
                    it_now() - t0);
            return true;
        }
        if (wait_for(pid, 0.1, &status)) {
            if (p->exit_detail)
                it_diag("myshard exited at start-up (%s %d)",
                        WIFEXITED(status) ? "status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status)
                                          : WTERMSIG(status));
            else
                it_diag("myshard exited at start-up");
            p->pid = -1;
            it_proxy_log_tail(p, from, 15);
            return false;
        }
    }
    it_diag("myshard did not accept clients within %.0f s (last errno %u)",
            IT_PROXY_START_S, err);
    it_proxy_log_tail(p, from, 15);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    p->pid = -1;
    return false;
}

bool
it_proxy_stop(struct it_proxy *p, int sig, double timeout, int *status)
{
    int st = 0;
    bool gone = true;
    pid_t pid = p->pid;
    if (pid <= 0) {
        if (status)
            *status = -1;
        return false;
    }
    kill(pid, sig);
    if (!wait_for(pid, timeout, &st)) {
        gone = false;
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    p->pid = -1;
    if (status)
        *status = st;
    return gone;
}

bool
it_proxy_running(const struct it_proxy *p)
{
    return p->pid > 0;
}

void
it_proxy_kill(struct it_proxy *p)
{
    if (p->pid > 0)
        kill(p->pid, SIGKILL);
}

void
it_proxy_log_tail(const struct it_proxy *p, long from, int lines)
{
    FILE *f = fopen(p->log, "r");
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

bool
it_proxy_log_clean(const struct it_proxy *p)
{
    return !it_file_has(p->log, 0, "AddressSanitizer") &&
           !it_file_has(p->log, 0, "LeakSanitizer") &&
           !it_file_has(p->log, 0, "UndefinedBehaviorSanitizer") &&
           !it_file_has(p->log, 0, "runtime error");
}

void
it_proxy_cleanup(const struct it_proxy *p, int rc)
{
    if (rc == 0) {
        unlink(p->cfg);
        unlink(p->log);
        rmdir(p->dir);
    } else {
        printf("# files kept in %s\n", p->dir);
    }
}
