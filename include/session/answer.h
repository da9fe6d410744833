/*
 * answer.h - statements the proxy answers itself, from its config and the
 * session, without a backend: SHOW DATABASES [LIKE], SELECT DATABASE(), and
 * a BEGIN or COMMIT that has touched no shard yet. (USE: session/schema.h.)
 */
#ifndef MYSHARD_SESSION_ANSWER_H
#define MYSHARD_SESSION_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct session;
struct stmt_info;

/* True when st is SELECT DATABASE() (or SCHEMA()) and nothing else. */
bool answer_is_select_database(const struct stmt_info *st);
/* True when st is a read the proxy answers itself, whatever the shards
 * hold: SHOW DATABASES [LIKE] (the schemas the user may use) and SELECT
 * DATABASE() (the current schema as the client knows it). */
bool answer_is_proxy_read(const struct stmt_info *st);
/* Writes its answer to out (binary: as an EXECUTE's rows); false when it
 * cannot be answered (SHOW DATABASES WHERE), nothing written. */
bool answer_write_proxy_read(struct session *s, const struct stmt_info *st,
                             bool binary, struct evbuffer *out);
/* BEGIN before any shard is touched: remembered (sent with the first
 * statement that needs a shard) and answered OK. */
void answer_begin_later(struct session *s, const char *sql, size_t len);
/* COMMIT/ROLLBACK of a transaction that touched no shard: answered OK. */
void answer_end_empty(struct session *s);

#endif
