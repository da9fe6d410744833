/*
 * limits.h - connection counts shared by every worker, without locks:
 * the proxy's client connections (max_client_connections) and each
 * user's (users[].max_connections, 1040 beyond it). Users are counted by
 * name, so the counts survive a reload that reorders or renames others.
 */
#ifndef MYSHARD_SESSION_LIMITS_H
#define MYSHARD_SESSION_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

/* Takes one client connection place; false when max (> 0) are taken. */
bool limits_client_enter(int64_t max);
void limits_client_leave(void);
long long limits_clients(void);

/* The counter slot of a user name (created on first use); -1 only when
 * the table of names is full (then the user is not limited). */
int limits_user_slot(const char *name);
/* Takes one of the user's places; false when max (> 0) are taken. */
bool limits_user_enter(int slot, int64_t max);
void limits_user_leave(int slot);
/* Open connections of the user (0 when never seen). */
long long limits_user_count(const char *name);

#endif
