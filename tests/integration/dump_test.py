#!/usr/bin/python3
"""mariadb-dump and restore of a whole sharded schema through myshard, and
LOCK TABLES across shards.

A private myshard (the rig's servers, replicas without reads) serves schema
dumpdb: d_hash sharded by hash of user_id, d_range sharded by range of id,
d_global (a copy on every shard) and d_plain (unlisted: the default shard),
with rows on both shards (NULLs, quotes, backslashes, unicode, binary).
Debian's mariadb-dump dumps it through myshard, with its default options and
with --single-transaction; the tables are dropped through myshard and the
dump is fed to the `mariadb` client through myshard (and once with
--databases, whose file creates the database IF NOT EXISTS and USEs it). Then every row must be
back exactly once, and only on its placement shard, as the shard primaries
themselves say (placement computed in SQL on each shard: CRC32(user_id) %
1024 for the hash rule, the id for the range rule; and each row's shard is
the one myshard-locate names for its key).

LOCK TABLES ... READ through myshard must block a write from a direct
connection on both shards (lock_wait_timeout runs out) until UNLOCK TABLES,
and also end when the client goes away; a statement on a table the lock
does not name gets 1100, and so does one on a shard whose lock connection
was killed; BEGIN is refused while the locks span shards. A --single-transaction dump through a myshard
whose schema has transactions: best_effort has the same rows.
START TRANSACTION WITH CONSISTENT SNAPSHOT reads
every shard as of its start (a row written on s1 after it is not seen) and
refuses writes (transactions: deny).

The dumps are taken with mariadb-dump's default options, whose INSERTs
name no columns (INSERT INTO t VALUES (...)): myshard places each row by
the value at its key column's position, from the columns it read from the
shards. The same after ALTER TABLE d_hash ADD COLUMN ... FIRST through
myshard.

Environment as for the other programs (MYSHARD_BIN, S0/S1_PRIMARY_PORT,
S0/S1_REPLICA_PORT, BACKEND_USER/PASSWORD). TAP output; exit status 1 if
any check failed.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import pymysql

from taplib import free_ports, wait_port

HOST = "127.0.0.1"
DB = "dumpdb"
SLOTS = 1024


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
        self.ok(False, name + " (raised)")
        self.diag(traceback.format_exc())

    def done(self):
        print("1..%d" % self.n, flush=True)
        if self.failed:
            self.diag("dump_test: %d of %d failed" % (self.failed, self.n))
        return 1 if self.failed else 0


tap = Tap()

CONFIG = """\
# dump_test.py's own myshard: the rig's servers, every read on the primary
listen: 127.0.0.1:{port}
workers: 2
shutdown_timeout: 5s
admin:
  listen: 127.0.0.1:{admin}
  http: 127.0.0.1:{http}
  user: admin
  password: dump-admin
users:
  - name: app
    password: app
    schemas: [dumpdb]
backend:
  user: {buser}
  password: {bpass}
  connect_timeout: 1s
  pool:
    max_connections: 20
  health: {{ interval: 500ms, max_replica_lag: 2s }}
shards:
  - name: s0
    primary: 127.0.0.1:{s0p}
    replicas: [{{ addr: 127.0.0.1:{s0r}, weight: 0 }}]
  - name: s1
    primary: 127.0.0.1:{s1p}
    replicas: [{{ addr: 127.0.0.1:{s1r}, weight: 0 }}]
sharding_rules:
  user_hash: {{ type: hash, shards: [s0, s1], slots: {slots} }}
  id_range:
    type: range
    ranges:
      - {{ shard: s0, to: 1000 }}
      - {{ shard: s1, from: 1000 }}
schemas:
  - name: dumpdb
    default_shard: s0
    transactions: {txn}
    tables:
      - {{ name: d_hash, key: user_id, rule: user_hash }}
      - {{ name: d_range, key: id, rule: id_range }}
      - {{ name: d_global, global: true }}
"""

TABLES = {
    "d_hash": "CREATE TABLE d_hash (id INT NOT NULL, user_id INT NOT NULL, "
              "note VARCHAR(100) NULL, amount DECIMAL(10,2), raw VARBINARY(16), "
              "PRIMARY KEY (user_id, id)) DEFAULT CHARSET=utf8mb4",
    "d_range": "CREATE TABLE d_range (id INT NOT NULL PRIMARY KEY, "
               "name VARCHAR(64) NOT NULL, at DATETIME NULL) "
               "DEFAULT CHARSET=utf8mb4",
    "d_global": "CREATE TABLE d_global (code CHAR(2) NOT NULL PRIMARY KEY, "
                "label VARCHAR(64)) DEFAULT CHARSET=utf8mb4",
    "d_plain": "CREATE TABLE d_plain (id INT NOT NULL AUTO_INCREMENT "
               "PRIMARY KEY, body TEXT) DEFAULT CHARSET=utf8mb4",
}
ORDER = {"d_hash": "user_id, id", "d_range": "id", "d_global": "code",
         "d_plain": "id"}
# More unlisted tables: the dump's one LOCK TABLES then names 18 tables,
# more than a statement's table list keeps (16)
EXTRA = ["d_extra%02d" % i for i in range(1, 15)]
for _t in EXTRA:
    TABLES[_t] = ("CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, v "
                  "VARCHAR(16)) DEFAULT CHARSET=utf8mb4" % _t)
    ORDER[_t] = "id"


def rows_for():
    notes = ["plain", "it's quoted", "back\\slash", "ünïcødé ✓", None,
             "tab\there", "new\nline", ""]
    d_hash = [(i, (i * 37) % 211 + 1, notes[i % len(notes)],
               "%d.%02d" % (i, i % 100), bytes([i % 256, 0, 255, 39]))
              for i in range(1, 301)]
    d_range = [(i, "ev %d" % i, "2026-0%d-1%d 10:00:00" % (1 + i % 9, i % 10)
                if i % 5 else None)
               for i in list(range(1, 61)) + list(range(1000, 1060))]
    d_global = [("c%d" % i, "label %d é" % i) for i in range(10)]
    d_plain = [(i, "body %d '\"" % i) for i in range(1, 41)]
    rows = {"d_hash": d_hash, "d_range": d_range, "d_global": d_global,
            "d_plain": d_plain}
    for n, t in enumerate(EXTRA):
        rows[t] = [(1, "x%d" % n), (2, None)]
    return rows


def direct(port, db=DB):
    return pymysql.connect(host=HOST, port=int(port),
                           user=os.environ.get("BACKEND_USER", "myshard"),
                           password=os.environ.get("BACKEND_PASSWORD", "secret"),
                           database=db, autocommit=True, charset="utf8mb4",
                           connect_timeout=10, read_timeout=60)


def proxy(port):
    return pymysql.connect(host=HOST, port=port, user="app", password="app",
                           database=DB, autocommit=True, charset="utf8mb4",
                           connect_timeout=10, read_timeout=60)


def query(conn, sql, args=None):
    with conn.cursor() as c:
        c.execute(sql, args)
        return list(c.fetchall())


def norm(rows):
    """Rows as comparable tuples (DECIMAL, DATETIME as text)."""
    out = []
    for r in rows:
        out.append(tuple(None if v is None else
                         v if isinstance(v, (int, bytes)) else str(v)
                         for v in r))
    return sorted(out, key=repr)


def expected_norm(rows):
    return norm(rows)


def fill(pconn, data):
    for t, ddl in TABLES.items():
        query(pconn, "DROP TABLE IF EXISTS %s" % t)
        query(pconn, ddl)
    cols = {"d_hash": "id, user_id, note, amount, raw",
            "d_range": "id, name, at", "d_global": "code, label",
            "d_plain": "id, body"}
    cols.update({t: "id, v" for t in EXTRA})
    # a trigger on the sharded table (on every shard of its rule); the dump
    # creates it after the rows, so it changes none of them
    query(pconn, "CREATE TRIGGER d_hash_note BEFORE INSERT ON d_hash FOR "
          "EACH ROW SET NEW.note = NEW.note")
    for t, rows in data.items():
        ph = ", ".join(["%s"] * len(rows[0]))
        with pconn.cursor() as c:
            for r in rows:
                c.execute("INSERT INTO %s (%s) VALUES (%s)" % (t, cols[t], ph),
                          r)


def shard_rows(sconn, table):
    try:
        return query(sconn, "SELECT * FROM %s ORDER BY %s" % (table, ORDER[table]))
    except pymysql.err.ProgrammingError as e:
        if e.args[0] == 1146:  # no such table on this shard
            return None
        raise


LOCATE = {}  # (table, key) -> the shard myshard-locate names


def locate(cfg, table, key):
    """The shard myshard-locate (the router's own code) places key on."""
    if (table, key) not in LOCATE:
        exe = os.path.join(os.path.dirname(os.environ["MYSHARD_BIN"]),
                           "myshard-locate")
        p = subprocess.run([exe, "-c", cfg, "-s", DB, table, str(key)],
                           capture_output=True, text=True, timeout=30)
        shard = [l.split()[1] for l in p.stdout.splitlines()
                 if l.startswith("shard:")]
        LOCATE[(table, key)] = shard[0] if shard else None
    return LOCATE[(table, key)]


def check_locate(cfg, shards, label):
    """The rows' shards are the ones myshard-locate names."""
    bad = []
    for name, conn in zip(("s0", "s1"), shards):
        for (k,) in query(conn, "SELECT DISTINCT user_id FROM d_hash"):
            if locate(cfg, "d_hash", k) != name:
                bad.append(("d_hash", k, name))
        for (k,) in query(conn, "SELECT id FROM d_range"):
            if locate(cfg, "d_range", k) != name:
                bad.append(("d_range", k, name))
    tap.ok(not bad, "%s: every d_hash and d_range row is on the shard "
           "myshard-locate names for its key" % label)
    for b in bad[:5]:
        tap.diag("%s key %s found on %s" % b)


def check_placement(shards, data, label):
    """Every row once, on its placement shard, read on the primaries."""
    s0, s1 = shards
    # hash: slot = CRC32(user_id) % 1024; slots 0-511 on s0, 512-1023 on s1
    h0 = shard_rows(s0, "d_hash") or []
    h1 = shard_rows(s1, "d_hash") or []
    tap.eq(len(h0) + len(h1), len(data["d_hash"]),
           "%s: d_hash has every row once across the shards" % label)
    tap.eq(norm(h0 + h1), expected_norm(data["d_hash"]),
           "%s: d_hash rows are the dumped rows, byte for byte" % label)
    wrong0 = query(s0, "SELECT COUNT(*) FROM d_hash WHERE CRC32(user_id) %% %d "
                   ">= %d" % (SLOTS, SLOTS // 2))[0][0]
    wrong1 = query(s1, "SELECT COUNT(*) FROM d_hash WHERE CRC32(user_id) %% %d "
                   "< %d" % (SLOTS, SLOTS // 2))[0][0]
    tap.ok(wrong0 == 0 and wrong1 == 0 and len(h0) > 0 and len(h1) > 0,
           "%s: d_hash rows only on their hash shard (s0 %d rows, %d "
           "misplaced; s1 %d rows, %d misplaced)"
           % (label, len(h0), wrong0, len(h1), wrong1))
    r0 = shard_rows(s0, "d_range") or []
    r1 = shard_rows(s1, "d_range") or []
    tap.eq(norm(r0 + r1), expected_norm(data["d_range"]),
           "%s: d_range has every row once across the shards" % label)
    tap.ok(len(r0) > 0 and len(r1) > 0 and all(r[0] < 1000 for r in r0) and
           all(r[0] >= 1000 for r in r1),
           "%s: d_range rows only on their range shard (s0 %d, s1 %d)"
           % (label, len(r0), len(r1)))
    g0 = shard_rows(s0, "d_global")
    g1 = shard_rows(s1, "d_global")
    tap.ok(g0 is not None and g1 is not None and
           norm(g0) == expected_norm(data["d_global"]) and
           norm(g1) == expected_norm(data["d_global"]),
           "%s: d_global has its full copy on both shards" % label)
    trg = [query(s, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
                 "TRIGGER_SCHEMA = %s AND TRIGGER_NAME = 'd_hash_note'",
                 (DB,))[0][0] for s in shards]
    tap.eq(trg, [1, 1], "%s: d_hash's trigger is on both shards" % label)
    ok = True
    for t in ["d_plain"] + EXTRA:
        p0 = shard_rows(s0, t)
        p1 = shard_rows(s1, t)
        if p0 is None or norm(p0) != expected_norm(data[t]) or p1:
            ok = False
            tap.diag("%s: s0 %r, s1 %r" % (t, p0, p1))
    tap.ok(ok, "%s: d_plain and %d more unlisted tables only on the default "
           "shard s0" % (label, len(EXTRA)))


def run(cmd, stdin=None, timeout=300):
    return subprocess.run(cmd, stdin=stdin, capture_output=True, timeout=timeout)


def dump_restore(port, cfg, shards, data, opts, label, tmp, first=False):
    pconn = proxy(port)
    fill(pconn, data)
    if first:
        # a column before the key: positional INSERTs shift by one
        query(pconn, "ALTER TABLE d_hash ADD COLUMN pre INT NULL FIRST")
        data = dict(data)
        data["d_hash"] = [(None,) + r for r in data["d_hash"]]
    check_placement(shards, data, label + " before the dump")
    path = os.path.join(tmp, "dump-%s.sql" % label.replace(" ", "_"))
    base = ["-h", HOST, "-P", str(port), "-uapp", "-papp"]
    with open(path, "wb") as f:
        p = subprocess.run(["mariadb-dump"] + base + opts + [DB], stdout=f,
                           stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode(errors="replace")
    if not tap.ok(p.returncode == 0 and "rror" not in err,
                  "%s: mariadb-dump %s exits 0 and reports no error"
                  % (label, " ".join(opts) or "(default options)")):
        tap.diag("exit %d: %s" % (p.returncode, err))
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    tap.ok("LOCK TABLES" in text and "INSERT INTO `d_hash`" in text and
           "CREATE TABLE `d_plain`" in text,
           "%s: the dump has every table's CREATE TABLE and INSERTs" % label)
    for t in TABLES:
        query(pconn, "DROP TABLE %s" % t)
    tap.ok(shard_rows(shards[0], "d_hash") is None and
           shard_rows(shards[1], "d_hash") is None,
           "%s: DROP TABLE through myshard removed d_hash from both shards"
           % label)
    pconn.close()
    with open(path, "rb") as f:
        p = subprocess.run(["mariadb"] + base + [DB], stdin=f,
                           capture_output=True, timeout=300)
    if not tap.eq(p.returncode, 0, "%s: the dump restores through myshard "
                  "(mariadb < dump exits 0)" % label):
        tap.diag(p.stderr.decode(errors="replace"))
    check_placement(shards, data, label + " after the restore")
    check_locate(cfg, shards, label + " after the restore")


def blocked(sconn, sql):
    """True when sql waits for a table lock (lock_wait_timeout of 1 s runs
    out with 1205)."""
    try:
        query(sconn, sql)
        return False
    except pymysql.err.OperationalError as e:
        return e.args[0] == 1205


def test_locks(port, s0p, s1p):
    w0, w1 = direct(s0p), direct(s1p)
    for w in (w0, w1):
        query(w, "SET SESSION lock_wait_timeout = 1")
    pconn = proxy(port)
    # user_id 1: slot 665 (s1); user_id 2: slot 1018 ... any row on each
    ins = "INSERT INTO d_hash (id, user_id, note) VALUES (%d, %d, 'direct')"
    query(pconn, "LOCK TABLES d_hash READ, d_plain READ")
    n = query(pconn, "SELECT COUNT(*) FROM d_hash")[0][0]
    tap.ok(n > 0, "LOCK TABLES d_hash READ, d_plain READ through myshard: "
           "the locked tables read across shards (%d rows)" % n)
    tap.ok(blocked(w0, ins % (90001, 1)),
           "a direct write to d_hash on s0 waits for the READ lock")
    tap.ok(blocked(w1, ins % (90002, 1)),
           "a direct write to d_hash on s1 waits for the READ lock")
    tap.ok(blocked(w0, "INSERT INTO d_plain (body) VALUES ('direct')"),
           "a direct write to d_plain on s0 waits for the READ lock")
    try:
        query(pconn, "SELECT COUNT(*) FROM d_range")
        tap.ok(False, "a table not named in LOCK TABLES is refused")
    except pymysql.err.MySQLError as e:
        tap.eq(e.args[0], 1100, "a table not named in LOCK TABLES is refused "
               "with 1100 (%s)" % e.args[1])
    try:
        query(pconn, "BEGIN")
        tap.ok(False, "BEGIN while the locks span shards is refused")
    except pymysql.err.MySQLError as e:
        tap.eq(e.args[0], 1235, "BEGIN while the locks span shards is "
               "refused with 1235 (%s)" % e.args[1])
    query(pconn, "UNLOCK TABLES")
    try:
        query(w0, ins % (90001, 1))
        query(w1, ins % (90002, 1))
        tap.ok(True, "after UNLOCK TABLES the direct writes on both shards "
               "go through")
    except pymysql.err.MySQLError as e:
        tap.ok(False, "after UNLOCK TABLES the direct writes on both shards "
               "go through (%r)" % (e,))
    # WRITE locks: even a direct read waits
    query(pconn, "LOCK TABLES d_hash WRITE")
    query(pconn, ins % (90003, 7))
    tap.ok(blocked(w0, "SELECT COUNT(*) FROM d_hash") and
           blocked(w1, "SELECT COUNT(*) FROM d_hash"),
           "LOCK TABLES d_hash WRITE: direct reads on both shards wait")
    # the client goes away: its locks end on every shard
    pconn.close()
    pconn = None
    deadline = time.time() + 10
    free = False
    while time.time() < deadline and not free:
        free = not blocked(w0, "SELECT COUNT(*) FROM d_hash") and \
            not blocked(w1, "SELECT COUNT(*) FROM d_hash")
    tap.ok(free, "a client that goes away holding LOCK TABLES leaves no "
           "lock on either shard")
    # a lock connection lost: its shard's locks are gone, and said so
    pconn = proxy(port)
    query(pconn, "LOCK TABLES d_hash READ")
    for (cid,) in query(w1, "SELECT ID FROM information_schema.PROCESSLIST "
                        "WHERE DB = %s AND COMMAND = 'Sleep' AND ID <> "
                        "CONNECTION_ID()", (DB,)):
        try:
            query(w1, "KILL %d" % cid)
        except pymysql.err.MySQLError:
            pass
    time.sleep(0.5)
    try:
        query(pconn, "SELECT COUNT(*) FROM d_hash")
        tap.ok(False, "after s1's lock connection is killed, a read of the "
               "locked table gets 1100")
    except pymysql.err.MySQLError as e:
        tap.eq(e.args[0], 1100, "after s1's lock connection is killed, a "
               "read of the locked table gets 1100 (%s)" % e.args[1])
    query(pconn, "UNLOCK TABLES")
    tap.ok(query(pconn, "SELECT COUNT(*) FROM d_hash")[0][0] > 0,
           "... and after UNLOCK TABLES it reads both shards again")
    pconn.close()
    for w, p in ((w0, 90001), (w1, 90002)):
        query(w, "DELETE FROM d_hash WHERE id IN (90001, 90002, 90003)")
    query(w0, "DELETE FROM d_plain WHERE body = 'direct'")
    w0.close()
    w1.close()


def test_snapshot(port, s1p):
    """START TRANSACTION WITH CONSISTENT SNAPSHOT under transactions: deny
    reads every shard as of its start, and refuses writes."""
    pconn = proxy(port)
    w1 = direct(s1p)
    before = query(pconn, "SELECT COUNT(*) FROM d_range")[0][0]
    query(pconn, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
    # written on s1 after the START, before the transaction reads s1
    query(w1, "INSERT INTO d_range (id, name) VALUES (5000, 'later')")
    got = query(pconn, "SELECT COUNT(*) FROM d_range")[0][0]
    tap.eq(got, before, "a snapshot transaction reads both shards as of its "
           "START (a row written on s1 afterwards is not seen)")
    try:
        query(pconn, "INSERT INTO d_plain (body) VALUES ('in snapshot')")
        tap.ok(False, "a write in a snapshot transaction is refused")
    except pymysql.err.MySQLError as e:
        tap.eq(e.args[0], 1235, "a write in a snapshot transaction is "
               "refused with 1235 (%s)" % e.args[1])
    query(pconn, "COMMIT AND CHAIN")
    try:
        query(pconn, "INSERT INTO d_plain (body) VALUES ('in snapshot')")
        tap.ok(False, "the transaction COMMIT AND CHAIN starts refuses "
               "writes too")
    except pymysql.err.MySQLError as e:
        tap.eq(e.args[0], 1235, "the transaction COMMIT AND CHAIN starts "
               "refuses writes too (never a cross-shard write under deny)")
    query(pconn, "COMMIT")
    tap.eq(query(pconn, "SELECT COUNT(*) FROM d_range")[0][0], before + 1,
           "after COMMIT the row written meanwhile is seen")
    query(w1, "DELETE FROM d_range WHERE id = 5000")
    pconn.close()
    w1.close()


def test_best_effort(cfg_text, tmp, want_path, opts):
    """--single-transaction where transactions may span shards
    (best_effort): the same rows as under deny."""
    port, admin, http = free_ports(3)
    cfg = os.path.join(tmp, "myshard-be.yaml")
    with open(cfg, "w") as f:
        f.write(cfg_text.replace("{port}", str(port))
                .replace("{admin}", str(admin)).replace("{http}", str(http)))
    proc = None
    try:
        with open(os.path.join(tmp, "myshard-be.log"), "w") as log:
            proc = subprocess.Popen([os.environ["MYSHARD_BIN"], "-c", cfg],
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log)
        if not tap.ok(wait_port(port, 15, proc), "a best_effort myshard "
                      "starts"):
            return
        p = subprocess.run(["mariadb-dump", "-h", HOST, "-P", str(port),
                            "-uapp", "-papp"] + opts + [DB],
                           capture_output=True, timeout=300)
        got = [l for l in p.stdout.splitlines() if l.startswith(b"INSERT")]
        with open(want_path, "rb") as f:
            want = [l.rstrip(b"\n") for l in f if l.startswith(b"INSERT")]
        tap.ok(p.returncode == 0 and got == want and len(want) > 0,
               "mariadb-dump --single-transaction of a best_effort schema: "
               "the same rows (exit %d, %d INSERTs, %d expected)"
               % (p.returncode, len(got), len(want)))
    finally:
        stop_proc(proc)


def test_saved_vars(port):
    """User variables saved from session variables are written back: the
    session's sql_mode and character set follow them, on every shard."""
    c = proxy(port)
    query(c, "SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='ANSI_QUOTES'")
    n = query(c, 'SELECT COUNT(*) FROM "d_hash"')[0][0]
    tap.ok(n > 0, "SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='ANSI_QUOTES': "
           "\"d_hash\" is a table name on both shards")
    query(c, "SET SQL_MODE=@OLD_SQL_MODE")
    tap.eq(query(c, 'SELECT "d_hash"')[0][0], "d_hash",
           "SET SQL_MODE=@OLD_SQL_MODE: \"d_hash\" is a string again")
    query(c, "SET @cs = @@character_set_client")
    query(c, "SET NAMES latin1")
    query(c, "SET character_set_client = @cs")
    tap.eq(query(c, "SELECT @@character_set_client, @@character_set_results")[0],
           ("utf8mb4", "latin1"),
           "SET character_set_client = @cs after SET NAMES latin1: the "
           "saved client character set, NAMES' results character set")
    query(c, "SET time_zone = CONCAT('+0', '1:00')")
    query(c, "SET @tz = @@time_zone")
    query(c, "SET time_zone = '+00:00'")
    query(c, "SET time_zone = @tz")
    tap.eq(query(c, "SELECT @@time_zone")[0][0], "+01:00",
           "a variable saved after a SET of an expression is restored by "
           "the server's own value")
    c.close()
    c = proxy(port)
    query(c, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    got = [query(c, "SELECT @@tx_isolation FROM d_range WHERE id = %d" % i)[0][0]
           for i in (1, 1000)]
    tap.eq(got, ["READ-COMMITTED"] * 2, "SET SESSION TRANSACTION ISOLATION "
           "LEVEL follows the client to both shards")
    c.close()


def stop_proc(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    env = os.environ
    if shutil.which("mariadb-dump") is None or shutil.which("mariadb") is None:
        tap.ok(False, "mariadb-dump and mariadb are installed "
               "(Debian package mariadb-client)")
        return tap.done()
    tmp = tempfile.mkdtemp(prefix="dump_test.")
    port, admin, http = free_ports(3)
    s0p, s1p = env["S0_PRIMARY_PORT"], env["S1_PRIMARY_PORT"]
    cfg = os.path.join(tmp, "myshard.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(port=port, admin=admin, http=http, slots=SLOTS,
                              txn="deny",
                              buser=env.get("BACKEND_USER", "myshard"),
                              bpass=env.get("BACKEND_PASSWORD", "secret"),
                              s0p=s0p, s0r=env["S0_REPLICA_PORT"],
                              s1p=s1p, s1r=env["S1_REPLICA_PORT"]))
    for p in (s0p, s1p):
        c = direct(p, db=None)
        query(c, "DROP DATABASE IF EXISTS %s" % DB)
        query(c, "CREATE DATABASE %s" % DB)
        c.close()
    log_path = os.path.join(tmp, "myshard.log")
    proc = None
    ok = False
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen([env["MYSHARD_BIN"], "-c", cfg],
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log)
        if not tap.ok(wait_port(port, 15, proc),
                      "a private myshard starts (log %s)" % log_path):
            return tap.done()
        shards = (direct(s0p), direct(s1p))
        data = rows_for()
        extra = []  # mariadb-dump's defaults: positional INSERTs
        for opts, label in ((extra, "default options"),
                            (extra + ["--single-transaction"],
                             "single-transaction"),
                            (extra + ["--databases"], "databases")):
            try:
                dump_restore(port, cfg, shards, data, opts, label, tmp)
            except Exception:
                tap.fail_exc(label)
        try:
            dump_restore(port, cfg, shards, data, extra, "after ADD COLUMN "
                         "FIRST", tmp, first=True)
        except Exception:
            tap.fail_exc("after ADD COLUMN FIRST")
        for s in shards:  # test_locks kills the sleeping ones on s1
            s.close()
        try:
            test_locks(port, s0p, s1p)
        except Exception:
            tap.fail_exc("LOCK TABLES across shards")
        try:
            test_best_effort(
                CONFIG.format(port="{port}", admin="{admin}", http="{http}",
                              slots=SLOTS,
                              txn="best_effort",
                              buser=env.get("BACKEND_USER", "myshard"),
                              bpass=env.get("BACKEND_PASSWORD", "secret"),
                              s0p=s0p, s0r=env["S0_REPLICA_PORT"],
                              s1p=s1p, s1r=env["S1_REPLICA_PORT"]),
                tmp, os.path.join(tmp, "dump-single-transaction.sql"),
                extra + ["--single-transaction"])
        except Exception:
            tap.fail_exc("--single-transaction under best_effort")
        try:
            test_saved_vars(port)
        except Exception:
            tap.fail_exc("saved session variables")
        try:
            test_snapshot(port, s1p)
        except Exception:
            tap.fail_exc("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        ok = proc.poll() is None
        tap.ok(ok, "myshard still runs")
    finally:
        stop_proc(proc)
        with open(log_path, errors="replace") as f:
            bad = [l for l in f if "ERROR: AddressSanitizer" in l or
                   "runtime error:" in l]
        tap.ok(not bad, "myshard logged no sanitizer report")
        for l in bad[:5]:
            tap.diag(l)
        if tap.failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        for p in (s0p, s1p):
            try:
                c = direct(p, db=None)
                query(c, "DROP DATABASE IF EXISTS %s" % DB)
                c.close()
            except Exception:
                pass
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
