/*
 * classify_select.c - the query grammar: [WITH] term {UNION|EXCEPT|INTERSECT
 * term} [ORDER BY] [LIMIT] [FOR UPDATE ..], where a term is SELECT, TABLE t,
 * VALUES or a parenthesised query. It records, for the top block, the
 * select items (aliases, aggregates, windows), FROM's tables and joins,
 * WHERE's key predicates (through predicates.c), GROUP BY, HAVING, ORDER BY
 * and LIMIT; subqueries, derived tables and CTEs become blocks of their own.
 * INSERT ... SELECT, CREATE ... AS SELECT and EXPLAIN reuse it.
 */
#include <stdint.h>
#include <string.h>

#include "classify_internal.h"

int
parser_subquery(struct parser *p, unsigned parent, unsigned kind)
{
    int nb;

    p->st->flags |= SQLF_SUBQUERY;
    if (p->nest >= PARSE_MAX_NEST) {
        p->st->overflow = true;
        parser_skip_flat(p);
        return -1;
    }
    nb = parser_block_new(p, parent, kind);
    if (nb < 0) {
        parser_skip_flat(p);
        return -1;
    }
    parser_next(p); /* '(' */
    p->nest++;
    parse_query(p, (unsigned)nb, false);
    p->nest--;
    if (p->t.type != TOK_RPAREN)
        parser_skip_expr(p, (unsigned)nb, 0);
    if (p->t.type == TOK_RPAREN)
        parser_next(p);
    return nb;
}

void
parse_with(struct parser *p, unsigned blk)
{
    struct stmt_info *st = p->st;

    p->st->flags |= SQLF_CTE;
    parser_next(p); /* WITH */
    parser_accept(p, KW_RECURSIVE);
    for (;;) {
        if (!parser_is_name(&p->t))
            return;
        if (st->nctes < SQL_MAX_CTES)
            st->ctes[st->nctes++] = span_tok(&p->t);
        else
            st->overflow = true;
        parser_next(p);
        if (p->t.type == TOK_LPAREN)
            parser_skip_group(p, blk); /* column names */
        if (!parser_accept(p, KW_AS))
            return;
        if (p->t.type != TOK_LPAREN)
            return;
        parser_subquery(p, blk, BLOCK_CTE);
        if (p->t.type != TOK_COMMA)
            return;
        parser_next(p);
    }
}

static uint64_t
parse_u64(const char *s, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            break;
        if (v > (UINT64_MAX - d) / 10)
            return UINT64_MAX;
        v = v * 10 + d;
    }
    return v;
}

static void
limit_value(struct parser *p, struct sql_limitval *v)
{
    v->present = true;
    v->text = span_tok(&p->t);
    if (p->t.type == TOK_NUMBER) {
        v->value = parse_u64(p->t.p, p->t.len);
    } else if (p->t.type == TOK_PARAM) {
        v->is_param = true;
        v->param = p->t.param;
    } else if (p->t.type != TOK_IDENT && p->t.type != TOK_USERVAR) {
        v->present = false;
        return;
    }
    parser_next(p);
}

void
parse_limit(struct parser *p, bool rec)
{
    struct sql_limitval a = {0}, b = {0};
    const char *start = p->t.p;
    struct stmt_info *st = p->st;

    parser_next(p); /* LIMIT */
    limit_value(p, &a);
    if (p->t.type == TOK_COMMA) {
        parser_next(p);
        limit_value(p, &b);
        /* LIMIT offset, count */
        struct sql_limitval tmp = a;
        a = b;
        b = tmp;
    } else if (p->t.type == TOK_IDENT && tok_is(&p->t, "OFFSET")) {
        parser_next(p);
        limit_value(p, &b);
    }
    if (p->t.type == TOK_IDENT && tok_is(&p->t, "ROWS")) {
        /* MariaDB: LIMIT ... ROWS EXAMINED n */
        parser_next(p);
        if (tok_is(&p->t, "EXAMINED")) {
            parser_next(p);
            parser_next(p);
        }
    }
    if (!rec)
        return;
    st->flags |= SQLF_LIMIT;
    st->limit = span_of(start, p->last_end);
    st->limit_count = a;
    st->limit_offset = b;
}

/* ORDER BY / GROUP BY item list at ORDER or GROUP. */
void
parse_order_list(struct parser *p, unsigned blk, struct sql_order *out,
                 uint8_t *count, bool rec)
{
    parser_next(p); /* ORDER / GROUP */
    parser_accept(p, KW_BY);
    for (;;) {
        const char *s = p->t.p;
        bool single_number = p->t.type == TOK_NUMBER;
        struct sql_order o;

        parser_skip_expr(p, blk,
                         CK_COMMA | CK_ASCDESC | CK_WITH | CK_AFTER_WHERE);
        o.expr = span_of(s, p->last_end);
        if (single_number && p->last_end != s + o.expr.len)
            single_number = false;
        o.position = 0;
        if (single_number) {
            /* a position only when the item is that one number token */
            size_t i;
            for (i = 0;
                 i < o.expr.len && o.expr.p[i] >= '0' && o.expr.p[i] <= '9';
                 i++)
                ;
            if (i == o.expr.len && i > 0 && i < 10)
                o.position = (uint32_t)parse_u64(o.expr.p, i);
        }
        o.desc = false;
        if (parser_accept(p, KW_ASC)) {
        } else if (parser_accept(p, KW_DESC)) {
            o.desc = true;
        }
        if (rec) {
            if (*count < SQL_MAX_ORDER)
                out[(*count)++] = o;
            else
                p->st->overflow = true;
        }
        if (p->t.type != TOK_COMMA)
            break;
        parser_next(p);
    }
}

static void
parse_into(struct parser *p, unsigned blk)
{
    p->st->flags |= SQLF_INTO;
    parser_next(p); /* INTO */
    if (tok_is(&p->t, "OUTFILE") || tok_is(&p->t, "DUMPFILE")) {
        p->st->flags |= SQLF_INTO_FILE;
        parser_next(p);
        parser_skip_expr(p, blk, CK_AFTER_WHERE | CK_FROM | CK_WHERE);
        return;
    }
    for (;;) {
        if (p->t.type == TOK_USERVAR)
            p->uv_writes++;
        else if (p->t.type != TOK_IDENT && p->t.type != TOK_QIDENT)
            return;
        parser_next(p);
        if (p->t.type != TOK_COMMA)
            return;
        parser_next(p);
    }
}

/* FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE / INTO after a query. */
static void
parse_tail(struct parser *p, unsigned blk, bool rec)
{
    const char *start = NULL;

    for (;;) {
        if (parser_is(p, KW_FOR) &&
            (parser_peek_is(p, KW_UPDATE) || parser_peek_is(p, KW_SHARE))) {
            if (start == NULL)
                start = p->t.p;
            parser_next(p);
            p->st->flags |=
                p->t.kw == KW_UPDATE ? SQLF_FOR_UPDATE : SQLF_SHARE_LOCK;
            parser_next(p);
            if (parser_accept(p, KW_OF)) {
                while (!parser_at_end(p) &&
                       (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT ||
                        p->t.type == TOK_COMMA || p->t.type == TOK_DOT) &&
                       !parser_is(p, KW_NOWAIT) && !parser_is(p, KW_SKIP) &&
                       !parser_is(p, KW_FOR) && !parser_is(p, KW_LOCK) &&
                       !parser_is(p, KW_INTO))
                    parser_next(p);
            }
            if (parser_accept(p, KW_NOWAIT)) {
            } else if (parser_accept(p, KW_SKIP)) {
                parser_accept(p, KW_LOCKED);
            } else if (parser_accept(p, KW_WAIT)) {
                parser_next(p);
            }
        } else if (parser_is(p, KW_LOCK) && parser_peek_is(p, KW_IN)) {
            if (start == NULL)
                start = p->t.p;
            parser_next(p);
            parser_next(p);
            parser_accept(p, KW_SHARE);
            parser_accept(p, KW_MODE);
            p->st->flags |= SQLF_SHARE_LOCK;
        } else if (parser_is(p, KW_INTO)) {
            parse_into(p, blk);
        } else {
            break;
        }
    }
    if (rec && start)
        p->st->locking = span_of(start, p->last_end);
}

/* One atom of a select item, for alias and aggregate detection. */
struct atom {
    enum tok_type type;
    uint16_t kw;
    const char *p, *end;
};

static bool
atom_is_operand_end(const struct atom *a)
{
    switch (a->type) {
    case TOK_IDENT:
        return a->kw == KW_NONE || !(keyword_flags(a->kw) & KWF_RESERVED) ||
               a->kw == KW_NULL || a->kw == KW_TRUE || a->kw == KW_FALSE;
    case TOK_QIDENT:
    case TOK_NUMBER:
    case TOK_STRING:
    case TOK_HEX:
    case TOK_BIT:
    case TOK_PARAM:
    case TOK_USERVAR:
    case TOK_SYSVAR:
    case TOK_RPAREN:
        return true;
    default:
        return false;
    }
}

static bool
atom_is_alias(const struct atom *a)
{
    if (a->type == TOK_QIDENT || a->type == TOK_STRING)
        return true;
    return a->type == TOK_IDENT && a->kw != KW_END &&
           (a->kw == KW_NONE || !(keyword_flags(a->kw) & KWF_RESERVED));
}

static uint8_t
agg_of(unsigned kw)
{
    switch (kw) {
    case KW_COUNT:
        return AGG_COUNT;
    case KW_SUM:
        return AGG_SUM;
    case KW_MIN:
        return AGG_MIN;
    case KW_MAX:
        return AGG_MAX;
    case KW_AVG:
        return AGG_AVG;
    case KW_GROUP_CONCAT:
        return AGG_GROUP_CONCAT;
    default:
        return (keyword_flags(kw) & KWF_AGG) ? AGG_OTHER : AGG_NONE;
    }
}

#define SELECT_ITEM_END (CK_COMMA | CK_FROM | CK_WHERE | CK_AFTER_WHERE)

void
parse_select_list(struct parser *p, unsigned blk, bool rec)
{
    struct stmt_info *st = p->st;
    const char *list_start = p->t.p;

    for (;;) {
        struct atom first = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        struct sql_span group = {0}; /* 2nd atom's parentheses */
        unsigned natoms = 0, agg0 = p->agg_calls;
        bool window = false, distinct = false, subq = false;
        const char *istart = p->t.p;

        while (!parser_at_end(p) && p->t.type != TOK_RPAREN) {
            struct atom a;
            unsigned k = parser_stop_class(p);

            if (k & SELECT_ITEM_END)
                break;
            a.type = p->t.type;
            a.kw = p->t.kw;
            a.p = p->t.p;
            if (p->t.type == TOK_LPAREN) {
                const char *gs = p->t.p;
                bool q = parser_paren_query(p);
                if (natoms == 1 && !q) {
                    const struct token *n = parser_peek(p);
                    distinct =
                        n->type == TOK_IDENT &&
                        (n->kw == KW_DISTINCT || n->kw == KW_DISTINCTROW);
                }
                subq |= q;
                parser_skip_group(p, blk);
                a.type = TOK_RPAREN;
                if (natoms == 1)
                    group = span_of(gs + 1, p->last_end - 1);
            } else {
                if (p->t.type == TOK_IDENT && p->t.kw == KW_OVER)
                    window = true;
                parser_next(p);
            }
            a.end = p->last_end;
            if (natoms == 0)
                first = a;
            a3 = a2;
            a2 = a1;
            a1 = a;
            natoms++;
        }
        if (rec) {
            struct sql_item it;
            unsigned nexpr = natoms;
            const char *expr_end = natoms ? a1.end : istart;
            unsigned calls = p->agg_calls - agg0;

            memset(&it, 0, sizeof(it));
            if (natoms >= 3 && a2.type == TOK_IDENT && a2.kw == KW_AS &&
                atom_is_alias(&a1)) {
                it.alias = span_of(a1.p, a1.end);
                expr_end = a3.end;
                nexpr -= 2;
            } else if (natoms >= 2 && atom_is_alias(&a1) &&
                       atom_is_operand_end(&a2) &&
                       !(a1.type == TOK_STRING && a2.type == TOK_STRING)) {
                it.alias = span_of(a1.p, a1.end);
                expr_end = a2.end;
                nexpr -= 1;
            }
            it.expr = span_of(istart, expr_end);
            if (nexpr == 1 && first.type == TOK_OP &&
                first.end - first.p == 1 && first.p[0] == '*')
                it.flags |= ITEMF_STAR;
            else if (nexpr == 3 && a1.type == TOK_OP && it.alias.len == 0 &&
                     a1.end - a1.p == 1 && a1.p[0] == '*' && a2.type == TOK_DOT)
                it.flags |= ITEMF_STAR;
            if (nexpr == 2 && first.type == TOK_IDENT &&
                agg_of(first.kw) != AGG_NONE && group.p != NULL) {
                it.agg = agg_of(first.kw);
                it.arg = group;
                if (distinct)
                    it.flags |= ITEMF_DISTINCT;
                if (calls > 1)
                    it.flags |= ITEMF_NESTED;
            } else if (calls > 0) {
                it.flags |= ITEMF_NESTED;
            }
            if (window) {
                it.flags |= ITEMF_WINDOW;
                it.agg = AGG_NONE;
                st->flags |= SQLF_WINDOW;
            }
            if (subq)
                it.flags |= ITEMF_SUBQUERY;
            if (it.agg != AGG_NONE || (it.flags & ITEMF_NESTED))
                st->flags |= SQLF_AGGREGATE;
            if (it.flags & ITEMF_DISTINCT)
                st->flags |= SQLF_AGG_DISTINCT;
            if (st->nitems < SQL_MAX_ITEMS)
                st->items[st->nitems++] = it;
            else
                st->overflow = true;
        }
        if (p->t.type != TOK_COMMA)
            break;
        parser_next(p);
    }
    if (rec)
        st->select_list = span_of(list_start, p->last_end);
}

/* One table reference: name, derived table, or parenthesised join. */
static bool
parse_table_factor(struct parser *p, unsigned blk, unsigned tflags)
{
    struct sql_span schema, name, alias = {0};
    int ti;

    if (p->t.type == TOK_LPAREN ||
        (parser_is(p, KW_LATERAL) && parser_peek_type(p, TOK_LPAREN))) {
        parser_accept(p, KW_LATERAL);
        if (parser_paren_query(p)) {
            int nb = parser_subquery(p, blk, BLOCK_DERIVED);
            parser_alias(p, &alias);
            if (p->t.type == TOK_LPAREN)
                parser_skip_group(p, blk); /* column names */
            if (nb >= 0) {
                struct sql_span none = {0};
                ti =
                    parser_table_add(p, (unsigned)nb, none, none, TBLF_DERIVED);
                if (ti >= 0)
                    p->st->tables[ti].alias = alias;
            }
            return true;
        }
        /* ( table_references ) */
        parser_next(p);
        if (p->nest < PARSE_MAX_NEST) {
            p->nest++;
            parse_table_refs(p, blk, tflags);
            p->nest--;
        } else {
            p->st->overflow = true;
        }
        parser_skip_expr(p, blk, 0);
        if (p->t.type == TOK_RPAREN)
            parser_next(p);
        parser_alias(p, &alias);
        return true;
    }
    if (parser_is(p, KW_JSON_TABLE)) {
        parser_next(p);
        parser_skip_group(p, blk);
        parser_alias(p, &alias);
        return true;
    }
    if (parser_is(p, KW_DUAL)) {
        parser_next(p);
        return true;
    }
    if (!parser_qname(p, &schema, &name))
        return false;
    if (parser_is(p, KW_PARTITION) && parser_peek_type(p, TOK_LPAREN)) {
        parser_next(p);
        parser_skip_group(p, blk);
    }
    parser_alias(p, &alias);
    /* index hints: {USE|IGNORE|FORCE} {INDEX|KEY} [FOR ...] (list) */
    while ((parser_is(p, KW_USE) || parser_is(p, KW_IGNORE) ||
            parser_is(p, KW_FORCE)) &&
           (parser_peek_is(p, KW_INDEX) || parser_peek_is(p, KW_KEY))) {
        parser_next(p);
        parser_next(p);
        if (parser_accept(p, KW_FOR)) {
            if (!parser_accept(p, KW_JOIN)) {
                parser_next(p); /* ORDER / GROUP */
                parser_accept(p, KW_BY);
            }
        }
        parser_skip_group(p, blk);
    }
    ti = parser_table_add(p, blk, schema, name, tflags);
    if (ti >= 0)
        p->st->tables[ti].alias = alias;
    return true;
}

void
parse_table_refs(struct parser *p, unsigned blk, unsigned tflags)
{
    unsigned factors = 0;

    for (;;) {
        if (!parse_table_factor(p, blk, tflags))
            return;
        factors++;
        for (;;) {
            bool outer = false, join = false;

            if (p->t.type == TOK_COMMA) {
                parser_next(p);
                break; /* next factor */
            }
            if (parser_is(p, KW_NATURAL)) {
                parser_next(p);
                join = true;
            }
            if (parser_is(p, KW_LEFT) || parser_is(p, KW_RIGHT)) {
                parser_next(p);
                parser_accept(p, KW_OUTER);
                outer = join = true;
            } else if (parser_is(p, KW_INNER) || parser_is(p, KW_CROSS)) {
                parser_next(p);
                join = true;
            }
            if (parser_is(p, KW_JOIN) || parser_is(p, KW_STRAIGHT_JOIN)) {
                parser_next(p);
                join = true;
            } else if (!join) {
                goto done;
            }
            if (outer)
                p->st->flags |= SQLF_OUTER_JOIN;
            if (!parse_table_factor(p, blk, tflags))
                goto done;
            factors++;
            if (parser_is(p, KW_ON)) {
                parser_next(p);
                pred_parse_cond(p, blk,
                                CK_COMMA | CK_JOIN | CK_ON | CK_USING |
                                    CK_WHERE | CK_SET | CK_AFTER_WHERE,
                                PREDF_ON | (outer ? PREDF_OUTER : 0));
            } else if (parser_is(p, KW_USING)) {
                parser_next(p);
                parser_skip_group(p, blk);
            }
        }
    }
done:
    if (factors > 1)
        p->st->flags |= SQLF_JOIN;
}

static void
parse_select(struct parser *p, unsigned blk, bool top)
{
    struct stmt_info *st = p->st;
    bool rec = top && blk == 0;

    parser_next(p); /* SELECT */
    for (;;) {
        if (p->t.type != TOK_IDENT)
            break;
        switch (p->t.kw) {
        case KW_DISTINCT:
        case KW_DISTINCTROW:
            if (rec)
                st->flags |= SQLF_DISTINCT;
            break;
        case KW_SQL_CALC_FOUND_ROWS:
            st->flags |= SQLF_CALC_FOUND_ROWS;
            break;
        case KW_ALL:
        case KW_HIGH_PRIORITY:
        case KW_STRAIGHT_JOIN:
        case KW_SQL_SMALL_RESULT:
        case KW_SQL_BIG_RESULT:
        case KW_SQL_BUFFER_RESULT:
        case KW_SQL_CACHE:
        case KW_SQL_NO_CACHE:
            break;
        default:
            goto list;
        }
        parser_next(p);
    }
list:
    parse_select_list(p, blk, rec);
    if (parser_is(p, KW_INTO))
        parse_into(p, blk);
    if (parser_is(p, KW_FROM)) {
        const char *s;
        parser_next(p);
        s = p->t.p;
        parse_table_refs(p, blk, 0);
        if (rec)
            st->from = span_of(s, p->last_end);
    }
    if (parser_is(p, KW_WHERE)) {
        const char *s = p->t.p;
        parser_next(p);
        pred_parse_cond(p, blk, CK_AFTER_WHERE, 0);
        if (rec)
            st->where = span_of(s, p->last_end);
    }
    if (parser_is(p, KW_GROUP)) {
        const char *s = p->t.p;
        parse_order_list(p, blk, st->group_items, &st->ngroup_items, rec);
        if (parser_is(p, KW_WITH) && parser_peek_is(p, KW_ROLLUP)) {
            parser_next(p);
            parser_next(p);
            if (rec)
                st->flags |= SQLF_ROLLUP;
        }
        if (rec) {
            st->flags |= SQLF_GROUP_BY;
            st->group_by = span_of(s, p->last_end);
        }
    }
    if (parser_is(p, KW_HAVING)) {
        const char *s = p->t.p;
        parser_next(p);
        parser_skip_expr(p, blk, CK_AFTER_WHERE & ~CK_HAVING);
        if (rec) {
            st->flags |= SQLF_HAVING;
            st->having = span_of(s, p->last_end);
        }
    }
    if (parser_is(p, KW_WINDOW)) {
        parser_next(p);
        parser_skip_expr(p, blk, CK_AFTER_WHERE & ~CK_WINDOW);
        st->flags |= SQLF_WINDOW;
    }
    if (parser_is(p, KW_ORDER)) {
        const char *s = p->t.p;
        parse_order_list(p, blk, st->order, &st->norder, top);
        if (top) {
            st->flags |= SQLF_ORDER_BY;
            st->order_by = span_of(s, p->last_end);
        }
    }
    if (parser_is(p, KW_LIMIT))
        parse_limit(p, top);
    parse_tail(p, blk, top);
}

static void
parse_query_term(struct parser *p, unsigned blk, bool top)
{
    if (p->t.type == TOK_LPAREN) {
        parser_next(p);
        if (p->nest >= PARSE_MAX_NEST) {
            p->st->overflow = true;
            parser_skip_expr(p, blk, 0);
        } else {
            p->nest++;
            parse_query(p, blk, top && blk == 0);
            p->nest--;
        }
        if (p->t.type != TOK_RPAREN)
            parser_skip_expr(p, blk, 0);
        if (p->t.type == TOK_RPAREN)
            parser_next(p);
        return;
    }
    if (parser_is(p, KW_SELECT)) {
        parse_select(p, blk, top);
        return;
    }
    if (parser_is(p, KW_TABLE)) {
        struct sql_span schema, name;
        parser_next(p);
        if (parser_qname(p, &schema, &name))
            parser_table_add(p, blk, schema, name, 0);
        return;
    }
    if (parser_is(p, KW_VALUES)) {
        parser_next(p);
        parser_skip_expr(p, blk, CK_AFTER_WHERE);
    }
}

void
parse_query(struct parser *p, unsigned blk, bool top)
{
    if (parser_is(p, KW_WITH))
        parse_with(p, blk);
    parse_query_term(p, blk, top);
    while (p->t.type == TOK_IDENT &&
           (p->t.kw == KW_UNION || p->t.kw == KW_EXCEPT ||
            p->t.kw == KW_INTERSECT)) {
        int nb;

        if (top)
            p->st->flags |= SQLF_UNION;
        parser_next(p);
        if (!parser_accept(p, KW_ALL))
            parser_accept(p, KW_DISTINCT);
        nb = parser_block_new(p, blk, BLOCK_UNION);
        if (nb < 0) {
            parser_skip_expr(p, blk, CK_SETOP);
            continue;
        }
        parse_query_term(p, (unsigned)nb, top);
    }
    if (parser_is(p, KW_ORDER)) {
        const char *s = p->t.p;
        parse_order_list(p, blk, p->st->order, &p->st->norder, top);
        if (top) {
            p->st->flags |= SQLF_ORDER_BY;
            p->st->order_by = span_of(s, p->last_end);
        }
    }
    if (parser_is(p, KW_LIMIT))
        parse_limit(p, top);
    parse_tail(p, blk, top);
}
