/*
 * itest_protect_util.h - what itest_protect's sections share
 * (itest_protect_util.c): this program's myshard and its config, clients
 * with bounded waits, answers tallied by error, the admin console and the
 * HTTP port read back, and the tables on the shard primaries.
 */
#ifndef ITEST_PROTECT_UTIL_H
#define ITEST_PROTECT_UTIL_H

#include "itest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB          "itest_protect" /* backend schema of pt, s0 and s1 */
#define SCHEMA      "pt"
#define T_SW        "itest_protect_sw"
#define T_AUDIT     "itest_protect_audit"
#define T_HOT       "itest_protect_hot"
#define HOT_SQL     "SELECT v FROM " T_HOT " WHERE id = "
#define DENY_TEXT   "audit rows are never deleted"
#define ADMIN_USER  "padmin"
#define ADMIN_PASS  "padmin-pw"
#define MAX_CLIENTS 80
#define WATCHDOG_S  150
#define SPIKE_CL    10 /* leaky bucket: clients ... */
#define SPIKE_PER   3  /* ... with this many statements in flight each */
#define REPS        6  /* noncore clients of the isolation check */
#define REP_SQL     "SELECT SLEEP(1.5) AS itest_protect_rep"

#define ER_SPECIFIC_ACCESS_DENIED 1227
#define ER_OPTION_PREVENTS        1290
#define ER_USER_LIMIT             1226
#define ER_CON_COUNT              1040
#define ER_STMT_TIMEOUT           1969
#define ER_POOL_TIMEOUT           9002

struct answer {
    unsigned err; /* 0: success */
    char msg[256];
    long long value; /* first column of the first row; -1 without one */
};

/* Outcomes of a run of statements under a rate limit. */
struct tally {
    long ok, limited, other;
    long bad_msg; /* 1226 whose message lacks "myshard:" or the limit */
    unsigned other_err;
    char limited_msg[256]; /* the first refusal */
    char other_msg[256];   /* the first other error */
};

extern struct it_proxy px;
extern MYSQL *d0, *d1;
extern MYSQL *adm;

void bail(const char *why);
bool write_conf(void);
MYSQL *connect_port(unsigned port, const char *user, const char *pass,
                    const char *db, unsigned *err, char *msg, size_t msglen);
MYSQL *connect_within(double secs, const char *user, const char *pw,
                      unsigned *err, char msg[256]);
MYSQL *client(const char *user, const char *pass);
void close_all(MYSQL **ms, int n);
unsigned run(MYSQL *m, const char *sql, struct answer *a);
bool starts_myshard(const char *msg);
bool usable_within(MYSQL *m, double timeout, struct answer *a);
void tally_add(struct tally *t, const struct answer *a, const char *algo);
void check_refusals(const struct tally *t, const char *what, const char *algo);
char *admin_cell(const char *cmd, const char *key_col, const char *key,
                 const char *col);
long long admin_num(const char *cmd, const char *key_col, const char *key,
                    const char *col);
long long wait_clients_at_most(long long n, double timeout);
char *http_get(const char *path, int *status);
double metric_value(const char *text, const char *series);
bool setup_backend(void);
long long audit_rows(int id);

#endif
