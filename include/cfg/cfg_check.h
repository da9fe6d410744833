/*
 * cfg_check.h - the checks that span several keys: post hooks the key tables
 * of cfg.c run after binding a section or entry, and the pass over the whole
 * configuration (duplicate names, shared addresses). They also fill the
 * derived fields: a hash rule's slot owners, a range rule's sorted ranges
 * and shard list, defaults that depend on other keys.
 */
#ifndef MYSHARD_CFG_CFG_CHECK_H
#define MYSHARD_CFG_CFG_CHECK_H

#include "cfg/cfg_bind.h"

/* Post hooks; obj is the struct named in the function's name. */
void cfg_check_rate_limit(struct cfg_bind *b, const struct yamldoc_node *map,
                          void *obj);
void cfg_check_user(struct cfg_bind *b, const struct yamldoc_node *map,
                    void *obj);
void cfg_check_tls(struct cfg_bind *b, const struct yamldoc_node *map,
                   void *obj);
void cfg_check_admin(struct cfg_bind *b, const struct yamldoc_node *map,
                     void *obj);
void cfg_check_cluster(struct cfg_bind *b, const struct yamldoc_node *map,
                       void *obj);
void cfg_check_login(struct cfg_bind *b, const struct yamldoc_node *map,
                     void *obj);
void cfg_check_reshard(struct cfg_bind *b, const struct yamldoc_node *map,
                       void *obj);
void cfg_check_backend_tls(struct cfg_bind *b, const struct yamldoc_node *map,
                           void *obj);
void cfg_check_pool(struct cfg_bind *b, const struct yamldoc_node *map,
                    void *obj);
void cfg_check_rule(struct cfg_bind *b, const struct yamldoc_node *map,
                    void *obj);
void cfg_check_table(struct cfg_bind *b, const struct yamldoc_node *map,
                     void *obj);
void cfg_check_schema(struct cfg_bind *b, const struct yamldoc_node *map,
                      void *obj);
void cfg_check_policy(struct cfg_bind *b, const struct yamldoc_node *map,
                      void *obj);

/* Custom binders. */
void cfg_check_password_hash(struct cfg_bind *b, const struct cfg_key *k,
                             const struct yamldoc_node *n, void *obj);
void cfg_check_admin_password_hash(struct cfg_bind *b, const struct cfg_key *k,
                                   const struct yamldoc_node *n, void *obj);
void cfg_check_workers(struct cfg_bind *b, const struct cfg_key *k,
                       const struct yamldoc_node *n, void *obj);

/* A range rule's ranges: one bound type, none empty, no overlap or gap;
 * sorts them and fills r->shards (distinct, in range order). */
void cfg_check_ranges(struct cfg_bind *b, struct cfg_rule *r);
/* A slot map node over r->slots slots into r->slot_owner (pre-filled with
 * -1): every slot exactly once, shards from r->shards. */
void cfg_check_slot_map(struct cfg_bind *b, struct cfg_rule *r,
                        const struct yamldoc_node *sm);
/* The key of rule_keys named name (cfg.c), e.g. "ranges" to bind a range
 * list the way a rule does. */
const struct cfg_key *cfg_rule_key(const char *name);

/* Checks across the bound configuration b->cfg; root is the top mapping. */
void cfg_check_config(struct cfg_bind *b, const struct yamldoc_node *root);

#endif
