/*
 * schema.h - the schemas a session may use: lookup by the name a client
 * gives (USE, COM_INIT_DB, the handshake, COM_CHANGE_USER), the one refusal
 * for a name that is not served or not the user's, and the statement that
 * needs a schema while the session has none; the names servers know the
 * schemas by (backend_schema).
 */
#ifndef MYSHARD_SESSION_SCHEMA_H
#define MYSHARD_SESSION_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

struct session;
struct stmt_info;

/* Index into cfg->schemas of a schema user may use, or -1 with *code set
 * (ER_BAD_DB_ERROR: not served; ER_DBACCESS_DENIED_ERROR: not the
 * user's). */
int schema_find(const struct session *s, int user, const char *name, size_t len,
                int *code);
/* Sends the refusal schema_find's code stands for, naming name and user. */
void schema_send_refusal(struct session *s, int user, const char *name,
                         size_t len, int code);
/* USE name: switches the current schema and sends OK, or the refusal. */
void schema_use(struct session *s, const char *name, size_t len);
/* A statement on an unqualified table while the session has no schema (a
 * reload removed it): refused with 1046, command done -> true. */
bool schema_refuse_unqualified(struct session *s, const struct stmt_info *st);
/* Clients name schemas as the config does; servers may call them otherwise
 * (backend_schema). The text rewritten for those renames: true with a
 * malloc'd copy, false when the text needs no change. */
bool schema_rewrite_text(struct session *s, const char *sql, size_t len,
                         char **out, size_t *out_len);
/* Rewrites s->cmd (COM_QUERY or COM_STMT_PREPARE) the same way; a no-op
 * when no schema is renamed. */
void schema_rewrite_command(struct session *s);
/* The current schema's default shard (the first schema's without one). */
int schema_default_shard(const struct session *s);

#endif
