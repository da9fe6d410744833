/*
 * classify_other.c - the statements with a small grammar of their own:
 * EXPLAIN / DESCRIBE (the explained statement is classified as inner_kind),
 * LOCK TABLES, LOAD DATA, HANDLER, KILL, FLUSH, PREPARE and CALL.
 */
#include "classify_internal.h"
#include "sql/classify.h"

uint8_t
parse_explain(struct parser *p, bool analyze)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;

    if (analyze)
        st->flags |= SQLF_ANALYZE;
    for (;;) {
        if (parser_is(p, KW_EXTENDED) || parser_is(p, KW_PARTITIONS)) {
            parser_next(p);
        } else if (parser_is(p, KW_FORMAT) && parser_peek(p)->type == TOK_OP) {
            parser_next(p);
            parser_next(p);
            parser_next(p);
        } else if (parser_is(p, KW_ANALYZE)) {
            st->flags |= SQLF_ANALYZE;
            parser_next(p);
        } else {
            break;
        }
    }
    if (parser_is(p, KW_FOR)) {
        st->inner_kind = STMT_OTHER; /* EXPLAIN FOR CONNECTION n */
        return STMT_EXPLAIN;
    }
    if (p->t.type == TOK_LPAREN || parser_is(p, KW_SELECT) ||
        parser_is(p, KW_WITH) || parser_is(p, KW_TABLE) ||
        parser_is(p, KW_INSERT) || parser_is(p, KW_REPLACE) ||
        parser_is(p, KW_UPDATE) || parser_is(p, KW_DELETE) ||
        parser_is(p, KW_VALUES)) {
        if (p->nest >= PARSE_MAX_NEST) {
            st->overflow = true;
            return STMT_EXPLAIN;
        }
        p->nest++;
        st->inner.p = p->t.p;
        st->inner_kind = parse_statement(p);
        p->nest--;
        return STMT_EXPLAIN;
    }
    st->flags |= SQLF_DESCRIBE_TABLE;
    st->inner_kind = STMT_EMPTY;
    if (parser_qname(p, &schema, &name))
        parser_table_add(p, 0, schema, name, 0);
    return STMT_EXPLAIN;
}

uint8_t
parse_lock(struct parser *p)
{
    struct stmt_info *st = p->st;

    parser_next(p); /* LOCK */
    if (!parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES))
        return STMT_ADMIN; /* LOCK INSTANCE FOR BACKUP */
    parser_next(p);
    for (;;) {
        struct sql_span schema, name, alias = {0};
        int ti;
        bool write = false;

        if (!parser_qname(p, &schema, &name))
            break;
        parser_alias(p, &alias);
        ti = parser_table_add(p, 0, schema, name, 0);
        while (!parser_at_end(p) && p->t.type != TOK_COMMA) {
            if (parser_is(p, KW_WRITE))
                write = true;
            parser_next(p);
        }
        if (ti >= 0) {
            st->tables[ti].alias = alias;
            if (write)
                st->tables[ti].flags |= TBLF_WRITE;
        }
        if (p->t.type != TOK_COMMA)
            break;
        parser_next(p);
    }
    return STMT_LOCK_TABLES;
}

size_t
sql_lock_items(const struct stmt_info *st, struct sql_span *items, size_t cap,
               bool *splittable)
{
    size_t end = st->stmt_len ? st->stmt_len : st->len, n = 0;
    const char *start = NULL;
    struct lexer lx;
    struct token t;

    *splittable = true;
    lexer_init(&lx, st->sql, end, st->mode);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_ERROR)
            return 0;
        if (start == NULL) {
            if (t.type == TOK_IDENT &&
                (t.kw == KW_TABLE || t.kw == KW_TABLES)) {
                start = t.p + t.len;
                *splittable &= !lx.in_exec;
            }
            continue;
        }
        if (t.type != TOK_COMMA)
            continue;
        if (n >= cap)
            return 0;
        *splittable &= !lx.in_exec;
        items[n].p = start;
        items[n].len = (size_t)(t.p - start);
        n++;
        start = t.p + t.len;
    }
    if (start == NULL || n >= cap)
        return 0;
    items[n].p = start;
    items[n].len = (size_t)(st->sql + end - start);
    return n + 1;
}

uint8_t
parse_load(struct parser *p)
{
    struct sql_span schema, name;

    parser_next(p); /* LOAD */
    if (!tok_is(&p->t, "DATA") && !parser_is(p, KW_XML))
        return STMT_ADMIN; /* LOAD INDEX INTO CACHE */
    while (!parser_at_end(p) && !parser_is(p, KW_INFILE)) {
        if (parser_is(p, KW_LOCAL))
            p->st->flags |= SQLF_LOCAL;
        parser_next(p);
    }
    while (!parser_at_end(p) && !parser_is(p, KW_INTO))
        parser_next(p);
    if (parser_accept(p, KW_INTO)) {
        parser_accept(p, KW_TABLE);
        if (parser_qname(p, &schema, &name))
            parser_table_add(p, 0, schema, name, TBLF_WRITE);
    }
    return STMT_LOAD_DATA;
}

uint8_t
parse_handler(struct parser *p)
{
    struct sql_span schema, name;

    parser_next(p); /* HANDLER */
    if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
        schema.p = NULL;
        schema.len = 0;
        name = span_tok(&p->t);
        parser_next(p);
        if (p->t.type == TOK_DOT) {
            parser_next(p);
            schema = name;
            name = span_tok(&p->t);
            parser_next(p);
        }
        parser_table_add(p, 0, schema, name, 0);
    }
    return STMT_HANDLER;
}

uint8_t
parse_kill(struct parser *p)
{
    parser_next(p); /* KILL */
    for (;;) {
        if (parser_is(p, KW_QUERY)) {
            p->st->flags |= SQLF_KILL_QUERY;
        } else if (!parser_is(p, KW_CONNECTION) && !tok_is(&p->t, "HARD") &&
                   !tok_is(&p->t, "SOFT") && !tok_is(&p->t, "ID")) {
            break;
        }
        parser_next(p);
    }
    return parse_named(p, STMT_KILL);
}

uint8_t
parse_flush(struct parser *p)
{
    parser_next(p);
    while (!parser_at_end(p)) {
        if (parser_is(p, KW_WITH) && parser_peek_is(p, KW_READ))
            p->st->flags |= SQLF_GLOBAL_LOCK;
        parser_next(p);
    }
    return STMT_FLUSH;
}

uint8_t
parse_prepare(struct parser *p)
{
    parser_next(p); /* PREPARE */
    parse_named(p, STMT_PREPARE);
    if (parser_accept(p, KW_FROM) &&
        (p->t.type == TOK_STRING || p->t.type == TOK_USERVAR)) {
        p->st->text = span_tok(&p->t);
        parser_next(p);
    }
    return STMT_PREPARE;
}

uint8_t
parse_call(struct parser *p)
{
    const char *s;

    parser_next(p); /* CALL */
    s = p->t.p;
    if (p->t.type != TOK_IDENT && p->t.type != TOK_QIDENT)
        return STMT_CALL;
    parser_next(p);
    if (p->t.type == TOK_DOT) {
        parser_next(p);
        parser_next(p);
    }
    p->st->object = span_of(s, p->last_end);
    return STMT_CALL;
}
