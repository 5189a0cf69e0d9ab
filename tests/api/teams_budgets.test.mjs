// Teams (CRUD, members, keys) and their monthly budgets: admission under
// concurrency, settlement of actual costs, and budgets surviving a restart.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, UUID_V4, assertRecentTimestamp, expectError, expectOk, getLogs, hex, poll, randomUuid, signup,
  startGatehouse,
} from './harness.mjs';
import {
  as, assertUsd, enterpriseOrg, expectBudgetExceeded, join, memberOf, proxyChat, startTinyUpstream, sumUsd,
} from './governance_helpers.mjs';

let gh;
let first = null;
let up;

before(async () => {
  up = await startTinyUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await up?.close();
  if (gh) {
    const { code } = await gh.dispose();
    assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
  }
  if (first) await first.dispose();
});

const TEAM_FIELDS = ['created_at', 'description', 'id', 'member_count', 'monthly_requests', 'monthly_spend_limit_usd',
  'monthly_spend_usd', 'name'];

/// Asserts a team object; `detail`: as GET /api/v1/teams/{id} shows it.
function assertTeam(t, expected = {}, { detail = false } = {}) {
  const fields = [...TEAM_FIELDS, ...('budget' in t ? ['budget'] : []), ...(detail ? ['api_keys'] : [])].sort();
  assert.deepEqual(Object.keys(t).sort(), fields, `team fields: ${JSON.stringify(t)}`);
  assert.match(t.id, UUID_V4);
  assertRecentTimestamp(t.created_at);
  for (const [k, v] of Object.entries(expected)) {
    if (k === 'budget' && v === undefined) assert.ok(!('budget' in t), `a team without a limit has no budget: ${JSON.stringify(t)}`);
    else assert.deepEqual(t[k], v, `team.${k}`);
  }
}

const teams = (s) => as(gh, s);
const createTeam = (s, body) => as(gh, s).post('/api/v1/teams', body);
const getTeam = async (s, id) => expectOk(await as(gh, s).get(`/api/v1/teams/${id}`));
const listTeams = async (s, q) => expectOk(await as(gh, s).get(`/api/v1/teams${q === undefined ? '' : `?q=${encodeURIComponent(q)}`}`));

describe('team management', () => {
  test('create with defaults; no limit means no budget', async () => {
    const s = await signup(gh);
    const res = await createTeam(s, { name: 'Platform' });
    const t = expectOk(res, 201);
    assertTeam(t, {
      name: 'Platform', description: '', member_count: 0, monthly_spend_usd: 0, monthly_requests: 0,
      monthly_spend_limit_usd: null, budget: undefined,
    });
    const withNull = expectOk(await createTeam(s, { name: 'Data', description: 'the data team',
      monthly_spend_limit_usd: null }), 201);
    assertTeam(withNull, { description: 'the data team', monthly_spend_limit_usd: null, budget: undefined });
  });

  test('name is required and unique in the org', async () => {
    const s = await signup(gh);
    expectError(await createTeam(s, {}), 400, 'invalid_request', 'name');
    expectError(await createTeam(s, { name: '' }), 400, 'invalid_request', 'name');
    expectError(await createTeam(s, { name: 42 }), 400, 'invalid_request', 'name');
    expectOk(await createTeam(s, { name: 'Research' }), 201);
    expectError(await createTeam(s, { name: 'Research' }), 409, 'conflict');
    expectError(await createTeam(s, { name: 'x', colour: 'red' }), 400, 'invalid_request', 'colour');
    assert.equal((await listTeams(s)).teams.length, 1);
    // Another org may use the same name.
    const other = await signup(gh);
    expectOk(await createTeam(other, { name: 'Research' }), 201);
  });

  test('monthly_spend_limit_usd: enterprise only, >= 0 or null', async () => {
    const free = await signup(gh);
    expectError(await createTeam(free, { name: 'capped', monthly_spend_limit_usd: 10 }), 403, 'plan_required');
    expectError(await createTeam(free, { name: 'capped', monthly_spend_limit_usd: 0 }), 403, 'plan_required');
    assert.equal((await listTeams(free)).teams.length, 0);
    const uncapped = expectOk(await createTeam(free, { name: 'uncapped' }), 201);
    expectError(await teams(free).put(`/api/v1/teams/${uncapped.id}`, { monthly_spend_limit_usd: 5 }),
      403, 'plan_required');
    assert.equal((await getTeam(free, uncapped.id)).monthly_spend_limit_usd, null);

    const s = await enterpriseOrg(gh);
    for (const bad of [-1, -0.01, '10', true, [], {}]) {
      expectError(await createTeam(s, { name: 'bad', monthly_spend_limit_usd: bad }), 400, 'invalid_request',
        'monthly_spend_limit_usd');
    }
    const t = expectOk(await createTeam(s, { name: 'capped', monthly_spend_limit_usd: 12.5 }), 201);
    assertTeam(t, { monthly_spend_limit_usd: 12.5, budget: { used_pct: 0, status: 'green' }, monthly_spend_usd: 0 });
    const zero = expectOk(await createTeam(s, { name: 'zero', monthly_spend_limit_usd: 0 }), 201);
    assert.equal(zero.monthly_spend_limit_usd, 0);
    assert.equal(zero.budget.status, 'red', 'a zero budget is spent from the start');
  });

  test('list with q and a summary', async () => {
    const s = await signup(gh);
    const a = expectOk(await createTeam(s, { name: 'Search Quality' }), 201);
    const b = expectOk(await createTeam(s, { name: 'search infra' }), 201);
    const c = expectOk(await createTeam(s, { name: 'Billing' }), 201);
    await join(gh, s, 'member', { team_id: a.id });
    await join(gh, s, 'viewer', { team_id: a.id });
    await join(gh, s, 'member', { team_id: c.id });
    const all = await listTeams(s);
    assert.deepEqual(Object.keys(all).sort(), ['summary', 'teams']);
    assert.deepEqual(all.teams.map((t) => t.id).sort(), [a.id, b.id, c.id].sort());
    for (const t of all.teams) assertTeam(t);
    const count = Object.fromEntries(all.teams.map((t) => [t.id, t.member_count]));
    assert.deepEqual(count, { [a.id]: 2, [b.id]: 0, [c.id]: 1 });
    assert.deepEqual(all.summary, { total_teams: 3, total_members: 3, monthly_spend_usd: 0, monthly_requests: 0 });
    const search = await listTeams(s, 'SEARCH');
    assert.deepEqual(search.teams.map((t) => t.id).sort(), [a.id, b.id].sort());
    assert.equal((await listTeams(s, 'nothing-like-this')).teams.length, 0);
  });

  test('get one: the team with its keys; unknown ids -> 404', async () => {
    const s = await signup(gh);
    const t = expectOk(await createTeam(s, { name: 'Keys' }), 201);
    const k = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'team-key', team_id: t.id }), 201);
    expectOk(await as(gh, s).post('/api/v1/keys', { name: 'no-team' }), 201);
    const got = await getTeam(s, t.id);
    assert.deepEqual(Object.keys(got).sort(), [...TEAM_FIELDS, 'api_keys'].sort());
    assert.equal(got.created_at, t.created_at);
    assert.equal(got.api_keys.length, 1);
    assert.equal(got.api_keys[0].id, k.key.id);
    assert.equal(got.api_keys[0].team_id, t.id);
    assert.equal(got.api_keys[0].key_prefix, k.raw_key.slice(0, 12));
    assert.ok(!JSON.stringify(got).includes(k.raw_key));
    expectError(await as(gh, s).get(`/api/v1/teams/${randomUuid()}`), 404, 'not_found');
    expectError(await as(gh, s).get('/api/v1/teams/not-a-uuid'), 404, 'not_found');
  });

  test('update is partial; names stay unique; id is immutable', async () => {
    const s = await enterpriseOrg(gh);
    const t = expectOk(await createTeam(s, { name: 'Alpha', description: 'first', monthly_spend_limit_usd: 3 }), 201);
    expectOk(await createTeam(s, { name: 'Beta' }), 201);
    let u = expectOk(await teams(s).put(`/api/v1/teams/${t.id}`, { description: 'changed' }));
    assertTeam(u, { id: t.id, name: 'Alpha', description: 'changed', monthly_spend_limit_usd: 3, created_at: t.created_at });
    u = expectOk(await teams(s).put(`/api/v1/teams/${t.id}`, { name: 'Gamma' }));
    assertTeam(u, { name: 'Gamma', description: 'changed', monthly_spend_limit_usd: 3 });
    u = expectOk(await teams(s).put(`/api/v1/teams/${t.id}`, { monthly_spend_limit_usd: null }));
    assertTeam(u, { name: 'Gamma', monthly_spend_limit_usd: null, budget: undefined });
    expectError(await teams(s).put(`/api/v1/teams/${t.id}`, { name: 'Beta' }), 409, 'conflict');
    expectError(await teams(s).put(`/api/v1/teams/${t.id}`, { monthly_spend_limit_usd: -5 }), 400, 'invalid_request',
      'monthly_spend_limit_usd');
    expectError(await teams(s).put(`/api/v1/teams/${t.id}`, { id: randomUuid() }), 400, 'immutable_field', 'id');
    expectError(await teams(s).put(`/api/v1/teams/${t.id}`, { owner: 'me' }), 400, 'invalid_request', 'owner');
    expectError(await teams(s).put(`/api/v1/teams/${randomUuid()}`, { name: 'x' }), 404, 'not_found');
    assertTeam(await getTeam(s, t.id), { name: 'Gamma', description: 'changed', monthly_spend_limit_usd: null },
      { detail: true });
  });

  test('delete unassigns members and keys', async () => {
    const s = await signup(gh);
    const t = expectOk(await createTeam(s, { name: 'Doomed' }), 201);
    const m = await join(gh, s, 'member', { team_id: t.id });
    const key = expectOk(await as(gh, m).post('/api/v1/keys', { name: 'member-key' }), 201);
    assert.equal(key.key.team_id, t.id);
    const res = expectOk(await teams(s).del(`/api/v1/teams/${t.id}`));
    assert.deepEqual(res, { deleted: true, id: t.id });
    expectError(await teams(s).get(`/api/v1/teams/${t.id}`), 404, 'not_found');
    expectError(await teams(s).del(`/api/v1/teams/${t.id}`), 404, 'not_found');
    assert.deepEqual((await listTeams(s)).teams, []);
    assert.equal((await memberOf(gh, s, m.id)).team_id, null);
    const { keys } = expectOk(await as(gh, s).get('/api/v1/keys'));
    const after = keys.find((k) => k.id === key.key.id);
    assert.equal(after.team_id, null);
    assert.equal(after.status, 'active', 'the key keeps working');
  });
});

// ---------------------------------------------------------------------------
// Budgets

const MODEL = 'budget-model';
/// One request with max_tokens 1000 and 1000 completion tokens at 1 USD per
/// million output tokens (input is free) costs 1000 micro-dollars.
const C = 0.001;

/// An enterprise org with a priced model, a provider on the upstream and a
/// team with `limit`; returns {s, team, key, label}.
async function budgetOrg(limit) {
  const s = await enterpriseOrg(gh);
  const label = `up-${hex(4)}`;
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(label), api_key: `sk-up-${hex(12)}`,
  }), 201);
  expectOk(await as(gh, s).put('/api/v1/pricing', {
    models: { [MODEL]: { input_per_mtok: 0, output_per_mtok: 1.0 } },
  }));
  const team = expectOk(await createTeam(s, { name: `budget-${hex(3)}`, monthly_spend_limit_usd: limit }), 201);
  const key = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'team-key', team_id: team.id }), 201).raw_key;
  return { s, team, key, label };
}

/// A request that will cost `tokens` micro-dollars; `maxTokens` sets the
/// estimate (none: an estimate of 0).
function spend(key, { tokens, maxTokens, delayMs = 0 }) {
  const headers = { 'x-gatehouse-provider': 'openai', 'x-tiny-completion-tokens': String(tokens) };
  if (delayMs) headers['x-tiny-delay-ms'] = String(delayMs);
  return proxyChat(gh, key, { model: MODEL, maxTokens, headers });
}

/// Waits until the team shows `usd` spent over `requests` requests.
async function waitForSpend(s, teamId, usd, requests) {
  return poll(async () => {
    const t = await getTeam(s, teamId);
    return Math.abs(t.monthly_spend_usd - usd) < 1e-9 && (requests === undefined || t.monthly_requests === requests)
      ? t : false;
  }, { timeoutMs: 3000, what: `team spend ${usd} USD over ${requests} requests` });
}

async function teamLogs(s, teamId) {
  return expectOk(await getLogs(gh, s, { team_id: teamId, limit: 500 })).logs;
}

describe('budgets', () => {
  test('used_pct and status follow the spend: green < 70 <= yellow < 90 <= red', async () => {
    const { s, team, key } = await budgetOrg(0.0001);
    const steps = [[69, 'green'], [1, 'yellow'], [19, 'yellow'], [1, 'red']];
    let spent = 0;
    for (const [tokens, status] of steps) {
      const res = await spend(key, { tokens });
      assert.equal(res.status, 200, res.text);
      spent += tokens;
      const t = await waitForSpend(s, team.id, spent / 1e6);
      assert.ok(Math.abs(t.budget.used_pct - spent) < 0.01, `used_pct ${t.budget.used_pct} at ${spent}%`);
      assert.equal(t.budget.status, status, `status at ${spent}%`);
    }
    // Past the cap by what the last request cost beyond its estimate, and
    // then refused.
    assert.equal((await spend(key, { tokens: 15 })).status, 200);
    const t = await waitForSpend(s, team.id, 105 / 1e6, 5);
    assert.ok(Math.abs(t.budget.used_pct - 105) < 0.01);
    assert.equal(t.budget.status, 'red');
    expectBudgetExceeded(await spend(key, { tokens: 1 }));
    const listed = (await listTeams(s)).teams.find((x) => x.id === team.id);
    assert.deepEqual(listed.budget, t.budget);
  });

  test('a refused request never reaches the upstream and is not counted', async () => {
    const { s, team, key, label } = await budgetOrg(0.0015);
    assert.equal((await spend(key, { tokens: 1000, maxTokens: 1000 })).status, 200);
    await waitForSpend(s, team.id, C, 1);
    const reached = up.of(label).length;
    const res = await spend(key, { tokens: 1000, maxTokens: 1000 });
    expectBudgetExceeded(res);
    assert.equal(up.of(label).length, reached);
    // A cheaper request still fits.
    assert.equal((await spend(key, { tokens: 400, maxTokens: 400 })).status, 200);
    await waitForSpend(s, team.id, 1.4 * C, 2);
    // Keys outside the team are not limited by it.
    for (let i = 0; i < 3; i++) assert.equal((await spend(s.apiKey, { tokens: 1000, maxTokens: 1000 })).status, 200);
    assert.equal((await getTeam(s, team.id)).monthly_requests, 2);
  });

  test('raising or removing the limit takes effect on the next request', async () => {
    const { s, team, key } = await budgetOrg(0.0005);
    expectBudgetExceeded(await spend(key, { tokens: 1000, maxTokens: 1000 }));
    expectOk(await teams(s).put(`/api/v1/teams/${team.id}`, { monthly_spend_limit_usd: 0.002 }));
    assert.equal((await spend(key, { tokens: 1000, maxTokens: 1000 })).status, 200);
    await waitForSpend(s, team.id, C, 1);
    expectBudgetExceeded(await spend(key, { tokens: 1000, maxTokens: 1100 }));
    expectOk(await teams(s).put(`/api/v1/teams/${team.id}`, { monthly_spend_limit_usd: null }));
    assert.equal((await spend(key, { tokens: 1000, maxTokens: 5000 })).status, 200);
    expectOk(await teams(s).put(`/api/v1/teams/${team.id}`, { monthly_spend_limit_usd: 0 }));
    expectBudgetExceeded(await spend(key, { tokens: 1, maxTokens: 1 }));
  });

  test('64 concurrent requests against 10.5 requests of budget: exactly 10 pass', async () => {
    const limit = 10.5 * C;
    const { s, team, key, label } = await budgetOrg(limit);
    const results = await Promise.all(Array.from({ length: 64 },
      () => spend(key, { tokens: 1000, maxTokens: 1000, delayMs: 300 })));
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    assert.equal(admitted.length, 10, `statuses: ${results.map((r) => r.status).join(',')}`);
    for (const r of refused) expectBudgetExceeded(r);
    assert.equal(up.of(label).length, 10, 'only admitted requests reach the upstream');

    const t = await waitForSpend(s, team.id, 10 * C, 10);
    assert.ok(t.monthly_spend_usd <= limit);
    assert.equal(t.budget.status, 'red');
    assert.ok(Math.abs(t.budget.used_pct - (100 * 10) / 10.5) < 0.01, `used_pct ${t.budget.used_pct}`);
    const logs = await poll(async () => {
      const l = await teamLogs(s, team.id);
      return l.length === 10 ? l : false;
    }, { what: '10 log entries' });
    for (const l of logs) assertUsd(l.cost_usd, C, 'cost_usd of one request');
    assertUsd(sumUsd(logs.map((l) => l.cost_usd)), t.monthly_spend_usd, 'sum of the logged costs');
    assert.deepEqual(logs.map((l) => l.request_id).sort(),
      admitted.map((r) => r.headers['x-gatehouse-request-id']).sort());

    // Nothing is left in flight: what remains of the budget is usable.
    expectBudgetExceeded(await spend(key, { tokens: 1000, maxTokens: 1000 }));
    assert.equal((await spend(key, { tokens: 400, maxTokens: 400 })).status, 200);
    await waitForSpend(s, team.id, 10.4 * C, 11);
    const { summary } = await listTeams(s);
    assertUsd(summary.monthly_spend_usd, 10.4 * C, 'summary.monthly_spend_usd');
    assert.equal(summary.monthly_requests, 11);
  });

  test('usage above the estimate overshoots only by what admitted requests cost beyond it', async () => {
    const limit = 10.5 * C;
    const { s, team, key } = await budgetOrg(limit);
    // Estimated at C each, each actually costs 3 C.
    const results = await Promise.all(Array.from({ length: 64 },
      () => spend(key, { tokens: 3000, maxTokens: 1000, delayMs: 300 })));
    const admitted = results.filter((r) => r.status === 200).length;
    for (const r of results.filter((x) => x.status !== 200)) expectBudgetExceeded(r);
    assert.ok(admitted >= 1 && admitted <= 10, `${admitted} admitted`);
    const t = await waitForSpend(s, team.id, admitted * 3 * C, admitted);
    const overshoot = t.monthly_spend_usd - limit;
    assert.ok(overshoot <= admitted * 2 * C + 1e-9, `overshoot ${overshoot} USD with ${admitted} admitted`);
    const logs = await poll(async () => {
      const l = await teamLogs(s, team.id);
      return l.length === admitted ? l : false;
    }, { what: `${admitted} log entries` });
    assertUsd(sumUsd(logs.map((l) => l.cost_usd)), t.monthly_spend_usd, 'sum of the logged costs');
    expectBudgetExceeded(await spend(key, { tokens: 1, maxTokens: 1 }));
  });

  test('an upstream error settles at its actual cost and frees the estimate', async () => {
    const { s, team, key } = await budgetOrg(1.5 * C);
    const failed = await proxyChat(gh, key, {
      model: MODEL, maxTokens: 1000, headers: { 'x-gatehouse-provider': 'openai', 'x-tiny-status': '500' },
    });
    assert.equal(failed.status, 500);
    // Its estimate is released when it ends, so a full request still fits.
    assert.equal((await spend(key, { tokens: 1000, maxTokens: 1000 })).status, 200);
    const t = await poll(async () => {
      const x = await getTeam(s, team.id);
      return x.monthly_spend_usd >= C - 1e-9 ? x : false;
    }, { what: 'the settled spend' });
    assert.ok(t.monthly_spend_usd < 1.5 * C, `spend ${t.monthly_spend_usd}`);
  });
});

describe('restart', () => {
  test('month-to-date spend survives a restart and the budget still refuses', async () => {
    const { s, team, key } = await budgetOrg(2.5 * C);
    for (let i = 0; i < 2; i++) assert.equal((await spend(key, { tokens: 1000, maxTokens: 1000 })).status, 200);
    const before = await waitForSpend(s, team.id, 2 * C, 2);
    expectBudgetExceeded(await spend(key, { tokens: 1000, maxTokens: 1000 }));

    first = gh;
    const stopped = await first.stop();
    assert.equal(stopped.code, 0, 'gatehouse must exit 0 on SIGTERM');
    gh = await startGatehouse({
      dataDir: first.dataDir, database: first.database, operatorToken: first.operatorToken, args: [...PROXY_ARGS],
    });

    const t = await getTeam(s, team.id);
    assertUsd(t.monthly_spend_usd, 2 * C, 'monthly_spend_usd after the restart');
    assert.equal(t.monthly_requests, 2);
    assert.deepEqual(t.budget, before.budget);
    assert.equal(t.budget.status, 'yellow');
    expectBudgetExceeded(await spend(key, { tokens: 1000, maxTokens: 1000 }));
    assert.equal((await spend(key, { tokens: 400, maxTokens: 400 })).status, 200);
    await waitForSpend(s, team.id, 2.4 * C, 3);
    expectBudgetExceeded(await spend(key, { tokens: 1000, maxTokens: 1000 }));
  });
});
