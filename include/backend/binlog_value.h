/*
 * binlog_value.h - one column value of a row-based binary log event, from
 * its bytes in the row image to a SQL literal (the forms are listed in
 * backend/binlog.h, struct binlog_value). Pure: no connection, so the
 * decoding is unit-tested from bytes built by hand.
 *
 * A table map event gives each column's binlog type and metadata; the
 * signedness and character set come from information_schema (the caller
 * fills them). What cannot be rendered exactly is refused with a message
 * naming the type.
 */
#ifndef MYSHARD_BACKEND_BINLOG_VALUE_H
#define MYSHARD_BACKEND_BINLOG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Binary log type codes (MariaDB's enum_field_types) this module knows. */
enum {
    BLT_DECIMAL = 0, /* pre-5.0 DECIMAL: refused */
    BLT_TINY = 1,
    BLT_SHORT = 2,
    BLT_LONG = 3,
    BLT_FLOAT = 4,
    BLT_DOUBLE = 5,
    BLT_NULL = 6,
    BLT_TIMESTAMP = 7, /* pre-10.0 format: refused */
    BLT_LONGLONG = 8,
    BLT_INT24 = 9,
    BLT_DATE = 10,
    BLT_TIME = 11,     /* pre-10.0 format: refused */
    BLT_DATETIME = 12, /* pre-10.0 format: refused */
    BLT_YEAR = 13,
    BLT_NEWDATE = 14,
    BLT_VARCHAR = 15,
    BLT_BIT = 16,
    BLT_TIMESTAMP2 = 17,
    BLT_DATETIME2 = 18,
    BLT_TIME2 = 19,
    BLT_JSON = 245, /* MySQL's binary JSON: refused */
    BLT_NEWDECIMAL = 246,
    BLT_ENUM = 247,
    BLT_SET = 248,
    BLT_BLOB = 252,
    BLT_VAR_STRING = 253,
    BLT_STRING = 254,
    BLT_GEOMETRY = 255, /* refused */
};

/* How a string column's bytes are rendered. */
enum binlog_cs {
    BINLOG_CS_BINARY, /* X'..' */
    BINLOG_CS_UTF8,   /* utf8mb4, utf8mb3, ascii: quoted when it can be */
    BINLOG_CS_OTHER,  /* _<charset> X'..' */
};

struct binlog_col {
    uint8_t type;      /* binlog type; for STRING the real one (ENUM, SET) */
    uint16_t meta;     /* the type's metadata, decoded (see binlog_value.c) */
    bool is_unsigned;  /* from information_schema */
    enum binlog_cs cs; /* from information_schema */
    char csname[32];   /* the character set's name, for BINLOG_CS_OTHER */
    bool refuse;       /* a type this module cannot render (dtype names it):
                          only NULL values pass */
    char dtype[32];    /* information_schema DATA_TYPE, for messages */
};

/* A growing text; p is NUL-terminated once anything was appended. */
struct binlog_text {
    char *p;
    size_t len, cap;
};

/* The type's name for messages ("DATETIME2", "type 140"); buf >= 16. */
const char *binlog_type_name(uint8_t type, char *buf, size_t size);

/*
 * Reads the table map's metadata block (meta[0..metalen)) for ncols
 * columns of types[]: fills cols[i].type and cols[i].meta. False with a
 * message when the block is short or a type's metadata size is unknown.
 */
MUST_CHECK bool binlog_value_meta(const uint8_t *types, uint32_t ncols,
                                  const uint8_t *meta, size_t metalen,
                                  struct binlog_col *cols, char *err,
                                  size_t errlen);

/*
 * The binlog type a column of information_schema DATA_TYPE should have
 * in table maps (the real type for ENUM, SET, CHAR), or -1 when this
 * module cannot render that type.
 */
int binlog_value_expect(const char *data_type);

/*
 * Decodes the value of column c at p[0..avail), appends its literal and a
 * NUL to out. Returns the bytes it took, or -1 with a message (a type it
 * cannot render, a value past avail, a malformed value).
 */
MUST_CHECK long binlog_value_render(const struct binlog_col *c,
                                    const uint8_t *p, size_t avail,
                                    struct binlog_text *out, char *err,
                                    size_t errlen);

/* Appends len bytes to t (and keeps it NUL-terminated); false when out of
 * memory. */
MUST_CHECK bool binlog_text_add(struct binlog_text *t, const char *s,
                                size_t len);

#endif
