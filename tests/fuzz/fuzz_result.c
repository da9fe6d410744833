/*
 * fuzz_result.c - arbitrary bytes through every reader of what a server
 * answers (proto/reply.c, proto/resultset.c's readers) and through the
 * result layer that gives the answers meaning (result/: columns, rows,
 * values, decimals, aggregates, sorting, OK summing). None of it may
 * crash, leak, hang or read out of bounds, and what is read must survive
 * being written back.
 *
 * Input: byte 0 flags (bit 0: binary rows, bit 1: DISTINCT), byte 1 the
 * column count (1 + b % 6), then two bytes per column (type, and bits for
 * charset and flags) from which a column definition is written with
 * rs_columns and read back; the rest is records [u16 little-endian
 * length][payload]. Every record goes through every packet reader, is
 * read as a row of the columns, summed as a decimal, and compared with the
 * previous record; the rows that parse are grouped (each column's
 * aggregate from its index), sorted in memory and drained.
 */
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/reply.h"
#include "proto/resultset.h"
#include "result/aggregate.h"
#include "result/column.h"
#include "result/decimal.h"
#include "result/oksum.h"
#include "result/row.h"
#include "result/sort.h"
#include "result/value.h"

#define MAXC 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t types[] = {
    MYSQL_TYPE_TINY,     MYSQL_TYPE_LONG,       MYSQL_TYPE_LONGLONG,
    MYSQL_TYPE_DOUBLE,   MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_DATE,
    MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIME,       MYSQL_TYPE_VAR_STRING,
    MYSQL_TYPE_BLOB,     MYSQL_TYPE_YEAR,       MYSQL_TYPE_FLOAT,
};

/* Writes a definition from two input bytes and reads it back. */
static void
make_column(uint8_t t, uint8_t bits, struct column *c, uint8_t *def,
            uint32_t *def_len)
{
    static const uint16_t charsets[] = {63, 45, 46, 255, 1100, 8, 33, 224};
    struct evbuffer *b = evbuffer_new();
    struct coldef d = {.name = "c",
                       .charset = charsets[bits & 7],
                       .length = 20,
                       .type = types[t % sizeof(types)],
                       .flags = (uint16_t)((bits & 8 ? UNSIGNED_FLAG : 0) |
                                           (bits & 16 ? BINARY_FLAG : 0)),
                       .decimals = (uint8_t)(bits >> 5)};
    struct rs_writer w;
    uint8_t h[4];

    rs_begin(&w, b, 0, true, 0);
    rs_columns(&w, &d, 1);
    evbuffer_drain(b, 5);
    evbuffer_remove(b, h, 4);
    *def_len = h[0];
    evbuffer_remove(b, def, *def_len);
    if (!column_read(def, *def_len, c))
        abort(); /* the writer's own output */
    evbuffer_free(b);
}

/* Every packet reader on one payload; the definition patcher must give
 * back the same bytes when nothing changes. */
static void
read_packets(const uint8_t *p, size_t len, struct oksum *os)
{
    struct reply_ok ok;
    struct reply_err err;
    struct reply_eof eof;
    struct rs_coldef cd;
    struct column col;
    uint64_t n;
    size_t rest;

    if (reply_parse_ok(p, len, &ok))
        oksum_add(os, &ok);
    (void)!reply_parse_err(p, len, &err);
    (void)!reply_parse_eof(p, len, &eof);
    (void)!reply_parse_column_count(p, len, &n, &rest);
    (void)!column_read(p, len, &col);
    if (rs_parse_coldef(p, len, &cd)) {
        uint8_t *copy = malloc(len);
        memcpy(copy, p, len);
        rs_patch_coldef(copy, len, &cd);
        if (memcmp(copy, p, len) != 0)
            abort();
        free(copy);
    }
}

/* Decimal arithmetic on the payload as text. */
static void
decimals(const uint8_t *p, size_t len, const uint8_t *prev, size_t plen,
         struct dec *acc)
{
    struct dec x, q;
    char out[DEC_TEXT_MAX];

    if (prev != NULL) {
        int c = dec_cmp_text(p, len, prev, plen);
        if (c != -dec_cmp_text(prev, plen, p, len))
            abort();
    }
    if (!dec_parse(p, len, &x))
        return;
    dec_format(&x, out);
    if (!dec_parse((const uint8_t *)out, strlen(out), &q) ||
        dec_cmp_text((const uint8_t *)out, strlen(out), p, len) != 0)
        abort(); /* printed and read back: the same number */
    (void)!dec_add(acc, &x);
    if (dec_div(acc, len + 1, len % 40, &q))
        dec_format(&q, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct column cols[MAXC];
    uint8_t defbuf[MAXC][128], *defs[MAXC];
    uint32_t def_len[MAXC];
    uint16_t tw[MAXC], otypes[MAXC];
    struct row_shape rs = {.cols = cols};
    struct binproto_value v[MAXC], again[MAXC], first[MAXC], scratch[MAXC];
    struct sort_key keys[MAXC];
    struct sort_buf sb;
    struct aggs ag;
    struct oksum os;
    struct dec acc;
    struct pktbuf pb;
    const uint8_t *prev = NULL;
    size_t plen = 0, off;
    int nkeys = 0;
    bool grp = false;

    if (size < 2)
        return 0;
    rs.binary = data[0] & 1;
    rs.ncols = rs.visible = 1 + data[1] % MAXC;
    off = 2 + 2 * (size_t)rs.ncols;
    if (size < off)
        return 0;
    for (uint32_t c = 0; c < rs.ncols; c++) {
        defs[c] = defbuf[c];
        make_column(data[2 + 2 * c], data[3 + 2 * c], &cols[c], defs[c],
                    &def_len[c]);
        tw[c] = otypes[c] = cols[c].tw;
    }
    memset(&os, 0, sizeof(os));
    memset(&acc, 0, sizeof(acc));
    pktbuf_init(&pb);
    aggs_init(&ag, &rs, otypes);
    for (uint32_t c = 1; c < rs.ncols; c++) /* column 0 stays the key */
        (void)!aggs_set(&ag, c, (uint8_t)(1 + c % 5), 0);
    aggs_prepare(&ag, defs, def_len);
    sort_keys_add_visible(keys, &nkeys, rs.visible);
    sort_init(&sb, &rs, keys, nkeys, data[0] & 2, 1 + data[0] % 50, 64);

    while (off + 2 <= size) {
        size_t len = (size_t)(data[off] | data[off + 1] << 8), vis;
        const uint8_t *p = data + off + 2;
        uint32_t col;

        if (len > size - off - 2)
            len = size - off - 2;
        off += 2 + len;
        read_packets(p, len, &os);
        decimals(p, len, prev, plen, &acc);
        prev = p;
        plen = len;
        if (!row_parse(&rs, tw, p, len, v, &vis))
            continue;
        /* Written back and read again, every value compares equal (but
         * doubles, NaN being unequal to itself, and binary DATEs, whose
         * time of day binproto drops on purpose). */
        if (row_encode(&rs, &pb, v, rs.ncols)) {
            if (!row_parse(&rs, tw, pb.buf, pb.len, again, &vis))
                abort();
            for (uint32_t c = 0; c < rs.ncols; c++) {
                bool lossy = cols[c].cls == COL_FLOAT ||
                             (rs.binary && cols[c].type == MYSQL_TYPE_DATE);
                if (!lossy &&
                    value_cmp(&cols[c], rs.binary, &v[c], &again[c]) != 0)
                    abort();
            }
        }
        if (sort_add(&sb, p, len, tw, scratch) == SORT_FULL)
            sort_clear(&sb);
        (void)sort_keys_cmp(&rs, keys, nkeys, v, scratch);
        if (!grp) {
            memcpy(first, v, sizeof(v));
            grp = aggs_start(&ag, v, &col) == AGG_OK;
        } else if (aggs_add(&ag, v, &col) != AGG_OK) {
            grp = false;
        }
    }
    if (grp) {
        struct binproto_value out[MAXC];
        uint32_t col;
        char txt[64];
        memcpy(out, first, sizeof(out));
        if (aggs_result(&ag, out, &col) == AGG_OK)
            (void)!row_encode(&rs, &pb, out, rs.ncols);
        value_fmt_double(value_double(rs.binary, &out[0]), txt, sizeof(txt));
    }
    sort_finish(&sb);
    while (sort_peek(&sb) != NULL)
        sort_pop(&sb);
    {
        char info[OKSUM_INFO_MAX + 64];
        oksum_info(&os, info, sizeof(info));
    }
    sort_free(&sb);
    aggs_free(&ag);
    pktbuf_free(&pb);
    return 0;
}
