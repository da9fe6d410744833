/*
 * diagnostics.h - SHOW WARNINGS and SHOW ERRORS while backend connections
 * are shared. The server keeps a statement's warnings on the connection
 * that ran it, and the pool lends that connection to other clients: a
 * SHOW WARNINGS sent to whichever connection the pool hands out shows
 * another client's warnings (their values included) or none. So a
 * statement that ends with warnings or an error on a connection the
 * session does not otherwise hold keeps it (PIN_WARNINGS) as long as the
 * server would keep them: SHOW WARNINGS, SHOW ERRORS, their COUNT(*)
 * forms and every statement that names no table (SELECT @@warning_count,
 * SET, DO) run there; the next statement that names a table, or another
 * command, gives it back first. With no connection held, those SHOWs are
 * answered here, empty (nothing the session ran left any on a server),
 * never from a connection another client used.
 */
#ifndef MYSHARD_SESSION_DIAGNOSTICS_H
#define MYSHARD_SESSION_DIAGNOSTICS_H

#include <stdbool.h>

struct session;
struct stmt_info;

/* st is SHOW WARNINGS, SHOW ERRORS or SHOW COUNT(*) WARNINGS/ERRORS. */
bool diag_is_show(const struct stmt_info *st);

/* A command starts: st its statement (classified; NULL for a command that
 * is not a query, or a batch). Unless it names no table, the connection
 * kept for the last statement's warnings goes back. */
void diag_statement_start(struct session *s, const struct stmt_info *st);

/* One of the SHOWs above with no connection held: answered here (no
 * rows, or a count of 0), the command done. False: it runs on the held
 * connection. */
bool diag_answer(struct session *s, const struct stmt_info *st);

#endif
