/*
 * test_cfg_place.c - the live placement (cfg_place.h): the state file
 * reshard.state applied over the YAML's rules (overriding, redundant,
 * conflicting, malformed, gone), the edits the reshard coordinator makes
 * (move slots, split a range, mark and finish a moving set) with their
 * refusals, cfg_with_placement, and the atomic save read back.
 */
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char state[128];

/* Three shards; user_hash over s0, s1 (1024 slots); id_range on s0, s1. */
#define YAML_FMT                                                               \
    "backend: { user: myshard }\n"                                             \
    "reshard: { state: \"%s\" }\n"                                             \
    "shards:\n"                                                                \
    "  - { name: s0, primary: 127.0.0.1:3306 }\n"                              \
    "  - { name: s1, primary: 127.0.0.1:3307 }\n"                              \
    "  - { name: s2, primary: 127.0.0.1:3308 }\n"                              \
    "sharding_rules:\n"                                                        \
    "  user_mod: { type: mod, shards: [s0, s1] }\n"                            \
    "  user_hash: { type: hash, slots: 1024, %s }\n"                           \
    "  id_range:\n"                                                            \
    "    type: range\n"                                                        \
    "    ranges:\n"                                                            \
    "%s"                                                                       \
    "schemas:\n"                                                               \
    "  - name: shop\n"                                                         \
    "    tables:\n"                                                            \
    "      - { name: orders, key: user_id, rule: user_hash }\n"                \
    "      - { name: audit, key: id, rule: id_range }\n"                       \
    "users:\n"                                                                 \
    "  - { name: app, password: app }\n"

static const char *ranges_yaml = "      - { shard: s0, to: 1000 }\n"
                                 "      - { shard: s1, from: 1000 }\n";

/* The state file a reshard of user_hash (768-1023 to s2) and of id_range
 * (5000 up to s2, 3000 moving) leaves. */
static const char *state_text =
    "# written by RESHARD\n"
    "rules:\n"
    "  user_hash:\n"
    "    slots: 1024\n"
    "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
    "    slot_map: { s0: \"0-511\", s1: \"512-767\", s2: \"768-1023\" }\n"
    "  id_range:\n"
    "    base: [ { to: 1000, shard: s0 }, { from: 1000, shard: s1 } ]\n"
    "    ranges:\n"
    "      - { to: 1000, shard: s0 }\n"
    "      - { from: 1000, to: 5000, shard: s1 }\n"
    "      - { from: 5000, shard: s2 }\n"
    "    moving: { from: 3000, target: s0, id: 4 }\n";

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/myshard-place-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(state, sizeof(state), "%s/placement.yaml", dir);
}

static void
teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *
read_all(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    FILE *f = fopen(path, "r");
    int c;

    ck_assert_ptr_nonnull(f);
    while ((c = fgetc(f)) != EOF)
        fputc(c, out);
    fclose(f);
    fclose(out);
    return text;
}

/* The YAML with extra keys on user_hash and id_range's ranges. */
static struct cfg *
load(const char *hash_extra, const char *ranges, struct diag *d)
{
    char text[4096];

    snprintf(text, sizeof(text), YAML_FMT, state,
             hash_extra[0] ? hash_extra : "shards: [s0, s1]",
             ranges ? ranges : ranges_yaml);
    diag_init(d);
    return cfg_load_string("my.yaml", text, d);
}

static char *
diags(const struct diag *d)
{
    char *text = NULL, line[2048];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    for (size_t i = 0; i < d->n; i++) {
        diag_format(d, i, line, sizeof(line));
        fprintf(out, "%s\n", line);
    }
    fclose(out);
    return text;
}

static int
shard(const struct cfg *c, const char *name)
{
    return cfg_find_shard(c, name);
}

static const struct cfg_rule *
rule(const struct cfg *c, const char *name)
{
    for (int i = 0; i < c->nrules; i++)
        if (strcmp(c->rules[i].name, name) == 0)
            return &c->rules[i];
    ck_abort_msg("no rule %s", name);
    return NULL;
}

/* --- the file over the YAML -------------------------------------------- */

START_TEST(test_missing_file)
{
    struct diag d;
    struct cfg *c = load("", NULL, &d);

    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(d.n, 0);
    ck_assert(!rule(c, "user_hash")->live);
    ck_assert_int_eq(rule(c, "user_hash")->slot_owner[1000], shard(c, "s1"));
    cfg_put(c);
    diag_free(&d);
}
END_TEST

START_TEST(test_file_applied)
{
    struct diag d;
    struct cfg *c;
    const struct cfg_rule *h, *r;
    char *summary = NULL;
    size_t len = 0;
    FILE *out;

    write_file(state, state_text);
    c = load("", NULL, &d);
    ck_assert_msg(c != NULL && d.n == 0, "%s", diags(&d));
    h = rule(c, "user_hash");
    ck_assert(h->live);
    ck_assert_int_eq(h->live_line, 3);
    ck_assert_int_eq(h->slot_owner[767], shard(c, "s1"));
    ck_assert_int_eq(h->slot_owner[768], shard(c, "s2"));
    ck_assert_int_eq(h->slot_owner[1023], shard(c, "s2"));
    ck_assert_int_eq(h->yaml_owner[1023], shard(c, "s1"));
    /* scatters reach the new owner too */
    ck_assert_int_eq(h->nshards, 3);
    ck_assert_int_eq(h->shards[2], shard(c, "s2"));
    ck_assert(!h->moving.active);

    r = rule(c, "id_range");
    ck_assert(r->live);
    ck_assert_int_eq(r->nranges, 3);
    ck_assert_int_eq(r->ranges[2].from.i, 5000);
    ck_assert_int_eq(r->ranges[2].shard, shard(c, "s2"));
    ck_assert_int_eq(r->nyaml_ranges, 2);
    ck_assert_int_eq(r->nshards, 3);
    ck_assert(r->moving.active);
    ck_assert_int_eq(r->moving.id, 4);
    ck_assert_int_eq(r->moving.source, shard(c, "s1"));
    ck_assert_int_eq(r->moving.target, shard(c, "s0"));
    ck_assert_int_eq(r->moving.from.i, 3000);
    ck_assert_int_eq(r->moving.to.i, 5000);

    /* --check says where the placement comes from */
    out = open_memstream(&summary, &len);
    cfg_print_summary(c, out);
    fclose(out);
    ck_assert_msg(strstr(summary, "      s2: 768-1023\n") != NULL, "%s",
                  summary);
    ck_assert_msg(strstr(summary, "(live placement from ") != NULL, "%s",
                  summary);
    ck_assert_msg(strstr(summary, "      moving: [3000, 5000) from s1 to s0 "
                                  "(reshard 4)\n") != NULL,
                  "%s", summary);
    free(summary);
    cfg_put(c);
    diag_free(&d);
}
END_TEST

/* The DBA copied the live placement into the YAML: the YAML stands. */
START_TEST(test_redundant)
{
    struct diag d;
    struct cfg *c;
    char *text;
    char want[512];

    write_file(state, state_text);
    c = load("shards: [s0, s1, s2], slot_map: { s0: \"0-511\", s1: "
             "\"512-767\", s2: \"768-1023\" }",
             "      - { shard: s0, to: 1000 }\n"
             "      - { shard: s1, from: 1000, to: 5000 }\n"
             "      - { shard: s2, from: 5000 }\n",
             &d);
    text = diags(&d);
    ck_assert_msg(c != NULL && d.errors == 0, "%s", text);
    ck_assert_uint_eq(d.n, 2);
    snprintf(want, sizeof(want),
             "%s:3:1: warning: rule 'user_hash': the live placement equals "
             "the one in my.yaml now; the entry is redundant (the entry is "
             "dropped the next time myshard writes the file)\n",
             state);
    ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "%s", text);
    ck_assert(!rule(c, "user_hash")->live);
    ck_assert_int_eq(rule(c, "user_hash")->slot_owner[900], shard(c, "s2"));
    /* the moving set still applies */
    ck_assert(rule(c, "id_range")->moving.active);
    free(text);
    cfg_put(c);
    diag_free(&d);
}
END_TEST

/* The YAML changed under a moved placement. */
START_TEST(test_conflict)
{
    struct diag d;
    struct cfg *c;
    char *text;
    char want[1024];

    write_file(state, state_text);
    c = load("shards: [s0, s1], slot_map: { s0: \"0-500\", s1: \"501-1023\" }",
             NULL, &d);
    text = diags(&d);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof(want),
             "my.yaml:9:3: error: rule 'user_hash': its placement differs "
             "from the live placement in %s:3 and from the placement that "
             "file was made from (the rows are where %s says: copy its "
             "slot_map of rule 'user_hash' into this rule, or put the rule "
             "back as it was when the file was written; then reload)\n",
             state, state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);
}
END_TEST

START_TEST(test_malformed)
{
    struct diag d;
    struct cfg *c;
    char *text;
    char want[2048];

    write_file(state, "rules:\n  user_hash: [\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    snprintf(want, sizeof(want),
             "%s:3:1: error: YAML syntax: did not find expected node content "
             "(while parsing a flow node at line 3)\n",
             state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);

    write_file(state,
               "rules:\n"
               "  user_hash:\n"
               "    slots: 1024\n"
               "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    slot_map: { s0: \"0-511\", s9: \"512-1023\" }\n"
               "    movng: 1\n"
               "  id_range:\n"
               "    base: [ { to: 1000, shard: s0 }, { from: 1000, shard: s1 "
               "} ]\n"
               "    ranges: [ { to: 1000, shard: s0 }, { from: 2000, shard: "
               "s1 } ]\n"
               "  old_rule: { slots: 4 }\n"
               "  user_mod: { slots: 4 }\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    snprintf(want, sizeof(want),
             "%s:6:5: error: rule 'user_hash': unknown key 'movng' (did you "
             "mean 'moving'?)\n"
             "%s:5:30: error: rule 'user_hash' slot_map: shard 's9' is not "
             "defined "
             "(did you mean 's0'?)\n"
             "%s:9:40: error: rule 'id_range' ranges: gap between ranges "
             "[-inf, 1000) and [2000, +inf) (keys in [1000, 2000) would have "
             "no shard)\n"
             "%s:10:3: error: rule 'old_rule' is not in my.yaml any more (put "
             "the rule back into sharding_rules: its rows live where this "
             "file says)\n"
             "%s:11:3: error: rule 'user_mod': a mod rule's placement cannot "
             "move (remove the entry)\n",
             state, state, state, state, state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);

    /* a moving set of the wrong bound type */
    write_file(state, "rules:\n"
                      "  id_range:\n"
                      "    base: [ { to: 1000, shard: s0 }, { from: 1000, "
                      "shard: s1 } ]\n"
                      "    ranges: [ { to: 1000, shard: s0 }, { from: 1000, "
                      "shard: s1 } ]\n"
                      "    moving: { from: \"5000\", target: s2, id: 4 }\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    snprintf(want, sizeof(want),
             "%s:5:21: error: rule 'id_range': moving 'from' must be an "
             "integer, like the rule's bounds\n",
             state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);

    /* a moving set that does not start from the placement */
    write_file(state,
               "rules:\n"
               "  user_hash:\n"
               "    slots: 1024\n"
               "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    slot_map: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    moving: { slots: \"500-600\", target: s2, id: 2 }\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    snprintf(want, sizeof(want),
             "%s:2:1: error: rule 'user_hash': the moving set of reshard 2 "
             "does not fit the placement: its slots do not all belong to one "
             "shard (abort the reshard (RESHARD ABORT) or restore the file "
             "from its journal)\n",
             state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);
}
END_TEST

/* --- edits ------------------------------------------------------------- */

static struct cfg_placement *
placement(struct cfg **c)
{
    struct diag d;

    *c = load("", NULL, &d);
    ck_assert_ptr_nonnull(*c);
    diag_free(&d);
    return cfg_placement_of(*c);
}

/* The cleanup set: moved keys whose stale rows remain on their source. */
static const char *cleanup_text =
    "rules:\n"
    "  user_hash:\n"
    "    slots: 1024\n"
    "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
    "    slot_map: { s0: \"0-511\", s1: \"512-767\", s2: \"768-1023\" }\n"
    "    cleanup: { slots: \"768-1023\", source: s1, id: 3 }\n"
    "  id_range:\n"
    "    base: [ { to: 1000, shard: s0 }, { from: 1000, shard: s1 } ]\n"
    "    ranges:\n"
    "      - { to: 1000, shard: s0 }\n"
    "      - { from: 1000, to: 5000, shard: s1 }\n"
    "      - { from: 5000, shard: s2 }\n"
    "    cleanup: { from: 5000, source: s1, id: 5 }\n";

START_TEST(test_cleanup_file)
{
    struct diag d;
    struct cfg *c;
    struct cfg_placement *p;
    const struct cfg_rule *h, *r;
    char *text = NULL, want[2048];
    size_t len = 0;
    FILE *out;

    write_file(state, cleanup_text);
    c = load("", NULL, &d);
    ck_assert_msg(c != NULL && d.n == 0, "%s", diags(&d));
    h = rule(c, "user_hash");
    ck_assert(h->cleanup.active);
    ck_assert(!h->moving.active);
    ck_assert_int_eq(h->cleanup.id, 3);
    ck_assert_int_eq(h->cleanup.slot_lo, 768);
    ck_assert_int_eq(h->cleanup.slot_hi, 1023);
    ck_assert_int_eq(h->cleanup.source, shard(c, "s1"));
    ck_assert_int_eq(h->cleanup.target, shard(c, "s2"));
    r = rule(c, "id_range");
    ck_assert(r->cleanup.active);
    ck_assert_int_eq(r->cleanup.from.i, 5000);
    ck_assert(!r->cleanup.to.set);
    ck_assert_int_eq(r->cleanup.source, shard(c, "s1"));
    ck_assert_int_eq(r->cleanup.target, shard(c, "s2"));

    /* --check and SHOW CONFIG show it */
    out = open_memstream(&text, &len);
    cfg_print_summary(c, out);
    fclose(out);
    ck_assert_msg(strstr(text, "      cleanup: slots 768-1023 moved to s2, "
                               "stale rows on s1 until the cleanup of "
                               "reshard 3 deletes them\n") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "      cleanup: [5000, +inf) moved to s2") !=
                      NULL,
                  "%s", text);
    free(text);

    /* written back as read; a new reshard of the rule waits for it */
    p = cfg_placement_of(c);
    text = NULL;
    out = open_memstream(&text, &len);
    cfg_placement_write(p, true, out);
    fclose(out);
    ck_assert_msg(strstr(text, "    cleanup: { slots: \"768-1023\", source: "
                               "\"s1\", id: 3 }\n") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "    cleanup: { from: 5000, source: \"s1\", "
                               "id: 5 }\n") != NULL,
                  "%s", text);
    free(text);
    ck_assert(!cfg_placement_set_moving_slots(p, "user_hash", 0, 10, "s2", 6,
                                              want, sizeof(want)));
    ck_assert_msg(strstr(want, "still has moved rows to delete from shard "
                               "'s1'") != NULL,
                  "%s", want);
    /* the cleanup done: the entry keeps only the live placement */
    cfg_placement_clear_cleanup(p, "user_hash");
    cfg_placement_clear_cleanup(p, "id_range");
    text = NULL;
    out = open_memstream(&text, &len);
    cfg_placement_write(p, true, out);
    fclose(out);
    ck_assert_msg(strstr(text, "cleanup") == NULL, "%s", text);
    free(text);
    cfg_placement_free(p);
    cfg_put(c);
    diag_free(&d);

    /* errors at their place in the file */
    write_file(state,
               "rules:\n"
               "  user_hash:\n"
               "    slots: 1024\n"
               "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    slot_map: { s0: \"0-511\", s1: \"512-767\", s2: "
               "\"768-1023\" }\n"
               "    cleanup: { slots: \"700-1023\", source: s1, id: 3 }\n"
               "  id_range:\n"
               "    base: [ { to: 1000, shard: s0 }, { from: 1000, shard: s1 "
               "} ]\n"
               "    ranges: [ { to: 1000, shard: s0 }, { from: 1000, shard: "
               "s2 } ]\n"
               "    cleanup: { from: \"5000\", source: s1, id: 4 }\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    snprintf(want, sizeof(want),
             "%s:6:23: error: rule 'user_hash': cleanup slots must all "
             "belong to one shard of 'slot_map' other than its source\n"
             "%s:10:22: error: rule 'id_range': cleanup bounds must be "
             "integers, like the rule's bounds\n",
             state, state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);

    write_file(state, "rules:\n"
                      "  user_hash:\n"
                      "    slots: 1024\n"
                      "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
                      "    slot_map: { s0: \"0-511\", s1: \"512-767\", s2: "
                      "\"768-1023\" }\n"
                      "    moving: { slots: \"0-10\", target: s2, id: 4 }\n"
                      "    cleanup: { source: s9, id: 3 }\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    ck_assert_msg(strstr(text, ":7:24: error: rule 'user_hash' cleanup: "
                               "shard 's9' is not defined") != NULL,
                  "%s", text);
    free(text);
    diag_free(&d);
    write_file(state,
               "rules:\n"
               "  user_hash:\n"
               "    slots: 1024\n"
               "    base: { s0: \"0-511\", s1: \"512-1023\" }\n"
               "    slot_map: { s0: \"0-511\", s1: \"512-767\", s2: "
               "\"768-1023\" }\n"
               "    moving: { slots: \"0-10\", target: s2, id: 4 }\n"
               "    cleanup: { slots: \"768-1023\", source: s1, id: 3 }\n");
    c = load("", NULL, &d);
    ck_assert_ptr_null(c);
    text = diags(&d);
    snprintf(want, sizeof(want),
             "%s:7:14: error: rule 'user_hash': a rule has 'moving' or "
             "'cleanup', not both (a reshard moves keys, then cleans up: "
             "never both)\n",
             state);
    ck_assert_str_eq(text, want);
    free(text);
    diag_free(&d);
}
END_TEST

/* finish_moving leaves the moved keys as the source's cleanup set. */
START_TEST(test_finish_leaves_cleanup)
{
    struct cfg *c, *next;
    struct cfg_placement *p = placement(&c);
    struct diag d;
    char err[256];
    const struct cfg_rule *h;

    ck_assert_msg(
        cfg_placement_set_moving_slots(p, "user_hash", 768, 1023, "s2", 3, err,
                                       sizeof(err)) &&
            cfg_placement_finish_moving(p, "user_hash", err, sizeof(err)),
        "%s", err);
    diag_init(&d);
    next = cfg_with_placement(c, p, &d);
    ck_assert_msg(next != NULL, "%s", diags(&d));
    diag_free(&d);
    h = rule(next, "user_hash");
    ck_assert(!h->moving.active);
    ck_assert(h->cleanup.active);
    ck_assert_int_eq(h->cleanup.id, 3);
    ck_assert_int_eq(h->cleanup.source, shard(next, "s1"));
    ck_assert_int_eq(h->cleanup.target, shard(next, "s2"));
    ck_assert_int_eq(h->cleanup.slot_lo, 768);
    ck_assert_int_eq(h->cleanup.slot_hi, 1023);
    ck_assert_int_eq(h->slot_owner[800], shard(next, "s2"));
    cfg_put(next);
    cfg_placement_clear_cleanup(p, "user_hash");
    diag_init(&d);
    next = cfg_with_placement(c, p, &d);
    ck_assert_ptr_nonnull(next);
    diag_free(&d);
    ck_assert(!rule(next, "user_hash")->cleanup.active);
    ck_assert_int_eq(rule(next, "user_hash")->slot_owner[800],
                     shard(next, "s2"));
    cfg_put(next);
    cfg_placement_free(p);
    cfg_put(c);
}
END_TEST

START_TEST(test_move_slots)
{
    struct cfg *c;
    struct cfg_placement *p = placement(&c);
    struct cfg_place_rule *e = cfg_placement_rule(p, "user_hash");
    char err[256];

    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_null(cfg_placement_rule(p, "user_mod"));
#define REFUSED(call, text)                                                    \
    do {                                                                       \
        ck_assert(!(call));                                                    \
        ck_assert_str_eq(err, text);                                           \
    } while (0)
    REFUSED(cfg_placement_move_slots(p, "user_hash", 500, 600, "s2", err,
                                     sizeof(err)),
            "slots 500-600 of rule 'user_hash' belong to 's0' and 's1'; move "
            "them in one reshard per source shard");
    REFUSED(cfg_placement_move_slots(p, "user_hash", 1000, 1024, "s2", err,
                                     sizeof(err)),
            "slots 1000-1024 are outside rule 'user_hash''s slots 0-1023");
    REFUSED(
        cfg_placement_move_slots(p, "user_hash", 9, 8, "s2", err, sizeof(err)),
        "slot range 9-8 is reversed; write a-b with a <= b");
    REFUSED(cfg_placement_move_slots(p, "user_hash", 600, 700, "s1", err,
                                     sizeof(err)),
            "slots 600-700 of rule 'user_hash' already belong to 's1'");
    REFUSED(cfg_placement_move_slots(p, "user_hash", 600, 700, "s7", err,
                                     sizeof(err)),
            "shard 's7' is not in shards:; add it to myshard.yaml and RELOAD "
            "CONFIG first");
    REFUSED(
        cfg_placement_move_slots(p, "id_range", 1, 2, "s2", err, sizeof(err)),
        "rule 'id_range' is a range rule: split it with SPLIT AT <value>");
    REFUSED(
        cfg_placement_move_slots(p, "user_mod", 1, 2, "s2", err, sizeof(err)),
        "rule 'user_mod' is not a hash or range rule of the running "
        "config");
    ck_assert(e->owner[700] == 1);
    ck_assert_msg(cfg_placement_move_slots(p, "user_hash", 768, 1023, "s2", err,
                                           sizeof(err)),
                  "%s", err);
    ck_assert_int_eq(e->owner[767], 1);
    ck_assert_int_eq(e->owner[768], 2);
    ck_assert_int_eq(e->base_owner[768], 1);

    /* a moving set: marked, refused twice, finished */
    ck_assert(cfg_placement_set_moving_slots(p, "user_hash", 0, 99, "s2", 5,
                                             err, sizeof(err)));
    ck_assert(e->moving.active && e->moving.source == 0 &&
              e->moving.target == 2 && e->moving.slot_hi == 99);
    ck_assert_int_eq(e->owner[50], 0);
    REFUSED(cfg_placement_set_moving_slots(p, "user_hash", 100, 120, "s2", 6,
                                           err, sizeof(err)),
            "rule 'user_hash' is being resharded (reshard 5); one reshard per "
            "rule at a time");
    ck_assert(cfg_placement_finish_moving(p, "user_hash", err, sizeof(err)));
    ck_assert(!e->moving.active);
    ck_assert_int_eq(e->owner[50], 2);
    ck_assert_int_eq(e->owner[100], 0);
    REFUSED(cfg_placement_finish_moving(p, "user_hash", err, sizeof(err)),
            "rule 'user_hash' has no keys moving");
    /* the moved slots wait for their cleanup on the source */
    ck_assert(e->cleanup.active && e->cleanup.source == 0 &&
              e->cleanup.target == 2 && e->cleanup.slot_hi == 99);
    REFUSED(cfg_placement_set_moving_slots(p, "user_hash", 100, 120, "s1", 6,
                                           err, sizeof(err)),
            "rule 'user_hash' still has moved rows to delete from shard 's0' "
            "(the cleanup of reshard 5); one reshard per rule at a time: wait "
            "until it is done");
    cfg_placement_clear_cleanup(p, "user_hash");
    ck_assert(!e->cleanup.active);
    ck_assert(cfg_placement_set_moving_slots(p, "user_hash", 100, 120, "s1", 6,
                                             err, sizeof(err)));
    cfg_placement_clear_moving(p, "user_hash");
    ck_assert(!e->moving.active);
    ck_assert_int_eq(e->owner[110], 0);
#undef REFUSED
    cfg_placement_free(p);
    cfg_put(c);
}
END_TEST

START_TEST(test_split_at)
{
    struct cfg *c;
    struct cfg_placement *p = placement(&c);
    struct cfg_place_rule *e = cfg_placement_rule(p, "id_range");
    struct cfg_bound at = {.set = true, .i = 5000};
    struct cfg_bound str = {.set = true, .is_string = true, .s = "x"};
    struct cfg_bound low = {.set = true, .i = 10};
    struct cfg_bound start = {.set = true, .i = 5000};
    char err[256];

    ck_assert(
        !cfg_placement_split_at(p, "id_range", &str, "s2", err, sizeof(err)));
    ck_assert_str_eq(err, "rule 'id_range' has integer bounds; give the "
                          "value as an integer, without quotes");
    ck_assert(
        !cfg_placement_split_at(p, "id_range", &low, "s0", err, sizeof(err)));
    ck_assert_str_eq(err, "key 10 of rule 'id_range' already belongs to 's0'");
    ck_assert(
        !cfg_placement_split_at(p, "user_hash", &low, "s0", err, sizeof(err)));
    ck_assert_str_eq(err, "rule 'user_hash' is a hash rule: move its slots "
                          "with MOVE SLOTS <a>-<b>");
    /* inside [1000, +inf): [1000, 5000) s1 and [5000, +inf) s2 */
    ck_assert_msg(
        cfg_placement_split_at(p, "id_range", &at, "s2", err, sizeof(err)),
        "%s", err);
    ck_assert_int_eq(e->nranges, 3);
    ck_assert(e->ranges[1].from.i == 1000 && e->ranges[1].to.i == 5000 &&
              e->ranges[1].shard == 1);
    ck_assert(e->ranges[2].from.i == 5000 && !e->ranges[2].to.set &&
              e->ranges[2].shard == 2);
    /* at a range's start: the whole range moves, and joins its neighbour */
    ck_assert(
        cfg_placement_split_at(p, "id_range", &start, "s1", err, sizeof(err)));
    ck_assert_int_eq(e->nranges, 2);
    ck_assert(e->ranges[1].from.i == 1000 && !e->ranges[1].to.set &&
              e->ranges[1].shard == 1);
    /* the moving set runs to the end of the holding range */
    ck_assert(cfg_placement_set_moving_split(p, "id_range", &low, "s2", 9, err,
                                             sizeof(err)));
    ck_assert(e->moving.from.i == 10 && e->moving.to.i == 1000 &&
              e->moving.source == 0 && e->moving.target == 2);
    ck_assert(cfg_placement_finish_moving(p, "id_range", err, sizeof(err)));
    ck_assert_int_eq(e->nranges, 3);
    ck_assert(e->ranges[1].from.i == 10 && e->ranges[1].to.i == 1000 &&
              e->ranges[1].shard == 2);
    cfg_placement_free(p);
    cfg_put(c);
}
END_TEST

/* --- the next generation and the file ---------------------------------- */

START_TEST(test_with_placement_and_save)
{
    struct cfg *c, *next, *again;
    struct cfg_placement *p = placement(&c), *q;
    struct cfg_bound at = {.set = true, .i = 5000};
    struct diag d;
    char err[256], path[256];
    char *text, *text2 = NULL;
    size_t len = 0;
    FILE *out;

    ck_assert(cfg_placement_move_slots(p, "user_hash", 768, 1023, "s2", err,
                                       sizeof(err)));
    ck_assert(cfg_placement_set_moving_split(p, "id_range", &at, "s2", 3, err,
                                             sizeof(err)));
    /* built from the running text, whatever the file on disk says now */
    diag_init(&d);
    next = cfg_with_placement(c, p, &d);
    ck_assert_msg(next != NULL && d.n == 0, "%s", diags(&d));
    diag_free(&d);
    ck_assert(rule(next, "user_hash")->live);
    ck_assert_int_eq(rule(next, "user_hash")->slot_owner[800], 2);
    ck_assert(rule(next, "id_range")->moving.active);
    ck_assert_int_eq(rule(next, "id_range")->moving.source, 1);
    ck_assert(!rule(c, "user_hash")->live); /* running: untouched */

    ck_assert_msg(cfg_placement_save(state, p, err, sizeof(err)), "%s", err);
    snprintf(path, sizeof(path), "%s.tmp", state);
    ck_assert_int_ne(access(path, F_OK), 0);
    text = read_all(state);
    ck_assert_msg(strstr(text, "rules:\n  \"user_hash\":\n    slots: 1024\n"
                               "    base: { \"s0\": \"0-511\", \"s1\": "
                               "\"512-1023\" }\n    slot_map: { \"s0\": "
                               "\"0-511\", \"s1\": \"512-767\", \"s2\": "
                               "\"768-1023\" }\n") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "    moving: { from: 5000, target: \"s2\", "
                               "id: 3 }\n") != NULL,
                  "%s", text);

    /* read back: the same placement, and the same file once more */
    again = load("", NULL, &d);
    ck_assert_msg(again != NULL && d.n == 0, "%s", diags(&d));
    diag_free(&d);
    ck_assert_int_eq(rule(again, "user_hash")->slot_owner[800], 2);
    ck_assert(rule(again, "id_range")->moving.active);
    ck_assert_int_eq(rule(again, "id_range")->moving.id, 3);
    q = cfg_placement_of(again);
    out = open_memstream(&text2, &len);
    ck_assert_int_eq(cfg_placement_write(q, true, out), 2);
    fclose(out);
    ck_assert_str_eq(text, text2);
    free(text2);
    cfg_placement_free(q);

    /* back to the YAML: an empty file */
    cfg_placement_free(p);
    p = cfg_placement_of(c);
    ck_assert(cfg_placement_save(state, p, err, sizeof(err)));
    free(text);
    text = read_all(state);
    ck_assert_msg(strstr(text, "rules: {}\n") != NULL, "%s", text);
    ck_assert(
        !cfg_placement_save("/nonexistent/dir/p.yaml", p, err, sizeof(err)));
    ck_assert_str_eq(err, "cannot create /nonexistent/dir/p.yaml.tmp: No such "
                          "file or directory");
    free(text);
    cfg_placement_free(p);
    cfg_put(again);
    cfg_put(next);
    cfg_put(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("cfg_place");
    TCase *file = tcase_create("file");
    TCase *edit = tcase_create("edit");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(file, setup, teardown);
    tcase_add_checked_fixture(edit, setup, teardown);
    tcase_add_test(file, test_missing_file);
    tcase_add_test(file, test_file_applied);
    tcase_add_test(file, test_redundant);
    tcase_add_test(file, test_conflict);
    tcase_add_test(file, test_malformed);
    tcase_add_test(edit, test_move_slots);
    tcase_add_test(edit, test_split_at);
    tcase_add_test(edit, test_with_placement_and_save);
    tcase_add_test(file, test_cleanup_file);
    tcase_add_test(edit, test_finish_leaves_cleanup);
    suite_add_tcase(s, file);
    suite_add_tcase(s, edit);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
