/*
 * classify_save.c - sql_info_save() / sql_info_restore(): a classification
 * kept compactly beside the text it describes. A struct stmt_info is about
 * 27 KB of fixed arrays of which a statement fills a few entries; the copy
 * holds the scalars and the defined prefix of each array only (a point
 * select: under 1 KB), so restoring it costs a few hundred bytes of copying
 * instead of a new pass over the text.
 */
#include "sql/classify.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"

/* Everything before `tables` is scalar (sql_classify() resets it whole). */
#define HEAD offsetof(struct stmt_info, tables)

struct part {
    size_t off; /* of the array in struct stmt_info */
    size_t len; /* bytes of its defined entries */
};

#define NPARTS 12

/* The defined entries of each array, from the counts in st. */
static void
parts_of(const struct stmt_info *st, struct part *p)
{
    int n = 0;

#define PART(arr, count)                                                       \
    do {                                                                       \
        p[n].off = offsetof(struct stmt_info, arr);                            \
        p[n].len =                                                             \
            MIN((size_t)(count), ARRAY_SIZE(st->arr)) * sizeof(st->arr[0]);    \
        n++;                                                                   \
    } while (0)
    PART(tables, st->ntables);
    PART(preds, st->npreds);
    PART(values, st->nvalues);
    PART(groups, st->ngroups + 1u); /* ids are 1..ngroups */
    PART(blocks, st->nblocks);
    PART(sets, st->nsets);
    PART(assigns, st->nassigns);
    PART(items, st->nitems);
    PART(group_items, st->ngroup_items);
    PART(order, st->norder);
    PART(cols, st->ncols);
    PART(ctes, st->nctes);
#undef PART
}

/* The copy: the number of arrays with entries (uint16), their parts (a
 * struct part16 each), the scalars, then those entries array by array. So
 * a restore copies what is there and computes nothing. */
struct part16 {
    uint16_t off, len;
};
_Static_assert(sizeof(struct stmt_info) <= UINT16_MAX,
               "offsets and lengths of struct stmt_info fit in 16 bits");

size_t
sql_info_save(const struct stmt_info *st, void *buf, size_t cap)
{
    struct part p[NPARTS];
    struct part16 q[NPARTS];
    uint16_t n = 0;
    size_t need;
    unsigned char *o = buf;

    parts_of(st, p);
    for (int i = 0; i < NPARTS; i++)
        if (p[i].len > 0) /* the largest array is under 64 KB */
            q[n++] = (struct part16){(uint16_t)p[i].off, (uint16_t)p[i].len};
    need = sizeof(n) + n * sizeof(q[0]) + HEAD;
    for (int i = 0; i < n; i++)
        need += q[i].len;
    if (need > cap)
        return need;
    memcpy(o, &n, sizeof(n));
    o += sizeof(n);
    memcpy(o, q, n * sizeof(q[0]));
    o += n * sizeof(q[0]);
    memcpy(o, st, HEAD);
    o += HEAD;
    for (int i = 0; i < n; i++) {
        memcpy(o, (const unsigned char *)st + q[i].off, q[i].len);
        o += q[i].len;
    }
    return need;
}

void
sql_info_restore(const void *buf, struct stmt_info *out)
{
    const unsigned char *in = buf, *data;
    uint16_t n;

    memcpy(&n, in, sizeof(n));
    in += sizeof(n);
    data = in + n * sizeof(struct part16);
    memcpy(out, data, HEAD);
    data += HEAD;
    for (int i = 0; i < n; i++) {
        struct part16 q;
        memcpy(&q, in + i * sizeof(q), sizeof(q));
        memcpy((unsigned char *)out + q.off, data, q.len);
        data += q.len;
    }
}
