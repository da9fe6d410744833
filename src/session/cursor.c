/*
 * cursor.c - server-side cursors (see cursor.h for the contract). A cursor
 * is a run of the engine (session/engine.h) whose answer goes into the
 * cursor's buffer (its sink) instead of the client's output:
 *
 *   EXECUTE (cursor flag) ─► cursor_execute ─► engine_run_into(sink)
 *     shards ─► relay / merge ─► c->buf ─► on_turn: once the header is in,
 *        column count + definitions + EOF|CURSOR_EXISTS ─► client, and the
 *        session goes on (engine_statement_done) while the run reads on,
 *        paused above CURSOR_READ_AHEAD bytes
 *   FETCH n ─► fetch_go: n rows from c->buf ─► client (renumbered), the
 *        run pumped as the buffer empties ─► EOF: CURSOR_EXISTS, or
 *        LAST_ROW_SENT when the rows ended (the cursor closes then)
 *   run ends ─► on_end: a detached run is freed (its connections went back
 *        to the pool as they ended); one that never detached (no rows: an
 *        OK or ERR; an error; a result read whole) answers the EXECUTE now
 *
 * The engine calls in only through the sink's hooks; runs are freed from
 * the event loop, after the stack that used them has unwound.
 */
#include "session/cursor.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "backend/serverconn.h"
#include "backend/sessvars.h"
#include "base/log.h"
#include "base/util.h"
#include "net/conn.h"
#include "net/worker.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "route/route_types.h"
#include "session/engine.h"
#include "session/merge.h"
#include "session/pstmt.h"
#include "session/session.h"

struct cursor {
    struct cursor *next;  /* the session's list */
    struct session *s;    /* (ref) */
    uint32_t id;          /* the statement's, as the client knows it */
    struct evbuffer *buf; /* owned; the answer not yet sent to the client */
    struct eng_run *run;  /* owned; NULL once the run ended */
    struct eng_sink sink; /* the run's hooks and buffer */
    bool whole;           /* the run cannot detach: read the result whole */
    bool overflow;        /* ... and it passed CURSOR_BUFFER_MAX */
    bool open;            /* the header reached the client */
    uint16_t warnings;    /* the whole result's, for the header's EOF: a
                             server counts them when it opens the cursor */
    bool in_cont;         /* the next packet in buf continues a row */
    bool fetching;        /* a COM_STMT_FETCH is being answered */
    bool in_go;           /* inside fetch_go() */
    uint32_t want;        /* rows that fetch still wants */
    bool failed;          /* the run failed after the header */
    uint16_t err_code;
    char err_msg[300];
};

/* A result smaller than this is read whole before the EXECUTE is
 * answered, so its EOF can carry the result's warning count, as a
 * server's does (it computes the rows when it opens the cursor). */
#define CURSOR_HEADER_WAIT (64 * 1024)

/* ---- packets in the buffer --------------------------------------------- */

/* The physical packet at offset off of buf: its payload length and first
 * payload bytes (up to cap). False when it is not all in buf. */
static bool
peek_at(struct evbuffer *buf, size_t off, uint32_t *len, uint8_t *p, size_t cap)
{
    size_t have = evbuffer_get_length(buf);
    uint8_t h[4 + 16];
    struct evbuffer_ptr at;
    size_t take;

    if (have < off + 4 || cap > 16)
        return false;
    take = MIN(have - off, 4 + cap);
    if (evbuffer_ptr_set(buf, &at, off, EVBUFFER_PTR_SET) != 0 ||
        evbuffer_copyout_from(buf, &at, h, take) != (ev_ssize_t)take)
        return false;
    *len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
    if (have < off + 4 + *len)
        return false;
    memset(p, 0, cap);
    memcpy(p, h + 4, MIN(take - 4, (size_t)*len));
    return true;
}

/* Moves the packet at the head of buf (payload len) to out under the
 * next sequence id of *seq. */
static void
move_packet(struct evbuffer *buf, uint32_t len, struct evbuffer *out,
            uint8_t *seq)
{
    uint8_t h[4];

    evbuffer_remove(buf, h, 4);
    h[3] = (*seq)++;
    evbuffer_add(out, h, 4);
    evbuffer_remove_buffer(buf, out, len);
}

static bool
is_eof(const uint8_t *p, uint32_t len)
{
    return len >= 1 && len < 9 && p[0] == PKT_HDR_EOF;
}

/* The warning count of the EOF that ends buf's last result (0 when the
 * last packet is not an EOF). */
static uint16_t
last_eof_warnings(struct evbuffer *buf)
{
    size_t off = 0;
    uint32_t len = 0, last_len = 0;
    uint8_t p[3], last[3] = {0};

    while (peek_at(buf, off, &len, p, sizeof(p))) {
        memcpy(last, p, sizeof(last));
        last_len = len;
        off += 4 + (size_t)len;
    }
    return is_eof(last, last_len) && last_len >= 3
               ? (uint16_t)(last[1] | last[2] << 8)
               : 0;
}

/* The first result's header at the head of buf: 1 when its column count,
 * definitions and EOF are all there (npk packets, the EOF's status in
 * *status); 0 when not yet; -1 when the answer is no result set (an OK or
 * ERR first) or not one the cursor understands. */
static int
header_at(struct evbuffer *buf, uint64_t *npk, uint16_t *status)
{
    size_t off = 0;
    uint64_t ncols = 0;
    uint8_t p[9];
    uint32_t len = 0;

    for (uint64_t k = 0;; k++) {
        if (!peek_at(buf, off, &len, p, sizeof(p)))
            return 0;
        if (k == 0) {
            if (len == 0 || p[0] == PKT_HDR_OK || p[0] == PKT_HDR_ERR ||
                p[0] == 0xFB || p[0] == PKT_HDR_EOF)
                return -1;
            if (p[0] < 0xFB)
                ncols = p[0];
            else if (p[0] == 0xFC)
                ncols = (uint64_t)p[1] | (uint64_t)p[2] << 8;
            else
                ncols =
                    (uint64_t)p[1] | (uint64_t)p[2] << 8 | (uint64_t)p[3] << 16;
        } else if (k == ncols + 1) {
            if (!is_eof(p, len) || len < 5)
                return -1;
            *status = (uint16_t)(p[3] | p[4] << 8);
            *npk = k + 1;
            return 1;
        }
        off += 4 + (size_t)len;
    }
}

/* Sends the header (npk packets) to the client, its EOF marked with
 * SERVER_STATUS_CURSOR_EXISTS as a server marks an opened cursor. */
static void
send_header(struct cursor *c, uint64_t npk)
{
    struct session *s = c->s;
    struct evbuffer *out = s->conn->out;
    uint8_t eof[4 + 8];
    uint8_t p[1];
    uint32_t len = 0;

    for (uint64_t k = 0; k + 1 < npk; k++) {
        (void)peek_at(c->buf, 0, &len, p, sizeof(p));
        move_packet(c->buf, len, out, &s->seq);
    }
    (void)peek_at(c->buf, 0, &len, p, sizeof(p)); /* the EOF: len < 9 */
    evbuffer_remove(c->buf, eof, 4 + len);
    eof[3] = s->seq++;
    if (len >= 5) {
        eof[4 + 1] = (uint8_t)c->warnings;
        eof[4 + 2] = (uint8_t)(c->warnings >> 8);
    }
    eof[4 + 3] |= SERVER_STATUS_CURSOR_EXISTS & 0xFF;
    evbuffer_add(out, eof, 4 + len);
    s->status =
        (uint16_t)(eof[4 + 3] | eof[4 + 4] << 8) &
        (uint16_t) ~(SERVER_STATUS_CURSOR_EXISTS | SERVER_MORE_RESULTS_EXISTS);
    c->open = true;
}

/* ---- lifetime ------------------------------------------------------------ */

static void
free_run_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    free(arg);
}

/* Frees a run that ended (or was dropped) once the loop comes back: the
 * engine may still be unwinding from it. */
static void
free_run_later(struct session *s, struct eng_run *r)
{
    if (event_base_once(s->wc->w->base, -1, EV_TIMEOUT, free_run_cb, r, NULL) !=
        0)
        log_warn("cannot schedule a cursor's free client=%u", s->id);
}

static void
cursor_free(struct cursor *c)
{
    struct session *s = c->s;
    struct cursor **pp = &s->cursors;

    while (*pp != NULL && *pp != c)
        pp = &(*pp)->next;
    if (*pp == c)
        *pp = c->next;
    if (s->fetch == c)
        s->fetch = NULL;
    if (s->crun == c->run)
        s->crun = NULL;
    if (c->run != NULL) {
        engine_drop(c->run);
        free_run_later(s, c->run);
    }
    evbuffer_free(c->buf);
    free(c);
}

static struct cursor *
find(struct session *s, uint32_t id)
{
    for (struct cursor *c = s->cursors; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

void
cursor_close(struct session *s, uint32_t id)
{
    struct cursor *c = find(s, id);

    if (c != NULL)
        cursor_free(c);
}

void
cursor_close_all(struct session *s)
{
    while (s->cursors != NULL)
        cursor_free(s->cursors);
}

/* ---- fetching ------------------------------------------------------------ */

enum fetch_end {
    FE_MORE = 0, /* rows may follow: EOF with CURSOR_EXISTS */
    FE_LAST,     /* the rows ended: EOF with LAST_ROW_SENT, cursor closed */
    FE_ERROR,    /* an ERR went in place of the rest: cursor closed */
};

/* The FETCH is answered: its end, the run read on, the next command. */
static void
fetch_end(struct cursor *c, enum fetch_end how)
{
    struct session *s = c->s;

    c->fetching = false;
    s->fetch = NULL;
    if (how == FE_MORE)
        proto_write_eof(s->conn->out, &s->seq, 0,
                        s->status | SERVER_STATUS_CURSOR_EXISTS);
    else if (how == FE_LAST)
        proto_write_eof(s->conn->out, &s->seq, 0,
                        s->status | SERVER_STATUS_LAST_ROW_SENT);
    if (how != FE_MORE)
        cursor_free(c);
    else if (c->run != NULL)
        engine_pump(c->run); /* read ahead while the client works */
    session_command_done(s);
}

/* Moves rows from the buffer to the client until the FETCH has its rows,
 * the rows end, the client's output is full (cursor_client_drained goes
 * on) or the buffer is empty with the run still reading (on_turn goes
 * on). */
static void
fetch_go(struct cursor *c)
{
    struct session *s = c->s;
    struct evbuffer *out = s->conn->out;
    enum fetch_end how = FE_MORE;
    uint8_t p[9];
    uint32_t len = 0;

    if (c->in_go)
        return; /* the outer call's loop sees what changed */
    c->in_go = true;
    while (c->want > 0) {
        if (evbuffer_get_length(out) > RELAY_CLIENT_HIGH_WATER) {
            c->in_go = false;
            return;
        }
        if (!peek_at(c->buf, 0, &len, p, sizeof(p))) {
            size_t before = evbuffer_get_length(c->buf);
            if (c->run == NULL) { /* the answer ended without its EOF */
                session_send_error(s,
                                   c->failed ? c->err_code : ER_UNKNOWN_ERROR,
                                   "HY000", "%s",
                                   c->failed ? c->err_msg
                                             : "myshard: the cursor's "
                                               "result ended early");
                how = FE_ERROR;
                break;
            }
            if (before >= 4) { /* room for a row larger than the window */
                uint8_t h[3];
                evbuffer_copyout(c->buf, h, 3);
                c->sink.high = MAX((size_t)CURSOR_READ_AHEAD,
                                   4 + (size_t)(h[0] | h[1] << 8 | h[2] << 16));
            }
            engine_pump(c->run); /* may end the run (on_end) */
            if (evbuffer_get_length(c->buf) == before && c->run != NULL) {
                c->in_go = false;
                return;
            }
            continue;
        }
        c->sink.high = CURSOR_READ_AHEAD;
        if (!c->in_cont && is_eof(p, len)) {
            how = FE_LAST;
            break;
        }
        if (!c->in_cont && len > 0 && p[0] == PKT_HDR_ERR) {
            move_packet(c->buf, len, out, &s->seq);
            s->cmd_err = true;
            how = FE_ERROR;
            break;
        }
        move_packet(c->buf, len, out, &s->seq);
        c->in_cont = len == PACKET_MAX_PAYLOAD;
        if (!c->in_cont)
            c->want--;
    }
    c->in_go = false;
    fetch_end(c, how);
}

void
cursor_client_drained(struct session *s)
{
    if (s->fetch != NULL)
        fetch_go(s->fetch);
}

void
cursor_cmd_fetch(struct session *s)
{
    const uint8_t *d = s->cmd.data;
    struct pstmt *ps;
    struct cursor *c;
    uint32_t id;

    if (s->cmd.len < 9) {
        session_send_error(s, ER_UNKNOWN_ERROR, "HY000",
                           "myshard: malformed COM_STMT_FETCH (it takes a "
                           "statement id and a row count)");
        session_command_done(s);
        return;
    }
    id = (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16 |
         (uint32_t)d[4] << 24;
    ps = pstmt_find(s, id);
    c = ps != NULL ? find(s, ps->id) : NULL;
    if (ps == NULL) {
        session_send_error(s, ER_UNKNOWN_STMT_HANDLER, "HY000",
                           "myshard: unknown prepared statement handler "
                           "(%u) given to mysqld_stmt_fetch",
                           id);
        session_command_done(s);
        return;
    }
    if (c == NULL || !c->open) {
        session_send_error(s, ER_STMT_HAS_NO_OPEN_CURSOR, "HY000",
                           "myshard: the statement (%u) has no open cursor; "
                           "execute it with a cursor first",
                           id);
        session_command_done(s);
        return;
    }
    c->want = (uint32_t)d[5] | (uint32_t)d[6] << 8 | (uint32_t)d[7] << 16 |
              (uint32_t)d[8] << 24;
    c->fetching = true;
    s->fetch = c;
    session_set_state(s, SESS_RELAY);
    fetch_go(c);
}

/* ---- the engine's hooks -------------------------------------------------- */

/* Answer bytes reached the buffer. Before the header went out: once it is
 * all in, it goes to the client and the session goes on (the run is
 * detached). After: a FETCH waiting for rows goes on. */
static void
on_turn(struct eng_run *r)
{
    struct cursor *c = r->sink->arg;
    uint64_t npk;
    uint16_t status;

    if (c->open) {
        if (c->fetching)
            fetch_go(c);
        return;
    }
    if (c->whole) {
        if (evbuffer_get_length(c->buf) > CURSOR_BUFFER_MAX) {
            c->overflow = true; /* read to its end, answered at on_end */
            evbuffer_drain(c->buf, evbuffer_get_length(c->buf));
        }
        return;
    }
    if (header_at(c->buf, &npk, &status) <= 0 ||
        evbuffer_get_length(c->buf) < CURSOR_HEADER_WAIT)
        return; /* not yet, no result set or small: answered at on_end */
    send_header(c, npk);
    r->detached = true;
    c->s->crun = NULL;
    engine_statement_done(c->s); /* last: the next command may run */
}

/* Every target ended. */
static enum eng_sink_end
on_end(struct eng_run *r)
{
    struct cursor *c = r->sink->arg;
    struct session *s = r->s;
    uint64_t npk;
    uint16_t status;
    uint8_t p[1];
    uint32_t len = 0;

    c->run = NULL;
    free_run_later(s, r);
    if (r->detached) {
        if (r->failed && r->mode != EC_MERGE) { /* else the ERR is in buf */
            c->failed = true;
            c->err_code = r->err_code;
            snprintf(c->err_msg, sizeof(c->err_msg), "%s", r->err_msg);
        }
        engine_drop(r);
        if (c->fetching)
            fetch_go(c); /* last: the next command may run */
        return SINK_GONE;
    }
    /* The client has nothing yet (or the query timeout's 1969): the
     * EXECUTE is answered now. */
    s->crun = NULL;
    if (r->answered || r->mode == EC_COMBINE ||
        (r->failed && r->mode != EC_MERGE) ||
        (r->mode == EC_MERGE && !merge_client_intact(r->m))) {
        r->relayed = false; /* the engine's error reaches a clean client */
        cursor_free(c);
        return SINK_ENGINE;
    }
    if (c->overflow) {
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000",
                           "myshard: a cursor on a connection the session "
                           "holds (a transaction, a pinned session) reads "
                           "its whole result first, and this one passed %d "
                           "MiB; fetch it without a cursor, or narrow it",
                           CURSOR_BUFFER_MAX / (1024 * 1024));
        cursor_free(c);
        return SINK_ANSWERED;
    }
    if (header_at(c->buf, &npk, &status) == 1) {
        c->warnings = last_eof_warnings(c->buf);
        send_header(c, npk); /* the rows wait in buf for the fetches */
        return SINK_ANSWERED;
    }
    /* No result set (an UPDATE executed with a cursor flag gets its OK,
     * as from a server), or an ERR: as it came. */
    while (peek_at(c->buf, 0, &len, p, sizeof(p)))
        move_packet(c->buf, len, s->conn->out, &s->seq);
    cursor_free(c);
    return SINK_ENGINE;
}

void
cursor_adopt(struct session *s, struct pstmt *ps, struct evbuffer *answer)
{
    struct cursor *c = xcalloc(1, sizeof(*c));
    uint64_t npk;
    uint16_t status;
    uint8_t p[1];
    uint32_t len = 0;

    cursor_close(s, ps->id);
    c->s = s;
    c->id = ps->id;
    c->buf = answer;
    c->whole = true;
    c->next = s->cursors;
    s->cursors = c;
    if (header_at(c->buf, &npk, &status) == 1) {
        c->warnings = last_eof_warnings(c->buf);
        send_header(c, npk);
        return;
    }
    while (peek_at(c->buf, 0, &len, p, sizeof(p)))
        move_packet(c->buf, len, s->conn->out, &s->seq);
    cursor_free(c);
}

void
cursor_execute(struct session *s, struct pstmt *ps,
               const struct route_plan *plan, const uint8_t *exec,
               size_t exec_len, const size_t *exec_ends)
{
    struct cursor *c = xcalloc(1, sizeof(*c));

    cursor_close(s, ps->id);
    c->s = s;
    c->id = ps->id;
    c->buf = evbuffer_new();
    /* A target on the session's held connection, or on a transaction's
     * branch, cannot outlive the statement (session/engine.c, acquire);
     * nor can one whose connection the session is to keep: pins, a BEGIN
     * the statement is to send, autocommit=0 (as acquire() decides). */
    c->whole = s->txn != NULL || s->pins != 0 || s->txn_begin != NULL ||
               (s->vars.n > 0 && sessvars_autocommit_off(&s->vars));
    for (int i = 0; s->sc != NULL && i < plan->ntargets; i++)
        c->whole |= plan->targets[i].shard == s->sc->srv->shard;
    c->sink.buf = c->buf;
    c->sink.high = c->whole ? SIZE_MAX : CURSOR_READ_AHEAD;
    c->sink.turn = on_turn;
    c->sink.end = on_end;
    c->sink.arg = c;
    c->next = s->cursors;
    s->cursors = c;
    c->run = xcalloc(1, sizeof(*c->run));
    s->crun = c->run;
    /* last: the run may end, and the next command start, inside */
    engine_run_into(c->run, s, plan, ps, exec, exec_len, exec_ends, &c->sink);
}
