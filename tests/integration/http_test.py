#!/usr/bin/python3
"""The admin port's HTTP side (admin.http) of the shared test myshard: runs
a few statements through the proxy with PyMySQL, then checks GET /metrics
with the official Prometheus parser (python3-prometheus-client): the
families PRODUCT.md names, HELP and TYPE on each, myshard_queries_total
grown by at least the statements run; GET /status as JSON with both shards
and four backends; GET /healthz 200; GET /nope 404; POST 405; HEAD; a
foreign Host (DNS rebinding) 403, listed names and address literals 200.

Every request has a timeout, so a proxy that does not serve HTTP yet fails
each check quickly (connection refused) instead of hanging.

Environment: MYSHARD_HOST, MYSHARD_HTTP_PORT, MYSHARD_PORT, MYSHARD_USER,
MYSHARD_PASSWORD, MYSHARD_DB, MYSHARD_EXPECT_PROXY (see tools/test.sh).
TAP output; exit status 1 if any check failed.
"""

import http.client
import json
import os
import sys
import traceback

HOST = os.environ.get("MYSHARD_HOST") or "127.0.0.1"
HTTP_PORT = int(os.environ.get("MYSHARD_HTTP_PORT") or 6080)
PORT = int(os.environ.get("MYSHARD_PORT") or 6033)
USER = os.environ.get("MYSHARD_USER") or "app"
PASSWORD = os.environ.get("MYSHARD_PASSWORD") or "app"
DB = os.environ.get("MYSHARD_DB") or "shop"
PROXY = os.environ.get("MYSHARD_EXPECT_PROXY") == "1"
TIMEOUT = 10  # seconds, for every HTTP request and the MySQL connection

STATEMENTS = 25  # run through myshard between two scrapes

# Families /metrics must have (PRODUCT.md "Admin console" and the team's
# list), as the parser names them: counters lose their _total suffix.
FAMILIES = {
    "myshard_queries": "counter",
    "myshard_query_duration_seconds": "histogram",
    "myshard_client_connections": "gauge",
    "myshard_backend_connections": "gauge",
    "myshard_backend_up": "gauge",
    "myshard_replica_lag_seconds": "gauge",
    "myshard_circuit_open": "gauge",
    "myshard_pool_waiting": "gauge",
    "myshard_pins": "counter",
    "myshard_user_queries": "counter",
    "myshard_user_connections": "gauge",
    "myshard_rate_limited": "counter",
    "myshard_uptime_seconds": "gauge",
    "myshard_connections": "counter",
    "myshard_errors": "counter",
}


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

    def eq(self, got, expected, name):
        return self.ok(got == expected, name, expected, got)

    def fail_exc(self, name):
        e = sys.exc_info()[1]
        self.ok(False, name + " (raised)")
        if isinstance(e, OSError) or type(e).__module__.startswith("pymysql"):
            # refused, reset, timed out: say which
            self.diag("%s: %s" % (type(e).__name__, e))
        else:
            self.diag(traceback.format_exc(limit=3))

    def done(self):
        print("1..%d" % self.n, flush=True)
        if self.failed:
            self.diag("http_test: %d of %d failed" % (self.failed, self.n))
        return 1 if self.failed else 0


tap = Tap()


def request(method, path, body=None, host=None):
    """One request on a fresh connection; returns (status, headers, body).
    host: the Host header to send instead of HOST:HTTP_PORT. Raises on a
    refused connection or a timeout."""
    conn = http.client.HTTPConnection(HOST, HTTP_PORT, timeout=TIMEOUT)
    headers = {"Accept": "*/*", "User-Agent": "http_test"}
    if host is not None:
        headers["Host"] = host
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def scrape():
    """GET /metrics parsed: {family name: Metric}. Raises on failure."""
    from prometheus_client.parser import text_string_to_metric_families

    status, headers, data = request("GET", "/metrics")
    if status != 200:
        raise RuntimeError("GET /metrics: status %d" % status)
    text = data.decode("utf-8")
    return headers, text, {f.name: f for f in
                           text_string_to_metric_families(text)}


def total(fams, family, sample, **labels):
    """Sum of a family's samples named sample whose labels include labels."""
    f = fams.get(family)
    if f is None:
        return None
    return sum(s.value for s in f.samples
               if s.name == sample and
               all(s.labels.get(k) == v for k, v in labels.items()))


def run_statements():
    """Runs STATEMENTS statements through myshard; returns how many ran."""
    import pymysql

    conn = pymysql.connect(host=HOST, port=PORT, user=USER,
                           password=PASSWORD, database=DB,
                           connect_timeout=TIMEOUT, read_timeout=TIMEOUT,
                           write_timeout=TIMEOUT, autocommit=True)
    ran = 0
    try:
        with conn.cursor() as c:
            for i in range(STATEMENTS):
                c.execute("SELECT %s", (i,))
                c.fetchall()
                ran += 1
    finally:
        conn.close()
    return ran


def check_metrics():
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        tap.ok(False, "python3-prometheus-client is installed")
        return
    try:
        headers, _, before = scrape()
    except Exception:
        tap.fail_exc("GET /metrics answers and parses (before)")
        return
    tap.ok(True, "GET /metrics answers and parses with prometheus_client")
    ctype = headers.get("content-type", "")
    tap.ok(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
           "/metrics Content-Type is text/plain; version=0.0.4", None, ctype)

    try:
        ran = run_statements()
        tap.eq(ran, STATEMENTS, "%d statements ran through myshard"
               % STATEMENTS)
    except Exception:
        tap.fail_exc("statements through myshard")
        ran = 0

    try:
        _, text, after = scrape()
    except Exception:
        tap.fail_exc("GET /metrics answers and parses (after)")
        return

    for name, typ in sorted(FAMILIES.items()):
        f = after.get(name)
        tap.ok(f is not None and f.type == typ and f.documentation,
               "family %s (%s) with HELP and TYPE" % (name, typ), typ,
               None if f is None else (f.type, f.documentation))
    foreign = [line for line in text.splitlines()
               if line.startswith("# TYPE ") and
               not line.split()[2].startswith("myshard_")]
    tap.ok(not foreign, "every family is named myshard_*", [], foreign[:3])

    q0 = total(before, "myshard_queries", "myshard_queries_total") or 0
    q1 = total(after, "myshard_queries", "myshard_queries_total") or 0
    tap.ok(q1 - q0 >= ran and ran > 0,
           "myshard_queries_total grew by at least %d" % ran,
           ">= %d" % ran, q1 - q0)
    sel = total(after, "myshard_queries", "myshard_queries_total",
                user=USER, kind="select")
    tap.ok(sel is not None and sel >= ran and ran > 0,
           "myshard_queries_total{user=%s,kind=select} counts them" % USER,
           ">= %d" % ran, sel)
    c0 = total(before, "myshard_query_duration_seconds",
               "myshard_query_duration_seconds_count") or 0
    c1 = total(after, "myshard_query_duration_seconds",
               "myshard_query_duration_seconds_count") or 0
    tap.ok(c1 - c0 >= ran and ran > 0,
           "myshard_query_duration_seconds_count grew by at least %d" % ran,
           ">= %d" % ran, c1 - c0)

    h = after.get("myshard_query_duration_seconds")
    if h is not None:
        buckets = [(float(s.labels["le"]), s.value) for s in h.samples
                   if s.name.endswith("_bucket")]
        count = total(after, "myshard_query_duration_seconds",
                      "myshard_query_duration_seconds_count")
        tap.ok(buckets and buckets[-1][0] == float("inf") and
               buckets[-1][1] == count and
               all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
               "histogram buckets are cumulative and +Inf equals _count",
               None, (buckets[-3:], count))

    up = after.get("myshard_backend_up")
    tap.eq(len(up.samples) if up else 0, 4, "myshard_backend_up: 4 backends")


def check_status():
    try:
        status, headers, data = request("GET", "/status")
    except Exception:
        tap.fail_exc("GET /status answers")
        return
    tap.eq(status, 200, "GET /status is 200")
    tap.ok(headers.get("content-type", "").startswith("application/json"),
           "/status Content-Type is application/json", None,
           headers.get("content-type"))
    try:
        doc = json.loads(data.decode("utf-8"))
    except Exception:
        tap.fail_exc("/status is JSON")
        return
    tap.ok(True, "/status is JSON")
    shards = doc.get("shards") or []
    tap.eq(sorted(s.get("name") for s in shards), ["s0", "s1"],
           "/status lists both shards")
    tap.ok(all(s.get("primary") and len(s.get("replicas") or []) == 1
               for s in shards), "each shard has a primary and one replica")
    backends = doc.get("backends") or []
    tap.eq(len(backends), 4, "/status lists 4 backends")
    tap.eq(sorted(b.get("role") for b in backends),
           ["primary", "primary", "replica", "replica"],
           "two primaries and two replicas")
    tap.ok(all(b.get("shard") in ("s0", "s1") and b.get("state")
               for b in backends), "each backend names its shard and state")
    tap.ok(isinstance(doc.get("pools"), list), "/status has pools")
    tap.ok(isinstance(doc.get("version"), str) and doc.get("version"),
           "/status has the version")


def check_pages():
    for method, path, want, name in (
            ("GET", "/healthz", 200, "GET /healthz is 200"),
            ("GET", "/nope", 404, "GET /nope is 404"),
            ("POST", "/metrics", 405, "POST /metrics is 405"),
            ("GET", "/metrics?name[]=x", 200, "a query string is ignored"),
    ):
        try:
            status, _, _ = request(method, path,
                                   body=b"x=1" if method == "POST" else None)
            tap.eq(status, want, name)
        except Exception:
            tap.fail_exc(name)
    try:
        status, headers, data = request("HEAD", "/metrics")
        tap.ok(status == 200 and data == b"" and
               int(headers.get("content-length", "0")) > 0,
               "HEAD /metrics: 200, a length, no body", None,
               (status, headers.get("content-length"), len(data)))
    except Exception:
        tap.fail_exc("HEAD /metrics")


def check_hosts():
    """DNS rebinding: a page of rebound.example whose name now resolves to
    127.0.0.1 makes the browser send Host: rebound.example. Only address
    literals, localhost and admin.http_hosts (myshard-rig.test in the rig's
    config) are served."""
    try:
        status, _, data = request("GET", "/status",
                                  host="rebound.example:%d" % HTTP_PORT)
        tap.ok(status == 403 and b"admin.http_hosts" in data and
               b"rebound.example" in data and b"shards" not in data,
               "GET /status with Host rebound.example: 403 naming "
               "admin.http_hosts, no status", None, (status, data[:120]))
    except Exception:
        tap.fail_exc("GET /status with a foreign Host")
    for host, name in (("myshard-rig.test:%d" % HTTP_PORT,
                        "a name listed in admin.http_hosts"),
                       ("LOCALHOST:%d" % HTTP_PORT, "localhost"),
                       ("[::1]:%d" % HTTP_PORT, "an IPv6 literal")):
        try:
            status, _, data = request("GET", "/status", host=host)
            tap.ok(status == 200 and data.startswith(b"{"),
                   "GET /status with Host %s (%s): 200" % (host, name),
                   200, status)
        except Exception:
            tap.fail_exc("GET /status with Host " + host)


def main():
    print("# admin HTTP on %s:%d, myshard on %s:%d"
          % (HOST, HTTP_PORT, HOST, PORT), flush=True)
    if not PROXY:
        print("1..0 # SKIP the admin port is myshard's own", flush=True)
        return 0
    check_metrics()
    check_status()
    check_pages()
    check_hosts()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
