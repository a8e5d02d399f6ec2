// The first thing the desktop app shows: where the Kefu server is. The app checks the address
// answers, remembers it and opens the server's console.

const TEXTS = {
  en: {
    title: 'Connect to your Kefu server',
    lead: 'The address your team opens the console at, without /console/.',
    label: 'Server address',
    go: 'Connect',
    going: 'Connecting…',
    invalid: 'That is not a web address. It starts with https:// or http://.',
    unreachable: 'Nothing answers at that address. Check it, and that the server runs.',
    anyway: 'Connect anyway (through a proxy)',
  },
  'zh-CN': {
    title: '连接到你的 Kefu 服务器',
    lead: '团队打开客服台的地址，不含 /console/。',
    label: '服务器地址',
    go: '连接',
    going: '正在连接…',
    invalid: '这不是网址。网址以 https:// 或 http:// 开头。',
    unreachable: '这个地址没有回应。请检查地址，并确认服务器在运行。',
    anyway: '仍然连接（经代理）',
  },
};
const lang = (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
const text = TEXTS[lang];
document.documentElement.lang = lang;
for (const id of ['title', 'lead', 'label', 'go', 'anyway']) document.getElementById(id).textContent = text[id];

const form = document.getElementById('connect');
const server = /** @type {HTMLInputElement} */ (document.getElementById('server'));
const problem = document.getElementById('problem');
const go = /** @type {HTMLButtonElement} */ (document.getElementById('go'));
const anyway = /** @type {HTMLButtonElement} */ (document.getElementById('anyway'));
server.focus();
// The server used before, when the agent came here to change it.
window.__TAURI_INTERNALS__.invoke('saved_server').then((saved) => {
  if (saved && !server.value) server.value = saved;
});

/** Asks the app to open the server's console; `force` skips its check that something answers. */
async function connect(force) {
  problem.textContent = '';
  anyway.hidden = true;
  go.disabled = true;
  go.textContent = text.going;
  try {
    // On success the window moves on to the server's console.
    await window.__TAURI_INTERNALS__.invoke('connect', { server: server.value.trim(), anyway: force });
  } catch (error) {
    problem.textContent = text[String(error)] || String(error);
    anyway.hidden = String(error) !== 'unreachable';
    go.disabled = false;
    go.textContent = text.go;
  }
}
form.addEventListener('submit', (event) => {
  event.preventDefault();
  connect(false);
});
anyway.addEventListener('click', () => connect(true));
