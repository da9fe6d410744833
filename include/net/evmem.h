/*
 * evmem.h - libevent's allocator: per-thread free lists for its buffer
 * chains.
 *
 * An evbuffer frees a chain as soon as it is drained and allocates one
 * (a power of two, 32 KB for a socket read) for the next bytes, so every
 * statement takes and returns a few large blocks, which glibc serves from
 * its bins at a cost of some hundreds of instructions each. Blocks of
 * those sizes are kept on a free list of the thread that freed them,
 * bounded (EVMEM_THREAD_MAX bytes per thread), and returned to malloc
 * when the thread ends.
 */
#ifndef MYSHARD_NET_EVMEM_H
#define MYSHARD_NET_EVMEM_H

#define EVMEM_THREAD_MAX (2 * 1024 * 1024)

/* Installs the allocator: before any other libevent call. */
void evmem_install(void);

#endif
