/*
 * catchup.c - the reshard's catch-up: the source primary's binlog from
 * the snapshot's position (backend/binlog.h), turned into resyncs of the
 * changed primary keys (copy_resync). A row event only names keys: the
 * rows are read again on the source, so events applied twice, or out of
 * a batch's order, leave the target as the source is.
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

/* Keys gathered before a batch is written. */
#define BATCH_KEYS 400
/* How long binlog_next waits before it reports the stream idle. */
#define IDLE_MS 100
/* How often the source's position is read for the lag. */
#define POS_EVERY_MS 1000
/* Longest catchup_step without a target position. */
#define STEP_MS 500

struct rs_catchup {
    struct reshard *r;
    struct binlog *bl;
    struct rsbuf *keys; /* per table: "(1),(2)" */
    int *nkeys;
    int pending;
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
    c->keys = xcalloc((size_t)r->ntables, sizeof(*c->keys));
    c->nkeys = xcalloc((size_t)r->ntables, sizeof(*c->nkeys));
    c->caught_ms = clock_ms();
    return c;
}

void
catchup_close(struct rs_catchup *c)
{
    if (c == NULL)
        return;
    binlog_close(c->bl);
    for (int i = 0; i < c->r->ntables; i++)
        rsbuf_free(&c->keys[i]);
    free(c->keys);
    free(c->nkeys);
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

static void
add_key(struct rs_catchup *c, int ti, const struct binlog_value *img)
{
    const struct rs_table *t = &c->r->tables[ti];
    struct rsbuf *b = &c->keys[ti];

    if (t->keycol >= 0 && !may_move(c->r, &img[t->keycol]))
        return;
    rsbuf_str(b, c->nkeys[ti] ? ",(" : "(");
    for (int k = 0; k < t->npk; k++) {
        const struct binlog_value *v = &img[t->pk[k]];
        if (k > 0)
            rsbuf_str(b, ",");
        if (v->null)
            rsbuf_str(b, "NULL");
        else
            rsbuf_add(b, v->sql, v->len);
    }
    rsbuf_str(b, ")");
    c->nkeys[ti]++;
    c->pending++;
}

static bool
flush(struct rs_catchup *c, MYSQL *src, MYSQL *dst, char *err, size_t errlen)
{
    struct reshard *r = c->r;

    for (int i = 0; i < r->ntables; i++) {
        if (c->nkeys[i] == 0)
            continue;
        if (!copy_resync(r, &r->tables[i], src, dst, c->keys[i].p, err, errlen))
            return false;
        c->keys[i].len = 0;
        c->nkeys[i] = 0;
    }
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
                if (row.before != NULL)
                    add_key(c, i, row.before);
                if (row.after != NULL)
                    add_key(c, i, row.after);
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
