/*
 * The admin console's commands that change a myshard, on a myshard of its
 * own (itest_admin checks the shared myshard's console).
 * Against a myshard this program starts (MYSHARD_BIN) whose replicas take
 * reads (weight 1):
 *   - SET BACKEND '<s0 replica>' OFFLINE sends the reads of shard s0 to its
 *     primary within about a second (@@server_id, read directly, is the
 *     witness), SHOW BACKENDS says offline; ONLINE brings them back; DRAIN
 *     answers draining; an unknown address gets a "myshard:" error;
 *   - RELOAD CONFIG applies a new user; a broken file gets an error naming
 *     file:line and the previous config keeps serving;
 *   - restarted with a live placement file (reshard.state) that moved
 *     user_hash's slots 512-767 to s0 and is moving 768-1023 to s0, a key
 *     of slot 525 is written to s0 (read directly: the YAML says s1) and
 *     one of slot 951 still to s1; EXPLAIN ROUTE shows both and marks the
 *     moving write; SHOW CONFIG lists the live slot_map; a new file (the
 *     cutover's) applies at RELOAD CONFIG: key 1 then goes to s0;
 *   - with a cleanup set (slots 768-1023 moved to s0, their stale rows still
 *     on s1, inserted directly), scatter COUNT(*)/SUM (plain and prepared)
 *     count each row once, a scatter UPDATE and DELETE report and change
 *     the owners' rows only, EXPLAIN ROUTE shows s1's filtered text and a
 *     UNION over the rule is refused.
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

/* ---------------------------------------------- this program's myshard */

static struct it_proxy px; /* this program's myshard */
static long long id_s0p = -1, id_s0r = -1;

/* The config of this program's myshard: the test cluster, replicas
 * reading (weight 1). extra_user adds NEW_USER; rule names the rule of
 * orders (BAD_RULE breaks the file). The line of that rule goes to
 * *rule_line. */
static char *
own_config(bool extra_user, const char *rule, int *rule_line)
{
    char *users = xprintf("users:\n"
                          "  - name: %s\n"
                          "    password: %s\n"
                          "    schemas: [shop]\n"
                          "%s",
                          it_user(), it_password(),
                          extra_user ? "  - name: " NEW_USER "\n"
                                       "    password: " NEW_PASS "\n"
                                       "    schemas: [shop]\n"
                                     : "");
    char *text = xprintf(
        "# written by itest_admin\n"
        "listen: 127.0.0.1:%u\n"
        "workers: 2\n"
        "shutdown_timeout: 3s\n"
        "handshake_timeout: 2s\n"
        "admin:\n"
        "  listen: 127.0.0.1:%u\n"
        "  http: 127.0.0.1:%u\n"
        "  user: %s\n"
        "  password: %s\n"
        "%s"
        "backend:\n"
        "  user: %s\n"
        "  password: %s\n"
        "  connect_timeout: 1s\n"
        "  pool:\n"
        "    max_connections: 20\n"
        "  health: { interval: 500ms, max_replica_lag: 2s, "
        "circuit: { failures: 3, open_for: 2s } }\n"
        "shards:\n"
        "  - name: s0\n"
        "    primary: %s\n"
        "    replicas:\n"
        "      - { addr: %s, weight: 1 }\n"
        "  - name: s1\n"
        "    primary: %s\n"
        "    replicas:\n"
        "      - { addr: %s, weight: 1 }\n"
        "sharding_rules:\n"
        "  user_hash: { type: hash, shards: [s0, s1], slots: 1024 }\n"
        "schemas:\n"
        "  - name: shop\n"
        "    default_shard: s0\n"
        "    tables:\n"
        "      - { name: " TO ", key: user_id, rule: %s }\n"
        "reshard: { state: \"%s/placement.yaml\" }\n",
        px.port, px.admin_port, px.http_port, admin_user, admin_password, users,
        it_env("BACKEND_USER", "myshard"), it_env("BACKEND_PASSWORD", "secret"),
        a_s0p, a_s0r, a_s1p, a_s1r, rule, px.dir);
    free(users);
    if (rule_line != NULL) {
        const char *at = strstr(text, "key: user_id, rule: ");
        int line = 1;
        for (const char *p = text; at != NULL && p < at; p++)
            line += *p == '\n';
        *rule_line = line;
    }
    return text;
}

/* @@server_id answering a read of TA on a new session of this program's
 * myshard; -1 on error. */
static long long
read_server_id(void)
{
    MYSQL *m = connect_port("127.0.0.1", px.port, it_user(), it_password(),
                            it_db(), NULL, NULL, 0);
    if (m == NULL)
        return -1;
    long long v = it_int(m, -1, "SELECT @@server_id FROM " TA " WHERE id = 1");
    mysql_close(m);
    return v;
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
    return "another server";
}

/* Polls reads until the server want answers; seconds taken or -1. */
static double
reads_reach(long long want, double timeout, long long *last)
{
    double t0 = it_now();
    do {
        *last = read_server_id();
        if (*last == want)
            return it_now() - t0;
        it_sleep_ms(100);
    } while (it_now() - t0 < timeout);
    return -1;
}

/* n reads in a row, all answered by want. */
static bool
reads_stay(long long want, int n)
{
    for (int i = 0; i < n; i++) {
        long long id = read_server_id();
        if (id != want) {
            it_diag("read %d: @@server_id %lld (%s)", i, id, who(id));
            return false;
        }
    }
    return true;
}

/* The state column of addr in SHOW BACKENDS on a ("" when absent). */
static void
backend_state(MYSQL *a, const char *addr, char *out, size_t size)
{
    struct rs *r = rs_run(a, "SHOW BACKENDS");
    long i = rs_find(r, "backend", addr);
    const char *st = i >= 0 ? rs_get(r, (size_t)i, "state") : NULL;
    snprintf(out, size, "%s", st != NULL ? st : "");
    rs_free(r);
}

/* <cmd> '<s0 replica>' <verb> on a (cmd: SET BACKEND in any case); checks the
 * answer row names addr and the state want. */
static bool
set_backend(MYSQL *a, const char *cmd, const char *verb, const char *want)
{
    struct rs *r = rs_run(a, "%s '%s' %s", cmd, a_s0r, verb);
    bool ok = false;
    char what[128];
    snprintf(what, sizeof(what), "%s '<s0 replica>' %s", cmd, verb);
    if (check_cols(r, what, "backend,state")) {
        ok = r->nrows == 1 && rs_get(r, 0, "backend") != NULL &&
             strcmp(rs_get(r, 0, "backend"), a_s0r) == 0 &&
             rs_get(r, 0, "state") != NULL &&
             strcmp(rs_get(r, 0, "state"), want) == 0;
        if (!check(ok, "%s: one row, %s %s", what, a_s0r, want))
            rs_diag(r, 3);
    }
    rs_free(r);
    return ok;
}

static void
test_set_backend(MYSQL *a)
{
    long long last = -1;
    /* the replica must have TA's row first */
    MYSQL *rep = it_connect_backend("S0_REPLICA_PORT", it_db());
    double end = it_now() + 15;
    long long n = -1;
    while (rep != NULL && it_now() < end) {
        if (mysql_query(rep, "SELECT COUNT(*) FROM " TA) == 0) {
            MYSQL_RES *res = mysql_store_result(rep);
            MYSQL_ROW row = res != NULL ? mysql_fetch_row(res) : NULL;
            n = row != NULL && row[0] != NULL ? atoll(row[0]) : -1;
            if (res != NULL)
                mysql_free_result(res);
        }
        if (n == 2)
            break;
        it_sleep_ms(200);
    }
    if (rep != NULL)
        mysql_close(rep);
    check(n == 2, "the s0 replica has " TA " (direct)");

    double t = reads_reach(id_s0r, 10, &last);
    if (!check(t >= 0, "reads of " TA " (default shard s0) through this "
                       "myshard go to the s0 replica (@@server_id)"))
        it_diag("last @@server_id %lld (%s)", last, who(last));
    if (!need(a, "SET BACKEND"))
        return;

    set_backend(a, "SET BACKEND", "OFFLINE", "offline");
    t = reads_reach(id_s0p, SWITCH_S, &last);
    if (!check(t >= 0,
               "after SET BACKEND OFFLINE the reads go to the s0 primary "
               "within %.1f s",
               SWITCH_S))
        it_diag("last @@server_id %lld (%s)", last, who(last));
    else
        it_diag("after %.2f s", t);
    check(t >= 0 && reads_stay(id_s0p, 10),
          "and stay there: 10 more reads by the s0 primary");
    char st[32];
    backend_state(a, a_s0r, st, sizeof(st));
    check_str(st, "offline", "SHOW BACKENDS: the s0 replica is offline");
    backend_state(a, a_s0p, st, sizeof(st));
    check_str(st, "online", "SHOW BACKENDS: the s0 primary stays online");

    set_backend(a, "set backend", "online;", "online");
    t = reads_reach(id_s0r, BACK_S, &last);
    if (!check(t >= 0,
               "after ONLINE the reads go back to the s0 replica "
               "within %.0f s",
               BACK_S))
        it_diag("last @@server_id %lld (%s)", last, who(last));
    backend_state(a, a_s0r, st, sizeof(st));
    check_str(st, "online", "SHOW BACKENDS: the s0 replica is online again");

    set_backend(a, "SET BACKEND", "DRAIN", "draining");
    set_backend(a, "SET BACKEND", "ONLINE", "online");

    struct rs *r = rs_run(a, "SET BACKEND '127.0.0.1:1' OFFLINE");
    check_myshard_error(r, 0, "SET BACKEND of an unknown address");
    rs_free(r);
    r = rs_run(a, "SHOW BACKENDS");
    check(r->set && r->nrows == 4, "the console goes on after that error");
    rs_free(r);
}

static void
reload_checks(MYSQL *a)
{
    unsigned err;
    char msg[256];
    MYSQL *m;
    struct rs *r = rs_run(a, "RELOAD CONFIG");
    if (check_cols(r, "RELOAD CONFIG", "status,detail")) {
        if (!check(r->nrows == 1, "RELOAD CONFIG: one row (%zu)", r->nrows))
            rs_diag(r, 3);
        else
            it_diag("status '%s', detail '%s'",
                    rs_get(r, 0, "status") ? rs_get(r, 0, "status") : "NULL",
                    rs_get(r, 0, "detail") ? rs_get(r, 0, "detail") : "NULL");
    }
    rs_free(r);
    double end = it_now() + 3;
    do {
        m = connect_port("127.0.0.1", px.port, NEW_USER, NEW_PASS, it_db(),
                         &err, msg, sizeof(msg));
        if (m == NULL)
            it_sleep_ms(100);
    } while (m == NULL && it_now() < end);
    if (!check(m != NULL && it_exec(m, "SELECT * FROM " TA " WHERE id = 1"),
               "RELOAD CONFIG: " NEW_USER " logs in and reads"))
        it_diag("%u %s", err, msg);
    if (m != NULL)
        mysql_close(m);

    /* a broken file: the error names it and its line, the old config
     * serves on */
    int line = 0;
    char *bad = own_config(true, BAD_RULE, &line);
    check(write_file(px.cfg, bad),
          "RELOAD CONFIG: %s broken on line %d (rule " BAD_RULE ")", px.cfg,
          line);
    free(bad);
    r = rs_run(a, "RELOAD CONFIG");
    check_myshard_error(r, 0, "RELOAD CONFIG of a broken file");
    const char *base = strrchr(px.cfg, '/');
    base = base != NULL ? base + 1 : px.cfg;
    char *where = xprintf("%s:%d", base, line);
    const char *at = strstr(r->msg, where);
    bool named =
        !r->ok && at != NULL && !isdigit((unsigned char)at[strlen(where)]);
    if (!check(named, "RELOAD CONFIG: the error names %s", where))
        it_diag("error %u: %s", r->err, r->msg);
    free(where);
    rs_free(r);
    m = connect_port("127.0.0.1", px.port, NEW_USER, NEW_PASS, it_db(), &err,
                     msg, sizeof(msg));
    if (!check(m != NULL && it_exec(m, "SELECT * FROM " TA " WHERE id = 1"),
               "RELOAD CONFIG: after the failed reload " NEW_USER
               " still logs in and reads (the old config serves)"))
        it_diag("%u %s", err, msg);
    if (m != NULL)
        mysql_close(m);
    m = connect_port("127.0.0.1", px.port, it_user(), it_password(), it_db(),
                     &err, msg, sizeof(msg));
    if (!check(m != NULL && it_exec(m, "INSERT INTO " TO
                                       " (id, user_id) VALUES (100, 100)"),
               "RELOAD CONFIG: and %s writes to the sharded " TO, it_user()))
        it_diag("%u %s", err, msg);
    if (m != NULL)
        mysql_close(m);
    r = rs_run(a, "SHOW VERSION");
    check(r->set && r->nrows == 1, "the console goes on after that error");
    rs_free(r);
}

static void
test_reload(MYSQL *a)
{
    unsigned err;
    char msg[256];
    MYSQL *m = connect_port("127.0.0.1", px.port, NEW_USER, NEW_PASS, it_db(),
                            &err, msg, sizeof(msg));
    check(m == NULL && err == 1045,
          "RELOAD CONFIG: " NEW_USER " is refused (1045) before the reload");
    if (m != NULL)
        mysql_close(m);
    else if (err != 1045)
        it_diag("%u %s", err, msg);

    char *good = own_config(true, "user_hash", NULL);
    check(write_file(px.cfg, good), "RELOAD CONFIG: %s gets user " NEW_USER,
          px.cfg);
    if (need(a, "RELOAD CONFIG"))
        reload_checks(a);
    /* the valid file again, for whatever reads it next */
    write_file(px.cfg, good);
    free(good);
}

/* The rows of TO with id on the primary of port_env, read directly. */
static long long
direct_count(const char *port_env, int id)
{
    MYSQL *d = it_connect_backend(port_env, it_db());
    long long n =
        it_int(d, -1, "SELECT COUNT(*) FROM " TO " WHERE id = %d", id);

    if (d != NULL)
        mysql_close(d);
    return n;
}

/* The value of EXPLAIN ROUTE's row item (the first), or "". */
static char *
explain_item(MYSQL *a, const char *sql, const char *item)
{
    struct rs *r = rs_run(a, "EXPLAIN ROUTE %s", sql);
    long i = r->set ? rs_find(r, "item", item) : -1;
    const char *v = i >= 0 ? rs_get(r, (size_t)i, "value") : NULL;
    char *out = xstrdup(v != NULL ? v : "");

    if (i < 0 && !r->set)
        it_diag("EXPLAIN ROUTE %s: %u %s", sql, r->err, r->msg);
    rs_free(r);
    return out;
}

/* Whether SHOW CONFIG has a row (line, text containing want). */
static bool
config_has(MYSQL *a, const char *line, const char *want)
{
    struct rs *r = rs_run(a, "SHOW CONFIG");
    bool found = false;

    for (size_t i = 0; r->set && i < r->nrows && !found; i++) {
        const char *l = rs_get(r, i, "line"), *t = rs_get(r, i, "text");
        found = l != NULL && t != NULL && strcmp(l, line) == 0 &&
                strstr(t, want) != NULL;
    }
    if (!found)
        rs_diag(r, 200);
    rs_free(r);
    return found;
}

/* Restarts this program's myshard over a live placement file: user_hash
 * (s0 0-511, s1 512-1023 in the YAML) has 512-767 on s0 and 768-1023
 * moving to s0 by reshard 9. Keys: 2 is slot 525, 1 is slot 951. */
static MYSQL *
test_live_placement(MYSQL *a)
{
    char *state = xprintf("%s/placement.yaml", px.dir);
    char *v;
    bool written = write_file(
        state, "# written by itest_admin_own\n"
               "rules:\n"
               "  user_hash:\n"
               "    slots: 1024\n"
               "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    slot_map: { s0: \"0-767\", s1: \"768-1023\" }\n"
               "    moving: { slots: \"768-1023\", target: s0, id: 9 }\n");
    MYSQL *m;

    free(state);
    if (a != NULL)
        mysql_close(a);
    check(it_proxy_stop(&px, SIGTERM, 8, NULL), "this program's myshard "
                                                "stops for the live placement");
    if (!check(written, "write the live placement file") ||
        !check(it_proxy_start(&px, NULL),
               "this program's myshard starts with the live placement"))
        return NULL;
    a = admin_connect(px.admin_port);
    m = it_proxy_connect(&px, it_user(), it_password(), it_db(), IO_S);
    if (!check(a != NULL && m != NULL, "client and admin logins"))
        return a;

    check(it_exec(m, "INSERT INTO " TO " (id, user_id) VALUES (300, 2)") &&
              it_exec(m, "INSERT INTO " TO " (id, user_id) VALUES (301, 1)"),
          "insert keys 2 (slot 525) and 1 (slot 951) through myshard");
    check_int(direct_count("S0_PRIMARY_PORT", 300), 1,
              "key 2 is on s0, where the live placement puts slot 525 "
              "(direct)");
    check_int(direct_count("S1_PRIMARY_PORT", 300), 0,
              "and not on s1, where the YAML would (direct)");
    check_int(direct_count("S1_PRIMARY_PORT", 301), 1,
              "key 1 (moving, slot 951) is still written to s1 (direct)");
    check_int(direct_count("S0_PRIMARY_PORT", 301), 0,
              "and not yet to s0 (direct)");
    check_int(it_int(m, -1, "SELECT id FROM " TO " WHERE user_id = 2"), 300,
              "key 2 reads back through myshard");
    mysql_close(m);

    v = explain_item(a, "INSERT INTO " TO " (id, user_id) VALUES (302, 2)",
                     "target");
    check(strncmp(v, "s0: ", 4) == 0,
          "EXPLAIN ROUTE: key 2 goes to s0 (target '%s')", v);
    free(v);
    v = explain_item(a, "INSERT INTO " TO " (id, user_id) VALUES (302, 2)",
                     "moving");
    check_str(v, "", "EXPLAIN ROUTE: key 2 is not moving");
    free(v);
    v = explain_item(a, "UPDATE " TO " SET id = id WHERE user_id = 1",
                     "moving");
    check_str(v, "reshard 9 of rule user_hash (writes held at cutover)",
              "EXPLAIN ROUTE: a write of key 1 touches reshard 9's keys");
    free(v);
    v = explain_item(a, "UPDATE " TO " SET id = id WHERE user_id = 1",
                     "target");
    check(strncmp(v, "s1: ", 4) == 0,
          "EXPLAIN ROUTE: and goes to s1, their owner (target '%s')", v);
    free(v);
    v = explain_item(a, "SELECT * FROM " TO " WHERE user_id = 1", "moving");
    check_str(v, "", "EXPLAIN ROUTE: a read is never marked");
    free(v);
    check(config_has(a, "state",
                     "slot_map: { \"s0\": \"0-767\", \"s1\": "
                     "\"768-1023\" }"),
          "SHOW CONFIG lists the live slot_map");
    check(config_has(a, "state",
                     "moving: { slots: \"768-1023\", target: \"s0\", id: "
                     "9 }"),
          "SHOW CONFIG lists the moving set");
    check(config_has(a, "state", "placement.yaml (reshard.state)"),
          "SHOW CONFIG names the state file");

    /* the cutover's file: 768-1023 on s0 too; RELOAD CONFIG reads it */
    state = xprintf("%s/placement.yaml", px.dir);
    written =
        write_file(state, "rules:\n"
                          "  user_hash:\n"
                          "    slots: 1024\n"
                          "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
                          "    slot_map: { s0: \"0-1023\" }\n");
    free(state);
    struct rs *r = rs_run(a, "RELOAD CONFIG");
    const char *detail =
        r->set && r->nrows == 1 ? rs_get(r, 0, "detail") : NULL;
    check(written && detail != NULL && strstr(detail, "sharding_rules"),
          "RELOAD CONFIG applies the new live placement (detail '%s')",
          detail != NULL ? detail : r->msg);
    rs_free(r);
    m = it_proxy_connect(&px, it_user(), it_password(), it_db(), IO_S);
    check(m != NULL &&
              it_exec(m, "INSERT INTO " TO " (id, user_id) VALUES (303, 1)"),
          "insert key 1 after the reload");
    if (m != NULL)
        mysql_close(m);
    check_int(direct_count("S0_PRIMARY_PORT", 303), 1,
              "key 1 (slot 951) is now written to s0 (direct)");
    check_int(direct_count("S1_PRIMARY_PORT", 303), 0,
              "and no longer to s1 (direct)");
    v = explain_item(a, "UPDATE " TO " SET id = id WHERE user_id = 1",
                     "moving");
    check_str(v, "", "EXPLAIN ROUTE: no moving set after the cutover's file");
    free(v);
    return a;
}

/* Runs sql on shard port_env's primary directly; false on error. */
static bool
direct_exec(const char *port_env, const char *sql)
{
    MYSQL *d = it_connect_backend(port_env, it_db());
    bool ok = d != NULL && it_exec(d, "%s", sql);

    if (d != NULL)
        mysql_close(d);
    return ok;
}

/* A prepared COUNT(*) of TO with user_id > v through m; -1 on error. */
static long long
prepared_count(MYSQL *m, int v)
{
    static const char *sql = "SELECT COUNT(*) FROM " TO " WHERE user_id > ?";
    MYSQL_STMT *ps = mysql_stmt_init(m);
    MYSQL_BIND in, out;
    long long n = -1;
    int param = v;

    if (ps == NULL)
        return -1;
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    in.buffer_type = MYSQL_TYPE_LONG;
    in.buffer = &param;
    out.buffer_type = MYSQL_TYPE_LONGLONG;
    out.buffer = &n;
    if (mysql_stmt_prepare(ps, sql, strlen(sql)) != 0 ||
        mysql_stmt_bind_param(ps, &in) != 0 || mysql_stmt_execute(ps) != 0 ||
        mysql_stmt_bind_result(ps, &out) != 0 || mysql_stmt_fetch(ps) != 0) {
        it_diag("prepared %s: %s", sql, mysql_stmt_error(ps));
        n = -1;
    }
    mysql_stmt_close(ps);
    return n;
}

/* After a cutover whose cleanup has not run: the live placement gives
 * slots 768-1023 to s0 and s1 still holds their rows (the cleanup set).
 * Keys: 10, 11, 12 are slots 0-511 (s0); 2, 3, 6 are 512-767 (s1); 1, 4,
 * 5 are 768-1023 (s0 now, stale copies on s1). A scatter counts and
 * updates each row once. */
static void
test_cleanup_filter(MYSQL *a)
{
    char *state = xprintf("%s/placement.yaml", px.dir);
    bool written = write_file(
        state, "rules:\n"
               "  user_hash:\n"
               "    slots: 1024\n"
               "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    slot_map: { s0: \"0-511,768-1023\", s1: \"512-767\" }\n"
               "    cleanup: { slots: \"768-1023\", source: s1, id: 9 }\n");
    struct rs *r;
    MYSQL *m;

    free(state);
    if (!check(a != NULL && written, "write the cleanup set's placement"))
        return;
    r = rs_run(a, "RELOAD CONFIG");
    check(r->set, "RELOAD CONFIG reads the cleanup set (%s)", r->msg);
    rs_free(r);
    check(direct_exec("S0_PRIMARY_PORT", "DELETE FROM " TO) &&
              direct_exec("S1_PRIMARY_PORT", "DELETE FROM " TO) &&
              direct_exec("S0_PRIMARY_PORT",
                          "INSERT INTO " TO " (id, user_id) VALUES (1001, "
                          "10), (1002, 11), (1003, 12), (1011, 1), (1012, "
                          "4), (1013, 5)") &&
              direct_exec("S1_PRIMARY_PORT",
                          "INSERT INTO " TO " (id, user_id) VALUES (1021, "
                          "2), (1022, 3), (1023, 6), (1011, 1), (1012, 4), "
                          "(1013, 5)"),
          "rows on their owners and stale copies of keys 1, 4, 5 on s1 "
          "(direct)");
    check_int(direct_count("S1_PRIMARY_PORT", 1012), 1,
              "s1 holds the stale copy of key 4 (direct)");
    check(config_has(a, "state",
                     "cleanup: { slots: \"768-1023\", source: \"s1\", id: "
                     "9 }"),
          "SHOW CONFIG lists the cleanup set");
    r = rs_run(a, "EXPLAIN ROUTE SELECT COUNT(*) FROM " TO);
    {
        bool filtered = false;
        for (size_t i = 0; r->set && i < r->nrows; i++) {
            const char *it = rs_get(r, i, "item"), *val = rs_get(r, i, "value");
            filtered |=
                it != NULL && val != NULL && strcmp(it, "target") == 0 &&
                strncmp(val, "s1: ", 4) == 0 &&
                strstr(val, "WHERE (CRC32(" TO ".`user_id`) % 1024 "
                            "BETWEEN 768 AND 1023) IS NOT TRUE") != NULL;
        }
        if (!filtered)
            rs_diag(r, 200);
        check(filtered, "EXPLAIN ROUTE shows s1's filtered text");
    }
    rs_free(r);

    m = it_proxy_connect(&px, it_user(), it_password(), it_db(), IO_S);
    if (!check(m != NULL, "client login"))
        return;
    check_int(it_int(m, -1, "SELECT COUNT(*) FROM " TO), 9,
              "a scatter COUNT(*) counts each of the 9 rows once (12 with "
              "the stale copies)");
    check_int(it_int(m, -1, "SELECT COUNT(*) FROM " TO " WHERE user_id > 3"), 6,
              "a scatter COUNT(*) with a WHERE counts 6 rows once");
    check_int(it_int(m, -1, "SELECT SUM(user_id) FROM " TO " o"),
              10 + 11 + 12 + 2 + 3 + 6 + 1 + 4 + 5,
              "a scatter SUM over an alias adds each row once");
    check_int(prepared_count(m, 3), 6,
              "a prepared scatter COUNT(*) counts 6 rows once at EXECUTE");
    check_int(it_int(m, -1, "SELECT COUNT(*) FROM " TO " WHERE user_id = 4"), 1,
              "key 4 reads from its owner");
    if (check(mysql_query(m, "UPDATE " TO " SET id = id + 10000") == 0,
              "a scatter UPDATE through myshard (%s)", mysql_error(m)))
        check_int((long long)mysql_affected_rows(m), 9,
                  "the scatter UPDATE reports the 9 rows, not the stale "
                  "copies");
    check_int(direct_count("S1_PRIMARY_PORT", 1012), 1,
              "the stale copy on s1 was not updated (direct)");
    check_int(direct_count("S0_PRIMARY_PORT", 11012), 1,
              "key 4's row on s0 was (direct)");
    if (check(mysql_query(m, "DELETE FROM " TO " WHERE user_id > 3") == 0,
              "a scatter DELETE through myshard (%s)", mysql_error(m)))
        check_int((long long)mysql_affected_rows(m), 6,
                  "the scatter DELETE reports 6 rows");
    check_int(it_int(m, -1, "SELECT COUNT(*) FROM " TO), 3, "3 rows are left");
    r = rs_run(m, "SELECT * FROM " TO " UNION SELECT * FROM " TO);
    check(!r->set && r->err == 1235, "a UNION over the rule is refused (%u %s)",
          r->err, r->msg);
    rs_free(r);
    mysql_close(m);
}

static void
test_own_proxy(void)
{
    bool have_bin = it_proxy_have_bin(&px);
    if (!check(have_bin && s0r != 0 && s1r != 0,
               "MYSHARD_BIN and the replicas' ports for a myshard of this "
               "program")) {
        it_diag("MYSHARD_BIN=%s", px.bin ? px.bin : "(unset)");
        return;
    }
    if (!it_proxy_dir(&px, "itest_admin")) {
        check(false, "mkdtemp %s: %s", px.dir, strerror(errno));
        return;
    }
    it_diag("this program's myshard: 127.0.0.1:%u, console 127.0.0.1:%u, "
            "files in %s",
            px.port, px.admin_port, px.dir);

    MYSQL *d = it_connect_backend("S0_PRIMARY_PORT", NULL);
    id_s0p = it_int(d, -1, "SELECT @@server_id");
    if (d != NULL)
        mysql_close(d);
    d = it_connect_backend("S0_REPLICA_PORT", NULL);
    id_s0r = it_int(d, -1, "SELECT @@server_id");
    if (d != NULL)
        mysql_close(d);
    if (!check(id_s0p > 0 && id_s0r > 0 && id_s0p != id_s0r,
               "the s0 primary and replica have distinct @@server_id "
               "(direct: %lld, %lld)",
               id_s0p, id_s0r))
        return;

    char *text = own_config(false, "user_hash", NULL);
    bool written = write_file(px.cfg, text);
    free(text);
    if (!check(written, "write %s (replicas with weight 1)", px.cfg))
        return;
    if (!check(it_proxy_start(&px, NULL), "this program's myshard starts"))
        return;
    MYSQL *a = admin_connect(px.admin_port);
    check(a != NULL, "admin login on this program's myshard");

    test_set_backend(a);
    test_reload(a);
    a = test_live_placement(a);
    test_cleanup_filter(a);

    if (a != NULL)
        mysql_close(a);
    int st = 0;
    double t0 = it_now();
    bool gone = it_proxy_stop(&px, SIGTERM, 8, &st);
    check(gone && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "this program's myshard exits 0 on SIGTERM (%.2f s)", it_now() - t0);
    bool clean = it_proxy_log_clean(&px);
    check(clean, "its log has no sanitizer report");
}

int
main(void)
{
    /* nothing here may wait long: a console that does not answer fails */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "15", 0);
    it_init("itest_admin_own");
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

    test_own_proxy();

    teardown(d0, d1);
    if (d0 != NULL)
        mysql_close(d0);
    if (d1 != NULL)
        mysql_close(d1);
    it_diag("itest_admin_own ran %.1f s", it_now() - t_start);
    int rc = it_done();
    if (px.dir[0] != '\0')
        it_proxy_cleanup(&px, rc);
    return rc;
}
