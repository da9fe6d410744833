/*
 * conn.c - see conn.h. The output evbuffer's change callback puts the
 * connection on the worker's flush list, so no caller has to remember to
 * flush; the worker writes every queued output once per loop iteration.
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

#include "net/worker.h"

#define READ_CHUNK 16384

static void
read_arm(struct conn *c)
{
    bool want = c->read_on && !c->dead && !c->connecting && c->fd >= 0 &&
                (c->rd_high == 0 || evbuffer_get_length(c->in) < c->rd_high);

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
    if (info->n_deleted > 0 && !c->read_armed)
        read_arm(c);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer_iovec v[2];
    int nv;
    ssize_t n;

    (void)what;
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

void
conn_flush(struct conn *c)
{
    if (c->dead || c->connecting || c->fd < 0)
        return;
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
    if (evbuffer_get_length(c->out) > 0) {
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
    evbuffer_add_cb(c->in, in_cb, c);
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
    c->read_on = on;
    read_arm(c);
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
    evbuffer_remove_cb(c->in, in_cb, c);
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
    if (evbuffer_get_length(c->out) > 0)
        queue_flush(c);
}
