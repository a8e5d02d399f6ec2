// Drops the `name` custom section (function names, for stack traces) from a wasm file: the edge's
// script loads faster without it, and the runtime's errors still say what failed.
//
//   node scripts/wasm-names.mjs FILE.wasm
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const wasm = readFileSync(file);
/** An unsigned LEB128 at `at`: its value and where the next byte is. */
function leb(at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = wasm[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}
const kept = [wasm.subarray(0, 8)];
let at = 8;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at];
  const [size, body] = leb(at + 1);
  at = body + size;
  if (id === 0) {
    const [length, name] = leb(body);
    if (wasm.subarray(name, name + length).toString() === 'name') continue;
  }
  kept.push(wasm.subarray(start, at));
}
const out = Buffer.concat(kept);
writeFileSync(file, out);
console.log(`${file}: ${wasm.length} → ${out.length} bytes`);
