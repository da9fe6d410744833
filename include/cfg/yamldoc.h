/*
 * yamldoc.h - a YAML document as a plain tree of nodes, each carrying the
 * line:col where it was written, so the config binder can point at the exact
 * spot of every problem. Aliases are expanded into copies; tags are ignored
 * except that a scalar remembers whether it was written plain (unquoted),
 * which decides whether "1000" is a number or a string.
 */
#ifndef MYSHARD_CFG_YAMLDOC_H
#define MYSHARD_CFG_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>
#include "base/diag.h"
#include "base/util.h"

enum yamldoc_kind { YAMLDOC_SCALAR, YAMLDOC_MAP, YAMLDOC_SEQ };

struct yamldoc_pair {
    struct yamldoc_node *key; /* always a node; usually a scalar */
    struct yamldoc_node *value;
};

struct yamldoc_node {
    enum yamldoc_kind kind;
    int line; /* 1-based */
    int col;  /* 1-based */
    /* YAMLDOC_SCALAR */
    char *str;  /* NUL-terminated copy of the value */
    size_t len; /* bytes in str, which may hold NULs */
    bool plain; /* written without quotes or block style */
    /* YAMLDOC_MAP, in file order */
    struct yamldoc_pair *pairs;
    size_t npairs;
    /* YAMLDOC_SEQ */
    struct yamldoc_node **items;
    size_t nitems;
};

struct yamldoc {
    struct yamldoc_node *root; /* NULL for an empty document */
};

/*
 * Parses len bytes of text. A syntax error, a second document or an alias
 * expansion past the size limit is added to d as an error at its line:col
 * (file is the name used in the diagnostic) and NULL is returned. The result
 * is freed with yamldoc_free().
 */
MUST_CHECK struct yamldoc *yamldoc_parse(const char *file, const char *text,
                                         size_t len, struct diag *d);
void yamldoc_free(struct yamldoc *doc);

/* The value of the first pair whose key is the scalar key, or NULL.
 * map may be NULL or not a map (then NULL too). */
const struct yamldoc_node *yamldoc_get(const struct yamldoc_node *map,
                                       const char *key);
/* True for an absent node and for plain "", "~", "null", "Null", "NULL". */
bool yamldoc_is_null(const struct yamldoc_node *n);
/* "a mapping", "a list" or "a string" - for "must be X, not Y" messages. */
const char *yamldoc_kind_name(const struct yamldoc_node *n);

#endif
