// The live visitors panel: everyone on the agent's sites, updating as they arrive, move and leave.

import { browserOf, button, duration, el, titled } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./model.js').Model} Model */
/** @typedef {import('./model.js').SiteVisitor} SiteVisitor */

/**
 * @param {Model} model
 * @param {{open: (conversation: string) => void, invite: (visitor: SiteVisitor) => void}} act
 */
export function visitorsPanel(model, act) {
  const { section, head } = titled('visitors', t('visitors'));
  const count = el('span', 'count');
  head.append(count);
  const table = el('table');
  const thead = el('thead');
  const row = el('tr');
  for (const key of /** @type {const} */ (['visitor', 'page', 'from', 'device', 'onSite', 'pages', 'chat'])) {
    const th = el('th', key, t(key));
    th.scope = 'col';
    row.append(th);
  }
  thead.append(row);
  const tbody = el('tbody');
  const empty = el('p', 'empty', t('noVisitors'));
  table.append(thead, tbody);
  const scroller = el('div', 'scroller');
  scroller.append(table, empty);
  section.append(scroller);

  const render = () => {
    const visitors = [...model.visitors.values()].sort((a, b) => b.arrived_at - a.arrived_at);
    let total = visitors.length;
    for (const n of model.unlisted.values()) total += n;
    count.textContent = t('visitorsCount', { count: total });
    empty.hidden = visitors.length > 0;
    table.hidden = visitors.length === 0;
    tbody.replaceChildren(...visitors.map((v) => visitorRow(model, v, act)));
  };
  return { node: section, render };
}

/**
 * @param {Model} model @param {SiteVisitor} v
 * @param {{open: (conversation: string) => void, invite: (visitor: SiteVisitor) => void}} act
 */
function visitorRow(model, v, act) {
  const tr = el('tr');
  tr.dataset.visitor = v.visitor;
  const who = el('td', 'visitor');
  who.append(el('strong', '', v.identity?.name || t('anonymous', { id: v.visitor.slice(-4) })));
  if (v.identity) {
    const badge = el('span', v.identity.verified ? 'badge ok' : 'badge', t(v.identity.verified ? 'verified' : 'unverified'));
    who.append(badge);
    if (v.identity.email) who.append(el('small', '', v.identity.email));
  }
  if (model.sites.size > 1) who.append(el('small', '', model.sites.get(v.site) || ''));

  const page = el('td', 'page');
  page.append(el('span', 'title', v.page.title || readable(v.page.url)), el('small', 'url', readable(v.page.url)));
  const draft = model.preview(v.site, v.visitor);
  if (draft) page.append(el('small', 'draft', t('typing', { preview: draft })));

  const from = el('td', 'from');
  if (v.keywords) from.append(el('span', '', t('searched', { keywords: v.keywords })));
  from.append(el('small', '', referrerHost(v.page.referrer) || t('direct')));

  const device = el('td', 'device');
  device.append(el('span', '', browserOf(v.device.user_agent)), el('small', '', [v.device.language, v.device.screen].filter(Boolean).join(' · ')));

  const onSite = el('td', 'onSite', duration(v.arrived_at, t));
  const pages = el('td', 'pages', String(v.pages));

  const chat = el('td', 'chat');
  const c = v.conversation ? model.conversations.get(v.conversation) : null;
  if (c && c.status !== 'closed') {
    chat.append(el('span', 'badge live', t('chatting')));
    const open = button(t('openChat'));
    open.onclick = () => act.open(c.id);
    chat.append(open);
  } else {
    chat.append(el('span', 'badge', t('notChatting')));
    const invite = button(t('invite'));
    invite.onclick = () => act.invite(v);
    chat.append(invite);
  }
  tr.append(who, page, from, device, onSite, pages, chat);
  return tr;
}

/** @param {string} referrer */
function referrerHost(referrer) {
  try {
    return referrer ? new URL(referrer).host : '';
  } catch (_) {
    return '';
  }
}

/** An address as people read it: `%E7%BB%93` shown as the characters it stands for. @param {string} url */
export function readable(url) {
  try {
    return decodeURI(url);
  } catch (_) {
    return url;
  }
}
