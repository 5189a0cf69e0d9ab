// Webhooks: the plan gate, validation (SSRF-guarded URLs, known events), the
// secret shown once, signed deliveries (Standard Webhooks headers, verified
// here with the secret), retries after a failed answer with both attempts in
// the delivery log, a queue that survives a restart of the gateway, the
// test endpoint, deletion stopping deliveries, member, guardrail and
// provider error events, and budget thresholds announced once each.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, expectError, expectOk, hex, poll, signup, sleep, startGatehouse,
} from './harness.mjs';
import {
  accept, as, enterpriseOrg, invite, proxyChat, startTinyUpstream,
} from './governance_helpers.mjs';
import { assertSigned, startReceiver } from './webhook_receiver.mjs';

// Retries 100 ms after a failure, then 200, 400, ... (the default is 5 s).
const FAST = ['--webhook-retry-base-ms', '100'];

let gh;
let up;
let rx;

before(async () => {
  up = await startTinyUpstream();
  rx = await startReceiver();
  gh = await startGatehouse({ args: [...PROXY_ARGS, ...FAST] });
});

after(async () => {
  await rx?.close();
  await up?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// Creates a webhook for `events` on a fresh receiver label; returns the
/// answer plus the label.
async function hook(server, s, events, extra = {}) {
  const label = `wh-${hex(4)}`;
  const res = await server.api('POST', '/api/v1/webhooks', {
    token: s.token, body: { url: rx.url(label), events, ...extra },
  });
  return { ...expectOk(res, 201), label };
}

const deliveries = async (server, s, id) =>
  expectOk(await server.api('GET', `/api/v1/webhooks/${id}/deliveries`, { token: s.token })).deliveries;

describe('management', () => {
  test('free orgs get 403 plan_required on every webhook route', async () => {
    const s = await signup(gh);
    const u = as(gh, s);
    expectError(await u.post('/api/v1/webhooks', { url: rx.url('x'), events: ['key.created'] }), 403, 'plan_required');
    expectError(await u.get('/api/v1/webhooks'), 403, 'plan_required');
    const id = crypto.randomUUID();
    expectError(await u.del(`/api/v1/webhooks/${id}`), 403, 'plan_required');
    expectError(await u.get(`/api/v1/webhooks/${id}/deliveries`), 403, 'plan_required');
    expectError(await u.post(`/api/v1/webhooks/${id}/test`), 403, 'plan_required');
  });

  test('URLs are SSRF-guarded and events must be known', async () => {
    const s = await enterpriseOrg(gh);
    const u = as(gh, s);
    const post = (body) => u.post('/api/v1/webhooks', { events: ['key.created'], url: rx.url('v'), ...body });
    expectError(await post({ url: 'http://169.254.169.254/latest' }), 400, 'invalid_request', 'url');
    expectError(await post({ url: 'http://10.1.2.3/hook' }), 400, 'invalid_request', 'url');
    expectError(await post({ url: 'http://metadata.google.internal/x' }), 400, 'invalid_request', 'url');
    expectError(await post({ url: 'ftp://example.com/x' }), 400, 'invalid_request', 'url');
    expectError(await post({ url: undefined }), 400, 'invalid_request', 'url');
    expectError(await post({ events: ['key.eaten'] }), 400, 'invalid_request', 'events');
    expectError(await post({ events: [] }), 400, 'invalid_request', 'events');
    expectError(await post({ events: 'key.created' }), 400, 'invalid_request', 'events');
    expectError(await post({ app_id: crypto.randomUUID() }), 400, 'invalid_request', 'app_id');
    expectError(await post({ colour: 'red' }), 400, 'invalid_request', 'colour');
    assert.deepEqual(expectOk(await u.get('/api/v1/webhooks')).webhooks, []);
  });

  test('the secret is shown once; listing, deletion and the audit log', async () => {
    const s = await enterpriseOrg(gh);
    const u = as(gh, s);
    const made = await hook(gh, s, ['key.created', 'key.revoked'], { description: 'ops' });
    assert.match(made.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(Object.keys(made.webhook).sort(), ['app_id', 'created_at', 'description', 'events', 'id', 'url']);
    assert.deepEqual(made.webhook.events, ['key.created', 'key.revoked']);
    assert.equal(made.webhook.app_id, null);
    const listed = await u.get('/api/v1/webhooks');
    assert.deepEqual(expectOk(listed).webhooks, [made.webhook]);
    assert.ok(!listed.text.includes(made.secret.slice(6)), 'the secret is never listed');
    const audit = expectOk(await u.get('/api/v1/audit?action=webhook.create')).entries;
    assert.equal(audit.length, 1);
    assert.ok(!JSON.stringify(audit).includes(made.secret.slice(6)), 'nor audited');
    expectOk(await u.del(`/api/v1/webhooks/${made.webhook.id}`));
    expectError(await u.del(`/api/v1/webhooks/${made.webhook.id}`), 404, 'not_found');
    assert.deepEqual(expectOk(await u.get('/api/v1/webhooks')).webhooks, []);
    assert.equal(expectOk(await u.get('/api/v1/audit?action=webhook.delete')).entries.length, 1);
    // Another org does not see it.
    const other = await enterpriseOrg(gh);
    expectError(await as(gh, other).get(`/api/v1/webhooks/${made.webhook.id}/deliveries`), 404, 'not_found');
  });
});

describe('deliveries', () => {
  test('key.created arrives signed with the documented body', async () => {
    const s = await enterpriseOrg(gh);
    const made = await hook(gh, s, ['key.created']);
    const { key, raw_key: raw } = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'signed' }), 201);
    const [rec] = await poll(() => rx.of(made.label).length && rx.of(made.label), { what: 'a delivery' });
    assertSigned(rec, made.secret);
    assert.equal(rec.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(rec.json).sort(), ['created_at', 'data', 'id', 'org_id', 'type']);
    assert.equal(rec.json.type, 'key.created');
    assert.equal(rec.json.org_id, s.org.id);
    assert.equal(rec.json.data.key_id, key.id);
    assert.equal(rec.json.data.name, 'signed');
    assert.ok(!rec.body.includes(raw), 'the raw key is not sent');
    const log = await poll(async () => {
      const d = await deliveries(gh, s, made.webhook.id);
      return d.length && d;
    }, { what: 'the delivery log' });
    assert.equal(log[0].event_id, rec.json.id);
    assert.equal(log[0].type, 'key.created');
    assert.equal(log[0].status_code, 200);
    assert.equal(log[0].attempt, 1);
    assert.equal(log[0].error, null);
    // Revocation and rotation are other events: not subscribed, not sent.
    expectOk(await as(gh, s).post(`/api/v1/keys/${key.id}/rotate`, {}));
    expectOk(await as(gh, s).del(`/api/v1/keys/${key.id}`));
    await sleep(300);
    assert.equal(rx.of(made.label).length, 1);
  });

  test('rotation and revocation raise their own events', async () => {
    const s = await enterpriseOrg(gh);
    const made = await hook(gh, s, ['key.rotated', 'key.revoked']);
    const { key } = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'r' }), 201);
    expectOk(await as(gh, s).post(`/api/v1/keys/${key.id}/rotate`, {}));
    expectOk(await as(gh, s).del(`/api/v1/keys/${key.id}`));
    const got = await poll(() => rx.of(made.label).length >= 2 && rx.of(made.label), { what: 'two deliveries' });
    assert.deepEqual(got.map((r) => r.json.type).sort(), ['key.revoked', 'key.rotated']);
    for (const r of got) assertSigned(r, made.secret);
  });

  test('a 500 is retried; the log shows both attempts', async () => {
    const s = await enterpriseOrg(gh);
    const made = await hook(gh, s, ['key.created']);
    rx.answer(made.label, 500);
    await as(gh, s).post('/api/v1/keys', { name: 'retry' });
    const got = await poll(() => rx.of(made.label).length >= 2 && rx.of(made.label), { what: 'a retry' });
    assert.equal(got[0].headers['webhook-id'], got[1].headers['webhook-id'], 'the same event id');
    assertSigned(got[1], made.secret);
    const log = await poll(async () => {
      const d = await deliveries(gh, s, made.webhook.id);
      return d.length >= 2 && d;
    }, { what: 'two log entries' });
    // Newest first.
    assert.deepEqual(log.map((d) => [d.attempt, d.status_code]), [[2, 200], [1, 500]]);
    assert.equal(log[1].event_id, log[0].event_id);
    assert.equal(typeof log[1].error, 'string');
    await sleep(300);
    assert.equal(rx.of(made.label).length, 2, 'nothing after the success');
  });

  test('the test endpoint sends webhook.test to that webhook only', async () => {
    const s = await enterpriseOrg(gh);
    const a = await hook(gh, s, ['key.created']);
    const b = await hook(gh, s, ['key.created']);
    const res = expectOk(await as(gh, s).post(`/api/v1/webhooks/${a.webhook.id}/test`), 202);
    const [rec] = await poll(() => rx.of(a.label).length && rx.of(a.label), { what: 'the test delivery' });
    assert.equal(rec.json.type, 'webhook.test');
    assert.equal(rec.json.id, res.event_id);
    assertSigned(rec, a.secret);
    await sleep(200);
    assert.equal(rx.of(b.label).length, 0);
    expectError(await as(gh, s).post(`/api/v1/webhooks/${crypto.randomUUID()}/test`), 404, 'not_found');
  });

  test('deleting a webhook stops its retries and later events', async () => {
    const s = await enterpriseOrg(gh);
    const made = await hook(gh, s, ['key.created']);
    rx.answer(made.label, ...Array(50).fill(503));
    await as(gh, s).post('/api/v1/keys', { name: 'd1' });
    await poll(() => rx.of(made.label).length >= 1, { what: 'a first attempt' });
    expectOk(await as(gh, s).del(`/api/v1/webhooks/${made.webhook.id}`));
    await sleep(150);
    const seen = rx.of(made.label).length;
    await as(gh, s).post('/api/v1/keys', { name: 'd2' });
    await sleep(1200);
    assert.equal(rx.of(made.label).length, seen, 'nothing after the deletion');
  });

  test('removing a member raises key.revoked for each of their keys', async () => {
    const s = await enterpriseOrg(gh);
    const made = await hook(gh, s, ['key.revoked']);
    const inv = await invite(gh, s, { role: 'member' });
    const joined = await accept(gh, inv.invite_token);
    const mine = { token: joined.token };
    const ids = [];
    for (const name of ['m1', 'm2']) {
      const { key } = expectOk(await as(gh, mine).post('/api/v1/keys', { name }), 201);
      ids.push(key.id);
    }
    // Someone else's key stays as it is.
    expectOk(await as(gh, s).post('/api/v1/keys', { name: 'owner-key' }), 201);
    expectOk(await as(gh, s).del(`/api/v1/users/${inv.user.id}`));
    const got = await poll(() => rx.of(made.label).length >= 2 && rx.of(made.label), { what: 'two key.revoked' });
    await sleep(300);
    assert.equal(rx.of(made.label).length, 2, 'one event per key of the member, none for others');
    assert.deepEqual(got.map((r) => r.json.data.key_id).sort(), [...ids].sort());
    for (const r of got) {
      assert.equal(r.json.type, 'key.revoked');
      assert.equal(r.json.data.status, 'revoked');
      assertSigned(r, made.secret);
    }
  });

  test('member invited, joined and suspended', async () => {
    const s = await enterpriseOrg(gh);
    const made = await hook(gh, s, ['member.invited', 'member.joined', 'member.suspended']);
    const inv = await invite(gh, s, { role: 'member' });
    await accept(gh, inv.invite_token);
    expectOk(await as(gh, s).post(`/api/v1/users/${inv.user.id}/suspend`, {}));
    const got = await poll(() => rx.of(made.label).length >= 3 && rx.of(made.label), { what: 'three member events' });
    assert.deepEqual(got.map((r) => r.json.type).sort(), ['member.invited', 'member.joined', 'member.suspended']);
    for (const r of got) assert.equal(r.json.data.user_id, inv.user.id);
  });

  test('a blocked request raises guardrail.blocked', async () => {
    const s = await enterpriseOrg(gh);
    const label = `g-${hex(4)}`;
    expectOk(await as(gh, s).post('/api/v1/providers', {
      name: 'openai', base_url: up.base(label), api_key: `sk-up-${hex(12)}`,
    }), 201);
    expectOk(await as(gh, s).put('/api/v1/guardrails', {
      rules: [{ name: 'no-secrets', detector: 'terms', terms: ['project x'], action: 'block' }],
    }));
    const made = await hook(gh, s, ['guardrail.blocked']);
    const res = await proxyChat(gh, s.apiKey, { content: 'tell me about Project X', headers: { 'x-gatehouse-provider': 'openai' } });
    expectError(res, 400, 'guardrail_blocked');
    const [rec] = await poll(() => rx.of(made.label).length && rx.of(made.label), { what: 'the event' });
    assert.equal(rec.json.type, 'guardrail.blocked');
    assert.equal(rec.json.data.provider, 'openai');
    assert.deepEqual(rec.json.data.guardrails.map((g) => g.rule), ['no-secrets']);
  });

  test('five provider errors within a minute raise provider.errors once', async () => {
    const s = await enterpriseOrg(gh);
    const label = `p-${hex(4)}`;
    expectOk(await as(gh, s).post('/api/v1/providers', {
      name: 'openai', base_url: up.base(label), api_key: `sk-up-${hex(12)}`,
    }), 201);
    const made = await hook(gh, s, ['provider.errors']);
    const fail = () => proxyChat(gh, s.apiKey, { headers: { 'x-gatehouse-provider': 'openai', 'x-tiny-status': '500' } });
    for (let i = 0; i < 4; i++) assert.equal((await fail()).status, 500);
    await sleep(200);
    assert.equal(rx.of(made.label).length, 0, 'four are not a burst');
    assert.equal((await fail()).status, 500);
    const [rec] = await poll(() => rx.of(made.label).length && rx.of(made.label), { what: 'the event' });
    assert.equal(rec.json.type, 'provider.errors');
    assert.equal(rec.json.data.provider, 'openai');
    assert.equal(rec.json.data.last_status, 500);
    for (let i = 0; i < 6; i++) await fail();
    await sleep(300);
    assert.equal(rx.of(made.label).length, 1, 'quiet after a burst');
  });

  test('budget thresholds 50, 80 and 100 % are announced once each', async () => {
    const s = await enterpriseOrg(gh);
    const u = as(gh, s);
    const label = `b-${hex(4)}`;
    expectOk(await u.post('/api/v1/providers', {
      name: 'openai', base_url: up.base(label), api_key: `sk-up-${hex(12)}`,
    }), 201);
    expectOk(await u.put('/api/v1/pricing', {
      models: { 'budget-model': { input_per_mtok: 0, output_per_mtok: 1.0 } },
    }));
    const team = expectOk(await u.post('/api/v1/teams', { name: 'spenders', monthly_spend_limit_usd: 0.0001 }), 201);
    const key = expectOk(await u.post('/api/v1/keys', { name: 'team', team_id: team.id }), 201).raw_key;
    const made = await hook(gh, s, ['budget.threshold']);
    // Each request costs its completion tokens in micro-dollars: 100 is the cap.
    const spend = (tokens) => proxyChat(gh, key, {
      model: 'budget-model', headers: { 'x-gatehouse-provider': 'openai', 'x-tiny-completion-tokens': String(tokens) },
    });
    const events = () => rx.of(made.label).map((r) => r.json.data.threshold);
    for (const [tokens, expected] of [[30, []], [25, [50]], [30, [50, 80]], [10, [50, 80]], [10, [50, 80, 100]]]) {
      assert.equal((await spend(tokens)).status, 200);
      if (expected.length) await poll(() => events().length >= expected.length, { what: `thresholds ${expected}` });
      else await sleep(200);
      assert.deepEqual(events(), expected);
    }
    await sleep(300);
    assert.deepEqual(events(), [50, 80, 100], 'each once');
    const last = rx.of(made.label).at(-1).json.data;
    assert.equal(last.team_id, team.id);
    assert.ok(Math.abs(last.limit_usd - 0.0001) < 1e-12);
    assert.ok(Math.abs(last.spend_usd - 0.000105) < 1e-12);
  });
});

describe('durability', () => {
  test('an event queued while the receiver is down is delivered after a restart', async () => {
    const receiver = await startReceiver();
    const port = receiver.port;
    const first = await startGatehouse({ args: [...PROXY_ARGS, ...FAST] });
    let second;
    try {
      const s = await enterpriseOrg(first);
      const label = `r-${hex(4)}`;
      const made = expectOk(await first.api('POST', '/api/v1/webhooks', {
        token: s.token, body: { url: `http://127.0.0.1:${port}/hook/${label}`, events: ['key.created'] },
      }), 201);
      await receiver.close();
      expectOk(await first.api('POST', '/api/v1/keys', { token: s.token, body: { name: 'later' } }), 201);
      // Attempts fail (nobody listens) and are logged without a status.
      const failed = await poll(async () => {
        const d = await deliveries(first, s, made.webhook.id);
        return d.length >= 2 && d;
      }, { what: 'failed attempts' });
      assert.equal(failed[0].status_code, null);
      assert.equal(typeof failed[0].error, 'string');
      const { code } = await first.stop();
      assert.equal(code, 0);
      const back = await startReceiver(port);
      try {
        second = await startGatehouse({ dataDir: first.dataDir, database: first.database, args: [...PROXY_ARGS, ...FAST] });
        const [rec] = await poll(() => back.of(label).length && back.of(label), { timeoutMs: 10_000, what: 'the delivery after the restart' });
        assert.equal(rec.json.type, 'key.created');
        assertSigned(rec, made.secret);
      } finally {
        await back.close();
      }
    } finally {
      await second?.stop();
      await first.dispose();
    }
  });
});
