/*
 * reply.c - readers of OK, ERR, EOF and column-count packets (see
 * reply.h). Everything goes through the bounds-checked wire cursor, so a
 * short or lying packet reads as malformed, never past its end.
 */
#include "proto/reply.h"

#include <string.h>
#include <strings.h>

#include "proto/mysql_defs.h"
#include "proto/wire.h"

/* Bytes of a length-encoded integer. */
static size_t
lenenc_size(uint64_t v)
{
    return v < 251 ? 1 : v < (1u << 16) ? 3 : v < (1u << 24) ? 4 : 9;
}

static size_t
lenenc_put(uint8_t *out, uint64_t v)
{
    size_t n = lenenc_size(v);

    if (n == 1) {
        out[0] = (uint8_t)v;
        return 1;
    }
    out[0] = n == 3 ? 0xfc : n == 4 ? 0xfd : 0xfe;
    for (size_t i = 1; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (i - 1)));
    return n;
}

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
    if (ok->status & SERVER_SESSION_STATE_CHANGED) {
        /* CLIENT_SESSION_TRACK: a length-encoded info, then the state */
        if (!wire_lenenc_str(&w, &ok->info, &ok->info_len))
            ok->info_len = 0;
        return true;
    }
    wire_rest(&w, &ok->info, &ok->info_len);
    /* Under CLIENT_SESSION_TRACK the info is length-encoded even without
     * a state block: one string filling the rest is that form. */
    if (ok->info_len > 0 && ok->info[0] < 0xfb &&
        (size_t)ok->info[0] + 1 == ok->info_len) {
        ok->info++;
        ok->info_len--;
    }
    return true;
}

bool
reply_parse_ok_state(const uint8_t *p, size_t len, struct reply_ok *ok,
                     const uint8_t **state, size_t *state_len)
{
    struct wire w;
    uint8_t hdr;

    memset(ok, 0, sizeof(*ok));
    wire_init(&w, p, len);
    if (!wire_u8(&w, &hdr) || (hdr != PKT_HDR_OK && hdr != PKT_HDR_EOF) ||
        !wire_lenenc(&w, &ok->affected, NULL) ||
        !wire_lenenc(&w, &ok->insert_id, NULL) || !wire_u16(&w, &ok->status) ||
        !(ok->status & SERVER_SESSION_STATE_CHANGED) ||
        !wire_u16(&w, &ok->warnings) ||
        !wire_lenenc_str(&w, &ok->info, &ok->info_len) ||
        !wire_lenenc_str(&w, state, state_len))
        return false;
    return true;
}

bool
reply_state_sysvar(const uint8_t *state, size_t len, const char *name,
                   const uint8_t **val, size_t *vlen)
{
    struct wire w;
    size_t nlen = strlen(name);

    wire_init(&w, state, len);
    while (wire_left(&w) > 0) {
        uint8_t type;
        const uint8_t *data, *k;
        size_t dlen, klen;
        struct wire e;

        if (!wire_u8(&w, &type) || !wire_lenenc_str(&w, &data, &dlen))
            return false;
        if (type != SESSION_TRACK_SYSTEM_VARIABLES)
            continue;
        wire_init(&e, data, dlen);
        if (!wire_lenenc_str(&e, &k, &klen) || !wire_lenenc_str(&e, val, vlen))
            return false;
        if (klen == nlen && strncasecmp((const char *)k, name, nlen) == 0)
            return true;
    }
    return false;
}

size_t
reply_ok_untrack(const uint8_t *p, size_t len, uint8_t *out)
{
    struct reply_ok ok;
    const uint8_t *state;
    size_t slen, n;
    uint16_t st;
    struct wire w;
    uint8_t hdr;
    uint64_t skip;

    if (!reply_parse_ok_state(p, len, &ok, &state, &slen))
        return 0;
    /* header, affected rows and insert id stay byte for byte */
    wire_init(&w, p, len);
    (void)!wire_u8(&w, &hdr);
    (void)!wire_lenenc(&w, &skip, NULL);
    (void)!wire_lenenc(&w, &skip, NULL);
    n = (size_t)(w.p - p);
    memcpy(out, p, n);
    st = (uint16_t)(ok.status & ~SERVER_SESSION_STATE_CHANGED);
    out[n++] = (uint8_t)st;
    out[n++] = (uint8_t)(st >> 8);
    out[n++] = (uint8_t)ok.warnings;
    out[n++] = (uint8_t)(ok.warnings >> 8);
    if (ok.info_len > 0) {
        n += lenenc_put(out + n, ok.info_len);
        memcpy(out + n, ok.info, ok.info_len);
        n += ok.info_len;
    }
    return n;
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
