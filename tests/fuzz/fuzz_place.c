/*
 * fuzz_place.c - arbitrary bytes as the live placement file
 * (reshard.state) over a fixed config: the reader must report problems as
 * diagnostics and never crash, hang or leak; a placement it accepts must
 * apply (cfg_with_placement), and write out again as a file that reads
 * back to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] =
    "backend: { user: myshard }\n"
    "reshard: { state: /nonexistent/fuzz-placement.yaml }\n"
    "shards:\n"
    "  - { name: s0, primary: 127.0.0.1:3306 }\n"
    "  - { name: s1, primary: 127.0.0.1:3307 }\n"
    "  - { name: s2, primary: 127.0.0.1:3308 }\n"
    "sharding_rules:\n"
    "  user_mod: { type: mod, shards: [s0, s1] }\n"
    "  user_hash: { type: hash, shards: [s0, s1], slots: 16 }\n"
    "  id_range:\n"
    "    type: range\n"
    "    ranges:\n"
    "      - { shard: s0, to: 1000 }\n"
    "      - { shard: s1, from: 1000 }\n"
    "  day_range:\n"
    "    type: range\n"
    "    ranges:\n"
    "      - { shard: s0, to: \"2026\" }\n"
    "      - { shard: s2, from: \"2026\" }\n"
    "schemas:\n"
    "  - name: shop\n"
    "users:\n"
    "  - { name: app, password: app }\n";

static struct cfg *base;

/* The placement of c written as a file. */
static char *
written(const struct cfg *c)
{
    struct cfg_placement *p = cfg_placement_of(c);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    (void)cfg_placement_write(p, true, out);
    fclose(out);
    cfg_placement_free(p);
    return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_placement *p;
    struct diag d;
    int *lines = NULL;

    diag_init(&d);
    if (base == NULL) {
        base = cfg_load_string("fuzz.yaml", yaml, &d);
        if (base == NULL)
            abort();
        diag_free(&d);
        diag_init(&d);
    }
    p = cfg_placement_parse("fuzz-placement.yaml", (const char *)data, size,
                            base, &lines, &d);
    if (p != NULL) {
        struct cfg *next = cfg_with_placement(base, p, &d);
        if (next != NULL) {
            /* what it writes reads back to the same placement */
            char *once = written(next);
            struct cfg_placement *q;
            int *l2 = NULL;
            struct diag d2;

            diag_init(&d2);
            q = cfg_placement_parse("again.yaml", once, strlen(once), base, &l2,
                                    &d2);
            if (q == NULL)
                abort();
            cfg_placement_free(q);
            free(l2);
            diag_free(&d2);
            free(once);
            cfg_put(next);
        }
        cfg_placement_free(p);
    }
    free(lines);
    diag_free(&d);
    return 0;
}
