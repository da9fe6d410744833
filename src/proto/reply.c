/*
 * reply.c - readers of OK, ERR, EOF and column-count packets (see
 * reply.h). Everything goes through the bounds-checked wire cursor, so a
 * short or lying packet reads as malformed, never past its end.
 */
#include "proto/reply.h"

#include <string.h>

#include "proto/mysql_defs.h"
#include "proto/wire.h"

bool
reply_parse_ok(const uint8_t *p, size_t len, struct reply_ok *ok)
{
    struct wire w;
    uint8_t hdr;

    memset(ok, 0, sizeof(*ok));
    wire_init(&w, p, len);
    if (!wire_u8(&w, &hdr) || (hdr != PKT_HDR_OK && hdr != PKT_HDR_EOF) ||
        !wire_lenenc(&w, &ok->affected, NULL) ||
        !wire_lenenc(&w, &ok->insert_id, NULL) || !wire_u16(&w, &ok->status))
        return false;
    if (wire_left(&w) >= 2)
        (void)wire_u16(&w, &ok->warnings);
    wire_rest(&w, &ok->info, &ok->info_len);
    return true;
}

bool
reply_parse_err(const uint8_t *p, size_t len, struct reply_err *err)
{
    size_t off = 3;

    memset(err, 0, sizeof(*err));
    memcpy(err->state, "HY000", sizeof(err->state));
    if (len == 0 || p[0] != PKT_HDR_ERR)
        return false;
    err->code = len >= 3 ? (uint16_t)(p[1] | p[2] << 8) : 0;
    if (len >= 9 && p[3] == '#') {
        memcpy(err->state, p + 4, 5);
        off = 9;
    }
    err->msg = len > off ? p + off : p + len;
    err->msg_len = len > off ? len - off : 0;
    return true;
}

bool
reply_parse_eof(const uint8_t *p, size_t len, struct reply_eof *eof)
{
    memset(eof, 0, sizeof(*eof));
    if (!reply_is_eof(len ? p[0] : 0, len))
        return false;
    if (len >= 3)
        eof->warnings = (uint16_t)(p[1] | p[2] << 8);
    if (len >= 5)
        eof->status = (uint16_t)(p[3] | p[4] << 8);
    return true;
}

bool
reply_parse_column_count(const uint8_t *p, size_t len, uint64_t *n,
                         size_t *rest)
{
    struct wire w;

    wire_init(&w, p, len);
    if (!wire_lenenc(&w, n, NULL) || *n == 0)
        return false;
    *rest = wire_left(&w);
    return true;
}
