/*
 * test_http.c - the admin port's HTTP server (net/http.h) over real
 * loopback sockets: GET, HEAD, query strings, the server's own 400 / 405 /
 * 408 / 414 / 431 / 505, Content-Length and Connection: close on every
 * answer, a request body and a half-closed client still getting their
 * answer, slow clients not holding up others, the connection cap, a port
 * already taken; and the request parser alone, fed valid requests byte by
 * byte and random garbage.
 *
 * Each test runs a server on 127.0.0.1:<any> whose event loop runs in a
 * thread of its own; the client side is blocking sockets with a receive
 * timeout, so a server that never answers fails the test instead of
 * hanging it.
 */
#include "net/http.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct event_base *base;
static struct http_server *srv;
static pthread_t loop_tid;
static uint16_t port;
static atomic_int handled; /* handler calls */
static char last_path[HTTP_MAX_PATH];
static char last_method[8];

#define BIG_LEN (1024 * 1024 + 17)

static void
handler(void *arg, const char *method, const char *path, struct http_reply *r)
{
    (void)arg;
    snprintf(last_path, sizeof(last_path), "%s", path);
    snprintf(last_method, sizeof(last_method), "%s", method);
    atomic_fetch_add(&handled, 1);
    if (strcmp(path, "/hello") == 0) {
        evbuffer_add_printf(r->body, "hello\n");
    } else if (strcmp(path, "/json") == 0) {
        r->content_type = "application/json";
        evbuffer_add_printf(r->body, "{\"a\":1}");
    } else if (strcmp(path, "/big") == 0) {
        char chunk[4096];

        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (char)('a' + i % 26);
        for (size_t n = 0; n < BIG_LEN; n += sizeof(chunk))
            evbuffer_add(r->body, chunk, MIN(sizeof(chunk), BIG_LEN - n));
    } else if (strcmp(path, "/huge") == 0) {
        /* more than the kernel buffers hold: the writer stays writing */
        static char chunk[65536];

        for (int i = 0; i < 128; i++)
            evbuffer_add(r->body, chunk, sizeof(chunk));
    } else if (strcmp(path, "/headers") == 0) {
        r->headers = "Content-Security-Policy: default-src 'none'\r\n"
                     "X-Frame-Options: DENY\r\n";
        evbuffer_add_printf(r->body, "x");
    } else if (strcmp(path, "/badheaders") == 0) {
        r->headers = "X-Ok: 1\r\nX-Evil: 1\nSet-Cookie: a=b\r\n";
        evbuffer_add_printf(r->body, "x");
    } else if (strcmp(path, "/badtype") == 0) {
        r->content_type = "text/plain\r\nX-Evil: 1";
        evbuffer_add_printf(r->body, "x");
    } else if (strcmp(path, "/echo") == 0 || strcmp(path, "/") == 0 ||
               strcmp(path, "*") == 0) {
        evbuffer_add_printf(r->body, "%s %s", method, path);
    } else {
        r->status = 404;
        evbuffer_add_printf(r->body, "not found\n");
    }
}

static void *
loop_main(void *arg)
{
    (void)arg;
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Starts a server with the given limits (0 = defaults). */
static void
start(int timeout_ms, int max_conns)
{
    char err[256];

    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    srv = http_listen(base, "127.0.0.1", 0, handler, NULL, err, sizeof(err));
    ck_assert_msg(srv != NULL, "http_listen: %s", err);
    http_set_limits(srv, timeout_ms, max_conns);
    {
        /* the requests below name "x", as admin.http_hosts would list it */
        char *names[] = {"x"};
        http_set_hosts(srv, names, 1);
    }
    port = http_port(srv);
    ck_assert_int_ne(port, 0);
    atomic_store(&handled, 0);
    ck_assert_int_eq(pthread_create(&loop_tid, NULL, loop_main, NULL), 0);
}

static void
setup(void)
{
    start(0, 0);
}

static void
teardown(void)
{
    event_base_loopbreak(base);
    pthread_join(loop_tid, NULL);
    http_close(srv);
    event_base_free(base);
}

/* --- client side ---------------------------------------------------------- */

static int
cli_connect(void)
{
    struct sockaddr_in sa = {0};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
                  "connect: %s", strerror(errno));
    return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

        ck_assert_msg(w > 0, "send: %s", strerror(errno));
        c += w;
        n -= (size_t)w;
    }
}

static void
send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads until EOF; fails on the receive timeout. Returns a NUL-terminated
 * malloc'd buffer and its length in *len. */
static char *
read_all(int fd, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);

    for (;;) {
        ssize_t r;

        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        r = recv(fd, buf + n, cap - n, 0);
        if (r == 0)
            break;
        ck_assert_msg(r > 0, "recv: %s after %zu bytes", strerror(errno), n);
        n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

struct resp {
    int status;
    long content_length; /* -1 when absent */
    bool conn_close;
    bool allow;
    char type[128];
    const char *body; /* into raw */
    size_t body_len;
    char *raw;
    size_t raw_len;
};

/* Parses a whole response as read until EOF, and checks what every answer
 * must have: a status line, CRLF headers, Content-Length equal to the body
 * (HEAD: body empty), Connection: close. */
static void
resp_parse(char *raw, size_t n, bool head, struct resp *r)
{
    char *end = strstr(raw, "\r\n\r\n"), *line, *next;

    memset(r, 0, sizeof(*r));
    r->raw = raw;
    r->raw_len = n;
    r->content_length = -1;
    ck_assert_msg(end != NULL, "no end of head in %zu bytes: %.200s", n, raw);
    ck_assert_msg(sscanf(raw, "HTTP/1.1 %d ", &r->status) == 1,
                  "status line: %.80s", raw);
    *end = '\0';
    for (line = strstr(raw, "\r\n"); line != NULL; line = next) {
        line += 2;
        next = strstr(line, "\r\n");
        if (next)
            *next = '\0';
        if (strncasecmp(line, "Content-Length: ", 16) == 0)
            r->content_length = strtol(line + 16, NULL, 10);
        else if (strcasecmp(line, "Connection: close") == 0)
            r->conn_close = true;
        else if (strcasecmp(line, "Allow: GET, HEAD") == 0)
            r->allow = true;
        else if (strncasecmp(line, "Content-Type: ", 14) == 0)
            snprintf(r->type, sizeof(r->type), "%s", line + 14);
        ck_assert_msg(strchr(line, '\r') == NULL && strchr(line, '\n') == NULL,
                      "stray CR/LF in header line '%s'", line);
        if (next)
            *next = '\r';
    }
    r->body = end + 4;
    r->body_len = n - (size_t)(r->body - raw);
    ck_assert(r->conn_close);
    ck_assert_int_ge(r->content_length, 0);
    if (head)
        ck_assert_uint_eq(r->body_len, 0);
    else
        ck_assert_uint_eq(r->body_len, (size_t)r->content_length);
}

/* Sends req on a new connection, reads the answer to EOF. */
static void
exchange(const void *req, size_t len, bool head, struct resp *r)
{
    int fd = cli_connect();
    size_t n;
    char *raw;

    send_all(fd, req, len);
    raw = read_all(fd, &n);
    close(fd);
    resp_parse(raw, n, head, r);
}

static int
status_of(const char *req)
{
    struct resp r;
    int st;

    exchange(req, strlen(req), strncmp(req, "HEAD ", 5) == 0, &r);
    st = r.status;
    free(r.raw);
    return st;
}

/* --- over sockets --------------------------------------------------------- */

START_TEST(test_get)
{
    struct resp r;
    const char *q = "GET /hello HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";

    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.content_length, 6);
    ck_assert(memcmp(r.body, "hello\n", 6) == 0);
    ck_assert_str_eq(r.type, "text/plain; charset=utf-8");
    ck_assert_str_eq(last_method, "GET");
    free(r.raw);

    q = "GET /json HTTP/1.0\r\n\r\n"; /* 1.0: no Host needed */
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "application/json");
    ck_assert_uint_eq(r.body_len, 7);
    free(r.raw);

    q = "GET /nope HTTP/1.1\r\nhost: x\r\n\r\n";
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert(r.content_length > 0);
    free(r.raw);
}
END_TEST

START_TEST(test_head)
{
    struct resp r;
    const char *q = "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n";

    exchange(q, strlen(q), true, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.content_length, 6); /* the GET's length, no body */
    ck_assert_str_eq(last_method, "HEAD");
    free(r.raw);
}
END_TEST

START_TEST(test_paths)
{
    struct resp r;
    const char *q;

    q = "GET /echo?x=1&y=%20 HTTP/1.1\r\nHost: x\r\n\r\n";
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(last_path, "/echo");
    free(r.raw);

    q = "GET http://localhost:6080/echo?q HTTP/1.1\r\nHost: x\r\n\r\n";
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(last_path, "/echo");
    free(r.raw);

    q = "GET http://localhost HTTP/1.1\r\nHost: x\r\n\r\n";
    exchange(q, strlen(q), false, &r);
    ck_assert_str_eq(last_path, "/");
    free(r.raw);

    q = "GET /a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n"; /* not decoded */
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(last_path, "/a%2Fb");
    free(r.raw);

    /* bare LF line ends and leading empty lines are accepted */
    q = "\r\n\nGET /echo HTTP/1.1\nHost: x\n\n";
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    free(r.raw);
}
END_TEST

START_TEST(test_methods)
{
    struct resp r;
    const char *q = "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    "0\r\n\r\n";

    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert(r.allow);
    free(r.raw);
    ck_assert_int_eq(status_of("PUT / HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    ck_assert_int_eq(status_of("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    ck_assert_int_eq(status_of("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    ck_assert_int_eq(status_of("get / HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    ck_assert_int_eq(
        status_of("AVERYLONGMETHODNAMEOFMORETHANTHIRTYTWOCHARACTERS / "
                  "HTTP/1.1\r\nHost: x\r\n\r\n"),
        405);
    ck_assert_int_eq(atomic_load(&handled), 0); /* none reached it */
}
END_TEST

START_TEST(test_bad_requests)
{
    static const struct {
        const char *req;
        int status;
    } t[] = {
        {"garbage\r\n\r\n", 400},
        {"GET\r\n\r\n", 400},
        {"GET /\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},                       /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400}, /* two */
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400}, /* fold */
        {"GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", 400},
        {"GET / HTTP/x.1\r\nHost: x\r\n\r\n", 400},
        {"GET / http/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400},
        {"GET nopath HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET ://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505},
        {"\x16\x03\x01\x02\x05\x01", 400}, /* a TLS hello, no line end */
        {"GET /\x7f", 400},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int st = status_of(t[i].req);

        ck_assert_msg(st == t[i].status, "request %zu: got %d, want %d", i, st,
                      t[i].status);
    }
    /* a NUL inside the request line */
    {
        static const char q[] = "GET /he\0llo HTTP/1.1\r\nHost: x\r\n\r\n";
        struct resp r;

        exchange(q, sizeof(q) - 1, false, &r);
        ck_assert_int_eq(r.status, 400);
        free(r.raw);
    }
    ck_assert_int_eq(atomic_load(&handled), 0);
}
END_TEST

START_TEST(test_limits)
{
    size_t n = HTTP_MAX_HEAD + 100;
    char *q = malloc(n + 64);
    struct resp r;
    int len;

    /* a request line longer than the head limit: 414 */
    len = snprintf(q, n + 64, "GET /");
    memset(q + len, 'a', n);
    exchange(q, (size_t)len + n, false, &r);
    ck_assert_int_eq(r.status, 414);
    free(r.raw);

    /* a path longer than HTTP_MAX_PATH: 414 */
    len = snprintf(q, n + 64, "GET /");
    memset(q + len, 'a', HTTP_MAX_PATH);
    len += HTTP_MAX_PATH;
    len += snprintf(q + len, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
    exchange(q, (size_t)len, false, &r);
    ck_assert_int_eq(r.status, 414);
    free(r.raw);

    /* one huge header: 431 */
    len = snprintf(q, n + 64, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    memset(q + len, 'b', n);
    exchange(q, (size_t)len + n, false, &r);
    ck_assert_int_eq(r.status, 431);
    free(r.raw);
    free(q);

    /* too many headers: 431 */
    {
        char many[4096];
        int m = snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: x\r\n");

        for (int i = 0; i < HTTP_MAX_HEADERS; i++)
            m += snprintf(many + m, sizeof(many) - (size_t)m, "A%d: v\r\n", i);
        m += snprintf(many + m, sizeof(many) - (size_t)m, "\r\n");
        exchange(many, (size_t)m, false, &r);
        ck_assert_int_eq(r.status, 431);
        free(r.raw);
    }
    ck_assert_int_eq(atomic_load(&handled), 0);

    /* a head of exactly the limit is fine */
    {
        char *h = malloc(HTTP_MAX_HEAD);
        int m = snprintf(h, HTTP_MAX_HEAD,
                         "GET /hello HTTP/1.1\r\nHost: x\r\n"
                         "X: ");
        int fill = HTTP_MAX_HEAD - m - 4;

        memset(h + m, 'c', (size_t)fill);
        memcpy(h + m + fill, "\r\n\r\n", 4);
        exchange(h, HTTP_MAX_HEAD, false, &r);
        ck_assert_int_eq(r.status, 200);
        free(r.raw);
        free(h);
    }
}
END_TEST

START_TEST(test_big_body)
{
    struct resp r;
    const char *q = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";

    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.content_length, BIG_LEN);
    for (size_t i = 0; i < r.body_len; i++)
        if (r.body[i] != (char)('a' + (i % 4096) % 26))
            ck_abort_msg("body differs at %zu", i);
    free(r.raw);
}
END_TEST

START_TEST(test_bad_content_type)
{
    struct resp r;
    const char *q = "GET /badtype HTTP/1.1\r\nHost: x\r\n\r\n";

    /* a handler's type with CR/LF cannot inject a header */
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "text/plain; charset=utf-8");
    ck_assert_ptr_null(strstr(r.raw, "X-Evil"));
    free(r.raw);
}
END_TEST

/* A handler's own header lines go out as they are; malformed ones (a bare
 * LF that would split a header) are dropped whole. */
START_TEST(test_extra_headers)
{
    struct resp r;
    const char *q = "GET /headers HTTP/1.1\r\nHost: x\r\n\r\n";

    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(
        strstr(r.raw, "\r\nContent-Security-Policy: default-src 'none'\r\n"
                      "X-Frame-Options: DENY\r\n"));
    ck_assert_ptr_nonnull(
        strstr(r.raw, "\r\nX-Content-Type-Options: nosniff\r\n"));
    free(r.raw);

    q = "GET /badheaders HTTP/1.1\r\nHost: x\r\n\r\n";
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.raw, "X-Ok"));
    ck_assert_ptr_null(strstr(r.raw, "X-Evil"));
    ck_assert_ptr_null(strstr(r.raw, "Set-Cookie"));
    ck_assert_int_eq(r.body_len, 1);
    free(r.raw);
}
END_TEST

/* A request with a body the server never reads, and a client that shuts
 * its side after the request: both still get the whole answer. */
START_TEST(test_body_and_half_close)
{
    size_t blen = 300 * 1024, n;
    char *req = malloc(blen + 128), *raw;
    int len = snprintf(req, 128,
                       "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: "
                       "%zu\r\n\r\n",
                       blen);
    struct resp r;
    int fd;

    memset(req + len, 'z', blen);
    exchange(req, (size_t)len + blen, false, &r);
    ck_assert_int_eq(r.status, 405);
    free(r.raw);
    free(req);

    fd = cli_connect();
    send_str(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    shutdown(fd, SHUT_WR);
    raw = read_all(fd, &n);
    close(fd);
    resp_parse(raw, n, false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.content_length, BIG_LEN);
    free(raw);
}
END_TEST

/* Two requests in one write: the first is answered, then the server
 * closes (one request per connection). */
START_TEST(test_pipelined)
{
    const char *q = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    struct resp r;

    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.content_length, 6);
    ck_assert_int_eq(atomic_load(&handled), 1);
    free(r.raw);
}
END_TEST

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
setup_fast_timeout(void)
{
    start(300, 4);
}

static void
setup_cap(void)
{
    start(3000, 4);
}

/* A partial request gets 408 after the timeout; a silent connection is
 * closed; meanwhile other clients are served at once. */
START_TEST(test_timeout)
{
    int slow = cli_connect(), silent = cli_connect(), fd;
    int64_t t0 = now_ms();
    struct resp r;
    size_t n;
    char *raw;

    send_str(slow, "GET /hello HT");
    /* another client, served while those two wait */
    fd = cli_connect();
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    raw = read_all(fd, &n);
    close(fd);
    resp_parse(raw, n, false, &r);
    ck_assert_int_eq(r.status, 200);
    free(raw);
    ck_assert_int_lt(now_ms() - t0, 250);

    raw = read_all(slow, &n);
    resp_parse(raw, n, false, &r);
    ck_assert_int_eq(r.status, 408);
    free(raw);
    raw = read_all(silent, &n);
    ck_assert_uint_eq(n, 0); /* closed without a word */
    free(raw);
    ck_assert_int_ge(now_ms() - t0, 250);
    ck_assert_int_lt(now_ms() - t0, 3000);
    close(slow);
    close(silent);
}
END_TEST

/* A client dribbling bytes never finishes within the timeout: the timeout
 * bounds the whole head, not the gap between reads. */
START_TEST(test_slow_dribble)
{
    static const char q[] = "GET /hello HTTP/1.1\r\nHost: x\r\nX: aaaaaaaaaaaa";
    int fd = cli_connect();
    int64_t t0 = now_ms();
    size_t i, n;
    char *raw;
    struct resp r;

    for (i = 0; i < sizeof(q) - 1; i++) {
        if (send(fd, q + i, 1, MSG_NOSIGNAL) != 1)
            break;
        usleep(50 * 1000);
        if (now_ms() - t0 > 1500)
            break;
    }
    raw = read_all(fd, &n);
    close(fd);
    resp_parse(raw, n, false, &r);
    ck_assert_int_eq(r.status, 408);
    ck_assert_int_lt(now_ms() - t0, 2500);
    free(raw);
}
END_TEST

/* With the cap (4) reached by idle connections, a new client evicts the
 * oldest and is served. */
START_TEST(test_conn_cap)
{
    int idle[4];
    struct resp r;
    size_t n;
    char *raw;

    for (int i = 0; i < 4; i++) {
        idle[i] = cli_connect();
        send_str(idle[i], "GET");
        usleep(20 * 1000); /* accept order */
    }
    ck_assert_int_eq(status_of("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    raw = read_all(idle[0], &n); /* the oldest was closed, no answer */
    ck_assert_uint_eq(n, 0);
    free(raw);
    /* the others still wait for their request: finish one */
    send_str(idle[3], " /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    raw = read_all(idle[3], &n);
    resp_parse(raw, n, false, &r);
    ck_assert_int_eq(r.status, 200);
    free(raw);
    for (int i = 0; i < 4; i++)
        close(idle[i]);
}
END_TEST

/* With the cap reached by connections all busy writing (their clients do
 * not read), a new client gets a bare 503. */
START_TEST(test_conn_cap_busy)
{
    int busy[4], rcv = 4096;
    size_t n;
    char *raw;

    for (int i = 0; i < 4; i++) {
        struct sockaddr_in sa = {0};

        busy[i] = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(busy[i], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(connect(busy[i], (struct sockaddr *)&sa, sizeof(sa)),
                         0);
        send_str(busy[i], "GET /huge HTTP/1.0\r\n\r\n");
    }
    while (atomic_load(&handled) < 4)
        usleep(10 * 1000);
    usleep(100 * 1000);
    {
        int fd = cli_connect();

        raw = read_all(fd, &n);
        close(fd);
    }
    ck_assert_msg(strncmp(raw, "HTTP/1.1 503 ", 13) == 0, "%s", raw);
    free(raw);
    for (int i = 0; i < 4; i++)
        close(busy[i]);
}
END_TEST

START_TEST(test_bind_errors)
{
    char err[256] = "";
    struct http_server *s2;

    s2 = http_listen(base, "127.0.0.1", port, handler, NULL, err, sizeof(err));
    ck_assert_ptr_null(s2);
    ck_assert_msg(strstr(err, "Address already in use") != NULL, "err: %s",
                  err);
    ck_assert_msg(strstr(err, "127.0.0.1") != NULL, "err: %s", err);
    err[0] = '\0';
    s2 = http_listen(base, "no.such.host.invalid", 0, handler, NULL, err,
                     sizeof(err));
    ck_assert_ptr_null(s2);
    ck_assert(err[0] != '\0');
    /* the first server is unharmed */
    ck_assert_int_eq(status_of("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
}
END_TEST

/* Random bytes and mangled requests over real connections: each gets an
 * answer or a close, and a good request afterwards is still served. */
START_TEST(test_garbage_sockets)
{
    static const char good[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    unsigned seed = 12345;

    for (int round = 0; round < 150; round++) {
        char buf[600];
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf)) + 1, n;
        int fd = cli_connect();
        char *raw;

        if (round % 2 == 0) {
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)rand_r(&seed);
        } else {
            len = sizeof(good) - 1;
            memcpy(buf, good, len);
            for (int k = 0; k < 3; k++)
                buf[rand_r(&seed) % (int)len] = (char)rand_r(&seed);
        }
        /* finish with an empty line so most are judged without waiting for
         * the timeout */
        send_all(fd, buf, len);
        send_str(fd, "\r\n\r\n");
        raw = read_all(fd, &n);
        if (n > 0) {
            struct resp r;

            resp_parse(raw, n, false, &r);
            ck_assert_msg(r.status == 200 || r.status == 404 ||
                              (r.status >= 400 && r.status <= 505),
                          "status %d", r.status);
        }
        free(raw);
        close(fd);
    }
    ck_assert_int_eq(status_of(good), 200);
}
END_TEST

/* --- the parser alone ----------------------------------------------------- */

START_TEST(test_parse_incremental)
{
    static const char q[] =
        "GET /metrics?name=x HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n";
    struct http_request req;
    size_t n = sizeof(q) - 1;

    for (size_t i = 0; i < n; i++)
        ck_assert_msg(http_parse_head(q, i, &req) == 0, "prefix %zu", i);
    ck_assert_int_eq(http_parse_head(q, n, &req), (int)n);
    ck_assert_str_eq(req.method, "GET");
    ck_assert_str_eq(req.path, "/metrics");
    ck_assert_int_eq(req.minor, 1);
    /* what follows the head is not part of it */
    {
        char more[sizeof(q) + 10];

        memcpy(more, q, n);
        memcpy(more + n, "body-bytes", 10);
        ck_assert_int_eq(http_parse_head(more, n + 10, &req), (int)n);
    }
    /* a bad request line is refused before the head is complete */
    ck_assert_int_eq(http_parse_head("GE T / HTTP/1.1\r\n", 17, &req), -400);
    ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(http_reason(299), "Unknown");
}
END_TEST

START_TEST(test_host_check)
{
    struct resp r;
    const char *q = "GET /hello HTTP/1.1\r\nHost: evil.example:6080\r\n\r\n";
    static const char *const ok[] = {
        "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: [::1]:6080\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: LOCALHOST\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost:   X:1  \r\n\r\n",
        "GET /hello HTTP/1.0\r\n\r\n",
    };

    /* a rebound DNS name: refused before the handler, and told why */
    atomic_store(&handled, 0);
    exchange(q, strlen(q), false, &r);
    ck_assert_int_eq(r.status, 403);
    {
        char body[512];
        size_t n =
            r.body_len < sizeof(body) - 1 ? r.body_len : sizeof(body) - 1;
        memcpy(body, r.body, n);
        body[n] = '\0';
        ck_assert_ptr_nonnull(strstr(body, "admin.http_hosts"));
        ck_assert_ptr_nonnull(strstr(body, "evil.example:6080"));
    }
    ck_assert_int_eq(atomic_load(&handled), 0);
    free(r.raw);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: x.evil\r\n\r\n"), 403);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: 1.2.3\r\n\r\n"), 403);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(status_of(ok[i]) == 200, "%s", ok[i]);
}
END_TEST

START_TEST(test_host_allowed)
{
    char *names[] = {"myshard-1.example.com", "db"};
    struct http_request req;
    const char *q = "GET / HTTP/1.1\r\nA: b\r\nhOsT: \t Db:99 \r\n\r\n";
    char big[400];

    ck_assert(http_host_allowed("", names, 2));
    ck_assert(http_host_allowed("10.0.0.7", names, 2));
    ck_assert(http_host_allowed("10.0.0.7:6080", names, 2));
    ck_assert(http_host_allowed("[fe80::1]", names, 2));
    ck_assert(http_host_allowed("localhost:1", names, 2));
    ck_assert(http_host_allowed("MYSHARD-1.example.com:6080", names, 2));
    ck_assert(http_host_allowed("db", names, 2));
    ck_assert(!http_host_allowed("db.", names, 2));
    ck_assert(!http_host_allowed("example.com", names, 2));
    ck_assert(!http_host_allowed("localhost.evil", names, 2));
    ck_assert(!http_host_allowed("256.0.0.1", names, 2));
    ck_assert(!http_host_allowed("1.2.3.4.5", names, 2));
    ck_assert(!http_host_allowed("[::1", names, 2));
    ck_assert(!http_host_allowed("[::1]x", names, 2));
    ck_assert(!http_host_allowed("[evil.example]", names, 2));
    ck_assert(!http_host_allowed("[]", names, 2));
    ck_assert(!http_host_allowed("db", names, 0));
    /* the parser keeps the value, trimmed */
    ck_assert_int_gt(http_parse_head(q, strlen(q), &req), 0);
    ck_assert_str_eq(req.host, "Db:99");
    ck_assert(http_host_allowed(req.host, names, 2));
    /* a Host too long to keep is a bad request */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nHost: ", 23);
    memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
    ck_assert_int_eq(http_parse_head(big, sizeof(big), &req), -400);
}
END_TEST

START_TEST(test_parse_fuzz)
{
    static const char *const seeds[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "HEAD /metrics?x HTTP/1.0\r\n\r\n",
        "GET http://a:1/b HTTP/1.1\nHost: y\nA: b\n\n",
        "POST /x HTTP/1.1\r\nHost: z\r\nContent-Length: 5\r\n\r\nhello",
    };
    static char buf[HTTP_MAX_HEAD + 512];
    struct http_request req;
    unsigned seed = 4242;

    for (int iter = 0; iter < 200000; iter++) {
        size_t len;
        int rc;

        if (iter % 3 == 0) {
            len = (size_t)rand_r(&seed) % 300;
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)rand_r(&seed);
        } else {
            const char *s = seeds[rand_r(&seed) % 4];

            len = strlen(s);
            memcpy(buf, s, len);
            for (int k = rand_r(&seed) % 4; k >= 0; k--) {
                size_t at = (size_t)rand_r(&seed) % len;

                switch (rand_r(&seed) % 4) {
                case 0: /* flip a byte */
                    buf[at] = (char)rand_r(&seed);
                    break;
                case 1: /* cut */
                    len = at;
                    break;
                case 2: /* a control character */
                    buf[at] = (char)(rand_r(&seed) % 32);
                    break;
                default: /* repeat a tail, sometimes past the limit */
                    if (rand_r(&seed) % 50 == 0) {
                        memset(buf + len, 'x', sizeof(buf) - len);
                        len = sizeof(buf);
                    }
                    break;
                }
                if (len == 0)
                    break;
            }
        }
        rc = http_parse_head(buf, len, &req);
        ck_assert_msg(rc == 0 || rc == -400 || rc == -414 || rc == -431 ||
                          rc == -505 || (rc > 0 && (size_t)rc <= len),
                      "rc %d for %zu bytes", rc, len);
        if (rc > 0) {
            ck_assert(req.path[0] == '/' || req.path[0] == '*');
            ck_assert(strlen(req.path) < sizeof(req.path));
            ck_assert(req.method[0] != '\0');
        }
        if (len >= HTTP_MAX_HEAD)
            ck_assert_int_ne(rc, 0);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("sockets");
    TCase *fast = tcase_create("timeouts");
    TCase *cap = tcase_create("cap");
    TCase *parse = tcase_create("parser");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_get);
    tcase_add_test(tc, test_host_check);
    tcase_add_test(tc, test_head);
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_methods);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_big_body);
    tcase_add_test(tc, test_bad_content_type);
    tcase_add_test(tc, test_extra_headers);
    tcase_add_test(tc, test_body_and_half_close);
    tcase_add_test(tc, test_pipelined);
    tcase_add_test(tc, test_bind_errors);
    tcase_add_test(tc, test_garbage_sockets);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(fast, setup_fast_timeout, teardown);
    tcase_set_timeout(fast, 60);
    tcase_add_test(fast, test_timeout);
    tcase_add_test(fast, test_slow_dribble);
    suite_add_tcase(s, fast);

    tcase_add_checked_fixture(cap, setup_cap, teardown);
    tcase_set_timeout(cap, 60);
    tcase_add_test(cap, test_conn_cap);
    tcase_add_test(cap, test_conn_cap_busy);
    suite_add_tcase(s, cap);

    tcase_set_timeout(parse, 120);
    tcase_add_test(parse, test_parse_incremental);
    tcase_add_test(parse, test_host_allowed);
    tcase_add_test(parse, test_parse_fuzz);
    suite_add_tcase(s, parse);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
