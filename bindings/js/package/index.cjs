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

/** Merges every report of one session into the one status to believe. */
class Tracker {
  #inner;

  /** A tracker that has seen nothing. */
  constructor() {
    this.#inner = new raw.Tracker();
  }

  /** One delivery: a wire status name and its RFC 3339 `updated_at`. */
  observe(status, updatedAt) {
    return OUTCOMES[this.#inner.observe(status, updatedAt)];
  }

  /** A session from parseSession or parseCallback; throws saying why it cannot be ordered. */
  observeSession(session) {
    if (!(session instanceof raw.Session)) {
      throw new TypeError('observeSession takes what parseSession or parseCallback returned');
    }
    return OUTCOMES[this.#inner.observeSession(session)];
  }

  /** The status to believe, or undefined before any observation. */
  get status() {
    return this.#inner.status;
  }

  /** The `updated_at` held, as the Rust crate writes it, or undefined. */
  get updatedAt() {
    return this.#inner.updatedAt;
  }

  /** The stored form as an object: JSON.stringify(tracker) is the Rust crate's JSON. */
  toJSON() {
    return JSON.parse(this.#inner.toJsonText());
  }

  /** A tracker from its stored form (the object or its text); strict. */
  static fromJSON(value) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (typeof text !== 'string') throw new TypeError('not a stored tracker: ' + String(value));
    const inner = raw.Tracker.fromJsonText(text);
    const tracker = new Tracker();
    tracker.#inner.free();
    tracker.#inner = inner;
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
