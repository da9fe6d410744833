/*
 * placement.c - where a key lives: the mod, hash (CRC32 slots, even split
 * or slot_map) and range rules of PRODUCT.md's placement contract, and the
 * shard sets the router needs from them (a rule's shards, the shards a
 * BETWEEN interval may reach). Everything here is pure arithmetic on the
 * config generation: no I/O, no allocation, so the router can call it on
 * every statement and myshard-locate prints exactly what the proxy does.
 */
#include "route/placement.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/crc32.h"

size_t
placement_int_text(int64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        buf[len++] = '-';
    while (n > 0)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* A string key read as an integer: optional sign, then digits (leading
 * zeros allowed), nothing else; false when it is not one or overflows. */
static bool
text_int(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0, limit = INT64_MAX;
    bool neg = false;
    size_t i = 0;

    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        if (neg)
            limit = (uint64_t)INT64_MAX + 1;
        i = 1;
    }
    if (i == n)
        return false;
    for (; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9 || v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return true;
}

bool
placement_key_int(const struct route_key *key, int64_t *out)
{
    if (key->is_int) {
        *out = key->i;
        return true;
    }
    return text_int(key->s, key->len, out);
}

/* The key's bytes as hash and string ranges see them. */
static const char *
key_text(const struct route_key *key, char *buf, size_t *len)
{
    if (key->is_int) {
        *len = placement_int_text(key->i, buf);
        return buf;
    }
    *len = key->len;
    return key->s != NULL ? key->s : "";
}

/* Bytewise comparison, shorter first on a common prefix (memcmp order). */
static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0 || alen == blen)
        return c;
    return alen < blen ? -1 : 1;
}

/* The range rule's bound type: true for strings. Validation keeps every
 * set bound of one rule of the same type. */
static bool
range_is_string(const struct cfg_rule *rule)
{
    for (int i = 0; i < rule->nranges; i++) {
        if (rule->ranges[i].from.set)
            return rule->ranges[i].from.is_string;
        if (rule->ranges[i].to.set)
            return rule->ranges[i].to.is_string;
    }
    return false;
}

/* Compares a key with a bound of the rule's type: <0, 0, >0. */
static int
bound_cmp_int(int64_t k, const struct cfg_bound *b)
{
    return k < b->i ? -1 : k > b->i;
}

static int
bound_cmp_str(const char *k, size_t klen, const struct cfg_bound *b)
{
    return bytes_cmp(k, klen, b->s, strlen(b->s));
}

static bool
range_holds_int(const struct cfg_range *r, int64_t k)
{
    return (!r->from.set || bound_cmp_int(k, &r->from) >= 0) &&
           (!r->to.set || bound_cmp_int(k, &r->to) < 0);
}

static bool
range_holds_str(const struct cfg_range *r, const char *k, size_t klen)
{
    return (!r->from.set || bound_cmp_str(k, klen, &r->from) >= 0) &&
           (!r->to.set || bound_cmp_str(k, klen, &r->to) < 0);
}

static enum placement_status
locate_range(const struct cfg_rule *rule, const struct route_key *key,
             int *shard)
{
    char buf[24];
    const char *s;
    size_t len;
    int64_t k;

    if (range_is_string(rule)) {
        s = key_text(key, buf, &len);
        for (int i = 0; i < rule->nranges; i++)
            if (range_holds_str(&rule->ranges[i], s, len)) {
                *shard = rule->ranges[i].shard;
                return PLACE_OK;
            }
        return PLACE_OUT_OF_RANGE;
    }
    if (!placement_key_int(key, &k))
        return PLACE_NOT_INTEGER;
    for (int i = 0; i < rule->nranges; i++)
        if (range_holds_int(&rule->ranges[i], k)) {
            *shard = rule->ranges[i].shard;
            return PLACE_OK;
        }
    return PLACE_OUT_OF_RANGE;
}

static int
hash_owner(const struct cfg_rule *rule, uint32_t slot)
{
    if (rule->slot_owner != NULL)
        return rule->slot_owner[slot];
    return rule->shards[(uint64_t)slot * (uint64_t)rule->nshards / rule->slots];
}

enum placement_status
placement_locate(const struct cfg_rule *rule, const struct route_key *key,
                 int *shard, int *slot)
{
    char buf[24];
    const char *s;
    size_t len;
    int64_t k;
    uint32_t h;
    int owner;
    enum placement_status st;

    if (key->is_null)
        return PLACE_NULL_KEY;
    switch (rule->type) {
    case RULE_MOD:
        if (!placement_key_int(key, &k))
            return PLACE_NOT_INTEGER;
        if (rule->nshards <= 0)
            return PLACE_OUT_OF_RANGE;
        *shard =
            rule->shards[((k % rule->nshards) + rule->nshards) % rule->nshards];
        if (slot != NULL)
            *slot = -1;
        return PLACE_OK;
    case RULE_HASH:
        if (rule->slots == 0 || rule->nshards <= 0)
            return PLACE_OUT_OF_RANGE;
        s = key_text(key, buf, &len);
        h = crc32_ieee(s, len) % rule->slots;
        owner = hash_owner(rule, h);
        if (owner < 0)
            return PLACE_OUT_OF_RANGE;
        *shard = owner;
        if (slot != NULL)
            *slot = (int)h;
        return PLACE_OK;
    case RULE_RANGE:
        st = locate_range(rule, key, shard);
        if (st == PLACE_OK && slot != NULL)
            *slot = -1;
        return st;
    }
    return PLACE_OUT_OF_RANGE;
}

const char *
placement_status_text(enum placement_status st)
{
    switch (st) {
    case PLACE_OK:
        return "ok";
    case PLACE_NULL_KEY:
        return "NULL key";
    case PLACE_NOT_INTEGER:
        return "not an integer";
    case PLACE_OUT_OF_RANGE:
        return "outside every range";
    }
    return "?";
}

uint64_t
placement_rule_mask(const struct cfg_rule *rule)
{
    uint64_t m = 0;

    for (int i = 0; i < rule->nshards; i++)
        if (rule->shards[i] >= 0 && rule->shards[i] < 64)
            m |= 1ull << rule->shards[i];
    return m;
}

/* Range rules: the ranges overlapping [lo, hi]. */
static uint64_t
between_range(const struct cfg_rule *rule, const struct route_key *lo,
              const struct route_key *hi)
{
    char lb[24], hb[24];
    const char *ls, *hs;
    size_t ll, hl;
    int64_t li, hi_i;
    uint64_t m = 0;

    if (range_is_string(rule)) {
        ls = key_text(lo, lb, &ll);
        hs = key_text(hi, hb, &hl);
        if (bytes_cmp(ls, ll, hs, hl) > 0)
            return 0;
        for (int i = 0; i < rule->nranges; i++) {
            const struct cfg_range *r = &rule->ranges[i];
            /* from <= hi and lo < to */
            if ((!r->from.set || bound_cmp_str(hs, hl, &r->from) >= 0) &&
                (!r->to.set || bound_cmp_str(ls, ll, &r->to) < 0))
                m |= 1ull << r->shard;
        }
        return m;
    }
    if (!placement_key_int(lo, &li) || !placement_key_int(hi, &hi_i))
        return placement_rule_mask(rule);
    if (li > hi_i)
        return 0;
    for (int i = 0; i < rule->nranges; i++) {
        const struct cfg_range *r = &rule->ranges[i];
        if ((!r->from.set || bound_cmp_int(hi_i, &r->from) >= 0) &&
            (!r->to.set || bound_cmp_int(li, &r->to) < 0))
            m |= 1ull << r->shard;
    }
    return m;
}

uint64_t
placement_between(const struct cfg_rule *rule, const struct route_key *lo,
                  const struct route_key *hi)
{
    uint64_t all = placement_rule_mask(rule), m = 0;
    int64_t a, b;
    int shard;

    if (lo->is_null || hi->is_null)
        return all;
    if (rule->type == RULE_RANGE)
        return between_range(rule, lo, hi);
    /* mod and hash: a short integer interval is expanded; strings and
     * wide intervals can be anywhere. A string bound (even '5') is not
     * expanded on hash rules: the column may be text, where '10' sorts
     * between '1' and '2'. */
    if (!lo->is_int || !hi->is_int) {
        if (rule->type == RULE_HASH || !placement_key_int(lo, &a) ||
            !placement_key_int(hi, &b))
            return all;
    } else {
        a = lo->i;
        b = hi->i;
    }
    if (a > b)
        return 0;
    if ((uint64_t)b - (uint64_t)a >= PLACEMENT_MAX_EXPAND)
        return all;
    for (int64_t k = a;; k++) {
        struct route_key key = {.is_int = true, .i = k};
        if (placement_locate(rule, &key, &shard, NULL) == PLACE_OK)
            m |= 1ull << shard;
        if (m == all || k == b)
            break;
    }
    return m;
}

/* ---- the marked set ---- */

const struct cfg_moving *
placement_marked(const struct cfg_rule *rule)
{
    return rule->moving.active ? &rule->moving : &rule->cleanup;
}

bool
placement_in_marked(const struct cfg_rule *rule, const struct route_key *key)
{
    return placement_in_set(rule, placement_marked(rule), key);
}

bool
placement_in_set(const struct cfg_rule *rule, const struct cfg_moving *m,
                 const struct route_key *key)
{
    char buf[24];
    const char *s;
    size_t len;
    int64_t k;
    uint32_t h;

    if (!m->active || key->is_null)
        return false;
    if (rule->type == RULE_HASH) {
        if (rule->slots == 0)
            return false;
        s = key_text(key, buf, &len);
        h = crc32_ieee(s, len) % rule->slots;
        return h >= m->slot_lo && h <= m->slot_hi;
    }
    if (rule->type != RULE_RANGE || !m->from.set)
        return false;
    if (m->from.is_string) {
        s = key_text(key, buf, &len);
        return bound_cmp_str(s, len, &m->from) >= 0 &&
               (!m->to.set || bound_cmp_str(s, len, &m->to) < 0);
    }
    if (!placement_key_int(key, &k))
        return false;
    return bound_cmp_int(k, &m->from) >= 0 &&
           (!m->to.set || bound_cmp_int(k, &m->to) < 0);
}

bool
placement_between_marked(const struct cfg_rule *rule,
                         const struct route_key *lo, const struct route_key *hi)
{
    const struct cfg_moving *m = placement_marked(rule);
    char lb[24], hb[24];
    const char *ls, *hs;
    size_t ll, hl;
    int64_t a, b;

    if (!m->active)
        return false;
    if (lo->is_null || hi->is_null)
        return false; /* BETWEEN NULL matches no row */
    if (rule->type == RULE_RANGE && m->from.is_string) {
        ls = key_text(lo, lb, &ll);
        hs = key_text(hi, hb, &hl);
        /* [lo, hi] meets [from, to) */
        return bound_cmp_str(hs, hl, &m->from) >= 0 &&
               (!m->to.set || bound_cmp_str(ls, ll, &m->to) < 0);
    }
    if (rule->type == RULE_RANGE) {
        if (!placement_key_int(lo, &a) || !placement_key_int(hi, &b))
            return true;
        return bound_cmp_int(b, &m->from) >= 0 &&
               (!m->to.set || bound_cmp_int(a, &m->to) < 0);
    }
    /* hash: short integer intervals key by key, as placement_between */
    if (!lo->is_int || !hi->is_int)
        return true;
    a = lo->i;
    b = hi->i;
    if (a > b)
        return false;
    if ((uint64_t)b - (uint64_t)a >= PLACEMENT_MAX_EXPAND)
        return true;
    for (int64_t k = a;; k++) {
        struct route_key key = {.is_int = true, .i = k};
        if (placement_in_marked(rule, &key))
            return true;
        if (k == b)
            return false;
    }
}

/* ---- the moving set in SQL ---- */

struct sqlbuf {
    char *buf;
    size_t cap, len; /* len: bytes the whole text needs */
};

static void sql_put(struct sqlbuf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sql_put(struct sqlbuf *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* `name`, backquotes doubled */
static void
sql_ident(struct sqlbuf *o, const char *name)
{
    sql_put(o, "`");
    for (const char *p = name; *p; p++)
        sql_put(o, *p == '`' ? "``" : "%c", *p);
    sql_put(o, "`");
}

/* [qual.]`column`; qual is written as given (already quoted or plain). */
static void
sql_col(struct sqlbuf *o, const char *qual, const char *column)
{
    if (qual != NULL && qual[0] != '\0')
        sql_put(o, "%s.", qual);
    sql_ident(o, column);
}

/* A column compared with a bound: bytewise for strings (hex literal). */
static void
sql_cmp(struct sqlbuf *o, const char *qual, const char *column, const char *op,
        const struct cfg_bound *b)
{
    if (b->is_string) {
        sql_put(o, "CAST(");
        sql_col(o, qual, column);
        sql_put(o, " AS BINARY) %s ", op);
        if (b->s[0] == '\0') {
            sql_put(o, "''");
            return;
        }
        sql_put(o, "X'");
        for (const unsigned char *p = (const unsigned char *)b->s; *p; p++)
            sql_put(o, "%02X", *p);
        sql_put(o, "'");
        return;
    }
    sql_col(o, qual, column);
    sql_put(o, " %s %lld", op, (long long)b->i);
}

size_t
placement_moving_sql(const struct cfg_rule *rule, const char *column, char *buf,
                     size_t cap)
{
    return placement_set_sql(rule, &rule->moving, NULL, column, buf, cap);
}

size_t
placement_set_sql(const struct cfg_rule *rule, const struct cfg_moving *m,
                  const char *qual, const char *column, char *buf, size_t cap)
{
    struct sqlbuf o = {buf, cap, 0};

    if (cap > 0)
        buf[0] = '\0';
    if (!m->active)
        return 0;
    if (rule->type == RULE_HASH) {
        sql_put(&o, "CRC32(");
        sql_col(&o, qual, column);
        sql_put(&o, ") %% %u BETWEEN %u AND %u", rule->slots, m->slot_lo,
                m->slot_hi);
        return o.len;
    }
    sql_cmp(&o, qual, column, ">=", &m->from);
    if (m->to.set) {
        sql_put(&o, " AND ");
        sql_cmp(&o, qual, column, "<", &m->to);
    }
    return o.len;
}
