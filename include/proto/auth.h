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
/* caching_sha2_password full auth without TLS: encrypts (password + NUL)
 * XOR scramble with the PEM public key the server sent. Returns the number of
 * bytes written to out (cap bytes available), or -1 on error. */
int auth_sha2_rsa_encrypt(const char *password, const uint8_t scramble[20],
                          const uint8_t *pem, size_t pem_len, uint8_t *out,
                          size_t cap);

#endif
