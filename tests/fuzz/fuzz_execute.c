/*
 * fuzz_execute.c - COM_STMT_EXECUTE payloads through binproto's decoder,
 * the way prepare.c calls it: for a statement of N parameters, with or
 * without types bound by an earlier execute, with some parameters sent as
 * long data. A packet that parses is encoded again as myshard would send
 * it to a server, and that must parse to the same values.
 *
 * Input: byte 0 = N (0..63), byte 1 = flags (bit 0: types bound before),
 * then, when bit 0 is set, N type words; then ceil(N/8) bytes of long-data
 * marks; the rest is the payload (command byte included).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_value(const struct binproto_value *a, const struct binproto_value *b)
{
    if (a->is_null != b->is_null || a->long_data != b->long_data ||
        a->is_unsigned != b->is_unsigned)
        return false;
    if (a->is_null || a->long_data)
        return true;
    if (a->type != b->type)
        return false;
    if ((a->type & 0xff) == MYSQL_TYPE_DATE) /* a server reads the date
                                                  part only, and so is it
                                                  forwarded */
        return a->tm.year == b->tm.year && a->tm.month == b->tm.month &&
               a->tm.day == b->tm.day;
    if (a->str != NULL || b->str != NULL)
        return a->len == b->len &&
               (a->len == 0 ||
                (a->str && b->str && memcmp(a->str, b->str, a->len) == 0));
    return a->i64 == b->i64 && a->u64 == b->u64 &&
           memcmp(&a->tm, &b->tm, sizeof(a->tm)) == 0 &&
           (a->f64 == b->f64 || (a->f64 != a->f64 && b->f64 != b->f64));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t types[64], types2[64];
    bool ld[64] = {false}, bound, bound2 = false;
    struct binproto_value vals[64], vals2[64];
    struct binproto_execute ex, ex2;
    uint16_t n;
    size_t off = 2;
    uint32_t id;

    if (size < 2)
        return 0;
    n = data[0] % 64;
    bound = (data[1] & 1) != 0;
    memset(types, 0, sizeof(types));
    if (bound) {
        if (size < off + 2u * n)
            return 0;
        memcpy(types, data + off, 2u * n);
        off += 2u * n;
    }
    if (size < off + (n + 7u) / 8)
        return 0;
    for (uint16_t i = 0; i < n; i++)
        ld[i] = (data[off + i / 8] >> (i % 8)) & 1;
    off += (n + 7u) / 8;
    data += off;
    size -= off;

    (void)binproto_execute_stmt_id(data, size, &id);
    memset(vals, 0, sizeof(vals));
    if (!binproto_parse_execute(data, size, n, types, &bound, ld, &ex, vals))
        return 0;

    /* Re-encoded as the proxy sends it on (types always included). */
    struct pktbuf pb;
    pktbuf_init(&pb);
    binproto_write_execute(&pb, ex.stmt_id, 0, vals, n, true);
    if (!pb.failed) {
        memset(vals2, 0, sizeof(vals2));
        if (!binproto_parse_execute(pb.buf, pb.len, n, types2, &bound2, ld,
                                    &ex2, vals2))
            abort(); /* what myshard writes, it must read back */
        for (uint16_t i = 0; i < n; i++)
            if (!same_value(&vals[i], &vals2[i]))
                abort();
    }
    pktbuf_free(&pb);
    return 0;
}
