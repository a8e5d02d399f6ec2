// The two forms besides the message box: rating a conversation that ended, and leaving a message
// when nobody is online (checked here, and again by the server).

import { el } from './log.js';

/** @typedef {import('./chat.js').Chat} Chat */

/** The server's limit on a leave-a-message, in characters. */
const MAX_BODY = 4000;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Stars 1 to 5 and an optional comment, for the conversation that just ended. @param {Chat} chat */
export function ratingForm(chat) {
  const form = /** @type {HTMLFormElement} */ (el('form', 'rating'));
  const set = el('fieldset');
  const legend = el('legend');
  const stars = el('div', 'stars');
  /** @type {HTMLInputElement[]} */
  const choices = [];
  /** @type {HTMLLabelElement[]} */
  const labels = [];
  for (let score = 1; score <= 5; score++) {
    const radio = /** @type {HTMLInputElement} */ (el('input'));
    radio.type = 'radio';
    radio.name = 'score';
    radio.value = String(score);
    radio.id = 'kefu-score-' + score;
    const label = /** @type {HTMLLabelElement} */ (el('label', 'star', '★'));
    label.htmlFor = radio.id;
    choices.push(radio);
    labels.push(label);
    stars.append(radio, label);
  }
  const comment = /** @type {HTMLTextAreaElement} */ (el('textarea'));
  comment.id = 'kefu-rating-comment';
  comment.maxLength = 1000;
  comment.rows = 2;
  const commentLabel = /** @type {HTMLLabelElement} */ (el('label'));
  commentLabel.htmlFor = comment.id;
  const submit = /** @type {HTMLButtonElement} */ (el('button', 'primary'));
  submit.type = 'submit';
  const thanks = el('p', 'thanks');
  set.append(legend, stars, commentLabel, comment, submit);
  form.append(set, thanks);
  form.onsubmit = (event) => {
    event.preventDefault();
    const chosen = choices.find((c) => c.checked);
    const c = chat.conversation;
    if (!chosen || !c) return;
    chat.transport.signal({ type: 'rate', conversation: c.id, score: Number(chosen.value), comment: comment.value.trim() });
    submit.disabled = true;
  };
  return {
    node: form,
    /** @param {boolean} asking @param {boolean} rated */
    show(asking, rated) {
      form.hidden = !asking && !rated;
      set.hidden = !asking;
      thanks.hidden = !rated;
      if (asking) submit.disabled = !choices.some((c) => c.checked);
    },
    translate() {
      legend.textContent = chat.t('rateTitle');
      labels.forEach((label, i) => label.setAttribute('aria-label', chat.t('star', { score: i + 1 })));
      choices.forEach((radio, i) => {
        radio.setAttribute('aria-label', chat.t('star', { score: i + 1 }));
        radio.onchange = () => (submit.disabled = false);
      });
      commentLabel.textContent = chat.t('comment');
      submit.textContent = chat.t('rate');
      thanks.textContent = chat.t('thanks');
    },
  };
}

/** Name, email and message, sent to `POST /api/v1/public/leave-messages`. @param {Chat} chat */
export function leaveForm(chat) {
  const form = /** @type {HTMLFormElement} */ (el('form', 'leave'));
  form.noValidate = true;
  const title = el('h2');
  const note = el('p', 'muted');
  /** @param {string} id @param {string} tag @param {string} type */
  const field = (id, tag, type) => {
    const input = /** @type {HTMLInputElement} */ (el(tag));
    input.id = 'kefu-leave-' + id;
    input.name = id;
    if (type) input.type = type;
    const label = /** @type {HTMLLabelElement} */ (el('label'));
    label.htmlFor = input.id;
    const wrap = el('div', 'field');
    wrap.append(label, input);
    return { input, label, wrap };
  };
  const name = field('name', 'input', 'text');
  name.input.autocomplete = 'name';
  name.input.maxLength = 100;
  const email = field('email', 'input', 'email');
  email.input.autocomplete = 'email';
  email.input.required = true;
  const body = field('body', 'textarea', '');
  body.input.required = true;
  body.input.setAttribute('rows', '5');
  const problem = el('p', 'problem');
  problem.setAttribute('role', 'alert');
  const submit = /** @type {HTMLButtonElement} */ (el('button', 'primary'));
  submit.type = 'submit';
  const done = el('p', 'thanks');
  done.setAttribute('role', 'status');
  form.append(title, note, name.wrap, email.wrap, body.wrap, problem, submit, done);
  let sentTo = '';

  /** @param {HTMLInputElement} input @param {string} message */
  const invalid = (input, message) => {
    problem.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  form.onsubmit = async (event) => {
    event.preventDefault();
    for (const f of [email, body]) f.input.removeAttribute('aria-invalid');
    const address = email.input.value.trim();
    const text = body.input.value.trim();
    if (!EMAIL.test(address)) return invalid(email.input, chat.t('needEmail'));
    if (!text) return invalid(body.input, chat.t('needBody'));
    if (text.length > MAX_BODY) return invalid(body.input, chat.t('tooLong', { max: MAX_BODY }));
    problem.textContent = '';
    submit.disabled = true;
    submit.textContent = chat.t('leaving');
    try {
      const response = await fetch('/api/v1/public/leave-messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          site_key: chat.siteKey,
          visitor_token: chat.token,
          name: name.input.value.trim(),
          email: address,
          body: text,
          page_url: chat.pageUrl,
        }),
      });
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        problem.textContent = chat.t('leaveFailed', { reason: (answer.error && answer.error.message) || response.status });
      } else {
        sentTo = address;
        body.input.value = '';
      }
    } catch (_) {
      problem.textContent = chat.t('leaveFailed', { reason: chat.t('reconnecting') });
    }
    submit.disabled = false;
    chat.render();
  };
  return {
    node: form,
    /** @param {boolean} shown */
    show(shown) {
      form.hidden = !shown;
      for (const part of [name.wrap, email.wrap, body.wrap, submit, note]) part.hidden = !!sentTo;
      done.hidden = !sentTo;
    },
    translate() {
      title.textContent = chat.t('leaveTitle');
      note.textContent = chat.t('leaveNote');
      name.label.textContent = chat.t('name');
      email.label.textContent = chat.t('email');
      body.label.textContent = chat.t('body');
      if (!submit.disabled) submit.textContent = chat.t('leave');
      done.textContent = sentTo ? chat.t('left', { email: sentTo }) : '';
    },
  };
}
