/*
 * sessvars.c - see sessvars.h. Sets are tiny (a handful of variables), so
 * they are plain arrays searched linearly.
 */
#include "backend/sessvars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

static int
find(const struct sessvars *s, const char *name, size_t nlen)
{
    for (int i = 0; i < s->n; i++)
        if (strlen(s->v[i].name) == nlen &&
            strncasecmp(s->v[i].name, name, nlen) == 0)
            return i;
    return -1;
}

void
sessvars_set(struct sessvars *s, const char *name, size_t nlen,
             const char *value, size_t vlen)
{
    int i = find(s, name, nlen);

    if (i < 0) {
        s->v = xrealloc(s->v, (size_t)(s->n + 1) * sizeof(*s->v));
        i = s->n++;
        s->v[i].name = xstrndup(name, nlen);
        for (char *p = s->v[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    } else {
        free(s->v[i].value);
    }
    s->v[i].value = xstrndup(value, vlen);
}

void
sessvars_clear(struct sessvars *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].value);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void
sessvars_copy(struct sessvars *dst, const struct sessvars *src)
{
    sessvars_clear(dst);
    for (int i = 0; i < src->n; i++)
        sessvars_set(dst, src->v[i].name, strlen(src->v[i].name),
                     src->v[i].value, strlen(src->v[i].value));
}

bool
sessvars_equal(const struct sessvars *a, const struct sessvars *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        int j = find(b, a->v[i].name, strlen(a->v[i].name));
        if (j < 0 || strcmp(a->v[i].value, b->v[j].value) != 0)
            return false;
    }
    return true;
}

static bool is_charset_name(const char *name);

/* Appends one assignment; NAMES and CHARACTER SET take no '='. */
static bool
append(char *buf, size_t cap, size_t *n, const char *name, const char *value)
{
    bool bare = is_charset_name(name);
    bool first = *n >= 4 && memcmp(buf + *n - 4, "SET ", 4) == 0;
    int r = snprintf(buf + *n, cap - *n, "%s%s%s%s", first ? "" : ", ", name,
                     bare ? " " : " = ", value);

    if (r < 0 || (size_t)r >= cap - *n)
        return false;
    *n += (size_t)r;
    return true;
}

static bool
is_charset_name(const char *name)
{
    return strcmp(name, "names") == 0 || strcmp(name, "character set") == 0;
}

bool
sessvars_has_charset(const struct sessvars *s)
{
    /* character_set_client too: a NAMES for the handshake's collation
     * appended after it would silently undo it */
    for (int i = 0; i < s->n; i++)
        if (is_charset_name(s->v[i].name) ||
            strcmp(s->v[i].name, "character_set_client") == 0)
            return true;
    return false;
}

bool
sessvars_diff(const struct sessvars *want, const struct sessvars *have,
              char *buf, size_t cap, size_t *n, bool *charset_stale)
{
    *charset_stale = false;
    for (int i = 0; i < want->n; i++) {
        int j = find(have, want->v[i].name, strlen(want->v[i].name));
        if (j >= 0 && strcmp(have->v[j].value, want->v[i].value) == 0)
            continue;
        if (!append(buf, cap, n, want->v[i].name, want->v[i].value))
            return false;
    }
    for (int j = 0; j < have->n; j++) {
        if (find(want, have->v[j].name, strlen(have->v[j].name)) >= 0)
            continue;
        if (is_charset_name(have->v[j].name)) {
            *charset_stale = true;
            continue;
        }
        if (!append(buf, cap, n, have->v[j].name, "DEFAULT"))
            return false;
    }
    return true;
}

bool
sessvars_autocommit_off(const struct sessvars *s)
{
    for (int i = 0; i < s->n; i++) {
        const char *v = s->v[i].value;
        if (strcmp(s->v[i].name, "autocommit") == 0)
            return strcmp(v, "0") == 0 || strcasecmp(v, "OFF") == 0 ||
                   strcasecmp(v, "false") == 0 || strcmp(v, "'0'") == 0;
    }
    return false;
}
