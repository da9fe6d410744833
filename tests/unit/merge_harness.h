/*
 * merge_harness.h - the shared harness of the merge suites: shard
 * responses built with proto's writers, fed to merge_pump in NMODES ways,
 * the client's output decoded into one line:
 *
 *   "name,name [v,v] [v,NULL] EOF st=2 w=0"   a result set
 *   "OK a=5 id=0 st=2 w=1 info=..."           an OK
 *   "ERR 1105 myshard: ..."                   an ERR (alone or after rows)
 *
 * The decoder checks every sequence id (from first_seq on, wrapping) and
 * that nothing trails the response; the feeder checks that every source's
 * buffer was drained and merge_source_done() holds for each.
 */
#ifndef MYSHARD_TESTS_MERGE_HARNESS_H
#define MYSHARD_TESTS_MERGE_HARNESS_H

#include <check.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "proto/pktbuf.h"
#include "proto/resultset.h"
#include "session/merge.h"

#define MAXSRC   4
#define BIG      ((size_t)1 << 40)
#define ST_AUTO  SERVER_STATUS_AUTOCOMMIT
#define NMODES   4
#define OUT_SIZE 4096

/* ---- building shard responses ------------------------------------------ */

/* One shard's response under construction. */
struct shard {
    struct evbuffer *b;
    struct rs_writer w;
    uint16_t types[16]; /* binary type words of its columns */
    size_t ncols;
};

struct coldef col(const char *name, uint8_t type, uint16_t charset,
                  uint16_t flags, uint8_t decimals);

#define C_INT(n)    col(n, MYSQL_TYPE_LONG, CHARSET_BINARY, BINARY_FLAG, 0)
#define C_BIGINT(n) col(n, MYSQL_TYPE_LONGLONG, CHARSET_BINARY, BINARY_FLAG, 0)
#define C_UBIGINT(n)                                                           \
    col(n, MYSQL_TYPE_LONGLONG, CHARSET_BINARY, BINARY_FLAG | UNSIGNED_FLAG, 0)
#define C_STR(n) col(n, MYSQL_TYPE_VAR_STRING, CHARSET_UTF8MB4_GENERAL_CI, 0, 0)
#define C_BIN(n) col(n, MYSQL_TYPE_VAR_STRING, CHARSET_BINARY, BINARY_FLAG, 0)
#define C_DEC(n, d)                                                            \
    col(n, MYSQL_TYPE_NEWDECIMAL, CHARSET_BINARY, BINARY_FLAG, d)
#define C_DBL(n)  col(n, MYSQL_TYPE_DOUBLE, CHARSET_BINARY, BINARY_FLAG, 31)
#define C_TIME(n) col(n, MYSQL_TYPE_TIME, CHARSET_BINARY, BINARY_FLAG, 0)

/* Starts a shard's result set of n columns on b. */
void sh_begin(struct shard *s, struct evbuffer *b, const struct coldef *cols,
              size_t n);
/* A text row from "v|v|\N" (\N is NULL). */
void sh_row(struct shard *s, const char *csv);
/* A binary row from "v|v|\N", each value converted by its column type. */
void sh_brow(struct shard *s, const char *csv);
/* The final EOF with status. */
void sh_end(struct shard *s, uint16_t status);
void put_ok(struct evbuffer *b, uint8_t seq, uint64_t affected, uint64_t id,
            uint16_t status, uint16_t warnings, const char *info);
void put_err(struct evbuffer *b, uint8_t seq, uint16_t code, const char *msg);

/* The column types, decimals and flags of the last result decode() read. */
extern uint8_t dec_types[32], dec_decimals[32];
extern uint16_t dec_flags[32];
/* The client's output as one line (malloc'd); packets numbered from seq0. */
char *decode(struct evbuffer *in, uint8_t seq0, bool binary);

typedef void (*build_fn)(struct evbuffer **src);

extern uint32_t rnd_state;
uint32_t rnd(void);

extern uint8_t first_seq; /* the merge's first client sequence id */
extern size_t max_rows;   /* merge_set_max_rows when not 0 */
extern size_t rand_chunk; /* largest random chunk */

struct outcome {
    char *text;           /* decoded client output */
    enum merge_status st; /* the last status */
    int paused;           /* MERGE_PAUSED returns */
    uint64_t rows;        /* merge_rows */
    int broken_src;
};

/* One way (mode 0..NMODES-1) of feeding n sources what build makes. */
struct outcome run(const struct merge_spec *ms, bool binary, int n,
                   build_fn build, int mode);
/* Runs every feeding mode; each must give exactly expect (rows in any
 * order when unordered). */
void check(const struct merge_spec *ms, bool binary, int n, build_fn build,
           const char *expect, bool unordered);
/* Checks that the line starts with prefix in every mode. */
void check_prefix(const struct merge_spec *ms, bool binary, int n,
                  build_fn build, const char *prefix);
struct merge_spec spec(void);
struct merge_spec spec_sort(int16_t col, bool desc);
/* GROUP BY column 0 with COUNT(column 1) and SUM(column 2). */
struct merge_spec spec_group(void);
/* Sorts the " [..]" rows of a line (concatenation has no order). */
void sort_rows(char *s);
/* Shared builders: binary rows ordered by column 0 over two shards, and
 * text groups spread over three (see spec_group). */
void build_binary_order(struct evbuffer **src);
void build_groups(struct evbuffer **src);
/* A text result of ncols columns with rows (NULL-terminated) into b. */
void text_shard(struct evbuffer *b, const struct coldef *cols, size_t ncols,
                const char *const *rows);

#endif
