/*
 * classify_set.c - SET (system and user variables with their scopes, NAMES,
 * CHARACTER SET, TRANSACTION, and SET STATEMENT ... FOR <statement>, whose
 * inner statement is classified in its place) and USE.
 */
#include <string.h>

#include "classify_internal.h"

static bool
prefix_eq(const char *p, size_t n, const char *word)
{
    size_t wl = strlen(word);
    return n == wl && lexer_ident_eq(p, n, word, wl);
}

/* @@[scope.]name -> scope and name */
static void
sysvar_split(const struct token *t, uint8_t *scope, struct sql_span *name)
{
    const char *s = t->p + 2, *end = t->p + t->len;
    const char *dot = memchr(s, '.', (size_t)(end - s));

    *scope = SCOPE_SESSION;
    if (dot != NULL && s[0] != '`') {
        size_t n = (size_t)(dot - s);
        if (prefix_eq(s, n, "global"))
            *scope = SCOPE_GLOBAL;
        else if (prefix_eq(s, n, "persist"))
            *scope = SCOPE_PERSIST;
        else if (prefix_eq(s, n, "persist_only"))
            *scope = SCOPE_PERSIST_ONLY;
        else if (!prefix_eq(s, n, "session") && !prefix_eq(s, n, "local"))
            dot = NULL; /* structured variable: keep a.b as the name */
        if (dot)
            s = dot + 1;
    }
    *name = span_of(s, end);
}

static void
set_add(struct parser *p, uint8_t kind, uint8_t scope, struct sql_span name,
        struct sql_span value)
{
    struct stmt_info *st = p->st;

    if (st->nsets >= SQL_MAX_SETS) {
        st->overflow = true;
        return;
    }
    st->sets[st->nsets].kind = kind;
    st->sets[st->nsets].scope = scope;
    st->sets[st->nsets].name = name;
    st->sets[st->nsets].value = value;
    st->nsets++;
}

uint8_t
parse_set(struct parser *p)
{
    uint8_t scope = SCOPE_DEFAULT;
    bool statement = false;

    parser_next(p); /* SET */
    if (tok_is(&p->t, "PASSWORD") || tok_is(&p->t, "ROLE") ||
        (parser_is(p, KW_DEFAULT) && parser_peek(p)->type == TOK_IDENT &&
         tok_is(parser_peek(p), "ROLE")))
        return STMT_ADMIN;
    if (tok_is(&p->t, "STATEMENT") && parser_peek(p)->type != TOK_OP) {
        statement = true;
        parser_next(p);
    }
    for (;;) {
        struct sql_span name = {0}, value;
        uint8_t kind = SETK_SYSVAR, vscope;
        const char *s;

        switch (p->t.kw) {
        case KW_GLOBAL:
            scope = SCOPE_GLOBAL;
            parser_next(p);
            break;
        case KW_SESSION:
        case KW_LOCAL:
            scope = SCOPE_SESSION;
            parser_next(p);
            break;
        case KW_PERSIST:
            scope = SCOPE_PERSIST;
            parser_next(p);
            break;
        case KW_PERSIST_ONLY:
            scope = SCOPE_PERSIST_ONLY;
            parser_next(p);
            break;
        default:
            break;
        }
        vscope = scope;
        if (parser_is(p, KW_TRANSACTION)) {
            name = span_tok(&p->t);
            parser_next(p);
            s = p->t.p;
            while (!parser_at_end(p))
                parser_next(p);
            set_add(p, SETK_TRANSACTION, vscope, name, span_of(s, p->last_end));
            return STMT_SET;
        }
        if (parser_is(p, KW_NAMES)) {
            kind = SETK_NAMES;
            name = span_tok(&p->t);
            parser_next(p);
            goto value;
        }
        if (parser_is(p, KW_CHARSET) ||
            (parser_is(p, KW_CHARACTER) && parser_peek_is(p, KW_SET))) {
            kind = SETK_CHARSET;
            name = span_tok(&p->t);
            if (parser_is(p, KW_CHARACTER)) {
                parser_next(p);
                name = span_of(name.p, p->t.p + p->t.len);
            }
            parser_next(p);
            goto value;
        }
        if (p->t.type == TOK_USERVAR) {
            kind = SETK_USERVAR;
            name = span_of(p->t.p + 1, p->t.p + p->t.len);
            p->uv_writes++;
            parser_next(p);
        } else if (p->t.type == TOK_SYSVAR) {
            sysvar_split(&p->t, &vscope, &name);
            parser_next(p);
        } else if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
            const char *ns = p->t.p;
            parser_next(p);
            if (p->t.type == TOK_DOT) {
                parser_next(p);
                parser_next(p);
            }
            name = span_of(ns, p->last_end);
        } else {
            return STMT_SET;
        }
        if (!parser_is_op(p, "=") && !parser_is_op(p, ":="))
            return STMT_SET;
        parser_next(p);
    value:
        s = p->t.p;
        parser_skip_expr(p, 0, CK_COMMA | (statement ? CK_LOCKING : 0));
        value = span_of(s, p->last_end);
        set_add(p, kind, vscope, name, value);
        if (p->t.type == TOK_COMMA) {
            parser_next(p);
            continue;
        }
        break;
    }
    if (statement && parser_accept(p, KW_FOR)) {
        p->st->flags |= SQLF_SET_STATEMENT;
        if (p->nest >= PARSE_MAX_NEST) {
            p->st->overflow = true;
            return STMT_OTHER;
        }
        p->nest++;
        p->st->inner.p = p->t.p;
        uint8_t k = parse_statement(p);
        p->nest--;
        return k;
    }
    return STMT_SET;
}

uint8_t
parse_use(struct parser *p)
{
    parser_next(p);
    if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
        p->st->schema = span_tok(&p->t);
        parser_next(p);
    }
    return STMT_USE;
}
