#!/usr/bin/env bash
# tools/lib.sh - helpers shared by tools/test.sh, tools/sandbox.sh,
# tools/bench.sh and .ci/run. Source it; it defines functions and variables
# only and changes no shell option of the caller.
#
#   MYSHARD_ROOT        absolute path of the repository root
#   MYSHARD_PY          the Python that has pymysql (/usr/bin/python3)
#   MYSHARD_DEB_PACKAGES  the Debian packages the tools need
#   ensure_packages     install whichever of them is missing (no-op if none)
#   install_packages    apt-get update + install all of them (CI)
#   free_ports N        print N distinct free loopback TCP ports
#   wait_port P T [PID] wait up to T s until 127.0.0.1:P accepts connections
#   pid_alive PID       the process runs (zombies count as ended)
#   stop_pid PID T      SIGTERM, SIGKILL after T s
#   detach CMD...       start CMD in its own session; pid in DETACHED_PID
#   native_password_hash PW   "*" + upper(hex(sha1(sha1(PW))))
#   build_dir DIR ARGS...     meson setup (or reconfigure) + ninja
#   MYSHARD_TEST_MESON_ARGS   meson options of the test build (ASan + UBSan)
#   render_template IN OUT    copy IN to OUT with each @NAME@ replaced by $NAME
#   The test rig (tools/cluster.sh, tools/test.sh --keep, meson's
#   integration tests; see "test rig" below): rig_dir, rig_export,
#   rig_write_configs, rig_write_env, rig_proxy_pid, rig_servers_up

# shellcheck disable=SC2034  # variables are used by the sourcing scripts
MYSHARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MYSHARD_PY=/usr/bin/python3

MYSHARD_DEB_PACKAGES=(
    build-essential meson ninja-build pkg-config
    libevent-dev libyaml-dev libssl-dev libmariadb-dev check openssl
    mariadb-server mariadb-client mariadb-test sysbench python3-pymysql haproxy
    python3-prometheus-client clang-format
    clang libclang-rt-dev
    libmariadb-java default-jdk-headless golang-go
    golang-github-go-sql-driver-mysql-dev php-cli php-mysql libdbi-perl
    libdbd-mariadb-perl python3-mysqldb nodejs ruby ruby-mysql2
    chromium python3-websocket fonts-dejavu-core prometheus python3-yaml
    debhelper dpkg-dev fakeroot lintian systemd adduser
    libhiredis-dev redis-server liburing-dev
)
# npm for tests/drivers (node's mysql2 and mariadb), unless node brings its own
command -v npm >/dev/null 2>&1 || MYSHARD_DEB_PACKAGES+=(npm)

msg() {
    printf '==> %s\n' "$*" >&2
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Print the packages of MYSHARD_DEB_PACKAGES that are not installed.
missing_packages() {
    local p status
    for p in "${MYSHARD_DEB_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        if [[ "$status" != "install ok installed" ]]; then
            printf '%s\n' "$p"
        fi
    done
}

# apt-get with retries (mirrors hiccup) and without starting any service
# (mariadb-server's postinst would otherwise start a system server on 3306).
_apt() {
    local tries=0 created_policy=0 rc=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    while :; do
        rc=0
        DEBIAN_FRONTEND=noninteractive apt-get -y \
            -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold "$@" || rc=$?
        tries=$((tries + 1))
        if [[ $rc -eq 0 || $tries -ge 3 ]]; then
            break
        fi
        warn "apt-get $* failed (exit $rc), retrying in 5 s"
        sleep 5
    done
    if [[ $created_policy -eq 1 ]]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    return "$rc"
}

# apt-get update, then install every package (used by .ci/run).
install_packages() {
    _apt update
    _apt install "${MYSHARD_DEB_PACKAGES[@]}"
}

# Install only what is missing; does nothing (and needs no network) when all
# packages are present.
ensure_packages() {
    local missing
    missing="$(missing_packages | tr '\n' ' ')"
    if [[ -z "$missing" ]]; then
        return 0
    fi
    # shellcheck disable=SC2086  # one package name per word
    msg "installing missing packages:" $missing
    if [[ $EUID -ne 0 ]]; then
        die "missing Debian packages (run as root, or: sudo apt-get install $missing)"
    fi
    _apt update
    # shellcheck disable=SC2086
    _apt install $missing
}

# free_ports N: print N distinct TCP ports that are free on 127.0.0.1, outside
# the kernel's ephemeral range (so outgoing connections cannot take them
# later) and away from the well-known MySQL/myshard ports.
free_ports() {
    "$MYSHARD_PY" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
try:
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except OSError:
    lo, hi = 32768, 60999
avoid = {3306, 3307, 3316, 3317, 6032, 6033, 6080}
cands = [p for p in range(15000, 65000) if not lo <= p <= hi and p not in avoid]
if len(cands) < 1000:
    cands = [p for p in range(15000, 65000) if p not in avoid]
rng = random.SystemRandom()
rng.shuffle(cands)
out, held = [], []
for p in cands:
    if len(out) == n:
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    held.append(s)
    out.append(p)
if len(out) < n:
    sys.exit("no free ports")
print(" ".join(map(str, out)))
EOF
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PID: the process runs (a zombie, which kill -0 still finds until
# its parent reaps it, counts as ended).
pid_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# wait_port PORT TIMEOUT_S [PID]: wait until 127.0.0.1:PORT accepts a
# connection. Fails at the timeout, or at once when PID (if given) exits.
wait_port() {
    local port=$1 timeout=$2 pid=${3:-} deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if port_open "$port"; then
            return 0
        fi
        if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
            return 1
        fi
        sleep 0.1
    done
    port_open "$port"
}

# native_password_hash PW: the mysql_native_password hash of PW, as
# myshard.yaml's password_hash takes it.
native_password_hash() {
    "$MYSHARD_PY" -c '
import hashlib, sys
pw = sys.argv[1].encode()
print("*" + hashlib.sha1(hashlib.sha1(pw).digest()).hexdigest().upper())
' "$1"
}

# detach CMD ARGS...: run CMD in the background in a session of its own, so
# that it outlives the caller and a Ctrl-C at the caller's terminal does not
# reach it; its pid is left in DETACHED_PID. Redirect the call's output as
# needed. (setsid(1) forks when the caller runs with job control, and $!
# would then not be CMD's pid.)
detach() {
    "$MYSHARD_PY" -c '
import os, sys
try:
    os.setsid()
except OSError:
    pass
os.execvp(sys.argv[1], sys.argv[1:])
' "$@" &
    DETACHED_PID=$!
    disown "$DETACHED_PID" 2>/dev/null || true
}

# stop_pid PID TIMEOUT_S: SIGTERM, wait, then SIGKILL. Returns 0 when the
# process ended within the timeout, 1 when it had to be killed.
stop_pid() {
    local pid=$1 timeout=$2 deadline
    kill -TERM "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + timeout))
    while pid_alive "$pid"; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    return 0
}

# build_dir DIR MESON_ARGS...: configure DIR (reconfigure when it exists,
# wipe it when reconfiguring fails) and build it with ninja. Keeps going past
# failing targets so everything that can be built is.
build_dir() {
    local dir=$1
    shift
    (
        cd "$MYSHARD_ROOT" || exit 1
        if [[ -f "$dir/build.ninja" ]]; then
            meson setup --reconfigure "$dir" "$@" ||
                meson setup --wipe "$dir" "$@" || exit 1
        else
            rm -rf "$dir"
            meson setup "$dir" "$@" || exit 1
        fi
        ninja -C "$dir" -k 0
    )
}

# Meson options of the test build (build-test): debug, ASan + UBSan, no
# link-time optimization (it only slows the link of a debug build).
# shellcheck disable=SC2054  # the commas belong to one option
MYSHARD_TEST_MESON_ARGS=(-Db_sanitize=address,undefined -Db_lundef=false
    --buildtype=debug -Db_lto=false)

# render_template IN OUT: write IN to OUT with every @NAME@ (NAME in
# [A-Z0-9_]) replaced by the value of the variable NAME. Fails, writing
# nothing, when the template names a variable that is unset.
render_template() {
    local in=$1 out=$2 text name
    local -a names
    text=$(<"$in") || return 1
    mapfile -t names < <(grep -oE '@[A-Z][A-Z0-9_]*@' "$in" | tr -d @ | sort -u)
    for name in "${names[@]}"; do
        if [[ -z ${!name+set} ]]; then
            printf 'error: %s names @%s@, but %s is not set\n' "$in" "$name" "$name" >&2
            return 1
        fi
        text=${text//@$name@/${!name}}
    done
    printf '%s\n' "$text" >"$out.tmp" && mv "$out.tmp" "$out"
}

# ---------------------------------------------------------------- test rig
#
# The rig is the MariaDB cluster of tests/integration/mariadb_env.sh plus
# the shared myshard the integration programs talk to, in one directory:
# the cluster's files, myshard.yaml and myshard-replicas.yaml (made from
# tests/integration/myshard-test.yaml.in), myshard.log, and rig.env, the
# `export` lines of every variable the programs read. tools/test.sh makes
# one in a temporary directory for each run; tools/cluster.sh and
# tools/test.sh --keep keep one up in rig_dir between runs.

# The variables of rig.env besides the cluster's own (cluster.env).
MYSHARD_RIG_VARS=(MYSHARD_HOST MYSHARD_PORT MYSHARD_ADMIN_PORT MYSHARD_HTTP_PORT
    MYSHARD_USER MYSHARD_PASSWORD MYSHARD_DB MYSHARD_USER2 MYSHARD_PASSWORD2
    MYSHARD_ADMIN_USER MYSHARD_ADMIN_PASSWORD MYSHARD_BIN MYSHARD_CONFIG
    MYSHARD_LOG MYSHARD_PID MYSHARD_TEST_DIR MYSHARD_EXPECT_PROXY
    MYSHARD_TEST_TIMEOUT_S MYSHARD_HANDSHAKE_TIMEOUT_S MYSHARD_SRC MARIADB_ENV
    BACKEND_USER BACKEND_PASSWORD REPLICA_PROXY_PORT REPLICA_ADMIN_PORT
    REPLICA_HTTP_PORT)

# rig_dir: the kept rig's directory.
rig_dir() {
    printf '%s\n' "${MYSHARD_CLUSTER_DIR:-/tmp/myshard-cluster}"
}

# rig_export DIR BIN: export the programs' variables for the cluster in DIR
# (whose cluster.env must be loaded) and the myshard binary BIN. The ports
# of DIR/rig.env are kept when it exists, so that a developer's shell that
# sourced it stays right; otherwise free ones are taken.
rig_export() {
    local dir=$1 bin=$2 old_ports=
    if [[ -f $dir/rig.env ]]; then
        old_ports=$(
            # shellcheck disable=SC1091
            . "$dir/rig.env" 2>/dev/null &&
                printf '%s ' "${MYSHARD_PORT:-}" "${MYSHARD_ADMIN_PORT:-}" \
                    "${MYSHARD_HTTP_PORT:-}" "${REPLICA_PROXY_PORT:-}" \
                    "${REPLICA_ADMIN_PORT:-}" "${REPLICA_HTTP_PORT:-}"
        )
        [[ $old_ports =~ ^([0-9]+\ ){6}$ ]] || old_ports=
    fi
    [[ -n $old_ports ]] || old_ports=$(free_ports 6) || return 1
    read -r MYSHARD_PORT MYSHARD_ADMIN_PORT MYSHARD_HTTP_PORT \
        REPLICA_PROXY_PORT REPLICA_ADMIN_PORT REPLICA_HTTP_PORT <<<"$old_ports"
    export MYSHARD_PORT MYSHARD_ADMIN_PORT MYSHARD_HTTP_PORT
    export REPLICA_PROXY_PORT REPLICA_ADMIN_PORT REPLICA_HTTP_PORT
    export MYSHARD_HOST=127.0.0.1
    export MYSHARD_USER=app MYSHARD_PASSWORD=app MYSHARD_DB=shop
    export MYSHARD_USER2=app2 MYSHARD_PASSWORD2=secret2
    export MYSHARD_ADMIN_USER=admin MYSHARD_ADMIN_PASSWORD=rig-admin
    export MYSHARD_BIN=$bin MYSHARD_CONFIG=$dir/myshard.yaml
    export MYSHARD_LOG=$dir/myshard.log MYSHARD_TEST_DIR=$dir
    export MYSHARD_EXPECT_PROXY=1
    export MYSHARD_TEST_TIMEOUT_S=${MYSHARD_TEST_TIMEOUT_S:-600}
    export MYSHARD_HANDSHAKE_TIMEOUT_S=2
    export MYSHARD_SRC=$MYSHARD_ROOT
    export MARIADB_ENV=$MYSHARD_ROOT/tests/integration/mariadb_env.sh
    export BACKEND_USER=myshard BACKEND_PASSWORD=secret
    export MYSHARD_PID=${MYSHARD_PID:-}
}

# rig_write_configs DIR: DIR/myshard.yaml (the shared myshard) and
# DIR/myshard-replicas.yaml (the same on the REPLICA_* ports, replicas
# reading: itest_replicas) from the committed template.
rig_write_configs() {
    local dir=$1 tpl=$MYSHARD_ROOT/tests/integration/myshard-test.yaml.in
    local APP2_PASSWORD_HASH REPLICA_WEIGHT
    APP2_PASSWORD_HASH=$(native_password_hash "$MYSHARD_PASSWORD2") || return 1
    REPLICA_WEIGHT=0
    render_template "$tpl" "$dir/myshard.yaml" || return 1
    REPLICA_WEIGHT=1 MYSHARD_PORT=$REPLICA_PROXY_PORT \
        MYSHARD_ADMIN_PORT=$REPLICA_ADMIN_PORT MYSHARD_HTTP_PORT=$REPLICA_HTTP_PORT \
        render_template "$tpl" "$dir/myshard-replicas.yaml"
}

# rig_write_env DIR: DIR/rig.env, the cluster's variables and the programs'.
rig_write_env() {
    local dir=$1 name
    {
        printf '# the test rig in %s (tools/cluster.sh); source it\n' "$dir"
        cat "$dir/cluster.env" || return 1
        for name in "${MYSHARD_RIG_VARS[@]}"; do
            printf 'export %s=%q\n' "$name" "${!name-}"
        done
    } >"$dir/rig.env.tmp" && mv "$dir/rig.env.tmp" "$dir/rig.env"
}

# rig_proxy_pid DIR: print the pid of the rig's shared myshard when it runs
# (a process whose command line is `myshard -c DIR/myshard.yaml`).
rig_proxy_pid() {
    local dir=$1 pid
    pid=$(sed -n 's/^export MYSHARD_PID=//p' "$dir/rig.env" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$dir/myshard.yaml" ||
        return 1
    printf '%s\n' "$pid"
}

# rig_servers_up DIR: every MariaDB server of DIR answers (s0 and s1, and
# the spare s2 when the rig has it).
rig_servers_up() {
    local dir=$1 out
    [[ -f $dir/cluster.env ]] || return 1
    out=$("$MYSHARD_ROOT/tests/integration/mariadb_env.sh" status "$dir" 2>/dev/null) || return 1
    [[ $(grep -c ' up$' <<<"$out") -ge 4 ]] && ! grep -qv ' up$' <<<"$out"
}
