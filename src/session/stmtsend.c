/*
 * stmtsend.c - what a connection gets to run a prepared statement: the
 * text it is prepared from on that connection, and the EXECUTE (after the
 * client's long data) under that connection's own statement id.
 */
#include "session/stmtsend.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "backend/serverconn.h"
#include "base/util.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "session/pstmt.h"

/* The text a prepared statement runs as on this target: the client's,
 * or the plan's rewrite of it for a merge (hidden columns, a DISTINCT
 * aggregate's argument, no HAVING), which t->own then holds. */
const char *
stmtsend_text(const struct eng_target *t, size_t *len)
{
    if (t->own != NULL) {
        *len = t->pkt_len;
        return (const char *)t->own;
    }
    *len = t->run->ps->len;
    return t->run->ps->sql;
}

/* Sends the execute payload (this target's own, for a split INSERT) under
 * this connection's statement id, after any long data for it. */
void
stmtsend_execute(struct eng_target *t, uint32_t id)
{
    struct eng_run *r = t->run;

    pstmt_send_execute(serverconn_output(t->sc), r->ps, r->exec + t->exec_off,
                       t->exec_len ? t->exec_len : r->exec_len, id);
}
