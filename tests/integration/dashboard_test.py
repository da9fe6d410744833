#!/usr/bin/python3
"""The live dashboard (GET / on admin.http) in a real browser: Debian's
headless chromium, driven over the Chrome DevTools Protocol
(python3-websocket).

A private myshard (its own config and ports, in front of the rig's four
MariaDB servers, replicas reading) serves the page, while a load thread
runs statements through it: point reads, scatter counts, statements of a
rate-limited user (some refused with 1226) and a statement whose digest
carries markup. The checks:
  - the page renders: it polled /status and /status/history and drew them,
    with no script error and no CSP violation in the console;
  - it is served with a Content-Security-Policy allowing no inline code
    but its own (by hash) and fetch() to its own origin only;
  - the backends table lists every server of the rig, under its shard;
  - the charts have lines, the pools, users and digests tables rows;
  - a digest with markup is shown as text: no element made from it, no
    script run;
  - a killed replica (SIGKILL to its mariadbd) turns red within a few
    seconds (the time is printed), and green again once it is restarted.
A full-page PNG is taken while the replica is red: MYSHARD_TEST_DIR/
dashboard.png, and also MYSHARD_DASHBOARD_PNG when set (the README's
picture, docs/dashboard.png, is taken so).

Environment: the rig's (tools/test.sh): MYSHARD_BIN, MARIADB_ENV,
MARIADB_DIR, S0_PRIMARY_PORT ... S1_REPLICA_PORT, BACKEND_USER,
BACKEND_PASSWORD, MYSHARD_TEST_DIR. TAP output; exit status 1 if any
check failed.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

from taplib import free_ports, wait_port

HOST = "127.0.0.1"
RED_WITHIN_S = 10  # "a few seconds": health checks run every 500 ms here
GREEN_WITHIN_S = 60  # a restarted mariadbd takes a while to answer again
WIDTH = 1360


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, name, expected=None, got=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name),
              flush=True)
        if not cond and (expected is not None or got is not None):
            self.diag("expected %r, got %r" % (expected, got))
        return cond

    def fail_exc(self, name):
        self.ok(False, name + " (raised)")
        self.diag(traceback.format_exc(limit=4))

    def done(self):
        print("1..%d" % self.n, flush=True)
        if self.failed:
            self.diag("dashboard_test: %d of %d failed" % (self.failed, self.n))
        return 1 if self.failed else 0


tap = Tap()


def http_get(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


# ------------------------------------------------------------ the browser


class Cdp:
    """A Chrome DevTools Protocol session on one page target."""

    def __init__(self, ws_url):
        import websocket  # python3-websocket

        # chromium refuses DevTools websockets that send an Origin header
        self.ws = websocket.create_connection(ws_url, timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        """The value of a JavaScript expression (JSON-serializable)."""
        r = self.call("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait_for(self, expr, timeout, step=0.1):
        """Polls expr until truthy; returns (value, seconds) or (None, None)."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            v = self.eval(expr)
            if v:
                return v, time.time() - t0
            time.sleep(step)
        return None, None

    def problems(self):
        """Console errors, uncaught exceptions and CSP reports so far."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s" % p["entry"].get("text"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console.error: %s" % p.get("args"))
        return out

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def start_browser(tmp):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise RuntimeError("no chromium (apt-get install chromium)")
    profile = os.path.join(tmp, "chromium")
    os.makedirs(profile)
    log = open(os.path.join(tmp, "chromium.log"), "w")
    # root in CI: no sandbox; no network: nothing in the background
    proc = subprocess.Popen(
        [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run",
         "--no-default-browser-check", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--force-color-profile=srgb", "--window-size=%d,900" % WIDTH,
         "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "--user-data-dir=" + profile,
         "about:blank"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    end = time.time() + 60
    while time.time() < end and proc.poll() is None:
        try:
            with open(port_file) as f:
                port = int(f.readline())
            break
        except (OSError, ValueError):
            time.sleep(0.2)
    else:
        raise RuntimeError("chromium did not open its DevTools port (see %s)"
                           % log.name)
    end = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                        timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return proc, Cdp(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.time() > end:
            raise RuntimeError("chromium has no page target")
        time.sleep(0.2)


def stop_proc(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        return proc.wait()


# ------------------------------------------------------------ the proxy

CONFIG = """\
# dashboard_test.py's own myshard: the rig's servers, replicas reading
listen: 127.0.0.1:{port}
workers: 2
shutdown_timeout: 5s
admin:
  listen: 127.0.0.1:{admin}
  http: 127.0.0.1:{http}
  user: admin
  password: dash-admin
users:
  - name: app
    password: app
    schemas: [shop]
  - name: limited
    password: limited
    schemas: [shop]
    rate_limit: {{ algorithm: token_bucket, rate: 20, burst: 5 }}
backend:
  user: {buser}
  password: {bpass}
  connect_timeout: 1s
  pool:
    max_connections: 20
  health: {{ interval: 500ms, max_replica_lag: 2s, circuit: {{ failures: 3, open_for: 2s }} }}
shards:
  - name: s0
    primary: 127.0.0.1:{s0p}
    replicas: [{{ addr: 127.0.0.1:{s0r}, weight: 1 }}]
  - name: s1
    primary: 127.0.0.1:{s1p}
    replicas: [{{ addr: 127.0.0.1:{s1r}, weight: 1 }}]
sharding_rules:
  id_mod: {{ type: mod, shards: [s0, s1] }}
schemas:
  - name: shop
    default_shard: s0
    tables:
      - {{ name: dash_items, key: id, rule: id_mod }}
"""

XSS_ALIAS = "<img src=x onerror=window.__xss=1>"


def connect(port, user, password):
    import pymysql

    return pymysql.connect(host=HOST, port=port, user=user, password=password,
                           database="shop", autocommit=True,
                           connect_timeout=10, read_timeout=20,
                           write_timeout=20)


class Load(threading.Thread):
    """Statements through the proxy until stopped (bounded: 10 ms apart,
    for at most max_s seconds)."""

    def __init__(self, port, max_s=180):
        super().__init__(daemon=True)
        self.port = port
        self.max_s = max_s
        self.stop = threading.Event()
        self.done = 0
        self.refused = 0
        self.errors = []

    def run(self):
        import pymysql

        app = limited = None
        t0 = time.time()
        i = 0
        while not self.stop.is_set() and time.time() - t0 < self.max_s:
            i += 1
            try:
                if app is None:
                    app = connect(self.port, "app", "app")
                if limited is None:
                    limited = connect(self.port, "limited", "limited")
                with app.cursor() as c:
                    c.execute("SELECT id, name FROM dash_items WHERE id = %s",
                              (i % 50,))
                    c.fetchall()
                    if i % 10 == 0:
                        c.execute("SELECT COUNT(*) FROM dash_items")
                        c.fetchall()
                    if i % 25 == 0:
                        c.execute("SELECT id AS `%s` FROM dash_items "
                                  "WHERE id = %%s" % XSS_ALIAS, (i % 50,))
                        c.fetchall()
                try:
                    with limited.cursor() as c:
                        c.execute("SELECT 1")
                        c.fetchall()
                except pymysql.err.OperationalError as e:
                    if e.args[0] != 1226:
                        raise
                    self.refused += 1
                self.done += 1
            except Exception as e:  # a replica dying under a read, etc.
                self.errors.append(repr(e))
                for conn in (app, limited):
                    try:
                        conn and conn.close()
                    except Exception:
                        pass
                app = limited = None
                time.sleep(0.2)
            time.sleep(0.01)
        for conn in (app, limited):
            try:
                conn and conn.close()
            except Exception:
                pass


def mariadb_env(*args):
    return subprocess.run([os.environ["MARIADB_ENV"], *args,],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=180)


# JavaScript probes of the page
ROWS_JS = """Array.from(document.querySelectorAll('#backends tbody tr[data-addr]'))
  .map(function (tr) { return {addr: tr.getAttribute('data-addr'),
    state: tr.getAttribute('data-state'), cls: tr.className,
    bg: getComputedStyle(tr.cells[0]).backgroundColor}; })"""
RED_BG = "rgb(251, 227, 226)"  # tr.bad td in dashboard.html


def row_js(addr, cond):
    """The row of addr when cond (JavaScript on its fields, as r) holds."""
    return ("(function () { var r = %s.filter(function (x) { return x.addr === %s; })[0];"
            " return r && (%s) ? r : null; })()" % (ROWS_JS, json.dumps(addr), cond))


def main():
    env = os.environ
    tmp = tempfile.mkdtemp(prefix="dashboard_test.")
    servers = {name: "127.0.0.1:%s" % env[name.upper().replace("-", "_") + "_PORT"]
               for name in ("s0-primary", "s0-replica", "s1-primary", "s1-replica")}
    port, admin, hport = free_ports(3)
    cfg = os.path.join(tmp, "myshard.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(port=port, admin=admin, http=hport,
                              buser=env.get("BACKEND_USER", "myshard"),
                              bpass=env.get("BACKEND_PASSWORD", "secret"),
                              s0p=env["S0_PRIMARY_PORT"], s0r=env["S0_REPLICA_PORT"],
                              s1p=env["S1_PRIMARY_PORT"], s1r=env["S1_REPLICA_PORT"]))
    log_path = os.path.join(tmp, "myshard.log")
    proxy = browser = cdp = load = None
    killed = False
    try:
        with open(log_path, "w") as log:
            proxy = subprocess.Popen([env["MYSHARD_BIN"], "-c", cfg],
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log)
        if not tap.ok(wait_port(port, 15, proxy) and wait_port(hport, 5, proxy),
                      "a private myshard starts (log %s)" % log_path):
            return
        conn = connect(port, "app", "app")
        with conn.cursor() as c:
            c.execute("DROP TABLE IF EXISTS dash_items")
            c.execute("CREATE TABLE dash_items (id INT PRIMARY KEY, "
                      "name VARCHAR(64))")
            for i in range(50):
                c.execute("INSERT INTO dash_items (id, name) VALUES (%s, %s)",
                          (i, "item %d" % i))
        conn.close()
        load = Load(port)
        load.start()

        # the page as served: HTML, and a CSP with no blanket inline code
        status, headers, body = http_get(hport, "/")
        csp = headers.get("content-security-policy", "")
        tap.ok(status == 200 and headers.get("content-type", "").startswith("text/html")
               and b"<script>" in body, "GET / is the dashboard page (text/html)",
               200, (status, headers.get("content-type")))
        tap.ok("default-src 'none'" in csp and "connect-src 'self'" in csp
               and "script-src 'sha256-" in csp and "unsafe" not in csp,
               "GET / has a Content-Security-Policy: own origin, its own inline "
               "script and style by hash", None, csp)

        browser, cdp = start_browser(tmp)
        tap.ok(True, "headless chromium runs, driven over DevTools")
        cdp.call("Runtime.enable")
        cdp.call("Log.enable")
        cdp.call("Page.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=900,
                 deviceScaleFactor=1, mobile=False)
        time.sleep(12)  # some seconds of samples for the charts
        cdp.call("Page.navigate", url="http://127.0.0.1:%d/" % hport)
        n, secs = cdp.wait_for(
            "Number(document.body && document.body.getAttribute('data-updates') || 0) >= 2",
            20)
        if not tap.ok(bool(n), "the page renders: it polled /status and "
                      "/status/history and drew them"):
            tap.diag("page text: %s" % cdp.eval("document.body && document.body.innerText"))
            return

        # every server of the rig, under its shard
        rows = cdp.eval(ROWS_JS)
        listed = sorted(r["addr"] for r in rows)
        tap.ok(listed == sorted(servers.values()),
               "the backends table lists every server of the rig",
               sorted(servers.values()), listed)
        order = cdp.eval("Array.from(document.querySelectorAll('#backends tbody tr'))"
                         ".map(function (tr) { return tr.getAttribute('data-addr') || "
                         "'[' + tr.textContent + ']'; })")
        tap.ok(order == ["[s0]", servers["s0-primary"], servers["s0-replica"],
                         "[s1]", servers["s1-primary"], servers["s1-replica"]],
               "each shard's row, then its primary and its replica", None, order)
        tap.ok(all(r["state"] == "online" and r["cls"] == "ok" for r in rows),
               "all four are online, none red", None, rows)

        # the other panels have data
        cdp.wait_for("document.querySelectorAll('#chart-qps polyline').length > 0 && "
                     "document.querySelectorAll('#chart-limits polyline').length > 0", 10)
        charts = cdp.eval("['qps','p99','errors','limits'].map(function (c) {"
                          " return document.querySelectorAll('#chart-' + c + ' polyline').length; })")
        tap.ok(charts == [1, 1, 1, 1], "the four charts (qps, p99, errors, "
               "rate-limit refusals) have lines", [1, 1, 1, 1], charts)
        pools = cdp.eval("document.querySelectorAll('#pools tbody tr').length")
        tap.ok(pools == 4, "the pools table has a row per server", 4, pools)
        users, _ = cdp.wait_for(
            "(function () { var r = Array.from(document.querySelectorAll('#users tbody tr'))"
            ".filter(function (tr) { return tr.cells[0].textContent === 'limited'; })[0];"
            " return r && Number(r.cells[4].textContent) > 0 ? r.cells[4].textContent : null; })()",
            15)
        tap.ok(bool(users), "the users table shows the limited user's rate-limit "
               "refusals (%s; the load saw %d)" % (users, load.refused))

        # user SQL is text: the digest with markup made no element, ran nothing
        found, _ = cdp.wait_for(
            "Array.from(document.querySelectorAll('#digests td.sql'))"
            ".filter(function (td) { return td.textContent.indexOf(%s) >= 0; }).length"
            % json.dumps(XSS_ALIAS), 15)
        shown = cdp.eval("Array.from(document.querySelectorAll('#digests td.sql'))"
                         ".map(function (td) { return td.textContent; })")
        st = json.loads(http_get(hport, "/status")[2])
        tap.ok(bool(found) and cdp.eval("document.querySelectorAll('#digests img').length") == 0
               and cdp.eval("typeof window.__xss") == "undefined",
               "a digest with markup is shown as text: no element, no script run",
               None, shown[:3])
        tap.ok(set(shown) <= set(d["digest"] for d in st["digests"]) and len(shown) > 0,
               "the digests shown are /status's, as they are", None, shown[:3])

        # kill the replica: its row turns red
        victim = servers["s0-replica"]
        r = mariadb_env("kill", env["MARIADB_DIR"], "s0-replica")
        killed = True
        if not tap.ok(r.returncode == 0, "SIGKILL to s0-replica's mariadbd"):
            tap.diag(r.stdout + r.stderr)
        red, secs = cdp.wait_for(row_js(victim, "r.cls === 'bad' && r.bg === %s"
                                        % json.dumps(RED_BG)), RED_WITHIN_S)
        tap.ok(bool(red), "the killed replica's row turns red within %d s "
               "(took %s s, state %s)" % (RED_WITHIN_S,
                                          "%.1f" % secs if secs else "-",
                                          red and red["state"]), None, cdp.eval(ROWS_JS))
        others = [x for x in cdp.eval(ROWS_JS) if x["addr"] != victim]
        tap.ok(all(x["cls"] != "bad" for x in others), "the other three stay "
               "out of the red", None, others)

        time.sleep(1.5)  # one more poll, so the tiles show it too
        height = cdp.eval("Math.ceil(document.documentElement.scrollHeight)")
        cdp.call("Emulation.setDeviceMetricsOverride", width=WIDTH,
                 height=int(height), deviceScaleFactor=1, mobile=False)
        time.sleep(0.5)
        png = base64.b64decode(cdp.call("Page.captureScreenshot", format="png")["data"])
        out = os.path.join(env.get("MYSHARD_TEST_DIR") or tmp, "dashboard.png")
        for path in [out] + ([env["MYSHARD_DASHBOARD_PNG"]]
                             if env.get("MYSHARD_DASHBOARD_PNG") else []):
            with open(path, "wb") as f:
                f.write(png)
        tap.ok(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000,
               "a full-page screenshot (%d bytes, %s)" % (len(png), out))

        # back up: green again
        r = mariadb_env("up", env["MARIADB_DIR"], "s0-replica")
        if tap.ok(r.returncode == 0, "s0-replica restarted"):
            killed = False
        else:
            tap.diag(r.stdout + r.stderr)
        green, secs = cdp.wait_for(row_js(victim, "r.cls === 'ok'"), GREEN_WITHIN_S,
                                   step=0.5)
        tap.ok(bool(green), "once restarted, its row is green again (took %s s)"
               % ("%.1f" % secs if secs else "-"))

        problems = cdp.problems()
        tap.ok(not problems, "no script error and no CSP violation in the "
               "browser's console", [], problems)
    except Exception:
        tap.fail_exc("dashboard test")
    finally:
        if load is not None:
            load.stop.set()
            load.join(30)
            if load.errors:
                tap.diag("load: %d statements, %d refused by the rate limit, "
                         "%d errors (first: %s)" % (load.done, load.refused,
                                                    len(load.errors), load.errors[0]))
        if killed:
            mariadb_env("up", env["MARIADB_DIR"], "s0-replica")
        if cdp is not None:
            cdp.close()
        stop_proc(browser)
        if proxy is not None:
            try:
                conn = connect(port, "app", "app")
                with conn.cursor() as c:
                    c.execute("DROP TABLE IF EXISTS dash_items")
                conn.close()
            except Exception as e:
                tap.diag("drop dash_items: %r" % e)
            proxy.send_signal(signal.SIGTERM)
            try:
                rc = proxy.wait(20)
            except subprocess.TimeoutExpired:
                proxy.kill()
                rc = proxy.wait()
            tap.ok(rc == 0, "the private myshard exits 0 on SIGTERM", 0, rc)
            with open(log_path, errors="replace") as f:
                text = f.read()
            bad = [l for l in text.splitlines()
                   if "Sanitizer" in l or "runtime error" in l]
            tap.ok(not bad, "its log has no sanitizer report", [], bad[:5])
        if not tap.failed:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tap.diag("kept %s" % tmp)


if __name__ == "__main__":
    main()
    sys.exit(tap.done())
