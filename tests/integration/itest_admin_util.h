/*
 * itest_admin_util.h - what the admin console's programs share
 * (itest_admin_util.c): connections with bounded I/O, result sets kept
 * whole with their checks, small string helpers, the test cluster's
 * addresses and the tables both programs set up on the shard primaries.
 * itest_admin checks the shared myshard's console, itest_admin_own the
 * commands that change a myshard (a myshard of its own).
 */
#ifndef ITEST_ADMIN_UTIL_H
#define ITEST_ADMIN_UTIL_H

#include "itest.h"

#include <stdbool.h>
#include <stddef.h>

#define TA         "itest_admin_t" /* in shop, unlisted: default shard s0 */
#define TO         "orders"        /* in shop, user_hash on user_id */
#define NEW_USER   "itest_admin_u" /* added by RELOAD CONFIG */
#define NEW_PASS   "itest_admin_pw"
#define BAD_RULE   "itest_admin_no_such_rule"
#define IO_S       15  /* read/write timeout of every connection */
#define SWITCH_S   1.5 /* reads leave an OFFLINE replica within this */
#define BACK_S     5.0 /* and come back after ONLINE within this */
#define WATCHDOG_S 240

/* One statement's answer, kept whole. */
struct rs {
    bool ok;  /* the statement succeeded */
    bool set; /* ... with a result set */
    unsigned err;
    char msg[512];
    unsigned ncols;
    char **cols;
    size_t nrows;
    char **cells; /* nrows x ncols; NULL for SQL NULL */
};

extern const char *admin_user, *admin_password;
extern unsigned admin_port;         /* the shared myshard's console */
extern unsigned s0p, s0r, s1p, s1r; /* backend ports */
extern char a_s0p[32], a_s0r[32], a_s1p[32], a_s1r[32];

void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
char *xprintf(const char *fmt, ...) IT_PRINTF(1, 2);
bool is_int(const char *s);
bool is_nonneg_int(const char *s);
bool is_number(const char *s);
bool is_true_word(const char *s);
bool is_false_word(const char *s);
bool list_has(const char *list, const char *item);
int list_count(const char *list);
char *compact(const char *s);
bool contains_nocase(const char *hay, const char *needle);
bool write_file(const char *path, const char *text);
char *read_file(const char *path);
MYSQL *connect_port(const char *host, unsigned port, const char *user,
                    const char *password, const char *db, unsigned *err,
                    char *msg, size_t msg_size);
MYSQL *admin_connect(unsigned port);
MYSQL *app_connect(const char *db);
bool local_addr(MYSQL *m, char *out, size_t size);
void rs_free(struct rs *r);
void drain(MYSQL *m);
struct rs *rs_run(MYSQL *m, const char *fmt, ...) IT_PRINTF(2, 3);
int rs_col(const struct rs *r, const char *name);
const char *rs_get(const struct rs *r, size_t i, const char *name);
long rs_find(const struct rs *r, const char *name, const char *value);
char *rs_colnames(const struct rs *r);
void rs_diag(const struct rs *r, size_t max_rows);
bool check_cols(const struct rs *r, const char *cmd, const char *cols);
bool check_myshard_error(const struct rs *r, unsigned want_err,
                         const char *what);
bool need(MYSQL *a, const char *what);
bool setup(MYSQL *d0, MYSQL *d1);
void teardown(MYSQL *d0, MYSQL *d1);
/* Reads the console's credentials and the four servers' addresses from
 * the environment; false (and a failed check) when ports are missing. */
bool admin_env(void);

#endif
