/*
 * cfg_place.h - the live placement: where online resharding has moved the
 * keys of hash and range rules, over what the YAML says.
 *
 * myshard keeps it in the file reshard.state (YAML, written by myshard
 * alone). cfg_load applies it over the YAML's rules after validating them,
 * so start, RELOAD CONFIG, --check and myshard-locate all see one
 * placement. Per rule the file holds the YAML placement it was made from
 * (base), the live placement (slot_map or ranges) and, while a reshard
 * runs, the moving set. Applying an entry:
 *  - base equals the YAML rule's placement: the live placement overrides it;
 *  - the live placement equals the YAML rule's (the DBA copied it into the
 *    YAML): redundant, a warning, the YAML stands;
 *  - neither: an error naming both files (the YAML changed under a moved
 *    placement: the data is where the file says).
 *
 * struct cfg_placement is a value the reshard coordinator edits: the
 * placement of every hash and range rule of a generation, shards named by
 * index into its own shard names (the generation's, in order). Nothing
 * here touches a running generation: cfg_with_placement builds the next
 * one from the running one's YAML text (never the file on disk, which the
 * DBA may have edited without reloading).
 *
 * The protocol (src/reshard): mark the moving set, save the file, switch
 * to cfg_with_placement(running, p); at cutover finish the move, save the
 * file (the commit point: atomic), switch again. The file must hold the
 * moving set while it is active: a RELOAD re-reads the file, and a
 * generation without the moving set would not mark the moving writes.
 */
#ifndef MYSHARD_CFG_CFG_PLACE_H
#define MYSHARD_CFG_CFG_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/diag.h"
#include "base/util.h"
#include "cfg/cfg_types.h"

/* One rule's placement. Shard numbers index cfg_placement.shards. */
struct cfg_place_rule {
    char *rule;               /* its name */
    enum cfg_rule_type type;  /* RULE_HASH or RULE_RANGE */
    uint32_t slots;           /* hash: number of slots */
    int *owner;               /* hash: slots entries, the live owners */
    int *base_owner;          /* hash: the YAML's owners it was made from */
    struct cfg_range *ranges; /* range: live, sorted by from; bounds' strings
                                 owned */
    int nranges;
    struct cfg_range *base_ranges; /* range: the YAML's */
    int nbase_ranges;
    struct cfg_moving moving; /* source/target index shards */
};

struct cfg_placement {
    char **shards; /* names the shard numbers refer to */
    int nshards;
    struct cfg_place_rule *rules;
    int nrules;
};

/*
 * The placement of every hash and range rule of c: live (or the YAML's
 * when none), the YAML's as base, and the moving set. Free with
 * cfg_placement_free.
 */
struct cfg_placement *cfg_placement_of(const struct cfg *c);
void cfg_placement_free(struct cfg_placement *p);
/* The rule's entry, or NULL. */
struct cfg_place_rule *cfg_placement_rule(struct cfg_placement *p,
                                          const char *rule);

/*
 * Edits. Each checks first and changes nothing on failure, the reason in
 * err ("rule 'x' ...: what to do"):
 *  - move_slots: slots lo..hi of hash rule now belong to shard. Every slot
 *    must be owned by one shard today, other than shard.
 *  - split_at: range rule, the keys from at up to the end of the range
 *    that holds at now belong to shard (at may be the range's start: the
 *    whole range moves). at must be of the rule's bound type (an integer
 *    or a string); the range's shard must not be shard.
 *  - set_moving_slots/set_moving_split: the same checks; instead of moving
 *    the keys, marks them as the moving set of reshard id (>= 1). One
 *    moving set per rule: fails when the rule has one.
 *  - finish_moving: applies the rule's moving set (the keys belong to its
 *    target now) and clears it. Fails when there is none.
 *  - clear_moving: drops the moving set (back-off, abort); no-op if none.
 */
MUST_CHECK bool cfg_placement_move_slots(struct cfg_placement *p,
                                         const char *rule, uint32_t lo,
                                         uint32_t hi, const char *shard,
                                         char *err, size_t errlen);
MUST_CHECK bool cfg_placement_split_at(struct cfg_placement *p,
                                       const char *rule,
                                       const struct cfg_bound *at,
                                       const char *shard, char *err,
                                       size_t errlen);
MUST_CHECK bool cfg_placement_set_moving_slots(struct cfg_placement *p,
                                               const char *rule, uint32_t lo,
                                               uint32_t hi, const char *shard,
                                               int64_t id, char *err,
                                               size_t errlen);
MUST_CHECK bool cfg_placement_set_moving_split(struct cfg_placement *p,
                                               const char *rule,
                                               const struct cfg_bound *at,
                                               const char *shard, int64_t id,
                                               char *err, size_t errlen);
MUST_CHECK bool cfg_placement_finish_moving(struct cfg_placement *p,
                                            const char *rule, char *err,
                                            size_t errlen);
void cfg_placement_clear_moving(struct cfg_placement *p, const char *rule);

/*
 * The next generation: running's YAML text (as it was loaded, not the file
 * on disk now) with placement p instead of the state file. Diagnostics as
 * cfg_load. NULL when p does not apply (a rule or shard p names is gone).
 * The caller builds TLS contexts and keeps restart keys as a reload does.
 */
MUST_CHECK struct cfg *cfg_with_placement(const struct cfg *running,
                                          const struct cfg_placement *p,
                                          struct diag *d);

/*
 * Writes p to path as the state file: the rules whose live placement
 * differs from their base, or that have a moving set (none: a file with
 * an empty rules map). Atomic: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory; a crash leaves the old
 * file or the new one. False with the reason in err.
 */
MUST_CHECK bool cfg_placement_save(const char *path,
                                   const struct cfg_placement *p, char *err,
                                   size_t errlen);
/* The same text cfg_placement_save writes (with_base false: without the
 * base entries, as SHOW CONFIG shows it). Returns how many rules it
 * wrote. */
int cfg_placement_write(const struct cfg_placement *p, bool with_base,
                        FILE *out);

/* ---- for cfg.c ---- */

/* Applies the live placement to c, a generation just bound and validated:
 * over when not NULL, else the file c->reshard.state (absent: nothing).
 * Problems go to d; false on an error. */
bool cfg_place_apply(struct cfg *c, const struct cfg_placement *over,
                     struct diag *d);
/* Frees what cfg_place_apply added to a rule. */
void cfg_place_free_rule(struct cfg_rule *r);
/* Reads the state file at path (shards by c's names): NULL with nothing
 * in d when it does not exist, NULL with errors in d when it is broken.
 * Each entry's line in the file goes to lines[i] (malloc'd, may be NULL
 * when the placement is NULL). */
struct cfg_placement *cfg_placement_read(const char *path, const struct cfg *c,
                                         int **lines, struct diag *d);

#endif
