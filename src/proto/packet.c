/*
 * packet.c - framing of MySQL packets on evbuffers. Single-packet payloads
 * are handed out in place (one evbuffer_pullup at most); only commands of
 * 16 MB and more are joined into heap memory.
 */
#include "proto/packet.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mysql_defs.h"

enum packet_status
packet_peek(struct evbuffer *in, struct packet_hdr *h)
{
    uint8_t b[4];

    if (evbuffer_copyout(in, b, 4) < 4)
        return PKT_AGAIN;
    h->len = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
    h->seq = b[3];
    return PKT_OK;
}

/* Walks the physical packets of a logical one without copying payloads:
 * returns the total payload, or PKT_AGAIN while some part is missing. */
static enum packet_status
scan_logical(struct evbuffer *in, size_t max, size_t *total, size_t *nparts)
{
    struct evbuffer_ptr pos;
    size_t buffered = evbuffer_get_length(in);
    size_t off = 0, sum = 0, parts = 0;
    uint8_t b[4];

    for (;;) {
        uint32_t len;
        if (buffered - off < 4)
            return PKT_AGAIN;
        if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) < 0)
            return PKT_AGAIN;
        if (evbuffer_copyout_from(in, &pos, b, 4) < 4)
            return PKT_AGAIN;
        len = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        sum += len;
        parts++;
        if (sum > max)
            return PKT_TOO_LARGE;
        if (buffered - off - 4 < len)
            return PKT_AGAIN;
        off += 4 + len;
        if (len < PACKET_MAX_PAYLOAD)
            break;
    }
    *total = sum;
    *nparts = parts;
    return PKT_OK;
}

enum packet_status
packet_read(struct evbuffer *in, size_t max, int first_seq, struct packet *pkt)
{
    struct packet_hdr h;
    enum packet_status st;
    size_t total, parts;

    memset(pkt, 0, sizeof(*pkt));
    if (packet_peek(in, &h) == PKT_AGAIN)
        return PKT_AGAIN;
    if (first_seq >= 0 && h.seq != (uint8_t)first_seq)
        return PKT_BAD_SEQ;
    if (h.len > max)
        return PKT_TOO_LARGE;
    if (h.len < PACKET_MAX_PAYLOAD) {
        uint8_t *p;
        if (evbuffer_get_length(in) < 4 + (size_t)h.len)
            return PKT_AGAIN;
        p = evbuffer_pullup(in, 4 + (ssize_t)h.len);
        pkt->data = p + 4;
        pkt->len = h.len;
        pkt->seq = h.seq;
        pkt->wire_len = 4 + h.len;
        return PKT_OK;
    }

    st = scan_logical(in, max, &total, &parts);
    if (st != PKT_OK)
        return st;
    pkt->data = xmalloc(total ? total : 1);
    pkt->len = total;
    pkt->heap = true;
    for (size_t i = 0, off = 0; i < parts; i++) {
        (void)packet_peek(in, &h);
        if (first_seq >= 0 && h.seq != (uint8_t)(first_seq + i)) {
            free(pkt->data);
            memset(pkt, 0, sizeof(*pkt));
            return PKT_BAD_SEQ;
        }
        evbuffer_drain(in, 4);
        evbuffer_remove(in, pkt->data + off, h.len);
        off += h.len;
        pkt->seq = h.seq;
    }
    return PKT_OK;
}

void
packet_consume(struct evbuffer *in, struct packet *pkt)
{
    if (pkt->heap)
        free(pkt->data);
    else if (pkt->wire_len)
        evbuffer_drain(in, pkt->wire_len);
    memset(pkt, 0, sizeof(*pkt));
}

/* Packets up to this size are framed in one buffer and added at once:
 * one evbuffer_add (and one run of the buffer's callbacks) per packet. */
#define PACKET_SMALL 512

void
packet_write(struct evbuffer *out, uint8_t *seq, const void *payload,
             size_t len)
{
    const uint8_t *p = payload;

    if (len <= PACKET_SMALL) {
        uint8_t b[4 + PACKET_SMALL];
        b[0] = (uint8_t)len;
        b[1] = (uint8_t)(len >> 8);
        b[2] = 0;
        b[3] = (*seq)++;
        if (len > 0) /* payload may be NULL then */
            memcpy(b + 4, p, len);
        evbuffer_add(out, b, 4 + len);
        return;
    }
    for (;;) {
        size_t n = len < PACKET_MAX_PAYLOAD ? len : PACKET_MAX_PAYLOAD;
        uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
                        (*seq)++};
        evbuffer_add(out, h, 4);
        evbuffer_add(out, p, n);
        p += n;
        len -= n;
        if (n < PACKET_MAX_PAYLOAD)
            break;
    }
}

void
packet_write_header(struct evbuffer *out, uint32_t len, uint8_t seq)
{
    uint8_t h[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                    seq};

    evbuffer_add(out, h, sizeof(h));
}
