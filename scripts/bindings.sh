#!/usr/bin/env bash
# Builds the two packages of the bindings into target/bindings/:
#   hpp-status-<version>.tgz              the npm package (npm pack of bindings/js/package
#                                         with the WebAssembly module wasm-bindgen generates)
#   hpp_status-<version>-cp39-abi3-*.whl  the Python wheel (maturin, abi3: CPython 3.9+)
#
#   bash scripts/bindings.sh            # build both
#   bash scripts/bindings.sh --test     # build both, then install each into a clean
#                                       # environment and run its suite (pytest, node --test)
#
# Needs: the wasm32-unknown-unknown target, wasm-bindgen (the CLI at the exact version of the
# wasm-bindgen library in Cargo.lock), maturin, Node.js and npm, python3 with venv; with
# --test, pytest. `.ci/run` installs the first three when missing; TOOLS (below) holds a
# virtual environment with maturin and pytest, made here when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

test=false
case "${1:-}" in
--test) test=true ;;
"") ;;
*) echo "usage: bash scripts/bindings.sh [--test]" >&2; exit 2 ;;
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
if [[ $(wasm-bindgen --version 2>/dev/null) != "wasm-bindgen ${wasm_bindgen_version}" ]]; then
    echo "wasm-bindgen ${wasm_bindgen_version} is needed (the library's version in Cargo.lock):" >&2
    echo "  cargo install --locked wasm-bindgen-cli --version ${wasm_bindgen_version}" >&2
    exit 1
fi
TOOLS=${HPP_BINDINGS_TOOLS:-target/bindings-tools}
if [[ ! -x $TOOLS/bin/maturin ]] || { $test && [[ ! -x $TOOLS/bin/pytest ]]; }; then
    echo "==> a virtual environment with maturin and pytest: ${TOOLS}"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check maturin pytest
fi

rm -rf "$out"
mkdir -p "$out"

# The npm package. Its own target directory, and link-time optimisation in one unit (smaller
# and faster than opt-level "s" here): the workspace's release builds keep their profile.
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
$test || exit 0

# Each package installed into a clean environment, as a user would, then its suite.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "==> pytest, the wheel in a fresh virtual environment"
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" pytest
(cd "$scratch" && "$scratch/venv/bin/python" -m pytest -q -p no:cacheprovider "$OLDPWD/bindings/python/tests")

echo "==> node --test, the tarball in a fresh npm project"
mkdir "$scratch/project"
# The suites are copied into the project, so that `hpp-status` resolves to what npm
# installed there (ES modules do not read NODE_PATH).
cp bindings/js/tests/*.test.mjs bindings/js/tests/*.test.cjs "$scratch/project/"
(cd "$scratch/project" && npm init -y >/dev/null &&
    npm install --silent --no-audit --no-fund "$OLDPWD/$tgz" &&
    HPP_VECTORS="$OLDPWD/bindings/vectors.json" node --test --test-reporter=spec ./*.test.mjs ./*.test.cjs)
