/*
 * fuzz_http.c - arbitrary bytes as an HTTP request head for the admin
 * port's parser (net/http.c http_parse_head). It must never read past the
 * bytes it is given, and its answer must be consistent: a head length
 * within the buffer, a NUL-terminated method and path, or a status the
 * server can answer (400, 414, 431, 505); fed byte by byte, the same
 * bytes give the same answer once the head is complete.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    struct http_request req, req2;
    int r, r2 = 0;
    size_t i;

    memcpy(buf, data, size);
    r = http_parse_head(buf, size, &req);
    if (r > 0) {
        if ((size_t)r > size ||
            memchr(req.method, 0, sizeof(req.method)) == NULL ||
            memchr(req.path, 0, sizeof(req.path)) == NULL)
            abort();
    } else if (r < 0 && r != -400 && r != -414 && r != -431 && r != -505) {
        abort();
    }
    /* Growing prefixes, as reads deliver them: until the answer is final,
     * each says "more" (0); the first final one is the whole buffer's. */
    for (i = 0; i <= size && r != 0; i++) {
        r2 = http_parse_head(buf, i, &req2);
        if (r2 != 0)
            break;
    }
    if (r > 0 && r2 != r)
        abort();
    free(buf);
    return 0;
}
