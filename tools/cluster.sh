#!/usr/bin/env bash
# tools/cluster.sh - keep the test rig up between runs: the six MariaDB
# servers of tests/integration/mariadb_env.sh (shards s0 and s1 and the
# spare pair s2, primary + GTID replica each) and the shared myshard the integration programs expect
# (tests/integration/myshard-test.yaml.in), in one fixed directory. With
# it up, one program runs alone: `meson test -C build-test itest_sharding`,
# or by hand after `eval "$(tools/cluster.sh env)"`.
#
# Usage: tools/cluster.sh up|down|status|env|restart
#   up       start what is not running (servers, then the shared myshard of
#            the test build, built first), print the environment
#   down     stop the shared myshard and the servers, delete the directory
#   status   each server and the shared myshard; exit 0 when all are up
#   env      print the `export` lines of the programs' environment
#   restart  restart the shared myshard, its config rendered again from the
#            template (after editing it, or a program left it changed)
#
# A shared myshard whose binary was rebuilt since it started is restarted
# by `up` and by the meson integration tests before they run.
#
# Environment:
#   MYSHARD_CLUSTER_DIR  the rig's directory (/tmp/myshard-cluster)
#   MYSHARD_TEST_BUILD   build directory of the binary (build-test)
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

DIR=$(rig_dir)
BUILD=${MYSHARD_TEST_BUILD:-build-test}
[[ $BUILD == /* ]] || BUILD=$MYSHARD_ROOT/$BUILD
MENV=tests/integration/mariadb_env.sh

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# The rig in DIR must be this checkout's: another worktree's binary and
# programs would not match.
check_owner() {
    local src
    [[ -f $DIR/rig.env ]] || return 0
    src=$(sed -n 's/^export MYSHARD_SRC=//p' "$DIR/rig.env")
    src=$(eval "printf '%s' $src")
    if [[ -n $src && $src != "$MYSHARD_ROOT" ]]; then
        die "the rig in $DIR belongs to $src; stop it there, or set MYSHARD_CLUSTER_DIR to another directory"
    fi
}

# The shared myshard's binary was replaced since it started (a rebuild).
proxy_stale() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 0
    [[ $exe == *" (deleted)" || $exe != "$(readlink -f "$BUILD/myshard")" ]]
}

build_proxy() {
    if [[ ! -f $BUILD/build.ninja ]]; then
        msg "setting up $BUILD (debug, ASan + UBSan)"
        meson setup "$BUILD" "${MYSHARD_TEST_MESON_ARGS[@]}" >/dev/null ||
            die "meson setup $BUILD failed"
    fi
    ninja -C "$BUILD" myshard >/dev/null || die "building $BUILD/myshard failed (ninja -C $BUILD myshard)"
}

start_servers() {
    local line name
    if [[ -f $DIR/cluster.env ]] && grep -q . <("$MENV" status "$DIR"); then
        # some of an existing cluster's servers are down: bring them back
        while read -r line; do
            name=${line%% *}
            [[ $line == *" up" ]] || "$MENV" up "$DIR" "$name" >&2 ||
                die "$name of $DIR did not start (log: $DIR/$name.err); tools/cluster.sh down, then up"
        done < <("$MENV" status "$DIR")
        return
    fi
    "$MENV" stop "$DIR" >&2 2>/dev/null || true
    rm -rf "$DIR"
    mkdir -p "$DIR"
    msg "starting the MariaDB cluster in $DIR"
    "$MENV" start "$DIR" >&2 || die "the MariaDB cluster did not start (logs: $DIR/*.err)"
}

stop_proxy() {
    local pid
    if pid=$(rig_proxy_pid "$DIR"); then
        stop_pid "$pid" 20 || warn "the shared myshard (pid $pid) did not stop in 20 s; killed"
    fi
}

# Start the shared myshard in its own session (it outlives this script).
start_proxy() {
    local bin=$BUILD/myshard
    eval "$("$MENV" env "$DIR")"
    rig_export "$DIR" "$bin"
    rig_write_configs "$DIR" || die "cannot write $DIR/myshard.yaml"
    printf -- '--- %s: %s -c %s\n' "$(date '+%F %T')" "$bin" "$MYSHARD_CONFIG" >>"$MYSHARD_LOG"
    # as tools/test.sh runs it: sanitizers on, a UBSan report does not stop it
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1} \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0 \
        detach "$bin" -c "$MYSHARD_CONFIG" </dev/null >>"$MYSHARD_LOG" 2>&1
    MYSHARD_PID=$DETACHED_PID
    rig_write_env "$DIR"
    if ! wait_port "$MYSHARD_PORT" 20 "$MYSHARD_PID"; then
        tail -n 30 "$MYSHARD_LOG" >&2
        die "the shared myshard did not listen on 127.0.0.1:$MYSHARD_PORT (log: $MYSHARD_LOG)"
    fi
    msg "shared myshard (pid $MYSHARD_PID) on 127.0.0.1:$MYSHARD_PORT, log $MYSHARD_LOG"
}

status() {
    local pid rc=0
    if [[ ! -f $DIR/cluster.env ]]; then
        printf 'no test rig in %s (tools/cluster.sh up)\n' "$DIR"
        return 1
    fi
    "$MENV" status "$DIR"
    rig_servers_up "$DIR" || rc=1
    if pid=$(rig_proxy_pid "$DIR"); then
        local port
        port=$(sed -n 's/^export MYSHARD_PORT=//p' "$DIR/rig.env")
        printf '%-11s port %-5s pid %-7s up%s\n' myshard "$port" "$pid" \
            "$(proxy_stale "$pid" && printf ' (binary rebuilt since: tools/cluster.sh restart)')"
    else
        printf '%-11s %s\n' myshard down
        rc=1
    fi
    return "$rc"
}

cmd=${1:-}
case $cmd in
up)
    check_owner
    build_proxy
    start_servers
    if pid=$(rig_proxy_pid "$DIR"); then
        if proxy_stale "$pid"; then
            msg "restarting the shared myshard: the binary was rebuilt"
            stop_proxy
            start_proxy
        fi
    else
        start_proxy
    fi
    cat "$DIR/rig.env"
    ;;
down)
    check_owner
    stop_proxy
    if [[ -d $DIR ]]; then
        "$MENV" stop "$DIR" >&2 || true
        rm -rf "$DIR"
    fi
    msg "test rig in $DIR stopped"
    ;;
status)
    status
    ;;
env)
    [[ -f $DIR/rig.env ]] || die "no test rig in $DIR (tools/cluster.sh up)"
    cat "$DIR/rig.env"
    ;;
restart)
    check_owner
    rig_servers_up "$DIR" || die "the rig's servers in $DIR are not all up (tools/cluster.sh up)"
    build_proxy
    stop_proxy
    start_proxy
    ;;
-h | --help)
    usage
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
