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

size_t
sql_info_save(const struct stmt_info *st, void *buf, size_t cap)
{
    struct part p[NPARTS];
    size_t need = HEAD;
    unsigned char *o = buf;

    parts_of(st, p);
    for (int i = 0; i < NPARTS; i++)
        need += p[i].len;
    if (need > cap)
        return need;
    memcpy(o, st, HEAD);
    o += HEAD;
    for (int i = 0; i < NPARTS; i++) {
        if (p[i].len == 0)
            continue;
        memcpy(o, (const unsigned char *)st + p[i].off, p[i].len);
        o += p[i].len;
    }
    return need;
}

void
sql_info_restore(const void *buf, struct stmt_info *out)
{
    struct part p[NPARTS];
    const unsigned char *in = buf;

    memcpy(out, in, HEAD);
    in += HEAD;
    parts_of(out, p); /* the counts just restored */
    for (int i = 0; i < NPARTS; i++) {
        if (p[i].len == 0) /* most arrays are empty: no call */
            continue;
        memcpy((unsigned char *)out + p[i].off, in, p[i].len);
        in += p[i].len;
    }
}
