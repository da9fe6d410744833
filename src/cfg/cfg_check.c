/*
 * cfg_check.c - owns validation that one key table cannot express: rules
 * whose keys depend on their type, slot maps that must cover every slot
 * exactly once, range lists without gaps or overlaps, tables that are either
 * sharded or global, users and policies that name other entries, and
 * duplicate names. Each problem is reported at the node that causes it, and
 * checking continues so that one run shows everything.
 */
#include "cfg/cfg_check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/units.h"
#include "cfg/cfg.h"

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>

/* Reports at a stored mark rather than a live node. */
static void error_at(struct cfg_bind *b, struct cfg_mark m, const char *hint,
                     const char *fmt, ...) PRINTF_FMT(4, 5);

static void
error_at(struct cfg_bind *b, struct cfg_mark m, const char *hint,
         const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cfg_bind_report(b, DIAG_ERROR, m.line, m.col, hint, "%s", msg);
}

static bool
given(const struct yamldoc_node *map, const char *key)
{
    return !yamldoc_is_null(yamldoc_get(map, key));
}

/* --- custom binders ---------------------------------------------------- */

void
cfg_check_workers(struct cfg_bind *b, const struct cfg_key *k,
                  const struct yamldoc_node *n, void *obj)
{
    int *w = (int *)((char *)obj + k->offset);
    char *end;
    long v;

    if (n->kind == YAMLDOC_SCALAR && strcmp(n->str, "auto") == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        *w = cpus > 0 ? (int)MIN(cpus, 1024) : 1;
        return;
    }
    if (n->kind == YAMLDOC_SCALAR) {
        v = strtol(n->str, &end, 10);
        if (n->str[0] != '\0' && *end == '\0') {
            if (v >= 1 && v <= 1024) {
                *w = (int)v;
                return;
            }
            cfg_bind_error(b, n, NULL,
                           "'workers' must be between 1 and 1024, not %s",
                           n->str);
            return;
        }
    }
    if (n->kind == YAMLDOC_SCALAR)
        cfg_bind_error(b, n, NULL,
                       "'workers' must be an integer or 'auto', not '%s'",
                       n->str);
    else
        cfg_bind_error(b, n, NULL,
                       "'workers' must be an integer or 'auto', not %s",
                       yamldoc_kind_name(n));
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* "*" + 40 hex digits, as mysql.user stores mysql_native_password; kept
 * as the 20 raw bytes the auth module compares against. */
static bool
parse_password_hash(struct cfg_bind *b, const struct cfg_key *k,
                    const struct yamldoc_node *n, uint8_t hash[20])
{
    bool ok = n->kind == YAMLDOC_SCALAR && n->len == 41 && n->str[0] == '*';

    for (size_t i = 0; ok && i < 20; i++) {
        int hi = hexval((unsigned char)n->str[1 + 2 * i]);
        int lo = hexval((unsigned char)n->str[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            ok = false;
        else
            hash[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!ok) {
        cfg_bind_error(b, n, "as in mysql.user, e.g. SELECT PASSWORD('...')",
                       "'%s' must be '*' followed by 40 hex digits", k->name);
        memset(hash, 0, 20);
    }
    return ok;
}

void
cfg_check_password_hash(struct cfg_bind *b, const struct cfg_key *k,
                        const struct yamldoc_node *n, void *obj)
{
    struct cfg_user *u = obj;

    u->has_hash = parse_password_hash(b, k, n, u->hash);
}

void
cfg_check_admin_password_hash(struct cfg_bind *b, const struct cfg_key *k,
                              const struct yamldoc_node *n, void *obj)
{
    struct cfg_admin *a = obj;

    a->has_hash = parse_password_hash(b, k, n, a->hash);
}

/* --- sections ---------------------------------------------------------- */

static const struct {
    const char *key;
    enum cfg_rl_algo algos[2];
    const char *users;
} rl_keys[] = {
    {"burst", {RL_TOKEN_BUCKET, RL_TOKEN_BUCKET}, "token_bucket"},
    {"max_wait", {RL_LEAKY_BUCKET, RL_LEAKY_BUCKET}, "leaky_bucket"},
    {"window",
     {RL_SLIDING_WINDOW, RL_FIXED_WINDOW},
     "sliding_window and fixed_window"},
};

void
cfg_check_rate_limit(struct cfg_bind *b, const struct yamldoc_node *map,
                     void *obj)
{
    struct cfg_rate_limit *rl = obj;
    char hint[96];

    if (map == NULL) {
        rl->algo = RL_NONE;
        return;
    }
    if (!given(map, "algorithm"))
        rl->algo = RL_TOKEN_BUCKET;
    /* A key of another algorithm is almost always a wrong algorithm name
     * or a copy-paste slip; silently ignoring it would hide that. */
    for (size_t i = 0; i < ARRAY_SIZE(rl_keys); i++) {
        const struct yamldoc_node *n = yamldoc_get(map, rl_keys[i].key);
        if (yamldoc_is_null(n) || rl->algo == rl_keys[i].algos[0] ||
            rl->algo == rl_keys[i].algos[1])
            continue;
        snprintf(hint, sizeof(hint), "it is used by %s", rl_keys[i].users);
        cfg_bind_error(b, n, hint, "'%s' does not apply to this algorithm",
                       rl_keys[i].key);
    }
    if (!given(map, "burst"))
        rl->burst = rl->rate < 1 ? 1 : (int64_t)(rl->rate + 0.999999);
}

/* Where key was written in map (the map itself when absent): the
 * certificate loader (net/tls.c) names it when a file is bad. */
static void
mark_of(const struct yamldoc_node *map, const char *key, struct cfg_mark *m)
{
    const struct yamldoc_node *n = map ? yamldoc_get(map, key) : NULL;

    if (n == NULL)
        n = map;
    m->line = n ? n->line : 0;
    m->col = n ? n->col : 0;
}

void
cfg_check_tls(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_tls *t = obj;

    t->enabled = map != NULL;
    mark_of(map, "cert", &t->cert_mark);
    mark_of(map, "key", &t->key_mark);
    mark_of(map, "ca", &t->ca_mark);
}

void
cfg_check_backend_tls(struct cfg_bind *b, const struct yamldoc_node *map,
                      void *obj)
{
    struct cfg_backend_tls *t = obj;

    mark_of(map, "ca", &t->ca_mark);
}

/* SHA1(SHA1(pw)), what a mysql_native_password hash holds. */
static void
sha1_sha1(const char *pw, uint8_t out[20])
{
    uint8_t stage1[20];
    unsigned n;

    EVP_Digest(pw, strlen(pw), stage1, &n, EVP_sha1(), NULL);
    EVP_Digest(stage1, sizeof(stage1), out, &n, EVP_sha1(), NULL);
}

/* The example's password is the first one tried: refused, like a
 * password_hash of it. Neither key given leaves the console closed. */
void
cfg_check_cluster(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_cluster *cl = obj;

    if (map == NULL)
        return;
    if (!given(map, "redis")) {
        cfg_bind_error(b, map, "e.g. cluster: { redis: 127.0.0.1:6379 }",
                       "'redis' is missing: the host:port of the Redis the "
                       "instances share");
        return;
    }
    if (cl->name != NULL) {
        size_t n = strlen(cl->name);
        bool bad = n == 0 || n > 64;
        for (size_t i = 0; i < n && !bad; i++)
            bad = cl->name[i] <= ' ' || cl->name[i] == 0x7f;
        if (bad)
            cfg_bind_error(b, yamldoc_get(map, "name"),
                           "e.g. proxy-a: 1 to 64 characters, no blanks",
                           "bad instance name '%s' for 'name'", cl->name);
    }
}

void
cfg_check_admin(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_admin *a = obj;
    uint8_t example[20];
    const char *hint = "choose another password, or give password_hash "
                       "(SELECT PASSWORD('...'))";

    if (map == NULL)
        return;
    if (given(map, "password") && given(map, "password_hash"))
        cfg_bind_error(b, yamldoc_get(map, "password_hash"), NULL,
                       "give 'password' or 'password_hash', not both");
    sha1_sha1("admin", example);
    if (a->password != NULL && strcmp(a->password, "admin") == 0)
        cfg_bind_error(b, yamldoc_get(map, "password"), hint,
                       "the admin password 'admin' is the example's; anyone "
                       "can guess it");
    else if (a->has_hash && memcmp(a->hash, example, sizeof(example)) == 0)
        cfg_bind_error(b, yamldoc_get(map, "password_hash"), hint,
                       "this password_hash is the hash of 'admin', the "
                       "example's password; anyone can guess it");
    if (a->has_hash) {
        free(a->password);
        a->password = NULL;
    }
    /* http_hosts: names as a Host header carries them, without a port */
    {
        const struct yamldoc_node *hn = yamldoc_get(map, "http_hosts");
        for (size_t i = 0; hn != NULL && hn->kind == YAMLDOC_SEQ &&
                           i < hn->nitems && i < (size_t)a->nhttp_hosts;
             i++) {
            const char *h = a->http_hosts[i];
            bool ok = h[0] != '\0' && h[0] != '.' && h[0] != '-';
            for (const char *q = h; ok && *q; q++)
                ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                     (*q >= '0' && *q <= '9') || *q == '-' || *q == '.';
            if (!ok)
                cfg_bind_error(b, hn->items[i],
                               "a DNS name, e.g. myshard-1.example.com; "
                               "addresses and localhost are always served",
                               "'%s' is not a host name (no port, no "
                               "scheme, no spaces)",
                               h);
        }
    }
}

/* Whether path holds an unencrypted PEM RSA private key of 2048 bits or
 * more (what session/login.c loads at start); the reason in err if not. */
static bool
rsa_key_usable(const char *path, char *err, size_t errlen)
{
    size_t size = 0, len;
    char *pem = cfg_read_file(path, 64 * 1024, &size, err, errlen);
    const unsigned char *data = (const unsigned char *)pem;
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    bool ok = false;

    if (pem == NULL)
        return false;
    len = size;
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
                                         EVP_PKEY_KEYPAIR, NULL, NULL);
    if (dctx == NULL || OSSL_DECODER_from_data(dctx, &data, &len) != 1 ||
        pkey == NULL)
        snprintf(err, errlen, "not a PEM RSA private key (unencrypted)");
    else if (EVP_PKEY_get_bits(pkey) < 2048)
        snprintf(err, errlen, "the RSA key has %d bits; use 2048 or more",
                 EVP_PKEY_get_bits(pkey));
    else
        ok = true;
    OSSL_DECODER_CTX_free(dctx);
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(pem, size);
    free(pem);
    return ok;
}

/* rsa_key must name a readable RSA private key of 2048 bits or more. */
void
cfg_check_login(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_login *l = obj;
    char err[256];

    if (map == NULL || l->rsa_key == NULL)
        return;
    if (!rsa_key_usable(l->rsa_key, err, sizeof(err)))
        cfg_bind_error(b, yamldoc_get(map, "rsa_key"),
                       "e.g. openssl genrsa -out rsa.pem 2048",
                       "rsa_key '%s': %s", l->rsa_key, err);
}

/* reshard.state names a file: not empty, not a directory; reshard.control
 * a plain schema name (it is written into statements unquoted). */
void
cfg_check_reshard(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_reshard *r = obj;
    size_t n = r->state != NULL ? strlen(r->state) : 0;

    if (map == NULL || r->state == NULL)
        return;
    if (n == 0 || r->state[n - 1] == '/')
        cfg_bind_error(b, yamldoc_get(map, "state"),
                       "e.g. state: /var/lib/myshard/placement.yaml",
                       "'state' must name a file, not '%s'", r->state);
    n = r->control != NULL ? strlen(r->control) : 0;
    if (r->control != NULL &&
        (n == 0 || n > 64 ||
         strspn(r->control, "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") != n))
        cfg_bind_error(b, yamldoc_get(map, "control"),
                       "e.g. control: myshard_control",
                       "'control' must be a schema name (letters, digits, _ "
                       "and $, at most 64), not '%s'",
                       r->control);
}

void
cfg_check_pool(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_pool *p = obj;

    if (p->min_idle > p->max_connections)
        cfg_bind_error(b, yamldoc_get(map, "min_idle"), NULL,
                       "'min_idle' (%lld) exceeds 'max_connections' (%lld)",
                       (long long)p->min_idle, (long long)p->max_connections);
}

/* --- users ------------------------------------------------------------- */

void
cfg_check_user(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_user *u = obj;
    const struct yamldoc_node *sn = yamldoc_get(map, "schemas");
    struct cfg *c = b->cfg;
    char hint[128];

    if (given(map, "password") && given(map, "password_hash"))
        cfg_bind_error(b, yamldoc_get(map, "password_hash"), NULL,
                       "give 'password' or 'password_hash', not both");
    if (u->has_hash) {
        free(u->password);
        u->password = NULL;
    } else if (u->password == NULL && !given(map, "password_hash")) {
        u->password = xstrdup("");
    }

    if (yamldoc_is_null(sn)) {
        /* No list: every schema, in file order; the first is the default. */
        u->schemas = xcalloc((size_t)c->nschemas, sizeof(char *));
        u->nschemas = 0;
        for (int i = 0; i < c->nschemas; i++)
            if (c->schemas[i].name != NULL) /* else already an error */
                u->schemas[u->nschemas++] = xstrdup(c->schemas[i].name);
        return;
    }
    if (sn->kind == YAMLDOC_SEQ && sn->nitems == 0)
        cfg_bind_error(b, sn, "leave 'schemas' out to allow every schema",
                       "'schemas' is empty, so the user could use nothing");
    for (int i = 0; i < u->nschemas; i++) {
        const struct yamldoc_node *at = sn;
        if (cfg_bind_find_schema(c, u->schemas[i], hint, sizeof(hint)) >= 0)
            continue;
        if (sn->kind == YAMLDOC_SEQ) {
            for (size_t j = 0; j < sn->nitems; j++)
                if (strcmp(sn->items[j]->str ? sn->items[j]->str : "",
                           u->schemas[i]) == 0)
                    at = sn->items[j];
        }
        cfg_bind_error(b, at, hint[0] ? hint : NULL,
                       "schema '%s' is not defined", u->schemas[i]);
    }
}

/* --- rules ------------------------------------------------------------- */

static void
bound_text(const struct cfg_bound *bd, bool from, char *buf, size_t len)
{
    if (!bd->set)
        snprintf(buf, len, "%s", from ? "-inf" : "+inf");
    else if (bd->is_string)
        snprintf(buf, len, "'%s'", bd->s);
    else
        snprintf(buf, len, "%lld", (long long)bd->i);
}

static void
range_text(const struct cfg_range *r, char *buf, size_t len)
{
    char f[128], t[128];

    bound_text(&r->from, true, f, sizeof(f));
    bound_text(&r->to, false, t, sizeof(t));
    snprintf(buf, len, "[%s, %s)", f, t);
}

/* Both set, same type. */
static int
bound_cmp(const struct cfg_bound *a, const struct cfg_bound *b)
{
    if (a->is_string) {
        /* bytewise, like the router compares keys */
        int r = strcmp(a->s, b->s);
        return r < 0 ? -1 : r > 0;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

static int
range_order(const void *pa, const void *pb)
{
    const struct cfg_range *a = pa, *b = pb;

    if (!a->from.set || !b->from.set) {
        if (a->from.set != b->from.set)
            return a->from.set ? 1 : -1;
    } else {
        int r = bound_cmp(&a->from, &b->from);
        if (r != 0)
            return r;
    }
    /* ties keep file order, so reports name the later entry */
    if (a->mark.line != b->mark.line)
        return a->mark.line < b->mark.line ? -1 : 1;
    return a->mark.col < b->mark.col ? -1 : a->mark.col > b->mark.col;
}

void
cfg_check_ranges(struct cfg_bind *b, struct cfg_rule *r)
{
    const struct cfg_bound *first = NULL;
    char ta[300], tb[300], hint[300];

    /* One kind of bound per rule: integers and strings do not compare. */
    for (int i = 0; i < r->nranges; i++) {
        const struct cfg_bound *bs[2] = {&r->ranges[i].from, &r->ranges[i].to};
        for (int j = 0; j < 2; j++) {
            if (!bs[j]->set)
                continue;
            if (first == NULL) {
                first = bs[j];
            } else if (bs[j]->is_string != first->is_string) {
                error_at(b, r->ranges[i].mark,
                         "quote every bound, or none: integers and strings "
                         "do not compare",
                         "range bounds mix integers and strings");
                return;
            }
        }
    }
    for (int i = 0; i < r->nranges; i++) {
        const struct cfg_range *x = &r->ranges[i];
        if (x->from.set && x->to.set && bound_cmp(&x->from, &x->to) >= 0) {
            range_text(x, ta, sizeof(ta));
            error_at(b, x->mark, "'from' is inclusive, 'to' exclusive",
                     "range %s is empty", ta);
            return;
        }
    }

    if (r->nranges > 1)
        qsort(r->ranges, (size_t)r->nranges, sizeof(*r->ranges), range_order);

    for (int i = 1; i < r->nranges; i++) {
        const struct cfg_range *p = &r->ranges[i - 1], *x = &r->ranges[i];
        int cmp;

        range_text(p, ta, sizeof(ta));
        range_text(x, tb, sizeof(tb));
        if (!x->from.set) {
            error_at(b, x->mark, "only the first range may omit 'from'",
                     "ranges %s and %s overlap", ta, tb);
            continue;
        }
        if (!p->to.set) {
            error_at(b, x->mark, "only the last range may omit 'to'",
                     "ranges %s and %s overlap", ta, tb);
            continue;
        }
        cmp = bound_cmp(&p->to, &x->from);
        if (cmp > 0) {
            error_at(b, x->mark, NULL, "ranges %s and %s overlap", ta, tb);
        } else if (cmp < 0) {
            char f[128], t[128];
            bound_text(&p->to, true, f, sizeof(f));
            bound_text(&x->from, false, t, sizeof(t));
            snprintf(hint, sizeof(hint), "keys in [%s, %s) would have no shard",
                     f, t);
            error_at(b, x->mark, hint, "gap between ranges %s and %s", ta, tb);
        }
    }

    /* The rule's shard list, for scatter: distinct shards in range order. */
    free(r->shards);
    r->shards = xcalloc((size_t)r->nranges, sizeof(int));
    r->nshards = 0;
    for (int i = 0; i < r->nranges; i++) {
        bool dup = false;
        if (r->ranges[i].shard < 0)
            continue;
        for (int j = 0; j < r->nshards && !dup; j++)
            dup = r->shards[j] == r->ranges[i].shard;
        if (!dup)
            r->shards[r->nshards++] = r->ranges[i].shard;
    }
}

/* Parses one "a-b" or "a" item of a slot list. */
static bool
parse_slot_item(const char *s, const char *e, long *lo, long *hi)
{
    char buf[64];
    char *end;
    size_t len;

    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    len = (size_t)(e - s);
    if (len == 0 || len >= sizeof(buf) || !isdigit((unsigned char)*s))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *lo = strtol(buf, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (*end == '\0') {
        *hi = *lo;
        return true;
    }
    if (*end != '-')
        return false;
    end++;
    while (isspace((unsigned char)*end))
        end++;
    if (!isdigit((unsigned char)*end))
        return false;
    *hi = strtol(end, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

static void
slot_run_text(long lo, long hi, char *buf, size_t len)
{
    if (lo == hi)
        snprintf(buf, len, "%ld", lo);
    else
        snprintf(buf, len, "%ld-%ld", lo, hi);
}

/* Returns false when the entry was unreadable, so that the coverage report
 * does not repeat the same mistake as missing slots. */
static bool
slot_map_entry(struct cfg_bind *b, struct cfg_rule *r, int shard,
               const struct yamldoc_node *val)
{
    struct cfg *c = b->cfg;
    const char *p, *e;
    char run[48];
    bool ok = true;

    if (val->kind != YAMLDOC_SCALAR || yamldoc_is_null(val)) {
        cfg_bind_error(b, val, "write ranges like 0-255,768-1023",
                       "slot_map of shard '%s' must be a slot list, not %s",
                       c->shards[shard].name,
                       yamldoc_is_null(val) ? "empty" : yamldoc_kind_name(val));
        return false;
    }
    for (p = val->str; *p != '\0'; p = *e ? e + 1 : e) {
        long lo, hi;
        e = strchr(p, ',');
        if (e == NULL)
            e = p + strlen(p);
        if (!parse_slot_item(p, e, &lo, &hi)) {
            cfg_bind_error(b, val, "write ranges like 0-255,768-1023",
                           "bad slot list '%s'", val->str);
            return false;
        }
        if (lo > hi) {
            cfg_bind_error(b, val, NULL, "slot range %ld-%ld is reversed", lo,
                           hi);
            ok = false;
            continue;
        }
        if (hi >= (long)r->slots) {
            cfg_bind_error(b, val, NULL,
                           "slot %ld is outside the rule's slots 0-%u", hi,
                           r->slots - 1);
            ok = false;
            continue;
        }
        for (long s = lo; s <= hi; s++) {
            long t = s;
            int owner = r->slot_owner[s];
            if (owner < 0) {
                r->slot_owner[s] = shard;
                continue;
            }
            /* report the whole run held by one other shard, once */
            while (t + 1 <= hi && r->slot_owner[t + 1] == owner)
                t++;
            slot_run_text(s, t, run, sizeof(run));
            cfg_bind_error(b, val, NULL, "slot%s %s already belong%s to '%s'",
                           s == t ? "" : "s", run, s == t ? "s" : "",
                           c->shards[owner].name);
            s = t;
        }
    }
    return ok;
}

/* One "shard: slots" pair of a slot map; false when it was unusable. */
static bool
slot_map_pair(struct cfg_bind *b, struct cfg_rule *r,
              const struct yamldoc_node *sm, size_t i)
{
    const struct yamldoc_node *key = sm->pairs[i].key;
    char hint[128];
    bool in_rule = false;
    int idx;

    if (key->kind != YAMLDOC_SCALAR) {
        cfg_bind_error(b, key, NULL, "slot_map keys must be shard names");
        return false;
    }
    for (size_t j = 0; j < i; j++) {
        if (sm->pairs[j].key->kind == YAMLDOC_SCALAR &&
            strcmp(sm->pairs[j].key->str, key->str) == 0) {
            cfg_bind_error(b, key, NULL, "shard '%s' appears twice in slot_map",
                           key->str);
            return false;
        }
    }
    idx = cfg_bind_find_shard(b->cfg, key->str, hint, sizeof(hint));
    if (idx < 0) {
        cfg_bind_error(b, key, hint[0] ? hint : NULL,
                       "shard '%s' is not defined", key->str);
        return false;
    }
    for (int j = 0; j < r->nshards; j++)
        in_rule = in_rule || r->shards[j] == idx;
    if (!in_rule) {
        cfg_bind_error(b, key, "add it to 'shards' or remove it here",
                       "slot_map names shard '%s', which is not in the "
                       "rule's shards",
                       key->str);
        return false;
    }
    return slot_map_entry(b, r, idx, sm->pairs[i].value);
}

void
cfg_check_slot_map(struct cfg_bind *b, struct cfg_rule *r,
                   const struct yamldoc_node *sm)
{
    char list[256], run[48];
    size_t off = 0;
    int runs = 0;
    bool readable = true, single = false;

    r->has_slot_map = true;
    if (sm->kind != YAMLDOC_MAP) {
        cfg_bind_error(b, sm,
                       "e.g. slot_map: { s0: \"0-511\", s1: \"512-1023\" }",
                       "'slot_map' must be a mapping of shard to slots, not %s",
                       yamldoc_kind_name(sm));
        return;
    }
    for (size_t i = 0; i < sm->npairs; i++)
        if (!slot_map_pair(b, r, sm, i))
            readable = false;
    /* A broken entry was most likely meant to cover the missing slots. */
    if (!readable)
        return;

    for (uint32_t s = 0; s < r->slots; s++) {
        uint32_t t = s;
        if (r->slot_owner[s] >= 0)
            continue;
        while (t + 1 < r->slots && r->slot_owner[t + 1] < 0)
            t++;
        single = runs == 0 && s == t;
        if (runs++ < 4) {
            slot_run_text((long)s, (long)t, run, sizeof(run));
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
                                    off ? ", " : "", run);
        } else if (runs == 5) {
            off += (size_t)snprintf(list + off, sizeof(list) - off, ", ...");
        }
        s = t;
    }
    if (runs > 0)
        cfg_bind_error(b, sm, "every slot needs exactly one shard",
                       "slot_map leaves slot%s %s without a shard",
                       single && runs == 1 ? "" : "s", list);
}

static bool
rule_type(const struct yamldoc_node *map, enum cfg_rule_type *t)
{
    const struct yamldoc_node *n = yamldoc_get(map, "type");

    if (n == NULL || n->kind != YAMLDOC_SCALAR)
        return false;
    if (strcasecmp(n->str, "hash") == 0)
        *t = RULE_HASH;
    else if (strcasecmp(n->str, "mod") == 0)
        *t = RULE_MOD;
    else if (strcasecmp(n->str, "range") == 0)
        *t = RULE_RANGE;
    else
        return false;
    return true;
}

/* Keys that make sense only for some rule types. */
static void
not_for_type(struct cfg_bind *b, const struct yamldoc_node *map,
             const char *key, const char *type, const char *hint)
{
    const struct yamldoc_node *n = yamldoc_get(map, key);

    if (!yamldoc_is_null(n))
        cfg_bind_error(b, n, hint, "'%s' does not apply to %s rules", key,
                       type);
}

void
cfg_check_rule(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_rule *r = obj;
    const struct yamldoc_node *sn = yamldoc_get(map, "shards");
    enum cfg_rule_type t;

    if (!rule_type(map, &t))
        return; /* missing or bad type: already reported */
    r->type = t;

    if (t == RULE_RANGE) {
        not_for_type(b, map, "shards", "range", "each range names its shard");
        not_for_type(b, map, "slots", "range", NULL);
        not_for_type(b, map, "slot_map", "range", NULL);
        r->slots = 0;
        if (!given(map, "ranges"))
            cfg_bind_error(b, map, NULL, "missing required key 'ranges'");
        cfg_check_ranges(b, r);
        return;
    }
    not_for_type(b, map, "ranges", t == RULE_HASH ? "hash" : "mod",
                 "ranges belong to range rules");
    if (t == RULE_MOD) {
        not_for_type(b, map, "slots", "mod", "slots belong to hash rules");
        not_for_type(b, map, "slot_map", "mod", "slots belong to hash rules");
        r->slots = 0;
    }
    if (yamldoc_is_null(sn)) {
        cfg_bind_error(b, map, NULL, "missing required key 'shards'");
        return;
    }
    for (int i = 0; i < r->nshards; i++) {
        for (int j = 0; j < i; j++) {
            if (r->shards[i] == r->shards[j]) {
                cfg_bind_error(b, sn, NULL, "shard '%s' is listed twice",
                               b->cfg->shards[r->shards[i]].name);
                return;
            }
        }
    }
    if (t != RULE_HASH || r->nshards == 0 || r->slots == 0)
        return;
    if (r->slots < (uint32_t)r->nshards) {
        const struct yamldoc_node *at = yamldoc_get(map, "slots");
        cfg_bind_error(b, at ? at : map, NULL,
                       "'slots' (%u) is below the number of shards (%d)",
                       r->slots, r->nshards);
        return;
    }
    r->slot_owner = xcalloc(r->slots, sizeof(int));
    if (given(map, "slot_map")) {
        for (uint32_t s = 0; s < r->slots; s++)
            r->slot_owner[s] = -1;
        cfg_check_slot_map(b, r, yamldoc_get(map, "slot_map"));
        return;
    }
    /* PRODUCT.md's placement: slot s -> shard floor(s * N / slots). */
    for (uint32_t s = 0; s < r->slots; s++)
        r->slot_owner[s] =
            r->shards[(uint64_t)s * (uint64_t)r->nshards / r->slots];
}

/* --- schemas, tables, policies ----------------------------------------- */

void
cfg_check_table(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_table *t = obj;
    bool has_rule = given(map, "rule");

    if (t->global && has_rule) {
        cfg_bind_error(b, yamldoc_get(map, "rule"),
                       "a global table is copied to every shard",
                       "'global' and 'rule' cannot both be set");
        return;
    }
    if (t->global) {
        t->rule = -1;
        if (t->key != NULL)
            cfg_bind_warn(b, yamldoc_get(map, "key"), NULL,
                          "'key' is ignored for a global table");
        return;
    }
    if (!has_rule) {
        cfg_bind_error(
            b, map,
            "or leave it out: unlisted tables live on the default shard",
            "needs 'rule' and 'key', or 'global: true'");
        return;
    }
    if (t->key == NULL)
        cfg_bind_error(b, map, "the column whose value picks the shard",
                       "needs a 'key', as it is sharded");
}

void
cfg_check_schema(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_schema *s = obj;
    char hint[64];

    if (s->backend_schema == NULL && s->name != NULL)
        s->backend_schema = xstrdup(s->name);
    if (s->default_shard < 0 && !given(map, "default_shard") &&
        b->cfg->nshards > 0)
        s->default_shard = 0;
    for (int i = 0; i < s->ntables; i++) {
        for (int j = 0; j < i; j++) {
            if (s->tables[i].name == NULL || s->tables[j].name == NULL ||
                strcmp(s->tables[i].name, s->tables[j].name) != 0)
                continue;
            snprintf(hint, sizeof(hint), "first defined at line %d",
                     s->tables[j].mark.line);
            error_at(b, s->tables[i].mark, hint, "duplicate table '%s'",
                     s->tables[i].name);
            break;
        }
    }
}

void
cfg_check_policy(struct cfg_bind *b, const struct yamldoc_node *map, void *obj)
{
    struct cfg_policy *p = obj;
    char hint[128], err[256];
    int rc;

    if (p->match != NULL && p->match_regex != NULL)
        cfg_bind_error(b, yamldoc_get(map, "match_regex"), NULL,
                       "'match' and 'match_regex' cannot both be set");
    if (p->match == NULL && p->match_regex == NULL && p->user == NULL)
        cfg_bind_error(b, map, "a policy for everything is almost never meant",
                       "needs 'match', 'match_regex' or 'user'");
    if (p->match_regex != NULL) {
        /* Case-insensitive like 'match'; NOSUB: we only ask "does it?" */
        rc = regcomp(&p->re, p->match_regex,
                     REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc == 0) {
            p->re_ok = true;
        } else {
            regerror(rc, &p->re, err, sizeof(err));
            cfg_bind_error(b, yamldoc_get(map, "match_regex"), err,
                           "invalid regular expression in 'match_regex'");
        }
    }
    if (p->user != NULL &&
        cfg_bind_find_user(b->cfg, p->user, hint, sizeof(hint)) < 0)
        cfg_bind_error(b, yamldoc_get(map, "user"), hint[0] ? hint : NULL,
                       "user '%s' is not defined", p->user);
    if (!given(map, "cache") && !given(map, "deny") && !given(map, "route") &&
        !given(map, "rate_limit"))
        cfg_bind_warn(b, map, NULL,
                      "has no action (cache, deny, route or rate_limit)");
}

/* --- whole config ------------------------------------------------------ */

#define CHECK_DUPS(arr, n, what)                                               \
    do {                                                                       \
        for (int i = 0; i < (n); i++) {                                        \
            for (int j = 0; j < i; j++) {                                      \
                if ((arr)[i].name == NULL || (arr)[j].name == NULL ||          \
                    strcmp((arr)[i].name, (arr)[j].name) != 0)                 \
                    continue;                                                  \
                snprintf(hint, sizeof(hint), "first defined at line %d",       \
                         (arr)[j].mark.line);                                  \
                error_at(b, (arr)[i].mark, hint, "duplicate " what " '%s'",    \
                         (arr)[i].name);                                       \
                break;                                                         \
            }                                                                  \
        }                                                                      \
    } while (0)

struct addr_use {
    const struct cfg_addr *a;
    const char *shard;
};

static void
check_backend_addrs(struct cfg_bind *b)
{
    struct cfg *c = b->cfg;
    struct addr_use *uses;
    size_t n = 0, cap = 0;
    char hint[128];

    for (int i = 0; i < c->nshards; i++)
        cap += 1 + (size_t)c->shards[i].nreplicas;
    uses = xcalloc(cap, sizeof(*uses));
    for (int i = 0; i < c->nshards; i++) {
        uses[n].a = &c->shards[i].primary;
        uses[n++].shard = c->shards[i].name;
        for (int j = 0; j < c->shards[i].nreplicas; j++) {
            uses[n].a = &c->shards[i].replicas[j].addr;
            uses[n++].shard = c->shards[i].name;
        }
    }
    /* One server in two places would mix shards' data or double-count it. */
    for (size_t i = 0; i < n; i++) {
        if (uses[i].a->host == NULL)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (uses[j].a->host == NULL ||
                strcmp(uses[i].a->host, uses[j].a->host) != 0 ||
                uses[i].a->port != uses[j].a->port)
                continue;
            snprintf(hint, sizeof(hint), "first used at line %d",
                     uses[j].a->mark.line);
            error_at(b, uses[i].a->mark, hint,
                     "backend %s is used twice (shards '%s' and '%s')",
                     uses[i].a->text, uses[j].shard ? uses[j].shard : "?",
                     uses[i].shard ? uses[i].shard : "?");
            break;
        }
    }
    free(uses);
}

void
cfg_check_config(struct cfg_bind *b, const struct yamldoc_node *root)
{
    struct cfg *c = b->cfg;
    char hint[64];

    CHECK_DUPS(c->users, c->nusers, "user");
    CHECK_DUPS(c->shards, c->nshards, "shard");
    CHECK_DUPS(c->schemas, c->nschemas, "schema");
    check_backend_addrs(b);
    if (c->nshards > CFG_MAX_SHARDS)
        error_at(b, c->shards[CFG_MAX_SHARDS].mark,
                 "merge shards, or run another myshard for the rest",
                 "too many shards: %d, at most %d", c->nshards, CFG_MAX_SHARDS);

    /* point at whichever of the two was written; defaults have no line */
    if (c->listen.host != NULL && c->admin.listen.host != NULL &&
        c->listen.port == c->admin.listen.port &&
        strcmp(c->listen.host, c->admin.listen.host) == 0)
        error_at(b,
                 c->admin.listen.mark.line ? c->admin.listen.mark
                                           : c->listen.mark,
                 NULL, "listen and admin.listen are the same address %s",
                 c->listen.text);
    if (c->admin.http.host != NULL && c->admin.listen.host != NULL &&
        c->admin.http.port == c->admin.listen.port &&
        strcmp(c->admin.http.host, c->admin.listen.host) == 0)
        error_at(b,
                 c->admin.http.mark.line ? c->admin.http.mark
                                         : c->admin.listen.mark,
                 NULL, "admin.listen and admin.http are the same address %s",
                 c->admin.http.text);
}
