// The console's session over time: access tokens that expire every few seconds are renewed
// without the agent noticing, and a session ended elsewhere brings the login back. And a login
// whose email and password open accounts in two organisations asks which one.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, consoleAs, consolePage, kefu as admin, launchBrowser, logIn, startKefu } from './harness.mjs';

let kefu, browser;
before(async () => {
  kefu = await startKefu({ env: { KEFU_ACCESS_TOKEN_TTL_SECS: '5' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

test('access tokens of 5 s are renewed over the socket: it stays open and REST keeps working', async () => {
  const sockets = [];
  const context = await browser.newContext();
  context.on('page', (page) => page.on('websocket', (ws) => sockets.push(ws)));
  const refreshed = [];
  const closes = [];
  const page = await consoleAs(browser, kefu.server, kefu.email, { context });
  for (const ws of sockets) {
    ws.on('framereceived', (frame) => String(frame.payload).includes('"refreshed"') && refreshed.push(frame));
    ws.on('close', () => closes.push(ws.url()));
  }
  await page.waitForTimeout(14_000);
  assert.ok(refreshed.length >= 2, `renewed ${refreshed.length} times`);
  assert.deepEqual(closes, [], 'the socket never closed');
  assert.equal(await page.getByRole('status').textContent(), 'Connected');
  // A REST call long after the first token expired.
  await page.getByRole('button', { name: 'Messages left' }).click();
  await page.getByText('No messages here.').waitFor();
  assert.deepEqual(page.logged, []);
  await page.context().close();
});

test('a session ended elsewhere (log out everywhere) brings back the login and keeps nothing', async () => {
  const page = await consoleAs(browser, kefu.server, kefu.email);
  const { body } = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: kefu.email, password: PASSWORD } });
  const ended = await kefu.server.api('POST', '/api/v1/auth/logout-everywhere', { token: body.tokens.access_token });
  assert.equal(ended.status, 204);
  await page.getByText('Your session has ended. Log in again.').waitFor();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('kefu.console.session')), null);
  await page.context().close();
});

test('an email and password that open accounts in two organisations ask which one, and open that one', async () => {
  const globex = admin(kefu.server.env, ['tenant', 'create', '--name', 'Globex']).split(' ')[2];
  const owner = ['agent', 'create', '--tenant', globex, '--email', kefu.email, '--name', 'Ana at Globex', '--role', 'owner'];
  admin(kefu.server.env, owner, PASSWORD + '\n');
  const page = await consolePage(browser, kefu.server);
  await logIn(page, kefu.email);
  const organisation = page.getByLabel('Organisation');
  await organisation.waitFor();
  assert.equal(await page.getByRole('alert').textContent(), 'This email and password open accounts in several organisations. Choose one.');
  assert.deepEqual(await organisation.locator('option').allTextContents(), ['Acme', 'Globex']);
  await organisation.selectOption({ label: 'Globex' });
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('status').getByText('Connected').waitFor();
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('kefu.console.session') || 'null'));
  assert.equal(kept.agent.tenant, globex);
  assert.equal(kept.agent.name, 'Ana at Globex');
  assert.deepEqual(page.logged, []);
  await page.context().close();
});
