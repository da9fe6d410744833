/*
 * combine.c - see combine.h.
 */
#include "session/combine.h"

#include <stdio.h>

#include "base/util.h"
#include "net/conn.h"
#include "proto/pktbuf.h"
#include "proto/reply.h"
#include "result/oksum.h"
#include "session/engine_types.h"
#include "session/relay.h"
#include "session/session.h"

void
combine_write_ok(struct eng_run *r)
{
    struct session *s = r->s;
    struct oksum os = {0};
    char info[OKSUM_INFO_MAX];

    /* warnings and info summed as the affected rows are */
    for (int i = 0; i < r->n && (i == 0 || !r->ok_first_only); i++) {
        struct relay *rl = &r->t[i].rl;
        if (!rl->got_ok || rl->got_err)
            continue;
        if (r->rows_info && rl->info_len == 0) {
            /* a server gives no info for a one-row INSERT; the client
             * sent several rows and expects the line it would get for
             * them all (a duplicate: IGNOREd, REPLACEd or updated, i.e.
             * not one row affected) */
            struct reply_ok ok = {.affected = rl->affected,
                                  .insert_id = rl->insert_id,
                                  .status = rl->status,
                                  .warnings = rl->warnings};
            char one[64];
            int n = snprintf(one, sizeof(one),
                             "Records: 1  Duplicates: %d  Warnings: %u",
                             rl->affected != 1, (unsigned)rl->warnings);
            ok.info = (const uint8_t *)one;
            ok.info_len = (size_t)n;
            oksum_add(&os, &ok);
            continue;
        }
        relay_oksum_add(&os, rl);
    }
    oksum_info(&os, info, sizeof(info));
    /* the first id a shard generated, in target (shard) order */
    for (int i = 0; i < r->n && r->insert_id == 0; i++)
        if (r->t[i].rl.got_ok && !r->t[i].rl.got_err)
            r->insert_id = r->t[i].rl.insert_id;
    proto_write_ok(s->conn->out, &s->seq, r->affected, r->insert_id, r->status,
                   (uint16_t)MIN(os.warnings, UINT16_MAX),
                   info[0] ? info : NULL);
}
