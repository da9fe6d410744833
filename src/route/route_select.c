/*
 * route_select.c - a SELECT that reaches several shards: the merge spec
 * the session's merge engine follows and the text every shard receives.
 *
 * What each shape becomes (PRODUCT.md: "merged streaming ... what cannot
 * be merged correctly is refused with error 1235"):
 *  - plain: concatenation.
 *  - ORDER BY: k-way merge. A sort item is the select item it names (by
 *    alias, by the same expression text, or by position) when no `*`
 *    comes before that item; otherwise the expression is appended to the
 *    select list as a hidden column, named from the end.
 *  - LIMIT n OFFSET m: the shards get LIMIT m+n, the merge skips m and
 *    stops after n. A `?` count alone is kept as it is; a `?` offset is
 *    refused (the shards' text cannot hold m+n while keeping the
 *    statement's parameters).
 *  - aggregates (COUNT, SUM, MIN, MAX, AVG) with or without GROUP BY: one
 *    partial row per group and shard, combined; AVG(x) becomes SUM(x) in
 *    place (keeping the client's column name with an alias) plus a hidden
 *    COUNT(x). Shards return groups ordered by the group columns: the
 *    client's ORDER BY when it only names group columns (followed by the
 *    remaining ones), else the group columns, and the client's order is
 *    applied after merging (post_sort). Shards are never limited.
 *  - COUNT/SUM/AVG(DISTINCT x): the item becomes x itself (named as the
 *    client wrote it), x joins the GROUP BY (by position) and ends the
 *    shards' ORDER BY, so each shard sends each group's distinct values
 *    in order and the merge counts a value once as the k-way merge meets
 *    it (result/aggregate.h): memory stays one row per shard. The other
 *    aggregates still combine, over the finer groups. Every DISTINCT
 *    aggregate must have the same single argument. MIN/MAX(DISTINCT) are
 *    MIN/MAX. Without GROUP BY the merge answers one row even when no
 *    shard had rows.
 *  - HAVING on a grouped statement: removed from the shards' text and
 *    compiled (route_having.c) into a program the merge runs on each
 *    merged group before ORDER BY and LIMIT; what it names that is not
 *    selected (an aggregate, a group column) is added as a hidden column.
 *    HAVING without grouping or aggregates filters single rows: the
 *    shards keep it.
 *  - DISTINCT: shards order by the client's ORDER BY then every selected
 *    column, the merge collapses equal neighbours; never limited.
 *  - refused: UNION, window functions, WITH ROLLUP, DISTINCT aggregates
 *    over different arguments, GROUP_CONCAT and other aggregates,
 *    aggregates inside expressions, SELECT ... INTO, SQL_CALC_FOUND_ROWS,
 *    DISTINCT with GROUP BY, SELECT DISTINCT *, aggregates after `*`, and
 *    the HAVING forms route_having.c lists.
 */
#include <stdio.h>
#include <string.h>

#include "route_having.h"
#include "route_internal.h"
#include "sql/classify.h"
#include "sql/lexer.h"

#define HREF_BASE  20000 /* column numbers >= this are hidden columns */
#define MAX_HIDDEN 64

static const char pre_sum[] = "SUM(";
static const char pre_count[] = "COUNT(";
static const char post_paren[] = ")";
/* Hidden DISTINCT aggregate columns hold the argument itself; these empty
 * prefixes only tell them apart (by address) from each other and from a
 * hidden plain column of the same text. */
static const char pre_dcount[] = "", pre_dsum[] = "", pre_davg[] = "";

struct hidden {
    const char *pre; /* "COUNT(" ..., or NULL */
    struct sql_span expr;
    const char *post; /* ")" or NULL */
};

struct sel {
    struct rt *r;
    const struct stmt_info *st;
    struct merge_spec *ms;
    const char *table; /* for messages */
    int star_at;       /* first `*` item, or nitems */
    int nhidden;
    struct hidden hidden[MAX_HIDDEN];
    struct rt_edits ed;
    /* DISTINCT aggregates: their one argument and the column holding it
     * (dcol < 0: none yet) */
    struct sql_span darg;
    int dcol;
};

/* ---- spans ---- */

static bool
is_order_null(struct lex_mode m, const struct sql_order *o)
{
    struct lexer lx;
    struct token t, extra;

    lexer_init(&lx, o->expr.p, o->expr.len, m);
    return lexer_next(&lx, &t) && t.type == TOK_IDENT && tok_is(&t, "null") &&
           !lexer_next(&lx, &extra);
}

static const char *const agg_names[] = {
    "count",       "sum",           "min",
    "max",         "avg",           "group_concat",
    "std",         "stddev",        "stddev_pop",
    "stddev_samp", "variance",      "var_pop",
    "var_samp",    "bit_and",       "bit_or",
    "bit_xor",     "json_arrayagg", "json_objectagg",
};

static int
agg_name(const struct token *t)
{
    if (t->type != TOK_IDENT)
        return -1;
    for (unsigned i = 0; i < ARRAY_SIZE(agg_names); i++)
        if (tok_is(t, agg_names[i]))
            return (int)i;
    return -1;
}

/*
 * An ORDER BY expression as an aggregate: AGG_COUNT ... AGG_AVG when the
 * whole expression is one such call (its argument in *arg), AGG_NONE when
 * no aggregate appears, AGG_OTHER for anything the merge cannot redo.
 */
static int
expr_agg(struct lex_mode m, struct sql_span s, struct sql_span *arg)
{
    static const uint8_t kinds[] = {AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX,
                                    AGG_AVG};
    struct lexer lx;
    struct token t, prev = {0};
    int first = -2, depth = 0, ntok = 0, closed_at = -1;
    bool any = false;
    const char *arg_start = NULL, *arg_end = NULL;

    lexer_init(&lx, s.p, s.len, m);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_LPAREN && agg_name(&prev) >= 0)
            any = true;
        if (ntok == 0)
            first = agg_name(&t);
        if (ntok == 1 && t.type == TOK_LPAREN)
            arg_start = t.p + 1;
        if (t.type == TOK_LPAREN)
            depth++;
        else if (t.type == TOK_RPAREN && --depth == 0 && closed_at < 0) {
            closed_at = ntok;
            arg_end = t.p;
        }
        if (ntok == 2 && arg_start && t.type == TOK_IDENT &&
            tok_is(&t, "distinct"))
            return AGG_OTHER;
        prev = t;
        ntok++;
    }
    if (!any)
        return AGG_NONE;
    if (first < 0 || first >= (int)ARRAY_SIZE(kinds) || arg_start == NULL ||
        closed_at != ntok - 1)
        return AGG_OTHER;
    arg->p = arg_start;
    arg->len = (uint32_t)(arg_end - arg_start);
    return kinds[first];
}

/* ---- columns ---- */

static int
hidden_add(struct sel *s, const char *pre, struct sql_span expr,
           const char *post)
{
    for (int k = 0; k < s->nhidden; k++)
        if (s->hidden[k].pre == pre && s->hidden[k].post == post &&
            rt_tokens_eq(s->st->mode, s->hidden[k].expr, expr))
            return HREF_BASE + k;
    if (s->nhidden >= MAX_HIDDEN)
        return -1;
    s->hidden[s->nhidden].pre = pre;
    s->hidden[s->nhidden].expr = expr;
    s->hidden[s->nhidden].post = post;
    return HREF_BASE + s->nhidden++;
}

/* The select item an ORDER BY/GROUP BY item names, or -1. */
static int
item_of(const struct sel *s, const struct sql_order *o)
{
    const struct stmt_info *st = s->st;
    struct token id, al;

    if (rt_single_ident(st->mode, o->expr, &id))
        for (int i = 0; i < s->star_at; i++) {
            if (st->items[i].alias.len == 0)
                continue;
            al.p = st->items[i].alias.p;
            al.len = st->items[i].alias.len;
            if (rt_tok_ident_eq(st->mode, &id, &al))
                return i;
        }
    for (int i = 0; i < s->star_at; i++)
        if (rt_tokens_eq(st->mode, o->expr, st->items[i].expr))
            return i;
    return -1;
}

/*
 * Column of the shards' result that an ORDER BY / GROUP BY item denotes
 * (HREF_BASE + k for hidden column k). Appends a hidden column when no
 * select item is it and hidden is allowed; with grouped, a hidden
 * aggregate is also registered in the merge spec. Returns false after
 * refusing.
 */
static bool
resolve(struct sel *s, const struct sql_order *o, bool allow_hidden,
        bool grouped, int *col)
{
    struct rt *r = s->r;
    struct sql_span arg;
    int i, agg, c, c2;

    if (o->position > 0) {
        *col = (int)o->position - 1;
        return true;
    }
    i = item_of(s, o);
    if (i >= 0) {
        *col = i;
        return true;
    }
    if (!allow_hidden) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: SELECT DISTINCT ordered by '%.*s', which is not "
                  "selected, across shards of table '%s' is not supported; "
                  "select it too or add the shard key to the WHERE clause",
                  (int)MIN(o->expr.len, 80u), o->expr.p, s->table);
        return false;
    }
    if (rt_span_has_param(s->st->mode, o->expr)) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: ordering or grouping by an expression with a `?` "
                  "parameter across shards of table '%s' is not supported; "
                  "select the expression or add the shard key to the WHERE "
                  "clause",
                  s->table);
        return false;
    }
    agg = grouped ? expr_agg(s->st->mode, o->expr, &arg) : AGG_NONE;
    if (agg == AGG_OTHER) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: ORDER BY '%.*s' across shards of table '%s' is "
                  "not supported; select the aggregates as columns and order "
                  "by them, or add the shard key to the WHERE clause",
                  (int)MIN(o->expr.len, 80u), o->expr.p, s->table);
        return false;
    }
    if (agg == AGG_AVG) {
        c = hidden_add(s, pre_sum, arg, post_paren);
        c2 = hidden_add(s, pre_count, arg, post_paren);
    } else {
        c = hidden_add(s, NULL, o->expr, NULL);
        c2 = 0;
    }
    if (c < 0 || c2 < 0 || s->ms->naggs >= MERGE_MAX_AGGS) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the statement needs more hidden columns than "
                  "myshard merges; add the shard key to the WHERE clause");
        return false;
    }
    if (agg != AGG_NONE) {
        bool known = false;
        for (unsigned k = 0; k < s->ms->naggs; k++)
            known |= s->ms->aggs[k].col == c;
        if (!known) {
            struct merge_aggcol *a = &s->ms->aggs[s->ms->naggs++];
            a->col = (int16_t)c;
            a->col2 = (int16_t)c2;
            a->agg = agg == AGG_COUNT ? MAGG_COUNT
                     : agg == AGG_SUM ? MAGG_SUM
                     : agg == AGG_MIN ? MAGG_MIN
                     : agg == AGG_MAX ? MAGG_MAX
                                      : MAGG_AVG;
        }
    }
    *col = c;
    return true;
}

static bool
is_dhidden(const struct hidden *h)
{
    return h->pre == pre_dcount || h->pre == pre_dsum || h->pre == pre_davg;
}

/* ORDER BY text for the shards: visible columns by position, hidden ones
 * by their expression (a DISTINCT aggregate's by position: no `*` comes
 * before it). */
static void
order_text(struct sel *s, const struct merge_key *keys, int n)
{
    rt_edits_str(&s->ed, "ORDER BY ");
    for (int i = 0; i < n; i++) {
        int c = keys[i].col;
        if (i)
            rt_edits_str(&s->ed, ", ");
        if (c >= HREF_BASE && is_dhidden(&s->hidden[c - HREF_BASE])) {
            /* by position: its text could be an alias of another item */
            rt_edits_num(&s->ed, (uint64_t)s->st->nitems +
                                     (uint64_t)(c - HREF_BASE) + 1);
        } else if (c >= HREF_BASE) {
            const struct hidden *h = &s->hidden[c - HREF_BASE];
            if (h->pre)
                rt_edits_str(&s->ed, h->pre);
            rt_edits_piece(&s->ed, h->expr.p, h->expr.len);
            if (h->post)
                rt_edits_str(&s->ed, h->post);
        } else {
            rt_edits_num(&s->ed, (uint64_t)c + 1);
        }
        if (keys[i].desc)
            rt_edits_str(&s->ed, " DESC");
    }
}

/* Where an ORDER BY goes when the statement has none: after the last of
 * FROM, WHERE, GROUP BY and HAVING. */
static const char *
order_insert_point(const struct stmt_info *st)
{
    const struct sql_span *spans[] = {&st->from, &st->where, &st->group_by,
                                      &st->having, &st->select_list};
    const char *at = NULL;

    for (unsigned i = 0; i < ARRAY_SIZE(spans); i++)
        if (spans[i]->len && (at == NULL || spans[i]->p + spans[i]->len > at))
            at = spans[i]->p + spans[i]->len;
    return at;
}

static void
set_order(struct sel *s, const struct merge_key *keys, int n)
{
    const struct stmt_info *st = s->st;
    int e;

    if (st->order_by.len) {
        e = rt_edits_begin(&s->ed, st->order_by.p,
                           st->order_by.p + st->order_by.len);
    } else {
        const char *at = order_insert_point(st);
        e = rt_edits_begin(&s->ed, at, at);
        rt_edits_str(&s->ed, " ");
    }
    order_text(s, keys, n);
    rt_edits_end(&s->ed, e);
}

static void
strip_limit(struct sel *s)
{
    const struct stmt_info *st = s->st;
    int e;

    const char *at;

    if (st->limit.len == 0)
        return;
    at = st->limit.p;
    while (at > st->sql && (at[-1] == ' ' || at[-1] == '\t' || at[-1] == '\n' ||
                            at[-1] == '\r'))
        at--;
    e = rt_edits_begin(&s->ed, at, st->limit.p + st->limit.len);
    rt_edits_end(&s->ed, e);
}

/* The LIMIT operands as numbers: literal, or a bound parameter. */
static bool
limit_value(struct sel *s, const struct sql_limitval *v, uint64_t *out)
{
    const struct route_ctx *ctx = s->r->ctx;
    const struct route_key *k;
    int64_t i;

    if (!v->present) {
        *out = 0;
        return true;
    }
    if (!v->is_param) {
        *out = v->value;
        return true;
    }
    if (ctx->params == NULL || v->param >= ctx->nparams) {
        s->r->plan->needs_params = true;
        return false;
    }
    k = &ctx->params[v->param].key;
    if (k->is_null || !placement_key_int(k, &i) || i < 0)
        return false;
    *out = (uint64_t)i;
    return true;
}

static void
set_merge_limit(struct sel *s)
{
    const struct stmt_info *st = s->st;
    uint64_t n, m;

    if (!st->limit_count.present)
        return;
    if (!limit_value(s, &st->limit_count, &n) ||
        !limit_value(s, &st->limit_offset, &m))
        return;
    s->ms->has_limit = true;
    s->ms->limit = n;
    s->ms->offset = m;
}

static bool
refuse_limit_param(struct sel *s, const char *why)
{
    const struct stmt_info *st = s->st;

    if (!(st->limit_count.present && st->limit_count.is_param) &&
        !(st->limit_offset.present && st->limit_offset.is_param))
        return false;
    rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
              "myshard: LIMIT with a `?` %s across shards of table '%s' is "
              "not supported; write the number in the statement or add the "
              "shard key to the WHERE clause",
              why, s->table);
    return true;
}

/* ---- the shapes ---- */

static bool
refuse_shapes(struct sel *s)
{
    const struct stmt_info *st = s->st;
    struct rt *r = s->r;
    const char *what = NULL;

    if (st->flags & SQLF_UNION)
        what = "UNION";
    else if (st->flags & SQLF_WINDOW)
        what = "a window function";
    else if (st->flags & SQLF_INTO)
        what = "SELECT ... INTO";
    else if (st->flags & SQLF_CALC_FOUND_ROWS)
        what = "SQL_CALC_FOUND_ROWS";
    else if (st->flags & SQLF_ROLLUP)
        what = "GROUP BY ... WITH ROLLUP";
    else if ((st->flags & SQLF_DISTINCT) && (st->flags & SQLF_GROUP_BY))
        what = "SELECT DISTINCT with GROUP BY";
    if (what != NULL) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: %s across shards of table '%s' is not supported; "
                  "add the shard key to the WHERE clause or run it per shard "
                  "with a hint",
                  what, s->table);
        return true;
    }
    for (int i = 0; i < st->nitems; i++) {
        const struct sql_item *it = &st->items[i];
        if (it->flags & ITEMF_WINDOW) {
            what = "a window function";
        } else if (it->agg == AGG_GROUP_CONCAT) {
            what = "GROUP_CONCAT";
        } else if (it->agg == AGG_OTHER) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: the aggregate '%.*s' across shards of table "
                      "'%s' is not supported; add the shard key to the WHERE "
                      "clause or compute it per shard",
                      (int)MIN(it->expr.len, 80u), it->expr.p, s->table);
            return true;
        } else if (it->flags & ITEMF_NESTED) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: an aggregate inside an expression ('%.*s') "
                      "across shards of table '%s' is not supported; select "
                      "the aggregates as columns and compute in the "
                      "application, or add the shard key to the WHERE clause",
                      (int)MIN(it->expr.len, 80u), it->expr.p, s->table);
            return true;
        }
        if (what != NULL)
            break;
    }
    if (what != NULL) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: %s across shards of table '%s' is not supported; "
                  "add the shard key to the WHERE clause or compute it per "
                  "shard",
                  what, s->table);
        return true;
    }
    return false;
}

static uint8_t
merge_agg(uint8_t agg)
{
    switch (agg) {
    case AGG_COUNT:
        return MAGG_COUNT;
    case AGG_SUM:
        return MAGG_SUM;
    case AGG_MIN:
        return MAGG_MIN;
    case AGG_MAX:
        return MAGG_MAX;
    case AGG_AVG:
        return MAGG_AVG;
    default:
        return MAGG_NONE;
    }
}

/* An item rewritten into other text keeps the client's column name: an
 * alias with the item's text, when it has none. */
static void
keep_name(struct sel *s, const struct sql_item *it)
{
    const char *p = it->expr.p, *end = it->expr.p + it->expr.len;
    int e;

    if (it->alias.len != 0)
        return;
    e = rt_edits_begin(&s->ed, end, end);
    rt_edits_str(&s->ed, " AS `");
    while (p < end) {
        const char *q = memchr(p, '`', (size_t)(end - p));
        if (q == NULL) {
            rt_edits_piece(&s->ed, p, (size_t)(end - p));
            break;
        }
        rt_edits_piece(&s->ed, p, (size_t)(q - p));
        rt_edits_str(&s->ed, "``");
        p = q + 1;
    }
    rt_edits_str(&s->ed, "`");
    rt_edits_end(&s->ed, e);
}

/* The argument of an aggregate's parentheses after DISTINCT: false (and
 * refused) when there is more than one. */
static bool
distinct_arg(struct sel *s, struct sql_span inner, struct sql_span *arg)
{
    struct lexer lx;
    struct token t;
    int depth = 0;
    bool first = true;

    lexer_init(&lx, inner.p, inner.len, s->st->mode);
    arg->p = NULL;
    while (lexer_next(&lx, &t)) {
        if (first) {
            first = false;
            if (t.type == TOK_IDENT &&
                (tok_is(&t, "distinct") || tok_is(&t, "distinctrow")))
                continue;
        }
        if (arg->p == NULL)
            arg->p = t.p;
        arg->len = (uint32_t)(t.p + t.len - arg->p);
        depth += t.type == TOK_LPAREN;
        depth -= t.type == TOK_RPAREN;
        if (t.type == TOK_COMMA && depth == 0) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: COUNT(DISTINCT) of several expressions "
                      "across shards of table '%s' is not supported; add "
                      "the shard key to the WHERE clause or compute it per "
                      "shard",
                      s->table);
            return false;
        }
    }
    if (arg->p == NULL) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: an empty DISTINCT aggregate across shards of "
                  "table '%s' is not supported",
                  s->table);
        return false;
    }
    return true;
}

/* Every DISTINCT aggregate of the statement must share one argument (the
 * shards can order each group by one thing only). */
static bool
same_darg(struct sel *s, struct sql_span arg)
{
    if (s->dcol < 0 || rt_tokens_eq(s->st->mode, s->darg, arg))
        return true;
    rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
              "myshard: DISTINCT aggregates of different expressions ('%.*s' "
              "and '%.*s') across shards of table '%s' are not supported; "
              "add the shard key to the WHERE clause or compute them per "
              "shard",
              (int)MIN(s->darg.len, 40u), s->darg.p, (int)MIN(arg.len, 40u),
              arg.p, s->table);
    return false;
}

static uint8_t
distinct_kind(uint8_t agg)
{
    return agg == AGG_COUNT ? MAGG_COUNT_DISTINCT
           : agg == AGG_SUM ? MAGG_SUM_DISTINCT
                            : MAGG_AVG_DISTINCT;
}

/* COUNT/SUM/AVG(DISTINCT x) in the select list -> x AS `COUNT(DISTINCT
 * x)`; the merge counts or sums x's distinct values. */
static bool
rewrite_distinct(struct sel *s, int i, struct merge_aggcol *a)
{
    const struct sql_item *it = &s->st->items[i];
    struct sql_span arg;
    int e;

    if (s->star_at < s->st->nitems) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: SELECT * with DISTINCT aggregates across shards "
                  "of table '%s' is not supported; name the columns",
                  s->table);
        return false;
    }
    if (!distinct_arg(s, it->arg, &arg) || !same_darg(s, arg))
        return false;
    if (s->dcol < 0) {
        s->darg = arg;
        s->dcol = i;
    }
    a->agg = distinct_kind(it->agg);
    e = rt_edits_begin(&s->ed, it->expr.p, it->expr.p + it->expr.len);
    rt_edits_piece(&s->ed, arg.p, arg.len);
    rt_edits_end(&s->ed, e);
    keep_name(s, it);
    return true;
}

/* AVG(x) -> SUM(x) AS `AVG(x)`, plus a hidden COUNT(x). */
static bool
rewrite_avg(struct sel *s, int i, struct merge_aggcol *a)
{
    const struct sql_item *it = &s->st->items[i];
    int e;
    int c2;

    if (it->expr.len < 3 || rt_span_has_param(s->st->mode, it->arg)) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: AVG of an expression with a `?` parameter across "
                  "shards of table '%s' is not supported; add the shard key "
                  "to the WHERE clause",
                  s->table);
        return false;
    }
    c2 = -1;
    for (int j = 0; j < s->star_at && c2 < 0; j++)
        if (s->st->items[j].agg == AGG_COUNT &&
            !(s->st->items[j].flags & ITEMF_DISTINCT) &&
            rt_tokens_eq(s->st->mode, s->st->items[j].arg, it->arg))
            c2 = j;
    if (c2 < 0)
        c2 = hidden_add(s, pre_count, it->arg, post_paren);
    if (c2 < 0)
        return false;
    a->col2 = (int16_t)c2;
    e = rt_edits_begin(&s->ed, it->expr.p, it->expr.p + 3);
    rt_edits_str(&s->ed, "SUM");
    rt_edits_end(&s->ed, e);
    keep_name(s, it);
    return true;
}

/* A call NAME(DISTINCT ...): its aggregate (AGG_COUNT...) and the text
 * inside its parentheses; AGG_NONE when s is not one. */
static int
distinct_call(struct lex_mode m, struct sql_span s, struct sql_span *inner)
{
    static const uint8_t kinds[] = {AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX,
                                    AGG_AVG};
    struct lexer lx;
    struct token t[3], last = {0};
    int n = 0, depth = 0, closes = 0, kind;

    lexer_init(&lx, s.p, s.len, m);
    while (lexer_next(&lx, &last)) {
        if (n < 3)
            t[n] = last;
        n++;
        depth += last.type == TOK_LPAREN;
        if (last.type == TOK_RPAREN && --depth == 0)
            closes++;
    }
    if (n < 4 || t[1].type != TOK_LPAREN || t[2].type != TOK_IDENT ||
        !(tok_is(&t[2], "distinct") || tok_is(&t[2], "distinctrow")) ||
        last.type != TOK_RPAREN || closes != 1 || depth != 0)
        return AGG_NONE;
    kind = agg_name(&t[0]);
    if (kind < 0 || kind >= (int)ARRAY_SIZE(kinds))
        return AGG_OTHER;
    inner->p = t[1].p + 1;
    inner->len = (uint32_t)(last.p - inner->p);
    return kinds[kind];
}

/* A HAVING operand as a column of the shards' result (route_having.h). */
static bool
having_operand(void *ctx, struct sql_span span, int *col, bool *inexact)
{
    struct sel *s = ctx;
    const struct stmt_info *st = s->st;
    struct sql_order o = {.expr = span};
    struct sql_span inner, arg;
    int i, agg, c;

    i = item_of(s, &o);
    if (i >= 0) {
        *col = i;
        *inexact = st->items[i].agg == AGG_AVG;
        return true;
    }
    if (rt_span_has_param(st->mode, span)) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: HAVING with a `?` parameter across shards of "
                  "table '%s' is not supported; write the value in the "
                  "statement or add the shard key to the WHERE clause",
                  s->table);
        return false;
    }
    agg = distinct_call(st->mode, span, &inner);
    if (agg == AGG_COUNT || agg == AGG_SUM || agg == AGG_AVG) {
        uint8_t kind = distinct_kind((uint8_t)agg);
        const char *pre = kind == MAGG_COUNT_DISTINCT ? pre_dcount
                          : kind == MAGG_SUM_DISTINCT ? pre_dsum
                                                      : pre_davg;
        bool known = false;
        if (s->star_at < st->nitems) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: SELECT * with DISTINCT aggregates across "
                      "shards of table '%s' is not supported; name the "
                      "columns",
                      s->table);
            return false;
        }
        if (!distinct_arg(s, inner, &arg) || !same_darg(s, arg))
            return false;
        c = hidden_add(s, pre, arg, NULL);
        if (c < 0 || s->ms->naggs >= MERGE_MAX_AGGS) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: the statement needs more hidden columns "
                      "than myshard merges; add the shard key to the WHERE "
                      "clause");
            return false;
        }
        for (unsigned k = 0; k < s->ms->naggs; k++)
            known |= s->ms->aggs[k].col == c;
        if (!known) {
            struct merge_aggcol *a = &s->ms->aggs[s->ms->naggs++];
            a->col = (int16_t)c;
            a->agg = kind;
            a->col2 = 0;
        }
        if (s->dcol < 0) {
            s->darg = arg;
            s->dcol = c;
        }
        *col = c;
        *inexact = kind == MAGG_AVG_DISTINCT;
        return true;
    }
    if (agg == AGG_OTHER ||
        (agg == AGG_NONE && expr_agg(st->mode, span, &arg) == AGG_OTHER)) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: HAVING with '%.*s' across shards of table '%s' "
                  "is not supported; select the aggregates as columns and "
                  "compare them, or add the shard key to the WHERE clause",
                  (int)MIN(span.len, 80u), span.p, s->table);
        return false;
    }
    *inexact = expr_agg(st->mode, span, &arg) == AGG_AVG;
    if (agg == AGG_MIN || agg == AGG_MAX) { /* MIN/MAX(DISTINCT x) */
        c = hidden_add(s, NULL, span, NULL);
        if (c < 0 || s->ms->naggs >= MERGE_MAX_AGGS) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: the statement needs more hidden columns "
                      "than myshard merges; add the shard key to the WHERE "
                      "clause");
            return false;
        }
        s->ms->aggs[s->ms->naggs++] = (struct merge_aggcol){
            .col = (int16_t)c, .agg = agg == AGG_MIN ? MAGG_MIN : MAGG_MAX};
        *col = c;
        return true;
    }
    return resolve(s, &o, true, true, col);
}

/* x of the DISTINCT aggregates joins the shards' GROUP BY, by position. */
static void
group_by_distinct(struct sel *s)
{
    const struct stmt_info *st = s->st;
    uint64_t pos = s->dcol >= HREF_BASE
                       ? (uint64_t)st->nitems + (uint64_t)(s->dcol - HREF_BASE)
                       : (uint64_t)s->dcol;
    const char *at;
    int e;

    if (st->group_by.len) {
        at = st->group_by.p + st->group_by.len;
        e = rt_edits_begin(&s->ed, at, at);
        rt_edits_str(&s->ed, ", ");
    } else {
        at = st->from.p + st->from.len;
        if (st->where.len && st->where.p + st->where.len > at)
            at = st->where.p + st->where.len;
        e = rt_edits_begin(&s->ed, at, at);
        rt_edits_str(&s->ed, " GROUP BY ");
    }
    rt_edits_num(&s->ed, pos + 1);
    rt_edits_end(&s->ed, e);
}

/* The shards never see the HAVING: the merge applies it to whole groups. */
static void
strip_having(struct sel *s)
{
    const struct stmt_info *st = s->st;
    const char *at = st->having.p;
    int e;

    while (at > st->sql && (at[-1] == ' ' || at[-1] == '\t' || at[-1] == '\n' ||
                            at[-1] == '\r'))
        at--;
    e = rt_edits_begin(&s->ed, at, st->having.p + st->having.len);
    rt_edits_end(&s->ed, e);
}

static bool
shape_grouped(struct sel *s)
{
    const struct stmt_info *st = s->st;
    struct merge_spec *ms = s->ms;
    struct merge_key gk[MERGE_MAX_KEYS], ok[MERGE_MAX_KEYS];
    struct merge_key seq[MERGE_MAX_KEYS * 2];
    int ng = 0, no = 0, nseq = 0;
    bool compatible = true;

    ms->grouped = true;
    for (int i = 0; i < st->nitems; i++) {
        const struct sql_item *it = &st->items[i];
        struct merge_aggcol *a;
        if (it->agg == AGG_NONE)
            continue;
        if (i > s->star_at) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: SELECT * with aggregates across shards of "
                      "table '%s' is not supported; name the columns",
                      s->table);
            return false;
        }
        if (ms->naggs >= MERGE_MAX_AGGS)
            return false;
        a = &ms->aggs[ms->naggs++];
        a->col = (int16_t)i;
        a->agg = merge_agg(it->agg);
        a->col2 = 0;
        if ((it->flags & ITEMF_DISTINCT) &&
            (it->agg == AGG_COUNT || it->agg == AGG_SUM ||
             it->agg == AGG_AVG)) {
            if (!rewrite_distinct(s, i, a))
                return false;
            continue;
        }
        if (it->agg == AGG_AVG && !rewrite_avg(s, i, a))
            return false;
    }
    for (int i = 0; i < st->ngroup_items && ng < MERGE_MAX_KEYS; i++) {
        int c;
        if (!resolve(s, &st->group_items[i], true, false, &c))
            return false;
        gk[ng].col = (int16_t)c;
        gk[ng].desc = st->group_items[i].desc;
        ng++;
    }
    if (ng > 0) {
        for (int i = 0; i < st->norder && no < MERGE_MAX_KEYS; i++) {
            int c;
            if (is_order_null(st->mode, &st->order[i]))
                continue;
            if (!resolve(s, &st->order[i], true, true, &c))
                return false;
            ok[no].col = (int16_t)c;
            ok[no].desc = st->order[i].desc;
            no++;
        }
        /* the client's order can lead the group order when it names only
         * group columns, each once */
        for (int i = 0; i < no && compatible; i++) {
            bool in_group = false;
            for (int g = 0; g < ng; g++)
                in_group |= gk[g].col == ok[i].col;
            for (int j = 0; j < i; j++)
                in_group &= ok[j].col != ok[i].col;
            compatible = in_group;
        }
        if (compatible) {
            for (int i = 0; i < no; i++)
                seq[nseq++] = ok[i];
            for (int g = 0; g < ng; g++) {
                bool named = false;
                for (int i = 0; i < no; i++)
                    named |= ok[i].col == gk[g].col;
                if (!named)
                    seq[nseq++] = gk[g];
            }
        } else {
            for (int g = 0; g < ng; g++)
                seq[nseq++] = gk[g];
            for (int i = 0; i < no; i++)
                ms->post_sort[i] = ok[i];
            ms->npost_sort = (uint8_t)no;
        }
        if (nseq > MERGE_MAX_KEYS) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: more than %d GROUP BY columns across shards "
                      "of table '%s' is not supported",
                      MERGE_MAX_KEYS, s->table);
            return false;
        }
        for (int i = 0; i < nseq; i++)
            ms->group[i] = seq[i];
        ms->ngroup = (uint8_t)nseq;
    }
    if (s->st->having.len &&
        !rt_having_compile(s->r, st->mode, st->having, s->table, &ms->having,
                           having_operand, s))
        return false;
    if (s->dcol >= 0) {
        if (nseq + 1 > MERGE_MAX_KEYS) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: more than %d GROUP BY columns with a "
                      "DISTINCT aggregate across shards of table '%s' is "
                      "not supported",
                      MERGE_MAX_KEYS - 1, s->table);
            return false;
        }
        for (int i = 0; i < nseq; i++)
            ms->sort[i] = seq[i];
        ms->sort[nseq].col = (int16_t)s->dcol;
        ms->sort[nseq].desc = false;
        ms->nsort = (uint8_t)(nseq + 1);
        group_by_distinct(s);
        set_order(s, ms->sort, ms->nsort);
    } else if (ng > 0) {
        set_order(s, seq, nseq);
    }
    if (s->st->having.len)
        strip_having(s);
    if (refuse_limit_param(s, "with GROUP BY or aggregates"))
        return false;
    strip_limit(s);
    set_merge_limit(s);
    return true;
}

static bool
shape_distinct(struct sel *s)
{
    const struct stmt_info *st = s->st;
    struct merge_spec *ms = s->ms;
    int n = 0;
    bool used[SQL_MAX_ITEMS] = {false};

    if (s->star_at < st->nitems) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: SELECT DISTINCT * across shards of table '%s' is "
                  "not supported; name the columns",
                  s->table);
        return false;
    }
    if (st->nitems > MERGE_MAX_KEYS) {
        rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                  "myshard: SELECT DISTINCT of more than %d columns across "
                  "shards of table '%s' is not supported",
                  MERGE_MAX_KEYS, s->table);
        return false;
    }
    for (int i = 0; i < st->norder; i++) {
        int c;
        if (is_order_null(st->mode, &st->order[i]))
            continue;
        if (!resolve(s, &st->order[i], false, false, &c))
            return false;
        if (c < 0 || c >= st->nitems) {
            rt_refuse(s->r, ER_NOT_SUPPORTED_YET,
                      "myshard: SELECT DISTINCT ordered by column %d across "
                      "shards of table '%s' is not supported",
                      c + 1, s->table);
            return false;
        }
        if (used[c])
            continue;
        used[c] = true;
        ms->sort[n].col = (int16_t)c;
        ms->sort[n].desc = st->order[i].desc;
        n++;
    }
    for (int c = 0; c < st->nitems; c++)
        if (!used[c]) {
            ms->sort[n].col = (int16_t)c;
            ms->sort[n].desc = false;
            n++;
        }
    ms->nsort = (uint8_t)n;
    ms->distinct = true;
    set_order(s, ms->sort, n);
    if (refuse_limit_param(s, "with DISTINCT"))
        return false;
    strip_limit(s);
    set_merge_limit(s);
    return true;
}

static bool
shape_plain(struct sel *s)
{
    const struct stmt_info *st = s->st;
    struct merge_spec *ms = s->ms;
    uint64_t n, m;
    int k = 0;

    for (int i = 0; i < st->norder && k < MERGE_MAX_KEYS; i++) {
        int c;
        if (is_order_null(st->mode, &st->order[i]))
            continue;
        if (!resolve(s, &st->order[i], true, false, &c))
            return false;
        ms->sort[k].col = (int16_t)c;
        ms->sort[k].desc = st->order[i].desc;
        k++;
    }
    ms->nsort = (uint8_t)k;
    if (!st->limit_count.present)
        return true;
    if (st->limit_offset.present &&
        !(st->limit_offset.is_param == false && st->limit_offset.value == 0)) {
        int e;
        if (refuse_limit_param(s, "and an offset"))
            return false;
        n = st->limit_count.value;
        m = st->limit_offset.value;
        e = rt_edits_begin(&s->ed, st->limit.p, st->limit.p + st->limit.len);
        rt_edits_str(&s->ed, "LIMIT ");
        rt_edits_num(&s->ed, n > UINT64_MAX - m ? UINT64_MAX : n + m);
        rt_edits_end(&s->ed, e);
    }
    set_merge_limit(s);
    return true;
}

static void
fix_hidden(int16_t *col, int nhidden)
{
    if (*col >= HREF_BASE)
        *col = (int16_t) - (nhidden - (*col - HREF_BASE));
}

void
rt_select_merge(struct rt *r)
{
    const struct stmt_info *st = r->st;
    struct route_plan *plan = r->plan;
    struct merge_spec *ms = &plan->ms;
    struct sel *s, sbuf;
    bool ok;
    size_t off, len;

    plan->ms_used = true;
    s = &sbuf;
    s->r = r;
    s->st = st;
    s->ms = ms;
    s->table = r->main >= 0 ? r->tab[r->main].name : "?";
    s->nhidden = 0;
    s->dcol = -1;
    s->darg.p = NULL;
    s->darg.len = 0;
    rt_edits_init(&s->ed, st);
    s->star_at = st->nitems;
    for (int i = 0; i < st->nitems; i++)
        if (st->items[i].flags & ITEMF_STAR) {
            s->star_at = i;
            break;
        }
    if (refuse_shapes(s))
        return;
    if ((st->flags & SQLF_AGGREGATE) || (st->flags & SQLF_GROUP_BY) ||
        st->ngroup_items > 0)
        ok = shape_grouped(s);
    else if (st->flags & SQLF_DISTINCT)
        ok = shape_distinct(s);
    else
        ok = shape_plain(s);
    if (!ok || r->refused) {
        if (!r->refused)
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: this SELECT across shards of table '%s' is "
                      "too complex to merge; add the shard key to the WHERE "
                      "clause",
                      s->table);
        return;
    }
    if (s->nhidden > 0) {
        const char *at = st->select_list.p + st->select_list.len;
        int e = rt_edits_begin(&s->ed, at, at);
        for (int k = 0; k < s->nhidden; k++) {
            rt_edits_str(&s->ed, ", ");
            if (s->hidden[k].pre)
                rt_edits_str(&s->ed, s->hidden[k].pre);
            rt_edits_piece(&s->ed, s->hidden[k].expr.p, s->hidden[k].expr.len);
            if (s->hidden[k].post)
                rt_edits_str(&s->ed, s->hidden[k].post);
        }
        rt_edits_end(&s->ed, e);
        ms->nhidden = (uint16_t)s->nhidden;
        for (int i = 0; i < ms->nsort; i++)
            fix_hidden(&ms->sort[i].col, s->nhidden);
        for (int i = 0; i < ms->ngroup; i++)
            fix_hidden(&ms->group[i].col, s->nhidden);
        for (int i = 0; i < ms->npost_sort; i++)
            fix_hidden(&ms->post_sort[i].col, s->nhidden);
        for (int i = 0; i < ms->having.n; i++)
            if (ms->having.nodes[i].op == EXPR_COL)
                fix_hidden(&ms->having.nodes[i].col, s->nhidden);
        for (int i = 0; i < ms->naggs; i++) {
            fix_hidden(&ms->aggs[i].col, s->nhidden);
            if (ms->aggs[i].agg == MAGG_AVG)
                fix_hidden(&ms->aggs[i].col2, s->nhidden);
        }
    }
    if (s->ed.nedits == 0) {
        plan->merge = true;
        rt_set_targets(r, r->mask, st->sql, st->len);
        return;
    }
    if (!rt_edits_build(&s->ed, plan, &off, &len)) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: this SELECT across shards of table '%s' is too "
                  "complex to rewrite; add the shard key to the WHERE clause",
                  s->table);
        return;
    }
    plan->merge = true;
    rt_set_targets(r, r->mask, plan->buf + off, len);
}
