// The message log: the greeting, every message in `seq` order, then what still waits in the
// outbox. Each message's element is made once; only its mark (sending, sent, read) changes.
// Text is always set as text, never parsed as HTML; only http(s) addresses become links.

import { size, text } from './i18n.js';

/** @typedef {import('../../crates/chat-core/bindings/protocol').MessageView} MessageView */
/** @typedef {import('../../crates/chat-core/bindings/protocol').AttachmentView} AttachmentView */
/** @typedef {import('../../embed-js/src/connection.js').OutboxItem} OutboxItem */
/** @typedef {import('./chat.js').Chat} Chat */

/** @param {string} tag @param {string} [className] @param {string} [content] */
export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

const LINK = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** Text with its web addresses as links (opened in a new tab, without a referrer). @param {string} body */
export function linked(body) {
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const match of body.matchAll(LINK)) {
    const start = match.index || 0;
    fragment.append(body.slice(at, start));
    const a = /** @type {HTMLAnchorElement} */ (el('a', undefined, match[0]));
    a.href = match[0];
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    fragment.append(a);
    at = start + match[0].length;
  }
  fragment.append(body.slice(at));
  return fragment;
}

/** @param {Chat} chat @param {MessageView} m */
function eventText(chat, m) {
  const e = m.event;
  if (!e) return m.body;
  switch (e.event) {
    case 'assigned':
    case 'invited':
    case 'transferred':
      return chat.t(e.event, { name: e.name });
    case 'requeued':
      return chat.t('requeued');
    case 'closed':
      return chat.t('closed');
    case 'rated':
      return chat.t('rated', { score: e.score });
  }
  return m.body;
}

/**
 * A file: pictures shown (loaded with the visitor token), other files as a download button.
 * @param {Chat} chat @param {AttachmentView} file
 */
function attachment(chat, file) {
  if (file.type.startsWith('image/')) {
    const frame = el('div', 'pic');
    const width = Math.min(file.width || 240, 240);
    const height = file.width && file.height ? Math.round((file.height * width) / file.width) : 160;
    frame.style.width = width + 'px';
    frame.style.height = height + 'px';
    const img = /** @type {HTMLImageElement} */ (el('img'));
    img.alt = chat.t('picture', { name: file.name });
    img.width = width;
    img.height = height;
    chat.fileUrl(file).then(
      (url) => {
        img.src = url;
        frame.append(img);
      },
      () => frame.append(el('span', 'muted', file.name)),
    );
    return frame;
  }
  const button = /** @type {HTMLButtonElement} */ (el('button', 'file'));
  button.type = 'button';
  button.append(el('span', 'file-name', file.name), el('span', 'muted', size(chat.lang, file.size)));
  button.setAttribute('aria-label', chat.t('download', { name: file.name, size: size(chat.lang, file.size) }));
  button.onclick = () => chat.download(file);
  return button;
}

/**
 * One bubble: who, what, and (for the visitor's own) a mark.
 * @param {Chat} chat @param {{mine: boolean, name?: string | null, body: string, file?: AttachmentView | null}} m
 */
function bubble(chat, m) {
  const row = el('li', m.mine ? 'msg mine' : 'msg theirs');
  if (!m.mine && m.name) row.append(el('div', 'who', m.name));
  const box = el('div', 'bubble');
  if (m.file) box.append(attachment(chat, m.file));
  if (m.body) {
    const p = el('p');
    p.append(linked(m.body));
    box.append(p);
  }
  row.append(box);
  if (m.mine) row.append(el('div', 'mark'));
  return row;
}

/** The log's keyed elements, kept between renders. */
const made = new Map();

/** @param {Chat} chat @param {string} key @param {() => HTMLElement} make */
function keep(chat, key, make) {
  let node = made.get(key);
  if (!node) {
    node = make();
    made.set(key, node);
  }
  return node;
}

/** @param {HTMLElement} node @param {string} mark */
function setMark(node, mark) {
  const slot = node.querySelector('.mark');
  if (slot && slot.textContent !== mark) slot.textContent = mark;
}

/** Whether the log shows its end (then it follows what comes). @param {HTMLElement} list */
export function atEnd(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

/**
 * Draws the log as the chat's state says; keeps its end in view if it was.
 * @param {Chat} chat @param {HTMLElement} list @param {boolean} follow
 */
export function renderLog(chat, list, follow) {
  /** @type {HTMLElement[]} */
  const rows = [];
  const greeting = chat.welcome && chat.welcome.greeting;
  if (greeting) rows.push(keep(chat, 'greeting', () => bubble(chat, { mine: false, body: greeting })));
  const readUpTo = chat.conversation ? chat.conversation.agent_read_seq : 0;
  for (const m of chat.ordered()) {
    const key = m.conversation + ':' + m.seq;
    if (m.kind === 'event') {
      rows.push(keep(chat, key, () => el('li', 'event', eventText(chat, m))));
      continue;
    }
    const mine = m.sender.party === 'visitor';
    const name = m.sender.name || chat.t('someone');
    const row = keep(chat, key, () => bubble(chat, { mine, name, body: m.body, file: m.attachment }));
    if (mine) {
      const current = chat.conversation && chat.conversation.id === m.conversation;
      setMark(row, chat.t(current && m.seq <= readUpTo ? 'read' : 'sent'));
    }
    rows.push(row);
  }
  for (const item of chat.outbox) {
    const row = keep(chat, 'out:' + item.cid, () => bubble(chat, { mine: true, body: item.body, file: item.file }));
    setMark(row, chat.t(item.sent && chat.state === 'open' ? 'sending' : 'queued'));
    rows.push(row);
  }
  for (const failure of chat.failed) {
    const row = keep(chat, 'failed:' + failure.item.cid, () => {
      const node = bubble(chat, { mine: true, body: failure.item.body, file: failure.item.file });
      node.classList.add('failed');
      return node;
    });
    setMark(row, chat.t('failed', { reason: failure.reason }));
    rows.push(row);
  }
  // Put the rows in order, touching only what moved.
  rows.forEach((row, i) => {
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  while (list.children.length > rows.length) list.lastElementChild?.remove();
  // Waiting messages are drawn anew as messages once stored: forget their old rows.
  for (const [key, node] of made) if (key.startsWith('out:') && !rows.includes(node)) made.delete(key);
  if (follow) list.scrollTop = list.scrollHeight;
}
