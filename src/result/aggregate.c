/*
 * aggregate.c - accumulators for COUNT, SUM, MIN, MAX and AVG across the
 * shards' partial rows (see aggregate.h). Exact sums are struct dec digit
 * arrays; MIN/MAX copy the best value's bytes, since the row it came from
 * is gone by the time the group ends.
 */
#include "result/aggregate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/resultset.h"
#include "result/column.h"
#include "result/row.h"
#include "result/value.h"

void
aggs_init(struct aggs *a, const struct row_shape *rs, uint16_t *otypes)
{
    memset(a, 0, sizeof(*a));
    a->rs = rs;
    a->otypes = otypes;
    a->kind = xcalloc(rs->ncols, sizeof(a->kind[0]));
    a->avg_cnt = xcalloc(rs->ncols, sizeof(a->avg_cnt[0]));
    a->acc = xcalloc(rs->ncols, sizeof(a->acc[0]));
}

bool
aggs_set(struct aggs *a, uint32_t col, uint8_t kind, uint32_t col2)
{
    if (col >= a->rs->ncols || kind == AGG_NONE || kind > AGG_AVG_DISTINCT)
        return false;
    a->kind[col] = kind;
    if (kind != AGG_AVG)
        return true;
    if (col2 >= a->rs->ncols || col2 == col)
        return false;
    a->avg_cnt[col] = (int32_t)col2;
    return true;
}

/* AVG of exact numbers is a DECIMAL with 4 more digits, as the server
 * would have typed it: the definition packet is patched in place. */
static void
retype_avg(uint8_t *def, uint32_t def_len, const struct column *c)
{
    struct rs_coldef d;

    if (!rs_parse_coldef(def, def_len, &d))
        return; /* read once already: cannot happen */
    d.length = c->length + 4;
    d.type = MYSQL_TYPE_NEWDECIMAL;
    d.flags = (uint16_t)(c->flags & ~UNSIGNED_FLAG);
    d.decimals = (uint8_t)MIN(c->decimals + 4u, DEC_MAX_SCALE);
    rs_patch_coldef(def, def_len, &d);
}

static bool
is_distinct(uint8_t k)
{
    return k == AGG_COUNT_DISTINCT || k == AGG_SUM_DISTINCT ||
           k == AGG_AVG_DISTINCT;
}

/* The type the server gives COUNT/SUM/AVG(DISTINCT x), from x's column. */
static void
distinct_type(uint8_t k, const struct column *x, struct rs_coldef *d)
{
    d->charset = CHARSET_BINARY;
    d->flags = BINARY_FLAG | NUM_FLAG;
    if (k == AGG_COUNT_DISTINCT) {
        d->type = MYSQL_TYPE_LONGLONG;
        d->length = 21;
        d->decimals = 0;
        d->flags |= NOT_NULL_FLAG;
    } else if (x->cls == COL_FLOAT) {
        d->type = MYSQL_TYPE_DOUBLE;
        d->length = 23;
        d->decimals = x->decimals;
    } else {
        unsigned sc = x->cls == COL_DEC ? x->decimals : 0;
        if (k == AGG_AVG_DISTINCT)
            sc = MIN(sc + 4u, (unsigned)DEC_MAX_SCALE);
        d->type = MYSQL_TYPE_NEWDECIMAL;
        d->length = MIN(x->length + 22u, 67u);
        d->decimals = (uint8_t)sc;
    }
}

void
aggs_out_columns(const struct aggs *a, struct column *out)
{
    const struct column *cols = a->rs->cols;

    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        struct rs_coldef d;
        out[c] = cols[c];
        if (!is_distinct(a->kind[c]))
            continue;
        memset(&d, 0, sizeof(d));
        distinct_type(a->kind[c], &cols[c], &d);
        out[c].type = d.type;
        out[c].flags = d.flags;
        out[c].charset = d.charset;
        out[c].length = d.length;
        out[c].decimals = d.decimals;
        out[c].cls = d.type == MYSQL_TYPE_LONGLONG ? COL_INT
                     : d.type == MYSQL_TYPE_DOUBLE ? COL_FLOAT
                                                   : COL_DEC;
        out[c].ci = out[c].pad = false;
        out[c].tw = d.type;
    }
}

/* Case-insensitive collations whose order and equality over printable
 * ASCII are the proxy's (letters folded to upper case, bytes otherwise):
 * latin1_swedish_ci, ascii_general_ci, utf8mb3_general_ci,
 * utf8mb4_general_ci, and their NO PAD variants. */
static bool
ascii_fold_collation(uint16_t id)
{
    static const uint16_t ok[] = {8, 11, 33, 45, 1032, 1035, 1057, 1069};

    for (unsigned i = 0; i < ARRAY_SIZE(ok); i++)
        if (ok[i] == id)
            return true;
    return false;
}

const char *
aggs_check(const struct aggs *a, char *out, size_t cap)
{
    const struct column *cols = a->rs->cols;

    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        if (!is_distinct(a->kind[c]) || cols[c].cls != COL_STR || !cols[c].ci ||
            ascii_fold_collation(cols[c].charset))
            continue;
        snprintf(out, cap,
                 "myshard: DISTINCT aggregate over column %u, whose "
                 "collation (id %u) the proxy cannot compare exactly, "
                 "across shards is not supported; use a _bin or "
                 "*_general_ci collation, or add the shard key to the WHERE "
                 "clause",
                 (unsigned)c + 1, (unsigned)cols[c].charset);
        return out;
    }
    return NULL;
}

void
aggs_prepare(struct aggs *a, uint8_t *const *defs, const uint32_t *def_len)
{
    const struct column *cols = a->rs->cols;

    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        struct rs_coldef d;
        uint8_t k = a->kind[c];
        if (!is_distinct(k))
            continue;
        a->acc[c].dbl = k != AGG_COUNT_DISTINCT && cols[c].cls == COL_FLOAT;
        if (!rs_parse_coldef(defs[c], def_len[c], &d))
            continue; /* read once already: cannot happen */
        distinct_type(k, &cols[c], &d);
        rs_patch_coldef(defs[c], def_len[c], &d);
        a->otypes[c] = d.type;
    }

    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        if (a->kind[c] == AGG_AVG && a->kind[a->avg_cnt[c]] == AGG_NONE)
            a->kind[a->avg_cnt[c]] = AGG_COUNT;
    }
    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        uint8_t k = a->kind[c];
        if (is_distinct(k))
            continue;
        a->acc[c].dbl =
            (k == AGG_SUM || k == AGG_AVG) && cols[c].cls == COL_FLOAT;
        if (k == AGG_COUNT)
            a->acc[c].dbl = cols[c].cls == COL_FLOAT;
        if (k == AGG_AVG &&
            (cols[c].cls == COL_INT || cols[c].cls == COL_DEC)) {
            retype_avg(defs[c], def_len[c], &cols[c]);
            a->otypes[c] = MYSQL_TYPE_NEWDECIMAL;
        }
    }
}

static void
acc_reset(struct agg_acc *acc)
{
    acc->any = false;
    acc->cnt = 0;
    acc->d = 0;
    memset(&acc->x, 0, sizeof(acc->x));
    memset(&acc->best, 0, sizeof(acc->best));
}

static void
acc_keep_best(struct agg_acc *acc, const struct binproto_value *v)
{
    acc->best = *v;
    if (v->str != NULL) {
        if (acc->bcap < v->len || acc->bbuf == NULL) {
            free(acc->bbuf);
            acc->bcap = MAX(v->len, (size_t)32);
            acc->bbuf = xmalloc(acc->bcap);
        }
        memcpy(acc->bbuf, v->str, v->len);
        acc->best.str = acc->bbuf;
    }
}

/* Text the ASCII-folding comparison gets right: printable ASCII. */
static bool
printable_ascii(const struct binproto_value *v)
{
    for (size_t i = 0; i < v->len; i++)
        if (v->str[i] < 0x20 || v->str[i] > 0x7e)
            return false;
    return true;
}

/* DISTINCT: v counts when it differs from the last value counted (the
 * group's rows come ordered by this column). */
static enum agg_status
acc_distinct(struct aggs *a, uint32_t c, const struct binproto_value *v)
{
    struct agg_acc *acc = &a->acc[c];
    const struct column *col = &a->rs->cols[c];
    bool binary = a->rs->binary;
    struct dec x;

    if (col->cls == COL_STR && col->ci && v->str != NULL && !printable_ascii(v))
        return AGG_UNCERTAIN;
    if (acc->any && value_cmp(col, binary, v, &acc->best) == 0)
        return AGG_OK;
    if (a->kind[c] != AGG_COUNT_DISTINCT) {
        if (acc->dbl)
            acc->d += value_double(binary, v);
        else if (!value_dec(binary, v, &x))
            return AGG_NOT_NUMBER;
        else if (!dec_add(&acc->x, &x))
            return AGG_SUM_OVERFLOW;
    }
    acc_keep_best(acc, v);
    acc->any = true;
    acc->cnt++;
    return AGG_OK;
}

static enum agg_status
acc_add(struct aggs *a, uint32_t c, const struct binproto_value *v)
{
    struct agg_acc *acc = &a->acc[c];
    bool binary = a->rs->binary;
    struct dec x;
    int cmp;

    if (v->is_null)
        return AGG_OK;
    switch (a->kind[c]) {
    case AGG_COUNT:
    case AGG_SUM:
    case AGG_AVG:
        if (acc->dbl)
            acc->d += value_double(binary, v);
        else if (!value_dec(binary, v, &x))
            return AGG_NOT_NUMBER;
        else if (!dec_add(&acc->x, &x))
            return AGG_SUM_OVERFLOW;
        acc->any = true;
        break;
    case AGG_COUNT_DISTINCT:
    case AGG_SUM_DISTINCT:
    case AGG_AVG_DISTINCT:
        return acc_distinct(a, c, v);
    case AGG_MIN:
    case AGG_MAX:
        cmp = acc->any ? value_cmp(&a->rs->cols[c], binary, v, &acc->best) : 0;
        if (!acc->any || (a->kind[c] == AGG_MIN ? cmp < 0 : cmp > 0))
            acc_keep_best(acc, v);
        acc->any = true;
        break;
    default:
        break;
    }
    return AGG_OK;
}

enum agg_status
aggs_start(struct aggs *a, const struct binproto_value *v, uint32_t *col)
{
    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        if (a->kind[c] != AGG_NONE)
            acc_reset(&a->acc[c]);
    }
    return aggs_add(a, v, col);
}

enum agg_status
aggs_add(struct aggs *a, const struct binproto_value *v, uint32_t *col)
{
    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        enum agg_status st;
        if (a->kind[c] == AGG_NONE)
            continue;
        st = acc_add(a, c, &v[c]);
        if (st != AGG_OK) {
            *col = c;
            return st;
        }
    }
    return AGG_OK;
}

/* Sets v to the number in acc->txt (and d for doubles) as column c's
 * output type says. */
static void
set_number(const struct aggs *a, uint32_t c, struct agg_acc *acc, double d,
           struct binproto_value *v)
{
    uint16_t tw = a->otypes[c];

    memset(v, 0, sizeof(*v));
    v->type = (uint8_t)(tw & 0xff);
    v->is_unsigned = (tw & BINPROTO_UNSIGNED) != 0;
    v->str = (const uint8_t *)acc->txt;
    v->len = strlen(acc->txt);
    if (!a->rs->binary)
        return;
    if (column_type_is_int(v->type)) {
        v->i64 = strtoll(acc->txt, NULL, 10);
        v->u64 =
            v->is_unsigned ? strtoull(acc->txt, NULL, 10) : (uint64_t)v->i64;
        v->str = NULL;
        v->len = 0;
    } else if (column_type_is_float(v->type)) {
        v->f64 = d;
        v->str = NULL;
        v->len = 0;
    }
}

/* The sum as text (exact, or the shortest double). */
static double
sum_text(struct agg_acc *acc)
{
    if (acc->dbl) {
        value_fmt_double(acc->d, acc->txt, sizeof(acc->txt));
        return acc->d;
    }
    dec_format(&acc->x, acc->txt);
    return 0;
}

/* The count of AVG's COUNT column as an integer. */
static uint64_t
avg_count(const struct agg_acc *n)
{
    struct dec cnt = n->x;
    char ct[DEC_TEXT_MAX];

    if (n->dbl) /* NaN and negatives count 0, beyond 2^64 saturate */
        return !(n->d > 0) ? 0 : n->d >= 0x1p64 ? UINT64_MAX : (uint64_t)n->d;
    cnt.neg = false;
    dec_format(&cnt, ct);
    return strtoull(ct, NULL, 10);
}

/* Column c's merged value for the group into v. */
static enum agg_status
acc_result(struct aggs *a, uint32_t c, struct binproto_value *v)
{
    struct agg_acc *acc = &a->acc[c];
    struct dec q;
    double d;
    uint64_t count;

    switch (a->kind[c]) {
    case AGG_COUNT:
        d = sum_text(acc);
        set_number(a, c, acc, d, v);
        return AGG_OK;
    case AGG_SUM:
        if (!acc->any)
            break;
        d = sum_text(acc);
        set_number(a, c, acc, d, v);
        return AGG_OK;
    case AGG_AVG:
        count = avg_count(&a->acc[a->avg_cnt[c]]);
        if (!acc->any || count == 0)
            break;
        d = 0;
        if (acc->dbl) {
            d = acc->d / (double)count;
            value_fmt_double(d, acc->txt, sizeof(acc->txt));
        } else {
            unsigned scale =
                MIN(a->rs->cols[c].decimals + 4u, (unsigned)DEC_MAX_SCALE);
            if (!dec_avg(&acc->x, count, scale, &q))
                return AGG_AVG_OVERFLOW;
            dec_format(&q, acc->txt);
        }
        set_number(a, c, acc, d, v);
        return AGG_OK;
    case AGG_MIN:
    case AGG_MAX:
        if (!acc->any)
            break;
        *v = acc->best;
        return AGG_OK;
    case AGG_COUNT_DISTINCT:
        snprintf(acc->txt, sizeof(acc->txt), "%llu",
                 (unsigned long long)acc->cnt);
        set_number(a, c, acc, (double)acc->cnt, v);
        return AGG_OK;
    case AGG_SUM_DISTINCT:
        if (!acc->any)
            break;
        d = sum_text(acc);
        set_number(a, c, acc, d, v);
        return AGG_OK;
    case AGG_AVG_DISTINCT:
        if (!acc->any)
            break;
        d = 0;
        if (acc->dbl) {
            d = acc->d / (double)acc->cnt;
            value_fmt_double(d, acc->txt, sizeof(acc->txt));
        } else {
            unsigned scale = MIN(acc->x.scale + 4u, (unsigned)DEC_MAX_SCALE);
            if (!dec_avg(&acc->x, acc->cnt, scale, &q))
                return AGG_AVG_OVERFLOW;
            dec_format(&q, acc->txt);
        }
        set_number(a, c, acc, d, v);
        return AGG_OK;
    default:
        return AGG_OK;
    }
    memset(v, 0, sizeof(*v));
    v->type = (uint8_t)(a->otypes[c] & 0xff);
    v->is_null = true;
    return AGG_OK;
}

enum agg_status
aggs_result(struct aggs *a, struct binproto_value *v, uint32_t *col)
{
    for (uint32_t c = 0; c < a->rs->ncols; c++) {
        enum agg_status st;
        if (a->kind[c] == AGG_NONE)
            continue;
        st = acc_result(a, c, &v[c]);
        if (st != AGG_OK) {
            *col = c;
            return st;
        }
    }
    return AGG_OK;
}

void
aggs_error(enum agg_status st, uint32_t col, char *out, size_t cap)
{
    unsigned n = (unsigned)col + 1;

    if (st == AGG_NOT_NUMBER)
        snprintf(out, cap,
                 "myshard: column %u of a shard's result is not a number "
                 "the merge can add",
                 n);
    else if (st == AGG_SUM_OVERFLOW)
        snprintf(out, cap, "myshard: the merged sum of column %u overflows", n);
    else if (st == AGG_UNCERTAIN)
        snprintf(out, cap,
                 "myshard: DISTINCT over column %u met text the proxy "
                 "cannot compare exactly in its collation (only printable "
                 "ASCII is); add the shard key to the WHERE clause or "
                 "compute it per shard",
                 n);
    else if (st == AGG_AVG_OVERFLOW)
        snprintf(out, cap, "myshard: the merged average of column %u overflows",
                 n);
    else
        snprintf(out, cap, "myshard: no aggregate error");
}

void
aggs_free(struct aggs *a)
{
    if (a->acc != NULL) {
        for (uint32_t c = 0; c < a->rs->ncols; c++)
            free(a->acc[c].bbuf);
    }
    free(a->acc);
    free(a->kind);
    free(a->avg_cnt);
    memset(a, 0, sizeof(*a));
}
