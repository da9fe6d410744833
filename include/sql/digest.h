/*
 * digest.h - a statement's digest: its text normalized so that statements
 * differing only in literals, case of keywords, blanks and comments share
 * one key (PRODUCT.md, "A statement's digest"). Policies match on it, the
 * cache and SHOW DIGESTS key on it.
 *
 * Rules, in order of application:
 *  - comments are dropped (myshard hints and optimizer hints included);
 *    executable comments' content is kept, as the server runs it;
 *  - every literal (number, string with or without introducer, hex, bit,
 *    `?`) becomes `?`; adjacent strings ('a' 'b', one value in MySQL) give
 *    one `?`; a unary minus or plus directly before a number or `?` folds
 *    into it (`id = -5` -> `id = ?`), while a binary one stays
 *    (`a - 5` -> `a - ?`); a minus is unary after an operator, `(`, `,`,
 *    a reserved word, or at the start;
 *  - IN followed by a parenthesised list of only literals becomes `IN (?)`;
 *  - keywords are upper-cased, identifiers kept as written without their
 *    backticks; a word followed by `(` is a function name, upper-cased,
 *    unless it names a table or index there (after INTO, TABLE, JOIN, FROM,
 *    UPDATE, REFERENCES, KEY, INDEX, ...); words before or after `.` are
 *    always identifiers; COUNT, SUM and the like are identifiers unless
 *    called; NULL, TRUE and FALSE are keywords, not literals;
 *  - CALL's routine name is kept as written, with no space before `(`;
 *  - tokens are joined by one space, except none after `(` and around `.`
 *    and `@` (user@host), none before `)`, `,` and `;`, and none between a
 *    function name and its `(`; a trailing `;` is dropped;
 *  - the digest stops at a lexical error (an unterminated string or
 *    comment), which the server rejects anyway.
 * So `select *  from products where id=42 / * x * /` (markers spaced only
 * to keep this comment legal) -> `SELECT * FROM products WHERE id = ?`.
 */
#ifndef MYSHARD_SQL_DIGEST_H
#define MYSHARD_SQL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "sql/lexer.h"

/* Writes the digest of sql[0..len), lexed under mode (the session's, so
 * that the digest's statement boundaries and literals are the server's),
 * into out[0..cap), NUL-terminated when
 * cap > 0. Returns the digest's full length: when it is >= cap, out holds
 * its first cap - 1 bytes. Linear time, no allocation. */
size_t digest_make(const char *sql, size_t len, struct lex_mode mode, char *out,
                   size_t cap);

/* 64-bit FNV-1a of s[0..len), for keying digests in hash tables. */
uint64_t digest_hash(const char *s, size_t len);

#endif
