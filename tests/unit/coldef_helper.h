/*
 * coldef_helper.h - for the result-layer suites: a struct column read back
 * from a definition proto's rs_columns wrote, so the tests go through the
 * same reader as the merge.
 */
#ifndef MYSHARD_TESTS_COLDEF_HELPER_H
#define MYSHARD_TESTS_COLDEF_HELPER_H

#include <check.h>
#include <event2/buffer.h>

#include "proto/resultset.h"
#include "result/column.h"

static inline struct column
make_column(uint8_t type, uint16_t charset, uint16_t flags, uint8_t decimals)
{
    struct evbuffer *b = evbuffer_new();
    struct coldef d = {.name = "c",
                       .charset = charset,
                       .length = 20,
                       .type = type,
                       .flags = flags,
                       .decimals = decimals};
    struct rs_writer w;
    struct column c;
    uint8_t h[4], p[128];
    size_t len;

    rs_begin(&w, b, 0, true, 0);
    rs_columns(&w, &d, 1);
    evbuffer_drain(b, 5); /* the column count */
    ck_assert_int_eq(evbuffer_remove(b, h, 4), 4);
    len = h[0];
    ck_assert_int_eq(evbuffer_remove(b, p, len), (int)len);
    ck_assert(column_read(p, len, &c));
    evbuffer_free(b);
    return c;
}

#endif
