#!/usr/bin/env bash
# tools/bench.sh - myshard against MariaDB directly, in one run: sysbench
# oltp_point_select and oltp_read_only at 1, 16 and 64 threads, each run once
# straight to the s0 primary and once through myshard, alternating. Prints
# queries/s of both, their ratio, p95 latency, myshard's CPU time per query,
# and myshard's memory per idle client connection. The private myshard has
# tls: configured (the rig's certificate): the plaintext rows measure the
# plaintext path with TLS on offer, and a TLS row runs oltp_point_select
# with every sysbench client on TLS (--mysql-ssl=on, as the user tlsapp,
# whose require_tls refuses anything else), giving qps and myshard's CPU
# time per query next to the same plaintext figures.
#
# The machine is shared and noisy: quote ratios, not absolute numbers.
#
# Usage: tools/bench.sh [--sandbox]
#   (default)  build the release build, start a private cluster (temp dir)
#              and a private myshard, remove both at the end
#   --sandbox  use the running ./tools/sandbox.sh (its cluster and myshard)
#
# Environment:
#   BENCH_TIME=10            seconds per sysbench run
#   BENCH_THREADS="1 16 64"  thread counts
#   BENCH_TESTS="oltp_point_select oltp_read_only"
#   BENCH_TABLES=4 BENCH_TABLE_SIZE=10000
#   BENCH_IDLE_CLIENTS=2000  idle connections for the memory measurement
#   BENCH_WORKERS=1          myshard workers (private myshard only); on a
#                            2-core machine shared with sysbench and MariaDB,
#                            one worker leaves them the other core
#   BENCH_SYSBENCH_ARGS      extra sysbench options (e.g. --db-ps-mode=disable)
#   BENCH_MYSHARD_ARGS       extra myshard options (--log-level warn)
#   BENCH_SHARDED=1          also compare point selects on tables sharded by id
#                            (hash over both shards) with the unsharded ones
#   BENCH_TLS=1              also run the TLS row (private myshard only)
#   BENCH_MUX=1              also compare point selects multiplexed (a backend
#                            connection lent per statement) with pinned
#                            (pool_mode: session), on a second myshard whose
#                            reads all go to the primary
#
# Proxied reads of these unsharded tables go where myshard routes
# default-shard reads (the s0 replica, or the s0 primary); the direct runs
# always use the s0 primary.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

USE_SANDBOX=0
case ${1:-} in
"") ;;
--sandbox) USE_SANDBOX=1 ;;
-h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
*)
    echo "usage: tools/bench.sh [--sandbox]" >&2
    exit 2
    ;;
esac

BENCH_TIME=${BENCH_TIME:-10}
BENCH_THREADS=${BENCH_THREADS:-1 16 64}
BENCH_TESTS=${BENCH_TESTS:-oltp_point_select oltp_read_only}
BENCH_TABLES=${BENCH_TABLES:-4}
BENCH_TABLE_SIZE=${BENCH_TABLE_SIZE:-10000}
BENCH_IDLE_CLIENTS=${BENCH_IDLE_CLIENTS:-2000}
BENCH_WORKERS=${BENCH_WORKERS:-1}
BENCH_MYSHARD_ARGS=${BENCH_MYSHARD_ARGS:---log-level warn}
read -r -a SB_EXTRA <<<"${BENCH_SYSBENCH_ARGS:-}"
read -r -a MS_EXTRA <<<"$BENCH_MYSHARD_ARGS"

DIR=
PROXY_PID=
OWN_PROXY=0
OWN_CLUSTER=0
PREPARED=0

cleanup() {
    set +e
    if [[ $PREPARED -eq 1 ]]; then
        sysbench oltp_read_only "${DIRECT[@]}" --tables="$BENCH_TABLES" cleanup >/dev/null 2>&1
    fi
    if [[ $OWN_PROXY -eq 1 && -n $PROXY_PID ]] && pid_alive "$PROXY_PID"; then
        stop_pid "$PROXY_PID" 10
        wait "$PROXY_PID" 2>/dev/null
    fi
    if [[ $OWN_CLUSTER -eq 1 ]]; then
        tests/integration/mariadb_env.sh stop "$DIR" >/dev/null 2>&1
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Raise the open-files limit for myshard and the idle-client script.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

if [[ $USE_SANDBOX -eq 1 ]]; then
    SANDBOX=${MYSHARD_SANDBOX_DIR:-/tmp/myshard-sandbox}
    [[ -f $SANDBOX/cluster.env && -f $SANDBOX/myshard.pid ]] ||
        die "no sandbox in $SANDBOX (start it with ./tools/sandbox.sh)"
    eval "$(tests/integration/mariadb_env.sh env "$SANDBOX")"
    PROXY_PID=$(<"$SANDBOX/myshard.pid")
    pid_alive "$PROXY_PID" || die "the sandbox's myshard is not running"
    PROXY_PORT=6033
else
    ensure_packages
    msg "building the release build (build/)"
    build_dir build --buildtype=release >/dev/null || die "the build failed (run: ninja -C build)"
    [[ -x build/myshard ]] || die "build/myshard was not built"
    DIR=$(mktemp -d /tmp/myshard-bench.XXXXXX)
    OWN_CLUSTER=1
    msg "starting the MariaDB cluster in $DIR"
    MARIADB_MAX_CONNECTIONS=600 tests/integration/mariadb_env.sh start "$DIR" >/dev/null ||
        die "the MariaDB cluster did not start"
    eval "$(tests/integration/mariadb_env.sh env "$DIR")"
    read -r PROXY_PORT ADMIN_PORT HTTP_PORT <<<"$(free_ports 3)"
    cat >"$DIR/myshard.yaml" <<EOF
# written by tools/bench.sh
listen: 127.0.0.1:$PROXY_PORT
workers: $BENCH_WORKERS
admin:
  listen: 127.0.0.1:$ADMIN_PORT
  http: 127.0.0.1:$HTTP_PORT
  user: admin
  password: bench-admin
tls:
  cert: $MARIADB_TLS_CERT
  key: $MARIADB_TLS_KEY
users:
  - name: app
    password: app
    schemas: [shop, shopsh]
    max_connections: $((BENCH_IDLE_CLIENTS + 1000))
  - { name: tlsapp, password: tlsapp, schemas: [shop], require_tls: true }
backend:
  user: myshard
  password: secret
  pool:
    max_connections: 200
shards:
  - name: s0
    primary: 127.0.0.1:$S0_PRIMARY_PORT
    replicas:
      - { addr: 127.0.0.1:$S0_REPLICA_PORT }
  - name: s1
    primary: 127.0.0.1:$S1_PRIMARY_PORT
    replicas:
      - { addr: 127.0.0.1:$S1_REPLICA_PORT }
sharding_rules:
  id_hash: { type: hash, shards: [s0, s1], slots: 1024 }
schemas:
  - name: shop
    default_shard: s0
  - name: shopsh
    default_shard: s0
    tables:
$(for i in $(seq 1 "$BENCH_TABLES"); do printf '      - { name: sbtest%d, key: id, rule: id_hash }\n' "$i"; done)
EOF
    msg "starting myshard on 127.0.0.1:$PROXY_PORT"
    build/myshard -c "$DIR/myshard.yaml" "${MS_EXTRA[@]}" >"$DIR/myshard.log" 2>&1 &
    PROXY_PID=$!
    OWN_PROXY=1
    if ! wait_port "$PROXY_PORT" 10 "$PROXY_PID"; then
        tail -n 30 "$DIR/myshard.log" >&2
        die "myshard did not start"
    fi
fi

DIRECT=(--db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$S0_PRIMARY_PORT"
    --mysql-user=myshard --mysql-password=secret --mysql-db=shop)
PROXIED=(--db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$PROXY_PORT"
    --mysql-user=app --mysql-password=app --mysql-db=shop)
COMMON=(--tables="$BENCH_TABLES" --table-size="$BENCH_TABLE_SIZE")

msg "preparing $BENCH_TABLES tables x $BENCH_TABLE_SIZE rows in shop on the s0 primary"
sysbench oltp_read_only "${DIRECT[@]}" "${COMMON[@]}" cleanup >/dev/null 2>&1 || true
PREPARED=1
sysbench oltp_read_only "${DIRECT[@]}" "${COMMON[@]}" --threads=4 prepare >/dev/null ||
    die "sysbench prepare failed"
# the s0 replica must hold the tables before proxied reads may go there
pos=$(mariadb --no-defaults -h127.0.0.1 -P"$S0_PRIMARY_PORT" -umyshard -psecret -N -B -e 'SELECT @@gtid_binlog_pos')
[[ "$(mariadb --no-defaults -h127.0.0.1 -P"$S0_REPLICA_PORT" -umyshard -psecret -N -B \
    -e "SELECT MASTER_GTID_WAIT('$pos', 60)")" == 0 ]] || die "the s0 replica did not catch up"

CLK_TCK=$(getconf CLK_TCK)

# utime + stime of a process, in clock ticks.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    # fields after ")" start at field 3 (state); utime/stime are fields 14/15
    awk '{ print $12 + $13 }' <<<"$stat"
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# run_sb TEST THREADS SECONDS TARGET... -> "qps p95_ms queries" or "error"
run_sb() {
    local test=$1 threads=$2 secs=$3 out
    shift 3
    if ! out=$(sysbench "$test" "$@" "${COMMON[@]}" "${SB_EXTRA[@]}" --threads="$threads" \
        --time="$secs" --report-interval=0 --percentile=95 run 2>&1); then
        printf '%s\n' "$out" | tail -n 5 >&2
        echo error
        return
    fi
    awk '
        /^ *queries:/ { total = $2; qps = $3; gsub(/[(]/, "", qps) }
        /95th percentile:/ { p95 = $3 }
        END { printf "%s %s %s\n", qps, p95, total }' <<<"$out"
}

msg "warming up (direct and through myshard)"
run_sb oltp_read_only 4 2 "${DIRECT[@]}" >/dev/null
run_sb oltp_read_only 4 2 "${PROXIED[@]}" >/dev/null

results=()
for test in $BENCH_TESTS; do
    for threads in $BENCH_THREADS; do
        msg "$test, $threads threads: direct"
        read -r dq dp _ <<<"$(run_sb "$test" "$threads" "$BENCH_TIME" "${DIRECT[@]}") - - -"
        msg "$test, $threads threads: through myshard"
        t0=$(cpu_ticks "$PROXY_PID")
        read -r pq pp pn _ <<<"$(run_sb "$test" "$threads" "$BENCH_TIME" "${PROXIED[@]}") - - -"
        t1=$(cpu_ticks "$PROXY_PID")
        results+=("$test $threads $dq $pq $dp $pp $((t1 - t0)) $pn")
    done
done

# The same point select on tables sharded by id over both shards (rows
# placed exactly where the rule says, by deleting on each shard what
# belongs to the other), against the unsharded tables, both through myshard.
sharded=()
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_SHARDED:-1} -eq 1 ]]; then
    msg "preparing the sharded copy (schema shopsh, id_hash over s0 and s1)"
    for port in "$S0_PRIMARY_PORT" "$S1_PRIMARY_PORT"; do
        mariadb --no-defaults -h127.0.0.1 -P"$port" -umyshard -psecret \
            -e 'CREATE DATABASE IF NOT EXISTS shopsh' || die "cannot create shopsh"
        sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 \
            --mysql-port="$port" --mysql-user=myshard --mysql-password=secret \
            --mysql-db=shopsh "${COMMON[@]}" --threads=4 prepare >/dev/null ||
            die "sysbench prepare (shopsh) failed"
    done
    for i in $(seq 1 "$BENCH_TABLES"); do
        mariadb --no-defaults -h127.0.0.1 -P"$S0_PRIMARY_PORT" -umyshard -psecret shopsh \
            -e "DELETE FROM sbtest$i WHERE CRC32(id) % 1024 >= 512"
        mariadb --no-defaults -h127.0.0.1 -P"$S1_PRIMARY_PORT" -umyshard -psecret shopsh \
            -e "DELETE FROM sbtest$i WHERE CRC32(id) % 1024 < 512"
    done
    SHARDED=(--db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$PROXY_PORT"
        --mysql-user=app --mysql-password=app --mysql-db=shopsh)
    for threads in $BENCH_THREADS; do
        msg "oltp_point_select, $threads threads: unsharded vs sharded, through myshard"
        read -r uq _ <<<"$(run_sb oltp_point_select "$threads" "$BENCH_TIME" "${PROXIED[@]}") - -"
        t0=$(cpu_ticks "$PROXY_PID")
        read -r sq _ sn _ <<<"$(run_sb oltp_point_select "$threads" "$BENCH_TIME" "${SHARDED[@]}") - - -"
        t1=$(cpu_ticks "$PROXY_PID")
        sharded+=("$threads $uq $sq $((t1 - t0)) $sn")
    done
fi

# Clients on TLS: the same point select as plaintext and over TLS, both
# through myshard, alternating. sysbench 1.0 takes its TLS files from the
# working directory (cacert.pem, client-cert.pem, client-key.pem).
tlsrows=()
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_TLS:-1} -eq 1 ]]; then
    mkdir -p "$DIR/sbtls"
    ln -sf "$MARIADB_TLS_CA" "$DIR/sbtls/cacert.pem"
    ln -sf "$MARIADB_TLS_CLIENT_CERT" "$DIR/sbtls/client-cert.pem"
    ln -sf "$MARIADB_TLS_CLIENT_KEY" "$DIR/sbtls/client-key.pem"
    TLS_ARGS=(--db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$PROXY_PORT"
        --mysql-user=tlsapp --mysql-password=tlsapp --mysql-db=shop --mysql-ssl=on)
    for threads in $BENCH_THREADS; do
        msg "oltp_point_select, $threads threads: plaintext vs TLS clients, through myshard"
        t0=$(cpu_ticks "$PROXY_PID")
        read -r plq _ pln _ <<<"$(run_sb oltp_point_select "$threads" "$BENCH_TIME" "${PROXIED[@]}") - - -"
        t1=$(cpu_ticks "$PROXY_PID")
        read -r tlq _ tln _ <<<"$(cd "$DIR/sbtls" && run_sb oltp_point_select "$threads" "$BENCH_TIME" "${TLS_ARGS[@]}") - - -"
        t2=$(cpu_ticks "$PROXY_PID")
        tlsrows+=("$threads $plq $tlq $((t1 - t0)) $pln $((t2 - t1)) $tln")
    done
fi

# Multiplexed against pinned: the same myshard binary and backend, users
# that differ only in pool_mode, no replicas, so only the pooling differs.
mux=()
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_MUX:-1} -eq 1 ]]; then
    read -r MUX_PORT MUX_ADMIN MUX_HTTP <<<"$(free_ports 3)"
    cat >"$DIR/myshard-mux.yaml" <<EOF
# written by tools/bench.sh: multiplexed vs pinned
listen: 127.0.0.1:$MUX_PORT
workers: $BENCH_WORKERS
admin:
  listen: 127.0.0.1:$MUX_ADMIN
  http: 127.0.0.1:$MUX_HTTP
users:
  - { name: app, password: app, schemas: [shop] }
  - { name: pinned, password: pinned, schemas: [shop], pool_mode: session }
backend:
  user: myshard
  password: secret
  pool:
    max_connections: 200
shards:
  - name: s0
    primary: 127.0.0.1:$S0_PRIMARY_PORT
schemas:
  - name: shop
    default_shard: s0
EOF
    build/myshard -c "$DIR/myshard-mux.yaml" "${MS_EXTRA[@]}" >"$DIR/myshard-mux.log" 2>&1 &
    MUX_PID=$!
    if wait_port "$MUX_PORT" 10 "$MUX_PID"; then
        for threads in $BENCH_THREADS; do
            msg "oltp_point_select, $threads threads: multiplexed vs pinned, through myshard"
            read -r mq _ <<<"$(run_sb oltp_point_select "$threads" "$BENCH_TIME" --db-driver=mysql \
                --mysql-host=127.0.0.1 "--mysql-port=$MUX_PORT" --mysql-user=app \
                --mysql-password=app --mysql-db=shop) - -"
            read -r nq _ <<<"$(run_sb oltp_point_select "$threads" "$BENCH_TIME" --db-driver=mysql \
                --mysql-host=127.0.0.1 "--mysql-port=$MUX_PORT" --mysql-user=pinned \
                --mysql-password=pinned --mysql-db=shop) - -"
            mux+=("$threads $mq $nq")
        done
    else
        msg "the second myshard did not start (see $DIR/myshard-mux.log)"
    fi
    kill "$MUX_PID" 2>/dev/null || true
    wait "$MUX_PID" 2>/dev/null || true
fi

msg "opening $BENCH_IDLE_CLIENTS idle client connections to myshard"
idle=$("$MYSHARD_PY" - "$PROXY_PORT" "$BENCH_IDLE_CLIENTS" "$PROXY_PID" <<'EOF'
import resource, sys, time
import pymysql

port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 256
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

def rss_kb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

time.sleep(1)
before = rss_kb()
conns, err = [], ""
for _ in range(n):
    try:
        conns.append(pymysql.connect(host="127.0.0.1", port=port, user="app",
                                     password="app", database="shop", autocommit=None,
                                     connect_timeout=10))
    except Exception as e:  # report how far it got
        err = str(e).replace("\n", " ")[:120]
        break
time.sleep(2)
after = rss_kb()
for c in conns:
    try:
        c.close()
    except Exception:
        pass
print(before, after, len(conns), err or "-")
EOF
) || idle="0 0 0 the idle-client script failed"

printf '\n'
printf '%-18s %7s %11s %11s %6s %10s %10s %10s %12s\n' \
    test threads 'direct qps' 'proxy qps' ratio 'direct p95' 'proxy p95' 'cpu us/q' 'cpu s/10k q'
printf '%-18s %7s %11s %11s %6s %10s %10s %10s %12s\n' \
    '' '' '' '' '' '(ms)' '(ms)' '(myshard)' '(myshard)'
for row in "${results[@]}"; do
    read -r test threads dq pq dp pp ticks pn _ <<<"$row"
    awk -v t="$test" -v th="$threads" -v dq="$dq" -v pq="$pq" -v dp="$dp" \
        -v pp="$pp" -v ticks="$ticks" -v pn="$pn" -v hz="$CLK_TCK" '
    function num(x) { return x ~ /^[0-9.]+$/ }
    BEGIN {
        ratio = (num(dq) && num(pq) && dq > 0) ? sprintf("%.2f", pq / dq) : "-"
        us = (num(pn) && pn > 0) ? sprintf("%.1f", ticks / hz * 1e6 / pn) : "-"
        s10k = (num(pn) && pn > 0) ? sprintf("%.3f", ticks / hz * 1e4 / pn) : "-"
        printf "%-18s %7s %11s %11s %6s %10s %10s %10s %12s\n", t, th,
            num(dq) ? sprintf("%.0f", dq) : dq, num(pq) ? sprintf("%.0f", pq) : pq,
            ratio, dp, pp, us, s10k
    }'
done
if [[ ${#sharded[@]} -gt 0 ]]; then
    printf '\n%-18s %7s %15s %13s %6s %10s\n' test threads 'unsharded qps' 'sharded qps' \
        ratio 'cpu us/q'
    for row in "${sharded[@]}"; do
        read -r threads uq sq ticks sn _ <<<"$row"
        awk -v th="$threads" -v uq="$uq" -v sq="$sq" -v ticks="$ticks" -v sn="$sn" \
            -v hz="$CLK_TCK" '
        function num(x) { return x ~ /^[0-9.]+$/ }
        BEGIN {
            ratio = (num(uq) && num(sq) && uq > 0) ? sprintf("%.2f", sq / uq) : "-"
            us = (num(sn) && sn > 0) ? sprintf("%.1f", ticks / hz * 1e6 / sn) : "-"
            printf "%-18s %7s %15s %13s %6s %10s\n", "point_select", th,
                num(uq) ? sprintf("%.0f", uq) : uq, num(sq) ? sprintf("%.0f", sq) : sq,
                ratio, us
        }'
    done
fi
if [[ ${#tlsrows[@]} -gt 0 ]]; then
    printf '\n%-18s %7s %11s %11s %6s %14s %12s\n' test threads 'plain qps' 'TLS qps' \
        ratio 'plain cpu us/q' 'TLS cpu us/q'
    for row in "${tlsrows[@]}"; do
        read -r threads plq tlq pticks pln tticks tln _ <<<"$row"
        awk -v th="$threads" -v plq="$plq" -v tlq="$tlq" -v pt="$pticks" -v pn="$pln" \
            -v tt="$tticks" -v tn="$tln" -v hz="$CLK_TCK" '
        function num(x) { return x ~ /^[0-9.]+$/ }
        BEGIN {
            ratio = (num(plq) && num(tlq) && plq > 0) ? sprintf("%.2f", tlq / plq) : "-"
            pus = (num(pn) && pn > 0) ? sprintf("%.1f", pt / hz * 1e6 / pn) : "-"
            tus = (num(tn) && tn > 0) ? sprintf("%.1f", tt / hz * 1e6 / tn) : "-"
            printf "%-18s %7s %11s %11s %6s %14s %12s\n", "point_select TLS", th,
                num(plq) ? sprintf("%.0f", plq) : plq, num(tlq) ? sprintf("%.0f", tlq) : tlq,
                ratio, pus, tus
        }'
    done
fi
if [[ ${#mux[@]} -gt 0 ]]; then
    printf '\n%-18s %7s %16s %11s %6s\n' test threads 'multiplexed qps' 'pinned qps' ratio
    for row in "${mux[@]}"; do
        read -r threads mq nq _ <<<"$row"
        awk -v th="$threads" -v mq="$mq" -v nq="$nq" '
        function num(x) { return x ~ /^[0-9.]+$/ }
        BEGIN {
            ratio = (num(mq) && num(nq) && nq > 0) ? sprintf("%.2f", mq / nq) : "-"
            printf "%-18s %7s %16s %11s %6s\n", "point_select", th,
                num(mq) ? sprintf("%.0f", mq) : mq, num(nq) ? sprintf("%.0f", nq) : nq, ratio
        }'
    done
fi
read -r rb ra rn rerr <<<"$idle"
printf '\n'
if [[ ${rn:-0} -gt 0 ]]; then
    printf 'RSS per idle client: %d bytes (%d connections; myshard RSS %d KiB -> %d KiB)\n' \
        $(((ra - rb) * 1024 / rn)) "$rn" "$rb" "$ra"
else
    printf 'RSS per idle client: not measured (no connection succeeded)\n'
fi
if [[ ${rn:-0} -lt $BENCH_IDLE_CLIENTS ]]; then
    printf 'note: only %s of %s idle connections opened: %s\n' "${rn:-0}" "$BENCH_IDLE_CLIENTS" "${rerr:-}"
fi
