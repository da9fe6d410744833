/*
 * itest_lexdiff - differential check of the SQL lexer against MariaDB
 * itself: for each case of tests/data/lexdiff/corpus.txt (and a sweep of
 * every lead byte of gbk, big5, sjis and cp932 against the trail bytes
 * that matter) the server runs the text as a multi-statement batch under
 * the case's sql_mode and client character set, and what it answers is
 * compared with what myshard's lexer predicts under the same struct
 * lex_mode: how many statements run, the bytes of every string each
 * returns, and whether the batch ends in an error (an unterminated string,
 * name or comment).
 *
 * The server lexes with character_set_client; character_set_connection and
 * character_set_results are binary, so the strings come back as the bytes
 * the lexer saw, unconverted. Statements in the corpus select string
 * literals only (names appear as aliases), so any other difference is a
 * lexing difference.
 *
 * Corpus lines: `MODE<TAB>CHARSET<TAB>TEXT`, MODE a sql_mode list or `-`,
 * TEXT with \xNN, \t, \n and \\ escapes; `#` lines are comments. Talks to
 * the s0 primary directly (S0_PRIMARY_PORT), not through the proxy.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/lexer.h"
#include "sql/lexmode.h"

#define SIG_CAP 4096

/* sig: "hex,hex;hex;" one statement per ';', then "E" after an error. */
static void
sig_add(char *sig, const char *fmt, const char *p, size_t n)
{
    size_t len = strlen(sig);
    if (p == NULL) {
        snprintf(sig + len, SIG_CAP - len, "%s", fmt);
        return;
    }
    for (size_t i = 0; i < n && len + 3 < SIG_CAP; i++)
        len += (size_t)snprintf(sig + len, SIG_CAP - len, "%02X",
                                (unsigned char)p[i]);
    snprintf(sig + len, SIG_CAP - len, "%s", fmt);
}

/* What the lexer says the server will answer. */
static void
predict(const char *sql, size_t len, struct lex_mode mode, char *sig)
{
    struct lexer lx;
    struct token t;
    bool open = false;

    enum tok_type prev = TOK_EOF;

    sig[0] = '\0';
    lexer_init(&lx, sql, len, mode);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_ERROR) {
            /* the statement does not parse: no result from it */
            char *end = strrchr(sig, ';');
            if (end != NULL)
                end[1] = '\0';
            else
                sig[0] = '\0';
            sig_add(sig, "E", NULL, 0);
            return;
        }
        if (t.type == TOK_SEMI) {
            if (open)
                sig_add(sig, ";", NULL, 0);
            open = false;
            prev = t.type;
            continue;
        }
        open = true;
        if (t.type == TOK_STRING) {
            char buf[1024];
            size_t n = lexer_unquote(t.p, t.len, mode, buf, sizeof(buf));
            if (prev == TOK_STRING) /* 'a' 'b' is one string */
                sig[strlen(sig) - 1] = '\0';
            sig_add(sig, ",", buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
        }
        prev = t.type;
    }
    if (open)
        sig_add(sig, ";", NULL, 0);
}

/* What the server answers. */
static void
observe(MYSQL *m, const char *sql, size_t len, char *sig)
{
    int st = mysql_real_query(m, sql, (unsigned long)len);

    sig[0] = '\0';
    for (;;) {
        if (st != 0) {
            sig_add(sig, "E", NULL, 0);
            break;
        }
        MYSQL_RES *r = mysql_store_result(m);
        if (r != NULL) {
            MYSQL_ROW row = mysql_fetch_row(r);
            unsigned long *lens = mysql_fetch_lengths(r);
            unsigned nf = mysql_num_fields(r);
            for (unsigned i = 0; row != NULL && i < nf; i++)
                sig_add(sig, ",", row[i] ? row[i] : "", row[i] ? lens[i] : 0);
            sig_add(sig, ";", NULL, 0);
            mysql_free_result(r);
        } else if (mysql_field_count(m) != 0) {
            st = 1;
            continue;
        }
        st = mysql_next_result(m);
        if (st == -1)
            break;
    }
    /* drain anything left after an error */
    while (mysql_more_results(m) && mysql_next_result(m) == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        if (r)
            mysql_free_result(r);
    }
}

/* Sets the case's mode on m and returns the lexer's view of it. */
static bool
set_mode(MYSQL *m, const char *modes, const char *cs, struct lex_mode *lm)
{
    char why[256], q[512];
    bool def;
    int n;

    n = snprintf(q, sizeof(q), "'%s'", strcmp(modes, "-") == 0 ? "" : modes);
    if (!lexmode_sql_mode(q, (size_t)n, LEX_MODE_DEFAULT, &lm->flags, &def, why,
                          sizeof(why)) ||
        !lexmode_charset(cs, strlen(cs), LEX_MODE_DEFAULT, &lm->charset, why,
                         sizeof(why))) {
        it_diag("%s", why);
        return false;
    }
    return it_exec(m, "SET sql_mode = %s", q) &&
           it_exec(m, "SET NAMES %s", cs) &&
           it_exec(m, "SET character_set_connection = binary, "
                      "character_set_results = binary");
}

static size_t
unescape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < cap; p++) {
        if (*p == '\\' && p[1] == 'x' && p[2] && p[3]) {
            char hx[3] = {p[2], p[3], 0};
            out[n++] = (char)strtoul(hx, NULL, 16);
            p += 3;
        } else if (*p == '\\' && p[1] == 'n') {
            out[n++] = '\n';
            p++;
        } else if (*p == '\\' && p[1] == 't') {
            out[n++] = '\t';
            p++;
        } else if (*p == '\\' && p[1] == '\\') {
            out[n++] = '\\';
            p++;
        } else {
            out[n++] = *p;
        }
    }
    return n;
}

static void
run_corpus(MYSQL *m, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int lineno = 0;

    if (!check(f != NULL, "open %s", path))
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *modes = line, *cs, *text, sql[2048];
        char want[SIG_CAP], got[SIG_CAP];
        struct lex_mode lm;
        size_t n;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        cs = strchr(modes, '\t');
        text = cs ? strchr(cs + 1, '\t') : NULL;
        if (!check(text != NULL, "%s:%d has three fields", path, lineno))
            continue;
        *cs++ = '\0';
        *text++ = '\0';
        if (!check(set_mode(m, modes, cs, &lm), "%s:%d: mode %s, charset %s",
                   path, lineno, modes, cs))
            continue;
        n = unescape(text, sql, sizeof(sql));
        predict(sql, n, lm, want);
        observe(m, sql, n, got);
        if (!check(strcmp(want, got) == 0, "%s:%d [%s %s] %s", path, lineno,
                   modes, cs, text))
            it_diag("lexer predicts %s, the server answered %s", want, got);
    }
    fclose(f);
}

/* Every lead byte against the trail bytes that are quotes, backslash or
 * range edges, in a text that is valid SQL whichever way it splits:
 * SELECT 'a<lead><trail>' -- '<newline>, 'b' ; SELECT 'z' -- ' */
static void
sweep(MYSQL *m, const char *cs, const char *modes)
{
    static const unsigned char trails[] = {
        0x22, 0x27, 0x30, 0x3F, 0x40, 0x5C, 0x60, 0x7E, 0x7F, 0x80,
        0x9F, 0xA0, 0xA1, 0xDF, 0xE0, 0xFC, 0xFD, 0xFE, 0xFF,
    };
    struct lex_mode lm;
    int bad = 0, total = 0;
    char first[256] = "";

    if (!check(set_mode(m, modes, cs, &lm), "sweep %s %s: set the mode", cs,
               modes))
        return;
    for (unsigned lead = 0x80; lead <= 0xFF; lead++) {
        for (size_t k = 0; k < sizeof(trails); k++) {
            char sql[64], want[SIG_CAP], got[SIG_CAP];
            int n = snprintf(sql, sizeof(sql),
                             "SELECT 'a%c%c' -- '\n, 'b' ; SELECT 'z' -- '",
                             (char)lead, (char)trails[k]);
            predict(sql, (size_t)n, lm, want);
            observe(m, sql, (size_t)n, got);
            total++;
            if (strcmp(want, got) != 0 && bad++ == 0)
                snprintf(first, sizeof(first),
                         "lead 0x%02X trail 0x%02X: lexer %.60s server %.60s",
                         lead, trails[k], want, got);
        }
    }
    if (!check(bad == 0, "sweep %s [%s]: %d cases, lexer and server agree", cs,
               modes, total))
        it_diag("%d differ; first: %s", bad, first);
}

int
main(void)
{
    it_init("itest_lexdiff");
    const char *src = it_env("MYSHARD_SRC", ".");
    char path[512];
    MYSQL *m = it_connect_backend("S0_PRIMARY_PORT", NULL);

    if (!check(m != NULL, "a direct connection to the s0 primary"))
        return it_done();
    snprintf(path, sizeof(path), "%s/tests/data/lexdiff/corpus.txt", src);
    run_corpus(m, path);
    sweep(m, "gbk", "-");
    sweep(m, "big5", "-");
    sweep(m, "sjis", "-");
    sweep(m, "cp932", "-");
    sweep(m, "gbk", "NO_BACKSLASH_ESCAPES");
    sweep(m, "latin1", "-");
    sweep(m, "utf8mb4", "-");
    mysql_close(m);
    return it_done();
}
