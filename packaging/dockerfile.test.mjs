// The Dockerfile, checked without a Docker engine: its build stage against this workspace (the
// pinned toolchain, a package and binary that exist, a context that holds what the build reads),
// and its runtime stage carried out in a Debian root as Docker would: each RUN, the COPY of the
// binary, ENV, USER, WORKDIR, then ENTRYPOINT with CMD serving, the HEALTHCHECK passing, the
// records on the VOLUME, and a clean exit on STOPSIGNAL within Docker's 10 s.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { debianRoot, freePort, healthy, kefuBin, printed, root, run, stop } from './debian-root.mjs';

/** The Dockerfile's instructions, stage by stage: `[{from, as, steps: [{op, args}]}]`. */
function stages() {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const result = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [, op, args] = /^([A-Z]+)\s+(.*)$/.exec(trimmed) ?? [];
    assert.ok(op, `not an instruction: ${trimmed}`);
    if (op === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      result.push({ from: image, as: name, steps: [] });
    } else {
      assert.ok(result.length, `${op} before FROM`);
      result.at(-1).steps.push({ op, args: args.replace(/\s+/g, ' ').trim() });
    }
  }
  return result;
}

/** An exec-form argument list (`["kefu", "serve"]`). */
function execForm(args) {
  const parsed = JSON.parse(args);
  assert.ok(Array.isArray(parsed), `${args} is not in exec form (signals would go to a shell)`);
  return parsed;
}

/** `KEY=value KEY2=value2` of an ENV instruction. */
function envPairs(args) {
  return Object.fromEntries(args.split(' ').map((pair) => pair.split(/=(.*)/s).slice(0, 2)));
}

test('the build stage builds this workspace’s kefu with the pinned toolchain from a context that holds its sources', async () => {
  const [build, runtime] = stages();
  const channel = /channel = "([^"]+)"/.exec(readFileSync(join(root, 'rust-toolchain.toml'), 'utf8'))[1];
  assert.match(build.from, new RegExp(`^rust:${channel.replace(/\./g, '\\.')}-`), 'the image has the toolchain rust-toolchain.toml pins');
  assert.ok(build.as, 'the build stage is named');

  const workdir = build.steps.find((step) => step.op === 'WORKDIR').args;
  assert.ok(build.steps.some((step) => step.op === 'COPY' && step.args === '. .'));
  const cargo = build.steps.find((step) => step.op === 'RUN' && step.args.startsWith('cargo build')).args.split(' ');
  for (const flag of ['--release', '--locked']) assert.ok(cargo.includes(flag), `cargo build without ${flag}`);
  const pkg = cargo[cargo.indexOf('-p') + 1];
  const bin = cargo[cargo.indexOf('--bin') + 1];
  const metadata = JSON.parse((await run('cargo', ['metadata', '--no-deps', '--format-version', '1', '--locked'], { cwd: root })).stdout);
  const target = metadata.packages.find((p) => p.name === pkg)?.targets.find((t) => t.name === bin && t.kind.includes('bin'));
  assert.ok(target, `the workspace has no binary ${bin} in ${pkg}`);
  // What it needs beyond the default features stays out of the image.
  assert.ok(!cargo.includes('--features') && !cargo.includes('--all-features'));

  const copy = runtime.steps.find((step) => step.op === 'COPY' && step.args.startsWith(`--from=${build.as} `)).args.split(' ');
  assert.equal(copy[1], `${workdir}/target/release/${bin}`);

  // The context: the build ignores the heavy folders and keeps every file the crate embeds.
  const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const heavy of ['target', 'node_modules', '.git']) assert.ok(ignored.includes(heavy), `.dockerignore keeps ${heavy}`);
  const isIgnored = (path) => ignored.some((pattern) => path === pattern || path.startsWith(`${pattern}/`));
  const embedded = embeddedFiles(join(root, 'origin-api/src'));
  assert.ok(embedded.length >= 5, 'the crate embeds the browser bundles');
  for (const file of embedded) {
    assert.ok(existsSync(join(root, file)), `${file} is embedded but missing`);
    assert.ok(!isIgnored(file), `${file} is embedded but .dockerignore leaves it out`);
  }
});

/** Every file `include_bytes!`/`include_str!` reads under `dir`, relative to the workspace. */
function embeddedFiles(dir) {
  const found = [];
  for (const name of readdirSync(dir, { recursive: true })) {
    const path = join(dir, name);
    if (!name.endsWith('.rs') || !statSync(path).isFile()) continue;
    for (const match of readFileSync(path, 'utf8').matchAll(/include_(?:bytes|str)!\("([^"]+)"\)/g)) {
      found.push(relative(root, join(path, '..', match[1])));
    }
  }
  return found;
}

test('the runtime stage, carried out in a Debian root, serves, is healthy, keeps its records on the volume and stops on its signal', async () => {
  const [build, runtime] = stages();
  assert.match(runtime.from, /^debian:bookworm(-slim)?$/, 'the root the test makes is bookworm, as the image');
  const system = await debianRoot();
  try {
    copyFileSync('/etc/resolv.conf', system.path('etc/resolv.conf'));
    let env = {};
    let user;
    let workdir = '/';
    for (const { op, args } of runtime.steps) {
      if (op === 'RUN') await system.sh(args, { env });
      else if (op === 'COPY') {
        const [from, , destination] = args.split(' ');
        assert.equal(from, `--from=${build.as}`, 'the runtime stage copies only the built binary');
        copyFileSync(kefuBin, system.path(destination));
      } else if (op === 'ENV') env = { ...env, ...envPairs(args) };
      else if (op === 'USER') user = args;
      else if (op === 'WORKDIR') workdir = args;
    }
    const instruction = (op) => runtime.steps.find((step) => step.op === op)?.args;
    const volume = execForm(instruction('VOLUME'))[0];
    const exposed = Number(instruction('EXPOSE'));
    assert.equal(Number(env.KEFU_LISTEN.split(':').pop()), exposed, 'it listens on the port it exposes');
    assert.ok(env.KEFU_DATABASE_URL.startsWith(`sqlite:${volume}/`), 'the records are on the volume');
    assert.equal(env.KEFU_DATA_DIR, volume, 'files sent in chats are on the volume');
    assert.ok(user && user !== 'root', 'it does not run as root');
    assert.equal(statSync(system.path(volume)).uid, system.user(user).uid, `${user} owns the volume`);

    // `docker run -e KEFU_LISTEN=…`: the test moves the port; everything else is the image's.
    const port = await freePort();
    const running = { ...env, KEFU_LISTEN: `127.0.0.1:${port}` };
    const command = [...execForm(instruction('ENTRYPOINT')), ...execForm(instruction('CMD'))];
    const server = system.spawn(command, { user, env: running, cwd: workdir });
    await healthy(`http://127.0.0.1:${port}/healthz`, server);
    assert.ok(existsSync(system.path(`${volume}/kefu.db`)), 'the records are written to the volume');
    // KEFU_LOG_FORMAT=json: one JSON object per log line.
    await printed(server, /"message":"serving"/);

    const check = /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(instruction('HEALTHCHECK'));
    assert.ok(check, `HEALTHCHECK ${instruction('HEALTHCHECK')}`);
    const probe = execForm(check[1]);
    await system.sh(probe.map((arg) => `'${arg}'`).join(' '), { user, env: running });

    const signal = instruction('STOPSIGNAL') ?? 'SIGTERM';
    const ended = await stop(server, signal, 10000);
    assert.deepEqual(ended, { code: 0, signal: null }, server.output);
    await assert.rejects(system.sh(probe.join(' '), { user, env: running }), 'a stopped server is not healthy');
  } finally {
    await system.remove();
  }
});
