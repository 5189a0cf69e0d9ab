// API key management: create, list, revoke, rotate, plan limits, isolation.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  API_KEY, UUID_V4, assertNoSecretFields, assertRecentTimestamp, expectError, expectOk, randomUuid,
  setPlan, sha256Hex, signup, startGatehouse,
} from './harness.mjs';

let gh;

before(async () => {
  gh = await startGatehouse();
});

after(async () => {
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

const KEY_FIELDS = ['app_id', 'created_at', 'expires_at', 'id', 'key_prefix', 'last_used_at', 'name',
  'rate_limit_rpm', 'request_count', 'scopes', 'status', 'team_id'];

const create = (s, body) => gh.api('POST', '/api/v1/keys', { token: s.token, body });
const list = async (s) => expectOk(await gh.api('GET', '/api/v1/keys', { token: s.token })).keys;
const revoke = (s, id) => gh.api('DELETE', `/api/v1/keys/${id}`, { token: s.token });
const rotate = (s, id, body) => gh.api('POST', `/api/v1/keys/${id}/rotate`, { token: s.token, body });

/// Asserts a key object and that nothing secret about `rawKeys` is in `text`.
function assertKey(key, expected = {}) {
  for (const f of KEY_FIELDS) assert.ok(f in key, `key lacks '${f}': ${JSON.stringify(key)}`);
  assertNoSecretFields(key, 'key');
  assert.ok(!('raw_key' in key), 'a key object never carries the raw key');
  assert.match(key.id, UUID_V4);
  assert.match(key.key_prefix, /^sk-gate-[0-9a-f]{4}$/);
  assertRecentTimestamp(key.created_at);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(key[k], v, `key.${k}`);
}

function assertNoLeak(text, rawKeys) {
  for (const raw of rawKeys) {
    assert.ok(!text.includes(raw), 'a raw key was returned again');
    assert.ok(!text.includes(raw.slice(8)), 'the random part of a raw key was returned again');
    assert.ok(!text.includes(sha256Hex(raw)), 'a key hash was returned');
  }
}

async function createOk(s, body) {
  const res = await create(s, body);
  const json = expectOk(res, 201);
  assert.deepEqual(Object.keys(json).sort(), ['key', 'raw_key']);
  assert.match(json.raw_key, API_KEY);
  assert.equal(json.key.key_prefix, json.raw_key.slice(0, 12));
  assert.ok(!res.text.includes(sha256Hex(json.raw_key)), 'the key hash is never returned');
  return json;
}

describe('POST /api/v1/keys', () => {
  test('name only: defaults', async () => {
    const s = await signup(gh);
    const { key } = await createOk(s, { name: 'ci' });
    assertKey(key, {
      name: 'ci', scopes: ['*'], app_id: null, team_id: null, status: 'active', last_used_at: null,
      expires_at: null, request_count: 0, rate_limit_rpm: null,
    });
  });

  test('explicit nulls mean unset', async () => {
    const s = await signup(gh);
    const { key } = await createOk(s, { name: 'nulls', app_id: null, team_id: null, expires_at: null });
    assertKey(key, { app_id: null, team_id: null, expires_at: null, scopes: ['*'] });
  });

  test('scopes are stored as given', async () => {
    const s = await signup(gh);
    const scopes = ['provider:openai', 'model:gpt-4o-mini'];
    const { key } = await createOk(s, { name: 'scoped', scopes });
    assert.deepEqual(key.scopes, scopes);
    const star = await createOk(s, { name: 'star', scopes: ['*'] });
    assert.deepEqual(star.key.scopes, ['*']);
    const listed = (await list(s)).find((k) => k.id === key.id);
    assert.deepEqual(listed.scopes, scopes);
  });

  test('invalid scopes -> 400 naming scopes', async () => {
    const s = await signup(gh);
    for (const scopes of [['foo'], ['provider:'], ['model:'], ['admin'], ['*', 'bogus'], 'provider:openai',
      [1], [null], {}]) {
      expectError(await create(s, { name: 'bad', scopes }), 400, 'invalid_request', 'scopes');
    }
    assert.equal((await list(s)).length, 1, 'no key was created');
  });

  test('name is required, 1..100 characters', async () => {
    const s = await signup(gh);
    expectError(await create(s, {}), 400, 'invalid_request', 'name');
    expectError(await create(s, { scopes: ['*'] }), 400, 'invalid_request', 'name');
    expectError(await create(s, { name: '' }), 400, 'invalid_request', 'name');
    expectError(await create(s, { name: 'k'.repeat(101) }), 400, 'invalid_request', 'name');
    expectError(await create(s, { name: 5 }), 400, 'invalid_request', 'name');
    const { key } = await createOk(s, { name: 'k'.repeat(100) });
    assert.equal(key.name, 'k'.repeat(100));
  });

  test('unknown field and malformed JSON -> 400', async () => {
    const s = await signup(gh);
    expectError(await create(s, { name: 'x', scope: ['*'] }), 400, 'invalid_request', 'scope');
    expectError(await create(s, { name: 'x', key_hash: 'abc' }), 400, 'invalid_request', 'key_hash');
    expectError(await gh.api('POST', '/api/v1/keys', { token: s.token, raw: '{"name": "x"' }), 400, 'invalid_request');
    expectError(await gh.api('POST', '/api/v1/keys', { token: s.token, raw: '["name"]' }), 400, 'invalid_request');
    assert.equal((await list(s)).length, 1);
  });

  test('app_id and team_id must be rows of this org', async () => {
    const s = await signup(gh);
    expectError(await create(s, { name: 'x', app_id: randomUuid() }), 400, 'invalid_request', 'app_id');
    expectError(await create(s, { name: 'x', team_id: randomUuid() }), 400, 'invalid_request', 'team_id');
    expectError(await create(s, { name: 'x', app_id: 'not-a-uuid' }), 400, 'invalid_request', 'app_id');
    expectError(await create(s, { name: 'x', team_id: 17 }), 400, 'invalid_request', 'team_id');
    // Another org's id is no better than a random one.
    expectError(await create(s, { name: 'x', team_id: s.org.id }), 400, 'invalid_request', 'team_id');
    assert.equal((await list(s)).length, 1);
  });

  test('expires_at must be an RFC 3339 time in the future', async () => {
    const s = await signup(gh);
    const future = new Date(Date.now() + 7 * 86400_000);
    future.setUTCMilliseconds(0);
    const iso = future.toISOString().replace('.000Z', 'Z');
    const { key } = await createOk(s, { name: 'expiring', expires_at: iso });
    assert.match(key.expires_at, /Z$/);
    assert.equal(Date.parse(key.expires_at), future.getTime());
    const listed = (await list(s)).find((k) => k.id === key.id);
    assert.equal(Date.parse(listed.expires_at), future.getTime());

    const past = new Date(Date.now() - 3600_000).toISOString();
    expectError(await create(s, { name: 'x', expires_at: past }), 400, 'invalid_request', 'expires_at');
    for (const bad of ['tomorrow', '2099-13-01T00:00:00Z', '2099-01-01', 1893456000, true]) {
      expectError(await create(s, { name: 'x', expires_at: bad }), 400, 'invalid_request', 'expires_at');
    }
  });

  test('rate_limit_rpm needs per_key_rate_limits', async () => {
    const s = await signup(gh);
    expectError(await create(s, { name: 'x', rate_limit_rpm: 60 }), 403, 'plan_required');
    assert.equal((await list(s)).length, 1);

    await setPlan(gh, s.org.id, 'enterprise');
    const { key } = await createOk(s, { name: 'limited', rate_limit_rpm: 60 });
    assert.equal(key.rate_limit_rpm, 60);
    for (const bad of [0, -5, 1.5, '60', true]) {
      expectError(await create(s, { name: 'x', rate_limit_rpm: bad }), 400, 'invalid_request', 'rate_limit_rpm');
    }
    const listed = (await list(s)).find((k) => k.id === key.id);
    assert.equal(listed.rate_limit_rpm, 60);
  });

  test('needs a session token', async () => {
    const s = await signup(gh);
    expectError(await gh.api('POST', '/api/v1/keys', { body: { name: 'x' } }), 401, 'unauthorized');
    expectError(await gh.api('POST', '/api/v1/keys', { key: s.apiKey, body: { name: 'x' } }), 401, 'unauthorized');
    expectError(await gh.api('POST', '/api/v1/keys', { token: gh.operatorToken, body: { name: 'x' } }),
      401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/keys'), 401, 'unauthorized');
    expectError(await gh.api('DELETE', `/api/v1/keys/${randomUuid()}`), 401, 'unauthorized');
    expectError(await gh.api('POST', `/api/v1/keys/${randomUuid()}/rotate`, { body: {} }), 401, 'unauthorized');
  });
});

describe('GET /api/v1/keys', () => {
  test('lists every key without secrets', async () => {
    const s = await signup(gh);
    const a = await createOk(s, { name: 'alpha' });
    const b = await createOk(s, { name: 'beta', scopes: ['model:gpt-4o'] });
    const res = await gh.api('GET', '/api/v1/keys', { token: s.token });
    const { keys } = expectOk(res);
    assert.equal(keys.length, 3);
    for (const k of keys) assertKey(k);
    const byName = Object.fromEntries(keys.map((k) => [k.name, k]));
    assert.deepEqual(byName.alpha, a.key);
    assert.deepEqual(byName.beta, b.key);
    assert.equal(byName.Default.key_prefix, s.apiKey.slice(0, 12));
    assert.deepEqual(byName.Default.scopes, ['*']);
    assertNoLeak(res.text, [s.apiKey, a.raw_key, b.raw_key]);
  });
});

describe('DELETE /api/v1/keys/{id}', () => {
  test('revokes', async () => {
    const s = await signup(gh);
    const { key } = await createOk(s, { name: 'doomed' });
    const json = expectOk(await revoke(s, key.id));
    assert.deepEqual(Object.keys(json), ['key']);
    assertKey(json.key, { id: key.id, name: 'doomed', status: 'revoked', key_prefix: key.key_prefix });
    const listed = (await list(s)).find((k) => k.id === key.id);
    assert.ok(listed, 'revoked keys stay listed');
    assert.equal(listed.status, 'revoked');
    const other = (await list(s)).find((k) => k.name === 'Default');
    assert.equal(other.status, 'active');
  });

  test('unknown or malformed id -> 404', async () => {
    const s = await signup(gh);
    expectError(await revoke(s, randomUuid()), 404, 'not_found');
    expectError(await revoke(s, 'not-a-uuid'), 404, 'not_found');
    expectError(await revoke(s, '12345'), 404, 'not_found');
  });
});

describe('POST /api/v1/keys/{id}/rotate', () => {
  test('default overlap: same id, new secret', async () => {
    const s = await signup(gh);
    const created = await createOk(s, { name: 'rotating', scopes: ['provider:openai'] });
    const res = await gh.api('POST', `/api/v1/keys/${created.key.id}/rotate`, { token: s.token });
    const json = expectOk(res);
    assert.deepEqual(Object.keys(json).sort(), ['key', 'message', 'overlap_hours', 'raw_key']);
    assert.match(json.raw_key, API_KEY);
    assert.notEqual(json.raw_key, created.raw_key);
    assert.equal(json.overlap_hours, 24);
    assert.equal(typeof json.message, 'string');
    assert.ok(json.message.length > 0);
    assertKey(json.key, {
      id: created.key.id, name: 'rotating', scopes: ['provider:openai'], status: 'active',
      key_prefix: json.raw_key.slice(0, 12),
    });
    assertNoLeak(res.text, [created.raw_key]);

    const keys = await list(s);
    assert.equal(keys.length, 2, 'rotation keeps one row per key');
    const listed = keys.find((k) => k.id === created.key.id);
    assert.equal(listed.key_prefix, json.raw_key.slice(0, 12));
    assert.equal(listed.status, 'active');
  });

  test('explicit overlap_hours', async () => {
    const s = await signup(gh);
    const { key } = await createOk(s, { name: 'r' });
    for (const hours of [0, 1, 168]) {
      const json = expectOk(await rotate(s, key.id, { overlap_hours: hours }));
      assert.equal(json.overlap_hours, hours);
      assert.equal(json.key.id, key.id);
    }
    assert.equal(expectOk(await rotate(s, key.id, {})).overlap_hours, 24);
  });

  test('bad overlap_hours -> 400 naming it', async () => {
    const s = await signup(gh);
    const { key } = await createOk(s, { name: 'r' });
    for (const bad of [169, -1, 'x', '24', 1.5, true]) {
      expectError(await rotate(s, key.id, { overlap_hours: bad }), 400, 'invalid_request', 'overlap_hours');
    }
    expectError(await rotate(s, key.id, { overlap: 24 }), 400, 'invalid_request', 'overlap');
    expectError(await gh.api('POST', `/api/v1/keys/${key.id}/rotate`, { token: s.token, raw: '{"overlap_hours":' }),
      400, 'invalid_request');
    const listed = (await list(s)).find((k) => k.id === key.id);
    assert.equal(listed.key_prefix, key.key_prefix, 'failed rotations change nothing');
  });

  test('unknown, malformed or revoked id -> 404', async () => {
    const s = await signup(gh);
    expectError(await rotate(s, randomUuid(), {}), 404, 'not_found');
    expectError(await rotate(s, 'nope', {}), 404, 'not_found');
    const { key } = await createOk(s, { name: 'gone' });
    expectOk(await revoke(s, key.id));
    expectError(await rotate(s, key.id, {}), 404, 'not_found');
  });

  test('rotating at the key limit works (no new key is added)', async () => {
    const s = await signup(gh);
    for (let i = 0; i < 4; i++) await createOk(s, { name: `k${i}` });
    const keys = await list(s);
    assert.equal(keys.length, 5);
    expectOk(await rotate(s, keys[0].id, { overlap_hours: 0 }));
    assert.equal((await list(s)).length, 5);
  });
});

describe('plan limits', () => {
  test('free: 5 active keys, the default key included; revoking frees a slot', async () => {
    const s = await signup(gh);
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await createOk(s, { name: `k${i}` }));
    expectError(await create(s, { name: 'sixth' }), 403, 'limit_exceeded');
    assert.equal((await list(s)).length, 5);

    expectOk(await revoke(s, made[0].key.id));
    await createOk(s, { name: 'replacement' });
    expectError(await create(s, { name: 'again' }), 403, 'limit_exceeded');

    const def = (await list(s)).find((k) => k.name === 'Default');
    expectOk(await revoke(s, def.id));
    await createOk(s, { name: 'instead-of-default' });
    expectError(await create(s, { name: 'again' }), 403, 'limit_exceeded');
    const keys = await list(s);
    assert.equal(keys.filter((k) => k.status === 'active').length, 5);
    assert.equal(keys.filter((k) => k.status === 'revoked').length, 2);
  });

  test('free: concurrent creations never pass the limit', async () => {
    const s = await signup(gh);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create(s, { name: `c${i}` })));
    const ok = results.filter((r) => r.status === 201);
    assert.equal(ok.length, 4, results.map((r) => r.status).join(','));
    for (const r of results.filter((x) => x.status !== 201)) expectError(r, 403, 'limit_exceeded');
    assert.equal((await list(s)).filter((k) => k.status === 'active').length, 5);
  });

  test('enterprise: 100 active keys; downgrading keeps keys but blocks new ones', async () => {
    const s = await signup(gh);
    await setPlan(gh, s.org.id, 'enterprise');
    for (let i = 0; i < 99; i++) await createOk(s, { name: `bulk-${i}` });
    expectError(await create(s, { name: 'one-too-many' }), 403, 'limit_exceeded');
    const keys = await list(s);
    assert.equal(keys.length, 100);
    assert.equal(new Set(keys.map((k) => k.id)).size, 100);

    await setPlan(gh, s.org.id, 'free');
    expectError(await create(s, { name: 'after-downgrade' }), 403, 'limit_exceeded');
    assert.equal((await list(s)).filter((k) => k.status === 'active').length, 100);
  });
});

describe('tenant isolation', () => {
  test("another org can neither see nor touch this org's keys", async () => {
    const a = await signup(gh);
    const b = await signup(gh);
    const { key } = await createOk(a, { name: 'private' });
    const aDefault = (await list(a)).find((k) => k.name === 'Default');

    const bKeys = await list(b);
    assert.equal(bKeys.length, 1);
    for (const id of [key.id, aDefault.id]) {
      assert.ok(!bKeys.some((k) => k.id === id));
      expectError(await revoke(b, id), 404, 'not_found');
      expectError(await rotate(b, id, {}), 404, 'not_found');
    }
    const aKeys = await list(a);
    const after = aKeys.find((k) => k.id === key.id);
    assert.equal(after.status, 'active');
    assert.equal(after.key_prefix, key.key_prefix);
    assert.equal(aKeys.find((k) => k.id === aDefault.id).status, 'active');
  });

  test('the same user in two orgs sees each org\'s keys with the matching token', async () => {
    const u = await signup(gh);
    const second = expectOk(await gh.api('POST', '/api/v1/signup', {
      body: {
        email: u.email, password: u.password, org_slug: `${u.slug}-b`, org_name: 'B', display_name: 'U',
      },
    }), 201);
    const inB = await createOk({ token: second.token }, { name: 'only-in-b' });
    assert.ok(!(await list(u)).some((k) => k.id === inB.key.id));
    expectError(await revoke(u, inB.key.id), 404, 'not_found');
    assert.ok((await list({ token: second.token })).some((k) => k.id === inB.key.id));
  });
});
