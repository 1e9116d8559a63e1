#!/usr/bin/env python3
"""Prints the medians of the last criterion runs (`cargo bench --bench transitions`,
`cargo bench --bench observer`) as a Markdown table, with each group's ratio of hpp-status to
every alternative (below 1: hpp-status is faster).

Run from the repository root, after the benches: `python3 benches/medians.py`.
"""

import json
import pathlib

ROOT = pathlib.Path("target/criterion")


def unit(ns):
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.2f} ns"


print("| group | implementation | median | hpp-status ÷ this |")
print("|---|---|---|---|")
for group in sorted(p for p in ROOT.iterdir() if p.is_dir() and p.name != "report"):
    medians = {}
    for estimates in sorted(group.glob("*/new/estimates.json")):
        medians[estimates.parts[-3]] = json.loads(estimates.read_text())["median"]["point_estimate"]
    ours = next((m for name, m in medians.items() if name.startswith("hpp-status")), None)
    for name, median in medians.items():
        ratio = "" if ours is None or name.startswith("hpp-status") else f"{ours / median:.2f}"
        print(f"| {group.name} | {name} | {unit(median)} | {ratio} |")
