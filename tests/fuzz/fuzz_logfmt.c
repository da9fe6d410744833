/*
 * fuzz_logfmt.c - arbitrary bytes through the log line renderers
 * (base/logfmt.c). As a message, a field value and a field key of a JSON
 * line, at buffer sizes from tight to roomy, every line must be one valid
 * JSON object ending in "}\n", valid UTF-8, within its buffer. As a text
 * line, it is parsed into fields and rendered as JSON again (same check);
 * a value written as a text field parses back to the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/logfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- a strict checker for the JSON a log line may hold ---------------- */

struct rd {
    const unsigned char *p, *end;
};

static bool
utf8_ok(struct rd *r)
{
    unsigned c = *r->p, cp, min;
    size_t len;

    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return false;
    if ((size_t)(r->end - r->p) < len)
        return false;
    for (size_t i = 1; i < len; i++) {
        if ((r->p[i] & 0xc0) != 0x80)
            return false;
        cp = cp << 6 | (r->p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    r->p += len;
    return true;
}

static bool
string_ok(struct rd *r)
{
    if (r->p == r->end || *r->p++ != '"')
        return false;
    while (r->p < r->end) {
        unsigned char c = *r->p;
        if (c == '"') {
            r->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c >= 0x80) {
            if (!utf8_ok(r))
                return false;
            continue;
        }
        r->p++;
        if (c != '\\')
            continue;
        if (r->p == r->end)
            return false;
        c = *r->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++)
                if (r->p == r->end || !strchr("0123456789abcdef", *r->p++))
                    return false;
        } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
            return false;
        }
    }
    return false;
}

static bool
value_ok(struct rd *r)
{
    if (r->p == r->end)
        return false;
    if (*r->p == '"')
        return string_ok(r);
    if ((size_t)(r->end - r->p) >= 4 && memcmp(r->p, "null", 4) == 0) {
        r->p += 4;
        return true;
    }
    if ((size_t)(r->end - r->p) >= 4 && memcmp(r->p, "true", 4) == 0) {
        r->p += 4;
        return true;
    }
    if (*r->p == '-')
        r->p++;
    const unsigned char *d = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
        r->p++;
    return r->p > d && (d[0] != '0' || r->p - d == 1);
}

static void
check_line(const char *buf, size_t len, size_t cap)
{
    struct rd r = {(const unsigned char *)buf,
                   (const unsigned char *)buf + len};

    if (len > cap || len < 3 || buf[len - 1] != '\n' || buf[len - 2] != '}')
        abort();
    r.end -= 2;
    if (*r.p++ != '{')
        abort();
    while (r.p < r.end) {
        if (!string_ok(&r) || r.p == r.end || *r.p++ != ':' || !value_ok(&r))
            abort();
        if (r.p < r.end && *r.p++ != ',')
            abort();
        if (r.p == r.end && r.p[-1] == ',')
            abort();
    }
}

/* --- the target -------------------------------------------------------- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {128, 131, 160, 200, 333, 512, 8192};
    char *s = malloc(size + 1), *line = malloc(8192), *scratch;
    struct log_field f[LOGFMT_MAX_FIELDS];
    const char *msg;
    size_t n, len;

    memcpy(s, data, size);
    s[size] = '\0'; /* strings end at the first NUL, as in the proxy */
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        struct log_field one[] = {LOG_NUM("client", 7), LOG_STR("digest", s),
                                  LOG_STR(s, "v"), LOG_NUM("duration_ms", -1)};
        len = logfmt_json(line, caps[i], "2026-12-07T12:00:00.000Z", "warn",
                          "w0", s, one, 4);
        check_line(line, len, caps[i]);
    }

    /* the bytes as a text line: parsed, then as JSON */
    scratch = malloc(strlen(s) + 2);
    n = logfmt_parse_text(s, scratch, &msg, f, LOGFMT_MAX_FIELDS);
    if (n > LOGFMT_MAX_FIELDS)
        abort();
    len = logfmt_json(line, 8192, "t", "info", "main", msg, f, n);
    check_line(line, len, 8192);
    free(scratch);

    /* a value written as a text field parses back to itself */
    if (strlen(s) <= 250) {
        char text[1200] = "event";
        struct log_field in[] = {LOG_STR("value", s)}, out[LOGFMT_MAX_FIELDS];

        len = logfmt_text_fields(text, sizeof(text), 5, in, 1);
        text[len] = '\0';
        scratch = malloc(len + 2);
        n = logfmt_parse_text(text, scratch, &msg, out, LOGFMT_MAX_FIELDS);
        if (n != 1 || strcmp(msg, "event") != 0 || out[0].is_num ||
            strcmp(out[0].str, s) != 0)
            abort();
        free(scratch);
    }
    free(line);
    free(s);
    return 0;
}
