/*
 * txnbranch.c - the branches of a transaction that spans shards (see
 * txn.h, txnbranch.h): each shard's connection, started by the engine's
 * prelude (BEGIN or XA START), kept between statements and lent to an idle
 * watcher there (anything unasked for means the server dropped it), lost
 * when it breaks. The engine uses these while statements run; txn.c ends
 * the transaction.
 */
#include "session/txnbranch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pool.h"
#include "backend/server.h"
#include "backend/serverconn.h"
#include "base/log.h"
#include "proto/mysql_defs.h"
#include "proto/packet.h"
#include "session/relay.h"
#include "session/session.h"
#include "session/txn.h"

void
txnbranch_note_failure(struct txn *tx, const struct branch *br,
                       const char *what)
{
    if (tx->failed)
        return;
    tx->failed = true;
    snprintf(tx->err, sizeof(tx->err), "shard '%s' %s", br->name, what);
}

/* Between statements (and between the rounds of the end) nothing was
 * asked: what comes is the server dropping the connection. */
static void
idle_read(struct serverconn *sc, void *arg)
{
    (void)sc;
    txnbranch_drop(arg, "the server closed it");
}

static void
idle_error(struct serverconn *sc, void *arg, const char *why)
{
    (void)sc;
    txnbranch_drop(arg, why);
}

void
txnbranch_idle(struct branch *br, struct serverconn *sc)
{
    serverconn_lend(sc, idle_read, idle_error, br);
}

static struct branch *
find(const struct txn *tx, const struct serverconn *sc)
{
    for (int i = 0; tx && sc && i < tx->nb; i++)
        if (tx->b[i].sc == sc)
            return &tx->b[i];
    return NULL;
}

struct serverconn *
txn_branch(struct session *s, int shard)
{
    for (int i = 0; s->txn && i < s->txn->nb; i++)
        if (s->txn->b[i].shard == shard)
            return s->txn->b[i].sc;
    return NULL;
}

struct serverconn *
txn_first_branch(struct session *s)
{
    for (int i = 0; s->txn && i < s->txn->nb; i++)
        if (s->txn->b[i].sc != NULL)
            return s->txn->b[i].sc;
    return NULL;
}

bool
txn_owns(const struct session *s, const struct serverconn *sc)
{
    return find(s->txn, sc) != NULL;
}

const char *
txn_broken(const struct session *s)
{
    return s->txn && s->txn->broken[0] ? s->txn->broken : NULL;
}

size_t
txnbranch_sql(const struct txn *tx, const struct branch *br, enum step_op op,
              char *out, size_t len)
{
    const char *name = br->name;
    char bq[2 * 64 + 1];
    const char *verb = NULL, *tail = "";
    int n;

    if (op == OP_BEGIN)
        return (size_t)snprintf(out, len, "%s", tx->begin_sql);
    if (op == OP_COMMIT || op == OP_ROLLBACK)
        return (size_t)snprintf(out, len, "%s",
                                op == OP_COMMIT ? "COMMIT" : "ROLLBACK");
    for (n = 0; name[n] && n < 64; n++)
        snprintf(bq + 2 * n, 3, "%02x", (unsigned char)name[n]);
    bq[2 * n] = '\0';
    switch (op) {
    case OP_XA_START:
        verb = "START";
        break;
    case OP_XA_END:
        verb = "END";
        break;
    case OP_XA_PREPARE:
        verb = "PREPARE";
        break;
    case OP_XA_COMMIT:
        verb = "COMMIT";
        break;
    case OP_XA_COMMIT_ONE_PHASE:
        verb = "COMMIT";
        tail = " ONE PHASE";
        break;
    default:
        verb = "ROLLBACK";
        break;
    }
    return (size_t)snprintf(out, len, "XA %s '%s',X'%s'%s", verb, tx->gtrid,
                            n ? bq : "00", tail);
}

/* Queues the branch's start (the engine's prelude) on its connection. */
static void
send_start(struct branch *br, enum step_op op, struct relay *rl)
{
    char buf[512];
    size_t n;
    uint8_t seq = 0;

    buf[0] = COM_QUERY;
    n = txnbranch_sql(br->tx, br, op, buf + 1, sizeof(buf) - 1);
    if (n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    packet_write(serverconn_output(br->sc), &seq, buf, n + 1);
    relay_start(rl, RELAY_SIMPLE);
}

void
txn_start_branch(struct session *s, struct serverconn *sc, struct relay *rl)
{
    struct txn *tx = s->txn;
    struct branch *br;

    if (tx->nb == tx->cap) {
        /* a shard a reload appended after the transaction began: the idle
         * branches are lent with their address, which moves */
        uint64_t lent = 0;
        for (int i = 0; i < tx->nb && i < 64; i++)
            if (tx->b[i].sc != NULL && tx->b[i].sc->arg == &tx->b[i])
                lent |= 1ull << i;
        tx->cap = MAX(tx->cap * 2, 1);
        tx->b = xrealloc(tx->b, (size_t)tx->cap * sizeof(*tx->b));
        for (int i = 0; i < tx->nb && i < 64; i++)
            if (lent & (1ull << i))
                tx->b[i].sc->arg = &tx->b[i];
    }
    br = &tx->b[tx->nb++];
    memset(br, 0, sizeof(*br));
    br->tx = tx;
    br->shard = sc->srv->shard;
    snprintf(br->name, sizeof(br->name), "%s",
             s->wc->cfg->shards[br->shard].name);
    br->sc = sc;
    br->active = true; /* its statement fails if the start does */
    send_start(br, tx->mode == TXN_XA ? OP_XA_START : OP_BEGIN, rl);
}

void
txn_keep(struct session *s, struct serverconn *sc)
{
    struct branch *br = find(s->txn, sc);

    if (br != NULL)
        txnbranch_idle(br, sc);
}

void
txnbranch_drop(struct branch *br, const char *why)
{
    struct txn *tx = br->tx;
    struct serverconn *sc = br->sc;

    if (sc == NULL)
        return;
    br->sc = NULL;
    if (tx->broken[0] == '\0' && tx->phase == PH_OPEN)
        snprintf(tx->broken, sizeof(tx->broken),
                 "the connection to shard '%s' was lost (%s)", br->name, why);
    else if (tx->phase != PH_OPEN && !br->failed) {
        /* Lost between the steps of the end (while the commit waits, say):
         * the branch did not do what this phase needs. A prepared one is
         * still on its server: after a logged decision the resolver
         * commits it. */
        br->failed = true;
        txnbranch_note_failure(tx, br, "lost its connection");
    }
    log_warn("transaction branch lost gtrid=%s backend=%s reason=\"%s\"",
             tx->gtrid[0] ? tx->gtrid : "-", sc->srv->addr, why);
    pool_discard(sc);
}

void
txn_lose(struct session *s, struct serverconn *sc, const char *why)
{
    struct branch *br = find(s->txn, sc);

    if (br != NULL)
        txnbranch_drop(br, why);
    else
        pool_discard(sc);
}
