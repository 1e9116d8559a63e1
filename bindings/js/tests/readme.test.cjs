// The README's callback handler, run as a merchant would copy it, from the installed
// package's README: against a stub of Read Session, and once through node:http on loopback.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const readme = fs.readFileSync(path.join(path.dirname(require.resolve('hpp-status/package.json')), 'README.md'), 'utf8');
const source = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('async function onStatusCallback'));
const file = path.join(__dirname, 'readme-handler.cjs');
fs.writeFileSync(file, source);
const handler = require(file);

const COMPLETED = '{"session_id":"s1","status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z","authorization_token":"70850a20"}';
const IN_PROGRESS = Buffer.from('{"session_id":"s1","status":"IN_PROGRESS","updated_at":"2019-05-13T14:51:46.288Z"}');

test('the handler places the order once and refuses a forged callback', async () => {
  handler.secrets.set('s1', 's3cret');
  const call = (secret, body) => handler.onStatusCallback('s1', secret, async () => body);
  assert.deepEqual(await call('guess', COMPLETED), { do: 'refuse' });
  assert.deepEqual(await call('s3cret', IN_PROGRESS), { do: 'nothing' });
  assert.deepEqual(await call('s3cret', COMPLETED), { do: 'placeOrder', token: '70850a20' });
  assert.deepEqual(await call('s3cret', COMPLETED), { do: 'nothing' });
  assert.deepEqual(await call('s3cret', IN_PROGRESS), { do: 'nothing' });
  assert.deepEqual(await handler.onStatusCallback('s2', '', async () => COMPLETED), { do: 'refuse' });
  handler.secrets.set('s3', 'x');
  const timeout = await handler.onStatusCallback('s3', 'x', async () => '{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"}');
  assert.equal(timeout.do, 'investigate');
  assert.match(timeout.why, /TIMEOUT/);
});

test('the node:http server answers on loopback: 403 for a forged secret', async () => {
  handler.secrets.set('s4', 'k');
  await new Promise((resolve) => handler.server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${handler.server.address().port}/hpp/callbacks/s4`;
    const forged = await fetch(`${base}?secret=nope`, { method: 'POST', body: '{}' });
    assert.equal(forged.status, 403);
  } finally {
    await new Promise((resolve) => handler.server.close(resolve));
  }
});
