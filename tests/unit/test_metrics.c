/*
 * test_metrics.c - the admin pages rendered from a snapshot built by hand
 * (admin/metrics.h). The Prometheus text is read back by a strict checker
 * of the 0.0.4 format: every line is a HELP, a TYPE or a sample
 * `name{label="value",...} value`; each family has one HELP and one TYPE
 * before its samples, which come together; no series twice; histogram
 * buckets ascend, stay cumulative and end in +Inf equal to _count. The JSON
 * is checked by a strict RFC 8259 validator here, and by python3's json
 * module when python3 is there.
 */
#include "admin/metrics.h"

#include <check.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/snapshot.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "net/http.h"
#include "session/stats.h"

static const char yaml[] =
    "backend: { user: u }\n"
    "shards:\n"
    "  - name: s0\n"
    "    primary: 10.0.0.1:3306\n"
    "    replicas: [{ addr: 10.0.0.2:3306, zone: dc1 }]\n"
    "  - name: s1\n"
    "    primary: 10.0.0.3:3306\n"
    "    replicas: [{ addr: 10.0.0.4:3306 }]\n"
    "schemas: [{ name: db }]\n"
    "users:\n"
    "  - { name: app }\n"
    "  - { name: odd }\n"
    "  - { name: report }\n";

/* a user name needing every escape, and a byte that is not UTF-8 */
#define ODD_USER "we\"ird\\us\ner\xff"

static struct cfg *cfg;
static struct snapshot snap;
static struct health_row rows[4];
static struct snap_pool pools[4];

static void
setup(void)
{
    struct diag d;
    static const double us[] = {100, 2000, 2000, 30000, 3e6, 20e6};

    diag_init(&d);
    cfg = cfg_load_string("t.yaml", yaml, &d);
    ck_assert_msg(cfg != NULL, "the test config did not load");
    diag_free(&d);
    free(cfg->users[1].name);
    cfg->users[1].name = strdup(ODD_USER);

    memset(&snap, 0, sizeof(snap));
    snap.cfg = cfg;
    snap.uptime_ms = 12345;
    snap.nworkers = 2;
    snap.client_connections = 7;
    snap.xa_in_doubt = 3;
    snap.serving = true;

    memset(rows, 0, sizeof(rows));
    rows[0] = (struct health_row){.addr = "10.0.0.1:3306",
                                  .shard = 0,
                                  .role = "primary",
                                  .state = "online",
                                  .zone = "",
                                  .weight = 1,
                                  .lag_ms = -1,
                                  .conns = 3,
                                  .queries = 100,
                                  .errors = 1,
                                  .avg_latency_us = 250};
    rows[1] = (struct health_row){.addr = "10.0.0.2:3306",
                                  .shard = 0,
                                  .role = "replica",
                                  .state = "lagging",
                                  .zone = "dc1",
                                  .weight = 1,
                                  .lag_ms = 7500};
    rows[2] = (struct health_row){.addr = "10.0.0.3:3306",
                                  .shard = 1,
                                  .role = "primary",
                                  .state = "down",
                                  .zone = "",
                                  .weight = 1,
                                  .lag_ms = -1};
    /* unknown lag, and an address needing escapes (it is only a string) */
    rows[3] = (struct health_row){.addr = "10.0.0.4:3306\"\\\n\x01\xc3",
                                  .shard = 1,
                                  .role = "replica",
                                  .state = "circuit_open",
                                  .zone = "",
                                  .weight = 0,
                                  .lag_ms = -1};
    snap.backends = rows;
    snap.nbackends = 4;
    for (int i = 0; i < 4; i++)
        pools[i] = (struct snap_pool){.max = 50,
                                      .open = 4 + i,
                                      .in_use = 1 + i,
                                      .idle = 3,
                                      .connecting = i == 2,
                                      .waiting = i,
                                      .longest_wait_ms = 10 * i,
                                      .wait_hist = {5, 0, 2, 0, 0, 0, 0, 1},
                                      .wait_sum_ms = 2500};
    snap.pools = pools;

    STATS_ADD(&snap.totals, connections_total, 9);
    STATS_ADD(&snap.totals, queries_total, 42);
    STATS_ADD(&snap.totals, errors_total, 2);
    STATS_ADD(&snap.totals, pins_taken[0], 4); /* transaction */
    STATS_ADD(&snap.totals, pins_taken[9], 1); /* pool_session */
    for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++)
        stats_observe_us(&snap.totals, (int64_t)us[i]);

    snap.q_users = cfg->nusers;
    snap.q_shards = cfg->nshards;
    snap.queries = calloc((size_t)snap.q_users * (size_t)(snap.q_shards + 1) *
                              SR_COUNT * SK_COUNT,
                          sizeof(long long));
    SNAP_Q(&snap, 0, 1, SR_primary, SK_select) = 5; /* app, s0 */
    SNAP_Q(&snap, 0, 2, SR_replica, SK_select) = 3; /* app, s1 */
    SNAP_Q(&snap, 0, 0, SR_scatter, SK_select) = 2; /* app, several */
    SNAP_Q(&snap, 1, 2, SR_primary, SK_insert) = 1; /* odd, s1 */
    SNAP_Q(&snap, 2, 0, SR_proxy, SK_set) = 6;      /* report, none */

    snap.nusers = cfg->nusers;
    snap.users = calloc((size_t)snap.nusers, sizeof(*snap.users));
    STATS_ADD(&snap.users[0], queries, 10);
    snap.user_conns = calloc((size_t)snap.nusers, sizeof(long long));
    snap.user_conns[0] = 2;
    STATS_ADD(&snap.users[1], queries, 1);
    STATS_ADD(&snap.users[1], errors, 1);
    STATS_ADD(&snap.users[2], rate_limited, 8);
}

static void
teardown(void)
{
    free(snap.queries);
    free(snap.user_conns);
    snap.user_conns = NULL;
    free(snap.users);
    cfg_put(cfg);
}

static char *
drain(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);

    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

static char *
prometheus(void)
{
    struct evbuffer *b = evbuffer_new();

    metrics_render_prometheus(&snap, b);
    return drain(b);
}

static char *
status_json(void)
{
    struct evbuffer *b = evbuffer_new();

    metrics_render_status_json(&snap, b);
    return drain(b);
}

/* --- a strict reader of the text format ----------------------------------- */

#define MAXF 64

struct fam {
    char name[96];
    char type[16];
    int help, typ;
    bool samples_done; /* another family's samples came after ours */
};

struct series {
    char *key[512]; /* name{labels} as written */
    int n;
};

struct expo {
    struct fam f[MAXF];
    int nf;
    struct series seen;
    int cur;    /* family of the last line, -1 none */
    int nlines; /* samples */
};

static bool
is_name(const char *s, size_t n, bool metric)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_' || (metric && c == ':');

        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static bool
is_value(const char *s)
{
    char *end;

    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 ||
        strcmp(s, "NaN") == 0)
        return true;
    if (*s == '\0' || *s == ' ')
        return false;
    (void)strtod(s, &end);
    return *end == '\0';
}

static int
fam_find(struct expo *e, const char *name, size_t n)
{
    for (int i = 0; i < e->nf; i++)
        if (strlen(e->f[i].name) == n && memcmp(e->f[i].name, name, n) == 0)
            return i;
    return -1;
}

static int
fam_get(struct expo *e, const char *name, size_t n)
{
    int i = fam_find(e, name, n);

    if (i >= 0)
        return i;
    ck_assert_int_lt(e->nf, MAXF);
    ck_assert_uint_lt(n, sizeof(e->f[0].name));
    memset(&e->f[e->nf], 0, sizeof(e->f[0]));
    memcpy(e->f[e->nf].name, name, n);
    return e->nf++;
}

/* The family a sample name belongs to: itself, or for histograms the name
 * without _bucket/_sum/_count. */
static int
fam_of_sample(struct expo *e, const char *name, size_t n)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    int i = fam_find(e, name, n);

    if (i >= 0)
        return i;
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(sfx[k]);

        if (n > l && memcmp(name + n - l, sfx[k], l) == 0) {
            i = fam_find(e, name, n - l);
            if (i >= 0 && strcmp(e->f[i].type, "histogram") == 0)
                return i;
        }
    }
    return -1;
}

static void
check_sample(struct expo *e, const char *line, int lineno)
{
    const char *p = line, *name = line;
    size_t nlen, keylen;
    int fi;

    while (*p && *p != '{' && *p != ' ')
        p++;
    nlen = (size_t)(p - name);
    ck_assert_msg(is_name(name, nlen, true), "line %d: bad name: %s", lineno,
                  line);
    if (*p == '{') {
        p++;
        ck_assert_msg(*p != '}', "line %d: empty label set", lineno);
        for (;;) {
            const char *ln = p;

            while (*p && *p != '=')
                p++;
            ck_assert_msg(is_name(ln, (size_t)(p - ln), false),
                          "line %d: bad label name: %s", lineno, line);
            ck_assert_msg(p[0] == '=' && p[1] == '"',
                          "line %d: label without =\": %s", lineno, line);
            p += 2;
            while (*p && *p != '"') {
                if (*p == '\\') {
                    ck_assert_msg(p[1] == '\\' || p[1] == '"' || p[1] == 'n',
                                  "line %d: bad escape: %s", lineno, line);
                    p++;
                }
                ck_assert_msg(*p != '\n', "line %d: raw newline", lineno);
                p++;
            }
            ck_assert_msg(*p == '"', "line %d: unterminated value", lineno);
            p++;
            if (*p == ',') {
                p++;
                continue;
            }
            ck_assert_msg(*p == '}', "line %d: expected } in %s", lineno, line);
            p++;
            break;
        }
    }
    keylen = (size_t)(p - line);
    ck_assert_msg(*p == ' ', "line %d: no space before value: %s", lineno,
                  line);
    p++;
    ck_assert_msg(is_value(p), "line %d: bad value '%s'", lineno, p);

    fi = fam_of_sample(e, name, nlen);
    ck_assert_msg(fi >= 0, "line %d: sample of an undeclared family: %s",
                  lineno, line);
    ck_assert_msg(e->f[fi].help == 1 && e->f[fi].typ == 1,
                  "line %d: sample before HELP and TYPE: %s", lineno, line);
    ck_assert_msg(!e->f[fi].samples_done,
                  "line %d: family %s's samples are not together", lineno,
                  e->f[fi].name);
    if (e->cur >= 0 && e->cur != fi)
        e->f[e->cur].samples_done = true;
    e->cur = fi;
    for (int i = 0; i < e->seen.n; i++)
        ck_assert_msg(strlen(e->seen.key[i]) != keylen ||
                          memcmp(e->seen.key[i], line, keylen) != 0,
                      "line %d: series twice: %s", lineno, line);
    ck_assert_int_lt(e->seen.n, 512);
    e->seen.key[e->seen.n++] = strndup(line, keylen);
    e->nlines++;
}

/* Checks the whole exposition; fills e. */
static void
check_exposition(const char *text, struct expo *e)
{
    char *copy = strdup(text), *line, *save = NULL;
    int lineno = 0;
    size_t len = strlen(text);

    memset(e, 0, sizeof(*e));
    e->cur = -1;
    ck_assert_msg(len > 0 && text[len - 1] == '\n', "no final newline");
    ck_assert_msg(strstr(text, "\n\n") == NULL, "empty line");
    for (line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        ck_assert_msg(line[strlen(line) - 1] != ' ', "line %d: trailing space",
                      lineno);
        if (strncmp(line, "# HELP ", 7) == 0 ||
            strncmp(line, "# TYPE ", 7) == 0) {
            bool help = line[2] == 'H';
            const char *name = line + 7, *sp = strchr(name, ' ');
            int fi;

            ck_assert_msg(sp != NULL, "line %d: %s", lineno, line);
            ck_assert(is_name(name, (size_t)(sp - name), true));
            fi = fam_get(e, name, (size_t)(sp - name));
            if (help) {
                ck_assert_msg(e->f[fi].help == 0, "line %d: second HELP: %s",
                              lineno, line);
                e->f[fi].help = 1;
            } else {
                const char *t = sp + 1;

                ck_assert_msg(e->f[fi].typ == 0, "line %d: second TYPE: %s",
                              lineno, line);
                ck_assert_msg(
                    strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
                        strcmp(t, "histogram") == 0 ||
                        strcmp(t, "summary") == 0 || strcmp(t, "untyped") == 0,
                    "line %d: bad type %s", lineno, t);
                e->f[fi].typ = 1;
                snprintf(e->f[fi].type, sizeof(e->f[fi].type), "%s", t);
            }
            /* a family declared after its samples started elsewhere */
            ck_assert_msg(!e->f[fi].samples_done, "line %d: %s reopened",
                          lineno, line);
            continue;
        }
        ck_assert_msg(line[0] != '#', "line %d: stray comment %s", lineno,
                      line);
        check_sample(e, line, lineno);
    }
    for (int i = 0; i < e->nf; i++)
        ck_assert_msg(e->f[i].help == 1 && e->f[i].typ == 1,
                      "family %s lacks HELP or TYPE", e->f[i].name);
    for (int i = 0; i < e->seen.n; i++)
        free(e->seen.key[i]);
    free(copy);
}

/* The value of the sample line starting with prefix (name and labels as
 * written); fails when absent. */
static double
value_of(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    ck_abort_msg("no sample %s", series);
    return 0;
}

static bool
has_series(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, series, n) == 0 && (p[n] == ' ' || p[n] == '{'))
            return true;
    }
    return false;
}

/* --- a strict JSON validator ---------------------------------------------- */

static const char *json_value(const char *p, int depth);

static const char *
ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *
json_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p != '"'; p++) {
        unsigned char c = (unsigned char)*p;

        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        } else if (c >= 0x80) {
            int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;

            if (n < 0 || c > 0xf4)
                return NULL;
            for (int i = 1; i <= n; i++)
                if ((p[i] & 0xc0) != 0x80)
                    return NULL;
            p += n;
        }
    }
    return p + 1;
}

static const char *
json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *
json_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    p = ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';

        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = json_string(ws(p));
                if (p == NULL)
                    return NULL;
                p = ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = json_value(p, depth + 1);
            if (p == NULL)
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    return json_number(p);
}

static bool
json_valid(const char *text)
{
    const char *end = json_value(text, 0);

    return end != NULL && *ws(end) == '\0';
}

static int
count(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* --- tests ---------------------------------------------------------------- */

START_TEST(test_prometheus_format)
{
    char *t = prometheus();
    struct expo e;

    check_exposition(t, &e);
    ck_assert_int_gt(e.nlines, 40);
    /* every family asked for */
    {
        static const char *const fams[] = {
            "myshard_connections_total",
            "myshard_connections_refused_total",
            "myshard_queries_total",
            "myshard_errors_total",
            "myshard_xa_commits_total",
            "myshard_client_bytes_out_total",
            "myshard_query_duration_seconds",
            "myshard_client_connections",
            "myshard_xa_in_doubt",
            "myshard_backend_connections",
            "myshard_backend_up",
            "myshard_replica_lag_seconds",
            "myshard_circuit_open",
            "myshard_pool_waiting",
            "myshard_pins_total",
            "myshard_user_queries_total",
            "myshard_user_connections",
            "myshard_rate_limited_total",
            "myshard_uptime_seconds",
        };

        for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
            ck_assert_msg(fam_find(&e, fams[i], strlen(fams[i])) >= 0,
                          "family %s missing", fams[i]);
    }
    ck_assert_str_eq(
        e.f[fam_find(&e, "myshard_query_duration_seconds", 30)].type,
        "histogram");
    ck_assert_str_eq(e.f[fam_find(&e, "myshard_errors_total", 20)].type,
                     "counter");
    ck_assert_str_eq(e.f[fam_find(&e, "myshard_backend_up", 18)].type, "gauge");
    free(t);
}
END_TEST

START_TEST(test_prometheus_values)
{
    char *t = prometheus();

    ck_assert_int_eq(value_of(t, "myshard_connections_total"), 9);
    ck_assert_int_eq(value_of(t, "myshard_errors_total"), 2);
    ck_assert_int_eq(value_of(t, "myshard_client_connections"), 7);
    ck_assert_int_eq(value_of(t, "myshard_xa_in_doubt"), 3);
    /* the config's default max_replica_lag */
    ck_assert(fabs(value_of(t, "myshard_replica_max_lag_seconds") - 5.0) <
              1e-9);
    ck_assert(fabs(value_of(t, "myshard_uptime_seconds") - 12.345) < 1e-9);

    /* queries by user, shard, role, kind: non-zero cells only */
    ck_assert_int_eq(value_of(t, "myshard_queries_total{user=\"app\",shard="
                                 "\"s0\",role=\"primary\",kind=\"select\"}"),
                     5);
    ck_assert_int_eq(value_of(t, "myshard_queries_total{user=\"app\",shard="
                                 "\"s1\",role=\"replica\",kind=\"select\"}"),
                     3);
    ck_assert_int_eq(value_of(t, "myshard_queries_total{user=\"app\",shard="
                                 "\"\",role=\"scatter\",kind=\"select\"}"),
                     2);
    ck_assert_int_eq(value_of(t, "myshard_queries_total{user=\"report\","
                                 "shard=\"\",role=\"proxy\",kind=\"set\"}"),
                     6);
    /* the odd name: \" \\ \n escaped, the 0xff byte as U+FFFD */
    ck_assert_int_eq(
        value_of(t, "myshard_queries_total{user=\"we\\\"ird\\\\us\\ner"
                    "\xef\xbf\xbd\",shard=\"s1\",role=\"primary\","
                    "kind=\"insert\"}"),
        1);
    ck_assert_int_eq(count(t, "myshard_queries_total{"), 5);
    ck_assert(!has_series(t, "myshard_queries_total "));

    /* the histogram: 100us, 2ms, 2ms, 30ms, 3s, 20s */
    ck_assert_int_eq(
        value_of(t, "myshard_query_duration_seconds_bucket{le=\"0.0005\"}"), 1);
    ck_assert_int_eq(
        value_of(t, "myshard_query_duration_seconds_bucket{le=\"0.0025\"}"), 3);
    ck_assert_int_eq(
        value_of(t, "myshard_query_duration_seconds_bucket{le=\"0.05\"}"), 4);
    ck_assert_int_eq(
        value_of(t, "myshard_query_duration_seconds_bucket{le=\"5\"}"), 5);
    ck_assert_int_eq(
        value_of(t, "myshard_query_duration_seconds_bucket{le=\"10\"}"), 5);
    ck_assert_int_eq(
        value_of(t, "myshard_query_duration_seconds_bucket{le=\"+Inf\"}"), 6);
    ck_assert_int_eq(value_of(t, "myshard_query_duration_seconds_count"), 6);
    ck_assert(fabs(value_of(t, "myshard_query_duration_seconds_sum") -
                   23.0341) < 1e-6);

    /* backends */
    ck_assert_int_eq(
        value_of(t, "myshard_backend_up{backend=\"10.0.0.1:3306\"}"), 1);
    ck_assert_int_eq(
        value_of(t, "myshard_backend_up{backend=\"10.0.0.2:3306\"}"), 1);
    ck_assert_int_eq(
        value_of(t, "myshard_backend_up{backend=\"10.0.0.3:3306\"}"), 0);
    ck_assert_int_eq(value_of(t, "myshard_backend_up{backend=\"10.0.0.4:3306"
                                 "\\\"\\\\\\n\x01\xef\xbf\xbd\"}"),
                     0);
    ck_assert_int_eq(value_of(t, "myshard_circuit_open{backend=\"10.0.0.4:3306"
                                 "\\\"\\\\\\n\x01\xef\xbf\xbd\"}"),
                     1);
    ck_assert_int_eq(
        value_of(t, "myshard_circuit_open{backend=\"10.0.0.3:3306\"}"), 0);
    ck_assert(fabs(value_of(t, "myshard_replica_lag_seconds{backend=\"10.0.0."
                               "2:3306\"}") -
                   7.5) < 1e-9);
    ck_assert_int_eq(count(t, "myshard_replica_lag_seconds{"), 1);
    ck_assert_int_eq(value_of(t, "myshard_backend_info{backend=\"10.0.0.2:"
                                 "3306\",shard=\"s0\",role=\"replica\","
                                 "zone=\"dc1\"}"),
                     1);
    ck_assert_int_eq(value_of(t, "myshard_backend_connections{backend=\"10.0."
                                 "0.3:3306\",state=\"in_use\"}"),
                     3);
    ck_assert_int_eq(value_of(t, "myshard_backend_connections{backend=\"10.0."
                                 "0.3:3306\",state=\"idle\"}"),
                     3);
    ck_assert_int_eq(
        value_of(t, "myshard_pool_waiting{backend=\"10.0.0.2:3306\"}"), 1);
    /* pool waits: cumulative buckets, +Inf is the count, sum in seconds */
    ck_assert_int_eq(value_of(t, "myshard_pool_wait_seconds_bucket{backend="
                                 "\"10.0.0.2:3306\",le=\"0.001\"}"),
                     5);
    ck_assert_int_eq(value_of(t, "myshard_pool_wait_seconds_bucket{backend="
                                 "\"10.0.0.2:3306\",le=\"0.01\"}"),
                     7);
    ck_assert_int_eq(value_of(t, "myshard_pool_wait_seconds_bucket{backend="
                                 "\"10.0.0.2:3306\",le=\"1\"}"),
                     7);
    ck_assert_int_eq(value_of(t, "myshard_pool_wait_seconds_bucket{backend="
                                 "\"10.0.0.2:3306\",le=\"+Inf\"}"),
                     8);
    ck_assert_int_eq(value_of(t, "myshard_pool_wait_seconds_count{backend="
                                 "\"10.0.0.2:3306\"}"),
                     8);
    ck_assert(fabs(value_of(t, "myshard_pool_wait_seconds_sum{backend="
                               "\"10.0.0.2:3306\"}") -
                   2.5) < 1e-9);
    ck_assert_int_eq(
        value_of(t, "myshard_backend_queries_total{backend=\"10.0.0.1:3306\"}"),
        100);

    /* pins: the ten reasons, no unused bit */
    ck_assert_int_eq(count(t, "myshard_pins_total{"), 10);
    ck_assert_int_eq(value_of(t, "myshard_pins_total{reason=\"transaction\"}"),
                     4);
    ck_assert_int_eq(value_of(t, "myshard_pins_total{reason=\"pool_session\"}"),
                     1);
    ck_assert_int_eq(value_of(t, "myshard_pins_total{reason=\"temp_table\"}"),
                     0);

    /* users */
    ck_assert_int_eq(value_of(t, "myshard_user_queries_total{user=\"app\"}"),
                     10);
    ck_assert_int_eq(value_of(t, "myshard_user_connections{user=\"app\"}"), 2);
    ck_assert_int_eq(value_of(t, "myshard_rate_limited_total{user=\"report\"}"),
                     8);
    free(t);
}
END_TEST

/* The buckets and the count are read while workers count, so the count
 * can come out behind the buckets' sum: the exposition stays cumulative
 * and +Inf equals _count. */
START_TEST(test_histogram_cumulative)
{
    char *t;
    double prev = -1, inf;

    memset(&snap.totals, 0, sizeof(snap.totals));
    for (int i = 0; i < STATS_NBUCKETS; i++)
        atomic_store(&snap.totals.duration_in[i], i < 7 ? 1 : 0);
    atomic_store(&snap.totals.duration_count, 6);
    t = prometheus();
    for (const char *p = strstr(t, "myshard_query_duration_seconds_bucket{");
         p != NULL;
         p = strstr(p + 1, "myshard_query_duration_seconds_bucket{")) {
        double v = strtod(strchr(p, ' ') + 1, NULL);

        ck_assert(v >= prev);
        prev = v;
    }
    inf = value_of(t, "myshard_query_duration_seconds_bucket{le=\"+Inf\"}");
    ck_assert(inf == prev);
    ck_assert(value_of(t, "myshard_query_duration_seconds_count") == inf);
    ck_assert_int_eq(inf, 7);
    {
        struct expo e;

        check_exposition(t, &e);
    }
    free(t);
}
END_TEST

/* A snapshot without the per-label table, pools or users still renders a
 * valid exposition. */
START_TEST(test_prometheus_sparse)
{
    char *t;
    struct expo e;

    free(snap.queries);
    snap.queries = NULL;
    free(snap.users);
    snap.users = NULL;
    snap.nusers = 0;
    snap.pools = NULL;
    snap.nbackends = 0;
    t = prometheus();
    check_exposition(t, &e);
    ck_assert_int_eq(value_of(t, "myshard_queries_total"), 42);
    ck_assert(!has_series(t, "myshard_backend_connections"));
    ck_assert(fam_find(&e, "myshard_backend_connections", 27) >= 0);
    free(t);
}
END_TEST

START_TEST(test_status_json)
{
    char *j = status_json();
    char want[64];

    ck_assert_msg(json_valid(j), "invalid JSON: %s", j);
    snprintf(want, sizeof(want), "{\"version\":\"%s\",", MYSHARD_VERSION);
    ck_assert_msg(strncmp(j, want, strlen(want)) == 0, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"uptime_seconds\":12.345,"));
    ck_assert_ptr_nonnull(strstr(j, "\"workers\":2,"));
    ck_assert_ptr_nonnull(
        strstr(j, "\"client_connections\":7,\"xa_in_doubt\":3,"));
    ck_assert_ptr_nonnull(strstr(
        j, "\"shards\":[{\"name\":\"s0\",\"primary\":\"10.0.0.1:3306\","
           "\"replicas\":[\"10.0.0.2:3306\"]},{\"name\":\"s1\",\"primary\":"
           "\"10.0.0.3:3306\",\"replicas\":[\"10.0.0.4:3306\"]}]"));
    ck_assert_int_eq(count(j, "{\"addr\":"), 4);
    ck_assert_ptr_nonnull(
        strstr(j, "{\"addr\":\"10.0.0.2:3306\",\"shard\":\"s0\",\"role\":"
                  "\"replica\",\"state\":\"lagging\",\"zone\":\"dc1\","
                  "\"weight\":1,\"lag_ms\":7500,"));
    ck_assert_ptr_nonnull(
        strstr(j, "{\"addr\":\"10.0.0.1:3306\",\"shard\":\"s0\",\"role\":"
                  "\"primary\",\"state\":\"online\",\"zone\":\"\",\"weight\":"
                  "1,\"lag_ms\":null,\"conns\":3,\"queries\":100,\"errors\":1,"
                  "\"avg_latency_us\":250}"));
    /* the odd address: escapes, a control character, a cut sequence */
    ck_assert_ptr_nonnull(
        strstr(j, "\"addr\":\"10.0.0.4:3306\\\"\\\\\\n\\u0001\\ufffd\""));
    ck_assert_int_eq(count(j, "{\"backend\":"), 4);
    ck_assert_ptr_nonnull(
        strstr(j, "{\"backend\":\"10.0.0.3:3306\",\"max\":50,\"open\":6,"
                  "\"in_use\":3,\"idle\":3,\"connecting\":1,\"waiting\":2,"
                  "\"longest_wait_ms\":20}"));

    /* python's parser agrees, where there is one */
    if (system("python3 -c '' >/dev/null 2>&1") == 0) {
        FILE *py = popen("python3 -c 'import json,sys; "
                         "d = json.load(sys.stdin); "
                         "assert len(d[\"backends\"]) == 4; "
                         "assert len(d[\"shards\"]) == 2'",
                         "w");

        ck_assert_ptr_nonnull(py);
        fputs(j, py);
        ck_assert_int_eq(pclose(py), 0);
    }
    free(j);

    snap.pools = NULL;
    j = status_json();
    ck_assert(json_valid(j));
    ck_assert_ptr_nonnull(strstr(j, "\"pools\":[],"));
    free(j);
}
END_TEST

/* /status's users, counters and digests (the dashboard reads them) */
START_TEST(test_status_json_dashboard)
{
    struct snap_digest d[METRICS_STATUS_DIGESTS + 5];
    char *j;

    memset(d, 0, sizeof(d));
    for (int i = 0; i < METRICS_STATUS_DIGESTS + 5; i++) {
        snprintf(d[i].text, sizeof(d[i].text), "SELECT %d", i);
        d[i].count = 2;
        d[i].total_us = 1000 - i;
        d[i].max_us = 900;
    }
    /* user SQL: markup and quotes come out as JSON text */
    snprintf(d[0].text, sizeof(d[0].text),
             "SELECT `<img src=x onerror=\"alert(1)\">` FROM t WHERE a = ?");
    snap.digests = d;
    snap.ndigests = METRICS_STATUS_DIGESTS + 5;
    j = status_json();
    ck_assert_msg(json_valid(j), "invalid JSON: %s", j);
    ck_assert_int_eq(count(j, "{\"digest\":"), METRICS_STATUS_DIGESTS);
    ck_assert_ptr_nonnull(
        strstr(j, "\"digests\":[{\"digest\":\"SELECT `<img src=x "
                  "onerror=\\\"alert(1)\\\">` FROM t WHERE a = ?\","
                  "\"count\":2,\"total_us\":1000,\"max_us\":900,"
                  "\"errors\":0}"));
    ck_assert_ptr_null(strstr(j, "SELECT 20\""));
    ck_assert_ptr_nonnull(
        strstr(j, "\"users\":[{\"name\":\"app\",\"connections\":2,"
                  "\"queries\":10,\"errors\":0,\"rate_limited\":0},"));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"report\",\"connections\":0,"
                                    "\"queries\":0,\"errors\":0,"
                                    "\"rate_limited\":8}]"));
    ck_assert_ptr_nonnull(
        strstr(j, "\"counters\":{\"connections_total\":9,"
                  "\"connections_refused_total\":0,\"queries_total\":42,"
                  "\"errors_total\":2,"));
    ck_assert_ptr_nonnull(strstr(j, "\"limit_refused_total\":0,"));
    free(j);
    snap.digests = NULL;
    snap.ndigests = 0;
    j = status_json();
    ck_assert_ptr_nonnull(strstr(j, "\"digests\":[]}"));
    free(j);
}
END_TEST

START_TEST(test_json_validator)
{
    /* the validator itself refuses what it must */
    ck_assert(json_valid("{\"a\":[1,2.5,-0,1e3,true,false,null,\"\\u00e9\"]}"));
    ck_assert(!json_valid("{\"a\":1,}"));
    ck_assert(!json_valid("{\"a\" 1}"));
    ck_assert(!json_valid("[01]"));
    ck_assert(!json_valid("[\"\x01\"]"));
    ck_assert(!json_valid("[\"\\x\"]"));
    ck_assert(!json_valid("[\"\xff\"]"));
    ck_assert(!json_valid("[1] 2"));
}
END_TEST

static int
reply(const char *path, char **body, const char **type)
{
    struct http_reply r = {200, "text/plain", evbuffer_new()};

    metrics_http_reply(&snap, path, &r);
    *type = r.content_type;
    *body = drain(r.body);
    return r.status;
}

START_TEST(test_http_reply)
{
    char *body;
    const char *type;

    ck_assert_int_eq(reply("/metrics", &body, &type), 200);
    ck_assert_str_eq(type, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(body, "# TYPE myshard_backend_up gauge\n"));
    free(body);
    ck_assert_int_eq(reply("/status", &body, &type), 200);
    ck_assert_str_eq(type, "application/json");
    ck_assert(json_valid(body));
    free(body);
    ck_assert_int_eq(reply("/healthz", &body, &type), 200);
    ck_assert_str_eq(body, "ok\n");
    free(body);
    snap.serving = false;
    ck_assert_int_eq(reply("/healthz", &body, &type), 503);
    free(body);
    /* "/" is the dashboard's (admin/dashboard.h), not a metrics page */
    ck_assert_int_eq(reply("/", &body, &type), 404);
    free(body);
    ck_assert_int_eq(reply("/nope", &body, &type), 404);
    free(body);
    ck_assert_int_eq(reply("/metrics/", &body, &type), 404);
    free(body);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_prometheus_format);
    tcase_add_test(tc, test_prometheus_values);
    tcase_add_test(tc, test_histogram_cumulative);
    tcase_add_test(tc, test_prometheus_sparse);
    tcase_add_test(tc, test_status_json);
    tcase_add_test(tc, test_status_json_dashboard);
    tcase_add_test(tc, test_json_validator);
    tcase_add_test(tc, test_http_reply);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
