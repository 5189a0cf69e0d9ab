// Format translation: an OpenAI-format client (POST /v1/chat/completions)
// served by an Anthropic-format provider and an Anthropic-format client
// (POST /v1/messages) served by an OpenAI-format provider, whole and
// streamed: system prompts, tool calls and results, stop reasons, usage and
// cost, errors; the provider's `format` field; the plan gate; the log's
// `translated`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, expectError, expectOk, hex, sseData, sseEvents, signup, startGatehouse, streamRequest, waitForLog,
} from './harness.mjs';
import { startFormatUpstream } from './format_upstream.mjs';
import { as, enterpriseOrg } from './governance_helpers.mjs';

const WEATHER_TOOL_OPENAI = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const WEATHER_TOOL_ANTHROPIC = {
  name: 'get_weather', description: 'Weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

let gh;
let anth;
let oai;

before(async () => {
  anth = await startFormatUpstream('anthropic');
  oai = await startFormatUpstream('openai');
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await anth?.close();
  await oai?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// An org (enterprise unless asked) with provider `claude` (format
/// anthropic) and `gpt` (format openai) on the two upstreams.
async function orgWithBoth({ plan = 'enterprise' } = {}) {
  const s = plan === 'enterprise' ? await enterpriseOrg(gh) : await signup(gh);
  const u = as(gh, s);
  s.label = `tr-${hex(4)}`;
  expectOk(await u.post('/api/v1/providers', {
    name: 'claude', base_url: `${anth.url}/${s.label}`, api_key: `sk-ant-${hex(8)}`, auth_header: 'x-api-key',
    auth_scheme: '', format: 'anthropic',
  }), 201);
  expectOk(await u.post('/api/v1/providers', {
    name: 'gpt', base_url: `${oai.url}/${s.label}`, api_key: `sk-oai-${hex(8)}`, format: 'openai',
  }), 201);
  return s;
}

const openaiChat = (s, body, headers = {}) => gh.api('POST', '/v1/chat/completions', {
  key: s.apiKey, body, headers: { 'x-gatehouse-provider': 'claude', ...headers },
});
const anthropicMessages = (s, body, headers = {}) => gh.api('POST', '/v1/messages', {
  key: s.apiKey, body, headers: { 'x-gatehouse-provider': 'gpt', 'anthropic-version': '2023-06-01', ...headers },
});

describe('provider format and plan', () => {
  test('format defaults from the name, is shown, validated and can be changed', async () => {
    const s = await signup(gh);
    const u = as(gh, s);
    const a = expectOk(await u.post('/api/v1/providers', {
      name: 'anthropic', base_url: `${anth.url}/x`, api_key: 'k1',
    }), 201);
    assert.equal(a.format, 'anthropic');
    const o = expectOk(await u.post('/api/v1/providers', { name: 'other', base_url: `${oai.url}/x`, api_key: 'k2' }), 201);
    assert.equal(o.format, 'openai');
    expectError(await u.post('/api/v1/providers', {
      name: 'bad', base_url: `${oai.url}/x`, api_key: 'k3', format: 'gemini',
    }), 400, 'invalid_request', 'format');
    expectError(await u.put('/api/v1/providers/other', { format: null }), 400, 'invalid_request', 'format');
    const changed = expectOk(await u.put('/api/v1/providers/other', { format: 'anthropic' }));
    assert.equal(changed.format, 'anthropic');
    assert.equal(expectOk(await u.get('/api/v1/providers/other')).format, 'anthropic');
    const back = expectOk(await u.put('/api/v1/providers/anthropic', { format: 'openai' }));
    assert.equal(back.format, 'openai');
  });

  test('free orgs get 403 plan_required for a request to be translated, nothing is sent', async () => {
    const s = await orgWithBoth({ plan: 'free' });
    const before = anth.requests.length + oai.requests.length;
    expectError(await openaiChat(s, { model: 'claude-3-5-haiku-latest', messages: [{ role: 'user', content: 'hi' }] }),
      403, 'plan_required');
    expectError(await anthropicMessages(s, { model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      403, 'plan_required');
    assert.equal(anth.requests.length + oai.requests.length, before);
    // The same format needs no plan and is relayed as it is.
    const res = await openaiChat(s, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      { 'x-gatehouse-provider': 'gpt' });
    expectOk(res);
    assert.equal(res.json.choices[0].message.content, 'Hello from OpenAI.');
    assert.equal(oai.last().path, `/${s.label}/v1/chat/completions`);
  });
});

describe('OpenAI client, Anthropic provider', () => {
  let s;
  before(async () => { s = await orgWithBoth(); });

  test('a plain answer: system prompt, max_tokens default, path, version header, usage, cost, log', async () => {
    const res = await openaiChat(s, {
      model: 'claude-3-5-haiku-latest', temperature: 0.3, stop: ['END'],
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hello?' }],
    });
    const body = expectOk(res);
    const rec = anth.last();
    assert.equal(rec.path, `/${s.label}/v1/messages`);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    assert.ok(rec.headers['x-api-key'].startsWith('sk-ant-'));
    assert.equal(rec.json.system, 'Be terse.');
    assert.equal(rec.json.max_tokens, 4096);
    assert.deepEqual(rec.json.stop_sequences, ['END']);
    assert.equal(rec.json.temperature, 0.3);
    assert.deepEqual(rec.json.messages, [{ role: 'user', content: [{ type: 'text', text: 'Hello?' }] }]);
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0].message.role, 'assistant');
    assert.equal(body.choices[0].message.content, 'Hello from Anthropic.');
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.deepEqual(body.usage, { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 });
    assert.match(res.headers['content-type'], /application\/json/);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.translated, 'openai->anthropic');
    assert.equal(entry.provider, 'claude');
    assert.equal(entry.tokens_in, 21);
    assert.equal(entry.tokens_out, 9);
    assert.equal(entry.usage_estimated, false);
    assert.equal(entry.unpriced, false);
    assert.ok(entry.cost_usd > 0, 'priced from the translated usage');
  });

  test('stop reasons map: max_tokens -> length, stop_sequence -> stop', async () => {
    const ask = (stop) => openaiChat(s, { model: 'claude-3-5-haiku-latest', max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }] }, { 'x-stop': stop });
    assert.equal(expectOk(await ask('max_tokens')).choices[0].finish_reason, 'length');
    assert.equal(anth.last().json.max_tokens, 5);
    assert.equal(expectOk(await ask('stop_sequence')).choices[0].finish_reason, 'stop');
  });

  test('tool calls and their results', async () => {
    const first = expectOk(await openaiChat(s, {
      model: 'claude-3-5-haiku-latest', tools: [WEATHER_TOOL_OPENAI], tool_choice: 'required',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    }));
    const sent = anth.last().json;
    assert.deepEqual(sent.tools, [{ name: 'get_weather', description: 'Weather of a city',
      input_schema: WEATHER_TOOL_OPENAI.function.parameters }]);
    assert.deepEqual(sent.tool_choice, { type: 'any' });
    const msg = first.choices[0].message;
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, 'Checking.');
    assert.equal(msg.tool_calls.length, 1);
    assert.equal(msg.tool_calls[0].id, 'toolu_01');
    assert.equal(msg.tool_calls[0].type, 'function');
    assert.equal(msg.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris' });
    const second = expectOk(await openaiChat(s, {
      model: 'claude-3-5-haiku-latest', tools: [WEATHER_TOOL_OPENAI],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, msg,
        { role: 'tool', tool_call_id: 'toolu_01', content: 'Sunny, 21 C' }],
    }));
    const turns = anth.last().json.messages;
    assert.equal(turns.length, 3);
    assert.deepEqual(turns[1].content[1], { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } });
    assert.deepEqual(turns[2], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'Sunny, 21 C' }] });
    assert.equal(second.choices[0].message.content, 'Hello from Anthropic.');
  });

  test('streaming: chunks event by event, usage only when asked, usage logged', async () => {
    for (const includeUsage of [false, true]) {
      const body = { model: 'claude-3-5-haiku-latest', stream: true, tools: [WEATHER_TOOL_OPENAI],
        messages: [{ role: 'user', content: 'Hi' }] };
      if (includeUsage) body.stream_options = { include_usage: true };
      const res = await streamRequest(gh.url, '/v1/chat/completions', {
        key: s.apiKey, body, headers: { 'x-gatehouse-provider': 'claude' },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'], /text\/event-stream/);
      const sent = anth.last().json;
      assert.equal(sent.stream, true);
      assert.equal(sent.stream_options, undefined);
      const data = sseData(res.text);
      assert.equal(data.at(-1), '[DONE]');
      const chunks = data.slice(0, -1);
      assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.equal(text, 'Hello');
      const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
      assert.equal(calls[0].id, 'toolu_01');
      assert.equal(calls[0].function.name, 'get_weather');
      assert.deepEqual(JSON.parse(calls.map((c) => c.function.arguments ?? '').join('')), { city: 'Paris' });
      const finish = chunks.find((c) => c.choices[0]?.finish_reason);
      assert.equal(finish.choices[0].finish_reason, 'tool_calls');
      const usage = chunks.filter((c) => c.usage);
      if (includeUsage) {
        assert.equal(usage.length, 1);
        assert.deepEqual(usage[0].choices, []);
        assert.deepEqual(usage[0].usage, { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 });
      } else {
        assert.equal(usage.length, 0, 'no usage chunk the client did not ask for');
      }
      const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
      assert.equal(entry.translated, 'openai->anthropic');
      assert.equal(entry.stream, true);
      assert.equal(entry.tokens_in, 21);
      assert.equal(entry.tokens_out, 9);
      assert.equal(entry.usage_estimated, false);
    }
  });

  test('provider errors reach the client in its format, with their status', async () => {
    const res = await openaiChat(s, { model: 'claude-3-5-haiku-latest', messages: [{ role: 'user', content: 'x' }] },
      { 'x-status': '429' });
    assert.equal(res.status, 429);
    assert.equal(res.json.error.message, 'slow down (anthropic)');
    assert.equal(res.json.error.type, 'rate_limit_error');
  });

  test('what cannot be translated is refused naming the field, nothing is sent', async () => {
    const before = anth.requests.length;
    const res = await openaiChat(s, { model: 'claude-3-5-haiku-latest', n: 3, messages: [{ role: 'user', content: 'x' }] });
    expectError(res, 400, 'invalid_request');
    assert.match(res.json.message, /'n'/);
    const audio = await openaiChat(s, { model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] });
    expectError(audio, 400, 'invalid_request');
    assert.match(audio.json.message, /messages\[0\]\.content\[0\]\.type/);
    assert.equal(anth.requests.length, before);
  });
});

describe('Anthropic client, OpenAI provider', () => {
  let s;
  before(async () => { s = await orgWithBoth(); });

  test('a plain answer: system prompt, path, headers, usage, log', async () => {
    const res = await anthropicMessages(s, {
      model: 'gpt-4o-mini', max_tokens: 64, system: 'Be terse.', stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'Hello?' }],
    });
    const body = expectOk(res);
    const rec = oai.last();
    assert.equal(rec.path, `/${s.label}/v1/chat/completions`);
    assert.equal(rec.headers['anthropic-version'], undefined);
    assert.ok(rec.headers.authorization.startsWith('Bearer sk-oai-'));
    assert.deepEqual(rec.json.messages, [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hello?' }]);
    assert.equal(rec.json.max_tokens, 64);
    assert.deepEqual(rec.json.stop, ['END']);
    assert.equal(body.type, 'message');
    assert.equal(body.role, 'assistant');
    assert.deepEqual(body.content, [{ type: 'text', text: 'Hello from OpenAI.' }]);
    assert.equal(body.stop_reason, 'end_turn');
    assert.deepEqual(body.usage, { input_tokens: 13, output_tokens: 7 });
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.translated, 'anthropic->openai');
    assert.equal(entry.tokens_in, 13);
    assert.equal(entry.tokens_out, 7);
    assert.ok(entry.cost_usd > 0);
  });

  test('stop reasons map: length -> max_tokens', async () => {
    const res = await anthropicMessages(s, { model: 'gpt-4o-mini', max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }] }, { 'x-stop': 'length' });
    assert.equal(expectOk(res).stop_reason, 'max_tokens');
  });

  test('tool use and tool results', async () => {
    const first = expectOk(await anthropicMessages(s, {
      model: 'gpt-4o-mini', max_tokens: 100, tools: [WEATHER_TOOL_ANTHROPIC],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    }));
    const sent = oai.last().json;
    assert.deepEqual(sent.tools, [WEATHER_TOOL_OPENAI]);
    assert.deepEqual(sent.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(first.stop_reason, 'tool_use');
    assert.deepEqual(first.content, [{ type: 'tool_use', id: 'call_01', name: 'get_weather', input: { city: 'Paris' } }]);
    const second = expectOk(await anthropicMessages(s, {
      model: 'gpt-4o-mini', max_tokens: 100, tools: [WEATHER_TOOL_ANTHROPIC],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_01', content: 'Sunny' }] }],
    }));
    const msgs = oai.last().json.messages;
    assert.deepEqual(msgs[1], { role: 'assistant', content: null, tool_calls: [
      { id: 'call_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] });
    assert.deepEqual(msgs[2], { role: 'tool', tool_call_id: 'call_01', content: 'Sunny' });
    assert.deepEqual(second.content, [{ type: 'text', text: 'Hello from OpenAI.' }]);
  });

  test('streaming: Anthropic events event by event, usage asked upstream and logged', async () => {
    const res = await streamRequest(gh.url, '/v1/messages', {
      key: s.apiKey,
      body: { model: 'gpt-4o-mini', max_tokens: 50, stream: true, tools: [WEATHER_TOOL_ANTHROPIC],
        messages: [{ role: 'user', content: 'Hi' }] },
      headers: { 'x-gatehouse-provider': 'gpt', 'anthropic-version': '2023-06-01' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(oai.last().json.stream_options, { include_usage: true });
    const names = sseEvents(res.text).map((e) => /^event: (\S+)/m.exec(e)?.[1]);
    assert.deepEqual(names, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop']);
    const data = sseData(res.text);
    assert.equal(data[0].message.role, 'assistant');
    assert.equal(data[2].delta.text + data[3].delta.text, 'Hello');
    assert.deepEqual(data[5].content_block, { type: 'tool_use', id: 'call_01', name: 'get_weather', input: {} });
    assert.equal(data[6].delta.partial_json + data[7].delta.partial_json, '{"city":"Paris"}');
    assert.equal(data[9].delta.stop_reason, 'tool_use');
    assert.equal(data[9].usage.output_tokens, 7);
    assert.equal(data[9].usage.input_tokens, 13);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.translated, 'anthropic->openai');
    assert.equal(entry.tokens_in, 13);
    assert.equal(entry.tokens_out, 7);
    assert.equal(entry.usage_estimated, false);
  });

  test('errors are translated', async () => {
    const res = await anthropicMessages(s, { model: 'gpt-4o-mini', max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }] }, { 'x-status': '429' });
    assert.equal(res.status, 429);
    assert.equal(res.json.type, 'error');
    assert.equal(res.json.error.message, 'slow down (openai)');
  });

  test('requests in the provider\'s own format are relayed untranslated', async () => {
    const res = await gh.api('POST', '/v1/chat/completions', {
      key: s.apiKey, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
      headers: { 'x-gatehouse-provider': 'gpt' },
    });
    expectOk(res);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.translated, null);
  });
});
