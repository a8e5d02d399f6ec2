// The desktop app (agent-desktop/) under Xvfb, driven through tauri-driver and WebKitWebDriver
// with plain W3C WebDriver requests. Shared by the desktop test and the desktop soak.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PASSWORD, root, until } from './harness.mjs';

export const app = process.env.KEFU_DESKTOP_BIN || join(root, 'agent-desktop/target/debug/kefu-desktop');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C name of an element reference
const WAIT_MS = 20_000;

export class Desktop {
  /**
   * Starts the app at its first start (nothing remembered), on a display of its own; every
   * notification and unread count it raises is kept for `events()`.
   */
  static async start({ tray = false } = {}) {
    assert.ok(existsSync(app), `build the desktop app first: cargo build --manifest-path agent-desktop/Cargo.toml (no ${app})`);
    const desktop = new Desktop();
    try {
      await desktop.#launch(tray);
      return desktop;
    } catch (error) {
      await desktop.close();
      throw error;
    }
  }

  /** @param {boolean} tray whether to show a panel with a tray the app's icon goes in (for pictures) */
  async #launch(tray) {
    this.dir = mkdtempSync(join(tmpdir(), 'kefu-desktop-'));
    // A display nobody uses, once its socket is there.
    let n = 90 + (process.pid % 400);
    while (existsSync(`/tmp/.X${n}-lock`)) n++;
    this.display = `:${n}`;
    // With a tray, the screen is the window (1280 × 820) above a 32-pixel panel.
    const size = tray ? '1280x852x24' : '1400x900x24';
    this.xvfb = spawn('Xvfb', [this.display, '-screen', '0', size, '-nolisten', 'tcp'], { stdio: 'ignore' });
    await until(() => existsSync(`/tmp/.X11-unix/X${n}`), `the display ${this.display}`, WAIT_MS);
    const session = tray ? await this.#panel() : {};
    const port = 20_000 + (process.pid % 20_000);
    this.base = `http://127.0.0.1:${port}`;
    this.driver = spawn('tauri-driver', ['--port', String(port), '--native-port', String(port + 1)], {
      stdio: 'ignore',
      env: {
        ...process.env,
        ...session,
        DISPLAY: this.display,
        LANG: 'en_US.UTF-8',
        // A first start: nothing remembered from another run.
        XDG_CONFIG_HOME: join(this.dir, 'config'),
        XDG_DATA_HOME: join(this.dir, 'data'),
        XDG_CACHE_HOME: join(this.dir, 'cache'),
        KEFU_DESKTOP_EVENTS: join(this.dir, 'events'),
      },
    });
    await until(async () => (await fetch(this.base + '/status').catch(() => null))?.ok, 'tauri-driver', WAIT_MS);
    const started = await this.command('POST', '/session', { capabilities: { alwaysMatch: { 'tauri:options': { application: app } } } });
    this.session = started.sessionId;
  }

  /**
   * A D-Bus session of its own with an Xfce panel at the top of the display, whose tray shows the
   * app's icon (status notifier items); answers the environment that reaches that session.
   */
  async #panel() {
    const config = join(this.dir, 'panel');
    mkdirSync(join(config, 'xfce4/xfconf/xfce-perchannel-xml'), { recursive: true });
    copyFileSync(join(root, 'e2e/tray-panel.xml'), join(config, 'xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml'));
    const env = { ...process.env, DISPLAY: this.display, XDG_CONFIG_HOME: config };
    this.bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    const address = await new Promise((resolve) => this.bus.stdout.once('data', (chunk) => resolve(String(chunk).trim())));
    this.panel = spawn('xfce4-panel', [], { env: { ...env, DBUS_SESSION_BUS_ADDRESS: address }, stdio: ['ignore', 'ignore', process.env.KEFU_PANEL_LOG ? 'inherit' : 'ignore'] });
    // The tray is there once it watches for status notifier items.
    const watching = () =>
      spawnSync('dbus-send', ['--bus=' + address, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner', 'string:org.kde.StatusNotifierWatcher'], { encoding: 'utf8' }).stdout.includes('boolean true');
    await until(watching, 'the panel with its tray', WAIT_MS);
    return { DBUS_SESSION_BUS_ADDRESS: address };
  }

  /** The whole display as PNG, once what changed last is painted: the window and the panel with the tray. */
  async screen() {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return spawnSync('import', ['-display', this.display, '-window', 'root', 'png:-'], { maxBuffer: 64 << 20 }).stdout;
  }

  /** A W3C WebDriver command; answers its `value`. */
  async command(method, path, body) {
    const response = await fetch(this.base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(answer.value)}`);
    return answer.value;
  }

  /** A command of the session. */
  do(method, path, body) {
    return this.command(method, `/session/${this.session}${path}`, body);
  }

  /** The first element `css` finds, once there is one. */
  async find(css) {
    let last;
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      try {
        return (await this.do('POST', '/element', { using: 'css selector', value: css }))[ELEMENT];
      } catch (error) {
        last = error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    throw new Error(`no ${css} within ${WAIT_MS} ms: ${last}`);
  }

  async textOf(css) {
    return this.do('GET', `/element/${await this.find(css)}/text`);
  }

  async click(css) {
    await this.do('POST', `/element/${await this.find(css)}/click`, {});
  }

  async type(css, text) {
    const element = await this.find(css);
    await this.do('POST', `/element/${element}/clear`, {});
    await this.do('POST', `/element/${element}/value`, { text });
  }

  /** Waits until the text of `css` matches `pattern`. */
  async textMatches(css, pattern) {
    await until(async () => pattern.test(await this.textOf(css).catch(() => '')), `${css} saying ${pattern}`, WAIT_MS);
  }

  /** Gives the setup page the server's address and logs in to its console as `email`. */
  async connectAndLogIn(server, email) {
    await this.find('#server');
    await this.type('#server', server.address);
    await this.click('#go');
    await this.find('form.login input[name=email]');
    await this.type('input[name=email]', email);
    await this.type('input[name=password]', PASSWORD);
    await this.click('form.login button[type=submit]');
    await this.find('.state.open');
  }

  /** What the app notified and counted, oldest first. */
  events() {
    const file = join(this.dir, 'events');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [];
  }

  /** The app's process and the web processes it started: pid, name, RSS in KiB, open files, sockets, threads. */
  processes() {
    const table = spawnSync('ps', ['-eo', 'pid=,ppid=,comm=,args='], { encoding: 'utf8' }).stdout.trim().split('\n');
    const rows = table.map((line) => {
      const [pid, ppid, comm, ...args] = line.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), comm, command: args[0] || '' };
    });
    const mine = rows.filter((row) => row.command === app);
    for (let i = 0; i < mine.length; i++) mine.push(...rows.filter((row) => row.ppid === mine[i].pid && !mine.includes(row)));
    return mine.flatMap((row) => {
      // A web process may end between the listing and the reading.
      if (!existsSync(`/proc/${row.pid}/status`)) return [];
      const status = readFileSync(`/proc/${row.pid}/status`, 'utf8');
      const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))?.[1] || 0);
      const fds = spawnSync('ls', ['-l', `/proc/${row.pid}/fd`], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('->'));
      return [{
        pid: row.pid,
        name: row.comm,
        rssKiB: field('VmRSS'),
        files: fds.length,
        sockets: fds.filter((l) => l.includes('socket:')).length,
        threads: field('Threads'),
      }];
    });
  }

  async close() {
    if (this.session) await this.do('DELETE', '').catch(() => {});
    this.driver?.kill();
    this.panel?.kill();
    this.bus?.kill();
    this.xvfb?.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
