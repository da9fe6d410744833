/*
 * tablemeta.c - see tablemeta.h. Owns the metadata thread, its connections
 * (one per shard, to the shard's primary: DDL lands there first) and the
 * published snapshots.
 *
 * The thread keeps a list of the tables the config lists and a working
 * snapshot. Each round it reads the tables that are due (never read, read
 * before their last invalidation, or in error for a while), and publishes
 * a new snapshot when anything changed: tables unchanged are shared with
 * the old snapshot by reference, so a refresh copies only what it read.
 * Invalidation slots are a fixed array of epochs hashed by schema.table;
 * a collision only reads a table once more.
 */
#include "backend/tablemeta.h"

#include <errmsg.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/mysqltls.h"
#include "backend/server.h"
#include "base/clock.h"
#include "base/crc32.h"
#include "base/log.h"
#include "base/util.h"
#include "cfg/cfg_types.h"

#define TM_SLOTS 256
/* A table that could not be read is tried again after this long. */
#define TM_RETRY_MS 2000

/* A table the config lists. */
struct tm_want {
    char *schema;  /* clients' name */
    char *bschema; /* name on the shards */
    char *name;
    char *key; /* NULL: global */
    int shard;
    char *shard_name;
};

struct tm_config {
    char *user, *password;
    struct mysqltls tls;
    unsigned timeout_s;
    int nwant;
    struct tm_want *want;
};

struct tablemeta {
    struct server_set *set;
    struct tm_config cur;   /* the thread's */
    struct tm_config *next; /* guarded by mu: a reload's */
    bool kick;              /* guarded by mu: something was invalidated */
    MYSQL **conns;          /* per shard; NULL when not connected */
    struct tm_table **work; /* the thread's list, parallel to cur.want */
    bool full;              /* the thread's: read every table this round */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    atomic_bool stop;
    pthread_mutex_t snap_mu; /* guards snap (the pointer and taking refs) */
    struct tm_snap *snap;
    _Atomic uint64_t gen;
    _Atomic uint64_t epoch[TM_SLOTS];
};

/* ---- tables and snapshots ------------------------------------------------ */

static unsigned
slot_of(const char *schema, const char *table)
{
    char buf[260];
    int n = snprintf(buf, sizeof(buf), "%s.%s", schema, table);

    return crc32_ieee(buf, (size_t)MIN(MAX(n, 0), (int)sizeof(buf) - 1)) %
           TM_SLOTS;
}

static void
table_put(struct tm_table *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (int i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t->row);
    free(t->schema);
    free(t->name);
    free(t->key);
    free(t);
}

static struct tm_table *
table_new(const struct tm_want *w)
{
    struct tm_table *t = xcalloc(1, sizeof(*t));

    atomic_init(&t->refs, 1);
    t->schema = xstrdup(w->schema);
    t->name = xstrdup(w->name);
    t->key = w->key ? xstrdup(w->key) : NULL;
    t->shard = w->shard;
    t->key_pos = -1;
    t->slot = slot_of(w->schema, w->name);
    return t;
}

/* The positional row (visible columns) and where the key sits in it. */
static void
table_index(struct tm_table *t)
{
    t->row = xcalloc((size_t)MAX(t->ncols, 1), sizeof(*t->row));
    t->nrow = 0;
    t->key_pos = -1;
    for (int i = 0; i < t->ncols; i++) {
        if (t->cols[i].auto_inc)
            t->has_auto_inc = true;
        if (t->cols[i].invisible)
            continue;
        if (t->key && strcasecmp(t->cols[i].name, t->key) == 0)
            t->key_pos = t->nrow;
        t->row[t->nrow++] = t->cols[i].name;
    }
}

void
tablemeta_put(struct tm_snap *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (int i = 0; i < s->ntables; i++)
        table_put(s->tables[i]);
    free(s->tables);
    free(s);
}

/* Publishes the thread's list as the next snapshot. */
static void
publish(struct tablemeta *m)
{
    struct tm_snap *s = xcalloc(1, sizeof(*s)), *old;

    atomic_init(&s->refs, 1);
    s->ntables = m->cur.nwant;
    s->tables = xcalloc((size_t)MAX(s->ntables, 1), sizeof(*s->tables));
    for (int i = 0; i < s->ntables; i++) {
        s->tables[i] = m->work[i];
        atomic_fetch_add(&m->work[i]->refs, 1);
    }
    pthread_mutex_lock(&m->snap_mu);
    old = m->snap;
    s->gen = (old ? old->gen : 0) + 1;
    m->snap = s;
    atomic_store(&m->gen, s->gen);
    pthread_mutex_unlock(&m->snap_mu);
    tablemeta_put(old);
}

uint64_t
tablemeta_gen(const struct tablemeta *m)
{
    return m ? atomic_load(&m->gen) : 0;
}

struct tm_snap *
tablemeta_get(struct tablemeta *m)
{
    struct tm_snap *s;

    if (m == NULL)
        return NULL;
    pthread_mutex_lock(&m->snap_mu);
    s = m->snap;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&m->snap_mu);
    return s;
}

const struct tm_table *
tm_snap_find(const struct tm_snap *s, const char *schema, const char *table)
{
    if (s == NULL)
        return NULL;
    for (int i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i]->name, table) == 0 &&
            strcmp(s->tables[i]->schema, schema) == 0)
            return s->tables[i];
    return NULL;
}

void
tablemeta_invalidate(struct tablemeta *m, const char *schema, const char *table)
{
    if (m == NULL)
        return;
    atomic_fetch_add(&m->epoch[slot_of(schema, table)], 1);
    pthread_mutex_lock(&m->mu);
    m->kick = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

bool
tablemeta_stale(const struct tablemeta *m, const struct tm_table *t)
{
    return m != NULL && t->epoch < atomic_load(&m->epoch[t->slot]);
}

/* ---- the config's tables ------------------------------------------------- */

static void
config_free(struct tm_config *c)
{
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->user);
    for (int i = 0; i < c->nwant; i++) {
        free(c->want[i].schema);
        free(c->want[i].bschema);
        free(c->want[i].name);
        free(c->want[i].key);
        free(c->want[i].shard_name);
    }
    free(c->want);
    memset(c, 0, sizeof(*c));
}

static void
config_from(struct tm_config *c, const struct cfg *cfg)
{
    const struct cfg_backend *b = &cfg->backend;
    int64_t t = b->connect_timeout_ms > 0 ? b->connect_timeout_ms : 1000;
    int n = 0;

    c->user = xstrdup(b->user ? b->user : "");
    c->password = xstrdup(b->password ? b->password : "");
    mysqltls_from(&c->tls, &b->tls);
    c->timeout_s = (unsigned)MAX((t + 999) / 1000, 1);
    for (int s = 0; s < cfg->nschemas; s++)
        n += cfg->schemas[s].ntables;
    c->want = xcalloc((size_t)MAX(n, 1), sizeof(*c->want));
    for (int s = 0; s < cfg->nschemas; s++) {
        const struct cfg_schema *sc = &cfg->schemas[s];
        for (int i = 0; i < sc->ntables; i++) {
            const struct cfg_table *ct = &sc->tables[i];
            struct tm_want *w = &c->want[c->nwant++];
            int shard = sc->default_shard;
            if (!ct->global && ct->rule >= 0 &&
                cfg->rules[ct->rule].nshards > 0)
                shard = cfg->rules[ct->rule].shards[0];
            w->schema = xstrdup(sc->name);
            w->bschema = xstrdup(sc->backend_schema);
            w->name = xstrdup(ct->name);
            w->key = ct->global || ct->key == NULL ? NULL : xstrdup(ct->key);
            w->shard = shard;
            w->shard_name = xstrdup(cfg->shards[shard].name);
        }
    }
}

static bool
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* A reload's list replaces the thread's. Tables it still lists with the
 * same key keep what was read until they are read again (the whole list
 * is read at once), so positional INSERTs do not wait for it. */
static void
take_config(struct tablemeta *m, struct tm_config *next)
{
    struct tm_table **work =
        xcalloc((size_t)MAX(next->nwant, 1), sizeof(*work));

    for (int i = 0; i < next->nwant; i++) {
        const struct tm_want *w = &next->want[i];
        for (int k = 0; m->work && k < m->cur.nwant; k++) {
            struct tm_table *o = m->work[k];
            if (o && strcmp(o->schema, w->schema) == 0 &&
                strcmp(o->name, w->name) == 0 && same_str(o->key, w->key) &&
                strcmp(m->cur.want[k].bschema, w->bschema) == 0) {
                work[i] = o;
                m->work[k] = NULL;
                break;
            }
        }
        if (work[i] == NULL)
            work[i] = table_new(w);
    }
    m->full = true;
    for (int k = 0; m->work && k < m->cur.nwant; k++)
        table_put(m->work[k]);
    free(m->work);
    m->work = work;
    for (int s = 0; s < m->set->nshards; s++)
        if (m->conns[s] != NULL) {
            mysql_close(m->conns[s]); /* credentials may have changed */
            m->conns[s] = NULL;
        }
    config_free(&m->cur);
    m->cur = *next;
    free(next);
}

/* ---- reading a table ----------------------------------------------------- */

static MYSQL *
conn_for(struct tablemeta *m, int shard, char *why, size_t cap)
{
    const struct server *s = &m->set->v[m->set->shard_primary[shard]];
    unsigned t = m->cur.timeout_s, proto = MYSQL_PROTOCOL_TCP;
    my_bool no = 0;
    MYSQL *c;

    if (m->conns[shard] != NULL) {
        if (mysql_ping(m->conns[shard]) == 0)
            return m->conns[shard];
        mysql_close(m->conns[shard]);
        m->conns[shard] = NULL;
    }
    if ((c = mysql_init(NULL)) == NULL) {
        snprintf(why, cap, "mysql_init failed");
        return NULL;
    }
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(c, MYSQL_OPT_RECONNECT, &no);
    mysqltls_apply(c, &m->cur.tls);
    if (mysql_real_connect(c, s->host, m->cur.user, m->cur.password, NULL,
                           s->port, NULL, 0) == NULL) {
        snprintf(why, cap, "cannot connect to %s: %s", s->addr, mysql_error(c));
        mysql_close(c);
        return NULL;
    }
    mysql_set_character_set(c, "utf8mb4");
    m->conns[shard] = c;
    return c;
}

/* Reads table i into a new entry (TM_ERROR when the shard cannot tell). */
static struct tm_table *
read_table(struct tablemeta *m, int i)
{
    const struct tm_want *w = &m->cur.want[i];
    struct tm_table *t = table_new(w);
    char q[1024], es[260], et[260];
    MYSQL_RES *res;
    MYSQL_ROW row;
    MYSQL *c;

    t->epoch = atomic_load(&m->epoch[t->slot]);
    t->read_ms = clock_ms();
    t->state = TM_ERROR;
    c = conn_for(m, w->shard, t->why, sizeof(t->why));
    if (c == NULL)
        return t;
    mysql_real_escape_string(c, es, w->bschema,
                             (unsigned long)MIN(strlen(w->bschema), 128));
    mysql_real_escape_string(c, et, w->name,
                             (unsigned long)MIN(strlen(w->name), 128));
    snprintf(q, sizeof(q),
             "SELECT COLUMN_NAME, ORDINAL_POSITION, EXTRA FROM "
             "information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND "
             "TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION",
             es, et);
    if (mysql_query(c, q) != 0 || (res = mysql_store_result(c)) == NULL) {
        snprintf(t->why, sizeof(t->why), "shard '%s' could not tell: %s",
                 w->shard_name, mysql_error(c));
        if (mysql_errno(c) >= CR_MIN_ERROR && mysql_errno(c) <= CR_MAX_ERROR) {
            mysql_close(c);
            m->conns[w->shard] = NULL;
        }
        return t;
    }
    t->cols = xcalloc((size_t)MAX(mysql_num_rows(res), 1), sizeof(*t->cols));
    while ((row = mysql_fetch_row(res)) != NULL) {
        struct tm_column *col = &t->cols[t->ncols++];
        col->name = xstrdup(row[0] ? row[0] : "");
        col->pos = row[1] ? atoi(row[1]) : t->ncols;
        col->auto_inc = row[2] && strcasestr(row[2], "auto_increment");
        col->invisible = row[2] && strcasestr(row[2], "invisible");
    }
    mysql_free_result(res);
    if (t->ncols == 0) {
        t->state = TM_MISSING;
        snprintf(t->why, sizeof(t->why),
                 "table '%s.%s' does not exist on shard '%s'", w->bschema,
                 w->name, w->shard_name);
        return t;
    }
    t->state = TM_OK;
    t->why[0] = '\0';
    table_index(t);
    return t;
}

static bool
due(const struct tablemeta *m, const struct tm_table *t, int64_t now)
{
    if (m->full || t->read_ms == 0 ||
        t->epoch < atomic_load(&m->epoch[t->slot]))
        return true;
    return t->state == TM_ERROR && now - t->read_ms >= TM_RETRY_MS;
}

static bool
same_columns(const struct tm_table *a, const struct tm_table *b)
{
    if (a->state != b->state || a->ncols != b->ncols ||
        strcmp(a->why, b->why) != 0)
        return false;
    for (int i = 0; i < a->ncols; i++)
        if (strcmp(a->cols[i].name, b->cols[i].name) != 0 ||
            a->cols[i].auto_inc != b->cols[i].auto_inc ||
            a->cols[i].invisible != b->cols[i].invisible)
            return false;
    return true;
}

/* One round: reads what is due; true when the list changed. */
static bool
round_read(struct tablemeta *m)
{
    bool changed = false;

    for (int i = 0; i < m->cur.nwant && !atomic_load(&m->stop); i++) {
        struct tm_table *t = m->work[i], *n;
        if (!due(m, t, clock_ms()))
            continue;
        n = read_table(m, i);
        if (!same_columns(t, n) || t->read_ms == 0)
            log_info("table columns %s schema=%s table=%s columns=%d%s%s",
                     n->state == TM_OK        ? "read"
                     : n->state == TM_MISSING ? "missing"
                                              : "unreadable",
                     n->schema, n->name, n->ncols, n->why[0] ? " why=" : "",
                     n->why);
        table_put(t);
        m->work[i] = n;
        changed = true; /* the epoch moved at least */
    }
    m->full = false;
    return changed;
}

static void
close_conns(struct tablemeta *m)
{
    for (int s = 0; s < m->set->nshards; s++) {
        if (m->conns[s] != NULL) {
            mysql_close(m->conns[s]);
            m->conns[s] = NULL;
        }
    }
}

static void *
tm_main(void *arg)
{
    struct tablemeta *m = arg;

    log_set_thread_name("tablemeta");
    mysql_thread_init();
    while (!atomic_load(&m->stop)) {
        struct tm_config *next;
        int64_t wake;

        pthread_mutex_lock(&m->mu);
        next = m->next;
        m->next = NULL;
        m->kick = false;
        pthread_mutex_unlock(&m->mu);
        if (next != NULL) {
            take_config(m, next);
            publish(m);
        }
        if (round_read(m))
            publish(m);
        /* Reads are rare (start, reload, DDL): hold no connection between
         * them, so the servers see only the pool's and the monitor's. */
        close_conns(m);
        wake = clock_ms() + TM_RETRY_MS;
        pthread_mutex_lock(&m->mu);
        while (!atomic_load(&m->stop) && !m->kick && m->next == NULL &&
               clock_ms() < wake) {
            struct timespec ts = {.tv_sec = (time_t)(wake / 1000),
                                  .tv_nsec = (long)(wake % 1000) * 1000000};
            pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        }
        pthread_mutex_unlock(&m->mu);
    }
    close_conns(m);
    mysql_thread_end();
    return NULL;
}

/* ---- life ------------------------------------------------------------------
 */

static void
tm_free(struct tablemeta *m)
{
    for (int k = 0; m->work && k < m->cur.nwant; k++)
        table_put(m->work[k]);
    free(m->work);
    config_free(&m->cur);
    if (m->next) {
        config_free(m->next);
        free(m->next);
    }
    tablemeta_put(m->snap);
    free(m->conns);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->snap_mu);
    free(m);
}

struct tablemeta *
tablemeta_start(struct server_set *set, const struct cfg *cfg)
{
    struct tablemeta *m = xcalloc(1, sizeof(*m));
    struct tm_config *c = xcalloc(1, sizeof(*c));
    pthread_condattr_t ca;
    int rc;

    m->set = set;
    /* room for the shards reloads may append */
    m->conns = xcalloc(CFG_MAX_SHARDS, sizeof(*m->conns));
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->snap_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    config_from(c, cfg);
    take_config(m, c);
    publish(m);
    mysql_library_init(0, NULL, NULL);
    rc = pthread_create(&m->thread, NULL, tm_main, m);
    if (rc != 0) {
        log_error("cannot start the table metadata thread: %s", strerror(rc));
        tm_free(m);
        return NULL;
    }
    return m;
}

void
tablemeta_set_cfg(struct tablemeta *m, const struct cfg *cfg)
{
    struct tm_config *c;

    if (m == NULL)
        return;
    c = xcalloc(1, sizeof(*c));
    config_from(c, cfg);
    pthread_mutex_lock(&m->mu);
    if (m->next) {
        config_free(m->next);
        free(m->next);
    }
    m->next = c;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void
tablemeta_stop(struct tablemeta *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->stop, true);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    tm_free(m);
}
