// Tenant isolation: another org's token meets 404 on every route that takes
// an id or a name of this org, never sees this org's rows in its lists, and
// another org's API key never reaches this org's providers.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PROXY_ARGS, expectError, expectOk, hex, startGatehouse, waitForLog } from './harness.mjs';
import {
  accept, allAudit, as, enterpriseOrg, invite, join, proxyChat, startTinyUpstream,
} from './governance_helpers.mjs';

let gh;
let up;
let A;
let B;
const a = {};

before(async () => {
  up = await startTinyUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
  A = await enterpriseOrg(gh);
  B = await enterpriseOrg(gh);
  a.labelOpenai = `a-openai-${hex(3)}`;
  a.labelOnly = `a-only-${hex(3)}`;
  B.label = `b-openai-${hex(3)}`;
  const u = as(gh, A);
  a.openai = expectOk(await u.post('/api/v1/providers', { name: 'openai', base_url: up.base(a.labelOpenai),
    api_key: `sk-a-${hex(12)}` }), 201);
  a.only = expectOk(await u.post('/api/v1/providers', { name: 'a-only', base_url: up.base(a.labelOnly),
    api_key: `sk-a-${hex(12)}` }), 201);
  expectOk(await as(gh, B).post('/api/v1/providers', { name: 'openai', base_url: up.base(B.label),
    api_key: `sk-b-${hex(12)}` }), 201);
  a.team = expectOk(await u.post('/api/v1/teams', { name: 'shared-name', monthly_spend_limit_usd: 10 }), 201);
  expectOk(await as(gh, B).post('/api/v1/teams', { name: 'shared-name' }), 201);
  a.app = expectOk(await u.post('/api/v1/apps', { name: 'Shared Name' }), 201);
  a.key = expectOk(await u.post('/api/v1/keys', { name: 'a-key', team_id: a.team.id, app_id: a.app.id }), 201);
  a.member = await join(gh, A, 'member', { team_id: a.team.id });
  a.suspended = await join(gh, A, 'viewer');
  expectOk(await u.post(`/api/v1/users/${a.suspended.id}/suspend`));
  a.invited = await invite(gh, A, { role: 'viewer' });
  const res = await proxyChat(gh, a.key.raw_key, { headers: { 'x-gatehouse-provider': 'openai' } });
  assert.equal(res.status, 200, res.text);
  a.requestId = res.headers['x-gatehouse-request-id'];
  a.log = await waitForLog(gh, A, a.requestId);
  const bRes = await proxyChat(gh, B.apiKey, { headers: { 'x-gatehouse-provider': 'openai' } });
  assert.equal(bRes.status, 200);
  await waitForLog(gh, B, bRes.headers['x-gatehouse-request-id']);
});

after(async () => {
  await up?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// What A's owner sees of A; no call of B may change it.
async function stateOfA() {
  const u = as(gh, A);
  const get = async (p) => expectOk(await u.get(p));
  return {
    users: (await get('/api/v1/users')).users.map(({ id, role, status, team_id }) => ({ id, role, status, team_id })),
    teams: (await get('/api/v1/teams')).teams.map(({ id, name, description, monthly_spend_limit_usd }) => ({
      id, name, description, monthly_spend_limit_usd,
    })),
    apps: (await get('/api/v1/apps')).apps,
    keys: (await get('/api/v1/keys')).keys.map(({ id, status, key_prefix }) => ({ id, status, key_prefix })),
    providers: await get('/api/v1/providers'),
  };
}

describe("another org's ids and names", () => {
  test('every route taking an id or a name -> 404 not_found; nothing changes', async () => {
    const before = await stateOfA();
    const b = as(gh, B);
    const calls = [
      ['DELETE key', () => b.del(`/api/v1/keys/${a.key.key.id}`)],
      ['rotate key', () => b.post(`/api/v1/keys/${a.key.key.id}/rotate`, { overlap_hours: 0 })],
      ['GET provider', () => b.get('/api/v1/providers/a-only')],
      ['PUT provider', () => b.put('/api/v1/providers/a-only', { base_url: up.base('stolen') })],
      ['DELETE provider', () => b.del('/api/v1/providers/a-only')],
      ['GET team', () => b.get(`/api/v1/teams/${a.team.id}`)],
      ['PUT team', () => b.put(`/api/v1/teams/${a.team.id}`, { name: 'hijacked' })],
      ['DELETE team', () => b.del(`/api/v1/teams/${a.team.id}`)],
      ['GET app', () => b.get(`/api/v1/apps/${a.app.id}`)],
      ['GET app info', () => b.get(`/api/v1/apps/${a.app.id}/info`)],
      ['PUT app', () => b.put(`/api/v1/apps/${a.app.id}`, { is_active: false })],
      ['DELETE app', () => b.del(`/api/v1/apps/${a.app.id}`)],
    ];
    for (const target of [A.user.id, a.member.id, a.suspended.id, a.invited.user.id]) {
      calls.push(
        [`PUT user ${target}`, () => b.put(`/api/v1/users/${target}`, { role: 'viewer' })],
        [`suspend user ${target}`, () => b.post(`/api/v1/users/${target}/suspend`)],
        [`reactivate user ${target}`, () => b.post(`/api/v1/users/${target}/reactivate`)],
        [`resend invite ${target}`, () => b.post(`/api/v1/users/${target}/resend-invite`)],
        [`DELETE user ${target}`, () => b.del(`/api/v1/users/${target}`)],
      );
    }
    for (const [what, call] of calls) {
      const res = await call();
      assert.equal(res.status, 404, `${what}: ${res.status} ${res.text}`);
      expectError(res, 404, 'not_found');
    }
    assert.deepEqual(await stateOfA(), before);
    // The invitation was neither re-sent nor withdrawn.
    await accept(gh, a.invited.invite_token);
  });

  test("A's rows cannot be attached to B's keys or members", async () => {
    const b = as(gh, B);
    expectError(await b.post('/api/v1/keys', { name: 'x', team_id: a.team.id }), 400, 'invalid_request', 'team_id');
    expectError(await b.post('/api/v1/keys', { name: 'x', app_id: a.app.id }), 400, 'invalid_request', 'app_id');
    expectError(await b.post('/api/v1/users/invite', { email: `x-${hex(3)}@example.com`, team_id: a.team.id }),
      400, 'invalid_request', 'team_id');
    const bMember = await join(gh, B, 'member');
    expectError(await b.put(`/api/v1/users/${bMember.id}`, { team_id: a.team.id }), 400, 'invalid_request', 'team_id');
  });
});

describe("B's lists", () => {
  test("never contain A's ids", async () => {
    const b = as(gh, B);
    const text = async (p) => (await b.get(p)).text;
    const aIds = [A.org.id, A.user.id, a.member.id, a.suspended.id, a.invited.user.id, a.team.id, a.app.id,
      a.key.key.id, a.openai.id, a.only.id, a.log.id, a.requestId];
    const lists = {
      users: await text('/api/v1/users'),
      teams: await text('/api/v1/teams'),
      apps: await text('/api/v1/apps'),
      keys: await text('/api/v1/keys'),
      providers: await text('/api/v1/providers'),
      logs: await text('/api/v1/logs?limit=500'),
      usage: await text('/api/v1/usage?group_by=key'),
      audit: JSON.stringify(await allAudit(gh, B)),
    };
    for (const [name, body] of Object.entries(lists)) {
      for (const id of aIds) assert.ok(!body.includes(id), `B's ${name} contain A's id ${id}`);
      assert.ok(!body.includes(a.key.raw_key), `B's ${name} show A's key`);
    }
    const bUsers = expectOk(await b.get('/api/v1/users'));
    assert.equal(bUsers.users.length, bUsers.summary.total);
    const teams = expectOk(await b.get('/api/v1/teams'));
    assert.equal(teams.summary.total_teams, teams.teams.length);
    assert.equal(teams.summary.monthly_requests, 0, "A's traffic is not B's");
    const logs = expectOk(await b.get('/api/v1/logs?limit=500')).logs;
    assert.ok(logs.length >= 1);
    for (const l of logs) assert.equal(l.provider, 'openai');
  });

  test("filters on A's ids find nothing", async () => {
    const b = as(gh, B);
    assert.deepEqual(expectOk(await b.get(`/api/v1/logs?app_id=${a.app.id}`)).logs, []);
    assert.deepEqual(expectOk(await b.get(`/api/v1/logs?key_id=${a.key.key.id}`)).logs, []);
    assert.deepEqual(expectOk(await b.get(`/api/v1/logs?team_id=${a.team.id}`)).logs, []);
    assert.deepEqual(await allAudit(gh, B, { target_id: a.team.id }), []);
    assert.deepEqual(await allAudit(gh, B, { actor_id: A.user.id }), []);
  });
});

describe('the data plane', () => {
  test("B's key never reaches A's providers", async () => {
    const before = { openai: up.of(a.labelOpenai).length, only: up.of(a.labelOnly).length };
    expectError(await proxyChat(gh, B.apiKey, { headers: { 'x-gatehouse-provider': 'a-only' } }), 400,
      'provider_required');
    const prefixed = await proxyChat(gh, B.apiKey, { model: 'a-only/gpt-4o-mini' });
    assert.notEqual(prefixed.headers['x-gatehouse-provider'], 'a-only');
    for (const o of [{}, { headers: { 'x-gatehouse-provider': 'openai' } }, { model: 'openai/gpt-4o-mini' }]) {
      const res = await proxyChat(gh, B.apiKey, o);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, `answer from ${B.label}`);
    }
    assert.deepEqual({ openai: up.of(a.labelOpenai).length, only: up.of(a.labelOnly).length }, before);
    // And A's own key still goes to A's providers.
    const mine = await proxyChat(gh, A.apiKey, { headers: { 'x-gatehouse-provider': 'a-only' } });
    assert.equal(mine.status, 200);
    assert.equal(mine.json.choices[0].message.content, `answer from ${a.labelOnly}`);
  });

  test("a person in both orgs acts on A only with a token for A", async () => {
    const inv = await invite(gh, A, { email: B.email, role: 'admin' });
    // The existing account proves itself with its own session token.
    const joined = expectOk(await gh.api('POST', '/api/v1/invites/accept', {
      token: B.token, body: { invite_token: inv.invite_token },
    }));
    assert.equal(joined.org.id, A.org.id);
    // B's original token is still scoped to B.
    expectError(await as(gh, B).get(`/api/v1/teams/${a.team.id}`), 404, 'not_found');
    assert.equal(expectOk(await gh.api('GET', `/api/v1/teams/${a.team.id}`, { token: joined.token })).id, a.team.id);
    const switched = expectOk(await as(gh, B).post('/api/v1/auth/switch-org', { org_id: A.org.id }));
    assert.equal(switched.org.id, A.org.id);
    assert.equal(expectOk(await gh.api('GET', `/api/v1/apps/${a.app.id}`, { token: switched.token })).id, a.app.id);
    expectError(await as(gh, B).get(`/api/v1/apps/${a.app.id}`), 404, 'not_found');
  });
});
