// Types of the npm package `hpp-status` (CommonJS and ES module entries alike).

/** The wire names of the eight statuses of an HPP session. */
export type Status =
  | 'WAITING'
  | 'IN_PROGRESS'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'BACK'
  | 'ERROR'
  | 'DISABLED';

/** The names of the actions that move a session one step (the Rust crate's `Action::as_str`). */
export type Action = 'EnterPage' | 'Authorize' | 'Decline' | 'Cancel' | 'GoBack' | 'Fail' | 'Disable';

/** What one delivery meant to a Tracker. */
export type OutcomeKind = 'advanced' | 'duplicate' | 'stale' | 'conflict';

export interface Outcome {
  readonly kind: OutcomeKind;
  /** True exactly for the delivery that made the tracker final (or changed its final). */
  readonly becameFinal: boolean;
}

/** The stored form of a Tracker, exactly the Rust crate's. */
export interface StoredTracker {
  latest: null | { status: Status; updated_at: string };
}

/** Every status, in the Rust crate's order. */
export const STATUSES: readonly Status[];
/** Every action, in the Rust crate's order. */
export const ACTIONS: readonly Action[];

/** A step the transition table does not allow; `message` is the Rust crate's text. */
export class TransitionError extends Error {
  constructor(message: string);
  readonly name: 'TransitionError';
}

/** The status named exactly `text`; throws an Error naming it otherwise. */
export function parseStatus(text: string): Status;
/** Whether the session can never change again. */
export function isFinal(status: Status): boolean;
/** Whether `to` is one direct step from `from`. */
export function canTransition(from: Status, to: Status): boolean;
/** Whether `to` can follow `from` after one or more steps. */
export function canReach(from: Status, to: Status): boolean;
/** The status after `action`; throws a TransitionError saying why not. */
export function apply(status: Status, action: Action): Status;

/** A Read Session body or a status callback, read leniently as the Rust crate reads it. */
export class Session {
  private constructor();
  /** The status as the wire wrote it, known or not (such as "TIMEOUT"). */
  readonly status: string | undefined;
  /** `updated_at` as the Rust crate writes it (UTC, milliseconds); undefined when absent or unusable. */
  readonly updatedAt: string | undefined;
  readonly expiresAt: string | undefined;
  readonly sessionId: string | undefined;
  readonly authorizationToken: string | undefined;
  readonly orderId: string | undefined;
  readonly klarnaReference: string | undefined;
  /** A callback's `event_id`; always undefined for a Read Session body. */
  readonly eventId: string | undefined;
  /** The paths of the fields whose values could not be used, such as "expires_at". */
  readonly problems: string[];
  /** Why each of the session's fields could not be used. */
  readonly problemMessages: string[];
  /** Releases the WebAssembly memory now (otherwise done when garbage-collected). */
  free(): void;
}

/** A Read Session body (text or bytes); throws when it is not a JSON object. */
export function parseSession(body: string | Uint8Array): Session;
/** A status callback body (text or bytes); throws when it is not an object with a `session` object. */
export function parseCallback(body: string | Uint8Array): Session;

/** Merges every report of one session into the one status to believe. */
export class Tracker {
  constructor();
  /** One delivery: a wire status name and its RFC 3339 `updatedAt`; throws on either being malformed. */
  observe(status: Status | string, updatedAt: string): Outcome;
  /** A parsed session; throws saying why when it cannot be ordered. */
  observeSession(session: Session): Outcome;
  /** The status to believe, undefined before any observation. */
  readonly status: Status | undefined;
  /** The `updated_at` held, as the Rust crate writes it. */
  readonly updatedAt: string | undefined;
  /** The stored form: `JSON.stringify(tracker)` is the Rust crate's JSON. */
  toJSON(): StoredTracker;
  /** A tracker from its stored form (the object or its text); strict: throws on unknown or missing fields. */
  static fromJSON(value: StoredTracker | string): Tracker;
}
