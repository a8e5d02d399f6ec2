// The .deb as an operator meets it: built with cargo-deb from this checkout's kefu, inspected with
// dpkg-deb, installed with dpkg into a Debian root (its maintainer scripts run there), the
// installed kefu serving as the kefu user with the packaged settings, the unit checked by
// systemd-analyze, and a reinstall, a removal and a purge.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianRoot, freePort, healthy, kefuBin, printed, root, run, stop } from './debian-root.mjs';

let deb;
let scratch;

before(async () => {
  assert.ok(existsSync(kefuBin), `no ${kefuBin}: cargo build -p origin-api`);
  scratch = await mkdtemp(join(tmpdir(), 'kefu-deb-'));
  // The binary already built for the tests (debug); `cargo deb -p origin-api` builds a release one.
  await run('cargo', ['deb', '-p', 'origin-api', '--no-build', '--profile', 'dev', '--fast', '--output', scratch], { cwd: root });
  const built = readdirSync(scratch).filter((name) => name.endsWith('.deb'));
  assert.equal(built.length, 1, `cargo deb wrote ${built}`);
  deb = join(scratch, built[0]);
});

after(() => rm(scratch, { recursive: true, force: true }));

/** Runs `use` on a Debian root with the package installed; removes the root after. */
async function installed(use) {
  const system = await debianRoot();
  try {
    await run('dpkg', ['--root', system.dir, '-i', deb]);
    await use(system);
  } finally {
    await system.remove();
  }
}

/** Whether `path` is a symbolic link (its target is inside the root, so not followed here). */
function isLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

test('the package holds the binary, the unit, the settings and the docs, and keeps the settings as a conffile', async () => {
  const field = async (name) => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
  assert.equal(await field('Package'), 'kefu');
  assert.match(await field('Depends'), /\blibc6\b/);
  assert.match(await field('Depends'), /\badduser\b/);
  assert.equal(await field('Section'), 'net');

  const contents = (await run('dpkg-deb', ['-c', deb])).stdout;
  const files = contents.split('\n').filter(Boolean).map((line) => {
    const parts = line.trim().split(/\s+/);
    return { mode: parts[0], owner: parts[1], path: parts[5].replace(/^\.\//, '/') };
  });
  const file = (path) => files.find((entry) => entry.path === path);
  assert.equal(file('/usr/bin/kefu')?.mode, '-rwxr-xr-x');
  assert.ok(file('/usr/lib/systemd/system/kefu.service') || file('/lib/systemd/system/kefu.service'), contents);
  assert.equal(file('/etc/kefu/kefu.toml')?.mode, '-rw-r-----');
  for (const doc of ['README.md', 'deploy.md', 'copyright']) assert.ok(file(`/usr/share/doc/kefu/${doc}`), `no ${doc}:\n${contents}`);

  const control = await mkdtemp(join(tmpdir(), 'kefu-control-'));
  try {
    await run('dpkg-deb', ['-e', deb, control]);
    assert.equal(readFileSync(join(control, 'conffiles'), 'utf8').trim(), '/etc/kefu/kefu.toml');
    const postinst = readFileSync(join(control, 'postinst'), 'utf8');
    assert.match(postinst, /adduser --system/);
    assert.match(postinst, /deb-systemd-helper/, 'the unit is enabled on install');
    assert.ok(existsSync(join(control, 'prerm')), 'the service is stopped before removal');
  } finally {
    await rm(control, { recursive: true, force: true });
  }
});

test('installed, it runs as its own user with the packaged settings, and the admin commands reach the same records', () =>
  installed(async (system) => {
    assert.match((await system.sh('dpkg-query -W -f=\'${Status}\' kefu')).stdout, /install ok installed/);

    const user = system.user('kefu');
    assert.ok(user, 'the package made a kefu user');
    assert.ok(user.uid < 1000, `a system user: uid ${user.uid}`);
    assert.equal(user.home, '/var/lib/kefu');
    assert.match(user.shell, /nologin|false/);
    const state = statSync(system.path('var/lib/kefu'));
    assert.equal(state.uid, user.uid);
    assert.equal(state.mode & 0o777, 0o750);
    const settings = statSync(system.path('etc/kefu/kefu.toml'));
    assert.equal(settings.uid, 0);
    assert.equal(settings.gid, user.gid, 'the kefu group may read its settings');
    assert.equal(settings.mode & 0o777, 0o640);
    assert.ok(isLink(system.path('etc/systemd/system/multi-user.target.wants/kefu.service')), 'the service starts with the machine');

    // As systemd starts it: the kefu user, its state directory, KEFU_CONFIG (the port moved off 8080).
    const port = await freePort();
    const env = { KEFU_CONFIG: '/etc/kefu/kefu.toml', KEFU_LISTEN: `127.0.0.1:${port}` };
    const server = system.spawn(['/usr/bin/kefu', 'serve'], { user: 'kefu', env, cwd: '/var/lib/kefu' });
    const health = await healthy(`http://127.0.0.1:${port}/healthz`, server);
    assert.equal(health.status, 'ok');
    const db = statSync(system.path('var/lib/kefu/kefu.db'));
    assert.equal(db.uid, user.uid, 'the records are where the packaged settings say, owned by kefu');
    await printed(server, /Records\s+sqlite:\/var\/lib\/kefu\/kefu\.db/);

    const tenants = await system.sh('kefu tenant list', { user: 'kefu', env });
    assert.match(tenants.stdout, /Demo/);
    const checked = await system.sh('kefu healthcheck', { user: 'kefu', env });
    assert.match(checked.stdout, /"status":"ok"/);

    const ended = await stop(server);
    assert.deepEqual(ended, { code: 0, signal: null }, server.output);
  }));

test('the unit passes systemd-analyze verify and exposes little', () =>
  installed(async (system) => {
    const unit = ['usr/lib/systemd/system/kefu.service', 'lib/systemd/system/kefu.service']
      .map((path) => system.path(path))
      .find((path) => existsSync(path));
    const text = readFileSync(unit, 'utf8');
    assert.match(text, /^User=kefu$/m);
    assert.match(text, /^Restart=on-failure$/m);
    assert.match(text, /^ExecStart=\/usr\/bin\/kefu serve$/m);

    const verify = await run('systemd-analyze', ['verify', `--root=${system.dir}`, 'kefu.service']).catch((error) => error);
    assert.ok(!(verify instanceof Error), `systemd-analyze verify: ${verify.message}`);
    assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'no warnings');

    const security = await run('systemd-analyze', ['security', '--offline=true', `--root=${system.dir}`, 'kefu.service']);
    const score = Number(/Overall exposure level for kefu\.service: ([0-9.]+)/.exec(security.stdout)?.[1]);
    assert.ok(score <= 2.0, `exposure ${score} (0 is the least, 10 the most):\n${security.stdout}`);
  }));

test("reinstalling keeps the operator's settings; removing keeps the records; purging removes the settings only", () =>
  installed(async (system) => {
    const settings = system.path('etc/kefu/kefu.toml');
    const changed = readFileSync(settings, 'utf8').replace('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:9090"');
    writeFileSync(settings, changed);
    writeFileSync(system.path('var/lib/kefu/kefu.db'), 'records');

    await run('dpkg', ['--root', system.dir, '--force-confold', '-i', deb]);
    assert.equal(readFileSync(settings, 'utf8'), changed, 'an upgrade or reinstall keeps what the operator wrote');

    await run('dpkg', ['--root', system.dir, '-r', 'kefu']);
    assert.ok(!existsSync(system.path('usr/bin/kefu')));
    assert.ok(existsSync(settings), 'removal keeps the settings');
    assert.equal(readFileSync(system.path('var/lib/kefu/kefu.db'), 'utf8'), 'records');

    await run('dpkg', ['--root', system.dir, '--purge', 'kefu']);
    assert.ok(!existsSync(settings), 'purging removes the settings');
    assert.ok(!isLink(system.path('etc/systemd/system/multi-user.target.wants/kefu.service')), 'the service is no longer enabled');
    assert.equal(readFileSync(system.path('var/lib/kefu/kefu.db'), 'utf8'), 'records', 'the records outlive the package');
  }));
