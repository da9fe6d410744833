/*
 * lexstate.h - how the session's statements are lexed: the session's
 * sql_mode and client character set, kept exactly as the server has them
 * or refused.
 *
 * The mode is derived, never guessed: from the session variables the
 * client SET (sql_mode, NAMES, CHARACTER SET, character_set_client; the
 * ones the prelude puts on every backend connection the session uses),
 * else its handshake collation, else the servers' global sql_mode as the
 * health monitor last read it. COM_RESET_CONNECTION and COM_CHANGE_USER
 * clear the variables, so the mode follows. A SET that would change the
 * mode must be one the proxy can follow: alone (not in a batch, not
 * prepared), with literal values naming modes and character sets the lexer
 * models; anything else is refused with a `myshard:` error.
 */
#ifndef MYSHARD_SESSION_LEXSTATE_H
#define MYSHARD_SESSION_LEXSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sql/classify_types.h"
#include "sql/lexer.h"

struct server_set;
struct session;
struct sessvars;

/* The LEXM_* flags of the servers' global sql_mode (as the health monitor
 * last read it; servers not read yet do not count). False, with a
 * `myshard:` message, when the servers differ or one runs a mode the lexer
 * does not model. */
bool lexstate_server_default(const struct server_set *set, uint8_t *flags,
                             char *why, size_t cap);

/* Recomputes s->lex. Returns false, with a `myshard:` message in why, when
 * the proxy cannot know how the server lexes the session's text (servers
 * whose global sql_mode differ or cannot be lexed, a character set the
 * lexer does not model); s->lex is then the server default, and statements
 * other than a SET that repairs the mode must be refused. */
bool lexstate_refresh(struct session *s, char *why, size_t cap);

/* True when st (classified under s->lex) is a SET that assigns a variable
 * that changes lexing: sql_mode, character_set_client, NAMES or CHARACTER
 * SET, in any scope or spelling. SET STATEMENT ... FOR is not one: the
 * server lexes its statement under the session's mode. */
bool lexstate_sets_mode(const struct stmt_info *st);

/* For a SET that lexstate_sets_mode(): true when the proxy can follow it,
 * i.e. session scope, literal values the lexer models, and a resulting
 * mode it knows (applying pending, the SET's tracked assignments, over
 * the session's variables). Else false with a `myshard:` message. */
bool lexstate_check_set(struct session *s, const struct stmt_info *st,
                        const struct sessvars *pending, char *why, size_t cap);

/* True when v is a session-scope `sql_mode = <expression>` whose value the
 * proxy cannot know but whose lexing flags it can: CONCAT and REPLACE over
 * the session's @@sql_mode and literal lists of mode names that change no
 * lexing flag (CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES'), as drivers send
 * at connect). Such a SET leaves s->lex as it is; it pins the session like
 * any SET of an expression. */
bool lexstate_expr_keeps_mode(const struct stmt_info *st,
                              const struct sql_setvar *v);

/* For a SET that lexstate_sets_mode() and that pins the session (one of
 * its values is an expression, so none of its assignments is tracked):
 * true when every assignment to a lexing variable is one
 * lexstate_expr_keeps_mode() accepts, so s->lex stays right. */
bool lexstate_pinned_set_ok(const struct stmt_info *st);

/* True when text lexes the same under every mode and character set the
 * lexer models (ASCII, no backslash, double quote, `|` or `[`), so a
 * session whose mode is unknown may still send it (a SET repairing it). */
bool lexstate_text_neutral(const char *sql, size_t len);

#endif
