/*
 * sessvars.h - session variables a client SET, kept so they can follow it
 * to whichever backend connection serves its next statement. A session and
 * a backend connection each hold a set; before a statement, the difference
 * is applied in one SET: variables the client set with their values, and
 * variables the connection carries from an earlier borrower back to
 * DEFAULT. Names compare case-insensitively; values are the literal text
 * the client wrote.
 */
#ifndef MYSHARD_BACKEND_SESSVARS_H
#define MYSHARD_BACKEND_SESSVARS_H

#include <stdbool.h>
#include <stddef.h>

struct sessvar {
    char *name;  /* owned, lower case; "names" and "character set" are the
                    SET NAMES / SET CHARACTER SET forms */
    char *value; /* owned, as written */
};

struct sessvars {
    struct sessvar *v; /* owned array */
    int n;
};

/* Records name = value (replacing an earlier value). */
void sessvars_set(struct sessvars *s, const char *name, size_t nlen,
                  const char *value, size_t vlen);
void sessvars_clear(struct sessvars *s);
/* Records name = value as a SET does to the session's variables: NAMES
 * (and CHARACTER SET) replace the character set variables they set; one
 * of character_set_client/_results/_connection or collation_connection
 * set after NAMES first turns the NAMES into those variables, so the set
 * never holds two answers for one variable (a connection gets the set in
 * no particular order). */
void sessvars_apply(struct sessvars *s, const char *name, size_t nlen,
                    const char *value, size_t vlen);
/* A NAMES value's character set (unquoted) into cs and the collation after
 * COLLATE into coll ("" when none). */
void sessvars_names_split(const char *v, char *cs, size_t cap, char *coll,
                          size_t ccap);
/* The value of name, or NULL. */
const char *sessvars_get(const struct sessvars *s, const char *name);
void sessvars_copy(struct sessvars *dst, const struct sessvars *src);
bool sessvars_equal(const struct sessvars *a, const struct sessvars *b);
/*
 * Appends to buf (holding *n bytes, starting "SET ") the assignments that
 * turn a connection holding `have` into one holding `want`. A NAMES or
 * CHARACTER SET the connection holds and `want` lacks is not reset here:
 * *charset_stale tells the caller to set the client's own character set.
 * Returns false when buf is too small.
 */
bool sessvars_diff(const struct sessvars *want, const struct sessvars *have,
                   char *buf, size_t cap, size_t *n, bool *charset_stale);
/* True when the set holds SET NAMES, SET CHARACTER SET or
 * character_set_client: the client chose its character set itself. */
bool sessvars_has_charset(const struct sessvars *s);
/* True when the set holds autocommit = 0 (or OFF, false): every statement
 * then runs in a transaction. */
bool sessvars_autocommit_off(const struct sessvars *s);

#endif
