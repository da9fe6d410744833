/*
 * binlog.c - see binlog.h. Two connections: the dump connection, which
 * once COM_BINLOG_DUMP is sent carries only the server's events, and a
 * second one that reads a table's columns from information_schema the
 * first time a table map names it (signedness and character sets).
 *
 * An event group (a transaction) in MariaDB's binary log is a GTID event,
 * then BEGIN, table maps and row events, then XID (transactional engines)
 * or a COMMIT query; a standalone group (DDL) is a GTID event and one
 * query. The position moves when a group ends, so binlog_pos never names a
 * transaction whose rows were not all returned.
 */
#include "backend/binlog.h"

#include <mysql.h>

#include <mariadb_rpl.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend/binlog_value.h"
#include "base/gtid.h"

#define BINLOG_MAPS 64 /* table maps remembered, by table id */

/* A table as its table map events describe it. */
struct tmap {
    uint64_t table_id; /* 0: free slot */
    char *schema, *table;
    uint32_t ncols;
    struct binlog_col *cols;
    bool watched; /* the caller wants its rows; then cols are described */
};

struct binlog {
    MYSQL *m;    /* the dump connection */
    MYSQL *meta; /* information_schema lookups */
    MARIADB_RPL *rpl;
    MARIADB_RPL_EVENT *ev; /* the last event fetched; reused */
    bool (*watch)(void *, const char *, const char *);
    void *watch_arg;
    int idle_ms;
    struct timespec last; /* when binlog_next last returned */

    /* the rows event being returned, one row per call */
    const uint8_t *rp, *rend;
    struct tmap *rmap;
    enum binlog_kind rkind;
    const uint8_t *present[2]; /* column bitmaps: before/only, after */

    /* the position and the group being read */
    struct gtid pos[GTID_POS_MAX];
    int npos;
    struct gtid group;
    bool in_group, standalone;
    char posbuf[GTID_POS_MAX * 64];

    struct tmap maps[BINLOG_MAPS];
    unsigned next_map; /* ring: the slot replaced next */

    struct binlog_text text; /* the current row's literals */
    struct binlog_value *vals;
    size_t *offs;
    size_t nvals;
    char *stmt, *stmt_db; /* the current DDL statement, its schema */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void
format_pos(struct binlog *b)
{
    size_t at = 0;

    b->posbuf[0] = '\0';
    for (int i = 0; i < b->npos; i++) {
        char one[64];
        gtid_format(&b->pos[i], one, sizeof(one));
        at += (size_t)snprintf(b->posbuf + at, sizeof(b->posbuf) - at, "%s%s",
                               i ? "," : "", one);
    }
}

/* The group being read ended: its GTID joins the position. */
static bool
group_done(struct binlog *b, char *err, size_t errlen)
{
    int i;

    if (!b->in_group)
        return true;
    b->in_group = false;
    for (i = 0; i < b->npos; i++)
        if (b->pos[i].domain == b->group.domain)
            break;
    if (i == b->npos) {
        if (b->npos == GTID_POS_MAX) {
            seterr(err, errlen, "more than %d replication domains",
                   GTID_POS_MAX);
            return false;
        }
        b->npos++;
    }
    b->pos[i] = b->group;
    format_pos(b);
    return true;
}

static MYSQL *
connect_one(const struct binlog_opts *o, unsigned read_s, char *err,
            size_t errlen)
{
    MYSQL *m = mysql_init(NULL);
    unsigned ct = o->connect_timeout_s > 0 ? (unsigned)o->connect_timeout_s : 5;

    if (m == NULL) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &read_s);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &read_s);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(m, o->host, o->user, o->password, NULL,
                           (unsigned)o->port, NULL, 0) == NULL) {
        seterr(err, errlen, "binlog stream: cannot connect to %s:%d as %s: %s",
               o->host, o->port, o->user, mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* The server variables the stream depends on, each with what to set. */
static bool
check_server(MYSQL *m, const struct binlog_opts *o, char *err, size_t errlen)
{
    static const struct {
        const char *var, *want;
    } need[] = {
        {"log_bin", "1"},
        {"binlog_format", "ROW"},
        {"binlog_row_image", "FULL"},
        {"log_bin_compress", "0"},
    };
    MYSQL_RES *res;
    MYSQL_ROW row;

    if (mysql_query(m, "SELECT @@global.log_bin, @@global.binlog_format, "
                       "@@global.binlog_row_image, "
                       "@@global.log_bin_compress") != 0 ||
        (res = mysql_store_result(m)) == NULL) {
        seterr(err, errlen,
               "binlog stream: cannot read the settings of %s:%d: %s", o->host,
               o->port, mysql_error(m));
        return false;
    }
    row = mysql_fetch_row(res);
    for (size_t i = 0; row != NULL && i < ARRAY_SIZE(need); i++)
        if (row[i] == NULL || strcasecmp(row[i], need[i].want) != 0) {
            seterr(err, errlen,
                   "binlog stream: %s:%d has %s=%s; the reshard catch-up "
                   "needs %s=%s (set it in the server's configuration, and "
                   "SET GLOBAL for a running server)",
                   o->host, o->port, need[i].var, row[i] ? row[i] : "NULL",
                   need[i].var,
                   i == 0 ? "ON" : (i == 3 ? "OFF" : need[i].want));
            mysql_free_result(res);
            return false;
        }
    mysql_free_result(res);
    return row != NULL;
}

static bool
start_dump(struct binlog *b, const struct binlog_opts *o, char *err,
           size_t errlen)
{
    char sql[sizeof(b->posbuf) + 512];

    /* capability 4 (GTID) and @slave_connect_state make the server start
     * after that position; it sends events with checksums as it logs
     * them, and a heartbeat after idle_ms (in ns) without events */
    snprintf(sql, sizeof(sql),
             "SET @mariadb_slave_capability=4, @slave_connect_state='%s', "
             "@slave_gtid_strict_mode=0, @slave_gtid_ignore_duplicates=0, "
             "@master_binlog_checksum=@@global.binlog_checksum, "
             "@master_heartbeat_period=%lld",
             b->posbuf, (long long)o->idle_ms * 1000000LL);
    if (mysql_query(b->m, sql) != 0) {
        seterr(err, errlen, "binlog stream: %s", mysql_error(b->m));
        return false;
    }
    if ((b->rpl = mariadb_rpl_init(b->m)) == NULL) {
        seterr(err, errlen, "binlog stream: %s", mysql_error(b->m));
        return false;
    }
    if (mariadb_rpl_optionsv(b->rpl, MARIADB_RPL_SERVER_ID,
                             (unsigned)o->server_id) != 0 ||
        mariadb_rpl_optionsv(b->rpl, MARIADB_RPL_FILENAME, "", (size_t)0) !=
            0 ||
        mariadb_rpl_optionsv(b->rpl, MARIADB_RPL_START, 4UL) != 0 ||
        mariadb_rpl_optionsv(b->rpl, MARIADB_RPL_FLAGS, 0U) != 0 ||
        mariadb_rpl_optionsv(b->rpl, MARIADB_RPL_VERIFY_CHECKSUM, 1U) != 0 ||
        mariadb_rpl_open(b->rpl) != 0) {
        seterr(err, errlen, "binlog stream: cannot start the dump: %s",
               mariadb_rpl_errno(b->rpl) ? mariadb_rpl_error(b->rpl)
                                         : mysql_error(b->m));
        return false;
    }
    return true;
}

/* Fetches the next event into b->ev. */
static bool
fetch(struct binlog *b, char *err, size_t errlen)
{
    MARIADB_RPL_EVENT *ev = mariadb_rpl_fetch(b->rpl, b->ev);

    if (ev == NULL) {
        b->ev = NULL; /* fetch freed it */
        if (mariadb_rpl_errno(b->rpl))
            seterr(err, errlen, "binlog stream: %s", mariadb_rpl_error(b->rpl));
        else if (mysql_errno(b->m))
            seterr(err, errlen, "binlog stream: %s (error %u)",
                   mysql_error(b->m), mysql_errno(b->m));
        else
            seterr(err, errlen, "binlog stream: the server ended the stream");
        return false;
    }
    b->ev = ev;
    return true;
}

struct binlog *
binlog_open(const struct binlog_opts *o, char *err, size_t errlen)
{
    struct binlog *b;
    const char *start = o->gtid_start ? o->gtid_start : "";
    unsigned read_s;

    if (o->server_id == 0 || o->idle_ms <= 0 || o->host == NULL ||
        o->user == NULL) {
        seterr(err, errlen,
               "binlog stream: host, user, a server_id other "
               "than 0 and idle_ms > 0 are needed");
        return NULL;
    }
    if ((b = calloc(1, sizeof(*b))) == NULL) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    b->npos = gtid_parse_list(start, strlen(start), b->pos, GTID_POS_MAX);
    if (b->npos < 0) {
        seterr(err, errlen,
               "binlog stream: start position '%s' is not a GTID position "
               "(domain-server-seqno, comma-separated)",
               start);
        free(b);
        return NULL;
    }
    format_pos(b);
    b->watch = o->watch;
    b->watch_arg = o->watch_arg;
    b->idle_ms = o->idle_ms;
    /* heartbeats come every idle_ms: a read waiting much longer means the
     * server or the network is gone */
    read_s = (unsigned)(o->idle_ms / 1000) * 3 + 10;
    if ((b->m = connect_one(o, read_s, err, errlen)) == NULL ||
        (b->meta = connect_one(o, 30, err, errlen)) == NULL ||
        !check_server(b->meta, o, err, errlen) ||
        !start_dump(b, o, err, errlen))
        goto fail;
    /* the server answers a position it cannot serve (purged, unknown,
     * diverged) or a missing privilege before its first events */
    for (;;) {
        if (!fetch(b, err, errlen))
            goto fail;
        if (b->ev->event_type == FORMAT_DESCRIPTION_EVENT)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &b->last);
    return b;
fail:
    binlog_close(b);
    return NULL;
}

void
binlog_close(struct binlog *b)
{
    if (b == NULL)
        return;
    if (b->ev != NULL)
        mariadb_free_rpl_event(b->ev);
    if (b->rpl != NULL)
        mariadb_rpl_close(b->rpl); /* frees the handle only */
    if (b->m != NULL)
        mysql_close(b->m);
    if (b->meta != NULL)
        mysql_close(b->meta);
    for (int i = 0; i < BINLOG_MAPS; i++) {
        free(b->maps[i].schema);
        free(b->maps[i].table);
        free(b->maps[i].cols);
    }
    free(b->text.p);
    free(b->vals);
    free(b->offs);
    free(b->stmt);
    free(b->stmt_db);
    free(b);
}

const char *
binlog_pos(const struct binlog *b)
{
    return b->posbuf;
}

/* Reads the table's columns from information_schema into m->cols, and
 * checks them against the table map's types (fail closed: an altered
 * table is not decoded with another table's layout). */
static bool
describe(struct binlog *b, struct tmap *t, char *err, size_t errlen)
{
    char s[64 * 2 * 4 + 1], n[64 * 2 * 4 + 1], sql[1200];
    MYSQL_RES *res;
    MYSQL_ROW row;
    uint32_t i = 0;

    if (strlen(t->schema) > 256 || strlen(t->table) > 256) {
        seterr(err, errlen, "binlog stream: table name too long");
        return false;
    }
    mysql_real_escape_string(b->meta, s, t->schema, strlen(t->schema));
    mysql_real_escape_string(b->meta, n, t->table, strlen(t->table));
    snprintf(sql, sizeof(sql),
             "SELECT DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME FROM "
             "information_schema.COLUMNS WHERE TABLE_SCHEMA='%s' AND "
             "TABLE_NAME='%s' ORDER BY ORDINAL_POSITION",
             s, n);
    if (mysql_query(b->meta, sql) != 0 ||
        (res = mysql_store_result(b->meta)) == NULL) {
        seterr(err, errlen,
               "binlog stream: cannot read the columns of %s.%s: %s", t->schema,
               t->table, mysql_error(b->meta));
        return false;
    }
    while ((row = mysql_fetch_row(res)) != NULL && i < t->ncols) {
        struct binlog_col *c = &t->cols[i++];
        const char *dt = row[0] ? row[0] : "";
        const char *cs = row[2];
        int want = binlog_value_expect(dt);
        bool same = want == c->type ||
                    (want == BLT_DATE && c->type == BLT_NEWDATE) ||
                    (want == BLT_VARCHAR && c->type == BLT_VAR_STRING) ||
                    (want == BLT_TIME2 && c->type == BLT_TIME) ||
                    (want == BLT_DATETIME2 && c->type == BLT_DATETIME) ||
                    (want == BLT_TIMESTAMP2 && c->type == BLT_TIMESTAMP);
        char nb[16];

        snprintf(c->dtype, sizeof(c->dtype), "%s", dt);
        c->refuse = want < 0;
        if (want >= 0 && !same) {
            seterr(err, errlen,
                   "binlog stream: %s.%s column %u is %s now but %s in the "
                   "binary log: the table was altered since (restart the "
                   "reshard)",
                   t->schema, t->table, i, dt,
                   binlog_type_name(c->type, nb, sizeof(nb)));
            mysql_free_result(res);
            return false;
        }
        c->is_unsigned = row[1] != NULL && strstr(row[1], "unsigned") != NULL;
        c->csname[0] = '\0';
        if (cs == NULL || strcmp(cs, "binary") == 0) {
            c->cs = BINLOG_CS_BINARY;
        } else {
            snprintf(c->csname, sizeof(c->csname), "%s", cs);
            c->cs = strcmp(cs, "utf8mb4") == 0 || strcmp(cs, "utf8mb3") == 0 ||
                            strcmp(cs, "utf8") == 0 || strcmp(cs, "ascii") == 0
                        ? BINLOG_CS_UTF8
                        : BINLOG_CS_OTHER;
        }
    }
    uint64_t rows = mysql_num_rows(res);
    mysql_free_result(res);
    if (rows != t->ncols) {
        seterr(err, errlen,
               "binlog stream: %s.%s has %llu columns in information_schema "
               "but %u in the binary log (%s)",
               t->schema, t->table, (unsigned long long)rows, t->ncols,
               rows == 0 ? "the table is gone or the account lacks SELECT "
                           "on it"
                         : "the table was altered since");
        return false;
    }
    return true;
}

static struct tmap *
find_map(struct binlog *b, uint64_t id)
{
    for (int i = 0; i < BINLOG_MAPS; i++)
        if (b->maps[i].table_id == id && b->maps[i].cols != NULL)
            return &b->maps[i];
    return NULL;
}

/* A table map event: remembered by table id, described once per id (the
 * server gives an altered table a new id). */
static bool
on_table_map(struct binlog *b, char *err, size_t errlen)
{
    const struct st_mariadb_rpl_table_map_event *e = &b->ev->event.table_map;
    struct tmap *t = find_map(b, e->table_id);

    if (t != NULL && t->ncols == e->column_count &&
        strlen(t->schema) == e->database.length &&
        memcmp(t->schema, e->database.str, e->database.length) == 0 &&
        strlen(t->table) == e->table.length &&
        memcmp(t->table, e->table.str, e->table.length) == 0)
        return true;
    if (t == NULL) {
        t = &b->maps[b->next_map];
        b->next_map = (b->next_map + 1) % BINLOG_MAPS;
    }
    free(t->schema);
    free(t->table);
    free(t->cols);
    memset(t, 0, sizeof(*t));
    t->schema = strndup(e->database.str, e->database.length);
    t->table = strndup(e->table.str, e->table.length);
    t->ncols = e->column_count;
    t->cols = calloc(t->ncols ? t->ncols : 1, sizeof(*t->cols));
    if (t->schema == NULL || t->table == NULL || t->cols == NULL) {
        seterr(err, errlen, "out of memory");
        return false;
    }
    t->table_id = e->table_id;
    t->watched =
        b->watch == NULL || b->watch(b->watch_arg, t->schema, t->table);
    if (!t->watched)
        return true;
    if (e->column_types.length < t->ncols ||
        !binlog_value_meta((const uint8_t *)e->column_types.str, t->ncols,
                           (const uint8_t *)e->metadata.str, e->metadata.length,
                           t->cols, err, errlen)) {
        char why[200];
        snprintf(why, sizeof(why), "%s", err);
        seterr(err, errlen, "binlog stream: %s.%s: %s", t->schema, t->table,
               e->column_types.length < t->ncols ? "short table map" : why);
        free(t->cols);
        t->cols = NULL;
        return false;
    }
    if (!describe(b, t, err, errlen)) {
        free(t->cols);
        t->cols = NULL;
        return false;
    }
    return true;
}

static int
bits_set(const uint8_t *map, uint32_t n)
{
    int k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += (map[i / 8] >> (i % 8)) & 1;
    return k;
}

/* Decodes one row image at b->rp into values [first, first + ncols). */
static bool
decode_image(struct binlog *b, const uint8_t *present, size_t first, char *err,
             size_t errlen)
{
    struct tmap *t = b->rmap;
    size_t nullbytes = (t->ncols + 7) / 8;
    const uint8_t *nulls = b->rp;

    if (present == NULL || bits_set(present, t->ncols) != (int)t->ncols) {
        seterr(err, errlen,
               "binlog stream: a row image of %s.%s lacks columns: the "
               "server needs binlog_row_image=FULL",
               t->schema, t->table);
        return false;
    }
    if ((size_t)(b->rend - b->rp) < nullbytes) {
        seterr(err, errlen, "binlog stream: row event of %s.%s is truncated",
               t->schema, t->table);
        return false;
    }
    b->rp += nullbytes;
    for (uint32_t i = 0; i < t->ncols; i++) {
        struct binlog_value *v = &b->vals[first + i];
        b->offs[first + i] = b->text.len;
        v->null = (nulls[i / 8] >> (i % 8)) & 1;
        if (v->null) {
            if (!binlog_text_add(&b->text, "NULL", 4)) {
                seterr(err, errlen, "out of memory");
                return false;
            }
        } else {
            char why[300];
            long n = binlog_value_render(&t->cols[i], b->rp,
                                         (size_t)(b->rend - b->rp), &b->text,
                                         why, sizeof(why));
            if (n < 0) {
                seterr(err, errlen, "binlog stream: %s.%s column %u: %s",
                       t->schema, t->table, i + 1, why);
                return false;
            }
            b->rp += n;
        }
        v->len = b->text.len - b->offs[first + i];
        /* each literal ends with its own NUL */
        if (!binlog_text_add(&b->text, "\0", 1)) {
            seterr(err, errlen, "out of memory");
            return false;
        }
    }
    return true;
}

/* Returns the next row of the rows event being read. */
static enum binlog_event
next_row(struct binlog *b, struct binlog_row *row, char *err, size_t errlen)
{
    struct tmap *t = b->rmap;
    size_t need = 2 * (size_t)t->ncols;

    if (b->nvals < need) {
        free(b->vals);
        free(b->offs);
        b->vals = calloc(need, sizeof(*b->vals));
        b->offs = calloc(need, sizeof(*b->offs));
        b->nvals = b->vals && b->offs ? need : 0;
        if (b->nvals == 0) {
            seterr(err, errlen, "out of memory");
            return BINLOG_ERROR;
        }
    }
    b->text.len = 0;
    if (!decode_image(b, b->present[0], 0, err, errlen) ||
        (b->rkind == BINLOG_UPDATE &&
         !decode_image(b, b->present[1], t->ncols, err, errlen)))
        return BINLOG_ERROR;
    for (size_t i = 0; i < (b->rkind == BINLOG_UPDATE ? need : t->ncols); i++)
        b->vals[i].sql = b->text.p + b->offs[i];
    memset(row, 0, sizeof(*row));
    row->schema = t->schema;
    row->table = t->table;
    row->kind = b->rkind;
    row->ncols = (int)t->ncols;
    if (b->rkind == BINLOG_INSERT) {
        row->after = b->vals;
    } else {
        row->before = b->vals;
        if (b->rkind == BINLOG_UPDATE)
            row->after = b->vals + t->ncols;
    }
    if (b->rp >= b->rend)
        b->rmap = NULL; /* the event is done */
    return BINLOG_ROW;
}

/* A rows event: its rows are returned one per call from here on. */
static bool
on_rows(struct binlog *b, bool *have, char *err, size_t errlen)
{
    const struct st_mariadb_rpl_rows_event *e = &b->ev->event.rows;
    struct tmap *t = find_map(b, e->table_id);
    int type = b->ev->event_type;

    *have = false;
    if (type == WRITE_ROWS_EVENT || type == UPDATE_ROWS_EVENT ||
        type == DELETE_ROWS_EVENT) {
        seterr(err, errlen,
               "binlog stream: version 2 row events (MySQL's) "
               "are not supported");
        return false;
    }
    if (t == NULL) {
        seterr(err, errlen,
               "binlog stream: a row event for table id %llu without its "
               "table map",
               (unsigned long long)e->table_id);
        return false;
    }
    if (!t->watched || e->row_data == NULL || e->row_data_size == 0)
        return true;
    if (e->column_count != t->ncols) {
        seterr(err, errlen,
               "binlog stream: a row event of %s.%s has %u columns, its "
               "table map %u",
               t->schema, t->table, e->column_count, t->ncols);
        return false;
    }
    b->rmap = t;
    b->rp = e->row_data;
    b->rend = b->rp + e->row_data_size;
    b->rkind = e->type == WRITE_ROWS    ? BINLOG_INSERT
               : e->type == UPDATE_ROWS ? BINLOG_UPDATE
                                        : BINLOG_DELETE;
    b->present[0] = e->column_bitmap;
    b->present[1] = e->column_update_bitmap;
    *have = true;
    return true;
}

enum qkind { Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SKIP, Q_XA, Q_DML, Q_OTHER };

/* What a query event's statement is, by its first word(s). Comments are
 * skipped; executable comments (/ *! ... * /) are read as code. */
static enum qkind
query_kind(const char *s, size_t n)
{
    static const char *const dml[] = {"INSERT", "UPDATE", "DELETE", "REPLACE",
                                      "LOAD"};
    size_t i = 0, w;
    char word[2][16];
    int nw = 0;

    while (i < n && nw < 2) {
        if (isspace((unsigned char)s[i]) || s[i] == '(') {
            i++;
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            if (i + 2 < n && (s[i + 2] == '!' || s[i + 2] == 'M')) {
                i += 2;
                while (i < n && (s[i] == '!' || s[i] == 'M' ||
                                 isdigit((unsigned char)s[i])))
                    i++;
            } else {
                const char *e = NULL;
                for (size_t k = i + 2; k + 1 < n && e == NULL; k++)
                    if (s[k] == '*' && s[k + 1] == '/')
                        e = s + k;
                i = e ? (size_t)(e - s) + 2 : n;
            }
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
            i += 2; /* end of an executable comment */
        } else if (s[i] == '#' ||
                   (s[i] == '-' && i + 2 < n && s[i + 1] == '-' &&
                    isspace((unsigned char)s[i + 2]))) {
            while (i < n && s[i] != '\n')
                i++;
        } else {
            for (w = 0; i < n && w + 1 < sizeof(word[0]) &&
                        (isalpha((unsigned char)s[i]) || s[i] == '_');
                 i++)
                word[nw][w++] = (char)toupper((unsigned char)s[i]);
            word[nw][w] = '\0';
            if (w == 0)
                break;
            nw++;
        }
    }
    if (nw == 0)
        return Q_OTHER;
    if (strcmp(word[0], "BEGIN") == 0)
        return Q_BEGIN;
    if (strcmp(word[0], "COMMIT") == 0)
        return Q_COMMIT;
    if (strcmp(word[0], "SAVEPOINT") == 0 || strcmp(word[0], "RELEASE") == 0)
        return Q_SKIP;
    if (strcmp(word[0], "ROLLBACK") == 0)
        return nw == 2 && strcmp(word[1], "TO") == 0 ? Q_SKIP : Q_ROLLBACK;
    if (strcmp(word[0], "XA") == 0)
        return Q_XA;
    for (size_t k = 0; k < ARRAY_SIZE(dml); k++)
        if (strcmp(word[0], dml[k]) == 0)
            return Q_DML;
    return Q_OTHER;
}

static enum binlog_event
on_query(struct binlog *b, struct binlog_row *row, bool *have, char *err,
         size_t errlen)
{
    const struct st_mariadb_rpl_query_event *q = &b->ev->event.query;
    enum qkind k = query_kind(q->statement.str, q->statement.length);
    int shown = (int)MIN(q->statement.length, 120);

    *have = false;
    switch (k) {
    case Q_BEGIN:
    case Q_SKIP:
        return BINLOG_IDLE;
    case Q_COMMIT:
    case Q_ROLLBACK:
        if (!group_done(b, err, errlen))
            return BINLOG_ERROR;
        *have = true;
        return BINLOG_COMMIT;
    case Q_XA:
        seterr(err, errlen,
               "binlog stream: XA transaction in the binary log (%.*s): the "
               "catch-up does not follow XA transactions yet",
               shown, q->statement.str);
        return BINLOG_ERROR;
    case Q_DML:
        seterr(err, errlen,
               "binlog stream: a statement-logged change (%.*s): every "
               "writer must use binlog_format=ROW (SET GLOBAL "
               "binlog_format=ROW and reconnect the writers)",
               shown, q->statement.str);
        return BINLOG_ERROR;
    default:
        break;
    }
    free(b->stmt);
    free(b->stmt_db);
    b->stmt = strndup(q->statement.str, q->statement.length);
    b->stmt_db = strndup(q->database.str, q->database.length);
    if (b->stmt == NULL || b->stmt_db == NULL) {
        seterr(err, errlen, "out of memory");
        return BINLOG_ERROR;
    }
    if (b->standalone && !group_done(b, err, errlen))
        return BINLOG_ERROR;
    memset(row, 0, sizeof(*row));
    row->schema = b->stmt_db;
    row->table = "";
    row->statement = b->stmt;
    *have = true;
    return BINLOG_DDL;
}

static long
elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* One event: whether it gives the caller something (*ev_out). */
static bool
on_event(struct binlog *b, struct binlog_row *row, enum binlog_event *out,
         char *err, size_t errlen)
{
    bool have = false;
    MARIADB_RPL_EVENT *ev = b->ev;

    switch (ev->event_type) {
    case GTID_EVENT:
        if (ev->event.gtid.flags & (FL_PREPARED_XA | FL_COMPLETED_XA)) {
            seterr(err, errlen,
                   "binlog stream: XA transaction %u-%u-%llu in the binary "
                   "log: the catch-up does not follow XA transactions yet",
                   ev->event.gtid.domain_id, ev->server_id,
                   (unsigned long long)ev->event.gtid.sequence_nr);
            *out = BINLOG_ERROR;
            return true;
        }
        b->group.domain = ev->event.gtid.domain_id;
        b->group.server = ev->server_id;
        b->group.seqno = ev->event.gtid.sequence_nr;
        b->in_group = true;
        b->standalone = (ev->event.gtid.flags & FL_STANDALONE) != 0;
        return false;
    case XID_EVENT:
        if (!group_done(b, err, errlen)) {
            *out = BINLOG_ERROR;
            return true;
        }
        *out = BINLOG_COMMIT;
        return true;
    case QUERY_EVENT:
    case QUERY_COMPRESSED_EVENT:
        *out = on_query(b, row, &have, err, errlen);
        return have || *out == BINLOG_ERROR;
    case TABLE_MAP_EVENT:
        if (!on_table_map(b, err, errlen)) {
            *out = BINLOG_ERROR;
            return true;
        }
        return false;
    case WRITE_ROWS_EVENT_V1:
    case UPDATE_ROWS_EVENT_V1:
    case DELETE_ROWS_EVENT_V1:
    case WRITE_ROWS_COMPRESSED_EVENT_V1:
    case UPDATE_ROWS_COMPRESSED_EVENT_V1:
    case DELETE_ROWS_COMPRESSED_EVENT_V1:
    case WRITE_ROWS_EVENT:
    case UPDATE_ROWS_EVENT:
    case DELETE_ROWS_EVENT:
        if (!on_rows(b, &have, err, errlen)) {
            *out = BINLOG_ERROR;
            return true;
        }
        if (!have)
            return false;
        *out = next_row(b, row, err, errlen);
        return true;
    case HEARTBEAT_LOG_EVENT:
        *out = BINLOG_IDLE;
        return true;
    case XA_PREPARE_LOG_EVENT:
        seterr(err, errlen,
               "binlog stream: XA PREPARE in the binary log: "
               "the catch-up does not follow XA transactions "
               "yet");
        *out = BINLOG_ERROR;
        return true;
    case BEGIN_LOAD_QUERY_EVENT:
    case EXECUTE_LOAD_QUERY_EVENT:
    case INCIDENT_EVENT:
        seterr(err, errlen,
               "binlog stream: event type %d (%s) cannot be followed row by "
               "row",
               ev->event_type,
               ev->event_type == INCIDENT_EVENT
                   ? "an incident: the binary log misses changes"
                   : "a statement-logged LOAD DATA: binlog_format must be ROW");
        *out = BINLOG_ERROR;
        return true;
    default:
        /* rotate, format description, GTID list, checkpoint, annotate,
         * intvar/rand/user var (contexts of statements) and ignorable
         * events carry no row change */
        return false;
    }
}

enum binlog_event
binlog_next(struct binlog *b, struct binlog_row *row, char *err, size_t errlen)
{
    enum binlog_event out = BINLOG_IDLE;

    memset(row, 0, sizeof(*row));
    if (b->rmap != NULL) {
        out = next_row(b, row, err, errlen);
    } else {
        for (;;) {
            if (b->rpl == NULL || !fetch(b, err, errlen)) {
                out = BINLOG_ERROR;
                break;
            }
            if (on_event(b, row, &out, err, errlen))
                break;
            if (elapsed_ms(&b->last) >= b->idle_ms) {
                out = BINLOG_IDLE;
                break;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b->last);
    return out;
}
