#!/usr/bin/python3
"""Online resharding: moving part of a rule's key space to a third shard
while the application writes, checked on the shards themselves.

Each scenario has a schema of its own (rs_<name>) with a table `items`
(id PRIMARY KEY = shard key, val, version, pad) and a static table `tags`
of the same rule, and a private myshard (or two) started from this build
with a config and a placement state file of its own in a temporary
directory. The rig (tools/test.sh) gives three shards: s0, s1 and s2,
each a primary and a GTID replica; myshard is given the primaries only, so
every read sees every acknowledged write.

The load: writer threads through myshard insert new ids, update ids they
own (val and version set to new values, version always growing) and
delete ids they inserted; a write counts as acknowledged only when its OK
came back. A write whose outcome is unknown (its connection died with the
proxy) is redone until acknowledged, so the last acknowledged value of
every id is what its row must hold. Reader threads read ids that are never
deleted and count a miss (no row) or a stale row (a version older than one
already acknowledged when the read began).

 1. move: 20,000 rows on user_hash (1024 slots: 0-511 s0, 512-1023 s1);
    s2 added by RELOAD CONFIG; RESHARD 'user_hash' MOVE SLOTS 768-1023 TO
    's2' under 8 writers and 2 readers until SHOW RESHARD says done. Zero
    write errors, zero read misses; every row on exactly one shard, its new
    placement shard, with its values; deleted ids nowhere; s2's replica
    has them; after a restart myshard still routes the moved keys to s2.
 2. kill_copy, kill_catchup, kill_cutover: SIGKILL of myshard as soon as
    SHOW RESHARD shows the phase, then a restart with the same config and
    state: the reshard ends done, or aborted with placement and data as
    before; no acknowledged write lost, no row duplicated or misplaced.
    For the cutover: a transaction that wrote a moving key before the
    reshard began keeps it in catch-up (SHOW RESHARD says why) until it
    commits, and its write reaches the target; a transaction opened after
    keeps the cutover's hold open.
 3. abort_copy, abort_catchup: RESHARD ABORT: placement and data as
    before, s2 holds none of the rule's rows. Also the refusals: a second
    reshard of the same rule, slots of two source shards, an unknown id.
 4. split: a range rule (s0 below 10000, s1 from 10000): SPLIT AT 15000
    TO 's2', the same checks.
 5. two, two_kill_b: two myshard instances over the same shards, each with
    half the writers; the reshard runs on A. Then again with a SIGKILL of
    B during the hold: a clean back-off or a completed move, never a lost
    acknowledged write, and both instances route alike afterwards.

Environment: the rig's (tools/test.sh): MYSHARD_BIN, S0/S1/S2_PRIMARY_PORT,
S2_REPLICA_PORT, BACKEND_USER, BACKEND_PASSWORD. RESHARD_TEST_ONLY=name,...
runs only the named scenarios. TAP output; exit status 1 if any check
failed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import pymysql

from reshard_lib import (ENV, SHARDS, HashSpec, Load, Model,
                         Myshard, RangeSpec, backlog, check_data, check_load,
                         check_route, connect, finish, fresh_schema,
                         held_txn, load_rows, progress,
                         run_direct, sample_keys, shard_rows, start_reshard,
                         tap, wait_replica, Watch)


# --------------------------------------------------------------- scenarios

STARTED = []  # every Myshard, stopped at the end


def new_myshard(tmp, name, db, spec, **kw):
    inst = Myshard(tmp, name, db, spec, **kw)
    STARTED.append(inst)
    return inst


def setup(tmp, name, spec, ninst=1, nwriters=4, nreaders=2, **kw):
    """Schema, myshard instance(s), the initial rows, the load running."""
    db = "rs_" + name
    fresh_schema(db, spec)
    insts = [new_myshard(tmp, "%s-%s" % (name, x), db, spec, **kw)
             for x in "ab"[:ninst]]
    up = all(i.start() for i in insts)
    if not tap.ok(up, "%s: %d myshard instance(s) start (%s)" % (
            name, ninst, ", ".join(i.log for i in insts))):
        for i in insts:
            tap.diag(i.log_tail())
        return None
    load_rows(insts[0], db, spec)
    model = Model(spec, nwriters)
    load = Load(model, spec, db, insts, nwriters, nreaders)
    load.start()
    time.sleep(1)
    return db, insts, model, load


def outcome_checks(name, spec, db, insts, model, r, load,
                   allow_conn_errors):
    """After a reshard ended (r: its last SHOW RESHARD row): stop the load,
    then load, route and data checks for the placement myshard routes by."""
    outcome = r.get("phase") if r else None
    time.sleep(1)  # a few writes under the final placement
    finish(load, model, insts, name)
    check_load(model, name, allow_conn_errors)
    mk = [k for k in spec.initial if spec.moving(k)][0]
    routed = insts[0].route(db, mk)
    place = spec.after if routed == ["s2"] else spec.before
    tap.ok((outcome == "done" and routed == ["s2"]) or
           (outcome == "aborted" and routed == [spec.source]),
           "%s: the outcome (%s) and the routing of a moving key (%s) agree"
           % (name, outcome, routed))
    for inst in insts:
        check_route(inst, db, spec, sample_keys(spec), place, name)
    check_data(db, spec, model, place, name)
    if place is spec.before:
        tap.ok(not shard_rows("s2", db), "%s: s2 holds none of the rule's "
               "rows" % name, {}, len(shard_rows("s2", db)))
    return outcome


def ddl_refused(a, db, rid, w):
    """DDL through myshard on a table of the rule while it is resharded
    (rows copied: the moving keys are published): refused with an error
    naming the reshard (the copy follows the table's definition, the
    catch-up would stop at it)."""
    end = time.time() + 60
    while time.time() < end:
        r = w.poll()
        if r is not None and (r.get("phase") != "copy" or
                              int(r.get("rows_copied") or 0) > 0):
            break
        time.sleep(0.02)
    con = connect(a.port, db=db)
    try:
        with con.cursor() as c:
            c.execute("ALTER TABLE items ADD COLUMN note INT")
        err = None
    except pymysql.err.Error as e:
        err = e
    finally:
        con.close()
    tap.ok(err is not None and err.args[0] == 1235 and
           ("reshard %s" % rid) in str(err), "move: ALTER TABLE on a table "
           "of the rule during the reshard is refused (1235, naming it)",
           "1235 naming reshard %s" % rid, str(err))
    cols = [r[0] for r in run_direct("s1", ["SELECT column_name FROM "
                                            "information_schema.columns "
                                            "WHERE table_schema = '%s' AND "
                                            "table_name = 'items'" % db])]
    tap.ok("note" not in [c.lower() for c in cols], "move: and the table "
           "was not changed on the source", "no column note", cols)


def scenario_move(tmp):
    name = "move"
    db = "rs_move"
    spec = HashSpec(20000)
    fresh_schema(db, spec)
    a = new_myshard(tmp, name, db, spec, with_s2=False)
    if not tap.ok(a.start(), "move: myshard starts with shards s0, s1 "
                  "(log %s)" % a.log):
        tap.diag(a.log_tail())
        return
    t0 = time.time()
    load_rows(a, db, spec)
    counts = [len(shard_rows(s, db)) for s in SHARDS]
    tap.ok(counts[0] + counts[1] == 20000 and counts[2] == 0 and
           min(counts[:2]) > 9000, "move: 20,000 rows loaded through "
           "myshard, about half on each of s0 and s1 (%.1f s)"
           % (time.time() - t0), None, counts)

    a.set_s2(True)
    try:
        a.console("RELOAD CONFIG")
        err = None
    except pymysql.err.Error as e:
        err = str(e)
    shards = [r.get("shard") for r in a.console("SHOW SHARDS")]
    tap.ok(err is None and "s2" in shards, "move: s2 appended to shards: "
           "and RELOAD CONFIG: SHOW SHARDS lists it", None, (err, shards))

    model = Model(spec, 8)
    load = Load(model, spec, db, [a], 8, 2)
    load.start()
    time.sleep(2)
    t0 = time.time()
    rid = start_reshard(a, spec)
    if rid is None:
        finish(load, model, [a], name)
        return
    w = Watch(a, spec, rid, model)
    ddl_refused(a, db, rid, w)
    r = w.until(("done",), 180)
    took = time.time() - t0
    tap.diag("move: phases seen %s in %.1f s, at most %d held writes"
             % (" -> ".join(w.seen), took, w.max_held))
    tap.ok(r is not None and r.get("phase") == "done", "move: SHOW RESHARD "
           "reaches done within 180 s", "done", progress(r) if r else None)
    if r is not None:
        tap.ok(r.get("rule") == "user_hash" and r.get("from") == "s1"
               and r.get("to") == "s2" and not r.get("error"),
               "move: SHOW RESHARD names the rule, from s1, to s2, no error",
               None, r)
        try:
            copied, total = int(r.get("rows_copied")), int(r.get("rows_total"))
        except (TypeError, ValueError):
            copied = total = -1
        near = sum(1 for k in spec.initial if spec.moving(k))
        tap.ok(total > 0 and copied == total and
               abs(total - near) < near // 2,
               "move: rows copied = rows total (%d), about the moving "
               "quarter (%d initial rows)" % (total, near), None, r)
        hold = r.get("longest_hold_ms")
        tap.diag("move: %s cutover tries, %s writes held in all, the "
                 "longest hold %s ms" % (r.get("cutover_tries"),
                                         r.get("held_total"), hold))
        tap.ok(hold is not None and str(hold).isdigit() and
               int(hold) <= 2000, "move: the longest write hold at the "
               "cutover (%s ms) stayed within reshard.max_pause (2 s)"
               % hold, "<= 2000", hold)
    outcome_checks(name, spec, db, [a], model, r, load, False)

    tap.ok(wait_replica("s2") and shard_rows("s2", db, role="REPLICA")
           == shard_rows("s2", db) and shard_rows("s2", db),
           "move: s2's replica holds the same rows as its primary")
    tap.ok(os.path.exists(a.state), "move: the live placement is written "
           "to reshard.state (%s)" % a.state)
    if os.path.exists(a.state):
        with open(a.state) as f:
            tap.diag("placement file:\n" + f.read()[:800])

    rc = a.stop()
    tap.ok(rc == 0, "move: myshard exits 0 on SIGTERM", 0, rc)
    if not tap.ok(a.start(), "move: myshard starts again with the same "
                  "config"):
        tap.diag(a.log_tail())
        return
    check_route(a, db, spec, sample_keys(spec), spec.after,
                "move after a restart")
    text = " ".join(str(v) for r in a.console("SHOW CONFIG")
                    for v in r.values())
    tap.ok("768-1023" in text and "s2" in text, "move after a restart: "
           "SHOW CONFIG shows the live placement (768-1023 on s2)")
    locate = os.path.join(os.path.dirname(ENV["MYSHARD_BIN"]),
                          "myshard-locate")
    mk = [k for k in model.expected if spec.moving(k)][0]
    out = subprocess.run([locate, "-c", a.cfg, "items", str(mk)],
                         cwd=a.tmp, capture_output=True, text=True)
    tap.ok(out.returncode == 0 and "shard: s2" in out.stdout,
           "move: myshard-locate places moved key %d on s2" % mk, None,
           out.stdout + out.stderr)
    new = next(k for k in range(5000000, 5100000) if spec.moving(k))
    con = connect(a.port, db=db)
    with con.cursor() as c:
        c.execute("UPDATE items SET val = 'after-restart' WHERE id = %s",
                  (mk,))
        c.execute("INSERT INTO items (id, val, version) VALUES (%s, "
                  "'after-restart', 1)", (new,))
    con.close()
    got = {s: {k: v for k, v in shard_rows(s, db).items() if k in (mk, new)}
           for s in SHARDS}
    tap.ok(set(got["s2"]) == {mk, new} and not got["s0"] and not got["s1"]
           and all(v[0] == "after-restart" for v in got["s2"].values()),
           "move after a restart: an UPDATE of a moved key and an INSERT "
           "of a new one land on s2 only", None, got)
    a.stop()


def reach(w, spec, db, phase):
    """Waits until SHOW RESHARD shows phase (for catchup, a backlog thread
    keeps the source's binlog ahead once the copy ends). Returns the last
    row seen and the backlog thread (None when none)."""
    bl = None
    if phase == "catchup":
        w.until(("copy",), 20)
        bl = threading.Thread(target=backlog, args=(
            spec, db, lambda: (w.last or {}).get("phase") not in ("copy",)),
            daemon=True)
        bl.start()
    return w.until((phase,), 60, step=0.01), bl


def open_old_txn(a, db, spec, model):
    """A transaction through a that wrote a moving key before the reshard
    began: no count covers it, so the cutover must wait for it to end."""
    keys = sorted(k for k in model.reserved if spec.moving(k))
    old = connect(a.port, db=db)
    with old.cursor() as c:
        c.execute("BEGIN")
        c.execute("UPDATE items SET val = 'before-reshard', version = "
                  "version + 1 WHERE id = %s", (keys[0],))
    return old


def hold_cutover(a, db, spec, model, w, old, name):
    """Checks that the reshard waits in catch-up for old (open_old_txn),
    then opens a transaction on another moving key (counted: the hold
    waits for it, up to max_pause, which keeps SHOW RESHARD in cutover),
    and commits old, whose write must reach the target. Returns the held
    transaction's connection."""
    keys = sorted(k for k in model.reserved if spec.moving(k))
    end = time.time() + 60
    r = None
    while time.time() < end:
        r = w.poll()
        if r and (r.get("phase") not in ("copy", "catchup") or
                  "transaction" in (r.get("waiting") or "")):
            break
        time.sleep(0.05)
    tap.ok(r is not None and r.get("phase") == "catchup" and
           "transaction" in (r.get("waiting") or ""),
           "%s: the cutover waits for a transaction that wrote a moving key "
           "before the reshard began, and SHOW RESHARD says so" % name,
           "catchup, waiting for a transaction",
           r and (r.get("phase"), r.get("waiting")))
    time.sleep(1.5)
    r = w.poll()
    tap.ok(r is not None and r.get("phase") == "catchup",
           "%s: still waiting 1.5 s later (phases seen: %s)"
           % (name, " -> ".join(w.seen)), "catchup", r and r.get("phase"))
    txn = held_txn(a, db, keys[1])
    old.commit()
    old.close()
    model.ack(keys[0], ("before-reshard", 2))
    return txn


def scenario_kill(tmp, phase):
    name = "kill_" + phase
    spec = HashSpec(6000)
    s = setup(tmp, name, spec, copy_rate=500,
              max_pause="4s" if phase == "cutover" else "2s")
    if s is None:
        return
    db, (a,), model, load = s
    txn = old = None
    if phase == "cutover":
        old = open_old_txn(a, db, spec, model)
    rid = start_reshard(a, spec)
    if rid is None:
        finish(load, model, [a], name)
        return
    w = Watch(a, spec, rid, model)
    if old is not None:
        txn = hold_cutover(a, db, spec, model, w, old, name)
    r, bl = reach(w, spec, db, phase)
    at = r.get("phase") if r else None
    a.kill()
    tap.diag("%s: phases seen %s" % (name, " -> ".join(w.seen)))
    tap.ok(at == phase, "%s: SIGKILL of myshard while SHOW RESHARD says %s"
           % (name, phase), phase, progress(r) if r else None)
    if txn is not None:
        try:
            txn.close()
        except Exception:
            pass
    if bl is not None:
        bl.join(60)
    time.sleep(0.5)
    if not tap.ok(a.start(), "%s: myshard restarts with the same config "
                  "and state" % name):
        tap.diag(a.log_tail())
        finish(load, model, [a], name)
        return
    w.rid = None  # the rule's reshard, whatever id it has now
    w.last = None
    r = w.until((), 90)
    tap.ok(r is not None and r.get("phase") in ("done", "aborted"),
           "%s: after the restart the reshard resumes and ends done, or "
           "ends aborted" % name, "done or aborted",
           progress(r) if r else "no SHOW RESHARD row")
    outcome_checks(name, spec, db, [a], model, r, load, True)
    a.stop()


def refusals(a, spec):
    """What RESHARD refuses while nothing runs on the rule: each error
    names what is wrong (the words it must contain)."""
    for sql, what, words in (
            ("RESHARD 'user_hash' MOVE SLOTS 500-600 TO 's2'",
             "slots of two source shards", ("source",)),
            ("RESHARD 'user_hash' MOVE SLOTS 768-1023 TO 's9'",
             "an unknown target shard", ("s9",)),
            ("RESHARD 'no_such_rule' MOVE SLOTS 768-1023 TO 's2'",
             "an unknown rule", ("no_such_rule",)),
            ("RESHARD ABORT 999999", "an unknown reshard id", ("999999",))):
        try:
            rows = a.console(sql)
            err = None
        except pymysql.err.Error as e:
            err, rows = str(e), None
        tap.ok(err is not None and "myshard:" in err and
               "unknown admin command" not in err and
               all(w in err for w in words),
               "%s is refused with an error that says why (%s)"
               % (sql, what), "an error naming %s" % (words,), err or rows)
        if rows and rows[0].get("id") is not None:
            try:
                a.console("RESHARD ABORT %s" % rows[0]["id"])
            except pymysql.err.Error:
                pass
            Watch(a, spec, rows[0]["id"], Model(spec, 1)).until((), 30)


def scenario_abort(tmp, phase):
    name = "abort_" + phase
    spec = HashSpec(5000)
    s = setup(tmp, name, spec, copy_rate=300)
    if s is None:
        return
    db, (a,), model, load = s
    if phase == "copy":
        refusals(a, spec)
    rid = start_reshard(a, spec)
    if rid is None:
        finish(load, model, [a], name)
        return
    w = Watch(a, spec, rid, model)
    r, bl = reach(w, spec, db, phase)
    at = r.get("phase") if r else None
    if phase == "copy":
        try:
            a.console(spec.reshard_sql.replace("768-1023", "900-1000"))
            err = None
        except pymysql.err.Error as e:
            err = str(e)
        tap.ok(err is not None and "myshard:" in err and "user_hash" in err,
               "%s: a second reshard of the rule while one runs is refused, "
               "naming the rule" % name, "an error", err)
    try:
        a.console("RESHARD ABORT %s" % rid)
        err = None
    except pymysql.err.Error as e:
        err = str(e)
    tap.ok(at == phase and err is None, "%s: RESHARD ABORT %s while SHOW "
           "RESHARD says %s" % (name, rid, phase), phase,
           (progress(r) if r else None, err))
    if bl is not None:
        bl.join(60)
    r = w.until((), 60)
    tap.diag("%s: phases seen %s" % (name, " -> ".join(w.seen)))
    tap.ok(r is not None and r.get("phase") == "aborted",
           "%s: SHOW RESHARD says aborted" % name, "aborted",
           progress(r) if r else None)
    outcome_checks(name, spec, db, [a], model, r, load, False)
    a.stop()


def scenario_split(tmp):
    name = "split"
    spec = RangeSpec(6000)
    s = setup(tmp, name, spec, nwriters=6)
    if s is None:
        return
    db, (a,), model, load = s
    rid = start_reshard(a, spec)
    if rid is None:
        finish(load, model, [a], name)
        return
    w = Watch(a, spec, rid, model)
    r = w.until(("done",), 90)
    tap.diag("%s: phases seen %s" % (name, " -> ".join(w.seen)))
    tap.ok(r is not None and r.get("phase") == "done", "%s: SHOW RESHARD "
           "reaches done" % name, "done", progress(r) if r else None)
    outcome_checks(name, spec, db, [a], model, r, load, False)
    a.stop()


def scenario_two(tmp, kill_b):
    name = "two_kill_b" if kill_b else "two"
    spec = HashSpec(5000)
    s = setup(tmp, name, spec, ninst=2, nwriters=8, nreaders=2,
              copy_rate=2000, max_pause="4s" if kill_b else "2s")
    if s is None:
        return
    db, (a, b), model, load = s
    old = open_old_txn(a, db, spec, model) if kill_b else None
    rid = start_reshard(a, spec)
    if rid is None:
        finish(load, model, [a, b], name)
        return
    w = Watch(a, spec, rid, model)
    if kill_b:
        txn = hold_cutover(a, db, spec, model, w, old, name)
        r = w.until(("cutover",), 60, step=0.01)
        at = r.get("phase") if r else None
        b.kill()
        tap.ok(at == "cutover", "%s: SIGKILL of instance B while A's SHOW "
               "RESHARD says cutover" % name, "cutover",
               progress(r) if r else None)
        txn.close()
        time.sleep(2)
        tap.ok(b.start(), "%s: B restarts" % name)
    r = w.until((), 120)
    tap.diag("%s: phases seen %s, at most %d held writes"
             % (name, " -> ".join(w.seen), w.max_held))
    want = ("done", "aborted") if kill_b else ("done",)
    tap.ok(r is not None and r.get("phase") in want, "%s: the reshard ends "
           "%s" % (name, " or ".join(want)), want,
           progress(r) if r else None)
    outcome_checks(name, spec, db, [a, b], model, r, load, kill_b)
    for inst in (a, b):
        inst.stop()


# test.sh gives a program 600 s; a scenario that hangs must not eat them all
BUDGET_S = int(ENV.get("MYSHARD_TEST_TIMEOUT_S", "600")) - 90

SCENARIOS = [
    ("move", scenario_move),
    ("kill_copy", lambda t: scenario_kill(t, "copy")),
    ("kill_catchup", lambda t: scenario_kill(t, "catchup")),
    ("kill_cutover", lambda t: scenario_kill(t, "cutover")),
    ("abort_copy", lambda t: scenario_abort(t, "copy")),
    ("abort_catchup", lambda t: scenario_abort(t, "catchup")),
    ("split", scenario_split),
    ("two", lambda t: scenario_two(t, False)),
    ("two_kill_b", lambda t: scenario_two(t, True)),
]


def main():
    tmp = tempfile.mkdtemp(prefix="reshard_test.")
    only = [x for x in ENV.get("RESHARD_TEST_ONLY", "").split(",") if x]
    t_all = time.time()
    if not tap.ok(all(("S%d_PRIMARY_PORT" % i) in ENV for i in range(3))
                  and "S2_REPLICA_PORT" in ENV, "the rig has three shards "
                  "(S0/S1/S2_PRIMARY_PORT, S2_REPLICA_PORT)"):
        return
    try:
        for name, fn in SCENARIOS:
            if only and name not in only:
                continue
            if time.time() - t_all > BUDGET_S:
                tap.ok(False, "%s: not run, the program's %d s ran out"
                       % (name, BUDGET_S))
                continue
            tap.diag("--- %s" % name)
            t0 = time.time()
            try:
                fn(tmp)
            except Exception:
                tap.ok(False, "%s raised" % name)
                tap.diag(traceback.format_exc(limit=8))
            for inst in STARTED:
                if inst.alive():
                    inst.stop()
            tap.diag("%s took %.1f s" % (name, time.time() - t0))
    finally:
        for inst in STARTED:
            inst.stop()
        try:
            for s in SHARDS:
                run_direct(s, ["DROP DATABASE IF EXISTS rs_" + n
                               for n, _ in SCENARIOS])
            # and the scenarios' control schemas (reshard.control, on s0)
            run_direct("s0", ["DROP DATABASE IF EXISTS ctl_rs_" + n
                              for n, _ in SCENARIOS])
        except Exception:
            pass
        tap.diag("reshard_test took %.1f s" % (time.time() - t_all))
        if tap.failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tap.diag("kept: %s" % tmp)


if __name__ == "__main__":
    main()
    sys.exit(tap.done())
