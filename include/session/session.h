/*
 * session.h - one client from accept to close: the connection phase
 * (greeting, authentication), the command loop, and orderly teardown
 * (session.c); and the session as the modules below see it (client.c):
 * answers, state, pins, and the calls back up into session.c, which go
 * through the hooks it installs (struct session_hooks).
 */
#ifndef MYSHARD_SESSION_SESSION_H
#define MYSHARD_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/util.h"
#include "session/session_types.h"

struct worker;

/* What session.c does for the modules below it: installed in the worker's
 * context (wctx.hooks) at the first accept, called through client.c. */
struct session_hooks {
    void (*command_done)(struct session *s);
    void (*close)(struct session *s, const char *reason);
    void (*dispatch)(struct session *s);
    void (*login_ok)(struct session *s, int ui, const char *db, size_t dblen);
    void (*login_refused)(struct session *s, const char *user, size_t ulen,
                          bool had_password);
    void (*change_user_ok)(struct session *s, int ui, const char *db,
                           size_t dblen, uint16_t charset);
};

/* ---- session.c ---- */

/* Accepts a client socket on the worker whose ctx is a struct wctx. */
/* A client accepted only to be turned away (worker.h's worker_refuse_fn):
 * 1040 with why, counted as refused. */
void session_refuse(struct worker *w, int fd, const char *why);
void session_accept(struct worker *w, int fd, const struct sockaddr *addr,
                    int addrlen);
/* Reads and dispatches buffered client packets while IDLE. */
void session_process_input(struct session *s);
/* Frees every session of the worker (shutdown). */
void session_close_all(struct wctx *wc);

/* ---- client.c ---- */

/* The session's one timeout, from now (clock_ms()) or from now as given:
 * ms (handshake, idle, the statement's), or none (<= 0). */
void session_timer_arm(struct session *s, int64_t ms);
void session_timer_set(struct session *s, int64_t now, int64_t ms);
/* No timeout, and the event disarmed (the session is being freed). */
void session_timer_stop(struct session *s);
/* The timer fired: true when the timeout is due; false when nothing is,
 * or not yet (armed again for what is left). */
bool session_timer_due(struct session *s);

/* Only place the state changes; logs old -> new at debug level. */
void session_set_state(struct session *s, enum sess_state st);
/* The name of pin reason bit i ("transaction", "user_vars", ...), or NULL
 * for an unused bit. */
const char *session_pin_name(int bit);
/* Counts the pins the session took since the last call (per reason, in
 * its worker's pins_taken). */
void session_count_pins(struct session *s);
/* Sends an ERR packet (the proxy's own: message starts with "myshard:"). */
void session_send_error(struct session *s, uint16_t code, const char *sqlstate,
                        const char *fmt, ...) PRINTF_FMT(4, 5);
/* Counts the session as one of user ui's connections (leaving the user it
 * had); false, with 1040 sent, when the user has max_connections. */
bool session_enter_user(struct session *s, int ui);
void session_send_ok(struct session *s, uint64_t affected, const char *info);
/* Closes the client: flushes what is queued, returns or drops its backend
 * connection, frees from the event loop. */
void session_close(struct session *s, const char *reason);
/* A command finished: back to IDLE, and run the next buffered command. */
void session_command_done(struct session *s);
/* Runs s->cmd, held back until now (a rate limit's delay). */
void session_dispatch(struct session *s);
/* COM_CHANGE_USER's login passed (session/login.c). */
void session_change_user_ok(struct session *s, int ui, const char *db,
                            size_t dblen, uint16_t charset);
/* The login's password was right (session/login.c): count the session as
 * user ui's, pick its schema (db NULL: the user's first), answer OK and go
 * IDLE, or answer the error that stops it. */
void session_login_ok(struct session *s, int ui, const char *db, size_t dblen);
/* The login was refused: answer 1045 and close, the answer held back when
 * the client's address keeps failing (login.throttle). */
void session_login_refused(struct session *s, const char *user, size_t ulen,
                           bool had_password);
/* The schema's name as the backend knows it (backend_schema); for a
 * statement in flight at a reload, the one it started with. NULL: none. */
const char *session_backend_schema(const struct session *s);

#endif
