/*
 * qualify.c - see qualify.h. A window of four tokens over the lexer:
 * NAME DOT NAME then DOT or '(' tells a schema; a NAME that itself follows
 * a DOT is a later part of a longer name, not a qualifier.
 */
#include "sql/qualify.h"

#include "sql/lexer.h"

static bool
is_name(const struct token *t)
{
    return t->type == TOK_IDENT || t->type == TOK_QIDENT;
}

bool
sql_qualifiers(const char *sql, size_t len,
               bool (*fn)(void *arg, struct sql_span name, enum qual_kind kind),
               void *arg)
{
    struct lexer lx;
    struct token w[4]; /* w[0] the candidate, then up to three after it */
    int n = 0;
    bool after_dot = false; /* w[0] follows a '.' */

    lexer_init(&lx, sql, len);
    for (;;) {
        while (n < 4 && lexer_next(&lx, &w[n])) {
            if (w[n].type == TOK_HINT)
                continue;
            if (w[n].type == TOK_ERROR)
                return false;
            n++;
        }
        if (n == 0)
            return true;
        if (!after_dot && n >= 3 && is_name(&w[0]) && w[1].type == TOK_DOT &&
            (is_name(&w[2]) ||
             (w[2].type == TOK_OP && w[2].len == 1 && w[2].p[0] == '*'))) {
            enum qual_kind k = QUAL_TWO;
            struct sql_span name = {w[0].p, (uint32_t)w[0].len};
            if (n == 4 && is_name(&w[2]) &&
                (w[3].type == TOK_DOT || w[3].type == TOK_LPAREN))
                k = QUAL_SCHEMA;
            if (!fn(arg, name, k))
                return false;
        }
        after_dot = w[0].type == TOK_DOT;
        for (int i = 1; i < n; i++)
            w[i - 1] = w[i];
        n--;
    }
}
