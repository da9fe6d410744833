/*
 * units.c - parses and prints the duration and size literals of the config
 * file. Values are whole numbers followed by an optional unit; a bare number
 * is seconds (durations) or bytes (sizes). Units are case-insensitive and
 * may be separated from the number by blanks, so "10s", "10 s" and "10S"
 * mean the same. Overflow and negatives are refused rather than wrapped.
 */
#include "base/units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    int64_t mult;
};

static const struct unit duration_units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
};

static const struct unit size_units[] = {
    {"b", 1},
    {"k", 1024},
    {"kb", 1024},
    {"m", 1024 * 1024},
    {"mb", 1024 * 1024},
    {"g", 1024LL * 1024 * 1024},
    {"gb", 1024LL * 1024 * 1024},
};

/* Splits s into a non-negative integer and a unit suffix, then applies the
 * multiplier of the matching unit (or def_mult when there is none). */
static bool
parse_scaled(const char *s, const struct unit *units, size_t nunits,
             int64_t def_mult, int64_t *out)
{
    int64_t v = 0, mult = def_mult;
    const char *p = s;
    const char *u, *e;
    bool digits = false;

    if (s == NULL)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    while (isdigit((unsigned char)*p)) {
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        digits = true;
        p++;
    }
    if (!digits)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    u = p;
    while (isalpha((unsigned char)*p))
        p++;
    e = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return false;
    if (e > u) {
        size_t ulen = (size_t)(e - u);
        bool found = false;
        for (size_t i = 0; i < nunits; i++) {
            if (ulen == strlen(units[i].name) &&
                strncasecmp(u, units[i].name, ulen) == 0) {
                mult = units[i].mult;
                found = true;
                break;
            }
        }
        if (!found)
            return false;
    }
    if (v != 0 && mult > INT64_MAX / v)
        return false;
    *out = v * mult;
    return true;
}

bool
units_parse_duration_ms(const char *s, int64_t *ms)
{
    return parse_scaled(s, duration_units,
                        sizeof(duration_units) / sizeof(duration_units[0]),
                        1000, ms);
}

bool
units_parse_size(const char *s, int64_t *bytes)
{
    return parse_scaled(s, size_units,
                        sizeof(size_units) / sizeof(size_units[0]), 1, bytes);
}

void
units_format_duration(int64_t ms, char *buf, size_t len)
{
    if (ms == 0)
        snprintf(buf, len, "0s");
    else if (ms % (60 * 60 * 1000) == 0)
        snprintf(buf, len, "%lldh", (long long)(ms / (60 * 60 * 1000)));
    else if (ms % (60 * 1000) == 0)
        snprintf(buf, len, "%lldm", (long long)(ms / (60 * 1000)));
    else if (ms % 1000 == 0)
        snprintf(buf, len, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, len, "%lldms", (long long)ms);
}

void
units_format_size(int64_t bytes, char *buf, size_t len)
{
    const int64_t k = 1024;

    if (bytes != 0 && bytes % (k * k * k) == 0)
        snprintf(buf, len, "%lldGB", (long long)(bytes / (k * k * k)));
    else if (bytes != 0 && bytes % (k * k) == 0)
        snprintf(buf, len, "%lldMB", (long long)(bytes / (k * k)));
    else if (bytes != 0 && bytes % k == 0)
        snprintf(buf, len, "%lldKB", (long long)(bytes / k));
    else
        snprintf(buf, len, "%lld", (long long)bytes);
}
