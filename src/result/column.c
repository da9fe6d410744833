/*
 * column.c - a column definition read into the facts the merge needs (see
 * column.h): the fixed fields through proto's reader, then the comparison
 * class and the type word its binary rows decode with.
 */
#include "result/column.h"

#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/resultset.h"

bool
column_type_is_int(uint8_t t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT ||
           t == MYSQL_TYPE_LONG || t == MYSQL_TYPE_LONGLONG ||
           t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_YEAR;
}

bool
column_type_is_float(uint8_t t)
{
    return t == MYSQL_TYPE_FLOAT || t == MYSQL_TYPE_DOUBLE;
}

static bool
charset_nopad(uint16_t cs)
{
    return (cs >= 255 && cs <= 323) || (cs >= 1024 && cs <= 2047);
}

static uint8_t
classify(const struct column *c)
{
    if (column_type_is_int(c->type))
        return COL_INT;
    if (c->type == MYSQL_TYPE_DECIMAL || c->type == MYSQL_TYPE_NEWDECIMAL)
        return COL_DEC;
    if (column_type_is_float(c->type))
        return COL_FLOAT;
    if (c->type == MYSQL_TYPE_DATE || c->type == MYSQL_TYPE_DATETIME ||
        c->type == MYSQL_TYPE_TIMESTAMP || c->type == MYSQL_TYPE_NEWDATE)
        return COL_DATE;
    if (c->type == MYSQL_TYPE_TIME)
        return COL_TIME;
    return COL_STR;
}

bool
column_read(const uint8_t *p, size_t len, struct column *c)
{
    struct rs_coldef d;
    bool unsigned_int;

    memset(c, 0, sizeof(*c));
    if (!rs_parse_coldef(p, len, &d))
        return false;
    c->type = d.type;
    c->flags = d.flags;
    c->charset = d.charset;
    c->length = d.length;
    c->decimals = d.decimals;
    unsigned_int = (c->flags & UNSIGNED_FLAG) && column_type_is_int(c->type);
    c->tw = (uint16_t)(c->type | (unsigned_int ? BINPROTO_UNSIGNED : 0));
    c->cls = classify(c);
    if (c->cls == COL_STR) {
        bool bytes =
            c->charset == CHARSET_BINARY || c->type == MYSQL_TYPE_BIT ||
            c->type == MYSQL_TYPE_GEOMETRY || c->type == MYSQL_TYPE_JSON;
        c->ci = !bytes && !(c->flags & BINARY_FLAG);
        c->pad = !bytes && !charset_nopad(c->charset);
    }
    return true;
}
