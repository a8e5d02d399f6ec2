// The desktop app (agent-desktop/), driven under Xvfb through tauri-driver and WebKitWebDriver:
// at first start it asks for the server (refusing what is not one), opens the server's console,
// logs in, shows a visitor's conversation, and a message arriving raises a notification and an
// unread count in the tray (the app writes each to the file KEFU_DESKTOP_EVENTS names).
// KEFU_SCREENSHOTS=1 keeps a picture of the window beside a panel whose tray holds the app's icon in
// docs/screenshots/en-desktop.png (that needs Debian's xfce4-panel, dbus-daemon and imagemagick).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Desktop } from './desktop-driver.mjs';
import { PASSWORD, root, startKefu, until } from './harness.mjs';

let kefu, desktop;

before(async () => {
  kefu = await startKefu();
  // New conversations wait for an agent to accept them (the console opens on the waiting list).
  const owner = await kefu.server.login(kefu.email);
  const manual = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: false } });
  assert.equal(manual.status, 200);
  desktop = await Desktop.start({ tray: Boolean(process.env.KEFU_SCREENSHOTS) });
});

after(async () => {
  await desktop?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

test('the desktop app asks for the server, logs in, shows a conversation and notifies of a message', async () => {
  // First start: where is the server? What is not one is refused with the reason.
  await desktop.textMatches('h1', /Connect to your Kefu server/);
  await desktop.type('#server', 'not a server');
  await desktop.click('#go');
  await desktop.textMatches('#problem', /not a web address/);
  await desktop.type('#server', 'http://127.0.0.1:1');
  await desktop.click('#go');
  await desktop.textMatches('#problem', /Nothing answers at that address/);
  await desktop.type('#server', kefu.server.address);
  await desktop.click('#go');

  // The server's console, with the desktop's hooks in it.
  await desktop.find('form.login input[name=email]');
  assert.equal(await desktop.do('GET', '/url'), `${kefu.server.address}/console/`);
  await desktop.textMatches('form.login .server', new RegExp(`Server: ${new URL(kefu.server.address).host}`));
  await desktop.type('input[name=email]', kefu.email);
  await desktop.type('input[name=password]', PASSWORD);
  await desktop.click('form.login button[type=submit]');
  await desktop.find('.state.open');

  // A visitor writes: the conversation is listed, a notification is raised and the tray counts it.
  const visitor = await visitorSays(kefu, 'Is the brass lamp still for sale?');
  const notified = () => desktop.events().some((e) => e.notify?.body === 'Is the brass lamp still for sale?');
  await until(notified, 'the notification', 20_000);
  const notice = desktop.events().find((e) => e.notify).notify;
  assert.match(notice.tag, /^c_/, 'one per conversation');
  await until(() => desktop.events().some((e) => e.unread >= 1), 'the unread count in the tray', 20_000);
  await desktop.click('.items .item');
  await desktop.textMatches('section.chat', /Is the brass lamp still for sale\?/);
  // Open in the focused window, it is read: the tray has nothing to count.
  const lastUnread = () => desktop.events().filter((e) => e.unread !== undefined).at(-1)?.unread;
  await until(() => lastUnread() === 0, 'the tray count back to 0', 20_000);

  // Another visitor writes meanwhile: the tray counts that one.
  const other = await visitorSays(kefu, 'Do you ship to Lyon?');
  await until(() => lastUnread() === 1, 'the tray counting the other conversation', 20_000);
  await desktop.textMatches('[role=tab][aria-selected=true]', /Waiting \(2\)/);
  if (process.env.KEFU_SCREENSHOTS) {
    writeFileSync(join(root, 'docs/screenshots/en-desktop.png'), await desktop.screen());
  }
  visitor.close();
  other.close();

  // Another server: back on the app's page, the saved address offered.
  await desktop.do('POST', '/execute/sync', { script: 'window.kefuDesktop.changeServer()', args: [] });
  await desktop.textMatches('h1', /Connect to your Kefu server/);
  const offered = () => desktop.do('POST', '/execute/sync', { script: "return document.querySelector('#server').value", args: [] });
  await until(async () => (await offered()) === kefu.server.address, 'the saved server offered', 20_000);
});

/** A visitor on the test site who writes `body`; answers their socket. */
async function visitorSays(kefu, body) {
  const visitor = new WebSocket(kefu.server.address.replace('http', 'ws') + '/ws/visitor', { origin: kefu.pages.origin });
  await new Promise((resolve, reject) => {
    visitor.on('open', resolve);
    visitor.on('error', reject);
  });
  visitor.send(JSON.stringify({ type: 'visitor_hello', v: 1, site_key: kefu.siteKey, page: { url: kefu.pages.origin + '/lamps', title: 'Lamps' } }));
  visitor.send(JSON.stringify({ type: 'send', cid: 'desktop-' + body.length, body }));
  return visitor;
}
