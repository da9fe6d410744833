/*
 * gtid.c - see gtid.h. MariaDB writes its GTIDs as three decimal numbers
 * joined by '-', and positions as such GTIDs joined by ','; the readers
 * here accept exactly that.
 */
#include "base/gtid.h"

#include <stdio.h>
#include <string.h>

/* Reads a decimal number up to max from p[*i..len); false when none. */
static bool
number(const char *p, size_t len, size_t *i, uint64_t max, uint64_t *v)
{
    size_t start = *i;

    *v = 0;
    while (*i < len && p[*i] >= '0' && p[*i] <= '9') {
        uint64_t d = (uint64_t)(p[*i] - '0');
        if (*v > (max - d) / 10)
            return false;
        *v = *v * 10 + d;
        (*i)++;
    }
    return *i > start;
}

bool
gtid_parse(const char *p, size_t len, struct gtid *g)
{
    size_t i = 0;
    uint64_t d, s, n;

    if (!number(p, len, &i, UINT32_MAX, &d) || i >= len || p[i++] != '-' ||
        !number(p, len, &i, UINT32_MAX, &s) || i >= len || p[i++] != '-' ||
        !number(p, len, &i, UINT64_MAX, &n) || i != len)
        return false;
    g->domain = (uint32_t)d;
    g->server = (uint32_t)s;
    g->seqno = n;
    return true;
}

static bool
space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int
gtid_parse_list(const char *p, size_t len, struct gtid *out, int max)
{
    size_t i = 0;
    int n = 0;

    for (;;) {
        size_t a, b;
        while (i < len && space(p[i]))
            i++;
        if (i == len)
            return n == 0 ? 0 : -1; /* "" is empty; "x," is malformed */
        a = i;
        while (i < len && p[i] != ',' && !space(p[i]))
            i++;
        b = i;
        if (n == max || !gtid_parse(p + a, b - a, &out[n]))
            return -1;
        n++;
        while (i < len && space(p[i]))
            i++;
        if (i == len)
            return n;
        if (p[i++] != ',')
            return -1;
    }
}

void
gtid_format(const struct gtid *g, char *buf, size_t size)
{
    snprintf(buf, size, "%u-%u-%llu", g->domain, g->server,
             (unsigned long long)g->seqno);
}

bool
gtid_pos_covers(const char *have, const char *want)
{
    struct gtid h[GTID_POS_MAX], w[GTID_POS_MAX];
    int nh = gtid_parse_list(have, strlen(have), h, GTID_POS_MAX);
    int nw = gtid_parse_list(want, strlen(want), w, GTID_POS_MAX);

    if (nh < 0 || nw < 0)
        return false;
    for (int i = 0; i < nw; i++) {
        bool found = false;
        for (int j = 0; j < nh && !found; j++)
            found = h[j].domain == w[i].domain && h[j].seqno >= w[i].seqno;
        if (!found)
            return false;
    }
    return true;
}
