#!/usr/bin/python3
"""cluster.redis: a user's rate limit counts across two myshard instances.

A private redis-server and two private myshard instances (the helpers of
cluster_test.py), user `app` limited to 200 statements/s (token bucket,
burst 20) and user `win` to 200 per 1 s fixed window. Each phase loads both
instances at once, 4 client threads each, for about 5 s, and counts the
statements answered against those refused with 1226:

- Redis up: both instances together are held to 200/s +-10% (not 200 each);
  through one instance alone, that one gets the whole 200/s (a shared
  budget, not a split one); the fixed window likewise, and a policy's
  sliding window (200 per 1 s on "SELECT id FROM items"); user `leak`'s
  leaky bucket of 100/s waits locally on its share, 50/s per instance;
- kill redis-server: both say so (log, myshard_cluster_limits_shared 0,
  SHOW CLUSTER "limits local 1/2") and each holds its share, 100/s +-10%;
- restart it: shared again, 200/s +-10% in total.

Environment: the rig's (tools/test.sh). TAP output; exit status 1 if any
check failed.
"""

import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_test as ct  # noqa: E402

ct.CONFIG = ct.CONFIG.replace(
    "  - {{ name: app, password: app, schemas: [{db}] }}\n",
    "  - {{ name: app, password: app, schemas: [{db}],\n"
    "       rate_limit: {{ algorithm: token_bucket, rate: 200, burst: 20 }} }}\n"
    "  - {{ name: win, password: win, schemas: [{db}],\n"
    "       rate_limit: {{ algorithm: fixed_window, rate: 200, window: 1s }} }}\n"
    "  - {{ name: pol, password: pol, schemas: [{db}] }}\n"
    "  - {{ name: leak, password: leak, schemas: [{db}],\n"
    "       rate_limit: {{ algorithm: leaky_bucket, rate: 100, max_wait: 0 }} }}\n"
).replace(
    "policies:\n",
    "policies:\n"
    "  - match: \"SELECT id FROM items\"\n"
    "    rate_limit: {{ algorithm: sliding_window, rate: 200, window: 1s }}\n")
tap = ct.tap
RATE = 200
WARM = 1.0   # seconds not counted (the burst, the first leases)
SPAN = 5.0   # seconds counted


def load(insts, user, span=SPAN, threads=4,
         sql="SELECT v FROM items WHERE id = 1"):
    """Loads every instance in insts with `threads` clients for WARM + span
    seconds; returns, per instance, the statements answered per second
    during the last span seconds, and the refusals (1226) counted."""
    import pymysql

    ok = {i.name: 0 for i in insts}
    refused = {i.name: 0 for i in insts}
    other = []
    lock = threading.Lock()
    start = time.time() + 0.5
    t_from, t_to = start + WARM, start + WARM + span

    def client(inst):
        conn = ct.connect(inst.port, user, user)
        n_ok = n_ref = 0
        try:
            with conn.cursor() as c:
                while time.time() < start:
                    time.sleep(0.01)
                while True:
                    now = time.time()
                    if now >= t_to:
                        break
                    try:
                        c.execute(sql)
                        c.fetchall()
                        if t_from <= now:
                            n_ok += 1
                    except pymysql.err.OperationalError as e:
                        if e.args[0] != 1226:
                            raise
                        if t_from <= now:
                            n_ref += 1
        except Exception as e:  # reported, never hidden
            with lock:
                other.append(repr(e))
        finally:
            conn.close()
        with lock:
            ok[inst.name] += n_ok
            refused[inst.name] += n_ref

    ts = [threading.Thread(target=client, args=(i,)) for i in insts
          for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if other:
        tap.diag("client errors: %s" % other[:3])
    return {k: v / span for k, v in ok.items()}, refused, other


def within(v, target, tol=0.10):
    return target * (1 - tol) <= v <= target * (1 + tol)


def main():
    env = os.environ
    tmp = tempfile.mkdtemp(prefix="cluster_limits_test.")
    (redis_port,) = ct.free_ports(1)
    redis = None
    a = b = None
    try:
        for var in ("S0_PRIMARY_PORT", "S1_PRIMARY_PORT"):
            d = ct.backend(var)
            with d.cursor() as c:
                c.execute("DROP DATABASE IF EXISTS " + ct.DB)
                c.execute("CREATE DATABASE " + ct.DB)
                c.execute("CREATE TABLE %s.items (id INT PRIMARY KEY, "
                          "v BIGINT)" % ct.DB)
                c.execute("INSERT INTO %s.items VALUES (1, 1), (2, 2)"
                          % ct.DB)
            d.close()
        redis = ct.start_redis(tmp, redis_port)
        if not tap.ok(redis is not None, "redis-server starts"):
            return
        a = ct.Instance(tmp, "proxy-a", redis_port, env)
        b = ct.Instance(tmp, "proxy-b", redis_port, env)
        if not tap.ok(a.start() and b.start(), "two instances start (logs "
                      "%s, %s)" % (a.log, b.log)):
            return
        both = ct.wait_for(lambda: all(
            {"proxy-a", "proxy-b"} <= set(ct.states(i.cluster()))
            for i in (a, b)), 10)
        tap.ok(both, "SHOW CLUSTER on each lists both")
        tap.ok(ct.wait_for(lambda: all(
            i.metrics().get("cluster_limits_shared") == 1 for i in (a, b)),
            5), "both count their limits through Redis "
            "(myshard_cluster_limits_shared 1)")
        st = ct.states(a.cluster())
        tap.ok(st.get("proxy-a") == "this instance, limits shared",
               "SHOW CLUSTER: this instance, limits shared", None, st)

        # --- shared ----------------------------------------------------------
        r, ref, err = load([a, b], "app")
        total = sum(r.values())
        tap.diag("shared, token bucket: A %.1f/s, B %.1f/s, refused %r"
                 % (r["proxy-a"], r["proxy-b"], ref))
        tap.ok(not err and within(total, RATE) and sum(ref.values()) > 0,
               "token bucket 200/s, both instances loaded: %.1f/s in total "
               "(200 +-10%%), the rest refused with 1226" % total,
               RATE, total)
        r, ref, err = load([a], "app")
        tap.ok(not err and within(r["proxy-a"], RATE),
               "through A alone: A gets the whole 200/s (%.1f/s)"
               % r["proxy-a"], RATE, r["proxy-a"])
        r, ref, err = load([a, b], "win")
        total = sum(r.values())
        tap.diag("shared, fixed window: A %.1f/s, B %.1f/s"
                 % (r["proxy-a"], r["proxy-b"]))
        tap.ok(not err and within(total, RATE),
               "fixed window 200 per 1 s, both loaded: %.1f/s in total "
               "(200 +-10%%)" % total, RATE, total)

        r, ref, err = load([a, b], "pol", sql="SELECT id FROM items WHERE id = 1")
        total = sum(r.values())
        tap.diag("shared, policy sliding window: A %.1f/s, B %.1f/s"
                 % (r["proxy-a"], r["proxy-b"]))
        tap.ok(not err and within(total, RATE),
               "a policy's sliding window 200 per 1 s, both loaded: %.1f/s "
               "in total (200 +-10%%)" % total, RATE, total)
        r, ref, err = load([a, b], "leak")
        tap.diag("leaky bucket 100/s: A %.1f/s, B %.1f/s"
                 % (r["proxy-a"], r["proxy-b"]))
        tap.ok(not err and within(r["proxy-a"], 50) and within(r["proxy-b"], 50),
               "leaky bucket 100/s stays local on its share: 50/s each "
               "(A %.1f/s, B %.1f/s)" % (r["proxy-a"], r["proxy-b"]), 50, r)

        # --- Redis down: the local share -------------------------------------
        la, lb = os.path.getsize(a.log), os.path.getsize(b.log)
        redis.kill()
        redis.wait()
        redis = None
        down = ct.wait_for(lambda: all(
            i.metrics().get("cluster_limits_shared") == 0 for i in (a, b)), 5)
        tap.ok(down, "kill redis-server: both report "
               "myshard_cluster_limits_shared 0")
        tap.ok(all(i.metrics().get("cluster_limit_share_divisor") == 2
                   for i in (a, b)),
               "and a share of 1/2 (myshard_cluster_limit_share_divisor 2)")
        tap.ok(all("enforces its share, 1/2 of each limit" in
                   i.log_text()[o:] for i, o in ((a, la), (b, lb))),
               "both log that they enforce their share")
        st = ct.states(a.cluster())
        tap.ok(st.get("proxy-a") == "this instance, cache off, limits "
               "local 1/2", "SHOW CLUSTER: limits local 1/2", None, st)
        r, ref, err = load([a, b], "app")
        tap.diag("Redis down: A %.1f/s, B %.1f/s" % (r["proxy-a"],
                                                    r["proxy-b"]))
        tap.ok(not err and within(r["proxy-a"], RATE / 2)
               and within(r["proxy-b"], RATE / 2),
               "each instance holds its share: A %.1f/s, B %.1f/s "
               "(100 +-10%% each)" % (r["proxy-a"], r["proxy-b"]),
               RATE / 2, r)

        # --- Redis back --------------------------------------------------------
        redis = ct.start_redis(tmp, redis_port)
        tap.ok(redis is not None, "redis-server restarts")
        up = ct.wait_for(lambda: all(
            i.metrics().get("cluster_limits_shared") == 1 for i in (a, b)), 10)
        tap.ok(up, "both count through Redis again")
        tap.ok(all("rate limits count across the instances" in
                   i.log_text()[o:] for i, o in ((a, la), (b, lb))),
               "and log it")
        r, ref, err = load([a, b], "app")
        total = sum(r.values())
        tap.diag("Redis back: A %.1f/s, B %.1f/s" % (r["proxy-a"],
                                                    r["proxy-b"]))
        tap.ok(not err and within(total, RATE),
               "shared again: %.1f/s in total (200 +-10%%)" % total,
               RATE, total)

        for inst in (a, b):
            rc = inst.stop()
            tap.ok(rc == 0, "%s exits 0 on SIGTERM" % inst.name, 0, rc)
            tap.ok(not re.search(r"AddressSanitizer|LeakSanitizer|runtime "
                                 r"error", inst.log_text()),
                   "%s's log has no sanitizer report" % inst.name)
        a = b = None
    except Exception:
        tap.ok(False, "cluster_limits_test raised")
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
                d = ct.backend(var)
                with d.cursor() as c:
                    c.execute("DROP DATABASE IF EXISTS " + ct.DB)
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
