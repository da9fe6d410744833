/*
 * auth.h - password scrambles (OpenSSL digests). No I/O.
 *
 * mysql_native_password: token = SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)));
 * the server keeps stage2 = SHA1(SHA1(pw)), written "*HEX" in mysql.user.
 * caching_sha2_password fast auth: token = SHA256(pw) XOR
 * SHA256(SHA256(SHA256(pw)) + scramble); full auth without TLS sends the
 * password XOR scramble, RSA-OAEP encrypted with the server's public key.
 */
#ifndef MYSHARD_PROTO_AUTH_H
#define MYSHARD_PROTO_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

#define AUTH_NATIVE_LEN 20
#define AUTH_SHA2_LEN   32

/* 20 random printable bytes, never NUL (they travel as a C string). */
void auth_scramble_generate(uint8_t out[20]);

/* stage2 = SHA1(SHA1(password)). */
void auth_native_stage2(const char *password, uint8_t out[20]);
/* Parses "*6BB48..." (41 chars, case-insensitive hex) into 20 bytes. */
MUST_CHECK bool auth_native_parse_hash(const char *text, uint8_t out[20]);
/* Client side: the 20-byte token for password and scramble. An empty
 * password yields an empty token (*len = 0). */
void auth_native_token(const char *password, const uint8_t scramble[20],
                       uint8_t out[20], size_t *len);
/* Server side: checks a client's token against stage2. An empty token
 * matches only the empty password (stage2 of ""). Constant time. */
bool auth_native_verify(const uint8_t *token, size_t token_len,
                        const uint8_t scramble[20], const uint8_t stage2[20],
                        bool empty_password);

/* caching_sha2_password fast-auth token (32 bytes); empty password -> *len 0.
 */
void auth_sha2_token(const char *password, const uint8_t scramble[20],
                     uint8_t out[32], size_t *len);
/* digest = SHA256(SHA256(password)): what a caching_sha2_password server
 * keeps to check fast-auth tokens. */
void auth_sha2_digest(const char *password, size_t len, uint8_t out[32]);
/* Server side of fast auth: token XOR SHA256(digest + scramble) recovers
 * SHA256(password), whose SHA256 must equal digest. An empty token matches
 * only the empty password. Constant time. */
bool auth_sha2_verify(const uint8_t *token, size_t token_len,
                      const uint8_t scramble[20], const uint8_t digest[32],
                      bool empty_password);

/* The server's RSA key pair for caching_sha2_password full auth without
 * TLS. Opaque; immutable once made, so threads may share it. */
struct auth_rsa;
/* A fresh key of bits bits; NULL when OpenSSL fails. */
struct auth_rsa *auth_rsa_generate(int bits);
/* A PEM RSA private key (PKCS#1 or PKCS#8, unencrypted); NULL with a reason
 * in err when it is not one or is shorter than 2048 bits. */
struct auth_rsa *auth_rsa_from_pem(const void *pem, size_t len, char *err,
                                   size_t errlen);
void auth_rsa_free(struct auth_rsa *k);
/* The public key as PEM ("PUBLIC KEY"), what the server sends after the
 * client's 0x02; owned by k. */
const char *auth_rsa_public_pem(const struct auth_rsa *k, size_t *len);
/* Bytes of one ciphertext (the modulus size), e.g. 256. */
size_t auth_rsa_size(const struct auth_rsa *k);
/* Full auth without TLS, server side: decrypts the client's RSA-OAEP
 * ciphertext and undoes the XOR with scramble. On success the password
 * (without its NUL) is in out (cap bytes, NUL-terminated) and its length is
 * returned; -1 when decryption fails or the plaintext has no NUL. */
int auth_rsa_decrypt_password(const struct auth_rsa *k, const uint8_t *in,
                              size_t in_len, const uint8_t scramble[20],
                              char *out, size_t cap);

/* caching_sha2_password full auth without TLS: encrypts (password + NUL)
 * XOR scramble with the PEM public key the server sent. Returns the number of
 * bytes written to out (cap bytes available), or -1 on error. */
int auth_sha2_rsa_encrypt(const char *password, const uint8_t scramble[20],
                          const uint8_t *pem, size_t pem_len, uint8_t *out,
                          size_t cap);

#endif
