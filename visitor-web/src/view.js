// What the window looks like: the header, the connection banner, the log, the typing line and
// the forms, built once and then set from the chat's state on every change.

import { leaveForm, ratingForm } from './forms.js';
import { composer } from './compose.js';
import { atEnd, el, renderLog } from './log.js';

/** @typedef {import('./chat.js').Chat} Chat */

/** @param {Chat} chat */
export function buildView(chat) {
  const main = el('main', 'chat');
  main.setAttribute('aria-labelledby', 'kefu-title');
  const header = el('header');
  const heading = el('div', 'heading');
  const title = el('h1', undefined, '');
  title.id = 'kefu-title';
  const status = el('p', 'status');
  heading.append(title, status);
  const end = /** @type {HTMLButtonElement} */ (el('button', 'end'));
  end.type = 'button';
  end.onclick = () => chat.transport.signal({ type: 'close' });
  const hide = /** @type {HTMLButtonElement} */ (el('button', 'x', '×'));
  hide.type = 'button';
  hide.hidden = !chat.embedded;
  hide.onclick = () => chat.transport.hide();
  header.append(heading, end, hide);
  const banner = el('p', 'banner');
  banner.setAttribute('role', 'status');
  const log = el('ol', 'log');
  log.setAttribute('role', 'log');
  log.tabIndex = 0;
  const typing = el('p', 'typing');
  typing.setAttribute('aria-live', 'polite');
  const notice = el('p', 'notice');
  const rating = ratingForm(chat);
  const leave = leaveForm(chat);
  const compose = composer(chat);
  main.append(header, banner, log, typing, notice, rating.node, leave.node, compose.node);
  document.body.append(main);
  document.addEventListener('visibilitychange', () => chat.render());
  document.addEventListener('keydown', (event) => {
    // Escape also cancels an input method's word: then it is not for the window.
    const composing = event.isComposing || event.keyCode === 229;
    if (event.key === 'Escape' && chat.embedded && !event.defaultPrevented && !composing) chat.transport.hide();
  });
  return { main, title, status, end, hide, banner, log, typing, notice, rating, leave, compose, input: compose.input };
}

/** @param {Chat} chat */
export function renderView(chat) {
  const ui = chat.ui;
  if (!ui) return;
  // Read before the forms below change the log's height.
  const follow = atEnd(ui.log);
  const w = chat.welcome;
  document.documentElement.lang = chat.lang;
  document.title = w ? w.site_name + ' · ' + chat.t('title') : chat.t('title');
  ui.title.textContent = w ? w.site_name : chat.t('title');
  ui.log.setAttribute('aria-label', chat.t('log'));
  ui.hide.setAttribute('aria-label', chat.t('close'));
  const c = chat.conversation;
  const live = !!c && c.status !== 'closed';
  const agent = c && c.agent ? chat.agentName(c.agent) : null;
  ui.status.textContent = agent && live ? chat.t('withAgent', { name: agent }) : chat.t(w && w.agents_online ? 'online' : 'away');
  ui.main.classList.toggle('online', !!(w && w.agents_online));
  ui.end.textContent = chat.t('end');
  ui.end.hidden = !live;
  const banner = chat.state === 'open' ? '' : chat.t(chat.state === 'refused' ? 'refused' : chat.state === 'reconnecting' ? 'reconnecting' : 'connecting');
  ui.banner.textContent = banner;
  ui.banner.hidden = !banner;
  const typing = chat.typing && chat.typing.until > Date.now() ? chat.t('typing', { name: chat.typing.name }) : '';
  ui.typing.textContent = typing;

  // Nobody online, no conversation going, and the site wants the form: offer it instead.
  const offline = !!w && !w.agents_online && !live && chat.outbox.length === 0;
  const leave = offline && w.widget.offline_form;
  ui.leave.show(leave);
  ui.compose.show(!leave && chat.state !== 'refused');
  ui.rating.show(!!c && c.status === 'closed' && c.rating == null, !!c && c.rating != null);
  ui.notice.textContent = offline && !leave ? chat.t('awayNote') : c && c.status === 'closed' ? chat.t('newChat') : '';
  ui.notice.hidden = !ui.notice.textContent;
  ui.compose.translate();
  ui.leave.translate();
  ui.rating.translate();
  renderLog(chat, ui.log, follow);
  chat.markRead();
}
