/*
 * pktbuf.h - builds one packet payload in a growable buffer with a sticky
 * error flag, then frames it onto an evbuffer (splitting payloads of 16 MB
 * and more into continuation packets). Also the small whole-packet writers
 * every command needs: OK, ERR, EOF.
 */
#ifndef MYSHARD_PROTO_PKTBUF_H
#define MYSHARD_PROTO_PKTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

struct evbuffer;

struct pktbuf {
    uint8_t *buf; /* owned (heap) unless it points at inline storage */
    size_t len;   /* payload bytes written */
    size_t cap;   /* bytes available in buf */
    bool failed;  /* sticky: a write could not grow the buffer */
    bool heap;    /* buf was malloc'd by the builder */
    uint8_t inline_buf[256]; /* most packets fit here: no allocation */
};

void pktbuf_init(struct pktbuf *pb);
void pktbuf_free(struct pktbuf *pb);
void pktbuf_reset(struct pktbuf *pb);
void pktbuf_put_u8(struct pktbuf *pb, uint8_t v);
void pktbuf_put_u16(struct pktbuf *pb, uint16_t v);
void pktbuf_put_u24(struct pktbuf *pb, uint32_t v);
void pktbuf_put_u32(struct pktbuf *pb, uint32_t v);
void pktbuf_put_u64(struct pktbuf *pb, uint64_t v);
void pktbuf_put_lenenc(struct pktbuf *pb, uint64_t v);
void pktbuf_put_lenenc_str(struct pktbuf *pb, const void *s, size_t len);
void pktbuf_put_bytes(struct pktbuf *pb, const void *s, size_t len);
/* Writes s and a terminating NUL. */
void pktbuf_put_nul_str(struct pktbuf *pb, const char *s);
void pktbuf_put_zero(struct pktbuf *pb, size_t n);

/*
 * Frames the payload onto out starting with sequence id *seq, splitting at
 * 0xFFFFFF bytes (and adding the empty trailer packet when the payload is an
 * exact multiple). Advances *seq past the packets written. Returns false when
 * the builder failed or the evbuffer refused the bytes.
 */
MUST_CHECK bool pktbuf_send(struct pktbuf *pb, struct evbuffer *out,
                            uint8_t *seq);

/* Whole-packet writers; each advances *seq by one (or more for ERR text over
 * 16 MB, never in practice). */
bool proto_write_ok(struct evbuffer *out, uint8_t *seq, uint64_t affected,
                    uint64_t insert_id, uint16_t status, uint16_t warnings,
                    const char *info);
/* ERR packet with SQLSTATE; the message is printf-formatted and should start
 * with "myshard: " when it is the proxy's own error. */
bool proto_write_err(struct evbuffer *out, uint8_t *seq, uint16_t code,
                     const char *sqlstate, const char *fmt, ...)
    PRINTF_FMT(5, 6);
bool proto_write_eof(struct evbuffer *out, uint8_t *seq, uint16_t warnings,
                     uint16_t status);

#endif
