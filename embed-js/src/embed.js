// The loader a site pastes (docs/embed.md): one script, one global `Kefu`, no dependencies.
// It connects at once so agents see every visitor live, follows single-page navigation, shows a
// launcher with the online state and unread messages, and opens the chat window (an iframe of
// Kefu's own origin, loaded on first open) that it talks to with postMessage.

import { Connection, storage } from './connection.js';
import { pickLanguage, textOn } from './widget.js';
import { beep } from './notify.js';

/** @typedef {import('./connection.js').ServerFrame} ServerFrame */
/** @typedef {import('./connection.js').OutboxItem} OutboxItem */
/** @typedef {import('./connection.js').ConnectionState} ConnectionState */
/** @typedef {import('./connection.js').VisitorIdentity} VisitorIdentity */
/** @typedef {import('./connection.js').PageInfo} PageInfo */
/** @typedef {import('../../crates/chat-core/bindings/protocol').WidgetView} WidgetView */
/** @typedef {import('../../crates/chat-core/bindings/protocol').ConversationView} ConversationView */
/** @typedef {(...args: any[]) => void} Handler */

const TEXT = {
  en: {
    open: 'Chat with us',
    away: 'Leave us a message',
    close: 'Close the chat',
    unread: 'unread',
    news: 'New message',
  },
  'zh-CN': {
    open: '在线咨询',
    away: '给我们留言',
    close: '关闭聊天窗口',
    unread: '条未读',
    news: '新消息',
  },
};

function main() {
  const w = /** @type {any} */ (window);
  const queued = (w.Kefu && w.Kefu.q) || [];
  if (w.Kefu && w.Kefu.loaded) return;
  const script = /** @type {HTMLScriptElement | null} */ (
    document.currentScript || document.querySelector('script[data-site][src*="embed.js"]')
  );
  if (!script || !script.dataset.site) {
    console.warn('Kefu: no data-site');
    return;
  }
  const base = new URL(script.src).origin;
  const siteKey = script.dataset.site;
  /** @type {{lang?: string, hidden?: boolean}} */
  const config = { lang: script.dataset.lang, hidden: script.dataset.hidden === 'true' };
  /** @type {Record<string, Handler[]>} */
  const handlers = { message: [], open: [], close: [] };
  /** What this tab remembers across its pages: the window open, replies unread. */
  const tab = storage('sessionStorage');
  let open = false;
  /** The page asked to open the window before Kefu answered. */
  let wanted = false;
  let unread = Number(tab?.getItem('kefu.unread') || 0);
  /** @type {PageInfo} */
  let page = { url: location.href, title: document.title, referrer: document.referrer };
  /** The visitor's latest conversation, for a window opened after it started. @type {ConversationView | null} */
  let conversation = null;

  const connection = new Connection(base, siteKey, { frame, state, outbox }, () => page);

  // --- the launcher, the badge and the panel, in a shadow root the site's CSS cannot reach ---
  const make = (/** @type {string} */ tag) => document.createElement(tag);
  const host = make('div');
  host.id = 'kefu-chat';
  const root = host.attachShadow({ mode: 'open' });
  const style = make('style');
  const launcher = /** @type {HTMLButtonElement} */ (make('button'));
  const badge = make('span');
  const panel = make('div');
  /** @type {HTMLIFrameElement | null} */
  let frameEl = null;
  let frameReady = false;
  launcher.className = 'l';
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H10l-6 4z"/></svg><i></i>';
  badge.className = 'b';
  badge.hidden = true;
  launcher.append(badge);
  panel.className = 'p';
  panel.hidden = true;
  launcher.onclick = () => (open ? hide() : show());
  root.append(style, launcher, panel);

  /** @param {WidgetView} widget */
  function paint(widget) {
    const side = widget.position === 'left' ? 'left' : 'right';
    // The server only stores #rrggbb; anything else never reaches the style sheet.
    const color = /^#[0-9a-f]{6}$/i.test(widget.color) ? widget.color : '#1f6feb';
    const css =
      `:host{all:initial}.l,.p{position:fixed;${side}:20px;z-index:2147483647;border:0}.l{display:${config.hidden ? 'none' : 'flex'};bottom:20px;width:60px;height:60px;` +
      `border-radius:50%;background:${color};color:${textOn(color)};cursor:pointer;box-shadow:0 4px 14px #0004;align-items:center;justify-content:center;padding:0}` +
      '.l:focus-visible{outline:3px solid #111;outline-offset:3px}.l i,.b{position:absolute;border-radius:11px}.l i{right:3px;bottom:3px;width:13px;height:13px;border:2px solid #fff;background:#8c959f}' +
      '.l.on i{background:#1a7f37}.b{top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;box-sizing:border-box;background:#cf222e;color:#fff;font:700 13px/22px sans-serif;text-align:center}' +
      '.p{bottom:92px;width:380px;height:600px;max-height:calc(100vh - 112px);border-radius:14px;overflow:hidden;box-shadow:0 8px 32px #0005;background:#fff}' +
      '.p iframe{border:0;width:100%;height:100%;display:block}' +
      '@media (max-width:480px),(max-height:520px){.p{inset:0;width:100%;height:100%;max-height:none;border-radius:0}:host(.open) .l{display:none}}';
    // A constructed sheet is not inline style: pages whose CSP forbids that still show the widget.
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } catch (_) {
      style.textContent = css;
    }
  }

  function text() {
    const widget = connection.welcome && connection.welcome.widget;
    return TEXT[pickLanguage(widget ? widget.languages : ['en'], config.lang)];
  }

  function label() {
    const t = text();
    const online = connection.welcome && connection.welcome.agents_online;
    launcher.classList.toggle('on', !!online);
    launcher.ariaExpanded = String(open);
    launcher.ariaLabel = open ? t.close : online ? t.open : t.away;
    badge.hidden = !unread || open;
    badge.textContent = String(unread);
    badge.ariaLabel = unread + ' ' + t.unread;
    tab?.setItem('kefu.unread', String(unread));
  }

  function show() {
    wanted = !connection.welcome;
    if (wanted) return;
    if (!frameEl) {
      frameEl = /** @type {HTMLIFrameElement} */ (make('iframe'));
      const query = new URLSearchParams({ embed: '1', parent: location.origin });
      if (config.lang) query.set('lang', config.lang);
      frameEl.src = base + '/chat/' + encodeURIComponent(siteKey) + '?' + query;
      frameEl.title = text().open;
      panel.append(frameEl);
    }
    open = true;
    unread = 0;
    panel.hidden = false;
    host.classList.add('open');
    tab?.setItem('kefu.open', '1');
    post({ kefu: 'shown', open: true });
    if (frameReady && frameEl) frameEl.focus();
    label();
    emit('open');
  }

  function hide() {
    open = false;
    panel.hidden = true;
    host.classList.remove('open');
    tab?.removeItem('kefu.open');
    post({ kefu: 'shown', open: false });
    label();
    launcher.focus();
    emit('close');
  }

  // --- what the connection reports ---

  /** @param {ServerFrame} f */
  function frame(f) {
    if (f.type === 'welcome' || f.type === 'conversation') conversation = f.conversation || conversation;
    if (f.type === 'welcome') {
      paint(f.widget);
      // The first answer shows the widget, opened if it was open on the last page or asked for.
      if (!host.isConnected) {
        document.body.append(host);
        if (wanted || tab?.getItem('kefu.open')) show();
      }
      label();
    } else if (f.type === 'agents_online' && connection.welcome) {
      connection.welcome.agents_online = f.online;
      label();
    } else if (f.type === 'invited') {
      show();
    } else if (f.type === 'message' && f.sender.party === 'agent' && f.kind === 'text') {
      // A new tab hears the conversation from its start: only what the visitor has not read counts.
      if (!open && !(conversation && conversation.id === f.conversation && f.seq <= conversation.visitor_read_seq)) unread++;
      if (!open || document.hidden) alert();
      label();
      emit('message', f);
    }
    post({ kefu: 'frame', frame: f });
  }

  /** @param {ConnectionState} s */
  function state(s) {
    if (s === 'refused') {
      host.remove();
      console.warn('Kefu: ' + location.origin + " is not among the site's allowed origins");
    }
    post({ kefu: 'state', state: s });
  }

  /** @param {OutboxItem[]} items */
  function outbox(items) {
    post({ kefu: 'outbox', items });
  }

  // --- the chat window in the iframe ---

  /** @param {object} message */
  function post(message) {
    if (frameEl && frameEl.contentWindow && frameReady) frameEl.contentWindow.postMessage(message, base);
  }

  addEventListener('message', (event) => {
    if (!frameEl || event.source !== frameEl.contentWindow || event.origin !== base) return;
    const m = event.data || {};
    if (m.kefu === 'ready') {
      frameReady = true;
      post({
        kefu: 'init',
        token: connection.token,
        welcome: connection.welcome,
        state: connection.state,
        items: connection.outbox(),
        conversation,
        page,
        open,
      });
    } else if (m.kefu === 'send') {
      connection.queue(String(m.body || ''), m.attachment, m.file);
    } else if (m.kefu === 'signal' && m.frame && m.frame.type !== 'send') {
      connection.send(m.frame);
      if (m.frame.type === 'read' && conversation && conversation.id === m.frame.conversation) {
        conversation.visitor_read_seq = Math.max(conversation.visitor_read_seq, m.frame.seq);
      }
    } else if (m.kefu === 'close') {
      hide();
    }
  });

  // --- noticing a reply when the visitor looks elsewhere ---
  let blink = 0;
  const title = () => document.title;
  function alert() {
    beep();
    if (!document.hidden || blink) return;
    const original = title();
    let on = false;
    blink = setInterval(() => {
      on = !on;
      document.title = on ? '(' + Math.max(unread, 1) + ') ' + text().news : original;
    }, 1000);
    const stop = () => {
      if (document.hidden) return;
      clearInterval(blink);
      blink = 0;
      document.title = original;
      document.removeEventListener('visibilitychange', stop);
    };
    document.addEventListener('visibilitychange', stop);
  }

  // --- single-page navigation ---
  let pending = 0;
  function moved() {
    clearTimeout(pending);
    // Routers set the new title just after the URL: wait for it.
    pending = setTimeout(() => {
      if (location.href !== page.url || document.title !== page.title) go(location.href, document.title);
    }, 300);
  }

  /** The visitor is on another page now: agents and the window are told. @param {*} url @param {*} title */
  function go(url, title) {
    page = { url: String(url || location.href), title: String(title || document.title), referrer: page.url };
    connection.send({ type: 'page', page });
    post({ kefu: 'page', page });
  }
  for (const name of /** @type {const} */ (['pushState', 'replaceState'])) {
    const original = history[name];
    history[name] = function (...args) {
      // moved() looks at the address a moment later, when this has changed it.
      moved();
      return original.apply(this, /** @type {any} */ (args));
    };
  }
  addEventListener('popstate', moved);
  addEventListener('hashchange', moved);
  // Leaving at once, not when the server times the socket out; a page restored from the
  // back-forward cache reconnects like after any other close.
  addEventListener('pagehide', () => connection.leave());

  // --- the API: Kefu('open'), Kefu('identify', {...}), Kefu('on', 'message', fn), … ---

  /** @param {string} name @param {unknown} [detail] */
  function emit(name, detail) {
    // Each in a task of its own: a page's handler that throws stops neither Kefu nor the others.
    for (const fn of handlers[name] || []) setTimeout(fn, 0, detail);
  }

  /** @param {string} command @param {any} [arg] @param {any} [more] */
  function Kefu(command, arg, more) {
    if (command === 'open') show();
    else if (command === 'close') hide();
    else if (command === 'toggle') open ? hide() : show();
    else if (command === 'config' && arg) {
      Object.assign(config, arg);
      label();
    } else if (command === 'on' && handlers[arg] && typeof more === 'function') handlers[arg].push(more);
    else if (command === 'identify' && arg && arg.id != null) {
      connection.identify({
        id: String(arg.id),
        name: String(arg.name || ''),
        email: String(arg.email || ''),
        hash: String(arg.hash || ''),
      });
    } else if (command === 'page') go(arg && arg.url, arg && arg.title);
    else console.warn('Kefu: unknown command ' + command);
  }
  Kefu.loaded = true;
  w.Kefu = Kefu;
  // Calls made before the script arrived come first, in order; `config` and `identify` then shape
  // the first hello.
  for (const args of queued) Kefu(args[0], args[1], args[2]);
  connection.start();
}

main();
