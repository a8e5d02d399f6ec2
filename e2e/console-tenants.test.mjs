// Two companies on one server: each owner's console shows their own visitors, conversations,
// files, history and reports, and nothing of the other's, even when asked for it by id.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { PASSWORD, consoleAs, kefu as runKefu, launchBrowser, startKefu, until } from './harness.mjs';

let kefu, browser, globex;
before(async () => {
  kefu = await startKefu();
  browser = await launchBrowser();
  // A second tenant with its site on the same test origin, and its owner.
  const env = kefu.server.env;
  const tenant = runKefu(env, ['tenant', 'create', '--name', 'Globex']).split(' ')[2];
  const site = runKefu(env, ['site', 'create', '--tenant', tenant, '--name', 'Globex store', '--origin', kefu.pages.origin]);
  globex = { siteKey: site.trim().split(' ').pop(), email: 'owner@globex.example' };
  runKefu(env, ['agent', 'create', '--tenant', tenant, '--email', globex.email, '--name', 'Gus', '--role', 'owner'], PASSWORD + '\n');
});
after(async () => {
  await browser?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

/** A visitor of `siteKey` on a page titled `title`, who writes `body` and sends a file named `file`. */
async function visitor(siteKey, title, body, file) {
  const ws = new WebSocket(kefu.server.address.replace('http', 'ws') + '/ws/visitor', { origin: kefu.pages.origin });
  const frames = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  ws.send(JSON.stringify({ type: 'visitor_hello', v: 1, site_key: siteKey, page: { url: kefu.pages.origin + '/x', title } }));
  await until(() => frames.some((f) => f.type === 'welcome'), 'the welcome');
  const token = frames.find((f) => f.type === 'welcome').visitor_token;
  ws.send(JSON.stringify({ type: 'send', cid: 'a1', body }));
  const upload = await kefu.server.api('POST', '/api/v1/files?name=' + encodeURIComponent(file), {
    token,
    body: 'notes for the buyer\n',
  });
  assert.equal(upload.status, 201, JSON.stringify(upload.body));
  ws.send(JSON.stringify({ type: 'send', cid: 'a2', body: '', attachment: upload.body.attachment_token }));
  await until(() => frames.filter((f) => f.type === 'ack').length === 2, 'both stored');
  return { ws, file: upload.body.attachment.id };
}

test("each owner's console shows their own visitors, conversations, files, history and reports only", async () => {
  const acme = await visitor(kefu.siteKey, 'Acme lamps', 'Acme question about lamps', 'acme-notes.txt');
  const rival = await visitor(globex.siteKey, 'Globex secret plans', 'Globex question about anvils', 'globex-notes.txt');

  for (const [email, mine, theirs] of [
    [kefu.email, ['Acme lamps', 'Acme question about lamps', 'acme-notes.txt'], ['Globex', 'anvils', 'globex-notes']],
    [globex.email, ['Globex secret plans', 'Globex question about anvils', 'globex-notes.txt'], ['Acme', 'lamps', 'acme-notes']],
  ]) {
    const page = await consoleAs(browser, kefu.server, email);
    /** Nowhere in what the console shows is there a word of the other company. */
    const nothingOfTheirs = async () => {
      const text = await page.locator('body').innerText();
      for (const word of theirs) assert.ok(!text.includes(word), `${email} sees "${word}"`);
    };
    await page.locator('section.visitors tbody tr', { hasText: mine[0] }).waitFor();
    await page.getByRole('tab', { name: /^All/ }).click();
    await page.getByRole('tab', { name: 'All (1)' }).waitFor();
    await until(async () => (await page.locator('.items .item').count()) === 1, 'one conversation, their own');
    await page.locator('.items .item').first().click();
    const chat = page.locator('section.chat');
    await chat.getByText(mine[1]).waitFor();
    await chat.getByRole('button', { name: new RegExp(`^Download ${mine[2]}`) }).waitFor();
    await nothingOfTheirs();
    await page.getByRole('button', { name: 'History' }).click();
    await page.getByLabel('Words in the messages').fill('question');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('.found .item').first().waitFor();
    assert.equal(await page.locator('.found .item').count(), 1, 'one conversation found, their own');
    await page.getByRole('button', { name: 'Back to the conversations' }).first().click();
    await page.getByRole('button', { name: 'Reports' }).click();
    await until(async () => (await page.locator('section.reports .card dd').first().textContent()) === '1', 'one conversation in the report');
    await nothingOfTheirs();
    assert.deepEqual(page.logged, []);
    await page.context().close();
  }

  // Asked for by id, the other company's file and conversation are not found.
  const acmeOwner = await kefu.server.login(kefu.email);
  const theirFile = await kefu.server.api('GET', `/api/v1/files/${rival.file}`, { token: acmeOwner });
  assert.equal(theirFile.status, 404);
  const ownFile = await kefu.server.api('GET', `/api/v1/files/${acme.file}`, { token: acmeOwner });
  assert.equal(ownFile.status, 200);
  acme.ws.close();
  rival.ws.close();
});
