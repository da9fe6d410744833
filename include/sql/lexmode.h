/*
 * lexmode.h - what a session's settings mean to the lexer: the sql_mode
 * names that change how text splits into tokens (NO_BACKSLASH_ESCAPES,
 * ANSI_QUOTES, PIPES_AS_CONCAT, and the combinations that include them),
 * the character sets the lexer models exactly, and the handshake collation
 * ids of those character sets. Settings that change lexing in ways the
 * lexer does not model (sql_mode ORACLE or MSSQL, character sets such as
 * swe7 whose ASCII bytes are letters) are reported as refused, so the
 * session can refuse them instead of lexing them approximately.
 */
#ifndef MYSHARD_SQL_LEXMODE_H
#define MYSHARD_SQL_LEXMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/lexer.h"

/* Parses the value of `SET sql_mode = value` (raw text as written: a
 * string literal with an optional introducer, a bare word, or a backtick
 * or ANSI double-quoted name, lexed under mode) into LEXM_* flags. DEFAULT
 * sets *is_default. Returns false with a `myshard:` message in why when
 * the value is not a literal list of mode names, names a mode the server
 * does not know, or a mode whose grammar the proxy cannot lex (ORACLE,
 * MSSQL). */
bool lexmode_sql_mode(const char *value, size_t len, struct lex_mode mode,
                      uint8_t *flags, bool *is_default, char *why, size_t cap);

/* The lexer's view (enum lex_charset) of the character set named by value
 * (a SET NAMES / SET CHARACTER SET / SET character_set_client value as
 * written: a name or string, NAMES may add COLLATE x). Returns false with a
 * `myshard:` message when it is DEFAULT, not a plain name, or a character
 * set the lexer does not model. */
bool lexmode_charset(const char *value, size_t len, struct lex_mode mode,
                     uint8_t *cs, char *why, size_t cap);

/* The lexer's view of a handshake collation id, and the `SET NAMES` text
 * that gives a server connection that collation. False for ids of
 * character sets the lexer does not model, or unknown ids. */
bool lexmode_collation(unsigned id, uint8_t *cs, const char **set_names);

#endif
