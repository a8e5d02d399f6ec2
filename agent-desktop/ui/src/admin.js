// Settings for owners and admins: the sites (the snippet to paste, allowed origins, greeting,
// colour and corner, the offline form, languages, the identity secret), the agents (create, role,
// sites, capacity, disable, a new password) and the shared quick replies.

import { ApiError } from './api.js';
import { button, el, labelled, titled } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./api.js').Agent} Agent */
/**
 * @typedef {{id: string, key: string, name: string, allowed_origins: string[], greeting: string,
 *   auto_assign: boolean, color: string, position: 'right' | 'left', offline_form: boolean,
 *   languages: string[], identity_verification: boolean}} Site
 */
/** @typedef {{id: string, title: string, body: string, agent: string | null}} QuickReply */

/** @param {unknown} error */
function reason(error) {
  return error instanceof ApiError ? error.message : String(error);
}

/** @param {string} value @param {string} [type] */
function input(value, type = 'text') {
  const field = el('input');
  field.type = type;
  field.value = value;
  return field;
}

/** A button that copies what `code` shows. @param {HTMLElement} code */
function copyButton(code) {
  const copy = button(t('copy'));
  copy.onclick = async () => {
    try {
      await navigator.clipboard.writeText(code.textContent || '');
      copy.textContent = t('copied');
    } catch (_) {
      // No clipboard here (a console on plain http): the text is selected, to copy by hand.
      getSelection()?.selectAllChildren(code);
    }
  };
  return copy;
}

/** @param {boolean} checked @param {string} text */
function checkbox(checked, text) {
  const box = el('input');
  box.type = 'checkbox';
  box.checked = checked;
  const label = el('label', 'check');
  label.append(box, el('span', '', text));
  return { box, label };
}

/**
 * @param {Api} api @param {{me: () => Agent | null, sitesChanged: () => void}} ctx
 */
export function adminPanel(api, ctx) {
  const { section, head } = titled('admin', t('settings'));
  const tabs = el('div', 'tabs');
  tabs.setAttribute('role', 'tablist');
  /** @type {Record<'sites' | 'agents' | 'replies', HTMLButtonElement>} */
  const tab = { sites: button(t('sites')), agents: button(t('agents')), replies: button(t('sharedReplies')) };
  for (const b of Object.values(tab)) {
    b.setAttribute('role', 'tab');
    tabs.append(b);
  }
  head.append(tabs);
  const body = el('div', 'body');
  const problem = el('p', 'problem');
  problem.setAttribute('role', 'alert');
  section.append(problem, body);
  /** @type {'sites' | 'agents' | 'replies'} */
  let shown = 'sites';

  async function load() {
    problem.textContent = '';
    for (const [name, b] of Object.entries(tab)) b.setAttribute('aria-selected', String(name === shown));
    try {
      if (shown === 'sites') await drawSites();
      else if (shown === 'agents') await drawAgents();
      else await drawReplies();
    } catch (error) {
      problem.textContent = reason(error);
    }
  }
  for (const [name, b] of Object.entries(tab)) {
    b.onclick = () => {
      shown = /** @type {'sites' | 'agents' | 'replies'} */ (name);
      load();
    };
  }

  /**
   * Runs a change; says what went wrong, or redraws.
   * @param {() => Promise<unknown>} change
   */
  async function apply(change) {
    problem.textContent = '';
    try {
      await change();
      await load();
      return true;
    } catch (error) {
      problem.textContent = reason(error);
      return false;
    }
  }

  /** Cancel and Save (or Create) under a form. @param {boolean} editing */
  function formButtons(editing) {
    const save = el('button', 'primary', t(editing ? 'save' : 'create'));
    save.type = 'submit';
    const cancel = button(t('cancel'));
    cancel.onclick = () => load();
    const row = el('div', 'actions');
    row.append(cancel, save);
    return row;
  }

  /**
   * A modal dialog under the panel: a title, a line of text, what `fill` adds, and the buttons.
   * @param {string} title @param {string} text
   */
  function sheet(title, text) {
    const dialog = el('dialog', 'sheet');
    const form = el('form');
    const problem = el('p', 'problem');
    problem.setAttribute('role', 'alert');
    const row = el('div', 'row');
    form.append(el('h2', '', title), el('p', '', text), problem, row);
    dialog.append(form);
    dialog.onclose = () => dialog.remove();
    section.append(dialog);
    return { dialog, form, problem, row };
  }

  /** The new identity secret, shown once, with a copy button. @param {string} secret */
  function showSecret(secret) {
    const { dialog, form, row } = sheet(t('newSecret'), t('secretOnce'));
    const code = el('code', 'snippet', secret);
    const copy = copyButton(code);
    const done = el('button', 'primary', t('done'));
    done.type = 'submit';
    form.onsubmit = (event) => {
      event.preventDefault();
      dialog.close();
    };
    row.before(code);
    row.append(copy, done);
    dialog.showModal();
  }

  /** Asks for an agent's new password and sets it. @param {Agent & {name: string}} agent */
  function resetPassword(agent) {
    const { dialog, form, problem, row } = sheet(t('resetPassword'), t('newPasswordFor', { name: agent.name }));
    const password = input('', 'text');
    password.autocomplete = 'off';
    row.before(labelled(t('password'), password));
    const cancel = button(t('cancel'));
    cancel.onclick = () => dialog.close();
    const save = el('button', 'primary', t('save'));
    save.type = 'submit';
    row.append(cancel, save);
    form.onsubmit = async (event) => {
      event.preventDefault();
      problem.textContent = '';
      save.disabled = true;
      try {
        await api.request('POST', `/agents/${agent.id}/password`, { password: password.value });
        dialog.close();
        await load();
      } catch (error) {
        problem.textContent = reason(error);
        save.disabled = false;
      }
    };
    dialog.showModal();
    password.focus();
  }

  // --- sites ---
  async function drawSites() {
    /** @type {Site[]} */
    const sites = await api.request('GET', '/sites');
    const add = button(t('newSite'), 'primary');
    add.onclick = () => body.replaceChildren(siteForm(null));
    body.replaceChildren(add, ...sites.map(siteCard));
  }

  /** @param {Site} site */
  function siteCard(site) {
    const card = el('article', 'card');
    card.dataset.site = site.id;
    card.append(el('h3', '', site.name));
    const snippet = `<script async src="${api.base}/embed.js" data-site="${site.key}"></script>`;
    const code = el('code', 'snippet', snippet);
    const copy = copyButton(code);
    const row = el('div', 'snippet-row');
    row.append(code, copy);
    card.append(el('p', 'hint', t('snippetHint')), row);
    const facts = el('dl');
    /** @param {string} term @param {string} value */
    const fact = (term, value) => facts.append(el('dt', '', term), el('dd', '', value));
    fact(t('allowedOrigins'), site.allowed_origins.join(', ') || t('anywhere'));
    fact(t('greeting'), site.greeting);
    fact(t('assignment'), t(site.auto_assign ? 'roundRobin' : 'agentsAccept'));
    fact(t('identity'), t(site.identity_verification ? 'identityOn' : 'identityOff'));
    card.append(facts);
    const actions = el('div', 'actions');
    const edit = button(t('edit'));
    edit.onclick = () => body.replaceChildren(siteForm(site));
    const secret = button(t('newSecret'));
    secret.onclick = () =>
      apply(async () => {
        const answer = await api.request('POST', `/sites/${site.id}/identity-secret`);
        showSecret(answer.identity_secret);
      });
    actions.append(edit, secret);
    card.append(actions);
    return card;
  }

  /** @param {Site | null} site */
  function siteForm(site) {
    const form = el('form', 'card edit');
    const name = input(site?.name || '');
    name.required = true;
    const origins = el('textarea');
    origins.rows = 2;
    origins.value = (site?.allowed_origins || []).join('\n');
    const greeting = input(site?.greeting || '');
    const color = input(site?.color || '#1f6feb', 'color');
    const position = el('select');
    for (const side of ['right', 'left']) {
      const option = el('option', '', t(side === 'right' ? 'right' : 'left'));
      option.value = side;
      position.append(option);
    }
    position.value = site?.position || 'right';
    const auto = checkbox(site?.auto_assign ?? true, t('roundRobin'));
    const offline = checkbox(site?.offline_form ?? true, t('offlineForm'));
    const zh = checkbox(site ? site.languages.includes('zh-CN') : true, '中文');
    const en = checkbox(site ? site.languages.includes('en') : true, 'English');
    const languages = el('fieldset', 'languages');
    languages.append(el('legend', '', t('languages')), zh.label, en.label);
    const row = formButtons(Boolean(site));
    form.append(
      el('h3', '', site ? site.name : t('newSite')),
      labelled(t('siteName'), name),
      labelled(t('allowedOriginsHelp'), origins),
      labelled(t('greeting'), greeting),
      labelled(t('color'), color),
      labelled(t('corner'), position),
      auto.label,
      offline.label,
      languages,
      row,
    );
    form.onsubmit = (event) => {
      event.preventDefault();
      const fields = {
        name: name.value.trim(),
        allowed_origins: origins.value.split(/[\s,]+/).filter(Boolean),
        greeting: greeting.value.trim(),
        auto_assign: auto.box.checked,
        color: color.value,
        position: position.value,
        offline_form: offline.box.checked,
        languages: [zh.box.checked && 'zh-CN', en.box.checked && 'en'].filter(Boolean),
      };
      apply(async () => {
        if (site) await api.request('PATCH', `/sites/${site.id}`, fields);
        else await api.request('POST', '/sites', fields);
        ctx.sitesChanged();
      });
    };
    return form;
  }

  // --- agents ---
  async function drawAgents() {
    /** @type {Agent[]} */
    const agents = await api.request('GET', '/agents');
    /** @type {Site[]} */
    const sites = await api.request('GET', '/sites');
    const add = button(t('newAgent'), 'primary');
    add.onclick = () => body.replaceChildren(agentForm(null, sites));
    const table = el('table', 'agents');
    const headRow = el('tr');
    for (const key of /** @type {const} */ (['agentName', 'email', 'role', 'sites', 'capacity', 'state'])) {
      const th = el('th', '', t(key));
      th.scope = 'col';
      headRow.append(th);
    }
    headRow.append(el('th'));
    const thead = el('thead');
    thead.append(headRow);
    const tbody = el('tbody');
    for (const agent of agents) {
      const tr = el('tr');
      tr.dataset.agent = agent.id;
      const siteNames = agent.all_sites ? t('allSites') : agent.sites.map((id) => sites.find((s) => s.id === id)?.name || id).join(', ');
      for (const text of [agent.name, agent.email, t(agent.role), siteNames, String(agent.capacity), t(agent.disabled ? 'disabled' : 'active')]) {
        tr.append(el('td', '', text));
      }
      const actions = el('td', 'actions');
      if (agent.id !== ctx.me()?.id && !(agent.role === 'owner' && ctx.me()?.role !== 'owner')) {
        const edit = button(t('edit'));
        edit.onclick = () => body.replaceChildren(agentForm(agent, sites));
        const toggle = button(t(agent.disabled ? 'enable' : 'disable'));
        toggle.onclick = () => apply(() => api.request('PATCH', `/agents/${agent.id}`, { disabled: !agent.disabled }));
        const reset = button(t('resetPassword'));
        reset.onclick = () => resetPassword(agent);
        actions.append(edit, toggle, reset);
      }
      tr.append(actions);
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const scroller = el('div', 'scroller');
    scroller.append(table);
    body.replaceChildren(add, scroller);
  }

  /** @param {Agent | null} agent @param {Site[]} sites */
  function agentForm(agent, sites) {
    const form = el('form', 'card edit');
    const name = input(agent?.name || '');
    const email = input(agent?.email || '', 'email');
    email.disabled = Boolean(agent);
    const password = input('', 'password');
    password.autocomplete = 'new-password';
    const role = el('select');
    for (const value of ['agent', 'admin', ...(ctx.me()?.role === 'owner' ? ['owner'] : [])]) {
      const option = el('option', '', t(/** @type {'agent' | 'admin' | 'owner'} */ (value)));
      option.value = value;
      role.append(option);
    }
    role.value = agent?.role || 'agent';
    const capacity = input(String(agent?.capacity ?? 5), 'number');
    capacity.min = '1';
    capacity.max = '100';
    const all = checkbox(agent ? agent.all_sites : true, t('allSites'));
    const which = el('fieldset', 'sites');
    which.append(el('legend', '', t('sites')));
    const boxes = sites.map((site) => {
      const box = checkbox(Boolean(agent?.sites.includes(site.id)), site.name);
      which.append(box.label);
      return { site, box: box.box };
    });
    const row = formButtons(Boolean(agent));
    form.append(
      el('h3', '', agent ? agent.name : t('newAgent')),
      labelled(t('agentName'), name),
      labelled(t('email'), email),
      ...(agent ? [] : [labelled(t('newPassword'), password)]),
      labelled(t('role'), role),
      labelled(t('capacityHelp'), capacity),
      all.label,
      which,
      row,
    );
    form.onsubmit = (event) => {
      event.preventDefault();
      const chosen = boxes.filter((b) => b.box.checked).map((b) => b.site.id);
      /** @type {Record<string, unknown>} */
      const fields = { name: name.value.trim(), role: role.value, capacity: Number(capacity.value) };
      if (all.box.checked) fields.all_sites = true;
      else fields.sites = chosen;
      apply(async () => {
        if (agent) await api.request('PATCH', `/agents/${agent.id}`, fields);
        else await api.request('POST', '/agents', { ...fields, email: email.value.trim(), password: password.value });
      });
    };
    return form;
  }

  // --- shared quick replies ---
  async function drawReplies() {
    /** @type {QuickReply[]} */
    const replies = await api.request('GET', '/quick-replies');
    const form = el('form', 'card edit');
    const titleInput = input('');
    const text = el('textarea');
    text.rows = 3;
    const save = el('button', 'primary', t('addReply'));
    save.type = 'submit';
    form.append(labelled(t('replyTitle'), titleInput), labelled(t('replyBody'), text), save);
    form.onsubmit = (event) => {
      event.preventDefault();
      apply(() => api.request('POST', '/quick-replies', { title: titleInput.value.trim(), body: text.value.trim(), shared: true }));
    };
    const list = el('ul', 'replies-list');
    for (const reply of replies.filter((r) => r.agent === null)) {
      const li = el('li');
      const remove = button(t('remove'));
      remove.onclick = () => apply(() => api.request('DELETE', `/quick-replies/${reply.id}`));
      li.append(el('strong', '', reply.title), el('span', '', reply.body), remove);
      list.append(li);
    }
    body.replaceChildren(form, list);
  }

  return { node: section, load };
}
