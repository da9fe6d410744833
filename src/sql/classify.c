/*
 * classify.c - sql_classify(): the statement kind and everything routing
 * needs from one statement's text, in one streaming pass (see
 * sql/classify.h for the contract, parse_internal.h for the parser and
 * classify_internal.h for the grammar files).
 *
 * Shape of the pass:
 *
 *   sql_classify
 *     parser_init ---------- the first token (classify_stream.c)
 *     parse_statement ------ dispatch on the first keyword, to
 *       parse_query ---------- classify_select.c: [WITH] term {UNION term}
 *                              [ORDER BY] [LIMIT] [FOR ..]; SELECT's list,
 *                              FROM refs, WHERE (pred_parse_cond), GROUP BY
 *       parse_insert / parse_update / parse_delete ---- classify_dml.c
 *       parse_set / parse_use -------------------------- classify_set.c
 *       parse_show ------------------------------------- classify_show.c
 *       parse_begin / parse_commit / parse_xa ... ------ classify_txn.c
 *       parse_ddl (CREATE/ALTER/DROP) / parse_rename ... classify_ddl.c
 *       parse_explain / parse_lock / parse_load ... ---- classify_other.c
 *     drain ---------------- the rest of the statement, subqueries included
 *     finish --------------- ';' and more statements, is_write, txn effects
 *
 * Nothing is allocated; the output's arrays are appended to with bounds
 * checks that set stmt_info.overflow.
 */
#include "sql/classify.h"

#include <stddef.h>
#include <string.h>

#include "classify_internal.h"

/* ------------------------------------------------------------------ */
/* dispatch                                                            */
/* ------------------------------------------------------------------ */

uint8_t
parse_named(struct parser *p, uint8_t kind)
{
    if (!parser_at_end(p) && p->t.type != TOK_LPAREN) {
        p->st->object = span_tok(&p->t);
        parser_next(p);
    }
    return kind;
}

uint8_t
parse_statement(struct parser *p)
{
    const struct token *t = &p->t;

    if (t->type == TOK_EOF || t->type == TOK_SEMI)
        return STMT_EMPTY;
    if (t->type == TOK_LPAREN) {
        parse_query(p, 0, true);
        return STMT_SELECT;
    }
    if (t->type != TOK_IDENT)
        return STMT_OTHER;
    switch (t->kw) {
    case KW_WITH:
        parse_with(p, 0);
        if (parser_is(p, KW_UPDATE))
            return parse_update(p);
        if (parser_is(p, KW_DELETE))
            return parse_delete(p);
        parse_query(p, 0, true);
        return STMT_SELECT;
    case KW_SELECT:
    case KW_TABLE:
    case KW_VALUES:
        parse_query(p, 0, true);
        return STMT_SELECT;
    case KW_INSERT:
        return parse_insert(p, STMT_INSERT);
    case KW_REPLACE:
        return parse_insert(p, STMT_REPLACE);
    case KW_UPDATE:
        return parse_update(p);
    case KW_DELETE:
        return parse_delete(p);
    case KW_SET:
        return parse_set(p);
    case KW_USE:
        return parse_use(p);
    case KW_SHOW:
        return parse_show(p);
    case KW_BEGIN:
        return parse_begin(p);
    case KW_START:
        return parse_start(p);
    case KW_COMMIT:
        return parse_commit(p);
    case KW_ROLLBACK:
        return parse_rollback(p);
    case KW_SAVEPOINT:
        parser_next(p);
        return parse_named(p, STMT_SAVEPOINT);
    case KW_RELEASE:
        parser_next(p);
        parser_accept(p, KW_SAVEPOINT);
        return parse_named(p, STMT_RELEASE_SAVEPOINT);
    case KW_XA:
        return parse_xa(p);
    case KW_CREATE:
        return parse_ddl(p, DDL_CREATE);
    case KW_ALTER:
        return parse_ddl(p, DDL_ALTER);
    case KW_DROP:
        return parse_ddl(p, DDL_DROP);
    case KW_RENAME:
        return parse_rename(p);
    case KW_TRUNCATE:
        return parse_truncate(p);
    case KW_ANALYZE:
    case KW_OPTIMIZE:
    case KW_REPAIR:
    case KW_CHECK:
    case KW_CHECKSUM:
        return parse_maint(p);
    case KW_CALL:
        return parse_call(p);
    case KW_PREPARE:
        return parse_prepare(p);
    case KW_EXECUTE:
        parser_next(p);
        return parse_named(p, STMT_EXECUTE);
    case KW_DEALLOCATE:
        parser_next(p);
        parser_accept(p, KW_PREPARE);
        return parse_named(p, STMT_DEALLOCATE);
    case KW_LOCK:
        return parse_lock(p);
    case KW_UNLOCK:
        parser_next(p);
        if (parser_is(p, KW_TABLE) || parser_is(p, KW_TABLES))
            return STMT_UNLOCK_TABLES;
        return STMT_ADMIN;
    case KW_EXPLAIN:
    case KW_DESCRIBE:
    case KW_DESC:
        parser_next(p);
        return parse_explain(p, false);
    case KW_DO:
        return STMT_DO;
    case KW_HANDLER:
        return parse_handler(p);
    case KW_LOAD:
        return parse_load(p);
    case KW_KILL:
        return parse_kill(p);
    case KW_FLUSH:
        return parse_flush(p);
    case KW_GRANT:
    case KW_REVOKE:
    case KW_INSTALL:
    case KW_UNINSTALL:
    case KW_RESET:
    case KW_PURGE:
    case KW_CHANGE:
    case KW_STOP:
    case KW_SHUTDOWN:
    case KW_RESTART:
    case KW_CACHE:
    case KW_BINLOG:
    case KW_CLONE:
        return STMT_ADMIN;
    default:
        if (tok_is(t, "BACKUP"))
            return STMT_ADMIN;
        return STMT_OTHER;
    }
}

/* ------------------------------------------------------------------ */
/* entry                                                               */
/* ------------------------------------------------------------------ */

static void
drain(struct parser *p)
{
    while (!parser_at_end(p)) {
        parser_skip_expr(p, 0, 0);
        if (!parser_at_end(p))
            parser_next(p); /* an unbalanced ')' */
    }
}

static void
finish(struct parser *p)
{
    struct stmt_info *st = p->st;
    bool w = false;

    /* every token read, none after a ';' (see stmt_info.shape) */
    if (p->t.type == TOK_EOF && !st->lex_error && !st->overflow)
        st->shape = p->shape ? p->shape : 1;
    st->all_read =
        (p->t.type == TOK_EOF || (p->t.type == TOK_SEMI && !p->swallow)) &&
        !st->lex_error && !st->overflow;
    if (p->t.type == TOK_SEMI && !p->swallow) {
        struct token t;
        st->stmt_len = (size_t)(p->t.p - st->sql);
        while (lexer_next(&p->lx, &t)) {
            if (t.type != TOK_SEMI && t.type != TOK_HINT) {
                st->multi = true;
                break;
            }
        }
    } else {
        st->stmt_len = st->len;
    }
    if (st->inner.p != NULL) /* to the end of the statement */
        st->inner = span_of(st->inner.p, st->sql + st->stmt_len);
    if (p->uv_writes)
        st->flags |= SQLF_USERVAR_WRITE;
    if (p->uv_tokens > p->uv_writes)
        st->flags |= SQLF_USERVAR_READ;
    if (p->lx.opt_hint) {
        st->opt_hint.p = p->lx.opt_hint;
        st->opt_hint.len = (uint32_t)p->lx.opt_hint_len;
    }
    switch (st->kind) {
    case STMT_INSERT:
    case STMT_REPLACE:
    case STMT_UPDATE:
    case STMT_DELETE:
    case STMT_DDL:
    case STMT_LOAD_DATA:
    case STMT_ADMIN:
    case STMT_CALL:
    case STMT_EXECUTE:
    case STMT_LOCK_TABLES:
    case STMT_XA:
    case STMT_FLUSH:
    case STMT_OTHER:
        w = true;
        break;
    case STMT_EXPLAIN:
        w = (st->flags & SQLF_ANALYZE) &&
            (st->inner_kind == STMT_INSERT || st->inner_kind == STMT_REPLACE ||
             st->inner_kind == STMT_UPDATE || st->inner_kind == STMT_DELETE);
        break;
    default:
        break;
    }
    st->is_write = w;
    switch (st->kind) {
    case STMT_DDL:
        /* parse_maint() decided for table maintenance */
        if (st->ddl_verb != DDL_MAINT &&
            !((st->flags & SQLF_TEMPORARY) && st->ddl_object == DDLO_TABLE))
            st->txn |= TXN_IMPLICIT_COMMIT;
        break;
    case STMT_LOCK_TABLES:
    case STMT_UNLOCK_TABLES:
    case STMT_ADMIN:
    case STMT_FLUSH:
        st->txn |= TXN_IMPLICIT_COMMIT;
        break;
    default:
        break;
    }
}

bool
sql_classify(const char *sql, size_t len, struct lex_mode mode,
             struct stmt_info *out)
{
    struct parser p;

    memset(out, 0, offsetof(struct stmt_info, tables));
    out->sql = sql;
    out->len = len;
    out->mode = mode;
    out->nblocks = 1;
    out->blocks[0].parent = 0;
    out->blocks[0].kind = BLOCK_TOP;

    parser_init(&p, sql, len, mode, out);

    out->kind = parse_statement(&p);
    drain(&p);
    finish(&p);
    return !out->lex_error;
}

/* ------------------------------------------------------------------ */
/* names                                                               */
/* ------------------------------------------------------------------ */

const char *
stmt_kind_name(unsigned kind)
{
    static const char *const names[STMT__COUNT] = {
        [STMT_EMPTY] = "EMPTY",
        [STMT_SELECT] = "SELECT",
        [STMT_INSERT] = "INSERT",
        [STMT_REPLACE] = "REPLACE",
        [STMT_UPDATE] = "UPDATE",
        [STMT_DELETE] = "DELETE",
        [STMT_SET] = "SET",
        [STMT_USE] = "USE",
        [STMT_SHOW] = "SHOW",
        [STMT_BEGIN] = "BEGIN",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT",
        [STMT_RELEASE_SAVEPOINT] = "RELEASE_SAVEPOINT",
        [STMT_XA] = "XA",
        [STMT_DDL] = "DDL",
        [STMT_CALL] = "CALL",
        [STMT_PREPARE] = "PREPARE",
        [STMT_EXECUTE] = "EXECUTE",
        [STMT_DEALLOCATE] = "DEALLOCATE",
        [STMT_LOCK_TABLES] = "LOCK_TABLES",
        [STMT_UNLOCK_TABLES] = "UNLOCK_TABLES",
        [STMT_EXPLAIN] = "EXPLAIN",
        [STMT_DO] = "DO",
        [STMT_HANDLER] = "HANDLER",
        [STMT_LOAD_DATA] = "LOAD_DATA",
        [STMT_KILL] = "KILL",
        [STMT_FLUSH] = "FLUSH",
        [STMT_ADMIN] = "ADMIN",
        [STMT_OTHER] = "OTHER",
    };
    return kind < STMT__COUNT ? names[kind] : "?";
}

const char *
ddl_verb_name(unsigned verb)
{
    static const char *const names[] = {"NONE",     "CREATE", "ALTER", "DROP",
                                        "TRUNCATE", "RENAME", "MAINT"};
    return verb < sizeof(names) / sizeof(names[0]) ? names[verb] : "?";
}

const char *
ddl_object_name(unsigned obj)
{
    static const char *const names[] = {
        "NONE",     "TABLE",   "INDEX", "DATABASE", "VIEW", "PROCEDURE",
        "FUNCTION", "TRIGGER", "EVENT", "SEQUENCE", "OTHER"};
    return obj < sizeof(names) / sizeof(names[0]) ? names[obj] : "?";
}

const char *
show_obj_name(unsigned obj)
{
    static const char *const names[] = {"NONE",         "DATABASES",
                                        "TABLES",       "TABLE_STATUS",
                                        "OPEN_TABLES",  "COLUMNS",
                                        "INDEX",        "CREATE_TABLE",
                                        "CREATE_VIEW",  "CREATE_DATABASE",
                                        "CREATE_OTHER", "VARIABLES",
                                        "STATUS",       "PROCESSLIST",
                                        "WARNINGS",     "ERRORS",
                                        "COLLATION",    "CHARSET",
                                        "ENGINES",      "GRANTS",
                                        "TRIGGERS",     "OTHER"};
    return obj < sizeof(names) / sizeof(names[0]) ? names[obj] : "?";
}

const char *
agg_kind_name(unsigned agg)
{
    static const char *const names[] = {
        "NONE", "COUNT", "SUM", "MIN", "MAX", "AVG", "GROUP_CONCAT", "OTHER"};
    return agg < sizeof(names) / sizeof(names[0]) ? names[agg] : "?";
}
