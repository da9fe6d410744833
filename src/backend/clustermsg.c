/*
 * clustermsg.c - see clustermsg.h. Strict parsers: a message that is not
 * exactly what an encoder writes is refused, never half read.
 */
#include "backend/clustermsg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
id_ok(const char *s, size_t n)
{
    if (n == 0 || n > CLUSTER_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-'))
            return false;
    }
    return true;
}

static bool
field_ok(const char *s)
{
    return strpbrk(s, "\t\r\n") == NULL;
}

size_t
clustermsg_inval_encode(const struct cluster_inval *m, char *buf, size_t len)
{
    int w;
    size_t at;

    if (!id_ok(m->origin, strlen(m->origin)) || m->n < 0 ||
        m->n > CLUSTER_MAX_SLOTS || (!m->all && m->n == 0))
        return 0;
    w = snprintf(buf, len, "v1 %s %" PRIu64 " ", m->origin, m->seq);
    if (w < 0 || (size_t)w >= len)
        return 0;
    at = (size_t)w;
    if (m->all) {
        w = snprintf(buf + at, len - at, "*");
        return w == 1 ? at + 1 : 0;
    }
    for (int i = 0; i < m->n; i++) {
        if (m->slots[i] >= CLUSTER_SLOT_SPACE)
            return 0;
        w = snprintf(buf + at, len - at, i ? ",%" PRIu32 : "%" PRIu32,
                     m->slots[i]);
        if (w < 0 || (size_t)w >= len - at)
            return 0;
        at += (size_t)w;
    }
    return at;
}

/* A decimal without sign or leading junk, <= max; *p moves past it. */
static bool
number(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (s == end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v > (max - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

bool
clustermsg_inval_decode(const char *s, size_t len, struct cluster_inval *m)
{
    const char *p = s, *end = s + len, *sp;
    uint64_t v;

    memset(m, 0, sizeof(*m));
    if (len < 3 || memcmp(s, "v1 ", 3) != 0)
        return false;
    p += 3;
    sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL || !id_ok(p, (size_t)(sp - p)))
        return false;
    memcpy(m->origin, p, (size_t)(sp - p));
    p = sp + 1;
    if (!number(&p, end, UINT64_MAX, &m->seq) || p == end || *p != ' ')
        return false;
    p++;
    if (end - p == 1 && *p == '*') {
        m->all = true;
        return true;
    }
    for (;;) {
        if (m->n == CLUSTER_MAX_SLOTS ||
            !number(&p, end, CLUSTER_SLOT_SPACE - 1, &v))
            return false;
        m->slots[m->n++] = (uint32_t)v;
        if (p == end)
            return true;
        if (*p != ',')
            return false;
        p++;
    }
}

size_t
clustermsg_beat_encode(const struct cluster_beat *b, char *buf, size_t len)
{
    int w;

    if (!id_ok(b->id, strlen(b->id)) || !field_ok(b->name) ||
        !field_ok(b->addr) || !field_ok(b->version) || b->name[0] == '\0')
        return 0;
    w = snprintf(buf, len, "v1\t%s\t%s\t%s\t%s\t%u\t%08" PRIx32 "\t%" PRId64,
                 b->id, b->name, b->addr, b->version, b->generation,
                 b->cfg_hash, b->ts_ms);
    return w < 0 || (size_t)w >= len ? 0 : (size_t)w;
}

/* The next tab-separated field into out (size cap); false if too long. */
static bool
field(const char **p, const char *end, char *out, size_t cap)
{
    const char *t = memchr(*p, '\t', (size_t)(end - *p));
    size_t n;

    if (t == NULL)
        return false;
    n = (size_t)(t - *p);
    if (n >= cap)
        return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = t + 1;
    return true;
}

bool
clustermsg_beat_decode(const char *s, size_t len, struct cluster_beat *b)
{
    const char *p = s, *end = s + len;
    char num[24];
    uint64_t v;
    const char *q;

    memset(b, 0, sizeof(*b));
    if (len < 3 || memcmp(s, "v1\t", 3) != 0)
        return false;
    p += 3;
    if (!field(&p, end, b->id, sizeof(b->id)) || !id_ok(b->id, strlen(b->id)) ||
        !field(&p, end, b->name, sizeof(b->name)) || b->name[0] == '\0' ||
        !field(&p, end, b->addr, sizeof(b->addr)) ||
        !field(&p, end, b->version, sizeof(b->version)))
        return false;
    if (!number(&p, end, UINT32_MAX, &v) || p == end || *p != '\t')
        return false;
    b->generation = (unsigned)v;
    p++;
    if (!field(&p, end, num, sizeof(num)) || strlen(num) != 8)
        return false;
    for (int i = 0; i < 8; i++)
        if (!((num[i] >= '0' && num[i] <= '9') ||
              (num[i] >= 'a' && num[i] <= 'f')))
            return false;
    b->cfg_hash = (uint32_t)strtoul(num, NULL, 16);
    q = p;
    if (!number(&q, end, INT64_MAX, &v) || q != end)
        return false;
    b->ts_ms = (int64_t)v;
    return true;
}
