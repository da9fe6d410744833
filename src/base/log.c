/*
 * log.c - one line per event on stderr, text or JSON (log_format; the
 * shapes are base/logfmt.c's). Each line is written with a single write()
 * so lines from several threads never interleave.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum log_level log_current_level = LOG_INFO;
static int log_format_now = LOG_FORMAT_TEXT; /* atomic: any thread reads */
static _Thread_local char thread_name[16] = "main";

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const json_levels[] = {"error", "warn", "info", "debug"};

/* Text lines are cut at this length; JSON lines have room for escapes. */
#define TEXT_LINE 2048
#define JSON_LINE 8192

bool
log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void
log_set_thread_name(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name);
}

void
log_set_format(enum log_format fmt)
{
    __atomic_store_n(&log_format_now, (int)fmt, __ATOMIC_RELAXED);
}

/* "2026-11-28T01:02:03.456Z" into ts[32]. */
static void
timestamp(char ts[32])
{
    struct timeval tv;
    struct tm tm;
    size_t n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(ts, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, 32 - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

static void
emit(const char *line, size_t n)
{
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report a failed log write */
    }
}

/* The text line's head: "ts LEVEL thread ". */
static size_t
text_head(char *line, size_t cap, enum log_level lvl)
{
    char ts[32];
    int r;

    timestamp(ts);
    r = snprintf(line, cap, "%s %-5s %s ", ts, level_names[lvl], thread_name);
    return r > 0 ? MIN((size_t)r, cap - 1) : 0;
}

static void
json_line(enum log_level lvl, const char *msg, const struct log_field *f,
          size_t n)
{
    char line[JSON_LINE], ts[32];

    timestamp(ts);
    emit(line, logfmt_json(line, sizeof(line), ts, json_levels[lvl],
                           thread_name, msg, f, n));
}

void
log_write(enum log_level lvl, const char *fmt, ...)
{
    char line[TEXT_LINE];
    size_t n = 0;
    va_list ap;
    int r;

    if (lvl > log_current_level)
        return;
    if (__atomic_load_n(&log_format_now, __ATOMIC_RELAXED) == LOG_FORMAT_TEXT)
        n = text_head(line, sizeof(line), lvl);
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += MIN((size_t)r, sizeof(line) - n - 2);
    if (__atomic_load_n(&log_format_now, __ATOMIC_RELAXED) == LOG_FORMAT_JSON) {
        /* the message's own key=value pairs become members */
        struct log_field f[LOGFMT_MAX_FIELDS];
        char scratch[TEXT_LINE + 2];
        const char *msg;
        size_t nf;

        line[n] = '\0';
        nf = logfmt_parse_text(line, scratch, &msg, f, ARRAY_SIZE(f));
        json_line(lvl, msg, f, nf);
        return;
    }
    line[n++] = '\n';
    emit(line, n);
}

void
log_event(enum log_level lvl, const char *msg, const struct log_field *f,
          size_t n)
{
    char line[TEXT_LINE];
    size_t len;

    if (lvl > log_current_level)
        return;
    if (__atomic_load_n(&log_format_now, __ATOMIC_RELAXED) == LOG_FORMAT_JSON) {
        json_line(lvl, msg, f, n);
        return;
    }
    len = text_head(line, sizeof(line), lvl);
    len += (size_t)snprintf(line + len, sizeof(line) - len - 1, "%s", msg);
    len = MIN(len, sizeof(line) - 2);
    len = logfmt_text_fields(line, sizeof(line) - 1, len, f, n);
    line[len++] = '\n';
    emit(line, len);
}
