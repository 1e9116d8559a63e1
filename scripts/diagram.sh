#!/usr/bin/env bash
# Renders the lifecycle diagram the rustdoc shows, docs/lifecycle.svg, from docs/lifecycle.dot
# (which `cargo test --test spec` keeps equal to `hpp_status::render::Dot`), with Graphviz.
#
#   bash scripts/diagram.sh          # rewrite docs/lifecycle.svg
#   bash scripts/diagram.sh --check  # fail when docs/lifecycle.svg is not what dot renders
#
# The SVG is embedded inline in rustdoc, so the XML prolog, the DOCTYPE and comments (which
# name the Graphviz version) are dropped, and it is written as Markdown keeps raw HTML whole:
# the opening <svg> tag on one line, no blank line (scripts/rustdoc-browser-check.sh checks
# the result in a browser). Needs `dot` (Debian's graphviz package).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v dot >/dev/null; then
    echo "diagram.sh: needs Graphviz's dot (apt-get install graphviz)" >&2
    exit 2
fi
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
dot -Tsvg docs/lifecycle.dot |
    python3 -c '
import re, sys
svg = sys.stdin.read()
svg = svg[svg.index("<svg"):]                        # no prolog, no DOCTYPE
svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)  # no comments
# Markdown (CommonMark, as rustdoc parses it) keeps raw HTML whole only when its first line is
# a complete tag and no line inside is blank: the opening tag goes on one line, blank lines go.
svg = re.sub(r"<svg\b[^>]*>", lambda tag: re.sub(r"\s*\n\s*", " ", tag.group(0)), svg, count=1)
svg = re.sub(r"\n[ \t]*(?=\n)", "", svg)
sys.stdout.write(svg)
' >"$rendered"

case "${1:-}" in
--check)
    if ! cmp -s "$rendered" docs/lifecycle.svg; then
        echo "docs/lifecycle.svg is stale: run bash scripts/diagram.sh and commit it" >&2
        diff <(cat docs/lifecycle.svg) "$rendered" | head -20 >&2 || true
        exit 1
    fi
    ;;
"") cp "$rendered" docs/lifecycle.svg ;;
*)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac
