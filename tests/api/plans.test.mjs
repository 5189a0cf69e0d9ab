// Plans: enterprise options refused on free orgs (before anything else is
// looked at, and without side effects), plan limits, upgrades taking effect
// at once, per-key rate limits and provider fallback.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, expectError, expectOk, hex, setPlan, signup, sleep, startGatehouse, waitForLog,
} from './harness.mjs';
import {
  as, deadUpstreamUrl, enterpriseOrg, proxyChat, startTinyUpstream,
} from './governance_helpers.mjs';

let gh;
let up;

before(async () => {
  up = await startTinyUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await up?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

const providerBody = (name, extra = {}) => ({
  name, base_url: up.base(`${name}-${hex(3)}`), api_key: `sk-up-${hex(12)}`, ...extra,
});

const readAll = async (s) => {
  const u = as(gh, s);
  const get = async (p) => expectOk(await u.get(p));
  return {
    providers: await get('/api/v1/providers'),
    keys: (await get('/api/v1/keys')).keys.map(({ id, status, rate_limit_rpm }) => ({ id, status, rate_limit_rpm })),
    pricing: await get('/api/v1/pricing'),
    org: await get('/api/v1/org'),
    teams: (await get('/api/v1/teams')).teams
      .map(({ id, name, monthly_spend_limit_usd }) => ({ id, name, monthly_spend_limit_usd })),
  };
};

describe('free org: enterprise options', () => {
  let s;
  let team;
  before(async () => {
    s = await signup(gh);
    expectOk(await as(gh, s).post('/api/v1/providers', providerBody('primary')), 201);
    expectOk(await as(gh, s).post('/api/v1/providers', providerBody('secondary', { fallback: [] })), 201);
    team = expectOk(await as(gh, s).post('/api/v1/teams', { name: 'plain' }), 201);
  });

  const refusals = [
    ['provider fallback on create', (u) => u.post('/api/v1/providers', providerBody('third', { fallback: ['primary'] }))],
    ['provider fallback naming nothing', (u) => u.post('/api/v1/providers', providerBody('third', { fallback: ['nope'] }))],
    ['provider fallback on update', (u) => u.put('/api/v1/providers/secondary', { fallback: ['primary'] })],
    ['key rate_limit_rpm', (u) => u.post('/api/v1/keys', { name: 'limited', rate_limit_rpm: 60 })],
    ['key rate_limit_rpm out of range', (u) => u.post('/api/v1/keys', { name: 'limited', rate_limit_rpm: -5 })],
    ['PUT /api/v1/pricing', (u) => u.put('/api/v1/pricing', {
      models: { 'gpt-4o-mini': { input_per_mtok: 1, output_per_mtok: 1 } },
    })],
    ['org log_retention_days', (u) => u.put('/api/v1/org', { name: 'Nope', settings: { log_retention_days: 30 } })],
    ['team limit on create', (u) => u.post('/api/v1/teams', { name: 'capped', monthly_spend_limit_usd: 100 })],
    ['team limit on update', (u) => u.put(`/api/v1/teams/${team.id}`, { name: 'renamed', monthly_spend_limit_usd: 1 })],
    ['GET /api/v1/audit', (u) => u.get('/api/v1/audit')],
    ['GET /api/v1/metrics', (u) => u.get('/api/v1/metrics')],
  ];

  for (const [what, call] of refusals) {
    test(`${what} -> 403 plan_required, nothing changes`, async () => {
      const before = await readAll(s);
      expectError(await call(as(gh, s)), 403, 'plan_required');
      assert.deepEqual(await readAll(s), before);
    });
  }

  test('an empty fallback and a null limit need no plan', async () => {
    const p = expectOk(await as(gh, s).put('/api/v1/providers/secondary', { fallback: [] }));
    assert.deepEqual(p.fallback, []);
    const t = expectOk(await as(gh, s).put(`/api/v1/teams/${team.id}`, { monthly_spend_limit_usd: null }));
    assert.equal(t.monthly_spend_limit_usd, null);
  });

  test('upgrading takes effect on the next request; downgrading too', async () => {
    const u = as(gh, s);
    await setPlan(gh, s.org.id, 'enterprise');
    assert.deepEqual(expectOk(await u.put('/api/v1/providers/secondary', { fallback: ['primary'] })).fallback, ['primary']);
    assert.equal(expectOk(await u.post('/api/v1/keys', { name: 'limited', rate_limit_rpm: 60 }), 201).key.rate_limit_rpm, 60);
    expectOk(await u.put('/api/v1/pricing', { models: { 'gpt-4o-mini': { input_per_mtok: 1, output_per_mtok: 1 } } }));
    assert.equal(expectOk(await u.put('/api/v1/org', { settings: { log_retention_days: 30 } })).settings.log_retention_days, 30);
    const capped = expectOk(await u.post('/api/v1/teams', { name: 'capped', monthly_spend_limit_usd: 100 }), 201);
    assert.equal(capped.monthly_spend_limit_usd, 100);
    expectOk(await u.get('/api/v1/audit'));
    assert.equal((await u.get('/api/v1/metrics')).status, 200);

    await setPlan(gh, s.org.id, 'free');
    expectError(await u.get('/api/v1/audit'), 403, 'plan_required');
    expectError(await u.get('/api/v1/metrics'), 403, 'plan_required');
    expectError(await u.post('/api/v1/keys', { name: 'again', rate_limit_rpm: 60 }), 403, 'plan_required');
    expectError(await u.put(`/api/v1/teams/${capped.id}`, { monthly_spend_limit_usd: 5 }), 403, 'plan_required');
  });
});

describe('plan limits', () => {
  test('free: 3 providers and 5 active keys; enterprise lifts both', async () => {
    const s = await signup(gh);
    const u = as(gh, s);
    for (const n of ['one', 'two', 'three']) expectOk(await u.post('/api/v1/providers', providerBody(n)), 201);
    expectError(await u.post('/api/v1/providers', providerBody('four')), 403, 'limit_exceeded');
    for (let i = 0; i < 4; i++) expectOk(await u.post('/api/v1/keys', { name: `k${i}` }), 201);
    expectError(await u.post('/api/v1/keys', { name: 'sixth' }), 403, 'limit_exceeded');
    assert.equal(expectOk(await u.get('/api/v1/providers')).providers.length, 3);
    assert.equal(expectOk(await u.get('/api/v1/keys')).keys.length, 5);

    await setPlan(gh, s.org.id, 'enterprise');
    expectOk(await u.post('/api/v1/providers', providerBody('four')), 201);
    expectOk(await u.post('/api/v1/keys', { name: 'sixth' }), 201);
  });
});

describe('per-key rate limit', () => {
  test('rate_limit_rpm 3: the fourth request within the minute -> 429 rate_limited', async () => {
    const s = await enterpriseOrg(gh);
    const body = providerBody('openai');
    expectOk(await as(gh, s).post('/api/v1/providers', body), 201);
    const label = body.base_url.split('/p/')[1];
    const limited = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'rpm3', rate_limit_rpm: 3 }), 201);
    assert.equal(limited.key.rate_limit_rpm, 3);
    // Keep the burst inside one clock minute, whatever window the limiter uses.
    if (Date.now() % 60_000 > 55_000) await sleep(60_500 - (Date.now() % 60_000));
    for (let i = 0; i < 3; i++) assert.equal((await proxyChat(gh, limited.raw_key)).status, 200);
    const reached = up.of(label).length;
    const res = await proxyChat(gh, limited.raw_key);
    expectError(res, 429, 'rate_limited');
    const ra = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 60, `Retry-After ${res.headers['retry-after']}`);
    assert.equal(up.of(label).length, reached, 'a limited request is not forwarded');
    expectError(await proxyChat(gh, limited.raw_key), 429, 'rate_limited');
    // Other keys have their own allowance (or none).
    for (let i = 0; i < 5; i++) assert.equal((await proxyChat(gh, s.apiKey)).status, 200);
    const other = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'rpm3b', rate_limit_rpm: 3 }), 201);
    for (let i = 0; i < 3; i++) assert.equal((await proxyChat(gh, other.raw_key)).status, 200);
    expectError(await proxyChat(gh, other.raw_key), 429, 'rate_limited');
  });
});

describe('provider fallback', () => {
  let s;
  let labels;
  before(async () => {
    s = await enterpriseOrg(gh);
    const tag = hex(3);
    labels = { a: `a-${tag}`, b: `b-${tag}`, slow: `slow-${tag}` };
    up.configure(labels.slow, { delayMs: 3000 });
    const dead = await deadUpstreamUrl();
    const u = as(gh, s);
    const make = async (name, base_url, fallback = []) => expectOk(await u.post('/api/v1/providers', {
      name, base_url, api_key: `sk-up-${hex(12)}`, fallback,
    }), 201);
    await make('b', up.base(labels.b));
    await make('a', up.base(labels.a), ['b']);
    await make('dead', dead, ['b']);
    await make('dead2', `${dead}/second`);
    await make('chain', dead, ['dead2', 'b']);
    await make('nowhere', dead, ['dead2']);
    await make('slow', up.base(labels.slow), ['b']);
  });

  const via = (provider, headers = {}) => proxyChat(gh, s.apiKey, { headers: { 'x-gatehouse-provider': provider, ...headers } });

  test('a 5xx from the first provider is answered by the fallback', async () => {
    up.configure(labels.a, { status: 500 });
    const beforeA = up.of(labels.a).length;
    const beforeB = up.of(labels.b).length;
    const res = await via('a');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-gatehouse-provider'], 'b');
    assert.equal(res.json.choices[0].message.content, `answer from ${labels.b}`);
    assert.equal(up.of(labels.a).length, beforeA + 1);
    assert.equal(up.of(labels.b).length, beforeB + 1);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.provider, 'b');
    assert.equal(entry.status, 200);
    for (const status of [502, 503]) {
      up.configure(labels.a, { status });
      const r = await via('a');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-gatehouse-provider'], 'b');
    }
  });

  test('a 4xx from the first provider is relayed without fallback', async () => {
    for (const status of [400, 404, 429]) {
      up.configure(labels.a, { status });
      const beforeB = up.of(labels.b).length;
      const res = await via('a');
      assert.equal(res.status, status, res.text);
      assert.equal(res.headers['x-gatehouse-provider'], 'a');
      assert.equal(res.json.error.message, `upstream says ${status}`);
      assert.equal(up.of(labels.b).length, beforeB, 'the fallback was not tried');
      const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
      assert.equal(entry.provider, 'a');
    }
    up.configure(labels.a, null);
    const ok = await via('a');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-gatehouse-provider'], 'a');
  });

  test('connection errors and timeouts fall back, in order', async () => {
    const dead = await via('dead');
    assert.equal(dead.status, 200, dead.text);
    assert.equal(dead.headers['x-gatehouse-provider'], 'b');
    const chain = await via('chain');
    assert.equal(chain.status, 200, chain.text);
    assert.equal(chain.headers['x-gatehouse-provider'], 'b');
    assert.equal((await waitForLog(gh, s, chain.headers['x-gatehouse-request-id'])).provider, 'b');
    const slow = await via('slow');
    assert.equal(slow.status, 200, slow.text);
    assert.equal(slow.headers['x-gatehouse-provider'], 'b');
  });

  test('when the whole chain fails: 502 upstream_error', async () => {
    expectError(await via('nowhere'), 502, 'upstream_error');
  });
});
