/*
 * route_format.c - a route plan as text: the multi-line description
 * EXPLAIN ROUTE prints (what the plan was decided from, the targets with
 * their statements, the merge) and the one-line merge spec the route
 * tests compare. Formatting only; no routing decisions live here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "route/router.h"

struct out {
    char *buf;
    size_t cap;
    size_t len; /* bytes the whole text needs */
};

static void out_printf(struct out *o, const char *fmt, ...) PRINTF_FMT(2, 3);

static void
out_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void
out_keys(struct out *o, const char *name, const struct merge_key *k, int n)
{
    out_printf(o, "%s=[", name);
    for (int i = 0; i < n; i++)
        out_printf(o, "%s%d%s", i ? "," : "", k[i].col,
                   k[i].desc ? " desc" : "");
    out_printf(o, "]");
}

static const char *
agg_text(uint8_t agg)
{
    static const char *const names[] = {
        "NONE", "COUNT",          "SUM",          "MIN",         "MAX",
        "AVG",  "COUNT_DISTINCT", "SUM_DISTINCT", "AVG_DISTINCT"};
    return agg < sizeof(names) / sizeof(names[0]) ? names[agg] : "?";
}

static void
merge_text(struct out *o, const struct merge_spec *ms)
{
    size_t start = o->len;

#define SEP() (o->len > start ? " " : "")
    if (ms->nsort) {
        out_printf(o, "%s", SEP());
        out_keys(o, "sort", ms->sort, ms->nsort);
    }
    if (ms->grouped) {
        out_printf(o, "%s", SEP());
        out_keys(o, "group", ms->group, ms->ngroup);
    }
    if (ms->naggs) {
        out_printf(o, "%saggs=[", SEP());
        for (int i = 0; i < ms->naggs; i++) {
            const struct merge_aggcol *a = &ms->aggs[i];
            out_printf(o, "%s%s@%d", i ? "," : "", agg_text(a->agg), a->col);
            if (a->agg == MAGG_AVG)
                out_printf(o, "/%d", a->col2);
        }
        out_printf(o, "]");
    }
    if (ms->having.n)
        out_printf(o, "%shaving=%u", SEP(), (unsigned)ms->having.n);
    if (ms->npost_sort) {
        out_printf(o, "%s", SEP());
        out_keys(o, "post_sort", ms->post_sort, ms->npost_sort);
    }
    if (ms->distinct)
        out_printf(o, "%sdistinct", SEP());
    if (ms->has_limit)
        out_printf(o, "%slimit=%llu offset=%llu", SEP(),
                   (unsigned long long)ms->limit,
                   (unsigned long long)ms->offset);
    if (ms->nhidden)
        out_printf(o, "%shidden=%u", SEP(), ms->nhidden);
    if (o->len == start)
        out_printf(o, "concat");
#undef SEP
}

size_t
route_merge_format(const struct merge_spec *ms, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};

    if (cap > 0)
        buf[0] = '\0';
    merge_text(&o, ms);
    return o.len;
}

static const char *
shard_name(const struct cfg *cfg, int s)
{
    return s >= 0 && s < cfg->nshards ? cfg->shards[s].name : "?";
}

size_t
route_plan_format(const struct cfg *cfg, const struct route_plan *plan,
                  char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};

    if (cap > 0)
        buf[0] = '\0';
    out_printf(&o, "kind: %s\n", plan->kind ? plan->kind : "");
    out_printf(&o, "tables: %s\n", plan->tables[0] ? plan->tables : "-");
    if (plan->table_rule >= 0 && plan->table_rule < cfg->nrules)
        out_printf(&o, "rule: %s\n", cfg->rules[plan->table_rule].name);
    out_printf(&o, "keys: %s\n", plan->keys[0] ? plan->keys : "-");
    if (plan->action == ROUTE_REFUSE) {
        out_printf(&o, "refuse: %u %s\n", plan->err_code, plan->err_msg);
        return o.len;
    }
    out_printf(&o, "route: %s", plan->role == ROLE_READ ? "read" : "primary");
    if (plan->scatter)
        out_printf(&o, ", scatter");
    if (plan->merge)
        out_printf(&o, ", merge");
    if (plan->sum_affected)
        out_printf(&o, ", sum affected rows");
    if (plan->replicated)
        out_printf(&o, ", replicated");
    if (plan->needs_params)
        out_printf(&o, ", needs parameter values");
    out_printf(&o, "\n");
    if (plan->touches_moving && plan->moving_rule >= 0 &&
        plan->moving_rule < cfg->nrules)
        out_printf(&o,
                   "moving: reshard %lld of rule %s (writes held at "
                   "cutover)\n",
                   (long long)plan->moving_id,
                   cfg->rules[plan->moving_rule].name);
    for (int i = 0; i < plan->ntargets; i++)
        out_printf(&o, "target %s: %.*s\n",
                   shard_name(cfg, plan->targets[i].shard),
                   (int)plan->targets[i].len,
                   plan->targets[i].sql ? plan->targets[i].sql : "");
    if (plan->merge) {
        out_printf(&o, "merge: ");
        merge_text(&o, &plan->ms);
        out_printf(&o, "\n");
    }
    return o.len;
}
