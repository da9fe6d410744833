/*
 * health.h - what the proxy knows about each backend server, and how a plan
 * target (shard + role) becomes one concrete server.
 *
 * Three writers publish into struct server's atomics, and workers read them
 * without locks:
 *   - the monitor thread (health_start) checks every server each
 *     backend.health.interval and writes state (online/lagging/down), lag,
 *     read_only, replication running, check time and latency;
 *   - workers report every connect attempt and statement outcome
 *     (health_report), which drives the per-server circuit breaker, and ask
 *     it before using a server (health_admit);
 *   - the operator takes a server offline or drains it (health_set_admin).
 * A server's visible state is the strongest of the three: offline/draining,
 * then circuit_open, then the monitor's verdict (health_state).
 */
#ifndef MYSHARD_BACKEND_HEALTH_H
#define MYSHARD_BACKEND_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/gtidpos.h"
#include "backend/server.h"

struct cfg;
struct cfg_health;

enum server_state {
    SRV_ONLINE = 0,
    SRV_LAGGING,      /* replica too far behind, or replication broken */
    SRV_DOWN,         /* cannot connect or ping */
    SRV_CIRCUIT_OPEN, /* too many consecutive failures; fail fast */
    SRV_OFFLINE,      /* operator: out of service */
    SRV_DRAINING,     /* operator: finish what runs, lend no new work */
};

enum health_gate {
    GATE_OPEN,   /* use the server */
    GATE_PROBE,  /* half-open: this caller carries the one probe; it must
                    health_report the outcome */
    GATE_CLOSED, /* circuit open: fail fast with 9003 */
};

/* One line of SHOW BACKENDS. Strings point into the server set or are
 * constants; they stay valid while the set lives. */
struct health_row {
    const char *addr;
    int shard;         /* index into cfg.shards */
    const char *role;  /* "primary" | "replica" */
    const char *state; /* health_state_name of health_state */
    const char *zone;  /* "" when none */
    int weight;
    int64_t lag_ms; /* -1 unknown (primaries: always -1) */
    bool read_only;
    bool repl_running;
    int conns; /* open connections, all workers */
    long long queries;
    long long errors;
    int failures;           /* consecutive, the circuit breaker's count */
    int64_t avg_latency_us; /* monitor checks' moving average; 0 none yet */
    int64_t checked_ago_ms; /* since the last check; -1 never checked */
    /* Replication positions (backend/gtidpos.h) as GTID lists, "" none:
     * replicas: what it applied (gtid_slave_pos, or a wait's answer);
     * primaries: what it wrote (gtid_binlog_pos) at the last check. */
    char gtid_pos[128];
    char gtid_acked[128]; /* primaries: the shard's latest write the proxy
                             acknowledged; "" on replicas */
    struct gtid gpos[GTID_SLOTS]; /* gtid_pos, one per domain */
    int ngpos;
    struct gtid gacked[GTID_SLOTS]; /* gtid_acked, one per domain */
    int ngacked;
    long long gtid_waits;    /* MASTER_GTID_WAITs before reads, in time */
    long long gtid_timeouts; /* ... timed out (the primary answered) */
};

struct health; /* the monitor thread */

/*
 * Starts the monitor thread over set. It keeps one libmysqlclient connection
 * per server (backend.user/password, timeouts of min(health.interval,
 * backend.connect_timeout) rounded up to whole seconds, at least 1 s) and
 * every health.interval checks the servers one after another: ping
 * (reconnecting once when the connection broke), SELECT @@read_only, and on
 * replicas SHOW SLAVE STATUS (SHOW REPLICA STATUS where the former is
 * unknown). Verdicts: down when it cannot connect or ping; a replica is
 * lagging when its lag exceeds max_replica_lag or its replication is not
 * running (Seconds_Behind_Master NULL, a thread not "Yes", not a replica),
 * except while its IO thread only retries ("Connecting") a primary this
 * monitor sees down: then it stays online at its last known lag, so reads
 * survive a dead primary. A dead server costs a round at most its timeouts, so
 * a round takes interval + (number of dead servers) * timeout at worst. The
 * first round starts at once. Settings are copied: cfg may be released after
 * the call; set must outlive health_stop. Returns NULL when the thread cannot
 * be created.
 */
struct health *health_start(struct server_set *set, const struct cfg *cfg);
/* A reload: the monitor takes cfg's backend.user/password/tls,
 * connect_timeout and health interval/max_replica_lag (copied now) at the
 * start of its next round, which starts at once; its connections are
 * reopened when the credentials, TLS or timeouts changed. From any thread;
 * NULL h is a no-op. */
void health_set_cfg(struct health *h, const struct cfg *cfg);
/* Stops the monitor (within one check's timeout), closes its connections
 * and frees h. NULL is a no-op. */
void health_stop(struct health *h);

/*
 * Circuit breaker input, from any thread: one call per connect attempt or
 * statement outcome on s (ok false: could not connect, connection lost,
 * timeout; a SQL error the server returned is a success for the breaker).
 * Success resets the consecutive failures and closes a half-open circuit;
 * a failure counts, and the h->circuit_failures-th in a row opens the
 * circuit until now_ms + h->circuit_open_for_ms. A failed probe re-opens it.
 */
void health_report(struct server *s, bool ok, const struct cfg_health *h,
                   int64_t now_ms);
/* health_report(s, true, ...), reading the clock only when a circuit is
 * open (a statement's success is reported on every statement). */
void health_report_ok(struct server *s);
/*
 * Circuit breaker gate, from any thread, before using s. Once open_for has
 * elapsed exactly one caller gets GATE_PROBE (atomic compare-and-swap); the
 * others get GATE_CLOSED until that probe is reported, or until another
 * open_for passes without a report (then the next caller probes).
 */
enum health_gate health_admit(struct server *s, int64_t now_ms);

/*
 * Operator override: SRV_OFFLINE, SRV_DRAINING, or SRV_ONLINE to lift it.
 * Returns false (and changes nothing) for any other state.
 */
bool health_set_admin(struct server *s, enum server_state st);

/* The state to show and to pick by: offline/draining, else circuit_open
 * while the circuit is open or half-open, else the monitor's verdict. */
enum server_state health_state(const struct server *s, int64_t now_ms);
/* "online", "lagging", "down", "circuit_open", "offline", "draining";
 * "unknown" for values outside the enum. */
const char *health_state_name(enum server_state st);

/*
 * Picks the server for a plan target. Returns an index into set->v, or -1.
 * Writes (read false): the shard's primary when it is admitted (not down,
 * offline or draining; circuit closed or due for its half-open probe).
 * Reads: a replica of the shard that is online (not lagging, down, offline,
 * draining, circuit open or half-open) with known lag <= max_replica_lag and
 * weight > 0; those in proxy_zone first when proxy_zone is non-NULL and one
 * qualifies; weighted-random among them by seed (same seed, same state, same
 * answer). No such replica: the primary if admitted. exclude (-1 for none)
 * is never returned: a retry passes the server that just failed.
 * Does not take the probe: call health_admit on the answer.
 */
int health_pick(const struct server_set *set, const struct cfg *cfg, int shard,
                bool read, const char *proxy_zone, uint32_t seed, int exclude,
                int64_t now_ms);

/* The error a session returns when health_pick gave -1 for a shard whose
 * primary is s: 9003 (circuit open) when s's circuit is open, else 9001
 * (no backend available). */
int health_error_for(const struct server *s);

/* Fills rows[0 .. min(n, set->n)) with each server's line, in set order. */
void health_snapshot(const struct server_set *set, struct health_row *rows,
                     int n);

#endif
