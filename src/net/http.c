/*
 * http.c - see http.h. A connection lives through three states:
 *   READ    gathering the request head (bounded by HTTP_MAX_HEAD and the
 *           request timeout), then the handler runs at once;
 *   WRITE   sending the response (bounded by the timeout);
 *   LINGER  the response is out and our side shut down, until the client
 *           closes (at most LINGER_MS).
 * After the head, input (a body, a pipelined request) is read and dropped,
 * up to LINGER_BYTES: closing a socket with unread input sends a reset,
 * which can destroy the response before the client has read it.
 * Connections are kept in accept order, so the oldest one is found first
 * when the connection cap forces an eviction.
 */
#include "net/http.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "net/worker.h"

#define LINGER_MS    2000
#define LINGER_BYTES (1024 * 1024) /* dropped input after which we stop */

enum hc_state { HC_READ, HC_WRITE, HC_LINGER };

struct http_conn {
    struct http_server *srv; /* (ref) */
    struct bufferevent *bev; /* owned; closes the socket */
    struct event *timer;     /* owned */
    enum hc_state state;
    size_t dropped; /* input bytes thrown away after the head */
    bool eof;       /* the client closed its side while we were writing */
    struct http_conn *prev, *next;
};

struct http_server {
    struct event_base *base;         /* (ref) */
    struct evconnlistener *listener; /* owned */
    http_handler_fn fn;
    void *arg;
    uint16_t port;
    int timeout_ms;
    int max_conns;
    int nconns;
    struct http_conn *head, *tail; /* accept order, oldest first */
    char **hosts;                  /* owned; admin.http_hosts */
    int nhosts;
};

/* --- parsing -------------------------------------------------------------- */

static bool
is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/* Validates the request line p[0..n) (terminator excluded) and fills req.
 * Returns 0 or an HTTP status. */
static int
parse_request_line(const char *p, size_t n, struct http_request *req)
{
    size_t i = 0, m, t0, tn, plen;
    const char *path;

    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    m = i;
    if (m == 0 || i >= n || p[i] != ' ')
        return 400;
    t0 = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
        i++;
    tn = i - t0;
    if (tn == 0 || i >= n || p[i] != ' ')
        return 400;
    i++;
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, and nothing after it */
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 5] < '0' ||
        p[i + 5] > '9' || p[i + 6] != '.' || p[i + 7] < '0' || p[i + 7] > '9')
        return 400;
    if (p[i + 5] != '1')
        return 505;
    req->minor = p[i + 7] - '0';

    path = p + t0;
    if (path[0] != '/' && !(tn == 1 && path[0] == '*')) {
        /* absolute-form: scheme "://" authority [path] */
        size_t s;
        const char *sep = memchr(path, ':', tn);

        if (sep == NULL || sep == path || (size_t)(sep - path) + 3 > tn ||
            sep[1] != '/' || sep[2] != '/')
            return 400;
        for (s = 0; path + s < sep; s++)
            if (!is_tchar((unsigned char)path[s]))
                return 400;
        s = (size_t)(sep - path) + 3;
        while (s < tn && path[s] != '/' && path[s] != '?' && path[s] != '#')
            s++;
        if (s < tn && path[s] == '/') {
            path += s;
            tn -= s;
        } else {
            path = "/";
            tn = 1;
        }
    }
    for (plen = 0; plen < tn && path[plen] != '?' && path[plen] != '#'; plen++)
        ;
    if (plen >= sizeof(req->path))
        return 414;
    memcpy(req->path, path, plen);
    req->path[plen] = '\0';

    m = MIN(m, sizeof(req->method) - 1);
    memcpy(req->method, p, m);
    req->method[m] = '\0';
    return 0;
}

/* Validates one header line p[0..n); counts Host headers and keeps the
 * value of one. Returns 0 or an HTTP status. */
static int
parse_header(const char *p, size_t n, int *hosts, struct http_request *req)
{
    size_t i = 0;
    bool host;

    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    /* no name, or whitespace before the colon (RFC 9112 5.1), or an
     * obs-fold continuation line: all 400 */
    if (i == 0 || i >= n || p[i] != ':')
        return 400;
    host = i == 4 && strncasecmp(p, "host", 4) == 0;
    if (host)
        (*hosts)++;
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 400;
    }
    if (host) {
        size_t a = 5, b = n;
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
            b--;
        if (b - a >= sizeof(req->host))
            return 400;
        memcpy(req->host, p + a, b - a);
        req->host[b - a] = '\0';
    }
    return 0;
}

static bool
is_ipv4(const char *p, size_t n)
{
    int dots = 0, digits = 0, value = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (digits == 0 || ++dots > 3)
                return false;
            digits = value = 0;
        } else if (p[i] >= '0' && p[i] <= '9') {
            value = value * 10 + (p[i] - '0');
            if (++digits > 3 || value > 255)
                return false;
        } else {
            return false;
        }
    }
    return dots == 3 && digits > 0;
}

bool
http_host_allowed(const char *host, char *const *names, int nnames)
{
    size_t n = strlen(host);
    const char *colon;

    if (n == 0)
        return true;      /* HTTP/1.0 without Host: no browser sends that */
    if (host[0] == '[') { /* [v6]:port: only literals are bracketed */
        const char *close = memchr(host, ']', n);
        if (close == NULL || close == host + 1)
            return false;
        for (const char *q = host + 1; q < close; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return false;
        return close[1] == '\0' || close[1] == ':';
    }
    colon = memchr(host, ':', n);
    if (colon != NULL)
        n = (size_t)(colon - host);
    if (is_ipv4(host, n))
        return true;
    if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
        return true;
    for (int i = 0; i < nnames; i++)
        if (strlen(names[i]) == n && strncasecmp(host, names[i], n) == 0)
            return true;
    return false;
}

/* The line starting at pos in buf[0..lim): its length without the line
 * terminator in *n; returns the offset after the terminator, or 0 when the
 * line is not complete within lim. */
static size_t
next_line(const char *buf, size_t pos, size_t lim, size_t *n)
{
    const char *nl;
    size_t end;

    if (pos >= lim)
        return 0;
    nl = memchr(buf + pos, '\n', lim - pos);
    if (nl == NULL)
        return 0;
    end = (size_t)(nl - buf);
    *n = end - pos;
    if (*n > 0 && buf[end - 1] == '\r')
        (*n)--;
    return end + 1;
}

int
http_parse_head(const char *buf, size_t len, struct http_request *req)
{
    size_t lim = MIN(len, (size_t)HTTP_MAX_HEAD);
    size_t pos = 0, next, n = 0;
    int st, hosts = 0, nheaders = 0;
    bool full = len >= HTTP_MAX_HEAD;

    memset(req, 0, sizeof(*req));
    /* RFC 9112 2.2: empty lines before the request line are ignored */
    while ((next = next_line(buf, pos, lim, &n)) != 0 && n == 0)
        pos = next;
    if (next == 0) {
        /* a request line still arriving: refuse bytes it cannot hold (a
         * TLS hello, binary noise) now rather than at the timeout */
        for (size_t i = pos; i < lim; i++) {
            unsigned char c = (unsigned char)buf[i];

            if ((c < 0x20 && !(c == '\r' && i + 1 == lim)) || c >= 0x7f)
                return -400;
        }
        return full ? -414 : 0;
    }
    st = parse_request_line(buf + pos, n, req);
    if (st != 0)
        return -st;
    pos = next;
    for (;;) {
        next = next_line(buf, pos, lim, &n);
        if (next == 0)
            return full ? -431 : 0;
        if (n == 0)
            break;
        if (++nheaders > HTTP_MAX_HEADERS)
            return -431;
        st = parse_header(buf + pos, n, &hosts, req);
        if (st != 0)
            return -st;
        pos = next;
    }
    /* RFC 9112 3.2: exactly one Host in HTTP/1.1 */
    if (req->minor >= 1 ? hosts != 1 : hosts > 1)
        return -400;
    return (int)next;
}

const char *
http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* --- connections ---------------------------------------------------------- */

static void
conn_free(struct http_conn *c)
{
    struct http_server *s = c->srv;

    if (c->prev)
        c->prev->next = c->next;
    else
        s->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->tail = c->prev;
    s->nconns--;
    event_free(c->timer);
    bufferevent_free(c->bev);
    free(c);
}

static void
timer_arm(struct http_conn *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(c->timer, &tv);
}

static bool
type_ok(const char *t)
{
    if (t == NULL || *t == '\0')
        return false;
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || (unsigned char)*t == 0x7f)
            return false;
    return true;
}

/* The handler's extra header lines: each a token, ':', then visible
 * characters or blanks, ending in CRLF. */
static bool
headers_ok(const char *h)
{
    while (*h) {
        const char *p = h;

        while (is_tchar((unsigned char)*p))
            p++;
        if (p == h || *p != ':')
            return false;
        for (p++; *p != '\r'; p++)
            if (*p == '\0' || ((unsigned char)*p < 0x20 && *p != '\t') ||
                (unsigned char)*p == 0x7f)
                return false;
        if (p[1] != '\n')
            return false;
        h = p + 2;
    }
    return true;
}

/* Queues status line, headers and (unless head_only) body, and switches to
 * WRITE. */
static void
conn_respond(struct http_conn *c, int status, const char *type,
             const char *extra, struct evbuffer *body, bool head_only)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;

    if (status < 100 || status > 999)
        status = 500;
    if (!type_ok(type))
        type = "text/plain; charset=utf-8";
    if (extra != NULL && !headers_ok(extra)) {
        log_warn("http: a handler's header lines are malformed; dropped");
        extra = NULL;
    }
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    evbuffer_add_printf(
        out,
        "HTTP/1.1 %d %s\r\n"
        "Date: %s\r\n"
        "Content-Type: %s\r\n"
        "Content-Length: %zu\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "%s%s"
        "Connection: close\r\n\r\n",
        status, http_reason(status), date, type, evbuffer_get_length(body),
        status == 405 ? "Allow: GET, HEAD\r\n" : "", extra ? extra : "");
    if (!head_only)
        evbuffer_add_buffer(out, body);
    /* what is left of the input (a body, the rest of a bad request) is
     * dropped like anything that comes after it */
    c->dropped += evbuffer_get_length(bufferevent_get_input(c->bev));
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    c->state = HC_WRITE;
    bufferevent_enable(c->bev, EV_WRITE);
    timer_arm(c, c->srv->timeout_ms);
}

/* The server's own answers (errors). */
static void
conn_respond_error(struct http_conn *c, int status)
{
    struct evbuffer *body = evbuffer_new();

    if (body == NULL) {
        conn_free(c);
        return;
    }
    evbuffer_add_printf(body, "%d %s\n", status, http_reason(status));
    conn_respond(c, status, "text/plain; charset=utf-8", NULL, body, false);
    evbuffer_free(body);
}

static void
conn_request(struct http_conn *c, const struct http_request *req)
{
    struct http_server *s = c->srv;
    bool head = strcmp(req->method, "HEAD") == 0;
    struct http_reply r;

    if (!head && strcmp(req->method, "GET") != 0) {
        conn_respond_error(c, 405);
        return;
    }
    if (!http_host_allowed(req->host, s->hosts, s->nhosts)) {
        struct evbuffer *body = evbuffer_new();
        char esc[80];
        size_t k = 0;

        if (body == NULL) {
            conn_free(c);
            return;
        }
        /* the name as sent, printable ASCII only, cut */
        for (const char *q = req->host; *q && k + 1 < sizeof(esc); q++)
            esc[k++] =
                (*q > 0x20 && *q < 0x7f && *q != '"' && *q != '\\') ? *q : '?';
        esc[k] = '\0';
        log_info("http: refused Host host=\"%s\"", esc);
        evbuffer_add_printf(body,
                            "403 Forbidden: myshard serves this port to "
                            "address literals, localhost and the names in "
                            "admin.http_hosts, not to Host '%s'\n",
                            esc);
        conn_respond(c, 403, "text/plain; charset=utf-8", NULL, body, false);
        evbuffer_free(body);
        return;
    }
    r.status = 200;
    r.content_type = "text/plain; charset=utf-8";
    r.headers = NULL;
    r.body = evbuffer_new();
    if (r.body == NULL) {
        conn_free(c);
        return;
    }
    s->fn(s->arg, head ? "HEAD" : "GET", req->path, &r);
    conn_respond(c, r.status, r.content_type, r.headers, r.body, head);
    evbuffer_free(r.body);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    struct http_request req;
    const char *buf;
    int n;

    if (c->state != HC_READ) {
        c->dropped += len;
        evbuffer_drain(in, len);
        if (c->dropped > LINGER_BYTES) {
            if (c->state == HC_LINGER)
                conn_free(c);
            else
                bufferevent_disable(bev, EV_READ);
        }
        return;
    }
    len = MIN(len, (size_t)HTTP_MAX_HEAD);
    buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    if (buf == NULL && len > 0) {
        conn_free(c);
        return;
    }
    n = http_parse_head(buf, len, &req);
    if (n == 0)
        return;
    if (n < 0) {
        log_debug("http: bad request status=%d", -n);
        conn_respond_error(c, -n);
        return;
    }
    evbuffer_drain(in, (size_t)n);
    conn_request(c, &req);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;

    if (c->state != HC_WRITE ||
        evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    if (c->eof) {
        conn_free(c);
        return;
    }
    /* all sent: half-close and read until the client closes */
    shutdown(bufferevent_getfd(bev), SHUT_WR);
    c->state = HC_LINGER;
    bufferevent_disable(bev, EV_WRITE);
    bufferevent_enable(bev, EV_READ);
    timer_arm(c, LINGER_MS);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct http_conn *c = arg;

    (void)bev;
    /* A client that half-closes after its request still gets the answer. */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
        c->state == HC_WRITE) {
        c->eof = true;
        return;
    }
    /* EOF before a whole request or while lingering, or an error: done */
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(c);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == HC_READ &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        conn_respond_error(c, 408);
        return;
    }
    /* nothing sent at all, a client that does not read, or lingering
     * done: just close */
    conn_free(c);
}

/* Makes room for one more connection: closes the oldest lingering one, else
 * the oldest still sending its request (a client slower than the ones
 * after it). False when every connection is writing. */
static bool
evict_one(struct http_server *s)
{
    struct http_conn *victim = NULL;

    for (struct http_conn *c = s->head; c != NULL; c = c->next) {
        if (c->state == HC_LINGER) {
            victim = c;
            break;
        }
        if (victim == NULL && c->state == HC_READ)
            victim = c;
    }
    if (victim == NULL)
        return false;
    log_debug("http: connection cap reached, closing the oldest idle one "
              "max=%d",
              s->max_conns);
    conn_free(victim);
    return true;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct http_server *s = arg;
    struct http_conn *c;
    int one = 1;

    (void)l;
    (void)sa;
    (void)salen;
    if (s->nconns >= s->max_conns && !evict_one(s)) {
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                   "Content-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";

        /* best effort: the socket is new, its buffer empty */
        if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            log_debug("http: busy answer not sent");
        evutil_closesocket(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = xcalloc(1, sizeof(*c));
    c->srv = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(s->base, on_timeout, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->timer)
            event_free(c->timer);
        free(c);
        return;
    }
    c->state = HC_READ;
    c->prev = s->tail;
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
    s->nconns++;
    /* reading pauses at the head limit (+1 to tell "exactly full" from
     * "over"); on_read decides on every chunk */
    bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_MAX_HEAD + 1);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ);
    timer_arm(c, s->timeout_ms);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: keep listening; the next accept may succeed */
    log_warn("http: accept failed err=%s",
             evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

struct http_server *
http_listen(struct event_base *base, const char *host, uint16_t port,
            http_handler_fn fn, void *arg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int len, fd = -1, one = 1, e;
    struct http_server *s;

    if (!net_resolve(host, port, &ss, &len)) {
        snprintf(err, errlen, "cannot resolve %s", host);
        return NULL;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0 ||
        listen(fd, 128) != 0)
        goto fail;
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail;

    s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->fn = fn;
    s->arg = arg;
    s->port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    s->timeout_ms = HTTP_TIMEOUT_MS;
    s->max_conns = HTTP_MAX_CONNS;
    s->listener = evconnlistener_new(
        base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
        fd);
    if (s->listener == NULL) {
        free(s);
        goto fail;
    }
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    return s;

fail:
    e = errno ? errno : EINVAL;
    snprintf(err, errlen, "bind %s:%u: %s", host, (unsigned)port, strerror(e));
    if (fd >= 0)
        close(fd);
    return NULL;
}

uint16_t
http_port(const struct http_server *s)
{
    return s->port;
}

void
http_set_limits(struct http_server *s, int timeout_ms, int max_conns)
{
    if (timeout_ms > 0)
        s->timeout_ms = timeout_ms;
    if (max_conns > 0)
        s->max_conns = max_conns;
}

void
http_set_hosts(struct http_server *s, char *const *names, int n)
{
    for (int i = 0; i < s->nhosts; i++)
        free(s->hosts[i]);
    free(s->hosts);
    s->hosts = n > 0 ? xcalloc((size_t)n, sizeof(*s->hosts)) : NULL;
    for (int i = 0; i < n; i++)
        s->hosts[i] = xstrdup(names[i]);
    s->nhosts = n;
}

void
http_close(struct http_server *s)
{
    if (s == NULL)
        return;
    evconnlistener_free(s->listener);
    while (s->head != NULL)
        conn_free(s->head);
    http_set_hosts(s, NULL, 0);
    free(s);
}
