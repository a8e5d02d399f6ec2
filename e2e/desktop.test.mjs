// The desktop app (agent-desktop/), driven under Xvfb through tauri-driver and WebKitWebDriver:
// at first start it asks for the server (refusing what is not one), opens the server's console,
// logs in, shows a visitor's conversation, and a message arriving raises a notification and an
// unread count in the tray (the app writes each to the file KEFU_DESKTOP_EVENTS names).
// KEFU_SCREENSHOTS=1 keeps the window's picture in docs/screenshots/en-desktop.png.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { PASSWORD, root, startKefu, until } from './harness.mjs';

const app = process.env.KEFU_DESKTOP_BIN || join(root, 'agent-desktop/target/debug/kefu-desktop');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C name of an element reference
const WAIT_MS = 20_000;

let kefu, xvfb, driver, dir, session, base;

/** A W3C WebDriver command; answers its `value`. */
async function command(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(answer.value)}`);
  return answer.value;
}
const inSession = (method, path, body) => command(method, `/session/${session}${path}`, body);

/** The first element `css` finds, once there is one. */
async function find(css) {
  let last;
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    try {
      return (await inSession('POST', '/element', { using: 'css selector', value: css }))[ELEMENT];
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`no ${css} within ${WAIT_MS} ms: ${last}`);
}
const textOf = async (css) => inSession('GET', `/element/${await find(css)}/text`);
const click = async (css) => inSession('POST', `/element/${await find(css)}/click`, {});
async function type(css, text) {
  const element = await find(css);
  await inSession('POST', `/element/${element}/clear`, {});
  await inSession('POST', `/element/${element}/value`, { text });
}
/** Waits until the text of `css` matches `pattern`. */
async function textMatches(css, pattern) {
  await until(async () => pattern.test(await textOf(css).catch(() => '')), `${css} saying ${pattern}`, WAIT_MS);
}
const events = () =>
  existsSync(join(dir, 'events'))
    ? readFileSync(join(dir, 'events'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    : [];

before(async () => {
  assert.ok(existsSync(app), `build the desktop app first: cargo build --manifest-path agent-desktop/Cargo.toml (no ${app})`);
  kefu = await startKefu();
  // New conversations wait for an agent to accept them (the console opens on the waiting list).
  const owner = await kefu.server.login(kefu.email);
  const manual = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: false } });
  assert.equal(manual.status, 200);
  dir = mkdtempSync(join(tmpdir(), 'kefu-desktop-'));
  const display = `:${90 + (process.pid % 400)}`;
  xvfb = spawn('Xvfb', [display, '-screen', '0', '1400x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  const port = 20_000 + (process.pid % 20_000);
  base = `http://127.0.0.1:${port}`;
  driver = spawn('tauri-driver', ['--port', String(port), '--native-port', String(port + 1)], {
    stdio: 'ignore',
    env: {
      ...process.env,
      DISPLAY: display,
      LANG: 'en_US.UTF-8',
      // A first start: nothing remembered from another run.
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CACHE_HOME: join(dir, 'cache'),
      KEFU_DESKTOP_EVENTS: join(dir, 'events'),
    },
  });
  await until(async () => (await fetch(base + '/status').catch(() => null))?.ok, 'tauri-driver', WAIT_MS);
  const started = await command('POST', '/session', { capabilities: { alwaysMatch: { 'tauri:options': { application: app } } } });
  session = started.sessionId;
});

after(async () => {
  if (session) await inSession('DELETE', '').catch(() => {});
  driver?.kill();
  xvfb?.kill();
  kefu?.pages.close();
  await kefu?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the desktop app asks for the server, logs in, shows a conversation and notifies of a message', async () => {
  // First start: where is the server? What is not one is refused with the reason.
  await textMatches('h1', /Connect to your Kefu server/);
  await type('#server', 'not a server');
  await click('#go');
  await textMatches('#problem', /not a web address/);
  await type('#server', 'http://127.0.0.1:1');
  await click('#go');
  await textMatches('#problem', /Nothing answers at that address/);
  await type('#server', kefu.server.address);
  await click('#go');

  // The server's console, with the desktop's hooks in it.
  await find('form.login input[name=email]');
  assert.equal(await inSession('GET', '/url'), `${kefu.server.address}/console/`);
  await textMatches('form.login .server', new RegExp(`Server: ${new URL(kefu.server.address).host}`));
  await type('input[name=email]', kefu.email);
  await type('input[name=password]', PASSWORD);
  await click('form.login button[type=submit]');
  await find('.state.open');

  // A visitor writes: the conversation is listed, a notification is raised and the tray counts it.
  const visitor = new WebSocket(kefu.server.address.replace('http', 'ws') + '/ws/visitor', { origin: kefu.pages.origin });
  await new Promise((resolve, reject) => {
    visitor.on('open', resolve);
    visitor.on('error', reject);
  });
  visitor.send(JSON.stringify({ type: 'visitor_hello', v: 1, site_key: kefu.siteKey, page: { url: kefu.pages.origin + '/lamps', title: 'Lamps' } }));
  visitor.send(JSON.stringify({ type: 'send', cid: 'desktop-1', body: 'Is the brass lamp still for sale?' }));
  await until(() => events().some((e) => e.notify?.body === 'Is the brass lamp still for sale?'), 'the notification', WAIT_MS);
  const notice = events().find((e) => e.notify).notify;
  assert.match(notice.tag, /^c_/, 'one per conversation');
  assert.ok(events().some((e) => e.unread >= 1), 'the tray shows the unread count');
  await click('.items .item');
  await textMatches('section.chat', /Is the brass lamp still for sale\?/);
  if (process.env.KEFU_SCREENSHOTS) {
    const png = Buffer.from(await inSession('GET', '/screenshot'), 'base64');
    writeFileSync(join(root, 'docs/screenshots/en-desktop.png'), png);
  }
  visitor.close();
});
