// The SaaS shape on this machine: visitors and agents reach a site's room object through the
// Worker under `wrangler dev` (local workerd, offline), REST goes through the Worker to a
// `kefu serve` origin, and the room checks hellos and tokens itself.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startBehindEdge } from './edge.mjs';
import { Agent, PASSWORD, kefu as admin, png, until } from './harness.mjs';

let kefu, edge;

before(async () => {
  ({ kefu, edge } = await startBehindEdge());
});

after(async () => {
  await edge?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

/** A raw socket with every frame it received, and how it closed. */
function socket(url, origin) {
  const ws = new WebSocket(url, origin ? { origin } : {});
  const s = { ws, frames: [], closed: null, status: 0 };
  s.opened = new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
    ws.on('unexpected-response', (_, response) => {
      s.status = response.statusCode;
      reject(new Error(`answered ${response.statusCode}`));
    });
  });
  s.closing = new Promise((resolve) => ws.on('close', (code) => resolve((s.closed = code))));
  ws.on('message', (data) => s.frames.push(JSON.parse(String(data))));
  s.send = (frame) => ws.send(JSON.stringify(frame));
  s.waitFor = async (wanted, what) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const found = s.frames.find(wanted);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${what} within 10 s; got ${JSON.stringify(s.frames)}`);
  };
  return s;
}

/** A visitor on the test site, through the Worker; answers the socket once welcomed. */
async function visitor({ token, resume = [], origin = kefu.pages.origin } = {}) {
  const v = socket(edge.ws(`/ws/visitor?site=${kefu.siteKey}`), origin);
  await v.opened;
  v.send({
    type: 'visitor_hello', v: 1, site_key: kefu.siteKey, visitor_token: token, resume,
    page: { url: kefu.pages.origin + '/lamps', title: 'Lamps' },
  });
  return v;
}

/** An agent on the site's socket, and a visitor who wrote `body` and was acknowledged. */
async function chatting(cid, body) {
  const token = await kefu.server.login(kefu.email);
  const agent = new Agent(edge.ws(`/ws/agent?site=${kefu.siteId}`), token);
  await agent.connect();
  const v = await visitor();
  await v.waitFor((f) => f.type === 'welcome', 'welcome');
  v.send({ type: 'send', cid, body });
  const ack = await v.waitFor((f) => f.type === 'ack' && f.cid === cid, 'the ack');
  await agent.waitFor((f) => f.type === 'message' && f.body === body, 'the message');
  return { agent, v, ack };
}

/** REST through the Worker. */
async function api(method, path, { token, json } = {}) {
  const headers = {};
  if (token) headers.authorization = 'Bearer ' + token;
  if (json) headers['content-type'] = 'application/json';
  const response = await fetch(edge.address + path, { method, headers, body: json && JSON.stringify(json) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

test('a visitor and an agent chat through the site room object', async () => {
  // Logging in and asking where to connect go through the Worker to the origin.
  const login = await api('POST', '/api/v1/auth/login', { json: { email: kefu.email, password: PASSWORD } });
  assert.equal(login.status, 200);
  const token = login.body.tokens.access_token;
  const live = await api('GET', '/api/v1/live', { token });
  assert.deepEqual(live.body.endpoints, [{ url: `/ws/agent?site=${kefu.siteId}`, sites: [kefu.siteId] }]);

  const agent = new Agent(edge.ws(live.body.endpoints[0].url), token);
  await agent.connect();
  const welcome = agent.frames.find((f) => f.type === 'agent_welcome');
  assert.deepEqual(welcome.sites, [{ id: kefu.siteId, name: 'Acme shop' }]);
  assert.equal(welcome.name, 'Ana');

  const v = await visitor();
  const hello = await v.waitFor((f) => f.type === 'welcome', 'welcome');
  assert.equal(hello.site, kefu.siteId);
  assert.equal(hello.agents_online, true);
  await agent.waitFor((f) => f.type === 'visitor_arrived' && f.visitor.visitor === hello.visitor, 'the visitor arriving');

  v.send({ type: 'send', cid: 'edge-1', body: 'Hello from the edge' });
  const ack = await v.waitFor((f) => f.type === 'ack' && f.cid === 'edge-1', 'the ack');
  const message = await agent.waitFor((f) => f.type === 'message' && f.body === 'Hello from the edge', 'the message');
  assert.equal(message.seq, ack.seq);
  const conversation = message.conversation;

  agent.send({ type: 'send', site: kefu.siteId, conversation, cid: 'agent-1', body: 'Hi, how can I help?' });
  await agent.waitFor((f) => f.type === 'ack' && f.cid === 'agent-1', "the agent's ack");
  const reply = await v.waitFor((f) => f.type === 'message' && f.body === 'Hi, how can I help?', 'the reply');
  assert.equal(reply.sender.party, 'agent');

  // The same send again (a retry after a lost ack) is stored once: the same seq.
  v.send({ type: 'send', cid: 'edge-1', body: 'Hello from the edge' });
  await until(() => v.frames.filter((f) => f.type === 'ack' && f.cid === 'edge-1').length === 2, 'the second ack');
  assert.deepEqual(new Set(v.frames.filter((f) => f.cid === 'edge-1').map((f) => f.seq)), new Set([ack.seq]));

  // A socket the client closes is closed at once (the room answers the closing handshake).
  const closedAt = Date.now();
  v.ws.close();
  await v.closing;
  assert.ok(Date.now() - closedAt < 5_000, 'closed without waiting for a timeout');

  // Back with their token, the visitor gets what they missed, in order.
  const back = await visitor({ token: hello.visitor_token, resume: [{ conversation, last_seq: 0 }] });
  await back.waitFor((f) => f.type === 'welcome', 'welcome back');
  const replayed = await back.waitFor((f) => f.type === 'message' && f.body === 'Hi, how can I help?', 'the replay');
  const bodies = back.frames.filter((f) => f.type === 'message' && f.kind !== 'event').map((f) => f.body);
  assert.deepEqual(bodies, ['Hello from the edge', 'Hi, how can I help?']);
  assert.equal(replayed.conversation, conversation);
  back.ws.close();
  agent.close();

  // The room's outbox reaches the origin: its history has each message once, in order.
  const history = async () => {
    const { body } = await kefu.server.api('GET', `/api/v1/conversations/${conversation}/messages`, { token });
    return (body.items || []).filter((m) => m.kind !== 'event').map((m) => [m.seq, m.body]);
  };
  await until(async () => (await history()).length === 2, 'the messages at the origin');
  assert.deepEqual(await history(), [[ack.seq, 'Hello from the edge'], [reply.seq, 'Hi, how can I help?']]);
});

test('with the origin down visitors are still acknowledged, and the origin gets every message once it is back', async () => {
  const { agent, v, ack: first } = await chatting('down-0', 'Before the outage');
  const conversation = first.conversation;

  await kefu.server.stop();
  // With the first, as many as a visitor may send at once (the burst of 20).
  const sent = Array.from({ length: 19 }, (_, i) => `During the outage ${i + 1}`);
  for (const [i, body] of sent.entries()) v.send({ type: 'send', cid: `down-${i + 1}`, body });
  await until(() => sent.every((_, i) => v.frames.some((f) => f.type === 'ack' && f.cid === `down-${i + 1}`)), 'every ack while the origin is down');
  await until(() => agent.frames.filter((f) => f.type === 'message' && f.body.startsWith('During')).length === 19, 'the agent seeing them');

  // The visitor's history answers from the room meanwhile, with everything acknowledged.
  const visitorToken = v.frames.find((f) => f.type === 'welcome').visitor_token;
  const own = await fetch(`${edge.address}/api/v1/visitor/conversations/${conversation}/messages?limit=200`, {
    headers: { authorization: 'Bearer ' + visitorToken },
  });
  assert.equal(own.status, 200);
  const bodies = (await own.json()).items.filter((m) => m.kind !== 'event').map((m) => m.body);
  assert.deepEqual(bodies, ['Before the outage', ...sent]);
  const stranger = await fetch(`${edge.address}/api/v1/visitor/conversations/${conversation}/messages`, {
    headers: { authorization: 'Bearer ' + 'v1.e30.AAAA' },
  });
  assert.notEqual(stranger.status, 200);
  // The chat window's page is written at the edge (from the key's answer it remembers): it opens
  // with the origin down too.
  const page = await fetch(`${edge.address}/chat/${kefu.siteKey}?embed=1&parent=${encodeURIComponent(kefu.pages.origin)}&lang=en`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>[^<]+ · Chat<\/title>/);
  assert.ok(html.includes(`data-parent="${kefu.pages.origin}"`), html);
  assert.match(page.headers.get('content-security-policy'), /frame-ancestors /);

  // The room tried to deliver them and could not.
  const failed = () => edge.output.includes('the outbox could not reach the origin');
  await until(failed, 'a delivery failing while the origin is down', 15_000);
  await kefu.server.start();
  const fresh = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: kefu.email, password: PASSWORD } });
  const history = async () => {
    const { body } = await kefu.server.api('GET', `/api/v1/conversations/${conversation}/messages?limit=200`, { token: fresh.body.tokens.access_token });
    return (body.items || []).filter((m) => m.kind !== 'event').map((m) => m.body);
  };
  // The outbox retries with backoff (1 s, 2 s, 4 s, …): the origin converges.
  await until(async () => (await history()).length === 20, 'the origin catching up', 30_000);
  assert.deepEqual(await history(), ['Before the outage', ...sent]);
  const seqs = v.frames.filter((f) => f.type === 'ack' && f.cid.startsWith('down-')).map((f) => f.seq);
  assert.equal(seqs[0], first.seq);
  assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), `in order: ${seqs}`);
  v.ws.close();
  agent.close();
});

test('wrangler dev killed and started again mid-conversation: the visitor resumes and nothing is lost', async () => {
  const v = await visitor();
  const hello = await v.waitFor((f) => f.type === 'welcome', 'welcome');
  v.send({ type: 'send', cid: 'restart-1', body: 'Before the restart' });
  const ack = await v.waitFor((f) => f.type === 'ack' && f.cid === 'restart-1', 'the ack');
  const conversation = ack.conversation;

  await edge.restart();
  assert.notEqual(await v.closing, 1000, 'the socket dropped');

  const back = await visitor({ token: hello.visitor_token, resume: [{ conversation, last_seq: 0 }] });
  const welcome = await back.waitFor((f) => f.type === 'welcome', 'welcome back');
  assert.equal(welcome.visitor, hello.visitor);
  await back.waitFor((f) => f.type === 'message' && f.body === 'Before the restart', 'the replay from storage');
  back.send({ type: 'send', cid: 'restart-2', body: 'After the restart' });
  const next = await back.waitFor((f) => f.type === 'ack' && f.cid === 'restart-2', 'the ack after');
  assert.equal(next.conversation, conversation);
  assert.ok(next.seq > ack.seq);
  // A retry of the first send from before the restart is recognised.
  back.send({ type: 'send', cid: 'restart-1', body: 'Before the restart' });
  await until(() => back.frames.some((f) => f.type === 'ack' && f.cid === 'restart-1'), 'the retry acknowledged');
  assert.equal(back.frames.find((f) => f.type === 'ack' && f.cid === 'restart-1').seq, ack.seq);
  back.ws.close();
});

test('an object evicted from memory while its sockets stay open: nothing changes for the clients', async () => {
  const { agent, v, ack: first } = await chatting('evict-1', 'Before the eviction');
  const seen = { visitor: v.frames.length, agent: agent.frames.length };

  await edge.evict(kefu.siteId);
  v.send({ type: 'send', cid: 'evict-2', body: 'After the eviction' });
  const second = await v.waitFor((f) => f.type === 'ack' && f.cid === 'evict-2', 'the ack after');
  assert.equal(second.conversation, first.conversation);
  assert.ok(second.seq > first.seq);
  await agent.waitFor((f) => f.type === 'message' && f.body === 'After the eviction', 'the message after');
  agent.send({ type: 'send', site: kefu.siteId, conversation: first.conversation, cid: 'evict-a', body: 'Still here' });
  await v.waitFor((f) => f.type === 'message' && f.body === 'Still here', 'the reply after');
  v.send({ type: 'page', page: { url: kefu.pages.origin + '/chairs', title: 'Chairs' } });
  const moved = await agent.waitFor((f) => f.type === 'visitor_page', 'the visitor moving');
  assert.equal(moved.page.title, 'Chairs');
  // A retry of a send from before is still recognised.
  v.send({ type: 'send', cid: 'evict-1', body: 'Before the eviction' });
  await until(() => v.frames.filter((f) => f.cid === 'evict-1' && f.type === 'ack').length === 2, 'the retry acknowledged');
  assert.equal(v.frames.filter((f) => f.cid === 'evict-1' && f.type === 'ack')[1].seq, first.seq);

  // Nobody was welcomed again, sent away or told the room changed.
  const again = (frames) => frames.filter((f) => ['welcome', 'agent_welcome', 'site_state', 'visitor_arrived', 'error'].includes(f.type));
  assert.deepEqual(again(v.frames.slice(seen.visitor)), []);
  assert.deepEqual(again(agent.frames.slice(seen.agent)), []);
  assert.equal(v.closed, null);
  v.ws.close();
  agent.close();
});

test('changes at the origin reach the room at once: a greeting, a new agent, a session ended', async () => {
  const owner = await kefu.server.login(kefu.email);
  const patched = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { greeting: 'Welcome to the edge' } });
  assert.equal(patched.status, 200);
  await until(async () => {
    const v = await visitor();
    const welcome = await v.waitFor((f) => f.type === 'welcome', 'welcome');
    v.ws.close();
    return welcome.greeting === 'Welcome to the edge';
  }, 'the new greeting');

  // An agent created at the origin is let in at once.
  const created = await kefu.server.api('POST', '/api/v1/agents', {
    token: owner,
    json: { email: 'bo@acme.example', name: 'Bo', password: PASSWORD, role: 'agent' },
  });
  assert.equal(created.status, 201);
  const bo = (await api('POST', '/api/v1/auth/login', { json: { email: 'bo@acme.example', password: PASSWORD } })).body.tokens.access_token;
  const agent = new Agent(edge.ws(`/ws/agent?site=${kefu.siteId}`), bo);
  await until(async () => {
    try {
      await agent.connect();
      return true;
    } catch (_) {
      return false;
    }
  }, "Bo's socket welcomed");
  const closed = new Promise((resolve) => agent.ws.on('close', resolve));

  // A new password for Bo: his socket closes at once, and his old token opens nothing.
  const reset = await kefu.server.api('POST', `/api/v1/agents/${created.body.id}/password`, { token: owner, json: { password: 'another password for Bo' } });
  assert.equal(reset.status, 204);
  assert.equal(await closed, 4001);
  const old = socket(edge.ws(`/ws/agent?site=${kefu.siteId}`));
  await old.opened;
  old.send({ type: 'agent_hello', v: 1, access_token: bo });
  assert.equal((await old.waitFor((f) => f.type === 'error', 'the refusal')).code, 'unauthorized');
  assert.equal(await old.closing, 4001);
});

test("files go to the edge's R2 bucket: a visitor's upload is sent, and only the tenant's agents fetch it", async () => {
  const { agent, v, ack } = await chatting('file-0', 'I have a photo of the lamp');
  const visitorToken = v.frames.find((f) => f.type === 'welcome').visitor_token;
  const picture = png(3, 2);
  const uploaded = await fetch(`${edge.address}/api/v1/files?name=${encodeURIComponent('台灯 lamp.png')}`, {
    method: 'POST',
    headers: { authorization: 'Bearer ' + visitorToken, 'content-type': 'image/png' },
    body: picture,
  });
  assert.equal(uploaded.status, 201);
  const { attachment, attachment_token } = await uploaded.json();
  assert.equal(attachment.name, '台灯 lamp.png');
  v.send({ type: 'send', cid: 'file-1', body: 'Here it is', attachment: attachment_token });
  await v.waitFor((f) => f.type === 'ack' && f.cid === 'file-1', 'the ack');
  const message = await agent.waitFor((f) => f.type === 'message' && f.cid === 'file-1', 'the message with the file');
  assert.equal(message.attachment.id, attachment.id);
  assert.equal(message.conversation, ack.conversation);

  const token = await kefu.server.login(kefu.email);
  const fetched = await fetch(`${edge.address}/api/v1/files/${attachment.id}`, { headers: { authorization: 'Bearer ' + token } });
  assert.equal(fetched.status, 200);
  assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), picture);
  // The bucket is not reachable from outside, and another tenant's agent gets nothing.
  assert.equal((await fetch(`${edge.address}/internal/v1/files/${kefu.tenant}/${attachment.id}`)).status, 404);
  const env = { KEFU_DATABASE_URL: kefu.server.env.KEFU_DATABASE_URL };
  const other = admin(env, ['tenant', 'create', '--name', 'Initech']).split(' ')[2];
  admin(env, ['agent', 'create', '--tenant', other, '--email', 'ian@initech.example', '--name', 'Ian', '--role', 'owner'], PASSWORD + '\n');
  const ian = await api('POST', '/api/v1/auth/login', { json: { email: 'ian@initech.example', password: PASSWORD } });
  const theirs = await fetch(`${edge.address}/api/v1/files/${attachment.id}`, { headers: { authorization: 'Bearer ' + ian.body.tokens.access_token } });
  assert.equal(theirs.status, 404);
  v.ws.close();
  agent.close();
});

test('the Worker refuses unknown site keys; the room refuses bad hellos and tokens', async () => {
  const unknown = socket(edge.ws('/ws/visitor?site=k_nobody'));
  await assert.rejects(unknown.opened);
  assert.equal(unknown.status, 404);
  const noPage = await fetch(`${edge.address}/chat/k_nobody`);
  assert.equal(noPage.status, 404);
  assert.match(await noPage.text(), /This chat does not exist/);

  // The page's origin must be one the site allows.
  const elsewhere = await visitor({ origin: kefu.pages.otherOrigin });
  const refused = await elsewhere.waitFor((f) => f.type === 'error', 'the refusal');
  assert.equal(refused.code, 'forbidden');
  assert.equal(await elsewhere.closing, 4003);
  // The chat page the edge writes itself is at home on every site.
  const own = await visitor({ origin: edge.address });
  await own.waitFor((f) => f.type === 'welcome', 'the welcome on the chat page');
  own.ws.close();

  // A forged visitor token.
  const forged = await visitor({ token: 'v1.e30.AAAA' });
  assert.equal((await forged.waitFor((f) => f.type === 'error', 'the refusal')).code, 'unauthorized');
  assert.equal(await forged.closing, 4001);

  // Something before the hello is answered and the socket waits for the hello.
  const early = socket(edge.ws(`/ws/visitor?site=${kefu.siteKey}`), kefu.pages.origin);
  await early.opened;
  early.send({ type: 'send', cid: 'x', body: 'too soon' });
  assert.equal((await early.waitFor((f) => f.type === 'error', 'hello_required')).code, 'hello_required');
  early.ws.send('not json');
  await early.waitFor((f) => f.code === 'bad_frame', 'bad_frame');
  early.ws.close();

  // An agent with a token that is not one, and an agent of another tenant.
  const forgedAgent = socket(edge.ws(`/ws/agent?site=${kefu.siteId}`));
  await forgedAgent.opened;
  forgedAgent.send({ type: 'agent_hello', v: 1, access_token: 'not a token' });
  assert.equal(await forgedAgent.closing, 4001);

  const env = { KEFU_DATABASE_URL: kefu.server.env.KEFU_DATABASE_URL };
  const other = admin(env, ['tenant', 'create', '--name', 'Globex']).split(' ')[2];
  admin(env, ['agent', 'create', '--tenant', other, '--email', 'gina@globex.example', '--name', 'Gina', '--role', 'owner'], PASSWORD + '\n');
  const gina = await api('POST', '/api/v1/auth/login', { json: { email: 'gina@globex.example', password: PASSWORD } });
  const intruder = socket(edge.ws(`/ws/agent?site=${kefu.siteId}`));
  await intruder.opened;
  intruder.send({ type: 'agent_hello', v: 1, access_token: gina.body.tokens.access_token });
  assert.equal((await intruder.waitFor((f) => f.type === 'error', 'the refusal')).code, 'forbidden');
  assert.equal(await intruder.closing, 4003);
});

test('a socket that says nothing is closed after ten seconds (4002)', async () => {
  const silent = socket(edge.ws(`/ws/visitor?site=${kefu.siteKey}`), kefu.pages.origin);
  await silent.opened;
  const started = Date.now();
  assert.equal(await silent.closing, 4002);
  assert.ok(Date.now() - started >= 9_000, 'not before its time');
});

// Last: it spends this address's budget for the next ten seconds.
test('one address opening sockets without end is refused with 429 at the edge', async () => {
  // The limit is 100 per ten-second window; 250 attempts span at most two windows.
  const opened = [];
  let refused = 0;
  for (let i = 0; i < 250; i++) {
    const s = socket(edge.ws(`/ws/visitor?site=${kefu.siteKey}`), kefu.pages.origin);
    try {
      await s.opened;
      opened.push(s);
    } catch (_) {
      if (s.status === 429) refused += 1;
    }
  }
  assert.ok(opened.length >= 90 && opened.length <= 200, `${opened.length} opened`);
  assert.ok(refused >= 50, `${refused} refused`);
  assert.equal(refused + opened.length, 250, 'every other attempt was refused with 429');
  for (const s of opened) s.ws.close();
});
