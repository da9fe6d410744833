/*
 * relay.c - response framing without decoding: see relay.h.
 *
 * Which packet ends a response:
 *   RESULT   OK | ERR | count, defs, EOF, rows.., EOF   (SERVER_MORE_RESULTS_
 *            EXISTS on the final OK/EOF: another result follows)
 *   PREPARE  ERR | PREPARE_OK, params.., [EOF], cols.., [EOF]
 *   FIELDS   defs.., EOF | ERR
 *   SIMPLE   one packet
 * An EOF is 0xFE with a payload under 9 bytes; a row may begin with 0xFE
 * only as the prefix of a >= 16 MB length, so the size tells them apart.
 *
 * What the control packets say is read by proto's readers (proto/reply.h,
 * binproto_parse_prepare_ok) from a copy of at most CONTROL_COPY bytes
 * taken in place (a larger one from the evbuffer's contiguous front), and
 * rows and column definitions are not looked into. A run of whole rows is
 * found by walking the headers in place (evbuffer_peek): per row the relay
 * reads four header bytes and one type byte, and calls nothing. Nothing is
 * moved per packet: what is passed on moves in one evbuffer_remove_buffer
 * when the pump returns, whole chains when the answer arrived whole.
 */
#include "session/relay.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/reply.h"
#include "result/oksum.h"
#include "base/util.h"

void
relay_start(struct relay *r, enum relay_kind kind)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->phase = RL_FIRST;
}

/* An OK flagged SERVER_SESSION_STATE_CHANGED: the backend connection
 * tracks last_gtid, so the state names the GTID the statement's write
 * committed as. Only such OKs are read this far. */
static void
note_state(struct relay *r, const uint8_t *p, size_t len)
{
    struct reply_ok ok;
    const uint8_t *state, *v;
    size_t slen, vlen;
    struct gtid g;

    if (!reply_parse_ok_state(p, len, &ok, &state, &slen))
        return;
    r->untrack = true;
    if (reply_state_sysvar(state, slen, "last_gtid", &v, &vlen) &&
        gtid_parse((const char *)v, vlen, &g)) {
        r->gtid = g;
        r->got_gtid = true;
    }
}

/* Records an OK's counts and status (a malformed one changes nothing). */
static void
note_ok(struct relay *r, const uint8_t *p, size_t len)
{
    struct reply_ok ok;

    if (reply_parse_ok(p, len, &ok)) {
        r->status = ok.status;
        r->affected = ok.affected;
        r->insert_id = ok.insert_id;
        r->warnings = ok.warnings;
        if (ok.info_len <= sizeof(r->info)) {
            if (ok.info_len > 0) /* no info: ok.info may be NULL */
                memcpy(r->info, ok.info, ok.info_len);
            r->info_len = (uint8_t)ok.info_len;
        } else {
            r->info_len = RELAY_INFO_LONG;
        }
        r->got_ok = true;
        if (unlikely(ok.status & SERVER_SESSION_STATE_CHANGED)) {
            r->status &= (uint16_t)~SERVER_SESSION_STATE_CHANGED;
            note_state(r, p, len);
        }
    }
}

/* Records an EOF's status (0xFE and under 9 bytes: the caller checked). */
static void
note_eof(struct relay *r, const uint8_t *p, size_t len)
{
    struct reply_eof eof;

    if (reply_parse_eof(p, len, &eof) && len >= 5) {
        r->status = eof.status;
        r->warnings = eof.warnings;
    }
}

/* Records an ERR's code and message (the caller checked p[0] == 0xFF). */
static void
note_err(struct relay *r, const uint8_t *p, size_t len)
{
    struct reply_err err;

    (void)!reply_parse_err(p, len, &err);
    r->got_err = true;
    r->err_code = err.code;
    snprintf(r->err_msg, sizeof(r->err_msg), "%.*s", (int)err.msg_len,
             (const char *)err.msg);
}

/* After a result's final OK/EOF: another result, or done. */
static void
end_result(struct relay *r)
{
    r->phase = (r->status & SERVER_MORE_RESULTS_EXISTS) ? RL_FIRST : RL_DONE;
}

/* Handles a whole small packet (header + payload buffered). */
static enum relay_status
on_control(struct relay *r, const uint8_t *p, size_t len)
{
    uint8_t b = len ? p[0] : 0;

    if (b == PKT_HDR_ERR && r->phase != RL_COLDEFS &&
        r->phase != RL_PREP_PARAMS && r->phase != RL_PREP_COLS) {
        note_err(r, p, len);
        r->phase = RL_DONE;
        return RELAY_DONE;
    }
    switch (r->phase) {
    case RL_FIRST:
        if (r->kind == RELAY_SIMPLE) {
            if (b == PKT_HDR_OK)
                note_ok(r, p, len);
            else if (b == PKT_HDR_EOF)
                note_eof(r, p, len);
            r->phase = RL_DONE;
            break;
        }
        if (r->kind == RELAY_PREPARE) {
            struct binproto_prepare_ok pok;
            if (!binproto_parse_prepare_ok(p, len, &pok))
                return RELAY_BROKEN;
            r->prep_stmt_id = pok.stmt_id;
            r->prep_cols = pok.num_columns;
            r->prep_params = pok.num_params;
            r->left = r->prep_params;
            r->phase = r->prep_params ? RL_PREP_PARAMS
                       : r->prep_cols ? RL_PREP_COLS
                                      : RL_DONE;
            if (r->phase == RL_PREP_COLS)
                r->left = r->prep_cols;
            break;
        }
        if (r->kind == RELAY_FIELDS) {
            if (reply_is_eof(b, len)) {
                note_eof(r, p, len);
                r->phase = RL_DONE;
            }
            break; /* a definition or row: the caller passes it on */
        }
        if (b == PKT_HDR_OK) {
            r->got_err = false;
            r->rowset = false;
            note_ok(r, p, len);
            end_result(r);
        } else {
            uint64_t n;
            size_t rest;
            if (!reply_parse_column_count(p, len, &n, &rest))
                return RELAY_BROKEN;
            r->got_err = false;
            r->rowset = true;
            r->left = n;
            r->phase = RL_COLDEFS;
        }
        break;
    case RL_COLDEFS_EOF:
        if (b != PKT_HDR_EOF)
            return RELAY_BROKEN;
        note_eof(r, p, len);
        /* A cursor was opened: rows come later through COM_STMT_FETCH.
         * Not inside a CALL (more results follow): a procedure's own
         * cursor (DECLARE ... CURSOR, OPEN) sets the flag on the result
         * sets it sends, whose rows follow at once. */
        r->phase = (r->status & SERVER_STATUS_CURSOR_EXISTS) &&
                           !(r->status & SERVER_MORE_RESULTS_EXISTS)
                       ? RL_DONE
                       : RL_ROWS;
        break;
    case RL_ROWS:
        note_eof(r, p, len);
        end_result(r);
        break;
    case RL_PREP_PARAMS_EOF:
        r->left = r->prep_cols;
        r->phase = r->prep_cols ? RL_PREP_COLS : RL_DONE;
        break;
    case RL_PREP_COLS_EOF:
        r->phase = RL_DONE;
        break;
    default:
        return RELAY_BROKEN;
    }
    return r->phase == RL_DONE ? RELAY_DONE : RELAY_MORE;
}

/* Is this packet one we must see whole? */
static bool
is_control(const struct relay *r, uint8_t first, uint32_t len)
{
    switch (r->phase) {
    case RL_FIRST:
        return r->kind != RELAY_FIELDS
                   ? true
                   : reply_is_eof(first, len) || first == PKT_HDR_ERR;
    case RL_ROWS:
        return reply_is_eof(first, len) || first == PKT_HDR_ERR;
    case RL_COLDEFS_EOF:
    case RL_PREP_PARAMS_EOF:
    case RL_PREP_COLS_EOF:
        return true;
    default:
        return false;
    }
}

/*
 * The bytes of in, read in place at offsets. The bytes passed on are not
 * moved one packet at a time: they pile up at in's front (done) and move
 * in one evbuffer_remove_buffer when the pump returns, or before a step
 * that needs in's front itself. A small answer thus moves as whole chains.
 */
struct cursor {
    struct evbuffer *in, *out;
    struct evbuffer_iovec v[8];
    int n;         /* vectors filled */
    size_t len;    /* bytes they cover */
    int i;         /* vector holding the last offset read */
    size_t base;   /* offset of v[i]'s first byte */
    size_t avail;  /* bytes in in */
    size_t outlen; /* bytes in out, before the pending ones */
    size_t done;   /* bytes at in's front passed on (or dropped), not moved */
};

/* Reads in's layout (again: after anything changed it). */
static void
cur_peek(struct cursor *c)
{
    int n = evbuffer_peek(c->in, -1, NULL, c->v, 8);

    c->n = MIN(n, 8);
    c->len = 0;
    for (int i = 0; i < c->n; i++)
        c->len += c->v[i].iov_len;
    c->avail = evbuffer_get_length(c->in);
    c->len = MIN(c->len, c->avail);
    c->i = 0;
    c->base = 0;
    c->outlen = c->out ? evbuffer_get_length(c->out) : 0;
}

/* Moves the pending bytes (in's layout must be read again after). */
static void
cur_flush(struct cursor *c)
{
    if (c->done == 0)
        return;
    if (c->out)
        evbuffer_remove_buffer(c->in, c->out, c->done);
    else
        evbuffer_drain(c->in, c->done);
    c->done = 0;
}

/* Passes n bytes on (or drops them when swallowing): see struct cursor. */
static void
pass(struct relay *r, struct cursor *c, size_t n)
{
    c->done += n;
    if (c->out)
        r->started = true;
    r->bytes += n;
}

/* Copies len bytes at offset off (offsets only grow between peeks);
 * false past the covered bytes. */
static bool
peek_at(struct cursor *pb, size_t off, uint8_t *dst, size_t len)
{
    size_t base, got = 0;
    int i;

    if (off + len > pb->len)
        return false;
    while (off >= pb->base + pb->v[pb->i].iov_len) {
        pb->base += pb->v[pb->i].iov_len;
        pb->i++;
    }
    for (i = pb->i, base = pb->base; got < len; base += pb->v[i].iov_len, i++) {
        size_t o = off + got - base;
        size_t take = MIN(len - got, pb->v[i].iov_len - o);
        memcpy(dst + got, (const uint8_t *)pb->v[i].iov_base + o, take);
        got += take;
    }
    return true;
}

/* Copies the n bytes after the pending ones; false until they arrived. */
static bool
cur_read(struct cursor *c, size_t n, uint8_t *dst)
{
    if (c->done + n > c->avail)
        return false;
    if (c->done + n > c->len) { /* past the vectors read: move, look again */
        cur_flush(c);
        cur_peek(c);
        if (n > c->len) {
            evbuffer_copyout(c->in, dst, n);
            return true;
        }
    }
    return peek_at(c, c->done, dst, n);
}

/* Passes the OK of note_state() on without its session state: the client
 * never negotiated CLIENT_SESSION_TRACK. p is a copy, or in's front. */
static void
pass_untracked(struct relay *r, struct cursor *c, const uint8_t *p, size_t len)
{
    uint8_t small[512],
        *buf = len + 4 <= sizeof(small) ? small : xmalloc(len + 4);
    size_t n = reply_ok_untrack(p + 4, len, buf + 4);

    r->untrack = false;
    if (c->out == NULL || n == 0) {
        pass(r, c, 4 + len);
    } else {
        buf[0] = (uint8_t)n;
        buf[1] = (uint8_t)(n >> 8);
        buf[2] = (uint8_t)(n >> 16);
        buf[3] = p[3]; /* the sequence id stays */
        cur_flush(c);  /* what came before goes first */
        evbuffer_add(c->out, buf, 4 + n);
        evbuffer_drain(c->in, 4 + len);
        cur_peek(c);
        r->started = true;
        r->bytes += 4 + n;
    }
    if (buf != small)
        free(buf);
}

/* The rows' end: at most an EOF with its status or a short ERR, copied to
 * be read, so that it moves with the rows before it. */
#define ROWS_END_MAX 128
/* Control packets up to this size are read from a copy, in place. */
#define CONTROL_COPY 512

/* The five bytes of a packet's header and first payload byte at off: in
 * place when one vector holds them (the common case), else copied into
 * copy; NULL past the covered bytes. */
static inline const uint8_t *
peek_ptr(struct cursor *pb, size_t off, uint8_t copy[5])
{
    if (off + 5 > pb->len)
        return NULL;
    while (off >= pb->base + pb->v[pb->i].iov_len) {
        pb->base += pb->v[pb->i].iov_len;
        pb->i++;
    }
    if (off + 5 <= pb->base + pb->v[pb->i].iov_len)
        return (const uint8_t *)pb->v[pb->i].iov_base + (off - pb->base);
    return peek_at(pb, off, copy, 5) ? copy : NULL;
}

/*
 * The length of the run of rows after the pending bytes, up to the first
 * EOF, ERR, continued (>= 16 MB) row or a row whose first five bytes have
 * not arrived, or past room bytes (the client's high-water mark, checked
 * per row as the packet-by-packet way does). Counts them in r->rows.
 *
 * The run ends where the bytes that arrived end whenever it can, so that
 * evbuffer_remove_buffer moves whole chains and copies nothing: a row cut
 * by the end is part of it (*fwd: its bytes still to come, passed on as
 * they arrive), and so is a small EOF or ERR that ends the rows (copied
 * into end, its length with the header in *end_len, for the caller to
 * read before it moves).
 */
static size_t
scan_rows(struct relay *r, struct cursor *c, size_t room, uint32_t *fwd,
          uint8_t end[ROWS_END_MAX], size_t *end_len)
{
    size_t start = c->done, off = start;
    size_t limit = room > SIZE_MAX - start ? SIZE_MAX : start + room;
    size_t rows = 0;
    /* The vector holding off, kept in locals: most rows need no call. */
    const uint8_t *vp = NULL;
    size_t vlo = 0, vhi = 0;

    for (;;) {
        uint8_t copy[5];
        const uint8_t *h;
        uint32_t len;

        if (off > limit)
            break;
        if (off >= vlo && off + 5 <= vhi) {
            h = vp + (off - vlo);
        } else {
            h = peek_ptr(c, off, copy);
            if (h == NULL)
                break;
            vp = c->v[c->i].iov_base;
            vlo = c->base;
            vhi = c->base + c->v[c->i].iov_len;
        }
        len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
        if (len == 0 || len >= PACKET_MAX_PAYLOAD)
            break;
        if (reply_is_eof(h[4], len) || h[4] == PKT_HDR_ERR) {
            if (4 + (size_t)len <= ROWS_END_MAX &&
                peek_at(c, off, end, 4 + (size_t)len))
                *end_len = 4 + (size_t)len;
            break;
        }
        rows++;
        if (off + 4 + len > c->len) {
            r->rows += rows;
            *fwd = (uint32_t)(off + 4 + len - c->len);
            return c->len - start;
        }
        off += 4 + (size_t)len;
    }
    r->rows += rows;
    return off - start;
}

static enum relay_status
pump(struct relay *r, struct cursor *c, size_t high)
{
    for (;;) {
        size_t avail = c->avail - c->done;
        uint8_t head[5];
        uint32_t len;

        if (r->phase == RL_DONE)
            return RELAY_DONE;
        if (c->out && c->outlen + c->done > high)
            return RELAY_PAUSED;
        if (r->fwd_left > 0) {
            size_t n = MIN((size_t)r->fwd_left, avail);
            if (n == 0)
                return RELAY_MORE;
            pass(r, c, n);
            r->fwd_left -= (uint32_t)n;
            continue;
        }
        if (r->phase == RL_ROWS && !r->in_cont) {
            size_t room = c->out ? high - (c->outlen + c->done) : SIZE_MAX;
            uint8_t end[ROWS_END_MAX];
            size_t end_len = 0;
            uint32_t fwd = 0;
            size_t run = scan_rows(r, c, room, &fwd, end, &end_len);
            if (end_len > 0) {
                if (on_control(r, end + 4, end_len - 4) == RELAY_BROKEN)
                    return RELAY_BROKEN;
                if (unlikely(r->untrack)) {
                    pass(r, c, run);
                    pass_untracked(r, c, end, end_len - 4);
                } else {
                    pass(r, c, run + end_len);
                }
                continue;
            }
            if (run > 0) {
                pass(r, c, run);
                r->fwd_left = fwd;
                continue;
            }
        }
        if (avail < 4 || !cur_read(c, avail >= 5 ? 5 : 4, head))
            return RELAY_MORE;
        avail = c->avail - c->done; /* cur_read may have moved what was done */
        len = (uint32_t)head[0] | (uint32_t)head[1] << 8 |
              (uint32_t)head[2] << 16;
        if (r->in_cont) { /* a continuation: payload only, no meaning */
            r->in_cont = len == PACKET_MAX_PAYLOAD;
            pass(r, c, MIN(avail, 4 + (size_t)len));
            if (avail < 4 + (size_t)len)
                r->fwd_left = (uint32_t)(4 + len - avail);
            continue;
        }
        if (len > 0 && avail < 5)
            return RELAY_MORE;
        if (len > 0 && len < PACKET_MAX_PAYLOAD &&
            is_control(r, head[4], len)) {
            uint8_t small[CONTROL_COPY];
            const uint8_t *p;
            enum relay_status st;
            size_t plen = 4 + (size_t)len;
            if (avail < plen)
                return RELAY_MORE;
            if (plen <= sizeof(small) && cur_read(c, plen, small)) {
                p = small;
            } else { /* a large one: read at in's front */
                cur_flush(c);
                p = evbuffer_pullup(c->in, (ev_ssize_t)plen);
                cur_peek(c);
            }
            st = on_control(r, p + 4, len);
            if (st == RELAY_BROKEN)
                return st;
            if (unlikely(r->untrack))
                pass_untracked(r, c, p, len);
            else
                pass(r, c, plen);
            if (r->kind == RELAY_FIELDS) {
                if (r->phase != RL_DONE)
                    r->rows++;
            }
            continue;
        }
        /* A column definition or a row: pass it through. */
        switch (r->phase) {
        case RL_COLDEFS:
        case RL_PREP_PARAMS:
        case RL_PREP_COLS:
            if (r->left == 0)
                return RELAY_BROKEN;
            if (--r->left == 0)
                r->phase = r->phase == RL_COLDEFS       ? RL_COLDEFS_EOF
                           : r->phase == RL_PREP_PARAMS ? RL_PREP_PARAMS_EOF
                                                        : RL_PREP_COLS_EOF;
            break;
        case RL_ROWS:
        case RL_FIRST: /* FIELDS */
            r->rows++;
            break;
        default:
            return RELAY_BROKEN;
        }
        r->in_cont = len == PACKET_MAX_PAYLOAD;
        {
            size_t n = MIN(avail, 4 + (size_t)len);
            pass(r, c, n);
            r->fwd_left = (uint32_t)(4 + len - n);
        }
    }
}

enum relay_status
relay_pump(struct relay *r, struct evbuffer *in, struct evbuffer *out,
           size_t high)
{
    struct cursor c = {.in = in, .out = out};
    enum relay_status st;

    cur_peek(&c);
    st = pump(r, &c, high);
    cur_flush(&c);
    return st;
}

void
relay_oksum_add(struct oksum *os, const struct relay *r)
{
    struct reply_ok ok = {
        .affected = r->affected,
        .insert_id = r->insert_id,
        .status = r->status,
        .warnings = r->warnings,
        .info = (const uint8_t *)r->info,
        .info_len = r->info_len == RELAY_INFO_LONG ? 0 : r->info_len,
    };

    oksum_add(os, &ok);
    if (r->info_len == RELAY_INFO_LONG)
        os->info_bad = true;
}
