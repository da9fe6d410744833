#!/usr/bin/env bash
# tests/package_test.sh - the Debian package, end to end (tools/test.sh
# runs it as the check named `package`; alone: tools/test.sh package).
# Needs root: it installs the package on this machine with apt-get, runs
# the service, and purges it again; CI runs it so on a fresh machine. It
# fails, saying so, when not root or when myshard is installed already.
#
#  - tools/package.sh builds build/myshard_<version>_<arch>.deb;
#  - dpkg-deb -c / -I: the binaries, the man pages, the unit, the config
#    as a conffile with mode 0640; lintian passes (overrides explained);
#  - apt-get install ./build/myshard_*.deb: the myshard system user, the
#    config root:myshard 0640, /var/lib/myshard; `systemd-analyze verify`
#    passes on the installed unit;
#  - the unit's ExecStartPre and ExecStart, run as the myshard user in its
#    WorkingDirectory (there is no systemd in the container), start a
#    myshard from the installed config (its ports moved to free ones and a
#    console password set) that answers on the admin console;
#  - installing the same .deb again keeps the edited config;
#  - purge removes the config and /var/lib/myshard.
# TAP output.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=SCRIPTDIR/../tools/lib.sh
. tools/lib.sh

N=0
FAILED=0
ok() { # ok COND_STATUS NAME
    N=$((N + 1))
    if [[ $1 -eq 0 ]]; then
        printf 'ok %d - %s\n' "$N" "$2"
    else
        printf 'not ok %d - %s\n' "$N" "$2"
        FAILED=$((FAILED + 1))
    fi
}
check() { # check NAME CMD...: ok when CMD succeeds
    local name=$1
    shift
    "$@" >/dev/null 2>&1
    ok $? "$name"
}
diag() { sed 's/^/# /'; }
bail() {
    printf 'Bail out! %s\n' "$*"
    exit 1
}

if [[ $(id -u) -ne 0 ]]; then
    bail "the package check installs and purges a package: run it as root (CI does)"
fi
if dpkg-query -W -f='${Status}' myshard 2>/dev/null | grep -q 'installed'; then
    bail "myshard is installed on this machine already; this check installs and purges it (apt-get purge myshard first)"
fi

WORK=$(mktemp -d /tmp/package_test.XXXXXX)
PROXY=
USER_EXISTED=0
getent passwd myshard >/dev/null && USER_EXISTED=1
cleanup() {
    if [[ -n $PROXY ]] && pid_alive "$PROXY"; then
        stop_pid "$PROXY" 10 || true
    fi
    if dpkg-query -W -f='${Status}' myshard 2>/dev/null | grep -q 'installed'; then
        _apt purge myshard >/dev/null 2>&1 || true
    fi
    # leave the machine as it was: the user stays after a purge (policy),
    # but this check made it
    if [[ $USER_EXISTED -eq 0 ]] && getent passwd myshard >/dev/null; then
        deluser --quiet --system myshard >/dev/null 2>&1 || userdel myshard 2>/dev/null || true
        if getent group myshard >/dev/null; then
            groupdel myshard 2>/dev/null || true
        fi
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- build
if ! out=$(tools/package.sh 2>&1); then
    printf '%s\n' "$out" | tail -n 30 | diag
    ok 1 "tools/package.sh builds the package"
    printf '1..%d\n' "$N"
    exit 1
fi
DEB=$(printf '%s\n' "$out" | tail -n 1)
ok 0 "tools/package.sh builds $DEB"
version=$(dpkg-deb -f "$DEB" Version)
arch=$(dpkg-deb -f "$DEB" Architecture)
[[ $DEB == "build/myshard_${version}_${arch}.deb" ]]
ok $? "named myshard_<version>_<arch>.deb ($version, $arch)"

# ---- contents
contents=$(dpkg-deb -c "$DEB")
has() { # has MODE OWNER PATH: a line of dpkg-deb -c
    awk -v m="$1" -v o="$2" -v p="./$3" '$1 == m && $2 == o && $6 == p { f = 1 } END { exit !f }' <<<"$contents"
}
check "usr/bin/myshard, 0755 root" has -rwxr-xr-x root/root usr/bin/myshard
check "usr/bin/myshard-locate, 0755 root" has -rwxr-xr-x root/root usr/bin/myshard-locate
check "the man page myshard(8)" has -rw-r--r-- root/root usr/share/man/man8/myshard.8.gz
grep -q '\./usr/share/man/man8/myshard-locate\.8\.gz -> myshard\.8\.gz' <<<"$contents"
ok $? "myshard-locate(8) points to it"
unit=$(awk '$6 ~ /systemd\/system\/myshard\.service$/ { print substr($6, 2) }' <<<"$contents")
[[ -n $unit ]]
ok $? "the systemd unit ($unit)"
check "etc/myshard/myshard.yaml, mode 0640" has -rw-r----- root/root etc/myshard/myshard.yaml
dpkg-deb -I "$DEB" conffiles 2>/dev/null | grep -qx /etc/myshard/myshard.yaml
ok $? "/etc/myshard/myshard.yaml is a conffile"
info=$(dpkg-deb -I "$DEB")
grep -q '^ Depends:.*adduser' <<<"$info" && grep -q '^ Depends:.*libmariadb3' <<<"$info" &&
    grep -q '^ Depends:.*libevent' <<<"$info"
ok $? "Depends: adduser and the libraries (shlibs)"
for s in postinst postrm prerm; do
    dpkg-deb -I "$DEB" "$s" >/dev/null 2>&1
    ok $? "maintainer script $s"
done
if out=$(lintian --fail-on error,warning "$DEB" 2>&1); then
    ok 0 "lintian: no error or warning"
else
    ok 1 "lintian: no error or warning"
fi
printf '%s\n' "$out" | grep -v '^$' | diag

# ---- install
if out=$(_apt install "./$DEB" 2>&1); then
    ok 0 "apt-get install ./$DEB"
else
    printf '%s\n' "$out" | tail -n 20 | diag
    ok 1 "apt-get install ./$DEB"
    printf '1..%d\n' "$N"
    exit 1
fi
getent passwd myshard | grep -q ':/usr/sbin/nologin$'
ok $? "a myshard system user, no login shell"
uid=$(id -u myshard 2>/dev/null || echo 99999)
((uid < 1000))
ok $? "in the system range (uid $uid)"
[[ $(stat -c '%a %U:%G' /etc/myshard/myshard.yaml) == "640 root:myshard" ]]
ok $? "the config is 0640 root:myshard ($(stat -c '%a %U:%G' /etc/myshard/myshard.yaml))"
[[ $(stat -c '%a %U:%G' /var/lib/myshard) == "750 myshard:myshard" ]]
ok $? "/var/lib/myshard is the service's, 0750"
UNIT=$unit
if out=$(systemd-analyze verify "$UNIT" 2>&1); then
    ok 0 "systemd-analyze verify $UNIT"
else
    ok 1 "systemd-analyze verify $UNIT"
fi
printf '%s\n' "$out" | grep -v '^$' | diag
# shellcheck disable=SC2016  # $MAINPID is the unit's, literally
for k in 'User=myshard' 'ProtectSystem=strict' 'StateDirectory=myshard' \
    'LimitNOFILE=' 'ExecReload=/bin/kill -HUP $MAINPID' 'NoNewPrivileges=yes' \
    'CapabilityBoundingSet=$'; do
    grep -q "^$k" "$UNIT"
    ok $? "the unit sets $k"
done
grep -q '^AmbientCapabilities=$' "$UNIT" && ! grep -q '^AmbientCapabilities=.*CAP_' "$UNIT"
ok $? "no ambient capability (ports below 1024 need a drop-in)"
grep -q '^xa_log: /var/lib/myshard/' /etc/myshard/myshard.yaml
ok $? "the config's xa_log lives in the StateDirectory"

# ---- the unit's commands, as the myshard user
exec_pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$UNIT")
# as the unit's User= and Group= (setpriv execs: no process in between)
AS_MYSHARD=(setpriv --reuid=myshard --regid=myshard --init-groups --)
as_myshard() { # as_myshard CMDLINE: in the unit's WorkingDirectory
    "${AS_MYSHARD[@]}" sh -c "cd '$workdir' && exec $1"
}
if out=$(as_myshard "$exec_pre" 2>&1); then
    ok 0 "ExecStartPre ($exec_pre) passes on the shipped config, as myshard"
else
    printf '%s\n' "$out" | tail -n 10 | diag
    ok 1 "ExecStartPre passes on the shipped config, as myshard"
fi

# edit the installed config: free ports (the defaults may be taken on a
# shared machine), a console password, a marker the upgrade must keep, and
# transactions: xa for its schema (the last line), so that the proxy opens
# its XA decision log in the StateDirectory
read -r port admin http <<<"$(free_ports 3)"
pw=pkg-$RANDOM-admin
sed -i -e "s/^listen: 127.0.0.1:6033/listen: 127.0.0.1:$port/" \
    -e "s/^  listen: 127.0.0.1:6032 /  listen: 127.0.0.1:$admin /" \
    -e "s/^  http: 127.0.0.1:6080 /  http: 127.0.0.1:$http /" \
    -e "s/^  user: admin$/  user: admin\n  password: $pw/" \
    -e '1i # edited by package_test' \
    -e '$a\    transactions: xa' /etc/myshard/myshard.yaml
grep -q "password: $pw" /etc/myshard/myshard.yaml && grep -q ":$admin " /etc/myshard/myshard.yaml
ok $? "the installed config edited (ports $port $admin $http, console password)"

log=$WORK/myshard.log
detach "${AS_MYSHARD[@]}" sh -c "cd '$workdir' && exec $exec_start" >>"$log" 2>&1
PROXY=$DETACHED_PID
if wait_port "$admin" 15 "$PROXY"; then
    ok 0 "ExecStart ($exec_start) runs as myshard and listens"
else
    tail -n 20 "$log" | diag
    ok 1 "ExecStart runs as myshard and listens"
fi
pid=$PROXY
[[ $(stat -c %U "/proc/$pid") == myshard && $(readlink "/proc/$pid/cwd") == "$workdir" &&
    $(tr '\0' ' ' <"/proc/$pid/cmdline") == "$exec_start " ]]
ok $? "the proxy runs as myshard in $workdir"
xa_log=$(sed -n 's/^xa_log: //p' /etc/myshard/myshard.yaml)
[[ $(stat -c %U "$xa_log" 2>/dev/null) == myshard ]]
ok $? "it wrote its XA decision log in the state directory ($xa_log)"
ans=$(mariadb -h127.0.0.1 -P"$admin" -uadmin -p"$pw" -N -B -e 'SHOW BACKENDS' 2>&1)
grep -q '127.0.0.1:3306' <<<"$ans"
ok $? "the admin console answers SHOW BACKENDS with the config's shard"
printf '%s\n' "$ans" | head -n 3 | diag
code=$(python3 -c '
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(e)' "$http")
[[ $code == 200 ]]
ok $? "GET /metrics on admin.http: 200 ($code)"
kill -HUP "$pid" 2>/dev/null
sleep 1
grep -q 'config reload' "$log"
ok $? "SIGHUP (the unit's ExecReload) reloads the config"
stop_pid "$PROXY" 20
ok $? "it stops on SIGTERM"
PROXY=
grep -E 'AddressSanitizer|runtime error|ERROR' "$log" | head -n 5 | diag

# ---- upgrade: the same .deb again keeps the edited config
if out=$(_apt install --reinstall "./$DEB" 2>&1); then
    ok 0 "installing the .deb again (upgrade path)"
else
    printf '%s\n' "$out" | tail -n 20 | diag
    ok 1 "installing the .deb again (upgrade path)"
fi
head -n 1 /etc/myshard/myshard.yaml | grep -q 'edited by package_test' &&
    grep -q "password: $pw" /etc/myshard/myshard.yaml
ok $? "the edited config is kept"
[[ $(stat -c '%a %U:%G' /etc/myshard/myshard.yaml) == "640 root:myshard" ]]
ok $? "still 0640 root:myshard"
[[ -f $xa_log ]]
ok $? "the XA decision log is still there after the upgrade"
# ---- purge
if out=$(_apt purge myshard 2>&1); then
    ok 0 "apt-get purge myshard"
else
    printf '%s\n' "$out" | tail -n 20 | diag
    ok 1 "apt-get purge myshard"
fi
[[ ! -e /var/lib/myshard ]]
ok $? "purge removes the state (/var/lib/myshard)"
[[ ! -e /etc/myshard/myshard.yaml && ! -e /etc/myshard ]]
ok $? "purge removes the config (/etc/myshard)"
[[ ! -e /usr/bin/myshard && ! -e $UNIT ]]
ok $? "and the binary and unit"

printf '1..%d\n' "$N"
[[ $FAILED -eq 0 ]]
