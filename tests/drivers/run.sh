#!/usr/bin/env bash
# tests/drivers/run.sh - the real drivers of every family against the server
# named by the environment: one program per family, each printing TAP.
#
# Usage: tests/drivers/run.sh [DRIVER...]      (default: all of them)
#        tests/drivers/run.sh --list           print the driver names
#   jdbc         MariaDB Connector/J           JdbcTest.java
#   go           go-sql-driver/mysql           go_test_main.go
#   php          mysqli and PDO_MySQL          php_test.php
#   perl         DBI + DBD::MariaDB            perl_test.pl
#   mysqlclient  Python MySQLdb                mysqlclient_test.py
#   node         npm's mysql2 and mariadb      node_test.js
#   node-sha2    mysql2 with caching_sha2_password (RSA key exchange, its
#                own myshard)                  node_sha2_test.js
#   node-sha2-tls  the same over TLS (not in the default list: it needs
#                client TLS in myshard)        node_sha2_test.js
#   ruby         mysql2 gem                    ruby_test.rb
#
# Each program checks: connect, a text query, server-side prepared
# statements where the driver has them, NULL in and out, unicode and all
# 256 byte values, a 17 MB value, a streamed 20,000-row result, a
# transaction witnessed directly on the shard primary, error 1064 then a
# working connection, multi-statements, ping and a change of database.
#
# Missing runtimes are installed first: Debian packages with apt-get (as
# root), the node modules with npm into MYSHARD_NODE_DIR (default
# ~/.cache/myshard-node, outside the repository). A driver that cannot be
# installed prints `not ok 1 - DRIVER: cannot install (reason)`.
#
# The programs' TAP passes through unchanged; after each one a
# `# driver X: N passed, M failed` line. Exit status 1 when anything failed.
#
# Environment (as tools/test.sh gives the integration programs):
#   MYSHARD_HOST MYSHARD_PORT MYSHARD_USER MYSHARD_PASSWORD MYSHARD_DB
#   S0_PRIMARY_PORT BACKEND_USER BACKEND_PASSWORD
#   MYSHARD_DRIVER_TIMEOUT_S  limit for one driver program (300)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../../tools/lib.sh
. "$HERE/../../tools/lib.sh"
cd "$MYSHARD_ROOT"

ALL_DRIVERS=(jdbc go php perl mysqlclient node node-sha2 node-sha2-tls ruby)
if [[ ${1:-} == --list ]]; then
    printf '%s\n' "${ALL_DRIVERS[@]}"
    exit 0
fi
JDBC_JAR=/usr/share/java/mariadb-java-client.jar
NODE_DIR=${MYSHARD_NODE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/myshard-node}
TIMEOUT=${MYSHARD_DRIVER_TIMEOUT_S:-300}

if [[ -z ${MYSHARD_PORT:-} || -z ${S0_PRIMARY_PORT:-} ]]; then
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    printf 'error: MYSHARD_PORT and S0_PRIMARY_PORT must be set\n' >&2
    exit 2
fi
export MYSHARD_HOST=${MYSHARD_HOST:-127.0.0.1} MYSHARD_USER=${MYSHARD_USER:-app}
export MYSHARD_PASSWORD=${MYSHARD_PASSWORD:-app} MYSHARD_DB=${MYSHARD_DB:-shop}
export BACKEND_USER=${BACKEND_USER:-myshard} BACKEND_PASSWORD=${BACKEND_PASSWORD:-secret}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/myshard-drivers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The runtime a driver name uses (node-sha2* run on node's modules).
family_of() {
    case $1 in
    node-sha2 | node-sha2-tls) echo node ;;
    *) echo "$1" ;;
    esac
}

# Debian packages of one driver.
packages_of() {
    case $(family_of "$1") in
    jdbc) echo libmariadb-java default-jdk-headless ;;
    go) echo golang-go golang-github-go-sql-driver-mysql-dev ;;
    php) echo php-cli php-mysql ;;
    perl) echo libdbi-perl libdbd-mariadb-perl ;;
    mysqlclient) echo python3-mysqldb ;;
    node)
        command -v node >/dev/null || echo nodejs
        command -v npm >/dev/null || echo npm
        ;;
    ruby) echo ruby ruby-mysql2 ;;
    esac
}

# The driver's runtime answers; prints why not otherwise.
runtime_ok() {
    local why=
    case $(family_of "$1") in
    jdbc)
        if ! command -v java >/dev/null || [[ ! -f $JDBC_JAR ]]; then
            why="java or $JDBC_JAR missing"
        fi
        ;;
    go)
        if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/go-sql-driver/mysql ]]; then
            why="go or /usr/share/gocode/src/github.com/go-sql-driver/mysql missing"
        fi
        ;;
    php)
        if ! php -r 'exit(extension_loaded("mysqli") && extension_loaded("pdo_mysql") ? 0 : 1);' 2>/dev/null; then
            why="php with mysqli and pdo_mysql missing"
        fi
        ;;
    perl)
        if ! perl -MDBI -MDBD::MariaDB -e1 2>/dev/null; then
            why="perl DBI or DBD::MariaDB missing"
        fi
        ;;
    mysqlclient)
        if ! /usr/bin/python3 -c 'import MySQLdb' 2>/dev/null; then
            why="/usr/bin/python3 cannot import MySQLdb"
        fi
        ;;
    node)
        if ! command -v node >/dev/null ||
            [[ ! -d $NODE_DIR/node_modules/mysql2 || ! -d $NODE_DIR/node_modules/mariadb ]]; then
            why="node, or mysql2 and mariadb in $NODE_DIR/node_modules, missing"
        fi
        ;;
    ruby)
        if ! ruby -e 'require "mysql2"' 2>/dev/null; then
            why="ruby with the mysql2 gem missing"
        fi
        ;;
    esac
    [[ -z $why ]] || printf '%s\n' "$why"
    [[ -z $why ]]
}

APT_UPDATED=0

# install DRIVER: install what the driver lacks; prints the reason and fails
# when that is not possible.
install_driver() {
    local drv=$1 p status log
    local -a missing=()
    log="$WORK/install-$drv.log"
    for p in $(packages_of "$drv"); do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        if [[ $EUID -ne 0 ]]; then
            echo "not root: apt-get install ${missing[*]}"
            return 1
        fi
        msg "installing ${missing[*]} for the $drv driver"
        if [[ $APT_UPDATED -eq 0 ]]; then
            _apt update </dev/null >"$log" 2>&1 || true
            APT_UPDATED=1
        fi
        if ! _apt install "${missing[@]}" </dev/null >>"$log" 2>&1; then
            echo "apt-get install ${missing[*]} failed: $(grep -E '^E:' "$log" | head -n 1)"
            return 1
        fi
    fi
    if [[ $(family_of "$drv") == node ]] && command -v node >/dev/null &&
        ! [[ -d $NODE_DIR/node_modules/mysql2 && -d $NODE_DIR/node_modules/mariadb ]]; then
        if ! command -v npm >/dev/null; then
            echo "npm missing"
            return 1
        fi
        msg "npm install mysql2 mariadb into $NODE_DIR"
        if ! mkdir -p "$NODE_DIR" 2>"$log"; then
            echo "cannot create $NODE_DIR: $(tail -n 1 "$log")"
            return 1
        fi
        if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund mysql2 mariadb) </dev/null >"$log" 2>&1; then
            echo "npm install mysql2 mariadb failed: $(grep -m1 -E 'ERR' "$log" || tail -n 1 "$log")"
            return 1
        fi
    fi
    runtime_ok "$drv"
}

# The command that runs one driver's program.
command_of() {
    case $1 in
    jdbc) echo java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$JDBC_JAR" tests/drivers/JdbcTest.java ;;
    go) echo go run tests/drivers/go_test_main.go ;;
    php) echo php tests/drivers/php_test.php ;;
    perl) echo perl tests/drivers/perl_test.pl ;;
    mysqlclient) echo /usr/bin/python3 tests/drivers/mysqlclient_test.py ;;
    node) echo node tests/drivers/node_test.js ;;
    node-sha2) echo node tests/drivers/node_sha2_test.js ;;
    node-sha2-tls) echo env MYSHARD_SHA2_TLS=1 node tests/drivers/node_sha2_test.js ;;
    ruby) echo ruby tests/drivers/ruby_test.rb ;;
    esac
}

FAILED_DRIVERS=()

# run_driver DRIVER: install if needed, run, pass the TAP through, summarise.
run_driver() {
    local drv=$1 out reason rc=0 passed failed todo next
    local -a cmd
    printf '# driver %s\n' "$drv"
    if ! reason=$(runtime_ok "$drv") && ! reason=$(install_driver "$drv"); then
        printf 'not ok 1 - %s: cannot install (%s)\n' "$drv" "${reason//$'\n'/ }"
        printf '# driver %s: 0 passed, 1 failed\n' "$drv"
        FAILED_DRIVERS+=("$drv")
        return
    fi
    out="$WORK/$drv.tap"
    read -r -a cmd <<<"$(command_of "$drv")"
    timeout -k 10 "$TIMEOUT" env \
        GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$WORK/gocache" \
        NODE_PATH="$NODE_DIR/node_modules" \
        "${cmd[@]}" </dev/null 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
    passed=$(grep -cE '^ok [0-9]+' "$out" || true)
    todo=$(grep -E '^not ok [0-9]+' "$out" | grep -ciE '#[[:space:]]*todo' || true)
    failed=$(($(grep -cE '^not ok [0-9]+' "$out" || true) - todo))
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then
        next=$((passed + todo + 1))
        if [[ $rc -eq 124 || $rc -eq 137 ]]; then
            printf 'not ok %d - %s: timed out after %ss\n' "$next" "$drv" "$TIMEOUT"
        else
            printf 'not ok %d - %s: exited with status %d\n' "$next" "$drv" "$rc"
        fi
        failed=1
    elif [[ $rc -eq 0 && $((passed + failed + todo)) -eq 0 ]]; then
        printf 'not ok 1 - %s: printed no TAP results\n' "$drv"
        failed=1
    fi
    if [[ $todo -gt 0 ]]; then
        printf '# driver %s: %d passed, %d failed, %d todo\n' "$drv" "$passed" "$failed" "$todo"
    else
        printf '# driver %s: %d passed, %d failed\n' "$drv" "$passed" "$failed"
    fi
    [[ $failed -eq 0 ]] || FAILED_DRIVERS+=("$drv")
}

drivers=("$@")
[[ ${#drivers[@]} -gt 0 ]] || drivers=("${ALL_DRIVERS[@]}")
for drv in "${drivers[@]}"; do
    if [[ -z $(command_of "$drv") ]]; then
        printf 'error: unknown driver %s (known: %s)\n' "$drv" "${ALL_DRIVERS[*]}" >&2
        exit 2
    fi
done
for drv in "${drivers[@]}"; do
    run_driver "$drv"
done
if [[ ${#FAILED_DRIVERS[@]} -gt 0 ]]; then
    printf '# drivers with failures: %s\n' "${FAILED_DRIVERS[*]}"
    exit 1
fi
