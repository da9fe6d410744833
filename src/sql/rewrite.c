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
rewrite_schema_names(const char *sql, size_t len,
                     const struct rewrite_rename *map, int nmap, char **out,
                     size_t *out_len)
{
    struct lexer lx;
    struct token prev = {0}, cur;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    const char *copied = sql; /* bytes before this are in buf */
    bool have_prev = false, prev_dot = false;

    lexer_init(&lx, sql, len);
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
