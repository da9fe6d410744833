/*
 * evmem.c - see evmem.h. Every block carries a 16-byte header (16 keeps
 * malloc's alignment): its requested size, which realloc and free need,
 * and the free list's link while it is kept. A kept block's bytes are
 * poisoned under AddressSanitizer, so a use after free is still caught.
 */
#include "net/evmem.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define EVMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVMEM_ASAN 1
#endif
#endif
#ifdef EVMEM_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define HDR       16
#define MIN_SHIFT 9  /* 512: libevent's smallest chain */
#define MAX_SHIFT 15 /* 32 KB: a 16 KB read's chain */
#define NCLASS    (MAX_SHIFT - MIN_SHIFT + 1)

/* The header: size at 0, the list's link at 8 (a block's user bytes are
 * untouched while it is kept). */
static inline char **
link_of(char *user)
{
    return (char **)(void *)(user - HDR + 8);
}

struct tcache {
    char *head[NCLASS]; /* user pointers */
    size_t bytes;
    bool keyed; /* the thread-exit destructor knows it */
};

/* initial-exec: the library is linked into the executable, and the
 * default model for PIC code calls __tls_get_addr on every access */
static _Thread_local struct tcache cache
    __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;

/* The class of a size libevent asks for, or -1 (not kept). */
static inline int
class_of(size_t n)
{
    if (n < ((size_t)1 << MIN_SHIFT) || n > ((size_t)1 << MAX_SHIFT) ||
        (n & (n - 1)) != 0)
        return -1;
    return __builtin_ctzl(n) - MIN_SHIFT;
}

static void
drain(void *arg)
{
    struct tcache *tc = arg;

    for (int k = 0; k < NCLASS; k++) {
        while (tc->head[k] != NULL) {
            char *b = tc->head[k];
            tc->head[k] = *link_of(b);
            UNPOISON(b, (size_t)1 << (k + MIN_SHIFT));
            free(b - HDR);
        }
    }
    tc->bytes = 0;
    /* a free after this (another destructor) sets the key again, and
     * the thread's exit runs this once more */
    tc->keyed = false;
}

static void *
ev_malloc(size_t n)
{
    int k = class_of(n);
    char *p;

    if (k >= 0 && cache.head[k] != NULL) {
        char *b = cache.head[k];
        cache.head[k] = *link_of(b);
        cache.bytes -= n;
        UNPOISON(b, n);
        return b;
    }
    p = malloc(n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + HDR;
}

static void
ev_free(void *ptr)
{
    char *p;
    size_t n;
    int k;

    if (ptr == NULL)
        return;
    p = (char *)ptr - HDR;
    memcpy(&n, p, sizeof(n));
    k = class_of(n);
    if (k >= 0 && cache.bytes + n <= EVMEM_THREAD_MAX) {
        if (!cache.keyed) {
            cache.keyed = true;
            pthread_setspecific(cache_key, &cache);
        }
        *link_of(ptr) = cache.head[k];
        cache.head[k] = ptr;
        cache.bytes += n;
        POISON(ptr, n);
        return;
    }
    free(p);
}

static void *
ev_realloc(void *ptr, size_t n)
{
    char *p;
    size_t old;

    if (ptr == NULL)
        return ev_malloc(n);
    p = (char *)ptr - HDR;
    memcpy(&old, p, sizeof(old));
    if (class_of(old) >= 0 || class_of(n) >= 0) {
        /* a kept size on either side: through the lists */
        void *q = ev_malloc(n);
        if (q == NULL)
            return NULL;
        memcpy(q, ptr, old < n ? old : n);
        ev_free(ptr);
        return q;
    }
    p = realloc(p, n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + HDR;
}

void
evmem_install(void)
{
    pthread_key_create(&cache_key, drain);
    event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
}
