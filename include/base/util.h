/*
 * util.h - small macros every layer uses. Nothing else lives here.
 */
#ifndef MYSHARD_BASE_UTIL_H
#define MYSHARD_BASE_UTIL_H

#include <stddef.h>

#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)        ((a) < (b) ? (a) : (b))
#define MAX(a, b)        ((a) > (b) ? (a) : (b))
#define UNUSED(x)        ((void)(x))
#define MUST_CHECK       __attribute__((warn_unused_result))
#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))
#define likely(x)        __builtin_expect(!!(x), 1)
#define unlikely(x)      __builtin_expect(!!(x), 0)
#define container_of(ptr, type, member)                                        \
    ((type *)((char *)(ptr)-offsetof(type, member)))

/* Allocation that aborts on failure: out of memory is not recoverable here. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
