#!/usr/bin/env bash
# tests/integration/mariadb_env.sh - the MariaDB test cluster: three pairs
# of a primary and a GTID replica, six real mariadbd servers on loopback.
# s0 and s1 are the shards of the test config; s2 is a spare pair that no
# config names at start (the shard a DBA adds later: RELOAD CONFIG, online
# resharding).
#
# Usage (executed):
#   mariadb_env.sh start  DIR        start the cluster in DIR (created if needed)
#   mariadb_env.sh stop   DIR        stop every server of DIR, leave nothing running
#   mariadb_env.sh env    DIR        print `export` lines for the cluster
#   mariadb_env.sh status DIR        one line per server: name, port, pid, state
#   mariadb_env.sh down   DIR NAME   shut one server down cleanly
#   mariadb_env.sh kill   DIR NAME   SIGKILL one server (a crash)
#   mariadb_env.sh up     DIR NAME   start it again with the same options
#
# Usage (sourced): `. mariadb_env.sh` defines mariadb_env_main; with
# arguments (`. mariadb_env.sh start DIR`) it also runs them, and after start
# or env exports the cluster's variables into the calling shell.
#
# Servers (NAME): s0-primary, s0-replica, s1-primary, s1-replica,
# s2-primary, s2-replica (server ids 1 to 6).
# Each has DIR/NAME (datadir), DIR/NAME.sock, DIR/NAME.err (error log),
# DIR/NAME.pid. DIR/cluster.env holds the exported variables:
#   MARIADB_DIR, S0_PRIMARY_PORT, S0_REPLICA_PORT, S1_PRIMARY_PORT,
#   S1_REPLICA_PORT, S2_PRIMARY_PORT, S2_REPLICA_PORT, and
#   S0_PRIMARY_SOCKET ... S2_REPLICA_SOCKET (S2_* only when s2 runs);
#   MARIADB_TLS_CA, MARIADB_TLS_CERT, MARIADB_TLS_KEY,
#   MARIADB_TLS_CLIENT_CERT, MARIADB_TLS_CLIENT_KEY, MARIADB_TLS_OTHER_CA.
#
# TLS: DIR/tls holds a test CA (ca.pem, ca.key), the servers' certificate
# (server.pem, server.key: SAN IP:127.0.0.1 and DNS:localhost, signed by
# the CA), a client certificate signed by it (client.pem, client.key) and
# an unrelated CA (other-ca.pem) for tests that must fail verification.
# Every server runs with ssl_ca/ssl_cert/ssl_key: clients may use TLS.
#
# On every primary: users repl/repl (REPLICATION SLAVE) and myshard/secret
# (ALL on *.*, mysql_native_password), root through the socket, databases
# shop and app_real (on s2 too: a spare prepared like the others, empty);
# all of it reaches the replicas through replication.
# Replicas run read_only=1, and myshard lacks READ_ONLY ADMIN, so a write
# the proxy sends to a replica fails (error 1290) instead of silently
# breaking GTID replication.
#
# Environment:
#   MARIADB_PORTS="P0 R0 P1 R1 [P2 R2]"  fixed ports (s0 primary, s0
#                                 replica, s1 primary, s1 replica, s2 ...);
#                                 four ports start s0 and s1 only, six all
#                                 three pairs; default: six free ones
#   MARIADB_MAX_CONNECTIONS      max_connections of every server (300)
#   MARIADB_EXTRA_ARGS           extra mariadbd options, space separated
#   MARIADB_START_TIMEOUT        seconds to wait for the cluster (60)

_MARIADB_ENV_NAMES=(s0-primary s0-replica s1-primary s1-replica s2-primary s2-replica)
_MARIADB_ENV_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools" && pwd)/lib.sh"
# shellcheck source=SCRIPTDIR/../../tools/lib.sh
. "$_MARIADB_ENV_LIB"

_me_err() {
    printf 'mariadb_env: %s\n' "$*" >&2
}

# NAME -> S0_PRIMARY etc.
_me_var() {
    local v=${1^^}
    printf '%s' "${v//-/_}"
}

_me_server_id() {
    case $1 in
    s0-primary) echo 1 ;;
    s0-replica) echo 2 ;;
    s1-primary) echo 3 ;;
    s1-replica) echo 4 ;;
    s2-primary) echo 5 ;;
    s2-replica) echo 6 ;;
    *) return 1 ;;
    esac
}

_me_primary_of() {
    printf '%s-primary' "${1%%-*}"
}

_me_is_name() {
    local n
    for n in "${_MARIADB_ENV_NAMES[@]}"; do
        [[ $n == "$1" ]] && return 0
    done
    _me_err "unknown server '$1' (one of: ${_MARIADB_ENV_NAMES[*]})"
    return 1
}

# Client to one server as root through its socket.
_me_sql() {
    local dir=$1 name=$2
    shift 2
    mariadb --no-defaults --user=root --socket="$dir/$name.sock" \
        --connect-timeout=5 --batch --skip-column-names "$@"
}

# The pid of NAME's mariadbd, if it runs (checked against its datadir so a
# recycled pid is never taken for ours).
_me_pid() {
    local dir=$1 name=$2 pid
    [[ -f "$dir/$name.mpid" ]] || return 1
    pid=$(<"$dir/$name.mpid")
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -qxF -- "--datadir=$dir/$name" || return 1
    printf '%s\n' "$pid"
}

_me_tail_logs() {
    local dir=$1 name
    shift
    for name in "$@"; do
        if [[ -f "$dir/$name.err" ]]; then
            printf -- '--- last lines of %s ---\n' "$dir/$name.err" >&2
            tail -n 25 "$dir/$name.err" >&2
        fi
    done
}

# Write DIR/NAME.args: mariadbd's options, one per line.
_me_write_args() {
    local dir=$1 name=$2 port=$3 id extra
    id=$(_me_server_id "$name") || return 1
    {
        printf '%s\n' --no-defaults \
            "--datadir=$dir/$name" \
            "--port=$port" --bind-address=127.0.0.1 \
            "--socket=$dir/$name.sock" \
            "--pid-file=$dir/$name.pid" \
            "--log-error=$dir/$name.err" \
            --skip-name-resolve \
            --max-connect-errors=1000000000 \
            --innodb-buffer-pool-size=32M \
            --innodb-log-file-size=8M \
            --innodb-flush-log-at-trx-commit=2 \
            --innodb-doublewrite=0 \
            --sync-binlog=0 \
            --performance-schema=OFF \
            "--max-connections=${MARIADB_MAX_CONNECTIONS:-300}" \
            "--log-bin=$name-bin" "--relay-log=$name-relay-bin" \
            "--server-id=$id" \
            --gtid-strict-mode=1 --log-slave-updates \
            --binlog-format=ROW \
            --max-allowed-packet=64M \
            --character-set-server=utf8mb4 \
            --collation-server=utf8mb4_general_ci \
            "--ssl-ca=$dir/tls/ca.pem" \
            "--ssl-cert=$dir/tls/server.pem" \
            "--ssl-key=$dir/tls/server.key"
        if [[ $EUID -eq 0 ]]; then
            printf '%s\n' --user=root
        fi
        if [[ $name == *-replica ]]; then
            printf '%s\n' --read-only=1
        fi
        if [[ -n "${MARIADB_EXTRA_ARGS:-}" ]]; then
            for extra in $MARIADB_EXTRA_ARGS; do
                printf '%s\n' "$extra"
            done
        fi
    } >"$dir/$name.args"
}

# Launch NAME's mariadbd in its own session (it outlives the caller).
_me_launch() {
    local dir=$1 name=$2
    local -a args
    mapfile -t args <"$dir/$name.args"
    rm -f "$dir/$name.sock" "$dir/$name.pid"
    detach mariadbd "${args[@]}" </dev/null >>"$dir/$name.err" 2>&1
    printf '%s\n' "$DETACHED_PID" >"$dir/$name.mpid"
}

# Wait until NAME answers through its socket; deadline in $SECONDS units.
_me_wait_alive() {
    local dir=$1 name=$2 deadline=$3
    while ((SECONDS < deadline)); do
        if _me_sql "$dir" "$name" -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        if ! pid_alive "$(<"$dir/$name.mpid")"; then
            _me_err "$name exited during startup (log: $dir/$name.err)"
            return 1
        fi
        sleep 0.1
    done
    _me_err "$name did not accept connections in time (log: $dir/$name.err)"
    return 1
}

# Wait until replica NAME runs both replication threads and has applied
# everything its primary had written when the wait began.
_me_wait_replica() {
    local dir=$1 name=$2 deadline=$3 primary pos status io sql left
    primary=$(_me_primary_of "$name")
    pos=$(_me_sql "$dir" "$primary" -e 'SELECT @@gtid_binlog_pos') || {
        _me_err "cannot read gtid_binlog_pos of $primary"
        return 1
    }
    while :; do
        status=$(_me_sql "$dir" "$name" --column-names -e 'SHOW SLAVE STATUS\G' 2>/dev/null || true)
        io=$(sed -n 's/^ *Slave_IO_Running: //p' <<<"$status")
        sql=$(sed -n 's/^ *Slave_SQL_Running: //p' <<<"$status")
        if [[ $io == Yes && $sql == Yes ]]; then
            break
        fi
        if ((SECONDS >= deadline)); then
            _me_err "replication of $name not running after the timeout" \
                "(Slave_IO_Running=${io:-?} Slave_SQL_Running=${sql:-?})"
            grep -E '^ *(Last_IO_Error|Last_SQL_Error):' <<<"$status" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    left=$((deadline - SECONDS))
    ((left > 0)) || left=1
    if [[ -n "$pos" ]]; then
        if [[ "$(_me_sql "$dir" "$name" -e "SELECT MASTER_GTID_WAIT('$pos', $left)")" != 0 ]]; then
            _me_err "$name did not catch up with $primary ($pos) in time"
            return 1
        fi
    fi
}

# The test PKI (see the header), made with the openssl command line. EC
# keys: quick to generate on a small machine.
_me_make_certs() {
    local t=$1/tls name
    rm -rf "$t" && mkdir -p "$t" || return 1
    (
        set -e
        cd "$t"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        for name in ca other-ca; do
            key "$name.key"
            openssl req -x509 -new -key "$name.key" -out "$name.pem" -days 3650 \
                -subj "/CN=myshard test $name" -addext basicConstraints=critical,CA:TRUE
        done
        sign() { # name CN extensions
            key "$1.key"
            openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2"
            printf '%s\n' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
                -CAcreateserial -out "$1.pem" -days 3650 -extfile "$1.ext"
        }
        sign server localhost "subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth"
        sign client myshard-test-client "basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth"
        chmod 644 ./*.pem ./*.key
    ) >"$1/tls.log" 2>&1 || {
        _me_err "making the test certificates failed:"
        tail -n 20 "$1/tls.log" >&2
        return 1
    }
}

_me_write_env() {
    local dir=$1 name var
    {
        printf 'export MARIADB_DIR=%q\n' "$dir"
        printf 'export MARIADB_TLS_CA=%q\n' "$dir/tls/ca.pem"
        printf 'export MARIADB_TLS_CERT=%q\n' "$dir/tls/server.pem"
        printf 'export MARIADB_TLS_KEY=%q\n' "$dir/tls/server.key"
        printf 'export MARIADB_TLS_CLIENT_CERT=%q\n' "$dir/tls/client.pem"
        printf 'export MARIADB_TLS_CLIENT_KEY=%q\n' "$dir/tls/client.key"
        printf 'export MARIADB_TLS_OTHER_CA=%q\n' "$dir/tls/other-ca.pem"
        for name in "${_MARIADB_ENV_NAMES[@]}"; do
            [[ -f "$dir/$name.args" ]] || continue # s2 not started
            var=$(_me_var "$name")
            printf 'export %s_PORT=%s\n' "$var" "$(_me_port "$dir" "$name")"
            printf 'export %s_SOCKET=%q\n' "$var" "$dir/$name.sock"
        done
    } >"$dir/cluster.env.tmp" && mv "$dir/cluster.env.tmp" "$dir/cluster.env"
}

_me_port() {
    sed -n 's/^--port=//p' "$1/$2.args"
}

_me_running_any() {
    local dir=$1 name
    for name in "${_MARIADB_ENV_NAMES[@]}"; do
        _me_pid "$dir" "$name" >/dev/null && return 0
    done
    return 1
}

_me_start_once() {
    local dir=$1 deadline=$2 i n name primary_port
    local -a ports names
    local installer_args=()

    if [[ -n "${MARIADB_PORTS:-}" ]]; then
        read -r -a ports <<<"$MARIADB_PORTS"
        if [[ ${#ports[@]} -ne 4 && ${#ports[@]} -ne 6 ]]; then
            _me_err "MARIADB_PORTS needs 4 ports (s0 primary, s0 replica, s1 primary, s1 replica) or 6 (then s2 primary, s2 replica)"
            return 1
        fi
        for ((i = 0; i < ${#ports[@]}; i++)); do
            if port_open "${ports[$i]}"; then
                _me_err "port ${ports[$i]} (for ${_MARIADB_ENV_NAMES[$i]}) is already in use:"
                ss -ltnp "sport = :${ports[$i]}" >&2 2>/dev/null || true
                return 1
            fi
        done
    else
        read -r -a ports <<<"$(free_ports 6)"
        if [[ ${#ports[@]} -ne 6 ]]; then
            _me_err "could not find 6 free ports"
            return 1
        fi
    fi
    n=${#ports[@]}
    names=("${_MARIADB_ENV_NAMES[@]:0:n}")
    # a spare left from an earlier start with six ports is not this one's
    for name in "${_MARIADB_ENV_NAMES[@]:n}"; do
        rm -rf "${dir:?}/$name" "$dir/$name".{args,mpid,sock,pid,err}
    done

    _me_make_certs "$dir" || return 1
    # One datadir is initialised, then copied: much faster than one install
    # per server on a small machine.
    rm -rf "$dir/.template"
    if [[ $EUID -eq 0 ]]; then
        installer_args+=(--user=root)
    fi
    if ! mariadb-install-db --no-defaults --datadir="$dir/.template" \
        "${installer_args[@]}" --auth-root-authentication-method=socket \
        --skip-test-db --skip-name-resolve --innodb-log-file-size=8M \
        >"$dir/install.log" 2>&1; then
        _me_err "mariadb-install-db failed:"
        tail -n 30 "$dir/install.log" >&2
        return 1
    fi
    for ((i = 0; i < n; i++)); do
        name=${names[$i]}
        rm -rf "${dir:?}/$name"
        cp -a "$dir/.template" "$dir/$name" || return 1
        : >"$dir/$name.err"
        _me_write_args "$dir" "$name" "${ports[$i]}" || return 1
    done
    rm -rf "$dir/.template"

    for name in "${names[@]}"; do
        _me_launch "$dir" "$name"
    done
    for name in "${names[@]}"; do
        _me_wait_alive "$dir" "$name" "$deadline" || return 1
    done

    for name in "${names[@]}"; do
        [[ $name == *-primary ]] || continue
        if ! _me_sql "$dir" "$name" <<'EOF'; then
CREATE USER 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
CREATE USER 'myshard'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('secret');
GRANT ALL PRIVILEGES ON *.* TO 'myshard'@'%' WITH GRANT OPTION;
REVOKE READ_ONLY ADMIN ON *.* FROM 'myshard'@'%';
CREATE DATABASE shop;
CREATE DATABASE app_real;
EOF
            _me_err "creating users and databases on $name failed"
            return 1
        fi
    done
    for name in "${names[@]}"; do
        [[ $name == *-replica ]] || continue
        primary_port=$(_me_port "$dir" "$(_me_primary_of "$name")")
        if ! _me_sql "$dir" "$name" <<EOF; then
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port,
  MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_CONNECT_RETRY=1,
  MASTER_USE_GTID=slave_pos;
START SLAVE;
EOF
            _me_err "setting up replication on $name failed"
            return 1
        fi
    done
    for name in "${names[@]}"; do
        [[ $name == *-replica ]] || continue
        _me_wait_replica "$dir" "$name" "$deadline" || return 1
    done
    _me_write_env "$dir"
}

_me_start() {
    local dir=$1 timeout=${MARIADB_START_TIMEOUT:-60} attempt=1 deadline
    if [[ ${#dir} -gt 80 ]]; then
        _me_err "DIR is too long for unix socket paths: $dir"
        return 1
    fi
    if _me_running_any "$dir"; then
        _me_err "a cluster is already running in $dir (stop it first)"
        return 1
    fi
    command -v mariadbd >/dev/null || PATH="$PATH:/usr/sbin:/sbin"
    command -v mariadbd >/dev/null || {
        _me_err "mariadbd not found (apt-get install mariadb-server)"
        return 1
    }
    while :; do
        deadline=$((SECONDS + timeout))
        rm -f "$dir/cluster.env"
        if _me_start_once "$dir" "$deadline"; then
            return 0
        fi
        # A port picked as free may have been taken meanwhile by another
        # program; then try again with other ports.
        if [[ -z "${MARIADB_PORTS:-}" && $attempt -lt 3 ]] &&
            grep -qs 'Address already in use' "$dir"/*.err; then
            _me_err "a port was taken meanwhile; retrying with other ports"
            _me_stop "$dir" >/dev/null 2>&1 || true
            attempt=$((attempt + 1))
            continue
        fi
        _me_tail_logs "$dir" "${_MARIADB_ENV_NAMES[@]}"
        _me_stop "$dir" || true
        return 1
    done
}

# Stop the named servers: clean shutdown in parallel, SIGKILL after 30 s.
_me_stop_servers() {
    local dir=$1 name pid deadline rc=0 termed=" "
    shift
    local -a names=("$@") running=()
    for name in "${names[@]}"; do
        if _me_pid "$dir" "$name" >/dev/null; then
            running+=("$name")
            mariadb-admin --no-defaults --user=root --socket="$dir/$name.sock" \
                --connect-timeout=2 --shutdown-timeout=25 shutdown \
                >/dev/null 2>&1 &
        fi
    done
    deadline=$((SECONDS + 30))
    for name in "${running[@]}"; do
        while pid=$(_me_pid "$dir" "$name"); do
            if ((SECONDS >= deadline)); then
                _me_err "$name did not shut down in 30 s; killing pid $pid"
                kill -KILL "$pid" 2>/dev/null || true
                rc=1
                sleep 0.2
                break
            fi
            # mariadb-admin may fail (e.g. server still starting): SIGTERM
            # is the same clean shutdown.
            if [[ $termed != *" $name "* ]] && ((SECONDS >= deadline - 25)); then
                kill -TERM "$pid" 2>/dev/null || true
                termed+=" $name "
            fi
            sleep 0.1
        done
    done
    wait 2>/dev/null || true
    return "$rc"
}

_me_stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    _me_stop_servers "$dir" "${_MARIADB_ENV_NAMES[@]}"
}

_me_status() {
    local dir=$1 name pid state
    for name in "${_MARIADB_ENV_NAMES[@]}"; do
        [[ -f "$dir/$name.args" ]] || continue
        if pid=$(_me_pid "$dir" "$name"); then
            if _me_sql "$dir" "$name" -e 'SELECT 1' >/dev/null 2>&1; then
                state=up
            else
                state=starting
            fi
        else
            pid=-
            state=down
        fi
        printf '%-11s port %-5s pid %-7s %s\n' "$name" "$(_me_port "$dir" "$name")" "$pid" "$state"
    done
}

mariadb_env_main() {
    local cmd=${1:-} dir=${2:-} name=${3:-} pid deadline
    if [[ -z "$cmd" || -z "$dir" ]]; then
        _me_err "usage: mariadb_env.sh start|stop|env|status DIR | down|kill|up DIR NAME"
        return 2
    fi
    if [[ $cmd == start ]]; then
        mkdir -p "$dir" || return 1
    fi
    if [[ -d "$dir" ]]; then
        dir=$(cd "$dir" && pwd) || return 1
    elif [[ $cmd != stop ]]; then
        _me_err "no such directory: $dir"
        return 1
    fi
    case $cmd in
    start)
        _me_start "$dir"
        ;;
    stop)
        _me_stop "$dir"
        ;;
    env)
        if [[ ! -f "$dir/cluster.env" ]]; then
            _me_err "no cluster in $dir (start it first)"
            return 1
        fi
        cat "$dir/cluster.env"
        ;;
    status)
        _me_status "$dir"
        ;;
    down | kill | up)
        _me_is_name "$name" || return 2
        [[ -f "$dir/$name.args" ]] || {
            _me_err "no server $name in $dir"
            return 1
        }
        case $cmd in
        down) _me_stop_servers "$dir" "$name" ;;
        kill)
            if pid=$(_me_pid "$dir" "$name"); then
                kill -KILL "$pid"
                while _me_pid "$dir" "$name" >/dev/null; do sleep 0.05; done
            fi
            ;;
        up)
            if _me_pid "$dir" "$name" >/dev/null; then
                return 0
            fi
            _me_launch "$dir" "$name"
            deadline=$((SECONDS + ${MARIADB_START_TIMEOUT:-60}))
            if ! _me_wait_alive "$dir" "$name" "$deadline"; then
                _me_tail_logs "$dir" "$name"
                return 1
            fi
            if [[ $name == *-replica ]] &&
                _me_pid "$dir" "$(_me_primary_of "$name")" >/dev/null; then
                _me_wait_replica "$dir" "$name" "$deadline" || return 1
            fi
            ;;
        esac
        ;;
    *)
        _me_err "unknown command '$cmd'"
        return 2
        ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    mariadb_env_main "$@"
elif [[ $# -gt 0 ]]; then
    if mariadb_env_main "$@" && [[ $1 == start || $1 == env ]]; then
        eval "$(mariadb_env_main env "$2")"
    else
        false
    fi
fi
