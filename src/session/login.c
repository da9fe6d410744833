/*
 * login.c - owns the password exchange of a client login, at the handshake
 * and for COM_CHANGE_USER, and the RSA key pair it uses.
 *
 *   first packet ─┬─ mysql_native_password token ─► verify ─► OK | ERR
 *                 ├─ caching_sha2_password token ─► digest known?
 *                 │     yes ─► verify ─► 0x01 0x03, OK | ERR
 *                 │     no  ─► 0x01 0x04 (full authentication)
 *                 │           ─► TLS: cleartext password ─► verify
 *                 │           ─► else 0x02 ─► 0x01 + PEM public key
 *                 │                  ─► RSA-OAEP(password XOR scramble)
 *                 │                  ─► decrypt, verify ─► OK | ERR
 *                 └─ no usable data or another plugin ─► AuthSwitchRequest
 *
 * A user with a plain password has its digest, SHA256(SHA256(pw)), at
 * hand; a user with only a password_hash gets one in sha2cache.c after its
 * first full authentication. A cleartext password is read only over TLS.
 * Outcomes go back to session.c (session_login_ok / _refused) or, for
 * COM_CHANGE_USER, to command.c (command_change_user_ok).
 */
#include "session/login.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/auth.h"
#include "proto/handshake.h"
#include "session/command.h"
#include "session/session.h"
#include "session/sha2cache.h"

#define NATIVE "mysql_native_password"
#define SHA2   "caching_sha2_password"

#define SHA2_FAST_OK   0x03 /* AuthMoreData: fast authentication passed */
#define SHA2_FULL_AUTH 0x04 /* AuthMoreData: perform full authentication */
#define SHA2_KEY_REQ   0x02 /* client: send me your public key */

enum login_step {
    STEP_NATIVE_TOKEN, /* switched to mysql_native_password: its token */
    STEP_SHA2_TOKEN,   /* switched to caching_sha2_password: its token */
    STEP_SHA2_FULL,    /* 0x04 sent: cleartext (TLS), 0x02 or ciphertext */
    STEP_SHA2_RSA,     /* public key sent: the ciphertext */
};

struct login {
    char user[128]; /* NUL-terminated */
    size_t user_len;
    char db[128];
    size_t db_len;
    bool has_db;
    bool change_user;
    uint16_t charset;
    enum login_step step;
};

enum verdict { V_OK, V_FAIL, V_FULL };

static struct auth_rsa *rsa_key; /* set before the workers start */

bool
login_keys_init(const struct cfg *c, char *err, size_t errlen)
{
    if (c->login.rsa_key != NULL) {
        char why[200];
        size_t len = 0;
        char *pem =
            cfg_read_file(c->login.rsa_key, 64 * 1024, &len, why, sizeof(why));
        if (pem != NULL) {
            rsa_key = auth_rsa_from_pem(pem, len, why, sizeof(why));
            OPENSSL_cleanse(pem, len);
            free(pem);
        }
        if (rsa_key == NULL) {
            snprintf(err, errlen, "login.rsa_key '%s': %s", c->login.rsa_key,
                     why);
            return false;
        }
        log_info("caching_sha2_password RSA key read from %s (%zu bits)",
                 c->login.rsa_key, auth_rsa_size(rsa_key) * 8);
        return true;
    }
    rsa_key = auth_rsa_generate(2048);
    if (rsa_key == NULL) {
        snprintf(err, errlen,
                 "cannot generate an RSA key for "
                 "caching_sha2_password (OpenSSL failed)");
        return false;
    }
    log_info("caching_sha2_password RSA key generated (2048 bits; set "
             "login.rsa_key to keep one across restarts)");
    return true;
}

void
login_keys_free(void)
{
    auth_rsa_free(rsa_key);
    rsa_key = NULL;
}

void
login_free(struct session *s)
{
    free(s->login);
    s->login = NULL;
}

static bool
plugin_is(const struct login_start *ls, const char *name)
{
    return ls->plugin != NULL && ls->plugin_len == strlen(name) &&
           memcmp(ls->plugin, name, ls->plugin_len) == 0;
}

static const struct cfg_user *
find_user(struct session *s, int *ui)
{
    *ui = cfg_find_user(s->wc->cfg, s->login->user);
    return *ui >= 0 ? &s->wc->cfg->users[*ui] : NULL;
}

static bool
empty_password(const struct cfg_user *u)
{
    return !u->has_hash && (u->password == NULL || u->password[0] == '\0');
}

/* Ends the login: the outcome goes to its owner, s->login is freed. */
static void
finish(struct session *s, bool ok, int ui, bool had_password)
{
    struct login *l = s->login;

    s->login = NULL;
    if (!ok)
        session_login_refused(s, l->user, l->user_len, had_password);
    else if (l->change_user)
        session_change_user_ok(s, ui, l->has_db ? l->db : NULL, l->db_len,
                               l->charset);
    else
        session_login_ok(s, ui, l->has_db ? l->db : NULL, l->db_len);
    free(l);
}

/* Waits for the client's next packet of the exchange. */
static void
wait_for(struct session *s, enum login_step step)
{
    s->login->step = step;
    if (s->state == SESS_AUTH_SWITCH)
        return;
    if (s->login->change_user) {
        /* the command's packet is done with: the exchange reads on */
        struct timeval tv = {s->wc->cfg->handshake_timeout_ms / 1000,
                             (s->wc->cfg->handshake_timeout_ms % 1000) * 1000};
        packet_consume(s->conn->in, &s->cmd);
        evtimer_add(s->timer, &tv);
    }
    session_set_state(s, SESS_AUTH_SWITCH);
}

static void
switch_to(struct session *s, const char *plugin, enum login_step step)
{
    (void)handshake_write_auth_switch(s->conn->out, s->seq++, plugin,
                                      s->scramble);
    wait_for(s, step);
}

static void
send_more(struct session *s, uint8_t what)
{
    (void)handshake_write_auth_more(s->conn->out, s->seq++, &what, 1);
}

static void
native_token(struct session *s, const uint8_t *token, size_t len)
{
    int ui;
    const struct cfg_user *u = find_user(s, &ui);
    uint8_t stage2[AUTH_NATIVE_LEN];
    bool ok = false;

    if (u != NULL) {
        if (u->has_hash)
            memcpy(stage2, u->hash, sizeof(stage2));
        else
            auth_native_stage2(u->password ? u->password : "", stage2);
        ok = auth_native_verify(token, len, s->scramble, stage2,
                                empty_password(u));
    }
    finish(s, ok, ui, len > 0);
}

/*
 * Fast authentication. An unknown user is sent to full authentication like
 * a user whose digest is not cached, so the answer does not tell which
 * names exist; it fails there.
 */
static enum verdict
sha2_fast(struct session *s, const uint8_t *token, size_t len, int *ui)
{
    const struct cfg_user *u = find_user(s, ui);
    uint8_t digest[AUTH_SHA2_LEN];
    bool ok;

    if (u == NULL)
        return len == 0 ? V_FAIL : V_FULL;
    if (len == 0)
        return empty_password(u) ? V_OK : V_FAIL;
    if (u->has_hash) {
        if (!sha2cache_lookup(u->name, u->hash, digest))
            return V_FULL;
    } else {
        const char *pw = u->password ? u->password : "";
        auth_sha2_digest(pw, strlen(pw), digest);
    }
    ok = auth_sha2_verify(token, len, s->scramble, digest, empty_password(u));
    OPENSSL_cleanse(digest, sizeof(digest));
    return ok ? V_OK : V_FAIL;
}

static void
sha2_token(struct session *s, const uint8_t *token, size_t len)
{
    int ui = -1;

    switch (sha2_fast(s, token, len, &ui)) {
    case V_OK:
        if (len > 0) {
            send_more(s, SHA2_FAST_OK);
            STATS_ADD(&s->wc->stats, logins_sha2_fast_total, 1);
        }
        finish(s, true, ui, len > 0);
        return;
    case V_FAIL:
        finish(s, false, ui, len > 0);
        return;
    case V_FULL:
        send_more(s, SHA2_FULL_AUTH);
        wait_for(s, STEP_SHA2_FULL);
        return;
    }
}

/*
 * Full authentication: the password itself, pw (len bytes, NUL-terminated,
 * no NUL inside). A password_hash user's digest is learned here.
 */
static void
sha2_password(struct session *s, const char *pw, size_t len)
{
    int ui;
    const struct cfg_user *u = find_user(s, &ui);
    uint8_t a[AUTH_SHA2_LEN], b[AUTH_SHA2_LEN], stage2[AUTH_NATIVE_LEN];
    bool ok = false;

    if (u != NULL && u->has_hash) {
        auth_native_stage2(pw, stage2);
        ok = CRYPTO_memcmp(stage2, u->hash, sizeof(stage2)) == 0;
        if (ok) {
            auth_sha2_digest(pw, len, a);
            sha2cache_store(u->name, u->hash, a);
        }
    } else if (u != NULL) {
        const char *want = u->password ? u->password : "";
        auth_sha2_digest(pw, len, a);
        auth_sha2_digest(want, strlen(want), b);
        ok = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
    }
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    if (ok)
        STATS_ADD(&s->wc->stats, logins_sha2_full_total, 1);
    finish(s, ok, ui, len > 0);
}

static void
sha2_full(struct session *s, const uint8_t *p, size_t len)
{
    char pw[512];
    int n;

    if (rsa_key == NULL) { /* login_keys_init not run: nothing to offer */
        finish(s, false, -1, len > 0);
        return;
    }
    if (len == 1 && p[0] == SHA2_KEY_REQ && s->login->step == STEP_SHA2_FULL) {
        size_t plen;
        const char *pem = auth_rsa_public_pem(rsa_key, &plen);
        (void)handshake_write_auth_more(s->conn->out, s->seq++, pem, plen);
        wait_for(s, STEP_SHA2_RSA);
        return;
    }
    if (s->tls && s->login->step == STEP_SHA2_FULL) {
        /* over TLS the password comes as it is, NUL-terminated */
        if (len == 0 || len > sizeof(pw) || p[len - 1] != '\0' ||
            memchr(p, '\0', len - 1) != NULL) {
            finish(s, false, -1, len > 1);
            return;
        }
        memcpy(pw, p, len);
        sha2_password(s, pw, len - 1);
        OPENSSL_cleanse(pw, sizeof(pw));
        return;
    }
    n = auth_rsa_decrypt_password(rsa_key, p, len, s->scramble, pw, sizeof(pw));
    if (n < 0) {
        /* never a cleartext password without TLS */
        log_info("caching_sha2_password full authentication without TLS "
                 "needs the RSA exchange; packet refused client=%u addr=%s "
                 "len=%zu",
                 s->id, s->addr, len);
        finish(s, false, -1, len > 0);
        return;
    }
    sha2_password(s, pw, (size_t)n);
    OPENSSL_cleanse(pw, sizeof(pw));
}

void
login_begin(struct session *s, const struct login_start *ls)
{
    struct login *l = xcalloc(1, sizeof(*l));

    memcpy(l->user, ls->user, ls->user_len);
    l->user_len = ls->user_len;
    if (ls->db != NULL) {
        memcpy(l->db, ls->db, ls->db_len);
        l->db_len = ls->db_len;
        l->has_db = true;
    }
    l->change_user = ls->change_user;
    l->charset = ls->charset;
    free(s->login);
    s->login = l;

    if (ls->plugin == NULL) {
        /* No plugin named: clients without CLIENT_PLUGIN_AUTH send a
         * native token; a 32-byte token answers the greeting's plugin. */
        if (ls->auth_len == AUTH_SHA2_LEN)
            sha2_token(s, ls->auth, ls->auth_len);
        else
            native_token(s, ls->auth, ls->auth_len);
    } else if (plugin_is(ls, SHA2)) {
        /* Empty data in COM_CHANGE_USER is the client asking for a
         * scramble to work on (libmariadb does so). */
        if (ls->auth_len == 0 && ls->change_user)
            switch_to(s, SHA2, STEP_SHA2_TOKEN);
        else
            sha2_token(s, ls->auth, ls->auth_len);
    } else if (plugin_is(ls, NATIVE)) {
        /* A native client that did not compute over the greeting's scramble
         * (it was offered another plugin) sends no data: switch it to its
         * plugin so it does. */
        if (ls->auth_len == 0 &&
            (ls->change_user || strcmp(LOGIN_GREETING_PLUGIN, NATIVE) != 0))
            switch_to(s, NATIVE, STEP_NATIVE_TOKEN);
        else
            native_token(s, ls->auth, ls->auth_len);
    } else {
        /* ed25519, sha256_password, mysql_clear_password...: offer ours */
        switch_to(s, SHA2, STEP_SHA2_TOKEN);
    }
}

void
login_continue(struct session *s, const uint8_t *p, size_t len)
{
    if (s->login == NULL) {
        session_close(s, "protocol violation");
        return;
    }
    switch (s->login->step) {
    case STEP_NATIVE_TOKEN:
        native_token(s, p, len);
        break;
    case STEP_SHA2_TOKEN:
        sha2_token(s, p, len);
        break;
    case STEP_SHA2_FULL:
    case STEP_SHA2_RSA:
        sha2_full(s, p, len);
        break;
    }
}
