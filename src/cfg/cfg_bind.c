/*
 * cfg_bind.c - owns the generic half of config loading: walking a YAML
 * mapping against a key table, converting scalars to typed fields, applying
 * defaults and bounds, and producing one diagnostic per problem without
 * stopping. It knows nothing about what the keys mean; cfg.c declares the
 * tables and cfg_check.c the checks that span several keys. How problems
 * are worded (and what is suggested) is cfg_suggest.c's; freeing, comparing
 * and copying bound values is cfg_value.c's.
 */
#include "cfg/cfg_bind.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/units.h"

static void bind_value(struct cfg_bind *b, const struct cfg_key *k,
                       const struct yamldoc_node *node,
                       const struct yamldoc_node *map, void *obj);
/* --- scalars ----------------------------------------------------------- */

static bool
parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool
cfg_bind_parse_addr(const char *text, struct cfg_addr *a, const char **why)
{
    const char *colon, *host, *p;
    size_t hlen;
    long port = 0;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL) {
            *why = "missing ']' after an IPv6 address";
            return false;
        }
        host = text + 1;
        hlen = (size_t)(close - host);
        if (close[1] != ':') {
            *why = "expected host:port";
            return false;
        }
        colon = close + 1;
        for (size_t i = 0; i < hlen; i++) {
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' &&
                host[i] != '.' && host[i] != '%') {
                *why = "bad character in IPv6 address";
                return false;
            }
        }
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            *why = "expected host:port";
            return false;
        }
        if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
            *why = "write IPv6 addresses in brackets, like [::1]:3306";
            return false;
        }
        host = text;
        hlen = (size_t)(colon - text);
        for (size_t i = 0; i < hlen; i++) {
            if (!isalnum((unsigned char)host[i]) && host[i] != '.' &&
                host[i] != '-' && host[i] != '_') {
                *why = "bad character in host name";
                return false;
            }
        }
    }
    if (hlen == 0) {
        *why = "empty host";
        return false;
    }
    p = colon + 1;
    if (*p == '\0') {
        *why = "missing port";
        return false;
    }
    for (; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p) || port > 65535) {
            *why = "port must be a number from 1 to 65535";
            return false;
        }
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535) {
        *why = "port must be a number from 1 to 65535";
        return false;
    }
    a->text = xstrdup(text);
    a->host = xstrndup(host, hlen);
    a->port = (uint16_t)port;
    return true;
}

static const char *
type_phrase(const struct cfg_key *k)
{
    switch (k->type) {
    case KT_STRING:
    case KT_SHARD_REF:
    case KT_RULE_REF:
        return "a string";
    case KT_I64:
    case KT_I32:
    case KT_U32:
        return "an integer";
    case KT_BOOL:
        return "true or false";
    case KT_NUMBER:
        return "a number";
    case KT_DURATION:
        return "a duration like 500ms, 10s, 2m or 1h";
    case KT_SIZE:
        return "a size like 512KB, 64MB or 1GB";
    case KT_ADDR:
        return "an address host:port";
    case KT_ENUM:
        return "one of its names";
    case KT_STRLIST:
    case KT_SHARD_REFS:
        return "a list of names";
    case KT_BOUND:
        return "an integer or a string";
    case KT_SECTION:
    case KT_NAMED_MAP:
        return "a mapping";
    case KT_LIST:
        return "a list";
    case KT_NODE:
    case KT_CUSTOM:
    default:
        return "a value";
    }
}

/* "'x' must be an integer, not a list" / "... not 'abc'" */
static void
wrong_type(struct cfg_bind *b, const struct cfg_key *k,
           const struct yamldoc_node *n, const char *want)
{
    if (n->kind == YAMLDOC_SCALAR && !(k->flags & KEY_SECRET))
        cfg_bind_error(b, n, NULL, "'%s' must be %s, not '%s'", k->name,
                       want ? want : type_phrase(k), n->str);
    else
        cfg_bind_error(b, n, NULL, "'%s' must be %s, not %s", k->name,
                       want ? want : type_phrase(k), yamldoc_kind_name(n));
}

static void
render(const struct cfg_key *k, double v, char *buf, size_t len)
{
    if (k->type == KT_DURATION)
        units_format_duration((int64_t)v, buf, len);
    else if (k->type == KT_SIZE)
        units_format_size((int64_t)v, buf, len);
    else
        snprintf(buf, len, "%.15g", v);
}

static bool
check_bounds(struct cfg_bind *b, const struct cfg_key *k,
             const struct yamldoc_node *n, double v)
{
    char lo[32], hi[32];

    if (k->min == 0 && k->max == 0)
        return true;
    render(k, k->min, lo, sizeof(lo));
    render(k, k->max, hi, sizeof(hi));
    if (k->flags & KEY_MIN_EXCL) {
        if (v <= k->min) {
            cfg_bind_error(b, n, NULL, "'%s' must be greater than %s, not %s",
                           k->name, lo, n->str);
            return false;
        }
        if (v > k->max) {
            cfg_bind_error(b, n, NULL, "'%s' must be at most %s, not %s",
                           k->name, hi, n->str);
            return false;
        }
        return true;
    }
    if (v < k->min || v > k->max) {
        cfg_bind_error(b, n, NULL, "'%s' must be between %s and %s, not %s",
                       k->name, lo, hi, n->str);
        return false;
    }
    return true;
}

static bool
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static void
bind_enum(struct cfg_bind *b, const struct cfg_key *k,
          const struct yamldoc_node *n, void *obj)
{
    char names[256] = "", hint[128];
    struct cfg_suggest sg;
    size_t off = 0;

    for (const struct cfg_enum *e = k->enums; e->name != NULL; e++) {
        if (strcasecmp(e->name, n->str) == 0) {
            *CFG_FIELD(obj, k->offset, int) = e->value;
            return;
        }
    }
    cfg_suggest_init(&sg, n->str);
    for (const struct cfg_enum *e = k->enums; e->name != NULL; e++) {
        cfg_suggest_offer(&sg, e->name);
        off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
                                off ? ", " : "", e->name);
        if (off >= sizeof(names))
            break;
    }
    cfg_bind_error(b, n, cfg_suggest_hint(&sg, hint, sizeof(hint)),
                   "'%s' must be one of %s, not '%s'", k->name, names, n->str);
}

/* One scalar of a name list: a list item, or the lone scalar given instead
 * of a one-item list. */
static bool
list_item_ok(struct cfg_bind *b, const struct cfg_key *k,
             const struct yamldoc_node *it)
{
    if (it->kind != YAMLDOC_SCALAR || yamldoc_is_null(it)) {
        cfg_bind_error(
            b, it, NULL, "entries of '%s' must be names, not %s", k->name,
            it->kind == YAMLDOC_SCALAR ? "empty" : yamldoc_kind_name(it));
        return false;
    }
    return true;
}

static void
bind_strlist(struct cfg_bind *b, const struct cfg_key *k,
             const struct yamldoc_node *n, void *obj, bool refs)
{
    const struct yamldoc_node *const *items;
    const struct yamldoc_node *single = n;
    size_t cnt;
    int got = 0;
    char hint[128];

    if (n->kind == YAMLDOC_SEQ) {
        items = (const struct yamldoc_node *const *)n->items;
        cnt = n->nitems;
    } else if (n->kind == YAMLDOC_SCALAR) {
        items = &single;
        cnt = 1;
    } else {
        wrong_type(b, k, n, NULL);
        return;
    }
    if (cnt == 0 && (k->flags & KEY_REQUIRED)) {
        cfg_bind_error(b, n, NULL, "'%s' needs at least one entry", k->name);
        return;
    }
    if (refs) {
        int *arr = xcalloc(cnt, sizeof(int));
        for (size_t i = 0; i < cnt; i++) {
            if (!list_item_ok(b, k, items[i]))
                continue;
            arr[got] =
                cfg_bind_find_shard(b->cfg, items[i]->str, hint, sizeof(hint));
            if (arr[got] < 0) {
                cfg_bind_error(b, items[i], hint[0] ? hint : NULL,
                               "shard '%s' is not defined", items[i]->str);
                continue;
            }
            got++;
        }
        *CFG_FIELD(obj, k->offset, int *) = arr;
    } else {
        char **arr = xcalloc(cnt, sizeof(char *));
        for (size_t i = 0; i < cnt; i++) {
            if (!list_item_ok(b, k, items[i]))
                continue;
            arr[got++] = xstrdup(items[i]->str);
        }
        *CFG_FIELD(obj, k->offset, char **) = arr;
    }
    *CFG_FIELD(obj, k->count_off, int) = got;
}

/* --- nesting ----------------------------------------------------------- */

/* Sets the message prefix; long names are cut, which only shortens text. */
static void where_set(struct cfg_bind *b, const char *fmt, ...)
    PRINTF_FMT(2, 3);

static void
where_set(struct cfg_bind *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(b->where, sizeof(b->where), fmt, ap);
    va_end(ap);
}

/* Appends a section name to the message prefix: "backend" -> "backend.pool",
 * "user 'app'" -> "user 'app' rate_limit". */
static void
where_push_section(struct cfg_bind *b, const char *name)
{
    char prev[sizeof(b->where)];

    memcpy(prev, b->where, sizeof(prev));
    if (prev[0] == '\0')
        where_set(b, "%s", name);
    else
        where_set(b, "%s%s%s", prev, strpbrk(prev, "' ") ? " " : ".", name);
}

static void
bind_section(struct cfg_bind *b, const struct cfg_key *k,
             const struct yamldoc_node *n, void *obj)
{
    char saved[sizeof(b->where)];
    void *sub = CFG_FIELD(obj, k->offset, char);

    if (n != NULL && n->kind != YAMLDOC_MAP) {
        wrong_type(b, k, n, NULL);
        n = NULL;
    }
    memcpy(saved, b->where, sizeof(saved));
    where_push_section(b, k->name);
    if (n != NULL && (k->flags & KEY_MARK)) {
        struct cfg_mark *m = CFG_FIELD(sub, k->mark_off, struct cfg_mark);
        m->line = n->line;
        m->col = n->col;
    }
    cfg_bind_map(b, k->sub, k->nsub, n, sub);
    if (k->post != NULL)
        k->post(b, n, sub);
    memcpy(b->where, saved, sizeof(saved));
}

/* Binds one entry of a list or named map. The label is replaced by
 * "<what> '<name>'" once the entry's name key is bound (see cfg_bind_map). */
static void
bind_entry(struct cfg_bind *b, const struct cfg_key *k,
           const struct yamldoc_node *n, const struct yamldoc_node *at,
           void *elem)
{
    struct cfg_mark *m = CFG_FIELD(elem, k->mark_off, struct cfg_mark);

    m->line = at->line;
    m->col = at->col;
    cfg_bind_map(b, k->sub, k->nsub, n, elem);
    if (k->post != NULL)
        k->post(b, n, elem);
}

static void
bind_list(struct cfg_bind *b, const struct cfg_key *k,
          const struct yamldoc_node *n, void *obj)
{
    char saved[sizeof(b->where)];
    char *arr;
    int got = 0;

    if (n->kind != YAMLDOC_SEQ) {
        wrong_type(b, k, n, NULL);
        return;
    }
    if (n->nitems == 0 && (k->flags & KEY_REQUIRED)) {
        cfg_bind_error(b, n, NULL, "'%s' needs at least one entry", k->name);
        return;
    }
    arr = xcalloc(n->nitems, k->elem_size);
    memcpy(saved, b->where, sizeof(saved));
    for (size_t i = 0; i < n->nitems; i++) {
        const struct yamldoc_node *it = n->items[i];
        if (it->kind != YAMLDOC_MAP) {
            cfg_bind_error(b, it, NULL,
                           "each entry of '%s' must be a mapping, not %s",
                           k->name, yamldoc_kind_name(it));
            continue;
        }
        /* Unnamed entries are numbered inside their owner: a replica is
         * "shard 's0' replica 2"; top-level ones just "policy 2". */
        if (saved[0] != '\0' && strchr(saved, '\'') != NULL)
            where_set(b, "%s %s %zu", saved, k->what, i + 1);
        else
            where_set(b, "%s %zu", k->what, i + 1);
        bind_entry(b, k, it, it, arr + (size_t)got * k->elem_size);
        got++;
        memcpy(b->where, saved, sizeof(saved));
    }
    *CFG_FIELD(obj, k->offset, char *) = arr;
    *CFG_FIELD(obj, k->count_off, int) = got;
}

static void
bind_named_map(struct cfg_bind *b, const struct cfg_key *k,
               const struct yamldoc_node *n, void *obj)
{
    char saved[sizeof(b->where)];
    char *arr;
    int got = 0;

    if (n->kind != YAMLDOC_MAP) {
        wrong_type(b, k, n, NULL);
        return;
    }
    if (n->npairs == 0 && (k->flags & KEY_REQUIRED)) {
        cfg_bind_error(b, n, NULL, "'%s' needs at least one entry", k->name);
        return;
    }
    arr = xcalloc(n->npairs, k->elem_size);
    memcpy(saved, b->where, sizeof(saved));
    for (size_t i = 0; i < n->npairs; i++) {
        const struct yamldoc_node *key = n->pairs[i].key;
        const struct yamldoc_node *val = n->pairs[i].value;
        char *elem = arr + (size_t)got * k->elem_size;

        if (key->kind != YAMLDOC_SCALAR || yamldoc_is_null(key))
            continue; /* reported by the duplicate/unknown key pass */
        for (size_t j = 0; j < i; j++) {
            const struct yamldoc_node *prev = n->pairs[j].key;
            if (prev->kind == YAMLDOC_SCALAR &&
                strcmp(prev->str, key->str) == 0)
                goto next; /* reported below, once */
        }
        where_set(b, "%s '%s'", k->what, key->str);
        if (val->kind != YAMLDOC_MAP) {
            cfg_bind_error(b, val, NULL, "must be a mapping of keys, not %s",
                           yamldoc_is_null(val) ? "empty"
                                                : yamldoc_kind_name(val));
            memcpy(b->where, saved, sizeof(saved));
            continue;
        }
        *CFG_FIELD(elem, k->name_off, char *) = xstrdup(key->str);
        bind_entry(b, k, val, key, elem);
        got++;
        memcpy(b->where, saved, sizeof(saved));
    next:;
    }
    /* Duplicate names: YAML would silently keep one of them. */
    for (size_t i = 0; i < n->npairs; i++) {
        const struct yamldoc_node *key = n->pairs[i].key;
        if (key->kind != YAMLDOC_SCALAR) {
            cfg_bind_error(b, key, NULL, "%s names must be strings, not %s",
                           k->what, yamldoc_kind_name(key));
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const struct yamldoc_node *prev = n->pairs[j].key;
            char hint[64];
            if (prev->kind != YAMLDOC_SCALAR || strcmp(prev->str, key->str))
                continue;
            snprintf(hint, sizeof(hint), "first defined at line %d",
                     prev->line);
            cfg_bind_error(b, key, hint, "duplicate %s '%s'", k->what,
                           key->str);
            break;
        }
    }
    *CFG_FIELD(obj, k->offset, char *) = arr;
    *CFG_FIELD(obj, k->count_off, int) = got;
}

/* --- dispatch ---------------------------------------------------------- */

static void
bind_ref(struct cfg_bind *b, const struct cfg_key *k,
         const struct yamldoc_node *n, void *obj)
{
    char hint[128];
    int idx;

    if (k->type == KT_SHARD_REF)
        idx = cfg_bind_find_shard(b->cfg, n->str, hint, sizeof(hint));
    else
        idx = cfg_bind_find_rule(b->cfg, n->str, hint, sizeof(hint));
    if (idx < 0)
        cfg_bind_error(b, n, hint[0] ? hint : NULL, "%s '%s' is not defined",
                       k->type == KT_SHARD_REF ? "shard" : "rule", n->str);
    *CFG_FIELD(obj, k->offset, int) = idx;
}

static void
bind_bound(struct cfg_bind *b, const struct cfg_key *k,
           const struct yamldoc_node *n, void *obj)
{
    struct cfg_bound *bd = CFG_FIELD(obj, k->offset, struct cfg_bound);
    const char *p = n->str;
    bool digits = *p == '-' || *p == '+' || isdigit((unsigned char)*p);

    if (*p == '-' || *p == '+')
        p++;
    if (*p == '\0')
        digits = false;
    for (; *p != '\0' && digits; p++)
        digits = isdigit((unsigned char)*p);

    bd->set = true;
    /* Only an unquoted integer is a number: '1000' in quotes is a string,
     * so DBAs can range-shard on zero-padded text keys. */
    if (n->plain && digits) {
        if (!parse_i64(n->str, &bd->i)) {
            cfg_bind_error(b, n, NULL, "'%s' is out of the 64-bit range: %s",
                           k->name, n->str);
            bd->set = false;
        }
        return;
    }
    bd->is_string = true;
    bd->s = xstrndup(n->str, n->len);
}

static void
bind_scalar(struct cfg_bind *b, const struct cfg_key *k,
            const struct yamldoc_node *n, void *obj)
{
    int64_t iv;
    double dv;
    bool bv;
    const char *why;
    char *end;

    if (n->kind != YAMLDOC_SCALAR) {
        wrong_type(b, k, n, NULL);
        return;
    }
    switch (k->type) {
    case KT_STRING:
        free(*CFG_FIELD(obj, k->offset, char *));
        *CFG_FIELD(obj, k->offset, char *) = xstrndup(n->str, n->len);
        break;
    case KT_I64:
    case KT_I32:
    case KT_U32:
        if (!parse_i64(n->str, &iv)) {
            wrong_type(b, k, n, NULL);
            return;
        }
        if (!check_bounds(b, k, n, (double)iv))
            return;
        if (k->type == KT_I64)
            *CFG_FIELD(obj, k->offset, int64_t) = iv;
        else if (k->type == KT_I32)
            *CFG_FIELD(obj, k->offset, int) = (int)iv;
        else
            *CFG_FIELD(obj, k->offset, uint32_t) = (uint32_t)iv;
        break;
    case KT_BOOL:
        if (!parse_bool(n->str, &bv)) {
            wrong_type(b, k, n, NULL);
            return;
        }
        *CFG_FIELD(obj, k->offset, bool) = bv;
        break;
    case KT_NUMBER:
        errno = 0;
        dv = strtod(n->str, &end);
        if (n->str[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(dv)) {
            wrong_type(b, k, n, NULL);
            return;
        }
        if (!check_bounds(b, k, n, dv))
            return;
        *CFG_FIELD(obj, k->offset, double) = dv;
        break;
    case KT_DURATION:
    case KT_SIZE:
        if (!(k->type == KT_DURATION ? units_parse_duration_ms(n->str, &iv)
                                     : units_parse_size(n->str, &iv))) {
            wrong_type(b, k, n, NULL);
            return;
        }
        if (!check_bounds(b, k, n, (double)iv))
            return;
        *CFG_FIELD(obj, k->offset, int64_t) = iv;
        break;
    case KT_ADDR: {
        struct cfg_addr *a = CFG_FIELD(obj, k->offset, struct cfg_addr);
        if (!cfg_bind_parse_addr(n->str, a, &why)) {
            cfg_bind_error(b, n, why, "bad address '%s' for '%s'", n->str,
                           k->name);
            return;
        }
        a->mark.line = n->line;
        a->mark.col = n->col;
        break;
    }
    case KT_ENUM:
        bind_enum(b, k, n, obj);
        break;
    case KT_BOUND:
        bind_bound(b, k, n, obj);
        break;
    case KT_SHARD_REF:
    case KT_RULE_REF:
        bind_ref(b, k, n, obj);
        break;
    default:
        break;
    }
}

/* A default is YAML text run through the same conversion as a value, so a
 * table reads like the documentation ("10s", "64MB", "0.0.0.0:6033"). */
static void
bind_default(struct cfg_bind *b, const struct cfg_key *k, void *obj)
{
    struct yamldoc_node dn = {.kind = YAMLDOC_SCALAR, .plain = true};

    switch (k->type) {
    case KT_SHARD_REF:
    case KT_RULE_REF:
        *CFG_FIELD(obj, k->offset, int) = -1;
        return;
    case KT_SECTION:
        bind_section(b, k, NULL, obj);
        return;
    default:
        break;
    }
    if (k->def == NULL)
        return;
    dn.str = (char *)k->def;
    dn.len = strlen(k->def);
    if (k->type == KT_CUSTOM)
        k->fn(b, k, &dn, obj);
    else
        bind_scalar(b, k, &dn, obj);
}

static void
bind_value(struct cfg_bind *b, const struct cfg_key *k,
           const struct yamldoc_node *node, const struct yamldoc_node *map,
           void *obj)
{
    if (yamldoc_is_null(node)) {
        /* Inside an absent section nothing is required: the section's own
         * key decides whether it must be there. */
        if ((k->flags & KEY_REQUIRED) && map != NULL && node != NULL)
            cfg_bind_error(b, node, NULL, "'%s' needs a value", k->name);
        bind_default(b, k, obj);
        return;
    }
    switch (k->type) {
    case KT_STRLIST:
        bind_strlist(b, k, node, obj, false);
        break;
    case KT_SHARD_REFS:
        bind_strlist(b, k, node, obj, true);
        break;
    case KT_SECTION:
        bind_section(b, k, node, obj);
        break;
    case KT_LIST:
        bind_list(b, k, node, obj);
        break;
    case KT_NAMED_MAP:
        bind_named_map(b, k, node, obj);
        break;
    case KT_NODE:
        break;
    case KT_CUSTOM:
        k->fn(b, k, node, obj);
        break;
    default:
        bind_scalar(b, k, node, obj);
        break;
    }
}

static const struct cfg_key *
key_find(const struct cfg_key *keys, size_t nkeys, const char *name)
{
    for (size_t i = 0; i < nkeys; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Unknown and repeated keys, in file order. */
static void
check_keys(struct cfg_bind *b, const struct cfg_key *keys, size_t nkeys,
           const struct yamldoc_node *map)
{
    for (size_t i = 0; i < map->npairs; i++) {
        const struct yamldoc_node *key = map->pairs[i].key;
        struct cfg_suggest sg;
        char hint[128];
        bool dup = false;

        if (key->kind != YAMLDOC_SCALAR || yamldoc_is_null(key)) {
            cfg_bind_error(
                b, key, NULL, "keys must be names, not %s",
                key->kind == YAMLDOC_SCALAR ? "empty" : yamldoc_kind_name(key));
            continue;
        }
        if (key_find(keys, nkeys, key->str) == NULL) {
            cfg_suggest_init(&sg, key->str);
            for (size_t j = 0; j < nkeys; j++)
                cfg_suggest_offer(&sg, keys[j].name);
            cfg_bind_error(b, key, cfg_suggest_hint(&sg, hint, sizeof(hint)),
                           "unknown key '%s'", key->str);
            continue;
        }
        for (size_t j = 0; j < i && !dup; j++) {
            const struct yamldoc_node *prev = map->pairs[j].key;
            if (prev->kind == YAMLDOC_SCALAR &&
                strcmp(prev->str, key->str) == 0) {
                snprintf(hint, sizeof(hint), "first given at line %d",
                         prev->line);
                cfg_bind_error(b, key, hint, "duplicate key '%s'", key->str);
                dup = true;
            }
        }
    }
}

void
cfg_bind_map(struct cfg_bind *b, const struct cfg_key *keys, size_t nkeys,
             const struct yamldoc_node *map, void *obj)
{
    for (size_t i = 0; i < nkeys; i++) {
        const struct cfg_key *k = &keys[i];
        const struct yamldoc_node *node = yamldoc_get(map, k->name);

        bind_value(b, k, node, map, obj);
        if ((k->flags & KEY_NAME) && k->type == KT_STRING) {
            const char *name = *CFG_FIELD(obj, k->offset, char *);
            const char *sp = strrchr(b->where, ' ');
            /* "shard 2" -> "shard 's0'": keep the entry kind, drop the
             * owner and number; names identify entries on their own. */
            if (name != NULL && sp != NULL) {
                char what[64];
                const char *start = b->where;
                const char *ws = sp;
                while (ws > start && ws[-1] != ' ')
                    ws--;
                snprintf(what, sizeof(what), "%.*s", (int)(sp - ws), ws);
                where_set(b, "%s '%s'", what, name);
            }
        }
    }
    /* After binding, so that an entry is already labelled by its name;
     * missing keys last, as a typo in a present key often explains them. */
    if (map == NULL)
        return;
    check_keys(b, keys, nkeys, map);
    for (size_t i = 0; i < nkeys; i++)
        if ((keys[i].flags & KEY_REQUIRED) &&
            yamldoc_get(map, keys[i].name) == NULL)
            cfg_bind_error(b, map, NULL, "missing required key '%s'",
                           keys[i].name);
}
