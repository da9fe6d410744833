/*
 * merge.c - the streaming merge of several shards' responses to one
 * statement (see merge.h for the contract). It owns the per-source readers,
 * the row pipeline and the client's sequence ids; the session owns the
 * connections and their buffers.
 *
 *   src[i].in ──► reader (framing) ──► control packets: header, coldefs,
 *        │                             EOF/OK/ERR (copied, parsed)
 *        │                      rows ─► PASS  (fast path: moved to out, only
 *        │                                     the header's seq rewritten)
 *        │                           ─► DROP  (OFFSET, after LIMIT, after an
 *        │                                     error, extra results)
 *        │                           ─► COPY  into src[i].buf: the one row
 *        v                                     held ahead ("held")
 *   merge_step: when every live source holds a row (or is finished), take
 *   the least by the merge keys (any held row when there are none)
 *        v
 *   row_in ─► group (equal group keys combine; a group is final once a
 *             greater row arrives) ─► distinct (drop a row equal to the
 *             previous) ─► out_row ─► in memory (post_sort) or emit_row
 *   emit_row ─► OFFSET skip, LIMIT stop ─► re-encode without the hidden
 *               columns (text rows: the visible prefix as-is) ─► out
 *
 * Nothing reaches the client before every source's header is known (column
 * count, definitions and EOF, or its OK/ERR): so an OK/result mix, a column
 * count mismatch or an early ERR answer the statement alone. Rows wait in
 * the sources' buffers meanwhile. A failure after rows went out is sent as
 * an ERR in place of the rest (after the row being passed through, if one
 * is); the final EOF is written only when every source has ended. The
 * sources' sequence ids are not checked (framing goes by length alone, as
 * in relay.c) and never reused: client packets are numbered from first_seq.
 *
 * Limits: an in-memory sort holds at most max_rows rows (with a LIMIT, only
 * offset + limit of them are kept, sorted and cut as they come); a packet
 * copied out of a source is at most 1 GiB; a result has at most 4096
 * columns.
 *
 * Comparison rules (sort keys, group equality, MIN/MAX, DISTINCT), by the
 * first shard's column definition:
 *  - integers (TINY..LONGLONG, INT24, YEAR; signed or UNSIGNED) and
 *    DECIMAL/NEWDECIMAL as exact decimal numbers (text: sign, integer
 *    digits without leading zeros, then fraction digits; binary ints by
 *    value);
 *  - FLOAT/DOUBLE as doubles;
 *  - DATE/DATETIME/TIMESTAMP by their text (it sorts) or binary fields;
 *    TIME as a signed interval, so negative times sort first;
 *  - strings of charset 63 (binary) bytewise; with BINARY_FLAG (a _bin
 *    collation) bytewise with PAD SPACE; otherwise ASCII case-insensitive
 *    (folded to upper case, as *_general_ci does) with PAD SPACE, equal
 *    when they fold equal. NO PAD collations (MySQL 8 ids 255..323,
 *    MariaDB ids 1024..2047) compare trailing spaces. Accents, non-ASCII
 *    case and UCA weights are not known to the proxy: shards using such a
 *    collation may order rows the proxy would order otherwise. ENUM and SET
 *    compare as their strings, not their ordinals;
 *  - NULL is less than every value: first in ASC, last in DESC.
 *
 * Aggregates: COUNT sums exactly; SUM sums DECIMAL and integer partials
 * exactly (decimal digits, up to 120 of them, 38 after the point) and
 * FLOAT/DOUBLE partials as doubles, NULL when every partial is NULL;
 * MIN/MAX by the rules above; AVG divides the summed SUM column by its
 * summed COUNT column, for decimals with the server's scale (the sum's
 * scale + 4, rounded half away from zero; the column definition's decimals
 * and type follow), for doubles as a double printed in the shortest form
 * that reads back the same. Non-aggregate columns of a group come from the
 * group's first row.
 *
 * OK summing: affected rows and warnings summed, last insert id the
 * largest of the shards' (0 when none generated one: ids from several
 * shards' auto-increments have no single "first"), status of the last OK
 * to arrive, and the info text kept when every shard's has the same words,
 * its numbers summed ("Rows matched: 5  Changed: 3  Warnings: 0").
 */
#include "session/merge.h"

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
#include "proto/wire.h"

#define MERGE_MAX_PACKET  ((size_t)1 << 30) /* max_allowed_packet ceiling */
#define MERGE_MAX_COLUMNS 4096              /* MySQL's own limit */
#define MERGE_SHRINK_AT   ((size_t)1 << 20) /* free row buffers above this */
#define MERGE_PRUNE_MIN   4096              /* in-memory rows before pruning */
#define DEC_MAX_DIGITS    120
#define DEC_MAX_SCALE     38
#define DEC_TEXT_MAX      (DEC_MAX_DIGITS + 4)
#define ERR_MSG_MAX       512
#define INFO_MAX          256
#define INFO_NUMS         8
#define EOF_MAX_LEN       9 /* EOF payloads are shorter than this */

/* ---- types ------------------------------------------------------------ */

/* An exact decimal: value = digits / 10^scale. */
struct dec {
    bool neg;
    uint8_t scale;             /* digits after the point */
    uint8_t n;                 /* significant digits in d */
    uint8_t d[DEC_MAX_DIGITS]; /* least significant first */
};

enum cmp_class {
    CC_STR = 0, /* strings, by charset and flags */
    CC_INT,     /* exact integers */
    CC_DEC,     /* exact decimals */
    CC_FLOAT,   /* doubles */
    CC_DATE,    /* DATE, DATETIME, TIMESTAMP */
    CC_TIME,    /* signed intervals */
};

/* A column as the merge needs it, from a ColumnDefinition41. */
struct mcol {
    uint8_t type;     /* MYSQL_TYPE_* */
    uint16_t flags;   /* column flags */
    uint16_t charset; /* collation id */
    uint32_t length;  /* display length */
    uint8_t decimals; /* digits after the point */
    uint8_t cls;      /* enum cmp_class */
    bool ci;          /* CC_STR: ASCII case folded */
    bool pad;         /* CC_STR: trailing spaces do not count */
    uint16_t tw;      /* binproto type word */
    size_t fixed_off; /* offset of the fixed fields in the packet */
};

enum src_phase {
    SP_HEADER = 0, /* first packet of a result: count, OK or ERR */
    SP_COLDEFS,
    SP_COLDEFS_EOF,
    SP_ROWS,
    SP_DONE, /* the response ended */
};

enum src_kind {
    SK_NONE = 0,
    SK_OK,
    SK_ERR,
    SK_RESULT,
};

/* What happens to the bytes of the packet being read. */
enum pk_mode {
    PK_NONE = 0, /* at a packet boundary */
    PK_COPY,     /* into buf */
    PK_DROP,     /* discarded */
    PK_PASS,     /* moved to the client */
};

struct msrc {
    struct evbuffer *in; /* the session's; NULL once the response ended */
    enum src_phase phase;
    enum src_kind kind; /* of its (first) answer */
    bool decided;       /* its header is complete */
    bool extra;         /* draining results after the first */
    bool lost;          /* merge_fail_source() */
    uint32_t ncols;     /* of its result set */
    uint64_t left;      /* definitions still to read */
    struct mcol *cols;  /* ncols, parsed from its definitions */
    uint16_t *types;    /* ncols binproto type words */
    uint8_t **defs;     /* source 0: the definition packets */
    uint32_t *def_len;  /* their lengths */
    enum pk_mode pk;    /* the packet being read */
    uint32_t pkt_left;  /* payload bytes of the physical packet left */
    bool pkt_more;      /* another physical packet continues it */
    uint8_t *buf;       /* copied logical packet / the held row */
    size_t len, cap;    /* bytes in buf, allocated */
    bool held;          /* buf holds a parsed row waiting for the merge */
    struct binproto_value *vals; /* ncols values of the held row */
    size_t vis_len;              /* text: bytes of its visible columns */
    uint16_t hdr_status;         /* status of the EOF after the definitions */
    uint16_t end_status;         /* status of the final EOF */
};

/* A row handed down the pipeline. */
struct rowref {
    const uint8_t *p;               /* payload, NULL for a computed row */
    size_t len;                     /* payload bytes */
    const struct binproto_value *v; /* ncols values */
    size_t vis_len;                 /* text with p: visible prefix bytes */
};

/* A row copied out of a source (a group's first row, DISTINCT's last). */
struct ownrow {
    uint8_t *p;
    size_t len, cap;
    struct binproto_value *v; /* ncols, pointing into p */
};

/* One column's running aggregate within the current group. */
struct acc {
    bool any;                   /* a non-NULL partial was seen */
    bool dbl;                   /* summed as double */
    double d;                   /* the double sum */
    struct dec x;               /* the exact sum */
    struct binproto_value best; /* MIN/MAX so far */
    uint8_t *bbuf;              /* owns best's string bytes */
    size_t bcap;
    char txt[DEC_TEXT_MAX + 32]; /* the final value as text */
};

/* A row kept for the in-memory sort: the full payload and the values the
 * sort and DISTINCT look at (positions by memidx). */
struct memrow {
    uint8_t *p;
    size_t len;
    size_t vis_len;
    struct binproto_value v[]; /* nmemcols */
};

/* A comparison key resolved against the result: col names the column (its
 * type), pos the value's index in the row's value array. */
struct rkey {
    uint16_t col;
    uint16_t pos;
    bool desc;
};

enum merge_phase {
    MP_HEADERS = 0, /* waiting for every source's header */
    MP_ROWS,        /* result header sent: rows flow */
    MP_OK,          /* summed OK sent */
    MP_DONE,
    MP_BROKEN,
};

struct merge {
    struct merge_spec ms; /* copied plan */
    int n;                /* sources */
    bool binary;          /* binary-protocol rows */
    enum merge_phase phase;
    uint8_t seq;     /* next client sequence id */
    size_t max_rows; /* in-memory bound */
    struct msrc src[ROUTE_MAX_SHARDS];

    /* The result's shape (from the first header; columns from source 0). */
    uint32_t ncols;            /* 0 until a result header arrived */
    uint32_t visible;          /* ncols - nhidden */
    const struct mcol *cols;   /* source 0's, at MP_ROWS */
    uint16_t *otypes;          /* output type words */
    uint8_t *colagg;           /* enum merge_agg per column */
    int32_t *avg_cnt;          /* MAGG_AVG: its count column */
    bool seen_ok, seen_result; /* answer kinds so far */

    /* The plan, resolved. */
    bool fast;      /* rows pass through unchanged */
    bool in_memory; /* rows collect for a sort at the end */
    struct rkey *mkeys, *gkeys, *pkeys;
    int nmkeys, ngkeys, npkeys;

    /* Flow. */
    int pass_src;         /* source whose row is being passed, -1 */
    bool progress;        /* something moved in this round */
    uint64_t offset_left; /* rows still to skip */
    uint64_t emitted;     /* rows counted against LIMIT */
    uint64_t rows_out;    /* rows written */
    bool limit_done;      /* LIMIT reached: the rest is dropped */

    /* Failure. */
    bool failed, err_sent;
    uint16_t err_code;
    char err_state[6];
    char err_msg[ERR_MSG_MAX];
    int broken_src;
    bool client_cut;

    /* Summed OK and final status. */
    uint64_t affected, insert_id;
    uint32_t ok_warnings, eof_warnings;
    uint16_t ok_status, status;
    char info_skel[INFO_MAX]; /* info with each number as '\1' */
    uint64_t info_nums[INFO_NUMS];
    int info_n;
    bool info_set, info_bad;

    /* Grouping. */
    bool grp_active;
    struct ownrow grp_first;
    struct acc *accs; /* ncols */
    bool flushed_group;

    /* Streaming DISTINCT. */
    bool have_prev;
    struct ownrow prev;

    /* In memory. */
    struct memrow **mem;
    size_t nmem, capmem, mem_next;
    bool mem_sorted;
    int32_t *memidx;   /* ncols: position in memrow.v, -1 */
    uint16_t *memcols; /* the columns kept */
    int nmemcols;
    uint64_t mem_keep; /* rows a LIMIT can ever send (offset + limit) */

    struct binproto_value *scratch, *fin; /* ncols each */
    struct pktbuf pb;                     /* output builder */
};

/* ---- exact decimals --------------------------------------------------- */

static void
dec_normalize(struct dec *x)
{
    while (x->n > 0 && x->d[x->n - 1] == 0)
        x->n--;
    if (x->n == 0)
        x->neg = false;
}

/* Parses [space][+-]digits[.digits][space]. False for anything else. */
static bool
dec_parse(const uint8_t *s, size_t len, struct dec *x)
{
    size_t i = 0, ip, il, fp = 0, fl = 0, k = 0;

    memset(x, 0, sizeof(*x));
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        x->neg = s[i++] == '-';
    while (i < len && s[i] == '0' && i + 1 < len && s[i + 1] >= '0' &&
           s[i + 1] <= '9')
        i++;
    ip = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    il = i - ip;
    if (i < len && s[i] == '.') {
        fp = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        fl = i - fp;
    }
    while (i < len && s[i] == ' ')
        i++;
    if (i != len || il + fl == 0 || fl > DEC_MAX_SCALE ||
        il + fl > DEC_MAX_DIGITS)
        return false;
    for (size_t j = fl; j > 0; j--)
        x->d[k++] = (uint8_t)(s[fp + j - 1] - '0');
    for (size_t j = il; j > 0; j--)
        x->d[k++] = (uint8_t)(s[ip + j - 1] - '0');
    x->n = (uint8_t)k;
    x->scale = (uint8_t)fl;
    dec_normalize(x);
    return true;
}

/* Multiplies the digits by 10^k, keeping the value (scale grows by k). */
static bool
dec_rescale(struct dec *x, unsigned scale)
{
    unsigned k = scale - x->scale;

    if (scale <= x->scale)
        return true;
    if (x->n + k > DEC_MAX_DIGITS)
        return false;
    memmove(x->d + k, x->d, x->n);
    memset(x->d, 0, k);
    if (x->n > 0)
        x->n = (uint8_t)(x->n + k);
    x->scale = (uint8_t)scale;
    return true;
}

static int
dec_cmp_mag(const struct dec *a, const struct dec *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--) {
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    }
    return 0;
}

/* acc += x, exactly. False on overflow (acc unchanged then). */
static bool
dec_add(struct dec *acc, const struct dec *x)
{
    struct dec a = *acc, b = *x, r;
    unsigned scale = MAX(a.scale, b.scale);
    int n;

    if (!dec_rescale(&a, scale) || !dec_rescale(&b, scale))
        return false;
    memset(&r, 0, sizeof(r));
    r.scale = (uint8_t)scale;
    n = MAX(a.n, b.n);
    if (a.neg == b.neg || a.n == 0 || b.n == 0) {
        int carry = 0;
        r.neg = a.n ? a.neg : b.neg;
        for (int i = 0; i < n; i++) {
            int s = (i < a.n ? a.d[i] : 0) + (i < b.n ? b.d[i] : 0) + carry;
            r.d[i] = (uint8_t)(s % 10);
            carry = s / 10;
        }
        if (carry) {
            if (n >= DEC_MAX_DIGITS)
                return false;
            r.d[n++] = (uint8_t)carry;
        }
    } else {
        const struct dec *big = dec_cmp_mag(&a, &b) >= 0 ? &a : &b;
        const struct dec *small = big == &a ? &b : &a;
        int borrow = 0;
        r.neg = big->neg;
        for (int i = 0; i < n; i++) {
            int s = big->d[i] - (i < small->n ? small->d[i] : 0) - borrow;
            borrow = s < 0;
            r.d[i] = (uint8_t)(s + (borrow ? 10 : 0));
        }
    }
    r.n = (uint8_t)n;
    dec_normalize(&r);
    *acc = r;
    return true;
}

/* Writes x with exactly its scale's fraction digits. */
static void
dec_format(const struct dec *x, char *out)
{
    char *o = out;

    if (x->neg)
        *o++ = '-';
    if (x->n <= x->scale)
        *o++ = '0';
    for (int i = x->n - 1; i >= (int)x->scale; i--)
        *o++ = (char)('0' + x->d[i]);
    if (x->scale > 0) {
        *o++ = '.';
        for (int i = x->scale - 1; i >= 0; i--)
            *o++ = (char)('0' + (i < x->n ? x->d[i] : 0));
    }
    *o = '\0';
}

/* q = x / cnt with `scale` fraction digits, rounded half away from zero. */
static bool
dec_div(const struct dec *x, uint64_t cnt, unsigned scale, struct dec *q)
{
    uint8_t num[DEC_MAX_DIGITS + DEC_MAX_SCALE + 8], le[sizeof(num) + 1];
    unsigned __int128 rem = 0;
    unsigned k, nn = 0, carry;

    if (scale < x->scale)
        scale = x->scale;
    k = scale - x->scale;
    if (cnt == 0 || x->n + k > sizeof(num))
        return false;
    for (int i = x->n - 1; i >= 0; i--) /* most significant first */
        num[nn++] = x->d[i];
    for (unsigned i = 0; i < k; i++)
        num[nn++] = 0;
    for (unsigned i = 0; i < nn; i++) {
        rem = rem * 10 + num[i];
        num[i] = (uint8_t)(rem / cnt);
        rem %= cnt;
    }
    carry = rem * 2 >= cnt;
    memset(q, 0, sizeof(*q));
    for (unsigned i = 0; i < nn; i++) /* least significant first */
        le[i] = num[nn - 1 - i];
    for (unsigned i = 0; carry && i < nn; i++) {
        le[i]++;
        carry = le[i] == 10;
        if (carry)
            le[i] = 0;
    }
    if (carry)
        le[nn++] = 1;
    while (nn > 0 && le[nn - 1] == 0)
        nn--;
    if (nn > DEC_MAX_DIGITS)
        return false;
    memcpy(q->d, le, nn);
    q->n = (uint8_t)nn;
    q->scale = (uint8_t)scale;
    q->neg = x->neg;
    dec_normalize(q);
    return true;
}

/* ---- values ------------------------------------------------------------ */

static bool
type_is_int(uint8_t t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT ||
           t == MYSQL_TYPE_LONG || t == MYSQL_TYPE_LONGLONG ||
           t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_YEAR;
}

static bool
type_is_float(uint8_t t)
{
    return t == MYSQL_TYPE_FLOAT || t == MYSQL_TYPE_DOUBLE;
}

/* Prints d in the shortest %g form that reads back as d, with MySQL's
 * exponent spelling (1e20, 1e-7). */
static void
fmt_double(double d, char *out, size_t cap)
{
    char tmp[64], *e;

    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    e = strchr(tmp, 'e');
    if (e != NULL) {
        char *src = e + 1, *dst = e + 1;
        if (*src == '+')
            src++;
        else if (*src == '-')
            *dst++ = *src++;
        while (*src == '0' && src[1] != '\0')
            src++;
        memmove(dst, src, strlen(src) + 1);
    }
    snprintf(out, cap, "%s", tmp);
}

static double
text_double(const uint8_t *s, size_t len)
{
    char tmp[128];

    len = MIN(len, sizeof(tmp) - 1);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return strtod(tmp, NULL);
}

/* A value as a double (SUM/AVG of FLOAT/DOUBLE, FLOAT comparisons). */
static double
value_double(const struct merge *m, const struct binproto_value *v)
{
    if (m->binary) {
        if (type_is_float(v->type))
            return v->f64;
        if (type_is_int(v->type))
            return v->is_unsigned ? (double)v->u64 : (double)v->i64;
    }
    return text_double(v->str, v->len);
}

/* A value as an exact decimal; false when it is not a number. */
static bool
value_dec(const struct merge *m, const struct binproto_value *v, struct dec *x)
{
    char tmp[32];
    int n;

    if (m->binary && type_is_int(v->type)) {
        if (v->is_unsigned)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v->u64);
        else
            n = snprintf(tmp, sizeof(tmp), "%" PRId64, v->i64);
        return dec_parse((const uint8_t *)tmp, (size_t)n, x);
    }
    if (m->binary && type_is_float(v->type)) {
        n = snprintf(tmp, sizeof(tmp), "%.6f", v->f64);
        return n > 0 && (size_t)n < sizeof(tmp) &&
               dec_parse((const uint8_t *)tmp, (size_t)n, x);
    }
    return dec_parse(v->str, v->len, x);
}

/* A decimal number's text as sign, integer digits and fraction digits,
 * without leading or trailing zeros; anything after the number is
 * ignored. */
struct decview {
    bool neg;
    const uint8_t *ip, *fp;
    size_t il, fl;
};

static void
decview_parse(const uint8_t *s, size_t len, struct decview *v)
{
    size_t i = 0;

    memset(v, 0, sizeof(*v));
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        v->neg = s[i++] == '-';
    while (i < len && s[i] == '0')
        i++;
    v->ip = s + i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    v->il = (size_t)(s + i - v->ip);
    v->fp = s + i;
    if (i < len && s[i] == '.') {
        v->fp = s + ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        v->fl = (size_t)(s + i - v->fp);
        while (v->fl > 0 && v->fp[v->fl - 1] == '0')
            v->fl--;
    }
    if (v->il == 0 && v->fl == 0)
        v->neg = false; /* -0.00 is 0 */
}

static int
decstr_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    struct decview x, y;
    int c;

    decview_parse(a, al, &x);
    decview_parse(b, bl, &y);
    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    if (x.il != y.il)
        c = x.il < y.il ? -1 : 1;
    else if ((c = memcmp(x.ip, y.ip, x.il)) == 0 &&
             (c = memcmp(x.fp, y.fp, MIN(x.fl, y.fl))) == 0)
        c = x.fl == y.fl ? 0 : x.fl < y.fl ? -1 : 1;
    c = c < 0 ? -1 : c > 0 ? 1 : 0;
    return x.neg ? -c : c;
}

/* TIME text "[-]H+:MM:SS[.ffffff]" as signed microseconds. */
static bool
time_parse(const uint8_t *s, size_t len, int64_t *us)
{
    int64_t part[3] = {0, 0, 0}, frac = 0;
    size_t i = 0;
    bool neg = false;
    int k = 0, fd = 0;

    if (i < len && s[i] == '-')
        neg = s[i++] == '-';
    for (; k < 3; k++) {
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 12)
            part[k] = part[k] * 10 + (s[i++] - '0');
        if (i == start)
            return false;
        if (k < 2 && (i >= len || s[i++] != ':'))
            return false;
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, fd++) {
            if (fd < 6)
                frac = frac * 10 + (s[i] - '0');
        }
        for (; fd < 6; fd++)
            frac *= 10;
    }
    if (i != len)
        return false;
    *us = ((part[0] * 60 + part[1]) * 60 + part[2]) * 1000000 + frac;
    if (neg)
        *us = -*us;
    return true;
}

static int64_t
bintime_us(const struct binproto_time *t)
{
    int64_t us = ((((int64_t)t->days * 24 + t->hour) * 60 + t->minute) * 60 +
                  t->second) *
                     1000000 +
                 t->microsecond;
    return t->negative ? -us : us;
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int
cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int
bindate_cmp(const struct binproto_time *a, const struct binproto_time *b)
{
    int c;

    if ((c = cmp_u64(a->year, b->year)) || (c = cmp_u64(a->month, b->month)) ||
        (c = cmp_u64(a->day, b->day)) || (c = cmp_u64(a->hour, b->hour)) ||
        (c = cmp_u64(a->minute, b->minute)) ||
        (c = cmp_u64(a->second, b->second)))
        return c;
    return cmp_u64(a->microsecond, b->microsecond);
}

static int
binint_cmp(const struct binproto_value *a, const struct binproto_value *b)
{
    if (a->is_unsigned && b->is_unsigned)
        return cmp_u64(a->u64, b->u64);
    if (!a->is_unsigned && !b->is_unsigned)
        return cmp_i64(a->i64, b->i64);
    if (!a->is_unsigned && a->i64 < 0)
        return -1;
    if (!b->is_unsigned && b->i64 < 0)
        return 1;
    return cmp_u64(a->u64, b->u64);
}

static uint8_t
fold(uint8_t c, bool ci)
{
    return ci && c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

static int
str_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, bool ci,
        bool pad)
{
    size_t n = MIN(al, bl);
    const uint8_t *rest;
    size_t rl;
    int sign;

    for (size_t i = 0; i < n; i++) {
        uint8_t x = fold(a[i], ci), y = fold(b[i], ci);
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (al == bl)
        return 0;
    if (!pad)
        return al < bl ? -1 : 1;
    /* PAD SPACE: the shorter string is as if padded with spaces. */
    rest = al > bl ? a + n : b + n;
    rl = (al > bl ? al : bl) - n;
    sign = al > bl ? 1 : -1;
    for (size_t i = 0; i < rl; i++) {
        if (rest[i] != ' ')
            return rest[i] < ' ' ? -sign : sign;
    }
    return 0;
}

/* Compares two values of column col (NULL least). */
static int
cell_cmp(const struct merge *m, uint16_t col, const struct binproto_value *a,
         const struct binproto_value *b)
{
    const struct mcol *c = &m->cols[col];
    double x, y;

    if (a->is_null || b->is_null)
        return a->is_null == b->is_null ? 0 : a->is_null ? -1 : 1;
    switch (c->cls) {
    case CC_INT:
        if (m->binary && type_is_int(a->type) && type_is_int(b->type))
            return binint_cmp(a, b);
        return decstr_cmp(a->str, a->len, b->str, b->len);
    case CC_DEC:
        return decstr_cmp(a->str, a->len, b->str, b->len);
    case CC_FLOAT:
        x = value_double(m, a);
        y = value_double(m, b);
        return x < y ? -1 : x > y ? 1 : 0;
    case CC_DATE:
        if (m->binary)
            return bindate_cmp(&a->tm, &b->tm);
        return str_cmp(a->str, a->len, b->str, b->len, false, false);
    case CC_TIME:
        if (m->binary)
            return cmp_i64(bintime_us(&a->tm), bintime_us(&b->tm));
        {
            int64_t p, q;
            if (time_parse(a->str, a->len, &p) &&
                time_parse(b->str, b->len, &q))
                return cmp_i64(p, q);
        }
        return str_cmp(a->str, a->len, b->str, b->len, false, false);
    default:
        return str_cmp(a->str, a->len, b->str, b->len, c->ci, c->pad);
    }
}

/* Compares rows a and b (value arrays) by keys. */
static int
keys_cmp(const struct merge *m, const struct rkey *k, int nk,
         const struct binproto_value *a, const struct binproto_value *b)
{
    for (int i = 0; i < nk; i++) {
        int c = cell_cmp(m, k[i].col, &a[k[i].pos], &b[k[i].pos]);
        if (c != 0)
            return k[i].desc ? -c : c;
    }
    return 0;
}

/* ---- column definitions ------------------------------------------------ */

static bool
charset_nopad(uint16_t cs)
{
    return (cs >= 255 && cs <= 323) || (cs >= 1024 && cs <= 2047);
}

static bool
coldef_parse(const uint8_t *p, size_t len, struct mcol *c)
{
    struct wire w;
    const uint8_t *s;
    size_t l;
    uint64_t flen;
    bool unsigned_int;

    memset(c, 0, sizeof(*c));
    wire_init(&w, p, len);
    for (int i = 0; i < 6; i++) { /* catalog .. org_name */
        if (!wire_lenenc_str(&w, &s, &l))
            return false;
    }
    if (!wire_lenenc(&w, &flen, NULL) || flen < 0x0c)
        return false;
    c->fixed_off = len - wire_left(&w);
    if (!wire_u16(&w, &c->charset) || !wire_u32(&w, &c->length) ||
        !wire_u8(&w, &c->type) || !wire_u16(&w, &c->flags) ||
        !wire_u8(&w, &c->decimals))
        return false;
    unsigned_int = (c->flags & UNSIGNED_FLAG) && type_is_int(c->type);
    c->tw = (uint16_t)(c->type | (unsigned_int ? BINPROTO_UNSIGNED : 0));
    if (type_is_int(c->type)) {
        c->cls = CC_INT;
    } else if (c->type == MYSQL_TYPE_DECIMAL ||
               c->type == MYSQL_TYPE_NEWDECIMAL) {
        c->cls = CC_DEC;
    } else if (type_is_float(c->type)) {
        c->cls = CC_FLOAT;
    } else if (c->type == MYSQL_TYPE_DATE || c->type == MYSQL_TYPE_DATETIME ||
               c->type == MYSQL_TYPE_TIMESTAMP ||
               c->type == MYSQL_TYPE_NEWDATE) {
        c->cls = CC_DATE;
    } else if (c->type == MYSQL_TYPE_TIME) {
        c->cls = CC_TIME;
    } else {
        bool bytes =
            c->charset == CHARSET_BINARY || c->type == MYSQL_TYPE_BIT ||
            c->type == MYSQL_TYPE_GEOMETRY || c->type == MYSQL_TYPE_JSON;
        c->cls = CC_STR;
        c->ci = !bytes && !(c->flags & BINARY_FLAG);
        c->pad = !bytes && !charset_nopad(c->charset);
    }
    return true;
}

/* ---- failure ----------------------------------------------------------- */

static void
drop_held(struct merge *m)
{
    for (int i = 0; i < m->n; i++)
        m->src[i].held = false;
}

static void
mem_clear(struct merge *m)
{
    for (size_t i = m->mem_next; i < m->nmem; i++)
        free(m->mem[i]);
    m->nmem = m->mem_next = 0;
}

/* The statement fails with this error unless it already failed. */
static void
merge_fail(struct merge *m, uint16_t code, const char *state, const char *msg,
           size_t msg_len)
{
    if (m->failed)
        return;
    m->failed = true;
    m->err_code = code;
    snprintf(m->err_state, sizeof(m->err_state), "%.5s",
             state ? state : "HY000");
    snprintf(m->err_msg, sizeof(m->err_msg), "%.*s",
             (int)MIN(msg_len, sizeof(m->err_msg) - 1), msg);
    m->grp_active = false;
    drop_held(m);
    mem_clear(m);
    m->progress = true;
}

static void PRINTF_FMT(3, 4)
    merge_failf(struct merge *m, uint16_t code, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    merge_fail(m, code, "HY000", msg,
               n < 0 ? 0 : MIN((size_t)n, sizeof(msg) - 1));
}

/* A backend ERR packet: 0xFF, code, '#', SQLSTATE, message. */
static void
fail_with_err_packet(struct merge *m, const uint8_t *p, size_t len)
{
    uint16_t code = len >= 3 ? (uint16_t)(p[1] | p[2] << 8) : 0;
    char state[6] = "HY000";
    size_t off = 3;

    if (len >= 9 && p[3] == '#') {
        memcpy(state, p + 4, 5);
        off = 9;
    }
    merge_fail(m, code ? code : ER_UNKNOWN_ERROR, state,
               len > off ? (const char *)p + off : "",
               len > off ? len - off : 0);
}

/* ---- output ------------------------------------------------------------ */

static bool
out_full(struct evbuffer *out, size_t high)
{
    return evbuffer_get_length(out) > high;
}

static void
pb_trim(struct merge *m)
{
    if (m->pb.cap > MERGE_SHRINK_AT) {
        pktbuf_free(&m->pb);
        pktbuf_init(&m->pb);
    }
    pktbuf_reset(&m->pb);
}

/* Appends a row of the first n columns of v (text or binary) to m->pb. */
static bool
encode_row(struct merge *m, const struct binproto_value *v, size_t n)
{
    pb_trim(m);
    if (m->binary)
        return binproto_write_row(&m->pb, v, n) && !m->pb.failed;
    for (size_t c = 0; c < n; c++) {
        if (v[c].is_null)
            pktbuf_put_u8(&m->pb, 0xfb);
        else
            pktbuf_put_lenenc_str(&m->pb, v[c].str, v[c].len);
    }
    return !m->pb.failed;
}

static void
write_row(struct merge *m, struct evbuffer *out, const struct rowref *rr)
{
    if (rr->p != NULL && m->ms.nhidden == 0) {
        packet_write(out, &m->seq, rr->p, rr->len);
    } else if (rr->p != NULL && !m->binary) {
        packet_write(out, &m->seq, rr->p, rr->vis_len);
    } else if (!encode_row(m, rr->v, m->visible) ||
               !pktbuf_send(&m->pb, out, &m->seq)) {
        merge_failf(m, ER_UNKNOWN_ERROR,
                    "myshard: a merged row could not be encoded");
        return;
    }
    m->rows_out++;
}

/* OFFSET, LIMIT, then the client. */
static void
emit_row(struct merge *m, struct evbuffer *out, const struct rowref *rr)
{
    if (m->limit_done)
        return;
    if (m->offset_left > 0) {
        m->offset_left--;
        return;
    }
    write_row(m, out, rr);
    m->emitted++;
    if (m->ms.has_limit && m->emitted >= m->ms.limit) {
        m->limit_done = true;
        m->grp_active = false;
        drop_held(m);
    }
}

static void
write_err(struct merge *m, struct evbuffer *out)
{
    (void)proto_write_err(out, &m->seq, m->err_code, m->err_state, "%s",
                          m->err_msg);
    m->err_sent = true;
    m->progress = true;
}

static void
write_header(struct merge *m, struct evbuffer *out)
{
    const struct msrc *s0 = &m->src[0];

    pb_trim(m);
    pktbuf_put_lenenc(&m->pb, m->visible);
    packet_write(out, &m->seq, m->pb.buf, m->pb.len);
    for (uint32_t c = 0; c < m->visible; c++)
        packet_write(out, &m->seq, s0->defs[c], s0->def_len[c]);
    (void)proto_write_eof(out, &m->seq, 0,
                          s0->hdr_status & ~SERVER_MORE_RESULTS_EXISTS);
}

/* ---- OK summing --------------------------------------------------------- */

/* Splits info into words and numbers; equal word skeletons sum. */
static void
info_add(struct merge *m, const uint8_t *s, size_t len)
{
    char skel[INFO_MAX];
    uint64_t nums[INFO_NUMS];
    size_t k = 0;
    int nn = 0;

    if (m->info_bad)
        return;
    for (size_t i = 0; i < len;) {
        if (s[i] >= '0' && s[i] <= '9') {
            uint64_t v = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                v = v * 10 + (uint64_t)(s[i++] - '0');
            if (nn == INFO_NUMS || k + 1 >= sizeof(skel))
                goto bad;
            nums[nn++] = v;
            skel[k++] = '\1';
        } else {
            if (k + 1 >= sizeof(skel) || s[i] == '\1')
                goto bad;
            skel[k++] = (char)s[i++];
        }
    }
    skel[k] = '\0';
    if (!m->info_set) {
        memcpy(m->info_skel, skel, k + 1);
        memcpy(m->info_nums, nums, sizeof(nums[0]) * (size_t)nn);
        m->info_n = nn;
        m->info_set = true;
        return;
    }
    if (nn != m->info_n || strcmp(skel, m->info_skel) != 0)
        goto bad;
    for (int i = 0; i < nn; i++)
        m->info_nums[i] += nums[i];
    return;
bad:
    m->info_bad = true;
}

static void
info_render(const struct merge *m, char *out, size_t cap)
{
    size_t k = 0;
    int ni = 0;

    out[0] = '\0';
    if (!m->info_set || m->info_bad)
        return;
    for (const char *p = m->info_skel; *p && k + 24 < cap; p++) {
        if (*p == '\1')
            k += (size_t)snprintf(out + k, cap - k, "%" PRIu64,
                                  m->info_nums[ni++]);
        else
            out[k++] = *p;
    }
    out[k] = '\0';
}

static bool
parse_ok(struct merge *m, const uint8_t *p, size_t len, uint16_t *status,
         bool record)
{
    struct wire w;
    uint8_t hdr;
    uint64_t affected, id;
    uint16_t warnings;
    const uint8_t *info;
    size_t info_len;

    wire_init(&w, p, len);
    if (!wire_u8(&w, &hdr) || !wire_lenenc(&w, &affected, NULL) ||
        !wire_lenenc(&w, &id, NULL) || !wire_u16(&w, status) ||
        !wire_u16(&w, &warnings))
        return false;
    wire_rest(&w, &info, &info_len);
    m->status = *status & ~SERVER_MORE_RESULTS_EXISTS;
    if (!record)
        return true;
    m->affected += affected;
    m->insert_id = MAX(m->insert_id, id);
    m->ok_warnings += warnings;
    m->ok_status = m->status;
    info_add(m, info, info_len);
    return true;
}

/* ---- rows --------------------------------------------------------------- */

static bool
parse_text_row(const struct merge *m, const uint8_t *p, size_t len,
               struct binproto_value *v, size_t *vis_len)
{
    struct wire w;

    wire_init(&w, p, len);
    *vis_len = len;
    for (uint32_t c = 0; c < m->ncols; c++) {
        if (c == m->visible)
            *vis_len = len - wire_left(&w);
        memset(&v[c], 0, sizeof(v[c]));
        v[c].type = m->cols[c].type;
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

static bool
parse_row(const struct merge *m, const uint8_t *p, size_t len,
          const uint16_t *types, struct binproto_value *v, size_t *vis_len)
{
    if (!m->binary)
        return parse_text_row(m, p, len, v, vis_len);
    *vis_len = 0;
    return binproto_parse_row(p, len, types, m->ncols, v);
}

/* Copies a row with its values, which then point into the copy. */
static void
own_set(const struct merge *m, struct ownrow *o, const struct rowref *rr)
{
    if (o->cap < rr->len || o->p == NULL || o->cap > MERGE_SHRINK_AT) {
        free(o->p);
        o->cap = MAX(rr->len, (size_t)64);
        o->p = xmalloc(o->cap);
    }
    if (o->v == NULL)
        o->v = xcalloc(m->ncols, sizeof(*o->v));
    memcpy(o->p, rr->p, rr->len);
    o->len = rr->len;
    for (uint32_t c = 0; c < m->ncols; c++) {
        o->v[c] = rr->v[c];
        if (rr->v[c].str != NULL && rr->v[c].str >= rr->p &&
            rr->v[c].str <= rr->p + rr->len)
            o->v[c].str = o->p + (rr->v[c].str - rr->p);
    }
}

static void
own_free(struct ownrow *o)
{
    free(o->p);
    free(o->v);
    memset(o, 0, sizeof(*o));
}

/* ---- in-memory sort ----------------------------------------------------- */

static int
memrow_cmp(const void *a, const void *b, void *arg)
{
    const struct merge *m = arg;
    const struct memrow *x = *(const struct memrow *const *)a;
    const struct memrow *y = *(const struct memrow *const *)b;

    return keys_cmp(m, m->pkeys, m->npkeys, x->v, y->v);
}

static bool
memrow_same(const struct merge *m, const struct memrow *x,
            const struct memrow *y)
{
    for (uint32_t c = 0; c < m->visible; c++) {
        int pos = m->memidx[c];
        if (cell_cmp(m, (uint16_t)c, &x->v[pos], &y->v[pos]) != 0)
            return false;
    }
    return true;
}

/* Sorts the kept rows, drops duplicates under DISTINCT, and keeps at most
 * keep rows. */
static void
mem_sort(struct merge *m, uint64_t keep)
{
    size_t k = 0;

    qsort_r(m->mem, m->nmem, sizeof(m->mem[0]), memrow_cmp, m);
    for (size_t i = 0; i < m->nmem; i++) {
        if ((m->ms.distinct && k > 0 &&
             memrow_same(m, m->mem[k - 1], m->mem[i])) ||
            k >= keep) {
            free(m->mem[i]);
            continue;
        }
        m->mem[k++] = m->mem[i];
    }
    m->nmem = k;
}

static void
mem_add(struct merge *m, const struct rowref *rr)
{
    struct memrow *r;
    const uint8_t *p = rr->p;
    size_t len = rr->len, vis_len;

    if (m->nmem >= m->max_rows && m->mem_keep < m->nmem)
        mem_sort(m, m->mem_keep);
    if (m->nmem >= m->max_rows) {
        merge_failf(m, ER_NOT_SUPPORTED_YET,
                    "myshard: result too large to sort in the proxy (more "
                    "than %zu rows); add a LIMIT or narrow the query",
                    m->max_rows);
        return;
    }
    if (p == NULL) { /* a computed row: encode every column */
        if (!encode_row(m, rr->v, m->ncols)) {
            merge_failf(m, ER_UNKNOWN_ERROR,
                        "myshard: a merged row could not be encoded");
            return;
        }
        p = m->pb.buf;
        len = m->pb.len;
    }
    r = xmalloc(sizeof(*r) + sizeof(r->v[0]) * (size_t)m->nmemcols + len);
    r->p = (uint8_t *)&r->v[m->nmemcols];
    r->len = len;
    memcpy(r->p, p, len);
    if (!parse_row(m, r->p, len, m->otypes, m->scratch, &vis_len)) {
        free(r);
        merge_failf(m, ER_UNKNOWN_ERROR,
                    "myshard: a merged row could not be decoded");
        return;
    }
    r->vis_len = vis_len;
    for (int i = 0; i < m->nmemcols; i++)
        r->v[i] = m->scratch[m->memcols[i]];
    if (m->nmem == m->capmem) {
        m->capmem = m->capmem ? m->capmem * 2 : 256;
        m->mem = xrealloc(m->mem, m->capmem * sizeof(m->mem[0]));
    }
    m->mem[m->nmem++] = r;
    /* A LIMIT bounds what can ever be sent: sort and cut now and then. */
    if (m->mem_keep < m->max_rows &&
        m->nmem >= MAX((size_t)MERGE_PRUNE_MIN, 2 * (size_t)m->mem_keep))
        mem_sort(m, m->mem_keep);
}

static void
emit_memrow(struct merge *m, struct evbuffer *out, const struct memrow *r)
{
    struct rowref rr = {.p = r->p, .len = r->len, .vis_len = r->vis_len};

    if (m->binary && m->ms.nhidden > 0) {
        size_t vl;
        if (!parse_row(m, r->p, r->len, m->otypes, m->scratch, &vl)) {
            merge_failf(m, ER_UNKNOWN_ERROR,
                        "myshard: a merged row could not be decoded");
            return;
        }
        rr.p = NULL;
        rr.v = m->scratch;
    }
    emit_row(m, out, &rr);
}

static void
out_row(struct merge *m, struct evbuffer *out, const struct rowref *rr)
{
    if (m->in_memory)
        mem_add(m, rr);
    else
        emit_row(m, out, rr);
}

/* ---- aggregates --------------------------------------------------------- */

static void
acc_reset(struct acc *a)
{
    a->any = false;
    a->d = 0;
    memset(&a->x, 0, sizeof(a->x));
    memset(&a->best, 0, sizeof(a->best));
}

static void
acc_keep_best(struct acc *a, const struct binproto_value *v)
{
    a->best = *v;
    if (v->str != NULL) {
        if (a->bcap < v->len || a->bbuf == NULL) {
            free(a->bbuf);
            a->bcap = MAX(v->len, (size_t)32);
            a->bbuf = xmalloc(a->bcap);
        }
        memcpy(a->bbuf, v->str, v->len);
        a->best.str = a->bbuf;
    }
}

static void
acc_add(struct merge *m, uint16_t c, const struct binproto_value *v)
{
    struct acc *a = &m->accs[c];
    struct dec x;
    int cmp;

    if (v->is_null)
        return;
    switch (m->colagg[c]) {
    case MAGG_COUNT:
    case MAGG_SUM:
    case MAGG_AVG:
        if (a->dbl) {
            a->d += value_double(m, v);
        } else if (!value_dec(m, v, &x)) {
            merge_failf(m, ER_UNKNOWN_ERROR,
                        "myshard: column %u of a shard's result is not a "
                        "number the merge can add",
                        (unsigned)c + 1);
            return;
        } else if (!dec_add(&a->x, &x)) {
            merge_failf(m, ER_UNKNOWN_ERROR,
                        "myshard: the merged sum of column %u overflows",
                        (unsigned)c + 1);
            return;
        }
        a->any = true;
        break;
    case MAGG_MIN:
    case MAGG_MAX:
        cmp = a->any ? cell_cmp(m, c, v, &a->best) : 0;
        if (!a->any || (m->colagg[c] == MAGG_MIN ? cmp < 0 : cmp > 0))
            acc_keep_best(a, v);
        a->any = true;
        break;
    default:
        break;
    }
}

/* Sets v to the number in a->txt (and d for doubles) as column c's output
 * type says. */
static void
set_number(const struct merge *m, uint16_t c, struct acc *a, double d,
           struct binproto_value *v)
{
    uint16_t tw = m->otypes[c];

    memset(v, 0, sizeof(*v));
    v->type = (uint8_t)(tw & 0xff);
    v->is_unsigned = (tw & BINPROTO_UNSIGNED) != 0;
    v->str = (const uint8_t *)a->txt;
    v->len = strlen(a->txt);
    if (!m->binary)
        return;
    if (type_is_int(v->type)) {
        v->i64 = strtoll(a->txt, NULL, 10);
        v->u64 = v->is_unsigned ? strtoull(a->txt, NULL, 10) : (uint64_t)v->i64;
        v->str = NULL;
        v->len = 0;
    } else if (type_is_float(v->type)) {
        v->f64 = d;
        v->str = NULL;
        v->len = 0;
    }
}

/* Column c's merged value for the group into v. */
static void
acc_result(struct merge *m, uint16_t c, struct binproto_value *v)
{
    struct acc *a = &m->accs[c];
    struct dec q;
    double d = 0;

    switch (m->colagg[c]) {
    case MAGG_COUNT:
        if (a->dbl) {
            d = a->d;
            fmt_double(d, a->txt, sizeof(a->txt));
        } else {
            dec_format(&a->x, a->txt);
        }
        set_number(m, c, a, d, v);
        return;
    case MAGG_SUM:
        if (!a->any)
            break;
        if (a->dbl) {
            d = a->d;
            fmt_double(d, a->txt, sizeof(a->txt));
        } else {
            dec_format(&a->x, a->txt);
        }
        set_number(m, c, a, d, v);
        return;
    case MAGG_AVG: {
        const struct acc *n = &m->accs[m->avg_cnt[c]];
        struct dec cnt = n->x;
        uint64_t count = 0;
        char ct[DEC_TEXT_MAX];

        if (n->dbl) {
            count = n->d > 0 ? (uint64_t)n->d : 0;
        } else {
            cnt.neg = false;
            (void)dec_rescale(&cnt, 0);
            dec_format(&cnt, ct);
            count = strtoull(ct, NULL, 10);
        }
        if (!a->any || count == 0)
            break;
        if (a->dbl) {
            d = a->d / (double)count;
            fmt_double(d, a->txt, sizeof(a->txt));
        } else {
            unsigned scale = MIN(m->cols[c].decimals + 4u, DEC_MAX_SCALE);
            if (!dec_div(&a->x, count, scale, &q)) {
                merge_failf(m, ER_UNKNOWN_ERROR,
                            "myshard: the merged average of column %u "
                            "overflows",
                            (unsigned)c + 1);
                return;
            }
            dec_format(&q, a->txt);
        }
        set_number(m, c, a, d, v);
        return;
    }
    case MAGG_MIN:
    case MAGG_MAX:
        if (!a->any)
            break;
        *v = a->best;
        return;
    default:
        return;
    }
    memset(v, 0, sizeof(*v));
    v->type = (uint8_t)(m->otypes[c] & 0xff);
    v->is_null = true;
}

static void
group_start(struct merge *m, const struct rowref *rr)
{
    own_set(m, &m->grp_first, rr);
    m->grp_active = true;
    for (uint32_t c = 0; c < m->ncols; c++) {
        if (m->colagg[c] == MAGG_NONE)
            continue;
        acc_reset(&m->accs[c]);
        acc_add(m, (uint16_t)c, &rr->v[c]);
    }
}

static void
group_finish(struct merge *m, struct evbuffer *out)
{
    struct rowref rr = {.v = m->fin};

    m->grp_active = false;
    memcpy(m->fin, m->grp_first.v, sizeof(m->fin[0]) * m->ncols);
    for (uint32_t c = 0; c < m->ncols && !m->failed; c++) {
        if (m->colagg[c] != MAGG_NONE)
            acc_result(m, (uint16_t)c, &m->fin[c]);
    }
    if (!m->failed)
        out_row(m, out, &rr);
}

/* ---- the pipeline ------------------------------------------------------- */

static void
row_in(struct merge *m, struct evbuffer *out, const struct rowref *rr)
{
    if (m->ms.grouped) {
        if (m->grp_active &&
            keys_cmp(m, m->gkeys, m->ngkeys, m->grp_first.v, rr->v) == 0) {
            for (uint32_t c = 0; c < m->ncols && !m->failed; c++) {
                if (m->colagg[c] != MAGG_NONE)
                    acc_add(m, (uint16_t)c, &rr->v[c]);
            }
            return;
        }
        if (m->grp_active)
            group_finish(m, out);
        if (!m->failed && !m->limit_done)
            group_start(m, rr);
        return;
    }
    if (m->ms.distinct && !m->in_memory) {
        bool same = m->have_prev;
        for (uint32_t c = 0; same && c < m->visible; c++)
            same = cell_cmp(m, (uint16_t)c, &m->prev.v[c], &rr->v[c]) == 0;
        if (same)
            return;
        own_set(m, &m->prev, rr);
        m->have_prev = true;
    }
    out_row(m, out, rr);
}

/* A source that may still produce rows for the merge. */
static bool
src_live(const struct msrc *s)
{
    return s->phase == SP_ROWS && !s->extra && !s->lost;
}

/* Takes the next row (the least by the merge keys once every live source
 * holds one) down the pipeline. False when none can be taken now. */
static bool
merge_step(struct merge *m, struct evbuffer *out, size_t high)
{
    struct msrc *best = NULL;
    struct rowref rr;

    if (m->limit_done || m->failed || out_full(out, high))
        return false;
    for (int i = 0; i < m->n; i++) {
        struct msrc *s = &m->src[i];
        if (s->held) {
            if (best == NULL ||
                (m->nmkeys > 0 &&
                 keys_cmp(m, m->mkeys, m->nmkeys, s->vals, best->vals) < 0))
                best = s;
        } else if (m->nmkeys > 0 && src_live(s)) {
            return false; /* its next row may come first */
        }
    }
    if (best == NULL)
        return false;
    rr.p = best->buf;
    rr.len = best->len;
    rr.v = best->vals;
    rr.vis_len = best->vis_len;
    row_in(m, out, &rr);
    best->held = false;
    if (best->cap > MERGE_SHRINK_AT) {
        free(best->buf);
        best->buf = NULL;
        best->cap = 0;
    }
    return true;
}

/* ---- the plan, resolved ------------------------------------------------- */

static int
resolve(const struct merge *m, int16_t col)
{
    int c = col >= 0 ? col : (int)m->ncols + col;

    return c >= 0 && c < (int)m->ncols ? c : -1;
}

static bool
key_has(const struct rkey *k, int n, int col)
{
    for (int i = 0; i < n; i++) {
        if (k[i].col == col)
            return true;
    }
    return false;
}

static bool
resolve_keys(const struct merge *m, const struct merge_key *in, int n,
             struct rkey *out, int *nout)
{
    for (int i = 0; i < n; i++) {
        int c = resolve(m, in[i].col);
        if (c < 0)
            return false;
        out[*nout].col = out[*nout].pos = (uint16_t)c;
        out[*nout].desc = in[i].desc;
        (*nout)++;
    }
    return true;
}

/* Appends the visible columns not yet keys, ascending. */
static void
add_visible_keys(const struct merge *m, struct rkey *k, int *n)
{
    for (uint32_t c = 0; c < m->visible; c++) {
        if (!key_has(k, *n, (int)c)) {
            k[*n].col = k[*n].pos = (uint16_t)c;
            k[*n].desc = false;
            (*n)++;
        }
    }
}

/* Checks the plan against the result's columns and prepares the merge.
 * False (and the statement failed) when they do not fit. */
static bool
plan_setup(struct merge *m)
{
    const struct merge_spec *ms = &m->ms;
    const struct msrc *s0 = &m->src[0];
    size_t nk = (size_t)MERGE_MAX_KEYS + m->ncols;
    const char *why = NULL;

    m->cols = s0->cols;
    if (ms->nhidden >= m->ncols) {
        why = "hidden columns";
        goto bad;
    }
    m->visible = m->ncols - ms->nhidden;
    if (m->binary) {
        for (int i = 1; i < m->n; i++) {
            if (memcmp(m->src[i].types, s0->types,
                       sizeof(s0->types[0]) * m->ncols) != 0) {
                merge_failf(m, ER_UNKNOWN_ERROR,
                            "myshard: shards returned different column "
                            "types; the result cannot be merged");
                return false;
            }
        }
    }
    m->in_memory = ms->npost_sort > 0 || (ms->distinct && ms->grouped);
    m->fast = !ms->grouped && ms->nsort == 0 && !ms->distinct &&
              ms->npost_sort == 0 && ms->nhidden == 0;
    m->mkeys = xcalloc(nk, sizeof(struct rkey));
    m->gkeys = xcalloc(nk, sizeof(struct rkey));
    m->pkeys = xcalloc(nk, sizeof(struct rkey));
    m->colagg = xcalloc(m->ncols, sizeof(m->colagg[0]));
    m->avg_cnt = xcalloc(m->ncols, sizeof(m->avg_cnt[0]));
    m->otypes = xcalloc(m->ncols, sizeof(m->otypes[0]));
    m->scratch = xcalloc(m->ncols, sizeof(m->scratch[0]));
    m->fin = xcalloc(m->ncols, sizeof(m->fin[0]));
    m->accs = xcalloc(m->ncols, sizeof(m->accs[0]));
    for (uint32_t c = 0; c < m->ncols; c++)
        m->otypes[c] = s0->types[c];

    if (ms->grouped) {
        if (!resolve_keys(m, ms->group, ms->ngroup, m->gkeys, &m->ngkeys)) {
            why = "group keys";
            goto bad;
        }
        if (ms->ngroup > 0 && ms->nsort > 0) {
            if (!resolve_keys(m, ms->sort, ms->nsort, m->mkeys, &m->nmkeys)) {
                why = "sort keys";
                goto bad;
            }
            for (int i = 0; i < m->ngkeys; i++) {
                if (!key_has(m->mkeys, m->nmkeys, m->gkeys[i].col)) {
                    why = "sort keys not covering the group keys";
                    goto bad;
                }
            }
        } else if (ms->ngroup > 0) {
            memcpy(m->mkeys, m->gkeys, sizeof(struct rkey) * m->ngkeys);
            m->nmkeys = m->ngkeys;
        }
        for (int i = 0; i < ms->naggs && i < MERGE_MAX_AGGS; i++) {
            const struct merge_aggcol *a = &ms->aggs[i];
            int c = resolve(m, a->col), c2;
            if (c < 0 || a->agg == MAGG_NONE || a->agg > MAGG_AVG) {
                why = "aggregate columns";
                goto bad;
            }
            m->colagg[c] = a->agg;
            if (a->agg != MAGG_AVG)
                continue;
            c2 = resolve(m, a->col2);
            if (c2 < 0 || c2 == c) {
                why = "AVG count column";
                goto bad;
            }
            m->avg_cnt[c] = c2;
        }
        for (uint32_t c = 0; c < m->ncols; c++) {
            if (m->colagg[c] == MAGG_AVG &&
                m->colagg[m->avg_cnt[c]] == MAGG_NONE)
                m->colagg[m->avg_cnt[c]] = MAGG_COUNT;
        }
        for (uint32_t c = 0; c < m->ncols; c++) {
            uint8_t agg = m->colagg[c];
            m->accs[c].dbl = (agg == MAGG_SUM || agg == MAGG_AVG) &&
                             m->cols[c].cls == CC_FLOAT;
            if (agg == MAGG_COUNT)
                m->accs[c].dbl = m->cols[c].cls == CC_FLOAT;
            /* AVG of exact numbers is a DECIMAL with 4 more digits. */
            if (agg == MAGG_AVG &&
                (m->cols[c].cls == CC_INT || m->cols[c].cls == CC_DEC)) {
                uint8_t *d = s0->defs[c] + m->cols[c].fixed_off;
                uint32_t len = m->cols[c].length + 4;
                d[2] = (uint8_t)len;
                d[3] = (uint8_t)(len >> 8);
                d[4] = (uint8_t)(len >> 16);
                d[5] = (uint8_t)(len >> 24);
                d[6] = MYSQL_TYPE_NEWDECIMAL;
                d[7] = (uint8_t)(m->cols[c].flags & ~UNSIGNED_FLAG);
                d[9] = (uint8_t)MIN(m->cols[c].decimals + 4u, DEC_MAX_SCALE);
                m->otypes[c] = MYSQL_TYPE_NEWDECIMAL;
            }
        }
    } else {
        if (!resolve_keys(m, ms->sort, ms->nsort, m->mkeys, &m->nmkeys)) {
            why = "sort keys";
            goto bad;
        }
        if (ms->distinct && !m->in_memory)
            add_visible_keys(m, m->mkeys, &m->nmkeys);
    }

    if (m->in_memory) {
        int np = 0;
        if (!resolve_keys(m, ms->post_sort, ms->npost_sort, m->pkeys, &np)) {
            why = "post-sort keys";
            goto bad;
        }
        m->npkeys = np;
        if (ms->distinct)
            add_visible_keys(m, m->pkeys, &m->npkeys);
        m->memidx = xcalloc(m->ncols, sizeof(m->memidx[0]));
        m->memcols = xcalloc(m->ncols, sizeof(m->memcols[0]));
        for (uint32_t c = 0; c < m->ncols; c++)
            m->memidx[c] = -1;
        for (int i = 0; i < m->npkeys; i++) {
            uint16_t c = m->pkeys[i].col;
            if (m->memidx[c] < 0) {
                m->memidx[c] = m->nmemcols;
                m->memcols[m->nmemcols++] = c;
            }
            m->pkeys[i].pos = (uint16_t)m->memidx[c];
        }
        m->mem_keep = UINT64_MAX;
        if (ms->has_limit && ms->limit <= UINT64_MAX - ms->offset)
            m->mem_keep = ms->offset + ms->limit;
    }
    m->offset_left = ms->has_limit ? ms->offset : 0;
    if (ms->has_limit && ms->limit == 0)
        m->limit_done = true;
    return true;
bad:
    merge_failf(m, ER_UNKNOWN_ERROR,
                "myshard: the merge plan does not fit the shards' result "
                "(%s, %u columns)",
                why, (unsigned)m->ncols);
    return false;
}

/* ---- the sources -------------------------------------------------------- */

static void
note_kind(struct merge *m, enum src_kind k)
{
    if (k == SK_OK)
        m->seen_ok = true;
    if (k == SK_RESULT)
        m->seen_result = true;
    if (m->seen_ok && m->seen_result)
        merge_failf(m, ER_UNKNOWN_ERROR,
                    "myshard: shards answered differently (rows from some, "
                    "OK from others); the statement cannot be merged");
}

static void
src_end(struct msrc *s)
{
    s->phase = SP_DONE;
    s->in = NULL; /* the connection may be reused: never read it again */
}

static bool
src_header(struct merge *m, struct msrc *s, int idx, const uint8_t *p,
           size_t len)
{
    struct wire w;
    uint64_t n;
    uint16_t status;

    if (len == 0)
        return false;
    if (p[0] == PKT_HDR_OK) {
        if (!parse_ok(m, p, len, &status, !s->extra && !m->failed))
            return false;
        if (!s->extra) {
            s->kind = SK_OK;
            s->decided = true;
            note_kind(m, SK_OK);
        }
        if (status & SERVER_MORE_RESULTS_EXISTS) {
            merge_failf(m, ER_NOT_SUPPORTED_YET,
                        "myshard: statements returning several results "
                        "cannot span shards");
            s->extra = true;
        } else {
            src_end(s);
        }
        return true;
    }
    if (p[0] == PKT_HDR_ERR) {
        if (!s->extra) {
            s->kind = SK_ERR;
            s->decided = true;
        }
        fail_with_err_packet(m, p, len);
        src_end(s);
        return true;
    }
    if (p[0] == PKT_HDR_LOCAL_INFILE)
        return false; /* never negotiated */
    wire_init(&w, p, len);
    if (!wire_lenenc(&w, &n, NULL) || n == 0 || n > MERGE_MAX_COLUMNS ||
        wire_left(&w) != 0)
        return false;
    s->left = n;
    s->phase = SP_COLDEFS;
    if (s->extra)
        return true;
    s->kind = SK_RESULT;
    s->ncols = (uint32_t)n;
    s->cols = xcalloc(n, sizeof(s->cols[0]));
    s->types = xcalloc(n, sizeof(s->types[0]));
    s->vals = xcalloc(n, sizeof(s->vals[0]));
    if (idx == 0) {
        s->defs = xcalloc(n, sizeof(s->defs[0]));
        s->def_len = xcalloc(n, sizeof(s->def_len[0]));
    }
    note_kind(m, SK_RESULT);
    if (m->ncols == 0)
        m->ncols = (uint32_t)n;
    else if (m->ncols != n)
        merge_failf(m, ER_UNKNOWN_ERROR,
                    "myshard: shards returned different column counts (%u "
                    "and %u); the result cannot be merged",
                    (unsigned)m->ncols, (unsigned)n);
    return true;
}

/* Handles a complete control packet or row copied into s->buf. */
static bool
src_packet(struct merge *m, struct msrc *s, int idx)
{
    const uint8_t *p = s->buf;
    size_t len = s->len;
    uint16_t status;

    switch (s->phase) {
    case SP_HEADER:
        return src_header(m, s, idx, p, len);
    case SP_COLDEFS:
        if (!s->extra) {
            uint32_t c = s->ncols - (uint32_t)s->left;
            if (!coldef_parse(p, len, &s->cols[c]))
                return false;
            s->types[c] = s->cols[c].tw;
            if (s->defs != NULL) {
                s->defs[c] = xmalloc(len ? len : 1);
                memcpy(s->defs[c], p, len);
                s->def_len[c] = (uint32_t)len;
            }
        }
        if (--s->left == 0)
            s->phase = SP_COLDEFS_EOF;
        return true;
    case SP_COLDEFS_EOF:
        if (len == 0 || p[0] != PKT_HDR_EOF || len >= EOF_MAX_LEN)
            return false;
        status = len >= 5 ? (uint16_t)(p[3] | p[4] << 8) : 0;
        m->status = status & ~SERVER_MORE_RESULTS_EXISTS;
        if (!s->extra) {
            s->hdr_status = status;
            s->decided = true;
        }
        if (status & SERVER_STATUS_CURSOR_EXISTS) {
            merge_failf(m, ER_NOT_SUPPORTED_YET,
                        "myshard: cursors cannot span shards");
            src_end(s);
            return true;
        }
        s->phase = SP_ROWS;
        return true;
    case SP_ROWS:
        if (len > 0 && p[0] == PKT_HDR_EOF && len < EOF_MAX_LEN) {
            status = len >= 5 ? (uint16_t)(p[3] | p[4] << 8) : 0;
            m->status = status & ~SERVER_MORE_RESULTS_EXISTS;
            if (!s->extra) {
                s->end_status = status;
                m->eof_warnings += len >= 3 ? (uint16_t)(p[1] | p[2] << 8) : 0;
            }
            if (status & SERVER_MORE_RESULTS_EXISTS) {
                merge_failf(m, ER_NOT_SUPPORTED_YET,
                            "myshard: statements returning several results "
                            "cannot span shards");
                s->extra = true;
                s->phase = SP_HEADER;
            } else {
                src_end(s);
            }
            return true;
        }
        if (len > 0 && p[0] == PKT_HDR_ERR) {
            fail_with_err_packet(m, p, len);
            src_end(s);
            return true;
        }
        if (s->extra || m->failed || m->limit_done)
            return true; /* decided to keep it before that changed */
        if (len == 0 || m->phase != MP_ROWS)
            return false; /* an empty row: none has zero columns */
        if (!parse_row(m, p, len, s->types, s->vals, &s->vis_len))
            return false;
        s->held = true;
        return true;
    default:
        return false;
    }
}

static bool
buf_reserve(struct msrc *s, size_t n)
{
    if (n > MERGE_MAX_PACKET - s->len)
        return false;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n)
            cap *= 2;
        s->buf = xrealloc(s->buf, cap);
        s->cap = cap;
    }
    return true;
}

static void
write_pkt_header(struct evbuffer *out, uint32_t len, uint8_t seq)
{
    uint8_t h[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                    seq};

    evbuffer_add(out, h, sizeof(h));
}

/* Chooses what to do with a row packet starting now. */
static enum pk_mode
row_mode(struct merge *m, int idx, struct evbuffer *out, size_t high)
{
    const struct msrc *s = &m->src[idx];

    if (s->extra || m->failed || m->limit_done)
        return PK_DROP;
    if (m->phase != MP_ROWS)
        return PK_NONE; /* rows wait for every header */
    if (!m->fast)
        return s->held ? PK_NONE : PK_COPY;
    if (m->pass_src >= 0 || out_full(out, high))
        return PK_NONE;
    if (m->offset_left > 0) {
        m->offset_left--;
        return PK_DROP;
    }
    m->emitted++;
    if (m->ms.has_limit && m->emitted >= m->ms.limit)
        m->limit_done = true; /* this one still goes */
    return PK_PASS;
}

/* Reads source idx as far as it can go now. False when it is malformed. */
static bool
src_advance(struct merge *m, int idx, struct evbuffer *out, size_t high)
{
    struct msrc *s = &m->src[idx];

    for (;;) {
        struct packet_hdr h;
        size_t avail;
        uint8_t head[5];
        enum pk_mode mode;

        if (s->in == NULL)
            return true;
        avail = evbuffer_get_length(s->in);
        if (s->pk != PK_NONE) {
            if (s->pkt_left > 0) {
                size_t n = MIN(avail, (size_t)s->pkt_left);
                if (n == 0 || (s->pk == PK_PASS && out_full(out, high)))
                    return true;
                if (s->pk == PK_COPY) {
                    if (!buf_reserve(s, n))
                        return false;
                    evbuffer_remove(s->in, s->buf + s->len, n);
                    s->len += n;
                } else if (s->pk == PK_DROP) {
                    evbuffer_drain(s->in, n);
                } else {
                    evbuffer_remove_buffer(s->in, out, n);
                }
                s->pkt_left -= (uint32_t)n;
                m->progress = true;
                continue;
            }
            if (s->pkt_more) { /* the next physical packet continues it */
                if (packet_peek(s->in, &h) == PKT_AGAIN ||
                    (s->pk == PK_PASS && out_full(out, high)))
                    return true;
                evbuffer_drain(s->in, 4);
                s->pkt_left = h.len;
                s->pkt_more = h.len == PACKET_MAX_PAYLOAD;
                if (s->pk == PK_PASS)
                    write_pkt_header(out, h.len, m->seq++);
                m->progress = true;
                continue;
            }
            mode = s->pk;
            s->pk = PK_NONE;
            if (mode == PK_PASS) {
                m->pass_src = -1;
                m->rows_out++;
            } else if (mode == PK_COPY && !src_packet(m, s, idx)) {
                return false;
            }
            m->progress = true;
            continue;
        }
        if (s->phase == SP_DONE || s->held)
            return true;
        if (packet_peek(s->in, &h) == PKT_AGAIN)
            return true;
        if (h.len > 0 && avail < 5)
            return true;
        evbuffer_copyout(s->in, head, 5);
        if (s->phase == SP_ROWS && h.len > 0 &&
            !(head[4] == PKT_HDR_EOF && h.len < EOF_MAX_LEN) &&
            head[4] != PKT_HDR_ERR) {
            mode = row_mode(m, idx, out, high);
            if (mode == PK_NONE)
                return true;
        } else {
            mode = PK_COPY;
        }
        evbuffer_drain(s->in, 4);
        s->pk = mode;
        s->pkt_left = h.len;
        s->pkt_more = h.len == PACKET_MAX_PAYLOAD;
        if (mode == PK_COPY)
            s->len = 0;
        if (mode == PK_PASS) {
            m->pass_src = idx;
            write_pkt_header(out, h.len, m->seq++);
        }
        m->progress = true;
    }
}

/* ---- the whole ---------------------------------------------------------- */

static bool
all_decided(const struct merge *m)
{
    for (int i = 0; i < m->n; i++) {
        if (!m->src[i].decided)
            return false;
    }
    return true;
}

static bool
all_ended(const struct merge *m)
{
    for (int i = 0; i < m->n; i++) {
        if (m->src[i].phase != SP_DONE || m->src[i].pk != PK_NONE)
            return false;
    }
    return true;
}

/* Every header is known and nothing failed: answer OK or start rows. */
static void
decide(struct merge *m, struct evbuffer *out)
{
    char info[INFO_MAX + 64];

    m->progress = true;
    if (!m->seen_result) {
        info_render(m, info, sizeof(info));
        (void)proto_write_ok(
            out, &m->seq, m->affected, m->insert_id, m->ok_status,
            (uint16_t)MIN(m->ok_warnings, UINT16_MAX), info[0] ? info : NULL);
        m->status = m->ok_status;
        m->phase = MP_OK;
        return;
    }
    if (!plan_setup(m))
        return;
    write_header(m, out);
    m->phase = MP_ROWS;
}

/* Every source ended: the last group, the sorted rows, the final EOF.
 * False while the client's buffer is full. */
static bool
finish_rows(struct merge *m, struct evbuffer *out, size_t high)
{
    if (m->ms.grouped && !m->flushed_group) {
        m->flushed_group = true;
        if (m->grp_active && !m->limit_done)
            group_finish(m, out);
        if (m->failed)
            return true;
    }
    if (m->in_memory) {
        if (!m->mem_sorted) {
            mem_sort(m, m->mem_keep);
            m->mem_sorted = true;
        }
        while (m->mem_next < m->nmem && !m->limit_done && !m->failed) {
            struct memrow *r = m->mem[m->mem_next];
            if (out_full(out, high))
                return false;
            emit_memrow(m, out, r);
            free(r);
            m->mem[m->mem_next++] = NULL;
        }
        if (m->failed)
            return true;
    }
    m->status = m->src[0].end_status & ~SERVER_MORE_RESULTS_EXISTS;
    (void)proto_write_eof(
        out, &m->seq, (uint16_t)MIN(m->eof_warnings, UINT16_MAX), m->status);
    m->phase = MP_DONE;
    return true;
}

static enum merge_status
merge_break(struct merge *m, int idx, struct evbuffer *out)
{
    m->phase = MP_BROKEN;
    m->broken_src = idx;
    if (m->pass_src >= 0) {
        m->client_cut = true;
    } else if (!m->err_sent) {
        (void)proto_write_err(out, &m->seq, ER_UNKNOWN_ERROR, "HY000",
                              "myshard: shard %d sent a malformed response",
                              idx);
        m->err_sent = true;
    }
    return MERGE_BROKEN;
}

static enum merge_status
merge_run(struct merge *m, struct evbuffer *out, size_t high)
{
    for (;;) {
        m->progress = false;
        for (int i = 0; i < m->n; i++) {
            if (!src_advance(m, i, out, high))
                return merge_break(m, i, out);
        }
        if (m->phase == MP_HEADERS && !m->failed && all_decided(m))
            decide(m, out);
        if (m->failed && !m->err_sent && m->pass_src < 0)
            write_err(m, out);
        if (m->phase == MP_ROWS && !m->fast) {
            while (merge_step(m, out, high))
                m->progress = true;
            if (m->limit_done || m->failed)
                drop_held(m);
        }
        if (all_ended(m) && (m->err_sent || m->phase == MP_OK)) {
            m->phase = MP_DONE;
            return MERGE_DONE;
        }
        if (all_ended(m) && m->phase == MP_ROWS && !m->failed) {
            if (!finish_rows(m, out, high))
                return MERGE_PAUSED;
            if (m->phase == MP_DONE)
                return MERGE_DONE;
            continue; /* failed while finishing: send the ERR */
        }
        if (!m->progress)
            break;
    }
    return out_full(out, high) ? MERGE_PAUSED : MERGE_MORE;
}

/* ---- API ---------------------------------------------------------------- */

struct merge *
merge_new(const struct merge_spec *ms, int nsources, bool binary_rows,
          uint8_t first_seq)
{
    struct merge *m;

    if (nsources < 1 || nsources > ROUTE_MAX_SHARDS || ms == NULL)
        return NULL;
    m = xcalloc(1, sizeof(*m));
    m->ms = *ms;
    m->ms.nsort = MIN(m->ms.nsort, MERGE_MAX_KEYS);
    m->ms.ngroup = MIN(m->ms.ngroup, MERGE_MAX_KEYS);
    m->ms.npost_sort = MIN(m->ms.npost_sort, MERGE_MAX_KEYS);
    m->ms.naggs = MIN(m->ms.naggs, MERGE_MAX_AGGS);
    m->n = nsources;
    m->binary = binary_rows;
    m->seq = first_seq;
    m->max_rows = MERGE_DEFAULT_MAX_ROWS;
    m->pass_src = -1;
    m->broken_src = -1;
    pktbuf_init(&m->pb);
    return m;
}

void
merge_set_max_rows(struct merge *m, size_t max_rows)
{
    m->max_rows = max_rows;
}

enum merge_status
merge_pump(struct merge *m, int i, struct evbuffer *in, struct evbuffer *out,
           size_t high)
{
    if (m->phase == MP_DONE)
        return MERGE_DONE;
    if (m->phase == MP_BROKEN)
        return MERGE_BROKEN;
    if (i >= 0 && i < m->n && m->src[i].phase != SP_DONE && !m->src[i].lost)
        m->src[i].in = in;
    return merge_run(m, out, high);
}

enum merge_status
merge_fail_source(struct merge *m, int i, struct evbuffer *out, size_t high,
                  uint16_t code, const char *msg)
{
    struct msrc *s;

    if (m->phase == MP_DONE)
        return MERGE_DONE;
    if (m->phase == MP_BROKEN)
        return MERGE_BROKEN;
    if (i < 0 || i >= m->n)
        return merge_run(m, out, high);
    s = &m->src[i];
    if (s->phase == SP_DONE && s->pk == PK_NONE)
        return merge_run(m, out, high);
    if (s->pk == PK_PASS) { /* half a row went to the client */
        m->phase = MP_BROKEN;
        m->client_cut = true;
        return MERGE_BROKEN;
    }
    s->lost = true;
    s->decided = true;
    s->held = false;
    s->pk = PK_NONE;
    src_end(s);
    merge_fail(m, code, "HY000", msg, strlen(msg));
    return merge_run(m, out, high);
}

bool
merge_source_done(const struct merge *m, int i)
{
    const struct msrc *s = &m->src[i];

    return i >= 0 && i < m->n && s->phase == SP_DONE && s->pk == PK_NONE &&
           !s->lost;
}

int
merge_broken_source(const struct merge *m)
{
    return m->broken_src;
}

bool
merge_client_intact(const struct merge *m)
{
    return !m->client_cut;
}

uint16_t
merge_status_flags(const struct merge *m)
{
    return m->status;
}

const char *
merge_error(const struct merge *m, uint16_t *code)
{
    if (!m->failed)
        return NULL;
    if (code != NULL)
        *code = m->err_code;
    return m->err_msg;
}

uint64_t
merge_rows(const struct merge *m)
{
    return m->rows_out;
}

uint8_t
merge_next_seq(const struct merge *m)
{
    return m->seq;
}

void
merge_free(struct merge *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->n; i++) {
        struct msrc *s = &m->src[i];
        if (s->defs != NULL) {
            for (uint32_t c = 0; c < s->ncols; c++)
                free(s->defs[c]);
        }
        free(s->defs);
        free(s->def_len);
        free(s->cols);
        free(s->types);
        free(s->vals);
        free(s->buf);
    }
    if (m->accs != NULL) {
        for (uint32_t c = 0; c < m->ncols; c++)
            free(m->accs[c].bbuf);
    }
    mem_clear(m);
    free(m->mem);
    own_free(&m->grp_first);
    own_free(&m->prev);
    free(m->accs);
    free(m->mkeys);
    free(m->gkeys);
    free(m->pkeys);
    free(m->colagg);
    free(m->avg_cnt);
    free(m->otypes);
    free(m->scratch);
    free(m->fin);
    free(m->memidx);
    free(m->memcols);
    pktbuf_free(&m->pb);
    free(m);
}
