/*
 * The admin console: the MySQL protocol on admin.listen, checked from a
 * client's side. Against the shared myshard (MYSHARD_ADMIN_PORT, the
 * config of tools/test.sh):
 *   - login: the admin user gets in, a wrong password and the application
 *     users get 1045; `select @@version_comment limit 1` (the mysql CLI's
 *     first statement) answers one row;
 *   - every command answers a result set with its columns, in order:
 *     SHOW HELP (each command listed), VERSION, SHARDS (primaries,
 *     replicas, rules, default schemas of the test config), BACKENDS (the
 *     four servers, roles, states), POOLS, CLIENTS (a client found by the
 *     address its own socket has, its pins: user_vars after SET @v,
 *     transaction inside BEGIN; a running SELECT SLEEP shown), USERS,
 *     STATS (queries_total grows), DIGESTS (two literals, one digest),
 *     CONFIG (the file's lines, passwords masked);
 *   - commands are case-insensitive and may end in ';';
 *   - USE selects the schema of EXPLAIN ROUTE (1049 for an unknown one);
 *     EXPLAIN ROUTE names the one shard where a row written through the
 *     proxy really is (read directly on the shard primaries), and an
 *     unlisted table's default shard, which USE appdb changes;
 *   - unknown commands get 1064 with a "myshard:" message and the session
 *     goes on; two admin sessions work at once;
 *   - KILL CLIENT closes one client (its next statement gets 2013/2006)
 *     and no other; an unknown id gets 1094.
 * The commands that change a myshard (SET BACKEND, RELOAD CONFIG) are
 * itest_admin_own's.
 * Every connection has connect and read timeouts and the whole program a
 * watchdog, so a console that does not answer fails the checks, never
 * hangs them. Proxy-only.
 */
#include "itest_admin_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const backend_states[] = {
    "online", "lagging", "down", "circuit_open", "offline", "draining",
};

/* ------------------------------------------------------------ the tests */

static void
test_login(MYSQL *a)
{
    unsigned err;
    char msg[256];
    MYSQL *m = connect_port(it_host(), admin_port, admin_user, "not-the-pw",
                            NULL, &err, msg, sizeof(msg));
    check(m == NULL && err == 1045,
          "login: a wrong admin password is refused with 1045");
    if (m != NULL)
        mysql_close(m);
    else if (err != 1045)
        it_diag("%u %s", err, msg);

    m = connect_port(it_host(), admin_port, it_user(), it_password(), NULL,
                     &err, msg, sizeof(msg));
    check(m == NULL && err == 1045,
          "login: the application user %s is refused on the admin port "
          "with 1045",
          it_user());
    if (m != NULL)
        mysql_close(m);
    else if (err != 1045)
        it_diag("%u %s", err, msg);

    if (!need(a, "select @@version_comment limit 1"))
        return;
    struct rs *r = rs_run(a, "select @@version_comment limit 1");
    bool ok = check(r->set && r->nrows == 1 && r->ncols >= 1,
                    "the mysql CLI's select @@version_comment limit 1 "
                    "answers one row");
    if (!ok)
        rs_diag(r, 3);
    rs_free(r);
}

static void
test_help(MYSQL *a)
{
    static const char *const cmds[] = {
        "SHOW HELP",     "SHOW VERSION", "SHOW SHARDS",   "SHOW BACKENDS",
        "SHOW POOLS",    "SHOW CLIENTS", "SHOW USERS",    "SHOW STATS",
        "SHOW DIGESTS",  "SHOW CONFIG",  "EXPLAIN ROUTE", "SET BACKEND",
        "RELOAD CONFIG", "KILL CLIENT",
    };
    const size_t ncmds = sizeof(cmds) / sizeof(cmds[0]);
    if (!need(a, "SHOW HELP"))
        return;
    struct rs *r = rs_run(a, "SHOW HELP");
    if (check_cols(r, "SHOW HELP", "command,description")) {
        check(r->nrows >= ncmds, "SHOW HELP: at least %zu rows (%zu)", ncmds,
              r->nrows);
        size_t missing = 0, undescribed = 0;
        for (size_t c = 0; c < ncmds; c++) {
            bool found = false;
            for (size_t i = 0; i < r->nrows && !found; i++) {
                const char *v = rs_get(r, i, "command");
                found =
                    v != NULL && strncasecmp(v, cmds[c], strlen(cmds[c])) == 0;
            }
            if (!found) {
                it_diag("no row for %s", cmds[c]);
                missing++;
            }
        }
        for (size_t i = 0; i < r->nrows; i++) {
            const char *d = rs_get(r, i, "description");
            undescribed += d == NULL || d[0] == '\0';
        }
        if (!check(missing == 0,
                   "SHOW HELP: a row for each of the %zu "
                   "commands, SHOW HELP itself included",
                   ncmds))
            rs_diag(r, 30);
        check(undescribed == 0, "SHOW HELP: every command has a description");
    }

    struct rs *lower = rs_run(a, "show help");
    struct rs *mixed = rs_run(a, "Show Help;");
    bool ok = check(r->set && lower->set && mixed->set &&
                        lower->nrows == r->nrows && mixed->nrows == r->nrows,
                    "commands are case-insensitive and may end in ';' "
                    "(show help, Show Help;)");
    if (!ok) {
        rs_diag(lower, 2);
        rs_diag(mixed, 2);
    }
    rs_free(lower);
    rs_free(mixed);
    rs_free(r);
}

/* The version `$MYSHARD_BIN --version` prints ("myshard X.Y.Z" -> X.Y.Z). */
static bool
binary_version(char *out, size_t size)
{
    const char *bin = it_env("MYSHARD_BIN", NULL);
    out[0] = '\0';
    if (bin == NULL || access(bin, X_OK) != 0)
        return false;
    char *cmd = xprintf("'%s' --version 2>/dev/null", bin);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return false;
    char line[256] = "";
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    pclose(p);
    line[strcspn(line, "\r\n")] = '\0';
    const char *v = strrchr(line, ' ');
    v = v != NULL ? v + 1 : line;
    snprintf(out, size, "%s", v);
    return out[0] != '\0';
}

static void
test_version(MYSQL *a)
{
    if (!need(a, "SHOW VERSION"))
        return;
    struct rs *r = rs_run(a, "SHOW VERSION");
    if (check_cols(r, "SHOW VERSION",
                   "version,build,started_at,uptime_seconds") &&
        check(r->nrows == 1, "SHOW VERSION: one row (%zu)", r->nrows)) {
        char want[64];
        const char *v = rs_get(r, 0, "version");
        if (binary_version(want, sizeof(want))) {
            if (!check(v != NULL && strstr(v, want) != NULL,
                       "SHOW VERSION: version names %s, as myshard "
                       "--version does",
                       want))
                it_diag("version: %s", v ? v : "NULL");
        } else {
            it_skip("MYSHARD_BIN --version gave nothing",
                    "SHOW VERSION: version as myshard --version");
        }
        const char *st = rs_get(r, 0, "started_at");
        check(st != NULL && st[0] != '\0', "SHOW VERSION: started_at set");
        const char *up = rs_get(r, 0, "uptime_seconds");
        if (!check(is_nonneg_int(up),
                   "SHOW VERSION: uptime_seconds a whole number"))
            it_diag("uptime_seconds: %s", up ? up : "NULL");
    }
    rs_free(r);

    r = rs_run(a, "show version;");
    check(r->set && r->nrows == 1, "show version; (lower case, ';') works");
    rs_free(r);
}

static void
test_shards(MYSQL *a)
{
    static const char *const rules[] = {"user_hash", "id_mod", "id_range",
                                        "email_hash", "day_range"};
    if (!need(a, "SHOW SHARDS"))
        return;
    struct rs *r = rs_run(a, "SHOW SHARDS");
    if (!check_cols(r, "SHOW SHARDS",
                    "shard,primary,replicas,rules,default_for")) {
        rs_free(r);
        return;
    }
    if (!check(r->nrows == 2, "SHOW SHARDS: one row per shard (2: %zu)",
               r->nrows))
        rs_diag(r, 5);
    struct {
        const char *name, *primary, *replica, *schema;
    } want[] = {{"s0", a_s0p, a_s0r, "shop"}, {"s1", a_s1p, a_s1r, "appdb"}};
    for (int s = 0; s < 2; s++) {
        long i = rs_find(r, "shard", want[s].name);
        if (!check(i >= 0, "SHOW SHARDS: a row for %s", want[s].name))
            continue;
        check_str(rs_get(r, (size_t)i, "primary"), want[s].primary,
                  "SHOW SHARDS: %s's primary", want[s].name);
        const char *reps = rs_get(r, (size_t)i, "replicas");
        if (!check(list_has(reps, want[s].replica) && list_count(reps) == 1,
                   "SHOW SHARDS: %s's replicas: %s", want[s].name,
                   want[s].replica))
            it_diag("replicas: %s", reps ? reps : "NULL");
        const char *rl = rs_get(r, (size_t)i, "rules");
        bool all = list_count(rl) == 5;
        for (int k = 0; k < 5; k++)
            all = all && list_has(rl, rules[k]);
        if (!check(all,
                   "SHOW SHARDS: %s's rules: user_hash, id_mod, id_range, "
                   "email_hash, day_range (every rule uses both shards)",
                   want[s].name))
            it_diag("rules: %s", rl ? rl : "NULL");
        const char *df = rs_get(r, (size_t)i, "default_for");
        if (!check(list_has(df, want[s].schema) && list_count(df) == 1,
                   "SHOW SHARDS: %s is the default shard of %s", want[s].name,
                   want[s].schema))
            it_diag("default_for: %s", df ? df : "NULL");
    }
    rs_free(r);
}

/* The four servers of the test cluster: address, shard, role. */
struct server {
    const char *addr, *shard, *role;
};

static void
servers(struct server out[4])
{
    out[0] = (struct server){a_s0p, "s0", "primary"};
    out[1] = (struct server){a_s0r, "s0", "replica"};
    out[2] = (struct server){a_s1p, "s1", "primary"};
    out[3] = (struct server){a_s1r, "s1", "replica"};
}

static bool
known_state(const char *s)
{
    for (size_t i = 0;
         s != NULL && i < sizeof(backend_states) / sizeof(backend_states[0]);
         i++)
        if (strcmp(s, backend_states[i]) == 0)
            return true;
    return false;
}

#define BACKEND_COLS                                                           \
    "backend,shard,role,state,zone,weight,lag_ms,conns_used,conns_idle,"       \
    "queries,errors,avg_latency_ms,gtid_pos,gtid_acked,gtid_waits,"            \
    "gtid_wait_timeouts"

static void
test_backends(MYSQL *a)
{
    struct server sv[4];
    servers(sv);
    if (!need(a, "SHOW BACKENDS"))
        return;
    struct rs *r = rs_run(a, "SHOW BACKENDS");
    if (!check_cols(r, "SHOW BACKENDS", BACKEND_COLS)) {
        rs_free(r);
        return;
    }
    if (!check(r->nrows == 4, "SHOW BACKENDS: one row per server (4: %zu)",
               r->nrows))
        rs_diag(r, 8);
    for (int k = 0; k < 4; k++) {
        long i = rs_find(r, "backend", sv[k].addr);
        if (!check(i >= 0, "SHOW BACKENDS: a row for %s (%s %s)", sv[k].addr,
                   sv[k].shard, sv[k].role))
            continue;
        const char *shard = rs_get(r, (size_t)i, "shard");
        const char *role = rs_get(r, (size_t)i, "role");
        bool ok = shard != NULL && role != NULL &&
                  strcmp(shard, sv[k].shard) == 0 &&
                  strcmp(role, sv[k].role) == 0;
        if (!check(ok, "SHOW BACKENDS: %s is shard %s, role %s", sv[k].addr,
                   sv[k].shard, sv[k].role))
            it_diag("shard %s, role %s", shard ? shard : "NULL",
                    role ? role : "NULL");
    }
    bool states = r->nrows > 0, counts = r->nrows > 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *st = rs_get(r, i, "state");
        if (!known_state(st)) {
            states = false;
            it_diag("row %zu: state %s", i, st ? st : "NULL");
        }
        static const char *const ints[] = {"conns_used", "conns_idle",
                                           "queries", "errors"};
        for (int c = 0; c < 4; c++) {
            const char *v = rs_get(r, i, ints[c]);
            if (!is_nonneg_int(v)) {
                counts = false;
                it_diag("row %zu: %s %s", i, ints[c], v ? v : "NULL");
            }
        }
        const char *avg = rs_get(r, i, "avg_latency_ms");
        if (!is_number(avg)) {
            counts = false;
            it_diag("row %zu: avg_latency_ms %s", i, avg ? avg : "NULL");
        }
    }
    check(states, "SHOW BACKENDS: every state is one of online, lagging, "
                  "down, circuit_open, offline, draining");
    check(counts, "SHOW BACKENDS: conns_used, conns_idle, queries, errors "
                  "are counts, avg_latency_ms a number");
    bool w0 = true;
    for (int k = 1; k < 4; k += 2) {
        long i = rs_find(r, "backend", sv[k].addr);
        const char *w = i >= 0 ? rs_get(r, (size_t)i, "weight") : NULL;
        if (!is_number(w) || strtod(w, NULL) != 0.0) {
            w0 = false;
            it_diag("%s: weight %s", sv[k].addr, w ? w : "NULL");
        }
    }
    check(w0, "SHOW BACKENDS: the replicas' weight is 0, as configured");
    rs_free(r);

    /* both primaries are up: online, given a few health intervals */
    double end = it_now() + 5;
    bool online = false;
    do {
        r = rs_run(a, "SHOW BACKENDS");
        long i0 = rs_find(r, "backend", a_s0p),
             i1 = rs_find(r, "backend", a_s1p);
        const char *st0 = i0 >= 0 ? rs_get(r, (size_t)i0, "state") : NULL;
        const char *st1 = i1 >= 0 ? rs_get(r, (size_t)i1, "state") : NULL;
        online = st0 != NULL && st1 != NULL && strcmp(st0, "online") == 0 &&
                 strcmp(st1, "online") == 0;
        if (!online && it_now() + 0.2 >= end)
            rs_diag(r, 8);
        rs_free(r);
        if (!online)
            it_sleep_ms(200);
    } while (!online && it_now() < end);
    check(online, "SHOW BACKENDS: both primaries online");
}

static void
test_pools(MYSQL *a)
{
    struct server sv[4];
    servers(sv);
    if (!need(a, "SHOW POOLS"))
        return;
    struct rs *r = rs_run(a, "SHOW POOLS");
    if (!check_cols(r, "SHOW POOLS",
                    "backend,max,open,in_use,idle,waiting,longest_wait_ms")) {
        rs_free(r);
        return;
    }
    int found = 0, capped = 0;
    for (int k = 0; k < 4; k++) {
        long i = rs_find(r, "backend", sv[k].addr);
        if (i < 0) {
            it_diag("no row for %s", sv[k].addr);
            continue;
        }
        found++;
        const char *max = rs_get(r, (size_t)i, "max");
        if (max != NULL && strcmp(max, "50") == 0)
            capped++;
        else
            it_diag("%s: max %s", sv[k].addr, max ? max : "NULL");
    }
    check(found == 4, "SHOW POOLS: a row for each of the 4 servers");
    check(capped == 4, "SHOW POOLS: max is backend.pool.max_connections (50) "
                       "for each");
    static const char *const ints[] = {"open", "in_use", "idle", "waiting",
                                       "longest_wait_ms"};
    bool counts = r->nrows > 0;
    for (size_t i = 0; i < r->nrows; i++)
        for (int c = 0; c < 5; c++) {
            const char *v = rs_get(r, i, ints[c]);
            if (!is_nonneg_int(v)) {
                counts = false;
                it_diag("row %zu: %s %s", i, ints[c], v ? v : "NULL");
            }
        }
    check(counts, "SHOW POOLS: open, in_use, idle, waiting, longest_wait_ms "
                  "are whole numbers");
    rs_free(r);
}

/* SHOW CLIENTS, and the row of the client whose socket is c (-1). */
static long
client_row(MYSQL *a, MYSQL *c, struct rs **out)
{
    char addr[80];
    *out = rs_run(a, "SHOW CLIENTS");
    if (!local_addr(c, addr, sizeof(addr)))
        return -1;
    return rs_find(*out, "addr", addr);
}

/* The pinned column of client c contains reason (want) or not; polled up
 * to 2 s, since the console may see a statement's effect a moment late. */
static bool
pins_become(MYSQL *a, MYSQL *c, const char *reason, bool want)
{
    double end = it_now() + 2;
    const char *last = NULL;
    char buf[256] = "(no row)";
    for (;;) {
        struct rs *r;
        long i = client_row(a, c, &r);
        last = i >= 0 ? rs_get(r, (size_t)i, "pinned") : NULL;
        if (i >= 0)
            snprintf(buf, sizeof(buf), "%s", last ? last : "NULL");
        bool has = i >= 0 && list_has(last, reason);
        rs_free(r);
        if (i >= 0 && has == want)
            return true;
        if (it_now() >= end) {
            it_diag("pinned: %s", buf);
            return false;
        }
        it_sleep_ms(100);
    }
}

static void
clients_checks(MYSQL *a, MYSQL *c1, MYSQL *c2, MYSQL *c3)
{
    it_exec(c1, "SELECT 1");

    char addr[80];
    check(local_addr(c1, addr, sizeof(addr)),
          "SHOW CLIENTS: the client socket's own address (getsockname): %s",
          addr);
    struct rs *r;
    long i = client_row(a, c1, &r);
    if (check_cols(r, "SHOW CLIENTS",
                   "id,user,addr,schema,state,pinned,statement,"
                   "age_seconds")) {
        if (!check(i >= 0, "SHOW CLIENTS: a row whose addr is %s", addr))
            rs_diag(r, 20);
        if (i >= 0) {
            size_t k = (size_t)i;
            check_str(rs_get(r, k, "user"), it_user(), "SHOW CLIENTS: user");
            check_str(rs_get(r, k, "schema"), it_db(), "SHOW CLIENTS: schema");
            const char *id = rs_get(r, k, "id");
            if (!check(is_nonneg_int(id), "SHOW CLIENTS: id a number"))
                it_diag("id: %s", id ? id : "NULL");
            const char *st = rs_get(r, k, "state");
            check(st != NULL && st[0] != '\0', "SHOW CLIENTS: state set (%s)",
                  st ? st : "NULL");
            const char *age = rs_get(r, k, "age_seconds");
            if (!check(is_nonneg_int(age),
                       "SHOW CLIENTS: age_seconds a whole number"))
                it_diag("age_seconds: %s", age ? age : "NULL");
            const char *pin = rs_get(r, k, "pinned");
            if (!check(!list_has(pin, "user_vars"),
                       "SHOW CLIENTS: pinned has no user_vars before SET @v"))
                it_diag("pinned: %s", pin);
        }
    }
    rs_free(r);

    /* pins: user variables, a transaction */
    check(it_exec(c1, "SET @v = 1") && pins_become(a, c1, "user_vars", true),
          "SHOW CLIENTS: after SET @v = 1 pinned lists user_vars");
    check(it_exec(c2, "BEGIN") && pins_become(a, c2, "transaction", true),
          "SHOW CLIENTS: inside BEGIN pinned lists transaction");
    check(it_exec(c2, "ROLLBACK") && pins_become(a, c2, "transaction", false),
          "SHOW CLIENTS: after ROLLBACK transaction is gone from pinned");

    /* the statement a client runs */
    const char *sleep_sql = "SELECT SLEEP(2)";
    bool sent = mysql_send_query(c3, sleep_sql, strlen(sleep_sql)) == 0;
    check(sent, "SHOW CLIENTS: %s sent on a third session", sleep_sql);
    if (sent) {
        double end = it_now() + 1.5;
        bool shown = false;
        char seen[256] = "(no row)";
        do {
            long j = client_row(a, c3, &r);
            const char *st = j >= 0 ? rs_get(r, (size_t)j, "statement") : NULL;
            if (j >= 0)
                snprintf(seen, sizeof(seen), "%s", st ? st : "NULL");
            shown = contains_nocase(st, "SLEEP(");
            rs_free(r);
            if (!shown)
                it_sleep_ms(100);
        } while (!shown && it_now() < end);
        if (!check(shown, "SHOW CLIENTS: the running %s shows in statement",
                   sleep_sql))
            it_diag("statement: %s", seen);
        bool done = mysql_read_query_result(c3) == 0;
        MYSQL_RES *res = done ? mysql_store_result(c3) : NULL;
        if (res != NULL)
            mysql_free_result(res);
        check(done, "SHOW CLIENTS: %s then completes", sleep_sql);
    }
}

static void
test_clients(MYSQL *a)
{
    if (!need(a, "SHOW CLIENTS"))
        return;
    MYSQL *c1 = app_connect(it_db());
    MYSQL *c2 = app_connect(it_db());
    MYSQL *c3 = app_connect(it_db());
    if (check(c1 != NULL && c2 != NULL && c3 != NULL,
              "SHOW CLIENTS: three application sessions"))
        clients_checks(a, c1, c2, c3);
    if (c1 != NULL)
        mysql_close(c1);
    if (c2 != NULL)
        mysql_close(c2);
    if (c3 != NULL)
        mysql_close(c3);
}

static void
test_users(MYSQL *a)
{
    if (!need(a, "SHOW USERS"))
        return;
    MYSQL *c = app_connect(it_db());
    it_exec(c, "SELECT 1");
    struct rs *r = rs_run(a, "SHOW USERS");
    if (check_cols(r, "SHOW USERS",
                   "user,class,read_only,connections,max_connections,"
                   "queries,errors,rate_limited,rate_limit")) {
        long ia = rs_find(r, "user", it_user());
        long i2 = rs_find(r, "user", it_env("MYSHARD_USER2", "app2"));
        long ir = rs_find(r, "user", "reader");
        if (!check(ia >= 0 && i2 >= 0 && ir >= 0,
                   "SHOW USERS: rows for %s, %s and reader", it_user(),
                   it_env("MYSHARD_USER2", "app2")))
            rs_diag(r, 10);
        if (ia >= 0 && ir >= 0) {
            const char *ro_r = rs_get(r, (size_t)ir, "read_only");
            const char *ro_a = rs_get(r, (size_t)ia, "read_only");
            if (!check(is_true_word(ro_r) && is_false_word(ro_a),
                       "SHOW USERS: reader is read_only, %s is not", it_user()))
                it_diag("read_only: reader %s, %s %s", ro_r ? ro_r : "NULL",
                        it_user(), ro_a ? ro_a : "NULL");
        }
        if (ia >= 0) {
            const char *n = rs_get(r, (size_t)ia, "connections");
            if (!check(is_nonneg_int(n) && atoll(n) >= 1,
                       "SHOW USERS: %s has at least the one connection this "
                       "program holds",
                       it_user()))
                it_diag("connections: %s", n ? n : "NULL");
        }
        static const char *const ints[] = {"connections", "queries", "errors",
                                           "rate_limited"};
        bool counts = r->nrows > 0;
        for (size_t i = 0; i < r->nrows; i++)
            for (int k = 0; k < 4; k++) {
                const char *v = rs_get(r, i, ints[k]);
                if (!is_nonneg_int(v)) {
                    counts = false;
                    it_diag("row %zu: %s %s", i, ints[k], v ? v : "NULL");
                }
            }
        check(counts, "SHOW USERS: connections, queries, errors, "
                      "rate_limited are counts");
    }
    rs_free(r);
    if (c != NULL)
        mysql_close(c);
}

/* The value of SHOW STATS row stat as an integer; -1 when absent. */
static long long
stat_value(MYSQL *a, const char *stat)
{
    struct rs *r = rs_run(a, "SHOW STATS");
    long i = rs_find(r, "stat", stat);
    const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
    long long n = is_int(v) ? atoll(v) : -1;
    rs_free(r);
    return n;
}

static void
test_stats(MYSQL *a)
{
    static const char *const names[] = {"queries_total", "connections_total",
                                        "errors_total", "client_connections",
                                        "uptime_seconds"};
    if (!need(a, "SHOW STATS"))
        return;
    MYSQL *c = app_connect(it_db());
    it_exec(c, "SELECT 1");
    struct rs *r = rs_run(a, "SHOW STATS");
    if (check_cols(r, "SHOW STATS", "stat,value")) {
        for (int k = 0; k < 5; k++) {
            long i = rs_find(r, "stat", names[k]);
            const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
            if (!check(i >= 0 && is_nonneg_int(v),
                       "SHOW STATS: %s, a whole number", names[k]))
                it_diag("%s: %s", names[k],
                        i < 0 ? "(no row)"
                        : v   ? v
                              : "NULL");
        }
        long i = rs_find(r, "stat", "client_connections");
        const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
        check(is_int(v) && atoll(v) >= 1,
              "SHOW STATS: client_connections counts the session this "
              "program holds (%s)",
              v ? v : "NULL");
    }
    rs_free(r);

    long long before = stat_value(a, "queries_total"), after = -1;
    bool ran = c != NULL;
    for (int k = 0; k < 5 && ran; k++)
        ran = it_exec(c, "SELECT %d", k);
    double end = it_now() + 2;
    do {
        after = stat_value(a, "queries_total");
        if (before >= 0 && after >= before + 5)
            break;
        it_sleep_ms(100);
    } while (it_now() < end);
    check(ran && before >= 0 && after >= before + 5,
          "SHOW STATS: queries_total grows by at least 5 after 5 statements "
          "(%lld -> %lld)",
          before, after);
    if (c != NULL)
        mysql_close(c);
}

static void
test_digests(MYSQL *a)
{
    if (!need(a, "SHOW DIGESTS"))
        return;
    MYSQL *c = app_connect(it_db());
    bool ran = c != NULL && it_exec(c, "SELECT * FROM " TA " WHERE id = 1") &&
               it_exec(c, "SELECT * FROM " TA " WHERE id = 2");
    check(ran, "SHOW DIGESTS: SELECT * FROM " TA " WHERE id = 1, then = 2 "
               "through myshard");
    if (c != NULL)
        mysql_close(c);
    struct rs *r = rs_run(a, "SHOW DIGESTS");
    if (check_cols(r, "SHOW DIGESTS",
                   "digest,count,total_ms,avg_ms,max_ms,errors")) {
        const char *want = "select*from" TA "whereid=?";
        long found = -1;
        int matches = 0, literal = 0;
        for (size_t i = 0; i < r->nrows; i++) {
            const char *d = rs_get(r, i, "digest");
            if (d == NULL)
                continue;
            char *cd = compact(d);
            if (strcmp(cd, want) == 0) {
                matches++;
                found = (long)i;
            } else if (strstr(cd, TA "whereid=1") != NULL ||
                       strstr(cd, TA "whereid=2") != NULL) {
                literal++;
            }
            free(cd);
        }
        if (!check(matches == 1,
                   "SHOW DIGESTS: one row SELECT * FROM " TA
                   " WHERE id = ? for both statements (%d)",
                   matches))
            rs_diag(r, 30);
        check(literal == 0, "SHOW DIGESTS: no row keeps the literals 1 or 2");
        if (found >= 0) {
            const char *n = rs_get(r, (size_t)found, "count");
            if (!check(is_nonneg_int(n) && atoll(n) >= 2,
                       "SHOW DIGESTS: its count is at least 2"))
                it_diag("count: %s", n ? n : "NULL");
            bool nums = true;
            static const char *const cols[] = {"total_ms", "avg_ms", "max_ms"};
            for (int k = 0; k < 3; k++) {
                const char *v = rs_get(r, (size_t)found, cols[k]);
                if (!is_number(v)) {
                    nums = false;
                    it_diag("%s: %s", cols[k], v ? v : "NULL");
                }
            }
            const char *e = rs_get(r, (size_t)found, "errors");
            check(nums && is_nonneg_int(e),
                  "SHOW DIGESTS: total_ms, avg_ms, max_ms numbers, errors a "
                  "count (%s)",
                  e ? e : "NULL");
        }
    }
    rs_free(r);
}

/* The key of a block-style YAML line ("  - password: x" -> "password"),
 * into key; false when the line has none. *value_at gets the offset just
 * past the colon. */
static bool
yaml_key(const char *line, char *key, size_t size, size_t *value_at)
{
    const char *p = line + strspn(line, " ");
    if (p[0] == '-' && p[1] == ' ')
        p += 2 + strspn(p + 2, " ");
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= size || p[n] != ':')
        return false;
    memcpy(key, p, n);
    key[n] = '\0';
    *value_at = (size_t)(p + n + 1 - line);
    return true;
}

static char *
trimmed(const char *s)
{
    s += strspn(s, " ");
    char *t = xstrdup(s);
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\r'))
        t[--n] = '\0';
    /* quotes around a scalar */
    if (n >= 2 && (t[0] == '"' || t[0] == '\'') && t[n - 1] == t[0]) {
        memmove(t, t + 1, n - 2);
        t[n - 2] = '\0';
    }
    return t;
}

static void
test_config(MYSQL *a)
{
    const char *path = it_env("MYSHARD_CONFIG", NULL);
    if (!need(a, "SHOW CONFIG"))
        return;
    char *text = path != NULL ? read_file(path) : NULL;
    if (!check(text != NULL, "SHOW CONFIG: the config file %s is readable",
               path ? path : "(MYSHARD_CONFIG unset)"))
        return;
    /* the file's lines */
    size_t nlines = 0;
    for (const char *p = text; *p != '\0'; p++)
        nlines += *p == '\n';
    if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
        nlines++;
    char **lines = xcalloc(nlines, sizeof(char *));
    char *dup = xstrdup(text);
    size_t n = 0;
    for (char *p = dup; n < nlines; n++) {
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        lines[n] = p;
        p = nl != NULL ? nl + 1 : p + strlen(p);
    }

    struct rs *r = rs_run(a, "SHOW CONFIG");
    if (check_cols(r, "SHOW CONFIG", "line,text")) {
        if (!check(r->nrows == nlines,
                   "SHOW CONFIG: one row per line of %s (%zu: %zu)", path,
                   nlines, r->nrows))
            rs_diag(r, 5);
        size_t numbered = 0, same = 0, masked = 0, passwords = 0, leaks = 0;
        for (size_t i = 0; i < r->nrows; i++) {
            const char *ln = rs_get(r, i, "line");
            const char *t = rs_get(r, i, "text");
            if (ln != NULL && is_nonneg_int(ln) && (size_t)atoll(ln) == i + 1)
                numbered++;
            char key[64];
            size_t at = 0;
            /* a password shown in plain: "password: <anything but stars>" */
            if (t != NULL && yaml_key(t, key, sizeof(key), &at) &&
                strcmp(key, "password") == 0) {
                char *v = trimmed(t + at);
                if (strcmp(v, "********") != 0) {
                    leaks++;
                    it_diag("row %zu shows a password: %s", i + 1, t);
                }
                free(v);
            }
            if (i >= nlines || t == NULL)
                continue;
            const char *f = lines[i];
            if (yaml_key(f, key, sizeof(key), &at) &&
                strcmp(key, "password") == 0) {
                passwords++;
                char *v = trimmed(t + (strlen(t) >= at ? at : strlen(t)));
                if (strncmp(t, f, at) == 0 && strcmp(v, "********") == 0)
                    masked++;
                else
                    it_diag("line %zu: '%s' shown as '%s'", i + 1, f, t);
                free(v);
            } else if (yaml_key(f, key, sizeof(key), &at) &&
                       strcmp(key, "password_hash") == 0) {
                /* the hash itself, or masked too */
                char *v = trimmed(t + (strlen(t) >= at ? at : strlen(t)));
                if (strcmp(t, f) == 0 ||
                    (strncmp(t, f, at) == 0 && strcmp(v, "********") == 0))
                    same++;
                else
                    it_diag("line %zu: '%s' shown as '%s'", i + 1, f, t);
                free(v);
            } else if (strcmp(t, f) == 0) {
                same++;
            } else {
                it_diag("line %zu: '%s' shown as '%s'", i + 1, f, t);
            }
        }
        check(numbered == r->nrows && r->nrows > 0,
              "SHOW CONFIG: line numbers 1..%zu in order", r->nrows);
        check(passwords >= 4 && masked == passwords,
              "SHOW CONFIG: each of the %zu password lines shows ********",
              passwords);
        check(leaks == 0, "SHOW CONFIG: no row shows a plain password (app, "
                          "reader, secret, admin)");
        check(same + passwords == nlines && r->nrows == nlines,
              "SHOW CONFIG: every other line as in the file");
    }
    rs_free(r);
    free(lines);
    free(dup);
    free(text);
}

/* The shard names (s0, s1) the "target..." rows of an EXPLAIN ROUTE
 * answer mention, as a bit set (1: s0, 2: s1); -1 without such rows. */
static int
explain_targets(const struct rs *r)
{
    int set = 0, rows = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *item = rs_get(r, i, "item");
        const char *v = rs_get(r, i, "value");
        if (item == NULL || strncasecmp(item, "target", 6) != 0)
            continue;
        rows++;
        for (const char *p = v; p != NULL && *p != '\0';) {
            size_t skip = strcspn(p, "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            p += skip;
            size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            if (len == 2 && strncmp(p, "s0", 2) == 0)
                set |= 1;
            if (len == 2 && strncmp(p, "s1", 2) == 0)
                set |= 2;
            p += len;
        }
    }
    return rows > 0 ? set : -1;
}

static const char *
shard_set_name(int set)
{
    switch (set) {
    case -1:
        return "(no target row)";
    case 0:
        return "no shard";
    case 1:
        return "s0";
    case 2:
        return "s1";
    default:
        return "s0 and s1";
    }
}

static void
test_explain(MYSQL *a, MYSQL *d0, MYSQL *d1)
{
    if (!need(a, "USE / EXPLAIN ROUTE"))
        return;
    struct rs *r = rs_run(a, "USE itest_admin_no_such_db");
    check(!r->ok && r->err == 1049, "USE of an unknown schema: 1049");
    if (r->ok || r->err != 1049)
        rs_diag(r, 2);
    rs_free(r);
    r = rs_run(a, "USE %s", it_db());
    if (!check(r->ok && !r->set, "USE %s: ok, no result set", it_db()))
        rs_diag(r, 2);
    rs_free(r);

    r = rs_run(a, "EXPLAIN ROUTE SELECT * FROM " TO " WHERE user_id = 1");
    check_cols(r, "EXPLAIN ROUTE", "item,value");
    rs_free(r);

    /* rows written through myshard, found on their primary directly */
    MYSQL *c = app_connect(it_db());
    int seen = 0, agree = 0, total = 8;
    for (int k = 1; k <= total; k++) {
        int uid = 1000 + 37 * k;
        if (!it_exec(c, "INSERT INTO " TO " (id, user_id) VALUES (%d, %d)", k,
                     uid)) {
            it_diag("INSERT of user_id %d through myshard failed", uid);
            continue;
        }
        long long n0 =
            it_int(d0, -1, "SELECT COUNT(*) FROM " TO " WHERE id = %d", k);
        long long n1 =
            it_int(d1, -1, "SELECT COUNT(*) FROM " TO " WHERE id = %d", k);
        if (n0 + n1 != 1 || n0 < 0 || n1 < 0) {
            it_diag("user_id %d: %lld row(s) on s0, %lld on s1 (direct)", uid,
                    n0, n1);
            continue;
        }
        int where = n0 == 1 ? 1 : 2;
        seen |= where;
        r = rs_run(a, "EXPLAIN ROUTE SELECT * FROM " TO " WHERE user_id = %d",
                   uid);
        int got = r->set ? explain_targets(r) : -1;
        if (got == where) {
            agree++;
        } else {
            it_diag("user_id %d: the row is on %s, EXPLAIN ROUTE names %s", uid,
                    shard_set_name(where), shard_set_name(got));
            rs_diag(r, 20);
        }
        rs_free(r);
    }
    if (c != NULL)
        mysql_close(c);
    it_diag("the %d rows are on %s", total, shard_set_name(seen));
    check(agree == total,
          "EXPLAIN ROUTE SELECT * FROM " TO " WHERE user_id = <v> names "
          "exactly the shard where the row is (read on the primaries "
          "directly), for %d of %d keys",
          agree, total);

    r = rs_run(a, "explain route SELECT * FROM " TA " WHERE id = 1");
    int got = r->set ? explain_targets(r) : -1;
    if (!check(got == 1, "explain route of an unlisted table names the "
                         "default shard s0 only"))
        rs_diag(r, 20);
    rs_free(r);

    /* the same statement in appdb, whose default shard is s1 */
    r = rs_run(a, "USE appdb");
    bool used = r->ok;
    rs_free(r);
    r = rs_run(a, "EXPLAIN ROUTE SELECT * FROM " TA " WHERE id = 1");
    got = r->set ? explain_targets(r) : -1;
    if (!check(used && got == 2, "after USE appdb the same EXPLAIN ROUTE "
                                 "names appdb's default shard s1 only"))
        rs_diag(r, 20);
    rs_free(r);
}

static void
test_errors(MYSQL *a)
{
    if (!need(a, "unknown commands"))
        return;
    struct rs *r = rs_run(a, "SHOW NONSENSE");
    check_myshard_error(r, 1064, "SHOW NONSENSE");
    rs_free(r);
    r = rs_run(a, "FROBNICATE THE CONSOLE");
    check_myshard_error(r, 1064, "FROBNICATE THE CONSOLE");
    rs_free(r);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1, "the session answers SHOW VERSION after "
                                   "the errors");
    rs_free(r);

    /* two sessions at once: both send, then both read */
    MYSQL *b = admin_connect(admin_port);
    if (!check(b != NULL, "a second admin session"))
        return;
    const char *q1 = "SHOW BACKENDS", *q2 = "SHOW CLIENTS";
    bool sent1 = mysql_send_query(a, q1, strlen(q1)) == 0;
    bool sent2 = mysql_send_query(b, q2, strlen(q2)) == 0;
    /* each answer read whatever the other did, so that neither session
     * is left out of step */
    bool got2 = sent2 && mysql_read_query_result(b) == 0;
    MYSQL_RES *r2 = got2 ? mysql_store_result(b) : NULL;
    bool got1 = sent1 && mysql_read_query_result(a) == 0;
    MYSQL_RES *r1 = got1 ? mysql_store_result(a) : NULL;
    bool got = r1 != NULL && r2 != NULL;
    check(got, "two admin sessions answer statements sent at the same time");
    if (!got)
        it_diag("%u %s / %u %s", mysql_errno(a), mysql_error(a), mysql_errno(b),
                mysql_error(b));
    if (r1 != NULL)
        mysql_free_result(r1);
    if (r2 != NULL)
        mysql_free_result(r2);
    mysql_close(b);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1,
          "the first session goes on after the second closed");
    rs_free(r);
}

static void
test_kill(MYSQL *a)
{
    if (!need(a, "KILL CLIENT"))
        return;
    MYSQL *victim = app_connect(it_db());
    MYSQL *other = app_connect(it_db());
    if (!check(victim != NULL && other != NULL && it_exec(victim, "SELECT 1") &&
                   it_exec(other, "SELECT 1"),
               "KILL CLIENT: two application sessions")) {
        if (victim != NULL)
            mysql_close(victim);
        if (other != NULL)
            mysql_close(other);
        return;
    }
    struct rs *r;
    long i = client_row(a, victim, &r);
    char id[32] = "";
    if (i >= 0 && rs_get(r, (size_t)i, "id") != NULL)
        snprintf(id, sizeof(id), "%s", rs_get(r, (size_t)i, "id"));
    if (!check(is_nonneg_int(id),
               "KILL CLIENT: the victim's id from SHOW CLIENTS (%s)", id))
        rs_diag(r, 10);
    /* an id nobody has */
    unsigned long unknown = 2000000000UL;
    for (;;) {
        char s[32];
        snprintf(s, sizeof(s), "%lu", unknown);
        if (rs_find(r, "id", s) < 0)
            break;
        unknown++;
    }
    rs_free(r);

    if (is_nonneg_int(id)) {
        r = rs_run(a, "KILL CLIENT %s", id);
        if (check_cols(r, "KILL CLIENT", "id,closed")) {
            check(r->nrows == 1, "KILL CLIENT: one row (%zu)", r->nrows);
            check_str(rs_get(r, 0, "id"), id, "KILL CLIENT: the row's id");
        }
        rs_free(r);
        unsigned e = 0;
        if (mysql_query(victim, "SELECT 1") == 0) {
            MYSQL_RES *res = mysql_store_result(victim);
            if (res != NULL)
                mysql_free_result(res);
        } else {
            e = mysql_errno(victim);
        }
        if (!check(e == 2013 || e == 2006,
                   "KILL CLIENT: the killed client's next statement fails "
                   "with a lost connection (2013/2006)"))
            it_diag("errno %u %s", e, e ? mysql_error(victim) : "");
        check(it_exec(other, "SELECT 1"),
              "KILL CLIENT: the other client still works");
        double end = it_now() + 2;
        bool gone = false;
        do {
            r = rs_run(a, "SHOW CLIENTS");
            gone = r->set && rs_find(r, "id", id) < 0;
            rs_free(r);
            if (!gone)
                it_sleep_ms(100);
        } while (!gone && it_now() < end);
        check(gone, "KILL CLIENT: the killed client leaves SHOW CLIENTS");
    }
    r = rs_run(a, "KILL CLIENT %lu", unknown);
    if (!check(!r->ok && r->err == 1094, "KILL CLIENT of an unknown id: 1094"))
        rs_diag(r, 2);
    rs_free(r);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1, "the console goes on after KILL CLIENT");
    rs_free(r);
    mysql_close(victim);
    mysql_close(other);
}

/* the watchdog's */
static struct it_proxy px;

int
main(void)
{
    /* nothing here may wait long: a console that does not answer fails */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "15", 0);
    it_init("itest_admin");
    if (!it_expect_proxy()) {
        it_skip("needs myshard (MYSHARD_EXPECT_PROXY=1)", "admin console");
        return it_done();
    }
    it_proxy_init(&px);
    px.io_s = IO_S;
    px.exit_detail = true;
    it_proxy_watchdog(&px, WATCHDOG_S);
    double t_start = it_now();

    if (!admin_env())
        return it_done();

    MYSQL *d0 = it_connect_backend("S0_PRIMARY_PORT", it_db());
    MYSQL *d1 = it_connect_backend("S1_PRIMARY_PORT", it_db());
    if (!check(setup(d0, d1), "tables " TA " (s0) and " TO
                              " (s0 and s1) created on the primaries")) {
        teardown(d0, d1);
        if (d0 != NULL)
            mysql_close(d0);
        if (d1 != NULL)
            mysql_close(d1);
        return it_done();
    }

    MYSQL *a = admin_connect(admin_port);
    check(a != NULL, "login as %s on the admin port %u", admin_user,
          admin_port);
    test_login(a);
    test_help(a);
    test_version(a);
    test_shards(a);
    test_backends(a);
    test_pools(a);
    test_clients(a);
    test_users(a);
    test_stats(a);
    test_digests(a);
    test_config(a);
    test_explain(a, d0, d1);
    test_errors(a);
    test_kill(a);
    if (a != NULL)
        mysql_close(a);

    teardown(d0, d1);
    if (d0 != NULL)
        mysql_close(d0);
    if (d1 != NULL)
        mysql_close(d1);
    it_diag("itest_admin ran %.1f s", it_now() - t_start);
    int rc = it_done();
    if (px.dir[0] != '\0')
        it_proxy_cleanup(&px, rc);
    return rc;
}
