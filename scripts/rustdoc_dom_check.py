#!/usr/bin/env python3
"""Checks the lifecycle diagram in a rustdoc page as a browser built it.

    python3 scripts/rustdoc_dom_check.py DOT DOM_FILE PAGE_NAME [--diagram]

DOM_FILE is what `chromium --headless --dump-dom URL` printed for the page: the DOM after the
browser parsed the HTML (and after rustdoc's scripts ran), not the HTML rustdoc wrote. DOT is
docs/lifecycle.dot, which `cargo test --test spec` keeps equal to `hpp_status::render::Dot`,
so its nodes are every `Status` and its edges every step of `STEPS`, with the merchant's steps
dashed and the final statuses drawn with two borders.

Every diagram on the page (an <svg> under the main content holding Graphviz's `graph` group)
must hold, in the browser's DOM:
- a node per status, titled and labelled with its wire name, with as many borders as the
  DOT source gives it;
- an edge per step, titled FROM->TO and labelled with its action, dashed exactly when the
  step is the merchant's.
No diagram text may stand outside an <svg> (the symptom of a split opening tag: Markdown
closes a paragraph inside the SVG and the browser moves the rest of the drawing out of it):
no Graphviz element (g, path, polygon, ...) outside an <svg>, no graph or edge title in
the page's text, no run of three diagram labels in a row in its prose.
With --diagram the page must carry exactly one diagram.

Exits 0 when the page passes, 1 with every failure listed otherwise, 2 on bad input.
Only the standard library: the serialized DOM is well formed enough for html.parser.
"""

import re
import sys
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}
# Elements Graphviz writes into an SVG that HTML has no use for: outside an <svg> they are
# pieces of a broken drawing. (`title` and `text` are left out: `title` is legal in <head>,
# and rustdoc has no `text` element, but both are caught by their text below.)
GRAPHVIZ_ONLY = {"g", "path", "polygon", "polyline", "ellipse", "text"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []  # Node or str

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def classes(self):
        return self.attrs.get("class", "").split()

    def inside(self, tags):
        p = self.parent
        while p is not None:
            if p.tag in tags:
                return True
            p = p.parent
        return False


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        n = self.current
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.current = n.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_dot(path):
    """(statuses {name: peripheries}, steps [(from, to, action, dashed)]) of the DOT source."""
    statuses, steps = {}, []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        m = re.fullmatch(r'(\w+) -> (\w+) \[label="(\w+)", style=(solid|dashed)\];', line)
        if m:
            steps.append((m[1], m[2], m[3], m[4] == "dashed"))
            continue
        m = re.fullmatch(r"(\w+) \[peripheries=(\d+)\];", line)
        if m:
            statuses[m[1]] = int(m[2])
    if not statuses or not steps:
        sys.exit(f"{path}: no statuses or no steps found; is it render::Dot's output?")
    for f, t, _, _ in steps:
        for s in (f, t):
            if s not in statuses:
                sys.exit(f"{path}: step status {s} is not a node")
    return statuses, steps


def title(g):
    for c in g.children:
        if isinstance(c, Node) and c.tag == "title":
            return c.text().strip()
    return None


def check_diagram(svg, statuses, steps):
    problems = []
    nodes = {title(g): g for g in svg.walk() if g.tag == "g" and "node" in g.classes()}
    edges = {}
    for g in svg.walk():
        if g.tag == "g" and "edge" in g.classes():
            edges.setdefault(title(g), []).append(g)
    for name, peripheries in statuses.items():
        g = nodes.get(name)
        if g is None:
            problems.append(f"status {name}: no node in the <svg>")
            continue
        labels = [t.text().strip() for t in g.walk() if t.tag == "text"]
        if labels != [name]:
            problems.append(f"status {name}: node labelled {labels}")
        borders = sum(1 for s in g.walk() if s.tag in ("path", "polygon", "ellipse"))
        if borders != peripheries:
            problems.append(f"status {name}: {borders} borders, the DOT source gives {peripheries}")
    for f, t, action, dashed in steps:
        candidates = edges.get(f"{f}->{t}", [])
        found = [
            g for g in candidates
            if [x.text().strip() for x in g.walk() if x.tag == "text"] == [action]
        ]
        if len(found) != 1:
            problems.append(f"step {f} -{action}-> {t}: {len(found)} edges in the <svg>")
            continue
        lines = [p for p in found[0].walk() if p.tag == "path"]
        is_dashed = bool(lines) and all("stroke-dasharray" in p.attrs for p in lines)
        if is_dashed != dashed:
            want = "dashed (a merchant step)" if dashed else "solid"
            problems.append(f"step {f} -{action}-> {t}: should be {want}")
    extra = set(nodes) - set(statuses)
    if extra:
        problems.append(f"nodes that are no status: {sorted(extra)}")
    if sum(len(v) for v in edges.values()) != len(steps):
        problems.append(f"{sum(len(v) for v in edges.values())} edges for {len(steps)} steps")
    return problems


def prose(node, out):
    """The text of `node` outside <svg>, <pre>, <code>, <script>, <style>, <head>."""
    for c in node.children:
        if isinstance(c, str):
            out.append(c)
        elif c.tag not in ("svg", "pre", "code", "script", "style", "head", "title"):
            prose(c, out)
            out.append(" ")  # an element boundary separates words
    return out


def check_page(root, statuses, steps, want_diagram):
    problems = []
    mains = [n for n in root.walk() if n.attrs.get("id") == "main-content"]
    if len(mains) != 1:
        return [f"{len(mains)} elements with id main-content: not a rustdoc item page"]
    main = mains[0]
    diagrams = [
        s for s in main.walk()
        if s.tag == "svg" and any(g.tag == "g" and "graph" in g.classes() for g in s.walk())
    ]
    if want_diagram and len(diagrams) != 1:
        problems.append(f"{len(diagrams)} lifecycle diagrams in the page, want 1")
    for svg in diagrams:
        problems += check_diagram(svg, statuses, steps)

    # Leaks: pieces of a drawing outside any <svg>.
    stray = sorted({n.tag for n in main.walk() if n.tag in GRAPHVIZ_ONLY and not n.inside({"svg"})})
    if stray:
        problems.append(f"SVG elements outside an <svg>: {stray}")
    text = " ".join("".join(prose(main, [])).split())
    titles = ["hpp_session"] + [f"{f}->{t}" for f, t, _, _ in steps]
    leaked = sorted({t for t in titles if t in text})
    if leaked:
        problems.append(f"diagram titles in the page's text: {leaked[:5]}")
    labels = set(statuses) | {a for _, _, a, _ in steps}
    run, worst = [], []
    for word in text.split(" "):
        if word in labels:
            run.append(word)
            if len(run) > len(worst):
                worst = list(run)
        else:
            run = []
    if len(worst) >= 3:
        problems.append(f"diagram labels as prose: {' '.join(worst[:8])}")
    return problems


def main():
    args = [a for a in sys.argv[1:] if a != "--diagram"]
    if len(args) != 3:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    dot, dom, page = args
    statuses, steps = parse_dot(dot)
    builder = TreeBuilder()
    builder.feed(open(dom, encoding="utf-8").read())
    builder.close()
    problems = check_page(builder.root, statuses, steps, "--diagram" in sys.argv)
    if problems:
        print(f"{page}: the lifecycle diagram is broken in the browser:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        sys.exit(1)
    what = f"{len(statuses)} statuses and {len(steps)} steps in its <svg>" if "--diagram" in sys.argv else "no diagram text outside an <svg>"
    print(f"{page}: ok ({what})")


if __name__ == "__main__":
    main()
