// Upstreams that misbehave: Gatehouse answers in its own error shape (or
// relays what it can), logs each exchange with the right status and
// error_code, and keeps serving. The faults are control headers of the mock
// upstream (x-mock-fault, see mock_upstream.mjs).

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  assertHealthy, createProvider, expectError, hex, sha256Hex, sharedNode, signup, sseData, streamRequest,
  waitForLog,
} from './harness.mjs';
import { REPLY_TEXT, chunkText, closedPortUrl, startMockUpstream, streamText } from './mock_upstream.mjs';

const MiB = 1024 * 1024;
const TIMEOUT_S = 2;
let mock;
let current;

/// One org with provider `openai` on the mock and `dead` on a closed port.
const shared = sharedNode({
  args: ['--allow-private-upstreams', '127.0.0.1/32', '--upstream-timeout', String(TIMEOUT_S)],
}, async (gh) => {
  const s = await signup(gh);
  await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: `sk-up-${hex(16)}` });
  await createProvider(gh, s, { name: 'dead', base_url: await closedPortUrl(), api_key: `sk-dead-${hex(8)}` });
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

// Every fault leaves a node that answers /healthz and still proxies.
afterEach(async () => {
  if (!current) return;
  const { gh, s } = current;
  current = null;
  await assertHealthy(gh, 'the fault');
  const ok = await gh.api('POST', '/v1/chat/completions', { key: s.apiKey, body: chatBody() });
  assert.equal(ok.status, 200, `a plain request after the fault: ${ok.status} ${ok.text}`);
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

/// A whole (non-streamed) chat request with the mock's control headers;
/// {res, rec, ms}.
async function chat(headers, { provider = 'openai', body = chatBody() } = {}) {
  const { gh, s } = await node();
  const tag = hex(8);
  const t0 = Date.now();
  const res = await gh.api('POST', '/v1/chat/completions', {
    key: s.apiKey, body, headers: { 'x-test-tag': tag, 'x-gatehouse-provider': provider, ...headers },
  });
  return { res, rec: recordOf(tag), ms: Date.now() - t0, gh, s };
}

/// A streamed chat request; {res, rec}.
async function stream(headers, extra = {}) {
  const { gh, s } = await node();
  const tag = hex(8);
  const res = await streamRequest(gh.url, '/v1/chat/completions', {
    key: s.apiKey, body: chatBody({ stream: true, ...extra }), headers: { 'x-test-tag': tag, ...headers },
  });
  return { res, rec: recordOf(tag), gh, s };
}

/// The log entry of an answer, with its status and error_code checked.
async function logged(gh, s, res, status, errorCode) {
  const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
  assert.equal(entry.status, status, `logged status: ${JSON.stringify(entry)}`);
  assert.equal(entry.error_code, errorCode, `logged error_code: ${JSON.stringify(entry)}`);
  return entry;
}

describe('before any answer', () => {
  test('connection refused -> 502 upstream_error, logged', async () => {
    const { res, gh, s } = await chat({}, { provider: 'dead' });
    expectError(res, 502, 'upstream_error');
    assert.equal(res.headers['x-gatehouse-provider'], 'dead');
    await logged(gh, s, res, 502, 'upstream_error');
  });

  test('accepts and never answers -> 504 upstream_timeout after the timeout; the upstream is closed', async () => {
    const { res, rec, ms, gh, s } = await chat({ 'x-mock-fault': 'never-answer' });
    expectError(res, 504, 'upstream_timeout');
    assert.ok(ms >= TIMEOUT_S * 1000 - 300 && ms < TIMEOUT_S * 1000 + 1500, `answered after ${ms} ms`);
    assert.ok(rec, 'the request reached the upstream');
    const closed = await mock.waitForClose((c) => c.request === rec, 3000);
    assert.equal(closed.finished, false);
    await logged(gh, s, res, 504, 'upstream_timeout');
  });

  test('a stream request that never gets a head -> 504 upstream_timeout', async () => {
    const { res, rec, gh, s } = await stream({ 'x-mock-fault': 'never-answer' });
    assert.equal(res.status, 504);
    assert.equal(JSON.parse(res.text).error_code, 'upstream_timeout');
    await mock.waitForClose((c) => c.request === rec, 3000);
    await logged(gh, s, res, 504, 'upstream_timeout');
  });

  test('answers bytes that are not HTTP -> 502 upstream_error', async () => {
    const { res, rec, gh, s } = await chat({ 'x-mock-fault': 'invalid-http' });
    expectError(res, 502, 'upstream_error');
    assert.ok(rec, 'the request reached the upstream');
    await logged(gh, s, res, 502, 'upstream_error');
  });

  test('a stream request answered with bytes that are not HTTP -> 502 upstream_error', async () => {
    const { res, gh, s } = await stream({ 'x-mock-fault': 'invalid-http' });
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(res.text).error_code, 'upstream_error');
    await logged(gh, s, res, 502, 'upstream_error');
  });
});

describe('whole answers', () => {
  test('trickled one byte at a time: relayed intact, usage counted', async () => {
    const { res, rec, gh, s } = await chat({
      'x-mock-fault': 'trickle', 'x-mock-trickle-ms': '1', 'x-mock-usage': '5,6',
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(rec.writes.length > 100, 'the mock did not trickle');
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    assert.equal(res.json.choices[0].message.content, REPLY_TEXT);
    const entry = await logged(gh, s, res, 200, null);
    assert.equal(entry.tokens_in, 5);
    assert.equal(entry.tokens_out, 6);
  });

  test('closed mid-body -> 502 upstream_error, logged', async () => {
    const { res, rec, gh, s } = await chat({ 'x-mock-fault': 'close-mid-body' });
    expectError(res, 502, 'upstream_error');
    assert.equal((await mock.waitForClose((c) => c.request === rec)).finished, false);
    await logged(gh, s, res, 502, 'upstream_error');
  });

  test('compressed although identity was asked: the client can still read it', async () => {
    const { res, rec, gh, s } = await chat({ 'x-mock-fault': 'gzip-always', 'x-mock-usage': '7,8' });
    assert.equal(res.status, 200, res.text);
    // fetch decodes a relayed Content-Encoding; a decoded relay is plain.
    assert.deepEqual(res.json, JSON.parse(mock.plain(rec).toString('utf8')));
    const entry = await logged(gh, s, res, 200, null);
    assert.ok(entry.usage_estimated || (entry.tokens_in === 7 && entry.tokens_out === 8),
      `usage neither read nor marked estimated: ${JSON.stringify(entry)}`);
    assert.equal(rec.headers['accept-encoding'], 'identity');
  });

  test('20 MB, over --max-usage-parse-bytes: relayed intact, usage estimated', async () => {
    const { res, rec, gh, s } = await chat({ 'x-mock-fault': 'huge-json' });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const sent = mock.sent(rec);
    assert.ok(sent.length > 20_000_000);
    assert.equal(Buffer.byteLength(res.text), sent.length);
    assert.equal(sha256Hex(res.text), sha256Hex(sent));
    const entry = await logged(gh, s, res, 200, null);
    assert.equal(entry.usage_estimated, true);
  });

  test('nested 10,000 deep: relayed intact, usage estimated', async () => {
    const { res, rec, gh, s } = await chat({ 'x-mock-fault': 'deep-json', 'x-mock-depth': '10000' });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    const entry = await logged(gh, s, res, 200, null);
    assert.equal(entry.usage_estimated, true);
  });

  test('nested 100,000 deep: relayed intact, usage estimated', async () => {
    const { res, rec, gh, s } = await chat({ 'x-mock-fault': 'deep-json', 'x-mock-depth': '100000' });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    const entry = await logged(gh, s, res, 200, null);
    assert.equal(entry.usage_estimated, true);
  });
});

describe('streams', () => {
  test('trickled one byte at a time, longer than the timeout in all: relayed whole, usage counted', async () => {
    const t0 = Date.now();
    const { res, rec, gh, s } = await stream({
      'x-mock-fault': 'trickle', 'x-mock-trickle-ms': '5', 'x-mock-chunks': '2', 'x-mock-usage': '9,10',
    });
    const ms = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.equal(res.error, null, `the stream failed: ${res.error}`);
    assert.ok(ms > TIMEOUT_S * 1000, `the trickle took only ${ms} ms; make it slower`);
    assert.equal(res.text, mock.sent(rec).toString('utf8').replace(rec.usageEvent, ''));
    const entry = await logged(gh, s, res, 200, null);
    assert.equal(entry.tokens_in, 9);
    assert.equal(entry.tokens_out, 10);
  });

  test('closed mid-stream: the client stream ends; partial usage logged with upstream_error', async () => {
    const { res, rec, gh, s } = await stream({ 'x-mock-fault': 'close-mid-stream', 'x-mock-chunks': '6' });
    assert.equal(res.status, 200);
    assert.ok(res.text.includes(chunkText(0)) && res.text.includes(chunkText(1)), res.text);
    assert.ok(!res.text.includes(chunkText(2)));
    assert.ok(!res.text.includes('[DONE]'));
    assert.equal((await mock.waitForClose((c) => c.request === rec)).finished, false);
    const entry = await logged(gh, s, res, 200, 'upstream_error');
    assert.equal(entry.stream, true);
    assert.ok(entry.tokens_out > 0, `tokens_out ${entry.tokens_out}`);
    assert.equal(entry.usage_estimated, true);
  });

  test('an endless SSE line: cut at --max-sse-event-bytes with an error event, upstream closed', {
    timeout: 30_000,
  }, async () => {
    const { res, rec, gh, s } = await stream({ 'x-mock-fault': 'endless-sse-line' });
    assert.equal(res.status, 200);
    const closed = await mock.waitForClose((c) => c.request === rec, 5000);
    assert.equal(closed.finished, false);
    assert.ok(rec.sentBytes < 64 * MiB, `the upstream sent ${rec.sentBytes} bytes before it was cut`);
    const events = res.events.map((e) => e.text);
    assert.ok(events[0]?.includes(chunkText(0)), 'the first event was relayed');
    const last = events[events.length - 1] ?? '';
    assert.match(last, /^event: error\n/, `the stream ended with ${JSON.stringify(last.slice(0, 200))}`);
    const data = JSON.parse(/\ndata: (.*)\n/.exec(last)[1]);
    assert.equal(data.error_code, 'upstream_error');
    assert.equal(data.error.code, 'upstream_error');
    assert.ok(res.raw.length < 2 * MiB, `the client got ${res.raw.length} bytes`);
    await logged(gh, s, res, 200, 'upstream_error');
  });

  test('an event nested 10,000 deep is relayed; the usage event still counts', async () => {
    const { res, rec, gh, s } = await stream({ 'x-mock-fault': 'deep-json', 'x-mock-usage': '11,12' });
    assert.equal(res.status, 200);
    assert.equal(res.text, mock.sent(rec).toString('utf8').replace(rec.usageEvent, ''));
    const entry = await logged(gh, s, res, 200, null);
    assert.equal(entry.tokens_in, 11);
    assert.equal(entry.tokens_out, 12);
  });

  test('compressed although identity was asked: the stream ends and is logged', async () => {
    const { res, rec, gh, s } = await stream({ 'x-mock-fault': 'gzip-always', 'x-mock-chunks': '3' });
    assert.equal(res.status, 200);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.stream, true);
    assert.equal(entry.status, 200);
    if (res.error === null && res.headers['content-encoding'] === undefined && res.text.includes('data:')) {
      // Decoded before relaying: the events are the upstream's.
      assert.equal(sseData(res.text).filter((d) => d !== '[DONE]').map((c) => c.choices[0]?.delta?.content ?? '')
        .join(''), streamText(3));
    }
    assert.equal(rec.headers['accept-encoding'], 'identity');
  });
});
