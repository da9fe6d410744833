/*
 * cfg_value.c - the lifetime of values the key-table binder produced:
 * freeing them (cfg_bind_free), comparing one key's value in two structs
 * (cfg_bind_equal, for what a reload changes) and deep-copying it
 * (cfg_bind_copy), all driven by the same key tables as binding.
 */
#include "cfg/cfg_bind.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- freeing ----------------------------------------------------------- */

void
cfg_bind_free(const struct cfg_key *keys, size_t nkeys, void *obj)
{
    for (size_t i = 0; i < nkeys; i++) {
        const struct cfg_key *k = &keys[i];
        switch (k->type) {
        case KT_STRING:
            free(*CFG_FIELD(obj, k->offset, char *));
            break;
        case KT_ADDR: {
            struct cfg_addr *a = CFG_FIELD(obj, k->offset, struct cfg_addr);
            free(a->text);
            free(a->host);
            break;
        }
        case KT_BOUND:
            free(CFG_FIELD(obj, k->offset, struct cfg_bound)->s);
            break;
        case KT_STRLIST: {
            char **arr = *CFG_FIELD(obj, k->offset, char **);
            int n = *CFG_FIELD(obj, k->count_off, int);
            for (int j = 0; j < n; j++)
                free(arr[j]);
            free(arr);
            break;
        }
        case KT_SHARD_REFS:
            free(*CFG_FIELD(obj, k->offset, int *));
            break;
        case KT_SECTION:
            cfg_bind_free(k->sub, k->nsub, CFG_FIELD(obj, k->offset, char));
            break;
        case KT_LIST:
        case KT_NAMED_MAP: {
            char *arr = *CFG_FIELD(obj, k->offset, char *);
            int n = *CFG_FIELD(obj, k->count_off, int);
            for (int j = 0; j < n; j++) {
                char *elem = arr + (size_t)j * k->elem_size;
                if (k->type == KT_NAMED_MAP)
                    free(*CFG_FIELD(elem, k->name_off, char *));
                cfg_bind_free(k->sub, k->nsub, elem);
            }
            free(arr);
            break;
        }
        default:
            break;
        }
    }
}

/* --- comparing and copying --------------------------------------------- */

static bool
str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Bytes of a field of a scalar or pointer type (lists: the pointer). */
static size_t
value_size(const struct cfg_key *k)
{
    switch (k->type) {
    case KT_STRING:
        return sizeof(char *);
    case KT_I64:
    case KT_DURATION:
    case KT_SIZE:
        return sizeof(int64_t);
    case KT_I32:
    case KT_ENUM:
    case KT_SHARD_REF:
    case KT_RULE_REF:
        return sizeof(int);
    case KT_U32:
        return sizeof(uint32_t);
    case KT_BOOL:
        return sizeof(bool);
    case KT_NUMBER:
        return sizeof(double);
    case KT_ADDR:
        return sizeof(struct cfg_addr);
    case KT_BOUND:
        return sizeof(struct cfg_bound);
    case KT_STRLIST:
    case KT_SHARD_REFS:
    case KT_LIST:
    case KT_NAMED_MAP:
        return sizeof(void *);
    default:
        return 0;
    }
}

static bool
has_count(const struct cfg_key *k)
{
    return k->type == KT_STRLIST || k->type == KT_SHARD_REFS ||
           k->type == KT_LIST || k->type == KT_NAMED_MAP;
}

bool
cfg_bind_equal(const struct cfg_key *k, const void *a, const void *b)
{
    const char *pa = (const char *)a + k->offset;
    const char *pb = (const char *)b + k->offset;
    int na = 0, nb = 0;

    if (has_count(k)) {
        na = *(const int *)((const char *)a + k->count_off);
        nb = *(const int *)((const char *)b + k->count_off);
        if (na != nb)
            return false;
    }
    switch (k->type) {
    case KT_STRING:
        return str_eq(*(char *const *)pa, *(char *const *)pb);
    case KT_ADDR: {
        const struct cfg_addr *x = (const void *)pa, *y = (const void *)pb;
        return str_eq(x->host, y->host) && x->port == y->port;
    }
    case KT_BOUND: {
        const struct cfg_bound *x = (const void *)pa, *y = (const void *)pb;
        if (x->set != y->set)
            return false;
        if (!x->set)
            return true;
        if (x->is_string != y->is_string)
            return false;
        return x->is_string ? str_eq(x->s, y->s) : x->i == y->i;
    }
    case KT_NUMBER:
        return *(const double *)pa == *(const double *)pb;
    case KT_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    case KT_I64:
    case KT_DURATION:
    case KT_SIZE:
    case KT_I32:
    case KT_ENUM:
    case KT_SHARD_REF:
    case KT_RULE_REF:
    case KT_U32:
        return memcmp(pa, pb, value_size(k)) == 0;
    case KT_STRLIST: {
        char *const *x = *(char **const *)pa, *const *y = *(char **const *)pb;
        for (int i = 0; i < na; i++)
            if (!str_eq(x[i], y[i]))
                return false;
        return true;
    }
    case KT_SHARD_REFS:
        return na == 0 || memcmp(*(int *const *)pa, *(int *const *)pb,
                                 (size_t)na * sizeof(int)) == 0;
    case KT_SECTION:
        for (size_t i = 0; i < k->nsub; i++)
            if (!cfg_bind_equal(&k->sub[i], pa, pb))
                return false;
        return true;
    case KT_LIST:
    case KT_NAMED_MAP: {
        const char *x = *(char *const *)pa, *y = *(char *const *)pb;
        for (int j = 0; j < na; j++) {
            const char *ex = x + (size_t)j * k->elem_size;
            const char *ey = y + (size_t)j * k->elem_size;
            if (k->type == KT_NAMED_MAP &&
                !str_eq(*(char *const *)(ex + k->name_off),
                        *(char *const *)(ey + k->name_off)))
                return false;
            for (size_t i = 0; i < k->nsub; i++)
                if (!cfg_bind_equal(&k->sub[i], ex, ey))
                    return false;
        }
        return true;
    }
    case KT_NODE:
    case KT_CUSTOM:
        return k->eq != NULL && k->eq(k, a, b);
    }
    return false;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

/* obj holds a shallow copy of another struct's keys: gives it its own
 * copies of everything those keys point to. */
static void
dup_owned(const struct cfg_key *keys, size_t nkeys, void *obj)
{
    for (size_t i = 0; i < nkeys; i++) {
        const struct cfg_key *k = &keys[i];
        void *p = CFG_FIELD(obj, k->offset, char);
        int n = has_count(k) ? *CFG_FIELD(obj, k->count_off, int) : 0;

        switch (k->type) {
        case KT_STRING:
            *(char **)p = dup_or_null(*(char **)p);
            break;
        case KT_ADDR: {
            struct cfg_addr *a = p;
            a->text = dup_or_null(a->text);
            a->host = dup_or_null(a->host);
            break;
        }
        case KT_BOUND: {
            struct cfg_bound *bd = p;
            bd->s = dup_or_null(bd->s);
            break;
        }
        case KT_STRLIST: {
            char **src = *(char ***)p, **arr = NULL;
            if (src != NULL) {
                arr = xcalloc((size_t)n + 1, sizeof(char *));
                for (int j = 0; j < n; j++)
                    arr[j] = dup_or_null(src[j]);
            }
            *(char ***)p = arr;
            break;
        }
        case KT_SHARD_REFS: {
            int *src = *(int **)p, *arr = NULL;
            if (src != NULL) {
                arr = xcalloc((size_t)n + 1, sizeof(int));
                memcpy(arr, src, (size_t)n * sizeof(int));
            }
            *(int **)p = arr;
            break;
        }
        case KT_SECTION:
            dup_owned(k->sub, k->nsub, p);
            break;
        case KT_LIST:
        case KT_NAMED_MAP: {
            char *src = *(char **)p, *arr = NULL;
            if (src != NULL) {
                arr = xcalloc((size_t)n + 1, k->elem_size);
                memcpy(arr, src, (size_t)n * k->elem_size);
                for (int j = 0; j < n; j++) {
                    char *elem = arr + (size_t)j * k->elem_size;
                    if (k->type == KT_NAMED_MAP)
                        *CFG_FIELD(elem, k->name_off, char *) =
                            dup_or_null(*CFG_FIELD(elem, k->name_off, char *));
                    dup_owned(k->sub, k->nsub, elem);
                }
            }
            *(char **)p = arr;
            break;
        }
        case KT_NODE:
        case KT_CUSTOM:
            /* what they bind is the owner's to copy */
            abort();
        default:
            break;
        }
    }
}

void
cfg_bind_copy_entries(const struct cfg_key *k, void *dst, const void *src,
                      int n)
{
    char *d = *CFG_FIELD(dst, k->offset, char *);
    const char *s = *(char *const *)((const char *)src + k->offset);

    for (int j = 0; j < n; j++) {
        char *ed = d + (size_t)j * k->elem_size;
        if (k->type == KT_NAMED_MAP)
            free(*CFG_FIELD(ed, k->name_off, char *));
        cfg_bind_free(k->sub, k->nsub, ed);
        memcpy(ed, s + (size_t)j * k->elem_size, k->elem_size);
        if (k->type == KT_NAMED_MAP)
            *CFG_FIELD(ed, k->name_off, char *) =
                dup_or_null(*CFG_FIELD(ed, k->name_off, char *));
        dup_owned(k->sub, k->nsub, ed);
    }
}

void
cfg_bind_copy(const struct cfg_key *k, void *dst, const void *src)
{
    if (k->type == KT_SECTION) {
        for (size_t i = 0; i < k->nsub; i++)
            cfg_bind_copy(&k->sub[i], CFG_FIELD(dst, k->offset, char),
                          (const char *)src + k->offset);
        return;
    }
    if (k->type == KT_NODE || k->type == KT_CUSTOM)
        abort(); /* the owner copies what they bind */
    cfg_bind_free(k, 1, dst);
    memcpy(CFG_FIELD(dst, k->offset, char), (const char *)src + k->offset,
           value_size(k));
    if (has_count(k))
        memcpy(CFG_FIELD(dst, k->count_off, int),
               (const char *)src + k->count_off, sizeof(int));
    dup_owned(k, 1, dst);
}
