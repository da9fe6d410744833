/*
 * Shared helpers for the integration programs (tests/integration/itest_*.c).
 *
 * Each program is a TAP producer run by tools/test.sh against a running
 * myshard (or, for development, a plain MariaDB server). The target comes
 * from the environment:
 *   MYSHARD_HOST, MYSHARD_PORT, MYSHARD_USER, MYSHARD_PASSWORD, MYSHARD_DB
 *   MYSHARD_EXPECT_PROXY=1     enables checks only the proxy can pass
 *   S0_PRIMARY_PORT, S0_REPLICA_PORT, S1_PRIMARY_PORT, S1_REPLICA_PORT
 *   BACKEND_USER, BACKEND_PASSWORD   direct access to the shard servers
 * Output: one `ok N - name` / `not ok N - name` line per check, `# ...`
 * diagnostics after a failure, the plan `1..N` last. it_done() returns the
 * exit status: 1 if any check failed.
 *
 * Checks may be called from one thread only; threaded tests collect their
 * results and check them afterwards.
 */
#ifndef MYSHARD_ITEST_H
#define MYSHARD_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <mysql.h>

#define IT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Reads the environment, initialises the client library and arms a
 * watchdog (MYSHARD_TEST_TIMEOUT_S, default 600 s) that bails out. */
void it_init(const char *program);
/* Prints the plan and returns the exit status (0 all passed, 1 otherwise). */
int it_done(void);

/* True when MYSHARD_EXPECT_PROXY=1: proxy-only checks run. */
bool it_expect_proxy(void);
const char *it_host(void);
unsigned it_port(void);
const char *it_user(void);
const char *it_password(void);
const char *it_db(void);
/* Environment value or dflt when unset or empty. */
const char *it_env(const char *name, const char *dflt);

/* One TAP line: `ok N - name` or `not ok N - name`. Returns cond. */
bool check(bool cond, const char *fmt, ...) IT_PRINTF(2, 3);
/* `ok N - name # SKIP why`. */
void it_skip(const char *why, const char *fmt, ...) IT_PRINTF(2, 3);
/* A `# ...` diagnostic line. */
void it_diag(const char *fmt, ...) IT_PRINTF(1, 2);
/* Compare and explain: expected vs got on failure. got may be NULL. */
bool check_str(const char *got, const char *expected, const char *fmt, ...)
    IT_PRINTF(3, 4);
bool check_int(long long got, long long expected, const char *fmt, ...)
    IT_PRINTF(3, 4);
/* Checks that the last statement on m failed with errno expected. */
bool check_errno(MYSQL *m, unsigned expected, const char *fmt, ...)
    IT_PRINTF(3, 4);

/* Connection to the tested endpoint as MYSHARD_USER into MYSHARD_DB with
 * CLIENT_MULTI_STATEMENTS. NULL (and a diagnostic) on failure. */
MYSQL *it_connect(void);
/* Same endpoint, other credentials/database/flags. db may be NULL. On
 * failure returns NULL and, if err is not NULL, stores the errno there. */
MYSQL *it_connect_as(const char *user, const char *password, const char *db,
                     unsigned long flags, unsigned *err);
/* Direct connection to a shard server on 127.0.0.1 whose port is in the
 * environment variable port_env, as BACKEND_USER. Without that variable
 * (development against one server) it falls back to the tested endpoint.
 * db may be NULL. */
MYSQL *it_connect_backend(const char *port_env, const char *db);
/* Port of a shard server (port_env) or 0 when unset. */
unsigned it_backend_port(const char *port_env);

/* Runs sql (printf format), discards any result. false and a diagnostic
 * naming the statement and error on failure. */
bool it_exec(MYSQL *m, const char *fmt, ...) IT_PRINTF(2, 3);
/* First column of the first row of sql, malloc'd (caller frees). NULL on
 * error (with a diagnostic) or when the value is SQL NULL; *is_null tells
 * which when not NULL. */
char *it_value(MYSQL *m, bool *is_null, const char *fmt, ...) IT_PRINTF(3, 4);
/* Same as an integer; dflt on error or NULL. */
long long it_int(MYSQL *m, long long dflt, const char *fmt, ...)
    IT_PRINTF(3, 4);

/* Monotonic seconds. */
double it_now(void);
/* Lower-case hex MD5 of len bytes into out[33]. */
void it_md5_hex(const void *data, size_t len, char out[33]);
/* Deterministic pseudo-random bytes. */
void it_fill_random(unsigned char *buf, size_t len, unsigned seed);
/* Lower-case hex of len bytes, malloc'd (2*len+1). */
char *it_hex(const unsigned char *data, size_t len);
/* A loopback TCP port nobody listens on right now. */
unsigned it_free_port(void);

/* Sleeps ms milliseconds (restarted after signals). */
void it_sleep_ms(long ms);
/* VmRSS of process pid in kB, -1 when unknown. */
long it_rss_kb(pid_t pid);
/* Size of the file in bytes, 0 when it cannot be read. */
long it_file_size(const char *path);
/* Whether the file holds needle past byte offset from. */
bool it_file_has(const char *path, long from, const char *needle);

/* A private myshard a program runs ($MYSHARD_BIN -c cfg) with its config
 * and log (stdout and stderr, every start appended) in a temporary
 * directory. user/password (set by it_proxy_init to MYSHARD_USER and
 * MYSHARD_PASSWORD) is the login that probes the listen port at start;
 * io_s is the read/write timeout of that probe. exit_detail adds how the
 * process ended to the diagnostic when it exits at start-up. */
struct it_proxy {
    volatile pid_t pid; /* -1 when not running */
    unsigned port, admin_port, http_port;
    const char *bin;
    const char *user, *password;
    unsigned io_s;
    bool exit_detail;
    char dir[256], cfg[300], log[300];
};

/* Seconds it_proxy_start waits for the listen port to accept a client. */
#define IT_PROXY_START_S 20.0

/* Sets p up: bin from MYSHARD_BIN (NULL when unset), no process. */
void it_proxy_init(struct it_proxy *p);
/* Whether p->bin is an executable file. */
bool it_proxy_have_bin(const struct it_proxy *p);
/* Replaces it_init's watchdog: after min(MYSHARD_TEST_TIMEOUT_S, limit_s)
 * seconds p's process gets SIGKILL and the program bails out. */
void it_proxy_watchdog(struct it_proxy *p, unsigned limit_s);
/* Creates $MYSHARD_TEST_DIR/<program>.XXXXXX (p->dir), names
 * myshard.yaml (p->cfg) and myshard.log (p->log) in it and picks three
 * distinct free loopback ports. false with errno set when mkdtemp fails. */
bool it_proxy_dir(struct it_proxy *p, const char *program);
/* Starts p->bin -c p->cfg and waits up to IT_PROXY_START_S for its listen
 * port to accept a client; diagnostics and the log's tail on failure.
 * *log_from (when not NULL) gets the log offset of this start. */
bool it_proxy_start(struct it_proxy *p, long *log_from);
/* Sends sig and waits up to timeout s, then SIGKILL. True when it exited
 * on its own; *status (when not NULL) gets the wait status, -1 when no
 * process was running. */
bool it_proxy_stop(struct it_proxy *p, int sig, double timeout, int *status);
/* A client of p's listen port as user/password in db, with a 5 s connect
 * and read_s read/write timeouts; NULL (diagnosed) when it cannot log in. */
MYSQL *it_proxy_connect(const struct it_proxy *p, const char *user,
                        const char *password, const char *db, unsigned read_s);
/* Whether the process is running (started and not stopped). */
bool it_proxy_running(const struct it_proxy *p);
/* SIGKILL without waiting, for bail-outs. */
void it_proxy_kill(struct it_proxy *p);
/* The last lines of the log past offset from as `log: ` diagnostics. */
void it_proxy_log_tail(const struct it_proxy *p, long from, int lines);
/* Whether the log has no AddressSanitizer, LeakSanitizer,
 * UndefinedBehaviorSanitizer or runtime error report. */
bool it_proxy_log_clean(const struct it_proxy *p);
/* At the end: with rc 0 removes the config, the log and the directory
 * (other files in it first), else says where the files are kept. */
void it_proxy_cleanup(const struct it_proxy *p, int rc);

#endif
