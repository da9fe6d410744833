/*
 * tls.c - see tls.h. Contexts are built once per config generation and
 * shared by every worker (an SSL_CTX is safe to use from several threads
 * once configured); each connection's SSL object holds its own reference,
 * so a reload's new certificates apply to new connections while the old
 * ones keep theirs.
 */
#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* The first queued OpenSSL error as text; the queue is emptied. */
static void
ssl_error_text(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;

    snprintf(buf, len, "%s", reason ? reason : "unknown OpenSSL error");
    ERR_clear_error();
}

static struct ssl_ctx_st *
ctx_fail(SSL_CTX *ctx, enum tls_file which, enum tls_file *bad, char *err,
         size_t errlen, const char *what, const char *path)
{
    char why[160];

    ssl_error_text(why, sizeof(why));
    *bad = which;
    snprintf(err, errlen, "cannot load %s '%s': %s", what, path, why);
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *
tls_server_ctx_new(const char *cert, const char *key, const char *ca,
                   bool tls13_only, enum tls_file *bad, char *err,
                   size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    static const unsigned char sid_ctx[] = "myshard";

    *bad = TLS_FILE_NONE;
    ERR_clear_error();
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx,
                                  tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* Renegotiation would let a peer make SSL_write wait for a read. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return ctx_fail(ctx, TLS_FILE_CERT, bad, err, errlen,
                        "the certificate chain", cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return ctx_fail(ctx, TLS_FILE_KEY, bad, err, errlen, "the private key",
                        key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(ctx, TLS_FILE_KEY, bad, err, errlen,
                        "a private key matching the certificate; key", key);
    if (ca != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
        if (names == NULL ||
            SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            return ctx_fail(ctx, TLS_FILE_CA, bad, err, errlen, "the CA", ca);
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        /* A TLS client must prove who it is with a certificate the CA
         * signed. */
        SSL_CTX_set_verify(
            ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    }
    return ctx;
}

SSL_CTX *
tls_client_ctx_new(const char *ca, bool verify, enum tls_file *bad, char *err,
                   size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    *bad = TLS_FILE_NONE;
    ERR_clear_error();
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
            return ctx_fail(ctx, TLS_FILE_CA, bad, err, errlen, "the CA", ca);
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return ctx_fail(ctx, TLS_FILE_CA, bad, err, errlen,
                        "the system's CA store", "(default)");
    }
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    return ctx;
}

size_t
tls_hello_offset(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0x16 /* handshake record */ ||
            (i + 1 < n && p[i + 1] != 0x03) || (i + 2 < n && p[i + 2] > 0x04) ||
            (i + 5 < n && p[i + 5] != 0x01 /* client_hello */))
            continue;
        return i;
    }
    return n;
}

static bool
is_ip(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

SSL *
tls_ssl_new(SSL_CTX *ctx, bool server, const char *peer)
{
    SSL *ssl = SSL_new(ctx);
    BIO *rbio, *wbio;

    if (ssl == NULL)
        return NULL;
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl);
        return NULL;
    }
    /* An empty read BIO means "more to come", not end of file. */
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    if (server) {
        SSL_set_accept_state(ssl);
        return ssl;
    }
    SSL_set_connect_state(ssl);
    if (peer != NULL && peer[0] != '\0') {
        bool ok;
        if (is_ip(peer)) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer) == 1;
        } else {
            ok = SSL_set1_host(ssl, peer) == 1 &&
                 SSL_set_tlsext_host_name(ssl, peer) == 1;
        }
        if (!ok) {
            SSL_free(ssl);
            return NULL;
        }
    }
    return ssl;
}

void
tls_explain(SSL *ssl, char *buf, size_t len)
{
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    char why[160];

    if (vr != X509_V_OK) {
        snprintf(buf, len, "certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return;
    }
    ssl_error_text(why, sizeof(why));
    snprintf(buf, len, "%s", why);
}
