// Takes the screenshots in docs/screenshots/ (the widget closed, open, chatting, the offline form,
// on a phone; in English and Chinese) from a real `kefu serve` in headless chromium:
//   node e2e/screenshots.mjs
// Chinese text needs a CJK font (Debian: fonts-noto-cjk).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chatWindow, launchBrowser, launcher, openSite, root, startKefu, until } from './harness.mjs';

const out = join(root, 'docs/screenshots');
mkdirSync(out, { recursive: true });
const kefu = await startKefu();
const browser = await launchBrowser();
const words = {
  en: { ask: 'Hello! Do you ship lamps to Norway?', answer: 'Yes, in 3 to 5 days. Here is our shipping table.' },
  'zh-CN': { ask: '你好，灯具可以寄到挪威吗？', answer: '可以，3 到 5 天送达。这是我们的运费表。' },
};

for (const [lang, text] of Object.entries(words)) {
  const locale = lang === 'en' ? 'en-US' : 'zh-CN';
  const shot = (page, name) => page.screenshot({ path: join(out, `${lang}-${name}.png`) });

  // Nobody online: the launcher is grey and the window offers the form.
  const offline = await openSite(browser, kefu.pages, { locale });
  await launcher(offline).waitFor();
  await launcher(offline).click();
  await chatWindow(offline).locator('form.leave').waitFor();
  await shot(offline, 'offline-form');
  await offline.context().close();

  const agent = await kefu.server.agent(kefu.email);
  const page = await openSite(browser, kefu.pages, { locale });
  await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
  await page.waitForTimeout(300);
  await shot(page, 'closed');
  await launcher(page).click();
  const chat = chatWindow(page);
  await chat.getByRole('textbox').first().waitFor();
  await shot(page, 'open');
  const box = chat.locator('textarea#kefu-message');
  await box.fill(text.ask);
  await box.press('Enter');
  const asked = await agent.waitFor((f) => f.type === 'message' && f.body === text.ask);
  agent.send({ type: 'send', site: asked.site, conversation: asked.conversation, cid: 'a1', body: text.answer });
  await chat.getByText(text.answer).waitFor();
  agent.send({ type: 'typing', site: asked.site, conversation: asked.conversation, active: true });
  await page.waitForTimeout(500);
  await shot(page, 'chatting');
  await page.context().close();

  const phone = await openSite(browser, kefu.pages, { locale, viewport: { width: 390, height: 844 } });
  await until(async () => (await launcher(phone).getAttribute('class'))?.includes('on'), 'online');
  await launcher(phone).click();
  const small = chatWindow(phone);
  await small.locator('textarea#kefu-message').fill(text.ask);
  await small.locator('textarea#kefu-message').press('Enter');
  await agent.waitFor((f) => f.type === 'message' && f.body === text.ask && f.conversation !== asked.conversation);
  await phone.waitForTimeout(500);
  await shot(phone, 'phone');
  await phone.context().close();
  agent.close();
}

await browser.close();
kefu.pages.close();
await kefu.server.close();
console.log('screenshots written to', out);
