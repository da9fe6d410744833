/*
 * Protection through a myshard instance this program starts ($MYSHARD_BIN)
 * with its own config in a temporary directory: one schema pt (backend
 * schema itest_protect, default shard s0, primaries only), backend.pool
 * { max_connections: 10, noncore_share: 0.3, wait_timeout: 1s },
 * backend.query_timeout 2s, and these users and policies:
 *   app  no limit, class core            rep  class noncore
 *   tb   token_bucket 50/s, burst 10     fw   fixed_window 30 per 1s
 *   lb   leaky_bucket 20/s, max_wait 2s  lb2  leaky_bucket 20/s, 500ms
 *   lim  max_connections 3               ro   read_only
 *   policy "SELECT id FROM itest_protect_sw": sliding_window 5 per 1s
 *   policy "DELETE FROM itest_protect_audit": deny
 *   policy "SELECT v FROM itest_protect_hot WHERE id = ?": cache ttl 2s
 * Rows are witnessed on the s0 primary itself (direct connection), and so
 * is what still runs there (information_schema.PROCESSLIST).
 *
 *   a. token_bucket: one client sending SELECT 1 as fast as it can for 2 s
 *      gets 10 + 50 t admitted (within 15 %), the rest 1226 with a
 *      "myshard:" message naming token_bucket; the connection then works
 *   b. fixed_window: over one second 30 to 60 admitted, the rest 1226
 *      naming fixed_window
 *   c. sliding_window on one digest: 8 to 15 of its statements admitted in
 *      1.95 s (5 per second, true window or two-bucket estimate), refusals
 *      name sliding_window; 50 other statements of the same user and
 *      connection in the first second all succeed
 *   d. leaky_bucket 20/s, max_wait 2s: 30 statements at once from 10
 *      clients (3 connections each) all succeed, completing over 1.2 to
 *      2.2 s and never more than 8 in 250 ms; with max_wait 500ms 9 to 12
 *      succeed and the rest get 1226 naming leaky_bucket within 1 s (not
 *      after waiting past max_wait); a refused connection works after
 *   e. query_timeout 2s: SELECT SLEEP(4) gets 1969 after 1.8 to 3.5 s, the
 *      s0 primary runs no SLEEP(4) within 1 s after, the connection works
 *   f. deny: DELETE FROM itest_protect_audit (any case and spacing) gets
 *      1227 with "myshard:" and the policy's text; the rows stay
 *   g. read_only: an INSERT, even into a table that does not exist, gets
 *      1290 (never reached a server); the row is not there
 *   h. isolation: 6 noncore clients run SELECT SLEEP(1.5) at once: the s0
 *      primary never runs more than 3 of them (pool 10 x 0.3), 3 succeed,
 *      3 get 9002 after wait_timeout (1 s); a core client's SELECT 1
 *      meanwhile answers within 200 ms
 *   i. per-user max_connections: lim's 4th connection gets 1040; after one
 *      closes, a new one gets in
 *   j. visibility: SHOW USERS on the admin console shows tb's limit and
 *      its rate_limited count grown by the refusals (fw's and lb2's
 *      counted too); GET /metrics on admin.http has
 *      myshard_rate_limited_total{user="tb"} > 0
 *   k. max_client_connections (80): with no other client, 80 connect and
 *      the 81st gets 1040 naming max_client_connections; after one
 *      closes, a new one gets in
 *   l. hot-key cache (per worker: the reads go through one connection of
 *      app; the worker of a connection is the top byte of its connection
 *      id): a read of itest_protect_hot id 1 after the row changed on the
 *      s0 primary itself still answers the old value within the 2 s TTL
 *      and SHOW STATS cache_hits_total grows; after 2.2 s the new value;
 *      id 2 is an entry of its own, and rep on the same worker does not
 *      get app's cached answer; an UPDATE through myshard on the same
 *      connection, then one on a connection of the other worker, are seen
 *      by the very next read; while a transaction of the other connection
 *      holds an UPDATE the read answers the committed value, and the read
 *      right after its COMMIT the new one; /metrics has
 *      myshard_cache_hits_total and myshard_cache_misses_total > 0
 * The isolation sleeps are 1.5 s, not 2 s: a 2 s sleep would race the 2 s
 * query_timeout. Every wait is bounded; the whole program has a watchdog
 * that kills its myshard. Proxy-only.
 */
#include "itest_protect_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------- a. token bucket */

static long tb_refused; /* refusals the client saw, for j */

static void
test_token_bucket(void)
{
    MYSQL *m = client("tb", "tb-pw");
    if (!check(m != NULL, "a: tb connects"))
        return;
    struct tally t = {0};
    struct answer a;
    double t0 = it_now(), last = t0;
    while (it_now() - t0 < 2.0) {
        run(m, "SELECT 1", &a);
        tally_add(&t, &a, "token_bucket");
        last = it_now();
        if (a.err != 0 && a.err != ER_USER_LIMIT && t.other > 20)
            break; /* something else is wrong: stop hammering */
    }
    double secs = last - t0;
    double want = 10 + 50 * secs;
    it_diag("a: %ld statements in %.2f s: %ld admitted, %ld refused, %ld other",
            t.ok + t.limited + t.other, secs, t.ok, t.limited, t.other);
    check(t.ok >= 0.85 * want && t.ok <= 1.15 * want,
          "a: token_bucket 50/s burst 10 admitted %ld in %.2f s, expected "
          "10 + 50 t = %.0f +- 15%%",
          t.ok, secs, want);
    check_refusals(&t, "a: token_bucket", "token_bucket");
    tb_refused = t.limited;
    bool usable = usable_within(m, 1.0, &a);
    check(usable, "a: the connection then runs SELECT 1 (%u %s)", a.err, a.msg);
    mysql_close(m);
}

/* ------------------------------------------------- b. fixed window */

static void
test_fixed_window(void)
{
    MYSQL *m = client("fw", "fw-pw");
    if (!check(m != NULL, "b: fw connects"))
        return;
    struct tally t = {0};
    struct answer a;
    double t0 = it_now();
    while (it_now() - t0 < 1.0) {
        run(m, "SELECT 1", &a);
        tally_add(&t, &a, "fixed_window");
        if (a.err != 0 && a.err != ER_USER_LIMIT && t.other > 20)
            break;
    }
    it_diag("b: %ld statements in 1 s: %ld admitted, %ld refused, %ld other",
            t.ok + t.limited + t.other, t.ok, t.limited, t.other);
    check(t.ok >= 30 && t.ok <= 60,
          "b: fixed_window 30/s admitted %ld in one second (30 to 60)", t.ok);
    check_refusals(&t, "b: fixed_window", "fixed_window");
    bool usable = usable_within(m, 1.5, &a);
    check(usable, "b: the connection runs SELECT 1 in the next window (%u %s)",
          a.err, a.msg);
    mysql_close(m);
}

/* ------------------------------------------------ c. sliding window */

static void
test_sliding_window(void)
{
    MYSQL *m = client("app", "app-pw");
    if (!check(m != NULL, "c: app connects"))
        return;
    struct tally sw = {0}, others = {0};
    struct answer a;
    char sql[128];
    double t0 = it_now(), others_done = -1;
    for (int i = 0; it_now() - t0 < 1.95; i++) {
        snprintf(sql, sizeof(sql), "SELECT id FROM " T_SW " WHERE id = %d",
                 i % 10 + 1);
        run(m, sql, &a);
        tally_add(&sw, &a, "sliding_window");
        if (sw.other > 20)
            break;
        long n = others.ok + others.limited + others.other;
        if (n < 50 && it_now() - t0 < 1.0) {
            /* other digests of the same user, on the same connection */
            run(m, n % 2 ? "SELECT COUNT(*) FROM " T_SW : "SELECT 1", &a);
            tally_add(&others, &a, "sliding_window");
            if (n + 1 == 50)
                others_done = it_now() - t0;
        }
    }
    it_diag("c: %ld statements of the digest in 1.95 s: %ld admitted, %ld "
            "refused, %ld other",
            sw.ok + sw.limited + sw.other, sw.ok, sw.limited, sw.other);
    check(sw.ok >= 8 && sw.ok <= 15,
          "c: sliding_window 5/s on one digest admitted %ld in 1.95 s (8 to "
          "15)",
          sw.ok);
    check_refusals(&sw, "c: sliding_window", "sliding_window");
    check(others.ok == 50 && others_done >= 0,
          "c: 50 other statements of the same user in the first second all "
          "succeed (%ld ok, %ld refused, %ld other%s%s)",
          others.ok, others.limited, others.other, others.limited ? ": " : "",
          others.limited ? others.limited_msg : "");
    mysql_close(m);
}

/* ------------------------------------------------- d. leaky bucket */

struct spike_client {
    struct spike *sp;
    MYSQL *m[SPIKE_PER];
    struct answer a[SPIKE_PER];
    double done[SPIKE_PER]; /* s after the start; -1: no answer */
};

struct spike {
    pthread_barrier_t go;
    double t0;
    struct spike_client c[SPIKE_CL];
};

/* Sends SELECT 1 on each of the client's connections at once, then takes
 * the answers as they come. */
static void *
spike_main(void *arg)
{
    struct spike_client *c = arg;
    struct pollfd pf[SPIKE_PER];
    int idx[SPIKE_PER], n = 0;
    mysql_thread_init();
    pthread_barrier_wait(&c->sp->go);
    double t0 = c->sp->t0;
    for (int k = 0; k < SPIKE_PER; k++) {
        c->done[k] = -1;
        c->a[k].err = 0;
        c->a[k].msg[0] = '\0';
        if (c->m[k] == NULL) {
            c->a[k].err = 2006;
            snprintf(c->a[k].msg, sizeof(c->a[k].msg), "no connection");
        } else if (mysql_send_query(c->m[k], "SELECT 1", 8) != 0) {
            c->a[k].err = mysql_errno(c->m[k]);
            snprintf(c->a[k].msg, sizeof(c->a[k].msg), "%s",
                     mysql_error(c->m[k]));
        } else {
            pf[n].fd = (int)mysql_get_socket(c->m[k]);
            pf[n].events = POLLIN;
            idx[n++] = k;
        }
    }
    while (n > 0) {
        int left = (int)((t0 + 8.0 - it_now()) * 1000);
        if (left <= 0 || poll(pf, (nfds_t)n, left) <= 0)
            break;
        for (int j = 0; j < n; j++) {
            if (pf[j].revents == 0)
                continue;
            int k = idx[j];
            MYSQL *m = c->m[k];
            if (mysql_read_query_result(m) != 0) {
                c->a[k].err = mysql_errno(m) ? mysql_errno(m) : 1;
                snprintf(c->a[k].msg, sizeof(c->a[k].msg), "%s",
                         mysql_error(m));
            } else {
                MYSQL_RES *r = mysql_store_result(m);
                if (r != NULL)
                    mysql_free_result(r);
            }
            c->done[k] = it_now() - t0;
            pf[j] = pf[n - 1];
            idx[j] = idx[n - 1];
            n--;
            j--;
        }
    }
    for (int j = 0; j < n; j++) { /* no answer within 8 s */
        int k = idx[j];
        c->a[k].err = 2013;
        snprintf(c->a[k].msg, sizeof(c->a[k].msg), "no answer within 8 s");
        mysql_close(c->m[k]); /* its answer is still due: unusable */
        c->m[k] = NULL;
    }
    mysql_thread_end();
    return NULL;
}

static int
cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* 30 statements at once from 10 clients of user; the outcomes in t, the
 * completion times of the successes sorted in done[] (*ndone of them). The
 * connections stay open in sp for the caller. */
static bool
spike_run(struct spike *sp, const char *user, const char *pass, struct tally *t,
          double *done, int *ndone, double *last_refusal)
{
    pthread_t th[SPIKE_CL];
    int started = 0;
    bool connected = true;
    memset(sp, 0, sizeof(*sp));
    for (int i = 0; i < SPIKE_CL; i++) {
        sp->c[i].sp = sp;
        for (int k = 0; k < SPIKE_PER; k++) {
            sp->c[i].m[k] = client(user, pass);
            connected = connected && sp->c[i].m[k] != NULL;
        }
    }
    pthread_barrier_init(&sp->go, NULL, SPIKE_CL + 1);
    for (int i = 0; i < SPIKE_CL; i++)
        if (pthread_create(&th[i], NULL, spike_main, &sp->c[i]) == 0)
            started++;
    if (started < SPIKE_CL)
        bail("pthread_create failed"); /* the barrier would never open */
    sp->t0 = it_now();
    pthread_barrier_wait(&sp->go);
    for (int i = 0; i < SPIKE_CL; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&sp->go);
    *ndone = 0;
    *last_refusal = 0;
    for (int i = 0; i < SPIKE_CL; i++)
        for (int k = 0; k < SPIKE_PER; k++) {
            tally_add(t, &sp->c[i].a[k], "leaky_bucket");
            if (sp->c[i].a[k].err == 0)
                done[(*ndone)++] = sp->c[i].done[k];
            else if (sp->c[i].a[k].err == ER_USER_LIMIT &&
                     sp->c[i].done[k] > *last_refusal)
                *last_refusal = sp->c[i].done[k];
        }
    qsort(done, (size_t)*ndone, sizeof(double), cmp_double);
    return connected;
}

static void
spike_close(struct spike *sp)
{
    for (int i = 0; i < SPIKE_CL; i++)
        close_all(sp->c[i].m, SPIKE_PER);
}

static void
test_leaky_bucket(void)
{
    static struct spike sp;
    double done[SPIKE_CL * SPIKE_PER];
    int n = 0;
    double last_refusal = 0;
    struct tally t = {0};

    bool conn = spike_run(&sp, "lb", "lb-pw", &t, done, &n, &last_refusal);
    check(conn, "d: 10 clients of lb open 3 connections each");
    it_diag("d: lb: %ld ok, %ld refused, %ld other; completions from %.3f "
            "to %.3f s",
            t.ok, t.limited, t.other, n ? done[0] : -1.0,
            n ? done[n - 1] : -1.0);
    check(t.ok == SPIKE_CL * SPIKE_PER && t.limited == 0 && t.other == 0,
          "d: leaky_bucket 20/s max_wait 2s: all 30 statements of the spike "
          "succeed (%ld ok, %ld refused, %ld other%s%s)",
          t.ok, t.limited, t.other, t.limited ? ": " : "",
          t.limited ? t.limited_msg : t.other_msg);
    double spread = n > 1 ? done[n - 1] - done[0] : 0;
    check(n > 1 && spread >= 1.2 && spread <= 2.2,
          "d: they complete spread over %.2f s (1.2 to 2.2; 29 / 20 = 1.45)",
          spread);
    int most = 0;
    for (int i = 0, j = 0; i < n; i++) {
        while (done[i] - done[j] >= 0.25)
            j++;
        if (i - j + 1 > most)
            most = i - j + 1;
    }
    check(n > 1 && most <= 8,
          "d: a steady flow: at most %d completions in any 250 ms (<= 8; "
          "20/s is 5)",
          most);
    spike_close(&sp);
    wait_clients_at_most(2, 3.0);

    memset(&t, 0, sizeof(t));
    conn = spike_run(&sp, "lb2", "lb2-pw", &t, done, &n, &last_refusal);
    check(conn, "d: 10 clients of lb2 open 3 connections each");
    it_diag("d: lb2: %ld ok, %ld refused (the last after %.3f s), %ld other",
            t.ok, t.limited, last_refusal, t.other);
    check(t.ok >= 9 && t.ok <= 12,
          "d: leaky_bucket 20/s max_wait 500ms: %ld of 30 succeed (9 to 12)",
          t.ok);
    check_refusals(&t, "d: leaky_bucket max_wait 500ms", "leaky_bucket");
    check(t.limited > 0 && last_refusal <= 1.0,
          "d: refusals come without waiting past max_wait (last after %.3f "
          "s, <= 1.0)",
          last_refusal);
    MYSQL *refused = NULL;
    for (int i = 0; i < SPIKE_CL && refused == NULL; i++)
        for (int k = 0; k < SPIKE_PER && refused == NULL; k++)
            if (sp.c[i].a[k].err == ER_USER_LIMIT)
                refused = sp.c[i].m[k];
    if (refused != NULL) {
        struct answer a;
        it_sleep_ms(300); /* the queue drains at 20/s */
        bool usable = usable_within(refused, 1.5, &a);
        check(usable, "d: a refused connection then runs SELECT 1 (%u %s)",
              a.err, a.msg);
    } else {
        check(false, "d: a refused connection then runs SELECT 1 (none was "
                     "refused)");
    }
    spike_close(&sp);
    wait_clients_at_most(2, 3.0);
}

/* ------------------------------------------------- e. query timeout */

static void
test_query_timeout(void)
{
    MYSQL *m = client("app", "app-pw");
    if (!check(m != NULL, "e: app connects"))
        return;
    struct answer a;
    double t0 = it_now();
    run(m, "SELECT SLEEP(4)", &a);
    double took = it_now() - t0;
    check(a.err == ER_STMT_TIMEOUT && took >= 1.8 && took <= 3.5,
          "e: SELECT SLEEP(4) under query_timeout 2s ends with 1969 after "
          "1.8 to 3.5 s (%u after %.2f s: %s)",
          a.err, took, a.err ? a.msg : "no error");
    if (a.err == ER_STMT_TIMEOUT)
        check(starts_myshard(a.msg), "e: the 1969 message starts with "
                                     "\"myshard:\"");
    double deadline = it_now() + 1.0;
    long long running;
    for (;;) {
        running = it_int(d0, -1,
                         "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                         " WHERE INFO LIKE '%%SLEEP(4)%%'"
                         " AND ID <> CONNECTION_ID()");
        if (running == 0 || it_now() >= deadline)
            break;
        it_sleep_ms(50);
    }
    check_int(running, 0,
              "e: the s0 primary no longer runs SLEEP(4) within 1 s after");
    run(m, "SELECT 1", &a);
    check(a.err == 0 && a.value == 1,
          "e: the same client connection then works (%u %s)", a.err, a.msg);
    mysql_close(m);
}

/* ---------------------------------------------------------- f. deny */

static void
test_deny(void)
{
    MYSQL *m = client("app", "app-pw");
    if (!check(m != NULL, "f: app connects"))
        return;
    struct answer a;
    run(m, "DELETE FROM " T_AUDIT " WHERE id = 1", &a);
    check(a.err == ER_SPECIFIC_ACCESS_DENIED,
          "f: DELETE FROM " T_AUDIT " is refused with 1227 (%u %s)", a.err,
          a.msg);
    check(a.err != 0 && starts_myshard(a.msg) && strstr(a.msg, DENY_TEXT),
          "f: ... with \"myshard:\" and the policy's text \"" DENY_TEXT "\"");
    check_int(audit_rows(1), 1, "f: the row is still on the s0 primary");
    run(m, "delete   from " T_AUDIT " where id=2 /* x */", &a);
    check(a.err == ER_SPECIFIC_ACCESS_DENIED && strstr(a.msg, DENY_TEXT),
          "f: lower case and other spacing are refused the same (%u %s)", a.err,
          a.msg);
    check_int(audit_rows(2), 1, "f: ... and that row is still there");
    run(m, "SELECT COUNT(*) FROM " T_AUDIT " WHERE id = 3", &a);
    check(a.err == 0 && a.value == 1,
          "f: the connection then reads the table (%u %s)", a.err, a.msg);
    run(m, "DELETE FROM " T_SW " WHERE id = 1000", &a);
    check(a.err == 0, "f: a DELETE of another table runs (%u %s)", a.err,
          a.msg);
    mysql_close(m);
}

/* ----------------------------------------------------- g. read_only */

static void
test_read_only(void)
{
    MYSQL *m = client("ro", "ro-pw");
    if (!check(m != NULL, "g: ro connects"))
        return;
    struct answer a;
    run(m, "INSERT INTO itest_protect_nosuch VALUES (1)", &a);
    check(a.err == ER_OPTION_PREVENTS,
          "g: read_only: an INSERT into a table no server has gets 1290, not "
          "the server's 1146 (%u %s)",
          a.err, a.msg);
    run(m, "INSERT INTO " T_AUDIT " VALUES (100, 'ro')", &a);
    check(a.err == ER_OPTION_PREVENTS && starts_myshard(a.msg),
          "g: an INSERT gets 1290 with a \"myshard:\" message (%u %s)", a.err,
          a.msg);
    check_int(audit_rows(100), 0, "g: the row is not on the s0 primary");
    run(m, "SELECT COUNT(*) FROM " T_AUDIT " WHERE id = 3", &a);
    check(a.err == 0 && a.value == 1, "g: ro reads (%u %s)", a.err, a.msg);
    mysql_close(m);
}

/* ----------------------------------------------------- h. isolation */

struct rep {
    pthread_barrier_t *go;
    MYSQL *m;
    struct answer a;
    double took;
};

static void *
rep_main(void *arg)
{
    struct rep *r = arg;
    mysql_thread_init();
    pthread_barrier_wait(r->go);
    double t0 = it_now();
    run(r->m, REP_SQL, &r->a);
    r->took = it_now() - t0;
    mysql_thread_end();
    return NULL;
}

struct sampler {
    MYSQL *m; /* direct to the s0 primary */
    atomic_bool stop;
    long long max, samples, errors;
};

static void *
sampler_main(void *arg)
{
    struct sampler *s = arg;
    struct answer a;
    mysql_thread_init();
    while (!atomic_load(&s->stop)) {
        run(s->m,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            " WHERE INFO LIKE '" REP_SQL "%'",
            &a);
        if (a.err != 0) {
            s->errors++;
        } else {
            s->samples++;
            if (a.value > s->max)
                s->max = a.value;
        }
        it_sleep_ms(10);
    }
    mysql_thread_end();
    return NULL;
}

static void
test_isolation(void)
{
    struct rep reps[REPS];
    pthread_t th[REPS], sth;
    pthread_barrier_t go;
    struct sampler smp = {.m = it_connect_backend("S0_PRIMARY_PORT", NULL)};
    MYSQL *core = client("app", "app-pw");
    bool ok = smp.m != NULL && core != NULL;

    atomic_init(&smp.stop, false);
    memset(reps, 0, sizeof(reps));
    for (int i = 0; i < REPS; i++) {
        reps[i].m = client("rep", "rep-pw");
        ok = ok && reps[i].m != NULL;
    }
    if (!check(ok, "h: 6 clients of rep, one of app and a direct sampler "
                   "connect")) {
        for (int i = 0; i < REPS; i++)
            if (reps[i].m)
                mysql_close(reps[i].m);
        if (core)
            mysql_close(core);
        if (smp.m)
            mysql_close(smp.m);
        return;
    }
    pthread_barrier_init(&go, NULL, REPS + 1);
    int started = 0;
    for (int i = 0; i < REPS; i++) {
        reps[i].go = &go;
        if (pthread_create(&th[i], NULL, rep_main, &reps[i]) == 0)
            started++;
    }
    if (started < REPS || pthread_create(&sth, NULL, sampler_main, &smp))
        bail("pthread_create failed"); /* the barrier would never open */
    pthread_barrier_wait(&go);
    double t0 = it_now(), core_max = 0;
    struct answer a;
    bool core_ok = true;
    for (int i = 0; i < 3; i++) {
        /* while noncore clients hold their share and others queue */
        double at = 0.3 + 0.2 * i;
        double wait = t0 + at - it_now();
        if (wait > 0)
            it_sleep_ms((long)(wait * 1000));
        double q0 = it_now();
        run(core, "SELECT 1", &a);
        double took = it_now() - q0;
        if (a.err != 0 || a.value != 1) {
            core_ok = false;
            it_diag("h: core SELECT 1: %u %s", a.err, a.msg);
        }
        if (took > core_max)
            core_max = took;
    }
    for (int i = 0; i < REPS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&smp.stop, true);
    pthread_join(sth, NULL);
    pthread_barrier_destroy(&go);

    int done = 0, timeouts = 0, other = 0;
    double tmo_min = 1e9, tmo_max = 0;
    for (int i = 0; i < REPS; i++) {
        if (reps[i].a.err == 0) {
            done++;
        } else if (reps[i].a.err == ER_POOL_TIMEOUT) {
            timeouts++;
            if (reps[i].took < tmo_min)
                tmo_min = reps[i].took;
            if (reps[i].took > tmo_max)
                tmo_max = reps[i].took;
        } else {
            other++;
            it_diag("h: rep %d: %u %s after %.2f s", i, reps[i].a.err,
                    reps[i].a.msg, reps[i].took);
        }
    }
    it_diag("h: %lld samples of the s0 processlist (%lld failed), at most "
            "%lld noncore sleeps at once; %d done, %d 9002 (after %.2f to "
            "%.2f s), %d other",
            smp.samples, smp.errors, smp.max, done, timeouts,
            timeouts ? tmo_min : 0.0, tmo_max, other);
    check(smp.samples > 20 && smp.max >= 1 && smp.max <= 3,
          "h: the s0 primary never runs more than 3 noncore sleeps at once "
          "(max %lld; pool 10 x noncore_share 0.3)",
          smp.max);
    check(done == 3 && timeouts == 3 && other == 0,
          "h: 3 noncore statements run, the 3 waiting past wait_timeout get "
          "9002 (%d ran, %d 9002, %d other)",
          done, timeouts, other);
    if (timeouts > 0)
        check(tmo_min >= 0.8 && tmo_max <= 1.45,
              "h: the 9002 come after the 1 s wait_timeout (%.2f to %.2f s)",
              tmo_min, tmo_max);
    check(core_ok && core_max < 0.2,
          "h: a core client's SELECT 1 meanwhile succeeds at once (slowest "
          "of 3: %.0f ms, < 200)",
          core_max * 1000);
    for (int i = 0; i < REPS; i++)
        mysql_close(reps[i].m);
    mysql_close(core);
    mysql_close(smp.m);
}

/* ------------------------------------------ i. per-user max_connections */

static void
test_user_max_connections(void)
{
    MYSQL *ms[3] = {0};
    unsigned err = 0;
    char msg[256];
    int n = 0;
    for (int i = 0; i < 3; i++)
        if ((ms[i] = client("lim", "lim-pw")) != NULL)
            n++;
    check_int(n, 3, "i: lim (max_connections 3) opens 3 connections");
    MYSQL *extra =
        connect_port(px.port, "lim", "lim-pw", SCHEMA, &err, msg, 256);
    check(extra == NULL && err == ER_CON_COUNT,
          "i: its 4th connection gets 1040 (%u %s)", err, msg);
    if (extra != NULL)
        mysql_close(extra);
    extra = NULL;
    if (ms[0] != NULL) {
        mysql_close(ms[0]);
        ms[0] = NULL;
    }
    extra = connect_within(2.0, "lim", "lim-pw", &err, msg);
    struct answer a;
    check(extra != NULL && run(extra, "SELECT 1", &a) == 0,
          "i: after one closes, a new connection of lim works (%u %s)", err,
          msg);
    if (extra != NULL)
        mysql_close(extra);
    close_all(ms, 3);
}

/* ---------------------------------------------------- j. visibility */

static void
test_visibility(long long tb_before)
{
    char *rl = admin_cell("SHOW USERS", "user", "tb", "rate_limit");
    check(rl != NULL && strstr(rl, "token_bucket") != NULL,
          "j: SHOW USERS shows tb's limit (%s)", rl ? rl : "no row");
    free(rl);
    long long tb_after = admin_num("SHOW USERS", "user", "tb", "rate_limited");
    it_diag("j: SHOW USERS rate_limited of tb: %lld before a, %lld after; the "
            "client saw %ld refusals",
            tb_before, tb_after, tb_refused);
    check(tb_before >= 0 && tb_after > tb_before,
          "j: SHOW USERS: tb's rate_limited grew (%lld -> %lld)", tb_before,
          tb_after);
    long long fw = admin_num("SHOW USERS", "user", "fw", "rate_limited");
    long long lb2 = admin_num("SHOW USERS", "user", "lb2", "rate_limited");
    check(fw > 0 && lb2 > 0,
          "j: SHOW USERS: fw's and lb2's rate_limited count too (%lld, %lld)",
          fw, lb2);

    int status = 0;
    char *body = http_get("/metrics", &status);
    const char *series = "myshard_rate_limited_total{user=\"tb\"}";
    double v = body != NULL ? metric_value(body, series) : -1;
    check(body != NULL && status == 200,
          "j: GET /metrics on admin.http answers 200 (%d)", status);
    check(v > 0, "j: /metrics: %s > 0 (%g)", series, v);
    free(body);
}

/* ------------------------------------------ k. max_client_connections */

static void
test_global_max(void)
{
    static MYSQL *ms[MAX_CLIENTS];
    unsigned err = 0;
    char msg[256];
    long long before = wait_clients_at_most(0, 3.0);
    if (!check(before == 0, "k: no client connected before (%lld)", before))
        return;
    int n = 0;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        ms[i] = connect_port(px.port, "app", "app-pw", SCHEMA, &err, msg, 256);
        if (ms[i] == NULL) {
            it_diag("k: connection %d: %u %s", i + 1, err, msg);
            break;
        }
        n++;
    }
    check_int(n, MAX_CLIENTS,
              "k: max_client_connections %d: that many "
              "connect",
              MAX_CLIENTS);
    MYSQL *extra =
        connect_port(px.port, "app", "app-pw", SCHEMA, &err, msg, 256);
    check(extra == NULL && err == ER_CON_COUNT &&
              strstr(msg, "max_client_connections") != NULL,
          "k: the next gets 1040 naming max_client_connections (%u %s)", err,
          msg);
    if (extra != NULL)
        mysql_close(extra);
    extra = NULL;
    if (ms[0] != NULL) {
        mysql_close(ms[0]);
        ms[0] = NULL;
    }
    extra = connect_within(2.0, "app", "app-pw", &err, msg);
    struct answer a;
    check(extra != NULL && run(extra, "SELECT 1", &a) == 0,
          "k: after one closes, a new connection works (%u %s)", err, msg);
    if (extra != NULL)
        mysql_close(extra);
    close_all(ms, MAX_CLIENTS);
}

/* ------------------------------------------------- l. hot-key cache */

/* The worker a client connection of myshard landed on: session ids are
 * the worker's index << 24 plus a counter. */
static int
worker_of(MYSQL *m)
{
    return (int)(mysql_thread_id(m) >> 24);
}

/* A client of user on worker w (same) or on another worker (!same); NULL
 * when 16 tries did not get one. */
static MYSQL *
client_on(const char *user, const char *pass, int w, bool same)
{
    for (int i = 0; i < 16; i++) {
        MYSQL *m = client(user, pass);
        if (m == NULL)
            return NULL;
        if ((worker_of(m) == w) == same)
            return m;
        mysql_close(m);
    }
    it_diag("l: no connection of %s on %s worker %d in 16 tries", user,
            same ? "the" : "another than", w);
    return NULL;
}

/* v of row id of T_HOT read through m (-1 on failure). */
static long long
hot_read(MYSQL *m, int id, struct answer *a)
{
    char sql[128];
    snprintf(sql, sizeof(sql), HOT_SQL "%d", id);
    run(m, sql, a);
    return a->err == 0 ? a->value : -1;
}

/* Sets v of row 1 on the s0 primary itself, past myshard. */
static bool
hot_set_direct(int v)
{
    return it_exec(d0, "UPDATE " DB "." T_HOT " SET v = %d WHERE id = 1", v);
}

static long long
stat_num(const char *name)
{
    return admin_num("SHOW STATS", "stat", name, "value");
}

static void
test_cache(void)
{
    struct answer a;
    long long v;
    wait_clients_at_most(0, 3.0); /* k's connections are gone */
    MYSQL *m = client("app", "app-pw");
    int w = m != NULL ? worker_of(m) : -1;
    MYSQL *other = m != NULL ? client_on("app", "app-pw", w, false) : NULL;
    MYSQL *rep = m != NULL ? client_on("rep", "rep-pw", w, true) : NULL;
    if (!check(m != NULL && other != NULL && rep != NULL,
               "l: app connects (worker %d), another app connection on the "
               "other worker, rep on the same worker",
               w)) {
        MYSQL *ms[3] = {m, other, rep};
        close_all(ms, 3);
        return;
    }
    long long hits0 = stat_num("cache_hits_total");
    long long miss0 = stat_num("cache_misses_total");

    /* 1: served from memory within the TTL */
    v = hot_read(m, 1, &a);
    double t_put = it_now();
    check(v == 100, "l: " HOT_SQL "1 answers 100 (%lld; %u %s)", v, a.err,
          a.msg);
    check(hot_set_direct(101), "l: v = 101 on the s0 primary itself");
    v = hot_read(m, 1, &a);
    check(v == 100,
          "l: the same read within the TTL still answers 100, from memory "
          "(%lld; %u %s)",
          v, a.err, a.msg);
    long long hits1 = stat_num("cache_hits_total");
    check(hits0 >= 0 && hits1 > hits0,
          "l: SHOW STATS cache_hits_total grew (%lld -> %lld)", hits0, hits1);

    /* 5: other parameters, other users: entries of their own */
    v = hot_read(m, 2, &a);
    check(v == 200, "l: id = 2 is an entry of its own: 200 (%lld; %u %s)", v,
          a.err, a.msg);
    v = hot_read(rep, 1, &a);
    check(v == 101,
          "l: rep on the same worker reads 101, not app's cached 100 (%lld; "
          "%u %s)",
          v, a.err, a.msg);
    v = hot_read(m, 1, &a);
    check(v == 100, "l: app still gets its cached 100 (%lld, %.2f s after)", v,
          it_now() - t_put);

    /* 2: the TTL ends */
    double wait = t_put + 2.2 - it_now();
    if (wait > 0)
        it_sleep_ms((long)(wait * 1000));
    v = hot_read(m, 1, &a);
    check(v == 101, "l: 2.2 s after, the read answers 101 (%lld; %u %s)", v,
          a.err, a.msg);

    /* 3: a write through myshard, on the same connection */
    check(hot_set_direct(102), "l: v = 102 on the s0 primary itself");
    v = hot_read(m, 1, &a);
    check(v == 101, "l: the read answers the cached 101 (%lld; %u %s)", v,
          a.err, a.msg);
    run(m, "UPDATE " T_HOT " SET v = 110 WHERE id = 1", &a);
    check(a.err == 0, "l: UPDATE ... SET v = 110 through myshard (%u %s)",
          a.err, a.msg);
    v = hot_read(m, 1, &a);
    check(v == 110,
          "l: the very next read on the same connection answers 110 (%lld; "
          "%u %s)",
          v, a.err, a.msg);

    /* ... and on a connection of the other worker */
    check(hot_set_direct(111), "l: v = 111 on the s0 primary itself");
    v = hot_read(m, 1, &a);
    check(v == 110, "l: the read answers the cached 110 (%lld; %u %s)", v,
          a.err, a.msg);
    run(other, "UPDATE " T_HOT " SET v = 120 WHERE id = 1", &a);
    check(a.err == 0,
          "l: UPDATE ... SET v = 120 through myshard on the other worker (%u "
          "%s)",
          a.err, a.msg);
    v = hot_read(m, 1, &a);
    check(v == 120,
          "l: the very next read on the first connection answers 120 (%lld; "
          "%u %s)",
          v, a.err, a.msg);

    /* 4: a write in a transaction: visible once committed */
    v = hot_read(m, 1, &a);
    check(v == 120, "l: the read answers 120 again (%lld; %u %s)", v, a.err,
          a.msg);
    bool txn = run(other, "BEGIN", &a) == 0;
    txn =
        txn && run(other, "UPDATE " T_HOT " SET v = 130 WHERE id = 1", &a) == 0;
    check(txn,
          "l: BEGIN; UPDATE ... SET v = 130 on the other connection (%u "
          "%s)",
          a.err, a.msg);
    long long hits2 = stat_num("cache_hits_total");
    long long in1 = hot_read(m, 1, &a);
    long long in2 = hot_read(m, 1, &a);
    it_diag("l: cache hits over the two reads in the transaction: %lld",
            stat_num("cache_hits_total") - hits2);
    check(in1 == 120 && in2 == 120,
          "l: while it is open, two reads answer the committed 120 (%lld, "
          "%lld)",
          in1, in2);
    run(other, "COMMIT", &a);
    check(a.err == 0, "l: COMMIT (%u %s)", a.err, a.msg);
    v = hot_read(m, 1, &a);
    check(v == 130,
          "l: the very next read after the COMMIT answers 130 (%lld; %u %s)", v,
          a.err, a.msg);
    long long miss1 = stat_num("cache_misses_total");
    check(miss0 >= 0 && miss1 > miss0,
          "l: SHOW STATS cache_misses_total grew (%lld -> %lld)", miss0, miss1);

    /* 7: hits answered before any parsing still count under their digest,
     * and the lexing mode is part of what is kept: `"1"` is a string by
     * default, a column under ANSI_QUOTES */
    long long d0n = admin_num("SHOW DIGESTS", "digest", HOT_SQL "?", "count");
    long long h0 = stat_num("cache_hits_total");
    long long q1 = -1, q2 = -1, q3 = -1;
    run(m, HOT_SQL "\"1\"", &a);
    q1 = a.err == 0 ? a.value : -1;
    run(m, HOT_SQL "\"1\"", &a);
    q2 = a.err == 0 ? a.value : -1;
    run(m, HOT_SQL "\"1\"", &a);
    q3 = a.err == 0 ? a.value : -1;
    check(q1 == 130 && q2 == 130 && q3 == 130 &&
              stat_num("cache_hits_total") - h0 >= 2,
          "l: " HOT_SQL "\"1\" answers 130 three times, from memory after "
          "the first (%lld %lld %lld; %lld hits)",
          q1, q2, q3, stat_num("cache_hits_total") - h0);
    check(admin_num("SHOW DIGESTS", "digest", HOT_SQL "?", "count") - d0n >= 3,
          "l: SHOW DIGESTS counts the three under " HOT_SQL "? (%lld -> %lld)",
          d0n, admin_num("SHOW DIGESTS", "digest", HOT_SQL "?", "count"));
    run(m, "SET sql_mode = 'STRICT_TRANS_TABLES,ANSI_QUOTES'", &a);
    check(a.err == 0, "l: SET sql_mode ... ANSI_QUOTES (%u %s)", a.err, a.msg);
    run(m, HOT_SQL "\"1\"", &a);
    check(a.err == 1054,
          "l: then the same text is another statement: 1054 (a column \"1\"), "
          "not the answer kept under the default mode (%u %s, value %lld)",
          a.err, a.msg, a.err == 0 ? a.value : -1);

    /* 6: /metrics */
    int status = 0;
    char *body = http_get("/metrics", &status);
    double hits =
        body != NULL ? metric_value(body, "myshard_cache_hits_total") : -1;
    double miss =
        body != NULL ? metric_value(body, "myshard_cache_misses_total") : -1;
    check(status == 200 && hits > 0 && miss > 0,
          "l: /metrics: myshard_cache_hits_total %g and "
          "myshard_cache_misses_total %g > 0 (status %d)",
          hits, miss, status);
    free(body);

    MYSQL *ms[3] = {m, other, rep};
    close_all(ms, 3);
    check(it_exec(d0, "DROP TABLE " DB "." T_HOT), "l: drop " DB "." T_HOT);
}

/* ------------------------------------------------------------- main */

int
main(void)
{
    it_init("itest_protect");
    it_proxy_init(&px);
    px.user = "app";
    px.password = "app-pw";
    it_proxy_watchdog(&px, WATCHDOG_S);
    double t_start = it_now();

    bool have_bin = it_proxy_have_bin(&px);
    check(have_bin, "MYSHARD_BIN is an executable myshard");
    bool have_ports = it_backend_port("S0_PRIMARY_PORT") != 0 &&
                      it_backend_port("S1_PRIMARY_PORT") != 0;
    check(have_ports, "S0_PRIMARY_PORT and S1_PRIMARY_PORT are set");
    if (!have_bin || !have_ports) {
        it_diag("MYSHARD_BIN=%s", px.bin ? px.bin : "(unset)");
        return it_done();
    }
    if (!it_proxy_dir(&px, "itest_protect")) {
        printf("Bail out! mkdtemp %s: %s\n", px.dir, strerror(errno));
        return 1;
    }
    it_diag("this program's myshard: 127.0.0.1:%u, files in %s", px.port,
            px.dir);

    d0 = it_connect_backend("S0_PRIMARY_PORT", NULL);
    d1 = it_connect_backend("S1_PRIMARY_PORT", NULL);
    if (!check(d0 != NULL && d1 != NULL,
               "direct connections to the s0 and s1 primaries"))
        return it_done();
    check(setup_backend(),
          "create %s." T_SW ", %s." T_AUDIT " and %s." T_HOT " on s0", DB, DB,
          DB);
    check(write_conf(), "write %s", px.cfg);
    bool up = it_proxy_start(&px, NULL);
    check(up, "myshard starts");
    if (up) {
        unsigned err = 0;
        char msg[256];
        adm = connect_port(px.admin_port, ADMIN_USER, ADMIN_PASS, NULL, &err,
                           msg, sizeof(msg));
        check(adm != NULL, "the admin console lets " ADMIN_USER " in (%u %s)",
              err, msg);
        long long tb_before =
            admin_num("SHOW USERS", "user", "tb", "rate_limited");
        test_token_bucket();
        test_fixed_window();
        test_sliding_window();
        test_leaky_bucket();
        test_query_timeout();
        test_deny();
        test_read_only();
        test_isolation();
        test_user_max_connections();
        test_visibility(tb_before);
        test_global_max();
        test_cache();
        if (adm != NULL)
            mysql_close(adm);
    }

    int st = 0;
    if (it_proxy_running(&px)) {
        bool gone = it_proxy_stop(&px, SIGTERM, 8, &st);
        check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "myshard exits 0 on SIGTERM");
    } else if (up) {
        check(false, "myshard is running at the end");
    }
    bool clean = it_proxy_log_clean(&px);
    check(clean, "myshard's log has no sanitizer report");
    if (!clean)
        it_proxy_log_tail(&px, 0, 40);

    bool dropped = it_exec(d0, "DROP DATABASE IF EXISTS " DB) &&
                   it_exec(d1, "DROP DATABASE IF EXISTS " DB);
    check(dropped, "drop the test schema " DB);
    mysql_close(d0);
    mysql_close(d1);
    it_diag("itest_protect ran %.1f s", it_now() - t_start);

    int rc = it_done();
    it_proxy_cleanup(&px, rc);
    return rc;
}
