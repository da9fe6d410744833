/*
 * itest_pooling.c - connection pooling and multiplexing, witnessed by the
 * s0 primary's PROCESSLIST: 200 concurrent clients with their own
 * time_zone, sql_mode and character set read back their own settings while
 * the backend never sees more than the pool cap; temporary tables, GET_LOCK
 * and user variables behave as on a direct connection; a pool exhausted by
 * open transactions makes the next statement wait wait_timeout and fail
 * with 9002 while the holders carry on, and recovers when they end; 5000
 * idle clients hold no backend connection and cost myshard under 8 KiB of
 * resident memory each; a client that vanishes
 * mid-transaction leaves no row and no lock behind.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define NCLIENTS 200
#define NROUNDS  20
#define NIDLE    5000
/* What one idle client may add to myshard's resident memory. */
#define IDLE_BYTES_MAX 8192
#define TABLE          "itest_pool_t"
/* Outside the pool, myshard keeps one connection per server for its
 * health monitor, and one to the first shard's primary (s0) for the
 * resharding control thread (README, "Online resharding"). */
#define HEALTH_CONNS 2

/* Connection ids of this program's own direct connections to s0, left out
 * of the backend connection count. */
static char own_ids[256] = "0";
static pthread_mutex_t own_ids_lock = PTHREAD_MUTEX_INITIALIZER;

static MYSQL *
connect_direct(void)
{
    MYSQL *m = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (m == NULL)
        return NULL;
    long long id = it_int(m, -1, "SELECT CONNECTION_ID()");
    pthread_mutex_lock(&own_ids_lock);
    size_t n = strlen(own_ids);
    snprintf(own_ids + n, sizeof(own_ids) - n, ",%lld", id);
    pthread_mutex_unlock(&own_ids_lock);
    return m;
}

/* myshard's connections to s0, without this program's direct ones. */
static long long
backend_count(MYSQL *direct)
{
    char ids[256];
    pthread_mutex_lock(&own_ids_lock);
    snprintf(ids, sizeof(ids), "%s", own_ids);
    pthread_mutex_unlock(&own_ids_lock);
    return it_int(direct, -1,
                  "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                  "WHERE USER = '%s' AND ID NOT IN (%s)",
                  it_env("BACKEND_USER", "myshard"), ids);
}

/* Prints every row of sql as a diagnostic. */
static void
diag_rows(MYSQL *m, const char *sql)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    if (mysql_query(m, sql) != 0 || (res = mysql_store_result(m)) == NULL) {
        it_diag("%s: %u %s", sql, mysql_errno(m), mysql_error(m));
        return;
    }
    unsigned nf = mysql_num_fields(res);
    while ((row = mysql_fetch_row(res)) != NULL) {
        char line[512];
        size_t n = 0;
        line[0] = '\0';
        for (unsigned i = 0; i < nf && n < sizeof(line); i++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
                                  i ? " | " : "", row[i] ? row[i] : "NULL");
        it_diag("  %s", line);
    }
    mysql_free_result(res);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---------------------------------------------------------- config */

/* Milliseconds of a duration like 2s, 500ms, 1.5s, 1m; dflt if unparsable. */
static long long
parse_ms(const char *s, long long dflt)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return dflt;
    if (strncmp(end, "ms", 2) == 0)
        return (long long)v;
    if (end[0] == 'm')
        return (long long)(v * 60000);
    if (end[0] == 'h')
        return (long long)(v * 3600000);
    return (long long)(v * 1000);
}

/* backend.pool.max_connections and wait_timeout from $MYSHARD_CONFIG. */
static void
read_pool_config(long long *cap, long long *wait_ms)
{
    const char *path = it_env("MYSHARD_CONFIG", NULL);
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    char line[512];
    bool in_backend = false, in_pool = false;
    *cap = 50;
    *wait_ms = 2000;
    if (f == NULL) {
        it_diag("no MYSHARD_CONFIG; assuming max_connections 50, "
                "wait_timeout 2s");
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *p = line;
        int indent = 0;
        while (*p == ' ') {
            p++;
            indent++;
        }
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        if (indent == 0) {
            in_backend = strncmp(p, "backend:", 8) == 0;
            in_pool = false;
            continue;
        }
        if (!in_backend)
            continue;
        if (strncmp(p, "pool:", 5) == 0) {
            in_pool = true;
            continue;
        }
        if (indent <= 2) {
            in_pool = false;
            continue;
        }
        if (!in_pool)
            continue;
        if (strncmp(p, "max_connections:", 16) == 0)
            *cap = atoll(p + 16);
        else if (strncmp(p, "wait_timeout:", 13) == 0)
            *wait_ms = parse_ms(p + 13 + strspn(p + 13, " "), *wait_ms);
    }
    fclose(f);
}

/* ------------------------------------------------ 1. session settings */

struct client {
    int i;
    pthread_barrier_t *barrier;
    bool connected;
    bool set_ok;
    int good_rounds;
    char mismatch[256];
};

static atomic_bool monitor_stop;
static atomic_llong monitor_max;
static atomic_int monitor_samples;
static atomic_int monitor_errors;

static long long monitor_cap;
/* The s0 processlist (grouped) the first time the count went over. */
static char over_snapshot[1024];

static void
snapshot(MYSQL *direct)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    size_t n = 0;
    if (mysql_query(direct,
                    "SELECT COMMAND, STATE, DB, COUNT(*) FROM "
                    "information_schema.PROCESSLIST WHERE USER = 'myshard' "
                    "GROUP BY 1, 2, 3") != 0 ||
        (res = mysql_store_result(direct)) == NULL)
        return;
    while ((row = mysql_fetch_row(res)) != NULL && n < sizeof(over_snapshot))
        n += (size_t)snprintf(
            over_snapshot + n, sizeof(over_snapshot) - n, "[%s/%s/%s: %s] ",
            row[0] ? row[0] : "NULL", row[1] ? row[1] : "NULL",
            row[2] ? row[2] : "NULL", row[3] ? row[3] : "NULL");
    mysql_free_result(res);
}

static void *
monitor_main(void *arg)
{
    (void)arg;
    mysql_thread_init();
    MYSQL *direct = connect_direct();
    if (direct != NULL) {
        while (!atomic_load(&monitor_stop)) {
            long long n = backend_count(direct);
            if (n < 0) {
                atomic_fetch_add(&monitor_errors, 1);
            } else {
                long long cur = atomic_load(&monitor_max);
                while (n > cur &&
                       !atomic_compare_exchange_weak(&monitor_max, &cur, n)) {
                }
                atomic_fetch_add(&monitor_samples, 1);
                if (n > monitor_cap + HEALTH_CONNS && over_snapshot[0] == '\0')
                    snapshot(direct);
            }
            sleep_ms(50);
        }
        mysql_close(direct);
    } else {
        atomic_fetch_add(&monitor_errors, 1);
    }
    mysql_thread_end();
    return NULL;
}

static const char *const modes[2] = {
    "ANSI_QUOTES", "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"};
static const char *const charsets[2] = {"latin1", "utf8mb4"};

static void *
client_main(void *arg)
{
    struct client *c = arg;
    char tz[16];
    mysql_thread_init();
    snprintf(tz, sizeof(tz), "+%02d:%02d", c->i / 60, c->i % 60);
    MYSQL *m = it_connect();
    c->connected = m != NULL;
    if (m != NULL)
        c->set_ok = it_exec(m, "SET time_zone = '%s', sql_mode = '%s'", tz,
                            modes[c->i % 2]) &&
                    it_exec(m, "SET NAMES %s", charsets[(c->i / 2) % 2]);
    pthread_barrier_wait(c->barrier);
    for (int r = 0; m != NULL && c->set_ok && r < NROUNDS; r++) {
        if (mysql_query(m, "SELECT @@time_zone, @@sql_mode, "
                           "@@character_set_client") != 0) {
            snprintf(c->mismatch, sizeof(c->mismatch), "round %d: %u %s", r,
                     mysql_errno(m), mysql_error(m));
            break;
        }
        MYSQL_RES *res = mysql_store_result(m);
        MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
        bool ok = row != NULL && row[0] != NULL && row[1] != NULL &&
                  row[2] != NULL && strcmp(row[0], tz) == 0 &&
                  strcmp(row[1], modes[c->i % 2]) == 0 &&
                  strcmp(row[2], charsets[(c->i / 2) % 2]) == 0;
        if (!ok && c->mismatch[0] == '\0')
            snprintf(c->mismatch, sizeof(c->mismatch),
                     "round %d: expected %s | %s | %s, got %s | %s | %s", r, tz,
                     modes[c->i % 2], charsets[(c->i / 2) % 2],
                     row && row[0] ? row[0] : "NULL",
                     row && row[1] ? row[1] : "NULL",
                     row && row[2] ? row[2] : "NULL");
        if (res != NULL)
            mysql_free_result(res);
        if (ok)
            c->good_rounds++;
    }
    if (m != NULL)
        mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static void
test_session_settings(long long cap)
{
    static struct client clients[NCLIENTS];
    pthread_t threads[NCLIENTS], monitor;
    pthread_barrier_t barrier;
    int started = 0, connected = 0, set_ok = 0, perfect = 0;
    const char *first_bad = NULL;

    monitor_cap = cap;
    atomic_store(&monitor_stop, false);
    atomic_store(&monitor_max, 0);
    if (pthread_create(&monitor, NULL, monitor_main, NULL) != 0) {
        check(false, "start the backend connection monitor");
        return;
    }
    pthread_barrier_init(&barrier, NULL, NCLIENTS);
    for (int i = 0; i < NCLIENTS; i++) {
        clients[i] = (struct client){.i = i, .barrier = &barrier};
        if (pthread_create(&threads[i], NULL, client_main, &clients[i]) != 0)
            break;
        started++;
    }
    if (started < NCLIENTS) {
        /* the barrier would never open */
        printf("Bail out! could only start %d client threads\n", started);
        exit(1);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    atomic_store(&monitor_stop, true);
    pthread_join(monitor, NULL);
    pthread_barrier_destroy(&barrier);

    for (int i = 0; i < NCLIENTS; i++) {
        connected += clients[i].connected;
        set_ok += clients[i].set_ok;
        if (clients[i].good_rounds == NROUNDS)
            perfect++;
        else if (first_bad == NULL)
            first_bad = clients[i].mismatch;
    }
    check_int(connected, NCLIENTS, "%d concurrent clients connect", NCLIENTS);
    check_int(set_ok, NCLIENTS,
              "each SETs its own time_zone, sql_mode and character set");
    if (!check_int(perfect, NCLIENTS,
                   "each reads back its own settings in all %d rounds",
                   NROUNDS))
        it_diag("first mismatch: %s", first_bad ? first_bad : "?");
    check(atomic_load(&monitor_errors) == 0 &&
              atomic_load(&monitor_samples) > 0,
          "the backend connection count was sampled (%d samples)",
          atomic_load(&monitor_samples));
    if (it_expect_proxy())
        check(atomic_load(&monitor_max) <= cap + HEALTH_CONNS,
              "s0 never saw more than the pool cap (max %lld, cap %lld + "
              "%d of the health monitor and the reshard control)",
              (long long)atomic_load(&monitor_max), cap, HEALTH_CONNS);
    else
        it_skip("direct server", "s0 never saw more than the pool cap");
    if (over_snapshot[0] != '\0')
        it_diag("s0 processlist (command/state/db: count) when over: %s",
                over_snapshot);
}

/* -------------------------------- 2. state that pins: temp, lock, vars */

static void
test_pinned_state(void)
{
    MYSQL *a = it_connect(), *b = it_connect();
    bool is_null;
    if (a == NULL || b == NULL) {
        check(false, "connect two clients");
        goto out;
    }
    /* temporary tables */
    check(it_exec(a, "CREATE TEMPORARY TABLE itest_pool_tmp "
                     "(id INT PRIMARY KEY, v VARCHAR(10))"),
          "CREATE TEMPORARY TABLE");
    it_exec(b, "SELECT 1");
    check(it_exec(a, "INSERT INTO itest_pool_tmp VALUES (1, 'a'), (2, 'b')"),
          "INSERT into the temporary table in a later statement");
    it_exec(b, "SELECT 2");
    check_int(it_int(a, -1, "SELECT COUNT(*) FROM itest_pool_tmp"), 2,
              "the creator reads its temporary table back");
    check(mysql_query(b, "SELECT COUNT(*) FROM itest_pool_tmp") != 0,
          "another client does not see the temporary table");
    check_errno(b, 1146, "... it gets 1146 (no such table)");
    {
        MYSQL_RES *r = mysql_store_result(b);
        if (r != NULL)
            mysql_free_result(r);
    }
    check(it_exec(a, "DROP TEMPORARY TABLE itest_pool_tmp"),
          "DROP TEMPORARY TABLE");
    check(mysql_query(a, "SELECT COUNT(*) FROM itest_pool_tmp") != 0 &&
              mysql_errno(a) == 1146,
          "after DROP the temporary table is gone");

    /* GET_LOCK */
    check_int(it_int(a, -1, "SELECT GET_LOCK('itest_pool_x', 0)"), 1,
              "GET_LOCK on a free lock returns 1");
    it_exec(b, "SELECT 3");
    check_int(
        it_int(a, -1, "SELECT IS_USED_LOCK('itest_pool_x') = CONNECTION_ID()"),
        1, "the holder still owns the lock in a later statement");
    check_int(it_int(b, -1, "SELECT GET_LOCK('itest_pool_x', 0)"), 0,
              "another client's GET_LOCK returns 0");
    check_int(it_int(b, -1, "SELECT GET_LOCK('itest_pool_x', 0)"), 0,
              "... and again 0 while the holder keeps it");
    check_int(it_int(a, -1, "SELECT RELEASE_LOCK('itest_pool_x')"), 1,
              "the holder's RELEASE_LOCK returns 1");
    check_int(it_int(b, -1, "SELECT GET_LOCK('itest_pool_x', 0)"), 1,
              "after RELEASE_LOCK the other client gets the lock");
    check_int(it_int(b, -1, "SELECT RELEASE_LOCK('itest_pool_x')"), 1,
              "... and releases it");

    /* user variables */
    check(it_exec(a, "SET @v = 42"), "SET @v = 42");
    it_exec(b, "SELECT 4");
    check_int(it_int(a, -1, "SELECT @v"), 42,
              "a later statement reads @v = 42");
    it_exec(b, "SELECT 5");
    check_int(it_int(a, -1, "SELECT @v + 1"), 43, "... and again (@v + 1)");
    {
        char *v = it_value(b, &is_null, "SELECT @v");
        check(v == NULL && is_null, "another client's @v is NULL");
        free(v);
    }
out:
    if (a != NULL)
        mysql_close(a);
    if (b != NULL)
        mysql_close(b);
}

/* ------------------------------------------- 3. exhaustion by BEGIN */

static void
test_exhaustion(long long cap, long long wait_ms)
{
    MYSQL **holders = calloc((size_t)cap, sizeof(*holders));
    MYSQL *extra = NULL, *late = NULL, *direct = NULL;
    int held = 0, went_on = 0, committed = 0;
    double t0, elapsed;

    if (holders == NULL) {
        check(false, "allocate");
        return;
    }
    for (long long i = 0; i < cap; i++) {
        holders[i] = it_connect();
        if (holders[i] == NULL)
            break;
        if (!it_exec(holders[i], "BEGIN") ||
            it_int(holders[i], -1, "SELECT COUNT(*) FROM " TABLE) < 0)
            break;
        held++;
    }
    check_int(held, cap,
              "%lld clients each hold a transaction on s0 (BEGIN + SELECT)",
              cap);
    direct = connect_direct();
    if (direct != NULL && it_expect_proxy()) {
        long long n = backend_count(direct);
        check(n <= cap + HEALTH_CONNS,
              "s0 holds no more than the cap (%lld, cap %lld + %d of the "
              "health monitor and the reshard control)",
              n, cap, HEALTH_CONNS);
    }

    extra = it_connect();
    if (extra == NULL) {
        check(false, "one more client connects while the pool is exhausted");
    } else {
        t0 = it_now();
        bool failed = mysql_query(extra, "SELECT COUNT(*) FROM " TABLE) != 0;
        elapsed = it_now() - t0;
        if (!failed) {
            MYSQL_RES *r = mysql_store_result(extra);
            if (r != NULL)
                mysql_free_result(r);
        }
        if (it_expect_proxy()) {
            check(failed, "the next statement fails while the pool is "
                          "exhausted");
            check_errno(extra, 9002, "... with 9002");
            check(strncmp(mysql_error(extra), "myshard:", 8) == 0,
                  "... and a message starting 'myshard:' (%s)",
                  mysql_error(extra));
            check(elapsed >= (double)wait_ms / 1000.0 - 0.2 &&
                      elapsed < (double)wait_ms / 1000.0 + 2.0,
                  "... after waiting about wait_timeout (%.2fs, "
                  "wait_timeout %.2fs)",
                  elapsed, (double)wait_ms / 1000.0);
        } else {
            it_skip("direct server", "the next statement gets 9002");
        }
    }

    for (int i = 0; i < held; i++) {
        if (it_exec(holders[i], "INSERT INTO " TABLE " VALUES (%d, %d)", i + 1,
                    i + 1))
            went_on++;
    }
    check_int(went_on, held, "the holders' transactions go on (INSERT each)");
    for (int i = 0; i < held; i++)
        if (it_exec(holders[i], "COMMIT"))
            committed++;
    check_int(committed, held, "... and COMMIT");
    if (direct != NULL)
        check_int(it_int(direct, -1, "SELECT COUNT(*) FROM shop." TABLE), held,
                  "every holder's row is on s0");

    late = it_connect();
    if (late != NULL) {
        t0 = it_now();
        long long n = it_int(late, -1, "SELECT COUNT(*) FROM " TABLE);
        elapsed = it_now() - t0;
        check(n == held && elapsed < 0.5,
              "after they end a new statement succeeds at once (%.3fs)",
              elapsed);
        if (extra != NULL)
            check_int(it_int(extra, -1, "SELECT COUNT(*) FROM " TABLE), held,
                      "the client that got 9002 works again");
    } else {
        check(false, "a new client connects after the transactions end");
    }

    for (int i = 0; i < cap; i++)
        if (holders[i] != NULL)
            mysql_close(holders[i]);
    free(holders);
    if (extra != NULL)
        mysql_close(extra);
    if (late != NULL) {
        it_exec(late, "DELETE FROM " TABLE);
        mysql_close(late);
    }
    if (direct != NULL)
        mysql_close(direct);
}

/* ------------------------------------------------- 4. idle clients */

/* VmRSS of pid in bytes, -1 when unreadable. */
static long long
rss_bytes(long pid)
{
    char path[64], line[256];
    long long kb = -1;
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = atoll(line + 6);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* Descriptors for n clients and this program's own: raises the soft limit,
 * and the hard one when allowed. False when the process cannot get them;
 * *have is the soft limit it ends up with. */
static bool
nofile_for(long long n, long long *have)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)n + 200;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        *have = -1;
        return false;
    }
    if (rl.rlim_cur < need) {
        struct rlimit want = rl;
        if (want.rlim_max < need)
            want.rlim_max = need; /* takes CAP_SYS_RESOURCE */
        want.rlim_cur = want.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    *have = (long long)rl.rlim_cur;
    return rl.rlim_cur >= need;
}

static void
test_idle_clients(void)
{
    static MYSQL *idle[NIDLE];
    MYSQL *direct = NULL;
    long long before, after, rss0 = -1, rss1 = -1, nofile;
    long pid = atol(it_env("MYSHARD_PID", "0"));
    double t0;
    int n = 0;

    bool fds = nofile_for(NIDLE, &nofile);
    if (!check(fds, "RLIMIT_NOFILE allows %d idle clients (soft limit %lld)",
               NIDLE, nofile)) {
        it_diag("this program needs %d descriptors and cannot raise its "
                "hard limit; raise it (ulimit -Hn) in the shell that runs "
                "tools/test.sh",
                NIDLE + 200);
        return;
    }
    direct = connect_direct();
    if (direct == NULL) {
        check(false, "direct connection to s0");
        return;
    }
    before = backend_count(direct);
    if (pid > 0)
        rss0 = rss_bytes(pid);
    t0 = it_now();
    for (n = 0; n < NIDLE; n++) {
        idle[n] = it_connect();
        if (idle[n] == NULL)
            break;
    }
    check_int(n, NIDLE, "%d clients connect and authenticate (%.1fs)", NIDLE,
              it_now() - t0);
    sleep_ms(200);
    after = backend_count(direct);
    if (pid > 0)
        rss1 = rss_bytes(pid);
    if (it_expect_proxy())
        check(before >= 0 && after >= 0 && after - before < 10,
              "%d idle clients hold no backend connection (s0: %lld "
              "before, %lld after)",
              n, before, after);
    else
        it_skip("direct server", "idle clients hold no backend connection");
    if (!it_expect_proxy()) {
        it_skip("direct server", "idle clients cost under %d bytes each",
                IDLE_BYTES_MAX);
    } else if (rss0 < 0 || rss1 < 0) {
        check(false,
              "myshard's RSS is readable (MYSHARD_PID=%ld, "
              "/proc/PID/status VmRSS)",
              pid);
    } else {
        long long per = n > 0 ? (rss1 - rss0) / n : -1;
        it_diag("myshard VmRSS %lld kB before, %lld kB after %d idle "
                "clients: %lld bytes per client",
                rss0 / 1024, rss1 / 1024, n, per);
        check(n == NIDLE && per < IDLE_BYTES_MAX,
              "%d idle clients cost under %d bytes each in myshard's RSS "
              "(%lld bytes per client)",
              n, IDLE_BYTES_MAX, per);
    }
    if (n > 0) {
        check_int(it_int(idle[0], -1, "SELECT 1"), 1,
                  "the first idle client still works");
        check_int(it_int(idle[n - 1], -1, "SELECT 2"), 2,
                  "the last idle client still works");
    }
    for (int i = 0; i < n; i++)
        mysql_close(idle[i]);
    mysql_close(direct);
}

/* ---------------------------- 5. a client vanishes mid-transaction */

static void
test_vanished_client(void)
{
    MYSQL *c = it_connect(), *direct = connect_direct();
    long long open_trx = -1;
    if (c == NULL || direct == NULL) {
        check(false, "connect");
        goto out;
    }
    check(it_exec(c, "BEGIN") &&
              it_exec(c, "INSERT INTO " TABLE " VALUES (100000, 1)"),
          "BEGIN; INSERT");
    /* Gone without COMMIT or COM_QUIT: the socket just closes. */
    shutdown(mysql_get_socket(c), SHUT_RDWR);
    mysql_close(c);
    c = NULL;
    /* Transactions of live connections only: InnoDB lists its own
     * background work (thread id 0) and, briefly, the transaction of a
     * connection the server is still tearing down. */
    for (int i = 0; i < 60; i++) {
        open_trx = it_int(direct, -1,
                          "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                          "t JOIN information_schema.PROCESSLIST p "
                          "ON p.ID = t.trx_mysql_thread_id "
                          "WHERE p.ID <> CONNECTION_ID()");
        if (open_trx == 0)
            break;
        sleep_ms(50);
    }
    if (!check_int(open_trx, 0, "no connection to s0 keeps a transaction open"))
        diag_rows(direct,
                  "SELECT t.trx_mysql_thread_id, t.trx_state, t.trx_started, "
                  "t.trx_is_read_only, t.trx_rows_locked, t.trx_query, p.USER, "
                  "p.DB, p.COMMAND, p.TIME, p.INFO "
                  "FROM information_schema.INNODB_TRX t "
                  "LEFT JOIN information_schema.PROCESSLIST p "
                  "ON p.ID = t.trx_mysql_thread_id");
    check_int(it_int(direct, -1,
                     "SELECT COUNT(*) FROM shop." TABLE " WHERE id = 100000"),
              0, "the uncommitted row is not on s0");
    it_exec(direct, "SET SESSION innodb_lock_wait_timeout = 1");
    {
        double t0 = it_now();
        bool ok =
            it_exec(direct, "INSERT INTO shop." TABLE " VALUES (100000, 2)");
        check(ok && it_now() - t0 < 0.9,
              "the key is not locked: a direct INSERT of it succeeds at once");
    }
    it_exec(direct, "DELETE FROM shop." TABLE " WHERE id = 100000");
out:
    if (c != NULL)
        mysql_close(c);
    if (direct != NULL)
        mysql_close(direct);
}

/* ------------- 6. state a client leaves behind is reset, not inherited */

static void
test_state_reset(void)
{
    MYSQL *a = it_connect();
    int leaks = 0, locks = 0, temps = 0, n = 0;

    if (a == NULL) {
        check(false, "connect the client that leaves state behind");
        return;
    }
    check(it_exec(a, "SET @itest_left = 42") &&
              it_exec(a, "CREATE TEMPORARY TABLE itest_pool_left (id INT)") &&
              it_int(a, -1, "SELECT GET_LOCK('itest_pool_left', 0)") == 1,
          "a client sets a user variable, creates a temporary table and "
          "takes a lock");
    mysql_close(a); /* its connection goes back to the pool, reset */
    /* The reset runs after the client has gone: the server frees the lock
     * once COM_RESET_CONNECTION (or the close) reaches it. Wait for that,
     * as seen on the shard itself, so the clients below test what they
     * inherit, not how fast the reset ran. */
    {
        MYSQL *d = it_connect_backend("S0_PRIMARY_PORT", NULL);
        double deadline = it_now() + 5;
        long long free_now = -1;
        while (d != NULL && it_now() < deadline) {
            free_now = it_int(d, -1, "SELECT IS_FREE_LOCK('itest_pool_left')");
            if (free_now == 1)
                break;
            it_sleep_ms(20);
        }
        check(free_now == 1,
              "the lock is free on the s0 primary within 5 s of the client "
              "leaving");
        if (d != NULL)
            mysql_close(d);
    }
    /* Every client after it, on whichever pooled connection, starts
     * clean: the connection was reset (or closed), never lent dirty. */
    for (int i = 0; i < 30; i++) {
        MYSQL *b = it_connect();
        bool is_null = false;
        char *v;
        if (b == NULL)
            continue;
        n++;
        v = it_value(b, &is_null, "SELECT @itest_left");
        leaks += !is_null;
        free(v);
        locks += it_int(b, -1, "SELECT IS_FREE_LOCK('itest_pool_left')") != 1;
        temps += mysql_query(b, "SELECT * FROM itest_pool_left") == 0;
        if (mysql_errno(b) == 0)
            mysql_free_result(mysql_store_result(b));
        mysql_close(b);
    }
    check(n == 30, "30 later clients connect (%d)", n);
    check_int(leaks, 0, "no later client sees the user variable");
    check_int(locks, 0, "the lock was released for every later client");
    check_int(temps, 0, "no later client sees the temporary table");
}

int
main(void)
{
    long long cap, wait_ms;
    MYSQL *m;

    /* No statement here may block for long. */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "20", 1);
    it_init("itest_pooling");
    alarm(120);
    read_pool_config(&cap, &wait_ms);
    it_diag("pool cap %lld, wait_timeout %lldms", cap, wait_ms);
    {
        MYSQL *d = connect_direct();
        if (d != NULL) {
            it_diag("s0 processlist at start:");
            diag_rows(d, "SELECT ID, USER, DB, COMMAND, TIME, INFO FROM "
                         "information_schema.PROCESSLIST");
            mysql_close(d);
        }
    }

    m = it_connect();
    if (m == NULL) {
        check(false, "connect");
        return it_done();
    }
    it_exec(m, "DROP TABLE IF EXISTS " TABLE);
    check(it_exec(m, "CREATE TABLE " TABLE " (id INT PRIMARY KEY, v INT)"),
          "CREATE TABLE " TABLE " (unlisted: default shard s0)");

    test_session_settings(cap);
    test_pinned_state();
    test_exhaustion(cap, wait_ms);
    test_idle_clients();
    test_vanished_client();
    test_state_reset();

    check(it_exec(m, "DROP TABLE IF EXISTS " TABLE), "DROP TABLE " TABLE);
    mysql_close(m);
    return it_done();
}
