/*
 * logfmt.h - how one log event becomes one line, as text or as JSON
 * (log_format). Pure functions on buffers: log.c writes what they render.
 *
 * An event is a message and fields. Text:
 *   message key=value key="quoted \"value\""
 * JSON, one object per line:
 *   {"ts":"...Z","level":"warn","thread":"w0","msg":"message","key":...}
 */
#ifndef MYSHARD_BASE_LOGFMT_H
#define MYSHARD_BASE_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>

/* One field of an event: a string (raw bytes, the renderer escapes them;
 * NULL shows as "-" in text and null in JSON) or an integer. */
struct log_field {
    const char *key; /* [a-z_][a-z0-9_]* */
    const char *str;
    long long num;
    bool is_num;
};

/* Initializers of struct log_field (arrays of fields). */
#define LOG_STR(k, v)                                                          \
    {                                                                          \
        .key = (k), .str = (v)                                                 \
    }
#define LOG_NUM(k, v)                                                          \
    {                                                                          \
        .key = (k), .num = (long long)(v), .is_num = true                      \
    }

/* The fields a text line can carry; more make logfmt_parse_text fail. */
#define LOGFMT_MAX_FIELDS 32

/*
 * Text: writes " key=value" for each field after buf's first len bytes.
 * A string value that is empty or holds anything but [A-Za-z0-9_.:@/+-]
 * is quoted and escaped as base/escape.h does, so it can neither end the
 * line nor fake another field. Stops before cap; returns the new length.
 */
size_t logfmt_text_fields(char *buf, size_t cap, size_t len,
                          const struct log_field *f, size_t n);

/*
 * JSON: renders the whole line, '\n' included, into buf (cap >= 128).
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become
 * U+FFFD, so the line is always valid UTF-8. When the event does not fit,
 * the string being written is cut with "...", later fields are dropped
 * and "truncated":true is added: the line stays one valid object.
 * Returns its length.
 */
size_t logfmt_json(char *buf, size_t cap, const char *ts, const char *level,
                   const char *thread, const char *msg,
                   const struct log_field *f, size_t n);

/*
 * Splits a text message ("words key=value key=\"quoted\" ...") into the
 * message and its fields, undoing escape_log's escapes in quoted values.
 * scratch (at least strlen(text) + 2 bytes) holds the strings the result
 * points to. Integer values of ids and counts (client, thread_id,
 * workers, servers, shards, clients, generation, signal) and of keys
 * ending in _ms or _s become numbers; all others are strings. When the text
 * does not end in well-formed fields, *msg is the whole text and 0 is returned.
 * Returns the number of fields (at most max).
 */
size_t logfmt_parse_text(const char *text, char *scratch, const char **msg,
                         struct log_field *f, size_t max);

#endif
