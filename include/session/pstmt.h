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
struct stmt_info;

/* The largest classification a statement keeps (sql_info_save() bytes);
 * a larger one is classified again at each EXECUTE. */
#define PSTMT_INFO_MAX 4096

/* Slots of a session's prepared statement index: ids are handed out in
 * sequence, so the first PSTMT_INDEX statements of a session each get one
 * (an EXECUTE finds its statement without walking the list). */
#define PSTMT_INDEX 64

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
    /* What EXECUTE learns once: the text and its mode never change, so
     * neither does their classification (session/pstmt.h's
     * pstmt_classify) or whether it is a SET of the lexing mode. */
    void *info;     /* owned; sql_info_save() copy, or NULL: not kept */
    int8_t as_text; /* run as a text statement: -1 not known yet, 0, 1 */
    /* The gate let the statement through under this config generation
     * (wctx.cfg_gen), user and schema (indexes into that generation); any
     * other, and it goes through the gate again. */
    bool gate_ok;
    uint64_t gate_gen;
    int gate_user;
    int gate_schema;
    struct pstmt *next;
};

/* The backend answered a PREPARE made for the client on sc: register it
 * (and note it prepared on sc). */
void pstmt_register(struct session *s, struct serverconn *sc, uint16_t nparams,
                    uint16_t ncols);
/* Takes ps out of the session's index (before it is unlinked and freed). */
void pstmt_unindex(struct session *s, const struct pstmt *ps);
/* Frees one statement (unlinked by the caller). */
void pstmt_free(struct pstmt *ps);
/* Forgets every statement (COM_RESET_CONNECTION, change user, close). */
void pstmt_free_all(struct session *s);
struct pstmt *pstmt_find(struct session *s, uint32_t id);
void pstmt_clear_long_data(struct pstmt *ps);
/* The classification of ps's text into *st: restored from ps's copy, or
 * classified (and the copy kept when it fits in PSTMT_INFO_MAX). False
 * when the text does not lex (st->lex_error; nothing kept). The spans of
 * *st point into ps->sql. */
bool pstmt_classify(struct pstmt *ps, struct stmt_info *st);
/* The gate let ps through before under the session's config generation,
 * user and schema, so it would again: the gate reads nothing else that
 * can change (session/gate.h). Fails closed: false unless recorded by
 * pstmt_gate_note() under the same three. */
bool pstmt_gate_passed(const struct session *s, const struct pstmt *ps);
/* Records that the gate let ps through, as one statement checked whole
 * (the caller knows), under the session's generation, user and schema. */
void pstmt_gate_note(const struct session *s, struct pstmt *ps);
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
