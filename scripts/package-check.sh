#!/usr/bin/env bash
# Packages the core crate as crates.io would receive it, unpacks the .crate file into a
# temporary directory and runs the package's own test suite there, with all features: the
# published crate must build and pass its tests without anything from the repository around
# it (no workspace member, no fuzz corpus, no file outside the package).
#
#   bash scripts/package-check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "hpp-status"))')
cargo package --locked -p hpp-status --allow-dirty --quiet
crate="target/package/hpp-status-${version}.crate"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
tar -xzf "$crate" -C "$unpacked"
echo "==> ${crate}: $(tar -tzf "$crate" | wc -l) files"
# The workspace's target directory: dependencies compiled for the workspace are reused.
target=$(pwd)/target
(cd "$unpacked/hpp-status-${version}" && CARGO_TARGET_DIR="$target" cargo test --locked --all-features --quiet)
