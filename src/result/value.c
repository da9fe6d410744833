/*
 * value.c - values of result rows compared, summed and printed (see
 * value.h). Text values are compared as slices of the packet; binary
 * values by their typed members; nothing here allocates.
 */
#include "result/value.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "result/column.h"
#include "result/decimal.h"

void
value_fmt_double(double d, char *out, size_t cap)
{
    char tmp[64], *e;

    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    e = strchr(tmp, 'e');
    if (e != NULL) {
        char *src = e + 1, *dst = e + 1;
        if (*src == '+')
            src++;
        else if (*src == '-')
            *dst++ = *src++;
        while (*src == '0' && src[1] != '\0')
            src++;
        memmove(dst, src, strlen(src) + 1);
    }
    snprintf(out, cap, "%s", tmp);
}

static double
text_double(const uint8_t *s, size_t len)
{
    char tmp[128];

    if (s == NULL) /* a NULL or a binary value of another type: no text */
        return 0;
    len = MIN(len, sizeof(tmp) - 1);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return strtod(tmp, NULL);
}

double
value_double(bool binary, const struct binproto_value *v)
{
    if (binary) {
        if (column_type_is_float(v->type))
            return v->f64;
        if (column_type_is_int(v->type))
            return v->is_unsigned ? (double)v->u64 : (double)v->i64;
    }
    return text_double(v->str, v->len);
}

bool
value_dec(bool binary, const struct binproto_value *v, struct dec *x)
{
    char tmp[32];
    int n;

    if (binary && column_type_is_int(v->type)) {
        if (v->is_unsigned)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v->u64);
        else
            n = snprintf(tmp, sizeof(tmp), "%" PRId64, v->i64);
        return dec_parse((const uint8_t *)tmp, (size_t)n, x);
    }
    if (binary && column_type_is_float(v->type)) {
        n = snprintf(tmp, sizeof(tmp), "%.6f", v->f64);
        return n > 0 && (size_t)n < sizeof(tmp) &&
               dec_parse((const uint8_t *)tmp, (size_t)n, x);
    }
    return dec_parse(v->str, v->len, x);
}

/* Signed microseconds of a TIME: 128 bits, since a shard may send hours
 * (12 digits of text, 2^32 days in binary) that overflow 64. */
typedef __int128 time_us;

/* TIME text "[-]H+:MM:SS[.ffffff]" as signed microseconds. */
static bool
time_parse(const uint8_t *s, size_t len, time_us *us)
{
    time_us part[3] = {0, 0, 0}, frac = 0;
    size_t i = 0;
    bool neg = false;
    int k = 0, fd = 0;

    if (i < len && s[i] == '-')
        neg = s[i++] == '-';
    for (; k < 3; k++) {
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 12)
            part[k] = part[k] * 10 + (s[i++] - '0');
        if (i == start)
            return false;
        if (k < 2 && (i >= len || s[i++] != ':'))
            return false;
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, fd++) {
            if (fd < 6)
                frac = frac * 10 + (s[i] - '0');
        }
        for (; fd < 6; fd++)
            frac *= 10;
    }
    if (i != len)
        return false;
    *us = ((part[0] * 60 + part[1]) * 60 + part[2]) * 1000000 + frac;
    if (neg)
        *us = -*us;
    return true;
}

static time_us
bintime_us(const struct binproto_time *t)
{
    time_us us = ((((time_us)t->days * 24 + t->hour) * 60 + t->minute) * 60 +
                  t->second) *
                     1000000 +
                 t->microsecond;
    return t->negative ? -us : us;
}

static int
cmp_us(time_us a, time_us b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int
cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int
bindate_cmp(const struct binproto_time *a, const struct binproto_time *b)
{
    int c;

    if ((c = cmp_u64(a->year, b->year)) || (c = cmp_u64(a->month, b->month)) ||
        (c = cmp_u64(a->day, b->day)) || (c = cmp_u64(a->hour, b->hour)) ||
        (c = cmp_u64(a->minute, b->minute)) ||
        (c = cmp_u64(a->second, b->second)))
        return c;
    return cmp_u64(a->microsecond, b->microsecond);
}

static int
binint_cmp(const struct binproto_value *a, const struct binproto_value *b)
{
    if (a->is_unsigned && b->is_unsigned)
        return cmp_u64(a->u64, b->u64);
    if (!a->is_unsigned && !b->is_unsigned)
        return cmp_i64(a->i64, b->i64);
    if (!a->is_unsigned && a->i64 < 0)
        return -1;
    if (!b->is_unsigned && b->i64 < 0)
        return 1;
    return cmp_u64(a->u64, b->u64);
}

static uint8_t
fold(uint8_t c, bool ci)
{
    return ci && c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

static int
str_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, bool ci,
        bool pad)
{
    size_t n = MIN(al, bl);
    const uint8_t *rest;
    size_t rl;
    int sign;

    for (size_t i = 0; i < n; i++) {
        uint8_t x = fold(a[i], ci), y = fold(b[i], ci);
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (al == bl)
        return 0;
    if (!pad)
        return al < bl ? -1 : 1;
    /* PAD SPACE: the shorter string is as if padded with spaces. */
    rest = al > bl ? a + n : b + n;
    rl = (al > bl ? al : bl) - n;
    sign = al > bl ? 1 : -1;
    for (size_t i = 0; i < rl; i++) {
        if (rest[i] != ' ')
            return rest[i] < ' ' ? -sign : sign;
    }
    return 0;
}

int
value_cmp(const struct column *c, bool binary, const struct binproto_value *a,
          const struct binproto_value *b)
{
    double x, y;

    if (a->is_null || b->is_null)
        return a->is_null == b->is_null ? 0 : a->is_null ? -1 : 1;
    switch (c->cls) {
    case COL_INT:
        if (binary && column_type_is_int(a->type) &&
            column_type_is_int(b->type))
            return binint_cmp(a, b);
        return dec_cmp_text(a->str, a->len, b->str, b->len);
    case COL_DEC:
        return dec_cmp_text(a->str, a->len, b->str, b->len);
    case COL_FLOAT:
        x = value_double(binary, a);
        y = value_double(binary, b);
        return x < y ? -1 : x > y ? 1 : 0;
    case COL_DATE:
        if (binary)
            return bindate_cmp(&a->tm, &b->tm);
        return str_cmp(a->str, a->len, b->str, b->len, false, false);
    case COL_TIME:
        if (binary)
            return cmp_us(bintime_us(&a->tm), bintime_us(&b->tm));
        {
            time_us p, q;
            if (time_parse(a->str, a->len, &p) &&
                time_parse(b->str, b->len, &q))
                return cmp_us(p, q);
        }
        return str_cmp(a->str, a->len, b->str, b->len, false, false);
    default:
        return str_cmp(a->str, a->len, b->str, b->len, c->ci, c->pad);
    }
}
