/*
 * rsgen.c - the generations a reshard switches the workers to, made from
 * the running one's YAML text and an edited live placement (cfg_place.h):
 * marked (the source owns the moving keys, writes to them are marked),
 * switched (the target owns them, the source's stale copies are the
 * cleanup set), cleaned (the cleanup deleted those) and plain (the
 * source, unmarked). The
 * state file is written before the generation is handed out, so a crash
 * after a switch finds the placement that ran.
 */
#include "rs_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"

/* The split value as a bound: r->at is its SQL literal. */
static void
at_bound(const struct reshard *r, struct cfg_bound *b, char *buf, size_t len)
{
    memset(b, 0, sizeof(*b));
    b->set = true;
    if (r->at[0] != '\'') {
        b->i = strtoll(r->at, NULL, 10);
        return;
    }
    {
        size_t o = 0;
        for (const char *s = r->at + 1; *s && o + 1 < len; s++) {
            if (*s == '\\' && s[1] != '\0')
                s++;
            else if (*s == '\'' && s[1] == '\0')
                break;
            buf[o++] = *s;
        }
        buf[o] = '\0';
    }
    b->is_string = true;
    b->s = buf;
}

struct cfg *
rsgen_next(const struct cfg *running, const struct reshard *r, enum rsgen what,
           int64_t *gen_out, char *err, size_t errlen)
{
    struct cfg_placement *p = cfg_placement_of(running);
    struct cfg_bound at;
    char atbuf[256];
    struct cfg *next = NULL;
    struct diag d;
    bool ok = true;

    if (p == NULL) {
        snprintf(err, errlen, "cannot read the running placement");
        return NULL;
    }
    cfg_placement_clear_moving(p, r->rule);
    if (!r->hash)
        at_bound(r, &at, atbuf, sizeof(atbuf));
    switch (what) {
    case RSGEN_MOVING:
        ok = r->hash ? cfg_placement_set_moving_slots(p, r->rule, r->lo, r->hi,
                                                      r->to, (int64_t)r->id,
                                                      err, errlen)
                     : cfg_placement_set_moving_split(
                           p, r->rule, &at, r->to, (int64_t)r->id, err, errlen);
        break;
    case RSGEN_SWITCHED:
        /* the moved keys become the cleanup set: the source keeps stale
         * copies until the cleanup deletes them */
        ok = (r->hash ? cfg_placement_set_moving_slots(p, r->rule, r->lo, r->hi,
                                                       r->to, (int64_t)r->id,
                                                       err, errlen)
                      : cfg_placement_set_moving_split(p, r->rule, &at, r->to,
                                                       (int64_t)r->id, err,
                                                       errlen)) &&
             cfg_placement_finish_moving(p, r->rule, err, errlen);
        break;
    case RSGEN_CLEANED:
        cfg_placement_clear_cleanup(p, r->rule);
        break;
    case RSGEN_PLAIN:
        break;
    }
    if (ok) {
        diag_init(&d);
        next = cfg_with_placement(running, p, &d);
        if (next == NULL) {
            int n = snprintf(err, errlen, "the new placement does not apply: ");
            (void)diag_join(&d, err + n, errlen - (size_t)n);
        }
        diag_free(&d);
    }
    /* The control server first: once another instance can read it, it
     * is the placement (control.c); then the local file. */
    if (next != NULL) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        int64_t gen = 0;
        bool published = false;
        if (out != NULL) {
            cfg_placement_write(p, true, out);
            fclose(out);
            published = control_publish(text, &gen, err, errlen);
        } else {
            snprintf(err, errlen, "out of memory");
        }
        free(text);
        if (!published ||
            !cfg_placement_save(running->reshard.state, p, err, errlen)) {
            cfg_put(next);
            next = NULL;
        } else if (gen_out != NULL) {
            *gen_out = gen;
        }
    }
    cfg_placement_free(p);
    return next;
}

bool
rsgen_switched(const struct cfg *running, const struct reshard *r)
{
    int to = cfg_find_shard(running, r->to);

    for (int i = 0; i < running->nrules; i++) {
        const struct cfg_rule *ru = &running->rules[i];
        if (strcmp(ru->name, r->rule) != 0 || to < 0 || ru->moving.active)
            continue;
        if (r->hash)
            return ru->type == RULE_HASH && r->lo < ru->slots &&
                   ru->slot_owner[r->lo] == to;
        {
            struct cfg_bound at;
            char buf[256];
            at_bound(r, &at, buf, sizeof(buf));
            for (int k = 0; k < ru->nranges; k++) {
                const struct cfg_range *g = &ru->ranges[k];
                bool in = at.is_string
                              ? (!g->from.set || strcmp(buf, g->from.s) >= 0) &&
                                    (!g->to.set || strcmp(buf, g->to.s) < 0)
                              : (!g->from.set || at.i >= g->from.i) &&
                                    (!g->to.set || at.i < g->to.i);
                if (in)
                    return g->shard == to;
            }
        }
    }
    return false;
}
