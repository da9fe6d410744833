/*
 * console_internal.h - what the admin console's two files share: the
 * console and one admin connection. console_login.c owns a connection's
 * life (accept, greeting, TLS, login, throttling, reading packets, close);
 * console.c owns the commands a logged-in connection runs.
 */
#ifndef MYSHARD_ADMIN_CONSOLE_INTERNAL_H
#define MYSHARD_ADMIN_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "admin/console.h"
#include "base/util.h"
#include "net/worker.h"

struct event;

enum ac_state {
    AC_HANDSHAKE = 0, /* greeting sent: the response (or an SSLRequest) */
    AC_TLS,           /* the TLS handshake runs: nothing is read */
    AC_AUTH,          /* the next packet of the password exchange */
    AC_DELAY,         /* a refused login's answer held back (throttling) */
    AC_READY,         /* logged in: commands */
    AC_CLOSING,
};

struct admin_login; /* console_login.c's, during the login only */

struct admin_conn {
    struct console *con;
    struct conn *conn;
    struct event *timer; /* login timeout, then a held-back refusal */
    enum ac_state state;
    bool tls; /* the TLS handshake completed */
    uint8_t scramble[20];
    uint8_t seq;
    uint32_t id;
    char ip[46];     /* the client's address, without port */
    char schema[65]; /* USE, for EXPLAIN ROUTE; "" none */
    struct admin_login *login;
    struct admin_conn *next, *prev;
};

struct console {
    struct worker w; /* the admin thread */
    const struct admin_view *v;
    const struct admin_ops *ops;
    struct admin_conn *conns;
    uint32_t next_id;
    bool started;
    struct http_server *http; /* admin.http on the same thread */
    struct history *hist;     /* owned; the dashboard's per-second samples */
};

/* worker_listen's accept callback of admin.listen (w->ctx is the
 * console): greets the client. */
void console_conn_accept(struct worker *w, int fd, const struct sockaddr *addr,
                         int addrlen);
/* Closes ac (flushing what it has to say); freed after the loop turn. */
void console_conn_close(struct admin_conn *ac);
/* One command packet of a logged-in connection (console.c). */
void console_command(struct admin_conn *ac, const uint8_t *p, size_t len);

/* ---- a result set under construction (console.c) ---- */
struct console_table {
    const char *const *cols;
    int ncols;
    char **cells; /* owned, nrows * ncols */
    int nrows, cap;
};
/* Adds a row: ncols cells (const char *, NULL for SQL NULL). */
void console_row(struct console_table *t, ...);
/* A number as a cell (a static ring: valid until 16 more calls). */
const char *console_num(long long n);
const char *console_fixed(double x, int decimals);
/* Sends t and frees its cells. */
void console_send_table(struct admin_conn *ac, struct console_table *t);
void console_error(struct admin_conn *ac, uint16_t code, const char *state,
                   const char *fmt, ...) PRINTF_FMT(4, 5);
void console_ok(struct admin_conn *ac);

/* ---- RESHARD, SHOW RESHARD, RESHARD ABORT (console_reshard.c) ---- */
void console_cmd_reshard(struct admin_conn *ac, const char *args);
void console_cmd_show_reshard(struct admin_conn *ac, const char *args);
void console_cmd_reshard_abort(struct admin_conn *ac, const char *args);

#endif
