/*
 * wire.h - a bounds-checked read cursor over packet bytes. Every read
 * returns false (and sets the sticky err flag) instead of over-reading, so a
 * malformed packet can never read past its payload.
 */
#ifndef MYSHARD_PROTO_WIRE_H
#define MYSHARD_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

struct wire {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* one past the last byte */
    bool err;           /* sticky: some read failed */
};

static inline void
wire_init(struct wire *w, const void *p, size_t len)
{
    w->p = p;
    w->end = w->p + len;
    w->err = false;
}

static inline size_t
wire_left(const struct wire *w)
{
    return (size_t)(w->end - w->p);
}

bool wire_u8(struct wire *w, uint8_t *v);
bool wire_u16(struct wire *w, uint16_t *v);
bool wire_u24(struct wire *w, uint32_t *v);
bool wire_u32(struct wire *w, uint32_t *v);
bool wire_u64(struct wire *w, uint64_t *v);
/* Length-encoded integer. *is_null is set for 0xFB when is_null != NULL;
 * when is_null == NULL a 0xFB prefix is an error. */
bool wire_lenenc(struct wire *w, uint64_t *v, bool *is_null);
/* Length-encoded string: points into the packet, not NUL-terminated. */
bool wire_lenenc_str(struct wire *w, const uint8_t **s, size_t *len);
/* NUL-terminated string: points into the packet, len excludes the NUL. */
bool wire_nul_str(struct wire *w, const uint8_t **s, size_t *len);
/* n bytes, pointing into the packet. */
bool wire_bytes(struct wire *w, size_t n, const uint8_t **s);
bool wire_skip(struct wire *w, size_t n);
/* The rest of the packet (may be empty). */
void wire_rest(struct wire *w, const uint8_t **s, size_t *len);

#endif
