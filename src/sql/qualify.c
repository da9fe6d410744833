/*
 * qualify.c - see qualify.h. A window of four tokens over the lexer:
 * NAME DOT NAME then DOT or '(' tells a schema; a NAME that itself follows
 * a DOT is a later part of a longer name, not a qualifier. Whether a.b
 * stands where a table does comes from the token before it (FROM a.b,
 * JOIN a.b, INTO a.b, ...) or, after a comma, from the clause the comma is
 * in at its parenthesis depth (FROM x, a.b), tracked on a small stack;
 * past the stack's depth every a.b counts as a table position.
 */
#include "sql/qualify.h"

#include "sql/lexer.h"

#define CLAUSE_DEPTH 32

static bool
is_name(const struct token *t)
{
    return t->type == TOK_IDENT || t->type == TOK_QIDENT;
}

/* Keywords after which a name is a table (or routine): a.b there is
 * schema.table. */
static bool
table_word(unsigned kw)
{
    switch (kw) {
    case KW_FROM:
    case KW_JOIN:
    case KW_STRAIGHT_JOIN:
    case KW_UPDATE:
    case KW_INTO:
    case KW_TABLE:
    case KW_TABLES:
    case KW_REFERENCES:
    case KW_LIKE:
    case KW_INSERT:
    case KW_REPLACE:
    case KW_DELETE:
    case KW_TRUNCATE:
    case KW_DESCRIBE:
    case KW_DESC:
    case KW_EXPLAIN:
    case KW_HANDLER:
    case KW_CALL:
    case KW_TO:
    case KW_USING:
        return true;
    default:
        return false;
    }
}

/* Keywords that start a clause; a comma in a table-list clause separates
 * tables. Returns the clause (KW_NONE: the keyword starts none). */
static unsigned
clause_of(unsigned kw)
{
    switch (kw) {
    case KW_FROM:
    case KW_JOIN:
    case KW_STRAIGHT_JOIN:
    case KW_USING:
        return KW_FROM;
    case KW_UPDATE:
    case KW_DELETE:
    case KW_TABLE:
    case KW_TABLES:
    case KW_INTO:
        return KW_TABLE;
    case KW_SELECT:
    case KW_WHERE:
    case KW_ON:
    case KW_SET:
    case KW_GROUP:
    case KW_ORDER:
    case KW_HAVING:
    case KW_LIMIT:
    case KW_VALUES:
    case KW_VALUE:
    case KW_RETURNING:
    case KW_WINDOW:
        return KW_SELECT; /* expressions */
    default:
        return KW_NONE;
    }
}

bool
sql_qualifiers(const char *sql, size_t len, struct lex_mode mode,
               bool (*fn)(void *arg, const struct sql_qual *q), void *arg)
{
    struct lexer lx;
    struct token w[4]; /* w[0] the candidate, then up to three after it */
    struct sql_span prev = {NULL, 0};
    enum tok_type prev_type = TOK_EOF;
    unsigned prev_kw = KW_NONE;
    unsigned clause[CLAUSE_DEPTH] = {KW_NONE};
    unsigned depth = 0; /* may pass CLAUSE_DEPTH: then unknown */
    int n = 0;
    bool after_dot = false; /* w[0] follows a '.' */

    lexer_init(&lx, sql, len, mode);
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
            struct sql_qual q = {{w[0].p, (uint32_t)w[0].len}, QUAL_TWO, prev};
            if (n == 4 && is_name(&w[2]) &&
                (w[3].type == TOK_DOT || w[3].type == TOK_LPAREN))
                q.kind = QUAL_SCHEMA;
            else if (depth >= CLAUSE_DEPTH ||
                     (prev_type == TOK_IDENT && table_word(prev_kw)) ||
                     ((prev_type == TOK_COMMA || prev_type == TOK_LPAREN) &&
                      clause[depth] != KW_SELECT && clause[depth] != KW_NONE))
                q.kind = QUAL_TABLE;
            if (!fn(arg, &q))
                return false;
        }
        switch (w[0].type) {
        case TOK_LPAREN:
            depth++;
            if (depth < CLAUSE_DEPTH) /* FROM (a, b.c): the same list */
                clause[depth] = clause[depth - 1];
            break;
        case TOK_RPAREN:
            if (depth > 0)
                depth--;
            break;
        case TOK_SEMI:
            depth = 0;
            clause[0] = KW_NONE;
            break;
        case TOK_IDENT:
            if (w[0].kw != KW_NONE && !after_dot && depth < CLAUSE_DEPTH &&
                clause_of(w[0].kw) != KW_NONE)
                clause[depth] = clause_of(w[0].kw);
            break;
        default:
            break;
        }
        after_dot = w[0].type == TOK_DOT;
        prev.p = w[0].p;
        prev.len = (uint32_t)w[0].len;
        prev_type = w[0].type;
        prev_kw = w[0].kw;
        for (int i = 1; i < n; i++)
            w[i - 1] = w[i];
        n--;
    }
}
