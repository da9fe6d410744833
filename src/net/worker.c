/*
 * worker.c - event-loop threads with per-thread SO_REUSEPORT listeners and
 * a small inbox for calls posted from other threads (reload, admin, stop).
 * Only its own thread touches a worker's event_base (other threads go
 * through the inbox and its eventfd), so the base runs without libevent's
 * locks, which cost two mutex operations per callback.
 */
#include "net/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "net/conn.h"

struct worker_msg {
    worker_call_fn fn;
    void *arg;
    struct worker_msg *next;
};

static void
inbox_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct worker_msg *m, *rev = NULL;
    uint64_t n;

    (void)what;
    /* drained before the list is taken: a call posted after the take
     * writes again (worker_call) */
    while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&w->inbox_lock);
    m = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->inbox_lock);
    while (m) { /* restore posting order */
        struct worker_msg *next = m->next;
        m->next = rev;
        rev = m;
        m = next;
    }
    while (rev) {
        struct worker_msg *next = rev->next;
        rev->fn(w, rev->arg);
        free(rev);
        rev = next;
    }
}

bool
worker_init(struct worker *w, int id)
{
    static bool threads_ready;

    if (!threads_ready) {
        if (evthread_use_pthreads() < 0)
            return false;
        threads_ready = true;
    }
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->spare_fd = -1;
    snprintf(w->name, sizeof(w->name), "w%d", id);
    w->inbox_fd = -1;
    {
        struct event_config *ec = event_config_new();
        if (ec == NULL)
            return false;
        event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    if (w->base == NULL)
        return false;
    pthread_mutex_init(&w->inbox_lock, NULL);
    w->inbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->inbox_fd < 0)
        return false;
    w->inbox_ev =
        event_new(w->base, w->inbox_fd, EV_READ | EV_PERSIST, inbox_cb, w);
    return w->inbox_ev != NULL && event_add(w->inbox_ev, NULL) == 0;
}

bool
net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
            int *len)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portbuf[8];

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    snprintf(portbuf, sizeof(portbuf), "%u", port);
    if (getaddrinfo(host, portbuf, &hints, &res) != 0 || res == NULL)
        return false;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (int)res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

bool
net_port_free(const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    int len, fd, one = 1, err;
    bool ok;

    if (!net_resolve(host, port, &ss, &len)) {
        errno = EADDRNOTAVAIL;
        return false;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&ss, (socklen_t)len) == 0;
    err = errno;
    close(fd);
    errno = err;
    return ok;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct worker *w = arg;
    int one = 1;

    (void)l;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    w->on_accept(w, fd, sa, salen);
}

/* The listener goes back on after a pause for lack of a descriptor. */
static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd;
    (void)what;
    if (w->spare_fd < 0)
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (w->listener)
        evconnlistener_enable(w->listener);
}

/* Out of descriptors: each waiting client is accepted on the reserve
 * descriptor, refused and closed, so the backlog empties and clients hear
 * why instead of hanging. Without a reserve, the listener pauses. */
static void
shed(struct worker *w, struct evconnlistener *l, const char *why)
{
    int lfd = (int)evconnlistener_get_fd(l);

    if (w->spare_fd >= 0) {
        close(w->spare_fd);
        w->spare_fd = -1;
        for (int i = 0; i < 256; i++) {
            int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                break;
            if (w->on_refuse)
                w->on_refuse(w, fd, why);
            close(fd);
            w->refused++;
        }
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (w->spare_fd < 0 && w->resume_ev != NULL) {
        struct timeval tv = {0, 100 * 1000};
        evconnlistener_disable(l);
        evtimer_add(w->resume_ev, &tv);
    }
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct worker *w = arg;
    int err = EVUTIL_SOCKET_ERROR();
    int64_t now = clock_ms();
    bool out = err == EMFILE || err == ENFILE;

    if (out)
        shed(w, l,
             err == EMFILE ? "the proxy's open-files limit"
                           : "the system's open-files limit");
    /* One line a second at most: the condition can last. */
    if (now - w->refused_log_ms < 1000)
        return;
    w->refused_log_ms = now;
    if (out)
        log_warn("accept failed worker=%s error=\"%s\" refused=%llu "
                 "hint=\"raise the open-files limit (ulimit -n, systemd "
                 "LimitNOFILE=) or lower max_client_connections\"",
                 w->name, evutil_socket_error_to_string(err), w->refused);
    else
        log_warn("accept failed worker=%s error=\"%s\"", w->name,
                 evutil_socket_error_to_string(err));
    w->refused = 0;
}

/* The kernel caps it at net.core.somaxconn: as deep as it allows, so a
 * crowd connecting at once waits in the backlog, not in SYN retries. */
#define LISTEN_BACKLOG 65535

bool
worker_listen(struct worker *w, const char *host, uint16_t port,
              worker_accept_fn on_accept, worker_refuse_fn on_refuse)
{
    struct sockaddr_storage ss;
    int len;
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                     LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC;

    if (!net_resolve(host, port, &ss, &len)) {
        errno = EADDRNOTAVAIL;
        return false;
    }
    w->on_accept = on_accept;
    w->on_refuse = on_refuse;
    if (w->spare_fd < 0)
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (w->resume_ev == NULL)
        w->resume_ev = evtimer_new(w->base, resume_cb, w);
    w->listener =
        evconnlistener_new_bind(w->base, accept_cb, w, flags, LISTEN_BACKLOG,
                                (struct sockaddr *)&ss, len);
    if (w->listener == NULL)
        return false;
    evconnlistener_set_error_cb(w->listener, accept_error_cb);
    return true;
}

void
worker_unlisten(struct worker *w)
{
    if (w->listener) {
        evconnlistener_free(w->listener);
        w->listener = NULL;
    }
    if (w->resume_ev != NULL) {
        event_free(w->resume_ev);
        w->resume_ev = NULL;
    }
    if (w->spare_fd >= 0) {
        close(w->spare_fd);
        w->spare_fd = -1;
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    log_set_thread_name(w->name);
    /* One turn of the loop, then write everything the turn queued: each
     * connection gets at most one write per turn. */
    while (!w->stop) {
        if (event_base_loop(w->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY) < 0)
            break;
        conn_flush_all(w);
    }
    return NULL;
}

bool
worker_start(struct worker *w)
{
    w->running = true;
    if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
        w->running = false;
        return false;
    }
    return true;
}

void
worker_call(struct worker *w, worker_call_fn fn, void *arg)
{
    struct worker_msg *m = xmalloc(sizeof(*m));
    uint64_t one = 1;
    bool wake;

    m->fn = fn;
    m->arg = arg;
    pthread_mutex_lock(&w->inbox_lock);
    wake = w->inbox == NULL; /* else a wake-up is on its way already */
    m->next = w->inbox;
    w->inbox = m;
    pthread_mutex_unlock(&w->inbox_lock);
    if (wake)
        while (write(w->inbox_fd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
}

static void
stop_cb(struct worker *w, void *arg)
{
    (void)arg;
    w->stop = true;
    event_base_loopbreak(w->base);
}

void
worker_stop(struct worker *w)
{
    if (!w->running)
        return;
    worker_call(w, stop_cb, NULL);
    pthread_join(w->tid, NULL);
    w->running = false;
}

void
worker_free(struct worker *w)
{
    struct worker_msg *m = w->inbox;

    worker_unlisten(w);
    while (m) {
        struct worker_msg *next = m->next;
        free(m);
        m = next;
    }
    w->inbox = NULL;
    if (w->inbox_ev)
        event_free(w->inbox_ev);
    if (w->inbox_fd >= 0)
        close(w->inbox_fd);
    w->inbox_fd = -1;
    if (w->base)
        event_base_free(w->base);
    pthread_mutex_destroy(&w->inbox_lock);
    w->base = NULL;
}
