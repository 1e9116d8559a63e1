#!/usr/bin/env bash
# The arrows point one way: the core crate depends on no workspace member and on nothing that
# does I/O. Without default features it depends on exactly the crates listed below (strum and
# thiserror, and the proc-macro crates they build with); with every feature, on no member
# and on no async runtime, database, HTTP or network crate. The bindings (bindings/python,
# bindings/js) depend on the core and on no other member, nor on any of those crates.
#
#   bash scripts/dependency-direction.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

allowed="heck hpp-status proc-macro2 quote strum strum_macros syn thiserror thiserror-impl unicode-ident"

names() { # the package names of the core's normal dependency tree, given cargo tree flags
    cargo tree --locked -p hpp-status -e normal --prefix none --format '{p}' "$@" |
        sed 's/ v[0-9].*//' | sort -u
}

core=$(names --no-default-features | tr '\n' ' ' | sed 's/ $//')
if [[ $core != "$allowed" ]]; then
    echo "the core without default features depends on: ${core}" >&2
    echo "allowed exactly:                              ${allowed}" >&2
    exit 1
fi

members=$(cargo metadata --locked --format-version 1 --no-deps |
    python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"] if p["name"] != "hpp-status"))')
full=$(names --all-features)
forbidden=$( (echo "$members"; printf '%s\n' tokio sqlx axum hyper reqwest mio socket2 libsqlite3-sys) | sort -u)
found=$(comm -12 <(echo "$full") <(echo "$forbidden"))
if [[ -n $found ]]; then
    echo "the core (all features) depends on what it must not: ${found//$'\n'/ }" >&2
    exit 1
fi
for binding in hpp-status-python hpp-status-js; do
    tree=$(cargo tree --locked -p "$binding" -e normal --all-features --prefix none --format '{p}' |
        sed 's/ v[0-9].*//' | sort -u)
    if ! grep -qx hpp-status <<<"$tree"; then
        echo "${binding} does not depend on the core" >&2
        exit 1
    fi
    others=$( (echo "$members"; printf '%s\n' tokio sqlx axum hyper reqwest mio socket2 libsqlite3-sys) |
        grep -vx "$binding" | sort -u)
    found=$(comm -12 <(echo "$tree") <(echo "$others"))
    if [[ -n $found ]]; then
        echo "${binding} depends on what it must not: ${found//$'\n'/ }" >&2
        exit 1
    fi
done
echo "core without default features: ${core}"
echo "core with all features: $(echo "$full" | wc -l) crates, no workspace member, no I/O crate"
echo "bindings (hpp-status-python, hpp-status-js): the core and no other member, no I/O crate"
