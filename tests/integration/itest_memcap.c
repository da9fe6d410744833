/*
 * Bounded memory per client: one client cannot run the proxy out of memory.
 * A private myshard (one worker, so the attacker and the bystander share an
 * event loop; max_allowed_packet 1MB; max_prepared_statements 8) is
 * measured from /proc/<pid>/status (VmRSS) before and during each attack:
 *  - 16 MB of garbage before login, from several clients at once: each is
 *    closed before the proxy takes it in; a login packet over the 16 KB
 *    cap gets error 1153;
 *  - a client that pipelines thousands of statements the proxy answers
 *    itself (PING, SHOW DATABASES, hot-key cache hits) and never reads:
 *    the proxy stops taking its commands, and once it reads, every answer
 *    arrives in order;
 *  - a client that pipelines megabytes behind a running statement;
 *  - COM_STMT_SEND_LONG_DATA over max_allowed_packet: error 1105 at
 *    EXECUTE, the statement usable again afterwards;
 *  - prepared statements over max_prepared_statements: error 1461, per
 *    client, raised by a reload.
 * Meanwhile another client's statements keep a sane latency.
 */
#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB         "itest_memcap"
#define APP_USER   "app"
#define APP_PASS   "app-pw"
#define ADMIN_PASS "memcap-admin"
#define WATCHDOG   300
#define LOGIN_CAP  16384 /* the proxy's limit on a packet before login */
#define MAX_PS     8     /* max_prepared_statements in the first config */
#define MAX_PS2    10    /* ... after the reload */
#define MAX_PKT    (1024 * 1024)
/* RSS growth allowed during an attack: a few MB (an ASan build's
 * allocator and the 1 MB output high-water mark included). */
#define RSS_SLACK_KB (8 * 1024)
#define HOT_SQL      "SELECT v FROM hot WHERE id = 1"
#define HOT_LEN      2000 /* bytes of the cached value */
#define PROBE_MAX_S  3.0  /* a bystander's statement must take less */

#define ER_NET_PACKET_TOO_LARGE 1153
#define ER_UNKNOWN_ERROR        1105
#define ER_MAX_PREPARED_STMT    1461

static struct it_proxy px;

/* ------------------------------------------------------------ helpers */

/* This program's myshard. */
static long
rss_kb(void)
{
    return it_rss_kb(px.pid);
}

/* The shared myshard of the test rig (default max_allowed_packet, 64MB):
 * the login attacks go there, where a packet may be large after login. */
static pid_t
shared_pid(void)
{
    return (pid_t)atoi(it_env("MYSHARD_PID", "0"));
}

static MYSQL *
connect_px(const char *user, const char *pass, const char *db)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5, rt = 30;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    if (mysql_real_connect(m, "127.0.0.1", user, pass, db, px.port, NULL, 0) ==
        NULL) {
        it_diag("connect as %s: %u %s", user, mysql_errno(m), mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static int
raw_connect(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Reads exactly n bytes within timeout seconds. */
static bool
read_full(int fd, unsigned char *buf, size_t n, double timeout)
{
    double deadline = it_now() + timeout;
    size_t got = 0;
    while (got < n) {
        double left = deadline - it_now();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            return false;
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* One packet's payload into buf (cap bytes; the rest is read and dropped).
 * Returns the payload length, -1 on EOF, error or timeout. */
static long
read_packet(int fd, unsigned char *buf, size_t cap, double timeout)
{
    unsigned char h[4], skip[4096];
    if (!read_full(fd, h, 4, timeout))
        return -1;
    size_t len = h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    size_t keep = len < cap ? len : cap;
    if (!read_full(fd, buf, keep, timeout))
        return -1;
    for (size_t left = len - keep; left > 0;) {
        size_t n = left < sizeof(skip) ? left : sizeof(skip);
        if (!read_full(fd, skip, n, timeout))
            return -1;
        left -= n;
    }
    return (long)len;
}

/* Whether the peer closed fd (EOF or reset) within timeout seconds;
 * whatever it sends meanwhile is dropped. */
static bool
closed_within(int fd, double timeout)
{
    double deadline = it_now() + timeout;
    unsigned char buf[4096];
    for (;;) {
        double left = deadline - it_now();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            return false;
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
            return true;
    }
}

static void
put_packet(unsigned char **buf, size_t *len, size_t *cap, uint8_t seq,
           const void *payload, size_t n)
{
    if (*len + n + 4 > *cap) {
        *cap = (*len + n + 4) * 2;
        *buf = realloc(*buf, *cap);
    }
    unsigned char *p = *buf + *len;
    p[0] = (unsigned char)n;
    p[1] = (unsigned char)(n >> 8);
    p[2] = (unsigned char)(n >> 16);
    p[3] = seq;
    memcpy(p + 4, payload, n);
    *len += n + 4;
}

static void
put_query(unsigned char **buf, size_t *len, size_t *cap, const char *sql)
{
    size_t n = strlen(sql);
    unsigned char *p = malloc(n + 1);
    p[0] = 0x03; /* COM_QUERY */
    memcpy(p + 1, sql, n);
    put_packet(buf, len, cap, 0, p, n + 1);
    free(p);
}

/* A counter of this program's myshard from SHOW STATS on its console,
 * -1 when it cannot be read. */
static long long
admin_stat(const char *name)
{
    long long v = -1;
    MYSQL *a = mysql_init(NULL);
    unsigned t = 5;
    mysql_options(a, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    if (mysql_real_connect(a, "127.0.0.1", "admin", ADMIN_PASS, NULL,
                           px.admin_port, NULL, 0) == NULL ||
        mysql_query(a, "SHOW STATS") != 0) {
        it_diag("admin console: %s", mysql_error(a));
        mysql_close(a);
        return -1;
    }
    MYSQL_RES *r = mysql_store_result(a);
    MYSQL_ROW row;
    while (r && (row = mysql_fetch_row(r)) != NULL)
        if (row[0] && row[1] && strcmp(row[0], name) == 0)
            v = atoll(row[1]);
    mysql_free_result(r);
    mysql_close(a);
    return v;
}

/* Bytes this program's myshard has read from its clients. */
static long long
bytes_read(void)
{
    return admin_stat("client_bytes_in_total");
}

/* Bystander: a thread running statements on its own connection while an
 * attack goes on, noting the slowest. */
struct probe {
    pthread_t t;
    volatile bool stop;
    int n, errors;
    double worst;
};

static void *
probe_main(void *arg)
{
    struct probe *pr = arg;
    MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
    if (m == NULL) {
        pr->errors++;
        return NULL;
    }
    while (!pr->stop) {
        double t0 = it_now();
        /* One answered by a server, one by the proxy. */
        if (mysql_query(m, "SELECT id FROM hot WHERE id = 2") != 0)
            pr->errors++;
        else
            mysql_free_result(mysql_store_result(m));
        if (mysql_ping(m) != 0)
            pr->errors++;
        double dt = it_now() - t0;
        if (dt > pr->worst)
            pr->worst = dt;
        pr->n++;
        it_sleep_ms(20);
    }
    mysql_close(m);
    return NULL;
}

static void
probe_start(struct probe *pr)
{
    memset(pr, 0, sizeof(*pr));
    if (pthread_create(&pr->t, NULL, probe_main, pr) != 0) {
        it_proxy_kill(&px);
        printf("Bail out! pthread_create\n");
        _exit(1);
    }
}

static void
probe_check(struct probe *pr, const char *during)
{
    pr->stop = true;
    pthread_join(pr->t, NULL);
    check(pr->n > 0 && pr->errors == 0 && pr->worst < PROBE_MAX_S,
          "another client is served during %s (%d rounds, %d errors, "
          "slowest %.3f s)",
          during, pr->n, pr->errors, pr->worst);
}

static bool
write_conf(int max_ps)
{
    FILE *o = fopen(px.cfg, "w");
    if (o == NULL)
        return false;
    fprintf(o,
            "# generated by itest_memcap\n"
            "listen: 127.0.0.1:%u\n"
            "workers: 1\n"
            "shutdown_timeout: 3s\n"
            "handshake_timeout: 10s\n"
            "max_allowed_packet: 1MB\n"
            "max_prepared_statements: %d\n"
            "admin:\n"
            "  listen: 127.0.0.1:%u\n"
            "  http: 127.0.0.1:%u\n"
            "  user: admin\n"
            "  password: " ADMIN_PASS "\n"
            "backend:\n"
            "  user: %s\n"
            "  password: %s\n"
            "  connect_timeout: 1s\n"
            "  pool: { max_connections: 10 }\n"
            "shards:\n"
            "  - name: s0\n"
            "    primary: 127.0.0.1:%u\n"
            "schemas:\n"
            "  - name: " DB "\n"
            "    default_shard: s0\n"
            "users:\n"
            "  - { name: " APP_USER ", password: " APP_PASS ", schemas: [" DB
            "] }\n"
            "policies:\n"
            "  - match: \"SELECT v FROM hot WHERE id = ?\"\n"
            "    cache: { ttl: 10m }\n",
            px.port, max_ps, px.admin_port, px.http_port,
            it_env("BACKEND_USER", "myshard"),
            it_env("BACKEND_PASSWORD", "secret"),
            it_backend_port("S0_PRIMARY_PORT"));
    return fclose(o) == 0;
}

/* ----------------------------------------------- before login */

/* A login packet over the cap, declared by its header alone: error 1153
 * and the connection closes. */
static void
test_login_cap_error(void)
{
    unsigned char buf[512];
    int fd = raw_connect(it_port());
    bool greet = fd >= 0 && read_packet(fd, buf, sizeof(buf), 5) > 0;
    check(greet, "a raw client gets the greeting");
    if (!greet) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t n = LOGIN_CAP + 1;
    unsigned char h[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                          (unsigned char)(n >> 16), 1};
    (void)!send(fd, h, 4, MSG_NOSIGNAL);
    long len = read_packet(fd, buf, sizeof(buf) - 1, 5);
    bool err = len >= 9 && buf[0] == 0xFF &&
               (buf[1] | buf[2] << 8) == ER_NET_PACKET_TOO_LARGE;
    if (len > 0)
        buf[len < (long)sizeof(buf) ? len : (long)sizeof(buf) - 1] = 0;
    check(err && memcmp(buf + 9, "myshard:", 8) == 0,
          "a login packet of %zu bytes gets error 1153 from myshard", n);
    if (len >= 9)
        it_diag("error: %s", (char *)buf + 9);
    check(closed_within(fd, 5), "... and the connection closes");
    close(fd);
}

/* Clients streaming 16 MB of garbage each before login, all at once. */
#define GARBAGE_CLIENTS 4
#define GARBAGE_BYTES   (16u << 20)

static void
test_login_garbage(void)
{
    int fds[GARBAGE_CLIENTS];
    size_t sent[GARBAGE_CLIENTS] = {0};
    bool done[GARBAGE_CLIENTS] = {false};
    static unsigned char junk[65536];
    pid_t pid = shared_pid();
    long before = it_rss_kb(pid), peak = before;

    it_fill_random(junk, sizeof(junk), 11);
    for (int i = 0; i < GARBAGE_CLIENTS; i++) {
        fds[i] = raw_connect(it_port());
        if (fds[i] < 0) {
            done[i] = true;
            continue;
        }
        /* A header that announces the largest packet, then noise. */
        unsigned char h[4] = {0xFF, 0xFF, 0xFF, 1};
        (void)!send(fds[i], h, 4, MSG_NOSIGNAL);
        sent[i] = 4;
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    double deadline = it_now() + 10, last_progress = it_now();
    int open = GARBAGE_CLIENTS;
    while (open > 0 && it_now() < deadline && it_now() - last_progress < 2.0) {
        open = 0;
        for (int i = 0; i < GARBAGE_CLIENTS; i++) {
            if (done[i])
                continue;
            ssize_t r =
                send(fds[i], junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r > 0) {
                sent[i] += (size_t)r;
                last_progress = it_now();
            } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                done[i] = true; /* closed by the proxy */
                continue;
            }
            if (sent[i] >= GARBAGE_BYTES)
                done[i] = true;
            else
                open++;
        }
        long now = it_rss_kb(pid);
        if (now > peak)
            peak = now;
        if (open > 0)
            it_sleep_ms(1);
    }
    for (int i = 0; i < 20; i++) {
        long now = it_rss_kb(pid);
        if (now > peak)
            peak = now;
        it_sleep_ms(10);
    }
    int closed = 0;
    size_t most = 0;
    for (int i = 0; i < GARBAGE_CLIENTS; i++) {
        if (fds[i] < 0)
            continue;
        if (sent[i] > most)
            most = sent[i];
        if (sent[i] < GARBAGE_BYTES && closed_within(fds[i], 5))
            closed++;
        close(fds[i]);
    }
    check(closed == GARBAGE_CLIENTS,
          "%d clients streaming 16 MB of garbage before login are all "
          "closed early (%d closed; at most %zu bytes taken from one)",
          GARBAGE_CLIENTS, closed, most);
    it_diag("RSS before %ld kB, peak %ld kB", before, peak);
    check(before > 0 && peak - before < RSS_SLACK_KB,
          "RSS grows by less than %d MB under the garbage (grew %ld kB)",
          RSS_SLACK_KB / 1024, peak - before);
}

/* ------------------------------------------- a client that never reads */

/* Reads one statement's answer: an OK or ERR packet, or a result set up
 * to its second EOF (the proxy does not offer CLIENT_DEPRECATE_EOF). */
static bool
read_answer(int fd, unsigned char *buf, size_t cap, double timeout)
{
    long len = read_packet(fd, buf, cap, timeout);
    if (len < 0)
        return false;
    if (len > 0 && (buf[0] == 0x00 || buf[0] == 0xFF))
        return true;
    for (int eofs = 0; eofs < 2;) {
        len = read_packet(fd, buf, cap, timeout);
        if (len < 0)
            return false;
        if (len > 0 && len < 9 && buf[0] == 0xFE)
            eofs++;
    }
    return true;
}

/* Sends what it can of buf without blocking until no progress for
 * quiet_s; returns the bytes taken. */
static size_t
send_until_stuck(int fd, const unsigned char *buf, size_t len, double quiet_s,
                 long *peak)
{
    size_t off = 0;
    double last = it_now();
    while (off < len && it_now() - last < quiet_s) {
        ssize_t r = send(fd, buf + off, len - off > 65536 ? 65536 : len - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            off += (size_t)r;
            last = it_now();
        } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            break;
        } else {
            it_sleep_ms(5);
        }
        long now = rss_kb();
        if (now > *peak)
            *peak = now;
    }
    for (int i = 0; i < 50; i++) { /* let the proxy do what it will */
        long now = rss_kb();
        if (now > *peak)
            *peak = now;
        it_sleep_ms(10);
    }
    return off;
}

/* Sends the rest of buf while reading n answers; true when all came. */
static bool
finish_and_read(int fd, const unsigned char *buf, size_t len, size_t off, int n,
                int *answered)
{
    static unsigned char pkt[65536];
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    *answered = 0;
    /* Interleave: write while the socket takes it, read whole answers
     * (read_answer blocks on poll, so only when some input is there). */
    double deadline = it_now() + 120;
    while (*answered < n && it_now() < deadline) {
        struct pollfd p = {.fd = fd,
                           .events = POLLIN | (off < len ? POLLOUT : 0)};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        if ((p.revents & POLLOUT) && off < len) {
            ssize_t r = send(fd, buf + off, len - off, MSG_NOSIGNAL);
            if (r > 0)
                off += (size_t)r;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            fcntl(fd, F_SETFL, flags);
            /* A blocked write would deadlock the answer loop; read a
             * bounded batch, then go back to writing. */
            for (int k = 0; k < 256 && *answered < n; k++) {
                if (!read_answer(fd, pkt, sizeof(pkt), 30))
                    return false;
                (*answered)++;
                struct pollfd q = {.fd = fd, .events = POLLIN};
                if (poll(&q, 1, 0) <= 0)
                    break;
            }
            fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        }
    }
    fcntl(fd, F_SETFL, flags);
    return *answered == n;
}

static void
test_never_reads(void)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int n = 0;
    static const unsigned char ping = 0x0E;

    /* Fill the hot-key cache (one worker: the flooder shares it). */
    MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
    if (!check(m != NULL, "a client logs in to fill the cache"))
        return;
    check(it_int(m, -1, "SELECT LENGTH(v) FROM hot WHERE id = 1") == HOT_LEN,
          "the cached row holds %d bytes", HOT_LEN);
    mysql_close(m);

    /* About 2 MB of statements, each answered by the proxy alone. */
    while (len < 2u << 20) {
        put_query(&buf, &len, &cap, HOT_SQL);
        put_packet(&buf, &len, &cap, 0, &ping, 1);
        put_query(&buf, &len, &cap, "SHOW DATABASES");
        n += 3;
    }

    MYSQL *fl = connect_px(APP_USER, APP_PASS, DB);
    if (!check(fl != NULL, "the flooding client logs in")) {
        free(buf);
        return;
    }
    int fd = (int)mysql_get_socket(fl);
    struct probe pr;
    /* The bystander first, so that the baseline holds its own memory
     * (its connection, the pool's connection to s0). */
    probe_start(&pr);
    it_sleep_ms(500);
    long long read0 = bytes_read();
    long before = rss_kb(), peak = before;
    size_t took = send_until_stuck(fd, buf, len, 2.0, &peak);
    probe_check(&pr, "the flood");
    long long got = bytes_read() - read0;
    it_diag("%d statements (%zu bytes), %zu bytes taken by the socket, %lld "
            "read by myshard; RSS before %ld kB, peak %ld kB",
            n, len, took, got, before, peak);
    check(read0 >= 0 && got < (long long)len / 2,
          "myshard stops reading a client that never reads (read %lld of "
          "%zu bytes)",
          got, len);
    check(before > 0 && peak - before < RSS_SLACK_KB,
          "RSS grows by less than %d MB while it never reads (grew %ld kB)",
          RSS_SLACK_KB / 1024, peak - before);

    int answered = 0;
    bool all = finish_and_read(fd, buf, len, took, n, &answered);
    check(all, "once it reads, all %d answers arrive in order (got %d)", n,
          answered);
    free(buf);
    mysql_close(fl);
}

/* The admin console: SHOW CONFIG pipelined, never read. */
static void
test_admin_never_reads(void)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int n = 0;

    while (len < 512 * 1024) {
        put_query(&buf, &len, &cap, "SHOW CONFIG");
        n++;
    }
    MYSQL *a = mysql_init(NULL);
    if (!check(mysql_real_connect(a, "127.0.0.1", "admin", ADMIN_PASS, NULL,
                                  px.admin_port, NULL, 0) != NULL,
               "the admin logs in")) {
        mysql_close(a);
        free(buf);
        return;
    }
    int fd = (int)mysql_get_socket(a);
    long before = rss_kb(), peak = before;
    size_t took = send_until_stuck(fd, buf, len, 2.0, &peak);
    for (int i = 0; i < 30; i++) { /* the console thread takes its time */
        long now = rss_kb();
        if (now > peak)
            peak = now;
        it_sleep_ms(100);
    }
    it_diag("admin console: %d SHOW CONFIG (%zu bytes), %zu taken by the "
            "socket; RSS before %ld kB, peak %ld kB",
            n, len, took, before, peak);
    check(before > 0 && peak - before < RSS_SLACK_KB,
          "RSS grows by less than %d MB while an admin never reads (grew "
          "%ld kB)",
          RSS_SLACK_KB / 1024, peak - before);
    int answered = 0;
    bool all = finish_and_read(fd, buf, len, took, n, &answered);
    check(all, "once it reads, all %d answers arrive (got %d)", n, answered);
    free(buf);
    mysql_close(a);
}

/* 16 MB pipelined behind a running statement: not buffered. */
static void
test_pipelined_behind_statement(void)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int n = 1;
    char sql[1100];

    /* SHOW DATABASES padded with a comment to 1 KB: answered by the
     * proxy, about 300 bytes out for 1 KB in. */
    memset(sql, 'x', sizeof(sql));
    memcpy(sql, "SHOW DATABASES /* ", 18);
    memcpy(sql + 1000, " */", 4);
    put_query(&buf, &len, &cap, "SELECT SLEEP(3)");
    while (len < 16u << 20) {
        put_query(&buf, &len, &cap, sql);
        n++;
    }
    MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
    if (!check(m != NULL, "the pipelining client logs in")) {
        free(buf);
        return;
    }
    int fd = (int)mysql_get_socket(m);
    long long read0 = bytes_read();
    long before = rss_kb(), peak = before;
    size_t took = send_until_stuck(fd, buf, len, 1.5, &peak);
    long long got = bytes_read() - read0;
    it_diag("%zu of %zu bytes taken by the socket, %lld read by myshard "
            "during SELECT SLEEP(3); RSS before %ld kB, peak %ld kB",
            took, len, got, before, peak);
    check(read0 >= 0 && got < 1024 * 1024 && peak - before < RSS_SLACK_KB,
          "16 MB pipelined behind a running statement are not buffered "
          "(read %lld bytes, RSS grew %ld kB)",
          got, peak - before);
    int answered = 0;
    bool all = finish_and_read(fd, buf, len, took, n, &answered);
    check(all, "then all %d answers arrive (got %d)", n, answered);
    free(buf);
    mysql_close(m);
}

/* ------------------------------------------------------- long data */

static MYSQL_STMT *
prepare_length(MYSQL *m, MYSQL_BIND *b)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (mysql_stmt_prepare(st, "SELECT LENGTH(?)", 16) != 0) {
        it_diag("prepare: %s", mysql_stmt_error(st));
        mysql_stmt_close(st);
        return NULL;
    }
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_BLOB;
    mysql_stmt_bind_param(st, b);
    return st;
}

/* Executes st and returns LENGTH(?) or -1 (error in *err). */
static long long
exec_length(MYSQL_STMT *st, unsigned *err, char *msg, size_t msglen)
{
    long long v = -1;
    MYSQL_BIND r;
    memset(&r, 0, sizeof(r));
    r.buffer_type = MYSQL_TYPE_LONGLONG;
    r.buffer = &v;
    *err = 0;
    if (mysql_stmt_execute(st) != 0) {
        *err = mysql_stmt_errno(st);
        snprintf(msg, msglen, "%s", mysql_stmt_error(st));
        return -1;
    }
    mysql_stmt_bind_result(st, &r);
    if (mysql_stmt_fetch(st) != 0)
        v = -1;
    mysql_stmt_free_result(st);
    return v;
}

static void
test_long_data(void)
{
    static char chunk[256 * 1024];
    MYSQL_BIND b;
    unsigned err = 0;
    char msg[512] = "";

    memset(chunk, 'L', sizeof(chunk));
    MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
    if (!check(m != NULL, "a client logs in for long data"))
        return;
    MYSQL_STMT *st = prepare_length(m, &b);
    if (!check(st != NULL, "prepare SELECT LENGTH(?)")) {
        mysql_close(m);
        return;
    }
    /* Under the cap: 3 x 256 KB. */
    for (int i = 0; i < 3; i++)
        mysql_stmt_send_long_data(st, 0, chunk, sizeof(chunk));
    long long v = exec_length(st, &err, msg, sizeof(msg));
    check_int(v, 3 * (long long)sizeof(chunk),
              "768 KB of long data (under max_allowed_packet 1MB) arrive");

    /* 5 x 256 KB: over. */
    for (int i = 0; i < 5; i++)
        mysql_stmt_send_long_data(st, 0, chunk, sizeof(chunk));
    v = exec_length(st, &err, msg, sizeof(msg));
    check(v == -1 && err == ER_UNKNOWN_ERROR &&
              strncmp(msg, "myshard:", 8) == 0 &&
              strstr(msg, "max_allowed_packet") != NULL,
          "1.25 MB of long data: EXECUTE fails with 1105 naming "
          "max_allowed_packet (%u %s)",
          err, msg);

    /* 64 MB streamed: memory stays flat. */
    long before = rss_kb(), peak = before;
    for (int i = 0; i < 256; i++) {
        mysql_stmt_send_long_data(st, 0, chunk, sizeof(chunk));
        if (i % 16 == 0) {
            long now = rss_kb();
            if (now > peak)
                peak = now;
        }
    }
    v = exec_length(st, &err, msg, sizeof(msg));
    long now = rss_kb();
    if (now > peak)
        peak = now;
    it_diag("64 MB of long data: RSS before %ld kB, peak %ld kB", before, peak);
    check(v == -1 && err == ER_UNKNOWN_ERROR,
          "64 MB of long data: EXECUTE fails with 1105 (%u %s)", err, msg);
    check(before > 0 && peak - before < RSS_SLACK_KB,
          "RSS grows by less than %d MB under 64 MB of long data (grew "
          "%ld kB)",
          RSS_SLACK_KB / 1024, peak - before);

    /* The statement and the connection still work. */
    mysql_stmt_send_long_data(st, 0, chunk, 1000);
    v = exec_length(st, &err, msg, sizeof(msg));
    check_int(v, 1000, "the same statement runs again with 1000 bytes");
    mysql_stmt_close(st);
    check(it_int(m, -1, "SELECT 7") == 7, "the connection still works");
    mysql_close(m);
}

/* ------------------------------------------------ prepared statements */

static int
prepare_many(MYSQL *m, MYSQL_STMT **sts, int n, unsigned *err, char *msg,
             size_t msglen)
{
    int ok = 0;
    *err = 0;
    for (int i = 0; i < n; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT ? + %d", i);
        sts[i] = mysql_stmt_init(m);
        if (mysql_stmt_prepare(sts[i], sql, strlen(sql)) != 0) {
            *err = mysql_stmt_errno(sts[i]);
            snprintf(msg, msglen, "%s", mysql_stmt_error(sts[i]));
            mysql_stmt_close(sts[i]);
            sts[i] = NULL;
            break;
        }
        ok++;
    }
    return ok;
}

static void
test_prepared_cap(void)
{
    MYSQL_STMT *sts[64] = {0}, *other[64] = {0};
    unsigned err = 0;
    char msg[512] = "";

    MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
    MYSQL *m2 = connect_px(APP_USER, APP_PASS, DB);
    if (!check(m != NULL && m2 != NULL, "two clients log in"))
        return;
    int ok = prepare_many(m, sts, MAX_PS + 1, &err, msg, sizeof(msg));
    check(ok == MAX_PS && err == ER_MAX_PREPARED_STMT &&
              strncmp(msg, "myshard:", 8) == 0 &&
              strstr(msg, "max_prepared_statements") != NULL,
          "%d statements prepare, the next gets 1461 from myshard (%d; %u "
          "%s)",
          MAX_PS, ok, err, msg);
    /* A prepared USE counts too. */
    MYSQL_STMT *use = mysql_stmt_init(m);
    int rc = mysql_stmt_prepare(use, "USE " DB, strlen("USE " DB));
    check(rc != 0 && mysql_stmt_errno(use) == ER_MAX_PREPARED_STMT,
          "a prepared USE over the cap gets 1461 too (%u)",
          mysql_stmt_errno(use));
    mysql_stmt_close(use);
    /* Per client: the other client has its own budget. */
    int ok2 = prepare_many(m2, other, MAX_PS, &err, msg, sizeof(msg));
    check_int(ok2, MAX_PS, "another client still prepares %d", MAX_PS);
    /* Closing one makes room. */
    mysql_stmt_close(sts[0]);
    sts[0] = NULL;
    MYSQL_STMT *again = mysql_stmt_init(m);
    rc = mysql_stmt_prepare(again, "SELECT ? * 2", 12);
    check(rc == 0, "after closing one, the client prepares again (%s)",
          rc ? mysql_stmt_error(again) : "ok");
    mysql_stmt_close(again);
    /* A statement within the cap still executes. */
    MYSQL_BIND in, out;
    long long a = 40, r = 0;
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    in.buffer_type = out.buffer_type = MYSQL_TYPE_LONGLONG;
    in.buffer = &a;
    out.buffer = &r;
    bool ran = sts[2] && mysql_stmt_bind_param(sts[2], &in) == 0 &&
               mysql_stmt_execute(sts[2]) == 0 &&
               mysql_stmt_bind_result(sts[2], &out) == 0 &&
               mysql_stmt_fetch(sts[2]) == 0;
    if (sts[2])
        mysql_stmt_free_result(sts[2]);
    check(ran && r == 42, "a kept statement executes (SELECT ? + 2 = %lld)", r);

    /* Reloaded: the cap rises for the clients already connected. */
    check(write_conf(MAX_PS2),
          "rewrite the config with "
          "max_prepared_statements: %d",
          MAX_PS2);
    kill(px.pid, SIGHUP);
    it_sleep_ms(1500);
    MYSQL_STMT *more[8] = {0};
    /* m holds MAX_PS - 1 + 0 after the close above: room for 3 more. */
    int got = prepare_many(m, more, 4, &err, msg, sizeof(msg));
    check(got == MAX_PS2 - (MAX_PS - 1) && err == ER_MAX_PREPARED_STMT,
          "after a reload to %d the client prepares %d more, then 1461 (%d, "
          "%u)",
          MAX_PS2, MAX_PS2 - (MAX_PS - 1), got, err);
    for (int i = 0; i < 8; i++)
        if (more[i])
            mysql_stmt_close(more[i]);
    for (int i = 0; i < 64; i++) {
        if (sts[i])
            mysql_stmt_close(sts[i]);
        if (other[i])
            mysql_stmt_close(other[i]);
    }
    mysql_close(m);
    mysql_close(m2);
}

/* A cacheable read that fails before its answer (its server offline)
 * must leave nothing behind: found by fuzz_commands, where the leftover
 * kept the next statement's answer under the failed one's key. */
static void
test_cache_after_failure(void)
{
    char sql[128];
    MYSQL *a = mysql_init(NULL);
    MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
    unsigned port = it_backend_port("S0_PRIMARY_PORT");
    if (!check(m != NULL &&
                   mysql_real_connect(a, "127.0.0.1", "admin", ADMIN_PASS, NULL,
                                      px.admin_port, NULL, 0) != NULL,
               "a client and the admin log in")) {
        mysql_close(a);
        if (m)
            mysql_close(m);
        return;
    }
    snprintf(sql, sizeof(sql), "SET BACKEND '127.0.0.1:%u' OFFLINE", port);
    it_exec(a, "%s", sql);
    int rc = mysql_query(m, "SELECT v FROM hot WHERE id = 2");
    if (rc == 0)
        mysql_free_result(mysql_store_result(m));
    check(rc != 0, "a cached read fails while its server is offline (%u)",
          mysql_errno(m));
    snprintf(sql, sizeof(sql), "SET BACKEND '127.0.0.1:%u' ONLINE", port);
    it_exec(a, "%s", sql);
    char *other = it_value(m, NULL, "SELECT 'not the row' AS v");
    free(other);
    char *v = it_value(m, NULL, "SELECT v FROM hot WHERE id = 2");
    check_str(v, "two",
              "then the same read answers the row, not the "
              "statement that ran after the failure");
    free(v);
    mysql_close(a);
    mysql_close(m);
}

/* ---------------------------------------------------------- main */

static bool
setup_backend(void)
{
    MYSQL *d = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (d == NULL)
        return false;
    bool ok =
        it_exec(d, "DROP DATABASE IF EXISTS " DB) &&
        it_exec(d, "CREATE DATABASE " DB) &&
        it_exec(d, "CREATE TABLE " DB ".hot (id INT PRIMARY KEY, v TEXT)") &&
        it_exec(d,
                "INSERT INTO " DB ".hot VALUES (1, REPEAT('h', %d)), (2, "
                "'two')",
                HOT_LEN);
    mysql_close(d);
    return ok;
}

int
main(void)
{
    it_init("itest_memcap");
    it_proxy_init(&px);
    px.user = APP_USER;
    px.password = APP_PASS;
    it_proxy_watchdog(&px, WATCHDOG);
    signal(SIGPIPE, SIG_IGN);

    /* Before login, on the shared myshard (MYSHARD_PID). */
    if (it_expect_proxy() && shared_pid() > 0) {
        test_login_cap_error();
        test_login_garbage();
    } else {
        check(false, "MYSHARD_PID names the shared myshard");
    }
    bool have_bin = it_proxy_have_bin(&px);
    check(have_bin, "MYSHARD_BIN is an executable myshard");
    if (!have_bin || it_backend_port("S0_PRIMARY_PORT") == 0)
        return it_done();
    if (!it_proxy_dir(&px, "itest_memcap")) {
        printf("Bail out! mkdtemp %s: %s\n", px.dir, strerror(errno));
        return 1;
    }
    check(setup_backend(), "create " DB ".hot on s0");
    check(write_conf(MAX_PS), "write %s", px.cfg);
    /* RSS should show what the proxy holds, as in a release build: an
     * ASan build's quarantine would keep every freed byte (up to 256 MB)
     * resident and count the churn instead, and its fake stacks for
     * detect_stack_use_after_return take several MB the first time a
     * deep call chain runs. */
    char asan[1024];
    snprintf(asan, sizeof(asan),
             "%s:quarantine_size_mb=1:thread_local_quarantine_size_kb=64:"
             "detect_stack_use_after_return=0",
             it_env("ASAN_OPTIONS", ""));
    setenv("ASAN_OPTIONS", asan, 1);
    bool up = it_proxy_start(&px, NULL);
    check(up, "myshard starts");
    if (up) {
        test_never_reads();
        test_pipelined_behind_statement();
        test_admin_never_reads();
        test_long_data();
        test_prepared_cap();
        test_cache_after_failure();
        MYSQL *m = connect_px(APP_USER, APP_PASS, DB);
        check(m != NULL && it_int(m, -1, "SELECT 1") == 1,
              "myshard serves clients after every attack");
        if (m)
            mysql_close(m);
        it_diag("final RSS %ld kB", rss_kb());
    }
    int st = 0;
    if (it_proxy_running(&px)) {
        bool gone = it_proxy_stop(&px, SIGTERM, 8, &st);
        check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "myshard exits 0 on SIGTERM");
    }
    bool clean = it_proxy_log_clean(&px);
    check(clean, "myshard's log has no sanitizer report");
    if (!clean)
        it_proxy_log_tail(&px, 0, 40);
    MYSQL *d = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (d) {
        it_exec(d, "DROP DATABASE IF EXISTS " DB);
        mysql_close(d);
    }
    int rc = it_done();
    it_proxy_cleanup(&px, rc);
    return rc;
}
