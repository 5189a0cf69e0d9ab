// Faults in the life of the process and of its database, under load: SIGTERM
// (nothing answered is lost), SIGTERM with a stream that outlives the drain
// grace, kill -9 (the loss window of the group commit, measured) and, on
// PostgreSQL, the database restarted while requests flow.
//
// Each test starts its own node on a data directory (and database) of its
// own, kills or stops it, starts a second node on the same data and reads
// the request log back through the API.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  BACKEND, PROXY_ARGS, createProvider, dropDatabase, expectOk, freshDatabase, getLogs, hex, newIp, poll,
  request, signup, sleep, startGatehouse, streamRequest,
} from './harness.mjs';
import { startMockUpstream } from './mock_upstream.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/// The storage writer commits request logs at most this long after they
/// were settled (actors/storage_writer.hpp).
const GROUP_COMMIT_MS = 100;

/// What kill -9 may lose: the answers of the last group-commit interval and
/// of the commit under way (a few ms here; generous for instrumented builds
/// on a loaded machine).
const LOSS_WINDOW_MS = GROUP_COMMIT_MS + 150;

let mock;

before(async () => {
  mock = await startMockUpstream();
});

after(async () => {
  await mock?.close();
});

// ---------------------------------------------------------------------------
// Helpers

/// A data directory and database that outlive the nodes started on them.
async function freshData() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-life-'));
  const database = await freshDatabase();
  return {
    dataDir,
    database,
    async remove() {
      await dropDatabase(database);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/// A node on `data` with an org whose key reaches the mock upstream.
async function nodeWithOrg(data, args = []) {
  const gh = await startGatehouse({ dataDir: data.dataDir, database: data.database, args: [...PROXY_ARGS, ...args] });
  const s = await signup(gh);
  await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(16)}` });
  return { gh, s };
}

/// A second node on the data of `gh` (same operator token, same secrets).
function restart(gh, args = []) {
  return startGatehouse({
    dataDir: gh.dataDir, database: gh.database, operatorToken: gh.operatorToken, args: [...PROXY_ARGS, ...args],
  });
}

/// One proxied chat completion; streamed ones take about 100 ms. Resolves
/// to {status, id, complete, stream}: complete means the client got the
/// whole answer (the JSON body, or a stream up to `data: [DONE]`).
async function proxied(url, key, stream) {
  const headers = { 'content-type': 'application/json', 'x-gatehouse-key': key, 'x-forwarded-for': newIp() };
  if (stream) Object.assign(headers, { 'x-mock-chunks': '5', 'x-mock-chunk-delay-ms': '20' });
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello.' }], ...(stream ? { stream } : {}) };
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let complete = false;
  if (res.status === 200) {
    if (stream) complete = /^data: \[DONE\]$/m.test(text);
    else {
      try {
        complete = JSON.parse(text).choices?.length > 0;
      } catch {
        complete = false;
      }
    }
  }
  return { status: res.status, id: res.headers.get('x-gatehouse-request-id'), complete, stream };
}

/// `clients` concurrent clients sending proxied requests back to back
/// (every `streamEvery`-th one streamed) until stop(). Every attempt ends
/// in `results` with `at`, the time its answer (or failure) arrived.
function startLoad(url, key, { clients = 12, streamEvery = 4 } = {}) {
  const results = [];
  let running = true;
  const workers = Array.from({ length: clients }, async (_, c) => {
    for (let n = c; running; n++) {
      try {
        results.push({ ...(await proxied(url, key, n % streamEvery === 0)), at: Date.now() });
      } catch (e) {
        results.push({ status: 0, complete: false, error: e.cause?.code || e.message, at: Date.now() });
        await sleep(20);
      }
    }
  });
  return {
    results,
    answered: () => results.filter((r) => r.complete),
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/// Every log entry of the org of session `s`, by request id.
async function allLogs(gh, s) {
  const out = new Map();
  let cursor;
  for (;;) {
    const page = expectOk(await getLogs(gh, s, { limit: 500, ...(cursor ? { cursor } : {}) }));
    for (const l of page.logs) out.set(l.request_id, l);
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
}

/// The answered requests of `load` that have no log entry.
function missingFrom(logs, load) {
  return load.answered().filter((r) => !logs.has(r.id));
}

/// The sum of a counter's samples in Prometheus text (0 when absent).
function counterSum(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+-]+)$`).exec(line);
    if (m) sum += Number(m[2]);
  }
  return sum;
}

// ---------------------------------------------------------------------------

describe('SIGTERM under load', () => {
  test('the node exits 0 and every request it answered is in the log', async () => {
    const data = await freshData();
    try {
      const { gh, s } = await nodeWithOrg(data);
      const load = startLoad(gh.url, s.apiKey);
      await poll(() => load.answered().length >= 200, { timeoutMs: 20_000, what: '200 answered requests' });
      const exit = await gh.stop(); // SIGTERM; SIGKILL after 10 s
      await load.stop();
      assert.equal(exit.signal, null, `the node was killed (${exit.signal}) instead of draining`);
      assert.equal(exit.code, 0, 'exit status after SIGTERM');

      const answered = load.answered();
      const streamed = answered.filter((r) => r.stream).length;
      assert.ok(streamed > 0, 'no stream was answered');
      const gh2 = await restart(gh);
      try {
        const logs = await allLogs(gh2, s);
        const lost = missingFrom(logs, load);
        console.log(`# SIGTERM (${BACKEND}): ${answered.length} answered (${streamed} streams), ` +
          `${lost.length} missing from the log, exit after ${exit.ms} ms`);
        assert.equal(lost.length, 0, `answered but not logged: ${lost.map((r) => r.id).join(', ')}`);
        for (const r of answered) assert.equal(logs.get(r.id).status, 200);
      } finally {
        assert.equal((await gh2.stop()).code, 0);
      }
    } finally {
      await data.remove();
    }
  });
});

describe('SIGTERM with a stream longer than the drain grace', () => {
  test('the node exits within grace + 2 s and logs the partial stream', async () => {
    const data = await freshData();
    try {
      const { gh, s } = await nodeWithOrg(data, ['--drain-grace', '2']);
      // About 30 s of events, 100 ms apart.
      const tag = hex(8);
      const pending = streamRequest(gh.url, '/v1/chat/completions', {
        key: s.apiKey,
        body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Count.' }] },
        headers: { 'x-mock-chunks': '300', 'x-mock-chunk-delay-ms': '100', 'x-test-tag': tag },
      });
      await poll(() => mock.lastRequest((r) => r.headers['x-test-tag'] === tag && r.sentChunks.length >= 4), {
        timeoutMs: 5000, what: 'a few streamed events',
      });
      const exit = await gh.stop();
      assert.equal(exit.signal, null, `the node was killed (${exit.signal}) instead of draining`);
      assert.equal(exit.code, 0, 'exit status after SIGTERM');
      assert.ok(exit.ms <= 4000, `the node took ${exit.ms} ms to exit with --drain-grace 2`);
      const res = await pending;
      assert.equal(res.status, 200);
      const id = res.headers['x-gatehouse-request-id'];
      assert.ok(!/^data: \[DONE\]$/m.test(res.text), 'the stream was not cut');

      const gh2 = await restart(gh);
      try {
        const log = (await allLogs(gh2, s)).get(id);
        assert.ok(log, `the cut stream ${id} is not in the log`);
        console.log(`# drain grace (${BACKEND}): exit after ${exit.ms} ms; log entry ` +
          `status ${log.status}, error_code ${log.error_code}, tokens_out ${log.tokens_out}`);
        assert.equal(log.status, 200);
        assert.equal(log.stream, true);
        assert.equal(typeof log.error_code, 'string', 'the entry must say the stream was cut');
        assert.ok(log.tokens_out > 0, 'the partial usage is missing');
      } finally {
        assert.equal((await gh2.stop()).code, 0);
      }
    } finally {
      await data.remove();
    }
  });
});

describe('kill -9 under load', () => {
  test('what is lost was answered within the last group commit', async () => {
    const data = await freshData();
    try {
      const { gh, s } = await nodeWithOrg(data);
      const load = startLoad(gh.url, s.apiKey);
      await poll(() => load.answered().length >= 300, { timeoutMs: 20_000, what: '300 answered requests' });
      process.kill(gh.pid, 'SIGKILL');
      const killedAt = Date.now();
      const exit = await gh.stop();
      await load.stop();
      assert.equal(exit.signal, 'SIGKILL');

      // Answers that arrived just after the kill were sent before it.
      const answered = load.answered();
      const gh2 = await restart(gh);
      try {
        const logs = await allLogs(gh2, s);
        const lost = missingFrom(logs, load);
        const ages = lost.map((r) => killedAt - r.at);
        const oldest = ages.length ? Math.max(...ages) : 0;
        // The rate of the last half second, and what one interval holds.
        const recent = answered.filter((r) => r.at > killedAt - 500).length;
        const oneInterval = Math.ceil((recent * GROUP_COMMIT_MS) / 500);
        const inWindow = answered.filter((r) => r.at > killedAt - LOSS_WINDOW_MS).length;
        console.log(`# kill -9 (${BACKEND}): ${answered.length} answered, ${recent * 2}/s at the end; ` +
          `${lost.length} missing from the log (one ${GROUP_COMMIT_MS} ms interval holds ${oneInterval}); ` +
          `the oldest lost answer came ${oldest} ms before the kill`);
        // An entry waits at most one interval for its batch, then the batch
        // is committed: only answers of the last interval (plus the time the
        // commit takes) may be lost.
        assert.ok(oldest <= LOSS_WINDOW_MS, `an answer from ${oldest} ms before the kill was lost`);
        assert.ok(lost.length <= inWindow, `${lost.length} lost, more than the ${inWindow} answers ` +
          `of the last ${LOSS_WINDOW_MS} ms`);
      } finally {
        assert.equal((await gh2.stop()).code, 0);
      }
    } finally {
      await data.remove();
    }
  });
});

// ---------------------------------------------------------------------------
// PostgreSQL restarted under load, on a private cluster of this test.

function pgCluster(action, dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'scripts/pg-test-cluster'), [action, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8').trim());
      else reject(new Error(`pg-test-cluster ${action} failed (${code}): ${Buffer.concat(err)}`));
    });
  });
}

describe('PostgreSQL restarted under load', () => {
  test('the node recovers and loses no usage it did not count',
    { skip: BACKEND !== 'postgres' && 'PostgreSQL only' }, async () => {
      // The server runs as postgres: its directory must be reachable.
      const clusterDir = `/tmp/gatehouse-pgrestart-${hex(6)}`;
      const url = await pgCluster('start', clusterDir);
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-life-'));
      let gh;
      try {
        gh = await startGatehouse({ dataDir, database: url, args: [...PROXY_ARGS] });
        const s = await signup(gh);
        await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(16)}` });

        const load = startLoad(gh.url, s.apiKey, { clients: 8 });
        await poll(() => load.answered().length >= 100, { timeoutMs: 20_000, what: '100 answered requests' });
        await pgCluster('pause', clusterDir);
        const downAt = Date.now();
        // While the database is away: readiness says so, and a management
        // call is answered (an error), not left hanging.
        const ready = await request(gh.url, 'GET', '/readyz');
        const during = await request(gh.url, 'POST', '/api/v1/keys', { token: s.token, body: { name: 'during' } });
        await sleep(Math.max(0, 3000 - (Date.now() - downAt)));
        await pgCluster('resume', clusterDir);
        const upAt = Date.now();
        assert.equal(ready.status, 503, `/readyz with the database down: ${ready.status} ${ready.text}`);
        assert.ok(during.status >= 500, `a key created without a database: ${during.status} ${during.text}`);

        // Recovery without a restart, while the load goes on.
        await poll(async () => (await request(gh.url, 'GET', '/readyz')).status === 200,
          { timeoutMs: 10_000, what: '/readyz 200 again' });
        await poll(async () => (await request(gh.url, 'POST', '/api/v1/keys',
          { token: s.token, body: { name: `after-${hex(3)}` } })).status === 201,
        { timeoutMs: 10_000, what: 'a key created again' });
        const recoveredMs = Date.now() - upAt;
        await sleep(1000);
        await load.stop();

        // Every answered request is logged, or counted as dropped.
        const answered = load.answered();
        const duringOutage = answered.filter((r) => r.at >= downAt && r.at <= upAt).length;
        let lost;
        let dropped = 0;
        let retried = 0;
        await poll(async () => {
          const logs = await allLogs(gh, s);
          lost = missingFrom(logs, load);
          const metrics = await request(gh.url, 'GET', '/metrics', { token: gh.operatorToken });
          dropped = counterSum(metrics.text, 'gatehouse_log_entries_dropped_total');
          retried = counterSum(metrics.text, 'gatehouse_log_write_failures_total');
          return lost.length === 0 || lost.length <= dropped;
        }, { timeoutMs: 30_000, intervalMs: 500, what: 'every answered request logged or counted' }).catch((e) => {
          throw new Error(`${e.message}; ${lost?.length} of ${answered.length} missing, ${dropped} counted`);
        });
        const failed = load.results.filter((r) => !r.complete).length;
        console.log(`# PostgreSQL restart: ${answered.length} answered (${duringOutage} while it was down), ` +
          `${failed} failed, ${lost.length} missing from the log, ${dropped} counted as dropped, ` +
          `${retried} failed log writes retried; management calls and /readyz back ${recoveredMs} ms ` +
          'after the restart');
        assert.ok(duringOutage > 0, 'no request was answered while the database was down');
        assert.ok(retried > 0, 'the log writer never met the outage (gatehouse_log_write_failures_total)');
      } finally {
        try {
          if (gh) assert.equal((await gh.stop()).code, 0);
        } finally {
          await pgCluster('stop', clusterDir).catch(() => {});
          fs.rmSync(dataDir, { recursive: true, force: true });
        }
      }
    });
});
