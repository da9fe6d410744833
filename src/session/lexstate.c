/*
 * lexstate.c - see lexstate.h. The session's mode is recomputed before each
 * statement from a handful of variables, so every path that changes them
 * (SET, COM_RESET_CONNECTION, COM_CHANGE_USER, a login) is followed without
 * hooks of its own.
 */
#include "session/lexstate.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "backend/server.h"
#include "backend/sessvars.h"
#include "session/session_types.h"
#include "sql/lexmode.h"

enum lexvar { LV_NONE = 0, LV_SQL_MODE, LV_CLIENT_CHARSET };

/* Which lexing variable a (lower-case, unquoted) name is. */
static enum lexvar
lexvar_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t n;

    if (dot != NULL)
        name = dot + 1; /* a.sql_mode: fail closed, treat it as sql_mode */
    n = strlen(name);
    if (n >= 2 && (name[0] == '`' || name[0] == '"') &&
        name[n - 1] == name[0]) {
        name++; /* `sql_mode` as the variable's recorded name */
        n -= 2;
    }
    if (n == 8 && strncasecmp(name, "sql_mode", n) == 0)
        return LV_SQL_MODE;
    if ((n == 20 && strncasecmp(name, "character_set_client", n) == 0) ||
        (n == 5 && strncasecmp(name, "names", n) == 0) ||
        (n == 13 && strncasecmp(name, "character set", n) == 0))
        return LV_CLIENT_CHARSET;
    return LV_NONE;
}

/* The servers' global sql_mode, as far as lexing goes; false when they
 * differ or one cannot be lexed. Servers not checked yet do not count. */
bool
lexstate_server_default(const struct server_set *set, uint8_t *flags, char *why,
                        size_t cap)
{
    int seen = -1;

    for (int i = 0; set != NULL && i < set->n; i++) {
        int m = atomic_load(&set->v[i].sql_mode);
        if (!(m & SRV_SQLMODE_KNOWN))
            continue;
        if (m & SRV_SQLMODE_UNLEXABLE) {
            snprintf(why, cap,
                     "myshard: server %s runs with a global sql_mode "
                     "(ORACLE or MSSQL) whose grammar the proxy cannot "
                     "read; SET sql_mode for the session first",
                     set->v[i].addr);
            return false;
        }
        if (seen >= 0 && m != seen) {
            snprintf(why, cap,
                     "myshard: the servers' global sql_mode differ in "
                     "NO_BACKSLASH_ESCAPES, ANSI_QUOTES or PIPES_AS_CONCAT "
                     "(server %s); SET sql_mode for the session, or give "
                     "every server the same one",
                     set->v[i].addr);
            return false;
        }
        seen = m;
    }
    *flags = 0;
    if (seen > 0) {
        if (seen & SRV_SQLMODE_NO_BACKSLASH_ESCAPES)
            *flags |= LEXM_NO_BACKSLASH_ESCAPES;
        if (seen & SRV_SQLMODE_ANSI_QUOTES)
            *flags |= LEXM_ANSI_QUOTES;
        if (seen & SRV_SQLMODE_PIPES_AS_CONCAT)
            *flags |= LEXM_PIPES_AS_CONCAT;
    }
    return true;
}

/* The value of a lexing variable of kind in base with over applied; NULL
 * when none is set. The client-charset variables must agree: a
 * connection gets them in no particular order. */
static bool
lookup(const struct sessvars *base, const struct sessvars *over,
       enum lexvar kind, const struct sessvar **out, char *why, size_t cap)
{
    const struct sessvars *sets[2] = {over, base};

    *out = NULL;
    for (int k = 0; k < 2; k++) {
        /* what the SET in flight assigns replaces the session's own
         * (sessvars_apply() turns an earlier NAMES into its parts) */
        if (k == 1 && *out != NULL)
            break;
        for (int i = 0; sets[k] != NULL && i < sets[k]->n; i++) {
            const struct sessvar *v = &sets[k]->v[i];
            bool shadowed = false;
            if (lexvar_of(v->name) != kind)
                continue;
            for (int j = 0; k == 1 && over != NULL && j < over->n; j++)
                if (strcmp(over->v[j].name, v->name) == 0)
                    shadowed = true;
            if (shadowed)
                continue;
            if (*out == NULL) {
                *out = v;
            } else if (strcasecmp((*out)->value, v->value) != 0) {
                snprintf(why, cap,
                         "myshard: set the client character set one way "
                         "(SET NAMES, SET CHARACTER SET or SET "
                         "character_set_client), not several to different "
                         "values");
                return false;
            }
        }
    }
    return true;
}

/* The mode of a session holding base with over applied. */
static bool
mode_of(const struct session *s, const struct sessvars *base,
        const struct sessvars *over, struct lex_mode *out, char *why,
        size_t cap)
{
    const struct sessvar *v;
    bool is_default = false;

    *out = LEX_MODE_DEFAULT;
    if (!lookup(base, over, LV_SQL_MODE, &v, why, cap))
        return false;
    if (v != NULL &&
        !lexmode_sql_mode(v->value, strlen(v->value), LEX_MODE_DEFAULT,
                          &out->flags, &is_default, why, cap))
        return false;
    if ((v == NULL || is_default) &&
        !lexstate_server_default(s->wc->servers, &out->flags, why, cap))
        return false;
    if (!lookup(base, over, LV_CLIENT_CHARSET, &v, why, cap))
        return false;
    if (v != NULL)
        return lexmode_charset(v->value, strlen(v->value), LEX_MODE_DEFAULT,
                               &out->charset, why, cap);
    if (!lexmode_collation(s->charset, &out->charset, NULL)) {
        snprintf(why, cap,
                 "myshard: the client's character set (collation id %u) is "
                 "not supported by the proxy; connect with utf8mb4, latin1, "
                 "gbk, big5, sjis or cp932, or SET NAMES one of them",
                 (unsigned)s->charset);
        return false;
    }
    return true;
}

bool
lexstate_refresh(struct session *s, char *why, size_t cap)
{
    struct lex_mode m;

    if (mode_of(s, &s->vars, NULL, &m, why, cap)) {
        s->lex = m;
        return true;
    }
    s->lex = LEX_MODE_DEFAULT;
    return false;
}

/* The variable name of a token that may name a lexing variable. */
static enum lexvar
token_lexvar(const struct token *t, struct lex_mode mode)
{
    char name[64];
    const char *p = t->p;
    size_t len = t->len;

    if (t->type == TOK_SYSVAR) {
        p += 2;
        len -= 2;
    } else if (t->type != TOK_IDENT && t->type != TOK_QIDENT) {
        return LV_NONE;
    }
    if (lexer_unquote(p, len, mode, name, sizeof(name)) >= sizeof(name))
        return LV_NONE;
    if (strcasecmp(name, "charset") == 0 || strcasecmp(name, "character") == 0)
        return LV_CLIENT_CHARSET;
    return lexvar_of(name);
}

/* p lies in the value of a user variable's assignment. */
static bool
in_user_value(const struct stmt_info *st, const char *p)
{
    for (int i = 0; !st->overflow && i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        if (v->kind == SETK_USERVAR && p >= v->value.p &&
            p < v->value.p + v->value.len)
            return true;
    }
    return false;
}

bool
lexstate_sets_mode(const struct stmt_info *st)
{
    struct lexer lx;
    struct token t;

    /* SET STATEMENT x = v FOR ...: lasts one statement, and the server
     * lexes that statement under the session's mode, not x */
    if (st->kind != STMT_SET || (st->flags & SQLF_SET_STATEMENT))
        return false;
    /* Every word of the statement, not only the assignments the parser
     * recorded: a form it does not know still counts. Only what a user
     * variable is set to is read, not set (SET @saved = @@sql_mode). */
    lexer_init(&lx, st->sql, st->stmt_len, st->mode);
    while (lexer_next(&lx, &t)) {
        if (token_lexvar(&t, st->mode) != LV_NONE && !in_user_value(st, t.p))
            return true;
    }
    return false;
}

bool
lexstate_check_set(struct session *s, const struct stmt_info *st,
                   const struct sessvars *pending, char *why, size_t cap)
{
    struct lex_mode m;
    int found = 0;

    /* values are checked one by one by the caller (literal, a known user
     * variable written in by session/uservars.c, or refused); SQLF_SYSVAR
     * may be the @@x being set or read into a user variable */
    if (st->overflow || (st->flags & SQLF_SUBQUERY)) {
        snprintf(why, cap,
                 "myshard: set sql_mode and the character set alone, with "
                 "literal values (SET sql_mode = 'A,B', SET NAMES x): the "
                 "proxy must know them to read later statements as the "
                 "server will");
        return false;
    }
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        char name[64];
        enum lexvar lv;

        if (v->kind == SETK_NAMES || v->kind == SETK_CHARSET) {
            lv = LV_CLIENT_CHARSET;
        } else if (v->kind == SETK_SYSVAR) {
            if (lexer_unquote(v->name.p, v->name.len, st->mode, name,
                              sizeof(name)) >= sizeof(name))
                continue;
            lv = lexvar_of(name);
        } else {
            continue;
        }
        if (lv == LV_NONE)
            continue;
        found++;
        if (v->scope != SCOPE_DEFAULT && v->scope != SCOPE_SESSION) {
            snprintf(why, cap,
                     "myshard: sql_mode and the character set can only be "
                     "set for the session through the proxy");
            return false;
        }
    }
    if (found == 0) {
        snprintf(why, cap,
                 "myshard: this SET names sql_mode or the character set in "
                 "a form the proxy cannot follow; use SET sql_mode = '...' "
                 "or SET NAMES x");
        return false;
    }
    return mode_of(s, &s->vars, pending, &m, why, cap);
}

bool
lexstate_text_neutral(const char *sql, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)sql[i];
        if (c >= 0x80 || c == '\\' || c == '"' || c == '|' || c == '[' ||
            c == '`')
            return false;
    }
    return true;
}

/*
 * SET sql_mode = CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES') and friends:
 * what drivers send at connect (MariaDB Connector/J; Rails nests CONCATs
 * and REPLACEs). The proxy cannot know the resulting text, so the session
 * stays pinned as for any SET of an expression, but it can know that the
 * expression leaves the lexing flags as they are: every operand is the
 * session's own @@sql_mode or a literal list of mode names that changes no
 * lexing flag, and no known non-lexing name can join with a neighbour into
 * a lexing one. Anything else is not evaluated.
 */
struct mexpr {
    struct lexer lx;
    struct token t;
    bool have;
    struct lex_mode mode;
};

static void
mx_next(struct mexpr *x)
{
    x->have = lexer_next(&x->lx, &x->t);
}

static bool
mx_punct(struct mexpr *x, enum tok_type type)
{
    if (!x->have || x->t.type != type)
        return false;
    mx_next(x);
    return true;
}

/* @@sql_mode, @@session.sql_mode or @@local.sql_mode (not @@global.). */
static bool
is_session_sql_mode(const struct token *t)
{
    const char *p = t->p + 2;
    size_t n = t->len - 2;

    if (t->type != TOK_SYSVAR || t->len < 2)
        return false;
    if (n > 8 && strncasecmp(p, "session.", 8) == 0) {
        p += 8;
        n -= 8;
    } else if (n > 6 && strncasecmp(p, "local.", 6) == 0) {
        p += 6;
        n -= 6;
    }
    if (n == 10 && p[0] == '`' && p[9] == '`') {
        p++;
        n -= 2;
    }
    return n == 8 && strncasecmp(p, "sql_mode", 8) == 0;
}

/* A literal list of known mode names with no lexing flag. */
static bool
mx_neutral_literal(struct mexpr *x)
{
    uint8_t flags = 0;
    bool is_default = false;
    char why[200];

    if (!x->have || x->t.type != TOK_STRING ||
        !lexmode_sql_mode(x->t.p, x->t.len, x->mode, &flags, &is_default, why,
                          sizeof(why)) ||
        is_default || flags != 0)
        return false;
    mx_next(x);
    return true;
}

static bool
mx_expr(struct mexpr *x, int depth)
{
    bool concat;

    if (!x->have || depth > 8)
        return false;
    if (is_session_sql_mode(&x->t)) {
        mx_next(x);
        return true;
    }
    if (x->t.type == TOK_STRING)
        return mx_neutral_literal(x);
    if (x->t.type != TOK_IDENT)
        return false;
    concat = tok_is(&x->t, "CONCAT");
    if (!concat && !tok_is(&x->t, "REPLACE"))
        return false;
    mx_next(x);
    if (!mx_punct(x, TOK_LPAREN) || !mx_expr(x, depth + 1))
        return false;
    if (concat) {
        while (mx_punct(x, TOK_COMMA))
            if (!mx_expr(x, depth + 1))
                return false;
    } else if (!mx_punct(x, TOK_COMMA) || !mx_neutral_literal(x) ||
               !mx_punct(x, TOK_COMMA) || !mx_neutral_literal(x)) {
        return false;
    }
    return mx_punct(x, TOK_RPAREN);
}

bool
lexstate_expr_keeps_mode(const struct stmt_info *st, const struct sql_setvar *v)
{
    struct mexpr x = {.mode = st->mode};
    char name[64];

    if (v->kind != SETK_SYSVAR ||
        (v->scope != SCOPE_DEFAULT && v->scope != SCOPE_SESSION) ||
        lexer_unquote(v->name.p, v->name.len, st->mode, name, sizeof(name)) >=
            sizeof(name) ||
        lexvar_of(name) != LV_SQL_MODE)
        return false;
    lexer_init(&x.lx, v->value.p, v->value.len, st->mode);
    mx_next(&x);
    return mx_expr(&x, 0) && !x.have;
}

bool
lexstate_pinned_set_ok(const struct stmt_info *st)
{
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        char name[64];

        if (v->kind == SETK_NAMES || v->kind == SETK_CHARSET)
            return false;
        if (v->kind != SETK_SYSVAR)
            continue;
        if (lexer_unquote(v->name.p, v->name.len, st->mode, name,
                          sizeof(name)) >= sizeof(name))
            return false;
        if (lexvar_of(name) != LV_NONE && !lexstate_expr_keeps_mode(st, v))
            return false;
    }
    return true;
}
