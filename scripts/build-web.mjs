// Bundles and minifies the browser code into the files `kefu serve` embeds at compile time:
//   embed-js/dist/embed.js       the loader (one IIFE, one global)
//   visitor-web/dist/chat.js     the chat window
//   visitor-web/dist/chat.css
//   agent-desktop/ui/dist/console.js   the agent console (also the desktop app's window)
//   agent-desktop/ui/dist/console.css
// and prints their gzipped sizes against the budgets (the loader 5 KB, the window 30 KB with its
// HTML, the console 60 KB). `--check` builds in memory and fails when a committed file differs or
// a budget is exceeded, so what is served is always what the sources say.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
// Budgets in kilobytes of 1000 bytes: the stricter reading.
const KB = 1000;

/** @param {string} entry @param {'js' | 'css'} kind */
async function bundle(entry, kind) {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    minify: true,
    write: false,
    legalComments: 'none',
    charset: 'utf8',
    target: ['chrome100', 'firefox100', 'safari15'],
    ...(kind === 'js' ? { format: 'iife' } : {}),
  });
  return result.outputFiles[0].text;
}

const outputs = [
  ['embed-js/dist/embed.js', await bundle('embed-js/src/embed.js', 'js')],
  ['visitor-web/dist/chat.js', await bundle('visitor-web/src/chat.js', 'js')],
  ['visitor-web/dist/chat.css', await bundle('visitor-web/src/chat.css', 'css')],
  ['agent-desktop/ui/dist/console.js', await bundle('agent-desktop/ui/src/console.js', 'js')],
  ['agent-desktop/ui/dist/console.css', await bundle('agent-desktop/ui/src/console.css', 'css')],
];

const gzipped = (/** @type {string} */ text) => gzipSync(Buffer.from(text), { level: 9 }).length;
// The window's HTML is a few lines filled in by the server and the Worker (chat-core's chat_page).
const html = readFileSync(join(root, 'visitor-web/chat.html'), 'utf8');
const sizes = Object.fromEntries(outputs.map(([path, text]) => [path, gzipped(text)]));
const loader = sizes['embed-js/dist/embed.js'];
const window = sizes['visitor-web/dist/chat.js'] + sizes['visitor-web/dist/chat.css'] + gzipped(html);
const agentConsole = sizes['agent-desktop/ui/dist/console.js'] + sizes['agent-desktop/ui/dist/console.css'];
const budgets = [
  ['embed.js (the loader)', loader, 5 * KB],
  ['the chat window (HTML + CSS + JS)', window, 30 * KB],
  ['the agent console (CSS + JS)', agentConsole, 60 * KB],
];

let failed = false;
for (const [path, text] of outputs) {
  const file = join(root, path);
  if (check) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch (_) {}
    if (committed !== text) {
      console.error(`${path} is stale: run \`npm run build\` and commit it`);
      failed = true;
    }
  } else {
    writeFileSync(file, text);
  }
}
for (const [what, size, budget] of budgets) {
  const verdict = size <= budget ? 'within' : 'OVER';
  console.log(`${what}: ${(size / KB).toFixed(2)} KB gzipped, ${verdict} the budget of ${budget / KB} KB`);
  if (size > budget) failed = true;
}
if (failed) process.exit(1);
