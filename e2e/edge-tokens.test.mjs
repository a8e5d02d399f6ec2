// An agent's socket on the edge lasts as long as its access token, as self-hosted: a `refresh`
// frame with a fresh token carries it on, and without one it closes when the token expires.
// Access tokens live five seconds here.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Edge, edgeKeys } from './edge.mjs';
import { Agent, PASSWORD, startKefu, until } from './harness.mjs';

let kefu, edge;

before(async () => {
  const keys = edgeKeys();
  kefu = await startKefu({ env: { ...keys.origin, KEFU_ACCESS_TOKEN_TTL_SECS: '5' } });
  edge = await Edge.start(kefu.server.address, keys);
});

after(async () => {
  await edge?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

test('a refreshed agent socket outlives its first token, and closes when the last one expires', async () => {
  const login = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: kefu.email, password: PASSWORD } });
  const first = login.body.tokens;
  const agent = new Agent(edge.ws(`/ws/agent?site=${kefu.siteId}`), first.access_token);
  await agent.connect();
  const closed = new Promise((resolve) => agent.ws.on('close', resolve));

  // Not a token: refused, the socket stays.
  agent.send({ type: 'refresh', access_token: 'not a token' });
  assert.equal((await agent.waitFor((f) => f.type === 'error', 'the refusal')).code, 'unauthorized');

  // Halfway through the first token's life, a fresh one (it ends 2.5 s after the first).
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const renewed = await kefu.server.api('POST', '/api/v1/auth/refresh', { json: { refresh_token: first.refresh_token } });
  assert.equal(renewed.status, 200);
  agent.send({ type: 'refresh', access_token: renewed.body.access_token });
  const refreshed = await agent.waitFor((f) => f.type === 'refreshed', 'refreshed');

  // Past the first token's end the socket is still there and answers.
  const firstEnds = JSON.parse(Buffer.from(first.access_token.split('.')[1], 'base64url')).exp;
  await until(() => Date.now() > firstEnds + 500, 'the first token expiring', 10_000);
  agent.send({ type: 'ping', t: 7 });
  await agent.waitFor((f) => f.type === 'pong' && f.t === 7, 'a pong after the first token expired');

  // No more refreshes: it closes when the second token expires, saying why.
  assert.equal(await closed, 4001);
  assert.ok(Date.now() >= refreshed.expires_at, 'not before the token expired');
  assert.equal(agent.frames.filter((f) => f.type === 'error').at(-1).code, 'token_expired');
});
