/*
 * binproto.c - codecs of the binary (prepared statement) protocol declared
 * in binproto.h: COM_STMT_PREPARE_OK, COM_STMT_EXECUTE parameters and
 * binary result rows. Values are decoded by type word through the wire
 * cursor, one table-like switch (binproto_get) for reading and one
 * (binproto_put_value) for writing, so parameters and rows share one
 * definition of every type's encoding:
 *
 *   TINY 1, SHORT/YEAR 2, INT24/LONG 4, LONGLONG 8 bytes, little-endian;
 *   FLOAT 4 and DOUBLE 8 bytes IEEE-754; NULL no bytes;
 *   DATE/DATETIME/TIMESTAMP: length 0, 4, 7 or 11, then year u16, month,
 *     day, [hour, minute, second, [microsecond u32]];
 *   TIME: length 0, 8 or 12, then negative, days u32, hour, minute, second,
 *     [microsecond u32];
 *   everything else a length-encoded string.
 *
 * COM_STMT_EXECUTE with MySQL 8 query attributes (CLIENT_QUERY_ATTRIBUTES)
 * is not decoded: myshard does not offer that capability.
 */
#include "proto/binproto.h"

#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/wire.h"

#define PREPARE_OK_MIN_LEN 10 /* up to and including reserved_1 */
#define EXECUTE_HEAD_LEN   10 /* command, stmt_id, flags, iterations */
#define ROW_BITMAP_OFFSET  2  /* binary rows skip two bitmap bits */

/* Binary encodings a type uses. */
enum binproto_enc {
    ENC_NONE, /* no binary encoding: malformed */
    ENC_NULL, /* no bytes */
    ENC_INT1,
    ENC_INT2,
    ENC_INT4,
    ENC_INT8,
    ENC_FLOAT,
    ENC_DOUBLE,
    ENC_DATE, /* DATE, DATETIME, TIMESTAMP */
    ENC_TIME,
    ENC_STRING /* length-encoded */
};

static enum binproto_enc
binproto_enc_of(uint8_t type)
{
    switch (type) {
    case MYSQL_TYPE_NULL:
        return ENC_NULL;
    case MYSQL_TYPE_TINY:
        return ENC_INT1;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR:
        return ENC_INT2;
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
        return ENC_INT4;
    case MYSQL_TYPE_LONGLONG:
        return ENC_INT8;
    case MYSQL_TYPE_FLOAT:
        return ENC_FLOAT;
    case MYSQL_TYPE_DOUBLE:
        return ENC_DOUBLE;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        return ENC_DATE;
    case MYSQL_TYPE_TIME:
        return ENC_TIME;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_JSON:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_GEOMETRY:
        return ENC_STRING;
    default:
        return ENC_NONE;
    }
}

/* Reads an n-byte little-endian integer; signed types sign-extend. */
static bool
binproto_get_int(struct wire *w, size_t n, struct binproto_value *v)
{
    uint64_t raw = 0;
    uint8_t b;

    for (size_t i = 0; i < n; i++) {
        if (!wire_u8(w, &b))
            return false;
        raw |= (uint64_t)b << (8 * i);
    }
    if (!v->is_unsigned && n < 8 && (raw >> (8 * n - 1)) & 1)
        raw |= ~(uint64_t)0 << (8 * n);
    v->u64 = raw;
    v->i64 = (int64_t)raw;
    return true;
}

static bool
binproto_get_date(struct wire *w, struct binproto_time *t)
{
    uint8_t n;

    if (!wire_u8(w, &n))
        return false;
    if (n != 0 && n != 4 && n != 7 && n != 11)
        return false;
    if (n >= 4 && (!wire_u16(w, &t->year) || !wire_u8(w, &t->month) ||
                   !wire_u8(w, &t->day)))
        return false;
    if (n >= 7 && (!wire_u8(w, &t->hour) || !wire_u8(w, &t->minute) ||
                   !wire_u8(w, &t->second)))
        return false;
    if (n == 11 && !wire_u32(w, &t->microsecond))
        return false;
    return true;
}

static bool
binproto_get_time(struct wire *w, struct binproto_time *t)
{
    uint8_t n, neg;

    if (!wire_u8(w, &n))
        return false;
    if (n != 0 && n != 8 && n != 12)
        return false;
    if (n >= 8) {
        if (!wire_u8(w, &neg) || neg > 1 || !wire_u32(w, &t->days) ||
            !wire_u8(w, &t->hour) || !wire_u8(w, &t->minute) ||
            !wire_u8(w, &t->second))
            return false;
        t->negative = neg == 1;
    }
    if (n == 12 && !wire_u32(w, &t->microsecond))
        return false;
    return true;
}

/* Decodes one non-NULL value of type word tw into v. */
static bool
binproto_get(struct wire *w, uint16_t tw, struct binproto_value *v)
{
    uint32_t u32;
    uint64_t u64;
    float f;

    v->type = (uint8_t)(tw & 0xff);
    v->is_unsigned = (tw & BINPROTO_UNSIGNED) != 0;
    switch (binproto_enc_of(v->type)) {
    case ENC_NONE:
        return false;
    case ENC_NULL:
        v->is_null = true;
        return true;
    case ENC_INT1:
        return binproto_get_int(w, 1, v);
    case ENC_INT2:
        return binproto_get_int(w, 2, v);
    case ENC_INT4:
        return binproto_get_int(w, 4, v);
    case ENC_INT8:
        return binproto_get_int(w, 8, v);
    case ENC_FLOAT:
        if (!wire_u32(w, &u32))
            return false;
        memcpy(&f, &u32, sizeof(f));
        v->f64 = f;
        return true;
    case ENC_DOUBLE:
        if (!wire_u64(w, &u64))
            return false;
        memcpy(&v->f64, &u64, sizeof(v->f64));
        return true;
    case ENC_DATE:
        return binproto_get_date(w, &v->tm);
    case ENC_TIME:
        return binproto_get_time(w, &v->tm);
    case ENC_STRING:
        return wire_lenenc_str(w, &v->str, &v->len);
    }
    return false;
}

static bool
bitmap_test(const uint8_t *bitmap, size_t bit)
{
    return (bitmap[bit / 8] >> (bit % 8)) & 1;
}

bool
binproto_parse_prepare_ok(const uint8_t *p, size_t len,
                          struct binproto_prepare_ok *ok)
{
    struct wire w;
    uint8_t status;

    memset(ok, 0, sizeof(*ok));
    if (len < PREPARE_OK_MIN_LEN)
        return false;
    wire_init(&w, p, len);
    if (!wire_u8(&w, &status) || status != PKT_HDR_OK ||
        !wire_u32(&w, &ok->stmt_id) || !wire_u16(&w, &ok->num_columns) ||
        !wire_u16(&w, &ok->num_params) || !wire_skip(&w, 1))
        return false;
    /* The warning count is optional; a MySQL 8 metadata_follows byte may
     * come after it. */
    if (wire_left(&w) >= 2 && !wire_u16(&w, &ok->warnings))
        return false;
    return true;
}

void
binproto_write_prepare_ok(struct pktbuf *pb,
                          const struct binproto_prepare_ok *ok)
{
    pktbuf_put_u8(pb, PKT_HDR_OK);
    pktbuf_put_u32(pb, ok->stmt_id);
    pktbuf_put_u16(pb, ok->num_columns);
    pktbuf_put_u16(pb, ok->num_params);
    pktbuf_put_u8(pb, 0);
    pktbuf_put_u16(pb, ok->warnings);
}

bool
binproto_execute_stmt_id(const uint8_t *p, size_t len, uint32_t *stmt_id)
{
    struct wire w;
    uint8_t cmd;

    wire_init(&w, p, len);
    return wire_u8(&w, &cmd) && cmd == COM_STMT_EXECUTE &&
           wire_u32(&w, stmt_id);
}

bool
binproto_parse_execute(const uint8_t *p, size_t len, uint16_t nparams,
                       uint16_t *types, bool *types_bound,
                       const bool *long_data, struct binproto_execute *ex,
                       struct binproto_value *vals)
{
    struct wire w, tw;
    const uint8_t *bitmap = NULL, *new_types = NULL;
    uint8_t cmd, bound = 0;
    uint16_t t;

    memset(ex, 0, sizeof(*ex));
    wire_init(&w, p, len);
    if (!wire_u8(&w, &cmd) || cmd != COM_STMT_EXECUTE ||
        !wire_u32(&w, &ex->stmt_id) || !wire_u8(&w, &ex->flags) ||
        !wire_u32(&w, &ex->iterations))
        return false;
    if (nparams > 0) {
        if (!wire_bytes(&w, ((size_t)nparams + 7) / 8, &bitmap) ||
            !wire_u8(&w, &bound) || bound > 1)
            return false;
        if (bound && !wire_bytes(&w, (size_t)nparams * 2, &new_types))
            return false;
    }
    ex->new_params_bound = bound == 1;
    if (new_types != NULL)
        wire_init(&tw, new_types, (size_t)nparams * 2);

    for (uint16_t i = 0; i < nparams; i++) {
        struct binproto_value *v = &vals[i];

        memset(v, 0, sizeof(*v));
        if (new_types != NULL) {
            if (!wire_u16(&tw, &t))
                return false;
        } else if (*types_bound) {
            t = types[i];
        } else {
            t = MYSQL_TYPE_NULL; /* unknown: only a NULL can pass */
        }
        v->type = (uint8_t)(t & 0xff);
        v->is_unsigned = (t & BINPROTO_UNSIGNED) != 0;
        if (long_data != NULL && long_data[i]) {
            v->long_data = true;
            continue;
        }
        if (bitmap_test(bitmap, i)) {
            v->is_null = true;
            continue;
        }
        if (new_types == NULL && !*types_bound)
            return false;
        if (!binproto_get(&w, t, v))
            return false;
    }
    if (wire_left(&w) != 0)
        return false;

    if (new_types != NULL) {
        wire_init(&tw, new_types, (size_t)nparams * 2);
        for (uint16_t i = 0; i < nparams; i++)
            (void)wire_u16(&tw, &types[i]);
        *types_bound = true;
    }
    return true;
}

static void
binproto_put_date(struct pktbuf *pb, const struct binproto_value *v)
{
    const struct binproto_time *t = &v->tm;
    uint8_t n;

    if (t->microsecond != 0)
        n = 11;
    else if (t->hour != 0 || t->minute != 0 || t->second != 0)
        n = 7;
    else if (t->year != 0 || t->month != 0 || t->day != 0)
        n = 4;
    else
        n = 0;
    if (v->type == MYSQL_TYPE_DATE && n > 4)
        n = 4; /* a DATE has no time of day */
    pktbuf_put_u8(pb, n);
    if (n >= 4) {
        pktbuf_put_u16(pb, t->year);
        pktbuf_put_u8(pb, t->month);
        pktbuf_put_u8(pb, t->day);
    }
    if (n >= 7) {
        pktbuf_put_u8(pb, t->hour);
        pktbuf_put_u8(pb, t->minute);
        pktbuf_put_u8(pb, t->second);
    }
    if (n == 11)
        pktbuf_put_u32(pb, t->microsecond);
}

static void
binproto_put_time(struct pktbuf *pb, const struct binproto_time *t)
{
    uint8_t n;

    if (t->microsecond != 0)
        n = 12;
    else if (t->days != 0 || t->hour != 0 || t->minute != 0 || t->second != 0 ||
             t->negative)
        n = 8;
    else
        n = 0;
    pktbuf_put_u8(pb, n);
    if (n >= 8) {
        pktbuf_put_u8(pb, t->negative ? 1 : 0);
        pktbuf_put_u32(pb, t->days);
        pktbuf_put_u8(pb, t->hour);
        pktbuf_put_u8(pb, t->minute);
        pktbuf_put_u8(pb, t->second);
    }
    if (n == 12)
        pktbuf_put_u32(pb, t->microsecond);
}

bool
binproto_put_value(struct pktbuf *pb, const struct binproto_value *v)
{
    uint64_t raw = v->is_unsigned ? v->u64 : (uint64_t)v->i64;
    uint32_t u32;
    uint64_t u64;
    float f;

    switch (binproto_enc_of(v->type)) {
    case ENC_NONE:
        return false;
    case ENC_NULL:
        return true;
    case ENC_INT1:
        pktbuf_put_u8(pb, (uint8_t)raw);
        return true;
    case ENC_INT2:
        pktbuf_put_u16(pb, (uint16_t)raw);
        return true;
    case ENC_INT4:
        pktbuf_put_u32(pb, (uint32_t)raw);
        return true;
    case ENC_INT8:
        pktbuf_put_u64(pb, raw);
        return true;
    case ENC_FLOAT:
        f = (float)v->f64;
        memcpy(&u32, &f, sizeof(u32));
        pktbuf_put_u32(pb, u32);
        return true;
    case ENC_DOUBLE:
        memcpy(&u64, &v->f64, sizeof(u64));
        pktbuf_put_u64(pb, u64);
        return true;
    case ENC_DATE:
        binproto_put_date(pb, v);
        return true;
    case ENC_TIME:
        binproto_put_time(pb, &v->tm);
        return true;
    case ENC_STRING:
        pktbuf_put_lenenc_str(pb, v->str, v->len);
        return true;
    }
    return false;
}

/* Appends a NULL bitmap of n values starting at bit offset. */
static void
binproto_put_bitmap(struct pktbuf *pb, const struct binproto_value *vals,
                    size_t n, size_t offset)
{
    uint8_t byte = 0;
    size_t bits = n + offset;

    for (size_t bit = 0; bit < bits; bit++) {
        if (bit >= offset && vals[bit - offset].is_null &&
            !vals[bit - offset].long_data)
            byte |= (uint8_t)(1u << (bit % 8));
        if (bit % 8 == 7) {
            pktbuf_put_u8(pb, byte);
            byte = 0;
        }
    }
    if (bits % 8 != 0)
        pktbuf_put_u8(pb, byte);
}

void
binproto_write_execute(struct pktbuf *pb, uint32_t stmt_id, uint8_t flags,
                       const struct binproto_value *vals, uint16_t n,
                       bool send_types)
{
    pktbuf_put_u8(pb, COM_STMT_EXECUTE);
    pktbuf_put_u32(pb, stmt_id);
    pktbuf_put_u8(pb, flags);
    pktbuf_put_u32(pb, 1);
    if (n == 0)
        return;
    binproto_put_bitmap(pb, vals, n, 0);
    pktbuf_put_u8(pb, send_types ? 1 : 0);
    if (send_types) {
        for (uint16_t i = 0; i < n; i++)
            pktbuf_put_u16(
                pb, (uint16_t)(vals[i].type |
                               (vals[i].is_unsigned ? BINPROTO_UNSIGNED : 0)));
    }
    for (uint16_t i = 0; i < n; i++) {
        if (vals[i].is_null || vals[i].long_data)
            continue;
        if (!binproto_put_value(pb, &vals[i]))
            pb->failed = true; /* no encoding: the packet cannot be sent */
    }
}

bool
binproto_write_row(struct pktbuf *pb, const struct binproto_value *vals,
                   size_t n)
{
    pktbuf_put_u8(pb, PKT_HDR_OK);
    binproto_put_bitmap(pb, vals, n, ROW_BITMAP_OFFSET);
    for (size_t i = 0; i < n; i++) {
        if (vals[i].is_null)
            continue;
        if (!binproto_put_value(pb, &vals[i]))
            return false;
    }
    return true;
}

bool
binproto_parse_row(const uint8_t *p, size_t len, const uint16_t *types,
                   size_t n, struct binproto_value *vals)
{
    struct wire w;
    const uint8_t *bitmap;
    uint8_t hdr;

    wire_init(&w, p, len);
    if (!wire_u8(&w, &hdr) || hdr != PKT_HDR_OK ||
        !wire_bytes(&w, (n + 7 + ROW_BITMAP_OFFSET) / 8, &bitmap))
        return false;
    for (size_t i = 0; i < n; i++) {
        struct binproto_value *v = &vals[i];

        memset(v, 0, sizeof(*v));
        v->type = (uint8_t)(types[i] & 0xff);
        v->is_unsigned = (types[i] & BINPROTO_UNSIGNED) != 0;
        if (bitmap_test(bitmap, i + ROW_BITMAP_OFFSET)) {
            v->is_null = true;
            continue;
        }
        if (!binproto_get(&w, types[i], v))
            return false;
    }
    return wire_left(&w) == 0;
}
