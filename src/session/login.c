/*
 * login.c - owns the password exchange of a client login, at the handshake
 * and for COM_CHANGE_USER (the checks themselves and the RSA key pair are
 * passcheck.c's, shared with the admin console).
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
#include "session/passcheck.h"

#define NATIVE "mysql_native_password"
#define SHA2   "caching_sha2_password"

#define SHA2_FAST_OK   0x03 /* AuthMoreData: fast authentication passed */
#define SHA2_FULL_AUTH 0x04 /* AuthMoreData: perform full authentication */

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
        packet_consume(s->conn->in, &s->cmd);
        session_timer_arm(s, s->wc->cfg->handshake_timeout_ms);
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

/* The account ui's secret; NULL when there is no such user. */
static const struct pass_secret *
secret_of(const struct cfg_user *u, struct pass_secret *sec)
{
    if (u == NULL)
        return NULL;
    *sec = (struct pass_secret){.name = u->name,
                                .password = u->password,
                                .hash = u->has_hash ? u->hash : NULL};
    return sec;
}

static void
native_token(struct session *s, const uint8_t *token, size_t len)
{
    int ui;
    struct pass_secret sec;
    const struct pass_secret *ps = secret_of(find_user(s, &ui), &sec);

    finish(s, passcheck_native(ps, token, len, s->scramble), ui, len > 0);
}

static void
sha2_token(struct session *s, const uint8_t *token, size_t len)
{
    int ui;
    struct pass_secret sec;
    const struct pass_secret *ps = secret_of(find_user(s, &ui), &sec);

    switch (passcheck_sha2_fast(ps, token, len, s->scramble)) {
    case PASS_OK:
        if (len > 0) {
            send_more(s, SHA2_FAST_OK);
            STATS_ADD(&s->wc->stats, logins_sha2_fast_total, 1);
        }
        finish(s, true, ui, len > 0);
        return;
    case PASS_FAIL:
        finish(s, false, ui, len > 0);
        return;
    case PASS_FULL:
        send_more(s, SHA2_FULL_AUTH);
        wait_for(s, STEP_SHA2_FULL);
        return;
    }
}

/* Full authentication: the password (cleartext over TLS, or through the
 * RSA exchange); a password_hash user's digest is learned here. */
static void
sha2_full(struct session *s, const uint8_t *p, size_t len)
{
    char pw[512];
    size_t pwlen = 0;
    int ui;
    struct pass_secret sec;
    const struct pass_secret *ps;
    bool ok;

    switch (passcheck_sha2_full_packet(p, len, s->tls,
                                       s->login->step == STEP_SHA2_FULL,
                                       s->scramble, pw, sizeof(pw), &pwlen)) {
    case PASS_FULL_KEY_REQ: {
        size_t plen;
        const char *pem = passcheck_public_pem(&plen);
        (void)handshake_write_auth_more(s->conn->out, s->seq++, pem, plen);
        wait_for(s, STEP_SHA2_RSA);
        return;
    }
    case PASS_FULL_BAD:
        if (!s->tls)
            log_info("caching_sha2_password full authentication without TLS "
                     "needs the RSA exchange; packet refused client=%u "
                     "addr=%s len=%zu",
                     s->id, s->addr, len);
        finish(s, false, -1, len > 0);
        return;
    case PASS_FULL_PASSWORD:
        break;
    }
    ps = secret_of(find_user(s, &ui), &sec);
    ok = passcheck_sha2_password(ps, pw, pwlen);
    OPENSSL_cleanse(pw, sizeof(pw));
    if (ok)
        STATS_ADD(&s->wc->stats, logins_sha2_full_total, 1);
    finish(s, ok, ui, len > 0);
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
