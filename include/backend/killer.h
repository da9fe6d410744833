/*
 * killer.h - KILL QUERY over a connection of its own, for statements past
 * backend.query_timeout. One thread with a queue: the workers never block
 * on it. The killed statement's connection stays usable (KILL QUERY ends
 * the statement, not the connection).
 */
#ifndef MYSHARD_BACKEND_KILLER_H
#define MYSHARD_BACKEND_KILLER_H

#include <stdint.h>

struct server;
struct cfg_backend;

/* Starts the thread (once per process; later calls do nothing). */
void killer_start(void);
/* Queues KILL QUERY thread_id on srv, logging in as be's user, password
 * and tls (copied). */
void killer_kill(const struct server *srv, uint32_t thread_id,
                 const struct cfg_backend *be);
/* Stops the thread; queued kills are dropped. */
void killer_stop(void);

#endif
