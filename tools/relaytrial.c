/* tools/relaytrial.c - a minimal single-thread TCP relay with two engines,
 * to measure what io_uring buys over epoll for a proxy's client side
 * (README, "io_uring on the client side: a trial").
 *
 * Each accepted client gets its own connection to one backend; bytes pass
 * through unchanged (the MySQL handshake included), so sysbench can run
 * through it with the backend's own credentials.
 *
 *   --engine epoll  nonblocking sockets, level-triggered epoll_wait, one
 *                   read() per readable socket and a write() of what it read
 *                   to the peer: what a libevent relay does per wake-up
 *   --engine uring  one io_uring: a multishot recv on every socket into a
 *                   ring of provided buffers, each received buffer sent to
 *                   the peer from the same ring, one io_uring_submit_and_wait
 *                   per loop turn, so every client's reads and writes of a
 *                   turn share one system call
 *
 * On SIGINT or SIGTERM it prints its loop turns, events and own system calls
 * per turn to stderr and exits.
 *
 * Usage: relaytrial --engine epoll|uring --listen PORT --backend [HOST:]PORT
 *                   [--recv multishot|oneshot] [--taskrun defer|coop|signal]
 *                   [--bufs N] [--buf-size BYTES]
 *
 * --taskrun picks when the kernel runs the ring's completion work: defer
 * (SINGLE_ISSUER|DEFER_TASKRUN, the default: only inside the wait), coop
 * (COOP_TASKRUN: at the next system call) or signal (neither: it interrupts
 * the thread as soon as data arrives).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static struct sockaddr_in backend_addr;
static unsigned long st_turns, st_events, st_syscalls, st_conns, st_bytes;

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
die(const char *what)
{
    fprintf(stderr, "relaytrial: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
set_nodelay_nonblock(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int
listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket");
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    if (listen(fd, 4096) < 0)
        die("listen");
    return fd;
}

/* A blocking connect: on loopback it completes at once, and it costs the
 * same in both engines (the trial measures the relayed bytes, not setup). */
static int
backend_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&backend_addr, sizeof backend_addr) <
        0) {
        close(fd);
        return -1;
    }
    set_nodelay_nonblock(fd);
    return fd;
}

/* ------------------------------------------------------------------ epoll */

struct ehalf {
    int fd;
    int idx; /* 0 client, 1 backend */
    struct econn *c;
    char *out; /* what a short write() left for this fd */
    size_t out_len, out_off;
};

struct econn {
    struct ehalf h[2];
    int closed;
    struct econn *next_dead;
};

static int ep_fd;
static struct econn *ep_dead;

static void
ep_mod(int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    st_syscalls++;
    epoll_ctl(ep_fd, EPOLL_CTL_MOD, fd, &ev);
}

static void
ep_close(struct econn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    for (int i = 0; i < 2; i++) {
        close(c->h[i].fd);
        free(c->h[i].out);
    }
    c->next_dead = ep_dead;
    ep_dead = c;
}

static void
ep_accept(int lfd)
{
    for (;;) {
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (cfd < 0)
            return;
        set_nodelay_nonblock(cfd);
        int bfd = backend_connect();
        if (bfd < 0) {
            close(cfd);
            continue;
        }
        struct econn *c = calloc(1, sizeof *c);
        if (!c)
            die("calloc");
        c->h[0] = (struct ehalf){.fd = cfd, .idx = 0, .c = c};
        c->h[1] = (struct ehalf){.fd = bfd, .idx = 1, .c = c};
        for (int i = 0; i < 2; i++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->h[i]};
            epoll_ctl(ep_fd, EPOLL_CTL_ADD, c->h[i].fd, &ev);
        }
        st_conns++;
    }
}

/* The peer's output drained: watch it for input only, and read its source
 * again. */
static void
ep_flush(struct ehalf *dst)
{
    struct ehalf *src = &dst->c->h[!dst->idx];
    ssize_t w =
        write(dst->fd, dst->out + dst->out_off, dst->out_len - dst->out_off);
    st_syscalls++;
    if (w < 0 && errno != EAGAIN) {
        ep_close(dst->c);
        return;
    }
    if (w > 0)
        dst->out_off += (size_t)w;
    if (dst->out_off < dst->out_len)
        return;
    free(dst->out);
    dst->out = NULL;
    ep_mod(dst->fd, EPOLLIN, dst);
    ep_mod(src->fd, EPOLLIN, src);
}

static void
ep_relay(struct ehalf *src, char *buf, size_t bufsz)
{
    struct ehalf *dst = &src->c->h[!src->idx];
    ssize_t n = read(src->fd, buf, bufsz);
    st_syscalls++;
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        ep_close(src->c);
        return;
    }
    st_bytes += (size_t)n;
    ssize_t w = write(dst->fd, buf, (size_t)n);
    st_syscalls++;
    if (w < 0 && errno != EAGAIN) {
        ep_close(src->c);
        return;
    }
    if (w < 0)
        w = 0;
    if (w == n)
        return;
    /* Short write: keep the rest, stop reading the source until it drains
     * (what a bufferevent's high watermark does). */
    dst->out_len = (size_t)(n - w);
    dst->out_off = 0;
    dst->out = malloc(dst->out_len);
    if (!dst->out)
        die("malloc");
    memcpy(dst->out, buf + w, dst->out_len);
    ep_mod(src->fd, 0, src);
    ep_mod(dst->fd, EPOLLIN | EPOLLOUT, dst);
}

static void
run_epoll(int lfd, size_t bufsz)
{
    static struct epoll_event evs[512];
    static char lmark;
    char *buf = malloc(bufsz);
    ep_fd = epoll_create1(0);
    if (ep_fd < 0 || !buf)
        die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &lmark};
    epoll_ctl(ep_fd, EPOLL_CTL_ADD, lfd, &lev);
    while (!stop_flag) {
        int n = epoll_wait(ep_fd, evs, 512, -1);
        st_syscalls++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        st_turns++;
        st_events += (unsigned long)n;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &lmark) {
                ep_accept(lfd);
                continue;
            }
            struct ehalf *h = evs[i].data.ptr;
            if (h->c->closed)
                continue;
            if ((evs[i].events & EPOLLOUT) && h->out)
                ep_flush(h);
            if (!h->c->closed &&
                (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
                !h->c->h[!h->idx].out)
                ep_relay(h, buf, bufsz);
        }
        while (ep_dead) {
            struct econn *c = ep_dead;
            ep_dead = c->next_dead;
            free(c);
        }
    }
    free(buf);
}

/* ------------------------------------------------------------------ uring */

enum { OP_RECV = 1, OP_SEND = 2, OP_ACCEPT = 3, OP_MASK = 3 };
#define NO_BID 0xffffffffu

struct uhalf {
    int fd;
    int idx;
    struct uconn *c;
    int recv_armed, stalled, sending;
    uint32_t q_head, q_tail; /* buffers waiting to be sent to this fd */
    struct uhalf *next_stalled;
};

struct uconn {
    struct uhalf h[2];
    int inflight; /* operations whose last completion is still due */
    int closing;
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static unsigned nbufs, buf_size;
static int multishot = 1;
static const char *taskrun = "defer";
/* Per buffer id: its place in a send queue. */
static uint32_t *q_next, *q_len, *q_off;
static struct uhalf *stalled_list;

static struct io_uring_sqe *
get_sqe(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) {
        io_uring_submit(&ring);
        st_syscalls++;
        sqe = io_uring_get_sqe(&ring);
        if (!sqe) {
            errno = EBUSY;
            die("io_uring_get_sqe");
        }
    }
    return sqe;
}

static void
buf_return(uint32_t bid)
{
    io_uring_buf_ring_add(br, bufs + (size_t)bid * buf_size, buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(nbufs),
                          0);
    io_uring_buf_ring_advance(br, 1);
}

static void
arm_recv(struct uhalf *h)
{
    struct io_uring_sqe *sqe = get_sqe();
    if (multishot)
        io_uring_prep_recv_multishot(sqe, h->fd, NULL, 0, 0);
    else
        io_uring_prep_recv(sqe, h->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)h | OP_RECV);
    h->recv_armed = 1;
    h->c->inflight++;
}

static void
send_head(struct uhalf *h)
{
    uint32_t bid = h->q_head;
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_send(sqe, h->fd, bufs + (size_t)bid * buf_size + q_off[bid],
                       q_len[bid] - q_off[bid], MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)h | OP_SEND);
    h->sending = 1;
    h->c->inflight++;
}

static void
arm_accept(int lfd)
{
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_NONBLOCK);
    io_uring_sqe_set_data64(sqe, OP_ACCEPT);
}

/* Shut both sockets down: their pending recvs end with 0 and their sends
 * with an error, and the connection is freed when the last one has. */
static void
u_close(struct uconn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    shutdown(c->h[0].fd, SHUT_RDWR);
    shutdown(c->h[1].fd, SHUT_RDWR);
    st_syscalls += 2;
}

static void
u_maybe_free(struct uconn *c)
{
    if (!c->closing || c->inflight > 0)
        return;
    for (int i = 0; i < 2; i++) {
        struct uhalf *h = &c->h[i];
        while (h->q_head != NO_BID) {
            uint32_t bid = h->q_head;
            h->q_head = q_next[bid];
            buf_return(bid);
        }
        close(h->fd);
        /* a stalled half is dropped from the list when it is re-armed */
    }
    if (c->h[0].stalled || c->h[1].stalled)
        return; /* freed by rearm_stalled */
    free(c);
}

static void
rearm_stalled(void)
{
    struct uhalf *list = stalled_list;
    stalled_list = NULL;
    while (list) {
        struct uhalf *h = list;
        list = h->next_stalled;
        h->stalled = 0;
        if (!h->c->closing)
            arm_recv(h);
        else if (!h->c->h[0].stalled && !h->c->h[1].stalled &&
                 h->c->inflight == 0)
            free(h->c);
    }
}

static void
u_accept(int res)
{
    if (res < 0)
        return;
    set_nodelay_nonblock(res);
    int bfd = backend_connect();
    if (bfd < 0) {
        close(res);
        return;
    }
    struct uconn *c = calloc(1, sizeof *c);
    if (!c)
        die("calloc");
    for (int i = 0; i < 2; i++)
        c->h[i] = (struct uhalf){
            .fd = i ? bfd : res, .idx = i, .c = c, .q_head = NO_BID};
    arm_recv(&c->h[0]);
    arm_recv(&c->h[1]);
    st_conns++;
}

static void
u_recv(struct uhalf *h, int res, unsigned flags)
{
    struct uconn *c = h->c;
    if (res > 0) {
        uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
        struct uhalf *dst = &c->h[!h->idx];
        st_bytes += (unsigned)res;
        if (c->closing) {
            buf_return(bid);
        } else {
            q_len[bid] = (uint32_t)res;
            q_off[bid] = 0;
            q_next[bid] = NO_BID;
            if (dst->q_head == NO_BID)
                dst->q_head = bid;
            else
                q_next[dst->q_tail] = bid;
            dst->q_tail = bid;
            if (!dst->sending)
                send_head(dst);
        }
    } else if (res == -ENOBUFS && !c->closing) {
        /* Out of buffers (a peer that does not read): re-armed when one is
         * returned. */
        if (!h->stalled) {
            h->stalled = 1;
            h->next_stalled = stalled_list;
            stalled_list = h;
        }
    } else {
        u_close(c);
    }
    if (flags & IORING_CQE_F_MORE)
        return;
    h->recv_armed = 0;
    c->inflight--;
    if (!c->closing && !h->stalled)
        arm_recv(h);
    u_maybe_free(c);
}

static void
u_send(struct uhalf *h, int res)
{
    struct uconn *c = h->c;
    uint32_t bid = h->q_head;
    h->sending = 0;
    c->inflight--;
    if (res < 0 || c->closing) {
        u_close(c);
        u_maybe_free(c);
        return;
    }
    q_off[bid] += (uint32_t)res;
    if (q_off[bid] < q_len[bid]) {
        send_head(h);
        return;
    }
    h->q_head = q_next[bid];
    buf_return(bid);
    if (stalled_list)
        rearm_stalled();
    if (h->q_head != NO_BID)
        send_head(h);
}

static void
run_uring(int lfd, unsigned bufs_n, unsigned bufsz)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    /* Task work runs only when this thread enters the kernel to wait: the
     * completions of a turn are all posted at that one call. */
    p.flags = IORING_SETUP_CQSIZE;
    if (!strcmp(taskrun, "defer"))
        p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    else if (!strcmp(taskrun, "coop"))
        p.flags |= IORING_SETUP_COOP_TASKRUN;
    p.cq_entries = 16384;
    int rc = io_uring_queue_init_params(4096, &ring, &p);
    if (rc < 0) {
        errno = -rc;
        die("io_uring_queue_init_params");
    }
    nbufs = bufs_n;
    buf_size = bufsz;
    size_t ring_bytes =
        (nbufs * sizeof(struct io_uring_buf) + 4095) & ~(size_t)4095;
    br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
              MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    bufs = malloc((size_t)nbufs * buf_size);
    q_next = calloc(nbufs, sizeof *q_next);
    q_len = calloc(nbufs, sizeof *q_len);
    q_off = calloc(nbufs, sizeof *q_off);
    if (br == MAP_FAILED || !bufs || !q_next || !q_len || !q_off)
        die("buffers");
    /* liburing 2.3 has no io_uring_setup_buf_ring: register it by hand */
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = nbufs, .bgid = 0};
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) {
        errno = -rc;
        die("io_uring_register_buf_ring");
    }
    io_uring_buf_ring_init(br);
    for (unsigned i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * buf_size, buf_size,
                              (unsigned short)i, io_uring_buf_ring_mask(nbufs),
                              (int)i);
    io_uring_buf_ring_advance(br, (int)nbufs);
    arm_accept(lfd);

    while (!stop_flag) {
        rc = io_uring_submit_and_wait(&ring, 1);
        st_syscalls++;
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            errno = -rc;
            die("io_uring_submit_and_wait");
        }
        st_turns++;
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            uint64_t ud = io_uring_cqe_get_data64(cqe);
            void *ptr = (void *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);
            seen++;
            switch (ud & OP_MASK) {
            case OP_ACCEPT:
                u_accept(cqe->res);
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    arm_accept(lfd);
                break;
            case OP_RECV:
                u_recv(ptr, cqe->res, cqe->flags);
                break;
            case OP_SEND:
                u_send(ptr, cqe->res);
                break;
            }
        }
        io_uring_cq_advance(&ring, seen);
        st_events += seen;
    }
}

/* ------------------------------------------------------------------- main */

static void
usage(void)
{
    fprintf(stderr,
            "usage: relaytrial --engine epoll|uring --listen PORT "
            "--backend [HOST:]PORT [--recv multishot|oneshot] "
            "[--taskrun defer|coop|signal] [--bufs N] [--buf-size BYTES]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *engine = NULL, *backend = NULL;
    int port = 0;
    unsigned bufs_n = 2048, bufsz = 16384;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--engine"))
            engine = argv[++i];
        else if (!strcmp(argv[i], "--listen"))
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--backend"))
            backend = argv[++i];
        else if (!strcmp(argv[i], "--bufs"))
            bufs_n = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--buf-size"))
            bufsz = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--recv")) {
            const char *m = argv[++i];
            if (strcmp(m, "multishot") && strcmp(m, "oneshot"))
                usage();
            multishot = !strcmp(m, "multishot");
        } else if (!strcmp(argv[i], "--taskrun")) {
            taskrun = argv[++i];
            if (strcmp(taskrun, "defer") && strcmp(taskrun, "coop") &&
                strcmp(taskrun, "signal"))
                usage();
        } else
            usage();
    }
    if (!engine || !backend || port <= 0 || port > 65535)
        usage();
    if (bufs_n == 0 || bufs_n > 32768 || (bufs_n & (bufs_n - 1)) ||
        bufsz < 1024) {
        fprintf(stderr,
                "relaytrial: --bufs must be a power of two up to 32768, "
                "--buf-size at least 1024\n");
        return 2;
    }
    const char *colon = strrchr(backend, ':');
    backend_addr.sin_family = AF_INET;
    backend_addr.sin_port = htons((uint16_t)atoi(colon ? colon + 1 : backend));
    char host[64] = "127.0.0.1";
    if (colon && (size_t)(colon - backend) < sizeof host) {
        memcpy(host, backend, (size_t)(colon - backend));
        host[colon - backend] = 0;
    }
    if (inet_pton(AF_INET, host, &backend_addr.sin_addr) != 1) {
        fprintf(stderr,
                "relaytrial: --backend wants an IPv4 address, not '%s'\n",
                host);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = listen_on(port);
    if (!strcmp(engine, "epoll"))
        run_epoll(lfd, bufsz);
    else if (!strcmp(engine, "uring"))
        run_uring(lfd, bufs_n, bufsz);
    else
        usage();
    fprintf(stderr,
            "relaytrial %s: %lu connections, %lu bytes, %lu turns, %.2f "
            "events/turn, "
            "%lu own system calls (%.2f/turn)\n",
            engine, st_conns, st_bytes, st_turns,
            st_turns ? (double)st_events / (double)st_turns : 0.0, st_syscalls,
            st_turns ? (double)st_syscalls / (double)st_turns : 0.0);
    return 0;
}
