/*
 * resultset.h - encodes text-protocol result sets that myshard answers
 * itself (SHOW DATABASES, admin console, merged results): column count,
 * ColumnDefinition41 packets, text rows, and the terminator (EOF, or an OK
 * with 0xFE header under CLIENT_DEPRECATE_EOF).
 */
#ifndef MYSHARD_PROTO_RESULTSET_H
#define MYSHARD_PROTO_RESULTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct rs_writer {
    struct evbuffer *out;
    uint8_t seq;        /* next sequence id */
    bool deprecate_eof; /* client negotiated CLIENT_DEPRECATE_EOF */
    uint16_t status;    /* server status for the terminators */
    size_t ncols;       /* columns announced by rs_columns */
    bool failed;        /* sticky: a packet could not be written; check
                           once after rs_end */
};

void rs_begin(struct rs_writer *w, struct evbuffer *out, uint8_t first_seq,
              bool deprecate_eof, uint16_t status);
/* Column count, the definitions, then EOF unless deprecate_eof. */
void rs_columns(struct rs_writer *w, const struct coldef *cols, size_t n);
/* Shorthand: n VAR_STRING utf8mb4 columns with the given names. */
void rs_columns_text(struct rs_writer *w, const char *const *names, size_t n);
/* One text row; vals[i] == NULL encodes SQL NULL; lens may be NULL (strlen). */
void rs_row(struct rs_writer *w, const char *const *vals, const size_t *lens);
/* EOF, or OK with 0xFE header when deprecate_eof. */
void rs_end(struct rs_writer *w);

#endif
