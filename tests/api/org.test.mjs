// GET/PUT /api/v1/org, plan-dependent settings and entitlements.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  UUID_V4, assertRecentTimestamp, expectError, expectOk, expectedEntitlements, setPlan, signup,
  startGatehouse,
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

const getOrg = (s) => gh.api('GET', '/api/v1/org', { token: s.token });
const putOrg = (s, body) => gh.api('PUT', '/api/v1/org', { token: s.token, body });
const entitlements = async (s) =>
  expectOk(await gh.api('GET', '/api/v1/auth/entitlements', { token: s.token }));

function assertOrgShape(json, s, { name, plan, settings }) {
  assert.deepEqual(Object.keys(json).sort(), ['created_at', 'id', 'name', 'plan', 'settings', 'slug']);
  assert.match(json.id, UUID_V4);
  assert.equal(json.id, s.org.id);
  assert.equal(json.slug, s.slug);
  assert.equal(json.name, name);
  assert.equal(json.plan, plan);
  assertRecentTimestamp(json.created_at);
  assert.deepEqual(json.settings, settings);
}

describe('GET /api/v1/org', () => {
  test('free org defaults', async () => {
    const s = await signup(gh);
    const json = expectOk(await getOrg(s));
    assertOrgShape(json, s, {
      name: s.body.org_name, plan: 'free', settings: { log_bodies: false, log_retention_days: 7 },
    });
    // created_at does not move
    const again = expectOk(await getOrg(s));
    assert.equal(again.created_at, json.created_at);
  });

  test('needs a session token', async () => {
    const s = await signup(gh);
    expectError(await gh.api('GET', '/api/v1/org'), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/org', { key: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/org', { token: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/org', { token: gh.operatorToken }), 401, 'unauthorized');
    expectError(await gh.api('PUT', '/api/v1/org', { token: gh.operatorToken, body: { name: 'x' } }),
      401, 'unauthorized');
  });

  test('each token sees its own org only', async () => {
    const a = await signup(gh);
    const b = await signup(gh);
    assert.equal(expectOk(await getOrg(a)).id, a.org.id);
    assert.equal(expectOk(await getOrg(b)).id, b.org.id);
    expectOk(await putOrg(a, { name: 'Renamed A' }));
    assert.equal(expectOk(await getOrg(b)).name, b.body.org_name);
  });
});

describe('PUT /api/v1/org', () => {
  test('renames and is visible everywhere', async () => {
    const s = await signup(gh);
    const json = expectOk(await putOrg(s, { name: 'Acme Research' }));
    assertOrgShape(json, s, {
      name: 'Acme Research', plan: 'free', settings: { log_bodies: false, log_retention_days: 7 },
    });
    assert.equal(expectOk(await getOrg(s)).name, 'Acme Research');
    const me = expectOk(await gh.api('GET', '/api/v1/auth/me', { token: s.token }));
    assert.equal(me.org.name, 'Acme Research');
    assert.equal(me.org.slug, s.slug);
    const { orgs } = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: s.token }));
    assert.equal(orgs[0].name, 'Acme Research');
  });

  test('name must be 1..100 characters', async () => {
    const s = await signup(gh);
    expectError(await putOrg(s, { name: '' }), 400, 'invalid_request', 'name');
    expectError(await putOrg(s, { name: 'n'.repeat(101) }), 400, 'invalid_request', 'name');
    expectError(await putOrg(s, { name: 7 }), 400, 'invalid_request', 'name');
    expectError(await putOrg(s, { name: null }), 400, 'invalid_request', 'name');
    assert.equal(expectOk(await putOrg(s, { name: 'n'.repeat(100) })).name, 'n'.repeat(100));
  });

  test('log_bodies toggles', async () => {
    const s = await signup(gh);
    let json = expectOk(await putOrg(s, { settings: { log_bodies: true } }));
    assert.deepEqual(json.settings, { log_bodies: true, log_retention_days: 7 });
    assert.equal(json.name, s.body.org_name, 'a settings-only update keeps the name');
    assert.deepEqual(expectOk(await getOrg(s)).settings, { log_bodies: true, log_retention_days: 7 });
    json = expectOk(await putOrg(s, { settings: { log_bodies: false } }));
    assert.equal(json.settings.log_bodies, false);
    expectError(await putOrg(s, { settings: { log_bodies: 'yes' } }), 400, 'invalid_request', 'log_bodies');
    expectError(await putOrg(s, { settings: { log_bodies: 1 } }), 400, 'invalid_request', 'log_bodies');
  });

  test('an empty body changes nothing', async () => {
    const s = await signup(gh);
    const before = expectOk(await getOrg(s));
    assert.deepEqual(expectOk(await putOrg(s, {})), before);
    assert.deepEqual(expectOk(await getOrg(s)), before);
  });

  test('unknown fields, bad shapes and malformed JSON -> 400', async () => {
    const s = await signup(gh);
    expectError(await putOrg(s, { nmae: 'typo' }), 400, 'invalid_request', 'nmae');
    expectError(await putOrg(s, { settings: { log_bodiez: true } }), 400, 'invalid_request', 'log_bodiez');
    expectError(await putOrg(s, { settings: 'log_bodies' }), 400, 'invalid_request', 'settings');
    expectError(await putOrg(s, { settings: [] }), 400, 'invalid_request', 'settings');
    expectError(await gh.api('PUT', '/api/v1/org', { token: s.token, raw: '{"name": }' }), 400, 'invalid_request');
    expectError(await gh.api('PUT', '/api/v1/org', { token: s.token, raw: '"name"' }), 400, 'invalid_request');
    const unchanged = expectOk(await getOrg(s));
    assert.equal(unchanged.name, s.body.org_name);
  });

  test('slug and id are immutable', async () => {
    const s = await signup(gh);
    expectError(await putOrg(s, { slug: `${s.slug}-new` }), 400, 'immutable_field', 'slug');
    expectError(await putOrg(s, { id: '00000000-0000-4000-8000-000000000000' }), 400, 'immutable_field', 'id');
    assert.equal(expectOk(await getOrg(s)).slug, s.slug);
  });

  test('free org: log_retention_days -> 403 plan_required and nothing changes', async () => {
    const s = await signup(gh);
    const res = await putOrg(s, { name: 'Should Not Stick', settings: { log_bodies: true, log_retention_days: 30 } });
    expectError(res, 403, 'plan_required');
    const json = expectOk(await getOrg(s));
    assert.equal(json.name, s.body.org_name);
    assert.deepEqual(json.settings, { log_bodies: false, log_retention_days: 7 });
    assert.deepEqual(await entitlements(s), expectedEntitlements(s.org.id, 'free'));
  });
});

describe('enterprise org', () => {
  let s;
  before(async () => {
    s = await signup(gh);
    const updated = await setPlan(gh, s.org.id, 'enterprise');
    assert.equal(updated.plan, 'enterprise');
  });

  test('the plan change shows at once', async () => {
    assert.deepEqual(await entitlements(s), expectedEntitlements(s.org.id, 'enterprise', 90));
    const json = expectOk(await getOrg(s));
    assertOrgShape(json, s, {
      name: s.body.org_name, plan: 'enterprise', settings: { log_bodies: false, log_retention_days: 90 },
    });
    const me = expectOk(await gh.api('GET', '/api/v1/auth/me', { token: s.token }));
    assert.equal(me.org.plan, 'enterprise');
    const { orgs } = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: s.token }));
    assert.equal(orgs[0].plan, 'enterprise');
    const login = expectOk(await gh.api('POST', '/api/v1/login', { body: { email: s.email, password: s.password } }));
    assert.equal(login.org.plan, 'enterprise');
  });

  test('log_retention_days 1..3650 or null', async () => {
    for (const days of [1, 30, 3650]) {
      const json = expectOk(await putOrg(s, { settings: { log_retention_days: days } }));
      assert.equal(json.settings.log_retention_days, days);
      assert.equal(json.settings.log_bodies, false);
      assert.equal(expectOk(await getOrg(s)).settings.log_retention_days, days);
      assert.deepEqual(await entitlements(s), expectedEntitlements(s.org.id, 'enterprise', days));
    }
    const json = expectOk(await putOrg(s, { settings: { log_retention_days: null } }));
    assert.equal(json.settings.log_retention_days, null);
    assert.ok('log_retention_days' in json.settings, 'null is shown, not dropped');
    assert.equal(expectOk(await getOrg(s)).settings.log_retention_days, null);
    assert.deepEqual(await entitlements(s), expectedEntitlements(s.org.id, 'enterprise', null));
  });

  test('out-of-range or ill-typed log_retention_days -> 400 and nothing changes', async () => {
    expectOk(await putOrg(s, { settings: { log_retention_days: 45 } }));
    for (const bad of [0, -1, 3651, 1.5, '30', true, []]) {
      expectError(await putOrg(s, { settings: { log_retention_days: bad } }),
        400, 'invalid_request', 'log_retention_days');
    }
    assert.equal(expectOk(await getOrg(s)).settings.log_retention_days, 45);
  });

  test('name and settings together', async () => {
    const json = expectOk(await putOrg(s, { name: 'Big Co', settings: { log_bodies: true, log_retention_days: 14 } }));
    assert.equal(json.name, 'Big Co');
    assert.deepEqual(json.settings, { log_bodies: true, log_retention_days: 14 });
  });

  test('back to free: the free limits apply again', async () => {
    const updated = await setPlan(gh, s.org.id, 'free');
    assert.equal(updated.plan, 'free');
    assert.deepEqual(await entitlements(s), expectedEntitlements(s.org.id, 'free'));
    const json = expectOk(await getOrg(s));
    assert.equal(json.plan, 'free');
    assert.equal(json.settings.log_retention_days, 7);
    expectError(await putOrg(s, { settings: { log_retention_days: 10 } }), 403, 'plan_required');
  });
});
