/*
 * client.c - the session as the modules below session.c see it: answers to
 * the client (OK, ERR), its state, its pins, the schema its statements run
 * in, and the calls that go back up to the session's own loop (a command
 * ended, close, a delayed command's turn, a login's outcome) through the
 * hooks session.c installs (struct session_hooks), so that no module calls
 * back into a file that calls it.
 */
#include "session/session.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/clock.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "session/limits.h"

static const char *const state_names[] = {
    "handshake",    "auth_switch", "auth_delay", "idle",
    "wait_backend", "prelude",     "relay",      "closing"};

void
session_set_state(struct session *s, enum sess_state st)
{
    log_debug("session state client=%u %s -> %s", s->id, state_names[s->state],
              state_names[st]);
    s->state = st;
}

const char *
session_pin_name(int bit)
{
    static const char *const names[PIN_REASONS] = {
        "transaction", "session_vars", "user_vars",  "temp_table",
        "locks",       "warnings",     "found_rows", "last_insert",
        "sql_prepare", "pool_session",
    };

    return bit >= 0 && bit < PIN_REASONS ? names[bit] : NULL;
}

void
session_count_pins(struct session *s)
{
    unsigned fresh = s->pins & ~s->pins_counted;

    for (int i = 0; fresh != 0 && i < PIN_REASONS; i++)
        if (fresh & (1u << i))
            STATS_ADD(&s->wc->stats, pins_taken[i], 1);
    s->pins_counted = s->pins;
}

void
session_send_error(struct session *s, uint16_t code, const char *sqlstate,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->cmd_err = true;
    s->row_count = -1; /* ROW_COUNT() after an error */
    if (code == ER_MYSHARD_POOL_TIMEOUT)
        STATS_ADD(&s->wc->stats, pool_timeouts_total, 1);
    else if (code == ER_MYSHARD_NO_BACKEND)
        STATS_ADD(&s->wc->stats, no_backend_total, 1);
    else if (code == ER_MYSHARD_CIRCUIT_OPEN)
        STATS_ADD(&s->wc->stats, circuit_refused_total, 1);
    proto_write_err(s->conn->out, &s->seq, code, sqlstate, "%s", msg);
}

bool
session_enter_user(struct session *s, int ui)
{
    const struct cfg_user *u = &s->wc->cfg->users[ui];
    int slot = limits_user_slot(u->name);

    if (!limits_user_enter(slot, u->max_connections)) {
        STATS_ADD(&s->wc->stats, connections_refused_total, 1);
        log_info("user connection limit client=%u addr=%s user=%s max=%lld",
                 s->id, s->addr, u->name, (long long)u->max_connections);
        session_send_error(s, ER_CON_COUNT_ERROR, "08004",
                           "myshard: too many connections for user '%s' "
                           "(users[].max_connections = %lld); close some "
                           "or raise the limit",
                           u->name, (long long)u->max_connections);
        return false;
    }
    limits_user_leave(s->user_slot);
    s->user_slot = slot;
    return true;
}

void
session_send_ok(struct session *s, uint64_t affected, const char *info)
{
    proto_write_ok(s->conn->out, &s->seq, affected, 0, s->status, 0, info);
    s->row_count = (int64_t)affected;
}

const char *
session_backend_schema(const struct session *s)
{
    if (s->stmt_schema != NULL)
        return s->stmt_schema; /* started before a reload */
    if (s->schema < 0)
        return NULL;
    return s->wc->cfg->schemas[s->schema].backend_schema;
}

/* ---- up to the session's loop (session.c), through its hooks ---------- */

void
session_command_done(struct session *s)
{
    s->lid_need = 0; /* LID_NONE: each statement weighs its own */
    s->wc->hooks->command_done(s);
}

void
session_close(struct session *s, const char *reason)
{
    s->wc->hooks->close(s, reason);
}

void
session_dispatch(struct session *s)
{
    s->wc->hooks->dispatch(s);
}

void
session_login_ok(struct session *s, int ui, const char *db, size_t dblen)
{
    s->wc->hooks->login_ok(s, ui, db, dblen);
}

void
session_login_refused(struct session *s, const char *user, size_t ulen,
                      bool had_password)
{
    s->wc->hooks->login_refused(s, user, ulen, had_password);
}

void
session_change_user_ok(struct session *s, int ui, const char *db, size_t dblen,
                       uint16_t charset)
{
    s->wc->hooks->change_user_ok(s, ui, db, dblen, charset);
}

/*
 * The session's one timeout (handshake, idle, or the statement's: the
 * funnel) moves twice per statement. Re-adding the event each time would
 * cost two timer-heap updates per statement, so it is armed lazily: a
 * later deadline leaves it where it is (an early firing arms it again for
 * what is left), an earlier one moves it.
 */
void
session_timer_set(struct session *s, int64_t now, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (ms <= 0) {
        s->deadline = 0; /* a firing finds nothing due */
        return;
    }
    s->deadline = now + ms;
    if (s->timer_due != 0 && s->timer_due <= s->deadline)
        return;
    evtimer_add(s->timer, &tv);
    s->timer_due = s->deadline;
}

void
session_timer_arm(struct session *s, int64_t ms)
{
    session_timer_set(s, clock_ms(), ms);
}

void
session_timer_stop(struct session *s)
{
    evtimer_del(s->timer);
    s->timer_due = 0;
    s->deadline = 0;
}

bool
session_timer_due(struct session *s)
{
    int64_t now = clock_ms();

    s->timer_due = 0;
    if (s->deadline == 0)
        return false;
    if (now < s->deadline) {
        session_timer_set(s, now, s->deadline - now);
        return false;
    }
    s->deadline = 0;
    return true;
}
