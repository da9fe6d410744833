/*
 * classify.c - sql_classify(): the statement kind and everything routing
 * needs from one statement's text, in one streaming pass (see
 * sql/classify.h for the contract and parse_internal.h for the parser).
 *
 * Shape of the pass:
 *
 *   sql_classify
 *     parse_statement ----- dispatch on the first keyword
 *       parse_query -------- [WITH] term {UNION term} [ORDER BY] [LIMIT] [FOR
 * ..] parse_select ----- select list, FROM refs, WHERE, GROUP BY, HAVING ...
 *           parse_table_refs / parse_table_factor (derived tables, joins, ON)
 *           pred_parse_cond (predicates.c: key predicates of WHERE and ON)
 *       parse_insert / parse_update / parse_delete / parse_set / parse_show
 *       parse_ddl / parse_txn / ... for the other statement kinds
 *     drain ---------------- the rest of the statement, subqueries included
 *     finish --------------- ';' and more statements, is_write, txn effects
 *
 * Nothing is allocated; the output's arrays are appended to with bounds
 * checks that set stmt_info.overflow.
 */
#include "sql/classify.h"

#include <stddef.h>
#include <string.h>

#include "parse_internal.h"

/* ------------------------------------------------------------------ */
/* token stream                                                        */
/* ------------------------------------------------------------------ */

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

static bool
peek_is(struct parser *p, unsigned kw)
{
    const struct token *t = parser_peek(p);
    return t->type == TOK_IDENT && t->kw == kw;
}

static bool
peek_type(struct parser *p, enum tok_type type)
{
    return parser_peek(p)->type == type;
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
        return peek_type(p, TOK_LPAREN) ? 0 : CK_JOIN;
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
static void
skip_group_flat(struct parser *p)
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
/* output helpers                                                      */
/* ------------------------------------------------------------------ */

static int
block_new(struct parser *p, unsigned parent, unsigned kind)
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

static int
table_add(struct parser *p, unsigned blk, struct sql_span schema,
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

static bool
is_name_token(const struct token *t)
{
    return t->type == TOK_QIDENT ||
           (t->type == TOK_IDENT && !(keyword_flags(t->kw) & KWF_RESERVED));
}

/* [schema.]name at the current token; false when there is none. */
static bool
parse_qname(struct parser *p, struct sql_span *schema, struct sql_span *name)
{
    if (!is_name_token(&p->t))
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
static bool
parse_alias(struct parser *p, struct sql_span *alias)
{
    if (parser_is(p, KW_AS)) {
        parser_next(p);
        if (is_name_token(&p->t) || p->t.type == TOK_STRING) {
            *alias = span_tok(&p->t);
            parser_next(p);
            return true;
        }
        return false;
    }
    if (is_name_token(&p->t) || p->t.type == TOK_STRING) {
        *alias = span_tok(&p->t);
        parser_next(p);
        return true;
    }
    return false;
}

/* Skips a '(' ... ')' group (subqueries inside are parsed). */
static void
skip_group(struct parser *p, unsigned blk)
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

/* ------------------------------------------------------------------ */
/* queries                                                             */
/* ------------------------------------------------------------------ */

static void parse_query(struct parser *p, unsigned blk, bool top);
static void parse_table_refs(struct parser *p, unsigned blk, unsigned tflags);

int
parser_subquery(struct parser *p, unsigned parent, unsigned kind)
{
    int nb;

    p->st->flags |= SQLF_SUBQUERY;
    if (p->nest >= PARSE_MAX_NEST) {
        p->st->overflow = true;
        skip_group_flat(p);
        return -1;
    }
    nb = block_new(p, parent, kind);
    if (nb < 0) {
        skip_group_flat(p);
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

static void
parse_with(struct parser *p, unsigned blk)
{
    struct stmt_info *st = p->st;

    p->st->flags |= SQLF_CTE;
    parser_next(p); /* WITH */
    parser_accept(p, KW_RECURSIVE);
    for (;;) {
        if (!is_name_token(&p->t))
            return;
        if (st->nctes < SQL_MAX_CTES)
            st->ctes[st->nctes++] = span_tok(&p->t);
        else
            st->overflow = true;
        parser_next(p);
        if (p->t.type == TOK_LPAREN)
            skip_group(p, blk); /* column names */
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

static void
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
static void
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
            (peek_is(p, KW_UPDATE) || peek_is(p, KW_SHARE))) {
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
        } else if (parser_is(p, KW_LOCK) && peek_is(p, KW_IN)) {
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

static void
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
                skip_group(p, blk);
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
        (parser_is(p, KW_LATERAL) && peek_type(p, TOK_LPAREN))) {
        parser_accept(p, KW_LATERAL);
        if (parser_paren_query(p)) {
            int nb = parser_subquery(p, blk, BLOCK_DERIVED);
            parse_alias(p, &alias);
            if (p->t.type == TOK_LPAREN)
                skip_group(p, blk); /* column names */
            if (nb >= 0) {
                struct sql_span none = {0};
                ti = table_add(p, (unsigned)nb, none, none, TBLF_DERIVED);
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
        parse_alias(p, &alias);
        return true;
    }
    if (parser_is(p, KW_JSON_TABLE)) {
        parser_next(p);
        skip_group(p, blk);
        parse_alias(p, &alias);
        return true;
    }
    if (parser_is(p, KW_DUAL)) {
        parser_next(p);
        return true;
    }
    if (!parse_qname(p, &schema, &name))
        return false;
    if (parser_is(p, KW_PARTITION) && peek_type(p, TOK_LPAREN)) {
        parser_next(p);
        skip_group(p, blk);
    }
    parse_alias(p, &alias);
    /* index hints: {USE|IGNORE|FORCE} {INDEX|KEY} [FOR ...] (list) */
    while ((parser_is(p, KW_USE) || parser_is(p, KW_IGNORE) ||
            parser_is(p, KW_FORCE)) &&
           (peek_is(p, KW_INDEX) || peek_is(p, KW_KEY))) {
        parser_next(p);
        parser_next(p);
        if (parser_accept(p, KW_FOR)) {
            if (!parser_accept(p, KW_JOIN)) {
                parser_next(p); /* ORDER / GROUP */
                parser_accept(p, KW_BY);
            }
        }
        skip_group(p, blk);
    }
    ti = table_add(p, blk, schema, name, tflags);
    if (ti >= 0)
        p->st->tables[ti].alias = alias;
    return true;
}

static void
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
                skip_group(p, blk);
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
        if (parser_is(p, KW_WITH) && peek_is(p, KW_ROLLUP)) {
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
        if (parse_qname(p, &schema, &name))
            table_add(p, blk, schema, name, 0);
        return;
    }
    if (parser_is(p, KW_VALUES)) {
        parser_next(p);
        parser_skip_expr(p, blk, CK_AFTER_WHERE);
    }
}

static void
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
        nb = block_new(p, blk, BLOCK_UNION);
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

/* ------------------------------------------------------------------ */
/* DML                                                                 */
/* ------------------------------------------------------------------ */

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

static uint8_t
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
    if (!parse_qname(p, &schema, &name))
        return kind;
    table_add(p, 0, schema, name, TBLF_WRITE);
    if (parser_is(p, KW_PARTITION) && peek_type(p, TOK_LPAREN)) {
        parser_next(p);
        skip_group(p, 0);
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
            skip_group(p, 0);
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
                skip_group(p, 0);
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
        int nb = block_new(p, 0, BLOCK_INSERT);
        st->insert.form = INSERT_SELECT;
        if (nb >= 0)
            parse_query(p, (unsigned)nb, false);
    }
    if (parser_is(p, KW_ON) && peek_is(p, KW_DUPLICATE)) {
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

static uint8_t
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

static uint8_t
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

/* ------------------------------------------------------------------ */
/* SET, USE, SHOW                                                      */
/* ------------------------------------------------------------------ */

static uint8_t parse_statement(struct parser *p);

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

static uint8_t
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
            (parser_is(p, KW_CHARACTER) && peek_is(p, KW_SET))) {
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

static uint8_t
parse_use(struct parser *p)
{
    parser_next(p);
    if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
        p->st->schema = span_tok(&p->t);
        parser_next(p);
    }
    return STMT_USE;
}

/* FROM|IN db after SHOW TABLES and friends */
static void
show_from_db(struct parser *p)
{
    if ((parser_is(p, KW_FROM) || parser_is(p, KW_IN)) &&
        (peek_type(p, TOK_IDENT) || peek_type(p, TOK_QIDENT))) {
        parser_next(p);
        p->st->schema = span_tok(&p->t);
        parser_next(p);
    }
}

/* FROM|IN tbl [FROM|IN db] after SHOW COLUMNS / SHOW INDEX */
static void
show_from_table(struct parser *p)
{
    struct sql_span schema, name;

    if (!parser_is(p, KW_FROM) && !parser_is(p, KW_IN))
        return;
    parser_next(p);
    if (!parse_qname(p, &schema, &name))
        return;
    if ((parser_is(p, KW_FROM) || parser_is(p, KW_IN)) &&
        (peek_type(p, TOK_IDENT) || peek_type(p, TOK_QIDENT))) {
        parser_next(p);
        schema = span_tok(&p->t);
        parser_next(p);
    }
    table_add(p, 0, schema, name, 0);
}

static uint8_t
parse_show(struct parser *p)
{
    struct stmt_info *st = p->st;
    const struct token *t = &p->t;

    parser_next(p); /* SHOW */
    for (;;) {
        if (parser_is(p, KW_FULL) || tok_is(t, "EXTENDED") ||
            tok_is(t, "STORAGE"))
            st->show.full |= parser_is(p, KW_FULL);
        else if (parser_is(p, KW_GLOBAL))
            st->show.scope = SCOPE_GLOBAL;
        else if (parser_is(p, KW_SESSION) || parser_is(p, KW_LOCAL))
            st->show.scope = SCOPE_SESSION;
        else
            break;
        parser_next(p);
    }
    st->show.word = span_tok(t);
    if (t->type != TOK_IDENT) {
        st->show.obj = SHOW_OTHER;
        goto tail;
    }
    switch (t->kw) {
    case KW_DATABASES:
    case KW_SCHEMAS:
        st->show.obj = SHOW_DATABASES;
        parser_next(p);
        break;
    case KW_TABLES:
        st->show.obj = SHOW_TABLES;
        parser_next(p);
        show_from_db(p);
        break;
    case KW_TABLE:
        st->show.obj = SHOW_TABLE_STATUS;
        parser_next(p);
        parser_next(p); /* STATUS */
        show_from_db(p);
        break;
    case KW_OPEN:
        st->show.obj = SHOW_OPEN_TABLES;
        parser_next(p);
        parser_next(p);
        show_from_db(p);
        break;
    case KW_COLUMNS:
    case KW_FIELDS:
        st->show.obj = SHOW_COLUMNS;
        parser_next(p);
        show_from_table(p);
        break;
    case KW_INDEX:
    case KW_INDEXES:
    case KW_KEYS:
        st->show.obj = SHOW_INDEX;
        parser_next(p);
        show_from_table(p);
        break;
    case KW_CREATE: {
        struct sql_span schema, name;
        parser_next(p);
        if (parser_is(p, KW_TABLE) || parser_is(p, KW_VIEW) ||
            parser_is(p, KW_SEQUENCE)) {
            st->show.obj =
                parser_is(p, KW_VIEW) ? SHOW_CREATE_VIEW : SHOW_CREATE_TABLE;
            parser_next(p);
            if (parse_qname(p, &schema, &name))
                table_add(p, 0, schema, name, 0);
        } else if (parser_is(p, KW_DATABASE) || parser_is(p, KW_SCHEMA)) {
            st->show.obj = SHOW_CREATE_DATABASE;
            parser_next(p);
            if (parser_is(p, KW_IF)) {
                parser_next(p);
                parser_next(p);
                parser_next(p);
            }
            if (t->type == TOK_IDENT || t->type == TOK_QIDENT) {
                st->schema = span_tok(t);
                parser_next(p);
            }
        } else {
            st->show.obj = SHOW_CREATE_OTHER;
            parser_next(p);
            if (!parser_at_end(p)) {
                const char *s = t->p;
                parser_skip_expr(p, 0, CK_COMMA);
                st->object = span_of(s, p->last_end);
            }
        }
        break;
    }
    case KW_VARIABLES:
        st->show.obj = SHOW_VARIABLES;
        parser_next(p);
        break;
    case KW_PROCESSLIST:
        st->show.obj = SHOW_PROCESSLIST;
        parser_next(p);
        break;
    case KW_WARNINGS:
        st->show.obj = SHOW_WARNINGS;
        parser_next(p);
        break;
    case KW_ERRORS:
        st->show.obj = SHOW_ERRORS;
        parser_next(p);
        break;
    case KW_COLLATION:
        st->show.obj = SHOW_COLLATION;
        parser_next(p);
        break;
    case KW_CHARSET:
    case KW_CHARACTER:
        st->show.obj = SHOW_CHARSET;
        parser_next(p);
        parser_accept(p, KW_SET);
        break;
    case KW_ENGINES:
        st->show.obj = SHOW_ENGINES;
        parser_next(p);
        break;
    case KW_GRANTS:
        st->show.obj = SHOW_GRANTS;
        parser_next(p);
        break;
    case KW_TRIGGERS:
        st->show.obj = SHOW_TRIGGERS;
        parser_next(p);
        show_from_db(p);
        break;
    default:
        if (tok_is(t, "STATUS")) {
            st->show.obj = SHOW_STATUS;
            parser_next(p);
        } else if (parser_is(p, KW_COUNT) && peek_type(p, TOK_LPAREN)) {
            parser_next(p);
            skip_group(p, 0);
            st->show.obj =
                parser_is(p, KW_ERRORS) ? SHOW_ERRORS : SHOW_WARNINGS;
            parser_next(p);
        } else {
            st->show.obj = SHOW_OTHER;
        }
        break;
    }
tail:
    while (!parser_at_end(p)) {
        if (parser_is(p, KW_LIKE)) {
            parser_next(p);
            if (t->type == TOK_STRING)
                st->show.like = span_tok(t);
        } else if (parser_is(p, KW_WHERE)) {
            const char *s = t->p;
            parser_next(p);
            parser_skip_expr(p, 0, 0);
            st->show.where = span_of(s, p->last_end);
            continue;
        }
        parser_next(p);
    }
    return STMT_SHOW;
}

/* ------------------------------------------------------------------ */
/* transactions                                                        */
/* ------------------------------------------------------------------ */

/* [AND [NO] CHAIN] [[NO] RELEASE] */
static void
parse_chain_release(struct parser *p)
{
    struct stmt_info *st = p->st;

    if (parser_accept(p, KW_AND)) {
        if (parser_accept(p, KW_NO)) {
            parser_accept(p, KW_CHAIN);
        } else if (parser_accept(p, KW_CHAIN)) {
            st->txn |= TXN_CHAIN;
        }
    }
    if (parser_accept(p, KW_NO)) {
        parser_accept(p, KW_RELEASE);
    } else if (parser_accept(p, KW_RELEASE)) {
        st->txn |= TXN_RELEASE;
    }
}

static uint8_t
parse_begin(struct parser *p)
{
    const struct token *n = parser_peek(p);

    if (n->type == TOK_IDENT && n->kw == KW_NOT) {
        /* BEGIN NOT ATOMIC ... END: an anonymous compound statement */
        p->swallow = true;
        p->st->flags |= SQLF_COMPOUND;
        return STMT_OTHER;
    }
    parser_next(p);
    parser_accept(p, KW_WORK);
    p->st->txn |= TXN_BEGIN | TXN_IMPLICIT_COMMIT;
    return STMT_BEGIN;
}

static uint8_t
parse_start(struct parser *p)
{
    struct stmt_info *st = p->st;

    parser_next(p); /* START */
    if (!parser_accept(p, KW_TRANSACTION))
        return STMT_ADMIN; /* START SLAVE / REPLICA / GROUP_REPLICATION */
    st->txn |= TXN_BEGIN | TXN_IMPLICIT_COMMIT;
    for (;;) {
        if (parser_accept(p, KW_READ)) {
            if (tok_is(&p->t, "ONLY")) {
                st->txn |= TXN_READ_ONLY;
                parser_next(p);
            } else if (parser_accept(p, KW_WRITE)) {
                st->txn |= TXN_READ_WRITE;
            }
        } else if (parser_accept(p, KW_WITH)) {
            parser_accept(p, KW_CONSISTENT);
            parser_accept(p, KW_SNAPSHOT);
            st->txn |= TXN_SNAPSHOT;
        } else if (p->t.type == TOK_COMMA) {
            parser_next(p);
        } else {
            break;
        }
    }
    return STMT_BEGIN;
}

static uint8_t
parse_commit(struct parser *p)
{
    parser_next(p);
    parser_accept(p, KW_WORK);
    p->st->txn |= TXN_COMMIT;
    parse_chain_release(p);
    return STMT_COMMIT;
}

static uint8_t
parse_rollback(struct parser *p)
{
    struct stmt_info *st = p->st;

    parser_next(p);
    parser_accept(p, KW_WORK);
    if (parser_accept(p, KW_TO)) {
        parser_accept(p, KW_SAVEPOINT);
        st->flags |= SQLF_TO_SAVEPOINT;
        if (!parser_at_end(p)) {
            st->object = span_tok(&p->t);
            parser_next(p);
        }
        return STMT_ROLLBACK;
    }
    st->txn |= TXN_ROLLBACK;
    parse_chain_release(p);
    return STMT_ROLLBACK;
}

static uint8_t
parse_named(struct parser *p, uint8_t kind)
{
    if (!parser_at_end(p) && p->t.type != TOK_LPAREN) {
        p->st->object = span_tok(&p->t);
        parser_next(p);
    }
    return kind;
}

static uint8_t
parse_xa(struct parser *p)
{
    struct stmt_info *st = p->st;
    const char *s;

    parser_next(p); /* XA */
    switch (p->t.kw) {
    case KW_START:
    case KW_BEGIN:
        st->xa = XA_START;
        break;
    case KW_END:
        st->xa = XA_END;
        break;
    case KW_PREPARE:
        st->xa = XA_PREPARE;
        break;
    case KW_COMMIT:
        st->xa = XA_COMMIT;
        break;
    case KW_ROLLBACK:
        st->xa = XA_ROLLBACK;
        break;
    case KW_RECOVER:
        st->xa = XA_RECOVER;
        break;
    default:
        return STMT_XA;
    }
    parser_next(p);
    if (st->xa == XA_RECOVER)
        return STMT_XA;
    s = p->t.p;
    while (!parser_at_end(p) && !parser_is(p, KW_JOIN) &&
           !parser_is(p, KW_RESUME) && !parser_is(p, KW_ONE) &&
           !tok_is(&p->t, "SUSPEND"))
        parser_next(p);
    st->object = span_of(s, p->last_end);
    if (parser_accept(p, KW_ONE)) {
        parser_accept(p, KW_PHASE);
        st->flags |= SQLF_ONE_PHASE;
    }
    return STMT_XA;
}

/* ------------------------------------------------------------------ */
/* DDL                                                                 */
/* ------------------------------------------------------------------ */

static void
parse_if_exists(struct parser *p, bool not_exists)
{
    if (!parser_is(p, KW_IF))
        return;
    if (not_exists ? !peek_is(p, KW_NOT) : !peek_is(p, KW_EXISTS))
        return;
    parser_next(p);
    if (not_exists)
        parser_next(p);
    parser_accept(p, KW_EXISTS);
    p->st->flags |= not_exists ? SQLF_IF_NOT_EXISTS : SQLF_IF_EXISTS;
}

/* name [, name ...] as written targets */
static void
parse_table_list(struct parser *p, unsigned tflags)
{
    struct sql_span schema, name;

    for (;;) {
        if (!parse_qname(p, &schema, &name))
            return;
        table_add(p, 0, schema, name, tflags);
        if (p->t.type != TOK_COMMA)
            return;
        parser_next(p);
    }
}

/* the object name after CREATE/ALTER/DROP <object> */
static void
parse_object_name(struct parser *p)
{
    const char *s = p->t.p;

    if (!is_name_token(&p->t) && p->t.type != TOK_QIDENT)
        return;
    parser_next(p);
    if (p->t.type == TOK_DOT) {
        parser_next(p);
        parser_next(p);
    }
    p->st->object = span_of(s, p->last_end);
}

/* Skips DEFINER = user / ALGORITHM = x / SQL SECURITY x ... */
static bool
skip_ddl_modifier(struct parser *p)
{
    if (parser_is(p, KW_DEFINER) || parser_is(p, KW_ALGORITHM)) {
        parser_next(p);
        if (parser_is_op(p, "="))
            parser_next(p);
        parser_next(p); /* user / value */
        if (parser_is_op(p, "@")) {
            parser_next(p);
            parser_next(p);
        } else if (p->t.type == TOK_LPAREN) {
            skip_group(p, 0); /* CURRENT_USER() */
        }
        return true;
    }
    if (parser_is(p, KW_SQL) && peek_is(p, KW_SECURITY)) {
        parser_next(p);
        parser_next(p);
        parser_next(p);
        return true;
    }
    if (tok_is(&p->t, "ONLINE") || tok_is(&p->t, "OFFLINE") ||
        parser_is(p, KW_IGNORE) || tok_is(&p->t, "AGGREGATE") ||
        tok_is(&p->t, "NONBLOCKING")) {
        parser_next(p);
        return true;
    }
    return false;
}

/* After CREATE TABLE name: LIKE other, definitions, and [AS] SELECT. */
static void
parse_create_table_rest(struct parser *p)
{
    struct sql_span schema, name;

    if (parser_accept(p, KW_LIKE) ||
        (p->t.type == TOK_LPAREN && peek_is(p, KW_LIKE))) {
        bool paren = false;
        if (p->t.type == TOK_LPAREN) {
            parser_next(p);
            parser_next(p);
            paren = true;
        }
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, 0);
        if (paren && p->t.type == TOK_RPAREN)
            parser_next(p);
        return;
    }
    while (!parser_at_end(p)) {
        if (p->t.type == TOK_LPAREN && !parser_paren_query(p)) {
            parser_next(p);
            parser_skip_expr(p, 0, 0);
            if (p->t.type == TOK_RPAREN)
                parser_next(p);
            continue;
        }
        if (parser_is(p, KW_SELECT) || parser_is(p, KW_WITH) ||
            p->t.type == TOK_LPAREN || parser_is(p, KW_TABLE) ||
            parser_is(p, KW_VALUES)) {
            int nb = block_new(p, 0, BLOCK_INSERT);
            if (nb >= 0)
                parse_query(p, (unsigned)nb, false);
            return;
        }
        parser_next(p);
    }
}

static void
ddl_object_at(struct parser *p, uint8_t *obj)
{
    switch (p->t.kw) {
    case KW_TABLE:
        *obj = DDLO_TABLE;
        break;
    case KW_INDEX:
        *obj = DDLO_INDEX;
        break;
    case KW_DATABASE:
    case KW_SCHEMA:
        *obj = DDLO_DATABASE;
        break;
    case KW_VIEW:
        *obj = DDLO_VIEW;
        break;
    case KW_PROCEDURE:
        *obj = DDLO_PROCEDURE;
        break;
    case KW_FUNCTION:
        *obj = DDLO_FUNCTION;
        break;
    case KW_TRIGGER:
        *obj = DDLO_TRIGGER;
        break;
    case KW_EVENT:
        *obj = DDLO_EVENT;
        break;
    case KW_SEQUENCE:
        *obj = DDLO_SEQUENCE;
        break;
    default:
        *obj = DDLO_OTHER;
        break;
    }
}

static uint8_t
parse_create(struct parser *p)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;
    uint8_t obj;

    parser_next(p); /* CREATE */
    st->ddl_verb = DDL_CREATE;
    if (parser_is(p, KW_OR) && peek_is(p, KW_REPLACE)) {
        parser_next(p);
        parser_next(p);
    }
    for (;;) {
        if (tok_is(&p->t, "TEMPORARY")) {
            st->flags |= SQLF_TEMPORARY;
            parser_next(p);
        } else if (parser_is(p, KW_UNIQUE) || parser_is(p, KW_FULLTEXT) ||
                   parser_is(p, KW_SPATIAL)) {
            parser_next(p);
        } else if (!skip_ddl_modifier(p)) {
            break;
        }
    }
    if (tok_is(&p->t, "USER") || tok_is(&p->t, "ROLE") ||
        parser_is(p, KW_SERVER))
        return STMT_ADMIN;
    ddl_object_at(p, &obj);
    st->ddl_object = obj;
    parser_next(p);
    parse_if_exists(p, true);
    switch (obj) {
    case DDLO_TABLE:
    case DDLO_SEQUENCE:
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name,
                      TBLF_WRITE |
                          ((st->flags & SQLF_TEMPORARY) ? TBLF_TEMP : 0));
        parse_create_table_rest(p);
        break;
    case DDLO_INDEX:
        parse_object_name(p);
        while (!parser_at_end(p) && !parser_is(p, KW_ON))
            parser_next(p);
        if (parser_accept(p, KW_ON) && parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        break;
    case DDLO_DATABASE:
        if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
            st->schema = span_tok(&p->t);
            parser_next(p);
        }
        break;
    case DDLO_VIEW:
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        if (p->t.type == TOK_LPAREN)
            skip_group(p, 0);
        if (parser_accept(p, KW_AS)) {
            int nb = block_new(p, 0, BLOCK_INSERT);
            if (nb >= 0)
                parse_query(p, (unsigned)nb, false);
        }
        break;
    case DDLO_TRIGGER:
        parse_object_name(p);
        while (!parser_at_end(p) && !parser_is(p, KW_ON))
            parser_next(p);
        if (parser_accept(p, KW_ON) && parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        p->swallow = true;
        st->flags |= SQLF_COMPOUND;
        break;
    case DDLO_PROCEDURE:
    case DDLO_FUNCTION:
    case DDLO_EVENT:
        parse_object_name(p);
        p->swallow = true;
        st->flags |= SQLF_COMPOUND;
        break;
    default:
        break;
    }
    return STMT_DDL;
}

static uint8_t
parse_alter(struct parser *p)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;
    uint8_t obj;

    parser_next(p); /* ALTER */
    st->ddl_verb = DDL_ALTER;
    while (skip_ddl_modifier(p))
        ;
    if (tok_is(&p->t, "USER") || tok_is(&p->t, "ROLE") ||
        tok_is(&p->t, "INSTANCE") || parser_is(p, KW_SERVER))
        return STMT_ADMIN;
    ddl_object_at(p, &obj);
    st->ddl_object = obj;
    parser_next(p);
    parse_if_exists(p, false);
    switch (obj) {
    case DDLO_TABLE:
    case DDLO_SEQUENCE:
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        /* ... RENAME [TO|AS] new_name */
        while (!parser_at_end(p)) {
            if (parser_is(p, KW_RENAME) && !peek_is(p, KW_COLUMN) &&
                !peek_is(p, KW_INDEX) && !peek_is(p, KW_KEY)) {
                parser_next(p);
                if (!parser_accept(p, KW_TO))
                    parser_accept(p, KW_AS);
                if (parse_qname(p, &schema, &name))
                    table_add(p, 0, schema, name, TBLF_WRITE);
                continue;
            }
            if (p->t.type == TOK_LPAREN) {
                skip_group(p, 0);
                continue;
            }
            parser_next(p);
        }
        break;
    case DDLO_DATABASE:
        if (p->t.type == TOK_QIDENT ||
            (p->t.type == TOK_IDENT && p->t.kw == KW_NONE)) {
            st->schema = span_tok(&p->t);
            parser_next(p);
        }
        break;
    case DDLO_VIEW:
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        if (p->t.type == TOK_LPAREN)
            skip_group(p, 0);
        if (parser_accept(p, KW_AS)) {
            int nb = block_new(p, 0, BLOCK_INSERT);
            if (nb >= 0)
                parse_query(p, (unsigned)nb, false);
        }
        break;
    default:
        parse_object_name(p);
        break;
    }
    return STMT_DDL;
}

static uint8_t
parse_drop(struct parser *p)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;
    uint8_t obj;

    parser_next(p); /* DROP */
    if (parser_is(p, KW_PREPARE)) {
        parser_next(p);
        return parse_named(p, STMT_DEALLOCATE);
    }
    st->ddl_verb = DDL_DROP;
    if (tok_is(&p->t, "TEMPORARY")) {
        st->flags |= SQLF_TEMPORARY;
        parser_next(p);
    }
    if (tok_is(&p->t, "USER") || tok_is(&p->t, "ROLE") ||
        parser_is(p, KW_SERVER))
        return STMT_ADMIN;
    if (parser_is(p, KW_TABLES))
        obj = DDLO_TABLE;
    else
        ddl_object_at(p, &obj);
    st->ddl_object = obj;
    parser_next(p);
    parse_if_exists(p, false);
    switch (obj) {
    case DDLO_TABLE:
    case DDLO_SEQUENCE:
    case DDLO_VIEW:
        parse_table_list(p, TBLF_WRITE |
                                ((st->flags & SQLF_TEMPORARY) ? TBLF_TEMP : 0));
        break;
    case DDLO_INDEX:
        parse_object_name(p);
        if (parser_accept(p, KW_ON) && parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        break;
    case DDLO_DATABASE:
        if (p->t.type == TOK_IDENT || p->t.type == TOK_QIDENT) {
            st->schema = span_tok(&p->t);
            parser_next(p);
        }
        break;
    default:
        parse_object_name(p);
        break;
    }
    return STMT_DDL;
}

static uint8_t
parse_rename(struct parser *p)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;

    parser_next(p); /* RENAME */
    if (!parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES))
        return STMT_ADMIN; /* RENAME USER */
    parser_next(p);
    st->ddl_verb = DDL_RENAME;
    st->ddl_object = DDLO_TABLE;
    while (!parser_at_end(p)) {
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
        else
            parser_next(p);
    }
    return STMT_DDL;
}

static uint8_t
parse_truncate(struct parser *p)
{
    struct sql_span schema, name;

    parser_next(p);
    parser_accept(p, KW_TABLE);
    p->st->ddl_verb = DDL_TRUNCATE;
    p->st->ddl_object = DDLO_TABLE;
    if (parse_qname(p, &schema, &name))
        table_add(p, 0, schema, name, TBLF_WRITE);
    return STMT_DDL;
}

static uint8_t parse_explain(struct parser *p, bool analyze);

/* ANALYZE/OPTIMIZE/REPAIR/CHECK/CHECKSUM [NO_WRITE_TO_BINLOG|LOCAL] TABLE */
static uint8_t
parse_maint(struct parser *p)
{
    bool analyze = parser_is(p, KW_ANALYZE);
    bool commits = !parser_is(p, KW_CHECKSUM);

    parser_next(p);
    if (analyze && !parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES) &&
        !parser_is(p, KW_NO_WRITE_TO_BINLOG) && !parser_is(p, KW_LOCAL))
        return parse_explain(p, true); /* MariaDB ANALYZE <statement> */
    if (parser_is(p, KW_NO_WRITE_TO_BINLOG) || parser_is(p, KW_LOCAL))
        parser_next(p);
    if (!parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES))
        return STMT_ADMIN;
    parser_next(p);
    p->st->ddl_verb = DDL_MAINT;
    p->st->ddl_object = DDLO_TABLE;
    if (commits)
        p->st->txn |= TXN_IMPLICIT_COMMIT;
    parse_table_list(p, 0);
    return STMT_DDL;
}

/* ------------------------------------------------------------------ */
/* the rest                                                            */
/* ------------------------------------------------------------------ */

static uint8_t
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
    if (parse_qname(p, &schema, &name))
        table_add(p, 0, schema, name, 0);
    return STMT_EXPLAIN;
}

static uint8_t
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

        if (!parse_qname(p, &schema, &name))
            break;
        parse_alias(p, &alias);
        ti = table_add(p, 0, schema, name, 0);
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

static uint8_t
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
        if (parse_qname(p, &schema, &name))
            table_add(p, 0, schema, name, TBLF_WRITE);
    }
    return STMT_LOAD_DATA;
}

static uint8_t
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
        table_add(p, 0, schema, name, 0);
    }
    return STMT_HANDLER;
}

static uint8_t
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

static uint8_t
parse_flush(struct parser *p)
{
    parser_next(p);
    while (!parser_at_end(p)) {
        if (parser_is(p, KW_WITH) && peek_is(p, KW_READ))
            p->st->flags |= SQLF_GLOBAL_LOCK;
        parser_next(p);
    }
    return STMT_FLUSH;
}

static uint8_t
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

static uint8_t
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

static uint8_t
parse_statement(struct parser *p)
{
    const struct token *t = &p->t;

    if (t->type == TOK_EOF || t->type == TOK_SEMI)
        return STMT_EMPTY;
    if (t->type == TOK_LPAREN) {
        parse_query(p, 0, true);
        return STMT_SELECT;
    }
    if (t->type != TOK_IDENT)
        return STMT_OTHER;
    switch (t->kw) {
    case KW_WITH:
        parse_with(p, 0);
        if (parser_is(p, KW_UPDATE))
            return parse_update(p);
        if (parser_is(p, KW_DELETE))
            return parse_delete(p);
        parse_query(p, 0, true);
        return STMT_SELECT;
    case KW_SELECT:
    case KW_TABLE:
    case KW_VALUES:
        parse_query(p, 0, true);
        return STMT_SELECT;
    case KW_INSERT:
        return parse_insert(p, STMT_INSERT);
    case KW_REPLACE:
        return parse_insert(p, STMT_REPLACE);
    case KW_UPDATE:
        return parse_update(p);
    case KW_DELETE:
        return parse_delete(p);
    case KW_SET:
        return parse_set(p);
    case KW_USE:
        return parse_use(p);
    case KW_SHOW:
        return parse_show(p);
    case KW_BEGIN:
        return parse_begin(p);
    case KW_START:
        return parse_start(p);
    case KW_COMMIT:
        return parse_commit(p);
    case KW_ROLLBACK:
        return parse_rollback(p);
    case KW_SAVEPOINT:
        parser_next(p);
        return parse_named(p, STMT_SAVEPOINT);
    case KW_RELEASE:
        parser_next(p);
        parser_accept(p, KW_SAVEPOINT);
        return parse_named(p, STMT_RELEASE_SAVEPOINT);
    case KW_XA:
        return parse_xa(p);
    case KW_CREATE:
        return parse_create(p);
    case KW_ALTER:
        return parse_alter(p);
    case KW_DROP:
        return parse_drop(p);
    case KW_RENAME:
        return parse_rename(p);
    case KW_TRUNCATE:
        return parse_truncate(p);
    case KW_ANALYZE:
    case KW_OPTIMIZE:
    case KW_REPAIR:
    case KW_CHECK:
    case KW_CHECKSUM:
        return parse_maint(p);
    case KW_CALL:
        return parse_call(p);
    case KW_PREPARE:
        return parse_prepare(p);
    case KW_EXECUTE:
        parser_next(p);
        return parse_named(p, STMT_EXECUTE);
    case KW_DEALLOCATE:
        parser_next(p);
        parser_accept(p, KW_PREPARE);
        return parse_named(p, STMT_DEALLOCATE);
    case KW_LOCK:
        return parse_lock(p);
    case KW_UNLOCK:
        parser_next(p);
        if (parser_is(p, KW_TABLE) || parser_is(p, KW_TABLES))
            return STMT_UNLOCK_TABLES;
        return STMT_ADMIN;
    case KW_EXPLAIN:
    case KW_DESCRIBE:
    case KW_DESC:
        parser_next(p);
        return parse_explain(p, false);
    case KW_DO:
        return STMT_DO;
    case KW_HANDLER:
        return parse_handler(p);
    case KW_LOAD:
        return parse_load(p);
    case KW_KILL:
        return parse_kill(p);
    case KW_FLUSH:
        return parse_flush(p);
    case KW_GRANT:
    case KW_REVOKE:
    case KW_INSTALL:
    case KW_UNINSTALL:
    case KW_RESET:
    case KW_PURGE:
    case KW_CHANGE:
    case KW_STOP:
    case KW_SHUTDOWN:
    case KW_RESTART:
    case KW_CACHE:
    case KW_BINLOG:
    case KW_CLONE:
        return STMT_ADMIN;
    default:
        if (tok_is(t, "BACKUP"))
            return STMT_ADMIN;
        return STMT_OTHER;
    }
}

/* ------------------------------------------------------------------ */
/* entry                                                               */
/* ------------------------------------------------------------------ */

static void
drain(struct parser *p)
{
    while (!parser_at_end(p)) {
        parser_skip_expr(p, 0, 0);
        if (!parser_at_end(p))
            parser_next(p); /* an unbalanced ')' */
    }
}

static void
finish(struct parser *p)
{
    struct stmt_info *st = p->st;
    bool w = false;

    if (p->t.type == TOK_SEMI && !p->swallow) {
        struct token t;
        st->stmt_len = (size_t)(p->t.p - st->sql);
        while (lexer_next(&p->lx, &t)) {
            if (t.type != TOK_SEMI && t.type != TOK_HINT) {
                st->multi = true;
                break;
            }
        }
    } else {
        st->stmt_len = st->len;
    }
    if (st->inner.p != NULL) /* to the end of the statement */
        st->inner = span_of(st->inner.p, st->sql + st->stmt_len);
    if (p->uv_writes)
        st->flags |= SQLF_USERVAR_WRITE;
    if (p->uv_tokens > p->uv_writes)
        st->flags |= SQLF_USERVAR_READ;
    if (p->lx.opt_hint) {
        st->opt_hint.p = p->lx.opt_hint;
        st->opt_hint.len = (uint32_t)p->lx.opt_hint_len;
    }
    switch (st->kind) {
    case STMT_INSERT:
    case STMT_REPLACE:
    case STMT_UPDATE:
    case STMT_DELETE:
    case STMT_DDL:
    case STMT_LOAD_DATA:
    case STMT_ADMIN:
    case STMT_CALL:
    case STMT_EXECUTE:
    case STMT_LOCK_TABLES:
    case STMT_XA:
    case STMT_FLUSH:
    case STMT_OTHER:
        w = true;
        break;
    case STMT_EXPLAIN:
        w = (st->flags & SQLF_ANALYZE) &&
            (st->inner_kind == STMT_INSERT || st->inner_kind == STMT_REPLACE ||
             st->inner_kind == STMT_UPDATE || st->inner_kind == STMT_DELETE);
        break;
    default:
        break;
    }
    st->is_write = w;
    switch (st->kind) {
    case STMT_DDL:
        /* parse_maint() decided for table maintenance */
        if (st->ddl_verb != DDL_MAINT &&
            !((st->flags & SQLF_TEMPORARY) && st->ddl_object == DDLO_TABLE))
            st->txn |= TXN_IMPLICIT_COMMIT;
        break;
    case STMT_LOCK_TABLES:
    case STMT_UNLOCK_TABLES:
    case STMT_ADMIN:
    case STMT_FLUSH:
        st->txn |= TXN_IMPLICIT_COMMIT;
        break;
    default:
        break;
    }
}

bool
sql_classify(const char *sql, size_t len, struct lex_mode mode,
             struct stmt_info *out)
{
    struct parser p;

    memset(out, 0, offsetof(struct stmt_info, tables));
    out->sql = sql;
    out->len = len;
    out->mode = mode;
    out->nblocks = 1;
    out->blocks[0].parent = 0;
    out->blocks[0].kind = BLOCK_TOP;

    lexer_init(&p.lx, sql, len, mode);
    p.has_la = false;
    p.swallow = false;
    p.st = out;
    p.last_end = sql;
    p.noted = sql;
    p.prev_type = TOK_EOF;
    p.prev_kw = KW_NONE;
    p.nest = 0;
    p.agg_calls = 0;
    p.uv_tokens = 0;
    p.uv_writes = 0;
    lex_raw(&p, &p.t);
    note(&p);

    out->kind = parse_statement(&p);
    drain(&p);
    finish(&p);
    return !out->lex_error;
}

/* ------------------------------------------------------------------ */
/* names                                                               */
/* ------------------------------------------------------------------ */

const char *
stmt_kind_name(unsigned kind)
{
    static const char *const names[STMT__COUNT] = {
        [STMT_EMPTY] = "EMPTY",
        [STMT_SELECT] = "SELECT",
        [STMT_INSERT] = "INSERT",
        [STMT_REPLACE] = "REPLACE",
        [STMT_UPDATE] = "UPDATE",
        [STMT_DELETE] = "DELETE",
        [STMT_SET] = "SET",
        [STMT_USE] = "USE",
        [STMT_SHOW] = "SHOW",
        [STMT_BEGIN] = "BEGIN",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT",
        [STMT_RELEASE_SAVEPOINT] = "RELEASE_SAVEPOINT",
        [STMT_XA] = "XA",
        [STMT_DDL] = "DDL",
        [STMT_CALL] = "CALL",
        [STMT_PREPARE] = "PREPARE",
        [STMT_EXECUTE] = "EXECUTE",
        [STMT_DEALLOCATE] = "DEALLOCATE",
        [STMT_LOCK_TABLES] = "LOCK_TABLES",
        [STMT_UNLOCK_TABLES] = "UNLOCK_TABLES",
        [STMT_EXPLAIN] = "EXPLAIN",
        [STMT_DO] = "DO",
        [STMT_HANDLER] = "HANDLER",
        [STMT_LOAD_DATA] = "LOAD_DATA",
        [STMT_KILL] = "KILL",
        [STMT_FLUSH] = "FLUSH",
        [STMT_ADMIN] = "ADMIN",
        [STMT_OTHER] = "OTHER",
    };
    return kind < STMT__COUNT ? names[kind] : "?";
}

const char *
ddl_verb_name(unsigned verb)
{
    static const char *const names[] = {"NONE",     "CREATE", "ALTER", "DROP",
                                        "TRUNCATE", "RENAME", "MAINT"};
    return verb < sizeof(names) / sizeof(names[0]) ? names[verb] : "?";
}

const char *
ddl_object_name(unsigned obj)
{
    static const char *const names[] = {
        "NONE",     "TABLE",   "INDEX", "DATABASE", "VIEW", "PROCEDURE",
        "FUNCTION", "TRIGGER", "EVENT", "SEQUENCE", "OTHER"};
    return obj < sizeof(names) / sizeof(names[0]) ? names[obj] : "?";
}

const char *
show_obj_name(unsigned obj)
{
    static const char *const names[] = {"NONE",         "DATABASES",
                                        "TABLES",       "TABLE_STATUS",
                                        "OPEN_TABLES",  "COLUMNS",
                                        "INDEX",        "CREATE_TABLE",
                                        "CREATE_VIEW",  "CREATE_DATABASE",
                                        "CREATE_OTHER", "VARIABLES",
                                        "STATUS",       "PROCESSLIST",
                                        "WARNINGS",     "ERRORS",
                                        "COLLATION",    "CHARSET",
                                        "ENGINES",      "GRANTS",
                                        "TRIGGERS",     "OTHER"};
    return obj < sizeof(names) / sizeof(names[0]) ? names[obj] : "?";
}

const char *
agg_kind_name(unsigned agg)
{
    static const char *const names[] = {
        "NONE", "COUNT", "SUM", "MIN", "MAX", "AVG", "GROUP_CONCAT", "OTHER"};
    return agg < sizeof(names) / sizeof(names[0]) ? names[agg] : "?";
}
