/*
 * schema.c - see schema.h. Clients name schemas as the config does; a name
 * the proxy does not serve and a name the user may not use get one refusal
 * each, whatever path asked (USE, COM_INIT_DB, login, COM_CHANGE_USER).
 */
#include "session/schema.h"

#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "proto/mysql_defs.h"
#include "session/session.h"
#include "net/conn.h"
#include "proto/packet.h"
#include "sql/classify.h"
#include "sql/rewrite.h"

int
schema_find(const struct session *s, int user, const char *name, size_t len,
            int *code)
{
    const struct cfg *c = s->wc->cfg;
    const struct cfg_user *u = &c->users[user];
    int si = cfg_find_schema(c, name, len);

    if (si < 0) {
        *code = ER_BAD_DB_ERROR;
        return -1;
    }
    for (int i = 0; i < u->nschemas; i++)
        if (strcmp(u->schemas[i], c->schemas[si].name) == 0)
            return si;
    *code = ER_DBACCESS_DENIED_ERROR;
    return -1;
}

void
schema_send_refusal(struct session *s, int user, const char *name, size_t len,
                    int code)
{
    if (code == ER_BAD_DB_ERROR) {
        session_send_error(s, ER_BAD_DB_ERROR, "42000",
                           "myshard: unknown database '%.*s'; the proxy "
                           "serves the schemas in its config",
                           (int)MIN(len, 64), name);
        return;
    }
    session_send_error(s, ER_DBACCESS_DENIED_ERROR, "42000",
                       "myshard: access denied for user '%s' to database "
                       "'%.*s'; add it to the user's schemas",
                       s->wc->cfg->users[user].name, (int)MIN(len, 64), name);
}

void
schema_use(struct session *s, const char *name, size_t len)
{
    int code = 0;
    int si = schema_find(s, s->user, name, len, &code);

    if (si < 0) {
        schema_send_refusal(s, s->user, name, len, code);
        return;
    }
    s->schema = si;
    session_send_ok(s, 0, NULL);
}

bool
schema_refuse_unqualified(struct session *s, const struct stmt_info *st)
{
    if (s->schema >= 0)
        return false;
    for (int i = 0; i < st->ntables; i++) {
        const struct sql_table *t = &st->tables[i];
        if (t->schema.len > 0 || (t->flags & (TBLF_DERIVED | TBLF_CTE)))
            continue;
        s->tracks_vars = false;
        sessvars_clear(&s->pending);
        session_send_error(s, ER_NO_DB_ERROR, "3D000",
                           "myshard: no database selected (a reload of the "
                           "config removed this session's database or the "
                           "user's access to it); USE one that SHOW "
                           "DATABASES lists, or qualify the table");
        session_command_done(s);
        return true;
    }
    return false;
}

int
schema_default_shard(const struct session *s)
{
    const struct cfg *c = s->wc->cfg;

    if (s->schema >= 0)
        return c->schemas[s->schema].default_shard;
    return c->nschemas > 0 ? c->schemas[0].default_shard : 0;
}

/* Qualified names, and DATABASE() while the current schema is renamed, are
 * rewritten. */
bool
schema_rewrite_text(struct session *s, const char *sql, size_t len, char **out,
                    size_t *out_len)
{
    const struct cfg *c = s->wc->cfg;
    char *o = NULL, *o2;
    size_t n = 0;

    if (s->wc->nrenames == 0)
        return false;
    if (rewrite_schema_names(sql, len, s->lex, s->wc->renames, s->wc->nrenames,
                             &o, &n)) {
        sql = o;
        len = n;
    }
    if (s->schema >= 0 &&
        strcmp(c->schemas[s->schema].name,
               c->schemas[s->schema].backend_schema) != 0 &&
        rewrite_current_schema(sql, len, s->lex, c->schemas[s->schema].name,
                               &o2, &n)) {
        free(o);
        o = o2;
    }
    if (o == NULL)
        return false;
    *out = o;
    *out_len = n;
    return true;
}

/* A new command with the same first byte replaces the client's. */
void
schema_rewrite_command(struct session *s)
{
    char *out;
    size_t n;
    uint8_t *cmd;

    if (!schema_rewrite_text(s, (const char *)s->cmd.data + 1, s->cmd.len - 1,
                             &out, &n))
        return;
    cmd = xmalloc(n + 1);
    cmd[0] = s->cmd_byte;
    memcpy(cmd + 1, out, n);
    free(out);
    packet_consume(s->conn->in, &s->cmd);
    s->cmd.data = cmd;
    s->cmd.len = n + 1;
    s->cmd.heap = true;
}
