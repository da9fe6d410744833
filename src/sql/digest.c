/*
 * digest.c - digest_make(): one pass over the lexer's tokens with one
 * token of lookahead, writing the normalized text (see sql/digest.h for
 * the rules) straight into the caller's buffer; and digest_hash().
 */
#include "sql/digest.h"

#include <stdbool.h>
#include <string.h>

#include "sql/lexer.h"

/* what the output ends with, for spacing */
enum last {
    L_NONE,  /* nothing written yet */
    L_OPEN,  /* ( */
    L_FUNC,  /* a function name: its ( follows without a space */
    L_TIGHT, /* . or @: the next token follows without a space */
    L_OTHER,
};

struct writer {
    char *out;
    size_t cap;
    size_t n;
    enum last last;
};

static void
put(struct writer *w, char c)
{
    if (w->n + 1 < w->cap)
        w->out[w->n] = c;
    w->n++;
}

static void
put_space(struct writer *w, const struct token *t)
{
    bool tight_next = t->type == TOK_RPAREN || t->type == TOK_COMMA ||
                      t->type == TOK_SEMI || t->type == TOK_DOT ||
                      (t->type == TOK_OP && t->len == 1 && t->p[0] == '@');

    switch (w->last) {
    case L_NONE:
    case L_OPEN:
    case L_TIGHT:
        return;
    case L_FUNC:
        if (t->type == TOK_LPAREN)
            return;
        break;
    case L_OTHER:
        break;
    }
    if (!tight_next)
        put(w, ' ');
}

static void
put_text(struct writer *w, const char *s, size_t n, bool upper)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (upper && (unsigned)(c - 'a') < 26u)
            c = (unsigned char)(c - 32);
        put(w, (char)c);
    }
}

/* the contents of a `quoted` (or ANSI_QUOTES "quoted") identifier */
static void
put_qident(struct writer *w, const struct token *t)
{
    const char *s = t->p + 1, *end = t->p + t->len - 1;
    char q = t->p[0];

    for (; s < end; s++) {
        put(w, *s);
        if (*s == q && s + 1 < end && s[1] == q)
            s++;
    }
}

struct dstate {
    struct lexer lx;
    struct token cur, next;
    enum tok_type prev_type; /* previous source token */
    unsigned prev_kw;
    unsigned ctx_kw;   /* last keyword seen, for table context */
    unsigned first_kw; /* the statement's first keyword */
};

static void
lex(struct lexer *lx, struct token *t)
{
    while (lexer_next(lx, t)) {
        if (t->type != TOK_HINT)
            return;
    }
    t->type = TOK_EOF;
    t->kw = KW_NONE;
    t->p = lx->end;
    t->len = 0;
}

static void
advance(struct dstate *d)
{
    d->prev_type = d->cur.type;
    d->prev_kw = d->cur.kw;
    d->cur = d->next;
    lex(&d->lx, &d->next);
}

static bool
is_literal(enum tok_type t)
{
    return t == TOK_NUMBER || t == TOK_STRING || t == TOK_HEX || t == TOK_BIT ||
           t == TOK_PARAM;
}

static bool
is_sign(const struct token *t)
{
    return t->type == TOK_OP && t->len == 1 &&
           (t->p[0] == '-' || t->p[0] == '+');
}

/* Is a sign at the current position unary (given the previous token)? */
static bool
sign_is_unary(const struct dstate *d)
{
    switch (d->prev_type) {
    case TOK_EOF:
    case TOK_OP:
    case TOK_LPAREN:
    case TOK_COMMA:
    case TOK_SEMI:
        return true;
    case TOK_IDENT:
        return d->prev_kw != KW_NONE &&
               (keyword_flags(d->prev_kw) & KWF_RESERVED) &&
               d->prev_kw != KW_NULL && d->prev_kw != KW_TRUE &&
               d->prev_kw != KW_FALSE;
    default:
        return false;
    }
}

/* From the token after the current sign: more signs, then a number or
 * `?`? On success *after is the lexer positioned after that literal. */
static bool
signed_literal_ahead(const struct dstate *d, struct lexer *after,
                     struct token *t)
{
    *after = d->lx;
    *t = d->next;
    while (is_sign(t))
        lex(after, t);
    return t->type == TOK_NUMBER || t->type == TOK_PARAM;
}

/* At IN with '(' next: is the list all literals? On success *after is
 * positioned after the ')'. */
static bool
literal_list_ahead(const struct dstate *d, struct lexer *after)
{
    struct token t;

    *after = d->lx; /* d->next is the '(' */
    lex(after, &t);
    for (;;) {
        while (is_sign(&t))
            lex(after, &t);
        if (!is_literal(t.type))
            return false;
        lex(after, &t);
        while (t.type == TOK_STRING) /* 'a' 'b' */
            lex(after, &t);
        if (t.type == TOK_RPAREN)
            return true;
        if (t.type != TOK_COMMA)
            return false;
        lex(after, &t);
    }
}

static bool
table_context(const struct dstate *d)
{
    switch (d->ctx_kw) {
    case KW_INTO:
    case KW_TABLE:
    case KW_TABLES:
    case KW_JOIN:
    case KW_STRAIGHT_JOIN:
    case KW_FROM:
    case KW_UPDATE:
    case KW_REFERENCES:
    case KW_INSERT:
    case KW_REPLACE:
    case KW_KEY:
    case KW_INDEX:
    case KW_UNIQUE:
    case KW_VIEW:
    case KW_EXISTS:
    case KW_PROCEDURE:
    case KW_FUNCTION:
    case KW_TRIGGER:
    case KW_WITH:
    case KW_CONSTRAINT:
        return true;
    case KW_ON:
        return d->first_kw == KW_CREATE;
    default:
        return false;
    }
}

size_t
digest_make(const char *sql, size_t len, struct lex_mode mode, char *out,
            size_t cap)
{
    struct writer w = {out, cap, 0, L_NONE};
    struct dstate d;

    lexer_init(&d.lx, sql, len, mode);
    d.cur.type = TOK_EOF;
    d.cur.kw = KW_NONE;
    d.prev_type = TOK_EOF;
    d.prev_kw = KW_NONE;
    d.ctx_kw = KW_NONE;
    d.first_kw = KW_NONE;
    lex(&d.lx, &d.next);
    advance(&d);
    d.prev_type = TOK_EOF;

    while (d.cur.type != TOK_EOF && d.cur.type != TOK_ERROR) {
        const struct token *t = &d.cur;
        bool after_dot = d.prev_type == TOK_DOT;

        switch (t->type) {
        case TOK_IDENT: {
            unsigned fl = keyword_flags(t->kw);
            bool call = d.next.type == TOK_LPAREN;
            bool upper, func = false;

            if (d.first_kw == KW_NONE)
                d.first_kw = t->kw ? t->kw : KW__COUNT;
            if (d.next.type == TOK_DOT && !after_dot) {
                upper = false; /* a qualifier */
            } else if (after_dot) {
                func = upper = call && !table_context(&d); /* db.f() */
            } else if (t->kw == KW_NONE && d.ctx_kw == KW_CALL) {
                func = call; /* CALL proc(...): a routine, as written */
                upper = false;
            } else if (t->kw == KW_NONE) {
                func = call && !table_context(&d);
                upper = func;
            } else if (fl & KWF_FUNCONLY) {
                func = upper = call;
            } else {
                upper = true;
                func = call && (fl & KWF_FUNC);
            }
            if (t->kw != KW_NONE && !after_dot && d.next.type != TOK_DOT &&
                !(fl & KWF_FUNCONLY))
                d.ctx_kw = t->kw;
            if (t->kw == KW_IN && call) {
                struct lexer after;
                if (literal_list_ahead(&d, &after)) {
                    put_space(&w, t);
                    put_text(&w, "IN (?)", 6, false);
                    w.last = L_OTHER;
                    d.lx = after;
                    d.prev_type = TOK_RPAREN;
                    d.prev_kw = KW_NONE;
                    lex(&d.lx, &d.cur);
                    lex(&d.lx, &d.next);
                    continue;
                }
            }
            put_space(&w, t);
            put_text(&w, t->p, t->len, upper);
            w.last = func ? L_FUNC : L_OTHER;
            break;
        }
        case TOK_QIDENT:
            put_space(&w, t);
            put_qident(&w, t);
            w.last = L_OTHER;
            break;
        case TOK_NUMBER:
        case TOK_STRING:
        case TOK_HEX:
        case TOK_BIT:
        case TOK_PARAM:
            if (t->type == TOK_STRING && d.prev_type == TOK_STRING)
                break; /* 'a' 'b' is one string */
            put_space(&w, t);
            put(&w, '?');
            w.last = L_OTHER;
            break;
        case TOK_OP:
            if (is_sign(t) && sign_is_unary(&d)) {
                struct lexer after;
                struct token lit;
                if (signed_literal_ahead(&d, &after, &lit)) {
                    put_space(&w, &lit);
                    put(&w, '?');
                    w.last = L_OTHER;
                    d.lx = after;
                    d.cur = lit;
                    lex(&d.lx, &d.next);
                    break;
                }
            }
            put_space(&w, t);
            put_text(&w, t->p, t->len, false);
            w.last = (t->len == 1 && t->p[0] == '@') ? L_TIGHT : L_OTHER;
            break;
        case TOK_LPAREN:
            put_space(&w, t);
            put(&w, '(');
            w.last = L_OPEN;
            break;
        case TOK_DOT:
            put(&w, '.');
            w.last = L_TIGHT;
            break;
        case TOK_SEMI: {
            /* dropped unless another statement follows */
            struct lexer ahead = d.lx;
            struct token n = d.next;
            while (n.type == TOK_SEMI)
                lex(&ahead, &n);
            if (n.type == TOK_EOF || n.type == TOK_ERROR)
                goto done;
            put(&w, ';');
            w.last = L_OTHER;
            d.first_kw = KW_NONE;
            d.ctx_kw = KW_NONE;
            break;
        }
        default: /* ) , @x @@x */
            put_space(&w, t);
            put_text(&w, t->p, t->len, false);
            w.last = L_OTHER;
            break;
        }
        advance(&d);
    }
done:
    if (cap > 0)
        out[w.n < cap ? w.n : cap - 1] = '\0';
    return w.n;
}

uint64_t
digest_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}
