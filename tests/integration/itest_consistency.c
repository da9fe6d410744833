/*
 * Reads by replication position (backend.consistency), against the rig's
 * real GTID replication, through a private myshard (two workers, replicas
 * weight 1, a hot-key cache policy), with @@server_id read on each server
 * directly as the witness of which server answered:
 *   a. consistency: session: a session that wrote 1 s ago reads from the
 *      replica and sees its own write; right after its writes it always
 *      sees them (the share the replica served is reported);
 *   b. a session whose only write failed (duplicate key) is not sent to
 *      the primary; nor is one whose write failed because the shard's
 *      primary is down: its reads get the healthy replica, not 9001;
 *   c. a cached key updated through one session and read at once, in a
 *      loop, through another, 1,000 rounds: the old row never comes back
 *      once the new one was read, and the new one is read under 1 s in
 *      every round (the cache is never refilled from a replica that lacks
 *      the UPDATE); SHOW BACKENDS shows the shard's acknowledged GTID;
 *   d. consistency: causal: the same rounds read the new row at once
 *      after the UPDATE's OK, every time;
 *   e. causal: 8 threads each write through one connection and read at
 *      once through another, 1,000 times in all: no read misses its
 *      write, and the replica serves most of them (the share is reported).
 * Every server this program stops is started again, also when checks
 * fail. Proxy-only.
 */
#include "itest.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB         "itc_shop"
#define ROUNDS     1000
#define THREADS    8
#define WATCHDOG_S 600

static struct it_proxy px;
static long long id_primary = -1, id_replica = -1;

/* ------------------------------------------------------------ helpers */

static bool
write_conf(const char *consistency)
{
    FILE *f = fopen(px.cfg, "w");
    if (f == NULL)
        return false;
    fprintf(
        f,
        "listen: 127.0.0.1:%u\n"
        "workers: 2\n"
        "shutdown_timeout: 5s\n"
        "admin: { listen: 127.0.0.1:%u, http: 127.0.0.1:%u, "
        "user: admin, password: itc-admin }\n"
        "users:\n"
        "  - { name: %s, password: \"%s\", schemas: [%s] }\n"
        "backend:\n"
        "  user: %s\n"
        "  password: \"%s\"\n"
        "  connect_timeout: 1s\n"
        "  pool: { max_connections: 60 }\n"
        "  health: { interval: 1s, max_replica_lag: 5s, "
        "circuit: { failures: 1000, open_for: 1s } }\n"
        "  consistency: %s\n"
        "shards:\n"
        "  - name: s0\n"
        "    primary: 127.0.0.1:%u\n"
        "    replicas: [ { addr: 127.0.0.1:%u, weight: 1 } ]\n"
        "  - name: s1\n"
        "    primary: 127.0.0.1:%u\n"
        "    replicas: [ { addr: 127.0.0.1:%u, weight: 1 } ]\n"
        "schemas:\n"
        "  - { name: %s, default_shard: s0 }\n"
        "policies:\n"
        "  - match: \"SELECT v FROM itc_hot WHERE id = ?\"\n"
        "    cache: { ttl: 3s }\n",
        px.port, px.admin_port, px.http_port, it_user(), it_password(), DB,
        it_env("BACKEND_USER", "myshard"), it_env("BACKEND_PASSWORD", "secret"),
        consistency, it_backend_port("S0_PRIMARY_PORT"),
        it_backend_port("S0_REPLICA_PORT"), it_backend_port("S1_PRIMARY_PORT"),
        it_backend_port("S1_REPLICA_PORT"), DB);
    return fclose(f) == 0;
}

static MYSQL *
proxy_conn(void)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 10;
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    if (mysql_real_connect(m, "127.0.0.1", it_user(), it_password(), DB,
                           px.port, NULL, 0) == NULL) {
        it_diag("connect to myshard: %s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static MYSQL *
admin_conn(void)
{
    MYSQL *m = mysql_init(NULL);
    if (mysql_real_connect(m, "127.0.0.1", "admin", "itc-admin", NULL,
                           px.admin_port, NULL, 0) == NULL) {
        it_diag("connect to the console: %s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* The value of column col in SHOW BACKENDS' row for the backend on
 * port (malloc'd, NULL when absent or SQL NULL). */
static char *
backend_cell(unsigned port, const char *col)
{
    MYSQL *a = admin_conn();
    char addr[64], *out = NULL;
    if (a == NULL)
        return NULL;
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    if (mysql_query(a, "SHOW BACKENDS") == 0) {
        MYSQL_RES *r = mysql_store_result(a);
        unsigned nf = r ? mysql_num_fields(r) : 0;
        MYSQL_FIELD *f = r ? mysql_fetch_fields(r) : NULL;
        int ci = -1;
        for (unsigned i = 0; i < nf; i++)
            if (strcmp(f[i].name, col) == 0)
                ci = (int)i;
        MYSQL_ROW row;
        while (r && ci >= 0 && (row = mysql_fetch_row(r)) != NULL)
            if (row[0] && strcmp(row[0], addr) == 0 && row[ci])
                out = strdup(row[ci]);
        if (r)
            mysql_free_result(r);
    }
    mysql_close(a);
    return out;
}

/* Runs "SELECT @@server_id, <what> FROM <from>" through m: the server id
 * and the first row's second column as an integer (-1 when no row). */
static bool
read_sid(MYSQL *m, const char *sql, long long *sid, long long *v)
{
    if (mysql_query(m, sql) != 0)
        return false;
    MYSQL_RES *r = mysql_store_result(m);
    if (r == NULL)
        return false;
    MYSQL_ROW row = mysql_fetch_row(r);
    *sid = row && row[0] ? atoll(row[0]) : -1;
    *v = row && row[1] ? atoll(row[1]) : -1;
    mysql_free_result(r);
    return true;
}

static long long
read_v(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        return -2;
    MYSQL_RES *r = mysql_store_result(m);
    if (r == NULL)
        return -2;
    MYSQL_ROW row = mysql_fetch_row(r);
    long long v = row && row[0] ? atoll(row[0]) : -1;
    mysql_free_result(r);
    return v;
}

/* Waits until the replica is online in SHOW BACKENDS with a position. */
static bool
replica_ready(double timeout)
{
    double end = it_now() + timeout;
    while (it_now() < end) {
        char *st = backend_cell(it_backend_port("S0_REPLICA_PORT"), "state");
        char *pos =
            backend_cell(it_backend_port("S0_REPLICA_PORT"), "gtid_pos");
        bool ok = st && strcmp(st, "online") == 0 && pos && pos[0];
        free(st);
        free(pos);
        if (ok)
            return true;
        it_sleep_ms(100);
    }
    return false;
}

/* $MARIADB_ENV cmd $MARIADB_DIR name; true on exit status 0. */
static bool
cluster(const char *cmd, const char *name)
{
    const char *env = getenv("MARIADB_ENV"), *dir = getenv("MARIADB_DIR");
    if (env == NULL || dir == NULL)
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl(env, env, cmd, dir, name, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
watchdog(int sig)
{
    static const char msg[] = "Bail out! watchdog timeout\n";
    (void)sig;
    it_proxy_kill(&px);
    cluster("up", "s0-primary");
    (void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    _exit(1);
}

/* ------------------------------------------------------------ a. session */

static void
test_own_writes(void)
{
    MYSQL *m = proxy_conn();
    long long sid = -1, v = -1;
    int seen = 0, on_replica = 0, n = 200;
    bool fresh = true;

    if (!check(m != NULL, "a: connect"))
        return;
    it_exec(m, "INSERT INTO itc_t VALUES (1, 0), (2, 0)");
    for (int k = 1; k <= 3; k++) {
        it_exec(m, "UPDATE itc_t SET v = %d WHERE id = 1", 100 + k);
        it_sleep_ms(1000);
        bool ok = read_sid(m, "SELECT @@server_id, v FROM itc_t WHERE id = 1",
                           &sid, &v);
        check(ok && sid == id_replica,
              "a: 1 s after its write the session reads from the replica "
              "(server_id %lld, replica %lld; round %d)",
              sid, id_replica, k);
        check_int(v, 100 + k, "a: ... and sees its own write (round %d)", k);
    }
    /* At once after each write: the write is always there. */
    for (int k = 0; k < n; k++) {
        it_exec(m, "UPDATE itc_t SET v = %d WHERE id = 1", 1000 + k);
        if (!read_sid(m, "SELECT @@server_id, v FROM itc_t WHERE id = 1", &sid,
                      &v))
            break;
        seen += v == 1000 + k;
        on_replica += sid == id_replica;
        if (v != 1000 + k && fresh) {
            it_diag("round %d: read %lld from server %lld", k, v, sid);
            fresh = false;
        }
    }
    check(seen == n,
          "a: a read at once after each of %d writes sees it (%d did)", n,
          seen);
    it_diag("a: reads at once after the session's write served by the "
            "replica: %d of %d (%.0f%%)",
            on_replica, n, 100.0 * on_replica / n);
    mysql_close(m);
}

/* ------------------------------------------------------ b. failed write */

static void
test_failed_write(void)
{
    MYSQL *m = proxy_conn();
    long long sid = -1, v = -1;

    if (!check(m != NULL, "b: connect"))
        return;
    /* An UPDATE (an INSERT would pin the session for LAST_INSERT_ID). */
    bool dup = mysql_query(m, "UPDATE itc_t SET id = 2 WHERE id = 1") != 0 &&
               mysql_errno(m) == 1062;
    check(dup, "b: the duplicate-key UPDATE fails with 1062 (%u %s)",
          mysql_errno(m), mysql_error(m));
    bool ok =
        read_sid(m, "SELECT @@server_id, v FROM itc_t WHERE id = 1", &sid, &v);
    check(ok && sid == id_replica,
          "b: after its only write failed the session reads from the "
          "replica (server_id %lld, replica %lld)",
          sid, id_replica);
    mysql_close(m);

    if (getenv("MARIADB_ENV") == NULL || getenv("MARIADB_DIR") == NULL) {
        it_skip("MARIADB_ENV/MARIADB_DIR unset", "b: the primary down");
        return;
    }
    m = proxy_conn();
    if (!check(m != NULL, "b: connect (primary down)"))
        return;
    if (!check(cluster("down", "s0-primary"), "b: stop the s0 primary")) {
        mysql_close(m);
        return;
    }
    /* The monitor sees the primary down and keeps the replica online
     * (its IO thread only retries a dead primary). */
    double until = it_now() + 15;
    bool seen = false;
    while (!seen && it_now() < until) {
        char *ps = backend_cell(it_backend_port("S0_PRIMARY_PORT"), "state");
        char *rs = backend_cell(it_backend_port("S0_REPLICA_PORT"), "state");
        seen = ps && strcmp(ps, "down") == 0 && rs && strcmp(rs, "online") == 0;
        free(ps);
        free(rs);
        if (!seen)
            it_sleep_ms(200);
    }
    check(seen, "b: SHOW BACKENDS: the primary down, the replica online");
    bool failed = mysql_query(m, "UPDATE itc_t SET v = v + 1 WHERE id = 1");
    check(failed, "b: the write fails while the primary is down (%u %s)",
          mysql_errno(m), mysql_error(m));
    ok = read_sid(m, "SELECT @@server_id, v FROM itc_t WHERE id = 1", &sid, &v);
    check(ok && sid == id_replica,
          "b: the session whose write failed reads from the healthy "
          "replica, not 9001 (server_id %lld; %u %s)",
          sid, mysql_errno(m), mysql_error(m));
    mysql_close(m);
    check(cluster("up", "s0-primary"), "b: start the s0 primary again");
    /* The monitor sees it again before the next tests write. */
    double end = it_now() + 15;
    char *st = NULL;
    while (it_now() < end) {
        free(st);
        st = backend_cell(it_backend_port("S0_PRIMARY_PORT"), "state");
        if (st && strcmp(st, "online") == 0)
            break;
        it_sleep_ms(200);
    }
    check(st && strcmp(st, "online") == 0, "b: the primary is online again");
    free(st);
    check(replica_ready(30), "b: the replica is online again");
}

/* ------------------------------------------------- c, d. the cached key */

struct round_stats {
    int rounds, slow, flipped, first_new;
    double worst;
};

/* UPDATE through w, then read through r until the new value comes (and a
 * few reads more: it must stay). */
static void
cache_rounds(MYSQL *w, MYSQL *r, int rounds, long long base,
             struct round_stats *rs)
{
    memset(rs, 0, sizeof(*rs));
    for (int k = 0; k < rounds; k++) {
        long long want = base + k, got;
        if (!it_exec(w, "UPDATE itc_hot SET v = %lld WHERE id = 1", want))
            break;
        double t0 = it_now(), took = -1;
        int after = 0;
        bool first = true;
        for (;;) {
            got = read_v(r, "SELECT v FROM itc_hot WHERE id = 1");
            if (got < 0)
                break;
            if (first && got == want)
                rs->first_new++;
            first = false;
            if (got == want) {
                if (took < 0)
                    took = it_now() - t0;
                if (++after == 3)
                    break;
                continue;
            }
            if (took >= 0) { /* the old row came back */
                rs->flipped++;
                break;
            }
            if (it_now() - t0 > 5.0)
                break;
        }
        rs->rounds++;
        if (took < 0 || took >= 1.0)
            rs->slow++;
        if (took > rs->worst)
            rs->worst = took;
        if (took < 0)
            rs->worst = 99;
    }
}

static void
test_cache(const char *mode, bool causal)
{
    MYSQL *w = proxy_conn(), *r = proxy_conn();
    struct round_stats rs;

    if (!check(w != NULL && r != NULL, "%s: connect twice", mode))
        return;
    /* Cached first, so the rounds start from a cached key. */
    (void)read_v(r, "SELECT v FROM itc_hot WHERE id = 1");
    cache_rounds(w, r, ROUNDS, causal ? 500000 : 100000, &rs);
    check_int(rs.rounds, ROUNDS, "%s: %d rounds ran", mode, ROUNDS);
    check(rs.flipped == 0,
          "%s: once the new row was read the old one never came back (%d "
          "rounds where it did)",
          mode, rs.flipped);
    check(rs.slow == 0,
          "%s: the new row was read under 1 s in every round (%d were not; "
          "worst %.3f s)",
          mode, rs.slow, rs.worst);
    if (causal)
        check(rs.first_new == rs.rounds,
              "%s: the first read after the UPDATE's OK saw it in every "
              "round (%d of %d)",
              mode, rs.first_new, rs.rounds);
    it_diag("%s: first read after the UPDATE's OK new in %d of %d rounds; "
            "worst %.3f s",
            mode, rs.first_new, rs.rounds, rs.worst);
    /* The state is visible: the shard's acknowledged write is the last
     * UPDATE's GTID, which the primary holds. */
    char *acked =
        backend_cell(it_backend_port("S0_PRIMARY_PORT"), "gtid_acked");
    MYSQL *d = it_connect_backend("S0_PRIMARY_PORT", NULL);
    char *last = NULL;
    if (d != NULL) {
        last = it_value(d, NULL, "SELECT @@gtid_binlog_pos");
        mysql_close(d);
    }
    check(acked && last && strstr(last, acked) != NULL,
          "%s: SHOW BACKENDS gtid_acked (%s) is the primary's last GTID (%s)",
          mode, acked ? acked : "NULL", last ? last : "NULL");
    free(acked);
    free(last);
    mysql_close(w);
    mysql_close(r);
}

/* ------------------------------------------------------ e. causal reads */

struct worker {
    int idx, n, missed, on_replica, errors;
};

static void *
causal_worker(void *arg)
{
    struct worker *wk = arg;
    MYSQL *w = proxy_conn(), *r = proxy_conn();
    char sql[200];

    if (w == NULL || r == NULL) {
        wk->errors = wk->n;
        goto out;
    }
    for (int k = 0; k < wk->n; k++) {
        long long id = 1000000LL * (wk->idx + 1) + k, sid = -1, v = -1;
        snprintf(sql, sizeof(sql), "INSERT INTO itc_c VALUES (%lld, %lld)", id,
                 id);
        if (mysql_query(w, sql) != 0) {
            wk->errors++;
            continue;
        }
        snprintf(sql, sizeof(sql),
                 "SELECT @@server_id, v FROM itc_c WHERE id = %lld", id);
        if (!read_sid(r, sql, &sid, &v)) {
            wk->errors++;
            continue;
        }
        wk->missed += v != id;
        wk->on_replica += sid == id_replica;
    }
out:
    if (w)
        mysql_close(w);
    if (r)
        mysql_close(r);
    return NULL;
}

static void
test_causal_threads(void)
{
    pthread_t th[THREADS];
    struct worker wk[THREADS];
    int missed = 0, on_replica = 0, errors = 0;

    for (int i = 0; i < THREADS; i++) {
        wk[i] = (struct worker){.idx = i, .n = ROUNDS / THREADS};
        pthread_create(&th[i], NULL, causal_worker, &wk[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        missed += wk[i].missed;
        on_replica += wk[i].on_replica;
        errors += wk[i].errors;
    }
    check(errors == 0, "e: %d writes and reads over %d threads ran (%d failed)",
          ROUNDS, THREADS, errors);
    check(missed == 0,
          "e: causal: no read through another connection missed the write "
          "acknowledged before it (%d did)",
          missed);
    check(on_replica * 2 > ROUNDS,
          "e: causal: most of those reads were served by the replica (%d of "
          "%d, %.0f%%)",
          on_replica, ROUNDS, 100.0 * on_replica / ROUNDS);
    it_diag("e: causal reads served by the replica: %d of %d (%.0f%%)",
            on_replica, ROUNDS, 100.0 * on_replica / ROUNDS);
}

/* ------------------------------------------------------------ main */

static bool
proxy_restart(const char *consistency)
{
    if (it_proxy_running(&px))
        it_proxy_stop(&px, SIGTERM, 8, NULL);
    if (!write_conf(consistency))
        return false;
    return it_proxy_start(&px, NULL) && replica_ready(20);
}

int
main(void)
{
    it_init("itest_consistency");
    it_proxy_init(&px);
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);
    if (!it_expect_proxy()) {
        it_skip("not against myshard", "reads by replication position");
        return it_done();
    }
    bool have_bin = it_proxy_have_bin(&px);
    check(have_bin, "MYSHARD_BIN is an executable myshard");
    if (!have_bin || it_backend_port("S0_REPLICA_PORT") == 0)
        return it_done();
    if (!it_proxy_dir(&px, "itest_consistency")) {
        printf("Bail out! mkdtemp %s: %s\n", px.dir, strerror(errno));
        return 1;
    }
    MYSQL *p = it_connect_backend("S0_PRIMARY_PORT", NULL);
    MYSQL *rp = it_connect_backend("S0_REPLICA_PORT", NULL);
    if (!check(p != NULL && rp != NULL, "direct connections to s0"))
        return it_done();
    id_primary = it_int(p, -1, "SELECT @@server_id");
    id_replica = it_int(rp, -1, "SELECT @@server_id");
    check(id_primary > 0 && id_replica > 0 && id_primary != id_replica,
          "s0's primary and replica have their own server ids (%lld, %lld)",
          id_primary, id_replica);
    check(it_exec(p, "DROP DATABASE IF EXISTS " DB) &&
              it_exec(p, "CREATE DATABASE " DB) &&
              it_exec(p, "CREATE TABLE " DB ".itc_t (id INT PRIMARY KEY, v "
                         "BIGINT)") &&
              it_exec(p, "CREATE TABLE " DB ".itc_hot (id INT PRIMARY KEY, "
                         "v BIGINT)") &&
              it_exec(p, "INSERT INTO " DB ".itc_hot VALUES (1, 0)") &&
              it_exec(p, "CREATE TABLE " DB ".itc_c (id BIGINT PRIMARY "
                         "KEY, v BIGINT)"),
          "create " DB " on s0");

    if (check(proxy_restart("session"), "myshard starts (consistency: "
                                        "session)")) {
        test_own_writes();
        test_failed_write();
        test_cache("c (session)", false);
    }
    if (check(proxy_restart("causal"), "myshard starts (consistency: "
                                       "causal)")) {
        test_cache("d (causal)", true);
        test_causal_threads();
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
    mysql_close(p); /* it may have died with the primary's restart */
    p = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (p != NULL) {
        it_exec(p, "DROP DATABASE IF EXISTS " DB);
        mysql_close(p);
    }
    mysql_close(rp);
    int rc = it_done();
    it_proxy_cleanup(&px, rc);
    return rc;
}
