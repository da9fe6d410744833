/*
 * test_lexer.c - the SQL lexer: token vocabulary, comments (executable,
 * optimizer hints, myshard hints), quoting edge cases, introducers,
 * unterminated input, NUL bytes, bounds (inputs are allocated at their
 * exact size so ASan sees any over-read), 1 MB inputs in linear time, and
 * every statement of tests/data/classify.tsv and digest.tsv lexing cleanly.
 */
#include "sql/lexer.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool hex_high; /* dump bytes >= 0x80 as \xNN */

/* Lexes sql[0..len) under mode from an exact-size heap copy into
 * "TYPE(text) ...". */
static const char *
dump_mode(const char *sql, size_t len, struct lex_mode mode)
{
    static char out[8192];
    char *copy = malloc(len ? len : 1);
    struct lexer lx;
    struct token t;
    size_t n = 0;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, sql, len);
    lexer_init(&lx, copy, len, mode);
    out[0] = '\0';
    while (lexer_next(&lx, &t)) {
        ck_assert(t.p >= copy && t.p + t.len <= copy + len);
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s(", n ? " " : "",
                              tok_type_name(t.type));
        for (size_t i = 0; i < t.len && n + 8 < sizeof(out); i++) {
            unsigned char c = (unsigned char)t.p[i];
            if (c < 0x20 || (c >= 0x80 && hex_high))
                n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
            else
                out[n++] = (char)c;
        }
        n += (size_t)snprintf(out + n, sizeof(out) - n, ")");
    }
    free(copy);
    return out;
}

static const char *
dump_n(const char *sql, size_t len)
{
    return dump_mode(sql, len, LEX_MODE_DEFAULT);
}

static const char *
dump(const char *sql)
{
    return dump_n(sql, strlen(sql));
}

static const struct {
    const char *sql;
    const char *tokens;
} cases[] = {
    {"SELECT 1", "IDENT(SELECT) NUMBER(1)"},
    {"select a,b from t", "IDENT(select) IDENT(a) COMMA(,) IDENT(b) "
                          "IDENT(from) IDENT(t)"},
    {"`a``b`.c", "QIDENT(`a``b`) DOT(.) IDENT(c)"},
    {"'it''s' \"x\\\"y\" 'back\\\\'",
     "STRING('it''s') STRING(\"x\\\"y\") STRING('back\\\\')"},
    /* numbers */
    {"1 1.5 .5 1. 1e10 1.5E-3 2e+4", "NUMBER(1) NUMBER(1.5) NUMBER(.5) "
                                     "NUMBER(1.) NUMBER(1e10) NUMBER(1.5E-3) "
                                     "NUMBER(2e+4)"},
    {"123abc 1e 0xZZ 0x", "IDENT(123abc) IDENT(1e) IDENT(0xZZ) IDENT(0x)"},
    {"0x1F X'1f' x'' 0b101 b'101' B'0'",
     "HEX(0x1F) HEX(X'1f') HEX(x'') BIT(0b101) BIT(b'101') BIT(B'0')"},
    {"t.5col t.1e5", "IDENT(t) DOT(.) IDENT(5col) IDENT(t) DOT(.) IDENT(1e5)"},
    /* introducers */
    {"_utf8mb4'x' _latin1 \"y\" _binary 0x41 _binary X'41' _utf8mb4 b'1'",
     "STRING(_utf8mb4'x') STRING(_latin1 \"y\") HEX(_binary 0x41) "
     "HEX(_binary X'41') BIT(_utf8mb4 b'1')"},
    {"_foo'x' _id N'n' n'm'",
     "IDENT(_foo) STRING('x') IDENT(_id) STRING(N'n') STRING(n'm')"},
    /* placeholders and variables */
    {"? ?", "PARAM(?) PARAM(?)"},
    {"@x @'a b' @`c` @\"d\" @x.y @", "USERVAR(@x) USERVAR(@'a b') "
                                     "USERVAR(@`c`) USERVAR(@\"d\") "
                                     "USERVAR(@x.y) OP(@)"},
    {"@@version @@session.sql_mode @@GLOBAL.x @@`y` @@",
     "SYSVAR(@@version) SYSVAR(@@session.sql_mode) SYSVAR(@@GLOBAL.x) "
     "SYSVAR(@@`y`) OP(@@)"},
    {"'bob'@'localhost' root@localhost",
     "STRING('bob') OP(@) STRING('localhost') IDENT(root) OP(@) "
     "IDENT(localhost)"},
    /* operators */
    {"a<=>b<=c>=d<>e!=f:=g||h&&i<<j>>k->l->>m",
     "IDENT(a) OP(<=>) IDENT(b) OP(<=) IDENT(c) OP(>=) IDENT(d) OP(<>) "
     "IDENT(e) OP(!=) IDENT(f) OP(:=) IDENT(g) OP(||) IDENT(h) OP(&&) "
     "IDENT(i) OP(<<) IDENT(j) OP(>>) IDENT(k) OP(->) IDENT(l) OP(->>) "
     "IDENT(m)"},
    {"a=-1;(b)*{c}%~!^", "IDENT(a) OP(=) OP(-) NUMBER(1) SEMI(;) LPAREN(() "
                         "IDENT(b) RPAREN()) OP(*) OP({) IDENT(c) OP(}) "
                         "OP(%) OP(~) OP(!) OP(^)"},
    /* comments */
    {"SELECT 1 -- comment\n, 2", "IDENT(SELECT) NUMBER(1) COMMA(,) NUMBER(2)"},
    {"SELECT 1 --\n+2", "IDENT(SELECT) NUMBER(1) OP(+) NUMBER(2)"},
    {"SELECT 5--3", "IDENT(SELECT) NUMBER(5) OP(-) OP(-) NUMBER(3)"},
    {"SELECT 5 --3", "IDENT(SELECT) NUMBER(5) OP(-) OP(-) NUMBER(3)"},
    {"SELECT 1 --", "IDENT(SELECT) NUMBER(1)"},
    {"SELECT 1 --\t2", "IDENT(SELECT) NUMBER(1)"},
    {"SELECT 1 # hash\n2", "IDENT(SELECT) NUMBER(1) NUMBER(2)"},
    {"a /* b /* c */ d */", "IDENT(a) IDENT(d) OP(*) OP(/)"},
    {"a/**/b", "IDENT(a) IDENT(b)"},
    {"a /*/ b */ c", "IDENT(a) IDENT(c)"},
    {"SELECT /*!40001 SQL_NO_CACHE */ 1",
     "IDENT(SELECT) IDENT(SQL_NO_CACHE) NUMBER(1)"},
    {"/*!50700SELECT*/1", "IDENT(SELECT) NUMBER(1)"},
    {"/*!100100 x */ /*M!100200 y*/ /*! z */", "IDENT(x) IDENT(y) IDENT(z)"},
    /* version 999999: above every server, a comment to all of them */
    {"/*M!999999\\- enable the sandbox mode */ SET", "IDENT(SET)"},
    {"/*M!9999990 x */ y /*!999999 z */", "IDENT(y) IDENT(z)"},
    {"/*!40101 a /* inner */ b */ c", "IDENT(a) IDENT(b) IDENT(c)"},
    {"SELECT /*+ BKA(t) */ 1", "IDENT(SELECT) NUMBER(1)"},
    {"/* myshard: shard=s1 */ SELECT 1",
     "HINT(/* myshard: shard=s1 */) IDENT(SELECT) NUMBER(1)"},
    {"/*MyShard:primary*/x", "HINT(/*MyShard:primary*/) IDENT(x)"},
    {"/* myshard shard=s1 */x", "IDENT(x)"},
    /* unterminated input */
    {"SELECT 'abc", "IDENT(SELECT) ERROR('abc)"},
    {"SELECT 'abc\\'", "IDENT(SELECT) ERROR('abc\\')"},
    {"SELECT 'abc\\", "IDENT(SELECT) ERROR('abc\\)"},
    {"SELECT \"x", "IDENT(SELECT) ERROR(\"x)"},
    {"SELECT `x", "IDENT(SELECT) ERROR(`x)"},
    {"SELECT X'4", "IDENT(SELECT) ERROR(X'4)"},
    {"SELECT _utf8mb4'x", "IDENT(SELECT) ERROR(_utf8mb4'x)"},
    {"SELECT @'x", "IDENT(SELECT) ERROR(@'x)"},
    {"SELECT @@`x", "IDENT(SELECT) ERROR(@@`x)"},
    {"SELECT 1 /* open", "IDENT(SELECT) NUMBER(1) ERROR(/* open)"},
    {"SELECT 1 /*", "IDENT(SELECT) NUMBER(1) ERROR(/*)"},
    {"SELECT /*! 1", "IDENT(SELECT) NUMBER(1) ERROR()"},
    /* found by fuzz_sql: the error must not go back before the comment */
    {"D/*!50700OM t WHERE id=5", "IDENT(D) IDENT(OM) IDENT(t) IDENT(WHERE) "
                                 "IDENT(id) OP(=) NUMBER(5) ERROR()"},
    {"SELECT 'a' 'b", "IDENT(SELECT) STRING('a') ERROR('b)"},
    /* odd bytes */
    {"a\\b [c]", "IDENT(a) OP(\\) IDENT(b) OP([) IDENT(c) OP(])"},
    {"caf\xc3\xa9 = 1", "IDENT(caf\xc3\xa9) OP(=) NUMBER(1)"},
    {"", ""},
    {"   \n\t ", ""},
    {";;", "SEMI(;) SEMI(;)"},
};

START_TEST(test_cases)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = dump(cases[i].sql);
        ck_assert_msg(strcmp(got, cases[i].tokens) == 0,
                      "case %zu: %s\n  want: %s\n  got:  %s", i, cases[i].sql,
                      cases[i].tokens, got);
    }
}
END_TEST

START_TEST(test_nul_bytes)
{
    const char sql[] = "SELECT\0 1\0;\0'a\0b'";

    ck_assert_str_eq(dump_n(sql, sizeof(sql) - 1),
                     "IDENT(SELECT) OP(\\x00) NUMBER(1) OP(\\x00) SEMI(;) "
                     "OP(\\x00) STRING('a\\x00b')");
}
END_TEST

START_TEST(test_token_fields)
{
    const char *sql = "SELECT ? FROM t WHERE a = ? AND _utf8mb4 'x' /*! b */";
    struct lexer lx;
    struct token t;
    unsigned params = 0;

    lexer_init(&lx, sql, strlen(sql), LEX_MODE_DEFAULT);
    ck_assert(lexer_next(&lx, &t));
    ck_assert_uint_eq(t.kw, KW_SELECT);
    ck_assert(tok_is(&t, "select"));
    ck_assert(!tok_is(&t, "selec"));
    ck_assert(!tok_is(&t, "selects"));
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_PARAM)
            ck_assert_uint_eq(t.param, params++);
        if (t.type == TOK_STRING) {
            ck_assert_uint_eq(t.intro_len, 9);
            ck_assert_int_eq(t.p[t.intro_len], '\'');
        }
        if (t.type == TOK_IDENT && t.len == 1 && t.p[0] == 'b')
            ck_assert(t.flags & TOKF_IN_EXEC);
        if (t.type == TOK_IDENT && t.len == 1 && t.p[0] == 't')
            ck_assert(t.kw == KW_NONE && (t.flags & TOKF_SPACE_BEFORE));
    }
    ck_assert_uint_eq(params, 2);
    ck_assert_uint_eq(lx.nparams, 2);

    /* optimizer hints are kept aside */
    sql = "SELECT /*+ NO_ICP(t) */ * FROM t";
    lexer_init(&lx, sql, strlen(sql), LEX_MODE_DEFAULT);
    while (lexer_next(&lx, &t))
        ;
    ck_assert_ptr_nonnull(lx.opt_hint);
    ck_assert_int_eq(lx.opt_hint_len, strlen("/*+ NO_ICP(t) */"));

    /* keywords are recognised in any case, names after '.' never */
    sql = "SeLeCt t.select";
    lexer_init(&lx, sql, strlen(sql), LEX_MODE_DEFAULT);
    lexer_next(&lx, &t);
    ck_assert_uint_eq(t.kw, KW_SELECT);
    lexer_next(&lx, &t);
    lexer_next(&lx, &t);
    lexer_next(&lx, &t);
    ck_assert_uint_eq(t.kw, KW_NONE);
    ck_assert_str_eq(keyword_name(KW_SELECT), "SELECT");
    ck_assert(keyword_flags(KW_SELECT) & KWF_RESERVED);
    ck_assert(keyword_flags(KW_COUNT) & KWF_AGG);
    ck_assert_uint_eq(keyword_lookup("group_concat", 12), KW_GROUP_CONCAT);
    ck_assert_uint_eq(keyword_lookup("orders", 6), KW_NONE);
}
END_TEST

START_TEST(test_every_keyword)
{
    /* each keyword's name finds itself, in upper and lower case */
    for (unsigned kw = 1; kw < KW__COUNT; kw++) {
        const char *name = keyword_name(kw);
        char lower[64];
        size_t n = strlen(name);

        ck_assert_uint_eq(keyword_lookup(name, n), kw);
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32
                                                                 : name[i]);
        ck_assert_uint_eq(keyword_lookup(lower, n), kw);
        /* one byte longer or shorter is another word */
        ck_assert_uint_ne(keyword_lookup(lower, n - 1), kw);
    }
}
END_TEST

START_TEST(test_unquote)
{
    char b[64];

    ck_assert_uint_eq(
        lexer_unquote("`a``b`", 6, LEX_MODE_DEFAULT, b, sizeof(b)), 3);
    ck_assert_str_eq(b, "a`b");
    ck_assert_uint_eq(
        lexer_unquote("'it''s'", 7, LEX_MODE_DEFAULT, b, sizeof(b)), 4);
    ck_assert_str_eq(b, "it's");
    ck_assert_uint_eq(lexer_unquote("'a\\nb\\tc\\\\d\\'e\\%f'", 18,
                                    LEX_MODE_DEFAULT, b, sizeof(b)),
                      12);
    ck_assert_str_eq(b, "a\nb\tc\\d'e\\%f");
    ck_assert_uint_eq(
        lexer_unquote("\"x\\0y\"", 6, LEX_MODE_DEFAULT, b, sizeof(b)), 3);
    ck_assert_int_eq(b[1], '\0');
    ck_assert_uint_eq(
        lexer_unquote("_utf8mb4 'x'", 12, LEX_MODE_DEFAULT, b, sizeof(b)), 1);
    ck_assert_str_eq(b, "x");
    ck_assert_uint_eq(lexer_unquote("N'n'", 4, LEX_MODE_DEFAULT, b, sizeof(b)),
                      1);
    ck_assert_uint_eq(lexer_unquote("@'v'", 4, LEX_MODE_DEFAULT, b, sizeof(b)),
                      1);
    ck_assert_str_eq(b, "v");
    ck_assert_uint_eq(lexer_unquote("plain", 5, LEX_MODE_DEFAULT, b, sizeof(b)),
                      5);
    ck_assert_str_eq(b, "plain");
    ck_assert_uint_eq(
        lexer_unquote("_binary X'41'", 13, LEX_MODE_DEFAULT, b, sizeof(b)), 13);
    /* truncation: full length returned, output cut and terminated */
    ck_assert_uint_eq(lexer_unquote("'abcdef'", 8, LEX_MODE_DEFAULT, b, 4), 6);
    ck_assert_str_eq(b, "abc");
    ck_assert_uint_eq(lexer_unquote("'abcdef'", 8, LEX_MODE_DEFAULT, NULL, 0),
                      6);

    ck_assert(lexer_ident_eq("`Orders`", 8, "orders", 6));
    ck_assert(lexer_ident_eq("ORDERS", 6, "orders", 6));
    ck_assert(lexer_ident_eq("`a``b`", 6, "a`b", 3));
    ck_assert(!lexer_ident_eq("`order`", 7, "orders", 6));
    ck_assert(!lexer_ident_eq("orders", 6, "order", 5));
}
END_TEST

/* Statements of the data files lex without error, tokens in order. */
static void
lex_file(const char *path, int *count)
{
    FILE *f = fopen(path, "r");
    char line[8192];

    ck_assert_msg(f != NULL, "%s: cannot open", path);
    while (fgets(line, sizeof(line), f)) {
        struct lexer lx;
        struct token t;
        const char *prev_end;
        char *tab;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        tab = strchr(line, '\t');
        if (tab)
            *tab = '\0';
        lexer_init(&lx, line, strlen(line), LEX_MODE_DEFAULT);
        prev_end = line;
        while (lexer_next(&lx, &t)) {
            ck_assert_msg(t.type != TOK_ERROR, "%s: %s", path, line);
            ck_assert(t.p >= prev_end && t.len > 0);
            prev_end = t.p + t.len;
        }
        (*count)++;
    }
    fclose(f);
}

START_TEST(test_data_files)
{
    int n = 0;

    lex_file("tests/data/classify.tsv", &n);
    lex_file("tests/data/digest.tsv", &n);
    ck_assert_int_ge(n, 120);
}
END_TEST

static double
lex_seconds(const char *sql, size_t len, size_t *ntok)
{
    struct lexer lx;
    struct token t;
    clock_t t0 = clock();

    *ntok = 0;
    lexer_init(&lx, sql, len, LEX_MODE_DEFAULT);
    while (lexer_next(&lx, &t))
        (*ntok)++;
    return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

START_TEST(test_one_megabyte)
{
    size_t len = 1u << 20, ntok;
    char *sql = malloc(len);
    double s;

    ck_assert_ptr_nonnull(sql);
    /* a 1 MB string literal */
    memset(sql, 'x', len);
    sql[0] = '\'';
    sql[len - 1] = '\'';
    s = lex_seconds(sql, len, &ntok);
    ck_assert_uint_eq(ntok, 1);
    ck_assert_msg(s < 1.0, "1 MB string: %.3f s", s);
    /* 1 MB of backslash escapes, unterminated */
    memset(sql, '\\', len);
    sql[0] = '"';
    s = lex_seconds(sql, len, &ntok);
    ck_assert_uint_eq(ntok, 1);
    /* 1 MB comment, unterminated, full of stars */
    memset(sql, '*', len);
    sql[0] = '/';
    s = lex_seconds(sql, len, &ntok);
    ck_assert_uint_eq(ntok, 1);
    ck_assert_msg(s < 1.0, "1 MB comment: %.3f s", s);
    /* 1 MB of tiny tokens */
    for (size_t i = 0; i < len; i++)
        sql[i] = "(a)+1,"[i % 6];
    s = lex_seconds(sql, len, &ntok);
    ck_assert_uint_eq(ntok, len); /* one token per byte */
    ck_assert_msg(s < 2.0, "1 MB tokens: %.3f s", s);
    /* 1 MB of nested executable comments and dashes */
    for (size_t i = 0; i < len; i++)
        sql[i] = "/*!1-- */"[i % 9];
    s = lex_seconds(sql, len, &ntok);
    ck_assert_msg(s < 2.0, "1 MB exec comments: %.3f s", s);
    free(sql);
}
END_TEST

#define NBE   LEXM_NO_BACKSLASH_ESCAPES
#define ANSIQ LEXM_ANSI_QUOTES

/* The session's mode decides where strings, names and statements end:
 * each case is what MariaDB 10.11 does with the same bytes (checked
 * against the server by tests/integration/lexdiff). */
static const struct {
    uint8_t flags, charset;
    const char *sql;
    const char *tokens;
} mode_cases[] = {
    /* the exploit of issue 11: one SELECT by default, three statements
     * under NO_BACKSLASH_ESCAPES */
    {0, LEXCS_ASCII, "SELECT 'a\\'; DELETE FROM audit_log WHERE id = 7; -- '",
     "IDENT(SELECT) STRING('a\\'; DELETE FROM audit_log WHERE id = 7; -- ')"},
    {NBE, LEXCS_ASCII, "SELECT 'a\\'; DELETE FROM audit_log WHERE id = 7; -- '",
     "IDENT(SELECT) STRING('a\\') SEMI(;) IDENT(DELETE) IDENT(FROM) "
     "IDENT(audit_log) IDENT(WHERE) IDENT(id) OP(=) NUMBER(7) SEMI(;)"},
    {NBE, LEXCS_ASCII, "'a''b' \"c\\\" 'd\\\\'",
     "STRING('a''b') STRING(\"c\\\") STRING('d\\\\')"},
    /* ANSI_QUOTES: "x" is a name, no backslash escapes inside it */
    {ANSIQ, LEXCS_ASCII, "SELECT \"a\\\"; DELETE FROM t; -- \"",
     "IDENT(SELECT) QIDENT(\"a\\\") SEMI(;) IDENT(DELETE) IDENT(FROM) "
     "IDENT(t) SEMI(;)"},
    {ANSIQ, LEXCS_ASCII, "\"a\"\"b\".\"c\" 'x\\'y' @\"v\" _utf8\"z\"",
     "QIDENT(\"a\"\"b\") DOT(.) QIDENT(\"c\") STRING('x\\'y') USERVAR(@\"v\") "
     "IDENT(_utf8) QIDENT(\"z\")"},
    /* gbk: 0x81 0x5C is one character, so the quote after it closes */
    {0, LEXCS_GBK, "SELECT 'a\x81\\'; DELETE FROM t; -- '",
     "IDENT(SELECT) STRING('a\\x81\\') SEMI(;) IDENT(DELETE) IDENT(FROM) "
     "IDENT(t) SEMI(;)"},
    {0, LEXCS_ASCII, "SELECT 'a\x81\\'; DELETE FROM t; -- '",
     "IDENT(SELECT) STRING('a\\x81\\'; DELETE FROM t; -- ')"},
    /* a lead byte with a bad trail is one byte: 0x81 0x27 closes */
    {0, LEXCS_GBK, "'\x81' 'x'", "STRING('\\x81') STRING('x')"},
    /* the byte after a backslash is skipped alone, lead byte or not */
    {0, LEXCS_GBK, "'\\\x81\\' 'y'", "STRING('\\\\x81\\' ') IDENT(y) ERROR(')"},
    /* a trail 0x60 (`) inside a bare name and a quoted one */
    {0, LEXCS_GBK, "SELECT a\x81`; DELETE FROM t; -- `",
     "IDENT(SELECT) IDENT(a\\x81`) SEMI(;) IDENT(DELETE) IDENT(FROM) "
     "IDENT(t) SEMI(;)"},
    {0, LEXCS_GBK, "`a\x81``b` x", "QIDENT(`a\\x81``) IDENT(b) ERROR(` x)"},
    {0, LEXCS_GBK, "@v\x81\\ 1", "USERVAR(@v\\x81\\) NUMBER(1)"},
    /* big5: lead 0xA1-0xF9; 0x81 is not one */
    {0, LEXCS_BIG5, "'\xa1\\' 'x'", "STRING('\\xa1\\') STRING('x')"},
    {0, LEXCS_BIG5, "'\x81\\' 'y'", "STRING('\\x81\\' ') IDENT(y) ERROR(')"},
    /* sjis and cp932: lead 0x81-0x9F and 0xE0-0xFC; 0xA1-0xDF is one
     * byte (half-width katakana) */
    {0, LEXCS_SJIS, "'\x81\\' 'x'", "STRING('\\x81\\') STRING('x')"},
    {0, LEXCS_SJIS, "'\xfc\\' 'x'", "STRING('\\xfc\\') STRING('x')"},
    {0, LEXCS_SJIS, "'\xa1\\' 'y'", "STRING('\\xa1\\' ') IDENT(y) ERROR(')"},
    /* sjis trail bytes stop at 0xFC, gbk's at 0xFE */
    {0, LEXCS_SJIS, "'\x81\xfd\\' 'y'",
     "STRING('\\x81\\xfd\\' ') IDENT(y) ERROR(')"},
    /* latin1: 0xA0 is a blank, so --<0xA0> starts a comment */
    {0, LEXCS_LATIN1, "SELECT 1 --\xa0 '\n, 2",
     "IDENT(SELECT) NUMBER(1) COMMA(,) NUMBER(2)"},
    {0, LEXCS_ASCII, "SELECT 1 --\xa0 '\n, 2",
     "IDENT(SELECT) NUMBER(1) OP(-) OP(-) IDENT(\\xa0) ERROR('\\x0a, 2)"},
    {0, LEXCS_LATIN1,
     "DELETE\xa0"
     "FROM t",
     "IDENT(DELETE) IDENT(FROM) IDENT(t)"},
    /* NO_BACKSLASH_ESCAPES and gbk together */
    {NBE, LEXCS_GBK, "'\x81\\'\\' x", "STRING('\\x81\\') OP(\\) ERROR(' x)"},
};

START_TEST(test_modes)
{
    hex_high = true;
    for (size_t i = 0; i < sizeof(mode_cases) / sizeof(mode_cases[0]); i++) {
        struct lex_mode m = {mode_cases[i].flags, mode_cases[i].charset};
        const char *got =
            dump_mode(mode_cases[i].sql, strlen(mode_cases[i].sql), m);
        ck_assert_msg(strcmp(got, mode_cases[i].tokens) == 0,
                      "case %zu (flags %u, charset %u):\n  sql: %s\n  "
                      "want: %s\n  got:  %s",
                      i, mode_cases[i].flags, mode_cases[i].charset,
                      mode_cases[i].sql, mode_cases[i].tokens, got);
    }
}
END_TEST

/* Unquoting decodes what the server would store. */
START_TEST(test_unquote_modes)
{
    static const struct {
        uint8_t flags, charset;
        const char *raw;
        const char *want;
    } u[] = {
        {0, LEXCS_ASCII, "'a\\nb'", "a\nb"},
        {NBE, LEXCS_ASCII, "'a\\nb'", "a\\nb"},
        {NBE, LEXCS_ASCII, "'c:\\dir\\'", "c:\\dir\\"},
        {ANSIQ, LEXCS_ASCII, "\"a\\n\"\"b\"", "a\\n\"b"},
        {ANSIQ, LEXCS_ASCII, "'a\\nb'", "a\nb"},
        {0, LEXCS_ASCII, "\"a\\nb\"", "a\nb"},
        {0, LEXCS_GBK, "'\xd5\\\xc4\xe3'", "\xd5\\\xc4\xe3"},
        {0, LEXCS_ASCII, "'\xd5\\\xc4\xe3'", "\xd5\xc4\xe3"},
        {0, LEXCS_SJIS, "'\x81\\n'", "\x81\\n"},
        {0, LEXCS_GBK, "`a\x81``", "a\x81`"},
        {0, LEXCS_ASCII, "`a\x81``b`", "a\x81`b"},
    };
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        char out[64];
        struct lex_mode m = {u[i].flags, u[i].charset};
        size_t n =
            lexer_unquote(u[i].raw, strlen(u[i].raw), m, out, sizeof(out));
        ck_assert_msg(n == strlen(u[i].want) && memcmp(out, u[i].want, n) == 0,
                      "unquote case %zu: %s -> got %.*s want %s", i, u[i].raw,
                      (int)n, out, u[i].want);
    }
    ck_assert(lexer_ident_eq("\"Ab\"\"c\"", 7, "ab\"C", 4));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("lexer");
    TCase *tc = tcase_create("lexer");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cases);
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_token_fields);
    tcase_add_test(tc, test_every_keyword);
    tcase_add_test(tc, test_unquote);
    tcase_add_test(tc, test_data_files);
    tcase_add_test(tc, test_one_megabyte);
    tcase_add_test(tc, test_modes);
    tcase_add_test(tc, test_unquote_modes);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
