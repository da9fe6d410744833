/*
 * uservars.h - user variables whose value the session knows, because they
 * were set to a literal or to a session variable the proxy follows: what
 * mariadb-dump's files save and restore around their statements
 * (SET @OLD_SQL_MODE=@@SQL_MODE, ... SET SQL_MODE=@OLD_SQL_MODE; SET
 * @saved_cs_client = @@character_set_client, ... SET character_set_client
 * = @saved_cs_client). A SET of a session variable to such a user variable
 * is sent with the value written in its place, so the proxy and every
 * server agree on it by construction, and it is followed like any SET of
 * a literal (sql_mode and the character set included).
 */
#ifndef MYSHARD_SESSION_USERVARS_H
#define MYSHARD_SESSION_USERVARS_H

#include <stdbool.h>
#include <stddef.h>

struct session;
struct stmt_info;

/* A SET (alone, not SET STATEMENT) assigning a session variable a known
 * user variable: the statement's new text with the values written in
 * (malloc'd, *out_len bytes), or NULL when nothing changes. */
char *uservars_rewrite(struct session *s, const struct stmt_info *st,
                       const char *sql, size_t len, size_t *out_len);
/* Before a statement runs: the user variables it assigns, kept if it
 * succeeds (uservars_done). A SET records what it knows of each value;
 * any other statement that may assign user variables (SELECT @a := ...,
 * INTO @a, CALL, EXECUTE, a batch) forgets them all. */
void uservars_note(struct session *s, const struct stmt_info *st);
/* The statement ended: ok keeps what uservars_note() staged. */
void uservars_done(struct session *s, bool ok);
/* COM_RESET_CONNECTION, COM_CHANGE_USER, the end of the session. */
void uservars_clear(struct session *s);

#endif
