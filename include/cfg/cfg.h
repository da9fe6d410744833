/*
 * cfg.h - load, validate and share configuration generations.
 */
#ifndef MYSHARD_CFG_CFG_H
#define MYSHARD_CFG_CFG_H

#include <stdio.h>
#include "base/diag.h"
#include "base/util.h"
#include "cfg/cfg_types.h"

/*
 * Reads and validates the YAML file at path. Every problem found is added to
 * d (all at once, file:line:col). Returns a generation with one reference, or
 * NULL when d holds at least one error. Warnings may accompany a success.
 * Does not check whether ports are free (the caller does at bind time).
 */
MUST_CHECK struct cfg *cfg_load(const char *path, struct diag *d);
/* Same, from a string; name is used as the file name in diagnostics. */
MUST_CHECK struct cfg *cfg_load_string(const char *name, const char *text,
                                       struct diag *d);
/* Takes a reference (atomic). */
struct cfg *cfg_get(struct cfg *c);
/* Drops a reference; frees the generation at zero. NULL is a no-op. */
void cfg_put(struct cfg *c);

/* Lookups; return the index or -1. Names compare case-sensitively except
 * schema names, which compare case-insensitively like MySQL on Linux does not
 * -- we keep them case-sensitive too, for one rule. */
int cfg_find_user(const struct cfg *c, const char *name);
int cfg_find_schema(const struct cfg *c, const char *name, size_t len);
int cfg_find_shard(const struct cfg *c, const char *name);
/* Table in a schema, or NULL when unlisted. */
const struct cfg_table *cfg_find_table(const struct cfg_schema *s,
                                       const char *name, size_t len);

/*
 * What a reload would change, key by key, named as the file spells them
 * ("users", "backend.pool.max_connections", "admin.listen"): sections are
 * compared key by key, lists and maps as a whole. Keys bound at start
 * (KEY_RESTART in cfg.c's tables: listen, workers, admin.listen, admin.http,
 * xa_log, cache_memory, ...) go to restart, the others to live. shards is
 * both: shards appended at the end of the list are live ("shards (s2
 * added)"), a change to an existing shard's servers needs a restart
 * ("shards"). Pure; a list that does not fit ends with "...".
 */
struct cfg_diff {
    char live[512];    /* "users, slow_query_time"; "" when none */
    char restart[256]; /* "listen, shards"; "" when none */
    int nlive, nrestart;
    bool shard_list;  /* a shard was removed, renamed or moved: rules and
                         schemas name shards by position, so the new
                         generation cannot run on the running servers */
    int shards_added; /* shards appended after the running ones (0 when
                         shard_list) */
};
void cfg_diff(const struct cfg *old, const struct cfg *next,
              struct cfg_diff *out);
/* The restart part of cfg_diff alone: the keys, comma-separated, in buf
 * ("" when none; len > 0); returns how many. */
int cfg_restart_needed(const struct cfg *old, const struct cfg *next, char *buf,
                       size_t len);
/*
 * Gives next, a generation nobody shares yet, running's values of every key
 * that needs a restart, so the generation a reload swaps in describes what
 * runs; of the shards, running's replace next's first ones and the shards
 * next appends stay. Pre-condition: cfg_diff(running, next) found no
 * shard_list change (next's rules and schemas then name the same shards by
 * the same positions).
 */
void cfg_keep_restart_keys(struct cfg *next, const struct cfg *running);

/* Reads the whole file at path (relative paths from the working
 * directory) into a malloc'd, NUL-terminated buffer of *len bytes, at most
 * max. NULL with the reason in err otherwise. Used for key files. */
char *cfg_read_file(const char *path, size_t max, size_t *len, char *err,
                    size_t errlen);

/* Prints the --check summary: shards, replicas, rules (with slot map), schemas
 * and tables, users, policies. */
void cfg_print_summary(const struct cfg *c, FILE *out);

#endif
