// The price table (built-in prices, per-org overrides) and what it costs:
// cost_usd on logs and usage of enterprise orgs, `unpriced` for unknown models.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, createProvider, expectError, expectOk, hex, setPlan, signup, startGatehouse, waitForLog,
} from './harness.mjs';
import { startMockUpstream } from './mock_upstream.mjs';

let gh;
let mock;

before(async () => {
  mock = await startMockUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await mock?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

const getPricing = (s) => gh.api('GET', '/api/v1/pricing', { token: s.token });
const putPricing = (s, body) => gh.api('PUT', '/api/v1/pricing', { token: s.token, body });

async function org(plan) {
  const s = await signup(gh);
  if (plan !== 'free') await setPlan(gh, s.org.id, plan);
  await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(16)}` });
  return s;
}

/// One chat request with the given usage; returns its log entry.
async function costOf(s, model, tokensIn, tokensOut) {
  const res = await gh.api('POST', '/v1/chat/completions', {
    key: s.apiKey,
    headers: { 'x-gatehouse-provider': 'openai', 'x-mock-usage': `${tokensIn},${tokensOut}` },
    body: { model, messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(res.status, 200, res.text);
  const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
  assert.equal(entry.tokens_in, tokensIn);
  assert.equal(entry.tokens_out, tokensOut);
  return entry;
}

/// Money has at most 6 decimals; compares with a tolerance for binary floats.
function assertUsd(actual, expected, what = 'cost_usd') {
  assert.equal(typeof actual, 'number', `${what} is ${JSON.stringify(actual)}`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what} ${actual}, expected ${expected}`);
  assert.equal(Number(actual.toFixed(6)), actual, `${what} ${actual} has more than 6 decimals`);
}

function assertTable(json) {
  assert.deepEqual(Object.keys(json), ['models']);
  assert.ok(json.models && typeof json.models === 'object' && !Array.isArray(json.models));
  for (const [name, p] of Object.entries(json.models)) {
    assert.ok(name.length > 0);
    assert.deepEqual(Object.keys(p).sort(), ['input_per_mtok', 'output_per_mtok', 'source'], name);
    assert.equal(typeof p.input_per_mtok, 'number');
    assert.equal(typeof p.output_per_mtok, 'number');
    assert.ok(p.input_per_mtok >= 0 && p.output_per_mtok >= 0, name);
    assert.ok(['builtin', 'override'].includes(p.source), `${name}: source ${p.source}`);
  }
  return json.models;
}

describe('GET /api/v1/pricing', () => {
  test('built-in prices for well-known models', async () => {
    const s = await signup(gh);
    const models = assertTable(expectOk(await getPricing(s)));
    assert.deepEqual(models['gpt-4o-mini'], { input_per_mtok: 0.15, output_per_mtok: 0.6, source: 'builtin' });
    assert.ok(Object.keys(models).length > 1, 'only one built-in price');
    for (const [name, p] of Object.entries(models)) assert.equal(p.source, 'builtin', name);
  });

  test('needs a session token', async () => {
    const s = await signup(gh);
    expectError(await gh.api('GET', '/api/v1/pricing'), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/pricing', { key: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('PUT', '/api/v1/pricing', { key: s.apiKey, body: { models: {} } }), 401, 'unauthorized');
  });
});

describe('PUT /api/v1/pricing', () => {
  test('free org -> 403 plan_required, nothing changes', async () => {
    const s = await signup(gh);
    const before = expectOk(await getPricing(s));
    expectError(await putPricing(s, { models: { 'gpt-4o-mini': { input_per_mtok: 1, output_per_mtok: 2 } } }),
      403, 'plan_required');
    assert.deepEqual(expectOk(await getPricing(s)), before);
  });

  test('enterprise: overrides replace the previous ones', async () => {
    const s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    const builtin = expectOk(await getPricing(s)).models;

    const first = expectOk(await putPricing(s, {
      models: {
        'gpt-4o-mini': { input_per_mtok: 1.0, output_per_mtok: 2.0 },
        'my-finetune': { input_per_mtok: 0.5, output_per_mtok: 0 },
      },
    }));
    const models = assertTable(first);
    assert.deepEqual(models['gpt-4o-mini'], { input_per_mtok: 1, output_per_mtok: 2, source: 'override' });
    assert.deepEqual(models['my-finetune'], { input_per_mtok: 0.5, output_per_mtok: 0, source: 'override' });
    for (const [name, p] of Object.entries(builtin)) {
      if (name !== 'gpt-4o-mini') assert.deepEqual(models[name], p, `${name} is untouched`);
    }
    assert.deepEqual(expectOk(await getPricing(s)), first, 'PUT answers what GET shows');

    // A second PUT replaces the whole set of overrides.
    const second = expectOk(await putPricing(s, { models: { 'other-model': { input_per_mtok: 3, output_per_mtok: 4 } } }));
    assert.deepEqual(second.models['gpt-4o-mini'], builtin['gpt-4o-mini'], 'the old override is gone');
    assert.equal(second.models['my-finetune'], undefined);
    assert.deepEqual(second.models['other-model'], { input_per_mtok: 3, output_per_mtok: 4, source: 'override' });

    const cleared = expectOk(await putPricing(s, { models: {} }));
    assert.deepEqual(cleared, { models: builtin });
    assert.deepEqual(expectOk(await getPricing(s)), { models: builtin });
  });

  test('bad bodies -> 400, nothing changes', async () => {
    const s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    const kept = { models: { 'gpt-4o-mini': { input_per_mtok: 7, output_per_mtok: 8 } } };
    expectOk(await putPricing(s, kept));
    const before = expectOk(await getPricing(s));
    const good = { input_per_mtok: 1, output_per_mtok: 1 };
    for (const [body, field] of [
      [{ models: { m: { input_per_mtok: -1, output_per_mtok: 1 } } }, 'input_per_mtok'],
      [{ models: { m: { input_per_mtok: 1, output_per_mtok: -0.01 } } }, 'output_per_mtok'],
      [{ models: { m: { input_per_mtok: '1', output_per_mtok: 1 } } }, 'input_per_mtok'],
      [{ models: { m: { input_per_mtok: 1, output_per_mtok: null } } }, 'output_per_mtok'],
      [{ models: { m: { input_per_mtok: 1, output_per_mtok: true } } }, 'output_per_mtok'],
      [{ models: { m: { input_per_mtok: 1 } } }, 'output_per_mtok'],
      [{ models: { m: { output_per_mtok: 1 } } }, 'input_per_mtok'],
      [{ models: { m: { ...good, currency: 'EUR' } } }, 'currency'],
      [{ models: { m: 5 } }, 'm'],
      [{ models: { ok: good, bad: { input_per_mtok: -5, output_per_mtok: 1 } } }, 'input_per_mtok'],
      [{ models: [] }, 'models'],
      [{ models: 'gpt-4o-mini' }, 'models'],
      [{}, 'models'],
      [{ models: {}, extra: 1 }, 'extra'],
    ]) {
      expectError(await putPricing(s, body), 400, 'invalid_request', field);
    }
    expectError(await gh.api('PUT', '/api/v1/pricing', { token: s.token, raw: '{"models": {' }), 400, 'invalid_request');
    assert.deepEqual(expectOk(await getPricing(s)), before);
  });

  test("one org's overrides do not touch another's table", async () => {
    const a = await signup(gh);
    const b = await signup(gh);
    await setPlan(gh, a.org.id, 'enterprise');
    expectOk(await putPricing(a, { models: { 'gpt-4o-mini': { input_per_mtok: 9, output_per_mtok: 9 } } }));
    assert.equal(expectOk(await getPricing(b)).models['gpt-4o-mini'].source, 'builtin');
  });
});

describe('cost', () => {
  test('enterprise: tokens x built-in prices', async () => {
    const s = await org('enterprise');
    const entry = await costOf(s, 'gpt-4o-mini', 1000, 2000);
    // 1000 x 0.15 / 1e6 + 2000 x 0.6 / 1e6
    assertUsd(entry.cost_usd, 0.00135);
    assert.equal(entry.unpriced, false);
  });

  test('enterprise: tokens x override prices; earlier costs stay', async () => {
    const s = await org('enterprise');
    const before = await costOf(s, 'gpt-4o-mini', 1000, 2000);
    expectOk(await putPricing(s, { models: { 'gpt-4o-mini': { input_per_mtok: 1.0, output_per_mtok: 2.0 } } }));
    const entry = await costOf(s, 'gpt-4o-mini', 10, 20);
    assertUsd(entry.cost_usd, 0.00005);
    assert.equal(entry.unpriced, false);
    expectOk(await putPricing(s, {
      models: {
        'gpt-4o-mini': { input_per_mtok: 1.0, output_per_mtok: 2.0 },
        'my-finetune': { input_per_mtok: 3, output_per_mtok: 5 },
      },
    }));
    const custom = await costOf(s, 'my-finetune', 100, 10);
    // 100 x 3 / 1e6 + 10 x 5 / 1e6
    assertUsd(custom.cost_usd, 0.00035);
    assert.equal(custom.unpriced, false);

    const { logs } = expectOk(await gh.api('GET', '/api/v1/logs', { token: s.token }));
    assertUsd(logs.find((l) => l.id === before.id).cost_usd, 0.00135, 'the earlier cost');
  });

  test('enterprise: an unknown model costs 0 and is flagged unpriced', async () => {
    const s = await org('enterprise');
    const entry = await costOf(s, 'mystery-model-x', 500, 500);
    assert.equal(entry.cost_usd, 0);
    assert.equal(entry.unpriced, true);
  });

  test('enterprise usage carries cost_usd per group and in the totals', async () => {
    const s = await org('enterprise');
    expectOk(await putPricing(s, { models: { 'gpt-4o-mini': { input_per_mtok: 1.0, output_per_mtok: 2.0 } } }));
    await costOf(s, 'gpt-4o-mini', 10, 20);
    await costOf(s, 'gpt-4o-mini', 100, 200);
    await costOf(s, 'mystery-model-x', 7, 7);
    const json = expectOk(await gh.api('GET', '/api/v1/usage?group_by=model', { token: s.token }));
    const rows = Object.fromEntries(json.usage.map((r) => [r.group, r]));
    assert.deepEqual(Object.keys(rows['gpt-4o-mini']).sort(),
      ['cost_usd', 'group', 'requests', 'tokens_in', 'tokens_out', 'unpriced_requests']);
    assert.equal(rows['gpt-4o-mini'].requests, 2);
    assertUsd(rows['gpt-4o-mini'].cost_usd, 0.00055);
    assert.equal(rows['gpt-4o-mini'].unpriced_requests, 0);
    assert.equal(rows['mystery-model-x'].cost_usd, 0);
    assert.equal(rows['mystery-model-x'].unpriced_requests, 1);
    assert.deepEqual(Object.keys(json.totals).sort(), ['cost_usd', 'requests', 'tokens_in', 'tokens_out']);
    assertUsd(json.totals.cost_usd, 0.00055, 'totals.cost_usd');
    assert.equal(json.totals.requests, 3);
  });

  test('free orgs see no cost_usd, but unpriced is still flagged', async () => {
    const s = await org('free');
    const priced = await costOf(s, 'gpt-4o-mini', 1000, 2000);
    assert.ok(!('cost_usd' in priced), 'cost_usd on a free org');
    assert.equal(priced.unpriced, false);
    const unknown = await costOf(s, 'mystery-model-x', 1, 1);
    assert.ok(!('cost_usd' in unknown));
    assert.equal(unknown.unpriced, true);
    const json = expectOk(await gh.api('GET', '/api/v1/usage?group_by=model', { token: s.token }));
    for (const row of json.usage) assert.ok(!('cost_usd' in row), 'cost_usd in a free usage row');
    assert.ok(!('cost_usd' in json.totals), 'cost_usd in free usage totals');
  });
});
