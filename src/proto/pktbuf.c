/*
 * pktbuf.c - the packet payload builder and its framing onto evbuffers.
 *
 * A pktbuf starts on its 256-byte inline storage and moves to the heap only
 * when a payload outgrows it, so the common small packet costs no
 * allocation. Because buf may point into the struct itself, a pktbuf must
 * not be copied or moved after pktbuf_init. Allocation failure aborts
 * (xrealloc); the sticky failed flag records a payload that would pass
 * PKTBUF_MAX_PAYLOAD, the 1 GiB ceiling of max_allowed_packet, so a runaway
 * builder fails once at pktbuf_send instead of eating memory.
 *
 * pktbuf_send owns the wire framing for outgoing packets: 3-byte length,
 * 1-byte sequence id, payload in 0xFFFFFF-byte pieces, and the empty trailer
 * that tells the reader a payload of an exact multiple of 0xFFFFFF has ended.
 */
#include "proto/pktbuf.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"

#define PKTBUF_MAX_PAYLOAD ((size_t)1 << 30)

void
pktbuf_init(struct pktbuf *pb)
{
    pb->buf = pb->inline_buf;
    pb->len = 0;
    pb->cap = sizeof(pb->inline_buf);
    pb->failed = false;
    pb->heap = false;
}

void
pktbuf_free(struct pktbuf *pb)
{
    if (pb->heap)
        free(pb->buf);
    pktbuf_init(pb);
}

void
pktbuf_reset(struct pktbuf *pb)
{
    pb->len = 0;
    pb->failed = false;
}

/* Makes room for n more bytes; returns where they go, or NULL (and marks the
 * builder failed) when the payload would pass PKTBUF_MAX_PAYLOAD. */
static uint8_t *
pktbuf_reserve(struct pktbuf *pb, size_t n)
{
    size_t need, cap;

    if (pb->failed)
        return NULL;
    if (n > PKTBUF_MAX_PAYLOAD - pb->len) {
        pb->failed = true;
        return NULL;
    }
    need = pb->len + n;
    if (need > pb->cap) {
        cap = pb->cap * 2;
        while (cap < need)
            cap *= 2;
        if (pb->heap) {
            pb->buf = xrealloc(pb->buf, cap);
        } else {
            uint8_t *nb = xmalloc(cap);
            memcpy(nb, pb->buf, pb->len);
            pb->buf = nb;
            pb->heap = true;
        }
        pb->cap = cap;
    }
    return pb->buf + pb->len;
}

/* Appends the n low bytes of v, little-endian. */
static void
pktbuf_put_le(struct pktbuf *pb, uint64_t v, size_t n)
{
    uint8_t *d = pktbuf_reserve(pb, n);

    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(v >> (8 * i));
    pb->len += n;
}

void
pktbuf_put_u8(struct pktbuf *pb, uint8_t v)
{
    pktbuf_put_le(pb, v, 1);
}

void
pktbuf_put_u16(struct pktbuf *pb, uint16_t v)
{
    pktbuf_put_le(pb, v, 2);
}

void
pktbuf_put_u24(struct pktbuf *pb, uint32_t v)
{
    pktbuf_put_le(pb, v, 3);
}

void
pktbuf_put_u32(struct pktbuf *pb, uint32_t v)
{
    pktbuf_put_le(pb, v, 4);
}

void
pktbuf_put_u64(struct pktbuf *pb, uint64_t v)
{
    pktbuf_put_le(pb, v, 8);
}

void
pktbuf_put_lenenc(struct pktbuf *pb, uint64_t v)
{
    if (v < 0xfb) {
        pktbuf_put_le(pb, v, 1);
    } else if (v <= 0xffff) {
        pktbuf_put_u8(pb, 0xfc);
        pktbuf_put_le(pb, v, 2);
    } else if (v <= 0xffffff) {
        pktbuf_put_u8(pb, 0xfd);
        pktbuf_put_le(pb, v, 3);
    } else {
        pktbuf_put_u8(pb, 0xfe);
        pktbuf_put_le(pb, v, 8);
    }
}

void
pktbuf_put_bytes(struct pktbuf *pb, const void *s, size_t len)
{
    uint8_t *d;

    if (len == 0)
        return;
    d = pktbuf_reserve(pb, len);
    if (d == NULL)
        return;
    memcpy(d, s, len);
    pb->len += len;
}

void
pktbuf_put_lenenc_str(struct pktbuf *pb, const void *s, size_t len)
{
    pktbuf_put_lenenc(pb, len);
    pktbuf_put_bytes(pb, s, len);
}

void
pktbuf_put_nul_str(struct pktbuf *pb, const char *s)
{
    pktbuf_put_bytes(pb, s, strlen(s));
    pktbuf_put_u8(pb, 0);
}

void
pktbuf_put_zero(struct pktbuf *pb, size_t n)
{
    uint8_t *d;

    if (n == 0)
        return;
    d = pktbuf_reserve(pb, n);
    if (d == NULL)
        return;
    memset(d, 0, n);
    pb->len += n;
}

bool
pktbuf_send(struct pktbuf *pb, struct evbuffer *out, uint8_t *seq)
{
    size_t off = 0, chunk;
    uint8_t hdr[PACKET_HEADER_LEN];

    if (pb->failed)
        return false;
    do {
        chunk = MIN(pb->len - off, (size_t)PACKET_MAX_PAYLOAD);
        hdr[0] = (uint8_t)chunk;
        hdr[1] = (uint8_t)(chunk >> 8);
        hdr[2] = (uint8_t)(chunk >> 16);
        hdr[3] = (*seq)++;
        if (evbuffer_add(out, hdr, sizeof(hdr)) != 0)
            return false;
        if (chunk > 0 && evbuffer_add(out, pb->buf + off, chunk) != 0)
            return false;
        off += chunk;
    } while (chunk == PACKET_MAX_PAYLOAD);
    return true;
}

/*
 * OK packet. A non-empty info is length-encoded, as MariaDB and MySQL
 * servers write it whether or not the client has CLIENT_SESSION_TRACK, and
 * as libmariadb and libmysqlclient read it (a bare string<EOF> is read as
 * a length and the packet as malformed).
 */
bool
proto_write_ok(struct evbuffer *out, uint8_t *seq, uint64_t affected,
               uint64_t insert_id, uint16_t status, uint16_t warnings,
               const char *info)
{
    struct pktbuf pb;
    bool ok;

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, PKT_HDR_OK);
    pktbuf_put_lenenc(&pb, affected);
    pktbuf_put_lenenc(&pb, insert_id);
    pktbuf_put_u16(&pb, status);
    pktbuf_put_u16(&pb, warnings);
    if (info != NULL && info[0] != '\0') {
        pktbuf_put_lenenc(&pb, strlen(info));
        pktbuf_put_bytes(&pb, info, strlen(info));
    }
    ok = pktbuf_send(&pb, out, seq);
    pktbuf_free(&pb);
    return ok;
}

/*
 * ERR packet: 0xFF, code, '#', five SQLSTATE characters, message. A NULL
 * sqlstate is "HY000"; a shorter one is padded with '0', a longer one cut.
 */
bool
proto_write_err(struct evbuffer *out, uint8_t *seq, uint16_t code,
                const char *sqlstate, const char *fmt, ...)
{
    struct pktbuf pb;
    char state[5];
    va_list ap, ap2;
    int n;
    uint8_t *d;
    bool ok;

    if (sqlstate == NULL)
        sqlstate = "HY000";
    for (size_t i = 0, end = 0; i < sizeof(state); i++) {
        if (!end && sqlstate[i] == '\0')
            end = 1;
        state[i] = end ? '0' : sqlstate[i];
    }

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, PKT_HDR_ERR);
    pktbuf_put_u16(&pb, code);
    pktbuf_put_u8(&pb, '#');
    pktbuf_put_bytes(&pb, state, sizeof(state));

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) {
        pb.failed = true;
    } else if ((d = pktbuf_reserve(&pb, (size_t)n + 1)) != NULL) {
        vsnprintf((char *)d, (size_t)n + 1, fmt, ap2);
        pb.len += (size_t)n; /* the NUL vsnprintf wrote is not sent */
    }
    va_end(ap2);
    va_end(ap);

    ok = pktbuf_send(&pb, out, seq);
    pktbuf_free(&pb);
    return ok;
}

bool
proto_write_eof(struct evbuffer *out, uint8_t *seq, uint16_t warnings,
                uint16_t status)
{
    struct pktbuf pb;
    bool ok;

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, PKT_HDR_EOF);
    pktbuf_put_u16(&pb, warnings);
    pktbuf_put_u16(&pb, status);
    ok = pktbuf_send(&pb, out, seq);
    pktbuf_free(&pb);
    return ok;
}
