/*
 * binlog.h - a MariaDB primary's row-based binary log as a stream of row
 * changes, for the reshard thread's catch-up (blocking, libmariadb: never
 * call it on a worker).
 *
 * The stream connects as a replica would (COM_BINLOG_DUMP through
 * Connector/C's mariadb_rpl_* API, GTID mode) and returns, one call at a
 * time, each changed row of every table with its values as SQL literals,
 * the end of each transaction, and an idle beat when nothing happens. Rows
 * are decoded here from the row images and the table map events, not by
 * mariadb_rpl_extract_rows (which misreads CHAR, ENUM and TIMESTAMP
 * columns): every type is rendered or refused, never guessed.
 *
 * What the server must have (binlog_open checks the first two and says
 * what to set): binlog_format=ROW and binlog_row_image=FULL (global); the
 * account needs REPLICATION SLAVE and SELECT on the watched tables (the
 * columns' signedness and character sets are read once per table from
 * information_schema on a second connection, because the binary log does
 * not carry them unless binlog_row_metadata is set).
 */
#ifndef MYSHARD_BACKEND_BINLOG_H
#define MYSHARD_BACKEND_BINLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct binlog_opts {
    const char *host; /* the primary */
    int port;
    const char *user;
    const char *password;
    uint32_t server_id;     /* the replica id this stream claims: unique among
                               the primary's replicas and streams, not 0 */
    const char *gtid_start; /* position to start after ("0-1-100" or
                               "0-1-100,1-3-7"); "" or NULL: the whole
                               binary log the server still has */
    int idle_ms;            /* BINLOG_IDLE after this long without a change
                               (the primary's heartbeat period); > 0 */
    int connect_timeout_s;  /* 0: 5 s */
    /* Which tables' rows to return (NULL: every table's). Rows of other
     * tables are skipped undecoded: their tables need not exist any more
     * nor be readable. Called on the reshard thread. */
    bool (*watch)(void *arg, const char *schema, const char *table);
    void *watch_arg;
};

struct binlog;

/*
 * Connects, checks the server's variables, asks for the binary log after
 * gtid_start and reads its first events, so that a bad position, user or
 * setting fails here. NULL with a message in err on failure; otherwise a
 * stream the caller closes with binlog_close.
 */
struct binlog *binlog_open(const struct binlog_opts *o, char *err,
                           size_t errlen);

enum binlog_kind { BINLOG_INSERT, BINLOG_UPDATE, BINLOG_DELETE };

/*
 * One column's value as a SQL literal ready to paste into a statement sent
 * on a utf8mb4 connection whose time_zone is '+00:00' (TIMESTAMP values
 * are rendered in UTC), whatever its sql_mode:
 *   integers 42 -7 18446744073709551615; DECIMAL -1.50; FLOAT and DOUBLE
 *   with 17 significant digits (1.5, 1e+20); BIT as its unsigned number;
 *   ENUM and SET as their index and bit mask (both assign and compare as
 *   the same value); YEAR 2026; DATE '2026-01-02'; DATETIME and TIMESTAMP
 *   '2026-01-02 03:04:05[.ffffff]' (the column's fraction digits); TIME
 *   '-12:00:00.5'; text of utf8/ascii columns 'it''s' (quotes doubled);
 *   text with a backslash or NUL, or of another character set,
 *   _latin1 X'e9'; binary strings and BLOBs X'00ff'; JSON as its text;
 *   NULL as NULL (null is then true).
 * sql is NUL-terminated; len excludes the NUL.
 */
struct binlog_value {
    bool null;
    const char *sql;
    size_t len;
};

/*
 * A changed row. Values are by column ordinal (0-based, the table's
 * ORDINAL_POSITION - 1), ncols of them in each image present. For
 * BINLOG_DDL, only schema (the statement's default schema, may be "") and
 * statement are set.
 */
struct binlog_row {
    const char *schema, *table;
    enum binlog_kind kind;
    int ncols;
    const struct binlog_value *before; /* UPDATE, DELETE; NULL for INSERT */
    const struct binlog_value *after;  /* INSERT, UPDATE; NULL for DELETE */
    const char *statement;             /* BINLOG_DDL: the statement text */
};

enum binlog_event {
    BINLOG_ROW,    /* *row is one changed row */
    BINLOG_COMMIT, /* a transaction ended (XID, COMMIT or ROLLBACK of a
                      non-transactional change): binlog_pos now includes
                      its GTID */
    BINLOG_DDL,    /* a statement that is not row-logged DML (CREATE,
                      ALTER, DROP, TRUNCATE, GRANT, ...): *row has schema
                      and statement; the caller decides whether it touches
                      a watched table. When it was its own transaction (as
                      DDL is), binlog_pos includes its GTID. */
    BINLOG_IDLE,   /* idle_ms passed without anything returned: the server
                      sent a heartbeat (nothing new to send), or only
                      events of unwatched tables came */
    BINLOG_ERROR,  /* message in err; the stream is unusable, close it */
};

/*
 * Blocks until the next row change of a watched table, transaction end,
 * DDL statement, idle beat or error. Rows of one event are returned one per
 * call, in binlog order. Errors (fail closed, the stream stops): the connection
 * or server failed; a statement-logged DML (INSERT/UPDATE/DELETE/REPLACE/LOAD
 * as a query event: binlog_format must be ROW); an XA transaction (not
 * supported yet); a column type that cannot be rendered (named); a row
 * image lacking a column (binlog_row_image must be FULL); a table whose
 * columns in information_schema no longer match its binary log events
 * (it was altered since). Memory behind *row is valid until the next call
 * or binlog_close.
 */
MUST_CHECK enum binlog_event
binlog_next(struct binlog *b, struct binlog_row *row, char *err, size_t errlen);

/*
 * The position ("d-s-n,...", one GTID per domain) up to which every
 * transaction has been fully returned: gtid_start at first, then moved by
 * each BINLOG_COMMIT and BINLOG_DDL. Valid until the next binlog_next.
 */
const char *binlog_pos(const struct binlog *b);

/* Closes both connections and frees b; NULL is fine. */
void binlog_close(struct binlog *b);

#endif
