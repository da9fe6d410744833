/*
 * classify_types.h - struct stmt_info, what sql_classify() learns about one
 * statement: its kind, the tables it names (with schema and alias), the key
 * predicates of its WHERE and JOIN ... ON clauses, INSERT columns and rows,
 * SET targets, the shape of its top-level SELECT (select list, aggregates,
 * GROUP BY, ORDER BY, LIMIT), locking and session-affecting flags, its
 * transaction effect and myshard hints.
 *
 * Everything is fixed-capacity plain data with no pointers to free. Text is
 * kept as struct sql_span slices of the statement buffer given to
 * sql_classify(), raw as written (backticks and quotes included); decode with
 * lexer_unquote() or compare with lexer_ident_eq(). When an array is full the
 * rest is dropped and stmt_info.overflow is set; dropping never makes a key
 * condition look narrower than it is.
 */
#ifndef MYSHARD_SQL_CLASSIFY_TYPES_H
#define MYSHARD_SQL_CLASSIFY_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/lexer.h"

#define SQL_MAX_TABLES 16
#define SQL_MAX_PREDS  64
#define SQL_MAX_VALUES 256 /* predicate values, all predicates together */
#define SQL_MAX_GROUPS 16  /* OR groups */
#define SQL_MAX_BLOCKS 32  /* SELECT blocks: top, subqueries, unions, CTEs */
#define SQL_MAX_SETS   16  /* SET assignments */
#define SQL_MAX_ASSIGN 32  /* UPDATE SET / ON DUPLICATE KEY UPDATE columns */
#define SQL_MAX_ITEMS  64  /* top-level select list items */
#define SQL_MAX_ORDER  16  /* ORDER BY / GROUP BY items each */
#define SQL_MAX_COLS   64  /* INSERT column list; values per row */
#define SQL_MAX_CTES   8

/* A slice of the statement text; len 0 (p may be NULL) means absent. */
struct sql_span {
    const char *p;
    uint32_t len;
};

enum stmt_kind {
    STMT_EMPTY = 0, /* nothing but comments and blanks */
    STMT_SELECT,    /* also TABLE t, VALUES ROW(), WITH ... SELECT */
    STMT_INSERT,
    STMT_REPLACE,
    STMT_UPDATE,
    STMT_DELETE,
    STMT_SET,
    STMT_USE,
    STMT_SHOW,
    STMT_BEGIN, /* BEGIN [WORK], START TRANSACTION */
    STMT_COMMIT,
    STMT_ROLLBACK, /* also ROLLBACK TO SAVEPOINT (see SQLF_TO_SAVEPOINT) */
    STMT_SAVEPOINT,
    STMT_RELEASE_SAVEPOINT,
    STMT_XA,
    STMT_DDL, /* see ddl_verb / ddl_object */
    STMT_CALL,
    STMT_PREPARE,
    STMT_EXECUTE,
    STMT_DEALLOCATE,
    STMT_LOCK_TABLES,
    STMT_UNLOCK_TABLES,
    STMT_EXPLAIN, /* EXPLAIN/DESCRIBE; inner_kind says of what */
    STMT_DO,
    STMT_HANDLER,
    STMT_LOAD_DATA,
    STMT_KILL,
    STMT_FLUSH,
    STMT_ADMIN, /* GRANT, REVOKE, users and roles, replication, plugins */
    STMT_OTHER,
    STMT__COUNT
};

enum ddl_verb {
    DDL_NONE = 0,
    DDL_CREATE,
    DDL_ALTER,
    DDL_DROP,
    DDL_TRUNCATE,
    DDL_RENAME,
    DDL_MAINT, /* ANALYZE/OPTIMIZE/REPAIR/CHECK/CHECKSUM TABLE */
};

enum ddl_object {
    DDLO_NONE = 0,
    DDLO_TABLE,
    DDLO_INDEX,
    DDLO_DATABASE,
    DDLO_VIEW,
    DDLO_PROCEDURE,
    DDLO_FUNCTION,
    DDLO_TRIGGER,
    DDLO_EVENT,
    DDLO_SEQUENCE,
    DDLO_OTHER,
};

enum show_obj {
    SHOW_NONE = 0,
    SHOW_DATABASES, /* DATABASES, SCHEMAS */
    SHOW_TABLES,
    SHOW_TABLE_STATUS,
    SHOW_OPEN_TABLES,
    SHOW_COLUMNS, /* COLUMNS, FIELDS */
    SHOW_INDEX,   /* INDEX, INDEXES, KEYS */
    SHOW_CREATE_TABLE,
    SHOW_CREATE_VIEW,
    SHOW_CREATE_DATABASE,
    SHOW_CREATE_OTHER, /* procedure, function, trigger, event, user */
    SHOW_VARIABLES,
    SHOW_STATUS,
    SHOW_PROCESSLIST,
    SHOW_WARNINGS,
    SHOW_ERRORS,
    SHOW_COLLATION,
    SHOW_CHARSET,
    SHOW_ENGINES,
    SHOW_GRANTS,
    SHOW_TRIGGERS,
    SHOW_OTHER, /* see show.word */
};

enum sql_scope {
    SCOPE_DEFAULT = 0, /* no modifier */
    SCOPE_SESSION,     /* SESSION, LOCAL, @@session., @@local., @@x */
    SCOPE_GLOBAL,
    SCOPE_PERSIST,
    SCOPE_PERSIST_ONLY,
};

enum set_kind {
    SETK_SYSVAR = 0,  /* name = value; scope says which */
    SETK_USERVAR,     /* @name = value */
    SETK_NAMES,       /* NAMES value (value may include COLLATE x) */
    SETK_CHARSET,     /* CHARACTER SET value / CHARSET value */
    SETK_TRANSACTION, /* [scope] TRANSACTION value (characteristics) */
    SETK_OTHER,       /* PASSWORD, ROLE, ...: kind is STMT_ADMIN then */
};

/* One SET assignment. For SETK_SYSVAR the name has no @@ and no scope
 * prefix; for SETK_USERVAR it is what follows '@' (maybe quoted). */
struct sql_setvar {
    uint8_t kind;          /* enum set_kind */
    uint8_t scope;         /* enum sql_scope */
    struct sql_span name;  /* variable name */
    struct sql_span value; /* the value expression, as written */
};

/* A literal value, or a placeholder. */
enum val_type {
    VAL_NUMBER = 0, /* text: digits as written, sign in `negative` */
    VAL_STRING,     /* text: the string token (introducer, quotes) */
    VAL_HEX,
    VAL_BIT,
    VAL_PARAM,   /* `?`: param is its 0-based index in the statement */
    VAL_NULL,    /* INSERT rows only */
    VAL_DEFAULT, /* INSERT rows only */
    VAL_EXPR,    /* INSERT rows only: anything else (text spans it) */
};

struct sql_value {
    uint8_t type;         /* enum val_type */
    bool negative;        /* preceded by unary minus (NUMBER, PARAM) */
    struct lex_mode mode; /* how text was lexed (decode it the same way) */
    uint32_t param;       /* VAL_PARAM: 0-based placeholder index */
    struct sql_span text; /* the literal token (no sign) or expression */
};

/* A column reference [schema.][table.]column; table is the qualifier as
 * written, a table name or an alias. */
struct sql_colref {
    struct sql_span schema;
    struct sql_span table;
    struct sql_span column;
};

enum pred_op {
    PRED_EQ = 0,  /* col = v (or v = col); one value */
    PRED_IN,      /* col IN (v, ...); nvalues values */
    PRED_BETWEEN, /* col BETWEEN v1 AND v2; two values */
    PRED_COLEQ,   /* col = col2: join equality (no values) */
};

#define PREDF_ON 0x01u /* from a JOIN ... ON clause */
/* PREDF_OUTER: from an outer (LEFT/RIGHT) join's ON. Its literal
 * predicates do not filter the other side's rows, so never route by them;
 * its PRED_COLEQ still tells co-location. */
#define PREDF_OUTER     0x02u
#define PREDF_TRUNCATED 0x04u /* IN list longer than the value array */

/* A key predicate: a column compared with literal values. group 0 means a
 * conjunct of its block's WHERE (ANDed with everything else); group g > 0
 * means it sits in branch `branch` of OR group g (see struct sql_orgroup):
 * the rows a group can match are the union over its branches, each branch
 * the AND of its predicates. The sql layer does not know key columns. */
struct sql_pred {
    struct sql_colref col;
    struct sql_colref col2; /* PRED_COLEQ only */
    uint8_t op;             /* enum pred_op */
    uint8_t flags;          /* PREDF_* */
    uint8_t block;          /* SELECT block (index into stmt_info.blocks) */
    uint8_t group;          /* 0, or OR group index (1-based) */
    uint8_t branch;         /* branch within the group */
    uint16_t vfirst;        /* first value in stmt_info.values */
    uint16_t nvalues;
    struct sql_span list; /* PRED_IN: the text between the parentheses */
    uint32_t list_param;  /* `?`s before that text (for sql_values_*) */
};

/* An OR of key conditions at the top of a WHERE: nbranches branches. A
 * branch in which a column has no predicate matches any value of it. When
 * incomplete, some branch held conditions (nested OR, XOR, ...) the sql
 * layer could not express; branches keep only what is certain. */
struct sql_orgroup {
    uint8_t block;
    uint8_t nbranches;
    bool incomplete;
};

#define TBLF_WRITE   0x01u /* the statement writes it (target) */
#define TBLF_DERIVED 0x02u /* (subquery) alias; block: the subquery */
#define TBLF_CTE     0x04u /* names a WITH common table expression */
#define TBLF_TEMP    0x08u /* CREATE/DROP TEMPORARY TABLE target */

struct sql_table {
    struct sql_span schema; /* empty when not qualified */
    struct sql_span name;   /* empty for derived tables */
    struct sql_span alias;  /* empty when none */
    uint8_t block;          /* block it appears in */
    uint8_t flags;          /* TBLF_* */
};

enum block_kind {
    BLOCK_TOP = 0,  /* the statement's own query (block 0) */
    BLOCK_UNION,    /* a later member of a top-level UNION/EXCEPT/INTERSECT */
    BLOCK_SUBQUERY, /* (SELECT ...) inside an expression */
    BLOCK_DERIVED,  /* (SELECT ...) in FROM */
    BLOCK_CTE,      /* WITH name AS (SELECT ...) */
    BLOCK_INSERT,   /* the SELECT of INSERT ... SELECT / CREATE ... SELECT */
};

struct sql_block {
    uint8_t parent; /* enclosing block (0 for block 0) */
    uint8_t kind;   /* enum block_kind */
};

enum agg_kind {
    AGG_NONE = 0,
    AGG_COUNT,
    AGG_SUM,
    AGG_MIN,
    AGG_MAX,
    AGG_AVG,
    AGG_GROUP_CONCAT,
    AGG_OTHER, /* STD, VARIANCE, BIT_AND, JSON_ARRAYAGG, ... */
};

#define ITEMF_STAR     0x01u /* * or t.* */
#define ITEMF_DISTINCT 0x02u /* COUNT(DISTINCT ...), SUM(DISTINCT ...) */
#define ITEMF_NESTED   0x04u /* an aggregate inside a larger expression */
#define ITEMF_WINDOW   0x08u /* agg(...) OVER (...): a window function */
#define ITEMF_SUBQUERY 0x10u /* contains a subquery */

/* One item of the top-level select list. agg is set when the whole item is
 * one aggregate call (alias aside); ITEMF_NESTED marks aggregates buried
 * in expressions (SUM(a)/COUNT(*)), which a merge cannot recombine. */
struct sql_item {
    struct sql_span expr;  /* the expression, alias excluded */
    struct sql_span alias; /* the alias token, or empty */
    struct sql_span arg;   /* inside the aggregate's parentheses */
    uint8_t agg;           /* enum agg_kind */
    uint8_t flags;         /* ITEMF_* */
};

/* An ORDER BY or GROUP BY item. */
struct sql_order {
    struct sql_span expr; /* without ASC/DESC */
    uint32_t position;    /* ORDER BY 2 -> 2; 0 when not a position */
    bool desc;
};

/* A LIMIT operand. */
struct sql_limitval {
    bool present;
    bool is_param;  /* `?` */
    uint32_t param; /* its index when is_param */
    uint64_t value; /* the number otherwise (saturated) */
    struct sql_span text;
};

/* An UPDATE ... SET or ON DUPLICATE KEY UPDATE assignment. */
struct sql_assign {
    struct sql_colref col;
    struct sql_span value;
    bool odku; /* from ON DUPLICATE KEY UPDATE */
};

enum hint_role { HINT_ROLE_NONE = 0, HINT_PRIMARY, HINT_REPLICA };

/* What / * myshard: ... * / comments asked for (the last one wins). */
struct sql_hint {
    bool present;
    bool bad;              /* a word that is not shard=NAME/primary/replica */
    uint8_t role;          /* enum hint_role */
    struct sql_span shard; /* shard=NAME */
    struct sql_span text;  /* the whole comment, for messages */
};

enum insert_form {
    INSERT_NONE = 0,
    INSERT_VALUES, /* VALUES / VALUE (rows) */
    INSERT_SET,    /* SET col = v, ...: one row, columns from the SET list */
    INSERT_SELECT, /* SELECT / TABLE / WITH ... */
};

enum xa_verb {
    XA_NONE = 0,
    XA_START, /* START / BEGIN */
    XA_END,
    XA_PREPARE,
    XA_COMMIT, /* SQLF_ONE_PHASE for ONE PHASE */
    XA_ROLLBACK,
    XA_RECOVER,
};

/* stmt_info.flags */
#define SQLF_FOR_UPDATE      (1ull << 0)  /* SELECT ... FOR UPDATE */
#define SQLF_SHARE_LOCK      (1ull << 1)  /* LOCK IN SHARE MODE / FOR SHARE */
#define SQLF_CALC_FOUND_ROWS (1ull << 2)  /* SQL_CALC_FOUND_ROWS */
#define SQLF_FOUND_ROWS      (1ull << 3)  /* FOUND_ROWS() */
#define SQLF_LAST_INSERT_ID  (1ull << 4)  /* LAST_INSERT_ID() */
#define SQLF_LOCK_FUNC       (1ull << 5)  /* GET_LOCK/RELEASE_LOCK/... */
#define SQLF_USERVAR_READ    (1ull << 6)  /* @x read */
#define SQLF_USERVAR_WRITE   (1ull << 7)  /* @x := ..., SET @x, INTO @x */
#define SQLF_SYSVAR          (1ull << 8)  /* @@x read */
#define SQLF_INFO_SCHEMA     (1ull << 9)  /* information_schema named */
#define SQLF_DISTINCT        (1ull << 10) /* top-level SELECT DISTINCT */
#define SQLF_AGGREGATE       (1ull << 11) /* aggregate in top select list */
#define SQLF_GROUP_BY        (1ull << 12)
#define SQLF_HAVING          (1ull << 13)
#define SQLF_ORDER_BY        (1ull << 14)
#define SQLF_LIMIT           (1ull << 15)
#define SQLF_UNION           (1ull << 16) /* top-level UNION/EXCEPT/INTERSECT */
#define SQLF_SUBQUERY        (1ull << 17) /* any subquery or derived table */
#define SQLF_ODKU            (1ull << 18) /* ON DUPLICATE KEY UPDATE */
#define SQLF_TEMPORARY       (1ull << 19) /* CREATE/DROP TEMPORARY ... */
#define SQLF_IF_EXISTS       (1ull << 20)
#define SQLF_IF_NOT_EXISTS   (1ull << 21)
#define SQLF_INTO            (1ull << 22) /* SELECT ... INTO */
#define SQLF_WINDOW          (1ull << 23) /* window function / WINDOW */
#define SQLF_ROLLUP          (1ull << 24) /* GROUP BY ... WITH ROLLUP */
#define SQLF_IGNORE          (1ull << 25) /* INSERT/UPDATE/DELETE IGNORE */
#define SQLF_RETURNING       (1ull << 26) /* MariaDB ... RETURNING */
#define SQLF_SET_STATEMENT   (1ull << 27) /* SET STATEMENT ... FOR <stmt> */
#define SQLF_LOCAL           (1ull << 28) /* LOAD DATA LOCAL */
#define SQLF_TO_SAVEPOINT    (1ull << 29) /* ROLLBACK TO [SAVEPOINT] x */
#define SQLF_DESCRIBE_TABLE  (1ull << 30) /* DESCRIBE t / EXPLAIN t */
#define SQLF_ANALYZE         (1ull << 31) /* EXPLAIN ANALYZE / ANALYZE stmt */
#define SQLF_ONE_PHASE       (1ull << 32) /* XA COMMIT ... ONE PHASE */
#define SQLF_KILL_QUERY      (1ull << 33) /* KILL QUERY n */
#define SQLF_GLOBAL_LOCK     (1ull << 34) /* FLUSH TABLES WITH READ LOCK */
#define SQLF_COMPOUND        (1ull << 35) /* routine body / BEGIN NOT ATOMIC */
#define SQLF_CTE             (1ull << 36) /* WITH ... */
#define SQLF_JOIN            (1ull << 37) /* more than one table in a FROM */
#define SQLF_OUTER_JOIN      (1ull << 38) /* LEFT/RIGHT join */
#define SQLF_AGG_DISTINCT                                                      \
    (1ull << 39) /* COUNT(DISTINCT ..), AVG(DISTINCT ..) */
#define SQLF_INTO_FILE                                                         \
    (1ull << 40) /* INTO OUTFILE / DUMPFILE (server files)                     \
                  */
/* words named anywhere as bare identifiers; trust their absence only when
 * stmt_info.all_read */
#define SQLF_ROW_COUNT (1ull << 62) /* ROW_COUNT */
#define SQLF_LOAD_FILE (1ull << 63) /* LOAD_FILE */

/* stmt_info.txn: the statement's transaction effect */
#define TXN_BEGIN           0x0001u /* starts a transaction */
#define TXN_READ_ONLY       0x0002u /* START TRANSACTION READ ONLY */
#define TXN_READ_WRITE      0x0004u /* START TRANSACTION READ WRITE */
#define TXN_SNAPSHOT        0x0008u /* WITH CONSISTENT SNAPSHOT */
#define TXN_COMMIT          0x0010u /* ends it by committing */
#define TXN_ROLLBACK        0x0020u /* ends it by rolling back */
#define TXN_CHAIN           0x0040u /* AND CHAIN: a new one starts at once */
#define TXN_RELEASE         0x0080u /* RELEASE: the server disconnects */
#define TXN_IMPLICIT_COMMIT 0x0100u /* commits an open transaction first */

struct stmt_info {
    /* ---- scalars: sql_classify() resets everything up to `tables` ---- */
    const char *sql;      /* the buffer classified */
    size_t len;           /* its length */
    struct lex_mode mode; /* how it was lexed: re-lex its spans the same way */
    size_t stmt_len;      /* bytes of the first statement (before its ';') */
    uint8_t kind;         /* enum stmt_kind */
    uint8_t inner_kind;   /* STMT_EXPLAIN: kind explained (STMT_EMPTY: table) */
    uint8_t ddl_verb;     /* enum ddl_verb */
    uint8_t ddl_object;   /* enum ddl_object */
    uint8_t xa;           /* enum xa_verb */
    bool is_write;        /* must run on a primary: writes, DDL, unknown */
    /* more statements follow a ';' (never after a routine body, see
     * SQLF_COMPOUND: its ';'s are its own, it runs to the end) */
    bool multi;
    bool lex_error; /* unterminated string/comment: fields partial */
    /* A hash of the statement's tokens with every literal's value left
     * out, so two statements of one shape share it: as sql/digest.h's
     * digest depends on nothing else, the digest of one is the digest of
     * the other. 0 when the parser did not read every token (it stopped
     * early, a ';', a lexical error). */
    uint64_t shape;
    /* the parser read every token up to the statement's end (its ';' or
     * the end of the text): the flags of words seen anywhere are whole */
    bool all_read;
    /* an array filled up or nesting passed the parser's depth: tables or
     * predicates may be missing, so do not route by them alone */
    bool overflow;
    uint16_t txn;     /* TXN_* */
    uint64_t flags;   /* SQLF_* */
    uint32_t nparams; /* `?` placeholders in the first statement */
    struct sql_hint hint;
    struct sql_span opt_hint; /* last / *+ ... * / optimizer hint */

    /* names */
    struct sql_span schema; /* USE db; SHOW ... FROM db; CREATE DATABASE db */
    struct sql_span object; /* routine, view, index, trigger, event, prepared
                               statement or savepoint name; KILL id; XA xid */
    struct sql_span text;   /* PREPARE s FROM 'text': the string token */
    /* SET STATEMENT ... FOR <stmt>, EXPLAIN <stmt>: the inner statement,
     * from its first token to the end of the statement (the gate checks
     * it as if sent alone) */
    struct sql_span inner;

    struct {
        uint8_t obj;   /* enum show_obj */
        uint8_t scope; /* enum sql_scope (GLOBAL/SESSION VARIABLES|STATUS) */
        bool full;     /* SHOW FULL ... */
        struct sql_span word;  /* first word after SHOW and its modifiers */
        struct sql_span like;  /* LIKE 'pattern': the string token */
        struct sql_span where; /* WHERE ...: from WHERE to the end */
    } show;

    /* top-level query shape: block 0 (UPDATE/DELETE too for WHERE, ORDER
     * BY, LIMIT); with SQLF_UNION, ORDER BY/LIMIT/locking after the last
     * member are the UNION's. Clause spans run from the keyword to the
     * clause's last token, so a rewrite can replace them in place. */
    struct sql_span select_list; /* between SELECT [modifiers] and FROM */
    struct sql_span from;        /* FROM ...: table references, no FROM */
    struct sql_span where;       /* WHERE ... (whole clause) */
    struct sql_span group_by;    /* GROUP BY ... [WITH ROLLUP] (whole clause) */
    struct sql_span having;      /* HAVING ... (whole clause) */
    struct sql_span order_by;    /* ORDER BY ... (whole clause) */
    struct sql_span limit;       /* LIMIT ... (whole clause) */
    struct sql_span locking;     /* FOR UPDATE / LOCK IN SHARE MODE ... */
    struct sql_limitval limit_count;
    struct sql_limitval limit_offset;

    /* INSERT / REPLACE */
    struct {
        uint8_t form;           /* enum insert_form */
        uint16_t ncols;         /* column list length (0: none given) */
        uint32_t nrows;         /* VALUES rows (1 for the SET form) */
        struct sql_span values; /* from the first row's '(' to the last ')' */
        uint32_t values_param;  /* `?`s before `values` */
        struct sql_span odku;   /* ON DUPLICATE KEY UPDATE ...: whole clause */
    } insert;

    /* counts of the arrays below */
    uint8_t ntables;
    uint8_t npreds;
    uint16_t nvalues;
    uint8_t ngroups; /* OR groups; group ids are 1..ngroups */
    uint8_t nblocks;
    uint8_t nsets;
    uint8_t nassigns;
    uint8_t nitems;
    uint8_t ngroup_items;
    uint8_t norder;
    uint8_t ncols;
    uint8_t nctes;

    /* ---- arrays: only the first n<name> entries are defined ---- */
    struct sql_table tables[SQL_MAX_TABLES];
    struct sql_pred preds[SQL_MAX_PREDS];
    struct sql_value values[SQL_MAX_VALUES];
    struct sql_orgroup groups[SQL_MAX_GROUPS + 1]; /* [0] unused */
    struct sql_block blocks[SQL_MAX_BLOCKS];
    struct sql_setvar sets[SQL_MAX_SETS];
    struct sql_assign assigns[SQL_MAX_ASSIGN];
    struct sql_item items[SQL_MAX_ITEMS];
    struct sql_order group_items[SQL_MAX_ORDER];
    struct sql_order order[SQL_MAX_ORDER];
    struct sql_colref cols[SQL_MAX_COLS]; /* INSERT column list */
    struct sql_span ctes[SQL_MAX_CTES];   /* WITH names */
};

#endif
