/*
 * classify_ddl.c - data definition: CREATE, ALTER and DROP of every object
 * (one parser, parse_ddl), RENAME TABLE, TRUNCATE and table maintenance
 * (ANALYZE/OPTIMIZE/REPAIR/CHECK/CHECKSUM TABLE). It records the verb, the
 * object kind, the tables written (with TBLF_TEMP for TEMPORARY ones), the
 * schema of a database statement, the object name of the others, and marks
 * routine bodies (procedures, functions, events, triggers) as compound so
 * that their ';' do not end the statement.
 */
#include <stddef.h>
#include <stdint.h>

#include "classify_internal.h"

/* The object word after CREATE/ALTER/DROP and its DDLO_* kind. */
static const struct {
    uint16_t kw;
    uint8_t obj;
} ddl_objects[] = {
    {KW_TABLE, DDLO_TABLE},       {KW_INDEX, DDLO_INDEX},
    {KW_DATABASE, DDLO_DATABASE}, {KW_SCHEMA, DDLO_DATABASE},
    {KW_VIEW, DDLO_VIEW},         {KW_PROCEDURE, DDLO_PROCEDURE},
    {KW_FUNCTION, DDLO_FUNCTION}, {KW_TRIGGER, DDLO_TRIGGER},
    {KW_EVENT, DDLO_EVENT},       {KW_SEQUENCE, DDLO_SEQUENCE},
};

static uint8_t
ddl_object_at(struct parser *p, uint8_t verb)
{
    if (verb == DDL_DROP && parser_is(p, KW_TABLES))
        return DDLO_TABLE;
    for (size_t i = 0; i < sizeof(ddl_objects) / sizeof(ddl_objects[0]); i++)
        if (parser_is(p, ddl_objects[i].kw))
            return ddl_objects[i].obj;
    return DDLO_OTHER;
}

static void
parse_if_exists(struct parser *p, bool not_exists)
{
    if (!parser_is(p, KW_IF))
        return;
    if (not_exists ? !parser_peek_is(p, KW_NOT) : !parser_peek_is(p, KW_EXISTS))
        return;
    parser_next(p);
    if (not_exists)
        parser_next(p);
    parser_accept(p, KW_EXISTS);
    p->st->flags |= not_exists ? SQLF_IF_NOT_EXISTS : SQLF_IF_EXISTS;
}

/* name [, name ...] as tables with tflags */
static void
parse_table_list(struct parser *p, unsigned tflags)
{
    struct sql_span schema, name;

    for (;;) {
        if (!parser_qname(p, &schema, &name))
            return;
        parser_table_add(p, 0, schema, name, tflags);
        if (p->t.type != TOK_COMMA)
            return;
        parser_next(p);
    }
}

/* One [schema.]name as a table with tflags. */
static void
parse_one_table(struct parser *p, unsigned tflags)
{
    struct sql_span schema, name;

    if (parser_qname(p, &schema, &name))
        parser_table_add(p, 0, schema, name, tflags);
}

/* the object name after CREATE/ALTER/DROP <object> */
static void
parse_object_name(struct parser *p)
{
    const char *s = p->t.p;

    if (!parser_is_name(&p->t) && p->t.type != TOK_QIDENT)
        return;
    parser_next(p);
    if (p->t.type == TOK_DOT) {
        parser_next(p);
        parser_next(p);
    }
    p->st->object = span_of(s, p->last_end);
}

/* Skips DEFINER = user / ALGORITHM = x / SQL SECURITY x ... */
static bool
skip_ddl_modifier(struct parser *p)
{
    if (parser_is(p, KW_DEFINER) || parser_is(p, KW_ALGORITHM)) {
        parser_next(p);
        if (parser_is_op(p, "="))
            parser_next(p);
        parser_next(p); /* user / value */
        if (parser_is_op(p, "@")) {
            parser_next(p);
            parser_next(p);
        } else if (p->t.type == TOK_LPAREN) {
            parser_skip_group(p, 0); /* CURRENT_USER() */
        }
        return true;
    }
    if (parser_is(p, KW_SQL) && parser_peek_is(p, KW_SECURITY)) {
        parser_next(p);
        parser_next(p);
        parser_next(p);
        return true;
    }
    if (tok_is(&p->t, "ONLINE") || tok_is(&p->t, "OFFLINE") ||
        parser_is(p, KW_IGNORE) || tok_is(&p->t, "AGGREGATE") ||
        tok_is(&p->t, "NONBLOCKING")) {
        parser_next(p);
        return true;
    }
    return false;
}

/* Between the verb and the object word: OR REPLACE, TEMPORARY, UNIQUE ...
 * and the DEFINER / ALGORITHM / SQL SECURITY modifiers, as each verb
 * allows them. */
static void
skip_ddl_prefix(struct parser *p, uint8_t verb)
{
    if (verb == DDL_CREATE && parser_is(p, KW_OR) &&
        parser_peek_is(p, KW_REPLACE)) {
        parser_next(p);
        parser_next(p);
    }
    for (;;) {
        if (verb != DDL_ALTER && tok_is(&p->t, "TEMPORARY")) {
            p->st->flags |= SQLF_TEMPORARY;
            parser_next(p);
            if (verb == DDL_DROP)
                return;
        } else if (verb == DDL_CREATE &&
                   (parser_is(p, KW_UNIQUE) || parser_is(p, KW_FULLTEXT) ||
                    parser_is(p, KW_SPATIAL))) {
            parser_next(p);
        } else if (verb == DDL_DROP || !skip_ddl_modifier(p)) {
            return;
        }
    }
}

/* Accounts and servers are administration, not data definition. */
static bool
ddl_is_admin(struct parser *p, uint8_t verb)
{
    return tok_is(&p->t, "USER") || tok_is(&p->t, "ROLE") ||
           parser_is(p, KW_SERVER) ||
           (verb == DDL_ALTER && tok_is(&p->t, "INSTANCE"));
}

/* After CREATE TABLE name: LIKE other, definitions, and [AS] SELECT. */
static void
parse_create_table_rest(struct parser *p)
{
    if (parser_accept(p, KW_LIKE) ||
        (p->t.type == TOK_LPAREN && parser_peek_is(p, KW_LIKE))) {
        bool paren = false;
        if (p->t.type == TOK_LPAREN) {
            parser_next(p);
            parser_next(p);
            paren = true;
        }
        parse_one_table(p, 0);
        if (paren && p->t.type == TOK_RPAREN)
            parser_next(p);
        return;
    }
    while (!parser_at_end(p)) {
        if (p->t.type == TOK_LPAREN && !parser_paren_query(p)) {
            parser_next(p);
            parser_skip_expr(p, 0, 0);
            if (p->t.type == TOK_RPAREN)
                parser_next(p);
            continue;
        }
        if (parser_is(p, KW_SELECT) || parser_is(p, KW_WITH) ||
            p->t.type == TOK_LPAREN || parser_is(p, KW_TABLE) ||
            parser_is(p, KW_VALUES)) {
            int nb = parser_block_new(p, 0, BLOCK_INSERT);
            if (nb >= 0)
                parse_query(p, (unsigned)nb, false);
            return;
        }
        parser_next(p);
    }
}

/* After ALTER TABLE name: ... RENAME [TO|AS] new_name. */
static void
parse_alter_table_rest(struct parser *p)
{
    while (!parser_at_end(p)) {
        if (parser_is(p, KW_RENAME) && !parser_peek_is(p, KW_COLUMN) &&
            !parser_peek_is(p, KW_INDEX) && !parser_peek_is(p, KW_KEY)) {
            parser_next(p);
            if (!parser_accept(p, KW_TO))
                parser_accept(p, KW_AS);
            parse_one_table(p, TBLF_WRITE);
            continue;
        }
        if (p->t.type == TOK_LPAREN) {
            parser_skip_group(p, 0);
            continue;
        }
        parser_next(p);
    }
}

/* CREATE/ALTER VIEW name [(columns)] AS query */
static void
parse_view(struct parser *p)
{
    parse_one_table(p, TBLF_WRITE);
    if (p->t.type == TOK_LPAREN)
        parser_skip_group(p, 0);
    if (parser_accept(p, KW_AS)) {
        int nb = parser_block_new(p, 0, BLOCK_INSERT);
        if (nb >= 0)
            parse_query(p, (unsigned)nb, false);
    }
}

/* The table an index or trigger is ON; CREATE has more words first. */
static void
parse_on_table(struct parser *p, uint8_t verb)
{
    if (verb == DDL_CREATE)
        while (!parser_at_end(p) && !parser_is(p, KW_ON))
            parser_next(p);
    if (parser_accept(p, KW_ON))
        parse_one_table(p, TBLF_WRITE);
}

/* The schema of CREATE/ALTER/DROP DATABASE; ALTER DATABASE may name none
 * (ALTER DATABASE DEFAULT CHARACTER SET ...). */
static void
parse_schema_name(struct parser *p, uint8_t verb)
{
    if (p->t.type == TOK_QIDENT ||
        (p->t.type == TOK_IDENT && (verb != DDL_ALTER || p->t.kw == KW_NONE))) {
        p->st->schema = span_tok(&p->t);
        parser_next(p);
    }
}

/* A stored program: its body is one statement whatever its ';' say. */
static void
parse_routine_body(struct parser *p)
{
    p->swallow = true;
    p->st->flags |= SQLF_COMPOUND;
}

uint8_t
parse_ddl(struct parser *p, uint8_t verb)
{
    struct stmt_info *st = p->st;
    unsigned tflags;
    uint8_t obj;

    parser_next(p); /* CREATE / ALTER / DROP */
    if (verb == DDL_DROP && parser_is(p, KW_PREPARE)) {
        parser_next(p);
        return parse_named(p, STMT_DEALLOCATE);
    }
    st->ddl_verb = verb;
    skip_ddl_prefix(p, verb);
    if (ddl_is_admin(p, verb))
        return STMT_ADMIN;
    obj = ddl_object_at(p, verb);
    st->ddl_object = obj;
    parser_next(p);
    parse_if_exists(p, verb == DDL_CREATE);
    tflags = TBLF_WRITE | ((st->flags & SQLF_TEMPORARY) ? TBLF_TEMP : 0);
    switch (obj) {
    case DDLO_TABLE:
    case DDLO_SEQUENCE:
        if (verb == DDL_DROP) {
            parse_table_list(p, tflags);
            break;
        }
        parse_one_table(p, tflags);
        if (verb == DDL_CREATE)
            parse_create_table_rest(p);
        else
            parse_alter_table_rest(p);
        break;
    case DDLO_VIEW:
        if (verb == DDL_DROP)
            parse_table_list(p, tflags);
        else
            parse_view(p);
        break;
    case DDLO_INDEX:
        parse_object_name(p);
        if (verb != DDL_ALTER)
            parse_on_table(p, verb);
        break;
    case DDLO_TRIGGER:
        parse_object_name(p);
        if (verb == DDL_CREATE) {
            parse_on_table(p, verb);
            parse_routine_body(p);
        }
        break;
    case DDLO_PROCEDURE:
    case DDLO_FUNCTION:
    case DDLO_EVENT:
        parse_object_name(p);
        if (verb == DDL_CREATE)
            parse_routine_body(p);
        break;
    case DDLO_DATABASE:
        parse_schema_name(p, verb);
        break;
    default:
        if (verb != DDL_CREATE)
            parse_object_name(p);
        break;
    }
    return STMT_DDL;
}

uint8_t
parse_rename(struct parser *p)
{
    struct stmt_info *st = p->st;
    struct sql_span schema, name;

    parser_next(p); /* RENAME */
    if (!parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES))
        return STMT_ADMIN; /* RENAME USER */
    parser_next(p);
    st->ddl_verb = DDL_RENAME;
    st->ddl_object = DDLO_TABLE;
    while (!parser_at_end(p)) {
        if (parser_qname(p, &schema, &name))
            parser_table_add(p, 0, schema, name, TBLF_WRITE);
        else
            parser_next(p);
    }
    return STMT_DDL;
}

uint8_t
parse_truncate(struct parser *p)
{
    parser_next(p);
    parser_accept(p, KW_TABLE);
    p->st->ddl_verb = DDL_TRUNCATE;
    p->st->ddl_object = DDLO_TABLE;
    parse_one_table(p, TBLF_WRITE);
    return STMT_DDL;
}

/* ANALYZE/OPTIMIZE/REPAIR/CHECK/CHECKSUM [NO_WRITE_TO_BINLOG|LOCAL] TABLE */
uint8_t
parse_maint(struct parser *p)
{
    bool analyze = parser_is(p, KW_ANALYZE);
    bool commits = !parser_is(p, KW_CHECKSUM);

    parser_next(p);
    if (analyze && !parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES) &&
        !parser_is(p, KW_NO_WRITE_TO_BINLOG) && !parser_is(p, KW_LOCAL))
        return parse_explain(p, true); /* MariaDB ANALYZE <statement> */
    if (parser_is(p, KW_NO_WRITE_TO_BINLOG) || parser_is(p, KW_LOCAL))
        parser_next(p);
    if (!parser_is(p, KW_TABLE) && !parser_is(p, KW_TABLES))
        return STMT_ADMIN;
    parser_next(p);
    p->st->ddl_verb = DDL_MAINT;
    p->st->ddl_object = DDLO_TABLE;
    if (commits)
        p->st->txn |= TXN_IMPLICIT_COMMIT;
    parse_table_list(p, 0);
    return STMT_DDL;
}
