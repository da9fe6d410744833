#!/usr/bin/env bash
# tools/package.sh - build the Debian package of the tree as it is
# (committed or not): build/myshard_<version>_<arch>.deb, made by
# `dpkg-buildpackage -b -us -uc` from debian/ (dh with meson, the release
# build) in a copy of the tree, so that the tree itself stays clean. Its
# log is build/package.log.
#
# Usage: tools/package.sh [--lintian]
#   --lintian  also run lintian on the package (fails on errors and
#              warnings; the remaining tags are overridden, with reasons,
#              in debian/myshard.lintian-overrides)
#
# Then: apt install ./build/myshard_*.deb
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYSHARD_ROOT"

LINTIAN=0
case ${1:-} in
--lintian) LINTIAN=1 ;;
"") ;;
-h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
*)
    die "unknown argument '$1' (usage: tools/package.sh [--lintian])"
    ;;
esac

for tool in dpkg-buildpackage dh fakeroot meson ninja; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is missing: apt-get install debhelper dpkg-dev fakeroot meson ninja-build (or run tools/test.sh once, as root)"
done

# The package's version is the project's: debian/changelog must agree.
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
deb_version=$(dpkg-parsechangelog -S Version)
[[ -n $version ]] || die "cannot read the project version from meson.build"
[[ $deb_version == "$version" ]] ||
    die "debian/changelog is at $deb_version but meson.build at $version: add a debian/changelog entry (dch -v $version)"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

work=$(mktemp -d /tmp/myshard-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/myshard-$version
mkdir -p "$src"
# tracked and new files, without what .gitignore leaves out (build dirs)
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
    tar -c --null -T - | tar -x -C "$src"

mkdir -p build
log=build/package.log
msg "dpkg-buildpackage -b -us -uc (in $src; log: $log)"
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$log" 2>&1 || {
    tail -n 40 "$log"
    die "dpkg-buildpackage failed (the end of $log is above)"
}

deb=myshard_${version}_${arch}.deb
cp "$work/$deb" "build/$deb"
msg "built build/$deb"

if [[ $LINTIAN -eq 1 ]]; then
    msg "lintian build/$deb"
    lintian --fail-on error,warning --display-info "build/$deb"
fi
printf '%s\n' "build/$deb"
