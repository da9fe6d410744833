/*
 * classify_internal.h - the statement grammars of sql_classify(), one file
 * each, and the pieces of the query grammar the others reuse. Not part of
 * the sql layer's interface (sql/classify.h is).
 *
 *   classify.c          entry, dispatch on the first keyword, finish
 *   classify_stream.c   token stream, hints, flags noted per token, helpers
 *   classify_select.c   queries: WITH, SELECT, UNION, FROM, ORDER, LIMIT
 *   classify_dml.c      INSERT, REPLACE, UPDATE, DELETE
 *   classify_set.c      SET, USE
 *   classify_show.c     SHOW, as a table of words
 *   classify_txn.c      BEGIN, START, COMMIT, ROLLBACK, XA
 *   classify_ddl.c      CREATE/ALTER/DROP (one parser), RENAME, TRUNCATE,
 *                       table maintenance
 *   classify_other.c    EXPLAIN, LOCK, LOAD, HANDLER, KILL, FLUSH, PREPARE,
 *                       CALL
 *
 * A statement parser starts at the statement's first keyword, consumes what
 * it understands, fills p->st, and returns the STMT_* kind; classify.c then
 * drains whatever is left.
 */
#ifndef MYSHARD_SQL_CLASSIFY_INTERNAL_H
#define MYSHARD_SQL_CLASSIFY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "parse_internal.h"

/* classify.c: one statement at its first token (nested statements of
 * EXPLAIN and SET STATEMENT come back here). */
uint8_t parse_statement(struct parser *p);
/* classify.c: an optional object name after the keyword(s) just read. */
uint8_t parse_named(struct parser *p, uint8_t kind);

/* classify_select.c: [WITH] term {UNION term} [ORDER BY] [LIMIT] [FOR ..]
 * as block blk; top says whether its clauses are recorded. */
void parse_query(struct parser *p, unsigned blk, bool top);
void parse_with(struct parser *p, unsigned blk);
void parse_table_refs(struct parser *p, unsigned blk, unsigned tflags);
void parse_select_list(struct parser *p, unsigned blk, bool rec);
/* ORDER BY / GROUP BY item list at ORDER or GROUP. */
void parse_order_list(struct parser *p, unsigned blk, struct sql_order *out,
                      uint8_t *count, bool rec);
void parse_limit(struct parser *p, bool rec);

/* classify_dml.c */
uint8_t parse_insert(struct parser *p, uint8_t kind);
uint8_t parse_update(struct parser *p);
uint8_t parse_delete(struct parser *p);

/* classify_set.c */
uint8_t parse_set(struct parser *p);
uint8_t parse_use(struct parser *p);

/* classify_show.c */
uint8_t parse_show(struct parser *p);

/* classify_txn.c */
uint8_t parse_begin(struct parser *p);
uint8_t parse_start(struct parser *p);
uint8_t parse_commit(struct parser *p);
uint8_t parse_rollback(struct parser *p);
uint8_t parse_xa(struct parser *p);

/* classify_ddl.c: CREATE, ALTER or DROP (verb is DDL_CREATE, DDL_ALTER or
 * DDL_DROP) at the verb. */
uint8_t parse_ddl(struct parser *p, uint8_t verb);
uint8_t parse_rename(struct parser *p);
uint8_t parse_truncate(struct parser *p);
uint8_t parse_maint(struct parser *p);

/* classify_other.c; parse_explain starts after EXPLAIN / DESCRIBE (or
 * MariaDB's ANALYZE, then analyze is true). */
uint8_t parse_explain(struct parser *p, bool analyze);
uint8_t parse_lock(struct parser *p);
uint8_t parse_load(struct parser *p);
uint8_t parse_handler(struct parser *p);
uint8_t parse_kill(struct parser *p);
uint8_t parse_flush(struct parser *p);
uint8_t parse_prepare(struct parser *p);
uint8_t parse_call(struct parser *p);

#endif
