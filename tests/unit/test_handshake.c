/*
 * test_handshake.c - connection phase codecs: the greeting writer read back
 * by the greeting parser and checked byte for byte; a real MariaDB 10.11
 * greeting (extended capabilities in the reserved bytes); real
 * HandshakeResponse41 packets a libmariadb 3.3 client sent (user "app",
 * password "secret", db "shop", scramble "abcdefghijklmnopqrst"), with and
 * without connection attributes; SSLRequest; every truncation and several
 * malformed responses rejected; the backend-side response writer read back
 * by the parser; AuthSwitchRequest bytes.
 */
#include "proto/auth.h"
#include "proto/handshake.h"
#include "proto/mysql_defs.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

/* Captured from libmariadb 3.3.20 (mysql_real_connect) answering a greeting
 * with caps 0x01bfa20f and scramble "abcdefghijklmnopqrst". */
static const uint8_t libmariadb_response[] = {
    0x8d, 0xa2, 0xbe, 0x00, 0x00, 0x00, 0x10, 0x00, 0x2d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x70, 0x70, 0x00,
    0x14, 0x88, 0x17, 0xc5, 0x0f, 0xa7, 0x79, 0xda, 0xef, 0x01, 0x0e, 0xe7,
    0x57, 0x78, 0x25, 0xb0, 0x84, 0x7d, 0xf9, 0x84, 0x2e, 0x73, 0x68, 0x6f,
    0x70, 0x00, 0x6d, 0x79, 0x73, 0x71, 0x6c, 0x5f, 0x6e, 0x61, 0x74, 0x69,
    0x76, 0x65, 0x5f, 0x70, 0x61, 0x73, 0x73, 0x77, 0x6f, 0x72, 0x64, 0x00,
    0x6b, 0x03, 0x5f, 0x6f, 0x73, 0x05, 0x4c, 0x69, 0x6e, 0x75, 0x78, 0x0c,
    0x5f, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x5f, 0x6e, 0x61, 0x6d, 0x65,
    0x0a, 0x6c, 0x69, 0x62, 0x6d, 0x61, 0x72, 0x69, 0x61, 0x64, 0x62, 0x04,
    0x5f, 0x70, 0x69, 0x64, 0x04, 0x38, 0x35, 0x34, 0x39, 0x0f, 0x5f, 0x63,
    0x6c, 0x69, 0x65, 0x6e, 0x74, 0x5f, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f,
    0x6e, 0x06, 0x33, 0x2e, 0x33, 0x2e, 0x32, 0x30, 0x09, 0x5f, 0x70, 0x6c,
    0x61, 0x74, 0x66, 0x6f, 0x72, 0x6d, 0x06, 0x78, 0x38, 0x36, 0x5f, 0x36,
    0x34, 0x0c, 0x5f, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0x5f, 0x68, 0x6f,
    0x73, 0x74, 0x09, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31,
};

/* The same client answering a greeting without CLIENT_CONNECT_ATTRS and
 * CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: no attributes follow. */
static const uint8_t libmariadb_response_noattrs[] = {
    0x8d, 0xa2, 0xbe, 0x00, 0x00, 0x00, 0x10, 0x00, 0x2d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x70, 0x70, 0x00,
    0x14, 0x88, 0x17, 0xc5, 0x0f, 0xa7, 0x79, 0xda, 0xef, 0x01, 0x0e, 0xe7,
    0x57, 0x78, 0x25, 0xb0, 0x84, 0x7d, 0xf9, 0x84, 0x2e, 0x73, 0x68, 0x6f,
    0x70, 0x00, 0x6d, 0x79, 0x73, 0x71, 0x6c, 0x5f, 0x6e, 0x61, 0x74, 0x69,
    0x76, 0x65, 0x5f, 0x70, 0x61, 0x73, 0x73, 0x77, 0x6f, 0x72, 0x64, 0x00,
};

/* Greeting of MariaDB 10.11.19 (Debian 12). */
static const uint8_t mariadb_greeting[] = {
    0x0a, 0x35, 0x2e, 0x35, 0x2e, 0x35, 0x2d, 0x31, 0x30, 0x2e, 0x31, 0x31,
    0x2e, 0x31, 0x39, 0x2d, 0x4d, 0x61, 0x72, 0x69, 0x61, 0x44, 0x42, 0x2d,
    0x30, 0x2b, 0x64, 0x65, 0x62, 0x31, 0x32, 0x75, 0x31, 0x00, 0x04, 0x00,
    0x00, 0x00, 0x3f, 0x4b, 0x3b, 0x25, 0x45, 0x6d, 0x76, 0x29, 0x00, 0xfe,
    0xf7, 0x08, 0x02, 0x00, 0xff, 0x81, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x1d, 0x00, 0x00, 0x00, 0x67, 0x4c, 0x25, 0x73, 0x37, 0x55, 0x27,
    0x62, 0x39, 0x34, 0x38, 0x5d, 0x00, 0x6d, 0x79, 0x73, 0x71, 0x6c, 0x5f,
    0x6e, 0x61, 0x74, 0x69, 0x76, 0x65, 0x5f, 0x70, 0x61, 0x73, 0x73, 0x77,
    0x6f, 0x72, 0x64, 0x00,
};

static const uint8_t capture_scramble[SCRAMBLE_LEN] = "abcdefghijklmnopqrst";

/* mysql_native_password token of "secret" for capture_scramble, computed
 * with Python hashlib. */
static const uint8_t secret_token[20] = {
    0x88, 0x17, 0xc5, 0x0f, 0xa7, 0x79, 0xda, 0xef, 0x01, 0x0e,
    0xe7, 0x57, 0x78, 0x25, 0xb0, 0x84, 0x7d, 0xf9, 0x84, 0x2e};

/* Takes one whole packet off out into a new heap buffer; checks its seq. */
static uint8_t *
take_packet(struct evbuffer *out, uint8_t want_seq, size_t *len)
{
    uint8_t h[4];
    uint8_t *p;

    ck_assert_int_eq(evbuffer_remove(out, h, 4), 4);
    ck_assert_uint_eq(h[3], want_seq);
    *len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    ck_assert_uint_eq(evbuffer_get_length(out), *len);
    p = xmalloc(*len);
    ck_assert_int_eq(evbuffer_remove(out, p, *len), (int)*len);
    return p;
}

#define PROXY_CAPS                                                             \
    (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG |             \
     CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS |       \
     CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS |                      \
     CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |     \
     CLIENT_CONNECT_ATTRS | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |            \
     CLIENT_DEPRECATE_EOF)

START_TEST(test_greeting_layout)
{
    struct evbuffer *out = evbuffer_new();
    static const uint8_t scr[SCRAMBLE_LEN] = "ABCDEFGHIJKLMNOPQRST";
    static const char version[] = "10.11.99-myshard";
    const size_t v = sizeof(version); /* with its NUL */
    size_t len;
    uint8_t *p;

    ck_assert(handshake_write_greeting(out, 0, version, 0x01020304, scr,
                                       PROXY_CAPS, 45, 0x0002,
                                       "mysql_native_password"));
    p = take_packet(out, 0, &len);
    ck_assert_uint_eq(len, 1 + v + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 13 +
                               sizeof("mysql_native_password"));
    ck_assert_uint_eq(p[0], 10);
    ck_assert_str_eq((const char *)p + 1, version);
    p += 1 + v;
    ck_assert(memcmp(p, "\x04\x03\x02\x01", 4) == 0);
    ck_assert(memcmp(p + 4, "ABCDEFGH", 8) == 0);
    ck_assert_uint_eq(p[12], 0);
    ck_assert_uint_eq(p[13] | p[14] << 8, PROXY_CAPS & 0xffff);
    ck_assert_uint_eq(p[15], 45);
    ck_assert_uint_eq(p[16] | p[17] << 8, 0x0002);
    ck_assert_uint_eq(p[18] | p[19] << 8, PROXY_CAPS >> 16);
    ck_assert_uint_eq(p[20], 21);
    for (size_t i = 21; i < 31; i++)
        ck_assert_uint_eq(p[i], 0);
    ck_assert(memcmp(p + 31, "IJKLMNOPQRST", 13) == 0); /* with NUL */
    ck_assert_str_eq((const char *)p + 44, "mysql_native_password");
    free(p - 1 - v);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_greeting_roundtrip)
{
    struct evbuffer *out = evbuffer_new();
    uint8_t scr[SCRAMBLE_LEN];
    struct server_greeting g;
    size_t len;
    uint8_t *p;

    for (size_t i = 0; i < SCRAMBLE_LEN; i++)
        scr[i] = (uint8_t)(0x21 + i * 3);
    ck_assert(handshake_write_greeting(out, 0, "10.11.99-myshard", 4242, scr,
                                       PROXY_CAPS, 45, 0x0022,
                                       "caching_sha2_password"));
    p = take_packet(out, 0, &len);
    ck_assert(handshake_parse_greeting(p, len, &g));
    ck_assert_uint_eq(g.protocol, 10);
    ck_assert_str_eq(g.version, "10.11.99-myshard");
    ck_assert_uint_eq(g.conn_id, 4242);
    ck_assert(memcmp(g.scramble, scr, SCRAMBLE_LEN) == 0);
    ck_assert_uint_eq(g.caps, PROXY_CAPS);
    ck_assert_uint_eq(g.charset, 45);
    ck_assert_uint_eq(g.status, 0x0022);
    ck_assert_str_eq(g.plugin, "caching_sha2_password");
    free(p);

    /* without CLIENT_PLUGIN_AUTH no plugin name is written or read */
    ck_assert(handshake_write_greeting(out, 3, "v", 1, scr,
                                       PROXY_CAPS & ~CLIENT_PLUGIN_AUTH, 63, 0,
                                       "ignored"));
    p = take_packet(out, 3, &len);
    ck_assert_uint_eq(len, 1 + 2 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 13);
    ck_assert(handshake_parse_greeting(p, len, &g));
    ck_assert_str_eq(g.plugin, "");
    ck_assert_uint_eq(g.charset, 63);
    free(p);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_greeting_mariadb)
{
    struct server_greeting g;

    ck_assert(handshake_parse_greeting(mariadb_greeting,
                                       sizeof(mariadb_greeting), &g));
    ck_assert_uint_eq(g.protocol, 10);
    ck_assert_str_eq(g.version, "5.5.5-10.11.19-MariaDB-0+deb12u1");
    ck_assert_uint_eq(g.conn_id, 4);
    ck_assert(memcmp(g.scramble, "?K;%Emv)gL%s7U'b948]", SCRAMBLE_LEN) == 0);
    /* bit 0 (CLIENT_MYSQL) clear: MariaDB's extended caps are in the
     * reserved bytes, which the parser ignores */
    ck_assert_uint_eq(g.caps, 0x81fff7feu);
    ck_assert_uint_eq(g.charset, 8);
    ck_assert_uint_eq(g.status, SERVER_STATUS_AUTOCOMMIT);
    ck_assert_str_eq(g.plugin, "mysql_native_password");
}
END_TEST

START_TEST(test_greeting_malformed)
{
    struct server_greeting g;
    uint8_t buf[sizeof(mariadb_greeting)];
    /* through the scramble's second part: the plugin name may be cut */
    const size_t need = sizeof(mariadb_greeting) - 22;
    static const uint8_t err[] = {0xff, 0x6a, 0x04, 'H', 'o', 's', 't'};
    static const uint8_t v9[] = {9, 'x', 0, 1, 0, 0, 0};

    for (size_t n = 0; n < need; n++)
        ck_assert_msg(!handshake_parse_greeting(mariadb_greeting, n, &g),
                      "prefix %zu accepted", n);
    ck_assert(handshake_parse_greeting(mariadb_greeting, need, &g));
    ck_assert_str_eq(g.plugin, "");
    /* a 5.5-era greeting without the plugin name's NUL */
    ck_assert(handshake_parse_greeting(mariadb_greeting,
                                       sizeof(mariadb_greeting) - 1, &g));
    ck_assert_str_eq(g.plugin, "mysql_native_password");

    ck_assert(!handshake_parse_greeting(err, sizeof(err), &g));
    ck_assert(!handshake_parse_greeting(v9, sizeof(v9), &g));

    /* no NUL after the version */
    memset(buf, 'x', sizeof(buf));
    buf[0] = 10;
    ck_assert(!handshake_parse_greeting(buf, sizeof(buf), &g));

    /* CLIENT_PROTOCOL_41 / CLIENT_SECURE_CONNECTION missing */
    memcpy(buf, mariadb_greeting, sizeof(buf));
    buf[48] &= (uint8_t) ~(CLIENT_PROTOCOL_41 >> 8);
    ck_assert(!handshake_parse_greeting(buf, sizeof(buf), &g));
    memcpy(buf, mariadb_greeting, sizeof(buf));
    buf[48] &= (uint8_t) ~(CLIENT_SECURE_CONNECTION >> 8);
    ck_assert(!handshake_parse_greeting(buf, sizeof(buf), &g));
}
END_TEST

START_TEST(test_greeting_long_version)
{
    struct evbuffer *out = evbuffer_new();
    struct server_greeting g;
    char version[200];
    uint8_t scr[SCRAMBLE_LEN];
    size_t len;
    uint8_t *p;

    memset(version, 'v', sizeof(version) - 1);
    version[sizeof(version) - 1] = '\0';
    memset(scr, 'a', sizeof(scr));
    ck_assert(handshake_write_greeting(out, 0, version, 1, scr, PROXY_CAPS, 45,
                                       0, NULL));
    p = take_packet(out, 0, &len);
    ck_assert(handshake_parse_greeting(p, len, &g));
    ck_assert_uint_eq(strlen(g.version), sizeof(g.version) - 1);
    ck_assert_str_eq(g.plugin, "mysql_native_password");
    free(p);
    evbuffer_free(out);
}
END_TEST

static void
assert_slice(const char *s, size_t n, const char *want)
{
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(memcmp(s, want, n) == 0);
}

START_TEST(test_response_libmariadb)
{
    struct handshake_response r;

    ck_assert(handshake_parse_response(libmariadb_response,
                                       sizeof(libmariadb_response), &r));
    ck_assert(!r.ssl_request);
    ck_assert_uint_eq(r.caps, 0x00bea28du);
    ck_assert(r.caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);
    ck_assert(r.caps & CLIENT_CONNECT_ATTRS);
    ck_assert_uint_eq(r.max_packet, 0x00100000u);
    ck_assert_uint_eq(r.charset, 45);
    assert_slice(r.user, r.user_len, "app");
    ck_assert_uint_eq(r.auth_len, 20);
    ck_assert(memcmp(r.auth, secret_token, 20) == 0);
    assert_slice(r.db, r.db_len, "shop");
    assert_slice(r.plugin, r.plugin_len, "mysql_native_password");
    /* slices point into the packet */
    ck_assert_ptr_eq(r.user, (const char *)libmariadb_response + 32);

    ck_assert(handshake_parse_response(
        libmariadb_response_noattrs, sizeof(libmariadb_response_noattrs), &r));
    assert_slice(r.user, r.user_len, "app");
    ck_assert(memcmp(r.auth, secret_token, 20) == 0);
    assert_slice(r.db, r.db_len, "shop");
    assert_slice(r.plugin, r.plugin_len, "mysql_native_password");

    /* and the token is what auth.c computes and accepts */
    {
        uint8_t tok[20], stage2[20];
        size_t tl;
        auth_native_token("secret", capture_scramble, tok, &tl);
        ck_assert_uint_eq(tl, 20);
        ck_assert(memcmp(tok, secret_token, 20) == 0);
        auth_native_stage2("secret", stage2);
        ck_assert(auth_native_verify(r.auth, r.auth_len, capture_scramble,
                                     stage2, false));
    }
}
END_TEST

START_TEST(test_response_truncated)
{
    struct handshake_response r;
    size_t n;

    /* Complete at three places: after the db (plugin name omitted), after
     * the plugin name (attributes omitted), and whole. Every other prefix
     * cuts a field and must be rejected. */
    for (n = 0; n < sizeof(libmariadb_response); n++) {
        uint8_t *copy = xmalloc(n); /* exact size: ASan catches over-reads */
        bool ok;

        memcpy(copy, libmariadb_response, n);
        ok = handshake_parse_response(copy, n, &r);
        free(copy);
        if (n == 62 || n == 84)
            ck_assert_msg(ok, "prefix %zu rejected", n);
        else
            ck_assert_msg(!ok, "prefix %zu accepted", n);
    }
    ck_assert(handshake_parse_response(libmariadb_response, 62, &r));
    ck_assert_ptr_null(r.plugin);
}
END_TEST

START_TEST(test_response_malformed)
{
    struct handshake_response r;
    uint8_t buf[sizeof(libmariadb_response)];

    /* no CLIENT_PROTOCOL_41 */
    memcpy(buf, libmariadb_response, sizeof(buf));
    buf[1] &= (uint8_t) ~(CLIENT_PROTOCOL_41 >> 8);
    ck_assert(!handshake_parse_response(buf, sizeof(buf), &r));

    /* auth length past the end */
    memcpy(buf, libmariadb_response, sizeof(buf));
    buf[36] = 0xfa;
    ck_assert(!handshake_parse_response(buf, sizeof(buf), &r));
    buf[36] = 0xfc; /* 2-byte lenenc: 0x8817 */
    ck_assert(!handshake_parse_response(buf, sizeof(buf), &r));
    buf[36] = 0xfb; /* NULL is not a length */
    ck_assert(!handshake_parse_response(buf, sizeof(buf), &r));

    /* attribute block longer than the packet */
    memcpy(buf, libmariadb_response, sizeof(buf));
    buf[84] = 0x6c;
    ck_assert(!handshake_parse_response(buf, sizeof(buf), &r));
    /* attribute block shorter: its last value no longer fits inside */
    buf[84] = 0x6a;
    ck_assert(!handshake_parse_response(buf, sizeof(buf) - 1, &r));
    /* a key length inside the block pointing past it */
    memcpy(buf, libmariadb_response, sizeof(buf));
    buf[85] = 0x7f;
    ck_assert(!handshake_parse_response(buf, sizeof(buf), &r));

    /* db without its NUL */
    ck_assert(!handshake_parse_response(libmariadb_response_noattrs, 61, &r));
    /* trailing bytes after the attributes are tolerated */
    {
        uint8_t more[sizeof(libmariadb_response) + 1];
        memcpy(more, libmariadb_response, sizeof(libmariadb_response));
        more[sizeof(libmariadb_response)] = 3;
        ck_assert(handshake_parse_response(more, sizeof(more), &r));
    }
}
END_TEST

START_TEST(test_ssl_request)
{
    struct handshake_response r;
    uint8_t buf[32];

    memcpy(buf, libmariadb_response, 32);
    /* a libmariadb SSLRequest is its response head with CLIENT_SSL */
    ck_assert(!handshake_parse_response(buf, 32, &r));
    buf[1] |= CLIENT_SSL >> 8;
    ck_assert(handshake_parse_response(buf, 32, &r));
    ck_assert(r.ssl_request);
    ck_assert(r.caps & CLIENT_SSL);
    ck_assert_uint_eq(r.max_packet, 0x00100000u);
    ck_assert_uint_eq(r.charset, 45);
    ck_assert_ptr_null(r.user);
    ck_assert_ptr_null(r.db);
    ck_assert(!handshake_parse_response(buf, 31, &r));
}
END_TEST

START_TEST(test_response_writer_roundtrip)
{
    struct evbuffer *out = evbuffer_new();
    struct handshake_response r;
    uint8_t auth[300];
    size_t len;
    uint8_t *p;

    for (size_t i = 0; i < sizeof(auth); i++)
        auth[i] = (uint8_t)i; /* includes NUL bytes */

    /* lenenc auth data, db, plugin, empty attribute block */
    ck_assert(handshake_write_response(out, 1, PROXY_CAPS, 1u << 24, 45, "root",
                                       auth, 20, "shard_0",
                                       "mysql_native_password"));
    p = take_packet(out, 1, &len);
    ck_assert(handshake_parse_response(p, len, &r));
    ck_assert_uint_eq(r.caps, PROXY_CAPS);
    ck_assert_uint_eq(r.max_packet, 1u << 24);
    assert_slice(r.user, r.user_len, "root");
    ck_assert_uint_eq(r.auth_len, 20);
    ck_assert(memcmp(r.auth, auth, 20) == 0);
    assert_slice(r.db, r.db_len, "shard_0");
    assert_slice(r.plugin, r.plugin_len, "mysql_native_password");
    ck_assert_uint_eq(p[len - 1], 0); /* the empty attribute block */
    free(p);

    /* no db: CLIENT_CONNECT_WITH_DB is cleared; long lenenc auth data */
    ck_assert(handshake_write_response(out, 3, PROXY_CAPS, 1u << 24, 45, "u",
                                       auth, sizeof(auth), NULL,
                                       "caching_sha2_password"));
    p = take_packet(out, 3, &len);
    ck_assert(handshake_parse_response(p, len, &r));
    ck_assert(!(r.caps & CLIENT_CONNECT_WITH_DB));
    ck_assert_ptr_null(r.db);
    ck_assert_uint_eq(r.auth_len, sizeof(auth));
    ck_assert(memcmp(r.auth, auth, sizeof(auth)) == 0);
    assert_slice(r.plugin, r.plugin_len, "caching_sha2_password");
    free(p);

    /* 1-byte auth length (CLIENT_SECURE_CONNECTION only), empty token */
    {
        uint32_t caps = (PROXY_CAPS & ~(CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |
                                        CLIENT_CONNECT_ATTRS)) |
                        CLIENT_CONNECT_WITH_DB;
        ck_assert(handshake_write_response(out, 1, caps, 0, 8, "nopw", NULL, 0,
                                           "", NULL));
        p = take_packet(out, 1, &len);
        ck_assert(handshake_parse_response(p, len, &r));
        ck_assert_uint_eq(r.caps, caps);
        ck_assert_uint_eq(r.auth_len, 0);
        assert_slice(r.db, r.db_len, "");
        assert_slice(r.plugin, r.plugin_len, "mysql_native_password");
        free(p);
        /* 300 bytes do not fit a 1-byte length */
        ck_assert(!handshake_write_response(out, 1, caps, 0, 8, "u", auth,
                                            sizeof(auth), NULL, NULL));
        ck_assert_uint_eq(evbuffer_get_length(out), 0);
    }
    evbuffer_free(out);
}
END_TEST

START_TEST(test_auth_switch)
{
    struct evbuffer *out = evbuffer_new();
    static const uint8_t scr[SCRAMBLE_LEN] = "0123456789abcdefghij";
    static const char plugin[] = "mysql_native_password";
    size_t len;
    uint8_t *p;

    ck_assert(handshake_write_auth_switch(out, 2, plugin, scr));
    p = take_packet(out, 2, &len);
    ck_assert_uint_eq(len, 1 + sizeof(plugin) + SCRAMBLE_LEN + 1);
    ck_assert_uint_eq(p[0], 0xfe);
    ck_assert_str_eq((const char *)p + 1, plugin);
    ck_assert(memcmp(p + 1 + sizeof(plugin), scr, SCRAMBLE_LEN) == 0);
    ck_assert_uint_eq(p[len - 1], 0);
    free(p);
    evbuffer_free(out);
}
END_TEST

/* caching_sha2_password's AuthMoreData: 0x01, then 0x03 / 0x04 / a PEM. */
START_TEST(test_auth_more)
{
    struct evbuffer *out = evbuffer_new();
    static const char pem[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
    uint8_t b = 0x04;
    size_t len;
    uint8_t *p;

    ck_assert(handshake_write_auth_more(out, 3, &b, 1));
    p = take_packet(out, 3, &len);
    ck_assert_uint_eq(len, 2);
    ck_assert_uint_eq(p[0], 0x01);
    ck_assert_uint_eq(p[1], 0x04);
    free(p);
    ck_assert(handshake_write_auth_more(out, 5, pem, sizeof(pem) - 1));
    p = take_packet(out, 5, &len);
    ck_assert_uint_eq(len, sizeof(pem));
    ck_assert_uint_eq(p[0], 0x01);
    ck_assert(memcmp(p + 1, pem, sizeof(pem) - 1) == 0);
    free(p);
    evbuffer_free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("handshake");
    TCase *tg = tcase_create("greeting");
    TCase *tr = tcase_create("response");
    SRunner *sr;
    int failed;

    tcase_add_test(tg, test_greeting_layout);
    tcase_add_test(tg, test_greeting_roundtrip);
    tcase_add_test(tg, test_greeting_mariadb);
    tcase_add_test(tg, test_greeting_malformed);
    tcase_add_test(tg, test_greeting_long_version);
    suite_add_tcase(s, tg);
    tcase_add_test(tr, test_response_libmariadb);
    tcase_add_test(tr, test_response_truncated);
    tcase_add_test(tr, test_response_malformed);
    tcase_add_test(tr, test_ssl_request);
    tcase_add_test(tr, test_response_writer_roundtrip);
    tcase_add_test(tr, test_auth_switch);
    tcase_add_test(tr, test_auth_more);
    suite_add_tcase(s, tr);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
