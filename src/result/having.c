/*
 * having.c - the HAVING program run on one merged row (see having.h): a
 * value stack of NULLs, exact numbers (struct dec, with an integer flag
 * for BIGINT range checks), doubles and strings (with the collation of
 * the column they came from). Anything outside the modelled semantics
 * stops the evaluation with a message instead of guessing.
 */
#include "result/having.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "result/column.h"
#include "result/decimal.h"
#include "result/value.h"

enum hkind {
    HK_NULL = 0,
    HK_INT, /* exact, scale 0, BIGINT [UNSIGNED] */
    HK_DEC, /* exact */
    HK_DBL,
    HK_STR,
    HK_TEMPORAL, /* a date or time: only IS [NOT] NULL */
};

struct hval {
    uint8_t k; /* enum hkind */
    bool uns;  /* HK_INT: UNSIGNED */
    bool col;  /* HK_STR: from a column (its collation below) */
    bool ci, pad;
    uint16_t coll;
    struct dec x;
    double d;
    const uint8_t *s;
    size_t len;
};

struct ev {
    const struct expr_prog *p;
    const struct column *cols;
    uint32_t ncols;
    bool binary;
    const struct binproto_value *v;
    char *err;
    size_t cap;
    bool failed;
};

static void PRINTF_FMT(2, 3) ev_fail(struct ev *e, const char *fmt, ...)
{
    va_list ap;

    if (e->failed)
        return;
    e->failed = true;
    va_start(ap, fmt);
    vsnprintf(e->err, e->cap, fmt, ap);
    va_end(ap);
}

#define NOTE "; add the shard key to the WHERE clause or compute it per shard"

/* ---- values ---- */

static void
set_int(struct hval *h, bool b)
{
    memset(h, 0, sizeof(*h));
    h->k = HK_INT;
    if (b) {
        h->x.n = 1;
        h->x.d[0] = 1;
    }
}

static void
set_null(struct hval *h)
{
    memset(h, 0, sizeof(*h));
    h->k = HK_NULL;
}

static bool
load_col(struct ev *e, int c, struct hval *h)
{
    const struct binproto_value *v;
    const struct column *col;

    if (c < 0 || (uint32_t)c >= e->ncols) {
        ev_fail(e, "myshard: HAVING names a column the result lacks");
        return false;
    }
    v = &e->v[c];
    col = &e->cols[c];
    memset(h, 0, sizeof(*h));
    if (v->is_null) {
        h->k = HK_NULL;
        return true;
    }
    switch (col->cls) {
    case COL_INT:
    case COL_DEC:
        if (!value_dec(e->binary, v, &h->x)) {
            ev_fail(e, "myshard: HAVING read a column value that is not a "
                       "number" NOTE);
            return false;
        }
        h->k = col->cls == COL_INT && h->x.scale == 0 ? HK_INT : HK_DEC;
        h->uns = (col->flags & 0x0020) != 0; /* UNSIGNED_FLAG */
        return true;
    case COL_FLOAT:
        h->k = HK_DBL;
        h->d = value_double(e->binary, v);
        return true;
    case COL_STR:
        h->k = HK_STR;
        h->s = v->str;
        h->len = v->len;
        h->col = true;
        h->ci = col->ci;
        h->pad = col->pad;
        h->coll = col->charset;
        return true;
    default:
        h->k = HK_TEMPORAL;
        return true;
    }
}

static bool
load_lit(struct ev *e, const struct expr_node *n, struct hval *h)
{
    const uint8_t *t = (const uint8_t *)e->p->text + n->off;

    memset(h, 0, sizeof(*h));
    switch (n->op) {
    case EXPR_NULL:
        h->k = HK_NULL;
        return true;
    case EXPR_INT:
    case EXPR_DEC:
        if (!dec_parse(t, n->len, &h->x)) {
            ev_fail(e,
                    "myshard: the HAVING number '%.*s' has more digits "
                    "than the proxy computes with" NOTE,
                    (int)MIN(n->len, 40), (const char *)t);
            return false;
        }
        /* integers beyond BIGINT are DECIMAL literals on the server */
        h->k =
            n->op == EXPR_INT &&
                    (n->len < 19 || (n->len == 19 &&
                                     memcmp(t, "9223372036854775807", 19) <= 0))
                ? HK_INT
                : HK_DEC;
        return true;
    case EXPR_DBL: {
        char tmp[80];
        snprintf(tmp, sizeof(tmp), "%.*s", (int)MIN(n->len, 79), (char *)t);
        h->k = HK_DBL;
        h->d = strtod(tmp, NULL);
        return true;
    }
    default: /* EXPR_STR */
        h->k = HK_STR;
        h->s = t;
        h->len = n->len;
        return true;
    }
}

/* A string that is a plain number, as a double (the server compares a
 * string with a number as doubles). */
static bool
str_number(const struct hval *h, double *out)
{
    char tmp[80], *end;

    if (h->len == 0 || h->len >= sizeof(tmp))
        return false;
    memcpy(tmp, h->s, h->len);
    tmp[h->len] = '\0';
    if (strspn(tmp, "0123456789+-.eE ") != h->len)
        return false;
    *out = strtod(tmp, &end);
    while (*end == ' ')
        end++;
    return end != tmp && *end == '\0';
}

static double
as_double(const struct hval *h)
{
    char tmp[DEC_TEXT_MAX];

    if (h->k == HK_DBL)
        return h->d;
    dec_format(&h->x, tmp);
    return strtod(tmp, NULL);
}

static bool
is_num(const struct hval *h)
{
    return h->k == HK_INT || h->k == HK_DEC || h->k == HK_DBL;
}

static bool
printable(const struct hval *h)
{
    for (size_t i = 0; i < h->len; i++)
        if (h->s[i] < 0x20 || h->s[i] > 0x7e)
            return false;
    return true;
}

/* Byte-wise or ASCII-folded comparison with PAD SPACE as the column says. */
static int
str_order(const struct hval *a, const struct hval *b, bool ci, bool pad)
{
    size_t n = MIN(a->len, b->len);

    for (size_t i = 0; i < n; i++) {
        uint8_t x = a->s[i], y = b->s[i];
        if (ci && x >= 'a' && x <= 'z')
            x = (uint8_t)(x - 32);
        if (ci && y >= 'a' && y <= 'z')
            y = (uint8_t)(y - 32);
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (a->len == b->len)
        return 0;
    {
        const struct hval *l = a->len > b->len ? a : b;
        int sign = a->len > b->len ? 1 : -1;
        if (!pad)
            return sign;
        for (size_t i = n; i < l->len; i++)
            if (l->s[i] != ' ')
                return l->s[i] < ' ' ? -sign : sign;
    }
    return 0;
}

/* a vs b, neither NULL: -1, 0, 1; 2 after failing. */
static int
compare(struct ev *e, const struct hval *a, const struct hval *b)
{
    double x, y;

    if (a->k == HK_TEMPORAL || b->k == HK_TEMPORAL) {
        ev_fail(e, "myshard: HAVING comparing a date or time across shards "
                   "is not supported" NOTE);
        return 2;
    }
    if (a->k == HK_STR && b->k == HK_STR) {
        const struct hval *c = a->col ? a : b;
        if (!a->col && !b->col) {
            ev_fail(e, "myshard: HAVING comparing two string literals "
                       "across shards is not supported" NOTE);
            return 2;
        }
        if (a->col && b->col && a->coll != b->coll) {
            ev_fail(e, "myshard: HAVING comparing strings of two collations "
                       "across shards is not supported" NOTE);
            return 2;
        }
        if (c->ci && (!printable(a) || !printable(b))) {
            ev_fail(e, "myshard: HAVING compared text the proxy cannot "
                       "compare exactly in its collation (only printable "
                       "ASCII is)" NOTE);
            return 2;
        }
        return str_order(a, b, c->ci, c->pad);
    }
    if (a->k == HK_STR || b->k == HK_STR) {
        const struct hval *s = a->k == HK_STR ? a : b;
        double sv;
        if (!str_number(s, &sv)) {
            ev_fail(e, "myshard: HAVING comparing a number with a string "
                       "that is not a plain number across shards is not "
                       "supported" NOTE);
            return 2;
        }
        x = a->k == HK_STR ? sv : as_double(a);
        y = b->k == HK_STR ? sv : as_double(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->k == HK_DBL || b->k == HK_DBL) {
        x = as_double(a);
        y = as_double(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    return dec_cmp(&a->x, &b->x);
}

/* ---- operators ---- */

static bool
int_range_ok(struct ev *e, struct hval *r)
{
    struct dec lo, hi, uhi;
    char t[DEC_TEXT_MAX];

    if (!dec_parse((const uint8_t *)"-9223372036854775808", 20, &lo) ||
        !dec_parse((const uint8_t *)"9223372036854775807", 19, &hi) ||
        !dec_parse((const uint8_t *)"18446744073709551615", 20, &uhi))
        return false; /* constants: cannot happen */
    if (dec_cmp(&r->x, r->uns ? &uhi : &hi) <= 0 && dec_cmp(&r->x, &lo) >= 0 &&
        !(r->uns && r->x.neg))
        return true;
    dec_format(&r->x, t);
    ev_fail(e, "myshard: BIGINT%s value is out of range in HAVING (%s)",
            r->uns ? " UNSIGNED" : "", t);
    return false;
}

static bool
arith(struct ev *e, uint8_t op, const struct hval *a, const struct hval *b,
      struct hval *r)
{
    bool ok = true;

    if (a->k == HK_NULL || b->k == HK_NULL) {
        set_null(r);
        return true;
    }
    if (!is_num(a) || !is_num(b)) {
        ev_fail(e, "myshard: HAVING arithmetic on a string, date or time "
                   "across shards is not supported" NOTE);
        return false;
    }
    memset(r, 0, sizeof(*r));
    if (a->k == HK_DBL || b->k == HK_DBL) {
        double x = as_double(a), y = as_double(b);
        r->k = HK_DBL;
        if (op == EXPR_DIV && y == 0) {
            set_null(r);
            return true;
        }
        r->d = op == EXPR_ADD   ? x + y
               : op == EXPR_SUB ? x - y
               : op == EXPR_MUL ? x * y
                                : x / y;
        if (!isfinite(r->d)) {
            ev_fail(e, "myshard: DOUBLE value is out of range in HAVING");
            return false;
        }
        return true;
    }
    r->k = a->k == HK_INT && b->k == HK_INT ? HK_INT : HK_DEC;
    r->uns = r->k == HK_INT && (a->uns || b->uns);
    switch (op) {
    case EXPR_ADD:
        r->x = a->x;
        ok = dec_add(&r->x, &b->x);
        break;
    case EXPR_SUB: {
        struct dec nb = b->x;
        dec_neg(&nb);
        r->x = a->x;
        ok = dec_add(&r->x, &nb);
        break;
    }
    case EXPR_MUL:
        ok = dec_mul(&a->x, &b->x, &r->x);
        break;
    default: /* EXPR_DIV */
        if (b->x.n == 0) {
            set_null(r);
            return true;
        }
        r->k = HK_DEC;
        r->uns = false;
        ok = dec_quot(&a->x, &b->x, &r->x);
        break;
    }
    if (!ok) {
        ev_fail(e, "myshard: a HAVING computation needs more digits than "
                   "the proxy computes with" NOTE);
        return false;
    }
    return r->k != HK_INT || int_range_ok(e, r);
}

/* Truth: 1, 0, or -1 for NULL; 2 after failing. */
static int
truth(struct ev *e, const struct hval *h)
{
    switch (h->k) {
    case HK_NULL:
        return -1;
    case HK_INT:
    case HK_DEC:
        return h->x.n != 0;
    case HK_DBL:
        return h->d != 0;
    default:
        ev_fail(e, "myshard: HAVING using a string, date or time as a "
                   "condition across shards is not supported" NOTE);
        return 2;
    }
}

static void
set_truth(struct hval *h, int t)
{
    if (t < 0)
        set_null(h);
    else
        set_int(h, t != 0);
}

/* Three-valued comparison result of op on a, b. */
static int
cmp_op(struct ev *e, uint8_t op, const struct hval *a, const struct hval *b)
{
    int c;

    if (op == EXPR_NSEQ) {
        if (a->k == HK_NULL || b->k == HK_NULL)
            return a->k == b->k;
    } else if (a->k == HK_NULL || b->k == HK_NULL) {
        return -1;
    }
    c = compare(e, a, b);
    if (c == 2)
        return 2;
    switch (op) {
    case EXPR_EQ:
    case EXPR_NSEQ:
        return c == 0;
    case EXPR_NE:
        return c != 0;
    case EXPR_LT:
        return c < 0;
    case EXPR_LE:
        return c <= 0;
    case EXPR_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static int
and3(int a, int b)
{
    if (a == 0 || b == 0)
        return 0;
    return a < 0 || b < 0 ? -1 : 1;
}

static int
or3(int a, int b)
{
    if (a == 1 || b == 1)
        return 1;
    return a < 0 || b < 0 ? -1 : 0;
}

enum having_result
having_eval(const struct expr_prog *p, const struct column *cols,
            uint32_t ncols, bool binary, const struct binproto_value *v,
            char *err, size_t cap)
{
    struct hval st[EXPR_MAX_NODES];
    int sp = 0, t;
    struct ev e = {.p = p,
                   .cols = cols,
                   .ncols = ncols,
                   .binary = binary,
                   .v = v,
                   .err = err,
                   .cap = cap};

    for (unsigned i = 0; i < p->n && !e.failed; i++) {
        const struct expr_node *n = &p->nodes[i];
        unsigned need = n->op == EXPR_IN        ? n->n
                        : n->op == EXPR_BETWEEN ? 3
                        : n->op == EXPR_NOT || n->op == EXPR_NEG ||
                                n->op == EXPR_ISNULL || n->op == EXPR_ISNOTNULL
                            ? 1
                        : n->op >= EXPR_EQ ? 2
                                           : 0;
        struct hval *a, r;

        if ((unsigned)sp < need || (need == 0 && sp >= EXPR_MAX_NODES) ||
            (n->op == EXPR_IN && need < 2)) {
            ev_fail(&e, "myshard: malformed HAVING program");
            break;
        }
        a = &st[sp - (int)need];
        switch (n->op) {
        case EXPR_COL:
            if (!load_col(&e, n->col, &st[sp]))
                break;
            sp++;
            break;
        case EXPR_INT:
        case EXPR_DEC:
        case EXPR_DBL:
        case EXPR_STR:
        case EXPR_NULL:
            if (!load_lit(&e, n, &st[sp]))
                break;
            sp++;
            break;
        case EXPR_EQ:
        case EXPR_NE:
        case EXPR_LT:
        case EXPR_LE:
        case EXPR_GT:
        case EXPR_GE:
        case EXPR_NSEQ:
            t = cmp_op(&e, n->op, &a[0], &a[1]);
            if (t == 2)
                break;
            set_truth(&r, t);
            sp -= 2;
            st[sp++] = r;
            break;
        case EXPR_AND:
        case EXPR_OR:
        case EXPR_XOR: {
            int x = truth(&e, &a[0]), y = truth(&e, &a[1]);
            if (x == 2 || y == 2)
                break;
            t = n->op == EXPR_AND  ? and3(x, y)
                : n->op == EXPR_OR ? or3(x, y)
                : x < 0 || y < 0   ? -1
                                   : x != y;
            set_truth(&r, t);
            sp -= 2;
            st[sp++] = r;
            break;
        }
        case EXPR_NOT:
            t = truth(&e, &a[0]);
            if (t == 2)
                break;
            set_truth(&a[0], t < 0 ? -1 : !t);
            break;
        case EXPR_NEG:
            if (a[0].k == HK_INT || a[0].k == HK_DEC) {
                dec_neg(&a[0].x);
                if (a[0].k == HK_INT && !int_range_ok(&e, &a[0]))
                    break;
            } else if (a[0].k == HK_DBL) {
                a[0].d = -a[0].d;
            } else if (a[0].k != HK_NULL) {
                ev_fail(&e, "myshard: HAVING arithmetic on a string, date "
                            "or time across shards is not supported" NOTE);
            }
            break;
        case EXPR_ADD:
        case EXPR_SUB:
        case EXPR_MUL:
        case EXPR_DIV:
            if (!arith(&e, n->op, &a[0], &a[1], &r))
                break;
            sp -= 2;
            st[sp++] = r;
            break;
        case EXPR_ISNULL:
        case EXPR_ISNOTNULL:
            set_int(&r, (a[0].k == HK_NULL) == (n->op == EXPR_ISNULL));
            st[sp - 1] = r;
            break;
        case EXPR_BETWEEN: {
            int lo = cmp_op(&e, EXPR_GE, &a[0], &a[1]);
            int hi = lo == 2 ? 2 : cmp_op(&e, EXPR_LE, &a[0], &a[2]);
            if (lo == 2 || hi == 2)
                break;
            set_truth(&r, and3(lo, hi));
            sp -= 3;
            st[sp++] = r;
            break;
        }
        case EXPR_IN: {
            int res = 0;
            if (a[0].k == HK_NULL) {
                res = -1;
            } else {
                for (unsigned k = 1; k < need && res != 1; k++) {
                    int c = cmp_op(&e, EXPR_EQ, &a[0], &a[k]);
                    if (c == 2)
                        break;
                    res = c == 1 ? 1 : c < 0 ? -1 : res;
                }
            }
            if (e.failed)
                break;
            set_truth(&r, res);
            sp -= (int)need;
            st[sp++] = r;
            break;
        }
        default:
            ev_fail(&e, "myshard: malformed HAVING program");
            break;
        }
    }
    if (!e.failed && sp != 1)
        ev_fail(&e, "myshard: malformed HAVING program");
    if (e.failed)
        return HAVING_ERROR;
    t = truth(&e, &st[0]);
    if (t == 2)
        return HAVING_ERROR;
    return t == 1 ? HAVING_TRUE : HAVING_FALSE;
}
