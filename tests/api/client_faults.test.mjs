// Clients that go away in every phase of an exchange, and a client that
// floods its connection while its stream is open. After each, the node
// answers /healthz and still proxies; an upstream request that had started
// is ended (the mock records its close), and the exchange is logged when a
// provider was called.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, assertHealthy, buildRequest, connect, createProvider, hex, poll, sharedNode, signup, waitClosed,
  waitForSessionLogs,
} from './harness.mjs';
import { chunkText, startMockUpstream } from './mock_upstream.mjs';

const MiB = 1024 * 1024;
let mock;
let current;

const shared = sharedNode({ args: [...PROXY_ARGS] }, async (gh) => {
  const s = await signup(gh);
  await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(16)}` });
  return { s };
});

before(async () => {
  mock = await startMockUpstream();
});

after(async () => {
  const code = await shared.dispose();
  await mock?.close();
  if (code !== null && code !== undefined) assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

afterEach(async () => {
  if (!current) return;
  const { gh, s } = current;
  current = null;
  await assertHealthy(gh, 'the client went away');
  const ok = await gh.api('POST', '/v1/chat/completions', { key: s.apiKey, body: chatBody() });
  assert.equal(ok.status, 200, `a plain request afterwards: ${ok.status} ${ok.text}`);
});

async function node() {
  current = await shared();
  return current;
}

function chatBody(extra = {}) {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }], ...extra };
}

function recordOf(tag) {
  return mock.lastRequest((r) => r.headers['x-test-tag'] === tag);
}

/// The bytes of a proxied chat request with a tag and a session id of its
/// own (to find its log entry); {bytes, tag, session}.
function chatRequest(key, { headers = [], body = chatBody() } = {}) {
  const tag = hex(8);
  const session = `client-fault-${hex(6)}`;
  const bytes = buildRequest({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: [
      ['Content-Type', 'application/json'], ['X-Gatehouse-Key', key], ['X-Test-Tag', tag],
      ['X-Gatehouse-Session-Id', session], ...headers,
    ],
    body: JSON.stringify(body),
  });
  return { bytes, tag, session };
}

/// Resolves once the socket has received bytes containing `text`.
function received(socket, text, timeoutMs = 5000) {
  return poll(() => Buffer.concat(socket.received).includes(text), {
    timeoutMs, intervalMs: 10, what: `'${text}' from the server`,
  });
}

/// Resolves with the mock's record of `tag` once the request reached it.
function reached(tag, timeoutMs = 3000) {
  return poll(() => recordOf(tag), { timeoutMs, intervalMs: 10, what: 'the request reaching the upstream' });
}

/// Connects, writes `bytes` and leaves: `destroy` (a reset) or `end` (a
/// clean half-close) once `when(socket)` resolves.
async function leave(gh, bytes, when = async () => {}, how = 'destroy') {
  const socket = await connect(gh.url);
  socket.write(bytes);
  await when(socket);
  if (how === 'end') socket.end();
  else socket.destroy();
  return socket;
}

describe('before the request is complete', () => {
  const cut = (bytes, at) => bytes.subarray(0, at);

  test('mid request line', async () => {
    const { gh, s } = await node();
    const before = mock.requests.length;
    await leave(gh, cut(chatRequest(s.apiKey).bytes, 12));
    await assertHealthy(gh);
    assert.equal(mock.requests.length, before);
  });

  test('mid headers', async () => {
    const { gh, s } = await node();
    const { bytes, tag } = chatRequest(s.apiKey);
    await leave(gh, cut(bytes, bytes.indexOf('X-Gatehouse-Session-Id') + 5));
    await assertHealthy(gh);
    assert.equal(recordOf(tag), undefined);
  });

  test('mid body (Content-Length)', async () => {
    const { gh, s } = await node();
    const { bytes, tag } = chatRequest(s.apiKey, { body: chatBody({ pad: 'x'.repeat(4000) }) });
    await leave(gh, cut(bytes, bytes.indexOf('\r\n\r\n') + 1000));
    await assertHealthy(gh);
    assert.equal(recordOf(tag), undefined);
  });

  test('mid body (chunked)', async () => {
    const { gh, s } = await node();
    const tag = hex(8);
    const head = buildRequest({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: [
        ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked'], ['X-Gatehouse-Key', s.apiKey],
        ['X-Test-Tag', tag],
      ],
    });
    await leave(gh, Buffer.concat([head, Buffer.from('10\r\n{"model": "gpt-4\r\n8\r\no-mini",')]));
    await assertHealthy(gh);
    assert.equal(recordOf(tag), undefined);
  });

  test('with a large declared body, after a part of it', async () => {
    const { gh, s } = await node();
    const { bytes, tag } = chatRequest(s.apiKey, { body: chatBody({ pad: 'x'.repeat(4 * MiB) }) });
    await leave(gh, cut(bytes, 2 * MiB));
    await assertHealthy(gh);
    assert.equal(recordOf(tag), undefined);
  });
});

describe('while the upstream works on a whole answer', () => {
  test('gone while the upstream thinks: the upstream request ends; the exchange is logged', async () => {
    const { gh, s } = await node();
    const { bytes, tag, session } = chatRequest(s.apiKey, { headers: [['X-Mock-Delay-Ms', '1000']] });
    await leave(gh, bytes, () => reached(tag));
    await assertHealthy(gh);
    const closed = await mock.waitForClose((c) => c.request === recordOf(tag), 4000);
    assert.ok(closed, 'the upstream request never ended');
    const [entry] = await waitForSessionLogs(gh, s, session, { timeoutMs: 4000 });
    assert.equal(entry.provider, 'openai');
    assert.equal(entry.path, '/v1/chat/completions');
  });

  test('gone while the upstream trickles its answer', async () => {
    const { gh, s } = await node();
    const { bytes, tag, session } = chatRequest(s.apiKey, {
      headers: [['X-Mock-Fault', 'trickle'], ['X-Mock-Trickle-Ms', '3']],
    });
    await leave(gh, bytes, () => poll(() => recordOf(tag)?.writes.length > 20, { intervalMs: 10 }));
    await assertHealthy(gh);
    await mock.waitForClose((c) => c.request === recordOf(tag), 4000);
    const [entry] = await waitForSessionLogs(gh, s, session, { timeoutMs: 4000 });
    assert.equal(entry.provider, 'openai');
  });

  test('gone half-way through a 30 MB answer: the exchange is logged', async () => {
    const { gh, s } = await node();
    const { bytes, tag, session } = chatRequest(s.apiKey, {
      headers: [['X-Mock-Fault', 'huge-json'], ['X-Mock-Size', String(30_000_000)]],
    });
    const socket = await leave(gh, bytes, (sock) => received(sock, '"padding":"xxxx', 10_000));
    assert.ok(Buffer.concat(socket.received).length < 30_000_000, 'the whole answer arrived before the client left');
    await assertHealthy(gh);
    const closed = await mock.waitForClose((c) => c.request === recordOf(tag), 4000);
    assert.equal(closed.finished, true, 'the upstream answer was whole before the client got it');
    const [entry] = await waitForSessionLogs(gh, s, session, { timeoutMs: 4000 });
    assert.equal(entry.status, 200);
  });
});

describe('streams', () => {
  const streamHeaders = [['X-Mock-Chunks', '30'], ['X-Mock-Chunk-Delay-Ms', '100']];

  for (const how of ['destroy', 'end']) {
    test(`gone mid-stream (${how}): the upstream is cancelled; partial usage logged`, async () => {
      const { gh, s } = await node();
      const { bytes, tag, session } = chatRequest(s.apiKey, {
        headers: streamHeaders, body: chatBody({ stream: true }),
      });
      const t0 = Date.now();
      await leave(gh, bytes, (sock) => received(sock, chunkText(1)), how);
      const closed = await mock.waitForClose((c) => c.request === recordOf(tag), 3000);
      assert.equal(closed.finished, false, 'the upstream stream ran to its end');
      assert.ok(closed.at - t0 < 2500, `the upstream was closed ${closed.at - t0} ms after the start`);
      const [entry] = await waitForSessionLogs(gh, s, session, { timeoutMs: 4000 });
      assert.equal(entry.stream, true);
      assert.equal(entry.status, 200);
      assert.ok(entry.tokens_out > 0, `tokens_out ${entry.tokens_out}`);
    });
  }

  test('gone before the stream started: the upstream is cancelled once it answers', async () => {
    const { gh, s } = await node();
    const { bytes, tag, session } = chatRequest(s.apiKey, {
      headers: [...streamHeaders, ['X-Mock-Delay-Ms', '500']], body: chatBody({ stream: true }),
    });
    await leave(gh, bytes, () => reached(tag));
    const closed = await mock.waitForClose((c) => c.request === recordOf(tag), 4000);
    assert.equal(closed.finished, false, 'the upstream stream ran to its end');
    await waitForSessionLogs(gh, s, session, { timeoutMs: 4000 });
  });

  test('a client that keeps sending while its stream is open is cut off', async () => {
    const { gh, s } = await node();
    const { bytes, tag, session } = chatRequest(s.apiKey, {
      headers: [['X-Mock-Chunks', '60'], ['X-Mock-Chunk-Delay-Ms', '100']], body: chatBody({ stream: true }),
    });
    const socket = await connect(gh.url);
    try {
      socket.write(bytes);
      await received(socket, chunkText(0));
      // Junk after the request, as fast as the server takes it, up to 64 MiB.
      const junk = Buffer.alloc(64 * 1024, 0x41);
      let sent = 0;
      while (sent < 64 * MiB && socket.closedAt === null && !socket.ended && !socket.lastError) {
        sent += junk.length;
        if (!socket.write(junk)) {
          await new Promise((resolve) => {
            const t = setTimeout(resolve, 200);
            socket.once('drain', () => {
              clearTimeout(t);
              resolve();
            });
          });
        }
      }
      await waitClosed(socket, 8000);
      const closed = await mock.waitForClose((c) => c.request === recordOf(tag), 3000);
      assert.equal(closed.finished, false, `the stream ran to its end (the client sent ${sent} bytes)`);
      assert.ok(!Buffer.concat(socket.received).includes('[DONE]'), 'the stream ran to its end');
    } finally {
      socket.destroy();
    }
    const [entry] = await waitForSessionLogs(gh, s, session, { timeoutMs: 4000 });
    assert.equal(entry.stream, true);
  });
});
