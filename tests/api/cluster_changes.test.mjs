// Change propagation in a 3-node cluster over one PostgreSQL: a change made
// on one node (or by `gatehouse admin set-plan`) is applied by the others
// within 1 s. Each test measures from the answer of the change to the first
// answer of each other node that shows it, polling every 25 ms, and prints
// the times. PostgreSQL only.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  BACKEND, PROXY_ARGS, createKey, createProvider, databaseArgs, dropDatabase, expectError,
  expectOk, freePort, freshDatabase, hex, poll, psql, runGatehouse, setPlan, signup, startGatehouse,
} from './harness.mjs';
import { startMockUpstream } from './mock_upstream.mjs';

/// How long another node may take to apply a change (issue 9: < 1 s).
const LIMIT_MS = 1000;
/// How often a node is asked whether it applied the change.
const POLL_MS = 25;

const SECRET = `cluster-${hex(16)}`;
const SHARED_ENV = {
  GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('hex'),
  GATEHOUSE_JWT_SECRET: hex(24),
};

describe('changes reach every node within 1 s', { skip: BACKEND !== 'postgres' }, () => {
  let database;
  let mock;
  const nodes = [];
  const ids = ['gh-a', 'gh-b', 'gh-c'];
  const [A, B, C] = [0, 1, 2];

  before(async () => {
    database = await freshDatabase();
    mock = await startMockUpstream();
    const ports = [];
    for (let i = 0; i < 3; ++i) ports.push(await freePort());
    nodes.push(...(await Promise.all([0, 1, 2].map((i) => startGatehouse({
      database,
      args: [...PROXY_ARGS, '--node-id', ids[i], '--cluster-listen', `127.0.0.1:${ports[i]}`,
        '--cluster-peers', ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`).join(',')],
      env: { GATEHOUSE_CLUSTER_SECRET: SECRET, ...SHARED_ENV },
    })))));
  });

  after(async () => {
    // Each stops at once and cleanly, its listener included.
    const codes = await Promise.all(nodes.map(async (n) => (await n.dispose()).code));
    assert.deepEqual(codes, [0, 0, 0]);
    if (mock) await mock.close();
    if (database) await dropDatabase(database);
  });

  /// An org on `plan` with a provider `mock` (its default) on the mock
  /// upstream, made through node A.
  async function org(plan = 'enterprise') {
    const s = await signup(nodes[A]);
    if (plan !== 'free') await setPlan(nodes[A], s.org.id, plan);
    await createProvider(nodes[A], s, { name: 'mock', base_url: `${mock.url}/p/mock`, api_key: `pk-${hex(8)}` });
    return s;
  }

  /// One chat request through node `i`; answers its status and body.
  async function chat(i, key, headers = {}) {
    const res = await nodes[i].api('POST', '/v1/chat/completions', {
      key,
      headers: { 'x-gatehouse-provider': 'mock', ...headers },
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    return res;
  }

  /// Waits until `shows(res)` holds for a request through each of `which`,
  /// polling every POLL_MS; answers each node's time since `t0` and asserts
  /// that none took LIMIT_MS or more.
  async function reached(which, t0, send, shows, what) {
    const times = await Promise.all(which.map(async (i) => {
      const seen = await poll(async () => {
        const res = await send(i);
        return shows(res) && { ms: Date.now() - t0 };
      }, { timeoutMs: 3 * LIMIT_MS, intervalMs: POLL_MS, what: `${what} on ${ids[i]}` });
      return seen.ms;
    }));
    const report = which.map((i, n) => `${ids[i]} ${times[n]} ms`).join(', ');
    console.log(`# ${what}: ${report}`);
    for (const ms of times) assert.ok(ms < LIMIT_MS, `${what}: ${report} (limit ${LIMIT_MS} ms)`);
    return times;
  }

  test('a key created on A works on B and C; revoked on A, B and C refuse it', async () => {
    const s = await org();
    const { key, raw_key: raw } = await createKey(nodes[A], s, { name: 'moving' });
    await reached([B, C], Date.now(), (i) => chat(i, raw), (r) => r.status === 200,
      'a key created on gh-a accepted');
    // Each node now holds the key in its live org actor.
    for (const i of [A, B, C]) assert.equal((await chat(i, raw)).status, 200);
    expectOk(await nodes[A].api('DELETE', `/api/v1/keys/${key.id}`, { token: s.token }));
    const t0 = Date.now();
    assert.equal((await chat(A, raw)).status, 401);
    await reached([B, C], t0, (i) => chat(i, raw), (r) => r.status === 401,
      'a key revoked on gh-a refused');
    for (const i of [B, C]) expectError(await chat(i, raw), 401, 'unauthorized');
  });

  test('a key rotated on B without overlap: the old one is refused on A and C, the new one works', async () => {
    const s = await org();
    const { key, raw_key: old } = await createKey(nodes[A], s, { name: 'rotating' });
    await reached([B, C], Date.now(), (i) => chat(i, old), (r) => r.status === 200,
      'a key created on gh-a accepted');
    assert.equal((await chat(A, old)).status, 200);
    const rotated = expectOk(await nodes[B].api('POST', `/api/v1/keys/${key.id}/rotate`,
      { token: s.token, body: { overlap_hours: 0 } }));
    const t0 = Date.now();
    const fresh = rotated.raw_key;
    assert.equal((await chat(B, old)).status, 401);
    await reached([A, C], t0, (i) => chat(i, old), (r) => r.status === 401,
      'the old key of a rotation on gh-b refused');
    await reached([A, C], t0, (i) => chat(i, fresh), (r) => r.status === 200,
      'the new key of a rotation on gh-b accepted');
  });

  test('a key rotated on B with an overlap keeps working on A and C', async () => {
    const s = await org();
    const { key, raw_key: old } = await createKey(nodes[A], s, { name: 'overlapping' });
    await reached([B, C], Date.now(), (i) => chat(i, old), (r) => r.status === 200,
      'a key created on gh-a accepted');
    const rotated = expectOk(await nodes[B].api('POST', `/api/v1/keys/${key.id}/rotate`,
      { token: s.token, body: { overlap_hours: 1 } }));
    await reached([A, C], Date.now(), (i) => chat(i, rotated.raw_key), (r) => r.status === 200,
      'the new key of a rotation on gh-b accepted');
    // The overlap is an hour: the old key works everywhere meanwhile.
    for (const i of [A, B, C]) assert.equal((await chat(i, old)).status, 200);
  });

  test('admin set-plan is applied by every node', async () => {
    // On enterprise a key's own rate limit applies; on free it does not.
    const s = await org('enterprise');
    const { raw_key: raw } = await createKey(nodes[A], s, { name: 'limited', rate_limit_rpm: 1 });
    // Listing models spends nothing of the key's rate.
    await reached([B, C], Date.now(), (i) => nodes[i].api('GET', '/v1/models', { key: raw }),
      (r) => r.status === 200, 'a key created on gh-a known');
    // One request a minute for the whole cluster (the org's home decides):
    // the first passes, then every node refuses.
    assert.equal((await chat(A, raw)).status, 200);
    for (const i of [A, B, C]) assert.equal((await chat(i, raw)).status, 429);
    const r = await runGatehouse(['admin', 'set-plan', s.slug, 'free', ...databaseArgs(database)],
      { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const t0 = Date.now();
    await reached([A, B, C], t0, (i) => chat(i, raw), (res) => res.status === 200,
      'a plan set by gatehouse admin set-plan applied');
  });

  test('a provider deleted on C: requests naming it on A and B answer 400 provider_required', async () => {
    const s = await org();
    await createProvider(nodes[A], s, { name: 'spare', base_url: `${mock.url}/p/spare`, api_key: `pk-${hex(8)}` });
    const spare = (i) => chat(i, s.apiKey, { 'x-gatehouse-provider': 'spare' });
    await reached([B, C], Date.now(), spare, (r) => r.status === 200, 'a provider created on gh-a used');
    assert.equal((await spare(A)).status, 200);
    expectOk(await nodes[C].api('DELETE', '/api/v1/providers/spare', { token: s.token }));
    const t0 = Date.now();
    await reached([A, B], t0, spare, (r) => r.status === 400, 'a provider deleted on gh-c gone');
    for (const i of [A, B]) expectError(await spare(i), 400, 'provider_required');
  });

  test('after its listening connection is cut, a node reads what it missed', async () => {
    const s = await org();
    const { key, raw_key: raw } = await createKey(nodes[A], s, { name: 'cut' });
    await reached([B, C], Date.now(), (i) => chat(i, raw), (r) => r.status === 200,
      'a key created on gh-a accepted');
    const cut = await psql(database, 'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity '
      + "WHERE datname = current_database() AND query LIKE 'LISTEN%'");
    assert.equal(cut.trim(), '3', 'each node listens on a connection of its own');
    // Revoked while the nodes are (or may be) reconnecting.
    expectOk(await nodes[A].api('DELETE', `/api/v1/keys/${key.id}`, { token: s.token }));
    const t0 = Date.now();
    await reached([B, C], t0, (i) => chat(i, raw), (r) => r.status === 401,
      'a key revoked on gh-a while the listeners reconnect refused');
    for (const i of [B, C])
      assert.match(nodes[i].stderr(), /listening for changes of organizations/);
    await poll(async () => (await psql(database, 'SELECT count(*) FROM pg_stat_activity '
      + "WHERE datname = current_database() AND query LIKE 'LISTEN%'")).trim() === '3',
    { timeoutMs: 3000, what: 'the three nodes listening again' });
  });
});
