// The response cache: the plan gate, opting in per request
// (X-Gatehouse-Cache, X-Gatehouse-Cache-TTL) or per app, exact-match keys
// on the canonical body, hits served without the provider at no cost, orgs
// never sharing entries, streams left out, DELETE /api/v1/cache, metrics.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, expectError, expectOk, hex, signup, sleep, startGatehouse, streamRequest, waitForLog,
} from './harness.mjs';
import {
  allAudit, as, enterpriseOrg, promSamples, startTinyUpstream,
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

/// An org (enterprise unless asked) with provider `openai` on the tiny
/// upstream under a label of its own.
async function orgWithProvider({ plan = 'enterprise', label } = {}) {
  const s = plan === 'enterprise' ? await enterpriseOrg(gh) : await signup(gh);
  s.label = label ?? `cache-${hex(4)}`;
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(s.label), api_key: `sk-up-${hex(12)}`,
  }), 201);
  return s;
}

function chat(key, { body, cache, ttl, headers = {} } = {}) {
  const h = { ...headers };
  if (cache !== undefined) h['x-gatehouse-cache'] = cache;
  if (ttl !== undefined) h['x-gatehouse-cache-ttl'] = String(ttl);
  return gh.api('POST', '/v1/chat/completions', {
    key, headers: h, body: body ?? { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
  });
}

const calls = (s) => up.of(s.label).length;

describe('plan and validation', () => {
  test('free orgs get 403 plan_required when a request or an app asks for caching', async () => {
    const s = await orgWithProvider({ plan: 'free' });
    expectError(await chat(s.apiKey, { cache: 'on' }), 403, 'plan_required');
    expectError(await as(gh, s).post('/api/v1/apps', { name: 'A', cache: { enabled: true } }), 403, 'plan_required');
    expectError(await as(gh, s).del('/api/v1/cache'), 403, 'plan_required');
    assert.equal(calls(s), 0);
    // Asking for no caching needs no plan.
    const app = expectOk(await as(gh, s).post('/api/v1/apps', { name: 'B', cache: { enabled: false } }), 201);
    assert.deepEqual(app.cache, { enabled: false, ttl_seconds: 300 });
    const off = await chat(s.apiKey, { cache: 'off' });
    expectOk(off);
    assert.equal(off.headers['x-gatehouse-cache'], 'off');
    const plain = await chat(s.apiKey);
    expectOk(plain);
    assert.equal(plain.headers['x-gatehouse-cache'], undefined, 'no header when nothing asks');
  });

  test('bad headers and settings are refused naming them', async () => {
    const s = await orgWithProvider();
    expectError(await chat(s.apiKey, { cache: 'maybe' }), 400, 'invalid_request', 'X-Gatehouse-Cache');
    for (const ttl of ['0', '-1', 'soon', '604801', '1.5']) {
      expectError(await chat(s.apiKey, { cache: 'on', ttl }), 400, 'invalid_request', 'X-Gatehouse-Cache-TTL');
    }
    for (const [cache, field] of [
      [true, 'cache'], [{ enabled: 'yes' }, 'cache.enabled'], [{ ttl_seconds: 0 }, 'cache.ttl_seconds'],
      [{ enabled: true, ttl_seconds: 604801 }, 'cache.ttl_seconds'], [{ enabled: true, size: 1 }, 'cache.size'],
    ]) {
      expectError(await as(gh, s).post('/api/v1/apps', { name: 'A', cache }), 400, 'invalid_request', field);
    }
    assert.equal(calls(s), 0);
  });
});

describe('caching', () => {
  test('a repeated request is a hit: no provider call, same answer, logged at no cost', async () => {
    const s = await orgWithProvider();
    const first = await chat(s.apiKey, { cache: 'on' });
    expectOk(first);
    assert.equal(first.headers['x-gatehouse-cache'], 'miss');
    assert.equal(calls(s), 1);
    const second = await chat(s.apiKey, { cache: 'on' });
    expectOk(second);
    assert.equal(second.headers['x-gatehouse-cache'], 'hit');
    assert.equal(second.headers['x-gatehouse-provider'], 'openai');
    assert.equal(calls(s), 1, 'the provider was not called for the hit');
    assert.deepEqual(second.json, first.json);
    assert.notEqual(second.headers['x-gatehouse-request-id'], first.headers['x-gatehouse-request-id']);
    // The same body with its members in another order is the same request.
    const reordered = await chat(s.apiKey, {
      cache: 'on', body: { messages: [{ content: 'hi', role: 'user' }], model: 'openai/gpt-4o-mini' },
    });
    assert.equal(reordered.headers['x-gatehouse-cache'], 'hit');
    // Another body, another model: misses.
    const other = await chat(s.apiKey, {
      cache: 'on', body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] },
    });
    assert.equal(other.headers['x-gatehouse-cache'], 'miss');
    const model = await chat(s.apiKey, {
      cache: 'on', body: { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(model.headers['x-gatehouse-cache'], 'miss');
    assert.equal(calls(s), 3);
    const missLog = await waitForLog(gh, s, first.headers['x-gatehouse-request-id']);
    assert.equal(missLog.cache, 'miss');
    assert.ok(missLog.cost_usd > 0, JSON.stringify(missLog));
    const hitLog = await waitForLog(gh, s, second.headers['x-gatehouse-request-id']);
    assert.equal(hitLog.cache, 'hit');
    assert.equal(hitLog.status, 200);
    assert.equal(hitLog.cost_usd, 0);
    assert.equal(hitLog.tokens_in, 0);
    assert.equal(hitLog.tokens_out, 0);
  });

  test('X-Gatehouse-Cache: off opts out; without a header nothing is cached', async () => {
    const s = await orgWithProvider();
    expectOk(await chat(s.apiKey, { cache: 'on' }));
    const off = await chat(s.apiKey, { cache: 'OFF' });
    expectOk(off);
    assert.equal(off.headers['x-gatehouse-cache'], 'off');
    const plain = await chat(s.apiKey);
    assert.equal(plain.headers['x-gatehouse-cache'], undefined);
    assert.equal(calls(s), 3);
    const log = await waitForLog(gh, s, off.headers['x-gatehouse-request-id']);
    assert.equal(log.cache, null);
  });

  test('an app with the cache enabled caches its keys\' requests', async () => {
    const s = await orgWithProvider();
    const app = expectOk(await as(gh, s).post('/api/v1/apps', {
      name: 'Cached', cache: { enabled: true, ttl_seconds: 60 },
    }), 201);
    assert.deepEqual(app.cache, { enabled: true, ttl_seconds: 60 });
    const { raw_key: key } = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'k', app_id: app.id }), 201);
    assert.equal((await chat(key)).headers['x-gatehouse-cache'], 'miss');
    assert.equal((await chat(key)).headers['x-gatehouse-cache'], 'hit');
    assert.equal((await chat(key, { cache: 'off' })).headers['x-gatehouse-cache'], 'off');
    assert.equal(calls(s), 2);
    // Switched off, the app's requests go to the provider again.
    expectOk(await as(gh, s).put(`/api/v1/apps/${app.id}`, { cache: { enabled: false } }));
    const res = await chat(key);
    assert.equal(res.headers['x-gatehouse-cache'], undefined);
    assert.equal(calls(s), 3);
  });

  test('entries expire after their TTL', async () => {
    const s = await orgWithProvider();
    assert.equal((await chat(s.apiKey, { cache: 'on', ttl: 1 })).headers['x-gatehouse-cache'], 'miss');
    assert.equal((await chat(s.apiKey, { cache: 'on', ttl: 1 })).headers['x-gatehouse-cache'], 'hit');
    await sleep(1100);
    assert.equal((await chat(s.apiKey, { cache: 'on', ttl: 1 })).headers['x-gatehouse-cache'], 'miss');
    assert.equal(calls(s), 2);
  });

  test('orgs never share entries, even for the same provider and body', async () => {
    const label = `cache-shared-${hex(3)}`;
    const a = await orgWithProvider({ label });
    const b = await orgWithProvider({ label });
    assert.equal((await chat(a.apiKey, { cache: 'on' })).headers['x-gatehouse-cache'], 'miss');
    assert.equal((await chat(b.apiKey, { cache: 'on' })).headers['x-gatehouse-cache'], 'miss');
    assert.equal((await chat(b.apiKey, { cache: 'on' })).headers['x-gatehouse-cache'], 'hit');
    assert.equal(up.of(label).length, 2);
  });

  test('streams are not cached and say so', async () => {
    const s = await orgWithProvider();
    const res = await streamRequest(gh.url, '/v1/chat/completions', {
      key: s.apiKey,
      headers: { 'x-gatehouse-cache': 'on' },
      body: { model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    });
    // The tiny upstream answers whole JSON even to a stream request.
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-gatehouse-cache'], 'off');
  });

  test('a hit reserves no budget: it is served even when the team budget is spent', async () => {
    const s = await orgWithProvider();
    const team = expectOk(await as(gh, s).post('/api/v1/teams', { name: 'T', monthly_spend_limit_usd: 0 }), 201);
    const { raw_key: teamKey } = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'k', team_id: team.id }), 201);
    expectOk(await chat(s.apiKey, { cache: 'on' }));
    const hit = await chat(teamKey, { cache: 'on' });
    expectOk(hit);
    assert.equal(hit.headers['x-gatehouse-cache'], 'hit');
    const miss = await chat(teamKey, {
      cache: 'on', body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'new' }] },
    });
    expectError(miss, 429, 'budget_exceeded');
    assert.equal(calls(s), 1);
  });

  test('DELETE /api/v1/cache empties the org\'s entries only; metrics count hits and misses', async () => {
    const a = await orgWithProvider();
    const b = await orgWithProvider();
    expectOk(await chat(a.apiKey, { cache: 'on' }));
    expectOk(await chat(a.apiKey, { cache: 'on', body: { model: 'openai/gpt-4o', messages: [] } }));
    expectOk(await chat(b.apiKey, { cache: 'on' }));
    assert.equal((await chat(a.apiKey, { cache: 'on' })).headers['x-gatehouse-cache'], 'hit');
    assert.deepEqual(expectOk(await as(gh, a).del('/api/v1/cache')), { deleted: 2 });
    assert.deepEqual(expectOk(await as(gh, a).del('/api/v1/cache')), { deleted: 0 });
    // Each emptying is audited, with what it removed.
    const emptied = (await allAudit(gh, a, { action: 'cache.delete' }))
      .filter((e) => e.action === 'cache.delete');
    assert.equal(emptied.length, 2);
    assert.deepEqual(emptied.map((e) => e.after.deleted).sort(), [0, 2]);
    assert.equal((await chat(a.apiKey, { cache: 'on' })).headers['x-gatehouse-cache'], 'miss');
    assert.equal((await chat(b.apiKey, { cache: 'on' })).headers['x-gatehouse-cache'], 'hit');
    const text = (await gh.api('GET', '/api/v1/metrics', { token: a.token })).text;
    const samples = promSamples(text);
    const value = (name) => samples.find((x) => x.name === name)?.value;
    assert.equal(value('gatehouse_cache_hits_total'), 1, text);
    assert.equal(value('gatehouse_cache_misses_total'), 3, text);
  });
});
