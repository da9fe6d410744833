#!/usr/bin/env bash
# tools/test.sh - build the test build (ASan + UBSan) and run every check:
# layering and formatting, the Check unit suites, and the integration
# programs against the real binary in front of a real MariaDB cluster (two
# shards, primary + GTID replica each). The last line is `N passed, M failed`;
# the exit status is 0 only when nothing failed.
#
# Usage: tools/test.sh [all|unit|integration|lint|package] [-k PATTERN] [--keep]
#   all          everything (default)
#   unit         build + unit suites (+ fuzz targets, when built)
#   integration  build + cluster + proxy + integration programs + sysbench
#   lint         check-layers + clang-format
#   package      the Debian package (tests/package_test.sh, the check named
#                package): builds it, checks its contents and lintian,
#                installs it, runs the unit's commands, upgrades and purges
#                it. Needs root (it installs on this machine), as CI has.
#   -k PATTERN   run only the unit binaries, integration programs and named
#                checks whose name matches PATTERN (extended regex); the
#                integration sections besides the programs are named
#                driver-DRIVER, sysbench (oltp_read_write through the
#                shared myshard, tests/integration/sysbench_smoke.sh) and
#                sysbench-pool (500 threads over a pool of 60,
#                tests/integration/sysbench_pool.sh) and mysqltest
#                (MariaDB's mysqltest cases straight and through myshard,
#                tests/integration/mysqltest.sh), e.g. -k sysbench-pool
#   --keep       run in the kept test rig of tools/cluster.sh
#                (MYSHARD_CLUSTER_DIR, /tmp/myshard-cluster): reuse its
#                MariaDB servers when they are up, and leave the servers and
#                the shared myshard running at the end, for
#                `meson test -C build-test itest_NAME` (see tools/cluster.sh)
#
# Environment:
#   MYSHARD_TEST_BUILD      build directory (build-test)
#   MYSHARD_TEST_TIMEOUT_S  limit for one test program in seconds (600)
#   MYSHARD_KEEP_TEST_DIR=1 keep the temporary cluster directory
#
# The shared myshard's config is tests/integration/myshard-test.yaml.in.
# Each integration program (build-test/tests/integration/itest_*,
# tests/integration/*_test.py, the driver and sysbench programs) runs from
# the repository root with the environment rig_export (tools/lib.sh) sets:
#   MYSHARD_HOST MYSHARD_PORT MYSHARD_USER MYSHARD_PASSWORD MYSHARD_DB
#   MYSHARD_USER2 MYSHARD_PASSWORD2 (app2, whose config entry is a
#   password_hash) MYSHARD_ADMIN_PORT MYSHARD_ADMIN_USER
#   MYSHARD_ADMIN_PASSWORD MYSHARD_HTTP_PORT MYSHARD_BIN MYSHARD_CONFIG
#   MYSHARD_LOG MYSHARD_PID MYSHARD_EXPECT_PROXY=1 MYSHARD_TEST_DIR
#   MYSHARD_TEST_TIMEOUT_S MYSHARD_SRC MARIADB_ENV (path of mariadb_env.sh)
#   MARIADB_DIR S0_PRIMARY_PORT S0_REPLICA_PORT S1_PRIMARY_PORT
#   S1_REPLICA_PORT S2_PRIMARY_PORT S2_REPLICA_PORT (the spare pair s2, in
#   no config) (and *_SOCKET) BACKEND_USER BACKEND_PASSWORD
#   REPLICA_PROXY_PORT REPLICA_ADMIN_PORT REPLICA_HTTP_PORT
# (the same as DIR/rig.env of a kept rig) and prints TAP: `ok N - name` / `not ok N - name`. A program that exits
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
KEEP=0
while [[ $# -gt 0 ]]; do
    case $1 in
    all | unit | integration | lint | package) MODE=$1 ;;
    -k)
        [[ $# -ge 2 ]] || die "-k needs a pattern"
        PATTERN=$2
        shift
        ;;
    -k*) PATTERN=${1#-k} ;;
    --keep) KEEP=1 ;;
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
    package) [[ $1 == package ]] ;;
    esac
}

# ---------------------------------------------------------------- cleanup

DIR=
PROXY_PID=
PROXY_STARTED=0
CLUSTER_STARTED=0
CLEANED=0
KEEP_LOGS=0

cleanup() {
    [[ $CLEANED -eq 1 ]] && return 0
    CLEANED=1
    if [[ -n $PROXY_PID ]] && pid_alive "$PROXY_PID"; then
        stop_pid "$PROXY_PID" 5 || true
        wait "$PROXY_PID" 2>/dev/null || true
    fi
    PROXY_PID=
    if [[ $KEEP -eq 1 && -n $DIR ]] && rig_servers_up "$DIR"; then
        # --keep: the servers stay, the shared myshard runs again on its own
        if tools/cluster.sh up >/dev/null; then
            msg "test rig kept in $DIR: tools/cluster.sh status|env|down; meson test -C $BUILD itest_NAME"
        else
            warn "the shared myshard of the kept rig did not start (tools/cluster.sh up)"
        fi
        return 0
    fi
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
    if build_dir "$BUILD" "${MYSHARD_TEST_MESON_ARGS[@]}"; then
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
            -Db_lundef=false --buildtype=debug -Db_lto=false \
            >/dev/null 2>&1 || true
    fi
    if ninja -C "$FUZZ_BUILD" tests/fuzz/fuzz_sql tests/fuzz/fuzz_packet \
        tests/fuzz/fuzz_cfg tests/fuzz/fuzz_tls tests/fuzz/fuzz_execute \
        tests/fuzz/fuzz_http tests/fuzz/fuzz_commands tests/fuzz/fuzz_result \
        tests/fuzz/fuzz_logfmt tests/fuzz/fuzz_place \
        tests/fuzz/fuzz_binlog >"$FUZZ_BUILD.log" 2>&1; then
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

# The MariaDB cluster in DIR: a new one in a temporary directory, or with
# --keep the kept rig's (tools/cluster.sh), whose servers are reused when
# they are up; its shared myshard is stopped, this run starts its own.
start_cluster() {
    local pid src
    if [[ $KEEP -eq 1 ]]; then
        DIR=$(rig_dir)
        src=$(
            # shellcheck disable=SC1091
            [[ -f $DIR/rig.env ]] && . "$DIR/rig.env" && printf '%s' "${MYSHARD_SRC:-}"
        ) || true
        if [[ -n $src && $src != "$MYSHARD_ROOT" ]]; then
            fail "cluster: the kept rig in $DIR belongs to $src (set MYSHARD_CLUSTER_DIR to another directory)"
            DIR=
            return 1
        fi
        if rig_servers_up "$DIR"; then
            section "cluster (kept, in $DIR)"
            if pid=$(rig_proxy_pid "$DIR"); then
                stop_pid "$pid" 20 || true
            fi
            mkdir -p "$DIR/tap"
            return 0
        fi
        tests/integration/mariadb_env.sh stop "$DIR" >/dev/null 2>&1 || true
        rm -rf "$DIR"
        mkdir -p "$DIR"
    else
        DIR=$(mktemp -d /tmp/myshard-test.XXXXXX)
    fi
    mkdir -p "$DIR/tap"
    section "cluster (in $DIR)"
    CLUSTER_STARTED=1
    if ! tests/integration/mariadb_env.sh start "$DIR"; then
        KEEP_LOGS=1
        fail "cluster: MariaDB test cluster did not start"
        return 1
    fi
}

integration() {
    local prog name cluster_env
    start_cluster || return
    cluster_env=$(tests/integration/mariadb_env.sh env "$DIR")
    eval "$cluster_env"
    tests/integration/mariadb_env.sh status "$DIR"

    # the programs' environment, the shared myshard's config from
    # tests/integration/myshard-test.yaml.in and the same topology with
    # reading replicas (myshard-replicas.yaml, for itest_replicas)
    export MYSHARD_TEST_TIMEOUT_S=$TEST_TIMEOUT
    rig_export "$DIR" "$PROXY_BIN"
    if ! rig_write_configs "$DIR"; then
        fail "myshard config: cannot render tests/integration/myshard-test.yaml.in into $DIR"
        return
    fi
    [[ $KEEP -eq 1 ]] && rig_write_env "$DIR"
    # the proxy keeps going after a UBSan report; the log check counts it
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0

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
        run_program sysbench tests/integration/sysbench_smoke.sh
    fi

    # MariaDB's mysqltest cases, straight to s0 and through a myshard of
    # their own, in text, prepared and cursor modes (mysqltest.list)
    if selected mysqltest; then
        section "mysqltest: MariaDB's test cases through myshard"
        run_program mysqltest tests/integration/mysqltest.sh
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
    # after the shared myshard has stopped: see sysbench_pool.sh
    if selected sysbench-pool; then
        section "sysbench: 500 threads over a pool of 60"
        run_program sysbench-pool tests/integration/sysbench_pool.sh
    fi

    if [[ $FAILED -gt 0 ]]; then
        KEEP_LOGS=1
    fi
}

# ---------------------------------------------------------------- package

# The Debian package (tests/package_test.sh): it needs no MariaDB rig.
if want package && selected package; then
    section "Debian package (tests/package_test.sh)"
    PKG_DIR=$(mktemp -d /tmp/myshard-package-test.XXXXXX)
    mkdir -p "$PKG_DIR/tap"
    DIR=$PKG_DIR run_program package tests/package_test.sh
    rm -rf "$PKG_DIR"
fi

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
