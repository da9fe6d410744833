/*
 * relay.h - walks a backend's response packet by packet and moves it to the
 * client's output buffer as-is (evbuffer chain moves, no decoding of rows).
 * It only reads what it must to find where the response ends: first bytes of
 * packets, column counts, and the status flags of OK/EOF terminators. Rows of
 * 16 MB and more are passed through as they arrive, continuation by
 * continuation, so memory stays flat.
 */
#ifndef MYSHARD_SESSION_RELAY_H
#define MYSHARD_SESSION_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/gtid.h"

struct evbuffer;
struct oksum;

/* Relaying stops while the client's output holds more than this; it goes
 * on when the output drains to the session's low-water mark. */
#define RELAY_CLIENT_HIGH_WATER (1024 * 1024)

/* What kind of response the command produces. */
enum relay_kind {
    RELAY_RESULT = 0, /* COM_QUERY, COM_STMT_EXECUTE: OK | ERR | result sets */
    RELAY_PREPARE,    /* COM_STMT_PREPARE */
    RELAY_FIELDS,     /* COM_FIELD_LIST: column defs until EOF */
    RELAY_SIMPLE,     /* one packet: OK, ERR or EOF */
};

enum relay_phase {
    RL_FIRST = 0,
    RL_COLDEFS,
    RL_COLDEFS_EOF,
    RL_ROWS,
    RL_PREP_PARAMS,
    RL_PREP_PARAMS_EOF,
    RL_PREP_COLS,
    RL_PREP_COLS_EOF,
    RL_DONE,
};

enum relay_status {
    RELAY_MORE = 0, /* needs more bytes from the backend */
    RELAY_PAUSED,   /* client output is above the high-water mark */
    RELAY_DONE,     /* the response is complete */
    RELAY_BROKEN,   /* the backend violated the protocol */
};

#define RELAY_INFO_LONG 0xff

struct relay {
    enum relay_kind kind;
    enum relay_phase phase;
    uint64_t left;     /* column/param definitions still expected */
    uint32_t fwd_left; /* payload bytes of the current packet to pass on */
    bool in_cont;      /* the next physical packet continues this one */
    bool started;      /* some byte reached the client */
    bool got_err;      /* the response (or its last result) was an ERR */
    uint16_t err_code; /* of that ERR */
    char err_msg[160]; /* its message, kept when swallowing */
    uint16_t status;   /* server status of the last OK/EOF */
    uint16_t prep_params, prep_cols;
    uint32_t prep_stmt_id;
    uint64_t affected;  /* of the last OK */
    uint64_t insert_id; /* of the last OK */
    uint16_t warnings;  /* of the last OK */
    uint8_t info_len;   /* of info; RELAY_INFO_LONG: it did not fit */
    char info[62];      /* the last OK's info text ("Rows matched: ..."),
                           which a combined OK sums (not NUL-terminated) */
    bool got_ok;        /* an OK packet was seen */
    bool rowset;        /* the last result had rows (not an OK) */
    bool got_gtid;      /* an OK reported a write's GTID (last_gtid) */
    bool untrack;       /* the packet at hand is an OK with session state,
                           rewritten for the client (who never has
                           CLIENT_SESSION_TRACK) */
    struct gtid gtid;   /* that GTID: of the last write in the response */
    uint64_t rows;      /* rows passed */
    uint64_t bytes;     /* bytes passed */
};

void relay_start(struct relay *r, enum relay_kind kind);
/*
 * Moves complete packets (and passes large ones through) from in to out
 * until the response ends, in runs dry, or out holds more than high bytes.
 * out == NULL swallows the response (state-setting preludes) but still
 * records status and errors.
 */
enum relay_status relay_pump(struct relay *r, struct evbuffer *in,
                             struct evbuffer *out, size_t high);

/* Adds the last OK r saw (r->got_ok) to os (result/oksum.h): its affected
 * rows, warnings and info text (an info that did not fit counts as one
 * that differs, so none is sent). */
void relay_oksum_add(struct oksum *os, const struct relay *r);

#endif
