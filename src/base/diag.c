/*
 * diag.c - owns the diagnostic list: every item is copied in (file, message,
 * hint) so callers may pass stack buffers, and all of them are printed
 * together in the compiler-style "file:line:col: level: message (hint)" form
 * that editors and humans both understand.
 */
#include "base/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
diag_init(struct diag *d)
{
    memset(d, 0, sizeof(*d));
}

void
diag_free(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].message);
        free(d->items[i].hint);
    }
    free(d->items);
    memset(d, 0, sizeof(*d));
}

void
diag_add(struct diag *d, enum diag_level lvl, const char *file, int line,
         int col, const char *hint, const char *fmt, ...)
{
    struct diag_item *it;
    va_list ap;
    int n;

    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = xrealloc(d->items, d->cap * sizeof(*d->items));
    }
    it = &d->items[d->n++];
    it->level = lvl;
    it->file = file ? xstrdup(file) : NULL;
    it->line = line;
    it->col = col;
    it->hint = hint ? xstrdup(hint) : NULL;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    it->message = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(it->message, (size_t)n + 1, fmt, ap);
    va_end(ap);

    if (lvl == DIAG_ERROR)
        d->errors++;
}

/* Returns the length of the formatted text, truncated to fit in buf (always
 * NUL-terminated when len > 0). Parts that are unknown are left out:
 * line 0 drops "line:col", col 0 drops ":col", no file drops the prefix. */
size_t
diag_format(const struct diag *d, size_t i, char *buf, size_t len)
{
    const struct diag_item *it;
    size_t off = 0;
    int n;

    if (len == 0)
        return 0;
    buf[0] = '\0';
    if (i >= d->n)
        return 0;
    it = &d->items[i];

#define APPEND(...)                                                            \
    do {                                                                       \
        if (off < len) {                                                       \
            n = snprintf(buf + off, len - off, __VA_ARGS__);                   \
            if (n > 0)                                                         \
                off += (size_t)n;                                              \
        }                                                                      \
    } while (0)

    if (it->file != NULL) {
        APPEND("%s:", it->file);
        if (it->line > 0) {
            APPEND("%d:", it->line);
            if (it->col > 0)
                APPEND("%d:", it->col);
        }
        APPEND(" ");
    }
    APPEND("%s: %s", it->level == DIAG_ERROR ? "error" : "warning",
           it->message);
    if (it->hint != NULL)
        APPEND(" (%s)", it->hint);
#undef APPEND

    return off < len ? off : len - 1;
}

size_t
diag_join(const struct diag *d, char *buf, size_t len)
{
    char line[1024];
    size_t off = 0, i;

    if (len == 0)
        return 0;
    buf[0] = '\0';
    for (i = 0; i < d->n; i++) {
        size_t n = diag_format(d, i, line, sizeof(line));
        size_t sep = i > 0 ? 2 : 0;
        /* room for the count of the ones after this, should they not fit */
        int keep = i + 1 < d->n
                       ? snprintf(NULL, 0, "; (and %zu more)", d->n - i - 1)
                       : 0;

        if (off + sep + n + (size_t)keep < len) {
            snprintf(buf + off, len - off, "%s%s", sep ? "; " : "", line);
            off += sep + n;
            continue;
        }
        if (i == 0 && len > (size_t)keep + 3 + 8) {
            size_t cut = len - 1 - (size_t)keep - 3;
            snprintf(buf, len, "%.*s...", (int)cut, line);
            off = cut + 3;
            i++;
        }
        break;
    }
    if (i < d->n)
        snprintf(buf + off, len - off, "%s(and %zu more)", off > 0 ? "; " : "",
                 d->n - i);
    return i;
}

void
diag_print(const struct diag *d, FILE *out)
{
    char buf[2048];

    for (size_t i = 0; i < d->n; i++) {
        diag_format(d, i, buf, sizeof(buf));
        fprintf(out, "%s\n", buf);
    }
}
