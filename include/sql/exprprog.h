/*
 * exprprog.h - a small expression compiled to a postfix program over the
 * columns of a result row: what the router makes of a HAVING clause that
 * the proxy evaluates on merged groups (route compiles it, result/having.h
 * evaluates it). It lives in the sql layer because both of them read it.
 *
 * A program is a sequence of nodes in postfix order: operands push one
 * value, operators pop theirs (EXPR_IN pops n: the tested value first,
 * then the list; EXPR_BETWEEN pops 3) and push the result. Literal bytes
 * (numbers as written, strings unquoted) sit in text[]. Fixed size, so a
 * plan holds it without allocating.
 */
#ifndef MYSHARD_SQL_EXPRPROG_H
#define MYSHARD_SQL_EXPRPROG_H

#include <stdint.h>

#define EXPR_MAX_NODES 48
#define EXPR_MAX_TEXT  320

enum expr_op {
    EXPR_COL = 1, /* column `col` (>= 0 from the first, < 0 from the end) */
    EXPR_INT,     /* exact integer literal: text[off..off+len) */
    EXPR_DEC,     /* exact decimal literal (has a point) */
    EXPR_DBL,     /* approximate literal (has an exponent) */
    EXPR_STR,     /* string literal, unquoted */
    EXPR_NULL,
    EXPR_EQ, /* binary comparisons */
    EXPR_NE,
    EXPR_LT,
    EXPR_LE,
    EXPR_GT,
    EXPR_GE,
    EXPR_NSEQ, /* <=> */
    EXPR_AND,
    EXPR_OR,
    EXPR_XOR,
    EXPR_NOT,
    EXPR_ADD,
    EXPR_SUB,
    EXPR_MUL,
    EXPR_DIV,
    EXPR_NEG,
    EXPR_ISNULL,
    EXPR_ISNOTNULL,
    EXPR_BETWEEN, /* x BETWEEN lo AND hi: pops x, lo, hi */
    EXPR_IN,      /* x IN (a, ...): pops n values, x first */
};

struct expr_node {
    uint8_t op;   /* enum expr_op */
    uint8_t n;    /* EXPR_IN: values popped */
    int16_t col;  /* EXPR_COL */
    uint16_t off; /* literals: bytes in text */
    uint16_t len;
};

struct expr_prog {
    uint8_t n; /* nodes; 0: no program */
    uint16_t text_len;
    struct expr_node nodes[EXPR_MAX_NODES];
    char text[EXPR_MAX_TEXT];
};

#endif
