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

/* Sends the execute payload under this connection's statement id, after
 * any long data the client sent for it. */
void
stmtsend_execute(struct eng_target *t, uint32_t id)
{
    struct eng_run *r = t->run;
    struct evbuffer *out = serverconn_output(t->sc);
    struct pstmt *ps = r->ps;
    uint8_t seq;

    for (uint16_t i = 0; ps->ld && i < ps->nparams; i++) {
        uint8_t hdr[7] = {COM_STMT_SEND_LONG_DATA, (uint8_t)id,
                          (uint8_t)(id >> 8),      (uint8_t)(id >> 16),
                          (uint8_t)(id >> 24),     (uint8_t)i,
                          (uint8_t)(i >> 8)};
        uint8_t *p;
        if (ps->ld[i] == NULL)
            continue;
        p = xmalloc(7 + ps->ld_len[i]);
        memcpy(p, hdr, 7);
        memcpy(p + 7, ps->ld[i], ps->ld_len[i]);
        seq = 0;
        packet_write(out, &seq, p, 7 + ps->ld_len[i]);
        free(p);
    }
    r->exec[1] = (uint8_t)id;
    r->exec[2] = (uint8_t)(id >> 8);
    r->exec[3] = (uint8_t)(id >> 16);
    r->exec[4] = (uint8_t)(id >> 24);
    seq = 0;
    packet_write(out, &seq, r->exec, r->exec_len);
}
