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

bool
dec_div(const struct dec *x, uint64_t cnt, unsigned scale, struct dec *q)
{
    uint8_t num[DEC_MAX_DIGITS + DEC_MAX_SCALE + 8], le[sizeof(num) + 1];
    unsigned __int128 rem = 0;
    unsigned k, nn = 0, carry;

    if (scale < x->scale)
        scale = x->scale;
    k = scale - x->scale;
    if (cnt == 0 || x->n + k > sizeof(num))
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
    carry = rem * 2 >= cnt;
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
