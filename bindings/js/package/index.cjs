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
// A status name's index in the core's order, for the tracker's fast path.
const STATUS_INDEX = new Map(STATUSES.map((name, index) => [name, index]));
const REFUSED = 0xffffffff;

// The tracker's fast path writes an ASCII `updatedAt` straight into a buffer of the module's
// memory (raw.scratchAddress()) instead of allocating a copy for each call.
const SCRATCH = raw.scratchAddress();
const SCRATCH_LEN = 40;
const MEMORY = raw.wasmMemory();
let bytes = new Uint8Array(MEMORY.buffer);

/** Writes `text` into the scratch buffer; its length, or -1 when it does not fit or is not ASCII. */
function toScratch(text) {
  const length = text.length;
  if (length > SCRATCH_LEN) return -1;
  if (bytes.byteLength === 0) bytes = new Uint8Array(MEMORY.buffer); // memory grew: a new buffer
  for (let i = 0; i < length; i += 1) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return -1;
    bytes[SCRATCH + i] = code;
  }
  return length;
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

// A tracker is a slot of the module's arena, freed when its object is collected.
const SLOTS = new FinalizationRegistry((slot) => raw.trackerDrop(slot));
const ADOPT = Symbol('adopt a slot');

function refused(code) {
  if (code === REFUSED) throw new Error(raw.takeError());
  return code;
}

/** Merges every report of one session into the one status to believe. */
class Tracker {
  #slot;

  /** A tracker that has seen nothing. */
  constructor(...adopt) {
    // `fromJSON` hands over a slot it filled, with a key only this module holds.
    this.#slot = adopt[0] === ADOPT ? adopt[1] : raw.trackerNew();
    SLOTS.register(this, this.#slot);
  }

  /** One delivery: a wire status name and its RFC 3339 `updated_at`. */
  observe(status, updatedAt) {
    let index = STATUS_INDEX.get(status);
    // Not a name as given: the core's message, or the name its text is (a String object...).
    if (index === undefined) index = STATUS_INDEX.get(raw.parseStatus(String(status)));
    const length = typeof updatedAt === 'string' ? toScratch(updatedAt) : -1;
    const code =
      length >= 0
        ? raw.trackerObserveScratch(this.#slot, index, length)
        : raw.trackerObserve(this.#slot, index, String(updatedAt));
    return OUTCOMES[refused(code)];
  }

  /** A session from parseSession or parseCallback; throws saying why it cannot be ordered. */
  observeSession(session) {
    if (!(session instanceof raw.Session)) {
      throw new TypeError('observeSession takes what parseSession or parseCallback returned');
    }
    return OUTCOMES[refused(raw.trackerObserveSession(this.#slot, session))];
  }

  /** The status to believe, or undefined before any observation. */
  get status() {
    return raw.trackerStatus(this.#slot);
  }

  /** The `updated_at` held, as the Rust crate writes it, or undefined. */
  get updatedAt() {
    return raw.trackerUpdatedAt(this.#slot);
  }

  /** The stored form as an object: JSON.stringify(tracker) is the Rust crate's JSON. */
  toJSON() {
    return JSON.parse(raw.trackerToJson(this.#slot));
  }

  /** A tracker from its stored form (the object or its text); strict. */
  static fromJSON(value) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (typeof text !== 'string') throw new TypeError('not a stored tracker: ' + String(value));
    return new Tracker(ADOPT, refused(raw.trackerFromJson(text)));
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
