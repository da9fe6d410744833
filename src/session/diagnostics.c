/*
 * diagnostics.c - see diagnostics.h.
 */
#include "session/diagnostics.h"

#include <strings.h>

#include "net/conn.h"
#include "proto/resultset.h"
#include "session/engine.h"
#include "session/session.h"
#include "sql/classify.h"

bool
diag_is_show(const struct stmt_info *st)
{
    return st != NULL && !st->multi && st->kind == STMT_SHOW &&
           (st->show.obj == SHOW_WARNINGS || st->show.obj == SHOW_ERRORS);
}

void
diag_statement_start(struct session *s, const struct stmt_info *st)
{
    /* the server keeps them through statements that name no table
     * (SELECT @@warning_count, SET, DO): those run there too */
    if (!(s->pins & PIN_WARNINGS) ||
        (st != NULL && !st->multi && st->ntables == 0))
        return;
    s->pins &= ~PIN_WARNINGS;
    s->pins_counted &= ~PIN_WARNINGS;
    if (s->pins == 0)
        engine_release(s, false);
}

bool
diag_answer(struct session *s, const struct stmt_info *st)
{
    static const char *const cols[] = {"Level", "Code", "Message"};
    const struct sql_span *w = &st->show.word;
    bool count = w->len == 5 && strncasecmp(w->p, "COUNT", 5) == 0;
    struct rs_writer wr;

    if (s->sc != NULL || !diag_is_show(st))
        return false;
    rs_begin(&wr, s->conn->out, s->seq, false, s->status);
    if (count) {
        const char *name[1] = {st->show.obj == SHOW_ERRORS
                                   ? "@@session.error_count"
                                   : "@@session.warning_count"};
        const char *zero[1] = {"0"};
        rs_columns_text(&wr, name, 1);
        rs_row(&wr, zero, NULL);
    } else {
        rs_columns_text(&wr, cols, 3);
    }
    rs_end(&wr);
    s->seq = wr.seq;
    session_command_done(s);
    return true;
}
