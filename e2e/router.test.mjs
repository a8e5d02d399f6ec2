// A self-hosted cluster as a visitor meets it: two `kefu serve` nodes on one MariaDB database,
// and the router (edge-router built as a Spin component, under `wasmtime serve`) in front. The
// site's snippet loads the loader from the router, which asks it where the site's room is and
// opens its socket straight at that node; the chat window and the API come through the router.
// The site then moves to the other node mid-conversation: the visitor follows, nothing is lost.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, PASSWORD, call, chatWindow, kefu, launchBrowser, launcher, openSite, root, startPages, until } from './harness.mjs';

const serverUrl = (process.env.KEFU_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const server = new URL(serverUrl);
const database = `kefu_router_${process.pid}_${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), 'kefu-router-'));
const env = { KEFU_DATABASE_URL: `${serverUrl}/${database}`, KEFU_DATA_DIR: dir, RUST_LOG: 'warn' };
const children = [];
let pages, browser, router, nodes, siteKey, siteId;

/** Runs SQL on the MariaDB server of the tests (its command-line client). */
function sql(statement) {
  const args = ['-h', server.hostname, '-P', server.port || '3306', '-u', decodeURIComponent(server.username || 'root')];
  if (server.password) args.push('-p' + decodeURIComponent(server.password));
  const done = spawnSync('mariadb', [...args, '-e', statement], { encoding: 'utf8' });
  if (done.status !== 0) throw new Error(`${statement}: ${done.stderr || done.error}`);
}

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a process and waits until `GET {address}/healthz` answers 200. */
async function started(command, args, extraEnv, address) {
  const child = spawn(command, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  children.push(child);
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${output}`);
    const health = await fetch(address + '/healthz').catch(() => null);
    if (health?.ok) return child;
    if (Date.now() > deadline) throw new Error(`${command} did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  sql(`CREATE DATABASE ${database} CHARACTER SET utf8mb4`);
  pages = await startPages();
  const tenant = kefu(env, ['tenant', 'create', '--name', 'Acme']).split(' ')[2];
  const site = kefu(env, ['site', 'create', '--tenant', tenant, '--name', 'Acme shop', '--origin', pages.origin]);
  siteKey = site.trim().split(' ').pop();
  siteId = site.split(' ')[2];
  kefu(env, ['agent', 'create', '--tenant', tenant, '--email', 'ana@acme.example', '--name', 'Ana', '--role', 'owner'], PASSWORD + '\n');
  nodes = [];
  for (const name of ['n1', 'n2']) {
    const port = await freePort();
    const address = `http://127.0.0.1:${port}`;
    const args = ['serve', '--listen', `127.0.0.1:${port}`, '--node-url', address, '--node-name', name, '--lease-secs', '3'];
    await started(process.env.KEFU_BIN || join(root, 'target/debug/kefu'), args, env, address);
    nodes.push({ name, address });
  }
  const port = await freePort();
  router = `http://127.0.0.1:${port}`;
  const wasmtime = process.env.KEFU_WASMTIME || join(root, 'target/tools/wasmtime');
  const component = process.env.KEFU_ROUTER_WASM || join(root, 'target/wasm32-wasip2/edge/edge_router.wasm');
  const serve = ['serve', '--addr', `127.0.0.1:${port}`, '-Scli', '-Sp3', '-Shttp', '--idle-instance-timeout', '600s'];
  const told = nodes.map((node) => node.address).join(',');
  await started(wasmtime, [...serve, '--env', `KEFU_NODES=${told}`, component], {}, router);
  // The site's snippet names the router, as its owner pasted it.
  pages.kefu = { address: router };
  pages.siteKey = siteKey;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  pages?.close();
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  sql(`DROP DATABASE IF EXISTS ${database}`);
});

/** The owner, logged in through the router, on the socket `GET /api/v1/live` names. */
async function agentOnline() {
  const login = await call(router + '/api/v1/auth/login', 'POST', { json: { email: 'ana@acme.example', password: PASSWORD } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const token = login.body.tokens.access_token;
  const live = await call(router + '/api/v1/live', 'GET', { token });
  assert.equal(live.status, 200, JSON.stringify(live.body));
  const [endpoint] = live.body.endpoints;
  assert.deepEqual(endpoint.sites, [siteId]);
  const agent = new Agent(endpoint.url, token);
  await agent.connect();
  return agent;
}

/** The node whose address `url` (a socket's) is on. */
const nodeOf = (url) => nodes.find((node) => url.startsWith(node.address.replace('http', 'ws')));

test('the loader from the router opens its socket at the node hosting the site, and follows the site when it moves', async () => {
  const routed = await call(`${router}/route/${siteKey}`, 'GET');
  assert.equal(routed.status, 200, JSON.stringify(routed.body));
  const host = nodeOf(routed.body.url);
  assert.ok(host, `the router names a node: ${routed.body.url}`);
  let agent = await agentOnline();

  const sockets = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('websocket', (socket) => sockets.push(socket.url()));
  page.logged = [];
  page.on('pageerror', (error) => page.logged.push(error.message));
  await page.goto(pages.origin + '/');
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'the agent online, seen through the node');
  assert.deepEqual(sockets.map(nodeOf), [host], `one socket, at ${host.name}: ${sockets}`);

  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.fill('Do you deliver to Hangzhou?');
  await box.press('Enter');
  const first = await agent.waitFor((f) => f.type === 'message' && f.body === 'Do you deliver to Hangzhou?', 'the question');
  agent.send({ type: 'send', cid: 'a1', site: siteId, conversation: first.conversation, body: 'Yes, in two days.' });
  await chat.getByText('Yes, in two days.').waitFor();

  // The operator moves the site: the visitor's socket is sent on to the other node.
  const other = nodes.find((node) => node !== host);
  const moved = spawnSync(process.env.KEFU_BIN || join(root, 'target/debug/kefu'), ['site', 'move', '--site', siteId, '--to', other.name], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  assert.equal(moved.status, 0, moved.stderr);
  await until(() => sockets.map(nodeOf).at(-1) === other, `the visitor's socket at ${other.name}: ${sockets}`);
  agent.close();
  agent = await agentOnline();
  await box.fill('And to Suzhou?');
  await box.press('Enter');
  await agent.waitFor((f) => f.type === 'message' && f.body === 'And to Suzhou?', 'the question after the move');
  await chat.getByText('And to Suzhou?').waitFor();

  // Both questions and the answer are stored once each, in order.
  const token = (await call(router + '/api/v1/auth/login', 'POST', { json: { email: 'ana@acme.example', password: PASSWORD } })).body.tokens.access_token;
  const history = await call(`${router}/api/v1/conversations/${first.conversation}/messages`, 'GET', { token });
  const texts = history.body.items.filter((m) => m.kind === 'text').map((m) => m.body);
  assert.deepEqual(texts, ['Do you deliver to Hangzhou?', 'Yes, in two days.', 'And to Suzhou?']);
  assert.deepEqual(page.logged, []);
  agent.close();
  await context.close();
});
