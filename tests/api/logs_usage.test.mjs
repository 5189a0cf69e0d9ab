// Request logs and usage analytics: what a proxied request leaves behind,
// filters, pagination, bodies, usage grouping and key counters.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, UUID_V7, assertRecentTimestamp, createKey, createProvider, expectError, expectOk, getLogs, hex, poll,
  randomUuid, setPlan, signup, startGatehouse, waitForLog,
} from './harness.mjs';
import { closedPortUrl, startMockUpstream } from './mock_upstream.mjs';

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

const LOG_FIELDS = ['app_id', 'cache', 'created_at', 'end_user', 'env', 'error_code', 'guardrails', 'id', 'key_id', 'key_prefix',
  'latency_ms',
  'metadata', 'method', 'model', 'path', 'provider', 'request_id', 'requested_model', 'session_id', 'status', 'stream', 'team_id',
  'tokens_in', 'tokens_out', 'translated', 'ttft_ms', 'unpriced', 'usage_estimated'];

/// An org with providers `openai` and `anthropic` on the mock (and `dead`
/// on a closed port when asked). The mock answers every API; `anthropic` is
/// declared OpenAI-format so that chat completions reach it untranslated.
async function setup({ plan = 'free', dead = false } = {}) {
  const s = await signup(gh);
  if (plan !== 'free') await setPlan(gh, s.org.id, plan);
  await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(16)}` });
  await createProvider(gh, s, {
    name: 'anthropic', base_url: `${mock.url}/p/anthropic`, api_key: `sk-up-${hex(16)}`,
    auth_header: 'x-api-key', auth_scheme: '', format: 'openai',
  });
  if (dead) await createProvider(gh, s, { name: 'dead', base_url: await closedPortUrl(), api_key: `sk-up-${hex(16)}` });
  const keys = expectOk(await gh.api('GET', '/api/v1/keys', { token: s.token })).keys;
  s.keyId = keys.find((k) => k.name === 'Default').id;
  return s;
}

/// One chat completion; returns the answer (status asserted when given).
async function chat(key, { model = 'gpt-4o-mini', headers = {}, status = 200, body = {} } = {}) {
  const res = await gh.api('POST', '/v1/chat/completions', {
    key, headers, body: { model, messages: [{ role: 'user', content: 'hi' }], ...body },
  });
  if (status !== null) assert.equal(res.status, status, res.text);
  return res;
}

const rid = (res) => res.headers['x-gatehouse-request-id'];

async function logsOf(s, query = {}) {
  return expectOk(await getLogs(gh, s, query));
}

/// Waits until the org has `n` log entries matching `query`.
async function waitForCount(s, n, query = {}) {
  return poll(async () => {
    const { logs } = await logsOf(s, { limit: 500, ...query });
    return logs.length === n ? logs : false;
  }, { what: `${n} log entries for ${JSON.stringify(query)}` });
}

describe('log entries', () => {
  let s;
  before(async () => {
    s = await setup({ dead: true });
  });

  test('a non-streaming OpenAI request', async () => {
    const res = await chat(s.apiKey);
    const entry = await waitForLog(gh, s, rid(res));
    assert.deepEqual(Object.keys(entry).sort(), LOG_FIELDS);
    assert.match(entry.id, UUID_V7);
    assert.match(entry.request_id, UUID_V7);
    // Time-ordered: the first 48 bits are the entry's creation time.
    assert.ok(Math.abs(parseInt(entry.id.replace('-', '').slice(0, 12), 16)
      - Date.parse(entry.created_at)) < 1000, entry.id);
    assertRecentTimestamp(entry.created_at);
    assert.deepEqual({ ...entry, id: null, created_at: null, latency_ms: null, ttft_ms: null }, {
      id: null, created_at: null, latency_ms: null, ttft_ms: null,
      request_id: rid(res), key_id: s.keyId, key_prefix: s.apiKey.slice(0, 12), app_id: null, team_id: null,
      provider: 'openai', model: 'gpt-4o-mini', method: 'POST', path: '/v1/chat/completions', status: 200,
      error_code: null, stream: false, tokens_in: 10, tokens_out: 20, usage_estimated: false, unpriced: false,
      session_id: null, end_user: null, metadata: null, env: null, guardrails: [],
      requested_model: null, cache: null, translated: null,
    });
    assert.equal(typeof entry.latency_ms, 'number');
    assert.ok(entry.latency_ms >= 0);
    assert.ok(entry.ttft_ms === null || (typeof entry.ttft_ms === 'number' && entry.ttft_ms <= entry.latency_ms));
  });

  test('the path is logged without its query string', async () => {
    const res = await gh.api('POST', '/v1/chat/completions?api-version=1&secret-ish=abc', {
      key: s.apiKey, body: { model: 'gpt-4o-mini', messages: [] },
    });
    const entry = await waitForLog(gh, s, rid(res));
    assert.equal(entry.path, '/v1/chat/completions');
  });

  test('session, end user and metadata from the X-Gatehouse-* headers', async () => {
    const metadata = { feature: 'search', attempt: 2, nested: { ok: true, list: [1, 'a'] } };
    const res = await chat(s.apiKey, {
      headers: {
        'x-gatehouse-session-id': 'sess-42', 'x-gatehouse-user-id': 'user-7',
        'x-gatehouse-metadata': JSON.stringify(metadata),
      },
    });
    const entry = await waitForLog(gh, s, rid(res));
    assert.equal(entry.session_id, 'sess-42');
    assert.equal(entry.end_user, 'user-7');
    assert.deepEqual(entry.metadata, metadata);
  });

  test('an Anthropic request: input and output tokens', async () => {
    const format = (f) => gh.api('PUT', '/api/v1/providers/anthropic', { token: s.token, body: { format: f } });
    expectOk(await format('anthropic'));
    const res = await gh.api('POST', '/v1/messages', {
      key: s.apiKey, body: { model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
    });
    expectOk(await format('openai'));
    assert.equal(res.status, 200);
    const entry = await waitForLog(gh, s, rid(res));
    assert.equal(entry.provider, 'anthropic');
    assert.equal(entry.model, 'claude-3-5-haiku-latest');
    assert.equal(entry.path, '/v1/messages');
    assert.equal(entry.tokens_in, 12);
    assert.equal(entry.tokens_out, 34);
    assert.equal(entry.usage_estimated, false);
  });

  test('provider/model logs the upstream model', async () => {
    const res = await chat(s.apiKey, { model: 'anthropic/claude-sonnet-4-5' });
    const entry = await waitForLog(gh, s, rid(res));
    assert.equal(entry.provider, 'anthropic');
    assert.equal(entry.model, 'claude-sonnet-4-5');
  });

  test('embeddings: prompt tokens only', async () => {
    const res = await gh.api('POST', '/v1/embeddings', {
      key: s.apiKey, body: { model: 'text-embedding-3-small', input: 'hello' }, headers: { 'x-mock-usage': '9,0' },
    });
    assert.equal(res.status, 200);
    const entry = await waitForLog(gh, s, rid(res));
    assert.equal(entry.tokens_in, 9);
    assert.equal(entry.tokens_out, 0);
    assert.equal(entry.path, '/v1/embeddings');
  });

  test('a relayed upstream error is logged with its status', async () => {
    const res = await chat(s.apiKey, { headers: { 'x-mock-status': '500' }, status: 500 });
    const entry = await waitForLog(gh, s, rid(res));
    assert.equal(entry.status, 500);
    assert.equal(entry.provider, 'openai');
  });

  test('502 and 504 are logged with status and error code', async () => {
    const bad = await chat(s.apiKey, { headers: { 'x-gatehouse-provider': 'dead' }, status: 502 });
    const slow = await chat(s.apiKey, { headers: { 'x-mock-delay-ms': '3000' }, status: 504 });
    const e502 = await waitForLog(gh, s, rid(bad));
    assert.equal(e502.status, 502);
    assert.equal(e502.error_code, 'upstream_error');
    assert.equal(e502.provider, 'dead');
    assert.equal(e502.model, 'gpt-4o-mini');
    const e504 = await waitForLog(gh, s, rid(slow));
    assert.equal(e504.status, 504);
    assert.equal(e504.error_code, 'upstream_timeout');
    assert.equal(e504.provider, 'openai');
    assert.ok(e504.latency_ms >= 1500, `latency ${e504.latency_ms} ms`);
  });

  test('denied requests leave no log entry', async () => {
    const scoped = await createKey(gh, s, { name: 'scoped', scopes: ['provider:anthropic'] });
    const doomed = await createKey(gh, s, { name: 'doomed' });
    expectOk(await gh.api('DELETE', `/api/v1/keys/${doomed.key.id}`, { token: s.token }));
    await chat(scoped.raw_key, { status: 403 });
    await chat(doomed.raw_key, { status: 401 });
    // A request logged after the denied ones: once it shows, they would have.
    const ok = await chat(scoped.raw_key, { model: 'claude-3-5-haiku-latest' });
    await waitForLog(gh, s, rid(ok));
    const { logs } = await logsOf(s, { key_id: scoped.key.id });
    assert.deepEqual(logs.map((l) => l.request_id), [rid(ok)]);
    assert.deepEqual((await logsOf(s, { key_id: doomed.key.id })).logs, []);
  });
});

describe('filters and pagination', () => {
  let s;
  let other;
  const ids = [];
  before(async () => {
    s = await setup();
    other = await createKey(gh, s, { name: 'other-key' });
    // Five requests, one after the other, with distinguishable fields.
    const plan = [
      { key: s.apiKey, model: 'gpt-4o-mini', headers: { 'x-gatehouse-session-id': 'sess-a' } },
      { key: s.apiKey, model: 'gpt-4o', headers: { 'x-gatehouse-session-id': 'sess-a' } },
      { key: other.raw_key, model: 'claude-3-5-haiku-latest', headers: {} },
      { key: other.raw_key, model: 'gpt-4o-mini', headers: { 'x-mock-status': '429' }, status: 429 },
      { key: s.apiKey, model: 'gpt-4o-mini', headers: { 'x-gatehouse-session-id': 'sess-b' } },
    ];
    for (const p of plan) {
      const res = await chat(p.key, { model: p.model, headers: p.headers, status: p.status ?? 200 });
      ids.push(rid(res));
      await waitForLog(gh, s, rid(res));
    }
  });

  const requestIds = (logs) => logs.map((l) => l.request_id);

  test('newest first', async () => {
    const { logs, next_cursor } = await logsOf(s);
    assert.deepEqual(requestIds(logs), [...ids].reverse());
    assert.equal(next_cursor, null);
    for (let i = 1; i < logs.length; i++) {
      assert.ok(Date.parse(logs[i - 1].created_at) >= Date.parse(logs[i].created_at), 'not sorted newest first');
    }
  });

  test('pages of 2 with a cursor', async () => {
    const seen = [];
    let cursor;
    const sizes = [];
    for (let page = 0; page < 10; page++) {
      const q = { limit: 2, ...(cursor ? { cursor } : {}) };
      const json = await logsOf(s, q);
      assert.deepEqual(Object.keys(json).sort(), ['logs', 'next_cursor']);
      sizes.push(json.logs.length);
      seen.push(...requestIds(json.logs));
      if (json.next_cursor === null) break;
      assert.equal(typeof json.next_cursor, 'string');
      assert.ok(json.next_cursor.length > 0);
      cursor = json.next_cursor;
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test('a cursor keeps working when newer entries arrive', async () => {
    const first = await logsOf(s, { limit: 2, key_id: s.keyId });
    const fresh = await createKey(gh, s, { name: 'late' });
    const res = await chat(fresh.raw_key);
    await waitForLog(gh, s, rid(res));
    const second = await logsOf(s, { limit: 2, key_id: s.keyId, cursor: first.next_cursor });
    assert.deepEqual([...requestIds(first.logs), ...requestIds(second.logs)], [ids[4], ids[1], ids[0]]);
  });

  test('filters', async () => {
    const check = async (query, expected) => {
      const { logs } = await logsOf(s, query);
      assert.deepEqual(requestIds(logs), expected.map((i) => ids[i]), JSON.stringify(query));
    };
    await check({ key_id: s.keyId }, [4, 1, 0]);
    await check({ key_id: other.key.id }, [3, 2]);
    await check({ provider: 'anthropic' }, [2]);
    await check({ model: 'gpt-4o-mini', key_id: s.keyId }, [4, 0]);
    await check({ model: 'gpt-4o' }, [1]);
    await check({ status: '429' }, [3]);
    await check({ session_id: 'sess-a' }, [1, 0]);
    await check({ session_id: 'sess-b', model: 'gpt-4o' }, []);
    await check({ app_id: randomUuid() }, []);
    await check({ team_id: randomUuid() }, []);
    await check({ key_id: randomUuid() }, []);
    await check({ provider: 'nope' }, []);
    await check({ status: '200', key_id: other.key.id }, [2]);
  });

  test('from and to', async () => {
    const { logs } = await logsOf(s);
    const byId = Object.fromEntries(logs.map((l) => [l.request_id, l]));
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    const all = await logsOf(s, { from: hourAgo, to: inAnHour, key_id: s.keyId });
    assert.deepEqual(requestIds(all.logs), [ids[4], ids[1], ids[0]]);
    assert.deepEqual((await logsOf(s, { from: inAnHour })).logs, []);
    assert.deepEqual((await logsOf(s, { to: hourAgo })).logs, []);
    // Offsets are understood, too.
    const plus = new Date(Date.now() - 3600_000).toISOString().replace('Z', '+00:00');
    assert.equal((await logsOf(s, { from: plus, key_id: s.keyId })).logs.length, 3);
    // from is inclusive: the newest entry's own time still finds it.
    const newest = byId[ids[4]] ? byId[ids[4]].created_at : null;
    assert.ok(newest);
    assert.ok(requestIds((await logsOf(s, { from: newest, key_id: s.keyId })).logs).includes(ids[4]));
  });

  test('bad parameters -> 400 naming them', async () => {
    for (const [query, name] of [
      [{ limit: '0' }, 'limit'], [{ limit: '501' }, 'limit'], [{ limit: 'ten' }, 'limit'], [{ limit: '-1' }, 'limit'],
      [{ limit: '2.5' }, 'limit'], [{ cursor: 'garbage!' }, 'cursor'], [{ cursor: hex(12) }, 'cursor'],
      [{ from: 'yesterday' }, 'from'], [{ from: '2026-13-01T00:00:00Z' }, 'from'], [{ to: '1700000000' }, 'to'],
      [{ status: 'ok' }, 'status'],
    ]) {
      expectError(await getLogs(gh, s, query), 400, 'invalid_request', name);
    }
    assert.equal((await logsOf(s, { limit: '500' })).logs.length, 6);
    assert.equal((await logsOf(s, { limit: '1' })).logs.length, 1);
  });

  test("another org sees none of these entries", async () => {
    const b = await signup(gh);
    assert.deepEqual(await logsOf(b), { logs: [], next_cursor: null });
    assert.deepEqual((await logsOf(b, { key_id: s.keyId })).logs, []);
  });

  test('needs a session token', async () => {
    expectError(await gh.api('GET', '/api/v1/logs'), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/logs', { key: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/usage', { key: s.apiKey }), 401, 'unauthorized');
  });
});

describe('default page size', () => {
  test('50 entries a page unless limit says otherwise', async () => {
    const s = await setup();
    for (let batch = 0; batch < 6; batch++) {
      await Promise.all(Array.from({ length: 10 }, () => chat(s.apiKey)));
    }
    const logs = await waitForCount(s, 60);
    assert.equal(logs.length, 60);
    const page = await logsOf(s);
    assert.equal(page.logs.length, 50);
    assert.equal(typeof page.next_cursor, 'string');
    const rest = await logsOf(s, { cursor: page.next_cursor });
    assert.equal(rest.logs.length, 10);
    assert.equal(rest.next_cursor, null);
    const all = new Set([...page.logs, ...rest.logs].map((l) => l.id));
    assert.equal(all.size, 60);
  });
});

describe('request and response bodies', () => {
  test('only while the org has log_bodies on', async () => {
    const s = await setup();
    const off = await chat(s.apiKey);
    const offEntry = await waitForLog(gh, s, rid(off));
    assert.ok(!('request_body' in offEntry) && !('response_body' in offEntry), 'bodies logged without log_bodies');

    expectOk(await gh.api('PUT', '/api/v1/org', { token: s.token, body: { settings: { log_bodies: true } } }));
    const raw = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `remember ${hex(4)}` }] });
    const on = await gh.api('POST', '/v1/chat/completions', { key: s.apiKey, raw });
    assert.equal(on.status, 200);
    const entry = await waitForLog(gh, s, rid(on));
    assert.deepEqual(Object.keys(entry).sort(), [...LOG_FIELDS, 'request_body', 'response_body'].sort());
    assertSameBody(entry.request_body, raw, 'request_body');
    assertSameBody(entry.response_body, on.text, 'response_body');

    expectOk(await gh.api('PUT', '/api/v1/org', { token: s.token, body: { settings: { log_bodies: false } } }));
    const later = await chat(s.apiKey);
    const laterEntry = await waitForLog(gh, s, rid(later));
    assert.deepEqual(Object.keys(laterEntry).sort(), LOG_FIELDS, 'bodies logged after log_bodies was turned off');
  });
});

/// A logged body is the text as sent, or the same JSON value.
function assertSameBody(logged, text, what) {
  if (typeof logged === 'string') {
    assert.equal(logged, text, what);
  } else {
    assert.deepEqual(logged, JSON.parse(text), what);
  }
}

describe('GET /api/v1/usage', () => {
  let s;
  let second;
  let unpricedOf;
  let newest;
  before(async () => {
    s = await setup();
    second = await createKey(gh, s, { name: 'second' });

    const calls = [
      chat(s.apiKey, { headers: { 'x-mock-usage': '100,200' } }),
      chat(s.apiKey, { headers: { 'x-mock-usage': '1,2' } }),
      chat(second.raw_key, { model: 'gpt-4o', headers: { 'x-mock-usage': '10,20' } }),
      chat(second.raw_key, { model: 'claude-3-5-haiku-latest', headers: { 'x-mock-usage': '5,6' } }),
      chat(s.apiKey, { model: 'mystery-model', headers: { 'x-gatehouse-provider': 'openai', 'x-mock-usage': '3,4' } }),
    ];
    await Promise.all(calls);
    // Which of these models have a built-in price is the price table's
    // business; usage must agree with the flags of the log entries.
    const logs = await waitForCount(s, 5);
    const flags = Object.fromEntries(logs.map((l) => [l.model, l.unpriced ? 1 : 0]));
    unpricedOf = (model) => flags[model];
    assert.equal(unpricedOf('gpt-4o-mini'), 0);
    assert.equal(unpricedOf('mystery-model'), 1);
    newest = Math.max(...logs.map((l) => Date.parse(l.created_at)));
  });

  const usage = async (query = {}) => {
    const qs = new URLSearchParams(query).toString();
    return gh.api('GET', `/api/v1/usage${qs ? `?${qs}` : ''}`, { token: s.token });
  };

  function monthBounds() {
    const d = new Date();
    return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)];
  }

  function byGroup(json) {
    const out = {};
    for (const row of json.usage) {
      assert.deepEqual(Object.keys(row).sort(), ['group', 'requests', 'tokens_in', 'tokens_out', 'unpriced_requests']);
      assert.ok(!(String(row.group) in out), `group ${row.group} appears twice`);
      out[String(row.group)] = { requests: row.requests, tokens_in: row.tokens_in, tokens_out: row.tokens_out, unpriced_requests: row.unpriced_requests };
    }
    return out;
  }

  const TOTALS = { requests: 5, tokens_in: 119, tokens_out: 232 };

  test('default: by day over the current UTC month', async () => {
    const json = expectOk(await usage());
    assert.deepEqual(Object.keys(json).sort(), ['from', 'group_by', 'to', 'totals', 'usage']);
    assert.equal(json.group_by, 'day');
    const [from, monthEnd] = monthBounds();
    assert.equal(Date.parse(json.from), from, `from ${json.from}`);
    // The end is now (month to date) or the end of the month.
    const to = Date.parse(json.to);
    assert.ok(to >= Math.floor(newest / 1000) * 1000 && to <= monthEnd, `to ${json.to}`);
    const today = new Date().toISOString().slice(0, 10);
    const unpriced = 1 + unpricedOf('gpt-4o') + unpricedOf('claude-3-5-haiku-latest');
    assert.deepEqual(byGroup(json), { [today]: { ...TOTALS, unpriced_requests: unpriced } });
    assert.deepEqual(json.totals, TOTALS);
  });

  test('by model', async () => {
    const json = expectOk(await usage({ group_by: 'model' }));
    assert.equal(json.group_by, 'model');
    assert.deepEqual(byGroup(json), {
      'gpt-4o-mini': { requests: 2, tokens_in: 101, tokens_out: 202, unpriced_requests: 0 },
      'gpt-4o': { requests: 1, tokens_in: 10, tokens_out: 20, unpriced_requests: unpricedOf('gpt-4o') },
      'claude-3-5-haiku-latest': { requests: 1, tokens_in: 5, tokens_out: 6, unpriced_requests: unpricedOf('claude-3-5-haiku-latest') },
      'mystery-model': { requests: 1, tokens_in: 3, tokens_out: 4, unpriced_requests: 1 },
    });
    assert.deepEqual(json.totals, TOTALS);
  });

  test('by provider, key, app and team', async () => {
    assert.deepEqual(byGroup(expectOk(await usage({ group_by: 'provider' }))), {
      openai: { requests: 4, tokens_in: 114, tokens_out: 226, unpriced_requests: 1 + unpricedOf('gpt-4o') },
      anthropic: { requests: 1, tokens_in: 5, tokens_out: 6, unpriced_requests: unpricedOf('claude-3-5-haiku-latest') },
    });
    assert.deepEqual(byGroup(expectOk(await usage({ group_by: 'key' }))), {
      [s.keyId]: { requests: 3, tokens_in: 104, tokens_out: 206, unpriced_requests: 1 },
      [second.key.id]: {
        requests: 2, tokens_in: 15, tokens_out: 26,
        unpriced_requests: unpricedOf('gpt-4o') + unpricedOf('claude-3-5-haiku-latest'),
      },
    });
    // Keys without app or team fall into the null group.
    for (const group_by of ['app', 'team']) {
      const json = expectOk(await usage({ group_by }));
      assert.equal(json.group_by, group_by);
      assert.equal(json.usage.length, 1);
      assert.equal(json.usage[0].group, null);
      assert.equal(json.usage[0].requests, 5);
      assert.deepEqual(json.totals, TOTALS);
    }
  });

  test('explicit from/to', async () => {
    const seconds = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const from = seconds(Date.now() - 3600_000);
    const to = seconds(Date.now() + 3600_000);
    const json = expectOk(await usage({ group_by: 'model', from, to }));
    assert.equal(Date.parse(json.from), Date.parse(from));
    assert.equal(Date.parse(json.to), Date.parse(to));
    assert.deepEqual(json.totals, TOTALS);
    const past = expectOk(await usage({ from: '2020-01-01T00:00:00Z', to: '2020-02-01T00:00:00Z' }));
    assert.deepEqual(past.usage, []);
    assert.deepEqual(past.totals, { requests: 0, tokens_in: 0, tokens_out: 0 });
  });

  test('bad parameters -> 400 naming them', async () => {
    expectError(await usage({ group_by: 'week' }), 400, 'invalid_request', 'group_by');
    expectError(await usage({ group_by: '' }), 400, 'invalid_request', 'group_by');
    expectError(await usage({ from: 'last month' }), 400, 'invalid_request', 'from');
    expectError(await usage({ to: '2026-02-30T00:00:00' }), 400, 'invalid_request', 'to');
  });

  test('a new org has no usage', async () => {
    const b = await signup(gh);
    const json = expectOk(await gh.api('GET', '/api/v1/usage', { token: b.token }));
    assert.deepEqual(json.usage, []);
    assert.deepEqual(json.totals, { requests: 0, tokens_in: 0, tokens_out: 0 });
  });
});

describe('key counters', () => {
  test('request_count and last_used_at follow proxied requests', async () => {
    const s = await setup();
    const { key, raw_key } = await createKey(gh, s, { name: 'counted' });
    assert.equal(key.request_count, 0);
    assert.equal(key.last_used_at, null);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await chat(raw_key);
    const listed = await poll(async () => {
      const { keys } = expectOk(await gh.api('GET', '/api/v1/keys', { token: s.token }));
      const k = keys.find((x) => x.id === key.id);
      return k.request_count === 3 && k.last_used_at ? k : false;
    }, { what: 'request_count 3 with last_used_at' });
    assertRecentTimestamp(listed.last_used_at);
    assert.ok(Date.parse(listed.last_used_at) >= t0 - 1000, 'last_used_at predates the requests');
    const { keys } = expectOk(await gh.api('GET', '/api/v1/keys', { token: s.token }));
    const def = keys.find((x) => x.name === 'Default');
    assert.equal(def.request_count, 0, 'another key was counted');
  });
});
