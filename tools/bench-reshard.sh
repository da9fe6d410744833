#!/usr/bin/env bash
# tools/bench-reshard.sh - `tools/bench.sh reshard`: the speed of an online
# reshard. A quarter of BENCH_RESHARD_ROWS rows (sysbench tables sharded by
# id over s0 and s1, hash rule of 1024 slots) moves to s2 (RESHARD MOVE
# SLOTS 768-1023, s1 -> s2) while sysbench oltp_read_write runs through
# myshard. It reports:
#   - the copy rate (rows copied / time in phase copy, from SHOW RESHARD
#     polled every 0.2 s) against reshard.copy_rate;
#   - the catch-up: time in phase catchup (first try), the largest
#     binlog_lag and binlog_behind seen;
#   - the longest write hold at cutover (target: under 500 ms): SHOW
#     RESHARD's longest_hold_ms and cutover_tries, and the slowest write of
#     a probe client that updates moving keys through myshard back to back
#     (which also counts the machine's own stalls), then the reshard lines
#     of myshard's log;
#   - the application's qps and p99 latency before (BENCH_TIME s), during
#     (sysbench's 1-second reports while the reshard runs: mean qps, median
#     and worst 1-second p99) and after (BENCH_TIME s).
# The machine is shared and noisy: quote ratios, not absolute numbers.
#
# Usage: tools/bench.sh reshard [--env]
#   (default)  build the release build, start a private MariaDB cluster of
#              three shards (tests/integration/mariadb_env.sh) and a private
#              myshard in a temporary directory, remove them at the end
#   --env      use the servers the environment names (S0/S1/S2_PRIMARY_PORT,
#              e.g. after eval "$(tools/cluster.sh env)"); the benchmark's
#              schema (rsbench) is dropped from them at the end
#
# Environment:
#   BENCH_RESHARD_ROWS=1000000   rows in all, over BENCH_RESHARD_TABLES=4
#   BENCH_RESHARD_THREADS=8      sysbench threads
#   BENCH_RESHARD_COPY_RATE=20000  reshard.copy_rate (rows/s)
#   BENCH_RESHARD_MAX_PAUSE=2s   reshard.max_pause
#   BENCH_RESHARD_TIMEOUT=1800   seconds the reshard may take
#   BENCH_TIME=30                seconds of the before and after runs
#   BENCH_BUILD=build            the build whose myshard runs (a release
#                                build; build-test works for a quick try)
#   BENCH_WORKERS=2              myshard workers
#   BENCH_RESHARD_SERVER_ARGS    mariadbd options of the private cluster
#                                ("--innodb-log-file-size=256M
#                                --innodb-buffer-pool-size=512M")
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

USE_ENV=0
case ${1:-} in
"") ;;
--env) USE_ENV=1 ;;
-h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
*)
    echo "usage: tools/bench.sh reshard [--env]" >&2
    exit 2
    ;;
esac

ROWS=${BENCH_RESHARD_ROWS:-1000000}
TABLES=${BENCH_RESHARD_TABLES:-4}
THREADS=${BENCH_RESHARD_THREADS:-8}
RATE=${BENCH_RESHARD_COPY_RATE:-20000}
MAXP=${BENCH_RESHARD_MAX_PAUSE:-2s}
TIMEOUT=${BENCH_RESHARD_TIMEOUT:-1800}
BTIME=${BENCH_TIME:-30}
BUILD=${BENCH_BUILD:-build}
WORKERS=${BENCH_WORKERS:-2}
SIZE=$((ROWS / TABLES))
DB=rsbench

WORK=$(mktemp -d /tmp/myshard-bench-reshard.XXXXXX)
DIR=
PROXY_PID=
SB_PID=
PROBE_PID=
POLL_PID=

cleanup() {
    set +e
    for p in $SB_PID $PROBE_PID $POLL_PID; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [[ -n $PROXY_PID ]] && pid_alive "$PROXY_PID"; then
        stop_pid "$PROXY_PID" 10
        wait "$PROXY_PID" 2>/dev/null
    fi
    if [[ -n $DIR ]]; then
        tests/integration/mariadb_env.sh stop "$DIR" >/dev/null 2>&1
        rm -rf "$DIR"
    elif [[ -n ${S0_PRIMARY_PORT:-} ]]; then
        for s in 0 1 2; do
            sql "$s" "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS ctl_$DB" 2>/dev/null
        done
    fi
    msg "logs kept in $WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sql N STATEMENT: run it on shard N's primary.
sql() {
    local port=S${1}_PRIMARY_PORT
    mariadb --no-defaults -h127.0.0.1 -P"${!port}" -umyshard -psecret -N -B -e "$2"
}

admin_sql() {
    mariadb --no-defaults -h127.0.0.1 -P"$ADMIN_PORT" -uadmin -pbench-admin -N -B -e "$1"
}

if [[ $USE_ENV -eq 0 ]]; then
    ensure_packages
    if [[ $BUILD == build ]]; then
        msg "building the release build (build/)"
        build_dir build --buildtype=release >/dev/null || die "the build failed (run: ninja -C build)"
    fi
    DIR=$WORK/cluster
    msg "starting the MariaDB cluster in $DIR"
    # the test rig's servers are sized for tests (8 MB redo log, 32 MB
    # buffer pool): under a reshard's extra writes (copy, cleanup, purge)
    # they stall every write for seconds at each checkpoint, whatever
    # sends them; size them for a million rows
    MARIADB_EXTRA_ARGS="${BENCH_RESHARD_SERVER_ARGS---innodb-log-file-size=256M --innodb-buffer-pool-size=512M}" \
        MARIADB_MAX_CONNECTIONS=600 tests/integration/mariadb_env.sh start "$DIR" >/dev/null ||
        die "the MariaDB cluster did not start"
    eval "$(tests/integration/mariadb_env.sh env "$DIR")"
fi
[[ -x $BUILD/myshard ]] || die "$BUILD/myshard is not built (BENCH_BUILD names the build)"
[[ -n ${S0_PRIMARY_PORT:-} && -n ${S1_PRIMARY_PORT:-} && -n ${S2_PRIMARY_PORT:-} ]] ||
    die "three shards are needed (S0/S1/S2_PRIMARY_PORT): mariadb_env.sh starts s2 with the other two"

read -r PROXY_PORT ADMIN_PORT HTTP_PORT <<<"$(free_ports 3)"
cat >"$WORK/myshard.yaml" <<EOF
# written by tools/bench-reshard.sh
listen: 127.0.0.1:$PROXY_PORT
workers: $WORKERS
admin:
  listen: 127.0.0.1:$ADMIN_PORT
  http: 127.0.0.1:$HTTP_PORT
  user: admin
  password: bench-admin
reshard:
  max_pause: $MAXP
  copy_rate: $RATE
  state: $WORK/placement.yaml
  control: ctl_$DB
users:
  - { name: app, password: app, schemas: [$DB], max_connections: 1000 }
backend:
  user: myshard
  password: secret
  pool:
    max_connections: 200
shards:
  - { name: s0, primary: 127.0.0.1:$S0_PRIMARY_PORT }
  - { name: s1, primary: 127.0.0.1:$S1_PRIMARY_PORT }
  - { name: s2, primary: 127.0.0.1:$S2_PRIMARY_PORT }
sharding_rules:
  user_hash: { type: hash, shards: [s0, s1], slots: 1024 }
schemas:
  - name: $DB
    default_shard: s0
    transactions: best_effort
    tables:
$(for i in $(seq 1 "$TABLES"); do printf '      - { name: sbtest%d, key: id, rule: user_hash }\n' "$i"; done)
EOF

# its own control schema (reshard.control): no other myshard on these
# servers (the rig's, with --env) takes part in its cutovers
for s in 0 1 2; do
    sql "$s" "DROP DATABASE IF EXISTS ctl_$DB; DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB" ||
        die "cannot create $DB on s$s"
done
msg "starting myshard ($BUILD) on 127.0.0.1:$PROXY_PORT"
"$BUILD/myshard" -c "$WORK/myshard.yaml" --log-level info >"$WORK/myshard.log" 2>&1 &
PROXY_PID=$!
if ! wait_port "$PROXY_PORT" 20 "$PROXY_PID"; then
    tail -n 30 "$WORK/myshard.log" >&2
    die "myshard did not start (log: $WORK/myshard.log)"
fi

# shellcheck disable=SC2054  # the commas belong to one option
SB=(sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1
    "--mysql-port=$PROXY_PORT" --mysql-user=app --mysql-password=app
    "--mysql-db=$DB" --tables="$TABLES" --table-size="$SIZE" --auto_inc=off
    --db-ps-mode=disable --mysql-ignore-errors=1213,1205,1180)
msg "preparing $TABLES tables x $SIZE rows through myshard"
"${SB[@]}" --threads="$TABLES" prepare >"$WORK/prepare.log" 2>&1 ||
    die "sysbench prepare through myshard failed (log: $WORK/prepare.log)"
for s in 0 1; do
    msg "s$s holds $(sql "$s" "SELECT SUM(TABLE_ROWS) FROM information_schema.tables WHERE table_schema = '$DB'") rows (estimate)"
done

# sb_summary LOG: "qps p99_ms" of a sysbench run's summary.
sb_summary() {
    awk '/queries:/ && /per sec/ { gsub(/[(]/, "", $3); q = $3 }
         /99th percentile:/ { p = $3 }
         END { printf "%s %s\n", q, p }' "$1"
}

run_fixed() { # run_fixed NAME: a BENCH_TIME s run, its summary
    "${SB[@]}" --threads="$THREADS" --time="$BTIME" --percentile=99 \
        --report-interval=0 run >"$WORK/$1.log" 2>&1 ||
        warn "sysbench $1 exited non-zero (log: $WORK/$1.log)"
    sb_summary "$WORK/$1.log"
}

msg "before: oltp_read_write, $THREADS threads, ${BTIME}s"
read -r QPS_BEFORE P99_BEFORE <<<"$(run_fixed before)"

msg "during: oltp_read_write in the background, then RESHARD"
"${SB[@]}" --threads="$THREADS" --time=$((TIMEOUT + 60)) --percentile=99 \
    --report-interval=1 run >"$WORK/during.log" 2>&1 &
SB_PID=$!
# The probe: writes to moving keys back to back through myshard; its
# slowest write is the hold a client felt at the cutover.
"$MYSHARD_PY" - "$PROXY_PORT" "$DB" "$SIZE" >"$WORK/probe.out" 2>&1 <<'PY' &
import signal, sys, time, zlib
import pymysql
port, db, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
keys = [k for k in range(1, size + 1)
        if zlib.crc32(str(k).encode()) % 1024 >= 768][:50]
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
worst, at, n, errs = 0.0, 0.0, 0, 0
con = None
t_start = time.time()
while not stop:
    k = keys[n % len(keys)]
    t = time.time()
    try:
        if con is None:
            con = pymysql.connect(host="127.0.0.1", port=port, user="app",
                                  password="app", database=db,
                                  autocommit=True)
        with con.cursor() as c:
            c.execute("UPDATE sbtest1 SET k = k + 1 WHERE id = %s", (k,))
    except pymysql.err.Error:
        errs += 1
        con = None
    d = time.time() - t
    if d > worst:
        worst, at = d, t - t_start
    n += 1
    time.sleep(0.002)
print("%d %d %.1f %.1f" % (n, errs, worst * 1000, at))
PY
PROBE_PID=$!
sleep 5
T0=$(date +%s.%N)
# RESHARD, then SHOW RESHARD every 0.2 s until the reshard ends: one JSON
# object per poll (its row by column name, t = seconds since RESHARD) in
# reshard.poll, a line per phase change on stderr; exit 0 when done
"$MYSHARD_PY" - "$ADMIN_PORT" "$TIMEOUT" "$WORK/reshard.poll" <<'PY' || RS_RC=$?
import json, sys, time
import pymysql
port, timeout, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
con = pymysql.connect(host="127.0.0.1", port=port, user="admin",
                      password="bench-admin", autocommit=True)
cur = con.cursor()
cur.execute("RESHARD 'user_hash' MOVE SLOTS 768-1023 TO 's2'")
rid = str(cur.fetchone()[0])
t0 = time.time()
sys.stderr.write("==> reshard %s started; polling SHOW RESHARD\n" % rid)
phase = None
with open(out, "w") as f:
    while time.time() - t0 < timeout:
        cur.execute("SHOW RESHARD")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, map(str, r))) for r in cur.fetchall()]
        row = next((r for r in rows if r.get("id") == rid), None)
        if row:
            row["t"] = time.time() - t0
            f.write(json.dumps(row) + "\n")
            if row.get("phase") != phase:
                phase = row.get("phase")
                sys.stderr.write("==>   %.1f s: %s\n" % (row["t"], phase))
            if phase in ("done", "aborted", "failed"):
                break
        time.sleep(0.2)
sys.stderr.write("==> the reshard ended %s%s\n" % (
    phase, ": " + row.get("error", "") if row and row.get("error") else ""))
sys.exit(0 if phase == "done" else 1)
PY
T1=$(date +%s.%N)
sleep 5 # a few seconds under the new placement in the during window
kill -TERM "$PROBE_PID" 2>/dev/null || true
wait "$PROBE_PID" 2>/dev/null || true
PROBE_PID=
kill -TERM "$SB_PID" 2>/dev/null || true
wait "$SB_PID" 2>/dev/null || true
SB_PID=
[[ ${RS_RC:-0} -eq 0 ]] || die "the reshard did not end done (log: $WORK/myshard.log, $WORK/reshard.poll)"

msg "after: oltp_read_write, $THREADS threads, ${BTIME}s"
read -r QPS_AFTER P99_AFTER <<<"$(run_fixed after)"

# during: sysbench's 1-second reports while the reshard ran ("qps: Q",
# "lat (ms,99%): P"): mean qps, median and worst p99, how many reports
read -r QPS_DURING P99_MED P99_MAX NSEC <<<"$("$MYSHARD_PY" - "$WORK/during.log" <<'PY'
import re, statistics, sys
q, p = [], []
for line in open(sys.argv[1]):
    m = re.search(r"qps: ([0-9.]+).*\(ms,99%\): ([0-9.]+)", line)
    if m:
        q.append(float(m.group(1)))
        p.append(float(m.group(2)))
print("%.1f %.2f %.2f %d" % (statistics.mean(q), statistics.median(p),
                             max(p), len(q)) if q else "0 0 0 0")
PY
)"

# the phases from the polls: seconds in copy, rows total, seconds in
# catchup, largest binlog lag (s) and most transactions behind in
# catchup/cutover, most held writes, longest hold (ms), cutover tries,
# seconds in cutover (the last try)
read -r COPY_S ROWS_TOTAL CATCH_S LAG_MAX BEHIND_MAX HELD_MAX HOLD_MS TRIES <<<"$("$MYSHARD_PY" - "$WORK/reshard.poll" <<'PY'
import json, sys
first, order, last = {}, [], {}
def num(r, k):
    try:
        return float(r.get(k) or 0)
    except ValueError:
        return 0.0
lag = behind = held = 0.0
for line in open(sys.argv[1]):
    r = json.loads(line)
    ph = r.get("phase")
    if ph not in first:
        first[ph] = r["t"]
        order.append(ph)
    if ph in ("catchup", "cutover"):
        lag = max(lag, num(r, "binlog_lag"))
        behind = max(behind, num(r, "binlog_behind"))
    held = max(held, num(r, "held_writes"))
    last = r
def span(ph):
    if ph not in first:
        return 0.0
    i = order.index(ph)
    return (first[order[i + 1]] if i + 1 < len(order) else first[ph]) - first[ph]
print("%.1f %d %.1f %g %d %d %s %s" % (
    span("copy"), num(last, "rows_total"), span("catchup"), lag, behind,
    held, last.get("longest_hold_ms", "?"), last.get("cutover_tries", "?")))
PY
)"
read -r PROBE_N PROBE_ERR PROBE_WORST PROBE_AT <<<"$(cat "$WORK/probe.out")"

printf '\n== online reshard: slots 768-1023 of user_hash, s1 -> s2, %s rows in all\n' "$ROWS"
printf 'reshard took %.1f s (RESHARD to done); %s rows moved\n' "$(bc <<<"$T1 - $T0")" "$ROWS_TOTAL"
if [[ $(bc <<<"$COPY_S > 0") == 1 ]]; then
    printf 'copy:      %.1f s, %.0f rows/s (copy_rate %s)\n' "$COPY_S" "$(bc -l <<<"$ROWS_TOTAL / $COPY_S")" "$RATE"
fi
printf 'catch-up:  %.1f s (first try), largest binlog lag %s s, at most %s transactions behind\n' "$CATCH_S" "$LAG_MAX" "$BEHIND_MAX"
printf 'cutover:   %s tries; longest hold %s ms (SHOW RESHARD longest_hold_ms); most held writes seen %s\n' "$TRIES" "$HOLD_MS" "$HELD_MAX"
printf 'hold:      slowest probe write to a moving key %s ms (at %s s; %s writes, %s errors; target < 500 ms)\n' \
    "$PROBE_WORST" "$PROBE_AT" "$PROBE_N" "$PROBE_ERR"
printf '\n%-8s %10s %10s\n' "" "qps" "p99 ms"
printf '%-8s %10s %10s\n' before "$QPS_BEFORE" "$P99_BEFORE"
printf '%-8s %10s %10s   (median of %d 1-s reports; worst 1-s p99 %s ms)\n' during "$QPS_DURING" "$P99_MED" "$NSEC" "$P99_MAX"
printf '%-8s %10s %10s\n' after "$QPS_AFTER" "$P99_AFTER"
printf '\nmyshard log, reshard lines:\n'
grep -i reshard "$WORK/myshard.log" | tail -n 20 | sed 's/^/  /' || true
