#!/usr/bin/env bash
# What the tests that drive a real browser need: Debian's chromium, and Playwright's driver
# library (npm playwright-core, pinned; it downloads no browser: the tests launch
# /usr/bin/chromium) installed under target/browser-deps/node_modules. Idempotent: skips what is
# already there. Used by .ci/run, scripts/test.sh and scripts/rustdoc-browser-check.sh.
#
#   bash scripts/browser-deps.sh            # chromium and playwright-core
#   bash scripts/browser-deps.sh chromium   # chromium only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PLAYWRIGHT_CORE_VERSION=1.65.2

if ! command -v chromium >/dev/null; then
    echo "==> installing chromium"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ "${1:-}" = "chromium" ]; then
    exit 0
fi

deps="${CARGO_TARGET_DIR:-target}/browser-deps"
installed="$deps/node_modules/playwright-core/package.json"
if ! [ -f "$installed" ] || ! grep -q "\"version\": \"${PLAYWRIGHT_CORE_VERSION}\"" "$installed"; then
    echo "==> installing playwright-core ${PLAYWRIGHT_CORE_VERSION} into ${deps}"
    mkdir -p "$deps"
    # No browser download: playwright-core has no install script; the tests use /usr/bin/chromium.
    npm install --prefix "$deps" --no-audit --no-fund --no-save --loglevel=error \
        "playwright-core@${PLAYWRIGHT_CORE_VERSION}" >/dev/null
fi
