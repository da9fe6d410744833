/*
 * escape.c - owns how client-supplied text (user and schema names,
 * statement text, anything a client sent) appears in log lines: escaped so
 * that one event stays one line and quotes cannot end a quoted value early.
 */
#include "base/escape.h"

#include <string.h>

/* One input byte's escape into out (at most 4 bytes); returns its length. */
static size_t
escape_byte(unsigned char c, char out[4])
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '"':
    case '\'':
    case '\\':
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    default:
        break;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

const char *
escape_log(const void *s, size_t len, char *buf, size_t cap)
{
    const unsigned char *p = s;
    size_t n = 0, total = 0;
    char e[4];

    for (size_t i = 0; i < len; i++)
        total += escape_byte(p[i], e);
    for (size_t i = 0; i < len; i++) {
        size_t el = escape_byte(p[i], e);

        /* cut: keep room for "..." and the NUL */
        if (total + 1 > cap && n + el + 4 > cap) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        memcpy(buf + n, e, el);
        n += el;
    }
    buf[n] = '\0';
    return buf;
}

const char *
escape_log_str(const char *s, char *buf, size_t cap)
{
    if (s == NULL)
        return escape_log("-", 1, buf, cap);
    return escape_log(s, strlen(s), buf, cap);
}
