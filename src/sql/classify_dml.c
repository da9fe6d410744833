/*
 * classify_dml.c - INSERT/REPLACE (column list, VALUES rows, SET form,
 * INSERT ... SELECT, ON DUPLICATE KEY UPDATE), UPDATE and DELETE (single-
 * and multi-table), with their assignments, WHERE, ORDER BY, LIMIT and
 * RETURNING. Written tables get TBLF_WRITE.
 */
#include <string.h>

#include "classify_internal.h"

/* col = expr [, ...] for UPDATE SET and ON DUPLICATE KEY UPDATE. */
static void
parse_assignments(struct parser *p, unsigned blk, bool odku)
{
    struct stmt_info *st = p->st;

    for (;;) {
        struct sql_assign a;
        const char *s;

        memset(&a, 0, sizeof(a));
        if (!pred_parse_colref(p, &a.col))
            return;
        if (!parser_is_op(p, "=") && !parser_is_op(p, ":="))
            return;
        parser_next(p);
        s = p->t.p;
        parser_skip_expr(
            p, blk, CK_COMMA | CK_WHERE | CK_ORDER | CK_LIMIT | CK_RETURNING);
        a.value = span_of(s, p->last_end);
        a.odku = odku;
        if (st->nassigns < SQL_MAX_ASSIGN)
            st->assigns[st->nassigns++] = a;
        else
            st->overflow = true;
        if (p->t.type != TOK_COMMA)
            return;
        parser_next(p);
    }
}

static void
parse_returning(struct parser *p)
{
    if (parser_is(p, KW_RETURNING)) {
        p->st->flags |= SQLF_RETURNING;
        parser_next(p);
        parse_select_list(p, 0, false);
    }
}

uint8_t
parse_insert(struct parser *p, uint8_t kind)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;

    parser_next(p); /* INSERT / REPLACE */
    for (;;) {
        if (parser_is(p, KW_IGNORE))
            st->flags |= SQLF_IGNORE;
        else if (!parser_is(p, KW_LOW_PRIORITY) && !parser_is(p, KW_DELAYED) &&
                 !parser_is(p, KW_HIGH_PRIORITY))
            break;
        parser_next(p);
    }
    parser_accept(p, KW_INTO);
    if (!parser_qname(p, &schema, &name))
        return kind;
    parser_table_add(p, 0, schema, name, TBLF_WRITE);
    if (parser_is(p, KW_PARTITION) && parser_peek_type(p, TOK_LPAREN)) {
        parser_next(p);
        parser_skip_group(p, 0);
    }
    if (p->t.type == TOK_LPAREN && !parser_paren_query(p)) {
        parser_next(p);
        while (!parser_at_end(p) && p->t.type != TOK_RPAREN) {
            struct sql_colref c;
            if (!pred_parse_colref(p, &c)) {
                parser_skip_expr(p, 0, CK_COMMA);
            } else if (st->ncols < SQL_MAX_COLS) {
                st->cols[st->ncols++] = c;
            } else {
                st->overflow = true;
            }
            if (p->t.type != TOK_COMMA)
                break;
            parser_next(p);
        }
        if (p->t.type == TOK_RPAREN)
            parser_next(p);
        st->insert.ncols = st->ncols;
    }
    if (parser_is(p, KW_VALUES) || parser_is(p, KW_VALUE)) {
        const char *s;
        parser_next(p);
        st->insert.form = INSERT_VALUES;
        st->insert.values_param = st->nparams;
        s = p->t.p;
        for (;;) {
            if (parser_is(p, KW_ROW))
                parser_next(p);
            if (p->t.type != TOK_LPAREN)
                break;
            parser_skip_group(p, 0);
            st->insert.nrows++;
            if (p->t.type != TOK_COMMA)
                break;
            parser_next(p);
        }
        st->insert.values = span_of(s, p->last_end);
        if (parser_is(p, KW_AS)) {
            /* row alias: VALUES (...) AS new [(cols)] */
            parser_next(p);
            parser_next(p);
            if (p->t.type == TOK_LPAREN)
                parser_skip_group(p, 0);
        }
    } else if (parser_is(p, KW_SET)) {
        const char *s;
        unsigned first;
        parser_next(p);
        st->insert.form = INSERT_SET;
        st->insert.values_param = st->nparams;
        s = p->t.p;
        first = st->nassigns;
        parse_assignments(p, 0, false);
        /* the SET form's columns are the assignment targets */
        for (unsigned i = first; i < st->nassigns; i++) {
            if (st->ncols < SQL_MAX_COLS)
                st->cols[st->ncols++] = st->assigns[i].col;
            else
                st->overflow = true;
        }
        st->nassigns = (uint8_t)first;
        st->insert.ncols = st->ncols;
        st->insert.nrows = 1;
        st->insert.values = span_of(s, p->last_end);
    } else if (parser_is(p, KW_SELECT) || parser_is(p, KW_WITH) ||
               parser_is(p, KW_TABLE) || p->t.type == TOK_LPAREN) {
        int nb = parser_block_new(p, 0, BLOCK_INSERT);
        st->insert.form = INSERT_SELECT;
        if (nb >= 0)
            parse_query(p, (unsigned)nb, false);
    }
    if (parser_is(p, KW_ON) && parser_peek_is(p, KW_DUPLICATE)) {
        const char *s = p->t.p;
        parser_next(p);
        parser_next(p);
        parser_accept(p, KW_KEY);
        parser_accept(p, KW_UPDATE);
        parse_assignments(p, 0, true);
        st->flags |= SQLF_ODKU;
        st->insert.odku = span_of(s, p->last_end);
    }
    parse_returning(p);
    return kind;
}

/* Marks the tables added since `from` as written. */
static void
mark_written(struct stmt_info *st, unsigned from)
{
    for (unsigned i = from; i < st->ntables; i++)
        if (!(st->tables[i].flags & (TBLF_DERIVED | TBLF_CTE)) &&
            st->tables[i].block == 0)
            st->tables[i].flags |= TBLF_WRITE;
}

static void
parse_where_order_limit(struct parser *p)
{
    struct stmt_info *st = p->st;

    if (parser_is(p, KW_WHERE)) {
        const char *s = p->t.p;
        parser_next(p);
        pred_parse_cond(p, 0, CK_AFTER_WHERE, 0);
        st->where = span_of(s, p->last_end);
    }
    if (parser_is(p, KW_ORDER)) {
        const char *s = p->t.p;
        parse_order_list(p, 0, st->order, &st->norder, true);
        st->flags |= SQLF_ORDER_BY;
        st->order_by = span_of(s, p->last_end);
    }
    if (parser_is(p, KW_LIMIT))
        parse_limit(p, true);
}

uint8_t
parse_update(struct parser *p)
{
    struct stmt_info *st = p->st;
    unsigned first = st->ntables;

    parser_next(p); /* UPDATE */
    for (;;) {
        if (parser_is(p, KW_IGNORE))
            st->flags |= SQLF_IGNORE;
        else if (!parser_is(p, KW_LOW_PRIORITY))
            break;
        parser_next(p);
    }
    parse_table_refs(p, 0, 0);
    mark_written(st, first);
    if (parser_accept(p, KW_SET))
        parse_assignments(p, 0, false);
    parse_where_order_limit(p);
    return STMT_UPDATE;
}

uint8_t
parse_delete(struct parser *p)
{
    struct stmt_info *st = p->st;
    unsigned first = st->ntables;

    parser_next(p); /* DELETE */
    for (;;) {
        if (parser_is(p, KW_IGNORE))
            st->flags |= SQLF_IGNORE;
        else if (!parser_is(p, KW_LOW_PRIORITY) && !parser_is(p, KW_QUICK))
            break;
        parser_next(p);
    }
    if (parser_accept(p, KW_FROM)) {
        parse_table_refs(p, 0, 0);
        if (parser_accept(p, KW_USING)) {
            /* DELETE FROM t1, t2 USING refs: the FROM list names
             * targets (maybe aliases) of the USING references */
            st->ntables = (uint8_t)first;
            parse_table_refs(p, 0, 0);
        }
    } else {
        /* DELETE t1, t2 FROM refs */
        parser_skip_expr(p, 0, CK_FROM);
        if (parser_accept(p, KW_FROM))
            parse_table_refs(p, 0, 0);
    }
    mark_written(st, first);
    parse_where_order_limit(p);
    parse_returning(p);
    return STMT_DELETE;
}
