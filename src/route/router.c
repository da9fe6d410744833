/*
 * router.c - router_route(): the pure function from (config, classified
 * statement, session facts) to a route plan. This file owns the entry and
 * what every statement goes through: the plan's reset and buffer, hints,
 * the role, and the statement kinds that need no rewriting (DDL, SHOW,
 * DESCRIBE, EXPLAIN, multi-statement batches, everything answered by the
 * default shard). Tables and co-location live in route_tables.c, key values
 * in route_keys.c, SELECT merges in route_select.c (text edits in
 * rewrite_plan.c), INSERT/UPDATE/DELETE in route_write.c (INSERT ... SELECT
 * in route_insert_select.c), the plan's text in route_format.c. The only
 * session fact besides the context's scalars is a table's columns
 * (route_ctx.columns), for positional INSERTs.
 *
 * Choices where PRODUCT.md is silent (more at the head of each file):
 *  - The shards of a schema are the union of the shards of every rule its
 *    tables use, plus its default_shard. Global tables live there: writes
 *    go to all of them (replicated = true: the copies answer alike, report
 *    the first OK), reads to the default shard, which always holds a copy.
 *  - An unlisted table joined with a sharded one is allowed only when the
 *    sharded tables' key maps to the default shard alone; else 1235.
 *  - Tables of schemas the config does not know (information_schema,
 *    mysql, ...) exist on every server: they never restrict a route.
 *  - No schema selected and none named: the first schema's default shard.
 *  - A key that maps to no shard (a range gap, `key = NULL`) matches no
 *    row: the statement goes to one shard of the rule, which answers it
 *    empty.
 *  - Roles: SELECT, SHOW and EXPLAIN read (ROLE_READ) unless locking (FOR
 *    UPDATE/SHARE), calling lock functions, LAST_INSERT_ID()/FOUND_ROWS(),
 *    INTO, or inside a transaction; the replica hint is obeyed outside
 *    transactions and never for writes.
 *  - DDL of several tables goes to the union of their shards. CREATE ...
 *    LIKE needs the model table on every target; CREATE ... AS SELECT and
 *    views need the rows they read there (a sharded table only under an
 *    object sharded by the same rule). CREATE/DROP DATABASE: 1235, but
 *    CREATE DATABASE IF NOT EXISTS of a configured schema is a no-op.
 *  - SHOW CREATE TABLE, SHOW COLUMNS/INDEX and DESCRIBE of a sharded table
 *    go to the first shard of its rule; SHOW TABLES, SHOW TABLE STATUS and
 *    other SHOWs to the default shard (of the schema named in FROM, if
 *    any): it shows the tables it holds.
 *  - EXPLAIN shows the plan of one target (the first the statement would
 *    reach); ANALYZE of a write reaching several shards: 1235.
 *  - A batch of statements (multi-statements) is routed only when none
 *    touches a sharded or global table and all share one default shard.
 *  - LOCK TABLES: every shard holding one of its tables, each with its own
 *    list (route_lock.c); UNLOCK TABLES: every shard the session locked.
 *  - LOAD DATA and HANDLER on sharded or global tables: 1235.
 *  - Statements the session answers itself (SET, USE, BEGIN, ...) and
 *    CALL, KILL, FLUSH, GRANT ... get a plan for the default shard, role
 *    primary.
 *  - A statement that did not lex (unterminated string or comment) goes
 *    whole to the default shard, which refuses it: never split or narrowed
 *    by what could not be read.
 *  - When the classifier dropped something that could hide a table, an
 *    item or an assignment (stmt_info.overflow): 1235, route it by hint.
 */
#include "route/router.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "route_internal.h"
#include "sql/classify.h"
#include "sql/lexer.h"
#include "sql/predicates.h"

_Static_assert(CFG_MAX_SHARDS <= ROUTE_MAX_SHARDS,
               "a plan must be able to name every shard a config lists");

/* ------------------------------------------------------------------ */
/* plan, buffer, small helpers                                          */
/* ------------------------------------------------------------------ */

void
route_plan_init(struct route_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    plan->table_rule = -1;
    plan->moving_rule = -1;
    plan->kind = "";
}

void
route_plan_free(struct route_plan *plan)
{
    free(plan->buf);
    free(plan->scratch);
    free(plan->pmap);
    plan->pmap = NULL;
    plan->pmap_cap = 0;
    plan->buf = NULL;
    plan->buf_len = plan->buf_cap = 0;
    plan->scratch = NULL;
    plan->scratch_cap = 0;
}

static void
plan_reset(struct route_plan *p)
{
    p->action = ROUTE_FORWARD;
    p->role = ROLE_PRIMARY;
    p->err_code = 0;
    p->err_msg[0] = '\0';
    p->ntargets = 0;
    p->scatter = false;
    p->merge = false;
    p->sum_affected = false;
    if (p->ms_used) { /* a few KB: cleared only when written */
        memset(&p->ms, 0, sizeof(p->ms));
        p->ms_used = false;
    }
    p->kind = "";
    p->table_rule = -1;
    p->tables[0] = '\0';
    p->keys[0] = '\0';
    p->buf_len = 0;
    p->replicated = false;
    p->needs_params = false;
    p->lock_mask = 0;
    p->renumbered = false;
}

void
rt_buf_reserve(struct route_plan *plan, size_t more)
{
    size_t cap = plan->buf_cap ? plan->buf_cap : 256;

    if (plan->buf_len + more <= plan->buf_cap)
        return;
    while (cap < plan->buf_len + more)
        cap *= 2;
    plan->buf = xrealloc(plan->buf, cap);
    plan->buf_cap = cap;
}

size_t
rt_buf_put(struct route_plan *plan, const char *s, size_t len)
{
    size_t at;

    rt_buf_reserve(plan, len);
    at = plan->buf_len;
    if (len > 0)
        memcpy(plan->buf + at, s, len);
    plan->buf_len += len;
    return at;
}

void
rt_refuse(struct rt *r, uint16_t code, const char *fmt, ...)
{
    struct route_plan *p = r->plan;
    va_list ap;

    if (r->refused)
        return;
    r->refused = true;
    p->action = ROUTE_REFUSE;
    p->err_code = code;
    va_start(ap, fmt);
    vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
    va_end(ap);
    p->ntargets = 0;
    p->merge = false;
    p->sum_affected = false;
    p->replicated = false;
    p->scatter = false;
}

uint64_t
rt_shard_bit(int shard)
{
    return shard >= 0 && shard < ROUTE_MAX_SHARDS ? 1ull << shard : 0;
}

int
rt_first_shard(uint64_t mask)
{
    return mask ? __builtin_ctzll(mask) : -1;
}

int
rt_mask_count(uint64_t mask)
{
    return __builtin_popcountll(mask);
}

int
rt_default_shard(const struct rt *r, int schema)
{
    if (schema < 0 || schema >= r->cfg->nschemas)
        schema = r->schema;
    if (schema < 0 || schema >= r->cfg->nschemas)
        return 0;
    return r->cfg->schemas[schema].default_shard;
}

uint64_t
rt_schema_shards(const struct rt *r, int schema)
{
    const struct cfg_schema *s;
    uint64_t m;

    if (schema < 0 || schema >= r->cfg->nschemas)
        return rt_shard_bit(rt_default_shard(r, schema));
    s = &r->cfg->schemas[schema];
    m = rt_shard_bit(s->default_shard);
    for (int i = 0; i < s->ntables; i++)
        if (!s->tables[i].global && s->tables[i].rule >= 0)
            m |= placement_rule_mask(&r->cfg->rules[s->tables[i].rule]);
    return m;
}

void
rt_set_targets(struct rt *r, uint64_t mask, const char *sql, size_t len)
{
    struct route_plan *p = r->plan;

    p->ntargets = 0;
    while (mask != 0 && p->ntargets < ROUTE_MAX_SHARDS) {
        int s = __builtin_ctzll(mask);
        mask &= mask - 1;
        p->targets[p->ntargets].shard = s;
        p->targets[p->ntargets].sql = sql;
        p->targets[p->ntargets].len = len;
        p->ntargets++;
    }
}

/* Appends to a fixed text field, cutting with "..." when full. */
size_t
rt_field_put(char *f, size_t cap, size_t used, const char *s, size_t len)
{
    if (used >= cap - 1)
        return used;
    if (used + len >= cap - 1) {
        size_t room = cap - 1 - used;
        memcpy(f + used, s, room);
        used += room;
        if (cap > 4)
            memcpy(f + cap - 4, "...", 3);
        f[used] = '\0';
        return used;
    }
    memcpy(f + used, s, len);
    used += len;
    f[used] = '\0';
    return used;
}

void
rt_keys_add(struct rt *r, const char *s, size_t len)
{
    r->keys_len =
        rt_field_put(r->plan->keys, sizeof(r->plan->keys), r->keys_len, s, len);
}

void
rt_keys_value(struct rt *r, const struct sql_value *v,
              const struct route_key *key, enum rt_keyval kv)
{
    char num[24];
    size_t n;

    if (v->type != VAL_PARAM || kv == KV_PARAM_MISSING) {
        if (v->type == VAL_PARAM) {
            n = (size_t)snprintf(num, sizeof(num), "?%u", v->param);
            rt_keys_add(r, num, n);
            return;
        }
        if (v->negative)
            rt_keys_add(r, "-", 1);
        rt_keys_add(r, v->text.p, v->text.len);
        return;
    }
    if (kv != KV_OK || key->is_null) {
        rt_keys_add(r, "NULL", 4);
    } else if (key->is_int) {
        n = placement_int_text(key->i, num);
        rt_keys_add(r, num, n);
    } else {
        rt_keys_add(r, "'", 1);
        rt_keys_add(r, key->s, key->len > 32 ? 32 : key->len);
        rt_keys_add(r, "'", 1);
    }
}

static const char *
kind_text(unsigned kind)
{
    static const char *const names[STMT__COUNT] = {
        [STMT_EMPTY] = "empty",
        [STMT_SELECT] = "select",
        [STMT_INSERT] = "insert",
        [STMT_REPLACE] = "replace",
        [STMT_UPDATE] = "update",
        [STMT_DELETE] = "delete",
        [STMT_SET] = "set",
        [STMT_USE] = "use",
        [STMT_SHOW] = "show",
        [STMT_BEGIN] = "begin",
        [STMT_COMMIT] = "commit",
        [STMT_ROLLBACK] = "rollback",
        [STMT_SAVEPOINT] = "savepoint",
        [STMT_RELEASE_SAVEPOINT] = "release_savepoint",
        [STMT_XA] = "xa",
        [STMT_DDL] = "ddl",
        [STMT_CALL] = "call",
        [STMT_PREPARE] = "prepare",
        [STMT_EXECUTE] = "execute",
        [STMT_DEALLOCATE] = "deallocate",
        [STMT_LOCK_TABLES] = "lock_tables",
        [STMT_UNLOCK_TABLES] = "unlock_tables",
        [STMT_EXPLAIN] = "explain",
        [STMT_DO] = "do",
        [STMT_HANDLER] = "handler",
        [STMT_LOAD_DATA] = "load_data",
        [STMT_KILL] = "kill",
        [STMT_FLUSH] = "flush",
        [STMT_ADMIN] = "admin",
        [STMT_OTHER] = "other",
    };
    return kind < STMT__COUNT && names[kind] ? names[kind] : "other";
}

bool
rt_span_has_param(struct lex_mode m, struct sql_span s)
{
    struct lexer lx;
    struct token t;

    if (s.len == 0 || memchr(s.p, '?', s.len) == NULL)
        return false;
    lexer_init(&lx, s.p, s.len, m);
    while (lexer_next(&lx, &t))
        if (t.type == TOK_PARAM)
            return true;
    return false;
}

uint32_t
rt_params_before(const struct stmt_info *st, const char *at)
{
    struct lexer lx;
    struct token t;
    uint32_t n = 0;

    lexer_init(&lx, st->sql, st->len, st->mode);
    while (lexer_next(&lx, &t) && t.p < at)
        if (t.type == TOK_PARAM)
            n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* statement kinds without rewriting                                    */
/* ------------------------------------------------------------------ */

static void
route_default(struct rt *r, int schema)
{
    rt_set_targets(r, rt_shard_bit(rt_default_shard(r, schema)), r->st->sql,
                   r->st->len);
}

static void
route_plain(struct rt *r)
{
    if (!rt_route_tables(r))
        return;
    rt_set_targets(r, r->mask, r->st->sql, r->st->len);
    r->plan->scatter = r->scatter;
    if (r->plan->ntargets > 1 && !r->plan->replicated)
        r->plan->sum_affected = true;
}

static void
route_select(struct rt *r)
{
    if (!rt_route_tables(r))
        return;
    r->plan->scatter = r->scatter;
    if (rt_mask_count(r->mask) <= 1) {
        rt_set_targets(r, r->mask, r->st->sql, r->st->len);
        return;
    }
    rt_select_merge(r);
}

/* The schema a SHOW ... FROM db names, else the statement's. */
static int
show_schema(const struct rt *r)
{
    char name[65];
    size_t n;
    int s;

    if (r->st->schema.len == 0)
        return r->schema;
    n = rt_unquote_name(r->st->mode, r->st->schema, name, sizeof(name));
    s = cfg_find_schema(r->cfg, name, n);
    return s >= 0 ? s : r->schema;
}

static void
route_show(struct rt *r)
{
    const struct stmt_info *st = r->st;

    switch (st->show.obj) {
    case SHOW_CREATE_TABLE:
    case SHOW_COLUMNS:
    case SHOW_INDEX:
        if (r->ntab > 0) {
            rt_set_targets(r, rt_shard_bit(rt_table_holder(r, 0)), st->sql,
                           st->len);
            if (r->tab[0].cls == TC_SHARDED)
                r->plan->table_rule = r->tab[0].rule;
            return;
        }
        break;
    default:
        break;
    }
    route_default(r, show_schema(r));
}

static void
refuse_table_kind(struct rt *r, const char *what, const char *todo)
{
    for (int i = 0; i < r->ntab; i++) {
        const char *cls;
        if (r->tab[i].cls == TC_SHARDED)
            cls = "sharded";
        else if (r->tab[i].cls == TC_GLOBAL)
            cls = "global";
        else
            continue;
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: %s on %s table '%s' is not supported; %s", what,
                  cls, r->tab[i].name, todo);
        return;
    }
}

static void
route_unlisted_only(struct rt *r, const char *what, const char *todo)
{
    refuse_table_kind(r, what, todo);
    if (!r->refused)
        route_plain(r);
}

/* The table a DDL statement changes. */
static bool
ddl_object(const struct stmt_info *st, const struct rt_table *t)
{
    return st->ddl_verb == DDL_MAINT ? t->vblock == 0 && t->cls != TC_VIRTUAL
                                     : t->write;
}

/* DDL on a table of a rule that is being resharded is refused on every
 * path (hints included): the reshard copies the rows by the table's
 * definition and its catch-up stops at a DDL statement in the binlog. True
 * when refused. */
static bool
refuse_ddl_resharding(struct rt *r)
{
    const struct stmt_info *st = r->st;

    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        const struct cfg_rule *ru;
        const struct cfg_moving *mv;
        if (!ddl_object(st, t) || t->cls != TC_SHARDED)
            continue;
        ru = &r->cfg->rules[t->rule];
        mv = placement_marked(ru);
        if (!mv->active)
            continue;
        if (ru->moving.active)
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: table '%s' is being resharded (reshard %lld "
                      "of rule '%s'); run this %s %s once SHOW RESHARD says "
                      "done, or after RESHARD ABORT %lld",
                      t->name, (long long)mv->id, ru->name,
                      ddl_verb_name(st->ddl_verb),
                      ddl_object_name(st->ddl_object), (long long)mv->id);
        else
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: table '%s' is being resharded (reshard %lld "
                      "of rule '%s' deletes the moved rows from their old "
                      "shard); run this %s %s once SHOW RESHARD says done",
                      t->name, (long long)mv->id, ru->name,
                      ddl_verb_name(st->ddl_verb),
                      ddl_object_name(st->ddl_object));
        return true;
    }
    return false;
}

static void
route_ddl(struct rt *r)
{
    const struct stmt_info *st = r->st;
    uint64_t m = 0;
    bool any = false, all_global = true, maint = st->ddl_verb == DDL_MAINT;
    int rule = -2; /* the one rule of every object, -1 when mixed */

    if (st->ddl_object == DDLO_DATABASE && st->ddl_verb == DDL_CREATE &&
        (st->flags & SQLF_IF_NOT_EXISTS) && st->schema.len > 0) {
        /* CREATE DATABASE IF NOT EXISTS of a configured schema (the first
         * lines of mariadb-dump --databases): there already, nothing to
         * do; an OK from its default shard */
        char name[65];
        size_t n = rt_unquote_name(st->mode, st->schema, name, sizeof(name));
        int s = cfg_find_schema(r->cfg, name, n);
        if (s >= 0) {
            rt_set_targets(r, rt_shard_bit(rt_default_shard(r, s)), "DO 0", 4);
            return;
        }
    }
    if (st->ddl_object == DDLO_DATABASE) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: schemas are defined in myshard.yaml; create or "
                  "drop the database on each shard directly and list it "
                  "there");
        return;
    }
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        int tr = t->cls == TC_SHARDED ? t->rule : -1;
        if (!ddl_object(st, t))
            continue;
        any = true;
        m |= rt_table_shards(r, i);
        all_global &= t->cls == TC_GLOBAL;
        rule = rule == -2 || rule == tr ? tr : -1;
        if (tr >= 0 && r->plan->table_rule < 0)
            r->plan->table_rule = tr;
    }
    if (!any) {
        route_default(r, r->schema);
        return;
    }
    /* tables the statement reads: LIKE needs them to exist on every
     * target; AS SELECT and views need their rows there */
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        if (ddl_object(st, t) || t->cls == TC_VIRTUAL || t->cls == TC_EXTERNAL)
            continue;
        if (t->vblock == 0 && st->tables[i].block == 0) {
            if ((m & ~rt_table_shards(r, i)) == 0)
                continue;
        } else if (t->cls == TC_GLOBAL ||
                   (t->cls == TC_SHARDED && rule >= 0 && rule == t->rule) ||
                   (t->cls == TC_UNLISTED && m == rt_table_shards(r, i))) {
            continue;
        }
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: this %s %s reads '%s', which is not on every "
                  "shard it runs on; create the object with a shard hint "
                  "(/* myshard: shard=NAME */) on each shard, or list it "
                  "with the same rule",
                  ddl_verb_name(st->ddl_verb), ddl_object_name(st->ddl_object),
                  t->name);
        return;
    }
    rt_set_targets(r, m, st->sql, st->len);
    if (r->plan->ntargets > 1) {
        r->plan->replicated = all_global;
        r->plan->sum_affected = !all_global && !maint;
        r->plan->merge = maint;
    }
}

static void
route_explain(struct rt *r)
{
    const struct stmt_info *st = r->st;
    bool writes =
        st->inner_kind == STMT_INSERT || st->inner_kind == STMT_REPLACE ||
        st->inner_kind == STMT_UPDATE || st->inner_kind == STMT_DELETE;

    if ((st->flags & SQLF_DESCRIBE_TABLE) || st->inner_kind == STMT_EMPTY) {
        if (r->ntab > 0)
            rt_set_targets(r, rt_shard_bit(rt_table_holder(r, 0)), st->sql,
                           st->len);
        else
            route_default(r, r->schema);
        return;
    }
    if (st->inner_kind == STMT_INSERT || st->inner_kind == STMT_REPLACE)
        rt_route_insert(r, true);
    else if (!rt_route_tables(r))
        return;
    if (r->refused)
        return;
    if ((st->flags & SQLF_ANALYZE) && writes && rt_mask_count(r->mask) > 1) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: ANALYZE of a write across shards is not "
                  "supported; add the shard key to the WHERE clause");
        return;
    }
    /* one shard's plan stands for all */
    rt_set_targets(r, rt_shard_bit(rt_first_shard(r->mask)), st->sql, st->len);
}

/* A batch of statements: allowed when none touches a sharded or global
 * table and all of them go to one default shard. */
static void
route_multi(struct rt *r)
{
    const struct stmt_info *st = r->st;
    struct stmt_info *sub;
    int def = -1;
    size_t pos;

    for (int i = 0; i < r->ntab; i++) {
        if (r->tab[i].cls == TC_SHARDED || r->tab[i].cls == TC_GLOBAL) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: multi-statement batches that touch sharded "
                      "or global tables ('%s') are not supported; send the "
                      "statements one by one",
                      r->tab[i].name);
            return;
        }
        if (r->tab[i].cls == TC_UNLISTED && def < 0)
            def = rt_default_shard(r, r->tab[i].schema);
    }
    if (def < 0)
        def = rt_default_shard(r, r->schema);
    sub = xmalloc(sizeof(*sub));
    pos = st->stmt_len;
    while (pos < st->len && !r->refused) {
        if (st->sql[pos] == ';')
            pos++;
        if (pos >= st->len)
            break;
        sql_classify(st->sql + pos, st->len - pos, st->mode, sub);
        for (int i = 0; i < sub->ntables && !r->refused; i++) {
            struct rt_table x;
            rt_classify_table(r, &sub->tables[i], &x);
            if (x.cls == TC_SHARDED || x.cls == TC_GLOBAL)
                rt_refuse(r, ER_NOT_SUPPORTED_YET,
                          "myshard: multi-statement batches that touch "
                          "sharded or global tables ('%s') are not "
                          "supported; send the statements one by one",
                          x.name);
            else if (x.cls == TC_UNLISTED &&
                     rt_default_shard(r, x.schema) != def)
                rt_refuse(r, ER_NOT_SUPPORTED_YET,
                          "myshard: this multi-statement batch needs two "
                          "default shards ('%s' lives on '%s'); send the "
                          "statements one by one",
                          x.name,
                          r->cfg->shards[rt_default_shard(r, x.schema)].name);
        }
        if (sub->is_write)
            r->plan->role = ROLE_PRIMARY;
        if (!sub->multi || sub->stmt_len == 0)
            break;
        pos += sub->stmt_len;
    }
    free(sub);
    if (!r->refused)
        rt_set_targets(r, rt_shard_bit(def), st->sql, st->len);
}

static bool
route_hint(struct rt *r)
{
    const struct stmt_info *st = r->st;
    char name[65];
    size_t n, used = 0;
    char list[200];
    int s;

    if (st->hint.bad) {
        rt_refuse(r, ER_UNKNOWN_ERROR,
                  "myshard: the hint '%.*s' has a word myshard does not know; "
                  "use shard=NAME, primary or replica",
                  (int)MIN(st->hint.text.len, 120u), st->hint.text.p);
        return true;
    }
    if (st->hint.shard.len == 0)
        return false;
    n = rt_unquote_name(st->mode, st->hint.shard, name, sizeof(name));
    s = -1;
    for (int i = 0; i < r->cfg->nshards; i++)
        if (strlen(r->cfg->shards[i].name) == n &&
            memcmp(r->cfg->shards[i].name, name, n) == 0)
            s = i;
    if (s < 0) {
        list[0] = '\0';
        for (int i = 0; i < r->cfg->nshards; i++) {
            if (i)
                used = rt_field_put(list, sizeof(list), used, ", ", 2);
            used =
                rt_field_put(list, sizeof(list), used, r->cfg->shards[i].name,
                             strlen(r->cfg->shards[i].name));
        }
        rt_refuse(r, ER_UNKNOWN_ERROR,
                  "myshard: the hint names shard '%s', which is not in "
                  "myshard.yaml; the shards are: %s",
                  name, list);
        return true;
    }
    rt_set_targets(r, rt_shard_bit(s), st->sql, st->len);
    for (int i = 0; i < r->ntab; i++)
        if (r->tab[i].cls == TC_SHARDED) {
            r->plan->table_rule = r->tab[i].rule;
            break;
        }
    return true;
}

static bool
is_read_kind(const struct stmt_info *st)
{
    switch (st->kind) {
    case STMT_SELECT:
    case STMT_SHOW:
        return true;
    case STMT_EXPLAIN:
        return !(st->flags & SQLF_ANALYZE) || st->inner_kind == STMT_SELECT;
    default:
        return false;
    }
}

static void
set_role(struct rt *r)
{
    const struct stmt_info *st = r->st;
    bool read =
        is_read_kind(st) && !st->is_write &&
        !(st->flags & (SQLF_FOR_UPDATE | SQLF_SHARE_LOCK | SQLF_LOCK_FUNC |
                       SQLF_LAST_INSERT_ID | SQLF_FOUND_ROWS | SQLF_INTO));

    if (st->hint.present && st->hint.role == HINT_PRIMARY)
        read = false;
    else if (st->hint.present && st->hint.role == HINT_REPLICA &&
             is_read_kind(st) && !st->is_write &&
             !(st->flags & (SQLF_FOR_UPDATE | SQLF_SHARE_LOCK)))
        read = true;
    /* a transaction's statements share its connection on the primary */
    if (r->ctx->in_txn)
        read = false;
    r->plan->role = read ? ROLE_READ : ROLE_PRIMARY;
}

static int
statement_schema(const struct rt *r)
{
    const struct stmt_info *st = r->st;
    char name[65];

    if (r->ctx->schema >= 0 && r->ctx->schema < r->cfg->nschemas)
        return r->ctx->schema;
    for (unsigned i = 0; i < st->ntables; i++) {
        if (st->tables[i].schema.len) {
            size_t n = rt_unquote_name(st->mode, st->tables[i].schema, name,
                                       sizeof(name));
            int s = cfg_find_schema(r->cfg, name, n);
            if (s >= 0)
                return s;
        }
    }
    return 0;
}

/* The classifier dropped something. Long IN lists, many predicates or OR
 * groups only make key conditions wider (the router reads truncated IN
 * lists again); anything else may hide a table, a select item or an
 * assignment the plan depends on. */
static bool
overflow_unsafe(const struct stmt_info *st)
{
    bool explained = st->nvalues >= SQL_MAX_VALUES ||
                     st->npreds >= SQL_MAX_PREDS ||
                     st->ngroups >= SQL_MAX_GROUPS;

    if (!st->overflow)
        return false;
    for (unsigned i = 0; i < st->npreds && !explained; i++)
        explained = (st->preds[i].flags & PREDF_TRUNCATED) != 0;
    return !explained || st->ntables >= SQL_MAX_TABLES ||
           st->nblocks >= SQL_MAX_BLOCKS || st->nctes >= SQL_MAX_CTES ||
           st->nitems >= SQL_MAX_ITEMS || st->ngroup_items >= SQL_MAX_ORDER ||
           st->norder >= SQL_MAX_ORDER || st->nassigns >= SQL_MAX_ASSIGN ||
           st->ncols >= SQL_MAX_COLS;
}

/* Whether the statement writes rows of the tables it names (or changes
 * them whole: DDL); reads, even locking ones, do not. */
static bool
writes_rows(const struct stmt_info *st)
{
    switch (st->kind) {
    case STMT_INSERT:
    case STMT_REPLACE:
    case STMT_UPDATE:
    case STMT_DELETE:
    case STMT_LOAD_DATA:
    case STMT_DDL:
        return true;
    case STMT_EXPLAIN:
        /* ANALYZE runs the statement it explains */
        return (st->flags & SQLF_ANALYZE) &&
               (st->inner_kind == STMT_INSERT ||
                st->inner_kind == STMT_REPLACE ||
                st->inner_kind == STMT_UPDATE || st->inner_kind == STMT_DELETE);
    default:
        return false;
    }
}

/* route_plan.touches_moving: a forwarded write to a table whose rule has a
 * marked set (placement_marked: moving keys, or moved keys whose switch
 * every instance has not confirmed yet), unless its keys keep it out of
 * the set (rt_table.moving, true until the keys were read). */
static void
mark_moving(struct rt *r)
{
    struct route_plan *plan = r->plan;

    plan->touches_moving = false;
    plan->moving_rule = -1;
    plan->moving_id = 0;
    if (plan->action != ROUTE_FORWARD || !writes_rows(r->st))
        return;
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        const struct cfg_rule *rule;
        if (!t->write || t->cls != TC_SHARDED || !t->moving)
            continue;
        rule = &r->cfg->rules[t->rule];
        if (!placement_marked(rule)->active)
            continue;
        plan->touches_moving = true;
        plan->moving_rule = t->rule;
        plan->moving_id = placement_marked(rule)->id;
        return;
    }
}

static void
route_statement(struct rt *r)
{
    const struct stmt_info *st = r->st;

    if (r->cfg->nschemas == 0 || r->cfg->nshards == 0) {
        rt_refuse(r, ER_UNKNOWN_ERROR,
                  "myshard: the configuration has no schema or shard to "
                  "route to; add them to myshard.yaml");
        return;
    }
    r->schema = statement_schema(r);
    rt_resolve_tables(r);
    rt_refine_written(r);
    set_role(r);
    if (st->kind == STMT_DDL && refuse_ddl_resharding(r))
        return;
    if (st->hint.present && route_hint(r))
        return;
    /* LOCK TABLES of many tables: route_lock.c reads them one by one */
    if (overflow_unsafe(st) && st->kind != STMT_LOCK_TABLES) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the statement has more tables, conditions or "
                  "columns than the router reads; simplify it or route it "
                  "with a hint (/* myshard: shard=NAME */)");
        return;
    }
    if (st->lex_error) {
        /* an unterminated string or comment: the server refuses it whole;
         * never split what could not be read */
        route_default(r, r->schema);
        return;
    }
    if (st->multi) {
        route_multi(r);
        return;
    }
    switch (st->kind) {
    case STMT_SELECT:
        route_select(r);
        break;
    case STMT_INSERT:
    case STMT_REPLACE:
        rt_route_insert(r, false);
        break;
    case STMT_UPDATE:
    case STMT_DELETE:
        rt_route_update_delete(r);
        break;
    case STMT_DDL:
        route_ddl(r);
        break;
    case STMT_SHOW:
        route_show(r);
        break;
    case STMT_EXPLAIN:
        route_explain(r);
        break;
    case STMT_DO:
        route_plain(r);
        break;
    case STMT_LOCK_TABLES:
        rt_route_lock(r);
        break;
    case STMT_UNLOCK_TABLES:
        rt_route_unlock(r);
        break;
    case STMT_LOAD_DATA:
        route_unlisted_only(r, "LOAD DATA",
                            "load the rows with INSERT ... VALUES");
        break;
    case STMT_HANDLER:
        route_unlisted_only(r, "HANDLER", "use SELECT");
        break;
    default:
        route_default(r, r->schema);
        break;
    }
    rt_check_locked(r);
}

void
router_route(const struct cfg *cfg, const struct stmt_info *st,
             const struct route_ctx *ctx, struct route_plan *plan)
{
    struct rt r;

    plan_reset(plan);
    plan->kind = kind_text(st->kind);
    r.cfg = cfg;
    r.st = st;
    r.ctx = ctx;
    r.plan = plan;
    r.refused = false;
    r.keys_len = 0;
    r.main = -1;
    r.mask = 0;
    r.scatter = false;
    r.narrowed = false;
    r.ntab = 0;
    route_statement(&r);
    rt_filter_stale(&r);
    mark_moving(&r);
}
