#!/usr/bin/env bash
# tests/integration/rig_run.sh - runs one integration program against the
# kept test rig (tools/cluster.sh up): how meson's integration tests run,
# e.g. `meson test -C build-test itest_sharding`. It loads the rig's
# environment (DIR/rig.env), restarts the shared myshard when it is down or
# its binary was rebuilt, runs the program from the repository root and
# then checks what tools/test.sh checks after each program: the shared
# myshard still runs, every server is up again, no sanitizer report in the
# myshard's log. With no rig up it fails at once, saying how to start one.
#
# Usage: rig_run.sh [--replicas|--alone] PROGRAM [ARGS...]
#   --replicas  the program talks to a second myshard whose replicas read
#               (DIR/myshard-replicas.yaml on the REPLICA_* ports): itest_replicas
#   --alone     the shared myshard is stopped while the program runs (it
#               counts every backend connection on s0: sysbench_pool.sh)
# A PROGRAM ending in .py runs with the Python that has PyMySQL.
#
# Environment: MYSHARD_CLUSTER_DIR (the rig, /tmp/myshard-cluster),
# MYSHARD_TEST_BUILD (the build whose myshard the rig should run).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../../tools/lib.sh
. "$HERE/../../tools/lib.sh"

MODE=
case ${1:-} in
--replicas | --alone)
    MODE=$1
    shift
    ;;
esac
[[ $# -ge 1 ]] || {
    printf 'usage: rig_run.sh [--replicas|--alone] PROGRAM [ARGS...]\n' >&2
    exit 2
}
NAME=$(basename "$1")
DIR=$(rig_dir)
CLUSTER=$MYSHARD_ROOT/tools/cluster.sh

# TAP's "Bail out!" ends the test with its reason in meson's log.
bail() {
    printf 'Bail out! %s: %s\n' "$NAME" "$*" | tee /dev/stderr
    exit 1
}

[[ -f $DIR/rig.env ]] ||
    bail "no test rig in $DIR: start one with tools/cluster.sh up (or tools/test.sh --keep); MYSHARD_CLUSTER_DIR names another directory"
rig_servers_up "$DIR" ||
    bail "the rig's MariaDB servers in $DIR are not all up ($(tr -s '\n ' '; ' < <("$MYSHARD_ROOT/tests/integration/mariadb_env.sh" status "$DIR"))); run tools/cluster.sh up"
src=$(
    # shellcheck disable=SC1091
    . "$DIR/rig.env"
    printf '%s' "${MYSHARD_SRC:-}"
)
[[ $src == "$MYSHARD_ROOT" ]] ||
    bail "the rig in $DIR belongs to ${src:-another checkout}; set MYSHARD_CLUSTER_DIR to a rig of $MYSHARD_ROOT"

# The shared myshard: running, and the binary the build just made.
if [[ $MODE != --alone ]]; then
    if ! pid=$(rig_proxy_pid "$DIR"); then
        printf '# the shared myshard is down: restarting it\n'
        "$CLUSTER" restart >&2 || bail "the shared myshard does not start (log: $DIR/myshard.log)"
    else
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
        want=${MYSHARD_TEST_BUILD:-build-test}
        [[ $want == /* ]] || want=$MYSHARD_ROOT/$want
        if [[ $exe == *" (deleted)" || $exe != "$(readlink -f "$want/myshard")" ]]; then
            printf '# %s/myshard was rebuilt: restarting the shared myshard\n' "$want"
            "$CLUSTER" restart >&2 || bail "the shared myshard does not start (log: $DIR/myshard.log)"
        fi
    fi
fi

# shellcheck disable=SC1091
. "$DIR/rig.env"
cd "$MYSHARD_ROOT" || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# A log's sanitizer reports after byte offset $2.
sanitizer_reports() {
    tail -c +"$(($2 + 1))" "$1" 2>/dev/null |
        grep -E 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error'
}

rc=0
SHARED_LOG=$MYSHARD_LOG
log_from=$(stat -c %s "$SHARED_LOG" 2>/dev/null || echo 0)
REPLICA_PID=
case $MODE in
--replicas)
    rlog=$DIR/myshard-replicas.log
    rlog_from=$(stat -c %s "$rlog" 2>/dev/null || echo 0)
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0 \
        "$MYSHARD_BIN" -c "$DIR/myshard-replicas.yaml" </dev/null >>"$rlog" 2>&1 &
    REPLICA_PID=$!
    if ! wait_port "$REPLICA_PROXY_PORT" 10 "$REPLICA_PID"; then
        tail -n 30 "$rlog" | sed 's/^/# /'
        bail "its myshard (replicas reading) did not start (log: $rlog)"
    fi
    export MYSHARD_PORT=$REPLICA_PROXY_PORT MYSHARD_ADMIN_PORT=$REPLICA_ADMIN_PORT
    export MYSHARD_HTTP_PORT=$REPLICA_HTTP_PORT MYSHARD_CONFIG=$DIR/myshard-replicas.yaml
    export MYSHARD_LOG=$rlog MYSHARD_PID=$REPLICA_PID
    ;;
--alone)
    if pid=$(rig_proxy_pid "$DIR"); then
        stop_pid "$pid" 20 || true
    fi
    ;;
esac

if [[ $1 == *.py ]]; then
    set -- "$MYSHARD_PY" "$@"
fi
timeout -k 10 $((MYSHARD_TEST_TIMEOUT_S + 30)) "$@" </dev/null || rc=$?

case $MODE in
--replicas)
    st=0
    kill -TERM "$REPLICA_PID" 2>/dev/null || true
    wait "$REPLICA_PID" 2>/dev/null || st=$?
    if [[ $st -ne 0 ]]; then
        printf '# %s: its myshard exited with status %s on SIGTERM\n' "$NAME" "$st" >&2
        rc=1
    fi
    if sanitizer_reports "$rlog" "$rlog_from" >&2; then
        printf '# %s: its myshard logged sanitizer reports (%s)\n' "$NAME" "$rlog" >&2
        rc=1
    fi
    ;;
--alone)
    "$CLUSTER" restart >/dev/null 2>&1 ||
        printf '# the shared myshard did not start again: tools/cluster.sh restart\n' >&2
    ;;
*)
    if ! rig_proxy_pid "$DIR" >/dev/null; then
        printf '# %s: the shared myshard died during the program (log: %s); restarting it\n' \
            "$NAME" "$SHARED_LOG" >&2
        tail -n 30 "$SHARED_LOG" >&2
        "$CLUSTER" restart >/dev/null 2>&1 || true
        rc=1
    fi
    ;;
esac
if sanitizer_reports "$SHARED_LOG" "$log_from" >&2; then
    printf '# %s: the shared myshard logged sanitizer reports (%s)\n' "$NAME" "$SHARED_LOG" >&2
    rc=1
fi
# A program must bring back the servers it stops.
while read -r line; do
    if [[ $line != *" up" ]]; then
        printf '# %s: left %s (a program must restore the servers it stops)\n' "$NAME" "$line" >&2
        "$MYSHARD_ROOT/tests/integration/mariadb_env.sh" up "$DIR" "${line%% *}" >&2 || true
        rc=1
    fi
done < <("$MYSHARD_ROOT/tests/integration/mariadb_env.sh" status "$DIR")
exit "$rc"
