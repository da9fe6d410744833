/*
 * health.c - backend health: the monitor thread, the circuit breaker and
 * the picking of a concrete server for a plan target.
 *
 * Everything a worker reads lives in struct server as atomics; nothing here
 * takes a lock on the workers' path. The monitor is the only writer of
 * state, lag_ms, read_only, repl_running, checked_ms and the check counters.
 * The circuit breaker's fields (failures, circuit_until_ms, probing) are
 * written by workers through health_report/health_admit, and by the monitor
 * only to close a circuit whose open_for has elapsed when its check
 * succeeds (replicas get no traffic while their circuit is open, so without
 * that nothing would ever probe them).
 *
 * The circuit: circuit_until_ms is 0 while closed. Opening stores the
 * instant open_for ends. Once that instant has passed the circuit is
 * half-open; the caller of health_admit that wins a compare-and-swap moving
 * circuit_until_ms forward by another open_for carries the one probe, so the
 * others keep failing fast, and a probe that never reports expires by itself.
 *
 * The monitor checks servers one after another with blocking
 * libmysqlclient calls bounded by their timeouts (whole seconds, at least 1).
 * A refused connection fails at once; a black-holed one costs its connect
 * timeout, delaying the servers after it in that round by as much. With the
 * default 1 s interval and 1 s timeouts that keeps every server's verdict
 * within a few seconds of the truth, which is what reads and failover need.
 */
#include "backend/health.h"

#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/gtidpos.h"
#include "backend/mysqltls.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg_types.h"

/* proto/mysql_defs.h's ER_MYSHARD_NO_BACKEND and ER_MYSHARD_CIRCUIT_OPEN:
 * that header clashes with <mysql.h>'s own definitions of the protocol
 * flags, so the two codes are repeated here (test_health checks they agree).
 */
enum { HEALTH_ER_NO_BACKEND = 9001, HEALTH_ER_CIRCUIT_OPEN = 9003 };

/* ---- states ------------------------------------------------------------ */

const char *
health_state_name(enum server_state st)
{
    switch (st) {
    case SRV_ONLINE:
        return "online";
    case SRV_LAGGING:
        return "lagging";
    case SRV_DOWN:
        return "down";
    case SRV_CIRCUIT_OPEN:
        return "circuit_open";
    case SRV_OFFLINE:
        return "offline";
    case SRV_DRAINING:
        return "draining";
    }
    return "unknown";
}

enum server_state
health_state(const struct server *s, int64_t now_ms)
{
    int admin = atomic_load(&s->admin);

    UNUSED(now_ms);
    if (admin == SRV_OFFLINE || admin == SRV_DRAINING)
        return (enum server_state)admin;
    if (atomic_load(&s->circuit_until_ms) != 0)
        return SRV_CIRCUIT_OPEN;
    return (enum server_state)atomic_load(&s->state);
}

bool
health_set_admin(struct server *s, enum server_state st)
{
    int old;

    if (st != SRV_ONLINE && st != SRV_OFFLINE && st != SRV_DRAINING)
        return false;
    old = atomic_exchange(&s->admin, (int)st);
    if (old != (int)st)
        log_info("backend admin state changed backend=%s %s->%s", s->addr,
                 health_state_name((enum server_state)old),
                 health_state_name(st));
    return true;
}

/* ---- circuit breaker ---------------------------------------------------- */

/* Opens (or re-opens) the circuit until now + open_for. */
static void
circuit_open(struct server *s, const struct cfg_health *h, int64_t now_ms,
             const char *why)
{
    int64_t open_for = h->circuit_open_for_ms > 0 ? h->circuit_open_for_ms : 1;

    atomic_store(&s->circuit_open_for, (long long)open_for);
    atomic_store(&s->probing, false);
    atomic_store(&s->circuit_until_ms, (long long)MAX(now_ms + open_for, 1));
    atomic_fetch_add(&s->circuit_opens, 1);
    log_warn("circuit opened backend=%s reason=%s failures=%d open_for_ms=%lld",
             s->addr, why, atomic_load(&s->failures), (long long)open_for);
}

void
health_report_ok(struct server *s)
{
    if (atomic_load(&s->circuit_until_ms) != 0)
        health_report(s, true, NULL, clock_ms());
    else if (atomic_load_explicit(&s->failures, memory_order_relaxed) != 0)
        atomic_store(&s->failures, 0);
}

void
health_report(struct server *s, bool ok, const struct cfg_health *h,
              int64_t now_ms)
{
    long long until = atomic_load(&s->circuit_until_ms);

    if (ok) {
        /* every statement reports: write the shared counter only when
         * it changes, so that workers do not pass its line around */
        if (atomic_load_explicit(&s->failures, memory_order_relaxed) != 0)
            atomic_store(&s->failures, 0);
        /* Half-open: the probe (or any success once open_for elapsed)
         * closes it. A success inside the open window leaves it open. */
        if (until != 0 && (atomic_load(&s->probing) || now_ms >= until) &&
            atomic_compare_exchange_strong(&s->circuit_until_ms, &until, 0)) {
            atomic_store(&s->probing, false);
            log_info("circuit closed backend=%s", s->addr);
        }
        return;
    }
    int f = atomic_fetch_add(&s->failures, 1) + 1;
    if (until != 0) {
        /* Already open: only a failed probe changes anything. */
        if (atomic_exchange(&s->probing, false))
            circuit_open(s, h, now_ms, "probe failed");
        return;
    }
    if (h->circuit_failures > 0 && f >= h->circuit_failures) {
        long long zero = 0;
        int64_t open_for =
            h->circuit_open_for_ms > 0 ? h->circuit_open_for_ms : 1;
        /* One failing worker opens it; the others see it open. */
        atomic_store(&s->circuit_open_for, (long long)open_for);
        if (atomic_compare_exchange_strong(&s->circuit_until_ms, &zero,
                                           MAX(now_ms + open_for, 1))) {
            atomic_store(&s->probing, false);
            atomic_fetch_add(&s->circuit_opens, 1);
            log_warn("circuit opened backend=%s reason=failures failures=%d "
                     "open_for_ms=%lld",
                     s->addr, f, (long long)open_for);
        }
    }
}

enum health_gate
health_admit(struct server *s, int64_t now_ms)
{
    long long until = atomic_load(&s->circuit_until_ms);
    long long lease;

    if (until == 0)
        return GATE_OPEN;
    if (now_ms < until)
        return GATE_CLOSED;
    lease = atomic_load(&s->circuit_open_for);
    if (lease <= 0)
        lease = 1;
    if (atomic_compare_exchange_strong(&s->circuit_until_ms, &until,
                                       now_ms + lease)) {
        atomic_store(&s->probing, true);
        log_info("circuit half-open backend=%s probing", s->addr);
        return GATE_PROBE;
    }
    /* Lost the race: someone else probes, or the circuit just closed. */
    return until == 0 ? GATE_OPEN : GATE_CLOSED;
}

int
health_error_for(const struct server *s)
{
    if (s != NULL && atomic_load(&s->circuit_until_ms) != 0)
        return HEALTH_ER_CIRCUIT_OPEN;
    return HEALTH_ER_NO_BACKEND;
}

/* ---- picking ------------------------------------------------------------ */

/* Spreads consecutive seeds over the whole range (murmur3's finalizer). */
static uint32_t
seed_mix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static bool
replica_usable(const struct server *s, int64_t max_lag_ms)
{
    long long lag;

    if (s->weight <= 0 || atomic_load(&s->admin) != SRV_ONLINE ||
        atomic_load(&s->state) != SRV_ONLINE ||
        atomic_load(&s->circuit_until_ms) != 0)
        return false;
    lag = atomic_load(&s->lag_ms);
    return lag >= 0 && lag <= max_lag_ms;
}

static bool
primary_admitted(const struct server *s, int64_t now_ms)
{
    long long until = atomic_load(&s->circuit_until_ms);

    if (atomic_load(&s->admin) != SRV_ONLINE ||
        atomic_load(&s->state) == SRV_DOWN)
        return false;
    return until == 0 || now_ms >= until;
}

static bool
zone_eq(const struct server *s, const char *zone)
{
    return zone != NULL && s->zone != NULL && strcmp(s->zone, zone) == 0;
}

int
health_pick(const struct server_set *set, const struct cfg *cfg, int shard,
            bool read, const char *proxy_zone, uint32_t seed, int exclude,
            int64_t now_ms)
{
    int p, first, end;
    int64_t max_lag = cfg->backend.health.max_replica_lag_ms;
    uint64_t wzone = 0, wall = 0, r;
    bool in_zone;

    if (shard < 0 || shard >= set->nshards)
        return -1;
    p = set->shard_primary[shard];
    if (read) {
        /* A shard's replicas follow its primary in the set. */
        first = p + 1;
        for (end = first;
             end < set->n && set->v[end].shard == shard && !set->v[end].primary;
             end++)
            ;
        for (int i = first; i < end; i++) {
            const struct server *s = &set->v[i];
            if (i == exclude || !replica_usable(s, max_lag))
                continue;
            wall += (uint64_t)s->weight;
            if (zone_eq(s, proxy_zone))
                wzone += (uint64_t)s->weight;
        }
        if (wall > 0) {
            in_zone = wzone > 0;
            r = seed_mix(seed) % (in_zone ? wzone : wall);
            for (int i = first; i < end; i++) {
                const struct server *s = &set->v[i];
                if (i == exclude || !replica_usable(s, max_lag) ||
                    (in_zone && !zone_eq(s, proxy_zone)))
                    continue;
                if (r < (uint64_t)s->weight)
                    return i;
                r -= (uint64_t)s->weight;
            }
            /* The state moved between the passes; fall through. */
        }
    }
    if (p != exclude && primary_admitted(&set->v[p], now_ms))
        return p;
    return -1;
}

/* ---- snapshot ----------------------------------------------------------- */

void
health_snapshot(const struct server_set *set, struct health_row *rows, int n)
{
    int64_t now = clock_ms();

    for (int i = 0; i < set->n && i < n; i++) {
        const struct server *s = &set->v[i];
        struct health_row *r = &rows[i];
        long long checked = atomic_load(&s->checked_ms);

        r->addr = s->addr;
        r->shard = s->shard;
        r->role = s->primary ? "primary" : "replica";
        r->state = health_state_name(health_state(s, now));
        r->zone = s->zone != NULL ? s->zone : "";
        r->weight = s->weight;
        r->lag_ms = atomic_load(&s->lag_ms);
        r->read_only = atomic_load(&s->read_only);
        r->repl_running = atomic_load(&s->repl_running);
        r->conns = atomic_load(&s->conns);
        r->queries = atomic_load(&s->queries);
        r->errors = atomic_load(&s->errors);
        r->failures = atomic_load(&s->failures);
        r->avg_latency_us = atomic_load(&s->check_avg_us);
        r->checked_ago_ms = checked == 0 ? -1 : now - checked;
        gtidpos_format(set, s, false, r->gtid_pos, sizeof(r->gtid_pos));
        r->gtid_acked[0] = '\0';
        r->ngpos = gtidpos_read(set, s, false, r->gpos);
        r->ngacked = 0;
        if (s->primary) {
            gtidpos_format(set, s, true, r->gtid_acked, sizeof(r->gtid_acked));
            r->ngacked = gtidpos_read(set, s, true, r->gacked);
        }
        r->gtid_waits = atomic_load(&s->gtid_waits);
        r->gtid_timeouts = atomic_load(&s->gtid_timeouts);
    }
}

/* ---- monitor thread ----------------------------------------------------- */

/* What the monitor takes from a config generation (copies). */
struct health_settings {
    char *user;
    char *password;
    struct mysqltls tls;
    int64_t interval_ms;
    int64_t max_lag_ms;
    unsigned timeout_s;
};

struct health {
    struct server_set *set;
    struct health_settings st;    /* the monitor thread's own */
    struct health_settings *next; /* guarded by mu: a reload's, taken at the
                                     start of the next round */
    MYSQL **conns;                /* one per server; NULL when not connected */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    atomic_bool stop;
};

/* What one check found. */
struct check {
    enum server_state state;
    int64_t lag_ms;
    bool read_only;
    int sql_mode; /* SRV_SQLMODE_*, 0 when not read */
    bool repl_running;
    char why[160];
};

static void
conn_close(struct health *h, int i)
{
    if (h->conns[i] != NULL) {
        mysql_close(h->conns[i]);
        h->conns[i] = NULL;
    }
}

static bool
conn_open(struct health *h, int i, struct check *c)
{
    const struct server *s = &h->set->v[i];
    MYSQL *m = mysql_init(NULL);
    unsigned t = h->st.timeout_s;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    my_bool no = 0;

    if (m == NULL) {
        snprintf(c->why, sizeof(c->why), "mysql_init failed");
        return false;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(m, MYSQL_OPT_RECONNECT, &no);
    mysqltls_apply(m, &h->st.tls);
    if (mysql_real_connect(m, s->host, h->st.user, h->st.password, NULL,
                           s->port, NULL, 0) == NULL) {
        snprintf(c->why, sizeof(c->why), "connect: %s", mysql_error(m));
        mysql_close(m);
        return false;
    }
    h->conns[i] = m;
    return true;
}

/* Connects if needed and pings; a broken connection (server restarted) is
 * replaced once before the server counts as down. */
static bool
conn_ping(struct health *h, int i, struct check *c)
{
    if (h->conns[i] != NULL) {
        if (mysql_ping(h->conns[i]) == 0)
            return true;
        conn_close(h, i);
    }
    if (!conn_open(h, i, c))
        return false;
    if (mysql_ping(h->conns[i]) != 0) {
        snprintf(c->why, sizeof(c->why), "ping: %s", mysql_error(h->conns[i]));
        conn_close(h, i);
        return false;
    }
    return true;
}

/* A client-side error (CR_*, 2000-2999) means the connection is gone. */
static bool
is_client_error(MYSQL *m)
{
    unsigned e = mysql_errno(m);
    return e >= CR_MIN_ERROR && e <= CR_MAX_ERROR;
}

static int
field_index(MYSQL_RES *res, const char *a, const char *b)
{
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);

    for (unsigned i = 0; i < n; i++)
        if (strcasecmp(f[i].name, a) == 0 || strcasecmp(f[i].name, b) == 0)
            return (int)i;
    return -1;
}

static bool
yes(const char *v)
{
    return v != NULL && strcasecmp(v, "Yes") == 0;
}

/* Reads @@read_only and the lexing part of @@global.sql_mode (the
 * server expands combinations such as ANSI into their modes). Returns
 * false when the connection broke (the server counts as down). */
static bool
check_read_only(MYSQL *m, struct check *c)
{
    MYSQL_RES *res;
    MYSQL_ROW row;

    if (mysql_query(m, "SELECT @@read_only, "
                       "FIND_IN_SET('NO_BACKSLASH_ESCAPES', "
                       "@@global.sql_mode) > 0, "
                       "FIND_IN_SET('ANSI_QUOTES', @@global.sql_mode) > 0, "
                       "FIND_IN_SET('PIPES_AS_CONCAT', @@global.sql_mode) > 0, "
                       "FIND_IN_SET('ORACLE', @@global.sql_mode) + "
                       "FIND_IN_SET('MSSQL', @@global.sql_mode) > 0") != 0 ||
        (res = mysql_store_result(m)) == NULL) {
        snprintf(c->why, sizeof(c->why), "read_only: %s", mysql_error(m));
        return !is_client_error(m);
    }
    row = mysql_fetch_row(res);
    c->read_only = row != NULL && row[0] != NULL && atoi(row[0]) != 0;
    if (row != NULL && mysql_num_fields(res) == 5) {
        static const int bit[5] = {
            0, SRV_SQLMODE_NO_BACKSLASH_ESCAPES, SRV_SQLMODE_ANSI_QUOTES,
            SRV_SQLMODE_PIPES_AS_CONCAT, SRV_SQLMODE_UNLEXABLE};
        c->sql_mode = SRV_SQLMODE_KNOWN;
        for (int k = 1; k < 5; k++)
            if (row[k] != NULL && atoi(row[k]) != 0)
                c->sql_mode |= bit[k];
    }
    mysql_free_result(res);
    return true;
}

/* Reads the replica's lag and threads; returns false when the connection
 * broke. Replication not configured, stopped or unreadable leaves
 * repl_running false and lag unknown. */
static bool
check_replica(struct health *h, const struct server *s, MYSQL *m,
              struct check *c)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int ilag, iio, isql, rows = 0;
    bool running = true, orphaned = true;
    int64_t lag = 0, orphan_lag = -1;
    const struct server *p = &h->set->v[h->set->shard_primary[s->shard]];

    if (mysql_query(m, "SHOW SLAVE STATUS") != 0) {
        if (is_client_error(m))
            return false;
        /* MySQL 8.4 knows only the new name. */
        if (mysql_query(m, "SHOW REPLICA STATUS") != 0) {
            snprintf(c->why, sizeof(c->why), "replica status: %s",
                     mysql_error(m));
            return !is_client_error(m);
        }
    }
    if ((res = mysql_store_result(m)) == NULL) {
        snprintf(c->why, sizeof(c->why), "replica status: %s", mysql_error(m));
        return !is_client_error(m);
    }
    ilag = field_index(res, "Seconds_Behind_Master", "Seconds_Behind_Source");
    iio = field_index(res, "Slave_IO_Running", "Replica_IO_Running");
    isql = field_index(res, "Slave_SQL_Running", "Replica_SQL_Running");
    /* Several rows: one per replication channel; the worst one counts. */
    while ((row = mysql_fetch_row(res)) != NULL) {
        rows++;
        if (ilag < 0 || iio < 0 || isql < 0 || row[ilag] == NULL ||
            !yes(row[iio]) || !yes(row[isql])) {
            running = false;
            if (iio >= 0 && isql >= 0 && row[iio] != NULL &&
                strcasecmp(row[iio], "Connecting") == 0 && yes(row[isql])) {
                if (ilag >= 0 && row[ilag] != NULL)
                    orphan_lag =
                        MAX(orphan_lag, strtoll(row[ilag], NULL, 10) * 1000);
            } else {
                orphaned = false;
            }
            snprintf(c->why, sizeof(c->why),
                     "replication not running io=%s sql=%s",
                     iio >= 0 && row[iio] ? row[iio] : "?",
                     isql >= 0 && row[isql] ? row[isql] : "?");
            continue;
        }
        lag = MAX(lag, (int64_t)strtoll(row[ilag], NULL, 10) * 1000);
    }
    mysql_free_result(res);
    if (rows == 0) {
        running = false;
        snprintf(c->why, sizeof(c->why), "not a replica");
    }
    c->repl_running = running;
    if (!running && rows > 0 && orphaned &&
        atomic_load(&p->state) == SRV_DOWN) {
        /* The IO thread retries a primary this monitor also sees down:
         * nobody can write, so the replica is as fresh as it will get and
         * keeps its reads at its last known lag (unknown right after start:
         * no reads). A primary that is up but unreachable from the replica
         * is broken replication, below. */
        c->lag_ms = orphan_lag >= 0 ? orphan_lag : atomic_load(&s->lag_ms);
        if (c->lag_ms < 0 || c->lag_ms > h->st.max_lag_ms)
            c->state = SRV_LAGGING;
        return true;
    }
    if (!running) {
        c->lag_ms = -1;
        c->state = SRV_LAGGING;
    } else {
        c->lag_ms = lag;
        if (lag > h->st.max_lag_ms) {
            c->state = SRV_LAGGING;
            snprintf(c->why, sizeof(c->why), "lag_ms=%lld > max %lld",
                     (long long)lag, (long long)h->st.max_lag_ms);
        }
    }
    return true;
}

/* Reads the server's replication position: what a replica applied
 * (gtid_slave_pos), what a primary wrote (gtid_binlog_pos). A server
 * without MariaDB GTIDs (an error, NULL, or a list that does not parse)
 * keeps no position: reads that need one go to the primary. Returns false
 * only when the connection broke. */
static bool
check_gtid(struct health *h, struct server *s, MYSQL *m)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    unsigned long *len;
    struct gtid pos[GTID_SLOTS * 2];
    int n = -1;

    if (mysql_query(m, s->primary ? "SELECT @@gtid_binlog_pos"
                                  : "SELECT @@gtid_slave_pos") != 0 ||
        (res = mysql_store_result(m)) == NULL)
        return !is_client_error(m);
    row = mysql_fetch_row(res);
    len = row != NULL ? mysql_fetch_lengths(res) : NULL;
    if (row != NULL && row[0] != NULL && len != NULL)
        n = gtid_parse_list(row[0], len[0], pos, (int)ARRAY_SIZE(pos));
    mysql_free_result(res);
    if (n >= 0)
        gtidpos_store(h->set, s, pos, n);
    return true;
}

static void
check_server(struct health *h, int i)
{
    struct server *s = &h->set->v[i];
    struct check c = {.state = SRV_ONLINE, .lag_ms = -1};
    int64_t t0 = clock_us(), now;
    long long avg, us;
    int old;
    bool up;

    up = conn_ping(h, i, &c);
    if (up && !check_read_only(h->conns[i], &c))
        up = false;
    if (up && !s->primary && !check_replica(h, s, h->conns[i], &c))
        up = false;
    if (up && !check_gtid(h, s, h->conns[i]))
        up = false;
    if (!up) {
        if (h->conns[i] != NULL && c.why[0] == '\0')
            snprintf(c.why, sizeof(c.why), "%s", mysql_error(h->conns[i]));
        conn_close(h, i);
        c.state = SRV_DOWN;
        c.lag_ms = -1;
        c.repl_running = false;
        atomic_fetch_add(&s->check_failures, 1);
    } else {
        us = clock_us() - t0;
        avg = atomic_load(&s->check_avg_us);
        atomic_store(&s->check_avg_us, avg == 0 ? us : avg + (us - avg) / 8);
    }
    now = clock_ms();
    atomic_store(&s->lag_ms, (long long)c.lag_ms);
    atomic_store(&s->read_only, c.read_only);
    if (c.sql_mode != 0) {
        int was = atomic_exchange(&s->sql_mode, c.sql_mode);
        if (was != c.sql_mode && (was != 0 || c.sql_mode != SRV_SQLMODE_KNOWN))
            log_info("backend global sql_mode lexing changed backend=%s "
                     "no_backslash_escapes=%d ansi_quotes=%d "
                     "pipes_as_concat=%d unlexable=%d",
                     s->addr, !!(c.sql_mode & SRV_SQLMODE_NO_BACKSLASH_ESCAPES),
                     !!(c.sql_mode & SRV_SQLMODE_ANSI_QUOTES),
                     !!(c.sql_mode & SRV_SQLMODE_PIPES_AS_CONCAT),
                     !!(c.sql_mode & SRV_SQLMODE_UNLEXABLE));
    }
    atomic_store(&s->repl_running, c.repl_running);
    atomic_store(&s->checked_ms, (long long)now);
    atomic_fetch_add(&s->checks, 1);
    old = atomic_exchange(&s->state, (int)c.state);
    if (old != (int)c.state) {
        if (c.state == SRV_ONLINE && s->primary)
            log_info("backend state changed backend=%s %s->%s", s->addr,
                     health_state_name((enum server_state)old),
                     health_state_name(c.state));
        else if (c.state == SRV_ONLINE)
            log_info("backend state changed backend=%s %s->%s lag_ms=%lld",
                     s->addr, health_state_name((enum server_state)old),
                     health_state_name(c.state), (long long)c.lag_ms);
        else
            log_info("backend state changed backend=%s %s->%s reason=\"%s\"",
                     s->addr, health_state_name((enum server_state)old),
                     health_state_name(c.state), c.why);
    }
    if (up && s->primary && c.read_only && old != (int)c.state)
        log_warn("primary is read_only backend=%s", s->addr);
    /* Close a circuit whose open window passed and whose probe is not out:
     * this check was the probe. */
    if (up) {
        long long until = atomic_load(&s->circuit_until_ms);
        if (until != 0 && now >= until && !atomic_load(&s->probing) &&
            atomic_compare_exchange_strong(&s->circuit_until_ms, &until, 0)) {
            atomic_store(&s->failures, 0);
            log_info("circuit closed backend=%s by=monitor", s->addr);
        }
    }
}

static void
settings_from(struct health_settings *st, const struct cfg *cfg)
{
    const struct cfg_backend *b = &cfg->backend;
    int64_t t;

    st->user = xstrdup(b->user != NULL ? b->user : "");
    st->password = xstrdup(b->password != NULL ? b->password : "");
    mysqltls_from(&st->tls, &b->tls);
    st->interval_ms = b->health.interval_ms > 0 ? b->health.interval_ms : 1000;
    st->max_lag_ms = b->health.max_replica_lag_ms;
    t = MIN(st->interval_ms, b->connect_timeout_ms > 0 ? b->connect_timeout_ms
                                                       : st->interval_ms);
    st->timeout_s = (unsigned)MAX((t + 999) / 1000, 1);
}

static void
settings_free(struct health_settings *st)
{
    if (st->password != NULL)
        memset(st->password, 0, strlen(st->password));
    free(st->password);
    free(st->user);
    st->password = st->user = NULL;
}

/* Takes a reload's settings, if any, at the start of a round. Connections
 * made with other credentials, TLS or timeouts are closed, so this round
 * checks with the new ones. */
static void
settings_take(struct health *h)
{
    struct health_settings *next;
    bool reconnect, changed;

    pthread_mutex_lock(&h->mu);
    next = h->next;
    h->next = NULL;
    pthread_mutex_unlock(&h->mu);
    if (next == NULL)
        return;
    reconnect = strcmp(next->user, h->st.user) != 0 ||
                strcmp(next->password, h->st.password) != 0 ||
                !mysqltls_equal(&next->tls, &h->st.tls) ||
                next->timeout_s != h->st.timeout_s;
    changed = reconnect || next->interval_ms != h->st.interval_ms ||
              next->max_lag_ms != h->st.max_lag_ms;
    settings_free(&h->st);
    h->st = *next;
    free(next);
    if (!changed)
        return;
    if (reconnect)
        for (int i = 0; i < h->set->n; i++)
            conn_close(h, i);
    log_info("health monitor settings changed interval_ms=%lld "
             "max_replica_lag_ms=%lld timeout_s=%u reconnect=%s",
             (long long)h->st.interval_ms, (long long)h->st.max_lag_ms,
             h->st.timeout_s, reconnect ? "yes" : "no");
}

static void *
health_main(void *arg)
{
    struct health *h = arg;
    int64_t next = clock_ms();

    log_set_thread_name("health");
    mysql_thread_init();
    while (!atomic_load(&h->stop)) {
        settings_take(h);
        for (int i = 0; i < h->set->n && !atomic_load(&h->stop); i++)
            check_server(h, i);
        next += h->st.interval_ms;
        if (next < clock_ms())
            next = clock_ms(); /* a slow round: start the next at once */
        pthread_mutex_lock(&h->mu);
        while (!atomic_load(&h->stop) && h->next == NULL && clock_ms() < next) {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000),
                                  .tv_nsec = (long)(next % 1000) * 1000000};
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
        pthread_mutex_unlock(&h->mu);
    }
    for (int i = 0; i < h->set->n; i++)
        conn_close(h, i);
    mysql_thread_end();
    return NULL;
}

static void
health_free(struct health *h)
{
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->conns);
    settings_free(&h->st);
    if (h->next != NULL) {
        settings_free(h->next);
        free(h->next);
    }
    free(h);
}

struct health *
health_start(struct server_set *set, const struct cfg *cfg)
{
    struct health *h = xcalloc(1, sizeof(*h));
    pthread_condattr_t ca;
    int rc;

    h->set = set;
    settings_from(&h->st, cfg);
    /* room for the servers reloads may add: the rounds walk set->n */
    h->conns = xcalloc((size_t)MAX(set->cap, 1), sizeof(*h->conns));
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    mysql_library_init(0, NULL, NULL);
    rc = pthread_create(&h->thread, NULL, health_main, h);
    if (rc != 0) {
        log_error("cannot start the health monitor: %s", strerror(rc));
        health_free(h);
        return NULL;
    }
    log_info("health monitor started servers=%d interval_ms=%lld "
             "timeout_s=%u",
             set->n, (long long)h->st.interval_ms, h->st.timeout_s);
    return h;
}

void
health_set_cfg(struct health *h, const struct cfg *cfg)
{
    struct health_settings *st;

    if (h == NULL)
        return;
    st = xcalloc(1, sizeof(*st));
    settings_from(st, cfg);
    pthread_mutex_lock(&h->mu);
    if (h->next != NULL) {
        settings_free(h->next);
        free(h->next);
    }
    h->next = st;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void
health_stop(struct health *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->stop, true);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    health_free(h);
}
