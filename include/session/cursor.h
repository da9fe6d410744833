/*
 * cursor.h - server-side cursors as the client sees them: a
 * COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY answers with the column
 * definitions and an EOF carrying SERVER_STATUS_CURSOR_EXISTS, and each
 * COM_STMT_FETCH returns the next rows, the fetch that reaches the end
 * with SERVER_STATUS_LAST_ROW_SENT, as MariaDB does.
 *
 * The statement runs through the engine like any other (one shard
 * relayed, several merged), its answer going into the cursor's buffer
 * instead of the client's output. Outside a transaction the run goes on
 * after the header reached the client: its connections stay with the
 * cursor and are read only as far as the client fetches (the buffer holds
 * at most CURSOR_READ_AHEAD bytes), so memory stays flat for any result;
 * they go back to the pool when the rows end or the cursor closes. On a
 * connection the session holds (a transaction, a pinned session) the
 * whole result is read into the buffer first, up to CURSOR_BUFFER_MAX.
 */
#ifndef MYSHARD_SESSION_CURSOR_H
#define MYSHARD_SESSION_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "session/session_types.h"

struct evbuffer;
struct pstmt;
struct route_plan;

/* Rows read ahead of the client's fetches, per cursor (bytes). */
#define CURSOR_READ_AHEAD (256 * 1024)
/* A result read whole (a cursor on a held connection) may take this many
 * bytes; past it the EXECUTE fails and the rest is read and dropped. */
#define CURSOR_BUFFER_MAX (64 * 1024 * 1024)

/* Runs plan for an EXECUTE of ps that asked for a cursor (exec: the
 * payloads each connection gets, as engine_run() takes them). */
void cursor_execute(struct session *s, struct pstmt *ps,
                    const struct route_plan *plan, const uint8_t *exec,
                    size_t exec_len, const size_t *exec_ends);
/* An answer myshard made itself for an EXECUTE of ps that asked for a
 * cursor (answer: owned from here on, whole): a result set becomes a
 * cursor over its rows, as a server opens one; anything else goes to the
 * client as it is. The caller ends the command. */
void cursor_adopt(struct session *s, struct pstmt *ps, struct evbuffer *answer);
/* COM_STMT_FETCH. */
void cursor_cmd_fetch(struct session *s);
/* Closes statement id's cursor, if open (COM_STMT_RESET, COM_STMT_CLOSE,
 * a new EXECUTE of it): its connections are dropped, its buffer freed. */
void cursor_close(struct session *s, uint32_t id);
/* Closes every cursor (the client is gone or reset its session). */
void cursor_close_all(struct session *s);
/* The client's output drained: a FETCH paused on it goes on. */
void cursor_client_drained(struct session *s);

#endif
