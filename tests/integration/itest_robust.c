/*
 * Robustness: garbage and protocol violations close only the offending
 * client; unknown commands get a clean error; clients that never finish the
 * handshake are timed out; clients that vanish mid-result leak no backend
 * connection; 200 concurrent clients are all served.
 */
#include "itest.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TROWS "itest_robust_rows"
#define TCONC "itest_robust_conc"

#define NROWS      20000
#define ABANDONS   30
#define NTHREADS   200
#define PER_THREAD 4
#define CLOSE_WAIT 5.0 /* seconds a violation may take to close the socket */

/* How a raw read ended. */
enum read_end { END_EOF, END_RESET, END_TIMEOUT, END_ERROR };

static const char *
end_name(enum read_end e)
{
    switch (e) {
    case END_EOF:
        return "closed";
    case END_RESET:
        return "reset";
    case END_TIMEOUT:
        return "still open";
    default:
        return "error";
    }
}

static int
raw_connect(void)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", it_port());
    if (getaddrinfo(it_host(), port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Reads into buf (up to cap bytes, the rest is discarded) until the peer
 * closes or timeout seconds pass. *got receives the bytes kept. */
static enum read_end
read_until_close(int fd, unsigned char *buf, size_t cap, size_t *got,
                 double timeout)
{
    double deadline = it_now() + timeout;
    unsigned char scratch[4096];
    *got = 0;
    for (;;) {
        double left = deadline - it_now();
        if (left <= 0)
            return END_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc == 0)
            return END_TIMEOUT;
        if (rc < 0 && errno != EINTR)
            return END_ERROR;
        if (rc < 0)
            continue;
        ssize_t n = recv(fd, scratch, sizeof(scratch), 0);
        if (n == 0)
            return END_EOF;
        if (n < 0)
            return errno == ECONNRESET ? END_RESET : END_ERROR;
        size_t keep = (size_t)n;
        if (keep > cap - *got)
            keep = cap - *got;
        memcpy(buf + *got, scratch, keep);
        *got += keep;
    }
}

/* Reads exactly one packet within timeout. Returns its payload length or
 * -1; the payload goes to buf (cap bytes), the sequence id to *seq. */
static long
read_packet(int fd, unsigned char *buf, size_t cap, unsigned *seq,
            double timeout)
{
    unsigned char hdr[4];
    size_t have = 0, len = 0;
    double deadline = it_now() + timeout;
    bool in_header = true;
    while (true) {
        size_t want = in_header ? 4 - have : len - have;
        if (want == 0) {
            if (!in_header)
                return (long)len;
            len = hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16;
            *seq = hdr[3];
            if (len > cap)
                return -1;
            in_header = false;
            have = 0;
            if (len == 0)
                return 0;
            continue;
        }
        double left = deadline - it_now();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            return -1;
        ssize_t n = recv(fd, in_header ? hdr + have : buf + have, want, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
}

static bool
send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void
check_others_served(const char *when)
{
    MYSQL *c = it_connect();
    char *v = c ? it_value(c, NULL, "SELECT 'served'") : NULL;
    check_str(v, "served", "a normal client works %s", when);
    free(v);
    if (c)
        mysql_close(c);
}

/* True if buf holds an ERR packet (payload starts with 0xff). */
static bool
is_err_packet(const unsigned char *buf, size_t n)
{
    return n >= 5 && buf[4] == 0xff;
}

static void
test_garbage_handshake(void)
{
    int fd = raw_connect();
    unsigned char pkt[1024];
    unsigned seq = 0;
    long n = fd >= 0 ? read_packet(fd, pkt, sizeof(pkt), &seq, 5) : -1;
    check(n > 0 && pkt[0] == 10 && seq == 0,
          "raw socket receives a protocol-10 handshake");
    /* a framed packet of junk in place of the handshake response, then more
     * junk behind it */
    unsigned char junk[256];
    it_fill_random(junk, sizeof(junk), 1234);
    junk[0] = 100;
    junk[1] = 0;
    junk[2] = 0;
    junk[3] = 1;
    bool sent = fd >= 0 && send_all(fd, junk, sizeof(junk));
    size_t got = 0;
    double t0 = it_now();
    enum read_end e =
        sent ? read_until_close(fd, pkt, sizeof(pkt), &got, CLOSE_WAIT)
             : END_ERROR;
    check(e == END_EOF || e == END_RESET,
          "garbage handshake response: the connection is closed");
    if (e != END_EOF && e != END_RESET)
        it_diag("socket %s after %.1fs, %zu bytes received", end_name(e),
                it_now() - t0, got);
    check(is_err_packet(pkt, got), "an error packet precedes the close");
    if (got >= 7 && is_err_packet(pkt, got))
        it_diag("error %u", pkt[5] | pkt[6] << 8);
    if (fd >= 0)
        close(fd);
    check_others_served("after a garbage handshake");

    /* pure junk, no framing at all: a length beyond anything sane */
    fd = raw_connect();
    if (fd >= 0)
        read_packet(fd, pkt, sizeof(pkt), &seq, 5);
    it_fill_random(junk, sizeof(junk), 99);
    sent = fd >= 0 && send_all(fd, junk, sizeof(junk));
    check(sent, "unframed junk sent to a fresh connection");
    check_others_served("after unframed junk on another connection");
    if (fd >= 0)
        close(fd);

    /* handshake response with a wrong sequence id */
    fd = raw_connect();
    if (fd >= 0)
        read_packet(fd, pkt, sizeof(pkt), &seq, 5);
    unsigned char resp[64];
    memset(resp, 0, sizeof(resp));
    resp[0] = 60;
    resp[3] = 7; /* should be 1 */
    resp[4] = 0x85;
    resp[5] = 0xa6; /* CLIENT_PROTOCOL_41 | SECURE_CONNECTION | ... */
    resp[6] = 0x0f;
    resp[12] = 45; /* utf8mb4 */
    memcpy(resp + 36, "app\0", 4);
    sent = fd >= 0 && send_all(fd, resp, sizeof(resp));
    e = sent ? read_until_close(fd, pkt, sizeof(pkt), &got, CLOSE_WAIT)
             : END_ERROR;
    check(e == END_EOF || e == END_RESET,
          "handshake response with sequence id 7: the connection is closed");
    if (e != END_EOF && e != END_RESET)
        it_diag("socket %s, %zu bytes received", end_name(e), got);
    if (fd >= 0)
        close(fd);
    check_others_served("after a bad handshake sequence id");
}

static void
test_after_auth_violations(void)
{
    /* unknown command byte: clean error, connection stays usable */
    MYSQL *m = it_connect();
    int fd = m ? (int)mysql_get_socket(m) : -1;
    unsigned char cmd[5] = {1, 0, 0, 0, 0xee};
    unsigned char pkt[1024];
    unsigned seq = 99;
    long n = -1;
    if (fd >= 0 && send_all(fd, cmd, sizeof(cmd)))
        n = read_packet(fd, pkt, sizeof(pkt), &seq, 5);
    unsigned code = n >= 3 ? (unsigned)(pkt[1] | pkt[2] << 8) : 0;
    check(n >= 3 && pkt[0] == 0xff && seq == 1,
          "unknown command 0xee gets an error packet");
    check_int(code, 1047, "unknown command error is 1047");
    char *v = m ? it_value(m, NULL, "SELECT 'after unknown command'") : NULL;
    check_str(v, "after unknown command",
              "the connection works after the unknown command");
    free(v);
    if (m)
        mysql_close(m);

    /* COM_QUERY with a wrong sequence id: a protocol violation */
    m = it_connect();
    fd = m ? (int)mysql_get_socket(m) : -1;
    unsigned char q[] = {9,   0,   0,   5,   0x03, 'S', 'E',
                         'L', 'E', 'C', 'T', ' ',  '1'};
    size_t got = 0;
    enum read_end e = END_ERROR;
    if (fd >= 0 && send_all(fd, q, sizeof(q)))
        e = read_until_close(fd, pkt, sizeof(pkt), &got, CLOSE_WAIT);
    check(e == END_EOF || e == END_RESET,
          "COM_QUERY with sequence id 5: the connection is closed");
    if (e != END_EOF && e != END_RESET)
        it_diag("socket %s, %zu bytes received", end_name(e), got);
    if (m)
        mysql_close(m);
    check_others_served("after a wrong sequence id");

    /* half a packet, then the client vanishes */
    m = it_connect();
    fd = m ? (int)mysql_get_socket(m) : -1;
    unsigned char half[] = {200, 0, 0, 0, 0x03, 'S', 'E', 'L'};
    if (fd >= 0) {
        send_all(fd, half, sizeof(half));
        shutdown(fd, SHUT_RDWR);
    }
    if (m)
        mysql_close(m);
    check_others_served("after a client vanished mid-packet");
}

static void
test_silent_client(void)
{
    int fd = raw_connect();
    unsigned char pkt[1024];
    unsigned seq = 0;
    long n = fd >= 0 ? read_packet(fd, pkt, sizeof(pkt), &seq, 5) : -1;
    check(n > 0 && pkt[0] == 10, "silent client receives the handshake");
    double t0 = it_now();
    check_others_served("while a client sits silent in the handshake");
    const char *env = it_env("MYSHARD_HANDSHAKE_TIMEOUT_S", NULL);
    if (env == NULL) {
        it_skip("MYSHARD_HANDSHAKE_TIMEOUT_S unset",
                "silent client is closed after the handshake timeout");
    } else {
        double limit = atof(env);
        size_t got = 0;
        enum read_end e = END_ERROR;
        if (fd >= 0)
            e = read_until_close(fd, pkt, sizeof(pkt), &got, limit + 3);
        double waited = it_now() - t0;
        check((e == END_EOF || e == END_RESET) && waited >= limit * 0.5,
              "silent client is closed after the handshake timeout (%.0f s)",
              limit);
        it_diag("socket %s after %.1f s", end_name(e), waited);
    }
    if (fd >= 0)
        close(fd);
}

static bool
load_rows(MYSQL *m)
{
    if (!it_exec(m, "DROP TABLE IF EXISTS " TROWS) ||
        !it_exec(m, "CREATE TABLE " TROWS
                    " (id INT PRIMARY KEY, pad VARCHAR(255))"))
        return false;
    size_t cap = 1000 * 240 + 64;
    char *q = malloc(cap);
    if (q == NULL)
        return false;
    for (int base = 0; base < NROWS; base += 1000) {
        size_t n = (size_t)snprintf(q, cap, "INSERT INTO " TROWS " VALUES ");
        for (int i = base + 1; i <= base + 1000; i++)
            n += (size_t)snprintf(q + n, cap - n, "%s(%d,REPEAT('p',200))",
                                  i == base + 1 ? "" : ",", i);
        if (mysql_real_query(m, q, (unsigned long)n) != 0) {
            it_diag("load: %s", mysql_error(m));
            free(q);
            return false;
        }
    }
    free(q);
    return true;
}

/* Connections the backend servers of s0 hold for the proxy (or, directly
 * against a server, for the tested user). -1 on error. */
static long long
backend_conns(MYSQL *primary, MYSQL *replica, const char *user)
{
    long long total = 0;
    MYSQL *servers[2] = {primary, replica};
    for (int i = 0; i < 2; i++) {
        if (servers[i] == NULL)
            continue;
        long long n = it_int(servers[i], -1,
                             "SELECT COUNT(*) FROM "
                             "information_schema.PROCESSLIST WHERE USER = '%s'",
                             user);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

/* Starts a streamed read of TROWS, takes a few rows, vanishes. */
static bool
abandon_stream(void)
{
    MYSQL *c = it_connect();
    if (c == NULL)
        return false;
    bool ok = false;
    if (mysql_query(c, "SELECT id, pad FROM " TROWS " ORDER BY id") == 0) {
        MYSQL_RES *r = mysql_use_result(c);
        int rows = 0;
        while (r != NULL && rows < 10 && mysql_fetch_row(r) != NULL)
            rows++;
        ok = rows == 10;
        shutdown((int)mysql_get_socket(c), SHUT_RDWR);
        if (r != NULL)
            mysql_free_result(r);
    }
    mysql_close(c);
    return ok;
}

static void
test_abandoned_results(MYSQL *m)
{
    const char *user =
        it_expect_proxy() ? it_env("BACKEND_USER", "myshard") : it_user();
    MYSQL *primary = it_connect_backend("S0_PRIMARY_PORT", NULL);
    MYSQL *replica = it_backend_port("S0_REPLICA_PORT") != 0
                         ? it_connect_backend("S0_REPLICA_PORT", NULL)
                         : NULL;
    check(primary != NULL, "witness connection to the s0 primary");
    check(load_rows(m), "load %d rows of 200 bytes", NROWS);

    /* warm up, then take the baseline */
    for (int i = 0; i < 3; i++)
        abandon_stream();
    usleep(1000 * 1000);
    long long base = backend_conns(primary, replica, user);
    int started = 0;
    for (int i = 0; i < ABANDONS; i++)
        if (abandon_stream())
            started++;
    check_int(started, ABANDONS,
              "%d clients started a streamed read and "
              "vanished after 10 rows",
              ABANDONS);
    long long now = -1;
    double deadline = it_now() + 5;
    do {
        now = backend_conns(primary, replica, user);
        if (now >= 0 && now <= base + 1)
            break;
        usleep(200 * 1000);
    } while (it_now() < deadline);
    check(base >= 0 && now >= 0 && now <= base + 3,
          "backend connections of user %s do not grow (no leak)", user);
    it_diag("backend connections: before %lld, after %d abandons %lld", base,
            ABANDONS, now);
    char *v = it_value(m, NULL, "SELECT COUNT(*) FROM " TROWS);
    check_str(v, "20000", "full reads still work after the abandons");
    free(v);
    if (primary)
        mysql_close(primary);
    if (replica)
        mysql_close(replica);
}

struct worker {
    pthread_t thread;
    int index;
    bool connected;
    int good;            /* queries with the expected answer */
    unsigned last_errno; /* first failure, 0 if none */
    char last_error[160];
};

static pthread_barrier_t all_connected;
static pthread_barrier_t all_done;

static void
worker_fail(struct worker *w, MYSQL *c)
{
    if (w->last_errno == 0) {
        w->last_errno = c ? mysql_errno(c) : 1;
        snprintf(w->last_error, sizeof(w->last_error), "%s",
                 c ? mysql_error(c) : "mysql_init failed");
    }
}

/* Single value of sql into out; false on error. */
static bool
worker_value(MYSQL *c, const char *sql, char *out, size_t outlen)
{
    if (mysql_query(c, sql) != 0)
        return false;
    MYSQL_RES *r = mysql_store_result(c);
    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
    bool ok = row != NULL && row[0] != NULL;
    if (ok)
        snprintf(out, outlen, "%s", row[0]);
    if (r)
        mysql_free_result(r);
    return ok;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    mysql_thread_init();
    unsigned err = 0;
    MYSQL *c = it_connect_as(it_user(), it_password(), it_db(), 0, &err);
    w->connected = c != NULL;
    if (c == NULL) {
        w->last_errno = err ? err : 1;
        snprintf(w->last_error, sizeof(w->last_error), "connect failed");
    }
    pthread_barrier_wait(&all_connected);
    for (int q = 0; c != NULL && q < PER_THREAD; q++) {
        char sql[160], want[64], got[64] = "";
        switch (q) {
        case 0:
            snprintf(sql, sizeof(sql), "SELECT %d + 1000", w->index);
            snprintf(want, sizeof(want), "%d", w->index + 1000);
            break;
        case 1:
            snprintf(sql, sizeof(sql),
                     "INSERT INTO " TCONC " VALUES (%d, 'w%d')", w->index,
                     w->index);
            break;
        case 2:
            snprintf(sql, sizeof(sql), "SELECT v FROM " TCONC " WHERE id = %d",
                     w->index);
            snprintf(want, sizeof(want), "w%d", w->index);
            break;
        default:
            snprintf(sql, sizeof(sql), "SELECT REPEAT('x', %d)", w->index % 50);
            memset(want, 'x', (size_t)(w->index % 50));
            want[w->index % 50] = '\0';
            break;
        }
        if (q == 1) {
            if (mysql_query(c, sql) == 0 && mysql_affected_rows(c) == 1)
                w->good++;
            else
                worker_fail(w, c);
            continue;
        }
        if (worker_value(c, sql, got, sizeof(got)) && strcmp(got, want) == 0)
            w->good++;
        else
            worker_fail(w, c);
    }
    pthread_barrier_wait(&all_done);
    if (c)
        mysql_close(c);
    mysql_thread_end();
    return NULL;
}

static void
test_concurrency(MYSQL *m)
{
    check(it_exec(m, "DROP TABLE IF EXISTS " TCONC) &&
              it_exec(m, "CREATE TABLE " TCONC
                         " (id INT PRIMARY KEY, v VARCHAR(20))"),
          "create " TCONC);
    static struct worker workers[NTHREADS];
    pthread_barrier_init(&all_connected, NULL, NTHREADS);
    pthread_barrier_init(&all_done, NULL, NTHREADS);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    int started = 0;
    double t0 = it_now();
    for (int i = 0; i < NTHREADS; i++) {
        memset(&workers[i], 0, sizeof(workers[i]));
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, &attr, worker_main,
                           &workers[i]) == 0)
            started++;
    }
    pthread_attr_destroy(&attr);
    if (started != NTHREADS) {
        check(false, "start %d client threads", NTHREADS);
        it_diag("only %d threads started; cannot continue", started);
        printf("Bail out! thread creation failed\n");
        exit(1);
    }
    int connected = 0, good = 0, failed_shown = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(workers[i].thread, NULL);
        connected += workers[i].connected;
        good += workers[i].good;
        if (workers[i].last_errno != 0 && failed_shown++ < 5)
            it_diag("client %d: %u %s", i, workers[i].last_errno,
                    workers[i].last_error);
    }
    pthread_barrier_destroy(&all_connected);
    pthread_barrier_destroy(&all_done);
    check_int(connected, NTHREADS, "%d clients connected at the same time",
              NTHREADS);
    check_int(good, NTHREADS * PER_THREAD,
              "every query of the %d concurrent clients answered correctly",
              NTHREADS);
    it_diag("%d clients x %d queries in %.2f s", NTHREADS, PER_THREAD,
            it_now() - t0);
    MYSQL *direct = it_connect_backend("S0_PRIMARY_PORT", it_db());
    long long rows =
        direct ? it_int(direct, -1, "SELECT COUNT(*) FROM " TCONC) : -1;
    check_int(rows, NTHREADS, "the shard primary holds one row per client");
    if (direct)
        mysql_close(direct);
}

int
main(void)
{
    it_init("itest_robust");
    MYSQL *m = it_connect();
    if (!check(m != NULL, "connect"))
        return it_done();

    test_garbage_handshake();
    test_after_auth_violations();
    test_silent_client();
    test_abandoned_results(m);
    test_concurrency(m);
    check_others_served("after everything above");

    it_exec(m, "DROP TABLE IF EXISTS " TROWS);
    it_exec(m, "DROP TABLE IF EXISTS " TCONC);
    mysql_close(m);
    return it_done();
}
