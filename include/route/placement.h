/*
 * placement.h - where a key lives, exactly as PRODUCT.md defines it, so a
 * DBA can check any row with SQL on any server:
 *   mod:   shards[((key % N) + N) % N]              (integer keys only)
 *   hash:  slot = CRC32(key_text) % slots; slot s -> shard floor(s*N/slots)
 *          in list order, or the rule's slot_map
 *   range: from inclusive, to exclusive; integer or bytewise string bounds
 * key_text is the canonical text: decimal digits for integers (no leading
 * zeros, '-' for negatives), the raw bytes for strings.
 */
#ifndef MYSHARD_ROUTE_PLACEMENT_H
#define MYSHARD_ROUTE_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg_types.h"

/* A shard key value as the router knows it. */
struct route_key {
    bool is_null;
    bool is_int; /* integer value in i (from a number literal or a
                    binary integer parameter) */
    int64_t i;
    const char *s; /* otherwise: the raw bytes (unquoted, unescaped) */
    size_t len;
};

enum placement_status {
    PLACE_OK = 0,
    PLACE_NULL_KEY,     /* NULL has no shard */
    PLACE_NOT_INTEGER,  /* mod rule, key is not an integer */
    PLACE_OUT_OF_RANGE, /* range rule, no range holds the key */
};

/*
 * Shard (index into cfg->shards) of key under rule; *slot receives the hash
 * slot (-1 for mod/range). Pure: no I/O, no allocation.
 */
enum placement_status placement_locate(const struct cfg_rule *rule,
                                       const struct route_key *key, int *shard,
                                       int *slot);
/* A string key that holds a decimal integer (as a DBA may write '42') is
 * placed like the integer: canonical text is what CRC32 sees. */
const char *placement_status_text(enum placement_status st);

#endif
