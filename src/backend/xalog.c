/*
 * xalog.c - see xalog.h. Appends are one write() each on an O_APPEND
 * descriptor, so workers need no lock; the commit decision is synced
 * before any XA COMMIT is sent. Recovery runs once, at start-up, with
 * blocking libmariadb connections, before any client is accepted.
 */
#include "backend/xalog.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "backend/mysqltls.h"
#include "backend/server.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg_types.h"

#define XALOG_MAGIC "myshard-xa-log v1 instance="

static int log_fd = -1;

/* Commits whose decision was logged but whose XA COMMIT failed on some
 * shard: the resolver thread finishes them while myshard runs. */
static pthread_mutex_t res_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t res_cv = PTHREAD_COND_INITIALIZER;
static struct decisions *res_pending; /* guarded by res_mu */
static bool res_running, res_stop;
static pthread_t res_tid;
static const struct server_set *res_set;
static char *res_user, *res_password;
static int64_t res_connect_timeout_ms;
static struct mysqltls res_tls;
static char instance[9];
static char prefix[32]; /* "myshard:<instance>:" */
static atomic_ullong next_seq;

bool
xalog_enabled(void)
{
    return log_fd >= 0;
}

void
xalog_next_gtrid(char *out, size_t len)
{
    unsigned long long n = atomic_fetch_add(&next_seq, 1);

    snprintf(out, len, "%s%llu", prefix, n);
}

static bool
append(const char *line, size_t n)
{
    ssize_t w;

    do
        w = write(log_fd, line, n);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)n;
}

bool
xalog_commit(const char *gtrid)
{
    char line[128];
    int n = snprintf(line, sizeof(line), "C %s\n", gtrid);

    if (log_fd < 0 || n <= 0 || (size_t)n >= sizeof(line))
        return false;
    if (!append(line, (size_t)n) || fdatasync(log_fd) != 0) {
        log_error("xa decision log write failed gtrid=%s error=\"%s\"", gtrid,
                  strerror(errno));
        return false;
    }
    return true;
}

void
xalog_done(const char *gtrid)
{
    char line[128];
    int n = snprintf(line, sizeof(line), "D %s\n", gtrid);

    if (log_fd >= 0 && n > 0 && (size_t)n < sizeof(line) &&
        !append(line, (size_t)n))
        log_warn("xa decision log write failed gtrid=%s error=\"%s\"", gtrid,
                 strerror(errno));
}

static void resolver_start(const struct cfg *cfg, const struct server_set *set);
static void resolver_stop(void);

void
xalog_close(void)
{
    resolver_stop();
    if (log_fd >= 0)
        close(log_fd);
    log_fd = -1;
}

/* ---- reading the log ------------------------------------------------- */

struct decisions {
    char **v; /* gtrids committed and not yet done */
    int n, cap;
};

static int
dec_find(const struct decisions *d, const char *g)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->v[i], g) == 0)
            return i;
    return -1;
}

static void
dec_free(struct decisions *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
}

/* Reads the instance id and the pending decisions; false when the file
 * exists but is not a decision log. A missing file is an empty log. */
static bool
read_log(const char *path, struct decisions *d, bool *exists, char *err,
         size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[256];
    int lineno = 0;

    *exists = f != NULL;
    if (f == NULL) {
        if (errno == ENOENT)
            return true;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (++lineno == 1) {
            if (strncmp(line, XALOG_MAGIC, strlen(XALOG_MAGIC)) != 0 ||
                strlen(line + strlen(XALOG_MAGIC)) != 8) {
                snprintf(err, errlen,
                         "%s:1: not a myshard xa decision log (expected "
                         "'" XALOG_MAGIC "<8 hex digits>')",
                         path);
                fclose(f);
                return false;
            }
            memcpy(instance, line + strlen(XALOG_MAGIC), 8);
            instance[8] = '\0';
            continue;
        }
        if (n < 3 || line[1] != ' ')
            continue; /* a torn last line from a crash */
        if (line[0] == 'C' && dec_find(d, line + 2) < 0) {
            if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 16;
                d->v = xrealloc(d->v, (size_t)d->cap * sizeof(*d->v));
            }
            d->v[d->n++] = xstrdup(line + 2);
        } else if (line[0] == 'D') {
            int i = dec_find(d, line + 2);
            if (i >= 0) {
                free(d->v[i]);
                d->v[i] = d->v[--d->n];
            }
        }
    }
    fclose(f);
    if (lineno == 0) {
        snprintf(err, errlen, "%s: empty file; remove it to start a new log",
                 path);
        return false;
    }
    return true;
}

/* Writes the log anew (header + decisions still pending), atomically. */
static bool
rewrite_log(const char *path, const struct decisions *d, char *err,
            size_t errlen)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return false;
    }
    fprintf(f, XALOG_MAGIC "%s\n", instance);
    for (int i = 0; i < d->n; i++)
        fprintf(f, "C %s\n", d->v[i]);
    if (fflush(f) != 0 || fdatasync(fileno(f)) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        fclose(f);
        return false;
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

/* ---- recovery ---------------------------------------------------------- */

static void
hex(char *out, const char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[(unsigned char)p[i] >> 4];
        out[2 * i + 1] = digits[(unsigned char)p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* How recovery logs in to the primaries (backend.user and friends). */
struct login {
    const char *user;
    const char *password;
    int64_t connect_timeout_ms;
    const struct mysqltls *tls;
};

static MYSQL *
connect_primary(const struct login *lg, const struct server *s)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = (unsigned)((lg->connect_timeout_ms + 999) / 1000);
    unsigned rw = 10;
    unsigned proto = MYSQL_PROTOCOL_TCP;

    if (m == NULL)
        return NULL;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    mysqltls_apply(m, lg->tls);
    if (mysql_real_connect(m, s->host, lg->user, lg->password, NULL, s->port,
                           NULL, 0) == NULL) {
        log_warn("xa recovery cannot connect backend=%s error=\"%s\"", s->addr,
                 mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Resolves the shard's prepared branches of this instance: 1 done, 0 some
 * failed, -1 the primary could not be asked (its decisions must be kept).
 * only_decided: touch only the branches d lists (commit them), leaving
 * others (in flight right now) alone. */
static int
recover_server(const struct login *lg, const struct server *s,
               const struct decisions *d, struct xa_recovery *rec,
               bool only_decided)
{
    MYSQL *m = connect_primary(lg, s);
    MYSQL_RES *res;
    MYSQL_ROW row;
    size_t plen = strlen(prefix);
    bool ok = true;

    if (m == NULL)
        return -1;
    if (mysql_query(m, "XA RECOVER") != 0 ||
        (res = mysql_store_result(m)) == NULL) {
        log_warn("xa recovery: XA RECOVER failed backend=%s error=\"%s\"",
                 s->addr, mysql_error(m));
        mysql_close(m);
        return -1;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(res);
        long fmt = strtol(row[0], NULL, 10);
        long gl = strtol(row[1], NULL, 10);
        long bl = strtol(row[2], NULL, 10);
        char gtrid[129], ghex[257], bhex[257], sql[700];
        bool commit;

        if (gl < 0 || bl < 0 || gl > 64 || bl > 64 ||
            (unsigned long)(gl + bl) > len[3])
            continue;
        if ((size_t)gl <= plen || memcmp(row[3], prefix, plen) != 0) {
            rec->foreign++;
            continue;
        }
        memcpy(gtrid, row[3], (size_t)gl);
        gtrid[gl] = '\0';
        hex(ghex, row[3], (size_t)gl);
        hex(bhex, row[3] + gl, (size_t)bl);
        commit = dec_find(d, gtrid) >= 0;
        if (only_decided && !commit)
            continue; /* a transaction of this instance still running */
        snprintf(sql, sizeof(sql), "XA %s X'%s',X'%s',%ld",
                 commit ? "COMMIT" : "ROLLBACK", ghex, bhex, fmt);
        if (mysql_query(m, sql) != 0) {
            log_warn("xa recovery: %s failed backend=%s gtrid=%s error=\"%s\"",
                     commit ? "commit" : "rollback", s->addr, gtrid,
                     mysql_error(m));
            rec->failed++;
            ok = false;
            continue;
        }
        log_info("xa recovery: %s backend=%s gtrid=%s",
                 commit ? "committed" : "rolled back", s->addr, gtrid);
        if (commit)
            rec->committed++;
        else
            rec->rolled_back++;
    }
    mysql_free_result(res);
    mysql_close(m);
    return ok ? 1 : 0;
}

bool
xalog_open(const struct cfg *cfg, const struct server_set *set,
           struct xa_recovery *rec, char *err, size_t errlen)
{
    struct decisions d = {0};
    bool exists, all = true;
    const char *path = cfg->xa_log;
    struct mysqltls tls;
    const struct login lg = {cfg->backend.user, cfg->backend.password,
                             cfg->backend.connect_timeout_ms, &tls};

    memset(rec, 0, sizeof(*rec));
    mysqltls_from(&tls, &cfg->backend.tls);
    if (!read_log(path, &d, &exists, err, errlen)) {
        dec_free(&d);
        return false;
    }
    if (!exists) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
        snprintf(instance, sizeof(instance), "%08x", r);
    }
    snprintf(prefix, sizeof(prefix), "myshard:%s:", instance);
    /* Ids stay unique across restarts without being stored. */
    atomic_store(&next_seq, (unsigned long long)time(NULL) * 1000000ull);
    for (int i = 0; i < set->nshards; i++) {
        int r =
            recover_server(&lg, &set->v[set->shard_primary[i]], &d, rec, false);
        all &= r == 1;
        rec->unreachable += r < 0;
    }
    if (all) {
        /* Every decision is carried out (or had nothing left to do). */
        for (int i = 0; i < d.n; i++)
            free(d.v[i]);
        d.n = 0;
    }
    if (!rewrite_log(path, &d, err, errlen)) {
        dec_free(&d);
        return false;
    }
    dec_free(&d);
    log_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log_fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    log_info("xa recovery instance=%s log=%s committed=%d rolled_back=%d "
             "failed=%d unreachable_primaries=%d foreign=%d",
             instance, path, rec->committed, rec->rolled_back, rec->failed,
             rec->unreachable, rec->foreign);
    resolver_start(cfg, set);
    return true;
}

/* ---- resolving incomplete commits while running ------------------------ */

#define RESOLVE_EVERY_S 2

void
xalog_commit_incomplete(const char *gtrid)
{
    pthread_mutex_lock(&res_mu);
    if (res_running && dec_find(res_pending, gtrid) < 0) {
        struct decisions *d = res_pending;
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 8;
            d->v = xrealloc(d->v, (size_t)d->cap * sizeof(*d->v));
        }
        d->v[d->n++] = xstrdup(gtrid);
        pthread_cond_signal(&res_cv);
    }
    pthread_mutex_unlock(&res_mu);
}

int
xalog_in_doubt(void)
{
    int n;

    pthread_mutex_lock(&res_mu);
    n = res_running && res_pending != NULL ? res_pending->n : 0;
    pthread_mutex_unlock(&res_mu);
    return n;
}

static void *
resolver(void *arg)
{
    const struct login lg = {res_user, res_password, res_connect_timeout_ms,
                             &res_tls};

    (void)arg;
    mysql_thread_init();
    pthread_mutex_lock(&res_mu);
    while (!res_stop) {
        struct decisions todo = {0};
        struct xa_recovery rec;
        bool all = true;
        struct timespec until;

        if (res_pending->n == 0) {
            pthread_cond_wait(&res_cv, &res_mu);
            continue;
        }
        for (int i = 0; i < res_pending->n; i++) {
            if (todo.n == todo.cap) {
                todo.cap = todo.cap ? todo.cap * 2 : 8;
                todo.v = xrealloc(todo.v, (size_t)todo.cap * sizeof(char *));
            }
            todo.v[todo.n++] = xstrdup(res_pending->v[i]);
        }
        pthread_mutex_unlock(&res_mu);
        /* The decision is commit for every one of them; branches not in
         * XA RECOVER any more are done. Other in-doubt branches of this
         * instance are left to start-up recovery. */
        memset(&rec, 0, sizeof(rec));
        for (int i = 0; i < res_set->nshards; i++)
            all &= recover_server(&lg, &res_set->v[res_set->shard_primary[i]],
                                  &todo, &rec, true) == 1;
        pthread_mutex_lock(&res_mu);
        if (all) {
            for (int i = 0; i < todo.n; i++) {
                int k = dec_find(res_pending, todo.v[i]);
                xalog_done(todo.v[i]);
                log_info("xa commit completed gtrid=%s", todo.v[i]);
                if (k >= 0) {
                    free(res_pending->v[k]);
                    res_pending->v[k] = res_pending->v[--res_pending->n];
                }
            }
        }
        dec_free(&todo);
        if (res_pending->n == 0 || res_stop)
            continue;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += RESOLVE_EVERY_S;
        pthread_cond_timedwait(&res_cv, &res_mu, &until);
    }
    pthread_mutex_unlock(&res_mu);
    mysql_thread_end();
    return NULL;
}

static void
resolver_start(const struct cfg *cfg, const struct server_set *set)
{
    res_set = set;
    res_user = xstrdup(cfg->backend.user);
    res_password = xstrdup(cfg->backend.password ? cfg->backend.password : "");
    res_connect_timeout_ms = cfg->backend.connect_timeout_ms;
    mysqltls_from(&res_tls, &cfg->backend.tls);
    res_pending = xcalloc(1, sizeof(*res_pending));
    res_stop = false;
    res_running = pthread_create(&res_tid, NULL, resolver, NULL) == 0;
}

static void
resolver_stop(void)
{
    pthread_mutex_lock(&res_mu);
    if (!res_running) {
        pthread_mutex_unlock(&res_mu);
        return;
    }
    res_stop = true;
    pthread_cond_signal(&res_cv);
    pthread_mutex_unlock(&res_mu);
    pthread_join(res_tid, NULL);
    res_running = false;
    dec_free(res_pending);
    free(res_pending);
    res_pending = NULL;
    free(res_user);
    free(res_password);
}
