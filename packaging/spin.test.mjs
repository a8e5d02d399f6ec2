// edge-router/spin.toml, the manifest for running the cluster's router on Spin, held against what
// it names: the component scripts/build-router.sh builds (a WebAssembly component, not a core
// module), the build command, the settings the router reads, and outbound hosts that let it reach
// every node it is told of. (The component itself runs under wasmtime in the cluster tests.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifestPath = join(root, 'edge-router/spin.toml');
const manifest = parse(readFileSync(manifestPath, 'utf8'));
const component = manifest.component?.router;

test('every request goes to the router component', () => {
  assert.equal(manifest.spin_manifest_version, 2);
  assert.deepEqual(JSON.parse(JSON.stringify(manifest.trigger.http)), [{ route: '/...', component: 'router' }]);
  assert.ok(component, 'a [component.router]');
});

test('the source is the component scripts/build-router.sh builds, and the build command is that script', () => {
  const source = resolve(dirname(manifestPath), component.source);
  const script = readFileSync(join(root, 'scripts/build-router.sh'), 'utf8');
  assert.ok(script.includes('--target wasm32-wasip2 --profile edge'), script);
  assert.equal(source, join(root, 'target/wasm32-wasip2/edge/edge_router.wasm'));
  const bytes = readFileSync(source);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'a wasm file');
  // The component model's layer: a core module has version 1 and layer 0 here.
  assert.deepEqual([...bytes.subarray(4, 8)], [0x0d, 0x00, 0x01, 0x00], 'a component, not a core module');
  const build = resolve(dirname(manifestPath), component.build.command);
  assert.equal(build, join(root, 'scripts/build-router.sh'));
  accessSync(build, constants.X_OK);
});

test('the settings the router reads are set, and it may reach every node it is told of', () => {
  const code = readFileSync(join(root, 'edge-router/src/spin.rs'), 'utf8');
  const read = [...code.matchAll(/env::var\("([A-Z_]+)"\)/g)].map((m) => m[1]);
  assert.deepEqual(read, ['KEFU_NODES']);
  for (const name of read) assert.ok(component.environment?.[name], `${name} is set`);
  const nodes = component.environment.KEFU_NODES.split(',');
  assert.ok(nodes.length >= 2, 'more than one node, so the router can ask another');
  for (const node of nodes) assert.ok(component.allowed_outbound_hosts.includes(node), `${node} is an allowed outbound host`);
});
