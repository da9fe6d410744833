/*
 * test_merge.c - the streaming merge: synthetic shard responses (text and
 * binary rows) are fed to merge_pump in several ways (all at once, byte by
 * byte, random chunks in random order, random chunks under a one-byte
 * high-water mark), and the client's output is decoded back into one line
 * that must be the same for every way of feeding:
 *
 *   "name,name [v,v] [v,NULL] EOF st=2 w=0"   a result set
 *   "OK a=5 id=0 st=2 w=1 info=..."           an OK
 *   "ERR 1105 myshard: ..."                   an ERR (alone or after rows)
 *
 * The decoder checks every sequence id (from first_seq on, wrapping) and
 * that nothing trails the response; the feeder checks that every source's
 * buffer was drained and merge_source_done() holds for each.
 */
#include "session/merge.h"

#include <check.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "proto/wire.h"

#define MAXSRC   4
#define BIG      ((size_t)1 << 40)
#define ST_AUTO  SERVER_STATUS_AUTOCOMMIT
#define NMODES   4
#define OUT_SIZE 4096

/* ---- building shard responses ------------------------------------------ */

/* One shard's response under construction. */
struct shard {
    struct evbuffer *b;
    struct rs_writer w;
    uint16_t types[16]; /* binary type words of its columns */
    size_t ncols;
};

static struct coldef
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

#define C_INT(n)    col(n, MYSQL_TYPE_LONG, CHARSET_BINARY, BINARY_FLAG, 0)
#define C_BIGINT(n) col(n, MYSQL_TYPE_LONGLONG, CHARSET_BINARY, BINARY_FLAG, 0)
#define C_UBIGINT(n)                                                           \
    col(n, MYSQL_TYPE_LONGLONG, CHARSET_BINARY, BINARY_FLAG | UNSIGNED_FLAG, 0)
#define C_STR(n) col(n, MYSQL_TYPE_VAR_STRING, CHARSET_UTF8MB4_GENERAL_CI, 0, 0)
#define C_BIN(n) col(n, MYSQL_TYPE_VAR_STRING, CHARSET_BINARY, BINARY_FLAG, 0)
#define C_DEC(n, d)                                                            \
    col(n, MYSQL_TYPE_NEWDECIMAL, CHARSET_BINARY, BINARY_FLAG, d)
#define C_DBL(n)  col(n, MYSQL_TYPE_DOUBLE, CHARSET_BINARY, BINARY_FLAG, 31)
#define C_TIME(n) col(n, MYSQL_TYPE_TIME, CHARSET_BINARY, BINARY_FLAG, 0)

static void
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
static void
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

static void
sh_end(struct shard *s, uint16_t status)
{
    s->w.status = status;
    rs_end(&s->w);
    ck_assert(!s->w.failed);
}

/* A binary row from "v|v|\N", each value converted by its column type. */
static void
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

static void
put_ok(struct evbuffer *b, uint8_t seq, uint64_t affected, uint64_t id,
       uint16_t status, uint16_t warnings, const char *info)
{
    ck_assert(proto_write_ok(b, &seq, affected, id, status, warnings, info));
}

static void
put_err(struct evbuffer *b, uint8_t seq, uint16_t code, const char *msg)
{
    ck_assert(proto_write_err(b, &seq, code, "42S02", "%s", msg));
}

/* ---- decoding what the client got --------------------------------------- */

/* Column definitions of the last decoded result set. */
static uint8_t dec_types[32], dec_decimals[32];
static uint16_t dec_flags[32];

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
static char *
decode(struct evbuffer *in, uint8_t first_seq, bool binary)
{
    char *out = calloc(1, OUT_SIZE);
    struct packet pkt;
    uint8_t seq = first_seq;
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
        wire_rest(&w, &info, &ilen);
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

typedef void (*build_fn)(struct evbuffer **src);

static uint32_t rnd_state;

static uint32_t
rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xffffff;
}

static uint8_t first_seq = 1;
static size_t max_rows = 0;
static size_t rand_chunk = 300; /* largest random chunk */

struct outcome {
    char *text;           /* decoded client output */
    enum merge_status st; /* the last status */
    int paused;           /* MERGE_PAUSED returns */
    uint64_t rows;        /* merge_rows */
    int broken_src;
};

/*
 * Feeds the responses build() makes for n sources. Modes: 0 all at once
 * (source by source), 1 byte by byte round robin, 2 random chunks from
 * random sources, 3 as 2 with a one-byte high-water mark.
 */
static struct outcome
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
static void
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
static void
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
static void
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

static struct merge_spec
spec(void)
{
    struct merge_spec ms;

    memset(&ms, 0, sizeof(ms));
    return ms;
}

static struct merge_spec
spec_sort(int16_t col, bool desc)
{
    struct merge_spec ms = spec();

    ms.nsort = 1;
    ms.sort[0].col = col;
    ms.sort[0].desc = desc;
    return ms;
}

/* n text rows into one shard of one column built from cols. */
static void
text_shard(struct evbuffer *b, const struct coldef *cols, size_t ncols,
           const char *const *rows)
{
    struct shard s;

    sh_begin(&s, b, cols, ncols);
    for (; *rows; rows++)
        sh_row(&s, *rows);
    sh_end(&s, ST_AUTO);
}

/* ---- concatenation ------------------------------------------------------ */

static void
build_concat(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("id"), C_STR("name")};
    const char *r0[] = {"1|one", "2|\\N", NULL};
    const char *r1[] = {"3|three", NULL};
    const char *r2[] = {NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
    text_shard(src[2], c, 2, r2);
}

START_TEST(test_concat)
{
    struct merge_spec ms = spec();

    check(&ms, false, 3, build_concat,
          "id,name [1,one] [2,NULL] [3,three] EOF st=2 w=0", true);
}
END_TEST

START_TEST(test_concat_seq_wraps)
{
    struct merge_spec ms = spec();

    first_seq = 254;
    check(&ms, false, 3, build_concat,
          "id,name [1,one] [2,NULL] [3,three] EOF st=2 w=0", true);
    first_seq = 1;
}
END_TEST

/* ---- ORDER BY ----------------------------------------------------------- */

static void
build_ints_asc(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"\\N", "1", "5", "10", NULL};
    const char *r1[] = {"\\N", "-3", "2", "7", NULL};
    const char *r2[] = {"-10", "3", "100", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
    text_shard(src[2], c, 1, r2);
}

static void
build_ints_desc(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"10", "5", "1", "\\N", NULL};
    const char *r1[] = {"7", "2", "-3", "\\N", NULL};
    const char *r2[] = {"100", "3", "-10", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
    text_shard(src[2], c, 1, r2);
}

START_TEST(test_order_ints_nulls)
{
    struct merge_spec asc = spec_sort(0, false), desc = spec_sort(0, true);

    check(&asc, false, 3, build_ints_asc,
          "v [NULL] [NULL] [-10] [-3] [1] [2] [3] [5] [7] [10] [100] EOF "
          "st=2 w=0",
          false);
    check(&desc, false, 3, build_ints_desc,
          "v [100] [10] [7] [5] [3] [2] [1] [-3] [-10] [NULL] [NULL] EOF "
          "st=2 w=0",
          false);
}
END_TEST

static void
build_strings_ci(struct evbuffer **src)
{
    struct coldef c[1] = {C_STR("s")};
    const char *r0[] = {"a", "C", "e", NULL};
    const char *r1[] = {"B", "d", "F", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

static void
build_strings_bin(struct evbuffer **src)
{
    struct coldef c[1] = {C_BIN("s")};
    const char *r0[] = {"C", "a", "e", NULL};
    const char *r1[] = {"B", "F", "d", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

START_TEST(test_order_strings)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 2, build_strings_ci,
          "s [a] [B] [C] [d] [e] [F] EOF st=2 w=0", false);
    check(&ms, false, 2, build_strings_bin,
          "s [B] [C] [F] [a] [d] [e] EOF st=2 w=0", false);
}
END_TEST

static void
build_decimals(struct evbuffer **src)
{
    struct coldef c[1] = {C_DEC("d", 2)};
    const char *r0[] = {"-10.50", "-2.00", "3.10", NULL};
    const char *r1[] = {"-100.00", "-2.50", "0.00", "25.00", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

START_TEST(test_order_decimal_negative)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 2, build_decimals,
          "d [-100.00] [-10.50] [-2.50] [-2.00] [0.00] [3.10] [25.00] EOF "
          "st=2 w=0",
          false);
}
END_TEST

static void
build_times(struct evbuffer **src)
{
    struct coldef c[1] = {C_TIME("t")};
    const char *r0[] = {"-10:00:00", "-01:30:00", "05:00:00", NULL};
    const char *r1[] = {"-02:00:00", "00:00:00.5", "100:00:00", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
}

START_TEST(test_order_negative_time)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 2, build_times,
          "t [-10:00:00] [-02:00:00] [-01:30:00] [00:00:00.5] [05:00:00] "
          "[100:00:00] EOF st=2 w=0",
          false);
}
END_TEST

/* ---- hidden columns ----------------------------------------------------- */

static void
build_hidden(struct evbuffer **src)
{
    struct coldef c[2] = {C_STR("name"), C_INT("k")};
    const char *r0[] = {"x|1", "y|4", NULL};
    const char *r1[] = {"z|2", "w|3", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
}

START_TEST(test_hidden_sort_column)
{
    struct merge_spec ms = spec_sort(-1, false);

    ms.nhidden = 1;
    check(&ms, false, 2, build_hidden, "name [x] [z] [w] [y] EOF st=2 w=0",
          false);
    /* Concatenation with a hidden column: not the pass-through path. */
    ms.nsort = 0;
    check(&ms, false, 2, build_hidden, "name [w] [x] [y] [z] EOF st=2 w=0",
          true);
}
END_TEST

/* ---- LIMIT / OFFSET ------------------------------------------------------ */

static void
build_nine(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"1", "4", "7", NULL};
    const char *r1[] = {"2", "5", "8", NULL};
    const char *r2[] = {"3", "6", "9", NULL};

    text_shard(src[0], c, 1, r0);
    text_shard(src[1], c, 1, r1);
    text_shard(src[2], c, 1, r2);
}

START_TEST(test_limit_offset)
{
    struct merge_spec ms = spec_sort(0, false);

    ms.has_limit = true;
    ms.offset = 2;
    ms.limit = 4;
    check(&ms, false, 3, build_nine, "v [3] [4] [5] [6] EOF st=2 w=0", false);
    ms.offset = 0;
    ms.limit = 0;
    check(&ms, false, 3, build_nine, "v EOF st=2 w=0", false);
    ms.offset = 8;
    ms.limit = 10;
    check(&ms, false, 3, build_nine, "v [9] EOF st=2 w=0", false);
}
END_TEST

START_TEST(test_limit_concat_fast_path)
{
    struct merge_spec ms = spec();

    ms.has_limit = true;
    ms.offset = 2;
    ms.limit = 3;
    for (int mode = 0; mode < NMODES; mode++) {
        struct outcome o = run(&ms, false, 3, build_nine, mode);
        int rows = 0;
        for (const char *p = o.text; (p = strchr(p, '[')) != NULL; p++)
            rows++;
        ck_assert_int_eq(rows, 3);
        ck_assert_uint_eq(o.rows, 3);
        ck_assert_int_eq(o.st, MERGE_DONE);
        ck_assert_ptr_nonnull(strstr(o.text, " EOF st=2 w=0"));
        free(o.text);
    }
}
END_TEST

/* ---- aggregates --------------------------------------------------------- */

static struct merge_spec
spec_aggs(void)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.nhidden = 1;
    ms.naggs = 5;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_COUNT};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_SUM};
    ms.aggs[2] = (struct merge_aggcol){.col = 2, .agg = MAGG_MIN};
    ms.aggs[3] = (struct merge_aggcol){.col = 3, .agg = MAGG_MAX};
    ms.aggs[4] = (struct merge_aggcol){.col = 4, .agg = MAGG_AVG, .col2 = -1};
    return ms;
}

static const struct coldef *
agg_cols(void)
{
    static struct coldef c[6];

    c[0] = C_BIGINT("cnt");
    c[1] = C_DEC("s", 2);
    c[2] = C_INT("mn");
    c[3] = C_INT("mx");
    c[4] = C_DEC("av", 0);
    c[5] = C_BIGINT("av_n");
    return c;
}

static void
build_aggs(struct evbuffer **src)
{
    const char *r0[] = {"3|10.50|1|9|6|3", NULL};
    const char *r1[] = {"0|\\N|\\N|\\N|\\N|0", NULL};
    const char *r2[] = {"2|0.25|-4|5|3|2", NULL};

    text_shard(src[0], agg_cols(), 6, r0);
    text_shard(src[1], agg_cols(), 6, r1);
    text_shard(src[2], agg_cols(), 6, r2);
}

static void
build_aggs_empty(struct evbuffer **src)
{
    const char *r[] = {"0|\\N|\\N|\\N|\\N|0", NULL};

    text_shard(src[0], agg_cols(), 6, r);
    text_shard(src[1], agg_cols(), 6, r);
}

START_TEST(test_aggregates_no_group)
{
    struct merge_spec ms = spec_aggs();

    check(&ms, false, 3, build_aggs,
          "cnt,s,mn,mx,av [5,10.75,-4,9,1.8000] EOF st=2 w=0", false);
    /* AVG's definition: a DECIMAL with 4 more digits. */
    ck_assert_uint_eq(dec_types[4], MYSQL_TYPE_NEWDECIMAL);
    ck_assert_uint_eq(dec_decimals[4], 4);
    check(&ms, false, 2, build_aggs_empty,
          "cnt,s,mn,mx,av [0,NULL,NULL,NULL,NULL] EOF st=2 w=0", false);
}
END_TEST

static void
build_avg_round(struct evbuffer **src)
{
    struct coldef c[4] = {C_DEC("a", 0), C_DEC("b", 2), C_BIGINT("an"),
                          C_BIGINT("bn")};
    const char *r0[] = {"2|1.00|1|1", NULL};
    const char *r1[] = {"-4|-3.00|2|2", NULL};

    text_shard(src[0], c, 4, r0);
    text_shard(src[1], c, 4, r1);
}

START_TEST(test_avg_scale_and_rounding)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.nhidden = 2;
    ms.naggs = 2;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_AVG, .col2 = -2};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_AVG, .col2 = -1};
    /* -2 / 3 and -2.00 / 3, rounded half away from zero */
    check(&ms, false, 2, build_avg_round,
          "a,b [-0.6667,-0.666667] EOF st=2 w=0", false);
    ck_assert_uint_eq(dec_decimals[0], 4);
    ck_assert_uint_eq(dec_decimals[1], 6);
}
END_TEST

static void
build_big_sums(struct evbuffer **src)
{
    struct coldef c[2] = {C_DEC("s", 2), C_DBL("d")};
    const char *r0[] = {"99999999999999999999999999999.99|0.1", NULL};
    const char *r1[] = {"0.01|0.2", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
}

START_TEST(test_sum_exact_and_double)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.naggs = 2;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_SUM};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_SUM};
    check(&ms, false, 2, build_big_sums,
          "s,d [100000000000000000000000000000.00,0.30000000000000004] EOF "
          "st=2 w=0",
          false);
}
END_TEST

/* ---- GROUP BY ----------------------------------------------------------- */

static struct merge_spec
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

static void
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

START_TEST(test_group_by_spread)
{
    struct merge_spec ms = spec_group();

    /* "A" joins "a" and "d " joins "d" (case-insensitive, PAD SPACE); the
     * group shows its first row's value. */
    check(&ms, false, 3, build_groups,
          "g,c,s [a,2,11] [b,6,0] [c,7,7] [d,4,4] [e,9,0] EOF st=2 w=0", false);
}
END_TEST

static void
build_groups_desc(struct evbuffer **src)
{
    struct coldef c[3] = {C_STR("g"), C_BIGINT("c"), C_INT("mx")};
    const char *r0[] = {"d|1|4", "b|5|-1", NULL};
    const char *r1[] = {"e|2|0", "B|1|7", "a|1|1", NULL};

    text_shard(src[0], c, 3, r0);
    text_shard(src[1], c, 3, r1);
}

START_TEST(test_group_by_desc_order)
{
    struct merge_spec ms = spec_group();

    ms.aggs[1] = (struct merge_aggcol){.col = 2, .agg = MAGG_MAX};
    ms.nsort = 1;
    ms.sort[0].col = 0;
    ms.sort[0].desc = true;
    check(&ms, false, 2, build_groups_desc,
          "g,c,mx [e,2,0] [d,1,4] [b,6,7] [a,1,1] EOF st=2 w=0", false);
    /* Sort keys that do not include the group keys cannot group. */
    ms.sort[0].col = 1;
    check_prefix(&ms, false, 2, build_groups_desc,
                 "ERR 1105 myshard: the merge plan does not fit the shards' "
                 "result (sort keys not covering the group keys");
}
END_TEST

START_TEST(test_post_sort_aggregate_desc_limit)
{
    struct merge_spec ms = spec_group();

    ms.npost_sort = 1;
    ms.post_sort[0].col = 1;
    ms.post_sort[0].desc = true;
    ms.has_limit = true;
    ms.offset = 1;
    ms.limit = 3;
    check(&ms, false, 3, build_groups,
          "g,c,s [c,7,7] [b,6,0] [d,4,4] EOF st=2 w=0", false);
}
END_TEST

START_TEST(test_post_sort_too_large)
{
    struct merge_spec ms = spec_group();

    ms.npost_sort = 1;
    ms.post_sort[0].col = 1;
    max_rows = 3;
    check(&ms, false, 3, build_groups,
          "g,c,s ERR 1235 myshard: result too large to sort in the proxy "
          "(more than 3 rows); add a LIMIT or narrow the query",
          false);
    /* With a LIMIT the proxy keeps only what it may send. */
    ms.has_limit = true;
    ms.limit = 2;
    check(&ms, false, 3, build_groups, "g,c,s [a,2,11] [d,4,4] EOF st=2 w=0",
          false);
    max_rows = 0;
}
END_TEST

/* ---- DISTINCT ----------------------------------------------------------- */

static void
build_distinct(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("a"), C_STR("b")};
    const char *r0[] = {"1|x", "1|y", "2|x", NULL};
    const char *r1[] = {"1|X", "2|x", "3|z", NULL};
    const char *r2[] = {"1|y", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
    text_shard(src[2], c, 2, r2);
}

static void
build_distinct_lower(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("a"), C_STR("b")};
    const char *r0[] = {"1|x", "1|y", "2|x", NULL};
    const char *r1[] = {"1|x", "2|x", "3|z", NULL};
    const char *r2[] = {"1|y", NULL};

    text_shard(src[0], c, 2, r0);
    text_shard(src[1], c, 2, r1);
    text_shard(src[2], c, 2, r2);
}

START_TEST(test_distinct)
{
    struct merge_spec ms = spec();

    ms.distinct = true;
    check(&ms, false, 3, build_distinct,
          "a,b [1,x] [1,y] [2,x] [3,z] EOF st=2 w=0", false);
    ms.npost_sort = 1;
    ms.post_sort[0].col = 0;
    ms.post_sort[0].desc = true;
    check(&ms, false, 3, build_distinct_lower,
          "a,b [3,z] [2,x] [1,x] [1,y] EOF st=2 w=0", false);
}
END_TEST

/* ---- OK, ERR and mismatches --------------------------------------------- */

static void
build_oks(struct evbuffer **src)
{
    put_ok(src[0], 1, 3, 0, ST_AUTO, 0,
           "Rows matched: 3  Changed: 3  Warnings: 0");
    put_ok(src[1], 1, 2, 0, ST_AUTO, 1,
           "Rows matched: 4  Changed: 2  Warnings: 1");
    put_ok(src[2], 1, 0, 0, ST_AUTO, 0,
           "Rows matched: 0  Changed: 0  Warnings: 0");
}

static void
build_inserts(struct evbuffer **src)
{
    put_ok(src[0], 1, 2, 10, ST_AUTO, 0,
           "Records: 2  Duplicates: 0  "
           "Warnings: 0");
    put_ok(src[1], 1, 1, 7, ST_AUTO, 0, NULL);
}

START_TEST(test_ok_summing)
{
    struct merge_spec ms = spec();

    check(&ms, false, 3, build_oks,
          "OK a=5 id=0 st=2 w=1 info=Rows matched: 7  Changed: 5  Warnings: 1",
          false);
    /* Infos of different shapes are dropped; the largest id is kept. */
    check(&ms, false, 2, build_inserts, "OK a=3 id=10 st=2 w=0 info=", false);
}
END_TEST

static void
build_err_first(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("v")};
    const char *r0[] = {"1", "2", NULL};

    text_shard(src[0], c, 1, r0);
    put_err(src[1], 1, 1146, "Table 'db.t' doesn't exist");
    text_shard(src[2], c, 1, r0);
}

START_TEST(test_error_before_rows)
{
    struct merge_spec ms = spec_sort(0, false);

    check(&ms, false, 3, build_err_first, "ERR 1146 Table 'db.t' doesn't exist",
          false);
    ms = spec();
    check(&ms, false, 3, build_err_first, "ERR 1146 Table 'db.t' doesn't exist",
          false);
}
END_TEST

/* Rows go out, then a shard fails mid-result: the ERR replaces the rest
 * and the other shard is still drained. */
START_TEST(test_error_after_rows)
{
    struct merge_spec ms = spec_sort(0, false);
    struct evbuffer *in0 = evbuffer_new(), *in1 = evbuffer_new();
    struct evbuffer *out = evbuffer_new();
    struct coldef c[1] = {C_INT("v")};
    struct merge *m = merge_new(&ms, 2, false, 1);
    struct shard s0, s1;
    char *text;

    sh_begin(&s0, in0, c, 1);
    sh_begin(&s1, in1, c, 1);
    sh_row(&s0, "1");
    sh_row(&s0, "3");
    sh_row(&s1, "2");
    sh_row(&s1, "4");
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_MORE);
    ck_assert_int_eq(merge_pump(m, 1, in1, out, BIG), MERGE_MORE);
    ck_assert_uint_eq(merge_rows(m), 3); /* 1, 2, 3: 4 waits for shard 0 */
    put_err(in1, s1.w.seq, 1317, "Query execution was interrupted");
    /* Row 4 is held ahead; the ERR waits behind it. */
    ck_assert_int_eq(merge_pump(m, 1, in1, out, BIG), MERGE_MORE);
    ck_assert(!merge_source_done(m, 1));
    ck_assert_ptr_null(merge_error(m, NULL));
    sh_row(&s0, "5");
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_MORE);
    ck_assert(merge_source_done(m, 1));
    ck_assert_ptr_nonnull(merge_error(m, NULL));
    ck_assert(!merge_source_done(m, 0));
    sh_end(&s0, ST_AUTO);
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_DONE);
    ck_assert(merge_source_done(m, 0));
    ck_assert_uint_eq(evbuffer_get_length(in0), 0);
    text = decode(out, 1, false);
    ck_assert_str_eq(
        text, "v [1] [2] [3] [4] ERR 1317 Query execution was interrupted");
    free(text);
    merge_free(m);
    evbuffer_free(in0);
    evbuffer_free(in1);
    evbuffer_free(out);
}
END_TEST

static void
build_count_mismatch(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("a"), C_INT("b")};
    const char *r[] = {"1|2", NULL};
    const char *r1[] = {"1", NULL};

    text_shard(src[0], c, 2, r);
    text_shard(src[1], c, 1, r1);
}

static void
build_mixed(struct evbuffer **src)
{
    struct coldef c[1] = {C_INT("a")};
    const char *r[] = {"1", NULL};

    text_shard(src[0], c, 1, r);
    put_ok(src[1], 1, 1, 0, ST_AUTO, 0, NULL);
}

static void
build_multi_result(struct evbuffer **src)
{
    put_ok(src[0], 1, 1, 0, ST_AUTO | SERVER_MORE_RESULTS_EXISTS, 0, NULL);
    put_ok(src[0], 2, 1, 0, ST_AUTO, 0, NULL);
    put_ok(src[1], 1, 1, 0, ST_AUTO, 0, NULL);
}

START_TEST(test_shards_disagree)
{
    struct merge_spec ms = spec();

    check_prefix(&ms, false, 2, build_count_mismatch,
                 "ERR 1105 myshard: shards returned different column counts");
    check_prefix(&ms, false, 2, build_mixed,
                 "ERR 1105 myshard: shards answered differently");
    check_prefix(&ms, false, 2, build_multi_result,
                 "ERR 1235 myshard: statements returning several results");
}
END_TEST

/* ---- binary protocol ---------------------------------------------------- */

static void
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

static void
build_binary_by_d(struct evbuffer **src)
{
    struct coldef c[3] = {C_UBIGINT("id"), C_STR("name"), C_DBL("d")};
    struct shard s;

    sh_begin(&s, src[0], c, 3);
    sh_brow(&s, "1|\\N|\\N");
    sh_brow(&s, "7|seven|-1");
    sh_brow(&s, "18446744073709551615|big|2.5");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 3);
    sh_brow(&s, "9223372036854775808|mid|0.5");
    sh_brow(&s, "3|three|4");
    sh_end(&s, ST_AUTO);
}

START_TEST(test_binary_order_by)
{
    struct merge_spec ms = spec_sort(0, true);

    check(&ms, true, 2, build_binary_order,
          "id,name,d [18446744073709551615,big,2.5] "
          "[9223372036854775808,mid,0.5] [7,seven,-1] [3,three,4] "
          "[1,NULL,NULL] EOF st=2 w=0",
          false);
    /* Concatenation: binary rows pass through with new sequence ids. */
    ms = spec();
    check(&ms, true, 2, build_binary_order,
          "id,name,d [1,NULL,NULL] [18446744073709551615,big,2.5] "
          "[3,three,4] [7,seven,-1] [9223372036854775808,mid,0.5] EOF st=2 "
          "w=0",
          true);
    /* By the double column, hiding it. */
    ms = spec_sort(-1, false);
    ms.nhidden = 1;
    check(&ms, true, 2, build_binary_by_d,
          "id,name [1,NULL] [7,seven] [9223372036854775808,mid] "
          "[18446744073709551615,big] [3,three] EOF st=2 w=0",
          false);
}
END_TEST

static void
build_binary_aggs(struct evbuffer **src)
{
    struct coldef c[4] = {C_BIGINT("cnt"), C_DEC("s", 2), C_DBL("av"),
                          C_BIGINT("n")};
    struct shard s;

    sh_begin(&s, src[0], c, 4);
    sh_brow(&s, "2|1.50|3|2");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 4);
    sh_brow(&s, "3|2.25|4.5|3");
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[2], c, 4);
    sh_brow(&s, "0|\\N|\\N|0");
    sh_end(&s, ST_AUTO);
}

START_TEST(test_binary_count_sum_avg)
{
    struct merge_spec ms = spec();

    ms.grouped = true;
    ms.nhidden = 1;
    ms.naggs = 3;
    ms.aggs[0] = (struct merge_aggcol){.col = 0, .agg = MAGG_COUNT};
    ms.aggs[1] = (struct merge_aggcol){.col = 1, .agg = MAGG_SUM};
    ms.aggs[2] = (struct merge_aggcol){.col = 2, .agg = MAGG_AVG, .col2 = 3};
    check(&ms, true, 3, build_binary_aggs, "cnt,s,av [5,3.75,1.5] EOF st=2 w=0",
          false);
    ck_assert_uint_eq(dec_types[0], MYSQL_TYPE_LONGLONG);
    ck_assert_uint_eq(dec_types[2], MYSQL_TYPE_DOUBLE);
}
END_TEST

/* ---- flow control and large rows ---------------------------------------- */

START_TEST(test_backpressure_pauses)
{
    struct merge_spec ms = spec_sort(0, false);
    struct outcome o = run(&ms, false, 3, build_nine, 3);

    ck_assert_int_eq(o.st, MERGE_DONE);
    ck_assert_int_gt(o.paused, 5);
    ck_assert_str_eq(o.text,
                     "v [1] [2] [3] [4] [5] [6] [7] [8] [9] EOF st=2 w=0");
    free(o.text);
    ms = spec();
    o = run(&ms, false, 3, build_nine, 3);
    ck_assert_int_eq(o.st, MERGE_DONE);
    ck_assert_int_gt(o.paused, 5);
    free(o.text);
}
END_TEST

#define HUGE_LEN ((size_t)PACKET_MAX_PAYLOAD + 1000)

static void
build_huge(struct evbuffer **src)
{
    struct coldef c[2] = {C_INT("k"), C_BIN("blob")};
    char *big = malloc(HUGE_LEN);
    const char *vals[2] = {"2", big};
    size_t lens[2] = {1, HUGE_LEN};
    struct shard s;

    memset(big, 'x', HUGE_LEN);
    sh_begin(&s, src[0], c, 2);
    sh_row(&s, "1|small");
    rs_row(&s.w, vals, lens);
    sh_end(&s, ST_AUTO);
    sh_begin(&s, src[1], c, 2);
    sh_row(&s, "3|tail");
    sh_end(&s, ST_AUTO);
    free(big);
}

START_TEST(test_huge_row)
{
    struct merge_spec ms = spec();
    const char *want =
        "k,blob [1,small] [2,<len:16778215>] [3,tail] EOF st=2 w=0";

    rand_chunk = 1 << 16;
    for (int mode = 0; mode < NMODES; mode += mode ? 1 : 2) {
        struct outcome o = run(&ms, false, 2, build_huge, mode);
        sort_rows(o.text);
        ck_assert_str_eq(o.text, want);
        free(o.text);
    }
    /* The decoding path (a k-way merge) joins and re-splits it too. */
    ms = spec_sort(0, false);
    {
        struct outcome o = run(&ms, false, 2, build_huge, 2);
        ck_assert_str_eq(o.text, want);
        free(o.text);
    }
    rand_chunk = 300;
}
END_TEST

/* ---- broken input, lost sources ----------------------------------------- */

static void
build_malformed(struct evbuffer **src)
{
    uint8_t seq = 1;
    struct coldef c[1] = {C_INT("v")};
    const char *r[] = {"1", NULL};

    packet_write(src[0], &seq, "\x01", 1);
    packet_write(src[0], &seq,
                 "\x03"
                 "de",
                 3); /* a truncated column definition */
    text_shard(src[1], c, 1, r);
}

START_TEST(test_malformed_is_broken)
{
    struct merge_spec ms = spec();

    for (int mode = 0; mode < NMODES; mode++) {
        struct outcome o = run(&ms, false, 2, build_malformed, mode);
        ck_assert_int_eq(o.st, MERGE_BROKEN);
        ck_assert_int_eq(o.broken_src, 0);
        ck_assert_str_eq(o.text,
                         "ERR 1105 myshard: shard 0 sent a malformed response");
        free(o.text);
    }
}
END_TEST

START_TEST(test_lost_source)
{
    struct merge_spec ms = spec_sort(0, false);
    struct evbuffer *in0 = evbuffer_new(), *out = evbuffer_new();
    struct coldef c[1] = {C_INT("v")};
    struct merge *m = merge_new(&ms, 2, false, 1);
    struct shard s0;
    uint16_t code = 0;
    char *text;

    sh_begin(&s0, in0, c, 1);
    sh_row(&s0, "1");
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_MORE);
    ck_assert_int_eq(merge_fail_source(m, 1, out, BIG, 2013,
                                       "myshard: lost connection to shard 1"),
                     MERGE_MORE);
    ck_assert_str_eq(merge_error(m, &code),
                     "myshard: lost connection to shard 1");
    ck_assert_uint_eq(code, 2013);
    ck_assert(!merge_source_done(m, 1));
    sh_row(&s0, "2");
    sh_end(&s0, ST_AUTO);
    ck_assert_int_eq(merge_pump(m, 0, in0, out, BIG), MERGE_DONE);
    ck_assert(merge_source_done(m, 0));
    ck_assert(merge_client_intact(m));
    text = decode(out, 1, false);
    ck_assert_str_eq(text, "ERR 2013 myshard: lost connection to shard 1");
    free(text);
    merge_free(m);
    evbuffer_free(in0);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_bad_plan)
{
    struct merge_spec ms = spec_sort(5, false); /* no such column */

    check_prefix(&ms, false, 3, build_nine,
                 "ERR 1105 myshard: the merge plan does not fit");
    ck_assert_ptr_null(merge_new(&ms, 0, false, 1));
}
END_TEST

/* Corrupted responses: any outcome but a crash (the sanitizers watch) or
 * a merge that claims more than it read. */
START_TEST(test_corrupt_input)
{
    struct merge_spec specs[4];
    struct evbuffer *pend[MAXSRC], *in[MAXSRC], *out = evbuffer_new();

    specs[0] = spec();
    specs[1] = spec_sort(0, true);
    specs[2] = spec_group();
    specs[3] = spec_group();
    specs[3].npost_sort = 1;
    specs[3].post_sort[0].col = 2;
    specs[3].distinct = true;
    rnd_state = 99;
    for (int iter = 0; iter < 400; iter++) {
        const struct merge_spec *ms = &specs[iter % 4];
        bool binary = iter % 8 >= 4;
        int n = binary ? 2 : 3;
        struct merge *m = merge_new(ms, n, binary, 1);
        enum merge_status st = MERGE_MORE;

        for (int i = 0; i < 3; i++) {
            pend[i] = evbuffer_new();
            in[i] = evbuffer_new();
        }
        if (binary)
            build_binary_order(pend);
        else
            build_groups(pend);
        for (int flips = 1 + (int)(rnd() % 3); flips > 0; flips--) {
            int i = (int)(rnd() % (uint32_t)n);
            size_t len = evbuffer_get_length(pend[i]);
            uint8_t *p = evbuffer_pullup(pend[i], -1);
            p[rnd() % len] = (uint8_t)rnd();
        }
        while (st == MERGE_MORE || st == MERGE_PAUSED) {
            int i = (int)(rnd() % (uint32_t)n);
            if (evbuffer_get_length(pend[0]) + evbuffer_get_length(pend[1]) +
                    evbuffer_get_length(pend[2]) ==
                0)
                break;
            evbuffer_remove_buffer(pend[i], in[i], 1 + rnd() % 40);
            st = merge_pump(m, i, in[i], out, iter % 2 ? 1 : BIG);
            evbuffer_drain(out, evbuffer_get_length(out));
        }
        for (int k = 0; st == MERGE_PAUSED && k < 100000; k++) {
            st = merge_pump(m, -1, NULL, out, iter % 2 ? 1 : BIG);
            evbuffer_drain(out, evbuffer_get_length(out));
        }
        ck_assert_int_ne(st, MERGE_PAUSED);
        merge_free(m);
        for (int i = 0; i < 3; i++) {
            evbuffer_free(pend[i]);
            evbuffer_free(in[i]);
        }
    }
    evbuffer_free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("merge");
    TCase *tc = tcase_create("merge");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_concat_seq_wraps);
    tcase_add_test(tc, test_order_ints_nulls);
    tcase_add_test(tc, test_order_strings);
    tcase_add_test(tc, test_order_decimal_negative);
    tcase_add_test(tc, test_order_negative_time);
    tcase_add_test(tc, test_hidden_sort_column);
    tcase_add_test(tc, test_limit_offset);
    tcase_add_test(tc, test_limit_concat_fast_path);
    tcase_add_test(tc, test_aggregates_no_group);
    tcase_add_test(tc, test_avg_scale_and_rounding);
    tcase_add_test(tc, test_sum_exact_and_double);
    tcase_add_test(tc, test_group_by_spread);
    tcase_add_test(tc, test_group_by_desc_order);
    tcase_add_test(tc, test_post_sort_aggregate_desc_limit);
    tcase_add_test(tc, test_post_sort_too_large);
    tcase_add_test(tc, test_distinct);
    tcase_add_test(tc, test_ok_summing);
    tcase_add_test(tc, test_error_before_rows);
    tcase_add_test(tc, test_error_after_rows);
    tcase_add_test(tc, test_shards_disagree);
    tcase_add_test(tc, test_binary_order_by);
    tcase_add_test(tc, test_binary_count_sum_avg);
    tcase_add_test(tc, test_backpressure_pauses);
    tcase_add_test(tc, test_huge_row);
    tcase_add_test(tc, test_malformed_is_broken);
    tcase_add_test(tc, test_lost_source);
    tcase_add_test(tc, test_bad_plan);
    tcase_add_test(tc, test_corrupt_input);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
