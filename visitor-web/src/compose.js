// Writing: the message box (Enter sends, Shift+Enter breaks the line, never while an input method
// is composing), emoji, files, and the draft the agents see as a preview while the visitor types.

import { size } from './i18n.js';
import { el } from './log.js';

/** @typedef {import('./chat.js').Chat} Chat */
/** @typedef {import('./chat.js').AttachmentView} AttachmentView */

const EMOJI = [
  '😀', '😂', '😊', '😍', '🤔', '😅', '😢', '😮', '😡', '🙏', '👍', '👎', '👏', '🙌', '👋', '💪',
  '🎉', '❤️', '💔', '🔥', '✨', '✅', '❌', '❓', '⏰', '📦', '🚚', '💳', '🛒', '📷', '📄', '☕',
];
/** The agents see the draft at most this often (the server holds back anything faster). */
const TYPING_EVERY_MS = 400;

/** @param {Chat} chat */
export function composer(chat) {
  const form = /** @type {HTMLFormElement} */ (el('form', 'composer'));
  const input = /** @type {HTMLTextAreaElement} */ (el('textarea'));
  input.id = 'kefu-message';
  input.rows = 1;
  input.maxLength = 4000;
  const label = /** @type {HTMLLabelElement} */ (el('label', 'hidden-label'));
  label.htmlFor = input.id;
  const emojiButton = button('emoji-button', '☺');
  const attach = button('attach', '');
  attach.innerHTML =
    '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M20 11.5l-8.1 8.1a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8"/></svg>';
  const files = /** @type {HTMLInputElement} */ (el('input'));
  files.type = 'file';
  files.multiple = true;
  files.hidden = true;
  files.tabIndex = -1;
  const send = button('send', '');
  send.type = 'submit';
  send.innerHTML =
    '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M3 20.5l18-8.5L3 3.5v6.6l12 1.9-12 1.9z"/></svg>';
  const picker = el('div', 'emoji');
  picker.setAttribute('role', 'group');
  picker.hidden = true;
  for (const emoji of EMOJI) {
    const choice = button('', emoji);
    choice.onclick = () => {
      insert(input, emoji);
      picker.hidden = true;
      emojiButton.setAttribute('aria-expanded', 'false');
      input.focus();
    };
    picker.append(choice);
  }
  const problem = el('p', 'problem');
  problem.setAttribute('role', 'alert');
  const row = el('div', 'row');
  row.append(emojiButton, attach, label, input, send);
  form.append(picker, problem, row, files);

  let lastTyping = 0;
  /** @type {number | undefined} */
  let trailing;
  const typing = () => {
    clearTimeout(trailing);
    const now = Date.now();
    const wait = lastTyping + TYPING_EVERY_MS - now;
    if (wait > 0) {
      trailing = window.setTimeout(typing, wait);
      return;
    }
    lastTyping = now;
    chat.transport.signal({ type: 'typing', text: input.value });
  };

  form.onsubmit = (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    chat.transport.send(body);
    input.value = '';
    clearTimeout(trailing);
    fit(input);
    input.focus();
  };
  input.onkeydown = (event) => {
    // An input method (pinyin) uses Enter to choose its word; Safari says so only by keyCode 229.
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  };
  input.oninput = () => {
    fit(input);
    typing();
  };
  emojiButton.onclick = () => {
    picker.hidden = !picker.hidden;
    emojiButton.setAttribute('aria-expanded', String(!picker.hidden));
    const first = /** @type {HTMLElement | null} */ (picker.firstElementChild);
    if (!picker.hidden && first) first.focus();
  };
  picker.onkeydown = (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      picker.hidden = true;
      emojiButton.setAttribute('aria-expanded', 'false');
      emojiButton.focus();
    }
  };
  attach.onclick = () => files.click();
  files.onchange = () => {
    for (const file of Array.from(files.files || [])) upload(chat, file, problem);
    files.value = '';
  };

  return {
    node: form,
    input,
    /** @param {boolean} shown */
    show(shown) {
      form.hidden = !shown;
    },
    translate() {
      label.textContent = chat.t('message');
      input.placeholder = chat.t('placeholder');
      emojiButton.setAttribute('aria-label', chat.t('emoji'));
      attach.setAttribute('aria-label', chat.t('attach'));
      send.setAttribute('aria-label', chat.t('send'));
      picker.setAttribute('aria-label', chat.t('emojiList'));
    },
  };
}

/** @param {string} className @param {string} content */
function button(className, content) {
  const b = /** @type {HTMLButtonElement} */ (el('button', className, content));
  b.type = 'button';
  return b;
}

/** @param {HTMLTextAreaElement} input @param {string} value */
function insert(input, value) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.setRangeText(value, start, end, 'end');
  input.dispatchEvent(new Event('input'));
}

/** Grows the box with its text, up to a few lines. @param {HTMLTextAreaElement} input */
function fit(input) {
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, 120) + 'px';
}

/**
 * Uploads a file with the visitor token, then sends it. Too large files are refused here, before
 * any byte leaves; the server checks again and sniffs what the file really is.
 * @param {Chat} chat @param {File} file @param {HTMLElement} problem
 */
async function upload(chat, file, problem) {
  const limit = chat.maxUpload;
  if (limit && file.size > limit) {
    problem.textContent = chat.t('tooLarge', { name: file.name, limit: size(chat.lang, limit) });
    return;
  }
  problem.textContent = chat.t('uploading', { name: file.name });
  try {
    const response = await fetch('/api/v1/files?name=' + encodeURIComponent(file.name), {
      method: 'POST',
      headers: { authorization: 'Bearer ' + chat.token },
      body: file,
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = answer.error && answer.error.code;
      const limitText = size(chat.lang, limit);
      problem.textContent =
        code === 'too_large'
          ? chat.t('tooLarge', { name: file.name, limit: limitText })
          : code === 'unsupported_type'
            ? chat.t('notAllowed', { name: file.name })
            : chat.t('uploadFailed', { name: file.name, reason: (answer.error && answer.error.message) || response.status });
      return;
    }
    /** @type {AttachmentView} */
    const view = answer.attachment;
    // The picture is shown from the visitor's own copy: no need to download it again.
    chat.fileUrls.set(view.id, Promise.resolve(URL.createObjectURL(file)));
    chat.transport.send('', answer.attachment_token, view);
    problem.textContent = '';
  } catch (_) {
    problem.textContent = chat.t('uploadFailed', { name: file.name, reason: chat.t('reconnecting') });
  }
}
