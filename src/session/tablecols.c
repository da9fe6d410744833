/*
 * tablecols.c - see tablecols.h. Owns the worker's reference to the
 * columns snapshot (swapped between statements when a newer one is
 * published: no lock on the way) and the session's wait for a refresh,
 * which is a timer that dispatches the command again (protect_retry_in).
 */
#include "session/tablecols.h"

#include <stdlib.h>
#include <string.h>

#include "backend/tablemeta.h"
#include "base/clock.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "proto/mysql_defs.h"
#include "route/router.h"
#include "session/protect.h"
#include "session/session.h"
#include "sql/classify_types.h"
#include "sql/lexer.h"
#include "sql/predicates.h"

/* How often a waiting statement looks again. */
#define POLL_US 2000
/* A table missing or unreadable at its last read is read again for a
 * statement that needs it when that read is older than this. */
#define RETRY_MS 300

static struct tm_snap *
worker_snap(struct wctx *wc)
{
    uint64_t g = tablemeta_gen(wc->tmeta);

    if (wc->tmeta != NULL && (wc->tm_snap == NULL || wc->tm_snap->gen != g)) {
        tablemeta_put(wc->tm_snap);
        wc->tm_snap = tablemeta_get(wc->tmeta);
    }
    return wc->tm_snap;
}

void
tablecols_worker_free(struct wctx *wc)
{
    tablemeta_put(wc->tm_snap);
    wc->tm_snap = NULL;
}

static bool
columns_cb(const void *arg, const char *schema, const char *table,
           struct route_tcols *out)
{
    const struct tm_table *t = tm_snap_find(arg, schema, table);

    memset(out, 0, sizeof(*out));
    if (t == NULL) {
        out->why = "the table is not listed in myshard.yaml";
        return false;
    }
    switch (t->state) {
    case TM_LOADING:
        out->why = "not read from the shards yet";
        return false;
    case TM_MISSING:
    case TM_ERROR:
        out->why = t->why;
        return false;
    case TM_OK:
        break;
    }
    out->ncols = t->nrow;
    out->names = t->row;
    return true;
}

void
tablecols_ctx_snap(struct tm_snap *snap, struct route_ctx *ctx)
{
    if (snap == NULL)
        return;
    ctx->columns = columns_cb;
    ctx->columns_arg = snap;
}

void
tablecols_ctx(struct session *s, struct route_ctx *ctx)
{
    tablecols_ctx_snap(worker_snap(s->wc), ctx);
}

/* The config schema name and the table name of table reference t: false
 * when the schema is not a configured one. */
static bool
table_names(const struct session *s, const struct stmt_info *st,
            const struct sql_table *t, char *schema, char *name)
{
    const struct cfg *c = s->wc->cfg;
    size_t n;
    int si = s->schema;

    if (t->name.len == 0 || (t->flags & (TBLF_DERIVED | TBLF_CTE)))
        return false;
    if (t->schema.len > 0) {
        n = lexer_unquote(t->schema.p, t->schema.len, st->mode, schema, 65);
        si = cfg_find_schema(c, schema, MIN(n, 64));
    }
    if (si < 0 || si >= c->nschemas)
        return false;
    snprintf(schema, 65, "%s", c->schemas[si].name);
    n = lexer_unquote(t->name.p, t->name.len, st->mode, name, 65);
    name[MIN(n, 64)] = '\0';
    return true;
}

static bool
has_column(const struct tm_table *t, const struct sql_span col)
{
    for (int i = 0; i < t->ncols; i++)
        if (lexer_ident_eq(col.p, col.len, t->cols[i].name,
                           strlen(t->cols[i].name)))
            return true;
    return false;
}

/* Should this positional INSERT have its table read again first? */
static bool
must_force(const struct stmt_info *st, const struct tm_table *t, int64_t now)
{
    struct sql_rows_iter it;
    struct sql_row row;

    if (t->state == TM_MISSING || t->state == TM_ERROR)
        return now - t->read_ms >= RETRY_MS;
    if (t->state != TM_OK || st->insert.form != INSERT_VALUES)
        return false;
    sql_rows_begin(&it, st);
    return sql_rows_next(&it, &row) && !row.truncated && row.nvalues != t->nrow;
}

static bool wait_more(struct session *s, const char *schema, const char *name);

bool
tablecols_wait(struct session *s, const struct stmt_info *st)
{
    struct wctx *wc = s->wc;
    const struct sql_table *target = NULL;
    const struct tm_table *t;
    char schema[65], name[65];
    bool positional, need;
    int64_t now;

    if ((st->kind != STMT_INSERT && st->kind != STMT_REPLACE) ||
        wc->tmeta == NULL)
        return false;
    for (int i = 0; i < st->ntables && target == NULL; i++)
        if (st->tables[i].flags & TBLF_WRITE)
            target = &st->tables[i];
    if (target == NULL || !table_names(s, st, target, schema, name))
        return false;
    t = tm_snap_find(worker_snap(wc), schema, name);
    positional =
        st->insert.ncols == 0 && st->ncols == 0 &&
        (st->insert.form == INSERT_VALUES || st->insert.form == INSERT_SELECT);
    if (t == NULL) {
        /* listed by a reload the metadata thread has not taken yet */
        int si = cfg_find_schema(wc->cfg, schema, strlen(schema));
        if (!positional || si < 0 ||
            cfg_find_table(&wc->cfg->schemas[si], name, strlen(name)) == NULL)
            return false;
        return wait_more(s, schema, name);
    }
    if (!positional) {
        /* A column the table did not have: it changed behind us (at most
         * one read per RETRY_MS, whatever a client sends). */
        if (t->state != TM_OK || clock_ms() - t->read_ms < RETRY_MS ||
            tablemeta_stale(wc->tmeta, t))
            return false;
        for (int c = 0; c < st->ncols; c++)
            if (!has_column(t, st->cols[c].column)) {
                tablemeta_invalidate(wc->tmeta, schema, name);
                break;
            }
        return false;
    }
    now = clock_ms();
    need = t->state == TM_LOADING || tablemeta_stale(wc->tmeta, t);
    if (!need && !s->tc_forced && must_force(st, t, now)) {
        tablemeta_invalidate(wc->tmeta, schema, name);
        s->tc_forced = true;
        need = true;
    }
    if (!need) {
        s->tc_until_ms = 0;
        return false;
    }
    return wait_more(s, schema, name);
}

/* Waits another poll for the table's columns, or answers after
 * TABLECOLS_WAIT_MS. Always true (the command is held or answered). */
static bool
wait_more(struct session *s, const char *schema, const char *name)
{
    int64_t now = clock_ms();

    if (s->tc_until_ms == 0) {
        s->tc_until_ms = now + TABLECOLS_WAIT_MS;
    } else if (now >= s->tc_until_ms) {
        log_warn("table columns not read in time client=%u schema=%s "
                 "table=%s wait_ms=%d",
                 s->id, schema, name, TABLECOLS_WAIT_MS);
        s->tc_until_ms = 0;
        session_send_error(s, ER_UNKNOWN_ERROR, "HY000",
                           "myshard: the columns of table '%s.%s' are being "
                           "read again after a change and did not arrive "
                           "within %d ms; retry the statement, or list the "
                           "columns",
                           schema, name, TABLECOLS_WAIT_MS);
        session_command_done(s);
        return true;
    }
    protect_retry_in(s, POLL_US);
    return true;
}

void
tablecols_note_ddl(struct session *s, const struct stmt_info *st)
{
    size_t len = 0;
    char *list = NULL;

    if (st->kind != STMT_DDL || st->ddl_object != DDLO_TABLE ||
        (st->ddl_verb != DDL_CREATE && st->ddl_verb != DDL_ALTER &&
         st->ddl_verb != DDL_DROP && st->ddl_verb != DDL_RENAME) ||
        s->wc->tmeta == NULL)
        return;
    for (int i = 0; i < st->ntables; i++) {
        char schema[65], name[65];
        size_t a, b;
        if (st->tables[i].flags & TBLF_TEMP ||
            !table_names(s, st, &st->tables[i], schema, name))
            continue;
        a = strlen(schema) + 1;
        b = strlen(name) + 1;
        list = xrealloc(list, len + a + b + 1);
        memcpy(list + len, schema, a);
        memcpy(list + len + a, name, b);
        len += a + b;
        list[len] = '\0';
    }
    free(s->tc_ddl);
    s->tc_ddl = list;
}

void
tablecols_command_end(struct session *s)
{
    s->tc_until_ms = 0;
    s->tc_forced = false;
    if (s->tc_ddl == NULL)
        return;
    for (const char *p = s->tc_ddl; *p;) {
        const char *name = p + strlen(p) + 1;
        tablemeta_invalidate(s->wc->tmeta, p, name);
        p = name + strlen(name) + 1;
    }
    free(s->tc_ddl);
    s->tc_ddl = NULL;
}
