// One conversation, opened in a panel: its messages (history from REST, then live), the visitor's
// draft as they type, read marks, and the reply box. Several panels sit side by side.

import { button, clock, el } from './dom.js';
import { attachmentView, upload } from './files.js';
import { currentLanguage, t } from './i18n.js';

/** @typedef {import('./model.js').Model} Model */
/** @typedef {import('./live.js').Live} Live */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').MessageView} MessageView */
/** @typedef {import('../../../crates/chat-core/bindings/protocol').ConversationView} ConversationView */
/** @typedef {{id: string, title: string, body: string, agent: string | null}} QuickReply */

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

  #transfer = el('select');
  #tagRow = el('div', 'tags');
  /** @type {string[]} */ #tags = [];
  #replies = el('ul', 'replies');
  #problem = el('p', 'problem');
  /** The quick replies offered now, and the one chosen. @type {QuickReply[]} */ #offered = [];
  #chosen = 0;

  /**
   * @param {string} id the conversation
   * @param {{model: Model, live: Live, close: () => void, changed: () => void,
   *   quickReplies: () => QuickReply[]}} ctx
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
    const attach = button(t('attach'), 'attach');
    const picker = el('input');
    picker.type = 'file';
    picker.hidden = true;
    picker.setAttribute('aria-label', t('attach'));
    attach.onclick = () => picker.click();
    picker.onchange = () => {
      const file = picker.files?.[0];
      picker.value = '';
      if (file) this.#sendFile(file);
    };
    const row = el('div', 'row');
    row.append(noteLabel, attach, picker, send);
    this.#replies.setAttribute('role', 'listbox');
    this.#replies.setAttribute('aria-label', t('quickReplies'));
    this.#replies.hidden = true;
    this.#problem.setAttribute('role', 'alert');
    this.#input.setAttribute('aria-autocomplete', 'list');
    form.append(label, this.#replies, this.#input, this.#problem, row);
    form.onsubmit = (event) => {
      event.preventDefault();
      this.#send();
    };
    this.#input.onkeydown = (event) => {
      if (event.isComposing || event.keyCode === 229) return;
      if (this.#offered.length && ['ArrowDown', 'ArrowUp', 'Enter', 'Tab', 'Escape'].includes(event.key)) {
        event.preventDefault();
        event.stopPropagation();
        if (event.key === 'ArrowDown') this.#chosen = (this.#chosen + 1) % this.#offered.length;
        else if (event.key === 'ArrowUp') this.#chosen = (this.#chosen + this.#offered.length - 1) % this.#offered.length;
        else if (event.key === 'Escape') this.#offered = [];
        else this.#useReply(this.#offered[this.#chosen]);
        this.#drawReplies();
        return;
      }
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        this.#send();
      }
    };
    this.#input.oninput = () => {
      this.#findReplies();
      this.#typing(true);
    };
    this.#transfer.setAttribute('aria-label', t('transfer'));
    this.#transfer.onchange = () => {
      const c = this.conversation;
      if (c && this.#transfer.value) ctx.live.send({ type: 'transfer', site: c.site, conversation: c.id, to: this.#transfer.value });
      this.#transfer.value = '';
    };
    this.#input.onblur = () => this.#typing(false);
    this.node.append(head, this.#actions, this.#tagRow, this.#log, this.#preview, form);
    this.#loadHistory();
    this.#loadTags();
  }

  async #loadTags() {
    try {
      /** @type {{tags: string[]}} */
      const summary = await this.ctx.live.api.request('GET', `/conversations/${this.id}`);
      this.#tags = summary.tags;
    } catch (_) {
      // Shown without tags; adding one loads them again.
    }
    this.#drawTags();
  }

  /** @param {string[]} tags */
  async #saveTags(tags) {
    try {
      /** @type {{tags: string[]}} */
      const summary = await this.ctx.live.api.request('PUT', `/conversations/${this.id}/tags`, { tags });
      this.#tags = summary.tags;
      this.#problem.textContent = '';
    } catch (error) {
      this.#problem.textContent = /** @type {Error} */ (error).message;
    }
    this.#drawTags();
  }

  #drawTags() {
    const chips = this.#tags.map((tag) => {
      const chip = el('span', 'tag', tag);
      const remove = button('×', 'icon');
      remove.setAttribute('aria-label', t('removeTag', { tag }));
      remove.onclick = () => this.#saveTags(this.#tags.filter((kept) => kept !== tag));
      chip.append(remove);
      return chip;
    });
    const add = el('input');
    add.placeholder = t('addTag');
    add.setAttribute('aria-label', t('addTag'));
    add.maxLength = 32;
    add.onkeydown = (event) => {
      if (event.key !== 'Enter' || event.isComposing) return;
      event.preventDefault();
      const tag = add.value.trim();
      if (tag) this.#saveTags([...this.#tags, tag]);
    };
    this.#tagRow.replaceChildren(...chips, add);
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

  /** Typing `/` and a few letters offers the quick replies that match. */
  #findReplies() {
    const text = this.#input.value;
    if (!text.startsWith('/')) {
      if (this.#offered.length) {
        this.#offered = [];
        this.#drawReplies();
      }
      return;
    }
    const wanted = text.slice(1).toLowerCase();
    this.#offered = this.ctx
      .quickReplies()
      .filter((r) => r.title.toLowerCase().includes(wanted) || r.body.toLowerCase().includes(wanted))
      .slice(0, 8);
    this.#chosen = 0;
    this.#drawReplies();
  }

  #drawReplies() {
    this.#replies.hidden = this.#offered.length === 0;
    this.#replies.replaceChildren(
      ...this.#offered.map((r, i) => {
        const item = el('li');
        item.setAttribute('role', 'option');
        item.setAttribute('aria-selected', String(i === this.#chosen));
        item.append(el('strong', '', r.title), el('span', '', r.body));
        item.onmousedown = (event) => {
          event.preventDefault();
          this.#useReply(r);
          this.#drawReplies();
        };
        return item;
      }),
    );
  }

  /** @param {QuickReply} reply */
  #useReply(reply) {
    this.#input.value = reply.body;
    this.#offered = [];
    this.#input.focus();
  }

  /** @param {File} file */
  async #sendFile(file) {
    const c = this.conversation;
    if (!c) return;
    this.#problem.textContent = t('uploading', { name: file.name });
    try {
      const uploaded = await upload(this.ctx.live.api, c.site, file);
      this.ctx.live.sendMessage(c.site, c.id, this.#input.value.trim(), this.#note.checked, uploaded);
      this.#input.value = '';
      this.#problem.textContent = '';
    } catch (error) {
      this.#problem.textContent = t('uploadFailed', { name: file.name, reason: /** @type {Error} */ (error).message });
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
      const end = button(t('closeChat'), 'end');
      end.onclick = () => live.send({ type: 'close', site: c.site, conversation: c.id });
      this.#actions.append(end);
      // Another agent of the site who is here and not offline may take it.
      const others = [...(model.agents.get(c.site)?.values() || [])].filter(
        (a) => a.agent !== c.agent && a.status !== 'offline',
      );
      if (others.length) {
        const first = el('option', '', t('transferTo'));
        first.value = '';
        this.#transfer.replaceChildren(
          first,
          ...others.map((a) => {
            const option = el('option', '', `${a.name} · ${t(a.status)}`);
            option.value = a.agent;
            return option;
          }),
        );
        this.#actions.append(this.#transfer);
      }
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
        ...pending.map((p) => this.#pending(p.body || p.file?.name || '', p.note, '')),
        ...failed.map((p) => this.#pending(p.body || p.file?.name || '', p.note, p.reason)),
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
    if (m.attachment) item.append(attachmentView(this.ctx.live.api, m.attachment));
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
