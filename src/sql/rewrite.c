/*
 * rewrite.c - statement rewriting on token boundaries; see rewrite.h.
 * Output is built in one pass: copy the bytes between replaced tokens,
 * write the replacement, never re-lex the result.
 */
#include "sql/rewrite.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "sql/lexer.h"

static const struct rewrite_rename *
match(const struct token *t, const struct rewrite_rename *map, int nmap)
{
    if (t->type != TOK_IDENT && t->type != TOK_QIDENT)
        return NULL;
    for (int i = 0; i < nmap; i++)
        if (lexer_ident_eq(t->p, t->len, map[i].from, strlen(map[i].from)))
            return &map[i];
    return NULL;
}

bool
rewrite_schema_names(const char *sql, size_t len, struct lex_mode mode,
                     const struct rewrite_rename *map, int nmap, char **out,
                     size_t *out_len)
{
    struct lexer lx;
    struct token prev = {0}, cur;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    const char *copied = sql; /* bytes before this are in buf */
    bool have_prev = false, prev_dot = false;

    lexer_init(&lx, sql, len, mode);
    while (lexer_next(&lx, &cur)) {
        const struct rewrite_rename *r;
        /* `name .` where name is not itself after a dot (t.col). */
        if (cur.type == TOK_DOT && have_prev && !prev_dot &&
            (r = match(&prev, map, nmap)) != NULL) {
            size_t before = (size_t)(prev.p - copied);
            size_t tlen = strlen(r->to);
            if (n + before + tlen + 2 > cap) {
                cap = (n + before + tlen + 2) * 2 + len;
                buf = xrealloc(buf, cap);
            }
            memcpy(buf + n, copied, before);
            n += before;
            buf[n++] = '`';
            memcpy(buf + n, r->to, tlen);
            n += tlen;
            buf[n++] = '`';
            copied = prev.p + prev.len;
        }
        prev_dot = have_prev && prev.type == TOK_DOT;
        prev = cur;
        have_prev = true;
    }
    if (buf == NULL)
        return false;
    if (n + (size_t)(sql + len - copied) > cap)
        buf = xrealloc(buf, n + (size_t)(sql + len - copied) + 1);
    memcpy(buf + n, copied, (size_t)(sql + len - copied));
    n += (size_t)(sql + len - copied);
    *out = buf;
    *out_len = n;
    return true;
}

/* Growable output for the rewriters. */
struct outbuf {
    char *p;
    size_t n, cap;
};

static void
out_put(struct outbuf *o, const char *s, size_t n)
{
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2;
        o->p = xrealloc(o->p, o->cap);
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static bool
ends_item(const struct token *t, bool have)
{
    return !have || t->type == TOK_COMMA || t->type == TOK_SEMI ||
           t->type == TOK_RPAREN || tok_is(t, "FROM") || tok_is(t, "UNION") ||
           tok_is(t, "INTO") || tok_is(t, "LIMIT") || tok_is(t, "ORDER") ||
           tok_is(t, "WHERE") || tok_is(t, "GROUP") || tok_is(t, "HAVING") ||
           tok_is(t, "FOR");
}

bool
rewrite_current_schema(const char *sql, size_t len, struct lex_mode mode,
                       const char *name, char **out, size_t *out_len)
{
    struct lexer lx;
    struct token t[3], prev = {0};
    struct outbuf o = {0};
    const char *copied = sql;
    bool have_prev = false;
    int n = 0;

    lexer_init(&lx, sql, len, mode);
    /* A sliding window of three tokens: DATABASE ( ) */
    while (n < 3 && lexer_next(&lx, &t[n]))
        n++;
    while (n > 0) {
        if (n == 3 && (tok_is(&t[0], "DATABASE") || tok_is(&t[0], "SCHEMA")) &&
            t[1].type == TOK_LPAREN && t[2].type == TOK_RPAREN &&
            !(have_prev && prev.type == TOK_DOT)) {
            struct token next;
            bool have_next = lexer_next(&lx, &next);
            bool item = have_prev &&
                        (prev.type == TOK_COMMA || tok_is(&prev, "SELECT") ||
                         tok_is(&prev, "DISTINCT")) &&
                        ends_item(&next, have_next);
            const char *call_end = t[2].p + t[2].len;
            out_put(&o, copied, (size_t)(t[0].p - copied));
            out_put(&o, "'", 1);
            out_put(&o, name, strlen(name));
            out_put(&o, "'", 1);
            if (item) {
                out_put(&o, " AS `", 5);
                out_put(&o, t[0].p, (size_t)(call_end - t[0].p));
                out_put(&o, "`", 1);
            }
            copied = call_end;
            prev = t[2];
            have_prev = true;
            n = 0;
            if (have_next)
                t[n++] = next;
            while (n < 3 && lexer_next(&lx, &t[n]))
                n++;
            continue;
        }
        prev = t[0];
        have_prev = true;
        t[0] = t[1];
        t[1] = t[2];
        n--;
        if (n == 2 && lexer_next(&lx, &t[2]))
            n = 3;
    }
    if (o.p == NULL)
        return false;
    out_put(&o, copied, (size_t)(sql + len - copied));
    *out = o.p;
    *out_len = o.n;
    return true;
}
