#!/usr/bin/python3
"""cluster.redis: two myshard instances in front of the rig's shards share
hot-key cache invalidations through a real redis-server.

A private redis-server (its own port and directory) and two private
myshard instances, A and B, with one config each (the same but for their
ports and names) and a cache policy on the point select of a table
sharded over s0 and s1:

- 1,000 rounds of "UPDATE through A, wait for its OK, then read through B"
  (and 200 the other way) never return the old row, while B's cache does
  answer (its hit counter grows by about a round's worth); the time the
  OKs were held is reported (myshard_cluster_ok_wait_seconds_total);
- SHOW CLUSTER on each lists both, live, with the same config; after B
  reloads a changed file A flags B's config as different;
- kill redis-server: both log it, report myshard_cluster_redis_up 0 and
  SHOW CLUSTER says down, and serve no cached row (hit counters still)
  while reads and writes go on and stay right;
- restart it: both resubscribe (a reconnect counted) and cache again,
  and invalidations work again.

Environment: the rig's (tools/test.sh): MYSHARD_BIN, S0_PRIMARY_PORT,
S1_PRIMARY_PORT, BACKEND_USER, BACKEND_PASSWORD. TAP output; exit status 1
if any check failed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

from taplib import Tap, free_ports, wait_port

HOST = "127.0.0.1"
DB = "cluster_shop"
ADMIN_PW = "cluster-admin"

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 2
shutdown_timeout: 5s
admin:
  listen: 127.0.0.1:{admin}
  http: 127.0.0.1:{http}
  user: admin
  password: {apw}
cluster:
  redis: 127.0.0.1:{redis}
  name: {name}
users:
  - {{ name: app, password: app, schemas: [{db}] }}
backend:
  user: {buser}
  password: "{bpass}"
  connect_timeout: 1s
shards:
  - {{ name: s0, primary: 127.0.0.1:{s0p} }}
  - {{ name: s1, primary: 127.0.0.1:{s1p} }}
sharding_rules:
  id_mod: {{ type: mod, shards: [s0, s1] }}
schemas:
  - name: {db}
    default_shard: s0
    tables:
      - {{ name: items, key: id, rule: id_mod }}
policies:
  - match: "SELECT v FROM items WHERE id = ?"
    cache: {{ ttl: {ttl} }}
"""


tap = Tap()


def wait_for(pred, timeout):
    end = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(0.1)


def connect(port, user="app", password="app", db=DB):
    import pymysql

    return pymysql.connect(host=HOST, port=port, user=user, password=password,
                           database=db, autocommit=True, connect_timeout=10,
                           read_timeout=20)


def backend(port_var):
    env = os.environ
    return connect(int(env[port_var]), env.get("BACKEND_USER", "myshard"),
                   env.get("BACKEND_PASSWORD", "secret"), None)


class Instance:
    def __init__(self, tmp, name, redis_port, env):
        self.name = name
        self.port, self.admin, self.http = free_ports(3)
        self.values = dict(port=self.port, admin=self.admin, http=self.http,
                           apw=ADMIN_PW, redis=redis_port, name=name, db=DB,
                           buser=env.get("BACKEND_USER", "myshard"),
                           bpass=env.get("BACKEND_PASSWORD", "secret"),
                           s0p=env["S0_PRIMARY_PORT"],
                           s1p=env["S1_PRIMARY_PORT"], ttl="30s")
        self.cfg = os.path.join(tmp, name + ".yaml")
        self.log = os.path.join(tmp, name + ".log")
        self.write_cfg()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([env["MYSHARD_BIN"], "-c", self.cfg],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log)
        self.conn = None

    def write_cfg(self, **over):
        v = dict(self.values, **over)
        with open(self.cfg + ".tmp", "w") as f:
            f.write(CONFIG.format(**v))
        os.rename(self.cfg + ".tmp", self.cfg)

    def start(self):
        if not wait_port(self.port, 15, self.proc):
            return False
        self.conn = connect(self.port)
        return True

    def query(self, sql, args=None):
        with self.conn.cursor() as c:
            c.execute(sql, args)
            return c.fetchall()

    def value(self, key):
        rows = self.query("SELECT v FROM items WHERE id = %s", (key,))
        return rows[0][0] if rows else None

    def cluster(self):
        a = connect(self.admin, "admin", ADMIN_PW, None)
        try:
            with a.cursor() as c:
                c.execute("SHOW CLUSTER")
                return [dict(zip([d[0] for d in c.description], r))
                        for r in c.fetchall()]
        finally:
            a.close()

    def metrics(self):
        with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, self.http),
                                    timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r"^myshard_(\w+) ([0-9.eE+-]+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def stop(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


def start_redis(tmp, port):
    log = open(os.path.join(tmp, "redis.log"), "a")
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", HOST,
                          "--save", "", "--appendonly", "no", "--dir", tmp,
                          "--daemonize", "no"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    return p if wait_port(port, 10, p) else None


WRITE_TIME = [0.0, 0]  # seconds spent in UPDATEs, how many


def rounds(writer, reader, n, start, keys):
    """UPDATE through writer (its OK received), then read through reader:
    the reads that returned anything but the new value."""
    stale = []
    for i in range(n):
        key = keys[i % len(keys)]
        val = start + i
        t = time.perf_counter()
        writer.query("UPDATE items SET v = %s WHERE id = %s", (val, key))
        WRITE_TIME[0] += time.perf_counter() - t
        WRITE_TIME[1] += 1
        got = reader.value(key)
        if got != val:
            stale.append((key, val, got))
        reader.value(key)  # now from reader's cache, for the next round
    return stale


def txn_rounds(writer, reader, n, start, keys):
    """The same with each UPDATE in a transaction: its COMMIT's OK."""
    stale = []
    for i in range(n):
        key = keys[i % len(keys)]
        val = start + i
        writer.query("BEGIN")
        writer.query("UPDATE items SET v = %s WHERE id = %s", (val, key))
        writer.query("COMMIT")
        got = reader.value(key)
        if got != val:
            stale.append((key, val, got))
        reader.value(key)
    return stale


def hits(inst):
    return inst.metrics().get("cache_hits_total", 0)


def states(rows):
    return {r["name"]: r["state"] for r in rows}


def main():
    env = os.environ
    tmp = tempfile.mkdtemp(prefix="cluster_test.")
    (redis_port,) = free_ports(1)
    redis = None
    a = b = None
    keys = [1, 2]  # id mod 2: one on each shard
    try:
        for var in ("S0_PRIMARY_PORT", "S1_PRIMARY_PORT"):
            d = backend(var)
            with d.cursor() as c:
                c.execute("DROP DATABASE IF EXISTS " + DB)
                c.execute("CREATE DATABASE " + DB)
                c.execute("CREATE TABLE %s.items (id INT PRIMARY KEY, "
                          "v BIGINT)" % DB)
            d.close()
        redis = start_redis(tmp, redis_port)
        if not tap.ok(redis is not None, "redis-server starts on port %d"
                      % redis_port):
            return
        a = Instance(tmp, "proxy-a", redis_port, env)
        b = Instance(tmp, "proxy-b", redis_port, env)
        if not tap.ok(a.start() and b.start(),
                      "two myshard instances with cluster.redis start "
                      "(logs %s, %s)" % (a.log, b.log)):
            return
        for k in keys:
            a.query("INSERT INTO items (id, v) VALUES (%s, 0)", (k,))
        both = wait_for(lambda: all(
            {"proxy-a", "proxy-b"} <= set(states(i.cluster()))
            for i in (a, b)), 10)
        tap.ok(both, "SHOW CLUSTER on each lists both instances")
        for inst, other in ((a, b), (b, a)):
            rows = inst.cluster()
            st = states(rows)
            tap.ok(st.get("(redis)") == "up" and st.get(inst.name)
                   == "this instance" and st.get(other.name) == "live",
                   "%s: redis up, itself, %s live with the same config"
                   % (inst.name, other.name), None, rows)
            row = [r for r in rows if r["name"] == other.name]
            tap.ok(row and row[0]["address"] == "127.0.0.1:%d" % other.port
                   and row[0]["generation"] == "1" and row[0]["version"]
                   and 0 <= int(row[0]["last_heartbeat_ms"]) < 3000,
                   "%s: %s's address, version, generation 1, a recent "
                   "heartbeat" % (inst.name, other.name), None, row)
        wait_for(lambda: a.metrics().get("cluster_redis_up") == 1
                 and b.metrics().get("cluster_redis_up") == 1, 5)

        # --- invalidations across instances ---------------------------------
        for k in keys:
            b.value(k)
            a.value(k)
        hb0, ha0 = hits(b), hits(a)
        WRITE_TIME[:] = [0.0, 0]
        t0 = time.time()
        stale = rounds(a, b, 1000, 1, keys)
        took = time.time() - t0
        wt = list(WRITE_TIME)
        tap.ok(not stale, "1,000 rounds: UPDATE through A, then the read "
               "through B never returns the old row", [],
               "%d stale, first %r" % (len(stale), stale[:5]))
        hb1 = hits(b)
        # about 1,000; fewer when the loaded machine delays a lease renewal
        tap.ok(hb1 - hb0 >= 500, "and B's cache answered the reads between "
               "(%d hits)" % (hb1 - hb0), ">= 500", hb1 - hb0)
        stale = rounds(b, a, 200, 5000, keys)
        tap.ok(not stale, "200 rounds the other way (write through B, read "
               "through A): no old row", [], stale[:5])
        tap.ok(hits(a) - ha0 >= 100, "A's cache answered too", ">= 100",
               hits(a) - ha0)
        stale = txn_rounds(a, b, 100, 8000, keys)
        tap.ok(not stale, "100 rounds of BEGIN, UPDATE, COMMIT through A "
               "(COMMIT's OK received), then a read through B: no old row",
               [], stale[:5])
        ma = a.metrics()  # A's writes so far: the rounds above
        pub = ma.get("cluster_invalidations_published_total", 0)
        wait = ma.get("cluster_ok_wait_seconds_total", 0)
        tap.ok(pub >= 1000 and b.metrics().get(
            "cluster_invalidations_received_total", 0) >= 1000,
               "A published its writes and B received them", ">= 1000",
               (pub, b.metrics().get("cluster_invalidations_received_total")))
        tap.ok(ma.get("cluster_ack_timeouts_total", 0) == 0,
               "no write of A waited out the ack timeout", 0,
               ma.get("cluster_ack_timeouts_total"))
        tap.diag("1,000 rounds of UPDATE + 2 reads in %.2f s; an UPDATE "
                 "took %.3f ms on average, of which its OK was held %.3f ms "
                 "until the other instance acknowledged"
                 % (took, 1000.0 * wt[0] / max(wt[1], 1),
                    1000.0 * wait / max(pub, 1)))

        # --- a changed config is flagged ------------------------------------
        start = os.path.getsize(b.log)
        b.write_cfg(ttl="20s")
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "config reloaded" in b.log_text()[start:], 10)
        flagged = wait_for(lambda: states(a.cluster()).get("proxy-b")
                           == "live, config differs", 5)
        rows = a.cluster()
        tap.ok(flagged and [r for r in rows if r["name"] == "proxy-b"][0]
               ["generation"] == "2",
               "after B reloads a changed file, A's SHOW CLUSTER flags it "
               "(generation 2, config differs)", None, rows)

        # --- Redis down ---------------------------------------------------
        la, lb = os.path.getsize(a.log), os.path.getsize(b.log)
        redis.kill()
        redis.wait()
        redis = None
        down = wait_for(lambda: a.metrics().get("cluster_redis_up") == 0
                        and b.metrics().get("cluster_redis_up") == 0, 5)
        tap.ok(down, "kill redis-server: both report myshard_cluster_redis_up"
               " 0")
        tap.ok(all("unreachable" in i.log_text()[o:] and "cache flushed"
                   in i.log_text()[o:] for i, o in ((a, la), (b, lb))),
               "both log that the cache is flushed and off")
        st = states(a.cluster())
        tap.ok(st.get("(redis)", "").startswith("down")
               and st.get("proxy-a") == "this instance, cache off",
               "SHOW CLUSTER says Redis is down and the cache off", None, st)
        h0 = (hits(a), hits(b))
        stale = rounds(a, b, 50, 20000, keys) + rounds(b, a, 50, 30000, keys)
        tap.ok(not stale, "with Redis down, writes and reads through both "
               "stay right", [], stale[:5])
        h1 = (hits(a), hits(b))
        tap.ok(h1 == h0, "and neither serves a cached row (hit counters "
               "unchanged)", h0, h1)

        # --- Redis back -----------------------------------------------------
        redis = start_redis(tmp, redis_port)
        tap.ok(redis is not None, "redis-server restarts on the same port")
        up = wait_for(lambda: a.metrics().get("cluster_redis_up") == 1
                      and b.metrics().get("cluster_redis_up") == 1, 10)
        tap.ok(up, "both resubscribe (myshard_cluster_redis_up 1)")
        tap.ok(a.metrics().get("cluster_reconnects_total", 0) >= 1
               and b.metrics().get("cluster_reconnects_total", 0) >= 1,
               "and count a reconnect")
        tap.ok(all("caching resumes" in i.log_text() for i in (a, b)),
               "and log that caching resumes")
        time.sleep(0.3)  # the first lease
        h0 = (hits(a), hits(b))
        stale = rounds(a, b, 100, 40000, keys) + rounds(b, a, 100, 50000,
                                                         keys)
        tap.ok(not stale, "100 rounds each way after the restart: no old "
               "row", [], stale[:5])
        h1 = (hits(a), hits(b))
        tap.ok(h1[0] - h0[0] >= 50 and h1[1] - h0[1] >= 50,
               "and both serve from their caches again", ">= 50 each",
               (h1[0] - h0[0], h1[1] - h0[1]))
        both = wait_for(lambda: {"proxy-a", "proxy-b"} <= set(
            states(a.cluster())), 5)
        tap.ok(both, "SHOW CLUSTER lists both again")

        # --- Redis hung (SIGSTOP): the lease runs out ----------------------
        for k in keys:
            b.value(k)
        redis.send_signal(signal.SIGSTOP)
        try:
            time.sleep(1.3)  # past the lease of the last PONG
            h0 = hits(b)
            for _ in range(10):
                for k in keys:
                    b.value(k)
            h1 = hits(b)
            tap.ok(h1 == h0, "Redis stopped (SIGSTOP): once its lease has "
                   "run out B serves no cached row", h0, h1)
            tap.ok(wait_for(lambda: b.metrics().get("cluster_redis_up") == 0,
                            5), "and gives Redis up after 3 s without PONG")
        finally:
            redis.send_signal(signal.SIGCONT)
        tap.ok(wait_for(lambda: a.metrics().get("cluster_redis_up") == 1
                        and b.metrics().get("cluster_redis_up") == 1, 10),
               "SIGCONT: both are subscribed again")
        stale = rounds(a, b, 50, 60000, keys)
        tap.ok(not stale, "and 50 more rounds see no old row", [], stale[:5])

        for inst in (a, b):
            rc = inst.stop()
            tap.ok(rc == 0, "%s exits 0 on SIGTERM" % inst.name, 0, rc)
            tap.ok(not re.search(r"AddressSanitizer|LeakSanitizer|runtime "
                                 r"error", inst.log_text()),
                   "%s's log has no sanitizer report" % inst.name)
        a = b = None
    except Exception:
        tap.ok(False, "cluster_test raised")
        tap.diag(traceback.format_exc(limit=6))
    finally:
        for inst in (a, b):
            if inst is not None:
                inst.stop()
        if redis is not None:
            redis.kill()
            redis.wait()
        try:
            for var in ("S0_PRIMARY_PORT", "S1_PRIMARY_PORT"):
                d = backend(var)
                with d.cursor() as c:
                    c.execute("DROP DATABASE IF EXISTS " + DB)
                d.close()
        except Exception:
            pass
        if tap.failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tap.diag("kept: %s" % tmp)


if __name__ == "__main__":
    main()
    sys.exit(tap.done())
