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

static void
remove_at(struct sessvars *s, int i)
{
    free(s->v[i].name);
    free(s->v[i].value);
    s->v[i] = s->v[--s->n];
}

static void
remove_name(struct sessvars *s, const char *name)
{
    int i = find(s, name, strlen(name));

    if (i >= 0)
        remove_at(s, i);
}

const char *
sessvars_get(const struct sessvars *s, const char *name)
{
    int i = find(s, name, strlen(name));

    return i >= 0 ? s->v[i].value : NULL;
}

/* The first word of a NAMES value (the character set), unquoted, and the
 * word after COLLATE, if any. */
void
sessvars_names_split(const char *v, char *cs, size_t cap, char *coll,
                     size_t ccap)
{
    const char *p = v, *e;
    size_t n;

    cs[0] = coll[0] = '\0';
    while (*p == ' ')
        p++;
    if (*p == '\'' || *p == '"' || *p == '`') {
        char q = *p++;
        e = strchr(p, q);
        e = e ? e : p + strlen(p);
    } else {
        e = p + strcspn(p, " ");
    }
    n = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
    memcpy(cs, p, n);
    cs[n] = '\0';
    p = strcasestr(e, "COLLATE");
    if (p == NULL)
        return;
    p += 7;
    while (*p == ' ')
        p++;
    if (*p == '\'' || *p == '"' || *p == '`')
        p++;
    n = strcspn(p, " '\"`");
    n = n < ccap - 1 ? n : ccap - 1;
    memcpy(coll, p, n);
    coll[n] = '\0';
}

static bool
is_charset_var(const char *name)
{
    return strcmp(name, "character_set_client") == 0 ||
           strcmp(name, "character_set_results") == 0 ||
           strcmp(name, "character_set_connection") == 0 ||
           strcmp(name, "collation_connection") == 0;
}

void
sessvars_apply(struct sessvars *s, const char *name, size_t nlen,
               const char *value, size_t vlen)
{
    char lname[64], cs[64], coll[64];
    const char *names;

    if (nlen >= sizeof(lname)) {
        sessvars_set(s, name, nlen, value, vlen);
        return;
    }
    for (size_t i = 0; i < nlen; i++)
        lname[i] =
            (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lname[nlen] = '\0';
    if (strcmp(lname, "names") == 0 || strcmp(lname, "character set") == 0) {
        remove_name(s, "character_set_client");
        remove_name(s, "character_set_results");
        remove_name(s, "character_set_connection");
        remove_name(s, "collation_connection");
        remove_name(s, strcmp(lname, "names") == 0 ? "character set" : "names");
    } else if (is_charset_var(lname) &&
               (names = sessvars_get(s, "names")) != NULL) {
        sessvars_names_split(names, cs, sizeof(cs), coll, sizeof(coll));
        sessvars_set(s, "character_set_client", 20, cs, strlen(cs));
        sessvars_set(s, "character_set_results", 21, cs, strlen(cs));
        if (coll[0])
            sessvars_set(s, "collation_connection", 20, coll, strlen(coll));
        else
            sessvars_set(s, "character_set_connection", 24, cs, strlen(cs));
        remove_name(s, "names");
    }
    if (strcmp(lname, "character_set_connection") == 0)
        remove_name(s, "collation_connection");
    else if (strcmp(lname, "collation_connection") == 0)
        remove_name(s, "character_set_connection");
    sessvars_set(s, lname, nlen, value, vlen);
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
