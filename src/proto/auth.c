/*
 * auth.c - the password scrambles of mysql_native_password and
 * caching_sha2_password, both directions, on OpenSSL: EVP digests, RAND_bytes
 * for the server's scramble, CRYPTO_memcmp for comparisons that must not leak
 * timing, and EVP_PKEY RSA-OAEP for caching_sha2_password full auth over a
 * plain connection, both the client's encryption and the server's key pair
 * (generated, or parsed from PEM the caller read) and decryption. Nothing
 * here does I/O or keeps state beyond the key objects callers own. A digest
 * failure inside OpenSSL cannot be reported through these void functions and
 * would mean a broken library, so it aborts.
 */
#include "proto/auth.h"

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAMBLE_BYTES 20

static void
auth_crypto_fatal(const char *what)
{
    fprintf(stderr, "myshard: OpenSSL %s failed\n", what);
    abort();
}

/* out = md(a || b); b may be empty. */
static void
auth_digest2(const EVP_MD *md, const void *a, size_t alen, const void *b,
             size_t blen, uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, a, alen) != 1 ||
        (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1) ||
        EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        auth_crypto_fatal("digest");
    EVP_MD_CTX_free(ctx);
}

static void
auth_sha1(const void *p, size_t len, uint8_t out[AUTH_NATIVE_LEN])
{
    auth_digest2(EVP_sha1(), p, len, NULL, 0, out);
}

static void
auth_sha256(const void *p, size_t len, uint8_t out[AUTH_SHA2_LEN])
{
    auth_digest2(EVP_sha256(), p, len, NULL, 0, out);
}

/*
 * Printable ASCII '!'..'~' (94 characters): bytes >= 188 are redrawn so
 * every character is equally likely.
 */
void
auth_scramble_generate(uint8_t out[20])
{
    uint8_t raw[64];
    size_t n = 0;

    while (n < SCRAMBLE_BYTES) {
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            auth_crypto_fatal("RAND_bytes");
        for (size_t i = 0; i < sizeof(raw) && n < SCRAMBLE_BYTES; i++) {
            if (raw[i] < 188)
                out[n++] = (uint8_t)('!' + raw[i] % 94);
        }
    }
    OPENSSL_cleanse(raw, sizeof(raw));
}

void
auth_native_stage2(const char *password, uint8_t out[20])
{
    uint8_t stage1[AUTH_NATIVE_LEN];

    auth_sha1(password, strlen(password), stage1);
    auth_sha1(stage1, sizeof(stage1), out);
    OPENSSL_cleanse(stage1, sizeof(stage1));
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool
auth_native_parse_hash(const char *text, uint8_t out[20])
{
    uint8_t tmp[AUTH_NATIVE_LEN];

    if (text == NULL || text[0] != '*' ||
        strlen(text) != 1 + 2 * AUTH_NATIVE_LEN)
        return false;
    for (size_t i = 0; i < AUTH_NATIVE_LEN; i++) {
        int hi = hex_value(text[1 + 2 * i]);
        int lo = hex_value(text[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, sizeof(tmp));
    return true;
}

void
auth_native_token(const char *password, const uint8_t scramble[20],
                  uint8_t out[20], size_t *len)
{
    uint8_t stage1[AUTH_NATIVE_LEN], stage2[AUTH_NATIVE_LEN];
    uint8_t mix[AUTH_NATIVE_LEN];

    if (password[0] == '\0') {
        *len = 0;
        return;
    }
    auth_sha1(password, strlen(password), stage1);
    auth_sha1(stage1, sizeof(stage1), stage2);
    auth_digest2(EVP_sha1(), scramble, SCRAMBLE_BYTES, stage2, sizeof(stage2),
                 mix);
    for (size_t i = 0; i < AUTH_NATIVE_LEN; i++)
        out[i] = stage1[i] ^ mix[i];
    *len = AUTH_NATIVE_LEN;
    OPENSSL_cleanse(stage1, sizeof(stage1));
}

/*
 * token XOR SHA1(scramble + stage2) recovers the client's stage1 when the
 * password is right; its SHA1 must then equal stage2.
 */
bool
auth_native_verify(const uint8_t *token, size_t token_len,
                   const uint8_t scramble[20], const uint8_t stage2[20],
                   bool empty_password)
{
    uint8_t mix[AUTH_NATIVE_LEN], stage1[AUTH_NATIVE_LEN];
    uint8_t check[AUTH_NATIVE_LEN];
    bool ok;

    if (token_len == 0)
        return empty_password;
    if (empty_password || token_len != AUTH_NATIVE_LEN)
        return false;
    auth_digest2(EVP_sha1(), scramble, SCRAMBLE_BYTES, stage2, AUTH_NATIVE_LEN,
                 mix);
    for (size_t i = 0; i < AUTH_NATIVE_LEN; i++)
        stage1[i] = token[i] ^ mix[i];
    auth_sha1(stage1, sizeof(stage1), check);
    ok = CRYPTO_memcmp(check, stage2, AUTH_NATIVE_LEN) == 0;
    OPENSSL_cleanse(stage1, sizeof(stage1));
    return ok;
}

void
auth_sha2_token(const char *password, const uint8_t scramble[20],
                uint8_t out[32], size_t *len)
{
    uint8_t d1[AUTH_SHA2_LEN], d2[AUTH_SHA2_LEN], mix[AUTH_SHA2_LEN];

    if (password[0] == '\0') {
        *len = 0;
        return;
    }
    auth_sha256(password, strlen(password), d1);
    auth_sha256(d1, sizeof(d1), d2);
    auth_digest2(EVP_sha256(), d2, sizeof(d2), scramble, SCRAMBLE_BYTES, mix);
    for (size_t i = 0; i < AUTH_SHA2_LEN; i++)
        out[i] = d1[i] ^ mix[i];
    *len = AUTH_SHA2_LEN;
    OPENSSL_cleanse(d1, sizeof(d1));
}

/* Reads a PEM RSA public key, SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1
 * ("RSA PUBLIC KEY"). NULL on failure. */
static EVP_PKEY *
auth_read_pubkey(const uint8_t *pem, size_t pem_len)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    const unsigned char *data = pem;
    size_t left = pem_len;

    if (pem == NULL || pem_len == 0)
        return NULL;
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
                                         EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (dctx == NULL)
        return NULL;
    if (OSSL_DECODER_from_data(dctx, &data, &left) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

int
auth_sha2_rsa_encrypt(const char *password, const uint8_t scramble[20],
                      const uint8_t *pem, size_t pem_len, uint8_t *out,
                      size_t cap)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = strlen(password) + 1;
    size_t out_len = 0;
    int rc = -1;

    pkey = auth_read_pubkey(pem, pem_len);
    if (pkey == NULL)
        goto out;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1)
        goto out;

    plain = xmalloc(plain_len);
    memcpy(plain, password, plain_len); /* includes the NUL */
    for (size_t i = 0; i < plain_len; i++)
        plain[i] ^= scramble[i % SCRAMBLE_BYTES];

    if (EVP_PKEY_encrypt(ctx, NULL, &out_len, plain, plain_len) != 1 ||
        out_len > cap || out_len > (size_t)INT32_MAX)
        goto out;
    if (EVP_PKEY_encrypt(ctx, out, &out_len, plain, plain_len) != 1)
        goto out;
    rc = (int)out_len;
out:
    if (plain != NULL) {
        OPENSSL_cleanse(plain, plain_len);
        free(plain);
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

void
auth_sha2_digest(const char *password, size_t len, uint8_t out[32])
{
    uint8_t d1[AUTH_SHA2_LEN];

    auth_sha256(password, len, d1);
    auth_sha256(d1, sizeof(d1), out);
    OPENSSL_cleanse(d1, sizeof(d1));
}

/*
 * token XOR SHA256(digest + scramble) recovers the client's SHA256(pw) when
 * the password is right; its SHA256 must then equal digest.
 */
bool
auth_sha2_verify(const uint8_t *token, size_t token_len,
                 const uint8_t scramble[20], const uint8_t digest[32],
                 bool empty_password)
{
    uint8_t mix[AUTH_SHA2_LEN], d1[AUTH_SHA2_LEN], check[AUTH_SHA2_LEN];
    bool ok;

    if (token_len == 0)
        return empty_password;
    if (empty_password || token_len != AUTH_SHA2_LEN)
        return false;
    auth_digest2(EVP_sha256(), digest, AUTH_SHA2_LEN, scramble, SCRAMBLE_BYTES,
                 mix);
    for (size_t i = 0; i < AUTH_SHA2_LEN; i++)
        d1[i] = token[i] ^ mix[i];
    auth_sha256(d1, sizeof(d1), check);
    ok = CRYPTO_memcmp(check, digest, AUTH_SHA2_LEN) == 0;
    OPENSSL_cleanse(d1, sizeof(d1));
    return ok;
}

struct auth_rsa {
    EVP_PKEY *pkey;
    char *pub_pem; /* NUL-terminated */
    size_t pub_len;
};

/* Fills the public PEM; takes pkey. NULL (pkey freed) on failure. */
static struct auth_rsa *
auth_rsa_wrap(EVP_PKEY *pkey)
{
    struct auth_rsa *k;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;

    if (bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1 ||
        (n = BIO_get_mem_data(bio, &data)) <= 0) {
        BIO_free(bio);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k = xcalloc(1, sizeof(*k));
    k->pkey = pkey;
    k->pub_pem = xstrndup(data, (size_t)n);
    k->pub_len = (size_t)n;
    BIO_free(bio);
    return k;
}

struct auth_rsa *
auth_rsa_generate(int bits)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

    return pkey != NULL ? auth_rsa_wrap(pkey) : NULL;
}

struct auth_rsa *
auth_rsa_from_pem(const void *pem, size_t len, char *err, size_t errlen)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    const unsigned char *data = pem;
    size_t left = len;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
                                         EVP_PKEY_KEYPAIR, NULL, NULL);
    if (dctx == NULL || OSSL_DECODER_from_data(dctx, &data, &left) != 1 ||
        pkey == NULL) {
        OSSL_DECODER_CTX_free(dctx);
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "not a PEM RSA private key (unencrypted)");
        return NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    if (EVP_PKEY_get_bits(pkey) < 2048) {
        snprintf(err, errlen, "the RSA key has %d bits; use 2048 or more",
                 EVP_PKEY_get_bits(pkey));
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return auth_rsa_wrap(pkey);
}

void
auth_rsa_free(struct auth_rsa *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->pub_pem);
    free(k);
}

const char *
auth_rsa_public_pem(const struct auth_rsa *k, size_t *len)
{
    *len = k->pub_len;
    return k->pub_pem;
}

size_t
auth_rsa_size(const struct auth_rsa *k)
{
    return (size_t)EVP_PKEY_get_size(k->pkey);
}

int
auth_rsa_decrypt_password(const struct auth_rsa *k, const uint8_t *in,
                          size_t in_len, const uint8_t scramble[20], char *out,
                          size_t cap)
{
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t plain[1024];
    size_t plain_len = sizeof(plain);
    int rc = -1;

    if (in_len != auth_rsa_size(k) || in_len > sizeof(plain))
        return -1;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx, plain, &plain_len, in, in_len) != 1)
        goto out;
    for (size_t i = 0; i < plain_len; i++)
        plain[i] ^= scramble[i % SCRAMBLE_BYTES];
    /* (password + NUL): the first NUL ends it and must be the last byte */
    if (plain_len == 0 || plain[plain_len - 1] != '\0' ||
        strlen((const char *)plain) != plain_len - 1 || plain_len > cap)
        goto out;
    memcpy(out, plain, plain_len);
    rc = (int)(plain_len - 1);
out:
    OPENSSL_cleanse(plain, sizeof(plain));
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
