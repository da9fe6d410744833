/*
 * console_reshard.c - the console's online resharding commands
 * (reshard/reshard.h): RESHARD ... MOVE SLOTS / SPLIT AT, SHOW RESHARD and
 * RESHARD ABORT.
 */
#include "console_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/mysql_defs.h"
#include "reshard/reshard.h"

static const char usage[] =
    "myshard: RESHARD '<rule>' MOVE SLOTS <a>-<b> TO '<shard>' (hash rules) "
    "or RESHARD '<rule>' SPLIT AT <value> TO '<shard>' (range rules)";

static const char *
skip(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* A name, quoted or not, into buf; NULL when there is none. */
static const char *
name(const char *p, char *buf, size_t len, bool *quoted)
{
    size_t n = 0;

    p = skip(p);
    *quoted = *p == '\'' || *p == '"' || *p == '`';
    if (*quoted) {
        char q = *p++;
        while (*p && *p != q && n + 1 < len)
            buf[n++] = *p++;
        if (*p != q)
            return NULL;
        p++;
    } else {
        while (*p && !isspace((unsigned char)*p) && n + 1 < len)
            buf[n++] = *p++;
    }
    buf[n] = '\0';
    return n > 0 ? p : NULL;
}

/* The keyword kw (case-insensitive) at p; what follows, or NULL. */
static const char *
word(const char *p, const char *kw)
{
    size_t n = strlen(kw);

    p = skip(p);
    if (strncasecmp(p, kw, n) != 0 ||
        (p[n] != '\0' && !isspace((unsigned char)p[n])))
        return NULL;
    return p + n;
}

void
console_cmd_reshard(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"id",   "rule", "keys",
                                       "from", "to",   "phase"};
    char rule[128], value[256], shard[128], err[1024];
    const char *p, *q;
    bool quoted, vquoted, ok;
    uint64_t id = 0;
    struct reshard_info info[1];

    if ((p = name(args, rule, sizeof(rule), &quoted)) == NULL)
        goto bad;
    if ((q = word(p, "MOVE")) != NULL && (q = word(q, "SLOTS")) != NULL) {
        char *end;
        unsigned long lo, hi;
        q = skip(q);
        lo = strtoul(q, &end, 10);
        if (end == q)
            goto bad;
        q = skip(end);
        if (*q == '-') {
            q = skip(q + 1);
            hi = strtoul(q, &end, 10);
            if (end == q)
                goto bad;
            q = end;
        } else {
            hi = lo;
        }
        if ((q = word(q, "TO")) == NULL ||
            (q = name(q, shard, sizeof(shard), &quoted)) == NULL ||
            *skip(q) != '\0')
            goto bad;
        ok = reshard_move_slots(rule, (uint32_t)lo, (uint32_t)hi, shard, &id,
                                err, sizeof(err));
    } else if ((q = word(p, "SPLIT")) != NULL && (q = word(q, "AT")) != NULL) {
        if ((q = name(q, value, sizeof(value), &vquoted)) == NULL ||
            (q = word(q, "TO")) == NULL ||
            (q = name(q, shard, sizeof(shard), &quoted)) == NULL ||
            *skip(q) != '\0')
            goto bad;
        ok = reshard_split_at(rule, value, vquoted, shard, &id, err,
                              sizeof(err));
    } else {
        goto bad;
    }
    if (!ok) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000", "myshard: %s", err);
        return;
    }
    {
        struct console_table t = {cols, 6, NULL, 0, 0};
        int n = reshard_list(info, 1);
        console_row(&t, console_num((long long)id), rule,
                    n > 0 && info[0].id == id ? info[0].keys : "",
                    n > 0 && info[0].id == id ? info[0].from : "", shard,
                    n > 0 && info[0].id == id ? info[0].phase : "copy");
        console_send_table(ac, &t);
    }
    return;
bad:
    console_error(ac, ER_PARSE_ERROR, "42000", "%s", usage);
}

void
console_cmd_show_reshard(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"id",
                                       "rule",
                                       "keys",
                                       "from",
                                       "to",
                                       "phase",
                                       "rows_copied",
                                       "rows_total",
                                       "rows_cleaned",
                                       "binlog_lag",
                                       "binlog_behind",
                                       "held_writes",
                                       "held_total",
                                       "longest_hold_ms",
                                       "cutover_tries",
                                       "started",
                                       "phase_seconds",
                                       "error",
                                       "waiting"};
    struct console_table t = {cols, 19, NULL, 0, 0};
    struct reshard_info *info = calloc(64, sizeof(*info));
    int n = info != NULL ? reshard_list(info, 64) : 0;

    (void)args;
    for (int i = 0; i < n; i++) {
        const struct reshard_info *r = &info[i];
        char started[32];
        time_t st = (time_t)r->started;
        struct tm tm;
        gmtime_r(&st, &tm);
        strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S", &tm);
        console_row(
            &t, console_num((long long)r->id), r->rule, r->keys, r->from, r->to,
            r->phase, console_num(r->rows_copied), console_num(r->rows_total),
            console_num(r->rows_cleaned), console_fixed(r->binlog_lag_s, 1),
            console_num(r->binlog_behind), console_num(r->held_now),
            console_num((long long)r->held_total),
            console_num(r->longest_hold_ms), console_num(r->cutover_tries),
            started, console_fixed((double)r->phase_ms / 1000.0, 1), r->error,
            r->waiting);
    }
    free(info);
    console_send_table(ac, &t);
}

void
console_cmd_reshard_abort(struct admin_conn *ac, const char *args)
{
    static const char *const cols[] = {"id", "aborting"};
    struct console_table t = {cols, 2, NULL, 0, 0};
    char err[512], *end;
    unsigned long long id = strtoull(skip(args), &end, 10);

    if (end == skip(args) || *skip(end) != '\0') {
        console_error(ac, ER_PARSE_ERROR, "42000",
                      "myshard: RESHARD ABORT <id> (SHOW RESHARD lists the "
                      "ids)");
        return;
    }
    if (!reshard_abort((uint64_t)id, err, sizeof(err))) {
        console_error(ac, ER_UNKNOWN_ERROR, "HY000", "myshard: %s", err);
        return;
    }
    console_row(&t, console_num((long long)id), "1");
    console_send_table(ac, &t);
}
