/*
 * predicates.c - key predicates of WHERE and JOIN ... ON conditions, and
 * reading literal values back out of a statement (IN lists, INSERT rows).
 *
 * A condition is read level by level, a level being the terms between a
 * pair of parentheses (or the whole clause), split by AND and OR. Only
 * what is certain is recorded:
 *
 *   WHERE a = 1 AND (b IN (2, 3) OR b = 4) AND c + 1 = 2
 *         ^^^^^ conjunct     ^^^^ OR group 1 ^^^^^ ignored (not col op literal)
 *
 *  - terms of a conjunctive level (the clause, or a parenthesised conjunct)
 *    become group-0 predicates;
 *  - an OR at a conjunctive level turns that level into an OR group whose
 *    branches are its AND-ed terms;
 *  - an OR or XOR nested inside a branch, NOT, and anything the level
 *    cannot prove drop the affected predicates (and mark the group
 *    incomplete): a dropped predicate only widens what the router targets.
 */
#include "sql/predicates.h"

#include <string.h>

#include "parse_internal.h"

enum cond_mode {
    CM_CONJ,   /* terms are conjuncts of their block: group 0 */
    CM_BRANCH, /* terms are AND-ed inside one branch of an OR group */
    CM_NONE,   /* nothing here can be recorded */
};

struct cond {
    unsigned blk;    /* block the predicates belong to */
    unsigned stop;   /* stop classes of the clause's own level */
    unsigned pflags; /* PREDF_* for every predicate */
};

bool
pred_parse_colref(struct parser *p, struct sql_colref *ref)
{
    struct sql_span parts[3];
    unsigned n = 0;
    const struct token *t = &p->t;

    if (!(t->type == TOK_QIDENT ||
          (t->type == TOK_IDENT && !(keyword_flags(t->kw) & KWF_RESERVED))))
        return false;
    parts[n++] = span_tok(t);
    parser_next(p);
    while (n < 3 && p->t.type == TOK_DOT) {
        parser_next(p);
        if (p->t.type != TOK_IDENT && p->t.type != TOK_QIDENT)
            break;
        parts[n++] = span_tok(&p->t);
        parser_next(p);
    }
    memset(ref, 0, sizeof(*ref));
    ref->column = parts[n - 1];
    if (n >= 2)
        ref->table = parts[n - 2];
    if (n == 3)
        ref->schema = parts[0];
    return true;
}

/* [+|-] number, string, hex, bit or `?`. */
static bool
parse_literal(struct parser *p, struct sql_value *v)
{
    bool neg = false;

    if (p->t.type == TOK_OP && p->t.len == 1 &&
        (p->t.p[0] == '-' || p->t.p[0] == '+')) {
        const struct token *n = parser_peek(p);
        if (n->type != TOK_NUMBER && n->type != TOK_PARAM)
            return false;
        neg = p->t.p[0] == '-';
        parser_next(p);
    }
    switch (p->t.type) {
    case TOK_NUMBER:
        v->type = VAL_NUMBER;
        break;
    case TOK_STRING:
        v->type = VAL_STRING;
        break;
    case TOK_HEX:
        v->type = VAL_HEX;
        break;
    case TOK_BIT:
        v->type = VAL_BIT;
        break;
    case TOK_PARAM:
        v->type = VAL_PARAM;
        break;
    default:
        return false;
    }
    v->negative = neg;
    v->mode = p->lx.mode;
    v->param = p->t.param;
    v->text = span_tok(&p->t);
    parser_next(p);
    return true;
}

/* Does the current token end a term of this level? */
static bool
at_terminator(struct parser *p, const struct cond *c, bool inner)
{
    unsigned k;

    if (parser_at_end(p) || p->t.type == TOK_RPAREN)
        return true;
    k = parser_stop_class(p);
    return (k & CK_ANDOR) || (!inner && (k & c->stop));
}

static bool
value_push(struct stmt_info *st, const struct sql_value *v)
{
    if (st->nvalues >= SQL_MAX_VALUES) {
        st->overflow = true;
        return false;
    }
    st->values[st->nvalues++] = *v;
    return true;
}

/* col = lit | lit = col | col = col | col IN (lit, ...) |
 * col BETWEEN lit AND lit, ending the term. Records it and returns true,
 * or consumes nothing and returns false. */
static bool
try_simple(struct parser *p, const struct cond *c, unsigned group,
           unsigned branch, bool inner)
{
    struct stmt_info *st = p->st;
    struct parser save;
    struct sql_pred pr;
    struct sql_value v;
    uint16_t vmark = st->nvalues;
    enum tok_type ty = p->t.type;

    if (ty != TOK_IDENT && ty != TOK_QIDENT && ty != TOK_NUMBER &&
        ty != TOK_STRING && ty != TOK_PARAM && ty != TOK_HEX && ty != TOK_BIT &&
        ty != TOK_OP)
        return false;
    save = *p;
    memset(&pr, 0, sizeof(pr));
    pr.block = (uint8_t)c->blk;
    pr.flags = (uint8_t)c->pflags;
    pr.group = (uint8_t)group;
    pr.branch = (uint8_t)branch;
    pr.vfirst = vmark;

    if (pred_parse_colref(p, &pr.col)) {
        if (parser_is_op(p, "=")) {
            parser_next(p);
            if (parse_literal(p, &v)) {
                if (!at_terminator(p, c, inner) || !value_push(st, &v))
                    goto fail;
                pr.op = PRED_EQ;
                pr.nvalues = 1;
                goto ok;
            }
            if (pred_parse_colref(p, &pr.col2) && at_terminator(p, c, inner)) {
                pr.op = PRED_COLEQ;
                goto ok;
            }
            goto fail;
        }
        if (parser_is(p, KW_IN)) {
            const char *ls;
            uint16_t n = 0;

            parser_next(p);
            if (p->t.type != TOK_LPAREN || parser_paren_query(p))
                goto fail;
            parser_next(p);
            ls = p->t.p;
            pr.list_param = p->t.type == TOK_PARAM ? p->t.param : st->nparams;
            for (;;) {
                if (!parse_literal(p, &v))
                    goto fail;
                if (value_push(st, &v))
                    n++;
                else
                    pr.flags |= PREDF_TRUNCATED;
                if (p->t.type != TOK_COMMA)
                    break;
                parser_next(p);
            }
            if (p->t.type != TOK_RPAREN)
                goto fail;
            pr.list = span_of(ls, p->t.p);
            parser_next(p);
            if (!at_terminator(p, c, inner))
                goto fail;
            pr.op = PRED_IN;
            pr.nvalues = n;
            goto ok;
        }
        if (parser_is(p, KW_BETWEEN)) {
            struct sql_value v2;
            parser_next(p);
            if (!parse_literal(p, &v) || !parser_accept(p, KW_AND) ||
                !parse_literal(p, &v2) || !at_terminator(p, c, inner) ||
                !value_push(st, &v) || !value_push(st, &v2))
                goto fail;
            pr.op = PRED_BETWEEN;
            pr.nvalues = 2;
            goto ok;
        }
        goto fail;
    }
    if (parse_literal(p, &v)) {
        if (!parser_is_op(p, "="))
            goto fail;
        parser_next(p);
        if (!pred_parse_colref(p, &pr.col) || !at_terminator(p, c, inner) ||
            !value_push(st, &v))
            goto fail;
        pr.op = PRED_EQ;
        pr.nvalues = 1;
        goto ok;
    }
fail:
    parser_restore(p, &save);
    st->nvalues = vmark;
    return false;
ok:
    if (st->npreds >= SQL_MAX_PREDS) {
        st->overflow = true;
        st->nvalues = vmark;
        return true;
    }
    st->preds[st->npreds++] = pr;
    return true;
}

/* Where a level started recording. */
struct marks {
    unsigned preds, values, groups;
};

static void
marks_take(const struct stmt_info *st, struct marks *m)
{
    m->preds = st->npreds;
    m->values = st->nvalues;
    m->groups = st->ngroups;
}

/* Forgets the predicates, values and OR groups recorded since the marks;
 * an older group that loses predicates is marked incomplete. */
static void
drop_preds(struct stmt_info *st, const struct marks *m)
{
    for (unsigned i = m->preds; i < st->npreds; i++)
        if (st->preds[i].group && st->preds[i].group <= m->groups)
            st->groups[st->preds[i].group].incomplete = true;
    st->npreds = (uint8_t)m->preds;
    st->nvalues = (uint16_t)m->values;
    st->ngroups = (uint8_t)m->groups;
}

static void cond_level(struct parser *p, const struct cond *c,
                       enum cond_mode mode, unsigned g, unsigned b, bool inner);

static void
cond_term(struct parser *p, const struct cond *c, enum cond_mode mode,
          unsigned g, unsigned b, bool inner)
{
    struct stmt_info *st = p->st;

    if (mode != CM_NONE) {
        if (p->t.type == TOK_LPAREN && !parser_paren_query(p)) {
            if (p->nest < PARSE_MAX_NEST) {
                struct marks m;

                marks_take(st, &m);
                parser_next(p);
                p->nest++;
                cond_level(p, c, mode, g, b, true);
                p->nest--;
                if (p->t.type == TOK_RPAREN) {
                    parser_next(p);
                    if (at_terminator(p, c, inner))
                        return;
                }
                /* (a) + 1 = 2: the group was not a condition */
                drop_preds(st, &m);
            } else {
                st->overflow = true;
            }
        } else if (try_simple(p, c, g, b, inner)) {
            return;
        }
    }
    parser_skip_expr(p, c->blk, CK_ANDOR | (inner ? 0 : c->stop));
}

static void
cond_level(struct parser *p, const struct cond *c, enum cond_mode mode,
           unsigned g, unsigned b, bool inner)
{
    struct stmt_info *st = p->st;
    struct marks m;
    unsigned group = 0, nbranches = 1;
    enum cond_mode cur = mode;
    unsigned cg = g, cb = b;

    marks_take(st, &m);
    for (;;) {
        const struct token *t;

        cond_term(p, c, cur, cg, cb, inner);
        if (parser_at_end(p) || !(parser_stop_class(p) & CK_ANDOR))
            break;
        t = &p->t;
        if ((t->type == TOK_IDENT && t->kw == KW_AND) ||
            (t->type == TOK_OP && t->p[0] == '&')) {
            parser_next(p);
            continue;
        }
        if (t->type == TOK_IDENT && t->kw == KW_XOR) {
            /* XOR binds looser than AND: nothing here is certain */
            parser_next(p);
            drop_preds(st, &m);
            group = 0;
            if (mode == CM_BRANCH)
                st->groups[g].incomplete = true;
            cur = CM_NONE;
            continue;
        }
        /* OR */
        parser_next(p);
        if (cur == CM_NONE)
            continue;
        if (mode == CM_BRANCH) {
            /* an OR nested inside a branch cannot be expressed */
            drop_preds(st, &m);
            st->groups[g].incomplete = true;
            cur = CM_NONE;
            continue;
        }
        if (group == 0) {
            unsigned j = m.preds;
            bool lost = false;

            /* what this level recorded so far is branch 0; OR groups
             * nested in it cannot be expressed and are dropped */
            for (unsigned i = m.preds; i < st->npreds; i++) {
                if (st->preds[i].group != 0) {
                    lost = true;
                    continue;
                }
                st->preds[j++] = st->preds[i];
            }
            st->npreds = (uint8_t)j;
            st->ngroups = (uint8_t)m.groups;
            if (st->ngroups >= SQL_MAX_GROUPS) {
                st->overflow = true;
                drop_preds(st, &m);
                cur = CM_NONE;
                continue;
            }
            group = ++st->ngroups;
            st->groups[group].block = (uint8_t)c->blk;
            st->groups[group].nbranches = 1;
            st->groups[group].incomplete = lost;
            for (unsigned i = m.preds; i < st->npreds; i++) {
                st->preds[i].group = (uint8_t)group;
                st->preds[i].branch = 0;
            }
        }
        if (nbranches >= 255) {
            drop_preds(st, &m);
            group = 0;
            cur = CM_NONE;
            continue;
        }
        cur = CM_BRANCH;
        cg = group;
        cb = nbranches++;
    }
    if (group)
        st->groups[group].nbranches = (uint8_t)nbranches;
}

void
pred_parse_cond(struct parser *p, unsigned blk, unsigned stop, unsigned pflags)
{
    struct cond c = {blk, stop, pflags};

    cond_level(p, &c, CM_CONJ, 0, 0, false);
}

/* ------------------------------------------------------------------ */
/* value lists and rows                                                */
/* ------------------------------------------------------------------ */

static void
iter_tok(struct lexer *lx, struct token *t)
{
    while (lexer_next(lx, t)) {
        if (t->type == TOK_HINT)
            continue;
        if (t->type == TOK_ERROR)
            break;
        return;
    }
    t->type = TOK_EOF;
    t->kw = KW_NONE;
    t->p = lx->end;
    t->len = 0;
}

/* Reads one value up to ',' or ')' at its depth (or the end). */
static void
read_value(struct lexer *lx, struct token *t, struct sql_value *v)
{
    struct token first = *t, second = {0};
    const char *start = t->p, *end = t->p;
    unsigned ntok = 0, depth = 0;

    while (t->type != TOK_EOF) {
        if (depth == 0 && (t->type == TOK_COMMA || t->type == TOK_RPAREN))
            break;
        if (t->type == TOK_LPAREN)
            depth++;
        else if (t->type == TOK_RPAREN)
            depth--;
        end = t->p + t->len;
        if (ntok == 1)
            second = *t;
        ntok++;
        iter_tok(lx, t);
    }
    memset(v, 0, sizeof(*v));
    v->type = VAL_EXPR;
    v->mode = lx->mode;
    v->text = span_of(start, end);
    if (ntok == 2 && first.type == TOK_OP && first.len == 1 &&
        (first.p[0] == '-' || first.p[0] == '+') &&
        (second.type == TOK_NUMBER || second.type == TOK_PARAM)) {
        v->negative = first.p[0] == '-';
        first = second;
        ntok = 1;
    }
    if (ntok != 1)
        return;
    switch (first.type) {
    case TOK_NUMBER:
        v->type = VAL_NUMBER;
        break;
    case TOK_STRING:
        v->type = VAL_STRING;
        break;
    case TOK_HEX:
        v->type = VAL_HEX;
        break;
    case TOK_BIT:
        v->type = VAL_BIT;
        break;
    case TOK_PARAM:
        v->type = VAL_PARAM;
        v->param = first.param;
        break;
    case TOK_IDENT:
        if (first.kw == KW_NULL)
            v->type = VAL_NULL;
        else if (first.kw == KW_DEFAULT)
            v->type = VAL_DEFAULT;
        break;
    default:
        break;
    }
    if (v->type != VAL_EXPR)
        v->text = span_tok(&first);
}

void
sql_values_begin(struct sql_values_iter *it, struct sql_span list,
                 uint32_t param_base, struct lex_mode mode)
{
    lexer_init(&it->lx, list.p, list.p ? list.len : 0, mode);
    it->lx.nparams = param_base;
    it->done = false;
    iter_tok(&it->lx, &it->t);
}

bool
sql_values_next(struct sql_values_iter *it, struct sql_value *v)
{
    if (it->done || it->t.type == TOK_EOF || it->t.type == TOK_RPAREN)
        return false;
    read_value(&it->lx, &it->t, v);
    if (it->t.type == TOK_COMMA)
        iter_tok(&it->lx, &it->t);
    else
        it->done = true;
    return true;
}

void
sql_rows_begin(struct sql_rows_iter *it, const struct stmt_info *st)
{
    struct sql_span s = st->insert.values;

    it->form = st->insert.form;
    it->done = it->form != INSERT_VALUES && it->form != INSERT_SET;
    lexer_init(&it->lx, s.p, s.p ? s.len : 0, st->mode);
    it->lx.nparams = st->insert.values_param;
    iter_tok(&it->lx, &it->t);
}

static void
row_add(struct sql_row *row, const struct sql_value *v)
{
    if (row->nvalues < SQL_MAX_COLS)
        row->values[row->nvalues++] = *v;
    else
        row->truncated = true;
}

bool
sql_rows_next(struct sql_rows_iter *it, struct sql_row *row)
{
    struct token *t = &it->t;
    struct sql_value v;
    const char *start;

    if (it->done)
        return false;
    row->nvalues = 0;
    row->truncated = false;
    if (it->form == INSERT_SET) {
        /* col = value [, col = value ...] */
        start = t->p;
        while (t->type != TOK_EOF) {
            while (t->type != TOK_EOF &&
                   !(t->type == TOK_OP && ((t->len == 1 && t->p[0] == '=') ||
                                           (t->len == 2 && t->p[0] == ':'))))
                iter_tok(&it->lx, t);
            if (t->type == TOK_EOF)
                break;
            iter_tok(&it->lx, t);
            read_value(&it->lx, t, &v);
            row_add(row, &v);
            if (t->type != TOK_COMMA)
                break;
            iter_tok(&it->lx, t);
        }
        row->text = span_of(start, it->lx.end);
        it->done = true;
        return true;
    }
    if (t->type == TOK_IDENT && t->kw == KW_ROW)
        iter_tok(&it->lx, t);
    if (t->type != TOK_LPAREN) {
        it->done = true;
        return false;
    }
    start = t->p;
    iter_tok(&it->lx, t);
    while (t->type != TOK_EOF && t->type != TOK_RPAREN) {
        read_value(&it->lx, t, &v);
        row_add(row, &v);
        if (t->type != TOK_COMMA)
            break;
        iter_tok(&it->lx, t);
    }
    row->text = span_of(start, t->type == TOK_RPAREN ? t->p + 1 : t->p);
    if (t->type == TOK_RPAREN)
        iter_tok(&it->lx, t);
    if (t->type == TOK_COMMA)
        iter_tok(&it->lx, t);
    else
        it->done = true;
    return true;
}

/* ------------------------------------------------------------------ */
/* decoding one value                                                  */
/* ------------------------------------------------------------------ */

static bool
parse_int_text(const char *s, size_t n, bool neg, int64_t *out)
{
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    size_t i = 0;

    if (n > 0 && s[0] == '-' && !neg) {
        neg = true;
        limit = (uint64_t)INT64_MAX + 1;
        i = 1;
    } else if (n > 0 && s[0] == '+') {
        i = 1;
    }
    if (i == n)
        return false;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return false;
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return true;
}

bool
sql_value_int(const struct sql_value *v, int64_t *out)
{
    char buf[32];
    size_t n;

    if (v->type == VAL_NUMBER)
        return parse_int_text(v->text.p, v->text.len, v->negative, out);
    if (v->type != VAL_STRING)
        return false;
    n = lexer_unquote(v->text.p, v->text.len, v->mode, buf, sizeof(buf));
    if (n >= sizeof(buf))
        return false;
    return parse_int_text(buf, n, false, out);
}

static int
hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t
sql_value_bytes(const struct sql_value *v, char *out, size_t cap)
{
    const char *s, *end;
    size_t n = 0;

    if (v->type == VAL_STRING)
        return lexer_unquote(v->text.p, v->text.len, v->mode, out, cap);
    if (v->type != VAL_HEX && v->type != VAL_BIT)
        return (size_t)-1;
    s = v->text.p;
    end = s + v->text.len;
    /* skip an introducer, then X' / 0x / B' / 0b */
    if (s < end && *s == '_') {
        while (s < end && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' &&
               *s != '\'' &&
               !(s[0] == '0' && s + 1 < end && (s[1] == 'x' || s[1] == 'b')))
            s++;
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++;
    }
    if (end - s >= 2 && s[0] == '0') {
        s += 2;
    } else if (end - s >= 3) {
        s += 2; /* X' or B' */
        end--;  /* closing quote */
    }
    if (v->type == VAL_HEX) {
        size_t digits = (size_t)(end - s);
        int hi = 0;
        bool have_hi = digits % 2 == 1; /* odd: a leading 0 nibble */
        for (; s < end; s++) {
            int d = hex_val(*s);
            if (d < 0)
                return (size_t)-1;
            if (!have_hi) {
                hi = d;
                have_hi = true;
                continue;
            }
            if (n + 1 < cap)
                out[n] = (char)(hi << 4 | d);
            n++;
            have_hi = false;
        }
    } else {
        size_t bits = (size_t)(end - s);
        unsigned acc = 0, nb = (unsigned)((8 - bits % 8) % 8);
        for (; s < end; s++) {
            if (*s != '0' && *s != '1')
                return (size_t)-1;
            acc = acc << 1 | (unsigned)(*s - '0');
            if (++nb == 8) {
                if (n + 1 < cap)
                    out[n] = (char)acc;
                n++;
                acc = 0;
                nb = 0;
            }
        }
    }
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}
