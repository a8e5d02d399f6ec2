// The history search: conversations by the words in their messages, a tag and the days they
// started, across the agent's sites; a result opens in a panel like a live conversation.

import { button, el, labelled, titled } from './dom.js';
import { currentLanguage, t } from './i18n.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').ConversationView} ConversationView */
/** @typedef {ConversationView & {tags: string[], last_message_at: number | null}} Found */

/**
 * @param {Api} api
 * @param {{siteName: (id: string) => string, open: (found: Found) => void}} ctx
 */
export function historyPanel(api, ctx) {
  const { section } = titled('history', t('history'));
  const form = el('form', 'search');
  /** @param {string} text @param {string} type @param {string} name */
  const field = (text, type, name) => {
    const input = el('input');
    input.type = type;
    input.name = name;
    form.append(labelled(text, input));
    return input;
  };
  const q = field(t('searchText'), 'search', 'q');
  const tag = field(t('searchTag'), 'text', 'tag');
  const from = field(t('searchFrom'), 'date', 'from');
  const to = field(t('searchTo'), 'date', 'to');
  const go = el('button', 'primary', t('search'));
  go.type = 'submit';
  form.append(go);
  const problem = el('p', 'problem');
  problem.setAttribute('role', 'alert');
  const results = el('ul', 'found');
  const none = el('p', 'empty', t('noResults'));
  none.hidden = true;
  section.append(form, problem, results, none);

  form.onsubmit = async (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ limit: '100' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (tag.value.trim()) params.set('tag', tag.value.trim());
    // Days in the agent's own time zone: from the start of `from` to the end of `to`.
    if (from.value) params.set('from', String(new Date(from.value + 'T00:00').getTime()));
    if (to.value) params.set('to', String(new Date(to.value + 'T00:00').getTime() + 86_400_000));
    problem.textContent = '';
    try {
      /** @type {{items: Found[]}} */
      const page = await api.request('GET', '/conversations?' + params);
      none.hidden = page.items.length > 0;
      results.replaceChildren(...page.items.map(item));
    } catch (error) {
      problem.textContent = /** @type {Error} */ (error).message;
    }
  };

  /** @param {Found} c */
  function item(c) {
    const li = el('li');
    const pick = button('', 'item');
    pick.dataset.conversation = c.id;
    const when = new Date(c.started_at).toLocaleString(currentLanguage(), { dateStyle: 'medium', timeStyle: 'short' });
    const status = t(c.status === 'waiting' ? 'statusWaiting' : c.status === 'open' ? 'statusOpen' : 'statusClosed');
    pick.append(
      el('strong', '', t('anonymous', { id: c.visitor.slice(-4) })),
      el('small', '', [ctx.siteName(c.site), when, status].filter(Boolean).join(' · ')),
    );
    const tags = el('span', 'tags');
    for (const name of c.tags) tags.append(el('span', 'tag', name));
    pick.append(tags);
    pick.onclick = () => ctx.open(c);
    li.append(pick);
    return li;
  }

  return { node: section, focus: () => q.focus() };
}
