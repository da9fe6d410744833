/*
 * test_router.c - router_route() against tests/data/route.tsv with the
 * config tests/data/route.yaml, plus targeted cases: plan reuse and
 * buffers, the EXPLAIN ROUTE text, long INSERTs and IN lists, timing.
 *
 * route.tsv: SQL <TAB> plan [<TAB> keys]. route_moving.tsv, the same
 * with a reshard in progress (test_moving). Blank lines and lines starting
 * with '#' are skipped; lines starting with '@' set the context for the
 * lines that follow:
 *   @schema NAME | @schema -      the session's schema (- : none)
 *   @txn on | @txn off            inside a transaction
 *   @locks s0,s1 | @locks -       shards where the session holds LOCK
 *                                 TABLES locks
 *   @columns T c1,c2,... | @columns -   table T's columns as the shards
 *                                 have them (positional INSERTs); - : none
 *                                 known. T missing: "unknown" for every table
 *   @params V,V,... | @params -   EXECUTE values: integers, 'strings',
 *                                 NULL (- : a text query, no values)
 * The plan column is what describe() prints:
 *   ERR <code> <message>                        a refusal
 *   <read|primary> <shards>[ flags][ merge[...]][ sql]
 * flags: scatter, sum (sum affected rows), repl (replicated), params
 * (needs parameter values), moving (touches_moving), renumbered[s0:1.2,s1:3.4]
 * (a split prepared INSERT: the EXECUTE's parameters, 1-based, each target
 * binds). merge[...] is route_merge_format(). sql: none when every target gets
 * the client's text; "sql=TEXT" when they all get the same rewritten text; else
 * "s0=TEXT | s1=TEXT". The optional keys column is compared with plan.keys. Set
 * ROUTE_PRINT=1 to print the actual lines instead of checking.
 */
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"
#include "route/router.h"
#include "sql/classify.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct cfg *cfg;

static void
load_cfg(void)
{
    struct diag d;

    diag_init(&d);
    cfg = cfg_load("tests/data/route.yaml", &d);
    if (cfg == NULL)
        diag_print(&d, stderr);
    diag_free(&d);
    ck_assert_ptr_nonnull(cfg);
}

static void
unload_cfg(void)
{
    cfg_put(cfg);
    cfg = NULL;
}

struct ctxbuf {
    struct route_ctx ctx;
    struct route_param params[32];
    char strings[32][64];
};

/* @columns: one table's columns, served to the router as the shards'. */
static struct {
    char table[65];
    char buf[512];
    const char *names[32];
    int n;
} tcols;

static bool
tcols_cb(const void *arg, const char *schema, const char *table,
         struct route_tcols *out)
{
    (void)arg;
    (void)schema;
    memset(out, 0, sizeof(*out));
    if (tcols.n == 0 || strcmp(table, tcols.table) != 0) {
        out->why = "table 'shop.x' does not exist on shard 's0'";
        return false;
    }
    out->ncols = tcols.n;
    out->names = tcols.names;
    return true;
}

static void
ctx_columns(struct route_ctx *ctx, const char *spec)
{
    char *p, *sp;

    memset(&tcols, 0, sizeof(tcols));
    ctx->columns = NULL;
    if (strcmp(spec, "-") == 0)
        return;
    ctx->columns = tcols_cb;
    sp = strchr(spec, ' ');
    if (sp == NULL)
        return;
    snprintf(tcols.table, sizeof(tcols.table), "%.*s", (int)(sp - spec), spec);
    snprintf(tcols.buf, sizeof(tcols.buf), "%s", sp + 1);
    for (p = strtok(tcols.buf, ","); p && tcols.n < 32; p = strtok(NULL, ","))
        tcols.names[tcols.n++] = p;
}

static void
ctx_reset(struct ctxbuf *c)
{
    memset(&c->ctx, 0, sizeof(c->ctx));
    c->ctx.schema = cfg_find_schema(cfg, "shop", 4);
}

static void
ctx_params(struct ctxbuf *c, const char *list)
{
    unsigned n = 0;
    const char *p = list;

    if (strcmp(list, "-") == 0) {
        c->ctx.params = NULL;
        c->ctx.nparams = 0;
        return;
    }
    while (*p && n < 32) {
        struct route_key *k = &c->params[n].key;
        memset(k, 0, sizeof(*k));
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
            memcpy(c->strings[n], p + 1, len);
            k->s = c->strings[n];
            k->len = len;
            p = end ? end + 1 : p + strlen(p);
        } else if (strncmp(p, "NULL", 4) == 0) {
            k->is_null = true;
            p += 4;
        } else {
            char *e;
            k->is_int = true;
            k->i = strtoll(p, &e, 10);
            p = e;
        }
        n++;
        if (*p == ',')
            p++;
    }
    c->ctx.params = c->params;
    c->ctx.nparams = n;
}

static int
shard_idx(const char *name)
{
    return cfg_find_shard(cfg, name);
}

/* "s0,s2" -> the mask of those shards; "-" none. */
static uint64_t
locks_mask(const char *list)
{
    uint64_t m = 0;
    char name[16];

    while (*list && *list != '-') {
        size_t n = strcspn(list, ",");
        snprintf(name, sizeof(name), "%.*s", (int)n, list);
        m |= 1ull << shard_idx(name);
        list += n + (list[n] == ',');
    }
    return m;
}

/* The compact form of a plan (see the head of this file). */
static void
describe(const struct stmt_info *st, const struct route_plan *p, char *out,
         size_t cap)
{
    size_t n = 0;
    bool client = true, same = true;

#define PUT(...)                                                               \
    do {                                                                       \
        if (n < cap)                                                           \
            n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);              \
    } while (0)

    out[0] = '\0';
    if (p->action == ROUTE_REFUSE) {
        PUT("ERR %u %s", p->err_code, p->err_msg);
        return;
    }
    PUT("%s ", p->role == ROLE_READ ? "read" : "primary");
    for (int i = 0; i < p->ntargets; i++)
        PUT("%s%s", i ? "," : "", cfg->shards[p->targets[i].shard].name);
    if (p->scatter)
        PUT(" scatter");
    if (p->sum_affected)
        PUT(" sum");
    if (p->replicated)
        PUT(" repl");
    if (p->needs_params)
        PUT(" params");
    if (p->touches_moving)
        PUT(" moving");
    if (p->merge) {
        char m[512];
        route_merge_format(&p->ms, m, sizeof(m));
        PUT(" merge[%s]", m);
    }
    if (p->renumbered) {
        /* each target's own parameters: the EXECUTE's, 1-based */
        PUT(" renumbered");
        for (int i = 0; i < p->ntargets; i++) {
            PUT("%s%s:", i ? "," : "[", cfg->shards[p->targets[i].shard].name);
            for (uint32_t j = 0; j < p->pmap_n[i]; j++)
                PUT("%s%u", j ? "." : "", p->pmap[p->pmap_off[i] + j] + 1);
        }
        PUT("]");
    }
    for (int i = 0; i < p->ntargets; i++) {
        const struct route_target *t = &p->targets[i];
        if (t->sql != st->sql || t->len != st->len)
            client = false;
        if (t->len != p->targets[0].len ||
            memcmp(t->sql, p->targets[0].sql, t->len) != 0)
            same = false;
    }
    if (client)
        return;
    if (same) {
        PUT(" sql=%.*s", (int)p->targets[0].len, p->targets[0].sql);
        return;
    }
    for (int i = 0; i < p->ntargets; i++)
        PUT("%s%s=%.*s", i ? " | " : " ", cfg->shards[p->targets[i].shard].name,
            (int)p->targets[i].len, p->targets[i].sql);
#undef PUT
}

static struct stmt_info st;

static void
route_sql(const char *sql, const struct route_ctx *ctx, struct route_plan *p)
{
    sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st);
    router_route(cfg, &st, ctx, p);
}

/* Runs the cases of a .tsv file (see the head of this file) against cfg. */
static void
run_table(const char *path, int min_rows)
{
    FILE *f = fopen(path, "r");
    int print = getenv("ROUTE_PRINT") != NULL;
    char line[8192], got[8192];
    struct ctxbuf c;
    struct route_plan plan;
    int lineno = 0, rows = 0, failures = 0;

    ck_assert_ptr_nonnull(f);
    route_plan_init(&plan);
    ctx_reset(&c);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *sql = line, *want, *keys;
        size_t len = strlen(line);

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#') {
            if (print)
                printf("%s\n", line);
            continue;
        }
        if (line[0] == '@') {
            if (print)
                printf("%s\n", line);
            if (strncmp(line, "@schema ", 8) == 0)
                c.ctx.schema =
                    strcmp(line + 8, "-") == 0
                        ? -1
                        : cfg_find_schema(cfg, line + 8, strlen(line + 8));
            else if (strncmp(line, "@txn ", 5) == 0)
                c.ctx.in_txn = strcmp(line + 5, "on") == 0;
            else if (strncmp(line, "@locks ", 7) == 0)
                c.ctx.lock_shards = locks_mask(line + 7);
            else if (strncmp(line, "@params ", 8) == 0)
                ctx_params(&c, line + 8);
            else if (strncmp(line, "@columns ", 9) == 0)
                ctx_columns(&c.ctx, line + 9);
            else
                ck_abort_msg("%s:%d: unknown directive", path, lineno);
            continue;
        }
        want = strchr(line, '\t');
        ck_assert_msg(want != NULL, "%s:%d: no plan column", path, lineno);
        *want++ = '\0';
        keys = strchr(want, '\t');
        if (keys)
            *keys++ = '\0';
        route_sql(sql, &c.ctx, &plan);
        describe(&st, &plan, got, sizeof(got));
        rows++;
        if (print) {
            if (keys || plan.keys[0])
                printf("%s\t%s\t%s\n", sql, got, plan.keys);
            else
                printf("%s\t%s\n", sql, got);
            continue;
        }
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "%s:%d: %s\n  want: %s\n  got:  %s\n", path, lineno,
                    sql, want, got);
            failures++;
        }
        if (keys && strcmp(keys, plan.keys) != 0) {
            fprintf(stderr, "%s:%d: %s\n  keys want: %s\n  got: %s\n", path,
                    lineno, sql, keys, plan.keys);
            failures++;
        }
    }
    fclose(f);
    route_plan_free(&plan);
    ck_assert_int_gt(rows, min_rows);
    ck_assert_msg(failures == 0, "%d %s lines differ", failures, path);
}

START_TEST(test_table)
{
    run_table("tests/data/route.tsv", 100);
}
END_TEST

/*
 * A reshard in progress: user_hash slots 900-1023 (s2's) move to s0 and
 * id_range's keys [5000, 1000000) (s1's) to s2. The plans of
 * route_moving.tsv keep routing those keys to their owners today and say
 * which writes touch them ("moving").
 */
START_TEST(test_moving)
{
    struct cfg_placement *p = cfg_placement_of(cfg);
    struct cfg_bound at = {.set = true, .i = 5000};
    struct cfg *running = cfg, *next;
    struct route_plan plan;
    struct ctxbuf c;
    struct diag d;
    char err[256], buf[2048];

    ck_assert_msg(cfg_placement_set_moving_slots(p, "user_hash", 900, 1023,
                                                 "s0", 7, err, sizeof(err)),
                  "%s", err);
    ck_assert_msg(cfg_placement_set_moving_split(p, "id_range", &at, "s2", 8,
                                                 err, sizeof(err)),
                  "%s", err);
    diag_init(&d);
    next = cfg_with_placement(running, p, &d);
    if (next == NULL)
        diag_print(&d, stderr);
    ck_assert_ptr_nonnull(next);
    ck_assert_uint_eq(d.n, 0);
    diag_free(&d);
    cfg_placement_free(p);
    cfg = next;
    run_table("tests/data/route_moving.tsv", 40);

    /* EXPLAIN ROUTE says so */
    ctx_reset(&c);
    route_plan_init(&plan);
    route_sql("UPDATE orders SET total = 0 WHERE user_id = 1", &c.ctx, &plan);
    ck_assert(plan.touches_moving);
    ck_assert_int_eq(plan.moving_id, 7);
    ck_assert_str_eq(cfg->rules[plan.moving_rule].name, "user_hash");
    route_plan_format(cfg, &plan, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "route: primary\nmoving: reshard 7 of rule "
                              "user_hash (writes held at cutover)\ntarget "
                              "s2: ") != NULL,
                  "%s", buf);
    route_sql("SELECT * FROM orders WHERE user_id = 1", &c.ctx, &plan);
    route_plan_format(cfg, &plan, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "moving") == NULL, "%s", buf);
    route_plan_free(&plan);
    cfg = running;
    cfg_put(next);
}
END_TEST

/*
 * After three cutovers whose cleanup has not run: user_hash slots 900-1023
 * moved from s2 to s0, id_range's keys [5000, 1000000) from s1 to s2,
 * day_range's ['2025-06-01', '2026-01-01') from s1 to s0. The sources
 * still hold the rows: route_cleanup.tsv filters them out of what reaches
 * them.
 */
START_TEST(test_cleanup)
{
    struct cfg_placement *p = cfg_placement_of(cfg);
    struct cfg_bound at = {.set = true, .i = 5000};
    struct cfg_bound day = {.set = true, .is_string = true, .s = "2025-06-01"};
    struct cfg *running = cfg, *next;
    struct route_plan plan;
    struct ctxbuf c;
    struct diag d;
    char err[256], buf[4096];

    ck_assert_msg(
        cfg_placement_set_moving_slots(p, "user_hash", 900, 1023, "s0", 7, err,
                                       sizeof(err)) &&
            cfg_placement_finish_moving(p, "user_hash", err, sizeof(err)),
        "%s", err);
    ck_assert_msg(
        cfg_placement_set_moving_split(p, "id_range", &at, "s2", 8, err,
                                       sizeof(err)) &&
            cfg_placement_finish_moving(p, "id_range", err, sizeof(err)),
        "%s", err);
    ck_assert_msg(
        cfg_placement_set_moving_split(p, "day_range", &day, "s0", 9, err,
                                       sizeof(err)) &&
            cfg_placement_finish_moving(p, "day_range", err, sizeof(err)),
        "%s", err);
    /* one reshard per rule: not while its cleanup is pending */
    ck_assert(!cfg_placement_set_moving_slots(p, "user_hash", 0, 10, "s1", 10,
                                              err, sizeof(err)));
    ck_assert_msg(strstr(err, "still has moved rows to delete from shard "
                              "'s2' (the cleanup of reshard 7)") != NULL,
                  "%s", err);
    diag_init(&d);
    next = cfg_with_placement(running, p, &d);
    if (next == NULL)
        diag_print(&d, stderr);
    ck_assert_ptr_nonnull(next);
    ck_assert_uint_eq(d.n, 0);
    diag_free(&d);
    cfg = next;
    run_table("tests/data/route_cleanup.tsv", 40);

    /* EXPLAIN ROUTE prints each target's filtered text */
    ctx_reset(&c);
    route_plan_init(&plan);
    route_sql("SELECT COUNT(*) FROM orders", &c.ctx, &plan);
    route_plan_format(cfg, &plan, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "target s2: SELECT COUNT(*) FROM orders WHERE "
                              "(CRC32(orders.`user_id`) % 1024 BETWEEN 900 "
                              "AND 1023) IS NOT TRUE") != NULL,
                  "%s", buf);

    /* a long IN list (more values than the classifier keeps) is filtered,
     * not refused */
    {
        char sql[4096];
        size_t n = (size_t)snprintf(sql, sizeof(sql),
                                    "SELECT * FROM orders WHERE user_id IN (");
        for (int k = 1; k <= 400; k++)
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%d",
                                  k > 1 ? "," : "", k);
        snprintf(sql + n, sizeof(sql) - n, ")");
        route_sql(sql, &c.ctx, &plan);
        ck_assert_msg(plan.action == ROUTE_FORWARD, "%s", plan.err_msg);
        ck_assert_int_eq(plan.ntargets, 3);
        ck_assert_int_eq(plan.targets[2].shard, 2);
        ck_assert(memmem(plan.targets[2].sql, plan.targets[2].len,
                         ") IS NOT TRUE", 13) != NULL);
        ck_assert(memmem(plan.targets[0].sql, plan.targets[0].len,
                         "IS NOT TRUE", 11) == NULL);
    }
    route_plan_free(&plan);

    /* the cleanup done: no filter */
    cfg_placement_clear_cleanup(p, "user_hash");
    cfg = running;
    cfg_put(next);
    diag_init(&d);
    next = cfg_with_placement(running, p, &d);
    ck_assert_ptr_nonnull(next);
    diag_free(&d);
    cfg = next;
    route_plan_init(&plan);
    route_sql("SELECT COUNT(*) FROM orders", &c.ctx, &plan);
    ck_assert_int_eq(plan.ntargets, 3);
    for (int i = 0; i < plan.ntargets; i++)
        ck_assert_msg(memmem(plan.targets[i].sql, plan.targets[i].len,
                             "IS NOT TRUE", 11) == NULL,
                      "%.*s", (int)plan.targets[i].len, plan.targets[i].sql);
    route_plan_free(&plan);
    cfg_placement_free(p);
    cfg = running;
    cfg_put(next);
}
END_TEST

/* A point select reuses the client's text and never touches the buffer. */
START_TEST(test_point_select_no_buffer)
{
    struct ctxbuf c;
    struct route_plan plan;

    ctx_reset(&c);
    route_plan_init(&plan);
    route_sql("SELECT * FROM orders WHERE user_id = 42", &c.ctx, &plan);
    ck_assert_int_eq(plan.action, ROUTE_FORWARD);
    ck_assert_int_eq(plan.ntargets, 1);
    ck_assert_ptr_eq(plan.targets[0].sql, st.sql);
    ck_assert_ptr_null(plan.buf);
    ck_assert_ptr_null(plan.scratch);
    ck_assert_str_eq(plan.kind, "select");
    ck_assert_str_eq(plan.tables, "orders");
    ck_assert_str_eq(plan.keys, "user_id=42");
    ck_assert_int_eq(plan.table_rule, 1);
    /* a rewrite grows the buffer; the next point select resets its use */
    route_sql("SELECT * FROM orders ORDER BY id LIMIT 10 OFFSET 5", &c.ctx,
              &plan);
    ck_assert_ptr_nonnull(plan.buf);
    ck_assert_uint_gt(plan.buf_len, 0);
    route_sql("SELECT * FROM orders WHERE user_id = 1", &c.ctx, &plan);
    ck_assert_uint_eq(plan.buf_len, 0);
    ck_assert_int_eq(plan.merge, false);
    ck_assert_int_eq(plan.ms.nsort, 0);
    route_plan_free(&plan);
    ck_assert_ptr_null(plan.buf);
}
END_TEST

START_TEST(test_format)
{
    struct ctxbuf c;
    struct route_plan plan;
    char buf[2048];
    size_t n;

    ctx_reset(&c);
    route_plan_init(&plan);
    route_sql("SELECT o.id FROM orders o WHERE o.user_id IN (42, 1) ORDER BY "
              "o.id DESC LIMIT 5",
              &c.ctx, &plan);
    n = route_plan_format(cfg, &plan, buf, sizeof(buf));
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_str_eq(buf, "kind: select\n"
                          "tables: orders o\n"
                          "rule: user_hash\n"
                          "keys: user_id=42,1\n"
                          "route: read, merge\n"
                          "target s0: SELECT o.id FROM orders o WHERE "
                          "o.user_id IN (42, 1) ORDER BY o.id DESC LIMIT 5\n"
                          "target s2: SELECT o.id FROM orders o WHERE "
                          "o.user_id IN (42, 1) ORDER BY o.id DESC LIMIT 5\n"
                          "merge: sort=[0 desc] limit=5 offset=0\n");
    /* cut output still says how long the whole is */
    ck_assert_uint_eq(route_plan_format(cfg, &plan, buf, 10), n);
    ck_assert_uint_eq(strlen(buf), 9);
    route_sql("SELECT COUNT(DISTINCT a), SUM(DISTINCT b) FROM orders", &c.ctx,
              &plan);
    route_plan_format(cfg, &plan, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "refuse: 1235 myshard: DISTINCT aggregates of "
                              "different expressions") != NULL,
                  "%s", buf);
    route_plan_free(&plan);
}
END_TEST

/* Rows past the router's on-stack row list, split over three shards. */
START_TEST(test_long_insert)
{
    struct ctxbuf c;
    struct route_plan plan;
    char sql[32768];
    size_t n = 0;
    int rows[3] = {0, 0, 0};

    ctx_reset(&c);
    route_plan_init(&plan);
    n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                          "INSERT INTO orders (id, user_id) VALUES ");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s(%d, %d)",
                              i ? ", " : "", i, i);
    route_sql(sql, &c.ctx, &plan);
    ck_assert_int_eq(plan.action, ROUTE_FORWARD);
    ck_assert_int_eq(plan.ntargets, 3);
    ck_assert(plan.sum_affected);
    for (int t = 0; t < plan.ntargets; t++) {
        const char *p = plan.targets[t].sql, *end = p + plan.targets[t].len;
        ck_assert(strncmp(p, "INSERT INTO orders (id, user_id) VALUES (", 41) ==
                  0);
        for (; p < end; p++)
            if (*p == '(')
                rows[t]++;
        rows[t]--; /* the column list */
    }
    ck_assert_int_eq(rows[0] + rows[1] + rows[2], 500);
    /* each row sits where placement_locate puts it */
    for (int t = 0; t < plan.ntargets; t++) {
        struct stmt_info sub;
        struct route_plan one;
        route_plan_init(&one);
        sql_classify(plan.targets[t].sql, plan.targets[t].len, LEX_MODE_DEFAULT,
                     &sub);
        router_route(cfg, &sub, &c.ctx, &one);
        ck_assert_int_eq(one.ntargets, 1);
        ck_assert_int_eq(one.targets[0].shard, plan.targets[t].shard);
        route_plan_free(&one);
    }
    route_plan_free(&plan);
}
END_TEST

/* An IN list longer than the classifier's value array is read again. */
START_TEST(test_long_in_list)
{
    struct ctxbuf c;
    struct route_plan plan;
    char sql[16384];
    size_t n = 0;

    ctx_reset(&c);
    route_plan_init(&plan);
    n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                          "SELECT * FROM accounts WHERE id IN (");
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%d", i ? ", " : "",
                              2 * i);
    snprintf(sql + n, sizeof(sql) - n, ")");
    route_sql(sql, &c.ctx, &plan);
    ck_assert_int_eq(plan.ntargets, 1);
    ck_assert_int_eq(plan.targets[0].shard, shard_idx("s0"));
    n -= 2; /* one odd key at the very end */
    snprintf(sql + n - 1, sizeof(sql) - n + 1, "799)");
    route_sql(sql, &c.ctx, &plan);
    ck_assert_int_eq(plan.ntargets, 2);
    route_plan_free(&plan);
}
END_TEST

/* Plan invariants, whatever the statement: a forward names valid shards
 * with text, a refusal says what to do. */
static void
check_plan(const char *what, const struct route_plan *p)
{
    if (p->action == ROUTE_REFUSE) {
        ck_assert_msg(strncmp(p->err_msg, "myshard: ", 9) == 0, "%s: %s", what,
                      p->err_msg);
        ck_assert_msg(p->err_code == 1235 || p->err_code == 1105, "%s: %u",
                      what, p->err_code);
        ck_assert_int_eq(p->ntargets, 0);
        return;
    }
    ck_assert_msg(p->ntargets >= 1, "%s: no target", what);
    for (int i = 0; i < p->ntargets; i++) {
        ck_assert_int_ge(p->targets[i].shard, 0);
        ck_assert_int_lt(p->targets[i].shard, cfg->nshards);
        ck_assert_ptr_nonnull(p->targets[i].sql);
        if (i > 0)
            ck_assert_int_gt(p->targets[i].shard, p->targets[i - 1].shard);
    }
    ck_assert_msg(!(p->sum_affected && p->replicated), "%s", what);
    if (p->merge) {
        ck_assert_uint_le(p->ms.nsort, MERGE_MAX_KEYS);
        ck_assert_uint_le(p->ms.ngroup, MERGE_MAX_KEYS);
        ck_assert_uint_le(p->ms.npost_sort, MERGE_MAX_KEYS);
        ck_assert_uint_le(p->ms.naggs, MERGE_MAX_AGGS);
    }
}

/* Every statement of the sql layer's tables, whole and cut short, in
 * several contexts: no crash, no sanitizer report, sane plans. */
START_TEST(test_corpus)
{
    static const char *const files[] = {"tests/data/classify.tsv",
                                        "tests/data/digest.tsv",
                                        "tests/data/route.tsv"};
    struct ctxbuf c;
    struct route_plan plan;
    char line[8192];
    int n = 0;

    route_plan_init(&plan);
    for (unsigned f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        FILE *fp = fopen(files[f], "r");
        ck_assert_ptr_nonnull(fp);
        while (fgets(line, sizeof(line), fp) != NULL) {
            char *tab = strchr(line, '\t');
            size_t len;
            if (line[0] == '#' || line[0] == '@' || line[0] == '\n')
                continue;
            if (tab)
                *tab = '\0';
            len = strlen(line);
            for (int mode = 0; mode < 4; mode++) {
                ctx_reset(&c);
                if (mode == 1)
                    c.ctx.schema = -1;
                if (mode == 2)
                    c.ctx.in_txn = true;
                if (mode == 3)
                    ctx_params(&c, "1,'a',NULL,-5,2,3,4,5");
                for (size_t cut = len; cut > 0; cut = cut > 7 ? cut - 7 : 0) {
                    char *copy = malloc(cut);
                    memcpy(copy, line, cut);
                    sql_classify(copy, cut, LEX_MODE_DEFAULT, &st);
                    router_route(cfg, &st, &c.ctx, &plan);
                    check_plan(line, &plan);
                    free(copy);
                    n++;
                    if (mode > 0)
                        break;
                }
            }
        }
        fclose(fp);
    }
    route_plan_free(&plan);
    ck_assert_int_gt(n, 1000);
}
END_TEST

/* router_route is on every statement's path: keep it in microseconds. */
START_TEST(test_timing)
{
    struct ctxbuf c;
    struct route_plan plan;
    const char *sql = "SELECT c FROM orders WHERE user_id = 12345";
    struct timespec t0, t1;
    double ns;
    int n = 20000;

    ctx_reset(&c);
    route_plan_init(&plan);
    sql_classify(sql, strlen(sql), LEX_MODE_DEFAULT, &st);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++)
        router_route(cfg, &st, &c.ctx, &plan);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
          (double)(t1.tv_nsec - t0.tv_nsec)) /
         n;
    fprintf(stderr, "router_route point select: %.0f ns\n", ns);
    ck_assert_int_eq(plan.ntargets, 1);
    /* generous: sanitizer builds on a shared machine */
    ck_assert_msg(ns < 50000, "router_route took %.0f ns", ns);
    route_plan_free(&plan);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, load_cfg, unload_cfg);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_moving);
    tcase_add_test(tc, test_cleanup);
    tcase_add_test(tc, test_point_select_no_buffer);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_long_insert);
    tcase_add_test(tc, test_long_in_list);
    tcase_add_test(tc, test_corpus);
    tcase_add_test(tc, test_timing);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
