/*
 * column.h - a result column as the merge compares and aggregates it: the
 * fixed fields of its ColumnDefinition41 and what follows from them, the
 * comparison class (how two values of the column order) and the binary
 * protocol type word its binary rows are decoded with.
 *
 * Classes, from the type, flags and collation id:
 *  - integers (TINY..LONGLONG, INT24, YEAR): exact, signed or UNSIGNED;
 *  - DECIMAL/NEWDECIMAL: exact decimals;
 *  - FLOAT/DOUBLE: doubles;
 *  - DATE/DATETIME/TIMESTAMP: by their text (it sorts) or binary fields;
 *  - TIME: signed intervals;
 *  - strings: charset 63 (binary), BIT, GEOMETRY and JSON bytewise; with
 *    BINARY_FLAG (a _bin collation) bytewise with PAD SPACE; otherwise
 *    ASCII case-insensitive with PAD SPACE. NO PAD collations (MySQL 8 ids
 *    255..323, MariaDB ids 1024..2047) count trailing spaces.
 */
#ifndef MYSHARD_RESULT_COLUMN_H
#define MYSHARD_RESULT_COLUMN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

enum column_class {
    COL_STR = 0, /* strings, by charset and flags */
    COL_INT,     /* exact integers */
    COL_DEC,     /* exact decimals */
    COL_FLOAT,   /* doubles */
    COL_DATE,    /* DATE, DATETIME, TIMESTAMP */
    COL_TIME,    /* signed intervals */
};

struct column {
    uint8_t type;     /* MYSQL_TYPE_* */
    uint16_t flags;   /* column flags */
    uint16_t charset; /* collation id */
    uint32_t length;  /* display length */
    uint8_t decimals; /* digits after the point */
    uint8_t cls;      /* enum column_class */
    bool ci;          /* COL_STR: ASCII case folded */
    bool pad;         /* COL_STR: trailing spaces do not count */
    uint16_t tw;      /* binproto type word (BINPROTO_UNSIGNED for
                         UNSIGNED integers) */
};

/* Reads a ColumnDefinition41 payload into c. False when malformed. */
MUST_CHECK bool column_read(const uint8_t *p, size_t len, struct column *c);

/* The column definitions of one result set, read one by one as they
 * arrive; with keep_defs the packets are kept too, to be sent on or
 * retyped (rs_patch_coldef). */
struct column_set {
    uint32_t n;          /* columns announced */
    uint32_t got;        /* definitions read so far */
    struct column *cols; /* n */
    uint16_t *types;     /* n binproto type words (column.tw) */
    uint8_t **defs;      /* keep_defs: n definition packets, else NULL */
    uint32_t *def_len;   /* their lengths */
};

void column_set_init(struct column_set *cs, uint32_t n, bool keep_defs);

/* Reads the next definition. False when malformed or all n were read. */
MUST_CHECK bool column_set_add(struct column_set *cs, const uint8_t *p,
                               size_t len);

void column_set_free(struct column_set *cs);

/* MYSQL_TYPE_TINY..LONGLONG, INT24, YEAR. */
bool column_type_is_int(uint8_t type);

/* MYSQL_TYPE_FLOAT, DOUBLE. */
bool column_type_is_float(uint8_t type);

#endif
