#!/usr/bin/env bash
# tools/relaytrial.sh - the io_uring trial of the README ("io_uring on the
# client side: a trial"): sysbench through build-rel/relaytrial with its
# epoll engine, with its io_uring engine, and through myshard (one worker),
# all to the same server (the s0 primary), alternating in that order, then
# in the reverse order, round after round, so that drift on a shared
# machine falls on every target alike.
#
# Each run prints qps and the CPU time per query of the relaying process
# (utime + stime from /proc, its threads included). The summary gives, per
# row, the ratios uring/epoll and myshard/epoll of qps and of CPU per query,
# as the median of the rounds with their range. Last, system calls per query
# of each target over a short run at the highest thread count
# (perf stat -e raw_syscalls:sys_enter, strace -c -f if perf cannot count).
#
# Usage: tools/relaytrial.sh       (builds build-rel/, starts a private
#                                   cluster in a temp dir, removes it)
# Environment:
#   TRIAL_ROUNDS=3  TRIAL_TIME=20  TRIAL_THREADS="16 64"
#   TRIAL_TESTS="oltp_point_select oltp_read_only"  TRIAL_SYSCALL_TIME=5
#   TRIAL_RELAY_ARGS   extra relaytrial options of the uring engine
#                      (e.g. --recv oneshot)
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

ROUNDS=${TRIAL_ROUNDS:-3}
TIME=${TRIAL_TIME:-20}
THREADS=${TRIAL_THREADS:-16 64}
TESTS=${TRIAL_TESTS:-oltp_point_select oltp_read_only}
SC_TIME=${TRIAL_SYSCALL_TIME:-5}
read -r -a RELAY_EXTRA <<<"${TRIAL_RELAY_ARGS:-}"
TARGETS=(epoll uring myshard)

build_dir build-rel --buildtype=release -Dtests=false >/dev/null ||
    die "the build failed (run: ninja -C build-rel)"
[[ -x build-rel/relaytrial ]] ||
    die "build-rel/relaytrial was not built: install liburing-dev and build again"

DIR=$(mktemp -d /tmp/relaytrial.XXXXXX)
declare -A PID=() PORT=()
cleanup() {
    local t
    for t in "${!PID[@]}"; do stop_pid "${PID[$t]}" 5 || true; done
    tests/integration/mariadb_env.sh stop "$DIR" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

msg "starting the MariaDB cluster in $DIR"
MARIADB_MAX_CONNECTIONS=600 tests/integration/mariadb_env.sh start "$DIR" >/dev/null ||
    die "the MariaDB cluster did not start"
eval "$(tests/integration/mariadb_env.sh env "$DIR")"
read -r "PORT[epoll]" "PORT[uring]" "PORT[myshard]" ADMIN_PORT <<<"$(free_ports 4)"

# myshard with the s0 primary alone: every statement goes where the relays
# send theirs.
cat >"$DIR/myshard.yaml" <<EOF
listen: 127.0.0.1:${PORT[myshard]}
workers: 1
admin: { listen: 127.0.0.1:$ADMIN_PORT, user: admin, password: trial-admin }
users:
  - { name: myshard, password: secret, schemas: [shop], max_connections: 1000 }
backend:
  user: myshard
  password: secret
  pool: { max_connections: 200 }
shards:
  - { name: s0, primary: 127.0.0.1:$S0_PRIMARY_PORT }
schemas:
  - { name: shop, default_shard: s0 }
EOF
build-rel/myshard -c "$DIR/myshard.yaml" --log-level warn >"$DIR/myshard.log" 2>&1 &
PID[myshard]=$!
for e in epoll uring; do
    extra=()
    [[ $e == uring ]] && extra=("${RELAY_EXTRA[@]}")
    build-rel/relaytrial --engine "$e" --listen "${PORT[$e]}" \
        --backend "127.0.0.1:$S0_PRIMARY_PORT" "${extra[@]}" 2>"$DIR/relay-$e.log" &
    PID[$e]=$!
done
for t in "${TARGETS[@]}"; do
    wait_port "${PORT[$t]}" 10 "${PID[$t]}" || die "$t did not start (see $DIR)"
done

SB=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=myshard --mysql-password=secret
    --mysql-db=shop --tables=4 --table-size=10000 --db-ps-mode=disable)
sysbench oltp_read_only "${SB[@]}" "--mysql-port=$S0_PRIMARY_PORT" --threads=4 prepare \
    >/dev/null || die "sysbench prepare failed"

cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}
CLK_TCK=$(getconf CLK_TCK)

# run TEST THREADS TARGET SECONDS -> "qps cpu_us_per_query"
run() {
    local out c0 c1 q
    c0=$(cpu_ticks "${PID[$3]}")
    out=$(sysbench "$1" "${SB[@]}" "--mysql-port=${PORT[$3]}" --threads="$2" \
        --time="$4" --report-interval=0 run 2>&1) || {
        printf '%s\n' "$out" | tail -n 5 >&2
        die "sysbench $1 through $3 failed"
    }
    c1=$(cpu_ticks "${PID[$3]}")
    q=$(awk '/^ *queries:/ { print $2; exit }' <<<"$out")
    awk -v q="$q" -v t="$4" -v d=$((c1 - c0)) -v hz="$CLK_TCK" \
        'BEGIN { printf "%.0f %.2f\n", q / t, d / hz * 1e6 / q }'
}

RES=$DIR/results
: >"$RES"
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${TARGETS[@]}")
    ((r % 2 == 0)) && order=(myshard uring epoll)
    for test in $TESTS; do
        for th in $THREADS; do
            for t in "${order[@]}"; do
                read -r qps cpu <<<"$(run "$test" "$th" "$t" "$TIME")"
                printf '%d %s %s %s %s %s\n' "$r" "$test" "$th" "$t" "$qps" "$cpu" | tee -a "$RES"
            done
        done
    done
done

echo
echo "per row: qps and CPU us/query (median of $ROUNDS rounds); ratios to epoll of the"
echo "same round: median [min-max]"
awk '
function med(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function stat(key, label,   n, i, a, lo, hi) {
    n = cnt[key]; lo = 1e18; hi = -1
    for (i = 1; i <= n; i++) { a[i] = v[key, i]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
    return sprintf("%s %.2f [%.2f-%.2f]", label, med(a, n), lo, hi)
}
{ q[$1, $2, $3, $4] = $5; c[$1, $2, $3, $4] = $6; rows[$2 " " $3] = 1; R = $1 > R ? $1 : R }
END {
    for (row in rows) {
        split(row, k, " ")
        for (r = 1; r <= R; r++) {
            e = k[1] SUBSEP k[2] SUBSEP "epoll"
            if (!((r, k[1], k[2], "epoll") in q)) continue
            split("epoll uring myshard", T, " ")
            for (i = 1; i <= 3; i++) {
                x = T[i]
                v[row, x, "q", ++cnt[row, x, "q"]] = q[r, k[1], k[2], x]
                v[row, x, "c", ++cnt[row, x, "c"]] = c[r, k[1], k[2], x]
                if (i > 1) {
                    v[row, x, "rq", ++cnt[row, x, "rq"]] = q[r, k[1], k[2], x] / q[r, k[1], k[2], "epoll"]
                    v[row, x, "rc", ++cnt[row, x, "rc"]] = c[r, k[1], k[2], x] / c[r, k[1], k[2], "epoll"]
                }
            }
        }
        printf "%s %s threads:\n", k[1], k[2]
        for (i = 1; i <= 3; i++) {
            x = T[i]
            printf "  %-8s %s  %s", x, stat(row SUBSEP x SUBSEP "q", "qps"), stat(row SUBSEP x SUBSEP "c", "cpu_us/q")
            if (i > 1)
                printf "  | vs epoll: %s  %s", stat(row SUBSEP x SUBSEP "rq", "qps"), stat(row SUBSEP x SUBSEP "rc", "cpu/q")
            printf "\n"
        }
    }
}' "$RES" | sed 's/\.00 \[/ [/g'

# System calls per query: a short run per target at the highest thread count.
th=${THREADS##* }
echo
echo "system calls per query (oltp_point_select, $th threads, ${SC_TIME}s):"
for t in "${TARGETS[@]}"; do
    if perf stat -x, -e raw_syscalls:sys_enter -p "${PID[$t]}" -o "$DIR/perf-$t" &
    then
        ppid=$!
        sleep 0.3
        out=$(sysbench oltp_point_select "${SB[@]}" "--mysql-port=${PORT[$t]}" --threads="$th" \
            --time="$SC_TIME" --report-interval=0 run 2>&1)
        kill -INT "$ppid" 2>/dev/null || true
        wait "$ppid" || true
        q=$(awk '/^ *queries:/ { print $2; exit }' <<<"$out")
        n=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$DIR/perf-$t")
        if [[ $n =~ ^[0-9]+$ ]]; then
            awk -v n="$n" -v q="$q" -v t="$t" \
                'BEGIN { printf "  %-8s %.2f (%d calls, %d queries)\n", t, n / q, n, q }'
            continue
        fi
    fi
    echo "  $t: perf could not count system calls"
done
for e in epoll uring; do
    stop_pid "${PID[$e]}" 5 || true
    unset "PID[$e]"
    sed 's/^/  /' "$DIR/relay-$e.log"
done
