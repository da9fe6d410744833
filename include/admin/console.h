/*
 * console.h - the admin console: MySQL protocol on admin.listen, on its own
 * thread (an event loop of its own, apart from the workers), for the admin
 * user of the config only. Every command is declared once, with its help
 * text, in console.c's table; every answer is a result set.
 */
#ifndef MYSHARD_ADMIN_CONSOLE_H
#define MYSHARD_ADMIN_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/snapshot.h"

struct console;

/* What the console may ask of the proxy beyond reading it. */
struct admin_ops {
    /* RELOAD CONFIG: true when applied; msg says what happened or every
     * diagnostic. NULL: reload is not available. */
    bool (*reload)(void *arg, char *msg, size_t msglen);
    void *arg;
};

/* Starts the admin thread listening on cfg's admin.listen. NULL with a
 * message when it cannot listen. v and ops must outlive the console. */
struct console *console_start(const struct admin_view *v,
                              const struct admin_ops *ops,
                              const struct cfg *cfg, char *err, size_t errlen);
/* Closes every admin connection and joins the thread. */
void console_stop(struct console *con);

/* Closes client id on its worker; false when no such client. Thread-safe. */
bool console_kill_client(const struct admin_view *v, unsigned id);

#endif
