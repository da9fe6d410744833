/*
 * verify.c - the reshard's proof before a cutover that the target holds
 * exactly the source's moving rows.
 *
 * A full comparison reads every moving row on both primaries, too long to
 * run while writes are held. So it runs before the hold, at a consistent
 * point. The source's binlog position P0 is read, the target caught up to
 * exactly P0 (the catch-up is the target's only writer), then a snapshot
 * of the source is opened and its position P1 read, and the target caught
 * up to P1: the snapshot holds the source as of some point between P0 and
 * P1, the target as of P1, so they agree on every row no change between
 * P0 and P1 touched. The catch-up notes the primary keys it applies from
 * P0 on; those rows are left out of the full comparison (per slot for a
 * hash rule, in all for a range: row counts and the sum of each row's
 * CRC32) and compared one by one in the hold, with every row changed
 * after them.
 */
#include "rs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

/* CRC32 of every column of t, quoted (QUOTE(NULL) is 'NULL'), into q. */
static void
row_crc(const struct rs_table *t, struct rsbuf *q)
{
    const char *c = t->cols;

    rsbuf_str(q, "CRC32(CONCAT_WS(','");
    for (int k = 0; k < t->ncols; k++) {
        const char *e = strchr(c + 1, '`');
        rsbuf_fmt(q, ",QUOTE(%.*s)", (int)(e - c + 1), c);
        c = e + 2;
    }
    rsbuf_str(q, "))");
}

/* Rows read per statement of the full comparison, and the pause between
 * two: a full scan at once would take the source's buffer pool and CPU
 * from the application for seconds. */
#define VERIFY_CHUNK    2000
#define VERIFY_PAUSE_MS 10

struct groupsum {
    long long n;
    unsigned long long sum;
};

/* Adds the moving rows of t on m, but the keys the catch-up noted, to
 * acc[group] (group: the slot for a hash rule, 0 for a range), reading
 * them in primary key order, VERIFY_CHUNK at a time. */
static bool
sums_of(struct reshard *r, struct rs_catchup *c, int ti, MYSQL *m,
        struct groupsum *acc, char *err, size_t errlen)
{
    const struct rs_table *t = &r->tables[ti];
    struct rsbuf q = {0}, last = {0};
    char pred[1024];
    bool ok = true;

    rs_pred(r, t, pred, sizeof(pred));
    for (;;) {
        MYSQL_RES *res;
        MYSQL_ROW row;
        long got = 0;
        q.len = 0;
        rsbuf_fmt(&q, "SELECT %s, ", t->pkcols);
        if (r->hash)
            rsbuf_fmt(&q, "CRC32(`%s`) %% %u, ", t->key, r->slots);
        else
            rsbuf_str(&q, "0, ");
        row_crc(t, &q);
        rsbuf_fmt(&q, " FROM `%s`.`%s` WHERE %s", t->schema, t->name, pred);
        if (last.len > 0)
            rsbuf_fmt(&q, " AND (%s) > %s", t->pkcols, last.p);
        if (catchup_tracked(c, ti) != NULL)
            rsbuf_fmt(&q, " AND (%s) NOT IN (%s)", t->pkcols,
                      catchup_tracked(c, ti));
        rsbuf_fmt(&q, " ORDER BY %s LIMIT %d", t->pkcols, VERIFY_CHUNK);
        if ((res = rsdb_query(m, q.p, err, errlen)) == NULL) {
            ok = false;
            break;
        }
        while ((row = mysql_fetch_row(res)) != NULL) {
            unsigned long g = strtoul(row[t->npk], NULL, 10);
            if (g >= (r->hash ? r->slots : 1))
                g = 0;
            acc[g].n++;
            acc[g].sum += strtoull(row[t->npk + 1], NULL, 10);
            last.len = 0;
            rsdb_tuple(m, &last, row, mysql_fetch_lengths(res),
                       mysql_fetch_fields(res), NULL, t->npk);
            got++;
        }
        mysql_free_result(res);
        if (got < VERIFY_CHUNK)
            break;
        if (!rs_nap(r, VERIFY_PAUSE_MS)) {
            snprintf(err, errlen, "stopped");
            ok = false;
            break;
        }
    }
    rsbuf_free(&q);
    rsbuf_free(&last);
    return ok;
}

/* The moving rows' per-group counts and checksums on one server, but the
 * rows the catch-up noted: one line per group, sorted, into out. */
static bool
sums(struct reshard *r, struct rs_catchup *c, MYSQL *m, struct rsbuf *out,
     char *err, size_t errlen)
{
    size_t ngroups = r->hash ? r->slots : 1;
    struct groupsum *acc = xcalloc(ngroups, sizeof(*acc));
    bool ok = true;

    for (int i = 0; i < r->ntables && ok; i++) {
        const struct rs_table *t = &r->tables[i];
        memset(acc, 0, ngroups * sizeof(*acc));
        ok = sums_of(r, c, i, m, acc, err, errlen);
        for (size_t g = 0; ok && g < ngroups; g++)
            if (acc[g].n > 0)
                rsbuf_fmt(out, "%s.%s slot %zu: %lld rows sum %llu\n",
                          t->schema, t->name, g, acc[g].n, acc[g].sum);
    }
    free(acc);
    if (out->p == NULL)
        rsbuf_str(out, "");
    return ok;
}

/* Compares two listings; false with the first differing line of each. */
static bool
same_lines(const char *a, const char *b, const char *what, char *err,
           size_t errlen)
{
    const char *p = a, *q = b;

    if (strcmp(a, b) == 0)
        return true;
    while (*p && *p == *q)
        p++, q++;
    while (p > a && p[-1] != '\n')
        p--, q--;
    snprintf(err, errlen,
             "source and target differ %s: source has %.*s, "
             "target has %.*s",
             what, (int)strcspn(p, "\n"), p, (int)strcspn(q, "\n"), q);
    return false;
}

bool
verify_snapshot(struct reshard *r, struct rs_catchup *c, MYSQL *src, MYSQL *dst,
                char *err, size_t errlen)
{
    struct rsbuf a = {0}, b = {0};
    char p0[512], pos[512];
    bool late, ok;

    ok = rsdb_value(src, "SELECT @@gtid_binlog_pos", p0, sizeof(p0), err,
                    errlen) &&
         catchup_step(c, src, dst, p0, 0, &late, err, errlen);
    /* from P0 on the catch-up notes what it applies */
    catchup_track(c);
    ok = ok &&
         rsdb_exec(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                   err, errlen) &&
         rsdb_value(src, "SELECT @@gtid_binlog_pos", pos, sizeof(pos), err,
                    errlen) &&
         catchup_step(c, src, dst, pos, 0, &late, err, errlen);
    ok = ok && sums(r, c, src, &a, err, errlen) &&
         sums(r, c, dst, &b, err, errlen);
    (void)mysql_query(src, "COMMIT");
    if (ok)
        ok = same_lines(a.p, b.p, "at a consistent point", err, errlen);
    if (ok)
        log_info("reshard verified id=%llu rule=%s at=%s",
                 (unsigned long long)r->id, r->rule, pos);
    rsbuf_free(&a);
    rsbuf_free(&b);
    return ok;
}

/* The rows of t with the listed primary keys, "pk crc" lines by pk. */
static bool
rows_of(struct reshard *r, const struct rs_table *t, MYSQL *m, const char *keys,
        struct rsbuf *out, char *err, size_t errlen)
{
    char pred[1024];
    struct rsbuf q = {0};
    MYSQL_RES *res;
    MYSQL_ROW row;

    rs_pred(r, t, pred, sizeof(pred));
    rsbuf_fmt(&q, "SELECT CONCAT_WS(',', %s), ", t->pkcols);
    row_crc(t, &q);
    rsbuf_fmt(&q, " FROM `%s`.`%s` WHERE %s AND (%s) IN (%s) ORDER BY %s",
              t->schema, t->name, pred, t->pkcols, keys, t->pkcols);
    res = rsdb_query(m, q.p, err, errlen);
    rsbuf_free(&q);
    if (res == NULL)
        return false;
    while ((row = mysql_fetch_row(res)) != NULL)
        rsbuf_fmt(out, "%s.%s key %s: crc %s\n", t->schema, t->name,
                  row[0] ? row[0] : "NULL", row[1] ? row[1] : "NULL");
    mysql_free_result(res);
    return true;
}

bool
verify_changed(struct reshard *r, struct rs_catchup *c, MYSQL *src, MYSQL *dst,
               char *err, size_t errlen)
{
    bool ok = true;

    for (int i = 0; i < r->ntables && ok; i++) {
        struct rsbuf a = {0}, b = {0};
        const char *keys = catchup_tracked(c, i);
        if (keys == NULL)
            continue;
        ok = rows_of(r, &r->tables[i], src, keys, &a, err, errlen) &&
             rows_of(r, &r->tables[i], dst, keys, &b, err, errlen);
        if (ok) {
            if (a.p == NULL)
                rsbuf_str(&a, "");
            if (b.p == NULL)
                rsbuf_str(&b, "");
            ok = same_lines(a.p, b.p, "in a row changed since the last check",
                            err, errlen);
        }
        rsbuf_free(&a);
        rsbuf_free(&b);
    }
    return ok;
}
