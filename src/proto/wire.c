/*
 * wire.c - the bounds-checked read cursor declared in wire.h. Every reader
 * checks the bytes left before touching them; on failure it sets the sticky
 * err flag, leaves the cursor where it was and returns false. Integers are
 * little-endian as the MySQL protocol sends them.
 */
#include "proto/wire.h"

#include <string.h>

static bool
wire_fail(struct wire *w)
{
    w->err = true;
    return false;
}

/* Reads n (<= 8) little-endian bytes into a uint64_t. */
static bool
wire_uint(struct wire *w, size_t n, uint64_t *v)
{
    uint64_t x = 0;

    if (w->err || wire_left(w) < n)
        return wire_fail(w);
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)w->p[i] << (8 * i);
    w->p += n;
    *v = x;
    return true;
}

bool
wire_u8(struct wire *w, uint8_t *v)
{
    uint64_t x;

    if (!wire_uint(w, 1, &x))
        return false;
    *v = (uint8_t)x;
    return true;
}

bool
wire_u16(struct wire *w, uint16_t *v)
{
    uint64_t x;

    if (!wire_uint(w, 2, &x))
        return false;
    *v = (uint16_t)x;
    return true;
}

bool
wire_u24(struct wire *w, uint32_t *v)
{
    uint64_t x;

    if (!wire_uint(w, 3, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool
wire_u32(struct wire *w, uint32_t *v)
{
    uint64_t x;

    if (!wire_uint(w, 4, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool
wire_u64(struct wire *w, uint64_t *v)
{
    return wire_uint(w, 8, v);
}

bool
wire_lenenc(struct wire *w, uint64_t *v, bool *is_null)
{
    const uint8_t *start = w->p;
    uint8_t first;

    if (is_null != NULL)
        *is_null = false;
    if (!wire_u8(w, &first))
        return false;
    if (first < 0xfb) {
        *v = first;
        return true;
    }
    switch (first) {
    case 0xfb:
        if (is_null == NULL)
            break;
        *is_null = true;
        *v = 0;
        return true;
    case 0xfc:
        if (wire_uint(w, 2, v))
            return true;
        break;
    case 0xfd:
        if (wire_uint(w, 3, v))
            return true;
        break;
    case 0xfe:
        if (wire_uint(w, 8, v))
            return true;
        break;
    default: /* 0xff is an ERR header, never an integer */
        break;
    }
    w->p = start;
    return wire_fail(w);
}

bool
wire_lenenc_str(struct wire *w, const uint8_t **s, size_t *len)
{
    const uint8_t *start = w->p;
    uint64_t n;

    if (!wire_lenenc(w, &n, NULL))
        return false;
    if (n > wire_left(w)) {
        w->p = start;
        return wire_fail(w);
    }
    *s = w->p;
    *len = (size_t)n;
    w->p += n;
    return true;
}

bool
wire_nul_str(struct wire *w, const uint8_t **s, size_t *len)
{
    const uint8_t *nul;

    if (w->err || wire_left(w) == 0)
        return wire_fail(w);
    nul = memchr(w->p, 0, wire_left(w));
    if (nul == NULL)
        return wire_fail(w);
    *s = w->p;
    *len = (size_t)(nul - w->p);
    w->p = nul + 1;
    return true;
}

bool
wire_bytes(struct wire *w, size_t n, const uint8_t **s)
{
    if (w->err || wire_left(w) < n)
        return wire_fail(w);
    *s = w->p;
    w->p += n;
    return true;
}

bool
wire_skip(struct wire *w, size_t n)
{
    if (w->err || wire_left(w) < n)
        return wire_fail(w);
    w->p += n;
    return true;
}

void
wire_rest(struct wire *w, const uint8_t **s, size_t *len)
{
    *s = w->p;
    *len = wire_left(w);
    w->p = w->end;
}
