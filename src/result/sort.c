/*
 * sort.c - row ordering by keys and the in-memory sort (see sort.h). Rows
 * are single allocations (values, then the payload they point into), so
 * cutting and clearing are one free() per row.
 */
#include "result/sort.h"

#include <stdlib.h>
#include <string.h>

#include "result/column.h"
#include "result/row.h"
#include "result/value.h"

int
sort_keys_cmp(const struct row_shape *rs, const struct sort_key *k, int nk,
              const struct binproto_value *a, const struct binproto_value *b)
{
    for (int i = 0; i < nk; i++) {
        int c = value_cmp(&rs->cols[k[i].col], rs->binary, &a[k[i].pos],
                          &b[k[i].pos]);
        if (c != 0)
            return k[i].desc ? -c : c;
    }
    return 0;
}

bool
sort_keys_has(const struct sort_key *k, int n, uint16_t col)
{
    for (int i = 0; i < n; i++) {
        if (k[i].col == col)
            return true;
    }
    return false;
}

void
sort_keys_add_visible(struct sort_key *k, int *n, uint32_t visible)
{
    for (uint32_t c = 0; c < visible; c++) {
        if (!sort_keys_has(k, *n, (uint16_t)c)) {
            k[*n].col = k[*n].pos = (uint16_t)c;
            k[*n].desc = false;
            (*n)++;
        }
    }
}

void
sort_init(struct sort_buf *sb, const struct row_shape *rs,
          const struct sort_key *keys, int nkeys, bool distinct, uint64_t keep,
          size_t max_rows)
{
    memset(sb, 0, sizeof(*sb));
    sb->rs = rs;
    sb->distinct = distinct;
    sb->keep = keep;
    sb->max_rows = max_rows;
    sb->keys = xcalloc((size_t)MAX(nkeys, 1), sizeof(sb->keys[0]));
    sb->idx = xcalloc(rs->ncols, sizeof(sb->idx[0]));
    sb->cols = xcalloc(rs->ncols, sizeof(sb->cols[0]));
    for (uint32_t c = 0; c < rs->ncols; c++)
        sb->idx[c] = -1;
    for (int i = 0; i < nkeys; i++) {
        uint16_t c = keys[i].col;
        if (sb->idx[c] < 0) {
            sb->idx[c] = sb->nkept;
            sb->cols[sb->nkept++] = c;
        }
        sb->keys[i] = keys[i];
        sb->keys[i].pos = (uint16_t)sb->idx[c];
    }
    sb->nkeys = nkeys;
}

static int
row_cmp(const void *a, const void *b, void *arg)
{
    const struct sort_buf *sb = arg;
    const struct sort_row *x = *(const struct sort_row *const *)a;
    const struct sort_row *y = *(const struct sort_row *const *)b;

    return sort_keys_cmp(sb->rs, sb->keys, sb->nkeys, x->v, y->v);
}

static bool
row_same(const struct sort_buf *sb, const struct sort_row *x,
         const struct sort_row *y)
{
    for (uint32_t c = 0; c < sb->rs->visible; c++) {
        int pos = sb->idx[c];
        if (value_cmp(&sb->rs->cols[c], sb->rs->binary, &x->v[pos],
                      &y->v[pos]) != 0)
            return false;
    }
    return true;
}

/* Sorts the held rows, drops duplicates under distinct, and keeps at most
 * keep of them. */
static void
sort_cut(struct sort_buf *sb, uint64_t keep)
{
    size_t k = 0;

    if (sb->n > 1) /* rows may be NULL when empty: qsort_r's must not */
        qsort_r(sb->rows, sb->n, sizeof(sb->rows[0]), row_cmp, sb);
    for (size_t i = 0; i < sb->n; i++) {
        if ((sb->distinct && k > 0 &&
             row_same(sb, sb->rows[k - 1], sb->rows[i])) ||
            k >= keep) {
            free(sb->rows[i]);
            continue;
        }
        sb->rows[k++] = sb->rows[i];
    }
    sb->n = k;
}

bool
sort_room(struct sort_buf *sb)
{
    if (sb->n >= sb->max_rows && sb->keep < sb->n)
        sort_cut(sb, sb->keep);
    return sb->n < sb->max_rows;
}

enum sort_status
sort_add(struct sort_buf *sb, const uint8_t *p, size_t len,
         const uint16_t *types, struct binproto_value *scratch)
{
    struct sort_row *r;
    size_t vis_len;

    if (!sort_room(sb))
        return SORT_FULL;
    r = xmalloc(sizeof(*r) + sizeof(r->v[0]) * (size_t)sb->nkept + len);
    r->p = (uint8_t *)&r->v[sb->nkept];
    r->len = len;
    memcpy(r->p, p, len);
    if (!row_parse(sb->rs, types, r->p, len, scratch, &vis_len)) {
        free(r);
        return SORT_BAD_ROW;
    }
    r->vis_len = vis_len;
    for (int i = 0; i < sb->nkept; i++)
        r->v[i] = scratch[sb->cols[i]];
    if (sb->n == sb->cap) {
        sb->cap = sb->cap ? sb->cap * 2 : 256;
        sb->rows = xrealloc(sb->rows, sb->cap * sizeof(sb->rows[0]));
    }
    sb->rows[sb->n++] = r;
    /* A LIMIT bounds what can ever be sent: sort and cut now and then. */
    if (sb->keep < sb->max_rows &&
        sb->n >= MAX((size_t)SORT_PRUNE_MIN, 2 * (size_t)sb->keep))
        sort_cut(sb, sb->keep);
    return SORT_OK;
}

void
sort_finish(struct sort_buf *sb)
{
    if (sb->sorted)
        return;
    sort_cut(sb, sb->keep);
    sb->sorted = true;
}

const struct sort_row *
sort_peek(const struct sort_buf *sb)
{
    return sb->next < sb->n ? sb->rows[sb->next] : NULL;
}

void
sort_pop(struct sort_buf *sb)
{
    if (sb->next < sb->n) {
        free(sb->rows[sb->next]);
        sb->rows[sb->next++] = NULL;
    }
}

void
sort_clear(struct sort_buf *sb)
{
    for (size_t i = sb->next; i < sb->n; i++)
        free(sb->rows[i]);
    sb->n = sb->next = 0;
}

void
sort_free(struct sort_buf *sb)
{
    sort_clear(sb);
    free(sb->rows);
    free(sb->keys);
    free(sb->idx);
    free(sb->cols);
    memset(sb, 0, sizeof(*sb));
}
