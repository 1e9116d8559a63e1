'use strict';
// The public API of the npm package `hpp-status`: a thin layer over the WebAssembly module
// that wasm-bindgen generates from bindings/js/src/lib.rs (./wasm/). Every rule, message and
// stored form comes from the Rust core; this file only turns answers into JavaScript values.

const raw = require('./wasm/hpp_status_js.js');

/** A step the transition table does not allow; `message` is the Rust crate's text. */
class TransitionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TransitionError';
  }
}

// Outcomes are a small fixed set: one frozen object per kind and finality.
const KINDS = raw.outcomeKinds();
const OUTCOMES = KINDS.flatMap((kind) => [
  Object.freeze({ kind, becameFinal: false }),
  Object.freeze({ kind, becameFinal: true }),
]);

const STATUSES = Object.freeze(raw.statusNames());
// A status name's index in the core's order, for the tracker's fast path (no prototype: only
// the names are keys).
const STATUS_INDEX = Object.assign(Object.create(null), Object.fromEntries(STATUSES.map((name, index) => [name, index])));
const REFUSED = 0xffffffff;
// Added to an outcome code when the delivery changed what the tracker holds.
const CHANGED = 8;
// The status index of a tracker that has seen nothing.
const NO_STATUS = 255;

// The module's memory: the tracker's fast path encodes `updatedAt` straight into its scratch
// buffer (no copy allocated per call, which wasm-bindgen's string passing would make), and
// reads a changed tracker's state from its state buffer (second, nanosecond, offset, status
// index).
const MEMORY = raw.wasmMemory();
const SCRATCH_LEN = 40;
let scratch = new Uint8Array(MEMORY.buffer, raw.scratchAddress(), SCRATCH_LEN);
let state = new Float64Array(MEMORY.buffer, raw.stateAddress(), 4);

/** The views again after the memory grew (which detaches the old ones). */
function remap() {
  scratch = new Uint8Array(MEMORY.buffer, raw.scratchAddress(), SCRATCH_LEN);
  state = new Float64Array(MEMORY.buffer, raw.stateAddress(), 4);
}

// encodeInto rather than a loop of charCodeAt: about as fast on a flat string, and faster on
// one built by concatenation (which V8 keeps as a rope until something flattens it).
const ENCODER = new TextEncoder();

/** Writes `text` as UTF-8 into the scratch buffer; its length in bytes, or -1 when it does not fit. */
function toScratch(text) {
  if (text.length > SCRATCH_LEN) return -1;
  if (scratch.length === 0) remap();
  const done = ENCODER.encodeInto(text, scratch);
  return done.read === text.length ? done.written : -1;
}
const ACTIONS = Object.freeze(raw.actionNames());

function parseStatus(text) {
  return raw.parseStatus(String(text));
}

function isFinal(status) {
  return raw.isFinal(String(status));
}

function canTransition(from, to) {
  return raw.canTransition(String(from), String(to));
}

function canReach(from, to) {
  return raw.canReach(String(from), String(to));
}

function apply(status, action) {
  const next = raw.apply(String(status), String(action));
  if (next === undefined) {
    throw new TransitionError(raw.transitionError(String(status), String(action)));
  }
  return next;
}

function asBody(body) {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  throw new TypeError('the body must be a string or a Uint8Array (such as a Buffer)');
}

function parseSession(body) {
  const given = asBody(body);
  return typeof given === 'string' ? raw.parseSession(given) : raw.parseSessionBytes(given);
}

function parseCallback(body) {
  const given = asBody(body);
  return typeof given === 'string' ? raw.parseCallback(given) : raw.parseCallbackBytes(given);
}

function refused(code) {
  if (code === REFUSED) throw new Error(raw.takeError());
  return code;
}

/** Merges every report of one session into the one status to believe. */
class Tracker {
  // What the core's tracker holds, as numbers (see `State` in src/lib.rs): the object owns no
  // memory of the module. Each call hands them to the core with the delivery; when the core
  // says the delivery changed them, the new ones are read from the state buffer.
  #status = NO_STATUS;
  #second = 0;
  #nanosecond = 0;
  #offset = 0;

  /** Takes the state the last call left in the state buffer when `code` says it changed. */
  #update(code) {
    if (code & CHANGED) {
      if (state.length === 0) remap();
      this.#second = state[0];
      this.#nanosecond = state[1];
      this.#offset = state[2];
      this.#status = state[3];
    }
    return OUTCOMES[code & (CHANGED - 1)];
  }

  /** One delivery: a wire status name and its RFC 3339 `updated_at`. */
  observe(status, updatedAt) {
    let index = typeof status === 'string' ? STATUS_INDEX[status] : undefined;
    // Not a name as given: the core's message, or the name its text is (a String object...).
    if (index === undefined) index = STATUS_INDEX[raw.parseStatus(String(status))];
    const length = typeof updatedAt === 'string' ? toScratch(updatedAt) : -1;
    const code =
      length >= 0
        ? raw.trackerObserveScratch(this.#status, this.#second, this.#nanosecond, this.#offset, index, length)
        : raw.trackerObserve(this.#status, this.#second, this.#nanosecond, this.#offset, index, String(updatedAt));
    return this.#update(refused(code));
  }

  /** A session from parseSession or parseCallback; throws saying why it cannot be ordered. */
  observeSession(session) {
    if (!(session instanceof raw.Session)) {
      throw new TypeError('observeSession takes what parseSession or parseCallback returned');
    }
    const code = raw.trackerObserveSession(this.#status, this.#second, this.#nanosecond, this.#offset, session);
    return this.#update(refused(code));
  }

  /** The status to believe, or undefined before any observation. */
  get status() {
    return STATUSES[this.#status];
  }

  /** The `updated_at` held, as the Rust crate writes it, or undefined. */
  get updatedAt() {
    return raw.trackerUpdatedAt(this.#status, this.#second, this.#nanosecond, this.#offset);
  }

  /** The stored form as an object: JSON.stringify(tracker) is the Rust crate's JSON. */
  toJSON() {
    return JSON.parse(raw.trackerToJson(this.#status, this.#second, this.#nanosecond, this.#offset));
  }

  /** A tracker from its stored form (the object or its text); strict. */
  static fromJSON(value) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (typeof text !== 'string') throw new TypeError('not a stored tracker: ' + String(value));
    const tracker = new Tracker();
    tracker.#update(refused(raw.trackerFromJson(text)) | CHANGED);
    return tracker;
  }
}

module.exports = {
  STATUSES,
  ACTIONS,
  TransitionError,
  Tracker,
  Session: raw.Session,
  parseStatus,
  isFinal,
  canTransition,
  canReach,
  apply,
  parseSession,
  parseCallback,
};
