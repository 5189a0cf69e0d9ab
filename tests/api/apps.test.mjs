// Apps (projects): creation and slugs, immutable fields, disabling an app,
// info counters, the env tag on logs, and deletion with its cascade.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, UUID_V4, assertRecentTimestamp, expectError, expectOk, getLogs, hex, poll, randomUuid, signup,
  startGatehouse, waitForLog,
} from './harness.mjs';
import { allAudit, as, enterpriseOrg, proxyChat, startTinyUpstream } from './governance_helpers.mjs';

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

const APP_FIELDS = ['aliases', 'cache', 'created_at', 'description', 'env', 'guardrails', 'id', 'is_active', 'metadata', 'name',
  'project_type', 'slug'];

function assertApp(a, expected = {}) {
  assert.deepEqual(Object.keys(a).sort(), APP_FIELDS, `app fields: ${JSON.stringify(a)}`);
  assert.match(a.id, UUID_V4);
  assertRecentTimestamp(a.created_at);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(a[k], v, `app.${k}`);
}

const createApp = (s, body) => as(gh, s).post('/api/v1/apps', body);
const createOk = async (s, body) => expectOk(await createApp(s, body), 201);
const getApp = (s, id) => as(gh, s).get(`/api/v1/apps/${id}`);
const putApp = (s, id, body) => as(gh, s).put(`/api/v1/apps/${id}`, body);
const listApps = async (s) => expectOk(await as(gh, s).get('/api/v1/apps')).apps;

/// An org (free unless asked) with provider `openai` on the upstream.
async function orgWithProvider(plan = 'free') {
  const s = plan === 'enterprise' ? await enterpriseOrg(gh) : await signup(gh);
  s.label = `apps-${hex(4)}`;
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(s.label), api_key: `sk-up-${hex(12)}`,
  }), 201);
  return s;
}

async function appKey(s, appId, name = `k-${hex(3)}`) {
  return expectOk(await as(gh, s).post('/api/v1/keys', { name, app_id: appId }), 201);
}

const chat = (key) => proxyChat(gh, key, { headers: { 'x-gatehouse-provider': 'openai' } });

describe('POST /api/v1/apps', () => {
  test('defaults and the slug from the name', async () => {
    const s = await signup(gh);
    const a = await createOk(s, { name: 'Customer Support AI' });
    assertApp(a, {
      name: 'Customer Support AI', slug: 'customer-support-ai', description: '', project_type: 'ai_gateway',
      env: 'dev', is_active: true, metadata: {},
    });
    assert.equal((await createOk(s, { name: 'Customer Support AI' })).slug, 'customer-support-ai-2');
    assert.equal((await createOk(s, { name: 'customer support ai' })).slug, 'customer-support-ai-3');
    assert.equal((await createOk(s, { name: 'ACME: Billing & Payments!' })).slug, 'acme-billing-payments');
    // Slugs are per org.
    const other = await signup(gh);
    assert.equal((await createOk(other, { name: 'Customer Support AI' })).slug, 'customer-support-ai');
  });

  test('every field given', async () => {
    const s = await signup(gh);
    const metadata = { owner: 'support', tier: 2, tags: ['a', 'b'], nested: { on: true } };
    const body = {
      name: 'Agent Hub', description: 'MCP tools', project_type: 'mcp_gateway', env: 'prod', is_active: false, metadata,
    };
    const a = await createOk(s, body);
    assertApp(a, { ...body, slug: 'agent-hub' });
    for (const project_type of ['ai_wrapper', 'api_gateway', 'ai_gateway']) {
      assert.equal((await createOk(s, { name: `T ${project_type}`, project_type })).project_type, project_type);
    }
    assert.equal((await createOk(s, { name: 'Staged', env: 'staging' })).env, 'staging');
  });

  test('bad fields -> 400 naming them; nothing is created', async () => {
    const s = await signup(gh);
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 7 }, 'name'],
      [{ name: 'x', project_type: 'llm_gateway' }, 'project_type'],
      [{ name: 'x', project_type: null }, 'project_type'],
      [{ name: 'x', env: 'production' }, 'env'],
      [{ name: 'x', env: 3 }, 'env'],
      [{ name: 'x', is_active: 'yes' }, 'is_active'],
      [{ name: 'x', metadata: [] }, 'metadata'],
      [{ name: 'x', metadata: 'text' }, 'metadata'],
      [{ name: 'x', slug: 'chosen' }, 'slug'],
      [{ name: 'x', colour: 'red' }, 'colour'],
    ]) {
      expectError(await createApp(s, body), 400, 'invalid_request', field);
    }
    assert.deepEqual(await listApps(s), []);
  });
});

describe('GET and PUT /api/v1/apps/{id}', () => {
  test('get and list', async () => {
    const s = await signup(gh);
    const a = await createOk(s, { name: 'One' });
    const b = await createOk(s, { name: 'Two', env: 'prod' });
    assert.deepEqual(expectOk(await getApp(s, a.id)), a);
    const apps = await listApps(s);
    assert.deepEqual(apps.map((x) => x.id).sort(), [a.id, b.id].sort());
    assert.deepEqual(apps.find((x) => x.id === b.id), b);
    expectError(await getApp(s, randomUuid()), 404, 'not_found');
    expectError(await getApp(s, 'one'), 404, 'not_found');
  });

  test('slug, project_type and id are immutable', async () => {
    const s = await signup(gh);
    const a = await createOk(s, { name: 'Fixed', project_type: 'ai_wrapper' });
    for (const [field, value] of [['slug', 'other-slug'], ['project_type', 'api_gateway'], ['id', randomUuid()]]) {
      expectError(await putApp(s, a.id, { [field]: value }), 400, 'immutable_field', field);
      expectError(await putApp(s, a.id, { name: 'Not Applied', [field]: value }), 400, 'immutable_field', field);
    }
    assert.deepEqual(expectOk(await getApp(s, a.id)), a);
  });

  test('name, description, env, is_active and metadata are editable', async () => {
    const s = await signup(gh);
    const a = await createOk(s, { name: 'Editable', metadata: { a: 1 } });
    let u = expectOk(await putApp(s, a.id, { name: 'Renamed App', description: 'now described' }));
    assertApp(u, {
      id: a.id, name: 'Renamed App', slug: 'editable', description: 'now described', env: 'dev', is_active: true,
      metadata: { a: 1 }, created_at: a.created_at, project_type: 'ai_gateway',
    });
    u = expectOk(await putApp(s, a.id, { env: 'staging', is_active: false, metadata: { b: [2] } }));
    assertApp(u, { name: 'Renamed App', env: 'staging', is_active: false, metadata: { b: [2] } });
    assert.deepEqual(expectOk(await getApp(s, a.id)), u);
    assert.deepEqual(expectOk(await putApp(s, a.id, {})), u, 'an empty update changes nothing');
    for (const [body, field] of [
      [{ env: 'qa' }, 'env'], [{ is_active: 1 }, 'is_active'], [{ metadata: null }, 'metadata'], [{ name: '' }, 'name'],
      [{ bogus: 1 }, 'bogus'],
    ]) {
      expectError(await putApp(s, a.id, body), 400, 'invalid_request', field);
    }
    assert.deepEqual(expectOk(await getApp(s, a.id)), u);
    expectError(await putApp(s, randomUuid(), { name: 'x' }), 404, 'not_found');
  });
});

describe('app keys on the data plane', () => {
  test('a disabled app refuses its keys with 403 app_inactive; enabling restores them', async () => {
    const s = await orgWithProvider();
    const a = await createOk(s, { name: 'Switchable' });
    const k1 = await appKey(s, a.id);
    const k2 = await appKey(s, a.id);
    assert.equal(k1.key.app_id, a.id);
    assert.equal((await chat(k1.raw_key)).status, 200);

    expectOk(await putApp(s, a.id, { is_active: false }));
    const reached = up.of(s.label).length;
    for (const k of [k1, k2]) {
      expectError(await chat(k.raw_key), 403, 'app_inactive');
      expectError(await gh.api('GET', '/v1/models', { key: k.raw_key }), 403, 'app_inactive');
    }
    assert.equal(up.of(s.label).length, reached, 'nothing reaches the upstream');
    assert.equal((await chat(s.apiKey)).status, 200, 'keys outside the app still work');

    expectOk(await putApp(s, a.id, { is_active: true }));
    for (const k of [k1, k2]) assert.equal((await chat(k.raw_key)).status, 200);
  });

  test('info counts the keys and requests of the app', async () => {
    const s = await orgWithProvider();
    const a = await createOk(s, { name: 'Counted', project_type: 'api_gateway', env: 'prod' });
    const other = await createOk(s, { name: 'Elsewhere' });
    const k1 = await appKey(s, a.id);
    await appKey(s, a.id);
    const k3 = await appKey(s, other.id);
    const info = async (id) => expectOk(await as(gh, s).get(`/api/v1/apps/${id}/info`));
    assert.deepEqual(await info(a.id), {
      id: a.id, name: 'Counted', project_type: 'api_gateway', env: 'prod', is_active: true, keys: 2, requests: 0,
    });
    for (let i = 0; i < 3; i++) assert.equal((await chat(k1.raw_key)).status, 200);
    assert.equal((await chat(k3.raw_key)).status, 200);
    await poll(async () => (await info(a.id)).requests === 3, { what: '3 requests on the app' });
    await poll(async () => (await info(other.id)).requests === 1, { what: '1 request on the other app' });
    assert.deepEqual(await info(other.id), {
      id: other.id, name: 'Elsewhere', project_type: 'ai_gateway', env: 'dev', is_active: true, keys: 1, requests: 1,
    });
    expectError(await as(gh, s).get(`/api/v1/apps/${randomUuid()}/info`), 404, 'not_found');
  });

  test("logs of an app's key carry its env at the time of the request", async () => {
    const s = await orgWithProvider();
    const a = await createOk(s, { name: 'Tagged', env: 'staging' });
    const k = await appKey(s, a.id);
    const r1 = await chat(k.raw_key);
    const e1 = await waitForLog(gh, s, r1.headers['x-gatehouse-request-id']);
    assert.equal(e1.env, 'staging');
    assert.equal(e1.app_id, a.id);
    expectOk(await putApp(s, a.id, { env: 'prod' }));
    const r2 = await chat(k.raw_key);
    const e2 = await waitForLog(gh, s, r2.headers['x-gatehouse-request-id']);
    assert.equal(e2.env, 'prod');
    const again = expectOk(await getLogs(gh, s, { app_id: a.id })).logs;
    assert.deepEqual(again.map((l) => l.env).sort(), ['prod', 'staging']);
    const plain = await chat(s.apiKey);
    assert.equal((await waitForLog(gh, s, plain.headers['x-gatehouse-request-id'])).env, null);
  });
});

describe('DELETE /api/v1/apps/{id}', () => {
  test('cascades to keys and logs; the audit log keeps the deletion', async () => {
    const s = await orgWithProvider('enterprise');
    const a = await createOk(s, { name: 'Short Lived' });
    const keep = await createOk(s, { name: 'Keeper' });
    const k = await appKey(s, a.id);
    const kept = await appKey(s, keep.id);
    const gone = await chat(k.raw_key);
    const stays = await chat(kept.raw_key);
    await waitForLog(gh, s, gone.headers['x-gatehouse-request-id']);
    await waitForLog(gh, s, stays.headers['x-gatehouse-request-id']);

    const res = expectOk(await as(gh, s).del(`/api/v1/apps/${a.id}`));
    assert.deepEqual(res, { deleted: true, id: a.id });
    expectError(await getApp(s, a.id), 404, 'not_found');
    expectError(await as(gh, s).get(`/api/v1/apps/${a.id}/info`), 404, 'not_found');
    expectError(await as(gh, s).del(`/api/v1/apps/${a.id}`), 404, 'not_found');
    assert.deepEqual((await listApps(s)).map((x) => x.id), [keep.id]);

    const { keys } = expectOk(await as(gh, s).get('/api/v1/keys'));
    assert.ok(!keys.some((x) => x.id === k.key.id), "the app's keys are gone");
    assert.ok(keys.some((x) => x.id === kept.key.id));
    expectError(await chat(k.raw_key), 401, 'unauthorized');
    assert.equal((await chat(kept.raw_key)).status, 200);

    const logs = expectOk(await getLogs(gh, s, { limit: 500 })).logs;
    assert.ok(!logs.some((l) => l.request_id === gone.headers['x-gatehouse-request-id']), "the app's logs are gone");
    assert.ok(!logs.some((l) => l.app_id === a.id));
    assert.ok(logs.some((l) => l.request_id === stays.headers['x-gatehouse-request-id']));
    assert.deepEqual(expectOk(await getLogs(gh, s, { app_id: a.id })).logs, []);

    const deletions = await allAudit(gh, s, { action: 'app.delete' });
    assert.equal(deletions.length, 1);
    assert.equal(deletions[0].target_id, a.id);
    assert.equal(deletions[0].target_type, 'app');
    assert.equal(deletions[0].actor_id, s.user.id);
    const history = await allAudit(gh, s, { target_id: a.id });
    assert.deepEqual(history.map((e) => e.action).sort(), ['app.create', 'app.delete']);

    expectError(await as(gh, s).post('/api/v1/keys', { name: 'late', app_id: a.id }), 400, 'invalid_request', 'app_id');
  });
});
