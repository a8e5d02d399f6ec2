// The origin as AWS Lambda runs it, on this machine: cargo-lambda's emulator of the Lambda
// runtime API and of function URLs (`cargo lambda watch --only-lambda-apis`, installed by
// scripts/test) on loopback, and the built `kefu-lambda` taking its invocations, on the records a
// `kefu serve` made.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from './edge.mjs';
import { PASSWORD, call, root, startKefu, until } from './harness.mjs';

const emulatorBin = join(root, 'target/tools/cargo-lambda-1.9.2');
const functionBin = join(root, 'target/debug/kefu-lambda');
const secret = randomBytes(24).toString('base64url');

let kefu, emulator, lambda, base;
let output = '';

before(async () => {
  assert.ok(existsSync(emulatorBin), `no ${emulatorBin}: scripts/test installs it`);
  assert.ok(existsSync(functionBin), `no ${functionBin}: cargo build -p origin-api --features origin-api/lambda`);
  kefu = await startKefu();
  // Only the function answers from now on.
  await kefu.server.stop();
  const port = await freePort();
  emulator = spawn(emulatorBin, ['lambda', 'watch', '--only-lambda-apis', '-A', '127.0.0.1', '-P', String(port)], {
    cwd: root,
    detached: true,
  });
  emulator.stdout.on('data', (chunk) => (output += chunk));
  emulator.stderr.on('data', (chunk) => (output += chunk));
  await until(() => output.includes('starting Runtime server'), `the emulator: ${output}`, 30_000);
  lambda = spawn(functionBin, [], {
    env: {
      ...process.env,
      ...kefu.server.env,
      KEFU_EDGE_SECRET: secret,
      AWS_LAMBDA_FUNCTION_NAME: '_',
      AWS_LAMBDA_FUNCTION_VERSION: '1',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_RUNTIME_API: `http://127.0.0.1:${port}/.rt`,
    },
  });
  lambda.stdout.on('data', (chunk) => (output += chunk));
  lambda.stderr.on('data', (chunk) => (output += chunk));
  base = `http://127.0.0.1:${port}/lambda-url/_`;
  await until(async () => (await fetch(base + '/healthz', { signal: AbortSignal.timeout(5_000) }).catch(() => null))?.status === 200, `the function: ${output}`, 30_000);
});

after(async () => {
  lambda?.kill('SIGTERM');
  try {
    if (emulator) process.kill(-emulator.pid, 'SIGTERM');
  } catch (_) {}
  await kefu?.server.close();
  kefu?.pages.close();
});

/** A call through the function URL. */
const fn = (method, path, options) => call(base + path, method, options);

/** The edge's signature of a request, as chat_core::edge writes it. */
function signed(method, path, body = '', at = Date.now()) {
  const mac = createHmac('sha256', secret).update(`${method}\n${path}\n${at}\n`).update(body).digest('hex');
  return { 'x-kefu-signature': `t=${at},s=${mac}` };
}

test('an agent logs in and reads their records through the Lambda function', async () => {
  const login = await fn('POST', '/api/v1/auth/login', { json: { email: kefu.email, password: PASSWORD } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const token = login.body.tokens.access_token;
  const me = await fn('GET', '/api/v1/me', { token });
  assert.equal(me.status, 200);
  assert.equal(me.body.email, kefu.email);
  const sites = await fn('GET', '/api/v1/sites', { token });
  assert.equal(sites.status, 200);
  assert.ok(JSON.stringify(sites.body).includes(kefu.siteKey), JSON.stringify(sites.body));
  // A change made through the function is kept in the records.
  const renamed = await fn('PATCH', `/api/v1/sites/${kefu.siteId}`, { token, json: { greeting: 'Hi from Lambda' } });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  const again = await fn('GET', `/api/v1/sites/${kefu.siteId}`, { token });
  assert.equal(again.body.greeting, 'Hi from Lambda');
  // The window's page comes from the same router.
  const page = await fetch(`${base}/chat/${kefu.siteKey}?lang=en`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /frame-ancestors /);
});

test('bad input through the function gets the same clear errors as kefu serve', async () => {
  const wrong = await fn('POST', '/api/v1/auth/login', { json: { email: kefu.email, password: 'not it' } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'unauthorized');
  const malformed = await fn('POST', '/api/v1/auth/login', { body: '{"email": ', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.ok(malformed.body.error.message, JSON.stringify(malformed.body));
  assert.equal((await fn('GET', '/api/v1/me')).status, 401);
  assert.equal((await fn('GET', '/api/v1/me', { token: 'v1.forged.token' })).status, 401);
  const nowhere = await fn('GET', '/api/v1/no-such-thing');
  assert.equal(nowhere.status, 404);
});

test("the edge's internal endpoints answer only what the edge signed", async () => {
  const path = `/internal/v1/site-keys/${kefu.siteKey}`;
  assert.equal((await fn('GET', path)).status, 401, 'unsigned');
  const forged = { 'x-kefu-signature': `t=${Date.now()},s=${'0'.repeat(64)}` };
  assert.equal((await fn('GET', path, { headers: forged })).status, 401, 'signed with another secret');
  const found = await fn('GET', path, { headers: signed('GET', path) });
  assert.equal(found.status, 200, JSON.stringify(found.body));
  assert.equal(found.body.site, kefu.siteId);
  assert.equal(found.body.page.key, kefu.siteKey);
  const room = `/internal/v1/sites/${kefu.siteId}/room`;
  const settings = await fn('GET', room, { headers: signed('GET', room) });
  assert.equal(settings.status, 200);
  assert.deepEqual(settings.body.agents.map((a) => a.name), ['Ana']);
  const batch = JSON.stringify({ site: kefu.siteId, writes: [] });
  const stale = signed('POST', '/internal/v1/outbox', batch, Date.now() - 3_600_000);
  assert.equal((await fn('POST', '/internal/v1/outbox', { body: batch, headers: stale })).status, 401, 'an old signature');
  const stored = await fn('POST', '/internal/v1/outbox', { body: batch, headers: signed('POST', '/internal/v1/outbox', batch) });
  assert.equal(stored.status, 200, JSON.stringify(stored.body));
});
