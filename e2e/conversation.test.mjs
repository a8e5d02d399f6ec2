// A visitor on a customer's site chats with an agent: the loader, the chat window and the agent's
// socket, end to end, with the site on another origin than Kefu.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chatWindow, launchBrowser, launcher, openSite, startKefu, until } from './harness.mjs';

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

/** Messages of a conversation as stored, through the REST API. */
async function stored(token, conversation) {
  const { body } = await kefu.server.api('GET', `/api/v1/conversations/${conversation}/messages`, { token });
  return body.items;
}

test('a visitor writes, the agent sees them and their page, answers, and both see read marks', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/lamps?title=Lamps' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'the launcher to show online');
  assert.equal(await launcher(page).getAttribute('aria-label'), 'Chat with us');
  const arrived = await agent.waitFor((f) => f.type === 'visitor_arrived', 'the visitor arriving');
  assert.equal(arrived.visitor.page.url, kefu.pages.origin + '/lamps?title=Lamps');
  assert.equal(arrived.visitor.page.title, 'Lamps');
  assert.equal(arrived.visitor.device.language, 'en-US');
  assert.match(arrived.visitor.device.user_agent, /Chrome/);

  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  // The agent sees the draft as the visitor types it.
  await box.pressSequentially('Do you ship', { delay: 20 });
  const draft = await agent.waitFor((f) => f.type === 'typing' && f.from === 'visitor' && f.preview === 'Do you ship', 'the draft');
  assert.equal(draft.active, true);
  await box.pressSequentially(' lamps to Norway?');
  await box.press('Enter');
  const message = await agent.waitFor((f) => f.type === 'message' && f.body === 'Do you ship lamps to Norway?', 'the message');
  assert.equal(message.sender.party, 'visitor');
  await chat.getByText('Sent', { exact: true }).waitFor();

  agent.send({ type: 'read', site: message.site, conversation: message.conversation, seq: message.seq });
  await chat.getByText('Read', { exact: true }).waitFor();
  agent.send({ type: 'typing', site: message.site, conversation: message.conversation, active: true });
  await chat.getByText('Ana is typing…').waitFor();
  agent.send({ type: 'send', site: message.site, conversation: message.conversation, cid: 'r1', body: 'Yes, in 3 to 5 days.' });
  await chat.getByText('Yes, in 3 to 5 days.').waitFor();
  // The window is open and in view: the visitor has read the answer, and the agent is told.
  const read = await agent.waitFor((f) => f.type === 'read' && f.by === 'visitor' && f.seq > message.seq, 'the read mark');
  assert.equal(read.conversation, message.conversation);
  assert.deepEqual(
    (await stored(agent.token, message.conversation)).filter((m) => m.kind === 'text').map((m) => m.body),
    ['Do you ship lamps to Norway?', 'Yes, in 3 to 5 days.'],
  );
  assert.deepEqual(page.logged.filter((l) => l.startsWith('pageerror') || l.startsWith('error')), []);
  agent.close();
  await page.context().close();
});

test('agents follow a single-page site and an invitation opens the window with their words (in Chinese)', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/', locale: 'zh-CN' });
  await until(async () => (await launcher(page).getAttribute('aria-label')) === '在线咨询', 'the launcher, in Chinese');
  const arrived = await agent.waitFor((f) => f.type === 'visitor_arrived' && f.visitor.page.url.endsWith('/'));
  const visitor = arrived.visitor.visitor;
  await page.evaluate(() => {
    history.pushState({}, '', '/checkout');
    document.title = 'Checkout';
  });
  const moved = await agent.waitFor((f) => f.type === 'visitor_page' && f.visitor === visitor, 'the page change');
  assert.equal(moved.page.url, kefu.pages.origin + '/checkout');
  assert.equal(moved.page.title, 'Checkout');
  assert.equal(moved.page.referrer, kefu.pages.origin + '/');
  await page.evaluate(() => (location.hash = '#shipping'));
  await agent.waitFor((f) => f.type === 'visitor_page' && f.page.url.endsWith('/checkout#shipping'), 'the hash change');

  agent.send({ type: 'invite', site: arrived.site, visitor, cid: 'i1', body: 'Can I help you with the checkout?' });
  const chat = chatWindow(page);
  await chat.getByText('Can I help you with the checkout?').waitFor();
  assert.equal(await page.locator('#kefu-chat .p').isVisible(), true, 'the window opened');
  await chat.getByText('Ana 发起了对话').waitFor();
  await chat.getByRole('textbox', { name: '消息' }).waitFor();
  agent.close();
  await page.context().close();
});

test('a reload brings the conversation back and resends what was not stored, once', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/reload' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.fill('first, before the reload');
  await box.press('Enter');
  const first = await agent.waitFor((f) => f.type === 'message' && f.body === 'first, before the reload');

  agent.close();

  // The server goes away: the next message stays in the outbox, shown as not sent, and the page
  // is reloaded before it could go.
  await kefu.server.stop();
  await chat.getByText('Connection lost. Reconnecting…').waitFor();
  await box.fill('second, written offline');
  await box.press('Enter');
  await chat.getByText('Not sent yet').waitFor();
  await page.reload();
  await kefu.server.start();
  const back = await kefu.server.agent(kefu.email);
  // The window was open before the reload: it opens again, with the whole conversation.
  const chatAgain = chatWindow(page);
  await chatAgain.getByText('first, before the reload').waitFor();
  await chatAgain.getByText('second, written offline').waitFor();
  await chatAgain.getByText('Sent', { exact: true }).nth(1).waitFor();
  const texts = (await stored(back.token, first.conversation)).filter((m) => m.kind === 'text').map((m) => m.body);
  assert.deepEqual(texts, ['first, before the reload', 'second, written offline'], 'each message stored once, in order');
  assert.equal(await chatAgain.getByText('second, written offline').count(), 1, 'shown once');
  back.close();
  await page.context().close();
});

test('a message typed while the server restarts arrives after the reconnect', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/restart' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.fill('before the restart');
  await box.press('Enter');
  const first = await agent.waitFor((f) => f.type === 'message' && f.body === 'before the restart');
  agent.close();

  await kefu.server.stop();
  await chat.getByText('Connection lost. Reconnecting…').waitFor();
  await box.fill('typed while the server was down');
  await box.press('Enter');
  await kefu.server.start();
  const back = await kefu.server.agent(kefu.email);
  await chat.getByText('Sent', { exact: true }).nth(1).waitFor({ timeout: 40000 });
  const texts = (await stored(back.token, first.conversation)).filter((m) => m.kind === 'text').map((m) => m.body);
  assert.deepEqual(texts, ['before the restart', 'typed while the server was down']);
  back.close();
  await page.context().close();
});

test('a burst over the limit arrives whole and in order, with a message written while it waits', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/burst' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.waitFor();
  // 25 messages at once (a paste split into lines, a stuck key): more than a socket may send at
  // once (20), so some are turned away for now.
  const burst = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
  await box.evaluate((input, lines) => {
    for (const line of lines) {
      input.value = line;
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    }
  }, burst);
  // Written once the allowance is back, before the turned-away lines went again.
  await page.waitForTimeout(1500);
  await box.fill('written after the burst');
  await box.press('Enter');
  const last = await agent.waitFor((f) => f.type === 'message' && f.body === 'written after the burst', 'the message written after the burst');
  await until(async () => (await chat.getByText('Not sent yet').count()) === 0, 'every line sent');
  const texts = (await stored(agent.token, last.conversation)).filter((m) => m.kind === 'text').map((m) => m.body);
  assert.deepEqual(texts, [...burst, 'written after the burst'], 'every line stored once, in the order written');
  assert.equal(await chat.getByText('line 21', { exact: true }).count(), 1, 'shown once');
  agent.close();
  await page.context().close();
});

test('the badge counts replies while the window is closed, and the page can drive the widget', async () => {
  kefu.pages.extra['/api'] = `<script>
    window.replies = [];
    window.opened = 0;
    Kefu('on', 'message', (m) => window.replies.push(m.body));
    Kefu('on', 'open', () => window.opened++);
  </script>`;
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/api' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await page.evaluate(() => Kefu('open'));
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await chat.getByRole('button', { name: 'Insert an emoji' }).click();
  await chat.getByRole('button', { name: '👍' }).click();
  await box.pressSequentially(' Is the oak table in stock?');
  assert.equal(await box.inputValue(), '👍 Is the oak table in stock?');
  await box.press('Enter');
  const asked = await agent.waitFor((f) => f.type === 'message' && f.body === '👍 Is the oak table in stock?');
  await page.evaluate(() => Kefu('close'));
  assert.equal(await page.locator('#kefu-chat .p').isVisible(), false);

  // A window on another origin (or a script of the page) cannot speak for the chat window.
  await page.evaluate(() => window.postMessage({ kefu: 'send', body: 'forged by the page' }, '*'));
  // The visitor looks at another tab when the replies come: the title blinks until they are back.
  const setHidden = (hidden) =>
    page.evaluate((hidden) => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await setHidden(true);
  for (const body of ['Yes, two left.', 'Shall I reserve one?']) {
    agent.send({ type: 'send', site: asked.site, conversation: asked.conversation, cid: body, body });
  }
  const badge = page.locator('#kefu-chat .b');
  await until(async () => (await badge.textContent()) === '2', 'the badge to count two replies');
  assert.equal(await badge.getAttribute('aria-label'), '2 unread');
  await until(async () => (await page.title()) === '(2) New message', 'the title to blink');
  await setHidden(false);
  await until(async () => (await page.title()) === 'Acme shop', 'the title back');
  assert.deepEqual(await page.evaluate(() => window.replies), ['Yes, two left.', 'Shall I reserve one?']);
  await page.evaluate(() => Kefu('toggle'));
  await chat.getByText('Shall I reserve one?').waitFor();
  assert.equal(await badge.isVisible(), false, 'read once the window is open');
  assert.equal(await page.evaluate(() => window.opened), 2);
  await chat.getByRole('textbox', { name: 'Message' }).press('Escape');
  assert.equal(await page.locator('#kefu-chat .p').isVisible(), false, 'Escape closes the window');
  const bodies = agent.frames.filter((f) => f.type === 'message').map((f) => f.body);
  assert.ok(!bodies.includes('forged by the page'), 'nothing forged was sent');
  agent.close();
  await page.context().close();
});

test('when the agent ends the conversation the visitor rates it', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/rate' });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await launcher(page).click();
  const chat = chatWindow(page);
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.fill('Thanks, that is all.');
  await box.press('Enter');
  const said = await agent.waitFor((f) => f.type === 'message' && f.body === 'Thanks, that is all.');
  agent.send({ type: 'close', site: said.site, conversation: said.conversation });
  await chat.getByText('The conversation has ended').waitFor();
  await chat.getByRole('group', { name: 'How was this conversation?' }).waitFor();
  await chat.getByRole('radio', { name: '5 out of 5' }).check({ force: true });
  await chat.getByLabel('Anything to add? (optional)').fill('Quick and kind');
  await chat.getByRole('button', { name: 'Send rating' }).click();
  const rated = await agent.waitFor((f) => f.type === 'conversation' && f.conversation.rating === 5, 'the rating');
  assert.equal(rated.conversation.id, said.conversation);
  await chat.getByText('Thank you for your rating.').waitFor();
  await chat.getByText('You rated this conversation 5 out of 5').waitFor();
  const { body } = await kefu.server.api('GET', `/api/v1/conversations/${said.conversation}`, { token: agent.token });
  assert.equal(body.rating_comment, 'Quick and kind');
  agent.close();
  await page.context().close();
});

test("the page chooses the widget's language", async () => {
  kefu.pages.extra['/zh'] = "<script>Kefu('config', {lang: 'zh-CN'})</script>";
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/zh', locale: 'en-US' });
  await until(async () => (await launcher(page).getAttribute('aria-label')) === '在线咨询', 'the launcher in Chinese');
  await launcher(page).click();
  const chat = chatWindow(page);
  await chat.getByRole('textbox', { name: '消息' }).waitFor();
  await chat.getByRole('button', { name: '发送文件或图片' }).waitFor();
  assert.equal(await chat.locator('html').getAttribute('lang'), 'zh-CN');
  agent.close();
  await page.context().close();
});
