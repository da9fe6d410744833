/*
 * protect.h - what is decided about a statement before it runs: the first
 * matching policy (PRODUCT.md "policies": a case-insensitive prefix of the
 * digest and/or a regular expression over it, and/or a user) may deny it,
 * route its reads, or cache it; the user's and the policy's rate limits
 * admit it, delay it (leaky bucket) or refuse it (1226).
 */
#ifndef MYSHARD_SESSION_PROTECT_H
#define MYSHARD_SESSION_PROTECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/lexer.h"

struct session;
struct cfg;
struct cfg_policy;
struct cfg_rate_limit;

enum admit {
    ADMIT_GO = 0, /* run it now */
    ADMIT_WAIT,   /* delayed: the command is dispatched again by itself */
    ADMIT_DONE,   /* refused: the error is sent and the command is done */
};

/* For the statement in flight, whose text is sql[0..len) (shape: its
 * stmt_info.shape, 0 unknown; lex_error: it does not lex to its end). Sets the
 * statement's route preference and cache TTL. */
enum admit protect_admit(struct session *s, const char *sql, size_t len,
                         uint64_t shape, bool lex_error);
/* Holds the admitted command in flight for delay_us, then dispatches it
 * again (admitted: the limits are not taken twice). The caller returns at
 * once; the session waits in SESS_WAIT_BACKEND on its own timer. */
void protect_retry_in(struct session *s, int64_t delay_us);
/* A limit in words ("token_bucket 50/s burst 10"), for errors and the
 * console; "" when there is none. */
void protect_describe_limit(const struct cfg_rate_limit *r, char *buf,
                            size_t len);
/* The first policy for user (index, -1 none) and digest, or NULL. */
const struct cfg_policy *protect_match(const struct cfg *c, int user,
                                       const char *digest);
/* The policy for user and the statement text sql[0..len): its whole
 * digest (never cut) is matched as it is and with the qualifiers that name
 * a configured schema dropped (`shop.audit_log` is `audit_log`); a deny
 * matching either wins, else the first policy. incomplete (the text does
 * not lex to its end): any deny policy of the user is returned, since the
 * part not seen might have matched it. NULL when none. */
const struct cfg_policy *protect_match_sql(const struct cfg *c, int user,
                                           const char *sql, size_t len,
                                           struct lex_mode mode,
                                           bool incomplete);

/* Statement shapes remembered with their policy, per worker. */
#define PROTECT_SHAPES 1024

struct protect_shape {
    uint64_t shape; /* stmt_info.shape; 0 = empty */
    int user;
    const struct cfg_policy *p;
};

struct protect_memo {
    const struct cfg *cfg;   /* the generation the entries hold for */
    struct protect_shape *v; /* owned; PROTECT_SHAPES, on first use */
};

/* protect_match_sql() under the worker's config generation, remembered by
 * the statement's shape (stmt_info.shape; 0: unknown, always matched):
 * statements of one shape share their digest, so their policy. */
const struct cfg_policy *protect_match_shape(struct protect_memo *m,
                                             const struct cfg *c, int user,
                                             const char *sql, size_t len,
                                             struct lex_mode mode,
                                             bool incomplete, uint64_t shape);
void protect_memo_free(struct protect_memo *m);

#endif
