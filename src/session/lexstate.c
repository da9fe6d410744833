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
     * recorded: a form it does not know still counts. */
    lexer_init(&lx, st->sql, st->stmt_len, st->mode);
    while (lexer_next(&lx, &t)) {
        if (token_lexvar(&t, st->mode) != LV_NONE)
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

    /* values are checked one by one by the caller (literal or refused);
     * SQLF_SYSVAR may be the @@x being set */
    if (st->overflow || (st->flags & (SQLF_SUBQUERY | SQLF_USERVAR_READ |
                                      SQLF_USERVAR_WRITE))) {
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
