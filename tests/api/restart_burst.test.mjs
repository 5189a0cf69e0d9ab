// One org actor per org per node: a burst of first requests of one org right
// after a restart finds one actor, so its team budget counts every request
// once and the month-to-date spend equals the sum of the logged costs.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PROXY_ARGS, expectOk, getLogs, hex, poll, startGatehouse } from './harness.mjs';
import { as, assertUsd, enterpriseOrg, proxyChat, startTinyUpstream, sumUsd } from './governance_helpers.mjs';

let gh;
let up;
const stopped = [];

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
  // The first node owns the data directory and database: dispose of it last.
  for (const s of stopped.reverse()) await s.dispose();
});

const MODEL = 'burst-model';
const BURST = 64;

/// Stops the node and starts another on the same data.
async function restart() {
  const old = gh;
  const res = await old.stop();
  assert.equal(res.code, 0, 'gatehouse must exit 0 on SIGTERM');
  stopped.push(old);
  gh = await startGatehouse({
    dataDir: old.dataDir, database: old.database, operatorToken: old.operatorToken, args: [...PROXY_ARGS],
  });
}

test(`${BURST} concurrent first requests after a restart: spend equals the logged costs`, async () => {
  const s = await enterpriseOrg(gh);
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(`burst-${hex(4)}`), api_key: `sk-up-${hex(12)}`,
  }), 201);
  // 1 USD per million output tokens: a completion token costs 1 micro-dollar.
  expectOk(await as(gh, s).put('/api/v1/pricing', {
    models: { [MODEL]: { input_per_mtok: 0, output_per_mtok: 1.0 } },
  }));
  const team = expectOk(await as(gh, s).post('/api/v1/teams', { name: 'burst', monthly_spend_limit_usd: 10 }), 201);
  const key = expectOk(await as(gh, s).post('/api/v1/keys', { name: 'burst-key', team_id: team.id }), 201).raw_key;
  const spend = (tokens) => proxyChat(gh, key, {
    model: MODEL, maxTokens: tokens,
    headers: { 'x-gatehouse-provider': 'openai', 'x-tiny-completion-tokens': String(tokens), 'x-tiny-delay-ms': '20' },
  });
  assert.equal((await spend(1000)).status, 200);

  // No org actor runs on the new node: every request of the burst is a
  // first request.
  await restart();
  const results = await Promise.all(Array.from({ length: BURST }, (_, i) => spend(100 + i)));
  for (const r of results) assert.equal(r.status, 200, r.text);

  const expected = 1000 + Array.from({ length: BURST }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
  const logs = await poll(async () => {
    const got = expectOk(await getLogs(gh, s, { team_id: team.id, limit: 500 })).logs;
    return got.length === BURST + 1 ? got : false;
  }, { timeoutMs: 5000, what: `${BURST + 1} logs of the team` });
  const logged = sumUsd(logs.map((l) => l.cost_usd));
  assertUsd(logged, expected / 1e6, 'sum of the logged costs');
  const t = expectOk(await as(gh, s).get(`/api/v1/teams/${team.id}`));
  assertUsd(t.monthly_spend_usd, logged, 'monthly_spend_usd');
  assert.equal(t.monthly_requests, BURST + 1);

  // What was counted was also stored: the next node reloads the same.
  await restart();
  const again = expectOk(await as(gh, s).get(`/api/v1/teams/${team.id}`));
  assertUsd(again.monthly_spend_usd, logged, 'monthly_spend_usd after another restart');
  assert.equal(again.monthly_requests, BURST + 1);
});
