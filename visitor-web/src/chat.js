// The chat window: inside the loader's iframe (the loader holds the socket and passes frames with
// postMessage), or as the stand-alone page /chat/{site_key} (it holds its own). Either way it keeps
// the conversation in `seq` order, shows what waits in the outbox, and draws the same window.

import { Connection } from '../../embed-js/src/connection.js';
import { pickLanguage, textOn } from '../../embed-js/src/widget.js';
import { beep } from '../../embed-js/src/notify.js';
import { text } from './i18n.js';
import { el } from './log.js';
import { buildView, renderView } from './view.js';

/** @typedef {import('../../embed-js/src/connection.js').ServerFrame} ServerFrame */
/** @typedef {import('../../embed-js/src/connection.js').VisitorFrame} VisitorFrame */
/** @typedef {import('../../embed-js/src/connection.js').Welcome} Welcome */
/** @typedef {import('../../embed-js/src/connection.js').OutboxItem} OutboxItem */
/** @typedef {import('../../embed-js/src/connection.js').ConnectionState} ConnectionState */
/** @typedef {import('../../embed-js/src/connection.js').AttachmentView} AttachmentView */
/** @typedef {import('../../crates/chat-core/bindings/protocol').MessageView} MessageView */
/** @typedef {import('../../crates/chat-core/bindings/protocol').ConversationView} ConversationView */
/** @typedef {import('./i18n.js').TextKey} TextKey */

/**
 * How the window reaches the live connection.
 * @typedef {{send: (body: string, attachment?: string, file?: AttachmentView) => void,
 *   signal: (frame: VisitorFrame) => void, hide: () => void}} Transport
 */

const TYPING_SHOWN_MS = 8000;

export class Chat {
  /** @param {DOMStringMap} page the page's `data-*`: site key, embedding, language, upload limit */
  constructor(page) {
    this.siteKey = page.siteKey || '';
    this.embedded = page.embed === '1';
    this.wantedLang = page.lang || null;
    this.maxUpload = Number(page.maxUpload || 0);
    /** @type {'en' | 'zh-CN'} */
    this.lang = pickLanguage(['zh-CN', 'en'], this.wantedLang);
    /** @type {string | null} */
    this.token = null;
    /** @type {Welcome | null} */
    this.welcome = null;
    /** @type {ConversationView | null} */
    this.conversation = null;
    /** @type {Map<string, MessageView>} */
    this.messages = new Map();
    /** Conversations in the order they started. @type {string[]} */
    this.conversations = [];
    /** @type {OutboxItem[]} */
    this.outbox = [];
    /** Everything ever seen waiting, by cid: what an `ack` stands for. @type {Map<string, OutboxItem>} */
    this.sentItems = new Map();
    /** @type {{item: OutboxItem, reason: string}[]} */
    this.failed = [];
    /** @type {ConnectionState} */
    this.state = 'connecting';
    /** @type {{name: string, until: number} | null} */
    this.typing = null;
    this.open = !this.embedded;
    /** The last read mark sent, per conversation. @type {Map<string, number>} */
    this.readSent = new Map();
    /** @type {Map<string, Promise<string>>} */
    this.fileUrls = new Map();
    /** The title's blinking, while a reply waits unseen. */
    this.blink = 0;
    /** The page the visitor is on (the embedding page's, told by the loader). */
    this.pageUrl = this.embedded ? '' : document.referrer || location.href;
    /** @type {Transport} */
    this.transport = this.embedded ? this.viaParent(page.parent || '') : this.viaOwnConnection();
    this.ui = this.build();
    this.render();
  }

  /** @param {TextKey} key @param {Record<string, string | number>} [values] */
  t(key, values) {
    return text(this.lang, key, values);
  }

  // --- transports ---

  /** @param {string} parentOrigin @returns {Transport} */
  viaParent(parentOrigin) {
    /** @param {object} message */
    const post = (message) => window.parent.postMessage(message, parentOrigin);
    window.addEventListener('message', (event) => {
      if (event.source !== window.parent || event.origin !== parentOrigin) return;
      const m = event.data || {};
      if (m.page) this.pageUrl = String(m.page.url);
      if (m.kefu === 'init') {
        this.token = m.token;
        this.open = !!m.open;
        this.outboxChanged(m.items || []);
        this.stateChanged(m.state);
        if (m.welcome) this.frame(m.welcome);
        if (m.conversation) this.frame({ type: 'conversation', conversation: m.conversation });
      } else if (m.kefu === 'frame') this.frame(m.frame);
      else if (m.kefu === 'state') this.stateChanged(m.state);
      else if (m.kefu === 'outbox') this.outboxChanged(m.items);
      else if (m.kefu === 'shown') {
        this.open = !!m.open;
        if (this.open) this.ui.input.focus();
        this.render();
      }
    });
    post({ kefu: 'ready' });
    return {
      send: (body, attachment, file) => post({ kefu: 'send', body, attachment, file }),
      signal: (frame) => post({ kefu: 'signal', frame }),
      hide: () => post({ kefu: 'close' }),
    };
  }

  /** @returns {Transport} */
  viaOwnConnection() {
    const page = () => ({ url: location.href, title: document.title, referrer: document.referrer });
    const connection = new Connection(
      location.origin,
      this.siteKey,
      {
        frame: (frame) => {
          if (frame.type === 'welcome') this.token = frame.visitor_token;
          this.frame(frame);
        },
        state: (state) => this.stateChanged(state),
        outbox: (items) => this.outboxChanged(items),
      },
      page,
    );
    this.outboxChanged(connection.outbox());
    window.addEventListener('pagehide', () => connection.leave());
    connection.start();
    return {
      send: (body, attachment, file) => connection.queue(body, attachment, file),
      signal: (frame) => connection.send(frame),
      hide: () => {},
    };
  }

  // --- what happens ---

  /** @param {ConnectionState} state */
  stateChanged(state) {
    this.state = state || 'connecting';
    this.render();
  }

  /** @param {OutboxItem[]} items */
  outboxChanged(items) {
    this.outbox = items;
    for (const item of items) this.sentItems.set(item.cid, item);
    this.render();
  }

  /** @param {ServerFrame} f */
  frame(f) {
    switch (f.type) {
      case 'welcome': {
        const first = !this.welcome;
        this.welcome = f;
        this.lang = pickLanguage(f.widget.languages, this.wantedLang);
        if (first) this.paint();
        if (f.conversation) {
          this.conversationChanged(f.conversation);
          // Back after a drop: whatever another tab of the visitor already took is fetched here.
          if (!first) this.loadHistory(f.conversation.id);
        }
        break;
      }
      case 'message':
        this.add(f);
        if (f.sender.party === 'agent') {
          this.typing = null;
          if (!this.embedded && document.hidden) this.alert();
        }
        break;
      case 'ack': {
        const item = this.sentItems.get(f.cid);
        if (item) {
          this.add({
            site: this.welcome ? this.welcome.site : '',
            conversation: f.conversation,
            seq: f.seq,
            sender: { party: 'visitor' },
            kind: 'text',
            body: item.body,
            cid: f.cid,
            at: item.at,
            attachment: item.file,
          });
        } else {
          this.loadHistory(f.conversation);
        }
        break;
      }
      case 'conversation':
        this.conversationChanged(f.conversation);
        break;
      case 'read':
        if (f.by === 'agent' && this.conversation && this.conversation.id === f.conversation) {
          this.conversation.agent_read_seq = Math.max(this.conversation.agent_read_seq, f.seq);
        }
        break;
      case 'typing':
        if (f.from === 'agent') {
          this.typing = f.active ? { name: this.agentName(f.agent), until: Date.now() + TYPING_SHOWN_MS } : null;
          if (f.active) window.setTimeout(() => this.render(), TYPING_SHOWN_MS + 50);
        }
        break;
      case 'agents_online':
        if (this.welcome) this.welcome.agents_online = f.online;
        break;
      case 'error':
        if (f.cid && !['rate_limited', 'unavailable', 'internal'].includes(f.code)) {
          const item = this.sentItems.get(f.cid);
          if (item) this.failed.push({ item, reason: f.message });
        }
        break;
    }
    this.render();
  }

  /** @param {MessageView} m */
  add(m) {
    this.messages.set(m.conversation + ':' + m.seq, m);
    if (!this.conversations.includes(m.conversation)) this.conversations.push(m.conversation);
  }

  /** @param {ConversationView} c */
  conversationChanged(c) {
    const current = this.conversation;
    if (!this.conversations.includes(c.id)) {
      this.conversations.push(c.id);
      this.loadHistory(c.id);
    }
    if (!current || current.id === c.id || c.started_at >= current.started_at) {
      // Read marks only grow, whatever order the frames took.
      if (current && current.id === c.id) c.agent_read_seq = Math.max(c.agent_read_seq, current.agent_read_seq);
      this.conversation = c;
    }
  }

  /** Every stored message of a conversation, through the REST API. @param {string} id */
  async loadHistory(id) {
    if (!this.token) return;
    let after = 0;
    for (;;) {
      const response = await fetch(
        '/api/v1/visitor/conversations/' + encodeURIComponent(id) + '/messages?limit=200&after_seq=' + after,
        { headers: { authorization: 'Bearer ' + this.token } },
      ).catch(() => null);
      if (!response || !response.ok) return;
      /** @type {{items: MessageView[], next_after_seq: number | null}} */
      const page = await response.json();
      page.items.forEach((m) => this.add(m));
      this.render();
      if (page.next_after_seq == null) return;
      after = page.next_after_seq;
    }
  }

  /** An agent's name, from their messages or the events that named them. @param {string | null | undefined} agent */
  agentName(agent) {
    for (const m of this.messages.values()) {
      if (m.sender.id === agent && m.sender.name) return m.sender.name;
      const e = m.event;
      if (e && (e.event === 'assigned' || e.event === 'invited') && e.agent === agent) return e.name;
      if (e && e.event === 'transferred' && e.to === agent) return e.name;
    }
    return this.t('someone');
  }

  /** Messages of every conversation, in order. */
  ordered() {
    const rank = (/** @type {string} */ id) => this.conversations.indexOf(id);
    return [...this.messages.values()].sort((a, b) => rank(a.conversation) - rank(b.conversation) || a.seq - b.seq);
  }

  // --- files, read with the visitor token ---

  /** @param {AttachmentView} file */
  fileUrl(file) {
    let url = this.fileUrls.get(file.id);
    if (!url) {
      url = fetch('/api/v1/files/' + encodeURIComponent(file.id), {
        headers: { authorization: 'Bearer ' + this.token },
      }).then((r) => (r.ok ? r.blob() : Promise.reject(r.status))).then((blob) => URL.createObjectURL(blob));
      this.fileUrls.set(file.id, url);
    }
    return url;
  }

  /** @param {AttachmentView} file */
  async download(file) {
    const a = /** @type {HTMLAnchorElement} */ (el('a'));
    a.href = await this.fileUrl(file);
    a.download = file.name;
    a.click();
  }

  // --- telling the visitor ---

  alert() {
    beep();
    if (this.blink) return;
    const original = document.title;
    let on = false;
    this.blink = window.setInterval(() => {
      on = !on;
      document.title = on ? this.t('newMessage') : original;
      if (!document.hidden) {
        clearInterval(this.blink);
        this.blink = 0;
        document.title = original;
      }
    }, 1000);
  }

  // --- drawing ---

  build() {
    return buildView(this);
  }

  /** The site's colour, once known. */
  paint() {
    if (!this.welcome) return;
    const color = this.welcome.widget.color;
    document.documentElement.style.setProperty('--brand', color);
    document.documentElement.style.setProperty('--on-brand', textOn(color));
  }

  render() {
    if (this.ui) renderView(this);
  }

  /** Tells the agents what the visitor has seen, when the window is in view. */
  markRead() {
    const c = this.conversation;
    if (!c || !this.open || document.hidden || this.state !== 'open') return;
    let last = 0;
    for (const m of this.messages.values()) if (m.conversation === c.id && m.sender.party !== 'visitor') last = Math.max(last, m.seq);
    if (last > (this.readSent.get(c.id) || 0) && last > c.visitor_read_seq) {
      this.readSent.set(c.id, last);
      this.transport.signal({ type: 'read', conversation: c.id, seq: last });
    }
  }
}

new Chat(document.body.dataset);
