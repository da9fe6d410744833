/*
 * route_tables.c - what the statement's tables are to the router and
 * which shards they allow: each table resolved against the config
 * (sharded, global, unlisted, external, derived), the tables a multi-table
 * UPDATE/DELETE really writes, key extraction (=, IN, BETWEEN, AND, OR
 * groups; alias-qualified, correlated and unqualified columns; literals and
 * bound parameters), co-location (tables of one rule joined on equal keys,
 * by ON/WHERE equality or USING), and whether global and unlisted tables
 * are on the shards chosen. rt_route_tables() is the result: r->mask.
 *
 * Choices (router.c lists the rest):
 *  - A key predicate narrows only the tables of its own SELECT block;
 *    OUTER join predicates never narrow. An unqualified column is a column
 *    of its own block's tables only.
 *  - Tables of one rule joined on their keys form a group; the group's
 *    shards are the intersection of what the keys of its row-producing
 *    tables allow (top, derived, CTE and UNION blocks; a subquery joined on
 *    the key follows its outer row). Several groups are allowed only when
 *    each maps to one and the same shard.
 *  - Key values read as a column of unknown type would: a string of digits
 *    with leading zeros ('007') may meet an integer column (7) or a text
 *    one ('007'), so a read goes to both shards; a number with a fraction,
 *    an expression or an unbound `?` does not narrow.
 *  - An unlisted table joined with sharded ones is allowed only when their
 *    keys map to the default shard alone.
 */
#include <stdio.h>
#include <string.h>

#include "cfg/cfg.h"
#include "route_internal.h"
#include "sql/lexer.h"

static bool
ident_eq(struct lex_mode m, struct sql_span a, struct sql_span b)
{
    char buf[256];
    size_t n;

    if (a.len == 0 || b.len == 0)
        return false;
    n = lexer_unquote(b.p, b.len, m, buf, sizeof(buf));
    if (n >= sizeof(buf))
        return false;
    return lexer_ident_eq(a.p, a.len, buf, n);
}

/* ---- tables ---- */

/* Index of the table a qualified column's qualifier names, searching its
 * block, then the enclosing ones (correlation); -1 when none. */
static int
resolve_qualifier(const struct rt *r, unsigned block,
                  const struct sql_colref *c)
{
    const struct stmt_info *st = r->st;
    unsigned b = block;

    for (unsigned depth = 0; depth <= SQL_MAX_BLOCKS; depth++) {
        for (int i = 0; i < r->ntab; i++) {
            const struct sql_table *t = &st->tables[i];
            if (r->tab[i].vblock != b)
                continue;
            if (c->schema.len) {
                if (ident_eq(st->mode, t->name, c->table) &&
                    (t->schema.len == 0 ||
                     ident_eq(st->mode, t->schema, c->schema)))
                    return i;
            } else if (t->alias.len) {
                if (ident_eq(st->mode, t->alias, c->table))
                    return i;
            } else if (ident_eq(st->mode, t->name, c->table)) {
                return i;
            }
        }
        if (b == 0 || b >= st->nblocks || st->blocks[b].parent >= b)
            break;
        b = st->blocks[b].parent;
    }
    return -1;
}

static int
uf_find(struct rt *r, int i)
{
    while (r->tab[i].comp != i) {
        r->tab[i].comp = r->tab[r->tab[i].comp].comp;
        i = r->tab[i].comp;
    }
    return i;
}

static int
uf_find_const(const struct rt *r, int i)
{
    while (r->tab[i].comp != i)
        i = r->tab[i].comp;
    return i;
}

static bool
col_named_key(const struct rt_table *t, const struct sql_colref *c)
{
    return t->cls == TC_SHARDED && t->ct != NULL && t->ct->key != NULL &&
           lexer_ident_eq(c->column.p, c->column.len, t->ct->key,
                          strlen(t->ct->key));
}

bool
rt_col_is_key(const struct rt *r, unsigned block, const struct sql_colref *c,
              int ti)
{
    const struct rt_table *t = &r->tab[ti];
    int root;

    if (!col_named_key(t, c))
        return false;
    if (c->table.len)
        return resolve_qualifier(r, block, c) == ti;
    /* Unqualified: a column of a table of this block (MySQL looks at the
     * block's own tables first; two tables holding it is an error there,
     * unless USING made them one column, which co-location tells). */
    if (t->vblock != block)
        return false;
    root = uf_find_const(r, ti);
    for (int i = 0; i < r->ntab; i++)
        if (i != ti && r->tab[i].vblock == block &&
            col_named_key(&r->tab[i], c) && uf_find_const(r, i) != root)
            return false;
    return true;
}

int
rt_resolve_col(const struct rt *r, unsigned block, const struct sql_colref *c,
               int want)
{
    int found = -1;

    if (c->table.len)
        return resolve_qualifier(r, block, c);
    for (int i = 0; i < r->ntab; i++) {
        if (r->tab[i].vblock != block || !col_named_key(&r->tab[i], c))
            continue;
        if (i == want)
            return i;
        if (found >= 0)
            return -1;
        found = i;
    }
    return found;
}

size_t
rt_unquote_name(struct lex_mode m, struct sql_span s, char *out, size_t cap)
{
    size_t n;

    if (s.len == 0) {
        out[0] = '\0';
        return 0;
    }
    n = lexer_unquote(s.p, s.len, m, out, cap);
    return n >= cap ? cap - 1 : n;
}

/* Class, schema and config entry of one table reference. */
void
rt_classify_table(const struct rt *r, const struct sql_table *t,
                  struct rt_table *x)
{
    char sname[65];
    size_t n, sn;
    int schema;

    x->rule = -1;
    x->ct = NULL;
    x->schema = r->schema;
    n = rt_unquote_name(r->st->mode,
                        (t->flags & TBLF_DERIVED) ? t->alias : t->name, x->name,
                        sizeof(x->name));
    if (t->flags & (TBLF_DERIVED | TBLF_CTE)) {
        x->cls = TC_VIRTUAL;
        return;
    }
    if (t->schema.len) {
        sn = rt_unquote_name(r->st->mode, t->schema, sname, sizeof(sname));
        schema = cfg_find_schema(r->cfg, sname, sn);
        if (schema < 0) {
            x->cls = TC_EXTERNAL;
            x->schema = -1;
            return;
        }
    } else if (r->ctx->schema < 0 || r->ctx->schema >= r->cfg->nschemas) {
        /* no schema selected: the server answers "No database selected" */
        x->cls = TC_UNLISTED;
        return;
    } else {
        schema = r->ctx->schema;
    }
    x->schema = schema;
    if (t->flags & TBLF_TEMP) {
        x->cls = TC_UNLISTED;
        return;
    }
    x->ct = cfg_find_table(&r->cfg->schemas[schema], x->name, n);
    if (x->ct == NULL) {
        x->cls = TC_UNLISTED;
    } else if (x->ct->global || x->ct->rule < 0) {
        x->cls = TC_GLOBAL;
    } else {
        x->cls = TC_SHARDED;
        x->rule = x->ct->rule;
    }
}

/* A block produces the statement's rows unless it sits in an expression
 * subquery (directly or through its ancestors). */
static bool
block_driving(const struct stmt_info *st, unsigned b)
{
    for (unsigned depth = 0; b != 0 && depth < SQL_MAX_BLOCKS; depth++) {
        if (b >= st->nblocks)
            return true;
        if (st->blocks[b].kind == BLOCK_SUBQUERY)
            return false;
        if (st->blocks[b].parent >= b)
            break;
        b = st->blocks[b].parent;
    }
    return true;
}

static unsigned
block_depth(const struct stmt_info *st, unsigned b)
{
    unsigned d = 0;

    while (b != 0 && b < st->nblocks && st->blocks[b].parent < b &&
           d < SQL_MAX_BLOCKS) {
        b = st->blocks[b].parent;
        d++;
    }
    return d;
}

/* The UNION member a block belongs to (0 for the first). */
static unsigned
block_member(const struct stmt_info *st, unsigned b)
{
    for (unsigned depth = 0; b != 0 && depth < SQL_MAX_BLOCKS; depth++) {
        if (b >= st->nblocks)
            break;
        if (st->blocks[b].kind == BLOCK_UNION)
            return b;
        if (st->blocks[b].parent >= b)
            break;
        b = st->blocks[b].parent;
    }
    return 0;
}

void
rt_resolve_tables(struct rt *r)
{
    const struct stmt_info *st = r->st;
    size_t used = 0;

    r->ntab = st->ntables;
    r->nsharded = r->nglobal = r->nunlisted = 0;
    for (int i = 0; i < r->ntab; i++) {
        const struct sql_table *t = &st->tables[i];
        struct rt_table *x = &r->tab[i];
        unsigned b = t->block;

        if ((t->flags & TBLF_DERIVED) && b < st->nblocks)
            b = st->blocks[b].parent;
        x->vblock = (uint8_t)b;
        x->write = (t->flags & TBLF_WRITE) != 0;
        x->comp = i;
        x->mask = 0;
        x->moving = true;
        x->driving = block_driving(st, t->block);
        rt_classify_table(r, t, x);
        if (x->cls == TC_SHARDED)
            r->nsharded++;
        else if (x->cls == TC_GLOBAL)
            r->nglobal++;
        else if (x->cls == TC_UNLISTED)
            r->nunlisted++;
        if (used > 0)
            used = rt_field_put(r->plan->tables, sizeof(r->plan->tables), used,
                                ", ", 2);
        if (t->flags & TBLF_DERIVED)
            used = rt_field_put(r->plan->tables, sizeof(r->plan->tables), used,
                                "(derived)", 9);
        else
            used = rt_field_put(r->plan->tables, sizeof(r->plan->tables), used,
                                x->name, strlen(x->name));
        if (t->alias.len) {
            char a[65];
            size_t an = rt_unquote_name(r->st->mode, t->alias, a, sizeof(a));
            used = rt_field_put(r->plan->tables, sizeof(r->plan->tables), used,
                                " ", 1);
            used = rt_field_put(r->plan->tables, sizeof(r->plan->tables), used,
                                a, an);
        }
    }
}

/* A multi-table UPDATE or DELETE writes only some of its tables: UPDATE
 * the ones its SET names, DELETE the ones listed before FROM (or after
 * DELETE FROM ... USING). The classifier marks all of them. */
static void
mark_written(struct rt *r, const bool *w)
{
    for (int i = 0; i < r->ntab; i++)
        if (r->tab[i].vblock == 0)
            r->tab[i].write = w[i];
}

static void
refine_update(struct rt *r)
{
    const struct stmt_info *st = r->st;
    bool w[SQL_MAX_TABLES] = {false};

    for (int i = 0; i < st->nassigns; i++) {
        int ti;
        if (st->assigns[i].odku)
            continue;
        if (st->assigns[i].col.table.len == 0)
            return; /* unqualified: which table is unknown */
        ti = resolve_qualifier(r, 0, &st->assigns[i].col);
        if (ti < 0)
            return;
        w[ti] = true;
    }
    mark_written(r, w);
}

static void
refine_delete(struct rt *r)
{
    const struct stmt_info *st = r->st;
    bool w[SQL_MAX_TABLES] = {false}, using_form = false, any = false;
    struct lexer lx;
    struct token t, name = {0};

    lexer_init(&lx, st->sql, st->stmt_len, st->mode);
    while (lexer_next(&lx, &t) &&
           !(t.type == TOK_IDENT && tok_is(&t, "delete")))
        ;
    while (lexer_next(&lx, &t) && t.type == TOK_IDENT &&
           (tok_is(&t, "low_priority") || tok_is(&t, "quick") ||
            tok_is(&t, "ignore")))
        ;
    if (t.type == TOK_IDENT && t.kw == KW_FROM) {
        using_form = true;
        if (!lexer_next(&lx, &t))
            return;
    }
    for (;;) {
        if (t.type == TOK_IDENT &&
            (using_form ? t.kw == KW_USING : t.kw == KW_FROM))
            break;
        if (t.type == TOK_IDENT || t.type == TOK_QIDENT) {
            name = t;
        } else if (t.type == TOK_COMMA && name.len) {
            struct sql_colref c = {.table = {name.p, (uint32_t)name.len}};
            int ti = resolve_qualifier(r, 0, &c);
            if (ti < 0)
                return;
            w[ti] = any = true;
            name.len = 0;
        } else if (t.type != TOK_DOT && t.type != TOK_OP) {
            return;
        }
        if (!lexer_next(&lx, &t))
            return; /* single-table DELETE */
    }
    if (name.len) {
        struct sql_colref c = {.table = {name.p, (uint32_t)name.len}};
        int ti = resolve_qualifier(r, 0, &c);
        if (ti < 0)
            return;
        w[ti] = any = true;
    }
    if (any)
        mark_written(r, w);
}

void
rt_refine_written(struct rt *r)
{
    if (r->st->kind == STMT_UPDATE && (r->st->flags & SQLF_JOIN))
        refine_update(r);
    else if (r->st->kind == STMT_DELETE && (r->st->flags & SQLF_JOIN))
        refine_delete(r);
}

/* `a JOIN b USING (key)`: b's key equals the key of the tables on the
 * left of the join that have that column. Scans block 0's FROM. */
static void
join_using(struct rt *r)
{
    const struct stmt_info *st = r->st;
    struct lexer lx;
    struct token t;
    int seen = 0; /* block-0 base tables passed so far */
    int start[SQL_MAX_BLOCKS];
    int depth = 0;
    int order[SQL_MAX_TABLES], norder = 0;

    if (st->from.len == 0 || !(st->flags & SQLF_JOIN))
        return;
    for (int i = 0; i < r->ntab; i++)
        if (r->tab[i].vblock == 0 &&
            !(st->tables[i].flags & (TBLF_DERIVED | TBLF_CTE)) &&
            st->tables[i].name.p >= st->from.p &&
            st->tables[i].name.p < st->from.p + st->from.len)
            order[norder++] = i;
    start[0] = 0;
    lexer_init(&lx, st->from.p, st->from.len, st->mode);
    while (lexer_next(&lx, &t)) {
        if (t.type == TOK_LPAREN) {
            if (depth + 1 < SQL_MAX_BLOCKS)
                start[++depth] = seen;
            continue;
        }
        if (t.type == TOK_RPAREN) {
            if (depth > 0)
                depth--;
            continue;
        }
        while (seen < norder && st->tables[order[seen]].name.p <= t.p)
            seen++;
        if (t.type != TOK_IDENT || t.kw != KW_USING || seen == 0)
            continue;
        /* USING ( col, ... ): the right table is the last one passed */
        if (!lexer_next(&lx, &t) || t.type != TOK_LPAREN)
            continue;
        while (lexer_next(&lx, &t) && t.type != TOK_RPAREN) {
            struct sql_colref c = {.column = {t.p, (uint32_t)t.len}};
            int right = order[seen - 1];
            if (t.type != TOK_IDENT && t.type != TOK_QIDENT)
                continue;
            if (!col_named_key(&r->tab[right], &c))
                continue;
            for (int k = start[depth]; k < seen - 1; k++) {
                int left = order[k];
                if (col_named_key(&r->tab[left], &c) &&
                    r->tab[left].rule == r->tab[right].rule)
                    r->tab[uf_find(r, right)].comp = uf_find(r, left);
            }
        }
    }
}

static void
build_components(struct rt *r)
{
    const struct stmt_info *st = r->st;

    for (unsigned i = 0; i < st->npreds; i++) {
        const struct sql_pred *p = &st->preds[i];
        int a, b;

        if (p->op != PRED_COLEQ || p->group != 0)
            continue;
        a = rt_resolve_col(r, p->block, &p->col, -1);
        b = rt_resolve_col(r, p->block, &p->col2, -1);
        if (a < 0 || b < 0 || a == b)
            continue;
        if (!col_named_key(&r->tab[a], &p->col) ||
            !col_named_key(&r->tab[b], &p->col2) ||
            r->tab[a].rule != r->tab[b].rule)
            continue;
        r->tab[uf_find(r, b)].comp = uf_find(r, a);
    }
    join_using(r);
    for (int i = 0; i < r->ntab; i++)
        if (r->tab[i].cls == TC_SHARDED)
            uf_find(r, i);
}

/* Shards table ti's own block's key predicates allow. */
static uint64_t
table_constraint(struct rt *r, int ti)
{
    const struct stmt_info *st = r->st;
    struct rt_table *t = &r->tab[ti];
    uint64_t all = placement_rule_mask(&r->cfg->rules[t->rule]);
    uint64_t m = all;
    bool open = false, mv = true, pmv;

    /* moving, like the mask: an AND keeps a moving key only when every
     * part allows one, an OR when some branch does */
    for (unsigned i = 0; i < st->npreds; i++) {
        const struct sql_pred *p = &st->preds[i];
        if (p->group != 0 || p->op == PRED_COLEQ || (p->flags & PREDF_OUTER) ||
            p->block != t->vblock || !rt_col_is_key(r, p->block, &p->col, ti))
            continue;
        m &= rt_pred_mask(r, ti, p, &open, &pmv);
        mv = mv && pmv;
    }
    for (unsigned g = 1; g <= st->ngroups && g <= SQL_MAX_GROUPS; g++) {
        uint64_t u = 0;
        bool umv = false;
        if (st->groups[g].block != t->vblock)
            continue;
        for (unsigned br = 0; br < st->groups[g].nbranches; br++) {
            uint64_t bm = all;
            bool bmv = true;
            for (unsigned i = 0; i < st->npreds; i++) {
                const struct sql_pred *p = &st->preds[i];
                if (p->group != g || p->branch != br || p->op == PRED_COLEQ ||
                    (p->flags & PREDF_OUTER) ||
                    !rt_col_is_key(r, p->block, &p->col, ti))
                    continue;
                bm &= rt_pred_mask(r, ti, p, &open, &pmv);
                bmv = bmv && pmv;
            }
            u |= bm;
            umv = umv || bmv;
        }
        if (st->groups[g].nbranches > 0) {
            m &= u;
            mv = mv && umv;
        }
    }
    t->moving = mv && placement_marked(&r->cfg->rules[t->rule])->active;
    return m;
}

static bool
tables_in_union(const struct rt *r, int a, int b)
{
    const struct stmt_info *st = r->st;

    return (st->flags & SQLF_UNION) &&
           block_member(st, st->tables[a].block) !=
               block_member(st, st->tables[b].block);
}

static void
refuse_pair(struct rt *r, int a, int b)
{
    if (tables_in_union(r, a, b))
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the UNION of '%s' and '%s' needs rows from two "
                  "shards; run its parts separately or give each part the "
                  "same shard key",
                  r->tab[a].name, r->tab[b].name);
    else
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the join of '%s' and '%s' needs rows from two "
                  "shards; join them on the shard key or make one of them "
                  "global",
                  r->tab[a].name, r->tab[b].name);
}

/* A sharded table inside a derived table or WITH query. */
static bool
block_in_derived(const struct stmt_info *st, unsigned b)
{
    for (unsigned depth = 0; b != 0 && depth < SQL_MAX_BLOCKS; depth++) {
        if (b >= st->nblocks)
            break;
        if (st->blocks[b].kind == BLOCK_DERIVED ||
            st->blocks[b].kind == BLOCK_CTE)
            return true;
        if (st->blocks[b].parent >= b)
            break;
        b = st->blocks[b].parent;
    }
    return false;
}

/*
 * The statement runs on several shards and the results are combined: only
 * right when every shard's rows are a part of the answer. Not so when the
 * sharded tables sit only in subqueries (each shard would repeat the outer
 * rows with its part of the subquery), nor when they sit in a derived table
 * or WITH query (its GROUP BY, LIMIT or DISTINCT would run per shard).
 */
static bool
check_spread(struct rt *r, bool driving)
{
    const struct stmt_info *st = r->st;

    if (!driving) {
        rt_refuse(r, ER_NOT_SUPPORTED_YET,
                  "myshard: the subquery on sharded table '%s' needs rows "
                  "from every shard; add its shard key to the subquery's "
                  "WHERE clause or join it to the outer table on the shard key",
                  r->tab[r->main].name);
        return false;
    }
    for (int i = 0; i < r->ntab; i++)
        if (r->tab[i].cls == TC_SHARDED &&
            block_in_derived(st, st->tables[i].block)) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: a derived table or WITH query over sharded "
                      "table '%s' across shards is not supported; add the "
                      "shard key to its WHERE clause",
                      r->tab[i].name);
            return false;
        }
    return true;
}

/* The shards of the sharded tables: per group of co-located tables, the
 * intersection of what its row-producing tables' keys allow; groups must
 * agree on one shard. Sets r->mask, r->main, r->scatter. */
static bool
route_sharded(struct rt *r)
{
    const struct stmt_info *st = r->st;
    int roots[SQL_MAX_TABLES], nroots = 0, first[SQL_MAX_TABLES];
    uint64_t cmask[SQL_MAX_TABLES], all[SQL_MAX_TABLES];
    bool drv[SQL_MAX_TABLES];
    uint64_t single = 0;
    int single_from = -1;

    build_components(r);
    for (int i = 0; i < r->ntab; i++) {
        int root, c;
        if (r->tab[i].cls != TC_SHARDED)
            continue;
        r->tab[i].mask = table_constraint(r, i);
        root = uf_find(r, i);
        for (c = 0; c < nroots && roots[c] != root; c++)
            ;
        if (c == nroots) {
            roots[nroots] = root;
            first[nroots] = -1;
            all[nroots] = placement_rule_mask(&r->cfg->rules[r->tab[i].rule]);
            cmask[nroots] = all[nroots];
            nroots++;
        }
    }
    for (int c = 0; c < nroots; c++) {
        bool any_driving = false;
        unsigned mind = SQL_MAX_BLOCKS + 1;
        for (int i = 0; i < r->ntab; i++)
            if (r->tab[i].cls == TC_SHARDED && uf_find(r, i) == roots[c]) {
                unsigned d = block_depth(st, r->tab[i].vblock);
                any_driving |= r->tab[i].driving;
                if (d < mind)
                    mind = d;
            }
        for (int i = 0; i < r->ntab; i++) {
            if (r->tab[i].cls != TC_SHARDED || uf_find(r, i) != roots[c])
                continue;
            if (any_driving ? !r->tab[i].driving
                            : block_depth(st, r->tab[i].vblock) != mind)
                continue;
            if (first[c] < 0)
                first[c] = i;
            cmask[c] &= r->tab[i].mask;
        }
        drv[c] = any_driving;
    }
    if (nroots == 1) {
        const struct cfg_rule *rule = &r->cfg->rules[r->tab[first[0]].rule];
        r->main = first[0];
        r->narrowed = cmask[0] != all[0];
        r->mask = cmask[0] ? cmask[0] : rt_shard_bit(rule->shards[0]);
        r->scatter = !r->narrowed && rt_mask_count(r->mask) > 1;
        return rt_mask_count(r->mask) <= 1 || check_spread(r, drv[0]);
    }
    /* several groups: each must map to one shard, the same for all (a
     * group whose keys match nothing goes along with the others) */
    for (int c = 0; c < nroots; c++) {
        if (cmask[c] == 0)
            continue;
        if (rt_mask_count(cmask[c]) > 1) {
            int other = c == 0 ? first[1] : first[0];
            refuse_pair(r, first[c], other);
            return false;
        }
        if (single == 0) {
            single = cmask[c];
            single_from = first[c];
        } else if (single != cmask[c]) {
            refuse_pair(r, single_from, first[c]);
            return false;
        }
    }
    r->main = single_from >= 0 ? single_from : first[0];
    r->narrowed = true;
    r->mask =
        single ? single
               : rt_shard_bit(r->cfg->rules[r->tab[first[0]].rule].shards[0]);
    return true;
}

/* Shards holding a table: its rule's, its schema's (global), or the
 * default shard. */
uint64_t
rt_table_shards(const struct rt *r, int i)
{
    const struct rt_table *t = &r->tab[i];

    switch (t->cls) {
    case TC_SHARDED:
        return placement_rule_mask(&r->cfg->rules[t->rule]);
    case TC_GLOBAL:
        return rt_schema_shards(r, t->schema);
    case TC_UNLISTED:
        return rt_shard_bit(rt_default_shard(r, t->schema));
    default:
        return rt_shard_bit(rt_default_shard(r, r->schema));
    }
}

/* One shard that holds table i (SHOW CREATE TABLE, DESCRIBE). */
int
rt_table_holder(const struct rt *r, int i)
{
    const struct rt_table *t = &r->tab[i];

    if (t->cls == TC_SHARDED)
        return r->cfg->rules[t->rule].shards[0];
    return rt_default_shard(r, t->cls == TC_EXTERNAL ? r->schema : t->schema);
}

/* Availability of unlisted and global tables on the chosen shards. */
static bool
check_unlisted(struct rt *r)
{
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        int def;

        if (t->cls != TC_UNLISTED)
            continue;
        def = rt_default_shard(r, t->schema);
        if (r->mask == rt_shard_bit(def))
            continue;
        if (r->main >= 0 && r->mask & rt_shard_bit(def) &&
            rt_mask_count(r->mask) == 1)
            continue;
        if (r->main >= 0 && t->write && r->st->kind != STMT_UPDATE &&
            r->st->kind != STMT_DELETE)
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: writing '%s' (unlisted, on the default shard "
                      "'%s') from rows of sharded table '%s' needs rows from "
                      "two shards; add the shard key to the WHERE clause, or "
                      "copy the rows in the application",
                      t->name, r->cfg->shards[def].name, r->tab[r->main].name);
        else if (r->main >= 0)
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: the join of '%s' and '%s' needs rows from two "
                      "shards: '%s' is not listed in myshard.yaml and lives "
                      "on the default shard '%s'; add a shard key that maps "
                      "there, or list '%s' as global",
                      r->tab[r->main].name, t->name, t->name,
                      r->cfg->shards[def].name, t->name);
        else
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: '%s' is not listed in myshard.yaml and lives "
                      "on the default shard '%s', which does not hold the "
                      "other tables' rows; list '%s' as global or sharded",
                      t->name, r->cfg->shards[def].name, t->name);
        return false;
    }
    for (int i = 0; i < r->ntab; i++) {
        const struct rt_table *t = &r->tab[i];
        uint64_t have;

        if (t->cls != TC_GLOBAL)
            continue;
        have = rt_schema_shards(r, t->schema);
        if ((r->mask & ~have) != 0) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: global table '%s' has no copy on shard '%s'; "
                      "add that shard to a rule of its schema",
                      t->name,
                      r->cfg->shards[rt_first_shard(r->mask & ~have)].name);
            return false;
        }
    }
    return true;
}

bool
rt_route_tables(struct rt *r)
{
    int wglobal = -1, unl = -1;

    r->main = -1;
    r->scatter = false;
    r->narrowed = false;
    for (int i = 0; i < r->ntab; i++) {
        if (r->tab[i].cls == TC_GLOBAL && r->tab[i].write && wglobal < 0)
            wglobal = i;
        if (r->tab[i].cls == TC_UNLISTED && unl < 0)
            unl = i;
    }
    if (r->nsharded > 0) {
        if (!route_sharded(r))
            return false;
        r->plan->table_rule = r->tab[r->main].rule;
        if (wglobal >= 0) {
            rt_refuse(r, ER_NOT_SUPPORTED_YET,
                      "myshard: writing global table '%s' from rows of "
                      "sharded table '%s' would give its copies different "
                      "rows; compute the values in the application",
                      r->tab[wglobal].name, r->tab[r->main].name);
            return false;
        }
    } else if (wglobal >= 0) {
        r->mask = rt_schema_shards(r, r->tab[wglobal].schema);
        r->plan->replicated = rt_mask_count(r->mask) > 1;
    } else if (unl >= 0) {
        r->mask = rt_shard_bit(rt_default_shard(r, r->tab[unl].schema));
    } else {
        int s = -1;
        for (int i = 0; i < r->ntab && s < 0; i++)
            if (r->tab[i].cls == TC_GLOBAL)
                s = r->tab[i].schema;
        r->mask = rt_shard_bit(rt_default_shard(r, s));
    }
    return check_unlisted(r);
}
