/*
 * parse_internal.h - the token stream and helpers that the statement
 * grammars (classify*.c) and predicates.c share while walking one
 * statement. Not part of the sql layer's interface; classify_internal.h
 * declares the grammars themselves.
 *
 * The parser is a streaming recursive-descent scanner over the lexer with
 * one token of lookahead. It reads only what routing needs and skips the
 * rest by balancing parentheses, so it accepts every valid statement and
 * never rejects anything (the server does that). Recursion happens only at
 * subqueries, parenthesised conditions and nested statements, each bounded
 * by PARSE_MAX_NEST; deeper input is skipped iteratively and flagged as
 * overflow, so the stack stays bounded whatever the input.
 */
#ifndef MYSHARD_SQL_PARSE_INTERNAL_H
#define MYSHARD_SQL_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/classify_types.h"
#include "sql/lexer.h"

#define PARSE_MAX_NEST 24

/* Stop classes for parser_skip_expr(): what ends an expression at its own
 * parenthesis depth (a ')' that closes an enclosing group always does). */
#define CK_COMMA     0x00001u
#define CK_ANDOR     0x00002u /* AND OR XOR && || (not BETWEEN's AND) */
#define CK_FROM      0x00004u
#define CK_WHERE     0x00008u
#define CK_GROUP     0x00010u
#define CK_HAVING    0x00020u
#define CK_WINDOW    0x00040u
#define CK_ORDER     0x00080u
#define CK_LIMIT     0x00100u
#define CK_INTO      0x00200u
#define CK_SETOP     0x00400u /* UNION EXCEPT INTERSECT */
#define CK_LOCKING   0x00800u /* FOR LOCK */
#define CK_ON        0x01000u
#define CK_USING     0x02000u
#define CK_JOIN      0x04000u /* JOIN INNER CROSS LEFT RIGHT NATURAL ... */
#define CK_SET       0x08000u
#define CK_RETURNING 0x10000u
#define CK_ASCDESC   0x20000u
#define CK_WITH      0x40000u

/* what ends a WHERE condition */
#define CK_AFTER_WHERE                                                         \
    (CK_GROUP | CK_HAVING | CK_WINDOW | CK_ORDER | CK_LIMIT | CK_INTO |        \
     CK_SETOP | CK_LOCKING | CK_RETURNING | CK_ON)

struct parser {
    struct lexer lx;
    struct token t;  /* current token; TOK_EOF past the end */
    struct token la; /* lookahead, valid when has_la */
    bool has_la;
    bool swallow; /* ';' does not end the statement (routine body) */
    struct stmt_info *st;
    const char *last_end;    /* end of the last token consumed */
    const char *noted;       /* tokens before this were already noted */
    const char *shaped;      /* ... and were hashed into shape */
    uint64_t shape;          /* stmt_info.shape so far */
    enum tok_type prev_type; /* previous current token, for flag patterns */
    uint16_t prev_kw;
    unsigned nest;      /* recursion depth */
    unsigned agg_calls; /* aggregate calls seen (agg name then '(') */
    unsigned uv_tokens; /* @user variable tokens */
    unsigned uv_writes; /* ... of which assigned */
};

/* classify_stream.c: sets p up on sql and reads the first token. */
void parser_init(struct parser *p, const char *sql, size_t len,
                 struct lex_mode mode, struct stmt_info *st);
/* Advances to the next token (hints are consumed on the way). At the end
 * of the statement (';', end, lexical error) it stays put. */
void parser_next(struct parser *p);
/* The token after the current one (the current one at the end). */
const struct token *parser_peek(struct parser *p);
/* The stop class (CK_*) of the current token, 0 when none. */
unsigned parser_stop_class(struct parser *p);
/* Consumes tokens up to (not including) a token of class `stop` at depth
 * 0, a ')' closing an enclosing group, or the end. Subqueries met on the
 * way are parsed as blocks under `blk`. */
void parser_skip_expr(struct parser *p, unsigned blk, unsigned stop);
/* At '(' whose next token starts a query: parses it as a new block under
 * parent, through the closing ')'. Returns the block id, or -1 when it
 * had to be skipped (no block left, or too deep). */
int parser_subquery(struct parser *p, unsigned parent, unsigned kind);

/* Skips a parenthesised group at '(' without looking inside (used past
 * the nesting limit). Iterative. */
void parser_skip_flat(struct parser *p);
/* Skips a '(' ... ')' group at '(' (subqueries inside are parsed). */
void parser_skip_group(struct parser *p, unsigned blk);
/* A new block under parent; -1 (and overflow) when none is left. */
int parser_block_new(struct parser *p, unsigned parent, unsigned kind);
/* Records a table of block blk (a CTE name gets TBLF_CTE); returns its
 * index, or -1 (and overflow) when none is left. */
int parser_table_add(struct parser *p, unsigned blk, struct sql_span schema,
                     struct sql_span name, unsigned flags);
/* [schema.]name at the current token; false (consuming nothing) when the
 * token cannot start one. */
bool parser_qname(struct parser *p, struct sql_span *schema,
                  struct sql_span *name);
/* A table alias: AS name, or a bare non-reserved name / quoted name. */
bool parser_alias(struct parser *p, struct sql_span *alias);

/* predicates.c: parses a condition at the current token up to a token of
 * class `stop` at its own depth, a ')' closing an enclosing group, or the
 * end, recording key predicates for block blk with PREDF_* pflags. */
void pred_parse_cond(struct parser *p, unsigned blk, unsigned stop,
                     unsigned pflags);
/* predicates.c: parses [schema.][table.]column at the current token.
 * Returns false (consuming nothing) when the token cannot start one. */
bool pred_parse_colref(struct parser *p, struct sql_colref *ref);

static inline bool
parser_at_end(const struct parser *p)
{
    return p->t.type == TOK_EOF || p->t.type == TOK_ERROR ||
           (p->t.type == TOK_SEMI && !p->swallow);
}

static inline bool
parser_is(const struct parser *p, unsigned kw)
{
    return p->t.type == TOK_IDENT && p->t.kw == kw;
}

/* Consumes the current token when it is keyword kw. */
static inline bool
parser_accept(struct parser *p, unsigned kw)
{
    if (!parser_is(p, kw))
        return false;
    parser_next(p);
    return true;
}

/* Is the token after the current one keyword kw / of type type? */
static inline bool
parser_peek_is(struct parser *p, unsigned kw)
{
    const struct token *t = parser_peek(p);
    return t->type == TOK_IDENT && t->kw == kw;
}

static inline bool
parser_peek_type(struct parser *p, enum tok_type type)
{
    return parser_peek(p)->type == type;
}

/* Can token t be a name: quoted, or a word that is not reserved? */
static inline bool
parser_is_name(const struct token *t)
{
    return t->type == TOK_QIDENT ||
           (t->type == TOK_IDENT && !(keyword_flags(t->kw) & KWF_RESERVED));
}

static inline bool
parser_is_op(const struct parser *p, const char *op)
{
    size_t i;

    if (p->t.type != TOK_OP)
        return false;
    for (i = 0; i < p->t.len; i++)
        if (op[i] != p->t.p[i])
            return false;
    return op[i] == '\0';
}

/* At '(' : does a query start inside it? (SELECT, WITH, or TABLE t) */
static inline bool
parser_paren_query(struct parser *p)
{
    const struct token *t = parser_peek(p);
    return t->type == TOK_IDENT &&
           (t->kw == KW_SELECT || t->kw == KW_WITH || t->kw == KW_TABLE);
}

/* Restores a saved parser state after a failed attempt, keeping what was
 * noted about the tokens read meanwhile (they will not be noted again). */
static inline void
parser_restore(struct parser *p, const struct parser *saved)
{
    const char *noted = p->noted, *shaped = p->shaped;
    uint64_t shape = p->shape;
    unsigned agg = p->agg_calls, uvt = p->uv_tokens, uvw = p->uv_writes;

    *p = *saved;
    p->noted = noted;
    p->shaped = shaped;
    p->shape = shape;
    p->agg_calls = agg;
    p->uv_tokens = uvt;
    p->uv_writes = uvw;
}

static inline struct sql_span
span_of(const char *from, const char *to)
{
    struct sql_span s = {from, (uint32_t)(to > from ? to - from : 0)};
    return s;
}

static inline struct sql_span
span_tok(const struct token *t)
{
    struct sql_span s = {t->p, (uint32_t)t->len};
    return s;
}

#endif
