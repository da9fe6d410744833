#!/usr/bin/env bash
# tests/integration/mysqltest.sh - MariaDB's own test cases through myshard.
# Each case of tests/integration/mysqltest.list (cases of Debian's
# mariadb-test package under /usr/share/mysql/mysql-test, and myshard's own
# under tests/integration/mysqltest/) runs with mariadb-test (mysqltest)
# twice per protocol mode: straight to the s0 primary, then through a
# myshard of its own whose schema `test` lives on s0 (unsharded, with the
# sh_* tables sharded over s0 and s1). The direct run's output is the
# reference: the run through myshard must print exactly the same, byte for
# byte. Modes: text (COM_QUERY), ps (--ps-protocol: prepared statements)
# and cursor (--cursor-protocol: prepared statements read through
# server-side cursors); the list gives each case its modes.
#
# The database `test` is dropped and created again on both primaries before
# every run. `connect (name,localhost,root,,...)` in a case names the
# server's root; both runs connect as the backend user instead (the line is
# rewritten in a copy of the case), so a case runs the same either way.
#
# Usage: mysqltest.sh [CASE_REGEX]   (default: every case of the list)
# Environment: the rig's (tools/test.sh): MYSHARD_BIN MYSHARD_TEST_DIR
# S0_PRIMARY_PORT S1_PRIMARY_PORT BACKEND_USER BACKEND_PASSWORD;
# MYSHARD_MTR_MODES (e.g. "text ps") runs only those modes, MYSHARD_MTR_LIST
# another list. Prints TAP, one
# line per case and mode; files (outputs, diffs, the myshard's log) in
# MYSHARD_TEST_DIR/mysqltest.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../../tools/lib.sh
. "$HERE/../../tools/lib.sh"

for v in MYSHARD_BIN MYSHARD_TEST_DIR S0_PRIMARY_PORT S1_PRIMARY_PORT \
    BACKEND_USER BACKEND_PASSWORD; do
    if [[ -z ${!v:-} ]]; then
        printf 'Bail out! %s is not set (run it through tools/test.sh or meson test with a rig up)\n' "$v"
        exit 1
    fi
done

MTR_BIN=$(command -v mariadb-test || command -v mysqltest || true)
SUITE_DIR=/usr/share/mysql/mysql-test
LIST=${MYSHARD_MTR_LIST:-$HERE/mysqltest.list}
OWN_DIR=$HERE/mysqltest
CASE_RE=${1:-}
ONLY_MODES=${MYSHARD_MTR_MODES:-}
D=$MYSHARD_TEST_DIR/mysqltest
PROXY_PID=
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

finish() {
    printf '1..%d\n' "$NTAP"
    [[ $NFAIL -eq 0 ]]
}

# The server setting mysql-test-run gives the cases that only a global
# takes (binary logging is on here), changed on both primaries for the run
# and restored however it ends (undo_globals).
GLOBALS="log_bin_trust_function_creators=1"
SAVED_GLOBALS=()

set_globals() {
    local p old
    for p in "$S0_PRIMARY_PORT" "$S1_PRIMARY_PORT"; do
        old=$(sql "$p" "SELECT CONCAT('log_bin_trust_function_creators=', \
            @@global.log_bin_trust_function_creators)") || return 1
        SAVED_GLOBALS+=("$p:$old")
        sql "$p" "SET GLOBAL $GLOBALS" || return 1
    done
}

undo_globals() {
    local e
    for e in "${SAVED_GLOBALS[@]}"; do
        sql "${e%%:*}" "SET GLOBAL ${e#*:}" ||
            warn "could not restore ${e#*:} on 127.0.0.1:${e%%:*}"
    done
    SAVED_GLOBALS=()
}

# The primaries' global variables (but the GTID positions, which every
# write moves), to catch a case that changes one: a direct run executes
# whatever SET GLOBAL a case holds, and the rig's other programs would
# run against the changed servers.
GLOBALS_Q="SELECT VARIABLE_NAME, IFNULL(GLOBAL_VALUE, 'NULL') FROM
  information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME NOT LIKE 'GTID%'
  ORDER BY VARIABLE_NAME"

snapshot_globals() { # snapshot_globals SUFFIX
    sql "$S0_PRIMARY_PORT" "$GLOBALS_Q" >"$D/globals.s0.$1" &&
        sql "$S1_PRIMARY_PORT" "$GLOBALS_Q" >"$D/globals.s1.$1"
}

# check_globals WHO: after a run, every global as before it; what a case
# changed is named and set back.
check_globals() {
    local who=$1 sh port name value changed=
    snapshot_globals now || return 0
    for sh in s0 s1; do
        [[ $sh == s0 ]] && port=$S0_PRIMARY_PORT || port=$S1_PRIMARY_PORT
        while IFS=$'\t' read -r name value; do
            changed+="$sh.$name "
            if [[ $value =~ ^-?[0-9]+$ ]]; then
                sql "$port" "SET GLOBAL $name = $value" >/dev/null 2>&1 || true
            else
                value=${value//"'"/"''"}
                sql "$port" "SET GLOBAL $name = '$value'" >/dev/null 2>&1 || true
            fi
        done < <(diff "$D/globals.$sh.start" "$D/globals.$sh.now" | sed -n 's/^< //p')
    done
    if [[ -n $changed ]]; then
        fail "$who changed the servers' global variables (${changed% }): set back; leave the case out"
        return 1
    fi
}

cleanup() {
    undo_globals
    if [[ -n $PROXY_PID ]]; then
        stop_pid "$PROXY_PID" 10 || true
        wait "$PROXY_PID" 2>/dev/null || true
        PROXY_PID=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sql PORT SQL: run SQL on a primary as the backend user.
sql() {
    mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$1" \
        -u"$BACKEND_USER" -p"$BACKEND_PASSWORD" --connect-timeout=5 \
        --batch --skip-column-names -e "$2"
}

# A fresh, empty `test` on both primaries (sharded cases write to both),
# in mysql-test-run's default character set.
reset_db() {
    local p
    for p in "$S0_PRIMARY_PORT" "$S1_PRIMARY_PORT"; do
        sql "$p" 'DROP DATABASE IF EXISTS test; CREATE DATABASE test CHARACTER SET latin1' || return 1
    done
}

# The myshard the cases run through: schema `test` on s0, its sh_* tables
# sharded; no replicas, so every read sees the case's own writes.
start_proxy() {
    local port aport hport
    read -r port aport hport <<<"$(free_ports 3)" || return 1
    PROXY_PORT=$port
    cat >"$D/myshard.yaml" <<EOF
listen: 127.0.0.1:$port
workers: 2
shutdown_timeout: 5s
admin:
  listen: 127.0.0.1:$aport
  http: 127.0.0.1:$hport
  user: admin
  password: mtr-admin
users:
  - name: $BACKEND_USER
    password: $BACKEND_PASSWORD
    schemas: [test]
backend:
  user: $BACKEND_USER
  password: $BACKEND_PASSWORD
  connect_timeout: 2s
  pool:
    max_connections: 20
shards:
  - name: s0
    primary: 127.0.0.1:$S0_PRIMARY_PORT
  - name: s1
    primary: 127.0.0.1:$S1_PRIMARY_PORT
sharding_rules:
  id_mod: { type: mod, shards: [s0, s1] }
  name_hash: { type: hash, shards: [s0, s1], slots: 1024 }
schemas:
  - name: test
    default_shard: s0
    tables:
      - { name: sh_orders, key: id, rule: id_mod }
      - { name: sh_names, key: name, rule: name_hash }
EOF
    : >"$D/myshard.log"
    "$MYSHARD_BIN" -c "$D/myshard.yaml" >>"$D/myshard.log" 2>&1 &
    PROXY_PID=$!
    if ! wait_port "$port" 10 "$PROXY_PID"; then
        tail -n 20 "$D/myshard.log"
        return 1
    fi
}

# case_file CASE: the .test file of a list entry (main/null, myshard/NAME).
case_file() {
    case $1 in
    myshard/*) printf '%s/%s.test\n' "$OWN_DIR" "${1#myshard/}" ;;
    *) printf '%s/%s.test\n' "$SUITE_DIR" "$1" ;;
    esac
}

# run_mtr PORT MODE CASE OUT: one mysqltest run; its output (what the case
# would record as its .result) in OUT, its own messages in OUT.log.
run_mtr() {
    local port=$1 mode=$2 case=$3 out=$4 src copy
    local -a flags=()
    case $mode in
    ps) flags=(--ps-protocol) ;;
    cursor) flags=(--cursor-protocol) ;;
    esac
    src=$(case_file "$case")
    # the copy's directory holds links to the .inc files next to the
    # original, which its relative --source lines name
    copy=$D/cases/$case.test
    mkdir -p "$(dirname "$copy")" || return 1
    find "$(dirname "$src")" -maxdepth 1 -name '*.inc' \
        -exec ln -sf -t "$(dirname "$copy")" {} + || return 1
    # mysql-test-run's default engine, for the session (a global would
    # outlive the run in the pools of the rig's other myshards)
    {
        printf -- '--disable_query_log\nSET SESSION default_storage_engine = MyISAM;\n--enable_query_log\n'
        cat "$src"
    } | sed -E -e "s/^(--)?( *)connect *\\(( *[^,]+), *localhost *, *root *, *[^,)]*/\\1\\2connect (\\3,127.0.0.1,$BACKEND_USER,$BACKEND_PASSWORD/" \
        -e "s/^(--)?( *)change_user +root *, *,/\\1\\2change_user $BACKEND_USER,$BACKEND_PASSWORD,/" \
        >"$copy" || return 1
    (
        cd "$(dirname "$copy")" &&
            MYSQLTEST_VARDIR=$D/var MYSQL_TMP_DIR=$D/tmp \
                timeout -k 5 120 "$MTR_BIN" --no-defaults --silent \
                --host=127.0.0.1 --port="$port" --protocol=tcp \
                --user="$BACKEND_USER" --password="$BACKEND_PASSWORD" \
                --database=test --basedir="$SUITE_DIR/" \
                --tmpdir="$D/tmp" --logdir="$D/log" \
                --test-file="$copy" --result-file="$out" --record \
                "${flags[@]}"
    ) >"$out.log" 2>&1
}

# ------------------------------------------------------------------ main

if [[ -z $MTR_BIN ]]; then
    printf 'Bail out! mariadb-test is not installed (Debian package mariadb-test)\n'
    exit 1
fi
rm -rf "$D"
mkdir -p "$D/tmp" "$D/log" "$D/var" "$D/cases" "$D/out"

# The list: "CASE MODES..." lines; "-CASE REASON" lines are excluded cases.
CASES=()
MODES=()
while read -r name rest; do
    [[ -z $name || $name == \#* || $name == -* ]] && continue
    [[ -z $CASE_RE || $name =~ $CASE_RE ]] || continue
    CASES+=("$name")
    MODES+=("${rest%%#*}")
done <"$LIST"
if [[ ${#CASES[@]} -eq 0 ]]; then
    printf 'Bail out! no case of %s matches "%s"\n' "$LIST" "$CASE_RE"
    exit 1
fi

if ! set_globals; then
    fail "cannot set $GLOBALS on the primaries"
    finish
    exit 1
fi
snapshot_globals start || true
if ! start_proxy; then
    fail "its myshard did not start (log: $D/myshard.log)"
    finish
    exit 1
fi
printf '# %d cases, myshard on 127.0.0.1:%s, s0 primary on %s\n' \
    "${#CASES[@]}" "$PROXY_PORT" "$S0_PRIMARY_PORT"

for i in "${!CASES[@]}"; do
    case=${CASES[$i]}
    if [[ ! -f $(case_file "$case") ]]; then
        fail "$case: no such case ($(case_file "$case"))"
        continue
    fi
    for mode in ${MODES[$i]}; do
        if [[ -n $ONLY_MODES && " $ONLY_MODES " != *" $mode "* ]]; then
            continue
        fi
        out=$D/out/${case//\//_}.$mode
        t0=$SECONDS
        if ! reset_db; then
            fail "$case [$mode]: cannot reset the database test on the primaries"
            continue
        fi
        rc=0
        run_mtr "$S0_PRIMARY_PORT" "$mode" "$case" "$out.direct" || rc=$?
        check_globals "$case [$mode] straight to the server" || continue
        if [[ $rc -ne 0 ]]; then
            sed 's/^/# /' "$out.direct.log" | tail -n 15
            fail "$case [$mode]: fails straight to the server ($out.direct.log): the case does not fit this rig"
            continue
        fi
        if ! reset_db; then
            fail "$case [$mode]: cannot reset the database test on the primaries"
            continue
        fi
        rc=0
        run_mtr "$PROXY_PORT" "$mode" "$case" "$out.myshard" || rc=$?
        check_globals "$case [$mode] through myshard" || continue
        if ! pid_alive "$PROXY_PID"; then
            tail -n 20 "$D/myshard.log" | sed 's/^/# /'
            fail "$case [$mode]: myshard died (log: $D/myshard.log)"
            PROXY_PID=
            start_proxy || break
            continue
        fi
        if [[ $rc -ne 0 ]]; then
            sed 's/^/# /' "$out.myshard.log" | tail -n 15
            diff -u "$out.direct" "$out.myshard" 2>/dev/null | tail -n 20 | sed 's/^/# /'
            fail "$case [$mode]: mysqltest failed through myshard ($out.myshard.log)"
        elif ! diff -u "$out.direct" "$out.myshard" >"$out.diff"; then
            head -n 40 "$out.diff" | sed 's/^/# /'
            fail "$case [$mode]: output through myshard differs from the server's ($out.diff)"
        else
            pass "$case [$mode]: $(wc -l <"$out.direct") lines the same through myshard ($((SECONDS - t0)) s)"
        fi
    done
done

cleanup
if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error' "$D/myshard.log"; then
    grep -nE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error' "$D/myshard.log" | head -n 10 | sed 's/^/# /'
    fail "its myshard's log has sanitizer reports ($D/myshard.log)"
else
    pass "its myshard's log has no sanitizer report"
fi
reset_db >/dev/null 2>&1 || true
sql "$S0_PRIMARY_PORT" 'DROP DATABASE IF EXISTS test' >/dev/null 2>&1 || true
sql "$S1_PRIMARY_PORT" 'DROP DATABASE IF EXISTS test' >/dev/null 2>&1 || true
finish
