// What the browser tests share: a real `kefu serve` on a fresh database, a test site served from
// another origin (127.0.0.2) than Kefu (127.0.0.1), agents speaking protocol v1 over a real
// socket, and Debian's chromium driven by playwright-core.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.KEFU_BIN || join(root, 'target/debug/kefu');
export const PASSWORD = 'a password for the browser tests';
const WAIT_MS = 10000;

/** Runs a `kefu` admin command on the server's database; returns what it printed. */
export function kefu(env, args, input = '') {
  const done = spawnSync(bin, args, { env: { ...process.env, ...env }, input, encoding: 'utf8' });
  if (done.status !== 0) throw new Error(`kefu ${args.join(' ')} failed: ${done.stderr}`);
  return done.stdout;
}

/**
 * A Kefu server with one tenant, one site allowed on the test origin, and an owner; the test
 * site on 127.0.0.2; and a disallowed origin on 127.0.0.3.
 */
export async function startKefu({ maxUpload, env: settings = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kefu-e2e-'));
  const pages = await startPages();
  const env = {
    KEFU_DATABASE_URL: `sqlite:${dir}/kefu.db`,
    KEFU_DATA_DIR: dir,
    RUST_LOG: 'warn',
    ...(maxUpload ? { KEFU_MAX_UPLOAD_BYTES: String(maxUpload) } : {}),
    ...settings,
  };
  const tenant = kefu(env, ['tenant', 'create', '--name', 'Acme']).split(' ')[2];
  const siteLine = kefu(env, ['site', 'create', '--tenant', tenant, '--name', 'Acme shop', '--origin', pages.origin]);
  const siteKey = siteLine.trim().split(' ').pop();
  const siteId = siteLine.split(' ')[2];
  const email = 'owner@acme.example';
  kefu(env, ['agent', 'create', '--tenant', tenant, '--email', email, '--name', 'Ana', '--role', 'owner'], PASSWORD + '\n');
  const server = new Kefu(env, dir);
  await server.start();
  pages.kefu = server;
  pages.siteKey = siteKey;
  return { server, pages, siteKey, siteId, tenant, email };
}

/** Servers still running; killed when this test process ends, however it ends. */
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** An HTTP call with an optional bearer token and JSON or raw body; answers `{status, body, headers}`. */
export async function call(url, method, { token, json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers.authorization = 'Bearer ' + token;
  if (json !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch (_) {}
  return { status: response.status, body: parsed, headers: response.headers };
}

export class Kefu {
  constructor(env, dir) {
    this.env = env;
    this.dir = dir;
    this.address = '';
    this.output = '';
  }

  /** Starts serving; on the same port as before when restarted. */
  async start() {
    const listen = this.address ? this.address.replace('http://', '') : '127.0.0.1:0';
    const child = spawn(bin, ['serve', '--listen', listen], { env: { ...process.env, ...this.env } });
    this.process = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.process.stderr.on('data', (chunk) => (this.output += chunk));
    this.address = await new Promise((resolve, reject) => {
      let out = '';
      this.process.stdout.on('data', (chunk) => {
        out += chunk;
        const found = out.match(/serving on (http:\/\/\S+)/);
        if (found) resolve(found[1]);
      });
      this.process.on('exit', (code) => reject(new Error(`kefu exited with ${code}: ${this.output}`)));
    });
  }

  /** Stops it as an operator would (SIGTERM): clients are told to reconnect. */
  async stop() {
    // Already stopped: it exited, or a signal ended it.
    if (!this.process || this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    await exited;
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A REST call; answers `{status, body}`. */
  async api(method, path, options = {}) {
    return call(this.address + path, method, options);
  }

  /** An access token for `email`; one login per agent (logins are limited to 10 a minute). */
  async login(email) {
    this.tokens ??= {};
    if (this.tokens[email]) return this.tokens[email];
    const { status, body } = await this.api('POST', '/api/v1/auth/login', { json: { email, password: PASSWORD } });
    if (status !== 200) throw new Error('login failed: ' + JSON.stringify(body));
    this.tokens[email] = body.tokens.access_token;
    return this.tokens[email];
  }

  /** An agent connected to the live socket, with every frame it received. */
  async agent(email) {
    const token = await this.login(email);
    const agent = new Agent(this.address.replace('http', 'ws') + '/ws/agent', token);
    await agent.connect();
    return agent;
  }
}

export class Agent {
  constructor(url, token) {
    this.url = url;
    this.token = token;
    this.frames = [];
    this.waiters = [];
  }

  async connect() {
    this.ws = new WebSocket(this.url);
    this.ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) waiter();
    };
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = reject;
    });
    this.send({ type: 'agent_hello', v: 1, access_token: this.token, status: 'online' });
    return this.waitFor((f) => f.type === 'site_state');
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  /** The first frame (already received or still to come) that `wanted` accepts. */
  waitFor(wanted, what = 'a frame') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(wanted);
        if (!found) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`));
      }, WAIT_MS);
      if (!check()) this.waiters.push(check);
    });
  }

  /** Forgets what it received so far. */
  clear() {
    this.frames = [];
  }

  close() {
    this.ws.close();
  }
}

/** Test pages on 127.0.0.2 (an allowed origin) and 127.0.0.3 (not allowed). */
export async function startPages() {
  // `first[path]` goes before the snippet, `extra[path]` after it.
  const pages = { origin: '', otherOrigin: '', kefu: null, siteKey: '', first: {}, extra: {} };
  const handler = (request, response) => {
    const url = new URL(request.url, 'http://x');
    const title = url.searchParams.get('title') || 'Acme shop';
    const head = url.searchParams.get('head') || '';
    const snippet = `<script>window.Kefu=window.Kefu||function(){(Kefu.q=Kefu.q||[]).push(arguments)}</script>
<script async src="${pages.kefu.address}/embed.js" data-site="${pages.siteKey}"></script>`;
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>${head}</head>
<body style="font:16px system-ui;margin:40px"><h1>Acme shop</h1><p>Lamps, chairs and tables.</p>${pages.first[url.pathname] || ''}${snippet}${pages.extra[url.pathname] || ''}</body></html>`);
  };
  const listen = (host) =>
    new Promise((resolve) => {
      const server = createServer(handler);
      server.listen(0, host, () => resolve(server));
    });
  const allowed = await listen('127.0.0.2');
  const other = await listen('127.0.0.3');
  pages.origin = `http://127.0.0.2:${allowed.address().port}`;
  pages.otherOrigin = `http://127.0.0.3:${other.address().port}`;
  pages.close = () => {
    allowed.close();
    other.close();
  };
  return pages;
}

/** Debian's chromium, headless, as the toolchain notes say. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * The agent console of `server` in a fresh browser context, logged out, with its script errors
 * kept in `page.logged`. With `background`, the window never has the focus and notifications
 * are granted and recorded in `window.shown`.
 */
export async function consolePage(browser, server, { viewport, locale = 'en-US', background = false, context } = {}) {
  context ??= await browser.newContext({ viewport: viewport || { width: 1400, height: 900 }, locale });
  const page = await context.newPage();
  page.logged = [];
  page.on('pageerror', (error) => page.logged.push('pageerror: ' + error.message));
  if (background) {
    await page.addInitScript(() => {
      window.shown = [];
      document.hasFocus = () => false;
      window.Notification = class {
        static permission = 'granted';
        static requestPermission() {
          return Promise.resolve('granted');
        }
        constructor(title, options) {
          window.shown.push({ title, body: options.body, tag: options.tag });
          window.lastNotification = this;
        }
        close() {}
      };
    });
  }
  await page.goto(server.address + '/console/');
  return page;
}

/** Fills the console's login form (English) and logs in. */
export async function logIn(page, email, password = PASSWORD) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The console, logged in as `email` and connected. */
export async function consoleAs(browser, server, email, { password = PASSWORD, ...options } = {}) {
  const page = await consolePage(browser, server, options);
  await logIn(page, email, password);
  await page.getByRole('status').getByText('Connected').waitFor();
  return page;
}

/** A page of the test site, with what it logged and any script error kept. */
export async function openSite(browser, pages, { path = '/', viewport, locale = 'en-US', origin } = {}) {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 }, locale });
  const page = await context.newPage();
  page.logged = [];
  page.on('console', (message) => page.logged.push(message.type() + ': ' + message.text()));
  page.on('pageerror', (error) => page.logged.push('pageerror: ' + error.message));
  await page.goto((origin || pages.origin) + path);
  return page;
}

/** The launcher button, in the loader's shadow root. */
export function launcher(page) {
  return page.locator('#kefu-chat button.l');
}

/** The chat window inside the iframe. */
export function chatWindow(page) {
  return page.frameLocator('#kefu-chat iframe');
}

export async function until(condition, what, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A real PNG, `width` × `height`, of one colour. */
export function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [230, 120, 40]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}
