// The visitor's side beyond plain chat: the offline form, files, hostile text, pages that may not
// embed the chat, phones, and identities the site vouches for. Run against `kefu serve`
// (visitor.test.mjs) and through the edge in front of it (visitor-edge.test.mjs): the test site's
// snippet, the chat window and the agents' sockets then all go through the Worker.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startBehindEdge } from './edge.mjs';
import { PASSWORD, chatWindow, launchBrowser, launcher, openSite, png, startKefu, until } from './harness.mjs';

const LIMIT = 200 * 1024;

/** The suite, with the clients on `kefu serve` itself or (`onEdge`) on the edge in front of it. */
export function visitorSuite({ onEdge }) {
  describe(onEdge ? 'through the edge' : 'self-hosted', () => {
    let kefu, browser, edge;
    /** Where visitors and agents connect: the server, or the edge. */
    let front;
    before(async () => {
      if (onEdge) {
        ({ kefu, edge } = await startBehindEdge({ maxUpload: LIMIT }));
        front = { address: edge.address, agent: (email) => edge.agent(kefu.server, kefu.siteId, email) };
      } else {
        kefu = await startKefu({ maxUpload: LIMIT });
        front = kefu.server;
      }
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await edge?.close();
      kefu?.pages.close();
      await kefu?.server.close();
    });

    /** Opens the chat window on the test site once an agent is online. */
    async function chatting(path = '/', options = {}) {
      const page = await openSite(browser, kefu.pages, { path, ...options });
      await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
      await launcher(page).click();
      return { page, chat: chatWindow(page) };
    }

    test('with nobody online the visitor leaves a message, checked in the page and stored', async () => {
      const page = await openSite(browser, kefu.pages, { path: '/contact' });
      await until(async () => (await launcher(page).getAttribute('aria-label')) === 'Leave us a message', 'the offline launcher');
      await launcher(page).click();
      const chat = chatWindow(page);
      await chat.getByRole('heading', { name: 'Leave us a message' }).waitFor();
      await chat.getByRole('button', { name: 'Send message' }).click();
      await chat.getByText('Enter an email address we can reply to').waitFor();
      assert.equal(await chat.getByLabel('Your email').getAttribute('aria-invalid'), 'true');
      await chat.getByLabel('Your name (optional)').fill('Bo Chen');
      await chat.getByLabel('Your email').fill('bo@example.com');
      await chat.getByRole('button', { name: 'Send message' }).click();
      await chat.getByText('Write your message.').waitFor();
      await chat.getByLabel('Your message').fill('Please call me about a bulk order of 40 chairs.');
      await chat.getByRole('button', { name: 'Send message' }).click();
      await chat.getByText('Thank you! We will reply to bo@example.com.').waitFor();

      const token = await kefu.server.login(kefu.email);
      const { status, body } = await kefu.server.api('GET', '/api/v1/leave-messages?handled=false', { token });
      assert.equal(status, 200);
      const left = body.items.find((m) => m.email === 'bo@example.com');
      assert.equal(left.name, 'Bo Chen');
      assert.equal(left.body, 'Please call me about a bulk order of 40 chairs.');
      assert.equal(left.page_url, kefu.pages.origin + '/contact');
      await page.context().close();
    });

    test('a picture and a PDF reach the agent; a file too large or not what its name says is refused', async () => {
      const agent = await front.agent(kefu.email);
      const { page, chat } = await chatting('/files');
      const picture = png(120, 80);
      const input = chat.locator('input[type=file]');
      await input.setInputFiles({ name: 'lamp.png', mimeType: 'image/png', buffer: picture });
      const sent = await agent.waitFor((f) => f.type === 'message' && f.attachment && f.attachment.name === 'lamp.png', 'the picture');
      assert.deepEqual([sent.attachment.type, sent.attachment.width, sent.attachment.height], ['image/png', 120, 80]);
      const shown = chat.getByRole('img', { name: 'Picture: lamp.png' });
      await shown.waitFor();
      // Drawn, once decoded, at its size.
      assert.equal(await shown.evaluate((img) => img.decode().then(() => img.naturalWidth)), 120);
      const file = await kefu.server.api('GET', '/api/v1/files/' + sent.attachment.id, { token: agent.token });
      assert.equal(file.status, 200);

      const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
      await input.setInputFiles({ name: 'order 42.pdf', mimeType: 'application/pdf', buffer: pdf });
      const document = await agent.waitFor((f) => f.type === 'message' && f.attachment && f.attachment.name === 'order 42.pdf', 'the PDF');
      assert.equal(document.attachment.type, 'application/pdf');
      await chat.getByRole('button', { name: /^Download order 42\.pdf/ }).waitFor();

      await input.setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(LIMIT + 1, 37) });
      await chat.getByText('scan.pdf is too large: files can be at most 200 KB.').waitFor();
      const page_ = Buffer.from('<!doctype html><script>parent.__pwned = 1</script>');
      await input.setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: page_ });
      await chat.getByText('photo.png cannot be sent: only pictures (PNG, JPEG, GIF, WebP), PDF, text and ZIP or Office files can.').waitFor();

      // The agent's file reaches the visitor too.
      const upload = await kefu.server.api('POST', `/api/v1/files?name=manual.pdf&site=${sent.site}`, { token: agent.token, body: pdf });
      assert.equal(upload.status, 201);
      agent.send({ type: 'send', site: sent.site, conversation: sent.conversation, cid: 'f1', body: 'The manual', attachment: upload.body.attachment_token });
      await chat.getByRole('button', { name: /^Download manual\.pdf/ }).waitFor();
      const names = agent.frames.filter((f) => f.type === 'message' && f.attachment).map((f) => f.attachment.name);
      assert.deepEqual(names, ['lamp.png', 'order 42.pdf'], 'nothing refused was sent');
      agent.close();
      await page.context().close();
    });

    test('hostile text from visitors, agents, names and file names is shown as text and runs nothing', async () => {
      const corpus = [
        '<script>top.__pwned = 1</script>',
        '<img src=x onerror="top.__pwned = 1">',
        'javascript:top.__pwned=1',
        '<a href="javascript:top.__pwned=1">click</a>',
        '"><svg onload=top.__pwned=1>',
      ];
      const owner = await kefu.server.login(kefu.email);
      const hostile = '<img src=x onerror=top.__pwned=1>';
      const renamed = await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { name: 'Acme ' + hostile } });
      assert.equal(renamed.status, 200);
      const made = await kefu.server.api('POST', '/api/v1/agents', {
        token: owner,
        json: { email: 'eve@acme.example', name: hostile, password: PASSWORD, role: 'agent' },
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const agent = await front.agent(kefu.email);
      const eve = await front.agent('eve@acme.example');
      const { page, chat } = await chatting('/xss?title=' + encodeURIComponent('<b onmouseover=top.__pwned=1>Shop</b>'));
      const box = chat.getByRole('textbox', { name: 'Message' });
      for (const text of corpus) {
        await box.fill(text);
        await box.press('Enter');
      }
      const last = await agent.waitFor((f) => f.type === 'message' && f.body === corpus.at(-1), 'the corpus');
      for (const [i, text] of corpus.entries()) {
        eve.send({ type: 'send', site: last.site, conversation: last.conversation, cid: 'x' + i, body: text });
      }
      const hostileName = '<img src=x onerror=top.__pwned=1>.png';
      await chat.locator('input[type=file]').setInputFiles({ name: hostileName, mimeType: 'image/png', buffer: png(4, 4) });
      await chat.getByRole('img', { name: 'Picture: ' + hostileName }).waitFor();
      // Each text twice, the visitor's and Eve's (hers may still be on their way).
      for (const text of corpus) await until(async () => (await chat.getByText(text, { exact: true }).count()) === 2, text);
      assert.equal(await chat.getByText(hostile, { exact: true }).count(), corpus.length, "the agent's name, as text");
      await chat.getByRole('heading', { name: 'Acme ' + hostile }).waitFor();
      const frame = page.frames().find((f) => f.url().includes('/chat/'));
      assert.equal(await frame.evaluate(() => document.querySelectorAll('script:not([src]), [onerror], [onload], a[href^="javascript"]').length), 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran in the page');
      assert.equal(await frame.evaluate(() => window.__pwned), undefined, 'no script ran in the window');
      agent.close();
      eve.close();
      await kefu.server.api('PATCH', `/api/v1/sites/${kefu.siteId}`, { token: owner, json: { name: 'Acme shop' } });
      await page.context().close();
    });

    test('a page on an origin the site does not allow gets no widget and a warning', async () => {
      const page = await openSite(browser, kefu.pages, { origin: kefu.pages.otherOrigin });
      await until(() => page.logged.some((l) => l.includes("not among the site's allowed origins")), 'the warning');
      assert.equal(await page.locator('#kefu-chat').count(), 0);
      assert.ok(page.logged.some((l) => l.startsWith('warning: Kefu: ' + kefu.pages.otherOrigin + ' is not among')), page.logged.join('\n'));
      await page.context().close();
    });

    test('on a phone the window fills the screen and works', async () => {
      const agent = await front.agent(kefu.email);
      const { page, chat } = await chatting('/phone', { viewport: { width: 390, height: 844 } });
      const panel = await page.locator('#kefu-chat .p').boundingBox();
      assert.deepEqual([panel.x, panel.y, panel.width, panel.height], [0, 0, 390, 844]);
      assert.equal(await launcher(page).isVisible(), false, 'the window covers the launcher');
      const box = chat.getByRole('textbox', { name: 'Message' });
      await box.fill('Sent from my phone');
      await box.press('Enter');
      await agent.waitFor((f) => f.type === 'message' && f.body === 'Sent from my phone');
      await chat.getByRole('button', { name: 'Close the chat window' }).click();
      assert.equal(await page.locator('#kefu-chat .p').isVisible(), false);
      assert.equal(await launcher(page).isVisible(), true);
      agent.close();
      await page.context().close();
    });

    test('the site vouches for a logged-in visitor; a forged hash is shown as unverified', async () => {
      const owner = await kefu.server.login(kefu.email);
      const made = await kefu.server.api('POST', `/api/v1/sites/${kefu.siteId}/identity-secret`, { token: owner });
      assert.equal(made.status, 201);
      const hash = (id) => createHmac('sha256', made.body.identity_secret).update(id).digest('hex');
      const agent = await front.agent(kefu.email);
      const identify = (id, proof) =>
        `<script>Kefu('identify', {id: ${JSON.stringify(id)}, name: 'Ana Lima', email: 'ana@shop.example', hash: ${JSON.stringify(proof)}})</script>`;
      kefu.pages.extra['/account'] = identify('user-42', hash('user-42'));
      kefu.pages.extra['/forged'] = identify('user-1', hash('user-2'));
      const good = await openSite(browser, kefu.pages, { path: '/account' });
      const verified = await agent.waitFor((f) => f.type === 'visitor_arrived' && f.visitor.identity && f.visitor.identity.id === 'user-42');
      assert.deepEqual(verified.visitor.identity, { id: 'user-42', name: 'Ana Lima', email: 'ana@shop.example', verified: true });
      const forged = await openSite(browser, kefu.pages, { path: '/forged' });
      const unverified = await agent.waitFor((f) => f.type === 'visitor_arrived' && f.visitor.identity && f.visitor.identity.id === 'user-1');
      assert.equal(unverified.visitor.identity.verified, false);
      agent.close();
      await good.context().close();
      await forged.context().close();
    });

    test('a page without the launcher opens the window itself, even before Kefu answered', async () => {
      kefu.pages.extra['/help'] = "<script>Kefu('config', {hidden: true}); Kefu('open');</script>";
      const agent = await front.agent(kefu.email);
      const page = await openSite(browser, kefu.pages, { path: '/help' });
      const chat = chatWindow(page);
      const box = chat.getByRole('textbox', { name: 'Message' });
      await box.waitFor();
      assert.equal(await launcher(page).isVisible(), false, 'no launcher');
      await box.fill('Opened by the page');
      await box.press('Enter');
      await agent.waitFor((f) => f.type === 'message' && f.body === 'Opened by the page');
      agent.close();
      await page.context().close();
    });

    test("Kefu's own chat page works for a site that lists its allowed origins", async () => {
      const agent = await front.agent(kefu.email);
      const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
      const page = await context.newPage();
      await page.goto(`${front.address}/chat/${kefu.siteKey}`);
      const box = page.getByRole('textbox', { name: 'Message' });
      await box.fill('Written on the chat page');
      await box.press('Enter');
      const said = await agent.waitFor((f) => f.type === 'message' && f.body === 'Written on the chat page');
      agent.send({ type: 'send', site: said.site, conversation: said.conversation, cid: 'p1', body: 'Answered on the chat page' });
      await page.getByText('Answered on the chat page').waitFor();
      await page.getByText('Sent', { exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Close the chat window' }).isVisible(), false, 'nothing to close on a page');
      // A reload brings the conversation back.
      await page.reload();
      await page.getByText('Answered on the chat page').waitFor();
      agent.close();
      await context.close();
    });
  });
}
