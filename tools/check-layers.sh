#!/usr/bin/env bash
# tools/check-layers.sh - enforce the layering of ENGINEERING.md ("Layout"):
# a file in src/<layer>/ or include/<layer>/ may `#include "X/..."` only for
# its own layer X or a layer below it. Top-level src/*.c may include all.
# Prints each violation as file:line and exits 1 when there is any.
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
    [admin]="base net proto sql cfg route backend result session"
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
            report "$dir: '$layer' is not a layer (base proto sql cfg net route backend result session admin)"
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

if [[ $violations -gt 0 ]]; then
    printf 'check-layers: %d violation(s)\n' "$violations" >&2
    exit 1
fi
printf 'check-layers: %d files, no violations\n' "$files"
