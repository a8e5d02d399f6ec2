// Draws the desktop app's icon (a white speech bubble on the console's blue) at the sizes the
// Tauri bundles want, as PNG, and a Windows .ico holding the 256-pixel PNG:
//   node scripts/desktop-icons.mjs

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const out = join(import.meta.dirname, '..', 'agent-desktop', 'icons');
const BLUE = [0x1f, 0x6f, 0xeb];

/** How much of pixel (x, y) of a size × size icon is inside a shape, 0 to 1, by 4 × 4 samples. */
function coverage(size, x, y, inside) {
  let hits = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (inside((x + (i + 0.5) / 4) / size, (y + (j + 0.5) / 4) / size)) hits++;
  return hits / 16;
}

/** A rounded rectangle from (x0, y0) to (x1, y1) with corner radius r, in units of the icon. */
const rounded = (x0, y0, x1, y1, r) => (x, y) => {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
const tile = rounded(0.04, 0.04, 0.96, 0.96, 0.22);
const bubble = rounded(0.2, 0.24, 0.8, 0.66, 0.12);
// The bubble's tail: a triangle below its left half.
const tail = (x, y) => y >= 0.64 && y <= 0.8 && x >= 0.3 && x <= 0.46 - (y - 0.64) * 0.6;
const dot = (cx) => (x, y) => (x - cx) ** 2 + (y - 0.45) ** 2 <= 0.045 ** 2;
const dots = [dot(0.36), dot(0.5), dot(0.64)];

function pixels(size) {
  const rgba = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const back = coverage(size, x, y, tile);
      const white = coverage(size, x, y, (u, v) => (bubble(u, v) || tail(u, v)) && !dots.some((d) => d(u, v)));
      const o = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) rgba[o + c] = Math.round(BLUE[c] * (1 - white) + 255 * white);
      rgba[o + 3] = Math.round(255 * back);
    }
  }
  return rgba;
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(bytes) {
  let c = -1;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}
function png(size) {
  const rgba = pixels(size);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

for (const [name, size] of [['32x32.png', 32], ['128x128.png', 128], ['128x128@2x.png', 256], ['icon.png', 512]]) {
  writeFileSync(join(out, name), png(size));
}
// An .ico with one 256-pixel image stored as PNG (0 in the size bytes means 256).
const big = png(256);
const ico = Buffer.alloc(22);
ico.writeUInt16LE(0, 0);
ico.writeUInt16LE(1, 2);
ico.writeUInt16LE(1, 4);
ico.set([0, 0, 0, 0], 6);
ico.writeUInt16LE(1, 10);
ico.writeUInt16LE(32, 12);
ico.writeUInt32LE(big.length, 14);
ico.writeUInt32LE(22, 18);
writeFileSync(join(out, 'icon.ico'), Buffer.concat([ico, big]));
console.log('icons written to', out);
