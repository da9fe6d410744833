/*
 * cfg_suggest.c - how config binding reports a problem: cfg_bind_report()
 * (a diagnostic at line:col, prefixed with where in the file it is), the
 * did-you-mean suggester for misspelt keys and names, and the lookups of
 * shards, rules, schemas and users by name that offer one.
 */
#include "cfg/cfg_bind.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
cfg_bind_report(struct cfg_bind *b, enum diag_level lvl, int line, int col,
                const char *hint, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (b->where[0] != '\0')
        diag_add(b->d, lvl, b->file, line, col, hint, "%s: %s", b->where, msg);
    else
        diag_add(b->d, lvl, b->file, line, col, hint, "%s", msg);
}

/* --- did you mean ------------------------------------------------------ */

/* Optimal string alignment distance: a transposition counts as one edit,
 * which is the most common typo ("lsiten"). Case differences are free. */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *d0, *d1, *d2, r;

    if (la > 64 || lb > 64)
        return SIZE_MAX;
    d0 = xcalloc(lb + 1, sizeof(*d0)); /* row i-2 */
    d1 = xcalloc(lb + 1, sizeof(*d1)); /* row i-1 */
    d2 = xcalloc(lb + 1, sizeof(*d2)); /* row i */
    for (size_t j = 0; j <= lb; j++)
        d1[j] = j;
    for (size_t i = 1; i <= la; i++) {
        d2[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) ==
                                  tolower((unsigned char)b[j - 1])
                              ? 0
                              : 1;
            size_t v = MIN(d1[j] + 1, d2[j - 1] + 1);
            v = MIN(v, d1[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = MIN(v, d0[j - 2] + 1);
            d2[j] = v;
        }
        size_t *t = d0;
        d0 = d1;
        d1 = d2;
        d2 = t;
    }
    r = d1[lb];
    free(d0);
    free(d1);
    free(d2);
    return r;
}

void
cfg_suggest_init(struct cfg_suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->dist = SIZE_MAX;
}

void
cfg_suggest_offer(struct cfg_suggest *s, const char *cand)
{
    size_t len = strlen(s->word);
    /* Short words tolerate fewer edits, or everything matches everything. */
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    size_t dist;

    if (cand == NULL)
        return;
    dist = edit_distance(s->word, cand);
    /* "leaky" for "leaky_bucket": an abbreviation is as likely as a typo */
    if (dist > limit && len >= 3 && strncasecmp(cand, s->word, len) == 0)
        dist = limit;
    if (dist <= limit && dist < s->dist) {
        s->best = cand;
        s->dist = dist;
    }
}

const char *
cfg_suggest_hint(const struct cfg_suggest *s, char *buf, size_t len)
{
    if (s->best == NULL)
        return NULL;
    snprintf(buf, len, "did you mean '%s'?", s->best);
    return buf;
}

/* --- name lookups ------------------------------------------------------ */

#define FIND_BODY(arr, n, field)                                               \
    do {                                                                       \
        struct cfg_suggest sg;                                                 \
        for (int i = 0; i < (n); i++)                                          \
            if ((arr)[i].field != NULL && strcmp((arr)[i].field, name) == 0)   \
                return i;                                                      \
        if (hint != NULL) {                                                    \
            hint[0] = '\0';                                                    \
            cfg_suggest_init(&sg, name);                                       \
            for (int i = 0; i < (n); i++)                                      \
                cfg_suggest_offer(&sg, (arr)[i].field);                        \
            if (cfg_suggest_hint(&sg, hint, hlen) == NULL && hlen > 0)         \
                hint[0] = '\0';                                                \
        }                                                                      \
        return -1;                                                             \
    } while (0)

int
cfg_bind_find_shard(const struct cfg *c, const char *name, char *hint,
                    size_t hlen)
{
    FIND_BODY(c->shards, c->nshards, name);
}

int
cfg_bind_find_rule(const struct cfg *c, const char *name, char *hint,
                   size_t hlen)
{
    FIND_BODY(c->rules, c->nrules, name);
}

int
cfg_bind_find_schema(const struct cfg *c, const char *name, char *hint,
                     size_t hlen)
{
    FIND_BODY(c->schemas, c->nschemas, name);
}

int
cfg_bind_find_user(const struct cfg *c, const char *name, char *hint,
                   size_t hlen)
{
    FIND_BODY(c->users, c->nusers, name);
}
