#!/usr/bin/python3
"""log_format: json on a running myshard: every line its log gets is one
JSON object that python3's json module parses, and the lines about
statements (the slow statement, the query timeout) carry what a log
shipper needs: ts, level, thread, client, user, schema, digest and
duration_ms, with the digest's quotes, backslashes, line breaks and
non-ASCII text intact. Error lines (a reload refused, the file's errors)
are JSON too. A reload that switches log_format to text takes effect on
the next line, and one back to json too.

A private myshard (its own config and ports, in front of the rig's two
shard primaries) with slow_query_time 200ms and backend.query_timeout 1s.

Environment: the rig's (tools/test.sh): MYSHARD_BIN, S0_PRIMARY_PORT,
S1_PRIMARY_PORT, BACKEND_USER, BACKEND_PASSWORD. TAP output; exit status 1
if any check failed.
"""

import json
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

from taplib import Tap, free_ports, wait_port

HOST = "127.0.0.1"

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 2
shutdown_timeout: 5s
slow_query_time: 200ms
log_format: {fmt}
admin:
  listen: 127.0.0.1:{admin}
  http: 127.0.0.1:{http}
  user: admin
  password: logjson-admin
users:
  - {{ name: app, password: app, schemas: [shop] }}
backend:
  user: {buser}
  password: {bpass}
  connect_timeout: 1s
  query_timeout: 1s
shards:
  - {{ name: s0, primary: 127.0.0.1:{s0p} }}
  - {{ name: s1, primary: 127.0.0.1:{s1p} }}
sharding_rules:
  id_mod: {{ type: mod, shards: [s0, s1] }}
schemas:
  - name: shop
    default_shard: s0
    tables:
      - {{ name: logjson_items, key: id, rule: id_mod }}
"""

# an alias a client chose: quotes, a backslash, a line break that would
# start a fake log line, and text that is not ASCII
HOSTILE = 'we"ird\\ \nWARN fake=1 caf\u00e9 \u2603'


tap = Tap()


def connect(port):
    import pymysql

    return pymysql.connect(host=HOST, port=port, user="app", password="app",
                           database="shop", autocommit=True, charset="utf8mb4",
                           connect_timeout=10, read_timeout=20)


def log_lines(path, start):
    """The log's complete lines from byte offset start."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    return data.decode("utf-8", errors="strict").splitlines()


def wait_line(path, start, pred, timeout=10):
    """The first line from start for which pred holds, waiting for it."""
    end = time.time() + timeout
    while True:
        for line in log_lines(path, start):
            try:
                if pred(line):
                    return line
            except ValueError:
                pass
        if time.time() > end:
            return None
        time.sleep(0.1)


def json_obj(line):
    o = json.loads(line)
    return o if isinstance(o, dict) else None


def is_msg(msg):
    def pred(line):
        o = json_obj(line)
        return o is not None and o.get("msg") == msg
    return pred


STMT_FIELDS = ("ts", "level", "thread", "msg", "client", "user", "schema",
               "digest", "duration_ms")


def check_stmt_line(o, what, min_ms):
    """A statement's line carries every field, each of its type."""
    missing = [k for k in STMT_FIELDS if k not in o]
    tap.ok(not missing, "%s: the line has %s" % (what, ", ".join(STMT_FIELDS)),
           [], missing)
    tap.ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        str(o.get("ts"))) is not None
           and o.get("level") == "warn" and re.fullmatch(r"w\d+", str(o.get("thread")))
           is not None,
           "%s: ts is UTC with ms, level warn, thread a worker" % what, None,
           (o.get("ts"), o.get("level"), o.get("thread")))
    tap.ok(isinstance(o.get("client"), int) and o.get("user") == "app"
           and o.get("schema") == "shop",
           "%s: client id (a number), user and schema" % what, None,
           (o.get("client"), o.get("user"), o.get("schema")))
    d = o.get("duration_ms")
    tap.ok(isinstance(d, int) and min_ms <= d < 20000,
           "%s: duration_ms is a number, at least %d" % (what, min_ms), None, d)


def reload(proxy, path, cfg_text, log_path):
    start = os.path.getsize(log_path)
    with open(path + ".tmp", "w") as f:
        f.write(cfg_text)
    os.rename(path + ".tmp", path)
    proxy.send_signal(signal.SIGHUP)
    return wait_line(log_path, start, lambda l: "config reloaded" in l), start


def main():
    env = os.environ
    tmp = tempfile.mkdtemp(prefix="logjson_test.")
    port, admin, hport = free_ports(3)
    cfg = os.path.join(tmp, "myshard.yaml")
    values = dict(port=port, admin=admin, http=hport,
                  buser=env.get("BACKEND_USER", "myshard"),
                  bpass=env.get("BACKEND_PASSWORD", "secret"),
                  s0p=env["S0_PRIMARY_PORT"], s1p=env["S1_PRIMARY_PORT"])
    with open(cfg, "w") as f:
        f.write(CONFIG.format(fmt="json", **values))
    log_path = os.path.join(tmp, "myshard.log")
    proxy = None
    try:
        with open(log_path, "w") as log:
            proxy = subprocess.Popen([env["MYSHARD_BIN"], "-c", cfg],
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log)
        if not tap.ok(wait_port(port, 15, proxy),
                      "a private myshard with log_format: json starts (log %s)"
                      % log_path):
            return
        conn = connect(port)
        with conn.cursor() as c:
            # a slow statement whose digest holds the hostile alias
            c.execute("SELECT SLEEP(0.3) AS `%s`" % HOSTILE.replace("`", "``"))
            c.fetchall()
            # and one past backend.query_timeout: killed, error 1969
            err = None
            try:
                c.execute("SELECT SLEEP(3) AS timeout_probe")
                c.fetchall()
            except Exception as e:  # pymysql's OperationalError
                err = e.args[0] if e.args else e
            tap.ok(err == 1969, "a statement past query_timeout gets 1969",
                   1969, err)

        slow = wait_line(log_path, 0, lambda l: is_msg("slow statement")(l)
                         and "SLEEP" in json.loads(l).get("digest", "")
                         and "ird" in json.loads(l)["digest"])
        if tap.ok(slow is not None, "the slow statement is logged as JSON"):
            o = json.loads(slow)
            check_stmt_line(o, "slow statement", 300)
            tap.ok(HOSTILE in o["digest"],
                   "slow statement: the digest keeps the alias's quotes, "
                   "backslash, line break and non-ASCII text", HOSTILE,
                   o["digest"])
            tap.ok(o.get("route") is not None, "slow statement: its route",
                   None, o)

        tmo = wait_line(log_path, 0, is_msg("query timeout"))
        if tap.ok(tmo is not None, "the query timeout is logged as JSON"):
            o = json.loads(tmo)
            check_stmt_line(o, "query timeout", 900)
            tap.ok("SLEEP" in o.get("digest", "") and "timeout_probe" in o["digest"],
                   "query timeout: the digest is the statement's", None,
                   o.get("digest"))
            tap.ok(o.get("timeout_ms") == 1000 and isinstance(o.get("thread_id"), int),
                   "query timeout: timeout_ms and the backend's thread_id",
                   None, o)

        # every line so far: one object, with the common members
        lines = log_lines(log_path, 0)
        bad = []
        for line in lines:
            try:
                o = json_obj(line)
                if o is None or not all(k in o for k in ("ts", "level", "thread", "msg")):
                    bad.append(line)
            except ValueError:
                bad.append(line)
        tap.ok(len(lines) >= 3 and not bad,
               "every one of the %d lines is a JSON object with ts, level, "
               "thread and msg" % len(lines), [], bad[:5])

        # error lines: a reload of a broken file is refused, in JSON
        start = os.path.getsize(log_path)
        with open(cfg, "w") as f:
            f.write(CONFIG.format(fmt="json", **values).replace(
                "log_format: json", "log_fromat: text"))
        proxy.send_signal(signal.SIGHUP)
        refused = wait_line(log_path, start, lambda l: json_obj(l) is not None
                            and json_obj(l).get("msg", "").startswith(
                                "config reload refused"))
        errs = [json_obj(l) for l in log_lines(log_path, start)
                if l.startswith("{") and json_obj(l).get("level") == "error"]
        tap.ok(refused is not None and json_obj(refused)["level"] == "error",
               "a refused reload is an error line in JSON", None, refused)
        tap.ok(any("log_fromat" in o.get("msg", "") and "log_format" in o["msg"]
                   for o in errs),
               "the file's error (unknown key, did-you-mean) is one too", None,
               errs)
        tail = log_lines(log_path, start)
        tap.ok(all(json_obj(l) is not None for l in tail),
               "and so is every line of the refused reload", [],
               [l for l in tail if not l.startswith("{")])

        # a reload to text: the next lines are text
        line, start = reload(proxy, cfg, CONFIG.format(fmt="text", **values),
                             log_path)
        tap.ok(line is not None and not line.startswith("{")
               and "applied=" in line and "log_format" in line,
               "a reload that sets log_format: text says so, in text", None,
               line)
        with conn.cursor() as c:
            c.execute("SELECT SLEEP(0.25) AS text_probe")
            c.fetchall()
        text = wait_line(log_path, start, lambda l: "slow statement" in l
                         and "text_probe" in l)
        tap.ok(text is not None and re.match(
            r"^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  w\d+ slow statement client=\d+ "
            r"user=app schema=shop route=\S+ duration_ms=\d+ digest=\".*text_probe",
            text) is not None, "after it, a slow statement is a text line",
            None, text)

        # and back to json
        line, start = reload(proxy, cfg, CONFIG.format(fmt="json", **values),
                             log_path)
        tap.ok(line is not None and json_obj(line) is not None
               and "log_format" in json_obj(line).get("applied", ""),
               "a reload back to json: that line is JSON already", None, line)
        with conn.cursor() as c:
            c.execute("SELECT SLEEP(0.25) AS json_again")
            c.fetchall()
        again = wait_line(log_path, start, lambda l: is_msg("slow statement")(l)
                          and "json_again" in json.loads(l).get("digest", ""))
        tap.ok(again is not None, "after it, a slow statement is JSON again",
               None, log_lines(log_path, start)[-3:])
        conn.close()

        proxy.send_signal(signal.SIGTERM)
        rc = proxy.wait(timeout=20)
        proxy = None
        tap.ok(rc == 0, "myshard exits 0 on SIGTERM", 0, rc)
        with open(log_path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        tap.ok(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error", text),
               "its log has no sanitizer report")
    except Exception:
        tap.ok(False, "logjson_test raised")
        tap.diag(traceback.format_exc(limit=4))
    finally:
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
