/*
 * binlog_value.c - see binlog_value.h. The row image formats are
 * MariaDB's (sql/field.cc, Field::pack and the *_binary temporal
 * formats): integers and floats little-endian; DECIMAL, DATETIME2,
 * TIMESTAMP2, TIME2 and BIT big-endian; strings with a 1- or 2-byte length
 * (1 when the column's maximum byte length is below 256), BLOBs with a
 * 1..4-byte length, ENUM and SET as their index and bit mask.
 *
 * Metadata as decoded into struct binlog_col.meta:
 *   FLOAT, DOUBLE: the value's size; BLOB: the length's size;
 *   TIMESTAMP2, DATETIME2, TIME2: the fraction digits;
 *   NEWDECIMAL: precision << 8 | scale; VARCHAR: maximum byte length;
 *   STRING (CHAR): maximum byte length; ENUM, SET: the value's size;
 *   BIT: bytes << 8 | bits beyond the last whole byte.
 */
#include "backend/binlog_value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long fail(char *err, size_t errlen, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static long
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

const char *
binlog_type_name(uint8_t type, char *buf, size_t size)
{
    static const struct {
        uint8_t type;
        const char *name;
    } names[] = {
        {BLT_DECIMAL, "DECIMAL (pre-5.0 format)"},
        {BLT_TINY, "TINYINT"},
        {BLT_SHORT, "SMALLINT"},
        {BLT_LONG, "INT"},
        {BLT_FLOAT, "FLOAT"},
        {BLT_DOUBLE, "DOUBLE"},
        {BLT_NULL, "NULL"},
        {BLT_TIMESTAMP, "TIMESTAMP (pre-10.0 format)"},
        {BLT_LONGLONG, "BIGINT"},
        {BLT_INT24, "MEDIUMINT"},
        {BLT_DATE, "DATE"},
        {BLT_TIME, "TIME (pre-10.0 format)"},
        {BLT_DATETIME, "DATETIME (pre-10.0 format)"},
        {BLT_YEAR, "YEAR"},
        {BLT_NEWDATE, "DATE"},
        {BLT_VARCHAR, "VARCHAR"},
        {BLT_BIT, "BIT"},
        {BLT_TIMESTAMP2, "TIMESTAMP"},
        {BLT_DATETIME2, "DATETIME"},
        {BLT_TIME2, "TIME"},
        {BLT_JSON, "JSON (MySQL binary format)"},
        {BLT_NEWDECIMAL, "DECIMAL"},
        {BLT_ENUM, "ENUM"},
        {BLT_SET, "SET"},
        {BLT_BLOB, "BLOB/TEXT"},
        {BLT_VAR_STRING, "VARCHAR"},
        {BLT_STRING, "CHAR"},
        {BLT_GEOMETRY, "GEOMETRY"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].type == type)
            return names[i].name;
    snprintf(buf, size, "type %u", type);
    return buf;
}

bool
binlog_value_meta(const uint8_t *types, uint32_t ncols, const uint8_t *meta,
                  size_t metalen, struct binlog_col *cols, char *err,
                  size_t errlen)
{
    size_t at = 0;

    for (uint32_t i = 0; i < ncols; i++) {
        struct binlog_col *c = &cols[i];
        size_t need;
        char nb[16];

        c->type = types[i];
        c->meta = 0;
        switch (c->type) {
        case BLT_FLOAT:
        case BLT_DOUBLE:
        case BLT_BLOB:
        case BLT_GEOMETRY:
        case BLT_JSON:
        case BLT_TIMESTAMP2:
        case BLT_DATETIME2:
        case BLT_TIME2:
            need = 1;
            break;
        case BLT_NEWDECIMAL:
        case BLT_VARCHAR:
        case BLT_VAR_STRING:
        case BLT_BIT:
        case BLT_STRING:
        case BLT_ENUM:
        case BLT_SET:
            need = 2;
            break;
        case BLT_DECIMAL:
        case BLT_TINY:
        case BLT_SHORT:
        case BLT_LONG:
        case BLT_NULL:
        case BLT_TIMESTAMP:
        case BLT_LONGLONG:
        case BLT_INT24:
        case BLT_DATE:
        case BLT_TIME:
        case BLT_DATETIME:
        case BLT_YEAR:
        case BLT_NEWDATE:
            need = 0;
            break;
        default:
            fail(err, errlen,
                 "column %u has binary log type %s, which the stream cannot "
                 "decode",
                 i + 1, binlog_type_name(c->type, nb, sizeof(nb)));
            return false;
        }
        if (metalen - at < need) {
            fail(err, errlen, "table map metadata too short at column %u",
                 i + 1);
            return false;
        }
        const uint8_t *m = meta + at;
        at += need;
        switch (c->type) {
        case BLT_VARCHAR:
        case BLT_VAR_STRING:
            c->meta = (uint16_t)(m[0] | m[1] << 8);
            break;
        case BLT_NEWDECIMAL: /* precision, scale */
            c->meta = (uint16_t)(m[0] << 8 | m[1]);
            break;
        case BLT_BIT: /* bits beyond the whole bytes, whole bytes */
            c->meta = (uint16_t)(m[1] << 8 | m[0]);
            break;
        case BLT_STRING:
        case BLT_ENUM:
        case BLT_SET:
            /* real type and length; CHAR keeps 2 high length bits in the
             * real type's 0x30 bits, inverted */
            if (m[0] == BLT_ENUM || m[0] == BLT_SET) {
                c->type = m[0];
                c->meta = m[1];
            } else if ((m[0] & 0x30) != 0x30) {
                c->type = (uint8_t)(m[0] | 0x30);
                c->meta = (uint16_t)(m[1] | ((m[0] & 0x30) ^ 0x30) << 4);
            } else {
                c->type = m[0];
                c->meta = m[1];
            }
            if (c->type != BLT_STRING && c->type != BLT_ENUM &&
                c->type != BLT_SET) {
                fail(err, errlen,
                     "column %u has string real type %s, which the stream "
                     "cannot decode",
                     i + 1, binlog_type_name(c->type, nb, sizeof(nb)));
                return false;
            }
            break;
        default:
            if (need == 1)
                c->meta = m[0];
        }
    }
    return true;
}

int
binlog_value_expect(const char *t)
{
    static const struct {
        const char *name;
        int type;
    } map[] = {
        {"tinyint", BLT_TINY},
        {"smallint", BLT_SHORT},
        {"mediumint", BLT_INT24},
        {"int", BLT_LONG},
        {"bigint", BLT_LONGLONG},
        {"float", BLT_FLOAT},
        {"double", BLT_DOUBLE},
        {"decimal", BLT_NEWDECIMAL},
        {"year", BLT_YEAR},
        {"date", BLT_DATE},
        {"time", BLT_TIME2},
        {"datetime", BLT_DATETIME2},
        {"timestamp", BLT_TIMESTAMP2},
        {"char", BLT_STRING},
        {"binary", BLT_STRING},
        {"varchar", BLT_VARCHAR},
        {"varbinary", BLT_VARCHAR},
        {"enum", BLT_ENUM},
        {"set", BLT_SET},
        {"bit", BLT_BIT},
        {"tinytext", BLT_BLOB},
        {"text", BLT_BLOB},
        {"mediumtext", BLT_BLOB},
        {"longtext", BLT_BLOB},
        {"tinyblob", BLT_BLOB},
        {"blob", BLT_BLOB},
        {"mediumblob", BLT_BLOB},
        {"longblob", BLT_BLOB},
        {"json", BLT_BLOB},
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(map[i].name, t) == 0)
            return map[i].type;
    return -1;
}

bool
binlog_text_add(struct binlog_text *t, const char *s, size_t len)
{
    if (t->cap - t->len < len + 1) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap - t->len < len + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (p == NULL)
            return false;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, len);
    t->len += len;
    t->p[t->len] = '\0';
    return true;
}

static bool addf(struct binlog_text *t, const char *fmt, ...) PRINTF_FMT(2, 3);

static bool
addf(struct binlog_text *t, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < sizeof(buf) &&
           binlog_text_add(t, buf, (size_t)n);
}

static uint64_t
le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t
be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static bool
add_hex(struct binlog_text *t, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char buf[256];
    size_t k = 0;

    if (!binlog_text_add(t, "X'", 2))
        return false;
    for (size_t i = 0; i < n; i++) {
        buf[k++] = hex[p[i] >> 4];
        buf[k++] = hex[p[i] & 15];
        if (k == sizeof(buf)) {
            if (!binlog_text_add(t, buf, k))
                return false;
            k = 0;
        }
    }
    return binlog_text_add(t, buf, k) && binlog_text_add(t, "'", 1);
}

/* Whether p[0..n) is well-formed UTF-8 (no overlongs, no surrogates)
 * without NUL or backslash: then it is quoted as it is. */
static bool
quotable(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        int more;
        uint32_t cp;
        if (c == 0 || c == '\\')
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            more = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            more = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3, cp = c & 0x07;
        else
            return false;
        if (n - i <= (size_t)more)
            return false;
        for (int k = 1; k <= more; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += (size_t)more + 1;
    }
    return true;
}

static bool
add_string(struct binlog_text *t, const struct binlog_col *c, const uint8_t *p,
           size_t n)
{
    if (c->cs == BINLOG_CS_BINARY)
        return add_hex(t, p, n);
    if (c->cs == BINLOG_CS_UTF8 && quotable(p, n)) {
        size_t from = 0;
        if (!binlog_text_add(t, "'", 1))
            return false;
        for (size_t i = 0; i < n; i++)
            if (p[i] == '\'') {
                if (!binlog_text_add(t, (const char *)p + from, i + 1 - from))
                    return false;
                from = i; /* the quote again: doubled */
            }
        return binlog_text_add(t, (const char *)p + from, n - from) &&
               binlog_text_add(t, "'", 1);
    }
    /* the column's own character set names the bytes: exact whatever the
     * connection's character set and sql_mode */
    return addf(t, "_%s ",
                c->cs == BINLOG_CS_UTF8 && c->csname[0] == '\0' ? "utf8mb4"
                                                                : c->csname) &&
           add_hex(t, p, n);
}

/* Fraction of a temporal value: dec digits in (dec + 1) / 2 big-endian
 * bytes; returns microseconds. */
static uint32_t
frac_usec(const uint8_t *p, unsigned dec)
{
    switch (dec) {
    case 1:
    case 2:
        return (uint32_t)p[0] * 10000;
    case 3:
    case 4:
        return (uint32_t)be(p, 2) * 100;
    case 5:
    case 6:
        return (uint32_t)be(p, 3);
    default:
        return 0;
    }
}

static bool
add_frac(struct binlog_text *t, uint32_t usec, unsigned dec)
{
    static const uint32_t div[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    if (dec == 0)
        return true;
    return addf(t, ".%0*u", (int)dec, usec / div[dec]);
}

static long
render_decimal(const struct binlog_col *c, const uint8_t *p, size_t avail,
               struct binlog_text *out, char *err, size_t errlen)
{
    static const int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    static const uint32_t pow10[10] = {1,         10,        100,     1000,
                                       10000,     100000,    1000000, 10000000,
                                       100000000, 1000000000};
    int prec = c->meta >> 8, scale = c->meta & 0xff;
    uint8_t b[40];
    char digits[100];
    size_t nd = 0, at = 0;

    if (prec < 1 || prec > 65 || scale > 38 || scale > prec)
        return fail(err, errlen, "DECIMAL(%d,%d) metadata is malformed", prec,
                    scale);
    int intg = prec - scale;
    int intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9,
        frac0x = scale % 9;
    size_t size =
        (size_t)(intg0 * 4 + dig2bytes[intg0x] + frac0 * 4 + dig2bytes[frac0x]);
    if (avail < size)
        return fail(err, errlen, "DECIMAL value past the row's end");
    memcpy(b, p, size);
    bool neg = !(b[0] & 0x80);
    b[0] ^= 0x80;
    if (neg)
        for (size_t i = 0; i < size; i++)
            b[i] ^= 0xff;

    /* groups: a partial integer group, whole integer groups of 9 digits,
     * whole fraction groups, a partial fraction group */
    int groups[4][2] = {{intg0x ? 1 : 0, intg0x},
                        {intg0, 9},
                        {frac0, 9},
                        {frac0x ? 1 : 0, frac0x}};
    size_t point = 0;
    for (int g = 0; g < 4; g++) {
        if (g == 2)
            point = nd;
        for (int k = 0; k < groups[g][0]; k++) {
            int digs = groups[g][1], nb = dig2bytes[digs];
            uint64_t v = be(b + at, nb);
            at += (size_t)nb;
            if (v >= pow10[digs])
                return fail(err, errlen, "DECIMAL value is malformed");
            nd += (size_t)snprintf(digits + nd, sizeof(digits) - nd, "%0*u",
                                   digs, (unsigned)v);
        }
    }
    size_t lead = 0;
    while (lead + 1 < point && digits[lead] == '0')
        lead++;
    bool zero = true;
    for (size_t i = 0; i < nd; i++)
        zero = zero && digits[i] == '0';
    if ((neg && !zero && !binlog_text_add(out, "-", 1)) ||
        (point == 0 && !binlog_text_add(out, "0", 1)) ||
        !binlog_text_add(out, digits + lead, point - lead) ||
        (nd > point && (!binlog_text_add(out, ".", 1) ||
                        !binlog_text_add(out, digits + point, nd - point))))
        return fail(err, errlen, "out of memory");
    return (long)size;
}

static long
render_time2(const struct binlog_col *c, const uint8_t *p, size_t avail,
             struct binlog_text *out, char *err, size_t errlen)
{
    unsigned dec = c->meta;
    size_t size = 3 + (dec + 1) / 2;
    int64_t packed;

    if (dec > 6)
        return fail(err, errlen, "TIME(%u) metadata is malformed", dec);
    if (avail < size)
        return fail(err, errlen, "TIME value past the row's end");
    /* the packed form hh:mm:ss << 24 | microseconds, offset to sort as
     * unsigned; negative values borrow one second from the fraction */
    int64_t intpart = (int64_t)be(p, 3) - 0x800000;
    if (dec >= 5) {
        packed = (int64_t)be(p, 6) - 0x800000000000LL;
    } else if (dec >= 3) {
        int64_t f = (int64_t)be(p + 3, 2);
        if (intpart < 0 && f) {
            intpart++;
            f -= 0x10000;
        }
        packed = intpart * (1LL << 24) + f * 100;
    } else if (dec >= 1) {
        int64_t f = p[3];
        if (intpart < 0 && f) {
            intpart++;
            f -= 0x100;
        }
        packed = intpart * (1LL << 24) + f * 10000;
    } else {
        packed = intpart * (1LL << 24);
    }
    bool neg = packed < 0;
    if (neg)
        packed = -packed;
    int64_t hms = packed >> 24;
    uint32_t usec = (uint32_t)(packed % (1LL << 24));
    if (usec > 999999)
        return fail(err, errlen, "TIME value is malformed");
    if (!addf(out, "'%s%02u:%02u:%02u", neg ? "-" : "",
              (unsigned)((hms >> 12) % 1024), (unsigned)((hms >> 6) % 64),
              (unsigned)(hms % 64)) ||
        !add_frac(out, usec, dec) || !binlog_text_add(out, "'", 1))
        return fail(err, errlen, "out of memory");
    return (long)size;
}

static long
render_datetime(unsigned year, unsigned mon, unsigned day, unsigned hour,
                unsigned min, unsigned sec, uint32_t usec, unsigned dec,
                size_t size, struct binlog_text *out, char *err, size_t errlen)
{
    if (!addf(out, "'%04u-%02u-%02u %02u:%02u:%02u", year, mon, day, hour, min,
              sec) ||
        !add_frac(out, usec, dec) || !binlog_text_add(out, "'", 1))
        return fail(err, errlen, "out of memory");
    return (long)size;
}

static long
render_temporal(const struct binlog_col *c, const uint8_t *p, size_t avail,
                struct binlog_text *out, char *err, size_t errlen)
{
    unsigned dec = c->meta;
    size_t size;

    if (c->type == BLT_DATE || c->type == BLT_NEWDATE) {
        if (avail < 3)
            return fail(err, errlen, "DATE value past the row's end");
        uint32_t v = (uint32_t)le(p, 3);
        if (!addf(out, "'%04u-%02u-%02u'", v >> 9, (v >> 5) & 15, v & 31))
            return fail(err, errlen, "out of memory");
        return 3;
    }
    if (dec > 6)
        return fail(err, errlen, "fraction digits %u are malformed", dec);
    if (c->type == BLT_TIME2)
        return render_time2(c, p, avail, out, err, errlen);
    if (c->type == BLT_DATETIME2) {
        size = 5 + (dec + 1) / 2;
        if (avail < size)
            return fail(err, errlen, "DATETIME value past the row's end");
        uint64_t v = be(p, 5) - 0x8000000000ULL;
        uint64_t ymd = v >> 17, ym = ymd >> 5, hms = v & 0x1ffff;
        return render_datetime((unsigned)(ym / 13), (unsigned)(ym % 13),
                               (unsigned)(ymd & 31), (unsigned)(hms >> 12),
                               (unsigned)((hms >> 6) & 63),
                               (unsigned)(hms & 63), frac_usec(p + 5, dec), dec,
                               size, out, err, errlen);
    }
    /* TIMESTAMP2: seconds since the epoch, rendered in UTC */
    size = 4 + (dec + 1) / 2;
    if (avail < size)
        return fail(err, errlen, "TIMESTAMP value past the row's end");
    time_t secs = (time_t)be(p, 4);
    uint32_t usec = frac_usec(p + 4, dec);
    if (secs == 0 && usec == 0)
        return render_datetime(0, 0, 0, 0, 0, 0, 0, dec, size, out, err,
                               errlen);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return fail(err, errlen, "TIMESTAMP value is malformed");
    return render_datetime((unsigned)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                           (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
                           (unsigned)tm.tm_min, (unsigned)tm.tm_sec, usec, dec,
                           size, out, err, errlen);
}

static long
render_int(const struct binlog_col *c, const uint8_t *p, size_t avail,
           struct binlog_text *out, char *err, size_t errlen)
{
    int n;
    switch (c->type) {
    case BLT_TINY:
        n = 1;
        break;
    case BLT_SHORT:
        n = 2;
        break;
    case BLT_INT24:
        n = 3;
        break;
    case BLT_LONG:
        n = 4;
        break;
    default:
        n = 8;
    }
    if (avail < (size_t)n)
        return fail(err, errlen, "integer value past the row's end");
    uint64_t u = le(p, n);
    bool ok;
    if (c->is_unsigned) {
        ok = addf(out, "%llu", (unsigned long long)u);
    } else {
        int shift = 64 - 8 * n; /* sign-extend */
        int64_t s = (int64_t)(u << shift) >> shift;
        ok = addf(out, "%lld", (long long)s);
    }
    return ok ? n : fail(err, errlen, "out of memory");
}

static long
render_float(const struct binlog_col *c, const uint8_t *p, size_t avail,
             struct binlog_text *out, char *err, size_t errlen)
{
    size_t n = c->type == BLT_FLOAT ? 4 : 8;
    double d;

    if (c->meta != n)
        return fail(err, errlen, "FLOAT/DOUBLE size %u is malformed", c->meta);
    if (avail < n)
        return fail(err, errlen, "FLOAT/DOUBLE value past the row's end");
    if (n == 4) {
        uint32_t u = (uint32_t)le(p, 4);
        float f;
        memcpy(&f, &u, 4);
        d = f;
    } else {
        uint64_t u = le(p, 8);
        memcpy(&d, &u, 8);
    }
    if (!isfinite(d))
        return fail(err, errlen, "FLOAT/DOUBLE value is not finite");
    /* 17 digits name the exact double, so it compares equal */
    if (!addf(out, "%.17g", d))
        return fail(err, errlen, "out of memory");
    return (long)n;
}

/* A length-prefixed string or BLOB: lenbytes of length, then the bytes. */
static long
render_bytes(const struct binlog_col *c, const uint8_t *p, size_t avail,
             int lenbytes, struct binlog_text *out, char *err, size_t errlen)
{
    if (avail < (size_t)lenbytes)
        return fail(err, errlen, "string length past the row's end");
    uint64_t n = le(p, lenbytes);
    if (avail - (size_t)lenbytes < n)
        return fail(err, errlen, "string value past the row's end");
    if (!add_string(out, c, p + lenbytes, (size_t)n))
        return fail(err, errlen, "out of memory");
    return (long)(lenbytes + n);
}

long
binlog_value_render(const struct binlog_col *c, const uint8_t *p, size_t avail,
                    struct binlog_text *out, char *err, size_t errlen)
{
    char nb[16];

    if (c->refuse)
        return fail(err, errlen,
                    "cannot render a value of column type %s (refusing "
                    "rather than guessing)",
                    c->dtype);
    switch (c->type) {
    case BLT_TINY:
    case BLT_SHORT:
    case BLT_INT24:
    case BLT_LONG:
    case BLT_LONGLONG:
        return render_int(c, p, avail, out, err, errlen);
    case BLT_FLOAT:
    case BLT_DOUBLE:
        return render_float(c, p, avail, out, err, errlen);
    case BLT_NEWDECIMAL:
        return render_decimal(c, p, avail, out, err, errlen);
    case BLT_YEAR:
        if (avail < 1)
            return fail(err, errlen, "YEAR value past the row's end");
        if (!addf(out, "%u", p[0] ? 1900u + p[0] : 0u))
            return fail(err, errlen, "out of memory");
        return 1;
    case BLT_DATE:
    case BLT_NEWDATE:
    case BLT_DATETIME2:
    case BLT_TIMESTAMP2:
    case BLT_TIME2:
        return render_temporal(c, p, avail, out, err, errlen);
    case BLT_VARCHAR:
    case BLT_VAR_STRING:
    case BLT_STRING:
        return render_bytes(c, p, avail, c->meta < 256 ? 1 : 2, out, err,
                            errlen);
    case BLT_BLOB:
        if (c->meta < 1 || c->meta > 4)
            return fail(err, errlen, "BLOB length size %u is malformed",
                        c->meta);
        return render_bytes(c, p, avail, c->meta, out, err, errlen);
    case BLT_ENUM:
    case BLT_SET: {
        int n = c->meta;
        if (n < 1 || n > 8)
            return fail(err, errlen, "ENUM/SET size %d is malformed", n);
        if (avail < (size_t)n)
            return fail(err, errlen, "ENUM/SET value past the row's end");
        if (!addf(out, "%llu", (unsigned long long)le(p, n)))
            return fail(err, errlen, "out of memory");
        return n;
    }
    case BLT_BIT: {
        int n = (c->meta >> 8) + ((c->meta & 0xff) ? 1 : 0);
        if (n < 1 || n > 8)
            return fail(err, errlen, "BIT size %d is malformed", n);
        if (avail < (size_t)n)
            return fail(err, errlen, "BIT value past the row's end");
        if (!addf(out, "%llu", (unsigned long long)be(p, n)))
            return fail(err, errlen, "out of memory");
        return n;
    }
    default:
        return fail(err, errlen,
                    "cannot render a value of column type %s (refusing "
                    "rather than guessing)",
                    binlog_type_name(c->type, nb, sizeof(nb)));
    }
}
