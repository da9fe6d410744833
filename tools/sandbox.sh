#!/usr/bin/env bash
# tools/sandbox.sh - a local myshard to play with: installs what is missing,
# builds the release build, starts a MariaDB sandbox (two shards, each a
# primary with a replicating replica, on 127.0.0.1:3306/3316 and 3307/3317,
# and a spare pair s2 on 3308/3318 that no config names yet: the shard to
# add with RELOAD CONFIG) and myshard in front of it with conf/sandbox.yaml,
# loads a small demo schema and prints the command to connect.
#
# Usage: tools/sandbox.sh [start|stop|status|restart|reset]
#   start    (default) start whatever is not running; keeps earlier data
#   stop     stop myshard and the MariaDB servers (data is kept)
#   status   what runs, where
#   restart  stop, then start (e.g. after a rebuild)
#   reset    stop and delete the sandbox's data
#
# Environment:
#   MYSHARD_SANDBOX_DIR  where data, sockets and logs live (/tmp/myshard-sandbox)
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

SANDBOX=${MYSHARD_SANDBOX_DIR:-/tmp/myshard-sandbox}
CONFIG=conf/sandbox.yaml
BIN=build/myshard
PORTS="3306 3316 3307 3317 3308 3318"
SERVERS=(s0-primary s0-replica s1-primary s1-replica s2-primary s2-replica)
MENV=tests/integration/mariadb_env.sh
CLIENT=(mariadb --no-defaults -h127.0.0.1 -P6033 -uapp -papp shop)

proxy_pid() {
    local pid
    [[ -f $SANDBOX/myshard.pid ]] || return 1
    pid=$(<"$SANDBOX/myshard.pid")
    [[ -n $pid ]] && pid_alive "$pid" || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -q myshard || return 1
    printf '%s\n' "$pid"
}

cluster_up_count() {
    [[ -d $SANDBOX ]] || {
        echo 0
        return
    }
    "$MENV" status "$SANDBOX" | grep -c ' up$' || true
}

start_cluster() {
    local name up
    up=$(cluster_up_count)
    if [[ $up -eq ${#SERVERS[@]} ]]; then
        msg "MariaDB sandbox already running in $SANDBOX"
        return
    fi
    if [[ -f $SANDBOX/cluster.env && -d $SANDBOX/s0-primary ]]; then
        msg "starting the MariaDB sandbox in $SANDBOX (existing data)"
        for name in "${SERVERS[@]}"; do
            if [[ ! -f $SANDBOX/$name.args ]]; then
                # a sandbox made before the spare pair existed
                [[ $name != s2-primary ]] ||
                    warn "this sandbox has no spare shard s2; './tools/sandbox.sh reset' makes one"
                continue
            fi
            "$MENV" up "$SANDBOX" "$name" || die "cannot start $name (log: $SANDBOX/$name.err); './tools/sandbox.sh reset' starts afresh"
        done
    else
        msg "starting the MariaDB sandbox in $SANDBOX (ports $PORTS)"
        MARIADB_PORTS=$PORTS "$MENV" start "$SANDBOX" ||
            die "the MariaDB sandbox did not start"
    fi
}

start_proxy() {
    local port pid
    if pid=$(proxy_pid); then
        msg "myshard already running (pid $pid); './tools/sandbox.sh restart' restarts it"
        return
    fi
    for port in 6033 6032 6080; do
        if port_open "$port"; then
            ss -ltnp "sport = :$port" >&2 || true
            die "port $port is in use by another program; myshard needs it ($CONFIG)"
        fi
    done
    [[ -x $BIN ]] || die "$BIN was not built"
    msg "starting myshard ($BIN -c $CONFIG), log: $SANDBOX/myshard.log"
    detach "$MYSHARD_ROOT/$BIN" -c "$CONFIG" </dev/null >>"$SANDBOX/myshard.log" 2>&1
    printf '%s\n' "$DETACHED_PID" >"$SANDBOX/myshard.pid"
    if ! wait_port 6033 10 "$DETACHED_PID"; then
        tail -n 30 "$SANDBOX/myshard.log" >&2
        if pid_alive "$DETACHED_PID"; then
            stop_pid "$DETACHED_PID" 5 || true
        fi
        rm -f "$SANDBOX/myshard.pid"
        die "myshard did not start listening on 127.0.0.1:6033 (log above)"
    fi
}

stop_proxy() {
    local pid
    if pid=$(proxy_pid); then
        msg "stopping myshard (pid $pid)"
        stop_pid "$pid" 15 || warn "myshard did not stop within 15 s; killed"
    fi
    rm -f "$SANDBOX/myshard.pid"
}

# The demo schema, loaded through the proxy. demo_products is unlisted, so
# it lives on the default shard s0; orders is sharded by user_id over s0 and
# s1, countries is a global table (a copy on every shard).
load_demo() {
    msg "loading the demo schema through myshard"
    if ! "${CLIENT[@]}" 2>&1 <<'EOF'; then
CREATE TABLE IF NOT EXISTS demo_products (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  category VARCHAR(32) NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  stock INT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO demo_products (id, name, category, price, stock) VALUES
  (1, 'Espresso beans 1kg', 'coffee', 24.90, 120),
  (2, 'Filter coffee 500g', 'coffee', 9.50, 300),
  (3, 'Decaf beans 250g', 'coffee', 7.20, 80),
  (4, 'Green tea 100g', 'tea', 6.40, 150),
  (5, 'Earl grey 100g', 'tea', 5.90, 210),
  (6, 'Rooibos 100g', 'tea', 5.20, 95),
  (7, 'Moka pot 6 cups', 'gear', 34.00, 40),
  (8, 'Pour-over dripper', 'gear', 22.50, 60),
  (9, 'Paper filters x100', 'gear', 4.30, 500),
  (10, 'Burr grinder', 'gear', 89.00, 25),
  (11, 'Milk frother', 'gear', 29.90, 35),
  (12, 'Kettle gooseneck', 'gear', 49.00, 30),
  (13, 'Ceramic mug', 'cups', 12.00, 200),
  (14, 'Double-wall glass', 'cups', 15.50, 140),
  (15, 'Travel tumbler', 'cups', 19.90, 90),
  (16, 'Espresso cups x2', 'cups', 16.00, 75),
  (17, 'Dark chocolate 70%', 'snacks', 3.80, 400),
  (18, 'Almond biscotti', 'snacks', 4.90, 250),
  (19, 'Oat cookies', 'snacks', 3.20, 320),
  (20, 'Gift card 25', 'gift', 25.00, 1000);
EOF
        die "loading demo_products through myshard failed"
    fi
    # The sharded part needs the routing of sharded and global tables; the
    # sandbox stays usable without it.
    if ! out=$("${CLIENT[@]}" 2>&1 <<'EOF'
CREATE TABLE IF NOT EXISTS orders (
  id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  product_id INT NOT NULL,
  qty INT NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO orders (id, user_id, product_id, qty) VALUES
  (1, 1, 1, 2), (2, 1, 9, 1), (3, 2, 4, 3), (4, 3, 7, 1), (5, 4, 13, 4),
  (6, 5, 2, 1), (7, 6, 17, 10), (8, 7, 10, 1), (9, 8, 5, 2), (10, 9, 20, 1),
  (11, 10, 8, 1), (12, 10, 9, 2);
CREATE TABLE IF NOT EXISTS countries (
  code CHAR(2) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO countries (code, name) VALUES
  ('DE', 'Germany'), ('FR', 'France'), ('JP', 'Japan'), ('US', 'United States');
EOF
    ); then
        warn "the sharded demo tables (orders, countries) were not loaded:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return
    fi
    placement
}

# Where the sharded demo rows landed, read on the shard primaries directly
# (the proxy is not its own witness): slots 0-511 belong to s0, 512-1023 to
# s1 (conf/sandbox.yaml, rule user_hash).
placement() {
    local shard port cond row n wrong misplaced=0
    for shard in s0 s1; do
        if [[ $shard == s0 ]]; then
            port=3306 cond='>= 512'
        else
            port=3307 cond='< 512'
        fi
        if row=$(mariadb --no-defaults -h127.0.0.1 -P"$port" -umyshard -psecret -N -B \
            -e "SELECT COUNT(*), COALESCE(SUM(CRC32(user_id) % 1024 $cond), 0) FROM shop.orders" 2>/dev/null); then
            read -r n wrong <<<"$row"
            printf '    %s (127.0.0.1:%s) holds %s of the demo orders\n' "$shard" "$port" "$n"
            misplaced=$((misplaced + wrong))
        else
            printf '    %s (127.0.0.1:%s) has no orders table\n' "$shard" "$port"
            misplaced=$((misplaced + 1))
        fi
    done
    if [[ $misplaced -gt 0 ]]; then
        warn "the demo orders are not placed by their shard key (CRC32(user_id) % 1024)" \
            "on the shards: this build of myshard does not route sharded tables yet;" \
            "'./tools/sandbox.sh reset' and start again once it does"
    fi
}

status() {
    local pid
    if [[ ! -d $SANDBOX ]]; then
        echo "no sandbox in $SANDBOX"
        return
    fi
    echo "sandbox: $SANDBOX"
    "$MENV" status "$SANDBOX"
    if pid=$(proxy_pid); then
        printf '%-11s port %-5s pid %-7s %s\n' myshard 6033 "$pid" up
    else
        printf '%-11s port %-5s pid %-7s %s\n' myshard 6033 - down
    fi
}

do_start() {
    ensure_packages
    msg "building the release build (build/)"
    build_dir build --buildtype=release || die "the build failed"
    mkdir -p "$SANDBOX"
    start_cluster
    start_proxy
    load_demo
    cat <<EOF

myshard sandbox is running (data, sockets and logs in $SANDBOX).

  connect:   mysql -h127.0.0.1 -P6033 -uapp -papp shop
  console:   mysql -h127.0.0.1 -P6032 -uadmin -psandbox     (SHOW HELP)
  status:    ./tools/sandbox.sh status
  stop:      ./tools/sandbox.sh stop

  spare shard s2 (in no config yet): primary 127.0.0.1:3308, replica
  127.0.0.1:3318. To add it, append to shards: in $CONFIG
      - name: s2
        primary: 127.0.0.1:3308
        replicas:
          - { addr: 127.0.0.1:3318 }
  then RELOAD CONFIG on the console (README: "Adding a shard").

EOF
}

do_stop() {
    [[ -d $SANDBOX ]] || return 0
    stop_proxy
    msg "stopping the MariaDB sandbox"
    "$MENV" stop "$SANDBOX"
}

case ${1:-start} in
start) do_start ;;
stop) do_stop ;;
status) status ;;
restart)
    do_stop
    do_start
    ;;
reset)
    do_stop
    msg "deleting $SANDBOX"
    rm -rf "$SANDBOX"
    ;;
-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" ;;
*)
    echo "usage: tools/sandbox.sh [start|stop|status|restart|reset]" >&2
    exit 2
    ;;
esac
