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
    PLACE_NOT_INTEGER,  /* mod rule (or range rule with integer bounds),
                           key is not an integer */
    PLACE_OUT_OF_RANGE, /* range rule, no range holds the key */
};

/*
 * Shard (index into cfg->shards) of key under rule; *slot receives the hash
 * slot (-1 for mod/range). Pure: no I/O, no allocation. *shard and *slot
 * are set only on PLACE_OK (slot may be NULL).
 *
 * Key types: a string key that holds a decimal integer (as a DBA may write
 * '42') is placed like the integer: for hash rules the text CRC32 sees is
 * the same; for mod rules and integer-bounded ranges the string is read as
 * an integer (sign and leading zeros allowed: '007' is 7, as an INT column
 * stores it). For hash rules a string is always its raw bytes, so '007'
 * hashes as "007" (a CHAR column keeps it so). An integer key against
 * string range bounds compares as its canonical text.
 */
enum placement_status placement_locate(const struct cfg_rule *rule,
                                       const struct route_key *key, int *shard,
                                       int *slot);
/* "ok", "NULL key", ... for messages. */
const char *placement_status_text(enum placement_status st);

/* ---- appended: sets of shards for the router ---- */

/* Bit mask over cfg->shards of every shard the rule places keys on. */
uint64_t placement_rule_mask(const struct cfg_rule *rule);

/* Integer BETWEEN intervals at most this wide are expanded key by key on
 * mod and hash rules; wider ones (and non-integer bounds) reach every
 * shard of the rule. */
#define PLACEMENT_MAX_EXPAND 64

/*
 * Shards that may hold keys k with lo <= k <= hi (SQL BETWEEN): for range
 * rules the ranges overlapping the interval (empty when lo > hi); for mod
 * and hash rules see PLACEMENT_MAX_EXPAND. A bound that is NULL, or of a
 * type the rule cannot compare, gives every shard of the rule. Pure.
 */
uint64_t placement_between(const struct cfg_rule *rule,
                           const struct route_key *lo,
                           const struct route_key *hi);

/*
 * The set of keys whose writes a reshard marks (route_plan.touches_moving)
 * so that every instance can count and hold them: the rule's moving set
 * (cfg_rule.moving: a reshard copies these keys to another shard while
 * they stay on their owner) or, once they were switched, its cleanup set
 * (the instances hold them until all of them route to the new owner).
 * !active when the rule has neither. Pure.
 */
const struct cfg_moving *placement_marked(const struct cfg_rule *rule);

/*
 * The marked set (placement_marked): whether key is in it
 * (false when the rule has none, or the key has no place); whether some
 * key lo <= k <= hi may be (true when that cannot be told: wide hash
 * intervals, values the rule cannot compare). Pure.
 */
bool placement_in_marked(const struct cfg_rule *rule,
                         const struct route_key *key);
/* The same for any set of the rule (its moving or cleanup set). */
bool placement_in_set(const struct cfg_rule *rule, const struct cfg_moving *m,
                      const struct route_key *key);
bool placement_between_marked(const struct cfg_rule *rule,
                              const struct route_key *lo,
                              const struct route_key *hi);

/*
 * The rule's moving set as an SQL condition on key column `column`, what a
 * server evaluates to the same answer as placement_in_marked:
 *   hash:  CRC32(`user_id`) % 1024 BETWEEN 768 AND 1023
 *   range: `id` >= 5000 AND `id` < 1000000 (integer bounds), or
 *          CAST(`day` AS BINARY) >= X'323032362D30362D3031' (string bounds
 *          compare bytewise, as the router does, whatever the collation)
 * For the reshard's copy, catch-up and cleanup. Writes at most cap bytes
 * with the NUL (cap > 0); returns the length the whole text needs, like
 * snprintf; 0 (and "") when the rule has no moving set.
 */
size_t placement_moving_sql(const struct cfg_rule *rule, const char *column,
                            char *buf, size_t cap);
/* The same for any set of the rule (its moving or cleanup set), the column
 * qualified by qual (written as given, e.g. `o` or db.t; NULL: none). */
size_t placement_set_sql(const struct cfg_rule *rule,
                         const struct cfg_moving *m, const char *qual,
                         const char *column, char *buf, size_t cap);

/* The key as an integer: an integer key, or a string holding one (sign
 * and leading zeros allowed). False otherwise. */
bool placement_key_int(const struct route_key *key, int64_t *out);

/* Canonical decimal text of v into buf (at least 21 bytes); returns its
 * length. */
size_t placement_int_text(int64_t v, char *buf);

#endif
