/*
 * route_types.h - a route plan: what the session must do with one
 * statement. The router fills it; the session carries it out; EXPLAIN ROUTE
 * prints it. Shard sets are bit masks over cfg->shards (at most 64 shards).
 */
#ifndef MYSHARD_ROUTE_ROUTE_TYPES_H
#define MYSHARD_ROUTE_ROUTE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/exprprog.h"

#define ROUTE_MAX_SHARDS 64

enum route_action {
    ROUTE_FORWARD = 0, /* send to the targets; relay one, merge several */
    ROUTE_REFUSE,      /* answer err_code/err_msg; nothing is sent */
};

enum route_role {
    ROLE_PRIMARY = 0, /* writes, locking reads, DDL */
    ROLE_READ,        /* a read: replica when healthy (later), else primary */
};

/* One statement to one shard. */
struct route_target {
    int shard;       /* index into cfg->shards */
    const char *sql; /* the text to send: the client's own (when the plan
                        does not rewrite it) or text in the plan's buffer */
    size_t len;
};

enum merge_agg {
    MAGG_NONE = 0, /* not an aggregate: a plain or group column */
    MAGG_COUNT,    /* sum the shards' counts */
    MAGG_SUM,      /* sum (NULL when every shard says NULL) */
    MAGG_MIN,
    MAGG_MAX,
    MAGG_AVG, /* the shards return SUM in this column and COUNT in
                 column `col2`; the merge divides */
    /* COUNT/SUM/AVG(DISTINCT x): the shards return x in this column,
     * grouped by it, and the merge keys end with it (merge_spec.sort):
     * the merge counts/sums each value once */
    MAGG_COUNT_DISTINCT,
    MAGG_SUM_DISTINCT,
    MAGG_AVG_DISTINCT,
};

/* A column reference in the shards' result: >= 0 counts from the first
 * column, < 0 from the end (-1 is the last). Columns the router appends
 * for its own use are at the end, so they are named from the end. */
struct merge_key {
    int16_t col;
    bool desc;
};

struct merge_aggcol {
    int16_t col;  /* the column holding the partial aggregate */
    uint8_t agg;  /* enum merge_agg */
    int16_t col2; /* MAGG_AVG: the hidden COUNT column */
};

#define MERGE_MAX_KEYS 16
#define MERGE_MAX_AGGS 64

/* How the rows of several shards become one result. */
struct merge_spec {
    uint16_t nhidden; /* trailing columns the client never sees */
    /* Output order: rows are k-way merged by these keys (each shard
     * returns its rows already in this order). Empty: concatenation.
     * With grouped: the merge order when it is finer than the groups
     * (group keys, then a DISTINCT aggregate's column). */
    uint8_t nsort;
    struct merge_key sort[MERGE_MAX_KEYS];
    /* GROUP BY / aggregates without GROUP BY: rows whose group columns are
     * equal combine into one. Each shard returns its rows ordered by the
     * group columns (the router adds that ORDER BY). grouped with ngroup
     * == 0: the whole result is one group (SELECT COUNT(*) FROM t), and
     * one row comes out even when no shard sent a row. */
    bool grouped;
    uint8_t ngroup;
    struct merge_key group[MERGE_MAX_KEYS];
    uint16_t naggs;
    struct merge_aggcol aggs[MERGE_MAX_AGGS];
    /* After grouping: the HAVING the proxy evaluates on each merged group
     * (the shards were sent the statement without it); n == 0: none. */
    struct expr_prog having;
    /* After grouping, the client's ORDER BY when it differs from the group
     * order: the merged groups are sorted in memory by these keys. */
    uint8_t npost_sort;
    struct merge_key post_sort[MERGE_MAX_KEYS];
    /* DISTINCT: equal rows (visible columns) collapse; each shard returns
     * its rows ordered by all visible columns unless post_sort is used. */
    bool distinct;
    /* LIMIT/OFFSET applied to the merged rows (the shards were sent LIMIT
     * offset+count). */
    bool has_limit;
    uint64_t limit;
    uint64_t offset;
};

/* Session facts the router reads and never changes. */
struct route_param; /* see router.h */

struct route_plan {
    enum route_action action;
    enum route_role role;
    uint16_t err_code; /* ROUTE_REFUSE: 1235, 1105, 1064, ... */
    char err_msg[400]; /* starts with "myshard: " and says what to do */

    int ntargets;
    struct route_target targets[ROUTE_MAX_SHARDS];
    bool scatter;      /* the statement went to every shard of a table
                          because no key narrowed it */
    bool merge;        /* several targets return rows: use `ms` */
    bool sum_affected; /* several targets return OK: sum affected rows */
    struct merge_spec ms;
    bool ms_used; /* ms written since it was last cleared (else all zero) */

    /* What the plan was decided from, for EXPLAIN ROUTE and logs. */
    const char *kind; /* "select", "insert", ... */
    int table_rule;   /* rule index of the routed table, -1 none */
    char tables[160]; /* "orders o, order_items" */
    char keys[240];   /* "user_id=42,43" as evaluated */

    /* Text the plan owns (rewritten statements); freed by route_plan_free. */
    char *buf;
    size_t buf_len, buf_cap;

    /* ---- appended ---- */
    /* The targets hold copies of the same rows (a global table written,
     * DDL of a global table): their OK packets agree; report the first
     * target's, not the sum (sum_affected is false then). */
    bool replicated;
    /* The route depends on `?` values the context did not bind (the plan
     * of a PREPARE, or EXPLAIN ROUTE of prepared text): the targets are
     * every shard the statement may reach. Route again at EXECUTE with
     * route_ctx.params. */
    bool needs_params;
    /* Router working memory (per-row shards of a split INSERT); owned by
     * the plan, freed by route_plan_free. */
    void *scratch;
    size_t scratch_cap;
    /* LOCK TABLES: the shards whose target takes table locks (the other
     * targets get UNLOCK TABLES: the session's earlier locks there end, as
     * a new LOCK TABLES ends them on a server). */
    uint64_t lock_mask;
    /* A prepared INSERT split per shard: each target's text keeps only its
     * rows' `?`s, so target i binds the EXECUTE's parameters
     * pmap[pmap_off[i] .. pmap_off[i] + pmap_n[i]), in that order (its own
     * parameters, renumbered from 0). renumbered false: every target binds
     * them all. pmap is owned, freed by route_plan_free. */
    bool renumbered;
    uint32_t *pmap;
    size_t pmap_cap; /* entries */
    uint32_t pmap_off[ROUTE_MAX_SHARDS];
    uint32_t pmap_n[ROUTE_MAX_SHARDS];
    /* The plan writes (INSERT, REPLACE, UPDATE, DELETE, DDL, a hinted
     * write) a key of a rule's moving set (cfg_rule.moving), or a table of
     * such a rule without keys that keep it out of the set. The targets
     * stay the keys' owners today; a reshard's cutover holds these plans
     * (moving_rule: the rule, moving_id: its reshard). Reads never. */
    bool touches_moving;
    int moving_rule;   /* cfg rule index; -1 when !touches_moving */
    int64_t moving_id; /* the reshard's id */
};

#endif
