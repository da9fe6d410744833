/*
 * route_write.c - INSERT/REPLACE, UPDATE and DELETE: where rows are
 * written, and what keeps a write from putting a row on the wrong shard.
 *
 *  - INSERT/REPLACE into a sharded table finds its key column in the
 *    column list (or SET list); without one (`INSERT INTO t VALUES ...`)
 *    at the key's position among the table's columns as the shards have
 *    them (route_ctx.columns; refused with 1105 when they are not known).
 *    Every row's key must be a literal (or a bound `?`); NULL, expressions
 *    and keys with no shard are refused with 1105 and nothing is written.
 *    Rows are split per shard: each shard gets the statement's text up to
 *    the first row, its own rows joined with ", ", and the rest (ON
 *    DUPLICATE KEY UPDATE, RETURNING) unchanged. A split prepared
 *    statement keeps only its rows' `?`s, so each target binds its own
 *    parameters (route_plan.pmap: renumbered). Without bound values (the
 *    plan of a PREPARE) the plan names every shard of the rule and sets
 *    needs_params. ON DUPLICATE KEY UPDATE may set the key only to
 *    VALUES(key) (or the row alias's key): the row's own shard.
 *  - INSERT ... SELECT into a sharded table: route_insert_select.c.
 *  - UPDATE/DELETE go where the key predicates say, like a SELECT; without
 *    a key to every shard (scatter, affected rows summed). An UPDATE that
 *    assigns the key is allowed only when the statement reaches exactly
 *    the one shard the new value maps to (the row stays where it is);
 *    otherwise 1105. ORDER BY/LIMIT on an UPDATE/DELETE reaching several
 *    shards is refused (1235): the shards cannot share one limit.
 *  - Global tables: writes go to every shard of the schema (replicated).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "route_internal.h"
#include "sql/lexer.h"
#include "sql/predicates.h"

/* A row of a split INSERT: its text and shard. */
struct rowref {
    uint32_t off; /* from st->sql */
    uint32_t len;
    int shard;
    uint32_t pfirst; /* its first `?`'s index in the statement */
    uint32_t pn;     /* its `?`s */
};

#define LOCAL_ROWS 32

static const char *
rule_type_name(const struct cfg_rule *rule)
{
    return rule->type == RULE_MOD    ? "mod"
           : rule->type == RULE_HASH ? "hash"
                                     : "range";
}

/* A value as it reads in a message: the literal as written, a parameter's
 * bound value. */
static void
value_text(const struct sql_value *v, const struct route_key *key,
           enum rt_keyval kv, char *out, size_t cap)
{
    if (v->type == VAL_PARAM && kv == KV_OK) {
        if (key->is_int)
            snprintf(out, cap, "%lld", (long long)key->i);
        else
            snprintf(out, cap, "'%.*s'", (int)MIN(key->len, 60u), key->s);
        return;
    }
    snprintf(out, cap, "%s%.*s", v->negative ? "-" : "",
             (int)MIN(v->text.len, 60u), v->text.p);
}

/* ON DUPLICATE KEY UPDATE key = VALUES(key) or = alias.key: the inserted
 * row's own key. */
static bool
odku_keeps_key(struct lex_mode m, struct sql_span value, const char *key)
{
    struct lexer lx;
    struct token t[5];
    int n = 0;

    lexer_init(&lx, value.p, value.len, m);
    while (n < 5 && lexer_next(&lx, &t[n]))
        n++;
    if (n == 4 && t[0].type == TOK_IDENT && tok_is(&t[0], "values") &&
        t[1].type == TOK_LPAREN && t[3].type == TOK_RPAREN &&
        lexer_ident_eq(t[2].p, t[2].len, key, strlen(key)))
        return true;
    if (n == 3 && t[1].type == TOK_DOT &&
        lexer_ident_eq(t[2].p, t[2].len, key, strlen(key)))
        return true;
    return false;
}

/* The key's index in a positional row of t, from the table's columns as
 * the shards have them; -1 after refusing when they are not known. */
static int
positional_key(struct rt *r, const struct rt_table *t)
{
    const char *key = t->ct->key;
    struct route_tcols tc = {0};
    const char *schema = r->cfg->schemas[t->schema].name;

    if (r->ctx->columns == NULL ||
        !r->ctx->columns(r->ctx->columns_arg, schema, t->name, &tc) ||
        tc.ncols <= 0) {
        rt_refuse(r, ER_UNKNOWN_ERROR,
                  "myshard: INSERT into '%s' without a column list needs the "
                  "table's columns, which myshard does not know (%s); create "
                  "the table first, or list the columns, as in INSERT INTO "
                  "%s (%s, ...) VALUES (...)",
                  t->name,
                  tc.why && tc.why[0] ? tc.why : "not read from the shards",
                  t->name, key);
        return -1;
    }
    for (int i = 0; i < tc.ncols; i++)
        if (strcasecmp(tc.names[i], key) == 0)
            return i;
    rt_refuse(r, ER_UNKNOWN_ERROR,
              "myshard: INSERT into '%s': the table on the shards has no "
              "column '%s', its shard key in myshard.yaml; fix the table or "
              "the config",
              t->name, key);
    return -1;
}

static void
route_insert_other(struct rt *r, bool explain_only)
{
    const struct stmt_info *st = r->st;
    int n;

    if (!rt_route_tables(r) || explain_only)
        return;
    n = rt_mask_count(r->mask);
    if (n > 1 && (st->flags & SQLF_RETURNING)) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: INSERT ... RETURNING into a global table is not "
                  "supported; insert, then select the rows");
        return;
    }
    rt_set_targets(r, r->mask, st->sql, st->len);
    r->plan->sum_affected = n > 1 && !r->plan->replicated;
}

static struct rowref *
rows_grow(struct rt *r, struct rowref *local, uint32_t nrows)
{
    struct route_plan *plan = r->plan;
    size_t need = ((size_t)nrows + 1) * sizeof(struct rowref);

    if (need > plan->scratch_cap) {
        size_t cap = plan->scratch_cap ? plan->scratch_cap : 4096;
        while (cap < need)
            cap *= 2;
        plan->scratch = xrealloc(plan->scratch, cap);
        plan->scratch_cap = cap;
    }
    if (nrows == LOCAL_ROWS)
        memcpy(plan->scratch, local, sizeof(struct rowref) * LOCAL_ROWS);
    return plan->scratch;
}

/* Rows the split can cut on: each "( ... )", as many as the statement
 * has, inside the VALUES span. */
static bool
rows_well_formed(const struct stmt_info *st, const struct rowref *rows,
                 uint32_t nrows)
{
    const char *vs = st->insert.values.p;
    size_t vlen = st->insert.values.len;

    if (st->insert.form != INSERT_VALUES || vlen == 0 ||
        nrows != st->insert.nrows)
        return false;
    for (uint32_t i = 0; i < nrows; i++) {
        const char *p = st->sql + rows[i].off;
        if (rows[i].len < 2 || p[0] != '(' || p[rows[i].len - 1] != ')' ||
            p < vs || p + rows[i].len > vs + vlen)
            return false;
    }
    return true;
}

/* `?` placeholders in p[0..len). */
static uint32_t
count_params(struct lex_mode m, const char *p, size_t len)
{
    struct lexer lx;
    struct token t;
    uint32_t n = 0;

    if (memchr(p, '?', len) == NULL)
        return 0;
    lexer_init(&lx, p, len, m);
    while (lexer_next(&lx, &t))
        if (t.type == TOK_PARAM)
            n++;
    return n;
}

static void
pmap_add(struct route_plan *plan, uint32_t *n, uint32_t v)
{
    if (*n >= plan->pmap_cap) {
        plan->pmap_cap = plan->pmap_cap ? plan->pmap_cap * 2 : 256;
        plan->pmap = xrealloc(plan->pmap, plan->pmap_cap * sizeof(uint32_t));
    }
    plan->pmap[(*n)++] = v;
}

/* A split prepared INSERT: which of the EXECUTE's parameters each target
 * binds. Before the rows and after them (ON DUPLICATE KEY UPDATE,
 * RETURNING): every target's; in the rows: its rows' own, in order. */
static void
split_params(struct rt *r, struct rowref *rows, uint32_t nrows)
{
    const struct stmt_info *st = r->st;
    struct route_plan *plan = r->plan;
    uint32_t next = st->insert.values_param, used = 0, after;

    for (uint32_t i = 0; i < nrows; i++) {
        rows[i].pfirst = next;
        rows[i].pn = count_params(st->mode, st->sql + rows[i].off, rows[i].len);
        next += rows[i].pn;
    }
    after = next;
    for (int k = 0; k < plan->ntargets; k++) {
        int s = plan->targets[k].shard;
        plan->pmap_off[k] = used;
        for (uint32_t p = 0; p < st->insert.values_param; p++)
            pmap_add(plan, &used, p);
        for (uint32_t i = 0; i < nrows; i++)
            for (uint32_t p = 0; rows[i].shard == s && p < rows[i].pn; p++)
                pmap_add(plan, &used, rows[i].pfirst + p);
        for (uint32_t p = after; p < st->nparams; p++)
            pmap_add(plan, &used, p);
        plan->pmap_n[k] = used - plan->pmap_off[k];
    }
    plan->renumbered = true;
}

/* Every shard's text: prefix, its rows, the rest. */
static void
split_rows(struct rt *r, const struct rowref *rows, uint32_t nrows)
{
    const struct stmt_info *st = r->st;
    struct route_plan *plan = r->plan;
    const char *vstart = st->insert.values.p;
    const char *vend = vstart + st->insert.values.len;
    size_t pre = (size_t)(vstart - st->sql);
    size_t post = (size_t)(st->sql + st->len - vend);
    size_t offs[ROUTE_MAX_SHARDS], lens[ROUTE_MAX_SHARDS];
    uint64_t mask = r->mask;
    int n = 0;

    rt_buf_reserve(plan, (pre + post) * (size_t)rt_mask_count(mask) +
                             st->insert.values.len + 2 * nrows);
    while (mask) {
        int s = __builtin_ctzll(mask);
        bool first = true;
        mask &= mask - 1;
        offs[n] = rt_buf_put(plan, st->sql, pre);
        for (uint32_t i = 0; i < nrows; i++) {
            if (rows[i].shard != s)
                continue;
            if (!first)
                rt_buf_put(plan, ", ", 2);
            rt_buf_put(plan, st->sql + rows[i].off, rows[i].len);
            first = false;
        }
        rt_buf_put(plan, vend, post);
        lens[n] = plan->buf_len - offs[n];
        n++;
    }
    rt_set_targets(r, r->mask, NULL, 0);
    for (int i = 0; i < plan->ntargets; i++) {
        plan->targets[i].sql = plan->buf + offs[i];
        plan->targets[i].len = lens[i];
    }
}

void
rt_route_insert(struct rt *r, bool explain_only)
{
    const struct stmt_info *st = r->st;
    struct route_plan *plan = r->plan;
    struct rowref local[LOCAL_ROWS], *rows = local;
    const struct cfg_rule *rule;
    const struct rt_table *t;
    const char *key;
    struct sql_rows_iter it;
    struct sql_row row;
    uint32_t nrows = 0;
    uint64_t mask = 0;
    bool missing = false, open = false, moving = false;
    int ti = -1, keyidx = -1;

    for (int i = 0; i < r->ntab && ti < 0; i++)
        if (r->tab[i].write)
            ti = i;
    if (ti < 0 || r->tab[ti].cls != TC_SHARDED) {
        route_insert_other(r, explain_only);
        return;
    }
    t = &r->tab[ti];
    rule = &r->cfg->rules[t->rule];
    key = t->ct->key;
    r->main = ti;
    plan->table_rule = t->rule;
    if (st->insert.form != INSERT_VALUES && st->insert.form != INSERT_SET &&
        st->insert.form != INSERT_SELECT) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: this INSERT into sharded table '%s' is not "
                  "supported; insert the rows with VALUES",
                  t->name);
        return;
    }
    for (int i = 0; i < r->ntab && st->insert.form != INSERT_SELECT; i++)
        if (i != ti && r->tab[i].cls == TC_SHARDED) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: INSERT into sharded table '%s' reading "
                      "sharded table '%s' needs rows from two shards; read "
                      "the values first, then insert them",
                      t->name, r->tab[i].name);
            return;
        }
    if (st->insert.ncols == 0 && st->ncols == 0) {
        /* No column list: the values follow the table's column order. */
        keyidx = positional_key(r, t);
        if (keyidx < 0)
            return;
    }
    for (int c = 0; c < st->ncols && keyidx < 0; c++)
        if (lexer_ident_eq(st->cols[c].column.p, st->cols[c].column.len, key,
                           strlen(key))) {
            keyidx = c;
            break;
        }
    if (keyidx < 0) {
        rt_refuse(r, ER_UNKNOWN_ERROR,
                  "myshard: INSERT into '%s' must name the shard key column "
                  "'%s'; list the columns, as in INSERT INTO %s (%s, ...) "
                  "VALUES (...)",
                  t->name, key, t->name, key);
        return;
    }
    for (int i = 0; i < st->nassigns; i++) {
        const struct sql_assign *a = &st->assigns[i];
        if (!a->odku || !lexer_ident_eq(a->col.column.p, a->col.column.len, key,
                                        strlen(key)))
            continue;
        if (!odku_keeps_key(st->mode, a->value, key)) {
            rt_refuse(r, ER_UNKNOWN_ERROR,
                      "myshard: ON DUPLICATE KEY UPDATE of '%s' changes the "
                      "shard key '%s', which moves the row; DELETE and INSERT "
                      "it instead",
                      t->name, key);
            return;
        }
    }
    if (st->insert.form == INSERT_SELECT) {
        rt_route_insert_select(r, ti, keyidx, explain_only);
        return;
    }
    sql_rows_begin(&it, st);
    while (sql_rows_next(&it, &row)) {
        char buf[RT_KEY_CAP], vt[80];
        struct route_key k;
        const struct sql_value *v;
        enum rt_keyval kv;
        enum placement_status ps;
        int shard = -1;

        nrows++;
        if (keyidx >= row.nvalues) {
            rt_refuse(r, ER_UNKNOWN_ERROR,
                      "myshard: INSERT into '%s': row %u has no value for the "
                      "shard key '%s'; give every row a key value",
                      t->name, nrows, key);
            return;
        }
        v = &row.values[keyidx];
        kv = rt_value_key(r, v, &k, buf);
        if (!open && r->keys_len == 0) {
            rt_keys_add(r, key, strlen(key));
            rt_keys_add(r, "=", 1);
        } else {
            rt_keys_add(r, ",", 1);
        }
        open = true;
        rt_keys_value(r, v, &k, kv);
        switch (kv) {
        case KV_NULL:
            rt_refuse(r, ER_UNKNOWN_ERROR,
                      "myshard: INSERT into '%s': the shard key '%s' is NULL "
                      "in row %u; every row needs a key value",
                      t->name, key, nrows);
            return;
        case KV_UNKNOWN:
            rt_refuse(r, ER_UNKNOWN_ERROR,
                      "myshard: INSERT into '%s': the shard key '%s' of row "
                      "%u is '%.*s', which myshard cannot evaluate; write the "
                      "key as a literal value",
                      t->name, key, nrows, (int)MIN(v->text.len, 80u),
                      v->text.p);
            return;
        case KV_PARAM_MISSING:
            if (r->ctx->params != NULL) {
                rt_refuse(r, ER_UNKNOWN_ERROR,
                          "myshard: INSERT into '%s': the shard key parameter "
                          "%u has no bound value; bind every parameter",
                          t->name, v->param + 1);
                return;
            }
            missing = true;
            continue;
        case KV_OK:
            break;
        }
        ps = placement_locate(rule, &k, &shard, NULL);
        if (ps != PLACE_OK) {
            value_text(v, &k, kv, vt, sizeof(vt));
            if (ps == PLACE_OUT_OF_RANGE)
                rt_refuse(r, ER_UNKNOWN_ERROR,
                          "myshard: INSERT into '%s': key %s=%s is outside "
                          "every range of rule '%s'; add a range for it to "
                          "myshard.yaml",
                          t->name, key, vt, rule->name);
            else
                rt_refuse(r, ER_UNKNOWN_ERROR,
                          "myshard: INSERT into '%s': key %s=%s is %s, which "
                          "rule '%s' (%s) cannot place; insert an integer key",
                          t->name, key, vt, placement_status_text(ps),
                          rule->name, rule_type_name(rule));
            return;
        }
        mask |= rt_shard_bit(shard);
        moving = moving || placement_in_marked(rule, &k);
        if (nrows - 1 >= LOCAL_ROWS)
            rows = rows_grow(r, local, nrows - 1);
        rows[nrows - 1].off = (uint32_t)(row.text.p - st->sql);
        rows[nrows - 1].len = row.text.len;
        rows[nrows - 1].shard = shard;
    }
    if (missing) {
        plan->needs_params = true;
        mask = placement_rule_mask(rule);
        r->scatter = true;
    }
    /* a row whose key is not known yet may be a moving one */
    r->tab[ti].moving = placement_marked(rule)->active && (moving || missing);
    if (mask == 0) /* no rows: the server answers the syntax */
        mask = rt_shard_bit(rule->shards[0]);
    r->mask = mask;
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *u = &r->tab[i];
        if (i == ti || u->cls != TC_UNLISTED)
            continue;
        if (mask != rt_shard_bit(rt_default_shard(r, u->schema))) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: INSERT into sharded table '%s' reading '%s' "
                      "(unlisted, on the default shard) needs rows from two "
                      "shards; read the values first, or list '%s' as global",
                      t->name, u->name, u->name);
            return;
        }
    }
    if (explain_only)
        return;
    plan->scatter = missing;
    if (rt_mask_count(mask) == 1 || missing) {
        rt_set_targets(r, mask, st->sql, st->len);
        plan->sum_affected = plan->ntargets > 1;
        return;
    }
    if (!rows_well_formed(st, rows, nrows)) {
        /* the server refuses the statement whole: send it unsplit */
        rt_set_targets(r, rt_shard_bit(rows[0].shard), st->sql, st->len);
        return;
    }
    split_rows(r, rows, nrows);
    if (st->nparams > 0)
        split_params(r, rows, nrows);
    if (st->flags & SQLF_RETURNING)
        plan->merge = true;
    else
        plan->sum_affected = true;
}

static bool
keys_equal(const struct route_key *a, const struct route_key *b)
{
    if (a->is_null || b->is_null)
        return false;
    if (a->is_int && b->is_int)
        return a->i == b->i;
    if (a->is_int != b->is_int)
        return false;
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Does the WHERE clause pin table ti's key to exactly the value k (`key =
 * k` at the top level)? Then SET key = k changes nothing. */
static bool
where_key_is(struct rt *r, int ti, const struct route_key *k)
{
    const struct stmt_info *st = r->st;

    for (int i = 0; i < st->npreds; i++) {
        const struct sql_pred *p = &st->preds[i];
        struct route_key wk;
        char buf[RT_KEY_CAP];
        if (p->op != PRED_EQ || p->group != 0 || p->block != 0 ||
            p->nvalues != 1 || !rt_col_is_key(r, 0, &p->col, ti))
            continue;
        if (rt_value_key(r, &st->values[p->vfirst], &wk, buf) == KV_OK &&
            keys_equal(&wk, k))
            return true;
    }
    return false;
}

/* UPDATE ... SET key = v: refused (the contract: an UPDATE that changes the
 * key writes nothing), unless v is the very value the WHERE clause pins the
 * key to, as ORMs write when they bind every column. */
static bool
check_key_assign(struct rt *r)
{
    const struct stmt_info *st = r->st;

    for (int i = 0; i < st->nassigns; i++) {
        const struct sql_assign *a = &st->assigns[i];
        struct sql_values_iter it;
        struct sql_value v;
        struct route_key k;
        char buf[RT_KEY_CAP];
        enum rt_keyval kv;
        int ti = -1, shard;

        if (a->odku)
            continue;
        for (int j = 0; j < r->ntab && ti < 0; j++)
            if (r->tab[j].cls == TC_SHARDED && r->tab[j].write &&
                rt_col_is_key(r, 0, &a->col, j))
                ti = j;
        if (ti < 0)
            continue;
        sql_values_begin(&it, a->value, rt_params_before(st, a->value.p),
                         st->mode);
        kv = KV_UNKNOWN;
        if (sql_values_next(&it, &v))
            kv = rt_value_key(r, &v, &k, buf);
        if (kv == KV_PARAM_MISSING && r->ctx->params == NULL) {
            r->plan->needs_params = true;
            continue;
        }
        if (kv == KV_OK && rt_mask_count(r->mask) == 1 &&
            placement_locate(&r->cfg->rules[r->tab[ti].rule], &k, &shard,
                             NULL) == PLACE_OK &&
            rt_shard_bit(shard) == r->mask && where_key_is(r, ti, &k))
            continue;
        rt_refuse(r, ER_UNKNOWN_ERROR,
                  "myshard: this UPDATE of '%s' changes the shard key '%s', "
                  "which moves the row to another shard; DELETE and INSERT "
                  "it instead",
                  r->tab[ti].name, r->tab[ti].ct->key);
        return false;
    }
    return true;
}

void
rt_route_update_delete(struct rt *r)
{
    const struct stmt_info *st = r->st;
    struct route_plan *plan = r->plan;
    const char *what = st->kind == STMT_UPDATE ? "UPDATE" : "DELETE";
    int n;

    if (!rt_route_tables(r))
        return;
    if (st->kind == STMT_UPDATE && !check_key_assign(r))
        return;
    n = rt_mask_count(r->mask);
    if (n > 1 && !plan->replicated &&
        (st->order_by.len > 0 || st->limit.len > 0)) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: %s with ORDER BY or LIMIT across shards of table "
                  "'%s' is not supported; add the shard key to the WHERE "
                  "clause",
                  what, r->main >= 0 ? r->tab[r->main].name : "?");
        return;
    }
    if (n > 1 && (st->flags & SQLF_RETURNING) && plan->replicated) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: %s ... RETURNING on a global table is not "
                  "supported; select the rows first",
                  what);
        return;
    }
    rt_set_targets(r, r->mask, st->sql, st->len);
    plan->scatter = r->scatter;
    if (n > 1 && !plan->replicated) {
        if (st->flags & SQLF_RETURNING)
            plan->merge = true;
        else
            plan->sum_affected = true;
    }
}
