// Owners and admins set Kefu up from the console: a new site whose snippet works on a page of
// another origin, an agent for it, shared quick replies; and plain agents see none of it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, consoleAs as consoleWith, launchBrowser, launcher, openSite, startKefu, until } from './harness.mjs';

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
