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

#include "cfg/cfg.h"
#include "route_internal.h"
#include "sql/classify.h"
#include "sql/keyword.h"
#include "sql/lexer.h"

/* The list items of a LOCK TABLES: the text of each (from after the
 * previous comma, or after TABLES, to the next comma or the end). */
struct lock_items {
    int n;
    bool splittable; /* no boundary inside an executable comment */
    struct sql_span item[SQL_MAX_TABLES];
};

static bool
lock_items_read(const struct stmt_info *st, struct lock_items *li)
{
    size_t end = st->stmt_len ? st->stmt_len : st->len;
    const char *start = NULL;
    struct lexer lx;
    struct token t;

    li->n = 0;
    li->splittable = true;
    lexer_init(&lx, st->sql, end, st->mode);
    while (lexer_next(&lx, &t)) {
        if (start == NULL) {
            if (t.type == TOK_IDENT &&
                (t.kw == KW_TABLE || t.kw == KW_TABLES)) {
                start = t.p + t.len;
                li->splittable &= !lx.in_exec;
            }
            continue;
        }
        if (t.type != TOK_COMMA)
            continue;
        if (li->n >= SQL_MAX_TABLES)
            return false;
        li->splittable &= !lx.in_exec;
        li->item[li->n].p = start;
        li->item[li->n].len = (size_t)(t.p - start);
        li->n++;
        start = t.p + t.len;
    }
    if (start == NULL || li->n >= SQL_MAX_TABLES)
        return false;
    li->item[li->n].p = start;
    li->item[li->n].len = (size_t)(st->sql + end - start);
    li->n++;
    return true;
}

void
rt_route_lock(struct rt *r)
{
    const struct stmt_info *st = r->st;
    struct route_plan *p = r->plan;
    struct lock_items li;
    uint64_t want = 0, all, m;
    bool split = false;
    size_t base;

    if (!lock_items_read(st, &li) || li.n != r->ntab || r->ntab == 0) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: this LOCK TABLES could not be read table by "
                  "table; write it as LOCK TABLES t1 READ, t2 WRITE, ...");
        return;
    }
    for (int i = 0; i < r->ntab; i++)
        want |= rt_table_shards(r, i);
    for (int i = 0; i < r->ntab; i++)
        split |= (rt_table_shards(r, i) & want) != want;
    all = want | r->ctx->lock_shards;
    p->lock_mask = want;
    if (!split && all == want) {
        rt_set_targets(r, want, st->sql, st->len);
        return;
    }
    if (split && !li.splittable) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the tables of this LOCK TABLES live on different "
                  "shards and its list is inside an executable comment; "
                  "write the list in plain text");
        return;
    }
    /* one text per shard: its own tables, or UNLOCK TABLES */
    p->ntargets = 0;
    base = p->buf_len;
    for (m = all; m != 0; m &= m - 1) {
        int s = __builtin_ctzll(m);
        size_t at = p->buf_len, len;
        if (want & rt_shard_bit(s)) {
            bool first = true;
            rt_buf_put(p, "LOCK TABLES", 11);
            for (int i = 0; i < r->ntab; i++) {
                if (!(rt_table_shards(r, i) & rt_shard_bit(s)))
                    continue;
                if (!first)
                    rt_buf_put(p, ",", 1);
                else if (li.item[i].len > 0 && li.item[i].p[0] != ' ' &&
                         li.item[i].p[0] != '\n' && li.item[i].p[0] != '\t')
                    rt_buf_put(p, " ", 1);
                rt_buf_put(p, li.item[i].p, li.item[i].len);
                first = false;
            }
        } else {
            rt_buf_put(p, "UNLOCK TABLES", 13);
        }
        len = p->buf_len - at;
        p->targets[p->ntargets].shard = s;
        p->targets[p->ntargets].sql = NULL; /* the buffer may still move */
        p->targets[p->ntargets].len = len;
        p->ntargets++;
    }
    /* point into the buffer now that it stopped growing */
    for (int i = 0; i < p->ntargets; i++) {
        p->targets[i].sql = p->buf + base;
        base += p->targets[i].len;
    }
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
