/*
 * binproto.h - the prepared-statement (binary) protocol as plain codecs:
 * COM_STMT_PREPARE_OK, the parameters of COM_STMT_EXECUTE, and binary
 * result rows. No sockets and no statement registry: the caller keeps each
 * statement's parameter count and bound types and passes them in.
 *
 * A "type word" is 16 bits, the MYSQL_TYPE_* in the low byte and
 * BINPROTO_UNSIGNED for unsigned integers, exactly as COM_STMT_EXECUTE
 * sends a parameter type. Column types of binary rows use the same words
 * (the column's type, BINPROTO_UNSIGNED when its flags carry UNSIGNED_FLAG).
 *
 * Decoded values point into the packet they came from. Every decoder is
 * bounds-checked and returns false on malformed input: a truncated value, a
 * date or time of a length the protocol does not define, an unknown type,
 * or bytes left over after the last value.
 */
#ifndef MYSHARD_PROTO_BINPROTO_H
#define MYSHARD_PROTO_BINPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

struct pktbuf;

#define BINPROTO_UNSIGNED 0x8000 /* type word flag: unsigned integer */

/* COM_STMT_EXECUTE flags (cursor types) */
#define CURSOR_TYPE_NO_CURSOR  0x00
#define CURSOR_TYPE_READ_ONLY  0x01
#define CURSOR_TYPE_FOR_UPDATE 0x02
#define CURSOR_TYPE_SCROLLABLE 0x04

/* Binary DATE, DATETIME, TIMESTAMP and TIME values. */
struct binproto_time {
    uint16_t year;        /* DATE/DATETIME/TIMESTAMP; 0 for TIME */
    uint8_t month;        /* 1..12, 0 in zero dates */
    uint8_t day;          /* 1..31, 0 in zero dates */
    uint32_t days;        /* TIME only: whole days of the interval */
    uint8_t hour;         /* 0..23 */
    uint8_t minute;       /* 0..59 */
    uint8_t second;       /* 0..59 */
    uint32_t microsecond; /* 0..999999 */
    bool negative;        /* TIME only: a negative interval */
};

/* One parameter or column value. Which members hold the value depends on
 * type:
 *  - TINY, SHORT, YEAR, INT24, LONG, LONGLONG: i64 (signed view) and u64
 *    (unsigned view) both hold it; read the one is_unsigned names;
 *  - FLOAT, DOUBLE: f64 (a FLOAT widened);
 *  - DATE, DATETIME, TIMESTAMP, TIME: tm;
 *  - every string-like type (VARCHAR, VAR_STRING, STRING, *BLOB, DECIMAL,
 *    NEWDECIMAL, BIT, ENUM, SET, JSON, GEOMETRY): str and len.
 */
struct binproto_value {
    uint8_t type;       /* MYSQL_TYPE_* */
    bool is_null;       /* SQL NULL: no other member is meaningful */
    bool is_unsigned;   /* integer types: BINPROTO_UNSIGNED was set */
    bool long_data;     /* parameter sent by COM_STMT_SEND_LONG_DATA: its
                           bytes are not in the packet */
    const uint8_t *str; /* string types: points into the packet (decoders)
                           or into the caller's memory (encoders) */
    size_t len;         /* bytes at str */
    int64_t i64;
    uint64_t u64;
    double f64;
    struct binproto_time tm;
};

/* COM_STMT_PREPARE_OK. */
struct binproto_prepare_ok {
    uint32_t stmt_id;
    uint16_t num_columns; /* column definitions that follow */
    uint16_t num_params;  /* parameter definitions that follow */
    uint16_t warnings;
};

/* The fixed part of COM_STMT_EXECUTE. */
struct binproto_execute {
    uint32_t stmt_id;
    uint8_t flags;         /* CURSOR_TYPE_* */
    uint32_t iterations;   /* always 1 in practice */
    bool new_params_bound; /* the packet carried parameter types */
};

/* Parses a COM_STMT_PREPARE_OK payload (first byte 0x00). The warning count
 * is optional on the wire (0 when absent). False when malformed. */
MUST_CHECK bool binproto_parse_prepare_ok(const uint8_t *p, size_t len,
                                          struct binproto_prepare_ok *ok);

/* Appends a COM_STMT_PREPARE_OK payload to pb (not framed). */
void binproto_write_prepare_ok(struct pktbuf *pb,
                               const struct binproto_prepare_ok *ok);

/* Reads the statement id of a COM_STMT_EXECUTE payload (p[0] == 0x17), so
 * the caller can find the statement's parameter count and types before
 * parsing the rest. False when the payload is too short or not an execute.
 * MariaDB clients may send 0xFFFFFFFF for "the statement just prepared". */
MUST_CHECK bool binproto_execute_stmt_id(const uint8_t *p, size_t len,
                                         uint32_t *stmt_id);

/*
 * Parses a COM_STMT_EXECUTE payload, command byte included, for a statement
 * of nparams parameters into ex and vals[0..nparams).
 *  - types (nparams words, may be NULL when nparams == 0) holds the types
 *    bound by an earlier execute when *types_bound; when this packet binds
 *    new types they are copied into types and *types_bound is set, but only
 *    if the whole packet parses, so a malformed packet changes nothing.
 *  - long_data (may be NULL) marks parameters sent with
 *    COM_STMT_SEND_LONG_DATA since the last execute or reset: they take no
 *    bytes here and come back with long_data set.
 * Values point into p. False when the packet is malformed, or a non-NULL
 * parameter has no type (none bound now or before).
 */
MUST_CHECK bool binproto_parse_execute(const uint8_t *p, size_t len,
                                       uint16_t nparams, uint16_t *types,
                                       bool *types_bound, const bool *long_data,
                                       struct binproto_execute *ex,
                                       struct binproto_value *vals);

/*
 * Appends a COM_STMT_EXECUTE payload to pb (not framed): command byte,
 * stmt_id, flags, iteration count 1, NULL bitmap, and when send_types the
 * new-params-bound flag with each value's type word (type, plus
 * BINPROTO_UNSIGNED when is_unsigned), then the non-NULL values.
 * Values with long_data set are neither NULL nor written. A value whose
 * type has no binary encoding sets pb->failed, so pktbuf_send refuses it.
 */
void binproto_write_execute(struct pktbuf *pb, uint32_t stmt_id, uint8_t flags,
                            const struct binproto_value *vals, uint16_t n,
                            bool send_types);

/* Appends one non-NULL value in its binary encoding, chosen by v->type.
 * Returns false (writing nothing) for a type with no binary encoding. */
bool binproto_put_value(struct pktbuf *pb, const struct binproto_value *v);

/*
 * Appends a binary result row to pb (not framed): 0x00, the NULL bitmap
 * (column i at bit i + 2), and the non-NULL values of vals[0..n) encoded by
 * their type. Returns false for a value whose type has no binary encoding
 * (pb then holds a partial row; the caller resets it).
 */
bool binproto_write_row(struct pktbuf *pb, const struct binproto_value *vals,
                        size_t n);

/*
 * Parses a binary result row of n columns whose type words are types[0..n)
 * into vals[0..n). Values point into p. False when malformed (wrong header,
 * truncated, or bytes left over).
 */
MUST_CHECK bool binproto_parse_row(const uint8_t *p, size_t len,
                                   const uint16_t *types, size_t n,
                                   struct binproto_value *vals);

#endif
