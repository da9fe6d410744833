/*
 * myshard-locate.c - where does a key live? Prints the rule, its type, the
 * hash slot and the shard of one key of a sharded table, computed by
 * placement_locate(), the function the router itself uses, so a DBA can
 * check a row's home without the proxy:
 *
 *   myshard-locate -c conf/myshard.yaml orders 42
 *   table: shop.orders (key user_id)
 *   rule: user_hash (hash, 1024 slots)
 *   key: 42 (integer)
 *   slot: 136   check: SELECT CRC32('42') % 1024
 *   shard: s0
 *
 * A KEY that reads as a decimal integer is an integer unless --string says
 * it is text. The placement is the live one: the YAML's rules with the
 * state file of online resharding (reshard.state, relative to the working
 * directory) applied, as myshard loads them. Exit status: 0 placed (or a global
 * table), 1 the key has no shard (outside every range, not an integer for a mod
 * rule), 2 bad arguments, config or table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "route/placement.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: myshard-locate -c FILE [-s SCHEMA] [--string] TABLE KEY\n"
            "  -c, --config FILE   the myshard.yaml to read\n"
            "  -s, --schema NAME   the schema of TABLE (default: the first "
            "schema listing it)\n"
            "      --string        KEY is a string even when it reads as an "
            "integer\n"
            "Prints the rule, slot and shard of KEY in TABLE. Exit 0 placed, "
            "1 no shard for the key, 2 bad arguments, config or table.\n");
}

static const char *
rule_type(const struct cfg_rule *r)
{
    return r->type == RULE_MOD    ? "mod"
           : r->type == RULE_HASH ? "hash"
                                  : "range";
}

/* The schema index and table entry of a table name. */
static const struct cfg_table *
find_table(const struct cfg *c, const char *schema, const char *table, int *si)
{
    for (int i = 0; i < c->nschemas; i++) {
        const struct cfg_table *t;
        if (schema != NULL && strcmp(c->schemas[i].name, schema) != 0)
            continue;
        t = cfg_find_table(&c->schemas[i], table, strlen(table));
        if (t != NULL) {
            *si = i;
            return t;
        }
        if (schema != NULL) {
            *si = i;
            return NULL;
        }
    }
    *si = -1;
    return NULL;
}

static void
print_shards(const struct cfg *c, const struct cfg_schema *s)
{
    bool seen[64] = {false};
    int n = 0;

    seen[s->default_shard] = true;
    for (int i = 0; i < s->ntables; i++) {
        const struct cfg_table *t = &s->tables[i];
        if (t->global || t->rule < 0)
            continue;
        for (int k = 0; k < c->rules[t->rule].nshards; k++)
            if (c->rules[t->rule].shards[k] < 64)
                seen[c->rules[t->rule].shards[k]] = true;
    }
    for (int i = 0; i < c->nshards && i < 64; i++)
        if (seen[i])
            printf("%s%s", n++ ? ", " : "", c->shards[i].name);
    printf("\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"schema", required_argument, NULL, 's'},
        {"string", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *schema = NULL, *table, *keytext;
    bool as_string = false;
    const struct cfg_table *t;
    const struct cfg_rule *rule;
    struct route_key key = {0};
    struct diag d;
    struct cfg *c;
    enum placement_status st;
    int opt, si, shard = -1, slot = -1, rc = 2;
    char *end;

    while ((opt = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 's':
            schema = optarg;
            break;
        case 'S':
            as_string = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL || argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    table = argv[optind];
    keytext = argv[optind + 1];

    diag_init(&d);
    c = cfg_load(path, &d);
    diag_print(&d, stderr);
    diag_free(&d);
    if (c == NULL)
        return 2;
    t = find_table(c, schema, table, &si);
    if (schema != NULL && si < 0) {
        fprintf(stderr, "myshard-locate: schema '%s' is not in %s\n", schema,
                path);
        goto out;
    }
    if (t == NULL) {
        fprintf(stderr,
                "myshard-locate: table '%s' is not listed in %s; unlisted "
                "tables live unsharded on their schema's default shard",
                table, path);
        if (si < 0 && c->nschemas > 0)
            si = 0;
        if (si >= 0)
            fprintf(stderr, " ('%s' for schema %s)",
                    c->shards[c->schemas[si].default_shard].name,
                    c->schemas[si].name);
        fprintf(stderr, "\n");
        goto out;
    }
    if (t->global || t->rule < 0) {
        printf("table: %s.%s (global)\n", c->schemas[si].name, t->name);
        printf("shards: ");
        print_shards(c, &c->schemas[si]);
        rc = 0;
        goto out;
    }
    rule = &c->rules[t->rule];
    key.s = keytext;
    key.len = strlen(keytext);
    if (!as_string && keytext[0] != '\0') {
        long long v = strtoll(keytext, &end, 10);
        if (*end == '\0' &&
            (keytext[0] == '-' || (keytext[0] >= '0' && keytext[0] <= '9'))) {
            char canon[24];
            placement_int_text(v, canon);
            /* out of range numbers and leading zeros stay strings */
            if (strcmp(canon, keytext) == 0) {
                key.is_int = true;
                key.i = v;
            }
        }
    }
    printf("table: %s.%s (key %s)\n", c->schemas[si].name, t->name, t->key);
    if (rule->type == RULE_HASH)
        printf("rule: %s (hash, %u slots%s)\n", rule->name, rule->slots,
               rule->has_slot_map ? ", slot_map" : "");
    else
        printf("rule: %s (%s)\n", rule->name, rule_type(rule));
    printf("key: %s (%s)\n", keytext, key.is_int ? "integer" : "string");
    st = placement_locate(rule, &key, &shard, &slot);
    if (st != PLACE_OK) {
        printf("shard: none (%s)\n", placement_status_text(st));
        rc = 1;
        goto out;
    }
    if (rule->type == RULE_HASH)
        printf("slot: %d   check: SELECT CRC32('%s') %% %u\n", slot, keytext,
               rule->slots);
    printf("shard: %s\n", c->shards[shard].name);
    if (rule->live)
        printf("placement: live, from %s (written by RESHARD; it overrides "
               "the YAML's rule)\n",
               c->reshard.state);
    if (placement_in_set(rule, &rule->moving, &key))
        printf("moving: to %s by reshard %lld (it lives on %s until the "
               "cutover)\n",
               c->shards[rule->moving.target].name, (long long)rule->moving.id,
               c->shards[shard].name);
    if (placement_in_set(rule, &rule->cleanup, &key))
        printf("stale copy: on %s until the cleanup of reshard %lld deletes "
               "it (scatters filter it out there)\n",
               c->shards[rule->cleanup.source].name,
               (long long)rule->cleanup.id);
    rc = 0;
out:
    cfg_put(c);
    return rc;
}
