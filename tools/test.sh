#!/usr/bin/env bash
# tools/test.sh - build the test build (ASan + UBSan) and run every check:
# layering and formatting, the Check unit suites, and the integration
# programs against the real binary in front of a real MariaDB cluster (two
# shards, primary + GTID replica each). The last line is `N passed, M failed`;
# the exit status is 0 only when nothing failed.
#
# Usage: tools/test.sh [all|unit|integration|lint] [-k PATTERN]
#   all          everything (default)
#   unit         build + unit suites (+ fuzz targets, when built)
#   integration  build + cluster + proxy + integration programs + sysbench
#   lint         check-layers + clang-format
#   -k PATTERN   run only the unit binaries, integration programs and named
#                checks whose name matches PATTERN (extended regex); the
#                integration sections besides the programs are named
#                driver-DRIVER, sysbench (oltp_read_write through the
#                shared myshard) and sysbench-pool (500 threads over a pool
#                of 60, see sysbench_pool), e.g. -k sysbench-pool
#
# Environment:
#   MYSHARD_TEST_BUILD      build directory (build-test)
#   MYSHARD_TEST_TIMEOUT_S  limit for one test program in seconds (600)
#   MYSHARD_KEEP_TEST_DIR=1 keep the temporary cluster directory
#
# Each integration program (build-test/tests/integration/itest_* and
# tests/integration/*_test.py) runs from the repository root with:
#   MYSHARD_HOST MYSHARD_PORT MYSHARD_USER MYSHARD_PASSWORD MYSHARD_DB
#   MYSHARD_USER2 MYSHARD_PASSWORD2 (app2, whose config entry is a
#   password_hash) MYSHARD_ADMIN_PORT MYSHARD_ADMIN_USER
#   MYSHARD_ADMIN_PASSWORD MYSHARD_HTTP_PORT MYSHARD_BIN MYSHARD_CONFIG
#   MYSHARD_LOG MYSHARD_PID MYSHARD_EXPECT_PROXY=1 MYSHARD_TEST_DIR
#   MYSHARD_TEST_TIMEOUT_S MYSHARD_SRC MARIADB_ENV (path of mariadb_env.sh)
#   MARIADB_DIR S0_PRIMARY_PORT S0_REPLICA_PORT S1_PRIMARY_PORT
#   S1_REPLICA_PORT (and *_SOCKET) BACKEND_USER BACKEND_PASSWORD
# and prints TAP: `ok N - name` / `not ok N - name`. A program that exits
# non-zero without a `not ok` line counts as one failure named after it.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

MODE=all
PATTERN=
while [[ $# -gt 0 ]]; do
    case $1 in
    all | unit | integration | lint) MODE=$1 ;;
    -k)
        [[ $# -ge 2 ]] || die "-k needs a pattern"
        PATTERN=$2
        shift
        ;;
    -k*) PATTERN=${1#-k} ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    shift
done

BUILD=${MYSHARD_TEST_BUILD:-build-test}
TEST_TIMEOUT=${MYSHARD_TEST_TIMEOUT_S:-600}

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()

pass() {
    PASSED=$((PASSED + 1))
    printf 'PASS: %s\n' "$1"
}

fail() {
    FAILED=$((FAILED + 1))
    FAILURES+=("$1")
    printf 'FAIL: %s\n' "$1"
}

selected() {
    [[ -z $PATTERN || $1 =~ $PATTERN ]]
}

section() {
    printf '\n=== %s ===\n' "$*"
}

want() { # want STEP: this mode runs STEP
    case $MODE in
    all) return 0 ;;
    unit) [[ $1 == build || $1 == unit ]] ;;
    integration) [[ $1 == build || $1 == integration ]] ;;
    lint) [[ $1 == lint ]] ;;
    esac
}

# ---------------------------------------------------------------- cleanup

DIR=
PROXY_PID=
PROXY_STARTED=0
CLUSTER_STARTED=0
CLEANED=0
KEEP_LOGS=0

# State of sysbench_pool (below), kept global so that cleanup() can give the
# s0 primary its max_connections back and stop that section's processes
# however the script ends.
POOL500_DIR=
POOL500_OLD_MAX=
POOL500_PROXY_PID=
POOL500_SAMPLER_PID=

# s0_sql SQL: run SQL on the s0 primary as backend.user, print the rows.
s0_sql() {
    mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$S0_PRIMARY_PORT" \
        -u"$BACKEND_USER" -p"$BACKEND_PASSWORD" --connect-timeout=5 \
        --batch --skip-column-names -e "$1"
}

pool500_undo() {
    local i
    if [[ -n $POOL500_SAMPLER_PID ]]; then
        touch "$POOL500_DIR/sampler.stop" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do
            pid_alive "$POOL500_SAMPLER_PID" || break
            sleep 0.1
        done
        kill -TERM "$POOL500_SAMPLER_PID" 2>/dev/null || true
        wait "$POOL500_SAMPLER_PID" 2>/dev/null || true
        POOL500_SAMPLER_PID=
    fi
    if [[ -n $POOL500_PROXY_PID ]]; then
        stop_pid "$POOL500_PROXY_PID" 10 || true
        wait "$POOL500_PROXY_PID" 2>/dev/null || true
        POOL500_PROXY_PID=
    fi
    if [[ -n $POOL500_OLD_MAX ]]; then
        s0_sql "SET GLOBAL max_connections = $POOL500_OLD_MAX" ||
            warn "could not restore max_connections $POOL500_OLD_MAX on the s0 primary"
        POOL500_OLD_MAX=
    fi
}

cleanup() {
    [[ $CLEANED -eq 1 ]] && return 0
    CLEANED=1
    [[ -n $POOL500_DIR ]] && pool500_undo
    if [[ -n $PROXY_PID ]] && pid_alive "$PROXY_PID"; then
        stop_pid "$PROXY_PID" 5 || true
        wait "$PROXY_PID" 2>/dev/null || true
    fi
    PROXY_PID=
    if [[ $CLUSTER_STARTED -eq 1 ]]; then
        tests/integration/mariadb_env.sh stop "$DIR" >&2 || true
    fi
    if [[ -n $DIR && -d $DIR ]]; then
        if [[ ${MYSHARD_KEEP_TEST_DIR:-0} == 1 ]]; then
            msg "test directory kept: $DIR"
        elif [[ $KEEP_LOGS -eq 1 ]]; then
            # keep the logs, drop the datadirs
            rm -rf "$DIR"/s[01]-primary "$DIR"/s[01]-replica "$DIR"/.template
            msg "logs kept in $DIR"
        else
            rm -rf "$DIR"
        fi
    fi
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ build

ensure_packages

if want build; then
    section "build ($BUILD: debug, ASan + UBSan)"
    if build_dir "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
        --buildtype=debug; then
        pass "build"
    else
        fail "build ($BUILD): see the compiler output above"
    fi
fi

# ------------------------------------------------------------------- lint

if want lint; then
    section "static checks"
    if selected check-layers; then
        if out=$(tools/check-layers.sh 2>&1); then
            printf '%s\n' "$out"
            pass "check-layers"
        else
            printf '%s\n' "$out" | head -n 50
            fail "check-layers: include layering violated (tools/check-layers.sh)"
        fi
    fi
    if selected clang-format; then
        mapfile -t cfiles < <(find src include tests -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
        if [[ ${#cfiles[@]} -eq 0 ]]; then
            pass "clang-format (no files)"
        elif out=$(clang-format --dry-run -Werror "${cfiles[@]}" 2>&1); then
            pass "clang-format (${#cfiles[@]} files)"
        else
            bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\.[ch]\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
            printf '%s\n' "$out" | head -n 40
            nbad=$(grep -c . <<<"$bad" || true)
            list=$(head -n 8 <<<"$bad" | tr '\n' ' ')
            [[ $nbad -gt 8 ]] && list+="... "
            fail "clang-format: $nbad file(s) not formatted: $list(fix: clang-format -i FILE)"
        fi
    fi
fi

# ------------------------------------------------------------------- unit

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Unit binaries of meson's `unit` suite: "name<TAB>shell command" lines.
unit_commands() {
    meson introspect "$BUILD" --tests | "$MYSHARD_PY" -c '
import json, shlex, sys
for t in json.load(sys.stdin):
    if not any(s == "unit" or s.endswith(":unit") for s in t.get("suite", [])):
        continue
    env = " ".join(shlex.quote(k + "=" + v) for k, v in sorted((t.get("env") or {}).items()))
    cmd = "cd %s && exec env %s %s" % (shlex.quote(t.get("workdir") or "."), env,
                                       " ".join(map(shlex.quote, t["cmd"])))
    print(t["name"] + "\t" + cmd)
'
}

run_unit() {
    local name=$1 cmd=$2 out rc checks=0 failures=0 errors=0 line n f e
    out=$(mktemp)
    rc=0
    timeout -k 10 "$TEST_TIMEOUT" bash -c "$cmd" >"$out" 2>&1 || rc=$?
    while IFS= read -r line; do
        if [[ $line =~ ([0-9]+)%:\ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
            n=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]} e=${BASH_REMATCH[4]}
            checks=$((checks + n))
            failures=$((failures + f))
            errors=$((errors + e))
        fi
    done <"$out"
    if [[ $checks -gt 0 ]]; then
        printf 'test_%s: %d checks, %d failures, %d errors\n' "$name" "$checks" "$failures" "$errors"
        PASSED=$((PASSED + checks - failures - errors))
        # Check's failure lines: file:line:F|E:tcase:test:iteration: message
        while IFS= read -r line; do
            fail "unit $name: $line"
        done < <(grep -E '^[^:]+:[0-9]+:[EF]:[^:]*:[^:]*:[0-9]+:' "$out" | head -n $((failures + errors)))
        local listed
        listed=$(grep -cE '^[^:]+:[0-9]+:[EF]:[^:]*:[^:]*:[0-9]+:' "$out" || true)
        while [[ $listed -lt $((failures + errors)) ]]; do
            fail "unit $name: a failing check (see output above)"
            listed=$((listed + 1))
        done
        if [[ $((failures + errors)) -gt 0 ]]; then
            cat "$out"
        elif [[ $rc -ne 0 ]]; then
            tail -n 40 "$out"
            fail "unit $name: exited with status $rc after all checks passed (sanitizer or leak report above?)"
        fi
    else
        tail -n 40 "$out"
        if [[ $rc -eq 124 ]]; then
            fail "unit $name: timed out after ${TEST_TIMEOUT}s"
        else
            fail "unit $name: exited with status $rc and no Check summary"
        fi
    fi
    rm -f "$out"
}

if want unit && [[ -f "$BUILD/build.ninja" ]]; then
    section "unit suites"
    if lines=$(unit_commands); then
        while IFS=$'\t' read -r name cmd; do
            [[ -n $name ]] || continue
            selected "test_$name" || selected "$name" || continue
            run_unit "$name" "$cmd"
        done <<<"$lines"
    else
        fail "unit: cannot list the tests of $BUILD (meson introspect failed)"
    fi
fi

# Fuzz targets (libFuzzer executables named fuzz_*, from a clang build)
# run briefly each, on their seed corpus tests/fuzz/corpus/NAME if present.
FUZZ_BUILD=${MYSHARD_FUZZ_BUILD:-build-fuzz}
if want unit && command -v clang >/dev/null 2>&1; then
    section "fuzz build (clang)"
    if [[ ! -f $FUZZ_BUILD/build.ninja ]]; then
        CC=clang meson setup "$FUZZ_BUILD" -Db_sanitize=address,undefined \
            -Db_lundef=false --buildtype=debug >/dev/null 2>&1 || true
    fi
    if ninja -C "$FUZZ_BUILD" tests/fuzz/fuzz_sql tests/fuzz/fuzz_packet \
        tests/fuzz/fuzz_cfg tests/fuzz/fuzz_tls tests/fuzz/fuzz_execute \
        tests/fuzz/fuzz_http tests/fuzz/fuzz_commands tests/fuzz/fuzz_result >"$FUZZ_BUILD.log" 2>&1; then
        pass "fuzz targets build"
    else
        tail -n 30 "$FUZZ_BUILD.log"
        fail "fuzz targets build (see $FUZZ_BUILD.log)"
    fi
fi
if want unit; then
    fuzzers=()
    for prog in "$BUILD"/tests/fuzz/fuzz_* "$FUZZ_BUILD"/tests/fuzz/fuzz_*; do
        [[ -f $prog && -x $prog ]] && fuzzers+=("$prog")
    done
    if [[ ${#fuzzers[@]} -gt 0 ]]; then
        section "fuzz targets (${MYSHARD_FUZZ_SECONDS:-10} s each)"
    fi
    for prog in "${fuzzers[@]}"; do
        name=$(basename "$prog")
        selected "$name" || continue
        # New inputs go to a scratch directory (the first one named), the
        # committed seeds are read only.
        scratch=$(mktemp -d)
        corpus=("$scratch")
        if [[ -d tests/fuzz/corpus/$name ]]; then
            corpus+=("tests/fuzz/corpus/$name")
        fi
        out=$(mktemp)
        if timeout -k 10 $((${MYSHARD_FUZZ_SECONDS:-10} + 60)) "$prog" \
            -max_total_time="${MYSHARD_FUZZ_SECONDS:-10}" -rss_limit_mb=2048 \
            -artifact_prefix="/tmp/myshard-$name-" "${corpus[@]}" >"$out" 2>&1; then
            tail -n 1 "$out"
            pass "fuzz $name"
        else
            tail -n 40 "$out"
            fail "fuzz $name: crashed or failed (reproducer: /tmp/myshard-$name-*)"
        fi
        rm -rf "$out" "$scratch"
    done
fi

# ------------------------------------------------------------ integration

PROXY_BIN="$MYSHARD_ROOT/$BUILD/myshard"

start_proxy() {
    if [[ ! -x $PROXY_BIN ]]; then
        printf 'proxy binary %s was not built\n' "$PROXY_BIN" | tee -a "$DIR/myshard.log"
        return 1
    fi
    "$PROXY_BIN" -c "$DIR/myshard.yaml" >>"$DIR/myshard.log" 2>&1 &
    PROXY_PID=$!
    PROXY_STARTED=1
    export MYSHARD_PID=$PROXY_PID
    if ! wait_port "$MYSHARD_PORT" 10 "$PROXY_PID"; then
        printf -- '--- %s ---\n' "$DIR/myshard.log"
        tail -n 40 "$DIR/myshard.log"
        if pid_alive "$PROXY_PID"; then
            stop_pid "$PROXY_PID" 5 || true
        fi
        wait "$PROXY_PID" 2>/dev/null || true
        PROXY_PID=
        return 1
    fi
}

write_config() {
    local hash2
    hash2=$(native_password_hash secret2)
    cat >"$DIR/myshard.yaml" <<EOF
# written by tools/test.sh
listen: 127.0.0.1:$MYSHARD_PORT
workers: 2
shutdown_timeout: 5s
handshake_timeout: 2s

admin:
  listen: 127.0.0.1:$MYSHARD_ADMIN_PORT
  http: 127.0.0.1:$MYSHARD_HTTP_PORT
  user: admin
  password: rig-admin

# the rig's certificate: clients may use TLS (pymysql_test.py does)
tls:
  cert: $MARIADB_TLS_CERT
  key: $MARIADB_TLS_KEY

users:
  - name: app
    password: app
    schemas: [shop, appdb]
  - name: tlsuser
    password: tlsuser
    schemas: [shop]
    require_tls: true
  - name: app2
    password_hash: "$hash2"
    schemas: [shop, appdb]
  - name: reader
    password: reader
    schemas: [shop]
    read_only: true

backend:
  user: myshard
  password: secret
  connect_timeout: 1s
  pool:
    max_connections: 50
  health: { interval: 500ms, max_replica_lag: 2s, circuit: { failures: 3, open_for: 2s } }

# Replicas get no reads here (weight 0): the programs check what they
# wrote from other connections at once, which replication lag would make
# flaky. itest_replicas runs against a second myshard whose replicas read.
shards:
  - name: s0
    primary: 127.0.0.1:$S0_PRIMARY_PORT
    replicas:
      - { addr: 127.0.0.1:$S0_REPLICA_PORT, weight: 0 }
  - name: s1
    primary: 127.0.0.1:$S1_PRIMARY_PORT
    replicas:
      - { addr: 127.0.0.1:$S1_REPLICA_PORT, weight: 0 }

sharding_rules:
  user_hash: { type: hash, shards: [s0, s1], slots: 1024 }
  id_mod: { type: mod, shards: [s0, s1] }
  id_range:
    type: range
    ranges:
      - { shard: s0, to: 1000 }
      - { shard: s1, from: 1000 }
  email_hash:
    type: hash
    shards: [s0, s1]
    slot_map: { s0: "0-255,768-1023", s1: "256-767" }
  day_range:
    type: range
    ranges:
      - { shard: s0, to: "2026-07-01" }
      - { shard: s1, from: "2026-07-01" }

schemas:
  - name: shop
    default_shard: s0
    tables:
      - { name: orders, key: user_id, rule: user_hash }
      - { name: order_items, key: user_id, rule: user_hash }
      - { name: accounts, key: id, rule: id_mod }
      - { name: events, key: id, rule: id_range }
      - { name: customers, key: email, rule: email_hash }
      - { name: visits, key: day, rule: day_range }
      - { name: countries, global: true }
  - name: appdb
    backend_schema: app_real
    default_shard: s1
EOF
}

# The cluster's servers a program stopped and did not bring back.
restore_cluster() {
    local prog=$1 line name state
    while read -r line; do
        name=${line%% *}
        state=${line##* }
        if [[ $state != up ]]; then
            fail "$prog: left $name $state (a program must restore the servers it stops)"
            tests/integration/mariadb_env.sh up "$DIR" "$name" || true
        fi
    done < <(tests/integration/mariadb_env.sh status "$DIR")
}

# run_program NAME CMD...: run one TAP program, count its results.
run_program() {
    local name=$1 out rc line plan=-1 seen=0 bad=0 desc
    shift
    out="$DIR/tap/$name.out"
    printf -- '--- %s\n' "$name"
    rc=0
    timeout -k 10 $((TEST_TIMEOUT + 30)) "$@" </dev/null 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
    while IFS= read -r line; do
        if [[ $line =~ ^ok\ [0-9]+ ]]; then
            seen=$((seen + 1))
            if [[ ${line,,} =~ \#\ *skip ]]; then
                SKIPPED=$((SKIPPED + 1))
            else
                PASSED=$((PASSED + 1))
            fi
        elif [[ $line =~ ^not\ ok\ [0-9]+ ]]; then
            seen=$((seen + 1))
            if [[ ${line,,} =~ \#\ *todo ]]; then
                SKIPPED=$((SKIPPED + 1))
            else
                desc=${line#not ok }
                FAILED=$((FAILED + 1))
                FAILURES+=("$name: not ok $desc")
                bad=$((bad + 1))
            fi
        elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
            plan=${BASH_REMATCH[1]}
        elif [[ $line =~ ^Bail\ out! ]]; then
            fail "$name: $line"
            bad=$((bad + 1))
        fi
    done <"$out"
    if [[ $rc -ne 0 && $bad -eq 0 ]]; then
        if [[ $rc -eq 124 || $rc -eq 137 ]]; then
            fail "$name: timed out after $((TEST_TIMEOUT + 30))s"
        elif [[ $rc -gt 128 ]]; then
            fail "$name: killed by signal $((rc - 128))"
        else
            fail "$name: exited with status $rc"
        fi
    elif [[ $rc -eq 0 && $seen -eq 0 && $plan -ne 0 ]]; then
        fail "$name: printed no TAP results"
    elif [[ $plan -gt 0 && $seen -lt $plan && $bad -eq 0 ]]; then
        fail "$name: planned $plan checks, ran $seen"
    fi
}

# run_with_replica_proxy NAME PROG: a second myshard whose replicas take
# reads (myshard-replicas.yaml) serves this one program.
run_with_replica_proxy() {
    local name=$1 prog=$2 pid st=0
    local log=$DIR/myshard-replicas.log
    "$PROXY_BIN" -c "$DIR/myshard-replicas.yaml" >>"$log" 2>&1 &
    pid=$!
    if ! wait_port "$REPLICA_PROXY_PORT" 10 "$pid"; then
        tail -n 30 "$log"
        fail "$name: its myshard (replicas reading) did not start (log: $log)"
        return
    fi
    MYSHARD_PORT=$REPLICA_PROXY_PORT MYSHARD_ADMIN_PORT=$REPLICA_ADMIN_PORT \
        MYSHARD_HTTP_PORT=$REPLICA_HTTP_PORT MYSHARD_CONFIG=$DIR/myshard-replicas.yaml \
        MYSHARD_LOG=$log run_program "$name" "$prog"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || st=$?
    [[ $st -eq 0 ]] || fail "$name: its myshard exited with status $st on SIGTERM"
    if grep -nE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error' "$log" >/dev/null; then
        KEEP_LOGS=1
        fail "$name: its myshard's log has sanitizer reports ($log)"
    fi
}

sysbench_smoke() {
    local log=$DIR/sysbench.log rc=0 tx err
    local -a sb=(sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1
        "--mysql-port=$MYSHARD_PORT" --mysql-user=app --mysql-password=app
        --mysql-db=shop --tables=2 --table-size=1000)
    : >"$log"
    printf -- '--- sysbench oltp_read_write through myshard\n'
    if ! timeout -k 10 180 "${sb[@]}" prepare >>"$log" 2>&1; then
        tail -n 20 "$log"
        fail "sysbench oltp_read_write: prepare failed"
        return
    fi
    timeout -k 10 120 "${sb[@]}" --threads=4 --time=5 --report-interval=0 run >"$log.run" 2>&1 || rc=$?
    cat "$log.run" >>"$log"
    tx=$(sed -n 's/^ *transactions: *\([0-9]*\).*/\1/p' "$log.run" | head -n 1)
    err=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$log.run" | head -n 1)
    if ! timeout -k 10 120 "${sb[@]}" cleanup >>"$log" 2>&1; then
        tail -n 20 "$log"
        fail "sysbench oltp_read_write: cleanup (DROP TABLE) failed"
        return
    fi
    # sysbench aborts (non-zero exit) on any error outside its ignore list;
    # the "ignored errors" are deadlocks and lock wait timeouts, which four
    # threads on 2 x 1000 rows hit now and then on MariaDB directly too
    # (about 0.3% of transactions), so only an unusual number of them fails.
    if [[ $rc -eq 0 && ${tx:-0} -gt 0 && -n $err && $((err * 20)) -le $tx ]]; then
        grep -E '^ *(transactions|queries|ignored errors):|95th percentile' "$log.run" || true
        pass "sysbench oltp_read_write: $tx transactions, no errors ($err deadlocks retried)"
    else
        tail -n 30 "$log.run"
        fail "sysbench oltp_read_write: exit $rc, ${tx:-no} transactions, ${err:-unknown} errors"
    fi
}

# sysbench_pool: 500 sysbench threads over a pool capped at 60. A myshard of
# its own (myshard.yaml on other ports with pool.max_connections 60,
# wait_timeout 10s, workers 2) serves sysbench oltp_point_select (prepared
# statements) on a table of the unsharded schema shop, which lives on s0,
# whose primary runs with max_connections lowered to 120 for the section.
# The same 500 threads straight to that server fail with error 1040;
# through myshard they run without an error, while the s0 processlist,
# sampled every 100 ms, never shows more than 60 connections of
# backend.user plus the health monitor's one. Runs after the shared myshard
# has stopped, so every backend.user connection on s0 is this section's.
sysbench_pool() {
    local threads=500 cap=60 server_max=120 health=1
    local d=$DIR/sysbench-pool port aport hport buser old rc st n i line
    local q samples max active tx qps queries errs text
    local -a direct proxied
    POOL500_DIR=$d
    mkdir -p "$d"
    printf -- '--- sysbench oltp_point_select, %d threads, pool of %d, s0 max_connections %d\n' \
        "$threads" "$cap" "$server_max"

    # its own myshard: the shared config on fresh ports, a pool of 60
    read -r port aport hport <<<"$(free_ports 3)"
    sed -e "s/127.0.0.1:$MYSHARD_PORT\$/127.0.0.1:$port/" \
        -e "s/127.0.0.1:$MYSHARD_ADMIN_PORT\$/127.0.0.1:$aport/" \
        -e "s/127.0.0.1:$MYSHARD_HTTP_PORT\$/127.0.0.1:$hport/" \
        -e 's/^workers: .*/workers: 2/' \
        -e "/^  pool:\$/,/^  [^ ]/s/^    max_connections: .*/    max_connections: $cap\n    wait_timeout: 10s/" \
        "$DIR/myshard.yaml" >"$d/myshard.yaml"
    buser=$(awk '/^backend:/ { b = 1; next } /^[^ #]/ { b = 0 }
        b && /^  user:/ { print $2; exit }' "$d/myshard.yaml")
    if ! grep -qx "    max_connections: $cap" "$d/myshard.yaml" ||
        ! grep -qx '    wait_timeout: 10s' "$d/myshard.yaml" ||
        ! grep -qx 'workers: 2' "$d/myshard.yaml" || [[ -z $buser ]] ||
        ! "$PROXY_BIN" -c "$d/myshard.yaml" --check >"$d/check.out" 2>&1; then
        cat "$d/check.out" 2>/dev/null || true
        fail "sysbench-pool: cannot derive its config from $DIR/myshard.yaml ($d/myshard.yaml)"
        return
    fi

    # the server's limit, between the pool's needs and the 500 threads
    if ! old=$(s0_sql 'SELECT @@GLOBAL.max_connections') || [[ ! $old =~ ^[0-9]+$ ]]; then
        fail "sysbench-pool: cannot read max_connections of the s0 primary"
        return
    fi
    POOL500_OLD_MAX=$old
    if ! s0_sql "SET GLOBAL max_connections = $server_max"; then
        fail "sysbench-pool: SET GLOBAL max_connections = $server_max on the s0 primary failed"
        return
    fi

    direct=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1
        "--mysql-port=$S0_PRIMARY_PORT" "--mysql-user=$BACKEND_USER"
        "--mysql-password=$BACKEND_PASSWORD" --mysql-db=shop --tables=1
        --table-size=1000)
    proxied=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1
        "--mysql-port=$port" --mysql-user=app --mysql-password=app
        --mysql-db=shop --tables=1 --table-size=1000)
    # the table straight on s0 (shop.sbtest1 is unlisted: s0 serves it)
    if ! { timeout -k 10 60 "${direct[@]}" cleanup &&
        timeout -k 10 60 "${direct[@]}" prepare; } >"$d/prepare.log" 2>&1; then
        tail -n 20 "$d/prepare.log"
        fail "sysbench-pool: sysbench prepare on the s0 primary failed"
        return
    fi

    # (a) 500 threads straight to the server: more than it admits
    rc=0
    timeout -k 10 60 "${direct[@]}" "--threads=$threads" --time=10 \
        --report-interval=0 run >"$d/direct.log" 2>&1 || rc=$?
    text=$(grep -m 1 -E 'error 1040|Too many connections' "$d/direct.log" || true)
    if [[ $rc -ne 0 && -n $text ]]; then
        pass "sysbench-pool: $threads threads straight to s0 (max_connections $server_max) fail: exit $rc, \"$text\""
    else
        tail -n 20 "$d/direct.log"
        fail "sysbench-pool: $threads threads straight to s0 (max_connections $server_max): exit $rc, expected error 1040 (Too many connections)"
    fi

    # nobody else may be connected as backend.user when the count starts,
    # and the refused connections of (a) must be gone
    q="SELECT COUNT(*), COALESCE(SUM(COMMAND <> 'Sleep'), 0), COALESCE(SUM(DB IS NULL), 0) FROM information_schema.PROCESSLIST WHERE USER = '$buser' AND ID <> CONNECTION_ID()"
    for ((i = 0; i < 100; i++)); do
        n=$(s0_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER IN ('$buser', 'unauthenticated user') AND ID <> CONNECTION_ID()") || n=
        [[ $n == 0 ]] && break
        sleep 0.1
    done
    if [[ $n != 0 ]]; then
        s0_sql "SELECT ID, USER, HOST, DB, COMMAND, TIME FROM information_schema.PROCESSLIST" || true
        fail "sysbench-pool: s0 still has ${n:-?} connections of '$buser' before its myshard starts"
        return
    fi

    "$PROXY_BIN" -c "$d/myshard.yaml" >"$d/myshard.log" 2>&1 &
    POOL500_PROXY_PID=$!
    if ! wait_port "$port" 10 "$POOL500_PROXY_PID"; then
        tail -n 30 "$d/myshard.log"
        fail "sysbench-pool: its myshard did not listen on 127.0.0.1:$port (log: $d/myshard.log)"
        KEEP_LOGS=1
        return
    fi

    # (c) the processlist every 100 ms over one direct connection; the
    # pause is a read from a FIFO nobody writes (no sleep(1) to fork on a
    # machine that 500 threads keep busy)
    rm -f "$d/sampler.stop" "$d/tick"
    mkfifo "$d/tick"
    while [[ ! -e $d/sampler.stop ]]; do
        printf '%s;\n' "$q"
        read -rt 0.1 <>"$d/tick" || true
    done | mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$S0_PRIMARY_PORT" \
        -u"$BACKEND_USER" -p"$BACKEND_PASSWORD" --connect-timeout=5 \
        --batch --skip-column-names --unbuffered >"$d/samples" 2>"$d/sampler.err" &
    POOL500_SAMPLER_PID=$!

    # (b) the same 500 threads through myshard
    rc=0
    timeout -k 10 120 "${proxied[@]}" "--threads=$threads" --time=10 \
        --report-interval=0 run >"$d/proxied.log" 2>&1 || rc=$?
    touch "$d/sampler.stop"
    st=0
    for ((i = 0; i < 30; i++)); do
        pid_alive "$POOL500_SAMPLER_PID" || break
        sleep 0.1
    done
    wait "$POOL500_SAMPLER_PID" 2>/dev/null || st=$?
    POOL500_SAMPLER_PID=
    # what its myshard holds on s0 now, while its pool is still up
    s0_sql "SELECT IFNULL(DB, 'NULL'), COMMAND, COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '$buser' AND ID <> CONNECTION_ID() GROUP BY 1, 2" >"$d/after" 2>&1 || true

    tx=$(sed -n 's/^ *transactions: *\([0-9]*\).*/\1/p' "$d/proxied.log" | head -n 1)
    queries=$(sed -n 's/^ *queries: *\([0-9]*\).*/\1/p' "$d/proxied.log" | head -n 1)
    qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$d/proxied.log" | head -n 1)
    errs=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$d/proxied.log" | head -n 1)
    if [[ $rc -eq 0 && ${queries:-0} -gt 0 && $errs == 0 ]] &&
        ! grep -q 'FATAL' "$d/proxied.log"; then
        grep -E '^ *(queries|transactions|ignored errors|reconnects):|95th percentile' "$d/proxied.log" || true
        pass "sysbench-pool: $threads threads through myshard (pool $cap, workers 2): $queries queries, $qps qps, no errors"
    else
        grep -m 5 -E 'FATAL|error' "$d/proxied.log" || true
        tail -n 20 "$d/proxied.log"
        fail "sysbench-pool: $threads threads through myshard (pool $cap, workers 2): exit $rc, ${queries:-no} queries, ${errs:-unknown} ignored errors (log: $d/proxied.log)"
        KEEP_LOGS=1
    fi

    samples=$(grep -cE '^[0-9]+' "$d/samples" || true)
    max=$(cut -f 1 "$d/samples" | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
    active=$(cut -f 2 "$d/samples" | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
    if [[ $samples -lt 20 || -z $max ]]; then
        cat "$d/sampler.err" 2>/dev/null || true
        fail "sysbench-pool: the s0 processlist was sampled only ${samples:-0} times (sampler exit $st; $d/sampler.err)"
    elif [[ $max -le $((cap + health)) ]]; then
        pass "sysbench-pool: s0 saw at most $max connections of '$buser' (cap $cap + $health health monitor; $samples samples, at most $active busy at once)"
    else
        printf 's0 processlist of %s (count, busy, without a database): %s\n' "$buser" \
            "$(awk -v m="$max" '$1 == m' "$d/samples" | sort | uniq -c | tr -s ' \t\n' ' ')"
        printf 'after the run (database, command, count): %s\n' "$(tr -s '\t\n' ' ' <"$d/after")"
        fail "sysbench-pool: s0 saw $max connections of '$buser', over the cap $cap + $health health monitor ($samples samples)"
    fi

    # the tables, its myshard, the server's limit
    if ! timeout -k 10 60 "${direct[@]}" cleanup >>"$d/prepare.log" 2>&1; then
        tail -n 20 "$d/prepare.log"
        fail "sysbench-pool: sysbench cleanup (DROP TABLE) failed"
    fi
    st=0
    if stop_pid "$POOL500_PROXY_PID" 20; then
        wait "$POOL500_PROXY_PID" 2>/dev/null || st=$?
    else
        wait "$POOL500_PROXY_PID" 2>/dev/null || true
        st=killed
    fi
    POOL500_PROXY_PID=
    if grep -nE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error' "$d/myshard.log" >"$d/sanitizer.txt"; then
        head -n 20 "$d/sanitizer.txt"
        KEEP_LOGS=1
        fail "sysbench-pool: its myshard's log has sanitizer reports ($d/myshard.log)"
    elif [[ $st != 0 ]]; then
        KEEP_LOGS=1
        fail "sysbench-pool: its myshard ended with status $st on SIGTERM (log: $d/myshard.log)"
    fi
    pool500_undo
    line=$(s0_sql 'SELECT @@GLOBAL.max_connections' || true)
    if [[ $line == "$old" ]]; then
        pass "sysbench-pool: s0 max_connections back to $old"
    else
        fail "sysbench-pool: s0 max_connections is ${line:-unknown}, not $old again"
    fi
}

integration() {
    local prog name cluster_env
    DIR=$(mktemp -d /tmp/myshard-test.XXXXXX)
    mkdir -p "$DIR/tap"
    section "cluster (in $DIR)"
    CLUSTER_STARTED=1
    if ! tests/integration/mariadb_env.sh start "$DIR"; then
        KEEP_LOGS=1
        fail "cluster: MariaDB test cluster did not start"
        return
    fi
    cluster_env=$(tests/integration/mariadb_env.sh env "$DIR")
    eval "$cluster_env"
    tests/integration/mariadb_env.sh status "$DIR"

    read -r MYSHARD_PORT MYSHARD_ADMIN_PORT MYSHARD_HTTP_PORT <<<"$(free_ports 3)"
    export MYSHARD_HOST=127.0.0.1 MYSHARD_PORT MYSHARD_ADMIN_PORT MYSHARD_HTTP_PORT
    export MYSHARD_USER=app MYSHARD_PASSWORD=app MYSHARD_DB=shop
    export MYSHARD_USER2=app2 MYSHARD_PASSWORD2=secret2
    export MYSHARD_ADMIN_USER=admin MYSHARD_ADMIN_PASSWORD=rig-admin
    export MYSHARD_BIN=$PROXY_BIN MYSHARD_CONFIG=$DIR/myshard.yaml
    export MYSHARD_LOG=$DIR/myshard.log MYSHARD_TEST_DIR=$DIR
    export MYSHARD_EXPECT_PROXY=1 MYSHARD_TEST_TIMEOUT_S=$TEST_TIMEOUT
    export MYSHARD_HANDSHAKE_TIMEOUT_S=2
    export MYSHARD_SRC=$MYSHARD_ROOT
    export MARIADB_ENV=$MYSHARD_ROOT/tests/integration/mariadb_env.sh
    export BACKEND_USER=myshard BACKEND_PASSWORD=secret
    # the proxy keeps going after a UBSan report; the log check counts it
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0
    write_config
    # the same topology with reading replicas, for itest_replicas
    read -r REPLICA_PROXY_PORT REPLICA_ADMIN_PORT REPLICA_HTTP_PORT <<<"$(free_ports 3)"
    sed -e "s/127.0.0.1:$MYSHARD_PORT\$/127.0.0.1:$REPLICA_PROXY_PORT/" \
        -e "s/127.0.0.1:$MYSHARD_ADMIN_PORT\$/127.0.0.1:$REPLICA_ADMIN_PORT/" \
        -e "s/127.0.0.1:$MYSHARD_HTTP_PORT\$/127.0.0.1:$REPLICA_HTTP_PORT/" \
        -e 's/weight: 0 }/weight: 1 }/' "$DIR/myshard.yaml" >"$DIR/myshard-replicas.yaml"

    section "myshard ($PROXY_BIN on 127.0.0.1:$MYSHARD_PORT)"
    : >"$DIR/myshard.log"
    if start_proxy; then
        pass "proxy starts and listens on 127.0.0.1:$MYSHARD_PORT"
    else
        KEEP_LOGS=1
        fail "proxy start: myshard did not listen on 127.0.0.1:$MYSHARD_PORT within 10 s (log: $DIR/myshard.log)"
    fi
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

    section "integration programs"
    local -a programs=()
    for prog in "$BUILD"/tests/integration/itest_*; do
        [[ -f $prog && -x $prog ]] && programs+=("$prog")
    done
    for prog in tests/integration/*_test.py; do
        [[ -f $prog ]] && programs+=("$prog")
    done
    for prog in "${programs[@]}"; do
        name=$(basename "$prog")
        selected "$name" || continue
        if [[ $prog == *.py ]]; then
            run_program "$name" "$MYSHARD_PY" "$prog"
        elif [[ $name == itest_replicas ]]; then
            run_with_replica_proxy "$name" "$prog"
        else
            run_program "$name" "$prog"
        fi
        if [[ -n $PROXY_PID ]] && ! pid_alive "$PROXY_PID"; then
            local st=0
            wait "$PROXY_PID" 2>/dev/null || st=$?
            if [[ $st -gt 128 ]]; then
                st="signal $((st - 128))"
            else
                st="exit status $st"
            fi
            fail "$name: myshard died during the program ($st; log: $DIR/myshard.log)"
            tail -n 30 "$DIR/myshard.log"
            KEEP_LOGS=1
            PROXY_PID=
            export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0
            start_proxy || true
            export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        fi
        restore_cluster "$name"
    done
    if [[ ${#programs[@]} -eq 0 ]]; then
        fail "integration: no programs found ($BUILD/tests/integration/itest_*, tests/integration/*_test.py)"
    fi

    # ---- driver programs: tests/drivers/run.sh DRIVER, one TAP program per
    # driver family (JDBC, Go, PHP, Perl DBI, mysqlclient, node, Ruby) with
    # the environment above; it installs a missing driver runtime first.
    section "driver programs"
    local drv
    for drv in $(tests/drivers/run.sh --list); do
        selected "driver-$drv" || continue
        run_program "driver-$drv" tests/drivers/run.sh "$drv"
        if [[ -n $PROXY_PID ]] && ! pid_alive "$PROXY_PID"; then
            wait "$PROXY_PID" 2>/dev/null || true
            fail "driver-$drv: myshard died during the program (log: $DIR/myshard.log)"
            tail -n 30 "$DIR/myshard.log"
            KEEP_LOGS=1
            PROXY_PID=
            start_proxy || true
        fi
    done
    # ---- end of driver programs

    if selected sysbench; then
        section "sysbench smoke"
        sysbench_smoke
    fi

    section "myshard shutdown"
    if [[ -n $PROXY_PID ]]; then
        local rc=0
        if stop_pid "$PROXY_PID" 20; then
            wait "$PROXY_PID" 2>/dev/null || rc=$?
            if [[ $rc -eq 0 ]]; then
                pass "proxy exits 0 on SIGTERM"
            else
                fail "proxy exited with status $rc on SIGTERM (expected 0)"
            fi
        else
            wait "$PROXY_PID" 2>/dev/null || true
            fail "proxy did not exit within 20 s of SIGTERM (killed)"
        fi
        PROXY_PID=
    fi
    if [[ $PROXY_STARTED -eq 1 ]]; then
        if grep -nE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error' "$DIR/myshard.log" >"$DIR/sanitizer.txt"; then
            head -n 20 "$DIR/sanitizer.txt"
            KEEP_LOGS=1
            fail "proxy log has sanitizer reports ($(wc -l <"$DIR/sanitizer.txt") lines; log: $DIR/myshard.log)"
        else
            pass "proxy log has no sanitizer report"
        fi
    fi
    # after the shared myshard has stopped: see sysbench_pool
    if selected sysbench-pool; then
        section "sysbench: 500 threads over a pool of 60"
        sysbench_pool
    fi

    if [[ $FAILED -gt 0 ]]; then
        KEEP_LOGS=1
    fi
}

if want integration; then
    integration
fi

# ---------------------------------------------------------------- summary

cleanup

printf '\n'
if [[ ${#FAILURES[@]} -gt 0 ]]; then
    printf 'Failures:\n'
    printf '  %s\n' "${FAILURES[@]}"
fi
if [[ $SKIPPED -gt 0 ]]; then
    printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
else
    printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
fi
[[ $FAILED -eq 0 ]]
