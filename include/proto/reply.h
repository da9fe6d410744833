/*
 * reply.h - readers of the server's short answers: OK, ERR and EOF packets
 * and the column count that opens a result set. Their writers are
 * proto_write_ok/err/eof in pktbuf.h; these are the other direction, for
 * whoever reads a backend's response (relay, merge, backend logins). Pure
 * functions over one payload: no allocation, results point into it.
 *
 * An EOF is 0xFE with a payload under 9 bytes; a row or column definition
 * may begin with 0xFE only as the prefix of an 8-byte length, so the size
 * tells them apart (reply_is_eof).
 */
#ifndef MYSHARD_PROTO_REPLY_H
#define MYSHARD_PROTO_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define REPLY_EOF_MAX_LEN 9 /* EOF payloads are shorter than this */

/* An OK packet (header 0x00, or 0xFE for the OK that ends a result set
 * under CLIENT_DEPRECATE_EOF). */
struct reply_ok {
    uint64_t affected;   /* affected rows */
    uint64_t insert_id;  /* last insert id */
    uint16_t status;     /* SERVER_* flags */
    uint16_t warnings;   /* 0 when the packet stops after the status */
    const uint8_t *info; /* human-readable info, not NUL-terminated */
    size_t info_len;
};

/* An ERR packet: 0xFF, code, optionally '#' and a 5-byte SQLSTATE, then
 * the message. */
struct reply_err {
    uint16_t code;      /* 0 when the packet is too short to hold one */
    char state[6];      /* "HY000" when the packet carries none */
    const uint8_t *msg; /* not NUL-terminated */
    size_t msg_len;
};

/* An EOF packet (protocol 4.1): 0xFE, warnings, status. */
struct reply_eof {
    uint16_t warnings; /* 0 when absent */
    uint16_t status;   /* 0 when absent */
};

/* Is a packet of first byte `first` and payload `len` bytes an EOF? */
static inline bool
reply_is_eof(uint8_t first, size_t len)
{
    return first == 0xfe && len > 0 && len < REPLY_EOF_MAX_LEN;
}

/* Reads an OK. Header, affected rows, insert id and status are required;
 * warnings and info may be missing. The info is the text alone in either
 * form: the rest of the packet, or (CLIENT_SESSION_TRACK) length-encoded
 * and followed by the session state (a rest of the packet that is exactly
 * one length-encoded string is read as that string). False when
 * malformed. */
MUST_CHECK bool reply_parse_ok(const uint8_t *p, size_t len,
                               struct reply_ok *ok);

/*
 * Reads an OK a server sent under CLIENT_SESSION_TRACK with
 * SERVER_SESSION_STATE_CHANGED in its status: after the warnings come a
 * length-encoded info and a length-encoded block of session-state changes,
 * which *state / *state_len get (pointing into p; ok->info is the info).
 * False when malformed or the flag is not set: then nothing changed.
 */
MUST_CHECK bool reply_parse_ok_state(const uint8_t *p, size_t len,
                                     struct reply_ok *ok, const uint8_t **state,
                                     size_t *state_len);

/* Finds the tracked system variable name (SESSION_TRACK_SYSTEM_VARIABLES
 * entries) in a state block; *val / *vlen point into it. False when absent
 * or the block is malformed. */
MUST_CHECK bool reply_state_sysvar(const uint8_t *state, size_t len,
                                   const char *name, const uint8_t **val,
                                   size_t *vlen);

/*
 * The OK of reply_parse_ok_state() as the server sends it to a client
 * without CLIENT_SESSION_TRACK: the same counts, the status without
 * SERVER_SESSION_STATE_CHANGED, the info (length-encoded, only when not
 * empty), no state block. Writes into out (room for len bytes: it never
 * grows) and returns the new length; 0 when p is not such an OK.
 */
size_t reply_ok_untrack(const uint8_t *p, size_t len, uint8_t *out);

/* Reads an ERR (p[0] == 0xFF). Never fails on a short packet: what is
 * missing reads as code 0, state "HY000" and an empty message; false only
 * when the packet is not an ERR. */
MUST_CHECK bool reply_parse_err(const uint8_t *p, size_t len,
                                struct reply_err *err);

/* Reads an EOF; false when reply_is_eof() does not hold. */
MUST_CHECK bool reply_parse_eof(const uint8_t *p, size_t len,
                                struct reply_eof *eof);

/*
 * Reads the column count that opens a result set: a length-encoded integer,
 * at least 1. *rest gets the bytes after it (MariaDB's metadata-follows
 * byte, when that was negotiated; 0 otherwise). False when malformed or 0.
 */
MUST_CHECK bool reply_parse_column_count(const uint8_t *p, size_t len,
                                         uint64_t *n, size_t *rest);

#endif
