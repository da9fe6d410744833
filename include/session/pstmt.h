/*
 * pstmt.h - the client's prepared statements as the session keeps them:
 * ids that are myshard's own, the text, parameter types and long data, and
 * the PREPARE_OK a server sends rewritten to carry our id.
 */
#ifndef MYSHARD_SESSION_PSTMT_H
#define MYSHARD_SESSION_PSTMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/session_types.h"

struct evbuffer;
struct serverconn;

struct pstmt {
    uint32_t id; /* the id the client knows */
    char *sql;   /* owned; text as sent to servers (renames applied) */
    size_t len;
    struct lex_mode mode; /* the session's when prepared: how it lexes */
    uint16_t nparams;
    uint16_t ncols;
    uint16_t *types; /* owned; nparams type words, once bound */
    bool types_bound;
    uint8_t **ld; /* owned; long data per parameter, or NULL */
    size_t *ld_len;
    size_t ld_total; /* bytes of long data held, all parameters */
    bool ld_over;    /* long data went over the cap: EXECUTE fails once */
    uint64_t hash;   /* serverconn_stmt_hash() of sql: each connection's
                        cache is searched by it */
    int digest_slot; /* in the worker's digests (session/digests.h) */
    struct pstmt *next;
};

/* The backend answered a PREPARE made for the client on sc: register it
 * (and note it prepared on sc). */
void pstmt_register(struct session *s, struct serverconn *sc, uint16_t nparams,
                    uint16_t ncols);
/* Frees one statement (unlinked by the caller). */
void pstmt_free(struct pstmt *ps);
/* Forgets every statement (COM_RESET_CONNECTION, change user, close). */
void pstmt_free_all(struct session *s);
struct pstmt *pstmt_find(struct session *s, uint32_t id);
void pstmt_clear_long_data(struct pstmt *ps);
/* Writes an execute payload exec[0..len) to out under the connection's
 * statement id (patched into exec), after the long data the client sent
 * for ps. */
void pstmt_send_execute(struct evbuffer *out, const struct pstmt *ps,
                        uint8_t *exec, size_t len, uint32_t id);
/* Relay hook for a PREPARE in flight: once the PREPARE_OK is buffered,
 * notes the server's id and writes ours in its place. False while the
 * packet is incomplete. */
bool pstmt_patch_ok(struct session *s, struct evbuffer *in);

#endif
