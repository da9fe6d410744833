/*
 * merge_plan.c - the merge plan (route/route.h's merge_spec) resolved
 * against the columns the shards returned: sort, group and post-sort keys
 * as column indexes, the aggregates and HAVING's columns, the output
 * types, and whether rows can pass through untouched (fast) or must be
 * held for a sort at the end (in_memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proto/mysql_defs.h"
#include "result/having.h"

#include "merge_internal.h"

static int
resolve(const struct merge *m, int16_t col)
{
    int c = col >= 0 ? col : (int)m->ncols + col;

    return c >= 0 && c < (int)m->ncols ? c : -1;
}

static bool
resolve_keys(const struct merge *m, const struct merge_key *in, int n,
             struct sort_key *out, int *nout)
{
    for (int i = 0; i < n; i++) {
        int c = resolve(m, in[i].col);
        if (c < 0)
            return false;
        out[*nout].col = out[*nout].pos = (uint16_t)c;
        out[*nout].desc = in[i].desc;
        (*nout)++;
    }
    return true;
}

/* The plan's aggregates, resolved against the columns. NULL when they
 * fit, else what did not. */
static const char *
plan_aggs(struct merge *m)
{
    const struct merge_spec *ms = &m->ms;

    aggs_init(&m->aggs, &m->shape, m->otypes);
    for (int i = 0; i < ms->naggs && i < MERGE_MAX_AGGS; i++) {
        const struct merge_aggcol *a = &ms->aggs[i];
        int c = resolve(m, a->col), c2 = 0;
        if (c < 0 || a->agg == MAGG_NONE || a->agg > MAGG_AVG_DISTINCT)
            return "aggregate columns";
        if (a->agg == MAGG_AVG) {
            c2 = resolve(m, a->col2);
            if (c2 < 0 || c2 == c)
                return "AVG count column";
        }
        if (!aggs_set(&m->aggs, (uint32_t)c, a->agg, (uint32_t)c2))
            return "aggregate columns";
    }
    aggs_prepare(&m->aggs, m->src[0].cs.defs, m->src[0].cs.def_len);
    aggs_out_columns(&m->aggs, m->ocols);
    for (int i = 0; i < m->ms.having.n; i++) {
        struct expr_node *nd = &m->ms.having.nodes[i];
        int c;
        if (nd->op != EXPR_COL)
            continue;
        if ((c = resolve(m, nd->col)) < 0)
            return "HAVING columns";
        nd->col = (int16_t)c;
    }
    return NULL;
}

bool
merge_plan_setup(struct merge *m, uint16_t *code, char *msg, size_t len)
{
    const struct merge_spec *ms = &m->ms;
    const struct msrc *s0 = &m->src[0];
    size_t nk = (size_t)MERGE_MAX_KEYS + m->ncols;
    const char *why = NULL;

    m->shape.cols = s0->cs.cols;
    m->shape.ncols = m->ncols;
    if (ms->nhidden >= m->ncols) {
        why = "hidden columns";
        goto bad;
    }
    m->visible = m->shape.visible = m->ncols - ms->nhidden;
    if (m->shape.binary) {
        for (int i = 1; i < m->n; i++) {
            if (memcmp(m->src[i].cs.types, s0->cs.types,
                       sizeof(s0->cs.types[0]) * m->ncols) != 0) {
                *code = ER_UNKNOWN_ERROR;
                snprintf(msg, len,
                         "myshard: shards returned different "
                         "column types; the result cannot be "
                         "merged");
                return false;
            }
        }
    }
    m->in_memory = ms->npost_sort > 0 || (ms->distinct && ms->grouped);
    m->fast = !ms->grouped && ms->nsort == 0 && !ms->distinct &&
              ms->npost_sort == 0 && ms->nhidden == 0;
    m->mkeys = xcalloc(nk, sizeof(struct sort_key));
    m->gkeys = xcalloc(nk, sizeof(struct sort_key));
    m->otypes = xcalloc(m->ncols, sizeof(m->otypes[0]));
    m->scratch = xcalloc(m->ncols, sizeof(m->scratch[0]));
    m->fin = xcalloc(m->ncols, sizeof(m->fin[0]));
    m->ocols = xcalloc(m->ncols, sizeof(m->ocols[0]));
    memcpy(m->ocols, s0->cs.cols, sizeof(m->ocols[0]) * m->ncols);
    m->oshape = m->shape;
    m->oshape.cols = m->ocols;
    for (uint32_t c = 0; c < m->ncols; c++)
        m->otypes[c] = s0->cs.types[c];

    if (ms->grouped) {
        if (!resolve_keys(m, ms->group, ms->ngroup, m->gkeys, &m->ngkeys)) {
            why = "group keys";
            goto bad;
        }
        if (ms->nsort > 0) {
            if (!resolve_keys(m, ms->sort, ms->nsort, m->mkeys, &m->nmkeys)) {
                why = "sort keys";
                goto bad;
            }
            for (int i = 0; i < m->ngkeys; i++) {
                if (!sort_keys_has(m->mkeys, m->nmkeys, m->gkeys[i].col)) {
                    why = "sort keys not covering the group keys";
                    goto bad;
                }
            }
        } else if (ms->ngroup > 0) {
            memcpy(m->mkeys, m->gkeys, sizeof(struct sort_key) * m->ngkeys);
            m->nmkeys = m->ngkeys;
        }
        if ((why = plan_aggs(m)) != NULL)
            goto bad;
        if (aggs_check(&m->aggs, msg, len) != NULL) {
            *code = ER_NOT_SUPPORTED_YET;
            return false;
        }
    } else {
        if (!resolve_keys(m, ms->sort, ms->nsort, m->mkeys, &m->nmkeys)) {
            why = "sort keys";
            goto bad;
        }
        if (ms->distinct && !m->in_memory)
            sort_keys_add_visible(m->mkeys, &m->nmkeys, m->visible);
    }

    if (m->in_memory) {
        struct sort_key *pkeys = xcalloc(nk, sizeof(*pkeys));
        uint64_t keep = UINT64_MAX;
        int np = 0;
        if (!resolve_keys(m, ms->post_sort, ms->npost_sort, pkeys, &np)) {
            free(pkeys);
            why = "post-sort keys";
            goto bad;
        }
        if (ms->distinct)
            sort_keys_add_visible(pkeys, &np, m->visible);
        if (ms->has_limit && ms->limit <= UINT64_MAX - ms->offset)
            keep = ms->offset + ms->limit;
        sort_init(&m->sorted, &m->oshape, pkeys, np, ms->distinct, keep,
                  m->max_rows);
        free(pkeys);
    }
    m->offset_left = ms->has_limit ? ms->offset : 0;
    if (ms->has_limit && ms->limit == 0)
        m->limit_done = true;
    return true;
bad:
    *code = ER_UNKNOWN_ERROR;
    snprintf(msg, len,
             "myshard: the merge plan does not fit the shards' result "
             "(%s, %u columns)",
             why, (unsigned)m->ncols);
    return false;
}
