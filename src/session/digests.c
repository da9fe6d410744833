/*
 * digests.c - see digests.h. Linear probing over a table twice the cap
 * keeps lookups short.
 */
#include "session/digests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "sql/digest.h"

#define TABLE_SLOTS (DIGESTS_SLOTS - 1)
#define OTHER_SLOT  TABLE_SLOTS

static int
slot_of(struct digest_table *t, const char *sql, size_t len,
        struct lex_mode mode)
{
    char text[DIGEST_TEXT_MAX];
    uint64_t h;
    size_t n;

    n = digest_make(sql, len, mode, text, sizeof(text));
    if (n >= sizeof(text))
        n = sizeof(text) - 1;
    h = digest_hash(text, n) | 1; /* never 0: 0 marks a free slot */
    for (size_t i = 0; i < TABLE_SLOTS; i++) {
        size_t k = (h + i) % TABLE_SLOTS;
        struct digest_entry *e = &t->v[k];
        if (e->hash == h && strcmp(e->text, text) == 0)
            return (int)k;
        if (e->hash == 0) {
            if (t->n >= DIGESTS_MAX)
                break;
            e->hash = h;
            memcpy(e->text, text, n + 1);
            t->n++;
            return (int)k;
        }
    }
    return OTHER_SLOT;
}

int
digests_slot(struct digest_table *t, const char *sql, size_t len,
             struct lex_mode mode, uint64_t shape)
{
    struct digest_shape *e;

    if (t->v == NULL) {
        t->v = xcalloc(DIGESTS_SLOTS, sizeof(*t->v));
        t->shapes = xcalloc(DIGESTS_SHAPES, sizeof(*t->shapes));
        snprintf(t->v[OTHER_SLOT].text, DIGEST_TEXT_MAX, "(other statements)");
    }
    if (shape == 0)
        return slot_of(t, sql, len, mode);
    e = &t->shapes[shape % DIGESTS_SHAPES];
    if (e->shape != shape) {
        e->shape = shape;
        e->slot = slot_of(t, sql, len, mode);
    }
    return e->slot;
}

void
digests_note(struct digest_table *t, int slot, int64_t us, bool failed)
{
    struct digest_entry *e;

    if (t->v == NULL || slot < 0 || slot > OTHER_SLOT)
        return;
    e = &t->v[slot];
    e->count++;
    e->total_us += us;
    if (us > e->max_us)
        e->max_us = us;
    e->errors += failed;
}

const char *
digests_text(const struct digest_table *t, int slot)
{
    if (t->v == NULL || slot < 0 || slot > OTHER_SLOT)
        return "";
    return t->v[slot].text;
}

void
digests_free(struct digest_table *t)
{
    free(t->v);
    free(t->shapes);
    t->v = NULL;
    t->shapes = NULL;
    t->n = 0;
}
