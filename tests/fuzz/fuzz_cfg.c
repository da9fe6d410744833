/*
 * fuzz_cfg.c - arbitrary bytes as a config file: the loader must report
 * problems as diagnostics and never crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "cfg/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct diag d;
    struct cfg *c;

    memcpy(text, data, size);
    text[size] = '\0';
    diag_init(&d);
    c = cfg_load_string("fuzz.yaml", text, &d);
    cfg_put(c);
    diag_free(&d);
    free(text);
    return 0;
}
