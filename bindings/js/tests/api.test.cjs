// The package's surface beyond the vectors, through its CommonJS entry.
const { test } = require('node:test');
const assert = require('node:assert/strict');

const hpp = require('hpp-status');

test('require and import give the same objects', async () => {
  const esm = await import('hpp-status');
  assert.equal(esm.Tracker, hpp.Tracker);
  assert.equal(esm.apply, hpp.apply);
  assert.equal(require('hpp-status/package.json').name, 'hpp-status');
});

test('a refused step is a TransitionError with the core\'s words', () => {
  assert.throws(() => hpp.apply('COMPLETED', 'Disable'), (e) => {
    assert.ok(e instanceof hpp.TransitionError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'TransitionError');
    assert.equal(e.message, 'Disable is not possible from COMPLETED: COMPLETED is final');
    return true;
  });
  assert.throws(() => hpp.apply('BACK', 'Jump'), /unknown HPP action "Jump"/);
  assert.throws(() => hpp.apply('back', 'EnterPage'), /did you mean "BACK"/);
});

test('the tracker classifies deliveries and stores the Rust crate\'s form', () => {
  const tracker = new hpp.Tracker();
  assert.equal(tracker.status, undefined);
  assert.equal(JSON.stringify(tracker), '{"latest":null}');
  assert.deepEqual({ ...tracker.observe('IN_PROGRESS', '2019-05-13T14:51:46.288Z') }, { kind: 'advanced', becameFinal: false });
  assert.deepEqual({ ...tracker.observe('COMPLETED', '2019-05-13T16:53:00+02:00') }, { kind: 'advanced', becameFinal: true });
  assert.deepEqual({ ...tracker.observe('COMPLETED', '2019-05-13T14:53:00.000Z') }, { kind: 'duplicate', becameFinal: false });
  assert.equal(tracker.observe('IN_PROGRESS', '2019-05-13T14:51:46.288Z').kind, 'stale');
  assert.equal(tracker.observe('CANCELLED', '2019-05-13T14:54:00Z').kind, 'conflict');
  const stored = JSON.stringify(tracker);
  assert.equal(stored, '{"latest":{"status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z"}}');
  assert.equal(hpp.Tracker.fromJSON(JSON.parse(stored)).status, 'COMPLETED');
  assert.throws(() => hpp.Tracker.fromJSON({ v: 2, latest: null }), /unknown field/);
  assert.throws(() => hpp.Tracker.fromJSON({}), /missing field/);
  assert.throws(() => tracker.observe('COMPLETED', '2019-05-13'), /invalid RFC 3339 timestamp/);
  // A status given as an object whose text is a name is that status, never another one.
  const other = new hpp.Tracker();
  assert.equal(other.observe(new String('BACK'), '2019-05-13T14:51:46.288Z').kind, 'advanced');
  assert.equal(other.status, 'BACK');
});

test('bodies as text or bytes; a payload that cannot be ordered says why', () => {
  const body = '{"session":{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"},"event_id":7}';
  const callback = hpp.parseCallback(Buffer.from(body));
  assert.equal(callback.status, 'TIMEOUT');
  assert.deepEqual(callback.problems, ['event_id']);
  assert.throws(() => new hpp.Tracker().observeSession(callback), /TIMEOUT/);
  assert.throws(() => new hpp.Tracker().observeSession({ status: 'COMPLETED' }), TypeError);
  assert.throws(() => hpp.parseSession('[]'), /not a Read Session body/);
  assert.throws(() => hpp.parseSession(17), TypeError);
});

test('trackers keep working after the module\'s memory grew', () => {
  const tracker = new hpp.Tracker();
  assert.equal(tracker.observe('IN_PROGRESS', '2019-05-13T14:51:46.288Z').kind, 'advanced');
  // Passing this text to the module makes its memory grow, which detaches every view of it.
  const huge = '2019-05-13T14:51:46.288Z' + ' '.repeat(8 << 20);
  assert.throws(() => tracker.observe('COMPLETED', huge), /invalid RFC 3339 timestamp/);
  const outcome = tracker.observe('COMPLETED', '2019-05-13T14:53:00Z');
  assert.deepEqual({ ...outcome }, { kind: 'advanced', becameFinal: true });
  assert.equal(tracker.updatedAt, '2019-05-13T14:53:00.000Z');
  const other = new hpp.Tracker();
  assert.equal(other.observe('BACK', '2019-05-13T14:51:46.288Z').kind, 'advanced');
  assert.equal(JSON.stringify(other), '{"latest":{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}}');
});
