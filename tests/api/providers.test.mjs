// Provider management: create, list, get, update, delete, the default
// provider, plan limits, fallback, SSRF protection and write-only keys.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, UUID_V4, assertNoSecretFields, assertRecentTimestamp, createKey, expectError, expectOk, hex,
  setPlan, signup, startGatehouse,
} from './harness.mjs';
import { startMockUpstream } from './mock_upstream.mjs';

let gh;
let mock;
/// Every provider key sent to the server, and every answer text, to check
/// at the end that no answer ever carried a key.
const sentKeys = [];
const answers = [];

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

const PROVIDER_FIELDS = ['api_key_last4', 'auth_header', 'auth_mode', 'auth_scheme', 'base_url', 'created_at',
  'fallback', 'format', 'has_api_key', 'id', 'is_default', 'name', 'updated_at'];

function providerKey(tag = 'prov') {
  const key = `sk-${tag}-${hex(20)}`;
  sentKeys.push(key);
  return key;
}

async function call(method, p, s, body) {
  if (body && typeof body.api_key === 'string' && body.api_key.length >= 12) sentKeys.push(body.api_key);
  const res = await gh.api(method, p, { token: s.token, body });
  answers.push(res.text);
  return res;
}

const create = (s, body) => call('POST', '/api/v1/providers', s, body);
const update = (s, name, body) => call('PUT', `/api/v1/providers/${name}`, s, body);
const remove = (s, name) => call('DELETE', `/api/v1/providers/${name}`, s);
const getOne = (s, name) => call('GET', `/api/v1/providers/${name}`, s);
const setDefault = (s, body) => call('PUT', '/api/v1/providers/default', s, body);
const list = async (s) => expectOk(await call('GET', '/api/v1/providers', s));

/// A valid api_key-mode body pointing at the mock.
function body(name, extra = {}) {
  return { name, base_url: `${mock.url}/p/${name}`, api_key: providerKey(name), ...extra };
}

async function createOk(s, b) {
  return expectOk(await create(s, b), 201);
}

function assertProvider(p, expected = {}) {
  assert.deepEqual(Object.keys(p).sort(), PROVIDER_FIELDS, `provider fields: ${JSON.stringify(p)}`);
  assertNoSecretFields(p, 'provider');
  assert.match(p.id, UUID_V4);
  assertRecentTimestamp(p.created_at);
  assertRecentTimestamp(p.updated_at);
  assert.ok(Date.parse(p.updated_at) >= Date.parse(p.created_at), 'updated_at precedes created_at');
  assert.ok(Array.isArray(p.fallback));
  assert.equal(typeof p.has_api_key, 'boolean');
  assert.equal(typeof p.is_default, 'boolean');
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(p[k], v, `provider.${k}`);
}

/// Sends one chat request through `name` and returns what the mock got.
async function proxiedHeaders(s, name) {
  const res = await gh.api('POST', '/v1/chat/completions', {
    key: s.apiKey,
    headers: { 'x-gatehouse-provider': name, authorization: 'Bearer client-side-dummy', 'x-api-key': 'client-side-dummy' },
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(res.status, 200, res.text);
  const rec = mock.lastRequest((r) => r.label === name);
  assert.ok(rec, `the mock got no request for ${name}`);
  return rec.headers;
}

describe('POST /api/v1/providers', () => {
  test('api_key mode with defaults; the first provider becomes the default', async () => {
    const s = await signup(gh);
    const b = body('openai');
    const res = await create(s, b);
    const p = expectOk(res, 201);
    assertProvider(p, {
      name: 'openai', base_url: b.base_url, auth_mode: 'api_key', auth_header: 'Authorization', auth_scheme: 'Bearer',
      has_api_key: true, api_key_last4: b.api_key.slice(-4), fallback: [], is_default: true,
    });
    assert.ok(!res.text.includes(b.api_key), 'the provider key was returned');
    assert.ok(!res.text.includes(b.api_key.slice(0, -4)), 'more than the last 4 characters were returned');

    const second = await createOk(s, body('anthropic', { auth_header: 'x-api-key', auth_scheme: '' }));
    assertProvider(second, {
      name: 'anthropic', auth_header: 'x-api-key', auth_scheme: '', is_default: false, has_api_key: true,
    });
    const l = await list(s);
    assert.equal(l.default_provider, 'openai');
  });

  test('passthrough mode stores no key', async () => {
    const s = await signup(gh);
    const p = await createOk(s, { name: 'pass', base_url: `${mock.url}/p/pass`, auth_mode: 'passthrough' });
    assertProvider(p, { auth_mode: 'passthrough', has_api_key: false, api_key_last4: null, is_default: true });
  });

  test('an api_key in passthrough mode -> 400 naming api_key', async () => {
    const s = await signup(gh);
    expectError(await create(s, { name: 'pass', base_url: mock.url, auth_mode: 'passthrough', api_key: providerKey() }),
      400, 'invalid_request', 'api_key');
    assert.deepEqual((await list(s)).providers, []);
  });

  test('api_key mode needs a non-empty string key', async () => {
    const s = await signup(gh);
    for (const b of [
      { name: 'nokey', base_url: mock.url },
      { name: 'nokey', base_url: mock.url, auth_mode: 'api_key' },
      { name: 'nokey', base_url: mock.url, api_key: '' },
      { name: 'nokey', base_url: mock.url, api_key: 1234 },
      { name: 'nokey', base_url: mock.url, api_key: null },
    ]) {
      expectError(await create(s, b), 400, 'invalid_request', 'api_key');
    }
    assert.deepEqual((await list(s)).providers, []);
  });

  test('name must match [a-z0-9][a-z0-9_-]{0,63}', async () => {
    const s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    for (const name of [undefined, '', 'OpenAI', '-lead', '_lead', 'has space', 'dot.name', 'slash/name', 'é',
      'a'.repeat(65), 7, null]) {
      const b = body('x');
      if (name === undefined) delete b.name;
      else b.name = name;
      expectError(await create(s, b), 400, 'invalid_request', 'name');
    }
    for (const name of ['a', '0', 'a-b_c-9', 'z'.repeat(64)]) {
      assertProvider(await createOk(s, body(name)), { name });
    }
  });

  test('"default" is reserved (it is the route of the default provider)', async () => {
    const s = await signup(gh);
    expectError(await create(s, body('default')), 400, 'invalid_request', 'name');
  });

  test('base_url must be an http(s) URL without userinfo or query', async () => {
    const s = await signup(gh);
    for (const base_url of [undefined, '', 'not a url', 'ftp://127.0.0.1/x', 'file:///etc/passwd', '127.0.0.1:8080',
      `http://user:pw@127.0.0.1:${mock.port}`, `http://user@127.0.0.1:${mock.port}`, `${mock.url}/p/q?x=1`, 42, null]) {
      const b = body('bad');
      if (base_url === undefined) delete b.base_url;
      else b.base_url = base_url;
      expectError(await create(s, b), 400, 'invalid_request', 'base_url');
    }
    assert.deepEqual((await list(s)).providers, []);
  });

  test('auth_mode, auth_header and auth_scheme are checked', async () => {
    const s = await signup(gh);
    expectError(await create(s, body('x', { auth_mode: 'bearer' })), 400, 'invalid_request', 'auth_mode');
    // Like every non-nullable field, these refuse an explicit null.
    expectError(await create(s, body('x', { auth_mode: null })), 400, 'invalid_request', 'auth_mode');
    expectError(await create(s, body('x', { auth_mode: 7 })), 400, 'invalid_request', 'auth_mode');
    expectError(await create(s, body('x', { auth_header: null })), 400, 'invalid_request', 'auth_header');
    expectError(await create(s, body('x', { auth_scheme: null })), 400, 'invalid_request', 'auth_scheme');
    expectError(await create(s, body('x', { fallback: null })), 400, 'invalid_request', 'fallback');
    for (const auth_header of ['', 'has space', 'x:y', 'bad\nheader', 5]) {
      expectError(await create(s, body('x', { auth_header })), 400, 'invalid_request', 'auth_header');
    }
    expectError(await create(s, body('x', { auth_scheme: 7 })), 400, 'invalid_request', 'auth_scheme');
    expectError(await create(s, body('x', { auth_scheme: 'Bad\r\nX-Injected: 1' })), 400, 'invalid_request', 'auth_scheme');
    assert.deepEqual((await list(s)).providers, []);
  });

  test('unknown fields and malformed JSON -> 400', async () => {
    const s = await signup(gh);
    expectError(await create(s, body('x', { apikey: 'typo' })), 400, 'invalid_request', 'apikey');
    expectError(await create(s, body('x', { is_default: true })), 400, 'invalid_request', 'is_default');
    expectError(await gh.api('POST', '/api/v1/providers', { token: s.token, raw: '{"name": "x",' }), 400, 'invalid_request');
    expectError(await gh.api('POST', '/api/v1/providers', { token: s.token, raw: '["x"]' }), 400, 'invalid_request');
    assert.deepEqual((await list(s)).providers, []);
  });

  test('a duplicate name -> 409 conflict', async () => {
    const s = await signup(gh);
    const first = await createOk(s, body('openai'));
    expectError(await create(s, body('openai')), 409, 'conflict');
    const l = await list(s);
    assert.equal(l.providers.length, 1);
    assert.equal(l.providers[0].id, first.id);
    assert.equal(l.providers[0].api_key_last4, first.api_key_last4, 'the refused duplicate changed nothing');
  });

  test('the same name in two orgs is fine', async () => {
    const a = await signup(gh);
    const b = await signup(gh);
    const pa = await createOk(a, body('openai'));
    const pb = await createOk(b, body('openai'));
    assert.notEqual(pa.id, pb.id);
  });

  test('needs a session token', async () => {
    const s = await signup(gh);
    expectError(await gh.api('POST', '/api/v1/providers', { body: body('x') }), 401, 'unauthorized');
    expectError(await gh.api('POST', '/api/v1/providers', { key: s.apiKey, body: body('x') }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/providers', { key: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/providers', { token: gh.operatorToken }), 401, 'unauthorized');
    expectError(await gh.api('PUT', '/api/v1/providers/default', { body: { provider_name: 'x' } }), 401, 'unauthorized');
    expectError(await gh.api('DELETE', '/api/v1/providers/x'), 401, 'unauthorized');
  });
});

describe('SSRF protection', () => {
  const refused = [
    'http://10.0.0.1', 'http://169.254.169.254', 'http://169.254.169.254/latest/meta-data', 'http://192.168.1.1:8080',
    'http://[::1]:80', 'http://metadata.google.internal', 'http://metadata.google.internal/computeMetadata/v1',
    'http://172.16.5.4', 'http://127.0.0.2:8080', 'http://0.0.0.0:80', 'http://[fd00::1]', 'http://[fe80::1]',
    'http://[::ffff:10.0.0.1]', 'http://[::ffff:127.0.0.2]', 'http://2130706434', 'https://10.1.2.3:443/v1',
  ];

  test('private, loopback, link-local and metadata upstreams -> 400 naming base_url', async () => {
    const s = await signup(gh);
    for (const base_url of refused) {
      const res = await create(s, { name: 'evil', base_url, api_key: providerKey() });
      expectError(res, 400, 'invalid_request', 'base_url');
    }
    assert.deepEqual((await list(s)).providers, []);
  });

  test('the allowed 127.0.0.1/32 is accepted', async () => {
    const s = await signup(gh);
    const p = await createOk(s, { name: 'local', base_url: mock.url, api_key: providerKey() });
    assert.equal(p.base_url, mock.url);
  });

  test('an update to a refused address -> 400 and nothing changes', async () => {
    const s = await signup(gh);
    const p = await createOk(s, body('openai'));
    for (const base_url of ['http://10.0.0.1', 'http://169.254.169.254', 'http://[::1]:80']) {
      expectError(await update(s, 'openai', { base_url }), 400, 'invalid_request', 'base_url');
    }
    assert.equal(expectOk(await getOne(s, 'openai')).base_url, p.base_url);
  });

  test('without --allow-private-upstreams even 127.0.0.1 is refused', async () => {
    const strict = await startGatehouse();
    try {
      const s = await signup(strict);
      for (const base_url of [mock.url, `${mock.url}/p/x`, 'http://127.0.0.1', 'http://10.0.0.1']) {
        const res = await strict.api('POST', '/api/v1/providers', {
          token: s.token, body: { name: 'local', base_url, api_key: providerKey() },
        });
        expectError(res, 400, 'invalid_request', 'base_url');
      }
      const l = expectOk(await strict.api('GET', '/api/v1/providers', { token: s.token }));
      assert.deepEqual(l, { providers: [], default_provider: null });
    } finally {
      const { code } = await strict.dispose();
      assert.equal(code, 0);
    }
  });
});

describe('plan limits and fallback', () => {
  test('free: three providers; the fourth -> 403 limit_exceeded; deleting frees a slot', async () => {
    const s = await signup(gh);
    for (const n of ['p1', 'p2', 'p3']) await createOk(s, body(n));
    expectError(await create(s, body('p4')), 403, 'limit_exceeded');
    assert.equal((await list(s)).providers.length, 3);
    expectOk(await remove(s, 'p2'));
    await createOk(s, body('p4'));
    expectError(await create(s, body('p5')), 403, 'limit_exceeded');
    assert.deepEqual((await list(s)).providers.map((p) => p.name), ['p1', 'p3', 'p4']);
  });

  test('enterprise: no provider limit; a downgrade keeps them but blocks new ones', async () => {
    const s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    for (let i = 0; i < 5; i++) await createOk(s, body(`e${i}`));
    assert.equal((await list(s)).providers.length, 5);
    await setPlan(gh, s.org.id, 'free');
    expectError(await create(s, body('e5')), 403, 'limit_exceeded');
    assert.equal((await list(s)).providers.length, 5);
  });

  test('free: a non-empty fallback -> 403 plan_required; an empty one is fine', async () => {
    const s = await signup(gh);
    await createOk(s, body('primary'));
    expectError(await create(s, body('second', { fallback: ['primary'] })), 403, 'plan_required');
    const p = await createOk(s, body('second', { fallback: [] }));
    assert.deepEqual(p.fallback, []);
    expectError(await update(s, 'second', { fallback: ['primary'] }), 403, 'plan_required');
    assert.deepEqual(expectOk(await getOne(s, 'second')).fallback, []);
  });

  test('enterprise: fallback names existing providers of the org, not itself', async () => {
    const s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    const other = await signup(gh);
    await createOk(other, body('foreign'));
    await createOk(s, body('a'));
    await createOk(s, body('b'));
    for (const fallback of [['nope'], ['foreign'], ['c'], ['a', 'nope'], 'a', [1], [null]]) {
      expectError(await create(s, body('c', { fallback })), 400, 'invalid_request', 'fallback');
    }
    const c = await createOk(s, body('c', { fallback: ['b', 'a'] }));
    assert.deepEqual(c.fallback, ['b', 'a'], 'the order is kept');
    expectError(await update(s, 'a', { fallback: ['a'] }), 400, 'invalid_request', 'fallback');
    const a = expectOk(await update(s, 'a', { fallback: ['c'] }));
    assert.deepEqual(a.fallback, ['c']);
    assert.deepEqual(expectOk(await getOne(s, 'a')).fallback, ['c']);
  });
});

describe('GET /api/v1/providers', () => {
  test('an org without providers', async () => {
    const s = await signup(gh);
    assert.deepEqual(await list(s), { providers: [], default_provider: null });
  });

  test('sorted by name, with the default; GET by name matches the list', async () => {
    const s = await signup(gh);
    for (const n of ['zeta', 'alpha', 'mid']) await createOk(s, body(n));
    const l = await list(s);
    assert.deepEqual(Object.keys(l).sort(), ['default_provider', 'providers']);
    assert.deepEqual(l.providers.map((p) => p.name), ['alpha', 'mid', 'zeta']);
    assert.equal(l.default_provider, 'zeta');
    assert.deepEqual(l.providers.map((p) => p.is_default), [false, false, true]);
    for (const p of l.providers) {
      assertProvider(p);
      assert.deepEqual(expectOk(await getOne(s, p.name)), p);
    }
  });

  test('unknown name -> 404', async () => {
    const s = await signup(gh);
    expectError(await getOne(s, 'nope'), 404, 'not_found');
    expectError(await getOne(s, 'NOPE'), 404, 'not_found');
  });

  test("another org's providers are invisible", async () => {
    const a = await signup(gh);
    const b = await signup(gh);
    await createOk(a, body('private'));
    assert.deepEqual(await list(b), { providers: [], default_provider: null });
    expectError(await getOne(b, 'private'), 404, 'not_found');
    expectError(await update(b, 'private', { auth_scheme: 'X' }), 404, 'not_found');
    expectError(await remove(b, 'private'), 404, 'not_found');
    expectError(await setDefault(b, { provider_name: 'private' }), 404, 'not_found');
    assert.equal(expectOk(await getOne(a, 'private')).auth_scheme, 'Bearer');
  });
});

describe('PUT /api/v1/providers/{name}', () => {
  test('partial update keeps the other fields', async () => {
    const s = await signup(gh);
    const p = await createOk(s, body('openai'));
    const newUrl = `${mock.url}/p/moved`;
    const u = expectOk(await update(s, 'openai', { base_url: newUrl }));
    assertProvider(u, {
      id: p.id, name: 'openai', base_url: newUrl, auth_mode: 'api_key', auth_header: 'Authorization',
      auth_scheme: 'Bearer', has_api_key: true, api_key_last4: p.api_key_last4, fallback: [], is_default: true,
      created_at: p.created_at,
    });
    assert.ok(Date.parse(u.updated_at) >= Date.parse(p.updated_at));
    assert.deepEqual(expectOk(await getOne(s, 'openai')), u);
  });

  test('an empty body changes nothing', async () => {
    const s = await signup(gh);
    await createOk(s, body('openai'));
    const before = expectOk(await getOne(s, 'openai'));
    const u = expectOk(await update(s, 'openai', {}));
    assert.deepEqual({ ...u, updated_at: null }, { ...before, updated_at: null });
  });

  test('a new api_key replaces the old one upstream', async () => {
    const s = await signup(gh);
    const b = body('rot');
    await createOk(s, b);
    assert.equal((await proxiedHeaders(s, 'rot')).authorization, `Bearer ${b.api_key}`);
    const fresh = providerKey('rot');
    const res = await update(s, 'rot', { api_key: fresh });
    const u = expectOk(res);
    assert.equal(u.api_key_last4, fresh.slice(-4));
    assert.equal(u.has_api_key, true);
    assert.ok(!res.text.includes(fresh));
    const seen = await proxiedHeaders(s, 'rot');
    assert.equal(seen.authorization, `Bearer ${fresh}`);
    assert.ok(!JSON.stringify(seen).includes(b.api_key), 'the old key was still sent');
  });

  test('auth_header and auth_scheme changes apply to the next request', async () => {
    const s = await signup(gh);
    const b = body('hdr');
    await createOk(s, b);
    expectOk(await update(s, 'hdr', { auth_header: 'x-api-key', auth_scheme: '' }));
    let seen = await proxiedHeaders(s, 'hdr');
    assert.equal(seen['x-api-key'], b.api_key);
    assert.ok(!String(seen.authorization ?? '').includes(b.api_key));
    expectOk(await update(s, 'hdr', { auth_header: 'Authorization', auth_scheme: 'Token' }));
    seen = await proxiedHeaders(s, 'hdr');
    assert.equal(seen.authorization, `Token ${b.api_key}`);
  });

  test('switching auth_mode', async () => {
    const s = await signup(gh);
    await createOk(s, body('sw'));
    expectError(await update(s, 'sw', { auth_mode: 'passthrough', api_key: providerKey() }), 400, 'invalid_request', 'api_key');
    const pass = expectOk(await update(s, 'sw', { auth_mode: 'passthrough' }));
    assert.equal(pass.auth_mode, 'passthrough');
    assert.equal(pass.has_api_key, false);
    assert.equal(pass.api_key_last4, null);
    expectError(await update(s, 'sw', { auth_mode: 'api_key' }), 400, 'invalid_request', 'api_key');
    const key = providerKey('sw');
    const back = expectOk(await update(s, 'sw', { auth_mode: 'api_key', api_key: key }));
    assert.equal(back.has_api_key, true);
    assert.equal(back.api_key_last4, key.slice(-4));
  });

  test('name and id are immutable; unknown fields -> 400', async () => {
    const s = await signup(gh);
    const p = await createOk(s, body('fixed'));
    expectError(await update(s, 'fixed', { name: 'renamed' }), 400, 'immutable_field', 'name');
    expectError(await update(s, 'fixed', { id: p.id }), 400, 'immutable_field', 'id');
    expectError(await update(s, 'fixed', { nmae: 'typo' }), 400, 'invalid_request', 'nmae');
    expectError(await update(s, 'fixed', { created_at: p.created_at }), 400, 'invalid_request', 'created_at');
    expectError(await update(s, 'fixed', { auth_mode: 'other' }), 400, 'invalid_request', 'auth_mode');
    expectError(await update(s, 'fixed', { base_url: 'ftp://x' }), 400, 'invalid_request', 'base_url');
    expectError(await update(s, 'fixed', { api_key: '' }), 400, 'invalid_request', 'api_key');
    expectError(await gh.api('PUT', '/api/v1/providers/fixed', { token: s.token, raw: '{"base_url":' }), 400, 'invalid_request');
    assert.deepEqual(expectOk(await getOne(s, 'fixed')), p);
    expectError(await getOne(s, 'renamed'), 404, 'not_found');
  });

  test('unknown provider -> 404', async () => {
    const s = await signup(gh);
    expectError(await update(s, 'ghost', { auth_scheme: 'X' }), 404, 'not_found');
  });
});

describe('DELETE /api/v1/providers/{name}', () => {
  test('answers the deleted provider; it is gone afterwards', async () => {
    const s = await signup(gh);
    await createOk(s, body('keep'));
    const doomed = await createOk(s, body('doomed'));
    const res = await remove(s, 'doomed');
    const json = expectOk(res);
    assertProvider(json, { id: doomed.id, name: 'doomed', base_url: doomed.base_url, api_key_last4: doomed.api_key_last4 });
    expectError(await getOne(s, 'doomed'), 404, 'not_found');
    expectError(await remove(s, 'doomed'), 404, 'not_found');
    const l = await list(s);
    assert.deepEqual(l.providers.map((p) => p.name), ['keep']);
    assert.equal(l.default_provider, 'keep');
  });

  test('deleting the default clears it', async () => {
    const s = await signup(gh);
    await createOk(s, body('first'));
    await createOk(s, body('second'));
    expectOk(await remove(s, 'first'));
    const l = await list(s);
    assert.equal(l.default_provider, null);
    assert.deepEqual(l.providers.map((p) => [p.name, p.is_default]), [['second', false]]);
  });

  test('the name can be used again', async () => {
    const s = await signup(gh);
    const old = await createOk(s, body('again'));
    expectOk(await remove(s, 'again'));
    const fresh = await createOk(s, body('again'));
    assert.notEqual(fresh.id, old.id);
  });
});

describe('PUT /api/v1/providers/default', () => {
  test('sets the default', async () => {
    const s = await signup(gh);
    await createOk(s, body('one'));
    await createOk(s, body('two'));
    const res = await setDefault(s, { provider_name: 'two' });
    assert.deepEqual(expectOk(res), { default_provider: 'two' });
    const l = await list(s);
    assert.equal(l.default_provider, 'two');
    assert.deepEqual(l.providers.map((p) => [p.name, p.is_default]), [['one', false], ['two', true]]);
    assert.equal(expectOk(await getOne(s, 'two')).is_default, true);
  });

  test('after the default was deleted, another one can be set', async () => {
    const s = await signup(gh);
    await createOk(s, body('one'));
    await createOk(s, body('two'));
    expectOk(await remove(s, 'one'));
    assert.deepEqual(expectOk(await setDefault(s, { provider_name: 'two' })), { default_provider: 'two' });
    assert.equal((await list(s)).default_provider, 'two');
  });

  test('unknown provider -> 404; bad bodies -> 400', async () => {
    const s = await signup(gh);
    await createOk(s, body('one'));
    expectError(await setDefault(s, { provider_name: 'ghost' }), 404, 'not_found');
    expectError(await setDefault(s, {}), 400, 'invalid_request', 'provider_name');
    expectError(await setDefault(s, { provider_name: 5 }), 400, 'invalid_request', 'provider_name');
    expectError(await setDefault(s, { provider_name: 'one', extra: 1 }), 400, 'invalid_request', 'extra');
    assert.equal((await list(s)).default_provider, 'one');
  });
});

describe('write-only provider keys', () => {
  test('no answer ever carried a provider key', async () => {
    // Also the key listing and the proxy path: none of them knows the keys.
    const s = await signup(gh);
    const b = body('last');
    await createOk(s, b);
    await createKey(gh, s, { name: 'k' });
    answers.push((await gh.api('GET', '/api/v1/keys', { token: s.token })).text);
    answers.push((await call('GET', '/api/v1/providers', s)).text);
    assert.ok(sentKeys.length > 20);
    for (const text of answers) {
      for (const key of sentKeys) {
        assert.ok(!text.includes(key), 'an answer carried a provider key');
        assert.ok(!text.includes(key.slice(0, -4)), 'an answer carried most of a provider key');
      }
    }
  });
});
