/*
 * fuzz_binlog.c - arbitrary bytes as a binary log row value
 * (backend/binlog_value.c): the table map's metadata for one column, then
 * the value. Byte 0 picks the column type, bytes 1-2 are its metadata,
 * byte 3 its signedness and character set, the rest the row image. Never
 * a crash or a read past the image; a rendered literal has no NUL inside
 * (it is pasted as C text) and takes no more bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/binlog_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t types[] = {
        BLT_DECIMAL,  BLT_TINY,       BLT_SHORT,     BLT_LONG,
        BLT_FLOAT,    BLT_DOUBLE,     BLT_NULL,      BLT_TIMESTAMP,
        BLT_LONGLONG, BLT_INT24,      BLT_DATE,      BLT_TIME,
        BLT_DATETIME, BLT_YEAR,       BLT_NEWDATE,   BLT_VARCHAR,
        BLT_BIT,      BLT_TIMESTAMP2, BLT_DATETIME2, BLT_TIME2,
        BLT_JSON,     BLT_NEWDECIMAL, BLT_ENUM,      BLT_SET,
        BLT_BLOB,     BLT_VAR_STRING, BLT_STRING,    BLT_GEOMETRY,
        140};
    struct binlog_col c;
    struct binlog_text t = {0};
    char err[256];
    uint8_t type;

    if (size < 4)
        return 0;
    type = types[data[0] % sizeof(types)];
    memset(&c, 0, sizeof(c));
    if (binlog_value_meta(&type, 1, data + 1, 2, &c, err, sizeof(err))) {
        c.is_unsigned = data[3] & 1;
        c.cs = (enum binlog_cs)((data[3] >> 1) % 3);
        strcpy(c.csname, "latin1");
        c.refuse = (data[3] & 0x80) != 0;
        long n =
            binlog_value_render(&c, data + 4, size - 4, &t, err, sizeof(err));
        if (n > (long)(size - 4))
            abort();
        if (n >= 0 && strlen(t.p) != t.len)
            abort();
    }
    free(t.p);
    return 0;
}
