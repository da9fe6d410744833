/*
 * route_stale.c - during a reshard a shard may hold rows it must not
 * answer for: the source keeps stale copies of the moved keys from the
 * cutover until the cleanup deletes them (cfg_rule.cleanup), and the
 * target holds partial copies of the moving keys while they are copied
 * (cfg_rule.moving). A statement that reaches several shards (a scatter,
 * or keys on more than one shard) would see such rows twice. So each
 * target that is such a shard gets its own text, with the rows filtered
 * out on the key column of every table of the rule:
 *   WHERE (<the statement's condition>) AND (<keys>) IS NOT TRUE
 * or, without a WHERE, ` WHERE (<keys>) IS NOT TRUE` after FROM (UPDATE
 * and DELETE: after the statement). <keys> is the reshard's own predicate
 * (placement_set_sql); IS NOT TRUE keeps rows whose key is NULL.
 *
 * Single-target plans are left alone: a key routes to its owner only,
 * and a scatter that reaches one shard reaches no copy. Statements the
 * filter cannot cover safely (UNION, subqueries, derived tables and CTEs,
 * INSERT ... SELECT or DDL reading the rule, outer joins with other
 * tables, missing clause spans) are refused, naming the reshard. Rules
 * without a moving or cleanup set cost one flag test per table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "route/placement.h"
#include "route_internal.h"
#include "sql/classify.h"
#include "sql/lexer.h"

/* The set of rule whose rows shard must not answer for, or NULL. */
static const struct cfg_moving *
stale_set(const struct cfg_rule *rule, int shard)
{
    if (rule->cleanup.active && rule->cleanup.source == shard)
        return &rule->cleanup;
    if (rule->moving.active && rule->moving.target == shard)
        return &rule->moving;
    return NULL;
}

/* A growing text (malloc'd). */
struct sbuf {
    char *p;
    size_t len, cap;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* The text from `from` up to `to` (nothing when to is not after from). */
static void
sb_span(struct sbuf *b, const char *from, const char *to)
{
    if (to > from)
        sb_put(b, from, (size_t)(to - from));
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Refuses: the statement cannot be filtered while the set is active. */
static void
refuse(struct rt *r, const struct cfg_rule *rule, const struct cfg_moving *m,
       const char *why)
{
    rt_refuse(r, ER_NOT_SUPPORTED_YET,
              "myshard: rule '%s' is being resharded (reshard %lld) and %s "
              "cannot be kept from reading rows shard '%s' must not answer "
              "for; add the shard key to the WHERE clause, or retry after "
              "the reshard",
              rule->name, (long long)m->id, why,
              r->cfg->shards[m == &rule->cleanup ? m->source : m->target].name);
}

/* The end of the statement's last token (UPDATE/DELETE without WHERE:
 * the filter goes there, never inside a trailing comment). */
static const char *
last_token_end(const struct stmt_info *st)
{
    struct lexer lx;
    struct token t;
    const char *end = NULL;

    lexer_init(&lx, st->sql, st->stmt_len, st->mode);
    while (lexer_next(&lx, &t))
        if (t.type != TOK_SEMI)
            end = t.p + t.len;
    return end;
}

/* Whether span s starts with the WHERE keyword; *cond: what follows. */
static bool
where_cond(struct sql_span s, const char **cond)
{
    if (s.len < 6 || strncasecmp(s.p, "WHERE", 5) != 0)
        return false;
    *cond = s.p + 5;
    while (*cond < s.p + s.len && (**cond == ' ' || **cond == '\t' ||
                                   **cond == '\n' || **cond == '\r'))
        (*cond)++;
    return true;
}

/* The filter of one table: ` AND (<keys>) IS NOT TRUE`. */
static void
put_filter(const struct sql_table *t, const struct cfg_rule *rule,
           const struct cfg_moving *m, const char *column, struct sbuf *out)
{
    char qual[400], small[512];
    size_t n = 0, need;
    char *big = NULL;
    const char *text = small;

    if (t->alias.len > 0) {
        n = (size_t)snprintf(qual, sizeof(qual), "%.*s", (int)t->alias.len,
                             t->alias.p);
    } else if (t->schema.len > 0) {
        n = (size_t)snprintf(qual, sizeof(qual), "%.*s.%.*s",
                             (int)t->schema.len, t->schema.p, (int)t->name.len,
                             t->name.p);
    } else {
        n = (size_t)snprintf(qual, sizeof(qual), "%.*s", (int)t->name.len,
                             t->name.p);
    }
    if (n >= sizeof(qual))
        qual[sizeof(qual) - 1] = '\0';
    need = placement_set_sql(rule, m, qual, column, small, sizeof(small));
    if (need >= sizeof(small)) {
        big = xmalloc(need + 1);
        placement_set_sql(rule, m, qual, column, big, need + 1);
        text = big;
    }
    sb_str(out, " AND (");
    sb_str(out, text);
    sb_str(out, ") IS NOT TRUE");
    free(big);
}

/* The text for target shard `shard`, classified into sub; false when
 * nothing needs filtering there (out untouched) or after refusing. */
static bool
filter_text(struct rt *r, const struct stmt_info *sub, int shard,
            struct sbuf *out)
{
    struct sbuf f = {0};
    const char *cond = NULL, *at;
    bool outer = (sub->flags & SQLF_OUTER_JOIN) != 0, others = false;
    bool kind_ok = sub->kind == STMT_SELECT || sub->kind == STMT_UPDATE ||
                   sub->kind == STMT_DELETE;
    bool reads = kind_ok || sub->kind == STMT_INSERT ||
                 sub->kind == STMT_REPLACE || sub->kind == STMT_DDL;
    const struct cfg_rule *rule0 = NULL;
    const struct cfg_moving *m0 = NULL;
    char done[SQL_MAX_TABLES][400];
    int ndone = 0;

    for (unsigned i = 0; i < sub->ntables && !r->refused; i++) {
        const struct sql_table *t = &sub->tables[i];
        const struct cfg_rule *rule;
        const struct cfg_moving *m;
        struct rt_table x;
        char qual[400];
        bool dup = false;

        if (!reads)
            break; /* DO, LOCK TABLES, SHOW, EXPLAIN: no rows answered */
        rt_classify_table(r, t, &x);
        if (x.cls != TC_SHARDED) {
            others |= x.cls != TC_VIRTUAL;
            continue;
        }
        rule = &r->cfg->rules[x.rule];
        m = stale_set(rule, shard);
        if (m == NULL) {
            others = true;
            continue;
        }
        /* other statements only matter where they read the rows: the
         * SELECT of INSERT ... SELECT, CREATE ... AS SELECT */
        if (!kind_ok && (t->flags & TBLF_WRITE))
            continue;
        if (rule0 == NULL) {
            rule0 = rule;
            m0 = m;
        }
        if (!kind_ok)
            refuse(r, rule, m,
                   sub->kind == STMT_DDL ? "a CREATE ... SELECT reading it"
                                         : "an INSERT ... SELECT reading it");
        else if (t->block != 0 ||
                 (sub->nblocks > 0 && sub->blocks[0].kind != BLOCK_TOP))
            refuse(r, rule, m,
                   "a subquery, derived table or common table expression "
                   "reading it");
        else if (sub->flags & SQLF_UNION)
            refuse(r, rule, m, "a UNION reading it");
        else if (sub->lex_error || sub->multi ||
                 (sub->overflow && (sub->ntables >= SQL_MAX_TABLES ||
                                    sub->nblocks >= SQL_MAX_BLOCKS)) ||
                 (sub->kind == STMT_SELECT && sub->where.len == 0 &&
                  sub->from.len == 0))
            refuse(r, rule, m, "a statement the router cannot read whole");
        else if (x.ct == NULL || x.ct->key == NULL)
            refuse(r, rule, m, "a table without a shard key");
        if (r->refused)
            break;
        snprintf(qual, sizeof(qual), "%.*s",
                 (int)(t->alias.len ? t->alias.len : t->name.len),
                 t->alias.len ? t->alias.p : t->name.p);
        for (int k = 0; k < ndone && !dup; k++)
            dup = strcmp(done[k], qual) == 0;
        if (dup)
            continue;
        memcpy(done[ndone++], qual, sizeof(qual));
        put_filter(t, rule, m, x.ct->key, &f);
    }
    if (!r->refused && rule0 != NULL && outer && others)
        refuse(r, rule0, m0, "an outer join with other tables");
    if (!r->refused && rule0 != NULL && sub->where.len == 0 &&
        (sub->flags & SQLF_RETURNING))
        refuse(r, rule0, m0, "a DELETE ... RETURNING without WHERE");
    if (r->refused || rule0 == NULL) {
        free(f.p);
        return false;
    }
    /* f is " AND (..) IS NOT TRUE ...": the first AND becomes WHERE */
    if (sub->where.len > 0) {
        if (!where_cond(sub->where, &cond)) {
            refuse(r, rule0, m0, "a statement the router cannot read whole");
            free(f.p);
            return false;
        }
        sb_span(out, sub->sql, sub->where.p);
        sb_str(out, "WHERE (");
        sb_span(out, cond, sub->where.p + sub->where.len);
        sb_str(out, ")");
        sb_put(out, f.p, f.len);
        at = sub->where.p + sub->where.len;
    } else {
        /* SELECT: right after FROM (before GROUP BY, ORDER BY, ...);
         * UPDATE/DELETE across shards have no ORDER BY or LIMIT */
        at = sub->kind == STMT_SELECT ? sub->from.p + sub->from.len
                                      : last_token_end(sub);
        if (at == NULL || (sub->kind != STMT_SELECT &&
                           (sub->order_by.len > 0 || sub->limit.len > 0))) {
            refuse(r, rule0, m0, "a statement the router cannot read whole");
            free(f.p);
            return false;
        }
        sb_span(out, sub->sql, at);
        sb_str(out, " WHERE");
        /* " AND" dropped (f always starts with it) */
        sb_put(out, f.p + MIN(f.len, 4), f.len - MIN(f.len, 4));
    }
    sb_span(out, at, sub->sql + sub->len);
    free(f.p);
    return true;
}

/* Whether a table of the statement belongs to a rule with a set. */
static bool
any_set(const struct rt *r)
{
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        if (t->cls == TC_SHARDED && (r->cfg->rules[t->rule].moving.active ||
                                     r->cfg->rules[t->rule].cleanup.active))
            return true;
    }
    return false;
}

void
rt_filter_stale(struct rt *r)
{
    struct route_plan *plan = r->plan;
    struct stmt_info *sub = NULL;
    size_t off[ROUTE_MAX_SHARDS];
    bool inbuf[ROUTE_MAX_SHARDS];

    if (r->refused || plan->action != ROUTE_FORWARD || plan->ntargets < 2 ||
        !any_set(r))
        return;
    /* texts in the plan's buffer by offset: it moves as it grows */
    for (int i = 0; i < plan->ntargets; i++) {
        const char *p = plan->targets[i].sql;
        inbuf[i] = plan->buf != NULL && p >= plan->buf &&
                   p < plan->buf + plan->buf_len;
        off[i] = inbuf[i] ? (size_t)(p - plan->buf) : 0;
    }
    for (int i = 0; i < plan->ntargets && !r->refused; i++) {
        struct route_target *tg = &plan->targets[i];
        struct sbuf out = {0};
        char *copy;
        bool need = false;

        /* a cheap test first: does this shard hold rows to filter? */
        for (int k = 0; k < r->ntab && !need; k++)
            need = r->tab[k].cls == TC_SHARDED &&
                   stale_set(&r->cfg->rules[r->tab[k].rule], tg->shard);
        if (!need)
            continue;
        copy = xmalloc(tg->len + 1);
        memcpy(copy, inbuf[i] ? plan->buf + off[i] : tg->sql, tg->len);
        copy[tg->len] = '\0';
        if (sub == NULL)
            sub = xcalloc(1, sizeof(*sub));
        sql_classify(copy, tg->len, r->st->mode, sub);
        if (filter_text(r, sub, tg->shard, &out)) {
            off[i] = rt_buf_put(plan, out.p, out.len);
            inbuf[i] = true;
            tg->len = out.len;
        }
        free(out.p);
        free(copy);
    }
    free(sub);
    for (int i = 0; i < plan->ntargets; i++)
        if (inbuf[i])
            plan->targets[i].sql = plan->buf + off[i];
}
