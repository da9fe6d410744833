#!/usr/bin/env bash
# tests/integration/sysbench_pool.sh - 500 sysbench threads over a pool
# capped at 60. A myshard of its own (the shared myshard's config,
# MYSHARD_CONFIG, on other ports with pool.max_connections 60, wait_timeout
# 10s, workers 2) serves sysbench oltp_point_select (prepared statements)
# on a table of the unsharded schema shop, which lives on s0, whose primary
# runs with max_connections lowered to 120 meanwhile. The same 500 threads
# straight to that server fail with error 1040; through myshard they run
# without an error, while the s0 processlist, sampled every 100 ms, never
# shows more than 60 connections of backend.user plus the health monitor's and
# the reshard control's one each. It counts every backend.user connection on s0, so the shared myshard
# must not run (tools/test.sh runs it after stopping it; meson through
# rig_run.sh --alone). The server's max_connections is restored however the
# program ends.
#
# Environment: the rig's (tools/test.sh): MYSHARD_BIN MYSHARD_CONFIG
# MYSHARD_PORT MYSHARD_ADMIN_PORT MYSHARD_HTTP_PORT MYSHARD_TEST_DIR
# S0_PRIMARY_PORT BACKEND_USER BACKEND_PASSWORD. Prints TAP; files in
# MYSHARD_TEST_DIR/sysbench-pool.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../../tools/lib.sh
. "$HERE/../../tools/lib.sh"

for v in MYSHARD_BIN MYSHARD_CONFIG MYSHARD_PORT MYSHARD_ADMIN_PORT \
    MYSHARD_HTTP_PORT MYSHARD_TEST_DIR S0_PRIMARY_PORT BACKEND_USER BACKEND_PASSWORD; do
    if [[ -z ${!v:-} ]]; then
        printf 'Bail out! %s is not set (run it through tools/test.sh or meson test with a rig up)\n' "$v"
        exit 1
    fi
done

PROXY_BIN=$MYSHARD_BIN
NTAP=0
NFAIL=0

pass() {
    NTAP=$((NTAP + 1))
    printf 'ok %d - %s\n' "$NTAP" "$1"
}

fail() {
    NTAP=$((NTAP + 1))
    NFAIL=$((NFAIL + 1))
    printf 'not ok %d - %s\n' "$NTAP" "$1"
}

# The plan comes last: a section that stops early plans what it ran.
finish() {
    printf '1..%d\n' "$NTAP"
    [[ $NFAIL -eq 0 ]]
}

# State restored however the program ends (undo).
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

sysbench_pool() {
    local threads=500 cap=60 server_max=120 health=2
    local d=$MYSHARD_TEST_DIR/sysbench-pool port aport hport buser old rc st n i line
    local q samples max active qps queries errs text
    local -a direct proxied
    POOL500_DIR=$d
    mkdir -p "$d"
    printf -- '# sysbench oltp_point_select, %d threads, pool of %d, s0 max_connections %d\n' \
        "$threads" "$cap" "$server_max"

    # its own myshard: the shared config on fresh ports, a pool of 60
    read -r port aport hport <<<"$(free_ports 3)"
    sed -e "s/127.0.0.1:$MYSHARD_PORT\$/127.0.0.1:$port/" \
        -e "s/127.0.0.1:$MYSHARD_ADMIN_PORT\$/127.0.0.1:$aport/" \
        -e "s/127.0.0.1:$MYSHARD_HTTP_PORT\$/127.0.0.1:$hport/" \
        -e 's/^workers: .*/workers: 2/' \
        -e "/^  pool:\$/,/^  [^ ]/s/^    max_connections: .*/    max_connections: $cap\n    wait_timeout: 10s/" \
        "$MYSHARD_CONFIG" >"$d/myshard.yaml"
    buser=$(awk '/^backend:/ { b = 1; next } /^[^ #]/ { b = 0 }
        b && /^  user:/ { print $2; exit }' "$d/myshard.yaml")
    if ! grep -qx "    max_connections: $cap" "$d/myshard.yaml" ||
        ! grep -qx '    wait_timeout: 10s' "$d/myshard.yaml" ||
        ! grep -qx 'workers: 2' "$d/myshard.yaml" || [[ -z $buser ]] ||
        ! "$PROXY_BIN" -c "$d/myshard.yaml" --check >"$d/check.out" 2>&1; then
        cat "$d/check.out" 2>/dev/null || true
        fail "cannot derive its config from $MYSHARD_CONFIG ($d/myshard.yaml)"
        return
    fi

    # the server's limit, between the pool's needs and the 500 threads
    if ! old=$(s0_sql 'SELECT @@GLOBAL.max_connections') || [[ ! $old =~ ^[0-9]+$ ]]; then
        fail "cannot read max_connections of the s0 primary"
        return
    fi
    POOL500_OLD_MAX=$old
    if ! s0_sql "SET GLOBAL max_connections = $server_max"; then
        fail "SET GLOBAL max_connections = $server_max on the s0 primary failed"
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
        fail "sysbench prepare on the s0 primary failed"
        return
    fi

    # (a) 500 threads straight to the server: more than it admits
    rc=0
    timeout -k 10 60 "${direct[@]}" "--threads=$threads" --time=10 \
        --report-interval=0 run >"$d/direct.log" 2>&1 || rc=$?
    text=$(grep -m 1 -E 'error 1040|Too many connections' "$d/direct.log" || true)
    if [[ $rc -ne 0 && -n $text ]]; then
        pass "$threads threads straight to s0 (max_connections $server_max) fail: exit $rc, \"$text\""
    else
        tail -n 20 "$d/direct.log"
        fail "$threads threads straight to s0 (max_connections $server_max): exit $rc, expected error 1040 (Too many connections)"
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
        fail "s0 still has ${n:-?} connections of '$buser' before its myshard starts"
        return
    fi

    "$PROXY_BIN" -c "$d/myshard.yaml" >"$d/myshard.log" 2>&1 &
    POOL500_PROXY_PID=$!
    if ! wait_port "$port" 10 "$POOL500_PROXY_PID"; then
        tail -n 30 "$d/myshard.log"
        fail "its myshard did not listen on 127.0.0.1:$port (log: $d/myshard.log)"
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

    queries=$(sed -n 's/^ *queries: *\([0-9]*\).*/\1/p' "$d/proxied.log" | head -n 1)
    qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$d/proxied.log" | head -n 1)
    errs=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$d/proxied.log" | head -n 1)
    if [[ $rc -eq 0 && ${queries:-0} -gt 0 && $errs == 0 ]] &&
        ! grep -q 'FATAL' "$d/proxied.log"; then
        grep -E '^ *(queries|transactions|ignored errors|reconnects):|95th percentile' "$d/proxied.log" || true
        pass "$threads threads through myshard (pool $cap, workers 2): $queries queries, $qps qps, no errors"
    else
        grep -m 5 -E 'FATAL|error' "$d/proxied.log" || true
        tail -n 20 "$d/proxied.log"
        fail "$threads threads through myshard (pool $cap, workers 2): exit $rc, ${queries:-no} queries, ${errs:-unknown} ignored errors (log: $d/proxied.log)"
    fi

    samples=$(grep -cE '^[0-9]+' "$d/samples" || true)
    max=$(cut -f 1 "$d/samples" | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
    active=$(cut -f 2 "$d/samples" | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
    if [[ $samples -lt 20 || -z $max ]]; then
        cat "$d/sampler.err" 2>/dev/null || true
        fail "the s0 processlist was sampled only ${samples:-0} times (sampler exit $st; $d/sampler.err)"
    elif [[ $max -le $((cap + health)) ]]; then
        pass "s0 saw at most $max connections of '$buser' (cap $cap + $health outside the pool: health monitor, reshard control; $samples samples, at most $active busy at once)"
    else
        printf 's0 processlist of %s (count, busy, without a database): %s\n' "$buser" \
            "$(awk -v m="$max" '$1 == m' "$d/samples" | sort | uniq -c | tr -s ' \t\n' ' ')"
        printf 'after the run (database, command, count): %s\n' "$(tr -s '\t\n' ' ' <"$d/after")"
        fail "s0 saw $max connections of '$buser', over the cap $cap + $health outside the pool ($samples samples)"
    fi

    # the tables, its myshard, the server's limit
    if ! timeout -k 10 60 "${direct[@]}" cleanup >>"$d/prepare.log" 2>&1; then
        tail -n 20 "$d/prepare.log"
        fail "sysbench cleanup (DROP TABLE) failed"
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
        fail "its myshard's log has sanitizer reports ($d/myshard.log)"
    elif [[ $st != 0 ]]; then
        fail "its myshard ended with status $st on SIGTERM (log: $d/myshard.log)"
    fi
    pool500_undo
    line=$(s0_sql 'SELECT @@GLOBAL.max_connections' || true)
    if [[ $line == "$old" ]]; then
        pass "s0 max_connections back to $old"
    else
        fail "s0 max_connections is ${line:-unknown}, not $old again"
    fi
}

trap pool500_undo EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
sysbench_pool
finish
