/*
 * lexer.c - splits SQL text into tokens in place (see sql/lexer.h for the
 * vocabulary). One pass, one byte-class table, no allocation: the scanner
 * looks at each byte a bounded number of times, so a 1 MB statement lexes in
 * linear time with constant stack. Keyword ids come from the generated hash
 * table in keyword.c.
 */
#include "sql/lexer.h"

#include <string.h>

/* Byte classes: bit 1 identifier byte ([A-Za-z0-9_$] and >= 0x80),
 * 2 digit, 4 blank, 8 hex digit, 16 identifier start. */
#define CL_IDENT  1u
#define CL_DIGIT  2u
#define CL_SPACE  4u
#define CL_HEX    8u
#define CL_ISTART 16u

/* clang-format off */
static const unsigned char cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 0, 0, 0, 0, 0, 0,
    0, 25, 25, 25, 25, 25, 25, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 0, 0, 0, 0, 17,
    0, 25, 25, 25, 25, 25, 25, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 0, 0, 0, 0, 0,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
};
/* clang-format on */

static inline bool
is_space(unsigned char c)
{
    return cls[c] & CL_SPACE;
}

static inline bool
is_digit(unsigned char c)
{
    return cls[c] & CL_DIGIT;
}

static inline bool
is_ident_char(unsigned char c)
{
    return cls[c] & CL_IDENT;
}

static inline bool
is_ident_start(unsigned char c)
{
    return cls[c] & CL_ISTART;
}

static inline bool
is_hex_digit(unsigned char c)
{
    return cls[c] & CL_HEX;
}

static inline unsigned char
to_upper(unsigned char c)
{
    return (unsigned char)((unsigned)(c - 'a') < 26u ? c - 32 : c);
}

/* Bytes of the multi-byte character at s (2), or 1: a lead byte followed
 * by a valid trail byte is one character, as the server's ismbchar() says.
 * Anything else, a lead byte with a bad trail included, is one byte. */
static inline size_t
mb_len(uint8_t cs, const char *s, const char *end)
{
    unsigned char a = (unsigned char)s[0], b;

    if (a < 0x80 || cs < LEXCS_GBK || end - s < 2)
        return 1;
    b = (unsigned char)s[1];
    switch (cs) {
    case LEXCS_GBK:
        return a >= 0x81 && a <= 0xFE &&
                       ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFE))
                   ? 2
                   : 1;
    case LEXCS_BIG5:
        return a >= 0xA1 && a <= 0xF9 &&
                       ((b >= 0x40 && b <= 0x7E) || (b >= 0xA1 && b <= 0xFE))
                   ? 2
                   : 1;
    case LEXCS_SJIS:
        return ((a >= 0x81 && a <= 0x9F) || (a >= 0xE0 && a <= 0xFC)) &&
                       ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFC))
                   ? 2
                   : 1;
    default:
        return 1;
    }
}

/* A blank under the session's charset: latin1 has one above 0x7F. */
static inline bool
is_blank(const struct lexer *lx, unsigned char c)
{
    return is_space(c) || (c == 0xA0 && lx->mode.charset == LEXCS_LATIN1);
}

void
lexer_init(struct lexer *lx, const char *sql, size_t len, struct lex_mode mode)
{
    lx->mode = mode;
    lx->sql = sql;
    lx->pos = sql;
    lx->end = sql ? sql + len : sql; /* NULL + 0 is undefined */
    lx->nparams = 0;
    lx->in_exec = false;
    lx->prev = TOK_EOF;
    lx->prev_end = NULL;
    lx->opt_hint = NULL;
    lx->opt_hint_len = 0;
}

/* Case-insensitive compare of p[0..n) with an upper-case ASCII word. */
static bool
word_eq(const char *p, size_t n, const char *upper_word)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (upper_word[i] == '\0' ||
            to_upper((unsigned char)p[i]) != (unsigned char)upper_word[i])
            return false;
    }
    return upper_word[i] == '\0';
}

bool
tok_is(const struct token *t, const char *kw)
{
    size_t i;

    if (t->type != TOK_IDENT)
        return false;
    for (i = 0; i < t->len; i++) {
        if (kw[i] == '\0' ||
            to_upper((unsigned char)t->p[i]) != to_upper((unsigned char)kw[i]))
            return false;
    }
    return kw[i] == '\0';
}

/* Character sets a `_name` introducer may name (MySQL 8 and MariaDB 10/11). */
static const char *const charsets[] = {
    "ARMSCII8", "ASCII",    "BIG5",    "BINARY",   "CP1250",  "CP1251",
    "CP1256",   "CP1257",   "CP850",   "CP852",    "CP866",   "CP932",
    "DEC8",     "EUCJPMS",  "EUCKR",   "FILENAME", "GB18030", "GB2312",
    "GBK",      "GEOSTD8",  "GREEK",   "HEBREW",   "HP8",     "KEYBCS2",
    "KOI8R",    "KOI8U",    "LATIN1",  "LATIN2",   "LATIN5",  "LATIN7",
    "MACCE",    "MACROMAN", "SJIS",    "SWE7",     "TIS620",  "UCS2",
    "UJIS",     "UTF16",    "UTF16LE", "UTF32",    "UTF8",    "UTF8MB3",
    "UTF8MB4",
};

static bool
is_charset_name(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
        if (word_eq(p, n, charsets[i]))
            return true;
    return false;
}

/* Scans a quoted run starting at the opening quote s[0]; returns one past
 * the closing quote, or NULL when unterminated. Backslash escapes apply to
 * strings (unless NO_BACKSLASH_ESCAPES), not to quoted identifiers; the
 * byte after a backslash is skipped alone, as the server does. */
static const char *
scan_quoted(struct lex_mode m, const char *s, const char *end)
{
    char q = *s++;
    bool backslash = q != '`' && !(m.flags & LEXM_NO_BACKSLASH_ESCAPES) &&
                     !(q == '"' && (m.flags & LEXM_ANSI_QUOTES));

    while (s < end) {
        char c = *s;
        if ((unsigned char)c >= 0x80) {
            s += mb_len(m.charset, s, end);
            continue;
        }
        if (c == '\\' && backslash) {
            if (end - s < 2)
                return NULL;
            s += 2;
            continue;
        }
        if (c == q) {
            if (end - s >= 2 && s[1] == q) {
                s += 2;
                continue;
            }
            return s + 1;
        }
        s++;
    }
    return NULL;
}

/* A bare name: identifier bytes, multi-byte characters whole (their trail
 * byte may be any of 0x40-0x7E), and in latin1 not the blank 0xA0. */
static const char *
scan_ident(struct lex_mode m, const char *s, const char *end)
{
    while (s < end && is_ident_char((unsigned char)*s)) {
        if ((unsigned char)*s < 0x80)
            s++;
        else if (m.charset == LEXCS_LATIN1 && (unsigned char)*s == 0xA0)
            break;
        else
            s += mb_len(m.charset, s, end);
    }
    return s;
}

/* A number at s (digits, or '.' digits). Returns its end; when the digits
 * run straight into identifier bytes (123abc) returns NULL. */
static const char *
scan_number(const char *s, const char *end)
{
    const char *p = s;
    bool int_only = true;

    while (p < end && is_digit((unsigned char)*p))
        p++;
    if (p < end && *p == '.') {
        int_only = false;
        p++;
        while (p < end && is_digit((unsigned char)*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q < end && is_digit((unsigned char)*q)) {
            while (q < end && is_digit((unsigned char)*q))
                q++;
            p = q;
            int_only = false;
        }
    }
    if (int_only && p < end && is_ident_char((unsigned char)*p))
        return NULL;
    return p;
}

/* What skip_blanks() stopped at. */
enum skip_result { SKIP_OK, SKIP_HINT, SKIP_ERROR };

static bool
is_myshard_hint(const char *s, const char *end)
{
    /* s points after the opening comment marker */
    while (s < end && is_space((unsigned char)*s))
        s++;
    return end - s >= 8 && word_eq(s, 7, "MYSHARD") && s[7] == ':';
}

static const char *
find_comment_end(const char *s, const char *end)
{
    while (end - s >= 2) {
        const char *star = memchr(s, '*', (size_t)(end - s - 1));
        if (star == NULL)
            return NULL;
        if (star[1] == '/')
            return star + 2;
        s = star + 1;
    }
    return NULL;
}

/* MariaDB's executable comment for version 999999 (M!999999: the first
 * line of mariadb-dump's files): its version has six digits, above every
 * server's, so every server skips it as a comment. Not the MySQL form
 * (!999999), whose version a server may read as five digits. */
static bool
never_version(const char *body, const char *end)
{
    return *body != '!' && end - body >= 8 &&
           memcmp(body + 2, "999999", 6) == 0;
}

/* Skips blanks and comments before the next token, entering and leaving
 * executable comments. A myshard hint or an unterminated comment is stored
 * in *t and reported. */
static enum skip_result
skip_blanks(struct lexer *lx, struct token *t, bool *spaced)
{
    const char *s = lx->pos;
    const char *end = lx->end;

    for (;;) {
        unsigned char c;

        if (s >= end)
            break;
        c = (unsigned char)*s;
        if (is_blank(lx, c)) {
            s++;
            *spaced = true;
            continue;
        }
        if (c == '#') {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            s = nl ? nl + 1 : end;
            *spaced = true;
            continue;
        }
        if (c == '-' && end - s >= 2 && s[1] == '-' &&
            (end - s == 2 || is_blank(lx, (unsigned char)s[2]) ||
             (unsigned char)s[2] < 0x20 || s[2] == 0x7f)) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            s = nl ? nl + 1 : end;
            *spaced = true;
            continue;
        }
        if (c == '*' && lx->in_exec && end - s >= 2 && s[1] == '/') {
            /* end of an executable comment */
            lx->in_exec = false;
            s += 2;
            *spaced = true;
            continue;
        }
        if (c == '/' && end - s >= 2 && s[1] == '*') {
            const char *body = s + 2;
            const char *close;

            if (!lx->in_exec && body < end &&
                (*body == '!' ||
                 (end - body >= 2 && (*body == 'M' || *body == 'm') &&
                  body[1] == '!')) &&
                !never_version(body, end)) {
                /* executable comment: lex its content as SQL */
                const char *v = body + (*body == '!' ? 1 : 2);
                const char *d = v;
                while (d < end && d - v < 6 && is_digit((unsigned char)*d))
                    d++;
                if (d - v >= 5)
                    v = d;
                lx->in_exec = true;
                s = v;
                *spaced = true;
                continue;
            }
            close = find_comment_end(body, end);
            if (close == NULL) {
                t->type = TOK_ERROR;
                t->p = s;
                t->len = (size_t)(end - s);
                lx->pos = end;
                return SKIP_ERROR;
            }
            if (is_myshard_hint(body, close - 2)) {
                t->type = TOK_HINT;
                t->p = s;
                t->len = (size_t)(close - s);
                lx->pos = close;
                return SKIP_HINT;
            }
            if (body < close - 2 && *body == '+') {
                lx->opt_hint = s;
                lx->opt_hint_len = (size_t)(close - s);
            }
            s = close;
            *spaced = true;
            continue;
        }
        break;
    }
    lx->pos = s;
    return SKIP_OK;
}

/* Lexes a quoted literal whose opening quote is at q; the token starts at
 * start (introducer or X/B prefix included). */
static void
lex_quoted(struct lexer *lx, struct token *t, const char *start, const char *q,
           enum tok_type type)
{
    const char *e = scan_quoted(lx->mode, q, lx->end);

    t->p = start;
    if (e == NULL) {
        t->type = TOK_ERROR;
        t->len = (size_t)(lx->end - start);
        lx->pos = lx->end;
        return;
    }
    t->type = type;
    t->len = (size_t)(e - start);
    lx->pos = e;
}

/* After an identifier `_name` that names a charset: folds a following
 * literal into one token. Returns true when it did. */
static bool
try_introducer(struct lexer *lx, struct token *t, const char *start,
               const char *name_end)
{
    const char *s = name_end;
    const char *end = lx->end;

    if (!is_charset_name(start + 1, (size_t)(name_end - start - 1)))
        return false;
    while (s < end && is_blank(lx, (unsigned char)*s))
        s++;
    if (s >= end)
        return false;
    t->intro_len = (uint32_t)(s - start);
    if (*s == '\'' || (*s == '"' && !(lx->mode.flags & LEXM_ANSI_QUOTES))) {
        lex_quoted(lx, t, start, s, TOK_STRING);
        return true;
    }
    if ((*s == 'x' || *s == 'X') && end - s >= 2 && s[1] == '\'') {
        lex_quoted(lx, t, start, s + 1, TOK_HEX);
        return true;
    }
    if ((*s == 'b' || *s == 'B') && end - s >= 2 && s[1] == '\'') {
        lex_quoted(lx, t, start, s + 1, TOK_BIT);
        return true;
    }
    if (*s == '0' && end - s >= 3 && (s[1] == 'x' || s[1] == 'b')) {
        const char *p = s + 2;
        bool hex = s[1] == 'x';
        while (p < end && (hex ? is_hex_digit((unsigned char)*p)
                               : (*p == '0' || *p == '1')))
            p++;
        if (p > s + 2 && (p == end || !is_ident_char((unsigned char)*p))) {
            t->type = hex ? TOK_HEX : TOK_BIT;
            t->p = start;
            t->len = (size_t)(p - start);
            lx->pos = p;
            return true;
        }
    }
    t->intro_len = 0;
    return false;
}

static void
lex_word(struct lexer *lx, struct token *t, const char *s, bool after_dot)
{
    const char *e = scan_ident(lx->mode, s, lx->end);

    t->type = TOK_IDENT;
    t->p = s;
    t->len = (size_t)(e - s);
    lx->pos = e;
    if (after_dot)
        return; /* a name part after '.', never a keyword or introducer */
    if (*s == '_' && try_introducer(lx, t, s, e))
        return;
    t->kw = (uint16_t)keyword_lookup(s, t->len);
}

static void
lex_op(struct lexer *lx, struct token *t, const char *s)
{
    const char *end = lx->end;
    size_t n = 1;
    char c = s[0];
    char d = end - s >= 2 ? s[1] : '\0';

    switch (c) {
    case '<':
        if (d == '=')
            n = (end - s >= 3 && s[2] == '>') ? 3 : 2;
        else if (d == '>' || d == '<')
            n = 2;
        break;
    case '>':
        if (d == '=' || d == '>')
            n = 2;
        break;
    case '!':
        if (d == '=')
            n = 2;
        break;
    case ':':
        if (d == '=')
            n = 2;
        break;
    case '|':
        if (d == '|')
            n = 2;
        break;
    case '&':
        if (d == '&')
            n = 2;
        break;
    case '-':
        if (d == '>')
            n = (end - s >= 3 && s[2] == '>') ? 3 : 2;
        break;
    default:
        break;
    }
    t->type = TOK_OP;
    t->p = s;
    t->len = n;
    lx->pos = s + n;
}

static void
lex_variable(struct lexer *lx, struct token *t, const char *s)
{
    const char *end = lx->end;
    const char *p = s + 1;

    t->p = s;
    if (p < end && *p == '@') {
        /* @@[scope.]name */
        p++;
        if (p < end && *p == '`') {
            const char *e = scan_quoted(lx->mode, p, end);
            if (e == NULL) {
                t->type = TOK_ERROR;
                t->len = (size_t)(end - s);
                lx->pos = end;
                return;
            }
            p = e;
        } else {
            p = scan_ident(lx->mode, p, end);
            if (p < end && *p == '.' && end - p >= 2 &&
                (is_ident_char((unsigned char)p[1]) || p[1] == '`')) {
                if (p[1] == '`') {
                    const char *e = scan_quoted(lx->mode, p + 1, end);
                    if (e == NULL) {
                        t->type = TOK_ERROR;
                        t->len = (size_t)(end - s);
                        lx->pos = end;
                        return;
                    }
                    p = e;
                } else {
                    p = scan_ident(lx->mode, p + 1, end);
                }
            }
        }
        t->type = p > s + 2 ? TOK_SYSVAR : TOK_OP;
        t->len = (size_t)(p - s);
        lx->pos = p;
        return;
    }
    if (p < end && (*p == '\'' || *p == '"' || *p == '`')) {
        lex_quoted(lx, t, s, p, TOK_USERVAR);
        return;
    }
    while (p < end) {
        const char *e;
        if (*p == '.') {
            p++;
            continue;
        }
        e = scan_ident(lx->mode, p, end);
        if (e == p)
            break;
        p = e;
    }
    t->type = p > s + 1 ? TOK_USERVAR : TOK_OP;
    t->len = (size_t)(p - s);
    lx->pos = p;
}

bool
lexer_next(struct lexer *lx, struct token *t)
{
    const char *s, *end = lx->end;
    bool spaced = false;
    bool after_dot;
    unsigned char c;

    t->kw = KW_NONE;
    t->flags = 0;
    t->intro_len = 0;
    t->param = 0;
    s = lx->pos;
    while (s < end && *s == ' ')
        s++;
    if (s != lx->pos) {
        spaced = true;
        lx->pos = s;
    }
    if (s >= end)
        goto at_end;
    c = (unsigned char)*s;
    if (!(cls[c] & CL_SPACE) && c != '#' && c != '-' && c != '/' && c != '*' &&
        c != 0xA0)
        goto token; /* no comment or blank can start here */
    switch (skip_blanks(lx, t, &spaced)) {
    case SKIP_ERROR:
        lx->prev = TOK_ERROR;
        return true;
    case SKIP_HINT:
        t->flags = TOKF_SPACE_BEFORE;
        /* a hint does not change what the previous token was */
        return true;
    case SKIP_OK:
        break;
    }
    s = lx->pos;
    if (s >= end)
        goto at_end;
token:
    if (spaced || lx->prev_end != s)
        t->flags |= TOKF_SPACE_BEFORE;
    if (lx->in_exec)
        t->flags |= TOKF_IN_EXEC;
    after_dot = lx->prev == TOK_DOT && !(t->flags & TOKF_SPACE_BEFORE);
    c = (unsigned char)*s;

    switch (c) {
    case '\'':
        lex_quoted(lx, t, s, s, TOK_STRING);
        break;
    case '"':
        lex_quoted(lx, t, s, s,
                   (lx->mode.flags & LEXM_ANSI_QUOTES) ? TOK_QIDENT
                                                       : TOK_STRING);
        break;
    case '`':
        lex_quoted(lx, t, s, s, TOK_QIDENT);
        break;
    case '(':
    case ')':
    case ',':
    case ';':
        t->type = c == '('   ? TOK_LPAREN
                  : c == ')' ? TOK_RPAREN
                  : c == ',' ? TOK_COMMA
                             : TOK_SEMI;
        t->p = s;
        t->len = 1;
        lx->pos = s + 1;
        break;
    case '?':
        t->type = TOK_PARAM;
        t->p = s;
        t->len = 1;
        t->param = lx->nparams++;
        lx->pos = s + 1;
        break;
    case '@':
        if ((lx->prev == TOK_STRING || lx->prev == TOK_IDENT ||
             lx->prev == TOK_QIDENT) &&
            lx->prev_end == s) {
            /* 'user'@'host' */
            t->type = TOK_OP;
            t->p = s;
            t->len = 1;
            lx->pos = s + 1;
        } else {
            lex_variable(lx, t, s);
        }
        break;
    case '.':
        if (!after_dot && end - s >= 2 && is_digit((unsigned char)s[1]) &&
            !((lx->prev == TOK_IDENT || lx->prev == TOK_QIDENT) &&
              lx->prev_end == s)) {
            const char *e = scan_number(s, end);
            t->type = TOK_NUMBER;
            t->p = s;
            t->len = (size_t)(e - s);
            lx->pos = e;
        } else {
            t->type = TOK_DOT;
            t->p = s;
            t->len = 1;
            lx->pos = s + 1;
        }
        break;
    default:
        if (after_dot && is_ident_char(c)) {
            lex_word(lx, t, s, true);
            break;
        }
        if (is_digit(c)) {
            const char *e;
            if (c == '0' && end - s >= 3 && (s[1] == 'x' || s[1] == 'b')) {
                const char *p = s + 2;
                bool hex = s[1] == 'x';
                while (p < end && (hex ? is_hex_digit((unsigned char)*p)
                                       : (*p == '0' || *p == '1')))
                    p++;
                if (p > s + 2 &&
                    (p == end || !is_ident_char((unsigned char)*p))) {
                    t->type = hex ? TOK_HEX : TOK_BIT;
                    t->p = s;
                    t->len = (size_t)(p - s);
                    lx->pos = p;
                    break;
                }
            }
            e = scan_number(s, end);
            if (e == NULL) {
                /* 123abc is an identifier */
                e = scan_ident(lx->mode, s, end);
                t->type = TOK_IDENT;
                t->p = s;
                t->len = (size_t)(e - s);
                lx->pos = e;
                break;
            }
            t->type = TOK_NUMBER;
            t->p = s;
            t->len = (size_t)(e - s);
            lx->pos = e;
            break;
        }
        if ((c == 'x' || c == 'X') && end - s >= 2 && s[1] == '\'') {
            lex_quoted(lx, t, s, s + 1, TOK_HEX);
            break;
        }
        if ((c == 'b' || c == 'B') && end - s >= 2 && s[1] == '\'') {
            lex_quoted(lx, t, s, s + 1, TOK_BIT);
            break;
        }
        if ((c == 'n' || c == 'N') && end - s >= 2 && s[1] == '\'') {
            t->intro_len = 1;
            lex_quoted(lx, t, s, s + 1, TOK_STRING);
            break;
        }
        if (is_ident_start(c)) {
            lex_word(lx, t, s, false);
            break;
        }
        lex_op(lx, t, s);
        break;
    }
    lx->prev = t->type;
    lx->prev_end = lx->pos;
    return true;

at_end:
    if (!lx->in_exec || lx->prev == TOK_ERROR)
        return false;
    /* an executable comment that never closes: its tokens are out, so
     * the error is an empty token at the end, keeping tokens in order */
    lx->in_exec = false;
    t->type = TOK_ERROR;
    t->p = end;
    t->len = 0;
    lx->pos = end;
    lx->prev = TOK_ERROR;
    return true;
}

const char *
tok_type_name(enum tok_type t)
{
    static const char *const names[] = {
        [TOK_EOF] = "EOF",         [TOK_IDENT] = "IDENT",
        [TOK_QIDENT] = "QIDENT",   [TOK_STRING] = "STRING",
        [TOK_NUMBER] = "NUMBER",   [TOK_HEX] = "HEX",
        [TOK_BIT] = "BIT",         [TOK_PARAM] = "PARAM",
        [TOK_USERVAR] = "USERVAR", [TOK_SYSVAR] = "SYSVAR",
        [TOK_OP] = "OP",           [TOK_LPAREN] = "LPAREN",
        [TOK_RPAREN] = "RPAREN",   [TOK_COMMA] = "COMMA",
        [TOK_DOT] = "DOT",         [TOK_SEMI] = "SEMI",
        [TOK_HINT] = "HINT",       [TOK_ERROR] = "ERROR",
    };
    if ((unsigned)t < sizeof(names) / sizeof(names[0]) && names[t])
        return names[t];
    return "?";
}

static size_t
put(char *out, size_t cap, size_t n, char c)
{
    if (n + 1 < cap)
        out[n] = c;
    return n + 1;
}

size_t
lexer_unquote(const char *p, size_t len, struct lex_mode mode, char *out,
              size_t cap)
{
    const char *end;
    size_t n = 0;
    char q;
    bool backslash;

    if (len == 0) { /* p may be NULL (a USE without a name) */
        if (cap > 0)
            out[0] = '\0';
        return 0;
    }
    end = p + len;
    if (*p == '@')
        p++; /* user variable: decode its name */
    /* skip an introducer: _charset [blanks] or N; hex and bit literals
     * after one are copied unchanged */
    if (p < end && *p == '_') {
        const char *s = p;
        while (s < end && *s != '\'' && *s != '"')
            s++;
        if (s < end && s[-1] != 'x' && s[-1] != 'X' && s[-1] != 'b' &&
            s[-1] != 'B')
            p = s;
    } else if (end - p >= 2 && (*p == 'n' || *p == 'N') && p[1] == '\'') {
        p++;
    }
    if (p >= end || (*p != '\'' && *p != '"' && *p != '`')) {
        for (; p < end; p++)
            n = put(out, cap, n, *p);
        goto done;
    }
    q = *p++;
    backslash = q != '`' && !(mode.flags & LEXM_NO_BACKSLASH_ESCAPES) &&
                !(q == '"' && (mode.flags & LEXM_ANSI_QUOTES));
    if (end > p && end[-1] == q)
        end--; /* closing quote */
    while (p < end) {
        char c = *p;
        if ((unsigned char)c >= 0x80 && mb_len(mode.charset, p, end) == 2) {
            n = put(out, cap, n, c);
            n = put(out, cap, n, p[1]);
            p += 2;
            continue;
        }
        p++;
        if (c == q && p < end && *p == q) {
            n = put(out, cap, n, q);
            p++;
            continue;
        }
        if (c == '\\' && backslash && p < end) {
            char e = *p++;
            switch (e) {
            case '0':
                c = '\0';
                break;
            case 'b':
                c = '\b';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'Z':
                c = '\032';
                break;
            case '%':
            case '_':
                n = put(out, cap, n, '\\');
                c = e;
                break;
            default:
                c = e;
                break;
            }
        }
        n = put(out, cap, n, c);
    }
done:
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

bool
lexer_ident_eq(const char *p, size_t len, const char *name, size_t nlen)
{
    size_t i = 0, j = 0;

    if (len >= 2 && (p[0] == '`' || p[0] == '"') && p[len - 1] == p[0]) {
        char q = p[0];
        p++;
        len -= 2;
        while (i < len) {
            char c = p[i++];
            if (c == q && i < len && p[i] == q)
                i++;
            if (j >= nlen ||
                to_upper((unsigned char)c) != to_upper((unsigned char)name[j]))
                return false;
            j++;
        }
        return j == nlen;
    }
    if (len != nlen)
        return false;
    for (i = 0; i < len; i++)
        if (to_upper((unsigned char)p[i]) != to_upper((unsigned char)name[i]))
            return false;
    return true;
}
