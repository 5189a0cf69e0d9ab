// Streaming through the proxy: incremental relay, the usage chunk the
// gateway asks for and hides, comments, reassembly of split events,
// Anthropic event streams, client disconnects and idle upstreams.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, createProvider, hex, signup, sseData, sseEvents, startGatehouse, streamRequest, waitForLog,
} from './harness.mjs';
import { chunkText, startMockUpstream, streamText } from './mock_upstream.mjs';

let gh;
let mock;
let s;
const keys = {};

before(async () => {
  mock = await startMockUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
  s = await signup(gh);
  for (const name of ['openai', 'anthropic']) {
    keys[name] = `sk-up-${name}-${hex(16)}`;
    await createProvider(gh, s, {
      name,
      base_url: `${mock.url}/p/${name}`,
      api_key: keys[name],
      ...(name === 'anthropic' ? { auth_header: 'x-api-key', auth_scheme: '' } : {}),
    });
  }
});

after(async () => {
  await mock?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

function chatStream(extra = {}) {
  return { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Count.' }], ...extra };
}

/// Streams `body` to `p` with a tag header; returns {res, rec, sent}.
async function stream(p, { body, raw, headers = {}, abortAfterEvents } = {}) {
  const tag = hex(8);
  const res = await streamRequest(gh.url, p, {
    key: s.apiKey, body, raw, headers: { 'x-test-tag': tag, ...headers }, abortAfterEvents,
  });
  const rec = mock.lastRequest((r) => r.headers['x-test-tag'] === tag);
  return { res, rec, tag };
}

/// The chat chunks a client saw (data events other than [DONE]).
function chunksOf(text) {
  return sseData(text).filter((d) => d !== '[DONE]');
}

describe('OpenAI streams', () => {
  test('without include_usage: asked for upstream, hidden from the client', async () => {
    const body = chatStream({ temperature: 0 });
    const { res, rec } = await stream('/v1/chat/completions', { body, headers: { 'x-mock-chunks': '4' } });
    assert.equal(res.status, 200);
    assert.equal(res.error, null, `the stream failed: ${res.error}`);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    assert.equal(res.headers['x-gatehouse-provider'], 'openai');
    assert.ok(res.headers['x-gatehouse-request-id']);
    assert.equal(res.headers['x-mock-kind'], 'chat-stream');

    assert.equal(rec.json.stream_options?.include_usage, true, 'the gateway did not ask for usage');
    const { stream_options: _, ...rest } = rec.json;
    assert.deepEqual(rest, body, 'the rest of the body is unchanged');

    const sent = mock.sent(rec).toString('utf8');
    assert.ok(rec.usageEvent && sent.includes(rec.usageEvent));
    assert.equal(res.text, sent.replace(rec.usageEvent, ''), 'relayed bytes differ from the upstream stream');
    const chunks = chunksOf(res.text);
    assert.equal(chunks.length, 4);
    for (const c of chunks) {
      assert.ok(c.choices.length > 0, 'a usage-only chunk reached the client');
      assert.ok(!c.usage, 'the client did not ask for usage');
    }
    assert.equal(chunks.map((c) => c.choices[0].delta.content).join(''), streamText(4));
    assert.ok(res.text.includes('\n\n: ping\n\n'), 'the comment was not relayed');
    assert.ok(res.text.endsWith('data: [DONE]\n\n'));
  });

  test('include_usage false counts as not asked', async () => {
    const body = chatStream({ stream_options: { include_usage: false } });
    const { res, rec } = await stream('/v1/chat/completions', { body });
    assert.equal(rec.json.stream_options.include_usage, true);
    assert.equal(res.text, mock.sent(rec).toString('utf8').replace(rec.usageEvent, ''));
    assert.ok(chunksOf(res.text).every((c) => c.choices.length > 0));
  });

  test('with include_usage: the body is untouched and the usage chunk is relayed', async () => {
    const raw = JSON.stringify(chatStream({ stream_options: { include_usage: true } }));
    const { res, rec } = await stream('/v1/chat/completions', { raw, headers: { 'x-mock-chunks': '3' } });
    assert.equal(res.status, 200);
    assert.equal(rec.text, raw);
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    const chunks = chunksOf(res.text);
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
  });

  test('events arrive as they are produced, not at the end', async () => {
    const { res, rec } = await stream('/v1/chat/completions', {
      body: chatStream(), headers: { 'x-mock-chunks': '5', 'x-mock-chunk-delay-ms': '200' },
    });
    assert.equal(res.status, 200);
    const contentEvents = res.events.filter((e) => e.text.startsWith('data: {') && !e.text.includes('"choices":[]'));
    assert.equal(contentEvents.length, 5);
    const first = contentEvents[0].at;
    const last = contentEvents[4].at;
    const lastWrite = rec.writes[rec.writes.length - 1].at;
    assert.ok(first < lastWrite - 400, `first event at +${first - res.t0} ms, upstream finished at +${lastWrite - res.t0} ms`);
    assert.ok(last - first >= 500, `events spread over ${last - first} ms only`);
    assert.equal(res.text, mock.sent(rec).toString('utf8').replace(rec.usageEvent, ''));
  });

  test('events split into 3-byte writes are reassembled', async () => {
    const body = chatStream();
    const { res, rec } = await stream('/v1/chat/completions', { body, headers: { 'x-mock-split': '1', 'x-mock-chunks': '4' } });
    assert.equal(res.status, 200);
    assert.ok(rec.writes.length > 100, 'the mock did not split its writes');
    assert.equal(res.text, mock.sent(rec).toString('utf8').replace(rec.usageEvent, ''));
    assert.equal(chunksOf(res.text).map((c) => c.choices[0].delta.content).join(''), streamText(4));

    const asked = await stream('/v1/chat/completions', {
      body: chatStream({ stream_options: { include_usage: true } }), headers: { 'x-mock-split': '1' },
    });
    assert.equal(asked.res.text, mock.sent(asked.rec).toString('utf8'));
  });

  test('an upstream error on a stream request is relayed', async () => {
    const { res, rec } = await stream('/v1/chat/completions', { body: chatStream(), headers: { 'x-mock-status': '429' } });
    assert.equal(res.status, 429);
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    assert.equal(JSON.parse(res.text).error.code, 'mock_429');
  });

  test('the log carries the usage of the hidden chunk', async () => {
    const { res } = await stream('/v1/chat/completions', { body: chatStream(), headers: { 'x-mock-usage': '77,88' } });
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.stream, true);
    assert.equal(entry.status, 200);
    assert.equal(entry.provider, 'openai');
    assert.equal(entry.model, 'gpt-4o-mini');
    assert.equal(entry.tokens_in, 77);
    assert.equal(entry.tokens_out, 88);
    assert.equal(entry.usage_estimated, false);
    assert.equal(typeof entry.ttft_ms, 'number');
    assert.equal(typeof entry.latency_ms, 'number');
    assert.ok(entry.ttft_ms >= 0 && entry.ttft_ms <= entry.latency_ms, `ttft ${entry.ttft_ms}, latency ${entry.latency_ms}`);
  });
});

describe('Anthropic streams', () => {
  test('every event is relayed; the body is untouched', async () => {
    const raw = JSON.stringify({
      model: 'claude-3-5-haiku-latest', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Count.' }],
    });
    const { res, rec } = await stream('/v1/messages', { raw, headers: { 'x-mock-chunks': '4', 'anthropic-version': '2023-06-01' } });
    assert.equal(res.status, 200);
    assert.equal(rec.label, 'anthropic');
    assert.equal(rec.headers['x-api-key'], keys.anthropic);
    assert.equal(rec.text, raw, 'an Anthropic body gets no stream_options');
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    const types = sseEvents(res.text).map((e) => /^event: (\S+)/.exec(e)?.[1]);
    assert.deepEqual(types, ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(res.headers['x-gatehouse-provider'], 'anthropic');
  });

  test('split writes and the log tokens', async () => {
    const body = { model: 'claude-3-5-haiku-latest', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'x' }] };
    const { res, rec } = await stream('/v1/messages', { body, headers: { 'x-mock-split': '1', 'x-mock-usage': '15,25' } });
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.stream, true);
    assert.equal(entry.provider, 'anthropic');
    assert.equal(entry.path, '/v1/messages');
    assert.equal(entry.tokens_in, 15);
    assert.equal(entry.tokens_out, 25);
    assert.equal(entry.usage_estimated, false);
  });
});

describe('interrupted streams', () => {
  test('a client that disconnects cancels the upstream; partial usage is logged', async () => {
    const t0 = Date.now();
    const { res, rec } = await stream('/v1/chat/completions', {
      body: chatStream(), headers: { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '200' }, abortAfterEvents: 1,
    });
    assert.equal(res.status, 200);
    assert.ok(res.aborted);
    assert.ok(res.text.includes(chunkText(0)));
    const closed = await mock.waitForClose((c) => c.request === rec, 2000);
    assert.equal(closed.finished, false, 'the upstream stream ran to its end');
    assert.ok(closed.at - t0 < 3000, `upstream closed ${closed.at - t0} ms after the start`);

    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.stream, true);
    assert.equal(entry.status, 200);
    assert.ok(entry.tokens_out > 0, `tokens_out ${entry.tokens_out}`);
    assert.ok(entry.usage_estimated === true || entry.tokens_out === 20,
      `usage_estimated ${entry.usage_estimated} with tokens_out ${entry.tokens_out}`);
  });

  test('an upstream that stalls mid-stream is cut after --upstream-timeout', async () => {
    const { res, rec } = await stream('/v1/chat/completions', {
      body: chatStream(), headers: { 'x-mock-chunks': '3', 'x-mock-chunk-delay-ms': '3000' },
    });
    assert.equal(res.status, 200);
    const firstAt = res.events[0]?.at ?? res.t0;
    const endedAt = Date.now();
    assert.ok(res.text.includes(chunkText(0)), 'the first event was relayed');
    assert.ok(!res.text.includes(chunkText(1)), 'the stream went on past the timeout');
    assert.ok(endedAt - firstAt >= 1500 && endedAt - firstAt < 2950,
      `the stream ended ${endedAt - firstAt} ms after the first event, expected about 2000`);
    const closed = await mock.waitForClose((c) => c.request === rec, 2000);
    assert.equal(closed.finished, false);
  });

  test('the server still streams afterwards', async () => {
    const { res, rec } = await stream('/v1/chat/completions', { body: chatStream() });
    assert.equal(res.status, 200);
    assert.equal(res.text, mock.sent(rec).toString('utf8').replace(rec.usageEvent, ''));
  });
});
