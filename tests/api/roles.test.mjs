// The permission matrix: every management route, called by an owner, an
// admin, a member and a viewer of one (enterprise) organization. A refused
// call is 403 forbidden and leaves the organization exactly as it was.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PROXY_ARGS, expectError, expectOk, hex, startGatehouse } from './harness.mjs';
import {
  accept, allAudit, as, enterpriseOrg, expectForbidden, invite, join, newEmail, startTinyUpstream,
} from './governance_helpers.mjs';

const ROLES = ['owner', 'admin', 'member', 'viewer'];
const ALL = ROLES;
const ADMINS = ['owner', 'admin'];
const MEMBERS = ['owner', 'admin', 'member'];

let gh;
let up;
let owner;
const who = {};
let memberTeam;
let otherTeam;
let app;
let providerName;

before(async () => {
  up = await startTinyUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
  owner = await enterpriseOrg(gh);
  const o = as(gh, owner);
  memberTeam = expectOk(await o.post('/api/v1/teams', { name: 'members-team' }), 201);
  otherTeam = expectOk(await o.post('/api/v1/teams', { name: 'other-team' }), 201);
  app = expectOk(await o.post('/api/v1/apps', { name: 'Matrix App' }), 201);
  providerName = 'matrix-openai';
  expectOk(await o.post('/api/v1/providers', {
    name: providerName, base_url: up.base(providerName), api_key: `sk-up-${hex(12)}`,
  }), 201);
  who.owner = owner;
  who.admin = await join(gh, owner, 'admin');
  who.member = await join(gh, owner, 'member', { team_id: memberTeam.id });
  who.viewer = await join(gh, owner, 'viewer');
  // Some traffic, so that logs and usage have something to show.
  const res = await gh.api('POST', '/v1/chat/completions', {
    key: owner.apiKey, headers: { 'x-gatehouse-provider': providerName },
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(res.status, 200, res.text);
});

after(async () => {
  await up?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

// ---------------------------------------------------------------------------
// What the owner sees: the state a refused call must not change.

const ownerGet = async (p) => expectOk(await gh.api('GET', p, { token: owner.token }));
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const STATE = {
  org: () => ownerGet('/api/v1/org'),
  users: async () => (await ownerGet('/api/v1/users')).users
    .map(({ id, role, status, team_id, email }) => ({ id, role, status, team_id, email })).sort(byId),
  teams: async () => (await ownerGet('/api/v1/teams')).teams
    .map(({ id, name, description, monthly_spend_limit_usd }) => ({ id, name, description, monthly_spend_limit_usd }))
    .sort(byId),
  apps: async () => (await ownerGet('/api/v1/apps')).apps.sort(byId),
  keys: async () => (await ownerGet('/api/v1/keys')).keys
    .map(({ id, name, status, key_prefix, team_id, app_id, scopes }) => ({
      id, name, status, key_prefix, team_id, app_id, scopes,
    })).sort(byId),
  providers: () => ownerGet('/api/v1/providers'),
  pricing: () => ownerGet('/api/v1/pricing'),
};

/// How many audit entries name `role`'s member as the actor: a refused call
/// must not add one.
async function auditCount(role) {
  const actor = role === 'owner' ? owner.user.id : who[role].id;
  return (await allAudit(gh, owner, { actor_id: actor }, 500)).length;
}

// ---------------------------------------------------------------------------
// Fixtures made fresh for every call that changes something.

const ownerApi = () => as(gh, owner);
const newTeam = async () => expectOk(await ownerApi().post('/api/v1/teams', { name: `t-${hex(4)}` }), 201);
const newApp = async () => expectOk(await ownerApi().post('/api/v1/apps', { name: `App ${hex(4)}` }), 201);
const newOwnerKey = async () => expectOk(await ownerApi().post('/api/v1/keys', { name: `k-${hex(4)}` }), 201).key;
async function newProvider() {
  const name = `p-${hex(4)}`;
  expectOk(await ownerApi().post('/api/v1/providers', {
    name, base_url: up.base(name), api_key: `sk-up-${hex(12)}`,
  }), 201);
  return name;
}

/// Each route: who may call it, how (`call(session, ctx)`), what to make
/// first (`prepare()` -> ctx), which state a refusal must leave alone, and
/// an optional `still(ctx)` check after a refusal.
const ROUTES = [
  // Session and account
  { route: 'GET /api/v1/auth/me', allow: ALL, call: (u) => u.get('/api/v1/auth/me') },
  { route: 'GET /api/v1/auth/entitlements', allow: ALL, call: (u) => u.get('/api/v1/auth/entitlements') },
  { route: 'GET /api/v1/auth/orgs', allow: ALL, call: (u) => u.get('/api/v1/auth/orgs') },
  { route: 'POST /api/v1/auth/switch-org', allow: ALL,
    call: (u) => u.post('/api/v1/auth/switch-org', { org_id: owner.org.id }) },
  // Organization
  { route: 'GET /api/v1/org', allow: ADMINS, call: (u) => u.get('/api/v1/org') },
  { route: 'PUT /api/v1/org', allow: ADMINS, state: 'org',
    call: (u) => u.put('/api/v1/org', { name: `Renamed ${hex(3)}` }) },
  // Members
  { route: 'GET /api/v1/users', allow: ALL, call: (u) => u.get('/api/v1/users') },
  { route: 'POST /api/v1/users/invite', allow: ADMINS, state: 'users', status: 201,
    call: (u) => u.post('/api/v1/users/invite', { email: newEmail('matrix'), role: 'viewer' }) },
  { route: 'PUT /api/v1/users/{id}', allow: ADMINS, state: 'users',
    prepare: async () => ({ target: await join(gh, owner, 'viewer') }),
    call: (u, c) => u.put(`/api/v1/users/${c.target.id}`, { role: 'member', team_id: otherTeam.id }) },
  { route: 'POST /api/v1/users/{id}/suspend', allow: ADMINS, state: 'users',
    prepare: async () => ({ target: await join(gh, owner, 'member') }),
    call: (u, c) => u.post(`/api/v1/users/${c.target.id}/suspend`),
    still: async (c) => expectOk(await gh.api('GET', '/api/v1/auth/me', { token: c.target.token })) },
  { route: 'POST /api/v1/users/{id}/reactivate', allow: ADMINS, state: 'users',
    prepare: async () => {
      const target = await join(gh, owner, 'member');
      expectOk(await ownerApi().post(`/api/v1/users/${target.id}/suspend`));
      return { target };
    },
    call: (u, c) => u.post(`/api/v1/users/${c.target.id}/reactivate`),
    still: async (c) => expectError(await gh.api('GET', '/api/v1/auth/me', { token: c.target.token }),
      403, 'user_suspended') },
  { route: 'POST /api/v1/users/{id}/resend-invite', allow: ADMINS, state: 'users',
    prepare: async () => ({ inv: await invite(gh, owner, { role: 'viewer' }) }),
    call: (u, c) => u.post(`/api/v1/users/${c.inv.user.id}/resend-invite`),
    still: async (c) => accept(gh, c.inv.invite_token) },
  { route: 'DELETE /api/v1/users/{id}', allow: ADMINS, state: 'users',
    prepare: async () => ({ target: await join(gh, owner, 'member') }),
    call: (u, c) => u.del(`/api/v1/users/${c.target.id}`),
    still: async (c) => expectOk(await gh.api('GET', '/api/v1/auth/me', { token: c.target.token })) },
  // Teams
  { route: 'GET /api/v1/teams', allow: ALL, call: (u) => u.get('/api/v1/teams') },
  { route: 'GET /api/v1/teams/{id}', allow: ALL, call: (u) => u.get(`/api/v1/teams/${otherTeam.id}`) },
  { route: 'POST /api/v1/teams', allow: ADMINS, state: 'teams', status: 201,
    call: (u) => u.post('/api/v1/teams', { name: `new-${hex(4)}`, monthly_spend_limit_usd: 5 }) },
  { route: 'PUT /api/v1/teams/{id}', allow: ADMINS, state: 'teams',
    prepare: async () => ({ team: await newTeam() }),
    call: (u, c) => u.put(`/api/v1/teams/${c.team.id}`, { description: 'changed', monthly_spend_limit_usd: 1 }) },
  { route: 'DELETE /api/v1/teams/{id}', allow: ADMINS, state: 'teams',
    prepare: async () => ({ team: await newTeam() }),
    call: (u, c) => u.del(`/api/v1/teams/${c.team.id}`) },
  // Apps
  { route: 'GET /api/v1/apps', allow: ALL, call: (u) => u.get('/api/v1/apps') },
  { route: 'GET /api/v1/apps/{id}', allow: ALL, call: (u) => u.get(`/api/v1/apps/${app.id}`) },
  { route: 'GET /api/v1/apps/{id}/info', allow: ALL, call: (u) => u.get(`/api/v1/apps/${app.id}/info`) },
  { route: 'POST /api/v1/apps', allow: ADMINS, state: 'apps', status: 201,
    call: (u) => u.post('/api/v1/apps', { name: `Made ${hex(3)}` }) },
  { route: 'PUT /api/v1/apps/{id}', allow: ADMINS, state: 'apps',
    prepare: async () => ({ app: await newApp() }),
    call: (u, c) => u.put(`/api/v1/apps/${c.app.id}`, { is_active: false, env: 'prod' }) },
  { route: 'DELETE /api/v1/apps/{id}', allow: ADMINS, state: 'apps',
    prepare: async () => ({ app: await newApp() }),
    call: (u, c) => u.del(`/api/v1/apps/${c.app.id}`) },
  // Keys (a member's own keys are checked separately below)
  { route: 'GET /api/v1/keys', allow: ALL, call: (u) => u.get('/api/v1/keys') },
  { route: 'POST /api/v1/keys', allow: MEMBERS, state: 'keys', status: 201,
    call: (u) => u.post('/api/v1/keys', { name: `mine-${hex(3)}` }) },
  { route: "DELETE /api/v1/keys/{id} (another user's key)", allow: ADMINS, state: 'keys',
    prepare: async () => ({ key: await newOwnerKey() }),
    call: (u, c) => u.del(`/api/v1/keys/${c.key.id}`) },
  { route: "POST /api/v1/keys/{id}/rotate (another user's key)", allow: ADMINS, state: 'keys',
    prepare: async () => ({ key: await newOwnerKey() }),
    call: (u, c) => u.post(`/api/v1/keys/${c.key.id}/rotate`, { overlap_hours: 0 }) },
  // Providers
  { route: 'GET /api/v1/providers', allow: ALL, call: (u) => u.get('/api/v1/providers') },
  { route: 'GET /api/v1/providers/{name}', allow: ALL, call: (u) => u.get(`/api/v1/providers/${providerName}`) },
  { route: 'POST /api/v1/providers', allow: ADMINS, state: 'providers', status: 201,
    call: (u) => {
      const name = `made-${hex(4)}`;
      return u.post('/api/v1/providers', { name, base_url: up.base(name), api_key: `sk-up-${hex(12)}` });
    } },
  { route: 'PUT /api/v1/providers/{name}', allow: ADMINS, state: 'providers',
    prepare: async () => ({ name: await newProvider() }),
    call: (u, c) => u.put(`/api/v1/providers/${c.name}`, { base_url: up.base('elsewhere'), api_key: `sk-new-${hex(8)}` }) },
  { route: 'DELETE /api/v1/providers/{name}', allow: ADMINS, state: 'providers',
    prepare: async () => ({ name: await newProvider() }),
    call: (u, c) => u.del(`/api/v1/providers/${c.name}`) },
  { route: 'PUT /api/v1/providers/default', allow: ADMINS, state: 'providers',
    prepare: async () => ({ name: await newProvider() }),
    call: (u, c) => u.put('/api/v1/providers/default', { provider_name: c.name }) },
  // Pricing, logs, usage, audit, metrics
  { route: 'GET /api/v1/pricing', allow: ALL, call: (u) => u.get('/api/v1/pricing') },
  { route: 'PUT /api/v1/pricing', allow: ADMINS, state: 'pricing',
    call: (u) => u.put('/api/v1/pricing', {
      models: { [`model-${hex(3)}`]: { input_per_mtok: 1, output_per_mtok: 2 } },
    }) },
  { route: 'GET /api/v1/logs', allow: ALL, call: (u) => u.get('/api/v1/logs') },
  { route: 'GET /api/v1/usage', allow: ALL, call: (u) => u.get('/api/v1/usage?group_by=day') },
  { route: 'GET /api/v1/audit', allow: ADMINS, call: (u) => u.get('/api/v1/audit') },
  { route: 'GET /api/v1/metrics', allow: ADMINS, call: (u) => u.get('/api/v1/metrics') },
];

describe('role x route matrix', () => {
  for (const spec of ROUTES) {
    test(`${spec.route}: ${spec.allow.join(', ')}`, async () => {
      for (const role of ROLES) {
        const ctx = spec.prepare ? await spec.prepare() : {};
        const stateBefore = spec.state ? await STATE[spec.state]() : null;
        const auditBefore = await auditCount(role);
        const res = await spec.call(as(gh, who[role]), ctx);
        const what = `${role} on ${spec.route}`;
        if (spec.allow.includes(role)) {
          assert.equal(res.status, spec.status ?? 200, `${what}: ${res.status} ${res.text}`);
          assert.ok(res.headers['x-gatehouse-request-id']);
        } else {
          assert.equal(res.status, 403, `${what}: ${res.status} ${res.text}`);
          expectForbidden(res);
          if (spec.state) assert.deepEqual(await STATE[spec.state](), stateBefore, `${what} changed ${spec.state}`);
          assert.equal(await auditCount(role), auditBefore, `${what} left an audit entry`);
          if (spec.still) await spec.still(ctx);
        }
      }
    });
  }
});

describe('members and their own keys', () => {
  test('a member lists only their own keys; viewers and admins list all', async () => {
    const made = expectOk(await as(gh, who.member).post('/api/v1/keys', { name: `own-${hex(3)}` }), 201);
    const mine = expectOk(await as(gh, who.member).get('/api/v1/keys')).keys;
    assert.ok(mine.length >= 1);
    assert.ok(mine.some((k) => k.id === made.key.id));
    const everything = expectOk(await as(gh, who.owner).get('/api/v1/keys')).keys;
    const ownersDefault = everything.find((k) => k.name === 'Default');
    assert.ok(!mine.some((k) => k.id === ownersDefault.id), 'a member sees only their own keys');
    const ownedByMember = new Set(mine.map((k) => k.id));
    for (const k of everything) {
      if (!ownedByMember.has(k.id)) assert.ok(!mine.some((m) => m.id === k.id));
    }
    for (const role of ['viewer', 'admin']) {
      const ids = expectOk(await as(gh, who[role]).get('/api/v1/keys')).keys.map((k) => k.id).sort();
      assert.deepEqual(ids, everything.map((k) => k.id).sort(), `${role} sees every key`);
    }
  });

  test("a member's key belongs to their team; another team -> 403", async () => {
    const m = as(gh, who.member);
    const implicit = expectOk(await m.post('/api/v1/keys', { name: `t-${hex(3)}` }), 201);
    assert.equal(implicit.key.team_id, memberTeam.id);
    const explicit = expectOk(await m.post('/api/v1/keys', { name: `t-${hex(3)}`, team_id: memberTeam.id }), 201);
    assert.equal(explicit.key.team_id, memberTeam.id);
    const before = await STATE.keys();
    expectForbidden(await m.post('/api/v1/keys', { name: 'elsewhere', team_id: otherTeam.id }));
    assert.deepEqual(await STATE.keys(), before);
  });

  test('a member revokes and rotates their own keys', async () => {
    const m = as(gh, who.member);
    const made = expectOk(await m.post('/api/v1/keys', { name: `r-${hex(3)}` }), 201);
    const rotated = expectOk(await m.post(`/api/v1/keys/${made.key.id}/rotate`, { overlap_hours: 0 }));
    assert.equal(rotated.key.id, made.key.id);
    assert.notEqual(rotated.raw_key, made.raw_key);
    const revoked = expectOk(await m.del(`/api/v1/keys/${made.key.id}`));
    assert.equal(revoked.key.status, 'revoked');
  });

  test("a member may not touch another member's key", async () => {
    const other = await join(gh, owner, 'member', { team_id: memberTeam.id });
    const theirs = expectOk(await as(gh, other).post('/api/v1/keys', { name: `x-${hex(3)}` }), 201);
    const before = await STATE.keys();
    expectForbidden(await as(gh, who.member).del(`/api/v1/keys/${theirs.key.id}`));
    expectForbidden(await as(gh, who.member).post(`/api/v1/keys/${theirs.key.id}/rotate`, {}));
    assert.deepEqual(await STATE.keys(), before);
  });
});

describe('roles are read live', () => {
  test('a promoted viewer may manage at once; a demoted admin may not', async () => {
    const v = await join(gh, owner, 'viewer');
    expectForbidden(await as(gh, v).post('/api/v1/teams', { name: `live-${hex(3)}` }));
    expectOk(await ownerApi().put(`/api/v1/users/${v.id}`, { role: 'admin' }));
    expectOk(await as(gh, v).post('/api/v1/teams', { name: `live-${hex(3)}` }), 201);
    expectOk(await ownerApi().put(`/api/v1/users/${v.id}`, { role: 'viewer' }));
    expectForbidden(await as(gh, v).post('/api/v1/teams', { name: `live-${hex(3)}` }));
  });

  test('me reports the role and a permission list that grows with it', async () => {
    const perms = {};
    for (const role of ROLES) {
      const me = expectOk(await as(gh, who[role]).get('/api/v1/auth/me'));
      assert.equal(me.role, role);
      assert.ok(Array.isArray(me.permissions));
      perms[role] = new Set(me.permissions);
    }
    for (const [lower, higher] of [['viewer', 'member'], ['member', 'admin'], ['admin', 'owner']]) {
      for (const p of perms[lower]) assert.ok(perms[higher].has(p), `${higher} lacks ${lower}'s '${p}'`);
    }
    assert.ok(perms.admin.size > perms.viewer.size);
  });
});
