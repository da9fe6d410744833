/*
 * lexer.h - MySQL/MariaDB SQL tokens, lexed in place over the packet bytes.
 *
 * The lexer owns the token vocabulary of the sql layer: identifiers and
 * keywords, backtick-quoted identifiers, strings (both quote styles, backslash
 * escapes and doubled quotes, with an optional charset introducer such as
 * _utf8mb4'x' or N'x' folded into the token), numbers, hex and bit literals,
 * `?` placeholders, user and system variables, operators and punctuation.
 * Tokens are slices of the caller's buffer; nothing is allocated or copied,
 * and the lexer never reads outside sql[0..len), NUL bytes included.
 *
 * Comments (`/ * * /`, `#`, `-- `) are skipped, with three exceptions:
 *  - executable comments `/ *! ... * /`, `/ *!50700 ... * /` and MariaDB's
 *    `/ *M!100100 ... * /` are lexed as SQL, since the server runs them;
 *  - optimizer hints `/ *+ ... * /` are skipped but the last one is kept in
 *    struct lexer (opt_hint);
 *  - `/ * myshard: ... * /` comments are returned as TOK_HINT tokens.
 * (Spaces inside the comment markers above only keep this C comment legal.)
 *
 * The text is lexed as the server will lex it under the session's mode
 * (struct lex_mode): NO_BACKSLASH_ESCAPES turns `\` into an ordinary byte
 * inside strings; ANSI_QUOTES makes "x" a quoted identifier (TOK_QIDENT);
 * PIPES_AS_CONCAT makes `||` concatenation (the parser's business); and the
 * client character set decides which bytes pair up: in gbk, big5, sjis and
 * cp932 a lead byte and a valid trail byte are one character inside strings
 * and identifiers, so a trail byte 0x5C (`\`) or 0x60 (`) is not a quote
 * or an escape; in latin1, 0xA0 is a blank. Character sets whose lexing is
 * not modelled here (swe7, ...) are refused by the session (sql/lexmode.h),
 * never lexed approximately.
 */
#ifndef MYSHARD_SQL_LEXER_H
#define MYSHARD_SQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/keyword.h"

enum tok_type {
    TOK_EOF = 0, /* never returned by lexer_next(); parsers use it as "end" */
    TOK_IDENT,   /* bare identifier or keyword; kw says which keyword */
    TOK_QIDENT,  /* `backtick quoted` identifier, quotes included in p/len */
    TOK_STRING,  /* 'x' or "x", with an optional introducer (_utf8mb4, N) */
    TOK_NUMBER,  /* 42, 4.2, .5, 1e10, 1.5E-3 (no sign: '-' is an operator) */
    TOK_HEX,     /* 0x1F or X'1F' (optionally after _binary etc.) */
    TOK_BIT,     /* 0b101 or b'101' */
    TOK_PARAM,   /* ? placeholder; param is its 0-based index */
    TOK_USERVAR, /* @x, @'x', @"x", @`x` */
    TOK_SYSVAR,  /* @@x, @@session.x, @@global.x */
    TOK_OP,      /* operators: = <=> <= >= <> != := || && << >> -> ->> ... */
    TOK_LPAREN,  /* ( */
    TOK_RPAREN,  /* ) */
    TOK_COMMA,   /* , */
    TOK_DOT,     /* . between qualified name parts */
    TOK_SEMI,    /* ; */
    TOK_HINT,    /* a whole comment / * myshard: ... * / */
    TOK_ERROR,   /* unterminated string, name or comment: p..end (an
                    executable comment left open: empty, at the end) */
};

/* token.flags */
#define TOKF_SPACE_BEFORE 0x01u /* whitespace or a comment precedes it */
#define TOKF_IN_EXEC      0x02u /* lexed inside an executable comment */

/* lex_mode.flags: the sql_mode flags that change how text splits. */
#define LEXM_NO_BACKSLASH_ESCAPES 0x01u
#define LEXM_ANSI_QUOTES          0x02u
#define LEXM_PIPES_AS_CONCAT      0x04u

/* lex_mode.charset: how the client character set pairs bytes. */
enum lex_charset {
    LEXCS_ASCII = 0, /* ASCII bytes are themselves, >= 0x80 never pairs with
                        one: utf8mb3, utf8mb4, ascii, binary, ujis,
                        eucjpms, euckr, gb2312 */
    LEXCS_LATIN1,    /* latin1: as ASCII, and 0xA0 is a blank */
    LEXCS_GBK,       /* lead 0x81-0xFE, trail 0x40-0x7E 0x80-0xFE */
    LEXCS_BIG5,      /* lead 0xA1-0xF9, trail 0x40-0x7E 0xA1-0xFE */
    LEXCS_SJIS,      /* sjis, cp932: lead 0x81-0x9F 0xE0-0xFC, trail
                        0x40-0x7E 0x80-0xFC */
};

/* How the server will lex the text: the session's sql_mode and client
 * character set. Passed by value; {0} is the server's default (backslash
 * escapes, double-quoted strings, `||` is OR, an ASCII-safe charset). */
struct lex_mode {
    uint8_t flags;   /* LEXM_* */
    uint8_t charset; /* enum lex_charset */
};

#define LEX_MODE_DEFAULT ((struct lex_mode){0, LEXCS_ASCII})

struct token {
    enum tok_type type;
    uint16_t kw;        /* enum sql_kw for TOK_IDENT, else KW_NONE */
    uint16_t flags;     /* TOKF_* */
    uint32_t intro_len; /* literals: bytes of introducer (+ blanks) before it */
    uint32_t param;     /* TOK_PARAM: 0-based index in the whole statement */
    const char *p;      /* first byte, inside the lexed buffer */
    size_t len;         /* bytes */
};

struct lexer {
    const char *sql;      /* start of the buffer */
    const char *pos;      /* next byte to look at */
    const char *end;      /* one past the last byte */
    uint32_t nparams;     /* `?` seen so far */
    bool in_exec;         /* inside / *! ... * / */
    enum tok_type prev;   /* type of the last token returned */
    const char *prev_end; /* one past the last token returned */
    const char *opt_hint; /* last / *+ ... * / comment seen, or NULL */
    size_t opt_hint_len;  /* its length, markers included */
    struct lex_mode mode; /* how the text is lexed */
};

/* Starts lexing sql[0..len) (sql may be NULL when len is 0) under mode.
 * The buffer must outlive the lexer and its tokens. */
void lexer_init(struct lexer *lx, const char *sql, size_t len,
                struct lex_mode mode);

/* Stores the next token in *t and returns true; returns false at the end of
 * the input. After a TOK_ERROR token the input counts as consumed. */
bool lexer_next(struct lexer *lx, struct token *t);

/* True when t is a bare word equal to kw, ASCII case-insensitively. kw is a
 * NUL-terminated word ("select"); works for words that are not keywords. */
bool tok_is(const struct token *t, const char *kw);

/* Decodes an identifier, quoted identifier, string (with its introducer),
 * or user variable name from raw token text p[0..len), lexed under mode,
 * into out[0..cap): quotes removed, `` and '' and "" collapsed, backslash
 * escapes decoded in strings as MySQL does (\n, \0, \Z, ...; \% and \_
 * stay two bytes) unless mode has NO_BACKSLASH_ESCAPES or the quote is an
 * ANSI_QUOTES identifier's; multi-byte characters are copied whole. Any
 * other text (bare words, numbers, hex and bit literals) is copied
 * unchanged. Returns the decoded length; when that is
 * >= cap the output was cut at cap - 1 bytes. out is NUL-terminated when
 * cap > 0 (the decoded text itself may contain NUL bytes). */
size_t lexer_unquote(const char *p, size_t len, struct lex_mode mode, char *out,
                     size_t cap);

/* True when the identifier in raw token text p[0..len) (bare, backtick
 * or ANSI double-quote quoted) equals name[0..nlen), ASCII case-insensitively.
 * No copy. */
bool lexer_ident_eq(const char *p, size_t len, const char *name, size_t nlen);

/* Name of a token type, for tests and logs ("IDENT", "STRING", ...). */
const char *tok_type_name(enum tok_type t);

#endif
