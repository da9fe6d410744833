/*
 * itest_sharding_util.h - what itest_sharding's sections share
 * (itest_sharding_util.c): the test tables and their rules, the connections
 * (through myshard, to the reference schema, to each shard), result sets
 * compared row for row, the rows written and where each must be placed.
 */
#ifndef ITEST_SHARDING_UTIL_H
#define ITEST_SHARDING_UTIL_H

#include "itest.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_DB  "ref_sharding"
#define NROWS   200
#define NSHARDS 2
#define VLEN    96
#define MAXCOLS 8

enum rule_kind { HASH_EVEN, HASH_MAP, MOD, RANGE_INT, RANGE_STR, GLOBAL };

struct table {
    const char *name;
    const char *key; /* shard key column; NULL for the global table */
    enum rule_kind rule;
    const char *cols; /* INSERT column list, ", " separated */
    const char *odku; /* ON DUPLICATE KEY UPDATE assignments */
    const char *defs; /* column definitions */
};

enum {
    T_ORDERS,
    T_ITEMS,
    T_ACCOUNTS,
    T_EVENTS,
    T_CUSTOMERS,
    T_VISITS,
    T_COUNTRIES,
    NTABLES
};

#define NCOUNTRIES 10

/* A growing string. */
struct buf {
    char *p;
    size_t len, cap;
};

/* One statement's outcome: an error, an OK (affected rows) or rows. */
struct rs {
    bool ok;
    unsigned err;
    char msg[512];
    unsigned long long affected;
    int ncols; /* 0: no result set */
    char *names;
    int nrows;
    char ***cell; /* [row][col], NULL for SQL NULL */
    char **text;  /* printable row: ('a', NULL, '1.50') */
};

extern const struct table tables[NTABLES];
extern const char *const shard_name[NSHARDS];
extern const char *const shard_port_env[NSHARDS];
extern const char *const replica_port_env[NSHARDS];
extern const char *const country_code[NCOUNTRIES];
extern const char *const country_name[NCOUNTRIES];
extern MYSQL *px;
extern MYSQL *ref;
extern MYSQL *direct[NSHARDS];
extern MYSQL *replica[NSHARDS];
extern int proxy_lost;
extern const char *const variant_word[];

void *xmalloc(size_t n);
char *xstrdup(const char *s);
char *xprintf(const char *fmt, ...) IT_PRINTF(1, 2);
void buf_add(struct buf *b, const char *s, size_t n);
void buf_str(struct buf *b, const char *s);
void buf_fmt(struct buf *b, const char *fmt, ...) IT_PRINTF(2, 3);
uint32_t crc32_ieee(const unsigned char *p, size_t n);
void rs_free(struct rs *r);
char *row_text(char *const *cells, int n);
bool lost_connection(unsigned err);
bool rs_run(MYSQL *m, const char *sql, struct rs *r);
MYSQL *proxy(void);
bool px_run(const char *sql, struct rs *r);
void diag_text(const char *label, const char *s);
int cmp_str(const void *a, const void *b);
bool same_rows(const char *sql, const struct rs *exp, const struct rs *got,
               bool ordered, bool explain);
bool cmp_query(const char *sql);
bool cmp_write_quiet(const char *sql, bool quiet);
bool cmp_write(const char *sql);
bool dexec(MYSQL *m, const char *sql);
void sync_replicas(void);
void money(char *out, long cents);
void day_literal(char *out, int off);
int order_user(int i);
int row_values(int t, int i, int variant, char v[][VLEN]);
void add_row(struct buf *b, int t, int i, int variant, bool reversed);
void add_cols(struct buf *b, const char *cols, bool reversed);
char *insert_sql(const char *verb, int t, int from, int to, int variant,
                 bool reversed);
char *placement_expr(const struct table *t);
int expected_shard(const struct table *t, const char *p);
int table_exists(int s, const char *name);
void place_directly(int ti, const struct rs *e, int ncols);
void check_placement(int ti, const char *when, bool first);
void check_global(const char *when);
void check_crc(int ti);
char *fingerprint(void);

#endif
