/*
 * test_lexmode.c - what session settings mean to the lexer: sql_mode
 * values (combinations expand as MariaDB 10.11's @@sql_mode shows them,
 * DEFAULT, refused grammars, unknown names, non-literals), character set
 * names and handshake collation ids.
 */
#include "sql/lexmode.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NBE   LEXM_NO_BACKSLASH_ESCAPES
#define ANSIQ LEXM_ANSI_QUOTES
#define PIPES LEXM_PIPES_AS_CONCAT

START_TEST(test_sql_modes)
{
    static const struct {
        const char *value;
        bool ok;
        uint8_t flags;
        bool is_default;
    } c[] = {
        {"'NO_BACKSLASH_ESCAPES'", true, NBE, false},
        {"'no_backslash_escapes,ansi_quotes'", true, NBE | ANSIQ, false},
        {"'ANSI'", true, ANSIQ | PIPES, false},
        {"'TRADITIONAL'", true, 0, false},
        {"'STRICT_TRANS_TABLES,,PIPES_AS_CONCAT,'", true, PIPES, false},
        {"''", true, 0, false},
        {"_latin1'DB2'", true, ANSIQ | PIPES, false},
        {"POSTGRESQL", true, ANSIQ | PIPES, false},
        {"`MAXDB`", true, ANSIQ | PIPES, false},
        {"DEFAULT", true, 0, true},
        {"'DEFAULT'", false, 0, false}, /* the string is a mode name */
        {"'ORACLE'", false, 0, false},
        {"'ANSI,MSSQL'", false, 0, false},
        {"'NO_SUCH_MODE'", false, 0, false},
        {"' ANSI'", false, 0, false},
        {"4", false, 0, false},
        {"0x414e5349", false, 0, false},
        {"@m", false, 0, false},
        {"CONCAT(@@sql_mode, ',ANSI')", false, 0, false},
        {"'ANSI' 'X'", false, 0, false},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char why[256] = "";
        uint8_t flags = 0xFF;
        bool def = false;
        bool ok =
            lexmode_sql_mode(c[i].value, strlen(c[i].value), LEX_MODE_DEFAULT,
                             &flags, &def, why, sizeof(why));
        ck_assert_msg(ok == c[i].ok, "%s: ok %d (%s)", c[i].value, ok, why);
        if (ok) {
            ck_assert_msg(flags == c[i].flags, "%s: flags %u want %u",
                          c[i].value, flags, c[i].flags);
            ck_assert_int_eq(def, c[i].is_default);
        } else {
            ck_assert_msg(strncmp(why, "myshard: ", 9) == 0, "%s: %s",
                          c[i].value, why);
        }
    }
    /* under ANSI_QUOTES a double-quoted value is a name: the same list */
    {
        struct lex_mode m = {ANSIQ, LEXCS_ASCII};
        uint8_t flags = 0;
        bool def = false;
        char why[256];
        ck_assert(lexmode_sql_mode("\"NO_BACKSLASH_ESCAPES\"", 22, m, &flags,
                                   &def, why, sizeof(why)));
        ck_assert_uint_eq(flags, NBE);
    }
}
END_TEST

START_TEST(test_charsets)
{
    static const struct {
        const char *value;
        bool ok;
        uint8_t cs;
    } c[] = {
        {"utf8mb4", true, LEXCS_ASCII},
        {"'utf8mb4'", true, LEXCS_ASCII},
        {"utf8 COLLATE utf8_bin", true, LEXCS_ASCII},
        {"latin1", true, LEXCS_LATIN1},
        {"GBK", true, LEXCS_GBK},
        {"gbk COLLATE gbk_bin", true, LEXCS_GBK},
        {"big5", true, LEXCS_BIG5},
        {"sjis", true, LEXCS_SJIS},
        {"cp932", true, LEXCS_SJIS},
        {"binary", true, LEXCS_ASCII},
        {"swe7", false, 0},
        {"koi8r", false, 0},
        {"gb18030", false, 0},
        {"DEFAULT", false, 0},
        {"@cs", false, 0},
        {"28", false, 0},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char why[256] = "";
        uint8_t cs = 0xFF;
        bool ok = lexmode_charset(c[i].value, strlen(c[i].value),
                                  LEX_MODE_DEFAULT, &cs, why, sizeof(why));
        ck_assert_msg(ok == c[i].ok, "%s: ok %d (%s)", c[i].value, ok, why);
        if (ok)
            ck_assert_msg(cs == c[i].cs, "%s: cs %u", c[i].value, cs);
        else
            ck_assert_msg(strncmp(why, "myshard: ", 9) == 0, "%s", why);
    }
}
END_TEST

START_TEST(test_collations)
{
    static const struct {
        unsigned id;
        bool ok;
        uint8_t cs;
        const char *names;
    } c[] = {
        {8, true, LEXCS_LATIN1, "latin1 COLLATE latin1_swedish_ci"},
        {33, true, LEXCS_ASCII, "utf8mb3 COLLATE utf8mb3_general_ci"},
        {45, true, LEXCS_ASCII, "utf8mb4 COLLATE utf8mb4_general_ci"},
        {63, true, LEXCS_ASCII, "binary"},
        {255, true, LEXCS_ASCII, "utf8mb4 COLLATE utf8mb4_general_ci"},
        {28, true, LEXCS_GBK, "gbk COLLATE gbk_chinese_ci"},
        {87, true, LEXCS_GBK, "gbk COLLATE gbk_bin"},
        {1, true, LEXCS_BIG5, "big5 COLLATE big5_chinese_ci"},
        {13, true, LEXCS_SJIS, "sjis COLLATE sjis_japanese_ci"},
        {95, true, LEXCS_SJIS, "cp932 COLLATE cp932_japanese_ci"},
        {10, false, 0, NULL}, /* swe7_swedish_ci */
        {7, false, 0, NULL},  /* koi8r_general_ci */
        {0, false, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        uint8_t cs = 0xFF;
        const char *names = NULL;
        bool ok = lexmode_collation(c[i].id, &cs, &names);
        ck_assert_msg(ok == c[i].ok, "id %u: ok %d", c[i].id, ok);
        if (ok) {
            ck_assert_msg(cs == c[i].cs, "id %u: cs %u", c[i].id, cs);
            ck_assert_str_eq(names, c[i].names);
        }
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("lexmode");
    TCase *tc = tcase_create("lexmode");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_sql_modes);
    tcase_add_test(tc, test_charsets);
    tcase_add_test(tc, test_collations);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
