/*
 * serverconn.h - one connection to a backend server, speaking the wire
 * protocol itself: TCP connect with connect_timeout, the server's greeting,
 * mysql_native_password or caching_sha2_password (fast and full auth), then
 * raw packet I/O that the session layer drives. While a connection is lent,
 * its read and error events go to the borrower's callbacks; while idle in the
 * pool, to the pool (which closes it on any event: the server went away).
 */
#ifndef MYSHARD_BACKEND_SERVERCONN_H
#define MYSHARD_BACKEND_SERVERCONN_H

#include <stdbool.h>
#include <stdint.h>
#include "backend/sessvars.h"
#include "base/util.h"

struct conn;
struct event;
struct pool;
struct server;
struct serverconn;

enum sc_state {
    SC_CONNECTING = 0, /* TCP connect in flight */
    SC_AUTH,           /* greeting received, authenticating */
    SC_SETUP,          /* logged in; session tracking being set */
    SC_IDLE,           /* ready, in the pool */
    SC_LENT,           /* lent to a session */
    SC_CLOSED,         /* failed or closed; freed by its pool */
};

/* Borrower callbacks: data arrived, or the connection failed/closed. */
typedef void (*sc_read_fn)(struct serverconn *sc, void *arg);
typedef void (*sc_error_fn)(struct serverconn *sc, void *arg, const char *why);
/* Connect result: err == 0 on success, else a code with msg. */
typedef void (*sc_ready_fn)(struct serverconn *sc, int err, const char *msg);

struct serverconn {
    struct server *srv;  /* (ref) owned by the proxy */
    struct pool *pool;   /* (ref) the pool it belongs to */
    struct conn *conn;   /* owned */
    struct event *timer; /* owned; connect timeout */
    enum sc_state state;
    uint32_t thread_id; /* server's connection id, for KILL QUERY */
    uint32_t server_caps;
    uint8_t scramble[20];
    uint8_t auth_seq; /* next sequence id during authentication */
    bool sha2_full;   /* caching_sha2 full authentication under way */
    bool tls;         /* the connection runs TLS (handshake done) */
    bool gtid_track;  /* its OKs report the GTID of each write */
    char plugin[64];

    /* Session state currently set on the server side of this connection. */
    char schema[65];       /* current database ("" = none) */
    uint8_t charset;       /* collation id in effect (0 = unknown) */
    int sql_mode_seen;     /* srv->sql_mode when its session sql_mode was
                              last the server's global (connect, reset) */
    struct sessvars vars;  /* variables a client SET on it */
    struct sc_stmt *stmts; /* owned; statements prepared on it (cache) */
    int nstmts;
    uint64_t stmt_clock; /* use counter for LRU eviction */

    sc_ready_fn on_ready; /* set by the pool while connecting */
    sc_read_fn on_read;   /* borrower's */
    sc_error_fn on_error; /* borrower's */
    void *arg;            /* borrower's */

    int64_t idle_since_ms;   /* monotonic ms when returned to the pool */
    bool noncore;            /* lent holding a noncore place */
    struct serverconn *next; /* pool idle list */
    struct serverconn *prev;
};

/* A statement prepared on this connection for some client. */
struct sc_stmt {
    uint64_t hash; /* of the text */
    char *sql;     /* owned copy of the text */
    size_t len;
    uint32_t id;   /* the server's statement id */
    uint64_t used; /* stmt_clock at last use */
    /* the connection's database when it was prepared: the server binds
     * the statement's unqualified names to it for good */
    char schema[65];
};

/* The statement that makes a connection report its writes' GTIDs; sent
 * at login and again after every COM_RESET_CONNECTION. */
extern const char serverconn_setup_sql[];

/* Statements kept prepared per connection: far below the servers'
 * max_prepared_stmt_count even with hundreds of connections. */
#define SC_MAX_STMTS 32

/* The server's id of text on this connection, prepared while its current
 * database was the one it has now (sc->schema), or 0 when not prepared so.
 * A statement prepared in another database reads that database's tables:
 * it is never handed to a client of this one. */
uint32_t serverconn_stmt_find(struct serverconn *sc, const char *sql,
                              size_t len);
/* The same, for a text whose serverconn_stmt_hash() the caller kept. */
uint32_t serverconn_stmt_find_hashed(struct serverconn *sc, uint64_t hash,
                                     const char *sql, size_t len);
/* The hash serverconn_stmt_find_hashed() takes. */
uint64_t serverconn_stmt_hash(const char *sql, size_t len);
/* Records text as prepared under id in the connection's current database
 * (sc->schema). When the cache is full, the least
 * recently used statement is closed (COM_STMT_CLOSE, queued on the
 * connection; it has no answer). */
void serverconn_stmt_add(struct serverconn *sc, const char *sql, size_t len,
                         uint32_t id);

/* Starts connecting; on_ready runs on the worker's loop with the result.
 * Returns NULL only when no socket could be created. The caller has taken
 * the connection's place in srv->conns; serverconn_free gives it back. */
struct serverconn *serverconn_connect(struct pool *pool, sc_ready_fn on_ready);
/* Routes read/error events to a borrower (lend) or back to the pool. */
void serverconn_lend(struct serverconn *sc, sc_read_fn on_read,
                     sc_error_fn on_error, void *arg);
void serverconn_unlend(struct serverconn *sc);
/* The connection's input and output buffers. */
struct evbuffer *serverconn_input(struct serverconn *sc);
struct evbuffer *serverconn_output(struct serverconn *sc);
/* The server reset the session (COM_RESET_CONNECTION): forget its
 * variables, character set and prepared statements; the schema stays. */
void serverconn_forget_state(struct serverconn *sc);
/* Closes the socket and frees; updates the server's connection count. */
void serverconn_free(struct serverconn *sc);

#endif
