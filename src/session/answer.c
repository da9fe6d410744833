/*
 * answer.c - see answer.h. Each answer ends the command: the client's next
 * one is read.
 */
#include "session/answer.h"

#include <stdio.h>
#include <stdlib.h>

#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/resultset.h"
#include "session/session.h"
#include "sql/classify.h"
#include "sql/lexer.h"

bool
answer_is_select_database(const struct stmt_info *st)
{
    struct lexer lx;
    struct token t[4];
    int n = 0;

    if (st->kind != STMT_SELECT || st->from.len != 0 || st->nitems != 1 ||
        st->items[0].alias.len != 0)
        return false;
    lexer_init(&lx, st->items[0].expr.p, st->items[0].expr.len, st->mode);
    while (n < 4 && lexer_next(&lx, &t[n]))
        n++;
    return n == 3 && (tok_is(&t[0], "DATABASE") || tok_is(&t[0], "SCHEMA")) &&
           t[1].type == TOK_LPAREN && t[2].type == TOK_RPAREN;
}

/* SQL LIKE with % and _, case-insensitive as for database names. */
static bool
like_match(const char *pat, size_t plen, const char *str)
{
    if (plen == 0)
        return *str == '\0';
    if (*pat == '%') {
        for (const char *t = str;; t++) {
            if (like_match(pat + 1, plen - 1, t))
                return true;
            if (*t == '\0')
                return false;
        }
    }
    if (*pat == '\\' && plen > 1) {
        pat++;
        plen--;
    } else if (*pat == '_') {
        return *str != '\0' && like_match(pat + 1, plen - 1, str + 1);
    }
    if (*str == '\0' || (*pat | 0x20) != (*str | 0x20))
        return false;
    return like_match(pat + 1, plen - 1, str + 1);
}

bool
answer_is_proxy_read(const struct stmt_info *st)
{
    return (st->kind == STMT_SHOW && st->show.obj == SHOW_DATABASES) ||
           (st->kind == STMT_SELECT && answer_is_select_database(st));
}

bool
answer_write_proxy_read(struct session *s, const struct stmt_info *st,
                        bool binary, struct evbuffer *out)
{
    const struct cfg *c = s->wc->cfg;
    struct rs_writer w;
    char colname[80] = "Database", like[80];
    const char *names[1] = {colname};
    size_t llen = 0;
    bool has_like = false;

    if (st->kind == STMT_SHOW && st->show.where.len > 0)
        return false;
    rs_begin(&w, out, s->seq, false, s->status);
    w.binary = binary;
    if (st->kind == STMT_SELECT) {
        const char *v[1] = {s->schema >= 0 ? c->schemas[s->schema].name : NULL};
        /* named as the server names it: the text as written (database()) */
        const struct sql_span *e = &st->items[0].expr;
        snprintf(colname, sizeof(colname), "%.*s",
                 (int)MIN(e->len, sizeof(colname) - 1), e->p);
        rs_columns_text(&w, names, 1);
        rs_row(&w, v, NULL);
    } else {
        const struct cfg_user *u = &c->users[s->user];
        if (st->show.like.len > 0) {
            has_like = true;
            llen = MIN(lexer_unquote(st->show.like.p, st->show.like.len,
                                     st->mode, like, sizeof(like)),
                       sizeof(like) - 1);
            snprintf(colname, sizeof(colname), "Database (%.*s)",
                     (int)MIN(llen, 64), like);
        }
        rs_columns_text(&w, names, 1);
        for (int i = 0; i < u->nschemas; i++) {
            const char *v[1] = {u->schemas[i]};
            if (has_like && !like_match(like, llen, u->schemas[i]))
                continue;
            rs_row(&w, v, NULL);
        }
    }
    rs_end(&w);
    s->seq = w.seq;
    return true;
}

void
answer_begin_later(struct session *s, const char *sql, size_t len)
{
    free(s->txn_begin);
    s->txn_begin = xstrndup(sql, len);
    s->status |= SERVER_STATUS_IN_TRANS;
    session_send_ok(s, 0, NULL);
    session_command_done(s);
}

void
answer_end_empty(struct session *s)
{
    free(s->txn_begin);
    s->txn_begin = NULL;
    s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    session_send_ok(s, 0, NULL);
    session_command_done(s);
}
