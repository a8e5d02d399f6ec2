// The agent's own account: changing the password (which ends their other sessions).

import { ApiError } from './api.js';
import { button, el, labelled } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./api.js').Api} Api */

/** A dialog to change the password. @param {Api} api */
export function passwordDialog(api) {
  const dialog = el('dialog', 'password');
  const form = el('form');
  const title = el('h2', '', t('changePassword'));
  const problem = el('p', 'problem');
  problem.setAttribute('role', 'alert');
  const current = field(t('currentPassword'), 'current-password');
  const next = field(t('newPassword'), 'new-password');
  const save = el('button', 'primary', t('savePassword'));
  save.type = 'submit';
  const cancel = button(t('cancel'));
  cancel.onclick = () => dialog.close();
  const row = el('div', 'row');
  row.append(cancel, save);
  form.append(title, problem, current.label, next.label, row);
  dialog.append(form);
  form.onsubmit = async (event) => {
    event.preventDefault();
    problem.textContent = '';
    save.disabled = true;
    try {
      await api.changePassword(current.input.value, next.input.value);
      current.input.value = '';
      next.input.value = '';
      problem.textContent = t('passwordChanged');
      problem.className = 'problem ok';
    } catch (error) {
      problem.className = 'problem';
      const reason = error instanceof ApiError ? error.message : String(error);
      problem.textContent = t('passwordFailed', { reason });
    } finally {
      save.disabled = false;
    }
  };
  return {
    node: dialog,
    open() {
      problem.textContent = '';
      dialog.showModal();
      current.input.focus();
    },
  };
}

/** @param {string} text @param {string} autocomplete */
function field(text, autocomplete) {
  const input = el('input');
  input.type = 'password';
  input.required = true;
  input.autocomplete = /** @type {AutoFill} */ (autocomplete);
  return { label: labelled(text, input), input };
}
