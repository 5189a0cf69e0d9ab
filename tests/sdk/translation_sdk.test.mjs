// Format translation with the official clients, unmodified: the `openai`
// client (chat completions) served by an Anthropic-format provider and the
// `@anthropic-ai/sdk` client (messages) served by an OpenAI-format
// provider, on an enterprise org (format_translation). Whole answers,
// streams and tool call round trips; what each upstream received is checked
// in its own format.
//
// Needs `npm ci --prefix tests/sdk` (exact versions from package-lock.json).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, createProvider, hex, setPlan, signup, startGatehouse, waitForLog,
} from '../api/harness.mjs';
import {
  ANTHROPIC_TEXT, ANTHROPIC_TOOL_ID, ANTHROPIC_USAGE, OPENAI_TEXT, OPENAI_TOOL_ID, OPENAI_USAGE, STREAM_DELTAS,
  TOOL_INPUT, startFormatUpstream,
} from '../api/format_upstream.mjs';

async function load(name) {
  try {
    return (await import(name)).default;
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`the npm package '${name}' is not installed; run \`npm ci --prefix tests/sdk\` first`);
    }
    throw e;
  }
}

const OpenAI = await load('openai');
const Anthropic = await load('@anthropic-ai/sdk');

const DUMMY_OPENAI_KEY = `sk-dummy-openai-${hex(8)}`;
const DUMMY_ANTHROPIC_KEY = `sk-ant-dummy-${hex(8)}`;
const CLAUDE_KEY = `sk-ant-up-${hex(12)}`;
const GPT_KEY = `sk-oai-up-${hex(12)}`;
const STREAM_TEXT = STREAM_DELTAS.join('');

const WEATHER_PARAMS = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const WEATHER_TOOL_OPENAI = {
  type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: WEATHER_PARAMS },
};
const WEATHER_TOOL_ANTHROPIC = { name: 'get_weather', description: 'Weather of a city', input_schema: WEATHER_PARAMS };

let gh;
let anth;
let oai;
let s;
let openai;
let anthropic;

before(async () => {
  anth = await startFormatUpstream('anthropic');
  oai = await startFormatUpstream('openai');
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
  s = await signup(gh);
  await setPlan(gh, s.org.id, 'enterprise');
  await createProvider(gh, s, {
    name: 'claude', base_url: `${anth.url}/a`, api_key: CLAUDE_KEY, auth_header: 'x-api-key', auth_scheme: '',
    format: 'anthropic',
  });
  await createProvider(gh, s, { name: 'gpt', base_url: `${oai.url}/o`, api_key: GPT_KEY, format: 'openai' });
  // No retries: a failed request must fail the test, not be sent again.
  openai = new OpenAI({
    apiKey: DUMMY_OPENAI_KEY, baseURL: `${gh.url}/v1`, maxRetries: 0,
    defaultHeaders: { 'X-Gatehouse-Key': s.apiKey, 'X-Gatehouse-Provider': 'claude' },
  });
  anthropic = new Anthropic({
    apiKey: DUMMY_ANTHROPIC_KEY, baseURL: gh.url, maxRetries: 0,
    defaultHeaders: { 'X-Gatehouse-Key': s.apiKey, 'X-Gatehouse-Provider': 'gpt' },
  });
});

after(async () => {
  await anth?.close();
  await oai?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// Runs `fn` and returns its result with the requests `upstream` received
/// meanwhile, each checked for credentials: the provider key went up in
/// `header`, the client's dummy key and the Gatehouse headers did not.
async function exchange(upstream, header, value, fn) {
  const from = upstream.requests.length;
  const result = await fn();
  const sent = upstream.requests.slice(from);
  for (const rec of sent) {
    const all = JSON.stringify(rec.rawHeaders);
    assert.ok(!all.includes(DUMMY_OPENAI_KEY) && !all.includes(DUMMY_ANTHROPIC_KEY), 'a client key went upstream');
    assert.ok(!all.includes(s.apiKey), 'the Gatehouse key went upstream');
    for (const h of Object.keys(rec.headers)) assert.ok(!h.startsWith('x-gatehouse-'), `${h} went upstream`);
    assert.equal(rec.headers[header], value, `upstream ${header}`);
  }
  return { result, sent };
}

const toClaude = (fn) => exchange(anth, 'x-api-key', CLAUDE_KEY, fn);
const toGpt = (fn) => exchange(oai, 'authorization', `Bearer ${GPT_KEY}`, fn);

async function assertTranslatedLog(requestId, direction, usage) {
  const entry = await waitForLog(gh, s, requestId);
  assert.equal(entry.translated, direction);
  assert.equal(entry.tokens_in, usage[0]);
  assert.equal(entry.tokens_out, usage[1]);
  assert.equal(entry.usage_estimated, false);
}

describe('openai client, Anthropic-format provider', () => {
  const model = 'claude-3-5-haiku-latest';
  const openaiUsage = {
    prompt_tokens: ANTHROPIC_USAGE.input_tokens, completion_tokens: ANTHROPIC_USAGE.output_tokens,
    total_tokens: ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.output_tokens,
  };

  test('chat.completions.create: system prompt, content, finish_reason, usage', async () => {
    const { result: { data, response }, sent } = await toClaude(() => openai.chat.completions.create({
      model, temperature: 0.2, max_completion_tokens: 200,
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Say hello.' }],
    }).withResponse());
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, '/a/v1/messages');
    assert.ok(sent[0].headers['anthropic-version'], 'an Anthropic version header goes upstream');
    assert.equal(sent[0].json.model, model);
    assert.equal(sent[0].json.system, 'Be terse.');
    assert.equal(sent[0].json.max_tokens, 200);
    assert.equal(sent[0].json.temperature, 0.2);
    assert.deepEqual(sent[0].json.messages, [{ role: 'user', content: [{ type: 'text', text: 'Say hello.' }] }]);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, ANTHROPIC_TEXT);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(data.usage, openaiUsage);
    assert.equal(response.headers.get('x-gatehouse-provider'), 'claude');
    await assertTranslatedLog(response.headers.get('x-gatehouse-request-id'), 'openai->anthropic',
      [ANTHROPIC_USAGE.input_tokens, ANTHROPIC_USAGE.output_tokens]);
  });

  test('chat.completions.create with stream: true and include_usage', async () => {
    const { result: { chunks, requestId }, sent } = await toClaude(async () => {
      const { data: stream, response } = await openai.chat.completions.create({
        model, stream: true, stream_options: { include_usage: true },
        messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Say hello.' }],
      }).withResponse();
      const all = [];
      for await (const chunk of stream) all.push(chunk);
      return { chunks: all, requestId: response.headers.get('x-gatehouse-request-id') };
    });
    assert.equal(sent.length, 1);
    assert.equal(sent[0].json.stream, true);
    assert.equal(sent[0].json.stream_options, undefined, 'an Anthropic body gets no stream_options');
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, openaiUsage);
    const body = chunks.slice(0, -1);
    assert.ok(body.every((c) => c.choices.length === 1 && !c.usage), 'usage only on the last chunk');
    assert.equal(body.map((c) => c.choices[0].delta.content ?? '').join(''), STREAM_TEXT);
    assert.equal(body.filter((c) => c.choices[0].finish_reason).length, 1);
    assert.equal(body.at(-1).choices[0].finish_reason, 'stop');
    await assertTranslatedLog(requestId, 'openai->anthropic',
      [ANTHROPIC_USAGE.input_tokens, ANTHROPIC_USAGE.output_tokens]);
  });

  test('streaming without include_usage gets no usage chunk', async () => {
    const { result: chunks } = await toClaude(async () => {
      const stream = await openai.chat.completions.create({
        model, stream: true, messages: [{ role: 'user', content: 'Say hello.' }],
      });
      const all = [];
      for await (const chunk of stream) all.push(chunk);
      return all;
    });
    assert.ok(chunks.every((c) => c.choices.length === 1 && !c.usage));
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), STREAM_TEXT);
  });

  test('tool calls: tool_calls with their arguments, then the tool result as a tool_result block', async () => {
    const question = { role: 'user', content: 'Weather in Paris?' };
    const { result: first, sent } = await toClaude(() => openai.chat.completions.create({
      model, tools: [WEATHER_TOOL_OPENAI], tool_choice: 'auto', messages: [question],
    }));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].json.tools, [{ name: 'get_weather', description: 'Weather of a city',
      input_schema: WEATHER_PARAMS }]);
    assert.deepEqual(sent[0].json.tool_choice, { type: 'auto' });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const msg = first.choices[0].message;
    assert.equal(msg.content, 'Checking.');
    assert.equal(msg.tool_calls.length, 1);
    const [call] = msg.tool_calls;
    assert.equal(call.id, ANTHROPIC_TOOL_ID);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), TOOL_INPUT);

    // The client's own answer goes back as it came, with the tool's result.
    const { result: second, sent: sent2 } = await toClaude(() => openai.chat.completions.create({
      model, tools: [WEATHER_TOOL_OPENAI],
      messages: [question, msg, { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21 C' }],
    }));
    assert.equal(sent2.length, 1);
    assert.deepEqual(sent2[0].json.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: ANTHROPIC_TOOL_ID, name: 'get_weather', input: TOOL_INPUT }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: ANTHROPIC_TOOL_ID, content: 'Sunny, 21 C' }] },
    ]);
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.equal(second.choices[0].message.content, ANTHROPIC_TEXT);
    assert.equal(second.choices[0].message.tool_calls, undefined);
  });

  test('chat.completions.stream accumulates a streamed tool call', async () => {
    const { result: final, sent } = await toClaude(() => openai.chat.completions.stream({
      model, tools: [WEATHER_TOOL_OPENAI], messages: [{ role: 'user', content: 'Weather in Paris?' }],
      stream_options: { include_usage: true },
    }).finalChatCompletion());
    assert.equal(sent.length, 1);
    assert.equal(sent[0].json.stream, true);
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, STREAM_TEXT);
    assert.equal(choice.message.tool_calls.length, 1);
    assert.equal(choice.message.tool_calls[0].id, ANTHROPIC_TOOL_ID);
    assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), TOOL_INPUT);
    assert.deepEqual(final.usage, openaiUsage);
  });

  test('chat.completions.runTools: the client runs the tool with parsed arguments and sends its result', async () => {
    const calls = [];
    const { result: content, sent } = await toClaude(() => openai.chat.completions.runTools({
      model, messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: {
        name: 'get_weather', description: 'Weather of a city', parameters: WEATHER_PARAMS, parse: JSON.parse,
        function: (args) => { calls.push(args); return 'Sunny, 21 C'; },
      } }],
    }).finalContent());
    assert.deepEqual(calls, [TOOL_INPUT]);
    assert.equal(content, ANTHROPIC_TEXT);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1].json.messages.at(-1),
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: ANTHROPIC_TOOL_ID, content: 'Sunny, 21 C' }] });
  });
});

describe('@anthropic-ai/sdk client, OpenAI-format provider', () => {
  const model = 'gpt-4o-mini';
  const anthropicUsage = { input_tokens: OPENAI_USAGE.prompt_tokens, output_tokens: OPENAI_USAGE.completion_tokens };

  test('messages.create: system prompt, content, stop_reason, usage', async () => {
    const { result: { data: msg, response }, sent } = await toGpt(() => anthropic.messages.create({
      model, max_tokens: 64, system: 'Be terse.', messages: [{ role: 'user', content: 'Say hello.' }],
    }).withResponse());
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, '/o/v1/chat/completions');
    assert.equal(sent[0].headers['anthropic-version'], undefined);
    assert.equal(sent[0].json.model, model);
    assert.equal(sent[0].json.max_tokens, 64);
    assert.deepEqual(sent[0].json.messages,
      [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Say hello.' }]);
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.deepEqual(msg.content, [{ type: 'text', text: OPENAI_TEXT }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.deepEqual(msg.usage, anthropicUsage);
    await assertTranslatedLog(response.headers.get('x-gatehouse-request-id'), 'anthropic->openai',
      [OPENAI_USAGE.prompt_tokens, OPENAI_USAGE.completion_tokens]);
  });

  test('messages.stream: text deltas, final message with usage and stop_reason', async () => {
    const { result: { text, types, final }, sent } = await toGpt(async () => {
      const stream = anthropic.messages.stream({
        model, max_tokens: 64, system: 'Be terse.', messages: [{ role: 'user', content: 'Say hello.' }],
      });
      const seen = [];
      let acc = '';
      for await (const event of stream) {
        seen.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') acc += event.delta.text;
      }
      return { text: acc, types: seen, final: await stream.finalMessage() };
    });
    assert.equal(sent.length, 1);
    assert.equal(sent[0].json.stream, true);
    assert.deepEqual(sent[0].json.stream_options, { include_usage: true });
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.equal(types.filter((t) => t === 'content_block_delta').length, STREAM_DELTAS.length);
    assert.equal(text, STREAM_TEXT);
    assert.equal(final.content.length, 1);
    assert.equal(final.content[0].type, 'text');
    assert.equal(final.content[0].text, STREAM_TEXT);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.input_tokens, anthropicUsage.input_tokens);
    assert.equal(final.usage.output_tokens, anthropicUsage.output_tokens);
  });

  test('messages.create with stream: true', async () => {
    const { result: { text, stop, usage, requestId } } = await toGpt(async () => {
      const { data: stream, response } = await anthropic.messages.create({
        model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Say hello.' }],
      }).withResponse();
      let acc = '';
      let stopReason = null;
      let u = null;
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') acc += event.delta.text;
        if (event.type === 'message_delta') { stopReason = event.delta.stop_reason; u = event.usage; }
      }
      return { text: acc, stop: stopReason, usage: u, requestId: response.headers.get('x-gatehouse-request-id') };
    });
    assert.equal(text, STREAM_TEXT);
    assert.equal(stop, 'end_turn');
    assert.equal(usage.output_tokens, anthropicUsage.output_tokens);
    await assertTranslatedLog(requestId, 'anthropic->openai',
      [OPENAI_USAGE.prompt_tokens, OPENAI_USAGE.completion_tokens]);
  });

  test('tool use: a tool_use block with its input, then the tool_result as a tool message', async () => {
    const question = { role: 'user', content: 'Weather in Paris?' };
    const { result: first, sent } = await toGpt(() => anthropic.messages.create({
      model, max_tokens: 100, tools: [WEATHER_TOOL_ANTHROPIC], messages: [question],
    }));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].json.tools, [WEATHER_TOOL_OPENAI]);
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use, 'a tool_use block');
    assert.equal(use.id, OPENAI_TOOL_ID);
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, TOOL_INPUT);

    const { result: second, sent: sent2 } = await toGpt(() => anthropic.messages.create({
      model, max_tokens: 100, tools: [WEATHER_TOOL_ANTHROPIC],
      messages: [question, { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Sunny, 21 C' }] }],
    }));
    assert.equal(sent2.length, 1);
    assert.deepEqual(sent2[0].json.messages, [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: OPENAI_TOOL_ID, type: 'function',
        function: { name: 'get_weather', arguments: JSON.stringify(TOOL_INPUT) } }] },
      { role: 'tool', tool_call_id: OPENAI_TOOL_ID, content: 'Sunny, 21 C' },
    ]);
    assert.equal(second.stop_reason, 'end_turn');
    assert.deepEqual(second.content, [{ type: 'text', text: OPENAI_TEXT }]);
  });

  test('messages.stream accumulates a streamed tool_use block', async () => {
    const { result: final, sent } = await toGpt(() => anthropic.messages.stream({
      model, max_tokens: 100, tools: [WEATHER_TOOL_ANTHROPIC], messages: [{ role: 'user', content: 'Weather?' }],
    }).finalMessage());
    assert.equal(sent.length, 1);
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.content.length, 2);
    assert.equal(final.content[0].type, 'text');
    assert.equal(final.content[0].text, STREAM_TEXT);
    assert.equal(final.content[1].type, 'tool_use');
    assert.equal(final.content[1].id, OPENAI_TOOL_ID);
    assert.equal(final.content[1].name, 'get_weather');
    assert.deepEqual(final.content[1].input, TOOL_INPUT);
    assert.equal(final.usage.output_tokens, anthropicUsage.output_tokens);
  });
});
