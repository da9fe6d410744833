/*
 * resultset.c - text-protocol result sets that myshard writes itself: the
 * column count, one ColumnDefinition41 per column, an EOF after the
 * definitions (left out under CLIENT_DEPRECATE_EOF), text rows of
 * length-encoded strings with 0xFB for NULL, and the closing EOF or, under
 * CLIENT_DEPRECATE_EOF, an OK packet with the 0xFE header. Each packet is
 * built in a stack pktbuf (inline storage, no allocation for small rows)
 * and framed onto the writer's evbuffer; any failure sets w->failed.
 *
 * The readers at the end take the same shapes apart when a server sends
 * them: they never allocate, and what they return points into the packet.
 */
#include "proto/resultset.h"

#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/wire.h"

/* Length of the fixed-length fields of ColumnDefinition41. */
#define COLDEF_FIXED_LEN 0x0c

/* Display length of rs_columns_text columns (utf8mb4 characters x 4). */
#define TEXT_COLUMN_LEN 1024

static void
rs_send(struct rs_writer *w, struct pktbuf *pb)
{
    if (!pktbuf_send(pb, w->out, &w->seq))
        w->failed = true;
}

static void
put_str_or_empty(struct pktbuf *pb, const char *s)
{
    if (s == NULL)
        s = "";
    pktbuf_put_lenenc_str(pb, s, strlen(s));
}

void
rs_begin(struct rs_writer *w, struct evbuffer *out, uint8_t first_seq,
         bool deprecate_eof, uint16_t status)
{
    w->out = out;
    w->seq = first_seq;
    w->deprecate_eof = deprecate_eof;
    w->status = status;
    w->ncols = 0;
    w->binary = false;
    w->failed = false;
}

void
rs_columns(struct rs_writer *w, const struct coldef *cols, size_t n)
{
    struct pktbuf pb;

    w->ncols = n;
    pktbuf_init(&pb);
    pktbuf_put_lenenc(&pb, n);
    rs_send(w, &pb);
    for (size_t i = 0; i < n; i++) {
        const struct coldef *c = &cols[i];

        pktbuf_reset(&pb);
        put_str_or_empty(&pb, "def");
        put_str_or_empty(&pb, c->schema);
        put_str_or_empty(&pb, c->table);
        put_str_or_empty(&pb, c->org_table);
        put_str_or_empty(&pb, c->name);
        put_str_or_empty(&pb, c->org_name);
        pktbuf_put_lenenc(&pb, COLDEF_FIXED_LEN);
        pktbuf_put_u16(&pb, c->charset);
        pktbuf_put_u32(&pb, c->length);
        pktbuf_put_u8(&pb, c->type);
        pktbuf_put_u16(&pb, c->flags);
        pktbuf_put_u8(&pb, c->decimals);
        pktbuf_put_zero(&pb, 2);
        rs_send(w, &pb);
    }
    if (!w->deprecate_eof) {
        pktbuf_reset(&pb);
        pktbuf_put_u8(&pb, PKT_HDR_EOF);
        pktbuf_put_u16(&pb, 0);
        pktbuf_put_u16(&pb, w->status);
        rs_send(w, &pb);
    }
    pktbuf_free(&pb);
}

void
rs_columns_text(struct rs_writer *w, const char *const *names, size_t n)
{
    struct coldef stack[16] = {0};
    struct coldef *cols =
        n <= ARRAY_SIZE(stack) ? stack : xcalloc(n, sizeof(*cols));

    for (size_t i = 0; i < n; i++) {
        memset(&cols[i], 0, sizeof(cols[i]));
        cols[i].name = names[i];
        cols[i].org_name = names[i];
        cols[i].charset = CHARSET_UTF8MB4_GENERAL_CI;
        cols[i].length = TEXT_COLUMN_LEN;
        cols[i].type = MYSQL_TYPE_VAR_STRING;
    }
    rs_columns(w, cols, n);
    if (cols != stack)
        free(cols);
}

void
rs_row(struct rs_writer *w, const char *const *vals, const size_t *lens)
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    if (w->binary) {
        /* header, then the NULL bitmap (offset 2), then the values */
        uint8_t map[(RS_MAX_BINARY_COLS + 2 + 7) / 8] = {0};
        size_t nmap = (w->ncols + 2 + 7) / 8;
        pktbuf_put_u8(&pb, 0);
        for (size_t i = 0; i < w->ncols && i < RS_MAX_BINARY_COLS; i++)
            if (vals[i] == NULL)
                map[(i + 2) / 8] |= (uint8_t)(1u << ((i + 2) % 8));
        for (size_t i = 0; i < nmap && i < sizeof(map); i++)
            pktbuf_put_u8(&pb, map[i]);
    }
    for (size_t i = 0; i < w->ncols; i++) {
        if (vals[i] == NULL) {
            if (!w->binary)
                pktbuf_put_u8(&pb, 0xfb);
        } else {
            pktbuf_put_lenenc_str(&pb, vals[i],
                                  lens != NULL ? lens[i] : strlen(vals[i]));
        }
    }
    rs_send(w, &pb);
    pktbuf_free(&pb);
}

void
rs_end(struct rs_writer *w)
{
    struct pktbuf pb;

    pktbuf_init(&pb);
    pktbuf_put_u8(&pb, PKT_HDR_EOF);
    if (w->deprecate_eof) {
        pktbuf_put_lenenc(&pb, 0); /* affected rows */
        pktbuf_put_lenenc(&pb, 0); /* last insert id */
        pktbuf_put_u16(&pb, w->status);
        pktbuf_put_u16(&pb, 0); /* warnings */
    } else {
        pktbuf_put_u16(&pb, 0); /* warnings */
        pktbuf_put_u16(&pb, w->status);
    }
    rs_send(w, &pb);
    pktbuf_free(&pb);
}

bool
rs_parse_coldef(const uint8_t *p, size_t len, struct rs_coldef *c)
{
    struct rs_str *names[] = {&c->catalog,   &c->schema, &c->table,
                              &c->org_table, &c->name,   &c->org_name};
    struct wire w;
    uint64_t flen;

    memset(c, 0, sizeof(*c));
    wire_init(&w, p, len);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (!wire_lenenc_str(&w, &names[i]->p, &names[i]->len))
            return false;
    }
    if (!wire_lenenc(&w, &flen, NULL) || flen < COLDEF_FIXED_LEN)
        return false;
    c->fixed_off = len - wire_left(&w);
    return wire_u16(&w, &c->charset) && wire_u32(&w, &c->length) &&
           wire_u8(&w, &c->type) && wire_u16(&w, &c->flags) &&
           wire_u8(&w, &c->decimals);
}

void
rs_patch_coldef(uint8_t *p, size_t len, const struct rs_coldef *c)
{
    uint8_t *d = p + c->fixed_off;

    if (c->fixed_off > len || len - c->fixed_off < 10)
        return; /* not a packet rs_parse_coldef accepted */
    d[0] = (uint8_t)c->charset;
    d[1] = (uint8_t)(c->charset >> 8);
    d[2] = (uint8_t)c->length;
    d[3] = (uint8_t)(c->length >> 8);
    d[4] = (uint8_t)(c->length >> 16);
    d[5] = (uint8_t)(c->length >> 24);
    d[6] = c->type;
    d[7] = (uint8_t)c->flags;
    d[8] = (uint8_t)(c->flags >> 8);
    d[9] = c->decimals;
}

bool
rs_parse_text_row(const uint8_t *p, size_t len, size_t n,
                  struct binproto_value *v, size_t prefix, size_t *prefix_len)
{
    struct wire w;

    wire_init(&w, p, len);
    *prefix_len = len;
    for (size_t c = 0; c < n; c++) {
        if (c == prefix)
            *prefix_len = len - wire_left(&w);
        memset(&v[c], 0, sizeof(v[c]));
        if (wire_left(&w) == 0)
            return false;
        if (*w.p == 0xfb) {
            w.p++;
            v[c].is_null = true;
        } else if (!wire_lenenc_str(&w, &v[c].str, &v[c].len)) {
            return false;
        }
    }
    return wire_left(&w) == 0;
}
