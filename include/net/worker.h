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
/* Writes a refusal to a client accepted only to be turned away (it is
 * closed after); why names the cause. */
typedef void (*worker_refuse_fn)(struct worker *w, int fd, const char *why);

struct worker {
    int id;
    char name[16]; /* "w0", used in log lines */
    pthread_t tid;
    struct event_base *base;         /* owned */
    struct evconnlistener *listener; /* owned; NULL until worker_listen */
    worker_accept_fn on_accept;
    worker_refuse_fn on_refuse; /* may be NULL: the socket is just closed */
    /* Out of file descriptors: a descriptor held in reserve is given up
     * to accept each waiting client and refuse it at once, rather than
     * leave it in the backlog, where the listener would wake the loop
     * again and again (an accept storm). */
    int spare_fd;               /* /dev/null, -1 while given up */
    struct event *resume_ev;    /* re-enables a listener paused for lack of
                                   one */
    unsigned long long refused; /* clients refused since the last log line */
    int64_t refused_log_ms;     /* when that line was written */
    void *ctx;                  /* the upper layer's per-worker state */
    struct event *inbox_ev;     /* wakes the loop for worker_call */
    int inbox_fd;               /* its eventfd */
    pthread_mutex_t inbox_lock;
    struct worker_msg *inbox; /* pending calls, LIFO, run in order */
    bool running;
    bool stop;               /* leave the loop after this turn */
    struct conn *flush_head; /* connections with output to write */
};

/* Creates the event_base. Returns false on failure. */
MUST_CHECK bool worker_init(struct worker *w, int id);
/* Opens a listener on host:port with SO_REUSEADDR|SO_REUSEPORT, accepting
 * into on_accept on this worker's thread; clients that cannot be taken for
 * lack of file descriptors go to on_refuse (may be NULL). Returns false
 * (errno set) when the address cannot be bound. */
MUST_CHECK bool worker_listen(struct worker *w, const char *host, uint16_t port,
                              worker_accept_fn on_accept,
                              worker_refuse_fn on_refuse);
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
