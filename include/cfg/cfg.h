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

/* Prints the --check summary: shards, replicas, rules (with slot map), schemas
 * and tables, users, policies. */
void cfg_print_summary(const struct cfg *c, FILE *out);

#endif
