#!/usr/bin/env bash
# tools/bench.sh - myshard against the physical limit, in one run: sysbench
# oltp_point_select and oltp_read_only at 1, 16 and 64 threads, in text mode
# (--db-ps-mode=disable) and in prepared mode (--db-ps-mode=auto: server-side
# prepared statements), each row run straight to the server, through HAProxy
# and through myshard, alternating in that order to spread the noise.
#
# HAProxy is the bar: a pure L4 relay (mode tcp, no health checks, no logs)
# that parses nothing, with as many threads as myshard has workers
# (BENCH_HAPROXY_THREADS, default BENCH_WORKERS=1), so both get the same
# share of a 2-core machine that sysbench and MariaDB also use. Each row
# prints the qps of the three, myshard/direct and myshard/HAProxy, the p95
# latency of each, the CPU time per query of myshard and of HAProxy (utime +
# stime of the process from /proc, over its own runs) and their ratio, and
# then a line per row: myshard >= 0.95x HAProxy's qps at <= 1.10x its CPU
# per query, yes or no.
#
# The three reach the same server, the s0 primary: myshard's s0 replica is
# set OFFLINE on its admin console for these rows (ONLINE again after, and
# at exit), so its default-shard reads go to the primary too; the replica
# stays configured, so myshard still picks a server per read. The servers'
# Questions counters, read around every myshard run, show which server
# served them (printed under the table).
#
# Then it compares point selects on tables sharded by id with unsharded
# ones, plaintext with TLS clients, multiplexed with pinned (each through
# myshard), and measures myshard's memory per idle client connection. The
# private myshard has tls: configured (the rig's certificate): the plaintext
# rows measure the plaintext path with TLS on offer, and the TLS row runs
# oltp_point_select with every sysbench client on TLS (--mysql-ssl=on, as
# the user tlsapp, whose require_tls refuses anything else).
#
# The machine is shared and noisy: quote ratios, not absolute numbers.
#
# Usage: tools/bench.sh [--sandbox]
#        tools/bench.sh reshard [--env]   the online reshard's speed under
#              sysbench oltp_read_write (tools/bench-reshard.sh says more)
#   (default)  build the release build, start a private cluster (temp dir)
#              and a private myshard, remove both at the end
#   --sandbox  use the running ./tools/sandbox.sh (its cluster and myshard)
#   Both start a private HAProxy (installed if missing) and stop it at the end.
#
# Environment:
#   BENCH_TIME=10            seconds per sysbench run
#   BENCH_ROUNDS=1           runs of each main row's three (direct, HAProxy,
#                            myshard; every other round in the reverse
#                            order): the row gives the rounds' mean qps and
#                            p95, and CPU per query over all of them
#   BENCH_THREADS="1 16 64"  thread counts
#   BENCH_TESTS="oltp_point_select oltp_read_only"
#   BENCH_PS_MODES="disable auto"  sysbench --db-ps-mode values of the main
#                            rows (text, prepared); a --db-ps-mode in
#                            BENCH_SYSBENCH_ARGS picks that one alone
#   BENCH_TABLES=4 BENCH_TABLE_SIZE=10000
#   BENCH_IDLE_CLIENTS=2000  idle connections for the memory measurement
#   BENCH_WORKERS=1          myshard workers (private myshard only); on a
#                            2-core machine shared with sysbench and MariaDB,
#                            one worker leaves them the other core
#   BENCH_HAPROXY_THREADS    HAProxy's nbthread (default BENCH_WORKERS)
#   BENCH_SYSBENCH_ARGS      extra sysbench options
#   BENCH_MYSHARD_ARGS       extra myshard options (--log-level warn)
#   BENCH_SHARDED=1          also compare point selects on tables sharded by id
#                            (hash over both shards) with the unsharded ones
#   BENCH_TLS=1              also run the TLS row (private myshard only)
#   BENCH_MUX=1              also compare point selects multiplexed (a backend
#                            connection lent per statement) with pinned
#                            (pool_mode: session), on a second myshard whose
#                            reads all go to the primary
#   BENCH_CONSIST=1          also run point selects under a 10% write mix
#                            (oltp_read_write: 9 point selects and 1 UPDATE
#                            per round, autocommit) through a myshard with
#                            backend.consistency session, then causal, next
#                            to the same myshard with its replica at weight
#                            0 (every read on the primary: what a fixed
#                            read-your-writes window gives under a steady
#                            write rate); each row gives qps and the share
#                            of reads the replica served, from /metrics
#   BENCH_CONSIST_THREADS="1 16"  thread counts of those rows
#   BENCH_BULK=1             also compare positional multi-row INSERTs
#                            (sysbench bulk_insert: `INSERT INTO t VALUES
#                            (1,1),(2,2),...`, no column list) straight to
#                            the s0 primary with the same through myshard
#                            into tables sharded by id over s0 and s1 (each
#                            statement split per shard); rows/s and where
#                            the rows went
#   BENCH_BULK_THREADS="1 4" thread counts of those rows
#   BENCH_MANY=1             also run many active clients over a small pool:
#                            build/loadgen (one thread, non-blocking
#                            Connector/C) with BENCH_MANY_CLIENTS clients
#                            running point selects back to back through a
#                            myshard whose pool holds BENCH_MANY_POOL
#                            connections; qps, p50/p95/p99, the time to
#                            connect them all, myshard's RSS and CPU per
#                            query, and how long statements waited for a
#                            connection (myshard_pool_wait_seconds)
#   BENCH_MANY_CLIENTS="1000 10000"  BENCH_MANY_POOL=60
#   BENCH_CACHE=1            also run cached point selects: oltp_point_select
#                            (text mode) with a cache policy on its statement
#                            (match "SELECT c FROM sbtest", ttl 60s), straight
#                            to the s0 primary, through a myshard, and
#                            through a myshard with cluster.redis (a private
#                            redis-server, if installed); qps, the ratio to
#                            direct, myshard's CPU per query and the share of
#                            cache hits (from /metrics); then the same
#                            statements from build/loadgen (one thread,
#                            non-blocking connections), straight and through
#                            both myshards: sysbench's threads take most of
#                            the CPU a cache hit frees, loadgen's one thread
#                            much less, so its rows show what the cache gives
#                            when the client is not the limit
#   BENCH_CACHE_THREADS=16   thread counts of those rows
#   BENCH_CACHE_LOADGEN_CLIENTS=16  loadgen's connections in those rows
#
# The sharded, TLS and multiplexing rows run with the replica ONLINE again
# (proxied reads of the unsharded tables go to the s0 replica) and in
# sysbench's default mode (prepared), or BENCH_SYSBENCH_ARGS' --db-ps-mode.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

USE_SANDBOX=0
case ${1:-} in
"") ;;
--sandbox) USE_SANDBOX=1 ;;
reshard)
    shift
    exec "$MYSHARD_ROOT/tools/bench-reshard.sh" "$@"
    ;;
-h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
*)
    echo "usage: tools/bench.sh [--sandbox] | tools/bench.sh reshard [--env]" >&2
    exit 2
    ;;
esac

BENCH_TIME=${BENCH_TIME:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
[[ $BENCH_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS: '$BENCH_ROUNDS' is not a count"
BENCH_THREADS=${BENCH_THREADS:-1 16 64}
BENCH_TESTS=${BENCH_TESTS:-oltp_point_select oltp_read_only}
BENCH_TABLES=${BENCH_TABLES:-4}
BENCH_TABLE_SIZE=${BENCH_TABLE_SIZE:-10000}
BENCH_IDLE_CLIENTS=${BENCH_IDLE_CLIENTS:-2000}
BENCH_WORKERS=${BENCH_WORKERS:-1}
BENCH_MYSHARD_ARGS=${BENCH_MYSHARD_ARGS:---log-level warn}
read -r -a SB_EXTRA <<<"${BENCH_SYSBENCH_ARGS:-}"
read -r -a MS_EXTRA <<<"$BENCH_MYSHARD_ARGS"
BENCH_HAPROXY_THREADS=${BENCH_HAPROXY_THREADS:-$BENCH_WORKERS}
BENCH_BULK_THREADS=${BENCH_BULK_THREADS:-1 4}
# bulk_insert writes table sbtest<thread>: as many tables as threads
BULK_TABLES=$(tr ' ' '\n' <<<"$BENCH_BULK_THREADS" | sort -n | tail -n 1)
# The main rows set --db-ps-mode themselves: take it out of the extra
# options (a --db-ps-mode there is the default for BENCH_PS_MODES).
SB_MAIN=()
sb_ps_mode=
for a in "${SB_EXTRA[@]}"; do
    case $a in
    --db-ps-mode=*) sb_ps_mode=${a#--db-ps-mode=} ;;
    *) SB_MAIN+=("$a") ;;
    esac
done
BENCH_PS_MODES=${BENCH_PS_MODES:-${sb_ps_mode:-disable auto}}
for m in $BENCH_PS_MODES; do
    [[ $m == disable || $m == auto ]] || die "BENCH_PS_MODES: '$m' is not disable or auto"
done

DIR=
PROXY_PID=
HAP_PID=
HAP_TMP=
REPLICA_OFFLINE=0
OWN_PROXY=0
OWN_CLUSTER=0
PREPARED=0

cleanup() {
    set +e
    if [[ $PREPARED -eq 1 ]]; then
        sysbench oltp_read_only "${DIRECT[@]}" --tables="$BENCH_TABLES" cleanup >/dev/null 2>&1
    fi
    if [[ -n $HAP_PID ]] && pid_alive "$HAP_PID"; then
        stop_pid "$HAP_PID" 10
        wait "$HAP_PID" 2>/dev/null
    fi
    if [[ -n $HAP_TMP ]]; then
        rm -rf "$HAP_TMP"
    fi
    if [[ $REPLICA_OFFLINE -eq 1 ]] && pid_alive "$PROXY_PID"; then
        admin_sql "SET BACKEND '127.0.0.1:$S0_REPLICA_PORT' ONLINE" >/dev/null ||
            warn "the s0 replica stays OFFLINE in myshard (SET BACKEND '127.0.0.1:$S0_REPLICA_PORT' ONLINE on its console)"
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
    ADMIN_PORT=6032 ADMIN_PASSWORD=sandbox # conf/sandbox.yaml
    # HAProxy is the one tool the sandbox does not need itself
    command -v haproxy >/dev/null 2>&1 || ensure_packages
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
    ADMIN_PASSWORD=bench-admin
    cat >"$DIR/myshard.yaml" <<EOF
# written by tools/bench.sh
listen: 127.0.0.1:$PROXY_PORT
workers: $BENCH_WORKERS
admin:
  listen: 127.0.0.1:$ADMIN_PORT
  http: 127.0.0.1:$HTTP_PORT
  user: admin
  password: $ADMIN_PASSWORD
tls:
  cert: $MARIADB_TLS_CERT
  key: $MARIADB_TLS_KEY
users:
  - name: app
    password: app
    schemas: [shop, shopsh, shopbulk]
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
  - name: shopbulk
    default_shard: s0
    tables:
$(for i in $(seq 1 "$BULK_TABLES"); do printf '      - { name: sbtest%d, key: id, rule: id_hash }\n' "$i"; done)
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

# utime + stime of a process (all its threads), in clock ticks.
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

# questions PORT: the server's Questions counter (every statement a client
# sent it, COM_STMT_EXECUTE included).
questions() {
    mariadb --no-defaults -h127.0.0.1 -P"$1" -umyshard -psecret -N -B \
        -e "SHOW GLOBAL STATUS LIKE 'Questions'" 2>/dev/null | awk '{ print $2 }'
}

# admin_sql SQL: one statement on myshard's admin console.
admin_sql() {
    mariadb --no-defaults -h127.0.0.1 -P"$ADMIN_PORT" -uadmin -p"$ADMIN_PASSWORD" -N -B -e "$1"
}

# run_sb TEST THREADS SECONDS TARGET... -> "qps p95_ms queries" or "error".
# PS_MODE, when set, is the run's --db-ps-mode (the extra options then come
# without theirs).
PS_MODE=
run_sb() {
    local test=$1 threads=$2 secs=$3 out
    local -a extra=("${SB_EXTRA[@]}")
    shift 3
    if [[ -n $PS_MODE ]]; then
        extra=("${SB_MAIN[@]}" --db-ps-mode="$PS_MODE")
    fi
    if ! out=$(sysbench "$test" "$@" "${COMMON[@]}" "${extra[@]}" --threads="$threads" \
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

# fadd A B, fdiv A B: sums and means of sysbench figures; "-" when either
# is not a number (a run that failed stays visible as "-").
fadd() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.2f\n", a + b; else print "-" }'
}
fdiv() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a ~ /^[0-9.]+$/ && b > 0) printf "%.2f\n", a / b; else print "-" }'
}

# myshard reads from the s0 primary for the main rows, like the direct and
# HAProxy runs: its replica goes OFFLINE (still configured).
admin_sql "SET BACKEND '127.0.0.1:$S0_REPLICA_PORT' OFFLINE" >/dev/null ||
    die "cannot set the s0 replica OFFLINE on myshard's admin console (127.0.0.1:$ADMIN_PORT)"
REPLICA_OFFLINE=1

msg "warming up through myshard"
qp0=$(questions "$S0_PRIMARY_PORT")
qr0=$(questions "$S0_REPLICA_PORT")
run_sb oltp_read_only 4 2 "${PROXIED[@]}" >/dev/null
qp1=$(questions "$S0_PRIMARY_PORT")
qr1=$(questions "$S0_REPLICA_PORT")
if ((qr1 - qr0 > qp1 - qp0)); then
    die "myshard's reads still go to the s0 replica while it is OFFLINE"
fi

# HAProxy in TCP mode in front of the s0 primary: no health checks (nothing
# else reaches the server), no logs, no limits in the way (maxconn far above
# any thread count), nbthread as many as myshard's workers.
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [[ -n $DIR ]]; then
    HAP_DIR=$DIR
else
    HAP_DIR=$(mktemp -d /tmp/myshard-bench-haproxy.XXXXXX)
    HAP_TMP=$HAP_DIR
fi
read -r HAP_PORT <<<"$(free_ports 1)"
cat >"$HAP_DIR/haproxy.cfg" <<EOF
# written by tools/bench.sh
global
    nbthread $BENCH_HAPROXY_THREADS
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
frontend bench
    bind 127.0.0.1:$HAP_PORT
    default_backend served
backend served
    server s0 127.0.0.1:$S0_PRIMARY_PORT
EOF
msg "starting HAProxy on 127.0.0.1:$HAP_PORT (nbthread $BENCH_HAPROXY_THREADS)"
"$HAPROXY" -db -f "$HAP_DIR/haproxy.cfg" >"$HAP_DIR/haproxy.log" 2>&1 &
HAP_PID=$!
if ! wait_port "$HAP_PORT" 10 "$HAP_PID"; then
    tail -n 30 "$HAP_DIR/haproxy.log" >&2
    die "HAProxy did not start"
fi
HAPROXIED=(--db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$HAP_PORT"
    --mysql-user=myshard --mysql-password=secret --mysql-db=shop)

msg "warming up (direct and through HAProxy)"
run_sb oltp_read_only 4 2 "${DIRECT[@]}" >/dev/null
run_sb oltp_read_only 4 2 "${HAPROXIED[@]}" >/dev/null

# Each row: direct, HAProxy, myshard, one after the other. The servers'
# Questions counters around the myshard runs tell which server served them.
results=()
spreads=() # per row: each round's "qps_ratio:cpu_ratio"
ms_primary=0
ms_replica=0
ms_queries=0
for test in $BENCH_TESTS; do
    for PS_MODE in $BENCH_PS_MODES; do
        mode=text
        [[ $PS_MODE == auto ]] && mode=prepared
        for threads in $BENCH_THREADS; do
            dq=0 dp=0 hq=0 hp=0 hn=0 hticks=0 mq=0 mp=0 mn=0 mticks=0
            spread=""
            for ((round = 1; round <= BENCH_ROUNDS; round++)); do
                # odd rounds direct first, even rounds myshard first
                order="direct haproxy myshard"
                ((round % 2)) || order="myshard haproxy direct"
                for who in $order; do
                    msg "$test, $mode, $threads threads, round $round/$BENCH_ROUNDS: $who"
                    case $who in
                    direct)
                        read -r q p _ <<<"$(run_sb "$test" "$threads" "$BENCH_TIME" "${DIRECT[@]}") - - -"
                        dq=$(fadd "$dq" "$q")
                        dp=$(fadd "$dp" "$p")
                        ;;
                    haproxy)
                        t0=$(cpu_ticks "$HAP_PID")
                        read -r q p n _ <<<"$(run_sb "$test" "$threads" "$BENCH_TIME" "${HAPROXIED[@]}") - - -"
                        t1=$(cpu_ticks "$HAP_PID")
                        hticks=$((hticks + t1 - t0))
                        round_hap="$q $((t1 - t0)) $n"
                        hq=$(fadd "$hq" "$q")
                        hp=$(fadd "$hp" "$p")
                        hn=$(fadd "$hn" "$n")
                        ;;
                    myshard)
                        qp0=$(questions "$S0_PRIMARY_PORT")
                        qr0=$(questions "$S0_REPLICA_PORT")
                        t0=$(cpu_ticks "$PROXY_PID")
                        read -r q p n _ <<<"$(run_sb "$test" "$threads" "$BENCH_TIME" "${PROXIED[@]}") - - -"
                        t1=$(cpu_ticks "$PROXY_PID")
                        qp1=$(questions "$S0_PRIMARY_PORT")
                        qr1=$(questions "$S0_REPLICA_PORT")
                        ms_primary=$((ms_primary + qp1 - qp0))
                        ms_replica=$((ms_replica + qr1 - qr0))
                        [[ $n =~ ^[0-9]+$ ]] && ms_queries=$((ms_queries + n))
                        mticks=$((mticks + t1 - t0))
                        round_ms="$q $((t1 - t0)) $n"
                        mq=$(fadd "$mq" "$q")
                        mp=$(fadd "$mp" "$p")
                        mn=$(fadd "$mn" "$n")
                        ;;
                    esac
                done
                # this round's myshard/HAProxy qps and CPU-per-query ratios
                spread+=" $(awk -v h="$round_hap" -v m="$round_ms" 'BEGIN {
                    split(h, a, " "); split(m, b, " ")
                    if (a[1] > 0 && a[2] > 0 && a[3] > 0 && b[3] > 0)
                        printf "%.2f:%.2f", b[1] / a[1], (b[2] / b[3]) / (a[2] / a[3])
                    else
                        printf "-"
                }')"
            done
            spreads+=("${spread# }")
            # the rounds' mean qps and p95; CPU ticks and queries summed
            dq=$(fdiv "$dq" "$BENCH_ROUNDS")
            dp=$(fdiv "$dp" "$BENCH_ROUNDS")
            hq=$(fdiv "$hq" "$BENCH_ROUNDS")
            hp=$(fdiv "$hp" "$BENCH_ROUNDS")
            mq=$(fdiv "$mq" "$BENCH_ROUNDS")
            mp=$(fdiv "$mp" "$BENCH_ROUNDS")
            results+=("$test $mode $threads $dq $hq $mq $dp $hp $mp $mticks $mn $hticks $hn")
        done
    done
done
PS_MODE=

admin_sql "SET BACKEND '127.0.0.1:$S0_REPLICA_PORT' ONLINE" >/dev/null ||
    die "cannot set the s0 replica ONLINE again"
REPLICA_OFFLINE=0

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

# Reads by replication position under writes: the same myshard config with
# only backend.consistency (or the replica's weight) changed, one process
# per mode so each /metrics counts its own rows.
consist=()
# metrics PORT: GET /metrics on a myshard's admin.http (bash's /dev/tcp).
metrics() {
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 0
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"
    cat <&"$fd"
    exec {fd}<&-
}
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_CONSIST:-1} -eq 1 ]]; then
    CONSIST_MIX=(--point_selects=9 --simple_ranges=0 --sum_ranges=0 --order_ranges=0
        --distinct_ranges=0 --index_updates=1 --non_index_updates=0 --delete_inserts=0
        --skip_trx=on)
    for mode in primary session causal; do
        read -r C_PORT C_ADMIN C_HTTP <<<"$(free_ports 3)"
        weight=1 consistency=$mode
        if [[ $mode == primary ]]; then
            weight=0 consistency=session
        fi
        cat >"$DIR/myshard-consist.yaml" <<EOF
# written by tools/bench.sh: consistency $mode
listen: 127.0.0.1:$C_PORT
workers: $BENCH_WORKERS
admin:
  listen: 127.0.0.1:$C_ADMIN
  http: 127.0.0.1:$C_HTTP
  user: admin
  password: $ADMIN_PASSWORD
users:
  - { name: app, password: app, schemas: [shop] }
backend:
  user: myshard
  password: secret
  pool:
    max_connections: 200
  consistency: $consistency
shards:
  - name: s0
    primary: 127.0.0.1:$S0_PRIMARY_PORT
    replicas:
      - { addr: 127.0.0.1:$S0_REPLICA_PORT, weight: $weight }
schemas:
  - name: shop
    default_shard: s0
EOF
        build/myshard -c "$DIR/myshard-consist.yaml" "${MS_EXTRA[@]}" \
            >"$DIR/myshard-consist-$mode.log" 2>&1 &
        C_PID=$!
        if wait_port "$C_PORT" 10 "$C_PID"; then
            sleep 2 # the monitor's first look at the replica
            for threads in ${BENCH_CONSIST_THREADS:-1 16}; do
                msg "oltp_read_write (9 point selects, 1 update), $threads threads: myshard, $mode"
                before=$(metrics "$C_HTTP")
                read -r cq cp _ <<<"$(run_sb oltp_read_write "$threads" "$BENCH_TIME" \
                    --db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$C_PORT" \
                    --mysql-user=app --mysql-password=app --mysql-db=shop \
                    "${CONSIST_MIX[@]}") - - -"
                after=$(metrics "$C_HTTP")
                # reads the replica served / all reads, over this run
                share=$(printf '%s\n--\n%s\n' "$before" "$after" | awk '
                    /^--$/ { part = 1; next }
                    /^myshard_queries_total\{/ && /kind="select"/ {
                        v = (part ? 1 : -1) * $NF
                        all += v
                        if ($0 ~ /role="replica"/) rep += v
                    }
                    END { printf "%.1f", (all > 0 ? 100 * rep / all : 0) }')
                waits=$(awk '/^myshard_gtid_waits_total\{/ && /result="caught_up"/ { w += $NF }
                    /^myshard_gtid_waits_total\{/ && /result="timeout"/ { t += $NF }
                    END { printf "%d/%d", w, t }' <<<"$after")
                consist+=("$mode $threads $cq $cp $share $waits")
            done
        else
            msg "the consistency myshard did not start (see $DIR/myshard-consist-$mode.log)"
        fi
        kill "$C_PID" 2>/dev/null || true
        wait "$C_PID" 2>/dev/null || true
    done
fi

# Positional multi-row INSERTs: sysbench's bulk_insert (each thread fills
# its own table with `INSERT INTO sbtestN VALUES (1,1),(2,2),...`, about
# 512 KB a statement; one row is one sysbench event) straight to the s0 primary, then through myshard into
# the same tables sharded by id over s0 and s1, where every statement is
# split per shard by the key's position. Empty tables before each run.
bulk=()
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_BULK:-1} -eq 1 ]]; then
    bulk_sql() { # PORT SQL
        mariadb --no-defaults -h127.0.0.1 -P"$1" -umyshard -psecret -N -B -e "$2"
    }
    # run_bulk THREADS TARGET... -> rows/s, or "error"
    run_bulk() {
        local threads=$1 out
        shift
        for port in "$S0_PRIMARY_PORT" "$S1_PRIMARY_PORT"; do
            for i in $(seq 1 "$BULK_TABLES"); do
                bulk_sql "$port" "TRUNCATE TABLE shopbulk.sbtest$i" || return 1
            done
        done
        if ! out=$(sysbench bulk_insert "$@" --threads="$threads" --time="$BENCH_TIME" \
            --report-interval=0 run 2>&1); then
            printf '%s\n' "$out" | tail -n 5 >&2
            echo error
            return
        fi
        awk '/^ *transactions:/ { x = $3; gsub(/[(]/, "", x); print x }' <<<"$out"
    }
    msg "preparing shopbulk ($BULK_TABLES tables) on both primaries"
    for port in "$S0_PRIMARY_PORT" "$S1_PRIMARY_PORT"; do
        bulk_sql "$port" 'CREATE DATABASE IF NOT EXISTS shopbulk' || die "cannot create shopbulk"
        sysbench bulk_insert --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
            --mysql-user=myshard --mysql-password=secret --mysql-db=shopbulk \
            --threads="$BULK_TABLES" prepare >/dev/null || die "sysbench prepare (shopbulk) failed"
    done
    # created after myshard started: its first positional INSERT into each
    # has the columns read again (a table missing at the last read)
    for threads in $BENCH_BULK_THREADS; do
        msg "bulk_insert (positional multi-row INSERTs), $threads threads: direct vs myshard (split over s0, s1)"
        dq=$(run_bulk "$threads" --db-driver=mysql --mysql-host=127.0.0.1 \
            "--mysql-port=$S0_PRIMARY_PORT" --mysql-user=myshard --mysql-password=secret \
            --mysql-db=shopbulk) || dq=error
        t0=$(cpu_ticks "$PROXY_PID")
        mq=$(run_bulk "$threads" --db-driver=mysql --mysql-host=127.0.0.1 \
            "--mysql-port=$PROXY_PORT" --mysql-user=app --mysql-password=app \
            --mysql-db=shopbulk) || mq=error
        t1=$(cpu_ticks "$PROXY_PID")
        r0=0 r1=0
        for i in $(seq 1 "$threads"); do
            r0=$((r0 + $(bulk_sql "$S0_PRIMARY_PORT" "SELECT COUNT(*) FROM shopbulk.sbtest$i" || echo 0)))
            r1=$((r1 + $(bulk_sql "$S1_PRIMARY_PORT" "SELECT COUNT(*) FROM shopbulk.sbtest$i" || echo 0)))
        done
        bulk+=("$threads ${dq:-error} ${mq:-error} $((t1 - t0)) $r0 $r1")
    done
fi

# Cached point selects: one myshard per row kind (without, then with
# cluster.redis), the same cache policy, reads on the s0 primary only.
cache=()
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_CACHE:-1} -eq 1 ]]; then
    REDIS_PID=
    read -r CACHE_REDIS <<<"$(free_ports 1)"
    if command -v redis-server >/dev/null 2>&1; then
        redis-server --port "$CACHE_REDIS" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$DIR" >"$DIR/redis.log" 2>&1 &
        REDIS_PID=$!
        wait_port "$CACHE_REDIS" 10 "$REDIS_PID" || REDIS_PID=
    fi
    [[ -n $REDIS_PID ]] || msg "no redis-server: the cluster.redis row is skipped"
    # lg_run PORT USER PASSWORD: "qps all_queries" of build/loadgen's
    # point selects (LG_CLIENTS connections, one thread)
    LG_CLIENTS=${BENCH_CACHE_LOADGEN_CLIENTS:-16}
    lg_run() {
        build/loadgen -h 127.0.0.1 -P "$1" -u "$2" -p "$3" -D shop -c "$LG_CLIENTS" \
            -t "$BENCH_TIME" -T "$BENCH_TABLES" -s "$BENCH_TABLE_SIZE" 2>/dev/null |
            awk '/^run / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                           print v["qps"], v["all_queries"]; found = 1 }
                 END { if (!found) print "- -" }'
    }
    lg_dq=-
    LG_AT=${BENCH_CACHE_THREADS:-16}
    LG_AT=${LG_AT%% *} # the loadgen rows run next to the first thread count's
    if [[ -x build/loadgen ]]; then
        msg "point selects, build/loadgen with $LG_CLIENTS connections: direct"
        read -r lg_dq _ <<<"$(lg_run "$S0_PRIMARY_PORT" myshard secret)"
    fi
    for threads in ${BENCH_CACHE_THREADS:-16}; do
        msg "oltp_point_select, $threads threads, cached: direct"
        read -r dq _ <<<"$(PS_MODE=disable run_sb oltp_point_select "$threads" "$BENCH_TIME" \
            "${DIRECT[@]}") - -"
        for kind in local redis; do
            [[ $kind == local || -n $REDIS_PID ]] || continue
            read -r K_PORT K_ADMIN K_HTTP <<<"$(free_ports 3)"
            cluster_keys=
            if [[ $kind == redis ]]; then
                cluster_keys="cluster: { redis: 127.0.0.1:$CACHE_REDIS, name: bench }"
            fi
            cat >"$DIR/myshard-cache.yaml" <<EOF
# written by tools/bench.sh: cached point selects ($kind)
listen: 127.0.0.1:$K_PORT
workers: $BENCH_WORKERS
admin:
  listen: 127.0.0.1:$K_ADMIN
  http: 127.0.0.1:$K_HTTP
$cluster_keys
users:
  - { name: app, password: app, schemas: [shop] }
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
policies:
  - match: "SELECT c FROM sbtest"
    cache: { ttl: 60s }
EOF
            build/myshard -c "$DIR/myshard-cache.yaml" "${MS_EXTRA[@]}" \
                >"$DIR/myshard-cache-$kind.log" 2>&1 &
            K_PID=$!
            if wait_port "$K_PORT" 10 "$K_PID"; then
                K_ARGS=(--db-driver=mysql --mysql-host=127.0.0.1 "--mysql-port=$K_PORT"
                    --mysql-user=app --mysql-password=app --mysql-db=shop)
                msg "oltp_point_select, $threads threads, cached: through myshard ($kind)"
                # a first pass fills the cache, so the measured run reads from it
                PS_MODE=disable run_sb oltp_point_select "$threads" 3 "${K_ARGS[@]}" >/dev/null
                h0=$(metrics "$K_HTTP" | awk '/^myshard_cache_hits_total / { print $2 }')
                t0=$(cpu_ticks "$K_PID")
                read -r kq _ kn _ <<<"$(PS_MODE=disable run_sb oltp_point_select "$threads" \
                    "$BENCH_TIME" "${K_ARGS[@]}") - - -"
                t1=$(cpu_ticks "$K_PID")
                h1=$(metrics "$K_HTTP" | awk '/^myshard_cache_hits_total / { print $2 }')
                cache+=("sysbench $threads $kind $dq $kq $((t1 - t0)) $kn $((${h1:-0} - ${h0:-0}))")
                if [[ -x build/loadgen && $threads == "$LG_AT" ]]; then
                    # the same point selects from a client light enough
                    # not to be the limit: one thread, non-blocking
                    msg "point selects, build/loadgen with $LG_CLIENTS connections, cached: through myshard ($kind)"
                    h0=$(metrics "$K_HTTP" | awk '/^myshard_cache_hits_total / { print $2 }')
                    t0=$(cpu_ticks "$K_PID")
                    read -r lq ln <<<"$(lg_run "$K_PORT" app app)"
                    t1=$(cpu_ticks "$K_PID")
                    h1=$(metrics "$K_HTTP" | awk '/^myshard_cache_hits_total / { print $2 }')
                    cache+=("loadgen $LG_CLIENTS $kind $lg_dq $lq $((t1 - t0)) $ln $((${h1:-0} - ${h0:-0}))")
                fi
            else
                msg "the cache myshard ($kind) did not start (see $DIR/myshard-cache-$kind.log)"
            fi
            kill "$K_PID" 2>/dev/null || true
            wait "$K_PID" 2>/dev/null || true
        done
    done
    if [[ -n $REDIS_PID ]]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
fi

# Many active clients over a small pool: a myshard of its own (a pool of
# BENCH_MANY_POOL), loaded by build/loadgen; how long statements waited for
# a connection comes from its /metrics around each run.
many=()
MANY_POOL=${BENCH_MANY_POOL:-60}
if [[ $OWN_CLUSTER -eq 1 && ${BENCH_MANY:-1} -eq 1 && -x build/loadgen ]]; then
    read -r MANY_PORT MANY_ADMIN MANY_HTTP <<<"$(free_ports 3)"
    cat >"$DIR/myshard-many.yaml" <<EOF
# written by tools/bench.sh: many active clients over a small pool
listen: 127.0.0.1:$MANY_PORT
workers: $BENCH_WORKERS
slow_query_time: 60s
admin:
  listen: 127.0.0.1:$MANY_ADMIN
  http: 127.0.0.1:$MANY_HTTP
users:
  - { name: app, password: app, schemas: [shop], max_connections: 50000 }
backend:
  user: myshard
  password: secret
  pool:
    max_connections: $MANY_POOL
    wait_timeout: 30s
shards:
  - name: s0
    primary: 127.0.0.1:$S0_PRIMARY_PORT
schemas:
  - name: shop
    default_shard: s0
EOF
    build/myshard -c "$DIR/myshard-many.yaml" "${MS_EXTRA[@]}" >"$DIR/myshard-many.log" 2>&1 &
    MANY_PID=$!
    # pool_waits: "count le1 le5 le10 le50 le100 le500 le1000" (ms) summed
    # over the backends, from /metrics
    pool_waits() {
        metrics "$MANY_HTTP" | awk '
            /^myshard_pool_wait_seconds_bucket/ {
                match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
                b[le] += $NF }
            /^myshard_pool_wait_seconds_count/ { n += $NF }
            END { printf "%d %d %d %d %d %d %d %d\n", n, b["0.001"], b["0.005"],
                  b["0.01"], b["0.05"], b["0.1"], b["0.5"], b["1"] }'
    }
    if wait_port "$MANY_PORT" 10 "$MANY_PID"; then
        for n in ${BENCH_MANY_CLIENTS:-1000 10000}; do
            msg "oltp_point_select, $n active clients over a pool of $MANY_POOL, through myshard (build/loadgen)"
            w0=$(pool_waits)
            t0=$(cpu_ticks "$MANY_PID")
            out=$(build/loadgen -h 127.0.0.1 -P "$MANY_PORT" -u app -p app -D shop \
                -c "$n" -t "$BENCH_TIME" -T "$BENCH_TABLES" -s "$BENCH_TABLE_SIZE" 2>&1) || true
            rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MANY_PID/status")
            t1=$(cpu_ticks "$MANY_PID")
            w1=$(pool_waits)
            res=$(awk '/^(connect|run) / {
                    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1 "_" kv[1]] = kv[2] } }
                END { printf "%s %s %s %s %s %s %s", v["connect_connected"], v["connect_seconds"],
                      v["run_qps"], v["run_p50_ms"], v["run_p95_ms"], v["run_p99_ms"],
                      v["run_errors"] }' <<<"$out")
            many+=("$n $rss $((t1 - t0)) $res $w0 $w1")
        done
    else
        msg "the many-clients myshard did not start (see $DIR/myshard-many.log)"
    fi
    kill "$MANY_PID" 2>/dev/null || true
    wait "$MANY_PID" 2>/dev/null || true
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
fmt='%-17s %-8s %3s %9s %9s %9s %7s %7s %7s %7s %7s %8s %8s %6s\n'
# shellcheck disable=SC2059  # one format for the header and the rows
printf "$fmt" '' '' '' direct haproxy myshard 'ms/' 'ms/' direct haproxy myshard myshard haproxy cpu
# shellcheck disable=SC2059
printf "$fmt" test mode thr qps qps qps direct haproxy 'p95 ms' 'p95 ms' 'p95 ms' 'us/q' 'us/q' ratio
verdicts=()
for i in "${!results[@]}"; do
    read -r test mode threads dq hq mq dp hp mp mt mn ht hn _ <<<"${results[$i]}"
    line=$(awk -v fmt="$fmt" -v t="$test" -v m="$mode" -v th="$threads" \
        -v dq="$dq" -v hq="$hq" -v mq="$mq" -v dp="$dp" -v hp="$hp" -v mp="$mp" \
        -v mt="$mt" -v mn="$mn" -v ht="$ht" -v hn="$hn" -v hz="$CLK_TCK" '
    function num(x) { return x ~ /^[0-9.]+$/ }
    function q(x) { return num(x) ? sprintf("%.0f", x) : x }
    function r(a, b) { return (num(a) && num(b) && b > 0) ? sprintf("%.2f", a / b) : "-" }
    function us(ticks, n) { return (num(n) && n > 0) ? sprintf("%.1f", ticks / hz * 1e6 / n) : "-" }
    BEGIN {
        mus = us(mt, mn); hus = us(ht, hn); cr = r(mus, hus); qr = r(mq, hq)
        printf fmt, t, m, th, q(dq), q(hq), q(mq), r(mq, dq), qr, dp, hp, mp, mus, hus, cr
        if (qr == "-" || cr == "-")
            verdict = "no (a run gave no figure)"
        else
            verdict = (qr + 0 >= 0.95 && cr + 0 <= 1.10) ? "yes" : "no"
        printf "%-17s %-8s %3s  myshard ≥ 0.95× HAProxy qps and ≤ 1.10× its CPU/query: %s\n", \
            t, m, th, verdict
    }')
    head -n 1 <<<"$line"
    verdicts+=("$(tail -n 1 <<<"$line")")
    # with several rounds, how far single rounds strayed from the mean
    if ((BENCH_ROUNDS > 1)); then
        verdicts+=("$(awk -v t="$test" -v m="$mode" -v th="$threads" -v s="${spreads[$i]}" 'BEGIN {
            n = split(s, r, " "); k = 0
            for (j = 1; j <= n; j++) {
                if (split(r[j], x, ":") != 2) continue
                if (!k || x[1] < q0) q0 = x[1]; if (!k || x[1] > q1) q1 = x[1]
                if (!k || x[2] < c0) c0 = x[2]; if (!k || x[2] > c1) c1 = x[2]
                k++
            }
            if (k)
                printf "%-17s %-8s %3s    rounds (%d): qps ratio %.2f-%.2f, CPU ratio %.2f-%.2f\n", t, m, th, k, q0, q1, c0, c1
        }')")
    fi
done
printf '\n'
printf '%s\n' "${verdicts[@]}"
printf '\nmyshard'"'"'s runs above: the s0 primary received %d statements, the s0 replica %d, for %d sysbench queries\n' \
    "$ms_primary" "$ms_replica" "$ms_queries"
printf 'the direct and HAProxy runs went to the s0 primary (127.0.0.1:%s); HAProxy nbthread %s, myshard workers %s\n' \
    "$S0_PRIMARY_PORT" "$BENCH_HAPROXY_THREADS" \
    "$([[ $OWN_PROXY -eq 1 ]] && echo "$BENCH_WORKERS" || echo "(the sandbox's)")"
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
if [[ ${#cache[@]} -gt 0 ]]; then
    printf '\n%-24s %-9s %7s %11s %11s %8s %14s %6s\n' 'test (cached)' client threads \
        'direct qps' 'myshard qps' '/direct' 'myshard us/q' hits
    for row in "${cache[@]}"; do
        read -r client threads kind dq kq kt kn kh _ <<<"$row"
        awk -v cl="$client" -v th="$threads" -v k="$kind" -v dq="$dq" -v kq="$kq" -v kt="$kt" \
            -v kn="$kn" -v kh="$kh" -v hz="$CLK_TCK" '
        function num(x) { return x ~ /^[0-9.]+$/ }
        BEGIN {
            label = k == "redis" ? "point_select +redis" : "point_select"
            ratio = (num(dq) && num(kq) && dq > 0) ? sprintf("%.2f", kq / dq) : "-"
            us = (num(kn) && kn > 0) ? sprintf("%.1f", kt / hz * 1e6 / kn) : "-"
            hits = (num(kn) && kn > 0) ? sprintf("%.0f%%", 100 * kh / kn) : "-"
            printf "%-24s %-9s %7s %11s %11s %8s %14s %6s\n", label, cl, th,
                num(dq) ? sprintf("%.0f", dq) : dq, num(kq) ? sprintf("%.0f", kq) : kq,
                ratio, us, hits
        }'
    done
    printf 'cached: policy match "SELECT c FROM sbtest", cache ttl 60s, text mode; +redis: with cluster.redis (a private redis-server)\n'
    printf 'client: sysbench oltp_point_select (threads: its threads, one connection each), or build/loadgen (the same statements from one thread over threads non-blocking connections; the direct run is loadgen too)\n'
fi
if [[ ${#consist[@]} -gt 0 ]]; then
    printf '\n%-22s %-15s %7s %9s %7s %14s %12s\n' 'test (10% writes)' consistency threads \
        qps 'p95 ms' 'replica reads' 'waits ok/to'
    for row in "${consist[@]}"; do
        read -r mode threads cq cp share waits _ <<<"$row"
        awk -v m="$mode" -v th="$threads" -v cq="$cq" -v cp="$cp" -v sh="$share" -v w="$waits" '
        function num(x) { return x ~ /^[0-9.]+$/ }
        BEGIN {
            label = m == "primary" ? "(replica off)" : m
            printf "%-22s %-15s %7s %9s %7s %13s%% %12s\n", "point_select+update", label, th,
                num(cq) ? sprintf("%.0f", cq) : cq, cp, sh, w
        }'
    done
    printf 'waits: MASTER_GTID_WAITs before reads (caught up / timed out), over the whole mode\n'
fi
if [[ ${#bulk[@]} -gt 0 ]]; then
    printf '\n%-24s %7s %14s %15s %6s %10s %17s\n' 'test (positional INSERT)' threads \
        'direct rows/s' 'myshard rows/s' ratio 'cpu us/row' 'rows on s0 / s1'
    for row in "${bulk[@]}"; do
        read -r threads dq mq ticks r0 r1 _ <<<"$row"
        awk -v th="$threads" -v dq="$dq" -v mq="$mq" -v ticks="$ticks" -v r0="$r0" \
            -v r1="$r1" -v hz="$CLK_TCK" '
        function num(x) { return x ~ /^[0-9.]+$/ }
        BEGIN {
            ratio = (num(dq) && num(mq) && dq > 0) ? sprintf("%.2f", mq / dq) : "-"
            n = r0 + r1
            us = n > 0 ? sprintf("%.2f", ticks / hz * 1e6 / n) : "-"
            printf "%-24s %7s %14s %15s %6s %10s %17s\n", "bulk_insert split 2", th,
                num(dq) ? sprintf("%.0f", dq) : dq, num(mq) ? sprintf("%.0f", mq) : mq,
                ratio, us, r0 " / " r1
        }'
    done
fi
if [[ ${#many[@]} -gt 0 ]]; then
    printf '\n%-24s %15s %9s %8s %7s %7s %7s %8s %8s %6s\n' "test (pool $MANY_POOL)" clients \
        'connect s' qps 'p50 ms' 'p95 ms' 'p99 ms' 'RSS MiB' 'cpu us/q' errors
    for row in "${many[@]}"; do
        read -r n rss ticks conn csec qps p50 p95 p99 errs \
            c0 a0 b0 d0 e0 f0 g0 h0 c1 a1 b1 d1 e1 f1 g1 h1 <<<"$row"
        awk -v n="$n" -v conn="$conn" -v csec="$csec" -v qps="$qps" -v p50="$p50" \
            -v p95="$p95" -v p99="$p99" -v rss="$rss" -v ticks="$ticks" -v hz="$CLK_TCK" \
            -v t="$BENCH_TIME" -v errs="$errs" 'BEGIN {
            us = qps > 0 ? sprintf("%.1f", ticks / hz * 1e6 / (qps * (t + 1))) : "-"
            printf "%-24s %15s %9s %8s %7s %7s %7s %8.1f %8s %6s\n", "point_select (loadgen)",
                conn "/" n, csec, qps, p50, p95, p99, rss / 1024, us, errs }'
        awk -v c="$((c1 - c0))" -v a="$((a1 - a0))" -v b="$((b1 - b0))" \
            -v d="$((d1 - d0))" -v e="$((e1 - e0))" -v f="$((f1 - f0))" -v g="$((g1 - g0))" \
            -v h="$((h1 - h0))" '
            function pct(x) { return c > 0 ? sprintf("%.0f%%", 100 * x / c) : "-" }
            BEGIN { printf "  %d statements queued for a connection; waited <=1 ms %s, <=5 ms %s, <=10 ms %s, <=50 ms %s, <=100 ms %s, <=500 ms %s, <=1 s %s, longer %s\n",
                c, pct(a), pct(b - a), pct(d - b), pct(e - d), pct(f - e), pct(g - f), pct(h - g), pct(c - h) }'
    done
    printf 'loadgen: one thread, non-blocking Connector/C; cpu us/q is myshard'"'"'s CPU from the first login to the end, over the measured queries (logins and a settling second included)\n'
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
