/*
 * passcheck.h - checking one account's password, whatever the connection:
 * the client port's logins (session/login.c) and the admin console's
 * (admin/console_login.c) share these, and the RSA key pair of
 * caching_sha2_password's full authentication without TLS.
 */
#ifndef MYSHARD_SESSION_PASSCHECK_H
#define MYSHARD_SESSION_PASSCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;

/* An account's password as the config gives it (users[] or admin). The
 * pointers are the config's: valid while the caller holds its cfg. */
struct pass_secret {
    const char *name;     /* the sha2 cache's key for this account */
    const char *password; /* plain; NULL (or "") with no hash: empty */
    const uint8_t *hash;  /* password_hash, SHA1(SHA1(pw)); NULL: none */
};

/* caching_sha2_password fast authentication's answer. */
enum pass_verdict {
    PASS_OK,
    PASS_FAIL,
    PASS_FULL, /* the digest is not known: full authentication */
};

/* What a packet of caching_sha2_password's full authentication holds. */
enum pass_full {
    PASS_FULL_KEY_REQ,  /* 0x02: the client asks for the public key */
    PASS_FULL_PASSWORD, /* the password, in pw */
    PASS_FULL_BAD,      /* neither: refuse the login */
};

/* The password is empty (no hash, no or an empty password). */
bool passcheck_empty(const struct pass_secret *s);

/* mysql_native_password: token over scramble. Constant time. */
bool passcheck_native(const struct pass_secret *s, const uint8_t *token,
                      size_t len, const uint8_t scramble[20]);

/*
 * caching_sha2_password fast authentication: token over scramble. s NULL
 * (no such account) answers PASS_FULL for a non-empty token, like an
 * account whose digest is not cached, so the answer does not tell which
 * names exist. A password_hash account's digest comes from the cache that
 * passcheck_sha2_password fills.
 */
enum pass_verdict passcheck_sha2_fast(const struct pass_secret *s,
                                      const uint8_t *token, size_t len,
                                      const uint8_t scramble[20]);

/* Full authentication: the password itself (len bytes, NUL-terminated).
 * A password_hash account's digest is cached when it matches. s NULL:
 * false. */
bool passcheck_sha2_password(const struct pass_secret *s, const char *pw,
                             size_t len);

/*
 * Reads a full-authentication packet p. first: the first packet after
 * 0x04, where the client may ask for the public key (0x02) or, over TLS
 * (tls), send the password NUL-terminated in clear; otherwise the packet
 * is the password RSA-encrypted with our public key over scramble.
 * PASS_FULL_PASSWORD puts the password (NUL-terminated, cap bytes) in pw
 * and its length in *pwlen; the caller cleanses pw. A cleartext password
 * without TLS is never accepted.
 */
enum pass_full passcheck_sha2_full_packet(const uint8_t *p, size_t len,
                                          bool tls, bool first,
                                          const uint8_t scramble[20], char *pw,
                                          size_t cap, size_t *pwlen);

/* The public key as PEM, what answers the client's 0x02; NULL before
 * passcheck_keys_init. */
const char *passcheck_public_pem(size_t *len);

/*
 * The RSA key pair of caching_sha2_password: read from login.rsa_key, or a
 * fresh 2048-bit one. Called once at start, before any worker or the
 * console runs; false with err filled when the file cannot be used.
 */
bool passcheck_keys_init(const struct cfg *c, char *err, size_t errlen);
void passcheck_keys_free(void);

#endif
