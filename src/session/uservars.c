/*
 * uservars.c - see uservars.h. Values are kept as the SQL text to write in
 * place of the variable: a literal as the client wrote it, the text of a
 * session variable as the client SET it (or, for the character set
 * variables, the character set and collation NAMES or the handshake gave),
 * or "\1name": the login value of @@name, written back as DEFAULT, and only
 * into the same variable. Anything else is unknown and is never written
 * in: such a SET is followed (or refused) as before.
 */
#include "session/uservars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/sessvars.h"
#include "session/session.h"
#include "sql/classify.h"
#include "sql/lexer.h"
#include "sql/lexmode.h"

#define UV_MAX  64   /* user variables followed per session */
#define INITIAL '\1' /* "\1name": @@name's login value */
#define OPAQUE                                                                 \
    '\2' /* key "\2name": the session set @@name to a value                    \
            the proxy does not know (a pinned SET) */

/* A name as the proxy keeps it: unquoted, lower case. */
static bool
plain_name(const char *p, size_t len, struct lex_mode m, char *out, size_t cap)
{
    size_t n = lexer_unquote(p, len, m, out, cap);

    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x20)
            return false; /* never a name kept here (OPAQUE, below) */
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] + 32);
    }
    return true;
}

/* @@x, @@session.x or @@local.x: x. */
static bool
sysvar_name(const struct token *t, struct lex_mode m, char *out, size_t cap)
{
    const char *p = t->p + 2;
    size_t n = t->len - 2;

    if (t->len < 3)
        return false;
    if (n > 8 && strncasecmp(p, "session.", 8) == 0) {
        p += 8;
        n -= 8;
    } else if (n > 6 && strncasecmp(p, "local.", 6) == 0) {
        p += 6;
        n -= 6;
    } else if (memchr(p, '.', n) != NULL && p[0] != '`') {
        return false; /* @@global.x, structured variables */
    }
    return plain_name(p, n, m, out, cap);
}

/* The value text of the only token of v, or NULL. */
static bool
only_token(struct sql_span v, struct lex_mode m, struct token *t)
{
    struct lexer lx;
    struct token more;

    lexer_init(&lx, v.p, v.len, m);
    return lexer_next(&lx, t) && !lexer_next(&lx, &more);
}

/* A literal: a string, number, hex or bit value with an optional sign,
 * NULL, TRUE or FALSE. */
static bool
is_literal(struct sql_span v, struct lex_mode m)
{
    struct lexer lx;
    struct token t;
    int n = 0;

    lexer_init(&lx, v.p, v.len, m);
    while (lexer_next(&lx, &t)) {
        if (++n > 2)
            return false;
        switch (t.type) {
        case TOK_STRING:
        case TOK_NUMBER:
        case TOK_HEX:
        case TOK_BIT:
            break;
        case TOK_OP:
            if (n != 1 || t.len != 1 || (t.p[0] != '-' && t.p[0] != '+'))
                return false;
            break;
        case TOK_IDENT:
            if (n != 1 || !(tok_is(&t, "NULL") || tok_is(&t, "TRUE") ||
                            tok_is(&t, "FALSE")))
                return false;
            break;
        default:
            return false;
        }
    }
    return n > 0;
}

static bool
is_charset_var(const char *name, bool *coll)
{
    *coll = strcmp(name, "collation_connection") == 0;
    return *coll || strcmp(name, "character_set_client") == 0 ||
           strcmp(name, "character_set_results") == 0 ||
           strcmp(name, "character_set_connection") == 0;
}

/* What @@name holds now, as text to write in its place; false when the
 * proxy cannot tell. */
static bool
current_value(const struct session *s, const char *name, char *out, size_t cap)
{
    const struct sessvars *v = &s->vars;
    const char *x = sessvars_get(v, name), *names;
    char cs[64], coll[64];
    bool is_coll;
    uint8_t lc;

    snprintf(out, cap, "%c%s", OPAQUE, name);
    if (sessvars_get(&s->uvars, out) != NULL ||
        sessvars_get(&s->uvars, "\2*") != NULL)
        return false; /* set to what the proxy cannot know */
    if (x != NULL)
        return (size_t)snprintf(out, cap, "%s", x) < cap;
    if (!is_charset_var(name, &is_coll))
        return (size_t)snprintf(out, cap, "%c%s", INITIAL, name) < cap;
    names = sessvars_get(v, "names");
    if (names == NULL && sessvars_get(v, "character set") != NULL) {
        /* sets client and results; the connection's is the database's */
        if (strcmp(name, "character_set_client") != 0 &&
            strcmp(name, "character_set_results") != 0)
            return false;
        names = sessvars_get(v, "character set");
    }
    if (names == NULL) {
        if (sessvars_get(v, "character_set_connection") != NULL ||
            sessvars_get(v, "collation_connection") != NULL)
            return false; /* the other of the pair was set */
        if (!lexmode_collation(s->charset, &lc, &names))
            return false; /* the handshake's */
    }
    sessvars_names_split(names, cs, sizeof(cs), coll, sizeof(coll));
    if (is_coll) {
        if (coll[0] == '\0')
            return false;
        return (size_t)snprintf(out, cap, "%s", coll) < cap;
    }
    return cs[0] != '\0' && (size_t)snprintf(out, cap, "%s", cs) < cap;
}

void
uservars_note(struct session *s, const struct stmt_info *st)
{
    sessvars_clear(&s->uv_pending);
    if (st->kind != STMT_SET || st->multi || st->overflow ||
        (st->flags & SQLF_SET_STATEMENT)) {
        if (st->multi || (st->flags & SQLF_USERVAR_WRITE) ||
            st->kind == STMT_CALL || st->kind == STMT_EXECUTE ||
            st->kind == STMT_SET)
            sessvars_clear(&s->uvars); /* may assign any of them */
        return;
    }
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *a = &st->sets[i];
        char name[66], src[65], val[256];
        const char *known;
        struct token t;

        if (a->kind == SETK_SYSVAR &&
            (a->scope == SCOPE_DEFAULT || a->scope == SCOPE_SESSION) &&
            !is_literal(a->value, st->mode) &&
            !(only_token(a->value, st->mode, &t) &&
              (t.type == TOK_IDENT || t.type == TOK_QIDENT)) &&
            plain_name(a->name.p, a->name.len, st->mode, name + 1,
                       sizeof(name) - 1)) {
            /* an expression: later copies of @@name are unknown */
            name[0] = OPAQUE;
            sessvars_set(&s->uv_pending, name, strlen(name), "", 0);
            continue;
        }
        if (a->kind != SETK_USERVAR ||
            !plain_name(a->name.p, a->name.len, st->mode, name, sizeof(name)))
            continue;
        val[0] = '\0';
        if (st->flags & SQLF_SUBQUERY) {
            /* unknown */
        } else if (is_literal(a->value, st->mode)) {
            if (a->value.len < sizeof(val))
                snprintf(val, sizeof(val), "%.*s", (int)a->value.len,
                         a->value.p);
        } else if (only_token(a->value, st->mode, &t) && t.type == TOK_SYSVAR &&
                   sysvar_name(&t, st->mode, src, sizeof(src))) {
            if (!current_value(s, src, val, sizeof(val)))
                val[0] = '\0';
        } else if (only_token(a->value, st->mode, &t) &&
                   t.type == TOK_USERVAR &&
                   plain_name(t.p + 1, t.len - 1, st->mode, src, sizeof(src)) &&
                   (known = sessvars_get(&s->uvars, src)) != NULL) {
            snprintf(val, sizeof(val), "%s", known);
        }
        sessvars_set(&s->uv_pending, name, strlen(name), val, strlen(val));
    }
}

void
uservars_done(struct session *s, bool ok)
{
    for (int i = 0; i < s->uv_pending.n; i++) {
        const struct sessvar *v = &s->uv_pending.v[i];
        if (v->name[0] == OPAQUE) { /* even a failed SET may have set it */
            if (s->uvars.n >= UV_MAX &&
                sessvars_get(&s->uvars, v->name) == NULL) {
                /* no room: every session variable counts as unknown */
                sessvars_clear(&s->uvars);
                sessvars_set(&s->uvars, "\2*", 2, "", 0);
            } else {
                sessvars_set(&s->uvars, v->name, strlen(v->name), "", 0);
            }
            continue;
        }
        if (!ok ||
            (s->uvars.n >= UV_MAX && sessvars_get(&s->uvars, v->name) == NULL))
            continue; /* not followed: stays unknown */
        sessvars_set(&s->uvars, v->name, strlen(v->name), v->value,
                     strlen(v->value));
    }
    if (!ok) /* a failed SET may have assigned some: forget them */
        for (int i = 0; i < s->uv_pending.n; i++)
            if (s->uv_pending.v[i].name[0] != OPAQUE &&
                sessvars_get(&s->uvars, s->uv_pending.v[i].name) != NULL)
                sessvars_set(&s->uvars, s->uv_pending.v[i].name,
                             strlen(s->uv_pending.v[i].name), "", 0);
    sessvars_clear(&s->uv_pending);
}

void
uservars_clear(struct session *s)
{
    sessvars_clear(&s->uvars);
    sessvars_clear(&s->uv_pending);
}

/* The text to write for @u in `SET target = @u`, or NULL. */
static const char *
known_for(const struct session *s, const struct stmt_info *st,
          const struct sql_setvar *a)
{
    char target[65], name[65];
    const char *v;
    struct token t;

    if (a->kind != SETK_SYSVAR ||
        (a->scope != SCOPE_DEFAULT && a->scope != SCOPE_SESSION) ||
        !only_token(a->value, st->mode, &t) || t.type != TOK_USERVAR ||
        !plain_name(t.p + 1, t.len - 1, st->mode, name, sizeof(name)) ||
        (v = sessvars_get(&s->uvars, name)) == NULL || v[0] == '\0')
        return NULL;
    if (v[0] != INITIAL)
        return v;
    if (!plain_name(a->name.p, a->name.len, st->mode, target, sizeof(target)))
        return NULL;
    return strcmp(target, v + 1) == 0 ? "DEFAULT" : NULL;
}

char *
uservars_rewrite(struct session *s, const struct stmt_info *st, const char *sql,
                 size_t len, size_t *out_len)
{
    char *out = NULL;
    size_t n = 0, from = 0;

    if (st->kind != STMT_SET || st->multi || st->overflow ||
        (st->flags & (SQLF_SET_STATEMENT | SQLF_SUBQUERY)) || s->uvars.n == 0)
        return NULL;
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *a = &st->sets[i];
        const char *v = known_for(s, st, a);
        size_t at, vl;

        if (v == NULL)
            continue;
        at = (size_t)(a->value.p - sql);
        vl = strlen(v);
        if (out == NULL)
            out = xmalloc(len + 1);
        out = xrealloc(out, n + (at - from) + vl + (len - at) + 1);
        memcpy(out + n, sql + from, at - from);
        n += at - from;
        memcpy(out + n, v, vl);
        n += vl;
        from = at + a->value.len;
    }
    if (out == NULL)
        return NULL;
    memcpy(out + n, sql + from, len - from);
    n += len - from;
    out[n] = '\0';
    *out_len = n;
    return out;
}
