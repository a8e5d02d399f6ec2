// The agent's workplace once logged in: the header (connection, status, language, log out), the
// conversation lists, the live visitors and the open conversations side by side.

import { passwordDialog } from './account.js';
import { adminPanel } from './admin.js';
import { chime, mayAskToNotify, notify, showUnread } from './alerts.js';
import { ChatPanel } from './chat.js';
import { button, el } from './dom.js';
import { historyPanel } from './history.js';
import { reportsPanel } from './reports.js';
import { inboxPanel } from './inbox.js';
import { currentLanguage, setLanguage, t } from './i18n.js';
import { Live } from './live.js';
import { Model } from './model.js';
import { visitorsPanel } from './visitors.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./model.js').SiteVisitor} SiteVisitor */
/** @typedef {import('./chat.js').QuickReply} QuickReply */
/** @typedef {'waiting' | 'mine' | 'all'} ListName */

/** Panels open side by side at most; opening one more closes the oldest. */
const MAX_PANELS = 3;

/**
 * @param {HTMLElement} root @param {Api} api
 * @param {{loggedOut: (notice?: string) => void, relanguage: () => void}} on
 */
export function showWorkspace(root, api, on) {
  const model = new Model();
  /** @type {Map<string, ChatPanel>} */
  const panels = new Map();
  /** Visitors this agent invited, whose conversation opens when it starts. @type {Set<string>} */
  const invited = new Set();
  /** @type {ListName} */
  let list = 'waiting';
  let scheduled = false;
  /** @type {QuickReply[]} */
  let quickReplies = [];
  /** The conversation an agent last worked in (for the keyboard). */
  let current = '';

  const live = new Live(api, {
    frame: (frame) => {
      const before = frame.type === 'conversation' ? model.conversations.get(frame.conversation.id) : null;
      if (model.apply(frame) || frame.type === 'ack' || frame.type === 'error') changed();
      if (frame.type === 'conversation') {
        const c = frame.conversation;
        if (invited.delete(Model.key(c.site, c.visitor))) open(c.id);
        if (c.status === 'waiting' && !before) alert(c.id, t('newWaiting', { name: visitorName(c) }), '');
      }
      if (frame.type === 'message' && frame.sender.party === 'visitor' && frame.kind === 'text') {
        const c = model.conversations.get(frame.conversation);
        const mine = c && (c.agent === model.me?.id || c.status === 'waiting');
        if (c && mine) alert(c.id, t('newMessage', { name: visitorName(c) }), frame.body || frame.attachment?.name || '');
      }
      if (frame.type === 'agent_welcome') {
        api.request('GET', '/quick-replies').then((r) => (quickReplies = r), () => {});
        inbox.load();
      }
    },
    state: () => changed(),
    ended: () => on.loggedOut(t('sessionEnded')),
  });

  // --- header ---
  const header = el('header', 'top');
  const brand = el('h1', '', t('product'));
  const state = el('span', 'state');
  state.setAttribute('role', 'status');
  const statusLabel = el('label', 'status');
  const status = el('select');
  for (const value of /** @type {const} */ (['online', 'away', 'offline'])) {
    const option = el('option', '', t(value));
    option.value = value;
    status.append(option);
  }
  status.onchange = () => {
    live.send({ type: 'status', status: /** @type {'online' | 'away' | 'offline'} */ (status.value) });
    changed();
  };
  statusLabel.append(el('span', '', t('status')), status);
  const languageLabel = el('label', 'language');
  const language = el('select');
  for (const [value, name] of [['zh-CN', '中文'], ['en', 'English']]) {
    const option = el('option', '', name);
    option.value = value;
    language.append(option);
  }
  language.value = currentLanguage();
  language.onchange = () => {
    localStorage.setItem('kefu.console.language', language.value);
    setLanguage(/** @type {'en' | 'zh-CN'} */ (language.value));
    live.stop();
    on.relanguage();
  };
  languageLabel.append(el('span', '', t('language')), language);
  const me = el('span', 'me');
  const notifyOn = button(t('notifyOn'));
  notifyOn.hidden = !mayAskToNotify();
  notifyOn.onclick = () => Notification.requestPermission().then(() => (notifyOn.hidden = !mayAskToNotify()));
  const soundLabel = el('label', 'sound');
  const sound = el('input');
  sound.type = 'checkbox';
  sound.checked = localStorage.getItem('kefu.console.sound') !== 'off';
  sound.onchange = () => localStorage.setItem('kefu.console.sound', sound.checked ? 'on' : 'off');
  soundLabel.append(sound, el('span', '', t('sound')));
  const password = passwordDialog(api);
  const changePassword = button(t('changePassword'));
  changePassword.onclick = () => password.open();
  const help = el('span', 'help', '⌨');
  help.title = t('shortcuts');
  help.setAttribute('aria-label', t('shortcuts'));
  const logout = button(t('logout'));
  logout.onclick = async () => {
    live.stop();
    await api.logout();
    on.loggedOut();
  };
  header.append(brand, state, statusLabel, languageLabel, soundLabel, notifyOn, help, me, changePassword, logout, password.node);

  // --- conversation lists ---
  const side = el('nav', 'lists');
  side.setAttribute('aria-label', t('conversations'));
  const tabs = el('div', 'tabs');
  tabs.setAttribute('role', 'tablist');
  /** @type {Record<ListName, HTMLButtonElement>} */
  const tabButtons = { waiting: button(''), mine: button(''), all: button('') };
  for (const [name, tab] of Object.entries(tabButtons)) {
    tab.setAttribute('role', 'tab');
    tab.onclick = () => {
      list = /** @type {ListName} */ (name);
      changed();
    };
    tabs.append(tab);
  }
  const items = el('ul', 'items');
  const none = el('p', 'empty', t('noConversations'));
  const inboxButton = button(t('inbox'), 'side-open');
  const historyButton = button(t('history'), 'side-open');
  const reportsButton = button(t('reports'), 'side-open');
  reportsButton.hidden = true;
  const settingsButton = button(t('settings'), 'side-open');
  settingsButton.hidden = true;
  side.append(tabs, items, none, inboxButton, historyButton, reportsButton, settingsButton);
  const history = historyPanel(api, {
    siteName: (id) => model.sites.get(id) || '',
    open: (found) => {
      // A conversation that ended long ago is not in any room: what the search said is enough.
      if (!model.conversations.has(found.id)) model.conversations.set(found.id, found);
      open(found.id);
    },
  });
  const inbox = inboxPanel(api, (id) => model.sites.get(id) || '', (n) => {
    inboxButton.textContent = n ? `${t('inbox')} (${n})` : t('inbox');
  });
  const admin = adminPanel(api, {
    me: () => (model.me ? /** @type {any} */ ({ id: model.me.id, role: model.me.role }) : null),
    // A new site reaches the agent's sockets when they connect again.
    sitesChanged: () => live.restart(),
  });
  const reports = reportsPanel(api, { sites: () => model.sites });
  /** @param {'work' | 'inbox' | 'admin' | 'history' | 'reports'} view */
  const show = (view) => {
    inbox.node.hidden = view !== 'inbox';
    admin.node.hidden = view !== 'admin';
    history.node.hidden = view !== 'history';
    reports.node.hidden = view !== 'reports';
    if (view === 'history') history.focus();
    visitors.node.hidden = view !== 'work';
    chats.hidden = view !== 'work';
    if (view === 'inbox') inbox.load();
    if (view === 'admin') admin.load();
    if (view === 'reports') reports.load();
  };
  const back = button(t('back'), 'back');
  back.onclick = () => show('work');
  const backFromAdmin = button(t('back'), 'back');
  backFromAdmin.onclick = () => show('work');
  const backFromHistory = button(t('back'), 'back');
  backFromHistory.onclick = () => show('work');
  const backFromReports = button(t('back'), 'back');
  backFromReports.onclick = () => show('work');
  inbox.node.querySelector('header')?.prepend(back);
  admin.node.querySelector('header')?.prepend(backFromAdmin);
  history.node.querySelector('header')?.prepend(backFromHistory);
  reports.node.querySelector('header')?.prepend(backFromReports);
  reportsButton.onclick = () => show('reports');
  historyButton.onclick = () => show('history');
  inboxButton.onclick = () => show('inbox');
  settingsButton.onclick = () => show('admin');

  // --- visitors and chats ---
  const visitors = visitorsPanel(model, { open, invite });
  const chats = el('div', 'chats');
  const hint = el('p', 'empty hint', t('choose'));
  chats.append(hint);
  const main = el('main');
  main.append(visitors.node, chats, inbox.node, admin.node, history.node, reports.node);
  inbox.node.hidden = true;
  reports.node.hidden = true;
  admin.node.hidden = true;
  history.node.hidden = true;
  root.replaceChildren(header, side, main);

  /** @param {string} id */
  function open(id) {
    let panel = panels.get(id);
    if (!panel) {
      panel = new ChatPanel(id, { model, live, close: () => closePanel(id), changed, quickReplies: () => quickReplies });
      panels.set(id, panel);
      panel.node.addEventListener('focusin', () => (current = id));
      chats.append(panel.node);
      if (panels.size > MAX_PANELS) closePanel(panels.keys().next().value || '');
    }
    current = id;
    show('work');
    changed();
    panel.focus();
  }

  /** @param {import('./model.js').ConversationView} c */
  function visitorName(c) {
    return model.visitorOf(c)?.identity?.name || t('anonymous', { id: c.visitor.slice(-4) });
  }

  /**
   * Something new in a conversation: a sound, and a notification unless the agent is looking at it.
   * @param {string} id @param {string} title @param {string} body
   */
  function alert(id, title, body) {
    const looking = document.hasFocus() && !document.hidden && panels.has(id);
    if (looking) return;
    chime();
    notify(title, body, id, () => open(id));
  }

  /** @param {string} id */
  function closePanel(id) {
    panels.get(id)?.node.remove();
    panels.delete(id);
    changed();
  }

  /** @param {SiteVisitor} v */
  function invite(v) {
    invited.add(Model.key(v.site, v.visitor));
    const cid = crypto.getRandomValues(new Uint32Array(4)).join('-');
    live.send({ type: 'invite', site: v.site, visitor: v.visitor, cid, body: t('inviteText') });
  }

  function changed() {
    if (scheduled) return;
    scheduled = true;
    // A hidden page gets no animation frames (a background tab, the desktop app in its tray), yet
    // its unread count must stay true.
    if (document.hidden) setTimeout(render, 100);
    else requestAnimationFrame(render);
  }

  function render() {
    scheduled = false;
    state.textContent = t(live.state === 'open' ? 'connected' : live.state);
    state.className = 'state ' + live.state;
    status.value = live.status;
    me.textContent = model.me?.name || '';
    const manager = model.me?.role === 'owner' || model.me?.role === 'admin';
    tabButtons.all.hidden = !manager;
    settingsButton.hidden = !manager;
    reportsButton.hidden = !manager;
    if (!manager && list === 'all') list = 'waiting';
    for (const [name, tab] of Object.entries(tabButtons)) {
      const n = model.list(/** @type {ListName} */ (name)).length;
      tab.textContent = `${t(/** @type {ListName} */ (name))} (${n})`;
      tab.setAttribute('aria-selected', String(name === list));
    }
    // The open panels first: what they show is read, and the list counts what is left.
    for (const panel of panels.values()) panel.render();
    const shown = model.list(list);
    none.hidden = shown.length > 0;
    items.replaceChildren(
      ...shown.map((c) => {
        const li = el('li');
        const pick = button('', 'item');
        pick.dataset.conversation = c.id;
        const visitor = model.visitorOf(c);
        pick.append(el('strong', '', visitor?.identity?.name || t('anonymous', { id: c.visitor.slice(-4) })));
        const last = model.log(c.id).filter((m) => m.kind !== 'event').at(-1);
        const draft = model.preview(c.site, c.visitor);
        pick.append(el('small', draft ? 'draft' : '', draft ? t('typingShort') : last?.body || model.sites.get(c.site) || ''));
        const unread = model.unread(c);
        if (unread) pick.append(el('span', 'unread', String(unread)));
        if (panels.has(c.id)) pick.classList.add('open');
        pick.onclick = () => open(c.id);
        li.append(pick);
        return li;
      }),
    );
    visitors.render();
    hint.hidden = panels.size > 0;
    let unread = 0;
    for (const c of model.conversations.values()) {
      if (c.agent === model.me?.id || c.status === 'waiting') unread += model.unread(c);
    }
    showUnread(unread);
  }

  /** Alt+N the oldest waiting conversation, Alt+E ends the current one, Esc closes its panel. */
  function shortcut(/** @type {KeyboardEvent} */ event) {
    if (event.altKey && event.code === 'KeyN') {
      const next = model.list('waiting').at(-1);
      if (next) open(next.id);
      event.preventDefault();
    } else if (event.altKey && event.code === 'KeyE') {
      const c = model.conversations.get(current);
      if (c && c.status !== 'closed') live.send({ type: 'close', site: c.site, conversation: c.id });
      event.preventDefault();
    } else if (event.key === 'Escape' && panels.has(current) && !document.querySelector('dialog[open]')) {
      closePanel(current);
      current = [...panels.keys()].at(-1) || '';
    }
  }
  document.addEventListener('keydown', shortcut);

  // Times on site and typing previews age: redraw now and then. A tick far later than planned
  // means the computer slept (timers stop): the sockets may be dead without knowing it.
  let lastTick = Date.now();
  const ticker = setInterval(() => {
    if (Date.now() - lastTick > 30_000) live.wake();
    lastTick = Date.now();
    changed();
  }, 5_000);
  // The network came back or the computer woke up: do not wait for the backoff.
  const wake = () => live.reconnectNow();
  window.addEventListener('online', wake);
  document.addEventListener('visibilitychange', wake);
  changed();
  live.start().catch(() => on.loggedOut(t('serverDown')));
  return () => {
    clearInterval(ticker);
    window.removeEventListener('online', wake);
    document.removeEventListener('keydown', shortcut);
    showUnread(0);
    document.removeEventListener('visibilitychange', wake);
    live.stop();
  };
}
