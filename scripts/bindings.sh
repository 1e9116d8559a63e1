#!/usr/bin/env bash
# Builds the two packages of the bindings into target/bindings/:
#   hpp-status-<version>.tgz              the npm package (npm pack of bindings/js/package
#                                         with the WebAssembly module wasm-bindgen generates)
#   hpp_status-<version>-cp39-abi3-*.whl  the Python wheel (maturin, abi3: CPython 3.9+)
#
#   bash scripts/bindings.sh            # build both
#   bash scripts/bindings.sh --test     # build both, then install each into a clean
#                                       # environment and run its suite (pytest, node --test)
#   bash scripts/bindings.sh --bench    # build both, install them likewise, and run the
#                                       # benchmarks of Tracker.observe (bench.py, bench.mjs)
#
# Installs what it needs when missing (skipped when present): the wasm32-unknown-unknown
# target, wasm-bindgen's CLI at the exact version of the library in Cargo.lock (minutes to
# build, once), maturin in a virtual environment under target/, and binaryen's wasm-opt (the
# npm package `binaryen`, pinned, run by node) under target/ too. Needs Node.js 20 with npm
# and python3 with venv; the test environments get pytest from PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=build
case "${1:-}" in
--test) mode=test ;;
--bench) mode=bench ;;
"") ;;
*) echo "usage: bash scripts/bindings.sh [--test | --bench]" >&2; exit 2 ;;
esac

out=target/bindings
version=$(cargo metadata --locked --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "hpp-status"))')
wasm_bindgen_version=$(python3 - <<'PY'
import re
lock = open("Cargo.lock").read()
print(re.search(r'name = "wasm-bindgen"\nversion = "([^"]+)"', lock).group(1))
PY
)
npm_version=$(python3 -c 'import json; print(json.load(open("bindings/js/package/package.json"))["version"])')
if [[ $npm_version != "$version" ]]; then
    echo "bindings/js/package/package.json says ${npm_version}, the crate is ${version}" >&2
    exit 1
fi
# What the build needs, installed when missing (each step is skipped when present).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "==> rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi
if [[ $(wasm-bindgen --version 2>/dev/null) != "wasm-bindgen ${wasm_bindgen_version}" ]]; then
    # Minutes on 2 cores, once: the CLI must be the exact version of the library.
    echo "==> cargo install --locked wasm-bindgen-cli --version ${wasm_bindgen_version}"
    cargo install --locked --quiet wasm-bindgen-cli --version "$wasm_bindgen_version"
fi
TOOLS=${HPP_BINDINGS_TOOLS:-target/bindings-tools}
if [[ ! -x $TOOLS/bin/maturin ]]; then
    echo "==> a virtual environment with maturin: ${TOOLS}"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check maturin
fi
# wasm-opt -O3 after wasm-bindgen: about 7% off an observation and 40 KB off the module.
binaryen_version=132.0.0
wasm_opt=$TOOLS/binaryen/node_modules/binaryen/bin/wasm-opt
installed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$TOOLS/binaryen/node_modules/binaryen/package.json" 2>/dev/null || true)
if [[ $installed != "$binaryen_version" ]]; then
    echo "==> npm install binaryen@${binaryen_version} (wasm-opt): ${TOOLS}/binaryen"
    mkdir -p "$TOOLS/binaryen"
    (cd "$TOOLS/binaryen" && npm install --silent --no-audit --no-fund --no-save --prefix . "binaryen@${binaryen_version}")
fi

rm -rf "$out"
mkdir -p "$out"

# The npm package. Its own target directory, opt-level 3 (the release default) with link-time
# optimisation in one unit (smaller and faster than opt-level "s" here): the workspace's
# release builds keep their profile.
echo "==> npm package"
wasm_target=target/bindings-build/wasm
CARGO_TARGET_DIR=$wasm_target \
    CARGO_PROFILE_RELEASE_LTO=true \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    CARGO_PROFILE_RELEASE_PANIC=abort \
    cargo build --locked --release --quiet -p hpp-status-js --target wasm32-unknown-unknown
package=$out/npm
mkdir -p "$package/wasm"
cp bindings/js/package/{package.json,index.cjs,index.mjs,index.d.ts} bindings/js/README.md \
    LICENSE-MIT LICENSE-APACHE "$package/"
wasm-bindgen --target nodejs --weak-refs --no-typescript --out-dir "$package/wasm" \
    "$wasm_target/wasm32-unknown-unknown/release/hpp_status_js.wasm"
node "$wasm_opt" -O3 "$package/wasm/hpp_status_js_bg.wasm" -o "$package/wasm/hpp_status_js_bg.wasm"
(cd "$out" && npm pack --silent ./npm >/dev/null)
rm -rf "$package"
tgz=$out/hpp-status-${version}.tgz
test -f "$tgz"

# The wheel; PYO3_BUILD_EXTENSION_MODULE: no link to libpython, as an extension module must.
echo "==> Python wheel"
PYO3_BUILD_EXTENSION_MODULE=1 CARGO_TARGET_DIR=target/bindings-build/python \
    "$TOOLS/bin/maturin" build --quiet --release --locked --strip \
    -m bindings/python/Cargo.toml --out "$out" >/dev/null
wheels=("$out"/hpp_status-"${version}"-*.whl)
wheel=${wheels[0]}
test -f "$wheel"

wasm_bytes=$(tar -xzOf "$tgz" package/wasm/hpp_status_js_bg.wasm | wc -c)
echo "built ${tgz} ($(wc -c <"$tgz") bytes; its .wasm ${wasm_bytes} bytes)"
echo "built ${wheel} ($(wc -c <"$wheel") bytes)"
if ((wasm_bytes >= 300 * 1024)); then
    echo "the .wasm is ${wasm_bytes} bytes, over the 300 KB budget" >&2
    exit 1
fi
if (($(wc -c <"$wheel") >= 1024 * 1024)); then
    echo "the wheel is over the 1 MB budget" >&2
    exit 1
fi
[[ $mode != build ]] || exit 0

# Each package installed into a clean environment, as a user would.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
repo=$PWD
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" pytest
mkdir "$scratch/project"
cp bindings/js/tests/*.test.mjs bindings/js/tests/*.test.cjs bindings/js/bench.mjs "$scratch/project/"
(cd "$scratch/project" && npm init -y >/dev/null &&
    npm install --silent --no-audit --no-fund "$repo/$tgz")

if [[ $mode == bench ]]; then
    echo "==> benchmarks: Tracker.observe with wire strings, binding vs hand-written"
    (cd "$scratch" && "$scratch/venv/bin/python" "$repo/bindings/python/bench.py")
    (cd "$scratch/project" && node bench.mjs)
    exit 0
fi

echo "==> pytest, the wheel in a fresh virtual environment"
(cd "$scratch" && "$scratch/venv/bin/python" -m pytest -q -p no:cacheprovider "$repo/bindings/python/tests")
# The suites are run inside the fresh project, so that `hpp-status` resolves to what npm
# installed there (ES modules do not read NODE_PATH).
echo "==> node --test, the tarball in a fresh npm project"
(cd "$scratch/project" &&
    HPP_VECTORS="$repo/bindings/vectors.json" node --test --test-reporter=spec ./*.test.mjs ./*.test.cjs)
