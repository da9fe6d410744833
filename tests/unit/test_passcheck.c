/*
 * test_passcheck.c - one account's password checks (session/passcheck.c),
 * as the client port and the admin console use them: native tokens, fast
 * authentication from a plain password and from the digest a password_hash
 * account learns in full authentication, an unknown account that does not
 * show as one, and the full-authentication packet: the key request, a
 * cleartext password only over TLS, the RSA ciphertext.
 */
#include "session/passcheck.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "proto/auth.h"
#include "session/sha2cache.h"

static const uint8_t scramble[20] = "abcdefghijklmnopqrst";

START_TEST(test_native)
{
    uint8_t token[20], stage2[20];
    size_t len;
    struct pass_secret plain = {.name = "a", .password = "pw"};
    struct pass_secret hashed = {.name = "b", .hash = stage2};
    struct pass_secret empty = {.name = "c"};

    auth_native_stage2("pw", stage2);
    auth_native_token("pw", scramble, token, &len);
    ck_assert(passcheck_native(&plain, token, len, scramble));
    ck_assert(passcheck_native(&hashed, token, len, scramble));
    ck_assert(!passcheck_native(NULL, token, len, scramble));
    ck_assert(!passcheck_native(&empty, token, len, scramble));
    ck_assert(passcheck_native(&empty, token, 0, scramble));
    ck_assert(!passcheck_native(&plain, token, 0, scramble));
    auth_native_token("other", scramble, token, &len);
    ck_assert(!passcheck_native(&plain, token, len, scramble));
}
END_TEST

START_TEST(test_sha2_fast)
{
    uint8_t token[32], stage2[20];
    size_t len;
    struct pass_secret plain = {.name = "a", .password = "pw"};
    struct pass_secret hashed = {.name = "\x01"
                                         "admin",
                                 .hash = stage2};

    sha2cache_clear();
    auth_native_stage2("pw", stage2);
    auth_sha2_token("pw", scramble, token, &len);
    ck_assert_int_eq(passcheck_sha2_fast(&plain, token, len, scramble),
                     PASS_OK);
    /* a password_hash account: full authentication until it is learned */
    ck_assert_int_eq(passcheck_sha2_fast(&hashed, token, len, scramble),
                     PASS_FULL);
    ck_assert(!passcheck_sha2_password(&hashed, "wrong", 5));
    ck_assert_int_eq(sha2cache_count(), 0);
    ck_assert(passcheck_sha2_password(&hashed, "pw", 2));
    ck_assert_int_eq(passcheck_sha2_fast(&hashed, token, len, scramble),
                     PASS_OK);
    auth_sha2_token("wrong", scramble, token, &len);
    ck_assert_int_eq(passcheck_sha2_fast(&plain, token, len, scramble),
                     PASS_FAIL);
    ck_assert_int_eq(passcheck_sha2_fast(&hashed, token, len, scramble),
                     PASS_FAIL);
    /* no such account: like an unknown digest, then refused */
    ck_assert_int_eq(passcheck_sha2_fast(NULL, token, len, scramble),
                     PASS_FULL);
    ck_assert_int_eq(passcheck_sha2_fast(NULL, token, 0, scramble), PASS_FAIL);
    ck_assert(!passcheck_sha2_password(NULL, "pw", 2));
    ck_assert(passcheck_sha2_password(&plain, "pw", 2));
    ck_assert(!passcheck_sha2_password(&plain, "pw2", 3));
    sha2cache_clear();
}
END_TEST

START_TEST(test_full_packet)
{
    char pw[64];
    size_t pwlen = 0, plen = 0;
    uint8_t ct[512];
    struct cfg c;
    char err[256];
    int n;

    /* no key yet: nothing is accepted */
    ck_assert_int_eq(passcheck_sha2_full_packet((const uint8_t *)"pw", 3, true,
                                                true, scramble, pw, sizeof(pw),
                                                &pwlen),
                     PASS_FULL_BAD);
    memset(&c, 0, sizeof(c));
    ck_assert(passcheck_keys_init(&c, err, sizeof(err)));
    const char *pem = passcheck_public_pem(&plen);
    ck_assert(pem != NULL && plen > 0);

    ck_assert_int_eq(passcheck_sha2_full_packet((const uint8_t *)"\x02", 1,
                                                false, true, scramble, pw,
                                                sizeof(pw), &pwlen),
                     PASS_FULL_KEY_REQ);
    /* in clear: over TLS only, NUL-terminated */
    ck_assert_int_eq(passcheck_sha2_full_packet((const uint8_t *)"pw", 3, true,
                                                true, scramble, pw, sizeof(pw),
                                                &pwlen),
                     PASS_FULL_PASSWORD);
    ck_assert_int_eq(pwlen, 2);
    ck_assert_str_eq(pw, "pw");
    ck_assert_int_eq(passcheck_sha2_full_packet((const uint8_t *)"pw", 2, true,
                                                true, scramble, pw, sizeof(pw),
                                                &pwlen),
                     PASS_FULL_BAD);
    ck_assert_int_eq(passcheck_sha2_full_packet((const uint8_t *)"pw", 3, false,
                                                true, scramble, pw, sizeof(pw),
                                                &pwlen),
                     PASS_FULL_BAD);
    /* the RSA exchange */
    n = auth_sha2_rsa_encrypt("secret", scramble, (const uint8_t *)pem, plen,
                              ct, sizeof(ct));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(passcheck_sha2_full_packet(ct, (size_t)n, false, false,
                                                scramble, pw, sizeof(pw),
                                                &pwlen),
                     PASS_FULL_PASSWORD);
    ck_assert_str_eq(pw, "secret");
    ct[10] ^= 1;
    ck_assert_int_eq(passcheck_sha2_full_packet(ct, (size_t)n, false, false,
                                                scramble, pw, sizeof(pw),
                                                &pwlen),
                     PASS_FULL_BAD);
    passcheck_keys_free();
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("passcheck");
    TCase *tc = tcase_create("passcheck");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_native);
    tcase_add_test(tc, test_sha2_fast);
    tcase_add_test(tc, test_full_packet);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
