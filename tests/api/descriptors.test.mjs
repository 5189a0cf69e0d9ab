// The node's descriptor table is grown once at start-up (before any thread
// runs) to what --max-connections needs, and its open-file soft limit is
// raised to the hard limit: a table grown later, under load, stalls the
// loop that grows it (docs/architecture.md, "Threads").

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { startGatehouse } from './harness.mjs';

const MAX_CONNECTIONS = 1000;
let node;

before(async () => {
  node = await startGatehouse({ args: ['--max-connections', String(MAX_CONNECTIONS)] });
});

after(async () => {
  await node?.dispose();
});

/// "Max open files" of /proc/PID/limits: [soft, hard] (Infinity for unlimited).
function openFileLimits(pid) {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n').find((l) => l.startsWith('Max open files'));
  assert.ok(line, 'no "Max open files" line in /proc/PID/limits');
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/)
    .map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return [soft, hard];
}

test('the open-file soft limit is raised to the hard limit', () => {
  const [soft, hard] = openFileLimits(node.pid);
  if (hard !== Infinity) assert.equal(soft, hard);
});

test('the descriptor table is sized for the connections at start-up', () => {
  const [soft] = openFileLimits(node.pid);
  const status = fs.readFileSync(`/proc/${node.pid}/status`, 'utf8');
  const size = Number(/^FDSize:\s+(\d+)$/m.exec(status)?.[1]);
  // Two descriptors per connection (client and upstream) and some spare;
  // an idle node that grew its table on demand would hold 64 or 128.
  const wanted = Math.min(soft, 2 * MAX_CONNECTIONS + 256);
  assert.ok(size >= wanted, `FDSize ${size} < ${wanted}`);
});
