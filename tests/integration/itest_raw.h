/*
 * The MySQL protocol by hand, for the integration programs that must send
 * what no client library would (an SSLRequest with bytes injected behind
 * it, a cleartext password without TLS): a loopback TCP connection with
 * 5 s timeouts, packet framing, reading whole packets in plaintext or over
 * an OpenSSL session, the greeting's capabilities and scramble, and the
 * password hashes and RSA keys a login by hand needs.
 */
#ifndef MYSHARD_ITEST_RAW_H
#define MYSHARD_ITEST_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#define RAW_CAPS_41  0x00000200u /* CLIENT_PROTOCOL_41 */
#define RAW_CAPS_SSL 0x00000800u /* CLIENT_SSL */
#define RAW_CAPS_SEC 0x00008000u /* CLIENT_SECURE_CONNECTION */
#define RAW_CAPS_DB  0x00000008u /* CLIENT_CONNECT_WITH_DB */
#define RAW_CAPS_PA  0x00080000u /* CLIENT_PLUGIN_AUTH */

/* A connected socket to 127.0.0.1:port, or -1. */
int raw_tcp_connect(unsigned port);
/* Reads exactly n bytes, through ssl when not NULL. */
bool raw_read_full(int fd, SSL *ssl, unsigned char *p, size_t n);
/* One packet: its payload into buf (cap), its sequence id into *seq;
 * returns the length, -1 on error or when it does not fit. */
long raw_read_packet(int fd, SSL *ssl, unsigned char *buf, size_t cap,
                     int *seq);
/* Header + payload into out (len + 4 bytes); returns that length. */
size_t raw_frame(unsigned char *out, const unsigned char *payload, size_t len,
                 int seq);
/* "*HEX" of SHA1(SHA1(pw)), as mysql.user (and password_hash) store it. */
void raw_native_hash(const char *pw, char out[42]);
/* Writes dir/rsa.pem (a fresh 2048-bit private key), dir/rsa_pub.pem (its
 * public key) and dir/other_pub.pem (an unrelated public key), and puts
 * their paths in priv, pub and other (cap bytes each). */
bool raw_make_rsa_keys(const char *dir, char *priv, char *pub, char *other,
                       size_t cap);
/* A HandshakeV10's capabilities and its 20-byte scramble. */
bool raw_parse_greeting(const unsigned char *p, long len, unsigned *caps,
                        unsigned char scramble[20]);

#endif
