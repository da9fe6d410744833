/*
 * Cross-shard transactions through a myshard instance this program starts
 * ($MYSHARD_BIN) with its own config: three schemas over the s0 and s1
 * primaries, each with accounts(id, balance) sharded by id with a mod rule
 * (even ids on s0, odd ids on s1):
 *   xa_x  transactions: xa           two-phase commit with MySQL XA
 *   xa_b  transactions: best_effort  commit shard by shard
 *   xa_d  transactions: deny         a second shard is refused (1235)
 * The shard primaries are the witnesses: balances and XA RECOVER are read
 * over direct connections, never through the proxy alone.
 *
 *   1. xa: 8 threads x 40 random transfers; the total is unchanged (proxy
 *      and primaries), transfers committed, nothing left in XA RECOVER
 *   2. xa: ROLLBACK of a cross-shard transfer leaves both rows unchanged
 *   3. xa: a client that vanishes mid-transaction leaves no change, no
 *      prepared branch and no row lock
 *   4. xa: the proxy killed (SIGKILL) between its commit decision and XA
 *      COMMIT (xa_commit_delay) leaves prepared branches that its restart
 *      commits
 *   5. xa: prepared branches of this instance that the log never decided
 *      are rolled back at start-up; a foreign xid is left alone
 *   6. best_effort: a cross-shard transfer commits and rolls back on both
 *   7. deny: the second shard gets 1235, the transaction stays usable
 *   8. xa: a one-shard transaction commits and leaves no branch behind
 */
#include "itest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB_X         "itest_xa_x" /* backend schemas, on both primaries */
#define DB_B         "itest_xa_b"
#define DB_D         "itest_xa_d"
#define NACC         40
#define START_BAL    1000
#define THREADS      8
#define TRANSFERS    40
#define MAX_ATTEMPTS 8
#define WORKLOAD_S   20.0 /* the transfers of check 1 stop after this */
#define WATCHDOG_S   170
#define FOREIGN_GT   "other:1"
#define ABORT_N      "999999"

static struct it_proxy px; /* this program's myshard */
static char xalog_path[300];
static char instance[9]; /* 8 hex digits from the decision log */
static char prefix[64];  /* "myshard:<instance>:" */
static MYSQL *d0, *d1;   /* direct: s0 and s1 primaries */
static const char *dbs[] = {DB_X, DB_B, DB_D};

/* ------------------------------------------------------------ helpers */

static MYSQL *
direct(int id)
{
    return (id % 2 == 0) ? d0 : d1;
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

/* ------------------------------------------------------ XA RECOVER */

struct xid {
    long fmt;
    char gtrid[65];
    char bqual[65];
    long glen, blen;
};

/* The prepared xids of the server behind m; count, or -1 on error. */
static int
xa_recover(MYSQL *m, struct xid *out, int max)
{
    if (m == NULL)
        return -1;
    if (mysql_query(m, "XA RECOVER") != 0) {
        it_diag("XA RECOVER failed: %u %s", mysql_errno(m), mysql_error(m));
        return -1;
    }
    MYSQL_RES *r = mysql_store_result(m);
    if (r == NULL)
        return -1;
    int n = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(r);
        if (n < max && row[0] && row[1] && row[2] && row[3]) {
            struct xid *x = &out[n];
            x->fmt = atol(row[0]);
            x->glen = atol(row[1]);
            x->blen = atol(row[2]);
            if (x->glen < 0 || x->glen > 64 || x->blen < 0 || x->blen > 64 ||
                (unsigned long)(x->glen + x->blen) > len[3])
                x->glen = x->blen = 0;
            memcpy(x->gtrid, row[3], (size_t)x->glen);
            x->gtrid[x->glen] = '\0';
            memcpy(x->bqual, row[3] + x->glen, (size_t)x->blen);
            x->bqual[x->blen] = '\0';
        }
        n++;
    }
    mysql_free_result(r);
    return n;
}

/* Prepared xids whose gtrid starts with pfx (all when NULL) and whose
 * bqual is bq (any when NULL); -1 on error. The first match's gtrid goes
 * to gtrid_out when given. */
static int
xa_count(MYSQL *m, const char *pfx, const char *bq, char *gtrid_out)
{
    struct xid xs[64];
    int n = xa_recover(m, xs, 64);
    if (n < 0)
        return -1;
    int c = 0;
    for (int i = 0; i < n && i < 64; i++) {
        if (pfx != NULL && strncmp(xs[i].gtrid, pfx, strlen(pfx)) != 0)
            continue;
        if (bq != NULL && strcmp(xs[i].bqual, bq) != 0)
            continue;
        if (c == 0 && gtrid_out != NULL)
            strcpy(gtrid_out, xs[i].gtrid);
        c++;
    }
    return c;
}

static void
diag_xids(const char *who, MYSQL *m)
{
    struct xid xs[16];
    int n = xa_recover(m, xs, 16);
    it_diag("XA RECOVER on %s: %d xid(s)", who, n);
    for (int i = 0; i < n && i < 16; i++)
        it_diag("  formatID %ld gtrid '%s' bqual '%s'", xs[i].fmt, xs[i].gtrid,
                xs[i].bqual);
}

/* Total prepared xids on both primaries (-1 on error). */
static int
xa_total(void)
{
    int a = xa_count(d0, NULL, NULL, NULL);
    int b = xa_count(d1, NULL, NULL, NULL);
    return a < 0 || b < 0 ? -1 : a + b;
}

/* Polls until both primaries have no prepared xid, up to timeout s. */
static bool
xa_wait_empty(double timeout)
{
    double deadline = it_now() + timeout;
    for (;;) {
        if (xa_total() == 0)
            return true;
        if (it_now() >= deadline)
            return false;
        it_sleep_ms(100);
    }
}

/* Rolls back xids left by this program: this instance's and the foreign
 * one. Returns how many. */
static int
xa_cleanup(MYSQL *m)
{
    struct xid xs[64];
    int n = xa_recover(m, xs, 64), done = 0;
    for (int i = 0; i < n && i < 64; i++) {
        bool ours = (prefix[0] != '\0' &&
                     strncmp(xs[i].gtrid, prefix, strlen(prefix)) == 0) ||
                    strcmp(xs[i].gtrid, FOREIGN_GT) == 0;
        if (!ours)
            continue;
        char *g =
            it_hex((const unsigned char *)xs[i].gtrid, (size_t)xs[i].glen);
        char *b =
            it_hex((const unsigned char *)xs[i].bqual, (size_t)xs[i].blen);
        if (it_exec(m, "XA ROLLBACK X'%s',X'%s',%ld", g, b, xs[i].fmt))
            done++;
        free(g);
        free(b);
    }
    return done;
}

/* ---------------------------------------------------------- the proxy */

static bool
write_config(const char *commit_delay)
{
    char *text = NULL;
    char delay_line[64] = "";
    if (commit_delay != NULL)
        snprintf(delay_line, sizeof(delay_line), "xa_commit_delay: %s\n",
                 commit_delay);
    int n = asprintf(
        &text,
        "# generated by itest_xa\n"
        "listen: 127.0.0.1:%u\n"
        "workers: 2\n"
        "shutdown_timeout: 3s\n"
        "handshake_timeout: 2s\n"
        "xa_log: %s\n"
        "%s"
        "admin:\n"
        "  listen: 127.0.0.1:%u\n"
        "  http: 127.0.0.1:%u\n"
        "  user: admin\n"
        "  password: xa-admin\n"
        "users:\n"
        "  - name: %s\n"
        "    password: %s\n"
        "    schemas: [xa_x, xa_b, xa_d]\n"
        "backend:\n"
        "  user: %s\n"
        "  password: %s\n"
        "  connect_timeout: 1s\n"
        "  pool:\n"
        "    max_connections: 50\n"
        "# primaries only: every read here must see the latest commit\n"
        "shards:\n"
        "  - name: s0\n"
        "    primary: 127.0.0.1:%u\n"
        "  - name: s1\n"
        "    primary: 127.0.0.1:%u\n"
        "sharding_rules:\n"
        "  id_mod: { type: mod, shards: [s0, s1] }\n"
        "schemas:\n"
        "  - name: xa_x\n"
        "    backend_schema: " DB_X "\n"
        "    default_shard: s0\n"
        "    transactions: xa\n"
        "    tables:\n"
        "      - { name: accounts, key: id, rule: id_mod }\n"
        "  - name: xa_b\n"
        "    backend_schema: " DB_B "\n"
        "    default_shard: s0\n"
        "    transactions: best_effort\n"
        "    tables:\n"
        "      - { name: accounts, key: id, rule: id_mod }\n"
        "  - name: xa_d\n"
        "    backend_schema: " DB_D "\n"
        "    default_shard: s0\n"
        "    transactions: deny\n"
        "    tables:\n"
        "      - { name: accounts, key: id, rule: id_mod }\n",
        px.port, xalog_path, delay_line, px.admin_port, px.http_port, it_user(),
        it_password(), it_env("BACKEND_USER", "myshard"),
        it_env("BACKEND_PASSWORD", "secret"),
        it_backend_port("S0_PRIMARY_PORT"), it_backend_port("S1_PRIMARY_PORT"));
    bool ok = n > 0 && write_file(px.cfg, text);
    free(text);
    return ok;
}

/* A client of this program's myshard; NULL (errno in *err) on failure. */
static MYSQL *
connect_proxy(const char *db, unsigned read_timeout, unsigned *err, bool quiet)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5;
    if (m == NULL) {
        if (err)
            *err = 0;
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &read_timeout);
    if (mysql_real_connect(m, "127.0.0.1", it_user(), it_password(), db,
                           px.port, NULL, 0) == NULL) {
        if (err)
            *err = mysql_errno(m);
        if (!quiet)
            it_diag("connect to myshard on port %u db=%s failed: %u %s",
                    px.port, db ? db : "(none)", mysql_errno(m),
                    mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    if (err)
        *err = 0;
    return m;
}

/* Reads the instance from the decision log's first line, waiting up to
 * timeout s for the file. */
static bool
read_instance(double timeout, char out[9])
{
    double deadline = it_now() + timeout;
    char line[256];
    const char *head = "myshard-xa-log v1 instance=";
    for (;;) {
        FILE *f = fopen(xalog_path, "r");
        line[0] = '\0';
        if (f != NULL) {
            if (fgets(line, sizeof(line), f) == NULL)
                line[0] = '\0';
            fclose(f);
        }
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, head, strlen(head)) == 0) {
            const char *h = line + strlen(head);
            bool hex = strlen(h) == 8 && strspn(h, "0123456789abcdef") == 8;
            if (hex) {
                memcpy(out, h, 9);
                return true;
            }
        }
        if (it_now() >= deadline) {
            it_diag("decision log %s: first line '%s'", xalog_path, line);
            return false;
        }
        it_sleep_ms(100);
    }
}

/* ------------------------------------------------------------ balances */

/* Balance of account id on its primary (direct); -1 on error. */
static long long
bal(const char *db, int id)
{
    return it_int(direct(id), -1,
                  "SELECT balance FROM %s.accounts WHERE id = %d", db, id);
}

static long long
direct_sum(const char *db)
{
    long long a = it_int(d0, -1, "SELECT SUM(balance) FROM %s.accounts", db);
    long long b = it_int(d1, -1, "SELECT SUM(balance) FROM %s.accounts", db);
    return a < 0 || b < 0 ? -1 : a + b;
}

/* mysql_query; on success discards any result. errno, 0 on success. */
static unsigned
run(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        return mysql_errno(m) ? mysql_errno(m) : 1;
    MYSQL_RES *r = mysql_store_result(m);
    if (r)
        mysql_free_result(r);
    return 0;
}

/* UPDATE accounts SET balance = balance + delta WHERE id = id through m;
 * errno, or 1 when it did not change exactly one row. */
static unsigned
add(MYSQL *m, int id, int delta)
{
    char sql[128];
    snprintf(sql, sizeof(sql),
             "UPDATE accounts SET balance = balance + (%d) WHERE id = %d",
             delta, id);
    unsigned e = run(m, sql);
    if (e == 0 && mysql_affected_rows(m) != 1)
        return 1;
    return e;
}

/* A transfer of x from a to b: BEGIN, two UPDATEs, COMMIT. errno of the
 * first failure, 0 when committed. */
static unsigned
transfer(MYSQL *m, int a, int b, int x)
{
    unsigned e = run(m, "BEGIN");
    if (e == 0)
        e = add(m, a, -x);
    if (e == 0)
        e = add(m, b, x);
    if (e == 0)
        e = run(m, "COMMIT");
    return e;
}

/* --------------------------------------------------------- setup */

static bool
setup_backend(MYSQL *m, int shard)
{
    bool ok = it_exec(m, "SET SESSION lock_wait_timeout = 10");
    for (int i = 0; i < 3 && ok; i++) {
        ok = it_exec(m, "DROP DATABASE IF EXISTS %s", dbs[i]) &&
             it_exec(m, "CREATE DATABASE %s", dbs[i]) &&
             it_exec(m,
                     "CREATE TABLE %s.accounts (id INT PRIMARY KEY, "
                     "balance INT NOT NULL) ENGINE=InnoDB",
                     dbs[i]);
        /* the mod rule's placement: shards[((id % 2) + 2) % 2] */
        for (int id = shard; id < NACC && ok; id += 2)
            ok = it_exec(m, "INSERT INTO %s.accounts VALUES (%d, %d)", dbs[i],
                         id, START_BAL);
    }
    return ok;
}

/* ---------------------------------------- 1. concurrent transfers (xa) */

struct worker {
    int idx;
    long committed, cross_committed, attempts, retries;
    long deadlocks, lock_waits, xa_errors, fatal;
    bool connected;
    unsigned last_err;
    char last_msg[200];
    double deadline;
};

static bool
retryable(unsigned e)
{
    return e == 1213 || e == 1205 || (e >= 1397 && e <= 1402) || e == 1440 ||
           e == 1613 || e == 1614;
}

static bool
connection_lost(unsigned e)
{
    return e == 2006 || e == 2013 || e == 2055;
}

static void *
transfer_worker(void *arg)
{
    struct worker *w = arg;
    unsigned seed = 20240601u + (unsigned)w->idx * 7919u;
    mysql_thread_init();
    MYSQL *m = connect_proxy("xa_x", 20, NULL, true);
    w->connected = m != NULL;
    /* cross-shard deadlocks are not detected by either server: they end
     * in lock wait timeouts, kept short */
    if (m != NULL && run(m, "SET SESSION innodb_lock_wait_timeout = 1") != 0)
        w->connected = false;
    for (int i = 0; m != NULL && i < TRANSFERS && it_now() < w->deadline; i++) {
        int a = rand_r(&seed) % NACC;
        int b = rand_r(&seed) % (NACC - 1);
        if (b >= a)
            b++;
        int x = 1 + rand_r(&seed) % 50;
        for (int att = 0; att < MAX_ATTEMPTS && it_now() < w->deadline; att++) {
            w->attempts++;
            unsigned e = transfer(m, a, b, x);
            if (e == 0) {
                w->committed++;
                if (a % 2 != b % 2)
                    w->cross_committed++;
                break;
            }
            w->last_err = e;
            snprintf(w->last_msg, sizeof(w->last_msg), "%s",
                     e == 1 ? "an UPDATE did not change one row"
                            : mysql_error(m));
            w->deadlocks += e == 1213;
            w->lock_waits += e == 1205;
            w->xa_errors += retryable(e) && e != 1213 && e != 1205;
            if (connection_lost(e)) {
                w->fatal++;
                mysql_close(m);
                m = connect_proxy("xa_x", 20, NULL, true);
                if (m != NULL)
                    run(m, "SET SESSION innodb_lock_wait_timeout = 1");
                break;
            }
            run(m, "ROLLBACK");
            if (!retryable(e)) {
                w->fatal++;
                break;
            }
            w->retries++;
            it_sleep_ms(5 + rand_r(&seed) % 30);
        }
    }
    if (m != NULL)
        mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static void
test_concurrent_transfers(void)
{
    struct worker w[THREADS];
    pthread_t th[THREADS];
    double t0 = it_now();
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].idx = i;
        w[i].deadline = t0 + WORKLOAD_S;
        if (pthread_create(&th[i], NULL, transfer_worker, &w[i]) != 0) {
            printf("Bail out! pthread_create failed\n");
            exit(1);
        }
    }
    struct worker t = {0};
    int connected = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        connected += w[i].connected;
        t.committed += w[i].committed;
        t.cross_committed += w[i].cross_committed;
        t.attempts += w[i].attempts;
        t.retries += w[i].retries;
        t.deadlocks += w[i].deadlocks;
        t.lock_waits += w[i].lock_waits;
        t.xa_errors += w[i].xa_errors;
        t.fatal += w[i].fatal;
        if (w[i].last_err != 0)
            it_diag("thread %d: last error %u: %s", i, w[i].last_err,
                    w[i].last_msg);
    }
    double took = it_now() - t0;
    it_diag("xa transfers: %ld committed (%ld cross-shard) of %d in %.1f s; "
            "%ld attempts, %ld retries (%ld deadlocks, %ld lock waits, "
            "%ld XA errors), %ld given up",
            t.committed, t.cross_committed, THREADS * TRANSFERS, took,
            t.attempts, t.retries, t.deadlocks, t.lock_waits, t.xa_errors,
            t.fatal);
    check(connected == THREADS, "xa: %d of %d transfer clients connected",
          connected, THREADS);
    check(t.committed > 0, "xa: transfers committed (%ld)", t.committed);
    check(t.cross_committed > 0,
          "xa: cross-shard transfers committed (%ld of %ld)", t.cross_committed,
          t.committed);
    check(t.fatal == 0,
          "xa: no transfer failed with a non-retryable error (%ld did)",
          t.fatal);

    long long want = (long long)NACC * START_BAL;
    long long dsum = direct_sum(DB_X);
    long long dcount =
        it_int(d0, -1, "SELECT COUNT(*) FROM " DB_X ".accounts") +
        it_int(d1, -1, "SELECT COUNT(*) FROM " DB_X ".accounts");
    it_diag("primaries: %lld accounts, total %lld", dcount, dsum);
    check(dsum == want && dcount == NACC,
          "xa: the total read directly from both primaries is %lld", want);
    MYSQL *m = connect_proxy("xa_x", 20, NULL, false);
    long long psum =
        m ? it_int(m, -1, "SELECT SUM(balance) FROM accounts") : -1;
    long long pcount = m ? it_int(m, -1, "SELECT COUNT(*) FROM accounts") : -1;
    it_diag("through myshard: %lld accounts, total %lld", pcount, psum);
    check(psum == want && pcount == NACC,
          "xa: the total read through myshard is %lld", want);
    if (m)
        mysql_close(m);
    bool empty = xa_wait_empty(3);
    check(empty, "xa: XA RECOVER is empty on both primaries");
    if (!empty) {
        diag_xids("s0", d0);
        diag_xids("s1", d1);
    }
}

/* -------------------------------------------- 2. ROLLBACK (xa) */

static void
test_rollback(void)
{
    int a = 2, b = 3;
    long long ba = bal(DB_X, a), bb = bal(DB_X, b);
    MYSQL *m = connect_proxy("xa_x", 20, NULL, false);
    unsigned e = m ? run(m, "BEGIN") : 2003;
    if (e == 0)
        e = add(m, a, -100);
    if (e == 0)
        e = add(m, b, 100);
    check(e == 0, "xa rollback: a cross-shard transfer inside BEGIN");
    if (e != 0)
        it_diag("errno %u: %s", e, m ? mysql_error(m) : "no connection");
    long long own = m && e == 0 ? it_int(m, -1,
                                         "SELECT balance FROM accounts WHERE "
                                         "id = %d",
                                         b)
                                : -1;
    check_int(own, bb + 100, "xa rollback: the transaction sees its own write");
    e = m ? run(m, "ROLLBACK") : 2003;
    check(e == 0, "xa rollback: ROLLBACK succeeds");
    long long na = bal(DB_X, a), nb = bal(DB_X, b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba && nb == bb,
          "xa rollback: both rows unchanged on the primaries");
    check(xa_wait_empty(3), "xa rollback: XA RECOVER is empty");
    if (m)
        mysql_close(m);
}

/* ------------------------------------- 3. vanished client (xa) */

static void
test_vanished_client(void)
{
    int a = 4, b = 5;
    long long ba = bal(DB_X, a), bb = bal(DB_X, b);
    MYSQL *m = connect_proxy("xa_x", 20, NULL, false);
    unsigned e = m ? run(m, "BEGIN") : 2003;
    if (e == 0)
        e = add(m, a, -100);
    if (e == 0)
        e = add(m, b, 100);
    check(e == 0, "xa vanish: the client updates both shards in a "
                  "transaction");
    if (e != 0)
        it_diag("errno %u: %s", e, m ? mysql_error(m) : "no connection");
    if (m != NULL) {
        /* the client vanishes: its socket goes away without COM_QUIT */
        int fd = (int)mysql_get_socket(m);
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        mysql_close(m);
    }
    /* its rows must be free again: a direct UPDATE gets both locks */
    double t0 = it_now(), deadline = t0 + 8;
    bool locked_free = false;
    unsigned last = 0;
    MYSQL *p[2] = {d0, d1};
    for (int i = 0; i < 2; i++)
        it_exec(p[i], "SET SESSION innodb_lock_wait_timeout = 2");
    while (!locked_free && it_now() < deadline) {
        char sql[128];
        snprintf(sql, sizeof(sql),
                 "UPDATE " DB_X ".accounts SET balance = balance WHERE id = %d",
                 a);
        last = run(d0, sql);
        if (last == 0) {
            snprintf(sql, sizeof(sql),
                     "UPDATE " DB_X
                     ".accounts SET balance = balance WHERE id = %d",
                     b);
            last = run(d1, sql);
        }
        locked_free = last == 0;
        if (!locked_free)
            it_sleep_ms(200);
    }
    double took = it_now() - t0;
    it_diag("direct UPDATE of both rows: %s after %.2f s (last errno %u)",
            locked_free ? "succeeded" : "failed", took, last);
    check(locked_free && took < 6,
          "xa vanish: both rows are unlocked within a few seconds");
    long long na = bal(DB_X, a), nb = bal(DB_X, b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba && nb == bb,
          "xa vanish: both rows unchanged on the primaries");
    check(xa_wait_empty(3), "xa vanish: XA RECOVER is empty");
    for (int i = 0; i < 2; i++)
        it_exec(p[i], "SET SESSION innodb_lock_wait_timeout = DEFAULT");
}

/* ------------------------------------- 8. one-shard transaction (xa) */

static void
test_one_shard(void)
{
    int a = 10, b = 12; /* both on s0 */
    long long ba = bal(DB_X, a), bb = bal(DB_X, b);
    MYSQL *m = connect_proxy("xa_x", 20, NULL, false);
    unsigned e = m ? transfer(m, a, b, 30) : 2003;
    check(e == 0, "xa one shard: BEGIN, two UPDATEs on s0, COMMIT");
    if (e != 0 && m != NULL) {
        it_diag("errno %u: %s", e, mysql_error(m));
        run(m, "ROLLBACK");
    }
    long long na = bal(DB_X, a), nb = bal(DB_X, b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba - 30 && nb == bb + 30,
          "xa one shard: both rows committed on the s0 primary");
    check(xa_wait_empty(3), "xa one shard: XA RECOVER is empty");
    if (m)
        mysql_close(m);
}

/* ------------------------------------------------ 6. best_effort */

static void
test_best_effort(void)
{
    int a = 20, b = 21;
    long long ba = bal(DB_B, a), bb = bal(DB_B, b);
    MYSQL *m = connect_proxy("xa_b", 20, NULL, false);
    unsigned e = m ? transfer(m, a, b, 40) : 2003;
    check(e == 0, "best_effort: a cross-shard transfer commits");
    if (e != 0 && m != NULL) {
        it_diag("errno %u: %s", e, mysql_error(m));
        run(m, "ROLLBACK");
    }
    long long na = bal(DB_B, a), nb = bal(DB_B, b);
    it_diag("before %lld/%lld, after COMMIT %lld/%lld", ba, bb, na, nb);
    check(na == ba - 40 && nb == bb + 40,
          "best_effort: both sides committed on the primaries");

    e = m ? run(m, "BEGIN") : 2003;
    if (e == 0)
        e = add(m, a, -7);
    if (e == 0)
        e = add(m, b, 7);
    if (e == 0)
        e = run(m, "ROLLBACK");
    check(e == 0, "best_effort: a cross-shard transfer, then ROLLBACK");
    if (e != 0 && m != NULL) {
        it_diag("errno %u: %s", e, mysql_error(m));
        run(m, "ROLLBACK");
    }
    long long ra = bal(DB_B, a), rb = bal(DB_B, b);
    it_diag("after ROLLBACK %lld/%lld", ra, rb);
    check(ra == na && rb == nb, "best_effort: ROLLBACK undid both sides");
    if (m)
        mysql_close(m);
}

/* ------------------------------------------------------- 7. deny */

static void
test_deny(void)
{
    int a = 30, b = 31;
    long long ba = bal(DB_D, a), bb = bal(DB_D, b);
    MYSQL *m = connect_proxy("xa_d", 20, NULL, false);
    unsigned e = m ? run(m, "BEGIN") : 2003;
    if (e == 0)
        e = add(m, a, -50);
    check(e == 0, "deny: BEGIN and an UPDATE on s0");
    unsigned e2 = m ? add(m, b, 50) : 2003;
    check(e2 == 1235, "deny: an UPDATE on s1 in the same transaction gets "
                      "1235");
    if (e2 != 1235)
        it_diag("errno %u: %s", e2, m ? mysql_error(m) : "no connection");
    else
        it_diag("%s", mysql_error(m));
    long long own =
        m ? it_int(m, -1, "SELECT balance FROM accounts WHERE id = %d", a) : -1;
    check_int(own, ba - 50,
              "deny: the transaction is still usable and sees its update");
    e = m ? run(m, "COMMIT") : 2003;
    check(e == 0, "deny: COMMIT succeeds");
    long long na = bal(DB_D, a), nb = bal(DB_D, b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba - 50 && nb == bb,
          "deny: COMMIT stored the first update only");
    if (m)
        mysql_close(m);
}

/* ------------------------------- 4. crash after the commit decision */

struct committer {
    int a, b, x;
    atomic_bool done;
    unsigned err;
    char msg[200];
    double took;
};

static void *
commit_thread(void *arg)
{
    struct committer *c = arg;
    mysql_thread_init();
    MYSQL *m = connect_proxy("xa_x", 15, NULL, true);
    double t0 = it_now();
    c->err = m ? transfer(m, c->a, c->b, c->x) : 2003;
    c->took = it_now() - t0;
    snprintf(c->msg, sizeof(c->msg), "%s", m ? mysql_error(m) : "no client");
    if (m)
        mysql_close(m);
    atomic_store(&c->done, true);
    mysql_thread_end();
    return NULL;
}

/* Restarts this program's myshard with xa_commit_delay: 3s. */
static bool
restart_delayed(long *log_from)
{
    int st = 0;
    it_proxy_stop(&px, SIGTERM, 8, &st);
    return write_config("3s") && it_proxy_start(&px, log_from);
}

/* Runs c's transfer, COMMIT included, in a thread. */
static void
start_commit(struct committer *c, pthread_t *th)
{
    if (pthread_create(th, NULL, commit_thread, c) != 0) {
        printf("Bail out! pthread_create failed\n");
        exit(1);
    }
}

/* Waits (8 s at most) until both primaries hold a prepared branch of this
 * instance: the decision follows at once, then the 3 s delay. */
static bool
wait_prepared(struct committer *c)
{
    double t0 = it_now(), deadline = t0 + 8;
    int p0 = 0, p1 = 0;
    while (it_now() < deadline) {
        p0 = xa_count(d0, prefix, "s0", NULL);
        p1 = xa_count(d1, prefix, "s1", NULL);
        if ((p0 > 0 && p1 > 0) || atomic_load(&c->done))
            break;
        it_sleep_ms(50);
    }
    it_diag("prepared branches %s after %.2f s (s0 %d, s1 %d)",
            p0 > 0 && p1 > 0 ? "seen" : "not seen", it_now() - t0, p0, p1);
    return p0 > 0 && p1 > 0;
}

static void
test_crash_after_decision(void)
{
    struct committer c = {.a = 14, .b = 15, .x = 25};
    atomic_init(&c.done, false);
    long long ba = bal(DB_X, c.a), bb = bal(DB_X, c.b);
    int st = 0;
    bool up = restart_delayed(NULL);
    check(up, "xa crash: myshard restarts with xa_commit_delay: 3s");
    if (!up) {
        check(false, "xa crash: in-doubt branches after SIGKILL (no proxy)");
        write_config(NULL);
        if (!it_proxy_running(&px))
            it_proxy_start(&px, NULL);
        return;
    }
    pthread_t th;
    start_commit(&c, &th);
    /* kill the proxy in the delay between the decision and XA COMMIT */
    double t0 = it_now();
    bool prepared = wait_prepared(&c);
    check(prepared, "xa crash: COMMIT leaves prepared branches on both "
                    "primaries during the delay");
    if (prepared)
        it_sleep_ms(1000);
    pid_t victim = px.pid;
    it_proxy_stop(&px, SIGKILL, 5, &st);
    it_diag("myshard (pid %d) killed with SIGKILL %.2f s after COMMIT was "
            "sent",
            (int)victim, it_now() - t0);
    pthread_join(th, NULL);
    it_diag("the client's COMMIT returned after %.2f s: %u %s", c.took, c.err,
            c.err ? c.msg : "OK");

    char g0[65] = "", g1[65] = "";
    int n0 = xa_count(d0, prefix, "s0", g0);
    int n1 = xa_count(d1, prefix, "s1", g1);
    check(n0 == 1 && n1 == 1 && strcmp(g0, g1) == 0,
          "xa crash: one in-doubt branch of the same xid on each primary "
          "(s0 %d, s1 %d)",
          n0, n1);
    it_diag("in doubt: gtrid '%s' on s0, '%s' on s1", g0, g1);
    struct xid xs[4];
    int nx = xa_recover(d0, xs, 4);
    bool fmt1 = true;
    for (int i = 0; i < nx && i < 4; i++)
        fmt1 = fmt1 && xs[i].fmt == 1;
    check(nx > 0 && fmt1, "xa crash: the branches have formatID 1");

    long log_from = 0;
    up = write_config(NULL) && it_proxy_start(&px, &log_from);
    check(up, "xa crash: myshard restarts without the delay");
    t0 = it_now();
    bool empty = up && xa_wait_empty(5);
    it_diag("XA RECOVER %s %.2f s after the restart",
            empty ? "empty" : "still not empty", it_now() - t0);
    check(empty, "xa crash: the restart resolves the in-doubt branches");
    if (!empty) {
        diag_xids("s0", d0);
        diag_xids("s1", d1);
    }
    check(it_file_has(px.log, log_from, "xa recovery"),
          "xa crash: the restart logs its xa recovery");
    long long na = bal(DB_X, c.a), nb = bal(DB_X, c.b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba - c.x && nb == bb + c.x,
          "xa crash: the decided transfer is committed on both primaries");
}

/* --------------- 4b. a shard restarts between the decision and COMMIT */

/* $MARIADB_ENV cmd $MARIADB_DIR name (kill, up); true on success. */
static bool
cluster(const char *cmd, const char *name)
{
    const char *env = getenv("MARIADB_ENV"), *dir = getenv("MARIADB_DIR");
    char buf[1200];
    if (env == NULL || dir == NULL)
        return false;
    snprintf(buf, sizeof(buf), "\"%s\" %s \"%s\" %s >/dev/null 2>&1", env, cmd,
             dir, name);
    return system(buf) == 0;
}

static void
test_shard_restart_after_decision(void)
{
    struct committer c = {.a = 16, .b = 17, .x = 5};
    atomic_init(&c.done, false);
    long long ba = bal(DB_X, c.a), bb = bal(DB_X, c.b);
    int st = 0;
    long log_from = 0;
    bool up = restart_delayed(&log_from);
    check(up, "xa resolve: myshard restarts with xa_commit_delay: 3s");
    if (!up) {
        write_config(NULL);
        it_proxy_start(&px, NULL);
        return;
    }
    pthread_t th;
    start_commit(&c, &th);
    check(wait_prepared(&c),
          "xa resolve: the branches are prepared during the delay");
    /* s1's primary crashes and comes back while myshard waits to commit:
     * its XA COMMIT on s1 fails; the decision stands. */
    bool killed = cluster("kill", "s1-primary");
    bool back = killed && cluster("up", "s1-primary");
    check(killed && back, "xa resolve: the s1 primary is killed and restarted");
    mysql_close(d1);
    d1 = it_connect_backend("S1_PRIMARY_PORT", NULL);
    pthread_join(th, NULL);
    it_diag("the client's COMMIT returned after %.2f s: %u %s", c.took, c.err,
            c.err ? c.msg : "OK");
    check(c.err == 0, "xa resolve: the client's COMMIT succeeds (decided)");
    double t0 = it_now();
    bool empty = d1 != NULL && xa_wait_empty(15);
    it_diag("XA RECOVER %s %.2f s after the COMMIT returned, without "
            "restarting myshard",
            empty ? "empty" : "still not empty", it_now() - t0);
    check(empty && it_proxy_running(&px),
          "xa resolve: the running myshard commits the s1 branch once s1 is "
          "back");
    if (!empty) {
        diag_xids("s0", d0);
        diag_xids("s1", d1);
    }
    check(it_file_has(px.log, log_from, "xa commit completed"),
          "xa resolve: its log says the commit completed");
    long long na = bal(DB_X, c.a), nb = bal(DB_X, c.b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba - c.x && nb == bb + c.x,
          "xa resolve: the transfer is committed on both primaries");
    it_proxy_stop(&px, SIGTERM, 8, &st);
    up = write_config(NULL) && it_proxy_start(&px, NULL);
    check(up, "xa resolve: myshard restarts without the delay");
}

/* ----------------------------------- 5. presumed abort at start-up */

static MYSQL *
prepare_branch(const char *port_env, const char *gtrid, const char *bqual,
               int id, int delta)
{
    MYSQL *m = it_connect_backend(port_env, NULL);
    bool ok = m != NULL && it_exec(m, "XA START '%s','%s'", gtrid, bqual) &&
              it_exec(m,
                      "UPDATE " DB_X ".accounts SET balance = balance + (%d) "
                      "WHERE id = %d",
                      delta, id) &&
              it_exec(m, "XA END '%s','%s'", gtrid, bqual) &&
              it_exec(m, "XA PREPARE '%s','%s'", gtrid, bqual);
    if (!ok && m != NULL) {
        it_exec(m, "XA END '%s','%s'", gtrid, bqual);
        it_exec(m, "XA ROLLBACK '%s','%s'", gtrid, bqual);
    }
    if (!ok && m != NULL) {
        mysql_close(m);
        m = NULL;
    }
    return m;
}

static void
test_presumed_abort(void)
{
    int a = 6, b = 7, f = 8;
    int st = 0;
    bool stopped = it_proxy_stop(&px, SIGTERM, 8, &st);
    check(stopped && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "xa abort: myshard stops on SIGTERM with status 0");
    char again[9] = "";
    bool same = instance[0] != '\0' && read_instance(1, again) &&
                strcmp(again, instance) == 0;
    check(same, "xa abort: the decision log kept instance %s across restarts",
          instance[0] ? instance : "(unknown)");
    if (!same)
        it_diag("first line now names '%s'", again);
    long long ba = bal(DB_X, a), bb = bal(DB_X, b), bf = bal(DB_X, f);
    char gtrid[96];
    snprintf(gtrid, sizeof(gtrid), "%s" ABORT_N, prefix);
    /* prepared by sessions that then go away: the branches stay in doubt */
    MYSQL *c0 = prepare_branch("S0_PRIMARY_PORT", gtrid, "s0", a, -100);
    MYSQL *c1 = prepare_branch("S1_PRIMARY_PORT", gtrid, "s1", b, 100);
    MYSQL *cf = prepare_branch("S0_PRIMARY_PORT", FOREIGN_GT, "s0", f, -1);
    check(c0 && c1 && cf,
          "xa abort: prepared '%s' on s0 and s1 and '%s' on "
          "s0 directly",
          gtrid, FOREIGN_GT);
    if (c0)
        mysql_close(c0);
    if (c1)
        mysql_close(c1);
    if (cf)
        mysql_close(cf);
    int n0 = xa_count(d0, prefix, "s0", NULL);
    int n1 = xa_count(d1, prefix, "s1", NULL);
    int nf = xa_count(d0, FOREIGN_GT, NULL, NULL);
    check(n0 == 1 && n1 == 1 && nf == 1,
          "xa abort: the three branches are in XA RECOVER after their "
          "sessions closed");

    long log_from = 0;
    bool up = it_proxy_start(&px, &log_from);
    check(up, "xa abort: myshard starts with undecided branches in doubt");
    double t0 = it_now(), deadline = t0 + 5;
    while (up && it_now() < deadline) {
        n0 = xa_count(d0, prefix, NULL, NULL);
        n1 = xa_count(d1, prefix, NULL, NULL);
        if (n0 == 0 && n1 == 0)
            break;
        it_sleep_ms(100);
    }
    it_diag("branches of this instance after the start: s0 %d, s1 %d "
            "(%.2f s)",
            n0, n1, it_now() - t0);
    check(up && n0 == 0 && n1 == 0,
          "xa abort: the start-up rolled back this instance's undecided "
          "branches");
    check(it_file_has(px.log, log_from, "xa recovery"),
          "xa abort: the start logs its xa recovery");
    long long na = bal(DB_X, a), nb = bal(DB_X, b);
    it_diag("before %lld/%lld, after %lld/%lld", ba, bb, na, nb);
    check(na == ba && nb == bb, "xa abort: both rows unchanged");
    nf = xa_count(d0, FOREIGN_GT, NULL, NULL);
    check(up && nf == 1, "xa abort: the foreign xid '%s' is left alone",
          FOREIGN_GT);
    bool rb = nf == 1 && it_exec(d0, "XA ROLLBACK '%s','s0'", FOREIGN_GT);
    check(rb, "xa abort: the foreign xid rolls back directly");
    check_int(bal(DB_X, f), bf,
              "xa abort: the foreign branch's row is "
              "unchanged");
    int left = xa_total();
    check(left == 0, "xa abort: XA RECOVER is empty on both primaries");
    if (left != 0) {
        diag_xids("s0", d0);
        diag_xids("s1", d1);
    }
}

/* ------------------------------------------------------------- main */

int
main(void)
{
    it_init("itest_xa");
    it_proxy_init(&px);
    px.io_s = 5;
    px.exit_detail = true;
    it_proxy_watchdog(&px, WATCHDOG_S);
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "20", 0);
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
    if (!it_proxy_dir(&px, "itest_xa")) {
        printf("Bail out! mkdtemp %s: %s\n", px.dir, strerror(errno));
        return 1;
    }
    snprintf(xalog_path, sizeof(xalog_path), "%s/xa.log", px.dir);
    it_diag("this program's myshard: 127.0.0.1:%u, files in %s", px.port,
            px.dir);

    d0 = it_connect_backend("S0_PRIMARY_PORT", NULL);
    d1 = it_connect_backend("S1_PRIMARY_PORT", NULL);
    if (!check(d0 != NULL && d1 != NULL,
               "direct connections to the s0 and s1 primaries"))
        return it_done();
    int pre = xa_total();
    if (pre != 0) {
        it_diag("prepared xids on the primaries before the test: %d", pre);
        diag_xids("s0", d0);
        diag_xids("s1", d1);
    }
    check(setup_backend(d0, 0) && setup_backend(d1, 1),
          "create %s, %s, %s with %d accounts of %d on both primaries", DB_X,
          DB_B, DB_D, NACC, START_BAL);

    check(write_config(NULL), "write %s", px.cfg);
    bool up = it_proxy_start(&px, NULL);
    check(up, "myshard starts with xa_log in %s", px.dir);
    bool inst = up && read_instance(5, instance);
    check(inst, "the decision log's first line names the instance");
    if (inst) {
        snprintf(prefix, sizeof(prefix), "myshard:%s:", instance);
        it_diag("instance %s (xids %s<n>)", instance, prefix);
    } else {
        /* no instance: the xid checks below fail, the branches this
         * program prepares directly still get cleaned up */
        snprintf(prefix, sizeof(prefix), "myshard:unknown:");
    }

    test_concurrent_transfers();
    test_rollback();
    test_vanished_client();
    test_one_shard();
    test_best_effort();
    test_deny();
    test_crash_after_decision();
    test_shard_restart_after_decision();
    test_presumed_abort();

    int st = 0;
    if (it_proxy_running(&px)) {
        double t0 = it_now();
        bool gone = it_proxy_stop(&px, SIGTERM, 8, &st);
        check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "myshard exits 0 on SIGTERM (%.2f s)", it_now() - t0);
    } else {
        check(false, "myshard is running at the end");
    }
    bool clean = it_proxy_log_clean(&px);
    check(clean, "myshard's log has no sanitizer report");

    int c0 = xa_cleanup(d0), c1 = xa_cleanup(d1);
    if (c0 + c1 > 0)
        it_diag("rolled back %d xid(s) this program left prepared", c0 + c1);
    bool dropped = true;
    for (int i = 0; i < 3; i++)
        dropped = it_exec(d0, "DROP DATABASE IF EXISTS %s", dbs[i]) &&
                  it_exec(d1, "DROP DATABASE IF EXISTS %s", dbs[i]) && dropped;
    check(dropped, "drop the test schemas on both primaries");
    mysql_close(d0);
    mysql_close(d1);
    it_diag("itest_xa ran %.1f s", it_now() - t_start);

    int rc = it_done();
    if (rc == 0)
        unlink(xalog_path);
    it_proxy_cleanup(&px, rc);
    return rc;
}
