/*
 * mysqltls.h - backend.tls for the libmariadb connections myshard opens
 * beside its pools (the health monitor, XA recovery and its resolver, KILL
 * QUERY): a copy of the settings that outlives a config generation, and
 * the options that make mysql_real_connect use TLS, check the server's
 * certificate against the CA and its name against the host connected to.
 */
#ifndef MYSHARD_BACKEND_MYSQLTLS_H
#define MYSHARD_BACKEND_MYSQLTLS_H

#include <mysql.h>
#include <stdbool.h>

struct cfg_backend_tls;

struct mysqltls {
    bool enabled;
    bool verify;
    char ca[512]; /* "" = the library's default store */
};

void mysqltls_from(struct mysqltls *t, const struct cfg_backend_tls *c);
bool mysqltls_equal(const struct mysqltls *a, const struct mysqltls *b);
/* Sets the options on m before mysql_real_connect. */
void mysqltls_apply(MYSQL *m, const struct mysqltls *t);

#endif
