/*
 * Replicas and health, against real GTID replication, with @@server_id (read
 * directly from each server) and the servers' own data as the witnesses:
 *   - autocommit reads on the default shard go to its replica; writes,
 *     reads inside a transaction and locking reads go to its primary;
 *   - the routing hints primary / replica / shard=NAME are obeyed;
 *   - a session reads its own writes while the replica is delayed
 *     (CHANGE MASTER TO MASTER_DELAY);
 *   - a replica behind past backend.health.max_replica_lag gets no reads,
 *     and gets them back once it caught up;
 *   - killing a replica (SIGKILL) under 8 threads of reads loses no read,
 *     and the restarted replica serves reads again;
 *   - killing a primary makes writes to its shard fail fast with 9001 or
 *     9003 while its replica keeps serving reads and the other shard works;
 *     the restarted primary takes writes again without restarting myshard.
 * Every server this program stops is started again and the delay removed,
 * also when checks fail or the watchdog fires. Proxy-only.
 */
#include "itest.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TT         "itest_replicas_t"  /* in shop: unlisted, shard s0 */
#define TS1        "itest_replicas_s1" /* in appdb: default shard s1 */
#define S1_DB      "appdb"
#define S1_REAL_DB "app_real"
#define DELAY_S    20
#define READERS    8
#define WATCHDOG_S 240

/* Puts every server up again and removes the s0 replica's delay: run from
 * the normal path and from the watchdog (only fork/exec/wait there). */
static const char restore_sh[] =
    "[ -n \"$MARIADB_ENV\" ] && [ -n \"$MARIADB_DIR\" ] || exit 0\n"
    "for n in s0-primary s1-primary s0-replica s1-replica; do\n"
    "  \"$MARIADB_ENV\" up \"$MARIADB_DIR\" $n >&2 || st=1\n"
    "done\n"
    "sock=${S0_REPLICA_SOCKET:-$MARIADB_DIR/s0-replica.sock}\n"
    "q() { mariadb --no-defaults -uroot -S \"$sock\" --connect-timeout=5 "
    "\"$@\"; }\n"
    "d=$(q -e 'SHOW SLAVE STATUS\\G' | sed -n 's/^ *SQL_Delay: //p')\n"
    "if [ -n \"$d\" ] && [ \"$d\" != 0 ]; then\n"
    "  q -e 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE' >&2 "
    "|| st=1\n"
    "fi\n"
    "for r in s0-replica s1-replica; do\n"
    "  mariadb --no-defaults -uroot -S \"$MARIADB_DIR/$r.sock\" "
    "--connect-timeout=5 -e 'START SLAVE' >&2 || st=1\n"
    "done\n"
    "exit ${st:-0}\n";

static long long id_s0p = -1, id_s0r = -1, id_s1p = -1, id_s1r = -1;
static long long interval_ms = 1000, max_lag_ms = 5000;

/* ------------------------------------------------------------ helpers */

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Runs sh -c script (stdout to stderr so TAP stays clean); exit status. */
static int
run_sh(const char *script)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
restore_cluster(void)
{
    return run_sh(restore_sh);
}

static bool
have_env_script(void)
{
    return getenv("MARIADB_ENV") != NULL && getenv("MARIADB_DIR") != NULL;
}

/* $MARIADB_ENV cmd $MARIADB_DIR name; true on exit status 0. */
static bool
cluster(const char *cmd, const char *name)
{
    if (!have_env_script())
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        const char *env = getenv("MARIADB_ENV");
        execl(env, env, cmd, getenv("MARIADB_DIR"), name, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok)
        it_diag("mariadb_env.sh %s %s failed (status %d)", cmd, name, st);
    return ok;
}

static void
watchdog(int sig)
{
    static const char msg[] = "Bail out! watchdog timeout (cluster restored)\n";
    (void)sig;
    restore_cluster();
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

/* "500ms", "2s", "1m", "1h" -> ms; -1 when not a duration. */
static long long
parse_duration_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (strncmp(end, "ms", 2) == 0)
        return (long long)v;
    if (*end == 's')
        return (long long)(v * 1000);
    if (*end == 'm')
        return (long long)(v * 60000);
    if (*end == 'h')
        return (long long)(v * 3600000);
    return -1;
}

/* backend.health.interval and max_replica_lag from $MYSHARD_CONFIG. */
static void
read_health_config(void)
{
    const char *path = getenv("MYSHARD_CONFIG");
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *h = strstr(text, "health:");
    if (h == NULL)
        return;
    const char *p = strstr(h, "interval:");
    long long v;
    if (p != NULL && (v = parse_duration_ms(p + 9 + strspn(p + 9, " "))) > 0)
        interval_ms = v;
    p = strstr(h, "max_replica_lag:");
    if (p != NULL && (v = parse_duration_ms(p + 16 + strspn(p + 16, " "))) >= 0)
        max_lag_ms = v;
}

/* Connection to the s0 replica as root through its socket, or as the
 * backend user over TCP when that fails. */
static MYSQL *
replica_admin(void)
{
    const char *sock = getenv("S0_REPLICA_SOCKET");
    if (sock != NULL) {
        MYSQL *m = mysql_init(NULL);
        unsigned t = 10;
        mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
        mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
        mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
        if (mysql_real_connect(m, "localhost", "root", NULL, NULL, 0, sock,
                               CLIENT_MULTI_STATEMENTS) != NULL)
            return m;
        it_diag("root on %s: %s; using the backend user", sock, mysql_error(m));
        mysql_close(m);
    }
    return it_connect_backend("S0_REPLICA_PORT", NULL);
}

static bool
set_delay(int seconds)
{
    MYSQL *m = replica_admin();
    if (m == NULL)
        return false;
    bool ok = it_exec(m, "STOP SLAVE") &&
              it_exec(m, "CHANGE MASTER TO MASTER_DELAY = %d", seconds) &&
              it_exec(m, "START SLAVE");
    mysql_close(m);
    return ok;
}

/* Field name of SHOW SLAVE STATUS on m into out; false on error/no row. */
static bool
slave_field(MYSQL *m, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    if (m == NULL || mysql_query(m, "SHOW SLAVE STATUS") != 0)
        return false;
    MYSQL_RES *res = mysql_store_result(m);
    if (res == NULL)
        return false;
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    bool found = false;
    for (unsigned i = 0; row != NULL && i < nf; i++) {
        if (strcmp(fields[i].name, name) == 0) {
            snprintf(out, size, "%s", row[i] != NULL ? row[i] : "NULL");
            found = true;
            break;
        }
    }
    mysql_free_result(res);
    return found;
}

/* Fresh direct connection to a server, one value, closed again. */
static long long
direct_int(const char *port_env, const char *db, const char *sql)
{
    MYSQL *m = it_connect_backend(port_env, db);
    if (m == NULL)
        return -1;
    long long v = it_int(m, -1, "%s", sql);
    mysql_close(m);
    return v;
}

/* Waits until the replica runs both threads (up to timeout_s). */
static bool
wait_replicating(const char *replica_port_env, double timeout_s)
{
    double end = it_now() + timeout_s;
    char io[16], sql[16];
    do {
        MYSQL *m = it_connect_backend(replica_port_env, NULL);
        bool ok = m != NULL && slave_field(m, "Slave_IO_Running", io, 16) &&
                  slave_field(m, "Slave_SQL_Running", sql, 16) &&
                  strcmp(io, "Yes") == 0 && strcmp(sql, "Yes") == 0;
        if (m != NULL)
            mysql_close(m);
        if (ok)
            return true;
        sleep_ms(200);
    } while (it_now() < end);
    it_diag("%s: replication not running (IO %s, SQL %s)", replica_port_env, io,
            sql);
    return false;
}

/* Waits until the replica applied what its primary had written. */
static bool
wait_caught_up(const char *primary_port_env, const char *replica_port_env,
               int timeout_s)
{
    MYSQL *p = it_connect_backend(primary_port_env, NULL);
    char *pos =
        p != NULL ? it_value(p, NULL, "SELECT @@gtid_binlog_pos") : NULL;
    if (p != NULL)
        mysql_close(p);
    if (pos == NULL)
        return false;
    MYSQL *r = it_connect_backend(replica_port_env, NULL);
    long long rc =
        r != NULL
            ? it_int(r, -1, "SELECT MASTER_GTID_WAIT('%s', %d)", pos, timeout_s)
            : -1;
    if (r != NULL)
        mysql_close(r);
    if (rc != 0)
        it_diag("%s did not reach %s within %d s", replica_port_env, pos,
                timeout_s);
    free(pos);
    return rc == 0;
}

/* @@server_id that answers sql (default: SELECT @@server_id) on a new
 * proxy session into db; -1 on error. */
static long long
fresh_server_id(const char *db, const char *sql)
{
    MYSQL *m = it_connect_as(it_user(), it_password(), db,
                             CLIENT_MULTI_STATEMENTS, NULL);
    if (m == NULL)
        return -1;
    long long v = it_int(m, -1, "%s", sql != NULL ? sql : "SELECT @@server_id");
    mysql_close(m);
    return v;
}

/* Polls new sessions' SELECT @@server_id until it is want; seconds taken,
 * or -1 after timeout_s (last seen id in *last). */
static double
poll_reads_reach(long long want, double timeout_s, long long *last)
{
    double t0 = it_now();
    do {
        *last = fresh_server_id(it_db(), NULL);
        if (*last == want)
            return it_now() - t0;
        sleep_ms(100);
    } while (it_now() - t0 < timeout_s);
    return -1;
}

static const char *
who(long long id)
{
    if (id < 0)
        return "error";
    if (id == id_s0p)
        return "s0 primary";
    if (id == id_s0r)
        return "s0 replica";
    if (id == id_s1p)
        return "s1 primary";
    if (id == id_s1r)
        return "s1 replica";
    return "unknown server";
}

static bool
check_id(long long got, long long want, const char *what)
{
    bool ok = check(got == want, "%s: answered by the %s", what, who(want));
    if (!ok)
        it_diag("@@server_id %lld (%s), expected %lld", got, who(got), want);
    return ok;
}

/* Row count of id on a direct connection to the s0 primary or replica. */
static long long
direct_count(const char *port_env, int id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " TT " WHERE id = %d", id);
    return direct_int(port_env, it_db(), sql);
}

/* ------------------------------------------------------ 1. read/write */

static void
test_split(void)
{
    MYSQL *r = it_connect();
    if (!check(r != NULL, "reader session"))
        return;
    int on_replica = 0;
    for (int i = 0; i < 5; i++) {
        char *v = NULL;
        long long id = -1;
        if (mysql_query(r, "SELECT v, @@server_id FROM " TT " WHERE id = 1") ==
            0) {
            MYSQL_RES *res = mysql_store_result(r);
            MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
            if (row != NULL && row[0] != NULL && row[1] != NULL) {
                v = strdup(row[0]);
                id = atoll(row[1]);
            }
            mysql_free_result(res);
        }
        if (v != NULL && strcmp(v, "one") == 0 && id == id_s0r)
            on_replica++;
        else
            it_diag("read %d: v %s, @@server_id %lld (%s)", i,
                    v != NULL ? v : "(none)", id, who(id));
        free(v);
    }
    check_int(on_replica, 5,
              "5 autocommit SELECTs on an unlisted table: right row, from "
              "the s0 replica");
    check_id(it_int(r, -1, "SELECT @@server_id"), id_s0r,
             "SELECT @@server_id outside a transaction");

    /* a read-only transaction, and autocommit=0 */
    check(it_exec(r, "BEGIN"), "BEGIN (no write)");
    check_id(it_int(r, -1, "SELECT @@server_id"), id_s0p,
             "SELECT @@server_id inside BEGIN ... COMMIT");
    check_id(it_int(r, -1, "SELECT @@server_id FROM " TT " WHERE id = 1"),
             id_s0p, "SELECT from the table inside BEGIN ... COMMIT");
    check(it_exec(r, "COMMIT"), "COMMIT");
    it_exec(r, "SET autocommit = 0");
    check_id(it_int(r, -1, "SELECT @@server_id FROM " TT " WHERE id = 1"),
             id_s0p, "SELECT with autocommit=0 (an implicit transaction)");
    it_exec(r, "COMMIT");
    it_exec(r, "SET autocommit = 1");
    mysql_close(r);

    /* locking reads, on sessions that never wrote */
    check_id(fresh_server_id(it_db(), "SELECT @@server_id FROM " TT
                                      " WHERE id = 1 FOR UPDATE"),
             id_s0p, "SELECT ... FOR UPDATE (autocommit)");
    check_id(fresh_server_id(it_db(), "SELECT @@server_id FROM " TT
                                      " WHERE id = 1 LOCK IN SHARE MODE"),
             id_s0p, "SELECT ... LOCK IN SHARE MODE (autocommit)");

    /* writes */
    MYSQL *w = it_connect();
    if (!check(w != NULL, "writer session"))
        return;
    check(it_exec(w, "INSERT INTO " TT " VALUES (2, 'two')"),
          "autocommit INSERT");
    check_int(direct_count("S0_PRIMARY_PORT", 2), 1,
              "the inserted row is on the s0 primary (direct)");
    check(it_exec(w, "BEGIN") &&
              it_exec(w, "INSERT INTO " TT " VALUES (3, 'three')"),
          "BEGIN; INSERT");
    check_id(it_int(w, -1, "SELECT @@server_id"), id_s0p,
             "SELECT @@server_id after the INSERT in the same transaction");
    check(it_exec(w, "COMMIT"), "COMMIT of the INSERT");
    check_int(direct_count("S0_PRIMARY_PORT", 3), 1,
              "the committed row is on the s0 primary (direct)");
    mysql_close(w);
}

/* ------------------------------------------------------------ 2. hints */

static void
test_hints(void)
{
    check_id(fresh_server_id(it_db(), "/* myshard: primary */ "
                                      "SELECT @@server_id"),
             id_s0p, "/* myshard: primary */ SELECT @@server_id");
    check_id(fresh_server_id(it_db(), "/* myshard: replica */ "
                                      "SELECT @@server_id"),
             id_s0r, "/* myshard: replica */ SELECT @@server_id");
    long long id =
        fresh_server_id(it_db(), "/* myshard: shard=s1 */ SELECT @@server_id");
    check(id >= 0 && (id == id_s1p || id == id_s1r),
          "/* myshard: shard=s1 */ SELECT @@server_id: an s1 server");
    if (id < 0 || (id != id_s1p && id != id_s1r))
        it_diag("@@server_id %lld (%s)", id, who(id));
    check_id(fresh_server_id(it_db(), "/* myshard: shard=s1 */ /* myshard: "
                                      "primary */ SELECT @@server_id"),
             id_s1p, "shard=s1 and primary hints together");
    /* the hint does not outlive its statement */
    MYSQL *m = it_connect();
    if (m != NULL) {
        it_int(m, -1, "/* myshard: primary */ SELECT @@server_id");
        check_id(it_int(m, -1, "SELECT @@server_id"), id_s0r,
                 "the next statement without a hint is routed normally");
        mysql_close(m);
    }
}

/* ------------------------------------- 3 + 4. read your writes, lag */

static void
test_delay_and_lag(void)
{
    if (!check(set_delay(DELAY_S),
               "MASTER_DELAY=%d set on the s0 replica (direct)", DELAY_S))
        return;
    /* STOP SLAVE may have taken the replica out of rotation for a moment */
    long long last;
    double back = poll_reads_reach(id_s0r, 4 * interval_ms / 1000.0 + 3, &last);
    if (back < 0)
        it_diag("reads did not go to the delayed (not yet lagging) replica "
                "(last @@server_id %lld, %s)",
                last, who(last));

    MYSQL *w = it_connect();
    if (!check(w != NULL, "writer session")) {
        set_delay(0);
        return;
    }
    double t_write = it_now();
    check(it_exec(w, "INSERT INTO " TT " VALUES (100, 'mine')"),
          "INSERT while the replica is delayed");
    char *v = it_value(w, NULL, "SELECT v FROM " TT " WHERE id = 100");
    check_str(v, "mine", "the same session's next SELECT sees its row");
    free(v);
    check_int(direct_count("S0_REPLICA_PORT", 100), 0,
              "the delayed replica does not have the row (direct)");
    /* an unrelated write on the primary puts the replica behind as well */
    MYSQL *p = it_connect_backend("S0_PRIMARY_PORT", it_db());
    check(p != NULL && it_exec(p, "INSERT INTO " TT " VALUES (101, 'direct')"),
          "a write on the s0 primary (direct)");

    /* reads of new sessions leave the replica once it is too far behind;
     * the writer keeps seeing its row all along, also past the moment the
     * replica's lag exceeds max_replica_lag */
    double limit = max_lag_ms / 1000.0 + 4 * interval_ms / 1000.0 + 2;
    double lagging_from = max_lag_ms / 1000.0 + 1;
    double left_at = -1;
    int own_reads = 0, own_missed = 0;
    long long id = -1;
    for (;;) {
        double t = it_now() - t_write;
        if (t >= limit || (left_at >= 0 && t >= lagging_from))
            break;
        v = it_value(w, NULL, "SELECT v FROM " TT " WHERE id = 100");
        own_reads++;
        if (v == NULL || strcmp(v, "mine") != 0)
            own_missed++;
        free(v);
        if (left_at < 0) {
            id = fresh_server_id(it_db(), NULL);
            if (id == id_s0p)
                left_at = it_now() - t_write;
        }
        sleep_ms(200);
    }
    check(own_missed == 0,
          "the writing session read its own row in all %d reads while the "
          "replica lagged",
          own_reads);
    if (own_missed != 0)
        it_diag("%d of %d reads missed the row", own_missed, own_reads);
    check(back >= 0 && left_at >= 0,
          "new sessions' reads, on the delayed replica before the write, "
          "leave it once it lags past max_replica_lag (%lld ms), within "
          "%.1f s of the write",
          max_lag_ms, limit);
    if (left_at < 0)
        it_diag("new sessions still answered by %lld (%s)", id, who(id));
    else
        it_diag("reads left the replica %.1f s after the write", left_at);

    MYSQL *r = it_connect_backend("S0_REPLICA_PORT", NULL);
    char sbm[32] = "";
    slave_field(r, "Seconds_Behind_Master", sbm, sizeof(sbm));
    if (r != NULL)
        mysql_close(r);
    check(it_now() - t_write < DELAY_S && atoll(sbm) * 1000 > max_lag_ms,
          "the replica is behind past max_replica_lag (direct: "
          "Seconds_Behind_Master %s)",
          sbm);
    int on_primary = 0;
    for (int i = 0; i < 5; i++) {
        id = fresh_server_id(it_db(), NULL);
        on_primary += id == id_s0p;
    }
    check_int(on_primary, 5,
              "5 more new sessions read from the s0 primary meanwhile");
    v = it_value(w, NULL, "SELECT v FROM " TT " WHERE id = 100");
    check_str(v, "mine", "the writer still reads its row");
    free(v);
    mysql_close(w);

    /* remove the delay: the replica catches up and gets reads again */
    check(set_delay(0), "MASTER_DELAY=0 (direct)");
    bool caught = wait_caught_up("S0_PRIMARY_PORT", "S0_REPLICA_PORT", 8);
    check(caught, "the replica caught up with the primary (direct)");
    check_int(direct_count("S0_REPLICA_PORT", 100), 1,
              "the replica has the row now (direct)");
    double limit2 = 4 * interval_ms / 1000.0 + 3;
    back = poll_reads_reach(id_s0r, limit2, &last);
    check(back >= 0, "reads return to the caught-up replica within %.1f s",
          limit2);
    if (back < 0)
        it_diag("last @@server_id %lld (%s)", last, who(last));
    if (p != NULL)
        mysql_close(p);
}

/* ------------------------------------------------- 5. replica killed */

struct reader {
    pthread_t thread;
    MYSQL *m;
    long reads, reads_after_kill, errors, wrong, on_replica, on_primary;
    long on_replica_before_kill;
    char first_error[256];
};

static atomic_bool readers_stop;
static atomic_bool replica_killed;

static void *
reader_main(void *arg)
{
    struct reader *rd = arg;
    while (!atomic_load(&readers_stop)) {
        if (rd->m == NULL) {
            rd->m = it_connect();
            if (rd->m == NULL) {
                if (rd->errors++ == 0)
                    snprintf(rd->first_error, sizeof(rd->first_error),
                             "reconnect failed");
                sleep_ms(50);
                continue;
            }
        }
        bool killed = atomic_load(&replica_killed);
        if (mysql_query(rd->m, "SELECT v, @@server_id FROM " TT
                               " WHERE id = 1") != 0) {
            if (rd->errors++ == 0)
                snprintf(rd->first_error, sizeof(rd->first_error), "%u %s",
                         mysql_errno(rd->m), mysql_error(rd->m));
            mysql_close(rd->m);
            rd->m = NULL;
            continue;
        }
        MYSQL_RES *res = mysql_store_result(rd->m);
        MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
        if (row == NULL || row[0] == NULL || strcmp(row[0], "one") != 0) {
            rd->wrong++;
        } else {
            long long id = row[1] != NULL ? atoll(row[1]) : -1;
            rd->on_replica += id == id_s0r;
            rd->on_replica_before_kill += !killed && id == id_s0r;
            rd->on_primary += id == id_s0p;
        }
        mysql_free_result(res);
        rd->reads++;
        if (killed)
            rd->reads_after_kill++;
    }
    return NULL;
}

static void
test_replica_killed(void)
{
    if (!have_env_script()) {
        it_skip("MARIADB_ENV/MARIADB_DIR unset", "killing the s0 replica");
        return;
    }
    struct reader rd[READERS];
    memset(rd, 0, sizeof(rd));
    int started = 0;
    atomic_store(&readers_stop, false);
    atomic_store(&replica_killed, false);
    for (int i = 0; i < READERS; i++) {
        rd[i].m = it_connect();
        if (rd[i].m == NULL ||
            pthread_create(&rd[i].thread, NULL, reader_main, &rd[i]) != 0) {
            if (rd[i].m != NULL)
                mysql_close(rd[i].m);
            break;
        }
        started++;
    }
    if (!check_int(started, READERS, "%d reader threads", READERS)) {
        atomic_store(&readers_stop, true);
        for (int i = 0; i < started; i++)
            pthread_join(rd[i].thread, NULL);
        return;
    }
    sleep_ms(1000);
    bool killed = cluster("kill", "s0-replica");
    atomic_store(&replica_killed, true);
    check(killed, "s0 replica killed (SIGKILL) under read load");
    sleep_ms(4000);
    atomic_store(&readers_stop, true);
    long reads = 0, after = 0, errors = 0, wrong = 0, on_r = 0, on_p = 0;
    long on_r_before = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(rd[i].thread, NULL);
        if (rd[i].m != NULL)
            mysql_close(rd[i].m);
        reads += rd[i].reads;
        after += rd[i].reads_after_kill;
        errors += rd[i].errors;
        wrong += rd[i].wrong;
        on_r += rd[i].on_replica;
        on_p += rd[i].on_primary;
        on_r_before += rd[i].on_replica_before_kill;
        if (rd[i].errors > 0)
            it_diag("reader %d: %ld errors, first: %s", i, rd[i].errors,
                    rd[i].first_error);
    }
    it_diag("%ld reads (%ld after the kill): %ld by the replica, %ld by the "
            "primary",
            reads, after, on_r, on_p);
    check(on_r_before > 0,
          "the replica served reads when it was killed "
          "(%ld before the kill)",
          on_r_before);
    check_int(errors, 0, "no read failed while the replica was killed");
    check_int(wrong, 0, "every read returned the right row");
    check(after >= READERS * 10,
          "reads went on after the kill (%ld, at least %d)", after,
          READERS * 10);

    check(cluster("up", "s0-replica"), "s0 replica restarted");
    check(wait_replicating("S0_REPLICA_PORT", 15) &&
              wait_caught_up("S0_PRIMARY_PORT", "S0_REPLICA_PORT", 8),
          "s0 replica replicates and caught up (direct)");
    double limit = 4 * interval_ms / 1000.0 + 3;
    long long last;
    double back = poll_reads_reach(id_s0r, limit, &last);
    check(back >= 0, "reads return to the restarted replica within %.1f s",
          limit);
    if (back < 0)
        it_diag("last @@server_id %lld (%s)", last, who(last));
}

/* ------------------------------------------------- 6. primary killed */

/* A proxy session into db; NULL with the error in err/msg on failure. */
static MYSQL *
proxy_connect(const char *db, unsigned *err, char *msg, size_t size)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 10;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    if (mysql_real_connect(m, it_host(), it_user(), it_password(), db,
                           it_port(), NULL, CLIENT_MULTI_STATEMENTS) != NULL)
        return m;
    *err = mysql_errno(m);
    snprintf(msg, size, "(connect) %s", mysql_error(m));
    mysql_close(m);
    return NULL;
}

/* REPLACE of row id on s1 through m (or a new appdb session when m is
 * NULL): errno (0 on success) with its message, and the time it took. */
static unsigned
s1_write(MYSQL *m, int id, char *msg, size_t size, double *took)
{
    double t0 = it_now();
    unsigned err = 0;
    msg[0] = '\0';
    MYSQL *own = NULL;
    if (m == NULL)
        m = own = proxy_connect(S1_DB, &err, msg, size);
    if (m != NULL) {
        char sql[128];
        snprintf(sql, sizeof(sql), "REPLACE INTO " TS1 " VALUES (%d, 'w%d')",
                 id, id);
        if (mysql_query(m, sql) != 0) {
            err = mysql_errno(m);
            snprintf(msg, size, "%s", mysql_error(m));
        }
    }
    if (own != NULL)
        mysql_close(own);
    *took = it_now() - t0;
    return err;
}

static bool
check_fast_failure(unsigned err, const char *msg, double took, const char *what)
{
    bool ok = check((err == 9001 || err == 9003) &&
                        strncmp(msg, "myshard:", 8) == 0 && took <= 5.0,
                    "%s fails within 5 s with 9001/9003 and a myshard: "
                    "message",
                    what);
    if (!ok)
        it_diag("errno %u after %.2f s: %s", err, took, msg);
    return ok;
}

/* v and @@server_id of row 1 of the s1 table on a new appdb session. */
static bool
s1_read(long long *id)
{
    *id = -1;
    MYSQL *m = it_connect_as(it_user(), it_password(), S1_DB,
                             CLIENT_MULTI_STATEMENTS, NULL);
    if (m == NULL)
        return false;
    bool ok = false;
    if (mysql_query(m, "SELECT v, @@server_id FROM " TS1 " WHERE id = 1") ==
        0) {
        MYSQL_RES *res = mysql_store_result(m);
        MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
        if (row != NULL && row[0] != NULL && row[1] != NULL) {
            ok = strcmp(row[0], "s1 row") == 0;
            *id = atoll(row[1]);
        }
        mysql_free_result(res);
    } else {
        it_diag("s1 read: %u %s", mysql_errno(m), mysql_error(m));
    }
    mysql_close(m);
    return ok;
}

static void
test_primary_killed(void)
{
    if (!have_env_script()) {
        it_skip("MARIADB_ENV/MARIADB_DIR unset", "killing the s1 primary");
        return;
    }
    char msg[512];
    double took;
    unsigned err;
    MYSQL *old = proxy_connect(S1_DB, &err, msg, sizeof(msg));
    if (!check(old != NULL, "appdb session (shard s1)")) {
        it_diag("%u %s", err, msg);
        return;
    }
    err = s1_write(old, 2, msg, sizeof(msg), &took);
    check(err == 0, "write to s1 before the kill");
    if (err != 0)
        it_diag("%u %s", err, msg);

    bool killed = cluster("kill", "s1-primary");
    check(killed, "s1 primary killed (SIGKILL)");
    if (killed) {
        err = s1_write(old, 3, msg, sizeof(msg), &took);
        check_fast_failure(err, msg, took,
                           "a write on a session opened before the kill");
        err = s1_write(NULL, 4, msg, sizeof(msg), &took);
        check_fast_failure(err, msg, took, "a write on a new session");
        err = s1_write(NULL, 5, msg, sizeof(msg), &took);
        check_fast_failure(err, msg, took, "another write on a new session");

        int good = 0;
        long long id = -1;
        for (int i = 0; i < 5; i++) {
            if (s1_read(&id) && id == id_s1r)
                good++;
            else
                it_diag("read %d: @@server_id %lld (%s)", i, id, who(id));
            sleep_ms(100);
        }
        check_int(good, 5,
                  "5 reads of s1 return its row, served by the s1 replica");

        MYSQL *s0 = it_connect();
        check(s0 != NULL &&
                  it_exec(s0, "INSERT INTO " TT " VALUES (200, 's0 ok')"),
              "a write on shop (s0) works with s1's primary down");
        char *v = s0 != NULL ? it_value(s0, NULL,
                                        "SELECT v FROM " TT " WHERE id = 200")
                             : NULL;
        check_str(v, "s0 ok", "and so does a read on shop");
        free(v);
        if (s0 != NULL)
            mysql_close(s0);
    }

    bool up = cluster("up", "s1-primary");
    double t_up = it_now();
    check(up, "s1 primary restarted");
    check(wait_replicating("S1_REPLICA_PORT", 15),
          "s1 replica replicates from the restarted primary (direct)");
    double ok_after = -1;
    int id = 10;
    do {
        err = s1_write(NULL, id, msg, sizeof(msg), &took);
        if (err == 0) {
            ok_after = it_now() - t_up;
            break;
        }
        id++;
        sleep_ms(250);
    } while (it_now() - t_up < 10);
    check(ok_after >= 0,
          "writes to s1 work again within 10 s of the restart, without "
          "restarting myshard");
    if (ok_after < 0)
        it_diag("last error %u: %s", err, msg);
    else
        it_diag("first write after %.1f s", ok_after);
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " TS1 " WHERE id = %d",
             id);
    check_int(direct_int("S1_PRIMARY_PORT", S1_REAL_DB, sql),
              ok_after >= 0 ? 1 : 0,
              "the s1 primary has the written row (direct)");
    err = s1_write(old, 30, msg, sizeof(msg), &took);
    check(err == 0, "the session opened before the kill writes again");
    if (err != 0)
        it_diag("%u %s", err, msg);
    mysql_close(old);
}

/* ------------------------------------------------------------- setup */

static bool
setup(void)
{
    MYSQL *p0 = it_connect_backend("S0_PRIMARY_PORT", it_db());
    MYSQL *p1 = it_connect_backend("S1_PRIMARY_PORT", S1_REAL_DB);
    bool ok = p0 != NULL && p1 != NULL &&
              it_exec(p0, "DROP TABLE IF EXISTS " TT) &&
              it_exec(p0, "CREATE TABLE " TT " (id INT PRIMARY KEY, "
                          "v VARCHAR(40)) ENGINE=InnoDB") &&
              it_exec(p0, "INSERT INTO " TT " VALUES (1, 'one')") &&
              it_exec(p1, "DROP TABLE IF EXISTS " TS1) &&
              it_exec(p1, "CREATE TABLE " TS1 " (id INT PRIMARY KEY, "
                          "v VARCHAR(40)) ENGINE=InnoDB") &&
              it_exec(p1, "INSERT INTO " TS1 " VALUES (1, 's1 row')");
    if (p0 != NULL)
        mysql_close(p0);
    if (p1 != NULL)
        mysql_close(p1);
    return ok && wait_caught_up("S0_PRIMARY_PORT", "S0_REPLICA_PORT", 8) &&
           wait_caught_up("S1_PRIMARY_PORT", "S1_REPLICA_PORT", 8);
}

static void
teardown(void)
{
    MYSQL *p0 = it_connect_backend("S0_PRIMARY_PORT", it_db());
    if (p0 != NULL) {
        it_exec(p0, "DROP TABLE IF EXISTS " TT);
        mysql_close(p0);
    }
    MYSQL *p1 = it_connect_backend("S1_PRIMARY_PORT", S1_REAL_DB);
    if (p1 != NULL) {
        it_exec(p1, "DROP TABLE IF EXISTS " TS1);
        mysql_close(p1);
    }
}

int
main(void)
{
    /* nothing here may wait long: a hung read is a failure, not a hang */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "10", 0);
    it_init("itest_replicas");
    if (!it_expect_proxy() || it_backend_port("S0_REPLICA_PORT") == 0) {
        it_skip("needs myshard in front of the replicated cluster",
                "replicas and health");
        return it_done();
    }
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);
    read_health_config();
    it_diag("health: interval %lld ms, max_replica_lag %lld ms", interval_ms,
            max_lag_ms);

    id_s0p = direct_int("S0_PRIMARY_PORT", NULL, "SELECT @@server_id");
    id_s0r = direct_int("S0_REPLICA_PORT", NULL, "SELECT @@server_id");
    id_s1p = direct_int("S1_PRIMARY_PORT", NULL, "SELECT @@server_id");
    id_s1r = direct_int("S1_REPLICA_PORT", NULL, "SELECT @@server_id");
    it_diag("@@server_id: s0 primary %lld, s0 replica %lld, s1 primary %lld, "
            "s1 replica %lld",
            id_s0p, id_s0r, id_s1p, id_s1r);
    if (!check(id_s0p > 0 && id_s0r > 0 && id_s1p > 0 && id_s1r > 0 &&
                   id_s0p != id_s0r && id_s1p != id_s1r && id_s0p != id_s1p,
               "four servers with distinct @@server_id (direct)") ||
        !check(setup(), "tables created on the primaries and replicated")) {
        teardown();
        return it_done();
    }

    /* the health monitor may not have seen the replica yet */
    long long last;
    double warm = poll_reads_reach(id_s0r, 4 * interval_ms / 1000.0 + 3, &last);
    if (warm < 0)
        it_diag("new sessions' reads never reached the s0 replica (last "
                "@@server_id %lld, %s)",
                last, who(last));
    test_split();
    test_hints();
    test_delay_and_lag();
    test_replica_killed();
    test_primary_killed();

    check_int(restore_cluster(), 0, "every server up, replicas started");
    char delay[16] = "";
    MYSQL *r = it_connect_backend("S0_REPLICA_PORT", NULL);
    slave_field(r, "SQL_Delay", delay, sizeof(delay));
    if (r != NULL)
        mysql_close(r);
    check_str(delay, "0", "the s0 replica has no MASTER_DELAY (direct)");
    check(wait_replicating("S0_REPLICA_PORT", 15) &&
              wait_replicating("S1_REPLICA_PORT", 15) &&
              wait_caught_up("S0_PRIMARY_PORT", "S0_REPLICA_PORT", 8) &&
              wait_caught_up("S1_PRIMARY_PORT", "S1_REPLICA_PORT", 8),
          "both replicas replicate and caught up (direct)");
    teardown();
    return it_done();
}
