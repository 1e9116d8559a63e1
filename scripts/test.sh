#!/usr/bin/env bash
# Every test of the workspace: the core's model check, properties and golden payloads, the
# spec's freshness, doctests, the store on SQLite and on Postgres, the simulator (its payment
# page in headless Chromium too), the merchant service and the end-to-end chaos run. The
# Postgres tests start their own throwaway cluster (crates/hpp-testdb) from Debian's
# postgresql package: this script installs it when no server binaries are there (as root, or
# with sudo), and chromium with playwright-core (scripts/browser-deps.sh) for the browser
# test, then runs the tests. They never skip. Without ARGS, the bindings' suites run too: the
# npm package and the Python wheel built, installed into a clean npm project and a clean
# virtual environment, and replaying bindings/vectors.json (scripts/bindings.sh --test, which
# installs its tools when missing).
#
#   bash scripts/test.sh [ARGS...]     # ARGS go to cargo test, e.g. -p hpp-store
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${HPP_TESTDB_PG_BIN:-}" ] && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "==> installing postgresql (the Postgres tests start a throwaway cluster from it)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# hpp-sim's browser test drives Debian's chromium with playwright-core: both installed when
# missing (the test fails without them, never skips).
bash scripts/browser-deps.sh

cargo test --locked --workspace --all-features "$@"
if [ "$#" -eq 0 ]; then
    bash scripts/bindings.sh --test
fi
