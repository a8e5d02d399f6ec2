// The edge on this machine: `wrangler dev` (local workerd, offline) running the Worker and the room
// objects built by scripts/build-edge.sh, in front of a `kefu serve` origin on loopback.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, root, startKefu, until } from './harness.mjs';

const wrangler = join(root, 'node_modules/.bin/wrangler');
const script = join(root, 'edge-router/build/worker/shim.mjs');

/**
 * What the origin and the edge share: the secret that signs the edge's requests, and the key the
 * edge's rooms sign visitor tokens with (its public half for the origin). `origin` is the
 * environment of a `kefu serve` behind this edge.
 */
export function edgeKeys() {
  const secret = randomBytes(24).toString('base64url');
  // PEM, as OpenSSL and Terraform write it (the Rust suites give the raw 32 bytes in base64url).
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    secret,
    roomKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    origin: { KEFU_EDGE_SECRET: secret, KEFU_EDGE_VISITOR_KEY: publicKey.export({ format: 'pem', type: 'spki' }).toString() },
  };
}

/**
 * A `kefu serve` origin (`startKefu` with `options`) and the edge in front of it: the origin tells
 * the edge of changes, and the test site's snippet names the edge.
 */
export async function startBehindEdge(options = {}) {
  const keys = edgeKeys();
  const kefu = await startKefu({ ...options, env: { ...options.env, ...keys.origin } });
  const edge = await Edge.start(kefu.server.address, keys);
  kefu.server.env.KEFU_EDGE_URL = edge.address;
  await kefu.server.stop();
  await kefu.server.start();
  kefu.pages.kefu = { address: edge.address };
  return { kefu, edge };
}

export class Edge {
  /**
   * `wrangler dev` with its storage in a fresh directory (kept across `restart()`), holding
   * `keys` (from `edgeKeys()`).
   */
  static async start(origin, keys) {
    assert.ok(existsSync(script), `build the edge first: scripts/build-edge.sh (no ${script})`);
    const edge = new Edge();
    edge.origin = origin;
    edge.secret = keys.secret;
    edge.roomKey = keys.roomKey;
    edge.dir = mkdtempSync(join(tmpdir(), 'kefu-edge-'));
    edge.port = 0;
    await edge.#run();
    return edge;
  }

  async #run() {
    // A free port; the same one again after a restart.
    this.port ||= await freePort();
    const args = ['dev', '--config', join(root, 'wrangler.toml'), '--ip', '127.0.0.1', '--port', String(this.port),
      '--persist-to', this.dir, '--var', `ORIGIN_URL:${this.origin}`, '--var', `EDGE_SECRET:${this.secret}`,
      '--var', `ROOM_SIGNING_KEY:${this.roomKey}`, '--var', 'TEST_HOOKS:1', '--show-interactive-dev-session=false',
      '--log-level', 'warn'];
    this.output = '';
    this.process = spawn(wrangler, args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
      detached: true,
    });
    this.process.stdout.on('data', (chunk) => (this.output += chunk));
    this.process.stderr.on('data', (chunk) => (this.output += chunk));
    this.address = `http://127.0.0.1:${this.port}`;
    const answers = async () => (await fetch(this.address + '/healthz').catch(() => null)) !== null;
    await until(answers, `wrangler dev on ${this.address}: ${this.output}`, 60_000);
  }

  /** Stops wrangler dev and everything it started (workerd). */
  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    try {
      process.kill(-this.process.pid, 'SIGTERM');
    } catch (_) {}
    await exited;
  }

  async restart() {
    await this.stop();
    await this.#run();
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Makes the site's object forget its room, as the runtime's eviction does (a test hook). */
  async evict(site) {
    const response = await fetch(`${this.address}/__test/evict?site=${site}`);
    assert.equal(await response.text(), 'evicted');
  }

  /** An agent of `server` (a `Kefu`) on the socket of `site`'s room, with every frame it received. */
  async agent(server, site, email) {
    const agent = new Agent(this.ws(`/ws/agent?site=${site}`), await server.login(email));
    await agent.connect();
    return agent;
  }

  /** The WebSocket address of `path`. */
  ws(path) {
    return this.address.replace('http', 'ws') + path;
  }
}

/** A port nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
