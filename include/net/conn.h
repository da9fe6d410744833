/*
 * conn.h - a non-blocking socket with an input and an output evbuffer,
 * built for the fewest system calls per statement:
 *  - the read event stays registered (no epoll_ctl per read), and each
 *    readable event is one read() into reserved evbuffer space (no FIONREAD);
 *  - writes are not issued as data is queued: every connection with pending
 *    output is flushed once at the end of the worker's loop iteration, with
 *    one writev(), and the write event is registered only while the kernel
 *    refuses more.
 * TLS (conn_tls_start): the socket carries records, in and out still hold
 *  plaintext, so every layer above is unchanged. A plaintext connection
 *  pays one pointer test per read and per flush.
 * Flow control: reading stops while the input holds rd_high bytes or more,
 *  and resumes by itself when the consumer drains it; on_drain runs when the
 *  output falls to wr_low after having been above it.
 */
#ifndef MYSHARD_NET_CONN_H
#define MYSHARD_NET_CONN_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/util.h"

struct evbuffer;
struct worker;
struct conn;
struct ssl_st;
struct ssl_ctx_st;

enum conn_event {
    CONN_CONNECTED = 1, /* an outgoing connect completed */
    CONN_EOF,           /* the peer closed */
    CONN_ERROR,         /* a socket error (errno-style text via conn_error) */
};

typedef void (*conn_fn)(struct conn *c, void *arg);
typedef void (*conn_event_fn)(struct conn *c, void *arg, enum conn_event ev);

struct conn {
    struct worker *w;     /* (ref) owning worker */
    int fd;               /* owned, closed by conn_free */
    struct event rev;     /* persistent read event */
    struct event wev;     /* write / connect-completion event */
    struct evbuffer *in;  /* owned */
    struct evbuffer *out; /* owned */
    conn_fn on_read;      /* new input */
    conn_fn on_drain;     /* output fell to wr_low */
    conn_event_fn on_event;
    void *arg;
    size_t rd_high; /* stop reading at this many buffered bytes; 0 = no limit */
    size_t wr_low;  /* on_drain threshold */
    int error;      /* errno of the last failure */
    unsigned long long bytes_in, bytes_out; /* moved through the socket */
    bool read_on;                           /* the owner wants input */
    bool read_armed;                        /* rev is registered */
    bool write_armed;                       /* wev is registered */
    bool connecting;
    bool above_low;    /* output went above wr_low since last drain */
    bool dead;         /* EOF/error seen or closing: no more I/O */
    bool flush_queued; /* on the worker's flush list */
    bool in_watched;   /* in_cb is on `in`: reading stopped at rd_high */
    bool held;         /* output kept back (conn_hold) */
    struct conn *flush_next;

    /* TLS, after conn_tls_start; all NULL/false on a plaintext socket. */
    struct ssl_st *ssl;       /* owned; on memory BIOs */
    struct evbuffer *tls_out; /* owned; records not yet taken by the socket */
    conn_fn on_tls_done;      /* the handshake completed */
    char *tls_err;            /* owned; why TLS failed (conn_tls_error) */
    size_t tls_discarded;     /* plaintext bytes dropped at the switch */
    bool tls_handshaking;
    bool tls_seek; /* server side: no TLS record seen yet (tls_feed) */
};

/* Wraps an accepted (or not yet connected, fd < 0) socket. */
struct conn *conn_new(struct worker *w, int fd);
/* Starts a non-blocking connect; CONN_CONNECTED or CONN_ERROR follow. */
MUST_CHECK bool conn_connect(struct conn *c, const struct sockaddr *sa,
                             int salen);
void conn_set_cbs(struct conn *c, conn_fn on_read, conn_fn on_drain,
                  conn_event_fn on_event, void *arg);
void conn_read_enable(struct conn *c, bool on);
/* Sets rd_high (0 = no limit) and stops or resumes reading to match. */
void conn_set_read_limit(struct conn *c, size_t rd_high);
/* Writes pending output now (normally the worker does it after each loop
 * iteration). */
void conn_flush(struct conn *c);
/* on: output is kept in c->out, not written, until conn_hold(c, false)
 * (a write's OK waits for the other instances, backend/cluster.h). */
void conn_hold(struct conn *c, bool on);
/* Stops all I/O and callbacks; the memory is freed at the end of the
 * worker's loop iteration, so callers up the stack stay valid. */
void conn_free(struct conn *c);
/* Called by the worker after each loop iteration. */
void conn_flush_all(struct worker *w);
/* Moving a connection to another worker: conn_detach on the owning thread
 * (flushes what it can, unregisters its events), then conn_attach on the new
 * owner's thread (registers them on its loop). In between nobody touches it. */
void conn_detach(struct conn *c);
void conn_attach(struct conn *c, struct worker *w);

/*
 * Switches c to TLS after the plaintext bytes exchanged so far: server
 * side (towards a client, after its SSLRequest) or client side (towards a
 * server, after ours; peer is the name or IP its certificate must carry
 * when ctx verifies). Pending plaintext output is written first. What the
 * peer already sent past the switch (c->in) is never delivered as
 * plaintext: a server drops everything before the client's first TLS
 * record (a ClientHello may follow the request in the same read) and
 * counts it in c->tls_discarded; a client drops all of it. The handshake then
 * runs on c's events; on_done runs when it completes, after which in/out
 * carry plaintext as before. A failed handshake is a CONN_ERROR event with
 * conn_tls_error() saying why. false (nothing changed) when TLS cannot
 * start.
 */
MUST_CHECK bool conn_tls_start(struct conn *c, struct ssl_ctx_st *ctx,
                               bool server, const char *peer, conn_fn on_done);
/* The connection runs TLS and its handshake completed. */
bool conn_is_tls(const struct conn *c);
/* Why TLS failed on c, or "" */
const char *conn_tls_error(const struct conn *c);
/* The negotiated cipher and version ("TLSv1.3 TLS_AES_256_GCM_SHA384"),
 * "" on a plaintext connection. */
void conn_tls_describe(const struct conn *c, char *buf, size_t len);

#endif
