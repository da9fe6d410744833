/*
 * cfg_bind.h - the key-table engine: binds a YAML mapping onto a C struct
 * described by a table of keys {name, type, offset, bounds, default, help}.
 * It refuses unknown keys (with a did-you-mean hint), duplicate keys, wrong
 * types and out-of-range values, applies defaults written as YAML text, and
 * recurses into sections, lists of entries and name->entry maps. Every
 * problem goes to the diag list at the line:col of the offending node,
 * prefixed with where it is ("backend.pool: ", "table 'orders': ").
 *
 * The order of a table is the binding order: a key that refers to shards or
 * rules by name must come after the key that defines them.
 */
#ifndef MYSHARD_CFG_CFG_BIND_H
#define MYSHARD_CFG_CFG_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include "base/diag.h"
#include "cfg/cfg_types.h"
#include "cfg/yamldoc.h"

enum cfg_ktype {
    KT_STRING,     /* char *; NULL when absent without default */
    KT_I64,        /* int64_t */
    KT_I32,        /* int */
    KT_U32,        /* uint32_t */
    KT_BOOL,       /* bool: true/false, yes/no, on/off */
    KT_NUMBER,     /* double */
    KT_DURATION,   /* int64_t milliseconds; bare number = seconds */
    KT_SIZE,       /* int64_t bytes; bare number = bytes */
    KT_ADDR,       /* struct cfg_addr: host:port, [v6]:port */
    KT_ENUM,       /* int-sized enum; names in enums */
    KT_STRLIST,    /* char ** at offset, int count at count_off */
    KT_BOUND,      /* struct cfg_bound: plain integer, else string */
    KT_SHARD_REF,  /* int index into cfg.shards; -1 when absent */
    KT_SHARD_REFS, /* int * at offset, int count at count_off */
    KT_RULE_REF,   /* int index into cfg.rules; -1 when absent */
    KT_SECTION,    /* nested struct at offset, keys in sub */
    KT_LIST,      /* array of elem_size structs at offset, count at count_off */
    KT_NAMED_MAP, /* like KT_LIST from a mapping; each key fills name_off */
    KT_NODE,      /* any value, checked by the owner's post hook */
    KT_CUSTOM,    /* fn binds it */
};

enum {
    KEY_REQUIRED = 1 << 0, /* must be present (and lists non-empty) */
    KEY_NAME = 1 << 1,     /* the entry's name: labels its diagnostics */
    KEY_MIN_EXCL = 1 << 2, /* value must be greater than min */
    KEY_MARK = 1 << 3,     /* section: store its mark at mark_off */
    KEY_SECRET = 1 << 4,   /* never echo the value in messages */
    KEY_RESTART = 1 << 5,  /* bound at start: a reload cannot change it */
    KEY_APPEND = 1 << 6,   /* with KEY_RESTART on a KT_LIST: entries appended
                              at the end apply live; a change to the existing
                              ones needs a restart */
};

struct cfg_bind;
struct cfg_key;

struct cfg_enum {
    const char *name;
    int value;
};

/* Binds node (never NULL or null) into obj, the struct the key belongs to. */
typedef void (*cfg_bind_fn)(struct cfg_bind *b, const struct cfg_key *k,
                            const struct yamldoc_node *node, void *obj);
/* Runs after a section or entry was bound; map is NULL when it was absent. */
typedef void (*cfg_post_fn)(struct cfg_bind *b, const struct yamldoc_node *map,
                            void *obj);
/* KT_CUSTOM/KT_NODE: whether the values k bound into a and b (the structs
 * the key belongs to) are the same. */
typedef bool (*cfg_eq_fn)(const struct cfg_key *k, const void *a,
                          const void *b);

struct cfg_key {
    const char *name;
    enum cfg_ktype type;
    size_t offset;
    double min, max;  /* bounds in the stored unit; both 0: unbounded */
    const char *def;  /* default as it would be written in YAML, or NULL */
    const char *help; /* one line for docs */
    unsigned flags;
    const struct cfg_enum *enums; /* KT_ENUM, NULL-name terminated */
    const struct cfg_key *sub;    /* KT_SECTION/LIST/NAMED_MAP */
    size_t nsub;
    size_t count_off; /* KT_STRLIST/SHARD_REFS/LIST/NAMED_MAP */
    size_t elem_size; /* KT_LIST/NAMED_MAP */
    size_t name_off;  /* KT_NAMED_MAP: char * in the entry */
    size_t mark_off;  /* entries, KEY_MARK sections: struct cfg_mark */
    const char *what; /* label of one entry: "shard", "table" */
    cfg_bind_fn fn;   /* KT_CUSTOM */
    cfg_post_fn post; /* KT_SECTION/LIST/NAMED_MAP: per section/entry */
    cfg_eq_fn eq;     /* KT_CUSTOM/KT_NODE: compares (see cfg_bind_equal) */
};

struct cfg_bind {
    const char *file; /* for diagnostics */
    struct diag *d;
    struct cfg *cfg; /* being built */
    char where[256]; /* prefix of messages, "" at top level */
};

/* The field at byte offset off of a struct described by a key table. */
#define CFG_FIELD(obj, off, type) ((type *)((char *)(obj) + (off)))

/* Binds map (NULL when absent) into obj with the keys. */
void cfg_bind_map(struct cfg_bind *b, const struct cfg_key *keys, size_t nkeys,
                  const struct yamldoc_node *map, void *obj);

/* Adds a diagnostic at line:col, the message prefixed with b->where. */
void cfg_bind_report(struct cfg_bind *b, enum diag_level lvl, int line, int col,
                     const char *hint, const char *fmt, ...) PRINTF_FMT(6, 7);
#define cfg_bind_error(b, node, hint, ...)                                     \
    cfg_bind_report((b), DIAG_ERROR, (node) ? (node)->line : 0,                \
                    (node) ? (node)->col : 0, (hint), __VA_ARGS__)
#define cfg_bind_warn(b, node, hint, ...)                                      \
    cfg_bind_report((b), DIAG_WARNING, (node) ? (node)->line : 0,              \
                    (node) ? (node)->col : 0, (hint), __VA_ARGS__)

/* Parses "host:port" or "[v6]:port" into a (freeing nothing in a).
 * On failure returns false and sets *why to a static explanation. */
bool cfg_bind_parse_addr(const char *text, struct cfg_addr *a,
                         const char **why);

/* Did-you-mean: offer candidates one by one, then read best (NULL when
 * nothing is close enough to be a likely typo). */
struct cfg_suggest {
    const char *word;
    const char *best;
    size_t dist;
};
void cfg_suggest_init(struct cfg_suggest *s, const char *word);
void cfg_suggest_offer(struct cfg_suggest *s, const char *cand);
/* Formats "did you mean 'x'?" into buf; NULL when there is no suggestion. */
const char *cfg_suggest_hint(const struct cfg_suggest *s, char *buf,
                             size_t len);

/* Name lookups over what is bound so far; -1 when unknown, and then a
 * "did you mean" hint is written to hint (when not NULL). */
int cfg_bind_find_shard(const struct cfg *c, const char *name, char *hint,
                        size_t hlen);
int cfg_bind_find_rule(const struct cfg *c, const char *name, char *hint,
                       size_t hlen);
int cfg_bind_find_schema(const struct cfg *c, const char *name, char *hint,
                         size_t hlen);
int cfg_bind_find_user(const struct cfg *c, const char *name, char *hint,
                       size_t hlen);

/* Frees what the binder allocated for the keys inside obj (strings, lists,
 * sections, entries), recursively, but not obj itself. */
void cfg_bind_free(const struct cfg_key *keys, size_t nkeys, void *obj);

/* Whether key k has the same value in a and b (structs of k's table):
 * strings, numbers, addresses (host and port), lists entry by entry,
 * sections key by key; KT_CUSTOM and KT_NODE through k->eq (different when
 * it has none). Marks (line:col) are not compared. */
bool cfg_bind_equal(const struct cfg_key *k, const void *a, const void *b);

/* Replaces the value of key k in dst by a deep copy of its value in src,
 * freeing what dst held. For every type but KT_CUSTOM and KT_NODE (which
 * the owner copies itself); list entries are copied whole, marks included. */
void cfg_bind_copy(const struct cfg_key *k, void *dst, const void *src);
/* The first n entries of k's list (KT_LIST or KT_NAMED_MAP) in src replace
 * those of dst, deep-copied; both lists hold at least n entries. */
void cfg_bind_copy_entries(const struct cfg_key *k, void *dst, const void *src,
                           int n);

#endif
