/*
 * command.c - the command table: which COM_* the proxy answers itself,
 * which it forwards (and what response each produces), and the handlers of
 * the small ones. Anything not in the table gets a clean 1047.
 */
#include "session/command.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/serverconn.h"
#include "base/clock.h"
#include "base/log.h"
#include "build_config.h"
#include "cfg/cfg.h"
#include "net/conn.h"
#include "proto/binproto.h"
#include "proto/mysql_defs.h"
#include "proto/pktbuf.h"
#include "proto/wire.h"
#include "session/lexstate.h"
#include "session/login.h"
#include "session/cursor.h"
#include "session/prepare.h"
#include "session/engine.h"
#include "session/query.h"
#include "session/diagnostics.h"
#include "session/schema.h"
#include "session/session.h"
#include "session/tablelocks.h"
#include "session/txn.h"
#include "session/uservars.h"
#include "sql/classify.h"
#include "sql/lexer.h"

typedef void (*command_fn)(struct session *s);

struct command {
    uint8_t code;
    const char *name;
    command_fn handler;
};

static void
cmd_quit(struct session *s)
{
    session_close(s, "client quit");
}

static void
cmd_query(struct session *s)
{
    query_start(s, (const char *)s->cmd.data + 1, s->cmd.len - 1);
}

static void
cmd_init_db(struct session *s)
{
    schema_use(s, (const char *)s->cmd.data + 1, s->cmd.len - 1);
    session_command_done(s);
}

static void
cmd_ping(struct session *s)
{
    session_send_ok(s, 0, NULL);
    session_command_done(s);
}

static void
cmd_statistics(struct session *s)
{
    char text[256];
    struct wctx *wc = s->wc;
    int n = snprintf(text, sizeof(text),
                     "Uptime: %lld  Threads: %d  Questions: %lld  "
                     "Slow queries: 0  Opens: 0  Open tables: 0  "
                     "Queries per second avg: 0.000",
                     (long long)((clock_ms() - wc->started_ms) / 1000),
                     wc->nsessions, (long long)atomic_load(&wc->questions));
    /* The answer is a bare string packet, no header byte. */
    packet_write(s->conn->out, &s->seq, text, (size_t)n);
    session_command_done(s);
}

static void
cmd_set_option(struct session *s)
{
    uint16_t opt;
    struct wire w;

    wire_init(&w, s->cmd.data + 1, s->cmd.len - 1);
    if (!wire_u16(&w, &opt) || opt > 1) {
        session_send_error(s, ER_UNKNOWN_COM_ERROR, "08S01",
                           "myshard: unknown COM_SET_OPTION value");
    } else {
        s->multi_stmts = opt == 0;
        proto_write_eof(s->conn->out, &s->seq, 0, s->status);
    }
    session_command_done(s);
}

/* Drops everything the client set up on its server connection. */
static void
reset_session_state(struct session *s)
{
    txn_abandon(s, false);
    tablelocks_drop_all(s); /* closed: the servers drop the locks */
    if (s->sc && (s->pins & PIN_TRANSACTION))
        engine_release(s, true); /* closing ends the transaction */
    else if (s->sc && s->pins != 0)
        engine_release_reset(s);
    else if (s->sc)
        engine_release(s, false);
    s->pins &= PIN_POOL_SESSION; /* the user's, not the connection's */
    cursor_close_all(s);
    pstmt_free_all(s);
    s->status = SERVER_STATUS_AUTOCOMMIT;
    s->last_insert_id = 0; /* as a new server session */
    sessvars_clear(&s->vars);
    uservars_clear(s);
    command_free_local_stmts(s);
    free(s->txn_begin);
    s->txn_begin = NULL;
}

static void
cmd_reset_connection(struct session *s)
{
    reset_session_state(s);
    session_send_ok(s, 0, NULL);
    session_command_done(s);
}

/* COM_CHANGE_USER: user NUL, auth (1-byte length), db NUL, charset u16,
 * plugin NUL, attributes. Verified like a login (session/login.c), over
 * the connection's original scramble unless the plugin asks for a switch;
 * command_change_user_ok finishes it. */
static void
cmd_change_user(struct session *s)
{
    struct wire w;
    const uint8_t *user, *auth, *db = NULL, *plugin = NULL;
    size_t ulen, dblen = 0, plen = 0;
    uint8_t alen8;
    uint16_t charset = 0;
    struct login_start ls;

    wire_init(&w, s->cmd.data + 1, s->cmd.len - 1);
    if (!wire_nul_str(&w, &user, &ulen) || !wire_u8(&w, &alen8) ||
        !wire_bytes(&w, alen8, &auth) || ulen >= 128) {
        session_send_error(s, ER_HANDSHAKE_ERROR, "08S01",
                           "myshard: malformed COM_CHANGE_USER");
        session_close(s, "protocol violation");
        return;
    }
    if (wire_left(&w) > 0 && !wire_nul_str(&w, &db, &dblen))
        db = NULL;
    if (wire_left(&w) >= 2)
        (void)wire_u16(&w, &charset);
    if ((s->caps & CLIENT_PLUGIN_AUTH) && wire_left(&w) > 0 &&
        !wire_nul_str(&w, &plugin, &plen))
        plugin = NULL;
    if (db != NULL && dblen >= 128) {
        session_send_error(s, ER_HANDSHAKE_ERROR, "08S01",
                           "myshard: malformed COM_CHANGE_USER (database "
                           "name too long)");
        session_close(s, "protocol violation");
        return;
    }
    ls = (struct login_start){
        .user = (const char *)user,
        .user_len = ulen,
        .db = (const char *)db,
        .db_len = dblen,
        .plugin = (const char *)plugin,
        .plugin_len = plen,
        .auth = auth,
        .auth_len = alen8,
        .change_user = true,
        .charset = charset,
    };
    login_begin(s, &ls);
}

void
command_change_user_ok(struct session *s, int ui, const char *db, size_t dblen,
                       uint16_t charset)
{
    const struct cfg *c = s->wc->cfg;
    int si = -1, code = 0;

    if (!s->tls && c->users[ui].require_tls) {
        session_send_error(s, ER_ACCESS_DENIED_ERROR, "28000",
                           "myshard: access denied for user '%s': it must "
                           "connect with TLS (users[].require_tls); enable "
                           "SSL/TLS in the client",
                           c->users[ui].name);
        session_close(s, "TLS required for the user");
        return;
    }
    if (db != NULL && dblen > 0) {
        si = schema_find(s, ui, db, dblen, &code);
        if (si < 0) {
            schema_send_refusal(s, ui, db, dblen, code);
            session_close(s, "bad database");
            return;
        }
    } else if (c->users[ui].nschemas > 0) {
        si = cfg_find_schema(c, c->users[ui].schemas[0],
                             strlen(c->users[ui].schemas[0]));
    }
    if (!session_enter_user(s, ui)) {
        session_close(s, "user connection limit");
        return;
    }
    reset_session_state(s);
    s->user = ui;
    s->pins &= ~PIN_POOL_SESSION;
    if (c->users[ui].pool_mode == POOL_MODE_SESSION)
        s->pins |= PIN_POOL_SESSION;
    s->schema = si;
    if (charset)
        s->charset = (uint8_t)charset;
    session_send_ok(s, 0, NULL);
    session_command_done(s);
}

static void
cmd_field_list(struct session *s)
{
    if (s->schema < 0) {
        session_send_error(s, ER_NO_DB_ERROR, "3D000",
                           "myshard: no database selected; USE one first");
        session_command_done(s);
        return;
    }
    engine_forward(s, schema_default_shard(s), RELAY_FIELDS, true);
}

static struct local_stmt **
local_find(struct session *s, uint32_t id)
{
    struct local_stmt **pp = &s->local_stmts;

    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

void
command_free_local_stmts(struct session *s)
{
    while (s->local_stmts) {
        struct local_stmt *l = s->local_stmts;
        s->local_stmts = l->next;
        free(l);
    }
}

/* Prepared USE runs here, like the text one: the schema must be one the
 * proxy serves, and the servers may call it otherwise. */
static bool
prepare_locally(struct session *s)
{
    struct stmt_info *st = s->wc->stmt;
    struct binproto_prepare_ok ok = {0};
    struct local_stmt *l;
    struct pktbuf pb;
    char name[192];
    size_t n;
    int si, code = 0;

    if (!sql_classify((const char *)s->cmd.data + 1, s->cmd.len - 1, s->lex,
                      st) ||
        st->kind != STMT_USE || st->multi)
        return false;
    n = MIN(lexer_unquote(st->schema.p, st->schema.len, st->mode, name,
                          sizeof(name)),
            sizeof(name) - 1);
    si = schema_find(s, s->user, name, n, &code);
    if (si < 0) {
        schema_send_refusal(s, s->user, name, n, code);
        session_command_done(s);
        return true;
    }
    l = xcalloc(1, sizeof(*l));
    l->id = LOCAL_STMT_BASE + s->local_seq++;
    l->schema = si;
    l->next = s->local_stmts;
    s->local_stmts = l;
    ok.stmt_id = l->id;
    pktbuf_init(&pb);
    binproto_write_prepare_ok(&pb, &ok);
    if (!pktbuf_send(&pb, s->conn->out, &s->seq))
        log_warn("cannot queue a reply client=%u", s->id);
    pktbuf_free(&pb);
    session_command_done(s);
    return true;
}

static void
cmd_stmt_prepare(struct session *s)
{
    char why[320];

    if (!lexstate_refresh(s, why, sizeof(why))) {
        session_send_error(s, ER_NOT_SUPPORTED_YET, "42000", "%s", why);
        session_command_done(s);
        return;
    }
    if (prepare_refuse_over_cap(s))
        return;
    if (prepare_locally(s))
        return;
    prepare_cmd_prepare(s);
}

static void
cmd_stmt_execute(struct session *s)
{
    uint32_t id = query_stmt_id(s);
    struct local_stmt *l;

    if (id >= LOCAL_STMT_BASE && id != 0xFFFFFFFFu) {
        l = *local_find(s, id);
        if (l == NULL)
            session_send_error(s, ER_UNKNOWN_STMT_HANDLER, "HY000",
                               "myshard: unknown prepared statement handler "
                               "(%u) given to mysqld_stmt_execute",
                               id);
        else if (l->schema < 0)
            session_send_error(s, ER_BAD_DB_ERROR, "42000",
                               "myshard: the database of this prepared USE "
                               "is no longer available to the user (a "
                               "reload of the config removed it)");
        else {
            s->schema = l->schema;
            session_send_ok(s, 0, NULL);
        }
        session_command_done(s);
        return;
    }
    prepare_cmd_execute(s);
}

static void
cmd_stmt_reset(struct session *s)
{
    uint32_t id = query_stmt_id(s);

    if (id >= LOCAL_STMT_BASE && id != 0xFFFFFFFFu) {
        session_send_ok(s, 0, NULL);
        session_command_done(s);
        return;
    }
    prepare_cmd_reset(s);
}

/* SEND_LONG_DATA and CLOSE have no response; without a connection there is
 * no statement they could refer to. */
static void
cmd_stmt_noreply(struct session *s)
{
    uint32_t id = query_stmt_id(s);

    if (id >= LOCAL_STMT_BASE && id != 0xFFFFFFFFu) {
        struct local_stmt **pp = local_find(s, id);
        if (s->cmd_byte == COM_STMT_CLOSE && *pp) {
            struct local_stmt *l = *pp;
            *pp = l->next;
            free(l);
        }
        session_command_done(s);
        return;
    }
    if (s->cmd_byte == COM_STMT_CLOSE)
        prepare_cmd_close(s);
    else
        prepare_cmd_long_data(s);
}

static const struct command commands[] = {
    {COM_QUIT, "QUIT", cmd_quit},
    {COM_INIT_DB, "INIT_DB", cmd_init_db},
    {COM_QUERY, "QUERY", cmd_query},
    {COM_FIELD_LIST, "FIELD_LIST", cmd_field_list},
    {COM_STATISTICS, "STATISTICS", cmd_statistics},
    {COM_PING, "PING", cmd_ping},
    {COM_CHANGE_USER, "CHANGE_USER", cmd_change_user},
    {COM_STMT_PREPARE, "STMT_PREPARE", cmd_stmt_prepare},
    {COM_STMT_EXECUTE, "STMT_EXECUTE", cmd_stmt_execute},
    {COM_STMT_SEND_LONG_DATA, "STMT_SEND_LONG_DATA", cmd_stmt_noreply},
    {COM_STMT_CLOSE, "STMT_CLOSE", cmd_stmt_noreply},
    {COM_STMT_RESET, "STMT_RESET", cmd_stmt_reset},
    {COM_SET_OPTION, "SET_OPTION", cmd_set_option},
    {COM_STMT_FETCH, "STMT_FETCH", cursor_cmd_fetch},
    {COM_RESET_CONNECTION, "RESET_CONNECTION", cmd_reset_connection},
};

void
command_dispatch(struct session *s)
{
    static command_fn table[256];
    static int ready; /* every worker fills the same values */

    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
            table[commands[i].code] = commands[i].handler;
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    if (table[s->cmd_byte] == NULL) {
        session_send_error(s, ER_UNKNOWN_COM_ERROR, "08S01",
                           "myshard: command 0x%02x is not supported by the "
                           "proxy",
                           s->cmd_byte);
        session_command_done(s);
        return;
    }
    if (s->cmd_byte != COM_QUERY) /* a query: once it is classified */
        diag_statement_start(s, NULL);
    table[s->cmd_byte](s);
}
