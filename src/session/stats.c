/*
 * stats.c - see stats.h.
 */
#include "session/stats.h"

#include "sql/classify_types.h"

enum stats_kind
stats_kind_of(int stmt_kind)
{
    switch (stmt_kind) {
    case STMT_SELECT:
        return SK_select;
    case STMT_INSERT:
        return SK_insert;
    case STMT_UPDATE:
        return SK_update;
    case STMT_DELETE:
        return SK_delete;
    case STMT_REPLACE:
        return SK_replace;
    case STMT_DDL:
        return SK_ddl;
    case STMT_SET:
        return SK_set;
    case STMT_BEGIN:
    case STMT_COMMIT:
    case STMT_ROLLBACK:
    case STMT_SAVEPOINT:
    case STMT_RELEASE_SAVEPOINT:
    case STMT_XA:
        return SK_transaction;
    case STMT_SHOW:
        return SK_show;
    default:
        return SK_other;
    }
}

const char *
stats_kind_name(enum stats_kind k)
{
#define KIND_NAME(n) #n,
    static const char *const names[] = {STATS_KINDS(KIND_NAME)};
#undef KIND_NAME
    return k < SK_COUNT ? names[k] : "other";
}

const char *
stats_route_name(enum stats_route r)
{
#define ROUTE_NAME(n) #n,
    static const char *const names[] = {STATS_ROUTES(ROUTE_NAME)};
#undef ROUTE_NAME
    return r < SR_COUNT ? names[r] : "proxy";
}

void
stats_observe_us(struct stats *st, int64_t us)
{
    static const double bounds[STATS_NBUCKETS] = STATS_BUCKETS;

    if (us < 0)
        us = 0;
    for (int i = 0; i < STATS_NBUCKETS; i++)
        if ((double)us <= bounds[i] * 1e6) {
            STATS_ADD(st, duration_in[i], 1);
            break;
        }
    STATS_ADD(st, duration_count, 1);
    STATS_ADD(st, duration_sum_us, us);
}

void
stats_sum(struct stats *dst, const struct stats *src)
{
#define SUM(name, help) STATS_ADD(dst, name, STATS_GET(src, name));
    STATS_COUNTERS(SUM)
#undef SUM
    for (int i = 0; i < SK_COUNT; i++)
        STATS_ADD(dst, by_kind[i], STATS_GET(src, by_kind[i]));
    for (int i = 0; i < SR_COUNT; i++)
        STATS_ADD(dst, by_route[i], STATS_GET(src, by_route[i]));
    for (int i = 0; i < STATS_PIN_REASONS; i++)
        STATS_ADD(dst, pins_taken[i], STATS_GET(src, pins_taken[i]));
    for (int i = 0; i < STATS_NBUCKETS; i++)
        STATS_ADD(dst, duration_in[i], STATS_GET(src, duration_in[i]));
    STATS_ADD(dst, duration_count, STATS_GET(src, duration_count));
    STATS_ADD(dst, duration_sum_us, STATS_GET(src, duration_sum_us));
}
