/*
 * tls.h - OpenSSL contexts for both directions, from file paths (the
 * config layer sits above net; proxy.c turns a config generation into
 * contexts with these and names the failing key's file:line:col):
 *  - a server context for clients: certificate chain, private key, an
 *    optional CA that client certificates must chain to, TLS 1.2 or 1.3 as
 *    the lowest version;
 *  - a client context for the backend servers: the CA bundle (or the
 *    system's store) and whether the server's certificate is checked.
 * The per-connection side (the handshake, reading and writing through
 * OpenSSL) is in conn.c: see conn_tls_start.
 */
#ifndef MYSHARD_NET_TLS_H
#define MYSHARD_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

/* Which input a context could not be built from. */
enum tls_file { TLS_FILE_NONE = 0, TLS_FILE_CERT, TLS_FILE_KEY, TLS_FILE_CA };

/* The server context; NULL with *bad and err set when a file cannot be
 * read, is not PEM of the right kind, or the key does not match. */
struct ssl_ctx_st *tls_server_ctx_new(const char *cert, const char *key,
                                      const char *ca, bool tls13_only,
                                      enum tls_file *bad, char *err,
                                      size_t errlen);
/* The client context towards the servers; ca NULL = the system's store.
 * With verify every connection checks the chain and the name it was
 * given (conn_tls_start's peer). */
struct ssl_ctx_st *tls_client_ctx_new(const char *ca, bool verify,
                                      enum tls_file *bad, char *err,
                                      size_t errlen);

/* A connection's SSL object on memory BIOs (for conn.c): server or client
 * side; for a client with a verifying context, peer (a host name or an IP
 * address) is what the certificate must name. NULL on failure. */
struct ssl_st *tls_ssl_new(struct ssl_ctx_st *ctx, bool server,
                           const char *peer);
/* Where a TLS ClientHello record starts in p, n when nowhere; a record
 * header cut short by the end of p counts as one. What precedes it after
 * an SSLRequest is plaintext the server drops (conn_tls_start). */
size_t tls_hello_offset(const unsigned char *p, size_t n);
/* Why the last OpenSSL call on ssl failed, for logs and client errors:
 * the certificate verification result first, then OpenSSL's error queue
 * (which it empties). */
void tls_explain(struct ssl_st *ssl, char *buf, size_t len);

#endif
