/*
 * passcheck.c - owns the RSA key pair of caching_sha2_password and the
 * check of a password against one account's configured secret, for every
 * plugin step: a native token, a fast-auth token (digest from the plain
 * password, or from sha2cache.c for a password_hash account), and full
 * authentication's password (in clear over TLS, RSA-encrypted without).
 * No I/O and no connection state: the exchanges that call these (the
 * client port's login.c, the console's console_login.c) own the packets.
 */
#include "session/passcheck.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cfg/cfg.h"
#include "proto/auth.h"
#include "session/sha2cache.h"

#define SHA2_KEY_REQ 0x02 /* client: send me your public key */

static struct auth_rsa *rsa_key; /* set before the threads start */

bool
passcheck_keys_init(const struct cfg *c, char *err, size_t errlen)
{
    if (c->login.rsa_key != NULL) {
        char why[200];
        size_t len = 0;
        char *pem =
            cfg_read_file(c->login.rsa_key, 64 * 1024, &len, why, sizeof(why));
        if (pem != NULL) {
            rsa_key = auth_rsa_from_pem(pem, len, why, sizeof(why));
            OPENSSL_cleanse(pem, len);
            free(pem);
        }
        if (rsa_key == NULL) {
            snprintf(err, errlen, "login.rsa_key '%s': %s", c->login.rsa_key,
                     why);
            return false;
        }
        log_info("caching_sha2_password RSA key read from %s (%zu bits)",
                 c->login.rsa_key, auth_rsa_size(rsa_key) * 8);
        return true;
    }
    rsa_key = auth_rsa_generate(2048);
    if (rsa_key == NULL) {
        snprintf(err, errlen,
                 "cannot generate an RSA key for "
                 "caching_sha2_password (OpenSSL failed)");
        return false;
    }
    log_info("caching_sha2_password RSA key generated (2048 bits; set "
             "login.rsa_key to keep one across restarts)");
    return true;
}

void
passcheck_keys_free(void)
{
    auth_rsa_free(rsa_key);
    rsa_key = NULL;
}

const char *
passcheck_public_pem(size_t *len)
{
    if (rsa_key == NULL) {
        *len = 0;
        return NULL;
    }
    return auth_rsa_public_pem(rsa_key, len);
}

bool
passcheck_empty(const struct pass_secret *s)
{
    return s->hash == NULL && (s->password == NULL || s->password[0] == '\0');
}

bool
passcheck_native(const struct pass_secret *s, const uint8_t *token, size_t len,
                 const uint8_t scramble[20])
{
    uint8_t stage2[AUTH_NATIVE_LEN];

    if (s == NULL)
        return false;
    if (s->hash != NULL)
        memcpy(stage2, s->hash, sizeof(stage2));
    else
        auth_native_stage2(s->password ? s->password : "", stage2);
    return auth_native_verify(token, len, scramble, stage2, passcheck_empty(s));
}

enum pass_verdict
passcheck_sha2_fast(const struct pass_secret *s, const uint8_t *token,
                    size_t len, const uint8_t scramble[20])
{
    uint8_t digest[AUTH_SHA2_LEN];
    bool ok;

    if (s == NULL)
        return len == 0 ? PASS_FAIL : PASS_FULL;
    if (len == 0)
        return passcheck_empty(s) ? PASS_OK : PASS_FAIL;
    if (s->hash != NULL) {
        if (!sha2cache_lookup(s->name, s->hash, digest))
            return PASS_FULL;
    } else {
        const char *pw = s->password ? s->password : "";
        auth_sha2_digest(pw, strlen(pw), digest);
    }
    ok = auth_sha2_verify(token, len, scramble, digest, passcheck_empty(s));
    OPENSSL_cleanse(digest, sizeof(digest));
    return ok ? PASS_OK : PASS_FAIL;
}

bool
passcheck_sha2_password(const struct pass_secret *s, const char *pw, size_t len)
{
    uint8_t a[AUTH_SHA2_LEN], b[AUTH_SHA2_LEN], stage2[AUTH_NATIVE_LEN];
    bool ok = false;

    if (s != NULL && s->hash != NULL) {
        auth_native_stage2(pw, stage2);
        ok = CRYPTO_memcmp(stage2, s->hash, sizeof(stage2)) == 0;
        if (ok) {
            auth_sha2_digest(pw, len, a);
            sha2cache_store(s->name, s->hash, a);
        }
    } else if (s != NULL) {
        const char *want = s->password ? s->password : "";
        auth_sha2_digest(pw, len, a);
        auth_sha2_digest(want, strlen(want), b);
        ok = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
    }
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    OPENSSL_cleanse(stage2, sizeof(stage2));
    return ok;
}

enum pass_full
passcheck_sha2_full_packet(const uint8_t *p, size_t len, bool tls, bool first,
                           const uint8_t scramble[20], char *pw, size_t cap,
                           size_t *pwlen)
{
    int n;

    if (rsa_key == NULL) /* passcheck_keys_init not run: nothing to offer */
        return PASS_FULL_BAD;
    if (first && len == 1 && p[0] == SHA2_KEY_REQ)
        return PASS_FULL_KEY_REQ;
    if (tls && first) {
        /* over TLS the password comes as it is, NUL-terminated */
        if (len == 0 || len > cap || p[len - 1] != '\0' ||
            memchr(p, '\0', len - 1) != NULL)
            return PASS_FULL_BAD;
        memcpy(pw, p, len);
        *pwlen = len - 1;
        return PASS_FULL_PASSWORD;
    }
    /* never a cleartext password without TLS */
    n = auth_rsa_decrypt_password(rsa_key, p, len, scramble, pw, cap);
    if (n < 0)
        return PASS_FULL_BAD;
    *pwlen = (size_t)n;
    return PASS_FULL_PASSWORD;
}
