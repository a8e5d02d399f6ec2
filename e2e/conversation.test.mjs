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
  await box.fill('Do you ship lamps to Norway?');
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

test('agents follow a single-page site and an invitation opens the window with their words', async () => {
  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { path: '/' });
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
  await chat.getByText('Ana started the conversation').waitFor();
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
