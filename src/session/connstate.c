/*
 * connstate.c - the session's state on a backend connection: the one
 * statement (COM_INIT_DB, a SET of variables / sql_mode / NAMES, or a
 * pending BEGIN) that makes a connection match the session before a
 * statement runs on it. The engine's prelude step (session/engine.c),
 * and what a SET left on the connection it ran on.
 */
#include "session/connstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "backend/serverconn.h"
#include "backend/sessvars.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "session/session.h"
#include "sql/lexmode.h"

/* The SET NAMES that gives a connection the client's collation id. */
static const char *
collation_name(uint8_t id)
{
    const char *names = NULL;
    uint8_t cs;

    return lexmode_collation(id, &cs, &names) ? names : NULL;
}

/* A BEGIN the client sent before touching any shard starts on the first
 * connection a statement needs (transactions touch shards lazily). */
static bool
send_pending_begin(struct session *s, struct serverconn *sc, struct relay *rl)
{
    uint8_t seq = 0;
    size_t n;
    uint8_t *p;

    if (s->txn_begin == NULL)
        return false;
    n = strlen(s->txn_begin);
    p = xmalloc(n + 1);
    p[0] = COM_QUERY;
    memcpy(p + 1, s->txn_begin, n);
    packet_write(serverconn_output(sc), &seq, p, n + 1);
    free(p);
    free(s->txn_begin);
    s->txn_begin = NULL;
    relay_start(rl, RELAY_SIMPLE);
    return true;
}

/* Whether vars hold a sql_mode (however the client spelled its name). */
static bool
vars_have_sql_mode(const struct sessvars *vars)
{
    for (int i = 0; i < vars->n; i++) {
        const char *nm = vars->v[i].name;
        if (strcmp(nm, "sql_mode") == 0 || strcmp(nm, "`sql_mode`") == 0 ||
            strcmp(nm, "\"sql_mode\"") == 0)
            return true;
    }
    return false;
}

/* Queues the one statement that gives sc the session's schema, else its
 * variables, sql_mode and character set, else a pending BEGIN; its answer
 * is swallowed through rl. False when the connection already matches. */
bool
connstate_apply(struct session *s, struct serverconn *sc, struct relay *rl)
{
    const char *schema = session_backend_schema(s);
    struct evbuffer *out = serverconn_output(sc);
    uint8_t seq = 0;
    char buf[4096];
    size_t n;
    bool stale = false, own_charset;

    if (schema && strcmp(sc->schema, schema) != 0) {
        size_t len = strlen(schema);
        uint8_t cmd[80];
        cmd[0] = COM_INIT_DB;
        memcpy(cmd + 1, schema, len);
        packet_write(out, &seq, cmd, len + 1);
        snprintf(sc->schema, sizeof(sc->schema), "%s", schema);
        relay_start(rl, RELAY_SIMPLE);
        return true;
    }
    if (s->vars.n == 0 && sc->vars.n == 0 && sc->charset == s->charset &&
        sc->sql_mode_seen == atomic_load(&sc->srv->sql_mode))
        return send_pending_begin(s, sc, rl); /* the common case */
    buf[0] = COM_QUERY;
    memcpy(buf + 1, "SET ", 4);
    n = 5;
    if (!sessvars_diff(&s->vars, &sc->vars, buf, sizeof(buf), &n, &stale)) {
        sc->schema[0] = '\0'; /* give up on this connection's state */
        return false;
    }
    if (!vars_have_sql_mode(&s->vars)) {
        /* the session is lexed by the servers' global sql_mode as the
         * monitor last read it: a connection opened before it changed
         * takes the new one (session/lexstate.h) */
        int gm = atomic_load(&sc->srv->sql_mode);
        if (gm != sc->sql_mode_seen && !vars_have_sql_mode(&sc->vars)) {
            int r = snprintf(buf + n, sizeof(buf) - n, "%ssql_mode = DEFAULT",
                             n > 5 ? ", " : "");
            if (r < 0 || (size_t)r >= sizeof(buf) - n) {
                sc->schema[0] = '\0';
                return false;
            }
            n += (size_t)r;
        }
        sc->sql_mode_seen = gm;
    }
    own_charset = !sessvars_has_charset(&s->vars);
    if (own_charset && (stale || sc->charset != s->charset)) {
        const char *name = collation_name(s->charset);
        int r = name ? snprintf(buf + n, sizeof(buf) - n, "%sNAMES %s",
                                n > 5 ? ", " : "", name)
                     : 0;
        if (r > 0 && (size_t)r < sizeof(buf) - n)
            n += (size_t)r;
    }
    sessvars_copy(&sc->vars, &s->vars);
    sc->charset = own_charset ? s->charset : 0;
    if (n == 5)
        return send_pending_begin(s, sc, rl);
    packet_write(out, &seq, buf, n);
    relay_start(rl, RELAY_SIMPLE);
    return true;
}

void
connstate_note_set(struct session *s, struct serverconn *sc, bool ok)
{
    if (ok) {
        for (int i = 0; i < s->pending.n; i++) {
            const struct sessvar *v = &s->pending.v[i];
            sessvars_apply(&s->vars, v->name, strlen(v->name), v->value,
                           strlen(v->value));
        }
        sessvars_copy(&sc->vars, &s->vars);
        if (sessvars_has_charset(&s->vars))
            sc->charset = 0;
    }
    sessvars_clear(&s->pending);
    s->tracks_vars = false;
}
