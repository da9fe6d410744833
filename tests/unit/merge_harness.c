/*
 * merge_harness.c - what the merge suites (test_merge*.c) share: synthetic
 * shard responses (text and binary rows, OK, ERR), a feeder that gives them
 * to merge_pump in several ways (all at once, byte by byte, random chunks
 * in random order, random chunks under a one-byte high-water mark), and a
 * decoder of the client's output into one line that must be the same for
 * every way of feeding (see merge_harness.h).
 */
#include "merge_harness.h"

#include <stdarg.h>
#include <stdlib.h>

#include "proto/packet.h"
#include "proto/wire.h"

struct coldef
col(const char *name, uint8_t type, uint16_t charset, uint16_t flags,
    uint8_t decimals)
{
    struct coldef c = {0};

    c.schema = "db";
    c.table = "t";
    c.org_table = "t";
    c.name = name;
    c.org_name = name;
    c.charset = charset;
    c.length = 20;
    c.type = type;
    c.flags = flags;
    c.decimals = decimals;
    return c;
}

void
sh_begin(struct shard *s, struct evbuffer *b, const struct coldef *cols,
         size_t n)
{
    s->b = b;
    s->ncols = n;
    rs_begin(&s->w, b, 1, false, ST_AUTO);
    rs_columns(&s->w, cols, n);
    for (size_t i = 0; i < n; i++)
        s->types[i] = (uint16_t)(cols[i].type | ((cols[i].flags & UNSIGNED_FLAG)
                                                     ? BINPROTO_UNSIGNED
                                                     : 0));
}

/* A text row from "v|v|\N" (\N is NULL). */
void
sh_row(struct shard *s, const char *csv)
{
    const char *vals[16];
    size_t lens[16], n = 0;
    const char *p = csv;

    for (;;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        vals[n] = (len == 2 && memcmp(p, "\\N", 2) == 0) ? NULL : p;
        lens[n++] = len;
        if (e == NULL)
            break;
        p = e + 1;
    }
    ck_assert_uint_eq(n, s->ncols);
    rs_row(&s->w, vals, lens);
}

void
sh_end(struct shard *s, uint16_t status)
{
    s->w.status = status;
    rs_end(&s->w);
    ck_assert(!s->w.failed);
}

/* A binary row from "v|v|\N", each value converted by its column type. */
void
sh_brow(struct shard *s, const char *csv)
{
    struct binproto_value v[16];
    struct pktbuf pb;
    char tmp[256];
    size_t n = 0;
    char *p = tmp;

    snprintf(tmp, sizeof(tmp), "%s", csv);
    memset(v, 0, sizeof(v));
    for (;;) {
        char *e = strchr(p, '|');
        if (e)
            *e = '\0';
        v[n].type = (uint8_t)(s->types[n] & 0xff);
        v[n].is_unsigned = (s->types[n] & BINPROTO_UNSIGNED) != 0;
        if (strcmp(p, "\\N") == 0) {
            v[n].is_null = true;
        } else if (v[n].type == MYSQL_TYPE_LONGLONG ||
                   v[n].type == MYSQL_TYPE_LONG) {
            v[n].i64 = strtoll(p, NULL, 10);
            v[n].u64 =
                v[n].is_unsigned ? strtoull(p, NULL, 10) : (uint64_t)v[n].i64;
        } else if (v[n].type == MYSQL_TYPE_DOUBLE) {
            v[n].f64 = strtod(p, NULL);
        } else {
            v[n].str = (const uint8_t *)p;
            v[n].len = strlen(p);
        }
        n++;
        if (e == NULL)
            break;
        p = e + 1;
    }
    ck_assert_uint_eq(n, s->ncols);
    pktbuf_init(&pb);
    ck_assert(binproto_write_row(&pb, v, n));
    ck_assert(pktbuf_send(&pb, s->b, &s->w.seq));
    pktbuf_free(&pb);
}

void
put_ok(struct evbuffer *b, uint8_t seq, uint64_t affected, uint64_t id,
       uint16_t status, uint16_t warnings, const char *info)
{
    ck_assert(proto_write_ok(b, &seq, affected, id, status, warnings, info));
}

void
put_err(struct evbuffer *b, uint8_t seq, uint16_t code, const char *msg)
{
    ck_assert(proto_write_err(b, &seq, code, "42S02", "%s", msg));
}

/* ---- decoding what the client got --------------------------------------- */

/* Column definitions of the last decoded result set. */
uint8_t dec_types[32], dec_decimals[32];
uint16_t dec_flags[32];

static void cat(char *out, const char *fmt, ...) PRINTF_FMT(2, 3);

static void
cat(char *out, const char *fmt, ...)
{
    size_t k = strlen(out);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out + k, OUT_SIZE - k, fmt, ap);
    va_end(ap);
}

static void
cat_str(char *out, const uint8_t *s, size_t len)
{
    if (len > 64)
        cat(out, "<len:%zu>", len);
    else
        cat(out, "%.*s", (int)len, (const char *)s);
}

static void
cat_value(char *out, const struct binproto_value *v)
{
    if (v->is_null) {
        cat(out, "NULL");
        return;
    }
    switch (v->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR:
        if (v->is_unsigned)
            cat(out, "%" PRIu64, v->u64);
        else
            cat(out, "%" PRId64, v->i64);
        break;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        cat(out, "%g", v->f64);
        break;
    default:
        cat_str(out, v->str, v->len);
    }
}

static bool
read_pkt(struct evbuffer *in, uint8_t *seq, struct packet *pkt)
{
    enum packet_status st = packet_read(in, (size_t)1 << 30, *seq, pkt);

    ck_assert_msg(st == PKT_OK, "packet status %d (expected seq %u)", st, *seq);
    *seq = (uint8_t)(pkt->seq + 1);
    return true;
}

static void
cat_err(char *out, const uint8_t *p, size_t len)
{
    ck_assert_uint_ge(len, 9);
    cat(out, "ERR %u %.*s", (unsigned)(p[1] | p[2] << 8), (int)(len - 9),
        (const char *)p + 9);
}

/* Decodes one whole response from in into a line. */
char *
decode(struct evbuffer *in, uint8_t seq0, bool binary)
{
    char *out = calloc(1, OUT_SIZE);
    struct packet pkt;
    uint8_t seq = seq0;
    struct wire w;
    uint64_t n, u;
    uint16_t types[32];

    read_pkt(in, &seq, &pkt);
    if (pkt.data[0] == PKT_HDR_OK) {
        uint64_t a, id;
        uint16_t st, warn;
        const uint8_t *info;
        size_t ilen;
        wire_init(&w, pkt.data + 1, pkt.len - 1);
        ck_assert(wire_lenenc(&w, &a, NULL) && wire_lenenc(&w, &id, NULL) &&
                  wire_u16(&w, &st) && wire_u16(&w, &warn));
        /* the info is length-encoded, as servers send it */
        if (!wire_lenenc_str(&w, &info, &ilen)) {
            info = NULL;
            ilen = 0;
        }
        cat(out, "OK a=%" PRIu64 " id=%" PRIu64 " st=%u w=%u info=%.*s", a, id,
            st, warn, (int)ilen, (const char *)info);
        packet_consume(in, &pkt);
        goto end;
    }
    if (pkt.data[0] == PKT_HDR_ERR) {
        cat_err(out, pkt.data, pkt.len);
        packet_consume(in, &pkt);
        goto end;
    }
    wire_init(&w, pkt.data, pkt.len);
    ck_assert(wire_lenenc(&w, &n, NULL) && n > 0 && n <= 32);
    packet_consume(in, &pkt);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *s, *name = NULL;
        size_t l, name_len = 0;
        uint16_t cs, fl;
        uint32_t dl;
        uint8_t t, d;
        read_pkt(in, &seq, &pkt);
        wire_init(&w, pkt.data, pkt.len);
        for (int k = 0; k < 6; k++) {
            ck_assert(wire_lenenc_str(&w, &s, &l));
            if (k == 4) {
                name = s;
                name_len = l;
            }
        }
        ck_assert(wire_lenenc(&w, &u, NULL) && wire_u16(&w, &cs) &&
                  wire_u32(&w, &dl) && wire_u8(&w, &t) && wire_u16(&w, &fl) &&
                  wire_u8(&w, &d));
        dec_types[i] = t;
        dec_decimals[i] = d;
        dec_flags[i] = fl;
        types[i] =
            (uint16_t)(t | ((fl & UNSIGNED_FLAG) ? BINPROTO_UNSIGNED : 0));
        cat(out, "%s%.*s", i ? "," : "", (int)name_len, (const char *)name);
        packet_consume(in, &pkt);
    }
    read_pkt(in, &seq, &pkt);
    ck_assert(pkt.data[0] == PKT_HDR_EOF && pkt.len == 5);
    packet_consume(in, &pkt);
    for (;;) {
        read_pkt(in, &seq, &pkt);
        if (pkt.data[0] == PKT_HDR_EOF && pkt.len < 9) {
            cat(out, " EOF st=%u w=%u",
                (unsigned)(pkt.data[3] | pkt.data[4] << 8),
                (unsigned)(pkt.data[1] | pkt.data[2] << 8));
            packet_consume(in, &pkt);
            break;
        }
        if (pkt.data[0] == PKT_HDR_ERR) {
            cat(out, " ");
            cat_err(out, pkt.data, pkt.len);
            packet_consume(in, &pkt);
            break;
        }
        cat(out, " [");
        if (binary) {
            struct binproto_value v[32];
            ck_assert(binproto_parse_row(pkt.data, pkt.len, types, n, v));
            for (uint64_t i = 0; i < n; i++) {
                cat(out, "%s", i ? "," : "");
                cat_value(out, &v[i]);
            }
        } else {
            wire_init(&w, pkt.data, pkt.len);
            for (uint64_t i = 0; i < n; i++) {
                const uint8_t *s;
                size_t l;
                cat(out, "%s", i ? "," : "");
                if (*w.p == 0xfb) {
                    w.p++;
                    cat(out, "NULL");
                    continue;
                }
                ck_assert(wire_lenenc_str(&w, &s, &l));
                cat_str(out, s, l);
            }
            ck_assert_uint_eq(wire_left(&w), 0);
        }
        cat(out, "]");
        packet_consume(in, &pkt);
    }
end:
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    return out;
}

/* ---- feeding ------------------------------------------------------------ */

uint32_t rnd_state;

uint32_t
rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xffffff;
}

uint8_t first_seq = 1;
size_t max_rows = 0;
size_t rand_chunk = 300; /* largest random chunk */

/*
 * Feeds the responses build() makes for n sources. Modes: 0 all at once
 * (source by source), 1 byte by byte round robin, 2 random chunks from
 * random sources, 3 as 2 with a one-byte high-water mark.
 */
struct outcome
run(const struct merge_spec *ms, bool binary, int n, build_fn build, int mode)
{
    struct evbuffer *pend[MAXSRC], *in[MAXSRC];
    struct evbuffer *out = evbuffer_new(), *client = evbuffer_new();
    struct merge *m = merge_new(ms, n, binary, first_seq);
    size_t high = mode == 3 ? 1 : BIG;
    struct outcome o = {0};
    enum merge_status st = MERGE_MORE;
    int rr = 0, idle = 0;

    ck_assert_ptr_nonnull(m);
    if (max_rows)
        merge_set_max_rows(m, max_rows);
    for (int i = 0; i < n; i++) {
        pend[i] = evbuffer_new();
        in[i] = evbuffer_new();
    }
    build(pend);
    rnd_state = 12345u + (uint32_t)mode;
    while (st != MERGE_DONE && st != MERGE_BROKEN) {
        int i;
        size_t chunk;
        bool any = false;

        for (int k = 0; k < n; k++)
            any = any || evbuffer_get_length(pend[k]) > 0;
        if (!any) {
            st = merge_pump(m, -1, NULL, out, high);
            if (st == MERGE_PAUSED) {
                o.paused++;
                evbuffer_add_buffer(client, out);
                continue;
            }
            ck_assert_msg(st == MERGE_DONE || st == MERGE_BROKEN || ++idle < 3,
                          "merge stuck with all input fed (status %d)", st);
            continue;
        }
        if (mode == 0) {
            for (i = 0; evbuffer_get_length(pend[i]) == 0; i++)
                ;
            chunk = evbuffer_get_length(pend[i]);
        } else if (mode == 1) {
            do {
                i = rr++ % n;
            } while (evbuffer_get_length(pend[i]) == 0);
            chunk = 1;
        } else {
            do {
                i = (int)(rnd() % (uint32_t)n);
            } while (evbuffer_get_length(pend[i]) == 0);
            chunk = 1 + rnd() % rand_chunk;
        }
        evbuffer_remove_buffer(pend[i], in[i], chunk);
        st = merge_pump(m, i, in[i], out, high);
        while (st == MERGE_PAUSED) {
            o.paused++;
            evbuffer_add_buffer(client, out);
            st = merge_pump(m, -1, NULL, out, high);
        }
    }
    evbuffer_add_buffer(client, out);
    o.st = st;
    o.rows = merge_rows(m);
    o.broken_src = merge_broken_source(m);
    if (st == MERGE_DONE) {
        for (int i = 0; i < n; i++) {
            ck_assert_msg(merge_source_done(m, i), "source %d not done", i);
            ck_assert_uint_eq(evbuffer_get_length(pend[i]), 0);
            ck_assert_uint_eq(evbuffer_get_length(in[i]), 0);
        }
    }
    o.text = decode(client, first_seq, binary);
    merge_free(m);
    for (int i = 0; i < n; i++) {
        evbuffer_free(pend[i]);
        evbuffer_free(in[i]);
    }
    evbuffer_free(out);
    evbuffer_free(client);
    return o;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the " [..]" rows of a line (concatenation has no order). */
void
sort_rows(char *s)
{
    char *rows[64], copy[OUT_SIZE], *p, *tail;
    size_t n = 0;
    char *first = strstr(s, " [");

    if (first == NULL)
        return;
    snprintf(copy, sizeof(copy), "%s", first);
    tail = strstr(copy, "] E");
    if (tail == NULL)
        tail = strstr(copy, "] ERR");
    ck_assert_ptr_nonnull(tail);
    tail[1] = '\0';
    tail += 2;
    for (p = copy; (p = strstr(p, " [")) != NULL; p += 2) {
        rows[n++] = p + 1;
        if (n > 1)
            p[0] = '\0';
    }
    qsort(rows, n, sizeof(rows[0]), cmp_str);
    *first = '\0';
    for (size_t i = 0; i < n; i++)
        cat(s, " %s", rows[i]);
    cat(s, " %s", tail);
}

/* Runs every feeding mode; each must give exactly expect. */
void
check(const struct merge_spec *ms, bool binary, int n, build_fn build,
      const char *expect, bool unordered)
{
    for (int mode = 0; mode < NMODES; mode++) {
        struct outcome o = run(ms, binary, n, build, mode);
        if (unordered)
            sort_rows(o.text);
        ck_assert_msg(strcmp(o.text, expect) == 0,
                      "mode %d:\n got  %s\n want %s", mode, o.text, expect);
        ck_assert_int_eq(o.st, MERGE_DONE);
        if (mode == 3 && strchr(expect, '[') != NULL)
            ck_assert_int_gt(o.paused, 0);
        free(o.text);
    }
}

/* Checks that the line starts with prefix in every mode. */
void
check_prefix(const struct merge_spec *ms, bool binary, int n, build_fn build,
             const char *prefix)
{
    for (int mode = 0; mode < NMODES; mode++) {
        struct outcome o = run(ms, binary, n, build, mode);
        ck_assert_msg(strncmp(o.text, prefix, strlen(prefix)) == 0,
                      "mode %d:\n got  %s\n want %s...", mode, o.text, prefix);
        ck_assert_int_eq(o.st, MERGE_DONE);
        free(o.text);
    }
}

struct merge_spec
spec(void)
{
    struct merge_spec ms;

    memset(&ms, 0, sizeof(ms));
    return ms;
}

struct merge_spec
spec_sort(int16_t col, bool desc)
{
    struct merge_spec ms = spec();

    ms.nsort = 1;
    ms.sort[0].col = col;
    ms.sort[0].desc = desc;
    return ms;
}

/* n text rows into one shard of one column built from cols. */
void
text_shard(struct evbuffer *b, const struct coldef *cols, size_t ncols,
           const char *const *rows)
{
    struct shard s;

    sh_begin(&s, b, cols, ncols);
    for (; *rows; rows++)
        sh_row(&s, *rows);
    sh_end(&s, ST_AUTO);
}

struct merge_spec
spec_group(void)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.ngroup = 1;
    ms.group[0].col = 0;
    ms.naggs = 2;
    ms.aggs[0] = (struct merge_aggcol){.col = 1, .agg = MAGG_COUNT};
    ms.aggs[1] = (struct merge_aggcol){.col = 2, .agg = MAGG_SUM};
    return ms;
}

void
build_binary_order(struct evbuffer **src)
{
    struct coldef c[3] = {C_UBIGINT("id"), C_STR("name"), C_DBL("d")};
    struct shard s;

    sh_begin(&s, src[0], c, 3);
    sh_brow(&s, "18446744073709551615|big|2.5");
    sh_brow(&s, "7|seven|-1");
    sh_brow(&s, "1|\\N|\\N");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 3);
    sh_brow(&s, "9223372036854775808|mid|0.5");
    sh_brow(&s, "3|three|4");
    sh_end(&s, ST_AUTO);
}

void
build_groups(struct evbuffer **src)
{
    struct coldef c[3] = {C_STR("g"), C_BIGINT("c"), C_DEC("s", 0)};
    const char *r0[] = {"a|1|10", "b|5|5", "d|1|1", NULL};
    const char *r1[] = {"A|1|1", "c|7|7", "d |0|\\N", NULL};
    const char *r2[] = {"b|1|-5", "d|3|3", "e|9|0", NULL};

    text_shard(src[0], c, 3, r0);
    text_shard(src[1], c, 3, r1);
    text_shard(src[2], c, 3, r2);
}
