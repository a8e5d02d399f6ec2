// A working day of the desktop app, compressed: eight "hours" of a few minutes each, visitors
// arriving at a day's pace, browsing and chatting, a colleague answering and ending their
// conversations, while the app (logged in, away, watching everything) is sampled every 15 s:
// the resident memory, open files, sockets and threads of its process and of the web processes
// it started, and the number of elements in the console's page. Then a quiet spell, sampled too.
//   node e2e/desktop-soak.mjs [minutes per hour, default 4]
// Needs the desktop app built (cargo build --release --manifest-path agent-desktop/Cargo.toml and
// KEFU_DESKTOP_BIN=agent-desktop/target/release/kefu-desktop, or the debug build).

import WebSocket from 'ws';
import { Desktop } from './desktop-driver.mjs';
import { PASSWORD, startKefu } from './harness.mjs';

const minutesPerHour = Number(process.argv[2] || 4);
/** Visitors arriving in each hour of the day, 9:00 to 17:00. */
const ARRIVALS = [60, 120, 160, 140, 100, 150, 140, 90];
const QUIET_MS = 3 * 60_000;
const SAMPLE_MS = 15_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (low, high) => low + Math.random() * (high - low);

const kefu = await startKefu({
  env: {
    KEFU_IP_NEW_VISITORS_PER_MINUTE: '100000',
    KEFU_MAX_SOCKETS_PER_IP: '100000',
    KEFU_IP_SENDS_PER_SECOND: '100000',
    KEFU_IP_SEND_BURST: '100000',
    // The console renews its token over its socket many times in a day.
    KEFU_ACCESS_TOKEN_TTL_SECS: '600',
  },
});
const owner = await kefu.server.login(kefu.email);
const made = await kefu.server.api('POST', '/api/v1/agents', {
  token: owner,
  json: { email: 'bo@acme.example', name: 'Bo', password: PASSWORD, capacity: 100 },
});
if (made.status !== 201) throw new Error('no colleague: ' + JSON.stringify(made.body));
const sockets = kefu.server.address.replace('http', 'ws');
const counts = { visitors: 0, failed: 0, chats: 0, visitorMessages: 0, answers: 0, closed: 0 };

/** Bo, on a socket of his own: answers every visitor message, ends a conversation after its third. */
async function colleague() {
  const login = await kefu.server.api('POST', '/api/v1/auth/login', { json: { email: 'bo@acme.example', password: PASSWORD } });
  const ws = new WebSocket(sockets + '/ws/agent');
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  ws.send(JSON.stringify({ type: 'agent_hello', v: 1, access_token: login.body.tokens.access_token, status: 'online' }));
  const said = new Map();
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type !== 'message' || frame.sender?.party !== 'visitor') return;
    const n = (said.get(frame.conversation) || 0) + 1;
    said.set(frame.conversation, n);
    setTimeout(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const cid = `bo-${frame.conversation}-${n}`;
      ws.send(JSON.stringify({ type: 'send', site: frame.site, conversation: frame.conversation, cid, body: `Answer ${n}: yes, we have it.` }));
      counts.answers++;
      if (n === 3) {
        ws.send(JSON.stringify({ type: 'close', site: frame.site, conversation: frame.conversation }));
        said.delete(frame.conversation);
        counts.closed++;
      }
    }, between(800, 2500));
  });
  return ws;
}

/** One visitor: arrives, moves to another page, maybe asks three questions, leaves. */
async function visit(i) {
  const ws = new WebSocket(sockets + '/ws/visitor', { origin: kefu.pages.origin });
  const opened = await new Promise((resolve) => {
    ws.on('open', () => resolve(true));
    ws.on('error', () => resolve(false));
  });
  if (!opened) return void counts.failed++;
  counts.visitors++;
  const page = (n) => ({ url: `${kefu.pages.origin}/products/${n}`, title: `Oak table ${n}`, referrer: i % 3 ? '' : 'https://www.google.com/search?q=oak+table' });
  ws.send(JSON.stringify({ type: 'visitor_hello', v: 1, site_key: kefu.siteKey, page: page(i % 40) }));
  await sleep(between(3_000, 8_000));
  ws.send(JSON.stringify({ type: 'page', page: page((i + 1) % 40) }));
  if (Math.random() < 0.4) {
    counts.chats++;
    for (let k = 1; k <= 3; k++) {
      ws.send(JSON.stringify({ type: 'send', cid: `v${i}-${k}`, body: `Question ${k} from visitor ${i}: is it in stock?` }));
      counts.visitorMessages++;
      await sleep(between(4_000, 9_000));
    }
  }
  await sleep(between(10_000, 30_000));
  ws.close();
}

const desktop = await Desktop.start();
try {
  await desktop.connectAndLogIn(kefu.server, kefu.email);
  // Away: Ana watches and is notified, Bo takes the conversations.
  await desktop.do('POST', '/execute/sync', {
    script: "const s = document.querySelector('header select'); s.value = 'away'; s.dispatchEvent(new Event('change'));",
    args: [],
  });

  const started = Date.now();
  const samples = [];
  async function sample(label) {
    const processes = desktop.processes();
    const sum = (key) => processes.reduce((total, p) => total + p[key], 0);
    const elements = await desktop
      .do('POST', '/execute/sync', { script: "return document.getElementsByTagName('*').length", args: [] })
      .catch(() => -1);
    const row = {
      label,
      minute: ((Date.now() - started) / 60_000).toFixed(1),
      rssMiB: (sum('rssKiB') / 1024).toFixed(1),
      appRssMiB: (processes.find((p) => p.name === 'kefu-desktop')?.rssKiB / 1024 || 0).toFixed(1),
      files: sum('files'),
      sockets: sum('sockets'),
      threads: sum('threads'),
      processes: processes.length,
      elements,
      ...counts,
    };
    samples.push(row);
    console.log(JSON.stringify(row));
  }

  let bo = await colleague();
  // Bo's token lasts 10 minutes: he logs in again before it ends.
  const renewBo = setInterval(() => {
    colleague()
      .then((fresh) => {
        bo.close();
        bo = fresh;
      })
      .catch((error) => console.error('Bo could not log in again:', error.message));
  }, 8 * 60_000);
  const sampler = setInterval(() => sample('day').catch((error) => console.error('no sample:', error.message)), SAMPLE_MS);
  const visits = [];
  for (const [hour, arrivals] of ARRIVALS.entries()) {
    const hourStart = Date.now();
    for (let n = 0; n < arrivals; n++) {
      visits.push(visit(hour * 1000 + n));
      await sleep((minutesPerHour * 60_000) / arrivals);
    }
    await sleep(Math.max(0, minutesPerHour * 60_000 - (Date.now() - hourStart)));
    await sample(`end of hour ${hour + 1}`);
  }
  await Promise.all(visits);
  clearInterval(sampler);
  await sleep(QUIET_MS);
  await sample('after a quiet spell');
  clearInterval(renewBo);
  bo.close();

  const unread = desktop.events().filter((e) => e.unread !== undefined).length;
  const notifications = desktop.events().filter((e) => e.notify).length;
  console.log(JSON.stringify({ summary: true, minutesPerHour, notifications, unreadUpdates: unread, ...counts }));
  console.log('\n| when | minute | RSS, all processes (MiB) | the app process (MiB) | open files | sockets | threads | page elements |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of samples.filter((s) => s.label !== 'day')) {
    console.log(`| ${row.label} | ${row.minute} | ${row.rssMiB} | ${row.appRssMiB} | ${row.files} | ${row.sockets} | ${row.threads} | ${row.elements} |`);
  }
} finally {
  await desktop.close();
  kefu.pages.close();
  await kefu.server.close();
}
