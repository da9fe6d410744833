/*
 * merge.c - the streaming merge of several shards' responses to one
 * statement (see merge.h for the contract). It owns the per-source readers,
 * the row pipeline and the client's sequence ids; the session owns the
 * connections and their buffers. What a packet means comes from the result
 * layer and proto: OK/ERR/EOF and column counts (proto/reply.h), column
 * definitions (result/column.h), row values (result/row.h), comparisons
 * (result/value.h, result/sort.h), aggregates (result/aggregate.h), the
 * in-memory sort (result/sort.h) and OK summing (result/oksum.h).
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
 *             greater row arrives; DISTINCT aggregates count a value when
 *             it differs from the one before, the merge keys ending with
 *             it) ─► HAVING (result/having.h: the group is dropped, or the
 *             statement fails when the proxy cannot decide) ─► distinct
 *             (drop a row equal to the previous) ─► out_row ─► in memory
 *             (post_sort) or emit_row
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
 * Comparisons (sort keys, group equality, MIN/MAX, DISTINCT) go by the
 * first shard's column definitions, with the rules of result/value.h;
 * aggregates combine as result/aggregate.h says; OKs sum as
 * result/oksum.h says.
 */
#include "session/merge.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "proto/reply.h"
#include "result/aggregate.h"
#include "result/column.h"
#include "result/having.h"
#include "result/oksum.h"
#include "result/row.h"
#include "result/sort.h"
#include "result/value.h"

#include "merge_internal.h"

/* route plans aggregates with the values result computes them by. */
_Static_assert((int)MAGG_COUNT == (int)AGG_COUNT &&
                   (int)MAGG_SUM == (int)AGG_SUM &&
                   (int)MAGG_MIN == (int)AGG_MIN &&
                   (int)MAGG_MAX == (int)AGG_MAX &&
                   (int)MAGG_AVG == (int)AGG_AVG &&
                   (int)MAGG_COUNT_DISTINCT == (int)AGG_COUNT_DISTINCT &&
                   (int)MAGG_SUM_DISTINCT == (int)AGG_SUM_DISTINCT &&
                   (int)MAGG_AVG_DISTINCT == (int)AGG_AVG_DISTINCT,
               "enum merge_agg and enum agg_kind differ");

/* ---- failure ----------------------------------------------------------- */

static void
drop_held(struct merge *m)
{
    for (int i = 0; i < m->n; i++)
        m->src[i].held = false;
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
    sort_clear(&m->sorted);
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

/* A backend ERR packet. */
static void
fail_with_err_packet(struct merge *m, const uint8_t *p, size_t len)
{
    struct reply_err e;

    (void)!reply_parse_err(p, len, &e); /* p[0] is 0xFF: never fails */
    merge_fail(m, e.code ? e.code : ER_UNKNOWN_ERROR, e.state,
               (const char *)e.msg, e.msg_len);
}

/* The statement fails because an aggregate could not be computed. */
static void
fail_agg(struct merge *m, enum agg_status st, uint32_t col)
{
    char msg[ERR_MSG_MAX];

    aggs_error(st, col, msg, sizeof(msg));
    merge_failf(m,
                st == AGG_UNCERTAIN ? ER_NOT_SUPPORTED_YET : ER_UNKNOWN_ERROR,
                "%s", msg);
}

/* ---- output ------------------------------------------------------------ */

static bool
out_full(struct evbuffer *out, size_t high)
{
    return evbuffer_get_length(out) > high;
}

static void
write_row(struct merge *m, struct evbuffer *out, const struct rowref *rr)
{
    if (rr->p != NULL && m->ms.nhidden == 0) {
        packet_write(out, &m->seq, rr->p, rr->len);
    } else if (rr->p != NULL && !m->shape.binary) {
        packet_write(out, &m->seq, rr->p, rr->vis_len);
    } else if (!row_encode(&m->shape, &m->pb, rr->v, m->visible) ||
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

    pktbuf_reset(&m->pb);
    pktbuf_put_lenenc(&m->pb, m->visible);
    packet_write(out, &m->seq, m->pb.buf, m->pb.len);
    for (uint32_t c = 0; c < m->visible; c++)
        packet_write(out, &m->seq, s0->cs.defs[c], s0->cs.def_len[c]);
    (void)proto_write_eof(out, &m->seq, 0,
                          s0->hdr_status & ~SERVER_MORE_RESULTS_EXISTS);
}

/* ---- rows --------------------------------------------------------------- */

/* Into the in-memory sort: the payload, encoded first when computed. */
static void
mem_add(struct merge *m, const struct rowref *rr)
{
    const uint8_t *p = rr->p;
    size_t len = rr->len;

    if (!sort_room(&m->sorted)) {
        merge_failf(m, ER_NOT_SUPPORTED_YET,
                    "myshard: result too large to sort in the proxy (more "
                    "than %zu rows); add a LIMIT or narrow the query",
                    m->max_rows);
        return;
    }
    if (p == NULL) { /* a computed row: encode every column */
        if (!row_encode(&m->shape, &m->pb, rr->v, m->ncols)) {
            merge_failf(m, ER_UNKNOWN_ERROR,
                        "myshard: a merged row could not be encoded");
            return;
        }
        p = m->pb.buf;
        len = m->pb.len;
    }
    if (sort_add(&m->sorted, p, len, m->otypes, m->scratch) != SORT_OK)
        merge_failf(m, ER_UNKNOWN_ERROR,
                    "myshard: a merged row could not be decoded");
}

static void
emit_sorted(struct merge *m, struct evbuffer *out, const struct sort_row *r)
{
    struct rowref rr = {.p = r->p, .len = r->len, .vis_len = r->vis_len};

    if (m->shape.binary && m->ms.nhidden > 0) {
        size_t vl;
        if (!row_parse(&m->shape, m->otypes, r->p, r->len, m->scratch, &vl)) {
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

/* ---- groups ------------------------------------------------------------- */

static void
group_start(struct merge *m, const struct rowref *rr)
{
    enum agg_status st;
    uint32_t col;

    row_copy_set(&m->grp_first, m->ncols, rr->p, rr->len, rr->v);
    m->grp_active = true;
    m->any_group = true;
    if ((st = aggs_start(&m->aggs, rr->v, &col)) != AGG_OK)
        fail_agg(m, st, col);
}

static void
group_finish(struct merge *m, struct evbuffer *out)
{
    struct rowref rr = {.v = m->fin};
    enum agg_status st;
    uint32_t col;

    m->grp_active = false;
    memcpy(m->fin, m->grp_first.v, sizeof(m->fin[0]) * m->ncols);
    if ((st = aggs_result(&m->aggs, m->fin, &col)) != AGG_OK) {
        fail_agg(m, st, col);
        return;
    }
    if (m->ms.having.n > 0) {
        char msg[ERR_MSG_MAX];
        enum having_result h =
            having_eval(&m->ms.having, m->ocols, m->ncols, m->shape.binary,
                        m->fin, msg, sizeof(msg));
        if (h == HAVING_ERROR) {
            merge_failf(m, ER_NOT_SUPPORTED_YET, "%s", msg);
            return;
        }
        if (h == HAVING_FALSE)
            return;
    }
    out_row(m, out, &rr);
}

/* ---- the pipeline ------------------------------------------------------- */

static void
row_in(struct merge *m, struct evbuffer *out, const struct rowref *rr)
{
    if (m->ms.grouped) {
        if (m->grp_active && sort_keys_cmp(&m->shape, m->gkeys, m->ngkeys,
                                           m->grp_first.v, rr->v) == 0) {
            enum agg_status st;
            uint32_t col;
            if ((st = aggs_add(&m->aggs, rr->v, &col)) != AGG_OK)
                fail_agg(m, st, col);
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
            same = value_cmp(&m->shape.cols[c], m->shape.binary, &m->prev.v[c],
                             &rr->v[c]) == 0;
        if (same)
            return;
        row_copy_set(&m->prev, m->ncols, rr->p, rr->len, rr->v);
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
                (m->nmkeys > 0 && sort_keys_cmp(&m->shape, m->mkeys, m->nmkeys,
                                                s->vals, best->vals) < 0))
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
    if (best->cap > ROW_SHRINK_AT) {
        free(best->buf);
        best->buf = NULL;
        best->cap = 0;
    }
    return true;
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
    struct reply_ok ok;
    uint64_t n;
    size_t rest;
    uint16_t status;

    if (len == 0)
        return false;
    if (p[0] == PKT_HDR_OK) {
        if (!reply_parse_ok(p, len, &ok))
            return false;
        status = ok.status;
        m->status = status & ~SERVER_MORE_RESULTS_EXISTS;
        if (!s->extra && !m->failed)
            oksum_add(&m->ok, &ok);
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
    if (!reply_parse_column_count(p, len, &n, &rest) || n > MERGE_MAX_COLUMNS ||
        rest != 0)
        return false;
    s->left = n;
    s->phase = SP_COLDEFS;
    if (s->extra)
        return true;
    s->kind = SK_RESULT;
    column_set_init(&s->cs, (uint32_t)n, idx == 0);
    s->vals = xcalloc(n, sizeof(s->vals[0]));
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
    struct reply_eof eof;

    switch (s->phase) {
    case SP_HEADER:
        return src_header(m, s, idx, p, len);
    case SP_COLDEFS:
        if (!s->extra && !column_set_add(&s->cs, p, len))
            return false;
        if (--s->left == 0)
            s->phase = SP_COLDEFS_EOF;
        return true;
    case SP_COLDEFS_EOF:
        if (!reply_parse_eof(p, len, &eof))
            return false;
        m->status = eof.status & ~SERVER_MORE_RESULTS_EXISTS;
        if (!s->extra) {
            s->hdr_status = eof.status;
            s->decided = true;
        }
        if (eof.status & SERVER_STATUS_CURSOR_EXISTS) {
            merge_failf(m, ER_NOT_SUPPORTED_YET,
                        "myshard: cursors cannot span shards");
            src_end(s);
            return true;
        }
        s->phase = SP_ROWS;
        return true;
    case SP_ROWS:
        if (reply_parse_eof(p, len, &eof)) {
            m->status = eof.status & ~SERVER_MORE_RESULTS_EXISTS;
            if (!s->extra) {
                s->end_status = eof.status;
                m->eof_warnings += eof.warnings;
            }
            if (eof.status & SERVER_MORE_RESULTS_EXISTS) {
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
        if (!row_parse(&m->shape, s->cs.types, p, len, s->vals, &s->vis_len))
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
                    packet_write_header(out, h.len, m->seq++);
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
        if (s->phase == SP_ROWS && h.len > 0 && !reply_is_eof(head[4], h.len) &&
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
            packet_write_header(out, h.len, m->seq++);
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
    char info[OKSUM_INFO_MAX + 64];

    m->progress = true;
    if (!m->seen_result) {
        oksum_info(&m->ok, info, sizeof(info));
        (void)proto_write_ok(
            out, &m->seq, m->ok.affected, m->ok.insert_id, m->ok.status,
            (uint16_t)MIN(m->ok.warnings, UINT16_MAX), info[0] ? info : NULL);
        m->status = m->ok.status;
        m->phase = MP_OK;
        return;
    }
    {
        char msg[ERR_MSG_MAX];
        uint16_t code;
        if (!merge_plan_setup(m, &code, msg, sizeof(msg))) {
            merge_failf(m, code, "%s", msg);
            return;
        }
    }
    write_header(m, out);
    m->phase = MP_ROWS;
}

/* Every source ended: the last group, the sorted rows, the final EOF.
 * False while the client's buffer is full. */
static bool
finish_rows(struct merge *m, struct evbuffer *out, size_t high)
{
    if (m->ms.grouped && !m->flushed_group) {
        if (out_full(out, high))
            return false;
        m->flushed_group = true;
        if (m->ms.ngroup == 0 && !m->any_group && !m->limit_done) {
            /* one group over no rows: COUNT 0, the rest NULL */
            struct rowref none = {.v = m->scratch};
            for (uint32_t c = 0; c < m->ncols; c++) {
                memset(&m->scratch[c], 0, sizeof(m->scratch[c]));
                m->scratch[c].type = m->shape.cols[c].type;
                m->scratch[c].is_null = true;
            }
            group_start(m, &none);
        }
        if (m->grp_active && !m->limit_done)
            group_finish(m, out);
        if (m->failed)
            return true;
    }
    if (m->in_memory) {
        const struct sort_row *r;
        sort_finish(&m->sorted);
        while ((r = sort_peek(&m->sorted)) != NULL && !m->limit_done &&
               !m->failed) {
            if (out_full(out, high))
                return false;
            emit_sorted(m, out, r);
            sort_pop(&m->sorted);
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
    m->shape.binary = binary_rows;
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
        column_set_free(&s->cs);
        free(s->vals);
        free(s->buf);
    }
    aggs_free(&m->aggs);
    sort_free(&m->sorted);
    row_copy_free(&m->grp_first);
    row_copy_free(&m->prev);
    free(m->mkeys);
    free(m->gkeys);
    free(m->otypes);
    free(m->scratch);
    free(m->fin);
    free(m->ocols);
    pktbuf_free(&m->pb);
    free(m);
}
