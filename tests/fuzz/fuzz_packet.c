/*
 * fuzz_packet.c - arbitrary bytes through everything that parses what a
 * peer sends: packet framing (client commands), the handshake response, the
 * backend greeting, COM_STMT_EXECUTE parameters, and the response relay
 * (session/relay.c, linked from the coverage-instrumented session library
 * tests/fuzz/meson.build builds; what the relay reads of OK/ERR/EOF
 * packets is proto/reply.c, fuzzed field by field in fuzz_result.c).
 * None of it may crash, hang or read out of bounds.
 */
#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/handshake.h"
#include "proto/packet.h"
#include "session/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    struct handshake_response r;
    struct server_greeting g;
    struct packet pkt;
    struct relay rl;
    enum relay_kind kind = size ? (enum relay_kind)(data[0] % 5) : 0;

    (void)handshake_parse_response(data, size, &r);
    (void)handshake_parse_greeting(data, size, &g);

    evbuffer_add(in, data, size);
    while (packet_read(in, 1 << 20, -1, &pkt) == PKT_OK)
        packet_consume(in, &pkt);
    evbuffer_drain(in, evbuffer_get_length(in));

    evbuffer_add(in, data + (size ? 1 : 0), size ? size - 1 : 0);
    relay_start(&rl, kind);
    while (relay_pump(&rl, in, out, 4096) == RELAY_PAUSED)
        evbuffer_drain(out, evbuffer_get_length(out));
    evbuffer_free(in);
    evbuffer_free(out);
    return 0;
}
