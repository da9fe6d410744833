/*
 * route_internal.h - what the route layer's files share and nobody else
 * sees: the per-call working state of router_route() (struct rt), the
 * table facts it resolves once (struct rt_table), and the helpers the
 * statement-specific files (route_select.c, route_write.c, route_format.c)
 * call back into router.c for: refusing, growing the plan's buffer,
 * evaluating a value as a shard key.
 */
#ifndef MYSHARD_ROUTE_ROUTE_INTERNAL_H
#define MYSHARD_ROUTE_ROUTE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "proto/mysql_defs.h"
#include "route/router.h"
#include "sql/classify_types.h"
#include "sql/lexer.h"

/* What a table of the statement is to the router. */
enum rt_class {
    TC_VIRTUAL = 0, /* derived table or CTE reference: no rows of its own */
    TC_SHARDED,     /* listed with a rule */
    TC_GLOBAL,      /* listed global: on every shard of its schema */
    TC_UNLISTED,    /* in a configured schema, not listed: default shard */
    TC_EXTERNAL,    /* in a schema the config does not know (mysql,
                       information_schema, ...): answered by any server */
};

struct rt_table {
    uint8_t cls;                /* enum rt_class */
    uint8_t vblock;             /* the block its columns are visible in */
    bool write;                 /* TBLF_WRITE */
    bool driving;               /* its block produces the statement's rows (top,
                                   derived, CTE, UNION member, INSERT's SELECT) */
    int schema;                 /* cfg schema index; -1 for TC_EXTERNAL */
    int rule;                   /* TC_SHARDED: cfg rule index, else -1 */
    const struct cfg_table *ct; /* TC_SHARDED/TC_GLOBAL: its entry */
    int comp;                   /* union-find parent (sharded tables) */
    uint64_t mask;              /* shards its key predicates allow */
    bool moving;                /* its rule has a moving set, and the keys the
                                   statement reaches may be in it (true until
                                   the keys say otherwise) */
    char name[65];              /* unquoted name, for messages */
};

/* Working state of one router_route() call (on the stack). */
struct rt {
    const struct cfg *cfg;
    const struct stmt_info *st;
    const struct route_ctx *ctx;
    struct route_plan *plan;
    int schema; /* the statement's schema for default routing */
    int ntab;
    struct rt_table tab[SQL_MAX_TABLES];
    int nsharded, nglobal, nunlisted;
    int main; /* first sharded table driving the route, or -1 */
    uint64_t mask;
    bool scatter;
    bool narrowed; /* a key predicate narrowed the sharded tables */
    bool refused;
    size_t keys_len; /* bytes used in plan->keys */
};

/* Outcome of reading a value as a shard key. */
enum rt_keyval {
    KV_OK = 0,
    KV_NULL,          /* NULL */
    KV_UNKNOWN,       /* an expression, DEFAULT, a too-long string */
    KV_PARAM_MISSING, /* `?` without a bound value */
};

/* Scratch a decoded string key lives in while it is placed. */
#define RT_KEY_CAP 1024

/* ---- router.c ---- */

/* Turns the plan into a refusal (the first refusal wins). */
void rt_refuse(struct rt *r, uint16_t code, const char *fmt, ...)
    PRINTF_FMT(3, 4);
uint64_t rt_shard_bit(int shard);
int rt_first_shard(uint64_t mask); /* -1 for an empty mask */
int rt_mask_count(uint64_t mask);
/* The default shard of a schema (the statement's when schema < 0). */
int rt_default_shard(const struct rt *r, int schema);
/* Every shard of a schema: its rules' shards and its default shard. */
uint64_t rt_schema_shards(const struct rt *r, int schema);
/* Targets in shard order, each sending sql[0..len). */
void rt_set_targets(struct rt *r, uint64_t mask, const char *sql, size_t len);
/* Appends to plan.keys (cut with "..." when full). */
void rt_keys_add(struct rt *r, const char *s, size_t len);
/* Appends a key value as EXPLAIN shows it: the literal, or a parameter's
 * bound value. */
void rt_keys_value(struct rt *r, const struct sql_value *v,
                   const struct route_key *key, enum rt_keyval kv);
/* Appends to a NUL-terminated fixed field of cap bytes holding used bytes;
 * returns the new length. */
size_t rt_field_put(char *f, size_t cap, size_t used, const char *s,
                    size_t len);
/* The span holds a `?` placeholder. */
bool rt_span_has_param(struct lex_mode m, struct sql_span s);
/* `?`s in the statement before `at`: the index of the next one. */
uint32_t rt_params_before(const struct stmt_info *st, const char *at);
/* Plan buffer: rt_buf_put appends and returns the offset of the bytes;
 * pointers into plan->buf are valid only once nothing more is appended. */
size_t rt_buf_put(struct route_plan *plan, const char *s, size_t len);
void rt_buf_reserve(struct route_plan *plan, size_t more);

/* ---- route_tables.c ---- */

/* Decodes a name token into out (NUL-terminated, cut to cap - 1). */
size_t rt_unquote_name(struct lex_mode m, struct sql_span s, char *out,
                       size_t cap);
/* Class, schema and config entry of one table reference. */
void rt_classify_table(const struct rt *r, const struct sql_table *t,
                       struct rt_table *x);
/* LOCK TABLES, UNLOCK TABLES, and the refusal (1100) of a statement that
 * uses a table on a shard the session holds no table locks on, while it
 * holds some (route_lock.c). */
void rt_route_lock(struct rt *r);
void rt_route_unlock(struct rt *r);
void rt_check_locked(struct rt *r);
/* Fills r->tab from the statement, and plan.tables. */
void rt_resolve_tables(struct rt *r);
/* Multi-table UPDATE/DELETE: marks only the tables really written. */
void rt_refine_written(struct rt *r);
/* Shards holding table i; one shard holding it (SHOW CREATE TABLE). */
uint64_t rt_table_shards(const struct rt *r, int i);
int rt_table_holder(const struct rt *r, int i);
/* The shards the statement's tables need: r->mask, r->main, r->scatter;
 * false after refusing (join across shards, unlisted or global table not
 * on the shards). */
bool rt_route_tables(struct rt *r);
/* Table index a column reference of a block names (-1: unknown or
 * ambiguous; want breaks ties for unqualified key columns). */
int rt_resolve_col(const struct rt *r, unsigned block,
                   const struct sql_colref *c, int want);
/* The column reference is table ti's shard key. */
bool rt_col_is_key(const struct rt *r, unsigned block,
                   const struct sql_colref *c, int ti);

/* ---- route_keys.c ---- */

/* A literal or parameter as a key; string bytes may land in buf
 * (RT_KEY_CAP bytes). */
enum rt_keyval rt_value_key(struct rt *r, const struct sql_value *v,
                            struct route_key *key, char *buf);
/* Shards predicate p on table ti's key allows; *open tracks whether the
 * key's name was written to plan.keys yet; *moving: whether a key it
 * allows may be in the rule's moving set. */
uint64_t rt_pred_mask(struct rt *r, int ti, const struct sql_pred *p,
                      bool *open, bool *moving);

/* ---- rewrite_plan.c ---- */

#define RT_MAX_EDITS  (SQL_MAX_ITEMS * 2 + 8)
#define RT_MAX_PIECES 1024

/* Replace statement bytes [at, end) by pieces[first .. first + n). */
struct rt_edit {
    const char *at;
    const char *end;
    int first;
    int n;
};

struct rt_piece {
    const char *p;
    size_t len;
};

/* Edits of one statement's text (on the stack; nothing to free). */
struct rt_edits {
    const struct stmt_info *st;
    int nedits;
    struct rt_edit edits[RT_MAX_EDITS];
    int npieces;
    struct rt_piece pieces[RT_MAX_PIECES];
    char nums[512]; /* numbers written into the text */
    size_t nums_len;
    bool full; /* an array filled up: the text cannot be built */
};

void rt_edits_init(struct rt_edits *e, const struct stmt_info *st);
/* Opens an edit replacing [at, end) (at == end inserts); the pieces added
 * until rt_edits_end(e, index) form its text. Returns its index, -1 when
 * full. Pieces must stay valid until rt_edits_build. */
int rt_edits_begin(struct rt_edits *e, const char *at, const char *end);
void rt_edits_end(struct rt_edits *e, int i);
void rt_edits_piece(struct rt_edits *e, const char *p, size_t len);
void rt_edits_str(struct rt_edits *e, const char *s);
void rt_edits_num(struct rt_edits *e, uint64_t v);
/* Writes the edited statement into plan->buf at *off, *len bytes. False
 * (nothing usable written) when an array filled up or edits overlap. */
bool rt_edits_build(struct rt_edits *e, struct route_plan *plan, size_t *off,
                    size_t *len);
/* Same tokens, identifiers compared unquoted and case-insensitively. */
bool rt_tokens_eq(struct lex_mode m, struct sql_span a, struct sql_span b);
/* Two identifier tokens name the same thing. */
bool rt_tok_ident_eq(struct lex_mode m, const struct token *a,
                     const struct token *b);
/* The span is one identifier token; *t receives it. */
bool rt_single_ident(struct lex_mode m, struct sql_span s, struct token *t);

/* ---- route_select.c ---- */

/* Merge spec and shard text of a SELECT on several targets (r->mask). */
void rt_select_merge(struct rt *r);

/* ---- route_write.c ---- */

/* INSERT/REPLACE; explain_only computes r->mask without targets. */
void rt_route_insert(struct rt *r, bool explain_only);
void rt_route_update_delete(struct rt *r);

/* ---- route_insert_select.c ---- */

/* INSERT ... SELECT into sharded table ti whose key is the select item
 * keyidx (0-based). */
void rt_route_insert_select(struct rt *r, int ti, int keyidx,
                            bool explain_only);

#endif
