/*
 * escape.h - client-supplied text made safe for one log line.
 */
#ifndef MYSHARD_BASE_ESCAPE_H
#define MYSHARD_BASE_ESCAPE_H

#include <stddef.h>

/* Room for an escaped value of up to 64 input bytes shown whole. */
#define ESCAPE_BUF 272

/*
 * Writes len bytes of s into buf (cap >= 8 bytes, NUL-terminated) so that a
 * log line stays one line and a value cannot fake another key=value pair:
 * printable ASCII is copied, '"', '\'' and '\\' get a backslash, \n \r \t
 * are written as such, every other byte (controls, DEL, bytes >= 0x80) as
 * \xHH. When buf is too small the output is cut at a whole escape and ends
 * with "...". s may be NULL when len is 0. Returns buf.
 */
const char *escape_log(const void *s, size_t len, char *buf, size_t cap);
/* The same for a NUL-terminated string; NULL is written as "-". */
const char *escape_log_str(const char *s, char *buf, size_t cap);

#endif
