// Measures, in headless chromium on loopback, the time from the script tag to the visitor socket
// being open and to the launcher being on screen, for a first visit (nothing cached) and a later
// page (embed.js cached, visitor token kept). Results go to docs/benchmarks.md:
//   node e2e/load-timing.mjs [loads]

import { launchBrowser, startKefu } from './harness.mjs';

const loads = Number(process.argv[2] || 30);
const kefu = await startKefu();
const browser = await launchBrowser();
// Marks the tag, the socket's open and the launcher's first frame on screen.
kefu.pages.first['/timed'] = `<script>
performance.mark('tag');
const Native = WebSocket;
window.WebSocket = function (...args) {
  const socket = new Native(...args);
  socket.addEventListener('open', () => performance.mark('socket'));
  return socket;
};
new MutationObserver((_, observer) => {
  if (document.getElementById('kefu-chat')) {
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('launcher')));
  }
}).observe(document.body, { childList: true });
</script>`;

async function measure(page) {
  await page.waitForFunction(() => performance.getEntriesByName('launcher').length > 0);
  return page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(name)[0].startTime;
    return { socket: at('socket') - at('tag'), launcher: at('launcher') - at('tag') };
  });
}

const results = { first: [], later: [] };
for (let i = 0; i < loads; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(kefu.pages.origin + '/timed');
  results.first.push(await measure(page));
  await page.goto(kefu.pages.origin + '/timed?again');
  results.later.push(await measure(page));
  await context.close();
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const p90 = (values) => values.sort((a, b) => a - b)[Math.floor(values.length * 0.9)];
for (const [which, runs] of Object.entries(results)) {
  for (const what of ['socket', 'launcher']) {
    const values = runs.map((r) => r[what]);
    console.log(`${which} page, tag → ${what}: median ${median(values).toFixed(1)} ms, p90 ${p90(values).toFixed(1)} ms (${loads} loads)`);
  }
}
await browser.close();
kefu.pages.close();
await kefu.server.close();
