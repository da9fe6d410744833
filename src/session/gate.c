/*
 * gate.c - see gate.h. One pass per statement: the classifier's tables,
 * names and flags, then the qualifier scan (sql/qualify.h) over the same
 * text for what the classifier does not parse, then the deny policies.
 * The first refusal wins; nothing reaches a server unless every statement
 * of the command passed.
 */
#include "session/gate.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/resultset.h"
#include "session/infoschema.h"
#include "session/protect.h"
#include "session/session.h"
#include "sql/classify.h"
#include "sql/lexer.h"
#include "sql/qualify.h"

/* Nesting of texts inside texts: PREPARE 'text' inside a batch. */
#define GATE_MAX_DEPTH 2

enum answer {
    ANSWER_NONE = 0,
    ANSWER_PROCESSLIST, /* SHOW [FULL] PROCESSLIST: the client's own */
    ANSWER_KILL_QUERY,  /* KILL QUERY <own id>: nothing of its own runs */
    ANSWER_KILL_SELF,   /* KILL [CONNECTION] <own id>: closed */
};

struct gate {
    struct session *s;
    const struct cfg *c;
    const struct cfg_user *u;
    bool prepared;        /* COM_STMT_PREPARE */
    bool filtered;        /* information_schema references already filtered */
    bool single;          /* the command is one statement */
    struct lex_mode mode; /* how the command's text lexes */
    int depth;
    /* the refusal */
    uint16_t code;
    const char *sqlstate;
    char msg[512];
    const struct cfg_policy *denied; /* by this policy */
    /* what to do when every statement passed */
    enum answer answer;
    int nwrap; /* information_schema tables to filter, in text order */
    struct sql_table wrap[SQL_MAX_TABLES];
};

static bool check_text(struct gate *g, const char *sql, size_t len,
                       struct stmt_info *st);
static bool refuse(struct gate *g, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool refuse(struct gate *g, uint16_t code, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static bool
refuse(struct gate *g, uint16_t code, const char *fmt, ...)
{
    va_list ap;

    g->code = code;
    g->sqlstate = code == ER_OPTION_PREVENTS_STATEMENT ? "HY000" : "42000";
    va_start(ap, fmt);
    vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* A raw name token, unquoted, for messages and comparisons. */
static const char *
name_of(struct lex_mode mode, struct sql_span sp, char *buf, size_t cap)
{
    size_t n = lexer_unquote(sp.p, sp.len, mode, buf, cap);
    if (n >= cap)
        buf[cap - 1] = '\0';
    return buf;
}

static bool
span_eq(struct lex_mode mode, struct sql_span a, struct sql_span b)
{
    char buf[256];
    size_t n;

    if (a.len == 0 || b.len == 0)
        return false;
    n = lexer_unquote(b.p, b.len, mode, buf, sizeof(buf));
    return n < sizeof(buf) && lexer_ident_eq(a.p, a.len, buf, n);
}

static bool
span_is(struct sql_span a, const char *word)
{
    return lexer_ident_eq(a.p, a.len, word, strlen(word));
}

/* One of the user's schemas, by its client-side name (case-insensitive,
 * as sql/rewrite.c renames qualified names) or by its backend_schema: a
 * prepared statement's text is kept renamed, and either name reaches the
 * same data. */
static bool
user_schema(const struct gate *g, struct sql_span name)
{
    for (int i = 0; i < g->u->nschemas; i++) {
        int si;
        if (span_is(name, g->u->schemas[i]))
            return true;
        si = cfg_find_schema(g->c, g->u->schemas[i], strlen(g->u->schemas[i]));
        if (si >= 0 && span_is(name, g->c->schemas[si].backend_schema))
            return true;
    }
    return false;
}

static bool
system_schema(struct sql_span name)
{
    return span_is(name, "mysql") || span_is(name, "performance_schema") ||
           span_is(name, "sys");
}

static void
schema_list(const struct gate *g, char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < g->u->nschemas && n < cap; i++) {
        int r =
            snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", g->u->schemas[i]);
        if (r < 0)
            break;
        n += (size_t)r;
    }
}

static bool
refuse_schema(struct gate *g, uint16_t code, struct sql_span schema,
              struct sql_span table)
{
    char sn[80], tn[80], list[300];

    name_of(g->mode, schema, sn, sizeof(sn));
    schema_list(g, list, sizeof(list));
    if (system_schema(schema))
        return refuse(g, code,
                      "myshard: access denied for user '%s' to %s%s%s: the "
                      "system schema '%s' is refused through the proxy",
                      g->u->name, sn, table.len ? "." : "",
                      table.len ? name_of(g->mode, table, tn, sizeof(tn)) : "",
                      sn);
    return refuse(g, code,
                  "myshard: access denied for user '%s' to %s%s%s: schema "
                  "'%s' is not one of the user's schemas (%s)",
                  g->u->name, sn, table.len ? "." : "",
                  table.len ? name_of(g->mode, table, tn, sizeof(tn)) : "", sn,
                  list);
}

/* ---- information_schema ------------------------------------------- */

static bool
check_info_schema(struct gate *g, const struct stmt_info *st,
                  const struct sql_table *t)
{
    enum infoschema_access a = infoschema_access(t->name);
    char tn[80];

    if (a == INFOSCHEMA_REFUSED)
        return refuse(g, ER_SPECIFIC_ACCESS_DENIED,
                      "myshard: information_schema.%s describes the whole "
                      "server (other clients, accounts or engines) and is "
                      "refused through the proxy",
                      name_of(g->mode, t->name, tn, sizeof(tn)));
    if (a == INFOSCHEMA_GLOBAL || g->filtered)
        return true;
    if (!g->single || g->depth > 0 || st->kind != STMT_SELECT ||
        (st->flags & SQLF_INTO))
        return refuse(g, ER_NOT_SUPPORTED_YET,
                      "myshard: information_schema.%s is answered only to a "
                      "SELECT sent alone (the proxy filters it to the user's "
                      "schemas)",
                      name_of(g->mode, t->name, tn, sizeof(tn)));
    if (g->nwrap < SQL_MAX_TABLES) {
        g->wrap[g->nwrap] = *t;
        g->nwrap++;
    }
    return true;
}

/* ---- schemas ------------------------------------------------------- */

static bool
check_tables(struct gate *g, const struct stmt_info *st)
{
    for (int i = 0; i < st->ntables; i++) {
        const struct sql_table *t = &st->tables[i];
        if (t->flags & TBLF_DERIVED)
            continue;
        if (t->schema.len == 0)
            continue; /* the current schema: one of the user's */
        if (span_is(t->schema, "information_schema")) {
            if (!check_info_schema(g, st, t))
                return false;
            continue;
        }
        if (!user_schema(g, t->schema))
            return refuse_schema(g, ER_TABLEACCESS_DENIED_ERROR, t->schema,
                                 t->name);
    }
    /* USE sent alone is answered by the proxy (1049 for a schema it does
     * not serve); inside a batch it would reach the server. */
    if (st->kind == STMT_USE && g->single && g->depth == 0 && !g->prepared)
        return true;
    if (st->schema.len > 0 && !user_schema(g, st->schema))
        return refuse_schema(g, ER_DBACCESS_DENIED_ERROR, st->schema,
                             (struct sql_span){0});
    return true;
}

struct qual_ctx {
    struct gate *g;
    const struct stmt_info *st;
};

static bool
statement_names(const struct stmt_info *st, struct sql_span name)
{
    for (int i = 0; i < st->ntables; i++)
        if (span_eq(st->mode, name, st->tables[i].name) ||
            span_eq(st->mode, name, st->tables[i].alias))
            return true;
    for (int i = 0; i < st->nctes; i++)
        if (span_eq(st->mode, name, st->ctes[i]))
            return true;
    return false;
}

/* A schema name the gate knows not to be the user's: a system schema or a
 * configured one (by either of its names) the user lacks. */
static bool
foreign_schema(const struct gate *g, struct sql_span name)
{
    if (system_schema(name) || span_is(name, "information_schema"))
        return true;
    for (int i = 0; i < g->c->nschemas; i++)
        if (span_is(name, g->c->schemas[i].name) ||
            span_is(name, g->c->schemas[i].backend_schema))
            return true;
    return false;
}

/* A qualifier must be one of the user's schemas, or name a table of the
 * statement. In an expression (a.b: table a, column b) that is a table,
 * alias or common table expression the classifier found; in a routine,
 * trigger or event body, whose tables the classifier does not walk, any
 * name that is not a schema (their FROM a.b are table positions, checked
 * as schemas). Where a table stands (FROM a.b) or with three parts
 * (a.b.c, a.b()), it must be one of the user's schemas. */
static bool
qual_ok(void *arg, const struct sql_qual *qq)
{
    struct qual_ctx *q = arg;
    const struct stmt_info *st = q->st;
    struct sql_span name = qq->name;
    bool body = (st->flags & SQLF_COMPOUND) != 0;

    for (int i = 0; i < st->ntables; i++)
        if (st->tables[i].schema.p == name.p)
            return true; /* a table reference check_tables() judged */
    if (user_schema(q->g, name))
        return true;
    if (qq->kind == QUAL_TWO && body && !foreign_schema(q->g, name))
        return true;
    /* a.b in a column list (INSERT INTO t (t.a), ON DUPLICATE KEY UPDATE
     * t.a) looks like a table position; the classifier knows the tables */
    if (qq->kind != QUAL_SCHEMA && !body && statement_names(st, name))
        return true;
    if (body && (span_is(name, "NEW") || span_is(name, "OLD")))
        return true;
    if (span_is(name, "information_schema")) {
        char tn[80];
        return refuse(q->g, ER_SPECIFIC_ACCESS_DENIED,
                      "myshard: information_schema is readable only as a "
                      "table of a SELECT's FROM clause; '%s' is used "
                      "elsewhere",
                      name_of(q->g->mode, name, tn, sizeof(tn)));
    }
    if (qq->kind != QUAL_TWO || system_schema(name))
        return refuse_schema(q->g,
                             qq->kind == QUAL_SCHEMA
                                 ? ER_DBACCESS_DENIED_ERROR
                                 : ER_TABLEACCESS_DENIED_ERROR,
                             name, (struct sql_span){0});
    {
        char qn[80], list[300];
        schema_list(q->g, list, sizeof(list));
        return refuse(q->g, ER_TABLEACCESS_DENIED_ERROR,
                      "myshard: '%s' qualifies a name but is neither one of "
                      "user '%s''s schemas (%s) nor a table of the "
                      "statement",
                      name_of(q->g->mode, name, qn, sizeof(qn)), q->g->u->name,
                      list);
    }
}

static bool
check_qualifiers(struct gate *g, const struct stmt_info *st)
{
    struct qual_ctx q = {g, st};

    /* Every qualifier has a '.' byte (no character set the lexer admits
     * has it as a trail byte), and check_stmt() refused texts that do not
     * lex to their end: most statements need no second lexing pass. */
    if (memchr(st->sql, '.', st->stmt_len) == NULL)
        return true;
    if (sql_qualifiers(st->sql, st->stmt_len, st->mode, qual_ok, &q))
        return true;
    if (g->code == 0)
        return refuse(g, ER_PARSE_ERROR,
                      "myshard: the statement does not lex to its end (an "
                      "unterminated string, quoted name or comment), so the "
                      "proxy cannot check it");
    return false;
}

/* ---- read_only: an allow-list -------------------------------------- */

static bool
set_is_session(const struct stmt_info *st)
{
    for (int i = 0; i < st->nsets; i++) {
        const struct sql_setvar *v = &st->sets[i];
        if (v->scope != SCOPE_DEFAULT && v->scope != SCOPE_SESSION)
            return false;
        if (v->kind == SETK_OTHER)
            return false;
    }
    return true;
}

static bool
select_is_plain(const struct stmt_info *st)
{
    return !(st->flags & (SQLF_INTO | SQLF_FOR_UPDATE | SQLF_SHARE_LOCK));
}

static bool
read_only_allows(const struct stmt_info *st)
{
    if ((st->flags & SQLF_SET_STATEMENT) && !set_is_session(st))
        return false;
    switch (st->kind) {
    case STMT_EMPTY:
    case STMT_SHOW:
    case STMT_USE:
    case STMT_BEGIN:
    case STMT_COMMIT:
    case STMT_ROLLBACK:
    case STMT_SAVEPOINT:
    case STMT_RELEASE_SAVEPOINT:
    case STMT_DEALLOCATE:
    case STMT_UNLOCK_TABLES:
    case STMT_PREPARE: /* its text is checked as a statement of its own */
    case STMT_EXECUTE: /* ... so what it runs passed this list */
        return true;
    case STMT_SELECT:
        return select_is_plain(st);
    case STMT_SET:
        return set_is_session(st);
    case STMT_EXPLAIN:
        return (st->inner_kind == STMT_SELECT && select_is_plain(st)) ||
               (st->inner_kind == STMT_EMPTY &&
                (st->flags & SQLF_DESCRIBE_TABLE));
    default:
        return false;
    }
}

static bool
check_read_only(struct gate *g, const struct stmt_info *st)
{
    if (!g->u->read_only || read_only_allows(st))
        return true;
    return refuse(g, ER_OPTION_PREVENTS_STATEMENT,
                  "myshard: user '%s' is read_only: only plain SELECT, "
                  "SHOW, DESCRIBE, EXPLAIN SELECT, USE, SET of session "
                  "variables and transaction control are allowed; this %s "
                  "statement is refused",
                  g->u->name, stmt_kind_name(st->kind));
}

/* ---- statements that act for everyone under the shared account ----- */

static bool
is_word(const struct token *t, const char *const *words)
{
    for (; *words; words++)
        if (tok_is(t, *words))
            return true;
    return false;
}

/* A routine, trigger or event body, or BEGIN NOT ATOMIC ... END: the
 * statements inside run later (or at once) under the backend account and
 * the classifier does not walk them, so words that start a
 * shared-identity statement refuse the whole body. */
static bool
body_is_safe(const struct stmt_info *st)
{
    static const char *const danger[] = {
        "GRANT",       "REVOKE",  "KILL",     "SHUTDOWN",     "FLUSH",
        "XA",          "OUTFILE", "DUMPFILE", "INFILE",       "GLOBAL",
        "PERSIST",     "PREPARE", "EXECUTE",  "PERSIST_ONLY", "RESET",
        "PURGE",       "INSTALL", "BINLOG",   "SONAME",       "LOAD_FILE",
        "SQL_LOG_BIN", NULL};
    static const char *const account[] = {"USER", "ROLE", "PASSWORD", NULL};
    struct lexer lx;
    struct token t, prev = {0};

    lexer_init(&lx, st->sql, st->stmt_len, st->mode);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_IDENT && is_word(&t, danger))
            return false;
        if (t.type == TOK_IDENT && is_word(&t, account) &&
            (tok_is(&prev, "CREATE") || tok_is(&prev, "DROP") ||
             tok_is(&prev, "ALTER") || tok_is(&prev, "RENAME") ||
             tok_is(&prev, "SET") || tok_is(&prev, "DEFAULT")))
            return false;
        if (t.type == TOK_SYSVAR && t.len > 9 &&
            lexer_ident_eq(t.p + 2, 6, "global", 6))
            return false;
        prev = t;
    }
    return true;
}

/* Whether the statement's text holds word (ASCII, any case) as a bare
 * word: a quick byte search first, the lexer only when it is there. */
static bool
has_word(const struct stmt_info *st, const char *word)
{
    size_t wl = strlen(word);
    bool seen = false;
    struct lexer lx;
    struct token t;

    for (size_t i = 0; !seen && i + wl <= st->stmt_len; i++)
        seen = (st->sql[i] | 0x20) == (word[0] | 0x20) &&
               strncasecmp(st->sql + i, word, wl) == 0;
    if (!seen)
        return false;
    lexer_init(&lx, st->sql, st->stmt_len, st->mode);
    while (lexer_next(&lx, &t))
        if (t.type == TOK_IDENT && tok_is(&t, word))
            return true;
    return false;
}

/* Session variables that need the backend account's privileges and change
 * more than the session: replication of its writes, binlog identity. */
static bool
var_is_shared(struct sql_span name)
{
    static const char *const prefixes[] = {
        "sql_log_bin", "skip_replication", "gtid_",  "server_id", "pseudo_",
        "wsrep_",      "sql_slave_",       "slave_", "binlog_",   NULL};

    for (const char *const *p = prefixes; *p; p++) {
        size_t n = strlen(*p);
        if (name.len >= n && strncasecmp(name.p, *p, n) == 0)
            return true;
    }
    return false;
}

static bool
show_is_shared(const struct stmt_info *st)
{
    static const char *const words[] = {"ENGINE",
                                        "BINLOG",
                                        "RELAYLOG",
                                        "MASTER",
                                        "SLAVE",
                                        "REPLICA",
                                        "BINARY",
                                        "ALL",
                                        "USER_STATISTICS",
                                        "CLIENT_STATISTICS",
                                        "INDEX_STATISTICS",
                                        "TABLE_STATISTICS",
                                        "PROCEDURE",
                                        "FUNCTION",
                                        "EVENTS",
                                        "PACKAGE",
                                        NULL};
    struct token t = {0};

    if (st->show.obj != SHOW_OTHER || st->show.word.len == 0)
        return false;
    t.type = TOK_IDENT;
    t.p = st->show.word.p;
    t.len = st->show.word.len;
    return is_word(&t, words);
}

static bool
parse_id(struct sql_span sp, uint64_t *id)
{
    uint64_t v = 0;

    if (sp.len == 0 || sp.len > 19)
        return false;
    for (uint32_t i = 0; i < sp.len; i++) {
        if (sp.p[i] < '0' || sp.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(sp.p[i] - '0');
    }
    *id = v;
    return true;
}

static bool
check_shared(struct gate *g, const struct stmt_info *st)
{
    const char *why = NULL;
    uint64_t id;

    for (int i = 0; i < st->nsets; i++) {
        uint8_t sc = st->sets[i].scope;
        if (sc == SCOPE_GLOBAL || sc == SCOPE_PERSIST ||
            sc == SCOPE_PERSIST_ONLY) {
            char vn[80];
            return refuse(g, ER_SPECIFIC_ACCESS_DENIED,
                          "myshard: SET GLOBAL/PERSIST (%s) would change the "
                          "server for every client of the shared backend "
                          "account and is refused; set it as SESSION, or ask "
                          "the DBA",
                          name_of(g->mode, st->sets[i].name, vn, sizeof(vn)));
        }
    }
    for (int i = 0; i < st->nsets; i++) {
        if (st->sets[i].kind == SETK_SYSVAR &&
            var_is_shared(st->sets[i].name)) {
            char vn[80];
            return refuse(g, ER_SPECIFIC_ACCESS_DENIED,
                          "myshard: SET %s changes how the server logs or "
                          "replicates writes for the shared backend account "
                          "and is refused",
                          name_of(g->mode, st->sets[i].name, vn, sizeof(vn)));
        }
    }
    if ((st->flags & SQLF_LOAD_FILE) ||
        (!st->all_read && has_word(st, "LOAD_FILE")))
        return refuse(g, ER_SPECIFIC_ACCESS_DENIED,
                      "myshard: LOAD_FILE() reads files on the server and is "
                      "refused through the proxy");
    switch (st->kind) {
    case STMT_ADMIN:
        why = "account, privilege and server administration statements "
              "(users, roles, passwords, GRANT, REVOKE, SHUTDOWN, "
              "replication, plugins) act for every client of the shared "
              "backend account";
        break;
    case STMT_FLUSH:
        why = "FLUSH acts on the whole server";
        break;
    case STMT_XA:
        why = "the proxy owns XA (it runs transactions that span shards); "
              "client-issued XA statements";
        break;
    case STMT_LOAD_DATA:
        if (!(st->flags & SQLF_LOCAL))
            why = "LOAD DATA INFILE reads files on the server (use LOAD "
                  "DATA LOCAL INFILE to send the client's file)";
        break;
    case STMT_KILL:
        if (!parse_id(st->object, &id) || id != g->s->id)
            return refuse(g, ER_KILL_DENIED_ERROR,
                          "myshard: KILL names a connection that is not "
                          "this client's own: the proxy answers KILL only "
                          "for the client's own id (CONNECTION_ID()); an "
                          "operator can close other clients with the admin "
                          "console's KILL CLIENT");
        if (!g->single || g->depth > 0 || g->prepared)
            return refuse(g, ER_NOT_SUPPORTED_YET,
                          "myshard: send KILL alone, not in a batch or a "
                          "prepared statement");
        g->answer = (st->flags & SQLF_KILL_QUERY) ? ANSWER_KILL_QUERY
                                                  : ANSWER_KILL_SELF;
        return true;
    case STMT_SHOW:
        if (st->show.obj == SHOW_PROCESSLIST) {
            if (!g->single || g->depth > 0 || g->prepared)
                return refuse(g, ER_NOT_SUPPORTED_YET,
                              "myshard: send SHOW PROCESSLIST alone, not in "
                              "a batch or a prepared statement");
            g->answer = ANSWER_PROCESSLIST;
            return true;
        }
        if (show_is_shared(st))
            why = "this SHOW describes the whole server (other clients' "
                  "statements, replication, routines of every schema)";
        break;
    case STMT_EXECUTE:
        if (span_is(st->object, "IMMEDIATE"))
            return refuse(g, ER_NOT_SUPPORTED_YET,
                          "myshard: EXECUTE IMMEDIATE cannot be checked by "
                          "the proxy; send the statement itself");
        break;
    default:
        break;
    }
    if (why == NULL && (st->flags & SQLF_INTO_FILE))
        why = "SELECT ... INTO OUTFILE/DUMPFILE writes files on the server";
    if (why == NULL && (st->flags & SQLF_COMPOUND) && !body_is_safe(st))
        why = "this routine, trigger, event or compound statement holds "
              "statements that would act for every client of the shared "
              "backend account (GRANT, KILL, SET GLOBAL, dynamic SQL, ...)";
    if (why != NULL)
        return refuse(g, ER_SPECIFIC_ACCESS_DENIED,
                      "myshard: %s; refused through the proxy", why);
    return true;
}

/* ---- policies ------------------------------------------------------- */

static bool
check_policy(struct gate *g, const char *sql, size_t len, uint64_t shape,
             bool lex_error)
{
    const struct cfg_policy *p =
        protect_match_shape(&g->s->wc->policy_memo, g->c, g->s->user, sql, len,
                            g->mode, lex_error, shape);

    if (p == NULL || p->deny == NULL)
        return true;
    g->denied = p;
    return refuse(g, ER_SPECIFIC_ACCESS_DENIED, "myshard: denied by policy: %s",
                  p->deny);
}

/* ---- one statement --------------------------------------------------- */

static bool
check_prepare_text(struct gate *g, const struct stmt_info *st)
{
    char *text;
    size_t n;
    struct stmt_info *inner;
    bool ok;

    if (st->text.len == 0 || st->text.p[0] == '@')
        return refuse(g, ER_NOT_SUPPORTED_YET,
                      "myshard: PREPARE ... FROM @variable cannot be checked "
                      "by the proxy; use PREPARE ... FROM 'text' or the "
                      "binary protocol");
    if (g->depth >= GATE_MAX_DEPTH)
        return refuse(g, ER_NOT_SUPPORTED_YET,
                      "myshard: statements nest too deep to be checked");
    text = xmalloc(st->text.len + 1);
    n = lexer_unquote(st->text.p, st->text.len, st->mode, text,
                      st->text.len + 1);
    inner = xmalloc(sizeof(*inner));
    g->depth++;
    ok = check_text(g, text, MIN(n, st->text.len), inner);
    g->depth--;
    free(inner);
    free(text);
    return ok;
}

static bool check_text(struct gate *g, const char *sql, size_t len,
                       struct stmt_info *st);

/* A LOCK TABLES naming more tables than a statement's list keeps (what
 * mariadb-dump sends for a schema of many tables): each item checked as a
 * LOCK TABLES of its own, then the whole against the policies. */
static bool
check_lock_items(struct gate *g, const struct stmt_info *st)
{
    size_t cap = 4096, n;
    struct sql_span *items = xmalloc(cap * sizeof(*items));
    struct stmt_info *one = xmalloc(sizeof(*one));
    char *text = NULL;
    bool splittable, ok;

    n = sql_lock_items(st, items, cap, &splittable);
    ok = n > 0 && splittable;
    if (!ok)
        refuse(g, ER_NOT_SUPPORTED_YET,
               "myshard: this LOCK TABLES names more tables than the proxy "
               "can check at once and cannot be read table by table; write "
               "its list in plain text");
    g->depth++;
    for (size_t i = 0; ok && i < n; i++) {
        text = xrealloc(text, items[i].len + 12);
        memcpy(text, "LOCK TABLES", 11);
        memcpy(text + 11, items[i].p, items[i].len);
        ok = check_text(g, text, items[i].len + 11, one);
    }
    g->depth--;
    free(text);
    free(one);
    free(items);
    return ok && check_policy(g, st->sql, st->stmt_len, st->shape, false);
}

static bool
check_stmt(struct gate *g, const struct stmt_info *st)
{
    if (st->lex_error)
        return check_policy(g, st->sql, st->stmt_len, 0, true) &&
               refuse(g, ER_PARSE_ERROR,
                      "myshard: the statement does not lex to its end (an "
                      "unterminated string, quoted name or comment), so the "
                      "proxy cannot check it");
    if (st->overflow && st->kind == STMT_LOCK_TABLES && g->depth == 0)
        return check_lock_items(g, st);
    if (st->overflow)
        return refuse(g, ER_NOT_SUPPORTED_YET,
                      "myshard: the statement names more tables (%d) or "
                      "nests deeper than the proxy can check; split it",
                      SQL_MAX_TABLES);
    if (!check_read_only(g, st) || !check_shared(g, st) ||
        !check_tables(g, st) || !check_qualifiers(g, st))
        return false;
    if (!check_policy(g, st->sql, st->stmt_len, st->shape, false))
        return false;
    if (st->inner.len > 0 &&
        !check_policy(g, st->inner.p, st->inner.len, 0, false))
        return false;
    if (st->kind == STMT_PREPARE && !check_prepare_text(g, st))
        return false;
    return true;
}

static bool
is_blank_or_semi(char c)
{
    return c == ';' || c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Every statement of sql[0..len), one at a time; st is scratch (or holds
 * the first statement's classification already when it is the text of
 * the command and g->single). */
static bool
check_text(struct gate *g, const char *sql, size_t len, struct stmt_info *st)
{
    size_t off = 0;

    if (g->depth > 0 || !g->single)
        sql_classify(sql, len, g->mode, st);
    for (;;) {
        if (!check_stmt(g, st))
            return false;
        if (!st->multi)
            return true;
        off += st->stmt_len;
        while (off < len && is_blank_or_semi(sql[off]))
            off++;
        if (off >= len)
            return true;
        sql_classify(sql + off, len - off, g->mode, st);
    }
}

/* ---- answers -------------------------------------------------------- */

static void
answer_processlist(struct session *s, bool full)
{
    const struct cfg *c = s->wc->cfg;
    static const char *const names[] = {"Id",    "User",    "Host",
                                        "db",    "Command", "Time",
                                        "State", "Info",    "Progress"};
    struct rs_writer w;
    char id[16];
    const char *v[9];

    snprintf(id, sizeof(id), "%u", s->id);
    v[0] = id;
    v[1] = c->users[s->user].name;
    v[2] = s->addr;
    v[3] = s->schema >= 0 ? c->schemas[s->schema].name : NULL;
    v[4] = "Query";
    v[5] = "0";
    v[6] = "";
    v[7] = full ? "SHOW FULL PROCESSLIST" : "SHOW PROCESSLIST";
    v[8] = "0.000";
    rs_begin(&w, s->conn->out, s->seq, false, s->status);
    rs_columns_text(&w, names, 9);
    rs_row(&w, v, NULL);
    rs_end(&w);
    s->seq = w.seq;
}

enum gate_verdict
gate_check(struct session *s, const char *sql, size_t len, struct stmt_info *st,
           bool prepared, bool filtered)
{
    struct gate gs, *g = &gs;
    enum gate_verdict v = GATE_PASS;

    if (s->user < 0)
        return GATE_PASS;
    memset(g, 0, offsetof(struct gate, wrap)); /* wrap: only nwrap used */
    g->s = s;
    g->c = s->wc->cfg;
    g->u = &g->c->users[s->user];
    g->prepared = prepared;
    g->filtered = filtered;
    /* st is the first statement when the text is one; for a batch the
     * caller's classification may have stopped at a later statement */
    g->single = st->sql == sql && !st->multi;
    g->mode = st->mode; /* the caller classified it under the right one */
    if (!check_text(g, sql, len, st)) {
        if (g->denied != NULL)
            STATS_ADD(&s->wc->stats, denied_total, 1);
        char esc[ESCAPE_BUF]; /* the message quotes client text */
        log_info("statement refused by the gate client=%u user=%s code=%u "
                 "why=\"%s\"",
                 s->id, g->u->name, g->code,
                 escape_log_str(g->msg, esc, sizeof(esc)));
        s->tracks_vars = false;
        sessvars_clear(&s->pending);
        session_send_error(s, g->code, g->sqlstate, "%s", g->msg);
        session_command_done(s);
        return GATE_DONE;
    }
    if (g->nwrap > 0) {
        size_t n;
        /* the select list is known when the text is this one statement */
        bool items = g->single && st->kind == STMT_SELECT;
        char *text = infoschema_filter(sql, len, g->mode, g->wrap, g->nwrap,
                                       items ? st->items : NULL,
                                       items ? st->nitems : 0, g->c, g->u, &n);
        uint8_t *cmd = xmalloc(n + 1);
        cmd[0] = s->cmd_byte;
        memcpy(cmd + 1, text, n);
        free(text);
        packet_consume(s->conn->in, &s->cmd);
        s->cmd.data = cmd;
        s->cmd.len = n + 1;
        s->cmd.heap = true;
        v = GATE_REWRITTEN;
    }
    switch (g->answer) {
    case ANSWER_PROCESSLIST:
        answer_processlist(s, st->show.full);
        session_command_done(s);
        v = GATE_DONE;
        break;
    case ANSWER_KILL_QUERY:
        session_send_ok(s, 0, NULL);
        session_command_done(s);
        v = GATE_DONE;
        break;
    case ANSWER_KILL_SELF:
        session_send_error(s, ER_CONNECTION_KILLED, "70100",
                           "myshard: connection killed at its own request");
        session_close(s, "KILL of its own connection");
        v = GATE_DONE;
        break;
    case ANSWER_NONE:
        break;
    }
    return v;
}
