#!/usr/bin/env bash
# tools/check-layers.sh - enforce the layering of ENGINEERING.md ("Layout"):
# a file in src/<layer>/ or include/<layer>/ may `#include "X/..."` only for
# its own layer X or a layer below it. Top-level src/*.c may include all.
# Inside the session layer, files call each other without a cycle: no file
# calls (directly or through others) back into a file that calls it; calls
# back up go through hooks (struct session_hooks, session.h). That is read
# from the symbols of a build's session objects (nm), the first of
# $MYSHARD_TEST_BUILD, build-test, build-dev, build that has them.
# Prints each violation as file:line (or the files of a cycle) and exits 1
# when there is any.
#
# Usage: tools/check-layers.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# layer -> the lower layers it may include (its own is always allowed)
declare -A allowed=(
    [base]=""
    [proto]="base"
    [sql]="base"
    [cfg]="base"
    [net]="base"
    [route]="base proto sql cfg"
    [backend]="base net proto cfg"
    [result]="base proto sql"
    [session]="base net proto sql cfg route backend result"
    [reshard]="base net proto sql cfg route backend result session"
    [admin]="base net proto sql cfg route backend result session reshard"
)

violations=0

report() {
    printf '%s\n' "$*"
    violations=$((violations + 1))
}

is_allowed() { # layer included_layer
    local a
    [[ $1 == "$2" ]] && return 0
    for a in ${allowed[$1]}; do
        [[ $a == "$2" ]] && return 0
    done
    return 1
}

dirs=()
for top in src include; do
    [[ -d $top ]] || continue
    for dir in "$top"/*/; do
        dir=${dir%/}
        layer=${dir#"$top"/}
        if [[ -z ${allowed[$layer]+set} ]]; then
            report "$dir: '$layer' is not a layer (base proto sql cfg net route backend result session reshard admin)"
            continue
        fi
        dirs+=("$dir")
    done
done

files=0
if [[ ${#dirs[@]} -gt 0 ]]; then
    files=$(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | wc -l)
    # only quoted includes: <net/if.h> and friends are system headers
    while IFS= read -r hit; do
        file=${hit%%:*}
        rest=${hit#*:}
        lineno=${rest%%:*}
        line=${rest#*:}
        [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
        target=${BASH_REMATCH[1]}
        layer=${file#*/}
        layer=${layer%%/*}
        if [[ $target == *..* ]]; then
            report "$file:$lineno: layer '$layer' includes \"$target\": no relative paths out of the layer; name the layer (\"base/util.h\")"
            continue
        fi
        [[ $target == */* ]] || continue
        inc_layer=${target%%/*}
        [[ -n ${allowed[$inc_layer]+set} ]] || continue
        if ! is_allowed "$layer" "$inc_layer"; then
            report "$file:$lineno: layer '$layer' may not include \"$target\" (allowed: $layer${allowed[$layer]:+ ${allowed[$layer]}})"
        fi
    done < <(grep -rnE --include='*.c' --include='*.h' \
        '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${dirs[@]}" | sort -t: -k1,1 -k2,2n)
fi

# ---- calls between the session layer's files: a graph with no cycle
calls_checked=""
for b in "${MYSHARD_TEST_BUILD:-build-test}" build-test build-dev build; do
    objdir=$b/src/session/libmssession.a.p
    compgen -G "$objdir/*.o" >/dev/null || continue
    declare -A def=()
    edges=()
    for o in "$objdir"/*.o; do
        f=$(basename "$o" .c.o)
        while read -r sym; do def[$sym]=$f; done < <(nm -g --defined-only "$o" | awk '$2 ~ /^[TDBR]$/ {print $3}')
    done
    for o in "$objdir"/*.o; do
        f=$(basename "$o" .c.o)
        while read -r sym; do
            t=${def[$sym]:-}
            [[ -n $t && $t != "$f" ]] && edges+=("$f $t")
        done < <(nm -u "$o" | awk '{print $2}')
    done
    if ! loop=$(printf '%s\n' "${edges[@]}" | sort -u | tsort 2>&1 >/dev/null); then
        report "src/session: files call each other in a cycle (make the call back up a hook, session.h): $(printf '%s\n' "$loop" | awk '/input contains a loop/ {n++; next} n == 1 {sub(/^tsort: /, ""); printf "%s -> ", $0}')..."
    fi
    calls_checked=" and the calls between $(find "$objdir" -name '*.o' | wc -l) session objects ($b)"
    break
done
[[ -n $calls_checked ]] || printf 'check-layers: session calls not checked: no build with session objects (ninja -C build-test)\n' >&2

if [[ $violations -gt 0 ]]; then
    printf 'check-layers: %d violation(s)\n' "$violations" >&2
    exit 1
fi
printf 'check-layers: %d files%s, no violations\n' "$files" "$calls_checked"
