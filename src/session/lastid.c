/*
 * lastid.c - the session's LAST_INSERT_ID() and ROW_COUNT(): what each
 * statement needs, the answers the proxy gives itself, the prelude and the
 * probe the engine runs, and the values kept when a statement ends. See
 * lastid.h for why it works this way.
 */
#include "session/lastid.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/serverconn.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/reply.h"
#include "proto/resultset.h"
#include "proto/wire.h"
#include "session/engine_types.h"
#include "session/merge.h"
#include "session/relay.h"
#include "session/session.h"
#include "sql/classify.h"
#include "sql/lexer.h"

/* ---- what a statement reads ------------------------------------------- */

/* @@[session.|local.]last_insert_id or @@...identity. */
static bool
sysvar_is_lastid(const struct token *t)
{
    const char *p = t->p + 2;
    size_t n = t->len - 2;

    if (n > 8 && lexer_ident_eq(p, 8, "session.", 8)) {
        p += 8;
        n -= 8;
    } else if (n > 6 && lexer_ident_eq(p, 6, "local.", 6)) {
        p += 6;
        n -= 6;
    }
    if (n >= 2 && p[0] == '`' && p[n - 1] == '`') {
        p++;
        n -= 2;
    }
    return lexer_ident_eq(p, n, "last_insert_id", 14) ||
           lexer_ident_eq(p, n, "identity", 8);
}

static bool
reads_lastid_var(const char *sql, size_t len, struct lex_mode mode)
{
    struct lexer lx;
    struct token t;

    lexer_init(&lx, sql, len, mode);
    while (lexer_next(&lx, &t))
        if (t.type == TOK_SYSVAR && sysvar_is_lastid(&t))
            return true;
    return false;
}

enum lastid_need
lastid_need_of(const struct stmt_info *st)
{
    if ((st->flags & SQLF_LAST_INSERT_ID) || st->kind == STMT_CALL ||
        ((st->flags & SQLF_SYSVAR) &&
         reads_lastid_var(st->sql, st->stmt_len, st->mode)))
        return LID_ALWAYS;
    if (st->kind == STMT_INSERT || st->kind == STMT_REPLACE)
        return LID_IF_ID;
    return LID_NONE;
}

/* ---- SELECT LAST_INSERT_ID() and friends, answered -------------------- */

enum item_what { IT_NONE, IT_LASTID, IT_ROWCOUNT };

/* Which value the select item expr is: NAME() or @@name, nothing more. */
static enum item_what
item_what(struct sql_span expr, struct lex_mode mode)
{
    struct lexer lx;
    struct token t[4];
    int n = 0;

    lexer_init(&lx, expr.p, expr.len, mode);
    while (n < 4 && lexer_next(&lx, &t[n]))
        n++;
    if (n == 1 && t[0].type == TOK_SYSVAR)
        return sysvar_is_lastid(&t[0]) ? IT_LASTID : IT_NONE;
    if (n != 3 || t[1].type != TOK_LPAREN || t[2].type != TOK_RPAREN)
        return IT_NONE;
    if (tok_is(&t[0], "LAST_INSERT_ID"))
        return IT_LASTID;
    if (t[0].type == TOK_IDENT &&
        lexer_ident_eq(t[0].p, t[0].len, "ROW_COUNT", 9))
        return IT_ROWCOUNT;
    return IT_NONE;
}

bool
lastid_is_answered(const struct stmt_info *st)
{
    if (st->kind != STMT_SELECT || st->multi || st->nitems == 0 ||
        st->from.len != 0 || st->where.len != 0 || st->group_by.len != 0 ||
        st->having.len != 0 || st->order_by.len != 0 || st->limit.len != 0 ||
        st->locking.len != 0 || st->nblocks > 1 ||
        (st->flags & (SQLF_UNION | SQLF_SUBQUERY | SQLF_INTO | SQLF_CTE |
                      SQLF_CALC_FOUND_ROWS)) ||
        st->overflow || st->lex_error)
        return false;
    for (int i = 0; i < st->nitems; i++)
        if (item_what(st->items[i].expr, st->mode) == IT_NONE)
            return false;
    return true;
}

void
lastid_answer(struct session *s, const struct stmt_info *st, bool binary)
{
    lastid_write_answer(s, st, binary, s->conn->out);
    session_command_done(s);
}

void
lastid_write_answer(struct session *s, const struct stmt_info *st, bool binary,
                    struct evbuffer *out)
{
    struct rs_writer w;
    struct coldef cols[SQL_MAX_ITEMS];
    char names[SQL_MAX_ITEMS][80];
    char vals[SQL_MAX_ITEMS][24];
    const char *v[SQL_MAX_ITEMS];
    uint8_t row[1 + (SQL_MAX_ITEMS + 9) / 8 + 8 * SQL_MAX_ITEMS];
    size_t rlen;
    int n = st->nitems;

    /* a binary row: header, the NULL bitmap (none), 8 bytes a column */
    rlen = 1 + ((size_t)n + 9) / 8;
    memset(row, 0, rlen);
    for (int i = 0; i < n; i++) {
        const struct sql_item *it = &st->items[i];
        enum item_what what = item_what(it->expr, st->mode);
        struct sql_span nm = it->alias.len ? it->alias : it->expr;

        /* the name the server gives: the alias unquoted, else the text */
        if (it->alias.len)
            lexer_unquote(nm.p, nm.len, st->mode, names[i], sizeof(names[i]));
        else
            snprintf(names[i], sizeof(names[i]), "%.*s", (int)MIN(nm.len, 79),
                     nm.p);
        memset(&cols[i], 0, sizeof(cols[i]));
        cols[i].name = names[i];
        cols[i].charset = 63;
        cols[i].length = 21;
        cols[i].type = MYSQL_TYPE_LONGLONG;
        cols[i].flags = NOT_NULL_FLAG | BINARY_FLAG;
        {
            uint64_t x =
                what == IT_LASTID ? s->last_insert_id : (uint64_t)s->row_count;
            if (what == IT_LASTID) {
                cols[i].flags |= UNSIGNED_FLAG;
                snprintf(vals[i], sizeof(vals[i]), "%" PRIu64, x);
            } else {
                snprintf(vals[i], sizeof(vals[i]), "%" PRId64, s->row_count);
            }
            for (int b = 0; b < 8; b++)
                row[rlen++] = (uint8_t)(x >> (8 * b));
        }
        v[i] = vals[i];
    }
    rs_begin(&w, out, s->seq, false, s->status);
    rs_columns(&w, cols, (size_t)n);
    if (binary)
        packet_write(out, &w.seq, row, rlen);
    else
        rs_row(&w, v, NULL);
    rs_end(&w);
    s->seq = w.seq;
    s->row_count = -1; /* what a SELECT leaves */
}

/* ---- ROW_COUNT() inside a statement ------------------------------------ */

char *
lastid_rewrite_row_count(const struct session *s, const struct stmt_info *st,
                         const char *sql, size_t len, size_t *out_len)
{
    struct lexer lx;
    struct token t[3];
    char lit[24];
    char *out = NULL;
    size_t o = 0, from = 0, litlen;

    /* cheap: most statements never name it */
    if (len < 9 ||
        (st->all_read && !st->multi && !(st->flags & SQLF_ROW_COUNT)))
        return NULL;
    {
        bool seen = false;
        for (size_t i = 0; i + 9 <= len && !seen; i++)
            seen = (sql[i] | 0x20) == 'r' &&
                   lexer_ident_eq(sql + i, 9, "ROW_COUNT", 9);
        if (!seen)
            return NULL;
    }
    litlen = (size_t)snprintf(lit, sizeof(lit), "%" PRId64, s->row_count);
    lexer_init(&lx, sql, len, st->mode);
    if (!lexer_next(&lx, &t[0]))
        return NULL;
    if (!lexer_next(&lx, &t[1]))
        return NULL;
    while (lexer_next(&lx, &t[2])) {
        if (t[0].type == TOK_IDENT &&
            lexer_ident_eq(t[0].p, t[0].len, "ROW_COUNT", 9) &&
            t[1].type == TOK_LPAREN && t[2].type == TOK_RPAREN) {
            size_t at = (size_t)(t[0].p - sql);
            if (out == NULL)
                out = xmalloc(len * 2 + 64);
            if (o + (at - from) + litlen + 2 > len * 2 + 64) {
                free(out);
                return NULL;
            }
            memcpy(out + o, sql + from, at - from);
            o += at - from;
            memcpy(out + o, lit, litlen);
            o += litlen;
            from = (size_t)(t[2].p + t[2].len - sql);
            if (!lexer_next(&lx, &t[0]) || !lexer_next(&lx, &t[1]))
                break;
            continue;
        }
        t[0] = t[1];
        t[1] = t[2];
    }
    if (out == NULL)
        return NULL;
    memcpy(out + o, sql + from, len - from);
    *out_len = o + len - from;
    return out;
}

/* ---- the prelude and the probe ---------------------------------------- */

bool
lastid_prelude(struct session *s, struct serverconn *sc, struct relay *rl)
{
    char buf[64];
    int n;
    uint8_t seq = 0;

    if (s->lid_need != LID_ALWAYS || s->last_insert_id == 0)
        return false;
    buf[0] = COM_QUERY;
    n = snprintf(buf + 1, sizeof(buf) - 1, "DO LAST_INSERT_ID(%" PRIu64 ")",
                 s->last_insert_id);
    packet_write(serverconn_output(sc), &seq, buf, (size_t)n + 1);
    relay_start(rl, RELAY_SIMPLE);
    return true;
}

bool
lastid_wants_probe(const struct session *s, const struct relay *rl)
{
    if (rl->got_err)
        return false;
    return s->lid_need == LID_ALWAYS ||
           (s->lid_need == LID_IF_ID && rl->got_ok && rl->insert_id != 0);
}

void
lastid_send_probe(struct serverconn *sc)
{
    static const char q[] = "\x03SELECT LAST_INSERT_ID(), LAST_INSERT_ID(0)";
    uint8_t seq = 0;

    packet_write(serverconn_output(sc), &seq, q, sizeof(q) - 1);
}

int
lastid_read_probe(struct evbuffer *in, uint64_t *v)
{
    size_t avail = evbuffer_get_length(in), off = 0;
    const uint8_t *p;
    int idx = 0;       /* packets read: count, two definitions, ... */
    bool eof = false;  /* the definitions' EOF was seen */
    bool have = false; /* the row was read */

    if (avail > 4096)
        return -1; /* far more than the answer's size */
    if (avail < 4)
        return 0;
    p = evbuffer_pullup(in, (ssize_t)avail);
    for (;; idx++) {
        const uint8_t *pl;
        uint32_t len;
        if (avail - off < 4)
            return 0;
        len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
              (uint32_t)p[off + 2] << 16;
        if (avail - off - 4 < len)
            return 0;
        pl = p + off + 4;
        off += 4 + len;
        if (len == 0)
            return -1;
        if (pl[0] == PKT_HDR_ERR && (idx == 0 || idx > 2)) {
            evbuffer_drain(in, off);
            return 2;
        }
        if (idx == 0) {
            if (len != 1 || pl[0] != 2)
                return -1;
            continue;
        }
        if (idx <= 2)
            continue; /* the column definitions */
        if (have) {
            /* the end: an EOF, or an OK with 0xFE header */
            if (pl[0] != PKT_HDR_EOF)
                return -1;
            evbuffer_drain(in, off);
            return 1;
        }
        if (reply_is_eof(pl[0], len)) {
            if (eof)
                return -1; /* no row */
            eof = true;
            continue;
        }
        {
            struct wire w;
            const uint8_t *sv;
            size_t sl;
            uint64_t x = 0;
            wire_init(&w, pl, len);
            if (!wire_lenenc_str(&w, &sv, &sl) || sl == 0 || sl > 20)
                return -1;
            for (size_t i = 0; i < sl; i++) {
                if (sv[i] < '0' || sv[i] > '9')
                    return -1;
                x = x * 10 + (uint64_t)(sv[i] - '0');
            }
            *v = x;
            have = true;
        }
    }
}

/* ---- a statement ended ------------------------------------------------ */

void
lastid_statement_end(struct session *s, bool failed, bool rows,
                     uint64_t affected, const struct lastid_fact *f, int n)
{
    enum lastid_need need = (enum lastid_need)s->lid_need;

    s->lid_need = LID_NONE;
    s->row_count = failed || rows ? -1 : (int64_t)affected;
    if (failed)
        return;
    for (int i = 0; i < n; i++) {
        if (!f[i].ok)
            continue;
        if (f[i].probed) {
            /* ALWAYS: the connection started at the session's value;
             * IF_ID: at 0, and a generated id is the OK's too */
            bool changed = need == LID_ALWAYS
                               ? f[i].value != s->last_insert_id
                               : f[i].value != 0 && f[i].value == f[i].okid;
            if (changed) {
                s->last_insert_id = f[i].value;
                return;
            }
        } else if (f[i].okid != 0) {
            /* an UPDATE's LAST_INSERT_ID(expr), or a probe that failed:
             * the OK's id is the best there is */
            s->last_insert_id = f[i].okid;
            return;
        }
    }
}

void
lastid_note_run(const struct eng_run *r)
{
    struct session *s = r->s;
    struct lastid_fact f[16];
    int n = MIN(r->n, 16);
    bool failed = r->failed || r->answered;

    if (r->kind != RELAY_RESULT)
        return;
    if (r->mode == EC_MERGE) {
        uint16_t code;
        lastid_statement_end(s, merge_error(r->m, &code) != NULL, true, 0, NULL,
                             0);
        return;
    }
    for (int i = 0; i < n; i++) {
        const struct eng_target *t = &r->t[i];
        f[i].ok = !t->rl.got_err && (t->rl.got_ok || t->rl.rowset);
        f[i].okid = t->rl.got_ok ? t->rl.insert_id : 0;
        f[i].probed = t->probed;
        f[i].value = t->lid;
        failed |= t->rl.got_err && r->mode == EC_RELAY;
    }
    lastid_statement_end(
        s, failed, r->mode == EC_RELAY && r->t[0].rl.rowset,
        r->mode == EC_RELAY ? r->t[0].rl.affected : r->affected, f, n);
}
