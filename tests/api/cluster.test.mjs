// Cluster membership: start-up refusals (both backends), and 3 nodes over
// one PostgreSQL that authenticate each other, refuse a node with another
// secret and notice a killed or stopping member (PostgreSQL only).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  BACKEND, dropDatabase, freePort, freshDatabase, hex, poll, runGatehouse, signup, startGatehouse,
} from './harness.mjs';

const SECRET = `cluster-${hex(16)}`;
const SHARED_ENV = {
  GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('hex'),
  GATEHOUSE_JWT_SECRET: hex(24),
};

async function cluster(node) {
  const res = await node.api('GET', '/api/v1/admin/cluster', { token: node.operatorToken });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

function stateOf(view, nodeId) {
  return view.members.find((m) => m.node_id === nodeId)?.state;
}

describe('cluster start-up checks', () => {
  test('cluster mode on SQLite refuses to start naming PostgreSQL', async () => {
    const port = await freePort();
    const res = await runGatehouse(['serve', '--cluster-listen', `127.0.0.1:${port}`],
      { env: { GATEHOUSE_CLUSTER_SECRET: SECRET } });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /cluster mode \(--cluster-listen\) needs PostgreSQL/);
  });

  test('cluster mode without the secret refuses to start naming it', async () => {
    const port = await freePort();
    const res = await runGatehouse(['serve', '--cluster-listen', `127.0.0.1:${port}`,
      '--database', 'postgresql://nobody@127.0.0.1:1/none']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /needs GATEHOUSE_CLUSTER_SECRET/);
  });

  test('the secret never appears in --help or in an error', async () => {
    const help = await runGatehouse(['--help'], { env: { GATEHOUSE_CLUSTER_SECRET: SECRET } });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /GATEHOUSE_CLUSTER_SECRET=SECRET/);
    assert.ok(!help.stdout.includes(SECRET));
    const bad = await runGatehouse(['serve'], { env: { GATEHOUSE_CLUSTER_SECRET: 'short-s3cr3t' } });
    assert.equal(bad.code, 2);
    assert.ok(!bad.stderr.includes('short-s3cr3t'), bad.stderr);
  });

  test('a single node is a cluster of one, home to every org', async () => {
    const gh = await startGatehouse({ args: ['--node-id', 'solo-1'] });
    try {
      await signup(gh);
      await signup(gh);
      const view = await cluster(gh);
      assert.deepEqual(view, {
        node_id: 'solo-1',
        members: [{ node_id: 'solo-1', address: null, state: 'up', home_orgs: 2 }],
      });
      const orgs = await gh.api('GET', '/api/v1/admin/orgs', { token: gh.operatorToken });
      assert.equal(orgs.status, 200);
      for (const o of orgs.json.orgs) assert.equal(o.home_node, 'solo-1');
      assert.equal((await gh.api('GET', '/readyz')).status, 200);
      const metrics = await gh.api('GET', '/metrics', { token: gh.operatorToken });
      assert.match(metrics.text, /gatehouse_cluster_members\{state="up"\} 1/);
      assert.match(metrics.text, /gatehouse_cluster_peer_refusals_total 0/);
    } finally {
      await gh.dispose();
    }
  });
});

describe('a 3-node cluster over one PostgreSQL', { skip: BACKEND !== 'postgres' }, () => {
  let database;
  const nodes = [];
  const ports = [];
  const ids = ['gh-a', 'gh-b', 'gh-c'];

  function startNode(i, extra = {}) {
    const peers = ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`);
    return startGatehouse({
      database,
      args: ['--node-id', ids[i], '--cluster-listen', `127.0.0.1:${ports[i]}`,
        '--cluster-peers', peers.join(','), ...(extra.args || [])],
      env: { GATEHOUSE_CLUSTER_SECRET: SECRET, ...SHARED_ENV, ...(extra.env || {}) },
    });
  }

  async function allUp(node, members) {
    const view = await cluster(node);
    return members.every((id) => stateOf(view, id) === 'up') && view;
  }

  before(async () => {
    database = await freshDatabase();
    for (let i = 0; i < 3; ++i) ports.push(await freePort());
    nodes.push(...(await Promise.all([0, 1, 2].map((i) => startNode(i)))));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
    await dropDatabase(database);
  });

  test('the members see each other up, and their home orgs add up', async () => {
    for (let i = 0; i < 6; ++i) await signup(nodes[i % 3]);
    for (const node of nodes) {
      await poll(() => allUp(node, ids), { timeoutMs: 5000, what: 'all members up' });
      await poll(async () => (await node.api('GET', '/readyz')).status === 200,
        { timeoutMs: 5000, what: 'ready' });
    }
    const view = await cluster(nodes[0]);
    assert.equal(view.node_id, 'gh-a');
    assert.deepEqual(view.members.map((m) => m.node_id), ids);
    assert.deepEqual(view.members.map((m) => m.address), ports.map((p) => `127.0.0.1:${p}`));
    assert.equal(view.members.reduce((n, m) => n + m.home_orgs, 0), 6);
    // Every node names the same home for each org.
    const homes = [];
    for (const node of nodes) {
      const res = await node.api('GET', '/api/v1/admin/orgs', { token: node.operatorToken });
      assert.equal(res.status, 200);
      assert.equal(res.json.orgs.length, 6);
      homes.push(Object.fromEntries(res.json.orgs.map((o) => [o.id, o.home_node])));
    }
    assert.deepEqual(homes[1], homes[0]);
    assert.deepEqual(homes[2], homes[0]);
    for (const h of Object.values(homes[0])) assert.ok(ids.includes(h), h);
    const metrics = await nodes[1].api('GET', '/metrics', { token: nodes[1].operatorToken });
    assert.match(metrics.text, /gatehouse_cluster_members\{state="up"\} 3/);
  });

  test('a node with another secret is refused and never listed', async () => {
    const port = await freePort();
    const intruder = await startGatehouse({
      database,
      args: ['--node-id', 'gh-x', '--cluster-listen', `127.0.0.1:${port}`,
        '--cluster-peers', ports.map((p) => `127.0.0.1:${p}`).join(',')],
      env: { GATEHOUSE_CLUSTER_SECRET: `other-${hex(16)}`, ...SHARED_ENV },
    });
    try {
      // Not joined yet: its peers refuse it, and it waits before serving
      // alone.
      const early = await intruder.api('GET', '/readyz');
      assert.equal(early.status, 503);
      assert.equal(early.json.status, 'joining');
      await poll(() => /refused peer 'gh-x'/.test(nodes[0].stderr())
        && /refused this node/.test(intruder.stderr()),
        { timeoutMs: 4000, what: 'the refusal logged on both sides' });
      for (const node of nodes) {
        const view = await cluster(node);
        assert.ok(!view.members.some((m) => m.node_id === 'gh-x'), JSON.stringify(view));
        assert.equal(view.members.length, 3);
      }
      const view = await cluster(intruder);
      assert.deepEqual(view.members.map((m) => m.node_id), ['gh-x']);
      // Alone after the bounded wait, it serves.
      await poll(async () => (await intruder.api('GET', '/readyz')).status === 200,
        { timeoutMs: 7000, what: 'the lone node ready' });
      const metrics = await nodes[0].api('GET', '/metrics', { token: nodes[0].operatorToken });
      assert.match(metrics.text, /gatehouse_cluster_peer_refusals_total [1-9]/);
      // Logged once per peer and reason, never with the secret.
      for (const node of nodes) {
        assert.equal(node.stderr().split("refused peer 'gh-x'").length - 1, 1);
        assert.ok(!node.stderr().includes(SECRET));
      }
      assert.ok(!intruder.stderr().includes(SECRET));
    } finally {
      await intruder.dispose();
    }
  });

  test('a node with the secret but another master key is refused', async () => {
    const port = await freePort();
    const odd = await startGatehouse({
      database,
      args: ['--node-id', 'gh-k', '--cluster-listen', `127.0.0.1:${port}`,
        '--cluster-peers', `127.0.0.1:${ports[0]}`],
      env: { GATEHOUSE_CLUSTER_SECRET: SECRET, ...SHARED_ENV,
        GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('hex') },
    });
    try {
      await poll(() => /refused peer 'gh-k'.*GATEHOUSE_MASTER_KEY differs/.test(nodes[0].stderr()),
        { timeoutMs: 4000, what: 'the mismatch logged' });
      const view = await cluster(nodes[0]);
      assert.ok(!view.members.some((m) => m.node_id === 'gh-k'), JSON.stringify(view));
      assert.ok(!nodes[0].stderr().includes(SHARED_ENV.GATEHOUSE_MASTER_KEY));
    } finally {
      await odd.dispose();
    }
  });

  test('a node killed with SIGKILL is down within 3 s, and up again on return', async () => {
    await poll(() => allUp(nodes[0], ids), { timeoutMs: 5000, what: 'all members up' });
    const victim = nodes[2];
    process.kill(victim.pid, 'SIGKILL');
    const t0 = Date.now();
    for (const node of nodes.slice(0, 2))
      await poll(async () => stateOf(await cluster(node), 'gh-c') === 'down',
        { timeoutMs: 3000, what: 'gh-c down' });
    assert.ok(Date.now() - t0 <= 3000);
    // Its orgs have homes among the members up.
    const view = await cluster(nodes[0]);
    assert.equal(view.members.find((m) => m.node_id === 'gh-c').home_orgs, 0);
    assert.equal(view.members.reduce((n, m) => n + m.home_orgs, 0), 6);
    await victim.dispose();
    nodes[2] = await startNode(2);
    for (const node of nodes)
      await poll(() => allUp(node, ids), { timeoutMs: 6000, what: 'gh-c up again' });
  });

  test('a node stopped with SIGTERM is leaving or down promptly', async () => {
    const stopping = nodes[1];
    const t0 = Date.now();
    const stopped = stopping.stop();
    for (const node of [nodes[0], nodes[2]])
      await poll(async () => ['leaving', 'down'].includes(stateOf(await cluster(node), 'gh-b')),
        { timeoutMs: 2000, what: 'gh-b leaving' });
    assert.ok(Date.now() - t0 <= 2000);
    const res = await stopped;
    assert.equal(res.code, 0);
    await poll(async () => stateOf(await cluster(nodes[0]), 'gh-b') === 'down',
      { timeoutMs: 3000, what: 'gh-b down after it exited' });
  });
});
