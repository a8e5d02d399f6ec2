// The leave-a-message inbox: what visitors left while nobody was online, new or handled. A reply
// goes by email (the agent's own mail program opens with the visitor's address and their words).

import { button, clock, el, titled } from './dom.js';
import { currentLanguage, t } from './i18n.js';
import { readable } from './visitors.js';

/** @typedef {import('./api.js').Api} Api */
/**
 * @typedef {{id: string, site: string, visitor: string | null, name: string, email: string,
 *   body: string, page_url: string, created_at: number, handled_at: number | null,
 *   handled_by: string | null}} LeftMessage
 */

/**
 * @param {Api} api @param {(id: string) => string} siteName
 * @param {(count: number) => void} counted how many new ones there are
 */
export function inboxPanel(api, siteName, counted) {
  const { section, head } = titled('inbox', t('inbox'));
  const tabs = el('div', 'tabs');
  tabs.setAttribute('role', 'tablist');
  const fresh = button(t('inboxNew'));
  const done = button(t('inboxHandled'));
  for (const tab of [fresh, done]) tab.setAttribute('role', 'tab');
  tabs.append(fresh, done);
  head.append(tabs);
  const list = el('ul', 'left');
  const empty = el('p', 'empty', t('inboxEmpty'));
  section.append(list, empty);
  let handled = false;

  async function load() {
    fresh.setAttribute('aria-selected', String(!handled));
    done.setAttribute('aria-selected', String(handled));
    /** @type {{items: LeftMessage[]}} */
    const page = await api.request('GET', `/leave-messages?handled=${handled}&limit=100`);
    if (!handled) counted(page.items.length);
    empty.hidden = page.items.length > 0;
    list.replaceChildren(...page.items.map(item));
  }

  /** @param {LeftMessage} m */
  function item(m) {
    const li = el('li');
    const who = el('div', 'who');
    who.append(el('strong', '', m.name || m.email), el('small', '', `${m.email} · ${siteName(m.site)} · ${clock(m.created_at, currentLanguage())}`));
    const body = el('p', 'body', m.body);
    const page = el('small', 'url', readable(m.page_url));
    const actions = el('div', 'actions');
    const reply = el('a', 'button', t('replyByEmail'));
    const quoted = m.body.split('\n').map((line) => '> ' + line).join('\n');
    reply.href = `mailto:${encodeURIComponent(m.email)}?body=${encodeURIComponent('\n\n' + quoted)}`;
    actions.append(reply);
    if (m.handled_at) {
      actions.append(el('small', '', t('handledBy', { time: clock(m.handled_at, currentLanguage()) })));
    } else {
      const mark = button(t('markHandled'));
      mark.onclick = async () => {
        mark.disabled = true;
        await api.request('POST', `/leave-messages/${encodeURIComponent(m.id)}/handled`).catch(() => (mark.disabled = false));
        await load();
      };
      actions.append(mark);
    }
    li.append(who, body, page, actions);
    return li;
  }

  fresh.onclick = () => {
    handled = false;
    load().catch(() => {});
  };
  done.onclick = () => {
    handled = true;
    load().catch(() => {});
  };
  return { node: section, load: () => load().catch(() => {}) };
}
