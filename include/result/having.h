/*
 * having.h - a HAVING clause evaluated on a merged group's row, with the
 * server's semantics or not at all: the program (sql/exprprog.h) runs
 * over the row's values and either decides the group or fails the
 * statement with a message saying why the proxy cannot decide it.
 *
 * Semantics, as MariaDB's:
 *  - NULL: comparisons, arithmetic, BETWEEN and IN with a NULL are NULL
 *    (IN is 1 when some member is equal, NULL when none is but one is
 *    NULL); <=> is never NULL; AND/OR/XOR/NOT are three-valued; a group
 *    passes only when the result is true (not NULL, not 0).
 *  - numbers: integers and decimals exactly (a result outside BIGINT
 *    fails, as it does on the server, and so does an UNSIGNED one below
 *    0); `/` on exact numbers as the server computes it (dec_quot: the
 *    dividend's scale + 4, division by zero is NULL); a double on either
 *    side makes the operation a double one.
 *  - strings: compared in the column's collation as the merge compares
 *    (result/value.h): byte-wise for binary and _bin collations, ASCII
 *    case folding for the others, which is only known to be right for
 *    printable ASCII, so other bytes fail; a string against a number is
 *    compared as doubles when the string is a plain number, else fails.
 *  - dates, times and arithmetic on strings fail.
 */
#ifndef MYSHARD_RESULT_HAVING_H
#define MYSHARD_RESULT_HAVING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/exprprog.h"

struct binproto_value;
struct column;

enum having_result {
    HAVING_FALSE = 0, /* the group is dropped (false or NULL) */
    HAVING_TRUE,
    HAVING_ERROR, /* the proxy cannot decide: message in err */
};

/*
 * Evaluates program p (its EXPR_COL columns counted from the first, all
 * below ncols) on row v of columns cols (binary: binary-protocol values).
 * On HAVING_ERROR err (cap bytes) holds a myshard: message.
 */
enum having_result having_eval(const struct expr_prog *p,
                               const struct column *cols, uint32_t ncols,
                               bool binary, const struct binproto_value *v,
                               char *err, size_t cap);

#endif
