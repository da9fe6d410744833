/*
 * prepare.h - prepared statements whose ids are myshard's own. The client
 * prepares once; each backend connection that serves an EXECUTE gets the
 * statement prepared on it when it first needs it (cached per connection),
 * so EXECUTEs route by their parameters to any shard and connections stay
 * in the pool between statements.
 */
#ifndef MYSHARD_SESSION_PREPARE_H
#define MYSHARD_SESSION_PREPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "session/session_types.h"

struct evbuffer;

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
    struct pstmt *next;
};

/* A new prepared statement would exceed max_prepared_statements for this
 * client (its statements and the prepared USEs myshard answers): sends
 * 1461, ends the command and returns true. */
bool prepare_refuse_over_cap(struct session *s);
void prepare_cmd_prepare(struct session *s);
void prepare_cmd_execute(struct session *s);
void prepare_cmd_long_data(struct session *s);
void prepare_cmd_reset(struct session *s);
void prepare_cmd_close(struct session *s);
/* The backend answered a PREPARE made for the client: register it. */
void prepare_register(struct session *s, uint16_t nparams, uint16_t ncols);
/* Forgets every statement (COM_RESET_CONNECTION, change user, close). */
void prepare_free_all(struct session *s);
struct pstmt *prepare_find(struct session *s, uint32_t id);
void prepare_clear_long_data(struct pstmt *ps);
/* Relay hook for a PREPARE in flight: once the PREPARE_OK is buffered,
 * notes the server's id and writes ours in its place. False while the
 * packet is incomplete. */
bool prepare_patch_ok(struct session *s, struct evbuffer *in);

#endif
