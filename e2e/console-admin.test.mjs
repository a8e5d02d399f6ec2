// Owners and admins set Kefu up from the console: a new site whose snippet works on a page of
// another origin, an agent for it, shared quick replies, reports; and plain agents see none of it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, chatWindow, consoleAs as consoleWith, launchBrowser, launcher, openSite, startKefu, until } from './harness.mjs';

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

/** @param {string} email */
const consoleAs = (email) => consoleWith(browser, kefu.server, email);

test('an owner adds a site whose snippet works on another origin, an agent for it, and a shared reply', async () => {
  const ana = await consoleAs(kefu.email);
  await ana.getByRole('button', { name: 'Settings' }).click();
  const admin = ana.locator('section.admin');
  await admin.getByRole('button', { name: 'New site' }).click();
  await admin.getByLabel('Site name').fill('Acme blog');
  await admin.getByLabel(/^Allowed origins/).fill(kefu.pages.otherOrigin);
  await admin.getByLabel('Greeting').fill('Questions about a post? Ask us.');
  await admin.getByLabel('Give new conversations to online agents in turn').uncheck();
  await admin.getByRole('button', { name: 'Create' }).click();
  const card = admin.locator('article.card', { hasText: 'Acme blog' });
  const snippet = await card.locator('code.snippet').textContent();
  const key = snippet.match(/data-site="(k_[0-9a-f]+)"/)[1];
  assert.equal(snippet, `<script async src="${kefu.server.address}/embed.js" data-site="${key}"></script>`);
  await card.getByText(kefu.pages.otherOrigin).waitFor();
  await card.getByText('Agents accept them').waitFor();

  // An identity secret for the blog, shown once in a dialog.
  await card.getByRole('button', { name: 'New identity secret' }).click();
  const shown = ana.getByRole('dialog');
  await shown.getByText(/shown this once/).waitFor();
  assert.ok((await shown.locator('code').textContent()).length >= 40, 'the secret');
  await shown.getByRole('button', { name: 'Done' }).click();
  await shown.waitFor({ state: 'detached' });
  await admin.locator('article.card', { hasText: 'Acme blog' }).getByText('Verified with the site’s secret').waitFor();

  // The snippet on a page of the allowed origin: the widget comes, and Ana sees the visitor.
  kefu.pages.siteKey = key;
  const page = await openSite(browser, kefu.pages, { origin: kefu.pages.otherOrigin, path: '/?title=Blog%20post' });
  kefu.pages.siteKey = kefu.siteKey;
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'the blog chat online');
  await admin.getByRole('button', { name: 'Back to the conversations' }).click();
  const row = ana.locator('section.visitors tbody tr', { hasText: 'Blog post' });
  await row.getByText('Acme blog').waitFor();

  // An agent for the blog alone.
  await ana.getByRole('button', { name: 'Settings' }).click();
  await admin.getByRole('tab', { name: 'Agents' }).click();
  await admin.getByRole('button', { name: 'New agent' }).click();
  await admin.getByLabel('Name').fill('Dee');
  await admin.getByLabel('Email').fill('dee@acme.example');
  await admin.getByLabel('New password (at least 10 characters)').fill('dee has a long password');
  await admin.getByLabel('All sites').uncheck();
  await admin.locator('fieldset.sites').getByLabel('Acme blog').check();
  await admin.getByRole('button', { name: 'Create' }).click();
  const dee = admin.locator('tr', { hasText: 'dee@acme.example' });
  await dee.getByText('Acme blog').waitFor();
  await dee.getByText('Active').waitFor();
  const login = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: 'dee@acme.example', password: 'dee has a long password' } });
  assert.equal(login.status, 200);
  const live = await kefu.server.api('GET', '/api/v1/live', { token: login.body.tokens.access_token });
  assert.equal(live.body.endpoints[0].sites.length, 1);
  // A new password for Dee, set in a dialog: too short is refused there with the reason.
  await dee.getByRole('button', { name: 'New password' }).click();
  const reset = ana.getByRole('dialog');
  await reset.getByText('A new password for Dee (at least 10 characters); their sessions end:').waitFor();
  await reset.getByLabel('Password').fill('short');
  await reset.getByRole('button', { name: 'Save' }).click();
  await reset.getByRole('alert').getByText(/10 to/).waitFor();
  await reset.getByLabel('Password').fill('dee has another long password');
  await reset.getByRole('button', { name: 'Save' }).click();
  await reset.waitFor({ state: 'detached' });
  const again = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: 'dee@acme.example', password: 'dee has another long password' } });
  assert.equal(again.status, 200, 'the new password works');
  await dee.getByRole('button', { name: 'Disable' }).click();
  await admin.locator('tr', { hasText: 'dee@acme.example' }).getByText('Disabled').waitFor();

  // A shared reply every agent of the tenant can use.
  await admin.getByRole('tab', { name: 'Shared quick replies' }).click();
  await admin.getByLabel('Title (what agents type after /)').fill('Hours');
  await admin.getByLabel('Text').fill('We answer from 9 to 18, Monday to Friday.');
  await admin.getByRole('button', { name: 'Add a shared reply' }).click();
  await admin.getByText('We answer from 9 to 18, Monday to Friday.').waitFor();
  const replies = await kefu.server.api('GET', '/api/v1/quick-replies', { token: login.body.tokens.access_token });
  assert.notEqual(replies.status, 200, 'a disabled agent is refused at once');
  assert.deepEqual(ana.logged, []);
  await page.context().close();
  await ana.context().close();
});

test('a plain agent has no settings, and a bad site is refused with the reason', async () => {
  const owner = await kefu.server.login(kefu.email);
  const made = await kefu.server.api('POST', '/api/v1/agents', {
    token: owner,
    json: { email: 'eli@acme.example', name: 'Eli', password: PASSWORD },
  });
  assert.equal(made.status, 201);
  const eli = await consoleAs('eli@acme.example');
  assert.equal(await eli.getByRole('button', { name: 'Settings' }).isHidden(), true);
  assert.equal(await eli.getByRole('tab', { name: /^All/ }).isHidden(), true);
  await eli.context().close();

  const ana = await consoleAs(kefu.email);
  await ana.getByRole('button', { name: 'Settings' }).click();
  const admin = ana.locator('section.admin');
  await admin.getByRole('button', { name: 'New site' }).click();
  await admin.getByLabel('Site name').fill('Broken');
  await admin.getByLabel(/^Allowed origins/).fill('not an origin');
  await admin.getByRole('button', { name: 'Create' }).click();
  await admin.getByRole('alert').getByText(/origin/).waitFor();
  await ana.context().close();
});

test('reports show a conversation an agent answered and the visitor rated, by day, agent and site', async () => {
  const owner = await kefu.server.login(kefu.email);
  const manual = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { auto_assign: false } });
  assert.equal(manual.status, 200);
  const ana = await consoleAs(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/report' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.fill('Is the oak table in stock?');
  await box.press('Enter');
  await ana.getByRole('tab', { name: 'Waiting (1)' }).waitFor();
  await ana.keyboard.press('Alt+KeyN');
  const panel = ana.locator('section.chat');
  await panel.getByRole('button', { name: 'Accept' }).click();
  const reply = panel.getByRole('textbox', { name: 'Message' });
  await reply.fill('Yes, two are left.');
  await reply.press('Enter');
  await chat.getByText('Yes, two are left.').waitFor();
  await panel.getByRole('button', { name: 'End conversation' }).click();
  await chat.locator('label[for="kefu-score-4"]').click(); // the fourth star
  assert.equal(await chat.getByRole('radio', { name: '4 out of 5' }).isChecked(), true);
  await chat.getByRole('button', { name: 'Send rating' }).click();
  await chat.getByText('Thank you for your rating.').waitFor();

  await ana.getByRole('button', { name: 'Reports' }).click();
  const reports = ana.locator('section.reports');
  const card = (name) => reports.locator('.card', { has: ana.locator('dt', { hasText: name }) }).locator('dd').first();
  await until(async () => (await card('Rating').textContent()) === '4 ★', 'the rating in the report');
  assert.equal(await card('Conversations').textContent(), '1');
  assert.equal(await card('Answered').textContent(), '1');
  assert.match(await card('First response').textContent(), /^\d+ s$/);
  const today = await ana.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  await reports.getByRole('img', { name: `${today} — conversations: 1, answered: 1` }).waitFor();
  assert.equal(await reports.locator('.day').count(), 7, 'the last seven days');
  const agentRow = reports.locator('.figures', { hasText: 'Per agent' }).locator('tbody tr');
  assert.deepEqual(await agentRow.locator('td').allTextContents().then((cells) => cells.slice(0, 4)), ['Ana', '1', '1', '0']);
  assert.match(await agentRow.locator('td').nth(6).textContent(), /^4 ★ \(1\)$/);
  const siteRow = reports.locator('.figures', { hasText: 'Per site' }).locator('tbody tr');
  assert.equal(await siteRow.locator('td').first().textContent(), 'Acme shop');

  // Another site alone has nothing in these days; a span that ends before it starts is refused here.
  await reports.getByLabel('Site').selectOption({ label: 'Acme blog' });
  await reports.getByRole('button', { name: 'Show' }).click();
  await until(async () => (await card('Conversations').textContent()) === '0', 'the blog has none');
  await reports.getByText('No conversations in these days.').first().waitFor();
  await reports.getByLabel('From').fill('2026-12-31');
  await reports.getByLabel('To').fill('2026-01-01');
  await reports.getByRole('button', { name: 'Show' }).click();
  await reports.getByRole('alert').getByText('The last day comes before the first.').waitFor();
  assert.deepEqual(ana.logged, []);
  await page.context().close();
  await ana.context().close();
});
