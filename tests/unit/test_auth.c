/*
 * test_auth.c - password scrambles against independent vectors: the
 * mysql_native_password stage2 hashes are MariaDB's SELECT PASSWORD(...)
 * results, the token vectors were computed with Python hashlib. Tokens
 * round-trip through verification, wrong and empty passwords behave, the
 * scramble is printable, and RSA-OAEP full auth decrypts with the private
 * key back to (password + NUL) XOR scramble. The server side: fast-auth
 * tokens verify against SHA256(SHA256(pw)) and nothing else does, the
 * server's key pair (generated or read from PEM) decrypts what the client
 * side encrypted, and refuses short keys, public keys and tampered input.
 */
#include "proto/auth.h"

#include <check.h>
#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t scramble_az[20] = "abcdefghijklmnopqrst";
static const uint8_t scramble_punct[20] = "!\"#$%&'()*+,-./01234";

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

START_TEST(test_native_stage2_vectors)
{
    static const struct {
        const char *password;
        const char *hash; /* SELECT PASSWORD(password) on MariaDB 10.11 */
    } v[] = {
        {"admin", "*4ACFE3202A5FF5CF467898FC58AAB1D615029441"},
        {"secret", "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t want[20], got[20];

        ck_assert(auth_native_parse_hash(v[i].hash, want));
        auth_native_stage2(v[i].password, got);
        ck_assert(memcmp(want, got, 20) == 0);
    }
}
END_TEST

START_TEST(test_native_parse_hash)
{
    uint8_t a[20], b[20];

    ck_assert(
        auth_native_parse_hash("*4ACFE3202A5FF5CF467898FC58AAB1D615029441", a));
    ck_assert(
        auth_native_parse_hash("*4acfe3202a5ff5cf467898fc58aab1d615029441", b));
    ck_assert(memcmp(a, b, 20) == 0);
    ck_assert_uint_eq(a[0], 0x4a);
    ck_assert_uint_eq(a[19], 0x41);

    memset(b, 0x77, sizeof(b));
    ck_assert(!auth_native_parse_hash("", b));
    ck_assert(
        !auth_native_parse_hash("4ACFE3202A5FF5CF467898FC58AAB1D615029441", b));
    ck_assert(
        !auth_native_parse_hash("*4ACFE3202A5FF5CF467898FC58AAB1D61502944", b));
    ck_assert(!auth_native_parse_hash(
        "*4ACFE3202A5FF5CF467898FC58AAB1D6150294411", b));
    ck_assert(!auth_native_parse_hash(
        "*4ACFE3202A5FF5CF467898FC58AAB1D61502944G", b));
    ck_assert(!auth_native_parse_hash(
        "*4ACFE3202A5FF5CF467898FC58AAB1D61502944 ", b));
    ck_assert(!auth_native_parse_hash(NULL, b));
    ck_assert_uint_eq(b[0], 0x77); /* untouched on failure */
}
END_TEST

START_TEST(test_native_token_vector)
{
    uint8_t want[20], got[20];
    size_t len = 0;

    /* hashlib: sha1(pw) ^ sha1(scramble + sha1(sha1(pw))) */
    unhex("8817c50fa779daef010ee7577825b0847df9842e", want, 20);
    auth_native_token("secret", scramble_az, got, &len);
    ck_assert_uint_eq(len, AUTH_NATIVE_LEN);
    ck_assert(memcmp(want, got, 20) == 0);
}
END_TEST

START_TEST(test_native_verify)
{
    uint8_t scr[20], stage2[20], tok[20], empty2[20];
    size_t len;

    auth_scramble_generate(scr);
    auth_native_stage2("s3cr3t pass", stage2);
    auth_native_token("s3cr3t pass", scr, tok, &len);
    ck_assert(auth_native_verify(tok, len, scr, stage2, false));

    /* wrong password, altered token, other scramble, wrong lengths */
    auth_native_token("s3cr3t pasS", scr, tok, &len);
    ck_assert(!auth_native_verify(tok, len, scr, stage2, false));
    auth_native_token("s3cr3t pass", scr, tok, &len);
    tok[7] ^= 1;
    ck_assert(!auth_native_verify(tok, len, scr, stage2, false));
    tok[7] ^= 1;
    ck_assert(!auth_native_verify(tok, len, scramble_az, stage2, false));
    ck_assert(!auth_native_verify(tok, 19, scr, stage2, false));
    ck_assert(!auth_native_verify(tok, 0, scr, stage2, false));

    /* the empty password: empty token only */
    auth_native_token("", scr, tok, &len);
    ck_assert_uint_eq(len, 0);
    auth_native_stage2("", empty2);
    ck_assert(auth_native_verify(tok, 0, scr, empty2, true));
    auth_native_token("x", scr, tok, &len);
    ck_assert(!auth_native_verify(tok, len, scr, empty2, true));
}
END_TEST

START_TEST(test_sha2_token_vectors)
{
    uint8_t want[32], got[32];
    size_t len = 0;

    /* hashlib: sha256(pw) ^ sha256(sha256(sha256(pw)) + scramble) */
    unhex("c76e2898612a4cf042c77fa8c4702c4c64c0c2c557c53c4d75595aaa6abae809",
          want, 32);
    auth_sha2_token("secret", scramble_az, got, &len);
    ck_assert_uint_eq(len, AUTH_SHA2_LEN);
    ck_assert(memcmp(want, got, 32) == 0);

    unhex("7debc379f2ae7aedd1eea7ce769500ce8076788c08eed187c92abeece5f17d47",
          want, 32);
    auth_sha2_token("admin", scramble_punct, got, &len);
    ck_assert_uint_eq(len, AUTH_SHA2_LEN);
    ck_assert(memcmp(want, got, 32) == 0);

    auth_sha2_token("", scramble_az, got, &len);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_sha2_digest_verify)
{
    uint8_t want[32], digest[32], empty[32], tok[32];
    size_t len = 0;

    /* hashlib: sha256(sha256(b"secret")) */
    unhex("3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7",
          want, 32);
    auth_sha2_digest("secret", 6, digest);
    ck_assert(memcmp(want, digest, 32) == 0);

    /* the client's token (vectors above) verifies against the digest */
    auth_sha2_token("secret", scramble_az, tok, &len);
    ck_assert(auth_sha2_verify(tok, len, scramble_az, digest, false));
    /* another scramble, password, byte or length does not */
    ck_assert(!auth_sha2_verify(tok, len, scramble_punct, digest, false));
    auth_sha2_token("secreT", scramble_az, tok, &len);
    ck_assert(!auth_sha2_verify(tok, len, scramble_az, digest, false));
    auth_sha2_token("secret", scramble_az, tok, &len);
    tok[31] ^= 1;
    ck_assert(!auth_sha2_verify(tok, len, scramble_az, digest, false));
    tok[31] ^= 1;
    ck_assert(!auth_sha2_verify(tok, 31, scramble_az, digest, false));
    ck_assert(!auth_sha2_verify(tok, 20, scramble_az, digest, false));
    /* empty token: only the empty password */
    ck_assert(!auth_sha2_verify(tok, 0, scramble_az, digest, false));
    auth_sha2_digest("", 0, empty);
    ck_assert(auth_sha2_verify(tok, 0, scramble_az, empty, true));
    ck_assert(!auth_sha2_verify(tok, len, scramble_az, empty, true));
}
END_TEST

START_TEST(test_scramble_generate)
{
    uint8_t a[20], b[20];
    unsigned seen[256] = {0};

    auth_scramble_generate(a);
    auth_scramble_generate(b);
    ck_assert(memcmp(a, b, 20) != 0);
    for (int round = 0; round < 500; round++) {
        auth_scramble_generate(a);
        for (size_t i = 0; i < 20; i++) {
            ck_assert_uint_ge(a[i], '!');
            ck_assert_uint_le(a[i], '~');
            seen[a[i]]++;
        }
    }
    /* 10,000 draws over 94 characters: every one shows up */
    for (unsigned c = '!'; c <= '~'; c++)
        ck_assert_uint_gt(seen[c], 0);
}
END_TEST

/* A fresh 2048-bit RSA key; *pem gets its public half (caller frees). */
static EVP_PKEY *
make_key(const char *structure, char **pem, size_t *pem_len)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    OSSL_ENCODER_CTX *ectx;
    unsigned char *data = NULL;
    size_t len = 0;

    ck_assert_ptr_nonnull(key);
    ectx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY, "PEM",
                                         structure, NULL);
    ck_assert_ptr_nonnull(ectx);
    ck_assert_int_eq(OSSL_ENCODER_to_data(ectx, &data, &len), 1);
    OSSL_ENCODER_CTX_free(ectx);
    *pem = (char *)data;
    *pem_len = len;
    return key;
}

/* Decrypts with the private key and checks the XOR-ed password. */
static void
check_decrypt(EVP_PKEY *key, const uint8_t *ct, size_t ct_len,
              const char *password, const uint8_t scr[20])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    uint8_t plain[512];
    size_t plain_len = sizeof(plain);
    size_t want = strlen(password) + 1;

    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(EVP_PKEY_decrypt_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING),
                     1);
    ck_assert_int_eq(EVP_PKEY_decrypt(ctx, plain, &plain_len, ct, ct_len), 1);
    ck_assert_uint_eq(plain_len, want);
    for (size_t i = 0; i < want; i++)
        plain[i] ^= scr[i % 20];
    ck_assert_str_eq((const char *)plain, password);
    EVP_PKEY_CTX_free(ctx);
}

START_TEST(test_sha2_rsa_encrypt)
{
    static const char *structures[] = {"SubjectPublicKeyInfo", "type-specific"};
    uint8_t ct[512];

    for (size_t s = 0; s < 2; s++) {
        char *pem;
        size_t pem_len;
        EVP_PKEY *key = make_key(structures[s], &pem, &pem_len);
        int n;

        ck_assert(memmem(pem, pem_len,
                         s == 0 ? "-----BEGIN PUBLIC KEY-----"
                                : "-----BEGIN RSA PUBLIC KEY-----",
                         s == 0 ? 26 : 30) != NULL);
        n = auth_sha2_rsa_encrypt("secret", scramble_az, (const uint8_t *)pem,
                                  pem_len, ct, sizeof(ct));
        ck_assert_int_eq(n, 256);
        check_decrypt(key, ct, (size_t)n, "secret", scramble_az);

        /* longer than the scramble: the scramble repeats */
        n = auth_sha2_rsa_encrypt("a much longer password, 40 characters!!",
                                  scramble_punct, (const uint8_t *)pem, pem_len,
                                  ct, sizeof(ct));
        ck_assert_int_eq(n, 256);
        check_decrypt(key, ct, (size_t)n,
                      "a much longer password, 40 characters!!",
                      scramble_punct);

        /* empty password: just the NUL */
        n = auth_sha2_rsa_encrypt("", scramble_az, (const uint8_t *)pem,
                                  pem_len, ct, sizeof(ct));
        ck_assert_int_eq(n, 256);
        check_decrypt(key, ct, (size_t)n, "", scramble_az);

        /* output buffer too small */
        ck_assert_int_eq(auth_sha2_rsa_encrypt("secret", scramble_az,
                                               (const uint8_t *)pem, pem_len,
                                               ct, 255),
                         -1);
        /* truncated PEM */
        ck_assert_int_eq(auth_sha2_rsa_encrypt("secret", scramble_az,
                                               (const uint8_t *)pem,
                                               pem_len / 2, ct, sizeof(ct)),
                         -1);
        OPENSSL_free(pem);
        EVP_PKEY_free(key);
    }
}
END_TEST

START_TEST(test_sha2_rsa_errors)
{
    static const char junk[] = "-----BEGIN PUBLIC KEY-----\nnot base64\n"
                               "-----END PUBLIC KEY-----\n";
    char pw[300];
    uint8_t ct[512];
    char *pem;
    size_t pem_len;
    EVP_PKEY *key;

    ck_assert_int_eq(auth_sha2_rsa_encrypt("secret", scramble_az,
                                           (const uint8_t *)junk,
                                           sizeof(junk) - 1, ct, sizeof(ct)),
                     -1);
    ck_assert_int_eq(
        auth_sha2_rsa_encrypt("secret", scramble_az, NULL, 0, ct, sizeof(ct)),
        -1);

    /* OAEP on a 2048-bit key carries at most 214 bytes */
    key = make_key("SubjectPublicKeyInfo", &pem, &pem_len);
    memset(pw, 'p', sizeof(pw) - 1);
    pw[sizeof(pw) - 1] = '\0';
    ck_assert_int_eq(auth_sha2_rsa_encrypt(pw, scramble_az,
                                           (const uint8_t *)pem, pem_len, ct,
                                           sizeof(ct)),
                     -1);
    pw[213] = '\0';
    ck_assert_int_eq(auth_sha2_rsa_encrypt(pw, scramble_az,
                                           (const uint8_t *)pem, pem_len, ct,
                                           sizeof(ct)),
                     256);
    OPENSSL_free(pem);
    EVP_PKEY_free(key);
}
END_TEST

/* PEM of a fresh private key of bits bits (OPENSSL_free'd by caller). */
static char *
private_pem(int bits, size_t *len)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;

    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(
        PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &data);
    ck_assert_int_gt(n, 0);
    out = OPENSSL_malloc((size_t)n);
    memcpy(out, data, (size_t)n);
    *len = (size_t)n;
    BIO_free(bio);
    EVP_PKEY_free(k);
    return out;
}

/* The client's RSA step (auth_sha2_rsa_encrypt, checked above against
 * OpenSSL directly) against the server's key pair and decryption. */
START_TEST(test_rsa_server_decrypt)
{
    struct auth_rsa *k = auth_rsa_generate(2048);
    const char *pem;
    size_t pem_len;
    uint8_t ct[512];
    char pw[300];
    int n;

    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(auth_rsa_size(k), 256);
    pem = auth_rsa_public_pem(k, &pem_len);
    ck_assert(memmem(pem, pem_len, "-----BEGIN PUBLIC KEY-----", 26) != NULL);

    n = auth_sha2_rsa_encrypt("secret", scramble_az, (const uint8_t *)pem,
                              pem_len, ct, sizeof(ct));
    ck_assert_int_eq(n, 256);
    ck_assert_int_eq(
        auth_rsa_decrypt_password(k, ct, 256, scramble_az, pw, sizeof(pw)), 6);
    ck_assert_str_eq(pw, "secret");
    /* decrypted under another scramble it is not the password */
    n = auth_rsa_decrypt_password(k, ct, 256, scramble_punct, pw, sizeof(pw));
    ck_assert(n < 0 || strcmp(pw, "secret") != 0);
    /* wrong length, a flipped bit, a buffer too small: refused */
    ck_assert_int_eq(
        auth_rsa_decrypt_password(k, ct, 255, scramble_az, pw, sizeof(pw)), -1);
    ct[100] ^= 0x40;
    ck_assert_int_eq(
        auth_rsa_decrypt_password(k, ct, 256, scramble_az, pw, sizeof(pw)), -1);
    ct[100] ^= 0x40;
    ck_assert_int_eq(auth_rsa_decrypt_password(k, ct, 256, scramble_az, pw, 6),
                     -1);

    /* longer than the scramble, and the empty password */
    n = auth_sha2_rsa_encrypt("a much longer password, 40 characters!!",
                              scramble_punct, (const uint8_t *)pem, pem_len, ct,
                              sizeof(ct));
    ck_assert_int_eq(auth_rsa_decrypt_password(k, ct, (size_t)n, scramble_punct,
                                               pw, sizeof(pw)),
                     39);
    ck_assert_str_eq(pw, "a much longer password, 40 characters!!");
    n = auth_sha2_rsa_encrypt("", scramble_az, (const uint8_t *)pem, pem_len,
                              ct, sizeof(ct));
    ck_assert_int_eq(auth_rsa_decrypt_password(k, ct, (size_t)n, scramble_az,
                                               pw, sizeof(pw)),
                     0);
    ck_assert_str_eq(pw, "");
    auth_rsa_free(k);
}
END_TEST

START_TEST(test_rsa_from_pem)
{
    char err[200], *pem, pw[64];
    size_t len, pub_len;
    const char *pub;
    struct auth_rsa *k;
    uint8_t ct[512];
    int n;

    pem = private_pem(2048, &len);
    k = auth_rsa_from_pem(pem, len, err, sizeof(err));
    ck_assert_ptr_nonnull(k);
    pub = auth_rsa_public_pem(k, &pub_len);
    n = auth_sha2_rsa_encrypt("pw", scramble_az, (const uint8_t *)pub, pub_len,
                              ct, sizeof(ct));
    ck_assert_int_eq(auth_rsa_decrypt_password(k, ct, (size_t)n, scramble_az,
                                               pw, sizeof(pw)),
                     2);
    auth_rsa_free(k);
    /* half a file is no key */
    ck_assert_ptr_null(auth_rsa_from_pem(pem, len / 2, err, sizeof(err)));
    ck_assert(strstr(err, "not a PEM RSA private key") != NULL);
    OPENSSL_free(pem);

    pem = private_pem(1024, &len);
    ck_assert_ptr_null(auth_rsa_from_pem(pem, len, err, sizeof(err)));
    ck_assert_str_eq(err, "the RSA key has 1024 bits; use 2048 or more");
    OPENSSL_free(pem);

    /* a public key is not enough */
    k = auth_rsa_generate(2048);
    pub = auth_rsa_public_pem(k, &pub_len);
    ck_assert_ptr_null(auth_rsa_from_pem(pub, pub_len, err, sizeof(err)));
    auth_rsa_free(k);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("auth");
    TCase *tn = tcase_create("native");
    TCase *t2 = tcase_create("sha2");
    SRunner *sr;
    int failed;

    tcase_add_test(tn, test_native_stage2_vectors);
    tcase_add_test(tn, test_native_parse_hash);
    tcase_add_test(tn, test_native_token_vector);
    tcase_add_test(tn, test_native_verify);
    tcase_add_test(tn, test_scramble_generate);
    suite_add_tcase(s, tn);
    tcase_add_test(t2, test_sha2_token_vectors);
    tcase_add_test(t2, test_sha2_rsa_encrypt);
    tcase_add_test(t2, test_sha2_rsa_errors);
    tcase_add_test(t2, test_sha2_digest_verify);
    tcase_add_test(t2, test_rsa_server_decrypt);
    tcase_add_test(t2, test_rsa_from_pem);
    suite_add_tcase(s, t2);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
