/*
 * lexmode.c - see lexmode.h. Tables: the sql_mode names MariaDB 10.11
 * knows (what each combination expands to, checked against the server's
 * @@sql_mode), the character sets the lexer models, and their collations
 * below 256 (the ones a handshake can name), from the server's
 * information_schema.COLLATIONS.
 */
#include "sql/lexmode.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* sql_mode names and the LEXM_* flags each sets; refused: grammars the
 * lexer does not model (ORACLE's PL/SQL, MSSQL's [bracket] names). */
static const struct {
    const char *name;
    uint8_t flags;
    bool refused;
} modes[] = {
    {"REAL_AS_FLOAT", 0, false},
    {"PIPES_AS_CONCAT", LEXM_PIPES_AS_CONCAT, false},
    {"ANSI_QUOTES", LEXM_ANSI_QUOTES, false},
    {"IGNORE_SPACE", 0, false},
    {"IGNORE_BAD_TABLE_OPTIONS", 0, false},
    {"ONLY_FULL_GROUP_BY", 0, false},
    {"NO_UNSIGNED_SUBTRACTION", 0, false},
    {"NO_DIR_IN_CREATE", 0, false},
    {"POSTGRESQL", LEXM_PIPES_AS_CONCAT | LEXM_ANSI_QUOTES, false},
    {"ORACLE", LEXM_PIPES_AS_CONCAT | LEXM_ANSI_QUOTES, true},
    {"MSSQL", LEXM_PIPES_AS_CONCAT | LEXM_ANSI_QUOTES, true},
    {"DB2", LEXM_PIPES_AS_CONCAT | LEXM_ANSI_QUOTES, false},
    {"MAXDB", LEXM_PIPES_AS_CONCAT | LEXM_ANSI_QUOTES, false},
    {"NO_KEY_OPTIONS", 0, false},
    {"NO_TABLE_OPTIONS", 0, false},
    {"NO_FIELD_OPTIONS", 0, false},
    {"MYSQL323", 0, false},
    {"MYSQL40", 0, false},
    {"ANSI", LEXM_PIPES_AS_CONCAT | LEXM_ANSI_QUOTES, false},
    {"NO_AUTO_VALUE_ON_ZERO", 0, false},
    {"NO_BACKSLASH_ESCAPES", LEXM_NO_BACKSLASH_ESCAPES, false},
    {"STRICT_TRANS_TABLES", 0, false},
    {"STRICT_ALL_TABLES", 0, false},
    {"NO_ZERO_IN_DATE", 0, false},
    {"NO_ZERO_DATE", 0, false},
    {"ALLOW_INVALID_DATES", 0, false},
    {"ERROR_FOR_DIVISION_BY_ZERO", 0, false},
    {"TRADITIONAL", 0, false},
    {"NO_AUTO_CREATE_USER", 0, false},
    {"HIGH_NOT_PRECEDENCE", 0, false},
    {"NO_ENGINE_SUBSTITUTION", 0, false},
    {"PAD_CHAR_TO_FULL_LENGTH", 0, false},
    {"EMPTY_STRING_IS_NULL", 0, false},
    {"SIMULTANEOUS_ASSIGNMENT", 0, false},
    {"TIME_ROUND_FRACTIONAL", 0, false},
};

/* Character sets the lexer models; any other is refused. */
static const struct {
    const char *name;
    uint8_t cs;
} charsets[] = {
    {"utf8mb4", LEXCS_ASCII}, {"utf8mb3", LEXCS_ASCII}, {"utf8", LEXCS_ASCII},
    {"ascii", LEXCS_ASCII},   {"binary", LEXCS_ASCII},  {"ujis", LEXCS_ASCII},
    {"eucjpms", LEXCS_ASCII}, {"euckr", LEXCS_ASCII},   {"gb2312", LEXCS_ASCII},
    {"latin1", LEXCS_LATIN1}, {"gbk", LEXCS_GBK},       {"big5", LEXCS_BIG5},
    {"sjis", LEXCS_SJIS},     {"cp932", LEXCS_SJIS},
};

/* Handshake collation ids of those character sets (MariaDB 10.11), and
 * 255, MySQL 8's utf8mb4_0900_ai_ci, served as utf8mb4_general_ci. */
static const struct {
    uint8_t id;
    const char *charset;
    const char *names; /* SET NAMES text */
} collations[] = {
    {1, "big5", "big5 COLLATE big5_chinese_ci"},
    {5, "latin1", "latin1 COLLATE latin1_german1_ci"},
    {8, "latin1", "latin1 COLLATE latin1_swedish_ci"},
    {11, "ascii", "ascii COLLATE ascii_general_ci"},
    {12, "ujis", "ujis COLLATE ujis_japanese_ci"},
    {13, "sjis", "sjis COLLATE sjis_japanese_ci"},
    {15, "latin1", "latin1 COLLATE latin1_danish_ci"},
    {19, "euckr", "euckr COLLATE euckr_korean_ci"},
    {24, "gb2312", "gb2312 COLLATE gb2312_chinese_ci"},
    {28, "gbk", "gbk COLLATE gbk_chinese_ci"},
    {31, "latin1", "latin1 COLLATE latin1_german2_ci"},
    {33, "utf8mb3", "utf8mb3 COLLATE utf8mb3_general_ci"},
    {45, "utf8mb4", "utf8mb4 COLLATE utf8mb4_general_ci"},
    {46, "utf8mb4", "utf8mb4 COLLATE utf8mb4_bin"},
    {47, "latin1", "latin1 COLLATE latin1_bin"},
    {48, "latin1", "latin1 COLLATE latin1_general_ci"},
    {49, "latin1", "latin1 COLLATE latin1_general_cs"},
    {63, "binary", "binary"},
    {65, "ascii", "ascii COLLATE ascii_bin"},
    {83, "utf8mb3", "utf8mb3 COLLATE utf8mb3_bin"},
    {84, "big5", "big5 COLLATE big5_bin"},
    {85, "euckr", "euckr COLLATE euckr_bin"},
    {86, "gb2312", "gb2312 COLLATE gb2312_bin"},
    {87, "gbk", "gbk COLLATE gbk_bin"},
    {88, "sjis", "sjis COLLATE sjis_bin"},
    {91, "ujis", "ujis COLLATE ujis_bin"},
    {94, "latin1", "latin1 COLLATE latin1_spanish_ci"},
    {95, "cp932", "cp932 COLLATE cp932_japanese_ci"},
    {96, "cp932", "cp932 COLLATE cp932_bin"},
    {97, "eucjpms", "eucjpms COLLATE eucjpms_japanese_ci"},
    {98, "eucjpms", "eucjpms COLLATE eucjpms_bin"},
    {192, "utf8mb3", "utf8mb3 COLLATE utf8mb3_unicode_ci"},
    {193, "utf8mb3", "utf8mb3 COLLATE utf8mb3_icelandic_ci"},
    {194, "utf8mb3", "utf8mb3 COLLATE utf8mb3_latvian_ci"},
    {195, "utf8mb3", "utf8mb3 COLLATE utf8mb3_romanian_ci"},
    {196, "utf8mb3", "utf8mb3 COLLATE utf8mb3_slovenian_ci"},
    {197, "utf8mb3", "utf8mb3 COLLATE utf8mb3_polish_ci"},
    {198, "utf8mb3", "utf8mb3 COLLATE utf8mb3_estonian_ci"},
    {199, "utf8mb3", "utf8mb3 COLLATE utf8mb3_spanish_ci"},
    {200, "utf8mb3", "utf8mb3 COLLATE utf8mb3_swedish_ci"},
    {201, "utf8mb3", "utf8mb3 COLLATE utf8mb3_turkish_ci"},
    {202, "utf8mb3", "utf8mb3 COLLATE utf8mb3_czech_ci"},
    {203, "utf8mb3", "utf8mb3 COLLATE utf8mb3_danish_ci"},
    {204, "utf8mb3", "utf8mb3 COLLATE utf8mb3_lithuanian_ci"},
    {205, "utf8mb3", "utf8mb3 COLLATE utf8mb3_slovak_ci"},
    {206, "utf8mb3", "utf8mb3 COLLATE utf8mb3_spanish2_ci"},
    {207, "utf8mb3", "utf8mb3 COLLATE utf8mb3_roman_ci"},
    {208, "utf8mb3", "utf8mb3 COLLATE utf8mb3_persian_ci"},
    {209, "utf8mb3", "utf8mb3 COLLATE utf8mb3_esperanto_ci"},
    {210, "utf8mb3", "utf8mb3 COLLATE utf8mb3_hungarian_ci"},
    {211, "utf8mb3", "utf8mb3 COLLATE utf8mb3_sinhala_ci"},
    {212, "utf8mb3", "utf8mb3 COLLATE utf8mb3_german2_ci"},
    {213, "utf8mb3", "utf8mb3 COLLATE utf8mb3_croatian_mysql561_ci"},
    {214, "utf8mb3", "utf8mb3 COLLATE utf8mb3_unicode_520_ci"},
    {215, "utf8mb3", "utf8mb3 COLLATE utf8mb3_vietnamese_ci"},
    {223, "utf8mb3", "utf8mb3 COLLATE utf8mb3_general_mysql500_ci"},
    {224, "utf8mb4", "utf8mb4 COLLATE utf8mb4_unicode_ci"},
    {225, "utf8mb4", "utf8mb4 COLLATE utf8mb4_icelandic_ci"},
    {226, "utf8mb4", "utf8mb4 COLLATE utf8mb4_latvian_ci"},
    {227, "utf8mb4", "utf8mb4 COLLATE utf8mb4_romanian_ci"},
    {228, "utf8mb4", "utf8mb4 COLLATE utf8mb4_slovenian_ci"},
    {229, "utf8mb4", "utf8mb4 COLLATE utf8mb4_polish_ci"},
    {230, "utf8mb4", "utf8mb4 COLLATE utf8mb4_estonian_ci"},
    {231, "utf8mb4", "utf8mb4 COLLATE utf8mb4_spanish_ci"},
    {232, "utf8mb4", "utf8mb4 COLLATE utf8mb4_swedish_ci"},
    {233, "utf8mb4", "utf8mb4 COLLATE utf8mb4_turkish_ci"},
    {234, "utf8mb4", "utf8mb4 COLLATE utf8mb4_czech_ci"},
    {235, "utf8mb4", "utf8mb4 COLLATE utf8mb4_danish_ci"},
    {236, "utf8mb4", "utf8mb4 COLLATE utf8mb4_lithuanian_ci"},
    {237, "utf8mb4", "utf8mb4 COLLATE utf8mb4_slovak_ci"},
    {238, "utf8mb4", "utf8mb4 COLLATE utf8mb4_spanish2_ci"},
    {239, "utf8mb4", "utf8mb4 COLLATE utf8mb4_roman_ci"},
    {240, "utf8mb4", "utf8mb4 COLLATE utf8mb4_persian_ci"},
    {241, "utf8mb4", "utf8mb4 COLLATE utf8mb4_esperanto_ci"},
    {242, "utf8mb4", "utf8mb4 COLLATE utf8mb4_hungarian_ci"},
    {243, "utf8mb4", "utf8mb4 COLLATE utf8mb4_sinhala_ci"},
    {244, "utf8mb4", "utf8mb4 COLLATE utf8mb4_german2_ci"},
    {245, "utf8mb4", "utf8mb4 COLLATE utf8mb4_croatian_mysql561_ci"},
    {246, "utf8mb4", "utf8mb4 COLLATE utf8mb4_unicode_520_ci"},
    {247, "utf8mb4", "utf8mb4 COLLATE utf8mb4_vietnamese_ci"},
    {255, "utf8mb4", "utf8mb4 COLLATE utf8mb4_general_ci"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The first token of value as a name (unquoted), and what follows it. */
static bool
value_name(const char *value, size_t len, struct lex_mode mode, char *out,
           size_t cap, struct token *t, struct lexer *lx)
{
    size_t n;

    lexer_init(lx, value, len, mode);
    if (!lexer_next(lx, t))
        return false;
    if (t->type != TOK_IDENT && t->type != TOK_QIDENT && t->type != TOK_STRING)
        return false;
    n = lexer_unquote(t->p, t->len, mode, out, cap);
    return n < cap;
}

bool
lexmode_sql_mode(const char *value, size_t len, struct lex_mode mode,
                 uint8_t *flags, bool *is_default, char *why, size_t cap)
{
    char list[1024];
    struct lexer lx;
    struct token t, extra;
    const char *p, *end;

    *flags = 0;
    *is_default = false;
    if (!value_name(value, len, mode, list, sizeof(list), &t, &lx) ||
        lexer_next(&lx, &extra)) {
        snprintf(why, cap,
                 "myshard: sql_mode can only be set to a quoted list of "
                 "mode names or DEFAULT here (the proxy must know the mode "
                 "to read later statements as the server will)");
        return false;
    }
    if (t.type == TOK_IDENT && strcasecmp(list, "DEFAULT") == 0) {
        *is_default = true;
        return true;
    }
    p = list;
    end = list + strlen(list);
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        size_t i;

        for (i = 0; n > 0 && i < NELEM(modes); i++)
            if (strlen(modes[i].name) == n &&
                strncasecmp(modes[i].name, p, n) == 0)
                break;
        if (n > 0 && i == NELEM(modes)) {
            snprintf(why, cap,
                     "myshard: unknown sql_mode '%.*s'; the proxy knows "
                     "MariaDB's mode names",
                     (int)(n < 64 ? n : 64), p);
            return false;
        }
        if (n > 0 && modes[i].refused) {
            snprintf(why, cap,
                     "myshard: sql_mode %s is not supported: it changes the "
                     "SQL grammar in ways the proxy cannot read as the "
                     "server does",
                     modes[i].name);
            return false;
        }
        if (n > 0)
            *flags |= modes[i].flags;
        p += n + 1;
    }
    return true;
}

static const char supported_charsets[] =
    "utf8mb4, utf8mb3, ascii, binary, latin1, gbk, big5, sjis, cp932, "
    "ujis, eucjpms, euckr, gb2312";

bool
lexmode_charset(const char *value, size_t len, struct lex_mode mode,
                uint8_t *cs, char *why, size_t cap)
{
    char name[64];
    struct lexer lx;
    struct token t;

    if (!value_name(value, len, mode, name, sizeof(name), &t, &lx)) {
        snprintf(why, cap,
                 "myshard: name the character set (one of %s) so the proxy "
                 "reads later statements as the server will",
                 supported_charsets);
        return false;
    }
    if (t.type == TOK_IDENT && strcasecmp(name, "DEFAULT") == 0) {
        snprintf(why, cap,
                 "myshard: name the character set instead of DEFAULT (one "
                 "of %s)",
                 supported_charsets);
        return false;
    }
    for (size_t i = 0; i < NELEM(charsets); i++) {
        if (strcasecmp(charsets[i].name, name) == 0) {
            *cs = charsets[i].cs;
            return true;
        }
    }
    snprintf(why, cap,
             "myshard: character set '%s' is not supported by the proxy: "
             "its bytes may split into tokens differently; use one of %s",
             name, supported_charsets);
    return false;
}

bool
lexmode_collation(unsigned id, uint8_t *cs, const char **set_names)
{
    /* every statement asks for its session's collation: the last answer
     * of this thread is kept (the tables never change) */
    static _Thread_local struct {
        int id; /* -1: none yet */
        uint8_t cs;
        const char *names;
    } last = {-1, 0, NULL};

    if ((int)id == last.id) {
        *cs = last.cs;
        if (set_names != NULL)
            *set_names = last.names;
        return true;
    }
    for (size_t i = 0; i < NELEM(collations); i++) {
        if (collations[i].id != id)
            continue;
        for (size_t j = 0; j < NELEM(charsets); j++) {
            if (strcmp(charsets[j].name, collations[i].charset) == 0) {
                *cs = charsets[j].cs;
                break;
            }
        }
        if (set_names != NULL)
            *set_names = collations[i].names;
        last.id = (int)id;
        last.cs = *cs;
        last.names = collations[i].names;
        return true;
    }
    return false;
}
