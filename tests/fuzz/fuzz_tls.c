/*
 * fuzz_tls.c - arbitrary bytes as what a client sends to a myshard whose
 * greeting offered CLIENT_SSL: packet framing of the first packet, the
 * HandshakeResponse41 / SSLRequest decoder, then, for an SSLRequest, the
 * plaintext drop in front of the first TLS record (tls_hello_offset) and
 * an OpenSSL server handshake on memory BIOs fed with the rest (as
 * conn_tls_start does), and the decoder once more on whatever a second
 * packet would hold. Nothing may crash, hang or read out of bounds, and
 * no byte before the ClientHello may reach OpenSSL.
 */
#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"
#include "proto/handshake.h"
#include "proto/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A throwaway self-signed EC certificate: the server side needs one. */
static SSL_CTX *
server_ctx(void)
{
    static SSL_CTX *ctx;
    EVP_PKEY *pk;
    X509 *x;

    if (ctx != NULL)
        return ctx;
    pk = EVP_EC_gen("P-256");
    x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, pk, EVP_sha256());
    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, pk);
    X509_free(x);
    EVP_PKEY_free(pk);
    return ctx;
}

static void
tls_accept(const uint8_t *p, size_t n)
{
    size_t off = tls_hello_offset(p, n);
    SSL *ssl;
    char buf[4096];

    if (off > n || (off < n && p[off] != 0x16))
        abort(); /* plaintext would reach OpenSSL */
    if (off == n)
        return;
    ssl = tls_ssl_new(server_ctx(), true, NULL);
    if (ssl == NULL)
        return;
    BIO_write(SSL_get_rbio(ssl), p + off, (int)(n - off));
    if (SSL_do_handshake(ssl) == 1)
        while (SSL_read(ssl, buf, sizeof(buf)) > 0)
            ;
    tls_explain(ssl, buf, sizeof(buf));
    SSL_free(ssl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *in = evbuffer_new();
    struct handshake_response r;
    struct packet pkt;

    evbuffer_add(in, data, size);
    if (packet_read(in, 4096, 1, &pkt) == PKT_OK) {
        bool ok = handshake_parse_response(pkt.data, pkt.len, &r);
        bool ssl = ok && r.ssl_request;
        packet_consume(in, &pkt);
        if (ssl) {
            size_t left = evbuffer_get_length(in);
            tls_accept(evbuffer_pullup(in, -1), left);
            /* what the response over TLS would be parsed as */
            if (packet_read(in, 4096, 2, &pkt) == PKT_OK) {
                (void)handshake_parse_response(pkt.data, pkt.len, &r);
                packet_consume(in, &pkt);
            }
        }
    }
    evbuffer_free(in);
    return 0;
}
