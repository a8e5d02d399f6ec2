// The visitor's side in a real browser against the edge: the test site's snippet loads the loader
// from the Worker, the chat window's socket goes to the site's room object, and an agent answers
// through the edge too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBehindEdge } from './edge.mjs';
import { Agent, chatWindow, launchBrowser, launcher, openSite, until } from './harness.mjs';

let kefu, edge, browser;

before(async () => {
  ({ kefu, edge } = await startBehindEdge());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await edge?.close();
  kefu?.pages.close();
  await kefu?.server.close();
});

test('through the edge a visitor is watched, invited, chats with a draft shown, and finds it all again after a reload', async () => {
  const token = await kefu.server.login(kefu.email);
  const agent = new Agent(edge.ws(`/ws/agent?site=${kefu.siteId}`), token);
  await agent.connect();

  const page = await openSite(browser, kefu.pages, { path: '/lamps?title=Lamps' });
  const loaded = [];
  page.on('response', (response) => loaded.push([new URL(response.url()).pathname, response.status()]));
  assert.equal((await fetch(edge.address + '/embed.js')).headers.get('cross-origin-resource-policy'), 'cross-origin');
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'the launcher to show online');
  const arrived = await agent.waitFor((f) => f.type === 'visitor_arrived', 'the visitor arriving');
  assert.equal(arrived.visitor.page.title, 'Lamps');

  // The agent sees the visitor move, and invites them: the window opens with the invitation.
  await page.evaluate(() => {
    history.pushState({}, '', '/brass');
    document.title = 'Brass lamps';
  });
  const moved = await agent.waitFor((f) => f.type === 'visitor_page', 'the visitor moving');
  assert.equal(moved.page.title, 'Brass lamps');
  agent.send({ type: 'invite', site: kefu.siteId, visitor: arrived.visitor.visitor, cid: 'inv-1', body: 'Looking for a brass lamp?' });
  const chat = chatWindow(page);
  await chat.getByText('Looking for a brass lamp?').waitFor();
  const box = chat.getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('Is the brass lamp', { delay: 20 });
  await agent.waitFor((f) => f.type === 'typing' && f.preview?.includes('Is the brass lamp'), 'the draft');
  await box.pressSequentially(' still for sale?');
  await box.press('Enter');
  const message = await agent.waitFor((f) => f.type === 'message' && f.body === 'Is the brass lamp still for sale?', 'the message');
  agent.send({ type: 'send', site: kefu.siteId, conversation: message.conversation, cid: 'b-1', body: 'Yes, one is left.' });
  await chat.getByText('Yes, one is left.').waitFor();

  // After a reload the window, open before, opens again on the same conversation.
  await page.reload();
  await chatWindow(page).getByText('Yes, one is left.').waitFor();
  await chatWindow(page).getByText('Is the brass lamp still for sale?').waitFor();
  await chatWindow(page).getByText('Looking for a brass lamp?').waitFor();
  // The loader and the window's script came from the Worker itself.
  assert.ok(loaded.some(([path, status]) => path === '/assets/chat.js' && status === 200), JSON.stringify(loaded));
  agent.close();
  await page.context().close();
});
