// Tracker.observe with wire strings: the binding against a hand-written tracker, side by side.
//
//   bash scripts/bindings.sh --bench     # builds the tarball, installs it in a fresh project, runs this
//
// Both sides take the same deliveries (session id, status name, RFC 3339 text) in the same
// order: duplicates, late ones and finals, over many sessions. The strings are wire strings,
// as a handler gets them from JSON.parse of a body, not strings built by concatenation (which
// V8 keeps as ropes until something flattens them). The hand-written tracker is what a
// merchant would write instead: a Map of sessions, Date.parse and the final-wins rule (a final
// status is kept; otherwise the later updatedAt wins). It classifies nothing; the binding
// classifies every delivery and parses RFC 3339 strictly. The sides run back to back in each
// round, each first in every other round; the median of each round's ratio is the figure
// least moved by other work on the machine.
import { Tracker } from 'hpp-status';

const FINAL = new Set(['COMPLETED', 'CANCELLED', 'DISABLED']);
const OPEN = ['IN_PROGRESS', 'FAILED', 'BACK', 'ERROR', 'IN_PROGRESS'];

function lcg(seed) {
  let state = BigInt(seed);
  return (n) => {
    state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number((state >> 33n) % BigInt(n));
  };
}

function deliveries(count) {
  const below = lcg(20);
  const out = [];
  for (let session = 1; out.length < count; session += 1) {
    const sid = `s${session}`;
    const base = 1_557_759_106 + session;
    const history = [['WAITING', base]];
    const steps = 1 + below(4);
    for (let step = 0; step < steps; step += 1) history.push([OPEN[below(OPEN.length)], base + 10 * (step + 1)]);
    history.push([[...FINAL][below(3)], base + 100]);
    const sent = [];
    for (const [status, second] of history) {
      const millis = String(below(1000)).padStart(3, '0');
      const stamp = new Date(second * 1000).toISOString().slice(0, 19) + `.${millis}Z`;
      const copies = below(3) === 0 ? 2 : 1;
      for (let i = 0; i < copies; i += 1) sent.push([sid, status, stamp]);
    }
    for (let i = sent.length - 1; i > 0; i -= 1) {
      const j = below(i + 1);
      [sent[i], sent[j]] = [sent[j], sent[i]];
    }
    out.push(...sent);
  }
  return out.slice(0, count);
}

function binding(batch) {
  const trackers = new Map();
  let finals = 0;
  for (const [sid, status, stamp] of batch) {
    let tracker = trackers.get(sid);
    if (tracker === undefined) {
      tracker = new Tracker();
      trackers.set(sid, tracker);
    }
    if (tracker.observe(status, stamp).becameFinal) finals += 1;
  }
  return finals;
}

function byHand(batch) {
  const held = new Map();
  let finals = 0;
  for (const [sid, status, stamp] of batch) {
    const at = Date.parse(stamp);
    if (Number.isNaN(at)) throw new Error(`bad updated_at ${stamp}`);
    const current = held.get(sid);
    if (current === undefined) {
      held.set(sid, { status, at });
      if (FINAL.has(status)) finals += 1;
    } else if (FINAL.has(current.status)) {
      // final is final
    } else if (FINAL.has(status)) {
      held.set(sid, { status, at });
      finals += 1;
    } else if (at > current.at) {
      held.set(sid, { status, at });
    }
  }
  return finals;
}

const count = Number(process.argv[2] ?? 200_000);
const batch = JSON.parse(JSON.stringify(deliveries(count)));
if (binding(batch) !== byHand(batch)) throw new Error('both must see every session become final once');
const sides = { 'hpp-status Tracker': binding, 'hand-written (Map + Date.parse)': byHand };
const rounds = 11;
const times = Object.fromEntries(Object.keys(sides).map((name) => [name, []]));
for (let round = 0; round < rounds; round += 1) {
  // Each side goes first in every other round: neither gains from its place.
  const order = Object.entries(sides);
  if (round % 2 === 1) order.reverse();
  for (const [name, run] of order) {
    const started = process.hrtime.bigint();
    run(batch);
    times[name].push(Number(process.hrtime.bigint() - started) / count);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Node.js ${process.version}, ${count} deliveries, ${rounds} rounds, ns per delivery`);
for (const [name, xs] of Object.entries(times)) {
  const line = `median ${median(xs).toFixed(0).padStart(7)}  min ${Math.min(...xs).toFixed(0).padStart(7)}  max ${Math.max(...xs).toFixed(0).padStart(7)}`;
  console.log(`  ${name.padEnd(38)} ${line}`);
}
const [ours, theirs] = Object.values(times);
const ratio = median(ours) / median(theirs);
// The two sides of one round ran back to back: their ratio is the least disturbed by other
// work on the machine.
const perRound = median(ours.map((t, round) => t / theirs[round]));
console.log(`  binding / hand-written: ${ratio.toFixed(2)}x (of the medians), ${perRound.toFixed(2)}x (median of each round's ratio)`);
