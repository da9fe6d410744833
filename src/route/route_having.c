/*
 * route_having.c - a HAVING clause compiled into the postfix program the
 * merge evaluates on merged groups (sql/exprprog.h, result/having.h).
 *
 * It parses what users write in HAVING: OR/||, XOR, AND/&&, NOT/!,
 * comparisons (= <=> <> != < <= > >=, chained left to right), IS [NOT]
 * NULL, [NOT] BETWEEN, [NOT] IN (list), + - * /, unary minus,
 * parentheses, numbers, strings, NULL, TRUE, FALSE. Everything else is an
 * operand the caller turns into a column of the shards' result: a select
 * alias or item, an aggregate call, or an expression of group columns
 * (route_select.c). Refused, never approximated: `?` parameters (the
 * shards' text would lose them), DIV, MOD, %, bit operators, IS TRUE,
 * LIKE, string introducers, hex literals, and arithmetic on an average or
 * a quotient (the server's own value for those depends on its plan: it
 * keeps more digits than it shows, except when it rounds through a
 * temporary table).
 */
#include <string.h>

#include "route_internal.h"
#include "route_having.h"
#include "sql/keyword.h"

#define HV_MAX_TOKENS 256

struct hp {
    struct rt *r;
    struct lex_mode m;
    const char *table;
    struct token t[HV_MAX_TOKENS];
    int nt, i;
    struct expr_prog *out;
    rt_having_operand_fn operand;
    void *ctx;
    bool failed;
};

static void
hp_refuse(struct hp *h, const char *what, const struct token *at)
{
    if (h->failed)
        return;
    h->failed = true;
    if (at != NULL)
        rt_refuse(h->r, ER_NOT_SUPPORTED_YET,
                  "myshard: HAVING with %s ('%.*s') across shards of table "
                  "'%s' is not supported; add the shard key to the WHERE "
                  "clause or filter the groups in the application",
                  what, (int)MIN(at->len, 40u), at->p, h->table);
    else
        rt_refuse(h->r, ER_NOT_SUPPORTED_YET,
                  "myshard: HAVING with %s across shards of table '%s' is "
                  "not supported; add the shard key to the WHERE clause or "
                  "filter the groups in the application",
                  what, h->table);
}

static const struct token *
cur(struct hp *h)
{
    return h->i < h->nt ? &h->t[h->i] : NULL;
}

static bool
is_word(const struct token *t, const char *w)
{
    return t != NULL && t->type == TOK_IDENT && tok_is(t, w);
}

static bool
is_op(const struct token *t, const char *op)
{
    return t != NULL && t->type == TOK_OP && t->len == strlen(op) &&
           memcmp(t->p, op, t->len) == 0;
}

static bool
accept_word(struct hp *h, const char *w)
{
    if (!is_word(cur(h), w))
        return false;
    h->i++;
    return true;
}

static bool
accept_op(struct hp *h, const char *op)
{
    if (!is_op(cur(h), op))
        return false;
    h->i++;
    return true;
}

static void
emit(struct hp *h, uint8_t op, uint8_t n)
{
    struct expr_node *nd;

    if (h->failed)
        return;
    if (h->out->n >= EXPR_MAX_NODES) {
        hp_refuse(h, "more terms than myshard evaluates", NULL);
        return;
    }
    nd = &h->out->nodes[h->out->n++];
    memset(nd, 0, sizeof(*nd));
    nd->op = op;
    nd->n = n;
}

static void
emit_text(struct hp *h, uint8_t op, const char *p, size_t len)
{
    struct expr_prog *o = h->out;

    if (h->failed)
        return;
    if (len > (size_t)(EXPR_MAX_TEXT - o->text_len)) {
        hp_refuse(h, "longer literals than myshard evaluates", NULL);
        return;
    }
    emit(h, op, 0);
    if (h->failed)
        return;
    memcpy(o->text + o->text_len, p, len);
    o->nodes[o->n - 1].off = o->text_len;
    o->nodes[o->n - 1].len = (uint16_t)len;
    o->text_len = (uint16_t)(o->text_len + len);
}

/* ---- grammar (returns whether the value is inexact: AVG or `/`) ---- */

static bool p_or(struct hp *h);

/* An operand: a (qualified) name, optionally called with (...). */
static bool
p_operand(struct hp *h)
{
    const struct token *first = cur(h), *last = first;
    struct sql_span s;
    bool inexact = false;
    int col, depth = 0;

    if (first == NULL ||
        !(first->type == TOK_IDENT || first->type == TOK_QIDENT)) {
        hp_refuse(h, "this term", first);
        return false;
    }
    h->i++;
    while (cur(h) && cur(h)->type == TOK_DOT && h->i + 1 < h->nt) {
        h->i += 2;
        last = &h->t[h->i - 1];
    }
    if (cur(h) && cur(h)->type == TOK_LPAREN) {
        do {
            const struct token *t = cur(h);
            if (t == NULL)
                break;
            if (t->type == TOK_PARAM) {
                hp_refuse(h, "a `?` parameter", NULL);
                return false;
            }
            depth += t->type == TOK_LPAREN;
            depth -= t->type == TOK_RPAREN;
            last = t;
            h->i++;
        } while (depth > 0);
    }
    s.p = first->p;
    s.len = (uint32_t)(last->p + last->len - first->p);
    if (h->failed || !h->operand(h->ctx, s, &col, &inexact)) {
        h->failed = true;
        return false;
    }
    emit(h, EXPR_COL, 0);
    if (!h->failed)
        h->out->nodes[h->out->n - 1].col = (int16_t)col;
    return inexact;
}

static bool
p_primary(struct hp *h)
{
    const struct token *t = cur(h);
    char buf[EXPR_MAX_TEXT];
    size_t n;
    bool inexact;

    if (t == NULL) {
        hp_refuse(h, "an incomplete expression", NULL);
        return false;
    }
    switch (t->type) {
    case TOK_NUMBER:
        h->i++;
        if (memchr(t->p, 'e', t->len) || memchr(t->p, 'E', t->len))
            emit_text(h, EXPR_DBL, t->p, t->len);
        else if (memchr(t->p, '.', t->len))
            emit_text(h, EXPR_DEC, t->p, t->len);
        else
            emit_text(h, EXPR_INT, t->p, t->len);
        return false;
    case TOK_STRING:
        if (t->intro_len > 0) {
            hp_refuse(h, "a character set introducer", t);
            return false;
        }
        h->i++;
        n = lexer_unquote(t->p, t->len, h->m, buf, sizeof(buf));
        if (n >= sizeof(buf)) {
            hp_refuse(h, "longer literals than myshard evaluates", NULL);
            return false;
        }
        emit_text(h, EXPR_STR, buf, n);
        return false;
    case TOK_PARAM:
        hp_refuse(h, "a `?` parameter", NULL);
        return false;
    case TOK_LPAREN:
        h->i++;
        inexact = p_or(h);
        if (!h->failed && cur(h) && cur(h)->type == TOK_COMMA) {
            hp_refuse(h, "a row constructor", cur(h));
            return false;
        }
        if (!h->failed && !(cur(h) && cur(h)->type == TOK_RPAREN)) {
            hp_refuse(h, "this term", cur(h));
            return false;
        }
        h->i++;
        return inexact;
    case TOK_IDENT:
        if (is_word(t, "null")) {
            h->i++;
            emit(h, EXPR_NULL, 0);
            return false;
        }
        if (is_word(t, "true") || is_word(t, "false")) {
            h->i++;
            emit_text(h, EXPR_INT, is_word(t, "true") ? "1" : "0", 1);
            return false;
        }
        if (t->kw != KW_NONE && (keyword_flags(t->kw) & KWF_RESERVED) &&
            !(keyword_flags(t->kw) & KWF_AGG) &&
            !(h->i + 1 < h->nt && h->t[h->i + 1].type == TOK_LPAREN)) {
            hp_refuse(h, "this term", t);
            return false;
        }
        return p_operand(h);
    case TOK_QIDENT:
        return p_operand(h);
    default:
        hp_refuse(h, "this term", t);
        return false;
    }
}

static bool
p_unary(struct hp *h)
{
    bool inexact;

    if (accept_op(h, "-")) {
        inexact = p_unary(h);
        emit(h, EXPR_NEG, 0);
        return inexact;
    }
    if (accept_op(h, "+"))
        return p_unary(h);
    if (accept_op(h, "!")) {
        p_unary(h);
        emit(h, EXPR_NOT, 0);
        return false;
    }
    if (is_op(cur(h), "~")) {
        hp_refuse(h, "a bit operator", cur(h));
        return false;
    }
    return p_primary(h);
}

static void
no_inexact_arith(struct hp *h, bool inexact)
{
    if (inexact)
        hp_refuse(h,
                  "arithmetic on an average or a quotient (the server's "
                  "value depends on its plan; compare the average itself)",
                  NULL);
}

static bool
p_prod(struct hp *h)
{
    bool inexact = p_unary(h);

    for (;;) {
        uint8_t op;
        if (is_op(cur(h), "*"))
            op = EXPR_MUL;
        else if (is_op(cur(h), "/"))
            op = EXPR_DIV;
        else if (is_op(cur(h), "%") || is_word(cur(h), "div") ||
                 is_word(cur(h), "mod")) {
            hp_refuse(h, "integer division or modulo", cur(h));
            return false;
        } else
            return inexact;
        h->i++;
        no_inexact_arith(h, inexact);
        no_inexact_arith(h, p_unary(h));
        emit(h, op, 0);
        inexact = op == EXPR_DIV;
        if (h->failed)
            return false;
    }
}

static bool
p_sum(struct hp *h)
{
    bool inexact = p_prod(h);

    for (;;) {
        uint8_t op;
        if (is_op(cur(h), "+"))
            op = EXPR_ADD;
        else if (is_op(cur(h), "-"))
            op = EXPR_SUB;
        else if (is_op(cur(h), "&") || is_op(cur(h), "|") ||
                 is_op(cur(h), "^") || is_op(cur(h), "<<") ||
                 is_op(cur(h), ">>")) {
            hp_refuse(h, "a bit operator", cur(h));
            return false;
        } else
            return inexact;
        h->i++;
        no_inexact_arith(h, inexact);
        no_inexact_arith(h, p_prod(h));
        emit(h, op, 0);
        inexact = false;
        if (h->failed)
            return false;
    }
}

static int
cmp_op(const struct token *t)
{
    static const struct {
        const char *s;
        uint8_t op;
    } ops[] = {{"=", EXPR_EQ},  {"<=>", EXPR_NSEQ}, {"<>", EXPR_NE},
               {"!=", EXPR_NE}, {"<=", EXPR_LE},    {">=", EXPR_GE},
               {"<", EXPR_LT},  {">", EXPR_GT}};

    for (unsigned i = 0; i < ARRAY_SIZE(ops); i++)
        if (is_op(t, ops[i].s))
            return ops[i].op;
    return -1;
}

static bool
p_pred(struct hp *h)
{
    bool inexact = p_sum(h), neg;
    int op;

    for (;;) {
        if (h->failed)
            return false;
        if ((op = cmp_op(cur(h))) >= 0) {
            h->i++;
            p_sum(h);
            emit(h, (uint8_t)op, 0);
            inexact = false;
            continue;
        }
        if (accept_word(h, "is")) {
            neg = accept_word(h, "not");
            if (!accept_word(h, "null")) {
                hp_refuse(h, "IS TRUE/FALSE/UNKNOWN", cur(h));
                return false;
            }
            emit(h, neg ? EXPR_ISNOTNULL : EXPR_ISNULL, 0);
            inexact = false;
            continue;
        }
        neg = false;
        if (is_word(cur(h), "not") && h->i + 1 < h->nt &&
            (is_word(&h->t[h->i + 1], "between") ||
             is_word(&h->t[h->i + 1], "in") ||
             is_word(&h->t[h->i + 1], "like") ||
             is_word(&h->t[h->i + 1], "regexp") ||
             is_word(&h->t[h->i + 1], "rlike"))) {
            neg = true;
            h->i++;
        }
        if (accept_word(h, "between")) {
            p_sum(h);
            if (!accept_word(h, "and")) {
                hp_refuse(h, "this BETWEEN", cur(h));
                return false;
            }
            p_sum(h);
            emit(h, EXPR_BETWEEN, 3);
        } else if (accept_word(h, "in")) {
            int n = 1;
            if (!(cur(h) && cur(h)->type == TOK_LPAREN)) {
                hp_refuse(h, "this IN", cur(h));
                return false;
            }
            h->i++;
            if (is_word(cur(h), "select") || is_word(cur(h), "with")) {
                hp_refuse(h, "a subquery", cur(h));
                return false;
            }
            for (;;) {
                p_or(h);
                n++;
                if (h->failed)
                    return false;
                if (cur(h) && cur(h)->type == TOK_COMMA) {
                    h->i++;
                    continue;
                }
                break;
            }
            if (!(cur(h) && cur(h)->type == TOK_RPAREN) || n > 255) {
                hp_refuse(h, "this IN list", cur(h));
                return false;
            }
            h->i++;
            emit(h, EXPR_IN, (uint8_t)n);
        } else if (is_word(cur(h), "like") || is_word(cur(h), "regexp") ||
                   is_word(cur(h), "rlike") || is_word(cur(h), "sounds")) {
            hp_refuse(h, "pattern matching", cur(h));
            return false;
        } else {
            return inexact;
        }
        if (neg)
            emit(h, EXPR_NOT, 0);
        inexact = false;
    }
}

static bool
p_not(struct hp *h)
{
    if (accept_word(h, "not")) {
        p_not(h);
        emit(h, EXPR_NOT, 0);
        return false;
    }
    return p_pred(h);
}

static bool
p_and(struct hp *h)
{
    bool inexact = p_not(h);

    while (!h->failed && (accept_word(h, "and") || accept_op(h, "&&"))) {
        p_not(h);
        emit(h, EXPR_AND, 0);
        inexact = false;
    }
    return inexact;
}

static bool
p_xor(struct hp *h)
{
    bool inexact = p_and(h);

    while (!h->failed && accept_word(h, "xor")) {
        p_and(h);
        emit(h, EXPR_XOR, 0);
        inexact = false;
    }
    return inexact;
}

static bool
p_or(struct hp *h)
{
    bool inexact = p_xor(h);

    for (;;) {
        if (h->failed)
            return false;
        if (is_op(cur(h), "||") && (h->m.flags & LEXM_PIPES_AS_CONCAT)) {
            hp_refuse(h, "string concatenation", cur(h));
            return false;
        }
        if (!accept_word(h, "or") && !accept_op(h, "||"))
            return inexact;
        p_xor(h);
        emit(h, EXPR_OR, 0);
        inexact = false;
    }
}

bool
rt_having_compile(struct rt *r, struct lex_mode m, struct sql_span having,
                  const char *table, struct expr_prog *out,
                  rt_having_operand_fn operand, void *ctx)
{
    struct hp *h, hbuf;
    struct lexer lx;
    struct token t;

    h = &hbuf;
    memset(out, 0, sizeof(*out));
    h->r = r;
    h->m = m;
    h->table = table;
    h->nt = 0;
    h->i = 0;
    h->out = out;
    h->operand = operand;
    h->ctx = ctx;
    h->failed = false;
    lexer_init(&lx, having.p, having.len, m);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_ERROR || t.type == TOK_HINT || t.type == TOK_SEMI) {
            hp_refuse(h, "this text", &t);
            return false;
        }
        if (h->nt >= HV_MAX_TOKENS) {
            hp_refuse(h, "more terms than myshard evaluates", NULL);
            return false;
        }
        h->t[h->nt++] = t;
    }
    if (h->nt == 0 || !is_word(&h->t[0], "having")) {
        hp_refuse(h, "this clause", NULL);
        return false;
    }
    h->i = 1;
    for (int k = 1; k < h->nt; k++) {
        if (h->t[k].type == TOK_PARAM) {
            hp_refuse(h, "a `?` parameter", NULL);
            return false;
        }
        if (h->t[k].type == TOK_HEX || h->t[k].type == TOK_BIT ||
            h->t[k].type == TOK_USERVAR || h->t[k].type == TOK_SYSVAR) {
            hp_refuse(h, "this term", &h->t[k]);
            return false;
        }
    }
    p_or(h);
    if (!h->failed && h->i != h->nt)
        hp_refuse(h, "this term", cur(h));
    if (h->failed)
        memset(out, 0, sizeof(*out));
    return !h->failed;
}
