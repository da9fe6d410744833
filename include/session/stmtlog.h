/*
 * stmtlog.h - log lines about the statement a client is running: the slow
 * statement, the timeout, the backend lost under it. Each carries who and
 * what (client, user, schema, duration_ms so far, digest), as text fields
 * or JSON members (log_format), so that they can be shipped as they are.
 */
#ifndef MYSHARD_SESSION_STMTLOG_H
#define MYSHARD_SESSION_STMTLOG_H

#include <stddef.h>

#include "base/log.h"

struct session;

/*
 * Logs msg with client, user, schema, the fields in extra (n of them,
 * at most 8), duration_ms (since the statement started) and digest. s is
 * in a command (its statement's start time and digest slot are set).
 */
void stmtlog_event(struct session *s, enum log_level lvl, const char *msg,
                   const struct log_field *extra, size_t n);

#endif
