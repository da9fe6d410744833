/*
 * rewrite_plan.c - the statement texts a plan sends that differ from the
 * client's: a list of edits (replace bytes [at, end) of the statement by
 * a sequence of pieces) applied in one pass into the plan's buffer. The
 * pieces point into the statement, into constant strings, or into the
 * edit list's own space for numbers, so collecting edits copies nothing.
 * Also the token comparisons the rewrites need to tell that two spans of
 * SQL say the same thing.
 */
#include <stdio.h>
#include <string.h>

#include "route_internal.h"

/* ---- tokens ---- */

static bool
is_ident(const struct token *t)
{
    return t->type == TOK_IDENT || t->type == TOK_QIDENT;
}

bool
rt_tok_ident_eq(struct lex_mode m, const struct token *a, const struct token *b)
{
    char buf[256];
    size_t n = lexer_unquote(b->p, b->len, m, buf, sizeof(buf));

    return n < sizeof(buf) && lexer_ident_eq(a->p, a->len, buf, n);
}

bool
rt_tokens_eq(struct lex_mode m, struct sql_span a, struct sql_span b)
{
    struct lexer la, lb;
    struct token ta, tb;
    bool ha, hb;

    lexer_init(&la, a.p, a.len, m);
    lexer_init(&lb, b.p, b.len, m);
    for (;;) {
        ha = lexer_next(&la, &ta);
        hb = lexer_next(&lb, &tb);
        if (!ha || !hb)
            return ha == hb;
        if (is_ident(&ta) && is_ident(&tb)) {
            if (!rt_tok_ident_eq(m, &ta, &tb))
                return false;
            continue;
        }
        if (ta.type != tb.type || ta.len != tb.len ||
            memcmp(ta.p, tb.p, ta.len) != 0)
            return false;
    }
}

bool
rt_single_ident(struct lex_mode m, struct sql_span s, struct token *t)
{
    struct lexer lx;
    struct token extra;

    lexer_init(&lx, s.p, s.len, m);
    return lexer_next(&lx, t) && is_ident(t) && !lexer_next(&lx, &extra);
}

/* ---- edits ---- */

void
rt_edits_init(struct rt_edits *e, const struct stmt_info *st)
{
    e->st = st;
    e->nedits = 0;
    e->npieces = 0;
    e->nums_len = 0;
    e->full = false;
}

void
rt_edits_piece(struct rt_edits *e, const char *p, size_t len)
{
    if (e->npieces >= RT_MAX_PIECES) {
        e->full = true;
        return;
    }
    e->pieces[e->npieces].p = p;
    e->pieces[e->npieces].len = len;
    e->npieces++;
}

void
rt_edits_str(struct rt_edits *e, const char *s)
{
    rt_edits_piece(e, s, strlen(s));
}

void
rt_edits_num(struct rt_edits *e, uint64_t v)
{
    char *at = e->nums + e->nums_len;
    int n;

    if (e->nums_len + 24 > sizeof(e->nums)) {
        e->full = true;
        return;
    }
    n = snprintf(at, 24, "%llu", (unsigned long long)v);
    e->nums_len += (size_t)n;
    rt_edits_piece(e, at, (size_t)n);
}

int
rt_edits_begin(struct rt_edits *e, const char *at, const char *end)
{
    struct rt_edit *d;

    if (e->nedits >= RT_MAX_EDITS) {
        e->full = true;
        return -1;
    }
    d = &e->edits[e->nedits];
    d->at = at;
    d->end = end;
    d->first = e->npieces;
    d->n = 0;
    return e->nedits++;
}

void
rt_edits_end(struct rt_edits *e, int i)
{
    if (i >= 0)
        e->edits[i].n = e->npieces - e->edits[i].first;
}

/* Stable insertion sort by position: edits at one place keep the order
 * they were made in. */
static void
edits_sort(struct rt_edits *e)
{
    for (int i = 1; i < e->nedits; i++) {
        struct rt_edit d = e->edits[i];
        int j = i - 1;
        while (j >= 0 && e->edits[j].at > d.at) {
            e->edits[j + 1] = e->edits[j];
            j--;
        }
        e->edits[j + 1] = d;
    }
}

bool
rt_edits_build(struct rt_edits *e, struct route_plan *plan, size_t *off,
               size_t *len)
{
    const struct stmt_info *st = e->st;
    const char *pos = st->sql, *end = st->sql + st->len;
    size_t total = st->len;

    if (e->full)
        return false;
    edits_sort(e);
    for (int i = 0; i < e->nedits; i++) {
        const struct rt_edit *d = &e->edits[i];
        if (d->at < pos || d->end < d->at || d->end > end)
            return false; /* overlapping edits: a bug, never wrong text */
        pos = d->end;
        total -= (size_t)(d->end - d->at);
        for (int k = 0; k < d->n; k++)
            total += e->pieces[d->first + k].len;
    }
    rt_buf_reserve(plan, total);
    *off = plan->buf_len;
    pos = st->sql;
    for (int i = 0; i < e->nedits; i++) {
        const struct rt_edit *d = &e->edits[i];
        rt_buf_put(plan, pos, (size_t)(d->at - pos));
        for (int k = 0; k < d->n; k++)
            rt_buf_put(plan, e->pieces[d->first + k].p,
                       e->pieces[d->first + k].len);
        pos = d->end;
    }
    rt_buf_put(plan, pos, (size_t)(end - pos));
    *len = plan->buf_len - *off;
    return true;
}
