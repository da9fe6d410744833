/*
 * catchup.c - the reshard's catch-up: the source primary's binlog from
 * the snapshot's position (backend/binlog.h), applied to the target row
 * image by row image, in the binlog's order: an insert or update writes
 * the row as it is after the change (REPLACE, by primary key), a delete
 * removes it. The images are the rows themselves, so the target never
 * reads the source (a row read back from the source could predate a
 * commit whose event is already in the binlog), and replaying a stretch
 * of the binlog again ends in the same rows. Only rows in the moving key
 * space are written (the statements filter on it).
 *
 * The applied position moves only after a batch was written to the
 * target, so a crash replays at most a batch.
 */
#include "rs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/binlog.h"
#include "base/clock.h"
#include "base/crc32.h"
#include "base/gtid.h"
#include "base/log.h"
#include "base/util.h"

/* Changes gathered before a batch is written; rows per statement. */
#define BATCH_KEYS 400
#define OP_ROWS    200
/* How long binlog_next waits before it reports the stream idle. */
#define IDLE_MS 100
/* How often the source's position is read for the lag. */
#define POS_EVERY_MS 1000
/* Longest catchup_step without a target position. */
#define STEP_MS 500

/* The statement being gathered: consecutive changes of one kind to one
 * table become one statement, run in the binlog's order. */
enum op { OP_NONE, OP_UPSERT, OP_DELETE };

struct rs_catchup {
    struct reshard *r;
    struct binlog *bl;
    enum op op; /* the statement gathered in stmt */
    int table;
    int nrows;
    char pred[1024];
    struct rsbuf stmt;
    int pending;
    bool tracking;       /* note the keys applied (verify.c) */
    struct rsbuf *track; /* per table: "(1),(2)" */
    long ntracked;
    int64_t pos_ms;    /* when the source's position was read last */
    int64_t caught_ms; /* when the applied position last covered it */
};

/* Rows of the rule's tables only: the others are skipped undecoded. */
static bool
watched(void *arg, const char *schema, const char *table)
{
    const struct reshard *r = arg;

    for (int i = 0; i < r->ntables; i++)
        if (strcmp(schema, r->tables[i].schema) == 0 &&
            strcmp(table, r->tables[i].name) == 0)
            return true;
    return false;
}

struct rs_catchup *
catchup_open(struct reshard *r, char *err, size_t errlen)
{
    struct rs_catchup *c = xcalloc(1, sizeof(*c));
    struct binlog_opts o = {0};

    o.host = r->src.host;
    o.port = r->src.port;
    o.user = r->user;
    o.password = r->password;
    /* a replica id no server of the rig or a DBA's would pick */
    o.server_id = (uint32_t)(3000000000u + (r->id % 1000000u));
    o.gtid_start = r->applied_gtid[0] ? r->applied_gtid : r->snap_gtid;
    o.idle_ms = IDLE_MS;
    o.tls = &r->tls;
    o.watch = watched;
    o.watch_arg = r;
    c->r = r;
    c->bl = binlog_open(&o, err, errlen);
    if (c->bl == NULL) {
        free(c);
        return NULL;
    }
    c->caught_ms = clock_ms();
    c->track = xcalloc((size_t)r->ntables, sizeof(*c->track));
    return c;
}

void
catchup_close(struct rs_catchup *c)
{
    if (c == NULL)
        return;
    binlog_close(c->bl);
    rsbuf_free(&c->stmt);
    for (int i = 0; i < c->r->ntables; i++)
        rsbuf_free(&c->track[i]);
    free(c->track);
    free(c);
}

/* Whether the key value may be moving: false only when it surely is not
 * (an integer key outside the moved slots or range); strings are read
 * again either way. */
static bool
may_move(const struct reshard *r, const struct binlog_value *v)
{
    char *end;
    long long k;

    if (v->null)
        return false;
    if (v->len == 0 || v->len > 20 || v->sql[0] == '\'' || v->sql[0] == 'X')
        return true;
    k = strtoll(v->sql, &end, 10);
    if (end != v->sql + v->len)
        return true;
    if (r->hash) {
        uint32_t slot = crc32_ieee(v->sql, v->len) % r->slots;
        return slot >= r->lo && slot <= r->hi;
    }
    {
        char *e2;
        long long at = strtoll(r->at, &e2, 10), until;
        if (*e2 != '\0')
            return true;
        if (k < at)
            return false;
        if (r->until[0] == '\0')
            return true;
        until = strtoll(r->until, &e2, 10);
        return *e2 != '\0' || k < until;
    }
}

/* Runs the gathered statement. */
static bool
run_op(struct rs_catchup *c, MYSQL *dst, char *err, size_t errlen)
{
    bool ok = true;

    if (c->op == OP_UPSERT)
        rsbuf_fmt(&c->stmt, ") AS x WHERE %s", c->pred);
    else if (c->op == OP_DELETE)
        rsbuf_str(&c->stmt, ")");
    if (c->op != OP_NONE)
        ok = rsdb_exec(dst, c->stmt.p, err, errlen);
    c->stmt.len = 0;
    c->op = OP_NONE;
    c->nrows = 0;
    return ok;
}

/* Starts (or continues) a statement of kind op on table ti. */
static bool
begin_op(struct rs_catchup *c, MYSQL *dst, int ti, enum op op, char *err,
         size_t errlen)
{
    const struct rs_table *t = &c->r->tables[ti];

    if (c->op == op && c->table == ti && c->nrows < OP_ROWS)
        return true;
    if (!run_op(c, dst, err, errlen))
        return false;
    c->op = op;
    c->table = ti;
    rs_pred(c->r, t, c->pred, sizeof(c->pred));
    if (op == OP_UPSERT)
        rsbuf_fmt(&c->stmt, "REPLACE INTO `%s`.`%s` (%s) SELECT * FROM (",
                  t->schema, t->name, t->cols);
    else
        rsbuf_fmt(&c->stmt, "DELETE FROM `%s`.`%s` WHERE %s AND (%s) IN (",
                  t->schema, t->name, c->pred, t->pkcols);
    return true;
}

static void
put_value(struct rsbuf *b, const struct binlog_value *v)
{
    if (v->null)
        rsbuf_str(b, "NULL");
    else
        rsbuf_add(b, v->sql, v->len);
}

/* Notes the row's primary key for verify_changed. */
static void
track(struct rs_catchup *c, int ti, const struct binlog_value *img)
{
    const struct rs_table *t = &c->r->tables[ti];
    struct rsbuf *b = &c->track[ti];

    if (!c->tracking)
        return;
    rsbuf_str(b, b->len ? ",(" : "(");
    for (int k = 0; k < t->npk; k++) {
        if (k > 0)
            rsbuf_str(b, ",");
        put_value(b, &img[t->pk[k]]);
    }
    rsbuf_str(b, ")");
    c->ntracked++;
}

void
catchup_track(struct rs_catchup *c)
{
    for (int i = 0; i < c->r->ntables; i++)
        c->track[i].len = 0;
    c->ntracked = 0;
    c->tracking = true;
}

const char *
catchup_tracked(struct rs_catchup *c, int ti)
{
    return c->track[ti].len > 0 ? c->track[ti].p : NULL;
}

long
catchup_ntracked(const struct rs_catchup *c)
{
    return c->ntracked;
}

/* The row as it is after the change: a SELECT of literals named as the
 * table's columns (the WHERE on the moving set reads them). */
static bool
add_upsert(struct rs_catchup *c, MYSQL *dst, int ti,
           const struct binlog_value *img, char *err, size_t errlen)
{
    const struct rs_table *t = &c->r->tables[ti];
    const char *name = t->cols;

    if (t->keycol >= 0 && !may_move(c->r, &img[t->keycol]))
        return true;
    if (!begin_op(c, dst, ti, OP_UPSERT, err, errlen))
        return false;
    track(c, ti, img);
    rsbuf_str(&c->stmt, c->nrows ? " UNION ALL SELECT " : "SELECT ");
    for (int k = 0; k < t->ncols; k++) {
        const char *end = strchr(name + 1, '`');
        if (k > 0)
            rsbuf_str(&c->stmt, ",");
        put_value(&c->stmt, &img[k]);
        rsbuf_str(&c->stmt, " AS ");
        rsbuf_add(&c->stmt, name, (size_t)(end - name + 1));
        name = end + 2;
    }
    c->nrows++;
    c->pending++;
    return true;
}

/* The row as it was before: gone (by primary key). */
static bool
add_delete(struct rs_catchup *c, MYSQL *dst, int ti,
           const struct binlog_value *img, char *err, size_t errlen)
{
    const struct rs_table *t = &c->r->tables[ti];

    if (t->keycol >= 0 && !may_move(c->r, &img[t->keycol]))
        return true;
    if (!begin_op(c, dst, ti, OP_DELETE, err, errlen))
        return false;
    track(c, ti, img);
    rsbuf_str(&c->stmt, c->nrows ? ",(" : "(");
    for (int k = 0; k < t->npk; k++) {
        if (k > 0)
            rsbuf_str(&c->stmt, ",");
        put_value(&c->stmt, &img[t->pk[k]]);
    }
    rsbuf_str(&c->stmt, ")");
    c->nrows++;
    c->pending++;
    return true;
}

static bool
same(const struct binlog_value *a, const struct binlog_value *b)
{
    return a->null == b->null && a->len == b->len &&
           (a->null || memcmp(a->sql, b->sql, a->len) == 0);
}

/* One changed row, as the target must see it. An update that kept its
 * primary key and shard key is the new row; one that changed either
 * removes the old row first. */
static bool
apply_row(struct rs_catchup *c, MYSQL *dst, int ti,
          const struct binlog_row *row, char *err, size_t errlen)
{
    const struct rs_table *t = &c->r->tables[ti];
    bool moved = false;

    if (row->kind == BINLOG_DELETE)
        return add_delete(c, dst, ti, row->before, err, errlen);
    if (row->kind == BINLOG_UPDATE) {
        moved = t->keycol < 0 ||
                !same(&row->before[t->keycol], &row->after[t->keycol]);
        for (int k = 0; k < t->npk && !moved; k++)
            moved = !same(&row->before[t->pk[k]], &row->after[t->pk[k]]);
        if (moved && !add_delete(c, dst, ti, row->before, err, errlen))
            return false;
    }
    return add_upsert(c, dst, ti, row->after, err, errlen);
}

static bool
flush(struct rs_catchup *c, MYSQL *src, MYSQL *dst, char *err, size_t errlen)
{
    struct reshard *r = c->r;

    (void)src;
    if (!run_op(c, dst, err, errlen))
        return false;
    c->pending = 0;
    pthread_mutex_lock(&rs_mu);
    snprintf(r->applied_gtid, sizeof(r->applied_gtid), "%s", binlog_pos(c->bl));
    pthread_mutex_unlock(&rs_mu);
    return true;
}

/* The source transactions not applied yet, summed over domains. */
static long long
behind(const char *have, const char *want)
{
    struct gtid h[16], w[16];
    int nh = gtid_parse_list(have, strlen(have), h, 16);
    int nw = gtid_parse_list(want, strlen(want), w, 16);
    long long n = 0;

    for (int i = 0; i < nw; i++) {
        uint64_t seen = 0;
        for (int j = 0; j < nh; j++)
            if (h[j].domain == w[i].domain)
                seen = h[j].seqno;
        if (w[i].seqno > seen)
            n += (long long)(w[i].seqno - seen);
    }
    return n;
}

static long long
note_lag(struct rs_catchup *c, MYSQL *src, bool force)
{
    struct reshard *r = c->r;
    char pos[512], err[64];
    int64_t now = clock_ms();
    long long n;

    if (!force && now - c->pos_ms < POS_EVERY_MS)
        return -1;
    c->pos_ms = now;
    if (!rsdb_value(src, "SELECT @@gtid_binlog_pos", pos, sizeof(pos), err,
                    sizeof(err)))
        return -1;
    pthread_mutex_lock(&rs_mu);
    n = behind(r->applied_gtid, pos);
    if (n == 0)
        c->caught_ms = now;
    r->behind = n;
    r->lag_s = (double)(now - c->caught_ms) / 1000.0;
    pthread_mutex_unlock(&rs_mu);
    return n;
}

long long
catchup_behind(struct rs_catchup *c, MYSQL *src)
{
    return note_lag(c, src, true);
}

bool
catchup_step(struct rs_catchup *c, MYSQL *src, MYSQL *dst, const char *want,
             int64_t deadline_ms, bool *late, char *err, size_t errlen)
{
    struct reshard *r = c->r;
    int64_t t0 = clock_ms();

    *late = false;
    /* read up to want already: stop at it, never read a change past it
     * (verify_snapshot compares the target at exactly want) */
    if (want != NULL && gtid_pos_covers(binlog_pos(c->bl), want))
        return flush(c, src, dst, err, errlen);
    for (;;) {
        struct binlog_row row;
        enum binlog_event ev;

        if (atomic_load(&r->stop) || atomic_load(&r->abort_req)) {
            snprintf(err, errlen, "stopped");
            return false;
        }
        if (deadline_ms > 0 && clock_ms() >= deadline_ms) {
            *late = true;
            snprintf(err, errlen, "the binlog was not applied in time");
            return false;
        }
        ev = binlog_next(c->bl, &row, err, errlen);
        switch (ev) {
        case BINLOG_ERROR:
            return false;
        case BINLOG_ROW:
            for (int i = 0; i < r->ntables; i++) {
                const struct rs_table *t = &r->tables[i];
                if (strcmp(row.schema, t->schema) != 0 ||
                    strcmp(row.table, t->name) != 0)
                    continue;
                if (row.ncols != t->ncols) {
                    snprintf(err, errlen,
                             "%s.%s changed its columns during the reshard "
                             "(%d in the binlog, %d at the start); abort it "
                             "and start it again",
                             t->schema, t->name, row.ncols, t->ncols);
                    return false;
                }
                if (!apply_row(c, dst, i, &row, err, errlen))
                    return false;
            }
            break;
        case BINLOG_DDL:
            for (int i = 0; i < r->ntables; i++) {
                const struct rs_table *t = &r->tables[i];
                if (row.statement != NULL &&
                    strcasestr(row.statement, t->name) != NULL) {
                    snprintf(err, errlen,
                             "a statement changed %s.%s during the reshard "
                             "(%.80s): its rows cannot be followed; abort "
                             "the reshard and start it again",
                             t->schema, t->name, row.statement);
                    return false;
                }
            }
            break;
        case BINLOG_COMMIT:
            if (want == NULL && clock_ms() - t0 >= STEP_MS) {
                /* a busy source is never idle: report progress anyway */
                if (!flush(c, src, dst, err, errlen))
                    return false;
                (void)note_lag(c, src, false);
                return true;
            }
            if (c->pending >= BATCH_KEYS ||
                (want != NULL && gtid_pos_covers(binlog_pos(c->bl), want))) {
                if (!flush(c, src, dst, err, errlen))
                    return false;
                if (want != NULL && gtid_pos_covers(r->applied_gtid, want))
                    return true;
            }
            break;
        case BINLOG_IDLE:
            if (!flush(c, src, dst, err, errlen))
                return false;
            (void)note_lag(c, src, false);
            if (want == NULL)
                return true;
            if (gtid_pos_covers(r->applied_gtid, want))
                return true;
            break;
        }
    }
}
