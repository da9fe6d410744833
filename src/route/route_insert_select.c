/*
 * route_insert_select.c - INSERT ... SELECT into a sharded table, when
 * every row it inserts provably lands on the shard that runs it:
 *
 *  - the key's value is the select item at the key's position (the column
 *    list's, or the table's column order for the positional form);
 *  - that item is the key column of a table sharded by the same rule (so
 *    a row read on a shard has a key placed on that shard): the statement
 *    runs as written on every shard the SELECT reaches (its key
 *    predicates narrow it; LIMIT only when that is one shard);
 *  - or it is a literal (or a bound `?`): the statement runs on that key's
 *    shard, which must hold everything the SELECT reads.
 * Anything else (an expression, `*`, UNION, WITH, TABLE t) is refused
 * with 1235 saying how to write it. Only the first SELECT of the
 * statement's text is read; its select list is lexed here, since the
 * classifier records select lists of the top block only.
 */
#include <stdio.h>
#include <string.h>

#include "route_internal.h"
#include "sql/lexer.h"
#include "sql/predicates.h"

#define MAX_ITEMS 256

/* The SELECT's list, split at top-level commas, and what follows it. */
struct sel {
    int nitems;
    struct sql_span items[MAX_ITEMS];
    bool star;      /* an item is * or t.* */
    bool has_limit; /* LIMIT at the SELECT's level */
    bool other;     /* UNION, WITH, TABLE, a parenthesized query */
};

static bool
read_select(const struct stmt_info *st, const char *from, struct sel *sel)
{
    struct lexer lx;
    struct token t;
    const char *start = NULL;
    int depth = 0;
    bool in_list = false, seen = false;

    memset(sel, 0, sizeof(*sel));
    lexer_init(&lx, from, (size_t)(st->sql + st->len - from), st->mode);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_LPAREN) {
            /* before SELECT: the column list, or (SELECT ...), whose
             * SELECT at depth 1 is never seen: refused */
            if (in_list && depth == 0 && start == NULL)
                start = t.p;
            depth++;
            continue;
        }
        if (t.type == TOK_RPAREN) {
            depth--;
            continue;
        }
        if (depth > 0)
            continue;
        if (!seen) {
            if (tok_is(&t, "with") || tok_is(&t, "table"))
                sel->other = true;
            if (tok_is(&t, "select")) {
                seen = in_list = true;
                start = NULL;
            }
            continue;
        }
        if (t.type == TOK_SEMI)
            break;
        if (in_list) {
            bool end = t.type == TOK_IDENT &&
                       (tok_is(&t, "from") || tok_is(&t, "into") ||
                        tok_is(&t, "where") || tok_is(&t, "union") ||
                        tok_is(&t, "limit") || tok_is(&t, "on") ||
                        tok_is(&t, "returning") || tok_is(&t, "group") ||
                        tok_is(&t, "having") || tok_is(&t, "order"));
            if (start == NULL &&
                (tok_is(&t, "distinct") || tok_is(&t, "all") ||
                 tok_is(&t, "distinctrow") || tok_is(&t, "straight_join") ||
                 tok_is(&t, "high_priority") || tok_is(&t, "sql_no_cache") ||
                 tok_is(&t, "sql_cache") || tok_is(&t, "sql_small_result") ||
                 tok_is(&t, "sql_big_result") ||
                 tok_is(&t, "sql_buffer_result")))
                continue;
            if (t.type == TOK_COMMA || end) {
                if (start != NULL && sel->nitems < MAX_ITEMS) {
                    const char *e = t.p;
                    while (e > start && (e[-1] == ' ' || e[-1] == '\t' ||
                                         e[-1] == '\n' || e[-1] == '\r'))
                        e--;
                    sel->items[sel->nitems].p = start;
                    sel->items[sel->nitems++].len = (size_t)(e - start);
                }
                start = NULL;
                if (end)
                    in_list = false;
                else
                    continue;
            } else {
                if (start == NULL)
                    start = t.p;
                if (t.type == TOK_OP && t.len == 1 && t.p[0] == '*')
                    sel->star = true;
                continue;
            }
        }
        if (tok_is(&t, "union") || tok_is(&t, "except") ||
            tok_is(&t, "intersect"))
            sel->other = true;
        if (tok_is(&t, "limit"))
            sel->has_limit = true;
    }
    if (in_list && start != NULL && sel->nitems < MAX_ITEMS) {
        sel->items[sel->nitems].p = start;
        sel->items[sel->nitems++].len =
            (size_t)(st->sql + st->len - start); /* to the end */
    }
    return seen;
}

/* An item that is a column reference ([t.]col, maybe with an alias). */
static bool
item_colref(struct lex_mode m, struct sql_span item, struct sql_colref *c)
{
    struct lexer lx;
    struct token t[6];
    int n = 0;

    memset(c, 0, sizeof(*c));
    lexer_init(&lx, item.p, item.len, m);
    while (n < 6 && lexer_next(&lx, &t[n]))
        n++;
    if (n == 6 || n == 0)
        return false;
#define NAME(k) (t[k].type == TOK_IDENT || t[k].type == TOK_QIDENT)
    if (!NAME(0))
        return false;
    if (n >= 3 && t[1].type == TOK_DOT && NAME(2)) {
        c->table.p = t[0].p;
        c->table.len = t[0].len;
        c->column.p = t[2].p;
        c->column.len = t[2].len;
        n -= 3;
        if (n == 0 || (n == 1 && NAME(3)) ||
            (n == 2 && tok_is(&t[3], "as") && NAME(4)))
            return true;
        return false;
    }
    c->column.p = t[0].p;
    c->column.len = t[0].len;
    n -= 1;
    return n == 0 || (n == 1 && NAME(1)) ||
           (n == 2 && tok_is(&t[1], "as") && NAME(2));
#undef NAME
}

static int
insert_block(const struct stmt_info *st)
{
    for (int b = 0; b < st->nblocks; b++)
        if (st->blocks[b].kind == BLOCK_INSERT)
            return b;
    return -1;
}

/* The shards the SELECT reads, routed without the written table (which it
 * does not read). False after refusing. */
static bool
select_shards(struct rt *r, int ti)
{
    uint8_t cls = r->tab[ti].cls;
    bool ok;

    r->tab[ti].cls = TC_VIRTUAL;
    r->nsharded--;
    ok = rt_route_tables(r);
    r->tab[ti].cls = cls;
    r->nsharded++;
    return ok;
}

static bool
reads_kind(const struct rt *r, int ti, uint8_t cls)
{
    for (int i = 0; i < r->ntab; i++)
        if (i != ti && r->tab[i].cls == cls)
            return true;
    return false;
}

void
rt_route_insert_select(struct rt *r, int ti, int keyidx, bool explain_only)
{
    const struct stmt_info *st = r->st;
    const struct rt_table *t = &r->tab[ti];
    const struct cfg_rule *rule = &r->cfg->rules[t->rule];
    const char *key = t->ct->key;
    const struct sql_table *wt = NULL;
    struct sql_colref c;
    struct sel sel;
    int blk = insert_block(st), n, shard = -1;

    for (int i = 0; i < st->ntables && wt == NULL; i++)
        if (st->tables[i].flags & TBLF_WRITE)
            wt = &st->tables[i];
    if (wt == NULL || blk < 0 ||
        !read_select(st, wt->name.p + wt->name.len, &sel) || sel.other ||
        sel.star || keyidx >= sel.nitems) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: INSERT ... SELECT into sharded table '%s' needs "
                  "a plain SELECT whose item %d gives the shard key '%s' "
                  "(no *, UNION, WITH or TABLE); list the columns and "
                  "select them by name",
                  t->name, keyidx + 1, key);
        return;
    }
    if (item_colref(st->mode, sel.items[keyidx], &c)) {
        int u = rt_resolve_col(r, (unsigned)blk, &c, -1);
        if (u < 0 || u == ti || r->tab[u].cls != TC_SHARDED ||
            r->tab[u].rule != t->rule ||
            !rt_col_is_key(r, (unsigned)blk, &c, u)) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: INSERT ... SELECT into sharded table '%s': "
                      "its shard key '%s' comes from '%.*s', which is not "
                      "the shard key of a table sharded by rule '%s', so "
                      "rows could land on the wrong shard; select such a "
                      "key, or a literal",
                      t->name, key, (int)MIN(sel.items[keyidx].len, 80u),
                      sel.items[keyidx].p, rule->name);
            return;
        }
        if (!select_shards(r, ti))
            return;
        /* the rows' keys are u's keys the SELECT reaches */
        r->tab[ti].moving = r->tab[u].moving;
    } else {
        struct sql_values_iter it;
        struct sql_value v;
        struct route_key k;
        char buf[RT_KEY_CAP];
        enum rt_keyval kv = KV_UNKNOWN;

        sql_values_begin(&it, sel.items[keyidx],
                         rt_params_before(st, sel.items[keyidx].p), st->mode);
        if (sql_values_next(&it, &v))
            kv = rt_value_key(r, &v, &k, buf);
        if (kv == KV_PARAM_MISSING && r->ctx->params == NULL) {
            /* PREPARE: every shard of the rule; EXECUTE routes by value */
            r->plan->needs_params = true;
            r->mask = placement_rule_mask(rule);
            r->scatter = true;
            if (!explain_only) {
                rt_set_targets(r, r->mask, st->sql, st->len);
                r->plan->scatter = true;
                r->plan->sum_affected = rt_mask_count(r->mask) > 1;
            }
            return;
        }
        if (kv != KV_OK ||
            placement_locate(rule, &k, &shard, NULL) != PLACE_OK) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: INSERT ... SELECT into sharded table '%s': "
                      "its shard key '%s' comes from '%.*s', which myshard "
                      "cannot place; select the shard key of a table "
                      "sharded by rule '%s', or a literal key",
                      t->name, key, (int)MIN(sel.items[keyidx].len, 80u),
                      sel.items[keyidx].p, rule->name);
            return;
        }
        if (!select_shards(r, ti))
            return;
        if ((reads_kind(r, ti, TC_SHARDED) || reads_kind(r, ti, TC_UNLISTED)) &&
            r->mask != rt_shard_bit(shard)) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: INSERT ... SELECT into sharded table '%s': "
                      "the rows go to shard '%s' and the SELECT reads other "
                      "shards; read the values first, then insert them",
                      t->name, r->cfg->shards[shard].name);
            return;
        }
        r->mask = rt_shard_bit(shard);
        r->scatter = false;
        r->tab[ti].moving = placement_in_marked(rule, &k);
    }
    n = rt_mask_count(r->mask);
    if (n > 1 && sel.has_limit) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: INSERT ... SELECT ... LIMIT into sharded table "
                  "'%s' reaches %d shards, which cannot share one limit; "
                  "add the shard key to the WHERE clause",
                  t->name, n);
        return;
    }
    if (explain_only)
        return;
    rt_set_targets(r, r->mask, st->sql, st->len);
    r->plan->scatter = r->scatter;
    r->plan->sum_affected = n > 1;
}
