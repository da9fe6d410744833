/*
 * session_types.h - one client connection and the worker context it lives in.
 */
#ifndef MYSHARD_SESSION_SESSION_TYPES_H
#define MYSHARD_SESSION_SESSION_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/pool.h"
#include "backend/sessvars.h"
#include "proto/packet.h"
#include "sql/lexer.h"
#include "session/digests.h"
#include "session/engine_types.h"
#include "session/protect.h"
#include "session/relay.h"
#include "session/stats.h"

struct conn;
struct event;
struct cfg;
struct server_set;
struct worker;
struct pool;
struct route_plan;
struct stmt_info;
struct rewrite_rename;
struct serverconn;
struct pstmt;
struct txn;
struct qcache;
struct cache_fill;
struct write_marks;
struct login;
struct session_hooks;
struct cursor;
struct tablemeta;
struct tm_snap;

/* Bit positions of enum pin_reason (below). */
#define PIN_REASONS STATS_PIN_REASONS

/* Per-worker state of the session layer; owned by the worker thread. */
struct wctx {
    struct worker *w;                  /* (ref) */
    const struct session_hooks *hooks; /* (ref) session.c's, session.h */
    struct cfg *cfg;                   /* (ref held) the generation in use */
    struct server_set *servers;        /* (ref) shared; grows by reloads */
    struct pool **pools;               /* owned; one per server, npools */
    int npools; /* servers of the set this worker has pools for: a reload
                   that appends shards adds theirs (reload_use_cfg) */
    struct session *sessions; /* every live session (list head) */
    int nsessions;
    /* Counts the generations this worker has used (reload_use_cfg): what
     * was decided under one is keyed by its number, which, unlike the
     * generation's address, is never reused. */
    uint64_t cfg_gen;
    uint32_t id_base; /* session ids: id_base + counter */
    uint32_t next_id;
    bool draining;               /* shutting down: no new statements */
    _Atomic long long questions; /* statements seen, COM_STATISTICS */
    struct stats stats;          /* this worker's counters (stats.h) */
    struct stats_user *ustats;   /* owned; per user of cfg (nustats) */
    int nustats;
    /* owned; statements by [user][shard + 1][route][kind] (shard 0 = more
     * than one or none), dimensions of the config it was made for */
    _Atomic long long *qmatrix;
    int q_users, q_shards;
    struct digest_table digests;     /* normalized statements seen here */
    struct protect_memo policy_memo; /* policies by statement shape */
    struct qcache *qcache; /* owned; the hot-key cache (session/qcache.h) */
    struct rewrite_rename *renames; /* owned; schemas named differently on
                                       the servers (backend_schema) */
    int nrenames;
    int64_t started_ms;
    struct tablemeta *tmeta; /* (ref) the tables' columns (backend/
                                tablemeta.h), NULL when not kept */
    struct tm_snap *tm_snap; /* (ref held) the snapshot in use here */
    struct route_plan *plan; /* owned; the router's output, reused */
    struct stmt_info *stmt;  /* owned; scratch for the statement being
                                classified (statements are classified
                                synchronously, so one per worker) */
};

/* A prepared statement the proxy answers itself (USE), so the server never
 * sees it. Ids are LOCAL_STMT_BASE + n, far from the ids servers hand out. */
#define LOCAL_STMT_BASE 0xFFFE0000u
struct local_stmt {
    uint32_t id;
    int schema; /* index into cfg->schemas: what EXECUTE switches to */
    struct local_stmt *next;
};

enum sess_state {
    SESS_HANDSHAKE = 0, /* greeting sent, waiting for HandshakeResponse */
    SESS_AUTH_SWITCH,   /* login exchange: waiting for the client's next
                           packet (session/login.c) */
    SESS_AUTH_DELAY,    /* login refused: the answer is held back
                           (login.throttle), then the client is closed */
    SESS_IDLE,          /* ready for a command */
    SESS_WAIT_BACKEND,  /* command held until a backend connection arrives */
    SESS_PRELUDE,       /* syncing schema/charset on the backend */
    SESS_RELAY,         /* backend response flowing to the client */
    SESS_CLOSING,       /* flushing a last packet, then freed */
};

/* Why a client holds on to its backend connection between statements. */
enum pin_reason {
    PIN_TRANSACTION = 1 << 0,  /* the server reported an open transaction */
    PIN_SESSION_VARS = 1 << 1, /* SET of session state */
    PIN_USER_VARS = 1 << 2,    /* user variables */
    PIN_TEMP_TABLE = 1 << 3,
    PIN_LOCKS = 1 << 4,        /* GET_LOCK, LOCK TABLES */
    PIN_WARNINGS = 1 << 5,     /* the last statement's warnings or error,
                                  until the next statement
                                  (session/diagnostics.h) */
    PIN_FOUND_ROWS = 1 << 6,   /* SQL_CALC_FOUND_ROWS / FOUND_ROWS() */
    PIN_LAST_INSERT = 1 << 7,  /* not taken: LAST_INSERT_ID() is the
                                  session's own (session/lastid.h) */
    PIN_SQL_PREPARE = 1 << 8,  /* SQL-level PREPARE */
    PIN_POOL_SESSION = 1 << 9, /* the user's pool_mode is session */
};

struct session {
    uint32_t id;
    struct wctx *wc;     /* (ref) */
    struct conn *conn;   /* owned; the client socket */
    struct event *timer; /* owned; the timeout in force (session.c) */
    int64_t deadline;    /* ms: when that timeout expires, 0 for none */
    int64_t timer_due;   /* ms: when timer fires, 0 when not armed */
    char addr[64];       /* "ip:port" of the client */
    enum sess_state state;
    uint8_t scramble[20];
    bool tls;              /* the client's TLS handshake is done */
    struct login *login;   /* owned; a login exchange in progress */
    char *login_err;       /* owned; a refused login's held-back message */
    uint32_t caps;         /* negotiated capabilities */
    uint8_t charset;       /* collation id from the handshake */
    uint8_t seq;           /* next sequence id to the client */
    int user;              /* index into cfg->users, -1 before auth */
    int user_slot;         /* its connection counter (session/limits.h), -1 */
    int schema;            /* index into cfg->schemas, -1 = none */
    bool user_removed;     /* a reload removed its user: closed when the
                              statement in flight ends (session/reload.h) */
    char *stmt_schema;     /* owned; the backend schema of a statement that
                              was in flight at a reload, until it ends;
                              NULL otherwise */
    bool multi_stmts;      /* COM_SET_OPTION state */
    uint16_t status;       /* last server status seen */
    unsigned pins;         /* enum pin_reason bits */
    unsigned pins_counted; /* of those, already in wc->pins_taken */
    int64_t connected_ms;
    bool in_input;           /* inside session_process_input */
    struct sessvars vars;    /* session variables the client SET */
    struct sessvars pending; /* a SET in flight, kept if it succeeds */
    struct lex_mode lex;     /* how its statements lex (session/lexstate.h) */
    bool tracks_vars;        /* the statement in flight is that SET */
    struct sessvars uvars;   /* user variables with a known value: name ->
                                SQL text, "" unknown, "\1name" the login
                                value of @@name (session/uservars.h) */
    struct sessvars uv_pending;     /* what the statement in flight assigns */
    struct local_stmt *local_stmts; /* prepared statements myshard answers */
    uint16_t local_seq;             /* for their ids */

    /* The command in flight. */
    struct packet cmd; /* held until a backend takes it */
    uint8_t cmd_byte;
    bool counted;   /* a statement: counted when it ends */
    bool cmd_err;   /* answered with an error */
    bool timed_out; /* past query_timeout: killed, answered with 1969 */
    bool admitted;  /* passed protect_admit (a delayed statement) */
    /* session/movehold.h: the reshard whose in-flight moving writes it
     * counts in (0 none), the one holding its command and since when */
    uint64_t mv_id, mv_held_id;
    int64_t mv_held_ms;
    uint8_t route_pref;      /* enum cfg_route_pref of its policy */
    int64_t cache_ttl_ms;    /* its policy's cache TTL; 0 none */
    struct event *delay_ev;  /* owned; a leaky bucket's wait, lazily made */
    int64_t tc_until_ms;     /* waiting for a table's columns to be read
                                (session/tablecols.h) until then; 0 none */
    bool tc_forced;          /* ... and asked for that read itself */
    char *tc_ddl;            /* owned; "schema\0table\0...\0" a DDL in flight
                                changes (their columns are read again at its end) */
    struct cache_fill *fill; /* owned; a cacheable read's answer being kept */
    struct write_marks *wmarks;     /* owned; tables written, for the cache */
    struct cluster_ticket *held_ok; /* the client's output waits for the
                                       other instances (backend/cluster.h) */
    uint8_t stmt_kind;              /* enum stats_kind */
    bool stmt_limited;   /* a policy with a rate limit matched the statement */
    uint8_t stmt_route;  /* enum stats_route */
    uint16_t stmt_shard; /* shard index + 1; 0 = several or none */
    int digest_slot;     /* in wc->digests, -1 none */
    int64_t cmd_started_us;
    struct serverconn *sc;     /* held between statements (pins, transaction) */
    struct eng_run run;        /* the statement in flight (session/engine.h) */
    int64_t last_write_ms;     /* when the session last wrote through a
                                  connection that reports no GTIDs
                                  (monotonic): replicas read for it only once
                                  they are known to hold that write */
    uint64_t *gtid_wrote;      /* owned; per shard GTID_SLOTS seqnos: the
                                  session's acknowledged writes
                                  (session/consist.h); NULL before any */
    int gtid_nshards;          /* shards gtid_wrote has room for */
    uint32_t pick_seed;        /* spreads reads over weighted replicas */
    char *txn_begin;           /* owned; a BEGIN not yet sent to any shard */
    struct txn *txn;           /* owned; a transaction that may span shards
                                  (session/txn.h), NULL when none */
    uint64_t lock_shards;      /* shards where LOCK TABLES holds locks for it */
    struct serverconn **locks; /* owned, per shard (nlocks): connections
                                  holding its table locks besides s->sc
                                  (session/tablelocks.h); NULL when none */
    int nlocks;
    struct pstmt *pstmts;    /* owned; the client's prepared statements */
    struct pstmt **ps_index; /* owned; PSTMT_INDEX slots by id, NULL until
                                the first PREPARE (pstmt_find) */
    uint32_t pstmt_seq;      /* ids for them */
    struct pstmt *exec_ps;   /* the statement an EXECUTE in flight runs */
    struct cursor *cursors;  /* owned; open cursors (session/cursor.h) */
    struct cursor *fetch;    /* the one a COM_STMT_FETCH in flight reads */
    struct eng_run *crun;    /* a cursor's run the EXECUTE in flight waits
                                for (its header), for the query timeout */
    char *prep_sql;          /* owned; text of a PREPARE in flight */
    size_t prep_len;
    uint32_t prep_backend_id; /* the server's id of that PREPARE */

    /* LAST_INSERT_ID() and ROW_COUNT(), kept from the answers
     * (session/lastid.h) */
    uint64_t last_insert_id;
    int64_t row_count; /* -1 after rows or an error */
    uint8_t lid_need;  /* enum lastid_need of the statement in flight */

    struct session *next, *prev; /* wctx list */
};

#endif
