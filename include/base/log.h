/*
 * log.h - leveled logging to stderr, one line per event:
 *   2026-11-28T01:02:03.456Z INFO  w1 message key=value ...
 * Callers put context as key=value pairs in the message, or pass fields to
 * log_event. Passwords are never passed to these functions. With
 * log_format: json every line is one JSON object instead (base/logfmt.h).
 */
#ifndef MYSHARD_BASE_LOG_H
#define MYSHARD_BASE_LOG_H

#include <stdbool.h>
#include "base/logfmt.h"
#include "base/util.h"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

extern enum log_level log_current_level;

/* Parses "error|warn|info|debug"; false when the name is unknown. */
bool log_level_parse(const char *name, enum log_level *out);
/* Names the calling thread in log lines ("main", "w0", "health"). */
void log_set_thread_name(const char *name);
/* The shape of the lines written from now on, by every thread: set at
 * start and by a reload that changes log_format. */
void log_set_format(enum log_format fmt);
void log_write(enum log_level lvl, const char *fmt, ...) PRINTF_FMT(2, 3);
/* One event with its fields: "msg key=value ..." as text, or the fields as
 * JSON members with their types (strings escaped, numbers as numbers). */
void log_event(enum log_level lvl, const char *msg, const struct log_field *f,
               size_t n);

#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __VA_ARGS__)
#define log_info(...)                                                          \
    do {                                                                       \
        if (log_current_level >= LOG_INFO)                                     \
            log_write(LOG_INFO, __VA_ARGS__);                                  \
    } while (0)
#define log_debug(...)                                                         \
    do {                                                                       \
        if (unlikely(log_current_level >= LOG_DEBUG))                          \
            log_write(LOG_DEBUG, __VA_ARGS__);                                 \
    } while (0)

#endif
