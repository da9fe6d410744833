/*
 * resultset.h - encodes text-protocol result sets that myshard answers
 * itself (SHOW DATABASES, admin console, merged results): column count,
 * ColumnDefinition41 packets, text rows, and the terminator (EOF, or an OK
 * with 0xFE header under CLIENT_DEPRECATE_EOF). Beside the writers, the
 * readers of what a server sends in the same shapes: a ColumnDefinition41
 * read in place (rs_parse_coldef), its fixed fields rewritten in place
 * (rs_patch_coldef), and a text row read into values (rs_parse_text_row).
 */
#ifndef MYSHARD_PROTO_RESULTSET_H
#define MYSHARD_PROTO_RESULTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct evbuffer;

struct coldef {
    const char *schema;    /* may be NULL = "" */
    const char *table;     /* may be NULL */
    const char *org_table; /* may be NULL */
    const char *name;
    const char *org_name; /* may be NULL */
    uint16_t charset;     /* 45 utf8mb4, 63 binary */
    uint32_t length;      /* display length */
    uint8_t type;         /* MYSQL_TYPE_* */
    uint16_t flags;
    uint8_t decimals;
};

/* Columns a binary row of rs_row can have. */
#define RS_MAX_BINARY_COLS 64

struct rs_writer {
    struct evbuffer *out;
    uint8_t seq;        /* next sequence id */
    bool deprecate_eof; /* client negotiated CLIENT_DEPRECATE_EOF */
    uint16_t status;    /* server status for the terminators */
    size_t ncols;       /* columns announced by rs_columns */
    bool binary;        /* rows in the binary protocol (an EXECUTE's answer):
                           set after rs_begin */
    bool failed;        /* sticky: a packet could not be written; check
                           once after rs_end */
};

void rs_begin(struct rs_writer *w, struct evbuffer *out, uint8_t first_seq,
              bool deprecate_eof, uint16_t status);
/* Column count, the definitions, then EOF unless deprecate_eof. */
void rs_columns(struct rs_writer *w, const struct coldef *cols, size_t n);
/* Shorthand: n VAR_STRING utf8mb4 columns with the given names. */
void rs_columns_text(struct rs_writer *w, const char *const *names, size_t n);
/* One row of strings; vals[i] == NULL encodes SQL NULL; lens may be NULL
 * (strlen). A text row, or a binary one (w->binary: the columns must be
 * string types, sent length-encoded either way). */
void rs_row(struct rs_writer *w, const char *const *vals, const size_t *lens);
/* EOF, or OK with 0xFE header when deprecate_eof. */
void rs_end(struct rs_writer *w);

/* A byte string inside a packet (not NUL-terminated). */
struct rs_str {
    const uint8_t *p;
    size_t len;
};

/* A ColumnDefinition41 as read: the names point into the packet. */
struct rs_coldef {
    struct rs_str catalog, schema, table, org_table, name, org_name;
    uint16_t charset; /* collation id */
    uint32_t length;  /* display length */
    uint8_t type;     /* MYSQL_TYPE_* */
    uint16_t flags;
    uint8_t decimals;
    size_t fixed_off; /* offset of the charset, where the fixed fields
                         start: rs_patch_coldef writes there */
};

/* Reads a ColumnDefinition41 payload. False when malformed (a name runs
 * past the end, or the fixed part is shorter than 12 bytes). */
MUST_CHECK bool rs_parse_coldef(const uint8_t *p, size_t len,
                                struct rs_coldef *c);

/* Rewrites, in the packet rs_parse_coldef read into c, the fixed fields
 * (charset, length, type, flags, decimals) with c's values. The packet keeps
 * its size, so a definition can be retyped without re-encoding it. */
void rs_patch_coldef(uint8_t *p, size_t len, const struct rs_coldef *c);

struct binproto_value;

/*
 * Reads a text-protocol row of n columns into v[0..n): 0xFB is NULL, every
 * other value a length-encoded string (v[i].str points into p; v[i].type
 * is left 0 for the caller, who knows the columns). *prefix_len gets
 * the bytes of the first `prefix` columns, for cutting trailing columns off
 * without re-encoding (len when prefix >= n). False when malformed or bytes
 * are left over.
 */
MUST_CHECK bool rs_parse_text_row(const uint8_t *p, size_t len, size_t n,
                                  struct binproto_value *v, size_t prefix,
                                  size_t *prefix_len);

#endif
