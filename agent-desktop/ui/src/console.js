// The agent console (served by `kefu serve` at /console/, and the desktop app's window): the
// login, then the workplace. Plain ES modules, no dependencies, bundled by scripts/build-web.mjs.

import { Api } from './api.js';
import { pickLanguage, setLanguage, t } from './i18n.js';
import { showLogin } from './login.js';
import { showWorkspace } from './workspace.js';

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
/** The server: the page's own, or the one the desktop app was given. */
const base = document.documentElement.dataset.server || location.origin;
const api = new Api(base);
/** @type {(() => void) | null} */
let stopWorkspace = null;

setLanguage(pickLanguage());

/** @param {string} [notice] */
function login(notice) {
  stopWorkspace?.();
  stopWorkspace = null;
  document.body.className = 'out';
  showLogin(root, api, () => workspace(), notice);
}

function workspace() {
  stopWorkspace?.();
  document.body.className = 'in';
  stopWorkspace = showWorkspace(root, api, {
    loggedOut: (notice) => login(notice),
    relanguage: () => workspace(),
  });
}

api.onEnded = () => login(t('sessionEnded'));
if (api.kept) workspace();
else login();
