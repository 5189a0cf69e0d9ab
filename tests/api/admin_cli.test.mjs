// Operator API (/api/v1/admin/*) and the command line: --version, --help,
// configuration errors and precedence, migrate, admin set-plan, restarts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  BACKEND, UUID_V4, assertRecentTimestamp, databaseArgs, dropDatabase, expectError, expectOk,
  expectedEntitlements, freshDatabase, hex, randomUuid, runGatehouse, signup, startGatehouse,
} from './harness.mjs';

let gh;
const scratch = [];

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
  scratch.push(dir);
  return dir;
}

before(async () => {
  gh = await startGatehouse();
});

after(async () => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

const entitlementsOf = async (server, s) =>
  expectOk(await server.api('GET', '/api/v1/auth/entitlements', { token: s.token }));

describe('operator API', () => {
  const admin = (method, p, body, token = gh.operatorToken) => gh.api(method, p, { token, body });

  test('GET /api/v1/admin/orgs lists every org', async () => {
    const a = await signup(gh);
    const b = await signup(gh);
    const json = expectOk(await admin('GET', '/api/v1/admin/orgs'));
    assert.ok(Array.isArray(json.orgs));
    const byId = Object.fromEntries(json.orgs.map((o) => [o.id, o]));
    for (const s of [a, b]) {
      const o = byId[s.org.id];
      assert.ok(o, `org ${s.slug} is listed`);
      assert.match(o.id, UUID_V4);
      assert.equal(o.slug, s.slug);
      assert.equal(o.name, s.body.org_name);
      assert.equal(o.plan, 'free');
      assertRecentTimestamp(o.created_at);
    }
  });

  test('PUT /api/v1/admin/orgs/{id}/plan changes the plan at once', async () => {
    const s = await signup(gh);
    const up = expectOk(await admin('PUT', `/api/v1/admin/orgs/${s.org.id}/plan`, { plan: 'enterprise' }));
    assert.equal(up.id, s.org.id);
    assert.equal(up.slug, s.slug);
    assert.equal(up.name, s.body.org_name);
    assert.equal(up.plan, 'enterprise');
    assert.deepEqual(await entitlementsOf(gh, s), expectedEntitlements(s.org.id, 'enterprise', 90));
    const listed = expectOk(await admin('GET', '/api/v1/admin/orgs')).orgs.find((o) => o.id === s.org.id);
    assert.equal(listed.plan, 'enterprise');

    // setting the same plan again is fine
    assert.equal(expectOk(await admin('PUT', `/api/v1/admin/orgs/${s.org.id}/plan`, { plan: 'enterprise' })).plan,
      'enterprise');

    const down = expectOk(await admin('PUT', `/api/v1/admin/orgs/${s.org.id}/plan`, { plan: 'free' }));
    assert.equal(down.plan, 'free');
    assert.deepEqual(await entitlementsOf(gh, s), expectedEntitlements(s.org.id, 'free'));
  });

  test('bad plan bodies -> 400', async () => {
    const s = await signup(gh);
    const p = `/api/v1/admin/orgs/${s.org.id}/plan`;
    for (const plan of ['gold', 'Enterprise', '', 1, null]) {
      expectError(await admin('PUT', p, { plan }), 400, 'invalid_request', 'plan');
    }
    expectError(await admin('PUT', p, {}), 400, 'invalid_request', 'plan');
    expectError(await admin('PUT', p, { plan: 'enterprise', until: '2099-01-01T00:00:00Z' }),
      400, 'invalid_request', 'until');
    expectError(await gh.api('PUT', p, { token: gh.operatorToken, raw: '{plan: enterprise}' }), 400, 'invalid_request');
    assert.deepEqual(await entitlementsOf(gh, s), expectedEntitlements(s.org.id, 'free'));
  });

  test('unknown org -> 404', async () => {
    expectError(await admin('PUT', `/api/v1/admin/orgs/${randomUuid()}/plan`, { plan: 'enterprise' }), 404, 'not_found');
    expectError(await admin('PUT', '/api/v1/admin/orgs/not-a-uuid/plan', { plan: 'enterprise' }), 404, 'not_found');
  });

  test('only the operator token opens admin routes', async () => {
    const s = await signup(gh);
    const p = `/api/v1/admin/orgs/${s.org.id}/plan`;
    const tries = [
      {},
      { token: s.token },
      { token: `${gh.operatorToken}0` },
      { token: gh.operatorToken.toUpperCase() },
      { token: gh.operatorToken.slice(0, -1) },
      { key: gh.operatorToken },
      { key: s.apiKey },
      { token: s.apiKey },
      { headers: { authorization: gh.operatorToken } },
      { headers: { authorization: `Basic ${Buffer.from(`operator:${gh.operatorToken}`).toString('base64')}` } },
    ];
    for (const o of tries) {
      expectError(await gh.api('GET', '/api/v1/admin/orgs', o), 401, 'unauthorized');
      expectError(await gh.api('PUT', p, { ...o, body: { plan: 'enterprise' } }), 401, 'unauthorized');
    }
    assert.deepEqual(await entitlementsOf(gh, s), expectedEntitlements(s.org.id, 'free'));
  });

  test('without an operator token the admin routes are closed', async () => {
    const g2 = await startGatehouse({ operatorToken: false });
    try {
      const s = await signup(g2);
      for (const o of [{}, { token: '' }, { token: hex(16) }, { token: s.token }]) {
        expectError(await g2.api('GET', '/api/v1/admin/orgs', o), 401, 'unauthorized');
        expectError(await g2.api('PUT', `/api/v1/admin/orgs/${s.org.id}/plan`, { ...o, body: { plan: 'enterprise' } }),
          401, 'unauthorized');
      }
      assert.deepEqual(await entitlementsOf(g2, s), expectedEntitlements(s.org.id, 'free'));
    } finally {
      assert.equal((await g2.dispose()).code, 0);
    }
  });

  test('GATEHOUSE_OPERATOR_TOKEN configures the operator token', async () => {
    const token = hex(16);
    const g2 = await startGatehouse({ operatorToken: false, env: { GATEHOUSE_OPERATOR_TOKEN: token } });
    try {
      expectOk(await g2.api('GET', '/api/v1/admin/orgs', { token }));
      expectError(await g2.api('GET', '/api/v1/admin/orgs', { token: hex(16) }), 401, 'unauthorized');
    } finally {
      assert.equal((await g2.dispose()).code, 0);
    }
  });
});

describe('command line', () => {
  test('--version', async () => {
    const r = await runGatehouse(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^gatehouse \S+/);
  });

  test('--help documents every flag and environment variable', async () => {
    const r = await runGatehouse(['--help']);
    assert.equal(r.code, 0, r.stderr);
    const flags = ['--config', '--listen', '--data-dir', '--database', '--operator-token', '--default-plan',
      '--allow-private-upstreams', '--trusted-proxies', '--threads', '--bcrypt-cost', '--log-format'];
    const env = ['GATEHOUSE_CONFIG', 'GATEHOUSE_LISTEN', 'GATEHOUSE_DATA_DIR', 'GATEHOUSE_DATABASE_URL',
      'GATEHOUSE_OPERATOR_TOKEN', 'GATEHOUSE_MASTER_KEY', 'GATEHOUSE_JWT_SECRET', 'GATEHOUSE_DEFAULT_PLAN',
      'GATEHOUSE_ALLOW_PRIVATE_UPSTREAMS', 'GATEHOUSE_TRUSTED_PROXIES', 'GATEHOUSE_THREADS',
      'GATEHOUSE_BCRYPT_COST', 'GATEHOUSE_LOG_FORMAT'];
    for (const word of [...flags, ...env, 'serve', 'migrate', 'set-plan']) {
      assert.ok(r.stdout.includes(word), `--help does not mention ${word}`);
    }
  });

  test('unknown flags and commands are refused', async () => {
    const dir = tempDir();
    for (const args of [['--no-such-flag'], ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--no-such-flag'],
      ['frobnicate']]) {
      const r = await runGatehouse(args, { timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, `gatehouse ${args.join(' ')} kept running`);
      assert.notEqual(r.code, 0, `gatehouse ${args.join(' ')} exited 0`);
      const word = args.at(-1).replace(/^--/, '');
      assert.ok(r.stderr.includes(word), `stderr should name ${word}: ${r.stderr}`);
    }
  });

  const badValues = [
    [['--bcrypt-cost', '99'], /bcrypt[-_]cost/i],
    [['--bcrypt-cost', '3'], /bcrypt[-_]cost/i],
    [['--bcrypt-cost', 'ten'], /bcrypt[-_]cost/i],
    [['--log-format', 'xml'], /log[-_]format/i],
    [['--default-plan', 'gold'], /default[-_]plan/i],
    [['--listen', 'not-an-address'], /listen/i],
    [['--threads', '-1'], /threads/i],
    [['--trusted-proxies', '300.1.2.3/8'], /trusted[-_]proxies/i],
    [['--listen'], /listen/i],
  ];
  for (const [bad, names] of badValues) {
    test(`bad value ${bad.join(' ')} -> non-zero exit naming the setting`, async () => {
      const dir = tempDir();
      const base = bad[0] === '--listen' ? [] : ['--listen', '127.0.0.1:0'];
      const r = await runGatehouse(['serve', ...base, '--data-dir', dir, ...bad], { timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, 'gatehouse started despite a bad value');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, names);
    });
  }

  test('bad environment values are refused too', async () => {
    const dir = tempDir();
    for (const [name, value, re] of [
      ['GATEHOUSE_BCRYPT_COST', '99', /bcrypt[-_]cost/i],
      ['GATEHOUSE_DEFAULT_PLAN', 'gold', /default[-_]plan/i],
      ['GATEHOUSE_LOG_FORMAT', 'yaml', /log[-_]format/i],
    ]) {
      const r = await runGatehouse(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir],
        { env: { [name]: value }, timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, `gatehouse started with ${name}=${value}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, re);
    }
  });

  test('config files: unknown key, bad TOML, missing file', async () => {
    const dir = tempDir();
    const unknown = path.join(dir, 'unknown.toml');
    fs.writeFileSync(unknown, 'frobnicate_level = 3\n');
    const broken = path.join(dir, 'broken.toml');
    fs.writeFileSync(broken, 'default_plan = "enterprise\n[[[\n');
    const cases = [
      [['--config', unknown], /frobnicate_level/],
      [['--config', broken], /broken\.toml|toml|parse/i],
      [['--config', path.join(dir, 'missing.toml')], /missing\.toml/],
    ];
    for (const [args, re] of cases) {
      const r = await runGatehouse(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, ...args], { timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, `gatehouse started with ${args.join(' ')}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, re);
    }
    const viaEnv = await runGatehouse(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir],
      { env: { GATEHOUSE_CONFIG: unknown }, timeoutMs: 10_000 });
    assert.equal(viaEnv.timedOut, false);
    assert.notEqual(viaEnv.code, 0);
    assert.match(viaEnv.stderr, /frobnicate_level/);
  });

  describe('default plan from file, environment and flag (the flag wins, then the environment)', () => {
    let config;
    before(() => {
      config = path.join(tempDir(), 'gatehouse.toml');
      fs.writeFileSync(config, 'default_plan = "enterprise"\n');
    });

    const cases = [
      ['--default-plan enterprise', () => ({ args: ['--default-plan', 'enterprise'] }), 'enterprise'],
      ['--config with default_plan', () => ({ args: ['--config', config] }), 'enterprise'],
      ['GATEHOUSE_CONFIG', () => ({ env: { GATEHOUSE_CONFIG: config } }), 'enterprise'],
      ['GATEHOUSE_DEFAULT_PLAN', () => ({ env: { GATEHOUSE_DEFAULT_PLAN: 'enterprise' } }), 'enterprise'],
      ['environment over file', () => ({ args: ['--config', config], env: { GATEHOUSE_DEFAULT_PLAN: 'free' } }), 'free'],
      ['flag over environment', () => ({ args: ['--default-plan', 'free'], env: { GATEHOUSE_DEFAULT_PLAN: 'enterprise' } }),
        'free'],
    ];
    for (const [name, opts, plan] of cases) {
      test(name, async () => {
        const g = await startGatehouse(opts());
        try {
          const s = await signup(g);
          assert.equal(s.org.plan, plan);
          assert.deepEqual(await entitlementsOf(g, s), expectedEntitlements(s.org.id, plan, 90));
          const org = expectOk(await g.api('GET', '/api/v1/org', { token: s.token }));
          assert.equal(org.settings.log_retention_days, plan === 'free' ? 7 : 90);
        } finally {
          assert.equal((await g.dispose()).code, 0);
        }
      });
    }
  });

  test('migrate is idempotent and leaves a usable store', async () => {
    const dir = tempDir();
    const database = await freshDatabase();
    try {
      for (let i = 0; i < 2; i++) {
        const r = await runGatehouse(['migrate', '--data-dir', dir, ...databaseArgs(database)], { timeoutMs: 30_000 });
        assert.equal(r.timedOut, false, 'migrate did not finish');
        assert.equal(r.code, 0, `migrate #${i + 1} failed: ${r.stderr}`);
      }
      const g = await startGatehouse({ dataDir: dir, database });
      try {
        const s = await signup(g);
        expectOk(await g.api('GET', '/api/v1/org', { token: s.token }));
        expectOk(await g.api('GET', '/readyz'));
      } finally {
        assert.equal((await g.dispose()).code, 0);
      }
      const again = await runGatehouse(['migrate', '--data-dir', dir, ...databaseArgs(database)], { timeoutMs: 30_000 });
      assert.equal(again.code, 0, again.stderr);
    } finally {
      await dropDatabase(database);
    }
  });

  test('admin set-plan, stopped or running; state and sessions survive restarts', async () => {
    const first = await startGatehouse();
    const store = ['--data-dir', first.dataDir, ...databaseArgs(first.database)];
    let second;
    let third;
    try {
      const a = await signup(first);
      const b = await signup(first);
      const extra = expectOk(await first.api('POST', '/api/v1/keys', { token: a.token, body: { name: 'kept' } }), 201);
      expectOk(await first.api('PUT', '/api/v1/org', { token: a.token, body: { name: 'Renamed Before Restart' } }));
      assert.equal((await first.stop()).code, 0);

      // stopped server
      let r = await runGatehouse(['admin', 'set-plan', a.slug, 'enterprise', ...store], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, `set-plan failed: ${r.stderr}`);

      const ghost = `no-such-org-${hex(4)}`;
      r = await runGatehouse(['admin', 'set-plan', ghost, 'enterprise', ...store], { timeoutMs: 30_000 });
      assert.equal(r.timedOut, false);
      assert.notEqual(r.code, 0, 'set-plan of an unknown slug must fail');
      assert.ok(r.stderr.includes(ghost), `stderr should name the slug: ${r.stderr}`);

      r = await runGatehouse(['admin', 'set-plan', b.slug, 'gold', ...store], { timeoutMs: 30_000 });
      assert.equal(r.timedOut, false);
      assert.notEqual(r.code, 0, 'set-plan to an unknown plan must fail');

      r = await runGatehouse(['admin', 'set-plan', b.slug, ...store], { timeoutMs: 30_000 });
      assert.equal(r.timedOut, false);
      assert.notEqual(r.code, 0, 'set-plan without a plan must fail');

      second = await startGatehouse({ dataDir: first.dataDir, database: first.database });
      // tokens issued before the restart are still valid (same signing secret)
      assert.deepEqual(await entitlementsOf(second, a), expectedEntitlements(a.org.id, 'enterprise', 90));
      assert.deepEqual(await entitlementsOf(second, b), expectedEntitlements(b.org.id, 'free'));
      const org = expectOk(await second.api('GET', '/api/v1/org', { token: a.token }));
      assert.equal(org.name, 'Renamed Before Restart');
      assert.equal(org.plan, 'enterprise');
      const keys = expectOk(await second.api('GET', '/api/v1/keys', { token: a.token })).keys;
      assert.deepEqual(keys.map((k) => k.id).sort(), [extra.key.id, keys.find((k) => k.name === 'Default').id].sort());
      const login = expectOk(await second.api('POST', '/api/v1/login', { body: { email: b.email, password: b.password } }));
      assert.equal(login.org.id, b.org.id);

      // running server
      r = await runGatehouse(['admin', 'set-plan', b.slug, 'enterprise', ...store], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, `set-plan against a running server's store failed: ${r.stderr}`);
      assert.equal((await second.stop()).code, 0);

      third = await startGatehouse({ dataDir: first.dataDir, database: first.database });
      assert.deepEqual(await entitlementsOf(third, b), expectedEntitlements(b.org.id, 'enterprise', 90));
      assert.deepEqual(await entitlementsOf(third, a), expectedEntitlements(a.org.id, 'enterprise', 90));
      const listed = expectOk(await third.api('GET', '/api/v1/admin/orgs', { token: third.operatorToken })).orgs;
      assert.equal(listed.find((o) => o.id === a.org.id).plan, 'enterprise');
      assert.equal(listed.find((o) => o.id === b.org.id).plan, 'enterprise');

      // back to free from the command line
      assert.equal((await third.stop()).code, 0);
      r = await runGatehouse(['admin', 'set-plan', a.slug, 'free', ...store], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      third = await startGatehouse({ dataDir: first.dataDir, database: first.database });
      assert.deepEqual(await entitlementsOf(third, a), expectedEntitlements(a.org.id, 'free'));
    } finally {
      if (third) assert.equal((await third.stop()).code, 0);
      if (second) await second.stop();
      await first.dispose();
    }
  });

  test('the backend under test is the one asked for', async () => {
    if (BACKEND === 'postgres') {
      assert.ok(gh.database && gh.database.startsWith('postgres'), 'postgres run without a database URL');
      assert.ok(gh.args.includes('--database'));
    } else {
      assert.equal(gh.database, null);
      // the embedded database lives in the data directory
      const s = await signup(gh);
      assert.ok(s.org.id);
      assert.ok(fs.readdirSync(gh.dataDir).some((f) => f.startsWith('gatehouse.db')),
        `no gatehouse.db in ${gh.dataDir}: ${fs.readdirSync(gh.dataDir).join(', ')}`);
    }
  });
});
