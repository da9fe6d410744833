/*
 * loadgen.c - many active MySQL clients from one thread: N connections
 * through MariaDB Connector/C's non-blocking API on one epoll loop, each
 * running point selects back to back (SELECT c FROM sbtest<k> WHERE id=?,
 * random k and id, as sysbench's oltp_point_select), so that ten thousand
 * clients cost ten thousand sockets, not ten thousand threads. Prints the
 * time to connect them all, then qps and latency percentiles over the run.
 *
 * Usage: loadgen -h HOST -P PORT -u USER -p PASSWORD -D DB
 *                [-c CLIENTS] [-t SECONDS] [-T TABLES] [-s TABLE_SIZE]
 *                [-r CONNECTS_IN_FLIGHT]
 * Output (one line each, key=value): connect, run, errors. The run line's
 * queries are the measured ones; all_queries also counts the settling
 * second before (for a server's CPU time over the whole invocation).
 */
#include <errno.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum phase { PH_IDLE, PH_CONNECT, PH_QUERY, PH_STORE, PH_DONE };

struct client {
    MYSQL m, *ret;
    MYSQL_RES *res;
    enum phase ph;
    int fd;
    int64_t started_us;
    bool in_epoll;
};

/* latency histogram: 1 us resolution below 1 ms, then 1% steps */
#define HBUCKETS 4096
static uint64_t hist[HBUCKETS];
static int epfd;
static const char *host = "127.0.0.1", *user = "app", *pass = "app",
                  *db = "shop";
static unsigned port = 3306;
static int tables = 4, table_size = 10000;
static bool measuring;
static uint64_t done_queries, all_queries, errors;
static int connected, connecting;

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
bucket_of(int64_t us)
{
    double b = 1000;
    int i = 1000;

    if (us < 1000)
        return us < 0 ? 0 : (int)us;
    while (b * 1.01 < (double)us && i < HBUCKETS - 1) {
        b *= 1.01;
        i++;
    }
    return i;
}

static double
bucket_us(int i)
{
    double b = 1000;

    if (i < 1000)
        return i;
    for (int k = 1000; k < i; k++)
        b *= 1.01;
    return b;
}

static double
percentile(double q)
{
    uint64_t total = 0, seen = 0;

    for (int i = 0; i < HBUCKETS; i++)
        total += hist[i];
    for (int i = 0; i < HBUCKETS; i++) {
        seen += hist[i];
        if (total && (double)seen >= q * (double)total)
            return bucket_us(i) / 1000.0;
    }
    return 0;
}

/* Waits for what the connector asked (MYSQL_WAIT_READ/WRITE). */
static void
wait_for(struct client *c, int status)
{
    struct epoll_event ev = {0};

    ev.events = ((status & MYSQL_WAIT_READ) ? EPOLLIN : 0) |
                ((status & MYSQL_WAIT_WRITE) ? EPOLLOUT : 0);
    ev.data.ptr = c;
    if (c->fd < 0)
        c->fd = mysql_get_socket(&c->m);
    if (epoll_ctl(epfd, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
                  &ev) != 0) {
        perror("epoll_ctl");
        exit(1);
    }
    c->in_epoll = true;
}

static void step(struct client *c, int status);

static void
start_query(struct client *c)
{
    char sql[96];
    int n = snprintf(sql, sizeof(sql), "SELECT c FROM sbtest%d WHERE id=%d",
                     1 + rand() % tables, 1 + rand() % table_size);
    int err, status;

    c->ph = PH_QUERY;
    c->started_us = now_us();
    status = mysql_real_query_start(&err, &c->m, sql, (unsigned long)n);
    step(c, status);
}

static void
fail(struct client *c, const char *what)
{
    errors++;
    if (errors <= 5)
        fprintf(stderr, "loadgen: %s: %s\n", what, mysql_error(&c->m));
    if (c->in_epoll)
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->in_epoll = false;
    mysql_close(&c->m);
    c->ph = PH_DONE;
    if (connecting && c->ret == NULL)
        connecting--;
}

/* Runs the client's state machine as far as it goes without waiting. */
static void
step(struct client *c, int status)
{
    for (;;) {
        int err = 0;

        if (status != 0) {
            wait_for(c, status);
            return;
        }
        switch (c->ph) {
        case PH_CONNECT:
            if (c->ret == NULL) {
                fail(c, "connect");
                return;
            }
            connecting--;
            connected++;
            c->fd = mysql_get_socket(&c->m);
            start_query(c);
            return;
        case PH_QUERY:
            if (mysql_errno(&c->m)) {
                fail(c, "query");
                return;
            }
            c->ph = PH_STORE;
            status = mysql_store_result_start(&c->res, &c->m);
            continue;
        case PH_STORE:
            if (c->res == NULL && mysql_errno(&c->m)) {
                fail(c, "result");
                return;
            }
            mysql_free_result(c->res);
            c->res = NULL;
            if (measuring) {
                hist[bucket_of(now_us() - c->started_us)]++;
                done_queries++;
            }
            all_queries++;
            (void)err;
            start_query(c);
            return;
        default:
            return;
        }
    }
}

static void
resume(struct client *c, uint32_t events)
{
    int st = (events & EPOLLIN ? MYSQL_WAIT_READ : 0) |
             (events & EPOLLOUT ? MYSQL_WAIT_WRITE : 0) |
             (events & (EPOLLERR | EPOLLHUP) ? MYSQL_WAIT_READ : 0);
    int err;

    switch (c->ph) {
    case PH_CONNECT:
        st = mysql_real_connect_cont(&c->ret, &c->m, st);
        break;
    case PH_QUERY:
        st = mysql_real_query_cont(&err, &c->m, st);
        break;
    case PH_STORE:
        st = mysql_store_result_cont(&c->res, &c->m, st);
        break;
    default:
        return;
    }
    step(c, st);
}

static void
start_connect(struct client *c)
{
    int st;

    mysql_init(&c->m);
    mysql_options(&c->m, MYSQL_OPT_NONBLOCK, 0);
    c->fd = -1;
    c->ph = PH_CONNECT;
    c->ret = NULL;
    connecting++;
    st = mysql_real_connect_start(&c->ret, &c->m, host, user, pass, db, port,
                                  NULL, 0);
    step(c, st);
}

static void
loop_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(epfd, evs, 512, timeout_ms);

    for (int i = 0; i < n; i++)
        resume(evs[i].data.ptr, evs[i].events);
}

int
main(int argc, char **argv)
{
    int nclients = 1000, seconds = 10, inflight = 256, opt, next = 0;
    struct client *cl;
    struct rlimit rl;
    int64_t t0, t1, end;

    while ((opt = getopt(argc, argv, "h:P:u:p:D:c:t:T:s:r:")) != -1) {
        switch (opt) {
        case 'h':
            host = optarg;
            break;
        case 'P':
            port = (unsigned)atoi(optarg);
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            pass = optarg;
            break;
        case 'D':
            db = optarg;
            break;
        case 'c':
            nclients = atoi(optarg);
            break;
        case 't':
            seconds = atoi(optarg);
            break;
        case 'T':
            tables = atoi(optarg);
            break;
        case 's':
            table_size = atoi(optarg);
            break;
        case 'r':
            inflight = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: loadgen -h HOST -P PORT -u USER -p PASS "
                            "-D DB [-c N] [-t S] [-T TABLES] [-s SIZE] "
                            "[-r CONNECTS]\n");
            return 2;
        }
    }
    if (nclients < 1 || seconds < 1 || tables < 1 || table_size < 1 ||
        inflight < 1) {
        fprintf(stderr, "loadgen: counts must be positive\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)nclients + 64) {
        fprintf(stderr,
                "loadgen: %d clients need %d open files; the limit is "
                "%llu (ulimit -n)\n",
                nclients, nclients + 64, (unsigned long long)rl.rlim_cur);
        return 2;
    }
    mysql_library_init(0, NULL, NULL);
    epfd = epoll_create1(0);
    cl = calloc((size_t)nclients, sizeof(*cl));
    if (cl == NULL || epfd < 0) {
        perror("loadgen");
        return 1;
    }
    srand(12345);
    /* Connect them all, at most inflight at a time: every client runs
     * queries as soon as it is in. */
    t0 = now_us();
    while (next < nclients || connecting > 0) {
        while (next < nclients && connecting < inflight)
            start_connect(&cl[next++]);
        loop_once(100);
        if (now_us() - t0 > 120 * 1000000LL) {
            fprintf(stderr, "loadgen: connecting took over 120 s\n");
            break;
        }
    }
    t1 = now_us();
    printf("connect clients=%d connected=%d seconds=%.2f errors=%llu\n",
           nclients, connected, (double)(t1 - t0) / 1e6,
           (unsigned long long)errors);
    fflush(stdout);
    /* a second to settle, then measure */
    end = now_us() + 1000000;
    while (now_us() < end)
        loop_once(50);
    measuring = true;
    t0 = now_us();
    end = t0 + (int64_t)seconds * 1000000;
    while (now_us() < end)
        loop_once(50);
    measuring = false;
    t1 = now_us();
    printf("run clients=%d qps=%.0f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f "
           "max_ms=%.1f errors=%llu queries=%llu all_queries=%llu\n",
           connected, (double)done_queries * 1e6 / (double)(t1 - t0),
           percentile(0.50), percentile(0.95), percentile(0.99),
           percentile(1.0), (unsigned long long)errors,
           (unsigned long long)done_queries, (unsigned long long)all_queries);
    return errors > 0 ? 1 : 0;
}
