/*
 * Sharding, checked from outside the proxy.
 *
 * Placement: rows written through myshard (single- and multi-row INSERT,
 * REPLACE, INSERT ... ON DUPLICATE KEY UPDATE, prepared INSERT) sit on
 * exactly the shard their rule names. The witness is a direct connection to
 * each shard primary; the expected shard is computed here from PRODUCT.md's
 * formulas (hash slots from MariaDB's own CRC32(), cross-checked against an
 * IEEE CRC-32 computed in this program; mod; integer and string ranges).
 *
 * Answers: the same statements also run directly against one plain MariaDB
 * schema (ref_sharding on the s0 primary); every query through myshard must
 * return what that schema returns, column names included: point reads, IN,
 * BETWEEN, OR, scatter reads, aggregates, ORDER BY with LIMIT/OFFSET,
 * GROUP BY, DISTINCT, co-located and global joins, and the affected-row
 * counts of scatter UPDATE and DELETE.
 *
 * Refusals (1105, 1235) start with "myshard:" and write nothing; global
 * tables and DDL reach every shard; prepared statements route by their
 * bound values.
 *
 * A failed DDL fan-out or placement is repaired directly on the shards
 * afterwards, so each later check tests its own feature. Pointed at a
 * plain server (MYSHARD_EXPECT_PROXY unset, MYSHARD_PORT a shard primary)
 * nothing is repaired: the fan-out, placement and refusal checks fail by
 * design and the answer comparisons check the reference side.
 */
#include "itest_sharding_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ sections */

static void
drop_everything(bool via_proxy)
{
    for (int ti = NTABLES - 1; ti >= 0; ti--) {
        char *sql = xprintf("DROP TABLE IF EXISTS %s", tables[ti].name);
        struct rs r;
        if (via_proxy) {
            px_run(sql, &r);
            rs_free(&r);
        }
        for (int s = 0; s < NSHARDS; s++) {
            if (table_exists(s, tables[ti].name) > 0) {
                it_diag("dropping leftover shop.%s on %s directly",
                        tables[ti].name, shard_name[s]);
                dexec(direct[s], sql);
            }
        }
        free(sql);
    }
}

/* Creates table ti directly on each shard that lacks it, so that the
 * checks after a failed DDL fan-out still test their own feature. */
static void
ensure_table(int ti, const char *why)
{
    const struct table *t = &tables[ti];
    for (int s = 0; s < NSHARDS; s++) {
        if (table_exists(s, t->name) != 0)
            continue;
        it_diag("  creating shop.%s on %s directly for %s", t->name,
                shard_name[s], why);
        char *sql = xprintf("CREATE TABLE %s (%s) ENGINE=InnoDB DEFAULT "
                            "CHARSET=utf8mb4",
                            t->name, t->defs);
        dexec(direct[s], sql);
        free(sql);
    }
}

static void
setup_tables(void)
{
    int left = 0;
    for (int ti = 0; ti < NTABLES; ti++)
        for (int s = 0; s < NSHARDS; s++)
            left += table_exists(s, tables[ti].name) != 0;
    check_int(left, 0,
              "before CREATE: no test table exists on s0 or s1 (direct)");
    for (int ti = 0; ti < NTABLES; ti++) {
        const struct table *t = &tables[ti];
        char *sql = xprintf("CREATE TABLE %s (%s) ENGINE=InnoDB DEFAULT "
                            "CHARSET=utf8mb4",
                            t->name, t->defs);
        struct rs r;
        bool ok = px_run(sql, &r);
        if (!ok)
            it_diag("  myshard: %u %s", r.err, r.msg);
        rs_free(&r);
        int on[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            on[s] = table_exists(s, t->name);
        if (!check(ok && on[0] == 1 && on[1] == 1,
                   "CREATE TABLE %s through myshard reaches s0 and s1 "
                   "(direct)",
                   t->name))
            it_diag("  exists on s0: %d, on s1: %d", on[0], on[1]);
        ensure_table(ti, "the later checks");
        if (!dexec(ref, sql))
            check(false, "reference table %s created", t->name);
        free(sql);
    }
}

/* Writes every row of table t through the proxy and into the reference
 * with a mix of statement shapes; affected rows must agree. */
static void
write_rows(int t)
{
    const char *name = tables[t].name;
    struct {
        const char *what;
        int n;
        char *sql[16];
    } groups[6];
    memset(groups, 0, sizeof(groups));
    groups[0].what = "single-row INSERTs";
    for (int i = 0; i < 10; i++)
        groups[0].sql[groups[0].n++] =
            insert_sql("INSERT", t, i, i + 1, 0, false);
    groups[1].what = "multi-row INSERT, column list in reverse order";
    groups[1].sql[groups[1].n++] = insert_sql("INSERT", t, 10, 26, 0, true);
    groups[2].what = "multi-row INSERTs of 16 rows mixing shards";
    for (int i = 26; i < 170; i += 16)
        groups[2].sql[groups[2].n++] =
            insert_sql("INSERT", t, i, i + 16 < 170 ? i + 16 : 170, 0, false);
    groups[3].what = "multi-row REPLACE of new rows";
    groups[3].sql[groups[3].n++] = insert_sql("REPLACE", t, 170, 180, 0, false);
    groups[4].what = "multi-row REPLACE of existing rows";
    groups[4].sql[groups[4].n++] = insert_sql("REPLACE", t, 0, 5, 1, false);
    groups[5].what = "multi-row INSERT ... ON DUPLICATE KEY UPDATE (new and "
                     "existing rows)";
    {
        struct buf b = {0};
        char *head = insert_sql("INSERT", t, 180, NROWS, 0, false);
        buf_str(&b, head);
        free(head);
        for (int i = 5; i < 10; i++) {
            buf_str(&b, ", ");
            add_row(&b, t, i, 2, false);
        }
        buf_fmt(&b, " ON DUPLICATE KEY UPDATE %s", tables[t].odku);
        groups[5].sql[groups[5].n++] = b.p;
    }
    for (int g = 0; g < 6; g++) {
        int bad = 0;
        for (int k = 0; k < groups[g].n; k++) {
            if (!cmp_write_quiet(groups[g].sql[k], true))
                bad++;
            free(groups[g].sql[k]);
        }
        check(bad == 0,
              "%s: %d %s through myshard, affected rows as MariaDB reports",
              name, groups[g].n, groups[g].what);
    }
}

static void
write_countries(void)
{
    char *sql = insert_sql("INSERT", T_COUNTRIES, 0, NCOUNTRIES, 0, false);
    struct rs e, g;
    bool eok = rs_run(ref, sql, &e);
    bool gok = px_run(sql, &g);
    if (!eok)
        it_diag("reference: %u %s", e.err, e.msg);
    if (!check(gok, "multi-row INSERT into the global table countries "
                    "through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&e);
    rs_free(&g);
    free(sql);
}

/* First key of the table (from the reference) whose rule names shard s;
 * with_filter narrows the candidates. Malloc'd text of the key. */
static char *
pick_key(int ti, int s, const char *filter)
{
    const struct table *t = &tables[ti];
    char *pexpr = placement_expr(t);
    char *sql = xprintf("SELECT %s, %s FROM %s %s ORDER BY 1", t->key, pexpr,
                        t->name, filter ? filter : "");
    struct rs r;
    char *key = NULL;
    if (rs_run(ref, sql, &r)) {
        for (int i = 0; i < r.nrows && key == NULL; i++)
            if (expected_shard(t, r.cell[i][1]) == s)
                key = xstrdup(r.cell[i][0]);
    } else {
        it_diag("reference: %u %s; %s", r.err, r.msg, sql);
    }
    if (key == NULL) {
        it_diag("no %s key on %s: %s", t->name, shard_name[s], sql);
        key = xstrdup("0");
    }
    rs_free(&r);
    free(sql);
    free(pexpr);
    return key;
}

struct keys {
    char *u[4]; /* orders users with >= 2 orders: s0, s1, s0, s1 */
    char *e[3]; /* non-ASCII emails: s0, s1, s1 */
};

static void
pick_keys(struct keys *k)
{
    const char *many = "WHERE user_id IN (SELECT user_id FROM orders "
                       "GROUP BY user_id HAVING COUNT(*) >= 2)";
    k->u[0] = pick_key(T_ORDERS, 0, many);
    k->u[1] = pick_key(T_ORDERS, 1, many);
    char *f0 = xprintf("%s AND user_id > %s", many, k->u[0]);
    char *f1 = xprintf("%s AND user_id > %s", many, k->u[1]);
    k->u[2] = pick_key(T_ORDERS, 0, f0);
    k->u[3] = pick_key(T_ORDERS, 1, f1);
    free(f0);
    free(f1);
    /* non-ASCII keys that survive the scatter DELETE (points < 50) */
    k->e[0] =
        pick_key(T_CUSTOMERS, 0, "WHERE email LIKE '李雷%' AND points >= 50");
    k->e[1] =
        pick_key(T_CUSTOMERS, 1, "WHERE email LIKE '😀%' AND points >= 50");
    k->e[2] =
        pick_key(T_CUSTOMERS, 1, "WHERE email LIKE 'zoë%' AND points >= 50");
    it_diag("keys: users %s, %s (s0) and %s, %s (s1); emails '%s' (s0), "
            "'%s', '%s' (s1)",
            k->u[0], k->u[2], k->u[1], k->u[3], k->e[0], k->e[1], k->e[2]);
}

static void
free_keys(struct keys *k)
{
    for (int i = 0; i < 4; i++)
        free(k->u[i]);
    for (int i = 0; i < 3; i++)
        free(k->e[i]);
}

static void cmp_queryf(const char *fmt, ...) IT_PRINTF(1, 2);

static void
cmp_queryf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        exit(1);
    cmp_query(s);
    free(s);
}

static void cmp_writef(const char *fmt, ...) IT_PRINTF(1, 2);

static void
cmp_writef(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        exit(1);
    cmp_write(s);
    free(s);
}

static void
test_reads(const struct keys *k)
{
    it_diag("point reads by key");
    cmp_queryf("SELECT * FROM orders WHERE user_id = %s", k->u[0]);
    cmp_queryf("SELECT * FROM orders WHERE user_id = %s", k->u[1]);
    cmp_query("SELECT * FROM orders WHERE user_id = -24");
    cmp_query("SELECT * FROM orders WHERE user_id = 999999");
    cmp_queryf("SELECT id, sku, qty, price FROM order_items WHERE user_id = "
               "%s",
               k->u[1]);
    cmp_query("SELECT id, name, balance FROM accounts WHERE id = -3");
    cmp_query("SELECT id, name, balance FROM accounts WHERE id = 8");
    cmp_query("SELECT * FROM accounts WHERE id = 9007199254740993");
    cmp_query("SELECT * FROM accounts WHERE id = -2147483649");
    cmp_query("SELECT * FROM events WHERE id = 999");
    cmp_query("SELECT * FROM events WHERE id = 1000");
    cmp_query("SELECT * FROM events WHERE id = -1");
    cmp_queryf("SELECT * FROM customers WHERE email = '%s'", k->e[0]);
    cmp_queryf("SELECT * FROM customers WHERE email = '%s'", k->e[1]);
    cmp_query("SELECT * FROM visits WHERE day = '2026-06-30'");
    cmp_query("SELECT * FROM visits WHERE day = '2026-07-01'");

    it_diag("IN lists, BETWEEN, OR, AND");
    cmp_queryf("SELECT id, user_id, amount FROM orders WHERE user_id IN "
               "(%s, %s, %s, %s, -47, 999999)",
               k->u[0], k->u[1], k->u[2], k->u[3]);
    cmp_queryf("SELECT * FROM customers WHERE email IN ('%s', '%s', '%s', "
               "'user005@example.com', 'nobody@example.com')",
               k->e[0], k->e[1], k->e[2]);
    cmp_query("SELECT * FROM accounts WHERE id IN (-3, -2, 5, 8, 2147483648)");
    cmp_query("SELECT * FROM events WHERE id IN (998, 999, 1000, 1001)");
    cmp_query("SELECT * FROM events WHERE id BETWEEN 990 AND 1010 ORDER BY "
              "id");
    cmp_query("SELECT id, score FROM events WHERE id BETWEEN 995 AND 999");
    cmp_query("SELECT id, score FROM events WHERE id BETWEEN 1000 AND 1004");
    cmp_query("SELECT * FROM visits WHERE day BETWEEN '2026-06-28' AND "
              "'2026-07-03' ORDER BY day, id");
    cmp_queryf("SELECT id, user_id FROM orders WHERE user_id = %s OR "
               "user_id = %s",
               k->u[0], k->u[1]);
    cmp_query("SELECT * FROM accounts WHERE id = 3 OR id = -4");
    cmp_queryf("SELECT id, amount FROM orders WHERE user_id = %s AND "
               "amount > 50",
               k->u[1]);
    cmp_query("SELECT * FROM events WHERE id >= 995 AND id < 1005 AND "
              "score > 10");

    it_diag("scatter reads");
    cmp_query("SELECT * FROM orders");
    cmp_query("SELECT * FROM order_items");
    cmp_query("SELECT * FROM accounts");
    cmp_query("SELECT * FROM events");
    cmp_query("SELECT * FROM customers");
    cmp_query("SELECT * FROM visits");
    cmp_query("SELECT id, status FROM orders WHERE status = 'paid'");
    cmp_query("SELECT email, points FROM customers WHERE points > 500");

    it_diag("aggregates");
    cmp_query("SELECT COUNT(*) FROM orders");
    cmp_query("SELECT COUNT(*), COUNT(note), SUM(amount), MIN(amount), "
              "MAX(amount), AVG(amount) FROM orders");
    cmp_query("SELECT SUM(qty), AVG(qty), MIN(price), MAX(price), "
              "AVG(price) FROM order_items");
    cmp_query("SELECT COUNT(*), COUNT(country), SUM(balance), AVG(balance), "
              "MIN(id), MAX(id) FROM accounts");
    cmp_query("SELECT AVG(score), SUM(score), COUNT(score), MIN(score), "
              "MAX(score) FROM events");
    cmp_query("SELECT MIN(day), MAX(day), COUNT(*) FROM visits");
    cmp_query("SELECT MIN(name), MAX(name), SUM(points) FROM customers");
    cmp_query("SELECT COUNT(*) AS n, SUM(amount) AS total FROM orders WHERE "
              "status = 'paid'");
    cmp_query("SELECT COUNT(*), COUNT(note), SUM(amount), MIN(amount), "
              "MAX(amount), AVG(amount) FROM orders WHERE amount < 0");
    cmp_query("SELECT COUNT(*), SUM(balance) FROM accounts WHERE id = "
              "123456789");

    it_diag("ORDER BY, LIMIT, OFFSET");
    cmp_query("SELECT id, user_id, amount FROM orders ORDER BY amount DESC, "
              "id LIMIT 10");
    cmp_query("SELECT id, amount FROM orders ORDER BY amount, id LIMIT 10 "
              "OFFSET 20");
    cmp_query("SELECT id, name AS n FROM accounts ORDER BY n DESC LIMIT 7");
    cmp_query("SELECT name, id FROM accounts ORDER BY 2 LIMIT 5 OFFSET 3");
    cmp_query("SELECT id, note FROM orders ORDER BY note, id LIMIT 15");
    cmp_query("SELECT id, note FROM orders ORDER BY note DESC, id DESC LIMIT "
              "15 OFFSET 140");
    cmp_query("SELECT id, balance FROM accounts ORDER BY balance, id");
    cmp_query("SELECT id, balance FROM accounts ORDER BY balance DESC, id "
              "LIMIT 12");
    cmp_query("SELECT * FROM events ORDER BY id DESC LIMIT 5");
    cmp_query("SELECT id FROM events ORDER BY id LIMIT 1000");
    cmp_query("SELECT day, id, page FROM visits ORDER BY day DESC, id LIMIT "
              "12");
    cmp_query("SELECT email, points FROM customers ORDER BY points DESC "
              "LIMIT 10");
    cmp_query("SELECT name, country FROM customers ORDER BY name LIMIT 10 "
              "OFFSET 5");
    cmp_query("SELECT id, price, qty FROM order_items ORDER BY price DESC, "
              "id LIMIT 20");

    it_diag("GROUP BY, DISTINCT");
    cmp_query("SELECT status, COUNT(*), SUM(amount), MIN(amount), "
              "MAX(amount), AVG(amount) FROM orders GROUP BY status");
    cmp_query("SELECT status, SUM(amount) AS total FROM orders GROUP BY "
              "status ORDER BY total DESC, status LIMIT 3");
    cmp_query("SELECT user_id, COUNT(*) AS n FROM orders GROUP BY user_id "
              "ORDER BY n DESC, user_id LIMIT 5");
    cmp_query("SELECT country, COUNT(*), AVG(balance) FROM accounts GROUP BY "
              "country ORDER BY country");
    cmp_query("SELECT kind, MAX(score), MIN(score) FROM events GROUP BY kind "
              "ORDER BY 2 DESC, 1");
    cmp_query("SELECT sku, SUM(qty), AVG(price) FROM order_items GROUP BY "
              "sku");
    cmp_query("SELECT DISTINCT status FROM orders");
    cmp_query("SELECT DISTINCT country FROM customers ORDER BY country");
    cmp_query("SELECT DISTINCT created FROM orders ORDER BY created DESC");
    cmp_query("SELECT DISTINCT user_id FROM orders WHERE amount > 150");
    cmp_query("SELECT DISTINCT user_id FROM order_items ORDER BY user_id "
              "LIMIT 10");

    it_diag("joins: co-located on the key, and with the global table");
    cmp_queryf("SELECT o.id, o.amount, i.sku, i.qty FROM orders o JOIN "
               "order_items i ON i.user_id = o.user_id AND i.order_id = o.id "
               "WHERE o.user_id = %s ORDER BY o.id, i.id",
               k->u[0]);
    cmp_queryf("SELECT o.id, o.amount, i.sku, i.qty FROM orders o JOIN "
               "order_items i ON i.user_id = o.user_id AND i.order_id = o.id "
               "WHERE o.user_id = %s ORDER BY o.id, i.id",
               k->u[1]);
    cmp_query("SELECT a.id, a.name, c.name AS country FROM accounts a JOIN "
              "countries c ON c.code = a.country WHERE a.id = 7");
    cmp_query("SELECT a.id, a.name, c.name AS country FROM accounts a JOIN "
              "countries c ON c.code = a.country WHERE a.id = 8");
    cmp_queryf("SELECT cu.email, co.name FROM customers cu JOIN countries co "
               "ON co.code = cu.country WHERE cu.email = '%s'",
               k->e[1]);
    cmp_query("SELECT * FROM countries ORDER BY code");
}

static void
test_scatter_writes(const struct keys *k)
{
    it_diag("scatter and keyed UPDATE / DELETE");
    cmp_write("UPDATE orders SET status = 'archived' WHERE amount < 30");
    cmp_write("UPDATE orders SET status = 'none' WHERE amount < 0");
    cmp_write("DELETE FROM events WHERE score > 90");
    cmp_write("UPDATE accounts SET balance = balance * 2 WHERE country IN "
              "('DE', 'FR')");
    cmp_write("DELETE FROM customers WHERE points < 50");
    cmp_write("UPDATE order_items SET qty = qty + 1");
    cmp_writef("UPDATE orders SET note = 'by key' WHERE user_id = %s", k->u[1]);
    cmp_write("UPDATE accounts SET balance = balance + 1.50 WHERE id = 7");
    cmp_write("DELETE FROM visits WHERE day = '2026-07-01'");
    cmp_write("DELETE FROM events WHERE id BETWEEN 995 AND 1004");
    sync_replicas();
    for (int ti = 0; ti < T_COUNTRIES; ti++) {
        check_placement(ti, "after UPDATE/DELETE", false);
        cmp_queryf("SELECT * FROM %s", tables[ti].name);
    }
    cmp_query("SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY "
              "status");
}

/* A statement myshard must refuse with code, a "myshard:" message (that
 * names each of the words given), and nothing written on either shard.
 * also_ok: a result equal to the reference's is accepted too. */
/* Prints the entries of two fingerprints that differ. */
static void
diag_changes(const char *before, const char *after)
{
    char *b = xstrdup(before), *a = xstrdup(after);
    char *sb = NULL, *sa = NULL;
    char *x = strtok_r(b, ";", &sb), *y = strtok_r(a, ";", &sa);
    while (x != NULL && y != NULL) {
        if (strcmp(x, y) != 0)
            it_diag("  before:%s\n#   after: %s", x, y + (*y == ' '));
        x = strtok_r(NULL, ";", &sb);
        y = strtok_r(NULL, ";", &sa);
    }
    free(b);
    free(a);
}

static void
check_refusal(const char *what, const char *sql, unsigned code, bool also_ok,
              const char *word1, const char *word2)
{
    char *before = fingerprint();
    struct rs g;
    px_run(sql, &g);
    bool refused = !g.ok && g.err == code &&
                   strncmp(g.msg, "myshard:", 8) == 0 &&
                   (word1 == NULL || strstr(g.msg, word1) != NULL) &&
                   (word2 == NULL || strstr(g.msg, word2) != NULL);
    bool answered = false;
    struct rs e = {0};
    if (also_ok && g.ok && g.ncols > 0 && rs_run(ref, sql, &e))
        answered = same_rows(sql, &e, &g, false, false);
    if (!check(refused || answered,
               "%s: refused with %u, message starts with 'myshard:'%s%s%s%s%s",
               what, code, word1 ? " naming " : "", word1 ? word1 : "",
               word2 ? " and " : "", word2 ? word2 : "",
               also_ok ? " (or answered exactly)" : "")) {
        diag_text("statement: ", sql);
        if (g.ok && g.ncols > 0) {
            it_diag("  got a result set of %d rows", g.nrows);
            if (e.ok)
                same_rows(sql, &e, &g, false, true);
        } else if (g.ok)
            it_diag("  got success, %llu affected rows", g.affected);
        else
            it_diag("  got error %u: %s", g.err, g.msg);
    } else if (refused)
        it_diag("  %u %s", g.err, g.msg);
    rs_free(&g);
    rs_free(&e);
    char *after = fingerprint();
    if (!check(strcmp(before, after) == 0,
               "%s: nothing written on s0 or s1 (counts and checksums, "
               "direct)",
               what))
        diag_changes(before, after);
    free(before);
    free(after);
}

static void
test_refusals(const struct keys *k)
{
    it_diag("refused shapes write nothing");
    /* each date is on both shards: neither one shard's count nor the sum
     * of the shards' counts is the answer */
    check_refusal("COUNT(DISTINCT) across shards",
                  "SELECT COUNT(DISTINCT created) FROM orders", 1235, true,
                  NULL, NULL);
    check_refusal("join of orders and accounts (different rules)",
                  "SELECT o.id, a.name FROM orders o JOIN accounts a ON a.id "
                  "= o.user_id",
                  1235, false, "orders", "accounts");
    check_refusal("INSERT without the key column",
                  "INSERT INTO orders (id, amount, status, created) VALUES "
                  "(5001, 1.00, 'x', '2026-01-01')",
                  1105, false, NULL, NULL);
    check_refusal("INSERT with key expression 1+1",
                  "INSERT INTO orders (id, user_id, amount, status, created) "
                  "VALUES (5002, 1+1, 1.00, 'x', '2026-01-01')",
                  1105, false, NULL, NULL);
    check_refusal("INSERT with a function as key",
                  "INSERT INTO accounts (id, name, balance) VALUES "
                  "(FLOOR(RAND() * 1000) + 5000, 'f', 0)",
                  1105, false, NULL, NULL);
    char *sql = xprintf("INSERT INTO orders (id, user_id, amount, status, "
                        "created) VALUES (5003, %s, 1.00, 'x', '2026-01-01'), "
                        "(5004, %s, 1.00, 'x', '2026-01-01'), (5005, "
                        "ABS(-%s), 1.00, 'x', '2026-01-01')",
                        k->u[0], k->u[1], k->u[1]);
    check_refusal("multi-row INSERT with one unevaluable key", sql, 1105, false,
                  NULL, NULL);
    free(sql);
    check_refusal("INSERT into customers without the key column",
                  "INSERT INTO customers (name, country, points) VALUES "
                  "('nokey', 'DE', 1)",
                  1105, false, NULL, NULL);
    check_refusal("UPDATE that changes the key (hash)",
                  "UPDATE orders SET user_id = 77 WHERE id = 3", 1105, false,
                  NULL, NULL);
    sql = xprintf("UPDATE customers SET email = 'moved@example.com' WHERE "
                  "email = '%s'",
                  k->e[0]);
    check_refusal("UPDATE that changes the key (string hash)", sql, 1105, false,
                  NULL, NULL);
    free(sql);
    check_refusal("UPDATE that changes the key (range)",
                  "UPDATE events SET id = 1500 WHERE id = -1", 1105, false,
                  NULL, NULL);
}

static void
test_global(void)
{
    it_diag("global table");
    struct rs g;
    const char *ins = "INSERT INTO countries (code, name) VALUES ('ZZ', "
                      "'Zedland')";
    bool ok = px_run(ins, &g);
    if (!check(ok, "INSERT into the global table through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&g);
    dexec(ref, ins);
    for (int s = 0; s < NSHARDS; s++) {
        char *v = it_value(direct[s], NULL,
                           "SELECT name FROM countries WHERE code = 'ZZ'");
        check_str(v, "Zedland", "the global INSERT reached %s (direct)",
                  shard_name[s]);
        free(v);
    }
    const char *upd = "UPDATE countries SET name = 'Zedland II' WHERE code = "
                      "'ZZ'";
    ok = px_run(upd, &g);
    if (!check(ok, "UPDATE of the global table through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&g);
    dexec(ref, upd);
    for (int s = 0; s < NSHARDS; s++) {
        char *v = it_value(direct[s], NULL,
                           "SELECT name FROM countries WHERE code = 'ZZ'");
        check_str(v, "Zedland II", "the global UPDATE reached %s (direct)",
                  shard_name[s]);
        free(v);
    }
    sync_replicas();
    cmp_query("SELECT code, name FROM countries WHERE code = 'ZZ'");
    check_global("after INSERT/UPDATE");
}

static void
test_ddl(void)
{
    it_diag("DDL");
    const char *alter = "ALTER TABLE accounts ADD COLUMN extra INT NULL "
                        "DEFAULT 7";
    struct rs g;
    bool ok = px_run(alter, &g);
    if (!check(ok, "ALTER TABLE accounts through myshard"))
        it_diag("  myshard: %u %s", g.err, g.msg);
    rs_free(&g);
    dexec(ref, alter);
    for (int s = 0; s < NSHARDS; s++)
        check_int(it_int(direct[s], -1,
                         "SELECT COUNT(*) FROM information_schema.COLUMNS "
                         "WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = "
                         "'accounts' AND COLUMN_NAME = 'extra'"),
                  1, "ALTER TABLE reached %s: column extra exists (direct)",
                  shard_name[s]);
    sync_replicas();
    cmp_query("SELECT id, extra FROM accounts WHERE id IN (7, 8)");
}

/* Executes a prepared statement with the bound parameters (or none) and
 * returns its rows as text (all columns fetched as strings). */
static bool
stmt_rows(MYSQL_STMT *st, MYSQL_BIND *params, struct rs *out)
{
    memset(out, 0, sizeof(*out));
    if (params != NULL && mysql_stmt_bind_param(st, params) != 0)
        goto fail;
    if (mysql_stmt_execute(st) != 0)
        goto fail;
    unsigned n = mysql_stmt_field_count(st);
    if (n == 0 || n > MAXCOLS) {
        snprintf(out->msg, sizeof(out->msg), "%u result columns", n);
        return false;
    }
    char vals[MAXCOLS][128];
    unsigned long lens[MAXCOLS];
    my_bool nulls[MAXCOLS], errs[MAXCOLS];
    MYSQL_BIND rb[MAXCOLS];
    memset(rb, 0, sizeof(rb));
    for (unsigned c = 0; c < n; c++) {
        rb[c].buffer_type = MYSQL_TYPE_STRING;
        rb[c].buffer = vals[c];
        rb[c].buffer_length = sizeof(vals[c]);
        rb[c].length = &lens[c];
        rb[c].is_null = &nulls[c];
        rb[c].error = &errs[c];
    }
    if (mysql_stmt_bind_result(st, rb) != 0 || mysql_stmt_store_result(st))
        goto fail;
    out->ncols = (int)n;
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (meta != NULL) {
        MYSQL_FIELD *f = mysql_fetch_fields(meta);
        struct buf names = {0};
        for (unsigned c = 0; c < n; c++)
            buf_fmt(&names, "%s%s", c > 0 ? ", " : "", f[c].name);
        out->names = names.p;
        mysql_free_result(meta);
    }
    int cap = 16;
    out->text = xmalloc(sizeof(char *) * (size_t)cap);
    int rc;
    while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
        char *cells[MAXCOLS];
        for (unsigned c = 0; c < n; c++) {
            if (nulls[c]) {
                cells[c] = NULL;
            } else {
                unsigned long l = lens[c] < sizeof(vals[c]) - 1
                                      ? lens[c]
                                      : sizeof(vals[c]) - 1;
                vals[c][l] = '\0';
                cells[c] = vals[c];
            }
        }
        if (out->nrows == cap) {
            cap *= 2;
            char **p = realloc(out->text, sizeof(char *) * (size_t)cap);
            if (p == NULL)
                exit(1);
            out->text = p;
        }
        out->text[out->nrows++] = row_text(cells, (int)n);
    }
    mysql_stmt_free_result(st);
    out->ok = rc == MYSQL_NO_DATA;
    if (!out->ok)
        snprintf(out->msg, sizeof(out->msg), "fetch: %d %s", rc,
                 mysql_stmt_error(st));
    return out->ok;
fail:
    out->err = mysql_stmt_errno(st);
    snprintf(out->msg, sizeof(out->msg), "%s", mysql_stmt_error(st));
    return false;
}

static void
free_text_rows(struct rs *r)
{
    for (int i = 0; i < r->nrows; i++)
        free(r->text[i]);
    free(r->text);
    free(r->names);
    memset(r, 0, sizeof(*r));
}

static void
test_prepared(const struct keys *k)
{
    it_diag("prepared statements");
    MYSQL *m = proxy();
    if (m == NULL) {
        check(false, "prepared statements: a proxy connection");
        return;
    }
    MYSQL_STMT *st = mysql_stmt_init(m);
    const char *sel = "SELECT id, amount, status FROM orders WHERE user_id = "
                      "? ORDER BY id";
    bool prepared = st != NULL && mysql_stmt_prepare(st, sel, strlen(sel)) == 0;
    if (!check(prepared, "prepare %s", sel) && st != NULL)
        it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    for (int i = 0; i < 2; i++) {
        long long uid = strtoll(k->u[i], NULL, 10);
        struct rs g = {0}, e;
        char *q = xprintf("SELECT id, amount, status FROM orders WHERE "
                          "user_id = %lld ORDER BY id",
                          uid);
        MYSQL_BIND pb;
        memset(&pb, 0, sizeof(pb));
        pb.buffer_type = MYSQL_TYPE_LONGLONG;
        pb.buffer = &uid;
        bool gok = prepared && stmt_rows(st, &pb, &g);
        bool eok = rs_run(ref, q, &e);
        if (!eok)
            it_diag("reference: %u %s", e.err, e.msg);
        bool ok =
            gok && eok && e.nrows > 0 && same_rows(q, &e, &g, true, false);
        if (!check(ok,
                   "prepared SELECT ... WHERE user_id = ? with %lld (rule: "
                   "%s) returns MariaDB's %d rows",
                   uid, shard_name[i], eok ? e.nrows : -1)) {
            if (!gok)
                it_diag("  myshard: %u %s", g.err, g.msg);
            else if (eok)
                same_rows(q, &e, &g, true, true);
        }
        free_text_rows(&g);
        rs_free(&e);
        free(q);
    }
    if (st != NULL)
        mysql_stmt_close(st);

    st = mysql_stmt_init(m);
    const char *sel2 = "SELECT email, name, points FROM customers WHERE "
                       "email = ?";
    prepared = st != NULL && mysql_stmt_prepare(st, sel2, strlen(sel2)) == 0;
    if (!check(prepared, "prepare %s", sel2) && st != NULL)
        it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    for (int i = 0; i < 2; i++) {
        char email[VLEN];
        snprintf(email, sizeof(email), "%s", k->e[i]);
        unsigned long elen = strlen(email);
        MYSQL_BIND pb;
        memset(&pb, 0, sizeof(pb));
        pb.buffer_type = MYSQL_TYPE_STRING;
        pb.buffer = email;
        pb.buffer_length = sizeof(email);
        pb.length = &elen;
        struct rs g = {0}, e;
        char *q = xprintf("SELECT email, name, points FROM customers WHERE "
                          "email = '%s'",
                          email);
        bool gok = prepared && stmt_rows(st, &pb, &g);
        bool eok = rs_run(ref, q, &e);
        if (!eok)
            it_diag("reference: %u %s", e.err, e.msg);
        bool ok =
            gok && eok && e.nrows == 1 && same_rows(q, &e, &g, true, false);
        if (!check(ok,
                   "prepared SELECT ... WHERE email = ? with '%s' (rule: %s) "
                   "returns its row",
                   email, shard_name[i])) {
            if (!gok)
                it_diag("  myshard: %u %s", g.err, g.msg);
            else if (eok)
                same_rows(q, &e, &g, true, true);
        }
        free_text_rows(&g);
        rs_free(&e);
        free(q);
    }
    if (st != NULL)
        mysql_stmt_close(st);

    st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO orders (id, user_id, amount, status, "
                      "created) VALUES (?, ?, ?, 'prepared', '2026-03-03')";
    prepared = st != NULL && mysql_stmt_prepare(st, ins, strlen(ins)) == 0;
    if (!check(prepared, "prepare %s", ins) && st != NULL)
        it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
    for (int i = 0; i < 2; i++) {
        long long id = 1001 + i, uid = strtoll(k->u[i], NULL, 10);
        char amount[16] = "12.34";
        unsigned long alen = strlen(amount);
        MYSQL_BIND b[3];
        memset(b, 0, sizeof(b));
        b[0].buffer_type = MYSQL_TYPE_LONGLONG;
        b[0].buffer = &id;
        b[1].buffer_type = MYSQL_TYPE_LONGLONG;
        b[1].buffer = &uid;
        b[2].buffer_type = MYSQL_TYPE_STRING;
        b[2].buffer = amount;
        b[2].buffer_length = sizeof(amount);
        b[2].length = &alen;
        bool ok = prepared && mysql_stmt_bind_param(st, b) == 0 &&
                  mysql_stmt_execute(st) == 0 &&
                  mysql_stmt_affected_rows(st) == 1;
        if (!check(ok, "prepared INSERT with user_id = %lld executes", uid) &&
            st != NULL)
            it_diag("  %u %s", mysql_stmt_errno(st), mysql_stmt_error(st));
        char *r = xprintf("INSERT INTO orders (id, user_id, amount, status, "
                          "created) VALUES (%lld, %lld, 12.34, 'prepared', "
                          "'2026-03-03')",
                          id, uid);
        dexec(ref, r);
        free(r);
        long long on[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            on[s] = it_int(direct[s], -1,
                           "SELECT COUNT(*) FROM orders WHERE id = %lld", id);
        if (!check(on[i] == 1 && on[1 - i] == 0,
                   "prepared INSERT with user_id = %lld landed on %s only "
                   "(direct)",
                   uid, shard_name[i]))
            it_diag("  rows with id %lld: s0 %lld, s1 %lld", id, on[0], on[1]);
    }
    if (st != NULL)
        mysql_stmt_close(st);

    /* A multi-row INSERT split so that one shard gets a single row, whose
     * OK has no info text: the client still gets the line a server gives
     * for the whole statement (the reference database is that server). */
    for (int i = 0; i < 2; i++) {
        char *q = xprintf(
            "INSERT %s INTO orders (id, user_id, amount, status, created) "
            "VALUES (%d, %s, 1.00, 'split', '2026-03-04'), (%d, %s, 2.00, "
            "'split', '2026-03-04'), (%d, %s, 3.00, 'split', '2026-03-04')",
            i ? "IGNORE" : "", i ? 1105 : 1101, k->u[0], 1102, k->u[1],
            i ? 1106 : 1104, k->u[0]);
        char want[128] = "", got[128] = "";
        long long wa = -1, ga = -1;
        if (mysql_query(ref, q) == 0) {
            wa = (long long)mysql_affected_rows(ref);
            snprintf(want, sizeof(want), "%s",
                     mysql_info(ref) ? mysql_info(ref) : "(none)");
        }
        if (mysql_query(m, q) == 0) {
            ga = (long long)mysql_affected_rows(m);
            snprintf(got, sizeof(got), "%s",
                     mysql_info(m) ? mysql_info(m) : "(none)");
        } else {
            snprintf(got, sizeof(got), "%s", mysql_error(m));
        }
        check(want[0] != '\0' && strcmp(want, got) == 0 && wa == ga,
              "a multi-row INSERT %ssplit 2+1 over the shards reports %lld "
              "rows and info '%s' as the server does ('%s')",
              i ? "IGNORE (a duplicate on the one-row shard) " : "", ga, got,
              want);
        free(q);
    }
    sync_replicas();

    /* the witness is what the shards hold (direct), whatever came before */
    const char *cnt[] = {"SELECT COUNT(*) FROM orders",
                         "SELECT COUNT(*) FROM orders WHERE amount >= 100"};
    for (int i = 0; i < 2; i++) {
        long long total = 0;
        for (int s = 0; s < NSHARDS; s++) {
            long long n = it_int(direct[s], -1, "%s", cnt[i]);
            total = n < 0 || total < 0 ? -1 : total + n;
        }
        st = mysql_stmt_init(m);
        struct rs g = {0};
        bool gok = st != NULL &&
                   mysql_stmt_prepare(st, cnt[i], strlen(cnt[i])) == 0 &&
                   stmt_rows(st, NULL, &g);
        if (!gok && st != NULL && g.msg[0] == '\0')
            snprintf(g.msg, sizeof(g.msg), "%u %s", mysql_stmt_errno(st),
                     mysql_stmt_error(st));
        char want[64];
        snprintf(want, sizeof(want), "('%lld')", total);
        bool ok =
            gok && total >= 0 && g.nrows == 1 && strcmp(g.text[0], want) == 0;
        if (!check(ok,
                   "prepared scatter %s returns the total on s0 + s1 (%lld)",
                   cnt[i], total)) {
            if (!gok)
                it_diag("  myshard: %s", g.msg);
            else
                it_diag("  got %d rows: %s", g.nrows,
                        g.nrows > 0 ? g.text[0] : "");
        }
        free_text_rows(&g);
        if (st != NULL)
            mysql_stmt_close(st);
    }
}

static void
test_drop(void)
{
    it_diag("DROP");
    for (int ti = NTABLES - 1; ti >= 0; ti--) {
        ensure_table(ti, "the DROP check");
        char *sql = xprintf("DROP TABLE %s", tables[ti].name);
        struct rs g;
        bool ok = px_run(sql, &g);
        if (!ok)
            it_diag("  myshard: %u %s", g.err, g.msg);
        rs_free(&g);
        int on[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            on[s] = table_exists(s, tables[ti].name);
        if (!check(ok && on[0] == 0 && on[1] == 0,
                   "DROP TABLE %s through myshard removes it from s0 and s1 "
                   "(direct)",
                   tables[ti].name))
            it_diag("  still on s0: %d, on s1: %d", on[0], on[1]);
        free(sql);
    }
}

int
main(void)
{
    /* a hung statement fails its check instead of stalling the program */
    setenv("MYSHARD_TEST_IO_TIMEOUT_S", "10", 0);
    it_init("itest_sharding");
    if (it_backend_port("S0_PRIMARY_PORT") == 0 ||
        it_backend_port("S1_PRIMARY_PORT") == 0) {
        printf("Bail out! S0_PRIMARY_PORT and S1_PRIMARY_PORT are needed: "
               "the shards are the witnesses\n");
        return 1;
    }
    double t0 = it_now();
    px = it_connect();
    for (int s = 0; s < NSHARDS; s++) {
        direct[s] = it_connect_backend(shard_port_env[s], "shop");
        replica[s] = it_backend_port(replica_port_env[s])
                         ? it_connect_backend(replica_port_env[s], NULL)
                         : NULL;
    }
    MYSQL *r0 = it_connect_backend("S0_PRIMARY_PORT", NULL);
    if (!check(px != NULL, "connect to myshard") ||
        !check(direct[0] != NULL && direct[1] != NULL && r0 != NULL,
               "direct connections to the s0 and s1 primaries"))
        return it_done();
    ref = r0;
    if (!check(dexec(ref, "DROP DATABASE IF EXISTS " REF_DB) &&
                   dexec(ref, "CREATE DATABASE " REF_DB
                              " DEFAULT CHARACTER SET utf8mb4") &&
                   mysql_select_db(ref, REF_DB) == 0,
               "reference schema " REF_DB " on the s0 primary"))
        return it_done();

    drop_everything(true);
    setup_tables();
    for (int ti = 0; ti < T_COUNTRIES; ti++)
        write_rows(ti);
    write_countries();
    check_crc(T_ORDERS);
    check_crc(T_CUSTOMERS);
    for (int ti = 0; ti < T_COUNTRIES; ti++)
        check_placement(ti, "after INSERT/REPLACE/upsert", true);
    check_global("after INSERT");
    sync_replicas();

    struct keys k;
    pick_keys(&k);
    test_reads(&k);
    test_scatter_writes(&k);
    test_prepared(&k);
    test_global();
    test_ddl();
    test_refusals(&k);
    test_drop();
    free_keys(&k);

    drop_everything(false);
    dexec(ref, "DROP DATABASE IF EXISTS " REF_DB);
    it_diag("ran in %.1f s", it_now() - t0);
    if (px != NULL)
        mysql_close(px);
    mysql_close(ref);
    for (int s = 0; s < NSHARDS; s++) {
        mysql_close(direct[s]);
        if (replica[s] != NULL)
            mysql_close(replica[s]);
    }
    return it_done();
}
