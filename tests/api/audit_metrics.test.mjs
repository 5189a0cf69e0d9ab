// The audit log (what is recorded, secrets masked, filters, pagination) and
// the Prometheus metrics of an org and of the node.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, RFC3339_UTC, UUID_V4, expectError, expectOk, hex, poll, setPlan, signup, sleep, startGatehouse,
} from './harness.mjs';
import {
  accept, allAudit, as, deadUpstreamUrl, enterpriseOrg, promSamples, promSum, promtoolCheck, proxyChat,
  startTinyUpstream,
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

const ENTRY_FIELDS = ['action', 'actor_id', 'actor_type', 'after', 'before', 'created_at', 'id', 'ip', 'target_id',
  'target_type'];

const ACTIONS = ['org.create', 'org.update', 'org.plan', 'key.create', 'key.revoke', 'key.rotate', 'provider.create',
  'provider.update', 'provider.delete', 'provider.default', 'pricing.update', 'team.create', 'team.update',
  'team.delete', 'app.create', 'app.update', 'app.delete', 'member.invite', 'member.accept', 'member.update',
  'member.suspend', 'member.reactivate', 'member.resend_invite', 'member.delete'];

/// Fails if any object in `value` has a key naming a secret.
function assertNoSecretKeys(value, where) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoSecretKeys(v, `${where}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      assert.ok(!/^(api_key|raw_key|key_hash|invite_token|password.*|.*_hash)$/.test(k), `${where} carries '${k}'`);
      assertNoSecretKeys(v, `${where}.${k}`);
    }
  }
}

describe('GET /api/v1/audit', () => {
  const IP = '203.0.113.77';
  let s;
  let joiner;
  const made = {};
  const secrets = [];
  let mid;

  before(async () => {
    s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    const call = (method, p, body) => gh.api(method, p, { token: s.token, body, ip: IP });

    // First batch.
    expectOk(await call('PUT', '/api/v1/org', { name: 'Audited Org' }));
    const key = expectOk(await call('POST', '/api/v1/keys', { name: 'audited-key' }), 201);
    secrets.push(key.raw_key);
    const rotated = expectOk(await call('POST', `/api/v1/keys/${key.key.id}/rotate`, { overlap_hours: 0 }));
    secrets.push(rotated.raw_key);
    expectOk(await call('DELETE', `/api/v1/keys/${key.key.id}`));
    made.key = key.key;

    const providerKey = `sk-provider-secret-${hex(16)}`;
    const providerKey2 = `sk-provider-other-${hex(16)}`;
    secrets.push(providerKey, providerKey2);
    made.providerKeys = [providerKey, providerKey2];
    made.provider = expectOk(await call('POST', '/api/v1/providers', {
      name: 'audited', base_url: up.base('audited'), api_key: providerKey,
    }), 201);
    expectOk(await call('PUT', '/api/v1/providers/audited', { api_key: providerKey2 }));
    made.provider2 = expectOk(await call('POST', '/api/v1/providers', {
      name: 'second', base_url: up.base('second'), api_key: `sk-third-${hex(12)}`,
    }), 201);
    expectOk(await call('PUT', '/api/v1/providers/default', { provider_name: 'second' }));
    expectOk(await call('DELETE', '/api/v1/providers/audited'));
    expectOk(await call('PUT', '/api/v1/pricing', { models: { 'audit-model': { input_per_mtok: 1, output_per_mtok: 2 } } }));

    await sleep(1100);
    mid = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    await sleep(1100);

    // Second batch.
    made.team = expectOk(await call('POST', '/api/v1/teams', { name: 'Audited Team' }), 201);
    expectOk(await call('PUT', `/api/v1/teams/${made.team.id}`, { name: 'Audited Team 2' }));
    expectOk(await call('DELETE', `/api/v1/teams/${made.team.id}`));
    made.app = expectOk(await call('POST', '/api/v1/apps', { name: 'Audited App' }), 201);
    expectOk(await call('PUT', `/api/v1/apps/${made.app.id}`, { env: 'prod' }));
    expectOk(await call('DELETE', `/api/v1/apps/${made.app.id}`));

    const inv = expectOk(await call('POST', '/api/v1/users/invite', { email: `audited-${hex(4)}@example.com` }), 201);
    secrets.push(inv.invite_token);
    const acc = await accept(gh, inv.invite_token, { password: `pw-secret-${hex(6)}` });
    secrets.push(acc.password);
    joiner = inv.user.id;
    expectOk(await call('PUT', `/api/v1/users/${joiner}`, { role: 'viewer' }));
    expectOk(await call('POST', `/api/v1/users/${joiner}/suspend`));
    expectOk(await call('POST', `/api/v1/users/${joiner}/reactivate`));
    const pending = expectOk(await call('POST', '/api/v1/users/invite', { email: `pending-${hex(4)}@example.com` }), 201);
    secrets.push(pending.invite_token);
    const resent = expectOk(await call('POST', `/api/v1/users/${pending.user.id}/resend-invite`));
    secrets.push(resent.invite_token);
    expectOk(await call('DELETE', `/api/v1/users/${joiner}`));
    made.pending = pending.user.id;
  });

  test('every kind of state change is recorded with its actor, target and IP', async () => {
    const entries = await allAudit(gh, s);
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ACTIONS) assert.ok(actions.has(a), `no '${a}' entry; got ${[...actions].join(', ')}`);
    const ids = new Set();
    for (const e of entries) {
      assert.deepEqual(Object.keys(e).sort(), ENTRY_FIELDS, `entry fields: ${JSON.stringify(e)}`);
      assert.match(e.id, UUID_V4);
      assert.ok(!ids.has(e.id), 'entry ids are unique');
      ids.add(e.id);
      assert.match(e.created_at, RFC3339_UTC);
      assert.ok(Math.abs(Date.parse(e.created_at) - Date.now()) < 5 * 60_000);
    }
    const targets = {
      key: made.key.id, provider: made.provider.id, team: made.team.id, app: made.app.id, member: joiner,
    };
    targets['provider.default'] = made.provider2.id;
    targets['member.resend_invite'] = made.pending;
    targets['member.invite'] = made.pending;
    /// The one entry of `action` (on the object this test made for it).
    const one = (action) => {
      const target = targets[action] ?? targets[action.split('.')[0]];
      const found = entries.filter((e) => e.action === action && (target === undefined || e.target_id === target));
      assert.equal(found.length, 1, `${found.length} '${action}' entries`);
      return found[0];
    };
    // Everything done through the session carries the owner and the client IP.
    const byOwner = ['org.update', 'key.create', 'key.rotate', 'key.revoke', 'provider.create', 'provider.update',
      'provider.default', 'provider.delete', 'pricing.update', 'team.create', 'team.update', 'team.delete',
      'app.create', 'app.update', 'app.delete', 'member.update', 'member.suspend', 'member.reactivate',
      'member.resend_invite', 'member.delete'];
    for (const a of byOwner) {
      const e = one(a);
      assert.equal(e.actor_type, 'user', a);
      assert.equal(e.actor_id, s.user.id, a);
      assert.equal(e.ip, IP, `${a} ip`);
    }
    const created = one('org.create');
    assert.equal(created.target_type, 'org');
    assert.equal(created.target_id, s.org.id);
    assert.equal(created.actor_id, s.user.id);
    const plan = one('org.plan');
    assert.equal(plan.target_id, s.org.id);
    assert.equal(plan.actor_type, 'operator');
    assert.equal(plan.after.plan, 'enterprise');
    const update = one('org.update');
    assert.equal(update.before.name, s.body.org_name);
    assert.equal(update.after.name, 'Audited Org');

    for (const a of ['key.create', 'key.rotate', 'key.revoke']) {
      assert.equal(one(a).target_type, 'api_key');
      assert.equal(one(a).target_id, made.key.id);
    }
    assert.equal(one('key.create').before, null);
    assert.equal(one('key.create').after.id, made.key.id);
    assert.equal(one('key.revoke').after.status, 'revoked');

    for (const a of ['provider.create', 'provider.update', 'provider.delete']) {
      assert.equal(one(a).target_type, 'provider');
      assert.equal(one(a).target_id, made.provider.id);
    }
    const pc = one('provider.create');
    assert.equal(pc.before, null);
    assert.equal(pc.after.has_api_key, true);
    assert.equal(pc.after.api_key_last4, made.providerKeys[0].slice(-4));
    const pu = one('provider.update');
    assert.equal(pu.before.api_key_last4, made.providerKeys[0].slice(-4));
    assert.equal(pu.after.api_key_last4, made.providerKeys[1].slice(-4));
    assert.equal(one('provider.delete').after, null);
    assert.ok(JSON.stringify(one('pricing.update').after).includes('audit-model'), 'pricing.update shows the new price');

    for (const a of ['team.create', 'team.update', 'team.delete']) {
      assert.equal(one(a).target_type, 'team');
      assert.equal(one(a).target_id, made.team.id);
    }
    assert.ok(one('team.update').before, 'team.update records the team as it was');
    assert.equal(one('team.update').before.name, 'Audited Team');
    assert.equal(one('team.update').after.name, 'Audited Team 2');
    for (const a of ['app.create', 'app.update', 'app.delete']) {
      assert.equal(one(a).target_type, 'app');
      assert.equal(one(a).target_id, made.app.id);
    }
    assert.equal(one('app.update').after.env, 'prod');

    for (const a of ['member.accept', 'member.update', 'member.suspend', 'member.reactivate', 'member.delete']) {
      assert.equal(one(a).target_type, 'user');
      assert.equal(one(a).target_id, joiner);
    }
    assert.equal(one('member.accept').actor_id, joiner, 'the invited person accepts');
    assert.equal(one('member.update').after.role, 'viewer');
    assert.equal(one('member.suspend').after.status, 'suspended');
    assert.equal(one('member.resend_invite').target_type, 'user');
    assert.equal(one('member.invite').target_type, 'user');
    assert.equal(one('member.invite').after.status, 'invited');
    assert.equal(one('provider.default').target_type, 'provider');
  });

  test('secrets never appear: provider keys only as has_api_key and api_key_last4', async () => {
    const entries = await allAudit(gh, s);
    const text = JSON.stringify(entries);
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 8)}...) is in the audit log`);
    }
    for (const k of made.providerKeys) assert.ok(!text.includes(k.slice(0, -4)), 'more than the last 4 characters');
    entries.forEach((e, i) => assertNoSecretKeys(e, `entries[${i}]`));
  });

  test('filters: action, actor_id, target_type, target_id, from, to', async () => {
    const all = await allAudit(gh, s);
    const check = async (query, predicate) => {
      const got = await allAudit(gh, s, query);
      assert.deepEqual(got.map((e) => e.id), all.filter(predicate).map((e) => e.id), JSON.stringify(query));
      assert.ok(got.length > 0, `nothing for ${JSON.stringify(query)}`);
      return got;
    };
    await check({ action: 'team.update' }, (e) => e.action === 'team.update');
    await check({ actor_id: joiner }, (e) => e.actor_id === joiner);
    await check({ target_type: 'team' }, (e) => e.target_type === 'team');
    const teamHistory = await check({ target_id: made.team.id }, (e) => e.target_id === made.team.id);
    assert.deepEqual(teamHistory.map((e) => e.action).sort(), ['team.create', 'team.delete', 'team.update']);
    await check({ target_type: 'user', action: 'member.suspend' }, (e) => e.action === 'member.suspend');
    const later = await check({ from: mid }, (e) => Date.parse(e.created_at) >= Date.parse(mid));
    assert.ok(later.some((e) => e.action === 'team.create'));
    assert.ok(!later.some((e) => e.action === 'key.create'));
    const earlier = await check({ to: mid }, (e) => Date.parse(e.created_at) < Date.parse(mid));
    assert.ok(earlier.some((e) => e.action === 'key.create'));
    assert.ok(!earlier.some((e) => e.action === 'app.create'));
    assert.deepEqual(await allAudit(gh, s, { action: 'no.such.action' }), []);
  });

  test('limit 2 walks every entry once, newest first', async () => {
    const all = await allAudit(gh, s, {}, 500);
    const walked = [];
    let cursor = null;
    let pages = 0;
    do {
      const qs = new URLSearchParams({ limit: '2', ...(cursor ? { cursor } : {}) });
      const json = expectOk(await as(gh, s).get(`/api/v1/audit?${qs}`));
      assert.deepEqual(Object.keys(json).sort(), ['entries', 'next_cursor']);
      assert.ok(json.entries.length <= 2);
      walked.push(...json.entries);
      cursor = json.next_cursor;
      pages++;
    } while (cursor !== null && pages < 500);
    assert.equal(cursor, null);
    assert.equal(pages, Math.ceil(all.length / 2));
    assert.equal(new Set(walked.map((e) => e.id)).size, walked.length, 'no entry twice');
    assert.deepEqual(walked, all);
    for (let i = 1; i < walked.length; i++) {
      assert.ok(Date.parse(walked[i - 1].created_at) >= Date.parse(walked[i].created_at), 'newest first');
    }
    // A filtered walk works the same way.
    const members = await allAudit(gh, s, { target_type: 'user' }, 2);
    assert.deepEqual(members, all.filter((e) => e.target_type === 'user'));
  });

  test('bad query parameters -> 400 naming them', async () => {
    const u = as(gh, s);
    for (const limit of ['0', '-1', 'ten', '1.5']) {
      expectError(await u.get(`/api/v1/audit?limit=${limit}`), 400, 'invalid_request', 'limit');
    }
    expectError(await u.get('/api/v1/audit?from=yesterday'), 400, 'invalid_request', 'from');
    expectError(await u.get('/api/v1/audit?to=2024-13-01T00:00:00Z'), 400, 'invalid_request', 'to');
    expectError(await u.get('/api/v1/audit?cursor=not-a-cursor'), 400, 'invalid_request', 'cursor');
  });
});

// ---------------------------------------------------------------------------
// Metrics

const METRIC_NAMES = ['gatehouse_requests_total', 'gatehouse_errors_total', 'gatehouse_upstream_latency_seconds_bucket',
  'gatehouse_tokens_total', 'gatehouse_spend_usd_total', 'gatehouse_budget_rejections_total'];

async function checkedMetrics(res) {
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4(;|$)/);
  // A family without samples yet is still declared by its HELP and TYPE lines.
  for (const n of METRIC_NAMES) {
    assert.ok(new RegExp(`^(# (HELP|TYPE) )?${n}[ {]`, 'm').test(res.text), `${n} missing:\n${res.text}`);
  }
  const lint = await promtoolCheck(res.text);
  assert.equal(lint.code, 0, `promtool check metrics failed:\n${lint.stdout}${lint.stderr}\n--- text ---\n${res.text}`);
  const samples = promSamples(res.text);
  const inf = samples.filter((x) => x.name === 'gatehouse_upstream_latency_seconds_bucket' && x.labels.le === '+Inf');
  const count = samples.filter((x) => x.name === 'gatehouse_upstream_latency_seconds_count');
  assert.ok(inf.length >= 1 && count.length === inf.length);
  assert.equal(inf.reduce((a, x) => a + x.value, 0), count.reduce((a, x) => a + x.value, 0));
  return res.text;
}

describe('metrics', () => {
  let s;
  let quiet;
  before(async () => {
    s = await enterpriseOrg(gh);
    quiet = await enterpriseOrg(gh);
    const u = as(gh, s);
    expectOk(await u.post('/api/v1/providers', { name: 'openai', base_url: up.base('metrics'), api_key: `sk-${hex(12)}` }), 201);
    expectOk(await u.post('/api/v1/providers', { name: 'dead', base_url: await deadUpstreamUrl(), api_key: `sk-${hex(12)}` }), 201);
    expectOk(await u.put('/api/v1/pricing', { models: { 'metered-model': { input_per_mtok: 1, output_per_mtok: 1 } } }));
    const team = expectOk(await u.post('/api/v1/teams', { name: 'broke', monthly_spend_limit_usd: 0 }), 201);
    const capped = expectOk(await u.post('/api/v1/keys', { name: 'capped', team_id: team.id }), 201);
    for (let i = 0; i < 3; i++) {
      const res = await proxyChat(gh, s.apiKey, {
        model: 'metered-model', headers: { 'x-gatehouse-provider': 'openai', 'x-tiny-completion-tokens': '1000' },
      });
      assert.equal(res.status, 200, res.text);
    }
    expectError(await proxyChat(gh, s.apiKey, { headers: { 'x-gatehouse-provider': 'dead' } }), 502, 'upstream_error');
    expectError(await proxyChat(gh, capped.raw_key, { model: 'metered-model', maxTokens: 10,
      headers: { 'x-gatehouse-provider': 'openai' } }), 429, 'budget_exceeded');
  });

  test("GET /api/v1/metrics: the org's counters in Prometheus text", async () => {
    const text = await poll(async () => {
      const t = await checkedMetrics(await as(gh, s).get('/api/v1/metrics'));
      return promSum(t, 'gatehouse_requests_total') >= 4 ? t : false;
    }, { what: 'the requests in the org metrics' });
    assert.ok(promSum(text, 'gatehouse_errors_total') >= 1);
    assert.ok(promSum(text, 'gatehouse_budget_rejections_total') >= 1);
    assert.ok(promSum(text, 'gatehouse_tokens_total') >= 3 * 1000);
    assert.ok(promSum(text, 'gatehouse_spend_usd_total') > 0);
    assert.ok(!promSamples(text).some((x) => x.name === 'gatehouse_streams_in_flight'),
      'streams in flight are a node metric');
  });

  test("an org's metrics hold only its own traffic", async () => {
    const text = await checkedMetrics(await as(gh, quiet).get('/api/v1/metrics'));
    assert.equal(promSum(text, 'gatehouse_requests_total'), 0);
    assert.equal(promSum(text, 'gatehouse_budget_rejections_total'), 0);
    assert.equal(promSum(text, 'gatehouse_tokens_total'), 0);
  });

  test('GET /metrics: node-wide, operator token only', async () => {
    const res = await gh.api('GET', '/metrics', { token: gh.operatorToken });
    const text = await checkedMetrics(res);
    assert.ok(promSamples(text).some((x) => x.name === 'gatehouse_streams_in_flight'));
    const org = await as(gh, s).get('/api/v1/metrics');
    assert.ok(promSum(text, 'gatehouse_requests_total') >= promSum(org.text, 'gatehouse_requests_total'));
    assert.ok(promSum(text, 'gatehouse_requests_total') > 0);
    expectError(await gh.api('GET', '/metrics', { token: s.token }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/metrics', { key: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/metrics'), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/metrics', { token: gh.operatorToken }), 401, 'unauthorized');
  });
});
