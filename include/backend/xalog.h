/*
 * xalog.h - the decision log of two-phase (XA) transactions, and recovery
 * of the branches a crash left prepared.
 *
 * The log is a text file, appended to by every worker:
 *   myshard-xa-log v1 instance=<8 hex>     (first line, written once)
 *   C <gtrid>                              commit decided (synced)
 *   D <gtrid>                              every branch committed
 * A transaction's global id is "myshard:<instance>:<n>" and each branch's
 * qualifier is its shard's name, so at start-up the branches of this
 * instance are told apart from anyone else's in XA RECOVER: those with a
 * C and no D are committed, the rest rolled back (presumed abort: no
 * decision was logged, so no client was told it committed).
 */
#ifndef MYSHARD_BACKEND_XALOG_H
#define MYSHARD_BACKEND_XALOG_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct server_set;

struct xa_recovery {
    int committed;   /* in-doubt branches committed per the log */
    int rolled_back; /* in-doubt branches rolled back (no decision) */
    int failed;      /* branches a statement failed on */
    int unreachable; /* primaries that could not be asked */
    int foreign;     /* prepared branches of others, left alone */
};

/* Opens the log (creating it with a new instance id when missing), then
 * resolves this instance's prepared branches on every shard primary. The
 * log keeps the decisions of branches that could not be resolved. False
 * with a message when the log cannot be opened or is not a decision log. */
bool xalog_open(const struct cfg *cfg, const struct server_set *set,
                struct xa_recovery *rec, char *err, size_t errlen);
/* True once xalog_open succeeded. */
bool xalog_enabled(void);
/* A new global transaction id, unique across restarts. */
void xalog_next_gtrid(char *out, size_t len);
/* Records the commit decision durably; false on an I/O error (then the
 * transaction must be rolled back). Thread-safe. */
bool xalog_commit(const char *gtrid);
/* Records that every branch committed (not synced: losing it only makes
 * recovery look for branches that are gone). Thread-safe. */
void xalog_done(const char *gtrid);
/* The decision was logged but XA COMMIT failed on some shard (a server
 * restarting, a lost connection): a thread keeps committing the branches
 * still in XA RECOVER every 2 s until none is left, then logs it done.
 * Thread-safe. */
void xalog_commit_incomplete(const char *gtrid);
/* How many of those wait for the resolver now: transactions in doubt on
 * some shard (committed in the log, a branch still prepared). Thread-safe;
 * 0 when the log is not open. */
int xalog_in_doubt(void);
void xalog_close(void);

#endif
