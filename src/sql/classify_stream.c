/*
 * classify_stream.c - the token stream under every statement grammar: one
 * token of lookahead over the lexer, optimizer and routing hints consumed on
 * the way ("/ * myshard: shard=s1 * /" into stmt_info.hint), the flags a
 * token sets wherever it appears (@@vars, ?, FOUND_ROWS(), lock functions,
 * information_schema, aggregate calls), expression skipping with its stop
 * classes, and the small helpers that record blocks, tables and names.
 */
#include <stddef.h>
#include <string.h>

#include "parse_internal.h"

static bool
is_blank(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == ',';
}

/* Reads "/ * myshard: shard=s1, primary * /" into st->hint. */
static void
hint_parse(struct stmt_info *st, const struct token *t)
{
    const char *s = memchr(t->p, ':', t->len);
    const char *end = t->p + t->len - 2; /* before the closing marker */

    st->hint.present = true;
    st->hint.text = span_tok(t);
    if (s == NULL)
        return;
    s++;
    while (s < end) {
        const char *w;
        size_t n;

        while (s < end && is_blank(*s))
            s++;
        if (s >= end)
            break;
        w = s;
        while (s < end && !is_blank(*s) && *s != '=')
            s++;
        n = (size_t)(s - w);
        if (n == 7 && lexer_ident_eq(w, n, "primary", 7)) {
            st->hint.role = HINT_PRIMARY;
        } else if (n == 7 && lexer_ident_eq(w, n, "replica", 7)) {
            st->hint.role = HINT_REPLICA;
        } else if (n == 5 && lexer_ident_eq(w, n, "shard", 5)) {
            const char *v;
            while (s < end && (*s == ' ' || *s == '\t'))
                s++;
            if (s >= end || *s != '=') {
                st->hint.bad = true;
                continue;
            }
            s++;
            while (s < end && (*s == ' ' || *s == '\t'))
                s++;
            v = s;
            while (s < end && !is_blank(*s))
                s++;
            if (s == v)
                st->hint.bad = true;
            else
                st->hint.shard = span_of(v, s);
        } else {
            st->hint.bad = true;
            if (s < end && *s == '=')
                s++;
        }
    }
}

#define SHAPE_PRIME 0x100000001b3ULL

/* Adds a token to the statement's shape (stmt_info.shape), once, in
 * source order: a literal by its type alone, anything else by its type
 * and text as written. */
static inline void
shape_add(struct parser *p, const struct token *t)
{
    uint64_t h = p->shape;

    if (t->p < p->shaped)
        return;
    p->shaped = t->p + (t->len ? t->len : 1);
    h = (h ^ (uint64_t)t->type) * SHAPE_PRIME;
    switch (t->type) {
    case TOK_NUMBER:
    case TOK_STRING:
    case TOK_HEX:
    case TOK_BIT:
    case TOK_PARAM:
        break;
    default:
        h = (h ^ (uint64_t)t->len) * SHAPE_PRIME;
        for (size_t i = 0; i < t->len; i++)
            h = (h ^ (uint8_t)t->p[i]) * SHAPE_PRIME;
    }
    p->shape = h;
}

/* The next raw token, with hints consumed. */
static inline void
lex_raw(struct parser *p, struct token *t)
{
    for (;;) {
        if (!lexer_next(&p->lx, t)) {
            t->type = TOK_EOF;
            t->kw = KW_NONE;
            t->p = p->lx.end;
            t->len = 0;
            return;
        }
        if (t->type == TOK_HINT) {
            hint_parse(p->st, t);
            continue;
        }
        if (t->type == TOK_ERROR)
            p->st->lex_error = true;
        shape_add(p, t);
        return;
    }
}

static bool
is_info_schema(const struct token *t)
{
    if (t->type == TOK_IDENT)
        return t->len == 18 &&
               lexer_ident_eq(t->p, t->len, "information_schema", 18);
    return t->len == 20 &&
           lexer_ident_eq(t->p, t->len, "information_schema", 18);
}

/* Flags that a token sets wherever it appears, given the one before it.
 * Each token is noted once, even when a caller backtracks over it. */
static inline void
note(struct parser *p)
{
    const struct token *t = &p->t;
    struct stmt_info *st = p->st;

    if (t->p < p->noted)
        return;
    p->noted = t->p + (t->len ? t->len : 1);
    switch (t->type) {
    case TOK_USERVAR:
        p->uv_tokens++;
        break;
    case TOK_SYSVAR:
        st->flags |= SQLF_SYSVAR;
        break;
    case TOK_PARAM:
        st->nparams = t->param + 1;
        break;
    case TOK_OP:
        if (p->prev_type == TOK_USERVAR && t->len == 2 && t->p[0] == ':')
            p->uv_writes++;
        break;
    case TOK_IDENT:
        if (t->kw == KW_ROW_COUNT)
            st->flags |= SQLF_ROW_COUNT;
        else if (t->kw == KW_LOAD_FILE)
            st->flags |= SQLF_LOAD_FILE;
        /* fall through */
    case TOK_QIDENT:
        if ((t->len == 18 || t->len == 20) && is_info_schema(t))
            st->flags |= SQLF_INFO_SCHEMA;
        break;
    case TOK_LPAREN:
        if (p->prev_type != TOK_IDENT)
            break;
        switch (p->prev_kw) {
        case KW_FOUND_ROWS:
            st->flags |= SQLF_FOUND_ROWS;
            break;
        case KW_LAST_INSERT_ID:
            st->flags |= SQLF_LAST_INSERT_ID;
            break;
        case KW_GET_LOCK:
        case KW_RELEASE_LOCK:
        case KW_RELEASE_ALL_LOCKS:
        case KW_IS_USED_LOCK:
        case KW_IS_FREE_LOCK:
            st->flags |= SQLF_LOCK_FUNC;
            break;
        default:
            if (keyword_flags(p->prev_kw) & KWF_AGG)
                p->agg_calls++;
            break;
        }
        break;
    default:
        break;
    }
}

void
parser_init(struct parser *p, const char *sql, size_t len, struct lex_mode mode,
            struct stmt_info *st)
{
    lexer_init(&p->lx, sql, len, mode);
    p->has_la = false;
    p->swallow = false;
    p->st = st;
    p->last_end = sql;
    p->noted = sql;
    p->shaped = sql;
    /* the lexing mode decides the tokens, so it is part of the shape */
    p->shape = (0xcbf29ce484222325ULL ^ mode.flags) * SHAPE_PRIME;
    p->shape = (p->shape ^ mode.charset) * SHAPE_PRIME;
    p->prev_type = TOK_EOF;
    p->prev_kw = KW_NONE;
    p->nest = 0;
    p->agg_calls = 0;
    p->uv_tokens = 0;
    p->uv_writes = 0;
    lex_raw(p, &p->t);
    note(p);
}

void
parser_next(struct parser *p)
{
    if (parser_at_end(p))
        return;
    p->last_end = p->t.p + p->t.len;
    p->prev_type = p->t.type;
    p->prev_kw = p->t.kw;
    if (p->has_la) {
        p->t = p->la;
        p->has_la = false;
    } else {
        lex_raw(p, &p->t);
    }
    note(p);
}

const struct token *
parser_peek(struct parser *p)
{
    if (parser_at_end(p))
        return &p->t;
    if (!p->has_la) {
        lex_raw(p, &p->la);
        p->has_la = true;
    }
    return &p->la;
}

unsigned
parser_stop_class(struct parser *p)
{
    const struct token *t = &p->t;

    if (t->type == TOK_COMMA)
        return CK_COMMA;
    if (t->type == TOK_OP) {
        /* `||` is OR unless PIPES_AS_CONCAT makes it concatenation */
        if (t->len == 2 && ((t->p[0] == '&' && t->p[1] == '&') ||
                            (t->p[0] == '|' && t->p[1] == '|' &&
                             !(p->lx.mode.flags & LEXM_PIPES_AS_CONCAT))))
            return CK_ANDOR;
        return 0;
    }
    if (t->type != TOK_IDENT || t->kw == KW_NONE)
        return 0;
    switch (t->kw) {
    case KW_AND:
    case KW_OR:
    case KW_XOR:
        return CK_ANDOR;
    case KW_FROM:
        return CK_FROM;
    case KW_WHERE:
        return CK_WHERE;
    case KW_GROUP:
        return CK_GROUP;
    case KW_HAVING:
        return CK_HAVING;
    case KW_WINDOW:
        return CK_WINDOW;
    case KW_ORDER:
        return CK_ORDER;
    case KW_LIMIT:
        return CK_LIMIT;
    case KW_INTO:
        return CK_INTO;
    case KW_UNION:
    case KW_EXCEPT:
    case KW_INTERSECT:
        return CK_SETOP;
    case KW_FOR:
    case KW_LOCK:
        return CK_LOCKING;
    case KW_ON:
        return CK_ON;
    case KW_USING:
        return CK_USING;
    case KW_JOIN:
    case KW_INNER:
    case KW_CROSS:
    case KW_NATURAL:
    case KW_STRAIGHT_JOIN:
        return CK_JOIN;
    case KW_LEFT:
    case KW_RIGHT:
        return parser_peek_type(p, TOK_LPAREN) ? 0 : CK_JOIN;
    case KW_SET:
        return CK_SET;
    case KW_RETURNING:
        return CK_RETURNING;
    case KW_ASC:
    case KW_DESC:
        return CK_ASCDESC;
    case KW_WITH:
        return CK_WITH;
    default:
        return 0;
    }
}

/* Skips a parenthesised group at '(' without looking inside (used past
 * the nesting limit). Iterative. */
void
parser_skip_flat(struct parser *p)
{
    unsigned depth = 0;

    while (!parser_at_end(p)) {
        if (p->t.type == TOK_LPAREN) {
            depth++;
        } else if (p->t.type == TOK_RPAREN) {
            if (depth <= 1) {
                parser_next(p);
                return;
            }
            depth--;
        }
        parser_next(p);
    }
}

void
parser_skip_expr(struct parser *p, unsigned blk, unsigned stop)
{
    unsigned depth = 0, case_depth = 0, between = 0;

    while (!parser_at_end(p)) {
        const struct token *t = &p->t;

        if (t->type == TOK_LPAREN) {
            if (parser_paren_query(p)) {
                parser_subquery(p, blk, BLOCK_SUBQUERY);
                continue;
            }
            depth++;
            parser_next(p);
            continue;
        }
        if (t->type == TOK_RPAREN) {
            if (depth == 0)
                return;
            depth--;
            parser_next(p);
            continue;
        }
        if (depth == 0 && stop != 0) {
            if (t->type == TOK_IDENT) {
                if (t->kw == KW_CASE) {
                    case_depth++;
                } else if (t->kw == KW_END && case_depth > 0) {
                    case_depth--;
                } else if (t->kw == KW_BETWEEN) {
                    between++;
                } else if (t->kw == KW_AND && between > 0) {
                    between--;
                } else if (case_depth == 0 && t->kw != KW_NONE &&
                           (parser_stop_class(p) & stop)) {
                    return;
                }
            } else if (case_depth == 0 &&
                       (t->type == TOK_COMMA || t->type == TOK_OP)) {
                unsigned k = parser_stop_class(p);
                if (k == CK_ANDOR && between > 0 && t->p[0] == '&') {
                    between--;
                } else if (k & stop) {
                    return;
                }
            }
        }
        parser_next(p);
    }
}

/* ------------------------------------------------------------------ */
/* blocks, tables and names                                            */
/* ------------------------------------------------------------------ */

int
parser_block_new(struct parser *p, unsigned parent, unsigned kind)
{
    struct stmt_info *st = p->st;

    if (st->nblocks >= SQL_MAX_BLOCKS) {
        st->overflow = true;
        return -1;
    }
    st->blocks[st->nblocks].parent = (uint8_t)parent;
    st->blocks[st->nblocks].kind = (uint8_t)kind;
    return st->nblocks++;
}

/* Compares two raw identifier spans (bare or backticked), ignoring case. */
static bool
span_ident_eq(struct sql_span a, struct sql_span b, struct lex_mode mode)
{
    char buf[256];
    size_t n;

    if (b.len >= 2 && b.p[0] == '`') {
        n = lexer_unquote(b.p, b.len, mode, buf, sizeof(buf));
        if (n >= sizeof(buf))
            return false;
        return lexer_ident_eq(a.p, a.len, buf, n);
    }
    return lexer_ident_eq(a.p, a.len, b.p, b.len);
}

int
parser_table_add(struct parser *p, unsigned blk, struct sql_span schema,
                 struct sql_span name, unsigned flags)
{
    struct stmt_info *st = p->st;
    struct sql_table *tb;

    if (st->ntables >= SQL_MAX_TABLES) {
        st->overflow = true;
        return -1;
    }
    if (schema.len == 0 && name.len > 0) {
        for (unsigned i = 0; i < st->nctes; i++) {
            if (span_ident_eq(name, st->ctes[i], st->mode)) {
                flags |= TBLF_CTE;
                break;
            }
        }
    }
    tb = &st->tables[st->ntables];
    tb->schema = schema;
    tb->name = name;
    tb->alias.p = NULL;
    tb->alias.len = 0;
    tb->block = (uint8_t)blk;
    tb->flags = (uint8_t)flags;
    return st->ntables++;
}

/* [schema.]name at the current token; false when there is none. */
bool
parser_qname(struct parser *p, struct sql_span *schema, struct sql_span *name)
{
    if (!parser_is_name(&p->t))
        return false;
    schema->p = NULL;
    schema->len = 0;
    *name = span_tok(&p->t);
    parser_next(p);
    if (p->t.type == TOK_DOT) {
        parser_next(p);
        if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
            *schema = *name;
            *name = span_tok(&p->t);
            parser_next(p);
        }
    }
    return true;
}

/* A table alias: AS name, or a bare non-reserved name / quoted name. */
bool
parser_alias(struct parser *p, struct sql_span *alias)
{
    if (parser_is(p, KW_AS)) {
        parser_next(p);
        if (parser_is_name(&p->t) || p->t.type == TOK_STRING) {
            *alias = span_tok(&p->t);
            parser_next(p);
            return true;
        }
        return false;
    }
    if (parser_is_name(&p->t) || p->t.type == TOK_STRING) {
        *alias = span_tok(&p->t);
        parser_next(p);
        return true;
    }
    return false;
}

/* Skips a '(' ... ')' group (subqueries inside are parsed). */
void
parser_skip_group(struct parser *p, unsigned blk)
{
    if (p->t.type != TOK_LPAREN)
        return;
    if (parser_paren_query(p)) {
        parser_subquery(p, blk, BLOCK_SUBQUERY);
        return;
    }
    parser_next(p);
    parser_skip_expr(p, blk, 0);
    if (p->t.type == TOK_RPAREN)
        parser_next(p);
}
