// A Debian system in a folder for the package and container tests: a copy of the minimal root
// that scripts/test makes once with debootstrap (target/tools/debian-root), so a test installs
// the .deb with dpkg --root, or runs the Dockerfile's commands, on a real Debian without touching
// this machine's own.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const kefuBin = join(root, 'target/debug/kefu');
const base = join(root, 'target/tools/debian-root');
const exec = promisify(execFile);

/** Runs a program; answers its output, or throws with what it printed. */
export async function run(program, args, options = {}) {
  try {
    return await exec(program, args, { maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (error) {
    throw new Error(`${program} ${args.join(' ')} failed (${error.code}):\n${error.stdout}\n${error.stderr}`);
  }
}

/** A fresh copy of the Debian root; `remove()` deletes it. */
export async function debianRoot() {
  assert.equal(process.getuid?.(), 0, 'the package tests install into a Debian root with chroot: run them as root');
  assert.ok(existsSync(join(base, 'usr/bin/dpkg')), `no Debian root at ${base}: ./scripts/test makes it with debootstrap`);
  const dir = await mkdtemp(join(tmpdir(), 'kefu-root-'));
  await run('cp', ['-a', `${base}/.`, dir]);
  /** What was started inside: stopped with the root, whatever the test came to. */
  const children = new Set();
  return {
    dir,
    path: (inside) => join(dir, inside),
    /** `sh -c script` inside the root, as `user` (a name in its /etc/passwd) or root. */
    sh: (script, { user, env = {} } = {}) => run('chroot', [...userspec(dir, user), dir, '/usr/bin/env', '-i', ...envArgs(env), '/bin/sh', '-c', script]),
    /** Starts `program args` inside the root, in `cwd`, as `user`; answers the child process. */
    spawn: (argv, { user, env = {}, cwd = '/' } = {}) => {
      const script = `cd ${cwd} && exec "$@"`;
      const child = spawn('chroot', [...userspec(dir, user), dir, '/usr/bin/env', '-i', ...envArgs(env), '/bin/sh', '-c', script, 'sh', ...argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.output = '';
      child.stdout.on('data', (chunk) => (child.output += chunk));
      child.stderr.on('data', (chunk) => (child.output += chunk));
      child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      children.add(child);
      return child;
    },
    /** The user's entry in the root's /etc/passwd: `{uid, gid, home, shell}`, or undefined. */
    user: (name) => passwd(dir, name),
    remove: async () => {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await child.exited;
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function userspec(dir, user) {
  if (!user) return [];
  const entry = passwd(dir, user);
  assert.ok(entry, `no user ${user} in the root`);
  return [`--userspec=${entry.uid}:${entry.gid}`];
}

function envArgs(env) {
  const all = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', ...env };
  return Object.entries(all).map(([name, value]) => `${name}=${value}`);
}

function passwd(dir, name) {
  const line = readFileSync(join(dir, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid, , home, shell] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), home, shell };
}

/** A TCP port nobody listens on now. */
export function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers 200; answers its JSON. */
export async function healthy(url, child, timeout = 20000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return await response.json();
    } catch (_) {}
    assert.equal(child.exitCode, null, `the server exited:\n${child.output}`);
    assert.ok(Date.now() < deadline, `${url} did not answer within ${timeout} ms:\n${child.output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until `child` has printed something matching `pattern` (it may answer before it prints). */
export async function printed(child, pattern, timeout = 10000) {
  const deadline = Date.now() + timeout;
  while (!pattern.test(child.output)) {
    assert.ok(Date.now() < deadline, `it did not print ${pattern}:\n${child.output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM (or `signal`), then the exit within `timeout`: answers `{code, signal}`. */
export async function stop(child, signal = 'SIGTERM', timeout = 10000) {
  child.kill(signal);
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeout));
  const ended = await Promise.race([child.exited, timer]);
  if (ended === 'timeout') child.kill('SIGKILL');
  assert.notEqual(ended, 'timeout', `it did not stop within ${timeout} ms after ${signal}:\n${child.output}`);
  return ended;
}
