/*
 * worker.h - one event-loop thread: its own event_base and its own
 * SO_REUSEPORT listener, so the kernel spreads accepted clients over the
 * workers and the hot path never takes a lock. Everything a client touches
 * (its connection, the backend connections serving it, their pools) lives
 * on one worker.
 */
#ifndef MYSHARD_NET_WORKER_H
#define MYSHARD_NET_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "base/util.h"

struct event_base;
struct evconnlistener;
struct event;
struct worker;
struct conn;

typedef void (*worker_accept_fn)(struct worker *w, int fd,
                                 const struct sockaddr *addr, int addrlen);
typedef void (*worker_call_fn)(struct worker *w, void *arg);

struct worker {
    int id;
    char name[16]; /* "w0", used in log lines */
    pthread_t tid;
    struct event_base *base;         /* owned */
    struct evconnlistener *listener; /* owned; NULL until worker_listen */
    worker_accept_fn on_accept;
    void *ctx;              /* the upper layer's per-worker state */
    struct event *inbox_ev; /* wakes the loop for worker_call */
    pthread_mutex_t inbox_lock;
    struct worker_msg *inbox; /* pending calls, LIFO, run in order */
    bool running;
    bool stop;               /* leave the loop after this turn */
    struct conn *flush_head; /* connections with output to write */
};

/* Creates the event_base. Returns false on failure. */
MUST_CHECK bool worker_init(struct worker *w, int id);
/* Opens a listener on host:port with SO_REUSEADDR|SO_REUSEPORT, accepting
 * into on_accept on this worker's thread. Returns false (errno set) when the
 * address cannot be bound. */
MUST_CHECK bool worker_listen(struct worker *w, const char *host, uint16_t port,
                              worker_accept_fn on_accept);
/* Stops accepting (closes the listener); connections stay. */
void worker_unlisten(struct worker *w);
/* Starts the thread running the loop until worker_stop. */
MUST_CHECK bool worker_start(struct worker *w);
/* Runs fn(w, arg) on the worker's thread soon. Thread-safe. */
void worker_call(struct worker *w, worker_call_fn fn, void *arg);
/* Breaks the loop and joins the thread. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);

/* True when host:port can be bound by this process alone: a probe bind
 * without SO_REUSEPORT, so another process already listening there (even
 * with SO_REUSEPORT) makes it fail. errno is set on failure. */
bool net_port_free(const char *host, uint16_t port);

/* Resolves host:port into a sockaddr; false when it cannot. */
bool net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
                 int *len);

#endif
