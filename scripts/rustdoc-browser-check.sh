#!/usr/bin/env bash
# The lifecycle diagram as a reader sees it: builds the core crate's rustdoc, opens its pages in
# headless Chromium and checks the DOM the browser built (scripts/rustdoc_dom_check.py): the
# diagram's <svg> holds every status and every step of STEPS (from docs/lifecycle.dot, which
# `cargo test --test spec` keeps equal to render::Dot), the merchant's steps dashed, and no
# diagram text stands in the page as prose. Then a self-test: the same check on rustdoc's
# rendering of a copy of src/spec.rs and docs/ must pass, and must fail once the SVG's opening
# tag is split over two lines again (what broke the page before).
#
#   bash scripts/rustdoc-browser-check.sh
#
# Installs Debian's chromium when missing. Leaves a screenshot of the spec page in
# target/rustdoc-browser-check/spec.png. Opens only file:// pages; sends nothing anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/browser-deps.sh chromium

out=target/rustdoc-browser-check
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Headless Chromium, as root, with nothing that reaches the network on its own.
browser() {
    local profile
    profile=$(mktemp -d -p "$work")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@" 2>"$profile.log"
}

# check PAGE_FILE NAME [--diagram]: the page as Chromium built it.
check() {
    local page=$1 name=$2
    shift 2
    browser --dump-dom "file://$(realpath "$page")" >"$work/dom.html"
    python3 scripts/rustdoc_dom_check.py docs/lifecycle.dot "$work/dom.html" "$name" "$@"
}

cargo doc --locked --no-deps --all-features -p hpp-status --quiet
doc=target/doc/hpp_status

# Every page that carries the diagram (in rustdoc's HTML, even when broken), and the two that must.
mapfile -t with_diagram < <(grep -rl --include='*.html' 'class="graph"' "$doc" | sort)
for required in "$doc/spec/index.html" "$doc/enum.Status.html"; do
    if ! printf '%s\n' "${with_diagram[@]}" | grep -qxF "$required"; then
        echo "${required}: carries no lifecycle diagram" >&2
        exit 1
    fi
done
for page in "${with_diagram[@]}"; do
    check "$page" "${page#target/doc/}" --diagram
done
check "$doc/index.html" "hpp_status/index.html (front page)"

browser --screenshot="$out/spec.png" --window-size=1280,1000 --hide-scrollbars \
    "file://$(realpath "$doc/spec/index.html")" >/dev/null
echo "screenshot of the spec page: $out/spec.png"

# Self-test: rustdoc renders a copy of the spec module (src/spec.rs with docs/ beside it, as the
# crate has them) once as committed and once with the SVG's opening tag split over two lines.
copy() {
    local dir=$1
    mkdir -p "$dir/src"
    cp -r docs "$dir/"
    cp src/spec.rs "$dir/src/lib.rs"
    printf '[package]\nname = "spec_copy"\nversion = "0.0.0"\nedition = "2024"\n[workspace]\n' \
        >"$dir/Cargo.toml"
}
copy "$work/intact"
copy "$work/split"
python3 - "$work/split/docs/lifecycle.svg" <<'EOF'
import re, sys
path = sys.argv[1]
svg = open(path, encoding="utf-8").read()
split = re.sub(r'^(<svg \S+="[^"]*") ', "\\1\n ", svg, count=1)
if split == svg:
    sys.exit("self-test: found no opening <svg> tag to split")
open(path, "w", encoding="utf-8").write(split)
EOF
for variant in intact split; do
    # Unresolved intra-doc links (to the crate's items) are expected in the copy: quiet.
    (cd "$work/$variant" && CARGO_TARGET_DIR="$work/target-$variant" cargo doc --quiet --offline 2>/dev/null)
done
check "$work/target-intact/doc/spec_copy/index.html" "self-test, the spec as committed" --diagram
if check "$work/target-split/doc/spec_copy/index.html" "self-test, opening tag split" --diagram 2>"$work/split.err"; then
    echo "self-test FAILED: the check passed a page whose SVG opening tag is split over two lines" >&2
    exit 1
fi
echo "self-test: the check fails the page whose opening tag is split, as it must:"
head -3 "$work/split.err" | sed 's/^/    /'
echo "rustdoc browser check: ok"
