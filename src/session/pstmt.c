/*
 * pstmt.c - see pstmt.h. The engine patches the server's statement id in
 * a PREPARE_OK as it relays it, and registers the statement when the
 * answer ends.
 */
#include "session/pstmt.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "backend/serverconn.h"
#include "base/util.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "sql/classify.h"

void
pstmt_free(struct pstmt *ps)
{
    pstmt_clear_long_data(ps);
    free(ps->ld);
    free(ps->ld_len);
    free(ps->types);
    free(ps->sql);
    free(ps->info);
    free(ps);
}

void
pstmt_clear_long_data(struct pstmt *ps)
{
    for (uint16_t i = 0; ps->ld && i < ps->nparams; i++) {
        free(ps->ld[i]);
        ps->ld[i] = NULL;
        ps->ld_len[i] = 0;
    }
    ps->ld_total = 0;
}

void
pstmt_send_execute(struct evbuffer *out, const struct pstmt *ps, uint8_t *exec,
                   size_t len, uint32_t id)
{
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
    exec[1] = (uint8_t)id;
    exec[2] = (uint8_t)(id >> 8);
    exec[3] = (uint8_t)(id >> 16);
    exec[4] = (uint8_t)(id >> 24);
    seq = 0;
    packet_write(out, &seq, exec, len);
}

struct pstmt *
pstmt_find(struct session *s, uint32_t id)
{
    struct pstmt *ps;

    if (id == 0xFFFFFFFFu) /* MariaDB: the statement prepared last */
        return s->pstmts;
    if (s->ps_index != NULL) {
        ps = s->ps_index[id % PSTMT_INDEX];
        if (ps != NULL && ps->id == id)
            return ps;
    }
    for (ps = s->pstmts; ps; ps = ps->next)
        if (ps->id == id)
            return ps;
    return NULL;
}

void
pstmt_free_all(struct session *s)
{
    while (s->pstmts) {
        struct pstmt *ps = s->pstmts;
        s->pstmts = ps->next;
        pstmt_free(ps);
    }
    free(s->prep_sql);
    s->prep_sql = NULL;
    free(s->ps_index);
    s->ps_index = NULL;
}

void
pstmt_unindex(struct session *s, const struct pstmt *ps)
{
    if (s->ps_index != NULL && s->ps_index[ps->id % PSTMT_INDEX] == ps)
        s->ps_index[ps->id % PSTMT_INDEX] = NULL;
}

bool
pstmt_patch_ok(struct session *s, struct evbuffer *in)
{
    uint8_t *p;
    uint32_t id;

    if (evbuffer_get_length(in) < 5)
        return false;
    p = evbuffer_pullup(in, 5);
    if (p[4] != PKT_HDR_OK)
        return true; /* an ERR: relayed as it is */
    if (evbuffer_get_length(in) < 4 + 12)
        return false;
    p = evbuffer_pullup(in, 4 + 12);
    if (s->prep_backend_id != 0)
        return true; /* patched already */
    id = (uint32_t)p[5] | (uint32_t)p[6] << 8 | (uint32_t)p[7] << 16 |
         (uint32_t)p[8] << 24;
    s->prep_backend_id = id;
    id = ++s->pstmt_seq;
    p[5] = (uint8_t)id;
    p[6] = (uint8_t)(id >> 8);
    p[7] = (uint8_t)(id >> 16);
    p[8] = (uint8_t)(id >> 24);
    return true;
}

void
pstmt_register(struct session *s, struct serverconn *sc, uint16_t nparams,
               uint16_t ncols)
{
    struct pstmt *ps = xcalloc(1, sizeof(*ps));

    ps->id = s->pstmt_seq;
    ps->sql = s->prep_sql;
    ps->len = s->prep_len;
    ps->mode = s->lex;
    ps->hash = ps->sql ? serverconn_stmt_hash(ps->sql, ps->len) : 0;
    ps->digest_slot = -1; /* on its first EXECUTE */
    ps->as_text = -1;     /* likewise */
    s->prep_sql = NULL;
    ps->nparams = nparams;
    ps->ncols = ncols;
    if (nparams > 0) {
        ps->types = xcalloc(nparams, sizeof(*ps->types));
        ps->ld = xcalloc(nparams, sizeof(*ps->ld));
        ps->ld_len = xcalloc(nparams, sizeof(*ps->ld_len));
    }
    ps->next = s->pstmts;
    s->pstmts = ps;
    if (s->ps_index == NULL)
        s->ps_index = xcalloc(PSTMT_INDEX, sizeof(*s->ps_index));
    s->ps_index[ps->id % PSTMT_INDEX] = ps;
    if (sc != NULL && ps->sql != NULL)
        serverconn_stmt_add(sc, ps->sql, ps->len, s->prep_backend_id);
}

bool
pstmt_classify(struct pstmt *ps, struct stmt_info *st)
{
    unsigned char buf[PSTMT_INFO_MAX];
    size_t n;

    if (ps->info != NULL) {
        sql_info_restore(ps->info, st);
        return true;
    }
    if (!sql_classify(ps->sql, ps->len, ps->mode, st))
        return false;
    n = sql_info_save(st, buf, sizeof(buf));
    if (n <= sizeof(buf)) {
        ps->info = xmalloc(n);
        memcpy(ps->info, buf, n);
    }
    return true;
}

bool
pstmt_gate_passed(const struct session *s, const struct pstmt *ps)
{
    return ps->gate_ok && s->user >= 0 && ps->gate_gen == s->wc->cfg_gen &&
           ps->gate_user == s->user && ps->gate_schema == s->schema;
}

void
pstmt_gate_note(const struct session *s, struct pstmt *ps)
{
    ps->gate_ok = s->user >= 0;
    ps->gate_gen = s->wc->cfg_gen;
    ps->gate_user = s->user;
    ps->gate_schema = s->schema;
}
