/*
 * mysqltls.c - see mysqltls.h.
 */
#include "backend/mysqltls.h"

#include <stdio.h>
#include <string.h>

#include "cfg/cfg_types.h"

void
mysqltls_from(struct mysqltls *t, const struct cfg_backend_tls *c)
{
    memset(t, 0, sizeof(*t));
    t->enabled = c->enabled;
    t->verify = c->verify;
    snprintf(t->ca, sizeof(t->ca), "%s", c->ca ? c->ca : "");
}

bool
mysqltls_equal(const struct mysqltls *a, const struct mysqltls *b)
{
    return a->enabled == b->enabled && a->verify == b->verify &&
           strcmp(a->ca, b->ca) == 0;
}

void
mysqltls_apply(MYSQL *m, const struct mysqltls *t)
{
    my_bool yes = 1, verify = t->verify ? 1 : 0;

    if (!t->enabled)
        return;
    /* Enforce: a server that does not offer TLS is an error, never a
     * silent fall back to plaintext. */
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes);
    if (t->ca[0] != '\0')
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, t->ca);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}
