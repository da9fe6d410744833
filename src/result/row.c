/*
 * row.c - result rows read and written by the result's shape (see row.h):
 * text rows through proto's text-row reader, binary rows through
 * binproto's, both into binproto_values pointing into the packet.
 */
#include "result/row.h"

#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "result/column.h"

bool
row_parse(const struct row_shape *rs, const uint16_t *types, const uint8_t *p,
          size_t len, struct binproto_value *v, size_t *vis_len)
{
    if (rs->binary) {
        *vis_len = 0;
        return binproto_parse_row(p, len, types, rs->ncols, v);
    }
    if (!rs_parse_text_row(p, len, rs->ncols, v, rs->visible, vis_len))
        return false;
    for (uint32_t c = 0; c < rs->ncols; c++)
        v[c].type = rs->cols[c].type;
    return true;
}

bool
row_encode(const struct row_shape *rs, struct pktbuf *pb,
           const struct binproto_value *v, size_t n)
{
    if (pb->cap > ROW_SHRINK_AT) {
        pktbuf_free(pb);
        pktbuf_init(pb);
    }
    pktbuf_reset(pb);
    if (rs->binary)
        return binproto_write_row(pb, v, n) && !pb->failed;
    for (size_t c = 0; c < n; c++) {
        if (v[c].is_null)
            pktbuf_put_u8(pb, 0xfb);
        else
            pktbuf_put_lenenc_str(pb, v[c].str, v[c].len);
    }
    return !pb->failed;
}

void
row_copy_set(struct row_copy *rc, uint32_t ncols, const uint8_t *p, size_t len,
             const struct binproto_value *v)
{
    if (rc->cap < len || rc->p == NULL || rc->cap > ROW_SHRINK_AT) {
        free(rc->p);
        rc->cap = MAX(len, (size_t)64);
        rc->p = xmalloc(rc->cap);
    }
    if (rc->v == NULL)
        rc->v = xcalloc(ncols, sizeof(*rc->v));
    if (len > 0)
        memcpy(rc->p, p, len);
    rc->len = len;
    for (uint32_t c = 0; c < ncols; c++) {
        rc->v[c] = v[c];
        if (v[c].str != NULL && p != NULL && v[c].str >= p &&
            v[c].str <= p + len)
            rc->v[c].str = rc->p + (v[c].str - p);
    }
}

void
row_copy_free(struct row_copy *rc)
{
    free(rc->p);
    free(rc->v);
    memset(rc, 0, sizeof(*rc));
}
