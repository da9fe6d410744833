/*
 * binlog_xa.h - the binary log stream's XA transactions between their
 * XA PREPARE and their XA COMMIT or ROLLBACK.
 *
 * MariaDB logs a two-phase XA transaction as two event groups: at XA
 * PREPARE its rows (a GTID event flagged "prepared XA", the rows, XA END,
 * an XA_PREPARE event naming the xid), and later one query, XA COMMIT or
 * XA ROLLBACK with the xid, in a group of its own. The changes become
 * visible at the commit, so the stream keeps the prepared rows here and
 * returns them then; a rollback drops them. Until then the stream's
 * position stays before the prepare group in its domain (hold), so that a
 * stream restarted from binlog_pos sees the prepare again.
 */
#ifndef MYSHARD_BACKEND_BINLOG_XA_H
#define MYSHARD_BACKEND_BINLOG_XA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/binlog.h"
#include "base/gtid.h"
#include "base/util.h"

struct binlog_xa_txn;

/* The prepared transactions of one stream. Zero-initialised is empty. */
struct binlog_xa {
    struct binlog_xa_txn *cur;     /* the prepare group being read */
    struct binlog_xa_txn *pending; /* prepared, oldest first */
};

/*
 * A prepare group starts in the domain whose position was hold (have_hold
 * false: the position had no GTID of that domain). False: out of memory.
 */
MUST_CHECK bool binlog_xa_begin(struct binlog_xa *x, uint32_t domain,
                                const struct gtid *hold, bool have_hold);

/* Whether a prepare group is being read (its rows go to binlog_xa_add). */
bool binlog_xa_buffering(const struct binlog_xa *x);

/* Keeps a copy of row (its values point into text, text_len bytes). */
MUST_CHECK bool binlog_xa_add(struct binlog_xa *x, const struct binlog_row *row,
                              const char *text, size_t text_len);

/* The prepare group ended with XA PREPARE of xid key (text, see
 * binlog_xa_key). False: out of memory. */
MUST_CHECK bool binlog_xa_prepared(struct binlog_xa *x, const char *key);

/* The xid as MariaDB prints it in XA COMMIT: X'gtrid',X'bqual',format. */
void binlog_xa_key(const char *xid, size_t gtrid_len, size_t bqual_len,
                   uint32_t format_id, char *out, size_t size);

/* Removes and returns the prepared transaction of key; NULL when none
 * (it was prepared before the stream's start). */
struct binlog_xa_txn *binlog_xa_take(struct binlog_xa *x, const char *key);

/* The transaction's next kept row into *row (valid until the txn is
 * freed); false when all were returned. */
bool binlog_xa_next(struct binlog_xa_txn *t, struct binlog_row *row);

void binlog_xa_txn_free(struct binlog_xa_txn *t);

/*
 * The position to report for domain: 0 when no prepared transaction holds
 * it back; 1 with *hold set when one does; -1 when one does and the
 * position had no GTID of that domain before it (then the domain is left
 * out).
 */
int binlog_xa_hold(const struct binlog_xa *x, uint32_t domain,
                   struct gtid *hold);

/* Frees every kept transaction. */
void binlog_xa_free(struct binlog_xa *x);

#endif
