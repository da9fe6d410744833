/*
 * copy.c - the reshard's row work on the shards: the rule's tables and
 * their primary keys, the copy of the moving rows from a consistent
 * snapshot, the state-based resync of changed keys (catch-up), the
 * comparison before cutover and the throttled deletes (abort, cleanup).
 *
 * A row moves when its shard key falls in the moved key space: for a
 * hash rule CRC32 of the key's text modulo the slots (MariaDB's CRC32 of
 * a number hashes its decimal text, as route/placement.c does), for a
 * range rule the key's range. Rows are written with REPLACE by primary
 * key, so copying or resyncing a row twice leaves one row.
 */
#include "rs_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/util.h"

/* Rows per batch at most; fewer when copy_rate is low, so the throttle
 * sleeps often and briefly. */
#define BATCH_MAX 2000

void
rs_pred(const struct reshard *r, const struct rs_table *t, char *buf,
        size_t len)
{
    if (r->hash)
        snprintf(buf, len, "CRC32(`%s`) %% %u BETWEEN %u AND %u", t->key,
                 r->slots, r->lo, r->hi);
    else if (r->until[0] != '\0')
        snprintf(buf, len, "`%s` >= %s AND `%s` < %s", t->key, r->at, t->key,
                 r->until);
    else
        snprintf(buf, len, "`%s` >= %s", t->key, r->at);
}

static int
batch_rows(const struct reshard *r)
{
    long b = r->copy_rate / 10;

    return (int)(b < 1 ? 1 : b > BATCH_MAX ? BATCH_MAX : b);
}

/* Sleeps so that rows done since t0 stay within copy_rate. */
static bool
throttle(struct reshard *r, int64_t t0, long long rows)
{
    rs_refresh(r);
    int64_t due = t0 + rows * 1000 / (r->copy_rate > 0 ? r->copy_rate : 1);
    int64_t now = clock_ms();

    return due <= now ? !atomic_load(&r->stop) && !atomic_load(&r->abort_req)
                      : rs_nap(r, due - now);
}

bool
copy_tables(struct reshard *r, MYSQL *src, char *err, size_t errlen)
{
    for (int i = 0; i < r->ntables; i++) {
        struct rs_table *t = &r->tables[i];
        char q[1024];
        MYSQL_RES *res;
        MYSQL_ROW row;
        size_t off = 0;

        snprintf(q, sizeof(q),
                 "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_KEY FROM "
                 "information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND "
                 "TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION",
                 t->schema, t->name);
        if ((res = rsdb_query(src, q, err, errlen)) == NULL)
            return false;
        t->ncols = t->npk = 0;
        t->cols[0] = '\0';
        t->keycol = -1;
        while ((row = mysql_fetch_row(res)) != NULL) {
            if (strcasecmp(row[0], t->key) == 0)
                t->keycol = t->ncols;
            off += (size_t)snprintf(t->cols + off, sizeof(t->cols) - off,
                                    "%s`%s`", t->ncols ? "," : "", row[0]);
            t->ncols++;
        }
        mysql_free_result(res);
        if (t->ncols == 0 || off >= sizeof(t->cols)) {
            snprintf(err, errlen,
                     t->ncols == 0 ? "table %s.%s does not exist on shard "
                                     "'%s'; create it there first"
                                   : "table %s.%s has too many columns",
                     t->schema, t->name, r->from);
            return false;
        }
        snprintf(q, sizeof(q),
                 "SELECT c.ORDINAL_POSITION, c.COLUMN_NAME FROM "
                 "information_schema.STATISTICS s JOIN "
                 "information_schema.COLUMNS c ON c.TABLE_SCHEMA = "
                 "s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND "
                 "c.COLUMN_NAME = s.COLUMN_NAME WHERE s.TABLE_SCHEMA = '%s' "
                 "AND s.TABLE_NAME = '%s' AND s.INDEX_NAME = 'PRIMARY' "
                 "ORDER BY s.SEQ_IN_INDEX",
                 t->schema, t->name);
        if ((res = rsdb_query(src, q, err, errlen)) == NULL)
            return false;
        off = 0;
        t->pkcols[0] = '\0';
        while ((row = mysql_fetch_row(res)) != NULL && t->npk < 16) {
            t->pk[t->npk] = atoi(row[0]) - 1;
            off += (size_t)snprintf(t->pkcols + off, sizeof(t->pkcols) - off,
                                    "%s`%s`", t->npk ? "," : "", row[1]);
            t->npk++;
        }
        mysql_free_result(res);
        if (t->npk == 0) {
            snprintf(err, errlen,
                     "table %s.%s has no primary key: its rows cannot be "
                     "moved exactly once; add one (ALTER TABLE ... ADD "
                     "PRIMARY KEY) and start the reshard again",
                     t->schema, t->name);
            return false;
        }
    }
    return true;
}

/* CREATE TABLE on the target as the source has it. */
static bool
create_on_target(struct reshard *r, const struct rs_table *t, MYSQL *src,
                 MYSQL *dst, char *err, size_t errlen)
{
    char q[512];
    MYSQL_RES *res;
    MYSQL_ROW row;
    struct rsbuf b = {0};
    bool ok;

    snprintf(q, sizeof(q), "CREATE DATABASE IF NOT EXISTS `%s`", t->schema);
    if (!rsdb_exec(dst, q, err, errlen))
        return false;
    snprintf(q, sizeof(q), "SHOW CREATE TABLE `%s`.`%s`", t->schema, t->name);
    if ((res = rsdb_query(src, q, err, errlen)) == NULL)
        return false;
    row = mysql_fetch_row(res);
    if (row == NULL || row[1] == NULL ||
        strncmp(row[1], "CREATE TABLE ", 13) != 0) {
        mysql_free_result(res);
        snprintf(err, errlen, "cannot read the definition of %s.%s on '%s'",
                 t->schema, t->name, r->from);
        return false;
    }
    snprintf(q, sizeof(q), "USE `%s`", t->schema);
    rsbuf_str(&b, "CREATE TABLE IF NOT EXISTS ");
    rsbuf_str(&b, row[1] + 13);
    mysql_free_result(res);
    ok = rsdb_exec(dst, q, err, errlen) && rsdb_exec(dst, b.p, err, errlen);
    rsbuf_free(&b);
    return ok;
}

/* Writes rows of res into t on dst as one REPLACE; the last row's primary
 * key tuple goes to last (when not NULL). Returns rows written, -1. */
static long
replace_rows(const struct rs_table *t, MYSQL *src, MYSQL *dst, MYSQL_RES *res,
             struct rsbuf *last, char *err, size_t errlen)
{
    const MYSQL_FIELD *f = mysql_fetch_fields(res);
    struct rsbuf b = {0};
    MYSQL_ROW row;
    long n = 0;
    bool ok = true;

    while ((row = mysql_fetch_row(res)) != NULL) {
        const unsigned long *len = mysql_fetch_lengths(res);
        if (n == 0) {
            rsbuf_fmt(&b, "REPLACE INTO `%s`.`%s` (%s) VALUES ", t->schema,
                      t->name, t->cols);
        } else {
            rsbuf_str(&b, ",");
        }
        rsdb_tuple(src, &b, row, len, f, NULL, t->ncols);
        if (last != NULL) {
            last->len = 0;
            rsdb_tuple(src, last, row, len, f, t->pk, t->npk);
        }
        n++;
    }
    if (n > 0)
        ok = rsdb_exec(dst, b.p, err, errlen);
    rsbuf_free(&b);
    return ok ? n : -1;
}

bool
copy_run(struct reshard *r, MYSQL *src, MYSQL *dst, char *err, size_t errlen)
{
    char pred[1024], q[4096], pos[512];
    int64_t t0 = clock_ms();
    long long done = 0;
    int batch = batch_rows(r);

    for (int i = 0; i < r->ntables; i++)
        if (!create_on_target(r, &r->tables[i], src, dst, err, errlen))
            return false;
    /* The position first, the snapshot after. MariaDB's consistent
     * snapshot holds every transaction binlogged before it, so nothing up
     * to the position is missing from it; what commits in between is in
     * both, and the catch-up applying those row images again, in order,
     * ends in the same rows. (BINLOG_GTID_POS of the snapshot's exact
     * position would read the binlog file from its start while holding
     * back commits: seconds on a big binlog.) */
    /* A new binlog file first: the catch-up's stream starts at this
     * position, and a primary finds a GTID by reading its file from the
     * start, holding back commits while it reads the active file (seconds
     * on a big file). Without RELOAD/BINLOG ADMIN it is only slower. */
    if (r->snap_gtid[0] == '\0' && mysql_query(src, "FLUSH BINARY LOGS") != 0)
        log_warn("reshard id=%llu: FLUSH BINARY LOGS refused (%s); the "
                 "catch-up's start will read the source's whole binlog file",
                 (unsigned long long)r->id, mysql_error(src));
    if (!rsdb_value(src, "SELECT @@gtid_binlog_pos", pos, sizeof(pos), err,
                    errlen) ||
        !rsdb_exec(src,
                   "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                   err, errlen) ||
        !rsdb_exec(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                   err, errlen))
        goto fail;
    pthread_mutex_lock(&rs_mu);
    /* resumed after a crash: the first snapshot's position stays, so the
     * catch-up covers every change since the first rows were copied */
    if (r->snap_gtid[0] == '\0')
        snprintf(r->snap_gtid, sizeof(r->snap_gtid), "%s", pos);
    pthread_mutex_unlock(&rs_mu);
    if (r->total == 0) {
        long long total = 0;
        for (int i = 0; i < r->ntables; i++) {
            char v[32];
            rs_pred(r, &r->tables[i], pred, sizeof(pred));
            snprintf(q, sizeof(q), "SELECT COUNT(*) FROM `%s`.`%s` WHERE %s",
                     r->tables[i].schema, r->tables[i].name, pred);
            if (!rsdb_value(src, q, v, sizeof(v), err, errlen))
                goto fail;
            total += atoll(v);
        }
        pthread_mutex_lock(&rs_mu);
        r->total = total;
        pthread_mutex_unlock(&rs_mu);
    }
    rs_journal_save();
    for (; r->copy_table < r->ntables;) {
        const struct rs_table *t = &r->tables[r->copy_table];
        struct rsbuf last = {0};
        MYSQL_RES *res;
        long n;
        rs_pred(r, t, pred, sizeof(pred));
        struct rsbuf sel = {0};
        rsbuf_fmt(&sel, "SELECT %s FROM `%s`.`%s` WHERE %s", t->cols, t->schema,
                  t->name, pred);
        if (r->copy_last[0] != '\0')
            rsbuf_fmt(&sel, " AND (%s) > %s", t->pkcols, r->copy_last);
        rsbuf_fmt(&sel, " ORDER BY %s LIMIT %d", t->pkcols, batch);
        res = rsdb_query(src, sel.p, err, errlen);
        rsbuf_free(&sel);
        if (res == NULL)
            goto fail;
        n = replace_rows(t, src, dst, res, &last, err, errlen);
        mysql_free_result(res);
        if (n < 0 || (last.len >= sizeof(r->copy_last))) {
            if (n >= 0)
                snprintf(err, errlen, "the primary key of %s.%s is too long",
                         t->schema, t->name);
            rsbuf_free(&last);
            goto fail;
        }
        pthread_mutex_lock(&rs_mu);
        if (n < batch) {
            r->copy_table++;
            r->copy_last[0] = '\0';
        } else {
            memcpy(r->copy_last, last.p, last.len + 1);
        }
        r->copied += n;
        pthread_mutex_unlock(&rs_mu);
        rsbuf_free(&last);
        rs_journal_progress(r);
        done += n;
        if (!throttle(r, t0, done))
            goto fail_stopped;
    }
    return rsdb_exec(src, "COMMIT", err, errlen);
fail_stopped:
    snprintf(err, errlen, "stopped");
fail:
    (void)mysql_query(src, "ROLLBACK");
    return false;
}

/* The primary keys of up to batch moving rows of t after last (a plain
 * read: no row is locked), as "(1),(2)" into keys; the last one into
 * last. Returns how many, -1 on an error (1146: the table is not there,
 * 0 rows). */
static long
next_keys(struct reshard *r, const struct rs_table *t, MYSQL *m, int batch,
          struct rsbuf *last, struct rsbuf *keys, char *err, size_t errlen)
{
    char pred[1024];
    struct rsbuf q = {0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    long n = 0;

    rs_pred(r, t, pred, sizeof(pred));
    rsbuf_fmt(&q, "SELECT %s FROM `%s`.`%s` WHERE %s", t->pkcols, t->schema,
              t->name, pred);
    if (last->len > 0)
        rsbuf_fmt(&q, " AND (%s) > %s", t->pkcols, last->p);
    rsbuf_fmt(&q, " ORDER BY %s LIMIT %d", t->pkcols, batch);
    if (mysql_query(m, q.p) != 0) {
        rsbuf_free(&q);
        if (mysql_errno(m) == 1146)
            return 0; /* never created: nothing to delete */
        snprintf(err, errlen, "%s:%u: %s", m->host, m->port, mysql_error(m));
        return -1;
    }
    rsbuf_free(&q);
    if ((res = mysql_store_result(m)) == NULL) {
        snprintf(err, errlen, "%s:%u: %s", m->host, m->port, mysql_error(m));
        return -1;
    }
    keys->len = 0;
    while ((row = mysql_fetch_row(res)) != NULL) {
        const MYSQL_FIELD *f = mysql_fetch_fields(res);
        const unsigned long *len = mysql_fetch_lengths(res);
        if (n > 0)
            rsbuf_str(keys, ",");
        rsdb_tuple(m, keys, row, len, f, NULL, t->npk);
        last->len = 0;
        rsdb_tuple(m, last, row, len, f, NULL, t->npk);
        n++;
    }
    mysql_free_result(res);
    return n;
}

/* Deletes in primary key order, by primary key: each DELETE locks only
 * the rows it removes, never the rows a scan for the moving set would
 * pass over (the application writes those). */
bool
copy_delete(struct reshard *r, MYSQL *m, long long *done, char *err,
            size_t errlen)
{
    char pred[1024];
    int64_t t0 = clock_ms();
    long long n = 0;
    int batch = batch_rows(r);

    for (int i = 0; i < r->ntables; i++) {
        const struct rs_table *t = &r->tables[i];
        struct rsbuf last = {0}, keys = {0}, q = {0};
        bool ok = true;
        rs_pred(r, t, pred, sizeof(pred));
        for (;;) {
            my_ulonglong gone;
            long got = next_keys(r, t, m, batch, &last, &keys, err, errlen);
            if (got <= 0) {
                ok = got == 0;
                break;
            }
            q.len = 0;
            rsbuf_fmt(&q, "DELETE FROM `%s`.`%s` WHERE %s AND (%s) IN (%s)",
                      t->schema, t->name, pred, t->pkcols, keys.p);
            if (mysql_query(m, q.p) != 0) {
                unsigned e = mysql_errno(m);
                /* a client's transaction holds one of these rows: the
                 * same keys again after a pause, not a failed reshard */
                if ((e == 1205 || e == 1213) && rs_nap(r, 1000)) {
                    last.len = 0;
                    continue;
                }
                snprintf(err, errlen, "%s:%u: %s", m->host, m->port,
                         mysql_error(m));
                ok = false;
                break;
            }
            gone = mysql_affected_rows(m);
            n += (long long)gone;
            if (done != NULL) {
                pthread_mutex_lock(&rs_mu);
                *done += (long long)gone;
                pthread_mutex_unlock(&rs_mu);
            }
            if (got < batch)
                break;
            if (!throttle(r, t0, n) && atomic_load(&r->stop)) {
                snprintf(err, errlen, "stopped");
                ok = false;
                break;
            }
        }
        rsbuf_free(&last);
        rsbuf_free(&keys);
        rsbuf_free(&q);
        if (!ok)
            return false;
    }
    return true;
}
