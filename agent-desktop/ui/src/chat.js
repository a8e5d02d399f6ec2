// One conversation, opened in a panel: its messages (history from REST, then live), the visitor's
// draft as they type, read marks, and the reply box. Several panels sit side by side.

import { button, clock, el } from './dom.js';
import { currentLanguage, t } from './i18n.js';

/** @typedef {import('./model.js').Model} Model */
/** @typedef {import('./live.js').Live} Live */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').MessageView} MessageView */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').ConversationView} ConversationView */

const TYPING_EVERY_MS = 3_000;

export class ChatPanel {
  /** @type {HTMLElement} */ node;
  #title = el('h2', 'who');
  #meta = el('p', 'meta');
  #actions = el('div', 'actions');
  #log = el('ol', 'log');
  #preview = el('p', 'preview');
  #input = el('textarea');
  #note = el('input');
  #typingSent = 0;
  #rendered = '';

  /**
   * @param {string} id the conversation
   * @param {{model: Model, live: Live, close: () => void, changed: () => void}} ctx
   */
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.node = el('section', 'chat');
    this.node.dataset.conversation = id;
    const head = el('header');
    const close = button('×', 'icon');
    close.title = t('closeTab');
    close.setAttribute('aria-label', t('closeTab'));
    close.onclick = () => ctx.close();
    head.append(el('div', 'title'), close);
    /** @type {HTMLElement} */ (head.firstChild).append(this.#title, this.#meta);
    this.#log.setAttribute('aria-label', t('message'));
    this.#log.setAttribute('aria-live', 'polite');
    this.#preview.setAttribute('aria-live', 'polite');

    const form = el('form', 'reply');
    const label = el('label', 'sr', t('message'));
    const inputId = 'reply-' + id;
    label.htmlFor = inputId;
    this.#input.id = inputId;
    this.#input.rows = 2;
    this.#input.placeholder = t('placeholder');
    this.#input.setAttribute('aria-label', t('message'));
    this.#note.type = 'checkbox';
    const noteLabel = el('label', 'note');
    noteLabel.append(this.#note, el('span', '', t('note')));
    const send = el('button', 'primary', t('send'));
    send.type = 'submit';
    const row = el('div', 'row');
    row.append(noteLabel, send);
    form.append(label, this.#input, row);
    form.onsubmit = (event) => {
      event.preventDefault();
      this.#send();
    };
    this.#input.onkeydown = (event) => {
      if (event.isComposing || event.keyCode === 229) return;
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        this.#send();
      }
    };
    this.#input.oninput = () => this.#typing(true);
    this.#input.onblur = () => this.#typing(false);
    this.node.append(head, this.#actions, this.#log, this.#preview, form);
    this.#loadHistory();
  }

  get conversation() {
    return this.ctx.model.conversations.get(this.id);
  }

  focus() {
    this.#input.focus();
  }

  async #loadHistory() {
    let after = 0;
    try {
      for (let page = 0; page < 20; page++) {
        /** @type {{items: MessageView[], next_after_seq: number | null}} */
        const answer = await this.ctx.live.api.request('GET', `/conversations/${this.id}/messages?after_seq=${after}&limit=200`);
        this.ctx.model.history(answer.items);
        if (answer.next_after_seq == null) break;
        after = answer.next_after_seq;
      }
    } catch (_) {
      // What came live is shown; the history is fetched again when the panel is opened again.
    }
    this.ctx.changed();
  }

  #send() {
    const c = this.conversation;
    const body = this.#input.value.trim();
    if (!c || !body) return;
    this.ctx.live.sendMessage(c.site, c.id, body, this.#note.checked);
    this.#input.value = '';
    this.#note.checked = false;
    this.#typing(false);
    this.ctx.changed();
  }

  /** @param {boolean} active */
  #typing(active) {
    const c = this.conversation;
    if (!c || c.status === 'closed') return;
    const now = Date.now();
    if (active && now - this.#typingSent < TYPING_EVERY_MS) return;
    if (!active && !this.#typingSent) return;
    this.#typingSent = active ? now : 0;
    this.ctx.live.send({ type: 'typing', site: c.site, conversation: c.id, active });
  }

  /** Draws what changed; marks what the agent now sees as read. */
  render() {
    const { model, live } = this.ctx;
    const c = this.conversation;
    if (!c) return;
    const visitor = model.visitorOf(c);
    const name = visitor?.identity?.name || t('anonymous', { id: c.visitor.slice(-4) });
    this.#title.textContent = name;
    const agent = c.agent ? model.agentName(c.agent) || (c.agent === model.me?.id ? model.me.name : '') : '';
    const status = t(c.status === 'waiting' ? 'statusWaiting' : c.status === 'open' ? 'statusOpen' : 'statusClosed');
    this.#meta.textContent = [model.sites.get(c.site) || '', status, agent ? t('withAgent', { name: agent }) : '']
      .filter(Boolean)
      .join(' · ');
    this.node.classList.toggle('closed', c.status === 'closed');

    this.#actions.replaceChildren();
    if (c.status === 'waiting') {
      const accept = button(t('accept'), 'primary');
      accept.onclick = () => live.send({ type: 'accept', site: c.site, conversation: c.id });
      this.#actions.append(accept);
    }
    if (c.status !== 'closed') {
      const end = button(t('closeChat'));
      end.onclick = () => live.send({ type: 'close', site: c.site, conversation: c.id });
      this.#actions.append(end);
    }
    this.#input.disabled = c.status === 'closed';

    const messages = model.log(c.id);
    const pending = live.outbox.filter((m) => m.conversation === c.id);
    const failed = live.failed.filter((m) => m.conversation === c.id);
    const signature = JSON.stringify([messages.length, messages.at(-1)?.seq, pending.length, failed.length, c.visitor_read_seq]);
    if (signature !== this.#rendered) {
      this.#rendered = signature;
      const stick = this.#log.scrollHeight - this.#log.scrollTop - this.#log.clientHeight < 40;
      this.#log.replaceChildren(
        ...messages.map((m) => this.#message(m, c)),
        ...pending.map((p) => this.#pending(p.body, p.note, '')),
        ...failed.map((p) => this.#pending(p.body, p.note, p.reason)),
      );
      if (stick || pending.length) this.#log.scrollTop = this.#log.scrollHeight;
    }
    const draft = model.preview(c.site, c.visitor);
    this.#preview.textContent = draft ? t('typing', { preview: draft }) : '';
    this.#preview.hidden = !draft;

    // Seen: the panel is on screen and the window has focus.
    const last = messages.at(-1);
    if (last && last.seq > c.agent_read_seq && c.status !== 'closed' && document.hasFocus()) {
      c.agent_read_seq = last.seq;
      live.send({ type: 'read', site: c.site, conversation: c.id, seq: last.seq });
    }
  }

  /** @param {MessageView} m @param {ConversationView} c */
  #message(m, c) {
    const { model } = this.ctx;
    const party = m.sender.party;
    const item = el('li', `m ${party} ${m.kind}`);
    if (m.kind === 'event') {
      item.textContent = eventText(m, model);
      return item;
    }
    const who =
      party === 'visitor'
        ? t('visitor')
        : m.sender.id === model.me?.id
          ? t('you')
          : model.agentName(m.sender.id || '') || m.sender.name || t('system');
    const head = el('div', 'head');
    head.append(el('span', 'from', m.kind === 'note' ? `${who} · ${t('note')}` : who), el('time', '', clock(m.at, currentLanguage())));
    item.append(head);
    if (m.body) item.append(el('p', 'body', m.body));
    if (m.attachment) {
      const link = el('a', 'file', m.attachment.name);
      link.href = `${this.ctx.live.api.base}/api/v1/files/${encodeURIComponent(m.attachment.id)}`;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      item.append(link);
    }
    if (party === 'agent' && m.kind === 'text') item.append(el('span', 'state', m.seq <= c.visitor_read_seq ? t('read') : t('sent')));
    return item;
  }

  /** A message of this agent's not stored (yet). @param {string} body @param {boolean} note @param {string} reason why never */
  #pending(body, note, reason) {
    const item = el('li', `m agent ${note ? 'note' : 'text'} pending`);
    const head = el('div', 'head');
    head.append(el('span', 'from', note ? `${t('you')} · ${t('note')}` : t('you')));
    item.append(head, el('p', 'body', body), el('span', 'state', reason ? t('refused', { reason }) : t('queued')));
    return item;
  }
}

/** What happened, in the console's language (the stored `body` is the server's English). @param {MessageView} m @param {Model} model */
function eventText(m, model) {
  const e = m.event;
  if (!e) return m.body;
  switch (e.event) {
    case 'assigned':
      return t('assigned', { name: e.name || model.agentName(e.agent) });
    case 'transferred':
      return t('transferred', { name: e.name || model.agentName(e.to) });
    case 'invited':
      return t('invited', { name: e.name || model.agentName(e.agent) });
    case 'requeued':
      return t('requeued');
    case 'closed':
      return t('closedBy');
    case 'rated':
      return t('rated', { score: e.score });
    default:
      return m.body;
  }
}
