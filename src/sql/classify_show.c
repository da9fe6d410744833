/*
 * classify_show.c - SHOW: its modifiers (FULL, EXTENDED, STORAGE, GLOBAL,
 * SESSION, LOCAL), its object word looked up in show_words (SHOW_OTHER when
 * absent), what that word is followed by (FROM db, FROM table [FROM db],
 * the object of SHOW CREATE ...), and the LIKE / WHERE filter at the end.
 */
#include <stddef.h>
#include <stdint.h>

#include "classify_internal.h"

/* What follows the object word of a SHOW. */
enum show_then {
    THEN_NONE,
    THEN_FROM_DB,      /* [FROM|IN db] */
    THEN_WORD_FROM_DB, /* a second word (TABLE STATUS, OPEN TABLES), then
                          [FROM|IN db] */
    THEN_FROM_TABLE,   /* FROM|IN tbl [FROM|IN db] */
    THEN_SET,          /* CHARACTER [SET] */
    THEN_CREATE,       /* CREATE <object> name */
    THEN_COUNT,        /* COUNT(*) {WARNINGS|ERRORS}; only before '(' */
};

static const struct show_word {
    uint16_t kw;      /* the word's keyword ... */
    const char *text; /* ... or, when not a keyword, its text */
    uint8_t obj;      /* SHOW_* */
    uint8_t then;     /* enum show_then */
} show_words[] = {
    {KW_DATABASES, NULL, SHOW_DATABASES, THEN_NONE},
    {KW_SCHEMAS, NULL, SHOW_DATABASES, THEN_NONE},
    {KW_TABLES, NULL, SHOW_TABLES, THEN_FROM_DB},
    {KW_TABLE, NULL, SHOW_TABLE_STATUS, THEN_WORD_FROM_DB},
    {KW_OPEN, NULL, SHOW_OPEN_TABLES, THEN_WORD_FROM_DB},
    {KW_COLUMNS, NULL, SHOW_COLUMNS, THEN_FROM_TABLE},
    {KW_FIELDS, NULL, SHOW_COLUMNS, THEN_FROM_TABLE},
    {KW_INDEX, NULL, SHOW_INDEX, THEN_FROM_TABLE},
    {KW_INDEXES, NULL, SHOW_INDEX, THEN_FROM_TABLE},
    {KW_KEYS, NULL, SHOW_INDEX, THEN_FROM_TABLE},
    {KW_CREATE, NULL, SHOW_CREATE_OTHER, THEN_CREATE},
    {KW_VARIABLES, NULL, SHOW_VARIABLES, THEN_NONE},
    {KW_NONE, "STATUS", SHOW_STATUS, THEN_NONE},
    {KW_PROCESSLIST, NULL, SHOW_PROCESSLIST, THEN_NONE},
    {KW_WARNINGS, NULL, SHOW_WARNINGS, THEN_NONE},
    {KW_ERRORS, NULL, SHOW_ERRORS, THEN_NONE},
    {KW_COUNT, NULL, SHOW_WARNINGS, THEN_COUNT},
    {KW_COLLATION, NULL, SHOW_COLLATION, THEN_NONE},
    {KW_CHARSET, NULL, SHOW_CHARSET, THEN_SET},
    {KW_CHARACTER, NULL, SHOW_CHARSET, THEN_SET},
    {KW_ENGINES, NULL, SHOW_ENGINES, THEN_NONE},
    {KW_GRANTS, NULL, SHOW_GRANTS, THEN_NONE},
    {KW_TRIGGERS, NULL, SHOW_TRIGGERS, THEN_FROM_DB},
};

static const struct show_word *
show_word_at(struct parser *p)
{
    const struct token *t = &p->t;

    if (t->type != TOK_IDENT)
        return NULL;
    for (size_t i = 0; i < sizeof(show_words) / sizeof(show_words[0]); i++) {
        const struct show_word *w = &show_words[i];

        if (w->text != NULL ? !tok_is(t, w->text) : t->kw != w->kw)
            continue;
        if (w->then == THEN_COUNT && !parser_peek_type(p, TOK_LPAREN))
            return NULL; /* SHOW COUNT: some other SHOW */
        return w;
    }
    return NULL;
}

/* FROM|IN db after SHOW TABLES and friends */
static void
show_from_db(struct parser *p)
{
    if ((parser_is(p, KW_FROM) || parser_is(p, KW_IN)) &&
        (parser_peek_type(p, TOK_IDENT) || parser_peek_type(p, TOK_QIDENT))) {
        parser_next(p);
        p->st->schema = span_tok(&p->t);
        parser_next(p);
    }
}

/* FROM|IN tbl [FROM|IN db] after SHOW COLUMNS / SHOW INDEX */
static void
show_from_table(struct parser *p)
{
    struct sql_span schema, name;

    if (!parser_is(p, KW_FROM) && !parser_is(p, KW_IN))
        return;
    parser_next(p);
    if (!parser_qname(p, &schema, &name))
        return;
    if ((parser_is(p, KW_FROM) || parser_is(p, KW_IN)) &&
        (parser_peek_type(p, TOK_IDENT) || parser_peek_type(p, TOK_QIDENT))) {
        parser_next(p);
        schema = span_tok(&p->t);
        parser_next(p);
    }
    parser_table_add(p, 0, schema, name, 0);
}

/* After SHOW CREATE: TABLE/SEQUENCE/VIEW name, DATABASE [IF NOT EXISTS]
 * name, or any other object and its name. */
static void
show_create(struct parser *p)
{
    struct stmt_info *st = p->st;
    const struct token *t = &p->t;
    struct sql_span schema, name;

    if (parser_is(p, KW_TABLE) || parser_is(p, KW_VIEW) ||
        parser_is(p, KW_SEQUENCE)) {
        st->show.obj =
            parser_is(p, KW_VIEW) ? SHOW_CREATE_VIEW : SHOW_CREATE_TABLE;
        parser_next(p);
        if (parser_qname(p, &schema, &name))
            parser_table_add(p, 0, schema, name, 0);
    } else if (parser_is(p, KW_DATABASE) || parser_is(p, KW_SCHEMA)) {
        st->show.obj = SHOW_CREATE_DATABASE;
        parser_next(p);
        if (parser_is(p, KW_IF)) {
            parser_next(p);
            parser_next(p);
            parser_next(p);
        }
        if (t->type == TOK_IDENT || t->type == TOK_QIDENT) {
            st->schema = span_tok(t);
            parser_next(p);
        }
    } else {
        st->show.obj = SHOW_CREATE_OTHER;
        parser_next(p);
        if (!parser_at_end(p)) {
            const char *s = t->p;
            parser_skip_expr(p, 0, CK_COMMA);
            st->object = span_of(s, p->last_end);
        }
    }
}

uint8_t
parse_show(struct parser *p)
{
    struct stmt_info *st = p->st;
    const struct token *t = &p->t;
    const struct show_word *w;

    parser_next(p); /* SHOW */
    for (;;) {
        if (parser_is(p, KW_FULL) || tok_is(t, "EXTENDED") ||
            tok_is(t, "STORAGE"))
            st->show.full |= parser_is(p, KW_FULL);
        else if (parser_is(p, KW_GLOBAL))
            st->show.scope = SCOPE_GLOBAL;
        else if (parser_is(p, KW_SESSION) || parser_is(p, KW_LOCAL))
            st->show.scope = SCOPE_SESSION;
        else
            break;
        parser_next(p);
    }
    st->show.word = span_tok(t);
    w = show_word_at(p);
    st->show.obj = w != NULL ? w->obj : SHOW_OTHER;
    if (w != NULL) {
        parser_next(p);
        switch (w->then) {
        case THEN_FROM_DB:
            show_from_db(p);
            break;
        case THEN_WORD_FROM_DB:
            parser_next(p); /* STATUS / TABLES */
            show_from_db(p);
            break;
        case THEN_FROM_TABLE:
            show_from_table(p);
            break;
        case THEN_SET:
            parser_accept(p, KW_SET);
            break;
        case THEN_CREATE:
            show_create(p);
            break;
        case THEN_COUNT:
            parser_skip_group(p, 0); /* (*) */
            st->show.obj =
                parser_is(p, KW_ERRORS) ? SHOW_ERRORS : SHOW_WARNINGS;
            parser_next(p);
            break;
        default:
            break;
        }
    }
    while (!parser_at_end(p)) {
        if (parser_is(p, KW_LIKE)) {
            parser_next(p);
            if (t->type == TOK_STRING)
                st->show.like = span_tok(t);
        } else if (parser_is(p, KW_WHERE)) {
            const char *s = t->p;
            parser_next(p);
            parser_skip_expr(p, 0, 0);
            st->show.where = span_of(s, p->last_end);
            continue;
        }
        parser_next(p);
    }
    return STMT_SHOW;
}
