// Model aliases: the org's table (GET/PUT /api/v1/aliases, every plan), the
// app's `aliases` (which win over the org's), validation in the API's error
// shape, resolution before provider selection, scopes checked on the
// resolved model, X-Gatehouse-Model on the answer, both names on the log,
// audit entries.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, expectError, expectOk, hex, setPlan, signup, startGatehouse, streamRequest, waitForLog,
} from './harness.mjs';
import {
  allAudit, as, expectForbidden, join, proxyChat, startTinyUpstream,
} from './governance_helpers.mjs';
import { startMockUpstream } from './mock_upstream.mjs';

let gh;
let up;
let mock;

before(async () => {
  up = await startTinyUpstream();
  mock = await startMockUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await up?.close();
  await mock?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// A free org with provider `openai` on the tiny upstream under a label of
/// its own.
async function orgWithProvider() {
  const s = await signup(gh);
  s.label = `alias-${hex(4)}`;
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(s.label), api_key: `sk-up-${hex(12)}`,
  }), 201);
  return s;
}

const putAliases = (s, aliases) => as(gh, s).put('/api/v1/aliases', { aliases });
const sentModel = (s) => up.of(s.label).at(-1).json.model;

async function keyWith(s, body) {
  return expectOk(await as(gh, s).post('/api/v1/keys', { name: `k-${hex(3)}`, ...body }), 201);
}

describe('the alias table', () => {
  test('every plan reads and writes it; viewers read, only admins write', async () => {
    const s = await orgWithProvider();
    assert.deepEqual(expectOk(await as(gh, s).get('/api/v1/aliases')), { aliases: {} });
    const put = expectOk(await putAliases(s, { fast: 'openai/gpt-4o-mini', smart: 'gpt-4o' }));
    assert.deepEqual(put, { aliases: { fast: 'openai/gpt-4o-mini', smart: 'gpt-4o' } });
    assert.deepEqual(expectOk(await as(gh, s).get('/api/v1/aliases')), put);
    const viewer = await join(gh, s, 'viewer');
    assert.deepEqual(expectOk(await as(gh, viewer).get('/api/v1/aliases')), put);
    expectForbidden(await putAliases(viewer, {}));
    const member = await join(gh, s, 'member');
    expectForbidden(await putAliases(member, {}));
    // PUT replaces the whole table.
    assert.deepEqual(expectOk(await putAliases(s, { quick: 'gpt-4o-mini' })), { aliases: { quick: 'gpt-4o-mini' } });
    assert.deepEqual(expectOk(await putAliases(s, {})), { aliases: {} });
  });

  test('invalid tables are refused in the API error shape, naming the field', async () => {
    const s = await orgWithProvider();
    const bad = [
      [['fast'], 'aliases'],
      ['fast', 'aliases'],
      [{ '': 'gpt-4o' }, 'aliases'],
      [{ fast: '' }, 'aliases.fast'],
      [{ fast: 42 }, 'aliases.fast'],
      [{ fast: null }, 'aliases.fast'],
      [{ fast: 'gpt 4o' }, 'aliases.fast'],
      [{ 'two words': 'gpt-4o' }, 'aliases.two words'],
      [{ fast: 'x'.repeat(257) }, 'aliases.fast'],
      [{ ['n'.repeat(129)]: 'gpt-4o' }, 'aliases.'],
      [{ fast: 'cheap', cheap: 'gpt-4o-mini' }, 'aliases.fast'],
      [{ loop: 'loop' }, 'aliases.loop'],
      [Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`a${i}`, 'gpt-4o'])), 'aliases'],
    ];
    for (const [aliases, field] of bad) {
      expectError(await putAliases(s, aliases), 400, 'invalid_request', field);
    }
    expectError(await as(gh, s).put('/api/v1/aliases', {}), 400, 'invalid_request', 'aliases');
    expectError(await as(gh, s).put('/api/v1/aliases', { aliases: {}, extra: 1 }), 400, 'invalid_request', 'extra');
    expectError(await as(gh, s).post('/api/v1/apps', { name: 'A', aliases: { a: 'b', b: 'c' } }),
      400, 'invalid_request', 'aliases.a');
    expectError(await as(gh, s).post('/api/v1/apps', { name: 'A', aliases: [] }), 400, 'invalid_request', 'aliases');
    assert.deepEqual(expectOk(await as(gh, s).get('/api/v1/aliases')), { aliases: {} }, 'nothing was stored');
  });

  test('changes are audited: the org table as aliases.update, an app with its aliases', async () => {
    const s = await orgWithProvider();
    expectOk(await putAliases(s, { fast: 'gpt-4o-mini' }));
    expectOk(await putAliases(s, { fast: 'gpt-4o' }));
    const app = expectOk(await as(gh, s).post('/api/v1/apps', { name: 'Bot', aliases: { fast: 'gpt-4o' } }), 201);
    assert.deepEqual(app.aliases, { fast: 'gpt-4o' });
    const updated = expectOk(await as(gh, s).put(`/api/v1/apps/${app.id}`, { aliases: {} }));
    assert.deepEqual(updated.aliases, {});
    await setPlan(gh, s.org.id, 'enterprise'); // to read the audit log
    const audit = await allAudit(gh, s);
    const org = audit.filter((e) => e.action === 'aliases.update');
    assert.equal(org.length, 2, 'one entry per change');
    assert.ok(org.some((e) => e.before?.aliases?.fast === 'gpt-4o-mini' && e.after?.aliases?.fast === 'gpt-4o'),
      JSON.stringify(org));
    const appEntries = audit.filter((e) => e.action === 'app.update' && e.target_id === app.id);
    assert.ok(appEntries.some((e) => e.before?.aliases?.fast === 'gpt-4o' && Object.keys(e.after?.aliases ?? { x: 1 }).length === 0),
      `the app's alias change is not audited: ${JSON.stringify(appEntries)}`);
  });
});

describe('resolution', () => {
  test('an org alias is resolved before provider selection; the answer and the log name both models', async () => {
    const s = await orgWithProvider();
    expectOk(await putAliases(s, { fast: 'openai/gpt-4o-mini' }));
    const res = await proxyChat(gh, s.apiKey, { model: 'fast' });
    expectOk(res);
    assert.equal(res.headers['x-gatehouse-provider'], 'openai');
    assert.equal(res.headers['x-gatehouse-model'], 'gpt-4o-mini');
    assert.equal(sentModel(s), 'gpt-4o-mini', 'the upstream got the resolved model');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(log.model, 'gpt-4o-mini');
    assert.equal(log.requested_model, 'fast');
    assert.equal(log.provider, 'openai');

    // A model that is no alias passes as it is.
    const plain = await proxyChat(gh, s.apiKey, { model: 'openai/gpt-4o' });
    expectOk(plain);
    assert.equal(plain.headers['x-gatehouse-model'], undefined);
    assert.equal(sentModel(s), 'gpt-4o');
    const plainLog = await waitForLog(gh, s, plain.headers['x-gatehouse-request-id']);
    assert.equal(plainLog.model, 'gpt-4o');
    assert.equal(plainLog.requested_model, null);
  });

  test('the app table wins over the org table', async () => {
    const s = await orgWithProvider();
    expectOk(await putAliases(s, { fast: 'openai/gpt-4o-mini', cheap: 'openai/gpt-3.5-turbo' }));
    const app = expectOk(await as(gh, s).post('/api/v1/apps', {
      name: 'Support', aliases: { fast: 'openai/gpt-4o' },
    }), 201);
    const { raw_key: appKey } = await keyWith(s, { app_id: app.id });
    const viaApp = await proxyChat(gh, appKey, { model: 'fast' });
    expectOk(viaApp);
    assert.equal(sentModel(s), 'gpt-4o');
    assert.equal(viaApp.headers['x-gatehouse-model'], 'gpt-4o');
    // The org's aliases still apply to the app's keys.
    expectOk(await proxyChat(gh, appKey, { model: 'cheap' }));
    assert.equal(sentModel(s), 'gpt-3.5-turbo');
    // Keys without the app see the org's table only.
    expectOk(await proxyChat(gh, s.apiKey, { model: 'fast' }));
    assert.equal(sentModel(s), 'gpt-4o-mini');
    // A change applies to the next request.
    expectOk(await as(gh, s).put(`/api/v1/apps/${app.id}`, { aliases: {} }));
    expectOk(await proxyChat(gh, appKey, { model: 'fast' }));
    assert.equal(sentModel(s), 'gpt-4o-mini');
  });

  test('scopes apply to the resolved model', async () => {
    const s = await orgWithProvider();
    expectOk(await putAliases(s, { fast: 'openai/gpt-4o-mini', big: 'openai/gpt-4o' }));
    const { raw_key: key } = await keyWith(s, { scopes: ['model:gpt-4o-mini'] });
    expectOk(await proxyChat(gh, key, { model: 'fast' }));
    const before = up.of(s.label).length;
    expectError(await proxyChat(gh, key, { model: 'big' }), 403, 'scope_denied', 'gpt-4o');
    // A scope naming the alias does not open its target.
    const { raw_key: aliasScoped } = await keyWith(s, { scopes: ['model:big'] });
    expectError(await proxyChat(gh, aliasScoped, { model: 'big' }), 403, 'scope_denied');
    assert.equal(up.of(s.label).length, before, 'nothing reached the provider');
  });

  test('streams are resolved the same way', async () => {
    const s = await signup(gh);
    expectOk(await as(gh, s).post('/api/v1/providers', {
      name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(12)}`,
    }), 201);
    expectOk(await putAliases(s, { fast: 'openai/gpt-4o-mini' }));
    const res = await streamRequest(gh.url, '/v1/chat/completions', {
      key: s.apiKey,
      body: { model: 'fast', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-gatehouse-model'], 'gpt-4o-mini');
    const rec = mock.lastRequest((r) => r.label === 'openai');
    assert.equal(rec.json.model, 'gpt-4o-mini');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(log.requested_model, 'fast');
    assert.equal(log.model, 'gpt-4o-mini');
    assert.equal(log.stream, true);
  });
});
