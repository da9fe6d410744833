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

/* The moving rows' per-group counts and checksums on one server, but the
 * rows the catch-up noted: one line per group, sorted, into out. */
static bool
sums(struct reshard *r, struct rs_catchup *c, MYSQL *m, struct rsbuf *out,
     char *err, size_t errlen)
{
    for (int i = 0; i < r->ntables; i++) {
        const struct rs_table *t = &r->tables[i];
        char pred[1024];
        struct rsbuf q = {0};
        MYSQL_RES *res;
        MYSQL_ROW row;

        rs_pred(r, t, pred, sizeof(pred));
        if (r->hash)
            rsbuf_fmt(&q, "SELECT CRC32(`%s`) %% %u AS g", t->key, r->slots);
        else
            rsbuf_str(&q, "SELECT 0 AS g");
        rsbuf_str(&q, ", COUNT(*), SUM(");
        row_crc(t, &q);
        rsbuf_fmt(&q, ") FROM `%s`.`%s` WHERE %s", t->schema, t->name, pred);
        if (catchup_tracked(c, i) != NULL)
            rsbuf_fmt(&q, " AND (%s) NOT IN (%s)", t->pkcols,
                      catchup_tracked(c, i));
        rsbuf_str(&q, " GROUP BY g ORDER BY g");
        res = rsdb_query(m, q.p, err, errlen);
        rsbuf_free(&q);
        if (res == NULL)
            return false;
        while ((row = mysql_fetch_row(res)) != NULL)
            rsbuf_fmt(out, "%s.%s slot %s: %s rows sum %s\n", t->schema,
                      t->name, row[0], row[1], row[2] ? row[2] : "0");
        mysql_free_result(res);
    }
    if (out->p == NULL)
        rsbuf_str(out, "");
    return true;
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
