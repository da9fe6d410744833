/*
 * units.h - durations ("500ms", "10s", "2m", "1h", bare number = seconds)
 * and sizes ("64KB", "16MB", "1GB", bare number = bytes; powers of 1024).
 */
#ifndef MYSHARD_BASE_UNITS_H
#define MYSHARD_BASE_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a duration into milliseconds; false on bad syntax or overflow. */
bool units_parse_duration_ms(const char *s, int64_t *ms);
/* Parses a size into bytes; false on bad syntax or overflow. */
bool units_parse_size(const char *s, int64_t *bytes);
/* Renders ms back as the shortest exact unit ("1500ms", "2s", "5m"). */
void units_format_duration(int64_t ms, char *buf, size_t len);
/* Renders bytes back as the largest exact unit ("64MB", "1000"). */
void units_format_size(int64_t bytes, char *buf, size_t len);

#endif
