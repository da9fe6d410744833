/*
 * console.c - see console.h. Owns the console's commands and its thread;
 * a connection's life up to the login is console_login.c's.
 *
 *   (logged in) ─► COM_QUERY ─► the command table ─► one result set (or an
 *   error)
 *
 * Commands read a snapshot (admin/snapshot.h), the same one GET /status and
 * /metrics render; SET BACKEND, KILL CLIENT and RELOAD CONFIG act through
 * the health atomics, the workers' inboxes and the proxy's reload.
 */
#include "admin/console.h"
#include "console_internal.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend/cluster.h"
#include "backend/health.h"
#include "backend/server.h"
#include "backend/tablemeta.h"
#include "base/clock.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"
#include "admin/dashboard.h"
#include "admin/history.h"
#include "admin/metrics.h"
#include "net/conn.h"
#include "net/http.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "route/router.h"
#include "session/lexstate.h"
#include "session/protect.h"
#include "session/session.h"
#include "session/session_types.h"
#include "session/tablecols.h"
#include "sql/classify.h"

/* ---- a result set under construction ------------------------------------ */

void
console_row(struct console_table *t, ...)
{
    va_list ap;

    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells,
                            (size_t)t->cap * (size_t)t->ncols * sizeof(char *));
    }
    va_start(ap, t);
    for (int i = 0; i < t->ncols; i++) {
        const char *v = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + i] = v ? xstrdup(v) : NULL;
    }
    va_end(ap);
    t->nrows++;
}

/* A number as a cell (static ring: valid until 16 more calls). */
const char *
console_num(long long n)
{
    static char ring[16][24];
    static int k;
    char *b = ring[k++ % 16];

    snprintf(b, 24, "%lld", n);
    return b;
}

const char *
console_fixed(double x, int decimals)
{
    static char ring[8][32];
    static int k;
    char *b = ring[k++ % 8];

    snprintf(b, 32, "%.*f", decimals, x);
    return b;
}

void
console_send_table(struct admin_conn *ac, struct console_table *t)
{
    struct rs_writer w;

    rs_begin(&w, ac->conn->out, ac->seq, false, SERVER_STATUS_AUTOCOMMIT);
    rs_columns_text(&w, t->cols, (size_t)t->ncols);
    for (int r = 0; r < t->nrows; r++)
        rs_row(&w, (const char *const *)&t->cells[r * t->ncols], NULL);
    rs_end(&w);
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

void
console_error(struct admin_conn *ac, uint16_t code, const char *state,
              const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    uint8_t seq = ac->seq;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    proto_write_err(ac->conn->out, &seq, code, state, "%s", msg);
}

void
console_ok(struct admin_conn *ac)
{
    uint8_t seq = ac->seq;
    proto_write_ok(ac->conn->out, &seq, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0,
                   NULL);
}

/* ---- commands ---------------------------------------------------------- */

typedef void (*cmd_fn)(struct admin_conn *ac, const char *args);

struct admin_cmd {
    const char *name; /* words, matched case-insensitively */
    const char *usage;
    const char *help;
    cmd_fn fn;
};

static const struct admin_cmd *commands(int *n);
static const char *match_words(const char *q, const char *name);

static void
cmd_help(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"command", "description"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    int n;
    const struct admin_cmd *c = commands(&n);

    (void)args;
    for (int i = 0; i < n; i++)
        console_row(&t, c[i].usage, c[i].help);
    console_send_table(ac, &t);
}

static void
cmd_version(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"version", "build", "started_at",
                                       "uptime_seconds"};
    struct console_table t = {cols, 4, NULL, 0, 0};
    const struct admin_view *v = ac->con->v;
    char started[32];
    time_t st = (time_t)v->started_wall;
    struct tm tm;

    (void)args;
    gmtime_r(&st, &tm);
    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
    console_row(&t, MYSHARD_VERSION, MYSHARD_SERVER_VERSION, started,
                console_num((clock_ms() - v->started_ms) / 1000));
    console_send_table(ac, &t);
}

/* The instances sharing cluster.redis; the first row is Redis itself. */
static void
cmd_cluster(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {
        "name",   "address",           "version", "generation",
        "config", "last_heartbeat_ms", "state"};
    struct console_table t = {cols, 7, NULL, 0, 0};
    struct cluster_row *rows;
    struct cluster_state st;
    int n = cluster_show(&rows, &st);
    char hash[16], down[160], self[96];

    (void)args;
    if (!st.enabled) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000",
                      "myshard: no cluster: set cluster.redis to share cache "
                      "invalidations between instances");
        return;
    }
    snprintf(down, sizeof(down), "down: %s", st.error);
    snprintf(hash, sizeof(hash), "%08x", st.cfg_hash);
    console_row(&t, "(redis)", st.redis, NULL, NULL, NULL, NULL,
                st.redis_up ? "up" : down);
    /* this instance's state: its cache and how its rate limits count */
    snprintf(self, sizeof(self), "this instance%s",
             st.redis_up ? "" : ", cache off");
    if (st.shared_limits > 0 && st.limits_shared)
        snprintf(self + strlen(self), sizeof(self) - strlen(self),
                 ", limits shared");
    else if (st.shared_limits > 0)
        snprintf(self + strlen(self), sizeof(self) - strlen(self),
                 ", limits local 1/%d", st.limit_instances);
    for (int i = 0; i < n; i++) {
        const struct cluster_row *r = &rows[i];
        snprintf(hash, sizeof(hash), "%08x", r->cfg_hash);
        console_row(&t, r->name, r->addr, r->version,
                    console_num(r->generation), hash,
                    r->self && !st.redis_up ? NULL : console_num(r->age_ms),
                    r->self      ? self
                    : r->differs ? "live, config differs"
                                 : "live");
    }
    free(rows);
    console_send_table(ac, &t);
}

static void
cmd_shards(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"shard", "primary", "replicas", "rules",
                                       "default_for"};
    struct console_table t = {cols, 5, NULL, 0, 0};
    struct cfg *c = ac->con->v->cfg_get(ac->con->v->cfg_arg);

    (void)args;
    for (int i = 0; i < c->nshards; i++) {
        const struct cfg_shard *sh = &c->shards[i];
        char reps[1024] = "", rules[1024] = "", defs[1024] = "";
        size_t n = 0;
        for (int r = 0; r < sh->nreplicas; r++)
            n += (size_t)snprintf(
                reps + n, n < sizeof(reps) ? sizeof(reps) - n : 0, "%s%s",
                r ? "," : "", sh->replicas[r].addr.text);
        n = 0;
        for (int r = 0; r < c->nrules; r++)
            for (int k = 0; k < c->rules[r].nshards; k++)
                if (c->rules[r].shards[k] == i) {
                    n += (size_t)snprintf(
                        rules + n, n < sizeof(rules) ? sizeof(rules) - n : 0,
                        "%s%s", n ? "," : "", c->rules[r].name);
                    break;
                }
        n = 0;
        for (int s = 0; s < c->nschemas; s++)
            if (c->schemas[s].default_shard == i)
                n += (size_t)snprintf(defs + n,
                                      n < sizeof(defs) ? sizeof(defs) - n : 0,
                                      "%s%s", n ? "," : "", c->schemas[s].name);
        console_row(&t, sh->name, sh->primary.text, reps, rules, defs);
    }
    cfg_put(c);
    console_send_table(ac, &t);
}

static void
cmd_backends(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {
        "backend",    "shard",      "role",       "state",
        "zone",       "weight",     "lag_ms",     "conns_used",
        "conns_idle", "queries",    "errors",     "avg_latency_ms",
        "gtid_pos",   "gtid_acked", "gtid_waits", "gtid_wait_timeouts"};
    struct console_table t = {cols, 16, NULL, 0, 0};
    struct snapshot *s = snapshot_take(ac->con->v, SNAP_POOLS);

    (void)args;
    for (int i = 0; i < s->nbackends; i++) {
        const struct health_row *b = &s->backends[i];
        const struct snap_pool *p = &s->pools[i];
        console_row(&t, b->addr,
                    b->shard < s->cfg->nshards ? s->cfg->shards[b->shard].name
                                               : "?",
                    b->role, b->state, b->zone, console_num(b->weight),
                    b->lag_ms >= 0 ? console_num(b->lag_ms) : NULL,
                    console_num(p->in_use), console_num(p->idle),
                    console_num(b->queries), console_num(b->errors),
                    console_fixed((double)b->avg_latency_us / 1000.0, 3),
                    b->gtid_pos[0] ? b->gtid_pos : NULL,
                    b->gtid_acked[0] ? b->gtid_acked : NULL,
                    console_num(b->gtid_waits), console_num(b->gtid_timeouts));
    }
    snapshot_free(s);
    console_send_table(ac, &t);
}

static void
cmd_pools(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"backend",        "max",  "open",
                                       "in_use",         "idle", "waiting",
                                       "longest_wait_ms"};
    struct console_table t = {cols, 7, NULL, 0, 0};
    struct snapshot *s = snapshot_take(ac->con->v, SNAP_POOLS);

    (void)args;
    for (int i = 0; i < s->nbackends; i++) {
        const struct snap_pool *p = &s->pools[i];
        console_row(&t, s->backends[i].addr, console_num(p->max),
                    console_num(p->open), console_num(p->in_use),
                    console_num(p->idle), console_num(p->waiting),
                    console_num(p->longest_wait_ms));
    }
    snapshot_free(s);
    console_send_table(ac, &t);
}

static void
cmd_clients(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"id",        "user",       "addr",
                                       "schema",    "state",      "pinned",
                                       "statement", "age_seconds"};
    struct console_table t = {cols, 8, NULL, 0, 0};
    struct snapshot *s = snapshot_take(ac->con->v, SNAP_CLIENTS);

    (void)args;
    for (int i = 0; i < s->nclients; i++) {
        const struct snap_client *c = &s->clients[i];
        console_row(&t, console_num(c->id), c->user, c->addr, c->schema,
                    c->state, c->pins, c->stmt, console_num(c->age_ms / 1000));
    }
    snapshot_free(s);
    console_send_table(ac, &t);
}

static void
cmd_users(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {
        "user",    "class",  "read_only",    "connections", "max_connections",
        "queries", "errors", "rate_limited", "rate_limit"};
    struct console_table t = {cols, 9, NULL, 0, 0};
    struct snapshot *s = snapshot_take(ac->con->v, 0);

    (void)args;
    for (int i = 0; i < s->cfg->nusers; i++) {
        const struct cfg_user *u = &s->cfg->users[i];
        char rl[96];
        protect_describe_limit(&u->rate_limit, rl, sizeof(rl));
        console_row(&t, u->name, u->cls == CLASS_NONCORE ? "noncore" : "core",
                    u->read_only ? "1" : "0", console_num(s->user_conns[i]),
                    console_num(u->max_connections),
                    console_num(STATS_GET(&s->users[i], queries)),
                    console_num(STATS_GET(&s->users[i], errors)),
                    console_num(STATS_GET(&s->users[i], rate_limited)), rl);
    }
    snapshot_free(s);
    console_send_table(ac, &t);
}

static void
cmd_stats(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"stat", "value"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    struct snapshot *s = snapshot_take(ac->con->v, 0);
    const struct stats *st = &s->totals;
    char name[64];

    (void)args;
    console_row(&t, "uptime_seconds", console_num(s->uptime_ms / 1000));
    console_row(&t, "client_connections", console_num(s->client_connections));
#define ROW(n, help) console_row(&t, #n, console_num(STATS_GET(st, n)));
    STATS_COUNTERS(ROW)
#undef ROW
    for (int k = 0; k < SK_COUNT; k++) {
        snprintf(name, sizeof(name), "queries_%s", stats_kind_name(k));
        console_row(&t, name, console_num(STATS_GET(st, by_kind[k])));
    }
    for (int r = 0; r < SR_COUNT; r++) {
        snprintf(name, sizeof(name), "route_%s", stats_route_name(r));
        console_row(&t, name, console_num(STATS_GET(st, by_route[r])));
    }
    for (int b = 0; b < PIN_REASONS; b++) {
        if (session_pin_name(b) == NULL)
            continue;
        snprintf(name, sizeof(name), "pins_%s", session_pin_name(b));
        console_row(&t, name, console_num(STATS_GET(st, pins_taken[b])));
    }
    snapshot_free(s);
    console_send_table(ac, &t);
}

static void
cmd_digests(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"digest", "count",  "total_ms",
                                       "avg_ms", "max_ms", "errors"};
    struct console_table t = {cols, 6, NULL, 0, 0};
    struct snapshot *s = snapshot_take(ac->con->v, SNAP_DIGESTS);

    (void)args;
    for (int i = 0; i < s->ndigests && i < 100; i++) {
        const struct snap_digest *d = &s->digests[i];
        console_row(&t, d->text, console_num(d->count),
                    console_fixed((double)d->total_us / 1000.0, 3),
                    console_fixed(d->count ? (double)d->total_us / 1000.0 /
                                                 (double)d->count
                                           : 0.0,
                                  3),
                    console_fixed((double)d->max_us / 1000.0, 3),
                    console_num(d->errors));
    }
    snapshot_free(s);
    console_send_table(ac, &t);
}

/* A config line with its secret masked: `password: x` keeps its key. */
static void
mask_line(const char *line, size_t len, char *out, size_t cap)
{
    const char *keys[] = {"password:", "password_hash:"};
    size_t n = MIN(len, cap - 1);

    memcpy(out, line, n);
    out[n] = '\0';
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        char *p = out;
        while ((p = strstr(p, keys[k])) != NULL) {
            char *v = p + strlen(keys[k]);
            char *end;
            bool prev_ok =
                p == out || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
            p = v;
            if (!prev_ok)
                continue;
            while (*v == ' ')
                v++;
            end = v;
            while (*end && *end != ',' && *end != '}' && *end != '#')
                end++;
            while (end > v && end[-1] == ' ')
                end--;
            if (end > v) {
                char rest[1024];
                snprintf(rest, sizeof(rest), "%s", end);
                snprintf(v, cap - (size_t)(v - out), "********%s", rest);
            }
        }
    }
}

/* After the YAML: the live placement that overrides its rules (rows
 * "state"), when a reshard has moved keys or is moving them. */
static void
config_live_placement(struct console_table *t, const struct cfg *c)
{
    struct cfg_placement *pl = cfg_placement_of(c);
    char *text = NULL, head[600];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int n = out != NULL ? cfg_placement_write(pl, false, out) : 0;

    if (out != NULL)
        fclose(out);
    cfg_placement_free(pl);
    if (n > 0) {
        snprintf(head, sizeof(head),
                 "# live placement from %s (reshard.state), written by "
                 "RESHARD: it overrides these rules of sharding_rules",
                 c->reshard.state);
        console_row(t, "state", head);
        for (char *p = text; *p;) {
            char *e = strchr(p, '\n');
            if (e)
                *e = '\0';
            /* the file's own comment lines say less than the head */
            if (*p != '#')
                console_row(t, "state", p);
            if (!e)
                break;
            p = e + 1;
        }
    }
    free(text);
}

static void
cmd_config(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"line", "text"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    struct cfg *c = ac->con->v->cfg_get(ac->con->v->cfg_arg);
    const char *p = c->text ? c->text : "";
    int line = 0;

    (void)args;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char buf[1024];
        mask_line(p, len, buf, sizeof(buf));
        console_row(&t, console_num(++line), buf);
        p += len + (e != NULL);
    }
    config_live_placement(&t, c);
    cfg_put(c);
    console_send_table(ac, &t);
}

static void
cmd_explain(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"item", "value"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    struct cfg *c = ac->con->v->cfg_get(ac->con->v->cfg_arg);
    struct stmt_info *st = xmalloc(sizeof(*st));
    struct route_plan plan;
    struct route_ctx ctx = {0};
    struct tm_snap *snap;
    struct lex_mode mode = LEX_MODE_DEFAULT;
    char why[320];
    char *text;
    size_t need;

    if (*args == '\0') {
        console_error(ac, ER_PARSE_ERROR, "42000",
                      "myshard: EXPLAIN ROUTE needs a statement, e.g. EXPLAIN "
                      "ROUTE SELECT * FROM t WHERE id = 1");
        free(st);
        cfg_put(c);
        return;
    }
    ctx.schema = ac->schema[0]
                     ? cfg_find_schema(c, ac->schema, strlen(ac->schema))
                     : (c->nschemas > 0 ? 0 : -1);
    /* Lexed as a client session that keeps the servers' default sql_mode
     * would be (session/lexstate.h). */
    if (!lexstate_server_default(ac->con->v->servers, &mode.flags, why,
                                 sizeof(why))) {
        console_error(ac, ER_NOT_SUPPORTED_YET, "42000", "%s", why);
        free(st);
        cfg_put(c);
        return;
    }
    route_plan_init(&plan);
    sql_classify(args, strlen(args), mode, st);
    snap = tablemeta_get(ac->con->v->tmeta);
    tablecols_ctx_snap(snap, &ctx);
    router_route(c, st, &ctx, &plan);
    tablemeta_put(snap);
    need = route_plan_format(c, &plan, NULL, 0);
    text = xmalloc(need + 1);
    route_plan_format(c, &plan, text, need + 1);
    console_row(&t, "schema",
                ctx.schema >= 0 ? c->schemas[ctx.schema].name : "");
    for (char *p = text; *p;) {
        char *e = strchr(p, '\n');
        char *colon;
        if (e)
            *e = '\0';
        colon = strstr(p, ": ");
        if (strncmp(p, "target ", 7) == 0) {
            /* one row per shard: "s0: the statement it receives" */
            console_row(&t, "target", p + 7);
        } else if (colon) {
            *colon = '\0';
            console_row(&t, p, colon + 2);
        } else if (*p) {
            console_row(&t, p, "");
        }
        if (!e)
            break;
        p = e + 1;
    }
    free(text);
    route_plan_free(&plan);
    free(st);
    cfg_put(c);
    console_send_table(ac, &t);
}

static const char *
tm_state_name(enum tm_state st)
{
    return st == TM_OK        ? "ok"
           : st == TM_MISSING ? "missing"
           : st == TM_ERROR   ? "unreadable"
                              : "loading";
}

/* SHOW TABLES [FROM schema]: the configured tables' columns as myshard
 * read them from the shards (backend/tablemeta.h). */
static void
cmd_tables(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {
        "schema",   "table",          "kind",  "shard",      "column",
        "position", "auto_increment", "state", "read_ago_ms"};
    struct console_table t = {cols, 9, NULL, 0, 0};
    struct cfg *c = ac->con->v->cfg_get(ac->con->v->cfg_arg);
    struct tm_snap *snap = tablemeta_get(ac->con->v->tmeta);
    char want[65] = "";
    const char *rest;

    if ((rest = match_words(args, "FROM")) != NULL ||
        (rest = match_words(args, "IN")) != NULL) {
        size_t len = strcspn(rest, " \t;");
        if (len >= 2 && (rest[0] == '`' || rest[0] == '\'') &&
            rest[len - 1] == rest[0]) {
            rest++;
            len -= 2;
        }
        snprintf(want, sizeof(want), "%.*s", (int)MIN(len, 64), rest);
        if (cfg_find_schema(c, want, strlen(want)) < 0) {
            console_error(ac, ER_BAD_DB_ERROR, "42000",
                          "myshard: no schema '%s' in the config; SHOW CONFIG "
                          "lists the schemas",
                          want);
            goto out;
        }
    } else if (*args != '\0') {
        console_error(ac, ER_PARSE_ERROR, "42000",
                      "myshard: SHOW TABLES takes nothing or FROM <schema>");
        goto out;
    }
    for (int i = 0; snap != NULL && i < snap->ntables; i++) {
        const struct tm_table *x = snap->tables[i];
        const char *shard =
            x->shard < c->nshards ? c->shards[x->shard].name : "?";
        const char *kind = x->key ? "sharded" : "global";
        const char *ago =
            x->read_ms ? console_num(clock_ms() - x->read_ms) : NULL;
        if (want[0] && strcmp(want, x->schema) != 0)
            continue;
        if (x->state != TM_OK) {
            console_row(&t, x->schema, x->name, kind, shard, NULL, NULL, NULL,
                        x->why[0] ? x->why : tm_state_name(x->state), ago);
            continue;
        }
        for (int k = 0; k < x->ncols; k++) {
            const struct tm_column *col = &x->cols[k];
            bool key = x->key && strcasecmp(col->name, x->key) == 0;
            char state[64];
            snprintf(state, sizeof(state), "%s%s%s", tm_state_name(x->state),
                     key ? ", shard key" : "",
                     col->invisible ? ", invisible" : "");
            console_row(&t, x->schema, x->name, kind, shard, col->name,
                        console_num(col->pos), col->auto_inc ? "yes" : "no",
                        state, ago);
        }
    }
    console_send_table(ac, &t);
out:
    tablemeta_put(snap);
    cfg_put(c);
}

/* 'addr' or addr, then a word. */
static void
cmd_set_backend(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"backend", "state"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    const struct server_set *set = ac->con->v->servers;
    char addr[128] = "", word[32] = "";
    const char *p = args;
    size_t n = 0;
    enum server_state st;
    struct server *srv = NULL;

    if (*p == '\'' || *p == '"' || *p == '`') {
        char q = *p++;
        while (*p && *p != q && n < sizeof(addr) - 1)
            addr[n++] = *p++;
        if (*p == q)
            p++;
    } else {
        while (*p && !isspace((unsigned char)*p) && n < sizeof(addr) - 1)
            addr[n++] = *p++;
    }
    addr[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    snprintf(word, sizeof(word), "%s", p);
    if (strcasecmp(word, "OFFLINE") == 0)
        st = SRV_OFFLINE;
    else if (strcasecmp(word, "ONLINE") == 0)
        st = SRV_ONLINE;
    else if (strcasecmp(word, "DRAIN") == 0)
        st = SRV_DRAINING;
    else {
        console_error(ac, ER_PARSE_ERROR, "42000",
                      "myshard: SET BACKEND 'host:port' OFFLINE | ONLINE | "
                      "DRAIN");
        return;
    }
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->v[i].addr, addr) == 0)
            srv = &set->v[i];
    if (srv == NULL) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000",
                      "myshard: no backend '%s'; SHOW BACKENDS lists them",
                      addr);
        return;
    }
    if (!health_set_admin(srv, st)) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000",
                      "myshard: cannot set backend '%s' %s", addr, word);
        return;
    }
    log_info("backend state set by admin backend=%s state=%s", srv->addr,
             health_state_name(st));
    console_row(&t, srv->addr,
                health_state_name(health_state(srv, clock_ms())));
    console_send_table(ac, &t);
}

static void
cmd_reload(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"status", "detail"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    const struct admin_ops *ops = ac->con->ops;
    char msg[4096] = "";

    (void)args;
    if (ops == NULL || ops->reload == NULL) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000",
                      "myshard: reload is not available");
        return;
    }
    if (!ops->reload(ops->arg, msg, sizeof(msg))) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000", "myshard: %s", msg);
        return;
    }
    console_row(&t, "reloaded", msg);
    console_send_table(ac, &t);
}

struct kill_req {
    unsigned id;
};

static void
kill_cb(struct worker *w, void *arg)
{
    struct wctx *wc = w->ctx;
    struct kill_req *k = arg;

    for (struct session *s = wc->sessions; s; s = s->next)
        if (s->id == k->id) {
            log_info("client killed by admin client=%u addr=%s", s->id,
                     s->addr);
            session_close(s, "killed by admin");
            break;
        }
    free(k);
}

bool
console_kill_client(const struct admin_view *v, unsigned id)
{
    struct snapshot *s = snapshot_take(v, SNAP_CLIENTS);
    bool found = false;
    int worker = -1;

    for (int i = 0; i < s->nclients; i++)
        if (s->clients[i].id == id) {
            found = true;
            worker = s->clients[i].worker;
        }
    snapshot_free(s);
    if (found && worker >= 0 && worker < v->nworkers) {
        struct kill_req *k = xmalloc(sizeof(*k));
        k->id = id;
        worker_call(&v->workers[worker], kill_cb, k);
    }
    return found;
}

static void
cmd_kill(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"id", "closed"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    char *end;
    unsigned long id = strtoul(args, &end, 10);

    if (end == args || *end != '\0') {
        console_error(ac, ER_PARSE_ERROR, "42000",
                      "myshard: KILL CLIENT <id> (SHOW "
                      "CLIENTS lists the ids)");
        return;
    }
    if (!console_kill_client(ac->con->v, (unsigned)id)) {
        console_error(ac, ER_NO_SUCH_THREAD, "HY000",
                      "myshard: no client %lu; SHOW CLIENTS "
                      "lists them",
                      id);
        return;
    }
    console_row(&t, console_num((long long)id), "1");
    console_send_table(ac, &t);
}

static const struct admin_cmd cmd_table[] = {
    {"SHOW HELP", "SHOW HELP", "the commands", cmd_help},
    {"SHOW VERSION", "SHOW VERSION", "version, build, uptime", cmd_version},
    {"SHOW SHARDS", "SHOW SHARDS",
     "shards: primary, replicas, the rules that use them", cmd_shards},
    {"SHOW BACKENDS", "SHOW BACKENDS",
     "servers: state, zone, weight, lag, connections, queries, errors, "
     "latency",
     cmd_backends},
    {"SHOW POOLS", "SHOW POOLS",
     "per server: cap, open, in use, idle, waiting, longest wait", cmd_pools},
    {"SHOW CLIENTS", "SHOW CLIENTS",
     "client connections: user, address, schema, state, pins, statement, "
     "age",
     cmd_clients},
    {"SHOW USERS", "SHOW USERS",
     "users: class, connections, queries, errors, rate limits", cmd_users},
    {"SHOW STATS", "SHOW STATS", "counters since start", cmd_stats},
    {"SHOW DIGESTS", "SHOW DIGESTS",
     "normalized statements by total time: count, total/avg/max time",
     cmd_digests},
    {"SHOW CLUSTER", "SHOW CLUSTER",
     "instances sharing cluster.redis: heartbeat, version, config",
     cmd_cluster},
    {"SHOW CONFIG", "SHOW CONFIG", "the running config, passwords masked",
     cmd_config},
    {"SHOW TABLES", "SHOW TABLES [FROM <schema>]",
     "configured tables' columns as read from the shards: position, shard "
     "key, auto_increment",
     cmd_tables},
    {"EXPLAIN ROUTE", "EXPLAIN ROUTE <sql>",
     "the route of a statement in the USE schema", cmd_explain},
    {"SET BACKEND", "SET BACKEND 'addr' OFFLINE|ONLINE|DRAIN",
     "take a server out, back in, or let it drain", cmd_set_backend},
    {"RELOAD CONFIG", "RELOAD CONFIG",
     "re-read the config file; a broken file changes nothing", cmd_reload},
    {"KILL CLIENT", "KILL CLIENT <id>", "close a client connection", cmd_kill},
    {"SHOW RESHARD", "SHOW RESHARD",
     "online reshards: keys, shards, phase, rows, binlog lag, held writes",
     console_cmd_show_reshard},
    {"RESHARD ABORT", "RESHARD ABORT <id>",
     "undo a reshard that has not switched its placement yet",
     console_cmd_reshard_abort},
    {"RESHARD",
     "RESHARD '<rule>' MOVE SLOTS <a>-<b> | SPLIT AT <v> TO '<shard>'",
     "move part of a rule's keys to another shard, online",
     console_cmd_reshard},
};

static const struct admin_cmd *
commands(int *n)
{
    *n = (int)(sizeof(cmd_table) / sizeof(cmd_table[0]));
    return cmd_table;
}

/* Matches the command's words at the start of q (case-insensitive, any
 * blanks between); returns what follows, or NULL. */
static const char *
match_words(const char *q, const char *name)
{
    while (*name) {
        if (*name == ' ') {
            if (!isspace((unsigned char)*q))
                return NULL;
            while (isspace((unsigned char)*q))
                q++;
            name++;
            continue;
        }
        if (toupper((unsigned char)*q) != *name)
            return NULL;
        q++;
        name++;
    }
    if (*q && !isspace((unsigned char)*q))
        return NULL;
    while (isspace((unsigned char)*q))
        q++;
    return q;
}

static void
use_schema(struct admin_conn *ac, const char *name, size_t len)
{
    struct cfg *c = ac->con->v->cfg_get(ac->con->v->cfg_arg);
    char buf[65];

    if (len > 0 && (name[0] == '`' || name[0] == '\'' || name[0] == '"') &&
        name[len - 1] == name[0] && len >= 2) {
        name++;
        len -= 2;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)MIN(len, 64), name);
    if (cfg_find_schema(c, buf, strlen(buf)) < 0) {
        console_error(ac, ER_BAD_DB_ERROR, "42000",
                      "myshard: unknown schema '%s'; SHOW CONFIG lists the "
                      "schemas",
                      buf);
    } else {
        snprintf(ac->schema, sizeof(ac->schema), "%s", buf);
        console_ok(ac);
    }
    cfg_put(c);
}

static void
admin_query(struct admin_conn *ac, const char *sql, size_t len)
{
    char *q = xstrndup(sql, len);
    char *end;
    const char *args;
    int n;
    const struct admin_cmd *c = commands(&n);

    while (*q && isspace((unsigned char)*q))
        memmove(q, q + 1, strlen(q));
    end = q + strlen(q);
    while (end > q && (isspace((unsigned char)end[-1]) || end[-1] == ';'))
        *--end = '\0';
    for (int i = 0; i < n; i++) {
        if ((args = match_words(q, c[i].name)) != NULL) {
            c[i].fn(ac, args);
            free(q);
            return;
        }
    }
    if ((args = match_words(q, "USE")) != NULL && *args) {
        use_schema(ac, args, strlen(args));
    } else if (strncasecmp(q, "SELECT", 6) == 0 &&
               strcasestr(q, "@@version_comment") != NULL) {
        static const char *const cols[] = {"@@version_comment"};
        struct console_table t = {cols, 1, NULL, 0, 0};
        console_row(&t, "myshard admin console");
        console_send_table(ac, &t);
    } else if (match_words(q, "SET") != NULL) {
        console_ok(ac); /* SET NAMES and friends from client libraries */
    } else {
        console_error(ac, ER_PARSE_ERROR, "42000",
                      "myshard: unknown admin command '%.80s'; SHOW HELP lists "
                      "them",
                      q);
    }
    free(q);
}

/* ---- a logged-in connection's packets --------------------------------- */

void
console_command(struct admin_conn *ac, const uint8_t *p, size_t len)
{
    switch (p[0]) {
    case COM_QUIT:
        console_conn_close(ac);
        return;
    case COM_PING:
        console_ok(ac);
        return;
    case COM_INIT_DB:
        use_schema(ac, (const char *)p + 1, len - 1);
        return;
    case COM_QUERY:
        admin_query(ac, (const char *)p + 1, len - 1);
        return;
    default:
        console_error(ac, ER_UNKNOWN_COM_ERROR, "08S01",
                      "myshard: the admin console answers text queries only");
        return;
    }
}

/* GET / and /status/history: the dashboard, no snapshot needed. GET
 * /metrics, /status, /healthz: the same snapshot as the console (/status
 * also lists the top digests). */
static void
admin_http(void *arg, const char *method, const char *path,
           struct http_reply *r)
{
    struct console *con = arg;
    struct snapshot *s;

    (void)method;
    if (dashboard_http_reply(con->hist, path, r))
        return;
    s = snapshot_take(
        con->v, SNAP_POOLS | (strcmp(path, "/status") == 0 ? SNAP_DIGESTS : 0));
    metrics_http_reply(s, path, r);
    snapshot_free(s);
}

struct console *
console_start(const struct admin_view *v, const struct admin_ops *ops,
              const struct cfg *cfg, char *err, size_t errlen)
{
    struct console *con = xcalloc(1, sizeof(*con));

    con->v = v;
    con->ops = ops;
    if (!worker_init(&con->w, 9999)) {
        snprintf(err, errlen, "cannot create the admin event loop");
        free(con);
        return NULL;
    }
    snprintf(con->w.name, sizeof(con->w.name), "admin");
    con->w.ctx = con;
    if (cfg->admin.password == NULL && !cfg->admin.has_hash)
        log_warn("admin console: neither admin.password nor "
                 "admin.password_hash is set; every console login is "
                 "refused");
    if (!net_port_free(cfg->admin.listen.host, cfg->admin.listen.port) ||
        !worker_listen(&con->w, cfg->admin.listen.host, cfg->admin.listen.port,
                       console_conn_accept, NULL)) {
        snprintf(err, errlen, "cannot listen on admin.listen %s: %s",
                 cfg->admin.listen.text, strerror(errno));
        worker_free(&con->w);
        free(con);
        return NULL;
    }
    con->hist = history_new();
    (void)history_start(con->hist, con->w.base, v);
    con->http = http_listen(con->w.base, cfg->admin.http.host,
                            cfg->admin.http.port, admin_http, con, err, errlen);
    if (con->http != NULL)
        http_set_hosts(con->http, cfg->admin.http_hosts,
                       cfg->admin.nhttp_hosts);
    if (con->http == NULL) {
        char why[200];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "cannot listen on admin.http %s: %s",
                 cfg->admin.http.text, why);
        history_free(con->hist);
        worker_free(&con->w);
        free(con);
        return NULL;
    }
    if (!worker_start(&con->w)) {
        http_close(con->http);
        history_free(con->hist);
        snprintf(err, errlen, "cannot start the admin thread");
        worker_free(&con->w);
        free(con);
        return NULL;
    }
    con->started = true;
    return con;
}

static void
close_all_cb(struct worker *w, void *arg)
{
    struct console *con = w->ctx;

    (void)arg;
    while (con->conns)
        console_conn_close(con->conns);
}

void
console_stop(struct console *con)
{
    if (con == NULL)
        return;
    if (con->started) {
        worker_call(&con->w, close_all_cb, NULL);
        worker_stop(&con->w);
    }
    if (con->http)
        http_close(con->http);
    history_free(con->hist);
    event_base_loop(con->w.base, EVLOOP_NONBLOCK);
    worker_free(&con->w);
    free(con);
}
