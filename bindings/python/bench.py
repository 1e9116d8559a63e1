"""Tracker.observe with wire strings: the binding against a hand-written tracker, side by side.

    bash scripts/bindings.sh --bench     # builds the wheel, installs it in a fresh venv, runs this

Both sides take the same deliveries (session id, status name, RFC 3339 text) in the same
order: duplicates, late ones and finals, over many sessions. The hand-written tracker is what
a merchant would write instead: a dict of sessions, `datetime.fromisoformat` and the
final-wins rule (a final status is kept; otherwise the later `updated_at` wins). It classifies
nothing; the binding classifies every delivery and parses RFC 3339 strictly.
"""

import random
import statistics
import sys
import time
from datetime import datetime

import hpp_status

FINAL = {"COMPLETED", "CANCELLED", "DISABLED"}
OPEN = ["IN_PROGRESS", "FAILED", "BACK", "ERROR", "IN_PROGRESS"]


def deliveries(count, seed=20):
    rng = random.Random(seed)
    out = []
    session = 0
    while len(out) < count:
        session += 1
        sid = f"s{session}"
        base = 1_557_759_106 + session
        history = [("WAITING", base)]
        for step in range(rng.randrange(1, 5)):
            history.append((rng.choice(OPEN), base + 10 * (step + 1)))
        history.append((rng.choice(sorted(FINAL)), base + 100))
        sent = []
        for status, second in history:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{rng.randrange(1000):03d}Z"
            sent.extend([(sid, status, stamp)] * rng.choice([1, 1, 2]))
        rng.shuffle(sent)
        out.extend(sent)
    return out[:count]


def binding(batch):
    trackers = {}
    finals = 0
    for sid, status, stamp in batch:
        tracker = trackers.get(sid)
        if tracker is None:
            tracker = trackers[sid] = hpp_status.Tracker()
        if tracker.observe(status, stamp).became_final:
            finals += 1
    return finals


def parse_time(stamp):
    # Python before 3.11 does not read "Z".
    return datetime.fromisoformat(stamp[:-1] + "+00:00" if stamp.endswith("Z") else stamp)


def by_hand(batch):
    held = {}
    finals = 0
    for sid, status, stamp in batch:
        at = parse_time(stamp)
        current = held.get(sid)
        if current is None:
            held[sid] = (status, at)
            finals += status in FINAL
            continue
        if current[0] in FINAL:
            continue
        if status in FINAL:
            held[sid] = (status, at)
            finals += 1
        elif at > current[1]:
            held[sid] = (status, at)
    return finals


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    batch = deliveries(count)
    assert binding(batch) == by_hand(batch), "both see every session become final once"
    rounds = {"hpp_status.Tracker": [], "hand-written (dict + fromisoformat)": []}
    for _ in range(7):
        for name, run in (("hpp_status.Tracker", binding), ("hand-written (dict + fromisoformat)", by_hand)):
            started = time.perf_counter()
            run(batch)
            rounds[name].append((time.perf_counter() - started) / count * 1e9)
    print(f"Python {sys.version.split()[0]}, {count} deliveries, 7 rounds, ns per delivery")
    for name, times in rounds.items():
        print(f"  {name:38} median {statistics.median(times):7.0f}  min {min(times):7.0f}  max {max(times):7.0f}")
    ratio = statistics.median(rounds["hpp_status.Tracker"]) / statistics.median(rounds["hand-written (dict + fromisoformat)"])
    print(f"  binding / hand-written: {ratio:.2f}x")


if __name__ == "__main__":
    main()
