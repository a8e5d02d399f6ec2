// Takes the screenshots in docs/screenshots/ (the widget closed, open, chatting, the offline form,
// on a phone; the agent console's login, its live visitors with a conversation open, on a phone,
// its settings and its reports over two weeks of history; in English and Chinese) from a real `kefu serve` in headless chromium:
//   node e2e/screenshots.mjs
// Chinese text needs a CJK font (Debian: fonts-noto-cjk).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PASSWORD, chatWindow, kefu as runKefu, launchBrowser, launcher, openSite, root, startKefu, until } from './harness.mjs';

const out = join(root, 'docs/screenshots');
mkdirSync(out, { recursive: true });
const kefu = await startKefu({ env: { KEFU_TRUSTED_PROXIES: '127.0.0.1' } });
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

// The console: a few visitors on the site (one from a search, one logged in on the shop), one
// of them chatting and typing.
const visits = {
  en: [
    { path: '/lamps?title=Oak%20table%20lamp', referer: 'https://www.google.com/search?q=oak+table+lamp' },
    { path: '/?title=Acme%20shop', referer: '' },
    { path: '/checkout?title=Checkout', referer: 'https://news.example/best-lamps-2026', name: 'Maria Olsen' },
  ],
  'zh-CN': [
    { path: '/lamps?title=%E6%A9%A1%E6%9C%A8%E5%8F%B0%E7%81%AF', referer: 'https://www.baidu.com/s?wd=%E6%A9%A1%E6%9C%A8%E5%8F%B0%E7%81%AF' },
    { path: '/?title=Acme%20%E5%95%86%E5%BA%97', referer: '' },
    { path: '/checkout?title=%E7%BB%93%E7%AE%97', referer: 'https://news.example/best-lamps-2026', name: '王芳' },
  ],
};
for (const [lang, text] of Object.entries(words)) {
  const locale = lang === 'en' ? 'en-US' : 'zh-CN';
  const shot = (page, name) => page.screenshot({ path: join(out, `${lang}-${name}.png`) });
  const open = async (viewport, shotLogin) => {
    const context = await browser.newContext({ viewport, locale });
    const page = await context.newPage();
    await page.goto(kefu.server.address + '/console/');
    await page.locator('input[name=email]').waitFor();
    if (shotLogin) await shot(page, 'console-login');
    await page.locator('input[name=email]').fill(kefu.email);
    await page.locator('input[name=password]').fill(PASSWORD);
    await page.locator('button[type=submit]').click();
    await page.locator('.state.open').waitFor();
    return page;
  };
  // Earlier conversations end first, so the agent has room for the new one.
  const closer = await kefu.server.agent(kefu.email);
  for (const status of ['open', 'waiting']) {
    const { body } = await kefu.server.api('GET', `/api/v1/conversations?status=${status}`, { token: closer.token });
    for (const c of body.items) closer.send({ type: 'close', site: c.site, conversation: c.id });
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  closer.close();
  const login = await open({ width: 1400, height: 860 }, true);

  const visitors = [];
  for (const visit of visits[lang]) {
    const context = await browser.newContext({ locale, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    if (visit.name) {
      kefu.pages.extra[visit.path.split('?')[0]] = `<script>Kefu('identify', {id: 'u-7', name: '${visit.name}', email: 'maria@example.com'})</script>`;
    }
    await page.goto(kefu.pages.origin + visit.path, visit.referer ? { referer: visit.referer } : {});
    await until(async () => (await launcher(page).getAttribute('class'))?.includes('on'), 'online');
    visitors.push(page);
  }
  const chatting = visitors[0];
  await launcher(chatting).click();
  const box = chatWindow(chatting).locator('textarea#kefu-message');
  await box.fill(text.ask);
  await box.press('Enter');
  // Round-robin gives it to the agent: it is in their list ("Mine").
  await login.locator('.tabs button').nth(1).click();
  await login.locator('.items .item').first().click();
  const panel = login.locator('section.chat');
  await panel.getByText(text.ask).waitFor();
  const reply = panel.locator('textarea');
  await reply.fill(text.answer);
  await reply.press('Enter');
  await chatWindow(chatting).getByText(text.answer).waitFor();
  await box.pressSequentially(lang === 'en' ? 'And do you have it in walnut' : '有胡桃木的吗', { delay: 15 });
  await panel.locator('.preview:not([hidden])').waitFor();
  await login.waitForTimeout(300);
  await shot(login, 'console');
  await login.getByRole('button', { name: lang === 'en' ? 'Settings' : '设置' }).click();
  await login.locator('section.admin article.card').first().waitFor();
  await shot(login, 'console-settings');
  await login.locator('section.admin .back').click();

  const phone = await open({ width: 390, height: 844 });
  await phone.locator('.tabs button').nth(1).click();
  await phone.locator('section.visitors tbody tr').first().waitFor();
  await shot(phone, 'console-phone-list');
  await phone.locator('.items .item').first().click();
  await phone.locator('section.chat .m').first().waitFor();
  await phone.waitForTimeout(300);
  await shot(phone, 'console-phone-chat');
  await phone.context().close();
  for (const page of visitors) await page.context().close();
  await login.context().close();
}

// Reports need history: two weeks of a shop with two sites and three agents, imported as a tenant
// of its own (agents log in with the owner's password), read in each language.
const shops = {
  en: { tenant: 'Lumen Home', sites: ['Lumen shop', 'Lumen outlet'], agents: ['Lin', 'Sam', 'Kai'] },
  'zh-CN': { tenant: 'Lumen 家居', sites: ['Lumen 商城', 'Lumen 折扣店'], agents: ['林', '三木', '凯'] },
};
const exported = runKefu(kefu.server.env, ['export', '--tenant', kefu.tenant]);
const passwordHash = exported.split('\n').map((line) => line && JSON.parse(line)).find((r) => r.type === 'agent').password_hash;
let serial = 0;
const id = (prefix) => `${prefix}_0193f2${String(++serial).padStart(26, '0')}`;
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
for (const [lang, shop] of Object.entries(shops)) {
  const locale = lang === 'en' ? 'en-US' : 'zh-CN';
  const tenant = id('t');
  const lines = [{ type: 'header', format: 'kefu-tenant', version: 1, tenant: { id: tenant, name: shop.tenant, created_at: 1 } }];
  const sites = shop.sites.map((name) => {
    const site = { type: 'site', tenant, id: id('s'), key: id('k'), name, allowed_origins: [], greeting: '', auto_assign: true, color: '#1f6feb', position: 'right', offline_form: true, languages: ['zh-CN', 'en'], created_at: 1, identity_secret: null };
    lines.push(site);
    return site;
  });
  const agents = shop.agents.map((name, i) => {
    const agent = { type: 'agent', tenant, id: id('a'), email: `agent${i}.${lang}@lumen.example`, name, role: i ? 'agent' : 'owner', capacity: 5, all_sites: true, sites: [], disabled: false, created_at: 1, password_hash: passwordHash, token_generation: 0 };
    lines.push(agent);
    return agent;
  });
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  for (let back = 13; back >= 0; back--) {
    const weekend = [0, 6].includes(new Date(today.getTime() - back * 86_400_000).getDay());
    const count = Math.round((weekend ? 3 : 8) + random() * 6);
    for (let n = 0; n < count; n++) {
      const started = today.getTime() - back * 86_400_000 + (9 + random() * 9) * 3_600_000;
      if (started > Date.now() - 3_600_000) continue;
      const site = sites[random() < 0.7 ? 0 : 1];
      const agent = agents[Math.floor(random() * agents.length)];
      const answered = random() < 0.92;
      const firstResponse = (8 + random() * random() * 170) * 1000;
      const closedAt = started + (4 + random() * 35) * 60_000;
      const conversation = id('c');
      const rating = answered && random() < 0.6 ? (random() < 0.7 ? 5 : random() < 0.7 ? 4 : 2) : null;
      lines.push({ type: 'conversation', tenant, site: site.id, id: conversation, visitor: id('v'), status: 'closed', agent: answered ? agent.id : null, started_at: Math.round(started), closed_at: Math.round(closedAt), rating, rating_comment: null, visitor_read_seq: 0, agent_read_seq: 0 });
      const message = (seq, party, who, at, body) => ({ type: 'message', tenant, site: site.id, conversation, seq, sender: { party, id: who, name: null }, kind: 'text', body, at: Math.round(at) });
      lines.push(message(1, 'visitor', null, started, lang === 'en' ? 'Hello, a question about my order' : '你好，想问一下我的订单'));
      if (answered) lines.push(message(2, 'agent', agent.id, started + firstResponse, lang === 'en' ? 'Of course, let me look.' : '好的，我查一下。'));
    }
  }
  runKefu(kefu.server.env, ['import'], lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  // From an address of its own (logins are limited per address and minute).
  const context = await browser.newContext({
    viewport: { width: 1400, height: 1000 },
    locale,
    extraHTTPHeaders: { 'x-forwarded-for': lang === 'en' ? '10.0.0.1' : '10.0.0.2' },
  });
  const page = await context.newPage();
  await page.goto(kefu.server.address + '/console/');
  await page.locator('input[name=email]').fill(agents[0].email);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('button[type=submit]').click();
  await page.locator('.state.open').waitFor();
  await page.getByRole('button', { name: lang === 'en' ? 'Reports' : '报表' }).click();
  await page.locator('section.reports .figures tbody tr').first().waitFor();
  await page.screenshot({ path: join(out, `${lang}-console-reports.png`) });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  await page.locator('section.reports').screenshot({ path: join(out, `${lang}-console-phone-reports.png`) });
  await context.close();
}

await browser.close();
kefu.pages.close();
await kefu.server.close();
console.log('screenshots written to', out);
