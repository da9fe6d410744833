/*
 * combine.c - see combine.h.
 */
#include "session/combine.h"

#include "base/util.h"
#include "net/conn.h"
#include "proto/pktbuf.h"
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
    for (int i = 0; i < r->n && (i == 0 || !r->ok_first_only); i++)
        if (r->t[i].rl.got_ok && !r->t[i].rl.got_err)
            relay_oksum_add(&os, &r->t[i].rl);
    oksum_info(&os, info, sizeof(info));
    /* the first id a shard generated, in target (shard) order */
    for (int i = 0; i < r->n && r->insert_id == 0; i++)
        if (r->t[i].rl.got_ok && !r->t[i].rl.got_err)
            r->insert_id = r->t[i].rl.insert_id;
    proto_write_ok(s->conn->out, &s->seq, r->affected, r->insert_id, r->status,
                   (uint16_t)MIN(os.warnings, UINT16_MAX),
                   info[0] ? info : NULL);
}
