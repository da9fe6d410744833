/*
 * tablemeta.h - the columns of every configured table (sharded and
 * global), in order, as a shard has them: what positional INSERTs
 * (`INSERT INTO t VALUES (...)`, no column list) are routed by.
 *
 * One thread reads them with libmysqlclient from information_schema.COLUMNS
 * of a shard that holds each table (its primary): every table at start and
 * after a reload, and one table again whenever someone invalidates it (a
 * DDL statement relayed, a statement naming a column it does not know).
 * What it read is published as an immutable, refcounted snapshot; workers
 * keep one and swap it only when the generation moved, so a statement
 * takes no lock. Each table carries the invalidation epoch it was read at:
 * an entry older than its table's last invalidation is stale, and a
 * statement that needs it waits for the refresh (session/tablecols.h).
 */
#ifndef MYSHARD_BACKEND_TABLEMETA_H
#define MYSHARD_BACKEND_TABLEMETA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cfg;
struct server_set;

enum tm_state {
    TM_LOADING = 0, /* not read yet */
    TM_OK,          /* columns known */
    TM_MISSING,     /* the shard has no such table */
    TM_ERROR,       /* the shard could not be asked (why says) */
};

struct tm_column {
    char *name; /* owned */
    int pos;    /* ORDINAL_POSITION, 1-based */
    bool auto_inc;
    bool invisible; /* MariaDB INVISIBLE: not part of a positional row */
};

/* One table as read at one moment; immutable once published. */
struct tm_table {
    atomic_int refs;
    char *schema; /* owned; the config schema's name (clients' name) */
    char *name;   /* owned */
    char *key;    /* owned; shard key column, NULL for a global table */
    int shard;    /* cfg shard index it was read from */
    enum tm_state state;
    char why[200]; /* TM_MISSING / TM_ERROR: what went wrong */
    int ncols;
    struct tm_column *cols; /* owned, table order */
    int nrow;               /* columns of a positional row (visible ones) */
    const char **row;       /* owned array; names of those, in order */
    int key_pos;            /* index of key in row, -1 none/unknown */
    bool has_auto_inc;
    uint64_t epoch;  /* its slot's invalidation epoch when it was read */
    unsigned slot;   /* its invalidation slot */
    int64_t read_ms; /* when it was read (monotonic); 0 never */
};

struct tm_snap {
    atomic_int refs;
    uint64_t gen; /* 1, 2, ...: one per publication */
    int ntables;
    struct tm_table **tables; /* (refs held) */
};

struct tablemeta;

/*
 * Starts the thread over set with cfg's tables and backend credentials
 * (copied). The first snapshot (every table TM_LOADING) is published at
 * once; the first read starts at once. set must outlive tablemeta_stop.
 */
struct tablemeta *tablemeta_start(struct server_set *set,
                                  const struct cfg *cfg);
/* A reload: the tables and credentials of cfg (copied); every table is
 * read again. From any thread; NULL m is a no-op. */
void tablemeta_set_cfg(struct tablemeta *m, const struct cfg *cfg);
void tablemeta_stop(struct tablemeta *m);

/* The published generation (lock-free): a holder of a snapshot of another
 * generation should take the new one. */
uint64_t tablemeta_gen(const struct tablemeta *m);
/* The current snapshot with a reference held (a mutex, briefly): release
 * it with tablemeta_put. NULL m gives NULL. */
struct tm_snap *tablemeta_get(struct tablemeta *m);
void tablemeta_put(struct tm_snap *s);
/* The table of a snapshot (names compared exactly, as the config does),
 * or NULL when the config does not list it. */
const struct tm_table *tm_snap_find(const struct tm_snap *s, const char *schema,
                                    const char *table);

/* Has the table read again (soon, off the caller's thread). Lock-free
 * bump, then a signal to the thread. */
void tablemeta_invalidate(struct tablemeta *m, const char *schema,
                          const char *table);
/* t was read before its table's last invalidation. */
bool tablemeta_stale(const struct tablemeta *m, const struct tm_table *t);

#endif
