/*
 * conn.c - see conn.h. The output evbuffer's change callback puts the
 * connection on the worker's flush list, so no caller has to remember to
 * flush; the worker writes every queued output once per loop iteration.
 *
 * TLS runs on memory BIOs: records read from the socket go into the read
 * BIO and come out of SSL_read as plaintext into `in`; plaintext from `out`
 * goes through SSL_write into the write BIO, whose records wait in
 * tls_out for the socket. So OpenSSL never touches the socket, and neither
 * WANT_WRITE during a read nor a blocked socket can lose anything: the
 * records simply wait in tls_out.
 */
#include "net/conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/tls.h"
#include "net/worker.h"

#include <openssl/ssl.h>

#define READ_CHUNK 16384
/* Plaintext encrypted ahead of a socket that does not take it: beyond this
 * it stays in `out`, where the owner's flow control (wr_low) sees it. */
#define TLS_OUT_HIGH (64 * 1024)

static void tls_read(struct conn *c, bool socket_ready);
static void tls_feed(struct conn *c, const unsigned char *p, size_t n);
static void tls_flush(struct conn *c);
static void tls_handshake_step(struct conn *c);

static void in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                  void *arg);

static void
read_arm(struct conn *c)
{
    bool full = c->rd_high != 0 && evbuffer_get_length(c->in) >= c->rd_high;
    bool want = c->read_on && !c->dead && !c->connecting && c->fd >= 0 && !full;

    /* Only a consumer draining a full input makes reading wanted again
     * with no call here: the input is watched then only, so that its
     * every other change costs no callback. (libevent reads the next
     * entry before it calls one, so in_cb may remove itself.) */
    if (full && !c->dead && !c->in_watched) {
        evbuffer_add_cb(c->in, in_cb, c);
        c->in_watched = true;
    } else if ((!full || c->dead) && c->in_watched) {
        evbuffer_remove_cb(c->in, in_cb, c);
        c->in_watched = false;
    }
    if (want && !c->read_armed) {
        event_add(&c->rev, NULL);
        c->read_armed = true;
    } else if (!want && c->read_armed) {
        event_del(&c->rev);
        c->read_armed = false;
    }
}

static void
fail(struct conn *c, enum conn_event ev, int err)
{
    if (c->dead)
        return;
    c->dead = true;
    c->error = err;
    read_arm(c);
    if (c->write_armed) {
        event_del(&c->wev);
        c->write_armed = false;
    }
    if (c->on_event)
        c->on_event(c, c->arg, ev);
}

static void
queue_flush(struct conn *c)
{
    if (!c->flush_queued && !c->dead) {
        c->flush_queued = true;
        c->flush_next = c->w->flush_head;
        c->w->flush_head = c;
    }
}

static void
out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    (void)buf;
    if (info->n_added > 0) {
        queue_flush(c);
        if (evbuffer_get_length(c->out) > c->wr_low)
            c->above_low = true;
    }
}

static void
in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    (void)buf;
    /* The consumer drained below the high-water mark: read again. */
    if (info->n_deleted > 0 && !c->read_armed) {
        read_arm(c);
        /* Records already received wait in the read BIO: no socket event
         * will announce them. */
        if (c->ssl != NULL && c->read_armed && !c->tls_handshaking)
            event_active(&c->rev, EV_READ, 0);
    }
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer_iovec v[2];
    int nv;
    ssize_t n;

    (void)what;
    if (c->ssl != NULL) {
        tls_read(c, true);
        return;
    }
    nv = evbuffer_reserve_space(c->in, READ_CHUNK, v, 2);
    if (nv <= 0)
        return;
    n = readv(fd, (struct iovec *)v, nv);
    if (n <= 0) {
        v[0].iov_len = 0;
        evbuffer_commit_space(c->in, v, 1);
        if (n == 0)
            fail(c, CONN_EOF, 0);
        else if (errno != EAGAIN && errno != EINTR)
            fail(c, CONN_ERROR, errno);
        return;
    }
    c->bytes_in += (unsigned long long)n;
    if ((size_t)n <= v[0].iov_len) {
        v[0].iov_len = (size_t)n;
        nv = 1;
    } else {
        v[1].iov_len = (size_t)n - v[0].iov_len;
    }
    evbuffer_commit_space(c->in, v, nv);
    read_arm(c);
    if (c->on_read)
        c->on_read(c, c->arg);
}

/* After a flush: wait for the socket while output is left, else stop
 * waiting and tell the owner its output drained. */
static void
write_settle(struct conn *c, bool pending)
{
    if (pending) {
        if (!c->write_armed) {
            event_add(&c->wev, NULL);
            c->write_armed = true;
        }
        return;
    }
    if (c->write_armed) {
        event_del(&c->wev);
        c->write_armed = false;
    }
    if (c->above_low && c->on_drain) {
        c->above_low = false;
        c->on_drain(c, c->arg);
    }
}

void
conn_hold(struct conn *c, bool on)
{
    c->held = on;
    if (!on && evbuffer_get_length(c->out) > 0)
        queue_flush(c);
}

void
conn_flush(struct conn *c)
{
    if (c->dead || c->connecting || c->fd < 0 || c->held)
        return;
    if (c->ssl != NULL) {
        tls_flush(c);
        return;
    }
    while (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n > 0)
            c->bytes_out += (unsigned long long)n;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            fail(c, CONN_ERROR, errno);
            return;
        }
        if (n == 0)
            break;
    }
    write_settle(c, evbuffer_get_length(c->out) > 0);
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)what;
    c->write_armed = false; /* not persistent */
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        c->connecting = false;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err != 0) {
            fail(c, CONN_ERROR, err);
            return;
        }
        read_arm(c);
        if (c->on_event)
            c->on_event(c, c->arg, CONN_CONNECTED);
        if (!c->dead)
            queue_flush(c);
        return;
    }
    if (c->ssl != NULL && c->tls_handshaking) {
        tls_handshake_step(c);
        return;
    }
    conn_flush(c);
    if (!c->dead && evbuffer_get_length(c->out) <= c->wr_low && c->above_low &&
        c->on_drain) {
        c->above_low = false;
        c->on_drain(c, c->arg);
    }
}

static void
assign_events(struct conn *c)
{
    struct event_base *base = c->w->base;

    event_assign(&c->rev, base, c->fd, EV_READ | EV_PERSIST, read_cb, c);
    event_assign(&c->wev, base, c->fd, EV_WRITE, write_cb, c);
}

struct conn *
conn_new(struct worker *w, int fd)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->w = w;
    c->fd = fd;
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    evbuffer_add_cb(c->out, out_cb, c);
    if (fd >= 0) {
        evutil_make_socket_nonblocking(fd);
        assign_events(c);
    }
    return c;
}

bool
conn_connect(struct conn *c, const struct sockaddr *sa, int salen)
{
    int one = 1;

    c->fd =
        socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    assign_events(c);
    c->connecting = true;
    if (connect(c->fd, sa, (socklen_t)salen) < 0 && errno != EINPROGRESS) {
        c->error = errno;
        /* Report from the loop, like an asynchronous failure. */
        event_active(&c->wev, EV_WRITE, 0);
        c->write_armed = true;
        return true;
    }
    event_add(&c->wev, NULL);
    c->write_armed = true;
    return true;
}

void
conn_set_cbs(struct conn *c, conn_fn on_read, conn_fn on_drain,
             conn_event_fn on_event, void *arg)
{
    c->on_read = on_read;
    c->on_drain = on_drain;
    c->on_event = on_event;
    c->arg = arg;
}

void
conn_read_enable(struct conn *c, bool on)
{
    bool was = c->read_armed;

    c->read_on = on;
    read_arm(c);
    if (c->ssl != NULL && !was && c->read_armed && !c->tls_handshaking)
        event_active(&c->rev, EV_READ, 0); /* records may be waiting */
}

void
conn_set_read_limit(struct conn *c, size_t rd_high)
{
    if (c->rd_high == rd_high)
        return;
    c->rd_high = rd_high;
    read_arm(c); /* an event_add/del only when the answer changes */
}

static void
flush_unlink(struct conn *c)
{
    struct conn **pp = &c->w->flush_head;

    while (*pp && *pp != c)
        pp = &(*pp)->flush_next;
    if (*pp)
        *pp = c->flush_next;
    c->flush_queued = false;
    c->flush_next = NULL;
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    evbuffer_free(c->in);
    evbuffer_free(c->out);
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        evbuffer_free(c->tls_out);
    }
    free(c->tls_err);
    free(c);
}

void
conn_free(struct conn *c)
{
    c->dead = true;
    c->on_read = NULL;
    c->on_drain = NULL;
    c->on_event = NULL;
    if (c->fd >= 0) {
        if (c->read_armed)
            event_del(&c->rev);
        event_del(&c->wev);
        close(c->fd);
        c->fd = -1;
    }
    c->read_armed = c->write_armed = false;
    evbuffer_remove_cb(c->out, out_cb, c);
    if (c->in_watched)
        evbuffer_remove_cb(c->in, in_cb, c);
    c->in_watched = false;
    if (c->flush_queued) /* the flush list must never see freed memory */
        flush_unlink(c);
    if (event_base_once(c->w->base, -1, EV_TIMEOUT, free_cb, c, NULL) < 0)
        free_cb(-1, 0, c);
}

void
conn_flush_all(struct worker *w)
{
    while (w->flush_head) {
        struct conn *c = w->flush_head;
        w->flush_head = c->flush_next;
        c->flush_queued = false;
        c->flush_next = NULL;
        conn_flush(c);
    }
}

void
conn_detach(struct conn *c)
{
    conn_flush(c);
    if (c->flush_queued)
        flush_unlink(c);
    if (c->fd >= 0) {
        if (c->read_armed)
            event_del(&c->rev);
        if (c->write_armed)
            event_del(&c->wev);
    }
    c->read_armed = c->write_armed = false;
    c->w = NULL;
}

void
conn_attach(struct conn *c, struct worker *w)
{
    c->w = w;
    if (c->fd < 0)
        return;
    assign_events(c);
    read_arm(c);
    if (evbuffer_get_length(c->out) > 0 ||
        (c->ssl != NULL && evbuffer_get_length(c->tls_out) > 0))
        queue_flush(c);
}

/* --- TLS ---------------------------------------------------------------- */

static void
tls_fail(struct conn *c, const char *what)
{
    char why[200];

    tls_explain(c->ssl, why, sizeof(why));
    free(c->tls_err);
    c->tls_err = xmalloc(strlen(what) + strlen(why) + 3);
    sprintf(c->tls_err, "%s: %s", what, why);
    fail(c, CONN_ERROR, EPROTO);
}

/* Moves the records SSL produced into tls_out. */
static void
tls_take_output(struct conn *c)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    char *p;
    long n = BIO_get_mem_data(wbio, &p);

    if (n > 0) {
        evbuffer_add(c->tls_out, p, (size_t)n);
        (void)BIO_reset(wbio);
    }
}

/* Writes tls_out to the socket; the write event waits for the rest. */
static void
tls_send(struct conn *c)
{
    while (evbuffer_get_length(c->tls_out) > 0) {
        int n = evbuffer_write(c->tls_out, c->fd);
        if (n > 0)
            c->bytes_out += (unsigned long long)n;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            fail(c, CONN_ERROR, errno);
            return;
        }
        if (n == 0)
            break;
    }
    if (evbuffer_get_length(c->tls_out) > 0 && !c->write_armed) {
        event_add(&c->wev, NULL);
        c->write_armed = true;
    }
}

/* Received bytes into the read BIO. Until the client's first TLS record, a
 * server drops whatever precedes it: plaintext sent after the SSLRequest
 * is never read, neither as MySQL packets nor as TLS. A client may send
 * its ClientHello right behind the request, so the two can arrive in one
 * read with injected bytes between them. Injected bytes that look like a
 * ClientHello go to OpenSSL and break the handshake: it fails closed. */
static void
tls_feed(struct conn *c, const unsigned char *p, size_t n)
{
    if (c->tls_seek) {
        size_t off = tls_hello_offset(p, n);
        c->tls_discarded += off;
        if (off == n)
            return;
        c->tls_seek = false;
        p += off;
        n -= off;
    }
    BIO_write(SSL_get_rbio(c->ssl), p, (int)n);
}

static void
tls_handshake_step(struct conn *c)
{
    int r, e;
    conn_fn done;

    if (c->dead)
        return;
    r = SSL_do_handshake(c->ssl);
    tls_take_output(c);
    if (r != 1) {
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            tls_send(c);
            return;
        }
        tls_send(c); /* the alert, if the socket takes it */
        tls_fail(c, "TLS handshake failed");
        return;
    }
    c->tls_handshaking = false;
    tls_send(c);
    if (c->dead)
        return;
    done = c->on_tls_done;
    c->on_tls_done = NULL;
    if (done)
        done(c, c->arg);
    if (c->dead)
        return;
    /* Plaintext queued meanwhile, and records that came with the last
     * handshake message. */
    if (evbuffer_get_length(c->out) > 0)
        queue_flush(c);
    tls_read(c, false);
}

/* socket_ready: a read event fired (else only the BIO is drained). */
static void
tls_read(struct conn *c, bool socket_ready)
{
    size_t before = evbuffer_get_length(c->in);
    struct evbuffer_iovec v;

    if (socket_ready) {
        char buf[READ_CHUNK];
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n == 0) {
            fail(c, CONN_EOF, 0);
            return;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            fail(c, CONN_ERROR, errno);
            return;
        }
        if (n > 0) {
            c->bytes_in += (unsigned long long)n;
            tls_feed(c, (const unsigned char *)buf, (size_t)n);
        }
    }
    if (c->tls_handshaking) {
        tls_handshake_step(c);
        return;
    }
    /* Drain every record received, up to the high-water mark. */
    while (!c->dead &&
           (c->rd_high == 0 || evbuffer_get_length(c->in) < c->rd_high)) {
        int r, e;
        if (evbuffer_reserve_space(c->in, READ_CHUNK, &v, 1) != 1)
            break;
        r = SSL_read(c->ssl, v.iov_base, (int)v.iov_len);
        if (r > 0) {
            v.iov_len = (size_t)r;
            evbuffer_commit_space(c->in, &v, 1);
            continue;
        }
        v.iov_len = 0;
        evbuffer_commit_space(c->in, &v, 1);
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        tls_take_output(c);
        tls_send(c);
        if (e == SSL_ERROR_ZERO_RETURN) /* close_notify */
            fail(c, CONN_EOF, 0);
        else
            tls_fail(c, "TLS read failed");
        return;
    }
    if (c->dead)
        return;
    /* Reading may have produced records (a key update's answer). */
    tls_take_output(c);
    if (evbuffer_get_length(c->tls_out) > 0)
        tls_send(c);
    if (c->dead)
        return;
    read_arm(c);
    if (evbuffer_get_length(c->in) > before && c->on_read)
        c->on_read(c, c->arg);
}

static void
tls_flush(struct conn *c)
{
    tls_send(c);
    if (c->dead || c->tls_handshaking)
        return;
    while (evbuffer_get_length(c->out) > 0 &&
           evbuffer_get_length(c->tls_out) < TLS_OUT_HIGH) {
        /* One full record at a time; pulling up copies only what sits in
         * several chunks, and the encryption copies it anyway. */
        size_t n = MIN(evbuffer_get_length(c->out), (size_t)READ_CHUNK);
        unsigned char *p = evbuffer_pullup(c->out, (ev_ssize_t)n);
        int r = SSL_write(c->ssl, p, (int)n);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            tls_fail(c, "TLS write failed");
            return;
        }
        evbuffer_drain(c->out, (size_t)r);
        tls_take_output(c);
        if (evbuffer_get_length(c->tls_out) >= TLS_OUT_HIGH)
            tls_send(c);
        if (c->dead)
            return;
    }
    tls_send(c);
    if (c->dead)
        return;
    write_settle(c, evbuffer_get_length(c->out) > 0 ||
                        evbuffer_get_length(c->tls_out) > 0);
}

bool
conn_tls_start(struct conn *c, SSL_CTX *ctx, bool server, const char *peer,
               conn_fn on_done)
{
    size_t left;

    if (c->ssl != NULL || c->dead || c->fd < 0 || ctx == NULL)
        return false;
    conn_flush(c); /* our SSLRequest goes out in plaintext */
    if (c->dead || evbuffer_get_length(c->out) > 0)
        return false;
    c->ssl = tls_ssl_new(ctx, server, peer);
    if (c->ssl == NULL)
        return false;
    c->tls_out = evbuffer_new();
    c->tls_seek = server;
    left = evbuffer_get_length(c->in);
    if (left > 0) {
        if (server)
            tls_feed(c, evbuffer_pullup(c->in, -1), left);
        else
            c->tls_discarded = left;
        evbuffer_drain(c->in, left);
    }
    c->tls_handshaking = true;
    c->on_tls_done = on_done;
    /* The first step runs from the loop, never inside the caller. */
    if (!c->write_armed) {
        event_active(&c->wev, EV_WRITE, 0);
        c->write_armed = true;
    }
    return true;
}

bool
conn_is_tls(const struct conn *c)
{
    return c->ssl != NULL && !c->tls_handshaking;
}

const char *
conn_tls_error(const struct conn *c)
{
    return c->tls_err ? c->tls_err : "";
}

void
conn_tls_describe(const struct conn *c, char *buf, size_t len)
{
    if (!conn_is_tls(c)) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len, "%s %s", SSL_get_version(c->ssl),
             SSL_get_cipher_name(c->ssl));
}
