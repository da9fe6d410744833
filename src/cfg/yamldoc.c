/*
 * yamldoc.c - owns the conversion from libyaml's document model to the
 * yamldoc tree. libyaml's loader already resolves aliases to node indices;
 * we copy each referenced node, which turns a shared or even cyclic
 * reference into a tree. A node budget and a depth limit stop alias bombs
 * ("billion laughs") and self-referencing anchors from eating the process.
 */
#include "cfg/yamldoc.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_NODES 200000
#define MAX_DEPTH 64

struct convert {
    yaml_document_t *ydoc;
    size_t nodes; /* created so far, against MAX_NODES */
    bool too_big;
    int line, col; /* where the budget ran out */
};

static void
node_free(struct yamldoc_node *n)
{
    if (n == NULL)
        return;
    free(n->str);
    for (size_t i = 0; i < n->npairs; i++) {
        node_free(n->pairs[i].key);
        node_free(n->pairs[i].value);
    }
    free(n->pairs);
    for (size_t i = 0; i < n->nitems; i++)
        node_free(n->items[i]);
    free(n->items);
    free(n);
}

static struct yamldoc_node *
convert_node(struct convert *cv, yaml_node_t *yn, int depth)
{
    struct yamldoc_node *n;

    if (yn == NULL)
        return NULL;
    if (depth > MAX_DEPTH || cv->nodes >= MAX_NODES) {
        if (!cv->too_big) {
            cv->too_big = true;
            cv->line = (int)yn->start_mark.line + 1;
            cv->col = (int)yn->start_mark.column + 1;
        }
        return NULL;
    }
    cv->nodes++;
    n = xcalloc(1, sizeof(*n));
    n->line = (int)yn->start_mark.line + 1;
    n->col = (int)yn->start_mark.column + 1;

    switch (yn->type) {
    case YAML_SEQUENCE_NODE: {
        size_t cnt = (size_t)(yn->data.sequence.items.top -
                              yn->data.sequence.items.start);
        n->kind = YAMLDOC_SEQ;
        n->items = xcalloc(cnt, sizeof(*n->items));
        for (size_t i = 0; i < cnt && !cv->too_big; i++) {
            yaml_node_t *c = yaml_document_get_node(
                cv->ydoc, yn->data.sequence.items.start[i]);
            n->items[n->nitems] = convert_node(cv, c, depth + 1);
            if (n->items[n->nitems] != NULL)
                n->nitems++;
        }
        break;
    }
    case YAML_MAPPING_NODE: {
        size_t cnt =
            (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        n->kind = YAMLDOC_MAP;
        n->pairs = xcalloc(cnt, sizeof(*n->pairs));
        for (size_t i = 0; i < cnt && !cv->too_big; i++) {
            yaml_node_pair_t *p = &yn->data.mapping.pairs.start[i];
            struct yamldoc_pair *q = &n->pairs[n->npairs];
            q->key = convert_node(cv, yaml_document_get_node(cv->ydoc, p->key),
                                  depth + 1);
            q->value = convert_node(
                cv, yaml_document_get_node(cv->ydoc, p->value), depth + 1);
            if (q->key == NULL || q->value == NULL) {
                node_free(q->key);
                node_free(q->value);
                continue;
            }
            n->npairs++;
        }
        break;
    }
    case YAML_SCALAR_NODE:
    default:
        n->kind = YAMLDOC_SCALAR;
        n->len = yn->data.scalar.length;
        n->str = xstrndup((const char *)yn->data.scalar.value, n->len);
        n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        break;
    }
    return n;
}

/* libyaml's own texts are lower case and terse ("did not find expected
 * key"); the context, when there is one, says what was being read. */
static void
report_parser_error(const char *file, yaml_parser_t *p, struct diag *d)
{
    char hint[256];
    const char *problem = p->problem ? p->problem : "unreadable YAML";
    int line = (int)p->problem_mark.line + 1;
    int col = (int)p->problem_mark.column + 1;

    if (p->error == YAML_READER_ERROR) {
        /* reader errors carry a byte offset, not a line */
        diag_add(d, DIAG_ERROR, file, 0, 0, NULL, "YAML syntax: %s at byte %zu",
                 problem, p->problem_offset);
        return;
    }
    if (p->context != NULL) {
        snprintf(hint, sizeof(hint), "%s at line %d", p->context,
                 (int)p->context_mark.line + 1);
        diag_add(d, DIAG_ERROR, file, line, col, hint, "YAML syntax: %s",
                 problem);
    } else {
        diag_add(d, DIAG_ERROR, file, line, col, NULL, "YAML syntax: %s",
                 problem);
    }
}

struct yamldoc *
yamldoc_parse(const char *file, const char *text, size_t len, struct diag *d)
{
    yaml_parser_t parser;
    yaml_document_t ydoc, extra;
    struct yamldoc *doc = NULL;
    struct convert cv = {0};
    yaml_node_t *root;

    if (!yaml_parser_initialize(&parser)) {
        diag_add(d, DIAG_ERROR, file, 0, 0, NULL, "cannot start YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &ydoc)) {
        report_parser_error(file, &parser, d);
        goto out_parser;
    }

    /* A second document would be silently ignored by a naive loader. */
    if (!yaml_parser_load(&parser, &extra)) {
        report_parser_error(file, &parser, d);
        goto out_doc;
    }
    if (yaml_document_get_root_node(&extra) != NULL) {
        diag_add(d, DIAG_ERROR, file, (int)extra.start_mark.line + 1,
                 (int)extra.start_mark.column + 1, NULL,
                 "only one YAML document is allowed in a config file");
        yaml_document_delete(&extra);
        goto out_doc;
    }
    yaml_document_delete(&extra);

    doc = xcalloc(1, sizeof(*doc));
    root = yaml_document_get_root_node(&ydoc);
    cv.ydoc = &ydoc;
    doc->root = convert_node(&cv, root, 0);
    if (cv.too_big) {
        diag_add(d, DIAG_ERROR, file, cv.line, cv.col,
                 "aliases expand too far or nest too deep",
                 "YAML document is too large");
        yamldoc_free(doc);
        doc = NULL;
    }

out_doc:
    yaml_document_delete(&ydoc);
out_parser:
    yaml_parser_delete(&parser);
    return doc;
}

void
yamldoc_free(struct yamldoc *doc)
{
    if (doc == NULL)
        return;
    node_free(doc->root);
    free(doc);
}

const struct yamldoc_node *
yamldoc_get(const struct yamldoc_node *map, const char *key)
{
    size_t klen = strlen(key);

    if (map == NULL || map->kind != YAMLDOC_MAP)
        return NULL;
    for (size_t i = 0; i < map->npairs; i++) {
        const struct yamldoc_node *k = map->pairs[i].key;
        if (k->kind == YAMLDOC_SCALAR && k->len == klen &&
            memcmp(k->str, key, klen) == 0)
            return map->pairs[i].value;
    }
    return NULL;
}

bool
yamldoc_is_null(const struct yamldoc_node *n)
{
    if (n == NULL)
        return true;
    if (n->kind != YAMLDOC_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 ||
           strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
           strcmp(n->str, "NULL") == 0;
}

const char *
yamldoc_kind_name(const struct yamldoc_node *n)
{
    if (n == NULL)
        return "nothing";
    switch (n->kind) {
    case YAMLDOC_MAP:
        return "a mapping";
    case YAMLDOC_SEQ:
        return "a list";
    case YAMLDOC_SCALAR:
    default:
        return "a string";
    }
}
