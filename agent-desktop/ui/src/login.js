// The login form. A wrong password says so and keeps nothing.

import { ApiError } from './api.js';
import { button, el, labelled } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./api.js').Agent} Agent */

/**
 * @param {HTMLElement} root @param {Api} api @param {(agent: Agent) => void} done
 * @param {string} [notice] shown above the form (why the agent is here again)
 */
export function showLogin(root, api, done, notice) {
  root.replaceChildren();
  const form = el('form', 'login');
  form.noValidate = true;
  const title = el('h1', '', t('product'));
  const lead = el('p', 'lead', t('loginTitle'));
  const problem = el('p', 'problem', notice || '');
  problem.setAttribute('role', 'alert');
  const email = field('email', t('email'), 'email', 'username');
  const password = field('password', t('password'), 'password', 'current-password');
  // Shown when the email and password open accounts in several organisations.
  const tenant = /** @type {HTMLSelectElement} */ (el('select'));
  tenant.name = 'tenant';
  const tenantField = labelled(t('organisation'), tenant);
  tenantField.hidden = true;
  email.input.addEventListener('input', () => (tenantField.hidden = true));
  const submit = el('button', 'primary', t('login'));
  submit.type = 'submit';
  form.append(title, lead, problem, email.label, password.label, tenantField, submit);
  // In the desktop app: this server, and a way to another.
  const desktop = /** @type {{kefuDesktop?: {changeServer: () => void}}} */ (/** @type {unknown} */ (window)).kefuDesktop;
  if (desktop) {
    const server = el('p', 'server', t('serverIs', { server: location.host }));
    const change = button(t('changeServer'), 'link');
    change.onclick = () => desktop.changeServer();
    server.append(' ', change);
    form.append(server);
  }
  root.append(form);
  email.input.focus();

  form.onsubmit = async (event) => {
    event.preventDefault();
    problem.textContent = '';
    submit.disabled = true;
    submit.textContent = t('loggingIn');
    try {
      const chosen = tenantField.hidden ? undefined : tenant.value;
      done(await api.login(email.input.value.trim(), password.input.value, chosen));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'choose_tenant') {
        const choices = /** @type {{id: string, name: string}[]} */ (error.details.tenants || []);
        tenant.replaceChildren(...choices.map(({ id, name }) => new Option(name || id, id)));
        tenantField.hidden = false;
        tenant.focus();
        problem.textContent = t('chooseTenant');
        return;
      }
      password.input.value = '';
      password.input.focus();
      problem.textContent = reason(error);
    } finally {
      submit.disabled = false;
      submit.textContent = t('login');
    }
  };
}

/** @param {unknown} error */
function reason(error) {
  if (!(error instanceof ApiError)) return t('loginFailed', { reason: String(error) });
  if (error.status === 0) return t('serverDown');
  if (error.status === 401 || error.status === 400 || error.status === 422) return t('badLogin');
  if (error.status === 429 || error.status === 503) return t('tooManyLogins');
  return t('loginFailed', { reason: error.message });
}

/** @param {string} name @param {string} text @param {string} type @param {string} autocomplete */
function field(name, text, type, autocomplete) {
  const input = el('input');
  input.name = name;
  input.type = type;
  input.required = true;
  input.autocomplete = /** @type {AutoFill} */ (autocomplete);
  return { label: labelled(text, input), input };
}

