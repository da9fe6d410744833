/*
 * route_lock.c - LOCK TABLES and UNLOCK TABLES across shards, and what a
 * session holding table locks may still send.
 *
 * A LOCK TABLES goes to every shard that holds one of its tables (a
 * sharded table's rule shards, a global table's schema shards, an unlisted
 * table's default shard), each shard getting the list of the tables it
 * holds, so that the server never sees a table it lacks. On the server a
 * new LOCK TABLES releases the connection's earlier locks: shards where
 * the session held locks and that the new list does not reach get UNLOCK
 * TABLES in the same run. plan.lock_mask says which targets took locks;
 * the session keeps a connection on each of them (session/tablelocks.h)
 * until UNLOCK TABLES, which goes to all of them.
 *
 * While locks are held (route_ctx.lock_shards), a statement that uses a
 * table on a shard without locks is refused with 1100, as the server
 * refuses a table missing from LOCK TABLES: run on another connection it
 * would wait for the session's own locks.
 */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "cfg/cfg.h"
#include "route/placement.h"
#include "route_internal.h"
#include "sql/classify.h"
#include "sql/keyword.h"
#include "sql/lexer.h"

#define LOCK_MAX_ITEMS 4096 /* tables one LOCK TABLES may name */

/* Shards holding a table the way rt_table_shards() says for r->tab. */
static uint64_t
table_mask(const struct rt *r, const struct rt_table *x)
{
    switch (x->cls) {
    case TC_SHARDED:
        return placement_rule_mask(&r->cfg->rules[x->rule]);
    case TC_GLOBAL:
        return rt_schema_shards(r, x->schema);
    case TC_UNLISTED:
        return rt_shard_bit(rt_default_shard(r, x->schema));
    default:
        return rt_shard_bit(rt_default_shard(r, r->schema));
    }
}

/* The shards of each item's table, read from the item alone (the
 * statement's own table list stops at SQL_MAX_TABLES). */
static bool
item_masks(struct rt *r, const struct sql_span *items, size_t n, uint64_t *mask)
{
    struct stmt_info *one = xmalloc(sizeof(*one));
    char *text = NULL;
    size_t cap = 0;
    bool ok = true;

    for (size_t i = 0; i < n && ok; i++) {
        struct rt_table x;
        if (cap < items[i].len + 12) {
            cap = items[i].len + 12;
            text = xrealloc(text, cap);
        }
        memcpy(text, "LOCK TABLES", 11);
        memcpy(text + 11, items[i].p, items[i].len);
        ok = sql_classify(text, items[i].len + 11, r->st->mode, one) &&
             one->kind == STMT_LOCK_TABLES && one->ntables == 1 && !one->multi;
        if (ok) {
            rt_classify_table(r, &one->tables[0], &x);
            mask[i] = table_mask(r, &x);
        }
    }
    free(text);
    free(one);
    return ok;
}

void
rt_route_lock(struct rt *r)
{
    const struct stmt_info *st = r->st;
    struct route_plan *p = r->plan;
    struct sql_span *items = xmalloc(LOCK_MAX_ITEMS * sizeof(*items));
    uint64_t *mask = NULL, want = 0, all, m;
    bool split = false, splittable;
    size_t n = sql_lock_items(st, items, LOCK_MAX_ITEMS, &splittable), base;

    if (n > 0) {
        mask = xmalloc(n * sizeof(*mask));
        if (!splittable && n > 1 && st->overflow)
            n = 0; /* its items cannot be read one by one */
        else if (!st->overflow && n == (size_t)r->ntab)
            for (size_t i = 0; i < n; i++)
                mask[i] = rt_table_shards(r, (int)i);
        else if (!item_masks(r, items, n, mask))
            n = 0;
    }
    if (n == 0) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: this LOCK TABLES could not be read table by "
                  "table; write it as LOCK TABLES t1 READ, t2 WRITE, ...");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        want |= mask[i];
    for (size_t i = 0; i < n; i++)
        split |= (mask[i] & want) != want;
    all = want | r->ctx->lock_shards;
    p->lock_mask = want;
    if (!split && all == want) {
        rt_set_targets(r, want, st->sql, st->len);
        goto out;
    }
    if (split && !splittable) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the tables of this LOCK TABLES live on different "
                  "shards and its list is inside an executable comment; "
                  "write the list in plain text");
        goto out;
    }
    /* one text per shard: its own tables, or UNLOCK TABLES */
    p->ntargets = 0;
    base = p->buf_len;
    for (m = all; m != 0; m &= m - 1) {
        int s = __builtin_ctzll(m);
        size_t at = p->buf_len;
        if (want & rt_shard_bit(s)) {
            bool first = true;
            rt_buf_put(p, "LOCK TABLES", 11);
            for (size_t i = 0; i < n; i++) {
                if (!(mask[i] & rt_shard_bit(s)))
                    continue;
                if (!first)
                    rt_buf_put(p, ",", 1);
                else if (items[i].len > 0 && items[i].p[0] != ' ' &&
                         items[i].p[0] != '\n' && items[i].p[0] != '\t')
                    rt_buf_put(p, " ", 1);
                rt_buf_put(p, items[i].p, items[i].len);
                first = false;
            }
        } else {
            rt_buf_put(p, "UNLOCK TABLES", 13);
        }
        p->targets[p->ntargets].shard = s;
        p->targets[p->ntargets].sql = NULL; /* the buffer may still move */
        p->targets[p->ntargets].len = p->buf_len - at;
        p->ntargets++;
    }
    /* point into the buffer now that it stopped growing */
    for (int i = 0; i < p->ntargets; i++) {
        p->targets[i].sql = p->buf + base;
        base += p->targets[i].len;
    }
out:
    free(mask);
    free(items);
}

void
rt_route_unlock(struct rt *r)
{
    if (r->ctx->lock_shards == 0) {
        rt_set_targets(r, rt_shard_bit(rt_default_shard(r, r->schema)),
                       r->st->sql, r->st->len);
        return;
    }
    rt_set_targets(r, r->ctx->lock_shards, r->st->sql, r->st->len);
}

/* Statements that open the tables they name. */
static bool
uses_tables(const struct stmt_info *st)
{
    switch (st->kind) {
    case STMT_SELECT:
    case STMT_INSERT:
    case STMT_REPLACE:
    case STMT_UPDATE:
    case STMT_DELETE:
    case STMT_DDL:
    case STMT_DO:
    case STMT_LOAD_DATA:
    case STMT_HANDLER:
        return true;
    default:
        return false;
    }
}

void
rt_check_locked(struct rt *r)
{
    const struct route_plan *p = r->plan;
    uint64_t locked = r->ctx->lock_shards;

    if (locked == 0 || r->refused || p->action != ROUTE_FORWARD ||
        !uses_tables(r->st))
        return;
    for (int k = 0; k < p->ntargets; k++) {
        int s = p->targets[k].shard;
        if (locked & rt_shard_bit(s))
            continue;
        for (int i = 0; i < r->ntab; i++) {
            const struct rt_table *t = &r->tab[i];
            if ((t->cls != TC_SHARDED && t->cls != TC_GLOBAL &&
                 t->cls != TC_UNLISTED) ||
                !(rt_table_shards(r, i) & rt_shard_bit(s)))
                continue;
            rt_refuse(r, ER_TABLE_NOT_LOCKED,
                      "myshard: table '%s' was not locked with LOCK TABLES "
                      "on shard '%s', and the session holds table locks; "
                      "name every table the statement uses in LOCK TABLES, "
                      "or UNLOCK TABLES first",
                      t->name, r->cfg->shards[s].name);
            return;
        }
    }
}
