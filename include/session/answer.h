/*
 * answer.h - statements the proxy answers itself, from its config and the
 * session, without a backend: SHOW DATABASES [LIKE], SELECT DATABASE(), and
 * a BEGIN or COMMIT that has touched no shard yet. (USE: session/schema.h.)
 */
#ifndef MYSHARD_SESSION_ANSWER_H
#define MYSHARD_SESSION_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

struct session;
struct stmt_info;

/* True when st is SELECT DATABASE() (or SCHEMA()) and nothing else. */
bool answer_is_select_database(const struct stmt_info *st);
/* The schemas the user may use, those matching like when has_like. */
void answer_show_databases(struct session *s, const char *like, size_t len,
                           bool has_like);
/* The current schema's name as the client knows it, or NULL, in a column
 * named as the server names it: st's one select item as written. */
void answer_select_database(struct session *s, const struct stmt_info *st);
/* BEGIN before any shard is touched: remembered (sent with the first
 * statement that needs a shard) and answered OK. */
void answer_begin_later(struct session *s, const char *sql, size_t len);
/* COMMIT/ROLLBACK of a transaction that touched no shard: answered OK. */
void answer_end_empty(struct session *s);

#endif
