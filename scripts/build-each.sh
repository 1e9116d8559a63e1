#!/usr/bin/env bash
# Every workspace member builds by itself: `cargo build -p NAME` (its lib and bins) for each
# member, one at a time, so that a feature one member turns on for another (the workspace's
# feature unification, dev-dependencies included) cannot hide a missing feature. Reuses the
# target directory: only what differs per member is compiled again.
#
#   bash scripts/build-each.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

members=$(cargo metadata --locked --format-version 1 --no-deps |
    python3 -c 'import json,sys; print("\n".join(sorted(p["name"] for p in json.load(sys.stdin)["packages"])))')
failed=()
for member in $members; do
    echo "--> cargo build -p ${member}"
    if ! cargo build --locked --quiet -p "$member"; then
        failed+=("$member")
    fi
done
if ((${#failed[@]})); then
    echo "these members do not build by themselves: ${failed[*]}" >&2
    exit 1
fi
echo "every member builds by itself: $(echo $members | tr '\n' ' ')"
