#!/usr/bin/python3
"""Out of file descriptors: a myshard whose open-files limit is 200 faces a
crowd of 400 clients connecting at once. The clients it cannot take get
error 1040 at once, naming the open-files limit, instead of waiting in the
listen backlog; the log says so in a few lines (no accept storm: one line a
second at most, and the process does not spin); a client logged in before
the crowd still runs statements; once the crowd leaves, new clients log in
again.

A private myshard (its own config and ports, in front of the rig's s0
primary), started with RLIMIT_NOFILE 200 (soft and hard, so it cannot
raise it).

Environment: the rig's (tools/test.sh): MYSHARD_BIN, S0_PRIMARY_PORT,
BACKEND_USER, BACKEND_PASSWORD. TAP output; exit status 1 if any check
failed.
"""

import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

from taplib import Tap, free_ports, wait_port

HOST = "127.0.0.1"
LIMIT = 200
CROWD = 400

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 1
admin:
  listen: 127.0.0.1:{admin}
  http: 127.0.0.1:{http}
  user: admin
  password: fdlimit-admin
users:
  - {{ name: app, password: app, schemas: [shop] }}
backend:
  user: {buser}
  password: {bpass}
  pool: {{ max_connections: 4 }}
shards:
  - {{ name: s0, primary: 127.0.0.1:{s0p} }}
schemas:
  - {{ name: shop, default_shard: s0 }}
"""


tap = Tap()


def connect(port):
    import pymysql

    return pymysql.connect(host=HOST, port=port, user="app", password="app",
                           database="shop", autocommit=True,
                           connect_timeout=10, read_timeout=20)


def first_packet(sock):
    """The first packet the server sends: (payload) or None."""
    buf = b""
    while len(buf) < 4:
        chunk = sock.recv(4 - len(buf))
        if not chunk:
            return None
        buf += chunk
    n = buf[0] | buf[1] << 8 | buf[2] << 16
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def limit_fds():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def main():
    env = os.environ
    tmp = tempfile.mkdtemp(prefix="fdlimit_test.")
    port, admin, http = free_ports(3)
    cfg = os.path.join(tmp, "myshard.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(port=port, admin=admin, http=http,
                              buser=env.get("BACKEND_USER", "myshard"),
                              bpass=env.get("BACKEND_PASSWORD", "secret"),
                              s0p=env["S0_PRIMARY_PORT"]))
    log_path = os.path.join(tmp, "myshard.log")
    proxy = None
    crowd = []
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < CROWD + 100 and hard >= CROWD + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        with open(log_path, "w") as log:
            proxy = subprocess.Popen([env["MYSHARD_BIN"], "-c", cfg],
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, preexec_fn=limit_fds)
        if not tap.ok(wait_port(port, 15, proxy),
                      "a private myshard with 200 open files starts (log %s)"
                      % log_path):
            return
        early = connect(port)
        with early.cursor() as c:
            c.execute("SELECT 1")
            tap.ok(c.fetchall() == ((1,),), "a client logs in before the crowd")

        cpu0 = cpu_seconds(proxy.pid)
        t0 = time.time()
        for _ in range(CROWD):
            s = socket.socket()
            s.settimeout(10)
            s.setblocking(False)
            try:
                s.connect((HOST, port))
            except BlockingIOError:
                pass
            crowd.append(s)
        greeted = refused = silent = 0
        messages = set()
        deadline = time.time() + 5
        for s in crowd:
            s.setblocking(True)
            s.settimeout(max(0.05, deadline - time.time()))
            try:
                p = first_packet(s)
            except OSError:
                p = None
            if p is None:
                silent += 1
            elif p[0] == 0xFF:
                code = struct.unpack("<H", p[1:3])[0]
                if code == 1040:
                    refused += 1
                messages.add(p[9:].decode("utf-8", "replace"))
            else:
                greeted += 1
        elapsed = time.time() - t0
        tap.diag("greeted %d, refused %d, no answer %d, in %.2f s"
                 % (greeted, refused, silent, elapsed))
        tap.ok(greeted > 100, "the proxy takes clients up to its limit",
               ">100", greeted)
        tap.ok(refused >= CROWD - LIMIT and greeted + refused == CROWD,
               "every other client of the crowd gets 1040 (none left "
               "waiting)", CROWD, (greeted, refused, silent))
        tap.ok(elapsed < 5, "and hears it within seconds", "< 5 s",
               round(elapsed, 2))
        tap.ok(any("open-files limit" in m for m in messages),
               "the error names the open-files limit", None, messages)
        # the crowd still holds its sockets: the condition lasts a second
        time.sleep(1.5)
        cpu = cpu_seconds(proxy.pid) - cpu0
        tap.ok(cpu < 0.5, "the proxy does not spin while out of descriptors "
               "(%.2f s of CPU over %.1f s)" % (cpu, time.time() - t0))
        with open(log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        lines = [l for l in text.splitlines() if "accept failed" in l]
        tap.ok(1 <= len(lines) <= 5,
               "the log says so in a few lines (one a second at most)",
               "1..5", len(lines))
        tap.ok(any("LimitNOFILE" in l for l in lines),
               "the log line says what to raise", None, lines[:1])
        with early.cursor() as c:
            c.execute("SELECT 2")
            tap.ok(c.fetchall() == ((2,),),
                   "the client logged in before still runs statements")
        for s in crowd:
            s.close()
        crowd = []
        time.sleep(0.5)
        late = None
        try:
            late = connect(port)
            with late.cursor() as c:
                c.execute("SELECT 3")
                tap.ok(c.fetchall() == ((3,),),
                       "once the crowd left, a new client logs in")
        except Exception as e:
            tap.ok(False, "once the crowd left, a new client logs in", None,
                   e)
        if late is not None:
            late.close()
        early.close()

        proxy.send_signal(signal.SIGTERM)
        rc = proxy.wait(timeout=20)
        proxy = None
        tap.ok(rc == 0, "myshard exits 0 on SIGTERM", 0, rc)
        with open(log_path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        tap.ok(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error",
                             text), "its log has no sanitizer report")
    except Exception:
        tap.ok(False, "fdlimit_test raised")
        tap.diag(traceback.format_exc(limit=4))
    finally:
        for s in crowd:
            s.close()
        if proxy is not None:
            proxy.kill()
            proxy.wait()
        if tap.failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tap.diag("kept: %s" % tmp)


if __name__ == "__main__":
    main()
    sys.exit(tap.done())
