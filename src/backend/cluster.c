/*
 * cluster.c - see cluster.h. One thread owns two Redis connections: `cmd`
 * (PUBLISH, acks, heartbeats; blocking calls bounded by a 1 s timeout) and
 * `sub` (SUBSCRIBE to the invalidations and to this instance's acks, and a
 * PING every CLUSTER_PING_MS whose PONG renews the lease). Workers hand it
 * writes through a queue and a pipe; it hands the releases back with
 * worker_call. Everything the workers read (the lease, the counters) is an
 * atomic; the SHOW CLUSTER rows sit under a mutex the admin thread takes.
 */
#include "backend/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "backend/clusterlimit.h"
#include "backend/clustermsg.h"
#include "base/clock.h"
#include "base/crc32.h"
#include "base/log.h"
#include "base/ratelimit.h"
#include "base/util.h"
#include "build_config.h"
#include "cfg/cfg_types.h"
#include "net/worker.h"

#define INVAL_CHANNEL "myshard:invalidate"
#define ACK_PREFIX    "myshard:ack:"
#define BEAT_PREFIX   "myshard:instance:"
#define REGISTRY      "myshard:instances" /* set of instance ids */
#define RETRY_MS      1000
#define PINGS_MAX     64

struct cluster_ticket {
    struct worker *w; /* (ref) where done runs */
    cluster_done_fn done;
    void *arg;
    bool cancelled; /* touched on w's thread only */
    bool all;
    int n;
    uint32_t slots[CLUSTER_MAX_SLOTS];
    uint64_t seq;
    long long expect, got; /* acks */
    int64_t deadline_ms;
    int64_t start_us; /* when the worker began holding the OK */
    struct cluster_ticket *next;
};

static struct {
    atomic_bool enabled; /* read by workers on every cache lookup */
    bool running;
    pthread_t tid;
    atomic_bool stop;
    int wake[2]; /* pipe: a write was queued, or stop */
    struct cluster_hooks hooks;
    char host[64];
    int port;
    char redis[80];
    char id[CLUSTER_ID_LEN + 1];
    char name[72];
    char addr[72];
    _Atomic unsigned generation;
    _Atomic uint32_t cfg_hash;
    _Atomic int64_t serve_until_ms; /* clock_ms; 0 = do not serve */
    atomic_bool up;
    _Atomic unsigned long long reconnects, published, received, ack_timeouts,
        write_failures, wait_us;

    pthread_mutex_t lock; /* the queue, rows and error below */
    struct cluster_ticket *queue, **qtail;
    struct cluster_row *rows;
    int nrows;
    char error[128];
} g = {.wake = {-1, -1}, .lock = PTHREAD_MUTEX_INITIALIZER};

/* The cluster thread's own state. */
struct cthread {
    redisContext *cmd, *sub;
    struct cluster_ticket *pending; /* published, waiting for acks */
    uint64_t seq;
    int64_t pings[PINGS_MAX]; /* send times of PINGs not answered yet */
    int ping_head, nping;
    int64_t last_ping_ms, last_beat_ms, next_connect_ms;
    bool ever_up;     /* subscribed once: later subscriptions reconnect */
    bool down_logged; /* this outage is in the log */
    bool missed;      /* a write went unpublished: announce "every table" */
};

/* --- tickets ------------------------------------------------------------ */

static void
ticket_done(struct worker *w, void *arg)
{
    struct cluster_ticket *t = arg;

    (void)w;
    if (!t->cancelled && t->done)
        t->done(t->arg);
    free(t);
}

static void
finish(struct cluster_ticket *t)
{
    atomic_fetch_add(&g.wait_us,
                     (unsigned long long)(clock_us() - t->start_us));
    worker_call(t->w, ticket_done, t);
}

struct cluster_ticket *
cluster_publish(struct worker *w, const uint32_t *slots, int n, bool all,
                cluster_done_fn done, void *arg)
{
    struct cluster_ticket *t;

    if (!atomic_load(&g.enabled))
        return NULL;
    t = xcalloc(1, sizeof(*t));
    t->w = w;
    t->done = done;
    t->arg = arg;
    t->all = all || n > CLUSTER_MAX_SLOTS || n < 0;
    if (!t->all) {
        t->n = n;
        memcpy(t->slots, slots, (size_t)n * sizeof(*slots));
    }
    t->start_us = clock_us();
    pthread_mutex_lock(&g.lock);
    *g.qtail = t;
    g.qtail = &t->next;
    pthread_mutex_unlock(&g.lock);
    if (write(g.wake[1], "w", 1) < 0 && errno != EAGAIN)
        log_warn("cluster: wake-up failed: %s", strerror(errno));
    return t;
}

void
cluster_cancel(struct cluster_ticket *t)
{
    if (t != NULL)
        t->cancelled = true;
}

/* --- state ------------------------------------------------------------- */

bool
cluster_enabled(void)
{
    return atomic_load_explicit(&g.enabled, memory_order_relaxed);
}

bool
cluster_cache_ok(int64_t now_ms)
{
    return !cluster_enabled() || now_ms < atomic_load(&g.serve_until_ms);
}

void
cluster_set_config(unsigned generation, uint32_t cfg_hash)
{
    atomic_store(&g.generation, generation);
    atomic_store(&g.cfg_hash, cfg_hash);
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
self_row(struct cluster_row *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", g.name);
    snprintf(r->addr, sizeof(r->addr), "%s", g.addr);
    snprintf(r->version, sizeof(r->version), "%s", MYSHARD_VERSION);
    r->generation = atomic_load(&g.generation);
    r->cfg_hash = atomic_load(&g.cfg_hash);
    r->self = true;
}

static void
set_rows(struct cluster_row *rows, int n, const char *error)
{
    pthread_mutex_lock(&g.lock);
    free(g.rows);
    g.rows = rows;
    g.nrows = n;
    if (error)
        snprintf(g.error, sizeof(g.error), "%s", error);
    pthread_mutex_unlock(&g.lock);
}

int
cluster_show(struct cluster_row **rows, struct cluster_state *st)
{
    int n;

    memset(st, 0, sizeof(*st));
    *rows = NULL;
    st->enabled = cluster_enabled();
    if (!st->enabled)
        return 0;
    st->redis_up = atomic_load(&g.up);
    snprintf(st->redis, sizeof(st->redis), "%s", g.redis);
    st->cfg_hash = atomic_load(&g.cfg_hash);
    st->generation = atomic_load(&g.generation);
    st->reconnects = atomic_load(&g.reconnects);
    st->published = atomic_load(&g.published);
    st->received = atomic_load(&g.received);
    st->ack_timeouts = atomic_load(&g.ack_timeouts);
    st->write_failures = atomic_load(&g.write_failures);
    st->wait_seconds = (double)atomic_load(&g.wait_us) / 1e6;
    st->limits_shared = ratelimit_cluster_shared();
    st->limit_instances = ratelimit_cluster_instances();
    st->shared_limits = ratelimit_shared_count();
    pthread_mutex_lock(&g.lock);
    n = g.nrows;
    if (n > 0) {
        *rows = xmalloc((size_t)n * sizeof(**rows));
        memcpy(*rows, g.rows, (size_t)n * sizeof(**rows));
    }
    snprintf(st->error, sizeof(st->error), "%s", st->redis_up ? "" : g.error);
    pthread_mutex_unlock(&g.lock);
    for (int i = 0; i < n; i++)
        if ((*rows)[i].self) { /* this one's config is always current */
            (*rows)[i].generation = st->generation;
            (*rows)[i].cfg_hash = st->cfg_hash;
        } else {
            (*rows)[i].differs = (*rows)[i].cfg_hash != st->cfg_hash;
        }
    return n;
}

/* --- the thread ---------------------------------------------------------- */

static void
free_ctx(redisContext **c)
{
    if (*c)
        redisFree(*c);
    *c = NULL;
}

/* Redis is gone, or a connection is: nothing cached may be served, since
 * an invalidation may be missed from now on. */
static void
go_down(struct cthread *t, const char *reason)
{
    char why[128]; /* reason may be a context's errstr, freed below */
    bool was_up = atomic_exchange(&g.up, false);
    struct cluster_row *self = xmalloc(sizeof(*self));

    snprintf(why, sizeof(why), "%s", reason);
    atomic_store(&g.serve_until_ms, 0);
    g.hooks.flush();
    free_ctx(&t->cmd);
    free_ctx(&t->sub);
    t->nping = 0;
    /* Writes published but not acknowledged keep their OK until their
     * deadline: an instance that got the message late must have lost its
     * lease by then. */
    self_row(self);
    set_rows(self, 1, why);
    ratelimit_cluster_set(false, ratelimit_cluster_instances());
    if (was_up || !t->down_logged)
        log_warn("cluster: redis %s unreachable (%s): cache flushed and off "
                 "until it is back",
                 g.redis, why);
    if ((was_up || !t->down_logged) && ratelimit_shared_count() > 0)
        log_warn("cluster: rate limits: this instance enforces its share, "
                 "1/%d of each limit (the instances last seen), until "
                 "redis is back",
                 ratelimit_cluster_instances());
    t->down_logged = true; /* once per outage */
    t->next_connect_ms = clock_ms() + RETRY_MS;
}

static bool
write_all(redisContext *c)
{
    int done = 0;

    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return false;
    return true;
}

static void send_ping(struct cthread *t);
static bool publish_msg(struct cthread *t, const struct cluster_inval *m,
                        long long *receivers);

static redisContext *
connect_one(char *why, size_t len)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout(g.host, g.port, tv);

    if (c == NULL || c->err) {
        snprintf(why, len, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(why, len, "cannot set a timeout");
        redisFree(c);
        return NULL;
    }
    return c;
}

static void
try_connect(struct cthread *t)
{
    char why[128] = "";
    redisReply *r = NULL;
    bool first = !t->ever_up;

    t->cmd = connect_one(why, sizeof(why));
    if (t->cmd)
        t->sub = connect_one(why, sizeof(why));
    if (t->sub == NULL)
        goto fail;
    if (redisAppendCommand(t->sub, "SUBSCRIBE %s %s%s", INVAL_CHANNEL,
                           ACK_PREFIX, g.id) != REDIS_OK ||
        !write_all(t->sub))
        goto fail_ctx;
    for (int i = 0; i < 2; i++) {
        if (redisGetReply(t->sub, (void **)&r) != REDIS_OK || r == NULL ||
            r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            strcmp(r->element[0]->str ? r->element[0]->str : "", "subscribe") !=
                0) {
            snprintf(why, sizeof(why), "SUBSCRIBE refused");
            if (r)
                freeReplyObject(r);
            goto fail_ctx;
        }
        freeReplyObject(r);
    }
    /* Whatever was cached while the subscription was not there may have
     * missed an invalidation. */
    g.hooks.flush();
    atomic_store(&g.up, true);
    ratelimit_cluster_set(true, ratelimit_cluster_instances());
    if (!first)
        atomic_fetch_add(&g.reconnects, 1);
    if (ratelimit_shared_count() > 0)
        log_info("cluster: rate limits count across the instances "
                 "through redis %s",
                 g.redis);
    log_info("cluster: subscribed to redis %s as %s (id %s)%s", g.redis, g.name,
             g.id, first ? "" : ": caching resumes");
    t->ever_up = true;
    t->down_logged = false;
    if (t->missed) {
        struct cluster_inval m = {.seq = ++t->seq, .all = true};
        long long k;
        snprintf(m.origin, sizeof(m.origin), "%s", g.id);
        if (!publish_msg(t, &m, &k))
            return;
        t->missed = false;
    }
    t->last_beat_ms = 0; /* a heartbeat at once */
    send_ping(t);
    return;
fail_ctx:
    if (why[0] == '\0' && t->sub && t->sub->err)
        snprintf(why, sizeof(why), "%s", t->sub->errstr);
fail:
    go_down(t, why);
}

static void
send_ping(struct cthread *t)
{
    int64_t now = clock_ms();

    t->last_ping_ms = now;
    if (t->nping == PINGS_MAX) {
        go_down(t, "no answer to PING");
        return;
    }
    if (redisAppendCommand(t->sub, "PING") != REDIS_OK || !write_all(t->sub)) {
        go_down(t, t->sub->errstr[0] ? t->sub->errstr : "PING failed");
        return;
    }
    t->pings[(t->ping_head + t->nping) % PINGS_MAX] = now;
    t->nping++;
}

/* PUBLISH on cmd; *receivers: how many subscribers got it (this one too). */
static bool
publish_msg(struct cthread *t, const struct cluster_inval *m,
            long long *receivers)
{
    char buf[CLUSTER_MSG_MAX];
    size_t len = clustermsg_inval_encode(m, buf, sizeof(buf));
    redisReply *r;

    if (len == 0) { /* cannot happen for our own ids; say every table */
        struct cluster_inval all = *m;
        all.all = true;
        len = clustermsg_inval_encode(&all, buf, sizeof(buf));
    }
    r = redisCommand(t->cmd, "PUBLISH %s %b", INVAL_CHANNEL, buf, len);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        char why[128];
        snprintf(why, sizeof(why), "PUBLISH failed: %.100s",
                 r ? (r->str ? r->str : "bad reply") : t->cmd->errstr);
        if (r)
            freeReplyObject(r);
        t->missed = true;
        go_down(t, why);
        return false;
    }
    *receivers = r->integer;
    freeReplyObject(r);
    atomic_fetch_add(&g.published, 1);
    return true;
}

static void
publish(struct cthread *t, struct cluster_ticket *p)
{
    struct cluster_inval m = {.seq = ++t->seq, .all = p->all, .n = p->n};
    long long k;

    snprintf(m.origin, sizeof(m.origin), "%s", g.id);
    memcpy(m.slots, p->slots, sizeof(m.slots));
    p->seq = m.seq;
    if (t->cmd == NULL) {
        t->missed = true;
        atomic_fetch_add(&g.write_failures, 1);
        finish(p);
        return;
    }
    if (!publish_msg(t, &m, &k)) {
        atomic_fetch_add(&g.write_failures, 1);
        finish(p);
        return;
    }
    p->expect = k - 1; /* our own subscription counts */
    if (p->expect <= 0) {
        finish(p);
        return;
    }
    p->deadline_ms = clock_ms() + CLUSTER_ACK_WAIT_MS;
    p->next = t->pending;
    t->pending = p;
}

static void
on_ack(struct cthread *t, const char *s, size_t len)
{
    char num[24];
    uint64_t seq;

    if (len == 0 || len >= sizeof(num))
        return;
    memcpy(num, s, len);
    num[len] = '\0';
    seq = strtoull(num, NULL, 10);
    for (struct cluster_ticket **pp = &t->pending; *pp; pp = &(*pp)->next)
        if ((*pp)->seq == seq) {
            struct cluster_ticket *p = *pp;
            if (++p->got >= p->expect) {
                *pp = p->next;
                finish(p);
            }
            return;
        }
}

static void
on_invalidation(struct cthread *t, const char *s, size_t len)
{
    struct cluster_inval m;
    redisReply *r;

    if (!clustermsg_inval_decode(s, len, &m)) {
        log_warn("cluster: unreadable invalidation (%.*s): every entry "
                 "dropped",
                 (int)(len > 80 ? 80 : len), s);
        g.hooks.flush();
        return;
    }
    if (strcmp(m.origin, g.id) == 0)
        return; /* our own write, already applied */
    if (m.all)
        g.hooks.flush();
    else
        g.hooks.invalidate(m.slots, m.n);
    atomic_fetch_add(&g.received, 1);
    r = redisCommand(t->cmd, "PUBLISH %s%s %" PRIu64, ACK_PREFIX, m.origin,
                     m.seq);
    if (r == NULL) {
        go_down(t, t->cmd->errstr);
        return;
    }
    freeReplyObject(r);
}

static void
on_sub_reply(struct cthread *t, redisReply *r)
{
    const char *kind;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    kind = r->element[0]->str;
    if (strcmp(kind, "pong") == 0 && t->nping > 0) {
        int64_t sent = t->pings[t->ping_head];
        t->ping_head = (t->ping_head + 1) % PINGS_MAX;
        t->nping--;
        if (sent + CLUSTER_LEASE_MS > atomic_load(&g.serve_until_ms))
            atomic_store(&g.serve_until_ms, sent + CLUSTER_LEASE_MS);
        return;
    }
    if (strcmp(kind, "message") != 0 || r->elements < 3 ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(r->element[1]->str, INVAL_CHANNEL) == 0)
        on_invalidation(t, r->element[2]->str, r->element[2]->len);
    else
        on_ack(t, r->element[2]->str, r->element[2]->len);
}

static void
read_sub(struct cthread *t)
{
    void *reply = NULL;

    if (redisBufferRead(t->sub) != REDIS_OK) {
        go_down(t, t->sub->errstr[0] ? t->sub->errstr : "connection lost");
        return;
    }
    while (t->sub != NULL) {
        if (redisGetReplyFromReader(t->sub, &reply) != REDIS_OK) {
            go_down(t, "bad reply on the subscription");
            return;
        }
        if (reply == NULL)
            return;
        on_sub_reply(t, reply);
        freeReplyObject(reply);
    }
}

/* Our heartbeat, then the live instances for SHOW CLUSTER. */
static void
beat(struct cthread *t)
{
    struct cluster_beat b = {0};
    char buf[CLUSTER_MSG_MAX];
    size_t len;
    redisReply *r;
    struct cluster_row *rows = NULL;
    int n = 0, cap = 0;
    int64_t now = wall_ms();

    t->last_beat_ms = clock_ms();
    snprintf(b.id, sizeof(b.id), "%s", g.id);
    snprintf(b.name, sizeof(b.name), "%s", g.name);
    snprintf(b.addr, sizeof(b.addr), "%s", g.addr);
    snprintf(b.version, sizeof(b.version), "%s", MYSHARD_VERSION);
    b.generation = atomic_load(&g.generation);
    b.cfg_hash = atomic_load(&g.cfg_hash);
    b.ts_ms = now;
    len = clustermsg_beat_encode(&b, buf, sizeof(buf));
    r = redisCommand(t->cmd, "SET %s%s %b PX %d", BEAT_PREFIX, g.id, buf, len,
                     CLUSTER_BEAT_TTL_MS);
    if (r == NULL)
        goto down;
    freeReplyObject(r);
    r = redisCommand(t->cmd, "SADD %s %s", REGISTRY, g.id);
    if (r == NULL)
        goto down;
    freeReplyObject(r);
    /* The registry names the instances; an id whose heartbeat key has
     * expired is gone (and leaves the registry). */
    r = redisCommand(t->cmd, "SMEMBERS %s", REGISTRY);
    if (r == NULL)
        goto down;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *id = r->element[i]->str;
        redisReply *v;
        struct cluster_beat o;

        if (id == NULL)
            continue;
        v = redisCommand(t->cmd, "GET %s%s", BEAT_PREFIX, id);
        if (v == NULL) {
            freeReplyObject(r);
            goto down;
        }
        if (v->type == REDIS_REPLY_NIL) {
            redisReply *x = redisCommand(t->cmd, "SREM %s %s", REGISTRY, id);
            if (x)
                freeReplyObject(x);
        } else if (v->type == REDIS_REPLY_STRING &&
                   clustermsg_beat_decode(v->str, v->len, &o)) {
            struct cluster_row *w;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                rows = xrealloc(rows, (size_t)cap * sizeof(*rows));
            }
            w = &rows[n++];
            memset(w, 0, sizeof(*w));
            memcpy(w->name, o.name, sizeof(w->name));
            memcpy(w->addr, o.addr, sizeof(w->addr));
            memcpy(w->version, o.version, sizeof(w->version));
            w->generation = o.generation;
            w->cfg_hash = o.cfg_hash;
            w->age_ms = now > o.ts_ms ? now - o.ts_ms : 0;
            w->self = strcmp(o.id, g.id) == 0;
        }
        freeReplyObject(v);
    }
    freeReplyObject(r);
    set_rows(rows, n, "");
    ratelimit_cluster_set(atomic_load(&g.up), n);
    return;
down:
    free(rows);
    go_down(t, t->cmd && t->cmd->errstr[0] ? t->cmd->errstr : "no answer");
}

static void *
cluster_main(void *arg)
{
    struct cthread t = {0};
    char drain[64];

    (void)arg;
    log_set_thread_name("cluster");
    while (!atomic_load(&g.stop)) {
        int64_t now = clock_ms();
        struct pollfd pf[2] = {{g.wake[0], POLLIN, 0}, {-1, POLLIN, 0}};
        struct cluster_ticket *q;

        if (t.sub == NULL && now >= t.next_connect_ms)
            try_connect(&t);
        if (t.sub)
            pf[1].fd = t.sub->fd;
        /* shared rate limits renew their leases every few ms */
        if (poll(pf, 2, ratelimit_shared_count() > 0 ? 5 : 20) < 0 &&
            errno != EINTR)
            break;
        if (pf[0].revents & POLLIN)
            while (read(g.wake[0], drain, sizeof(drain)) > 0)
                ;
        pthread_mutex_lock(&g.lock);
        q = g.queue;
        g.queue = NULL;
        g.qtail = &g.queue;
        pthread_mutex_unlock(&g.lock);
        while (q) {
            struct cluster_ticket *p = q;
            q = q->next;
            p->next = NULL;
            publish(&t, p);
        }
        if (t.sub && (pf[1].revents & (POLLIN | POLLERR | POLLHUP)))
            read_sub(&t);
        if (t.cmd) {
            char why[128];
            if (!clusterlimit_refresh(t.cmd, why, sizeof(why)))
                go_down(&t, why);
        }
        now = clock_ms();
        if (t.sub && now - t.last_ping_ms >= CLUSTER_PING_MS)
            send_ping(&t);
        if (t.sub && t.nping > 0 && now - t.pings[t.ping_head] > 3000)
            go_down(&t, "no answer to PING for 3 s");
        if (t.cmd && now - t.last_beat_ms >= CLUSTER_BEAT_MS)
            beat(&t);
        for (struct cluster_ticket **pp = &t.pending; *pp;) {
            struct cluster_ticket *p = *pp;
            if (now >= p->deadline_ms) {
                *pp = p->next;
                atomic_fetch_add(&g.ack_timeouts, 1);
                finish(p);
            } else {
                pp = &p->next;
            }
        }
    }
    /* stopping: release every held write */
    pthread_mutex_lock(&g.lock);
    for (struct cluster_ticket *p = g.queue, *nx; p; p = nx) {
        nx = p->next;
        finish(p);
    }
    g.queue = NULL;
    g.qtail = &g.queue;
    pthread_mutex_unlock(&g.lock);
    while (t.pending) {
        struct cluster_ticket *p = t.pending;
        t.pending = p->next;
        finish(p);
    }
    free_ctx(&t.cmd);
    free_ctx(&t.sub);
    return NULL;
}

/* A worker's lease ran out: renew it now rather than at the next poll. */
static void
wake_limits(void)
{
    if (write(g.wake[1], "l", 1) < 0 && errno != EAGAIN)
        log_warn("cluster: wake-up failed: %s", strerror(errno));
}

uint32_t
cluster_config_hash(const struct cfg *c)
{
    const char *own[] = {c->listen.text, c->admin.listen.text,
                         c->admin.http.text, c->cluster.name};
    const char *p = c->text ? c->text : "";
    uint32_t h = 0;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        bool skip = false;
        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]) && !skip; i++)
            if (own[i] && own[i][0]) {
                size_t ol = strlen(own[i]);
                for (const char *q = p; q + ol <= p + n && !skip; q++)
                    skip = memcmp(q, own[i], ol) == 0;
            }
        if (!skip)
            h = crc32_ieee(p, n) ^ (h * 31u + 7u);
        p += n;
    }
    return h;
}

bool
cluster_start(const struct cfg *c, unsigned generation, uint32_t cfg_hash,
              const struct cluster_hooks *hooks, char *err, size_t len)
{
    uint8_t rnd[CLUSTER_ID_LEN / 2];
    struct cluster_row *self;

    if (c->cluster.redis.text == NULL)
        return true;
    g.hooks = *hooks;
    snprintf(g.host, sizeof(g.host), "%s", c->cluster.redis.host);
    g.port = c->cluster.redis.port;
    snprintf(g.redis, sizeof(g.redis), "%s", c->cluster.redis.text);
    snprintf(g.name, sizeof(g.name), "%s",
             c->cluster.name ? c->cluster.name : c->listen.text);
    snprintf(g.addr, sizeof(g.addr), "%s", c->listen.text);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        snprintf(err, len, "cluster: no random instance id: %s",
                 strerror(errno));
        return false;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(g.id + 2 * i, 3, "%02x", rnd[i]);
    cluster_set_config(generation, cfg_hash);
    g.queue = NULL;
    g.qtail = &g.queue;
    if (pipe2(g.wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, len, "cluster: pipe: %s", strerror(errno));
        return false;
    }
    self = xmalloc(sizeof(*self));
    self_row(self);
    set_rows(self, 1, "connecting");
    atomic_store(&g.enabled, true);
    atomic_store(&g.stop, false);
    ratelimit_cluster_set(false, 1);
    ratelimit_set_wake(wake_limits);
    if (pthread_create(&g.tid, NULL, cluster_main, NULL) != 0) {
        snprintf(err, len, "cluster: cannot start its thread");
        atomic_store(&g.enabled, false);
        return false;
    }
    g.running = true;
    return true;
}

void
cluster_stop(void)
{
    if (!g.running)
        return;
    atomic_store(&g.stop, true);
    if (write(g.wake[1], "s", 1) < 0 && errno != EAGAIN)
        log_warn("cluster: wake-up failed: %s", strerror(errno));
    pthread_join(g.tid, NULL);
    g.running = false;
    close(g.wake[0]);
    close(g.wake[1]);
    g.wake[0] = g.wake[1] = -1;
    set_rows(NULL, 0, NULL);
}
