/*
 * column.c - a column definition read into the facts the merge needs (see
 * column.h): the fixed fields through proto's reader, then the comparison
 * class and the type word its binary rows decode with; and the set of a
 * result's definitions, filled as they arrive.
 */
#include "result/column.h"

#include <stdlib.h>
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

void
column_set_init(struct column_set *cs, uint32_t n, bool keep_defs)
{
    memset(cs, 0, sizeof(*cs));
    cs->n = n;
    cs->cols = xcalloc(n, sizeof(cs->cols[0]));
    cs->types = xcalloc(n, sizeof(cs->types[0]));
    if (keep_defs) {
        cs->defs = xcalloc(n, sizeof(cs->defs[0]));
        cs->def_len = xcalloc(n, sizeof(cs->def_len[0]));
    }
}

bool
column_set_add(struct column_set *cs, const uint8_t *p, size_t len)
{
    uint32_t c = cs->got;

    if (c >= cs->n || !column_read(p, len, &cs->cols[c]))
        return false;
    cs->types[c] = cs->cols[c].tw;
    if (cs->defs != NULL) {
        cs->defs[c] = xmalloc(len ? len : 1);
        memcpy(cs->defs[c], p, len);
        cs->def_len[c] = (uint32_t)len;
    }
    cs->got++;
    return true;
}

void
column_set_free(struct column_set *cs)
{
    if (cs->defs != NULL) {
        for (uint32_t c = 0; c < cs->got; c++)
            free(cs->defs[c]);
    }
    free(cs->defs);
    free(cs->def_len);
    free(cs->cols);
    free(cs->types);
    memset(cs, 0, sizeof(*cs));
}
