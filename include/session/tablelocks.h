/*
 * tablelocks.h - the connections a session keeps because LOCK TABLES took
 * locks on them, on shards other than the one of its held connection
 * (s->sc, which carries the locks of its own shard). A LOCK TABLES that
 * spans shards leaves locks on one connection per shard, as a transaction
 * that spans shards leaves a branch on each; every later statement on
 * those shards runs on them, UNLOCK TABLES goes to all of them and gives
 * them back (reset), and a client that goes away drops them, which ends
 * the locks on the servers.
 */
#ifndef MYSHARD_SESSION_TABLELOCKS_H
#define MYSHARD_SESSION_TABLELOCKS_H

#include <stdbool.h>

struct session;
struct serverconn;

/* The session's lock connection on shard, or NULL. */
struct serverconn *tablelocks_conn(const struct session *s, int shard);
/* True when sc is one of the session's lock connections. */
bool tablelocks_owns(const struct session *s, const struct serverconn *sc);
/* After a statement: keeps sc (a lock connection already, or one that
 * just took locks) between statements, watching it for the server closing
 * it. */
void tablelocks_keep(struct session *s, struct serverconn *sc);
/* After a statement on a lock connection whose shard holds no locks any
 * more (UNLOCK TABLES), or that broke (dirty): out of the set, back to the
 * pool reset, or closed when dirty. */
void tablelocks_release(struct session *s, struct serverconn *sc, bool dirty);
/* release() of a statement's connection sc (held: the session's s->sc):
 * true when the lock set took it (kept, made the held connection, or
 * given back after UNLOCK TABLES); false leaves it to the caller. */
bool tablelocks_settle(struct session *s, struct serverconn *sc, bool held,
                       bool dirty);
/* The client went away or reset its session: every lock connection is
 * closed (the servers drop the locks) and the lock state is cleared. */
void tablelocks_drop_all(struct session *s);

#endif
