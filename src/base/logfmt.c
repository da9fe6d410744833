/*
 * logfmt.c - owns the two shapes of a log line: text (message, then
 * key=value pairs) and JSON (one object per line, for log shippers). Every
 * string is escaped here, whatever a client put into it, and a line never
 * outgrows its buffer: JSON is cut so that it stays one valid object.
 */
#include "base/logfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/util.h"

/* --- text ---------------------------------------------------------------- */

static bool
bare_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("_.:@/+-", c) != NULL))
            return false;
    }
    return true;
}

size_t
logfmt_text_fields(char *buf, size_t cap, size_t len, const struct log_field *f,
                   size_t n)
{
    char esc[1024];

    for (size_t i = 0; i < n && len + 1 < cap; i++) {
        int r;

        if (f[i].is_num)
            r = snprintf(buf + len, cap - len, " %s=%lld", f[i].key, f[i].num);
        else if (f[i].str == NULL || bare_ok(f[i].str))
            r = snprintf(buf + len, cap - len, " %s=%s", f[i].key,
                         f[i].str != NULL ? f[i].str : "-");
        else
            r = snprintf(buf + len, cap - len, " %s=\"%s\"", f[i].key,
                         escape_log_str(f[i].str, esc, sizeof(esc)));
        if (r < 0)
            break;
        len += MIN((size_t)r, cap - len - 1);
    }
    return len;
}

/* --- JSON ---------------------------------------------------------------- */

/* Room kept at the end of the buffer for ,"truncated":true}\n */
#define JW_TAIL 24

struct jw {
    char *buf;
    size_t cap;
    size_t len;
    bool full; /* something did not fit: finish with "truncated" */
};

static bool
jw_raw(struct jw *w, const char *s, size_t n)
{
    if (w->full || w->len + n + JW_TAIL > w->cap) {
        w->full = true;
        return false;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return true;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when invalid:
 * overlong forms, surrogates and code points past U+10FFFF included. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    unsigned cp, min;
    size_t len;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, cp = p[0] & 0x1f, min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3, cp = p[0] & 0x0f, min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, cp = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* One character's JSON form into out (at most 6 bytes); its input length
 * in *used. */
static size_t
json_char(const unsigned char *p, size_t n, char out[6], size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = utf8_seq(p, n);

    *used = len ? len : 1;
    if (len == 0) {
        memcpy(out, "\\ufffd", 6);
        return 6;
    }
    if (len > 1) {
        memcpy(out, p, len);
        return len;
    }
    switch (p[0]) {
    case '"':
        memcpy(out, "\\\"", 2);
        return 2;
    case '\\':
        memcpy(out, "\\\\", 2);
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
    if (p[0] >= 0x20 && p[0] != 0x7f) {
        out[0] = (char)p[0];
        return 1;
    }
    memcpy(out, "\\u00", 4);
    out[4] = hex[p[0] >> 4];
    out[5] = hex[p[0] & 15];
    return 6;
}

/* A JSON string; when it does not fit, it ends with ..." and w is full. */
static void
jw_str(struct jw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char e[6];

    /* the opening quote, with room for the cut mark after it */
    if (w->full || w->len + 5 + JW_TAIL > w->cap) {
        w->full = true;
        return;
    }
    w->buf[w->len++] = '"';
    while (n > 0) {
        size_t used, el = json_char(p, n, e, &used);

        /* keep room for the cut mark ..." */
        if (w->len + el + 4 + JW_TAIL > w->cap) {
            memcpy(w->buf + w->len, "...\"", 4);
            w->len += 4;
            w->full = true;
            return;
        }
        memcpy(w->buf + w->len, e, el);
        w->len += el;
        p += used;
        n -= used;
    }
    (void)jw_raw(w, "\"", 1);
}

/* ,"key":value; a field whose key or number does not fit is left out. */
static void
jw_field(struct jw *w, const char *key, const struct log_field *f,
         const char *str)
{
    size_t start = w->len;
    char num[32];

    if (w->full)
        return;
    if (w->len > 1) /* after the first field */
        (void)jw_raw(w, ",", 1);
    jw_str(w, key);
    (void)jw_raw(w, ":", 1);
    if (w->full) {
        w->len = start;
        return;
    }
    if (f != NULL && f->is_num) {
        int r = snprintf(num, sizeof(num), "%lld", f->num);
        if (!jw_raw(w, num, (size_t)r))
            w->len = start;
    } else if (str == NULL) {
        if (!jw_raw(w, "null", 4))
            w->len = start;
    } else {
        size_t vstart = w->len;

        jw_str(w, str);       /* cut inside the value: still a valid string */
        if (w->len == vstart) /* not even its opening quote fit */
            w->len = start;
    }
}

size_t
logfmt_json(char *buf, size_t cap, const char *ts, const char *level,
            const char *thread, const char *msg, const struct log_field *f,
            size_t n)
{
    struct jw w = {.buf = buf, .cap = cap};

    (void)jw_raw(&w, "{", 1);
    jw_field(&w, "ts", NULL, ts);
    jw_field(&w, "level", NULL, level);
    jw_field(&w, "thread", NULL, thread);
    jw_field(&w, "msg", NULL, msg);
    for (size_t i = 0; i < n; i++)
        jw_field(&w, f[i].key, &f[i], f[i].str);
    if (w.full) {
        static const char mark[] = ",\"truncated\":true";
        size_t comma = w.len > 1; /* none right after the '{' */

        memcpy(w.buf + w.len, &mark[1 - comma], 16 + comma);
        w.len += 16 + comma;
    }
    memcpy(w.buf + w.len, "}\n", 2);
    return w.len + 2;
}

/* --- parsing text lines -------------------------------------------------- */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The key at p ([a-z_][a-z0-9_]* followed by '='): its length, else 0. */
static size_t
key_at(const char *p)
{
    size_t i = 0;

    if (!((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_'))
        return 0;
    while ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
           p[i] == '_')
        i++;
    return p[i] == '=' ? i : 0;
}

/* A quoted value at *pp (after its '"'): unescaped into *out, NUL ended.
 * Leaves *pp after the closing quote; false when there is none. */
static bool
unquote(const char **pp, char **out)
{
    const char *p = *pp;
    char *o = *out;

    for (; *p != '"'; p++) {
        if (*p == '\0')
            return false;
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'x':
            if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
                return false;
            *o++ = (char)(hexval(p[1]) << 4 | hexval(p[2]));
            p += 2;
            break;
        case '\0':
            return false;
        default: /* \" \' \\ */
            *o++ = *p;
            break;
        }
    }
    *o++ = '\0';
    *out = o;
    *pp = p + 1;
    return true;
}

/* Keys whose integer values are JSON numbers: ids, counts and every
 * duration (*_ms, *_s). A key has one type in every line, so the others,
 * which some lines fill with text, stay strings. */
static bool
numeric_key(const char *k, size_t len)
{
    static const char *const keys[] = {"client",     "thread_id", "workers",
                                       "servers",    "shards",    "clients",
                                       "generation", "signal"};

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (strlen(keys[i]) == len && memcmp(k, keys[i], len) == 0)
            return true;
    return (len > 3 && memcmp(k + len - 3, "_ms", 3) == 0) ||
           (len > 2 && memcmp(k + len - 2, "_s", 2) == 0);
}

/* An integer as the text line wrote it: -?digits, at most 18 of them. */
static bool
integer_text(const char *s, long long *v)
{
    const char *d = s + (*s == '-');
    size_t nd = strspn(d, "0123456789");

    if (nd == 0 || nd > 18 || d[nd] != '\0' || (nd > 1 && d[0] == '0'))
        return false;
    *v = strtoll(s, NULL, 10);
    return true;
}

size_t
logfmt_parse_text(const char *text, char *scratch, const char **msg,
                  struct log_field *f, size_t max)
{
    const char *p = text, *start = NULL;
    char *o = scratch;
    size_t n = 0;

    *msg = text;
    /* the message ends before the first " key=" */
    for (const char *q = text; *q != '\0'; q++) {
        if ((q == text || q[-1] == ' ') && key_at(q) > 0) {
            start = q;
            break;
        }
    }
    if (start == NULL)
        return 0;
    {
        size_t ml = (size_t)(start - text);
        while (ml > 0 && text[ml - 1] == ' ')
            ml--;
        memcpy(o, text, ml);
        o[ml] = '\0';
        *msg = o;
        o += ml + 1;
    }
    for (p = start; *p != '\0';) {
        size_t kl = key_at(p);
        long long v;

        if (kl == 0 || n == max)
            goto whole;
        f[n] = (struct log_field){.key = o};
        memcpy(o, p, kl);
        o[kl] = '\0';
        o += kl + 1;
        p += kl + 1;
        f[n].str = o;
        if (*p == '"') {
            p++;
            if (!unquote(&p, &o))
                goto whole;
        } else {
            size_t vl = strcspn(p, " ");
            memcpy(o, p, vl);
            o[vl] = '\0';
            o += vl + 1;
            p += vl;
            if (numeric_key(f[n].key, kl) && integer_text(f[n].str, &v))
                f[n] = (struct log_field){
                    .key = f[n].key, .num = v, .is_num = true};
        }
        n++;
        if (*p == ' ')
            p++;
        else if (*p != '\0')
            goto whole;
    }
    return n;
whole:
    *msg = text;
    return 0;
}
