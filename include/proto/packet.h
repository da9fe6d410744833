/*
 * packet.h - MySQL packet framing on evbuffers: 3-byte length, 1-byte
 * sequence id, payload; payloads of 0xFFFFFF bytes continue in the next
 * packet. Two ways to consume:
 *  - packet_read_command(): a whole logical packet (continuations joined)
 *    made contiguous, for client commands the proxy must look at;
 *  - packet_peek(): the header of the next packet, so relays can move
 *    packets between evbuffers without copying them.
 */
#ifndef MYSHARD_PROTO_PACKET_H
#define MYSHARD_PROTO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

struct evbuffer;

enum packet_status {
    PKT_AGAIN = 0, /* not enough bytes buffered yet */
    PKT_OK,        /* a packet is available */
    PKT_TOO_LARGE, /* the logical packet exceeds the caller's limit */
    PKT_BAD_SEQ,   /* sequence id is not the expected one */
};

struct packet_hdr {
    uint32_t len; /* payload bytes of this physical packet */
    uint8_t seq;
};

/* Header of the first buffered packet, or PKT_AGAIN with < 4 bytes. */
enum packet_status packet_peek(struct evbuffer *in, struct packet_hdr *h);

/*
 * A logical packet read from a client. When it fits in one physical packet,
 * data points into the evbuffer (made contiguous) and the bytes are still
 * buffered: packet_consume() removes them. When it spans continuation
 * packets, the payload is joined into heap memory (heap == true) and the
 * physical packets are already removed.
 */
struct packet {
    uint8_t *data;   /* payload */
    size_t len;      /* payload bytes */
    uint8_t seq;     /* sequence id of the last physical packet */
    size_t wire_len; /* bytes still buffered for this packet (0 when heap) */
    bool heap;       /* data is malloc'd, owned by the packet */
};

/*
 * Reads the next whole logical packet whose joined payload is at most max
 * bytes. The first physical packet must carry sequence id first_seq (pass
 * -1 to accept any). Returns PKT_OK and fills pkt, PKT_AGAIN (nothing
 * consumed), PKT_TOO_LARGE or PKT_BAD_SEQ (the caller closes the
 * connection).
 */
enum packet_status packet_read(struct evbuffer *in, size_t max, int first_seq,
                               struct packet *pkt);
/* Drops a packet read by packet_read(): removes buffered bytes or frees. */
void packet_consume(struct evbuffer *in, struct packet *pkt);
/* Writes just the 4-byte header of a physical packet of len payload bytes,
 * for relays that move the payload after it themselves. */
void packet_write_header(struct evbuffer *out, uint32_t len, uint8_t seq);
/* Frames payload onto out as one or more physical packets from sequence id
 * *seq, advancing it. */
void packet_write(struct evbuffer *out, uint8_t *seq, const void *payload,
                  size_t len);

#endif
