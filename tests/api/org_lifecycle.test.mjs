// Org actors on a running node: an idle one passivates and comes back
// with its budget spend intact; a change made by the command line reaches
// the live one within a second or two (pushed through the change log, not
// polled per org).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, databaseArgs, expectOk, hex, poll, runGatehouse, startGatehouse,
} from './harness.mjs';
import { as, enterpriseOrg, expectBudgetExceeded, proxyChat, promSum, startTinyUpstream } from './governance_helpers.mjs';

let up;
const nodes = [];

before(async () => {
  up = await startTinyUpstream();
});

after(async () => {
  await up?.close();
  for (const gh of nodes) {
    const { code } = await gh.dispose();
    assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
  }
});

async function node(args = []) {
  const gh = await startGatehouse({ args: [...PROXY_ARGS, ...args] });
  nodes.push(gh);
  return gh;
}

async function metric(gh, name) {
  const res = await gh.api('GET', '/metrics', { token: gh.operatorToken });
  assert.equal(res.status, 200);
  return promSum(res.text, name);
}

const MODEL = 'lifecycle-model';

/// An enterprise org with a priced model (1 USD per million output tokens),
/// a provider on the tiny upstream and a team key.
async function pricedOrg(gh, limitUsd) {
  const s = await enterpriseOrg(gh);
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(`life-${hex(4)}`), api_key: `sk-up-${hex(12)}`,
  }), 201);
  expectOk(await as(gh, s).put('/api/v1/pricing', {
    models: { [MODEL]: { input_per_mtok: 0, output_per_mtok: 1.0 } },
  }));
  const team = expectOk(await as(gh, s).post('/api/v1/teams', { name: 'core', monthly_spend_limit_usd: limitUsd }), 201);
  const key = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'k', team_id: team.id }), 201).raw_key;
  return { s, team, key };
}

/// A request costing 1000 micro-dollars, estimated at as much.
const spend = (gh, key) => proxyChat(gh, key, {
  model: MODEL, maxTokens: 1000, headers: { 'x-gatehouse-provider': 'openai', 'x-tiny-completion-tokens': '1000' },
});

describe('org actor lifecycle', () => {
  test('an idle org passivates and comes back with its spend', async () => {
    const gh = await node(['--org-idle-timeout', '1']);
    const { s, team, key } = await pricedOrg(gh, 0.005);
    for (let i = 0; i < 3; ++i) expectOk(await spend(gh, key));
    assert.ok(await metric(gh, 'gatehouse_org_actors') >= 1);
    // The idle sweep runs every second: the actor goes about 1-2 s later.
    await poll(async () => (await metric(gh, 'gatehouse_org_actors')) === 0,
      { timeoutMs: 8000, intervalMs: 200, what: 'no live org actor' });
    assert.ok(await metric(gh, 'gatehouse_org_passivations_total') >= 1);
    // Spawned again from storage: two more requests fit, the third not.
    expectOk(await spend(gh, key));
    expectOk(await spend(gh, key));
    expectBudgetExceeded(await spend(gh, key));
    const t = expectOk(await as(gh, s).get(`/api/v1/teams/${team.id}`));
    assert.ok(Math.abs(t.monthly_spend_usd - 0.005) < 1e-9, `spend ${t.monthly_spend_usd}`);
    assert.equal(t.monthly_requests, 5);
  });

  test('admin set-plan reaches a running node within two seconds', async () => {
    const gh = await node();
    // A spent budget: enforced on the enterprise plan only.
    const { s, key } = await pricedOrg(gh, 0);
    expectBudgetExceeded(await spend(gh, key));
    const store = ['--data-dir', gh.dataDir, ...databaseArgs(gh.database)];
    for (const [plan, status] of [['free', 200], ['enterprise', 429]]) {
      const r = await runGatehouse(['admin', 'set-plan', s.slug, plan, ...store], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      const started = Date.now();
      await poll(async () => (await spend(gh, key)).status === status,
        { timeoutMs: 5000, intervalMs: 50, what: `the ${plan} plan on the running node` });
      const took = Date.now() - started;
      assert.ok(took <= 2500, `the ${plan} plan took ${took} ms to apply`);
    }
  });
});
