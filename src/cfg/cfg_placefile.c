/*
 * cfg_placefile.c - owns the state file of the live placement
 * (reshard.state): reading it into a struct cfg_placement with file:line:col
 * diagnostics (through the same key-table binder and slot map and range
 * checks as myshard.yaml), and writing it, atomically. Its format:
 *
 *   # myshard live placement: written by RESHARD, read at start and RELOAD.
 *   rules:
 *     user_hash:
 *       slots: 1024
 *       base: { "s0": "0-511", "s1": "512-1023" }
 *       slot_map: { "s0": "0-511", "s1": "512-767", "s2": "768-1023" }
 *       moving: { slots: "768-1023", target: "s2", id: 3 }
 *     old_hash:
 *       ...
 *       cleanup: { slots: "0-255", source: "s0", id: 2 }
 *     id_range:
 *       base:
 *         - { shard: "s0", to: 1000 }
 *         - { shard: "s1", from: 1000 }
 *       ranges:
 *         - { shard: "s0", to: 1000 }
 *         - { shard: "s1", from: 1000, to: 5000 }
 *         - { shard: "s2", from: 5000 }
 *       moving: { from: 5000, target: "s2", id: 4 }
 *
 * base is the YAML placement the entry was made from; moving is present
 * only while a reshard runs (a range's moving keys run from `from` to the
 * end of the range holding it); cleanup from its cutover until its cleanup
 * has deleted the moved keys' stale rows from `source` (range rules:
 * `from` and, unless they run to the end, `to`).
 */
#include "base/atomicfile.h"
#include "cfg/cfg_place.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "cfg/cfg_bind.h"
#include "cfg/cfg_check.h"
#include "cfg/yamldoc.h"

#define OFF(type, field) offsetof(struct type, field)
#define KEYS(t)          .sub = (t), .nsub = ARRAY_SIZE(t)
#define STATE_MAX        (16 * 1024 * 1024)

/* --- reading ----------------------------------------------------------- */

struct moving_bind {
    char *slots; /* hash: "a-b" */
    struct cfg_bound from;
    int target;
    int64_t id;
};

struct cleanup_bind {
    char *slots; /* hash: "a-b" */
    struct cfg_bound from, to;
    int source;
    int64_t id;
};

struct entry_bind {
    uint32_t slots;
    struct moving_bind moving;
    struct cleanup_bind cleanup;
};

static const struct cfg_key cleanup_keys[] = {
    {"slots", KT_STRING, OFF(cleanup_bind, slots),
     .help = "hash: the moved slots, a-b"},
    {"from", KT_BOUND, OFF(cleanup_bind, from),
     .help = "range: the first moved key"},
    {"to", KT_BOUND, OFF(cleanup_bind, to),
     .help = "range: the end of the moved keys (exclusive; none: no end)"},
    {"source", KT_SHARD_REF, OFF(cleanup_bind, source), .flags = KEY_REQUIRED,
     .help = "the shard that still holds their stale rows"},
    {"id", KT_I64, OFF(cleanup_bind, id), 1, 9e18, .flags = KEY_REQUIRED,
     .help = "the reshard's id"},
};

static const struct cfg_key moving_keys[] = {
    {"slots", KT_STRING, OFF(moving_bind, slots),
     .help = "hash: the moving slots, a-b"},
    {"from", KT_BOUND, OFF(moving_bind, from),
     .help = "range: the first moving key"},
    {"target", KT_SHARD_REF, OFF(moving_bind, target), .flags = KEY_REQUIRED,
     .help = "the shard the keys move to"},
    {"id", KT_I64, OFF(moving_bind, id), 1, 9e18, .flags = KEY_REQUIRED,
     .help = "the reshard's id"},
};

static const struct cfg_key entry_keys[] = {
    {"slots", KT_U32, OFF(entry_bind, slots), 1, 65536,
     .help = "hash: number of slots"},
    {"base", KT_NODE, 0, .help = "the YAML placement it was made from"},
    {"slot_map", KT_NODE, 0, .help = "hash: the live slot map"},
    {"ranges", KT_NODE, 0, .help = "range: the live ranges"},
    {"moving", KT_SECTION, OFF(entry_bind, moving), KEYS(moving_keys),
     .help = "the keys a reshard moves"},
    {"cleanup", KT_SECTION, OFF(entry_bind, cleanup), KEYS(cleanup_keys),
     .help = "the moved keys whose stale rows remain on a shard"},
};

static const struct cfg_key top_keys[] = {
    {"rules", KT_NODE, 0, .help = "rule name -> live placement"},
};

/* A slot map node into owners (slots entries), any shard of the config. */
static int *
read_slot_map(struct cfg_bind *b, const struct yamldoc_node *n, uint32_t slots)
{
    struct cfg_rule tmp = {.slots = slots};
    size_t errors = b->d->errors;
    int *out;

    tmp.nshards = b->cfg->nshards;
    tmp.shards =
        xcalloc((size_t)(tmp.nshards > 0 ? tmp.nshards : 1), sizeof(int));
    for (int i = 0; i < tmp.nshards; i++)
        tmp.shards[i] = i;
    tmp.slot_owner = xcalloc(slots, sizeof(int));
    for (uint32_t s = 0; s < slots; s++)
        tmp.slot_owner[s] = -1;
    cfg_check_slot_map(b, &tmp, n);
    free(tmp.shards);
    out = tmp.slot_owner;
    if (b->d->errors != errors) {
        free(out);
        return NULL;
    }
    return out;
}

/* A range list node, bound and checked as a rule's `ranges`. */
static bool
read_ranges(struct cfg_bind *b, const struct yamldoc_node *n,
            struct cfg_range **out, int *nout)
{
    const struct cfg_key *k = cfg_rule_key("ranges");
    struct yamldoc_node key = {.kind = YAMLDOC_SCALAR,
                               .line = n->line,
                               .col = n->col,
                               .str = (char *)"ranges",
                               .len = 6,
                               .plain = true};
    struct yamldoc_pair pair = {&key, (struct yamldoc_node *)n};
    struct yamldoc_node map = {.kind = YAMLDOC_MAP,
                               .line = n->line,
                               .col = n->col,
                               .pairs = &pair,
                               .npairs = 1};
    struct cfg_rule tmp = {0};
    size_t errors = b->d->errors;

    cfg_bind_map(b, k, 1, &map, &tmp);
    if (b->d->errors == errors) {
        if (tmp.nranges == 0)
            cfg_bind_error(b, n, NULL, "needs at least one range");
        else
            cfg_check_ranges(b, &tmp);
    }
    free(tmp.shards);
    *out = tmp.ranges;
    *nout = tmp.nranges;
    return b->d->errors == errors;
}

/* "a-b" or "a" */
static bool
parse_slots(const char *s, uint32_t *lo, uint32_t *hi)
{
    char *end;
    unsigned long a, z;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    a = strtoul(s, &end, 10);
    z = a;
    if (*end == '-') {
        if (end[1] < '0' || end[1] > '9')
            return false;
        z = strtoul(end + 1, &end, 10);
    }
    if (*end != '\0' || a > 65535 || z > 65535)
        return false;
    *lo = (uint32_t)a;
    *hi = (uint32_t)z;
    return true;
}

/* Whether the entry's live ranges have string bounds. */
static bool
ranges_are_strings(const struct cfg_place_rule *e)
{
    for (int i = 0; i < e->nranges; i++) {
        if (e->ranges[i].from.set)
            return e->ranges[i].from.is_string;
        if (e->ranges[i].to.set)
            return e->ranges[i].to.is_string;
    }
    return false;
}

static void
read_moving(struct cfg_bind *b, const struct yamldoc_node *map,
            struct cfg_place_rule *e, const struct moving_bind *mb)
{
    const struct yamldoc_node *mn = yamldoc_get(map, "moving");

    if (yamldoc_is_null(mn) || mb->target < 0 || mb->id < 1)
        return;
    e->moving.active = true;
    e->moving.id = mb->id;
    e->moving.target = mb->target;
    if (e->type == RULE_HASH) {
        if (!parse_slots(mb->slots, &e->moving.slot_lo, &e->moving.slot_hi) ||
            e->moving.slot_lo > e->moving.slot_hi ||
            e->moving.slot_hi >= e->slots) {
            cfg_bind_error(
                b, yamldoc_get(mn, "slots") ? yamldoc_get(mn, "slots") : mn,
                "e.g. slots: \"768-1023\"",
                "moving needs 'slots' a-b within 0-%u", e->slots - 1);
            e->moving.active = false;
            return;
        }
        e->moving.source = e->owner[e->moving.slot_lo];
        return;
    }
    if (!mb->from.set) {
        cfg_bind_error(b, mn, "e.g. from: 5000", "moving needs 'from'");
        e->moving.active = false;
        return;
    }
    e->moving.from = mb->from;
    e->moving.from.s = mb->from.s ? xstrdup(mb->from.s) : NULL;
    e->moving.source = -1;
    if (mb->from.is_string != ranges_are_strings(e)) {
        cfg_bind_error(b, yamldoc_get(mn, "from"), NULL,
                       "moving 'from' must be %s, like the rule's bounds",
                       mb->from.is_string ? "an integer" : "a quoted string");
        e->moving.active = false;
        return;
    }
    for (int i = 0; i < e->nranges; i++) {
        const struct cfg_range *r = &e->ranges[i];
        if ((!r->from.set ||
             (r->from.is_string ? strcmp(r->from.s, mb->from.s) <= 0
                                : r->from.i <= mb->from.i)) &&
            (!r->to.set || (r->to.is_string ? strcmp(mb->from.s, r->to.s) < 0
                                            : mb->from.i < r->to.i))) {
            e->moving.source = r->shard;
            e->moving.to = r->to;
            e->moving.to.s = r->to.s ? xstrdup(r->to.s) : NULL;
            break;
        }
    }
    if (e->moving.source < 0) {
        cfg_bind_error(b, yamldoc_get(mn, "from"), NULL,
                       "moving 'from' is held by no range of 'ranges'");
        e->moving.active = false;
    }
}

/* A live range's shard holding bound b (-1: none). */
static int
range_shard_of(const struct cfg_place_rule *e, const struct cfg_bound *b)
{
    for (int i = 0; i < e->nranges; i++) {
        const struct cfg_range *r = &e->ranges[i];
        if ((!r->from.set || (r->from.is_string ? strcmp(r->from.s, b->s) <= 0
                                                : r->from.i <= b->i)) &&
            (!r->to.set ||
             (r->to.is_string ? strcmp(b->s, r->to.s) < 0 : b->i < r->to.i)))
            return r->shard;
    }
    return -1;
}

/* cleanup: the keys' owner (target) is read from the live placement; the
 * placement apply checks that the source owns none of them. */
static void
read_cleanup(struct cfg_bind *b, const struct yamldoc_node *map,
             struct cfg_place_rule *e, const struct cleanup_bind *cb)
{
    const struct yamldoc_node *cn = yamldoc_get(map, "cleanup");
    const struct yamldoc_node *at;
    bool strings;

    if (yamldoc_is_null(cn) || cb->source < 0 || cb->id < 1)
        return;
    if (e->moving.active) {
        cfg_bind_error(b, cn,
                       "a reshard moves keys, then cleans up: never both",
                       "a rule has 'moving' or 'cleanup', not both");
        return;
    }
    e->cleanup = (struct cfg_moving){
        .active = true, .id = cb->id, .source = cb->source, .target = -1};
    if (e->type == RULE_HASH) {
        at = yamldoc_get(cn, "slots") ? yamldoc_get(cn, "slots") : cn;
        if (!parse_slots(cb->slots, &e->cleanup.slot_lo, &e->cleanup.slot_hi) ||
            e->cleanup.slot_lo > e->cleanup.slot_hi ||
            e->cleanup.slot_hi >= e->slots) {
            cfg_bind_error(b, at, "e.g. slots: \"768-1023\"",
                           "cleanup needs 'slots' a-b within 0-%u",
                           e->slots - 1);
            e->cleanup.active = false;
            return;
        }
        e->cleanup.target = e->owner[e->cleanup.slot_lo];
        for (uint32_t s = e->cleanup.slot_lo; s <= e->cleanup.slot_hi; s++)
            if (e->owner[s] == cb->source || e->owner[s] != e->cleanup.target) {
                cfg_bind_error(b, at, NULL,
                               "cleanup slots must all belong to one shard "
                               "of 'slot_map' other than its source");
                e->cleanup.active = false;
                return;
            }
        return;
    }
    if (!cb->from.set) {
        cfg_bind_error(b, cn, "e.g. from: 5000", "cleanup needs 'from'");
        e->cleanup.active = false;
        return;
    }
    strings = ranges_are_strings(e);
    at = cb->from.is_string != strings               ? yamldoc_get(cn, "from")
         : cb->to.set && cb->to.is_string != strings ? yamldoc_get(cn, "to")
                                                     : NULL;
    if (at != NULL) {
        cfg_bind_error(b, at, NULL,
                       "cleanup bounds must be %s, like the rule's bounds",
                       strings ? "quoted strings" : "integers");
        e->cleanup.active = false;
        return;
    }
    e->cleanup.from = cb->from;
    e->cleanup.from.s = cb->from.s ? xstrdup(cb->from.s) : NULL;
    e->cleanup.to = cb->to;
    e->cleanup.to.s = cb->to.s ? xstrdup(cb->to.s) : NULL;
    e->cleanup.target = range_shard_of(e, &cb->from);
    if (e->cleanup.target < 0 || e->cleanup.target == cb->source) {
        cfg_bind_error(b, yamldoc_get(cn, "from"), NULL,
                       "cleanup 'from' must be held by a range of 'ranges' "
                       "on another shard than its source");
        e->cleanup.active = false;
    }
}

/* One `rule: { ... }` entry; false when it could not be read. */
static bool
read_entry(struct cfg_bind *b, const struct yamldoc_node *key,
           const struct yamldoc_node *map, struct cfg_place_rule *e)
{
    const struct cfg_rule *r = NULL;
    const struct yamldoc_node *base = yamldoc_get(map, "base");
    const struct yamldoc_node *live;
    struct entry_bind eb = {0};
    char hint[128];
    size_t errors = b->d->errors;
    int ri;

    snprintf(b->where, sizeof(b->where), "rule '%s'", key->str);
    if (map->kind != YAMLDOC_MAP) {
        cfg_bind_error(b, map, NULL, "must be a mapping of keys, not %s",
                       yamldoc_kind_name(map));
        return false;
    }
    ri = cfg_bind_find_rule(b->cfg, key->str, hint, sizeof(hint));
    if (ri < 0) {
        b->where[0] = '\0';
        cfg_bind_error(b, key,
                       "put the rule back into sharding_rules: its rows live "
                       "where this file says",
                       "rule '%s' is not in %s any more", key->str,
                       b->cfg->path);
        return false;
    }
    r = &b->cfg->rules[ri];
    cfg_bind_map(b, entry_keys, ARRAY_SIZE(entry_keys), map, &eb);
    e->rule = xstrdup(key->str);
    e->type = r->type;
    if (r->type == RULE_HASH) {
        live = yamldoc_get(map, "slot_map");
        if (yamldoc_get(map, "ranges") != NULL)
            cfg_bind_error(b, yamldoc_get(map, "ranges"), NULL,
                           "'ranges' does not apply to hash rules");
        if (eb.slots == 0 || yamldoc_is_null(base) || yamldoc_is_null(live)) {
            cfg_bind_error(b, map, NULL,
                           "a hash rule needs 'slots', 'base' and 'slot_map'");
            goto out;
        }
        e->slots = eb.slots;
        snprintf(b->where, sizeof(b->where), "rule '%s' base", key->str);
        e->base_owner = read_slot_map(b, base, eb.slots);
        snprintf(b->where, sizeof(b->where), "rule '%s' slot_map", key->str);
        e->owner = read_slot_map(b, live, eb.slots);
        snprintf(b->where, sizeof(b->where), "rule '%s'", key->str);
        if (e->base_owner == NULL || e->owner == NULL)
            goto out;
    } else if (r->type == RULE_RANGE) {
        live = yamldoc_get(map, "ranges");
        if (yamldoc_get(map, "slot_map") != NULL ||
            yamldoc_get(map, "slots") != NULL)
            cfg_bind_error(b, map, NULL,
                           "'slots' and 'slot_map' do not apply to range "
                           "rules");
        if (yamldoc_is_null(base) || yamldoc_is_null(live)) {
            cfg_bind_error(b, map, NULL,
                           "a range rule needs 'base' and 'ranges'");
            goto out;
        }
        snprintf(b->where, sizeof(b->where), "rule '%s' base", key->str);
        if (!read_ranges(b, base, &e->base_ranges, &e->nbase_ranges))
            goto out;
        snprintf(b->where, sizeof(b->where), "rule '%s' ranges", key->str);
        if (!read_ranges(b, live, &e->ranges, &e->nranges))
            goto out;
        snprintf(b->where, sizeof(b->where), "rule '%s'", key->str);
    } else {
        cfg_bind_error(b, key, "remove the entry",
                       "a mod rule's placement cannot move");
        goto out;
    }
    read_moving(b, map, e, &eb.moving);
    read_cleanup(b, map, e, &eb.cleanup);
out:
    free(eb.moving.slots);
    free(eb.moving.from.s);
    free(eb.cleanup.slots);
    free(eb.cleanup.from.s);
    free(eb.cleanup.to.s);
    return b->d->errors == errors;
}

static struct cfg_placement *
read_doc(struct cfg_bind *b, const struct yamldoc_node *root, int **lines)
{
    const struct cfg *c = b->cfg;
    struct cfg_placement *p = xcalloc(1, sizeof(*p));
    const struct yamldoc_node *rules;
    char unused;

    p->nshards = c->nshards;
    p->shards =
        xcalloc((size_t)(c->nshards > 0 ? c->nshards : 1), sizeof(char *));
    for (int i = 0; i < c->nshards; i++)
        p->shards[i] = xstrdup(c->shards[i].name);
    if (root == NULL || yamldoc_is_null(root))
        return p;
    if (root->kind != YAMLDOC_MAP) {
        cfg_bind_error(b, root, NULL,
                       "the placement file must be a mapping with 'rules', "
                       "not %s",
                       yamldoc_kind_name(root));
        return p;
    }
    cfg_bind_map(b, top_keys, ARRAY_SIZE(top_keys), root, &unused);
    rules = yamldoc_get(root, "rules");
    if (yamldoc_is_null(rules))
        return p;
    if (rules->kind != YAMLDOC_MAP) {
        cfg_bind_error(b, rules, NULL,
                       "'rules' must be a mapping of rule names, not %s",
                       yamldoc_kind_name(rules));
        return p;
    }
    p->rules = xcalloc(rules->npairs + 1, sizeof(*p->rules));
    *lines = xcalloc(rules->npairs + 1, sizeof(int));
    for (size_t i = 0; i < rules->npairs; i++) {
        const struct yamldoc_node *key = rules->pairs[i].key;
        struct cfg_place_rule *e = &p->rules[p->nrules];
        bool dup = false;

        if (key->kind != YAMLDOC_SCALAR || yamldoc_is_null(key)) {
            cfg_bind_error(b, key, NULL, "rule names must be strings");
            continue;
        }
        for (int j = 0; j < p->nrules && !dup; j++)
            dup = p->rules[j].rule != NULL &&
                  strcmp(p->rules[j].rule, key->str) == 0;
        if (dup) {
            cfg_bind_error(b, key, NULL, "rule '%s' appears twice", key->str);
            continue;
        }
        /* an entry read with errors is kept only to be freed: any error
         * drops the whole placement */
        (void)read_entry(b, key, rules->pairs[i].value, e);
        b->where[0] = '\0';
        (*lines)[p->nrules++] = key->line;
    }
    return p;
}

struct cfg_placement *
cfg_placement_read(const char *path, const struct cfg *c, int **lines,
                   struct diag *d)
{
    size_t len = 0;
    struct cfg_placement *p;
    char err[256];
    char *text;

    *lines = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return NULL; /* no reshard has changed anything */
    text = cfg_read_file(path, STATE_MAX, &len, err, sizeof(err));
    if (text == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, 0,
                 "it holds the live placement (reshard.state); fix its "
                 "permissions",
                 "cannot read the placement file: %s", err);
        return NULL;
    }
    p = cfg_placement_parse(path, text, len, c, lines, d);
    free(text);
    return p;
}

struct cfg_placement *
cfg_placement_parse(const char *name, const char *text, size_t len,
                    const struct cfg *c, int **lines, struct diag *d)
{
    struct cfg_bind b = {.file = name, .d = d, .cfg = (struct cfg *)c};
    size_t errors = d->errors;
    struct yamldoc *doc;
    struct cfg_placement *p;

    *lines = NULL;
    doc = yamldoc_parse(name, text, len, d);
    if (doc == NULL)
        return NULL;
    p = read_doc(&b, doc->root, lines);
    yamldoc_free(doc);
    if (d->errors != errors) {
        cfg_placement_free(p);
        free(*lines);
        *lines = NULL;
        return NULL;
    }
    return p;
}

/* --- writing ----------------------------------------------------------- */

static void
put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(out, "\\x%02x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void
put_bound(FILE *out, const struct cfg_bound *b)
{
    if (b->is_string)
        put_quoted(out, b->s);
    else
        fprintf(out, "%lld", (long long)b->i);
}

static void
put_slot_map(FILE *out, const struct cfg_placement *p, const int *owner,
             uint32_t slots)
{
    bool first_shard = true;

    fputs("{ ", out);
    for (int sh = 0; sh < p->nshards; sh++) {
        bool any = false;
        for (uint32_t s = 0; s < slots; s++) {
            uint32_t t = s;
            if (owner[s] != sh)
                continue;
            while (t + 1 < slots && owner[t + 1] == sh)
                t++;
            if (!any) {
                fputs(first_shard ? "" : ", ", out);
                put_quoted(out, p->shards[sh]);
                fputs(": \"", out);
                first_shard = false;
            }
            fprintf(out, "%s%u", any ? "," : "", s);
            if (t > s)
                fprintf(out, "-%u", t);
            any = true;
            s = t;
        }
        if (any)
            fputc('"', out);
    }
    fputs(" }\n", out);
}

static void
put_ranges(FILE *out, const struct cfg_placement *p, const struct cfg_range *r,
           int n)
{
    fputc('\n', out);
    for (int i = 0; i < n; i++) {
        fputs("      - { shard: ", out);
        put_quoted(out, p->shards[r[i].shard]);
        if (r[i].from.set) {
            fputs(", from: ", out);
            put_bound(out, &r[i].from);
        }
        if (r[i].to.set) {
            fputs(", to: ", out);
            put_bound(out, &r[i].to);
        }
        fputs(" }\n", out);
    }
}

static bool
entry_changed(const struct cfg_place_rule *e)
{
    if (e->moving.active || e->cleanup.active)
        return true;
    if (e->type == RULE_HASH)
        return memcmp(e->owner, e->base_owner,
                      (size_t)e->slots * sizeof(int)) != 0;
    if (e->nranges != e->nbase_ranges)
        return true;
    for (int i = 0; i < e->nranges; i++) {
        const struct cfg_range *a = &e->ranges[i], *b = &e->base_ranges[i];
        if (a->shard != b->shard || a->from.set != b->from.set ||
            a->to.set != b->to.set)
            return true;
        if (a->from.set &&
            (a->from.is_string ? strcmp(a->from.s, b->from.s) != 0
                               : a->from.i != b->from.i))
            return true;
        if (a->to.set && (a->to.is_string ? strcmp(a->to.s, b->to.s) != 0
                                          : a->to.i != b->to.i))
            return true;
    }
    return false;
}

int
cfg_placement_write(const struct cfg_placement *p, bool with_base, FILE *out)
{
    int n = 0;

    fputs("# myshard live placement: written by RESHARD, read at start, "
          "RELOAD CONFIG\n# and --check. Do not edit it; see the README, "
          "\"The live placement\".\n",
          out);
    for (int i = 0; i < p->nrules; i++) {
        const struct cfg_place_rule *e = &p->rules[i];
        const struct cfg_moving *m = &e->moving;
        const struct cfg_moving *cl = &e->cleanup;

        if (!entry_changed(e))
            continue;
        if (n++ == 0)
            fputs("rules:\n", out);
        fputs("  ", out);
        put_quoted(out, e->rule);
        fputs(":\n", out);
        if (e->type == RULE_HASH) {
            fprintf(out, "    slots: %u\n", e->slots);
            if (with_base) {
                fputs("    base: ", out);
                put_slot_map(out, p, e->base_owner, e->slots);
            }
            fputs("    slot_map: ", out);
            put_slot_map(out, p, e->owner, e->slots);
        } else {
            if (with_base) {
                fputs("    base:", out);
                put_ranges(out, p, e->base_ranges, e->nbase_ranges);
            }
            fputs("    ranges:", out);
            put_ranges(out, p, e->ranges, e->nranges);
        }
        if (cl->active) {
            fputs("    cleanup: { ", out);
            if (e->type == RULE_HASH) {
                fprintf(out, "slots: \"%u-%u\"", cl->slot_lo, cl->slot_hi);
            } else {
                fputs("from: ", out);
                put_bound(out, &cl->from);
                if (cl->to.set) {
                    fputs(", to: ", out);
                    put_bound(out, &cl->to);
                }
            }
            fputs(", source: ", out);
            put_quoted(out, p->shards[cl->source]);
            fprintf(out, ", id: %lld }\n", (long long)cl->id);
        }
        if (!m->active)
            continue;
        fputs("    moving: { ", out);
        if (e->type == RULE_HASH) {
            fprintf(out, "slots: \"%u-%u\"", m->slot_lo, m->slot_hi);
        } else {
            fputs("from: ", out);
            put_bound(out, &m->from);
        }
        fputs(", target: ", out);
        put_quoted(out, p->shards[m->target]);
        fprintf(out, ", id: %lld }\n", (long long)m->id);
    }
    if (n == 0)
        fputs("rules: {}\n", out);
    return n;
}

bool
cfg_placement_save(const char *path, const struct cfg_placement *p, char *err,
                   size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    bool ok;

    if (mem == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    (void)cfg_placement_write(p, true, mem);
    fclose(mem);
    ok = file_write_atomic(path, text, len, err, errlen);
    free(text);
    return ok;
}
