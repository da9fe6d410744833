#!/usr/bin/python3
"""The shipped Grafana dashboard (packaging/grafana/myshard.json) and
Prometheus alert rules (packaging/prometheus/alerts.yml) against the real
tools and a live myshard:
  - `promtool check rules` loads the rules, and `promtool test rules
    alerts_test.yml` shows each alert firing on series shaped like
    myshard's (and quiet before);
  - the rules cover backend down, circuit open, replica lag over the
    limit, pool wait timeouts and XA in doubt, each with a runbook line;
  - the dashboard is JSON Grafana imports (uid, panels with targets on the
    $datasource variable), and every one of its expressions is PromQL
    promtool accepts;
  - a live scrape of the shared test myshard's /metrics passes `promtool
    check metrics`, and every myshard_* series the dashboard or the rules
    name is in it.

Environment: MYSHARD_HTTP_PORT, MYSHARD_PORT, MYSHARD_USER,
MYSHARD_PASSWORD, MYSHARD_DB (the shared myshard, tools/test.sh),
MYSHARD_SRC (the checkout). TAP output; exit status 1 if any check failed.
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

SRC = os.environ.get("MYSHARD_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(SRC, "packaging/prometheus/alerts.yml")
RULES_TEST = os.path.join(SRC, "packaging/prometheus/alerts_test.yml")
DASHBOARD = os.path.join(SRC, "packaging/grafana/myshard.json")
HTTP_PORT = int(os.environ.get("MYSHARD_HTTP_PORT") or 6080)
NAME = re.compile(r"\bmyshard_[a-zA-Z0-9_]+")

# what the issue asks the rules to watch, by alert name
REQUIRED_ALERTS = {
    "MyshardBackendDown": "backend down",
    "MyshardCircuitOpen": "circuit open",
    "MyshardReplicaLagging": "replica lag over the limit",
    "MyshardPoolWaitTimeouts": "pool wait timeouts rising",
    "MyshardXaInDoubt": "XA in doubt",
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

    def done(self):
        print("1..%d" % self.n, flush=True)
        if self.failed:
            self.diag("grafana_test: %d of %d failed" % (self.failed, self.n))
        return 1 if self.failed else 0


tap = Tap()


def promtool(*args, stdin=None):
    r = subprocess.run(["promtool", *args], input=stdin, capture_output=True,
                       text=True, timeout=120, cwd=os.path.dirname(RULES))
    return r.returncode, r.stdout + r.stderr


def scrape():
    conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=10)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode("utf-8")
        if r.status != 200:
            raise RuntimeError("GET /metrics: %d" % r.status)
        return body
    finally:
        conn.close()


def served(text):
    """The series names of a scrape (sample lines, not comments)."""
    out = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            out.add(re.split(r"[{ ]", line, 1)[0])
    return out


def dashboard_exprs(dash):
    exprs = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                exprs.append((p.get("title"), t.get("expr", "")))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            # Grafana's label_values(series, label): the series is PromQL
            m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q.strip())
            exprs.append(("variable " + v["name"], m.group(1) if m else q))
    return exprs


def main():
    if not tap.ok(shutil.which("promtool") is not None,
                  "promtool is installed (Debian's prometheus package)"):
        return

    # ---- the rules
    rc, out = promtool("check", "rules", RULES)
    if not tap.ok(rc == 0, "promtool check rules packaging/prometheus/alerts.yml"):
        tap.diag(out)
    rc, out = promtool("test", "rules", RULES_TEST)
    if not tap.ok(rc == 0, "promtool test rules alerts_test.yml: each alert "
                  "fires on myshard-shaped series"):
        tap.diag(out)
    with open(RULES) as f:
        rules_doc = yaml.safe_load(f)
    rules = [r for g in rules_doc["groups"] for r in g["rules"] if "alert" in r]
    names = {r["alert"] for r in rules}
    missing = [what for alert, what in REQUIRED_ALERTS.items() if alert not in names]
    tap.ok(not missing, "the rules watch: %s" % ", ".join(REQUIRED_ALERTS.values()),
           [], missing)
    no_runbook = [r["alert"] for r in rules
                  if not str(r.get("annotations", {}).get("runbook", "")).strip()
                  or not r.get("annotations", {}).get("summary")]
    tap.ok(not no_runbook, "every rule has a summary and a runbook line", [], no_runbook)
    rule_names = set()
    for r in rules:
        rule_names |= set(NAME.findall(r["expr"]))

    # ---- the dashboard
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = dashboard_exprs(dash)
    panels = [p for p in dash.get("panels", []) if p.get("type") != "row"]
    tap.ok(dash.get("uid") and dash.get("title") and len(panels) >= 10,
           "the dashboard has a uid, a title and panels (%d)" % len(panels))
    untargeted = [p.get("title") for p in panels
                  if not any(t.get("expr") for t in p.get("targets", []))]
    tap.ok(not untargeted, "every panel queries something", [], untargeted)
    fixed_ds = [p.get("title") for p in panels
                if (p.get("datasource") or {}).get("uid") != "${datasource}"]
    tap.ok(not fixed_ds, "every panel uses the $datasource variable", [], fixed_ds)
    # every expression parses: as recording rules, with Grafana's
    # variables given values
    tmp = tempfile.mkdtemp(prefix="grafana_test.")
    try:
        rec = {"groups": [{"name": "dashboard", "rules": [
            {"record": "dashboard:expr_%d" % i,
             "expr": e.replace("$__rate_interval", "5m").replace("$instance", ".*")}
            for i, (_, e) in enumerate(exprs)]}]}
        path = os.path.join(tmp, "dashboard-exprs.yml")
        with open(path, "w") as f:
            yaml.safe_dump(rec, f)
        rc, out = promtool("check", "rules", path)
        if not tap.ok(rc == 0, "promtool parses every expression of the "
                      "dashboard (%d)" % len(exprs)):
            tap.diag(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dash_names = set()
    for _, e in exprs:
        dash_names |= set(NAME.findall(e))

    # ---- a live scrape, after a statement (myshard_queries_total has a
    # series per user, shard, role and kind seen, none before)
    try:
        import pymysql

        conn = pymysql.connect(
            host="127.0.0.1", port=int(os.environ.get("MYSHARD_PORT") or 6033),
            user=os.environ.get("MYSHARD_USER") or "app",
            password=os.environ.get("MYSHARD_PASSWORD") or "app",
            database=os.environ.get("MYSHARD_DB") or "shop", connect_timeout=10)
        with conn.cursor() as c:
            c.execute("SELECT 1")
        conn.close()
    except Exception as e:
        tap.diag("a statement through myshard failed: %r" % e)
    wanted = rule_names | dash_names
    have = set()
    text = ""
    deadline = time.time() + 15
    while True:
        # a replica's lag is served once its check has seen it: retry a
        # little for a rig whose replica was just restarted
        try:
            text = scrape()
            have = served(text)
        except Exception as e:
            tap.diag("scrape: %r" % e)
        if wanted <= have or time.time() > deadline:
            break
        time.sleep(1)
    rc, out = promtool("check", "metrics", stdin=text)
    if not tap.ok(bool(text) and rc == 0, "the live /metrics passes promtool check metrics"):
        tap.diag(out)
    absent = sorted(rule_names - have)
    tap.ok(not absent, "every series the rules name is in a live /metrics "
           "scrape (%d names)" % len(rule_names), [], absent)
    absent = sorted(dash_names - have)
    tap.ok(not absent, "every series the dashboard names is in a live /metrics "
           "scrape (%d names)" % len(dash_names), [], absent)
    families = {n for n in have if n.startswith("myshard_")}
    unused = sorted(f for f in families
                    if not any(f == d or f.startswith(d) or d.startswith(f)
                               for d in dash_names))
    if unused:
        tap.diag("served but not on the dashboard: %s" % ", ".join(unused))


if __name__ == "__main__":
    main()
    sys.exit(tap.done())
