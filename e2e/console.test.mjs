// The agent console at /console/: logging in, the live visitors, a conversation from the draft to
// its end, and the endpoints of `GET /api/v1/live` merged into one view.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, chatWindow, consolePage, launchBrowser, launcher, logIn as logInAs, openSite, startKefu, until } from './harness.mjs';

let kefu, browser;
before(async () => {
  kefu = await startKefu();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

/** The console in a fresh browser context, logged out. */
const openConsole = (options) => consolePage(browser, kefu.server, options);

/** Logs in as the owner (or with another password). */
const logIn = (page, password = PASSWORD) => logInAs(page, kefu.email, password);

test('a wrong password says so and keeps nothing; the right one opens the console', async () => {
  const page = await openConsole();
  await logIn(page, 'not the password at all');
  await page.getByText('The email or password is not right.').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('kefu.console.session')), null);
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
  await logIn(page);
  await page.getByRole('status').getByText('Connected').waitFor();
  assert.ok(await page.evaluate(() => localStorage.getItem('kefu.console.session')), 'the session is kept');
  // A reload keeps the agent logged in; logging out forgets the session.
  await page.reload();
  await page.getByRole('status').getByText('Connected').waitFor();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('kefu.console.session')), null);
  assert.deepEqual(page.logged, []);
  await page.context().close();
});

test('the agent watches a visitor arrive and move, reads their draft, accepts, answers and ends it', async () => {
  // Without round-robin the conversation waits for an agent to take it.
  const owner = await kefu.server.login(kefu.email);
  const manual = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: false } });
  assert.equal(manual.status, 200);
  const agentPage = await openConsole();
  await logIn(agentPage);
  await agentPage.getByRole('status').getByText('Connected').waitFor();
  const visitors = agentPage.locator('section.visitors');

  const page = await openSite(browser, kefu.pages, { path: '/lamps?title=Lamps' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  const row = visitors.locator('tbody tr').first();
  await row.getByText('Lamps', { exact: true }).waitFor();
  await row.getByText(kefu.pages.origin + '/lamps?title=Lamps').waitFor();
  await row.getByText('Browsing').waitFor();
  assert.match(await row.locator('td.device').textContent(), /Chrome/);
  assert.match(await row.locator('td.device').textContent(), /en-US/);
  // A single-page site moves on: the row follows without a reload.
  await page.evaluate(() => {
    history.pushState({}, '', '/checkout');
    document.title = 'Checkout';
  });
  await row.getByText('Checkout', { exact: true }).waitFor();
  assert.equal(await row.locator('td.pages').textContent(), '2');

  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('Is the oak', { delay: 20 });
  await row.getByText('typing: Is the oak').waitFor();
  await box.pressSequentially(' lamp in stock?');
  await box.press('Enter');

  // The conversation waits; the agent takes it from the list.
  const waiting = agentPage.getByRole('tab', { name: 'Waiting (1)' });
  await waiting.waitFor();
  assert.equal(await agentPage.locator('.items .item .unread').first().textContent(), '1');
  await agentPage.locator('.items .item').first().click();
  const panel = agentPage.locator('section.chat');
  await panel.getByText('Is the oak lamp in stock?').waitFor();
  await panel.getByRole('button', { name: 'Accept' }).click();
  await agentPage.getByRole('tab', { name: 'Mine (1)' }).waitFor();
  await chat.getByText('Ana joined the conversation').waitFor();

  // The visitor types again: the agent sees the draft in the open panel.
  await box.pressSequentially('And in walnut', { delay: 20 });
  await panel.getByText('typing: And in walnut').waitFor();
  await box.fill('');

  const reply = panel.getByRole('textbox', { name: 'Message' });
  await reply.fill('Yes, two are left.');
  await reply.press('Enter');
  await chat.getByText('Yes, two are left.').waitFor();
  // The visitor's window is open: they read it, and the agent sees that.
  await panel.getByText('Read', { exact: true }).waitFor();

  await panel.getByRole('button', { name: 'End conversation' }).click();
  await chat.getByText('The conversation has ended').waitFor();
  await agentPage.getByRole('tab', { name: 'Mine (0)' }).waitFor();
  assert.equal(await reply.isDisabled(), true);
  assert.deepEqual(agentPage.logged, []);
  await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: true } });
  await page.context().close();
  await agentPage.context().close();
});

test('endpoints listed apart are merged: each site arrives on its own socket', async () => {
  // A second site, so that the server can be made to list two endpoints.
  const owner = await kefu.server.login(kefu.email);
  const created = await kefu.server.api('POST', '/api/v1/sites', {
    token: owner,
    json: { name: 'Acme outlet', allowed_origins: [kefu.pages.origin] },
  });
  assert.equal(created.status, 201);
  const outlet = created.body;
  const live = await kefu.server.api('GET', '/api/v1/live', { token: owner });
  assert.equal(live.status, 200);
  assert.deepEqual(live.body.endpoints.map((e) => e.url), ['/ws/agent']);
  assert.deepEqual([...live.body.endpoints[0].sites].sort(), [kefu.siteId, outlet.id].sort());

  const agentPage = await openConsole();
  // As the edge would: one endpoint per site, each a socket for that site alone.
  const sockets = [];
  agentPage.on('websocket', (ws) => sockets.push(ws.url()));
  await agentPage.route('**/api/v1/live', (route) =>
    route.fulfill({
      json: {
        endpoints: [
          { url: `/ws/agent?site=${kefu.siteId}`, sites: [kefu.siteId] },
          { url: `/ws/agent?site=${outlet.id}`, sites: [outlet.id] },
        ],
      },
    }),
  );
  await logIn(agentPage);
  await agentPage.getByRole('status').getByText('Connected').waitFor();
  assert.equal(sockets.length, 2);

  // A visitor on each site: both show, each named with its site.
  const shop = await openSite(browser, kefu.pages, { path: '/?title=Shop%20front' });
  kefu.pages.siteKey = outlet.key;
  const other = await openSite(browser, kefu.pages, { path: '/?title=Outlet%20front' });
  kefu.pages.siteKey = kefu.siteKey;
  const visitors = agentPage.locator('section.visitors tbody');
  await visitors.getByText('Shop front', { exact: true }).waitFor();
  await visitors.getByText('Outlet front', { exact: true }).waitFor();
  await visitors.locator('tr', { hasText: 'Outlet front' }).getByText('Acme outlet').waitFor();

  // A message on the second socket's site, answered through that socket.
  await launcher(other).click();
  const box = chatWindow(other).getByRole('textbox', { name: 'Message' });
  await box.fill('Hello from the outlet');
  await box.press('Enter');
  // Round-robin gives it to the only agent online.
  await agentPage.getByRole('tab', { name: 'Mine (1)' }).click();
  await agentPage.locator('.items .item').first().click();
  const panel = agentPage.locator('section.chat');
  await panel.getByText('Hello from the outlet').waitFor();
  const reply = panel.getByRole('textbox', { name: 'Message' });
  await reply.fill('Welcome to the outlet!');
  await reply.press('Enter');
  await chatWindow(other).getByText('Welcome to the outlet!').waitFor();
  await panel.getByText('Sent', { exact: true }).or(panel.getByText('Read', { exact: true })).first().waitFor();
  await shop.context().close();
  await other.context().close();
  await agentPage.context().close();
});

test('an agent of one site sees only its visitors, and what visitors write is shown as text', async () => {
  const owner = await kefu.server.login(kefu.email);
  const sites = await kefu.server.api('GET', '/api/v1/sites', { token: owner });
  const outlet = sites.body.find((s) => s.name === 'Acme outlet');
  assert.ok(outlet, 'the outlet made by the test before');
  const created = await kefu.server.api('POST', '/api/v1/agents', {
    token: owner,
    json: { email: 'bo@acme.example', name: 'Bo', password: PASSWORD, sites: [kefu.siteId] },
  });
  assert.equal(created.status, 201);
  const agentPage = await openConsole();
  await logInAs(agentPage, 'bo@acme.example');
  await agentPage.getByRole('status').getByText('Connected').waitFor();

  const hostile = '<img src=x onerror="window.pwned=1">';
  kefu.pages.extra['/hostile'] = `<script>Kefu('identify', {id: 'x1', name: ${JSON.stringify(hostile)}})</script>`;
  const shop = await openSite(browser, kefu.pages, { path: '/hostile?title=' + encodeURIComponent(hostile) });
  const watcher = await kefu.server.agent(kefu.email);
  kefu.pages.siteKey = outlet.key;
  const other = await openSite(browser, kefu.pages, { path: '/?title=Outlet%20only' });
  kefu.pages.siteKey = kefu.siteKey;
  // The owner sees the outlet's visitor arrive (so the room has told every agent it should).
  await watcher.waitFor((f) => f.type === 'visitor_arrived' && f.visitor.page.title === 'Outlet only', 'the outlet visitor');
  watcher.close();
  const row = agentPage.locator('section.visitors tbody tr', { hasText: 'Not verified' });
  await row.locator('span.title', { hasText: hostile }).waitFor();
  await row.locator('strong', { hasText: hostile }).waitFor();
  await launcher(shop).click();
  const box = chatWindow(shop).getByRole('textbox', { name: 'Message' });
  await box.fill(hostile);
  await box.press('Enter');
  await agentPage.getByRole('tab', { name: 'Mine (1)' }).click();
  await agentPage.locator('.items .item').first().click();
  await agentPage.locator('section.chat .body', { hasText: hostile }).waitFor();
  // A file named to break out of its button.
  const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  const fileName = hostile + '.pdf';
  await chatWindow(shop).locator('input[type=file]').setInputFiles({ name: fileName, mimeType: 'application/pdf', buffer: pdf });
  const download = agentPage.locator('section.chat').getByRole('button', { name: /^Download / });
  await download.waitFor();
  assert.match(await download.textContent(), /^Download <img src=x onerror="window\.pwned=1">\.pdf \(\d+ B\)$/);
  assert.equal(await agentPage.evaluate(() => window.pwned), undefined, 'nothing ran');
  assert.equal(await agentPage.locator('section.visitors img, section.chat img').count(), 0);
  // The outlet's visitor is not Bo's to see.
  assert.equal(await agentPage.locator('section.visitors').getByText('Outlet only').count(), 0);
  await shop.context().close();
  await other.context().close();
  await agentPage.context().close();
});

test('with the server down the console says so, stays readable, and sends the reply once it is back', async () => {
  const agentPage = await openConsole();
  await logIn(agentPage);
  await agentPage.getByRole('status').getByText('Connected').waitFor();
  const page = await openSite(browser, kefu.pages, { path: '/down' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const box = chatWindow(page).getByRole('textbox', { name: 'Message' });
  await box.fill('Are you there?');
  await box.press('Enter');
  await agentPage.getByRole('tab', { name: /^Mine/ }).click();
  await agentPage.locator('.items .item', { hasText: 'Are you there?' }).click();
  const panel = agentPage.locator('section.chat');
  await panel.getByText('Are you there?').waitFor();

  await kefu.server.stop();
  await agentPage.getByRole('status').getByText('Connection lost. Reconnecting…').waitFor();
  await panel.getByText('Are you there?').waitFor();
  const reply = panel.getByRole('textbox', { name: 'Message' });
  await reply.fill('Yes, one moment.');
  await reply.press('Enter');
  await panel.getByText('Not sent yet').waitFor();
  await kefu.server.start();
  await agentPage.getByRole('status').getByText('Connected').waitFor({ timeout: 40000 });
  await chatWindow(page).getByText('Yes, one moment.').waitFor({ timeout: 40000 });
  await panel.getByText('Not sent yet').waitFor({ state: 'detached' });
  assert.equal(await panel.getByText('Yes, one moment.').count(), 1, 'shown once');
  await page.context().close();
  await agentPage.context().close();
});
