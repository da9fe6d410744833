/*
 * binlog_xa.c - see binlog_xa.h. Each kept row is one allocation: the
 * row, its values, then its schema, table and literal texts.
 */
#include "backend/binlog_xa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct xa_row {
    struct xa_row *next;
    struct binlog_row row;
};

struct binlog_xa_txn {
    struct binlog_xa_txn *next;
    char key[300];
    uint32_t domain;
    struct gtid hold;
    bool have_hold;
    struct xa_row *rows, **tail, *at;
};

bool
binlog_xa_begin(struct binlog_xa *x, uint32_t domain, const struct gtid *hold,
                bool have_hold)
{
    struct binlog_xa_txn *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return false;
    binlog_xa_txn_free(x->cur); /* a group cut short: never prepared */
    t->domain = domain;
    if (have_hold)
        t->hold = *hold;
    t->have_hold = have_hold;
    t->tail = &t->rows;
    x->cur = t;
    return true;
}

bool
binlog_xa_buffering(const struct binlog_xa *x)
{
    return x->cur != NULL;
}

bool
binlog_xa_add(struct binlog_xa *x, const struct binlog_row *row,
              const char *text, size_t text_len)
{
    size_t nv = (size_t)row->ncols * 2;
    size_t ls = strlen(row->schema) + 1, lt = strlen(row->table) + 1;
    struct xa_row *r;
    struct binlog_value *v;
    char *p;

    if (x->cur == NULL)
        return true;
    r = malloc(sizeof(*r) + nv * sizeof(*v) + ls + lt + text_len);
    if (r == NULL)
        return false;
    v = (struct binlog_value *)(r + 1);
    p = (char *)(v + nv);
    memcpy(p, row->schema, ls);
    memcpy(p + ls, row->table, lt);
    memcpy(p + ls + lt, text, text_len);
    r->next = NULL;
    r->row = *row;
    r->row.schema = p;
    r->row.table = p + ls;
    r->row.before = r->row.after = NULL;
    const struct binlog_value *img[2] = {row->before, row->after};
    for (int k = 0; k < 2; k++) {
        if (img[k] == NULL)
            continue;
        struct binlog_value *dst = v + (size_t)k * (size_t)row->ncols;
        for (int i = 0; i < row->ncols; i++) {
            dst[i] = img[k][i];
            dst[i].sql = p + ls + lt + (img[k][i].sql - text);
        }
        if (k == 0)
            r->row.before = dst;
        else
            r->row.after = dst;
    }
    *x->cur->tail = r;
    x->cur->tail = &r->next;
    return true;
}

void
binlog_xa_key(const char *xid, size_t gtrid_len, size_t bqual_len,
              uint32_t format_id, char *out, size_t size)
{
    size_t at = 0;

    at += (size_t)snprintf(out + at, size - at, "X'");
    for (size_t i = 0; i < gtrid_len + bqual_len && at + 8 < size; i++) {
        if (i == gtrid_len)
            at += (size_t)snprintf(out + at, size - at, "',X'");
        at += (size_t)snprintf(out + at, size - at, "%02x",
                               (unsigned char)xid[i]);
    }
    if (bqual_len == 0 && at + 4 < size)
        at += (size_t)snprintf(out + at, size - at, "',X'");
    snprintf(out + at, size - at, "',%u", format_id);
}

bool
binlog_xa_prepared(struct binlog_xa *x, const char *key)
{
    struct binlog_xa_txn *t = x->cur, **tail = &x->pending;

    if (t == NULL)
        return true;
    x->cur = NULL;
    snprintf(t->key, sizeof(t->key), "%s", key);
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = t;
    return true;
}

struct binlog_xa_txn *
binlog_xa_take(struct binlog_xa *x, const char *key)
{
    for (struct binlog_xa_txn **p = &x->pending; *p != NULL; p = &(*p)->next)
        if (strcasecmp((*p)->key, key) == 0) {
            struct binlog_xa_txn *t = *p;
            *p = t->next;
            t->next = NULL;
            t->at = t->rows;
            return t;
        }
    return NULL;
}

bool
binlog_xa_next(struct binlog_xa_txn *t, struct binlog_row *row)
{
    if (t->at == NULL)
        return false;
    *row = t->at->row;
    t->at = t->at->next;
    return true;
}

void
binlog_xa_txn_free(struct binlog_xa_txn *t)
{
    if (t == NULL)
        return;
    for (struct xa_row *r = t->rows, *n; r != NULL; r = n) {
        n = r->next;
        free(r);
    }
    free(t);
}

int
binlog_xa_hold(const struct binlog_xa *x, uint32_t domain, struct gtid *hold)
{
    /* the oldest prepared transaction of the domain holds it back */
    for (const struct binlog_xa_txn *t = x->pending; t != NULL; t = t->next)
        if (t->domain == domain) {
            if (!t->have_hold)
                return -1;
            *hold = t->hold;
            return 1;
        }
    /* the prepare group being read holds back its own domain too */
    if (x->cur != NULL && x->cur->domain == domain) {
        if (!x->cur->have_hold)
            return -1;
        *hold = x->cur->hold;
        return 1;
    }
    return 0;
}

void
binlog_xa_free(struct binlog_xa *x)
{
    binlog_xa_txn_free(x->cur);
    x->cur = NULL;
    while (x->pending != NULL) {
        struct binlog_xa_txn *t = x->pending;
        x->pending = t->next;
        binlog_xa_txn_free(t);
    }
}
