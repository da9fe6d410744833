/*
 * control.c - several myshard instances in front of the same shards agree
 * on the placement through the shards' own MariaDB: the schema
 * reshard.control (myshard_control) on the primary of the first shard of
 * shards:.
 *
 *   placement  one row: the live placement file's text and its generation
 *              number, written by the instance running a reshard before it
 *              switches its own workers (the cluster-wide commit point)
 *   instances  one row per instance: heartbeat (the control server's
 *              clock), the placement generation it runs, the hold it
 *              acknowledges and its in-flight moving writes
 *   holds      one row per cutover hold: reshard id, sequence, owner and
 *              expiry (the owner's max_pause deadline plus a margin)
 *
 * Every instance runs a control thread. It polls the holds, then the
 * placement (an instance that sees a hold expire reads the placement after
 * it, so a switch published before the expiry is never missed), applies a
 * newer placement to its workers, holds the moving writes a hold names and
 * acknowledges it once none of its own are in flight, and writes its
 * heartbeat. While its generation has a moving set it polls every 50 ms;
 * when it cannot reach the control server for CONTROL_LEASE_MS it holds
 * every moving write itself, so an instance cut off from the others cannot
 * write to a source that another instance has switched away from. The
 * instance running the cutover counts an instance as gone when its
 * heartbeat is older than CONTROL_DEAD_MS, well after that instance has
 * fenced itself.
 */
#include "rs_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg.h"
#include "cfg/cfg_place.h"
#include "session/movehold.h"

#define POLL_MOVING_MS 50
#define POLL_IDLE_MS   500

/* The tables, in the schema reshard.control (made by the first reshard;
 * until then an instance has nothing to read and writes no heartbeat). */
static const char *const schema_sql[] = {
    "CREATE TABLE IF NOT EXISTS placement (id TINYINT "
    "PRIMARY KEY, gen BIGINT NOT NULL, text MEDIUMTEXT NOT NULL, updated "
    "TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE "
    "CURRENT_TIMESTAMP(3)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS instances (name VARCHAR(191) "
    "PRIMARY KEY, heartbeat_ms BIGINT NOT NULL, gen BIGINT NOT NULL, hold_id "
    "BIGINT NOT NULL DEFAULT 0, hold_seq BIGINT NOT NULL DEFAULT 0, inflight "
    "INT NOT NULL DEFAULT 0) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS holds (reshard_id BIGINT "
    "PRIMARY KEY, seq BIGINT NOT NULL, owner VARCHAR(191) NOT NULL, "
    "expires_ms BIGINT NOT NULL) ENGINE=InnoDB",
};

#define NOW_MS "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"

static struct {
    pthread_t tid;
    char schema[65]; /* reshard.control */
    bool in_schema;  /* the connection USEs it (it exists) */
    bool running;
    atomic_bool stop;
    char name[192];
    struct reshard tmpl; /* connection settings only (rsdb_connect) */
    struct rs_server srv;
    char state_path[4096];
    MYSQL *m;
    bool schema_made;
    int64_t gen;     /* the placement generation the workers run */
    int64_t last_ok; /* monotonic ms of the last successful poll */
    /* moving sets of the running generation: slots this thread made */
    uint64_t ids[MOVEHOLD_MAX];
    bool mine[MOVEHOLD_MAX]; /* registered by this thread */
    bool held[MOVEHOLD_MAX]; /* held by this thread (a hold row, a fence) */
    int nids;
    bool fenced;
    char last_err[512];
    const struct reshard_env *env;
} ct;

static pthread_mutex_t ct_mu = PTHREAD_MUTEX_INITIALIZER;

/* One connection, opened on demand; NULL with err. The caller holds
 * ct_mu. */
static MYSQL *
conn(char *err, size_t errlen)
{
    if (ct.m != NULL && mysql_ping(ct.m) != 0) {
        mysql_close(ct.m);
        ct.m = NULL;
    }
    if (ct.m == NULL) {
        ct.m = rsdb_connect(&ct.tmpl, &ct.srv, err, errlen);
        /* heartbeats stay on the control server: kept out of its binlog
         * (and its replicas) when the account may */
        if (ct.m != NULL)
            (void)mysql_query(ct.m, "SET SESSION sql_log_bin = 0");
        ct.in_schema = false;
    }
    if (ct.m != NULL && !ct.in_schema) {
        char q[128];
        snprintf(q, sizeof(q), "USE `%s`", ct.schema);
        ct.in_schema = mysql_query(ct.m, q) == 0;
    }
    return ct.m;
}

static bool
make_schema(MYSQL *m, char *err, size_t errlen)
{
    char q[128];

    if (ct.schema_made && ct.in_schema)
        return true;
    snprintf(q, sizeof(q), "CREATE DATABASE IF NOT EXISTS `%s`", ct.schema);
    if (!rsdb_exec(m, q, err, errlen))
        return false;
    snprintf(q, sizeof(q), "USE `%s`", ct.schema);
    if (!rsdb_exec(m, q, err, errlen))
        return false;
    ct.in_schema = true;
    for (size_t i = 0; i < sizeof(schema_sql) / sizeof(schema_sql[0]); i++)
        if (!rsdb_exec(m, schema_sql[i], err, errlen))
            return false;
    ct.schema_made = true;
    return true;
}

/* The control server's placement text and generation; *gen = 0 when none
 * was ever published (then text is NULL). */
static bool
read_placement(MYSQL *m, int64_t newer_than, int64_t *gen, char **text,
               char *err, size_t errlen)
{
    char q[256];
    MYSQL_RES *res;
    MYSQL_ROW row;

    *gen = 0;
    *text = NULL;
    if (!ct.in_schema)
        return true; /* no reshard has made it yet */
    snprintf(q, sizeof(q),
             "SELECT gen, IF(gen > %" PRId64 ", text, NULL) FROM "
             "placement WHERE id = 1",
             newer_than);
    if (mysql_query(m, q) != 0) {
        if (mysql_errno(m) == 1049 || mysql_errno(m) == 1146)
            return true; /* never used: no reshard yet */
        snprintf(err, errlen, "%s", mysql_error(m));
        return false;
    }
    if ((res = mysql_store_result(m)) == NULL) {
        snprintf(err, errlen, "%s", mysql_error(m));
        return false;
    }
    if ((row = mysql_fetch_row(res)) != NULL) {
        *gen = strtoll(row[0], NULL, 10);
        if (row[1] != NULL)
            *text = xstrdup(row[1]);
    }
    mysql_free_result(res);
    return true;
}

static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    struct rsbuf b = {0};
    char buf[4096];

    if (f == NULL)
        return xstrdup("");
    while ((len = fread(buf, 1, sizeof(buf), f)) > 0)
        rsbuf_add(&b, buf, len);
    fclose(f);
    text = b.p != NULL ? b.p : xstrdup("");
    return text;
}

static struct cfg *
build_from_file(const struct cfg *running, void *ctx, char *err, size_t errlen)
{
    struct diag d;
    struct cfg *next;

    (void)ctx;
    diag_init(&d);
    next = cfg_with_placement(running, NULL, &d);
    if (next == NULL)
        (void)diag_join(&d, err, errlen);
    diag_free(&d);
    return next;
}

/* ---- the coordinator's side ---------------------------------------------- */

bool
control_publish(const char *text, int64_t *gen, char *err, size_t errlen)
{
    struct rsbuf q = {0};
    MYSQL *m;
    bool ok = false;
    char v[32];
    char *esc;
    size_t n = strlen(text);

    pthread_mutex_lock(&ct_mu);
    if ((m = conn(err, errlen)) == NULL || !make_schema(m, err, errlen))
        goto out;
    esc = xmalloc(n * 2 + 1);
    mysql_real_escape_string(m, esc, text, n);
    rsbuf_fmt(&q,
              "INSERT INTO placement (id, gen, text) VALUES "
              "(1, 1, '%s') ON DUPLICATE KEY UPDATE gen = gen + 1, text = "
              "VALUES(text)",
              esc);
    free(esc);
    ok = rsdb_exec(m, q.p, err, errlen) &&
         rsdb_value(m, "SELECT gen FROM placement WHERE id = 1", v, sizeof(v),
                    err, errlen);
    if (ok) {
        *gen = strtoll(v, NULL, 10);
        ct.gen = *gen; /* this instance switches itself */
    }
out:
    pthread_mutex_unlock(&ct_mu);
    rsbuf_free(&q);
    return ok;
}

bool
control_hold(uint64_t id, int64_t seq, int64_t expires_in_ms, char *err,
             size_t errlen)
{
    char q[512];
    MYSQL *m;
    bool ok = false;

    pthread_mutex_lock(&ct_mu);
    if ((m = conn(err, errlen)) != NULL && make_schema(m, err, errlen)) {
        snprintf(q, sizeof(q),
                 "REPLACE INTO holds VALUES (%" PRIu64 ", %" PRId64
                 ", '%s', " NOW_MS " + %" PRId64 ")",
                 id, seq, ct.name, expires_in_ms);
        ok = rsdb_exec(m, q, err, errlen);
    }
    pthread_mutex_unlock(&ct_mu);
    return ok;
}

void
control_release(uint64_t id)
{
    char q[128], err[256];
    MYSQL *m;

    pthread_mutex_lock(&ct_mu);
    if ((m = conn(err, sizeof(err))) != NULL) {
        snprintf(q, sizeof(q),
                 "DELETE FROM holds WHERE reshard_id = "
                 "%" PRIu64,
                 id);
        if (!rsdb_exec(m, q, err, sizeof(err)))
            log_warn("reshard hold not released on the control server "
                     "id=%" PRIu64 " error=\"%s\" (it expires by itself)",
                     id, err);
    }
    pthread_mutex_unlock(&ct_mu);
}

int
control_waiting(uint64_t id, int64_t seq, int64_t gen, char *who, size_t wholen,
                char *err, size_t errlen)
{
    char q[512];
    MYSQL *m;
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int n = -1;

    pthread_mutex_lock(&ct_mu);
    if ((m = conn(err, errlen)) == NULL)
        goto out;
    /* live: heard of within CONTROL_DEAD_MS; each must run gen or later
     * and, with seq > 0, acknowledge the hold */
    snprintf(q, sizeof(q),
             "SELECT name FROM instances WHERE name <> '%s' "
             "AND heartbeat_ms > " NOW_MS " - %d AND (gen < %" PRId64
             " OR (%" PRId64 " > 0 AND (hold_id <> %" PRIu64
             " OR hold_seq <> %" PRId64 ")))",
             ct.name, CONTROL_DEAD_MS, gen, seq, id, seq);
    if ((res = rsdb_query(m, q, err, errlen)) == NULL)
        goto out;
    n = 0;
    who[0] = '\0';
    while ((row = mysql_fetch_row(res)) != NULL) {
        size_t used = strlen(who);
        if (used + strlen(row[0]) + 3 < wholen)
            snprintf(who + used, wholen - used, "%s%s", used ? ", " : "",
                     row[0]);
        n++;
    }
    mysql_free_result(res);
out:
    pthread_mutex_unlock(&ct_mu);
    return n;
}

/* ---- every instance's thread ----------------------------------------------
 */

/* Makes the running generation's marked sets (placement_marked: moving
 * keys, then the moved ones until the cleanup ends) known to the workers'
 * hold (movehold slots), forgetting the ones gone. A hold row covers the
 * moved keys too, so that no instance writes them while another still
 * routes them to the source. */
static void
track_moving_in(const struct cfg *c)
{
    uint64_t now[MOVEHOLD_MAX];
    int n = 0;

    for (int i = 0; i < c->nrules && n < MOVEHOLD_MAX; i++)
        if (c->rules[i].moving.active)
            now[n++] = (uint64_t)c->rules[i].moving.id;
        else if (c->rules[i].cleanup.active)
            now[n++] = (uint64_t)c->rules[i].cleanup.id;
    for (int k = 0; k < ct.nids; k++) {
        bool still = false;
        for (int i = 0; i < n; i++)
            still |= now[i] == ct.ids[k];
        if (still)
            continue;
        if (ct.held[k])
            movehold_set(ct.ids[k], false, 0);
        if (ct.mine[k])
            movehold_unregister(ct.ids[k]);
        ct.ids[k] = ct.ids[--ct.nids];
        ct.mine[k] = ct.mine[ct.nids];
        ct.held[k] = ct.held[ct.nids];
        k--;
    }
    for (int i = 0; i < n; i++) {
        bool known = false;
        for (int k = 0; k < ct.nids; k++)
            known |= ct.ids[k] == now[i];
        if (known || ct.nids == MOVEHOLD_MAX)
            continue;
        ct.ids[ct.nids] = now[i];
        /* the instance running the reshard made its slot already */
        ct.mine[ct.nids] =
            !reshard_is_local(now[i]) && movehold_register(now[i]);
        ct.held[ct.nids] = false;
        ct.nids++;
    }
}

static void
track_moving(void)
{
    struct cfg *c = ct.env->cfg_get(ct.env->arg);

    track_moving_in(c);
    cfg_put(c);
}

/* Holds (or releases) moving writes of ids[k] on this thread's account:
 * the instance running a reshard holds its own writes itself. */
static void
hold(int k, bool on, int64_t max_wait_ms)
{
    if (ct.held[k] == on || reshard_is_local(ct.ids[k]))
        return;
    movehold_set(ct.ids[k], on, max_wait_ms);
    ct.held[k] = on;
}

/* Holds every marked write on this thread's account until a poll
 * succeeds (poll_once sets each hold from the hold rows then). */
static void
fence(void)
{
    if (ct.fenced)
        return;
    ct.fenced = true;
    log_warn("reshard control server unreachable for %d ms: writes to "
             "moving keys are held until it answers",
             CONTROL_LEASE_MS);
    for (int k = 0; k < ct.nids; k++)
        hold(k, true, 60000);
}

/* After a successful read of the control server: the marked sets of the
 * running generation, each held while a hold row (ids, their waits) names
 * it, and the fence lifted. */
static void
apply_holds(const uint64_t *ids, const int64_t *waits, int n)
{
    track_moving();
    if (ct.fenced) {
        ct.fenced = false;
        log_info("reshard control server read: writes to moving keys "
                 "follow its holds");
        /* the start's fence (control_fence_start) on a reshard this
         * instance runs: its own thread holds it from now on (its
         * cutover comes seconds after it resumed, this is the first
         * poll) */
        for (int k = 0; k < ct.nids; k++)
            if (ct.held[k] && reshard_is_local(ct.ids[k])) {
                movehold_set(ct.ids[k], false, 0);
                ct.held[k] = false;
            }
    }
    for (int k = 0; k < ct.nids; k++) {
        int64_t wait = -1;
        for (int i = 0; i < n; i++)
            if (ids[i] == ct.ids[k])
                wait = waits[i];
        hold(k, wait >= 0, wait);
    }
}

/* One round; false when the control server did not answer. */
static bool
poll_once(void)
{
    char q[1024], err[512];
    MYSQL *m;
    MYSQL_RES *res;
    MYSQL_ROW row;
    uint64_t hid = 0, hold_ids[MOVEHOLD_MAX];
    int64_t hseq = 0, gen = 0, hold_wait[MOVEHOLD_MAX];
    int nholds = 0;
    long inflight = 0;
    char *text = NULL;

    err[0] = '\0';
    pthread_mutex_lock(&ct_mu);
    if ((m = conn(err, sizeof(err))) == NULL)
        goto fail;
    if (!ct.in_schema) {
        /* no reshard has run against these shards: nothing to follow */
        pthread_mutex_unlock(&ct_mu);
        apply_holds(NULL, NULL, 0);
        ct.last_ok = clock_ms();
        return true;
    }
    /* holds first, the placement after (see the top of the file) */
    if ((res = rsdb_query(m,
                          "SELECT reshard_id, seq, owner, expires_ms - " NOW_MS
                          " FROM holds",
                          err, sizeof(err))) == NULL)
        goto fail;
    while ((row = mysql_fetch_row(res)) != NULL && nholds < MOVEHOLD_MAX) {
        int64_t left = strtoll(row[3], NULL, 10);
        if (left <= 0 || strcmp(row[2], ct.name) == 0)
            continue;
        hold_ids[nholds] = strtoull(row[0], NULL, 10);
        hold_wait[nholds] = left + 1000;
        if (hid == 0) {
            hid = hold_ids[nholds];
            hseq = strtoll(row[1], NULL, 10);
        }
        nholds++;
    }
    mysql_free_result(res);
    if (!read_placement(m, ct.gen, &gen, &text, err, sizeof(err)))
        goto fail;
    pthread_mutex_unlock(&ct_mu);

    if (text != NULL) {
        char why[512];
        /* a placement another instance published: run it */
        if (!file_write_atomic(ct.state_path, text, strlen(text), why,
                               sizeof(why)) ||
            !ct.env->apply(ct.env->arg, build_from_file, NULL, why,
                           sizeof(why))) {
            log_error("reshard placement generation %" PRId64 " from the "
                      "control server not applied: %s",
                      gen, why);
        } else {
            log_info("reshard placement generation %" PRId64 " applied from "
                     "the control server",
                     gen);
            ct.gen = gen;
        }
        free(text);
    } else if (gen > ct.gen) {
        ct.gen = gen;
    }
    apply_holds(hold_ids, hold_wait, nholds);
    if (hid != 0)
        inflight = movehold_inflight(hid);
    pthread_mutex_lock(&ct_mu);
    if ((m = conn(err, sizeof(err))) == NULL)
        goto fail;
    /* acknowledged: this instance runs the moving set and none of its
     * writes to the moving keys is in flight */
    snprintf(q, sizeof(q),
             "REPLACE INTO instances VALUES ('%s', " NOW_MS ", %" PRId64
             ", %" PRIu64 ", %" PRId64 ", %ld)",
             ct.name, ct.gen, inflight == 0 ? hid : 0, inflight == 0 ? hseq : 0,
             inflight);
    if (!rsdb_exec(m, q, err, sizeof(err)))
        goto fail;
    pthread_mutex_unlock(&ct_mu);
    ct.last_ok = clock_ms();
    return true;
fail:
    snprintf(ct.last_err, sizeof(ct.last_err), "%s", err);
    if (ct.m != NULL && mysql_errno(ct.m) != 0) {
        mysql_close(ct.m);
        ct.m = NULL;
    }
    pthread_mutex_unlock(&ct_mu);
    return false;
}

static void *
control_main(void *arg)
{
    (void)arg;
    log_set_thread_name("rsctl");
    bool failing = false;

    while (!atomic_load(&ct.stop)) {
        struct timespec ts;
        int64_t every = ct.nids > 0 ? POLL_MOVING_MS : POLL_IDLE_MS;
        bool ok = poll_once();

        if (ok != !failing) {
            if (!ok)
                log_warn("reshard control server %s:%d not usable (%s); "
                         "online resharding needs it (README, \"Adding a "
                         "shard\")",
                         ct.srv.host, ct.srv.port, ct.last_err);
            else
                log_info("reshard control server %s:%d usable", ct.srv.host,
                         ct.srv.port);
            failing = !ok;
        }
        if (!ok && ct.nids > 0 && clock_ms() - ct.last_ok > CONTROL_LEASE_MS)
            fence();
        ts.tv_sec = 0;
        ts.tv_nsec = (long)every * 1000000L;
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&ct_mu);
    if (ct.m != NULL)
        mysql_close(ct.m);
    ct.m = NULL;
    pthread_mutex_unlock(&ct_mu);
    mysql_thread_end();
    return NULL;
}

static void
settings(const struct cfg *c)
{
    snprintf(ct.name, sizeof(ct.name), "%s",
             c->cluster.name != NULL ? c->cluster.name : c->listen.text);
    snprintf(ct.schema, sizeof(ct.schema), "%s", c->reshard.control);
    snprintf(ct.srv.host, sizeof(ct.srv.host), "%s", c->shards[0].primary.host);
    ct.srv.port = c->shards[0].primary.port;
    snprintf(ct.tmpl.user, sizeof(ct.tmpl.user), "%s", c->backend.user);
    snprintf(ct.tmpl.password, sizeof(ct.tmpl.password), "%s",
             c->backend.password ? c->backend.password : "");
    mysqltls_from(&ct.tmpl.tls, &c->backend.tls);
    ct.tmpl.connect_s = 2; /* never hold a start or a poll for long */
    snprintf(ct.state_path, sizeof(ct.state_path), "%s", c->reshard.state);
}

bool
control_sync(const struct cfg *c, bool *changed, char *err, size_t errlen)
{
    char why[512];
    int64_t gen = 0;
    char *text = NULL, *local;
    MYSQL *m;

    *changed = false;
    settings(c);
    pthread_mutex_lock(&ct_mu);
    m = conn(why, sizeof(why));
    if (m != NULL && ct.in_schema) {
        /* heard of before it reads: a cutover that publishes after this
         * waits for this instance to run the switch (generation 0 here),
         * and one that published before is what the read below sees */
        char q[512];
        snprintf(q, sizeof(q),
                 "REPLACE INTO instances VALUES ('%s', " NOW_MS ", 0, 0, 0, 0)",
                 ct.name);
        (void)mysql_query(m, q);
    }
    if (m == NULL || !read_placement(m, 0, &gen, &text, why, sizeof(why))) {
        pthread_mutex_unlock(&ct_mu);
        log_warn("reshard control server not read at start (%s); the local "
                 "placement file %s stands",
                 why, ct.state_path);
        return true;
    }
    pthread_mutex_unlock(&ct_mu);
    ct.gen = gen;
    if (text == NULL)
        return true;
    local = read_text(ct.state_path);
    if (strcmp(local, text) != 0) {
        if (!file_write_atomic(ct.state_path, text, strlen(text), err,
                               errlen)) {
            free(local);
            free(text);
            return false;
        }
        log_info("reshard placement generation %" PRId64 " taken from the "
                 "control server into %s",
                 gen, ct.state_path);
        *changed = true;
    }
    free(local);
    free(text);
    return true;
}

void
control_fence_start(const struct cfg *c)
{
    track_moving_in(c);
    if (ct.nids == 0)
        return;
    ct.fenced = true;
    for (int k = 0; k < ct.nids; k++) {
        movehold_set(ct.ids[k], true, 60000);
        ct.held[k] = true;
    }
    log_info("reshard in progress: writes to moving keys wait for the first "
             "read of the control server");
}

bool
control_start(const struct reshard_env *env, char *err, size_t errlen)
{
    struct cfg *c = env->cfg_get(env->arg);

    settings(c);
    cfg_put(c);
    ct.env = env;
    ct.last_ok = clock_ms();
    if (pthread_create(&ct.tid, NULL, control_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the reshard control thread");
        return false;
    }
    ct.running = true;
    return true;
}

void
control_stop(void)
{
    if (!ct.running)
        return;
    atomic_store(&ct.stop, true);
    pthread_join(ct.tid, NULL);
    ct.running = false;
}

int64_t
control_gen(void)
{
    return ct.gen;
}
