"""What reshard_test.py builds on: placement of the two rules it reshards,
direct connections to the shards, a private myshard, the write/read load
with its model of acknowledged writes, and the checks of the load, the
data on the primaries and the routing."""

import os
import random
import signal
import subprocess
import threading
import time
import zlib

import pymysql

from taplib import HOST, Tap, free_ports, wait_port

ADMIN_PW = "reshard-admin"
SLOTS = 1024
SHARDS = ("s0", "s1", "s2")
TERMINAL = ("done", "aborted", "failed")
# client-side codes of a connection that is gone or cannot be made
CONN_CODES = {0, 2003, 2006, 2013, 2014, 2055, 1053}

tap = Tap()
ENV = os.environ


# --------------------------------------------------------------- placement

def slot(key):
    """The hash rule's slot: CRC32 of the key's decimal text % 1024."""
    return zlib.crc32(str(key).encode()) % SLOTS


class HashSpec:
    """user_hash over s0, s1 (0-511 s0, 512-1023 s1); moves 768-1023."""

    rule = "user_hash"
    rule_yaml = "  user_hash: { type: hash, shards: [s0, s1], slots: 1024 }\n"
    reshard_sql = "RESHARD 'user_hash' MOVE SLOTS 768-1023 TO 's2'"
    # the source side in SQL, for direct backlog writes on s1
    moving_sql = "CRC32(id) % 1024 BETWEEN 768 AND 1023"
    source = "s1"

    def __init__(self, rows):
        self.initial = list(range(1, rows + 1))

    def insert_pool(self, w, nwriters, rng):
        pool = [1000000 + k * nwriters + w for k in range(40000)]
        rng.shuffle(pool)
        return pool

    def moving(self, key):
        return slot(key) >= 768

    def before(self, key):
        return "s0" if slot(key) < 512 else "s1"

    def after(self, key):
        return "s2" if self.moving(key) else self.before(key)


class RangeSpec:
    """id_range: s0 below 10000, s1 from 10000; SPLIT AT 15000 TO s2."""

    rule = "id_range"
    rule_yaml = ("  id_range:\n    type: range\n    ranges:\n"
                 "      - { shard: s0, to: 10000 }\n"
                 "      - { shard: s1, from: 10000 }\n")
    reshard_sql = "RESHARD 'id_range' SPLIT AT 15000 TO 's2'"
    moving_sql = "id >= 15000"
    source = "s1"

    def __init__(self, rows):
        # multiples of 3 over 1..20000; writers insert the others
        step = max(1, 20000 // rows // 3) * 3
        self.initial = list(range(step, step * rows + 1, step))[:rows]
        self.top = step * rows

    def insert_pool(self, w, nwriters, rng):
        pool = [k for k in range(1, self.top + 3000)
                if k % 3 and (k // 3) % nwriters == w]
        rng.shuffle(pool)
        return pool

    def moving(self, key):
        return key >= 15000

    def before(self, key):
        return "s0" if key < 10000 else "s1"

    def after(self, key):
        return "s2" if self.moving(key) else self.before(key)


# ------------------------------------------------------------- connections

def is_conn_error(e):
    if isinstance(e, pymysql.err.InterfaceError):
        return True
    return (isinstance(e, pymysql.err.OperationalError) and e.args
            and e.args[0] in CONN_CODES)


def err_code(e):
    return e.args[0] if getattr(e, "args", None) else None


def connect(port, user="app", password="app", db=None, timeout=30):
    return pymysql.connect(host=HOST, port=port, user=user, password=password,
                           database=db, autocommit=True, connect_timeout=5,
                           read_timeout=timeout, write_timeout=timeout)


def direct(shard, role="PRIMARY", db=None):
    """A connection straight to a shard's server, as the backend user."""
    port = int(ENV["%s_%s_PORT" % (shard.upper(), role)])
    return connect(port, ENV.get("BACKEND_USER", "myshard"),
                   ENV.get("BACKEND_PASSWORD", "secret"), db)


def run_direct(shard, sqls, role="PRIMARY"):
    c = direct(shard, role)
    try:
        with c.cursor() as cur:
            for s in sqls:
                cur.execute(s)
            return cur.fetchall()
    finally:
        c.close()


def shard_rows(shard, db, table="items", role="PRIMARY"):
    """{id: (val, version)} of a table on one server; {} when the table
    (or schema) does not exist there."""
    c = direct(shard, role)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.tables "
                        "WHERE table_schema = %s AND table_name = %s",
                        (db, table))
            if cur.fetchone()[0] == 0:
                return {}
            if table == "items":
                cur.execute("SELECT id, val, version FROM %s.items" % db)
                return {r[0]: (r[1], r[2]) for r in cur.fetchall()}
            cur.execute("SELECT id, label FROM %s.%s" % (db, table))
            return {r[0]: (r[1],) for r in cur.fetchall()}
    finally:
        c.close()


def wait_replica(shard, timeout=60):
    """True once the shard's replica has applied its primary's binlog."""
    pos = run_direct(shard, ["SELECT @@gtid_binlog_pos"])[0][0]
    got = run_direct(shard, ["SELECT MASTER_GTID_WAIT('%s', %d)"
                             % (pos, timeout)], role="REPLICA")
    return got[0][0] == 0


# ---------------------------------------------------------------- myshard

CONFIG = """\
listen: 127.0.0.1:{port}
workers: 2
shutdown_timeout: 5s
admin:
  listen: 127.0.0.1:{admin}
  http: 127.0.0.1:{http}
  user: admin
  password: {apw}
reshard:
  max_pause: {max_pause}
  copy_rate: {copy_rate}
  state: {state}
  control: ctl_{db}
users:
  - {{ name: app, password: app, schemas: [{db}], max_connections: 200 }}
backend:
  user: {buser}
  password: "{bpass}"
  connect_timeout: 1s
shards:
  - {{ name: s0, primary: 127.0.0.1:{s0p} }}
  - {{ name: s1, primary: 127.0.0.1:{s1p} }}
{s2}sharding_rules:
{rule}schemas:
  - name: {db}
    default_shard: s0
    tables:
      - {{ name: items, key: id, rule: {rname} }}
      - {{ name: tags, key: id, rule: {rname} }}
{extra}"""


class Myshard:
    """One private myshard: its config file, state file, log and process."""

    def __init__(self, tmp, name, db, spec, with_s2=True, copy_rate=20000,
                 max_pause="2s", extra=""):
        self.name = name
        self.port, self.admin, self.http = free_ports(3)
        self.state = os.path.join(tmp, name + "-placement.yaml")
        self.cfg = os.path.join(tmp, name + ".yaml")
        self.log = os.path.join(tmp, name + ".log")
        self.tmp = tmp
        self.values = dict(
            port=self.port, admin=self.admin, http=self.http, apw=ADMIN_PW,
            db=db,
            max_pause=max_pause, copy_rate=copy_rate, state=self.state,
            buser=ENV.get("BACKEND_USER", "myshard"),
            bpass=ENV.get("BACKEND_PASSWORD", "secret"),
            s0p=ENV["S0_PRIMARY_PORT"], s1p=ENV["S1_PRIMARY_PORT"],
            s2="", rule=spec.rule_yaml, rname=spec.rule, extra=extra)
        self.set_s2(with_s2)
        self.proc = None
        self.con = None

    def set_s2(self, on):
        self.values["s2"] = ("  - { name: s2, primary: 127.0.0.1:%s }\n"
                             % ENV["S2_PRIMARY_PORT"]) if on else ""
        with open(self.cfg + ".tmp", "w") as f:
            f.write(CONFIG.format(**self.values))
        os.rename(self.cfg + ".tmp", self.cfg)

    def start(self):
        log = open(self.log, "a")
        self.proc = subprocess.Popen([ENV["MYSHARD_BIN"], "-c", self.cfg],
                                     cwd=self.tmp, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        log.close()
        return wait_port(self.port, 20, self.proc) and \
            wait_port(self.admin, 5, self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        self.close_console()
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        self.close_console()
        if not self.alive():
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def close_console(self):
        if self.con is not None:
            try:
                self.con.close()
            except Exception:
                pass
            self.con = None

    def console(self, sql):
        """Rows (dicts) of a console command; errors raise."""
        if self.con is None:
            self.con = connect(self.admin, "admin", ADMIN_PW)
        try:
            with self.con.cursor() as c:
                c.execute(sql)
                if not c.description:
                    return []
                names = [d[0] for d in c.description]
                return [dict(zip(names, r)) for r in c.fetchall()]
        except pymysql.err.Error as e:
            if is_conn_error(e):
                self.close_console()
            raise

    def route(self, db, key):
        """The shards EXPLAIN ROUTE names for a write of key."""
        self.console("USE " + db)
        rows = self.console("EXPLAIN ROUTE UPDATE items SET pad = pad + 1 "
                            "WHERE id = %d" % key)
        return sorted(r["value"].split(":")[0] for r in rows
                      if r["item"] == "target")

    def reshards(self, rule):
        return [r for r in self.console("SHOW RESHARD")
                if r.get("rule") == rule]

    def log_tail(self, n=25):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""


# -------------------------------------------------------------------- load

class Model:
    """What the writers were told: the last acknowledged row of every id."""

    def __init__(self, spec, nwriters):
        self.lock = threading.Lock()
        self.expected = {k: ("init", 1) for k in spec.initial}
        self.deleted = set()
        self.phase = "before"
        self.acked = {}  # writes acknowledged per phase
        self.errors = []  # (writer, op, id, code, message) of live proxies
        self.conn_errors = 0
        self.unresolved = []
        self.reads = self.misses = self.stale = self.read_errors = 0
        self.miss_ids = []
        self.nwriters = nwriters
        # a few moving initial ids no writer updates: free for a
        # transaction held open across the cutover
        self.reserved = set([k for k in spec.initial if spec.moving(k)][:4])

    def ack(self, key, row):
        with self.lock:
            if row is None:
                self.expected.pop(key, None)
                self.deleted.add(key)
            else:
                self.expected[key] = row
                self.deleted.discard(key)
            self.acked[self.phase] = self.acked.get(self.phase, 0) + 1

    def error(self, e, who, op, key):
        with self.lock:
            if is_conn_error(e):
                self.conn_errors += 1
            else:
                self.errors.append((who, op, key, err_code(e), str(e)[:160]))


class Load:
    """Writer and reader threads; each writer or reader is bound to one
    myshard instance (reconnecting to it after a restart)."""

    def __init__(self, model, spec, db, instances, nwriters, nreaders,
                 pace=0.008, seed=1):
        self.model, self.spec, self.db = model, spec, db
        self.stop_ev = threading.Event()
        self.threads = []
        owned = [k for k in spec.initial if k not in model.reserved]
        for w in range(nwriters):
            inst = instances[w % len(instances)]
            rng = random.Random(seed * 1000 + w)
            mine = [k for i, k in enumerate(owned) if i % nwriters == w]
            pool = spec.insert_pool(w, nwriters, rng)
            self.threads.append(threading.Thread(
                target=self.writer, args=(w, inst, mine, pool, rng, pace),
                daemon=True))
        readable = list(spec.initial)
        for r in range(nreaders):
            inst = instances[r % len(instances)]
            self.threads.append(threading.Thread(
                target=self.reader, args=(inst, readable,
                                          random.Random(seed * 7 + r)),
                daemon=True))

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self, timeout=120):
        self.stop_ev.set()
        end = time.time() + timeout
        for t in self.threads:
            t.join(max(0.1, end - time.time()))
        return not any(t.is_alive() for t in self.threads)

    def _conn(self, inst, deadline):
        """A connection to inst, retried (the proxy may be restarting)."""
        while True:
            try:
                return connect(inst.port, db=self.db)
            except pymysql.err.Error:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def writer(self, w, inst, mine, pool, rng, pace):
        m = self.model
        ver = {k: 1 for k in mine}  # highest version tried per id
        inserted = []
        con = None
        n = 0
        who = "writer %d (%s)" % (w, inst.name)
        while not self.stop_ev.is_set():
            n += 1
            r = rng.random()
            if r < 0.35 and pool:
                op, key = "insert", pool.pop()
            elif r < 0.55 and inserted:
                op, key = "delete", inserted.pop(rng.randrange(len(inserted)))
            else:
                op = "update"
                key = rng.choice(mine + inserted) if inserted else \
                    rng.choice(mine)
            first = True
            # an op is redone until acknowledged: its outcome may be unknown
            deadline = time.time() + 150
            while True:
                try:
                    if con is None:
                        con = self._conn(inst, deadline)
                    with con.cursor() as c:
                        if op == "insert":
                            val = "w%d-%d" % (w, n)
                            try:
                                c.execute("INSERT INTO items (id, val, version)"
                                          " VALUES (%s, %s, 1)", (key, val))
                                got = c.rowcount
                            except pymysql.err.IntegrityError as e:
                                if first or err_code(e) != 1062:
                                    raise
                                # the unknown first try did insert it
                                ver[key] = ver.get(key, 1) + 1
                                c.execute("UPDATE items SET val = %s, version"
                                          " = %s WHERE id = %s",
                                          (val, ver[key], key))
                                got = c.rowcount
                            ver.setdefault(key, 1)
                            row = (val, ver[key])
                        elif op == "update":
                            ver[key] = ver.get(key, 1) + 1
                            val = "w%d-%d" % (w, n)
                            c.execute("UPDATE items SET val = %s, version = %s"
                                      " WHERE id = %s", (val, ver[key], key))
                            got, row = c.rowcount, (val, ver[key])
                        else:
                            c.execute("DELETE FROM items WHERE id = %s",
                                      (key,))
                            got, row = c.rowcount, None
                    if got != 1 and (first or op != "delete"):
                        with m.lock:
                            m.errors.append((who, op, key, None,
                                             "%d rows affected" % got))
                    m.ack(key, row)
                    if op == "insert":
                        inserted.append(key)
                    break
                except pymysql.err.Error as e:
                    m.error(e, who, op, key)
                    first = False
                    if con is not None:
                        try:
                            con.close()
                        except Exception:
                            pass
                        con = None
                    if time.time() > deadline:
                        with m.lock:
                            m.unresolved.append((who, op, key))
                        break
                    # a statement the dead proxy sent may still run on the
                    # server: let it end before the redo, which must be last
                    time.sleep(1.0 if is_conn_error(e) else 0.05)
            if pace:
                time.sleep(pace)
        if con is not None:
            con.close()

    def reader(self, inst, keys, rng):
        m = self.model
        con = None
        while not self.stop_ev.is_set():
            key = rng.choice(keys)
            floor = m.expected.get(key, (None, 0))[1]
            try:
                if con is None:
                    con = self._conn(inst, time.time() + 150)
                with con.cursor() as c:
                    c.execute("SELECT val, version FROM items WHERE id = %s",
                              (key,))
                    row = c.fetchone()
                with m.lock:
                    m.reads += 1
                    if row is None:
                        m.misses += 1
                        m.miss_ids.append(key)
                    elif row[1] < floor:
                        m.stale += 1
            except pymysql.err.Error:
                with m.lock:
                    m.read_errors += 1
                if con is not None:
                    try:
                        con.close()
                    except Exception:
                        pass
                    con = None
                time.sleep(0.05)
            time.sleep(0.002)
        if con is not None:
            con.close()


# ----------------------------------------------------------------- helpers

def fresh_schema(db, spec, tags=200):
    """The schema on s0, s1 and s2 (empty there), the tables on s0 and s1
    (the rule's shards) only: the reshard creates them on s2. The
    scenario's control schema (ctl_<db>, on s0) starts empty."""
    ddl = ("CREATE TABLE %s.items (id BIGINT PRIMARY KEY, val VARCHAR(64) "
           "NOT NULL, version INT NOT NULL, pad INT NOT NULL DEFAULT 0)" % db,
           "CREATE TABLE %s.tags (id BIGINT PRIMARY KEY, label VARCHAR(32) "
           "NOT NULL)" % db)
    for s in SHARDS:
        run_direct(s, ["DROP DATABASE IF EXISTS " + db,
                       "CREATE DATABASE " + db] +
                   (list(ddl) if s != "s2" else []))
    # the scenario's own control schema (reshard.control): the instances of
    # one scenario agree there, and no other myshard on the rig follows it
    run_direct("s0", ["DROP DATABASE IF EXISTS ctl_" + db])


def load_rows(inst, db, spec, tags=200):
    """The initial rows, through myshard, 500 per INSERT."""
    con = connect(inst.port, db=db, timeout=120)
    try:
        with con.cursor() as c:
            ids = spec.initial
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                c.execute("INSERT INTO items (id, val, version) VALUES " +
                          ",".join("(%d, 'init', 1)" % k for k in part))
            part = spec.initial[:tags]
            c.execute("INSERT INTO tags (id, label) VALUES " +
                      ",".join("(%d, 'tag%d')" % (k, k) for k in part))
    finally:
        con.close()


def reshard_row(inst, spec, rid=None):
    """The SHOW RESHARD row of the reshard (rid, or the rule's last)."""
    rows = inst.reshards(spec.rule)
    if rid is not None:
        rows = [r for r in rows if str(r.get("id")) == str(rid)] or rows
    return rows[-1] if rows else None


def progress(r):
    return ("phase %s, %s/%s rows copied, binlog lag %s, held writes %s%s"
            % (r.get("phase"), r.get("rows_copied"), r.get("rows_total"),
               r.get("binlog_lag"), r.get("held_writes"),
               ", error: %s" % r["error"] if r.get("error") else "")
            + (", waiting: %s" % r["waiting"] if r.get("waiting") else ""))


class Watch:
    """Polls SHOW RESHARD: the phases seen, the most held writes, and a
    progress line every few seconds."""

    def __init__(self, inst, spec, rid, model):
        self.inst, self.spec, self.rid, self.model = inst, spec, rid, model
        self.seen = []
        self.max_held = 0
        self.last = None
        self.said = 0

    def poll(self):
        try:
            r = reshard_row(self.inst, self.spec, self.rid)
        except pymysql.err.Error:
            return self.last
        if r is None:
            return None
        self.last = r
        ph = r.get("phase")
        if not self.seen or self.seen[-1] != ph:
            self.seen.append(ph)
        with self.model.lock:
            self.model.phase = ph
        try:
            self.max_held = max(self.max_held, int(r.get("held_writes") or 0))
        except ValueError:
            pass
        if time.time() - self.said > 3:
            self.said = time.time()
            tap.diag("  %s" % progress(r))
        return r

    def until(self, phases, timeout, step=0.02):
        """The row once its phase is one of phases (or terminal); the last
        row seen on timeout."""
        end = time.time() + timeout
        while time.time() < end:
            r = self.poll()
            if r is not None and (r.get("phase") in phases
                                  or r.get("phase") in TERMINAL):
                return r
            time.sleep(step)
        return self.last


def start_reshard(inst, spec, sql=None):
    """RESHARD ...: its id, or None (the error said why)."""
    try:
        rows = inst.console(sql or spec.reshard_sql)
    except pymysql.err.Error as e:
        tap.ok(False, "%s is accepted" % (sql or spec.reshard_sql), None,
               str(e))
        return None
    rid = rows[0].get("id") if rows else None
    tap.ok(rid is not None, "%s answers with the reshard's id (%s)"
           % (sql or spec.reshard_sql, rid), "an id", rows)
    return rid


def check_load(model, label, allow_conn_errors=False):
    tap.diag("%s: writes acknowledged per phase %s; %d reads, %d misses, %d "
             "stale, %d read errors, %d connection errors"
             % (label, model.acked, model.reads, model.misses, model.stale,
                model.read_errors, model.conn_errors))
    during = sum(v for k, v in model.acked.items()
                 if k not in ("before", "done", "aborted"))
    tap.ok(during > 0, "%s: writes were acknowledged while the reshard ran "
           "(%d)" % (label, during))
    errs = model.errors if allow_conn_errors else model.errors + (
        [("-", "-", "-", "-", "%d lost connections" % model.conn_errors)]
        if model.conn_errors else [])
    tap.ok(not errs, "%s: zero write errors%s" % (
        label, " besides the killed proxy's lost connections"
        if allow_conn_errors else ""), [], errs[:5])
    tap.ok(not model.unresolved, "%s: every write whose outcome was unknown "
           "was redone and acknowledged" % label, [], model.unresolved[:5])
    tap.ok(model.reads > 0 and model.misses == 0,
           "%s: %d reads of known keys, zero misses" % (label, model.reads),
           0, (model.misses, model.miss_ids[:5]))
    tap.ok(model.stale == 0, "%s: no read returned a row older than an "
           "acknowledged write" % label, 0, model.stale)
    if not allow_conn_errors:
        tap.ok(model.read_errors == 0, "%s: zero read errors" % label, 0,
               model.read_errors)


def check_data(db, spec, model, place, label):
    """Every expected row on exactly one shard, place(id)'s, with its
    values; deleted ids and unknown ids nowhere. Checked on the primaries."""
    rows = {s: shard_rows(s, db) for s in SHARDS}
    where = {}
    for s, r in rows.items():
        for k in r:
            where.setdefault(k, []).append(s)
    exp = model.expected
    missing = [k for k in exp if k not in where]
    dup = [(k, v) for k, v in where.items() if len(v) > 1]
    misplaced = [(k, where[k], place(k)) for k in exp
                 if k in where and where[k] != [place(k)]]
    wrong = [(k, rows[where[k][0]][k], exp[k]) for k in exp
             if k in where and rows[where[k][0]][k] != exp[k]]
    back = [k for k in model.deleted if k in where]
    unknown = [k for k in where if k not in exp and k not in model.deleted]
    tap.diag("%s: %d rows expected (%d deleted ids); on the primaries: %s"
             % (label, len(exp), len(model.deleted),
                ", ".join("%s %d" % (s, len(rows[s])) for s in SHARDS)))
    tap.ok(not missing and not dup, "%s: every acknowledged row is on "
           "exactly one shard" % label, [], (missing[:5], dup[:5]))
    tap.ok(not misplaced, "%s: each on its placement shard" % label, [],
           misplaced[:5])
    tap.ok(not wrong, "%s: with its last acknowledged values" % label, [],
           wrong[:5])
    tap.ok(not back and not unknown, "%s: deleted ids nowhere, no row "
           "nobody wrote" % label, [], (back[:5], unknown[:5]))
    tags = {s: shard_rows(s, db, "tags") for s in SHARDS}
    bad = [(k, s) for s in SHARDS for k in tags[s] if place(k) != s]
    count = sum(len(t) for t in tags.values())
    tap.ok(not bad and count == len(set().union(*tags.values())) and
           count > 0, "%s: the rule's other table (tags, %d rows) is placed "
           "the same way" % (label, count), [], bad[:5])
    return rows


def check_route(inst, db, spec, keys, place, label):
    got = {k: inst.route(db, k) for k in keys}
    bad = {k: v for k, v in got.items() if v != [place(k)]}
    tap.ok(not bad, "%s: EXPLAIN ROUTE on %s sends keys to their placement "
           "shard (%s)" % (label, inst.name, ", ".join(
               "%d->%s" % (k, place(k)) for k in keys)), {}, bad)


def sample_keys(spec):
    """One key of each placement class: stays on s0, stays on s1, moves."""
    out = []
    for cls in ("s0", "s1", "s2"):
        for k in spec.initial:
            if spec.after(k) == cls:
                out.append(k)
                break
    return out


def finish(load, model, inst_list, label):
    ok = load.stop()
    tap.ok(ok, "%s: the load threads stop" % label)
    for inst in inst_list:
        if not inst.alive():
            tap.diag(inst.log_tail())


def backlog(spec, db, stop, rounds=30):
    """Bulk UPDATEs of the moving rows straight on the source primary:
    binlog for the catch-up to work through. pad only: the rows' checked
    values stay the writers'."""
    con = direct(spec.source, db=db)
    try:
        with con.cursor() as c:
            for _ in range(rounds):
                if stop():
                    break
                c.execute("UPDATE items SET pad = pad + 1 WHERE " +
                          spec.moving_sql)
    finally:
        con.close()


def held_txn(inst, db, key):
    """A transaction through myshard that wrote a moving key and stays
    open: the cutover's hold waits for it. Returns the connection."""
    con = connect(inst.port, db=db)
    with con.cursor() as c:
        c.execute("BEGIN")
        c.execute("UPDATE items SET pad = pad + 1 WHERE id = %s", (key,))
    return con


def moving_reserved(spec, model):
    keys = [k for k in model.reserved if spec.moving(k)]
    return keys[0] if keys else None
