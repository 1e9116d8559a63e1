// Replays bindings/vectors.json, the answers of the Rust core, against the installed npm
// package, through its ES module entry. HPP_VECTORS is the file's path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  ACTIONS,
  STATUSES,
  Tracker,
  TransitionError,
  apply,
  canReach,
  canTransition,
  isFinal,
  parseCallback,
  parseSession,
  parseStatus,
} from 'hpp-status';

const vectors = JSON.parse(readFileSync(process.env.HPP_VECTORS, 'utf8'));

const bodyOf = (c) => ('body' in c ? c.body : Uint8Array.from(Buffer.from(c.body_hex, 'hex')));
const orUndefined = (v) => (v === null ? undefined : v);

test('statuses and actions are the core\'s', () => {
  assert.deepEqual([...STATUSES], vectors.statuses.map((s) => s.name));
  assert.deepEqual([...ACTIONS], vectors.actions.map((a) => a.name));
  for (const s of vectors.statuses) {
    assert.equal(parseStatus(s.name), s.name);
    assert.equal(isFinal(s.name), s.final);
  }
});

test('transitions', () => {
  for (const c of vectors.transitions) {
    assert.equal(canTransition(c.from, c.to), c.can_transition, `${c.from} -> ${c.to}`);
    assert.equal(canReach(c.from, c.to), c.can_reach, `${c.from} ->* ${c.to}`);
  }
});

test('applications and their refusals', () => {
  for (const c of vectors.applications) {
    if (c.error === null) {
      assert.equal(apply(c.from, c.action), c.next);
    } else {
      assert.throws(() => apply(c.from, c.action), (e) => {
        assert.ok(e instanceof TransitionError && e instanceof Error);
        assert.equal(e.message, c.error);
        return true;
      });
    }
  }
});

test('status texts', () => {
  for (const c of vectors.status_texts) {
    if (c.error === null) {
      assert.equal(parseStatus(c.text), c.text);
    } else {
      assert.throws(() => parseStatus(c.text), { message: c.error });
      assert.throws(() => new Tracker().observe(c.text, '2019-05-13T14:51:46.288Z'), {
        message: c.error,
      });
    }
  }
});

test('timestamps', () => {
  for (const c of vectors.timestamps) {
    const tracker = new Tracker();
    if (c.error === null) {
      tracker.observe('WAITING', c.text);
      assert.equal(tracker.updatedAt, c.written);
    } else {
      assert.throws(() => tracker.observe('WAITING', c.text), { message: c.error });
      assert.equal(tracker.status, undefined);
    }
  }
});

test('tracker histories', () => {
  let delivered = 0;
  for (const history of vectors.histories) {
    const tracker = new Tracker();
    for (const d of history.deliveries) {
      if (d.error !== null) {
        assert.throws(() => tracker.observe(d.status, d.updated_at), { message: d.error });
        continue;
      }
      const outcome = tracker.observe(d.status, d.updated_at);
      assert.deepEqual({ ...outcome }, { kind: d.kind, becameFinal: d.became_final });
      assert.equal(tracker.status, d.held_status);
      assert.equal(tracker.updatedAt, d.held_updated_at);
      delivered += 1;
    }
    assert.equal(JSON.stringify(tracker), history.stored);
    assert.equal(JSON.stringify(Tracker.fromJSON(history.stored)), history.stored);
    assert.equal(JSON.stringify(Tracker.fromJSON(JSON.parse(history.stored))), history.stored);
  }
  assert.ok(delivered > 100);
});

test('stored forms', () => {
  for (const c of vectors.stored_forms) {
    if (c.refused) {
      assert.throws(() => Tracker.fromJSON(c.text), Error, c.text);
      continue;
    }
    const tracker = Tracker.fromJSON(c.text);
    assert.equal(tracker.status, orUndefined(c.status));
    assert.equal(tracker.updatedAt, orUndefined(c.updated_at));
    assert.equal(JSON.stringify(tracker), c.stored);
  }
});

const FIELDS = {
  status: 'status',
  updatedAt: 'updated_at',
  expiresAt: 'expires_at',
  sessionId: 'session_id',
  authorizationToken: 'authorization_token',
  orderId: 'order_id',
  klarnaReference: 'klarna_reference',
};

test('wire payloads, hostile ones included', () => {
  let read = 0;
  for (const c of vectors.payloads) {
    const body = bodyOf(c);
    for (const [parse, expected] of [
      [parseSession, c.session],
      [parseCallback, c.callback],
    ]) {
      if (expected.refused) {
        assert.throws(() => parse(body), Error, c.name);
        continue;
      }
      const session = parse(body);
      for (const [js, wire] of Object.entries(FIELDS)) {
        assert.equal(session[js], orUndefined(expected[wire]), `${c.name}: ${js}`);
      }
      assert.deepEqual(session.problems, expected.problems, c.name);
      if (parse === parseCallback) assert.equal(session.eventId, orUndefined(expected.event_id));
      const tracker = new Tracker();
      if (expected.observation.error === null) {
        assert.equal(tracker.observeSession(session).kind, 'advanced');
        assert.equal(tracker.status, expected.observation.status);
        assert.equal(tracker.updatedAt, expected.observation.updated_at);
      } else {
        assert.throws(() => tracker.observeSession(session), { message: expected.observation.error });
      }
      if (typeof body === 'string') {
        assert.deepEqual(parse(Buffer.from(body, 'utf8')).problems, session.problems);
      }
      read += 1;
    }
  }
  assert.ok(read > 250, `only ${read} readings`);
});
