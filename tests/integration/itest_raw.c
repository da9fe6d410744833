/* itest_raw.c - see itest_raw.h. */
#include "itest_raw.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int
raw_tcp_connect(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool
raw_read_full(int fd, SSL *ssl, unsigned char *p, size_t n)
{
    while (n > 0) {
        int r = ssl ? SSL_read(ssl, p, (int)n) : (int)read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

long
raw_read_packet(int fd, SSL *ssl, unsigned char *buf, size_t cap, int *seq)
{
    unsigned char h[4];
    size_t len;

    if (!raw_read_full(fd, ssl, h, 4))
        return -1;
    len = h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    if (len > cap || !raw_read_full(fd, ssl, buf, len))
        return -1;
    *seq = h[3];
    return (long)len;
}

size_t
raw_frame(unsigned char *out, const unsigned char *payload, size_t len, int seq)
{
    out[0] = (unsigned char)len;
    out[1] = (unsigned char)(len >> 8);
    out[2] = (unsigned char)(len >> 16);
    out[3] = (unsigned char)seq;
    memcpy(out + 4, payload, len);
    return len + 4;
}

bool
raw_parse_greeting(const unsigned char *p, long len, unsigned *caps,
                   unsigned char scramble[20])
{
    const unsigned char *e = p + len, *q = p + 1;

    if (len < 2)
        return false;
    q = memchr(q, 0, (size_t)(e - q));
    if (q == NULL || e - q < 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 12)
        return false;
    q += 1 + 4;
    memcpy(scramble, q, 8);
    q += 8 + 1;
    *caps = q[0] | (unsigned)q[1] << 8;
    q += 2 + 1 + 2;
    *caps |= ((unsigned)q[0] | (unsigned)q[1] << 8) << 16;
    q += 2 + 1 + 10;
    memcpy(scramble + 8, q, 12);
    return true;
}

void
raw_native_hash(const char *pw, char out[42])
{
    unsigned char a[20], b[20];

    SHA1((const unsigned char *)pw, strlen(pw), a);
    SHA1(a, 20, b);
    out[0] = '*';
    for (int i = 0; i < 20; i++)
        snprintf(out + 1 + 2 * i, 3, "%02X", b[i]);
}

static bool
write_key(EVP_PKEY *k, const char *path, bool private)
{
    FILE *f = fopen(path, "w");
    bool ok;

    if (f == NULL)
        return false;
    ok = private ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1
                 : PEM_write_PUBKEY(f, k) == 1;
    return fclose(f) == 0 && ok;
}

bool
raw_make_rsa_keys(const char *dir, char *priv, char *pub, char *other,
                  size_t cap)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *o = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    bool ok;

    snprintf(priv, cap, "%s/rsa.pem", dir);
    snprintf(pub, cap, "%s/rsa_pub.pem", dir);
    snprintf(other, cap, "%s/other_pub.pem", dir);
    ok = k != NULL && o != NULL && write_key(k, priv, true) &&
         write_key(k, pub, false) && write_key(o, other, false);
    EVP_PKEY_free(k);
    EVP_PKEY_free(o);
    return ok;
}
