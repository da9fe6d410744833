/*
 * route_keys.c - shard key values: a literal or a bound parameter read as
 * a struct route_key, and the shards an =, IN or BETWEEN predicate on a
 * table's key allows. Reads are generous where the value's meaning is
 * unsure (the column's type is unknown to the proxy): a number with a
 * fraction, an expression or an unbound `?` allows every shard of the rule;
 * a string of digits with leading zeros ('007') both its text's shard and
 * the integer's; a value no shard holds (a range gap, NULL) allows none.
 * Every value read is added to plan.keys for EXPLAIN ROUTE.
 */
#include <stdio.h>
#include <string.h>

#include "route_internal.h"
#include "sql/lexer.h"
#include "sql/predicates.h"

static void
keys_open(struct rt *r, const char *name, bool *open)
{
    if (*open) {
        rt_keys_add(r, ",", 1);
        return;
    }
    if (r->keys_len > 0)
        rt_keys_add(r, "; ", 2);
    rt_keys_add(r, name, strlen(name));
    rt_keys_add(r, "=", 1);
    *open = true;
}

/* A number literal too large for int64_t: its digits as a string key
 * (what CRC32 sees for a BIGINT UNSIGNED); false when not all digits. */
static bool
big_digits(const struct sql_value *v, struct route_key *key)
{
    const char *p = v->text.p;
    size_t n = v->text.len;

    if (v->negative || n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    while (n > 1 && *p == '0') {
        p++;
        n--;
    }
    key->s = p;
    key->len = n;
    return true;
}

/* A plain quoted string with nothing to decode: its bytes are in place. */
static bool
string_in_place(struct sql_span t, struct route_key *key)
{
    char q;

    if (t.len < 2)
        return false;
    q = t.p[0];
    if ((q != '\'' && q != '"') || t.p[t.len - 1] != q)
        return false;
    if (memchr(t.p + 1, '\\', t.len - 2) != NULL ||
        memchr(t.p + 1, q, t.len - 2) != NULL)
        return false;
    key->s = t.p + 1;
    key->len = t.len - 2;
    return true;
}

enum rt_keyval
rt_value_key(struct rt *r, const struct sql_value *v, struct route_key *key,
             char *buf)
{
    const struct route_ctx *ctx = r->ctx;
    size_t n;

    memset(key, 0, sizeof(*key));
    switch (v->type) {
    case VAL_NUMBER:
        if (sql_value_int(v, &key->i)) {
            key->is_int = true;
            return KV_OK;
        }
        return big_digits(v, key) ? KV_OK : KV_UNKNOWN;
    case VAL_STRING:
        if (string_in_place(v->text, key))
            return KV_OK;
        n = lexer_unquote(v->text.p, v->text.len, v->mode, buf, RT_KEY_CAP);
        if (n >= RT_KEY_CAP)
            return KV_UNKNOWN;
        key->s = buf;
        key->len = n;
        return KV_OK;
    case VAL_HEX:
    case VAL_BIT:
        n = sql_value_bytes(v, buf, RT_KEY_CAP);
        if (n == (size_t)-1 || n >= RT_KEY_CAP)
            return KV_UNKNOWN;
        key->s = buf;
        key->len = n;
        return KV_OK;
    case VAL_PARAM:
        if (ctx->params == NULL || v->param >= ctx->nparams)
            return KV_PARAM_MISSING;
        *key = ctx->params[v->param].key;
        if (!v->negative || key->is_null)
            return KV_OK;
        if (key->is_int && key->i != INT64_MIN) {
            key->i = -key->i;
            return KV_OK;
        }
        return KV_UNKNOWN;
    case VAL_NULL:
        key->is_null = true;
        return KV_NULL;
    default:
        return KV_UNKNOWN;
    }
}

/* Shards a key value may live on under rule (a read's view: values that
 * cannot be evaluated reach every shard; a string of digits with leading
 * zeros may meet an integer or a text column, so both placements count). */
static uint64_t
value_mask(struct rt *r, const struct cfg_rule *rule, const struct sql_value *v,
           bool *open, const char *keyname, bool *moving)
{
    char buf[RT_KEY_CAP];
    struct route_key key;
    enum rt_keyval kv = rt_value_key(r, v, &key, buf);
    uint64_t all = placement_rule_mask(rule), m;
    int shard;
    int64_t i;

    keys_open(r, keyname, open);
    rt_keys_value(r, v, &key, kv);
    *moving = placement_marked(rule)->active;
    if (kv == KV_NULL) {
        *moving = false;
        return 0;
    }
    if (kv == KV_PARAM_MISSING)
        r->plan->needs_params = true;
    if (kv != KV_OK)
        return all;
    switch (placement_locate(rule, &key, &shard, NULL)) {
    case PLACE_OK:
        break;
    case PLACE_OUT_OF_RANGE:
    case PLACE_NULL_KEY:
        *moving = false;
        return 0;
    default:
        return all;
    }
    m = rt_shard_bit(shard);
    *moving = placement_in_marked(rule, &key);
    if (rule->type == RULE_HASH && !key.is_int && placement_key_int(&key, &i)) {
        struct route_key ik = {.is_int = true, .i = i};
        if (placement_locate(rule, &ik, &shard, NULL) == PLACE_OK)
            m |= rt_shard_bit(shard);
        *moving = *moving || placement_in_marked(rule, &ik);
    }
    return m;
}

static uint64_t
between_mask(struct rt *r, const struct cfg_rule *rule,
             const struct sql_value *lo, const struct sql_value *hi, bool *open,
             const char *keyname, bool *moving)
{
    char b1[RT_KEY_CAP], b2[RT_KEY_CAP];
    struct route_key k1, k2;
    enum rt_keyval v1 = rt_value_key(r, lo, &k1, b1);
    enum rt_keyval v2 = rt_value_key(r, hi, &k2, b2);

    keys_open(r, keyname, open);
    rt_keys_value(r, lo, &k1, v1);
    rt_keys_add(r, "..", 2);
    rt_keys_value(r, hi, &k2, v2);
    *moving = placement_marked(rule)->active;
    if (v1 == KV_NULL || v2 == KV_NULL) {
        *moving = false;
        return 0;
    }
    if (v1 == KV_PARAM_MISSING || v2 == KV_PARAM_MISSING)
        r->plan->needs_params = true;
    if (v1 != KV_OK || v2 != KV_OK)
        return placement_rule_mask(rule);
    *moving = placement_between_marked(rule, &k1, &k2);
    return placement_between(rule, &k1, &k2);
}

uint64_t
rt_pred_mask(struct rt *r, int ti, const struct sql_pred *p, bool *open,
             bool *moving)
{
    const struct rt_table *t = &r->tab[ti];
    const struct cfg_rule *rule = &r->cfg->rules[t->rule];
    const struct stmt_info *st = r->st;
    uint64_t all = placement_rule_mask(rule), m = 0;
    struct sql_values_iter it;
    struct sql_value v;
    bool vmv;

    /* what cannot be read may reach any key, moving ones too */
    *moving = placement_marked(rule)->active;
    switch (p->op) {
    case PRED_EQ:
        if (p->nvalues < 1)
            return all;
        return value_mask(r, rule, &st->values[p->vfirst], open, t->ct->key,
                          moving);
    case PRED_IN:
        *moving = false;
        if (p->flags & PREDF_TRUNCATED) {
            sql_values_begin(&it, p->list, p->list_param, st->mode);
            while (sql_values_next(&it, &v)) {
                m |= value_mask(r, rule, &v, open, t->ct->key, &vmv);
                *moving = *moving || vmv;
            }
            return m;
        }
        for (unsigned i = 0; i < p->nvalues; i++) {
            m |= value_mask(r, rule, &st->values[p->vfirst + i], open,
                            t->ct->key, &vmv);
            *moving = *moving || vmv;
        }
        return m;
    case PRED_BETWEEN:
        if (p->nvalues < 2)
            return all;
        return between_mask(r, rule, &st->values[p->vfirst],
                            &st->values[p->vfirst + 1], open, t->ct->key,
                            moving);
    default:
        return all;
    }
}
