// An agent's working day in the console: quick replies, pictures, a transfer to a colleague in
// another browser, keyboard shortcuts, notifications with the window in the background, the
// leave-a-message inbox and a new password.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, chatWindow, consoleAs as consoleWith, launchBrowser, launcher, openSite, png, startKefu, until } from './harness.mjs';

let kefu, browser, owner;
before(async () => {
  // Logins are limited to 10 a minute per address: the API logins below come through the
  // loopback "proxy" from addresses of their own, so the consoles' logins have the allowance.
  kefu = await startKefu({ env: { KEFU_TRUSTED_PROXIES: '127.0.0.1' } });
  browser = await launchBrowser();
  owner = await kefu.server.login(kefu.email);
  const colleague = await kefu.server.api('POST', '/api/v1/agents', {
    token: owner,
    json: { email: 'cai@acme.example', name: 'Cai', password: PASSWORD },
  });
  assert.equal(colleague.status, 201);
});
after(async () => {
  await browser?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

/** @param {string} email @param {object} [options] */
const consoleAs = (email, options) => consoleWith(browser, kefu.server, email, options);

async function visitorWrites(body, path = '/') {
  const page = await openSite(browser, kefu.pages, { path });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.fill(body);
  await box.press('Enter');
  await chat.getByText('Sent', { exact: true }).waitFor();
  return { page, chat };
}

test('a quick reply, a picture, and a transfer to a colleague in another browser', async () => {
  const manual = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: false } });
  assert.equal(manual.status, 200);
  const reply = await kefu.server.api('POST', '/api/v1/quick-replies', {
    token: owner,
    json: { title: 'Shipping', body: 'We ship to all of Europe in 3 to 5 days.', shared: true },
  });
  assert.equal(reply.status, 201);
  const ana = await consoleAs(kefu.email);
  const cai = await consoleAs('cai@acme.example');
  const { page, chat } = await visitorWrites('How long does shipping take?');

  // Alt+N opens the next waiting conversation.
  await ana.getByRole('tab', { name: 'Waiting (1)' }).waitFor();
  await ana.keyboard.press('Alt+KeyN');
  const panel = ana.locator('section.chat');
  await panel.getByText('How long does shipping take?').waitFor();
  await panel.getByRole('button', { name: 'Accept' }).click();
  await chat.getByText('Ana joined the conversation').waitFor();

  const box = panel.getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('/ship');
  const offered = panel.getByRole('listbox', { name: 'Quick replies' });
  await offered.getByRole('option', { name: /Shipping/ }).waitFor();
  await box.press('Enter');
  assert.equal(await box.inputValue(), 'We ship to all of Europe in 3 to 5 days.');
  await box.press('Enter');
  await chat.getByText('We ship to all of Europe in 3 to 5 days.').waitFor();

  await panel.locator('input[type=file]').setInputFiles({ name: 'table.png', mimeType: 'image/png', buffer: png(90, 60) });
  const picture = panel.getByRole('img', { name: 'Picture: table.png' });
  await picture.waitFor();
  await until(async () => picture.evaluate((img) => img.complete && img.naturalWidth === 90), 'the picture to load');
  await chat.getByRole('img', { name: 'Picture: table.png' }).waitFor();

  // Cai is online on the site: the conversation goes to him, with what came before.
  await panel.getByRole('combobox', { name: 'Transfer to another agent' }).selectOption({ label: 'Cai · Online' });
  await chat.getByText('Cai took over the conversation').waitFor();
  await cai.getByRole('tab', { name: 'Mine (1)' }).click();
  await cai.locator('.items .item').first().click();
  const caiPanel = cai.locator('section.chat');
  await caiPanel.getByText('How long does shipping take?').waitFor();
  await caiPanel.getByText('Transferred to Cai').waitFor();
  await caiPanel.getByRole('img', { name: 'Picture: table.png' }).waitFor();
  await ana.getByRole('tab', { name: 'Mine (0)' }).waitFor();

  // Alt+E ends it; Escape closes the panel.
  await caiPanel.getByRole('textbox', { name: 'Message' }).click();
  await cai.keyboard.press('Alt+KeyE');
  await chat.getByText('The conversation has ended').waitFor();
  await cai.keyboard.press('Escape');
  await caiPanel.waitFor({ state: 'detached' });
  assert.deepEqual([...ana.logged, ...cai.logged], []);
  await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: true } });
  for (const p of [page, ana, cai]) await p.context().close();
});

test('in the background the console notifies, counts in its title, and a click opens the conversation', async () => {
  const ana = await consoleAs(kefu.email, { background: true });
  const { page } = await visitorWrites('Is anyone there?', '/bell');
  await until(async () => (await ana.evaluate(() => window.shown.length)) > 0, 'a notification');
  const shown = await ana.evaluate(() => window.shown);
  assert.match(shown.at(-1).title, /^New message from Visitor \w{4}$/);
  assert.equal(shown.at(-1).body, 'Is anyone there?');
  await until(async () => /^\(\d+\) Kefu console$/.test(await ana.title()), 'the count in the title');
  await ana.evaluate(() => window.lastNotification.onclick());
  await ana.locator('section.chat').getByText('Is anyone there?').waitFor();
  await page.context().close();
  await ana.context().close();
});

test('a tag, and the history search finding a conversation by its words (Chinese too), tag and day', async () => {
  const ana = await consoleAs(kefu.email);
  const { page } = await visitorWrites('我想买一张橡木桌子', '/oak');
  await ana.getByRole('tab', { name: /^Mine/ }).click();
  await ana.locator('.items .item', { hasText: '我想买一张橡木桌子' }).click();
  const panel = ana.locator('section.chat', { hasText: '我想买一张橡木桌子' });
  const tagBox = panel.getByRole('textbox', { name: 'Add a tag…' });
  await tagBox.fill('oak table');
  await tagBox.press('Enter');
  await panel.locator('.tag', { hasText: 'oak table' }).waitFor();
  await panel.getByRole('button', { name: 'Close this panel' }).click();

  await ana.getByRole('button', { name: 'History' }).click();
  const history = ana.locator('section.history');
  const search = async (fields) => {
    for (const [label, value] of Object.entries(fields)) await history.getByLabel(label).fill(value);
    await history.getByRole('button', { name: 'Search' }).click();
  };
  await search({ 'Words in the messages': '橡木' });
  const result = history.locator('.found .item');
  await result.first().locator('.tag', { hasText: 'oak table' }).waitFor();
  assert.equal(await result.count(), 1);
  await search({ 'Words in the messages': 'no such words anywhere' });
  await history.getByText('Nothing found.').waitFor();
  const today = new Date().toLocaleDateString('en-CA');
  await search({ 'Words in the messages': '', Tag: 'oak table', From: today, To: today });
  await result.first().waitFor();
  assert.equal(await result.count(), 1);
  const yesterday = new Date(Date.now() - 86_400_000).toLocaleDateString('en-CA');
  await search({ From: yesterday, To: yesterday });
  await history.getByText('Nothing found.').waitFor();
  await search({ From: '', To: '' });
  await result.first().click();
  await ana.locator('section.chat').getByText('我想买一张橡木桌子').waitFor();
  assert.deepEqual(ana.logged, []);
  await page.context().close();
  await ana.context().close();
});

test('a message left while nobody was online is in the inbox until handled', async () => {
  const left = await kefu.server.api('POST', '/api/v1/public/leave-messages', {
    json: { site_key: kefu.siteKey, name: 'Li Wei', email: 'li.wei@example.com', body: 'Please call me about the oak table.', page_url: kefu.pages.origin + '/oak' },
  });
  assert.equal(left.status, 201);
  const ana = await consoleAs(kefu.email);
  const open = ana.getByRole('button', { name: 'Messages left (1)' });
  await open.click();
  const inbox = ana.locator('section.inbox');
  const item = inbox.locator('li', { hasText: 'Please call me about the oak table.' });
  await item.getByText('Li Wei').waitFor();
  assert.match(await item.getByRole('link', { name: 'Reply by email' }).getAttribute('href'), /^mailto:li\.wei%40example\.com\?body=/);
  await item.getByRole('button', { name: 'Mark as handled' }).click();
  await inbox.getByText('No messages here.').waitFor();
  await ana.getByRole('button', { name: 'Messages left', exact: true }).waitFor();
  await inbox.getByRole('tab', { name: 'Handled' }).click();
  await inbox.getByText('Please call me about the oak table.').waitFor();
  await inbox.getByRole('button', { name: 'Back to the conversations' }).click();
  await ana.locator('section.visitors').waitFor();
  await ana.context().close();
});

test('a new password: the wrong current one is refused, the right one keeps the console connected', async () => {
  const ana = await consoleAs('cai@acme.example');
  await ana.getByRole('button', { name: 'Change password' }).click();
  const dialog = ana.getByRole('dialog');
  await dialog.getByLabel('Current password').fill('not my password at all');
  await dialog.getByLabel('New password (at least 10 characters)').fill('a brand new password');
  await dialog.getByRole('button', { name: 'Save the new password' }).click();
  await dialog.getByText(/^The password was not changed: /).waitFor();
  await dialog.getByLabel('Current password').fill(PASSWORD);
  await dialog.getByRole('button', { name: 'Save the new password' }).click();
  await dialog.getByText('Password changed. Your other sessions have ended.').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  // Its sockets were opened with the old session's token: they come back with the new one.
  await ana.getByRole('status').getByText('Connected').waitFor();
  const elsewhere = { 'x-forwarded-for': '10.0.0.7' };
  const old = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: 'cai@acme.example', password: PASSWORD }, headers: elsewhere });
  assert.equal(old.status, 401);
  const fresh = await kefu.server.api('POST', '/api/v1/auth/login', {
    json: { email: 'cai@acme.example', password: 'a brand new password' },
    headers: elsewhere,
  });
  assert.equal(fresh.status, 200);
  await ana.context().close();
});
