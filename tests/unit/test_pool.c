/*
 * test_pool.c - lending connections between workers (backend/pool.c): two
 * real workers (threads, each its own libevent loop) each hold a pool of
 * one server whose cap (pool.max_connections 1) is taken by a single
 * connection, made by hand over a socketpair so that no server is needed.
 * A statement waiting on the worker without the connection gets it lent
 * across (its events then run on the borrower's loop: bytes written and
 * read there), it goes back the same way to a waiter on the first worker,
 * a connection coming back serves the longest wait across the workers,
 * no second connection is ever opened over the cap, and a waiter nobody
 * lends to fails with 9002 after wait_timeout. At the end the connection
 * is freed by the pool holding it and the server's count is back to 0.
 */
#include "backend/pool.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/clock.h"
#include "cfg/cfg_types.h"
#include "net/conn.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"

/* The world of one test: two workers, one server, its two pools. */
static struct worker wk[2];
static struct server srv;
static struct cfg cfg;
static struct pool *pools[2];
static int fds[2]; /* [0] the proxy's end (the connection), [1] the server's */

/* What an acquire callback saw; guarded by mu, signalled through cv. */
struct result {
    bool done;
    struct serverconn *sc;
    int err;
    char msg[256];
    pthread_t thread;
    int64_t at_ms;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void
got(void *arg, struct serverconn *sc, int err, const char *msg)
{
    struct result *r = arg;

    pthread_mutex_lock(&mu);
    r->sc = sc;
    r->err = err;
    if (msg != NULL)
        snprintf(r->msg, sizeof(r->msg), "%s", msg);
    r->thread = pthread_self();
    r->at_ms = clock_ms();
    r->done = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits up to 10 s (a busy shared machine) for r. */
static bool
wait_result(struct result *r)
{
    struct timespec until;
    bool done;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (!r->done && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    done = r->done;
    pthread_mutex_unlock(&mu);
    return done;
}

/* Runs fn(arg) on worker i's thread and waits until it has run. */
struct onloop {
    void (*fn)(void *);
    void *arg;
    bool ran;
};

static void
onloop_cb(struct worker *w, void *arg)
{
    struct onloop *o = arg;

    (void)w;
    o->fn(o->arg);
    pthread_mutex_lock(&mu);
    o->ran = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void
run_on(int i, void (*fn)(void *), void *arg)
{
    struct onloop o = {fn, arg, false};
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    worker_call(&wk[i], onloop_cb, &o);
    pthread_mutex_lock(&mu);
    while (!o.ran && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    pthread_mutex_unlock(&mu);
    ck_assert_msg(o.ran, "worker %d did not run the call", i);
}

/* Acquire on a pool from its own loop. */
struct acquire {
    int pool;
    struct pool_waiter w;
    struct result r;
    struct serverconn *now; /* returned at once */
};

static void
do_acquire(void *arg)
{
    struct acquire *a = arg;

    a->now = pool_acquire(pools[a->pool], &a->w, got, &a->r);
}

static void
noop(void *arg)
{
    (void)arg;
}

static void
do_release(void *arg)
{
    pool_release(arg);
}

/* The connection's reads, on whichever loop it lives. */
static struct result readres;

static void
on_read(struct conn *c, void *arg)
{
    char buf[16] = {0};

    (void)arg;
    evbuffer_remove(c->in, buf, sizeof(buf) - 1);
    got(&readres, NULL, 0, buf);
}

/* The pools' bookkeeping of wants, read under the server's lock. */
static void
wants(int *want0, int *want1, int *board)
{
    pthread_mutex_lock(&srv.lend_mu);
    *want0 = pools[0]->want;
    *want1 = pools[1]->want;
    *board = atomic_load(&srv.lend_want);
    pthread_mutex_unlock(&srv.lend_mu);
}

static void
setup(void)
{
    struct serverconn *sc;

    memset(&srv, 0, sizeof(srv));
    memset(&cfg, 0, sizeof(cfg));
    srv.addr = "127.0.0.1:1";
    pthread_mutex_init(&srv.lend_mu, NULL);
    cfg.backend.user = "u";
    cfg.backend.password = "p";
    cfg.backend.connect_timeout_ms = 1000;
    cfg.backend.pool.max_connections = 1;
    cfg.backend.pool.idle_timeout_ms = 600000;
    cfg.backend.pool.wait_timeout_ms = 600000;
    for (int i = 0; i < 2; i++) {
        ck_assert(worker_init(&wk[i], i));
        pools[i] = pool_new(&wk[i], &srv, &cfg);
    }
    /* The one connection the cap allows, lent out by worker 0's pool. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    sc = calloc(1, sizeof(*sc));
    sc->srv = &srv;
    sc->pool = pools[0];
    sc->conn = conn_new(&wk[0], fds[0]);
    conn_set_cbs(sc->conn, on_read, NULL, NULL, NULL);
    sc->state = SC_LENT;
    pools[0]->nlent = 1;
    atomic_store(&srv.conns, 1);
    for (int i = 0; i < 2; i++)
        ck_assert(worker_start(&wk[i]));
    /* ...and given back: idle on worker 0 */
    run_on(0, do_release, sc);
    ck_assert_int_eq(pools[0]->nidle, 1);
}

static void
teardown(void)
{
    for (int i = 0; i < 2; i++)
        worker_stop(&wk[i]);
    for (int i = 0; i < 2; i++) {
        pool_free(pools[i]);
        /* the frees the pools scheduled on the loop */
        event_base_loop(wk[i].base, EVLOOP_NONBLOCK);
        worker_free(&wk[i]);
    }
    close(fds[1]);
    ck_assert_int_eq(atomic_load(&srv.conns), 0);
    ck_assert_int_eq(atomic_load(&srv.lend_want), 0);
    free(srv.pools);
    pthread_mutex_destroy(&srv.lend_mu);
}

/* Bytes from the server's end reach the connection's current loop. */
static void
expect_read_on(int i, const char *text)
{
    memset(&readres, 0, sizeof(readres));
    ck_assert_int_eq(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_msg(wait_result(&readres), "no read of \"%s\"", text);
    ck_assert_str_eq(readres.msg, text);
    ck_assert(pthread_equal(readres.thread, wk[i].tid));
}

/* Bytes written through the connection leave from its current loop. */
static void
do_write(void *arg)
{
    struct serverconn *sc = arg;

    evbuffer_add(serverconn_output(sc), "ping", 4);
}

static void
expect_written(void)
{
    struct pollfd pfd = {fds[1], POLLIN, 0};
    char buf[8] = {0};

    ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
    ck_assert_int_eq(read(fds[1], buf, sizeof(buf) - 1), 4);
    ck_assert_str_eq(buf, "ping");
}

START_TEST(test_lend_across_and_back)
{
    struct acquire a1 = {.pool = 1}, a0 = {.pool = 0};
    struct serverconn *sc;
    int w0, w1, board;

    setup();
    expect_read_on(0, "on w0");

    /* worker 1 has no connection and no room: worker 0 lends its idle one */
    run_on(1, do_acquire, &a1);
    ck_assert_ptr_null(a1.now);
    ck_assert_msg(wait_result(&a1.r), "the waiter on worker 1 got nothing");
    sc = a1.r.sc;
    ck_assert_ptr_nonnull(sc);
    ck_assert_int_eq(a1.r.err, 0);
    ck_assert(pthread_equal(a1.r.thread, wk[1].tid));
    ck_assert_ptr_eq(sc->pool, pools[1]);
    ck_assert_ptr_eq(sc->conn->w, &wk[1]);
    ck_assert_int_eq(sc->state, SC_LENT);
    ck_assert_int_eq(atomic_load(&srv.conns), 1); /* lent, not opened */
    run_on(1, noop, NULL);                        /* lend_arrive has ended */
    wants(&w0, &w1, &board);
    ck_assert_int_eq(w1, 0);
    ck_assert_int_eq(board, 0);
    /* its events moved to worker 1's loop */
    run_on(1, do_write, sc);
    expect_written();
    expect_read_on(1, "on w1");

    /* now worker 0 waits; worker 1's release sends it back across */
    run_on(0, do_acquire, &a0);
    ck_assert_ptr_null(a0.now);
    run_on(1, do_release, sc);
    ck_assert_msg(wait_result(&a0.r), "the waiter on worker 0 got nothing");
    ck_assert_ptr_eq(a0.r.sc, sc);
    ck_assert_int_eq(a0.r.err, 0);
    ck_assert(pthread_equal(a0.r.thread, wk[0].tid));
    ck_assert_ptr_eq(sc->pool, pools[0]);
    ck_assert_int_eq(atomic_load(&srv.conns), 1);
    expect_read_on(0, "back on w0");

    /* released with nobody waiting: idle on worker 0 */
    run_on(0, do_release, sc);
    ck_assert_int_eq(pools[0]->nidle, 1);
    ck_assert_int_eq(pools[1]->nidle, 0);
    ck_assert_int_eq(pools[0]->nlent + pools[1]->nlent, 0);
    wants(&w0, &w1, &board);
    ck_assert_int_eq(w0 + w1 + board, 0);
    teardown();
}
END_TEST

/* A connection coming back goes to the longest wait across the workers:
 * worker 1's older waiter before worker 0's own; then worker 0's. */
START_TEST(test_longest_wait_first)
{
    struct acquire hold = {.pool = 0}, older = {.pool = 1}, newer = {.pool = 0};

    setup();
    run_on(0, do_acquire, &hold);
    ck_assert_ptr_nonnull(hold.now);
    run_on(1, do_acquire, &older);
    ck_assert_ptr_null(older.now);
    usleep(20 * 1000); /* distinct waiting times in ms */
    run_on(0, do_acquire, &newer);
    ck_assert_ptr_null(newer.now);
    ck_assert_int_lt(older.w.since_ms, newer.w.since_ms);

    run_on(0, do_release, hold.now);
    ck_assert(wait_result(&older.r));
    ck_assert_ptr_eq(older.r.sc, hold.now);
    ck_assert(pthread_equal(older.r.thread, wk[1].tid));
    pthread_mutex_lock(&mu);
    ck_assert(!newer.r.done);
    pthread_mutex_unlock(&mu);

    run_on(1, do_release, older.r.sc);
    ck_assert(wait_result(&newer.r));
    ck_assert_ptr_eq(newer.r.sc, hold.now);
    ck_assert(pthread_equal(newer.r.thread, wk[0].tid));
    ck_assert_int_eq(atomic_load(&srv.conns), 1);
    run_on(0, do_release, newer.r.sc);
    teardown();
}
END_TEST

/* A borrower on the same worker is served from the idle list at once. */
START_TEST(test_local_first)
{
    struct acquire a = {.pool = 0};

    setup();
    run_on(0, do_acquire, &a);
    ck_assert_ptr_nonnull(a.now);
    ck_assert_int_eq(pools[0]->nidle, 0);
    ck_assert_int_eq(pools[0]->nlent, 1);
    run_on(0, do_release, a.now);
    ck_assert_int_eq(pools[0]->nidle, 1);
    teardown();
}
END_TEST

/* Nobody can lend (the connection is busy on worker 0): the waiter on
 * worker 1 fails with 9002 once wait_timeout has passed, and its want is
 * taken off the board. */
START_TEST(test_wait_timeout)
{
    struct acquire hold = {.pool = 0}, a = {.pool = 1};
    int w0, w1, board;
    int64_t start;

    setup();
    pools[1]->wait_timeout_ms = 300;
    run_on(0, do_acquire, &hold);
    ck_assert_ptr_nonnull(hold.now);
    start = clock_ms();
    run_on(1, do_acquire, &a);
    ck_assert_ptr_null(a.now);
    ck_assert(wait_result(&a.r));
    ck_assert_ptr_null(a.r.sc);
    ck_assert_int_eq(a.r.err, ER_MYSHARD_POOL_TIMEOUT);
    ck_assert(pthread_equal(a.r.thread, wk[1].tid));
    ck_assert_int_ge(a.r.at_ms - start, 300);
    ck_assert_msg(strstr(a.r.msg, "pool.max_connections=1") != NULL, "%s",
                  a.r.msg);
    ck_assert_int_eq(atomic_load(&srv.conns), 1);
    run_on(1, noop, NULL); /* the tick that failed it has ended */
    wants(&w0, &w1, &board);
    ck_assert_int_eq(w1, 0);
    ck_assert_int_eq(board, 0);
    ck_assert_int_eq(pools[1]->nwaiting, 0);
    run_on(0, do_release, hold.now);
    ck_assert_int_eq(pools[0]->nidle, 1);
    teardown();
}
END_TEST

static Suite *
pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("lending");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lend_across_and_back);
    tcase_add_test(tc, test_longest_wait_first);
    tcase_add_test(tc, test_local_first);
    tcase_add_test(tc, test_wait_timeout);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(pool_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
