/*
 * gate.h - what a client may send through the shared backend account
 * (README "The gate: schemas, read_only and shared-identity statements").
 * Every statement of a command - each one of a multi-statement batch, the
 * text of a COM_STMT_PREPARE or an SQL PREPARE, the statement inside
 * SET STATEMENT ... FOR and EXPLAIN - is checked as if it were sent alone:
 *  - schemas: every table reference and every qualifier names one of the
 *    user's schemas; mysql, performance_schema and sys are refused;
 *    information_schema is filtered to the user's schemas or refused;
 *  - read_only users: an allow-list of statements (1290 otherwise);
 *  - shared-identity statements (SET GLOBAL, accounts, KILL of others,
 *    FLUSH, SHUTDOWN, XA, LOAD DATA INFILE, INTO OUTFILE ...) are refused
 *    for every user; KILL of the client's own id and SHOW PROCESSLIST are
 *    answered here;
 *  - deny policies match each statement's own digest (protect.h).
 * Anything the gate cannot tell (a lexing error, more tables than the
 * classifier keeps) is refused: it fails closed.
 */
#ifndef MYSHARD_SESSION_GATE_H
#define MYSHARD_SESSION_GATE_H

#include <stdbool.h>
#include <stddef.h>

struct session;
struct stmt_info;

enum gate_verdict {
    GATE_PASS = 0, /* go on with the command */
    GATE_DONE,     /* refused or answered: the command is done */
    GATE_REWRITTEN /* s->cmd now holds a filtered text (information_schema):
                      classify it again and call gate_check with filtered */
};

/* Checks the command text sql[0..len) of s (COM_QUERY, or COM_STMT_PREPARE
 * when prepared). st is the classification of its first statement, and is
 * left as it is for a single statement; for a batch it holds some
 * statement of it afterwards (classify again before routing). filtered:
 * the text is one gate_check rewrote, whose information_schema references
 * are already filtered. */
enum gate_verdict gate_check(struct session *s, const char *sql, size_t len,
                             struct stmt_info *st, bool prepared,
                             bool filtered);

#endif
