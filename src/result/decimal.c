/*
 * decimal.c - exact decimals as digit arrays (see decimal.h). Digits are
 * kept one per byte, least significant first, so addition and the long
 * division of AVG are the school algorithms; a 128-bit remainder lets the
 * divisor be any 64-bit count. dec_cmp_text compares DECIMAL text as
 * slices (sign, integer digits, fraction digits) without parsing it.
 */
#include "result/decimal.h"

#include <string.h>

static void
dec_normalize(struct dec *x)
{
    while (x->n > 0 && x->d[x->n - 1] == 0)
        x->n--;
    if (x->n == 0)
        x->neg = false;
}

bool
dec_parse(const uint8_t *s, size_t len, struct dec *x)
{
    size_t i = 0, ip, il, fp = 0, fl = 0, k = 0;

    memset(x, 0, sizeof(*x));
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        x->neg = s[i++] == '-';
    while (i < len && s[i] == '0' && i + 1 < len && s[i + 1] >= '0' &&
           s[i + 1] <= '9')
        i++;
    ip = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    il = i - ip;
    if (i < len && s[i] == '.') {
        fp = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        fl = i - fp;
    }
    while (i < len && s[i] == ' ')
        i++;
    if (i != len || il + fl == 0 || fl > DEC_MAX_SCALE ||
        il + fl > DEC_MAX_DIGITS)
        return false;
    for (size_t j = fl; j > 0; j--)
        x->d[k++] = (uint8_t)(s[fp + j - 1] - '0');
    for (size_t j = il; j > 0; j--)
        x->d[k++] = (uint8_t)(s[ip + j - 1] - '0');
    x->n = (uint8_t)k;
    x->scale = (uint8_t)fl;
    dec_normalize(x);
    return true;
}

/* Multiplies the digits by 10^k, keeping the value (scale grows by k). */
bool
dec_rescale(struct dec *x, unsigned scale)
{
    unsigned k = scale - x->scale;

    if (scale <= x->scale)
        return true;
    if (x->n + k > DEC_MAX_DIGITS)
        return false;
    memmove(x->d + k, x->d, x->n);
    memset(x->d, 0, k);
    if (x->n > 0)
        x->n = (uint8_t)(x->n + k);
    x->scale = (uint8_t)scale;
    return true;
}

static int
dec_cmp_mag(const struct dec *a, const struct dec *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--) {
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    }
    return 0;
}

bool
dec_add(struct dec *acc, const struct dec *x)
{
    struct dec a = *acc, b = *x, r;
    unsigned scale = MAX(a.scale, b.scale);
    int n;

    if (!dec_rescale(&a, scale) || !dec_rescale(&b, scale))
        return false;
    memset(&r, 0, sizeof(r));
    r.scale = (uint8_t)scale;
    n = MAX(a.n, b.n);
    if (a.neg == b.neg || a.n == 0 || b.n == 0) {
        int carry = 0;
        r.neg = a.n ? a.neg : b.neg;
        for (int i = 0; i < n; i++) {
            int s = (i < a.n ? a.d[i] : 0) + (i < b.n ? b.d[i] : 0) + carry;
            r.d[i] = (uint8_t)(s % 10);
            carry = s / 10;
        }
        if (carry) {
            if (n >= DEC_MAX_DIGITS)
                return false;
            r.d[n++] = (uint8_t)carry;
        }
    } else {
        const struct dec *big = dec_cmp_mag(&a, &b) >= 0 ? &a : &b;
        const struct dec *small = big == &a ? &b : &a;
        int borrow = 0;
        r.neg = big->neg;
        for (int i = 0; i < n; i++) {
            int s = big->d[i] - (i < small->n ? small->d[i] : 0) - borrow;
            borrow = s < 0;
            r.d[i] = (uint8_t)(s + (borrow ? 10 : 0));
        }
    }
    r.n = (uint8_t)n;
    dec_normalize(&r);
    *acc = r;
    return true;
}

void
dec_format(const struct dec *x, char *out)
{
    char *o = out;

    if (x->neg)
        *o++ = '-';
    if (x->n <= x->scale)
        *o++ = '0';
    for (int i = x->n - 1; i >= (int)x->scale; i--)
        *o++ = (char)('0' + x->d[i]);
    if (x->scale > 0) {
        *o++ = '.';
        for (int i = x->scale - 1; i >= 0; i--)
            *o++ = (char)('0' + (i < x->n ? x->d[i] : 0));
    }
    *o = '\0';
}

/* x / cnt with `scale` fraction digits (x's own when larger), rounded
 * half away from zero or truncated. */
static bool
div_u64(const struct dec *x, uint64_t cnt, unsigned scale, bool round,
        struct dec *q)
{
    uint8_t num[DEC_MAX_DIGITS + 2 * DEC_MAX_SCALE + 8], le[sizeof(num) + 1];
    unsigned __int128 rem = 0;
    unsigned k, nn = 0, carry;

    if (scale < x->scale)
        scale = x->scale;
    k = scale - x->scale;
    if (cnt == 0 || x->n + k > sizeof(num) || scale > 255)
        return false;
    for (int i = x->n - 1; i >= 0; i--) /* most significant first */
        num[nn++] = x->d[i];
    for (unsigned i = 0; i < k; i++)
        num[nn++] = 0;
    for (unsigned i = 0; i < nn; i++) {
        rem = rem * 10 + num[i];
        num[i] = (uint8_t)(rem / cnt);
        rem %= cnt;
    }
    carry = round && rem * 2 >= cnt;
    memset(q, 0, sizeof(*q));
    for (unsigned i = 0; i < nn; i++) /* least significant first */
        le[i] = num[nn - 1 - i];
    for (unsigned i = 0; carry && i < nn; i++) {
        le[i]++;
        carry = le[i] == 10;
        if (carry)
            le[i] = 0;
    }
    if (carry)
        le[nn++] = 1;
    while (nn > 0 && le[nn - 1] == 0)
        nn--;
    if (nn > DEC_MAX_DIGITS)
        return false;
    memcpy(q->d, le, nn);
    q->n = (uint8_t)nn;
    q->scale = (uint8_t)scale;
    q->neg = x->neg;
    dec_normalize(q);
    return true;
}

bool
dec_div(const struct dec *x, uint64_t cnt, unsigned scale, struct dec *q)
{
    return div_u64(x, cnt, scale, true, q);
}

/* The server's division keeps whole 9-digit words of fraction, truncated,
 * and then shows (and compares) the value rounded to its declared scale. */
static unsigned
word_frac(unsigned digits)
{
    return (digits + 8) / 9 * 9;
}

bool
dec_avg(const struct dec *sum, uint64_t cnt, unsigned scale, struct dec *q)
{
    struct dec t;

    if (!div_u64(sum, cnt, word_frac(sum->scale + 4), false, &t))
        return false;
    *q = t;
    return dec_round(q, scale) && dec_rescale(q, scale);
}

int
dec_cmp(const struct dec *a, const struct dec *b)
{
    struct dec x = *a, y = *b;
    unsigned scale = MAX(x.scale, y.scale);
    int c;

    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    if (!dec_rescale(&x, scale) || !dec_rescale(&y, scale)) {
        /* too many digits to line up: more integer digits is larger */
        int ia = (int)a->n - a->scale, ib = (int)b->n - b->scale;
        c = ia < ib ? -1 : 1;
    } else {
        c = dec_cmp_mag(&x, &y);
    }
    return x.neg ? -c : c;
}

void
dec_neg(struct dec *x)
{
    if (x->n > 0)
        x->neg = !x->neg;
}

bool
dec_mul(const struct dec *a, const struct dec *b, struct dec *r)
{
    uint16_t acc[2 * DEC_MAX_DIGITS + 1] = {0};
    unsigned n = (unsigned)a->n + b->n;

    if ((unsigned)a->scale + b->scale > DEC_MAX_SCALE)
        return false;
    memset(r, 0, sizeof(*r));
    r->scale = (uint8_t)(a->scale + b->scale);
    if (a->n == 0 || b->n == 0)
        return true;
    for (unsigned i = 0; i < a->n; i++) {
        unsigned carry = 0;
        for (unsigned j = 0; j < b->n; j++) {
            unsigned v = acc[i + j] + (unsigned)a->d[i] * b->d[j] + carry;
            acc[i + j] = (uint16_t)(v % 10);
            carry = v / 10;
        }
        for (unsigned k = i + b->n; carry; k++) {
            unsigned v = acc[k] + carry;
            acc[k] = (uint16_t)(v % 10);
            carry = v / 10;
        }
    }
    while (n > 0 && acc[n - 1] == 0)
        n--;
    if (n > DEC_MAX_DIGITS)
        return false;
    for (unsigned i = 0; i < n; i++)
        r->d[i] = (uint8_t)acc[i];
    r->n = (uint8_t)n;
    r->neg = a->neg != b->neg;
    dec_normalize(r);
    return true;
}

bool
dec_round(struct dec *x, unsigned scale)
{
    unsigned drop, carry;

    if (scale >= x->scale)
        return true;
    drop = x->scale - scale;
    carry = drop <= x->n && x->d[drop - 1] >= 5;
    if (drop >= x->n) {
        memset(x->d, 0, sizeof(x->d));
        x->n = 0;
    } else {
        memmove(x->d, x->d + drop, x->n - drop);
        memset(x->d + x->n - drop, 0, drop);
        x->n = (uint8_t)(x->n - drop);
    }
    x->scale = (uint8_t)scale;
    for (unsigned i = 0; carry; i++) {
        if (i >= DEC_MAX_DIGITS)
            return false;
        if (i >= x->n) {
            x->d[i] = 1;
            x->n = (uint8_t)(i + 1);
            break;
        }
        x->d[i]++;
        carry = x->d[i] == 10;
        if (carry)
            x->d[i] = 0;
    }
    dec_normalize(x);
    return true;
}

bool
dec_quot(const struct dec *a, const struct dec *b, struct dec *q)
{
    struct dec x = *a, t;
    unsigned declared = MIN(a->scale + 4u, (unsigned)DEC_MAX_SCALE);
    uint64_t div = 0;

    if (b->n == 0 || b->n > 19)
        return false;
    for (int i = b->n - 1; i >= 0; i--) {
        if (div > (UINT64_MAX - b->d[i]) / 10)
            return false;
        div = div * 10 + b->d[i];
    }
    /* a / b = (a * 10^sb) / (b * 10^sb): the digits of a, sb places to
     * the left */
    if (!dec_rescale(&x, a->scale + b->scale))
        return false;
    x.scale = a->scale;
    if (!div_u64(&x, div, word_frac(a->scale + b->scale + 4u), false, &t))
        return false;
    if (b->neg)
        dec_neg(&t);
    *q = t;
    return dec_round(q, declared) && dec_rescale(q, declared);
}

/* A decimal number's text as sign, integer digits and fraction digits,
 * without leading or trailing zeros; anything after the number is
 * ignored. */
struct decview {
    bool neg;
    const uint8_t *ip, *fp;
    size_t il, fl;
};

static void
decview_parse(const uint8_t *s, size_t len, struct decview *v)
{
    size_t i = 0;

    memset(v, 0, sizeof(*v));
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        v->neg = s[i++] == '-';
    while (i < len && s[i] == '0')
        i++;
    v->ip = s + i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    v->il = (size_t)(s + i - v->ip);
    v->fp = s + i;
    if (i < len && s[i] == '.') {
        v->fp = s + ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        v->fl = (size_t)(s + i - v->fp);
        while (v->fl > 0 && v->fp[v->fl - 1] == '0')
            v->fl--;
    }
    if (v->il == 0 && v->fl == 0)
        v->neg = false; /* -0.00 is 0 */
}

int
dec_cmp_text(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    struct decview x, y;
    int c;

    decview_parse(a, al, &x);
    decview_parse(b, bl, &y);
    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    if (x.il != y.il)
        c = x.il < y.il ? -1 : 1;
    else if ((c = memcmp(x.ip, y.ip, x.il)) == 0 &&
             (c = memcmp(x.fp, y.fp, MIN(x.fl, y.fl))) == 0)
        c = x.fl == y.fl ? 0 : x.fl < y.fl ? -1 : 1;
    c = c < 0 ? -1 : c > 0 ? 1 : 0;
    return x.neg ? -c : c;
}
