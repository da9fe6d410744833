/*
 * http.h - a small HTTP/1.1 server for the admin port's GET endpoints
 * (/metrics, /status, /healthz), on an event_base the caller runs. It owns
 * its listener and connections and nothing else.
 *
 * One request per connection: every response carries Content-Length and
 * "Connection: close", and the server closes after sending it (after a
 * short lingering read, so a client still sending is not reset before it
 * reads the answer). GET and HEAD go to the handler; any other method gets
 * 405 without reaching it. The server answers by itself:
 *   400  a malformed request line or header, an HTTP/1.1 request without
 *        exactly one Host header
 *   405  a method other than GET and HEAD (with "Allow: GET, HEAD")
 *   408  the request head did not arrive within the request timeout
 *   414  a request line longer than HTTP_MAX_HEAD
 *   431  a request head longer than HTTP_MAX_HEAD, or more than
 *        HTTP_MAX_HEADERS header lines
 *   505  an HTTP major version other than 1
 * Every response carries "X-Content-Type-Options: nosniff" and
 * "Cache-Control: no-store". Request bodies are never read. A bad request
 * closes that one connection; the others do not notice. When the connection cap
 * (HTTP_MAX_CONNS) is reached, a new client makes room by closing the oldest
 * connection that is lingering, else the oldest one still sending its request
 * (so slow clients cannot lock the port); when every one is writing, the new
 * client gets a bare 503 and is closed.
 *
 * Thread: everything runs on the thread of the event_base; http_close must
 * be called there, or after its loop has stopped.
 */
#ifndef MYSHARD_NET_HTTP_H
#define MYSHARD_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct event_base;
struct evbuffer;
struct http_server;

#define HTTP_MAX_HEAD    8192 /* bytes of request line + headers */
#define HTTP_MAX_HEADERS 100  /* header lines */
#define HTTP_MAX_PATH    1024 /* bytes of the path handed to the handler */
#define HTTP_TIMEOUT_MS                                                        \
    5000                  /* to receive the request head, and again to         \
                             send the response */
#define HTTP_MAX_CONNS 64 /* open connections */

/* What the handler answers. The server fills the defaults before the call:
 * status 200, content_type "text/plain; charset=utf-8", an empty body. */
struct http_reply {
    int status;               /* 200, 404, 503, ... */
    const char *content_type; /* (ref) a string outliving the call, e.g. a
                                 literal; one without control characters */
    struct evbuffer *body;    /* (ref, owned by the server) append here */
    /* (ref) NULL, or more header lines, each "Name: value\r\n", e.g. a
     * Content-Security-Policy; dropped whole when a line is malformed */
    const char *headers;
};

/* Called for each GET or HEAD request. method is "GET" or "HEAD" (for HEAD
 * the body is measured for Content-Length, then dropped). path is the
 * request target without its query string ("/metrics" for
 * "/metrics?x=1"), not percent-decoded, at most HTTP_MAX_PATH - 1 bytes. */
typedef void (*http_handler_fn)(void *arg, const char *method, const char *path,
                                struct http_reply *r);

/*
 * Listens on host:port (port 0: any free port, see http_port) with
 * SO_REUSEADDR but not SO_REUSEPORT, so a port another process listens on
 * fails here. Returns the server, or NULL with a message in err (e.g.
 * "bind 127.0.0.1:6080: Address already in use") when the address cannot
 * be resolved or bound.
 */
MUST_CHECK struct http_server *http_listen(struct event_base *base,
                                           const char *host, uint16_t port,
                                           http_handler_fn fn, void *arg,
                                           char *err, size_t errlen);
/* The port the server listens on. */
uint16_t http_port(const struct http_server *s);
/* Changes the limits for new connections; 0 keeps the current value.
 * Defaults: HTTP_TIMEOUT_MS, HTTP_MAX_CONNS. */
void http_set_limits(struct http_server *s, int timeout_ms, int max_conns);
/* Host names (admin.http_hosts) served besides address literals and
 * localhost (see http_host_allowed); copied. */
void http_set_hosts(struct http_server *s, char *const *names, int n);
/* Closes the listener and every connection (responses in flight are cut),
 * and frees s. NULL is a no-op. */
void http_close(struct http_server *s);

/* --- the request parser, exposed for the tests ---------------------------- */

struct http_request {
    char method[32];          /* the token, cut to 31 bytes (then it is
                                 neither GET nor HEAD) */
    char path[HTTP_MAX_PATH]; /* the target without query and fragment */
    int minor;                /* HTTP/1.<minor> */
    char host[256];           /* the Host header's value, trimmed; "" when
                                 there is none (HTTP/1.0) */
};

/*
 * Parses the request head at buf[0..len): the request line and the header
 * lines up to the empty line, lines ending in CRLF or a bare LF. Returns
 * the head's length when it is complete and valid (req filled), 0 when
 * more bytes are needed, or minus an HTTP status (-400, -414, -431, -505)
 * when the request is bad or the head would exceed HTTP_MAX_HEAD. Pure: any
 * bytes are safe.
 */
int http_parse_head(const char *buf, size_t len, struct http_request *req);
/*
 * Whether a request's Host (as in struct http_request) may be served: none
 * (HTTP/1.0), an IPv4 or bracketed IPv6 literal, "localhost", or one of
 * names (case-insensitive), with or without a port. A browser page whose
 * DNS name was rebound to this address sends that name: refused, so a web
 * page cannot read the admin port through the browser of an operator.
 */
bool http_host_allowed(const char *host, char *const *names, int nnames);
/* The reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

#endif
