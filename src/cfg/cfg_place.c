/*
 * cfg_place.c - owns the live placement as a value (struct cfg_placement:
 * taken from a generation, edited by the reshard coordinator) and its
 * application over a generation's YAML rules (cfg_place_apply, called by
 * cfg.c's load). Reading and writing the state file is cfg_placefile.c.
 *
 * Placements compare by meaning, not by spelling: hash rules slot by slot
 * (same slot count), range rules after joining neighbouring ranges of one
 * shard, shards by name.
 */
#include "cfg/cfg_place.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"

/* --- bounds and ranges ------------------------------------------------- */

static void
bound_copy(struct cfg_bound *dst, const struct cfg_bound *src)
{
    *dst = *src;
    dst->s = src->s != NULL ? xstrdup(src->s) : NULL;
}

static void
bound_free(struct cfg_bound *b)
{
    free(b->s);
    b->s = NULL;
}

/* Both set and of one type: <0, 0, >0. */
static int
bound_cmp(const struct cfg_bound *a, const struct cfg_bound *b)
{
    if (a->is_string) {
        int r = strcmp(a->s, b->s);
        return r < 0 ? -1 : r > 0;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

static bool
bound_eq(const struct cfg_bound *a, const struct cfg_bound *b)
{
    if (a->set != b->set)
        return false;
    if (!a->set)
        return true;
    return a->is_string == b->is_string && bound_cmp(a, b) == 0;
}

static void
ranges_free(struct cfg_range *r, int n)
{
    for (int i = 0; i < n; i++) {
        bound_free(&r[i].from);
        bound_free(&r[i].to);
    }
    free(r);
}

/* A deep copy; map (may be NULL) renumbers the shards. */
static struct cfg_range *
ranges_copy(const struct cfg_range *r, int n, const int *map)
{
    struct cfg_range *out = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*out));

    for (int i = 0; i < n; i++) {
        out[i] = r[i];
        out[i].shard =
            map != NULL && r[i].shard >= 0 ? map[r[i].shard] : r[i].shard;
        bound_copy(&out[i].from, &r[i].from);
        bound_copy(&out[i].to, &r[i].to);
    }
    return out;
}

/* Joins neighbours of one shard (sorted ranges): [a,b) s0 + [b,c) s0 is
 * [a,c) s0, as a DBA would write it. */
static void
ranges_join(struct cfg_range *r, int *n)
{
    int w = 0;

    for (int i = 0; i < *n; i++) {
        if (w > 0 && r[w - 1].shard == r[i].shard &&
            bound_eq(&r[w - 1].to, &r[i].from) && r[i].from.set) {
            bound_free(&r[w - 1].to);
            bound_free(&r[i].from);
            r[w - 1].to = r[i].to;
            continue;
        }
        r[w++] = r[i];
    }
    *n = w;
}

/* Same placement: same shard (by index, after joining) for the same
 * bounds. */
static bool
ranges_same(const struct cfg_range *a, int na, const struct cfg_range *b,
            int nb)
{
    struct cfg_range *x = ranges_copy(a, na, NULL);
    struct cfg_range *y = ranges_copy(b, nb, NULL);
    bool eq;

    ranges_join(x, &na);
    ranges_join(y, &nb);
    eq = na == nb;
    for (int i = 0; eq && i < na; i++)
        eq = x[i].shard == y[i].shard && bound_eq(&x[i].from, &y[i].from) &&
             bound_eq(&x[i].to, &y[i].to);
    ranges_free(x, na);
    ranges_free(y, nb);
    return eq;
}

static bool
range_holds(const struct cfg_range *r, const struct cfg_bound *at)
{
    return (!r->from.set || bound_cmp(&r->from, at) <= 0) &&
           (!r->to.set || bound_cmp(at, &r->to) < 0);
}

/* Whether the ranges' bounds are strings (false: integers). */
static bool
ranges_string(const struct cfg_range *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (r[i].from.set)
            return r[i].from.is_string;
        if (r[i].to.set)
            return r[i].to.is_string;
    }
    return false;
}

static void
moving_copy(struct cfg_moving *dst, const struct cfg_moving *src,
            const int *map)
{
    *dst = *src;
    bound_copy(&dst->from, &src->from);
    bound_copy(&dst->to, &src->to);
    if (map != NULL && src->active) {
        dst->source = map[src->source];
        dst->target = map[src->target];
    }
}

static void
moving_clear(struct cfg_moving *m)
{
    bound_free(&m->from);
    bound_free(&m->to);
    memset(m, 0, sizeof(*m));
}

static void
bound_text(const struct cfg_bound *b, char *buf, size_t len)
{
    if (!b->set)
        snprintf(buf, len, "(none)");
    else if (b->is_string)
        snprintf(buf, len, "'%s'", b->s);
    else
        snprintf(buf, len, "%lld", (long long)b->i);
}

/* --- the placement value ---------------------------------------------- */

static void
place_rule_free(struct cfg_place_rule *e)
{
    free(e->rule);
    free(e->owner);
    free(e->base_owner);
    ranges_free(e->ranges, e->nranges);
    ranges_free(e->base_ranges, e->nbase_ranges);
    moving_clear(&e->moving);
}

void
cfg_placement_free(struct cfg_placement *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->nshards; i++)
        free(p->shards[i]);
    free(p->shards);
    for (int i = 0; i < p->nrules; i++)
        place_rule_free(&p->rules[i]);
    free(p->rules);
    free(p);
}

static int *
owners_copy(const int *o, uint32_t n)
{
    int *out = xcalloc(n, sizeof(int));

    memcpy(out, o, (size_t)n * sizeof(int));
    return out;
}

struct cfg_placement *
cfg_placement_of(const struct cfg *c)
{
    struct cfg_placement *p = xcalloc(1, sizeof(*p));

    p->nshards = c->nshards;
    p->shards =
        xcalloc((size_t)(c->nshards > 0 ? c->nshards : 1), sizeof(char *));
    for (int i = 0; i < c->nshards; i++)
        p->shards[i] = xstrdup(c->shards[i].name);
    p->rules =
        xcalloc((size_t)(c->nrules > 0 ? c->nrules : 1), sizeof(*p->rules));
    for (int i = 0; i < c->nrules; i++) {
        const struct cfg_rule *r = &c->rules[i];
        struct cfg_place_rule *e = &p->rules[p->nrules];

        if (r->type == RULE_HASH && r->slot_owner != NULL) {
            e->slots = r->slots;
            e->owner = owners_copy(r->slot_owner, r->slots);
            e->base_owner =
                owners_copy(r->live ? r->yaml_owner : r->slot_owner, r->slots);
        } else if (r->type == RULE_RANGE) {
            e->ranges = ranges_copy(r->ranges, r->nranges, NULL);
            e->nranges = r->nranges;
            if (r->live) {
                e->base_ranges =
                    ranges_copy(r->yaml_ranges, r->nyaml_ranges, NULL);
                e->nbase_ranges = r->nyaml_ranges;
            } else {
                e->base_ranges = ranges_copy(r->ranges, r->nranges, NULL);
                e->nbase_ranges = r->nranges;
            }
        } else {
            continue;
        }
        e->rule = xstrdup(r->name);
        e->type = r->type;
        moving_copy(&e->moving, &r->moving, NULL);
        p->nrules++;
    }
    return p;
}

struct cfg_place_rule *
cfg_placement_rule(struct cfg_placement *p, const char *rule)
{
    for (int i = 0; i < p->nrules; i++)
        if (strcmp(p->rules[i].rule, rule) == 0)
            return &p->rules[i];
    return NULL;
}

/* --- edits ------------------------------------------------------------ */

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static bool
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return false;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

static struct cfg_place_rule *
find_entry(struct cfg_placement *p, const char *rule, enum cfg_rule_type want,
           char *err, size_t errlen)
{
    struct cfg_place_rule *e = cfg_placement_rule(p, rule);

    if (e == NULL) {
        fail(err, errlen,
             "rule '%s' is not a hash or range rule of the running config",
             rule);
        return NULL;
    }
    if (e->type != want) {
        fail(err, errlen,
             want == RULE_HASH
                 ? "rule '%s' is a range rule: split it with SPLIT AT <value>"
                 : "rule '%s' is a hash rule: move its slots with MOVE SLOTS "
                   "<a>-<b>",
             rule);
        return NULL;
    }
    return e;
}

static int
find_shard(const struct cfg_placement *p, const char *shard, char *err,
           size_t errlen)
{
    for (int i = 0; i < p->nshards; i++)
        if (strcmp(p->shards[i], shard) == 0)
            return i;
    fail(err, errlen,
         "shard '%s' is not in shards:; add it to myshard.yaml and RELOAD "
         "CONFIG first",
         shard);
    return -1;
}

/* Slots lo..hi of e owned by one shard (*source), not target. */
static bool
check_slots(const struct cfg_placement *p, const struct cfg_place_rule *e,
            uint32_t lo, uint32_t hi, int target, int *source, char *err,
            size_t errlen)
{
    if (lo > hi)
        return fail(err, errlen,
                    "slot range %u-%u is reversed; write a-b "
                    "with a <= b",
                    lo, hi);
    if (hi >= e->slots)
        return fail(err, errlen,
                    "slots %u-%u are outside rule '%s''s slots 0-%u", lo, hi,
                    e->rule, e->slots - 1);
    *source = e->owner[lo];
    for (uint32_t s = lo + 1; s <= hi; s++)
        if (e->owner[s] != *source)
            return fail(err, errlen,
                        "slots %u-%u of rule '%s' belong to '%s' and '%s'; "
                        "move them in one reshard per source shard",
                        lo, hi, e->rule, p->shards[*source],
                        p->shards[e->owner[s]]);
    if (*source == target)
        return fail(err, errlen,
                    "slots %u-%u of rule '%s' already belong to "
                    "'%s'",
                    lo, hi, e->rule, p->shards[target]);
    return true;
}

/* The range of e holding at (*idx), whose shard is not target. */
static bool
check_split(const struct cfg_placement *p, const struct cfg_place_rule *e,
            const struct cfg_bound *at, int target, int *idx, char *err,
            size_t errlen)
{
    char t[160];
    bool str = ranges_string(e->ranges, e->nranges);

    if (!at->set)
        return fail(err, errlen, "SPLIT AT needs a value");
    bound_text(at, t, sizeof(t));
    if (at->is_string != str)
        return fail(err, errlen, "rule '%s' has %s bounds; give the value %s",
                    e->rule, str ? "string" : "integer",
                    str ? "in quotes" : "as an integer, without quotes");
    for (int i = 0; i < e->nranges; i++) {
        if (!range_holds(&e->ranges[i], at))
            continue;
        if (e->ranges[i].shard == target)
            return fail(err, errlen,
                        "key %s of rule '%s' already belongs to '%s'", t,
                        e->rule, p->shards[target]);
        *idx = i;
        return true;
    }
    return fail(err, errlen,
                "no range of rule '%s' holds %s; split inside a range", e->rule,
                t);
}

static bool
no_moving(const struct cfg_place_rule *e, char *err, size_t errlen)
{
    if (!e->moving.active)
        return true;
    return fail(err, errlen,
                "rule '%s' is being resharded (reshard %lld); one reshard "
                "per rule at a time",
                e->rule, (long long)e->moving.id);
}

static void
apply_slots(struct cfg_place_rule *e, uint32_t lo, uint32_t hi, int target)
{
    for (uint32_t s = lo; s <= hi; s++)
        e->owner[s] = target;
}

/* Range idx splits at `at`: [from, at) stays, [at, to) goes to target. */
static void
apply_split(struct cfg_place_rule *e, int idx, const struct cfg_bound *at,
            int target)
{
    struct cfg_range *r;

    if (e->ranges[idx].from.set && bound_eq(&e->ranges[idx].from, at)) {
        e->ranges[idx].shard = target;
    } else {
        e->ranges =
            xrealloc(e->ranges, (size_t)(e->nranges + 1) * sizeof(*e->ranges));
        memmove(&e->ranges[idx + 2], &e->ranges[idx + 1],
                (size_t)(e->nranges - idx - 1) * sizeof(*e->ranges));
        e->nranges++;
        r = &e->ranges[idx + 1];
        *r = e->ranges[idx];
        r->shard = target;
        bound_copy(&r->from, at);
        /* the upper part keeps `to`; the lower one ends at `at` */
        bound_copy(&e->ranges[idx].to, at);
    }
    ranges_join(e->ranges, &e->nranges);
}

bool
cfg_placement_move_slots(struct cfg_placement *p, const char *rule, uint32_t lo,
                         uint32_t hi, const char *shard, char *err,
                         size_t errlen)
{
    struct cfg_place_rule *e = find_entry(p, rule, RULE_HASH, err, errlen);
    int target, source;

    if (e == NULL || !no_moving(e, err, errlen))
        return false;
    target = find_shard(p, shard, err, errlen);
    if (target < 0 || !check_slots(p, e, lo, hi, target, &source, err, errlen))
        return false;
    apply_slots(e, lo, hi, target);
    return true;
}

bool
cfg_placement_split_at(struct cfg_placement *p, const char *rule,
                       const struct cfg_bound *at, const char *shard, char *err,
                       size_t errlen)
{
    struct cfg_place_rule *e = find_entry(p, rule, RULE_RANGE, err, errlen);
    int target, idx;

    if (e == NULL || !no_moving(e, err, errlen))
        return false;
    target = find_shard(p, shard, err, errlen);
    if (target < 0 || !check_split(p, e, at, target, &idx, err, errlen))
        return false;
    apply_split(e, idx, at, target);
    return true;
}

static bool
check_id(int64_t id, char *err, size_t errlen)
{
    return id >= 1 || fail(err, errlen, "a reshard id is 1 or more");
}

bool
cfg_placement_set_moving_slots(struct cfg_placement *p, const char *rule,
                               uint32_t lo, uint32_t hi, const char *shard,
                               int64_t id, char *err, size_t errlen)
{
    struct cfg_place_rule *e = find_entry(p, rule, RULE_HASH, err, errlen);
    int target, source;

    if (e == NULL || !no_moving(e, err, errlen) || !check_id(id, err, errlen))
        return false;
    target = find_shard(p, shard, err, errlen);
    if (target < 0 || !check_slots(p, e, lo, hi, target, &source, err, errlen))
        return false;
    e->moving = (struct cfg_moving){.active = true,
                                    .id = id,
                                    .source = source,
                                    .target = target,
                                    .slot_lo = lo,
                                    .slot_hi = hi};
    return true;
}

bool
cfg_placement_set_moving_split(struct cfg_placement *p, const char *rule,
                               const struct cfg_bound *at, const char *shard,
                               int64_t id, char *err, size_t errlen)
{
    struct cfg_place_rule *e = find_entry(p, rule, RULE_RANGE, err, errlen);
    int target, idx;

    if (e == NULL || !no_moving(e, err, errlen) || !check_id(id, err, errlen))
        return false;
    target = find_shard(p, shard, err, errlen);
    if (target < 0 || !check_split(p, e, at, target, &idx, err, errlen))
        return false;
    e->moving = (struct cfg_moving){.active = true,
                                    .id = id,
                                    .source = e->ranges[idx].shard,
                                    .target = target};
    bound_copy(&e->moving.from, at);
    bound_copy(&e->moving.to, &e->ranges[idx].to);
    return true;
}

bool
cfg_placement_finish_moving(struct cfg_placement *p, const char *rule,
                            char *err, size_t errlen)
{
    struct cfg_place_rule *e = cfg_placement_rule(p, rule);
    struct cfg_moving *m;
    int idx = -1, source;

    if (e == NULL || !e->moving.active)
        return fail(err, errlen, "rule '%s' has no keys moving", rule);
    m = &e->moving;
    if (e->type == RULE_HASH) {
        if (!check_slots(p, e, m->slot_lo, m->slot_hi, m->target, &source, err,
                         errlen))
            return false;
        apply_slots(e, m->slot_lo, m->slot_hi, m->target);
    } else {
        if (!check_split(p, e, &m->from, m->target, &idx, err, errlen))
            return false;
        apply_split(e, idx, &m->from, m->target);
    }
    moving_clear(m);
    return true;
}

void
cfg_placement_clear_moving(struct cfg_placement *p, const char *rule)
{
    struct cfg_place_rule *e = cfg_placement_rule(p, rule);

    if (e != NULL)
        moving_clear(&e->moving);
}

/* --- applying it over a generation ------------------------------------ */

void
cfg_place_free_rule(struct cfg_rule *r)
{
    free(r->yaml_owner);
    r->yaml_owner = NULL;
    ranges_free(r->yaml_ranges, r->nyaml_ranges);
    r->yaml_ranges = NULL;
    r->nyaml_ranges = 0;
    moving_clear(&r->moving);
}

/* Adds shard to r->shards when missing (a hash rule's new owner). */
static void
rule_add_shard(struct cfg_rule *r, int shard)
{
    for (int i = 0; i < r->nshards; i++)
        if (r->shards[i] == shard)
            return;
    r->shards = xrealloc(r->shards, (size_t)(r->nshards + 1) * sizeof(int));
    r->shards[r->nshards++] = shard;
}

/* Range rules: the distinct shards in range order, as cfg_check does. */
static void
rule_range_shards(struct cfg_rule *r)
{
    free(r->shards);
    r->shards = xcalloc((size_t)(r->nranges > 0 ? r->nranges : 1), sizeof(int));
    r->nshards = 0;
    for (int i = 0; i < r->nranges; i++) {
        bool dup = false;
        for (int j = 0; j < r->nshards && !dup; j++)
            dup = r->shards[j] == r->ranges[i].shard;
        if (!dup)
            r->shards[r->nshards++] = r->ranges[i].shard;
    }
}

static bool
owners_same(const int *a, const int *b, uint32_t n)
{
    return memcmp(a, b, (size_t)n * sizeof(int)) == 0;
}

struct apply {
    struct cfg *c;
    struct diag *d;
    const char *state; /* file name in messages */
    int line;          /* the entry's line there; 0 unknown */
    const int *map;    /* placement shard -> c shard */
};

static void report(struct apply *a, enum diag_level lvl, const char *hint,
                   const char *fmt, ...) PRINTF_FMT(4, 5);

/* At the entry in the state file. */
static void
report(struct apply *a, enum diag_level lvl, const char *hint, const char *fmt,
       ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add(a->d, lvl, a->state, a->line, a->line > 0 ? 1 : 0, hint, "%s",
             msg);
}

/* The moving set must start from the placement it is applied to. */
static bool
moving_fits(struct apply *a, struct cfg_rule *r, const struct cfg_moving *m)
{
    const char *why = NULL;

    if (!m->active)
        return true;
    if (m->source == m->target)
        why = "its target is its source";
    else if (r->type == RULE_HASH) {
        if (m->slot_lo > m->slot_hi || m->slot_hi >= r->slots)
            why = "its slots are outside the rule's";
        for (uint32_t s = m->slot_lo; why == NULL && s <= m->slot_hi; s++)
            if (r->slot_owner[s] != m->source)
                why = "its slots do not all belong to one shard";
    } else {
        bool held = false;
        for (int i = 0; i < r->nranges && !held; i++)
            held = range_holds(&r->ranges[i], &m->from) &&
                   r->ranges[i].shard == m->source &&
                   bound_eq(&r->ranges[i].to, &m->to) &&
                   m->from.is_string == ranges_string(r->ranges, r->nranges);
        if (!held)
            why = "no range of the placement holds its keys";
    }
    if (why == NULL)
        return true;
    report(a, DIAG_ERROR,
           "abort the reshard (RESHARD ABORT) or restore the file from its "
           "journal",
           "rule '%s': the moving set of reshard %lld does not fit the "
           "placement: %s",
           r->name, (long long)m->id, why);
    return false;
}

static void
set_moving(struct cfg_rule *r, const struct cfg_moving *m, const int *map)
{
    moving_clear(&r->moving);
    if (m->active)
        moving_copy(&r->moving, m, map);
}

/* One entry over rule r. */
static bool
apply_entry(struct apply *a, struct cfg_rule *r, const struct cfg_place_rule *e)
{
    const int *map = a->map;
    struct cfg_moving mv = {0};
    bool base_eq, live_eq;
    int *owner = NULL;
    struct cfg_range *ranges = NULL;
    int nranges = 0;
    bool ok;

    if (e->type != r->type) {
        report(a, DIAG_ERROR,
               "the YAML's rule changed type; remove the entry only once no "
               "row lives where it says",
               "rule '%s' is a %s rule in %s, not a %s rule as recorded here",
               r->name, r->type == RULE_HASH ? "hash" : "range", a->c->path,
               e->type == RULE_HASH ? "hash" : "range");
        return false;
    }
    if (r->type == RULE_HASH) {
        int *base = xcalloc(e->slots, sizeof(int));
        owner = xcalloc(e->slots, sizeof(int));
        for (uint32_t s = 0; s < e->slots; s++) {
            base[s] = map[e->base_owner[s]];
            owner[s] = map[e->owner[s]];
        }
        base_eq =
            e->slots == r->slots && owners_same(base, r->slot_owner, r->slots);
        live_eq =
            e->slots == r->slots && owners_same(owner, r->slot_owner, r->slots);
        free(base);
    } else {
        struct cfg_range *base =
            ranges_copy(e->base_ranges, e->nbase_ranges, map);
        ranges = ranges_copy(e->ranges, e->nranges, map);
        nranges = e->nranges;
        base_eq = ranges_same(base, e->nbase_ranges, r->ranges, r->nranges);
        live_eq = ranges_same(ranges, nranges, r->ranges, r->nranges);
        ranges_free(base, e->nbase_ranges);
    }
    if (!base_eq && !live_eq) {
        char hint[512];
        snprintf(hint, sizeof(hint),
                 "the rows are where %s says: copy its %s of rule '%s' into "
                 "this rule, or put the rule back as it was when the file was "
                 "written; then reload",
                 a->state, r->type == RULE_HASH ? "slot_map" : "ranges",
                 r->name);
        diag_add(a->d, DIAG_ERROR, a->c->path, r->mark.line, r->mark.col, hint,
                 "rule '%s': its placement differs from the live placement "
                 "in %s:%d and from the placement that file was made from",
                 r->name, a->state, a->line);
        free(owner);
        ranges_free(ranges, nranges);
        return false;
    }
    if (!base_eq) {
        report(a, DIAG_WARNING,
               "the entry is dropped the next time myshard writes the file",
               "rule '%s': the live placement equals the one in %s now; the "
               "entry is redundant",
               r->name, a->c->path);
    } else if (!live_eq) {
        r->live = true;
        r->live_line = a->line;
        if (r->type == RULE_HASH) {
            r->yaml_owner = r->slot_owner;
            r->slot_owner = owner;
            owner = NULL;
            r->has_slot_map = true;
            for (uint32_t s = 0; s < r->slots; s++)
                rule_add_shard(r, r->slot_owner[s]);
        } else {
            r->yaml_ranges = r->ranges;
            r->nyaml_ranges = r->nranges;
            r->ranges = ranges;
            r->nranges = nranges;
            ranges = NULL;
            rule_range_shards(r);
        }
    }
    free(owner);
    ranges_free(ranges, nranges);
    moving_copy(&mv, &e->moving, map);
    ok = moving_fits(a, r, &mv);
    if (ok)
        set_moving(r, &mv, NULL);
    moving_clear(&mv);
    return ok;
}

bool
cfg_place_apply(struct cfg *c, const struct cfg_placement *over, struct diag *d)
{
    struct cfg_placement *own = NULL;
    const struct cfg_placement *p = over;
    struct apply a = {.c = c, .d = d, .state = c->reshard.state};
    int *lines = NULL, *map;
    size_t errors = d->errors;

    if (a.state == NULL)
        a.state = "reshard.state";
    if (p == NULL) {
        own = cfg_placement_read(c->reshard.state, c, &lines, d);
        if (own == NULL)
            return d->errors == errors;
        p = own;
    }
    map = xcalloc((size_t)(p->nshards > 0 ? p->nshards : 1), sizeof(int));
    for (int i = 0; i < p->nshards; i++)
        map[i] = cfg_find_shard(c, p->shards[i]);
    a.map = map;
    for (int i = 0; i < p->nrules; i++) {
        const struct cfg_place_rule *e = &p->rules[i];
        int ri = -1;
        bool shards_ok = true;

        a.line = lines != NULL ? lines[i] : 0;
        for (int j = 0; j < c->nrules && ri < 0; j++)
            if (strcmp(c->rules[j].name, e->rule) == 0)
                ri = j;
        if (ri < 0) {
            report(&a, DIAG_ERROR,
                   "put the rule back into sharding_rules: its rows live "
                   "where this file says",
                   "rule '%s' is not in %s any more", e->rule, c->path);
            continue;
        }
        for (int s = 0; s < p->nshards; s++)
            if (map[s] < 0) {
                /* only an error when this entry uses it */
                bool used = e->moving.active &&
                            (e->moving.source == s || e->moving.target == s);
                for (uint32_t k = 0; !used && k < e->slots; k++)
                    used = e->owner[k] == s || e->base_owner[k] == s;
                for (int k = 0; !used && k < e->nranges; k++)
                    used = e->ranges[k].shard == s;
                for (int k = 0; !used && k < e->nbase_ranges; k++)
                    used = e->base_ranges[k].shard == s;
                if (used) {
                    report(&a, DIAG_ERROR,
                           "put the shard back into shards: its rows live "
                           "there",
                           "rule '%s' places keys on shard '%s', which is "
                           "not in %s any more",
                           e->rule, p->shards[s], c->path);
                    shards_ok = false;
                }
            }
        if (shards_ok)
            (void)apply_entry(&a, &c->rules[ri], e);
    }
    free(map);
    free(lines);
    cfg_placement_free(own);
    return d->errors == errors;
}
